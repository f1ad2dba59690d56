"""Funnel analysis with exact product-analytics semantics (docs/funnel.md has every rule).

Event-level work is Ibis (runs on DuckDB or Spark); it ends in one row per user (their best attempt),
from which the step table, breakdowns, tests, trends and time-to-convert come in pandas.

Rules
-----
- A *step* matches an event name, a list of names, or a name with property filters.
- *Attempts*: a user's first step-1 event starts an attempt; its window is ``[start, start + window]``
  (exactly at the window is in). A repeat of step 1 inside an attempt's window does not restart it; the
  next attempt starts at the first step-1 event after the window has ended.
- ``ordered`` (default): step k+1 is the first matching event at or after step k's time, within the
  attempt's window (and within ``step_windows[k]`` of step k when given). At the same instant counts as
  "at or after"; a single event row never counts for two steps.
- ``strict``: step k+1 must be the user's very next event after step k (events ordered by time, ties by
  event name then source order).
- ``unordered``: the attempt starts at the first event matching any step; the steps completed are the
  distinct steps matched inside the window, in any order; the k-th step is reached when k distinct
  steps are done.
- *Exclusions*: an attempt with an excluded event strictly between the times of its steps k and k+1
  (or, when k+1 is not reached, between step k and the end of the window) is discarded; a user whose
  attempts are all discarded is removed from the funnel (counted in ``excluded_users``).
- A user counts once, with their best attempt: the most steps reached, ties to the earliest attempt.
- *Censoring*: a user whose first counted attempt (after exclusions) starts later than ``period_end - window``
  could not have had a full window: flagged censored and excluded from the rates unless ``include_censored``.
- Rates: ``rate_from_start = users_k / users_1``, ``rate_from_previous = users_k / users_{k-1}``, with 95%
  Wilson score intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from .attempts import FunnelUsers, funnel_attempts, funnel_users
from .base import Report, ReportUnavailable, Unavailable, _display
from .campaign import observed_end
from .checks import page_did_you_mean
from .drivers import driver_finding, funnel_drivers, show_drivers
from .durations import parse_window_hours
from .errors import MissingColumnError
from .i18n import clause_join, column_word, label, list_join, localized, t
from .periods import cut_note
from .spelling import did_you_mean
from .stats import two_proportion_test, wilson_interval
from .steps import Step
from .tags import is_tag_breakdown, with_tag_column
from .tracking import display_names

__all__ = [
    "FunnelUsers",
    "funnel_attempts",
    "funnel_users",
    "funnel_table",
    "funnel_breakdown",
    "compare_groups",
    "conversion_trend",
    "time_to_convert",
    "plot_funnel",
    "plot_breakdown",
    "plot_time_to_convert",
    "plot_trend",
    "FunnelReport",
    "run_funnel",
]


# ------------------------------------------------------------------------------------------- statistics
def _all_censored(users: pd.DataFrame, window_hours: float, end: pd.Timestamp) -> str:
    """Why a funnel whose every user is censored has no rates, and how to get them: the longest window that gives
    the first user to enter a full one (whole hours; ``period_end - first start``)."""
    from .fmt import fmt_duration_hours, fmt_int

    first = pd.Timestamp(users["start"].min())
    longest = max(int((end - first) / pd.Timedelta(hours=1)), 0)
    return t("funnel.all_censored", users=fmt_int(len(users)), window=fmt_duration_hours(window_hours),
             end=f"{end:%Y-%m-%d %H:%M}", first=f"{first:%Y-%m-%d %H:%M}",
             longest=fmt_duration_hours(longest))  # fmt: skip


def funnel_table(users: pd.DataFrame, steps, *, include_censored: bool = False) -> pd.DataFrame:
    """The step table from :func:`funnel_users`.

    Returns
    -------
    DataFrame, one row per step: ``step`` (1-based), ``name``, ``users`` (reached it), ``rate_from_start``,
    ``rate_from_previous``, ``drop_off`` (users lost since the previous step), ``ci_low``, ``ci_high`` (95%
    Wilson interval of ``rate_from_start``), ``prev_ci_low``, ``prev_ci_high`` (of ``rate_from_previous``),
    ``median_hours``, ``p90_hours`` (time from step 1 to reaching this step).
    """
    steps = [Step.of(s) for s in steps]
    u = users if include_censored else users[~users["censored"]]
    n0 = len(u)
    rows, prev = [], n0
    for k, s in enumerate(steps, start=1):
        reached = u[u["reached"] >= k]
        m = len(reached)
        lo, hi = wilson_interval(m, n0)
        plo, phi = wilson_interval(m, prev)
        hours = (reached[f"t{k}"] - reached["t1"]).dt.total_seconds() / 3600
        rows.append(
            {
                "step": k,
                "name": s.name,
                "users": m,
                "rate_from_start": m / n0 if n0 else math.nan,
                "rate_from_previous": m / prev if prev else math.nan,
                "drop_off": prev - m if k > 1 else 0,
                "ci_low": lo,
                "ci_high": hi,
                "prev_ci_low": plo,
                "prev_ci_high": phi,
                "median_hours": float(hours.median()) if m else math.nan,
                "p90_hours": float(hours.quantile(0.9)) if m else math.nan,
            }
        )
        prev = m
    return pd.DataFrame(rows)


def funnel_breakdown(users: pd.DataFrame, steps, *, include_censored: bool = False) -> pd.DataFrame:
    """:func:`funnel_table` per breakdown group (first touch), stacked with a leading ``group`` column;
    groups ordered by entered users, largest first."""
    if "group" not in users.columns:
        raise ValueError("funnel_users was run without a breakdown column")
    u = users if include_censored else users[~users["censored"]]
    order = u["group"].value_counts().index.tolist()
    parts = [funnel_table(u[u["group"] == g], steps, include_censored=True).assign(group=g) for g in order]
    if not parts:
        return pd.DataFrame()
    df = pd.concat(parts, ignore_index=True)
    return df[["group"] + [c for c in df.columns if c != "group"]]


def compare_groups(users: pd.DataFrame, a: str, b: str, *, n_steps: int, include_censored: bool = False) -> dict:
    """Two-proportion z-test of overall conversion (reached the last step) between groups ``a`` and ``b``.

    Returns
    -------
    dict: ``group_a``, ``group_b``, ``n_a``, ``n_b``, ``conv_a``, ``conv_b``, ``rate_a``, ``rate_b``,
    ``diff`` (rate_a - rate_b), ``diff_ci_low``, ``diff_ci_high`` (95%, unpooled), ``z``, ``p_value``
    (two-sided, pooled), ``cohens_h`` (effect size), ``relative_lift`` (rate_a / rate_b - 1),
    ``significant`` (p < 0.05).
    """
    u = users if include_censored else users[~users["censored"]]
    ga, gb = u[u["group"] == a], u[u["group"] == b]
    na, nb = len(ga), len(gb)
    xa, xb = int((ga["reached"] >= n_steps).sum()), int((gb["reached"] >= n_steps).sum())
    return {
        "group_a": a,
        "group_b": b,
        "n_a": na,
        "n_b": nb,
        "conv_a": xa,
        "conv_b": xb,
        **two_proportion_test(xa, na, xb, nb),
    }


def conversion_trend(
    users: pd.DataFrame, *, n_steps: int, period: str = "day", include_censored: bool = False
) -> pd.DataFrame:
    """Overall conversion by the day or week (Monday) of each user's entry (best attempt start).

    Returns
    -------
    DataFrame ``period_start``, ``entered``, ``converted``, ``rate``, ``ci_low``, ``ci_high``.
    """
    u = users if include_censored else users[~users["censored"]]
    if u.empty:
        return pd.DataFrame(columns=["period_start", "entered", "converted", "rate", "ci_low", "ci_high"])
    start = pd.to_datetime(u["start"]).dt.normalize()
    if period == "week":
        start = start - pd.to_timedelta(start.dt.weekday, unit="D")
    g = pd.DataFrame({"period_start": start, "conv": u["reached"] >= n_steps}).groupby("period_start")["conv"]
    df = pd.DataFrame({"entered": g.size(), "converted": g.sum().astype(int)}).reset_index()
    df["rate"] = df["converted"] / df["entered"]
    ci = [wilson_interval(c, e) for c, e in zip(df["converted"], df["entered"])]
    df["ci_low"], df["ci_high"] = [c[0] for c in ci], [c[1] for c in ci]
    return df


def time_to_convert(users: pd.DataFrame, *, n_steps: int, include_censored: bool = False) -> pd.Series:
    """Hours from step 1 to the last step, for users who converted."""
    u = users if include_censored else users[~users["censored"]]
    conv = u[u["reached"] >= n_steps]
    return ((conv[f"t{n_steps}"] - conv["t1"]).dt.total_seconds() / 3600).rename("hours")


# ------------------------------------------------------------------------------------------- charts
def plot_funnel(table: pd.DataFrame, *, ax=None, title: str | None = None):
    """Bars of users per step, annotated with the rate from step 1 and from the previous step."""
    import matplotlib.pyplot as plt

    from .fmt import fmt_int, fmt_pct

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 1.0 + 0.7 * len(table)))
    labels = [f"{r.step}. {r.name}" for r in table.itertuples()]
    pos = list(range(len(table)))[::-1]
    ax.barh(pos, table["users"], color="C0")
    xmax = max(table["users"].max(), 1)
    for p, r in zip(pos, table.itertuples()):
        txt = f"{fmt_int(r.users)} · {fmt_pct(r.rate_from_start)}"
        if r.step > 1:
            txt += t("aside", text=t("funnel.chart_from_previous", rate=fmt_pct(r.rate_from_previous)))
        ax.text(r.users + xmax * 0.01, p, txt, va="center", fontsize="small")
    ax.set_yticks(pos, labels)
    ax.set_xlim(0, xmax * 1.45)
    ax.set_title(title or t("funnel.chart_title"))
    ax.set_xlabel(t("funnel.users_axis"))
    ax.set_ylabel(t("funnel.step_axis"))
    return ax


def plot_breakdown(breakdown: pd.DataFrame, *, ax=None, title: str | None = None, display: dict | None = None):
    """Rate from step 1 at each step, one line per group, with the 95% Wilson interval as error bars; step
    names on the axis as pages show them (``display``: machine name -> shown name)."""
    import matplotlib.pyplot as plt

    from .plots import percent_ticks

    if breakdown.empty or "group" not in breakdown:
        from .plots import empty_chart

        return empty_chart(
            ax, title=title or t("funnel.breakdown_title"), xlabel=t("funnel.step_axis"), ylabel=t("funnel.rate_axis")
        )
    if ax is None:
        _, ax = plt.subplots()
    from .caveats import mark_small

    for g, d in breakdown.groupby("group", sort=False):
        eb = ax.errorbar(
            d["step"],
            d["rate_from_start"],
            yerr=[
                (d["rate_from_start"] - d["ci_low"]).clip(lower=0),
                (d["ci_high"] - d["rate_from_start"]).clip(lower=0),
            ],
            marker="o",
            capsize=3,
            label=str(g),
        )
        n0 = [d["users"].iloc[0]] * len(d)  # the group's entered users: small groups hollow (helpers/caveats.py)
        mark_small(ax, d["step"], d["rate_from_start"], n0, lo=d["ci_low"], hi=d["ci_high"], color=eb[0].get_color())
    percent_ticks(ax.yaxis)
    steps = breakdown.drop_duplicates("step")
    shown = display or {}
    ax.set_xticks(steps["step"], [f"{s}. {shown.get(n, n)}" for s, n in zip(steps["step"], steps["name"])])
    ax.legend(fontsize="small")
    ax.set_title(title or t("funnel.breakdown_title"))
    ax.set_xlabel(t("funnel.step_axis"))
    ax.set_ylabel(t("funnel.rate_axis"))
    return ax


def plot_time_to_convert(hours: pd.Series, *, ax=None, title: str | None = None):
    """Histogram of hours from step 1 to the last step (log-spaced bins when the range is wide)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    h = hours.dropna()
    if h.empty:
        ax.text(0.5, 0.5, t("funnel.no_converted"), ha="center", va="center", transform=ax.transAxes)
    else:
        from matplotlib.ticker import MaxNLocator

        ax.hist(h, bins=min(40, max(5, int(np.sqrt(len(h))))), color="C2")
        ax.yaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True))  # users: 0, 1, 2, not 0.25
        ax.axvline(h.median(), color="C3", linestyle="--", label=t("funnel.median_line", hours=f"{h.median():.1f}"))
        ax.legend(fontsize="small")
    ax.set_title(title or t("funnel.ttc_title"))
    ax.set_xlabel(t("funnel.hours_axis"))
    ax.set_ylabel(t("funnel.users_axis"))
    return ax


def plot_trend(trend: pd.DataFrame, *, ax=None, title: str | None = None):
    """Overall conversion per entry day/week with its 95% interval band."""
    import matplotlib.pyplot as plt

    from .plots import percent_ticks

    if trend.empty:
        from .plots import empty_chart

        return empty_chart(
            ax, title=title or t("funnel.trend_title"), xlabel=t("funnel.entry_date_axis"),
            ylabel=t("funnel.overall_axis"),
        )  # fmt: skip
    if ax is None:
        _, ax = plt.subplots()
    ax.plot(trend["period_start"], trend["rate"], marker="o", markersize=3)
    ax.fill_between(trend["period_start"], trend["ci_low"].astype(float), trend["ci_high"].astype(float), alpha=0.2)
    if "entered" in trend:  # days/weeks with few entered users: hollow (helpers/caveats.py)
        from .caveats import mark_small

        mark_small(ax, trend["period_start"], trend["rate"], trend["entered"], lo=trend["ci_low"], hi=trend["ci_high"])
    percent_ticks(ax.yaxis)
    ax.set_title(title or t("funnel.trend_title"))
    ax.set_xlabel(t("funnel.entry_date_axis"))
    ax.set_ylabel(t("funnel.overall_axis"))
    fig = ax.get_figure()
    fig.autofmt_xdate()
    return ax


# ------------------------------------------------------------------------------------------- report
@dataclass(repr=False)
class FunnelReport(Report):
    """The funnel report. Frames: ``users`` (best attempt per user), ``table`` (steps), ``breakdown``
    (steps per group, or None), ``trend`` (conversion by entry period), ``ttc`` (hours to convert)."""

    name: ClassVar[str] = "funnel"
    title: ClassVar[str] = localized("funnel.title")
    parts: ClassVar[tuple[str, ...]] = ("table", "chart", "breakdown", "test", "trend", "time", "drivers")
    table_names: ClassVar[tuple[str, ...]] = ("steps", "trend", "breakdown", "drivers")
    result_keys: ClassVar[tuple[str, ...]] = (
        "mode",
        "window_hours",
        "steps",
        "censored_users",
        "censored_included",
        "excluded_users",
        "entered_users",
        "breakdown",
        "test",
    )
    unavailable_label: ClassVar[str] = localized("funnel.unavailable_label")
    glossary: ClassVar[tuple[str, ...]] = ("ci95", "wilson", "median", "censored", "z_test", "p_value", "cohens_h",
                                           "odds_ratio")  # fmt: skip

    steps: list = field(default_factory=list)
    mode: str = "ordered"
    window_hours: float = 72.0
    users: pd.DataFrame = field(default_factory=pd.DataFrame)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    trend: pd.DataFrame = field(default_factory=pd.DataFrame)
    ttc: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    breakdown_col: str | None = None
    breakdown: pd.DataFrame | None = None
    #: groups the page shows, the most entered users first (``funnel.breakdown_top``); tables keep every group
    breakdown_top: int = 10
    test: dict | None = None
    censored_users: int = 0
    excluded_users: int = 0
    include_censored: bool = False
    #: step name -> the name pages show (display names from the tracking plan); results keep machine names
    display: dict[str, str] = field(default_factory=dict)
    #: conversion drivers (helpers/drivers.py: every candidate's 2x2 table and odds ratio) and their notes
    drivers: pd.DataFrame | None = None
    drivers_notes: list = field(default_factory=list)
    #: drivers shown each way (positive, negative) on the page: ``drivers.top_n``
    drivers_top: int = 5
    #: that the data ends before the period, so censoring does too (:meth:`helpers.campaign.Context.observed_end`)
    data_cut: tuple | None = None
    #: event -> the name pages show (the tracking plan's display names) for the drivers' event candidates
    event_names: dict[str, str] = field(default_factory=dict)
    #: the step events that ingest quarantined in bulk (data/_ingest.json ``event_losses``: :func:`_step_losses`)
    step_losses: list = field(default_factory=list)

    @classmethod
    def compute(cls, ctx) -> FunnelReport:
        """The funnel of a campaign, from its ``funnel:`` params (docs/funnel.md)."""
        p = ctx.cfg.funnel
        wh = parse_window_hours(p.window)
        if not ctx.has("events"):
            raise ReportUnavailable(t("funnel.no_events"))
        ev = ctx.table("events")
        if is_tag_breakdown(p.breakdown):  # breakdown: tag:<name>, the user's tag (helpers/tags.py)
            ev = with_tag_column(ctx, ev, p.breakdown, report="funnel")
        present = set(ev.select("event").distinct().to_pandas()["event"].astype(str))
        steps = [Step.of(s) for s in (p.steps or _default_steps(present))]
        has = t("funnel.data_has", events=list_join(sorted(present)) or t("funnel.no_events_in_data"))
        missing = [
            f"funnel.steps[{i}] {' | '.join(map(repr, s.events)) or '(no event)'}"
            + page_did_you_mean(s.events[0] if s.events else "", present)
            for i, s in enumerate(steps)
            if not set(s.events) & present
        ]
        if missing:
            raise ReportUnavailable(t("funnel.missing_steps", missing=clause_join(missing), has=has))
        if len(steps) < 2 or len({s.name for s in steps}) < 2:
            raise ReportUnavailable(t("funnel.two_steps", has=has))
        end, data_cut = observed_end(ctx)  # censoring where the data ends (a window after it is not observed)
        bcol = p.breakdown or None
        if bcol and bcol not in ev.columns:
            raise MissingColumnError(
                "events",
                bcol,
                ev.columns,
                hint=f"it is the funnel breakdown (funnel.breakdown){did_you_mean(bcol, ev.columns)}",
            )
        fu = funnel_attempts(
            ev,
            steps,
            window_hours=wh,
            mode=p.mode,
            exclusions=[e.model_dump() for e in p.exclusions],
            step_windows_hours=[parse_window_hours(x) if x else None for x in (p.step_windows or [])] or None,
            period_end=end,
            breakdown=bcol,
        )
        users = fu.users
        if len(users) and not p.include_censored and users["censored"].all():
            raise ReportUnavailable(_all_censored(users, wh, end))
        n = len(steps)
        rep = cls(
            steps=steps,
            mode=p.mode,
            window_hours=wh,
            users=users,
            include_censored=p.include_censored,
            censored_users=int(users["censored"].sum()),
            excluded_users=fu.excluded_users,
            table=funnel_table(users, steps, include_censored=p.include_censored),
            trend=conversion_trend(users, n_steps=n, period=p.trend_period, include_censored=p.include_censored),
            ttc=time_to_convert(users, n_steps=n, include_censored=p.include_censored),
            display=_display_names(ctx, steps),
            data_cut=data_cut,
        )
        if bcol:
            rep.breakdown_col = bcol
            rep.breakdown = funnel_breakdown(users, steps, include_censored=p.include_censored)
            rep.breakdown_top = p.breakdown_top
            groups = p.compare or _two_groups(users, p.include_censored, n_steps=n)
            if len(groups) == 2:
                rep.test = compare_groups(users, groups[0], groups[1], n_steps=n, include_censored=p.include_censored)
        dp = getattr(ctx.cfg, "drivers", None)
        rep.drivers, rep.drivers_notes = funnel_drivers(ev, users, steps, window_hours=wh, params=dp)
        rep.drivers_top = dp.top_n if dp is not None else rep.drivers_top
        rep.event_names = display_names(ctx)
        rep.step_losses = _step_losses(ctx, steps)
        return rep

    def to_results(self) -> dict:
        """The report-specific part of ``results/funnel.json`` (docs/funnel.md)."""
        steps = [
            {
                "step": int(r.step),
                "name": r.name,
                "users": int(r.users),
                "rate_from_start": r.rate_from_start,
                "rate_from_previous": r.rate_from_previous,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "median_hours": r.median_hours,
                "p90_hours": r.p90_hours,
            }
            for r in self.table.itertuples()
        ]
        return self._results(
            mode=self.mode,
            window_hours=self.window_hours,
            steps=steps,
            censored_users=self.censored_users,
            censored_included=self.include_censored,
            excluded_users=self.excluded_users,
            entered_users=int(self.table["users"].iloc[0]) if len(self.table) else 0,
            breakdown=self.breakdown_col,
            test=self.test,
        )

    def findings(self) -> list[str]:
        """Key findings in plain words and numbers."""
        from .fmt import fmt_duration_hours, fmt_int, fmt_p, fmt_pct, fmt_pp, fmt_range

        tb = self.table
        out = [
            t(
                "funnel.overall",
                entered=fmt_int(tb["users"].iloc[0]),
                mode=label(f"funnel.mode.{self.mode}", self.mode),
                window=fmt_duration_hours(self.window_hours),
                completed=fmt_int(tb["users"].iloc[-1]),
                rate=fmt_pct(tb["rate_from_start"].iloc[-1]),
                ci=fmt_range(tb["ci_low"].iloc[-1], tb["ci_high"].iloc[-1], fmt_pct),
            )
        ]
        if len(tb) > 1:
            worst = tb.iloc[1:].sort_values("rate_from_previous").iloc[0]
            prev = tb[tb["step"] == worst["step"] - 1].iloc[0]
            out.append(
                t(
                    "funnel.biggest_drop",
                    prev=self._dn(prev["name"]),
                    step=self._dn(worst["name"]),
                    rate=fmt_pct(worst["rate_from_previous"]),
                    lost=fmt_int(worst["drop_off"]),
                )
            )
        if len(self.ttc):
            out.append(
                t(
                    "funnel.ttc",
                    median=fmt_duration_hours(self.ttc.median()),
                    p90=fmt_duration_hours(self.ttc.quantile(0.9)),
                )
            )
        if self.censored_users:
            key = "funnel.censored_included" if self.include_censored else "funnel.censored_excluded"
            out.append(t(key, users=fmt_int(self.censored_users)))
        if self.excluded_users:
            out.append(t("funnel.excluded", users=fmt_int(self.excluded_users)))
        if self.test:
            tt = self.test
            out.append(
                t(
                    "funnel.test_finding",
                    column=column_word(self.breakdown_col),
                    a=tt["group_a"],
                    rate_a=fmt_pct(tt["rate_a"]),
                    b=tt["group_b"],
                    rate_b=fmt_pct(tt["rate_b"]),
                    diff=fmt_pp(tt["diff"]),  # a difference of two rates: percentage points
                    ci=fmt_range(tt["diff_ci_low"], tt["diff_ci_high"], fmt_pp),
                    p=fmt_p(tt["p_value"]),
                    verdict=t("funnel.test_significant" if tt["significant"] else "funnel.test_not_significant"),
                )
            )
        if self.step_losses:  # a step that reads low because ingest quarantined its rows, said where it shows
            items = list_join(t("funnel.step_loss", event=self.event_names.get(d["event"], d["event"]),
                                rows=fmt_int(d["rows"]), total=fmt_int(d["total"]),
                                share=fmt_pct(d["rows"] / d["total"])) for d in self.step_losses)  # fmt: skip
            out.append(t("funnel.step_losses", items=items))
        top = driver_finding(self.drivers, "conversion", self.event_names)
        return out + ([top] if top else []) + ([cut_note(self.data_cut)] if self.data_cut else [])

    def headline(self) -> list[dict]:
        """Headline numbers for the index page."""
        from .fmt import fmt_int, fmt_pct, fmt_pp
        from .report import headline

        tb = self.table
        out = [
            headline(t("funnel.h_entered"), int(tb["users"].iloc[0]), fmt_int(tb["users"].iloc[0])),
            headline(
                t("funnel.h_conversion"),
                float(tb["rate_from_start"].iloc[-1]),
                fmt_pct(tb["rate_from_start"].iloc[-1]),
            ),
        ]
        if self.test:
            out.append(
                headline(
                    t("funnel.h_diff", a=self.test["group_a"], b=self.test["group_b"]),
                    self.test["diff"],
                    fmt_pp(self.test["diff"]),
                )
            )
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        """``steps``, ``trend`` and, with a breakdown, ``breakdown``."""
        out = {"steps": self.table, "trend": self.trend}
        if self.breakdown is not None:
            out["breakdown"] = self.breakdown
        if self.drivers is not None:
            out["drivers"] = self.drivers
        return out

    def _dn(self, name: str) -> str:
        return self.display.get(name, name)

    def _shown(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` with its step names as pages show them."""
        return df.assign(name=df["name"].map(self._dn)) if "name" in df and self.display else df

    def _show(self, part: str):
        from IPython.display import Markdown

        from .fmt import fmt_int, fmt_num, fmt_p, fmt_pct, fmt_pp, fmt_range, style_table

        if part == "table":
            return style_table(
                self._shown(self.table).drop(columns=["prev_ci_low", "prev_ci_high"]),
                int_cols=["users", "drop_off"],
                pct_cols=["rate_from_start", "rate_from_previous", "ci_low", "ci_high"],
                num_cols=["median_hours", "p90_hours"],
            )
        if part == "chart":
            return plot_funnel(self._shown(self.table))
        if part in ("breakdown", "test") and self.breakdown is None:  # said once, under "breakdown"
            return Markdown(f"_{t('funnel.no_breakdown')}_") if part == "breakdown" else None
        if part == "breakdown":
            bd = self.breakdown
            assert bd is not None
            first = bd[bd["step"] == bd["step"].min()].set_index("group")["users"]
            if len(first) > self.breakdown_top:  # 427 brands drew 427 lines: the largest, said so; the CSV has all
                top = first.sort_values(ascending=False, kind="stable").head(self.breakdown_top)
                _display(Markdown(t("funnel.breakdown_top", shown=self.breakdown_top, groups=fmt_int(len(first)),
                                    share=fmt_pct(top.sum() / first.sum()) if first.sum() else "–")))  # fmt: skip
                bd = bd[bd["group"].isin(top.index)]
            _display(plot_breakdown(bd, display=self.display))
            last = bd[bd["step"] == bd["step"].max()]
            # "users" would mean entered in one table and converted in the next: name both (col.entered/converted)
            cols = ["group", "users", "rate_from_start", "ci_low", "ci_high"]
            shown = last[cols].rename(columns={"users": "converted"})
            shown.insert(1, "entered", shown["group"].map(first).to_numpy())
            return style_table(
                shown,
                int_cols=["entered", "converted"],
                pct_cols=["rate_from_start", "ci_low", "ci_high"],
            )
        if part == "drivers":
            return show_drivers(
                self.drivers, self.drivers_notes, "conversion", n=self.drivers_top, events=self.event_names
            )
        if part == "test":
            if not self.test:
                return Markdown(f"_{t('funnel.too_small')}_")
            tt = self.test
            rows = pd.DataFrame(
                [
                    {"group": tt["group_a"], "entered": tt["n_a"], "converted": tt["conv_a"], "rate": tt["rate_a"]},
                    {"group": tt["group_b"], "entered": tt["n_b"], "converted": tt["conv_b"], "rate": tt["rate_b"]},
                ]
            )
            _display(style_table(rows, int_cols=["entered", "converted"], pct_cols=["rate"]))
            return Markdown(
                t(
                    "funnel.test_text",
                    diff=fmt_pp(tt["diff"]),  # a difference of two rates: percentage points
                    ci=fmt_range(tt["diff_ci_low"], tt["diff_ci_high"], fmt_pp),
                    z=fmt_num(tt["z"]),
                    p=fmt_p(tt["p_value"]),
                    h=fmt_num(tt["cohens_h"]),
                    lift=fmt_pct(tt["relative_lift"]),
                )
            )
        if part == "trend":
            return plot_trend(self.trend)
        return plot_time_to_convert(self.ttc)  # "time"


def run_funnel(ctx) -> FunnelReport | Unavailable:
    """:meth:`FunnelReport.run`: the funnel report of a campaign (or its Unavailable twin)."""
    return FunnelReport.run(ctx)


def _step_losses(ctx, steps) -> list[dict]:
    """The entries of ingest's ``event_losses`` (``data/_ingest.json``, :func:`helpers.cleaning.event_losses`) whose
    event is one of the steps' events: "--" for "no amount" quarantined 159 pay events, and the funnel read that as
    users dropping out with no word of it on its page."""
    from .caveats import ingest_entry

    losses = ingest_entry(ctx, "events").get("event_losses") or []
    events = {e for s in steps for e in s.events}
    return [d for d in losses if d.get("event") in events]


def _display_names(ctx, steps: list[Step]) -> dict[str, str]:
    """Step name -> its name on pages: the tracking plan's display names for the step's events (``支付成功``
    for ``pay``); a step's own label wins. Empty without a plan."""
    names = display_names(ctx)
    out = {}
    for s in steps:
        if s.label or not names or not any(e in names for e in s.events):
            continue
        shown = "|".join(names.get(e, e) for e in s.events)
        if s.where:
            shown += "[" + ",".join(f"{k}={'|'.join(v)}" for k, v in s.where) + "]"
        out[s.name] = shown
    return out


def _default_steps(present: set[str]) -> list[str]:
    for chain in (["view", "cart", "order", "pay"], ["pv", "cart", "buy"], ["view", "cart", "purchase"]):
        have = [s for s in chain if s in present]
        if len(have) >= 2:
            return have
    return sorted(present)[:2]


def _two_groups(users: pd.DataFrame, include_censored: bool, *, n_steps: int) -> list[str]:
    """The default groups of the test: the lowest- and the highest-converting group with at least 30 users, by the
    conversion the test compares (reaching step ``n_steps``, the last); ties go to the first group in order. When
    no group converts, that is the first two groups, and the test shows no difference (0% vs 0%)."""
    u = users if include_censored else users[~users["censored"]]
    if "group" not in u:
        return []
    stats = u.assign(conv=u["reached"] >= n_steps).groupby("group")["conv"].agg(["size", "mean"])
    stats = stats[stats["size"] >= 30]
    if len(stats) < 2:
        return []
    worst = stats["mean"].idxmin()
    best = stats.drop(worst)["mean"].idxmax()
    return [str(worst), str(best)]
