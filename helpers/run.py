"""The batch runner: ``python -m helpers run params/<campaign>.yaml [--only ...] [--jobs N] [--force]``.

1. validates the params (nothing runs when they are wrong);
2. runs ``ingest`` first, then the other notebooks in parallel (up to ``--jobs``), each through papermill
   with the campaign injected into its ``parameters`` cell and ``cwd`` = ``notebooks/``;
3. keeps each executed notebook (``<campaign>/notebooks/``) and converts it to self-contained HTML with
   code hidden (``--show-code`` keeps it);
4. writes ``<campaign>/index.html`` with a status, link and headline numbers per report.

A failing notebook does not stop the others: its HTML still shows the error, the index marks it failed
with the error's last line, and the run exits non-zero. A rerun with unchanged params, inputs, notebook
and helpers code skips up-to-date reports unless ``--force``.
"""

from __future__ import annotations

import concurrent.futures as cf
import glob
import hashlib
import json
import multiprocessing as mp
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from .locations import campaign_paths, project_root
from .params import Campaign, ParamsError, load_params, params_path, resolve_input

__all__ = ["run_campaign", "RunSummary", "execute_notebook"]


@dataclass
class RunSummary:
    campaign: str
    root: Path
    statuses: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(s["status"] in ("ok", "up-to-date") for s in self.statuses)

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


def _inputs_hash(cfg: Campaign) -> bytes:
    stats = []
    for name in cfg.table_names:
        spec = cfg.spec(name)
        if spec.source is None or spec.source.path.startswith("{raw}"):
            continue
        for f in sorted(glob.glob(resolve_input(spec.source.path))):
            st = os.stat(f)
            stats.append(f"{f}|{st.st_size}|{st.st_mtime_ns}".encode())
    return _sha(*stats).encode()


def _fingerprint(cfg: Campaign, pfile: Path, nb_file: Path, show_code: bool, upstream: str, code: bytes) -> str:
    defaults = pfile.parent / "_defaults.yaml"
    return _sha(
        cfg.model_dump_json().encode(),
        nb_file.read_bytes(),
        code,
        _inputs_hash(cfg),
        str(show_code).encode(),
        upstream.encode(),
        (defaults.read_bytes() if defaults.exists() else b""),
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
) -> dict:
    """Execute one notebook with papermill and convert it to HTML, whatever happens.

    ``env``: variables for the notebook's kernel (the run id and the upstream reports it may read).
    Returns ``{"status": "ok"|"failed", "error": last line or None, "seconds": float}``.
    """
    saved = {k: os.environ.get(k) for k in ("UBAKIT_BATCH", "MPLBACKEND", *(env or {}))}
    os.environ.update({"UBAKIT_BATCH": "1", **(env or {})})
    os.environ.pop("MPLBACKEND", None)  # a non-inline backend would keep charts out of the report
    try:
        return _execute(
            nb_file, out_ipynb, out_html, parameters, cwd=cwd, show_code=show_code, title=title, timeout=timeout
        )
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _execute(
    nb_file: str,
    out_ipynb: str,
    out_html: str,
    parameters: dict,
    *,
    cwd: str,
    show_code: bool,
    title: str | None,
    timeout: int,
) -> dict:
    import papermill as pm

    from .report import notebook_to_html

    t0 = time.perf_counter()
    status, error = "ok", None
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
        )
    except pm.PapermillExecutionError as e:
        status = "failed"
        error = f"{e.ename}: {e.evalue}".strip().splitlines()[-1] if (e.evalue or e.ename) else "failed"
    except Exception as e:  # kernel died, bad notebook file, ...
        status = "failed"
        error = f"{type(e).__name__}: {e}".strip().splitlines()[-1]
    t_exec = time.perf_counter() - t0
    try:
        if Path(out_ipynb).exists():
            notebook_to_html(out_ipynb, out_html, show_code=show_code, title=title)
    except Exception as e:
        status = "failed"
        error = (error + " | " if error else "") + f"HTML conversion failed: {type(e).__name__}: {e}"
    total = time.perf_counter() - t0
    timing = {**_cell_timing(out_ipynb, t_exec), "html": round(total - t_exec, 2)}
    return {"status": status, "error": error, "seconds": round(total, 2), "timing": timing}


def _cell_timing(out_ipynb: str, t_exec: float) -> dict:
    """Where a notebook's execution time went, from papermill's per-cell durations.

    ``setup``: the cell after the parameters (``import helpers``, ``open_campaign``); ``compute``: all later
    cells; ``kernel``: the rest of papermill's wall time (kernel start-up, its own bookkeeping);
    ``execute``: papermill's wall time, all of it.
    """
    import nbformat

    out = {"execute": round(t_exec, 2)}
    try:
        nb = nbformat.read(out_ipynb, as_version=4)
    except Exception:
        return out

    cells = [(c, c.metadata.get("papermill", {})) for c in nb.cells if c.cell_type == "code"]
    cells = [(c, m) for c, m in cells if m.get("duration") is not None]
    if not cells:
        return out
    tagged = [
        i for i, (c, _) in enumerate(cells) if {"parameters", "injected-parameters"} & set(c.metadata.get("tags", []))
    ]
    setup_i = min(len(cells) - 1, (tagged[-1] + 1) if tagged else 0)
    out["setup"] = round(float(cells[setup_i][1]["duration"]), 2)
    out["compute"] = round(sum(float(m["duration"]) for i, (_, m) in enumerate(cells) if i > setup_i), 2)
    out["kernel"] = round(max(0.0, t_exec - out["setup"] - out["compute"]), 2)
    return out


def _execute_job(job: tuple) -> dict:
    _, _, args = job
    try:
        return execute_notebook(*args[0], **args[1])
    except Exception:
        return {"status": "failed", "error": traceback.format_exc().strip().splitlines()[-1], "seconds": 0.0}


def _schedule(names: list[str], deps: dict[str, list[str]], start, record, jobs: int) -> None:
    """Run ``names`` (in run order) as soon as the ones each depends on (``deps``, among ``names``) are
    done, up to ``jobs`` at a time. ``start(n)`` returns ``None`` (recorded already: skipped or up to date)
    or the job's arguments; ``record(n, result)`` stores a finished job's result."""
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
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
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
                record(n, fut.result())
                done.add(n)


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

    Raises :class:`helpers.params.ParamsError` before running anything when the params are invalid.
    """
    t0 = time.perf_counter()
    pfile = params_path(params_file).resolve()
    cfg = load_params(pfile)
    nb_dir = Path(notebooks_dir) if notebooks_dir else project_root() / "notebooks"
    paths = campaign_paths(cfg.campaign, reports_dir).ensure()
    from .params import available_notebooks

    available = available_notebooks(nb_dir)
    all_names = cfg.run_notebooks(available)
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
    reports_base = str(paths.root.parent)
    params = {"campaign": cfg.campaign, "params_file": str(pfile), "reports_dir": reports_base}
    code = _code_hash()
    state_file = paths.state / "runs.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    summary = RunSummary(cfg.campaign, paths.root)
    timings: dict[str, dict] = {}  # where each notebook's time went (.state/timings.json, bench/demo_timing.py)

    from .campaign import new_run_id
    from .registry import report_reads, run_order

    run_id = new_run_id("run")
    all_names = run_order(all_names)
    if "ingest" not in names and not cfg.clean_data and not (paths.data / "_ingest.json").exists():
        names = ["ingest", *names]  # analyses read ingest's clean tables: build them first
    names = run_order(names)
    # what each notebook waits for: the reports it reads that run now (ingest for every analysis)
    deps = {n: [d for d in report_reads(n) if d in names] for n in names}
    fps: dict[str, str] = {}  # fingerprint of each notebook's inputs, this run

    def upstream_runs(n: str) -> dict[str, str | None]:
        """The run id of each report ``n`` reads, as it stands now (None: failed, skipped or never ran)."""
        out: dict[str, str | None] = {}
        for d in report_reads(n):
            st = next((x["status"] for x in summary.statuses if x["notebook"] == d), None)
            ok = st in ("ok", "up-to-date") if st else state.get(d, {}).get("status") == "ok"
            doc_path = paths.results / f"{d}.json"
            rid = json.loads(doc_path.read_text(encoding="utf-8")).get("run_id") if ok and doc_path.exists() else None
            out[d] = rid
        return out

    def start(n: str):
        """Record ``n`` as skipped or up to date and return None, or return its job."""
        failed = [
            d
            for d in deps[n]
            if next((x["status"] for x in summary.statuses if x["notebook"] == d), "") in ("failed", "skipped")
        ]
        if "ingest" in failed:
            record(n, "", {"status": "skipped", "error": "ingest failed: fix it first", "seconds": None})
            return None
        upstream = "|".join(fps.get(d) or state.get(d, {}).get("fingerprint", "") for d in report_reads(n))
        fp = fps[n] = _fingerprint(cfg, pfile, nb_dir / f"{n}.ipynb", show_code, upstream, code)
        html_out = paths.root / f"{n}.html"
        prev = state.get(n, {})
        if not force and prev.get("fingerprint") == fp and prev.get("status") == "ok" and html_out.exists():
            record(n, fp, {"status": "up-to-date", "error": None, "seconds": 0.0})
            return None
        if bar is not None:
            bar.set_postfix_str(n)
        env = {"UBAKIT_RUN_ID": run_id, "UBAKIT_UPSTREAM": json.dumps(upstream_runs(n))}
        args = (str(nb_dir / f"{n}.ipynb"), str(paths.executed / f"{n}.ipynb"), str(html_out), params)
        kw = {"cwd": str(nb_dir), "show_code": show_code, "title": f"{n} · {cfg.title}", "env": env}
        return (n, fp), (args, kw)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(names), desc=f"{cfg.campaign}", unit="report", file=sys.stderr)

    def record(n: str, fp: str, res: dict):
        entry = {"notebook": n, **res}
        if res.get("timing"):
            timings[n] = {"seconds": res["seconds"], **res["timing"]}
        summary.statuses.append(entry)
        if res["status"] != "skipped":
            state[n] = {"fingerprint": fp, "status": "ok" if res["status"] in ("ok", "up-to-date") else "failed"}
        line = f"[{res['status']:>10}] {n:<12} {res.get('seconds') or 0:6.1f} s" + (
            f"  {res['error']}" if res.get("error") else ""
        )
        if bar is not None:
            bar.update(1)
            bar.write(line, file=sys.stderr)
        else:
            echo(line)

    def start_job(n: str):
        got = start(n)
        if got is None:
            return None
        (_, fp), work = got
        return (n, fp, work)

    _schedule(names, deps, start_job, lambda n, res: record(n, fps[n], res), jobs)
    if bar is not None:
        bar.close()
    order = {n: i for i, n in enumerate(names)}
    summary.statuses.sort(key=lambda s: order.get(s["notebook"], 99))
    state_file.write_text(json.dumps(state, indent=2))
    from .report import write_index

    # the index lists every notebook of the campaign, including ones not run this time
    listed = {s["notebook"] for s in summary.statuses}
    extra = [
        {
            "notebook": n,
            "status": "up-to-date" if state.get(n, {}).get("status") == "ok" else "skipped",
            "error": None,
            "seconds": None,
        }
        for n in all_names
        if n not in listed and (paths.root / f"{n}.html").exists()
    ]
    all_statuses = sorted(summary.statuses + extra, key=lambda s: all_names.index(s["notebook"]))
    write_index(paths.root, cfg, all_statuses)
    summary.seconds = round(time.perf_counter() - t0, 2)
    (paths.state / "timings.json").write_text(
        json.dumps({"wall_seconds": summary.seconds, "jobs": jobs, "notebooks": timings}, indent=2)
    )
    return summary
