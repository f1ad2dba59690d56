"""Command line: ``python -m helpers {validate,run,demo}`` (also installed as ``ubakit``)."""

from __future__ import annotations

import argparse
import sys

from .params import ParamsError, load_params


def _split(s: str | None) -> list[str] | None:
    return [x.strip() for x in s.split(",") if x.strip()] if s else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m helpers", description="ubakit: user-behaviour analytics reports")
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("validate", help="validate campaign params and exit (0 valid, 2 invalid)")
    v.add_argument("params", nargs="+", help="params/<campaign>.yaml (one or more)")
    r = sub.add_parser("run", help="run a campaign's notebooks and build its HTML reports")
    r.add_argument("params", help="params/<campaign>.yaml")
    r.add_argument("--only", help="comma-separated notebooks, e.g. ingest,funnel")
    r.add_argument("--jobs", type=int, default=2, help="notebooks run in parallel (default 2)")
    r.add_argument("--force", action="store_true", help="rerun up-to-date reports too")
    r.add_argument("--show-code", action="store_true", help="keep code cells in the HTML")
    r.add_argument("--reports-dir", help="output folder (default reports/); outputs go to <dir>/<campaign>/")
    r.add_argument("--no-progress", action="store_true", help="plain status lines, no progress bar")
    d = sub.add_parser("demo", help="write the demo raw data set to a folder")
    d.add_argument("out", help="output folder")
    d.add_argument("--seed", type=int, default=42)
    d.add_argument("--users", type=int, default=2000)
    a = ap.parse_args(argv)

    if a.cmd == "validate":
        bad = 0
        for p in a.params:
            try:
                cfg = load_params(p)
                print(
                    f"{p}: ok (campaign {cfg.campaign!r}, tables {', '.join(cfg.table_names)}, "
                    f"notebooks {', '.join(cfg.run_notebooks())})"
                )
            except ParamsError as e:
                print(e, file=sys.stderr)
                bad += 1
        return 2 if bad else 0
    if a.cmd == "run":
        from .run import run_campaign

        try:
            s = run_campaign(
                a.params,
                only=_split(a.only),
                jobs=a.jobs,
                force=a.force,
                show_code=a.show_code,
                reports_dir=a.reports_dir,
                progress=not a.no_progress,
            )
        except ParamsError as e:
            print(e, file=sys.stderr)
            return 2
        failed = [st for st in s.statuses if st["status"] not in ("ok", "up-to-date")]
        print(
            f"{s.campaign}: {len(s.statuses) - len(failed)}/{len(s.statuses)} reports ok in {s.seconds:.1f} s "
            f"-> {s.index}"
        )
        for st in failed:
            print(f"  {st['notebook']}: {st['status']}: {st.get('error')}", file=sys.stderr)
        return 1 if failed else 0
    if a.cmd == "demo":
        from .demo import generate_demo

        m = generate_demo(a.out, seed=a.seed, n_users=a.users)
        print(m["files"])
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
