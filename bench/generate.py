"""Synthetic event logs shaped like Taobao UserBehavior: pv/fav/cart/buy, Zipf-like users, 30 days.

    .venv/bin/python bench/generate.py --rows 10000000 [--csv] [--out bench/out/data]

Writes events_<rows>.parquet (canonical columns: user_id, event, ts, item_id, category, amount) and, with
--csv, the raw CSV form (user_id,item_id,category_id,behavior_type,timestamp as epoch seconds).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent


def generate(rows: int, *, seed: int = 7, days: int = 30, start: str = "2024-03-01") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_users = max(100, rows // 100)
    # Zipf-like activity: a few heavy users, many light ones
    weights = 1.0 / np.arange(1, n_users + 1) ** 0.8
    users = rng.choice(n_users, size=rows, p=weights / weights.sum())
    first_day = rng.integers(0, days, size=n_users)
    day = np.minimum(days - 1, first_day[users] + rng.geometric(0.15, size=rows) - 1)
    sec = rng.integers(0, 86400, size=rows)
    ev = rng.choice(np.array(["pv", "fav", "cart", "buy"]), size=rows, p=[0.895, 0.03, 0.055, 0.02])
    ts = np.datetime64(start, "s") + day.astype("timedelta64[D]") + sec.astype("timedelta64[s]")
    item = rng.integers(0, 500_000, size=rows)
    return pd.DataFrame({"user_id": pd.array(users.astype(str), dtype="string"), "event": ev, "ts": ts,
                         "item_id": item.astype(str), "category": (item % 5000).astype(str),
                         "amount": np.where(ev == "buy", np.round(rng.gamma(2.0, 40.0, size=rows), 2), np.nan)})


def write(rows: int, out: Path, *, csv: bool = False, chunk: int = 5_000_000) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    pq_path = out / f"events_{rows}.parquet"
    if not pq_path.exists():
        df = generate(rows)
        df = df.sort_values(["user_id", "ts"], kind="stable")
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), pq_path, row_group_size=1_000_000)
    if csv:
        csv_path = out / f"events_{rows}.csv"
        if not csv_path.exists():
            df = pd.read_parquet(pq_path)
            raw = pd.DataFrame({"user_id": df.user_id, "item_id": df.item_id, "category_id": df.category,
                                "behavior_type": df.event,
                                "timestamp": (df.ts.astype("int64") // 10**6 - 8 * 3600).astype("int64")})
            raw.to_csv(csv_path, index=False)
    return pq_path


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--csv", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "data"))
    a = ap.parse_args()
    print(write(a.rows, Path(a.out), csv=a.csv))
