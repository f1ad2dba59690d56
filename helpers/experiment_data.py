"""Per-user data of an A/B experiment: assignment, exposure and per-user per-day metric counts on Ibis
(DuckDB or Spark); the statistics are in helpers/abstats.py, the report in helpers/experiment.py.

Rules (docs/experiment.md)
--------------------------
- A user's variant comes from a users column, an event property or an assignments file. A user with more
  than one distinct variant is excluded (and counted).
- A user's *exposure* is their first ``exposure_event`` in the test window ``[start, end + 1 day)``; without an
  exposure event it is the later of the test start and the assignment time (when known). Users assigned but
  never exposed are not analysed (and counted).
- Metric events count from the exposure time (inclusive) to the end of the test; a conversion metric with
  ``window_hours`` only within that many hours of the exposure.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from .engine import as_table, money_sum, money_total
from .errors import MissingColumnError

__all__ = [
    "check_columns",
    "money_metrics",
    "clean_assignments",
    "first_exposure",
    "user_day_counts",
    "pre_period_counts",
    "metric_values",
]


def clean_assignments(assign: pd.DataFrame, *, variant_col: str = "variant") -> tuple[pd.DataFrame, int]:
    """One row per user with exactly one distinct variant; users with several are dropped.

    Parameters
    ----------
    assign : ``user_id``, ``variant_col``, optional ``assigned_at`` (rows with a missing variant are ignored).

    Returns
    -------
    (DataFrame ``user_id``, ``variant`` (text; empty text counts as missing), ``assigned_at`` (earliest, NaT
    when unknown), number of users excluded for being in several variants)
    """
    a = assign.dropna(subset=[variant_col]).rename(columns={variant_col: "variant"})
    a = a[a["variant"].astype(str).str.strip() != ""]
    a = a.assign(variant=a["variant"].astype(str))
    if "assigned_at" not in a:
        a["assigned_at"] = pd.NaT
    a["assigned_at"] = pd.to_datetime(a["assigned_at"])
    g = a.groupby("user_id", sort=True).agg(n=("variant", "nunique"), variant=("variant", "first"),
                                            assigned_at=("assigned_at", "min"))  # fmt: skip
    multi = int((g["n"] > 1).sum())
    return g[g["n"] == 1].drop(columns="n").reset_index(), multi


def first_exposure(events, event: str, *, start, end_exclusive, ts_col: str = "ts", user_col: str = "user_id",
                   event_col: str = "event") -> pd.DataFrame:  # fmt: skip
    """Each user's first ``event`` in ``[start, end_exclusive)``: DataFrame ``user_id``, ``exposed_at``."""
    t = as_table(events)
    t = t.filter((t[event_col] == event) & (t[ts_col] >= pd.Timestamp(start).to_pydatetime())
                 & (t[ts_col] < pd.Timestamp(end_exclusive).to_pydatetime()))  # fmt: skip
    df = t.group_by(user_id=t[user_col]).aggregate(exposed_at=t[ts_col].min()).to_pandas()
    df["exposed_at"] = pd.to_datetime(df["exposed_at"]).astype("datetime64[us]")
    return df


def _joined(events, expo: pd.DataFrame, *, ts_col: str, user_col: str):
    t = as_table(events)
    e = ibis.memtable(
        pd.DataFrame({"_uid": expo["user_id"].astype(str), "_exp": expo["exposed_at"].astype("datetime64[us]")})
    )
    j = t.join(e, t[user_col].cast("string") == e["_uid"])
    return j


def user_day_counts(
    events,
    expo: pd.DataFrame,
    *,
    event_names: list[str],
    end_exclusive,
    window_hours: float | None = None,
    amount_col: str | None = None,
    ts_col: str = "ts",
    user_col: str = "user_id",
    event_col: str = "event",
) -> pd.DataFrame:
    """Events of ``event_names`` (every event when empty) per user and calendar day, from each user's exposure
    (``expo``: ``user_id``, ``exposed_at``) to ``end_exclusive`` (and within ``window_hours`` of it when given).

    Returns
    -------
    DataFrame ``user_id``, ``day`` (date as datetime64), ``n`` (events), ``amount`` (sum of ``amount_col``; 0
    without one).
    """
    t = as_table(events)
    if event_names:
        t = t.filter(t[event_col].isin(list(event_names)))
    j = _joined(t, expo, ts_col=ts_col, user_col=user_col)
    cond = (j[ts_col] >= j["_exp"]) & (j[ts_col] < pd.Timestamp(end_exclusive).to_pydatetime())
    if window_hours:
        cond &= j[ts_col] < j["_exp"] + ibis.interval(seconds=int(round(window_hours * 3600)))
    j = j.filter(cond)
    amt = money_sum(j[amount_col]) if amount_col else ibis.literal(0.0)  # exact: docs/experiment.md
    df = j.group_by(user_id=j["_uid"], day=j[ts_col].date()).aggregate(n=j.count(), amount=amt).to_pandas()
    df["day"] = pd.to_datetime(df["day"])
    df["amount"] = df["amount"].astype(float).fillna(0.0)
    return df


def pre_period_counts(
    events,
    expo: pd.DataFrame,
    *,
    event_names: list[str],
    days: int,
    window_hours: float | None = None,
    amount_col: str | None = None,
    ts_col: str = "ts",
    user_col: str = "user_id",
    event_col: str = "event",
) -> pd.DataFrame:
    """The same counts over the ``days`` days before each user's exposure (the CUPED covariate window).

    Returns
    -------
    DataFrame ``user_id``, ``n``, ``amount``, ``first_ts`` (first such event in the window).
    """
    t = as_table(events)
    if event_names:
        t = t.filter(t[event_col].isin(list(event_names)))
    j = _joined(t, expo, ts_col=ts_col, user_col=user_col)
    j = j.filter((j[ts_col] < j["_exp"]) & (j[ts_col] >= j["_exp"] - ibis.interval(days=int(days))))
    amt = money_sum(j[amount_col]) if amount_col else ibis.literal(0.0)  # exact: docs/experiment.md
    df = j.group_by(user_id=j["_uid"]).aggregate(n=j.count(), amount=amt).to_pandas()
    df["amount"] = df["amount"].astype(float).fillna(0.0)
    return df


def metric_values(kind: str, daily: pd.DataFrame, users: pd.DataFrame, *, through, day: int | None = None) -> pd.Series:
    """Per-user values of a metric from :func:`user_day_counts`, counting days up to ``through`` (inclusive).

    ``users``: ``user_id``, ``exposed_at``; users without events get 0. ``conversion`` is 1 when the user has
    an event; ``count`` the events; ``revenue`` the amount; ``retention`` 1 when the user has an event on
    calendar day ``exposure day + day``, NaN (censored) when that day is after ``through``.

    Returns
    -------
    Series indexed like ``users`` (float).
    """
    through = pd.Timestamp(through).normalize()
    d = daily[daily["day"] <= through]
    uid = users["user_id"].astype(str)
    if kind == "retention":
        target = pd.to_datetime(users["exposed_at"]).dt.normalize() + pd.Timedelta(days=int(day or 0))
        hit = set(zip(d["user_id"].astype(str), d["day"], strict=True))
        vals = np.array([float((u, t) in hit) for u, t in zip(uid, target, strict=True)])
        vals[(target > through).to_numpy()] = np.nan
        return pd.Series(vals, index=users.index)
    col = "amount" if kind == "revenue" else "n"
    keys = d["user_id"].astype(str)
    per = money_total(d[col], keys) if kind == "revenue" else d.groupby(keys)[col].sum()
    v = uid.map(per).fillna(0.0).astype(float)
    if kind == "conversion":
        v = (v > 0).astype(float) if col == "n" else v
    return pd.Series(v.to_numpy(), index=users.index)


def check_columns(events, columns: list[str], *, what: str) -> None:
    """Raise :class:`MissingColumnError` naming the experiment parameter when an events column is missing."""
    t = as_table(events)
    for c in columns:
        if c and c not in t.columns:
            raise MissingColumnError("events", c, t.columns, hint=f"it is used by {what}")


def money_metrics(metrics) -> tuple[str, ...]:
    """The names of the experiment metrics whose values are amounts: ``revenue`` (per user), and a ``ratio`` of a
    revenue metric over a count (revenue per order); a ratio of two revenues is a plain ratio."""
    kind = {m.name: m.kind for m in metrics}
    per_count = lambda m: kind.get(m.numerator) == "revenue" and kind.get(m.denominator) != "revenue"  # noqa: E731
    return tuple(m.name for m in metrics if m.kind == "revenue" or (m.kind == "ratio" and per_count(m)))
