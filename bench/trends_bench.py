"""Trends bench (issue 14): daily DAU, events and GMV by one breakdown (top 5 categories + other) through
``helpers.trends.trend_series`` (Ibis on DuckDB) against a hand-written DuckDB query, on the same Parquet file.

    .venv/bin/python bench/generate.py --rows 10000000 --out /tmp/bench
    .venv/bin/python bench/trends_bench.py /tmp/bench/events_10000000.parquet [--repeat 3]

Prints the best-of-``repeat`` seconds of each and their ratio, and checks the two give the same numbers.
"""

from __future__ import annotations

import argparse

import duckdb
import ibis
import numpy as np
import pandas as pd
from common import best_of

from helpers.trend_metrics import resolve_metrics
from helpers.trends import top_groups, trend_series

SQL = """
WITH top AS (
  SELECT g FROM (SELECT coalesce(CAST(category AS VARCHAR), '(none)') AS g, count(*) AS n FROM ev GROUP BY 1)
  ORDER BY n DESC, g LIMIT 5
)
SELECT date_trunc('day', ts) AS period_start,
       CASE WHEN coalesce(CAST(category AS VARCHAR), '(none)') IN (SELECT g FROM top)
            THEN coalesce(CAST(category AS VARCHAR), '(none)') ELSE 'other' END AS "group",
       count(DISTINCT user_id)::DOUBLE AS active_users,
       count(*)::DOUBLE AS events,
       coalesce(sum(amount) FILTER (WHERE event = 'buy'), 0)::DOUBLE AS gmv
FROM ev GROUP BY 1, 2 ORDER BY 1, 2
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("parquet")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    m = resolve_metrics(["active_users", "events", "gmv"], order_events=("buy",), amount_col="amount")

    con = ibis.duckdb.connect()
    ev = con.read_parquet(a.parquet, table_name="ev_kit")
    raw = duckdb.connect()
    raw.execute(f"CREATE VIEW ev AS SELECT * FROM read_parquet('{a.parquet}')")
    lo, hi = raw.execute("SELECT min(ts), max(ts) FROM ev").fetchone()
    start, end = pd.Timestamp(lo).normalize(), pd.Timestamp(hi).normalize() + pd.Timedelta(days=1)

    def kit():
        top = top_groups(ev, "category", n=5)
        return trend_series(ev, m, start=start, end_exclusive=end, group_col="category", top=top)

    def hand():
        return raw.execute(SQL).df()

    times = {name: best_of(fn, a.repeat) for name, fn in (("kit", kit), ("duckdb", hand))}
    k, h = times["kit"][1], times["duckdb"][1]
    for c in ("active_users", "events", "gmv"):
        np.testing.assert_allclose(k[c].to_numpy(), h[c].to_numpy(), rtol=1e-9, err_msg=c)
    n = raw.execute("SELECT count(*) FROM ev").fetchone()[0]
    print(f"rows={n:,} groups={k['group'].nunique()} days={k['period_start'].nunique()}")
    tk, td = times["kit"][0], times["duckdb"][0]
    print(f"kit {tk:.2f} s, hand-written DuckDB {td:.2f} s, ratio {tk / td:.2f}")


if __name__ == "__main__":
    main()
