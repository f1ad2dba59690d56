"""Number formatting for reports: one definition used by every table, finding and chart label.

Missing values (None, NaN, NaT) format as an en dash "–".
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd

__all__ = ["fmt_int", "fmt_pct", "fmt_num", "fmt_money", "fmt_duration_hours", "style_table", "MISSING"]

MISSING = "–"


def _missing(x) -> bool:
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def fmt_int(n) -> str:
    """12345 -> '12,345' (rounded to a whole number)."""
    if _missing(n):
        return MISSING
    return f"{int(round(float(n))):,}"


def fmt_pct(x, digits: int = 1) -> str:
    """0.1234 -> '12.3%' (``x`` is a share, not a percentage). Small non-zero shares keep two significant
    digits instead of showing as 0.0%: 0.000252 -> '0.025%'."""
    if _missing(x):
        return MISSING
    v = float(x) * 100
    if v != 0 and abs(v) < 10 ** -digits:
        return f"{v:.2g}%"
    return f"{v:,.{digits}f}%"


def fmt_num(x, digits: int = 2) -> str:
    """1234.567 -> '1,234.57'."""
    if _missing(x):
        return MISSING
    return f"{float(x):,.{digits}f}"


def fmt_money(x, currency: str = "¥", digits: int = 2) -> str:
    """1234.5 -> '¥1,234.50'; negatives as '-¥3.00'."""
    if _missing(x):
        return MISSING
    v = float(x)
    sign = "-" if v < 0 else ""
    return f"{sign}{currency}{abs(v):,.{digits}f}"


def fmt_duration_hours(h) -> str:
    """Hours as '45 min', '3.5 h' or '2.1 d'."""
    if _missing(h):
        return MISSING
    v = float(h)
    if math.isinf(v):
        return "∞"
    if abs(v) < 1:
        return f"{v * 60:,.0f} min"
    if abs(v) < 48:
        return f"{v:,.1f} h"
    return f"{v / 24:,.1f} d"


def style_table(df: pd.DataFrame, *, pct_cols: Iterable[str] = (), int_cols: Iterable[str] = (),
                money_cols: Iterable[str] = (), num_cols: Iterable[str] = (), currency: str = "¥",
                hide_index: bool = True, caption: str | None = None):
    """A pandas Styler with report formats per column; text is HTML-escaped (review texts, raw rows).

    Columns not named keep pandas' default formatting; names not in ``df`` are ignored.
    """
    fmts = {}
    for cols, f in ((pct_cols, fmt_pct), (int_cols, fmt_int), (money_cols, lambda x: fmt_money(x, currency)),
                    (num_cols, fmt_num)):
        for c in cols:
            if c in df.columns:
                fmts[c] = f
    # escape="html" escapes every cell's text, formatted or not (review texts, raw quarantined rows)
    st = df.style.format(fmts, na_rep=MISSING, escape="html")
    if hide_index:
        st = st.hide(axis="index")
    if caption:
        st = st.set_caption(caption)
    return st
