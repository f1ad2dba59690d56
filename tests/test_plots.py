"""Chinese renders in charts (no missing glyphs), charts carry titles and labels, numbers are formatted."""
import io
import math
import warnings

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

from helpers.fmt import fmt_duration_hours, fmt_int, fmt_money, fmt_num, fmt_pct, style_table
from helpers.plots import check_chart, cjk_font_path, plot_bar, plot_heatmap, plot_line, set_theme

TEXT = "次日留存率 重要价值客户 信息流广告 用户画像"


def _png(fig) -> np.ndarray:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    buf.seek(0)
    return plt.imread(buf)


def test_chinese_renders_with_the_cjk_font():
    with matplotlib.rc_context():
        name = set_theme()
        path = cjk_font_path()
        assert path and name
        font = FT2Font(path)
        assert all(font.get_char_index(ord(ch)) != 0 for ch in TEXT if not ch.isspace())
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig, ax = plt.subplots()
            ax.set_title(TEXT)
            ax.set_xlabel("日期 date")
            ax.set_ylabel("转化率 conversion")
            ax.bar(["应用商店", "信息流广告"], [1, 2])
            _png(fig)
        missing = [str(w.message) for w in caught if "missing from" in str(w.message).lower()]
        assert not missing, missing
        resolved = font_manager.findfont(font_manager.FontProperties(family=plt.rcParams["font.sans-serif"]))
        assert resolved == path


def test_cjk_glyphs_are_not_tofu():
    """The same Chinese string drawn with the CJK font and with DejaVu Sans (which has no CJK glyphs,
    so it draws empty boxes) must look different; and the CJK drawing is not blank."""
    def draw(family):
        fig = plt.figure(figsize=(3, 1), dpi=80)
        fig.text(0.05, 0.3, "留存漏斗", fontsize=24, family=family)
        return _png(fig)

    with matplotlib.rc_context():
        name = set_theme()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cjk, tofu = draw(name), draw("DejaVu Sans")
    assert cjk.shape == tofu.shape
    assert np.abs(cjk - tofu).mean() > 0.01
    assert (cjk[..., :3] < 0.5).mean() > 0.01  # ink on the page


def test_set_theme_is_idempotent_and_only_sets_rcparams():
    with matplotlib.rc_context():
        a = set_theme()
        before = dict(plt.rcParams)
        b = set_theme()
        assert a == b
        assert dict(plt.rcParams) == before
        assert plt.rcParams["axes.unicode_minus"] is False


def test_charts_have_titles_and_labels():
    with matplotlib.rc_context():
        set_theme()
        t = pd.DataFrame({"x": ["甲", "乙"], "y": [1200, 30]})
        for ax in (plot_bar(t, x="x", y="y", title="标题", xlabel="X", ylabel="Y"),
                   plot_bar(t, x="x", y="y", title="标题", xlabel="X", ylabel="Y", horizontal=True, fmt="pct"),
                   plot_line(pd.DataFrame({"d": pd.date_range("2024-01-01", periods=3), "v": [1, 2, 3], "g": "a"}),
                             x="d", y="v", hue="g", title="t", xlabel="日期", ylabel="值"),
                   plot_heatmap(pd.DataFrame([[0.5, np.nan], [1, 0.2]]), title="h", xlabel="期", ylabel="群组")):
            check_chart(ax)
            assert ax.get_title()
        bar = plot_bar(t, x="x", y="y", title="标题", xlabel="X", ylabel="Y")
        assert [tx.get_text() for tx in bar.texts] == ["1,200", "30"]
        plt.close("all")
    _, bare = plt.subplots()
    bare.set_title("only a title")
    with pytest.raises(ValueError, match="x label, y label"):
        check_chart(bare)
    plt.close("all")


@pytest.mark.parametrize("fn,value,expected", [
    (fmt_int, 1234567, "1,234,567"), (fmt_int, 0, "0"), (fmt_int, -1234.6, "-1,235"), (fmt_int, float("nan"), "–"),
    (fmt_int, None, "–"), (fmt_pct, 0.1234, "12.3%"), (fmt_pct, 1, "100.0%"), (fmt_pct, -0.05, "-5.0%"),
    (fmt_pct, math.nan, "–"), (fmt_pct, 0.000252, "0.025%"), (fmt_pct, 0, "0.0%"), (fmt_num, 1234.567, "1,234.57"), (fmt_money, 1234.5, "¥1,234.50"),
    (fmt_money, -3, "-¥3.00"), (fmt_duration_hours, 0.5, "30 min"), (fmt_duration_hours, 3.5, "3.5 h"),
    (fmt_duration_hours, 50.4, "2.1 d"), (fmt_duration_hours, pd.NaT, "–"),
])
def test_formats(fn, value, expected):
    assert fn(value) == expected


def test_style_table_formats_and_escapes():
    df = pd.DataFrame({"share": [0.5], "n": [12345], "text": ["<script>x</script> 差评"], "m": [9.5]})
    html = style_table(df, pct_cols=["share"], int_cols=["n"], money_cols=["m"]).to_html()
    assert "50.0%" in html and "12,345" in html and "¥9.50" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
