"""The DuckDB fast path of the ordered funnel (helpers/funnel_fast.py) equals the portable Ibis path
(helpers/attempts.py) on hand-built edge cases and on seeded random logs, and on hand-computed answers."""

from __future__ import annotations

import warnings

import ibis
import numpy as np
import pandas as pd
import pytest

from helpers import funnel_fast
from helpers.arrays import time_unit
from helpers.attempts import funnel_attempts

T0 = pd.Timestamp("2024-03-01")


def _log(rows) -> pd.DataFrame:
    """(user, event, seconds after T0) rows -> an events frame."""
    df = pd.DataFrame(rows, columns=["user_id", "event", "sec"])
    ts = [T0 + pd.Timedelta(seconds=s) if pd.notna(s) else pd.NaT for s in df["sec"]]
    return df.assign(ts=pd.Series(ts, dtype="datetime64[us]")).drop(columns="sec")


def _both(events: pd.DataFrame, steps, **kw):
    """(fast, portable) users tables; asserts the fast path applied."""
    t = ibis.duckdb.connect().create_table("ev", events)
    assert funnel_fast.applies(t, "ordered", kw.get("exclusions"), kw.get("breakdown"))
    fast = funnel_attempts(t, steps, fast=True, **kw)
    slow = funnel_attempts(t, steps, fast=False, **kw)
    return fast.users, slow.users


def _equal(events, steps, **kw) -> pd.DataFrame:
    fast, slow = _both(events, steps, **kw)
    pd.testing.assert_frame_equal(fast, slow)
    return fast


H = 3600
EDGE = {
    # pv, cart, buy logged in the same second reach step 3; a second pv in that second is the same instant
    "ties": [("a", "pv", 0), ("a", "cart", 0), ("a", "buy", 0), ("b", "buy", 5), ("b", "cart", 5), ("b", "pv", 5)],
    # repeated step 1 inside the window does not restart; a cart exactly at the window end counts
    "boundary": [
        ("a", "pv", 0),
        ("a", "pv", 10 * H),
        ("a", "cart", 72 * H),
        ("a", "buy", 72 * H + 1),
        ("b", "pv", 0),
        ("b", "pv", 72 * H),
        ("b", "pv", 72 * H + 1),
        ("b", "cart", 80 * H),
        ("b", "buy", 81 * H),
    ],  # fmt: skip
    # rows out of time order, duplicates, and a step 2 before step 1
    "disorder": [
        ("a", "buy", 50),
        ("a", "cart", 40),
        ("a", "pv", 30),
        ("a", "cart", 10),
        ("a", "pv", 30),
        ("c", "cart", 1),
        ("c", "pv", 2),
        ("c", "buy", 3),
    ],  # fmt: skip
    # nulls: a null user, a null time and a null event are ignored
    "nulls": [
        (None, "pv", 0),
        ("a", "pv", None),
        ("a", "pv", 5),
        ("a", None, 6),
        ("a", "cart", None),
        ("a", "cart", 7),
        ("b", "pv", 1),
    ],  # fmt: skip
}


@pytest.mark.parametrize("case", sorted(EDGE))
def test_edge_cases_equal(case):
    _equal(_log(EDGE[case]), ["pv", "cart", "buy"], window_hours=72)


def test_hand_computed():
    u = _equal(_log(EDGE["ties"]), ["pv", "cart", "buy"], window_hours=72).set_index("user_id")
    # ties: both users reach step 3 in one second
    assert u.loc["a", "reached"] == 3 and u.loc["b", "reached"] == 3


def test_boundary_hand_computed():
    u = _equal(_log(EDGE["boundary"]), ["pv", "cart", "buy"], window_hours=72).set_index("user_id")
    assert (u.loc["a", "reached"], u.loc["a", "attempts"]) == (2, 1) and pd.isna(u.loc["a", "t3"])
    # b: the pv at exactly 72 h is inside the first window; the next attempt starts 1 s later and converts
    assert (u.loc["b", "reached"], u.loc["b", "attempts"]) == (3, 2)
    assert u.loc["b", "start"] == T0 + pd.Timedelta(seconds=72 * H + 1)


def test_repeated_step_same_instant_is_not_its_own_next():
    ev = _log([("a", "pv", 0), ("a", "pv", 0), ("b", "pv", 0), ("b", "pv", 1)])
    u = _equal(ev, ["pv", "pv"], window_hours=1).set_index("user_id")
    assert u.loc["a", "reached"] == 1 and u.loc["b", "reached"] == 2


def test_step_lists_filters_and_step_windows():
    rng = np.random.default_rng(3)
    n = 600
    ev = pd.DataFrame(
        {
            "user_id": rng.choice([f"u{i}" for i in range(25)], n),
            "event": rng.choice(["pv", "fav", "cart", "buy"], n, p=[0.5, 0.2, 0.2, 0.1]),
            "ts": (T0 + pd.to_timedelta(rng.integers(0, 10 * 86400, n) // 600 * 600, unit="s")).astype(
                "datetime64[us]"
            ),
            "channel": rng.choice(["app", "web"], n),
        }
    )
    steps = [["pv", "fav"], {"event": "cart", "where": {"channel": "app"}}, ["buy", "cart"]]
    _equal(ev, steps, window_hours=30, step_windows_hours=[5, None])
    _equal(ev, ["pv", "cart", "pv", "buy"], window_hours=48, period_end=T0 + pd.Timedelta(days=10))


@pytest.mark.parametrize("seed", range(4))
def test_name_lists_and_filters_on_first_and_last_steps_equal(seed):
    """Step flags from event codes (one name, two names, three names: a lookup table) and from property filters on
    the first and the last step, with rows that meet no step's filter before and after every step row (scanned,
    but no step rows: their keys are never picked)."""
    rng = np.random.default_rng(40 + seed)
    n = 900
    names = ["pv", "fav", "share", "cart", "buy"]
    ev = pd.DataFrame(
        {
            "user_id": rng.choice([f"u{i}" for i in range(30)], n),
            "event": rng.choice(names, n, p=[0.4, 0.15, 0.1, 0.2, 0.15]),
            "ts": (T0 + pd.to_timedelta(rng.integers(0, 8 * 86400, n) // 900 * 900, unit="s")).astype("datetime64[us]"),
            "channel": rng.choice(["app", "web"], n),
        }
    )
    outside = _log([("u1", "pv", -30 * 86400), ("u2", "buy", 90 * 86400), ("zz", "pv", 99 * 86400)])
    ev = pd.concat([ev, outside.assign(channel="mini")], ignore_index=True)
    steps = [
        {"event": ["pv", "fav", "share"], "where": {"channel": ["app", "web"]}},
        ["cart", "fav"],
        {"event": "buy", "where": {"channel": "app"}},
    ]
    u = _equal(ev, steps, window_hours=24)
    assert {2, 3} <= set(u["reached"]) and "zz" not in set(u["user_id"])  # zz's only row meets no filter
    _equal(ev, [["pv", "fav", "share"], "cart", "buy"], window_hours=36, step_windows_hours=[2, None])


@pytest.mark.parametrize("seed", range(6))
def test_random_logs_equal(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(200, 1500))
    names = ["pv", "fav", "cart", "buy"]
    ev = pd.DataFrame(
        {
            "user_id": rng.choice([f"u{i}" for i in range(int(rng.integers(3, 40)))], n),
            "event": rng.choice(names, n, p=[0.55, 0.1, 0.25, 0.1]),
            # coarse times: many ties
            "ts": (T0 + pd.to_timedelta(rng.integers(0, 6 * 86400, n) // 1800 * 1800, unit="s")).astype(
                "datetime64[us]"
            ),
        }
    )
    window = float(rng.choice([1, 12, 24, 72]))
    _equal(ev, ["pv", "cart", "buy"], window_hours=window)
    _equal(ev, ["cart", "cart", "buy"], window_hours=window)


def test_max_attempts_warns_in_both():
    ev = _log([("a", "pv", k * 2 * H) for k in range(5)])
    t = ibis.duckdb.connect().create_table("ev", ev)
    for fast in (True, False):
        with pytest.warns(UserWarning, match="max_attempts"):
            u = funnel_attempts(t, ["pv", "cart"], window_hours=1, max_attempts=3, fast=fast).users
        assert u["attempts"].iloc[0] == 3


def test_other_modes_use_the_portable_path():
    t = ibis.duckdb.connect().create_table("ev", _log(EDGE["ties"]))
    assert not funnel_fast.applies(t, "strict", None, None)
    assert not funnel_fast.applies(t, "ordered", [{"event": "fav", "between": [1, 2]}], None)
    assert not funnel_fast.applies(t, "ordered", None, "channel")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        # strict: rows of one second order by event name, so pv comes after cart and nobody reaches step 2
        assert funnel_attempts(t, ["pv", "cart"], mode="strict").users["reached"].tolist() == [1, 1]


def test_time_unit_is_the_coarsest_that_divides_every_time():
    s = np.array([-3_000_000, 0, 5_000_000, 86_400_000_000], dtype=np.int64)  # pre-1970 included
    assert time_unit(s) == 1_000_000
    assert time_unit(s + 1_000) == 1_000
    assert time_unit(s + 1) == 1
    assert time_unit(np.zeros(0, dtype=np.int64)) == 1_000_000
    late = np.full(3 * (1 << 20) + 5, 7_000_000, dtype=np.int64)
    late[-1] += 500  # only in the last chunk
    assert time_unit(late) == 1


@pytest.mark.parametrize("resolution_us", [1_000, 1, 250_000])
@pytest.mark.parametrize("seed", range(3))
def test_sub_second_logs_equal(seed, resolution_us):
    # times in milliseconds, microseconds and quarter seconds: the fast path counts in ms, us and ms; windows and
    # step windows in whole seconds, ties at one instant and events 1 us / 1 ms around a window's end
    rng = np.random.default_rng(100 + seed)
    n = 1200
    names = ["pv", "fav", "cart", "buy"]
    offs = rng.integers(0, 3 * 86400 * 1_000_000 // resolution_us, n) // 7 * 7 * resolution_us
    ev = pd.DataFrame(
        {
            "user_id": rng.choice([f"u{i}" for i in range(25)], n),
            "event": rng.choice(names, n, p=[0.55, 0.1, 0.25, 0.1]),
            "ts": (T0 + pd.to_timedelta(offs, unit="us")).astype("datetime64[us]"),
        }
    )
    edge = _log([("e", "pv", 0), ("e", "cart", 3600), ("e", "buy", 7200)])
    edge.loc[1, "ts"] += pd.Timedelta(microseconds=resolution_us)  # just after the 1 h window's end
    edge.loc[2, "ts"] -= pd.Timedelta(microseconds=resolution_us)  # just inside the 2 h window
    ev = pd.concat([ev, edge], ignore_index=True)
    _equal(ev, ["pv", "cart", "buy"], window_hours=1)
    _equal(ev, ["pv", "cart", "buy"], window_hours=2, step_windows_hours=[0.5, None])
    _equal(ev, ["cart", "cart", "buy"], window_hours=24)


def test_a_key_too_wide_in_microseconds_fits_in_seconds(monkeypatch):
    # 13,000 users over a year: users x span x 12 passes 2**62 in microseconds (the 100M-event bench, 1M users over
    # 30 days, did too and fell back to the portable path); in seconds it fits, and the fast path runs
    from helpers import attempts

    users = 13_000
    rng = np.random.default_rng(5)
    days = rng.integers(0, 365, users)
    rows = [(f"u{i}", e, int(d) * 86400 + k * 600) for i, d in enumerate(days) for k, e in enumerate(("pv", "cart"))]
    rows += [("u0", "pv", 0), ("u0", "cart", 300), ("u0", "buy", 900), ("u1", "pv", 365 * 86400)]
    ev = _log(rows)
    assert (users + 2) * 365 * 86400 * 1_000_000 * 12 > funnel_fast._KEY_LIMIT
    t = ibis.duckdb.connect().create_table("ev", ev)
    slow = funnel_attempts(t, ["pv", "cart", "buy"], window_hours=1, fast=False).users

    def portable(*a, **k):
        raise AssertionError("the portable path ran")

    monkeypatch.setattr(attempts, "_ordered_attempts", portable)
    fast = funnel_attempts(t, ["pv", "cart", "buy"], window_hours=1, fast=True).users
    pd.testing.assert_frame_equal(fast, slow)
    assert fast["reached"].value_counts().to_dict() == {2: users - 1, 3: 1}


@pytest.mark.parametrize("room", [1, 0])
def test_the_key_bound_is_exact(monkeypatch, room):
    """The fast path runs exactly when (largest user number + 2) x (step rows' span + window + 2, in the time unit)
    x (steps + 1) x names stays below the limit; at the bound the portable path gives the result. Rows that are no
    step (another event, a step filter not met) do not widen the span."""
    from helpers import attempts

    # u0 u1 u2 have step rows, numbered 0 1 2; the step rows span 10 days, in whole seconds (unit: a second);
    # "fav" is no step and "pv" with an other page fails the step filter: neither widens the span
    rows = [("u0", "pv", 0), ("u0", "cart", 300), ("u0", "buy", 900), ("u1", "pv", 86400), ("u2", "pv", 864000)]
    ev = _log(rows + [("u3", "fav", 99 * 86400)])
    ev["page"] = "home"
    ev.loc[len(ev)] = {"user_id": "u1", "event": "pv", "ts": T0 + pd.Timedelta(days=50), "page": "faq"}
    steps = [{"event": "pv", "where": {"page": "home"}}, "cart", "buy"]
    bound = (2 + 2) * (864000 + 3600 + 2) * (3 + 1) * 3  # names: buy, cart, pv
    t = ibis.duckdb.connect().create_table("ev", ev)
    slow = funnel_attempts(t, steps, window_hours=1, fast=False).users
    monkeypatch.setattr(funnel_fast, "_KEY_LIMIT", bound + room)
    calls = []
    portable = attempts._ordered_attempts
    monkeypatch.setattr(attempts, "_ordered_attempts", lambda *a, **k: calls.append(1) or portable(*a, **k))
    fast = funnel_attempts(t, steps, window_hours=1, fast=True).users
    assert calls == ([] if room else [1])
    pd.testing.assert_frame_equal(fast, slow)
    assert fast.set_index("user_id")["reached"].to_dict() == {"u0": 3, "u1": 1, "u2": 1}


def test_user_order_and_id_types_as_the_portable_path():
    # the fast path numbers users in DuckDB's order of their ids and its best-attempt step sorts those numbers:
    # text ids in any script and case, digits as text, and integer ids come out in the portable path's order
    rows = []
    for i, u in enumerate(["用户b", "用户a", "Zed", "alice", "Émile", "😀", "10", "9", "a b", ""]):
        rows += [(u, "pv", i * 60), (u, "cart", i * 60 + 30)] + ([(u, "buy", i * 60 + 45)] if i % 3 == 0 else [])
    text = _equal(_log(rows), ["pv", "cart", "buy"], window_hours=1)
    assert text["user_id"].tolist() == sorted(text["user_id"])
    ints = _log([(k % 7 * 13, e, s) for k, (_, e, s) in enumerate(rows)])  # integer ids 0, 13, ..., 78
    assert ints["user_id"].dtype == "int64"
    out = _equal(ints, ["pv", "cart", "buy"], window_hours=1)
    assert out["user_id"].tolist() == sorted(out["user_id"])  # text order: "0" < "13" < "26" < ... < "65" < "78"


def test_filters_on_a_missing_property_are_not_met():
    """A step row whose filtered property is missing does not meet the filter on either path (DuckDB's flag is
    NULL there: the fast path reads it as not met)."""
    rows = [("a", "pv", 0), ("a", "cart", 60), ("a", "buy", 120), ("b", "pv", 0), ("b", "cart", 60), ("c", "pv", 0)]
    ev = _log(rows).assign(channel=["app", None, "app", None, "app", "app"])
    rng = np.random.default_rng(9)
    n = 800
    more = pd.DataFrame(
        {
            "user_id": rng.choice([f"u{i}" for i in range(30)], n),
            "event": rng.choice(["pv", "cart", "buy"], n, p=[0.5, 0.3, 0.2]),
            "ts": (T0 + pd.to_timedelta(rng.integers(0, 5 * 86400, n) // 600 * 600, unit="s")).astype("datetime64[us]"),
            "channel": rng.choice(np.array(["app", "web", None], dtype=object), n),
        }
    )
    ev = pd.concat([ev, more], ignore_index=True)
    steps = ["pv", {"event": "cart", "where": {"channel": "app"}}, "buy"]
    _equal(ev, [{"event": "pv", "where": {"channel": ["app", "web"]}}, "cart", "buy"], window_hours=24)
    u = _equal(ev, steps, window_hours=24).set_index("user_id")
    assert u.loc["a", "reached"] == 1 and u.loc["b", "reached"] == 2 and u.loc["c", "reached"] == 1
