"""Command line: ``python -m helpers {validate,run,demo,bundle,compare}`` (also installed as ``ubakit``)."""

from __future__ import annotations

import argparse
import sys

from .params import ParamsError, defaults_note, language_notes, load_params


def _split(s: str | None) -> list[str] | None:
    return [x.strip() for x in s.split(",") if x.strip()] if s else None


def _run_epilog() -> str:
    from .run import EXIT_CODES

    return "exit codes:\n" + "\n".join(f"  {code:>3}  {what}" for code, what in EXIT_CODES.items())


def _notes(params: str) -> list[str]:
    """The notes on a campaign that loads but may not do what its author meant (missing shared defaults, texts not
    in the campaign's language)."""
    note = defaults_note(params)
    return ([note] if note else []) + language_notes(params)


def _run(a: argparse.Namespace) -> int:
    """``run``: the status lines, a summary line, then the exit code of :data:`helpers.run.EXIT_CODES`."""
    from .report import relative_paths
    from .run import RunInterrupted, RunRefusedError, run_campaign

    try:
        for note in _notes(a.params):
            print(note, file=sys.stderr)
        s = run_campaign(
            a.params,
            only=_split(a.only),
            jobs=a.jobs,
            force=a.force,
            show_code=a.show_code,
            reports_dir=a.reports_dir,
            progress=not a.no_progress,
        )
    except (ParamsError, RunRefusedError) as e:
        print(e, file=sys.stderr)
        return 2
    except RunInterrupted as e:
        print(f"{e}: the workers and their kernels were ended; finished reports are kept", file=sys.stderr)
        return 128 + e.signum
    except Exception:  # a bug in the runner itself: its traceback, without this machine's paths
        import traceback

        print(relative_paths(traceback.format_exc()), file=sys.stderr)
        return 1
    ok = [st for st in s.statuses if st["status"] in ("ok", "up-to-date")]
    unavailable = [st for st in s.statuses if st["status"] == "unavailable"]
    also = f", {len(unavailable)} unavailable" if unavailable else ""
    print(
        f"{s.campaign}: {len(ok)}/{len(s.statuses)} reports ok{also} in {s.seconds:.1f} s "
        f"-> {relative_paths(str(s.index))}"
    )
    for st in s.statuses:
        if st not in ok:
            print(f"  {st['notebook']}: {st['status']}: {st.get('error')}", file=sys.stderr)
    if a.pdf:
        from .pdf import print_pdfs

        return print_pdfs(s.root, [st["notebook"] for st in s.statuses], s.exit_code)
    return s.exit_code


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m helpers", description="ubakit: user-behaviour analytics reports")
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("validate", help="validate campaign params and exit (0 valid, 2 invalid)")
    v.add_argument("params", nargs="+", help="params/<campaign>.yaml (one or more)")
    r = sub.add_parser(
        "run",
        help="run a campaign's notebooks and build its HTML reports",
        description="Run a campaign's notebooks (ingest first, then the analyses) and build its HTML reports\n"
        "and index. One run per campaign at a time (.state/run.lock); Ctrl-C ends the workers and kernels.",
        epilog=_run_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("params", help="params/<campaign>.yaml")
    r.add_argument("--only", help="comma-separated notebooks, e.g. ingest,funnel")
    r.add_argument("--jobs", type=int, default=2, help="notebooks run in parallel (default 2)")
    r.add_argument("--force", action="store_true", help="rerun up-to-date reports too")
    r.add_argument("--show-code", action="store_true", help="keep code cells in the HTML")
    r.add_argument("--reports-dir", help="output folder (default reports/); outputs go to <dir>/<campaign>/")
    r.add_argument("--no-progress", action="store_true", help="plain status lines, no progress bar")
    r.add_argument("--pdf", action="store_true", help="also write <dir>/<campaign>/pdf/: a PDF per report + one")
    d = sub.add_parser("demo", help="write the demo raw data set to a folder")
    d.add_argument("out", help="output folder")
    d.add_argument("--seed", type=int, default=42)
    d.add_argument("--users", type=int, default=2000)
    b = sub.add_parser("bundle", help="zip the index, HTML reports and aggregate CSVs for stakeholders")
    b.add_argument("params", help="campaign name or params/<campaign>.yaml")
    b.add_argument("--out", help="zip file to write (default <reports-dir>/<campaign>/<campaign>-bundle.zip)")
    b.add_argument("--with-user-data", action="store_true", help="also the user-level CSVs (never raw/ or data/)")
    b.add_argument("--reports-dir", help="reports folder (default reports/)")
    c = sub.add_parser("compare", help="what changed between two kept runs of a campaign (default: the last two)")
    c.add_argument("campaign", help="campaign name (or params/<campaign>.yaml)")
    c.add_argument("runs", nargs="*", metavar="RUN", help="RUN_A RUN_B: two run ids of <campaign>/history/")
    c.add_argument("--changed-only", action="store_true", help="list only the numbers that changed")
    c.add_argument("--reports-dir", help="reports folder (default reports/)")
    a = ap.parse_args(argv)

    if a.cmd == "validate":
        bad = 0
        for p in a.params:
            try:
                cfg = load_params(p)
                from .headers import header_problems  # every mapped column in its CSV file's header

                problems = header_problems(cfg)
                if problems:
                    raise ParamsError(p, problems)
                for note in _notes(p):
                    print(note, file=sys.stderr)
                print(
                    f"{p}: ok (campaign {cfg.campaign!r}, tables {', '.join(cfg.table_names)}, "
                    f"notebooks {', '.join(cfg.run_notebooks())})"
                )
            except ParamsError as e:
                print(e, file=sys.stderr)
                bad += 1
        return 2 if bad else 0
    if a.cmd == "run":
        return _run(a)
    if a.cmd == "demo":
        from .demo import generate_demo

        m = generate_demo(a.out, seed=a.seed, n_users=a.users)
        print(m["files"])
        return 0
    if a.cmd == "bundle":
        return _bundle(a)
    if a.cmd == "compare":
        return _compare(a)
    return 1


def _compare(a: argparse.Namespace) -> int:
    """``compare``: the headline numbers of two kept runs and their changes; 2 when there is nothing to compare."""
    from pathlib import Path

    from .history import compare_runs, format_comparison
    from .locations import campaign_paths

    if len(a.runs) not in (0, 2):
        print("compare takes no run ids (the last two runs) or two: RUN_A RUN_B", file=sys.stderr)
        return 2
    name = Path(a.campaign).stem if a.campaign.endswith((".yaml", ".yml")) else a.campaign
    try:
        root = campaign_paths(name, a.reports_dir).root
        comp = compare_runs(root, *(a.runs or [None, None]))
    except ValueError as e:
        print(e, file=sys.stderr)
        return 2
    print(format_comparison(comp, only_changed=a.changed_only))
    return 0


def _bundle(a: argparse.Namespace) -> int:
    """``bundle``: write the zip, print its file list; 2 when the campaign has no reports or bad params."""
    from .privacy import NoReportsError, write_bundle

    try:
        bundle = write_bundle(a.params, reports_dir=a.reports_dir, out=a.out, with_user_data=a.with_user_data)
    except (NoReportsError, ParamsError, ValueError) as e:
        print(e, file=sys.stderr)
        return 2
    for name in bundle.files:
        print(f"  {name}")
    for note in bundle.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"{len(bundle.files)} files -> {bundle.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
