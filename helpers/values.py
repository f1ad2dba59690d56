"""Typed values from source text, as DuckDB SQL: timestamps (formats, offsets, time zones -> campaign-local
naive time), numbers, and the campaign's extra rules. Used by :mod:`helpers.ingest`; docs/cleaning.md has
every rule.
"""

from __future__ import annotations

import difflib

from .params import Rule
from .sources import _list_lit, _lit

__all__ = ["ts_sql"]

_NAIVE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
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
    # '... UTC' / trailing 'Z' -> explicit offset
    s_off = f"regexp_replace(regexp_replace({s}, '\\s*UTC$', '+00:00'), 'Z$', '+00:00')"
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


def _num_sql(expr: str) -> str:
    # a plain number casts directly; only the rest ('1,200.00', '¥12') goes through the regex
    return f"COALESCE(TRY_CAST({expr} AS DOUBLE), TRY_CAST(regexp_replace({expr}, '[,\\s¥$€£]', '', 'g') AS DOUBLE))"


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

    c = difflib.get_close_matches(name, options, n=1, cutoff=0.5)
    return f" (did you mean {c[0]!r}?)" if c else ""


#: the clean name of a kept extra column (one definition, shared with the params checks)
