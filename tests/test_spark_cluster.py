"""A real standalone Spark cluster on 127.0.0.1 (a master and one worker from the installed PySpark's
``spark-class``): a small demo campaign runs end to end with ``engine: spark`` and ``spark.master`` pointing to it,
ingest included, and every results file's numbers equal the DuckDB run's. Master and worker are stopped in any case.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .results_compare import compare_results
from .test_spark import _why_no_spark

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ["ingest", "funnel", "retention", "rfm", "trends"]
CAMPAIGN = """campaign: {name}
title: Mini demo
timezone: Asia/Shanghai
period: {{start: 2024-03-01, end: 2024-04-29}}
demo: {{seed: 42, n_users: 300, start: 2024-03-01, days: 60}}
engine: {engine}
spark:
  master: "{master}"
  conf: {{spark.driver.host: 127.0.0.1, spark.driver.bindAddress: 127.0.0.1, spark.executor.memory: 512m,
          spark.ui.enabled: "false", spark.sql.shuffle.partitions: "2", spark.pyspark.python: "{python}"}}
notebooks: {notebooks}
tables:
  events:
    source: {{path: "{{raw}}/events.csv"}}
    columns: {{user_id: uid, event: event_name, ts: event_time, session_id: session, item_id: item, category: category,
               amount: price, channel: channel, platform: platform, order_id: order_no}}
    events: [launch, search, view, fav, cart, order, pay, login]
    max_amount: 100000
  orders: {{derive_from: events, where_event: [pay]}}
funnel: {{steps: [view, cart, order, pay], window: 72h, breakdown: channel}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what: str, ok, timeout: float = 90.0) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            if ok():
                return
        except OSError:
            pass
        time.sleep(1)
    raise TimeoutError(f"{what} did not come up in {timeout:.0f} s")


def _alive_workers(webui: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{webui}/json/", timeout=5) as r:
        return int(json.load(r).get("aliveworkers", 0))


def _run(params: Path, reports: Path) -> float:
    t0 = time.time()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "helpers",
            "run",
            str(params),
            "--reports-dir",
            str(reports),
            "--jobs",
            "1",
            "--no-progress",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return time.time() - t0


def test_standalone_cluster_equals_duckdb(tmp_path):
    why = _why_no_spark()
    if why:
        pytest.skip(why)
    import pyspark

    home = Path(pyspark.__file__).parent
    spark_class = home / "bin" / "spark-class"
    port, webui, wwebui = _free_port(), _free_port(), _free_port()
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOG_DIR": str(tmp_path)}
    env["SPARK_WORKER_DIR"] = str(tmp_path / "work")
    logs = {n: open(tmp_path / f"{n}.log", "w") for n in ("master", "worker")}  # noqa: SIM115 (closed below)
    procs: list[subprocess.Popen] = []
    try:
        procs.append(
            subprocess.Popen(
                [str(spark_class), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1"]
                + ["--port", str(port), "--webui-port", str(webui)],
                env=env,
                stdout=logs["master"],
                stderr=subprocess.STDOUT,
            )
        )
        _wait("the Spark master", lambda: socket.create_connection(("127.0.0.1", port), timeout=2).close() or True)
        procs.append(
            subprocess.Popen(
                [str(spark_class), "org.apache.spark.deploy.worker.Worker", f"spark://127.0.0.1:{port}"]
                + ["--host", "127.0.0.1", "--cores", "1", "--memory", "1g", "--webui-port", str(wwebui)],
                env=env,
                stdout=logs["worker"],
                stderr=subprocess.STDOUT,
            )
        )
        _wait("the Spark worker", lambda: _alive_workers(webui) >= 1)
        times = {}
        for engine in ("duckdb", "spark"):
            p = tmp_path / engine / "params" / "mini.yaml"
            p.parent.mkdir(parents=True)
            master = f"spark://127.0.0.1:{port}"
            text = CAMPAIGN.format(
                name="mini", engine=engine, master=master, python=sys.executable, notebooks=NOTEBOOKS
            )
            p.write_text(text, encoding="utf-8")
            times[engine] = _run(p, tmp_path / engine)
        print(f"\nDuckDB run {times['duckdb']:.0f} s, standalone-cluster run {times['spark']:.0f} s")
        # the Spark run really ran on the cluster: the master saw an application
        with urllib.request.urlopen(f"http://127.0.0.1:{webui}/json/", timeout=5) as r:
            state = json.load(r)
        assert len(state.get("completedapps", [])) + len(state.get("activeapps", [])) >= 1
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        for fh in logs.values():
            fh.close()
    left = subprocess.run(["pgrep", "-f", f"deploy.master.Master.*--port {port}"], capture_output=True, text=True)
    assert left.stdout.strip() == "", "a Spark master was left running"
    left = subprocess.run(["pgrep", "-f", f"deploy.worker.Worker spark://127.0.0.1:{port}"], capture_output=True)
    assert left.stdout.strip() == b"", "a Spark worker was left running"

    a, b = tmp_path / "duckdb" / "mini" / "results", tmp_path / "spark" / "mini" / "results"
    names = compare_results(a, b)
    assert {"rfm.json", "ingest.json", "funnel.json", "retention.json", "trends.json"} <= set(names)
