"""The DuckDB fast path of the RFM aggregation (helpers/rfm_fast.py) equals the portable Ibis path (helpers/rfm.py)
on hand-built edge cases (ties, nulls, negative amounts, one-order customers, ``as_of`` boundaries, no amounts,
integer ids), on a seeded random table, and on a hand-computed answer."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from helpers import rfm_fast
from helpers.rfm import rfm_table

D = pd.Timestamp("2024-03-01")


def _rows(rows) -> pd.DataFrame:
    """(user, order, hours after D or None, amount) rows -> an orders frame (``ts`` microseconds)."""
    df = pd.DataFrame(rows, columns=["user_id", "order_id", "h", "amount"])
    ts = [D + pd.Timedelta(hours=h) if h is not None and pd.notna(h) else pd.NaT for h in df["h"]]
    return df.assign(ts=pd.Series(ts, dtype="datetime64[us]")).drop(columns="h")


def _both(orders: pd.DataFrame, **kw):
    """(fast, portable) RFMTable on one DuckDB table; asserts the fast path applies."""
    t = ibis.duckdb.connect().create_table("orders", orders)
    assert rfm_fast.applies(t)
    return rfm_table(t, fast=True, **kw), rfm_table(t, fast=False, **kw)


def _equal(orders: pd.DataFrame, **kw):
    fast, slow = _both(orders, **kw)
    pd.testing.assert_frame_equal(fast.table, slow.table)
    assert (fast.as_of, fast.has_monetary, fast.returns, fast.negative_rows) == (
        slow.as_of,
        slow.has_monetary,
        slow.returns,
        slow.negative_rows,
    )
    return fast


EDGE = {
    # two lines of one order, two orders in the same second, a one-order customer
    "ties": [("a", "o1", 1, 10.0), ("a", "o1", 1, 5.0), ("a", "o2", 1, 7.0), ("b", "o3", 30, 3.0)],
    # null amount (an order, not in M), null order id (not an order), null time (an order without R)
    "nulls": [
        ("a", "o1", 2, None),
        ("a", "o2", 50, 4.0),
        ("b", None, 3, 9.0),
        ("b", "o3", None, 1.0),
        ("c", None, 5, 2.0),
        (None, "o4", 6, 8.0),
    ],
    # negative rows: netted or excluded; a customer with only negative rows disappears
    "negative": [
        ("a", "o1", 1, 20.0),
        ("a", "r1", 2, -5.0),
        ("b", "r2", 3, -7.0),
        ("c", "o2", 4, 0.0),
        ("c", "r3", 100, -1.0),
    ],
    # orders on both sides of midnights (the as_of cut and the day boundaries)
    "boundary": [("a", "o1", 23.999, 1.0), ("a", "o2", 24, 2.0), ("a", "o3", 47.5, 3.0), ("b", "o4", 0, 4.0)],
    "only_negative": [("a", "r1", 1, -2.0), ("b", "r2", 2, -3.0)],
}


@pytest.mark.parametrize("case", sorted(EDGE))
@pytest.mark.parametrize("returns", ["exclude", "net"])
def test_edge_cases_equal(case, returns):
    _equal(_rows(EDGE[case]), returns=returns)


@pytest.mark.parametrize("as_of", ["2024-03-02", "2024-03-03", "2024-03-05"])
def test_as_of_boundaries_equal(as_of):
    out = _equal(_rows(EDGE["boundary"] + EDGE["negative"]), as_of=as_of)
    assert (out.table["last_ts"] < pd.Timestamp(as_of)).all()


def test_no_amounts_and_integer_ids_equal():
    df = _rows(EDGE["ties"]).drop(columns="amount")
    out = _equal(df)
    assert not out.has_monetary and out.table["monetary"].isna().all()
    ints = _rows(EDGE["ties"]).assign(user_id=[7, 7, 7, 12], order_id=[1, 1, 2, 3])
    out = _equal(ints)
    assert out.table["user_id"].tolist() == ["12", "7"]


def test_hand_computed():
    """Hand-computed: a has orders o1 (15.0 in two lines) and o2 (7.0) on 2024-03-01, b one order on 03-02, and
    a return of 5.0 that ``exclude`` leaves out and counts."""
    rows = EDGE["ties"] + [("b", "r1", 31, -5.0)]
    out = _equal(_rows(rows))
    t = out.table.set_index("user_id")
    assert out.as_of == pd.Timestamp("2024-03-03") and out.negative_rows == 1
    assert t.loc["a", ["frequency", "monetary", "recency_days", "tenure_days", "purchase_days"]].tolist() == [
        2,
        22.0,
        2,
        2,
        1,
    ]
    assert t.loc["b", ["frequency", "monetary", "recency_days"]].tolist() == [1, 3.0, 1]
    net = _equal(_rows(rows), returns="net")
    assert net.table.set_index("user_id").loc["b", "monetary"] == -2.0 and net.negative_rows == 1


def test_money_is_summed_exactly():
    """M is an exact sum (decimals to 6 places) on both paths: customers with the same amounts in another order
    have the same M, 0.6 to the bit (as floats, 0.1 + 0.2 + 0.3 is 0.6000000000000001 and 0.3 + 0.2 + 0.1 is 0.6)."""
    assert 0.1 + 0.2 + 0.3 != 0.3 + 0.2 + 0.1
    rows = [("a", "o1", 1, 0.1), ("a", "o2", 2, 0.2), ("a", "o3", 3, 0.3)]
    rows += [("b", "o4", 1, 0.3), ("b", "o5", 2, 0.2), ("b", "o6", 3, 0.1)]
    for returns in ("exclude", "net"):
        for out in _both(_rows(rows), returns=returns):
            assert out.table.set_index("user_id")["monetary"].tolist() == [0.6, 0.6]


@pytest.mark.parametrize("seed", [0, 1])
def test_seeded_random_equal(seed):
    rng = np.random.default_rng(seed)
    n = 3000
    users = rng.integers(0, 300, n)
    order = rng.integers(0, 1500, n)  # shared order ids across lines (and, rarely, across users)
    hours = rng.integers(0, 24 * 40, n) + rng.random(n)
    amount = np.round(rng.normal(30, 40, n), 2)  # about a fifth negative
    df = pd.DataFrame(
        {
            "user_id": [f"u{u:03d}" for u in users],
            "order_id": [f"o{o}" for o in order],
            "ts": (D + pd.to_timedelta(hours, unit="h")).astype("datetime64[us]"),
            "amount": amount,
        }
    )
    df.loc[rng.random(n) < 0.03, "amount"] = np.nan
    df.loc[rng.random(n) < 0.01, "order_id"] = None
    for returns in ("exclude", "net"):
        out = _equal(df, returns=returns)
        assert out.negative_rows > 0 and len(out.table) > 250
    _equal(df, as_of="2024-03-20")
