"""Anomalies of the trends report: the detector of :mod:`helpers.anomaly` on every daily metric and, with a
breakdown, on each shown group's daily series of the count and sum metrics (docs/trends.md, "Anomalies").

Rules
-----
- Overall series: every metric of the report, at ``level`` (0.99); the flagged day's ``group`` is empty and
  :func:`helpers.trends.explain_anomalies` names the group that explains most of its deviation.
- Group series: for count and sum metrics (not user counts, averages or formulas), each shown group's daily
  value (a day without the group's events is 0). So that testing several groups does not multiply the false
  alarms, a group series is tested only when it is large enough for a drop to be visible — its median daily
  count of the metric's events is at least :data:`GROUP_MIN_DAILY` (5) and its share of the metric's total over
  the period at least :data:`GROUP_MIN_SHARE` (5 %) — and at a Bonferroni level over the ``k`` groups tested
  for that metric: ``1 - (1 - level) / k``. A flag names the group (``group`` and ``top_group``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .anomaly import detect_anomalies

__all__ = ["GROUP_MIN_DAILY", "GROUP_MIN_SHARE", "detect_trend_anomalies"]

#: a group series is tested only when the median daily count of the metric's events in it is at least this
GROUP_MIN_DAILY = 5.0
#: ... and its share of the metric's period total is at least this
GROUP_MIN_SHARE = 0.05

_COLS = ["metric", "group", "day", "value", "expected", "lower", "upper", "score", "run_days"]


def detect_trend_anomalies(
    daily: pd.DataFrame,
    metrics: dict,
    names: list[str],
    *,
    daily_groups: pd.DataFrame | None = None,
    groups: list[str] | None = None,
    level: float = 0.99,
) -> tuple[pd.DataFrame, int]:
    """The flagged days of the metrics ``names``, overall and per group (module docstring).

    Parameters
    ----------
    daily : ``period_start`` (one row per day) and one column per metric.
    metrics : the report's :class:`helpers.trend_metrics.Metric` by name (``agg``, ``formula``).
    daily_groups : ``period_start``, ``group`` and one column per metric, or None without a breakdown.
    groups : the shown groups (the top N of the breakdown); ``other`` is not tested as a group.

    Returns
    -------
    (flagged, checked): ``flagged`` has ``metric``, ``group`` (None for the overall series), ``day``, ``value``,
    ``expected``, ``lower``, ``upper``, ``score``, ``run_days``; ``checked`` is the number of metric-days (and
    group-metric-days) that had a baseline.
    """
    found, by_group, checked = [], [], 0
    for name in names:
        if name not in daily or daily[name].isna().all():
            continue
        d = daily[["period_start", name]].rename(columns={"period_start": "day", name: "value"})
        a = detect_anomalies(d, level=level)
        checked += int(a["expected"].notna().sum())
        found.append(a[a["anomaly"]].assign(metric=name, group=None))
    if daily_groups is not None and groups and len(daily):
        days = pd.DatetimeIndex(pd.to_datetime(daily["period_start"]))
        for name in names:
            m = metrics.get(name)
            if m is None or m.formula or m.agg not in ("count", "sum") or name not in daily_groups:
                continue
            wide = daily_groups.pivot_table(index="period_start", columns="group", values=name, aggfunc="sum")
            wide = wide.reindex(index=days, columns=[g for g in groups if g in wide.columns]).fillna(0.0)
            basis = _count_basis(metrics, name, daily_groups)
            sizes = _group_sizes(daily_groups, basis, days)
            total = float(wide.to_numpy().sum())
            tested = [
                g for g in wide.columns
                if sizes.get(g, 0.0) >= GROUP_MIN_DAILY and total > 0 and wide[g].sum() / total >= GROUP_MIN_SHARE
            ]  # fmt: skip
            for g in tested:
                gd = pd.DataFrame({"day": days, "value": wide[g].to_numpy()})
                a = detect_anomalies(gd, level=1 - (1 - level) / len(tested), counts=m.agg == "count")
                checked += int(a["expected"].notna().sum())
                by_group.append(a[a["anomaly"]].assign(metric=name, group=str(g), _basis=basis))
    if by_group:
        # a sum's group flag stands only when the group's count of the same events is flagged that day too
        gf = pd.concat(by_group, ignore_index=True)
        count_flags = set(zip(gf["metric"], gf["group"], gf["day"]))
        keep = [(b == k) or ((b, g, d) in count_flags) for k, b, g, d in zip(gf["metric"], gf["_basis"], gf["group"],
                                                                            gf["day"])]  # fmt: skip
        # a boolean mask, never a bare list: an empty list would pick columns (none), not rows
        found.append(gf.loc[np.asarray(keep, dtype=bool)].drop(columns="_basis"))
    found = [f for f in found if len(f)]
    if not found:
        return pd.DataFrame(columns=_COLS), checked
    return pd.concat(found, ignore_index=True)[_COLS], checked


def _count_basis(metrics: dict, name: str, daily_groups: pd.DataFrame) -> str:
    """The count metric over the same events as ``name``: itself for a count; for a sum, the report's count of
    the same events and filters when there is one (``orders`` for ``gmv``), else the sum itself."""
    m = metrics[name]
    if m.agg != "sum":
        return name
    same = [k for k, o in metrics.items() if o.agg == "count" and not o.formula and o.events == m.events
            and o.where == m.where and k in daily_groups]  # fmt: skip
    return same[0] if same else name


def _group_sizes(daily_groups: pd.DataFrame, basis: str, days: pd.DatetimeIndex) -> dict:
    """Median daily value of the metric ``basis`` (a count of events, or a sum without one) per group."""
    wide = daily_groups.pivot_table(index="period_start", columns="group", values=basis, aggfunc="sum")
    return wide.reindex(days).fillna(0.0).median().to_dict()
