"""Time the kit's event metrics on a synthetic log (bench/generate.py): funnel and daily retention.

    .venv/bin/python bench/metrics_bench.py --rows 10000000 [--repeat 3]

Prints seconds and rows/s per metric (median) and writes bench/out/metrics_<rows>.csv. The full
comparison against pandas and a DuckDB floor belongs to the Scale benchmark.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import ibis  # noqa: E402

from generate import write  # noqa: E402
from common import write_rows  # noqa: E402
from helpers.funnel import funnel_users  # noqa: E402
from helpers.retention import cohort_counts  # noqa: E402

METRICS = {
    "funnel pv>cart>buy 72h": lambda t: funnel_users(t, ["pv", "cart", "buy"], window_hours=72),
    "retention daily": lambda t: cohort_counts(t, period="day"),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    path = write(a.rows, ROOT / "bench" / "out" / "data")
    rows = []
    for name, fn in METRICS.items():
        times = []
        for _ in range(a.repeat):
            con = ibis.duckdb.connect()
            t = con.read_parquet(str(path))
            t0 = time.perf_counter()
            fn(t)
            times.append(time.perf_counter() - t0)
        sec = statistics.median(times)
        rows.append({"metric": name, "rows": a.rows, "seconds": round(sec, 3), "rows_per_s": round(a.rows / sec)})
        print(f"{name:<26} {a.rows:>12,} rows {sec:8.2f} s {a.rows / sec:>14,.0f} rows/s")
    write_rows(f"metrics_{a.rows}", rows)


if __name__ == "__main__":
    main()
