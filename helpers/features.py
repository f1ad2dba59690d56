"""Per-user behaviour features from the events table, for any time window: the one feature builder
shared by clustering, the user profile and churn (docs/features.md lists every column).

Computed in Ibis (DuckDB or Spark); one row per user comes back as pandas.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import ibis
import pandas as pd

from . import features_fast
from .engine import as_table, money_sum, to_pandas
from .i18n import t

__all__ = [
    "user_features",
    "campaign_orders",
    "with_order_ids",
    "purchase_event_names",
    "FEATURE_NAMES",
    "feature_label",
]

#: the feature columns that have a reader-facing name (helpers/messages/features.yaml, ``feature.<col>``)
FEATURE_NAMES = (
    "n_events",
    "active_days",
    "sessions",
    "days_since_last_event",
    "tenure_days",
    "events_per_active_day",
    "spend",
    "n_categories",
    "trend",
    "mean_gap_hours",
    "evening_share",
    "preferred_hour",
    "n_orders",
)


def feature_label(col: str, events: Mapping[str, str] | None = None) -> str:
    """The reader-facing name of a feature column in the campaign's language (``n_<event>`` -> '<event> count').

    ``events`` maps event codes to the names pages show (the tracking plan's display names,
    :func:`helpers.tracking.display_names`): ``n_view`` reads '浏览商品次数' rather than 'view 次数'. Events it
    does not name keep their code."""
    if col in FEATURE_NAMES:
        return t(f"feature.{col}")
    shown = {_safe(e): str(name) for e, name in (events or {}).items()}
    if col.startswith("n_"):
        return t("feature.count_of", event=shown.get(col[2:], col[2:]))
    if col.startswith("has_"):
        return t("feature.has", what=shown.get(col[4:], col[4:]))
    return col


def _safe(name: str) -> str:
    return re.sub(r"\W+", "_", str(name)).strip("_") or "x"


def user_features(
    events,
    *,
    start=None,
    end=None,
    user_col: str = "user_id",
    ts_col: str = "ts",
    event_col: str = "event",
    amount_col: str = "amount",
    session_col: str = "session_id",
    category_col: str = "category",
    event_types: list[str] | None = None,
    session_gap_minutes: float = 30,
    buy_events=("buy", "pay", "order"),
    orders=None,
    order_col: str = "order_id",
    returns: str = "exclude",
    fast: bool = True,
) -> pd.DataFrame:
    """One row per user with at least one event in ``[start, end)``; only rows in that window are read.

    Parameters
    ----------
    start, end : window bounds (start inclusive, end exclusive; None = unbounded).
    event_types : events that get an ``n_<event>`` column (default: those in the window, sorted).
    buy_events : events that count as purchases for ``has_<event>``, ``n_orders`` and ``spend`` (without
        ``orders``: only ``has_<event>``).
    orders : the campaign's orders (:func:`campaign_orders`: the orders table, else its ``rfm.buy_events``
        rows), Ibis or pandas, with ``user_col``, ``order_col``, ``ts_col`` and optionally ``amount_col``. When
        given, ``n_orders`` and ``spend`` come from its rows in ``[start, end)``, counted as RFM counts them.
    returns : with ``orders``: rows with a negative amount are ignored (``exclude``) or subtracted from
        ``spend`` (``net``); they are never orders (``rfm.returns``).
    fast : on DuckDB without source session ids, aggregate with one hand-written query
        (:mod:`helpers.features_fast`, tested equal to the portable path); False = the portable Ibis expression
        (the only path on Spark).

    Returns
    -------
    DataFrame sorted by ``user_id`` with: ``n_events``; ``n_<event>`` per event type; ``active_days``
    (distinct local dates); ``sessions`` (source session ids when present, else 30-minute gaps);
    ``first_ts``, ``last_ts``; ``days_since_last_event`` (fractional days from the last event to ``end``, or to the
    latest event in the window when ``end`` is None); ``tenure_days`` (same, from the first event);
    ``events_per_active_day``; ``has_<buy event>`` (0/1) for buy events present; ``n_orders`` (buy events; with
    ``orders``: distinct order ids); ``spend`` (sum of ``amount`` on buy events or order rows, 0 without any;
    NaN without amounts: no amount column, or with ``orders`` no amount in any order); ``n_categories``;
    ``trend`` (events per day in the last 7 days of the window / events per day before, NaN when the window is
    shorter than 8 days or there was nothing before); ``mean_gap_hours`` (mean time between consecutive
    events, times taken to the whole second, NaN with one event); ``evening_share`` (events
    18:00-24:00); ``preferred_hour`` (most frequent hour, ties to the earlier hour). ``first_ts`` and
    ``last_ts`` are ``datetime64[us]`` on every engine.
    """
    t = as_table(events)
    if start is not None:
        t = t.filter(t[ts_col] >= ibis.literal(pd.Timestamp(start)))
    if end is not None:
        t = t.filter(t[ts_col] < ibis.literal(pd.Timestamp(end)))
    base = t.mutate(_u=t[user_col].cast("string"), _e=t[event_col].cast("string"), _ts=t[ts_col])
    fast = fast and features_fast.applies(t, session_col=session_col)
    src = features_fast.compiled(t) if fast else None
    if event_types is None and src is not None:
        event_types = features_fast.event_types(src, event_col=event_col)
    elif event_types is None:
        event_types = sorted(base.select("_e").distinct().to_pandas()["_e"].dropna().astype(str))
    buys = [b for b in buy_events if b in set(event_types)]
    has_amount = amount_col in base.columns
    bought = _order_aggregates(
        orders,
        start,
        end,
        user_col=user_col,
        ts_col=ts_col,
        order_col=order_col,
        amount_col=amount_col,
        returns=returns,
    )
    order_counts = bool(buys) and orders is None  # purchases from the events: n_orders (and spend)
    cut = _trend_cut(start, end)
    df = None
    if src is not None:  # DuckDB: one hand-written query, tested equal (helpers/features_fast.py); None: portable
        df = features_fast.aggregate(
            src,
            names={e: _safe(e) for e in [*event_types, *buys]},
            user_col=user_col,
            ts_col=ts_col,
            event_col=event_col,
            amount_col=amount_col if has_amount else None,
            category_col=category_col if category_col in base.columns else None,
            event_types=event_types,
            buys=buys,
            order_counts=order_counts,
            gap_seconds=int(session_gap_minutes * 60),
            cut=cut,
        )
        if df is not None and bought is not None:
            right = to_pandas(bought[0].rename(_k0="_u"))
            right = right[right["_k0"].notna()]  # as in the portable join, no user id matches a missing one
            df = df.merge(right, how="left", left_on="_u", right_on="_k0", sort=False).drop(columns="_k0")
    if df is None:
        df = _portable_frame(
            base,
            event_types=event_types,
            buys=buys,
            order_counts=order_counts,
            amount_col=amount_col if has_amount else None,
            category_col=category_col,
            session_col=session_col,
            session_gap_minutes=session_gap_minutes,
            cut=cut,
            bought=bought,
        )
    df = df.rename(columns={"_u": "user_id"})
    tail = ["mean_gap_hours", "preferred_hour", "sessions"]
    df = df[[c for c in df.columns if c not in tail] + tail]
    ref = pd.Timestamp(end) if end is not None else pd.to_datetime(df["last_ts"]).max()
    # microseconds, the canonical resolution, whichever engine ran (Spark's pandas conversion gives ns)
    df["first_ts"] = pd.to_datetime(df["first_ts"]).astype("datetime64[us]")
    df["last_ts"] = pd.to_datetime(df["last_ts"]).astype("datetime64[us]")
    df["days_since_last_event"] = (ref - df["last_ts"]).dt.total_seconds() / 86400
    df["tenure_days"] = (ref - df["first_ts"]).dt.total_seconds() / 86400
    df["events_per_active_day"] = df["n_events"] / df["active_days"]
    if orders is not None:
        has_amount = bought is not None and bought[1]
    if (buys or orders is not None) and not has_amount:
        df["spend"] = float("nan")
    elif buys or orders is not None:
        df["spend"] = df["spend"].fillna(0.0)
    df["trend"] = _trend(base, start, end, df)
    df = df.drop(columns=["_late"], errors="ignore")
    for c in df.columns:
        if c.startswith(("n_", "has_")) or c in ("active_days", "sessions", "n_events", "n_categories"):
            df[c] = df[c].fillna(0).astype("int64")
    lead = ["user_id", "n_events"] + [f"n_{_safe(e)}" for e in event_types]
    rest = [c for c in df.columns if c not in lead]
    return df[lead + rest].sort_values("user_id", ignore_index=True)


def _portable_frame(
    base, *, event_types, buys, order_counts, amount_col, category_col, session_col, session_gap_minutes, cut, bought
) -> pd.DataFrame:
    """The per-user aggregate of :func:`user_features` before its pandas finishing, as one Ibis expression (any
    engine): the columns :func:`helpers.features_fast.aggregate` returns, then those of ``bought``."""
    from .journey import sessionize

    base = base.mutate(_prev=base["_ts"].lag().over(ibis.window(group_by=base["_u"], order_by=base["_ts"])))
    aggs = {
        "n_events": base.count(),
        "first_ts": base["_ts"].min(),
        "last_ts": base["_ts"].max(),
        "active_days": base["_ts"].date().nunique(),
        "evening_share": (base["_ts"].hour() >= 18).cast("float64").mean(),
    }
    for e in event_types:
        aggs[f"n_{_safe(e)}"] = (base["_e"] == e).cast("int64").sum()
    for b in buys:
        aggs[f"has_{_safe(b)}"] = (base["_e"] == b).cast("int64").max()
    if order_counts:
        aggs["n_orders"] = base["_e"].isin(buys).cast("int64").sum()
        if amount_col:
            # money summed exactly, as RFM's M: the same in any order, on every engine
            aggs["spend"] = money_sum(base[amount_col], where=base["_e"].isin(buys))
    if category_col in base.columns:
        aggs["n_categories"] = base[category_col].nunique()
    # one sort in (user, time) order: the gap to the previous event gives the mean gap and, without source
    # session ids, the sessions (one starts at the first event and after every gap > session_gap_minutes).
    # Gaps in whole seconds on every engine: DuckDB's epoch has fractions, Spark's UNIX_TIMESTAMP has none.
    # The mean is the integer sum of the gaps over their number, divided once: a mean of float hours depends on
    # the order of the additions, which differs between engines (and Spark's 1-ulp differences in 328 Taobao
    # users' gaps changed the churn model's gradient boosting, 2026-12-04); this is also the fast path's
    # (last - first) / (n - 1) to the bit. The sum is cast to float first because Spark reads the literal 3600.0
    # as a DECIMAL, and BIGINT / DECIMAL would round the hours to 6 places
    secs = base["_ts"].truncate("s").epoch_seconds() - base["_prev"].truncate("s").epoch_seconds()
    aggs["mean_gap_hours"] = secs.sum().cast("float64") / 3600.0 / secs.count().nullif(0)
    has_sid = session_col in base.columns
    if not has_sid:
        gap = ibis.interval(seconds=int(session_gap_minutes * 60))
        new = base["_prev"].isnull() | (base["_ts"] > base["_prev"] + gap)
        aggs["sessions"] = new.cast("int64").sum()
    if cut is not None:
        aggs["_late"] = (base["_ts"] >= ibis.literal(cut)).cast("int64").sum()
    feats = base.group_by("_u").aggregate(**aggs)

    # preferred hour: the hour with the most events, ties to the earlier hour, as the hour with the largest
    # n * 100 - hour (arg_max / max_by: one hash aggregate, not a sorted window; hours are 0-23 < 100)
    h = base.group_by(["_u", base["_ts"].hour().name("_h")]).aggregate(_n=base.count())
    key = h["_n"].cast("int64") * 100 - h["_h"].cast("int64")
    rights = [h.group_by("_u").aggregate(preferred_hour=h["_h"].argmax(key))]
    if bought is not None:
        rights.append(bought[0])
    if has_sid:  # source session ids where present, 30-minute gaps elsewhere (helpers.journey.sessionize)
        s = sessionize(
            base.select(user_id=base["_u"], event=base["_e"], ts=base["_ts"], session_id=base[session_col]),
            gap_minutes=session_gap_minutes,
        )
        rights.append(s.group_by(_u=s["user_id"]).aggregate(sessions=s["session"].nunique()))

    out = feats
    for i, right in enumerate(rights):
        right = right.rename(**{f"_k{i}": "_u"})
        out = out.left_join(right, out["_u"] == right[f"_k{i}"]).drop(f"_k{i}")
    # through Arrow on DuckDB (mean_gap_hours and the left-joined order columns hold nulls), helpers/engine.py
    return to_pandas(out)


def _order_aggregates(orders, start, end, *, user_col, ts_col, order_col, amount_col, returns):
    """``(table _u, n_orders[, spend], has amounts)`` of the order rows in ``[start, end)``, as
    :func:`helpers.rfm.rfm_table` counts them: distinct order ids of the rows that are not returns (negative
    amounts); ``spend`` sums the amounts (``returns='net'``: returns subtracted, else ignored)."""
    if orders is None:
        return None
    if returns not in ("exclude", "net"):
        raise ValueError(f"returns must be 'exclude' or 'net', got {returns!r} (params: rfm.returns)")
    o = as_table(orders)
    if start is not None:
        o = o.filter(o[ts_col] >= ibis.literal(pd.Timestamp(start)))
    if end is not None:
        o = o.filter(o[ts_col] < ibis.literal(pd.Timestamp(end)))
    # amounts anywhere in the orders (not only in the window): a window without orders spends 0, not NaN
    has_amount = amount_col in o.columns and int(as_table(orders)[amount_col].count().execute()) > 0
    aggs = {}
    if has_amount:
        amt = o[amount_col].cast("float64")
        is_order = (amt >= 0).fill_null(True)
        aggs["spend"] = money_sum(amt, where=None if returns == "net" else is_order)  # exact, as RFM's M
    else:
        is_order = ibis.literal(True)
    aggs["n_orders"] = o[order_col].nunique(where=is_order)
    return o.group_by(_u=o[user_col].cast("string")).aggregate(**aggs), has_amount


def _trend_cut(start, end):
    """Start of the trend's last 7 days, when the window is given and has at least one day before them."""
    if end is None or start is None:
        return None
    cut = pd.Timestamp(end) - pd.Timedelta(days=7)
    return cut if (cut - pd.Timestamp(start)).total_seconds() / 86400 >= 1 else None


def _trend(base, start, end, df: pd.DataFrame) -> pd.Series:
    """Events per day in the last 7 days of the window over events per day before them."""
    if "_late" in df.columns:  # counted in the main aggregate (window given)
        cut = _trend_cut(start, end)
        days_before = (cut - pd.Timestamp(start)).total_seconds() / 86400
        late = df["_late"].to_numpy(dtype=float)
        early_rate = (df["n_events"].to_numpy(dtype=float) - late) / days_before
        return pd.Series(late / 7.0, index=df.index) / pd.Series(early_rate, index=df.index).where(lambda x: x > 0)
    if end is None:
        end = pd.to_datetime(df["last_ts"]).max().normalize() + pd.Timedelta(days=1) if len(df) else None
    if end is None:
        return pd.Series(float("nan"), index=df.index)
    end = pd.Timestamp(end)
    lo = pd.Timestamp(start) if start is not None else pd.to_datetime(df["first_ts"]).min().normalize()
    days_before = (end - pd.Timedelta(days=7) - lo).total_seconds() / 86400
    if days_before < 1:
        return pd.Series(float("nan"), index=df.index)
    cut = ibis.literal(end - pd.Timedelta(days=7))
    agg = (
        base.group_by("_u")
        .aggregate(_late=(base["_ts"] >= cut).cast("int64").sum(), _early=(base["_ts"] < cut).cast("int64").sum())
        .to_pandas()
    )
    agg = agg.set_index("_u").reindex(df["user_id"])
    early_rate = agg["_early"].to_numpy() / days_before
    late_rate = agg["_late"].to_numpy() / 7.0
    return pd.Series(late_rate, index=df.index) / pd.Series(early_rate, index=df.index).where(lambda x: x > 0)


def campaign_orders(ctx):
    """The campaign's orders, the one purchase definition of every report: the clean orders table when the
    campaign has one (from a file or derived), else the events named in ``rfm.buy_events`` with one order
    per ``order_id`` (per user and time without one), as the RFM report reads them.

    Returns
    -------
    ``(orders, source)``: an Ibis table with ``user_id``, ``order_id``, ``ts`` (and ``amount`` when there is
    one), and how it was defined (``"orders"`` or ``"events [buy, pay]"``); ``(None, None)`` without an
    events or orders table.
    """
    if ctx.has("orders"):
        return ctx.table("orders"), "orders"
    if not ctx.has("events"):
        return None, None
    ev = ctx.table("events")
    buy = list(ctx.cfg.rfm.buy_events)
    return with_order_ids(ev.filter(ev["event"].isin(buy))), f"events [{', '.join(buy)}]"


def with_order_ids(purchases):
    """Purchase events with an ``order_id`` on every row: the event's own, else ``user_id|ts`` (a user's purchase
    events at one instant are one order). The one rule for events read as orders (RFM, CLV, churn, the profile,
    products), and that of the orders table derived from events (:func:`helpers.values.instant_order_id_sql`, the
    same text)."""
    o = purchases
    fallback = o["user_id"].cast("string").concat("|", o["ts"].cast("string"))
    return o.mutate(order_id=o["order_id"].fill_null(fallback) if "order_id" in o.columns else fallback)


def purchase_event_names(ctx, source: str | None) -> list[str]:
    """The purchase events of :func:`campaign_orders` as pages name them: ``rfm.buy_events`` in order, each by the
    tracking plan's display name for the page's language (:func:`helpers.tracking.display_names`) or its code;
    empty when the purchases are the orders table (``source`` is ``"orders"``) or there are none."""
    if source is None or source == "orders":
        return []
    from .tracking import display_names

    names = display_names(ctx)
    return [names.get(e, e) for e in ctx.cfg.rfm.buy_events]
