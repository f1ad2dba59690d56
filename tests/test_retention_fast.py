"""The DuckDB fast path of the cohort counts (helpers/retention_fast.py) equals the portable Ibis path
(helpers/retention.py) on hand-built edge cases (null users and times, week and month boundaries, integer ids,
times before 1970), on seeded random logs for every period with and without start and return events, and on a
hand-computed answer."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from helpers import retention_fast
from helpers.retention import cohort_counts

D = pd.Timestamp("2024-02-26")  # a Monday


def _log(rows) -> pd.DataFrame:
    """(user, event, hours after D or None) rows -> an events frame (``ts`` microseconds)."""
    df = pd.DataFrame(rows, columns=["user_id", "event", "h"])
    ts = [D + pd.Timedelta(hours=h) if h is not None and pd.notna(h) else pd.NaT for h in df["h"]]
    return df.assign(ts=pd.Series(ts, dtype="datetime64[us]")).drop(columns="h")


def _equal(events: pd.DataFrame, **kw) -> pd.DataFrame:
    """The fast path's counts, asserted equal to the portable path's on the same DuckDB table."""
    t = ibis.duckdb.connect().create_table("events", events)
    assert retention_fast.applies(t)
    fast, slow = cohort_counts(t, fast=True, **kw), cohort_counts(t, fast=False, **kw)
    pd.testing.assert_frame_equal(fast, slow)
    return fast


EDGE = {
    # a null user (no cohort member, not joined), alone in a cohort of its own (a cohort of 0 users)
    "nulls": [("a", "pv", 1), ("a", "pv", 30), (None, "pv", 200), (None, "buy", 250), ("c", "buy", 5)],
    # Sunday 23:59 vs Monday 00:00, the last and first day of a month, a year boundary
    "boundaries": [
        ("a", "pv", -0.001),
        ("a", "pv", 0),
        ("b", "pv", 24 * 3 - 0.5),
        ("b", "pv", 24 * 4),
        ("c", "pv", 24 * 310),
        ("c", "pv", 24 * 320),
    ],
    # times before 1970 (negative day numbers: floor, not truncation, for weeks)
    "before_1970": [("a", "pv", -24 * 365 * 60), ("a", "pv", -24 * 365 * 60 + 24 * 9), ("b", "buy", -24 * 365 * 55)],
}


@pytest.mark.parametrize("period", ["day", "week", "month"])
@pytest.mark.parametrize("case", sorted(EDGE))
def test_edge_cases_equal(case, period):
    events = _log(EDGE[case]).dropna(subset=["ts"])  # a row without a time has no period (ingest quarantines it)
    _equal(events, period=period)
    _equal(events, period=period, start_events=["pv"], return_events=["pv", "buy"])


def test_integer_ids_equal():
    events = _log([(1, "pv", 0), (1, "buy", 25), (2, "pv", 1), (2, "pv", 49), (3, "buy", 2)])
    _equal(events.astype({"user_id": "int64"}), period="day")
    _equal(events.astype({"user_id": "int64"}), period="day", return_events=["buy"])


def test_hand_computed():
    # a: days 0, 1, 3 -> cohort 0, retained n = 1 and 3; b: days 1, 2 -> cohort 1, n = 1; c: day 1 only
    events = _log([("a", "pv", 1), ("a", "pv", 25), ("a", "pv", 73), ("b", "pv", 30), ("b", "pv", 50), ("c", "pv", 40)])
    out = _equal(events, period="day")
    d0 = (D - pd.Timestamp("1970-01-01")).days
    got = {(int(r.cohort) - d0, int(r.n)): int(r.users) for r in out.itertuples()}
    assert got == {(0, 0): 1, (0, 1): 1, (0, 3): 1, (1, 0): 2, (1, 1): 1}
    # with start events = buy: only users with a buy have a cohort; return events = pv
    events = _log([("a", "buy", 1), ("a", "pv", 25), ("b", "pv", 2), ("b", "pv", 26)])
    out = _equal(events, period="day", start_events=["buy"], return_events=["pv"])
    got = {(int(r.cohort) - d0, int(r.n)): int(r.users) for r in out.itertuples()}
    assert got == {(0, 0): 1, (0, 1): 1}


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_seeded_random_equal(seed, period):
    rng = np.random.default_rng(seed)
    n = 4000
    df = pd.DataFrame(
        {
            "user_id": [f"u{u:03d}" for u in rng.integers(0, 300, n)],
            "event": rng.choice(["pv", "cart", "buy"], n, p=[0.7, 0.2, 0.1]),
            "ts": (D + pd.to_timedelta(rng.integers(0, 24 * 3600 * 120, n), unit="s")).astype("datetime64[us]"),
        }
    )
    out = _equal(df, period=period)
    assert len(out) > 10 and (out["n"] > 0).any()
    _equal(df, period=period, start_events=["buy"])
    _equal(df, period=period, return_events=["buy", "cart"])
    _equal(df, period=period, start_events=["cart"], return_events=["buy"])


def test_empty_equal():
    _equal(_log([("a", "pv", 1)]).iloc[:0], period="week")


def test_words_of_64_periods_by_hand():
    """The fast path keeps each user's active periods as bits of 64-period words: periods on both sides of a word
    boundary (bit 63 of one word, bit 0 of the next), before and after 1970, and more than 64 periods apart."""
    epoch = pd.Timestamp("1970-01-01")
    k = 64 * 300  # a word boundary: day k - 1 is bit 63 of word 299, day k bit 0 of word 300
    rows = [
        ("a", "pv", epoch + pd.Timedelta(days=k - 1, hours=23)),
        ("a", "pv", epoch + pd.Timedelta(days=k)),
        ("a", "pv", epoch + pd.Timedelta(days=k + 64 * 3 + 5)),
        ("b", "pv", epoch - pd.Timedelta(hours=1)),  # day -1: bit 63 of word -1
        ("b", "pv", epoch),  # day 0: bit 0 of word 0
        ("b", "pv", epoch + pd.Timedelta(days=63)),
    ]
    events = pd.DataFrame(rows, columns=["user_id", "event", "ts"]).astype({"ts": "datetime64[us]"})
    out = _equal(events, period="day")
    got = {(int(r.cohort), int(r.n)): int(r.users) for r in out.itertuples()}
    assert got == {(k - 1, 0): 1, (k - 1, 1): 1, (k - 1, 64 * 3 + 6): 1, (-1, 0): 1, (-1, 1): 1, (-1, 64): 1}


@pytest.mark.parametrize("period", ["day", "week"])
def test_rows_without_a_time_are_left_out_on_both_paths(period):
    """A row without a time has no period: left out on both paths; a user whose only start events have no time has
    no cohort (the portable path used to end in a cohort of NaN that pandas could not cast)."""
    rows = [("a", "pv", 1), ("a", "pv", None), ("a", "pv", 30), ("b", "buy", None), ("b", "pv", 50), ("c", "pv", None)]
    events = _log(rows)
    out = _equal(events, period=period)
    assert out.equals(_equal(events.dropna(subset=["ts"]), period=period))
    out = _equal(events, period=period, start_events=["buy"], return_events=["pv"])
    assert out.empty  # b's only buy has no time: nobody has a cohort
    for crit in ("on", "on_or_after"):
        t = ibis.duckdb.connect().create_table("events", events)
        got = cohort_counts(t, period=period, criterion=crit, fast=False)
        assert int(got.loc[got["n"] == 0, "users"].sum()) == 2  # a and b; c has no timed event
