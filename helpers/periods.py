"""Relative analysis periods for scheduled runs, resolved to absolute dates when the params are loaded.

A campaign's ``period`` is either absolute (``{start: 2024-03-01, end: 2024-04-29}``) or relative:

- ``{last: 28d}`` (also ``7d``, ``4w``, ``3m``): the last 28 days up to and including ``until``;
- ``{last_full: week}`` or ``{last_full: month}``: the last complete Monday–Sunday week or calendar month that
  ends on or before ``until``.

``until`` is ``yesterday`` (the default), ``today`` or a date ``YYYY-MM-DD``. "Today" is the date in the
campaign's time zone when the params are loaded; the environment variable ``UBAKIT_TODAY`` (``YYYY-MM-DD``)
fixes it, which the batch runner sets so that every notebook of one run resolves the same dates.
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
import re
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "LAST_PATTERN",
    "TODAY_ENV",
    "describe_period",
    "period_words",
    "resolve_period",
    "today_in",
    "cut_note",
    "window_notes",
    "data_end",
    "PartialCut",
    "partial_day",
    "partial_why",
    "stop_day",
    "window_days",
    "window_note",
    "windows",
]

#: ``last:`` values: a positive count and a unit, d(ays), w(eeks) or m(onths)
LAST_PATTERN = re.compile(r"^\s*(\d+)\s*([dwm])\s*$")
#: environment variable that fixes "today" (``YYYY-MM-DD``) for every notebook of a run
TODAY_ENV = "UBAKIT_TODAY"


def today_in(timezone: str | None) -> dt.date:
    """Today's date in ``timezone`` (an IANA name; UTC when missing or unknown), or the date of ``UBAKIT_TODAY``."""
    fixed = os.environ.get(TODAY_ENV, "").strip()
    if fixed:
        try:
            return dt.date.fromisoformat(fixed)
        except ValueError:
            raise ValueError(f"environment variable {TODAY_ENV}={fixed!r} is not a date YYYY-MM-DD") from None
    try:
        tz = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    return dt.datetime.now(tz).date()


def _add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _until(until: str | dt.date | None, today: dt.date) -> dt.date:
    if until is None or until == "yesterday":
        return today - dt.timedelta(days=1)
    if until == "today":
        return today
    if isinstance(until, dt.date):
        return until
    try:
        return dt.date.fromisoformat(str(until).strip())
    except ValueError:
        raise ValueError(f"until must be 'yesterday', 'today' or a date YYYY-MM-DD, got {until!r}") from None


def resolve_period(
    *, last: str | None = None, last_full: str | None = None, until: str | dt.date | None = None, today: dt.date
) -> tuple[dt.date, dt.date]:
    """The inclusive ``(start, end)`` dates of a relative period; exactly one of ``last``/``last_full``.

    ``last="28d"`` ends on ``until`` and has 28 days; ``"4w"`` 28 days; ``"3m"`` starts the day after the same
    day three calendar months before ``until``. ``last_full="week"`` is the Monday–Sunday week ending on or
    before ``until``; ``"month"`` the calendar month ending on or before ``until``. Raises ``ValueError`` with
    the accepted forms.
    """
    if (last is None) == (last_full is None):
        raise ValueError("give one of last (e.g. 28d, 4w, 3m) or last_full (week or month)")
    end = _until(until, today)
    if last is not None:
        m = LAST_PATTERN.match(str(last))
        if not m or int(m.group(1)) < 1:
            raise ValueError(f"last must be a count and a unit d, w or m, such as 7d, 28d, 4w or 3m; got {last!r}")
        n, unit = int(m.group(1)), m.group(2)
        if unit == "m":
            return _add_months(end, -n) + dt.timedelta(days=1), end
        days = n * 7 if unit == "w" else n
        return end - dt.timedelta(days=days - 1), end
    if last_full == "week":
        sunday = end - dt.timedelta(days=(end.weekday() + 1) % 7)  # the Sunday on or before `until`
        return sunday - dt.timedelta(days=6), sunday
    if last_full == "month":
        if end.day == calendar.monthrange(end.year, end.month)[1]:
            return end.replace(day=1), end
        last_day = end.replace(day=1) - dt.timedelta(days=1)
        return last_day.replace(day=1), last_day
    raise ValueError(f"last_full must be 'week' or 'month', got {last_full!r}")


def describe_period(last: str | None, last_full: str | None, until: str | dt.date | None) -> str | None:
    """The relative spec in words as written (``"last 28d until yesterday"``), or None for an absolute period."""
    if last is None and last_full is None:
        return None
    what = f"last {last}" if last is not None else f"last full {last_full}"
    return f"{what} until {until or 'yesterday'}"


_SPEC = re.compile(r"^last (?:full (?P<full>week|month)|(?P<n>\d+)(?P<unit>[dwm])) until (?P<until>\S+)$")


def period_words(spec: str) -> str:
    """``spec`` (as :func:`describe_period` writes it) in the current language for a page, e.g. "最近 28 天，截至昨天"
    or "last 28 days until yesterday"; a spec in another form is returned unchanged."""
    from .i18n import t

    m = _SPEC.match(spec)
    if not m:
        return spec
    until = m["until"]
    until_text = t("period.yesterday") if until == "yesterday" else until
    if m["full"]:
        what = t("period.last_full", unit=t(f"period.unit_full.{m['full']}"))
    else:
        what = t("period.last_n", n=int(m["n"]), unit=t(f"period.unit.{m['unit']}"))
    return t("period.spec", what=what, until=until_text)


# ------------------------------------------------------------------------------------------------ compare windows
def window_days(start, end, compare_days: int | None) -> int | None:
    """The days of the current window (trends, product movers): the period's last ``compare_days`` days, but at most
    half the period, so that the previous window of equal length lies inside the period too (ingest keeps only the
    period's rows: a previous window reaching before it would compare a whole window with a part of one, and show a
    rise that is not there). At least one day. None (``compare_days: null``): the whole period."""
    if not compare_days:
        return None
    days = (dt.date.fromisoformat(str(end)[:10]) - dt.date.fromisoformat(str(start)[:10])).days + 1
    return max(1, min(int(compare_days), days // 2))


def windows(start, end, *, compare_days: int | None) -> dict:
    """``{"current": (start, end_exclusive), "previous": (...)}`` as pandas Timestamps from the period's inclusive
    dates: the current window of :func:`window_days`, the previous one the equal span just before it."""
    import pandas as pd

    s, e = pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=1)
    days = window_days(start, end, compare_days)
    if days is not None:
        s = e - pd.Timedelta(days=days)
    length = e - s
    return {"current": (s, e), "previous": (s - length, s)}


def window_note(start, end, compare_days: int | None, key: str, *, data_ended: bool = False) -> str:
    """Why the windows are not what ``key`` (``trends.compare_days``) asked, in the campaign's language, or "":
    shortened to half the period, or a previous window before the period (a one-day period, or ``null``), which
    the clean data does not hold. ``data_ended``: ``end`` is the data's last day (:func:`data_end`), not the
    period's."""
    from .i18n import t

    days = (dt.date.fromisoformat(str(end)[:10]) - dt.date.fromisoformat(str(start)[:10])).days + 1
    used = window_days(start, end, compare_days)
    if used is None or days < 2:
        # one day of data in a longer period is said of the data, not of the period
        one = "period.window_one_day_data" if data_ended else "period.window_one_day"
        hint = t("period.window_hint", key=key, half=days // 2) if days >= 2 else t(one)
        return t("period.window_before", hint=hint)
    if compare_days and used < compare_days:
        span = t("period.span_one_day") if used == 1 else t("period.span_days", n=used)
        which = "period.window_shortened_data" if data_ended else "period.window_shortened"
        return t(which, days=days, asked=compare_days, key=key, span=span)
    return ""


class PartialCut(NamedTuple):
    """The cut of :func:`data_end` when the data's last day, ``day``, is only partly loaded (:func:`partial_day`):
    observation ends on ``last``, the day before it, though the period runs to ``end``. ``at``: the day's last event
    (HH:MM); ``usual``: the earliest last-event time of the ``days`` days before it ("" when the day is today)."""

    last: dt.date
    end: dt.date
    day: dt.date
    at: str
    usual: str
    days: int


#: a last day is partly loaded when its last event is this many seconds earlier than every recent day's last event
PARTIAL_MARGIN_S = 3600
#: ... and at least this many of the 7 days before it have data (fewer days say too little about when days end)
PARTIAL_MIN_DAYS = 3


def partial_day(last_ts, day_ends, today: dt.date | None) -> tuple[str, str, int] | None:
    """Whether the data's last day (that of ``last_ts``) is only partly loaded: ``(at, usual, days)``, else None.

    It is when that day is ``today`` (the day is not over: ``usual`` ""), or when its last event comes more than
    :data:`PARTIAL_MARGIN_S` earlier in the day than the last event of every one of ``day_ends`` (the last times of
    the days before it with data, up to 7, at least :data:`PARTIAL_MIN_DAYS`): a feed loaded up to 06:00 whose days
    otherwise run to 23:59. A quiet evening on a small log ends near its other days and is not flagged."""
    import pandas as pd

    if last_ts is None or str(last_ts) in ("NaT", "nan", "None"):
        return None
    last = pd.Timestamp(last_ts)
    at = f"{last:%H:%M}"
    if today is not None and last.date() == today:
        return at, "", 0
    ends = [pd.Timestamp(x) for x in day_ends if x is not None and str(x) not in ("NaT", "nan", "None")]
    ends = [x for x in ends if last.normalize() - pd.Timedelta(days=7) <= x.normalize() < last.normalize()]
    if len(ends) < PARTIAL_MIN_DAYS:
        return None
    of_day = lambda x: (x - x.normalize()).total_seconds()  # noqa: E731
    usual = min(ends, key=of_day)
    if of_day(last) < of_day(usual) - PARTIAL_MARGIN_S:
        return at, f"{usual:%H:%M}", len(ends)
    return None


def data_end(period_end, last_ts, *, day_ends=(), today: dt.date | None = None, period_start=None):
    """The last day the windows that must be fully observed may cover, and the cut that says why it is not the
    period's end (None when it is): ``(day, cut)``.

    - The period's end, when the data reaches it (or there is none).
    - The data's last day (``last_ts``, the clean table's latest time) when the data ends before the period (a
      period set past the data, a feed that stopped): windows after the data would compare nothing with
      something. The cut is ``(last day, period end)``.
    - The day before the data's last day when that day is only partly loaded (:func:`partial_day` of ``day_ends``,
      the last times of the days before it, and ``today``), unless that leaves no day of the period (before
      ``period_start``): a half-loaded day would read as a fall. The cut is a :class:`PartialCut`.

    :func:`cut_note` words the cut."""
    end = dt.date.fromisoformat(str(period_end)[:10])
    if last_ts is None or str(last_ts) in ("NaT", "nan", "None"):
        return end, None
    last = dt.date.fromisoformat(str(last_ts)[:10])
    if last > end:
        return end, None
    part = partial_day(last_ts, day_ends, today)
    before = last - dt.timedelta(days=1)
    if part and (period_start is None or before >= dt.date.fromisoformat(str(period_start)[:10])):
        return before, PartialCut(before, end, last, *part)
    return (end, None) if last == end else (last, (last, end))


def stop_day(cut: tuple | None) -> dt.date | None:
    """The data's last day with rows when the data stops before the period's end (:func:`data_end`'s cut, a
    partly loaded last day included), else None: a feed that stopped, as data quality scores it."""
    if not cut:
        return None
    day = cut.day if isinstance(cut, PartialCut) else cut[0]
    return day if day < cut[1] else None


def partial_why(cut: PartialCut) -> str:
    """Why ``cut.day`` looks partly loaded, in the current language (a clause for the notes)."""
    from .i18n import t

    if not cut.usual:
        return t("period.partial_today")
    return t("period.partial_early", at=cut.at, usual=cut.usual, n=cut.days)


def cut_note(cut: tuple | None) -> str:
    """The note that observation ends before the period's end (:func:`data_end`'s cut), in the current language;
    "" for None. Reports keep the cut and word it when asked, so one computation reads in either language."""
    from .i18n import t

    if isinstance(cut, PartialCut):
        which = "period.partial_day" if cut.day >= cut.end else "period.partial_day_early"
        return t(which, day=cut.day, last=cut.last, end=cut.end, why=partial_why(cut))
    return t("period.data_ends", last=cut[0], end=cut[1]) if cut else ""


def window_notes(cut: tuple | None, window_args: tuple) -> list[str]:
    """The notes beside a report's compare windows, worded now (trends, product movers): that the data ends before
    the period (:func:`cut_note`), then why the windows are shorter than asked or have no previous window in the
    period (:func:`window_note` of ``window_args``; none when ``()``)."""
    ended = window_note(*window_args, data_ended=cut is not None) if window_args else ""
    return [n for n in (cut_note(cut), ended) if n]
