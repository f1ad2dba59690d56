"""The DuckDB fast path of :func:`helpers.rfm.rfm_table`'s per-customer aggregation: the same rows as the portable
Ibis expression (every rule in docs/rfm.md), written as one hand-written DuckDB query over the compiled input.

The input (an Ibis table on DuckDB, or a pandas frame that became a memtable) is compiled once to SQL and wrapped
in a query that scans it once: per customer the first and last order time, distinct orders, distinct order days,
the amounts (the negative ones left out under ``returns: exclude``) and the count of negative rows. No Ibis
expression is built and no type string parsed (the first parse costs about 0.2 s in a fresh process).
:func:`aggregate` returns the frame the portable path gets from the engine (same columns) and the negative-row
count; the caller does the same pandas finishing either way. tests/test_rfm_fast.py checks both paths equal.
"""

from __future__ import annotations

import pandas as pd

from .engine import duckdb_backend, money_sum_sql, on_duckdb
from .sqlsafety import sql_name as _q

__all__ = ["applies", "aggregate"]


def applies(t) -> bool:
    """Whether the fast path can run: the table runs on DuckDB."""
    return on_duckdb(t)


def aggregate(t, *, user_col: str, order_col: str, ts_col: str, amount_col: str | None, exclude: bool):
    """``(df, negative_rows)``: one row per customer with at least one order (columns ``user_id, first_ts, last_ts,
    frequency, purchase_days`` and, with ``amount_col``, ``monetary, _n_amount``), as the portable path has them
    before its pandas finishing; ``negative_rows`` as documented in :class:`helpers.rfm.RFMTable`.

    ``amount_col`` None: the data has no amounts. ``exclude``: negative rows are left out of M and counted over
    every customer; otherwise (``net``) they count in M and are counted over the customers kept."""
    con = duckdb_backend(t)
    con._run_pre_execute_hooks(t)  # registers in-memory tables
    src = con.compile(t)
    u, o, ts = _q(user_col), _q(order_col), _q(ts_col)
    amt = f"CAST({_q(amount_col)} AS DOUBLE)" if amount_col else "NULL::DOUBLE"
    # CASE WHEN _buy THEN x END rather than FILTER (WHERE _buy): the same values (the aggregates skip NULLs), but
    # DuckDB keeps DISTINCT aggregates with a FILTER out of the one hash aggregate (a group-by per aggregate, joined).
    # Distinct counts as len(list_distinct(list(x))): the same numbers as count(DISTINCT x) (NULLs left out either
    # way), about 15 % less time for the 10M-event query than DuckDB's DISTINCT aggregates (paired runs, 2026-12-03)
    kept = "CASE WHEN _buy THEN _amt END" if exclude else "_amt"
    # M summed exactly (helpers.engine.money_sum), as on the portable path
    money = f", {money_sum_sql(kept)} AS monetary, count({kept}) AS _n_amount" if amount_col else ""
    sql = f"""
        WITH b AS (
            SELECT CAST({u} AS VARCHAR) AS user_id, {ts} AS _ts, {o} AS _o, _amt, (_amt >= 0 OR _amt IS NULL) AS _buy
            FROM (SELECT *, {amt} AS _amt FROM ({src}) AS s) AS s2)
        SELECT user_id,
               min(CASE WHEN _buy THEN _ts END) AS first_ts,
               max(CASE WHEN _buy THEN _ts END) AS last_ts,
               len(list_distinct(list(CASE WHEN _buy THEN _o END))) AS frequency,
               len(list_distinct(list(CASE WHEN _buy THEN CAST(_ts AS DATE) END))) AS purchase_days{money},
               count(*) FILTER (WHERE _amt < 0) AS _n_negative
        FROM b GROUP BY user_id"""
    # every customer comes back, also those without an order (only negative rows or null order ids: few), so the
    # negative rows are counted here and g is computed once (a second reference in SQL would scan twice)
    df = con.con.sql(sql).to_arrow_table().to_pandas()
    ordered = df["frequency"] > 0
    neg = df["_n_negative"] if exclude else df["_n_negative"][ordered]
    negative_rows = int(neg.sum())
    df = df[ordered].drop(columns=["_n_negative"]).reset_index(drop=True)
    return pd.DataFrame(df), negative_rows
