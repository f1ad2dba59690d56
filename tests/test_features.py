"""The shared per-user feature builder: hand-computed values, window bounds, and no leakage."""

import numpy as np
import pandas as pd
import pytest

from helpers.features import user_features

EV = pd.DataFrame(
    {
        "user_id": ["a", "a", "a", "a", "b", "b"],
        "event": ["pv", "pv", "buy", "pv", "pv", "cart"],
        "ts": pd.to_datetime(
            [
                "2024-01-01 10:00",
                "2024-01-01 10:10",
                "2024-01-01 20:00",
                "2024-01-10 21:00",
                "2024-01-05 09:00",
                "2024-01-12 09:00",
            ]
        ),
        "amount": [np.nan, np.nan, 50.0, np.nan, np.nan, np.nan],
        "category": ["x", "y", "x", "x", "z", "z"],
    }
)


def test_values_by_hand():
    assert "n_cart" not in user_features(EV, end="2024-01-11").columns  # event types found in the window
    f = user_features(EV, end="2024-01-11", event_types=["pv", "cart", "buy"]).set_index("user_id")
    a = f.loc["a"]
    assert (a.n_events, a.n_pv, a.n_buy, a.active_days, a.n_orders, a.has_buy, a.n_categories) == (4, 3, 1, 2, 1, 1, 2)
    assert a.spend == 50.0 and a.sessions == 3  # 10:00-10:10 one session, 20:00 another, 01-10 a third
    assert a.days_since_last_event == pytest.approx(3 / 24)  # 21:00 -> midnight
    assert a.tenure_days == pytest.approx(9 + 14 / 24)
    assert a.mean_gap_hours == pytest.approx((10 / 60 + (9 + 50 / 60) + (9 * 24 + 1)) / 3)
    assert a.evening_share == 0.5 and a.preferred_hour == 10
    assert a.trend == pytest.approx((1 / 7) / (3 / 3))  # window from 01-01: 3 days before the last 7
    b = f.loc["b"]
    assert b.n_events == 1 and b.n_cart == 0 and b.spend == 0.0  # the 01-12 cart is outside [.., end)


def test_window_bounds_start_inclusive_end_exclusive():
    f = user_features(EV, start="2024-01-01 10:10", end="2024-01-10 21:00").set_index("user_id")
    assert f.loc["a", "n_events"] == 2  # 10:10 (start) and 20:00; 21:00 (end) excluded
    f2 = user_features(EV, start="2024-01-06")
    assert f2.user_id.tolist() == ["a", "b"] and f2.set_index("user_id").loc["b", "n_cart"] == 1


def test_preferred_hour_ties_to_the_earlier_hour():
    """Hand-counted: u has 21:00 x2, 09:00 x2, 05:00 x1 -> 9; v has 23:00 x3, 00:00 x2 -> 23; w one event at 0."""
    hours = {"u": [21, 9, 21, 5, 9], "v": [0, 23, 23, 0, 23], "w": [0]}
    rows = [
        (u, pd.Timestamp("2024-01-01") + pd.Timedelta(days=i, hours=h))
        for u, hs in hours.items()
        for i, h in enumerate(hs)
    ]
    ev = pd.DataFrame(rows, columns=["user_id", "ts"]).assign(event="pv")
    f = user_features(ev).set_index("user_id")
    assert f["preferred_hour"].to_dict() == {"u": 9, "v": 23, "w": 0}


def test_session_ids_are_used_when_present():
    ev = EV.assign(session_id=["s1", "s1", "s1", "s2", "s3", "s4"])
    f = user_features(ev, end="2024-01-11").set_index("user_id")
    assert f.loc["a", "sessions"] == 2


def test_no_leakage_rows_at_or_after_end_are_never_read():
    end = "2024-01-08"
    base = user_features(EV, end=end, event_types=["pv", "cart", "buy"])
    rng = np.random.default_rng(0)
    late = EV.ts >= pd.Timestamp(end)
    altered = EV.copy()
    altered.loc[late, "event"] = "buy"
    altered.loc[late, "amount"] = 1e6
    altered.loc[late, "ts"] = altered.loc[late, "ts"] + pd.to_timedelta(rng.integers(0, 100, late.sum()), unit="h")
    extra = pd.DataFrame(
        {
            "user_id": ["a", "zzz"],
            "event": ["buy", "pv"],
            "ts": pd.to_datetime(["2024-01-08", "2024-02-01"]),
            "amount": [9.0, np.nan],
            "category": ["q", "q"],
        }
    )
    changed = user_features(pd.concat([altered, extra], ignore_index=True), end=end, event_types=["pv", "cart", "buy"])
    pd.testing.assert_frame_equal(base, changed)


ORDERS = pd.DataFrame(
    {
        "user_id": ["a", "a", "a", "a", "a", "zzz"],
        "order_id": ["O1", "O1", "O2", "R1", "O4", "Z1"],
        "ts": pd.to_datetime(
            [
                "2024-01-01 20:00",  # O1: two lines of one order
                "2024-01-01 20:00",
                "2024-01-10 21:00",
                "2024-01-05 12:00",  # R1: a return (negative amount)
                "2024-01-11 00:00",  # O4: at the window's end, not in it
                "2024-01-02 00:00",  # a customer without events: not a row of the features
            ]
        ),
        "amount": [30.0, 20.0, 10.0, -5.0, 1000.0, 7.0],
    }
)


def test_orders_give_n_orders_and_spend_as_rfm_counts_them():
    """With the campaign's orders, n_orders is distinct order ids and spend their amounts in [start, end);
    returns are ignored or netted, never orders (the old features counted events named buy/pay/order)."""
    f = user_features(EV, end="2024-01-11", orders=ORDERS).set_index("user_id")
    assert f.index.tolist() == ["a", "b"]
    assert (f.loc["a", "n_orders"], f.loc["a", "spend"]) == (2, 60.0)
    assert (f.loc["b", "n_orders"], f.loc["b", "spend"]) == (0, 0.0)
    assert f.loc["a", "has_buy"] == 1  # buy_events still name the has_<event> columns
    net = user_features(EV, end="2024-01-11", orders=ORDERS, returns="net", buy_events=()).set_index("user_id")
    assert (net.loc["a", "n_orders"], net.loc["a", "spend"]) == (2, 55.0) and "has_buy" not in net
    # the same numbers as the RFM table of those orders
    from helpers.rfm import rfm_table

    r = rfm_table(ORDERS[ORDERS.ts < "2024-01-11"]).table.set_index("user_id")
    assert (r.loc["a", "frequency"], r.loc["a", "monetary"]) == (2, 60.0)
    # orders without amounts (Taobao): spend is unknown, not 0
    for no_amount in (ORDERS.drop(columns="amount"), ORDERS.assign(amount=np.nan)):
        f = user_features(EV, end="2024-01-11", orders=no_amount).set_index("user_id")
        assert f.loc["a", "n_orders"] == 3 and f["spend"].isna().all()  # R1 is an order when nothing says return
    with pytest.raises(ValueError, match="rfm.returns"):
        user_features(EV, orders=ORDERS, returns="gross")


def test_orders_follow_the_window_without_leakage():
    late = ORDERS.assign(amount=ORDERS.amount.where(ORDERS.ts < "2024-01-08", 1e6))
    a = user_features(EV, start="2024-01-01", end="2024-01-08", orders=ORDERS)
    b = user_features(EV, start="2024-01-01", end="2024-01-08", orders=late)
    pd.testing.assert_frame_equal(a, b)
    assert a.set_index("user_id").loc["a", "spend"] == 50.0  # O1 only: O2 is after the window


@pytest.mark.parametrize("with_orders", [False, True])
def test_arrow_conversion_on_duckdb_gives_the_frame_of_ibis_conversion(monkeypatch, with_orders):
    """On DuckDB the feature frame comes through Arrow's pandas conversion (faster: Ibis's turns every column
    with a null into Python objects first). Same frame, dtypes included, as Ibis's own conversion, on a log with
    nulls in the joined columns: one-event users (no gap), users without orders, partial session ids."""
    import helpers.features as features_module

    rng = np.random.default_rng(7)
    n = 3000
    ev = pd.DataFrame(
        {
            "user_id": rng.choice([f"u{i}" for i in range(400)], n),
            "event": rng.choice(["pv", "cart", "buy", "fav"], n, p=[0.7, 0.15, 0.05, 0.1]),
            "ts": pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 30 * 86400, n), unit="s"),
            "amount": np.where(rng.random(n) < 0.05, rng.gamma(2.0, 30.0, n).round(2), np.nan),
            "category": rng.choice(["a", "b", "c", None], n),
            "session_id": np.where(rng.random(n) < 0.5, rng.choice(["s1", "s2", "s3"], n), None),
        }
    )
    ev = pd.concat([ev, pd.DataFrame({"user_id": ["solo"], "event": ["pv"], "ts": [pd.Timestamp("2024-03-05")]})])
    orders = None
    if with_orders:
        buys = ev[ev.event == "buy"].head(60)
        orders = pd.DataFrame(
            {"user_id": buys.user_id, "order_id": [f"o{i // 2}" for i in range(len(buys))], "ts": buys.ts,
             "amount": buys.amount.fillna(10.0)}
        )  # fmt: skip
    kw = {"start": "2024-03-02", "end": "2024-03-28", "orders": orders}
    fast = user_features(ev, **kw)
    monkeypatch.setattr(features_module, "to_pandas", lambda t: t.to_pandas())  # Ibis's own conversion
    ibis_frame = user_features(ev, **kw)
    assert fast["mean_gap_hours"].isna().any()  # the nulls this is about are there
    pd.testing.assert_frame_equal(fast, ibis_frame, check_exact=True)


def test_preferred_hour_is_the_mode_earliest_on_ties_random_logs():
    """Independent: per user the hour with the most events (the earliest of tied hours), computed in pandas."""
    rng = np.random.default_rng(11)
    n = 20_000
    ev = pd.DataFrame(
        {
            "user_id": rng.choice([f"u{i}" for i in range(300)], n),
            "event": "pv",
            # few hours per user, so ties are common; hours 0 and 23 included
            "ts": pd.Timestamp("2024-03-01")
            + pd.to_timedelta(rng.integers(0, 20, n), unit="D")
            + pd.to_timedelta(rng.choice([0, 1, 9, 22, 23], n), unit="h"),
        }
    )
    got = user_features(ev).set_index("user_id")["preferred_hour"]
    counts = ev.assign(h=ev.ts.dt.hour).groupby(["user_id", "h"]).size().reset_index(name="n")
    want = counts.sort_values(["user_id", "n", "h"], ascending=[True, False, True]).drop_duplicates("user_id")
    assert got.to_dict() == want.set_index("user_id")["h"].to_dict()
