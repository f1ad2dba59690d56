"""The runner never lies and never leaves a mess (issue 12):

- a report that computed nothing is "unavailable" (terminal, index, exit code 3), never "ok";
- a failed or skipped report's earlier results are moved to results/.stale/ and nothing shows or reads them;
  `--only` after a failed ingest is refused (exit 2); a skipped report stays skipped;
- up-to-date checks see content (an input edited with the same size and mtime, a referenced file), and a
  copied campaign folder (new mtimes) keeps its consumers' inputs valid;
- one run per campaign (lock), Ctrl-C / SIGTERM end every worker and kernel, writes are atomic;
- pages and the terminal carry no kernel noise, no absolute machine path, no object repr.

The end-to-end tests share one small demo run (module fixture) and work on copies of its campaign folder."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from helpers.base import _table_fingerprint, report_table
from helpers.errors import MissingTableError, StaleResultsError
from helpers.locations import campaign_paths
from helpers.params import load_params
from helpers.processes import _KERNEL_CONFIG, CampaignLock, RunRefusedError
from helpers.report import atomic_path, relative_paths, save_results, write_atomic, write_index
from helpers.run import EXIT_CODES, RunSummary, _inputs_hash, _Run, file_digest, referenced_files, run_campaign

from .conftest import ROOT

pytestmark = pytest.mark.xdist_group("runner_robust")  # the module fixture's run is shared on one worker
NOISE = ("without encryption", "KeyboardInterrupt", "Traceback", "WARNING")


# ------------------------------------------------------------------------------------------ helpers
def _cli(*args, env=None, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "helpers", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


def _copy_campaign(src: Path, base: Path) -> Path:
    """Copy a campaign folder as `cp -r` does: new modification times on every file."""
    dst = base / src.name
    shutil.copytree(src, dst, copy_function=shutil.copy)
    return dst


def _marked(mark: str) -> list[tuple[int, str]]:
    """Processes (runner, workers, kernels, their children) whose environment carries ``mark``."""
    out = []
    for d in Path("/proc").glob("[0-9]*"):
        try:
            if f"UBAKIT_TEST_MARK={mark}".encode() in (d / "environ").read_bytes():
                out.append((int(d.name), (d / "cmdline").read_bytes().replace(b"\0", b" ")[:120].decode()))
        except OSError:
            pass
    return out


def _small_demo_params(folder: Path, *, users: int = 300, drop_reviews: bool = False) -> Path:
    """params/demo.yaml with a smaller generated population (same campaign name, so folders are shared)."""
    text = (ROOT / "params" / "demo.yaml").read_text(encoding="utf-8")
    text = re.sub(r"n_users: \d+", f"n_users: {users}", text)
    if drop_reviews:
        text = re.sub(r"  reviews:\n(    .*\n)+", "", text)
        text = re.sub(r"sentiment:\n(  .*\n?)+", "", text)
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / "demo.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def _broken_notebook(path: Path, code: str) -> None:
    """A notebook with the real parameters cell, then ``code``."""
    good = nbformat.read(ROOT / "notebooks" / "ingest.ipynb", as_version=4)
    params = next(c for c in good.cells if "parameters" in c.metadata.get("tags", []))
    nb = nbformat.v4.new_notebook()
    nb.metadata = good.metadata
    nb.cells = [
        params,
        nbformat.v4.new_code_cell(
            "import helpers\nctx = helpers.open_campaign(campaign, params_file=params_file, reports_dir=reports_dir)"
        ),
        nbformat.v4.new_code_cell(code),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


# ------------------------------------------------------------------------------------------ unit: fingerprints
def _same_size_same_mtime_edit(p: Path, old: bytes, new: bytes) -> None:
    st = p.stat()
    data = p.read_bytes()
    assert data.count(old) >= 1 and len(old) == len(new)
    p.write_bytes(data.replace(old, new, 1))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert p.stat().st_size == st.st_size and p.stat().st_mtime_ns == st.st_mtime_ns


def test_input_edited_with_same_size_and_mtime_changes_the_fingerprint(tmp_path, write_params):
    src = tmp_path / "events.csv"
    src.write_text("uid,event_name,event_time\nu1,view,2024-01-01 10:00:00\nu2,cart,2024-01-01 11:00:00\n")
    pfile = write_params(
        "campaign: fp1\ntitle: t\nperiod: {start: 2024-01-01, end: 2024-01-31}\n"
        f"tables:\n  events:\n    source: {{path: '{src}'}}\n"
        "    columns: {user_id: uid, event: event_name, ts: event_time}\n"
    )
    cfg = load_params(pfile)
    paths = campaign_paths("fp1", tmp_path / "out").ensure()
    cache: dict = {}
    before = _inputs_hash(cfg, cache)
    assert _inputs_hash(cfg, cache) == before  # stable, and served from the cache
    first = _Run(cfg, pfile, paths, ROOT / "notebooks", ["ingest"], **_RUN_KW)
    fp = first.fingerprint("ingest")
    (paths.state / "input_digests.json").write_text(json.dumps(first.digests))  # as the run leaves it
    _same_size_same_mtime_edit(src, b"u2,cart", b"u2,view")
    assert file_digest(tmp_path / "none", cache) == "missing"
    assert _inputs_hash(cfg, cache) != before, "an edit keeping size and mtime must count as a change"
    # the runner's next up-to-date check: its cached digest (same size and mtime) is not trusted
    assert _Run(cfg, pfile, paths, ROOT / "notebooks", ["ingest"], **_RUN_KW).fingerprint("ingest") != fp


def test_referenced_files_enter_their_reports_fingerprint(tmp_path, write_params):
    stop = tmp_path / "stop.txt"
    stop.write_text("的\n了\n", encoding="utf-8")
    words = tmp_path / "dict.txt"
    words.write_text("好评 5\n", encoding="utf-8")
    rows = tmp_path / "rows.txt"
    rows.write_text("1\n2\n", encoding="utf-8")
    base = (ROOT / "params" / "demo.yaml").read_text(encoding="utf-8")
    text = base.replace(
        "sentiment:\n",
        f"sentiment:\n  stopwords_file: '{stop}'\n  user_dict: '{words}'\n  exclude_rows_file: '{rows}'\n"
        "  model_path: models/domain.joblib\n",
    )
    pfile = write_params(text, name="demo")
    cfg = load_params(pfile)
    paths = campaign_paths("demo", tmp_path / "out").ensure()
    refs = referenced_files(cfg, paths)
    plan = {"tracking.plan_file": ROOT / "params" / "tracking" / "demo_tracking_plan.yaml"}
    assert refs.pop("ingest") == plan and refs.pop("data_quality") == plan  # the demo's tracking plan
    assert refs == {
        "sentiment": {
            "sentiment.stopwords_file": stop,
            "sentiment.user_dict": words,
            "sentiment.exclude_rows_file": rows,
            "sentiment.model_path": paths.root / "models" / "domain.joblib",
        }
    }
    run = _Run(cfg, pfile, paths, ROOT / "notebooks", cfg.run_notebooks(), **_RUN_KW)
    fp = {n: run.fingerprint(n) for n in ("sentiment", "funnel")}
    for f, old, new in ((stop, "了".encode(), "过".encode()), (words, b"5", b"9"), (rows, b"2", b"3")):
        _same_size_same_mtime_edit(f, old, new)
        after = _Run(cfg, pfile, paths, ROOT / "notebooks", cfg.run_notebooks(), **_RUN_KW)
        assert after.fingerprint("sentiment") != fp["sentiment"], f.name
        assert after.fingerprint("funnel") == fp["funnel"], "only the report that reads the file reruns"
        fp["sentiment"] = after.fingerprint("sentiment")
    # a model retrained on every run is an output, not an input
    retrain = load_params(write_params(text.replace("  model_path:", "  retrain: true\n  model_path:"), name="demo"))
    assert "sentiment.model_path" not in referenced_files(retrain, paths).get("sentiment", {})


_RUN_KW = {"show_code": False, "force": False, "progress": False, "echo": lambda *_: None}


def test_table_fingerprint_survives_a_copy_and_sees_content(tmp_path):
    df = pd.DataFrame({"user_id": [f"u{i}" for i in range(60_000)], "amount": range(60_000)})
    for name, frame in (("big", df), ("small", df.head(50))):
        a = tmp_path / f"{name}.parquet"
        frame.to_parquet(a, index=False)
        fp = _table_fingerprint(str(a))
        time.sleep(0.01)
        b = tmp_path / "copy" / f"{name}.parquet"
        b.parent.mkdir(exist_ok=True)
        shutil.copy(a, b)  # new mtime, same bytes
        assert b.stat().st_mtime_ns != a.stat().st_mtime_ns
        assert _table_fingerprint(str(b)) == fp, "a copied table is the same table"
        changed = frame.copy()
        changed.loc[len(frame) // 2, "amount"] = -1
        changed.to_parquet(b, index=False)
        assert _table_fingerprint(str(b)) != fp
    assert (tmp_path / "big.parquet").stat().st_size > 256 * 1024, "the big case must use the head/tail digest"
    # a folder table: its files by relative name
    (tmp_path / "t").mkdir()
    df.head(10).to_parquet(tmp_path / "t" / "part-0.parquet")
    fp = _table_fingerprint(str(tmp_path / "t"))
    shutil.copytree(tmp_path / "t", tmp_path / "t2", copy_function=shutil.copy)
    assert _table_fingerprint(str(tmp_path / "t2")) == fp


# ------------------------------------------------------------------------------------------ unit: lock, writes
def test_lock_refuses_a_second_holder_and_takes_over_a_dead_one(tmp_path):
    held = CampaignLock(tmp_path, "demo").acquire()
    with pytest.raises(RunRefusedError) as e:
        CampaignLock(tmp_path, "demo").acquire()
    info = held.holder()
    assert f"process {os.getpid()}" in str(e.value) and info["since"].replace("T", " ") in str(e.value)
    held.release()
    assert CampaignLock(tmp_path, "demo").acquire().took_over is None  # a released lock is free and blank
    # a lock left by a process that died (its PID no longer runs): taken over, and said so
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = tmp_path / "stale"
    lock.mkdir()
    (lock / "run.lock").write_text(json.dumps({"pid": dead.pid, "host": "h", "since": "2020-01-01T00:00:00"}))
    got = CampaignLock(lock, "demo").acquire()
    assert got.took_over["pid"] == dead.pid and got.holder()["pid"] == os.getpid()
    got.release()


def test_run_refuses_at_once_while_another_run_holds_the_campaign(tmp_path):
    paths = campaign_paths("demo", tmp_path).ensure()
    held = CampaignLock(paths.state, "demo").acquire()
    try:
        t0 = time.perf_counter()
        with pytest.raises(RunRefusedError, match=rf"process {os.getpid()} .* since "):
            run_campaign(ROOT / "params" / "demo.yaml", reports_dir=tmp_path, progress=False, echo=lambda *_: None)
        r = _cli("run", ROOT / "params" / "demo.yaml", "--reports-dir", tmp_path, "--no-progress")
        assert r.returncode == 2 and f"already being run by process {os.getpid()}" in r.stderr, r.stderr
        assert time.perf_counter() - t0 < 30
        assert not list(paths.results.iterdir()) and not (paths.root / "index.html").exists(), "nothing ran"
    finally:
        held.release()


def test_atomic_writes_leave_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "index.html"
    write_atomic(target, "old page")
    with pytest.raises(OSError):
        with atomic_path(target) as tmp:
            tmp.write_text("half a pa")
            raise OSError(28, "No space left on device")
    assert target.read_text() == "old page" and [p.name for p in tmp_path.iterdir()] == ["index.html"]

    # the index, the results JSON and CSVs go through it: a failing disk leaves them whole
    import helpers.report as report

    cfg = load_params(ROOT / "params" / "demo.yaml")
    paths = campaign_paths("demo", tmp_path).ensure()
    write_index(paths.root, cfg, [{"notebook": "funnel", "status": "ok", "error": None, "seconds": 1.0}])
    ctx = type("Ctx", (), {"paths": paths, "cfg": cfg})()
    save_results(ctx, "funnel", {"available": True}, tables={"steps": pd.DataFrame({"a": [1]})})
    before = {p: p.read_bytes() for p in (paths.root / "index.html", paths.results / "funnel.json")}

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report.os, "fsync", full_disk)
    with pytest.raises(OSError):
        write_index(paths.root, cfg, [{"notebook": "funnel", "status": "failed", "error": "x", "seconds": 1.0}])
    with pytest.raises(OSError):
        save_results(ctx, "funnel", {"available": False}, tables={"steps": pd.DataFrame({"a": [2]})})
    assert {p: p.read_bytes() for p in before} == before
    assert pd.read_csv(paths.results / "funnel_steps.csv", encoding="utf-8-sig")["a"].tolist() == [1]
    assert not list(paths.root.rglob("*.tmp"))


def test_save_results_drops_a_table_this_run_did_not_write(tmp_path):
    cfg = load_params(ROOT / "params" / "demo.yaml")
    paths = campaign_paths("demo", tmp_path).ensure()
    ctx = type("Ctx", (), {"paths": paths, "cfg": cfg})()
    two = {"steps": pd.DataFrame({"a": [1]}), "breakdown": pd.DataFrame({"b": [1]})}
    save_results(ctx, "funnel", {}, tables=two, table_names=("steps", "trend", "breakdown"))
    assert (paths.results / "funnel_breakdown.csv").exists()
    save_results(ctx, "funnel", {}, tables={"steps": two["steps"]}, table_names=("steps", "trend", "breakdown"))
    assert not (paths.results / "funnel_breakdown.csv").exists(), "an earlier run's table must not stay"


# ------------------------------------------------------------------------------------------ unit: messages
def test_paths_shown_relative_to_the_project():
    import site

    sp = site.getsitepackages()[0]
    text = (
        f"File {ROOT}/helpers/funnel.py:12, in funnel_table\nFile {sp}/pandas/core/frame.py:3\n"
        f"FileNotFoundError: /srv/out/demo/data/events.parquet; {ROOT}line stays"
    )
    out = relative_paths(text, campaign_root="/srv/out/demo")
    assert "File helpers/funnel.py:12" in out and "File site-packages/pandas/core/frame.py:3" in out
    assert "<reports-dir>/demo/data/events.parquet" in out and f"{ROOT}line stays" in out
    assert relative_paths(f"{ROOT}/reports/demo/x.csv", campaign_root=ROOT / "reports" / "demo") == "reports/demo/x.csv"


def test_a_failure_in_one_line_is_its_first_line_and_its_fix():
    """The terminal and the index show a failure in one line: the exception's first line (what went wrong), then its
    ``fix:`` line, or the first problem under a params error's count; the last line was often a detail."""
    from helpers.errors import error_line

    ingest = (
        "IngestError: tables.events: no row of e.csv is left after cleaning (3 rows read, all quarantined)\n"
        "  the data's timestamps run from 2024-02-06 to 2024-05-18; the params' period is 2025-03-01 to 2025-04-29\n"
        "  fix: set period.start / period.end in the campaign params to days inside the data's range\n"
        "  the quarantined rows and their reasons: <reports-dir>/x/quarantine/events.parquet"
    )
    assert error_line(ingest) == (
        "IngestError: tables.events: no row of e.csv is left after cleaning (3 rows read, all quarantined) · "
        "fix: set period.start / period.end in the campaign params to days inside the data's range"
    )
    params = (
        "ParamsError: x.yaml: 2 problems in the campaign parameters\n  - period.start: bad date\n  - title: missing"
    )
    assert error_line(params) == "ParamsError: x.yaml: 2 problems in the campaign parameters · period.start: bad date"
    assert error_line("ValueError: planted failure 42") == "ValueError: planted failure 42"
    assert error_line("KeyError: 'a'\n\n  more") == "KeyError: 'a'" and error_line("  \n") == "failed"


def test_kernel_log_filter_drops_the_two_routine_messages_only():
    import logging

    from traitlets.config import Config

    c = Config()
    scope = {"c": c}
    exec(compile(_KERNEL_CONFIG, "kernel_config.py", "exec"), scope)
    factory = c.IPKernelApp.logging_config["filters"]["ubakit_routine"]["()"]
    assert c.IPKernelApp.logging_config["handlers"]["console"]["filters"] == ["ubakit_routine"]
    flt = factory()

    def rec(msg, level=logging.WARNING):
        return logging.LogRecord("IPKernelApp", level, __file__, 1, msg, None, None)

    assert not flt.filter(rec("Kernel is running over TCP without encryption. All communication ..."))
    assert not flt.filter(rec("KeyboardInterrupt caught in kernel.", logging.ERROR))
    assert flt.filter(rec("Exception in message handler:", logging.ERROR))
    assert flt.filter(rec("Parent appears to have exited, shutting down."))


def test_kernel_stderr_reaches_the_terminal_without_the_spark_drivers_routine_lines():
    """What a Spark 4.0 driver wrote on each notebook's start in an ``engine: spark`` run (copied from a run's
    terminal, 2026-12-07): every routine line is left out, everything else is forwarded as it was, in order."""
    import io
    import os
    import threading

    from helpers.processes import forward_stderr

    spark_start = [
        "WARNING: Using incubator modules: jdk.incubator.vector",
        "Using Spark's default log4j profile: org/apache/spark/log4j2-defaults.properties",
        "26/12/07 21:55:57 WARN Utils: Your hostname, vm, resolves to a loopback address: 127.0.0.1; using "
        "192.0.2.2 instead (on interface eth0)",
        "26/12/07 21:55:57 WARN Utils: Set SPARK_LOCAL_IP if you need to bind to another address",
        'Setting default log level to "WARN".',
        "To adjust logging level use sc.setLogLevel(newLevel). For SparkR, use setLogLevel(newLevel).",
        "26/12/07 21:55:57 WARN NativeCodeLoader: Unable to load native-hadoop library for your platform... using "
        "builtin-java classes where applicable",
        'Setting Spark log level to "ERROR".',
    ]
    kept = ["Traceback (most recent call last):", "26/12/07 21:56:01 ERROR Executor: Exception in task 0.0", "中文 ✓"]
    read, write = os.pipe()
    out = io.StringIO()
    t = threading.Thread(target=forward_stderr, args=(read, out))
    t.start()
    with os.fdopen(write, "wb") as w:
        w.write("".join(f"{line}\n" for line in [*spark_start[:4], kept[0], *spark_start[4:], *kept[1:]]).encode())
    t.join(timeout=10)
    assert not t.is_alive() and out.getvalue() == "".join(f"{line}\n" for line in kept)


_KERNELS_SCRIPT = """
import asyncio, concurrent.futures as cf, json, multiprocessing as mp, os, sys
from helpers.processes import tracked_kernel_manager

async def three():
    kms = [tracked_kernel_manager()(kernel_name="python3") for _ in range(3)]
    await asyncio.gather(*(km.start_kernel() for km in kms))  # all at once, as a busy runner does
    answers = []
    for km in kms:
        kc = km.client()
        kc.start_channels()
        await kc.wait_for_ready(timeout=120)
        msgs = []
        await kc.execute_interactive("print(6 * 7)", output_hook=msgs.append, timeout=60)
        answers += [m["content"]["text"].strip() for m in msgs if m["msg_type"] == "stream"]
        kc.stop_channels()
    info = [(km.transport, km.ip, km.get_connection_info()["hb_port"]) for km in kms]
    await asyncio.gather(*(km.shutdown_kernel(now=True) for km in kms))
    left = sorted(os.listdir(os.path.dirname(kms[0].ip)))
    return {"info": info, "answers": answers, "left": left, "pid": os.getpid()}

def job(_):
    return asyncio.run(three())

if __name__ == "__main__":
    with cf.ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as pool:
        print(json.dumps(list(pool.map(job, range(2)))))
"""


@pytest.mark.skipif(os.name != "posix", reason="Unix sockets: other systems keep TCP")
def test_kernels_talk_over_private_unix_sockets_that_cannot_collide(tmp_path):
    """Over TCP, a port picked free can be taken by another kernel starting at the same moment; the heartbeat
    thread then died with a traceback on the terminal (seen in CI). Six kernels started at once in two worker
    processes each get their own socket names in a private folder, all answer, and leave nothing behind."""
    script = tmp_path / "kernels.py"
    script.write_text(_KERNELS_SCRIPT)
    r = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    workers = json.loads(r.stdout.strip().splitlines()[-1])
    names = [ip for w in workers for _, ip, _ in w["info"]]
    assert [t for w in workers for t, _, _ in w["info"]] == ["ipc"] * 6
    assert len(set(names)) == 6 and all(len(os.fsencode(n)) + 2 <= 100 for n in names)
    folders = {os.path.dirname(n) for n in names}
    assert len(folders) == 2  # one per worker process, readable by this user only (mkdtemp)
    assert [w["answers"] for w in workers] == [["42"] * 3] * 2
    assert [w["left"] for w in workers] == [[], []]  # socket files removed at each kernel's shutdown
    assert not any(Path(f).exists() for f in folders)  # and the folders when the workers ended


@pytest.mark.skipif(os.name != "posix", reason="Unix sockets: other systems keep TCP")
def test_kernel_socket_names_stay_short_under_a_long_temporary_folder(tmp_path):
    """A socket name longer than about 100 bytes cannot be bound: under a long TMPDIR the private folder is made
    in /tmp instead; the folder is this user's only and goes when the process ends."""
    long_dir = tmp_path / ("x" * 60) / ("y" * 60)
    long_dir.mkdir(parents=True)
    code = (
        "import os, json; from helpers.processes import kernel_ipc_path as k; a, b = k(), k(); "
        "print(json.dumps([a, b, oct(os.stat(os.path.dirname(a)).st_mode & 0o777)]))"
    )
    env = {**os.environ, "TMPDIR": str(long_dir)}
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    a, b, mode = json.loads(r.stdout)
    assert a != b and os.path.dirname(a) == os.path.dirname(b) and os.path.dirname(a).startswith("/tmp/ubakit-k-")
    assert len(os.fsencode(a)) + 2 <= 100 and mode == "0o700"
    assert not Path(os.path.dirname(a)).exists() and list(long_dir.iterdir()) == []


def test_exit_codes_are_documented_and_computed():
    r = _cli("run", "--help")
    assert r.returncode == 0
    for code in (0, 1, 2, 3):
        assert re.search(rf"^\s+{code}\s+\S", r.stdout, re.M), r.stdout
    assert set(EXIT_CODES) >= {0, 1, 2, 3}

    def code(*statuses):
        return RunSummary("x", Path("."), [{"notebook": str(i), "status": s} for i, s in enumerate(statuses)]).exit_code

    assert code("ok", "up-to-date") == 0
    assert code("ok", "unavailable") == 3
    assert code("unavailable", "failed") == 1 and code("ok", "skipped") == 1
    assert not RunSummary("x", Path("."), [{"notebook": "a", "status": "unavailable"}]).ok
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert all(f"`{c}`" in readme for c in (0, 1, 2, 3)), "README documents the exit codes"


def test_report_table_refuses_results_marked_or_moved_stale(tmp_path):
    cfg = load_params(ROOT / "params" / "demo.yaml")
    paths = campaign_paths("demo", tmp_path).ensure()
    ctx = type("Ctx", (), {"paths": paths, "cfg": cfg, "upstream_problems": {}, "upstream_used": {}})()
    save_results(ctx, "rfm", {"available": True}, tables={"segments": pd.DataFrame({"a": [1]})}, meta={"inputs": {}})
    assert report_table(ctx, "rfm", "segments")["a"].tolist() == [1]
    doc = json.loads((paths.results / "rfm.json").read_text(encoding="utf-8"))
    write_atomic(paths.results / "rfm.json", json.dumps({**doc, "stale": True}))
    with pytest.raises(StaleResultsError, match="stale"):
        report_table(ctx, "rfm", "segments")
    (paths.results / ".stale").mkdir()
    os.replace(paths.results / "rfm.json", paths.results / ".stale" / "rfm.json")
    with pytest.raises(MissingTableError, match="failed or was skipped in its last batch run"):
        report_table(ctx, "rfm", "segments")
    assert report_table(ctx, "rfm", "segments", required=False) is None and "stale" in ctx.upstream_problems["rfm"]


def test_save_report_returns_nothing(tmp_path):
    """The notebooks' last cell: a returned Path would end every page with ``PosixPath('/abs/...')``."""
    import helpers
    from helpers.base import Unavailable
    from helpers.registry import get_report

    ctx = helpers.open_campaign("demo", params_file=str(ROOT / "params" / "demo.yaml"), reports_dir=str(tmp_path))
    assert helpers.save_report(ctx, Unavailable(get_report("funnel"), "planted reason")) is None
    assert json.loads((ctx.paths.results / "funnel.json").read_text(encoding="utf-8"))["reason"] == "planted reason"


# ------------------------------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One small demo run through the command line: ``(campaign folder, params file, completed process)``."""
    base = tmp_path_factory.mktemp("robust")
    pfile = _small_demo_params(base / "params")
    r = _cli("run", pfile, "--reports-dir", base / "reports", "--no-progress", "--jobs", "2", timeout=600)
    return base / "reports" / "demo", pfile, r


@pytest.mark.e2e
def test_demo_run_is_quiet_and_its_pages_hold_no_machine_paths_or_reprs(demo_run):
    root, _, r = demo_run
    assert r.returncode == 0, r.stdout + r.stderr
    terminal = r.stdout + r.stderr
    for noise in NOISE:
        assert noise not in terminal, f"terminal shows {noise!r}:\n{terminal}"
    assert re.search(r"\[\s+ok\] user_profile", terminal)
    pages = sorted(root.glob("*.html"))
    from helpers.registry import REPORTS

    # the index and every report (data_quality too: the demo has a tracking plan)
    missing = {"index.html", *(f"{n}.html" for n in REPORTS)} - {p.name for p in pages}
    assert not missing, [p.name for p in pages]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for bad in ("PosixPath", "WindowsPath", str(ROOT), str(root), str(root.resolve()), "/work/", "/tmp/"):
            assert bad not in text, f"{page.name} contains {bad!r}"
        assert not re.search(r"object at 0x[0-9a-f]+", text), page.name
    assert not list(root.rglob("*.tmp")), "no temporary file left behind"
    assert (root / ".state" / "run.lock").read_text() == "", "the lock is released"


@pytest.mark.e2e
def test_copied_campaign_folder_keeps_its_consumers_inputs(demo_run, tmp_path):
    src, pfile, r = demo_run
    assert r.returncode == 0
    root = _copy_campaign(src, tmp_path)
    s = run_campaign(
        pfile, reports_dir=tmp_path, only=["user_profile"], force=True, progress=False, echo=lambda *_: None
    )
    assert [x["status"] for x in s.statuses] == ["ok"], s.statuses
    res = json.loads((root / "results" / "user_profile.json").read_text(encoding="utf-8"))
    demo_id = json.loads((src / "results" / "rfm.json").read_text(encoding="utf-8"))["run_id"]
    assert res["upstream_missing"] == {}, res["upstream_missing"]
    assert res["upstream"] == {n: demo_id for n in ("rfm", "clustering", "churn", "sentiment")}


@pytest.mark.e2e
def test_failed_report_leaves_no_current_looking_results(demo_run, tmp_path):
    src, pfile, _ = demo_run
    root = _copy_campaign(src, tmp_path)
    old_heads = [h["label"] for h in json.loads((root / "results" / "funnel.json").read_text("utf-8"))["headline"]]
    old_csvs = sorted(p.name for p in (root / "results").glob("funnel_*.csv"))
    assert old_heads and old_csvs
    nbdir = tmp_path / "nb"
    _broken_notebook(nbdir / "funnel.ipynb", "ctx.df('planted')")
    lines: list[str] = []
    s = run_campaign(
        pfile, reports_dir=tmp_path, notebooks_dir=nbdir, only=["funnel"], progress=False, echo=lines.append
    )
    st = s.statuses[0]
    assert (st["notebook"], st["status"], s.exit_code) == ("funnel", "failed", 1)
    # the error, in the terminal and the index, names the file relative to the reports folder
    assert "<reports-dir>/demo/data/planted.parquet does not exist" in st["error"], st["error"]
    assert str(tmp_path) not in lines[0] and "<reports-dir>/demo/data/planted.parquet" in lines[0]
    # the earlier results moved aside and marked; nothing current-looking is left
    res = root / "results"
    assert not (res / "funnel.json").exists() and not list(res.glob("funnel_*.csv"))
    stale = json.loads((res / ".stale" / "funnel.json").read_text(encoding="utf-8"))
    assert stale["stale"] is True and "failed" in stale["stale_reason"]
    assert sorted(p.name for p in (res / ".stale").glob("funnel_*.csv")) == old_csvs
    index = (root / "index.html").read_text(encoding="utf-8")
    row = re.search(r"<tr><td><a href='funnel.html'>.*?</tr>", index, re.S).group(0)
    assert "failed" in row and not any(h in row for h in old_heads), row
    state = json.loads((root / ".state" / "runs.json").read_text())
    assert state["funnel"]["status"] == "failed" and state["funnel"]["run_id"] is None
    # the page shows the traceback with project-relative paths
    page = (root / "funnel.html").read_text(encoding="utf-8")
    assert "helpers/campaign.py" in page and str(ROOT) not in page and str(tmp_path) not in page
    # consumers refuse it, naming the failure
    import helpers

    ctx = helpers.open_campaign("demo", params_file=str(pfile), reports_dir=str(tmp_path))
    with pytest.raises(MissingTableError, match="failed or was skipped"):
        report_table(ctx, "funnel", "steps")


@pytest.mark.e2e
def test_only_after_a_failed_ingest_is_refused_and_skipped_stays_skipped(demo_run, tmp_path):
    src, pfile, _ = demo_run
    root = _copy_campaign(src, tmp_path)
    nbdir = tmp_path / "nb"
    # an error of several lines, as the kit's IngestError: its first line and its fix, not its last (a detail)
    planted = "planted ingest failure\\n  the data run from A to B\\n  fix: set period.start\\n  quarantined rows: x"
    _broken_notebook(nbdir / "ingest.ipynb", f"raise ValueError('{planted}')")
    shutil.copy(ROOT / "notebooks" / "funnel.ipynb", nbdir / "funnel.ipynb")
    s = run_campaign(pfile, reports_dir=tmp_path, notebooks_dir=nbdir, progress=False, echo=lambda *_: None)
    got = {x["notebook"]: x["status"] for x in s.statuses}
    assert got == {"ingest": "failed", "funnel": "skipped"} and s.exit_code == 1
    assert s.statuses[0]["error"] == "ValueError: planted ingest failure · fix: set period.start", s.statuses[0]
    index = (root / "index.html").read_text(encoding="utf-8")
    ingest_row = re.search(r"<tr><td><a href='ingest.html'>.*?</tr>", index, re.S).group(0)
    assert "failed" in ingest_row and "skipped" not in ingest_row and "planted ingest failure" in ingest_row
    assert not (root / "results" / "funnel.json").exists(), "a skipped report's earlier results are not current"
    # --only funnel now: refused at once, naming ingest and the fix; exit 2 on the command line
    with pytest.raises(RunRefusedError, match=r"ingest failed in the last run .*--only ingest"):
        run_campaign(pfile, reports_dir=tmp_path, only=["funnel"], progress=False, echo=lambda *_: None)
    r = _cli("run", pfile, "--reports-dir", tmp_path, "--only", "funnel", "--no-progress")
    assert r.returncode == 2 and "ingest failed" in r.stderr and "--only ingest" in r.stderr, r.stderr
    # ingest fixed and rerun alone: funnel is still listed as skipped, never as up to date
    s = run_campaign(pfile, reports_dir=tmp_path, only=["ingest"], progress=False, echo=lambda *_: None)
    assert [x["status"] for x in s.statuses] == ["ok"]
    index = (root / "index.html").read_text(encoding="utf-8")
    funnel_row = re.search(r"<tr><td><a href='funnel.html'>.*?</tr>", index, re.S).group(0)
    assert "skipped" in funnel_row and "up to date" not in funnel_row, funnel_row
    assert json.loads((root / ".state" / "runs.json").read_text())["funnel"]["status"] == "skipped"
    # a clean table gone although ingest ran: refused too
    (root / "data" / "users.parquet").unlink()
    with pytest.raises(RunRefusedError, match="users are missing"):
        run_campaign(pfile, reports_dir=tmp_path, only=["funnel"], progress=False, echo=lambda *_: None)


@pytest.mark.e2e
def test_unavailable_report_is_not_ok(demo_run, tmp_path):
    src, _, _ = demo_run
    root = _copy_campaign(src, tmp_path)
    (root / "data" / "reviews.parquet").unlink()  # the campaign below has no reviews table
    pfile = _small_demo_params(tmp_path / "params", drop_reviews=True)
    for attempt in ("ran", "up to date"):
        r = _cli("run", pfile, "--reports-dir", tmp_path, "--only", "sentiment", "--no-progress")
        assert r.returncode == 3, (attempt, r.stdout, r.stderr)
        assert re.search(r"\[unavailable\] sentiment .*没有评论表", r.stdout), r.stdout
        assert "0/1 reports ok, 1 unavailable" in r.stdout and "sentiment: unavailable:" in r.stderr
    assert "up to date, not rerun" in r.stdout
    index = (root / "index.html").read_text(encoding="utf-8")
    row = re.search(r"<tr><td><a href='sentiment.html'>.*?</tr>", index, re.S).group(0)
    assert "class='unavailable'" in row and "class='why'" in row and "没有评论表" in row, row
    assert "class='ok'" not in row and "完成" not in row
    assert json.loads((root / ".state" / "runs.json").read_text())["sentiment"]["status"] == "unavailable"
    # its page says why once, under its findings: no section headings over the same reason again
    page = (root / "sentiment.html").read_text(encoding="utf-8")
    assert page.count("没有评论表") == 1 and "id='findings'" in page.replace('"', "'"), page.count("没有评论表")
    assert not re.search(r"<h2 id=.sec-", page), re.findall(r"<h2[^>]*>([^<]*)", page)


@pytest.mark.e2e
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_interrupt_ends_every_worker_and_kernel(demo_run, tmp_path, how):
    if not Path("/proc/self/environ").exists():
        pytest.skip("needs /proc to find the run's processes")
    src, pfile, _ = demo_run
    root = _copy_campaign(src, tmp_path)
    mark = uuid.uuid4().hex
    cmd = [sys.executable, "-m", "helpers", "run", str(pfile), "--reports-dir", str(tmp_path), "--no-progress"]
    p = subprocess.Popen(
        [*cmd, "--force", "--only", "funnel,paths,retention", "--jobs", "2"],
        cwd=ROOT,
        env={**os.environ, "UBAKIT_TEST_MARK": mark},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives it
    )
    try:
        kernels = root / ".state" / "kernels"
        deadline = time.monotonic() + 60
        while not (kernels.exists() and any(kernels.iterdir())) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert kernels.exists() and any(kernels.iterdir()), "no kernel started"
        assert len(_marked(mark)) >= 3, _marked(mark)  # runner, workers, kernel(s)
        # a second run of the same campaign is refused at once, naming the holder
        second = _cli("run", pfile, "--reports-dir", tmp_path, "--no-progress", timeout=60)
        assert second.returncode == 2 and f"already being run by process {p.pid}" in second.stderr, second.stderr
        if how == "ctrl-c":
            os.killpg(p.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole process group
        else:
            os.kill(p.pid, signal.SIGTERM)  # kill <pid>: the runner only
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    assert p.returncode == (130 if how == "ctrl-c" else 143), (p.returncode, out, err)
    assert "interrupted" in err and "KeyboardInterrupt" not in err and "Traceback" not in err, err
    left = _marked(mark)
    for _ in range(10):
        if not left:
            break
        time.sleep(0.5)
        left = _marked(mark)
    assert left == [], f"processes left running: {left}"
    assert (root / ".state" / "run.lock").read_text() == "" and not list(kernels.iterdir())
    state = json.loads((root / ".state" / "runs.json").read_text())
    assert "interrupted" in {state[n]["status"] for n in ("funnel", "paths", "retention")}, state


def _python_notebook():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


@pytest.mark.parametrize("deaths", [1, 3])
def test_a_kernel_that_dies_at_start_is_started_again(tmp_path, capfd, deaths):
    """A real kernel that exits before answering (its config file ends the process on its first ``deaths``
    starts): the notebook runs in a new kernel, up to KERNEL_START_ATTEMPTS starts in all; beyond that the report
    fails with the kernel's message. A cell's own error is never retried."""
    from helpers.processes import KERNEL_START_ATTEMPTS
    from helpers.run import execute_notebook

    marker = tmp_path / "starts"
    config = tmp_path / "dying_kernel.py"
    config.write_text(
        "import os\n"
        f"p = {str(marker)!r}\n"
        "n = int(open(p).read()) if os.path.exists(p) else 0\n"
        "open(p, 'w').write(str(n + 1))\n"
        f"if n < {deaths}:\n"
        "    os._exit(3)\n",
        encoding="utf-8",
    )
    nb = _python_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("x + 1"),
    ]
    nbformat.write(nb, tmp_path / "nb.ipynb")
    res = execute_notebook(
        str(tmp_path / "nb.ipynb"),
        str(tmp_path / "out.ipynb"),
        str(tmp_path / "out.html"),
        {"x": 2},
        cwd=str(tmp_path),
        kernel_config=str(config),
    )
    err = capfd.readouterr().err
    if deaths < KERNEL_START_ATTEMPTS:
        assert res["status"] == "ok", res
        assert int(marker.read_text()) == deaths + 1
        out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
        assert out.cells[-1].outputs[0]["data"]["text/plain"] == "3"  # the injected parameter, in the new kernel
        assert err.count("its kernel did not start") == deaths
    else:
        assert res["status"] == "failed" and "Kernel died" in res["error"]
        assert int(marker.read_text()) == KERNEL_START_ATTEMPTS


def test_a_cells_own_error_is_not_retried(tmp_path):
    from helpers.run import execute_notebook

    marker = tmp_path / "runs"
    nb = _python_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"open({str(marker)!r}, 'a').write('x')\nraise RuntimeError('boom')")]
    nbformat.write(nb, tmp_path / "nb.ipynb")
    res = execute_notebook(
        str(tmp_path / "nb.ipynb"), str(tmp_path / "o.ipynb"), str(tmp_path / "o.html"), {}, cwd=str(tmp_path)
    )
    assert res["status"] == "failed" and res["error"] == "RuntimeError: boom"
    assert marker.read_text() == "x"


def test_only_kernel_start_failures_count_as_such():
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    from helpers.processes import kernel_start_failed

    assert kernel_start_failed(RuntimeError("Kernel died before replying to kernel_info"))
    assert kernel_start_failed(RuntimeError("Kernel didn't respond in 120 seconds"))
    assert not kernel_start_failed(DeadKernelError("Kernel died"))  # during a cell: the notebook's own failure
    assert not kernel_start_failed(CellTimeoutError("A cell timed out while it was being executed"))
    cell_error = pm.PapermillExecutionError(0, 1, "Kernel didn't respond in", "RuntimeError", "Kernel didn't", [])
    assert not kernel_start_failed(cell_error)  # a cell that raised such a message itself


def test_a_kit_error_is_shown_on_the_page_and_a_bug_stays_folded(tmp_path):
    """A failed report's page and index row said only "This report failed and has no results; the technical
    details are for the analyst": the reason ("tables.events: e.csv is empty … fix: …"), written for the people
    who run the campaign, was inside the folded details with the traceback. The kit's own errors (UbakitError
    subclasses) now show their message under the lead; any other exception (a bug's KeyError) stays folded."""
    import nbformat

    from helpers import i18n
    from helpers.errors import kit_error_message
    from helpers.page import _index_error
    from helpers.report import _failure_first

    assert kit_error_message("IngestError: tables.events: e.csv is empty · fix: check it") == (
        "tables.events: e.csv is empty · fix: check it"
    )
    assert kit_error_message("PrivacyError: set UBAKIT_PSEUDONYM_KEY") == "set UBAKIT_PSEUDONYM_KEY"
    assert kit_error_message("KeyError: 'x'") is None and kit_error_message("ValueError: planted") is None
    assert kit_error_message("no colon here") is None
    import importlib
    import pkgutil

    import helpers
    from helpers.errors import KIT_ERRORS_ELSEWHERE, UbakitError, _kit_errors

    for m in pkgutil.iter_modules(helpers.__path__):  # every module imported: every subclass is known by name
        if m.name != "__main__":
            importlib.import_module(f"helpers.{m.name}")

    def subclasses(c):
        return {s.__name__ for s in c.__subclasses__()} | {n for s in c.__subclasses__() for n in subclasses(s)}

    assert subclasses(UbakitError) | set(KIT_ERRORS_ELSEWHERE) == _kit_errors()
    assert set(KIT_ERRORS_ELSEWHERE) <= subclasses(UbakitError)

    def page(ename: str, evalue: str) -> str:
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("run()")
        cell.outputs = [nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=["Traceback", "line"])]
        nb.cells = [cell, nbformat.v4.new_markdown_cell("## never reached")]
        with i18n.language("en"):
            _failure_first(nb, tmp_path)
        return nb.cells[0].outputs[-1]["data"]["text/html"]

    kit = page("IngestError", "tables.events: <b>e.csv</b> is empty\n  fix: check tables.events.source.path")
    shown = "<p class='ubk-failed-why'>tables.events: &lt;b&gt;e.csv&lt;/b&gt; is empty · fix: check"
    assert shown in kit and kit.index("ubk-failed-why") < kit.index("<details")  # escaped, above the details
    assert "ubk-failed-why" not in page("KeyError", "'x'")
    with i18n.language("en"):
        row = _index_error("failed", "IngestError: tables.events: e.csv is empty · fix: check it")
        assert "<div class='ubk-failed-why'>tables.events: e.csv is empty · fix: check it</div>" in row
        assert "ubk-failed-why" not in _index_error("failed", "KeyError: 'x'")
        assert "ubk-failed-why" not in _index_error("skipped", "IngestError: x")
