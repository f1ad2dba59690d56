"""Basket bench (issue 17): pair counts of N order lines on the engine (``helpers.basket.pair_counts``: Ibis on
DuckDB, reading a Parquet file) against the same count in pandas (drop duplicates, self-merge on the order,
``item_a < item_b``, group sizes), and a check that both give the same pairs.

    .venv/bin/python bench/basket_bench.py --lines 1000000 [--items 5000] [--min-count 5] [--repeat 1]

The synthetic lines: orders of ``1 + Poisson(1.5)`` lines, items drawn with Zipf-like popularity (``1 / rank``)
from ``--items`` items. Prints seconds per method, the peak memory pandas needed is not measured.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import resource
import tempfile
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
from common import best_of

from helpers.basket import basket_items, pair_counts


def synth(n_lines: int, n_items: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = 1 + rng.poisson(1.5, size=n_lines // 2)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), n_lines) + 1]
    order = np.repeat(np.arange(len(sizes)), sizes)[:n_lines]
    p = 1.0 / np.arange(1, n_items + 1)
    item = rng.choice(n_items, size=len(order), p=p / p.sum())
    return pd.DataFrame({"order_id": [f"O{o:08d}" for o in order], "item_id": [f"I{i:05d}" for i in item]})


def pandas_pairs(df: pd.DataFrame, min_count: int) -> pd.DataFrame:
    d = df[["order_id", "item_id"]].drop_duplicates()
    m = d.merge(d, on="order_id")
    m = m[m["item_id_x"] < m["item_id_y"]]
    pc = m.groupby(["item_id_x", "item_id_y"]).size().rename("n_ab").reset_index()
    pc = pc[pc["n_ab"] >= min_count].rename(columns={"item_id_x": "item_a", "item_id_y": "item_b"})
    pc["n_ab"] = pc["n_ab"].astype("int64")
    return pc.sort_values(["n_ab", "item_a", "item_b"], ascending=[False, True, True]).reset_index(drop=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--items", type=int, default=5000)
    ap.add_argument("--min-count", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--out", default=str(Path(__file__).parent / "out" / "basket.csv"), help="CSV to append to")
    a = ap.parse_args()
    df = synth(a.lines, a.items)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lines.parquet"
        df.to_parquet(path)
        con = ibis.duckdb.connect()
        t = con.read_parquet(str(path), table_name="lines")
        times: dict[str, float] = {}
        peak: dict[str, float] = {}
        out: dict[str, pd.DataFrame] = {}
        for name, fn in (
            ("engine (ibis/duckdb)", lambda: pair_counts(basket_items(t), min_count=a.min_count)),
            ("pandas", lambda: pandas_pairs(pd.read_parquet(path), a.min_count)),
        ):
            times[name], out[name] = best_of(fn, a.repeat)
            peak[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MB, the process so far
    e, p = out["engine (ibis/duckdb)"], out["pandas"]
    pd.testing.assert_frame_equal(e, p, check_dtype=False)
    print(f"{a.lines:,} lines, {df['order_id'].nunique():,} orders, {a.items:,} items; {len(e):,} pairs in >= "
          f"{a.min_count} orders (engine and pandas agree)")  # fmt: skip
    for k, v in times.items():
        print(f"  {k:22s} {v:7.2f} s")
    print(f"  pandas / engine: {times['pandas'] / times['engine (ibis/duckdb)']:.1f}x")
    path = Path(a.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with path.open("a", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if new:
            w.writerow(["date", "lines", "orders", "items", "min_count", "pairs", "method", "seconds", "peak_rss_mb"])
        for k, v in times.items():
            w.writerow([dt.date.today().isoformat(), a.lines, df["order_id"].nunique(), a.items, a.min_count, len(e),
                        k, round(v, 2), round(peak[k])])  # fmt: skip


if __name__ == "__main__":
    main()
