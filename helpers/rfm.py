"""RFM: recency, frequency, monetary value per customer, 1-5 scores and two segment schemes.

Per-customer aggregation is Ibis (one row per customer comes back); scoring and segmenting are pandas.
Exact rules and the segment tables: docs/rfm.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .engine import as_table

__all__ = ["rfm_table", "score_column", "rfm_scores", "segment_named", "segment_cn8", "NAMED_RULES", "CN8",
           "ACTIONS", "segment_summary", "rf_heatmap", "plot_segments", "plot_rf_heatmap", "RFMResult", "run_rfm",
           "rfm_findings", "rfm_headline", "show_rfm"]


def rfm_table(orders, *, user_col: str = "user_id", order_col: str = "order_id", ts_col: str = "ts",
              amount_col: str = "amount", as_of=None) -> pd.DataFrame:
    """One row per customer.

    ``as_of`` (a date; default: the day after the last order) is the reference day. Rows are order lines:
    an order's value is the sum of its rows.

    Returns
    -------
    DataFrame ``user_id``, ``recency_days`` (whole days from the local date of the last order to
    ``as_of``; 1 = ordered on the day before as_of), ``frequency`` (distinct orders), ``monetary`` (sum of
    amounts; NaN when the orders have no amounts), ``aov`` (monetary / frequency), ``tenure_days`` (days
    from the first order's date to as_of), ``first_ts``, ``last_ts``; sorted by user_id.
    """
    t = as_table(orders)
    has_amount = amount_col in t.columns
    aggs = {"first_ts": t[ts_col].min(), "last_ts": t[ts_col].max(), "frequency": t[order_col].nunique()}
    if has_amount:
        aggs["monetary"] = t[amount_col].sum()
        aggs["_n_amount"] = t[amount_col].count()
    df = t.group_by(user_id=t[user_col].cast("string")).aggregate(**aggs).to_pandas()
    if as_of is None:
        as_of = (pd.to_datetime(df["last_ts"]).max().normalize() + pd.Timedelta(days=1)) if len(df) else pd.Timestamp.today()
    as_of = pd.Timestamp(as_of).normalize()
    last = pd.to_datetime(df["last_ts"]).dt.normalize()
    first = pd.to_datetime(df["first_ts"]).dt.normalize()
    df["recency_days"] = (as_of - last).dt.days.astype("int64")
    df["tenure_days"] = (as_of - first).dt.days.astype("int64")
    if not has_amount or ("_n_amount" in df and int(df["_n_amount"].sum()) == 0):
        df["monetary"] = np.nan
    df["frequency"] = df["frequency"].astype("int64")
    df["aov"] = df["monetary"] / df["frequency"]
    df = df.drop(columns=[c for c in ("_n_amount",) if c in df])
    df.attrs["as_of"] = as_of
    cols = ["user_id", "recency_days", "frequency", "monetary", "aov", "tenure_days", "first_ts", "last_ts"]
    return df[cols].sort_values("user_id", ignore_index=True)


def score_column(values: pd.Series, *, bins: int = 5, reverse: bool = False, tiebreak: pd.Series | None = None):
    """Scores 1..5 by equal-count bins of the values' ranks.

    Values are ranked (ties broken by ``tiebreak``, e.g. user ids, so the result is deterministic), the ranks
    are cut into ``bins`` equal-count bins and bin b gets score b (``reverse``: bins + 1 - b, so that low
    recency scores high). With fewer distinct values than ``bins``, each distinct value is its own bin and
    the k bins are spread over 1..5: score = ceil(5 * dense_rank / k) (reversed likewise).

    Returns
    -------
    (scores as an int Series aligned with ``values``, number of bins used)
    """
    v = pd.Series(values).astype(float)
    k = int(v.nunique())
    if k == 0:
        return pd.Series(np.zeros(len(v), dtype=int), index=v.index), 0
    if k < bins:
        dense = v.rank(method="dense")
        if reverse:
            dense = k + 1 - dense
        return np.ceil(5 * dense / k).astype(int), k
    order = pd.DataFrame({"v": v, "t": tiebreak if tiebreak is not None else np.arange(len(v))})
    order = order.sort_values(["v", "t"], kind="stable")
    rank = pd.Series(np.arange(1, len(v) + 1), index=order.index).reindex(v.index)
    b = np.ceil(rank * bins / len(v)).astype(int).clip(1, bins)
    if reverse:
        b = bins + 1 - b
    if bins != 5:
        b = np.ceil(5 * b / bins).astype(int)
    return b, bins


def rfm_scores(table: pd.DataFrame, *, bins: int = 5) -> pd.DataFrame:
    """Adds ``r_score``, ``f_score``, ``m_score`` (1-5; R reversed: 5 = most recent), ``fm_score`` (mean
    of F and M scores) and ``rfm_code`` ("545"). Without amounts, M is F (documented); ``attrs['bins']``
    says how many bins each column got and ``attrs['notes']`` what fell back."""
    out = table.copy()
    notes = []
    used = {}
    out["r_score"], used["R"] = score_column(out["recency_days"], bins=bins, reverse=True, tiebreak=out["user_id"])
    out["f_score"], used["F"] = score_column(out["frequency"], bins=bins, tiebreak=out["user_id"])
    if out["monetary"].notna().any():
        out["m_score"], used["M"] = score_column(out["monetary"].fillna(0), bins=bins, tiebreak=out["user_id"])
    else:
        out["m_score"], used["M"] = out["f_score"], used["F"]
        notes.append("没有金额，M 以 F 代替 no amounts in the orders: M is replaced by F")
    for k, n in used.items():
        if 0 < n < bins:
            notes.append(f"{k} 只有 {n} 个不同取值，使用 {n} 档 {k} has only {n} distinct values: {n} bins instead of {bins}")
    out["fm_score"] = (out["f_score"] + out["m_score"]) / 2
    out["rfm_code"] = out["r_score"].astype(str) + out["f_score"].astype(str) + out["m_score"].astype(str)
    out.attrs.update(table.attrs)
    out.attrs["bins"] = used
    out.attrs["notes"] = notes
    return out


#: 11 named segments: (name, 中文, R score range, FM score range), first match wins, else "Others"
NAMED_RULES = (
    ("Champions", "重要价值·冠军客户", (4, 5), (4, 5)),
    ("Loyal", "忠诚客户", (2, 5), (3, 5)),
    ("New", "新客户", (4, 5), (1, 1)),
    ("Promising", "有潜力的新客", (3, 4), (1, 1)),
    ("Potential Loyalist", "潜在忠诚客户", (3, 5), (1, 3)),
    ("Need Attention", "需要关注", (2, 3), (2, 3)),
    ("About To Sleep", "即将沉睡", (2, 3), (1, 2)),
    ("Can't Lose Them", "不能失去的客户", (1, 1), (4, 5)),
    ("At Risk", "有流失风险", (1, 2), (2, 5)),
    ("Lost", "已流失", (1, 1), (1, 1)),
    ("Hibernating", "休眠客户", (1, 2), (1, 2)),
)

#: Chinese 8-class scheme: (R high, F high, M high) -> segment
CN8 = {
    (True, True, True): "重要价值客户", (False, True, True): "重要保持客户",
    (True, False, True): "重要发展客户", (False, False, True): "重要挽留客户",
    (True, True, False): "一般价值客户", (False, True, False): "一般保持客户",
    (True, False, False): "一般发展客户", (False, False, False): "一般挽留客户",
}

ACTIONS = {
    "Champions": "奖励、新品优先体验、邀请推荐 reward, early access, ask for referrals",
    "Loyal": "会员升级、交叉销售 upsell and membership tiers",
    "New": "新手引导、首单后关怀 onboarding and post-purchase care",
    "Promising": "建立品牌认知、限时优惠 build awareness, time-limited offers",
    "Potential Loyalist": "会员计划、个性化推荐 loyalty programme, recommendations",
    "Need Attention": "限时活动唤醒 limited-time offers based on past purchases",
    "About To Sleep": "推送热门商品与优惠券 popular items and a coupon",
    "Can't Lose Them": "一对一回访、专属大额券 personal outreach, strong win-back offer",
    "At Risk": "个性化召回邮件/短信 personalised win-back messages",
    "Lost": "低成本再营销或放弃 cheap re-engagement or let go",
    "Hibernating": "相关品类推荐、特价唤醒 relevant categories, special prices",
    "Others": "观察 monitor",
    "重要价值客户": "保持现状，VIP 服务 keep them: VIP service",
    "重要保持客户": "近期未购：主动联系唤回 lapsed big spenders: reach out",
    "重要发展客户": "消费高频次低：提升购买频次 raise purchase frequency",
    "重要挽留客户": "高价值即将流失：重点挽留 high value slipping away: win back",
    "一般价值客户": "提升客单价 raise order value",
    "一般保持客户": "常规维护 routine care",
    "一般发展客户": "新客培育 nurture",
    "一般挽留客户": "低成本触达 low-cost contact",
}


def segment_named(scored: pd.DataFrame) -> pd.Series:
    """The 11 named segments (first matching rule of :data:`NAMED_RULES`; else ``Others``)."""
    seg = pd.Series("Others", index=scored.index, dtype=object)
    done = pd.Series(False, index=scored.index)
    for name, _, (rlo, rhi), (flo, fhi) in NAMED_RULES:
        hit = ~done & scored["r_score"].between(rlo, rhi) & scored["fm_score"].between(flo, fhi)
        seg[hit] = name
        done |= hit
    return seg


def segment_cn8(table: pd.DataFrame) -> pd.Series:
    """The Chinese 8-class scheme: R high = recency_days below the mean (more recent than average); F high
    = frequency above the mean; M high = monetary above the mean (M = F when there are no amounts)."""
    r_high = table["recency_days"] < table["recency_days"].mean()
    f_high = table["frequency"] > table["frequency"].mean()
    m = table["monetary"] if table["monetary"].notna().any() else table["frequency"]
    m_high = m.fillna(0) > m.fillna(0).mean()
    return pd.Series([CN8[(r, f, x)] for r, f, x in zip(r_high, f_high, m_high)], index=table.index, dtype=object)


def segment_summary(seg: pd.DataFrame, *, scheme: str) -> pd.DataFrame:
    """Per segment: ``segment``, ``users``, ``share``, ``revenue``, ``revenue_share``, ``mean_r``,
    ``mean_f``, ``mean_m``, ``action``; named segments in rule order, CN8 by revenue."""
    g = seg.groupby("segment")
    out = pd.DataFrame({"users": g.size(), "revenue": g["monetary"].sum(min_count=1), "mean_r": g["recency_days"].mean(),
                        "mean_f": g["frequency"].mean(), "mean_m": g["monetary"].mean()}).reset_index()
    out["share"] = out["users"] / out["users"].sum()
    tot = out["revenue"].sum()
    out["revenue_share"] = out["revenue"] / tot if tot and not math.isnan(tot) else np.nan
    out["action"] = out["segment"].map(ACTIONS).fillna("")
    if scheme == "named11":
        order = {r[0]: i for i, r in enumerate(NAMED_RULES)} | {"Others": len(NAMED_RULES)}
        out = out.sort_values("segment", key=lambda s: s.map(order), ignore_index=True)
        zh = {r[0]: r[1] for r in NAMED_RULES} | {"Others": "其他"}
        out.insert(1, "segment_zh", out["segment"].map(zh))
    else:
        out = out.sort_values(["revenue", "users"], ascending=False, ignore_index=True)
    return out[[c for c in ["segment", "segment_zh", "users", "share", "revenue", "revenue_share", "mean_r",
                            "mean_f", "mean_m", "action"] if c in out]]


def rf_heatmap(scored: pd.DataFrame, *, value: str = "users") -> pd.DataFrame:
    """R score (rows, 5 at the top) x F score (columns) matrix of user counts (``value='users'``) or mean
    monetary (``value='monetary'``)."""
    if value == "users":
        m = scored.pivot_table(index="r_score", columns="f_score", values="user_id", aggfunc="count", fill_value=0)
    else:
        m = scored.pivot_table(index="r_score", columns="f_score", values="monetary", aggfunc="mean")
    return m.reindex(index=[5, 4, 3, 2, 1], columns=[1, 2, 3, 4, 5], fill_value=0 if value == "users" else np.nan)


def plot_segments(summary: pd.DataFrame, *, ax=None):
    """Users and revenue share per segment, side by side."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.45 * len(summary) + 1.5))
    labels = [f"{s} {z}" if "segment_zh" in summary else s for s, z in
              zip(summary["segment"], summary.get("segment_zh", summary["segment"]))]
    pos = np.arange(len(summary))[::-1]
    ax.barh(pos + 0.2, summary["share"], height=0.4, label="用户占比 share of users", color="C0")
    if summary["revenue_share"].notna().any():
        ax.barh(pos - 0.2, summary["revenue_share"].fillna(0), height=0.4, label="收入占比 share of revenue", color="C1")
    ax.set_yticks(pos, labels)
    from matplotlib.ticker import PercentFormatter

    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.legend(fontsize="small")
    ax.set_title("客户分群 Segments: users and revenue")
    ax.set_xlabel("占比 share")
    ax.set_ylabel("分群 segment")
    return ax


def plot_rf_heatmap(matrix: pd.DataFrame, *, ax=None):
    from .plots import plot_heatmap

    return plot_heatmap(matrix, title="R × F 用户分布 Users by R and F score", xlabel="F 分 frequency score",
                        ylabel="R 分 recency score", fmt=",.0f", ax=ax)


# ------------------------------------------------------------------------------------------- report
@dataclass
class RFMResult:
    available: bool
    reason: str = ""
    scheme: str = "named11"
    as_of: pd.Timestamp | None = None
    source: str = "orders"
    scored: pd.DataFrame | None = None
    summary: pd.DataFrame | None = None
    summary_other: pd.DataFrame | None = None
    heatmap: pd.DataFrame | None = None
    notes: list = field(default_factory=list)
    currency: str = "¥"

    def membership(self) -> pd.DataFrame:
        cols = ["user_id", "recency_days", "frequency", "monetary", "aov", "tenure_days", "r_score", "f_score",
                "m_score", "rfm_code", "segment", "segment_named", "segment_cn8"]
        return self.scored[[c for c in cols if c in self.scored]]

    def to_results(self) -> dict:
        if not self.available:
            return {"available": False, "reason": self.reason, "scheme": self.scheme, "segments": []}
        return {"available": True, "reason": None, "scheme": self.scheme, "as_of": str(self.as_of.date()),
                "source": self.source, "users": int(len(self.scored)), "bins": self.scored.attrs.get("bins"),
                "notes": self.notes, "segments": self.summary.to_dict(orient="records"),
                "other_scheme_segments": self.summary_other.to_dict(orient="records")}


def run_rfm(ctx) -> RFMResult:
    """The RFM report's computations for a campaign, from its ``rfm:`` params."""
    p = ctx.cfg.rfm
    if ctx.has("orders"):
        orders, source = ctx.table("orders"), "orders"
    elif ctx.has("events"):
        ev = ctx.table("events")
        orders = ev.filter(ev["event"].isin(p.buy_events))
        orders = orders.mutate(order_id=orders["order_id"] if "order_id" in orders.columns else
                               orders["user_id"].concat(orders["ts"].cast("string")))
        source = f"events {p.buy_events}"
    else:
        return RFMResult(False, "没有订单或事件表 no orders or events table", scheme=p.scheme)
    table = rfm_table(orders, as_of=p.as_of)
    if table.empty:
        return RFMResult(False, "没有订单 no orders in the data", scheme=p.scheme)
    scored = rfm_scores(table, bins=p.bins)
    scored["segment_named"] = segment_named(scored)
    scored["segment_cn8"] = segment_cn8(scored)
    main, other = ("segment_named", "segment_cn8") if p.scheme == "named11" else ("segment_cn8", "segment_named")
    scored["segment"] = scored[main]
    res = RFMResult(True, scheme=p.scheme, as_of=table.attrs["as_of"], source=source, scored=scored,
                    notes=list(scored.attrs.get("notes", [])), currency=p.currency)
    res.summary = segment_summary(scored, scheme=p.scheme)
    res.summary_other = segment_summary(scored.assign(segment=scored[other]),
                                        scheme="cn8" if p.scheme == "named11" else "named11")
    res.heatmap = rf_heatmap(scored)
    return res


def rfm_findings(res: RFMResult) -> list[str]:
    from .fmt import fmt_int, fmt_money, fmt_pct

    if not res.available:
        return [f"无法计算 RFM: {res.reason}."]
    s, sc = res.summary, res.scored
    out = [f"{fmt_int(len(sc))} 位客户 customers, 参考日 as of {res.as_of:%Y-%m-%d} (source: {res.source}); "
           f"中位数 median R {sc['recency_days'].median():.0f} 天 days, F {sc['frequency'].median():.0f} 单 orders"
           + (f", M {fmt_money(sc['monetary'].median(), res.currency)}." if sc["monetary"].notna().any() else ".")]
    if s["revenue_share"].notna().any():
        top = s.sort_values("revenue_share", ascending=False).iloc[0]
        out.append(f"收入最集中的分群 most revenue: **{top['segment']}** — {fmt_pct(top['share'])} 的客户贡献 of customers bring "
                   f"**{fmt_pct(top['revenue_share'])}** 的收入 of revenue.")
    big = s.sort_values("users", ascending=False).iloc[0]
    out.append(f"最大的分群 largest segment: {big['segment']} ({fmt_int(big['users'])}, {fmt_pct(big['share'])}); 建议 action: {big['action']}.")
    risk = s[s["segment"].isin(["At Risk", "Can't Lose Them", "重要挽留客户", "重要保持客户"])]
    if len(risk):
        out.append(f"需要挽留 to win back: {', '.join(f'{r.segment} {fmt_int(r.users)}' for r in risk.itertuples())}"
                   + (f", 合计收入占比 together {fmt_pct(risk['revenue_share'].sum())} of revenue." if risk["revenue_share"].notna().any() else "."))
    out += [f"注意 Note: {n}." for n in res.notes]
    return out


def rfm_headline(res: RFMResult) -> list[dict]:
    from .fmt import fmt_int, fmt_pct
    from .report import headline

    if not res.available:
        return [headline("RFM", None, "n/a")]
    s = res.summary
    out = [headline("customers 客户数", int(len(res.scored)), fmt_int(len(res.scored)))]
    champ = s[s["segment"].isin(["Champions", "重要价值客户"])]
    if len(champ):
        out.append(headline(f"{champ.iloc[0]['segment']} share 占比", float(champ.iloc[0]["share"]), fmt_pct(champ.iloc[0]["share"])))
    return out


def show_rfm(res: RFMResult, part: str):
    """Display one part: ``segments``, ``chart``, ``other``, ``heatmap``, ``members``."""
    from IPython.display import Markdown, display

    from .fmt import style_table

    if not res.available:
        display(Markdown(f"_{res.reason}_"))
        return None
    fmt = dict(int_cols=["users"], pct_cols=["share", "revenue_share"], money_cols=["revenue", "mean_m"],
               num_cols=["mean_r", "mean_f"], currency=res.currency)
    if part == "segments":
        return display(style_table(res.summary, **fmt))
    if part == "other":
        return display(style_table(res.summary_other, **fmt))
    if part == "chart":
        return plot_segments(res.summary)
    if part == "heatmap":
        return plot_rf_heatmap(res.heatmap)
    if part == "members":
        return display(style_table(res.membership().head(10), money_cols=["monetary", "aov"], currency=res.currency))
    raise ValueError(f"unknown part {part!r}")
