"""Caveats computed from the data, not written by hand: small samples drawn hollow with their interval, headlines
that do not fit the data left out, and contradictions between a label and a model's probability flagged.

- :func:`mark_small`: on a chart, points whose sample is below ``min_n`` (default :data:`SMALL_N`) are redrawn
  hollow and faded with their 95 % interval (given, or Wilson from the rate and ``n``), with one legend entry.
- :func:`day_n_caveat`: a note when day-7 retention is above day-1 (impossible for a steady product; it comes from
  a short or small sample, or a campaign that brought users back), saying whether the intervals overlap.
- :func:`fit_retention_headline`: day-N retention is a headline only when the cohorts are daily or weekly and
  at least ``min_n`` users are behind it; otherwise the headline is period-1 retention of the report's cohorts.
- :func:`segment_conflicts`: customers whose segment says "gone" while the model gives P(alive) >= 0.5 (or
  "active" while P(alive) < 0.1), and :func:`segment_conflict_note` saying how many and why.
- :func:`currency_caveat` and :func:`currency_note`: the amounts a money report sums carry several currencies' signs,
  or another currency's than the report shows (ingest's ``currencies``), said in the report's findings.

Texts come from the message catalogue (``caveat.*`` in helpers/messages/caveats.yaml); docs/caveats.md has the
rules and thresholds.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .i18n import t
from .stats import wilson_interval

__all__ = [
    "ACTIVE_SEGMENTS",
    "GONE_SEGMENTS",
    "SMALL_N",
    "day_n_caveat",
    "day_n_fits",
    "first_cohort_note",
    "fit_retention_headline",
    "mark_small",
    "period_retention_name",
    "rate_denominator",
    "segment_conflict_note",
    "segment_conflicts",
    "thin_items_note",
    "tied_time_note",
]

#: below this many users a rate is drawn hollow with its interval and left out of headlines
SMALL_N = 30
#: segments whose name says the customer is gone / still active (RFM named scheme and the 8-cell Chinese scheme)
GONE_SEGMENTS: tuple[str, ...] = ("Lost", "Hibernating", "重要挽留客户", "一般挽留客户")
ACTIVE_SEGMENTS: tuple[str, ...] = ("Champions", "Loyal", "重要价值客户")
#: P(alive) at or above which a "gone" segment contradicts the model; below ACTIVE_FLOOR an "active" one does
GONE_CEILING = 0.5
ACTIVE_FLOOR = 0.1
#: a product table is thin when at least this share of its items (and at least THIN_MIN_ITEMS items) has one buyer
THIN_SHARE = 0.8
THIN_MIN_ITEMS = 20
#: paths warn when at least this share of events share their user's instant with another event
TIED_SHARE = 0.1
#: retention warns when the first cohort is at least this many times the median of the later ones (and has at
#: least SMALL_N users): the data starts in the middle of those users' lives
FIRST_COHORT_FACTOR = 3.0


def mark_small(
    ax: Any,
    x: Sequence[Any],
    y: Sequence[float],
    n: Sequence[float],
    min_n: int = SMALL_N,
    *,
    lo: Sequence[float] | None = None,
    hi: Sequence[float] | None = None,
    color: Any = None,
) -> np.ndarray:
    """Redraw the points of ``ax`` whose sample ``n`` is below ``min_n`` hollow and faded, with their 95 %
    interval as an error bar (``lo``/``hi`` when given, else Wilson from ``y`` as a rate of ``n``); add one legend
    entry per axes ("hollow: fewer than N users"). Returns the boolean mask of small points.

    Call it after drawing the line or points (``color`` defaults to the colour of the last line drawn); it
    (re)builds the legend, and a legend the caller builds after it keeps the entry."""
    xs = np.asarray(list(x), dtype=object)
    ys = np.asarray(y, dtype=float)
    ns = np.asarray(n, dtype=float)
    small = np.isfinite(ys) & (np.nan_to_num(ns, nan=0.0) < min_n)
    if not small.any():
        return small
    if color is None:
        lines = ax.get_lines()
        color = lines[-1].get_color() if lines else "C0"
    if lo is not None and hi is not None:
        los, his = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    else:
        iv = [wilson_interval(round(r * k), k) if k > 0 else (math.nan, math.nan) for r, k in zip(ys, ns)]
        los, his = np.array([a for a, _ in iv], dtype=float), np.array([b for _, b in iv], dtype=float)
    from matplotlib.colors import to_rgba

    xm, ym = list(xs[small]), ys[small]
    err = np.vstack([np.clip(ym - los[small], 0, None), np.clip(his[small] - ym, 0, None)])
    err = np.nan_to_num(err, nan=0.0)
    ax.errorbar(xm, ym, yerr=err, fmt="none", ecolor=color, alpha=0.45, capsize=2, zorder=2)
    first = not getattr(ax, "_ubakit_small_marked", False)
    ax.scatter(
        xm,
        ym,
        s=40,
        facecolors="white",
        edgecolors=[to_rgba(color, 0.7)],
        linewidths=1.2,
        zorder=4,
        label=t("caveat.small_legend", n=min_n) if first else None,
    )
    ax._ubakit_small_marked = True
    if first:
        ax.legend(fontsize="small")  # a legend built later by the caller replaces this one and keeps the entry
    return small


def rate_denominator(metric: Any) -> str | None:
    """The denominator metric of a ``rate`` metric (helpers/trend_metrics.py ``Metric``, formula ``a / b``), whose
    per-bucket value is the sample size of the rate; None for other kinds."""
    if metric is None or getattr(metric, "kind", None) != "rate" or not getattr(metric, "formula", None):
        return None
    parts = str(metric.formula).split("/")
    return parts[1].strip() if len(parts) == 2 and parts[1].strip().isidentifier() else None


def day_n_caveat(day1: dict, day7: dict, *, min_n: int = SMALL_N) -> str | None:
    """A caveat when day-7 retention is above day-1 (dicts of :func:`helpers.retention.day_n_retention`), or when
    either one that was measured rests on fewer than ``min_n`` users; None when neither holds."""
    from .fmt import fmt_int, fmt_pct

    r1, r7 = day1.get("rate", math.nan), day7.get("rate", math.nan)
    measured = [bool(d.get("cohorts")) and np.isfinite(r) for d, r in ((day1, r1), (day7, r7))]
    if all(measured) and r7 > r1:
        lo1, hi1 = wilson_interval(day1["retained"], day1["users"])
        lo7, hi7 = wilson_interval(day7["retained"], day7["users"])
        key = "caveat.day7_above_day1_overlap" if lo7 <= hi1 else "caveat.day7_above_day1"
        return t(key, d1=fmt_pct(r1), d7=fmt_pct(r7), users1=fmt_int(day1["users"]), users7=fmt_int(day7["users"]))
    # a rate the findings show on few users, also when the other one could not be measured (a log too short for
    # day 7): "0.0% (0 of 2 users)" read as a result
    pairs = (("1", day1, measured[0]), ("7", day7, measured[1]))
    small = [(k, d) for k, d, shown in pairs if shown and d["users"] < min_n]
    if small:
        k, d = small[-1]
        return t("caveat.day_n_small", n=k, users=fmt_int(d["users"]), min_n=min_n)
    return None


def day_n_fits(period: str, day1: dict, day7: dict, *, min_n: int = SMALL_N) -> tuple[bool, bool]:
    """Whether day-1 and day-7 retention fit the retention headline: cohorts by day or week, and at least
    ``min_n`` users behind the rate. When neither fits, :func:`fit_retention_headline` shows period-1 retention."""
    if period not in ("day", "week"):
        return False, False
    fits = [bool(d.get("cohorts")) and d.get("users", 0) >= min_n for d in (day1, day7)]
    return fits[0], fits[1]


def period_retention_name(period: str, n: int = 1) -> str:
    """Period-``n`` retention's name in the current language ("第 1 月留存", "Month-1 retention"): the headline's,
    the first-cohort caveat's for weekly or monthly cohorts, and the cohort comparison's ("Week-4 retention")."""
    return t("caveat.period_retention", unit=t(f"caveat.unit_{period}"), n=n)


def fit_retention_headline(
    day_items: Sequence[dict],
    *,
    period: str,
    day1: dict,
    day7: dict,
    curve: pd.DataFrame,
    min_n: int = SMALL_N,
) -> list[dict]:
    """The retention headline: ``day_items`` (day-1 and day-7 items, in that order) kept only where they fit
    the data (cohorts by day or week, and at least ``min_n`` users behind the rate); when the cohorts are monthly
    or no day-N item is kept, period-1 retention of the cohorts (from ``curve``) is shown instead."""
    from .fmt import MISSING, fmt_pct

    kept = [it for it, fits in zip(day_items, day_n_fits(period, day1, day7, min_n=min_n), strict=True) if fits]
    if kept:
        return kept
    name = period_retention_name(period)
    row = curve[curve["n"] == 1] if "n" in curve else curve.iloc[0:0]
    if len(row) and row["users"].iloc[0] >= min_n and np.isfinite(row["rate"].iloc[0]):
        rate = float(row["rate"].iloc[0])
        return [{"label": name, "value": rate, "text": fmt_pct(rate)}]  # the shape of helpers.report.headline
    return [{"label": name, "value": None, "text": MISSING}]


def segment_conflicts(
    table: pd.DataFrame, *, segment_col: str = "segment", p_col: str = "p_alive", repeat_col: str | None = None
) -> pd.Series:
    """Boolean per row: the segment name contradicts the model's P(alive) (a "gone" segment with P(alive) >=
    :data:`GONE_CEILING`, or an "active" one below :data:`ACTIVE_FLOOR`). All False without both columns."""
    if segment_col not in table or p_col not in table:
        return pd.Series(False, index=table.index)
    p = pd.to_numeric(table[p_col], errors="coerce")
    seg = table[segment_col].astype(str)
    return ((seg.isin(GONE_SEGMENTS) & (p >= GONE_CEILING)) | (seg.isin(ACTIVE_SEGMENTS) & (p < ACTIVE_FLOOR))).fillna(
        False
    )


def segment_conflict_note(
    table: pd.DataFrame, *, segment_col: str = "segment", p_col: str = "p_alive", one_time_col: str | None = None
) -> str | None:
    """A finding naming how many customers' segment contradicts their P(alive) and the most common cause (one-time
    buyers, whom BG/NBD counts as alive, when ``one_time_col`` says so); None when there are none."""
    from .fmt import fmt_int

    flag = segment_conflicts(table, segment_col=segment_col, p_col=p_col)
    k = int(flag.sum())
    if not k:
        return None
    gone = int((flag & table[segment_col].astype(str).isin(GONE_SEGMENTS)).sum())
    one = 0
    if one_time_col and one_time_col in table:
        one = int((flag & (pd.to_numeric(table[one_time_col], errors="coerce") <= 1)).sum())
    return t(
        "caveat.segment_conflict",
        k=fmt_int(k),
        gone=fmt_int(gone),
        active=fmt_int(k - gone),
        one_time=fmt_int(one),
        ceiling=f"{GONE_CEILING:.0%}",
        floor=f"{ACTIVE_FLOOR:.0%}",
    )


def thin_items_note(buyers: pd.Series) -> str | None:
    """A finding when most items were bought by one buyer (at least :data:`THIN_SHARE` of them, and at least
    :data:`THIN_MIN_ITEMS` items): the top item and single items' repurchase rates then rest on one person's orders.
    ``buyers``: the distinct buyers of each item. None otherwise."""
    from .fmt import fmt_int, fmt_pct

    n = int(len(buyers))
    one = int((pd.to_numeric(buyers, errors="coerce") <= 1).sum())
    if n < THIN_MIN_ITEMS or one < THIN_SHARE * n:
        return None
    return t("caveat.thin_items", share=fmt_pct(one / n), one=fmt_int(one), n=fmt_int(n))


def tied_time_note(ties: dict) -> str | None:
    """A finding when at least :data:`TIED_SHARE` of the events share their user's instant with another event
    (``ties``: :func:`helpers.journey.time_ties`): their order within the instant is unknown, and paths put them
    in event-name order, so "buy" can come before "pv". Names the times' precision when the log has one (every
    time at a whole hour: an hourly log). None otherwise."""
    from .fmt import fmt_int, fmt_pct

    rows, tied = int(ties.get("rows") or 0), int(ties.get("tied") or 0)
    if not rows or tied < TIED_SHARE * rows:
        return None
    res = ties.get("resolution")
    precision = t("caveat.precision", unit=t(f"caveat.unit.{res}")) if res else ""
    return t("caveat.tied_times", share=fmt_pct(tied / rows), tied=fmt_int(tied), precision=precision)


def first_cohort_note(matrix: dict, without: dict | None = None) -> str | None:
    """A finding when the first cohort of the retention ``matrix`` (:func:`helpers.retention.retention_matrix`) is
    at least :data:`FIRST_COHORT_FACTOR` times the median of the later cohorts (at least two of them) and has at
    least :data:`SMALL_N` users. A cohort is the users whose first event in the data falls in that period, so when
    the data starts in the middle of a product's life the first cohort holds the users who were already there
    (the Taobao sample: 576 of 814 users on its first day): they are not new, and their retention reads high.

    ``without``: ``{"name", "rate", "users"}``, a retention without the first cohort that the finding gives when
    its rate is known: the report passes day-1 retention without the first daily cohort for daily cohorts, and
    period-1 retention without the first cohort otherwise (weekly or monthly cohorts: the one flagged).
    None when the first cohort is not flagged."""
    from .fmt import fmt_int, fmt_pct

    sizes = pd.Series(matrix.get("sizes", []), dtype="float64")
    if len(sizes) < 3:
        return None
    first, median = float(sizes.iloc[0]), float(sizes.iloc[1:].median())
    if first < SMALL_N or first < FIRST_COHORT_FACTOR * max(median, 1.0):
        return None
    rate = (without or {}).get("rate", math.nan)
    text = (
        t("caveat.first_cohort_without", name=without["name"], rate=fmt_pct(rate), users=fmt_int(without["users"]))
        if without and isinstance(rate, float) and not math.isnan(rate)
        else ""
    )
    return t(
        "caveat.first_cohort",
        cohort=f"{pd.Timestamp(sizes.index[0]):%Y-%m-%d}",
        size=fmt_int(first),
        share=fmt_pct(first / float(sizes.sum())),
        median=fmt_int(median),
        without=text,
    )


def ingest_entry(ctx: Any, table: str) -> dict:
    """What ingest said of ``table`` (its entry in ``data/_ingest.json``): empty without one (a context built by
    hand, a table not ingested)."""
    read = getattr(ctx, "ingest_manifest", None)
    try:
        manifest = read() if read is not None else {}
    except (FileNotFoundError, ValueError):
        return {}
    return manifest.get("tables", {}).get(table) or {}


def amount_signs(ctx: Any, table: str) -> tuple[str, list[dict]]:
    """Ingest's ``currencies`` entry of ``table`` (:func:`ingest_entry`, :func:`helpers.cleaning.currency_mix`):
    the money column's currency signs with their rows, and the table they were counted in: a derived table's amounts
    are its source's (orders derived from the events' pay events), counted there. Empty when no amount carries a
    sign, or without a manifest."""
    entry = ingest_entry(ctx, table)
    source = entry.get("derived_from")
    if source and not entry.get("currencies"):
        return source, list(ingest_entry(ctx, source).get("currencies") or [])
    return table, list(entry.get("currencies") or [])


def currency_problem(currencies: list, shown: str | None) -> str | None:
    """What the amounts' currency signs (``currencies``: ``[[code, rows], ...]``) say against the sign ``shown``
    before money on the pages: ``"mixed"`` for several currencies; ``"other"`` for one that is not ``shown``'s
    (:func:`helpers.fmt.currency_code`: ``$`` amounts on a ``¥`` campaign, or amounts in cents); None otherwise. The
    one rule of the ingest page and the money reports' notes."""
    from .fmt import currency_code

    if len(currencies) >= 2:
        return "mixed"
    return "other" if currencies and shown is not None and currencies[0][0] != currency_code(shown) else None


#: the codes of :func:`helpers.cleaning.currency_mix` named in words: cents, and the rows without a sign
_CODE_NAMES = {"¢": "ingest.currency_cents", "": "ingest.currency_plain"}


def currency_items(currencies: list) -> str:
    """Each currency of a mixed money column with its rows, in the page's language: "CNY in 1,200 rows, USD in 30
    rows" (``currencies``: ``[[code, rows], ...]``; ``¢`` is named as cents, ``""`` as no sign)."""
    from .fmt import fmt_int
    from .i18n import list_join

    return list_join(
        t("ingest.currency_rows", currency=t(_CODE_NAMES[c]) if c in _CODE_NAMES else c, rows=fmt_int(n))
        for c, n in currencies
    )


def currency_note(entries: list[dict], table: str, shown: str | None = None) -> str | None:
    """A money report's finding on the currency signs of the amounts it sums (``entries``: :func:`amount_signs` of
    ``table``): several currencies (its totals and averages add yuan to dollars), or one that is not ``shown``, the
    sign the report writes before money (its amounts read as yuan where the data has dollars). None otherwise."""
    if not entries:
        return None
    from .i18n import label

    table_name = label(f"ingest.table.{table}", table)  # as the ingest page names it: 订单表 / orders
    found = entries[0]["currencies"]
    problem = currency_problem(found, shown)
    if problem is None:
        return None
    key = "caveat.currencies" if problem == "mixed" else "caveat.currency_other"
    return t(key, table=table_name, items=currency_items(found), currency=shown)


def currency_caveat(
    ctx: Any, source: str, columns: Collection[str | None] | None = None, *, shown: str | None = None
) -> str | None:
    """:func:`currency_note` for a money report whose amounts come from ``source`` (:func:`helpers.features.
    campaign_orders`: ``"orders"``, or the events' purchase events; ``"events"`` for every event). ``columns``: the
    columns the report sums, when the campaign names them (a trends metric's ``column``, ``experiment.amount_col``):
    ingest tells currencies apart in the ``amount`` column only, so a report that sums another says nothing.
    ``shown``: the sign the report writes before money (default the campaign's ``currency``)."""
    table, found = amount_signs(ctx, "orders" if source == "orders" else "events")
    entries = [m for m in found if columns is None or m.get("column") in columns]
    shown = shown if shown is not None else getattr(getattr(ctx, "cfg", None), "currency", None)
    return currency_note(entries, table, shown)
