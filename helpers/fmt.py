"""Number formatting for reports: one definition used by every table, finding and chart label.

Missing values (None, NaN, NaT, ``pd.NA``) format as an en dash ``"–"`` (:data:`MISSING`); infinities as
``"∞"`` / ``"-∞"``; a value that rounds to zero never shows a minus sign (``"0.00"``, not ``"-0.00"``).
"""

from __future__ import annotations

import datetime as _dt
import functools
import html
import math
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

__all__ = [
    "fmt_int",
    "fmt_level",
    "fmt_p",
    "fmt_pct",
    "fmt_change",
    "fmt_chance",
    "fmt_pp",
    "signed",
    "fmt_num",
    "fmt_money",
    "CURRENCIES",
    "currency_code",
    "fmt_duration_hours",
    "fmt_range",
    "column_kind",
    "float_digits",
    "runs_text",
    "format_cell",
    "style_table",
    "format_rows",
    "estimate_format",
    "named_metrics",
    "md_escape",
    "drop_empty",
    "MISSING",
]

MISSING = "–"


def drop_empty(df: pd.DataFrame, columns) -> pd.DataFrame:
    """``df`` without those of ``columns`` that hold no value in any row (missing or blank text), for a page: data
    without prices would otherwise show a column of "–" on every row (revenue, GMV, average price). Results CSVs keep
    every column."""
    empty = [c for c in columns if c in df.columns and _blank(df[c]).all()]
    return df.drop(columns=empty) if empty else df


def _blank(col: pd.Series) -> pd.Series:
    """Whether each value of ``col`` is missing or text of only spaces."""
    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col):
        return col.isna()
    return col.isna() | col.map(lambda v: isinstance(v, str) and not v.strip())


def _missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):  # arrays, odd objects: not a single missing value
        return False


def _special(x: Any) -> str | None:
    """The text for a missing or infinite value, else None (and ``x`` is a finite number)."""
    if _missing(x):
        return MISSING
    v = float(x)
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    return None


def _fixed(v: float, digits: int, thousands: bool = True) -> str:
    """``v`` with ``digits`` decimals, no minus sign on a value that rounds to zero."""
    r = round(v, digits) + 0.0  # + 0.0 turns -0.0 into 0.0
    return f"{r:,.{digits}f}" if thousands else f"{r:.{digits}f}"


def fmt_int(n: Any) -> str:
    """Format a count as a whole number with thousands separators.

    Parameters
    ----------
    n : int, float or None
        Any real number; it is rounded to the nearest whole number (halves to even, like Python's ``round``).

    Returns
    -------
    str
        ``12345 -> "12,345"``, ``-1234.6 -> "-1,235"``; ``"–"`` for a missing value, ``"∞"`` for infinity.
    """
    special = _special(n)
    if special is not None:
        return special
    return f"{int(round(float(n))):,}"


def fmt_p(p: Any) -> str:
    """A p-value in a sentence, with its sign: ``p = 0.128`` (three significant digits), ``p < 0.001`` below one in
    a thousand (not ``p = 8.28e-15``: a reader needs to know it is tiny, not how tiny), ``p = –`` when missing."""
    if _missing(p):
        return f"p = {MISSING}"
    text = fmt_p_value(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def fmt_p_value(p: Any) -> str:
    """A p-value in a table cell, as :func:`fmt_p` words it in a sentence: ``0.251``, ``< 0.001``, ``–``."""
    if _missing(p):
        return MISSING
    return "< 0.001" if float(p) < 0.001 else f"{float(p):.3g}"


#: the column kinds (:func:`column_kind`) shown as numbers: right-aligned in tabular figures
NUMERIC_KINDS = ("int", "pct", "money", "float", "p")


def _is_p_value(name: str) -> bool:
    """A column of p-values, by its name: ``p_value``, ``holm_p``, ``placebo_p``, ``pretrend_p_value``, ..."""
    return name in ("p", "pvalue", "holm_p", "placebo_p", "did_p") or name.endswith("p_value")


#: the most decimals :func:`fmt_pct` gives a share near 0 or short of 1 (``99.9999%``); closer, it writes a bound
PCT_MAX_DECIMALS = 4


def fmt_level(alpha: float) -> str:
    """The confidence level of intervals at significance ``alpha`` as texts name it, without "%": 0.05 -> "95",
    0.1 -> "90", 0.025 -> "97.5" (``int((1 - alpha) * 100)`` read 97)."""
    return f"{round((1 - alpha) * 100, 6):g}"


def fmt_pct(x: Any, digits: int = 1) -> str:
    """Format a share (0.1234) as a percentage ("12.3%").

    Parameters
    ----------
    x : float or None
        A share, not a percentage: 1.0 is 100%.
    digits : int, default 1
        Decimals of the percentage. A small non-zero share that would show as ``0.0%`` keeps two significant
        digits instead (``0.000252 -> "0.025%"``), so "rare" is never shown as "never"; likewise a share short of
        1 that would show as ``100.0%`` keeps two significant digits of what it lacks (``0.9996 -> "99.96%"``,
        9,995 rows kept of 9,999), so "almost all" is never shown as "all". At most
        :data:`PCT_MAX_DECIMALS` decimals: beyond them a bound (``1e-8 -> "< 0.0001%"``, a model's mean
        probability ``0.9999999978 -> "> 99.9999%"``, not ``"99.99999978%"``).

    Returns
    -------
    str
        ``0.1234 -> "12.3%"``, ``-0.05 -> "-5.0%"``, ``0 -> "0.0%"``; ``"–"`` for a missing value.
    """
    special = _special(x)
    if special is not None:
        return special + ("%" if special != MISSING else "")
    v = float(x) * 100
    # near 0 or short of 100 but rounding to it: two significant digits of what tells it apart, in fixed notation
    # (never "2.5e-05%"), trailing zeros dropped
    apart = abs(v) if v != 0 and abs(v) < 10**-digits else 100 - abs(v) if round(abs(v), digits) >= 100 > abs(v) else 0
    if apart:
        places = min(1 - math.floor(math.log10(apart)), PCT_MAX_DECIMALS)
        if round(apart, PCT_MAX_DECIMALS) == 0:  # a bound, not a string of digits nobody reads
            bound = 10.0**-PCT_MAX_DECIMALS
            near0 = abs(v) < 1
            edge = _fixed(bound if near0 else 100 - bound, PCT_MAX_DECIMALS, thousands=False)
            if v > 0:
                return f"{'<' if near0 else '>'} {edge}%"
            return f"{'>' if near0 else '<'} -{edge}%"
        text = _fixed(v, places, thousands=False)
        return f"{text.rstrip('0').rstrip('.')}%"
    return f"{_fixed(v, digits)}%"


def fmt_chance(x: Any) -> str:
    """A model's probability of an uncertain event (an experiment's chance to beat control), as a percentage with
    one decimal, bounded at both ends: above 99.9 % it reads ``"> 99.9%"`` and below 0.1 % ``"< 0.1%"``.

    Such a probability is never certain: ``Phi(diff/se)`` of a large effect is 1.0 in floating point, and a share
    of 20,000 posterior draws is 1.0 when every draw wins. :func:`fmt_pct` would print ``"100.0%"`` (or a string of
    nines) for it, which reads as "sure". ``0.999 -> "99.9%"``, ``0.9991 -> "> 99.9%"``, ``1.0 -> "> 99.9%"``,
    ``0.0 -> "< 0.1%"``, ``0.5 -> "50.0%"``; ``"–"`` for a missing value."""
    special = _special(x)
    if special is not None:
        return special + ("%" if special != MISSING else "")
    v = float(x)
    if v > 0.999:
        return "> 99.9%"
    if v < 0.001:
        return "< 0.1%"
    return fmt_pct(v, 1)


def fmt_change(x: Any, digits: int = 1) -> str:
    """A relative change with its sign, as findings and the index quote it: ``0.08 -> "+8.0%"``, ``-0.277 ->
    "-27.7%"``, ``0 -> "0.0%"``; ``"–"`` for a missing value: :func:`fmt_pct` under the one sign rule of
    :func:`signed`."""
    return signed(lambda v: fmt_pct(v, digits))(x)


def signed(f: Callable[[Any], str]) -> Callable[[Any], str]:
    """``f`` with a "+" before a positive value, as an effect or a difference is quoted: ``signed(fmt_num1)(111.5)
    -> "+111.5"``, ``signed(money_format("¥"))(-3) -> "-¥3.00"``; zero, negative and missing values as ``f`` gives
    them, and so is a positive value that rounds to zero ("0.0"). An interval's bounds keep ``f``: "+111.5（80.2 –
    140.3）"."""

    def fmt(x: Any) -> str:
        text = f(x)
        shown = _special(x) is None and float(x) > 0 and any(c in "123456789" for c in text)  # not "+0.0"
        return "+" + text if shown and not text.startswith("+") else text

    return fmt


def fmt_pp(x: Any, digits: int = 1) -> str:
    """Format a difference of two shares in percentage points: ``0.052 -> "5.2 个百分点"`` (zh) / ``"5.2 pp"`` (en),
    ``-0.2 -> "-20.0 个百分点"``; ``"–"`` for a missing value. A change of a share shown as "5.2%" would read as a
    relative change."""
    special = _special(x)
    if special is not None:
        return special
    from .i18n import t

    return t("fmt.pp", v=_fixed(float(x) * 100, digits))


def fmt_num(x: Any, digits: int = 2) -> str:
    """Format a number with thousands separators and a fixed number of decimals.

    Parameters
    ----------
    x : float or None
        Any real number.
    digits : int, default 2
        Decimals shown.

    Returns
    -------
    str
        ``1234.567 -> "1,234.57"``, ``-0.001 -> "0.00"``; ``"–"`` for a missing value.
    """
    special = _special(x)
    if special is not None:
        return special
    return _fixed(float(x), digits)


#: the currency signs and codes the kit tells apart (after NFKC, any case, anywhere in the value), by currency, in the
#: order a value is told by (:func:`currency_code`, :func:`helpers.values.currency_sql`); ``¢`` is a cent. The
#: cleaning strips them all from numbers (helpers/values.py)
CURRENCIES = (
    ("CNY", "rmb|cny|元|¥"),
    ("HKD", "hk\\$|hkd"),  # before USD: "HK$12" is 12 Hong Kong dollars, not "HK" and 12 dollars
    ("TWD", "nt\\$|twd"),
    ("USD", "us\\$|usd|\\$"),
    ("EUR", "eur|€"),
    ("GBP", "£"),
    ("¢", "¢"),
)


def currency_code(sign: str) -> str | None:
    """The currency of :data:`CURRENCIES` that ``sign`` names (``"¥"``, ``"RMB"`` and ``"￥"`` are CNY, ``"US$"`` is
    USD), None for a sign the kit does not tell apart (``"₹"``): the rules :func:`helpers.values.currency_sql` tells
    the data's values by, so that a campaign's ``currency`` and its amounts' signs compare."""
    import re
    import unicodedata

    text = unicodedata.normalize("NFKC", sign)
    return next((code for code, pat in CURRENCIES if re.search(pat, text, re.IGNORECASE)), None)


def fmt_money(x: Any, currency: str = "¥", digits: int = 2) -> str:
    """Format an amount of money with its currency symbol.

    Parameters
    ----------
    x : float or None
        The amount.
    currency : str, default "¥"
        Symbol put before the number (``"£"``, ``"$"``, ``"€"``…).
    digits : int, default 2
        Decimals shown.

    Returns
    -------
    str
        ``1234.5 -> "¥1,234.50"``; negatives put the sign before the symbol, ``-3 -> "-¥3.00"``; ``"–"`` for
        a missing value.
    """
    special = _special(x)
    if special is not None:
        return special if special == MISSING else special.replace("∞", f"{currency}∞")
    text = _fixed(float(x), digits)
    if text.startswith("-"):
        return f"-{currency}{text[1:]}"
    return f"{currency}{text}"


def fmt_duration_hours(h: Any) -> str:
    """Format a duration given in hours in the unit a reader grasps at once.

    Parameters
    ----------
    h : float or None
        Duration in hours.

    Returns
    -------
    str
        Under an hour in minutes (``0.5 -> "30 min"``), under two days in hours (``3.5 -> "3.5 h"``), else
        in days (``50.4 -> "2.1 d"``), the unit in the current language (``"30 分钟"``, ``"3.5 小时"``,
        ``"2.1 天"`` in Chinese); ``"–"`` for a missing value, ``"∞"`` for infinity.
    """
    special = _special(h)
    if special is not None:
        return special
    from .i18n import t

    v = float(h)
    if round(abs(v) * 60) < 60:
        return t("duration.minutes", n=_fixed(v * 60, 0))
    if abs(v) < 48:
        return t("duration.hours", n=_fixed(v, 1))
    return t("duration.days", n=_fixed(v / 24, 1))


def fmt_range(lo: Any, hi: Any, fmt: Callable[[Any], str] | None = None) -> str:
    """Format an interval (a confidence interval, a range) in the current language: ``"a to b"`` in English,
    ``"a 至 b"`` in Chinese, never ``"−23.9%–−13.5%"`` where a minus sign and the dash run together.

    Parameters
    ----------
    lo, hi : the bounds (numbers, or text already formatted).
    fmt : callable, optional
        Formats each bound (``fmt_pct``, ``fmt_money``…; default :func:`fmt_num`); bounds that are already
        text are used as given.

    Returns
    -------
    str
        ``fmt_range(-0.239, -0.135, fmt_pct) -> "-23.9% to -13.5%"`` (en), ``"-23.9% 至 -13.5%"`` (zh);
        bounds with a Chinese unit join the separator: ``"13.4 个百分点至 30.2 个百分点"``.
    """
    from .i18n import has_han, t

    def one(x: Any) -> str:
        return x if isinstance(x, str) else (fmt or fmt_num)(x)

    a, b = one(lo), one(hi)
    sep = t("range", lo="", hi="")  # " 至 " / " to "
    # no space between Chinese characters: "13.4 个百分点至 30.2 个百分点", not "13.4 个百分点 至 30.2 个百分点"
    if has_han(a[-1:]):
        sep = sep.lstrip()
    if has_han(b[:1]):
        sep = sep.rstrip()
    return a + sep + b


def column_kind(name: str, s: pd.Series) -> str:
    """How a column's values are shown, from its dtype, name and values: ``int`` (also floats that are all whole,
    e.g. ``age 37.0``), ``pct`` (a share named like a rate, all within ±1), ``p`` (p-values: ``p_value``,
    ``holm_p``..., as :func:`fmt_p_value` writes them), ``money`` (named like revenue, price, spend...), ``float``,
    ``bool``, ``date`` or ``text``. Used by :func:`style_table` for the columns it is not
    told about and by the page's table renderer (helpers/page.py)."""
    n = str(name).lower()
    if pd.api.types.is_bool_dtype(s):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "date"
    if pd.api.types.is_integer_dtype(s):
        return "int"
    if pd.api.types.is_float_dtype(s):
        v = s.dropna()
        if _is_p_value(n) and (not len(v) or v.between(0, 1).all()):
            return "p"
        money = ("revenue", "amount", "price", "monetary", "spend", "sales", "gmv", "aov", "clv", "money", "value")
        rate = ("rate", "share", "pct", "percent", "retention", "conv", "prob", "p_alive", "fraction", "ratio_of")
        if len(v) and any(w in n for w in rate) and v.abs().max() <= 1.0 and not n.startswith(("p_value", "pvalue")):
            return "pct"
        if any(w in n for w in money):
            return "money"
        if len(v) and (v == v.round()).all() and v.abs().max() < 1e15:
            return "int"
        return "float"
    if s.dtype == object:
        v = s.dropna()
        if len(v) and all(isinstance(x, bool) for x in v):
            return "bool"
    return "text"


def float_digits(values: Any) -> int:
    """Decimals of a ``float`` column (:func:`column_kind`), the same for every row: 2, or 1 when any value is
    1,000 or more (``1,133.0`` above ``929.4``, not ``929.43``)."""
    v = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").astype(float).abs()
    v = v[v.notna() & (v != math.inf)]
    return 1 if len(v) and v.max() >= 1000 else 2


def format_cell(value: Any, kind: str, digits: int | None = None) -> str:
    """One value as text for its column's :func:`column_kind`: separators, %, 2 decimals for money, yes/no in
    the current language, ``"–"`` for missing; small floats keep two significant digits. ``digits``: a ``float``
    column's decimals (:func:`float_digits` of the column); without it, the value's own (2, or 1 from 1,000)."""
    if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
        return MISSING
    if kind == "bool" and isinstance(value, (bool, int)):
        from .i18n import t

        return t("page.yes") if bool(value) else t("page.no")
    if kind == "int":
        return fmt_int(value)
    if kind == "pct":
        return fmt_pct(value)
    if kind == "p":
        return fmt_p_value(value)
    if kind == "money":
        return fmt_num(value, 2)
    if kind == "float":
        v = float(value)
        if v != 0 and abs(v) < 0.001:
            return f"{v:.2g}"
        return fmt_num(v, digits if digits is not None else float_digits([v]))
    if kind == "date" and isinstance(value, (pd.Timestamp, _dt.datetime)):
        ts = pd.Timestamp(value)
        return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.strftime("%Y-%m-%d %H:%M")
    return str(value)


def runs_text(items: Iterable[Any], sep: str = " → ") -> str:
    """A sequence as pages show a path: the items joined by ``sep``, a run of one item as ``item ×n``
    (``view, view, view, cart`` reads ``view ×3 → cart``). Results files keep every step."""
    from itertools import groupby

    return sep.join(f"{x} ×{n}" if (n := sum(1 for _ in run)) > 1 else str(x) for x, run in groupby(items))


def md_escape(text: Any) -> str:
    """Text for a Markdown cell of a report page, with no markup from data.

    This is the one function every text that may hold data values goes through before it is displayed as
    Markdown (key findings, headers, notes, reasons). It HTML-escapes ``&``, ``<`` and ``>`` (no tag, comment,
    ``<script>``, ``<img onerror>`` or autolink survives) and backslash-escapes ``[`` and ``]`` (no Markdown
    link or image, e.g. ``[x](javascript:...)``). The kit's own ``**bold**`` and ``code`` markers stay
    Markdown.
    """
    out = html.escape("" if text is None else str(text), quote=False)
    return out.replace("[", "\\[").replace("]", "\\]")


def style_table(
    df: pd.DataFrame,
    *,
    pct_cols: Iterable[str] = (),
    int_cols: Iterable[str] = (),
    money_cols: Iterable[str] = (),
    num_cols: Iterable[str] = (),
    count_cols: Iterable[str] = (),
    chance_cols: Iterable[str] = (),
    num_digits: int = 2,
    currency: str = "¥",
    hide_index: bool = True,
    caption: str | None = None,
    headers: dict[str, str] | None = None,
    max_rows: int | None = None,
):
    """Style a table for a report: per-column number formats, escaped text, optionally no index.

    Parameters
    ----------
    df : pandas.DataFrame
        The table; it is not modified.
    pct_cols, int_cols, money_cols, num_cols : iterable of str
        Columns formatted with :func:`fmt_pct`, :func:`fmt_int`, :func:`fmt_money` and :func:`fmt_num`.
        Names not in ``df`` are ignored (callers pass one list for tables that may be truncated); columns
        not named are formatted by their kind (:func:`column_kind`, :func:`format_cell`).
    count_cols : iterable of str
        Counts that may be fractional (conversions credited in shares of a touch): a column whose values are all
        whole shows as integers (``87``, not ``87.00``), any other with ``num_digits`` decimals.
    chance_cols : iterable of str
        A model's probabilities (an experiment's chance to beat control): :func:`fmt_chance`, never "100.0%".
    num_digits : int, default 2
        Decimals of ``num_cols`` and fractional ``count_cols`` (3 for scores that the findings quote to three
        decimals: ROC AUC, F1).
    currency : str, default "¥"
        Symbol for ``money_cols``.
    hide_index : bool, default True
        Hide the index (row numbers mean nothing to a report reader).
    caption : str, optional
        Caption shown above the table.
    headers : dict, optional
        Headers for some columns, in place of the catalogue's ``col.<column>`` label (a column whose meaning
        depends on the report, e.g. an experiment's ``segment`` column holding channels: "渠道"). The columns
        keep their names, so the page still finds the table's CSV.
    max_rows : int, optional
        Show at most this many rows (the first). The Styler holds those rows and remembers the whole ``df``
        (``ubk_full``): the page (:func:`helpers.page.render_styler`) says "显示前 50 行，共 220 行" under the table,
        as under :func:`helpers.page.render_table`'s, and :func:`helpers.page.table_csv` still finds the table's
        CSV. Cut a table here, not with ``df.head(n)`` before styling it (the page would then show neither).

    Returns
    -------
    pandas.io.formats.style.Styler
        Display it in a notebook or call ``.to_html()``. Every cell's text is HTML-escaped (review texts and
        raw quarantined rows may contain markup); missing values show as ``"–"``.
    """
    full = None
    if max_rows is not None and len(df) > max_rows:
        full, df = df, df.head(max_rows)
    fmts: dict[str, Callable[[Any], str]] = {}
    for cols, f in (
        (pct_cols, fmt_pct),
        (chance_cols, fmt_chance),
        (int_cols, fmt_int),
        (money_cols, lambda x: fmt_money(x, currency)),
        (num_cols, functools.partial(fmt_num, digits=num_digits)),
    ):
        for c in cols:
            if c in df.columns:
                fmts[c] = f
    for c in count_cols:
        if c in df.columns:
            whole = row_formats("", df[c])[0] is fmt_int
            fmts[c] = fmt_int if whole else functools.partial(fmt_num, digits=num_digits)
    for c in df.columns:  # columns not named: formatted by their kind (no "37.000000", no "True")
        if c not in fmts:
            kind = column_kind(str(c), df[c])
            fmts[c] = functools.partial(format_cell, kind=kind, digits=float_digits(df[c]) if kind == "float" else None)
    # escape="html" escapes every text cell, formatted or not (review texts, raw quarantined rows); what a format
    # makes of a number is escaped here ("< 0.001")
    fmts = {c: _escaped(f) for c, f in fmts.items()}
    st = df.style.format(fmts, na_rep=MISSING, escape="html")
    if hide_index:
        st = st.hide(axis="index")
    if caption:
        st = st.set_caption(caption)
    if headers:
        own = dict(headers)
        # a callable's input is escaped, its output is not: escape the report's own header here
        st = st.format_index(lambda c: html.escape(own[c]) if c in own else c, axis="columns", escape="html")
        st.ubk_headers = own  # read by helpers.page.render_styler, which labels the other columns
    if full is not None:
        st.ubk_full = full  # read by helpers.page.render_styler (the "N of M rows" note) and table_csv
    return st


def _escaped(f: Callable[[Any], str]) -> Callable[[Any], str]:
    """``f`` with its text HTML-escaped for a value that is not text (pandas' ``escape="html"`` escapes text values
    only, before and after the format)."""

    def g(v: Any) -> str:
        return f(v) if isinstance(v, str) else html.escape(f(v))

    return g


def format_rows(
    st: Any,
    kinds: Iterable[str],
    *,
    value_cols: Iterable[str],
    change_cols: Iterable[str] = (),
    estimate_cols: Iterable[str] = (),
    currency: str = "¥",
) -> Any:
    """Number formats per row on a :func:`style_table` Styler of a table whose rows hold different kinds of number
    (a metrics table: a count in one row, a share in the next, an amount in the third).

    ``kinds`` gives each row's kind, in the order of the rows: ``"rate"`` shows the row's ``value_cols`` as
    percentages (:func:`fmt_pct`) and its ``change_cols`` in percentage points (:func:`fmt_pp`); ``"money"`` shows
    both as amounts in ``currency`` (:func:`fmt_money`); any other kind shows both as whole numbers when every value
    of the row in them is whole (a count: ``217``, not ``217.00``), else with two decimals. Columns not in the table
    are ignored; the values stay numbers (right-aligned).

    ``estimate_cols`` hold a model's estimates of the row's values (an expected value and its band): they read as
    :func:`estimate_format` gives, and they do not decide the format of ``value_cols`` (an observed count of 3
    against an expected 28.9 reads ``3`` and ``28.9``, not ``3.00`` and ``28.90``)."""
    data = st.data
    vcols = [c for c in value_cols if c in data.columns]
    ccols = [c for c in change_cols if c in data.columns]
    ecols = [c for c in estimate_cols if c in data.columns]
    groups: dict[tuple, list[Any]] = {}
    for idx, kind in zip(data.index, kinds, strict=True):
        fv, fc = row_formats(kind, data.loc[idx, vcols + ccols], currency=currency)
        fe = estimate_format(kind, data.loc[idx, vcols], currency=currency) if ecols else fv
        groups.setdefault((fv, fc, fe), []).append(idx)
    for (fv, fc, fe), rows in groups.items():
        if vcols:
            st = st.format(fv, subset=pd.IndexSlice[rows, vcols])
        if ccols:
            st = st.format(fc, subset=pd.IndexSlice[rows, ccols])
        if ecols:
            st = st.format(fe, subset=pd.IndexSlice[rows, ecols])
    return st


def estimate_format(kind: str, observed: Iterable[Any], *, currency: str = "¥") -> Callable[[Any], str]:
    """How a model's estimate of a row's ``observed`` values reads (an anomaly's expected value and band): as the
    observed values do (:func:`row_formats`), except that where those are whole numbers (a count) the estimate,
    rarely whole, gets one decimal (``28.9``), so the count itself can stay whole (``3``)."""
    fv = row_formats(kind, observed, currency=currency)[0]
    return fmt_num1 if fv is fmt_int else fv


def fmt_num1(x: Any) -> str:
    """:func:`fmt_num` with one decimal (``28.9``): an estimate of a count."""
    return fmt_num(x, 1)


def row_formats(kind: str, values: Iterable[Any], *, currency: str = "¥") -> tuple[Any, Any]:
    """``(value format, change format)`` of one row of a metrics table (:func:`format_rows`), also for a sentence
    that quotes the row's numbers: a ``"rate"`` as percentages and its changes in percentage points; ``"money"``
    as amounts with two decimals (``¥105,094.80``, a change ``-¥105,656.20``); any other kind as whole numbers when
    every one of ``values`` is whole (``217``, not ``217.00``), else all with two decimals (``105,094.80`` against
    ``210,751.00``, not ``210,751``)."""
    if kind == "rate":
        return fmt_pct, fmt_pp
    if kind == "money":
        money = money_format(currency)
        return money, money
    vals = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce").astype(float)
    vals = vals[vals.notna() & ~vals.isin([math.inf, -math.inf])]
    return (fmt_int, fmt_int) if (vals == vals.round()).all() else (fmt_num, fmt_num)


@functools.cache
def money_format(currency: str) -> Callable[[Any], str]:
    """:func:`fmt_money` in ``currency``: one function per sign, so rows in the same currency share a format."""
    return functools.partial(fmt_money, currency=currency)


def named_metrics(frame: pd.DataFrame, names: Any, codes: dict[str, str] | None = None) -> pd.DataFrame:
    """A metrics table as a page shows it (its results file keeps the codes): each metric by its name under the
    ``metric`` header, and code columns in words.

    Parameters
    ----------
    frame : DataFrame
        With a ``label`` column (the metric's name, from the report's own table), that column takes the place of
        ``metric``; otherwise ``metric`` codes are looked up in ``names``.
    names : mapping
        Metric code -> display name; a code it lacks stays as it is.
    codes : dict, optional
        Column -> message-key prefix, e.g. ``{"kind": "trends.kind", "test": "test"}``: each value ``v`` of the
        column becomes the message ``<prefix>.<v>`` in the current language (the value itself where the catalogue
        has none); an empty or missing value becomes ``""``. Columns not in the frame are ignored.
    """
    from .i18n import label, sentence_start

    out = frame
    if "label" in out:
        out = out.drop(columns="metric", errors="ignore").rename(columns={"label": "metric"})
    elif "metric" in out:
        out = out.assign(metric=out["metric"].map(lambda m: names.get(m, m)))
    # a row's name opens it: "Active users" in English (mid-sentence the catalogue's "active users")
    if "metric" in out:
        out = out.assign(metric=out["metric"].map(lambda m: sentence_start(m) if isinstance(m, str) else m))
    for col, prefix in (codes or {}).items():
        if col in out:
            words = {
                v: sentence_start(label(f"{prefix}.{v}", str(v)))
                for v in out[col].unique()
                if not _missing(v) and v != ""
            }
            out = out.assign(**{col: out[col].map(lambda v, w=words: w.get(v, ""))})
    return out
