"""The user profile (用户画像) table: one row per user joining static attributes, behaviour tags, RFM segment,
cluster, and churn risk / review sentiment when those reports have run. Columns: docs/user_profile.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import ibis
import numpy as np
import pandas as pd

from .base import Report, ReportUnavailable, Unavailable, report_table
from .engine import as_table
from .errors import MissingColumnError
from .privacy import file_frame, page_frame
from .sections import PrivacyParams

__all__ = [
    "SOURCES",
    "behaviour_tags",
    "preferred_values",
    "load_source",
    "profile_table",
    "ProfileReport",
    "run_user_profile",
]

#: other reports' per-user tables joined by the profile: report -> (its table, {its column: profile column}).
#: They are read through :func:`helpers.base.report_table` (checked to be current), never by file name.
SOURCES: dict[str, tuple[str, dict[str, str]]] = {
    "rfm": ("membership", {"segment": "rfm_segment", "rfm_code": "rfm_code"}),
    "clustering": ("membership", {"cluster": "cluster", "cluster_name": "cluster_name"}),
    "churn": ("at_risk", {"churn_probability": "churn_probability", "risk_band": "churn_risk_band"}),
    "sentiment": ("users", {"positive_share": "review_positive_share", "reviews": "reviews_written"}),
}
#: how the findings name each source
_SOURCE_LABELS = {"rfm": "RFM 分群", "clustering": "聚类", "churn": "流失预警", "sentiment": "评论情感"}


def _tiers(values: pd.Series, labels: tuple[str, str, str]) -> pd.Series:
    """Low / medium / high thirds by rank (ties to the lower third); NaN stays NaN."""
    v = values.astype(float)
    ok = v.notna()
    out = pd.Series(pd.NA, index=v.index, dtype=object)
    if ok.sum() == 0:
        return out
    r = v[ok].rank(method="min", pct=True)
    out[ok] = np.where(r <= 1 / 3, labels[0], np.where(r <= 2 / 3, labels[1], labels[2]))
    return out


def behaviour_tags(features: pd.DataFrame) -> pd.DataFrame:
    """Tags from the feature table: ``activity_level`` (低/中/高活跃: thirds of active days), ``active_hours``
    (凌晨 0-5, 上午 6-11, 下午 12-17, 晚上 18-23 of the preferred hour), ``buyer`` (has bought)."""
    out = pd.DataFrame({"user_id": features["user_id"]})
    out["activity_level"] = _tiers(features["active_days"], ("低活跃 low", "中活跃 medium", "高活跃 high"))
    h = features["preferred_hour"]
    out["active_hours"] = pd.cut(
        h, bins=[-1, 5, 11, 17, 23], labels=["凌晨 night", "上午 morning", "下午 afternoon", "晚上 evening"]
    ).astype(object)
    out["buyer"] = (features["n_orders"] > 0) if "n_orders" in features else False
    return out


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
    """Join everything known per user (one row per user of ``features``).

    Returns
    -------
    DataFrame ``user_id``; user attributes (channel, city, age, gender, signup_ts when a users table
    exists); ``n_events``, ``active_days``, ``days_since_last_event``, ``n_orders``, ``spend``; tags
    ``activity_level``, ``active_hours``, ``buyer``, ``preferred_category``, ``price_band`` (thirds of
    ``median_price``); ``rfm_segment``, ``rfm_code``, ``cluster``, ``cluster_name``, ``churn_probability``,
    ``churn_risk_band``, ``review_positive_share``, ``reviews_written`` (from ``memberships``, see
    :func:`load_source`; empty when that source is None).
    """
    base_cols = [
        c for c in ("user_id", "n_events", "active_days", "days_since_last_event", "n_orders", "spend") if c in features
    ]
    out = features[base_cols].merge(behaviour_tags(features), on="user_id", how="left")
    if users is not None and len(users):
        u = users.copy()
        u["user_id"] = u["user_id"].astype(str)
        attrs = [c for c in ("channel", "city", "age", "gender", "signup_ts") if c in u]
        out = out.merge(u[["user_id", *attrs]].drop_duplicates("user_id"), on="user_id", how="left")
    if preferred is not None and len(preferred):
        out = out.merge(preferred, on="user_id", how="left")
        if "median_price" in out:
            out["price_band"] = _tiers(out["median_price"], ("低价位 low", "中价位 mid", "高价位 high"))
    for name, (_, cols) in SOURCES.items():
        m = (memberships or {}).get(name)
        if m is not None:
            out = out.merge(m.drop_duplicates("user_id"), on="user_id", how="left")
        else:
            for c in cols.values():
                out[c] = pd.NA
    return out.sort_values("user_id", ignore_index=True)


# ------------------------------------------------------------------------------------------- report
@dataclass(repr=False)
class ProfileReport(Report):
    """The user profile report. Frames: ``table`` (one row per user, :func:`profile_table`); ``sources``
    says which sources were joined and ``source_problems`` why the others were not."""

    name: ClassVar[str] = "user_profile"
    title: ClassVar[str] = "用户画像 User profile"
    parts: ClassVar[tuple[str, ...]] = ("tags", "sample")
    reads: ClassVar[tuple[str, ...]] = ("rfm", "clustering", "churn", "sentiment")
    table_names: ClassVar[tuple[str, ...]] = ("table",)
    result_keys: ClassVar[tuple[str, ...]] = ("users", "columns", "sources", "distributions")
    unavailable_label: ClassVar[str] = "无法生成画像 No profile"

    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: ``{"users table": joined?, report: joined?}``
    sources: dict = field(default_factory=dict)
    #: ``{report: why its table was not joined}`` for the reports not joined
    source_problems: dict = field(default_factory=dict)
    #: where buyers, orders and spend come from (:func:`helpers.features.campaign_orders`): "orders" or
    #: "events [buy, pay]" (the campaign's ``rfm.buy_events``)
    purchases: str = ""
    #: the campaign's ``privacy`` section: ``hide_columns`` never shown, and left out of the files unless
    #: ``hide_in_files`` is false (``table`` itself keeps every column for the analyst)
    privacy: PrivacyParams = field(default_factory=PrivacyParams)

    @classmethod
    def compute(cls, ctx) -> ProfileReport:
        """The profile table of a campaign; joins the other reports' tables that are current."""
        from .features import campaign_orders, user_features

        if not ctx.has("events"):
            raise ReportUnavailable("这个活动没有事件表 the campaign has no events table")
        ev = ctx.table("events")
        orders, purchases = campaign_orders(ctx)  # the campaign's purchase definition, as RFM's
        feats = user_features(ev, orders=orders, buy_events=(), returns=ctx.cfg.rfm.returns)
        users = ctx.df("users") if ctx.has("users") else None
        pref = preferred_values(ev, column="category")
        mem = {name: load_source(ctx, name) for name in SOURCES}
        problems = getattr(ctx, "upstream_problems", None) or {}
        sources = {"users table": users is not None, **{k: v is not None for k, v in mem.items()}}
        return cls(
            table=profile_table(feats, users=users, preferred=pref, memberships=mem),
            sources=sources,
            source_problems={k: problems.get(k, "reason not recorded") for k, v in mem.items() if v is None},
            purchases=purchases or "",
            privacy=ctx.cfg.privacy,
        )

    def to_results(self) -> dict:
        """The report-specific part of ``results/user_profile.json`` (docs/user_profile.md)."""
        t = self.table
        tags = ("activity_level", "active_hours", "price_band", "rfm_segment", "cluster_name", "churn_risk_band")
        dist = {c: t[c].value_counts(dropna=True).to_dict() for c in tags if c in t and t[c].notna().any()}
        return self._results(users=int(len(t)), columns=list(t.columns), sources=self.sources, distributions=dist)

    def findings(self) -> list[str]:
        """Key findings in plain words and numbers; every source not joined is named with the reason."""
        from .fmt import fmt_int, fmt_pct

        t = self.table
        out = [f"{fmt_int(len(t))} 位用户的画像表 profile rows, {len(t.columns)} 列 columns."]
        used = [k for k, v in self.sources.items() if v]
        line = f"已合并 joined: {', '.join(used) or '—'}"
        if not self.sources.get("users table", True):
            line += "; 没有用户表 no users table (no channel, city, age, gender)"
        out.append(line + ".")
        for name, why in self.source_problems.items():
            cols = ", ".join(SOURCES[name][1].values())
            out.append(
                f"{_SOURCE_LABELS[name]} {name}: not available ({why.rstrip('.')}); 这些列为空 "
                f"these columns are empty: {cols}."
            )
        if "activity_level" in t:
            hi = (t["activity_level"] == "高活跃 high").mean()
            out.append(
                f"高活跃用户 highly active users: {fmt_pct(hi)}; 买过的用户 buyers{_purchases_note(self.purchases)}: "
                f"{fmt_pct(t['buyer'].mean())}."
            )
        if "preferred_category" in t and t["preferred_category"].notna().any():
            top = t["preferred_category"].value_counts().head(3)
            out.append(
                "最常偏好的品类 most preferred categories: "
                + ", ".join(f"{k} ({fmt_pct(v / len(t))})" for k, v in top.items())
                + "."
            )
        return out

    def headline(self) -> list[dict]:
        """Headline numbers for the index page."""
        from .fmt import fmt_int
        from .report import headline

        return [headline("profiled users 画像用户", int(len(self.table)), fmt_int(len(self.table)))]

    def tables(self) -> dict[str, pd.DataFrame]:
        """``table``: the whole profile table (without ``privacy.hide_columns`` unless ``hide_in_files`` is false)."""
        return {"table": file_frame(self.table, self.privacy)}

    def export(self, ctx) -> list[Path]:
        """Write ``results/user_profile.parquet`` (the CSV is one of :meth:`tables`); return its path."""
        p = ctx.paths.file("results/user_profile.parquet")
        file_frame(self.table, self.privacy).to_parquet(p, index=False)
        return [p]

    def _show(self, part: str):
        from .fmt import style_table

        t = self.table
        if part == "sample":
            return style_table(
                page_frame(t.head(12), self.privacy),  # never privacy.hide_columns
                int_cols=["n_events", "active_days", "n_orders"],
                num_cols=[
                    "days_since_last_event",
                    "spend",
                    "median_price",
                    "churn_probability",
                    "review_positive_share",
                ],
            )
        import matplotlib.pyplot as plt  # "tags"

        tags = ("activity_level", "active_hours", "price_band", "rfm_segment")
        cols = [c for c in tags if c in t and t[c].notna().any()]
        fig, axes = plt.subplots(1, len(cols), figsize=(4.2 * len(cols), 4))
        axes = np.atleast_1d(axes)
        for ax, c in zip(axes, cols):
            vc = t[c].value_counts()
            ax.barh(range(len(vc))[::-1], vc.to_numpy(), color="C0")
            ax.set_yticks(range(len(vc))[::-1], vc.index.astype(str), fontsize=8)
            ax.set_title(c)
            ax.set_xlabel("用户数 users")
            ax.set_ylabel("标签 tag")
        fig.suptitle("画像标签分布 Profile tags")
        return fig


def _purchases_note(purchases: str) -> str:
    """How the findings name the purchase definition: `` (orders table)`` or `` (events [buy, pay])``."""
    return "" if not purchases else " (orders table)" if purchases == "orders" else f" ({purchases})"


def run_user_profile(ctx) -> ProfileReport | Unavailable:
    """:meth:`ProfileReport.run`: the user profile report of a campaign (or its Unavailable twin)."""
    return ProfileReport.run(ctx)
