"""The DuckDB fast path of the per-user features (helpers/features_fast.py) equals the portable Ibis path
(helpers/features.py) on hand-built edge cases (the session gap's boundary, equal and sub-second times, one-event
users, missing values, orders with returns, windows with and without a trend), on seeded random logs, on a
Parquet file, and on a hand-computed answer; and it steps aside where it must (no time, source session ids)."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from helpers import features_fast
from helpers.features import user_features

D = pd.Timestamp("2024-03-01")


def _events(rows) -> pd.DataFrame:
    """(user, event, seconds after D or None, amount, category) rows -> an events frame (``ts`` microseconds)."""
    df = pd.DataFrame(rows, columns=["user_id", "event", "s", "amount", "category"])
    ts = [D + pd.Timedelta(seconds=s) if s is not None and pd.notna(s) else pd.NaT for s in df["s"]]
    df["amount"] = df["amount"].astype("float64")
    return df.assign(ts=pd.Series(ts, dtype="datetime64[us]")).drop(columns="s")


def _equal(events, **kw) -> pd.DataFrame:
    """Both paths on one DuckDB table; asserts the fast path applies and the frames are equal (floats to 1e-12,
    the mean gap to the bit: one path's (last - first) / (n - 1) is the other's integer sum of gaps / count)."""
    t = events if not isinstance(events, pd.DataFrame) else ibis.duckdb.connect().create_table("ev", events)
    assert features_fast.applies(t, session_col="session_id")
    ran = []
    with pytest.MonkeyPatch.context() as mp:  # the fast query itself answered (no fallback to the portable path)
        real = features_fast.aggregate
        mp.setattr(features_fast, "aggregate", lambda *a, **k: ran.append(real(*a, **k)) or ran[-1])
        fast = user_features(t, fast=True, **kw)
    assert len(ran) == 1 and ran[0] is not None
    slow = user_features(t, fast=False, **kw)
    pd.testing.assert_frame_equal(fast, slow, rtol=1e-12)
    a, b = fast["mean_gap_hours"].to_numpy(float), slow["mean_gap_hours"].to_numpy(float)
    assert np.array_equal(a, b, equal_nan=True)
    return fast


GAP = 30 * 60
EDGE = {
    # gaps of exactly the session gap (no new session), one microsecond more (a new one), equal times
    "gap_boundary": [
        ("a", "pv", 0, None, "x"),
        ("a", "pv", GAP, None, "x"),
        ("a", "cart", 2 * GAP + 0.000001, None, "y"),
        ("a", "cart", 2 * GAP + 0.000001, None, "y"),
        ("b", "pv", 10, None, "z"),
    ],
    # sub-second times: the mean gap takes each time to the whole second; a midnight between two events
    "sub_second": [
        ("a", "pv", 86399.9, None, "x"),
        ("a", "pv", 86400.2, None, "x"),
        ("a", "buy", 90000.7, 12.5, "x"),
        ("b", "buy", 5.5, 3.0, None),
        ("b", "buy", 5.4, -1.0, None),
    ],
    # missing event, amount, category and user id; an event name needing a safe column name
    "nulls": [
        ("a", None, 100, None, None),
        ("a", "add to cart", 200, None, "x"),
        (None, "pv", 300, None, "x"),
        (None, "buy", 400, 9.0, "y"),
        ("c", "buy", 500, None, "y"),
    ],
    # evening hours and ties of the preferred hour (two events at 9:00 and two at 19:00: 9 wins)
    "hours": [
        ("a", "pv", 9 * 3600, None, "x"),
        ("a", "pv", 9 * 3600 + 60, None, "x"),
        ("a", "pv", 19 * 3600, None, "x"),
        ("a", "pv", 19 * 3600 + 60, None, "x"),
        ("a", "pv", 23 * 3600 + 3599, None, "x"),
    ],
}


@pytest.mark.parametrize("case", sorted(EDGE))
@pytest.mark.parametrize(
    "window", [{}, {"start": D, "end": D + pd.Timedelta(days=10)}, {"start": D, "end": D + pd.Timedelta(days=3)}]
)
def test_edge_cases_equal(case, window):
    _equal(_events(EDGE[case]), **window)


def test_without_amounts_or_categories_or_buys():
    ev = _events(EDGE["gap_boundary"]).drop(columns=["amount", "category"])
    out = _equal(ev)
    assert "n_categories" not in out.columns and "spend" not in out.columns
    _equal(ev, buy_events=("cart",), event_types=["pv", "cart", "never"])


def _random_log(seed: int, users: int = 300, rows: int = 20_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ev = rng.choice(["pv", "fav", "cart", "buy"], size=rows, p=[0.8, 0.05, 0.1, 0.05])
    # seconds with fractions and many repeats; gaps around the session gap are frequent at this density
    secs = np.round(rng.uniform(0, 20 * 86400, size=rows) / 7, 1) * 7
    return pd.DataFrame(
        {
            "user_id": rng.integers(0, users, size=rows).astype(str),
            "event": ev,
            "ts": (D + pd.to_timedelta(secs, unit="s")).astype("datetime64[us]"),
            "amount": np.where(ev == "buy", np.round(rng.normal(50, 40, size=rows), 2), np.nan),
            "category": rng.integers(0, 40, size=rows).astype(str),
        }
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_random_logs_equal(seed):
    log = _random_log(seed)
    _equal(log)
    _equal(log, start=D + pd.Timedelta(days=2), end=D + pd.Timedelta(days=15), session_gap_minutes=45)


@pytest.mark.parametrize("returns", ["exclude", "net"])
def test_with_orders_equal(returns):
    log = _random_log(3)
    con = ibis.duckdb.connect()
    t = con.create_table("ev", log)
    buys = log[log["event"] == "buy"].reset_index(drop=True)
    orders = buys.assign(order_id=(buys.index // 2).astype(str))  # two lines per order
    orders.loc[orders.index[::5], "amount"] *= -1  # returns
    orders.loc[orders.index[3], "user_id"] = None  # no user: matches nobody on either path
    o = con.create_table("orders", orders)
    out = _equal(t, orders=o, returns=returns, start=D, end=D + pd.Timedelta(days=12))
    assert out["n_orders"].sum() > 0


def test_spend_is_summed_exactly():
    """``spend`` is an exact sum (decimals to 6 places, as RFM's M) on both paths, from buy events and from an
    orders table: the same amounts in another order give 0.6 to the bit (as floats, 0.1 + 0.2 + 0.3 is not
    0.3 + 0.2 + 0.1)."""
    rows = [("a", "buy", 1, 0.1, "x"), ("a", "buy", 2, 0.2, "x"), ("a", "buy", 3, 0.3, "x")]
    rows += [("b", "buy", 1, 0.3, "x"), ("b", "buy", 2, 0.2, "x"), ("b", "buy", 3, 0.1, "x")]
    ev = _events(rows)
    assert _equal(ev)["spend"].tolist() == [0.6, 0.6]
    con = ibis.duckdb.connect()
    orders = con.create_table("orders", ev.assign(order_id=[f"o{i}" for i in range(len(ev))]))
    for returns in ("exclude", "net"):
        out = _equal(con.create_table("ev", ev, overwrite=True), orders=orders, returns=returns)
        assert out["spend"].tolist() == [0.6, 0.6]


def test_parquet_file_equal(tmp_path):
    path = tmp_path / "events.parquet"
    _random_log(4).to_parquet(path)
    _equal(ibis.duckdb.connect().read_parquet(str(path)), start=D, end=D + pd.Timedelta(days=20))


def test_values_by_hand():
    """User a: 0 s, 1,800 s, 3,600.000001 s (a new session: more than 30 minutes after the one before), and a
    buy of 10 at 2 days: 3 sessions, 2 days, mean gap (172,800 - 0) / 3 s = 16 h."""
    ev = _events(
        [
            ("a", "pv", 0, None, "x"),
            ("a", "pv", 1800, None, "x"),
            ("a", "cart", 3600.000001, None, "y"),
            ("a", "buy", 2 * 86400, 10.0, "y"),
        ]
    )
    out = _equal(ev, end=D + pd.Timedelta(days=10)).iloc[0]
    assert (out["sessions"], out["active_days"], out["n_categories"], out["n_orders"]) == (3, 2, 2, 1)
    assert out["mean_gap_hours"] == pytest.approx(16.0) and out["spend"] == 10.0 and out["preferred_hour"] == 0


def test_events_without_time_take_the_portable_path():
    ev = _events(EDGE["gap_boundary"] + [("a", "pv", None, None, "x")])
    t = ibis.duckdb.connect().create_table("ev", ev)
    assert (
        features_fast.aggregate(
            features_fast.compiled(t),
            names={"pv": "pv", "cart": "cart"},
            user_col="user_id",
            ts_col="ts",
            event_col="event",
            amount_col=None,
            category_col=None,
            event_types=["cart", "pv"],
            buys=[],
            order_counts=False,
            gap_seconds=GAP,
            cut=None,
        )
        is None
    )
    pd.testing.assert_frame_equal(user_features(t, fast=True), user_features(t, fast=False))


def test_source_session_ids_take_the_portable_path():
    ev = _events(EDGE["gap_boundary"]).assign(session_id=["s1", "s1", None, "s2", "s9"])
    t = ibis.duckdb.connect().create_table("ev", ev)
    assert not features_fast.applies(t, session_col="session_id")
    assert features_fast.applies(t, session_col="sid")


def _typed(ev: pd.DataFrame, ts_type: str, cat_type: str = "VARCHAR"):
    """``ev`` as a DuckDB table whose ``ts`` has the DuckDB type ``ts_type`` and ``category`` ``cat_type``
    (Ibis's own tables keep microseconds)."""
    con = ibis.duckdb.connect()
    con.create_table("raw", ev)
    con.raw_sql(
        f"CREATE TABLE ev AS SELECT * REPLACE (CAST(ts AS {ts_type}) AS ts, CAST(category AS {cat_type}) AS category)"
        " FROM raw"
    )
    return con.table("ev")


def _fast_answer(t, **kw):
    """What the fast query returned inside ``user_features(t, fast=True)`` (None: it stepped aside)."""
    ran = []
    with pytest.MonkeyPatch.context() as mp:
        real = features_fast.aggregate
        mp.setattr(features_fast, "aggregate", lambda *a, **k: ran.append(real(*a, **k)) or ran[-1])
        user_features(t, fast=True, **kw)
    assert len(ran) == 1
    return ran[0]


@pytest.mark.parametrize("ts_type", ["TIMESTAMP_S", "TIMESTAMP_MS"])
def test_times_in_other_units_equal(ts_type):
    """Sessions, dates and hours are counted in the column's own unit: seconds, milliseconds."""
    _equal(_typed(_random_log(5, rows=3_000), ts_type))


def test_nanosecond_times_take_the_portable_path():
    """Nanoseconds: the fast path steps aside. (On DuckDB the portable path takes the time before plus the gap to
    the microsecond, so 11:00:00.000000001, exactly 30 minutes after 10:30:00.000000001, starts a session.)"""
    con = ibis.duckdb.connect()
    con.raw_sql(
        "CREATE TABLE ev AS SELECT * FROM (VALUES ('a', 'pv', TIMESTAMP_NS '2024-03-01 10:00:00', 'x'),"
        " ('a', 'pv', TIMESTAMP_NS '2024-03-01 10:30:00.000000001', 'x'),"
        " ('a', 'pv', TIMESTAMP_NS '2024-03-01 11:00:00.000000001', 'y')) AS v(user_id, event, ts, category)"
    )
    t = con.table("ev")
    assert _fast_answer(t) is None
    out = user_features(t, fast=True)
    pd.testing.assert_frame_equal(out, user_features(t, fast=False))
    assert (out["sessions"][0], out["active_days"][0], out["n_categories"][0]) == (3, 1, 2)


def test_times_before_1970_equal():
    """Dates and hours of times before 1970 (negative counts from 1970) are floored, as DuckDB's are."""
    log = _random_log(6, rows=3_000)
    log["ts"] = log["ts"] - (pd.Timestamp("2024-03-01") - pd.Timestamp("1969-12-25"))
    out = _equal(log)
    assert out["first_ts"].min() < pd.Timestamp("1970-01-01") < out["last_ts"].max()


def test_times_with_a_zone_take_the_portable_path():
    """Dates and hours of zoned times follow the session's zone: the fast path steps aside."""
    ev = _events(EDGE["hours"])
    t = ibis.duckdb.connect().create_table("ev", ev.assign(ts=ev["ts"].dt.tz_localize("Asia/Shanghai")))
    answer = features_fast.aggregate(
        features_fast.compiled(t),
        names={"pv": "pv"},
        user_col="user_id",
        ts_col="ts",
        event_col="event",
        amount_col=None,
        category_col="category",
        event_types=["pv"],
        buys=[],
        order_counts=False,
        gap_seconds=GAP,
        cut=None,
    )
    assert answer is None


@pytest.mark.parametrize("cat_type", ["VARCHAR", "BIGINT", "DOUBLE"])
def test_categories_of_every_type_counted_exactly(cat_type, monkeypatch):
    """Distinct categories are counted through their hashes (text and integers, when no two share a hash) or
    through the values themselves (other types, or hashes that collide): both equal the portable path."""
    log = _random_log(7, rows=3_000)
    _equal(_typed(log, "TIMESTAMP", cat_type))
    hashed = []
    real = features_fast._hashes_apart
    monkeypatch.setattr(features_fast, "_hashes_apart", lambda *a: hashed.append(real(*a)) or hashed[-1])
    _equal(_typed(log, "TIMESTAMP", cat_type))
    assert hashed == ([True] if cat_type != "DOUBLE" else [False])
    monkeypatch.setattr(features_fast, "_hashes_apart", lambda *a: False)  # as if two categories shared a hash
    _equal(_typed(log, "TIMESTAMP", cat_type))


def test_a_window_without_events_equal():
    out = _equal(_events(EDGE["hours"]), start=D + pd.Timedelta(days=5), end=D + pd.Timedelta(days=6))
    assert out.empty
