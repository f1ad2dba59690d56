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

from .params import Campaign, ParamsError, load_params, params_path, resolve_input
from .paths import CampaignPaths, campaign_paths, project_root

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
    return _sha(cfg.model_dump_json().encode(), nb_file.read_bytes(), code, _inputs_hash(cfg),
                str(show_code).encode(), upstream.encode(), (defaults.read_bytes() if defaults.exists() else b""))


# ------------------------------------------------------------------------------------------ one notebook
def execute_notebook(nb_file: str, out_ipynb: str, out_html: str, parameters: dict, *, cwd: str,
                     show_code: bool = False, title: str | None = None, timeout: int = 1800) -> dict:
    """Execute one notebook with papermill and convert it to HTML, whatever happens.

    Returns ``{"status": "ok"|"failed", "error": last line or None, "seconds": float}``.
    """
    import papermill as pm

    from .report import notebook_to_html

    os.environ["UBAKIT_BATCH"] = "1"
    os.environ.pop("MPLBACKEND", None)  # a non-inline backend would keep charts out of the report
    t0 = time.perf_counter()
    status, error = "ok", None
    try:
        pm.execute_notebook(nb_file, out_ipynb, parameters=parameters, cwd=cwd, kernel_name="python3",
                            progress_bar=False, log_output=False, execution_timeout=timeout)
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
    tagged = [i for i, (c, _) in enumerate(cells)
              if {"parameters", "injected-parameters"} & set(c.metadata.get("tags", []))]
    setup_i = min(len(cells) - 1, (tagged[-1] + 1) if tagged else 0)
    out["setup"] = round(float(cells[setup_i][1]["duration"]), 2)
    out["compute"] = round(sum(float(m["duration"]) for i, (_, m) in enumerate(cells) if i > setup_i), 2)
    out["kernel"] = round(max(0.0, t_exec - out["setup"] - out["compute"]), 2)
    return out


def _execute_job(args: tuple) -> dict:
    try:
        return execute_notebook(*args[0], **args[1])
    except Exception:
        return {"status": "failed", "error": traceback.format_exc().strip().splitlines()[-1], "seconds": 0.0}


def _run_stage(names, ingest_failed, job, upstream, record, jobs) -> None:
    """Run one stage's notebooks, in parallel up to ``jobs``; record each status."""
    pending = {}
    for n in names:
        if ingest_failed:
            record(n, "", {"status": "skipped", "error": "ingest failed: fix it first", "seconds": None})
            continue
        fp, work = job(n, upstream)
        if work is None:
            record(n, fp, {"status": "up-to-date", "error": None, "seconds": 0.0})
        else:
            pending[n] = (fp, work)
    if not pending:
        return
    workers = max(1, min(jobs, len(pending)))
    if workers == 1:
        for n, (fp, work) in pending.items():
            record(n, fp, _execute_job(work))
        return
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        futs = {pool.submit(_execute_job, work): (n, fp) for n, (fp, work) in pending.items()}
        for fut in cf.as_completed(futs):
            n, fp = futs[fut]
            record(n, fp, fut.result())


# ------------------------------------------------------------------------------------------ campaign
def run_campaign(params_file: str | os.PathLike, *, only: list[str] | None = None, jobs: int = 2,
                 force: bool = False, show_code: bool = False, reports_dir: str | os.PathLike | None = None,
                 notebooks_dir: str | os.PathLike | None = None, progress: bool = True,
                 echo=print) -> RunSummary:
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
            raise ParamsError(str(pfile), [("--only", f"unknown notebook(s) {', '.join(unknown)}; this campaign "
                                                      f"runs: {', '.join(names)}")])
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

    def job(n: str, upstream: str):
        fp = _fingerprint(cfg, pfile, nb_dir / f"{n}.ipynb", show_code, upstream, code)
        html_out = paths.root / f"{n}.html"
        prev = state.get(n, {})
        if not force and prev.get("fingerprint") == fp and prev.get("status") == "ok" and html_out.exists():
            return fp, None
        args = (str(nb_dir / f"{n}.ipynb"), str(paths.executed / f"{n}.ipynb"), str(html_out), params)
        kw = {"cwd": str(nb_dir), "show_code": show_code, "title": f"{n} · {cfg.title}"}
        return fp, (args, kw)

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
        line = f"[{res['status']:>10}] {n:<12} {res.get('seconds') or 0:6.1f} s" + (f"  {res['error']}" if res.get("error") else "")
        if bar is not None:
            bar.update(1)
            bar.write(line, file=sys.stderr)
        else:
            echo(line)

    rest = [n for n in names if n != "ingest"]
    if "ingest" not in names and not cfg.clean_data and not (paths.data / "_ingest.json").exists():
        names = ["ingest", *names]  # analyses read ingest's clean tables: build them first
        if bar is not None:
            bar.total += 1
    if "ingest" in names:
        fp, work = job("ingest", "")
        if bar is not None:
            bar.set_postfix_str("ingest")
        record("ingest", fp, {"status": "up-to-date", "error": None, "seconds": 0.0} if work is None
               else _execute_job(work))
        upstream = fp
    else:
        upstream = state.get("ingest", {}).get("fingerprint", "")
    ingest_failed = any(s["notebook"] == "ingest" and s["status"] == "failed" for s in summary.statuses)
    from .params import FINAL_NOTEBOOKS

    # analyses in parallel, then the notebooks that read their results
    for stage in ([n for n in rest if n not in FINAL_NOTEBOOKS], [n for n in rest if n in FINAL_NOTEBOOKS]):
        _run_stage(stage, ingest_failed, job, upstream, record, jobs)
    if bar is not None:
        bar.close()
    order = {n: i for i, n in enumerate(names)}
    summary.statuses.sort(key=lambda s: order.get(s["notebook"], 99))
    state_file.write_text(json.dumps(state, indent=2))
    from .report import write_index

    # the index lists every notebook of the campaign, including ones not run this time
    listed = {s["notebook"] for s in summary.statuses}
    extra = [{"notebook": n, "status": "up-to-date" if state.get(n, {}).get("status") == "ok" else "skipped",
              "error": None, "seconds": None}
             for n in all_names if n not in listed and (paths.root / f"{n}.html").exists()]
    all_statuses = sorted(summary.statuses + extra, key=lambda s: all_names.index(s["notebook"]))
    write_index(paths.root, cfg, all_statuses)
    summary.seconds = round(time.perf_counter() - t0, 2)
    (paths.state / "timings.json").write_text(json.dumps(
        {"wall_seconds": summary.seconds, "jobs": jobs, "notebooks": timings}, indent=2))
    return summary
