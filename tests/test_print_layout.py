"""Which tables print on landscape pages (issue 18): helpers/page.py ``print_min_width`` and ``_mark_wide``, by hand.

The estimate is a table's narrowest printed width at the 8 pt table font (1 em = 8 / 72 * 96 px): per column the
longest run that cannot wrap (a number whole, text broken at spaces and between CJK characters; CJK 1 em, other
characters 0.6 em) plus 11 px of padding and border. tests/test_browser.py checks the outcome in Chromium."""

import pytest

from helpers.page import PRINT_WIDTH, _mark_wide, print_min_width

EM = 8 / 72 * 96


def _table(rows: list[list[str]], num: bool = False) -> str:
    cls = " class='ubk-num'" if num else ""
    return "<table class='ubk'>" + "".join("<tr>" + "".join(f"<td{cls}>{c}</td>" for c in r) + "</tr>" for r in rows)


def test_print_min_width_by_hand():
    html = (
        "<table><tr><th>ab</th><th class='ubk-num'>1,234.5</th></tr>"
        "<tr><td>hello world</td><td class='ubk-num'>7</td></tr></table>"
    )
    # column 1: "hello" or "world" (5 x 0.6 em, wraps at the space); column 2: "1,234.5" whole (7 x 0.6 em)
    assert print_min_width(html) == pytest.approx((3.0 * EM + 11) + (4.2 * EM + 11))
    # CJK text breaks between characters: one character is the narrowest run
    assert print_min_width("<table><tr><td>城市名称</td></tr></table>") == pytest.approx(EM + 11)
    # a number without the ubk-num class (a pandas Styler cell) is kept whole too; "a b" wraps
    assert print_min_width("<table><tr><td>12.5%</td><td>a b</td></tr></table>") == pytest.approx(
        (3.0 * EM + 11) + (0.6 * EM + 11)
    )
    # a header spanning columns says nothing about any one column
    assert print_min_width("<table><tr><th colspan='3'>a very long group header</th></tr></table>") == 0


def test_wide_tables_are_marked_for_landscape_and_the_widest_to_wrap_anywhere():
    col = 12 * 0.6 * EM + 11  # "1,234,567.89" whole: 87.8 px
    body = "".join(
        f"<div class='ubk-scroll'>{_table([['1,234,567.89'] * n], num=True)}</table></div><p>x</p>" for n in (5, 8, 12)
    )
    assert 5 * col < 0.92 * PRINT_WIDTH["portrait"] < 8 * col < 0.92 * PRINT_WIDTH["landscape"] < 12 * col
    out = _mark_wide(body)
    classes = [seg.split("'>", 1)[0] for seg in out.split("<div class='")[1:]]
    assert classes == ["ubk-scroll", "ubk-scroll ubk-wide", "ubk-scroll ubk-wide ubk-xwide"]
    assert out.replace(" ubk-wide", "").replace(" ubk-xwide", "") == body  # nothing else changes
    # nbconvert rewrites the page with double quotes
    dq = body.replace("'", '"')
    assert _mark_wide(dq).count('class="ubk-scroll ubk-wide') == 2
