"""Polars references: lazy scans of the Parquet log, collected with the streaming engine where the plan allows
it (retention, RFM, features, ingest); the funnel collects the three event types once and finds attempts in
rounds of ``join_asof`` (all users at once), as the kit does in rounds of joins.
"""

from __future__ import annotations

import pandas as pd
import polars as pl
from common import END, EVENT_TYPES, FUNNEL_STEPS, LAST_DAY, SESSION_GAP_MINUTES, START, TIMEZONE, WINDOW_HOURS, Case

CUT = END - pd.Timedelta(days=7)
DAYS_BEFORE = (CUT - START).days
STREAMING = {"engine": "streaming"}


def _scan(case: Case) -> pl.LazyFrame:
    return pl.scan_parquet(case.parquet)


def funnel(case: Case, prep=None):
    """Events as one Int64 key ``user code * 2**32 + seconds since the first event`` (user codes from a
    Categorical), sorted per step; attempts in rounds (all users at once) and steps by ``join_asof`` on that key
    (a merge of two sorted columns), each match checked to be the same user and within the window."""
    s1, s2, s3 = FUNNEL_STEPS
    win = WINDOW_HOURS * 3600
    ev = (
        _scan(case)
        .filter(pl.col("event").is_in(FUNNEL_STEPS))
        .select(
            u=pl.col("user_id").cast(pl.Categorical).to_physical().cast(pl.Int64),
            event="event",
            sec=pl.col("ts").dt.epoch("s"),
        )
        .collect(**STREAMING)
    )
    ev = ev.select("event", k=pl.col("u") * 2**32 + (pl.col("sec") - pl.col("sec").min()))
    pv, cart, buy = (
        ev.filter(pl.col("event") == s).select(pl.col("k").alias(n)).sort(n)
        for s, n in ((s1, "k1"), (s2, "k2"), (s3, "k3"))
    )
    user = lambda c: pl.col(c) // 2**32  # noqa: E731
    cur = pv.group_by(user("k1").alias("u")).agg(start=pl.col("k1").min()).select("start")
    attempts = [cur]
    while cur.height:
        nxt = (
            cur.with_columns(end=pl.col("start") + win)
            .sort("end")
            .join_asof(
                pv, left_on="end", right_on="k1", strategy="forward", allow_exact_matches=False, check_sortedness=False
            )
        )
        cur = nxt.filter(pl.col("k1").is_not_null() & (user("k1") == user("start"))).select(start="k1")
        attempts.append(cur)
    att = pl.concat(attempts).with_columns(deadline=pl.col("start") + win).sort("start")
    att = att.join_asof(cart, left_on="start", right_on="k2", strategy="forward", check_sortedness=False)
    att = att.with_columns(
        k2=pl.when((user("k2") == user("start")) & (pl.col("k2") <= pl.col("deadline"))).then(pl.col("k2"))
    )
    att = att.sort("k2", nulls_last=True).join_asof(
        buy, left_on="k2", right_on="k3", strategy="forward", check_sortedness=False
    )
    att = att.with_columns(
        k3=pl.when((user("k3") == user("start")) & (pl.col("k3") <= pl.col("deadline"))).then(pl.col("k3"))
    )
    return att.group_by(u=user("start")).agg(
        reached=(1 + pl.col("k2").is_not_null().cast(pl.Int64) + pl.col("k3").is_not_null().cast(pl.Int64)).max()
    )


def retention(case: Case, prep=None):
    ud = _scan(case).select("user_id", d=pl.col("ts").dt.date()).unique()
    first = ud.group_by("user_id").agg(c=pl.col("d").min())
    return (
        ud.join(first, on="user_id")
        .group_by(cohort=pl.col("c").cast(pl.Int64), n=(pl.col("d") - pl.col("c")).dt.total_days())
        .agg(users=pl.len())
        .sort("cohort", "n")
        .collect(**STREAMING)
    )


def rfm(case: Case, prep=None):
    """Orders = buy events (each buy row is one order, so frequency = buy rows)."""
    g = (
        _scan(case)
        .filter(pl.col("event") == "buy")
        .group_by("user_id")
        .agg(
            first_ts=pl.col("ts").min(),
            last_ts=pl.col("ts").max(),
            frequency=pl.len(),
            monetary=pl.col("amount").sum(),
            purchase_days=pl.col("ts").dt.date().n_unique(),
        )
    )
    as_of = pl.col("last_ts").max().dt.date() + pl.duration(days=1)
    return (
        g.with_columns(
            recency_days=(as_of - pl.col("last_ts").dt.date()).dt.total_days(),
            tenure_days=(as_of - pl.col("first_ts").dt.date()).dt.total_days(),
            aov=pl.col("monetary") / pl.col("frequency"),
        )
        .sort("user_id")
        .collect(**STREAMING)
    )


def features(case: Case, prep=None):
    b = _scan(case).filter((pl.col("ts") >= START) & (pl.col("ts") < END))
    ts = pl.col("ts")
    gaps = ts.sort().diff().dt.total_seconds()
    aggs = [pl.len().alias("n_events")]
    aggs += [(pl.col("event") == e).sum().alias(f"n_{e}") for e in EVENT_TYPES]
    aggs += [
        ts.min().alias("first_ts"),
        ts.max().alias("last_ts"),
        ts.dt.date().n_unique().alias("active_days"),
        ((gaps > SESSION_GAP_MINUTES * 60).sum() + 1).alias("sessions"),
        (gaps.mean() / 3600).alias("mean_gap_hours"),
        (ts.dt.hour() >= 18).mean().alias("evening_share"),
        pl.col("amount").filter(pl.col("event") == "buy").sum().alias("spend"),
        pl.col("category").n_unique().alias("n_categories"),
        (ts >= CUT).sum().alias("late"),
    ]
    a = b.group_by("user_id").agg(aggs)
    h = (
        b.group_by("user_id", h=ts.dt.hour())
        .agg(n=pl.len())
        .sort(["user_id", "n", "h"], descending=[False, True, False])
        .group_by("user_id")
        .agg(preferred_hour=pl.col("h").first())
    )
    n, late = pl.col("n_events"), pl.col("late")
    early_rate = (n - late) / DAYS_BEFORE
    end = pl.lit(END)
    out = (
        a.join(h, on="user_id")
        .with_columns(
            days_since_last_event=(end - pl.col("last_ts")).dt.total_seconds() / 86400,
            tenure_days=(end - pl.col("first_ts")).dt.total_seconds() / 86400,
            events_per_active_day=n / pl.col("active_days"),
            has_buy=(pl.col("n_buy") > 0).cast(pl.Int64),
            n_orders=pl.col("n_buy"),
            trend=pl.when(early_rate > 0).then((late / 7) / early_rate),
        )
        .drop("late")
        .sort("user_id")
    )
    return out.collect(**STREAMING)


def prepare_ingest(case: Case):
    case.work.mkdir(parents=True, exist_ok=True)
    return case.work / "events.parquet"


def ingest(case: Case, out):
    """The kit's cleaning on typed columns: exact duplicates dropped, required columns present, ts inside the
    period, known events; then Parquet (zstd), streamed."""
    raw = pl.scan_csv(
        case.csv,
        schema={
            "user_id": pl.String,
            "item_id": pl.String,
            "category_id": pl.String,
            "behavior_type": pl.String,
            "timestamp": pl.Int64,
        },
    )
    ts = (
        pl.from_epoch("timestamp", time_unit="s")
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(TIMEZONE)
        .dt.replace_time_zone(None)
    )
    (
        raw.unique()
        .select("user_id", event=pl.col("behavior_type"), ts=ts, item_id="item_id", category="category_id")
        .filter(
            pl.col("user_id").is_not_null()
            & pl.col("event").is_not_null()
            & pl.col("ts").is_not_null()
            & (pl.col("ts") >= START)
            & (pl.col("ts") < LAST_DAY + pd.Timedelta(days=1))
            & pl.col("event").is_in(["pv", "fav", "cart", "buy"])
        )
        .sink_parquet(out, compression="zstd")
    )
    return out


METRICS = {"funnel": funnel, "retention": retention, "rfm": rfm, "features": features, "ingest": ingest}
PREPARE = {"ingest": prepare_ingest}
