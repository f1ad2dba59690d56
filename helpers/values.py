"""Typed values from source text, as DuckDB SQL: timestamps (formats, offsets, time zones -> campaign-local
naive time; typed TIMESTAMP / TIMESTAMPTZ source columns directly), numbers (decimal comma, full-width digits,
currency signs, accounting negatives, finite only), placeholder nulls, generated order ids, and the campaign's
extra rules. Used by :mod:`helpers.ingest`; docs/cleaning.md has every rule.
"""

from __future__ import annotations

import gzip

from .fmt import CURRENCIES
from .params import Rule
from .sources import _ident, _list_lit, _lit
from .spelling import LOOSE_CUTOFF, did_you_mean

__all__ = [
    "ts_sql",
    "typed_ts_sql",
    "num_sql",
    "currency_sql",
    "nfkc_sql",
    "CURRENCIES",
    "nulls_sql",
    "guess_decimal",
    "row_order_id_sql",
    "instant_order_id_sql",
    "MAX_ABS_NUMBER",
]

#: largest magnitude a clean number may have: 2**53, the end of a double's exact integers. Anything larger
#: (``1e308``), or not finite (``inf``, ``NaN``, ``1e309`` overflowing to inf), is ``bad_number``: summed, such
#: values make totals (RFM monetary, spend) infinite or meaningless.
MAX_ABS_NUMBER = float(2**53)

# NFKC for the characters numbers and times are written with: full-width ASCII (U+FF01..U+FF5E, e.g.
# '１２.５', '－', '（５）'), ideographic / no-break / thin spaces, full-width currency signs
_FW_FROM = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000\u00a0\u202f\u2009\uffe5\uffe1\uffe0"
_FW_TO = "".join(chr(c) for c in range(0x21, 0x7F)) + "    ¥£¢"

# one pattern of the currency signs and codes (helpers.fmt.CURRENCIES), which num_sql removes from numbers; a
# cent's number is read as a whole unit
_CURRENCY = f"(?i)({'|'.join(pat for _, pat in CURRENCIES)})"


def nfkc_sql(expr: str) -> str:
    """SQL of the text ``expr`` with the characters numbers are written with made ASCII (NFKC for them: full-width
    digits, signs and letters, ideographic and no-break spaces, full-width currency signs)."""
    return f"translate({expr}, {_lit(_FW_FROM)}, {_lit(_FW_TO)})"


def currency_sql(expr: str) -> str:
    """SQL giving the currency (:data:`CURRENCIES`: ``CNY``, ``USD``, ``EUR``, ``GBP`` or ``¢``) whose sign or code the
    text ``expr`` carries, NULL for none: ``¥12`` and ``12元`` are CNY, ``$3`` and ``3 USD`` USD, ``12`` none.
    ``expr`` is made ASCII first (:func:`nfkc_sql`), so that full-width signs count (``￥12``): pass a column, not a
    long expression, which each branch would repeat. Runs on both engines (Spark after transpiling)."""
    cases = " ".join(f"WHEN regexp_matches({expr}, {_lit('(?i)' + pat)}) THEN {_lit(code)}" for code, pat in CURRENCIES)
    return f"(CASE {cases} END)"


# naive text forms (``ts_format: auto``), tried in order; a format matches only the whole value, so no form
# swallows a longer one ('%Y-%m-%d %H' never reads '2024-03-01 10:00'). Spark ingest tries the same list
# (helpers.ingest_spark rewrites the ``try_strptime`` of :func:`ts_sql`).
_DASH_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H",
    "%Y-%m-%d",
)
_NAIVE_FORMATS = (
    *_DASH_FORMATS,
    *(f.replace("-", "/") for f in _DASH_FORMATS),  # every dash form with '/' too (docs/cleaning.md)
    "%Y%m%d %H:%M:%S",
    "%Y%m%d%H%M%S",
    "%Y%m%d",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日",
)
_TZ_FORMATS = (
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S.%f%z",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S.%f%z",
    "%Y-%m-%d %H:%M%z",
    "%Y-%m-%dT%H:%M%z",
)


# ------------------------------------------------------------------------------------------- parsing
def ts_sql(expr: str, *, fmt: str = "auto", source_tz: str, campaign_tz: str) -> str:
    """SQL turning text ``expr`` into a naive campaign-local TIMESTAMP (NULL when unparseable).

    ``fmt``: ``auto`` (epoch seconds / milliseconds by digit count, else the common formats, with or
    without a UTC offset), ``epoch_s``, ``epoch_ms``, or one strptime format.
    """

    def naive(x: str) -> str:
        if source_tz == campaign_tz:
            return x
        return f"timezone({_lit(campaign_tz)}, timezone({_lit(source_tz)}, {x}))"

    def aware(x: str) -> str:
        return f"timezone({_lit(campaign_tz)}, {x})"

    def epoch(x: str, div: int) -> str:
        return aware(f"to_timestamp(TRY_CAST({x} AS DOUBLE) / {div})")

    s = f"TRIM({expr})"
    # '... UTC' / trailing 'Z' -> explicit offset; a space before the offset goes; '+08' (PostgreSQL / Hologres
    # timestamptz text) -> '+08:00'. An offset needs a time before it, so '2024-03-01' is never read as '-01'.
    s_off = f"regexp_replace(regexp_replace({s}, '\\s*UTC$', '+00:00'), 'Z$', '+00:00')"
    s_off = f"regexp_replace({s_off}, '(:\\d\\d(?:\\.\\d+)?)\\s+([+-]\\d\\d(?::?\\d\\d)?)$', '\\1\\2')"
    s_off = f"regexp_replace({s_off}, '(:\\d\\d(?:\\.\\d+)?[+-]\\d\\d)$', '\\1:00')"
    if fmt == "epoch_s":
        return epoch(s, 1)
    if fmt == "epoch_ms":
        return epoch(s, 1000)
    if fmt != "auto":
        if "%z" in fmt or "%Z" in fmt:
            return aware(f"try_strptime({s_off}, {_lit(fmt)})")
        return naive(f"try_strptime({s}, {_lit(fmt)})")
    return (
        "CASE "
        f"WHEN regexp_full_match({s}, '-?\\d{{9,10}}(\\.\\d+)?') THEN {epoch(s, 1)} "
        f"WHEN regexp_full_match({s}, '-?\\d{{12,13}}(\\.\\d+)?') THEN {epoch(s, 1000)} "
        f"WHEN regexp_matches({s_off}, '[+-]\\d\\d:?\\d\\d$') AND NOT regexp_full_match({s}, '\\d{{4}}-\\d\\d-\\d\\d') "
        f"THEN {aware(f'try_strptime({s_off}, {_list_lit(_TZ_FORMATS)})')} "
        f"ELSE {naive(f'try_strptime({s}, {_list_lit(_NAIVE_FORMATS)})')} END"
    )


def typed_ts_sql(col: str, dtype: str, *, source_tz: str, campaign_tz: str) -> str | None:
    """SQL turning a typed source column (``col``, an SQL expression of DuckDB type ``dtype``) into a naive
    campaign-local TIMESTAMP without going through text, or None when ``dtype`` is not a date/time type.

    ``TIMESTAMP WITH TIME ZONE`` (Parquet ``isAdjustedToUTC``: pandas, Spark and Arrow time-zone-aware
    exports) is an instant: converted to the campaign time zone. ``TIMESTAMP`` (any precision) and ``DATE``
    are wall-clock times in ``source_tz``.
    """
    t = dtype.upper()
    if t.startswith("TIMESTAMP WITH TIME ZONE") or t == "TIMESTAMPTZ":
        return f"timezone({_lit(campaign_tz)}, {col})"
    if t.startswith("TIMESTAMP") or t == "DATE":
        x = f"CAST({col} AS TIMESTAMP)"
        if source_tz == campaign_tz:
            return x
        return f"timezone({_lit(campaign_tz)}, timezone({_lit(source_tz)}, {x}))"
    return None


# ------------------------------------------------------------------------------------------- numbers
def num_sql(expr: str, *, decimal: str = ".") -> str:
    """SQL turning text ``expr`` into a finite DOUBLE, NULL when it is not a number (``bad_number``).

    In order: full-width characters to ASCII (NFKC: ``１２.５`` -> ``12.5``); currency signs and units removed
    (``元 ¥ ￥ $ € £ RMB CNY USD EUR``: ``12元``, ``¥8``, ``RMB 12``); accounting negatives ``(5.00)`` -> ``-5``;
    then with ``decimal="."``: ``1,200.50`` / ``1 200.50`` (thousands grouped by three) or any number DuckDB
    casts (``1e3``); with ``decimal=","``: ``1,5`` and ``1.200,50`` / ``1 200,50``. Anything else, e.g. ``1,5``
    with ``decimal="."`` or ``1.5`` with ``decimal=","``, is NULL rather than a wrong number (never 15 or
    1.2005). Non-finite values (``NaN``, ``inf``, ``1e309``) and magnitudes above :data:`MAX_ABS_NUMBER`
    (``1e308``) are NULL too.
    """
    if decimal not in (".", ","):
        raise ValueError(f"decimal must be '.' or ',', got {decimal!r}")
    s = nfkc_sql(expr)
    s = f"trim(regexp_replace({s}, {_lit(_CURRENCY)}, '', 'g'))"
    s = f"regexp_replace({s}, '^\\(\\s*([^()]*?)\\s*\\)$', '-\\1')"
    if decimal == ".":
        slow = (
            f"CASE WHEN regexp_full_match({s}, '[+-]?\\d{{1,3}}([, ]\\d{{3}})+(\\.\\d*)?') "
            f"THEN TRY_CAST(regexp_replace({s}, '[, ]', '', 'g') AS DOUBLE) "
            f"WHEN contains({s}, ',') THEN NULL ELSE TRY_CAST({s} AS DOUBLE) END"
        )
        # a plain number casts directly (cheap); only the rest goes through the rules above
        v = f"COALESCE(TRY_CAST({expr} AS DOUBLE), {slow})"
    else:
        v = (
            f"CASE WHEN regexp_full_match({s}, '[+-]?(\\d+(,\\d*)?|,\\d+)') "
            f"THEN TRY_CAST(replace({s}, ',', '.') AS DOUBLE) "
            f"WHEN regexp_full_match({s}, '[+-]?\\d{{1,3}}([. ]\\d{{3}})+(,\\d*)?') "
            f"THEN TRY_CAST(replace(regexp_replace({s}, '[. ]', '', 'g'), ',', '.') AS DOUBLE) END"
        )
    return f"(CASE WHEN isfinite(__v) AND abs(__v) <= {MAX_ABS_NUMBER!r} THEN __v END)".replace("__v", f"({v})")


#: the former name (rules ``lt`` / ``gt`` use it)
_num_sql = num_sql


def guess_decimal(con, relation: str, columns: list[str], *, sample_rows: int = 100_000) -> str:
    """``","`` when the values of ``columns`` in ``relation`` look like decimal commas (``1,5``, ``1.200,50``)
    more often than like decimal points (``1.5``, ``1,200.50``), else ``"."``; reads the first
    ``sample_rows`` rows. ``1,500`` (either) counts for neither."""
    if not columns:
        return "."
    vals = ", ".join(_ident(c) for c in columns)
    comma = "[+-]?(\\d+,(\\d{1,2}|\\d{4,})|\\d{1,3}(\\.\\d{3})+,\\d+)"
    dot = "[+-]?(\\d+\\.(\\d{1,2}|\\d{4,})|\\d{1,3}(,\\d{3})+\\.\\d+)"
    row = con.execute(
        f"SELECT count(*) FILTER (WHERE regexp_full_match(v, '{comma}')), "
        f"count(*) FILTER (WHERE regexp_full_match(v, '{dot}')) "
        f"FROM (SELECT unnest([{vals}]) AS v FROM (SELECT * FROM {relation} LIMIT {int(sample_rows)}))"
    ).fetchone()
    return "," if row is not None and row[0] > row[1] else "."


def semicolon_separated(path: str) -> bool:
    """True when the first line of the text file ``path`` (gzip allowed) has more ``;`` than ``,`` and tabs."""
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as fh:
        head = fh.read(1 << 16).split(b"\n", 1)[0].decode("utf-8", errors="replace")
    return head.count(";") > max(head.count(","), head.count("\t"))


# ------------------------------------------------------------------------------------------- missing values
def nulls_sql(expr: str, null_values: list[str]) -> str:
    """``expr`` with the placeholder values (``NULL``, ``\\N``, ``-`` ...; compared after trimming) as NULL."""
    vals = [v.strip() for v in null_values if v.strip()]
    if not vals:
        return expr
    return f"(CASE WHEN {expr} IN ({', '.join(_lit(v) for v in vals)}) THEN NULL ELSE {expr} END)"


def row_order_id_sql(user_expr: str, ts_expr: str, row_expr: str = "__row") -> str:
    """A deterministic order id for order tables without one: ``o_`` + 16 hex digits of
    md5(user id | time text | source row). The same file gives the same ids on every run; each row is its own
    order (rows of one order cannot be told apart without an id)."""
    return (
        f"('o_' || substr(md5(concat_ws('|', COALESCE({user_expr}, ''), COALESCE({ts_expr}, ''), "
        f"CAST({row_expr} AS VARCHAR))), 1, 16))"
    )


def instant_order_id_sql(user_expr: str, ts_expr: str) -> str:
    """The order id of a purchase event without one: ``user id|time`` (the time as DuckDB writes a timestamp), so
    that a user's purchase events at one instant are one order. The rule of the orders table derived from events
    (``derive_from: events``), and the same text as :func:`helpers.features.with_order_ids` gives where RFM and the
    other reports read purchase events directly (tests/test_ingest.py checks the two equal)."""
    return f"(CAST({user_expr} AS VARCHAR) || '|' || CAST({ts_expr} AS VARCHAR))"


def _rule_sql(rule: Rule, colexpr: str) -> str:
    if rule.equals is not None:
        return f"({colexpr} = {_lit(str(rule.equals) if not isinstance(rule.equals, str) else rule.equals)})"
    if rule.in_ is not None:
        return f"({colexpr} IN ({', '.join(_lit(str(v)) for v in rule.in_)}))"
    if rule.starts_with is not None:
        return f"starts_with({colexpr}, {_lit(rule.starts_with)})"
    if rule.regex is not None:
        return f"regexp_matches({colexpr}, {_lit(rule.regex)})"
    if rule.is_null is not None:
        return f"({colexpr} IS {'' if rule.is_null else 'NOT '}NULL)"
    if rule.lt is not None:
        return f"({_num_sql(colexpr)} < {rule.lt!r})"
    return f"({_num_sql(colexpr)} > {rule.gt!r})"


def _closest(name: str, options: list[str]) -> str:
    """The hint after a file's column that is not there: :func:`helpers.spelling.did_you_mean`, loosely."""
    return did_you_mean(name, options, cutoff=LOOSE_CUTOFF)


#: the clean name of a kept extra column (one definition, shared with the params checks)
