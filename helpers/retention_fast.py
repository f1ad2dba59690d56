"""The DuckDB fast path of :func:`helpers.retention.cohort_counts` (criterion ``on``): the same counts as the
portable Ibis expression (every rule in docs/retention.md), written as one hand-written DuckDB query over the
compiled input.

The input (an Ibis table on DuckDB, or a pandas frame that became a memtable) is compiled once to SQL and wrapped
in one query: the distinct (user, period) pairs of the return events, each user's cohort (the period of the first
start event, or the first active period when every event starts and returns), the cohort sizes and the users
active ``n >= 1`` periods after their cohort. Period numbers are those of :func:`helpers.retention.period_index`
(days since 1970-01-01; weeks from Monday; months as year * 12 + month - 1), computed from each distinct (user,
local date). No Ibis expression is compiled: in a fresh process Ibis's first compile of the portable query costs
about 0.15 s, more than the query itself on a million events. tests/test_retention_fast.py checks both paths
equal.
"""

from __future__ import annotations

import pandas as pd

from .engine import duckdb_backend, on_duckdb
from .sqlsafety import sql_in as _in
from .sqlsafety import sql_name as _q

__all__ = ["applies", "cohort_counts"]


def applies(t) -> bool:
    """Whether the fast path can run: the table runs on DuckDB."""
    return on_duckdb(t)


def _period_of_date(d: str, period: str) -> str:
    """:func:`helpers.retention.period_index` of a timestamp, as DuckDB SQL over its local date ``d`` (the same
    numbers as what Ibis compiles it to: day and week come from the date alone, and the year and month of a
    timestamp are those of its date)."""
    days = f"CAST({d} - DATE '1970-01-01' AS BIGINT)"
    if period == "day":
        return days
    if period == "week":
        return f"CAST(FLOOR(({days} + 3) / 7) AS BIGINT)"
    return f"CAST(EXTRACT(year FROM {d}) * 12 + EXTRACT(month FROM {d}) - 1 AS BIGINT)"


def cohort_counts(
    t,
    *,
    period: str,
    start_events: list[str] | None,
    return_events: list[str] | None,
    user_col: str,
    ts_col: str,
    event_col: str,
) -> pd.DataFrame:
    """:func:`helpers.retention.cohort_counts` with ``criterion="on"`` on DuckDB: the same frame (``cohort``,
    ``n``, ``users``, int64, sorted by cohort and n)."""
    con = duckdb_backend(t)
    con._run_pre_execute_hooks(t)  # registers in-memory tables
    src = con.compile(t)
    u, ts, ev = _q(user_col), _q(ts_col), _q(event_col)
    ret_where = f"WHERE {_in(ev, return_events)}" if return_events else ""
    # distinct (user, local date) first, then the period number of each date (fewer rows than events)
    days = f"SELECT DISTINCT CAST({u} AS VARCHAR) AS user_id, CAST({ts} AS DATE) AS d FROM s {ret_where}"
    distinct = "" if period == "day" else "DISTINCT "
    act = f"SELECT {distinct}user_id, {_period_of_date('d', period)} AS p FROM ({days}) AS ud"
    if start_events or return_events:
        start_where = f"WHERE {_in(ev, start_events)}" if start_events else ""
        first = (
            f"SELECT CAST({u} AS VARCHAR) AS user_id, {_period_of_date(f'CAST(min({ts}) AS DATE)', period)} AS c "
            f"FROM s {start_where} GROUP BY 1"
        )
    else:  # every event starts and returns: the cohort is the first active period (the index is monotone)
        first = "SELECT user_id, min(p) AS c FROM act GROUP BY user_id"
    sql = f"""
        WITH s AS ({src}), act AS ({act}), first AS ({first})
        SELECT c AS cohort, CAST(0 AS BIGINT) AS n, count(user_id) AS users FROM first GROUP BY c
        UNION ALL
        SELECT first.c AS cohort, act.p - first.c AS n, count(*) AS users
        FROM act JOIN first ON act.user_id = first.user_id
        WHERE act.p - first.c >= 1
        GROUP BY 1, 2"""
    out = con.con.sql(sql).to_arrow_table().to_pandas()
    out = out.astype({"cohort": "int64", "n": "int64", "users": "int64"})
    return out.sort_values(["cohort", "n"], ignore_index=True)
