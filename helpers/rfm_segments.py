"""RFM segments: the 11 named segments on the R and FM scores, the Chinese 8-class scheme (重要价值客户 …),
an action per segment, segment summaries, the R x F heatmap, and their charts.

They work on the scored per-customer table of :func:`helpers.rfm.rfm_scores` (docs/rfm.md has every rule).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
import pandas as pd

from .i18n import label, t

__all__ = [
    "NAMED_RULES",
    "CN8",
    "CN8_ORDER",
    "ACTIONS",
    "segment_label",
    "segment_action",
    "named_rules_table",
    "segment_named",
    "segment_cn8",
    "segment_summary",
    "rf_heatmap",
    "plot_segments",
    "plot_rf_heatmap",
]


# -------------------------------------------------------------------------------------------- segments
#: The 11 named segments on the R score and the FM score (mean of F and M scores, so x.5 values occur):
#: (segment, 中文, R range, FM range), closed intervals, first matching rule wins, else "Others".
#: The common R/FM table, ordered so that every segment is reachable on the 1-5 scale, with or without M
#: (docs/rfm.md).
NAMED_RULES = (
    ("Champions", "冠军客户", (4, 5), (4, 5)),
    ("Loyal", "忠诚客户", (2, 5), (3, 5)),
    ("New", "新客户", (4, 5), (1, 1)),
    ("Promising", "有潜力客户", (3, 4), (1, 1)),
    ("Potential Loyalist", "潜在忠诚客户", (3, 5), (1, 3)),
    ("Need Attention", "需要关注客户", (2, 3), (2, 3)),
    ("About To Sleep", "即将沉睡客户", (2, 3), (1, 2)),
    ("Can't Lose Them", "不能失去的客户", (1, 1), (4, 5)),
    ("Lost", "已流失客户", (1, 1), (1, 1)),
    ("Hibernating", "休眠客户", (1, 2), (1, 2)),
    ("At Risk", "有流失风险客户", (1, 2), (2, 5)),
)

#: Chinese 8-class scheme: (R high, F high, M high) -> segment. R high = more recent than the mean.
CN8 = {
    (True, True, True): "重要价值客户",
    (True, False, True): "重要发展客户",
    (False, True, True): "重要保持客户",
    (False, False, True): "重要挽留客户",
    (True, True, False): "一般价值客户",
    (True, False, False): "一般发展客户",
    (False, True, False): "一般保持客户",
    (False, False, False): "一般挽留客户",
}
CN8_ORDER = tuple(CN8.values())


def segment_label(segment: object) -> str:
    """The name a page shows for a segment (machine value ``segment`` stays in CSVs), in the current language."""
    return label(f"rfm.segment.{segment}", str(segment))


def segment_action(segment: object) -> str:
    """The recommended action for a segment, in the current language ("" for an unknown segment)."""
    return label(f"rfm.action.{segment}", "")


class _Actions(Mapping[str, str]):
    """Recommended action per segment, read from the message catalogue in the current language."""

    def __getitem__(self, segment: str) -> str:
        if segment not in self._names():
            raise KeyError(segment)
        return segment_action(segment)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    @staticmethod
    def _names() -> list[str]:
        return [r[0] for r in NAMED_RULES] + ["Others", *CN8_ORDER]


#: Recommended action per segment (helpers/messages/rfm_segments.yaml, in the current language).
ACTIONS: Mapping[str, str] = _Actions()


def named_rules_table() -> pd.DataFrame:
    """The 11 named segments' rules as a table: ``order`` (first match wins), ``segment``, ``label`` (the name
    pages show), ``r_score`` and ``fm_score`` (closed ranges as text), ``action``."""
    return pd.DataFrame(
        [
            {
                "order": i + 1,
                "segment": n,
                "label": segment_label(n),
                "r_score": f"{r[0]}–{r[1]}",
                "fm_score": f"{f[0]}–{f[1]}",
                "action": segment_action(n),
            }
            for i, (n, _zh, r, f) in enumerate(NAMED_RULES)
        ]
    )


def segment_named(scored: pd.DataFrame, *, r_col: str = "r_score", fm_col: str = "fm_score") -> pd.Series:
    """The 11 named segments: the first rule of :data:`NAMED_RULES` whose R and FM ranges (closed) hold;
    ``Others`` when none does (or a score is missing).

    Returns
    -------
    pandas.Series of segment names aligned with ``scored``.
    """
    r = pd.to_numeric(scored[r_col], errors="coerce").astype(float)
    fm = pd.to_numeric(scored[fm_col], errors="coerce").astype(float)
    seg = pd.Series("Others", index=scored.index, dtype=object)
    done = pd.Series(False, index=scored.index)
    for name, _, (rlo, rhi), (flo, fhi) in NAMED_RULES:
        hit = ~done & r.between(rlo, rhi) & fm.between(flo, fhi)
        seg[hit] = name
        done |= hit
    return seg


def segment_cn8(
    table: pd.DataFrame, *, r_col: str = "recency_days", f_col: str = "frequency", m_col: str = "monetary"
) -> pd.Series:
    """The Chinese 8-class scheme on the raw R/F/M values against their means over all customers.

    R high = ``recency_days`` strictly below the mean (more recent than average: low days = high value);
    F high = ``frequency`` strictly above the mean; M high = ``monetary`` strictly above the mean. Equal to
    the mean counts as low. Without amounts (all M missing) F stands in for M, so only 重要价值/重要保持/
    一般发展/一般挽留 occur.

    Returns
    -------
    pandas.Series of segment names (:data:`CN8`) aligned with ``table``.
    """
    r = table[r_col].astype(float)
    f = table[f_col].astype(float)
    m = table[m_col].astype(float) if table[m_col].notna().any() else f
    m = m.fillna(0.0)
    r_high, f_high, m_high = r < r.mean(), f > f.mean(), m > m.mean()
    return pd.Series([CN8[(a, b, c)] for a, b, c in zip(r_high, f_high, m_high)], index=table.index, dtype=object)


def segment_summary(seg: pd.DataFrame, *, scheme: str, segment_col: str = "segment") -> pd.DataFrame:
    """Per segment of a scheme, every segment of the scheme listed (0 users when empty; ``Others`` only when
    used), in rule order (named11) or the fixed 8-class order (cn8).

    Returns
    -------
    pandas.DataFrame
        ``segment``; ``label`` (the name pages show, current language); ``users``; ``share`` (of customers);
        ``revenue`` (sum of M; NaN without amounts); ``revenue_share``; ``mean_r`` (days), ``mean_f`` (orders),
        ``mean_m``; with BG/NBD columns in ``seg``: ``mean_p_alive_repeat`` (mean P(alive) of the segment's
        repeat buyers, customers with 2+ purchase days; NaN when it has none: one-day buyers are alive by the model's
        convention), ``expected_purchases`` (mean per customer over the
        horizon); ``action``.
    """
    if scheme == "named11":
        names = [r[0] for r in NAMED_RULES] + ["Others"]
    elif scheme == "cn8":
        names = list(CN8_ORDER)
    else:
        raise ValueError(f"scheme must be 'named11' or 'cn8' (params: rfm.scheme), got {scheme!r}")
    g = seg.groupby(segment_col, sort=False)
    agg = pd.DataFrame(
        {
            "users": g.size(),
            "revenue": g["monetary"].sum(min_count=1),
            "mean_r": g["recency_days"].mean(),
            "mean_f": g["frequency"].mean(),
            "mean_m": g["monetary"].mean(),
        }
    )
    bg = "p_alive" in seg and seg["p_alive"].notna().any()
    if bg:
        rep = seg["p_alive"].where(seg["purchase_days"] > 1) if "purchase_days" in seg else seg["p_alive"]
        agg["mean_p_alive_repeat"] = rep.groupby(seg[segment_col], sort=False).mean()
        agg["expected_purchases"] = g["expected_purchases"].mean()
    keep = [n for n in names if n != "Others" or n in agg.index]
    out = agg.reindex(keep).rename_axis("segment").reset_index()
    out["users"] = out["users"].fillna(0).astype("int64")
    total = out["users"].sum()
    out["share"] = out["users"] / total if total else np.nan
    rev_total = out["revenue"].sum(min_count=1)
    out["revenue_share"] = out["revenue"] / rev_total if pd.notna(rev_total) and rev_total != 0 else np.nan
    out.insert(1, "label", out["segment"].map(segment_label))
    out["action"] = out["segment"].map(segment_action)
    cols = ["segment", "label", "users", "share", "revenue", "revenue_share", "mean_r", "mean_f", "mean_m"]
    cols += ["mean_p_alive_repeat", "expected_purchases"] if bg else []
    return out[cols + ["action"]]


def rf_heatmap(scored: pd.DataFrame, *, value: str = "users") -> pd.DataFrame:
    """R score (rows, 5 on top) x F score (columns 1..5) matrix of customer counts (``value='users'``,
    0 for empty cells) or mean monetary value (``value='monetary'``, NaN for empty cells).

    Returns
    -------
    pandas.DataFrame indexed by ``r_score`` 5..1 with columns ``f_score`` 1..5.
    """
    r = scored["r_score"].astype(int)
    f = scored["f_score"].astype(int)
    if value == "users":
        m = pd.crosstab(r, f)
        return m.reindex(index=[5, 4, 3, 2, 1], columns=[1, 2, 3, 4, 5], fill_value=0).rename_axis(
            index="r_score", columns="f_score"
        )
    if value == "monetary":
        m = scored.assign(_r=r, _f=f).pivot_table(index="_r", columns="_f", values="monetary", aggfunc="mean")
        return m.reindex(index=[5, 4, 3, 2, 1], columns=[1, 2, 3, 4, 5]).rename_axis(index="r_score", columns="f_score")
    raise ValueError(f"value must be 'users' or 'monetary', got {value!r}")


# ---------------------------------------------------------------------------------------------- charts
def plot_segments(summary: pd.DataFrame, *, ax=None):
    """Share of customers and share of revenue per segment (horizontal bars, first segment on top).

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    from .plots import percent_ticks

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.45 * len(summary) + 1.5))
    pos = np.arange(len(summary))[::-1]
    has_rev = summary["revenue_share"].notna().any()
    h = 0.4 if has_rev else 0.7
    ax.barh(pos + (0.2 if has_rev else 0), summary["share"], height=h, label=t("rfm.seg_chart_customers"), color="C0")
    if has_rev:
        ax.barh(pos - 0.2, summary["revenue_share"].fillna(0), height=h, label=t("rfm.seg_chart_revenue"), color="C1")
    ax.set_yticks(pos, [segment_label(x) for x in summary["segment"]])
    percent_ticks(ax.xaxis)
    ax.legend(fontsize="small", loc="lower right")
    ax.grid(False, axis="y")
    ax.set_title(t("rfm.seg_chart_title_rev" if has_rev else "rfm.seg_chart_title"))
    ax.set_xlabel(t("rfm.share_axis"))
    ax.set_ylabel(t("rfm.segment_axis"))
    return ax


def plot_rf_heatmap(matrix: pd.DataFrame, *, value: str = "users", currency: str = "¥", ax=None):
    """R x F heatmap of :func:`rf_heatmap` (customer counts, or mean monetary value with ``value='monetary'``).

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    from .plots import plot_heatmap

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.6))
    labels = dict(xlabel=t("rfm.f_axis"), ylabel=t("rfm.r_axis"), ax=ax)
    if value == "users":
        return plot_heatmap(matrix, title=t("rfm.rf_users_title"), fmt=",.0f", **labels)
    return plot_heatmap(matrix, title=t("rfm.rf_money_title", currency=currency), fmt=",.0f", cmap="Oranges", **labels)
