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
- *Censoring*: a user whose first attempt starts later than ``period_end - window`` could not have had a
  full window: flagged censored and excluded from the rates unless ``include_censored``.
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
from .checks import did_you_mean
from .durations import parse_window_hours
from .errors import MissingColumnError
from .stats import two_proportion_test, wilson_interval
from .steps import Step

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
def plot_funnel(table: pd.DataFrame, *, ax=None, title: str = "转化漏斗 Conversion funnel"):
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
            txt += f" (环比 {fmt_pct(r.rate_from_previous)})"
        ax.text(r.users + xmax * 0.01, p, txt, va="center", fontsize="small")
    ax.set_yticks(pos, labels)
    ax.set_xlim(0, xmax * 1.45)
    ax.set_title(title)
    ax.set_xlabel("用户数 users")
    ax.set_ylabel("步骤 step")
    return ax


def plot_breakdown(breakdown: pd.DataFrame, *, ax=None, title: str = "分组转化率 Conversion by group"):
    """Rate from step 1 at each step, one line per group, with the 95% Wilson interval as error bars."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    if breakdown.empty or "group" not in breakdown:
        from .plots import empty_chart

        return empty_chart(ax, title=title, xlabel="步骤 step", ylabel="相对第一步的转化率 rate from step 1")
    if ax is None:
        _, ax = plt.subplots()
    for g, d in breakdown.groupby("group", sort=False):
        ax.errorbar(
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
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    steps = breakdown.drop_duplicates("step")
    ax.set_xticks(steps["step"], [f"{s}. {n}" for s, n in zip(steps["step"], steps["name"])])
    ax.legend(fontsize="small")
    ax.set_title(title)
    ax.set_xlabel("步骤 step")
    ax.set_ylabel("相对第一步的转化率 rate from step 1")
    return ax


def plot_time_to_convert(hours: pd.Series, *, ax=None, title: str = "转化用时分布 Time to convert"):
    """Histogram of hours from step 1 to the last step (log-spaced bins when the range is wide)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    h = hours.dropna()
    if h.empty:
        ax.text(0.5, 0.5, "没有转化用户 no converted users", ha="center", va="center", transform=ax.transAxes)
    else:
        ax.hist(h, bins=min(40, max(5, int(np.sqrt(len(h))))), color="C2")
        ax.axvline(h.median(), color="C3", linestyle="--", label=f"中位数 median {h.median():.1f} h")
        ax.legend(fontsize="small")
    ax.set_title(title)
    ax.set_xlabel("小时 hours from step 1")
    ax.set_ylabel("用户数 users")
    return ax


def plot_trend(trend: pd.DataFrame, *, ax=None, title: str = "转化率趋势 Conversion trend by entry date"):
    """Overall conversion per entry day/week with its 95% interval band."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    if trend.empty:
        from .plots import empty_chart

        return empty_chart(ax, title=title, xlabel="进入日期 entry date", ylabel="整体转化率 overall conversion")
    if ax is None:
        _, ax = plt.subplots()
    ax.plot(trend["period_start"], trend["rate"], marker="o", markersize=3)
    ax.fill_between(trend["period_start"], trend["ci_low"].astype(float), trend["ci_high"].astype(float), alpha=0.2)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title(title)
    ax.set_xlabel("进入日期 entry date")
    ax.set_ylabel("整体转化率 overall conversion")
    fig = ax.get_figure()
    fig.autofmt_xdate()
    return ax


# ------------------------------------------------------------------------------------------- report
@dataclass(repr=False)
class FunnelReport(Report):
    """The funnel report. Frames: ``users`` (best attempt per user), ``table`` (steps), ``breakdown``
    (steps per group, or None), ``trend`` (conversion by entry period), ``ttc`` (hours to convert)."""

    name: ClassVar[str] = "funnel"
    title: ClassVar[str] = "转化漏斗 Conversion funnel"
    parts: ClassVar[tuple[str, ...]] = ("table", "chart", "breakdown", "test", "trend", "time")
    table_names: ClassVar[tuple[str, ...]] = ("steps", "trend", "breakdown")
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
    unavailable_label: ClassVar[str] = "无法计算漏斗 No funnel"

    steps: list = field(default_factory=list)
    mode: str = "ordered"
    window_hours: float = 72.0
    users: pd.DataFrame = field(default_factory=pd.DataFrame)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    trend: pd.DataFrame = field(default_factory=pd.DataFrame)
    ttc: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    breakdown_col: str | None = None
    breakdown: pd.DataFrame | None = None
    test: dict | None = None
    censored_users: int = 0
    excluded_users: int = 0
    include_censored: bool = False
    #: step name -> the name pages show (display names from the tracking plan); results keep machine names
    display: dict[str, str] = field(default_factory=dict)

    @classmethod
    def compute(cls, ctx) -> FunnelReport:
        """The funnel of a campaign, from its ``funnel:`` params (docs/funnel.md)."""
        p = ctx.cfg.funnel
        wh = parse_window_hours(p.window)
        if not ctx.has("events"):
            raise ReportUnavailable("这个活动没有事件表 the campaign has no events table")
        ev = ctx.table("events")
        present = set(ev.select("event").distinct().to_pandas()["event"].astype(str))
        steps = [Step.of(s) for s in (p.steps or _default_steps(present))]
        has = f"the data has: {', '.join(sorted(present)) or '(no events)'}"
        missing = [
            f"funnel.steps[{i}] {' | '.join(map(repr, s.events)) or '(no event)'}"
            + did_you_mean(s.events[0] if s.events else "", present)
            for i, s in enumerate(steps)
            if not set(s.events) & present
        ]
        if missing:
            raise ReportUnavailable(f"数据中没有这些步骤事件 step events not in the data: {'; '.join(missing)}; {has}")
        if len(steps) < 2 or len({s.name for s in steps}) < 2:
            raise ReportUnavailable(f"漏斗至少需要两种步骤事件 a funnel needs at least two step events; {has}")
        end = pd.Timestamp(ctx.cfg.period.end) + pd.Timedelta(days=1)
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
        )
        if bcol:
            rep.breakdown_col = bcol
            rep.breakdown = funnel_breakdown(users, steps, include_censored=p.include_censored)
            groups = p.compare or _two_groups(users, p.include_censored)
            if len(groups) == 2:
                rep.test = compare_groups(users, groups[0], groups[1], n_steps=n, include_censored=p.include_censored)
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
        from .fmt import fmt_duration_hours, fmt_int, fmt_pct

        t = self.table
        out = [
            f"{fmt_int(t['users'].iloc[0])} 位用户进入漏斗 users entered ({self.mode}, 窗口 window "
            f"{fmt_duration_hours(self.window_hours)}); {fmt_int(t['users'].iloc[-1])} 完成全部步骤 completed all "
            f"steps: 整体转化率 overall conversion {fmt_pct(t['rate_from_start'].iloc[-1])} "
            f"(95% CI {fmt_pct(t['ci_low'].iloc[-1])}–{fmt_pct(t['ci_high'].iloc[-1])})."
        ]
        if len(t) > 1:
            worst = t.iloc[1:].sort_values("rate_from_previous").iloc[0]
            prev = t[t["step"] == worst["step"] - 1].iloc[0]
            out.append(
                f"最大流失 biggest drop: {self._dn(prev['name'])} → {self._dn(worst['name'])}, 只有 only "
                f"{fmt_pct(worst['rate_from_previous'])} 继续 continue ({fmt_int(worst['drop_off'])} 人流失 "
                f"users lost)."
            )
        if len(self.ttc):
            out.append(
                f"转化用时中位数 median time to convert {fmt_duration_hours(self.ttc.median())}, "
                f"90% 在 {fmt_duration_hours(self.ttc.quantile(0.9))} 内 within."
            )
        if self.censored_users:
            out.append(
                f"{fmt_int(self.censored_users)} 位用户进入太晚、窗口不完整 entered too late for a full window: "
                f"{'已计入 included' if self.include_censored else '不计入转化率 excluded from rates'}."
            )
        if self.excluded_users:
            out.append(f"{fmt_int(self.excluded_users)} 位用户因排除事件被移出 removed by exclusion events.")
        if self.test:
            tt = self.test
            verdict = "差异显著 significant" if tt["significant"] else "差异不显著 not significant"
            out.append(
                f"分组 {self.breakdown_col}: {tt['group_a']} 转化率 {fmt_pct(tt['rate_a'])} vs {tt['group_b']} "
                f"{fmt_pct(tt['rate_b'])}, 差 diff {fmt_pct(tt['diff'])} (95% CI {fmt_pct(tt['diff_ci_low'])}–"
                f"{fmt_pct(tt['diff_ci_high'])}, p = {tt['p_value']:.3g}): {verdict}."
            )
        return out

    def headline(self) -> list[dict]:
        """Headline numbers for the index page."""
        from .fmt import fmt_int, fmt_pct
        from .report import headline

        t = self.table
        out = [
            headline("entered 进入漏斗", int(t["users"].iloc[0]), fmt_int(t["users"].iloc[0])),
            headline(
                "overall conversion 整体转化率",
                float(t["rate_from_start"].iloc[-1]),
                fmt_pct(t["rate_from_start"].iloc[-1]),
            ),
        ]
        if self.test:
            out.append(
                headline(
                    f"{self.test['group_a']} vs {self.test['group_b']} diff 差异",
                    self.test["diff"],
                    fmt_pct(self.test["diff"]),
                )
            )
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        """``steps``, ``trend`` and, with a breakdown, ``breakdown``."""
        out = {"steps": self.table, "trend": self.trend}
        if self.breakdown is not None:
            out["breakdown"] = self.breakdown
        return out

    def _dn(self, name: str) -> str:
        return self.display.get(name, name)

    def _shown(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` with its step names as pages show them."""
        return df.assign(name=df["name"].map(self._dn)) if "name" in df and self.display else df

    def _show(self, part: str):
        from IPython.display import Markdown

        from .fmt import fmt_num, fmt_pct, style_table

        if part == "table":
            return style_table(
                self._shown(self.table).drop(columns=["prev_ci_low", "prev_ci_high"]),
                int_cols=["users", "drop_off"],
                pct_cols=["rate_from_start", "rate_from_previous", "ci_low", "ci_high"],
                num_cols=["median_hours", "p90_hours"],
            )
        if part == "chart":
            return plot_funnel(self._shown(self.table))
        if part in ("breakdown", "test") and self.breakdown is None:
            return Markdown("_没有设置分组 no breakdown property in the params (funnel.breakdown)._")
        if part == "breakdown":
            bd = self.breakdown
            assert bd is not None
            _display(plot_breakdown(bd))
            last = bd[bd["step"] == bd["step"].max()]
            return style_table(
                last[["group", "users", "rate_from_start", "ci_low", "ci_high"]],
                int_cols=["users"],
                pct_cols=["rate_from_start", "ci_low", "ci_high"],
            )
        if part == "test":
            if not self.test:
                return Markdown("_分组太小，无法检验 groups too small to test (need two groups of 30+ users)._")
            t = self.test
            rows = pd.DataFrame(
                [
                    {"group": t["group_a"], "users": t["n_a"], "converted": t["conv_a"], "rate": t["rate_a"]},
                    {"group": t["group_b"], "users": t["n_b"], "converted": t["conv_b"], "rate": t["rate_b"]},
                ]
            )
            _display(style_table(rows, int_cols=["users", "converted"], pct_cols=["rate"]))
            return Markdown(
                f"两比例 z 检验 two-proportion z-test: diff = {fmt_pct(t['diff'])} "
                f"(95% CI {fmt_pct(t['diff_ci_low'])} – {fmt_pct(t['diff_ci_high'])}), z = {fmt_num(t['z'])}, "
                f"p = {t['p_value']:.3g}, Cohen's h = "
                f"{fmt_num(t['cohens_h'])}, relative lift {fmt_pct(t['relative_lift'])}."
            )
        if part == "trend":
            return plot_trend(self.trend)
        return plot_time_to_convert(self.ttc)  # "time"


def run_funnel(ctx) -> FunnelReport | Unavailable:
    """:meth:`FunnelReport.run`: the funnel report of a campaign (or its Unavailable twin)."""
    return FunnelReport.run(ctx)


def _display_names(ctx, steps: list[Step]) -> dict[str, str]:
    """Step name -> its name on pages: the tracking plan's display names for the step's events (``支付成功``
    for ``pay``); a step's own label wins. Empty without a plan."""
    try:
        from .tracking import display_names

        names = display_names(ctx)
    except AttributeError:  # a context without params (tests, analysts' stand-ins)
        return {}
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


def _two_groups(users: pd.DataFrame, include_censored: bool) -> list[str]:
    """The worst-converting group against all others' best-known large group: the largest and the
    lowest-converting group with at least 30 users (a planted-effect finder for the report)."""
    u = users if include_censored else users[~users["censored"]]
    if "group" not in u:
        return []
    n = int(u["reached"].max()) if len(u) else 0
    stats = u.assign(conv=u["reached"] >= n).groupby("group")["conv"].agg(["size", "mean"])
    stats = stats[stats["size"] >= 30]
    if len(stats) < 2:
        return []
    worst = stats["mean"].idxmin()
    best = stats.drop(worst)["mean"].idxmax()
    return [str(worst), str(best)]
