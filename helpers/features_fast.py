"""The DuckDB fast path of :func:`helpers.features.user_features`: the same per-user columns as the portable Ibis
expression (every rule in docs/features.md), from one hand-written DuckDB aggregate over the compiled input and
a few numpy passes over its lists.

The portable path sorts every event in a window (user, time) to find each event's predecessor, for the sessions
and the mean gap, and aggregates again for the preferred hour. Here one ``GROUP BY`` user gives the counts, the
sums and each user's times gathered into one sorted list (``list_sort(list(ts))``), and numpy reads the lists:

- a session starts at each user's first time and at every time more than the session gap after the time before
  it (equal times never start one, so the order among them does not matter); a local date starts where the date
  of a time differs from the one before;
- the hours of day are counted per user (one ``bincount``), giving the preferred hour (the first of the most
  frequent: ties to the earlier hour) and the evening share;
- the mean gap telescopes: the gaps between consecutive times, each taken to the whole second, add up to the last
  second minus the first, so their mean is that difference over ``events - 1`` (exact in integers; the float
  rounding differs from the portable path's sum of ``events - 1`` quotients by about 1e-15 relatively);
- distinct categories are counted in each user's list of category hashes when the check shows no two
  categories sharing a hash (exact), else in the list of the categories themselves: a ``count(DISTINCT)`` in
  the same aggregate made the whole query three times slower.

On the 10M-event benchmark log :func:`helpers.features.user_features` took 1.70 s (0.69x polars' 2.46 s; median
of 5 fresh processes in turns, 2026-12-05) against 2.84 s for the earlier query, which gathered the lists in a
second aggregate, the hours in a third and joined them; at 100M 21.4 s against 37.4 s, peak RSS 3.7 GiB against
6.0.

Events without a time: the portable window places them after the user's other events, which decides their
sessions and gaps; rather than copy that engine-specific order, :func:`aggregate` returns None when any event
has no time and the caller runs the portable path; so it does for times with a zone or in nanoseconds
(:data:`_PLAIN_TIMES`). tests/test_features_fast.py checks both paths equal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .arrays import array_work
from .engine import duckdb_backend, money_sum_sql, on_duckdb
from .sqlsafety import sql_in as _in
from .sqlsafety import sql_name as _q
from .sqlsafety import sql_text as _lit

__all__ = ["applies", "compiled", "aggregate", "event_types"]

#: DuckDB types of the times the fast path reads: timestamps without a time zone, in seconds, milliseconds or
#: microseconds (their dates and hours are those of their own values; with a zone they follow the session's). Not
#: nanoseconds: DuckDB's TIMESTAMP_NS + INTERVAL is a TIMESTAMP, so the portable path compares each time with its
#: predecessor plus the gap taken to the microsecond, and the fast path steps aside to agree with it
_PLAIN_TIMES = frozenset({"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS"})
#: integer category types, whose equal values have equal hashes
_INTEGERS = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
)


def applies(t, *, session_col: str) -> bool:
    """Whether the fast path can run: the table runs on DuckDB and has no source session ids (with them, sessions
    follow :func:`helpers.journey.sessionize`, on the portable path)."""
    return on_duckdb(t) and session_col not in t.columns


def compiled(t) -> tuple:
    """``(raw DuckDB connection, SQL of t)`` for :func:`event_types` and :func:`aggregate`: ``t`` compiled once
    (Ibis's compile of a filtered scan costs about 0.05 s), its in-memory tables registered."""
    con = duckdb_backend(t)
    con._run_pre_execute_hooks(t)  # registers in-memory tables
    return con.con, con.compile(t)


def event_types(src: tuple, *, event_col: str) -> list[str]:
    """The distinct events of the :func:`compiled` table as text, sorted, without NULL (the portable path's
    default ``event_types``)."""
    raw, src = src
    rows = raw.execute(f"SELECT DISTINCT CAST({_q(event_col)} AS VARCHAR) FROM ({src}) AS s").fetchall()
    return sorted(r[0] for r in rows if r[0] is not None)


def aggregate(
    src: tuple,
    *,
    names: dict[str, str],
    user_col: str,
    ts_col: str,
    event_col: str,
    amount_col: str | None,
    category_col: str | None,
    event_types: list[str],
    buys: list[str],
    order_counts: bool,
    gap_seconds: int,
    cut,
) -> pd.DataFrame | None:
    """One row per user of the :func:`compiled` events (already cut to the window) with the columns the portable path's
    aggregate has before its pandas finishing, or None when the fast path cannot answer (then the portable path
    runs): an event without a time, or times that are not plain timestamps (:data:`_PLAIN_TIMES`).

    ``names`` maps each event in ``event_types`` and ``buys`` to its column suffix. ``amount_col``: the amounts
    (None without). ``category_col``: None without categories. ``order_counts``: the events give ``n_orders`` and
    ``spend`` (no orders table). ``cut``: the start of the trend's last 7 days, or None.

    Columns, in the portable order: ``_u, n_events, first_ts, last_ts, active_days, evening_share,
    n_<event>..., has_<buy>..., [n_orders, spend], [n_categories], mean_gap_hours, sessions, [_late],
    preferred_hour``."""
    raw, inner = src
    if _type_of(raw, inner, _q(ts_col)) not in _PLAIN_TIMES:
        return None
    ts = "_ts"
    cols = [
        f"CAST({_q(user_col)} AS VARCHAR) AS _u",
        f"CAST({_q(event_col)} AS VARCHAR) AS _e",
        f"{_q(ts_col)} AS _ts",
    ]
    if amount_col:
        cols.append(f"CAST({_q(amount_col)} AS DOUBLE) AS _amt")
    if category_col:
        cat = _q(category_col)
        # each category's hash when no two categories share one (checked): a list of integers is counted faster
        cols.append(
            f"CASE WHEN {cat} IS NOT NULL THEN hash({cat}) END AS _cat"
            if _hashes_apart(raw, inner, cat)
            else f"{cat} AS _cat"
        )
    aggs = ["count(*) AS n_events", f"min({ts}) AS first_ts", f"max({ts}) AS last_ts"]
    # one column per name, the last event of a name winning, as in the portable path's dict of aggregates
    n_of = {f"n_{names[e]}": e for e in event_types}
    has_of = {f"has_{names[b]}": b for b in buys}
    aggs += [f"CAST(sum(CAST(_e = {_lit(e)} AS BIGINT)) AS BIGINT) AS {_q(c)}" for c, e in n_of.items()]
    aggs += [f"max(CAST(_e = {_lit(b)} AS BIGINT)) AS {_q(c)}" for c, b in has_of.items()]
    money = []
    if order_counts:
        aggs.append(f"CAST(sum(CAST({_in('_e', buys)} AS BIGINT)) AS BIGINT) AS n_orders")
        if amount_col:
            spent = money_sum_sql(f"CASE WHEN {_in('_e', buys)} THEN _amt END")  # exact, as the portable path
            aggs.append(f"{spent} AS spend")
            money = ["spend"]
    if category_col:  # distinct non-missing categories (a count(DISTINCT) here makes the whole query 3x slower)
        aggs.append("CAST(list_unique(list(_cat)) AS BIGINT) AS n_categories")
    if cut is not None:
        at = f"CAST({_lit(pd.Timestamp(cut).isoformat(sep=' '))} AS TIMESTAMP)"
        aggs.append(f"CAST(sum(CAST({ts} >= {at} AS BIGINT)) AS BIGINT) AS _late")
    aggs.append(f"count(*) - count({ts}) AS _no_ts")
    aggs.append(f"list_sort(list({ts}) FILTER ({ts} IS NOT NULL)) AS _l")  # each user's times, in order
    sec = "EPOCH(CAST(DATE_TRUNC('SECOND', {}) AS TIMESTAMP))"
    sql = f"""
        WITH b AS (SELECT {", ".join(cols)} FROM ({inner}) AS s),
        g AS (SELECT _u, {", ".join(aggs)} FROM b GROUP BY _u)
        SELECT *, CASE WHEN n_events > 1 THEN
                   CAST({sec.format("last_ts")} - {sec.format("first_ts")} AS DOUBLE) / 3600.0 / (n_events - 1)
               END AS mean_gap_hours
        FROM g"""
    tab = raw.sql(sql).to_arrow_table()
    if pc.sum(tab["_no_ts"]).as_py():  # an event without a time: its place among the others is the engine's choice
        return None
    ordered = _in_order(tab["_l"].combine_chunks(), gap_seconds)
    df = tab.drop_columns(["_l", "_no_ts"]).to_pandas()
    for name, values in ordered.items():
        df[name] = values
    if df["_u"].isna().any():  # the portable path joins the preferred hour on the user id: none for a missing one
        df["preferred_hour"] = df["preferred_hour"].where(df["_u"].notna())
    head = ["_u", "n_events", "first_ts", "last_ts", "active_days", "evening_share"]
    counts = [*n_of, *has_of] + ((["n_orders"] + money) if order_counts else [])
    counts += ["n_categories"] if category_col else []
    late = ["_late"] if cut is not None else []
    return df[head + counts + ["mean_gap_hours", "sessions", *late, "preferred_hour"]]


def _type_of(raw, src: str, col: str) -> str:
    """The DuckDB type of the (quoted) column ``col`` of the query ``src``, as text (only bound, not run)."""
    return str(raw.sql(f"SELECT {col} FROM ({src}) AS s LIMIT 0").types[0])


def _hashes_apart(raw, src: str, cat: str) -> bool:
    """Whether the categories' 64-bit hashes are as many as the categories themselves (no two share one), so that
    counting distinct hashes counts distinct categories exactly; only for text and integer categories, whose
    equal values have equal hashes."""
    kind = _type_of(raw, src, cat)
    if kind != "VARCHAR" and kind not in _INTEGERS:
        return False
    values = f"SELECT DISTINCT {cat} AS c FROM ({src}) AS s WHERE {cat} IS NOT NULL"
    return bool(raw.execute(f"SELECT count(*) = count(DISTINCT hash(c)) FROM ({values})").fetchall()[0][0])


@array_work()  # large numpy temporaries: no huge-page stalls, freed ones reused (helpers/arrays.py)
def _in_order(times: pa.ListArray, gap_seconds: int) -> dict[str, np.ndarray]:
    """``sessions, active_days, evening_share, preferred_hour`` of each user from their times, each list sorted
    and without missing values (plain timestamps, counted in their own unit from 1970-01-01 00:00)."""
    per = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[times.type.value_type.unit]
    off = times.offsets.to_numpy()
    x = np.asarray(times.values.cast(pa.int64()))
    starts, sizes = off[:-1], np.diff(off)
    # 1 where a time starts a session (its user's first, or more than the gap after the time before it) ...
    step = np.empty(len(x), np.int8)
    np.greater(x[1:] - x[:-1], gap_seconds * per, out=step[1:].view(bool))
    step[starts] = 1
    sessions = np.add.reduceat(step, starts, dtype=np.int64)
    # ... and where it starts a local date (floor division: the date of a time before 1970 too)
    day = x // (86400 * per)
    np.not_equal(day[1:], day[:-1], out=step[1:].view(bool))
    step[starts] = 1
    days = np.add.reduceat(step, starts, dtype=np.int64)
    del day, step
    n = len(starts)
    cell = (x // (3600 * per)) % 24  # the hour of day; each user's 24 counts
    cell += np.repeat(np.arange(n, dtype=np.int64) * 24, sizes)
    hours = np.bincount(cell, minlength=n * 24).reshape(n, 24)
    return {
        "active_days": days,
        "evening_share": hours[:, 18:].sum(axis=1) / sizes,
        "sessions": sessions,
        "preferred_hour": hours.argmax(axis=1).astype(np.int32),  # the first of the most frequent: the earlier
    }
