"""Chinese renders in charts (no missing glyphs, no tofu), the theme only touches rcParams, charts carry their
titles and labels, and numbers are formatted by hand-checked rules."""

import io
import math
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.ft2font import FT2Font  # noqa: E402

import helpers.plots as plots  # noqa: E402
from helpers.fmt import fmt_duration_hours, fmt_int, fmt_money, fmt_num, fmt_pct, style_table  # noqa: E402
from helpers.plots import check_chart, cjk_font_name, cjk_font_path, plot_bar, plot_heatmap, plot_line, set_theme  # noqa: E402

TEXT = "次日留存率 重要价值客户 信息流广告 用户画像"
CATEGORIES = ["重要价值客户", "信息流广告", "应用商店"]


@pytest.fixture
def theme():
    """set_theme() inside an rc_context, so the global rcParams are restored after the test."""
    with matplotlib.rc_context():
        yield set_theme()
    plt.close("all")


def _png(fig) -> np.ndarray:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    buf.seek(0)
    return plt.imread(buf)


def _glyph_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if "missing from" in str(w.message).lower()]


def _chinese_figure():
    """Chinese in the title, both axis labels, the tick labels and an annotation."""
    fig, ax = plt.subplots()
    ax.bar(CATEGORIES, [1200, 30, 7])
    ax.set_title(TEXT)
    ax.set_xlabel("渠道 channel")
    ax.set_ylabel("用户数 users")
    ax.annotate("留存", (0, 1200))
    return fig, ax


# ------------------------------------------------------------------------------------------------ font


def test_chinese_renders_without_missing_glyphs_in_the_cjk_font(theme):
    path = cjk_font_path()
    assert path and Path(path).is_file() and theme == cjk_font_name()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig, ax = _chinese_figure()
        title_font = font_manager.findfont(ax.title.get_fontproperties())
        tick_font = font_manager.findfont(ax.get_xticklabels()[0].get_fontproperties())
        _png(fig)
    assert not _glyph_warnings(caught), _glyph_warnings(caught)
    assert Path(title_font).resolve() == Path(path).resolve()
    assert Path(tick_font).resolve() == Path(path).resolve()
    font = FT2Font(path)
    text = TEXT + "".join(CATEGORIES) + "渠道用户数 channel users 0123456789,.%-¥–"
    lacking = [ch for ch in text if not ch.isspace() and font.get_char_index(ord(ch)) == 0]
    assert not lacking, lacking


def test_missing_glyph_check_detects_a_font_without_chinese():
    """Positive control: the warning check above would fail if the CJK font were not used."""
    with matplotlib.rc_context({"font.family": ["sans-serif"], "font.sans-serif": ["DejaVu Sans"]}):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig, _ = _chinese_figure()
            _png(fig)
    assert _glyph_warnings(caught)


def test_cjk_glyphs_are_not_tofu(theme):
    """DejaVu Sans has no CJK glyphs, so it draws the same empty box (tofu) for every character: two different
    characters give identical pictures. The CJK font draws them differently, and differently from tofu."""

    def draw(text, family):
        fig = plt.figure(figsize=(1, 1), dpi=80)
        fig.text(0.1, 0.2, text, fontsize=40, family=family)
        return _png(fig)[..., :3]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tofu drawings warn, by design
        tofu_a, tofu_b = draw("留", "DejaVu Sans"), draw("存", "DejaVu Sans")
        cjk_a, cjk_b = draw("留", theme), draw("存", theme)
    assert np.array_equal(tofu_a, tofu_b)  # the control really is tofu
    assert np.abs(cjk_a - cjk_b).mean() > 0.01  # two real, different glyphs
    assert np.abs(cjk_a - tofu_a).mean() > 0.01
    assert (cjk_a < 0.5).mean() > 0.01  # ink on the page


def test_set_theme_is_idempotent_cheap_and_only_changes_rcparams():
    outside = dict(plt.rcParams)
    figures = plt.get_fignums()
    with matplotlib.rc_context():
        a = set_theme()
        after_first = dict(plt.rcParams)
        b = set_theme(context="notebook")
        assert a == b == cjk_font_name()
        assert dict(plt.rcParams) == after_first
        assert plt.rcParams["font.sans-serif"][:2] == [a, "DejaVu Sans"]
        assert plt.rcParams["font.family"] == ["sans-serif"]
        assert plt.rcParams["axes.unicode_minus"] is False
        assert plt.rcParams["savefig.format"] == "png"
        assert plots._locate.cache_info().currsize == 1  # the font lookup ran once
        registered = [f for f in font_manager.fontManager.ttflist if f.fname == cjk_font_path()]
        assert registered  # and is registered (once per face, not once per call)
        set_theme()
        assert len([f for f in font_manager.fontManager.ttflist if f.fname == cjk_font_path()]) == len(registered)
    assert plt.get_fignums() == figures  # no figure created
    assert dict(plt.rcParams) == outside  # rc_context restored everything set_theme changed


def test_no_cjk_font_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(plots, "_packaged_font", lambda: None)
    monkeypatch.setattr(plots, "_system_font", lambda: None)
    plots._locate.cache_clear()
    try:
        assert cjk_font_path() is None
        with matplotlib.rc_context():
            with pytest.raises(RuntimeError, match="pip install cvttf-notosanscjk-regular") as err:
                set_theme()
        assert "fonts-noto-cjk" in str(err.value)
    finally:
        monkeypatch.undo()
        plots._locate.cache_clear()
    assert cjk_font_path()


# ---------------------------------------------------------------------------------------------- charts


def _labels(ax):
    return ax.get_title(), ax.get_xlabel(), ax.get_ylabel()


def test_plot_bar_titles_labels_annotations(theme):
    t = pd.DataFrame({"seg": CATEGORIES, "users": [1200, 30, -45]})
    before = t.copy()
    ax = plot_bar(t, x="seg", y="users", title="分群用户数", xlabel="分群", ylabel="用户数")
    assert isinstance(ax, Axes) and _labels(ax) == ("分群用户数", "分群", "用户数")
    check_chart(ax)
    assert [tx.get_text() for tx in ax.get_xticklabels()] == CATEGORIES
    assert [tx.get_text() for tx in ax.texts] == ["1,200", "30", "-45"]
    assert ax.get_ylim()[0] < -45 and ax.get_ylim()[1] > 1200  # negative bar and labels inside the axes
    ax.figure.canvas.draw()
    assert "1,000" in [tx.get_text() for tx in ax.get_yticklabels()]
    pd.testing.assert_frame_equal(t, before)  # input untouched

    _, given = plt.subplots()
    share = pd.DataFrame({"seg": CATEGORIES, "share": [0.25, np.nan, 0.125]})
    ax = plot_bar(
        share, x="seg", y="share", fmt="pct", horizontal=True, ax=given, title="占比", xlabel="占比", ylabel="分群"
    )
    assert ax is given and _labels(ax) == ("占比", "占比", "分群")
    assert [tx.get_text() for tx in ax.texts] == ["25.0%", "–", "12.5%"]
    by_height = sorted(zip(ax.get_yticks(), (tx.get_text() for tx in ax.get_yticklabels())), reverse=True)
    assert [label for _, label in by_height] == CATEGORIES  # first row on top
    ax.figure.canvas.draw()
    ticks = [tx.get_text() for tx in ax.get_xticklabels() if tx.get_text()]
    assert ticks and all(s.endswith("%") for s in ticks) and "10%" in ticks

    tiny = pd.DataFrame({"seg": CATEGORIES, "drop": [0.2189, -0.0001, -0.0012]})  # churn's importance, ".3f"
    ax = plot_bar(tiny, x="seg", y="drop", fmt=".3f", title="重要性", xlabel="分群", ylabel="下降")
    assert [tx.get_text() for tx in ax.texts] == ["0.219", "0.000", "-0.001"]  # no "-0.000"


def test_plot_bar_errors_name_the_problem(theme):
    t = pd.DataFrame({"seg": ["a"], "users": ["many"]})
    with pytest.raises(KeyError, match="no column.*'n'"):
        plot_bar(t, x="seg", y="n", title="t", xlabel="x", ylabel="y")
    with pytest.raises(ValueError, match="'users' must be numeric"):
        plot_bar(t, x="seg", y="users", title="t", xlabel="x", ylabel="y")
    with pytest.raises(ValueError, match="empty title"):
        plot_bar(t, x="seg", y="users", title=" ", xlabel="x", ylabel="y")
    with pytest.raises(ValueError, match="not a number format"):
        plot_bar(
            pd.DataFrame({"seg": ["a"], "users": [1]}),
            x="seg",
            y="users",
            fmt="pct!",
            title="t",
            xlabel="x",
            ylabel="y",
        )


def test_plot_line_titles_labels_dates_and_hue(theme):
    days = pd.date_range("2024-03-25", periods=20, freq="D", tz="Asia/Shanghai")
    t = pd.DataFrame(
        {
            "day": list(days) * 2,
            "dau": np.r_[np.arange(20) * 1000, np.arange(20)],
            "group": ["新用户"] * 20 + ["老用户"] * 20,
        }
    )
    ax = plot_line(t.iloc[::-1], x="day", y="dau", hue="group", title="日活", xlabel="日期", ylabel="用户数")
    assert isinstance(ax, Axes) and _labels(ax) == ("日活", "日期", "用户数")
    check_chart(ax)
    assert [tx.get_text() for tx in ax.get_legend().get_texts()] == ["老用户", "新用户"]  # table order
    xs = ax.lines[0].get_xdata()
    assert list(xs) == sorted(xs)  # drawn in date order although the table was reversed
    ax.figure.canvas.draw()
    xticks = [tx.get_text() for tx in ax.get_xticklabels() if tx.get_text()]
    assert "03-29" in xticks and not any(m in "".join(xticks) for m in ("Jan", "Mar", "Apr"))
    assert "15,000" in [tx.get_text() for tx in ax.get_yticklabels()]


def test_plot_heatmap_titles_labels_annotations(theme):
    m = pd.DataFrame(
        [[1.0, 0.5], [1.0, np.nan]], index=pd.to_datetime(["2024-01-01", "2024-01-08"]), columns=["第0周", "第1周"]
    )
    ax = plot_heatmap(m, title="留存矩阵", xlabel="第 N 周", ylabel="群组")
    assert isinstance(ax, Axes) and _labels(ax) == ("留存矩阵", "第 N 周", "群组")
    check_chart(ax)
    assert sorted(tx.get_text() for tx in ax.texts) == ["100%", "100%", "50%"]  # NaN cell blank
    assert [tx.get_text() for tx in ax.get_yticklabels()] == ["2024-01-01", "2024-01-08"]
    assert {tx.get_rotation() for tx in ax.get_xticklabels()} == {0}  # two short names: level
    # only blank cells (a one-day log: no complete week): the empty chart and its note, no warning on the page
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # seaborn's "All-NaN slice encountered" reached the page as a red box
        blank = plot_heatmap(m * np.nan, title="留存矩阵", xlabel="第 N 周", ylabel="群组")
    check_chart(blank)
    assert [tx.get_text() for tx in blank.texts] == ["没有数据"] and _labels(blank) == ("留存矩阵", "第 N 周", "群组")
    events = [
        "浏览商品",
        "启动",
        "加入购物车",
        "搜索",
        "提交订单",
        "收藏",
        "支付成功",
        "登录",
        "（离开）",
    ]  # the paths matrix
    wide = plot_heatmap(
        pd.DataFrame(np.eye(9), index=events, columns=events), title="流转", xlabel="下一个", ylabel="当前"
    )
    assert {tx.get_rotation() for tx in wide.get_xticklabels()} == {30}  # side by side they would touch
    assert {tx.get_horizontalalignment() for tx in wide.get_xticklabels()} == {"right"}
    counts = plot_heatmap(pd.DataFrame([[12345, 0]]), fmt=",.0f", title="人数", xlabel="F", ylabel="R")
    assert sorted(tx.get_text() for tx in counts.texts) == ["0", "12,345"]


def test_check_chart_names_what_is_missing():
    _, bare = plt.subplots()
    with pytest.raises(ValueError, match="missing its title, x label, y label"):
        check_chart(bare)
    bare.set_title("只有标题")
    with pytest.raises(ValueError, match="'只有标题' is missing its x label, y label"):
        check_chart(bare)
    bare.set_title("")
    bare.set_xlabel("x")
    bare.set_ylabel("y")
    with pytest.raises(ValueError, match="missing its title:"):
        check_chart(bare)
    bare.set_title("ok")
    check_chart(bare)
    with pytest.raises(TypeError):
        check_chart(bare.figure)
    plt.close("all")


# ------------------------------------------------------------------------------------------ formatting


NAN = float("nan")


@pytest.mark.parametrize(
    "fn,value,expected",
    [
        (fmt_int, 1234567, "1,234,567"),
        (fmt_int, 0, "0"),
        (fmt_int, -1234.6, "-1,235"),
        (fmt_int, -0.4, "0"),
        (fmt_int, NAN, "–"),
        (fmt_int, None, "–"),
        (fmt_int, pd.NA, "–"),
        (fmt_int, math.inf, "∞"),
        (fmt_int, np.int64(12345), "12,345"),
        (fmt_pct, 0.1234, "12.3%"),
        (fmt_pct, 1, "100.0%"),
        (fmt_pct, -0.05, "-5.0%"),
        (fmt_pct, 0, "0.0%"),
        (fmt_pct, NAN, "–"),
        (fmt_pct, None, "–"),
        (fmt_pct, 12.345, "1,234.5%"),
        (fmt_pct, 0.000252, "0.025%"),
        (fmt_pct, 1e-8, "< 0.0001%"),  # at most 4 decimals: beyond them a bound
        (fmt_pct, -1e-8, "> -0.0001%"),
        (fmt_pct, 1e-6, "0.0001%"),
        (fmt_pct, 0.9999999978, "> 99.9999%"),  # a model's mean P(alive) read "99.99999978%"
        (fmt_pct, 0.999999, "99.9999%"),
        (fmt_pct, -0.00001, "-0.001%"),
        (fmt_pct, 9995 / 9999, "99.96%"),  # almost all is not all: two significant digits of what it lacks
        (fmt_pct, 0.99999, "99.999%"),
        (fmt_pct, -0.9996, "-99.96%"),
        (fmt_pct, 0.9994, "99.9%"),  # rounds below 100: as usual
        (fmt_num, 1234.567, "1,234.57"),
        (fmt_num, 0, "0.00"),
        (fmt_num, -1234.5, "-1,234.50"),
        (fmt_num, -0.001, "0.00"),
        (fmt_num, NAN, "–"),
        (fmt_num, -math.inf, "-∞"),
        (fmt_money, 1234.5, "¥1,234.50"),
        (fmt_money, 0, "¥0.00"),
        (fmt_money, -3, "-¥3.00"),
        (fmt_money, -0.001, "¥0.00"),
        (fmt_money, NAN, "–"),
        (fmt_money, None, "–"),
        (fmt_duration_hours, 0, "0 min"),
        (fmt_duration_hours, 0.5, "30 min"),
        (fmt_duration_hours, 0.9999, "1.0 h"),
        (fmt_duration_hours, 3.5, "3.5 h"),
        (fmt_duration_hours, -3.5, "-3.5 h"),
        (fmt_duration_hours, 50.4, "2.1 d"),
        (fmt_duration_hours, NAN, "–"),
        (fmt_duration_hours, pd.NaT, "–"),
        (fmt_duration_hours, math.inf, "∞"),
    ],
)
def test_formats(fn, value, expected):
    from helpers import i18n

    with i18n.language("en"):  # units of durations follow the language ("30 分钟" in Chinese)
        assert fn(value) == expected


def test_format_options():
    assert fmt_pct(0.12345, digits=2) == "12.35%"
    assert fmt_pct(0.5, digits=0) == "50%"
    assert fmt_num(2.5, digits=0) == "2"  # round half to even, like Python
    assert fmt_money(9.5, currency="£") == "£9.50"
    assert fmt_money(-1234, currency="$", digits=0) == "-$1,234"


def test_style_table_formats_escapes_and_hides_index():
    df = pd.DataFrame(
        {
            "share": [0.5, NAN],
            "n": [12345, 0],
            "text": ["<script>x</script> 差评", "好评"],
            "m": [9.5, -3],
            "x": [1.234, 2],
        },
        index=["row_a", "row_b"],
    )
    before = df.copy()
    html = style_table(df, pct_cols=["share"], int_cols=["n"], money_cols=["m"], num_cols=["x", "absent"]).to_html()
    for text in ("50.0%", "12,345", "¥9.50", "-¥3.00", "1.23", "–"):
        assert text in html, text
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "row_a" not in html
    shown = style_table(df, int_cols=["n"], hide_index=False, caption="表 1").to_html()
    assert "row_a" in shown and "表 1" in shown
    pd.testing.assert_frame_equal(df, before)


def test_fmt_pp_in_both_languages():
    from helpers import i18n
    from helpers.fmt import fmt_pp

    with i18n.language("zh"):
        assert (fmt_pp(0.052), fmt_pp(-0.2), fmt_pp(NAN)) == ("5.2 个百分点", "-20.0 个百分点", "–")
        assert fmt_pp(-0.0001) == "0.0 个百分点"  # rounds to zero: no minus sign
    with i18n.language("en"):
        assert fmt_pp(0.052) == "5.2 pp"


def test_format_rows_formats_each_row_for_its_kind():
    """A metrics table: a share row in % and percentage points, a count row whole, an amount row with decimals;
    missing values stay "–", the values stay numbers and the frame is not modified."""
    from helpers import i18n
    from helpers.fmt import format_rows
    from tests.styled import styled_rows

    df = pd.DataFrame(
        {
            "metric": ["付费率", "活跃用户", "GMV"],
            "current": [0.502, 217.0, 105094.8],
            "previous": [0.553, 300.0, 210751.0],
            "abs_change": [-0.051, -83.0, -105656.2],
            "ci_low": [-0.138, NAN, NAN],
            "rel_change": [-0.0922, -0.2767, -0.5013],
        }
    )
    before = df.copy()
    with i18n.language("zh"):
        st = format_rows(
            style_table(df, pct_cols=["rel_change"]),
            ["rate", "value", "value"],
            value_cols=["current", "previous", "absent"],
            change_cols=["abs_change", "ci_low"],
        )
        rows = [list(r.values()) for r in styled_rows(st)]
    assert rows == [
        ["付费率", "50.2%", "55.3%", "-5.1 个百分点", "-13.8 个百分点", "-9.2%"],
        ["活跃用户", "217", "300", "-83", "–", "-27.7%"],
        ["GMV", "105,094.80", "210,751.00", "-105,656.20", "–", "-50.1%"],
    ]
    pd.testing.assert_frame_equal(df, before)
    assert st.data["current"].dtype == float  # right-aligned on the page as numbers


def test_named_metrics_names_metrics_and_codes():
    """Metric codes become names (a ``label`` column takes their place), code columns become the catalogue's words
    under their prefix, an unknown code stays itself, an empty or missing one becomes "" and the frame is kept."""
    from helpers import i18n
    from helpers.fmt import named_metrics

    df = pd.DataFrame({"metric": ["dau", "gmv", "x"], "kind": ["value", "rate", "odd"], "test": ["welch", "", None]})
    before = df.copy()
    with i18n.language("zh"):
        out = named_metrics(df, {"dau": "日活", "gmv": "GMV"}, {"kind": "trends.kind", "test": "test", "absent": "p"})
    assert out.to_dict(orient="list") == {
        "metric": ["日活", "GMV", "x"],
        "kind": ["数值", "比率", "odd"],
        "test": ["Welch t 检验", "", ""],
    }
    pd.testing.assert_frame_equal(df, before)
    labelled = named_metrics(df.assign(label=["A", "B", "C"]), {"dau": "日活"})
    assert list(labelled.columns) == ["kind", "test", "metric"] and list(labelled["metric"]) == ["A", "B", "C"]
    # English: a row's name and the code words open their cells with a capital ("active users" is the catalogue's
    # name mid-sentence); a name with a capital inside stays as written
    with i18n.language("en"):
        en = named_metrics(df, {"dau": "average DAU", "gmv": "eGMV"}, {"kind": "trends.kind"})
    assert list(en["metric"]) == ["Average DAU", "eGMV", "X"] and list(en["kind"]) == ["Value", "Share", "Odd"]


def test_stickiness_reads_as_a_share():
    """Stickiness (DAU over the active users) is a share: a page writes it as a percentage, its change in points
    (it read "Stickiness (DAU/active): 1"); its kind stays a value (no two-proportion test)."""
    from helpers.trend_metrics import BUILTINS, number_kind, resolve_metrics

    metrics = resolve_metrics(list(BUILTINS), order_events=("pay",), amount_col="amount")
    assert number_kind(metrics["stickiness"], metrics) == "rate" and metrics["stickiness"].kind == "value"
    assert number_kind(metrics["pay_rate"], metrics) == "rate" and number_kind(metrics["dau"], metrics) == "value"


def test_thousands_ticks_on_large_linear_axes_only(theme):
    """500,000, not 500000 or an offset "1e5"; dates, categories, percentages and small numbers keep theirs."""
    from matplotlib.ticker import PercentFormatter

    from helpers.plots import thousands_ticks

    fig, (a, b, c) = plt.subplots(1, 3)
    a.barh(["x", "y"], [500000, 120000])
    b.plot(pd.date_range("2024-01-01", periods=3), [0.1, 0.2, 0.3])
    c.plot([0, 1], [0, 5000])
    c.yaxis.set_major_formatter(PercentFormatter())  # a chart's own format stays
    thousands_ticks(fig)
    fig.canvas.draw()
    assert [x.get_text() for x in a.get_xticklabels()] == ["0", "200,000", "400,000", "600,000"]
    assert [x.get_text() for x in a.get_yticklabels()] == ["x", "y"]
    assert "," not in "".join(x.get_text() for x in b.get_yticklabels())
    assert isinstance(c.yaxis.get_major_formatter(), PercentFormatter)
    assert not a.xaxis.get_offset_text().get_text()


def test_charts_a_notebook_shows_get_thousands_separators(theme):
    """set_theme() in an IPython shell: every Figure it displays gets :func:`thousands_ticks` first."""
    from IPython.core.interactiveshell import InteractiveShell

    from helpers.plots import _TickFormatter

    shell = InteractiveShell.instance()
    try:
        set_theme()
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 250000])
        shown = shell.display_formatter.format(fig)[0]
        assert "image/png" in shown and isinstance(ax.yaxis.get_major_formatter(), _TickFormatter)
    finally:
        InteractiveShell.clear_instance()


def test_a_y_label_longer_than_its_axes_goes_on_two_lines(theme):
    """The experiment's sequential chart (8 x 3 in) had its y label on one line, taller than the axes: it ran into
    the date labels below and off the top of the image. The label now breaks at the punctuation nearest its
    middle, and each line fits; labels that fit are left alone."""
    from helpers.plots import _two_lines, fit_axis_labels

    fig, (a, b) = plt.subplots(2, 1, figsize=(8, 6))
    a.set_ylabel("差值（百分点，实验组 − 对照组）")
    b.set_ylabel("用户数")
    fig.canvas.draw()
    fit_axis_labels(fig)
    assert a.get_ylabel() == "差值（百分点，\n实验组 − 对照组）" and b.get_ylabel() == "用户数"
    r = fig.canvas.get_renderer()
    for line in a.get_ylabel().split("\n"):
        probe = a.text(0, 0, line, rotation=90, fontsize=a.yaxis.label.get_fontsize())
        assert probe.get_window_extent(r).height <= a.get_window_extent(r).height, line
    plt.close(fig)
    assert _two_lines("difference (percentage points, variant − control)") == (
        "difference (percentage points,\nvariant − control)"
    )
    assert _two_lines("转化率差值实验组减对照组") == "转化率差值实\n验组减对照组"  # no punctuation: the middle
    assert _two_lines("supercalifragilistic") == "supercalifragilistic"  # one word: as it is


def test_text_from_data_is_drawn_as_written_not_as_tex(theme):
    """A product or channel name with two dollar signs is not mathtext: without the theme's ``text.parse_math``
    off, "$5 OFF_$" fails to draw (a TeX subscript with nothing after it) and "$x$" would lose its signs."""
    fig, ax = plt.subplots()
    ax.barh(["SALE $5 OFF_$10", "$x$ MUG"], [1, 2])
    ax.set_title("$5 OFF_$")
    _png(fig)  # draws without a ParseFatalException
    assert ax.yaxis.get_ticklabels()[1].get_text() == "$x$ MUG"
    with matplotlib.rc_context({"text.parse_math": True}):
        fig, ax = plt.subplots()
        ax.set_title("$5 OFF_$")
        with pytest.raises(ValueError):
            _png(fig)
