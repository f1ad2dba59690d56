"""Reading a styled table (:func:`helpers.fmt.style_table`) as its page shows it, for tests of page formats."""

from __future__ import annotations

import html
import re


def styled_rows(styler) -> list[dict[str, str]]:
    """The body rows of a Styler's HTML: ``{column: displayed text}`` per row (tags stripped, entities undone)."""
    body = styler.to_html()
    cols = list(styler.data.columns)
    out = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)[1:]:
        cells = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>.*?</td>", row, re.S)]
        out.append(dict(zip(cols, cells, strict=True)))
    return out
