"""Ingest throughput on the real Online Retail II CSV (525,461 rows, gzip) and the Taobao sample.

    .venv/bin/python bench/ingest_bench.py [--repeat 3]

Prints seconds and rows/s per campaign (median of the repeats) and writes bench/out/ingest.csv.
Timings live here, never in tests.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import write_rows  # noqa: E402

from helpers.ingest import ingest_campaign  # noqa: E402
from helpers.locations import campaign_paths  # noqa: E402
from helpers.params import load_params  # noqa: E402


def bench(campaign: str, repeat: int) -> dict:
    cfg = load_params(ROOT / "params" / f"{campaign}.yaml")
    times, rows = [], 0
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as d:
            paths = campaign_paths(campaign, d)
            t0 = time.perf_counter()
            reps = ingest_campaign(cfg, paths, progress=False)
            times.append(time.perf_counter() - t0)
            rows = sum(r.rows_in for r in reps.values() if not r.derived_from)
    sec = statistics.median(times)
    return {"campaign": campaign, "rows_in": rows, "seconds": round(sec, 3), "rows_per_s": round(rows / sec)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--campaigns", default="online_retail,taobao")
    a = ap.parse_args()
    out = []
    for c in a.campaigns.split(","):
        r = bench(c, a.repeat)
        out.append(r)
        print(f"{r['campaign']:<15} {r['rows_in']:>10,} rows  {r['seconds']:>7.2f} s  {r['rows_per_s']:>10,} rows/s")
    write_rows("ingest", out)


if __name__ == "__main__":
    main()
