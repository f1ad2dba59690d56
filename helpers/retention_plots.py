"""The retention report's charts (helpers/retention.py computes what they draw): the cohort heatmap, the average
curve, the lifecycle bars and the stickiness histogram. Exact rules: docs/retention.md."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .i18n import t

__all__ = ["plot_retention_heatmap", "plot_retention_curve", "plot_lifecycle", "plot_stickiness"]


def plot_retention_heatmap(matrix: dict, *, period: str, ax=None, max_n: int = 12):
    """Cohort x period heatmap of retention rates (blank = period not yet complete)."""
    from .plots import plot_heatmap

    rates = matrix["rates"].iloc[:, : max_n + 1].copy()
    fmt = {"day": "%m-%d", "week": "%m-%d", "month": "%Y-%m"}[period]
    rates.index = [f"{d.strftime(fmt)} (n={int(s):,})" for d, s in zip(rates.index, matrix["sizes"])]
    unit = t(f"retention.unit.{period}")
    return plot_heatmap(
        rates,
        title=t("retention.heatmap_title", unit=unit),
        xlabel=t("retention.period_n_axis", unit=unit),
        ylabel=t("retention.cohort_axis"),
        ax=ax,
    )


def plot_retention_curve(curve: pd.DataFrame, *, period: str, ax=None):
    """The size-weighted average retention curve."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from .plots import percent_ticks

    if ax is None:
        _, ax = plt.subplots()
    ax.xaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True))  # period N: 0, 1, 2, not 0.5
    c = curve.dropna(subset=["rate"]) if "rate" in curve else pd.DataFrame({"n": [], "rate": []})
    ax.plot(c["n"], c["rate"], marker="o")
    if "users" in c:  # points over fewer than SMALL_N users: hollow, with their interval (helpers/caveats.py)
        from .caveats import mark_small

        mark_small(ax, c["n"], c["rate"], c["users"])
    for n, r in zip(c["n"], c["rate"]):
        if n <= 14:
            ax.annotate(f"{r:.0%}", (n, r), textcoords="offset points", xytext=(0, 6), ha="center", fontsize="small")
    percent_ticks(ax.yaxis)
    ax.set_ylim(0, 1.08)
    ax.set_title(t("retention.curve_title"))
    ax.set_xlabel(t("retention.period_n_axis", unit=t(f"retention.unit.{period}")))
    ax.set_ylabel(t("retention.rate_axis"))
    return ax


def plot_lifecycle(table: pd.DataFrame, *, period: str, ax=None):
    """Stacked bars: new, returning, resurrecting above zero; dormant below."""
    import matplotlib.pyplot as plt

    from .charts import legend_outside

    if ax is None:
        _, ax = plt.subplots()
    x = np.arange(len(table))
    bottom = np.zeros(len(table))
    colors = {"new": "C2", "returning": "C0", "resurrecting": "C4", "dormant": "C3"}
    names = {c: t(f"retention.state.{c}") for c in colors}
    for c in ("new", "returning", "resurrecting"):
        ax.bar(x, table[c], bottom=bottom, color=colors[c], label=names[c])
        bottom += table[c].to_numpy()
    ax.bar(x, table["dormant"], color=colors["dormant"], label=names["dormant"])
    ax.axhline(0, color="black", linewidth=0.8)
    fmt = "%m-%d" if period != "month" else "%Y-%m"
    step = max(1, len(table) // 12)
    ax.set_xticks(x[::step], [d.strftime(fmt) for d in pd.to_datetime(table["period_start"])][::step], rotation=30)
    legend_outside(ax)  # right of the bars, never over them (helpers/charts.py)
    unit = t(f"retention.unit.{period}")
    ax.set_title(t("retention.lifecycle_title", unit=unit))
    ax.set_xlabel(t("retention.lifecycle_x", unit=unit))
    ax.set_ylabel(t("retention.lifecycle_y"))
    return ax


def plot_stickiness(hist: pd.DataFrame, *, period: str, ax=None):
    """Share of user-periods by number of active days."""
    from .plots import plot_bar

    return plot_bar(
        hist,
        x="active_days",
        y="share",
        fmt="pct",
        ax=ax,
        title=t("retention.stickiness_title", unit=t(f"retention.unit.{period}")),
        xlabel=t("retention.active_days_axis"),
        ylabel=t("retention.share_axis", unit=t(f"retention.unit.{period}")),
    )
