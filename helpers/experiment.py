"""A/B experiment (实验分析): sample-ratio check, metric lifts with frequentist and Bayesian statistics, CUPED,
always-valid sequential intervals, power and segments.

Per-user values come from helpers.experiment_data (Ibis: DuckDB or Spark), statistics from helpers.abstats;
docs/experiment.md has every rule and formula.

Rules
-----
- SRM: chi-square of the analysed users per variant against the planned split; ``p < srm_alpha`` (0.001) fails
  the check, and then the findings, the headline and every results row say the results are untrustworthy.
- Each treatment variant is compared with the control: conversion by the two-proportion z-test (Beta-Binomial
  chance to beat), other metrics by Welch's t-test (normal chance to beat), ratio metrics by a z-test on the
  delta-method variance. Relative lifts get delta-method CIs. Holm adjusts the p-values across all
  (metric, variant) rows. A comparison where either group has fewer than ``min_users`` (10) users with a value is
  not tested (``test`` "too few users"; no p-value, interval or verdict): a group's variance is no estimate there.
- CUPED (``cuped_days``): conversion, count and revenue metrics are adjusted by the same metric over the
  ``cuped_days`` before each user's exposure (users without history: 0), theta pooled over all variants;
  when that cuts the variance by at least ``CUPED_MIN_REDUCTION`` (1 %) and every group's adjusted mean stays in
  the metric's range (a rate in 0-100 %, no negative mean of a metric without negative values), the adjusted
  metric is tested with Welch's t-test and normal Bayesian statistics (else the unadjusted one; the reduction is
  reported anyway).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import pandas as pd

from .base import Outcome, Report, ReportUnavailable, Unavailable
from .experiment_run import compute_experiment
from .experiment_stats import (
    CUPED_MIN_REDUCTION,
    MIN_TEST_USERS,
    RESULT_COLS,
    compare_one,
    compare_variants,
    power_table,
    sequential_table,
    srm_table,
)
from .i18n import column_label, column_word, localized, sentence_start, t
from .periods import cut_note

__all__ = [
    "RESULT_COLS", "compare_one", "compare_variants", "srm_table", "sequential_table", "power_table",
    "plot_sequential", "ExperimentReport", "run_experiment",
]  # fmt: skip


# ------------------------------------------------------------------------------------------- chart
def plot_sequential(
    seq: pd.DataFrame, metric: str, variant: str, *, ax=None, title: str | None = None, share: bool = False
):
    """The difference over the days of the test with its fixed-horizon CI and its always-valid confidence
    sequence (wider: valid at every daily look). ``title``: the chart's title (default: the metric's code);
    ``share``: the metric is a per-user share, its difference shown in percentage points. Returns the Axes."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3))
    s = seq[(seq["metric"] == metric) & (seq["variant"] == variant)]
    ax.fill_between(s["day"], s["cs_low"], s["cs_high"], color="C0", alpha=0.15, label=t("experiment.chart.cs"))
    ax.fill_between(s["day"], s["fixed_low"], s["fixed_high"], color="C0", alpha=0.3, label=t("experiment.chart.fixed"))
    ax.plot(s["day"], s["diff"], color="C0", marker="o", markersize=3, label=t("experiment.chart.diff"))
    ax.axhline(0, color="0.4", linewidth=0.8)
    ax.legend(fontsize="small")
    ax.set_title(title or t("experiment.chart.title", metric=metric, variant=variant))
    ax.set_xlabel(t("experiment.chart.day"))
    if share:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v * 100:.0f}"))
    ax.set_ylabel(t("experiment.chart.diff_axis_pp" if share else "experiment.chart.diff_axis"))
    ax.get_figure().autofmt_xdate()
    return ax


# ------------------------------------------------------------------------------------------- report
@dataclass(repr=False)
class ExperimentReport(Report):
    """The experiment report. Frames: ``srm`` (users per variant vs plan), ``results`` (metric x variant),
    ``sequential`` (per day), ``segments`` (per segment, or None), ``power``; ``users`` holds the analysed
    users' per-user values (kept in memory, not written)."""

    name: ClassVar[str] = "experiment"
    title: ClassVar[str] = localized("experiment.title")
    parts: ClassVar[tuple[str, ...]] = ("srm", "results", "sequential", "segments", "power")
    table_names: ClassVar[tuple[str, ...]] = ("srm", "results", "sequential", "segments", "power")
    result_keys: ClassVar[tuple[str, ...]] = (
        "experiment", "control", "variants", "srm_p_value", "srm_failed", "trustworthy", "excluded_multi_variant",
        "not_exposed", "metrics", "notes",
    )  # fmt: skip
    unavailable_label: ClassVar[str] = localized("experiment.unavailable_label")
    glossary: ClassVar[tuple[str, ...]] = (
        "srm", "z_test", "welch", "delta_method", "ci95", "p_value", "holm", "lift", "chance_to_beat", "expected_loss",
        "cuped", "confidence_sequence", "mde", "power",
    )  # fmt: skip

    experiment: str = ""
    control: str = ""
    alpha: float = 0.05
    srm_alpha: float = 0.001
    srm: pd.DataFrame = field(default_factory=pd.DataFrame)
    results: pd.DataFrame = field(default_factory=pd.DataFrame)
    sequential: pd.DataFrame = field(default_factory=pd.DataFrame)
    segments: pd.DataFrame | None = None
    power: pd.DataFrame = field(default_factory=pd.DataFrame)
    users: pd.DataFrame = field(default_factory=pd.DataFrame)
    segment_col: str | None = None
    excluded_multi: int = 0
    not_exposed: int = 0
    notes: list = field(default_factory=list)
    #: ``(last day, period end)`` when the data ends before the test (helpers.campaign.observed_end)
    data_cut: tuple | None = None
    currency: str = "¥"  # the campaign's sign before money (a revenue metric's values) on the page
    money: tuple = ()  # the metrics whose values are amounts (:func:`money_metrics`)
    #: the revenue metrics' amounts mix currencies (ingest's ``currencies``): said before the metrics
    currency_mix: str | None = None
    min_users: int = MIN_TEST_USERS  # a group's fewest users with a value for a test (experiment.min_users)

    def __post_init__(self) -> None:
        # intervals at a level other than 95%: the glossary's "95% interval" (ci95) would name a level the page
        # does not show; its general "confidence interval" (ci) takes its place
        if self.level() != "95%":
            terms = tuple("ci" if g == "ci95" else g for g in type(self).glossary)
            object.__setattr__(self, "glossary", terms)

    def level(self) -> str:
        """The confidence level of the intervals, 1 - ``alpha``, as the texts name it: "95%", "90%", "97.5%"."""
        from .fmt import fmt_level

        return f"{fmt_level(self.alpha)}%"

    @property
    def srm_failed(self) -> bool:
        """Whether the sample-ratio check failed."""
        return bool(len(self.srm) and self.srm["srm"].iloc[0])

    @classmethod
    def compute(cls, ctx) -> ExperimentReport:
        """The experiment of a campaign, from its ``experiment:`` params (docs/experiment.md)."""
        p = getattr(ctx.cfg, "experiment", None)
        if p is None:
            raise ReportUnavailable(t("experiment.no_section"))
        if not ctx.has("events"):
            raise ReportUnavailable(t("experiment.no_events"))
        return compute_experiment(cls, ctx, p)

    def to_results(self) -> dict:
        """The report-specific part of ``results/experiment.json`` (docs/experiment.md)."""
        res = self.results.drop(columns=[], errors="ignore")
        return self._results(
            experiment=self.experiment,
            control=self.control,
            variants=self.srm["variant"].tolist(),
            srm_p_value=float(self.srm["p_value"].iloc[0]) if len(self.srm) else None,
            srm_failed=self.srm_failed,
            trustworthy=not self.srm_failed,
            excluded_multi_variant=self.excluded_multi,
            not_exposed=self.not_exposed,
            metrics=res.to_dict(orient="records"),
            notes=self.notes,
        )

    def _segments_text(self) -> str:
        k = 0 if self.segments is None else len(self.segments)
        return t(
            "experiment.segments",
            col=column_word(self.segment_col),
            k=k,
            fp=f"{k * self.alpha:.1f}",
            a=f"{self.alpha:g}",
        )

    def findings(self) -> list[str]:
        """SRM first, then each metric's lift, CUPED, sequential and segments."""
        from .fmt import fmt_chance, fmt_change, fmt_int, fmt_p, fmt_pct, fmt_pp, fmt_range
        from .i18n import list_join

        counts = list_join(f"{r.variant} {fmt_int(r.users)}" for r in self.srm.itertuples())
        planned = "/".join(f"{r.planned_share * 100:.0f}" for r in self.srm.itertuples())
        p = float(self.srm["p_value"].iloc[0]) if len(self.srm) else math.nan
        if self.srm_failed:
            # the lead when it fails: nothing after it can be trusted
            out: list[str] = [
                Outcome(t("experiment.srm_bad", counts=counts, planned=planned, p=f"{p:.2g}", a=f"{self.srm_alpha:g}"))
            ]
        else:
            out = [t("experiment.srm_ok", counts=counts, planned=planned, p=fmt_p(p))]
        out.append(t("experiment.excluded", multi=fmt_int(self.excluded_multi), unexposed=fmt_int(self.not_exposed)))
        from .caveats import SMALL_N

        if len(self.srm) and int(self.srm["users"].min()) < SMALL_N:  # wide intervals on a handful of users
            out.append(t("experiment.small", counts=counts, min_n=SMALL_N))
        out += [self.currency_mix] if self.currency_mix else []  # before any amount is read
        bad = t("experiment.untrustworthy") if self.srm_failed else ""
        for r in self.results.itertuples():
            if math.isnan(r.p_value):  # no test ran (a group with fewer than 2 users with a value): say so
                out.append(Outcome(self._untested(r)))
                continue
            verdict = t("experiment.significant" if r.significant else "experiment.not_significant")
            out.append(Outcome(t(
                "experiment.metric", label=sentence_start(r.label),  # "Payment within 24 h: ..." opens the line
                guard=t("experiment.guardrail") if r.guardrail else "",
                variant=r.variant, **self._values(r.metric, r.kind, r.value, r.control_value),
                rel=fmt_change(r.rel_lift),  # signed, as the segments finding gives a lift: "+30.7%"
                level=self.level(), ci=fmt_range(r.rel_low, r.rel_high, fmt_pct), p=fmt_p(r.p_value),
                holm=fmt_p(r.holm_p), ctb=fmt_chance(r.chance_to_beat), verdict=verdict) + bad))  # fmt: skip
            if not math.isnan(r.cuped_variance_reduction):
                used = (
                    ""
                    if r.test == "welch t (CUPED)"
                    else t("experiment.cuped_unused")
                    if r.cuped_variance_reduction < CUPED_MIN_REDUCTION
                    else t("experiment.cuped_out_of_range")  # the adjusted rate left 0-100 % (a handful of users)
                )
                out.append(t("experiment.cuped", label=r.label, vr=fmt_pct(r.cuped_variance_reduction)) + used)
        if len(self.sequential):
            last = self.sequential[self.sequential["day"] == self.sequential["day"].max()]
            labels = dict(zip(self.results["metric"], self.results["label"], strict=False)) if len(self.results) else {}
            kinds = dict(zip(self.results["metric"], self.results["kind"], strict=False)) if len(self.results) else {}
            for r in last.head(2).itertuples():
                diff = fmt_pp if kinds.get(r.metric) in SHARE_KINDS else _fmt
                out.append(t("experiment.seq", label=labels.get(r.metric, r.metric), variant=r.variant,
                             ci=fmt_range(r.cs_low, r.cs_high, diff)))  # fmt: skip
        if self.segments is not None and len(self.segments):
            out.append(self._segments_finding())
        return out + list(self.notes) + ([cut_note(self.data_cut)] if self.data_cut else [])

    def _segments_finding(self) -> str:
        """What the segments show, for the findings: how many segment rows are significant after Holm and the
        strongest three by p (the part above the table carries the multiple-comparisons warning in full)."""
        from .fmt import fmt_change
        from .i18n import list_join

        seg = self.segments if self.segments is not None else pd.DataFrame(columns=["significant", "holm_p"])
        k, col = len(seg), column_word(self.segment_col)
        hits = seg[seg["significant"].fillna(False).astype(bool)].sort_values("holm_p", kind="stable")
        if not len(hits):
            return t("experiment.segments_none", col=col, k=k)
        labels = dict(zip(self.results["metric"], self.results["label"], strict=False)) if len(self.results) else {}
        items = [t("experiment.segment_item", segment=r.segment, label=labels.get(r.metric, r.metric),
                   rel=fmt_change(r.rel_lift)) for r in hits.head(3).itertuples()]  # fmt: skip
        return t("experiment.segments_found", col=col, k=k, n=len(hits), list=list_join(items))

    def headline(self) -> list[dict]:
        """SRM p-value and the first metrics' relative lifts (marked when SRM fails)."""
        from .fmt import MISSING, fmt_change
        from .report import headline

        p = float(self.srm["p_value"].iloc[0]) if len(self.srm) else None
        bad = t("experiment.headline_bad") if self.srm_failed else ""
        items = [headline(t("experiment.headline_srm", bad=bad), p, MISSING if p is None else f"{p:.3g}")]
        for r in self.results.head(2).itertuples():
            v = None if math.isnan(r.rel_lift) else r.rel_lift
            items.append(headline(t("experiment.headline_lift", label=r.label, variant=r.variant, bad=bad), v,
                                  fmt_change(r.rel_lift)))  # fmt: skip
        return items

    def tables(self) -> dict[str, pd.DataFrame]:
        """``srm``, ``results``, ``sequential``, ``power`` and ``segments`` when a segment is set."""
        out = {"srm": self.srm, "results": self.results, "sequential": self.sequential, "power": self.power}
        if self.segments is not None:
            out["segments"] = self.segments
        return out

    def _show(self, part: str):
        from IPython.display import Markdown

        from .base import _display
        from .fmt import format_rows, style_table

        pcts = ["rel_lift", "rel_low", "rel_high", "cuped_variance_reduction", "share",
                "planned_share", "mde_rel", "power_at_target"]  # fmt: skip
        if part == "sequential":
            if self.sequential.empty:
                return Markdown(f"_{t('experiment.no_sequential')}_")
            names = dict(zip(self.results["metric"], self.results["label"], strict=False))
            kind_of = dict(zip(self.results["metric"], self.results["kind"], strict=False))
            for (m, v), _ in self.sequential.groupby(["metric", "variant"], sort=False):
                title = t("experiment.chart.title", metric=names.get(m, m), variant=v)
                _display(plot_sequential(self.sequential, m, v, title=title, share=kind_of.get(m) in SHARE_KINDS))
            return None
        if part == "segments" and self.segments is None:
            return Markdown(f"_{t('experiment.no_segment')}_")
        frame = getattr(self, part)
        if part == "segments":
            _display(Markdown(f"**{self._segments_text()}**"))
        if part == "results" and self.srm_failed:
            _display(Markdown(f"**{t('experiment.results_bad')}**"))
        kinds = self._row_kinds(frame)
        frame = self._named(frame)
        heads = {"segment": column_label(self.segment_col)} if part == "segments" and self.segment_col else None
        st = style_table(frame, pct_cols=[c for c in pcts if c in frame], chance_cols=["chance_to_beat"], headers=heads)
        if kinds is None:
            return st
        return format_rows(st, kinds, value_cols=["value", "control_value"], change_cols=_CHANGE_COLS,
                           currency=self.currency)  # fmt: skip

    def _row_kinds(self, frame: pd.DataFrame) -> list[str] | None:
        """Each row's number kind for :func:`helpers.fmt.format_rows` (:func:`_row_kind`); None for a table without
        a metric column."""
        if "metric" not in frame:
            return None
        kind = dict(zip(self.results["metric"], self.results["kind"], strict=False)) if len(self.results) else {}
        return [self._row_kind(m, str(kind.get(m, ""))) for m in frame["metric"]]

    def _row_kind(self, metric: str, kind: str) -> str:
        """How a metric's numbers read (:func:`helpers.fmt.row_formats`): ``rate`` for a per-user share (conversion,
        retention), ``money`` for an amount (revenue per user, revenue per order), the metric's kind otherwise."""
        return "rate" if kind in SHARE_KINDS else "money" if metric in self.money else kind

    def _untested(self, r) -> str:
        """The finding of a metric no test could run on: how many users of each group have a value of it (the
        "not significant" it read would be a result), and why a retention metric may have few."""
        from .fmt import fmt_int

        guard = t("experiment.guardrail") if r.guardrail else ""
        users, control = int(r.users), int(r.control_users)
        key = "experiment.untested_few" if min(users, control) < self.min_users else "experiment.untested"
        text = t(
            key,
            label=sentence_start(r.label),
            guard=guard,
            variant=r.variant,
            users=fmt_int(users),
            control=fmt_int(control),
            min_n=fmt_int(self.min_users),
        )
        return text + (t("experiment.untested_retention") if r.kind == "retention" else "")

    def _values(self, metric: str, kind: str, value: float, control: float) -> dict[str, str]:
        """A metric's value and its control's value in words, as the results table's row shows them
        (:func:`helpers.fmt.row_formats` of :meth:`_row_kind`): a share as a percentage, an amount in the
        campaign's currency, a count per user whole or with two decimals."""
        from .fmt import row_formats

        fv = row_formats(self._row_kind(metric, kind), [value, control], currency=self.currency)[0]
        return {"value": fv(value), "control": fv(control)}

    def _named(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` as a page shows it (the CSV keeps the codes): each metric by its name under the ``metric``
        header (the results table's ``label`` column takes its place), its kind and test in words."""
        from .fmt import named_metrics

        names = dict(zip(self.results.get("metric", ()), self.results.get("label", ()), strict=False))
        return named_metrics(frame, names, {"kind": "experiment.kind", "test": "test"})


#: per-user shares (0/1 per user): values shown as %, their differences in percentage points
SHARE_KINDS = ("conversion", "retention")
_CHANGE_COLS = ["abs_lift", "abs_low", "abs_high", "mde_abs", "se"]


def _fmt(x: float) -> str:
    """A difference on the sequential chart's interval (a count or amount per user)."""
    from .fmt import MISSING, fmt_num

    if x is None or (isinstance(x, float) and math.isnan(x)):
        return MISSING
    return fmt_num(x, 3) if abs(x) < 10 else fmt_num(x, 1)


def run_experiment(ctx) -> ExperimentReport | Unavailable:
    """:meth:`ExperimentReport.run`: the experiment report of a campaign (or its Unavailable twin)."""
    return ExperimentReport.run(ctx)
