"""Data quality of the events against the tracking plan (数据质量): coverage, daily volume anomalies, property fill
and violation rates by day, fill-rate drops, drift against the previous run, late data, and a score per event.

The counts come from ingest (``data/_plan_checks.parquet``: per local day, event and declared property, the
rows checked, the rows that carry the property and the rows of each violation; :mod:`helpers.tracking`), so
this report reads every row ingest checked, the quarantined plan violations and ``unknown_event`` rows too, of the
days up to the data's end (:func:`helpers.campaign.observed_end`: the day before a half-loaded last day). Late data
is computed on the clean events table of those days (Ibis: DuckDB or Spark). ``docs/data_quality.md`` has every
rule, the anomaly detector and the scoring.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .base import Outcome, Report, ReportUnavailable, results_doc
from .campaign import observed_end
from .i18n import label, list_join, localized, sentence_start, t
from .periods import PartialCut, partial_why, stop_day

__all__ = [
    "read_plan_checks",
    "plan_coverage",
    "daily_volume",
    "volume_anomalies",
    "property_daily",
    "fill_drops",
    "run_drift",
    "late_data",
    "problem_table",
    "event_scores",
    "plot_volume",
    "plot_fill",
    "DataQualityReport",
]

_MAD_SCALE = 1.4826  # MAD -> standard deviation of a normal distribution
#: the detector's rule as the results state it (:func:`volume_anomalies`)
_RULE = (
    "median +- k * max(1.4826 * MAD, sqrt(max(median, 1))) of the previous window_days days"
    " (at least max(3, window_days // 2) of them)"
)
_VIOLATIONS = ("missing", "bad_type", "bad_enum")
#: severity weights (docs/data_quality.md, "Problems and scores")
WEIGHTS = {
    "fill_drop": 1.0,
    "missing": 1.0,
    "bad_type": 1.0,
    "bad_enum": 0.8,
    "not_in_plan": 1.0,
    "never_seen": 0.8,
    "vanished": 0.8,
    "run_fill_drop": 0.6,
    "volume_anomaly": 0.5,
    "late": 0.5,
    "stopped": 1.0,
}
#: the ``event`` of a problem that concerns every event (a feed that stopped)
ALL_EVENTS = "*"


# ------------------------------------------------------------------------------------------------ compute
def read_plan_checks(path) -> pd.DataFrame:
    """Ingest's check counts (:data:`helpers.tracking.PLAN_CHECKS_FILE`): ``day`` (datetime64), ``event``,
    ``property`` ('' for the event's own counts), ``kind``, ``rows``."""
    df = pd.read_parquet(path)
    df["day"] = pd.to_datetime(df["day"])
    return df


def plan_coverage(checks: pd.DataFrame, plan: Any, *, n_days: int) -> pd.DataFrame:
    """Events of the plan and of the data, side by side.

    Returns
    -------
    DataFrame with ``event``, ``display_name``, ``in_plan``, ``rows`` (rows checked), ``days_seen``,
    ``first_day``, ``last_day``, ``status`` (``ok``, ``never_seen``: declared, no rows; ``not_in_plan``:
    rows of an undeclared event), ``days_share`` (days seen / ``n_days``, the days ``checks`` covers: at most 1).
    Declared events first.
    """
    r = checks[checks["kind"] == "rows"]
    seen = r.groupby("event").agg(
        rows=("rows", "sum"), days_seen=("day", "nunique"), first_day=("day", "min"), last_day=("day", "max")
    )
    names = list(dict.fromkeys([*plan.events, *seen.index]))
    out = pd.DataFrame({"event": names})
    out["display_name"] = [plan.display_name(e) for e in names]
    out["in_plan"] = [e in plan.events for e in names]
    out = out.merge(seen, left_on="event", right_index=True, how="left")
    out["rows"] = out["rows"].fillna(0).astype("int64")
    out["days_seen"] = out["days_seen"].fillna(0).astype("int64")
    out["status"] = np.where(~out["in_plan"], "not_in_plan", np.where(out["rows"] == 0, "never_seen", "ok"))
    out["days_share"] = out["days_seen"] / max(n_days, 1)
    return out


def daily_volume(checks: pd.DataFrame, *, days: pd.DatetimeIndex) -> pd.DataFrame:
    """Rows per event and day over every day of ``days`` (0 on a day without rows): ``event``, ``day``, ``rows``."""
    r = checks[checks["kind"] == "rows"].pivot_table(index="day", columns="event", values="rows", aggfunc="sum")
    r = r.reindex(days, fill_value=0).fillna(0)
    r.index.name = "day"
    return r.reset_index().melt(id_vars="day", var_name="event", value_name="rows").astype({"rows": "int64"})


def volume_anomalies(daily: pd.DataFrame, *, window_days: int = 14, k: float = 3.5) -> pd.DataFrame:
    """Flag days whose volume is far from the trailing median (robust: median and MAD, not mean and sd).

    For each event and day, ``median`` and ``mad`` are those of the previous ``window_days`` days (at least
    ``max(3, window_days // 2)`` of them, else no flag); the scale is ``max(1.4826 * mad, sqrt(max(median, 1)))``
    (the Poisson floor keeps a flat series from flagging noise); a day is ``high`` above ``median + k * scale``
    and ``low`` below ``median - k * scale``.

    Returns
    -------
    ``daily`` with ``median``, ``low``, ``high`` (the band) and ``anomaly`` (``high``, ``low`` or '').
    """
    parts = []
    min_points = max(3, window_days // 2)
    for _, g in daily.sort_values("day").groupby("event", sort=False):
        x = g["rows"].astype(float)
        prev = x.shift(1).rolling(window_days, min_periods=min_points)
        med = prev.median()
        # nanmedian, as Rolling.median: until day window_days + 1 the window holds shift(1)'s leading NaN (the day
        # before the first), and np.median would make the MAD, so the band, NaN on days that have min_points
        mad = prev.apply(lambda w: float(np.nanmedian(np.abs(w - np.nanmedian(w)))), raw=True)
        scale = np.maximum(_MAD_SCALE * mad, np.sqrt(np.maximum(med, 1.0)))
        g = g.assign(median=med, low=(med - k * scale).clip(lower=0), high=med + k * scale)
        g["anomaly"] = np.where(x > g["high"], "high", np.where(x < med - k * scale, "low", ""))
        parts.append(g)
    cols = [*daily.columns, "median", "low", "high", "anomaly"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


def property_daily(checks: pd.DataFrame) -> pd.DataFrame:
    """Per day, event and declared property: fill and violation rates.

    Returns
    -------
    DataFrame with ``day``, ``event``, ``property``, ``rows`` (the event's rows checked that day), ``filled``
    (rows carrying the property), ``missing``, ``bad_type``, ``bad_enum`` (rows of each violation),
    ``fill_rate`` (filled / rows), ``violation_rate`` ((missing + bad_type + bad_enum) / rows).
    """
    rows = checks[checks["kind"] == "rows"][["day", "event", "rows"]]
    p = checks[(checks["property"] != "") & checks["kind"].isin(["filled", *_VIOLATIONS])]
    wide = p.pivot_table(index=["day", "event", "property"], columns="kind", values="rows", aggfunc="sum")
    wide = wide.reindex(columns=["filled", *_VIOLATIONS]).fillna(0).astype("int64").reset_index()
    wide.columns.name = None
    out = wide.merge(rows, on=["day", "event"], how="left")
    out["fill_rate"] = out["filled"] / out["rows"]
    out["violation_rate"] = out[list(_VIOLATIONS)].sum(axis=1) / out["rows"]
    return out[["day", "event", "property", "rows", "filled", *_VIOLATIONS, "fill_rate", "violation_rate"]]


def fill_drops(prop_daily: pd.DataFrame, *, min_drop: float = 0.2, min_days: int = 3) -> pd.DataFrame:
    """The largest fall of each property's daily fill rate (a single change point per event and property).

    Every day ``d`` with at least ``min_days`` days before and from it splits the series; ``before`` and
    ``after`` are the row-weighted fill rates of the two parts, and the split with the largest
    ``before - after`` wins. Kept when that drop is at least ``min_drop``.

    Returns
    -------
    DataFrame with ``event``, ``property``, ``since`` (first day of the lower part), ``before``, ``after``,
    ``drop``, ``rows_after`` (rows of the event from ``since`` on), sorted by ``drop`` descending.
    """
    out = []
    for (ev, prop), g in prop_daily.sort_values("day").groupby(["event", "property"], sort=False):
        f, n = g["filled"].to_numpy(float), g["rows"].to_numpy(float)
        if len(g) < 2 * min_days:
            continue
        cf, cn = np.cumsum(f), np.cumsum(n)
        best = None
        for i in range(min_days, len(g) - min_days + 1):
            before = cf[i - 1] / cn[i - 1]
            after = (cf[-1] - cf[i - 1]) / (cn[-1] - cn[i - 1])
            if best is None or before - after > best[0]:
                best = (before - after, i, before, after)
        if best is not None and best[0] >= min_drop:
            i = best[1]
            out.append(
                {
                    "event": ev,
                    "property": prop,
                    "since": g["day"].iloc[i],
                    "before": best[2],
                    "after": best[3],
                    "drop": best[0],
                    "rows_after": int(n[i:].sum()),
                }
            )
    cols = ["event", "property", "since", "before", "after", "drop", "rows_after"]
    return pd.DataFrame(out, columns=cols).sort_values("drop", ascending=False, ignore_index=True)


def overall_fill(prop_daily: pd.DataFrame) -> dict[str, float]:
    """``{"event.property": fill rate over the whole period}`` (kept in the results for the next run's drift)."""
    g = prop_daily.groupby(["event", "property"])[["filled", "rows"]].sum()
    return {f"{e}.{p}": round(float(r.filled / r.rows), 4) for (e, p), r in g.iterrows() if r.rows}


def run_drift(previous: dict | None, *, seen: list[str], fill: dict[str, float], min_drop: float = 0.2) -> dict | None:
    """Changes since the previous run's results (``results/data_quality.json``), or None without one.

    Returns
    -------
    ``{"previous_run", "new_events", "vanished_events", "fill_dropped": [{"key", "before", "after"}]}``.
    """
    if not previous or not previous.get("available") or previous.get("seen_events") is None:
        return None
    before_seen = set(previous["seen_events"])
    old = previous.get("fill_rates") or {}
    dropped = [
        {"key": k, "before": v, "after": fill[k]}
        for k, v in sorted(old.items())
        if k in fill and v - fill[k] >= min_drop
    ]
    return {
        "previous_run": previous.get("run_id"),
        "new_events": sorted(set(seen) - before_seen),
        "vanished_events": sorted(before_seen - set(seen)),
        "fill_dropped": dropped,
    }


def late_data(events: Any, *, receive_col: str, late_hours: float, ts_col: str = "ts", event_col: str = "event"):
    """Per event: rows with a receive time, and how many arrived more than ``late_hours`` after their event
    time (Ibis: runs on the campaign's engine).

    Returns
    -------
    DataFrame with ``event``, ``rows`` (with a parseable receive time), ``late_rows``, ``late_share``,
    ``p50_delay_hours``, ``max_delay_hours``, sorted by ``late_share`` descending.
    """
    recv = events[receive_col].cast("string").cast("timestamp")
    delay = (recv.epoch_seconds() - events[ts_col].epoch_seconds()) / 3600.0
    t = events.select(event=events[event_col], delay=delay).filter(lambda t: t.delay.notnull())
    agg = t.group_by("event").aggregate(
        rows=t.count(),
        late_rows=(t.delay > late_hours).cast("int64").sum(),
        p50_delay_hours=t.delay.median(),
        max_delay_hours=t.delay.max(),
    )
    df = agg.to_pandas()
    df["late_share"] = df["late_rows"] / df["rows"]
    cols = ["event", "rows", "late_rows", "late_share", "p50_delay_hours", "max_delay_hours"]
    return df[cols].sort_values("late_share", ascending=False, ignore_index=True)


def _problem(kind: str, event: str, prop: str, severity: float, rows: int, detail: str) -> dict:
    return {
        "kind": kind,
        "event": event,
        "property": prop,
        "severity": round(min(1.0, max(0.0, severity)), 4),
        "rows": int(rows),
        "detail": detail,
    }


def problem_table(
    coverage: pd.DataFrame,
    prop_daily: pd.DataFrame,
    drops: pd.DataFrame,
    volume: pd.DataFrame,
    *,
    drift: dict | None = None,
    late: pd.DataFrame | None = None,
    late_hours: float = 24,
    stopped: tuple | None = None,
) -> pd.DataFrame:
    """Every problem found, worst first (``docs/data_quality.md``, "Problems and scores").

    Severity in [0, 1] is a kind's weight (:data:`WEIGHTS`) times its size: ``not_in_plan`` the share of the
    period's days the event arrived on; ``never_seen`` 1; ``fill_drop`` the fall of the fill rate (one problem
    per event and property, which then also carries its violation counts); ``missing``/``bad_type``/
    ``bad_enum`` the share of the event's rows; ``volume_anomaly`` the share of days flagged; ``late`` the
    share of rows late; ``vanished`` (since the previous run) 1; ``run_fill_drop`` the fall since it; ``stopped``
    (``stopped`` = ``(last day with data, period end, period days)``: no event after the last day) the share of the
    period's days without data, one problem for every event (``event`` :data:`ALL_EVENTS`).

    Returns
    -------
    DataFrame with ``kind``, ``event``, ``property`` ('' for an event), ``severity``, ``rows`` (rows
    affected), ``detail`` (plain words), sorted by severity descending, then rows descending.
    """
    out = []
    if stopped:
        last, end, n_days = stopped
        gone = (pd.Timestamp(end) - pd.Timestamp(last)).days
        detail = t("data_quality.stopped", last=last, end=end, days=gone)
        out.append(_problem("stopped", ALL_EVENTS, "", WEIGHTS["stopped"] * gone / n_days, 0, detail))
    for c in coverage.itertuples():
        if c.status == "not_in_plan":
            out.append(
                _problem(
                    "not_in_plan",
                    c.event,
                    "",
                    WEIGHTS["not_in_plan"] * c.days_share,
                    c.rows,
                    t("data_quality.not_in_plan", rows=f"{c.rows:,}", days=c.days_seen),
                )
            )
        elif c.status == "never_seen":
            out.append(
                _problem(
                    "never_seen",
                    c.event,
                    "",
                    WEIGHTS["never_seen"],
                    0,
                    t("data_quality.never_seen"),
                )
            )
    dropped = set()
    for d in drops.itertuples():
        dropped.add((d.event, d.property))
        out.append(
            _problem(
                "fill_drop",
                d.event,
                d.property,
                WEIGHTS["fill_drop"] * d.drop,
                d.rows_after,
                t(
                    "data_quality.fill_drop",
                    before=f"{d.before:.0%}",
                    after=f"{d.after:.0%}",
                    since=f"{d.since:%Y-%m-%d}",
                ),
            )
        )
    tot = prop_daily.groupby(["event", "property"])[[*_VIOLATIONS, "rows"]].sum()
    for (ev, prop), r in tot.iterrows():
        for kind in _VIOLATIONS:
            if r[kind] and (ev, prop) not in dropped:
                share = r[kind] / r["rows"]
                out.append(
                    _problem(
                        kind,
                        ev,
                        prop,
                        WEIGHTS[kind] * share,
                        r[kind],
                        t(
                            "data_quality.violation",
                            kind=t(f"data_quality.kind_{kind}"),
                            share=f"{share:.1%}",
                            rows=f"{int(r[kind]):,}",
                        ),
                    )
                )
    if len(volume):
        flagged = volume[volume["anomaly"] != ""].groupby("event")["anomaly"].agg(["size", list])
        n_days = volume.groupby("event")["day"].nunique()
        for ev, r in flagged.iterrows():
            out.append(
                _problem(
                    "volume_anomaly",
                    ev,
                    "",
                    WEIGHTS["volume_anomaly"] * r["size"] / n_days[ev],
                    0,
                    t(
                        "data_quality.volume_anomaly",
                        days=r["size"],
                        low=r["list"].count("low"),
                        high=r["list"].count("high"),
                    ),
                )
            )
    if late is not None:
        for r in late.itertuples():
            if r.late_rows:
                out.append(
                    _problem(
                        "late",
                        r.event,
                        "",
                        WEIGHTS["late"] * r.late_share,
                        r.late_rows,
                        t("data_quality.late", share=f"{r.late_share:.1%}", hours=f"{late_hours:g}"),
                    )
                )
    if drift:
        for ev in drift["vanished_events"]:
            out.append(
                _problem(
                    "vanished",
                    ev,
                    "",
                    WEIGHTS["vanished"],
                    0,
                    t("data_quality.vanished", run=drift["previous_run"]),
                )
            )
        for d in drift["fill_dropped"]:
            ev, _, prop = d["key"].partition(".")
            out.append(
                _problem(
                    "run_fill_drop",
                    ev,
                    prop,
                    WEIGHTS["run_fill_drop"] * (d["before"] - d["after"]),
                    0,
                    t("data_quality.run_fill_drop", before=f"{d['before']:.0%}", after=f"{d['after']:.0%}"),
                )
            )
    cols = ["kind", "event", "property", "severity", "rows", "detail"]
    df = pd.DataFrame(out, columns=cols)
    return df.sort_values(["severity", "rows"], ascending=False, ignore_index=True)


def event_scores(coverage: pd.DataFrame, problems: pd.DataFrame) -> pd.DataFrame:
    """A health score per event: ``round(100 * prod(1 - severity))`` over its problems (100 = no problem).

    Returns
    -------
    DataFrame with ``event``, ``display_name``, ``in_plan``, ``rows``, ``score``, ``problems`` (count),
    ``worst`` (detail of its worst problem), sorted by score ascending (worst first).
    """
    rows = []
    for c in coverage.itertuples():
        p = problems[problems["event"].isin([c.event, ALL_EVENTS])]
        score = 100 * math.prod(1 - s for s in p["severity"])
        rows.append(
            {
                "event": c.event,
                "display_name": c.display_name,
                "in_plan": c.in_plan,
                "rows": c.rows,
                "score": int(round(score)),
                "problems": len(p),
                "worst": f"{p.iloc[0]['property'] or ''} {p.iloc[0]['detail']}".strip() if len(p) else "",
            }
        )
    df = pd.DataFrame(rows, columns=["event", "display_name", "in_plan", "rows", "score", "problems", "worst"])
    return df.sort_values(["score", "rows"], ascending=[True, False], ignore_index=True)


# ------------------------------------------------------------------------------------------------ plots
def plot_volume(volume: pd.DataFrame, *, events: list[str] | None = None, labels: dict | None = None, ax=None):
    """Daily rows per event with the detector's band and the flagged days (red); returns the Axes."""
    import matplotlib.pyplot as plt

    from .plots import empty_chart

    title, xl, yl = t("data_quality.volume_title"), t("data_quality.day"), t("data_quality.rows")
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4.5))
    if not len(volume):
        return empty_chart(ax, title=title, xlabel=xl, ylabel=yl)
    events = events or list(volume.groupby("event")["rows"].sum().sort_values(ascending=False).index[:6])
    for i, ev in enumerate(events):
        g = volume[volume["event"] == ev].sort_values("day")
        ax.plot(g["day"], g["rows"], color=f"C{i}", lw=1.2, label=(labels or {}).get(ev, ev))
        ax.fill_between(g["day"], g["low"], g["high"], color=f"C{i}", alpha=0.08)
        bad = g[g["anomaly"] != ""]
        ax.scatter(bad["day"], bad["rows"], color="red", s=22, zorder=3)
    ax.set(title=title, xlabel=xl, ylabel=yl)
    ax.legend(fontsize=8, ncol=2)
    ax.figure.autofmt_xdate()
    return ax


def plot_fill(prop_daily: pd.DataFrame, pairs: list[tuple[str, str]], *, labels: dict | None = None, ax=None):
    """Daily fill rate of the given ``(event, property)`` pairs (e.g. the worst ones); returns the Axes."""
    import matplotlib.pyplot as plt

    from .plots import empty_chart

    title, xl, yl = t("data_quality.fill_title"), t("data_quality.day"), t("data_quality.fill_rate")
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4))
    if not pairs or not len(prop_daily):
        return empty_chart(ax, title=title, xlabel=xl, ylabel=yl, note=t("data_quality.no_fill_drop"))
    for i, (ev, prop) in enumerate(pairs):
        g = prop_daily[(prop_daily["event"] == ev) & (prop_daily["property"] == prop)].sort_values("day")
        ax.plot(g["day"], g["fill_rate"], color=f"C{i}", lw=1.4, label=f"{(labels or {}).get(ev, ev)} · {prop}")
    ax.set(title=title, xlabel=xl, ylabel=yl, ylim=(-0.02, 1.05))
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.legend(fontsize=8)
    ax.figure.autofmt_xdate()
    return ax


# ------------------------------------------------------------------------------------------------ report
@dataclass(repr=False)
class DataQualityReport(Report):
    """The data-quality report. Frames: ``coverage`` (:func:`plan_coverage`), ``volume``
    (:func:`volume_anomalies`), ``properties`` (:func:`property_daily`), ``drops`` (:func:`fill_drops`),
    ``late`` (:func:`late_data`, None without a receive-time column), ``problems`` (:func:`problem_table`)
    and ``scores`` (:func:`event_scores`); ``drift`` is :func:`run_drift`'s dict (None on a first run)."""

    name: ClassVar[str] = "data_quality"
    title: ClassVar[str] = localized("data_quality.title")
    parts: ClassVar[tuple[str, ...]] = ("problems", "scores", "coverage", "volume", "properties", "drift", "late")
    table_names: ClassVar[tuple[str, ...]] = ("problems", "events", "volume", "properties")
    result_keys: ClassVar[tuple[str, ...]] = (
        "plan_source",
        "on_violation",
        "rows_checked",
        "plan_events",
        "seen_events",
        "never_seen",
        "not_in_plan",
        "violations",
        "volume_anomalies",
        "detector",
        "fill_rates",
        "drift",
        "late",
        "scores",
        "top_problems",
    )
    unavailable_label: ClassVar[str] = localized("data_quality.unavailable_label")
    glossary: ClassVar[tuple[str, ...]] = ("severity", "quality_score", "fill_rate", "mad_band")

    coverage: pd.DataFrame = field(default_factory=pd.DataFrame)
    volume: pd.DataFrame = field(default_factory=pd.DataFrame)
    properties: pd.DataFrame = field(default_factory=pd.DataFrame)
    drops: pd.DataFrame = field(default_factory=pd.DataFrame)
    problems: pd.DataFrame = field(default_factory=pd.DataFrame)
    scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    late: pd.DataFrame | None = None
    drift: dict | None = None
    #: ``(last day, period end)`` when the events stop before the period's end, a PartialCut when their last day is
    #: only partly loaded (helpers.campaign.observed_end)
    data_cut: tuple | None = None
    labels: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    @classmethod
    def compute(cls, ctx) -> DataQualityReport:
        """The data-quality report of a campaign with a tracking plan, from ingest's check counts."""
        from .tracking import PLAN_CHECKS_FILE, load_plan

        plan = load_plan(ctx.cfg)
        if plan is None:
            raise ReportUnavailable(t("data_quality.no_plan"))
        if not ctx.has("events"):
            raise ReportUnavailable(t("unavailable.no_events"))
        path = ctx.paths.data / PLAN_CHECKS_FILE
        if not path.exists():
            raise ReportUnavailable(t("data_quality.no_checks", file=PLAN_CHECKS_FILE))
        tr = ctx.cfg.tracking
        end, cut = observed_end(ctx)  # a feed that stopped is said once, not as every later day's missing volume
        days = pd.date_range(str(ctx.cfg.period.start), str((end - pd.Timedelta(days=1)).date()), freq="D")
        # every check covers these days: a half-loaded last day (a PartialCut) counts in no share, rate or score
        checks = read_plan_checks(path)
        checks = checks[(checks["day"] >= pd.Timestamp(ctx.cfg.period.start)) & (checks["day"] < end)]
        coverage = plan_coverage(checks, plan, n_days=len(days))
        volume = volume_anomalies(daily_volume(checks, days=days), window_days=tr.anomaly_window_days, k=tr.anomaly_k)
        props = property_daily(checks)
        drops = fill_drops(props, min_drop=tr.fill_drop)
        seen = sorted(coverage.loc[coverage["rows"] > 0, "event"])
        fill = overall_fill(props)
        drift = run_drift(results_doc(ctx, cls.name), seen=seen, fill=fill, min_drop=tr.fill_drop)
        late = None
        if tr.receive_ts_column:
            ev = ctx.table("events")
            if tr.receive_ts_column not in ev.columns:
                raise ReportUnavailable(
                    t(
                        "data_quality.no_receive_column",
                        column=repr(tr.receive_ts_column),
                        columns=", ".join(ev.columns),
                    )
                )
            ev = ev.filter(ev.ts < end.to_pydatetime())  # the days checked, as the counts
            late = late_data(ev, receive_col=tr.receive_ts_column, late_hours=tr.late_hours)
        # a feed that stopped (with or without a half-loaded last day): the days after it lower every event's score
        stop, period_days = stop_day(cut), (ctx.cfg.period.end - ctx.cfg.period.start).days + 1
        stopped = (stop, ctx.cfg.period.end, period_days) if stop else None  # the cut's end is the period's
        problems = problem_table(
            coverage, props, drops, volume, drift=drift, late=late, late_hours=tr.late_hours, stopped=stopped
        )
        return cls(
            coverage=coverage,
            volume=volume,
            properties=props,
            drops=drops,
            problems=problems,
            scores=event_scores(coverage, problems),
            late=late,
            drift=drift,
            data_cut=cut,
            labels={e: plan.display_name(e) for e in coverage["event"]},
            settings={
                "plan_source": plan.source,
                "on_violation": tr.on_violation,
                "window_days": tr.anomaly_window_days,
                "k": tr.anomaly_k,
                "late_hours": tr.late_hours,
                "violations": {
                    (f"plan_{k}" if k == "unknown_event" else f"plan_{k}_{p}"): int(n)
                    for (k, p), n in checks[~checks["kind"].isin(["rows", "filled"])]
                    .groupby(["kind", "property"])["rows"]
                    .sum()
                    .items()
                },
                "fill": fill,
            },
        )

    def _label(self, ev: str) -> str:
        if ev == ALL_EVENTS:
            return t("data_quality.all_events")
        shown = self._names().get(ev, ev)
        return shown if shown == ev else shown + t("aside", text=ev)  # 浏览商品（view）, "Product view (view)"

    def _names(self) -> dict:
        """The plan's display names that fit the page's language (an English page names 浏览商品 by its code)."""
        from .tracking import fits_page

        return {e: n for e, n in self.labels.items() if fits_page(str(n))}

    def to_results(self) -> dict:
        """The report-specific part of ``results/data_quality.json`` (docs/data_quality.md)."""
        c, s = self.coverage, self.settings
        top = self.problems.head(10).to_dict(orient="records")
        return self._results(
            plan_source=s["plan_source"],
            on_violation=s["on_violation"],
            rows_checked=int(c["rows"].sum()),
            plan_events=[e for e in c.loc[c["in_plan"], "event"]],
            seen_events=sorted(c.loc[c["rows"] > 0, "event"]),
            never_seen=list(c.loc[c["status"] == "never_seen", "event"]),
            not_in_plan=list(c.loc[c["status"] == "not_in_plan", "event"]),
            violations=s["violations"],
            volume_anomalies=int((self.volume["anomaly"] != "").sum()) if len(self.volume) else 0,
            detector={"window_days": s["window_days"], "k": s["k"], "rule": _RULE},
            fill_rates=s["fill"],
            drift=self.drift,
            late=None if self.late is None else self.late.to_dict(orient="records"),
            scores=dict(zip(self.scores["event"], self.scores["score"].astype(int))),
            top_problems=top,
        )

    def findings(self) -> list[str]:
        """Key findings: what was checked, then the worst problems in plain words, worst first."""
        from .fmt import fmt_int

        c = self.coverage
        how = "quarantined" if self.settings["on_violation"] == "quarantine" else "flagged"
        out = [
            t(
                "data_quality.checked",
                rows=fmt_int(int(c["rows"].sum())),
                declared=int(c["in_plan"].sum()),
                seen=int((c["rows"] > 0).sum()),
                how=t(f"data_quality.{how}"),
            )
        ]
        cut = self.data_cut
        if isinstance(cut, PartialCut):  # a load not finished: its day is not compared, said first
            which = "data_quality.partial_day" if cut.day >= cut.end else "data_quality.partial_stops"
            out.append(Outcome(t(which, day=cut.day, last=cut.last, end=cut.end, why=partial_why(cut))))
        elif cut:  # the first thing to fix: nothing after it was checked
            out.append(Outcome(t("data_quality.data_stops", last=cut[0], end=cut[1])))
        listed = self.problems[self.problems["kind"] != "stopped"]  # said above, first
        if not len(listed):
            out.append(Outcome(t("data_quality.no_other_problem" if len(self.problems) else "data_quality.no_problem")))
            return out
        for r in listed.head(5).itertuples():
            shown = self._label(r.event)  # a display name opens the line with a capital, a bare code as it is
            what = (shown if shown == r.event else sentence_start(shown)) + (f" · {r.property}" if r.property else "")
            out.append(Outcome(t("data_quality.problem", severity=f"{r.severity:.2f}", what=what, detail=r.detail)))
        more = len(listed) - 5
        if more > 0:
            out.append(t("data_quality.more", n=more))
        if self.drift is None:
            out.append(t("data_quality.first_run"))
        return out

    def headline(self) -> list[dict]:
        """Headline numbers for the index page: problems found and the worst event's score."""
        from .report import headline

        worst = int(self.scores["score"].min()) if len(self.scores) else 100
        # the scores are sorted worst first: name the event, "worst event score 0/100" alone says nothing
        event = self._label(str(self.scores["event"].iat[0])) if len(self.scores) else "—"
        return [
            headline(t("data_quality.h_problems"), int(len(self.problems)), f"{len(self.problems)}"),
            headline(t("data_quality.h_worst", event=event), worst, f"{worst}/100"),
        ]

    def tables(self) -> dict[str, pd.DataFrame]:
        """``problems``, ``events`` (scores), ``volume`` (daily, with the band and flags), ``properties`` (daily)."""
        vol = self.volume.assign(day=self.volume["day"].dt.date) if len(self.volume) else self.volume
        props = self.properties.assign(day=self.properties["day"].dt.date) if len(self.properties) else self.properties
        return {"problems": self.problems, "events": self.scores, "volume": vol, "properties": props}

    def _show(self, part: str):
        from IPython.display import Markdown

        from .fmt import md_escape, style_table

        if part == "problems":
            tab = self.problems.assign(
                kind=self.problems["kind"].map(lambda k: label(f"data_quality.problem_kind.{k}", k)),
                event=self.problems["event"].map(self._label),
            )
            return style_table(tab, int_cols=["rows"], num_cols=["severity"], max_rows=25)
        if part == "scores":
            return style_table(self.scores, int_cols=["rows", "score", "problems"])
        if part == "coverage":
            c = self.coverage.assign(
                first_day=self.coverage["first_day"].dt.date,
                last_day=self.coverage["last_day"].dt.date,
                status=self.coverage["status"].map(lambda s: label(f"data_quality.status.{s}", s)),
            )
            return style_table(c, int_cols=["rows", "days_seen"], pct_cols=["days_share"])
        if part == "volume":
            return plot_volume(self.volume, labels=self._names())
        if part == "properties":
            pairs = list(zip(self.drops["event"], self.drops["property"]))[:6]
            return plot_fill(self.properties, pairs, labels=self._names())
        if part == "drift":
            d = self.drift
            if d is None:
                return Markdown(t("data_quality.no_previous"))
            fills = list_join(f"{x['key']} {x['before']:.0%}→{x['after']:.0%}" for x in d["fill_dropped"])
            lines = [
                "- " + t("data_quality.drift_previous", run=md_escape(d["previous_run"])),
                "- " + t("data_quality.drift_new", events=md_escape(list_join(d["new_events"]) or "—")),
                "- " + t("data_quality.drift_vanished", events=md_escape(list_join(d["vanished_events"]) or "—")),
                "- " + t("data_quality.drift_fill", items=md_escape(fills or "—")),
            ]
            return Markdown("\n".join(lines))
        if self.late is None:  # "late"
            return Markdown(t("data_quality.no_late_check"))
        return style_table(
            self.late,
            int_cols=["rows", "late_rows"],
            pct_cols=["late_share"],
            num_cols=["p50_delay_hours", "max_delay_hours"],
        )
