"""Trends (事件分析): metrics over time, the change against the previous period, breakdowns, biggest movers,
and (through helpers.anomaly and helpers.distribution) anomalies, distributions and intervals.

Metric definitions are in :mod:`helpers.trend_metrics` (Ibis: DuckDB or Spark); docs/trends.md has every rule.

Rules
-----
- The *current window* is the last ``compare_days`` days of the campaign period (the whole period when
  ``compare_days`` is null); the *previous window* is the equal-length span just before it. A window is
  ``[start 00:00, end + 1 day 00:00)`` in the campaign's local time.
- Window values are computed over the whole window (distinct users over the window, not a sum of days).
- Change: ``abs_change = current - previous``, ``rel_change = abs_change / previous`` (NaN when previous is 0).
  A ``rate`` gets a two-proportion z-test and the 95% CI of the difference; a ``mean`` gets Welch's t-test on
  the per-unit values and the 95% CI of the difference; a ``value`` gets no test.
- Breakdown: the ``top_n`` groups with most events in the period keep their name, the rest are ``other``,
  missing values ``(none)``. Counts and sums of the groups add up to the total; a distinct-user count adds
  up only when each user has one value of the property.
- Movers: for every count/sum/users metric and group, ``change = current - previous`` of the group and
  ``contribution = change / (sum of the groups' changes)``; the biggest movers are the largest ``|change|``
  relative to their metric's total.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import pandas as pd

from .anomaly import MIN_HISTORY_DAYS
from .base import Outcome, Report, ReportUnavailable, Unavailable, _display
from .campaign import observed_end
from .caveats import currency_caveat
from .distribution import frequency_distribution, interval_table
from .engine import as_table, first_day
from .errors import MissingColumnError
from .i18n import catalogue, clause_join, column_label, label, list_join, localized, sentence_start, t
from .periods import window_notes, windows
from .stats import two_proportion_test
from .tags import is_tag_breakdown, with_tag_column
from .trend_metrics import (
    NO_GROUP,
    OTHER_GROUP,
    Metric,
    aggregate_metrics,
    is_additive,
    metric_label,
    number_kind,
    resolve_metrics,
    same_per_bucket,
    unit_stats,
    welch,
)

__all__ = [
    "windows",
    "top_groups",
    "trend_series",
    "compare_windows",
    "breakdown_windows",
    "biggest_movers",
    "year_ago",
    "explain_anomalies",
    "has_previous",
    "plot_metric_trend",
    "plot_interval_boxes",
    "TrendsReport",
    "run_trends",
]

_TRUNC = {"hour": "h", "day": "D", "week": "W", "month": "M"}
ADDITIVE = ("count", "sum", "users", "distinct")


# ------------------------------------------------------------------------------------------- windows
def _window_bucket(w: dict, ts_col: str):
    import ibis

    def bucket(t):
        ts = t[ts_col]
        (cs, ce), (ps, pe) = w["current"], w["previous"]
        return ibis.cases(
            ((ts >= cs.to_pydatetime()) & (ts < ce.to_pydatetime()), "current"),
            ((ts >= ps.to_pydatetime()) & (ts < pe.to_pydatetime()), "previous"),
            else_=ibis.null("string"),
        )

    return bucket


def top_groups(events, group_col: str, *, n: int = 5) -> list[str]:
    """The ``n`` values of ``group_col`` with most events (ties by value); missing is ``(none)``."""
    t = as_table(events)
    if group_col not in t.columns:
        raise MissingColumnError("events", group_col, t.columns, hint="it is the trends breakdown (trends.breakdown)")
    g = t.mutate(g=t[group_col].cast("string").fill_null(NO_GROUP)).group_by("g").aggregate(n=lambda x: x.count())
    df = g.to_pandas().sort_values(["n", "g"], ascending=[False, True])
    return df["g"].head(n).astype(str).tolist()


# ------------------------------------------------------------------------------------------- compute
def trend_series(
    events,
    metrics: dict[str, Metric],
    *,
    start,
    end_exclusive,
    granularity: str = "day",
    group_col: str | None = None,
    top: list[str] | None = None,
    ts_col: str = "ts",
    user_col: str = "user_id",
    event_col: str = "event",
) -> pd.DataFrame:
    """Every metric per time bucket (``granularity``: hour/day/week (Monday)/month) in ``[start, end)``.

    Returns
    -------
    DataFrame ``period_start`` (bucket start), [``group``], one column per metric.
    """
    if granularity not in _TRUNC:
        raise ValueError(f"trends.granularity must be one of {', '.join(_TRUNC)}, got {granularity!r}")
    t = as_table(events)
    t = t.filter((t[ts_col] >= pd.Timestamp(start).to_pydatetime()) & (t[ts_col] < pd.Timestamp(end_exclusive)))
    df = aggregate_metrics(
        t,
        metrics,
        bucket=lambda x: x[ts_col].truncate(_TRUNC[granularity]),
        group_col=group_col,
        top=top,
        user_col=user_col,
        ts_col=ts_col,
        event_col=event_col,
    )
    df = df.rename(columns={"bucket": "period_start"})
    df["period_start"] = pd.to_datetime(df["period_start"]).astype("datetime64[us]")
    return df


def compare_windows(
    events,
    metrics: dict[str, Metric],
    w: dict,
    *,
    ts_col: str = "ts",
    user_col: str = "user_id",
    event_col: str = "event",
) -> pd.DataFrame:
    """Each metric in the current and previous window, its change and its test.

    Returns
    -------
    DataFrame, one row per metric: ``metric``, ``label``, ``kind``, ``current``, ``previous``, ``abs_change``,
    ``rel_change``, ``test`` (``two-proportion``, ``welch`` or empty), ``diff_ci_low``, ``diff_ci_high`` (95% CI
    of current - previous), ``p_value``, ``significant`` (p < 0.05).
    """
    bucket = _window_bucket(w, ts_col)
    agg = aggregate_metrics(events, metrics, bucket=bucket, user_col=user_col, ts_col=ts_col, event_col=event_col)
    vals = agg.set_index("bucket")
    rows = []
    for name, m in metrics.items():
        if name.endswith("__n"):
            continue
        cur = float(vals.at["current", name]) if "current" in vals.index else math.nan
        prev = float(vals.at["previous", name]) if "previous" in vals.index else math.nan
        row = {"metric": name, "label": m.label or name, "kind": m.kind, "current": cur, "previous": prev}
        row["abs_change"] = cur - prev
        row["rel_change"] = (cur - prev) / prev if prev and not math.isnan(prev) else math.nan
        row.update(test="", diff_ci_low=math.nan, diff_ci_high=math.nan, p_value=math.nan, significant=False)
        if m.kind == "rate" and "previous" in vals.index and "current" in vals.index:
            a, b = (x.strip() for x in (m.formula or "").split("/"))
            tt = two_proportion_test(
                int(vals.at["current", a]), int(vals.at["current", b]),
                int(vals.at["previous", a]), int(vals.at["previous", b]),
            )  # fmt: skip
            row.update(test="two-proportion", diff_ci_low=tt["diff_ci_low"], diff_ci_high=tt["diff_ci_high"])
            row.update(p_value=tt["p_value"], significant=bool(tt["significant"]))
        elif m.kind == "mean" and m.unit and "previous" in vals.index and "current" in vals.index:
            us = unit_stats(events, metrics, name, bucket=bucket, user_col=user_col, event_col=event_col)
            us = us.set_index("bucket")
            if {"current", "previous"} <= set(us.index):
                c, p = us.loc["current"], us.loc["previous"]
                tt = welch(c["n"], c["mean"], c["var"], p["n"], p["mean"], p["var"])
                row.update(test="welch", diff_ci_low=tt["diff_ci_low"], diff_ci_high=tt["diff_ci_high"])
                row.update(p_value=tt["p_value"], significant=bool(tt["p_value"] < 0.05))
        rows.append(row)
    return pd.DataFrame(rows)


def breakdown_windows(
    events,
    metrics: dict[str, Metric],
    w: dict,
    *,
    group_col: str,
    top: list[str],
    ts_col: str = "ts",
    user_col: str = "user_id",
    event_col: str = "event",
) -> pd.DataFrame:
    """Each metric per group in the current and previous window.

    Returns
    -------
    DataFrame ``group``, ``metric``, ``current``, ``previous``, ``abs_change``, ``rel_change``.
    """
    agg = aggregate_metrics(
        events, metrics, bucket=_window_bucket(w, ts_col), group_col=group_col, top=top, user_col=user_col,
        ts_col=ts_col, event_col=event_col,
    )  # fmt: skip
    names = [n for n in metrics if not n.endswith("__n")]
    long = agg.melt(id_vars=["bucket", "group"], value_vars=names, var_name="metric")
    wide = long.pivot_table(index=["group", "metric"], columns="bucket", values="value", dropna=False).reset_index()
    for c in ("current", "previous"):
        if c not in wide:
            wide[c] = math.nan
    wide = wide[["group", "metric", "current", "previous"]]
    wide.columns.name = None
    wide["abs_change"] = wide["current"] - wide["previous"]
    wide["rel_change"] = wide["abs_change"] / wide["previous"].where(wide["previous"] != 0)
    return wide.reset_index(drop=True)


def biggest_movers(breakdown: pd.DataFrame, metrics: dict[str, Metric], *, n: int = 5) -> pd.DataFrame:
    """The (metric, group) pairs that moved most, for additive metrics (counts, sums, user counts).

    Returns
    -------
    DataFrame ``metric``, ``group``, ``current``, ``previous``, ``abs_change``, ``rel_change``, ``contribution``
    (the group's share of the sum of all groups' changes of that metric), sorted by ``|contribution|``
    weighted by the metric's relative total change.
    """
    cols = ["metric", "group", "current", "previous", "abs_change", "rel_change", "contribution"]
    add = [k for k, m in metrics.items() if not m.formula and m.agg in ADDITIVE and not k.endswith("__n")]
    b = breakdown[breakdown["metric"].isin(add)].copy()
    if b.empty:
        return pd.DataFrame(columns=cols)
    tot = b.groupby("metric")[["abs_change", "previous"]].transform("sum")
    b["contribution"] = b["abs_change"] / tot["abs_change"].where(tot["abs_change"] != 0)
    b["_score"] = (b["abs_change"] / tot["previous"].where(tot["previous"] != 0)).abs()
    b = b.dropna(subset=["_score"]).sort_values(["_score", "metric", "group"], ascending=[False, True, True])
    return b[cols].head(n).reset_index(drop=True)


def year_ago(
    events,
    metrics: dict[str, Metric],
    w: dict,
    *,
    ts_col: str = "ts",
    user_col: str = "user_id",
    event_col: str = "event",
) -> pd.Series | None:
    """Each metric in the current window 52 weeks (364 days, same weekdays) earlier, or None when the data
    does not reach back that far (its first event is on a later day than that window's first day)."""
    cs, ce = w["current"]
    ys, ye = cs - pd.Timedelta(days=364), ce - pd.Timedelta(days=364)
    t = as_table(events)
    first = first_day(t, ts_col)
    if first is None or first > ys:
        return None
    agg = aggregate_metrics(
        t, metrics, bucket=_window_bucket({"current": (ys, ye), "previous": (ys, ys)}, ts_col), user_col=user_col,
        ts_col=ts_col, event_col=event_col,
    )  # fmt: skip
    return agg.set_index("bucket").loc["current"] if "current" in set(agg["bucket"]) else None


def has_previous(summary: pd.DataFrame) -> bool:
    """Whether the data reaches back to the previous window (:func:`compare_windows`' summary): some metric has a
    previous value, and some count (``kind`` ``value``) is above 0 there. Without it the findings give this
    window's values alone."""
    none = summary.empty or summary["previous"].isna().all()
    return not none and not (summary.loc[summary["kind"] == "value", "previous"] == 0).all()


def explain_anomalies(
    anomalies: pd.DataFrame, daily_groups: pd.DataFrame, metrics: dict[str, Metric], *, weeks: int = 4
) -> pd.DataFrame:
    """The group that explains most of each flagged day's deviation (count and sum metrics only: a user may be
    in several groups, so user counts do not split).

    A group's deviation is its value that day minus the median of its values on the same weekday of the
    ``weeks`` weeks before (0 for a group without events that day).

    Returns
    -------
    ``anomalies`` with ``top_group`` (the group whose deviation has the flagged direction and is largest),
    ``top_group_change`` (its deviation) and ``top_group_share`` (its share of the sum of the groups' deviations,
    NaN when that sum points the other way); no group when none moved in the flagged direction.
    """
    out = anomalies.copy()
    out["top_group"], out["top_group_change"], out["top_group_share"] = None, math.nan, math.nan
    for i, r in out.iterrows():
        m = metrics.get(r["metric"])
        if m is None or m.formula or m.agg not in ("count", "sum") or r["metric"] not in daily_groups:
            continue
        wide = daily_groups.pivot_table(index="period_start", columns="group", values=r["metric"], aggfunc="sum")
        day = pd.Timestamp(r["day"])
        wide = wide.reindex(pd.date_range(wide.index.min(), max(wide.index.max(), day), freq="D")).fillna(0.0)
        before = [day - pd.Timedelta(weeks=k) for k in range(1, weeks + 1)]
        before = [d for d in before if d in wide.index]
        if day not in wide.index or not before:
            continue
        dev = wide.loc[day] - wide.loc[before].median()
        sign = 1.0 if r["value"] >= r["expected"] else -1.0
        top = (dev * sign).idxmax()
        if dev[top] * sign <= 0:  # no group moved in the flagged direction against its own weekday history
            continue
        out.at[i, "top_group"] = str(top)
        out.at[i, "top_group_change"] = float(dev[top])
        out.at[i, "top_group_share"] = float(dev[top] / dev.sum()) if dev.sum() * sign > 0 else math.nan
    return out


# ------------------------------------------------------------------------------------------- charts
def plot_metric_trend(
    series: pd.DataFrame,
    metric: str,
    *,
    shift=None,
    ax=None,
    title: str | None = None,
    n: str | None = None,
    ylabel: str | None = None,
    percent: bool = False,
    whole: bool = False,
):
    """One metric over time: the current window as a line, the previous window (shifted by ``shift`` onto
    the current dates) drawn behind it dashed and grey. ``series`` has ``period_start``, ``window``, ``metric``.
    ``n``: the column of a rate's denominator; points over fewer than 30 users are drawn hollow with their
    interval (helpers/caveats.py). ``ylabel``: the value axis (default the title; an amount names its currency);
    ``percent``: a share, read in % on that axis as in the table; ``whole``: a count, on whole-number ticks."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3))
    title = title or metric
    cur = series[series["window"] == "current"]
    prev = series[series["window"] == "previous"]
    if len(prev) and shift is not None:
        ax.plot(prev["period_start"] + shift, prev[metric], color="0.6", linestyle="--",
                label=t("trends.chart.previous"))  # fmt: skip
    ax.plot(cur["period_start"], cur[metric], color="C0", marker="o", markersize=3,
            label=t("trends.chart.current"))  # fmt: skip
    if whole:
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True))
    if n is not None and n in cur:
        from .caveats import mark_small

        mark_small(ax, cur["period_start"], cur[metric], cur[n], color="C0")
    if percent:
        from .plots import percent_ticks

        percent_ticks(ax.yaxis)
    ax.legend(fontsize="small")
    ax.set_title(title)
    ax.set_xlabel(t("trends.chart.period"))
    ax.set_ylabel(ylabel or title)
    ax.get_figure().autofmt_xdate()
    return ax


def plot_interval_boxes(intervals: pd.DataFrame, *, ax=None, title: str | None = None):
    """A box per group of the intervals table (helpers.distribution.interval_table): box P25-P75, line P50,
    whiskers P10 and P90 (hours, log scale), as in 神策 间隔分析; groups without a converted user are left out."""
    import matplotlib.pyplot as plt

    rows = intervals.dropna(subset=["p50"])
    if ax is None:  # room for the title and the axis under one box too (1 inch made tight layout give up)
        _, ax = plt.subplots(figsize=(8, 1.6 + 0.5 * max(len(rows), 1)))
    stats = [
        {"label": str(r.get("group", "all")), "med": r["p50"], "q1": r["p25"], "q3": r["p75"], "whislo": r["p10"],
         "whishi": r["p90"], "mean": r["mean_hours"], "fliers": []}
        for _, r in rows.iterrows()
    ]  # fmt: skip
    if stats:
        ax.bxp(stats, orientation="horizontal", showmeans=True)
        if (rows[["p10", "p25", "p50", "p75", "p90"]] > 0).all().all():
            from .plots import plain_log_ticks

            ax.set_xscale("log")
            plain_log_ticks(ax.xaxis)
    ax.set_xlabel(t("trends.chart.hours"))
    ax.set_ylabel(t("trends.chart.group"))
    ax.set_title(title or t("trends.chart.intervals"))
    return ax


# ------------------------------------------------------------------------------------------- report
#: a detector that fits flags about 1.5 % of normal days (tests/test_anomaly.py); above this share of
#: flagged metric-days the baseline does not describe the data and the findings say so instead of listing days
ANOMALY_RELIABLE_SHARE = 0.05


@dataclass(repr=False)
class TrendsReport(Report):
    """The trends report. Frames: ``summary`` (each metric now vs the previous window), ``series`` (metrics per
    bucket, both windows), ``breakdown`` (per group, or None), ``movers``, ``daily`` (per day over the period),
    ``anomalies`` / ``distribution`` / ``intervals`` (None when helpers.anomaly / helpers.distribution
    are not available or do not apply; ``notes`` says why)."""

    name: ClassVar[str] = "trends"
    title: ClassVar[str] = localized("trends.title")
    parts: ClassVar[tuple[str, ...]] = ("summary", "charts", "breakdown", "movers", "anomalies", "distribution",
                                        "intervals")  # fmt: skip
    table_names: ClassVar[tuple[str, ...]] = ("summary", "series", "breakdown", "movers", "anomalies",
                                              "distribution", "intervals")  # fmt: skip
    result_keys: ClassVar[tuple[str, ...]] = (
        "granularity", "current", "previous", "metrics", "breakdown", "groups", "movers", "anomalies", "notes",
    )  # fmt: skip
    unavailable_label: ClassVar[str] = localized("trends.unavailable_label")
    glossary: ClassVar[tuple[str, ...]] = ("z_test", "welch", "ci95", "p_value", "yoy", "anomaly_interval")

    metrics: dict = field(default_factory=dict)
    granularity: str = "day"
    window: dict = field(default_factory=dict)
    #: ``(last day, period end)`` when the data ends before the period (helpers.campaign.observed_end)
    data_cut: tuple | None = None
    #: :func:`helpers.periods.window_note`'s arguments: why the windows are shorter than ``compare_days`` or have no
    #: previous window in the period (worded when asked, in the page's language)
    window_args: tuple = ()
    previous_outside: bool = False
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    series: pd.DataFrame = field(default_factory=pd.DataFrame)
    daily: pd.DataFrame = field(default_factory=pd.DataFrame)
    breakdown_col: str | None = None
    groups: list = field(default_factory=list)
    breakdown: pd.DataFrame | None = None
    movers: pd.DataFrame = field(default_factory=pd.DataFrame)
    daily_groups: pd.DataFrame | None = None
    anomalies: pd.DataFrame | None = None
    #: metric-days the detector had a baseline for (the denominator of the flagged share)
    anomaly_checked: int = 0
    distribution: pd.DataFrame | None = None
    intervals: pd.DataFrame | None = None
    notes: list = field(default_factory=list)
    currency: str = "¥"  # the campaign's sign before money (gmv, aov) on the page
    currency_mix: str | None = None  # a money metric's amounts mix currencies (ingest's): said before the metrics

    @classmethod
    def compute(cls, ctx) -> TrendsReport:
        """The trends of a campaign, from its ``trends:`` params (docs/trends.md)."""
        p = ctx.cfg.trends
        if not ctx.has("events"):
            raise ReportUnavailable(t("trends.no_events"))
        ev = ctx.table("events")
        if is_tag_breakdown(p.breakdown):  # breakdown: tag:<name>, the user's tag (helpers/tags.py)
            ev = with_tag_column(ctx, ev, p.breakdown, report="trends")
        present = set(ev.select("event").distinct().to_pandas()["event"].astype(str))
        oe = tuple(e for e in p.order_events if e in present) or tuple(p.order_events[:1])
        amount = p.amount_col if p.amount_col in ev.columns else None
        specs = [s for s in p.metrics if amount is not None or s not in ("gmv", "aov", "arpu", "arppu")]
        metrics = resolve_metrics(specs, order_events=oe, amount_col=amount or "amount",
                                  source=f"params/{ctx.cfg.campaign}.yaml")  # fmt: skip
        for m in metrics.values():
            for col in [m.column, *(c for c, _ in m.where)]:
                if col and col not in ev.columns:
                    raise MissingColumnError("events", col, ev.columns, hint=f"it is used by trends metric {m.name}")
        observed, cut = observed_end(ctx)  # the windows end with the data
        end = (observed - pd.Timedelta(days=1)).date()
        w = windows(ctx.cfg.period.start, end, compare_days=p.compare_days)
        rep = cls(metrics=metrics, granularity=p.granularity, window=w, currency=ctx.cfg.currency)
        rep.data_cut, rep.window_args = cut, (ctx.cfg.period.start, end, p.compare_days, "trends.compare_days")
        rep.previous_outside = w["previous"][0] < pd.Timestamp(ctx.cfg.period.start)  # a note says why
        rep.currency_mix = currency_caveat(ctx, "events", {m.column for m in metrics.values() if m.money})  # ¥ and $
        summary = compare_windows(ev, metrics, w)
        ya = year_ago(ev, metrics, w)
        summary["year_ago"] = summary["metric"].map(ya) if ya is not None else math.nan
        summary["yoy_change"] = (summary["current"] - summary["year_ago"]) / summary["year_ago"].where(
            summary["year_ago"] != 0
        )
        rep.summary = summary
        parts = []
        for lab, (s, e) in w.items():
            parts.append(trend_series(ev, metrics, start=s, end_exclusive=e, granularity=p.granularity)
                         .assign(window=lab))  # fmt: skip
        rep.series = pd.concat(parts, ignore_index=True)
        ps, pe = pd.Timestamp(ctx.cfg.period.start), observed  # days after the data, or half-loaded, are not zeros
        if p.breakdown:
            rep.breakdown_col = p.breakdown
            rep.groups = top_groups(ev, p.breakdown, n=p.top_n)
            rep.breakdown = breakdown_windows(ev, metrics, w, group_col=p.breakdown, top=rep.groups)
            rep.movers = biggest_movers(rep.breakdown, metrics)
            rep.daily_groups = trend_series(
                ev, metrics, start=ps, end_exclusive=pe, group_col=p.breakdown, top=rep.groups
            )
        rep.daily = trend_series(ev, metrics, start=ps, end_exclusive=pe, granularity="day")
        rep._extras(ctx, ev, present, ps, pe)
        return rep

    def _extras(self, ctx, ev, present: set, ps, pe) -> None:
        """Anomalies (helpers/trend_anomalies.py), distribution and intervals (helpers/distribution.py)."""
        p = ctx.cfg.trends
        from .trend_anomalies import detect_trend_anomalies

        self.anomalies, self.anomaly_checked = detect_trend_anomalies(
            self.daily, self.metrics, list(self.summary["metric"]), daily_groups=self.daily_groups, groups=self.groups
        )
        if self.daily_groups is not None and len(self.anomalies):
            overall = self.anomalies["group"].isna()  # a group series' flag names its own group
            self.anomalies = pd.concat(
                [explain_anomalies(self.anomalies[overall], self.daily_groups, self.metrics),
                 self.anomalies[~overall].assign(top_group=self.anomalies["group"])], ignore_index=True,
            )  # fmt: skip
        inperiod = ev.filter((ev.ts >= ps.to_pydatetime()) & (ev.ts < pe.to_pydatetime()))
        self.distribution = frequency_distribution(inperiod, event=p.distribution_event, measure=p.distribution_measure)
        chain = [e for e in ("view", "pv") if e in present][:1] + [
            e for e in ("pay", "buy", "purchase") if e in present
        ][:1]
        a, b = (
            p.interval_from or (chain[0] if len(chain) == 2 else None),
            p.interval_to or (chain[-1] if chain else None),
        )
        if a and b:
            gcol = None
            if self.breakdown_col:  # the breakdown's groups: top N by name, the rest OTHER_GROUP, missing NO_GROUP
                g = inperiod[self.breakdown_col].cast("string").fill_null(NO_GROUP)
                inperiod = inperiod.mutate(group=g.isin(self.groups).ifelse(g, OTHER_GROUP))
                gcol = "group"
            try:
                self.intervals = interval_table(inperiod, from_event=a, to_event=b, group_col=gcol)
            except Exception as e:  # noqa: BLE001 - an optional part: the page says why it is missing
                self.notes.append(t("trends.intervals_failed", error=f"{type(e).__name__}: {e}"))

    def to_results(self) -> dict:
        """The report-specific part of ``results/trends.json`` (docs/trends.md)."""
        w = {k: [str(s.date()), str((e - pd.Timedelta(days=1)).date())] for k, (s, e) in self.window.items()}
        rows = self.summary.to_dict(orient="records")
        return self._results(
            granularity=self.granularity,
            current=w.get("current"),
            previous=w.get("previous"),
            metrics=rows,
            breakdown=self.breakdown_col,
            groups=self.groups,
            movers=self.movers.to_dict(orient="records"),
            anomalies=None if self.anomalies is None else len(self.anomalies),
            notes=self.notes,
        )

    def _name(self, metric: str) -> str:
        """The display name of ``metric`` in the current language (helpers/messages/trends.yaml)."""
        m = self.metrics.get(metric)
        return metric_label(m) if m is not None else metric

    def _lead_name(self, metric: str) -> str:
        """:meth:`_name` opening a sentence: a built-in metric's English name capitalized ("Active users: 27 ..."); a
        declared metric's own label or code as written."""
        name = self._name(metric)
        return sentence_start(name) if f"metric.{metric}" in catalogue() and name == label(f"metric.{metric}") else name

    def _values(self, metric: str, *xs: float) -> list[str]:
        """``xs`` as values of ``metric`` read, formatted alike as in the table's row (:func:`helpers.fmt.row_formats`):
        a share as a percentage, an amount with the currency; whole numbers without decimals, unless one of them
        has some."""
        from .fmt import row_formats

        fv, _ = row_formats(self._kind(metric), xs, currency=self.currency)
        return [fv(x) for x in xs]

    def _observed(self, metric: str, value: float, expected: float, change: float = math.nan) -> dict[str, str]:
        """An anomaly's ``value`` and ``expected`` as its row in the anomalies table reads them: a count whole and
        its expected value with one decimal (:func:`helpers.fmt.estimate_format`). ``change``: the row's
        ``top_group_change``, which decides the value's format with it in the table
        (:func:`helpers.fmt.format_rows`)."""
        from .fmt import estimate_format, row_formats

        kind = self._kind(metric)
        fv = row_formats(kind, [value, change], currency=self.currency)[0]
        return {"value": fv(value), "expected": estimate_format(kind, [value], currency=self.currency)(expected)}

    def _change(self, metric: str, x: float) -> str:
        """A change of ``metric`` as the table's change columns show it (a share's in percentage points)."""
        from .fmt import row_formats

        return row_formats(self._kind(metric), [x], currency=self.currency)[1](x)

    def _change_text(self, metric: str, abs_change: float, rel_change: float) -> str:
        """A metric's change against the previous window in the findings and the index: its relative change with
        its sign ("-27.7%"), "up from 0" from 0; a share's in percentage points first, as the table's change column,
        then the relative one ("-5.1 pp, -9.2% relative": "-9.2%" alone reads as the points it fell)."""
        from .fmt import fmt_change

        zero = math.isnan(rel_change) and not math.isnan(abs_change) and abs_change != 0  # x / 0: no relative change
        up = "trends.up_from_zero" if abs_change > 0 else "trends.down_from_zero"
        rel = t(up) if zero else fmt_change(rel_change)
        if self._kind(metric) == "rate" and not math.isnan(abs_change):
            key = "trends.rate_change_from_zero" if zero else "trends.rate_change"
            return t(key, pp=self._change(metric, abs_change), rel=rel)
        return rel

    def _kind(self, metric: str) -> str:
        return number_kind(self.metrics.get(metric), self.metrics)

    @staticmethod
    def _group_name(group: object) -> object:
        """A breakdown group as a page shows it: the missing-value and other-groups codes in words."""
        return t("common.no_value") if group == NO_GROUP else t("trends.other_group") if group == OTHER_GROUP else group

    def _named(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` as a page shows it (the CSV keeps the codes): each metric by its display name under the
        ``metric`` header (the summary's ``label`` column takes its place), kinds, tests and groups in words."""
        out = frame
        for col in ("group", "top_group"):
            if col in out:
                out = out.assign(**{col: out[col].map(self._group_name)})
        if "metric" not in out:
            return out
        from .fmt import named_metrics

        names = {code: self._name(code) for code in out["metric"].unique()}
        return named_metrics(out, names, {"kind": "trends.kind", "test": "test"})

    def _table(self, frame: pd.DataFrame, *, values=(), changes=(), pcts=(), estimates=()):
        """A metrics table on the page: each row's numbers formatted for its metric (a share as %, its change in
        percentage points; a count whole, a model's estimate of it with one decimal), the names in words."""
        from .fmt import format_rows, style_table

        kinds = [self._kind(m) for m in frame["metric"]] if "metric" in frame else []
        st = style_table(self._named(frame), pct_cols=pcts)
        if not kinds:
            return st
        return format_rows(
            st, kinds, value_cols=values, change_cols=changes, estimate_cols=estimates, currency=self.currency
        )

    def findings(self) -> list[str]:
        """Key findings in plain words and numbers."""
        from .fmt import fmt_change, fmt_p, fmt_pct

        w = self.window["current"]
        compared = has_previous(self.summary)
        key = "trends.window" if compared else "trends.window_alone" if self.previous_outside else "trends.window_only"
        out = [t(key, start=w[0].date(), end=(w[1] - pd.Timedelta(days=1)).date())]  # the note says why alone
        out += window_notes(self.data_cut, self.window_args)
        out += [self.currency_mix] if self.currency_mix else []  # before any amount is read
        for r in self.summary.itertuples():
            # signed, as the change before it: "+10.0% against a year earlier", not "10.0%"
            yoy = "" if math.isnan(r.yoy_change) else t("trends.yoy", change=fmt_change(r.yoy_change))
            if not compared or math.isnan(r.previous):  # this window's value, the only news there is; a ratio of
                key = "trends.metric_no_previous" if compared else "trends.metric_now"  # nothing before: not "vs –, –"
                out.append(Outcome(t(key, label=self._lead_name(r.metric), current=self._values(r.metric, r.current)[0],
                                     yoy=yoy)))  # fmt: skip
                continue
            if math.isnan(r.rel_change) and r.kind == "value" and not r.abs_change:  # 0 vs 0: no news
                continue
            sig = "" if not r.test else t("trends.significant" if r.significant else "trends.not_significant",
                                          p=fmt_p(r.p_value))  # fmt: skip
            current, previous = self._values(r.metric, r.current, r.previous)
            line = t("trends.metric_line", label=self._lead_name(r.metric), current=current, previous=previous,
                     change=self._change_text(r.metric, r.abs_change, r.rel_change), test=sig, yoy=yoy)  # fmt: skip
            out.append(Outcome(line))  # the lead is the first of these: the window above is the setting
        for i, r in enumerate(self.movers.head(3).itertuples(), 1):  # each named by its rank: 变化第二大
            out.append(Outcome(t("trends.mover", rank=t(f"mover_rank_{i}"), metric=self._name(r.metric),
                                 col=column_label(self.breakdown_col), group=self._group_name(r.group),
                                 change=self._change(r.metric, r.abs_change), rel=fmt_change(r.rel_change),
                                 share=fmt_pct(r.contribution))))  # fmt: skip
        flagged = 0 if self.anomalies is None else len(self.anomalies)
        if flagged and flagged > ANOMALY_RELIABLE_SHARE * max(self.anomaly_checked, 1):
            # far more flags than a well-fitting baseline gives: say so instead of listing them as findings
            out.append(t("trends.anomaly_unreliable", flagged=flagged, checked=self.anomaly_checked,
                         share=fmt_pct(flagged / max(self.anomaly_checked, 1))))  # fmt: skip
        elif flagged and self.anomalies is not None:
            a = self.anomalies.assign(_s=self.anomalies["score"].abs()).sort_values("_s", ascending=False)
            strongest = []
            col = column_label(self.breakdown_col)
            for r in a.head(5).itertuples():
                own = isinstance(getattr(r, "group", None), str)  # a group series' flag names its own group
                top = getattr(r, "top_group", None)
                top = top if isinstance(top, str) else None  # a missing group may read NaN once saved and read back
                strongest.append(t("trends.anomaly_day", day=pd.Timestamp(r.day).date(), metric=self._name(r.metric),
                              group=f" · {col} = {self._group_name(r.group)}" if own else "",
                              # as the anomalies table shows them
                              **self._observed(r.metric, r.value, r.expected, getattr(r, "top_group_change", math.nan)),
                              top=t("trends.anomaly_top", col=col, group=self._group_name(top)) if top and not own
                              else ""))  # fmt: skip
            out.append(Outcome(t("trends.anomalies", n=len(a), days=a["day"].nunique(),
                                 list=t("trends.list_sep").join(strongest))))  # fmt: skip
        return out + list(self.notes)

    def headline(self) -> list[dict]:
        """Headline numbers: each of the first three metrics' value in the window, with its relative change
        against the previous window in the text (``1,234（环比 -27.7%）``)."""
        from .report import headline

        def text(r) -> str:
            if math.isnan(r.rel_change):
                return self._values(r.metric, r.current)[0]
            return t("trends.headline_text", current=self._values(r.metric, r.current)[0],
                     change=self._change_text(r.metric, r.abs_change, r.rel_change))  # fmt: skip

        return [headline(self._name(r.metric), None if math.isnan(r.current) else float(r.current), text(r))
                for r in self.summary.head(3).itertuples()]  # fmt: skip

    def tables(self) -> dict[str, pd.DataFrame]:
        """``summary``, ``series`` and, when computed, ``breakdown``, ``movers``, ``anomalies``, ``distribution``,
        ``intervals``."""
        out = {"summary": self.summary, "series": self.series}
        extra = {
            "breakdown": self.breakdown,
            "movers": self.movers if self.breakdown is not None else None,
            "anomalies": self.anomalies,
            "distribution": self.distribution,
            "intervals": self.intervals,
        }
        out.update({k: v for k, v in extra.items() if v is not None})
        return out

    def _show(self, part: str):
        from IPython.display import Markdown

        from .fmt import drop_empty, fmt_int, md_escape, style_table

        if part == "summary":
            # columns with no value in any row are left out: the year-ago pair without a year of data, the test's
            # columns when no metric is a tested ratio or mean
            return self._table(
                drop_empty(self.summary.drop(columns=["significant"]), _OPTIONAL),
                values=["current", "previous", "year_ago"],
                changes=["abs_change", "diff_ci_low", "diff_ci_high"],
                pcts=["rel_change", "yoy_change"],
            )
        if part == "charts":
            from .caveats import rate_denominator

            shift = self.window["current"][0] - self.window["previous"][0]
            flat = same_per_bucket(self.granularity)
            for r in self.summary.itertuples():
                if r.metric in flat:
                    continue
                n = rate_denominator(self.metrics.get(r.metric))  # small buckets hollow (helpers/caveats.py)
                name = self._name(r.metric)
                unit = t("trends.chart.in_currency", label=name, currency=self.currency)
                kind = self._kind(r.metric)
                m = self.metrics.get(r.metric)
                whole = m is not None and is_additive(m) and m.agg != "sum"  # events, users: 0, 2, 4, not 2.5
                _display(plot_metric_trend(self.series, r.metric, shift=shift, title=name, n=n, percent=kind == "rate",
                                           whole=whole, ylabel=unit if kind == "money" else None))  # fmt: skip
            left_out = [self._name(m) for m in self.summary["metric"] if m in flat]
            if left_out:
                return Markdown(
                    "_"
                    + md_escape(
                        t(
                            "trends.chart.left_out",
                            metrics=list_join(left_out),
                            granularity=label(f"trends.granularity.{self.granularity}"),
                        )
                    )
                    + "_"
                )
            return None
        if part in ("breakdown", "movers") and self.breakdown is None:
            # one section on the page: the breakdown part says it, the movers part adds nothing
            return Markdown(f"_{t('trends.no_breakdown')}_") if part == "breakdown" else None
        if part == "breakdown":
            return self._table(
                self.breakdown, values=["current", "previous"], changes=["abs_change"], pcts=["rel_change"]
            )
        if part == "movers":
            return self._table(
                self.movers, values=["current", "previous"], changes=["abs_change"], pcts=["rel_change", "contribution"]
            )
        if part == "anomalies" and self.anomalies is not None and not len(self.anomalies):
            # no table of headers only: none found among the days checked, or no day had a baseline to check
            key = "trends.no_anomalies" if self.anomaly_checked else "trends.anomalies_unchecked"
            return Markdown(f"_{t(key, checked=fmt_int(self.anomaly_checked), days=MIN_HISTORY_DAYS)}_")
        if part == "anomalies" and self.anomalies is not None:
            return self._table(
                self.anomalies,
                values=["value"],
                estimates=["expected", "lower", "upper"],
                changes=["top_group_change"],
                pcts=["top_group_share"],
            )
        frame = getattr(self, part)
        if part == "intervals" and frame is not None and len(frame):
            # the last row is every user's (helpers.distribution.interval_table): in words, on the chart too
            frame = frame.assign(group=[*frame["group"].iloc[:-1].map(self._group_name), t("trends.all_users")])
        if part == "intervals" and frame is not None and "p50" in frame and frame["p50"].notna().any():
            _display(plot_interval_boxes(frame))  # the box per group, then the table
        if frame is None:
            return Markdown(
                "_" + md_escape(clause_join(self.notes or [t("trends.not_computed")])) + "_"
            )  # notes may hold data
        hours = ["p10", "p25", "p50", "p75", "p90", "mean_hours"] if part == "intervals" else []
        return style_table(self._named(frame), num_cols=hours)  # hours alike: 122.00 beside 238.50, not 122


#: summary columns a page leaves out when no row has a value (the CSV keeps them)
_OPTIONAL = ["test", "diff_ci_low", "diff_ci_high", "p_value", "year_ago", "yoy_change"]


def run_trends(ctx) -> TrendsReport | Unavailable:
    """:meth:`TrendsReport.run`: the trends report of a campaign (or its Unavailable twin)."""
    return TrendsReport.run(ctx)
