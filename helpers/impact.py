"""Impact (活动效果评估, no control group): did a campaign move a metric, against a counterfactual?

Daily metrics come from the trends definitions (:mod:`helpers.trend_metrics`, on Ibis: DuckDB or Spark); the
models are in :mod:`helpers.impact_model`; docs/impact.md has every rule.

Rules
-----
- Days are campaign-local calendar days. The pre-period is ``[max(period start, start - pre_days), start)``,
  the post-period ``[start, end]`` (``end`` default: the period's last day; at most the data's last observed day,
  :func:`helpers.campaign.observed_end`, so days after a stopped or half-loaded feed are not zeros); a day without
  events counts 0 for counts and sums (a formula metric is then missing that day).
- Treated series: the metric over all events, or over the events whose ``control.by`` value is in
  ``control.treated`` (computed on the combined group, so a rate is a rate of the group). Control series:
  the metric per ``control.control`` value, used as regressors of the counterfactual.
- Counterfactual: a local-level model (+ a fixed weekly pattern) with the control series as regressors,
  fitted on the pre-period (:func:`helpers.impact_model.fit_counterfactual`); effect = actual - predicted.
- Placebo: the same model with a fake start (default the middle of the pre-period), fitted on the days before
  it and tested on the rest of the pre-period; a significant placebo effect means the model does not
  forecast this metric well enough to trust the real effect.
- Difference-in-differences (when ``control`` is set): treated vs the combined control group, per day,
  with a pre-trend check (:func:`helpers.impact_model.did_estimate`, :func:`~helpers.impact_model.pre_trend_test`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import ClassVar

import pandas as pd

from .base import Outcome, Report, ReportUnavailable, Unavailable, _display
from .campaign import observed_end
from .caveats import currency_caveat
from .engine import as_table
from .errors import MissingColumnError
from .i18n import clause_join, label, list_join, localized, sentence_start, t
from .impact_model import did_estimate, fit_counterfactual, pre_trend_test
from .periods import cut_note
from .trend_metrics import Metric, aggregate_metrics, metric_label, number_kind, resolve_metrics, sums_over_days

__all__ = ["daily_metrics", "impact_series", "plot_impact", "plot_did", "ImpactReport", "run_impact"]


# ------------------------------------------------------------------------------------------- compute
def daily_metrics(
    events,
    metrics: dict[str, Metric],
    *,
    start,
    end_exclusive,
    by: str | None = None,
    groups: dict[str, str] | None = None,
    ts_col: str = "ts",
    user_col: str = "user_id",
    event_col: str = "event",
) -> pd.DataFrame:
    """Every metric per day in ``[start, end_exclusive)``, optionally per group of the ``by`` column.

    ``groups`` maps a value of ``by`` to its group label (several values may share a label: the metric is
    computed on their combined events); events with other values are left out. Days without events are
    filled: 0 for counts, sums and user counts, NaN for formulas and averages.

    Returns
    -------
    DataFrame ``day``, [``group``], one column per metric.
    """
    import ibis

    t = as_table(events)
    s, e = pd.Timestamp(start), pd.Timestamp(end_exclusive)
    t = t.filter((t[ts_col] >= s.to_pydatetime()) & (t[ts_col] < e.to_pydatetime()))
    gcol = None
    if by is not None:
        if by not in t.columns:
            raise MissingColumnError(
                "events", by, t.columns, hint="it is the impact groups' property (impact.control.by)"
            )
        v = t[by].cast("string")
        cases = [
            (v.isin([k for k, g in (groups or {}).items() if g == lab]), lab)
            for lab in dict.fromkeys((groups or {}).values())
        ]
        t = t.mutate(_impact_group=ibis.cases(*cases, else_=ibis.null("string")))
        t = t.filter(t["_impact_group"].notnull())
        gcol = "_impact_group"
    df = aggregate_metrics(
        t, metrics, bucket=lambda x: x[ts_col].truncate("D"), group_col=gcol, user_col=user_col, ts_col=ts_col,
        event_col=event_col,
    )  # fmt: skip
    df = df.rename(columns={"bucket": "day"})
    df["day"] = pd.to_datetime(df["day"]).astype("datetime64[us]")
    days = pd.date_range(s, e - pd.Timedelta(days=1), freq="D").astype("datetime64[us]")
    labels = list(dict.fromkeys((groups or {}).values())) if gcol else [None]
    full = pd.DataFrame([(d, g) for g in labels for d in days], columns=["day", "group"])
    if gcol is None:
        full = full.drop(columns="group")
        out = full.merge(df, on="day", how="left")
    else:
        out = full.merge(df, on=["day", "group"], how="left")
    for n, m in metrics.items():
        if not m.formula and m.agg in ("count", "users", "sum", "distinct"):
            out[n] = out[n].fillna(0.0)
    return out.reset_index(drop=True)


def impact_series(
    y: pd.Series, x: pd.DataFrame | None, *, start, end=None, placebo=None, weekly=True, alpha=0.05, total="sum"
) -> tuple:
    """The counterfactual of ``y`` from ``start`` and its placebo check (fake start ``placebo``, default the
    middle of the days before ``start``); ``total``: ``"sum"`` or ``"mean"`` (a rate: daily averages, see
    :func:`helpers.impact_model.fit_counterfactual`). Returns ``(counterfactual, placebo counterfactual or None,
    note)``."""
    fit = functools.partial(fit_counterfactual, weekly=weekly, alpha=alpha, total=total)
    cf = fit(y, x, start=start, end=end)
    pre = y.index < pd.Timestamp(start)
    days = y.index[pre]
    fake = pd.Timestamp(placebo) if placebo is not None else days[len(days) // 2]
    try:
        pl = fit(y[pre], None if x is None else x[pre], start=fake)
    except ValueError as e:
        return cf, None, t("impact.no_placebo_because", error=e)
    return cf, pl, ""


# ------------------------------------------------------------------------------------------- charts
def plot_impact(
    series: pd.DataFrame, *, title: str = "", axes=None, total: str = "sum", kind: str = "", currency: str = "¥"
):
    """Three panels for one metric: actual vs the counterfactual (with its interval; the pre-period shows the
    fit), the pointwise effect, the cumulative effect (``total="mean"``, a rate: the running average effect);
    ``series`` is one metric's rows of the ``series`` table. ``kind`` (:func:`helpers.trend_metrics.number_kind`):
    a ``rate`` reads in % and its effects in percentage points, ``money`` names ``currency`` on the axes.
    Returns the Figure."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from .plots import percent_ticks

    if axes is None:
        fig, axes = plt.subplots(3, 1, figsize=(8, 7), sharex=True)
    else:
        fig = axes[0].get_figure()
    s = series.sort_values("day")
    start = s.loc[s["period"] == "post", "day"].min()
    a0, a1, a2 = axes
    a0.plot(s["day"], s["actual"], color="k", lw=1.2, label=t("impact.chart.actual"))
    a0.plot(s["day"], s["predicted"], color="C0", ls="--", label=t("impact.chart.counterfactual"))
    a0.fill_between(s["day"], s["pred_low"], s["pred_high"], color="C0", alpha=0.2)
    a0.legend(fontsize="small")
    a0.set_ylabel(t("impact.chart.value"))
    a0.set_title(title or t("impact.chart.title"))
    post = s[s["period"] == "post"]
    a1.plot(post["day"], post["effect"], color="C1")
    a1.fill_between(post["day"], post["effect_low"], post["effect_high"], color="C1", alpha=0.2)
    a1.set_ylabel(t("impact.chart.effect"))
    a2.plot(post["day"], post["cum_effect"], color="C2")
    a2.fill_between(post["day"], post["cum_low"], post["cum_high"], color="C2", alpha=0.2)
    a2.set_ylabel(t("impact.chart.cumulative" if total == "sum" else "impact.chart.running_mean"))
    a2.set_xlabel(t("impact.chart.day"))
    unit = {"rate": t("impact.chart.points"), "money": currency}.get(kind)
    if unit:  # the unit after each axis' name: "逐日效应（百分点）", "数值（¥）"
        for ax in (a1, a2) if kind == "rate" else axes:
            ax.set_ylabel(t("impact.chart.unit", label=ax.get_ylabel(), unit=unit))
    if kind == "rate":
        percent_ticks(a0.yaxis)
        for ax in (a1, a2):
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v * 100:g}"))
    for ax in axes:
        ax.axhline(0, color="0.6", lw=0.8) if ax is not a0 else None
        ax.axvline(start, color="C3", ls=":", lw=1)
    fig.autofmt_xdate()
    return fig


def plot_did(daily: pd.DataFrame, metric: str, *, start, ax=None, title: str = ""):
    """The treated and control groups' daily ``metric`` (``daily``: ``day``, ``group``, metric) with the
    intervention day marked. Returns the Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3))
    for g, c in (("treated", "C3"), ("control", "C0")):
        d = daily[daily["group"] == g]
        ax.plot(d["day"], d[metric], color=c, label=t(f"impact.chart.{g}"))
    ax.axvline(pd.Timestamp(start), color="0.4", ls=":", lw=1)
    ax.legend(fontsize="small")
    ax.set_title(title or metric)
    ax.set_xlabel(t("impact.chart.day"))
    ax.set_ylabel(title or metric)
    ax.get_figure().autofmt_xdate()
    return ax


# ------------------------------------------------------------------------------------------- report
#: days before the start the model needs to fit (``impact.pre_days`` may not ask for fewer: helpers/sections_impact.py)
MIN_PRE_DAYS = 14
_EFFECT_COLS = ["effect", "effect_low", "effect_high", "rel_effect", "rel_low", "rel_high", "p_value", "significant"]


@dataclass(repr=False)
class ImpactReport(Report):
    """The impact report. Frames: ``effects`` (one row per metric: the cumulative effect, its placebo check
    and the difference-in-differences), ``series`` (per metric and day: actual, counterfactual, effects),
    ``fit`` (pre-period fit per metric), ``did`` (difference-in-differences and pre-trend check, or None),
    ``groups_daily`` (treated and control group per day, or None)."""

    name: ClassVar[str] = "impact"
    title: ClassVar[str] = localized("impact.title")
    parts: ClassVar[tuple[str, ...]] = ("effects", "charts", "fit", "placebo", "did")
    table_names: ClassVar[tuple[str, ...]] = ("effects", "series", "fit", "did")
    result_keys: ClassVar[tuple[str, ...]] = (
        "start", "end", "pre_start", "placebo", "control", "metrics", "notes",
    )  # fmt: skip
    unavailable_label: ClassVar[str] = localized("impact.unavailable_label")
    glossary: ClassVar[tuple[str, ...]] = (
        "counterfactual", "cumulative_effect", "ci95", "p_value", "r2", "placebo", "did", "parallel_trends",
    )  # fmt: skip

    metrics: dict = field(default_factory=dict)
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    pre_start: pd.Timestamp | None = None
    placebo_day: pd.Timestamp | None = None
    control: dict | None = None
    alpha: float = 0.05
    effects: pd.DataFrame = field(default_factory=pd.DataFrame)
    series: pd.DataFrame = field(default_factory=pd.DataFrame)
    fit: pd.DataFrame = field(default_factory=pd.DataFrame)
    placebo: pd.DataFrame = field(default_factory=pd.DataFrame)
    did: pd.DataFrame | None = None
    groups_daily: pd.DataFrame | None = None
    notes: list = field(default_factory=list)
    controls: dict = field(default_factory=dict)  # metric -> the control series of its fit (the fit table's text)
    currency: str = "¥"  # the campaign's sign before money (gmv, aov) on the page
    #: a money metric's amounts mix currencies (ingest's ``currencies``): said before the metrics
    currency_mix: str | None = None
    #: the cut when the data ends before the post-period does (helpers.campaign.observed_end), said in the findings
    data_cut: tuple | None = None

    @classmethod
    def compute(cls, ctx) -> ImpactReport:
        """The impact of the intervention in the campaign's ``impact:`` params (docs/impact.md)."""
        p = ctx.cfg.impact
        if p is None:
            raise ReportUnavailable(t("impact.no_section"))
        if not ctx.has("events"):
            raise ReportUnavailable(t("impact.no_events"))
        ev = ctx.table("events")
        present = set(ev.select("event").distinct().to_pandas()["event"].astype(str))
        oe = tuple(e for e in p.order_events if e in present) or tuple(p.order_events[:1])
        metrics = resolve_metrics(list(p.metrics), order_events=oe, amount_col=p.amount_col, key="impact.metrics",
                                  source=f"params/{ctx.cfg.campaign}.yaml")  # fmt: skip
        for m in metrics.values():
            for col in [m.column, *(c for c, _ in m.where)]:
                if col and col not in ev.columns:
                    raise MissingColumnError("events", col, ev.columns, hint=f"it is used by impact metric {m.name}")
        ps, pe = pd.Timestamp(ctx.cfg.period.start), pd.Timestamp(ctx.cfg.period.end)
        start = pd.Timestamp(p.start)
        end = min(pd.Timestamp(p.end), pe) if p.end is not None else pe
        if not ps < start <= pe:
            raise ReportUnavailable(t("impact.start_outside", start=start.date(), first=ps.date(), last=pe.date()))
        observed, cut = observed_end(ctx)  # the post-period ends with the data: days after it are not zeros
        last = observed - pd.Timedelta(days=1)
        if start > last:
            raise ReportUnavailable(t("impact.start_after_data", start=start.date(), last=last.date()))
        cut, end = (cut if end > last else None), min(end, last)
        pre_start = max(ps, start - pd.Timedelta(days=p.pre_days)) if p.pre_days else ps
        rep = cls(metrics=metrics, start=start, end=end, pre_start=pre_start, alpha=p.alpha, currency=ctx.cfg.currency)
        rep.data_cut = cut
        rep.currency_mix = currency_caveat(ctx, "events", {m.column for m in metrics.values() if m.money})  # ¥ and $
        rep.control = p.control.model_dump() if p.control else None
        span = {"start": pre_start, "end_exclusive": end + pd.Timedelta(days=1)}
        if p.control:
            c = p.control
            seen: set[str] = (
                set(ev.select(c.by).distinct().to_pandas()[c.by].dropna().astype(str)) if c.by in ev.columns else set()
            )
            for key, values in (("treated", c.treated), ("control", c.control)) if seen else ():
                absent = [v for v in values if str(v) not in seen]  # a typo read as a group with no rows
                if absent:
                    raise ReportUnavailable(t("impact.group_not_in_data", key=f"impact.control.{key}", by=c.by,
                                              absent=", ".join(map(str, absent)),
                                              values=", ".join(sorted(seen)[:20])))  # fmt: skip
            regs = daily_metrics(ev, metrics, by=c.by, groups={**{v: "treated" for v in c.treated},
                                                               **{v: v for v in c.control}}, **span)  # fmt: skip
            two = daily_metrics(ev, metrics, by=c.by, groups={**{v: "treated" for v in c.treated},
                                                              **{v: "control" for v in c.control}}, **span)  # fmt: skip
            rep.groups_daily = two
        else:
            regs = daily_metrics(ev, metrics, **span).assign(group="treated")
        rep._fit_all(regs, p)
        return rep

    def _fit_all(self, regs: pd.DataFrame, p) -> None:
        # the metrics the params name; a formula's parts are computed for it, not modelled on their own
        names = [s if isinstance(s, str) else s.name for s in p.metrics]
        rows, series, fits, dids = [], [], [], []
        for name in names:
            m = self.metrics[name]
            total = "sum" if sums_over_days(m) else "mean"
            wide = regs.pivot_table(index="day", columns="group", values=name, dropna=False)
            y = wide["treated"] if "treated" in wide else pd.Series(dtype=float)
            x = wide.drop(columns=["treated"], errors="ignore")
            x = x.loc[:, x.notna().all() & (x.std() > 0)] if len(x.columns) else None
            pre = int((y.index < self.start).sum())
            if pre < MIN_PRE_DAYS:  # which of the two, with what to change: the report may be unavailable on it
                self.notes.append(t("impact.pre_short", metric=metric_label(m), n=pre, min=MIN_PRE_DAYS,
                                    start=f"{self.start:%Y-%m-%d}"))  # fmt: skip
                continue
            if y.isna().any():
                gaps = y.index[y.isna()]
                self.notes.append(t("impact.gaps", metric=metric_label(m), n=len(gaps), day=f"{gaps[0]:%Y-%m-%d}"))
                continue
            try:
                cf, pl, note = impact_series(y, x, start=self.start, end=self.end, placebo=p.placebo,
                                             weekly=p.weekly, alpha=p.alpha, total=total)  # fmt: skip
            except ValueError as e:
                self.notes.append(f"{metric_label(m)}: {e}")
                continue
            if note:
                self.notes.append(f"{metric_label(m)}: {note}")
            row = {"metric": name, "label": m.label or name, **{k: cf.summary[k] for k in
                   ("days", "actual", "predicted", *_EFFECT_COLS, "total")}}  # fmt: skip
            if pl is not None:
                self.placebo_day = pl.series.loc[pl.series["period"] == "post", "day"].min()
                row.update(placebo_effect=pl.summary["effect"], placebo_low=pl.summary["effect_low"],
                           placebo_high=pl.summary["effect_high"], placebo_p=pl.summary["p_value"],
                           placebo_passed=not pl.summary["significant"])  # fmt: skip
            series.append(cf.series.assign(metric=name))
            self.controls[name] = [str(c) for c in x.columns] if x is not None else []
            fits.append({"metric": name, **cf.fit, "controls": ", ".join(self.controls[name])})
            if self.groups_daily is not None:
                g = self.groups_daily[["day", "group", name]].rename(columns={name: "value"})
                try:
                    d = did_estimate(g, start=self.start, end=self.end, alpha=p.alpha, scale=p.did_scale)
                except ValueError:  # a day at 0: no log scale (in words, in the campaign's language)
                    self.notes.append(t("impact.did_level_fallback", label=metric_label(m)))
                    d = did_estimate(g, start=self.start, end=self.end, alpha=p.alpha, scale="level")
                pt = pre_trend_test(g, start=self.start, alpha=p.alpha, scale=d["scale"])
                dids.append({"metric": name, **d, **{f"pretrend_{k}": v for k, v in pt.items()}})
                row.update(did_scale=d["scale"], did_effect=d["effect"], did_low=d["effect_low"],
                           did_high=d["effect_high"], did_p=d["p_value"], did_rel=d["rel_effect"],
                           did_rel_low=d["rel_low"], did_rel_high=d["rel_high"],
                           parallel_pre_trends=pt["parallel"])  # fmt: skip
            rows.append(row)
        if not rows:
            raise ReportUnavailable(t("impact.nothing_modelled", notes=" ".join(self.notes)))
        self.effects = pd.DataFrame(rows)
        self.series = pd.concat(series, ignore_index=True)[["metric", *series[0].columns.drop("metric")]]
        self.fit = pd.DataFrame(fits)
        self.did = pd.DataFrame(dids) if dids else None

    def to_results(self) -> dict:
        """The report-specific part of ``results/impact.json`` (docs/impact.md)."""
        return self._results(
            start=str(self.start.date()) if self.start is not None else None,
            end=str(self.end.date()) if self.end is not None else None,
            pre_start=str(self.pre_start.date()) if self.pre_start is not None else None,
            placebo=str(self.placebo_day.date()) if self.placebo_day is not None else None,
            control=self.control,
            metrics=self.effects.to_dict(orient="records"),
            notes=self.notes,
        )

    def findings(self) -> list[str]:
        """Key findings in plain words and numbers."""
        return _findings(self)

    def headline(self) -> list[dict]:
        """Headline numbers: each of the first three metrics' relative cumulative effect."""
        from .fmt import fmt_change
        from .report import headline

        return [headline(t("impact.headline", label=r.label), None if math.isnan(r.rel_effect) else r.rel_effect,
                         fmt_change(r.rel_effect)) for r in self.effects.head(3).itertuples()]  # fmt: skip

    def tables(self) -> dict[str, pd.DataFrame]:
        """``effects``, ``series``, ``fit`` and, with control groups, ``did``."""
        out = {"effects": self.effects, "series": self.series, "fit": self.fit}
        if self.did is not None:
            out["did"] = self.did
        return out

    def _show(self, part: str):
        from IPython.display import Markdown

        from .fmt import md_escape, signed, style_table

        pcts = ["rel_effect", "rel_low", "rel_high"]
        if part == "effects":
            keep = ["label", "total", "days", "actual", "predicted", *_EFFECT_COLS]
            st = style_table(self._named(self.effects[keep].drop(columns=["significant"])), pct_cols=pcts)
            for idx, r in zip(st.data.index, self.effects.itertuples(), strict=True):  # as the findings quote them
                formats = self._formats(r.metric, r.total)
                for f, on in zip(formats, _FORMAT_COLS, strict=True):
                    st = st.format(f, subset=pd.IndexSlice[[idx], list(on)])
                st = st.format(signed(formats[2]), subset=pd.IndexSlice[[idx], ["effect"]])  # "+111.5", as found
            return st
        if part == "charts":
            for r in self.effects.itertuples():
                _display(plot_impact(self.series[self.series["metric"] == r.metric], title=r.label, total=r.total,
                                     kind=number_kind(self.metrics.get(r.metric), self.metrics),
                                     currency=self.currency))  # fmt: skip
            return None
        if part == "fit":
            shown = self.fit.assign(controls=[list_join(self.controls.get(m, ())) for m in self.fit["metric"]])
            return style_table(self._named(shown), pct_cols=["mape"])  # a mean share of the actual value
        if part == "placebo":
            cols = [c for c in ("label", "placebo_effect", "placebo_low", "placebo_high", "placebo_p",
                                "placebo_passed") if c in self.effects]  # fmt: skip
            if len(cols) == 1:
                return Markdown(
                    "_" + md_escape(clause_join(self.notes or [t("impact.no_placebo")])) + "_"
                )  # notes may hold data
            st = style_table(self._named(self.effects[cols]))
            for idx, r in zip(st.data.index, self.effects.itertuples(), strict=True):  # an effect, as in effects
                eff = pd.IndexSlice[[idx], [c for c in ("placebo_effect", "placebo_low", "placebo_high") if c in cols]]
                f = self._formats(r.metric, r.total)[2]
                st = st.format(f, subset=eff).format(signed(f), subset=pd.IndexSlice[[idx], ["placebo_effect"]])
            return st
        if self.did is None or self.groups_daily is None:
            return Markdown(f"_{t('impact.no_control')}_")
        for r in self.effects.itertuples():
            _display(plot_did(self.groups_daily, r.metric, start=self.start, title=r.label))
        st = style_table(self._named(self.did), pct_cols=pcts)
        for idx, r in zip(st.data.index, self.did.itertuples(), strict=True):  # the groups' daily means as a value
            mean, _, effect = self._formats(r.metric, "mean")
            st = st.format(mean, subset=pd.IndexSlice[[idx], list(_DID_MEANS)])
            if r.scale == "level":  # an effect in the metric's unit; on the log scale it is a log ratio
                st = st.format(effect, subset=pd.IndexSlice[[idx], ["effect_low", "effect_high"]])
                st = st.format(signed(effect), subset=pd.IndexSlice[[idx], ["effect"]])
        return st

    def _formats(self, metric: str, total: str = "sum"):
        """(actual, counterfactual, effect) formats of a metric's row, in the effects table and the findings alike:
        a count's total (events, orders) reads as a whole number, its counterfactual, effect and interval, estimates,
        with one decimal ("实际 330，反事实 218.5", :func:`helpers.fmt.estimate_format`'s rule); a rate's daily
        average as a percentage and its effect in percentage points; an amount in the campaign's currency
        ("¥126,904.40"); any other metric (a daily average of users) with two decimals throughout."""
        from .fmt import fmt_int, fmt_num, fmt_num1, fmt_pct, fmt_pp, money_format

        m = self.metrics.get(metric)
        kind = number_kind(m, self.metrics)
        if kind == "rate":
            return fmt_pct, fmt_pct, fmt_pp
        if kind == "money":
            money = money_format(self.currency)
            return money, money, money
        if m is not None and total == "sum" and not m.formula and m.agg == "count":
            return fmt_int, fmt_num1, fmt_num1
        return fmt_num, fmt_num, fmt_num

    def _named(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` as a page shows it (the CSV keeps the codes): each metric by its name under the ``metric``
        header (the effects' ``label`` column takes its place), the DiD scale in words."""
        from .fmt import named_metrics

        names = dict(zip(self.effects.get("metric", ()), self.effects.get("label", ()), strict=False))
        return named_metrics(frame, names, {"scale": "impact.scale", "total": "impact.total"})


def _findings(rep: ImpactReport) -> list[str]:
    """The findings' text (helpers/messages/impact.yaml), in one place."""
    from .fmt import fmt_change, fmt_level, fmt_p, fmt_pct, signed
    from .fmt import fmt_range as rng

    s, e, p0 = (str(pd.Timestamp(d).date()) for d in (rep.start, rep.end, rep.pre_start))
    pl = t("impact.placebo_at", day=rep.placebo_day.date()) if rep.placebo_day is not None else ""
    out = [t("impact.window", start=s, end=e, pre=p0, placebo=pl, level=fmt_level(rep.alpha))]
    out += [rep.currency_mix] if rep.currency_mix else []  # before any amount is read
    for r in rep.effects.itertuples():
        whole, est, eff = rep._formats(r.metric, r.total)
        # each line opens with the metric: "Orders: actual 330 ...", not "orders: ..." (a Chinese name unchanged)
        name = sentence_start(r.label)
        lab = name if r.total == "sum" else t("impact.daily_mean", label=name)
        out.append(Outcome(t("impact.effect", label=lab, actual=whole(r.actual), predicted=est(r.predicted),
                     effect=signed(eff)(r.effect), effect_ci=rng(r.effect_low, r.effect_high, eff),
                     rel=fmt_change(r.rel_effect), rel_ci=rng(r.rel_low, r.rel_high, fmt_pct), p=fmt_p(r.p_value),
                     verdict=t("impact.significant" if r.significant else "impact.not_significant"))))  # fmt: skip
        fit = rep.fit.set_index("metric")["r2"].get(r.metric, math.nan) if len(rep.fit) else math.nan
        if fit < 0.3:
            out.append(t("impact.weak_fit", label=name, r2=f"{fit:.2f}"))
        if getattr(r, "placebo_passed", True) is False:
            out.append(t("impact.placebo_failed", label=name, p=fmt_p(r.placebo_p)))
        if hasattr(r, "did_effect") and not (isinstance(r.did_effect, float) and math.isnan(r.did_effect)):
            pt = "" if r.parallel_pre_trends else t("impact.pretrend_differs")
            if isinstance(r.did_rel, float) and math.isnan(r.did_rel):  # level scale on a counterfactual <= 0
                change, ci = signed(eff)(r.did_effect), rng(r.did_low, r.did_high, eff)  # as the DiD table
            else:
                change, ci = fmt_change(r.did_rel), rng(r.did_rel_low, r.did_rel_high, fmt_pct)
            out.append(t("impact.did", label=name, scale=label(f"impact.scale.{r.did_scale}", str(r.did_scale)),
                         rel=change, ci=ci, p=fmt_p(r.did_p), pretrend=pt))  # fmt: skip
    return out + list(rep.notes) + ([cut_note(rep.data_cut)] if rep.data_cut else [])


#: the effects table's columns each of :meth:`ImpactReport._formats`' three formats applies to
_FORMAT_COLS = (("actual",), ("predicted",), ("effect", "effect_low", "effect_high"))
#: the DiD table's group means (daily averages), formatted as the metric's value
_DID_MEANS = ("treated_pre", "treated_post", "control_pre", "control_post")


def run_impact(ctx) -> ImpactReport | Unavailable:
    """:meth:`ImpactReport.run`: the impact report of a campaign (or its Unavailable twin)."""
    return ImpactReport.run(ctx)
