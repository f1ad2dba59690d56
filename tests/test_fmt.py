def test_drop_empty_leaves_out_columns_without_any_value():
    import pandas as pd

    from helpers.fmt import drop_empty

    df = pd.DataFrame({"a": [1.0, None], "b": [None, None], "c": [None, None], "d": ["x", "y"]})
    assert list(drop_empty(df, ["a", "b", "zzz"]).columns) == ["a", "c", "d"]  # only the listed, empty ones
    assert drop_empty(df, ["a"]) is df
    assert list(drop_empty(df.iloc[0:0], ["a"]).columns) == ["b", "c", "d"]  # no rows: nothing to show in it


def test_drop_empty_counts_blank_text_as_empty():
    import pandas as pd

    from helpers.fmt import drop_empty

    df = pd.DataFrame({"test": ["", " ", None], "p": [float("nan")] * 3, "kind": ["", "x", ""]})
    assert list(drop_empty(df, ["test", "p", "kind"]).columns) == ["kind"]


def test_row_formats_format_a_rows_numbers_alike():
    """One rule for a metrics row, in the table and in a sentence quoting it: whole numbers without decimals unless
    one number of the row has some; a rate as percentages, its changes in percentage points."""
    from helpers.fmt import fmt_int, fmt_num, fmt_pct, fmt_pp, row_formats

    assert row_formats("value", [217.0, 300.0, -83.0]) == (fmt_int, fmt_int)
    fv, fc = row_formats("value", [105094.8, 210751.0])
    assert (fv, fc) == (fmt_num, fmt_num) and [fv(105094.8), fv(210751.0)] == ["105,094.80", "210,751.00"]
    assert row_formats("value", [3.0, float("nan"), float("inf")]) == (fmt_int, fmt_int)  # missing, infinite: no say
    assert row_formats("rate", [0.5, 0.553]) == (fmt_pct, fmt_pp)


def test_estimates_of_a_count_read_with_one_decimal_and_the_count_stays_whole():
    """A model's expected value beside an observed count (an anomaly): the count whole, the estimate with one
    decimal, in a table's row and a sentence alike; beside a non-whole value, a rate or money, as the value reads."""
    import pandas as pd

    from helpers.fmt import estimate_format, fmt_money, fmt_num, fmt_num1, fmt_pct, format_rows, style_table

    assert estimate_format("count", [3.0]) is fmt_num1 and fmt_num1(28.9) == "28.9" and fmt_num1(1234.56) == "1,234.6"
    assert estimate_format("value", [105.25]) is fmt_num and estimate_format("rate", [0.5]) is fmt_pct
    assert estimate_format("money", [3.0], currency="£")(2.5) == fmt_money(2.5, "£") == "£2.50"
    frame = pd.DataFrame({"value": [3.0, 0.25, 12.5], "expected": [28.9, 0.3, 11.0], "lower": [15.04, 0.2, 9.0]})
    html = format_rows(
        style_table(frame), ["count", "rate", "value"], value_cols=["value"], estimate_cols=["expected", "lower"]
    ).to_html()
    for cell in (">3<", ">28.9<", ">15.0<", ">25.0%<", ">30.0%<", ">12.50<", ">11.00<", ">9.00<"):
        assert cell in html, cell


def test_fmt_p_reads_tiny_p_values_as_below_one_in_a_thousand():
    from helpers.fmt import MISSING, fmt_p

    assert fmt_p(0.1284) == "p = 0.128" and fmt_p(0.00475) == "p = 0.00475" and fmt_p(0.001) == "p = 0.001"
    assert fmt_p(8.28e-15) == "p < 0.001" and fmt_p(0.000999) == "p < 0.001" and fmt_p(0.0) == "p < 0.001"
    assert fmt_p(1.0) == "p = 1" and fmt_p(float("nan")) == f"p = {MISSING}" and fmt_p(None) == f"p = {MISSING}"


def test_p_value_columns_read_as_the_findings_word_them():
    """A table's p-values as the findings give them (0.251, < 0.001), not "0.25" or "8.3e-15"; by the column's name;
    right-aligned as numbers; a column of other probabilities keeps the float format."""
    import pandas as pd

    from helpers.fmt import NUMERIC_KINDS, column_kind, fmt_p, format_cell, style_table
    from tests.styled import styled_rows

    p = pd.Series([0.2514, 8.28e-15, None])
    for name in ("p_value", "holm_p", "placebo_p", "pretrend_p_value", "srm_p_value"):
        assert column_kind(name, p) == "p", name
    assert [format_cell(v, "p") for v in p] == ["0.251", "< 0.001", "–"] and "p" in NUMERIC_KINDS
    assert fmt_p(0.2514) == "p = " + format_cell(0.2514, "p")
    assert column_kind("other_negative_p", pd.Series([0.5])) == "float"
    assert column_kind("p_value", pd.Series([3.5])) != "p"  # not a probability: not read as one
    rows = styled_rows(style_table(pd.DataFrame({"metric": ["a", "b"], "p_value": [0.2514, 1e-9]})))
    assert [r["p_value"] for r in rows] == ["0.251", "< 0.001"]


def test_count_columns_whole_as_integers_fractions_with_decimals():
    """``count_cols``: conversions a rule gives whole to one touch read 87 (not 87.00); a rule that splits them
    keeps its decimals (``num_digits``); a missing value is a dash."""
    import pandas as pd

    from helpers.fmt import style_table
    from tests.styled import styled_rows

    df = pd.DataFrame({"channel": ["a", "b"], "last": [87.0, 1234.0], "linear": [86.5, None], "n": [1.25, 2.0]})
    rows = styled_rows(style_table(df, count_cols=["last", "linear", "absent"], num_digits=1))
    assert [(r["last"], r["linear"]) for r in rows] == [("87", "86.5"), ("1,234", "–")]
    assert [r["n"] for r in rows] == ["1.25", "2.00"]  # not named: by its kind, as before


def test_fmt_change_signs_a_rise():
    """A relative change as the index quotes it: a rise with "+", a fall with "-", none and missing as fmt_pct."""
    import math

    from helpers.fmt import fmt_change

    assert fmt_change(0.08) == "+8.0%" and fmt_change(-0.2771) == "-27.7%" and fmt_change(0) == "0.0%"
    assert fmt_change(math.nan) == "–" and fmt_change(None) == "–" and fmt_change(0.00004) == "+0.004%"


def test_signed_puts_a_plus_before_a_rise_only():
    """An effect as the impact report quotes it: "+111.5", "-¥3.00", "+2.0 个百分点"; zero, missing and a value that
    rounds to zero without a sign; a format that already signs is left alone."""
    import math

    from helpers.fmt import fmt_change, fmt_num1, fmt_pp, money_format, signed

    assert signed(fmt_num1)(111.49) == "+111.5" and signed(fmt_num1)(-3.2) == "-3.2"
    assert signed(money_format("¥"))(-3) == "-¥3.00" and signed(money_format("¥"))(1234.5) == "+¥1,234.50"
    assert signed(fmt_num1)(0) == "0.0" and signed(fmt_num1)(0.01) == "0.0" and signed(fmt_num1)(math.nan) == "–"
    assert signed(fmt_change)(0.08) == "+8.0%"
    from helpers import i18n

    with i18n.language("zh"):
        assert signed(fmt_pp)(0.02) == "+2.0 个百分点"


def test_a_float_column_has_one_number_of_decimals():
    """A float column the caller does not name reads with the same decimals in every row: 2, or 1 when a value is
    1,000 or more (a Shapley credit of 1,133.0 above 929.4, not 929.43); in a page table (``render_table``) and in
    a styled one alike; a tiny value keeps two significant digits."""
    import pandas as pd

    from helpers.fmt import float_digits, format_cell, style_table
    from helpers.page import render_table
    from tests.styled import styled_rows

    df = pd.DataFrame({"channel": ["a", "b", "c"], "credit": [1133.0, 929.4321, 12.5], "se": [0.25, 1.333, None]})
    assert float_digits(df["credit"]) == 1 and float_digits(df["se"]) == 2 and float_digits([]) == 2
    assert float_digits([-1000.0, 3.0]) == 1 and float_digits([999.99, float("inf")]) == 2
    rows = styled_rows(style_table(df))
    assert [r["credit"] for r in rows] == ["1,133.0", "929.4", "12.5"]
    assert [r["se"] for r in rows] == ["0.25", "1.33", "–"]
    html = render_table(df)._repr_html_()
    assert ">1,133.0<" in html and ">929.4<" in html and ">12.5<" in html and "929.43" not in html
    assert format_cell(1133.04, "float") == "1,133.0" and format_cell(929.4321, "float") == "929.43"  # one value
    assert format_cell(929.4321, "float", 1) == "929.4" and format_cell(0.00012, "float", 1) == "0.00012"


def test_fmt_level_names_the_interval_level_of_alpha():
    """The impact page wrote ``int((1 - alpha) * 100)``: alpha 0.025 read "97%" and 0.07 "92%"."""
    from helpers.fmt import fmt_level

    assert [fmt_level(a) for a in (0.05, 0.1, 0.025, 0.07, 0.001, 0.2)] == ["95", "90", "97.5", "93", "99.9", "80"]


def test_fmt_chance_never_reads_sure():
    """A model's probability (chance to beat control) is bounded at 99.9 % and 0.1 %: 1.0 in floating point is
    not certainty, where fmt_pct prints "100.0%"."""
    from helpers.fmt import fmt_chance, fmt_pct

    assert fmt_pct(1.0) == "100.0%"  # what the table and the finding showed
    assert [fmt_chance(x) for x in (1.0, 0.99995, 0.9991, 0.999, 0.5, 0.0123, 0.001, 0.0004, 0.0)] == [
        "> 99.9%", "> 99.9%", "> 99.9%", "99.9%", "50.0%", "1.2%", "0.1%", "< 0.1%", "< 0.1%"
    ]  # fmt: skip
    assert fmt_chance(None) == fmt_chance(float("nan")) == "–"
