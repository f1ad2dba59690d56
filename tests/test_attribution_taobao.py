"""Attribution on the real Taobao sample (params/taobao.yaml ``attribution:``): no channel column, so the touches
are the interactions before a purchase (pv, fav, cart: which interaction deserves the credit), the conversions are
the buys. Every model's credits sum to all the buys, and first- and last-touch credits equal an independent pandas
computation (per user, each touch belongs to the next buy at or after it, within the look-back)."""

import numpy as np
import pandas as pd

from helpers.attribution import MODELS, NO_TOUCH, build_journeys, conversion_table, credit_table, touch_table
from helpers.params import load_params

from .conftest import ROOT, TAOBAO, need


def _events() -> pd.DataFrame:
    raw = pd.read_csv(TAOBAO)
    raw["ts"] = pd.to_datetime(raw.timestamp, unit="s", utc=True).dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    raw = raw[(raw.ts >= "2017-11-25") & (raw.ts < "2017-12-04")].drop_duplicates()
    return pd.DataFrame({"user_id": raw.user_id.astype(str), "event": raw.behavior_type, "ts": raw.ts}).astype(
        {"ts": "datetime64[us]"}
    )


def _pandas_first_last(ev: pd.DataFrame, touch_events, conversion: str, lookback_days: float):
    """Independent: per user, the distinct instants of buys, sorted (the sample has no order ids: a user's buys at
    one instant are one order); a touch goes to the first buy at or after it (searchsorted), if that buy is at most
    ``lookback_days`` later; first / last touch by (time, channel)."""
    look = pd.Timedelta(days=lookback_days)
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    n_conv = untouched = 0
    for _, g in ev.groupby("user_id"):
        buys = np.unique(g.loc[g["event"] == conversion, "ts"].to_numpy())
        n_conv += len(buys)
        tch = g[g["event"].isin(touch_events)].sort_values(["ts", "event"], kind="stable")
        k = np.searchsorted(buys, tch["ts"].to_numpy(), side="left")
        ok = k < len(buys)
        ok[ok] = tch["ts"].to_numpy()[ok] >= buys[k[ok]] - look
        journeys = tch[ok].assign(k=k[ok]).groupby("k")["event"]
        for ch in journeys.first():
            first[ch] = first.get(ch, 0) + 1
        for ch in journeys.last():
            last[ch] = last.get(ch, 0) + 1
        untouched += len(buys) - journeys.ngroups
    return first, last, n_conv, untouched


@need(TAOBAO)
def test_taobao_credits_sum_to_the_buys_and_first_last_match_pandas():
    p = load_params(ROOT / "params" / "taobao.yaml").attribution
    assert p is not None and p.touch_col is None and set(p.touch_events) == {"pv", "fav", "cart"}
    ev = _events()
    tch = touch_table(ev, touch_col=None, touch_events=p.touch_events)
    conv = conversion_table(ev, event=p.conversion_event, value_col=p.value_col)
    touches, journeys = build_journeys(tch, conv, lookback_days=p.lookback_days)
    ct = credit_table(touches, journeys, direct=p.direct, bootstrap_reps=3, seed=p.seed)
    rows = ev[ev["event"] == p.conversion_event]
    buys = len(rows.drop_duplicates(["user_id", "ts"]))  # orders: a user's buys at one instant are one
    assert journeys["converted"].sum() == buys == 1579 and len(rows) == 1749
    sums = ct.groupby("model")["conversions"].sum()
    assert sorted(sums.index) == sorted(MODELS) and np.allclose(sums, buys)

    first, last, n_conv, untouched = _pandas_first_last(ev, p.touch_events, p.conversion_event, p.lookback_days)
    assert n_conv == buys
    none = ct[ct["channel"] == NO_TOUCH]
    assert (none["conversions"] == untouched).all() if untouched else none.empty
    for model, expected in (("first", first), ("last", last)):
        got = ct[(ct["model"] == model) & (ct["channel"] != NO_TOUCH) & (ct["conversions"] > 0)]
        assert got.set_index("channel")["conversions"].to_dict() == expected, model
    # page views are most of the touches: they open and close most purchase journeys
    f, la = ct[ct["model"] == "first"].set_index("channel"), ct[ct["model"] == "last"].set_index("channel")
    assert f["conversions"].idxmax() == "pv" and la["conversions"].idxmax() == "pv"
