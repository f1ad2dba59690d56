"""Cohort retention, lifecycle (new / returning / resurrecting / dormant) and stickiness.

Event-level work is Ibis (DuckDB or Spark) and reduces the log to one row per user and active period;
matrices and curves are then computed in pandas. Exact rules: docs/retention.md.

Periods are campaign-local calendar periods of the naive ``ts``: days; weeks starting on Monday; months.
Each period gets an integer index (``day``: days since 1970-01-01; ``week``: Monday-weeks since then;
``month``: ``year * 12 + month - 1``), so "period N" of a cohort is ``index - cohort_index``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd

from . import retention_fast
from .base import Report, ReportUnavailable, Unavailable, _display
from .campaign import observed_end
from .drivers import RETENTION_DRIVER_COLUMNS, driver_finding, retention_drivers_for, show_drivers
from .engine import as_table, first_day, to_pandas
from .errors import MissingColumnError
from .i18n import column_word, list_join, localized, mid_sentence, t
from .periods import cut_note
from .retention_plots import plot_lifecycle, plot_retention_curve, plot_retention_heatmap, plot_stickiness
from .tags import with_tag_column
from .tracking import display_names

__all__ = [
    "period_index", "index_to_start", "user_periods", "cohort_counts", "retention_matrix", "average_curve",
    "retention_by_group", "day_n_retention", "lifecycle_table", "stickiness_table", "plot_retention_heatmap",
    "plot_retention_curve", "plot_lifecycle", "plot_stickiness", "RetentionReport", "run_retention",
]  # fmt: skip

_PERIODS = ("day", "week", "month")


def _require_columns(t, *cols: str) -> None:
    """:class:`MissingColumnError` naming the first of ``cols`` the events table lacks."""
    for c in cols:
        if c not in t.columns:
            raise MissingColumnError(
                "events", c, t.columns, hint="name the actual column with user_col=, ts_col= or event_col="
            )


def _check_period(period: str) -> None:
    if period not in _PERIODS:
        raise ValueError(f"period must be one of {', '.join(_PERIODS)}, got {period!r}")


def period_index(ts, period: str):
    """Ibis expression: integer index of the local calendar period of timestamp ``ts``."""
    _check_period(period)
    if period == "month":
        return (ts.year() * 12 + ts.month() - 1).cast(dt.int64)
    days = (
        ts.date().epoch_days() if hasattr(ts.date(), "epoch_days") else (ts.truncate("D").epoch_seconds() // 86400)
    ).cast(dt.int64)
    if period == "day":
        return days
    return ((days + 3) // 7).cast(dt.int64)  # 1970-01-01 was a Thursday: +3 makes weeks start on Monday


def index_to_start(idx, period: str) -> pd.Series:
    """Period index (array-like) -> the period's first day as Timestamps."""
    _check_period(period)
    idx = pd.Series(idx).astype("int64")
    if period == "day":
        return pd.to_datetime(idx, unit="D")
    if period == "week":
        return pd.to_datetime(idx * 7 - 3, unit="D")
    return pd.to_datetime({"year": idx // 12, "month": idx % 12 + 1, "day": 1})


def user_periods(
    events,
    *,
    period: str = "day",
    events_filter: list[str] | None = None,
    user_col: str = "user_id",
    ts_col: str = "ts",
    event_col: str = "event",
):
    """Ibis table of distinct (``user_id``, ``p``): periods in which the user did one of ``events_filter``
    (any event when None)."""
    t = as_table(events)
    _require_columns(t, user_col, ts_col, *([event_col] if events_filter else []))
    if events_filter:
        t = t.filter(t[event_col].isin(list(events_filter)))
    return t.select(user_id=t[user_col].cast(dt.string), p=period_index(t[ts_col], period)).distinct()


def cohort_counts(
    events,
    *,
    period: str = "day",
    start_events: list[str] | None = None,
    return_events: list[str] | None = None,
    criterion: str = "on",
    user_col: str = "user_id",
    ts_col: str = "ts",
    event_col: str = "event",
    fast: bool = True,
) -> pd.DataFrame:
    """Retained users per cohort and period number.

    A user's cohort is the period of their first start event (any event by default). They are retained in
    period N >= 1 when they did a return event (any event by default) in cohort period + N (``on``), or in
    that period or any later one (``on_or_after``). Period 0 is the cohort itself: every member counts. Rows
    without a time are left out (a user with no timed start event has no cohort).

    Returns
    -------
    DataFrame ``cohort`` (period index), ``n`` (period number), ``users`` (retained; for n = 0 the cohort
    size), only for n where some user of the cohort was retained (plus n = 0).

    On DuckDB (``fast``, the default) the ``on`` counts come from one hand-written query
    (:mod:`helpers.retention_fast`, tested equal to this portable Ibis path).
    """
    if criterion not in ("on", "on_or_after"):
        raise ValueError(f"criterion must be 'on' or 'on_or_after', got {criterion!r}")
    t = as_table(events)
    _require_columns(t, user_col, ts_col, *([event_col] if start_events or return_events else []))
    _check_period(period)
    t = t.filter(t[ts_col].notnull())  # a row without a time has no period (ingest quarantines such rows)
    if fast and criterion == "on" and retention_fast.applies(t):
        return retention_fast.cohort_counts(t, period=period, start_events=start_events, return_events=return_events,
                                            user_col=user_col, ts_col=ts_col, event_col=event_col)  # fmt: skip
    act = user_periods(
        t, period=period, events_filter=return_events, user_col=user_col, ts_col=ts_col, event_col=event_col
    )
    if start_events or return_events:
        s = t.filter(t[event_col].isin(list(start_events))) if start_events else t
        first = s.group_by(user_id=s[user_col].cast(dt.string)).aggregate(c=period_index(s[ts_col].min(), period))
    else:  # every event starts and returns: the cohort is the first active period (one scan; the index is monotone)
        first = act.group_by("user_id").aggregate(c=act["p"].min())
    j = act.join(first, "user_id")
    j = j.mutate(n=(j["p"] - j["c"]).cast(dt.int64)).filter(lambda x: x["n"] >= 1)
    size = first.group_by(cohort=first["c"]).aggregate(users=first["user_id"].count())
    if criterion == "on":
        # act is distinct (user, period) and a user's cohort is fixed, so each user counts once per (cohort, n);
        # the cohort sizes (n = 0) come in the same query: one round trip
        ret = j.group_by(cohort=j["c"], n=j["n"]).aggregate(users=j.count())
        cols = {"cohort": dt.int64, "n": dt.int64, "users": dt.int64}  # dtype objects: no type-string parsing
        zero = size.mutate(n=ibis.literal(0, dt.int64)).select(*cols).cast(cols)
        both = ibis.union(zero, ret.select(*cols).cast(cols))
        out = to_pandas(both).astype(dict.fromkeys(cols, "int64"))
        return out.sort_values(["cohort", "n"], ignore_index=True)
    else:
        # retained in n or later <=> the user's last active period number >= n
        last = to_pandas(j.group_by(["user_id", "c"]).aggregate(m=j["n"].max()))
        rows = []
        for c, g in last.groupby("c"):
            counts = np.bincount(g["m"].to_numpy(), minlength=g["m"].max() + 1)
            atleast = counts[::-1].cumsum()[::-1]
            rows += [(c, n, int(atleast[n])) for n in range(1, len(atleast)) if atleast[n] > 0]
        ret = pd.DataFrame(rows, columns=["cohort", "n", "users"])
    size = size.to_pandas()
    size["n"] = 0
    out = pd.concat([size[["cohort", "n", "users"]], ret[["cohort", "n", "users"]]], ignore_index=True)
    out = out.astype({"cohort": "int64", "n": "int64", "users": "int64"})
    return out.sort_values(["cohort", "n"], ignore_index=True)


def retention_matrix(counts: pd.DataFrame, *, period: str, data_end, max_n: int | None = None) -> dict:
    """Counts, rates and completeness per cohort x period number.

    A cell (cohort c, period N) is complete when period c + N has fully elapsed by ``data_end`` (the
    exclusive end of the data: the day after the analysis period).

    Returns
    -------
    dict with DataFrames indexed by cohort start date, columns 0..max_n: ``counts`` (retained users; 0 where
    nobody came back, NaN for incomplete cells), ``rates`` (counts / cohort size), ``complete`` (bool), and
    ``sizes`` (Series of cohort sizes).
    """
    if counts.empty:
        empty = pd.DataFrame()
        return {"counts": empty, "rates": empty, "complete": empty, "sizes": pd.Series(dtype="int64")}
    end_idx = _last_complete_index(data_end, period)
    cohorts = sorted(counts["cohort"].unique())
    top = max(0, end_idx - min(cohorts))
    if max_n is not None:
        top = min(top, max_n)
    wide = counts.pivot(index="cohort", columns="n", values="users").reindex(index=cohorts, columns=range(top + 1))
    wide = wide.fillna(0).astype("int64")
    sizes = wide[0]
    complete = pd.DataFrame({n: [c + n <= end_idx for c in cohorts] for n in wide.columns}, index=cohorts)
    counts_m = wide.where(complete)
    rates = counts_m.div(sizes, axis=0)
    idx = index_to_start(cohorts, period)
    for df in (counts_m, rates, complete):
        df.index = idx
        df.index.name = "cohort"
    sizes.index = idx
    return {"counts": counts_m, "rates": rates, "complete": complete, "sizes": sizes}


def _day_index(day, period: str) -> int:
    """:func:`period_index` of one day (a pandas Timestamp, time of day ignored), in Python."""
    d = pd.Timestamp(day).normalize()
    if period == "month":
        return d.year * 12 + d.month - 1
    days = int((d - pd.Timestamp("1970-01-01")).days)
    return days if period == "day" else (days + 3) // 7  # Monday weeks, as period_index


def _last_complete_index(data_end, period: str) -> int:
    """Index of the last period that has fully elapsed before ``data_end`` (exclusive, time of day ignored): the
    one before the end day's period."""
    return _day_index(data_end, period) - 1


def _first_complete_index(data_start, period: str) -> int:
    """Index of the first period that starts on or after ``data_start`` (the data's first day): the one after
    the period of the day before it."""
    return _day_index(pd.Timestamp(data_start).normalize() - pd.Timedelta(days=1), period) + 1


def average_curve(matrix: dict) -> pd.DataFrame:
    """Size-weighted average retention per period number over complete cells of non-empty cohorts
    (cohorts with 0% in a cell count; incomplete cells do not).

    Returns
    -------
    DataFrame ``n``, ``cohorts`` (complete cohorts used), ``users`` (their total size), ``retained``, ``rate``.
    """
    counts, sizes = matrix["counts"], matrix["sizes"]
    rows = []
    for n in counts.columns:
        ok = counts[n].notna() & (sizes > 0)
        tot = int(sizes[ok].sum())
        ret = int(counts.loc[ok, n].sum())
        rows.append(
            {
                "n": int(n),
                "cohorts": int(ok.sum()),
                "users": tot,
                "retained": ret,
                "rate": ret / tot if tot else math.nan,
            }
        )
    return pd.DataFrame(rows)


def retention_by_group(
    events, group_col: str, *, period: str, data_end, max_n: int | None = None, max_groups: int = 12, **kw
) -> pd.DataFrame:
    """The average retention curve (:func:`average_curve`) of the users of each value of ``group_col``, a user-level
    column (``breakdown: tag:<name>``: the column of helpers.tags.with_tag_column); rows without a value are left
    out, and only the first ``max_groups`` values (sorted) are kept. ``kw``: :func:`cohort_counts`' options.

    Returns
    -------
    DataFrame ``group``, ``n``, ``cohorts``, ``users`` (the group's users in complete cells), ``retained``, ``rate``.
    """
    t = as_table(events)
    values = t.select(g=t[group_col].cast(dt.string)).distinct().to_pandas()["g"].dropna()
    parts = []
    for v in sorted(values)[:max_groups]:
        m = retention_matrix(
            cohort_counts(t.filter(t[group_col].cast(dt.string) == v), period=period, **kw),
            period=period,
            data_end=data_end,
            max_n=max_n,
        )
        if not m["counts"].empty:
            parts.append(average_curve(m).assign(group=v))
    cols = ["group", "n", "cohorts", "users", "retained", "rate"]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def day_n_retention(events, n: int, *, data_end, start_events=None, return_events=None, **cols) -> dict:
    """次日/七日留存: users of daily cohorts active exactly on day n, over complete daily cohorts, weighted.

    Returns
    -------
    dict ``n``, ``rate`` (NaN when no cohort is complete), ``retained``, ``users``, ``cohorts``; and the same
    without the first daily cohort (``rate_later``, ``users_later``: see :func:`helpers.caveats.first_cohort_note`).
    """
    counts = cohort_counts(
        events, period="day", start_events=start_events, return_events=return_events, criterion="on", **cols
    )
    m = retention_matrix(counts, period="day", data_end=data_end, max_n=n)
    if m["counts"].empty or n not in m["counts"].columns:
        return {
            "n": n,
            "rate": math.nan,
            "retained": 0,
            "users": 0,
            "cohorts": 0,
            "rate_later": math.nan,
            "users_later": 0,
        }
    row = average_curve(m).set_index("n").loc[n]
    later = average_curve({k: v.iloc[1:] for k, v in m.items()}).set_index("n").loc[n]
    return {
        "n": n,
        "rate": float(row["rate"]),
        "retained": int(row["retained"]),
        "users": int(row["users"]),
        "cohorts": int(row["cohorts"]),
        "rate_later": float(later["rate"]),
        "users_later": int(later["users"]),
    }


def lifecycle_table(
    events,
    *,
    period: str = "week",
    data_end=None,
    user_col: str = "user_id",
    ts_col: str = "ts",
    event_col: str = "event",
) -> pd.DataFrame:
    """Users per period by lifecycle state.

    - ``new``: first ever activity in this period;
    - ``returning``: active in this period and the previous one;
    - ``resurrecting``: active now, not in the previous period, but active before;
    - ``dormant``: active in the previous period, not now (reported as a negative number).

    Returns
    -------
    DataFrame ``period_start``, ``new``, ``returning``, ``resurrecting``, ``dormant`` (<= 0), ``active``
    (new + returning + resurrecting); periods from the first active one to the last complete one
    (all periods up to the data when ``data_end`` is None).
    """
    up = user_periods(events, period=period, user_col=user_col, ts_col=ts_col, event_col=event_col)
    w = ibis.window(group_by=up["user_id"], order_by=up["p"])
    up = up.mutate(
        prev=up["p"].lag().over(w),
        nxt=up["p"].lead().over(w),
        first=up["p"].min().over(ibis.window(group_by=up["user_id"])),
    )
    state = ibis.cases((up["p"] == up["first"], "new"), (up["prev"] == up["p"] - 1, "returning"), else_="resurrecting")
    act = up.group_by(p=up["p"], state=state).aggregate(users=up["user_id"].count()).to_pandas()
    dorm_src = up.filter(up["nxt"].isnull() | (up["nxt"] > up["p"] + 1))
    dorm = dorm_src.group_by(p=(dorm_src["p"] + 1)).aggregate(users=dorm_src["user_id"].count()).to_pandas()
    wide = act.pivot(index="p", columns="state", values="users")
    for c in ("new", "returning", "resurrecting"):
        if c not in wide:
            wide[c] = 0
    # no active user: no period (range(0, ...) counted every period from 1970 to data_end: 19,797 days)
    lo = int(wide.index.min()) if len(wide) else 0
    hi = _last_complete_index(data_end, period) if data_end is not None else int(wide.index.max() if len(wide) else 0)
    idx = range(lo, hi + 1) if len(wide) else range(0)
    wide = wide.reindex(idx).fillna(0)
    wide["dormant"] = -dorm.set_index("p")["users"].reindex(idx).fillna(0)
    out = wide[["new", "returning", "resurrecting", "dormant"]].astype("int64")
    out["active"] = out["new"] + out["returning"] + out["resurrecting"]
    out.insert(0, "period_start", index_to_start(list(idx), period).to_numpy())
    return out.reset_index(drop=True)


def stickiness_table(
    events,
    *,
    period: str = "week",
    data_end=None,
    user_col: str = "user_id",
    ts_col: str = "ts",
    event_col: str = "event",
    data_start=None,
) -> dict:
    """Users by number of active days per week (or month), over complete periods: those that end by ``data_end``
    (exclusive) and start on or after ``data_start`` (the data's first day; a week of Friday to Sunday is partial).

    Returns
    -------
    dict with ``histogram``: DataFrame ``active_days``, ``user_periods`` (user-weeks/months with that
    many active days), ``share``; and ``dau_over_wau`` (or ``dau_over_mau``): mean over complete periods of
    (mean daily active users / users active in the period).
    """
    if period not in ("week", "month"):
        raise ValueError("stickiness period must be week or month")
    t = as_table(events)
    _require_columns(t, user_col, ts_col)
    ud = t.select(
        user_id=t[user_col].cast(dt.string), d=period_index(t[ts_col], "day"), p=period_index(t[ts_col], period)
    ).distinct()
    per = to_pandas(ud.group_by(["user_id", "p"]).aggregate(days=ud["d"].count()))
    daily = ud.group_by(["p", "d"]).aggregate(dau=ud["user_id"].count()).to_pandas()
    if data_end is not None:
        last = _last_complete_index(data_end, period)
        per, daily = per[per["p"] <= last], daily[daily["p"] <= last]
    if data_start is not None:
        first = _first_complete_index(data_start, period)
        per, daily = per[per["p"] >= first], daily[daily["p"] >= first]
    hist = per["days"].value_counts().sort_index()
    hist = hist.reindex(range(1, (7 if period == "week" else 31) + 1), fill_value=0)
    histogram = pd.DataFrame({"active_days": hist.index, "user_periods": hist.to_numpy()})
    histogram["share"] = histogram["user_periods"] / max(1, histogram["user_periods"].sum())
    ratio = math.nan
    if len(per):
        n_days = 7 if period == "week" else None
        pu = per.groupby("p")["user_id"].nunique()
        if n_days is None:
            starts = index_to_start(pu.index, "month")
            days_in = starts.dt.days_in_month.to_numpy()
        else:
            days_in = np.full(len(pu), 7)
        mean_dau = daily.groupby("p")["dau"].sum().reindex(pu.index).to_numpy() / days_in
        ratio = float(np.mean(mean_dau / pu.to_numpy()))
    key = "dau_over_wau" if period == "week" else "dau_over_mau"
    return {"histogram": histogram, key: ratio, "periods": int(per["p"].nunique()) if len(per) else 0}


# ------------------------------------------------------------------------------------------- report


@dataclass(repr=False)
class RetentionReport(Report):
    """The retention report. Frames: ``counts`` (retained users per cohort and period number, see
    :func:`cohort_counts`), ``matrix`` (:func:`retention_matrix`), ``curve`` (:func:`average_curve`),
    ``lifecycle`` (:func:`lifecycle_table`); ``day1`` / ``day7`` (:func:`day_n_retention`) and ``stickiness``
    (:func:`stickiness_table`) are dicts."""

    name: ClassVar[str] = "retention"
    title: ClassVar[str] = localized("retention.title")
    parts: ClassVar[tuple[str, ...]] = ("heatmap", "matrix", "curve", "lifecycle", "stickiness", "drivers", "by_group")
    table_names: ClassVar[tuple[str, ...]] = (
        "average_curve", "lifecycle", "stickiness", "counts", "rates", "drivers", "by_group",
    )  # fmt: skip
    result_keys: ClassVar[tuple[str, ...]] = (
        "cohort_period",  # not "period": that is the run's analysis period in every results file
        "criterion",
        "start_events",
        "return_events",
        "cohorts",
        "average_curve",
        "day1_retention",
        "day7_retention",
        "lifecycle_period",
        "stickiness_period",
        "stickiness",
        "breakdown",
        "by_group",
    )
    unavailable_label: ClassVar[str] = localized("retention.unavailable_label")
    glossary: ClassVar[tuple[str, ...]] = ("cohort", "retention", "phi")

    period: str = "week"
    criterion: str = "on"
    counts: pd.DataFrame = field(default_factory=pd.DataFrame)
    matrix: dict = field(default_factory=dict)
    curve: pd.DataFrame = field(default_factory=pd.DataFrame)
    day1: dict = field(default_factory=dict)
    day7: dict = field(default_factory=dict)
    lifecycle: pd.DataFrame = field(default_factory=pd.DataFrame)
    lifecycle_period: str = "week"
    stickiness: dict = field(default_factory=dict)
    stickiness_period: str = "week"
    start_events: list | None = None
    return_events: list | None = None
    #: retention drivers (helpers/drivers.py: phi, PPV and share per event and threshold) and their notes
    drivers: pd.DataFrame | None = None
    drivers_notes: list = field(default_factory=list)
    #: drivers shown each way on the page: ``drivers.top_n``
    drivers_top: int = 5
    #: event -> the name pages show (the tracking plan's display names) in the drivers
    event_names: dict[str, str] = field(default_factory=dict)
    #: ``breakdown: tag:<name>`` (or ``audience:<name>``) and the average curve per value (:func:`retention_by_group`)
    #: that the data ends before the period, so complete cohorts do too (helpers.campaign.Context.observed_end)
    data_cut: tuple | None = None
    #: the first day of data in the period: a first week or month cohort that starts before it holds only part
    #: of its period's days and is left out of the best and worst cohorts (:func:`_partial_first_cohort`), as a
    #: first week or month that starts before it is left out of stickiness (:func:`stickiness_table`)
    data_start: pd.Timestamp | None = None
    breakdown: str | None = None
    by_group: pd.DataFrame | None = None

    @classmethod
    def compute(cls, ctx) -> RetentionReport:
        """The retention report of a campaign, from its ``retention:`` params (docs/retention.md)."""
        p = ctx.cfg.retention
        if not ctx.has("events"):
            raise ReportUnavailable(t("retention.no_events"))
        ev = ctx.table("events")
        if int(ev.count().execute()) == 0:
            raise ReportUnavailable(t("retention.no_rows", start=ctx.cfg.period.start, end=ctx.cfg.period.end))
        end, data_cut = observed_end(ctx)  # a cohort is complete only where the data still runs
        kg = {"start_events": p.start_events, "return_events": p.return_events, "criterion": p.criterion}
        counts = cohort_counts(ev, period=p.period, **kg)
        matrix = retention_matrix(counts, period=p.period, data_end=end, max_n=p.max_periods)
        kw = {"data_end": end, "start_events": p.start_events, "return_events": p.return_events}
        day1 = day_n_retention(ev, 1, **kw)
        if math.isnan(day1["rate"]) and not matrix["complete"].iloc[:, 1:].to_numpy().any():
            # no retention to show (the period decides which days are complete): say why, not blank pages
            first, last = first_day(ev), (end - pd.Timedelta(days=1)).date()  # the data's complete days
            raise ReportUnavailable(t("retention.too_short_all", start=first.date() if first else last, end=last))
        dp = getattr(ctx.cfg, "drivers", None)
        drivers, notes = retention_drivers_for(ev, period_end=(end - pd.Timedelta(days=1)).date(), params=dp)
        by_group = None
        if p.breakdown:  # the user's tag or audience (helpers/tags.py), one value per user
            tagged = with_tag_column(ctx, ev, p.breakdown, report="retention")
            by_group = retention_by_group(tagged, p.breakdown, period=p.period, data_end=end, max_n=p.max_periods, **kg)
        start = first_day(ev)
        return cls(
            data_start=start,
            breakdown=p.breakdown,
            by_group=by_group,
            drivers=drivers,
            drivers_notes=notes,
            drivers_top=dp.top_n if dp is not None else 5,  # a campaign object without drivers: the default
            data_cut=data_cut,
            event_names=display_names(ctx),
            period=p.period,
            criterion=p.criterion,
            counts=counts,
            matrix=matrix,
            curve=average_curve(matrix),
            day1=day1,
            day7=day_n_retention(ev, 7, **kw),
            lifecycle=lifecycle_table(ev, period=p.lifecycle_period, data_end=end),
            lifecycle_period=p.lifecycle_period,
            stickiness=stickiness_table(ev, period=p.stickiness_period, data_end=end, data_start=start),
            stickiness_period=p.stickiness_period,
            start_events=p.start_events,
            return_events=p.return_events,
        )

    def to_results(self) -> dict:
        """The report-specific part of ``results/retention.json`` (docs/retention.md)."""
        m = self.matrix
        cohorts = []
        for (d, size), (_, row), (_, comp) in zip(m["sizes"].items(), m["counts"].iterrows(), m["complete"].iterrows()):
            cohorts.append(
                {
                    "cohort": d.strftime("%Y-%m-%d"),
                    "size": int(size),
                    "retained": [None if pd.isna(v) else int(v) for v in row.to_numpy()],
                    "complete": [bool(v) for v in comp.to_numpy()],
                }
            )
        sk = {k: v for k, v in self.stickiness.items() if k != "histogram"}
        return self._results(
            cohort_period=self.period,
            criterion=self.criterion,
            start_events=self.start_events,
            return_events=self.return_events,
            cohorts=cohorts,
            average_curve=self.curve.to_dict(orient="records"),
            day1_retention=self.day1,
            day7_retention=self.day7,
            lifecycle_period=self.lifecycle_period,
            stickiness_period=self.stickiness_period,
            stickiness=sk,
            breakdown=self.breakdown,
            by_group=None if self.by_group is None else self.by_group.to_dict(orient="records"),
        )

    def findings(self) -> list[str]:
        """Key findings: period-1 retention where the headline shows it, day-1 and day-7 retention, the best and worst
        cohorts, the lifecycle balance, stickiness."""
        from .fmt import fmt_int, fmt_pct

        lead = self._period_one()  # monthly cohorts: the number the index shows comes first
        out = [lead] if lead else []
        for key, d in (("retention.day1", self.day1), ("retention.day7", self.day7)):
            if d["cohorts"]:
                out.append(
                    t(
                        "retention.day_n",
                        name=t(key),
                        rate=fmt_pct(d["rate"]),
                        retained=fmt_int(d["retained"]),
                        users=fmt_int(d["users"]),
                        cohorts=fmt_int(d["cohorts"]),
                    )
                )
            else:
                out.append(t("retention.too_short", name=t(key)))
        from .caveats import day_n_caveat, first_cohort_note, period_retention_name  # helpers/caveats.py

        out += [c for c in (day_n_caveat(self.day1, self.day7), first_cohort_note(self.matrix, self._later())) if c]
        partial = _partial_first_cohort(self.matrix, self.period, self.data_start)
        cmp = _cohort_comparison(self.matrix, self.curve, leave_out=partial[0] if partial else None)
        if cmp:
            n, avg, best, bval, worst, wval = cmp
            out.append(
                t(
                    "retention.cohorts",
                    unit=t(f"retention.unit.{self.period}"),
                    name=mid_sentence(period_retention_name(self.period, n)),  # "By week cohort, week-4 retention"
                    avg=fmt_pct(avg),
                    best=f"{best:%Y-%m-%d}",
                    best_rate=fmt_pct(bval),
                    worst=f"{worst:%Y-%m-%d}",
                    worst_rate=fmt_pct(wval),
                )
            )
        if cmp and partial and partial[0] in _sizeable(self.matrix["sizes"]):
            out.append(
                t(
                    "retention.partial_first_cohort",
                    unit=t(f"retention.unit.{self.period}"),
                    cohort=f"{partial[0]:%Y-%m-%d}",
                    days=fmt_int(partial[1]),
                    start=f"{self.data_start:%Y-%m-%d}",
                )
            )
        lc = self.lifecycle
        if len(lc) >= 2:
            last = lc.iloc[-1]
            out.append(
                t(
                    "retention.lifecycle",
                    unit=t(f"retention.unit.{self.lifecycle_period}"),
                    start=f"{pd.Timestamp(last['period_start']):%Y-%m-%d}",
                    new=fmt_int(last["new"]),
                    returning=fmt_int(last["returning"]),
                    resurrecting=fmt_int(last["resurrecting"]),
                    dormant=fmt_int(-last["dormant"]),
                )
            )
        key = "dau_over_wau" if self.stickiness_period == "week" else "dau_over_mau"
        ratio = self.stickiness.get(key)
        if ratio is not None and not (isinstance(ratio, float) and math.isnan(ratio)):
            out.append(t("retention.stickiness", ratio_name=key.upper().replace("_OVER_", "/"), ratio=fmt_pct(ratio)))
        else:
            out.append(t("retention.no_stickiness", unit=t(f"retention.unit.{self.stickiness_period}")))
        top = driver_finding(self.drivers, "retention", self.event_names)
        data = [cut_note(self.data_cut)] if self.data_cut else []
        return out + ([top] if top else []) + _by_group_finding(self.by_group, self.breakdown, self.period) + data

    def _later(self) -> dict:
        """Retention without the first cohort, for :func:`helpers.caveats.first_cohort_note`: day-1 retention without
        the first daily cohort for daily cohorts, else period-1 retention without the first (weekly or monthly)
        cohort, by :func:`average_curve`'s rule."""
        if self.period == "day":
            return {"name": t("retention.day1"), "rate": self.day1.get("rate_later", math.nan),
                    "users": self.day1.get("users_later", 0)}  # fmt: skip
        m = self.matrix
        row = average_curve({"counts": m["counts"].iloc[1:], "sizes": m["sizes"].iloc[1:]}).query("n == 1")
        from .caveats import period_retention_name

        name = period_retention_name(self.period)
        if not len(row):
            return {"name": name, "rate": math.nan, "users": 0}
        return {"name": name, "rate": float(row["rate"].iloc[0]), "users": int(row["users"].iloc[0])}

    def _period_one(self) -> str | None:
        """The finding of period-1 retention when the headline shows it instead of day-N retention (monthly cohorts,
        or no day-N rate on enough users: :func:`helpers.caveats.fit_retention_headline`), so that the page's first
        finding, which the index quotes, is the headline's number; None otherwise."""
        from .caveats import day_n_fits
        from .fmt import fmt_int, fmt_pct

        if any(day_n_fits(self.period, self.day1, self.day7)):
            return None  # the headline shows day-N retention
        first = self.headline()[0]
        if first["value"] is None:
            return None
        row = self.curve[self.curve["n"] == 1].iloc[0]
        return t(
            "retention.period_one",
            name=first["label"],
            rate=fmt_pct(row["rate"]),
            retained=fmt_int(row["retained"]),
            users=fmt_int(row["users"]),
            cohorts=fmt_int(row["cohorts"]),
            unit=t(f"retention.unit.{self.period}"),
        )

    def headline(self) -> list[dict]:
        """Day-1 and day-7 retention for the index page (period-1 retention for monthly cohorts)."""
        from .caveats import fit_retention_headline  # day-N only where it fits the cohorts (helpers/caveats.py)
        from .fmt import fmt_pct
        from .report import headline

        day_items = [
            headline(t("retention.day1"), self.day1["rate"], fmt_pct(self.day1["rate"])),
            headline(t("retention.day7"), self.day7["rate"], fmt_pct(self.day7["rate"])),
        ]
        return fit_retention_headline(day_items, period=self.period, day1=self.day1, day7=self.day7, curve=self.curve)

    def tables(self) -> dict[str, pd.DataFrame]:
        """``average_curve``, ``lifecycle``, ``stickiness`` (histogram) and, when there are cohorts, ``counts``
        and ``rates`` (cohort x period number)."""
        m = self.matrix
        out = {"average_curve": self.curve, "lifecycle": self.lifecycle, "stickiness": self.stickiness["histogram"]}
        if not m["rates"].empty:
            out["counts"] = m["counts"].reset_index()
            out["rates"] = m["rates"].reset_index()
        out["drivers"] = self.drivers if self.drivers is not None else pd.DataFrame(columns=RETENTION_DRIVER_COLUMNS)
        cols = ["group", "n", "cohorts", "users", "retained", "rate"]
        out["by_group"] = self.by_group if self.by_group is not None else pd.DataFrame(columns=cols)  # no breakdown
        return out

    def _show(self, part: str):
        from IPython.display import Markdown

        from .fmt import style_table

        if part == "drivers":
            return show_drivers(
                self.drivers, self.drivers_notes, "retention", n=self.drivers_top, events=self.event_names
            )
        if part == "by_group":
            if self.by_group is None or self.by_group.empty:
                return Markdown(f"_{t('retention.no_by_group')}_")
            w = self.by_group.pivot(index="group", columns="n", values="rate")
            w.columns = [f"N{c}" for c in w.columns]
            w.insert(0, "users", self.by_group[self.by_group["n"] == 0].set_index("group")["users"])
            return style_table(w.reset_index().iloc[:, :16], int_cols=["users"], pct_cols=list(w.columns[1:]))
        if self.matrix["rates"].empty and part in ("matrix", "heatmap", "curve"):
            return Markdown(f"_{t('retention.no_cohorts')}_")
        if part == "matrix":
            r = self.matrix["rates"].copy()
            r.columns = [f"N{c}" for c in r.columns]
            r.insert(0, "size", self.matrix["sizes"])
            r = r.reset_index()
            r["cohort"] = r["cohort"].dt.strftime("%Y-%m-%d")
            return style_table(
                r.iloc[:, : min(r.shape[1], 16)],
                int_cols=["size"],
                pct_cols=[c for c in r.columns if c.startswith("N")],
            )
        if part == "heatmap":
            return plot_retention_heatmap(self.matrix, period=self.period)
        if part == "curve":
            _display(plot_retention_curve(self.curve, period=self.period))
            return style_table(self.curve, int_cols=["cohorts", "users", "retained"], pct_cols=["rate"], max_rows=15,
                               headers={"n": t("retention.col_n")})  # fmt: skip
        if part == "lifecycle":
            return plot_lifecycle(self.lifecycle, period=self.lifecycle_period)
        return plot_stickiness(self.stickiness["histogram"], period=self.stickiness_period)  # "stickiness"


def run_retention(ctx) -> RetentionReport | Unavailable:
    """:meth:`RetentionReport.run`: the retention report of a campaign (or its Unavailable twin)."""
    return RetentionReport.run(ctx)


def _by_group_finding(by_group: pd.DataFrame | None, breakdown: str | None, period: str) -> list[str]:
    """Period-1 retention per value of the breakdown (the values with a complete period 1), flagged when thin."""
    from .fmt import fmt_int, fmt_pct

    if by_group is None or by_group.empty:
        return []
    one = by_group[(by_group["n"] == 1) & (by_group["users"] > 0)]
    if one.empty:
        return []
    vals = list_join(f"{r.group} {fmt_pct(r.rate)} ({fmt_int(r.users)})" for r in one.itertuples())
    out = [t("retention.by_group", breakdown=column_word(breakdown), unit=t(f"retention.unit.{period}"), values=vals)]
    if (one["users"] < 30).any():
        out.append(t("retention.by_group_thin"))
    return out


def _sizeable(sizes: pd.Series) -> pd.Index:
    """The cohorts the comparison may name: >= 20 users and >= 30% of the median cohort size."""
    return sizes[(sizes >= 20) & (sizes >= sizes.median() * 0.3)].index


def _partial_first_cohort(m: dict, period: str, data_start) -> tuple[pd.Timestamp, int] | None:
    """(the first cohort, its days with data) when the first week or month cohort starts before ``data_start``, the
    data's first day in the period: its users first came on only the last of its period's days (a week cohort
    of Friday to Sunday when the data starts on a Friday), so its later periods come sooner after their first
    event than other cohorts' do; None otherwise (daily cohorts, or a first cohort that starts with the data)."""
    sizes = m.get("sizes")
    if period == "day" or data_start is None or sizes is None or sizes.empty:
        return None
    first = pd.Timestamp(sizes.index[0])
    if first >= data_start:
        return None
    nxt = first + (pd.DateOffset(weeks=1) if period == "week" else pd.DateOffset(months=1))
    return first, int((nxt - data_start).days)


def _cohort_comparison(m: dict, curve: pd.DataFrame, *, max_n: int = 4, leave_out=None):
    """(n, average, best cohort, its rate, worst cohort, its rate) at the latest period n <= max_n where at
    least two sizeable cohorts (>= 20 users and >= 30% of the median size) are complete and differ (all at one
    rate, the best and the worst would be the same cohort); None otherwise. ``leave_out``: a cohort never named
    (a partial first cohort, :func:`_partial_first_cohort`); the average stays the average curve's."""
    rates, sizes = m["rates"], m["sizes"]
    if rates.empty:
        return None
    big = _sizeable(sizes)
    if leave_out is not None:
        big = big[big != leave_out]
    for n in range(min(max_n, rates.columns.max()), 0, -1):
        c = rates.loc[big, n].dropna()
        if len(c) >= 2 and c.max() > c.min():
            avg = curve.set_index("n").loc[n, "rate"]
            return n, avg, c.idxmax(), c.max(), c.idxmin(), c.min()
    return None
