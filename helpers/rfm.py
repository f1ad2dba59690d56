"""RFM: recency, frequency, monetary value per customer, 1-5 scores, two segment schemes, and the report
with the BG/NBD model's probability alive and expected purchases next to the segments.

The per-customer aggregation is one Ibis expression (DuckDB or Spark; one row per customer comes back);
scoring and segmenting work on that small per-customer table in pandas. The BG/NBD model is its own module
(``helpers.bgnbd``). Exact rules, segment tables and results keys: docs/rfm.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from . import rfm_fast
from .base import Report, ReportUnavailable, Unavailable
from .bgnbd import (
    BGNBDFit,
    bgnbd_expected,
    bgnbd_holdout_check,
    bgnbd_inputs,
    bgnbd_p_alive,
    bgnbd_params_table,
    fit_bgnbd,
    plot_bgnbd_check,
    plot_segment_bgnbd,
)
from .clv import CLV_TABLES, CLVResult, clv_for_rfm
from .engine import as_table, money_sum
from .errors import MissingColumnError
from .features import campaign_orders, purchase_event_names
from .fmt import fmt_range, md_escape
from .i18n import localized, t
from .rfm_segments import (
    ACTIONS,
    CN8,
    CN8_ORDER,
    NAMED_RULES,
    named_rules_table,
    plot_rf_heatmap,
    plot_segments,
    rf_heatmap,
    segment_cn8,
    segment_label,
    segment_named,
    segment_summary,
)
from .rfm_text import rfm_findings, rfm_headline

__all__ = [
    "RFMTable",
    "RFMScores",
    "rfm_table",
    "score_column",
    "rfm_scores",
    "segment_named",
    "segment_cn8",
    "segment_summary",
    "rf_heatmap",
    "NAMED_RULES",
    "CN8",
    "CN8_ORDER",
    "ACTIONS",
    "named_rules_table",
    "plot_segments",
    "plot_rf_heatmap",
    "RFMReport",
    "run_rfm",
]

RETURNS_MODES = ("exclude", "net")


# ---------------------------------------------------------------------------------------- per customer
@dataclass(frozen=True)
class RFMTable:
    """What :func:`rfm_table` returns: ``table`` (one row per customer, see :func:`rfm_table`), ``as_of`` (the
    reference day), ``has_monetary`` (the data has amounts), ``returns`` (the ``returns`` mode used) and
    ``negative_rows`` (rows with a negative amount: ignored with ``exclude``, netted with ``net``)."""

    table: pd.DataFrame
    as_of: pd.Timestamp
    has_monetary: bool
    returns: str
    negative_rows: int


def rfm_table(
    orders,
    *,
    user_col: str = "user_id",
    order_col: str = "order_id",
    ts_col: str = "ts",
    amount_col: str = "amount",
    as_of=None,
    returns: str = "exclude",
    fast: bool = True,
) -> RFMTable:
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
    fast : bool
        On DuckDB, aggregate with one hand-written query (:mod:`helpers.rfm_fast`, tested equal to the portable
        path); False = the portable Ibis expression (the only path on Spark).

    Returns
    -------
    RFMTable
        ``as_of`` (Timestamp), ``has_monetary``, ``returns``, ``negative_rows`` and ``table``, a DataFrame with
        one row per customer with at least one purchase row, sorted by ``user_id``:
        ``user_id`` (str); ``recency_days`` (whole days from the local date of the last order to ``as_of``;
        1 = ordered the day before ``as_of``); ``frequency`` (distinct ``order_id``); ``monetary`` (sum of
        the amounts of the customer's rows; NaN when the data has no amounts); ``aov`` (average order value
        = monetary / frequency); ``tenure_days`` (days from the first order's local date to ``as_of``);
        ``purchase_days`` (distinct local dates with an order, for BG/NBD); ``first_ts``, ``last_ts``
        (``datetime64[us]`` on every engine).
    """
    import ibis

    if returns not in RETURNS_MODES:
        raise ValueError(f"returns must be one of {RETURNS_MODES}, got {returns!r} (params: rfm.returns)")
    t = as_table(orders)
    missing = [c for c in (user_col, order_col, ts_col) if c not in t.columns]
    if missing:
        raise MissingColumnError(
            "orders", missing[0], t.columns, hint="pass user_col=/order_col=/ts_col= or map them in the campaign params"
        )
    if as_of is not None:
        as_of = pd.Timestamp(as_of).normalize()
        t = t.filter(t[ts_col] < ibis.literal(as_of.to_pydatetime()))
    has_amount = amount_col in t.columns
    exclude = has_amount and returns == "exclude"
    if fast and rfm_fast.applies(t):  # DuckDB: one hand-written query, tested equal (helpers/rfm_fast.py)
        amount = amount_col if has_amount else None
        df, negative_rows = rfm_fast.aggregate(
            t, user_col=user_col, order_col=order_col, ts_col=ts_col, amount_col=amount, exclude=exclude
        )
    else:
        df, negative_rows = _aggregate(t, user_col, order_col, ts_col, amount_col, has_amount, exclude)
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
    cols = [
        "user_id",
        "recency_days",
        "frequency",
        "monetary",
        "aov",
        "tenure_days",
        "purchase_days",
        "first_ts",
        "last_ts",
    ]
    out = df[cols].astype({"user_id": str}).sort_values("user_id", ignore_index=True)
    return RFMTable(out, as_of, bool(has_monetary), returns, negative_rows)


def _aggregate(t, user_col, order_col, ts_col, amount_col, has_amount: bool, exclude: bool):
    """The portable per-customer aggregation (Ibis, any engine): ``(df, negative_rows)``, see :func:`rfm_table`."""
    import ibis

    # negative rows are never orders (buy is False for them); "exclude" also leaves them out of M, in the same
    # query (one scan): their count over every user comes from a window before the frequency filter
    buy = (t[amount_col].cast("float64") >= 0).fill_null(True) if has_amount else ibis.literal(True)
    aggs = {
        "first_ts": t[ts_col].min(where=buy),
        "last_ts": t[ts_col].max(where=buy),
        "frequency": t[order_col].nunique(where=buy),
        "purchase_days": t[ts_col].date().nunique(where=buy),
    }
    if has_amount:
        amt = t[amount_col].cast("float64")
        kept = {"where": (amt >= 0).fill_null(True)} if exclude else {}
        aggs |= {
            "monetary": money_sum(amt, **kept),  # exact: the same on every engine
            "_n_amount": amt.count(**kept),
            "_n_negative": (amt < 0).sum(),
        }
    g = t.group_by(user_id=t[user_col].cast("string")).aggregate(**aggs)
    if exclude:
        g = g.mutate(_neg_all=g["_n_negative"].sum().over(ibis.window()).fill_null(0))
    df = g.filter(g["frequency"] > 0).to_pandas()
    if exclude:
        if len(df):
            negative_rows = int(df["_neg_all"].iloc[0])
        else:  # nobody ordered: count the negative rows on their own
            negative_rows = int(t.filter(t[amount_col].cast("float64") < 0).count().execute())
    else:
        negative_rows = int(df["_n_negative"].fillna(0).sum()) if has_amount else 0
    return df, negative_rows


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
        order = np.lexsort(
            (
                tb.astype(str).to_numpy() if tb.dtype == object or pd.api.types.is_string_dtype(tb) else tb.to_numpy(),
                v.to_numpy(),
            )
        )
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
    return {
        "column": label,
        "distinct": int(v.nunique()),
        "bins": int(used),
        "fallback": bool(used < bins),
        "scores": sorted(int(s) for s in scores.unique()),
        "largest_tie": {
            "value": float(top_value),
            "users": int(counts.iloc[0]),
            "share": float(counts.iloc[0] / len(v)),
            "scores": [int(members.min()), int(members.max())],
        },
    }


@dataclass(frozen=True)
class RFMScores:
    """What :func:`rfm_scores` returns: ``scored`` (the per-customer table with scores), ``binning`` (per R/F/M
    how the scores were cut), ``notes`` (what the report must say) and ``bins`` (the bins asked for)."""

    scored: pd.DataFrame
    binning: dict
    notes: list[str]
    bins: int


def rfm_scores(table: pd.DataFrame | RFMTable, *, bins: int = 5) -> RFMScores:
    """Add 1-5 scores and codes to the per-customer table of :func:`rfm_table` (its ``table``, or the
    :class:`RFMTable` itself); the input is not changed.

    R is reversed (5 = most recent fifth), F and M ascending; ties are broken by ``user_id`` (see
    :func:`score_column`). A constant column scores 5 for R and 1 for F and M (nobody stands out).

    Returns
    -------
    RFMScores
        ``scored``: the input columns plus ``r_score``, ``f_score``, ``m_score`` (Int64, missing when there
        are no amounts), ``fm_score`` (mean of F and M scores; = F score without amounts) and ``rfm_code``
        ("545"; "54" without amounts). ``binning``: per R/F/M the distinct values, bins used, whether it fell
        back to fewer bins, and the largest tie group with the scores it spans (None for M without amounts).
        ``notes``: what the report must say (fallbacks, no amounts, a tie group of 10 %+ of customers split
        over several scores). ``bins``: as given.
    """
    out = (table.table if isinstance(table, RFMTable) else table).copy()
    notes: list[str] = []
    binning: dict[str, dict | None] = {}
    ids = out["user_id"].astype(str)
    spec = [("R", "recency_days", True, 5), ("F", "frequency", False, 1)]
    has_m = bool(out["monetary"].notna().any())
    if has_m:
        if out["monetary"].isna().any():
            notes.append(t("rfm.note.no_amount", users=f"{int(out['monetary'].isna().sum()):,}"))
        spec.append(("M", "monetary", False, 1))
    for key, col, rev, const in spec:
        vals = out[col].astype(float).fillna(0.0)
        s, used = score_column(vals, bins=bins, reverse=rev, tiebreak=ids, constant_score=const)
        out[f"{key.lower()}_score"] = s.astype("Int64")
        info = _binning_info(vals, s, used, bins, col)
        binning[key] = info
        if info["distinct"] == 1:
            notes.append(t("rfm.note.constant", key=key, score=const))
        elif info["fallback"]:
            notes.append(t("rfm.note.fallback", key=key, distinct=info["distinct"], used=used, bins=bins))
        tie = info["largest_tie"]
        if not info["fallback"] and tie["scores"][0] != tie["scores"][1] and tie["share"] >= 0.1:
            scores = fmt_range(str(tie["scores"][0]), str(tie["scores"][1]))
            notes.append(
                t("rfm.note.tie", key=key, share=f"{tie['share']:.0%}", value=f"{tie['value']:g}", scores=scores)
            )
    if not has_m:
        out["m_score"] = pd.array([pd.NA] * len(out), dtype="Int64")
        binning["M"] = None
        notes.append(t("rfm.note.no_m"))
        out["fm_score"] = out["f_score"].astype(float)
        out["rfm_code"] = out["r_score"].astype(str) + out["f_score"].astype(str)
    else:
        out["fm_score"] = (out["f_score"].astype(float) + out["m_score"].astype(float)) / 2
        out["rfm_code"] = out["r_score"].astype(str) + out["f_score"].astype(str) + out["m_score"].astype(str)
    return RFMScores(out, binning, notes, bins)


# ------------------------------------------------------------------------------------------- report
#: results/rfm.json "bgnbd" keys, null when the model was not fitted (docs/rfm.md)
_BGNBD_KEYS: dict[str, Any] = {
    "available": False,
    "reason": None,
    "time_unit": "day",
    "horizon_days": None,
    "params": None,
    "loglik": None,
    "converged": None,
    "at_bound": None,
    "users": None,
    "repeat_buyers": None,
    "span_days": None,
    "mean_p_alive_repeat": None,
    "users_p_alive_below_half": None,
    "expected_purchases": None,
    "holdout": None,
    "holdout_reason": None,
    "caveats": [],
}


@dataclass(repr=False)
class RFMReport(Report):
    """The RFM report. Frames: ``scored`` (one row per customer: R/F/M, scores, both segments and, with
    BG/NBD, ``p_alive`` and ``expected_purchases``), ``summary`` (main scheme), ``summary_named``,
    ``summary_cn8``, ``heatmap`` (R x F customers), ``heatmap_m`` (mean M; None without amounts),
    ``bgnbd_check`` (holdout check by repeat purchase days, or None); ``bgnbd_fit`` (:class:`BGNBDFit` or None)."""

    name: ClassVar[str] = "rfm"
    title: ClassVar[str] = localized("rfm.title")
    parts: ClassVar[tuple[str, ...]] = (
        "segments",
        "chart",
        "other",
        "other_chart",
        "heatmap",
        "heatmap_m",
        "binning",
        "rules",
        "bgnbd",
        "bgnbd_chart",
        "bgnbd_check",
        "clv",
        "clv_top",
        "models",
        "members",
    )
    table_names: ClassVar[tuple[str, ...]] = ("segments", "segments_other", "membership", "bgnbd_holdout") + CLV_TABLES
    result_keys: ClassVar[tuple[str, ...]] = (
        "scheme",
        "as_of",
        "source",
        "returns",
        "users",
        "has_monetary",
        "revenue",
        "binning",
        "notes",
        "segments",
        "segments_named",
        "segments_cn8",
        "bgnbd",
        "clv",
    )
    unavailable_label: ClassVar[str] = localized("rfm.unavailable_label")
    glossary: ClassVar[tuple[str, ...]] = ("rfm", "median", "bgnbd", "p_alive", "gamma_gamma", "clv", "ci95")

    scheme: str = "named11"
    as_of: pd.Timestamp | None = None
    source: str = "orders"
    purchase_events: list = field(default_factory=list)  # the purchase events as pages name them (none: orders)
    returns: str = "exclude"
    scored: pd.DataFrame = field(default_factory=pd.DataFrame)
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    summary_named: pd.DataFrame = field(default_factory=pd.DataFrame)
    summary_cn8: pd.DataFrame = field(default_factory=pd.DataFrame)
    heatmap: pd.DataFrame = field(default_factory=pd.DataFrame)
    heatmap_m: pd.DataFrame | None = None
    binning: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    currency: str = "¥"
    has_monetary: bool = False
    bgnbd: dict = field(default_factory=dict)
    bgnbd_fit: BGNBDFit | None = None
    bgnbd_check: pd.DataFrame | None = None
    clv: CLVResult = field(default_factory=CLVResult)
    #: the amounts mix currencies (ingest's ``currencies``): said second in the findings (helpers/caveats.py)
    currency_mix: str | None = None

    @classmethod
    def compute(cls, ctx) -> RFMReport:
        """The RFM report of a campaign, from its ``rfm:`` params (docs/rfm.md).

        Orders come from the clean orders table, else from the ``buy_events`` of the events table; without
        either, or without any order, the report is unavailable.
        """
        p = ctx.cfg.rfm
        orders, source = campaign_orders(ctx)  # the one purchase definition every report uses
        if orders is None:
            raise ReportUnavailable(t("rfm.no_orders_table"))
        rt = rfm_table(orders, as_of=p.as_of, returns=p.returns)
        if rt.table.empty:
            raise ReportUnavailable(t("rfm.no_orders", source=source))
        sc = rfm_scores(rt, bins=p.bins)
        scored = sc.scored
        scored["segment_named"] = segment_named(scored)
        scored["segment_cn8"] = segment_cn8(scored)
        scored["segment"] = scored["segment_named" if p.scheme == "named11" else "segment_cn8"]
        notes = list(sc.notes)
        if rt.negative_rows:
            key = "rfm.note.returns_exclude" if p.returns == "exclude" else "rfm.note.returns_subtract"
            notes.append(t(key, rows=f"{rt.negative_rows:,}", returns=p.returns))
        rep = cls(
            scheme=p.scheme,
            as_of=rt.as_of,
            source=source,
            purchase_events=purchase_event_names(ctx, source),
            returns=p.returns,
            scored=scored,
            notes=notes,
            currency=p.currency,
            has_monetary=rt.has_monetary,
            binning=sc.binning,
        )
        from .caveats import currency_caveat  # ¥ and $ in the amounts: M and the revenue shares mix currencies

        rep.currency_mix = currency_caveat(ctx, source, shown=p.currency) if rt.has_monetary else None
        if p.bgnbd:
            _add_bgnbd(rep, orders, rt.table, p)
        else:
            rep.bgnbd = {"reason": t("rfm.bgnbd_disabled")}
        rep.summary_named = segment_summary(scored.assign(segment=scored["segment_named"]), scheme="named11")
        rep.summary_cn8 = segment_summary(scored.assign(segment=scored["segment_cn8"]), scheme="cn8")
        rep.summary = rep.summary_named if p.scheme == "named11" else rep.summary_cn8
        rep.heatmap = rf_heatmap(scored)
        rep.heatmap_m = rf_heatmap(scored, value="monetary") if rep.has_monetary else None
        clv_p = getattr(ctx.cfg, "clv", None)
        rep.clv = clv_for_rfm(clv_p, orders, scored, rep.summary, as_of=rt.as_of, currency=p.currency)
        return rep

    @property
    def summary_other(self) -> pd.DataFrame:
        """The summary of the scheme that is not the main one."""
        return self.summary_cn8 if self.scheme == "named11" else self.summary_named

    def membership(self) -> pd.DataFrame:
        """The segment membership table for CRM: ``user_id``, ``recency_days``, ``frequency``, ``monetary``,
        ``aov``, ``tenure_days``, ``r_score``, ``f_score``, ``m_score``, ``fm_score``, ``rfm_code``,
        ``segment`` (main scheme), ``segment_named``, ``segment_cn8``, and with BG/NBD ``p_alive``,
        ``expected_purchases``."""
        cols = [
            "user_id",
            "recency_days",
            "frequency",
            "monetary",
            "aov",
            "tenure_days",
            "r_score",
            "f_score",
            "m_score",
            "fm_score",
            "rfm_code",
            "segment",
            "segment_named",
            "segment_cn8",
            "p_alive",
            "expected_purchases",
        ]
        return self.scored[[c for c in cols if c in self.scored]]

    def tables(self) -> dict[str, pd.DataFrame]:
        """The CSVs next to results/rfm.json: ``segments`` (main scheme), ``segments_other``, ``membership``
        (read by the churn and user_profile reports) and ``bgnbd_holdout`` (when the holdout check ran)."""
        out = {"segments": self.summary, "segments_other": self.summary_other, "membership": self.membership()}
        if self.bgnbd_check is not None:
            out["bgnbd_holdout"] = self.bgnbd_check
        return out | self.clv.tables()

    def to_results(self) -> dict:
        """The report-specific part of ``results/rfm.json`` (docs/rfm.md)."""
        recs = lambda df: df.to_dict(orient="records")  # noqa: E731
        return self._results(
            scheme=self.scheme,
            as_of=str(pd.Timestamp(self.as_of).date()),
            source=self.source,
            returns=self.returns,
            users=int(len(self.scored)),
            has_monetary=self.has_monetary,
            revenue=float(self.scored["monetary"].sum()) if self.has_monetary else None,
            binning=self.binning,
            notes=self.notes,
            segments=recs(self.summary),
            segments_named=recs(self.summary_named),
            segments_cn8=recs(self.summary_cn8),
            bgnbd=dict(_BGNBD_KEYS) | self.bgnbd,
            clv=self.clv.info,
        )

    def findings(self) -> list[str]:
        """Key findings in plain words and numbers (helpers/rfm_text.py), as shown first in the report."""
        return rfm_findings(self)

    def headline(self) -> list[dict]:
        """Headline numbers for the campaign index page (helpers/rfm_text.py)."""
        return rfm_headline(self)

    def _show(self, part: str):
        from IPython.display import Markdown

        from .fmt import drop_empty, style_table

        money = ("revenue", "revenue_share", "mean_m")  # empty without amounts: left out of the page
        fmt: dict[str, Any] = {
            "int_cols": ["users"],
            "pct_cols": ["share", "revenue_share", "mean_p_alive_repeat"],
            "money_cols": ["revenue", "mean_m"],
            "currency": self.currency,
            "num_cols": ["mean_r", "mean_f", "expected_purchases"],
        }
        if part == "segments":  # the page shows the segment's name (label), the CSV also its code
            return style_table(drop_empty(self.summary.drop(columns="segment", errors="ignore"), money), **fmt)
        if part == "chart":
            return plot_segments(self.summary)
        if part == "other":
            return style_table(drop_empty(self.summary_other.drop(columns="segment", errors="ignore"), money), **fmt)
        if part == "other_chart":
            return plot_segments(self.summary_other)
        if part == "rules":
            return style_table(named_rules_table().drop(columns="segment"))  # the page shows the name (label)
        if part == "heatmap":
            return plot_rf_heatmap(self.heatmap)
        if part == "heatmap_m":
            if self.heatmap_m is None:
                return Markdown(f"_{t('rfm.no_amounts')}_")
            return plot_rf_heatmap(self.heatmap_m, value="monetary", currency=self.currency)
        if part == "binning":
            return style_table(_binning_table(self.binning), int_cols=["distinct", "bins"])
        if part in ("bgnbd", "bgnbd_chart", "bgnbd_check"):
            bg = self.bgnbd
            if not bg.get("available") and part == "bgnbd_chart":
                return None  # the bgnbd part just above, in the same section, says why
            if not bg.get("available"):
                return Markdown(f"_{md_escape(t('rfm.bgnbd_not_fitted', reason=str(bg.get('reason')).rstrip('.')))}_")
            if part == "bgnbd":
                fit = self.bgnbd_fit
                return style_table(bgnbd_params_table(fit)) if fit is not None else None
            if part == "bgnbd_chart":
                return plot_segment_bgnbd(self.summary)
            if self.bgnbd_check is None:
                return Markdown(f"_{md_escape(bg.get('holdout_reason') or t('rfm.no_holdout'))}_")
            return plot_bgnbd_check(self.bgnbd_check, days=bg["holdout"]["days"])
        if part in ("clv", "clv_top", "models"):
            return self.clv.show(part)
        m = self.membership().head(10)  # "members"; segment codes as pages name them (the CSV keeps the codes)
        for c in ("segment", "segment_named", "segment_cn8"):
            if c in m:
                m[c] = m[c].map(lambda s: segment_label(s) if isinstance(s, str) else s)
        return style_table(
            m,
            money_cols=["monetary", "aov"],
            pct_cols=["p_alive"],
            num_cols=["fm_score", "expected_purchases"],
            currency=self.currency,
        )


def run_rfm(ctx) -> RFMReport | Unavailable:
    """:meth:`RFMReport.run`: the RFM report of a campaign (or its Unavailable twin)."""
    return RFMReport.run(ctx)


def _add_bgnbd(res: RFMReport, orders, table: pd.DataFrame, p) -> None:
    """Fit BG/NBD on the per-customer ``table``: P(alive) and expected purchases into ``res.scored``, the
    results dict into ``res.bgnbd``, the fit and the holdout check (when the data span 2 x horizon)."""
    inp = bgnbd_inputs(table)
    repeaters = int((inp["x"] > 0).sum())
    if len(inp) < 30 or repeaters < 10:
        res.bgnbd = {"reason": t("rfm.bgnbd_too_few", users=len(inp), repeaters=repeaters)}
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
        cal = rfm_table(orders, as_of=res.as_of - pd.Timedelta(days=h), returns=p.returns).table
        if len(cal) >= 30 and int((cal["purchase_days"] > 1).sum()) >= 10:
            cal_fit, res.bgnbd_check, holdout = bgnbd_holdout_check(cal, table, horizon_days=h)
            holdout |= {
                "params": {"r": cal_fit.r, "alpha": cal_fit.alpha, "a": cal_fit.a, "b": cal_fit.b},
                "converged": cal_fit.converged,
                "at_bound": cal_fit.at_bound,
            }
        else:
            hold_reason = t("rfm.holdout_too_few")
    elif p.bgnbd_holdout:
        hold_reason = t("rfm.holdout_short", span=span, needed=2 * h)
    caveats = []
    if fit.at_bound or not fit.converged:
        caveats.append(t("rfm.caveat_bound"))
    if h > span:
        caveats.append(t("rfm.caveat_extrapolation", horizon=h, span=span))
    res.bgnbd = {
        "available": True,
        "reason": None,
        "time_unit": "day",
        "horizon_days": h,
        "params": {"r": fit.r, "alpha": fit.alpha, "a": fit.a, "b": fit.b},
        "loglik": fit.loglik,
        "converged": fit.converged,
        "at_bound": fit.at_bound,
        "users": fit.n,
        "repeat_buyers": repeaters,
        "span_days": span,
        "mean_p_alive_repeat": float(sc.loc[sc["purchase_days"] > 1, "p_alive"].mean()),
        "users_p_alive_below_half": int((sc["p_alive"] < 0.5).sum()),
        "expected_purchases": float(sc["expected_purchases"].sum()),
        "holdout": holdout,
        "holdout_reason": hold_reason,
        "caveats": caveats,
    }


def _binning_table(binning: dict) -> pd.DataFrame:
    """The ``binning`` of :class:`RFMScores` as a table, one row per R/F/M."""
    rows = []
    for key in ("R", "F", "M"):
        b = binning.get(key)
        if b is None:
            rows.append(
                {
                    "score": key,
                    "column": "monetary",
                    "distinct": None,
                    "bins": None,
                    "scores used": t("rfm.bin.no_amounts"),
                    "largest tie": "–",
                }
            )
            continue
        tie = b["largest_tie"]
        rows.append(
            {
                "score": key,
                "column": b["column"],
                "distinct": b["distinct"],
                "bins": b["bins"],
                "scores used": ", ".join(map(str, b["scores"])) + (t("rfm.bin.fallback") if b["fallback"] else ""),
                "largest tie": t(
                    "rfm.bin.tie",
                    value=f"{tie['value']:g}",
                    users=f"{tie['users']:,}",
                    share=f"{tie['share']:.0%}",
                    scores=fmt_range(str(tie["scores"][0]), str(tie["scores"][1])),
                ),
            }
        )
    return pd.DataFrame(rows)
