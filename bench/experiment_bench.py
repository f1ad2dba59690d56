"""Experiment bench (issue 19, new reports): the event-level part of the experiment report on the synthetic log
(each user's first exposure, the per-user per-day metric counts after it, the 7-day pre-period counts for CUPED)
through ``helpers.experiment_data`` (Ibis on DuckDB) against hand-written DuckDB SQL, on the same Parquet file.

    .venv/bin/python bench/generate.py --rows 10000000
    .venv/bin/python bench/experiment_bench.py bench/out/data/events_10000000.parquet [--repeat 3]

Exposure: the first ``cart`` from day 8 of the log on; metric: ``buy`` events and their amounts to the log's end.
Prints the best-of-``repeat`` seconds of each and their ratio, checks that both give the same rows and numbers,
and appends a line to bench/out/experiment.csv.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import time
from pathlib import Path

import duckdb
import ibis
import numpy as np
import pandas as pd
from common import best_of

from helpers.experiment_data import first_exposure, pre_period_counts, user_day_counts

OUT = Path(__file__).resolve().parent / "out" / "experiment.csv"

SQL_EXPO = """
SELECT user_id, min(ts) AS exposed_at FROM ev
WHERE event = 'cart' AND ts >= $start AND ts < $end GROUP BY 1
"""
SQL_DAILY = """
SELECT e.user_id, CAST(e.ts AS DATE) AS day, count(*) AS n, coalesce(sum(e.amount), 0) AS amount
FROM ev e JOIN expo x ON e.user_id = x.user_id
WHERE e.event = 'buy' AND e.ts >= x.exposed_at AND e.ts < $end GROUP BY 1, 2
"""
SQL_PRE = """
SELECT e.user_id, count(*) AS n, coalesce(sum(e.amount), 0) AS amount
FROM ev e JOIN expo x ON e.user_id = x.user_id
WHERE e.event = 'buy' AND e.ts < x.exposed_at AND e.ts >= x.exposed_at - INTERVAL 7 DAY GROUP BY 1
"""


def _sorted(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return df.sort_values(keys, ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("parquet")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()

    con = ibis.duckdb.connect()
    ev = con.read_parquet(a.parquet, table_name="ev_kit")
    raw = duckdb.connect()
    raw.execute(f"CREATE VIEW ev AS SELECT * FROM read_parquet('{a.parquet}')")
    lo, hi = raw.execute("SELECT min(ts), max(ts) FROM ev").fetchone()
    start = pd.Timestamp(lo).normalize() + pd.Timedelta(days=7)
    end = pd.Timestamp(hi).normalize() + pd.Timedelta(days=1)

    def kit():
        expo = first_exposure(ev, "cart", start=start, end_exclusive=end)
        daily = user_day_counts(ev, expo, event_names=["buy"], end_exclusive=end, amount_col="amount")
        pre = pre_period_counts(ev, expo, event_names=["buy"], days=7, amount_col="amount")
        return expo, daily, pre

    def hand():
        p = {"start": start.to_pydatetime(), "end": end.to_pydatetime()}
        raw.execute(f"CREATE OR REPLACE TEMP TABLE expo AS {SQL_EXPO}", p)
        expo = raw.execute("SELECT * FROM expo").df()
        daily = raw.execute(SQL_DAILY, {"end": p["end"]}).df()
        pre = raw.execute(SQL_PRE).df()
        return expo, daily, pre

    times = {name: best_of(fn, a.repeat) for name, fn in (("kit", kit), ("duckdb", hand))}
    (ke, kd, kp), (he, hd, hp) = times["kit"][1], times["duckdb"][1]
    ke, he = _sorted(ke, ["user_id"]), _sorted(he, ["user_id"])
    assert ke["user_id"].tolist() == he["user_id"].tolist(), "exposed users differ"
    assert (pd.to_datetime(ke["exposed_at"]) == pd.to_datetime(he["exposed_at"])).all(), "exposure times differ"
    kd, hd = _sorted(kd, ["user_id", "day"]), _sorted(hd, ["user_id", "day"])
    assert kd["user_id"].tolist() == hd["user_id"].tolist(), "daily rows differ"
    assert (pd.to_datetime(kd["day"]) == pd.to_datetime(hd["day"])).all(), "days differ"
    np.testing.assert_array_equal(kd["n"].to_numpy(), hd["n"].to_numpy())
    np.testing.assert_allclose(kd["amount"].to_numpy(), hd["amount"].astype(float).to_numpy(), rtol=1e-9)
    kp, hp = _sorted(kp, ["user_id"]), _sorted(hp, ["user_id"])
    assert kp["user_id"].tolist() == hp["user_id"].tolist(), "pre-period rows differ"
    np.testing.assert_array_equal(kp["n"].to_numpy(), hp["n"].to_numpy())
    np.testing.assert_allclose(kp["amount"].to_numpy(), hp["amount"].astype(float).to_numpy(), rtol=1e-9)

    n = raw.execute("SELECT count(*) FROM ev").fetchone()[0]
    tk, td = times["kit"][0], times["duckdb"][0]
    print(f"rows={n:,} exposed={len(ke):,} user-days={len(kd):,} pre-period users={len(kp):,}: same numbers")
    print(f"kit {tk:.2f} s, hand-written DuckDB {td:.2f} s, ratio {tk / td:.2f}")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    new = not OUT.exists()
    with OUT.open("a", newline="") as fh:
        w = csv.writer(fh)
        if new:
            w.writerow(["date", "commit", "rows", "kit_s", "duckdb_sql_s", "ratio"])
        w.writerow([time.strftime("%Y-%m-%d"), commit, n, round(tk, 3), round(td, 3), round(tk / td, 3)])


if __name__ == "__main__":
    main()
