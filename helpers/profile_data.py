"""The user profile table (用户画像) without its tags: one row per user joining static attributes, behaviour
facts, and the other reports' per-user tables (RFM segment, cluster, churn risk, review sentiment) when they are
current. The tags (helpers/tags.py) are applied on top of it by the user profile report and by the reports that
break down by a tag. Columns: docs/user_profile.md (checked against ``helpers.tag_grammar.PROFILE_COLUMNS``).
"""

from __future__ import annotations

import ibis
import pandas as pd

from .base import report_table
from .engine import as_table
from .errors import MissingColumnError
from .tag_grammar import PROFILE_COLUMNS

__all__ = ["SOURCES", "preferred_values", "load_source", "profile_table", "campaign_profile"]

#: other reports' per-user tables joined by the profile: report -> (its table, {its column: profile column}).
#: They are read through :func:`helpers.base.report_table` (checked to be current), never by file name.
SOURCES: dict[str, tuple[str, dict[str, str]]] = {
    "rfm": ("membership", {"segment": "rfm_segment", "rfm_code": "rfm_code"}),
    "clustering": ("membership", {"cluster": "cluster", "cluster_name": "cluster_name"}),
    "churn": ("at_risk", {"churn_probability": "churn_probability", "risk_band": "churn_risk_band"}),
    "sentiment": ("users", {"positive_share": "review_positive_share", "reviews": "reviews_written"}),
}


def preferred_values(events, *, column: str, amount_col: str = "amount", user_col: str = "user_id") -> pd.DataFrame:
    """Per user: ``preferred_<column>`` (most frequent value, ties to the smallest value) and, when an
    amount column exists, ``median_price`` of the user's events with an amount."""
    t = as_table(events)
    out = None
    if column in t.columns:
        f = t.filter(t[column].notnull())
        g = f.group_by([f[user_col].cast("string").name("user_id"), f[column].cast("string").name("_v")]).aggregate(
            _n=f.count()
        )
        w = ibis.window(group_by=g["user_id"], order_by=[ibis.desc(g["_n"]), g["_v"]])
        g = g.mutate(_rn=ibis.row_number().over(w))
        g = g.filter(g["_rn"] == 0)
        out = g.select("user_id", **{f"preferred_{column}": g["_v"]}).to_pandas()
    if amount_col in t.columns:
        f = t.filter(t[amount_col].notnull())
        p = f.group_by(user_id=f[user_col].cast("string")).aggregate(median_price=f[amount_col].median()).to_pandas()
        out = p if out is None else out.merge(p, on="user_id", how="outer")
    return out if out is not None else pd.DataFrame(columns=["user_id"])


def load_source(ctx, name: str) -> pd.DataFrame | None:
    """Report ``name``'s per-user table (see :data:`SOURCES`) with the profile's column names, or None when
    it is missing or not current (:func:`helpers.base.report_table` records why in ``ctx.upstream_problems``).

    Returns
    -------
    DataFrame ``user_id`` (text) and the source's profile columns that its table has.
    """
    table, cols = SOURCES[name]
    df = report_table(ctx, name, table, required=False)
    if df is None:
        return None
    if "user_id" not in df.columns:
        raise MissingColumnError(
            f"{name} {table}",
            "user_id",
            df.columns,
            hint=f"rerun the {name} report: its {table!r} table has one row per user",
        )
    keep = {k: v for k, v in cols.items() if k in df.columns}
    return df[["user_id", *keep]].rename(columns=keep)


def profile_table(
    features: pd.DataFrame,
    *,
    users: pd.DataFrame | None = None,
    preferred: pd.DataFrame | None = None,
    memberships: dict[str, pd.DataFrame | None] | None = None,
) -> pd.DataFrame:
    """Join everything known per user (one row per user of ``features``), without the tags.

    Returns
    -------
    DataFrame ``user_id``; ``n_events``, ``active_days``, ``days_since_last_event``, ``n_orders``, ``spend``,
    ``preferred_hour``, ``buyer`` (``n_orders > 0``); user attributes (channel, city, age, gender, signup_ts when
    a users table exists); ``preferred_category``, ``median_price``; ``rfm_segment``, ``rfm_code``, ``cluster``,
    ``cluster_name``, ``churn_probability``, ``churn_risk_band``, ``review_positive_share``, ``reviews_written``
    (from ``memberships``, see :func:`load_source`; empty when that source is None). Every column of
    :data:`helpers.tag_grammar.PROFILE_COLUMNS` is present (empty when unknown).
    """
    base_cols = [
        c
        for c in ("user_id", "n_events", "active_days", "days_since_last_event", "n_orders", "spend", "preferred_hour")
        if c in features
    ]
    out = features[base_cols].copy()
    out["buyer"] = (features["n_orders"] > 0).to_numpy() if "n_orders" in features else False
    if users is not None and len(users):
        u = users.copy()
        u["user_id"] = u["user_id"].astype(str)
        attrs = [c for c in ("channel", "city", "age", "gender", "signup_ts") if c in u]
        out = out.merge(u[["user_id", *attrs]].drop_duplicates("user_id"), on="user_id", how="left")
    if preferred is not None and len(preferred):
        out = out.merge(preferred, on="user_id", how="left")
    for name, (_, cols) in SOURCES.items():
        m = (memberships or {}).get(name)
        if m is not None:
            out = out.merge(m.drop_duplicates("user_id"), on="user_id", how="left")
        else:
            for c in cols.values():
                out[c] = pd.NA
    for c in PROFILE_COLUMNS:  # every column a tag condition may name, empty when unknown
        if c not in out:
            out[c] = pd.NA
    return out.sort_values("user_id", ignore_index=True)


def campaign_profile(ctx) -> tuple[pd.DataFrame, dict, dict, str]:
    """The profile table of a campaign without tags, built from its clean tables and the other reports'
    current tables. Returns ``(table, sources, source_problems, purchases)``: ``sources`` says which sources
    were joined, ``source_problems`` why the others were not, ``purchases`` where purchases come from."""
    from .features import campaign_orders, user_features

    ev = ctx.table("events")
    orders, purchases = campaign_orders(ctx)  # the campaign's purchase definition, as RFM's
    feats = user_features(ev, orders=orders, buy_events=(), returns=ctx.cfg.rfm.returns)
    users = ctx.df("users") if ctx.has("users") else None
    pref = preferred_values(ev, column="category")
    mem = {name: load_source(ctx, name) for name in SOURCES}
    problems = getattr(ctx, "upstream_problems", None) or {}
    sources = {"users table": users is not None, **{k: v is not None for k, v in mem.items()}}
    table = profile_table(feats, users=users, preferred=pref, memberships=mem)
    why = {k: problems.get(k, "reason not recorded") for k, v in mem.items() if v is None}
    return table, sources, why, purchases or ""
