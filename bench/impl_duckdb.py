"""Hand-written DuckDB SQL (``duckdb_sql``) and the DuckDB scan floor (``floor``).

Every metric opens a fresh connection (memory limit, spill folder) and scans the Parquet log inside the timed
call; results come back as Arrow tables (one row per user, or per cohort x day).

``floor`` is a lower bound, not the metric: one scan of the columns the metric needs and one GROUP BY user
(or, for ingest, the CSV -> Parquet copy with the type casts only).
"""

from __future__ import annotations

import duckdb
import pandas as pd
from common import (
    DUCKDB_MEMORY_LIMIT,
    END,
    FUNNEL_STEPS,
    LAST_DAY,
    SESSION_GAP_MINUTES,
    START,
    TIMEZONE,
    WINDOW_HOURS,
    Case,
)

_CSV_COLUMNS = (
    "{'user_id': 'VARCHAR', 'item_id': 'VARCHAR', 'category_id': 'VARCHAR', "
    "'behavior_type': 'VARCHAR', 'timestamp': 'BIGINT'}"
)


def connect(case: Case) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    case.spill.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET temp_directory = '{case.spill}'")
    return con


def _src(case: Case) -> str:
    return f"read_parquet('{case.parquet}')"


# ------------------------------------------------------------------------------------------ duckdb_sql
def funnel(case: Case, prep=None):
    """Attempts by a recursive CTE: the next start is the first pv after the window end ``dl``, found without
    scanning all later pv: either a pv on the day of ``dl`` (equi-join on user and day, then ``ts > dl``) or the
    first pv of a later day (a per-user-day first-pv table, the only materialised step; each round re-scans the
    Parquet pv rows instead of holding the events in memory). Steps 2 and 3 by ASOF joins (first cart at/after
    the start, first buy at/after the cart), kept when within the window; each user's best attempt.

    The optimizer misjudges the recursive working table (it estimates attempts > pv rows) and would build the
    join's hash table on the pv rows: 9M rows at 10M events, out of memory at 100M under the 6 GB limit. So
    join reordering is switched off for this query and every join is written with its small side on the right
    (DuckDB builds on the right)."""
    con = connect(case)
    con.execute("SET disabled_optimizers = 'join_order,build_side_probe_side'")
    s1, s2, s3 = FUNNEL_STEPS
    win = f"INTERVAL {WINDOW_HOURS} HOUR"
    src = _src(case)
    return con.sql(f"""
        WITH RECURSIVE
        pv AS NOT MATERIALIZED (SELECT user_id AS u, CAST(ts AS DATE) AS d, ts FROM {src} WHERE event = '{s1}'),
        pv_day AS MATERIALIZED (SELECT u, d, min(ts) AS first_ts FROM pv GROUP BY u, d),
        att(u, start, dl, dl_day) AS (
            SELECT u, s, s + {win}, CAST(s + {win} AS DATE) FROM (SELECT u, min(first_ts) AS s FROM pv_day GROUP BY u)
            UNION ALL
            SELECT u, s, s + {win}, CAST(s + {win} AS DATE) FROM (
                SELECT u, min(ts) AS s FROM (
                    SELECT a.u, p.ts FROM pv p JOIN att a ON a.u = p.u AND p.d = a.dl_day WHERE p.ts > a.dl
                    UNION ALL
                    SELECT a.u, p.first_ts FROM pv_day p JOIN att a ON a.u = p.u AND p.d > a.dl_day)
                GROUP BY u)
        ),
        c AS (
            SELECT a.u, a.start, a.dl, CASE WHEN x.ts <= a.dl THEN x.ts END AS t2
            FROM att a ASOF LEFT JOIN (SELECT user_id AS u, ts FROM {src} WHERE event = '{s2}') x
                ON a.u = x.u AND x.ts >= a.start
        ),
        b AS (
            SELECT c.u, c.t2, CASE WHEN x.ts <= c.dl THEN x.ts END AS t3
            FROM c ASOF LEFT JOIN (SELECT user_id AS u, ts FROM {src} WHERE event = '{s3}') x
                ON c.u = x.u AND x.ts >= c.t2
        )
        SELECT u AS user_id, max(1 + (t2 IS NOT NULL)::INT + (t3 IS NOT NULL)::INT) AS reached
        FROM b GROUP BY u""").fetch_arrow_table()


def retention(case: Case, prep=None):
    con = connect(case)
    return con.sql(f"""
        WITH ud AS (SELECT DISTINCT user_id, CAST(ts AS DATE) AS d FROM {_src(case)}),
        f AS (SELECT user_id, min(d) AS c FROM ud GROUP BY user_id)
        SELECT (f.c - DATE '1970-01-01') AS cohort, (ud.d - f.c) AS n, count(*) AS users
        FROM ud JOIN f USING (user_id) GROUP BY ALL ORDER BY 1, 2""").fetch_arrow_table()


def rfm(case: Case, prep=None):
    """Orders = buy events (each buy row is one order, so frequency = buy rows)."""
    con = connect(case)
    return con.sql(f"""
        WITH g AS (
            SELECT user_id, min(ts) AS first_ts, max(ts) AS last_ts, count(*) AS frequency,
                   sum(amount) AS monetary, count(DISTINCT CAST(ts AS DATE)) AS purchase_days
            FROM {_src(case)} WHERE event = 'buy' GROUP BY user_id),
        a AS (SELECT CAST(max(last_ts) AS DATE) + 1 AS as_of FROM g)
        SELECT user_id, (as_of - CAST(last_ts AS DATE)) AS recency_days, frequency, monetary,
               monetary / frequency AS aov, (as_of - CAST(first_ts AS DATE)) AS tenure_days, purchase_days,
               first_ts, last_ts
        FROM g, a ORDER BY user_id""").fetch_arrow_table()


def features(case: Case, prep=None):
    con = connect(case)
    cut = END - pd.Timedelta(days=7)
    days_before = (cut - START).days
    gap = SESSION_GAP_MINUTES * 60
    counts = ", ".join(f"count(*) FILTER (WHERE event = '{e}') AS n_{e}" for e in ("buy", "cart", "fav", "pv"))
    return con.sql(f"""
        WITH b AS (
            SELECT user_id, event, ts, amount, category FROM {_src(case)}
            WHERE ts >= TIMESTAMP '{START}' AND ts < TIMESTAMP '{END}'),
        g AS (
            SELECT user_id, epoch(ts) - epoch(lag(ts) OVER (PARTITION BY user_id ORDER BY ts)) AS gap FROM b),
        s AS (
            SELECT user_id, count(*) FILTER (WHERE gap IS NULL OR gap > {gap}) AS sessions,
                   avg(gap) / 3600 AS mean_gap_hours
            FROM g GROUP BY user_id),
        h AS (SELECT user_id, hour(ts) AS h, count(*) AS n FROM b GROUP BY ALL),
        p AS (SELECT user_id, arg_max(h, n * 100 - h) AS preferred_hour FROM h GROUP BY user_id),
        a AS (
            SELECT user_id, count(*) AS n_events, {counts}, min(ts) AS first_ts, max(ts) AS last_ts,
                   count(DISTINCT CAST(ts AS DATE)) AS active_days,
                   avg(CAST(hour(ts) >= 18 AS DOUBLE)) AS evening_share,
                   coalesce(sum(amount) FILTER (WHERE event = 'buy'), 0) AS spend,
                   count(DISTINCT category) AS n_categories,
                   count(*) FILTER (WHERE ts >= TIMESTAMP '{cut}') AS late
            FROM b GROUP BY user_id)
        SELECT a.user_id, n_events, n_buy, n_cart, n_fav, n_pv, active_days, sessions, first_ts, last_ts,
               (epoch(TIMESTAMP '{END}') - epoch(last_ts)) / 86400 AS days_since_last_event,
               (epoch(TIMESTAMP '{END}') - epoch(first_ts)) / 86400 AS tenure_days,
               n_events / active_days AS events_per_active_day, (n_buy > 0)::INT AS has_buy, n_buy AS n_orders,
               spend, n_categories,
               (late / 7.0) / CASE WHEN n_events > late THEN (n_events - late) / {float(days_before)} END AS trend,
               mean_gap_hours, evening_share, preferred_hour
        FROM a JOIN s USING (user_id) JOIN p USING (user_id) ORDER BY a.user_id""").fetch_arrow_table()


def _ingest_select(case: Case, *, distinct: bool = False) -> str:
    raw = f"read_csv('{case.csv}', header = true, columns = {_CSV_COLUMNS})"
    if distinct:
        raw = f"(SELECT DISTINCT * FROM {raw})"
    return (
        f"SELECT user_id, behavior_type AS event, "
        f"timezone('{TIMEZONE}', to_timestamp(\"timestamp\")) AS ts, item_id, category_id AS category "
        f"FROM {raw}"
    )


def prepare_ingest(case: Case):
    case.work.mkdir(parents=True, exist_ok=True)
    return case.work / "events.parquet"


def ingest(case: Case, out):
    """The kit's cleaning on typed columns: exact duplicates dropped, required columns present, ts inside the
    period, known events; then Parquet (zstd)."""
    con = connect(case)
    con.execute(f"""
        COPY (SELECT * FROM ({_ingest_select(case, distinct=True)})
              WHERE user_id IS NOT NULL AND event IS NOT NULL AND ts IS NOT NULL
                AND ts >= TIMESTAMP '{START}' AND ts < TIMESTAMP '{LAST_DAY}' + INTERVAL 1 DAY
                AND event IN ('pv', 'fav', 'cart', 'buy'))
        TO '{out}' (FORMAT parquet, COMPRESSION zstd)""")
    return out


# ------------------------------------------------------------------------------------------ floor
def floor_funnel(case: Case, prep=None):
    s = "', '".join(FUNNEL_STEPS)
    return (
        connect(case)
        .sql(
            f"SELECT user_id, count(*) AS n, max(ts) AS last_ts FROM {_src(case)} "
            f"WHERE event IN ('{s}') GROUP BY user_id"
        )
        .fetch_arrow_table()
    )


def floor_retention(case: Case, prep=None):
    return (
        connect(case)
        .sql(f"SELECT user_id, min(ts) AS first_ts, max(ts) AS last_ts FROM {_src(case)} GROUP BY user_id")
        .fetch_arrow_table()
    )


def floor_rfm(case: Case, prep=None):
    return (
        connect(case)
        .sql(
            f"SELECT user_id, count(*) AS n, sum(amount) AS monetary, max(ts) AS last_ts "
            f"FROM {_src(case)} WHERE event = 'buy' GROUP BY user_id"
        )
        .fetch_arrow_table()
    )


def floor_features(case: Case, prep=None):
    return (
        connect(case)
        .sql(
            f"SELECT user_id, count(*) AS n, max(ts) AS last_ts, sum(amount) AS spend, "
            f"max(event) AS e, max(category) AS c FROM {_src(case)} "
            "GROUP BY user_id"
        )
        .fetch_arrow_table()
    )


def floor_ingest(case: Case, out):
    connect(case).execute(f"COPY ({_ingest_select(case)}) TO '{out}' (FORMAT parquet, COMPRESSION zstd)")
    return out


METRICS = {"funnel": funnel, "retention": retention, "rfm": rfm, "features": features, "ingest": ingest}
PREPARE = {"ingest": prepare_ingest}
FLOOR = {
    "funnel": floor_funnel,
    "retention": floor_retention,
    "rfm": floor_rfm,
    "features": floor_features,
    "ingest": floor_ingest,
}
