"""The batch runner: ``python -m helpers run params/<campaign>.yaml [--only ...] [--jobs N] [--force]``.

1. validates the params (nothing runs when they are wrong) and takes the campaign's lock
   (``<campaign>/.state/run.lock``): a second run of the same campaign is refused at once;
2. runs ``ingest`` first, then the other notebooks in parallel (up to ``--jobs``), each through papermill
   with the campaign injected into its ``parameters`` cell and ``cwd`` = ``notebooks/``;
3. keeps each executed notebook (``<campaign>/notebooks/``) and converts it to self-contained HTML with
   code hidden (``--show-code`` keeps it);
4. writes ``<campaign>/index.html`` with a status, link and headline numbers per report.

A report's status is ``ok``, ``unavailable`` (it ran, but the data could not make it: its results say
``available: false`` and why), ``failed`` (its HTML shows the error) or ``skipped`` (ingest failed).
A failing notebook does not stop the others. A failed or skipped report's earlier results are moved to
``results/.stale/``, so that nothing reads or shows them as current. A rerun with unchanged params, inputs
(by content), referenced files, notebook and helpers code skips up-to-date reports unless ``--force``.
``--only`` after a failed ingest is refused (the clean tables would be an earlier run's).

Exit codes (:attr:`RunSummary.exit_code`, ``python -m helpers run --help``): 0 every report ok; 1 a report
failed (or was skipped because ingest failed); 2 invalid params or the run was refused (lock held, ``--only``
after a failed ingest); 3 nothing failed but at least one report is unavailable; 130/143 interrupted
(SIGINT/SIGTERM: the workers and their kernels are ended, nothing is left running).
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import glob
import hashlib
import json
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from . import processes as procs
from .errors import error_line
from .history import archive_run
from .locations import CampaignPaths, campaign_paths, project_root
from .params import RAW_PLACEHOLDER, Campaign, ParamsError, load_params, params_path, resolve_input
from .periods import TODAY_ENV, today_in
from .processes import RunRefusedError
from .run_timing import cell_timing

__all__ = ["run_campaign", "RunSummary", "execute_notebook", "RunRefusedError", "RunInterrupted", "EXIT_CODES"]

#: the exit codes of ``python -m helpers run`` (README "Batch runs")
EXIT_CODES = {
    0: "every report ok (or up to date)",
    1: "a report failed (or was skipped because ingest failed)",
    2: "invalid params, or the run was refused (the campaign is locked by another run; --only after a failed ingest)",
    3: "no report failed, but at least one is unavailable (the data could not make it; the index says why)",
    130: "interrupted (Ctrl-C / SIGINT; 143 for SIGTERM): workers and kernels ended",
}
_DONE = ("ok", "up-to-date", "unavailable")  # statuses whose results file belongs to a completed run


class RunInterrupted(KeyboardInterrupt):
    """The run was stopped by a signal (SIGINT, SIGTERM); its workers and kernels were ended."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


@dataclass
class RunSummary:
    campaign: str
    root: Path
    statuses: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Every report of this run is ok or up to date (an unavailable one is not ok)."""
        return all(s["status"] in ("ok", "up-to-date") for s in self.statuses)

    @property
    def exit_code(self) -> int:
        """0 all ok, 1 a report failed or was skipped, 3 none failed but one is unavailable (:data:`EXIT_CODES`)."""
        kinds = {s["status"] for s in self.statuses}
        if kinds & {"failed", "skipped", "interrupted"}:
            return 1
        return 3 if "unavailable" in kinds else 0

    @property
    def index(self) -> Path:
        return self.root / "index.html"


# ------------------------------------------------------------------------------------------ fingerprints
def _sha(*chunks: bytes) -> str:
    h = hashlib.sha256()
    for c in chunks:
        h.update(c)
        h.update(b"\0")
    return h.hexdigest()


def _code_hash() -> bytes:
    pkg = Path(__file__).resolve().parent
    parts = [p.read_bytes() for p in sorted(pkg.rglob("*.py"))]
    return _sha(*parts).encode()


def file_digest(path: str | os.PathLike, cache: dict | None = None) -> str:
    """Content digest of a file: BLAKE2b over all its bytes (about 1 GB/s), so an input edited in place with
    the same size and modification time still counts as changed.

    ``cache`` (``{path: entry}``, kept in ``.state/input_digests.json``) skips rehashing a file whose size,
    modification time, inode and change time (``st_ctime``, which no tool can set back) are those of the
    cached digest; a missing file digests as ``"missing"``.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "missing"
    key = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
    hit = (cache or {}).get(str(path))
    if hit and hit.get("stat") == key:
        return hit["digest"]
    h = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    digest = h.hexdigest()
    if cache is not None:
        cache[str(path)] = {"stat": key, "digest": digest}
    return digest


def _inputs_hash(cfg: Campaign, cache: dict | None = None) -> bytes:
    """The content of every source file (globs expanded) and, with ``clean_data``, of the clean tables."""
    stats = []
    for name in cfg.table_names:
        spec = cfg.spec(name)
        if spec.source is None or spec.source.path.startswith(RAW_PLACEHOLDER):
            continue
        for f in sorted(glob.glob(resolve_input(spec.source.path))):
            stats.append(f"{f}|{file_digest(f, cache)}".encode())
    if cfg.clean_data:
        from .base import _table_fingerprint
        from .engine import clean_table_location

        for name in cfg.table_names:
            loc = clean_table_location(campaign_paths(cfg.campaign), name, cfg.clean_data)
            stats.append(f"{name}|{_table_fingerprint(loc)}".encode())
    if cfg.privacy.pseudonymize_user_ids:  # another key gives other pseudonyms: everything reruns
        from .privacy import PrivacyError, key_id, pseudonym_key

        try:
            key = pseudonym_key(cfg.privacy)
            stats.append(f"pseudonym key {key_id(key) if key else ''}".encode())
        except PrivacyError:
            stats.append(b"pseudonym key missing")  # ingest then fails and says how to set it
    return _sha(*stats).encode()


#: params fields that name a file a report reads (besides the tables' sources); a field of a section whose
#: name ends in ``_file`` is included too, so a new one is covered without listing it here
_FILE_FIELDS = ("model_path", "user_dict", "stopwords_file", "exclude_rows_file")


def referenced_files(cfg: Campaign, paths: CampaignPaths | None = None) -> dict[str, dict[str, Path]]:
    """Files named in the params, by the notebook of the section naming them:
    ``{"sentiment": {"sentiment.user_dict": Path, ...}}``. Relative paths are from the project root, except
    ``model_path`` (the campaign folder). A model the report retrains each run (``retrain: true``) is an
    output, not an input, and is left out."""
    out: dict[str, dict[str, Path]] = {}

    def add(section: str, key: str, path: Path) -> None:
        for notebook in _SECTION_READERS.get(section, (section,)):
            out.setdefault(notebook, {})[key] = path

    for section, model in cfg:
        fields = getattr(type(model), "model_fields", None)
        if not fields or section in ("tables", "period", "demo", "ingest"):
            continue
        for key in fields:
            value = getattr(model, key, None)
            if not isinstance(value, str) or not (key in _FILE_FIELDS or key.endswith("_file")):
                continue
            if key == "model_path":
                if getattr(model, "retrain", False):
                    continue
                p = Path(value).expanduser()
                base = (paths or campaign_paths(cfg.campaign)).root
                add(section, f"{section}.{key}", p if p.is_absolute() else base / p)
            else:
                add(section, f"{section}.{key}", Path(resolve_input(value)))
    mapping = cfg.identity.mapping  # a nested file: the identity mapping read by ingest
    if mapping is not None and not mapping.path.startswith(RAW_PLACEHOLDER):
        add("identity", "identity.mapping.path", Path(resolve_input(mapping.path)))
    return out


#: sections whose files are read by other notebooks than the section's name: the tracking plan and the
#: identity mapping are read by ingest (and so reach every report through ingest's fingerprint)
_SECTION_READERS = {"tracking": ("ingest", "data_quality"), "identity": ("ingest",)}


def _refs_hash(refs: dict[str, Path], cache: dict | None) -> bytes:
    return _sha(*(f"{k}|{file_digest(p, cache)}".encode() for k, p in sorted(refs.items()))).encode()


def _fingerprint(
    cfg: Campaign,
    pfile: Path,
    nb_file: Path,
    show_code: bool,
    upstream: str,
    code: bytes,
    *,
    inputs: bytes,
    refs: bytes = b"",
) -> str:
    defaults = pfile.parent / "_defaults.yaml"
    return _sha(
        cfg.model_dump_json().encode(),
        nb_file.read_bytes(),
        code,
        inputs,
        str(show_code).encode(),
        upstream.encode(),
        (defaults.read_bytes() if defaults.exists() else b""),
        refs,
    )


# ------------------------------------------------------------------------------------------ one notebook
def execute_notebook(
    nb_file: str,
    out_ipynb: str,
    out_html: str,
    parameters: dict,
    *,
    cwd: str,
    show_code: bool = False,
    title: str | None = None,
    timeout: int = 1800,
    env: dict[str, str] | None = None,
    kernel_config: str | None = None,
    page: dict | None = None,
) -> dict:
    """Execute one notebook with papermill and convert it to HTML, whatever happens.

    ``env``: variables for the notebook's kernel (the run id and the upstream reports it may read).
    ``kernel_config``: a kernel config file (the runner's filters routine kernel warnings).
    ``page``: what the page template shows (:func:`helpers.page.page_meta`).
    Returns ``{"status": "ok"|"failed", "error": one line (:func:`error_line`) or None, "seconds": float}``.
    """
    import papermill as pm

    from .report import notebook_to_html

    saved = {k: os.environ.get(k) for k in ("UBAKIT_BATCH", "MPLBACKEND", *(env or {}))}
    os.environ.update({"UBAKIT_BATCH": "1", **(env or {})})
    os.environ.pop("MPLBACKEND", None)  # a non-inline backend would keep charts out of the report
    t0 = time.perf_counter()
    status, error = "ok", None
    try:
        for attempt in range(1, procs.KERNEL_START_ATTEMPTS + 1):
            try:
                pm.execute_notebook(
                    nb_file,
                    out_ipynb,
                    parameters=parameters,
                    cwd=cwd,
                    kernel_name="python3",
                    progress_bar=False,
                    log_output=False,
                    execution_timeout=timeout,
                    start_timeout=procs.KERNEL_START_TIMEOUT,
                    kernel_manager_class=procs.tracked_kernel_manager(),
                    extra_arguments=[f"--config={kernel_config}"] if kernel_config else [],
                )
                break
            except Exception as e:
                if attempt == procs.KERNEL_START_ATTEMPTS or not procs.kernel_start_failed(e):
                    raise
                why = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
                print(
                    f"{Path(nb_file).name}: its kernel did not start ({why}); starting another "
                    f"(attempt {attempt + 1} of {procs.KERNEL_START_ATTEMPTS})",
                    file=sys.stderr,
                    flush=True,
                )
                time.sleep(1.0 * attempt)
    except pm.PapermillExecutionError as e:
        status = "failed"
        error = error_line(f"{e.ename}: {e.evalue}") if (e.evalue or e.ename) else "failed"
    except Exception as e:  # kernel died, bad notebook file, ...
        status = "failed"
        error = error_line(f"{type(e).__name__}: {e}")
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    t_exec = time.perf_counter() - t0
    try:
        if Path(out_ipynb).exists():
            notebook_to_html(out_ipynb, out_html, show_code=show_code, title=title, page=page)
    except Exception as e:
        status = "failed"
        error = (error + " | " if error else "") + f"HTML conversion failed: {type(e).__name__}: {e}"
    total = time.perf_counter() - t0
    timing = {**cell_timing(out_ipynb, t_exec), "html": round(total - t_exec, 2)}
    return {"status": status, "error": error, "seconds": round(total, 2), "timing": timing}


def _execute_job(job: tuple) -> dict:
    _, _, args = job
    try:
        return execute_notebook(*args[0], **args[1])
    except Exception:
        return {"status": "failed", "error": traceback.format_exc().strip().splitlines()[-1], "seconds": 0.0}


def _schedule(
    names: list[str], deps: dict[str, list[str]], start, record, jobs: int, registry: Path | None = None
) -> None:
    """Run ``names`` (in run order) as soon as the ones each depends on (``deps``, among ``names``) are
    done, up to ``jobs`` at a time. ``start(n)`` returns ``None`` (recorded already: skipped or up to date)
    or the job's arguments; ``record(n, result)`` stores a finished job's result. With ``jobs > 1`` the
    notebooks run in worker processes (same process group as the runner); an exception here (an interrupt)
    ends the workers and their kernels before it propagates."""
    done: set[str] = set()
    todo = list(names)

    def ready() -> list[str]:
        return [n for n in todo if all(d in done for d in deps.get(n, ()))]

    if jobs <= 1:
        while todo:
            n = ready()[0]
            todo.remove(n)
            work = start(n)
            if work is not None:
                record(n, _execute_job(work))
            done.add(n)
        return
    pool = cf.ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=mp.get_context("spawn"),
        initializer=procs.worker_init,
        initargs=(str(registry or ""),),
    )
    try:
        running: dict[cf.Future, str] = {}
        while todo or running:
            for n in ready():
                if len(running) >= jobs:
                    break
                todo.remove(n)
                work = start(n)
                if work is None:
                    done.add(n)
                    continue
                running[pool.submit(_execute_job, work)] = n
            if not running:
                continue
            finished, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                n = running.pop(fut)
                try:
                    res = fut.result()
                except Exception as e:  # the worker died (killed, out of memory)
                    res = {"status": "failed", "error": f"worker process ended: {type(e).__name__}: {e}"}
                record(n, res)
                done.add(n)
    except BaseException:
        procs.stop_pool(pool)
        if registry is not None:
            procs.sweep_kernels(registry)
        raise
    pool.shutdown(wait=True)


# ------------------------------------------------------------------------------------------ results of a run
def _retire_results(paths: CampaignPaths, n: str, why: str) -> None:
    """Move report ``n``'s results JSON and CSVs to ``results/.stale/`` (the JSON marked ``"stale": true``
    with ``why``): a failed or skipped report's earlier results must not pass as current."""
    from .registry import REPORTS, get_report
    from .report import write_atomic

    res = paths.results
    doc_path = res / f"{n}.json"
    doc = None
    if doc_path.exists():
        try:
            doc = json.loads(doc_path.read_text(encoding="utf-8"))
        except ValueError:
            doc = None
    names = set((doc or {}).get("csv", {}).values())
    if n in REPORTS:
        names |= {f"{n}_{t}.csv" for t in get_report(n).table_names}
    stale = res / ".stale"
    for name in sorted(names):
        if (res / name).exists():
            stale.mkdir(exist_ok=True)
            os.replace(res / name, stale / name)
    if doc is not None:
        stale.mkdir(exist_ok=True)
        write_atomic(stale / f"{n}.json", json.dumps({**doc, "stale": True, "stale_reason": why}, ensure_ascii=False))
        doc_path.unlink()
    elif doc_path.exists():
        stale.mkdir(exist_ok=True)
        os.replace(doc_path, stale / f"{n}.json")


def _clear_stale(paths: CampaignPaths, n: str) -> None:
    stale = paths.results / ".stale"
    if stale.exists():
        for f in [stale / f"{n}.json", *stale.glob(f"{n}_*.csv")]:
            f.unlink(missing_ok=True)


def _results_doc(paths: CampaignPaths, n: str) -> dict | None:
    p = paths.results / f"{n}.json"
    try:
        return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None
    except ValueError:
        return None


def _check_ingest(cfg: Campaign, paths: CampaignPaths, state: dict, only: list[str], pfile: Path) -> bool:
    """Before ``--only`` without ingest: refuse when the last ingest failed or its clean tables are gone
    (the analyses would read an earlier run's tables). Returns True when ingest never ran (run it first)."""
    if cfg.clean_data:
        return False
    ing = state.get("ingest") or {}
    ran = bool(ing) or (paths.data / "_ingest.json").exists()
    fix = f"python -m helpers run {_shown(pfile)} --only ingest"
    if ing.get("status") in ("failed", "skipped", "interrupted"):
        raise RunRefusedError(
            f"ingest {ing['status']} in the last run ({ing.get('error') or 'see ingest.html'}), so the clean tables in "
            f"data/ are not this campaign's current inputs and --only {','.join(only)} would analyse them. Fix "
            f"ingest first: `{fix}` (or run without --only)"
        )
    missing = [t for t in cfg.table_names if not paths.table(t).exists()]
    if ran and missing:
        raise RunRefusedError(
            f"the clean table(s) {', '.join(missing)} are missing from data/ although ingest ran before; "
            f"rebuild them first: `{fix}` (or run without --only)"
        )
    return not ran


def _shown(p: Path) -> str:
    from .report import relative_paths

    return relative_paths(str(p)) or str(p)


# ------------------------------------------------------------------------------------------ campaign
def run_campaign(
    params_file: str | os.PathLike,
    *,
    only: list[str] | None = None,
    jobs: int = 2,
    force: bool = False,
    show_code: bool = False,
    reports_dir: str | os.PathLike | None = None,
    notebooks_dir: str | os.PathLike | None = None,
    progress: bool = True,
    echo=print,
) -> RunSummary:
    """Run a campaign's notebooks and build its reports (see the module docstring).

    Raises :class:`helpers.params.ParamsError` before running anything when the params are invalid,
    :class:`RunRefusedError` when another run holds the campaign's lock or ``only`` follows a failed ingest,
    and :class:`RunInterrupted` (a ``KeyboardInterrupt``) after SIGINT/SIGTERM, once the workers and their
    kernels are ended and the state and index are written.
    """
    t0 = time.perf_counter()
    pfile = params_path(params_file).resolve()
    cfg = load_params(pfile)
    nb_dir = Path(notebooks_dir) if notebooks_dir else project_root() / "notebooks"
    paths = campaign_paths(cfg.campaign, reports_dir)
    from .params import available_notebooks

    all_names = cfg.run_notebooks(available_notebooks(nb_dir))
    names = list(all_names)
    if only:
        unknown = [n for n in only if n not in names]
        if unknown:
            raise ParamsError(
                str(pfile),
                [("--only", f"unknown notebook(s) {', '.join(unknown)}; this campaign runs: {', '.join(names)}")],
            )
        names = [n for n in names if n in only]
    for n in names:
        if not (nb_dir / f"{n}.ipynb").exists():
            raise ParamsError(str(pfile), [("notebooks", f"notebook {n!r} not found in {nb_dir}")])
    paths.ensure()
    lock = procs.CampaignLock(paths.state, cfg.campaign).acquire()
    try:
        if lock.took_over:
            echo(
                f"{cfg.campaign}: took over the lock of process {lock.took_over.get('pid')}, which is no longer running"
            )
        run = _Run(cfg, pfile, paths, nb_dir, all_names, show_code=show_code, force=force, progress=progress, echo=echo)
        if only and "ingest" not in names and _check_ingest(cfg, paths, run.state, only, pfile):
            names = ["ingest", *names]  # ingest never ran: the analyses need its clean tables, build them first
        return run.execute(names, jobs, t0)
    finally:
        lock.release()


class _Run:
    """One run of a campaign: what started, what each notebook produced, the state kept between runs."""

    def __init__(self, cfg, pfile, paths, nb_dir, all_names, *, show_code, force, progress, echo) -> None:
        from .campaign import new_run_id
        from .page import page_meta
        from .registry import run_order

        self.cfg, self.pfile, self.paths, self.nb_dir = cfg, pfile, paths, nb_dir
        self.all_names = run_order(all_names)
        self.show_code, self.force, self.progress, self.echo = show_code, force, progress, echo
        self.state_file = paths.state / "runs.json"
        self.state: dict = _read_json(self.state_file)
        self.digests: dict = _read_json(paths.state / "input_digests.json")  # file_digest's cache
        self.run_id = new_run_id("run")
        self.today = today_in(cfg.timezone).isoformat()  # a relative period resolves alike in every notebook
        self.summary = RunSummary(cfg.campaign, paths.root)
        self.timings: dict[str, dict] = {}  # where each notebook's time went (.state/timings.json)
        self.fps: dict[str, str] = {}  # fingerprint of each notebook's inputs, this run
        self.missing_refs: dict[str, bool] = {}  # a referenced file was missing at start (it may create it)
        self.code = _code_hash()
        self.inputs = _inputs_hash(cfg, self.digests)
        self.refs = referenced_files(cfg, paths)
        self.kernel_config = str(procs.kernel_config(paths.state))
        self.registry = paths.state / "kernels"
        self.bar = None
        self.page = page_meta(cfg, self.all_names, run_id=self.run_id)  # the page template's header

    # ---------------------------------------------------------------- what is known
    def now(self, n: str) -> dict | None:
        return next((x for x in self.summary.statuses if x["notebook"] == n), None)

    def fingerprint(self, n: str) -> str:
        from .registry import report_reads

        upstream = "|".join(self.fps.get(d) or self.state.get(d, {}).get("fingerprint") or "" for d in report_reads(n))
        refs = {k: v for s, files in self.refs.items() if s == n or s not in self.all_names for k, v in files.items()}
        return _fingerprint(
            self.cfg,
            self.pfile,
            self.nb_dir / f"{n}.ipynb",
            self.show_code,
            upstream,
            self.code,
            inputs=self.inputs,
            refs=_refs_hash(refs, self.digests),
        )

    def upstream_runs(self, n: str) -> dict[str, str | None]:
        """The run id each report ``n`` reads may be read from (None: failed, skipped or never ran)."""
        from .registry import report_reads

        out: dict[str, str | None] = {}
        for d in report_reads(n):
            cur, prev = self.now(d), self.state.get(d, {})
            if cur is not None:
                rid = cur.get("run_id") if cur["status"] in _DONE else None
            else:
                rid = prev.get("run_id") if prev.get("status") in ("ok", "unavailable") else None
                if rid is None and prev.get("status") == "ok" and "run_id" not in prev:  # state of an older kit
                    rid = (_results_doc(self.paths, d) or {}).get("run_id")
            doc = _results_doc(self.paths, d) if rid else None
            out[d] = rid if doc is not None and doc.get("run_id") == rid else None
        return out

    # ---------------------------------------------------------------- one notebook
    def start(self, n: str, deps: list[str]):
        """Record ``n`` as skipped or up to date and return None, or return its job."""
        from .registry import REPORTS

        ing = self.now("ingest")
        if "ingest" in deps and ing is not None and ing["status"] in ("failed", "skipped", "interrupted"):
            self.record(n, "", {"status": "skipped", "error": "ingest failed: fix it first", "seconds": None})
            return None
        fp = self.fps[n] = self.fingerprint(n)
        self.missing_refs[n] = any(not p.exists() for p in self.refs.get(n, {}).values())
        html_out = self.paths.root / f"{n}.html"
        prev = self.state.get(n, {})
        doc = _results_doc(self.paths, n)
        kept = n not in REPORTS or (doc is not None and prev.get("run_id") in (None, doc.get("run_id")))
        if not self.force and prev.get("fingerprint") == fp and prev.get("status") in ("ok", "unavailable"):
            if html_out.exists() and kept:
                rid = prev.get("run_id") or (doc or {}).get("run_id")
                if prev["status"] == "ok":
                    res = {"status": "up-to-date", "error": None, "seconds": 0.0, "run_id": rid}
                else:
                    why = f"{prev.get('error') or 'unavailable'} (up to date, not rerun)"
                    res = {"status": "unavailable", "error": why, "seconds": 0.0, "run_id": rid}
                self.record(n, fp, res, kept=True)
                return None
        if self.bar is not None:
            self.bar.set_postfix_str(n)
        env = {"UBAKIT_RUN_ID": self.run_id, "UBAKIT_UPSTREAM": json.dumps(self.upstream_runs(n))}
        env[TODAY_ENV] = self.today
        params = {
            "campaign": self.cfg.campaign,
            "params_file": str(self.pfile),
            "reports_dir": str(self.paths.root.parent),
        }
        args = (str(self.nb_dir / f"{n}.ipynb"), str(self.paths.executed / f"{n}.ipynb"), str(html_out), params)
        from . import i18n
        from .page import report_name

        with i18n.language(self.cfg.language):  # the browser tab: "Data quality · <title>", not "data_quality · ..."
            tab = f"{report_name(n)} · {self.cfg.title}"
        kw = {
            "cwd": str(self.nb_dir),
            "show_code": self.show_code,
            "title": tab,
            "env": env,
            "kernel_config": self.kernel_config,
            "page": self.page,
        }
        return (n, fp, (args, kw))

    def outcome(self, n: str, res: dict) -> dict:
        """What a finished notebook produced: ``unavailable`` when its results say so, ``failed`` when a report
        finished without saving this run's results; errors with paths relative to the project."""
        from .registry import REPORTS
        from .report import relative_paths

        if res.get("error"):
            res = {**res, "error": relative_paths(res["error"], campaign_root=self.paths.root)}
        if res["status"] != "ok":
            return res
        doc = _results_doc(self.paths, n)
        if doc is not None and doc.get("run_id") == self.run_id:
            if doc.get("available") is False:
                return {
                    **res,
                    "status": "unavailable",
                    "error": doc.get("reason") or "the report could not compute",
                    "run_id": self.run_id,
                }
            return {**res, "run_id": self.run_id}
        if n in REPORTS:
            return {
                **res,
                "status": "failed",
                "error": f"the notebook finished without saving this run's results (results/{n}.json); its last "
                "cell must be helpers.save_report(ctx, rep)",
            }
        return res

    def record(self, n: str, fp: str, res: dict, *, kept: bool = False) -> None:
        """Store a notebook's result: the summary, the state (atomically, at once), stale results moved aside,
        the terminal line."""
        from .report import write_atomic

        if res.get("timing"):
            self.timings[n] = {"seconds": res["seconds"], **res["timing"]}
        res = {k: v for k, v in res.items() if k != "timing"}
        if not kept:
            res = self.outcome(n, res)
        self.summary.statuses.append({"notebook": n, **res})
        status = res["status"]
        if not kept:
            if status in ("ok", "unavailable"):
                if self.missing_refs.get(n):  # it created a file the params name (a model it trained): an input now
                    fp = self.fps[n] = self.fingerprint(n)
                _clear_stale(self.paths, n)
            else:
                _retire_results(self.paths, n, f"{status} in run {self.run_id}: {res.get('error') or ''}".strip())
            self.state[n] = {
                "fingerprint": fp or None,
                "status": status,
                "run_id": res.get("run_id") if status in ("ok", "unavailable") else None,
                "error": res.get("error"),
                "finished": dt.datetime.now().isoformat("T", "seconds"),
            }
            write_atomic(self.state_file, json.dumps(self.state, indent=2, ensure_ascii=False))
        line = f"[{status:>11}] {n:<12} {res.get('seconds') or 0:6.1f} s" + (
            f"  {res['error']}" if res.get("error") else ""
        )
        if self.bar is not None:
            self.bar.update(1)
            self.bar.write(line, file=sys.stderr)
        else:
            self.echo(line)

    # ---------------------------------------------------------------- the run
    def execute(self, names: list[str], jobs: int, t0: float) -> RunSummary:
        """Run ``names``, stopping cleanly on SIGINT/SIGTERM; then write the state, index and timings."""
        from .registry import report_reads, run_order

        names = run_order(names)
        # what each notebook waits for: the reports it reads that run now (ingest for every analysis)
        deps = {n: [d for d in report_reads(n) if d in names] for n in names}
        if self.progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=len(names), desc=f"{self.cfg.campaign}", unit="report", file=sys.stderr)
        caught: list[int] = []
        finishing: list[bool] = []

        def on_signal(signum, frame):
            if caught or finishing:  # stopping already, or writing the index: finish that first
                caught.append(signum)
                return
            caught.append(signum)
            procs.kill_kernels()  # the kernels of this process (--jobs 1)
            raise RunInterrupted(signum)

        main = threading.current_thread() is threading.main_thread()
        handlers = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)} if main else {}
        procs.set_registry(self.registry)
        try:
            _schedule(
                names,
                deps,
                lambda n: self.start(n, deps[n]),
                lambda n, r: self.record(n, self.fps[n], r),
                jobs,
                self.registry,
            )
        except RunInterrupted:
            procs.kill_kernels()
            procs.sweep_kernels(self.registry)
            for n in names:  # started, not finished: its outputs may be half written, so it reruns next time
                if self.now(n) is None and n in self.fps:
                    self.summary.statuses.append(
                        {"notebook": n, "status": "interrupted", "error": None, "seconds": None}
                    )
                    self.state[n] = {"fingerprint": None, "status": "interrupted", "run_id": None, "error": None}
        finally:
            finishing.append(True)
            procs.set_registry(None)
            if self.bar is not None:
                self.bar.close()
            try:
                self.finish(names, jobs, t0)
            finally:
                for s, h in handlers.items():
                    signal.signal(s, h)
        if caught:
            raise RunInterrupted(caught[0])
        return self.summary

    def finish(self, names: list[str], jobs: int, t0: float) -> None:
        """Write the state, the index (every notebook of the campaign, those not run this time with the status
        of their last run) and the timings, each atomically."""
        from .report import write_atomic, write_index

        paths, state = self.paths, self.state
        order = {n: i for i, n in enumerate(names)}
        self.summary.statuses.sort(key=lambda s: order.get(s["notebook"], 99))
        write_atomic(self.state_file, json.dumps(state, indent=2, ensure_ascii=False))
        write_atomic(paths.state / "input_digests.json", json.dumps(self.digests, indent=1))
        listed = {s["notebook"] for s in self.summary.statuses}
        extra = []
        for n in self.all_names:
            prev = state.get(n)
            if n in listed or (prev is None and not (paths.root / f"{n}.html").exists()):
                continue
            extra.append(
                {
                    "notebook": n,
                    "status": prev["status"] if prev else "skipped",
                    "error": prev.get("error") if prev else "no record of its last run",
                    "seconds": None,
                    "run_id": (prev or {}).get("run_id"),
                    "earlier": True,
                }
            )
        rank = {n: i for i, n in enumerate(self.all_names)}
        archive_run(paths.root, self.run_id, keep=self.cfg.history.keep, period=self.cfg.period.as_meta())
        statuses = sorted(self.summary.statuses + extra, key=lambda s: rank.get(s["notebook"], 99))
        write_index(paths.root, self.cfg, statuses, run_id=self.run_id)
        self.summary.seconds = round(time.perf_counter() - t0, 2)
        timing = {"wall_seconds": self.summary.seconds, "jobs": jobs, "notebooks": self.timings}
        write_atomic(paths.state / "timings.json", json.dumps(timing, indent=2))


def _read_json(p: Path) -> dict:
    try:
        return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}
    except ValueError:
        return {}
