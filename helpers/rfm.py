"""RFM: recency, frequency, monetary value per customer, 1-5 scores, two segment schemes, and the BG/NBD model.

The per-customer aggregation is one Ibis expression (DuckDB or Spark; one row per customer comes back);
scoring, segmenting and the BG/NBD fit work on that small per-customer table in pandas/numpy/scipy.
Exact rules, segment tables and results keys: docs/rfm.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .engine import as_table

__all__ = ["rfm_table", "score_column", "rfm_scores", "segment_named", "segment_cn8", "segment_summary",
           "rf_heatmap", "NAMED_RULES", "CN8", "CN8_ORDER", "ACTIONS", "named_rules_table",
           "BGNBDFit", "bgnbd_inputs", "bgnbd_loglik", "fit_bgnbd", "bgnbd_p_alive", "bgnbd_expected",
           "bgnbd_holdout_check", "plot_segments", "plot_rf_heatmap", "plot_segment_bgnbd", "plot_bgnbd_check",
           "RFMResult", "run_rfm", "rfm_findings", "rfm_headline", "show_rfm"]

RETURNS_MODES = ("exclude", "net")


# ---------------------------------------------------------------------------------------- per customer
def rfm_table(orders, *, user_col: str = "user_id", order_col: str = "order_id", ts_col: str = "ts",
              amount_col: str = "amount", as_of=None, returns: str = "exclude") -> pd.DataFrame:
    """Recency, frequency and monetary value per customer, aggregated in the engine (Ibis).

    Parameters
    ----------
    orders : Ibis table or pandas DataFrame
        Order rows (lines): an order may span several rows sharing ``order_col``. Amounts may be absent
        (no ``amount_col`` column, or all null) -- then M is unavailable.
    user_col, order_col, ts_col, amount_col : str
        Column names (canonical defaults). ``ts_col`` is the naive campaign-local time.
    as_of : date-like, optional
        Reference day. Only rows with ``ts`` before its midnight count (a snapshot "as of" that day).
        Default: the day after the last order's local date (every row counts).
    returns : {"exclude", "net"}
        Rows with a negative amount (returns/cancellations that ingest did not quarantine).
        ``exclude``: ignored entirely. ``net``: subtracted from M; they never count as orders, so they do
        not change R, F, tenure or purchase days. Customers with only negative rows are dropped.

    Returns
    -------
    pandas.DataFrame
        One row per customer with at least one purchase row, sorted by ``user_id``:
        ``user_id`` (str); ``recency_days`` (whole days from the local date of the last order to ``as_of``;
        1 = ordered the day before ``as_of``); ``frequency`` (distinct ``order_id``); ``monetary`` (sum of
        the amounts of the customer's rows; NaN when the data has no amounts); ``aov`` (average order value
        = monetary / frequency); ``tenure_days`` (days from the first order's local date to ``as_of``);
        ``purchase_days`` (distinct local dates with an order, for BG/NBD); ``first_ts``, ``last_ts``
        (``datetime64[us]`` on every engine).
        ``attrs``: ``as_of`` (Timestamp), ``has_monetary`` (bool), ``returns``, ``negative_rows``.
    """
    import ibis

    if returns not in RETURNS_MODES:
        raise ValueError(f"returns must be one of {RETURNS_MODES}, got {returns!r} (params: rfm.returns)")
    t = as_table(orders)
    missing = [c for c in (user_col, order_col, ts_col) if c not in t.columns]
    if missing:
        raise KeyError(f"orders table lacks column(s) {missing}; it has {list(t.columns)} "
                       f"(pass user_col=/order_col=/ts_col= or map them in the campaign params)")
    if as_of is not None:
        as_of = pd.Timestamp(as_of).normalize()
        t = t.filter(t[ts_col] < ibis.literal(as_of.to_pydatetime()))
    has_amount = amount_col in t.columns
    neg_count = None
    if has_amount and returns == "exclude":
        is_neg = (t[amount_col].cast("float64") < 0).fill_null(False)
        neg_count = t.filter(is_neg).count()
        t = t.filter(~is_neg)
    buy = (t[amount_col].cast("float64") >= 0).fill_null(True) if has_amount else ibis.literal(True)
    aggs = {"first_ts": t[ts_col].min(where=buy), "last_ts": t[ts_col].max(where=buy),
            "frequency": t[order_col].nunique(where=buy), "purchase_days": t[ts_col].date().nunique(where=buy)}
    if has_amount:
        amt = t[amount_col].cast("float64")
        aggs |= {"monetary": amt.sum(), "_n_amount": amt.count(), "_n_negative": (amt < 0).sum()}
    g = t.group_by(user_id=t[user_col].cast("string")).aggregate(**aggs)
    df = g.filter(g["frequency"] > 0).to_pandas()
    if neg_count is not None:
        negative_rows = int(neg_count.execute())
    else:
        negative_rows = int(df["_n_negative"].fillna(0).sum()) if has_amount else 0
    # microseconds, the canonical resolution, whichever engine ran (Spark's pandas conversion gives ns)
    df["first_ts"] = pd.to_datetime(df["first_ts"]).astype("datetime64[us]")
    df["last_ts"] = pd.to_datetime(df["last_ts"]).astype("datetime64[us]")
    if as_of is None:
        last = df["last_ts"].max() if len(df) else pd.Timestamp.today()
        as_of = last.normalize() + pd.Timedelta(days=1)
    df["recency_days"] = (as_of - df["last_ts"].dt.normalize()).dt.days.astype("int64")
    df["tenure_days"] = (as_of - df["first_ts"].dt.normalize()).dt.days.astype("int64")
    has_monetary = has_amount and len(df) > 0 and int(df["_n_amount"].sum()) > 0
    if not has_monetary:
        df["monetary"] = np.nan
    df["monetary"] = df["monetary"].astype(float)
    df["frequency"] = df["frequency"].astype("int64")
    df["purchase_days"] = df["purchase_days"].astype("int64")
    df["aov"] = df["monetary"] / df["frequency"]
    cols = ["user_id", "recency_days", "frequency", "monetary", "aov", "tenure_days", "purchase_days", "first_ts",
            "last_ts"]
    out = df[cols].astype({"user_id": str}).sort_values("user_id", ignore_index=True)
    out.attrs.update(as_of=as_of, has_monetary=bool(has_monetary), returns=returns, negative_rows=negative_rows)
    return out


# ---------------------------------------------------------------------------------------------- scores
def score_column(values, *, bins: int = 5, reverse: bool = False, tiebreak=None, constant_score: int = 3):
    """Scores on the 1-5 scale by equal-count bins of the values' ranks, deterministic under ties.

    With at least ``bins`` distinct values: rank "first" -- order by value, ties broken by ``tiebreak``
    (e.g. user ids; else by position) -- and cut the ranks 1..n into ``bins`` equal-count bins exactly as
    ``pd.qcut(rank, bins)`` does (bin sizes differ by at most one). With k < ``bins`` distinct values (too
    few to make the bins): k bins, one per distinct value (dense rank). With one distinct value: every score is
    ``constant_score``. ``reverse``: bin b becomes k + 1 - b (low recency days = high score).
    Bin b of m is put on the 1-5 scale keeping both ends: score = 1 + round(4 (b - 1) / (m - 1)), so
    5 bins are 1..5, 3 bins 1/3/5, 2 bins 1/5.

    Parameters
    ----------
    values : Series of numbers (no NaN)
    bins : int, 2..5
    reverse : bool
    tiebreak : Series aligned with ``values``, optional
    constant_score : int
        Score of everyone when the column has a single distinct value.

    Returns
    -------
    (pandas.Series of int aligned with ``values``, int number of bins used)
    """
    if not 2 <= bins <= 5:
        raise ValueError(f"bins must be 2..5 (params: rfm.bins), got {bins}")
    v = pd.Series(values).astype(float)
    if v.isna().any():
        raise ValueError("score_column: values contain NaN; fill or drop them first")
    n = len(v)
    k = int(v.nunique())
    if k == 0:
        return pd.Series(np.zeros(0, dtype="int64"), index=v.index), 0
    if k == 1:
        return pd.Series(np.full(n, constant_score, dtype="int64"), index=v.index), 1
    if k < bins:
        level, m = v.rank(method="dense").to_numpy().astype("int64"), k
    else:
        tb = pd.Series(tiebreak, index=v.index) if tiebreak is not None else pd.Series(np.arange(n), index=v.index)
        order = np.lexsort((tb.astype(str).to_numpy() if tb.dtype == object or pd.api.types.is_string_dtype(tb)
                            else tb.to_numpy(), v.to_numpy()))
        rank = np.empty(n, dtype="int64")
        rank[order] = np.arange(1, n + 1)
        level, m = pd.qcut(rank, bins, labels=False).astype("int64") + 1, bins
    if reverse:
        level = m + 1 - level
    score = 1 + np.rint(4 * (level - 1) / (m - 1)).astype("int64")
    return pd.Series(score, index=v.index), m


def _binning_info(values: pd.Series, scores: pd.Series, used: int, bins: int, label: str) -> dict:
    v = values.astype(float)
    counts = v.value_counts()
    top_value = counts.index[0]
    members = scores[v == top_value]
    return {"column": label, "distinct": int(v.nunique()), "bins": int(used), "fallback": bool(used < bins),
            "scores": sorted(int(s) for s in scores.unique()),
            "largest_tie": {"value": float(top_value), "users": int(counts.iloc[0]),
                            "share": float(counts.iloc[0] / len(v)),
                            "scores": [int(members.min()), int(members.max())]}}


def rfm_scores(table: pd.DataFrame, *, bins: int = 5) -> pd.DataFrame:
    """Add 1-5 scores and codes to an :func:`rfm_table` (a new frame; the input is not changed).

    R is reversed (5 = most recent fifth), F and M ascending; ties are broken by ``user_id`` (see
    :func:`score_column`). A constant column scores 5 for R and 1 for F and M (nobody stands out).

    Returns
    -------
    pandas.DataFrame
        The input columns plus ``r_score``, ``f_score``, ``m_score`` (Int64, missing when there are no
        amounts), ``fm_score`` (mean of F and M scores; = F score without amounts) and ``rfm_code``
        ("545"; "54" without amounts). ``attrs['binning']``: per R/F/M the distinct values, bins used,
        whether it fell back to fewer bins, and the largest tie group with the scores it spans (None for
        M without amounts); ``attrs['notes']``: what the report must say (fallbacks, no amounts, a tie
        group of 10 %+ of customers split over several scores).
    """
    out = table.copy()
    notes: list[str] = []
    binning: dict[str, dict | None] = {}
    ids = out["user_id"].astype(str)
    spec = [("R", "recency_days", True, 5), ("F", "frequency", False, 1)]
    has_m = bool(out["monetary"].notna().any())
    if has_m:
        if out["monetary"].isna().any():
            notes.append(f"{int(out['monetary'].isna().sum())} 位客户的订单没有金额，M 记为 0 "
                         f"{int(out['monetary'].isna().sum())} customers have orders without amounts: M counted as 0")
        spec.append(("M", "monetary", False, 1))
    for key, col, rev, const in spec:
        vals = out[col].astype(float).fillna(0.0)
        s, used = score_column(vals, bins=bins, reverse=rev, tiebreak=ids, constant_score=const)
        out[f"{key.lower()}_score"] = s.astype("Int64")
        info = _binning_info(vals, s, used, bins, col)
        binning[key] = info
        if info["distinct"] == 1:
            notes.append(f"{key} 所有客户取值相同，不区分 (score {const}) {key} is the same for every customer: "
                         f"no ranking possible, everyone scores {const}")
        elif info["fallback"]:
            notes.append(f"{key} 只有 {info['distinct']} 个不同取值，改用 {used} 档 (scores {info['scores']}) "
                         f"{key} has only {info['distinct']} distinct values: {used} bins instead of {bins}")
        tie = info["largest_tie"]
        if not info["fallback"] and tie["scores"][0] != tie["scores"][1] and tie["share"] >= 0.1:
            notes.append(f"{key}: {tie['share']:.0%} 的客户取值相同 ({tie['value']:g})，按 user_id 排序后分在 "
                         f"{tie['scores'][0]}–{tie['scores'][1]} 分 {tie['share']:.0%} of customers share the value "
                         f"{tie['value']:g}; ranked first by user_id they span scores {tie['scores'][0]}–"
                         f"{tie['scores'][1]}")
    if not has_m:
        out["m_score"] = pd.array([pd.NA] * len(out), dtype="Int64")
        binning["M"] = None
        notes.append("没有金额：M 不可用，只按 R 和 F 打分，FM 分 = F 分，8 类分群以 F 代替 M "
                     "no amounts: M is unavailable; scores use R and F only (FM score = F score; the 8-class "
                     "scheme uses F in place of M)")
        out["fm_score"] = out["f_score"].astype(float)
        out["rfm_code"] = out["r_score"].astype(str) + out["f_score"].astype(str)
    else:
        out["fm_score"] = (out["f_score"].astype(float) + out["m_score"].astype(float)) / 2
        out["rfm_code"] = out["r_score"].astype(str) + out["f_score"].astype(str) + out["m_score"].astype(str)
    out.attrs.update(table.attrs)
    out.attrs["binning"] = binning
    out.attrs["notes"] = notes
    out.attrs["bins"] = bins
    return out


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
    (True, True, True): "重要价值客户", (True, False, True): "重要发展客户",
    (False, True, True): "重要保持客户", (False, False, True): "重要挽留客户",
    (True, True, False): "一般价值客户", (True, False, False): "一般发展客户",
    (False, True, False): "一般保持客户", (False, False, False): "一般挽留客户",
}
CN8_ORDER = tuple(CN8.values())
CN8_EN = {"重要价值客户": "key value", "重要发展客户": "key to develop", "重要保持客户": "key to keep",
          "重要挽留客户": "key to win back", "一般价值客户": "ordinary value", "一般发展客户": "ordinary to develop",
          "一般保持客户": "ordinary to keep", "一般挽留客户": "ordinary to win back"}

#: Recommended action per segment (Chinese + English).
ACTIONS = {
    "Champions": "专属权益、新品优先体验、邀请推荐 reward them, early access, ask for referrals and reviews",
    "Loyal": "会员升级、交叉销售、高价值商品推荐 membership tiers, upsell and cross-sell",
    "New": "新手引导、首单后关怀、促成第二单 onboarding, post-purchase care, a reason for a second order",
    "Promising": "建立品牌认知、限时优惠 build awareness, time-limited offers",
    "Potential Loyalist": "会员计划、个性化推荐 loyalty programme, personalised recommendations",
    "Need Attention": "基于历史购买的限时活动 limited-time offers based on past purchases",
    "About To Sleep": "推送热门商品与优惠券 popular items and a coupon before they lapse",
    "Can't Lose Them": "一对一回访、专属大额券 personal outreach and a strong win-back offer",
    "At Risk": "个性化召回短信/邮件 personalised win-back messages",
    "Lost": "低成本再营销或放弃 cheap re-engagement, or let go",
    "Hibernating": "相关品类推荐、特价唤醒 relevant categories and special prices",
    "Others": "观察 monitor",
    "重要价值客户": "保持现状，VIP 专属服务 keep them: VIP service and recognition",
    "重要发展客户": "消费高但频次低：提升购买频次 big but infrequent: raise purchase frequency",
    "重要保持客户": "近期未购的高价值客户：主动联系唤回 valuable but lapsing: reach out personally",
    "重要挽留客户": "高消费但久未购且低频：重点挽留 big spenders slipping away: win back",
    "一般价值客户": "频次高消费低：提升客单价 frequent small spenders: raise order value",
    "一般发展客户": "新近低频低额：新客培育 recent, small and infrequent: nurture",
    "一般保持客户": "频次高但久未购：常规维护与唤醒 frequent but lapsing: routine reactivation",
    "一般挽留客户": "价值低且流失：低成本触达 low value and lapsed: low-cost contact only",
}


def named_rules_table() -> pd.DataFrame:
    """The 11 named segments' rules as a table: ``order`` (first match wins), ``segment``, ``segment_zh``,
    ``r_score`` and ``fm_score`` (closed ranges as text), ``action``."""
    return pd.DataFrame([{"order": i + 1, "segment": n, "segment_zh": zh, "r_score": f"{r[0]}–{r[1]}",
                          "fm_score": f"{f[0]}–{f[1]}", "action": ACTIONS[n]}
                         for i, (n, zh, r, f) in enumerate(NAMED_RULES)])


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


def segment_cn8(table: pd.DataFrame, *, r_col: str = "recency_days", f_col: str = "frequency",
                m_col: str = "monetary") -> pd.Series:
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
        ``segment``; ``label`` (Chinese + English); ``users``; ``share`` (of customers); ``revenue`` (sum of
        M; NaN without amounts); ``revenue_share``; ``mean_r`` (days), ``mean_f`` (orders), ``mean_m``;
        with BG/NBD columns in ``seg``: ``mean_p_alive_repeat`` (mean P(alive) of the segment's repeat buyers,
        customers with 2+ purchase days; NaN when it has none: one-day buyers are alive by the model's
        convention), ``expected_purchases`` (mean per customer over the
        horizon); ``action``.
    """
    if scheme == "named11":
        names = [r[0] for r in NAMED_RULES] + ["Others"]
        labels = {r[0]: f"{r[0]} {r[1]}" for r in NAMED_RULES} | {"Others": "Others 其他"}
    elif scheme == "cn8":
        names = list(CN8_ORDER)
        labels = {n: f"{n} {CN8_EN[n]}" for n in CN8_ORDER}
    else:
        raise ValueError(f"scheme must be 'named11' or 'cn8' (params: rfm.scheme), got {scheme!r}")
    g = seg.groupby(segment_col, sort=False)
    agg = pd.DataFrame({"users": g.size(), "revenue": g["monetary"].sum(min_count=1),
                        "mean_r": g["recency_days"].mean(), "mean_f": g["frequency"].mean(),
                        "mean_m": g["monetary"].mean()})
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
    out.insert(1, "label", out["segment"].map(labels))
    out["action"] = out["segment"].map(ACTIONS)
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
            index="r_score", columns="f_score")
    if value == "monetary":
        m = scored.assign(_r=r, _f=f).pivot_table(index="_r", columns="_f", values="monetary", aggfunc="mean")
        return m.reindex(index=[5, 4, 3, 2, 1], columns=[1, 2, 3, 4, 5]).rename_axis(index="r_score",
                                                                                    columns="f_score")
    raise ValueError(f"value must be 'users' or 'monetary', got {value!r}")


# ---------------------------------------------------------------------------------------------- BG/NBD
@dataclass(frozen=True)
class BGNBDFit:
    """Fitted BG/NBD parameters (Fader, Hardie & Lee 2005) with time in days.

    ``r``, ``alpha``: gamma heterogeneity of the purchase rate (mean rate r / alpha per day); ``a``, ``b``:
    beta heterogeneity of the drop-out probability after each repeat purchase. ``loglik``: maximised total
    log-likelihood over ``n`` customers. ``at_bound``: a parameter ended within a factor 2 of a limit of the
    search box (the data do not pin it down, e.g. no visible drop-out in a few days of data).
    """

    r: float
    alpha: float
    a: float
    b: float
    loglik: float
    n: int
    converged: bool = True
    message: str = ""
    at_bound: bool = False

    @property
    def params(self) -> tuple[float, float, float, float]:
        return (self.r, self.alpha, self.a, self.b)


def _arrays(x, t_x, T):
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    if np.any(x < 0) or np.any(t_x < 0) or np.any(T < t_x):
        raise ValueError("BG/NBD inputs need x >= 0 and 0 <= t_x <= T")
    return x, t_x, T


def bgnbd_loglik(params, x, t_x, T) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood of ``(r, alpha, a, b)`` for ``x`` repeat purchases, the last at
    ``t_x``, observed for ``T`` (same time unit), computed in logs (no overflow for large x).

    Returns
    -------
    numpy array of log-likelihoods, one per customer.
    """
    from scipy.special import betaln, gammaln

    r, alpha, a, b = params
    x, t_x, T = _arrays(x, t_x, T)
    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    ln_a1 = betaln(a, b + x) - (r + x) * np.log(alpha + T)
    with np.errstate(invalid="ignore", divide="ignore"):
        ln_a2 = np.where(x > 0, betaln(a + 1, np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x), -np.inf)
    return base + np.logaddexp(ln_a1, ln_a2)


#: bounds of the log parameters in the fit: every parameter in [1e-4, 1e5] (the optimum of data without
#: information on drop-out, e.g. a few days of data, runs to these limits; the report says so)
_LOG_BOUNDS = (math.log(1e-4), math.log(1e5))


def fit_bgnbd(x, t_x, T, *, init: tuple[float, float, float, float] | None = None) -> BGNBDFit:
    """Maximum-likelihood BG/NBD fit (scipy: L-BFGS-B on log parameters bounded to [1e-4, 1e5], then a
    bounded Nelder-Mead polish; the better optimum is kept).

    Parameters
    ----------
    x, t_x, T : arrays
        Repeat purchases, time of the last purchase and length of observation, measured from each
        customer's first purchase (see :func:`bgnbd_inputs`).
    init : (r, alpha, a, b), optional
        Start values; default r = a = b = 1 and alpha = mean(T) / max(mean(x), 0.1).

    Returns
    -------
    BGNBDFit
    """
    from scipy.optimize import minimize

    x, t_x, T = _arrays(x, t_x, T)
    if init is None:
        init = (1.0, float(np.mean(T)) / max(float(np.mean(x)), 0.1), 1.0, 1.0)
    n = len(x)

    def nll(theta):
        p = np.exp(theta)
        v = -np.sum(bgnbd_loglik(p, x, t_x, T)) / n
        return v if np.isfinite(v) else 1e10

    bounds = [_LOG_BOUNDS] * 4
    start = np.clip(np.log(np.asarray(init, dtype=float)), *_LOG_BOUNDS)
    best = minimize(nll, start, method="L-BFGS-B", bounds=bounds)
    polish = minimize(nll, best.x, method="Nelder-Mead", bounds=bounds,
                      options={"xatol": 1e-7, "fatol": 1e-10, "maxiter": 4000})
    if polish.fun < best.fun:
        best = polish
    r, alpha, a, b = np.exp(best.x)
    at_bound = bool(np.any(np.abs(best.x - np.array(_LOG_BOUNDS)[:, None]).min(axis=0) < math.log(2)))
    return BGNBDFit(float(r), float(alpha), float(a), float(b), float(-best.fun * n), n,
                    bool(best.success), str(best.message), at_bound)


def _log_odds_dead(params, x, t_x, T):
    """log of a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x) for x > 0; -inf for x = 0."""
    r, alpha, a, b = params
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    return np.where(x > 0, v, -np.inf)


def bgnbd_p_alive(params, x, t_x, T) -> np.ndarray:
    """Probability that a customer with history ``(x, t_x, T)`` is still alive at ``T``:
    1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x)).

    Returns
    -------
    numpy array in (0, 1]; exactly 1 for customers without repeat purchases (the model's convention).
    """
    from scipy.special import expit

    params = params.params if isinstance(params, BGNBDFit) else params
    x, t_x, T = _arrays(x, t_x, T)
    return expit(-_log_odds_dead(params, x, t_x, T))


def bgnbd_expected(params, t, x, t_x, T, *, nodes: int = 96, chunk: int = 50_000) -> np.ndarray:
    """Expected number of purchases in the next ``t`` time units for customers with history ``(x, t_x, T)``.

    Computed as P(alive) x E[purchases | alive]. Given alive at T the posterior is lambda ~ Gamma(r + x,
    alpha + T) and p ~ Beta(a, b + x), independent; a live customer with (lambda, p) makes
    (1 - exp(-lambda p t)) / p purchases in expectation (Poisson purchases, drop-out p after each), so
    E[purchases | alive] = E_p[(1 - ((alpha + T) / (alpha + T + p t))^(r + x)) / p], a one-dimensional
    integral over the beta posterior, done by Gauss-Legendre quadrature on its quantiles. This equals the
    closed form of Fader, Hardie & Lee (2005, eq. 10) with its Gauss hypergeometric function, but stays
    finite for any fitted parameters (the closed form overflows when a, b or x are large).

    Returns
    -------
    numpy array of expected purchases (>= 0), one per customer.
    """
    from scipy.special import betaincinv, expit

    params = params.params if isinstance(params, BGNBDFit) else params
    r, alpha, a, b = params
    x, t_x, T = _arrays(x, t_x, T)
    q, w = np.polynomial.legendre.leggauss(nodes)
    q, w = (q + 1) / 2, w / 2
    out = np.empty(len(x))
    for s in range(0, len(x), chunk):
        xs, c = x[s:s + chunk, None], alpha + T[s:s + chunk, None]
        p = betaincinv(a, b + xs, q[None, :])
        k = r + xs
        safe = np.where(p > 0, p, 1.0)
        g = np.where(p > 0, -np.expm1(-k * np.log1p(safe * t / c)) / safe, k * t / c)
        out[s:s + chunk] = g @ w
    return np.maximum(out * expit(-_log_odds_dead((r, alpha, a, b), x, t_x, T)), 0.0)


def bgnbd_inputs(table: pd.DataFrame) -> pd.DataFrame:
    """BG/NBD inputs in days from an :func:`rfm_table`: one purchase period = one local day.

    Returns
    -------
    pandas.DataFrame
        ``user_id``; ``x`` = purchase_days - 1 (repeat purchase days; several orders on one day count
        once); ``t_x`` = days from the first to the last purchase day (= tenure_days - recency_days);
        ``T`` = days from the first purchase day to ``as_of`` (= tenure_days).
    """
    return pd.DataFrame({"user_id": table["user_id"], "x": table["purchase_days"].astype(float) - 1,
                         "t_x": (table["tenure_days"] - table["recency_days"]).astype(float),
                         "T": table["tenure_days"].astype(float)})


def bgnbd_holdout_check(calibration: pd.DataFrame, full: pd.DataFrame, *, horizon_days: int,
                        fit: BGNBDFit | None = None) -> tuple[BGNBDFit, pd.DataFrame, dict]:
    """Out-of-sample check: fit on ``calibration`` (an :func:`rfm_table` with ``as_of`` = the full data's
    as_of minus ``horizon_days``), predict each calibration customer's purchase days in the holdout, compare
    with what they did (``full`` purchase_days minus calibration purchase_days; the split is at a midnight,
    so days partition exactly).

    Returns
    -------
    (fit, by_x, summary): ``by_x`` has ``x`` (repeat purchase days in calibration, "7+" pooled), ``users``,
    ``predicted`` and ``actual`` (mean purchase days per customer in the holdout); ``summary`` has
    ``days``, ``users``, ``predicted``, ``actual`` (totals), ``ratio`` (predicted / actual), ``mae`` (per
    customer), ``corr`` (Pearson, per customer).
    """
    inp = bgnbd_inputs(calibration)
    fit = fit or fit_bgnbd(inp["x"], inp["t_x"], inp["T"])
    pred = bgnbd_expected(fit, horizon_days, inp["x"], inp["t_x"], inp["T"])
    after = full.set_index("user_id")["purchase_days"].reindex(calibration["user_id"]).to_numpy()
    actual = after - calibration["purchase_days"].to_numpy()
    d = pd.DataFrame({"x": inp["x"].astype(int).clip(upper=7), "predicted": pred, "actual": actual})
    by_x = d.groupby("x").agg(users=("predicted", "size"), predicted=("predicted", "mean"),
                              actual=("actual", "mean")).reset_index()
    by_x["x"] = by_x["x"].map(lambda v: "7+" if v == 7 else str(v))
    corr = float(np.corrcoef(pred, actual)[0, 1]) if len(d) > 2 and np.std(actual) > 0 else float("nan")
    summary = {"days": int(horizon_days), "users": int(len(d)), "predicted": float(pred.sum()),
               "actual": float(actual.sum()), "ratio": float(pred.sum() / actual.sum()) if actual.sum() else None,
               "mae": float(np.mean(np.abs(pred - actual))), "corr": corr}
    return fit, by_x, summary


# ---------------------------------------------------------------------------------------------- charts
def plot_segments(summary: pd.DataFrame, *, ax=None):
    """Share of customers and share of revenue per segment (horizontal bars, first segment on top).

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.45 * len(summary) + 1.5))
    pos = np.arange(len(summary))[::-1]
    has_rev = summary["revenue_share"].notna().any()
    h = 0.4 if has_rev else 0.7
    ax.barh(pos + (0.2 if has_rev else 0), summary["share"], height=h, label="客户占比 share of customers", color="C0")
    if has_rev:
        ax.barh(pos - 0.2, summary["revenue_share"].fillna(0), height=h, label="收入占比 share of revenue", color="C1")
    ax.set_yticks(pos, summary["label"])
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.legend(fontsize="small", loc="lower right")
    ax.grid(False, axis="y")
    ax.set_title("客户分群 Segments: customers" + (" and revenue" if has_rev else ""))
    ax.set_xlabel("占比 share")
    ax.set_ylabel("分群 segment")
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
    labels = dict(xlabel="F 分 frequency score (5 = 最多 most orders)", ylabel="R 分 recency score (5 = 最近)", ax=ax)
    if value == "users":
        return plot_heatmap(matrix, title="R × F 客户数 Customers by R and F score", fmt=",.0f", **labels)
    return plot_heatmap(matrix, title=f"R × F 平均消费额 Mean monetary value ({currency})", fmt=",.0f",
                        cmap="Oranges", **labels)


def plot_segment_bgnbd(summary: pd.DataFrame, *, ax=None):
    """Mean BG/NBD probability alive per segment (horizontal bars).

    Returns
    -------
    matplotlib Axes
    """
    from .plots import plot_bar

    t = summary[summary["users"] > 0]
    return plot_bar(t, x="label", y="mean_p_alive_repeat", horizontal=True, fmt="pct", ax=ax,
                    title="复购客户平均存活概率 Mean P(alive) of repeat buyers (BG/NBD)",
                    xlabel="存活概率 P(alive) (– = 无复购客户 no repeat buyers)", ylabel="分群 segment")


def plot_bgnbd_check(by_x: pd.DataFrame, *, days: int, ax=None):
    """Holdout check: mean predicted vs actual purchase days per customer, by repeat purchase days in the
    calibration period.

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    pos = np.arange(len(by_x))
    ax.bar(pos - 0.2, by_x["actual"], width=0.4, label="实际 actual", color="C0")
    ax.bar(pos + 0.2, by_x["predicted"], width=0.4, label="模型预测 BG/NBD predicted", color="C1")
    ax.set_xticks(pos, by_x["x"])
    ax.legend(fontsize="small")
    ax.grid(False, axis="x")
    ax.set_title(f"留出期检验 Holdout check: purchase days in the last {days} days")
    ax.set_xlabel("校准期重复购买天数 repeat purchase days before the holdout")
    ax.set_ylabel("人均购买天数 mean purchase days")
    return ax


# ------------------------------------------------------------------------------------------- report
@dataclass
class RFMResult:
    """Everything the RFM report shows (see :func:`run_rfm`)."""

    available: bool
    reason: str = ""
    scheme: str = "named11"
    as_of: pd.Timestamp | None = None
    source: str = "orders"
    returns: str = "exclude"
    scored: pd.DataFrame | None = None
    summary: pd.DataFrame | None = None
    summary_named: pd.DataFrame | None = None
    summary_cn8: pd.DataFrame | None = None
    heatmap: pd.DataFrame | None = None
    heatmap_m: pd.DataFrame | None = None
    binning: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    currency: str = "¥"
    has_monetary: bool = False
    bgnbd: dict = field(default_factory=dict)
    bgnbd_fit: BGNBDFit | None = None
    bgnbd_check: pd.DataFrame | None = None

    @property
    def summary_other(self) -> pd.DataFrame | None:
        return self.summary_cn8 if self.scheme == "named11" else self.summary_named

    def membership(self) -> pd.DataFrame | None:
        """The segment membership table for CRM: ``user_id``, ``recency_days``, ``frequency``, ``monetary``,
        ``aov``, ``tenure_days``, ``r_score``, ``f_score``, ``m_score``, ``fm_score``, ``rfm_code``,
        ``segment`` (main scheme), ``segment_named``, ``segment_cn8``, and with BG/NBD ``p_alive``,
        ``expected_purchases``."""
        if self.scored is None:
            return None
        cols = ["user_id", "recency_days", "frequency", "monetary", "aov", "tenure_days", "r_score", "f_score",
                "m_score", "fm_score", "rfm_code", "segment", "segment_named", "segment_cn8", "p_alive",
                "expected_purchases"]
        return self.scored[[c for c in cols if c in self.scored]]

    def tables(self) -> dict[str, pd.DataFrame]:
        """The CSVs next to results/rfm.json: ``segments`` (main scheme), ``segments_other``, ``membership``
        and ``bgnbd_holdout`` (when the holdout check ran); empty when unavailable."""
        if not self.available:
            return {}
        out = {"segments": self.summary, "segments_other": self.summary_other, "membership": self.membership()}
        if self.bgnbd_check is not None:
            out["bgnbd_holdout"] = self.bgnbd_check
        return out

    def to_results(self) -> dict:
        """The ``results/rfm.json`` keys (docs/rfm.md); the same keys with nulls when unavailable."""
        bg = dict(_BGNBD_KEYS) | self.bgnbd
        if not self.available:
            return {"available": False, "reason": self.reason, "scheme": self.scheme, "as_of": None,
                    "source": None, "returns": self.returns, "users": 0, "has_monetary": False, "revenue": None,
                    "binning": None, "notes": [], "segments": [], "segments_named": [], "segments_cn8": [],
                    "bgnbd": bg | {"reason": bg["reason"] or self.reason}}
        recs = lambda df: df.to_dict(orient="records")  # noqa: E731
        return {"available": True, "reason": None, "scheme": self.scheme, "as_of": str(self.as_of.date()),
                "source": self.source, "returns": self.returns, "users": int(len(self.scored)),
                "has_monetary": self.has_monetary,
                "revenue": float(self.scored["monetary"].sum()) if self.has_monetary else None,
                "binning": self.binning, "notes": self.notes, "segments": recs(self.summary),
                "segments_named": recs(self.summary_named), "segments_cn8": recs(self.summary_cn8), "bgnbd": bg}


#: results/rfm.json "bgnbd" keys, null when the model was not fitted (docs/rfm.md)
_BGNBD_KEYS = {"available": False, "reason": None, "time_unit": "day", "horizon_days": None, "params": None,
               "loglik": None, "converged": None, "at_bound": None, "users": None, "repeat_buyers": None,
               "span_days": None, "mean_p_alive_repeat": None, "users_p_alive_below_half": None,
               "expected_purchases": None, "holdout": None, "holdout_reason": None, "caveats": []}


def _orders_source(ctx):
    p = ctx.cfg.rfm
    if ctx.has("orders"):
        return ctx.table("orders"), "orders"
    if ctx.has("events"):
        ev = ctx.table("events")
        o = ev.filter(ev["event"].isin(p.buy_events))
        if "order_id" not in o.columns:
            o = o.mutate(order_id=o["user_id"].cast("string").concat("|", o["ts"].cast("string")))
        else:  # events without an order id: one order per event time
            fallback = o["user_id"].cast("string").concat("|", o["ts"].cast("string"))
            o = o.mutate(order_id=o["order_id"].fill_null(fallback))
        return o, f"events {p.buy_events}"
    return None, None


def run_rfm(ctx) -> RFMResult:
    """The RFM report's computations for a campaign, from its ``rfm:`` params (docs/rfm.md).

    Orders come from the clean orders table, else from the ``buy_events`` of the events table. Returns an
    :class:`RFMResult`; ``available`` is False (with a ``reason``) when there are no orders.
    """
    p = ctx.cfg.rfm
    orders, source = _orders_source(ctx)
    if orders is None:
        return RFMResult(False, "没有订单表或事件表 no orders or events table", scheme=p.scheme, returns=p.returns)
    table = rfm_table(orders, as_of=p.as_of, returns=p.returns)
    if table.empty:
        return RFMResult(False, f"没有订单 no orders in the data (source: {source})", scheme=p.scheme,
                         returns=p.returns)
    scored = rfm_scores(table, bins=p.bins)
    scored["segment_named"] = segment_named(scored)
    scored["segment_cn8"] = segment_cn8(scored)
    scored["segment"] = scored["segment_named" if p.scheme == "named11" else "segment_cn8"]
    notes = list(scored.attrs["notes"])
    if table.attrs["negative_rows"]:
        what = ("已忽略 ignored" if p.returns == "exclude" else "已从 M 中扣除 subtracted from M")
        notes.append(f"{table.attrs['negative_rows']:,} 行负金额（退货）{what}: {table.attrs['negative_rows']:,} rows "
                     f"with a negative amount (returns), rfm.returns = {p.returns}")
    res = RFMResult(True, scheme=p.scheme, as_of=table.attrs["as_of"], source=source, returns=p.returns,
                    scored=scored, notes=notes, currency=p.currency, has_monetary=table.attrs["has_monetary"],
                    binning=scored.attrs["binning"])
    if p.bgnbd:
        _add_bgnbd(res, orders, table, p)
    else:
        res.bgnbd = {"reason": "未启用 disabled (rfm.bgnbd: false)"}
    res.summary_named = segment_summary(scored.assign(segment=scored["segment_named"]), scheme="named11")
    res.summary_cn8 = segment_summary(scored.assign(segment=scored["segment_cn8"]), scheme="cn8")
    res.summary = res.summary_named if p.scheme == "named11" else res.summary_cn8
    res.heatmap = rf_heatmap(scored)
    res.heatmap_m = rf_heatmap(scored, value="monetary") if res.has_monetary else None
    return res


def _add_bgnbd(res: RFMResult, orders, table: pd.DataFrame, p) -> None:
    inp = bgnbd_inputs(table)
    repeaters = int((inp["x"] > 0).sum())
    if len(inp) < 30 or repeaters < 10:
        res.bgnbd = {"reason": f"客户或复购太少 too few customers ({len(inp)}) or repeat buyers ({repeaters}) "
                               "to fit BG/NBD (needs 30 and 10)"}
        return
    fit = fit_bgnbd(inp["x"], inp["t_x"], inp["T"])
    h = p.bgnbd_horizon_days
    sc = res.scored
    sc["p_alive"] = bgnbd_p_alive(fit, inp["x"], inp["t_x"], inp["T"])
    sc["expected_purchases"] = bgnbd_expected(fit, h, inp["x"], inp["t_x"], inp["T"])
    res.bgnbd_fit = fit
    span = int((table["last_ts"].max().normalize() - table["first_ts"].min().normalize()).days) + 1
    holdout, hold_reason = None, None
    if p.bgnbd_holdout and span >= 2 * h:
        cal = rfm_table(orders, as_of=res.as_of - pd.Timedelta(days=h), returns=p.returns)
        if len(cal) >= 30 and int((cal["purchase_days"] > 1).sum()) >= 10:
            cal_fit, res.bgnbd_check, holdout = bgnbd_holdout_check(cal, table, horizon_days=h)
            holdout |= {"params": {"r": cal_fit.r, "alpha": cal_fit.alpha, "a": cal_fit.a, "b": cal_fit.b},
                        "converged": cal_fit.converged, "at_bound": cal_fit.at_bound}
        else:
            hold_reason = "留出期之前的客户太少 too few customers before the holdout"
    elif p.bgnbd_holdout:
        hold_reason = (f"数据跨度 {span} 天不足 {2 * h} 天，未做留出期检验 data span {span} days < 2 x horizon "
                       f"({2 * h} days): no holdout check")
    caveats = []
    if fit.at_bound or not fit.converged:
        caveats.append("参数未被数据确定（到达搜索边界或未收敛），概率仅供参考 parameters not pinned down by the data "
                       "(at a search limit or not converged): read P(alive) as indicative only")
    if h > span:
        caveats.append(f"预测期 {h} 天长于数据跨度 {span} 天，属外推 the {h}-day horizon is longer than the {span} "
                       "days of data: an extrapolation")
    res.bgnbd = {"available": True, "reason": None, "time_unit": "day", "horizon_days": h,
                 "params": {"r": fit.r, "alpha": fit.alpha, "a": fit.a, "b": fit.b}, "loglik": fit.loglik,
                 "converged": fit.converged, "at_bound": fit.at_bound, "users": fit.n, "repeat_buyers": repeaters,
                 "span_days": span, "mean_p_alive_repeat": float(sc.loc[sc["purchase_days"] > 1, "p_alive"].mean()),
                 "users_p_alive_below_half": int((sc["p_alive"] < 0.5).sum()),
                 "expected_purchases": float(sc["expected_purchases"].sum()), "holdout": holdout,
                 "holdout_reason": hold_reason, "caveats": caveats}


def rfm_findings(res: RFMResult) -> list[str]:
    """Key findings in plain words and numbers (Chinese + English), as shown first in the report."""
    from .fmt import fmt_int, fmt_money, fmt_num, fmt_pct

    if not res.available:
        return [f"无法计算 RFM cannot compute RFM: {res.reason}."]
    s, sc = res.summary, res.scored
    med_m = f", M {fmt_money(sc['monetary'].median(), res.currency)}" if res.has_monetary else ""
    out = [f"{fmt_int(len(sc))} 位客户 customers, 参考日 as of {res.as_of:%Y-%m-%d} (来源 source: {res.source}); "
           f"中位数 median R {sc['recency_days'].median():.0f} 天 days, F {sc['frequency'].median():.0f} 单 orders"
           f"{med_m}."]
    live = s[s["users"] > 0]
    if res.has_monetary:
        top = live.sort_values(["revenue_share", "segment"], ascending=[False, True]).iloc[0]
        out.append(f"收入最集中 most revenue: **{top['label']}** — {fmt_pct(top['share'])} 的客户 of customers bring "
                   f"**{fmt_pct(top['revenue_share'])}** 的收入 of revenue.")
    big = live.sort_values(["users", "segment"], ascending=[False, True]).iloc[0]
    out.append(f"最大分群 largest segment: **{big['label']}** ({fmt_int(big['users'])}, {fmt_pct(big['share'])}); "
               f"建议 action: {big['action']}.")
    risk = live[live["segment"].isin(["At Risk", "Can't Lose Them", "重要保持客户", "重要挽留客户"])]
    if len(risk):
        rev = (f"; 合计收入占比 together {fmt_pct(risk['revenue_share'].sum())} of revenue"
               if res.has_monetary else "")
        out.append("需要挽留 to win back: " + ", ".join(f"{r.label} {fmt_int(r.users)}" for r in risk.itertuples())
                   + rev + ".")
    other = res.summary_other[res.summary_other["users"] > 0]
    name = "8 类 8-class" if res.scheme == "named11" else "11 类 named"
    o = other.sort_values(["users", "segment"], ascending=[False, True]).iloc[0]
    out.append(f"{name} 分群中最大 largest in the other scheme: {o['label']} ({fmt_int(o['users'])}, "
               f"{fmt_pct(o['share'])}).")
    bg = res.bgnbd
    if bg.get("available"):
        lowp = bg["users_p_alive_below_half"]
        txt = (f"BG/NBD: 预计未来 {bg['horizon_days']} 天共 {fmt_num(bg['expected_purchases'], 0)} 个购买日 "
               f"expected purchase days in the next {bg['horizon_days']} days; 平均存活概率 mean P(alive) "
               f"{fmt_pct(bg['mean_p_alive_repeat'])} (复购客户 repeat buyers), {fmt_int(lowp)} 位客户 customers below 50%")
        ho = bg.get("holdout")
        if ho:
            txt += (f"; 留出期检验 holdout check (last {ho['days']} days): 预测 predicted {fmt_num(ho['predicted'], 0)} "
                    f"vs 实际 actual {fmt_num(ho['actual'], 0)} (×{fmt_num(ho['ratio'], 2)})")
        out.append(txt + ".")
        out += [f"BG/NBD 注意 caveat: {c}." for c in bg.get("caveats", [])]
    elif bg.get("reason"):
        out.append(f"BG/NBD 未计算 not fitted: {bg['reason']}.")
    out += [f"注意 Note: {n}." for n in res.notes]
    return out


def rfm_headline(res: RFMResult) -> list[dict]:
    """Headline numbers for the campaign index page."""
    from .fmt import fmt_int, fmt_pct
    from .report import headline

    if not res.available:
        return [headline("RFM", None, "n/a")]
    s = res.summary
    out = [headline("customers 客户数", int(len(res.scored)), fmt_int(len(res.scored)))]
    champ = s[s["segment"].isin(["Champions", "重要价值客户"])]
    if len(champ):
        c = champ.iloc[0]
        out.append(headline(f"{c['label']} share 占比", float(c["share"]), fmt_pct(c["share"])))
        if res.has_monetary and pd.notna(c["revenue_share"]):
            out.append(headline(f"{c['label']} revenue share 收入占比", float(c["revenue_share"]),
                                fmt_pct(c["revenue_share"])))
    return out


def _binning_table(res: RFMResult) -> pd.DataFrame:
    rows = []
    for key in ("R", "F", "M"):
        b = res.binning.get(key)
        if b is None:
            rows.append({"score": key, "column": "monetary", "distinct": None, "bins": None,
                         "scores used": "– (no amounts)", "largest tie": "–"})
            continue
        t = b["largest_tie"]
        rows.append({"score": key, "column": b["column"], "distinct": b["distinct"], "bins": b["bins"],
                     "scores used": ", ".join(map(str, b["scores"])) + (" (fallback)" if b["fallback"] else ""),
                     "largest tie": f"{t['value']:g}: {t['users']:,} ({t['share']:.0%}) → scores "
                                    f"{t['scores'][0]}–{t['scores'][1]}"})
    return pd.DataFrame(rows)


def _bgnbd_table(res: RFMResult) -> pd.DataFrame:
    bg = res.bgnbd
    p = bg["params"]
    rows = [("r", p["r"], "购买率的 gamma 形状 shape of the purchase-rate gamma"),
            ("alpha (days)", p["alpha"], "购买率的 gamma 尺度 scale; mean rate r/alpha per day"),
            ("a", p["a"], "流失概率的 beta 参数 beta of the drop-out probability"),
            ("b", p["b"], "流失概率的 beta 参数 beta of the drop-out probability"),
            ("mean purchase rate / 30 days", 30 * p["r"] / p["alpha"], "平均每 30 天购买天数 (if alive)"),
            ("mean drop-out prob.", p["a"] / (p["a"] + p["b"]), "每次复购后流失概率均值 after each repeat purchase"),
            ("log-likelihood", bg["loglik"], f"{bg['users']:,} customers")]
    out = pd.DataFrame(rows, columns=["parameter", "value", "meaning"])
    out["value"] = [f"{v:,.1f}" if abs(v) >= 1000 else f"{v:.4g}" for v in out["value"]]
    return out


def show_rfm(res: RFMResult, part: str):
    """Display one part of the report: ``segments``, ``chart``, ``rules``, ``heatmap``, ``heatmap_m``,
    ``other``, ``other_chart``, ``binning``, ``bgnbd``, ``bgnbd_chart``, ``bgnbd_check``, ``members``."""
    from IPython.display import Markdown, display

    from .fmt import style_table

    if not res.available:
        display(Markdown(f"_{res.reason}_"))
        return None
    fmt = dict(int_cols=["users"], pct_cols=["share", "revenue_share", "mean_p_alive_repeat"],
               money_cols=["revenue", "mean_m"], num_cols=["mean_r", "mean_f", "expected_purchases"],
               currency=res.currency)
    if part == "segments":
        return display(style_table(res.summary, **fmt))
    if part == "chart":
        return plot_segments(res.summary)
    if part == "other":
        return display(style_table(res.summary_other, **fmt))
    if part == "other_chart":
        return plot_segments(res.summary_other)
    if part == "rules":
        return display(style_table(named_rules_table()))
    if part == "heatmap":
        return plot_rf_heatmap(res.heatmap)
    if part == "heatmap_m":
        if res.heatmap_m is None:
            return display(Markdown("_没有金额，无法显示平均消费额 no amounts in this data: no monetary heatmap._"))
        return plot_rf_heatmap(res.heatmap_m, value="monetary", currency=res.currency)
    if part == "binning":
        return display(style_table(_binning_table(res), int_cols=["distinct", "bins"]))
    if part in ("bgnbd", "bgnbd_chart", "bgnbd_check"):
        bg = res.bgnbd
        if not bg.get("available"):
            return display(Markdown(f"_BG/NBD 未计算 not fitted: {bg.get('reason')}_"))
        if part == "bgnbd":
            return display(style_table(_bgnbd_table(res)))
        if part == "bgnbd_chart":
            return plot_segment_bgnbd(res.summary)
        if res.bgnbd_check is None:
            return display(Markdown(f"_{bg.get('holdout_reason') or 'no holdout check'}_"))
        return plot_bgnbd_check(res.bgnbd_check, days=bg["holdout"]["days"])
    if part == "members":
        m = res.membership()
        return display(style_table(m.head(10), money_cols=["monetary", "aov"], pct_cols=["p_alive"],
                                   num_cols=["fm_score", "expected_purchases"], currency=res.currency))
    raise ValueError(f"unknown part {part!r}; parts: segments, chart, rules, heatmap, heatmap_m, other, "
                     "other_chart, binning, bgnbd, bgnbd_chart, bgnbd_check, members")
