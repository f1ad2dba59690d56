"""Distribution analysis (分布分析) and interval analysis (间隔分析) on Ibis (DuckDB or Spark).

``frequency_distribution`` buckets users by how often they did an event, on how many days, or by an amount;
``interval_table`` measures the time from a user's first event A to their first event B after it. Both take
an Ibis table or a pandas DataFrame of canonical events; the event-level work runs on the engine and only
one row per bucket (and, for the interval percentiles, one number per converted user) comes back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import ibis
import numpy as np
import pandas as pd

from .engine import as_table
from .errors import MissingColumnError
from .i18n import t as _t

__all__ = ["frequency_distribution", "interval_table"]

_MEASURES = ("count", "days", "amount")
_QUANTILES = (0.0, 0.25, 0.5, 0.75, 0.9)


def frequency_distribution(
    events,
    *,
    event: str | None = None,
    measure: str = "count",
    buckets: Sequence[float] | None = None,
    group_col: str | None = None,
    user_col: str = "user_id",
    ts_col: str = "ts",
    event_col: str = "event",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """Users bucketed by how many times they did ``event``, on how many days, or by the amount they spent.

    Parameters
    ----------
    events : Ibis table or pandas DataFrame of events.
    event : the event to count (``None``: every event).
    measure : ``"count"`` (events per user), ``"days"`` (distinct active days, calendar days of ``ts``) or
        ``"amount"`` (sum of ``amount_col`` per user).
    buckets : lower bounds of the buckets, increasing (``[1, 2, 5, 10]`` gives 1, 2-4, 5-9, 10+ for counts);
        default: the distinct 0/25/50/75/90 % quantiles of the users' values (rounded down for counts/days).
        Users below the first bound fall in the first bucket.
    group_col : a column of the events; a user's value is computed per group (a user can be in several).

    Returns
    -------
    DataFrame ``bucket`` (label), ``lower`` (inclusive bound), ``upper`` (exclusive; NaN for the last),
    ``users``, ``share`` (of the users in the same group, or of all users), and ``group`` when grouped;
    one row per bucket (and group), buckets in order.
    """
    if measure not in _MEASURES:
        raise ValueError(f"measure must be one of {', '.join(_MEASURES)}, got {measure!r}")
    t = as_table(events)
    need = [user_col, ts_col] + ([event_col] if event else []) + ([group_col] if group_col else [])
    need += [amount_col] if measure == "amount" else []
    missing = [c for c in need if c not in t.columns]
    if missing:
        raise MissingColumnError("events", missing[0], t.columns, hint="frequency_distribution needs it")
    if event is not None:
        t = t.filter(t[event_col] == event)
    keys = [user_col] + ([group_col] if group_col else [])
    if measure == "count":
        per = t.group_by(keys).aggregate(v=t[user_col].count())
    elif measure == "days":
        per = t.group_by(keys).aggregate(v=t[ts_col].date().nunique())
    else:
        per = t.group_by(keys).aggregate(v=t[amount_col].sum().fill_null(0))
    integer = measure != "amount"
    if buckets is None:
        qs = per.aggregate(**{f"q{i}": per["v"].quantile(q) for i, q in enumerate(_QUANTILES)}).to_pandas()
        vals = [float(qs[f"q{i}"].iloc[0]) for i in range(len(_QUANTILES))] if len(qs) else []
        vals = [math.floor(v) if integer else v for v in vals if v == v]
        edges = sorted(set(vals)) or [0.0]
    else:
        edges = [float(b) for b in buckets]
        if not edges or any(b >= a for a, b in zip(edges[1:], edges)):
            raise ValueError(f"buckets must be increasing lower bounds, e.g. [1, 2, 5, 10]; got {list(buckets)!r}")
    idx = ibis.literal(0)
    for k, e in enumerate(edges[1:], start=1):
        idx = ibis.ifelse(per["v"] >= e, k, idx)
    b = per.mutate(_b=idx)
    gkeys = ["_b"] + ([group_col] if group_col else [])
    counts = b.group_by(gkeys).aggregate(users=b[user_col].count()).to_pandas()
    rows = []
    groups = sorted(counts[group_col].dropna().unique().tolist(), key=str) if group_col else [None]
    for g in groups:
        sub = counts[counts[group_col] == g] if group_col else counts
        total = int(sub["users"].sum())
        for k, lo in enumerate(edges):
            hi = edges[k + 1] if k + 1 < len(edges) else math.nan
            n = int(sub.loc[sub["_b"] == k, "users"].sum())
            row = {"bucket": _label(lo, hi, integer), "lower": lo, "upper": hi, "users": n}
            row["share"] = n / total if total else math.nan
            if group_col:
                row["group"] = g
            rows.append(row)
    return pd.DataFrame(rows, columns=["bucket", "lower", "upper", "users", "share"] + (["group"] if group_col else []))


def _label(lo: float, hi: float, integer: bool) -> str:
    if integer:
        lo_i = int(lo)
        if hi != hi:
            return f"{lo_i}+"
        return str(lo_i) if int(hi) - 1 == lo_i else f"{lo_i}-{int(hi) - 1}"
    return f"≥ {lo:,.2f}" if hi != hi else f"{lo:,.2f} - {hi:,.2f}"


def interval_table(
    events,
    *,
    from_event: str,
    to_event: str,
    window_hours: float | None = None,
    group_col: str | None = None,
    user_col: str = "user_id",
    ts_col: str = "ts",
    event_col: str = "event",
) -> pd.DataFrame:
    """Time from each user's first ``from_event`` to their first ``to_event`` strictly after it.

    Parameters
    ----------
    window_hours : only a ``to_event`` within this many hours counts as converted (``None``: any time).
    group_col : group users by this column's value on their first ``from_event`` row.

    Returns
    -------
    DataFrame, one row per group (``group`` is ``"all"`` without ``group_col``, and a last ``"all"`` row
    with it): ``users`` (did ``from_event``), ``converted_share`` (share with a ``to_event`` in the window),
    ``p10``, ``p25``, ``p50``, ``p75``, ``p90`` and ``mean_hours`` of the hours to convert, over the
    converted users (linear-interpolated percentiles; NaN when nobody converted).
    """
    t = as_table(events)
    need = [user_col, ts_col, event_col] + ([group_col] if group_col else [])
    missing = [c for c in need if c not in t.columns]
    if missing:
        raise MissingColumnError("events", missing[0], t.columns, hint="interval_table needs it")
    if window_hours is not None and not window_hours > 0:
        raise ValueError(f"interval window_hours must be positive, got {window_hours!r}")
    a = t.filter(t[event_col] == from_event)
    a = a.group_by(a[user_col].name("_u")).aggregate(
        _ta=a[ts_col].min(), **({"_g": a[group_col].argmin(a[ts_col])} if group_col else {})
    )
    if group_col:  # a missing group value is a group of its own, named like the other reports name it
        a = a.mutate(_g=a["_g"].cast("string").fill_null(_t("common.no_value")))
    b = t.filter(t[event_col] == to_event).select(_ub=t[user_col], _tb=t[ts_col])
    j = a.join(b, (a["_u"] == b["_ub"]) & (b["_tb"] > a["_ta"]))
    first_b = j.group_by("_u").aggregate(_tb=j["_tb"].min())
    both = a.left_join(first_b, a["_u"] == first_b["_u"]).select(
        a["_u"], a["_ta"], first_b["_tb"], *([a["_g"]] if group_col else [])
    )
    both = both.mutate(_h=(both["_tb"].epoch_seconds() - both["_ta"].epoch_seconds()) / 3600.0)
    if window_hours is not None:
        both = both.mutate(_h=ibis.ifelse(both["_h"] <= window_hours, both["_h"], ibis.null("float64")))
    agg = both.group_by(["_g"] if group_col else []).aggregate(users=both["_u"].count()) if group_col else None
    users = agg.to_pandas() if agg is not None else pd.DataFrame({"users": [both.count().to_pandas()]})
    conv = both.filter(both["_h"].notnull()).select("_h", *(["_g"] if group_col else [])).to_pandas()
    rows = []
    if group_col:
        for g in sorted(users["_g"].tolist(), key=str):
            n = int(users.loc[users["_g"] == g, "users"].iloc[0])
            rows.append(_interval_row(g, n, conv.loc[conv["_g"] == g, "_h"].to_numpy(dtype=float)))
    rows.append(_interval_row("all", int(users["users"].sum()), conv["_h"].to_numpy(dtype=float)))
    return pd.DataFrame(rows)


def _interval_row(group, users: int, hours: np.ndarray) -> dict:
    row: dict = {"group": group, "users": users, "converted_share": len(hours) / users if users else math.nan}
    for q in (10, 25, 50, 75, 90):
        row[f"p{q}"] = float(np.percentile(hours, q)) if len(hours) else math.nan
    row["mean_hours"] = float(hours.mean()) if len(hours) else math.nan
    return row
