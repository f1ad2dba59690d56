"""Every chart function survives empty, single-row and degenerate inputs (everyone converts, nobody
converts, one class, all values equal, NaN): it returns its Axes or Figure with a title and draws no
negative error bar. Inputs come from the kit's own compute functions on tiny hand-made event logs, so the
shapes are the ones reports really pass. Also: every interval is inside [0, 1] over group sizes 1..2,000
at rates 0 and 1."""

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from helpers import bgnbd, churn, clustering, funnel, journey, plots, quality, retention, rfm, rfm_segments  # noqa: E402
from helpers.attempts import funnel_users  # noqa: E402
from helpers.stats import two_proportion_test, wilson_interval  # noqa: E402

T0 = pd.Timestamp("2024-03-01 10:00")


@pytest.fixture(autouse=True)
def _report_theme():
    """Charts as the reports draw them: the kit's theme, whose CJK font draws the Chinese titles (no glyph is
    missing); matplotlib's settings are restored after each test."""
    with matplotlib.rc_context():
        plots.set_theme()
        yield


END = pd.Timestamp("2024-03-15")


def _events(rows):
    return pd.DataFrame(
        [
            {"user_id": u, "event": e, "ts": T0 + pd.Timedelta(hours=h), "channel": c, "amount": a}
            for u, e, h, c, a in rows
        ]
        or [],
        columns=["user_id", "event", "ts", "channel", "amount"],
    ).astype({"user_id": str, "event": str, "channel": str, "amount": float, "ts": "datetime64[us]"})


LOGS = {
    "empty": [],
    "single": [("u1", "view", 0, "a", np.nan)],
    "all_convert": [
        (u, e, h, "a", 10.0 if e == "buy" else np.nan) for u in ("u1", "u2") for e, h in (("view", 0), ("buy", 1))
    ],
    "none_convert": [(u, "view", h, c, np.nan) for u, h, c in (("u1", 0, "a"), ("u2", 30, "b"), ("u3", 60, "a"))],
}


def _title(obj) -> str:
    if hasattr(obj, "get_title"):
        return obj.get_title()
    if hasattr(obj, "savefig"):  # a Figure: its suptitle or its first Axes' title
        sup = obj._suptitle.get_text() if obj._suptitle is not None else ""
        return sup or next((a.get_title() for a in obj.axes if a.get_title()), "")
    if isinstance(obj, (list, tuple, np.ndarray)):
        return _title(np.ravel(obj)[0])
    return ""


def _check(obj):
    assert obj is not None
    assert _title(obj), "every chart has a title"
    plt.close("all")


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.mark.parametrize("kind", list(LOGS))
def test_funnel_charts(kind):
    ev = _events(LOGS[kind])
    users = funnel_users(ev, ["view", "buy"], window_hours=24, breakdown="channel", period_end=END)
    steps = ["view", "buy"]
    _check(funnel.plot_funnel(funnel.funnel_table(users, steps)))
    _check(funnel.plot_breakdown(funnel.funnel_breakdown(users, steps)))
    _check(funnel.plot_trend(funnel.conversion_trend(users, n_steps=2)))
    _check(funnel.plot_time_to_convert(funnel.time_to_convert(users, n_steps=2)))


@pytest.mark.parametrize("kind", list(LOGS))
@pytest.mark.parametrize("period", ["day", "week"])
def test_retention_charts(kind, period):
    ev = _events(LOGS[kind])
    counts = retention.cohort_counts(ev, period=period)
    m = retention.retention_matrix(counts, period=period, data_end=END)
    _check(retention.plot_retention_heatmap(m, period=period))
    _check(retention.plot_retention_curve(retention.average_curve(m), period=period))
    _check(retention.plot_lifecycle(retention.lifecycle_table(ev, period=period, data_end=END), period=period))
    if period == "week":
        hist = retention.stickiness_table(ev, period=period, data_end=END)["histogram"]
        _check(retention.plot_stickiness(hist, period=period))


@pytest.mark.parametrize("kind", list(LOGS))
def test_paths_chart(kind):
    s = journey.sessionize(_events(LOGS[kind]))
    _check(journey.plot_transitions(journey.transition_matrix(journey.transition_counts(s))))


@pytest.mark.parametrize("kind", ["single", "all_convert", "none_convert"])
def test_rfm_charts(kind):
    ev = _events(LOGS[kind])
    orders = ev.assign(order_id=[f"o{i}" for i in range(len(ev))])
    table = rfm.rfm_table(orders, as_of="2024-03-15")
    scored = rfm.rfm_scores(table).scored
    scored["segment"] = rfm_segments.segment_named(scored)
    summary = rfm_segments.segment_summary(scored, scheme="named11")
    _check(rfm_segments.plot_segments(summary))
    _check(rfm_segments.plot_rf_heatmap(rfm_segments.rf_heatmap(scored)))
    _check(
        bgnbd.plot_segment_bgnbd(
            summary.assign(mean_p_alive=np.nan, mean_p_alive_repeat=np.nan, expected_purchases=0.0)
        )
    )


def test_bgnbd_check_chart_edges():
    empty = pd.DataFrame(columns=["x", "users", "actual", "predicted"])
    _check(bgnbd.plot_bgnbd_check(empty, days=30))
    one = pd.DataFrame({"x": [0], "users": [5], "actual": [0.0], "predicted": [0.0]})
    _check(bgnbd.plot_bgnbd_check(one, days=30))


@pytest.mark.parametrize("y", [[0, 0, 0, 0], [1, 1, 1, 1], [0, 1, 0, 1]])
def test_churn_charts(y):
    y = np.array(y)
    p = np.linspace(0.1, 0.9, len(y))
    _check(churn.plot_roc_pr(y, {"model": p, "baseline_recency": p[::-1]}))
    _check(churn.plot_calibration(y, p))
    _check(churn.plot_lift(churn.lift_table(y, p)))
    _check(churn.plot_importance(pd.DataFrame({"feature": ["n_events"], "importance": [0.0], "std": [0.0]})))
    _check(churn.plot_importance(pd.DataFrame(columns=["feature", "importance", "std"])))


def test_clustering_charts():
    _check(clustering.plot_k_selection(pd.DataFrame(columns=["k", "silhouette", "inertia"])))
    _check(clustering.plot_k_selection(pd.DataFrame({"k": [2], "silhouette": [0.5], "inertia": [1.0]}), chosen=2))
    cols = ["n_events", "spend"]
    prof = pd.DataFrame(
        {
            "cluster": [0],
            "users": [3],
            "share": [1.0],
            "n_events": [2.0],
            "spend": [0.0],
            "z_n_events": [0.0],
            "z_spend": [np.nan],
        }
    )
    _check(clustering.plot_radar(prof, cols, {0: "普通用户 typical users"}))
    _check(clustering.plot_projection(np.zeros((1, 2)), np.array([0]), {0: "g"}))
    _check(clustering.plot_projection(np.ones((5, 3)), np.zeros(5, dtype=int), {0: "g"}))


def test_quality_and_generic_charts():
    _check(quality.plot_reasons(pd.DataFrame(columns=["table", "reason", "rows", "share_of_input"])))
    _check(quality.plot_daily(pd.DataFrame(columns=["day", "rows", "users"])))
    _check(quality.plot_daily(pd.DataFrame({"day": [pd.Timestamp("2024-03-01")], "rows": [1], "users": [1]})))
    kw = {"title": "t", "xlabel": "x", "ylabel": "y"}
    for df in (
        pd.DataFrame(columns=["a", "b"]),
        pd.DataFrame({"a": ["x"], "b": [0]}),
        pd.DataFrame({"a": ["x", "y"], "b": [np.nan, 0.0]}),
    ):
        _check(plots.plot_bar(df, x="a", y="b", **kw))
        _check(plots.plot_bar(df, x="a", y="b", horizontal=True, **kw))
        _check(plots.plot_line(df, x="a", y="b", **kw))
    for m in (pd.DataFrame(), pd.DataFrame([[np.nan]], index=["a"], columns=["b"]), pd.DataFrame([[0.0]])):
        _check(plots.plot_heatmap(m, **kw))


@pytest.mark.parametrize("n", [*range(1, 60), *range(60, 2001, 97), 2000])
def test_intervals_stay_in_unit_range_at_rates_0_and_1(n):
    for x in (0, n):
        lo, hi = wilson_interval(x, n)
        assert 0.0 <= lo <= x / n <= hi <= 1.0
        assert (x == 0 and lo == 0.0) or (x == n and hi == 1.0)
    t = two_proportion_test(n, n, 0, n)
    assert t["diff"] == 1.0 and t["rate_a"] == 1.0 and not math.isnan(t["p_value"])
    t = two_proportion_test(n, n, n, n)  # identical all-converting groups: no difference, no crash
    assert t["diff"] == 0.0 and t["z"] == 0.0 and t["p_value"] == 1.0


@pytest.mark.parametrize("y", [[], [1], [0, 0, 0], [1, 0, 1, 0]])
def test_sentiment_charts(y):
    from helpers import phrases, sentiment

    y = np.array(y, dtype=int)
    s = np.linspace(0.2, 0.8, len(y))
    _check(sentiment.plot_threshold(y, s))
    _check(sentiment.plot_confusion(np.zeros((2, 2), dtype=int), title="混淆矩阵 confusion"))
    _check(phrases.plot_words(pd.DataFrame(columns=["keyword", "weight"]), title="关键词 keywords"))
    groups = pd.DataFrame(
        {
            "category": ["a"] * min(len(y), 1),
            "positive_share": [1.0] * min(len(y), 1),
            "ci_low": [wilson_interval(3, 3)[0]] * min(len(y), 1),
            "ci_high": [1.0] * min(len(y), 1),
        }
    )
    _check(sentiment.plot_groups(groups, by="category"))


def test_funnel_bar_labels_put_the_step_rate_in_the_pages_brackets():
    from helpers import i18n

    """The label names the previous step: 环比 (as it read) means "against the previous period" to a Chinese
    reader, not the step-to-step rate."""
    ev = _events(LOGS[list(LOGS)[0]])
    users = funnel_users(ev, ["view", "buy"], window_hours=24, period_end=END)
    for lang, mark in (("zh", "（较上一步 "), ("en", " (from previous step ")):
        with i18n.language(lang):
            ax = funnel.plot_funnel(funnel.funnel_table(users, ["view", "buy"]))
        texts = [x.get_text() for x in ax.texts]
        assert any(mark in s for s in texts), texts
        assert not any("环比" in s for s in texts), texts
        plt.close("all")


def _tick_texts(axis, *, minor=False) -> list[str]:
    axis.get_figure().canvas.draw()
    return [t.get_text() for t in axis.get_ticklabels(minor=minor) if t.get_text()]


@pytest.mark.parametrize(
    "p10, p90, shown",
    [(70.9, 577.7, {"100", "200", "300", "400"}), (0.5, 20_000.0, {"1", "10", "100", "1,000", "10,000"})],
)
def test_interval_boxes_read_their_log_axis_in_plain_numbers(p10, p90, shown):
    """The intervals' log axis had printed matplotlib's TeX (``$\\mathdefault{10^{2}}$``) as text, since the theme
    does not parse math (text from data is written as is): now the labels are the numbers, with thousands
    separators; between decades the minor ticks are labelled too when the axis spans few of them."""
    from helpers.trends import plot_interval_boxes

    row = {
        "group": "all",
        "p10": p10,
        "p25": p10 * 1.5,
        "p50": p10 * 3,
        "p75": p90 / 1.2,
        "p90": p90,
        "mean_hours": p10 * 4,
    }
    ax = plot_interval_boxes(pd.DataFrame([row]))
    texts = _tick_texts(ax.xaxis) + _tick_texts(ax.xaxis, minor=True)
    assert not any("$" in x or "\\" in x or "e+" in x for x in texts), texts
    assert shown <= set(texts)


def test_time_to_convert_counts_users_in_whole_numbers():
    """Four converted users: the histogram's user axis reads 0, 1, 2, not 0.25 steps."""
    hours = pd.Series([10.0, 50.0, 52.5, 66.0])
    ax = funnel.plot_time_to_convert(hours)
    ticks = [float(x.replace(",", "")) for x in _tick_texts(ax.yaxis)]
    assert ticks and all(v.is_integer() for v in ticks), ticks


def test_retention_curve_counts_periods_in_whole_numbers():
    """Four periods (the tianchi weeks): the curve's x axis reads 0, 1, 2, 3, not 0.5 steps between weeks."""
    curve = pd.DataFrame({"n": [0, 1, 2, 3], "rate": [1.0, 0.75, 0.87, 0.9], "users": [32, 28, 23, 21]})
    ax = retention.plot_retention_curve(curve, period="week")
    ticks = [float(x.replace(",", "")) for x in _tick_texts(ax.xaxis)]
    assert ticks and all(v.is_integer() for v in ticks), ticks


def test_whole_number_ticks_keep_the_default_density():
    """A count's axis on whole numbers has as many ticks as matplotlib's default would give it: the demo's trends
    charts had nine crowded ticks (60, 70, ..., 140 on a 3-inch axis) with a locator of ten bins."""
    from helpers.trends import plot_metric_trend

    days = pd.date_range("2024-04-23", periods=7)
    values = [102, 90, 84, 87, 90, 95, 57, 145, 133, 124, 120, 145, 125, 103]
    series = pd.DataFrame({"period_start": list(days) * 2, "window": ["current"] * 7 + ["previous"] * 7, "m": values})
    shown = []
    for whole in (False, True):
        ax = plot_metric_trend(series, "m", whole=whole, shift=pd.Timedelta(0))
        ax.get_figure().canvas.draw()
        lo, hi = ax.get_ylim()
        shown.append([v for v in ax.get_yticks() if lo <= v <= hi])
    assert len(shown[1]) <= len(shown[0]) + 1 and len(shown[1]) <= 6, shown
    assert all(float(v).is_integer() for v in shown[1])


def test_share_axes_read_in_percent_as_tables_do():
    """The funnel's and retention's share axes are labelled by the kit's one percent format
    (:func:`helpers.plots.percent_ticks`: 0%, 20%, decimals only where needed), and no chart sets matplotlib's own
    ``PercentFormatter`` (its "20.0%" beside a table's "20%")."""
    import pathlib

    ev = _events(LOGS["all_convert"] + [("u3", "view", 2, "b", np.nan)])
    users = funnel_users(ev, ["view", "buy"], window_hours=24, breakdown="channel", period_end=END)
    m = retention.retention_matrix(retention.cohort_counts(ev, period="day"), period="day", data_end=END)
    for ax in (
        funnel.plot_breakdown(funnel.funnel_breakdown(users, ["view", "buy"])),
        funnel.plot_trend(funnel.conversion_trend(users, n_steps=2)),
        retention.plot_retention_curve(retention.average_curve(m), period="day"),
    ):
        fmt = ax.yaxis.get_major_formatter()
        assert isinstance(fmt, plots._TickFormatter) and fmt.percent, ax.get_title()
        ax.figure.canvas.draw()
        ticks = [x.get_text() for x in ax.get_yticklabels() if x.get_text()]
        assert ticks and all(x.endswith("%") for x in ticks) and not all(x.endswith(".0%") for x in ticks), ticks
    src = pathlib.Path(plots.__file__).parent
    assert not [p.name for p in src.glob("*.py") if "PercentFormatter" in p.read_text(encoding="utf-8")]
