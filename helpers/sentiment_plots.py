"""The review sentiment report's charts (:mod:`helpers.sentiment` computes; these draw): SnowNLP's accuracy by
threshold, a confusion matrix, and the positive share per item or category with its interval."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import i18n
from .items import item_label, names_of

__all__ = ["plot_threshold", "plot_confusion", "plot_groups"]


def plot_threshold(y, scores, *, ax=None):
    """Accuracy of SnowNLP as a function of the positive threshold, with the share of positive labels."""
    import matplotlib.pyplot as plt

    if len(y) == 0:
        from .plots import empty_chart

        return empty_chart(
            ax,
            title=i18n.t("sentiment.threshold_title"),
            xlabel=i18n.t("sentiment.threshold_axis"),
            ylabel=i18n.t("sentiment.accuracy_axis"),
            note=i18n.t("sentiment.no_labels_note"),
        )
    if ax is None:
        _, ax = plt.subplots()
    ts = np.linspace(0.05, 0.95, 19)
    acc = [float(((np.asarray(scores) >= t).astype(int) == np.asarray(y)).mean()) for t in ts]
    ax.plot(ts, acc, marker="o")
    best = ts[int(np.argmax(acc))]
    ax.axvline(best, color="C3", linestyle="--", label=i18n.t("sentiment.best_threshold", value=f"{best:.2f}"))
    ax.legend(fontsize="small")
    ax.set_title(i18n.t("sentiment.threshold_title"))
    ax.set_xlabel(i18n.t("sentiment.threshold_axis"))
    ax.set_ylabel(i18n.t("sentiment.accuracy_axis"))
    return ax


def plot_confusion(conf, *, title: str, ax=None):
    from .plots import plot_heatmap

    tt = i18n.t
    m = pd.DataFrame(
        conf,
        index=[tt("sentiment.actual_neg"), tt("sentiment.actual_pos")],
        columns=[tt("sentiment.pred_neg"), tt("sentiment.pred_pos")],
    )
    return plot_heatmap(
        m, title=title, xlabel=tt("sentiment.predicted"), ylabel=tt("sentiment.actual"), fmt=",.0f", ax=ax
    )


def plot_groups(summary: pd.DataFrame, *, by: str, ax=None):
    """Positive share per group with its 95% interval (worst first)."""
    import matplotlib.pyplot as plt

    from .plots import percent_ticks

    s = summary.head(15)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.4 * len(s) + 1.5))
    pos = np.arange(len(s))[::-1]
    ax.errorbar(
        s["positive_share"],
        pos,
        xerr=[(s["positive_share"] - s["ci_low"]).clip(lower=0), (s["ci_high"] - s["positive_share"]).clip(lower=0)],
        fmt="o",
        capsize=3,
    )
    names = names_of(s) if by == "item_id" else {}
    ax.set_yticks(pos, [item_label(c, names, width=32) for c in s[by].astype(str)])
    percent_ticks(ax.xaxis)
    ax.set_xlim(0, 1)
    by_label = i18n.label(f"sentiment.by_{by}", by)
    ax.set_title(i18n.t("sentiment.groups_title", by=by_label))
    ax.set_xlabel(i18n.t("sentiment.groups_axis"))
    ax.set_ylabel(by_label)
    return ax
