"""Attribution models and drivers on hand-made journeys and tables (helpers/attribution_models.py,
helpers/attribution.py, helpers/drivers.py)."""

import math
from itertools import permutations

import numpy as np
import pandas as pd
import pytest

from helpers import attribution_fast
from helpers.attribution import MODELS, NO_TOUCH, build_journeys, conversion_table, credit_table, touch_table
from helpers.attribution_models import (
    _conversion_probability,
    bootstrap_credits,
    markov_credits,
    markov_removal_effects,
    rule_credits,
    shapley_from_game,
    shapley_values,
)
from helpers.drivers import (
    conversion_driver_counts,
    conversion_drivers,
    funnel_drivers,
    note_text,
    odds_ratio_table,
    phi_band,
    retention_driver_counts,
    retention_drivers,
    retention_drivers_for,
    show_drivers,
    skew_warning,
)
from helpers.i18n import language, t
from helpers.sections_attribution import DriversParams
from helpers.steps import Step
from tests.conftest import ROOT

T0 = pd.Timestamp("2024-01-01 00:00")


def hand():
    """J1: A, B, C at -2h, -1h, 0h, value 100; J2: C, value 50; J3: D (direct), A, D, value 10; J4: B, no conversion."""
    h = pd.Timedelta(hours=1)
    touches = pd.DataFrame(
        [("J1", "A", T0 - 2 * h), ("J1", "B", T0 - h), ("J1", "C", T0), ("J2", "C", T0 - 3 * h),
         ("J3", "D", T0 - 3 * h), ("J3", "A", T0 - 2 * h), ("J3", "D", T0 - h), ("J4", "B", T0)],
        columns=["journey", "channel", "ts"],
    )  # fmt: skip
    journeys = pd.DataFrame(
        {"journey": ["J1", "J2", "J3", "J4"], "user_id": ["u1", "u2", "u3", "u4"],
         "converted": [True, True, True, False], "value": [100.0, 50.0, 10.0, 0.0],
         "conv_ts": [T0, T0, T0, pd.NaT], "touches": [3, 1, 3, 1]}
    )  # fmt: skip
    return touches, journeys


EXPECTED = {  # conversions per channel, by hand
    "first": {"A": 1, "C": 1, "D": 1},
    "last": {"C": 2, "D": 1},
    "last_non_direct": {"C": 2, "A": 1},
    "linear": {"A": 1 / 3 + 1 / 3, "B": 1 / 3, "C": 1 / 3 + 1, "D": 2 / 3},
    "position": {"A": 0.4 + 0.2, "B": 0.2, "C": 0.4 + 1, "D": 0.8},
    # half-life 1 h: J1 weights 0.25, 0.5, 1 (/1.75); J3 touches 3h, 2h, 1h before: 0.125, 0.25, 0.5 (/0.875)
    "time_decay": {"A": 0.25 / 1.75 + 0.25 / 0.875, "B": 0.5 / 1.75, "C": 1 / 1.75 + 1, "D": 0.625 / 0.875},
}


@pytest.mark.parametrize("model", list(EXPECTED))
def test_rule_models_by_hand(model):
    touches, journeys = hand()
    c = rule_credits(touches, journeys, model, direct="D", half_life_hours=1.0).set_index("channel")
    got = c["conversions"][c["conversions"] > 0].to_dict()
    assert got == pytest.approx(EXPECTED[model])
    assert c["conversions"].sum() == pytest.approx(3)
    assert c["value"].sum() == pytest.approx(160)
    if model == "linear":  # value: J1 100/3 each, J2 50 to C, J3 10/3 each touch
        assert c.at["C", "value"] == pytest.approx(100 / 3 + 50)
        assert c.at["D", "value"] == pytest.approx(20 / 3)


def test_position_two_touches_and_custom_weights():
    touches = pd.DataFrame({"journey": ["J", "J", "K", "K", "K", "K"], "channel": ["A", "B", "A", "B", "C", "D"],
                            "ts": [T0] * 6})  # fmt: skip
    journeys = pd.DataFrame({"journey": ["J", "K"], "user_id": ["u", "v"], "converted": True, "value": 1.0,
                             "conv_ts": T0})  # fmt: skip
    c = rule_credits(touches, journeys, "position", first_weight=0.3, last_weight=0.5).set_index("channel")
    # J: 0.3/0.8 and 0.5/0.8; K: 0.3, 0.1, 0.1, 0.5
    assert c["conversions"].to_dict() == pytest.approx({"A": 0.375 + 0.3, "B": 0.625 + 0.1, "C": 0.1, "D": 0.5})


def _markov_brute(paths, converted, removed=None, steps=400):
    """P(conversion) by pushing the start distribution through the chain step by step (no linear solve)."""
    chans = sorted({c for p in paths for c in p})
    states = ["start", *chans, "conv", "null"]
    ix = {s: i for i, s in enumerate(states)}
    cnt = np.zeros((len(states), len(states)))
    for p, conv in zip(paths, converted, strict=True):
        seq = ["start", *p, "conv" if conv else "null"]
        for a, b in zip(seq[:-1], seq[1:], strict=True):
            cnt[ix[a], ix[b]] += 1
    P = cnt / np.where(cnt.sum(1, keepdims=True) == 0, 1, cnt.sum(1, keepdims=True))
    P[ix["conv"], ix["conv"]] = P[ix["null"], ix["null"]] = 1
    if removed is not None:
        r = ix[removed]
        for s in range(len(states)):  # whoever would go to the removed channel goes to null instead
            P[s, ix["null"]] += P[s, r]
            P[s, r] = 0
    x = np.zeros(len(states))
    x[0] = 1
    for _ in range(steps):
        x = x @ P
    return x[ix["conv"]]


def test_markov_removal_effect_against_brute_force():
    paths = [("A", "B"), ("A",), ("B",), ("A", "B", "A"), ("C",), ("C", "A"), ("B", "B", "C"), ("A", "C")]
    conv = np.array([True, False, True, False, False, True, True, True])
    re = markov_removal_effects(paths, conv).set_index("channel")
    base = _markov_brute(paths, conv)
    assert re.attrs["p_conversion"] == pytest.approx(base)
    for ch in "ABC":
        assert re.at[ch, "removal_effect"] == pytest.approx(1 - _markov_brute(paths, conv, ch) / base)
    # a one-channel world: removing the only channel removes every conversion
    one = markov_removal_effects([("A",), ("A", "A")], np.array([True, False]))
    assert one["removal_effect"].iloc[0] == pytest.approx(1.0)


def test_markov_credits_sum_to_totals():
    touches, journeys = hand()
    c = markov_credits(touches, journeys)
    assert c["conversions"].sum() == pytest.approx(3) and c["value"].sum() == pytest.approx(160)
    assert _conversion_probability(np.array([[1.0, 0, 0], [0, 1.0, 1.0]])) == pytest.approx(0.5)


def _brute_shapley(k, v):
    out = np.zeros(k)
    orders = list(permutations(range(k)))
    for order in orders:
        s = 0
        for i in order:
            out[i] += v(s | 1 << i) - v(s)
            s |= 1 << i
    return out / len(orders)


def test_shapley_axioms_on_constructed_games():
    # players 0 and 1 symmetric, player 2 null, player 3 adds 5 on its own
    def v(s):
        a, b, d = s & 1, s >> 1 & 1, s >> 3 & 1
        return 10.0 * (a and b) + 4.0 * (a or b) + 5.0 * d

    phi, se, exact = shapley_from_game(4, v)
    assert exact and np.isnan(se).all()
    assert phi.sum() == pytest.approx(v(0b1111) - v(0))  # efficiency
    assert phi[0] == pytest.approx(phi[1])  # symmetry
    assert phi[2] == pytest.approx(0.0)  # null player
    assert phi[3] == pytest.approx(5.0)
    assert phi == pytest.approx(_brute_shapley(4, v))
    # sampled: unbiased within a few standard errors, and efficient exactly
    ps, se, exact = shapley_from_game(4, v, exact_max=2, samples=3000, seed=1)
    assert not exact and ps.sum() == pytest.approx(v(0b1111))
    assert np.all(np.abs(ps - phi) <= 4 * se + 1e-9)


def test_shapley_on_journeys_matches_brute_force_and_sums_to_rate():
    touches, journeys = hand()
    sv = shapley_values(touches, journeys)
    chans = sorted(touches["channel"].unique())
    sets = {j: frozenset(g) for j, g in touches.groupby("journey")["channel"]}

    def v(s):  # conversion rate of the journeys whose channels all lie in s
        inside = [j for j, cs in sets.items() if all(1 << chans.index(c) & s for c in cs)]
        return journeys.set_index("journey").loc[inside, "converted"].mean() if inside else 0.0

    assert sv["shapley"].to_numpy() == pytest.approx(_brute_shapley(len(chans), v))
    assert sv["shapley"].sum() == pytest.approx(3 / 4)


def test_credit_table_every_model_sums_to_total_and_bootstrap_is_seeded():
    touches, journeys = hand()
    ct = credit_table(touches, journeys, direct="D", bootstrap_reps=5, seed=3)
    assert set(ct["model"]) == set(MODELS)
    sums = ct.groupby("model")[["conversions", "value"]].sum()
    assert np.allclose(sums["conversions"], 3) and np.allclose(sums["value"], 160)
    again = credit_table(touches, journeys, direct="D", bootstrap_reps=5, seed=3)
    pd.testing.assert_frame_equal(ct, again)
    b = bootstrap_credits(touches, journeys, markov_credits, reps=30, seed=0)
    assert (b["ci_low"] <= b["ci_high"]).all() and set(b["channel"]) <= set("ABCD")
    assert NO_TOUCH not in set(ct["channel"])  # every conversion had a touch: no bucket


def test_conversions_without_a_touch_go_to_the_no_touch_bucket_in_every_model():
    touches, journeys = hand()
    extra = pd.DataFrame({"journey": ["J5", "J6"], "user_id": ["u5", "u6"], "converted": True, "value": [7.0, 3.0],
                          "conv_ts": T0, "touches": 0})  # fmt: skip
    ct = credit_table(touches, pd.concat([journeys, extra], ignore_index=True), direct="D", bootstrap_reps=3)
    sums = ct.groupby("model")[["conversions", "value"]].sum()
    assert np.allclose(sums["conversions"], 5) and np.allclose(sums["value"], 170)  # 3 + 2 conversions, 160 + 10
    none = ct[ct["channel"] == NO_TOUCH].set_index("model")
    assert sorted(none.index) == sorted(MODELS)
    assert (none["conversions"] == 2).all() and (none["value"] == 10).all() and np.allclose(none["share"], 2 / 5)
    # the touched conversions' credits are unchanged by the bucket
    alone = credit_table(touches, journeys, direct="D", bootstrap_reps=3).set_index(["model", "channel"])
    got = ct[ct["channel"] != NO_TOUCH].set_index(["model", "channel"])
    pd.testing.assert_series_equal(got["conversions"], alone["conversions"])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_text_says_where_untouched_conversions_go(lang):
    """The page's narrative of journeys and credits names the no-touch bucket, as the table has it (it said such
    conversions get no credit, and each column summed to the touched conversions, beside a "(no touch)" row)."""
    import nbformat

    nb = nbformat.read(ROOT / "notebooks" / "attribution.ipynb", as_version=4)
    tagged = [c.source for c in nb.cells if c.cell_type == "markdown" and f"lang-{lang}" in c.metadata.get("tags", [])]
    heads = {"zh": ("## 旅程", "## 各渠道在各模型下的功劳"), "en": ("## Journeys", "## Credit per channel")}[lang]
    journeys, credits = (next(s for s in tagged if s.startswith(head)) for head in heads)
    with language(lang):
        bucket = t("attribution.no_touch")
    assert bucket in journeys and bucket in credits
    assert not any(x in journeys + credits for x in ("no credit", "不分配功劳", "at least one touch", "至少有一个触点"))


def events_frame():
    d = pd.Timestamp("2024-01-01")
    rows = [  # user, event, ts (hours after d), session, source
        ("u1", "launch", 0, "s1", "A"), ("u1", "view", 1, "s1", None), ("u1", "launch", 30, "s2", "B"),
        ("u1", "pay", 31, "s2", None), ("u1", "launch", 40, "s3", "A"), ("u1", "pay", 41, "s3", None),
        ("u1", "launch", 50, "s4", "C"),
        ("u2", "launch", 0, "s5", "B"), ("u2", "launch", 2, "s5", "B"), ("u2", "pay", 24 * 40, "s6", None),
        ("u3", "launch", 5, "s7", "C"),
    ]  # fmt: skip
    return pd.DataFrame(
        {"user_id": [r[0] for r in rows], "event": [r[1] for r in rows],
         "ts": [(d + pd.Timedelta(hours=r[2])) for r in rows], "session_id": [r[3] for r in rows],
         "utm_source": [r[4] or "" for r in rows], "amount": [10.0 if r[1] == "pay" else None for r in rows]}
    ).astype({"ts": "datetime64[us]"})  # fmt: skip


def test_build_journeys_by_hand():
    ev = events_frame()
    tch = touch_table(ev, touch_col="utm_source")
    conv = conversion_table(ev, event="pay", value_col="amount")
    touches, journeys = build_journeys(tch, conv, lookback_days=30)
    paths = touches.groupby("journey")["channel"].agg(" > ".join).to_dict()
    # u1: A, B before pay 1; A before pay 2; C after; u2: the two B touches of one session count once, 40 days
    # before the pay: outside the look-back (no touch); u3: C, never converts
    assert paths == {"u1#1": "A > B", "u1#2": "A", "u1#-": "C", "u3#-": "C"}
    j = journeys.set_index("journey")
    assert j.loc["u2#1", "touches"] == 0 and bool(j.loc["u2#1", "converted"])
    assert j["converted"].sum() == 3 and j["value"].sum() == 30


def test_touches_without_a_session_id_count_each():
    """A session's touches of one channel count once; touches without a session id each count (null ids grouped
    as one session: three ``ads`` touches on days 1, 5 and 9 of a log without session ids made one touch)."""
    d = pd.Timestamp("2024-01-01")
    ev = pd.DataFrame({"user_id": "u1", "event": "launch", "utm_source": "ads",
                       "ts": [d, d + pd.Timedelta(days=4), d + pd.Timedelta(days=8), d + pd.Timedelta(days=9),
                              d + pd.Timedelta(days=9, hours=1)],
                       "session_id": [None, None, None, "s1", "s1"]}).astype({"ts": "datetime64[us]"})  # fmt: skip
    got = touch_table(ev, touch_col="utm_source").to_pandas().sort_values("ts")
    assert list(got["ts"]) == list(ev["ts"].iloc[:4]) and set(got["channel"]) == {"ads"}
    no_ids = touch_table(ev.assign(session_id=None), touch_col="utm_source").to_pandas()
    assert len(no_ids) == 5


def test_orders_as_conversions_take_the_value_column_or_none():
    """Orders are conversions of their summed ``value_col``; ``value_col: null`` means no value, as for events (it
    summed ``amount`` whatever the params said)."""
    d = pd.Timestamp("2024-01-01")
    orders = pd.DataFrame({"user_id": ["u1", "u1", "u2"], "order_id": ["o1", "o1", "o2"], "amount": [3.0, 4.0, 5.0],
                           "net": [1.0, 1.0, 2.0], "ts": [d, d + pd.Timedelta(minutes=1), d]}).astype(
        {"ts": "datetime64[us]"})  # fmt: skip
    for col, want in (("amount", [7.0, 5.0]), ("net", [2.0, 2.0]), (None, [0.0, 0.0])):
        got = conversion_table(orders, event=None, value_col=col).to_pandas().sort_values("user_id")
        assert list(got["value"]) == want and list(got["ts"]) == [d, d], col


def plain(df: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns (the fast path's touches) as their text and times in ns: the values are compared, not
    the dtype or the time unit."""
    cat = {c: "str" for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)}
    return df.astype(cat | {c: "datetime64[ns]" for c in ("ts", "conv_ts") if c in df})


def test_fast_path_equals_the_portable_path():
    """The DuckDB fast path (numpy assignment) gives the portable Ibis path's frames: the hand case, and a seeded
    log with ties (minute timestamps, conversions at a touch's instant), a short look-back and repeat buyers."""
    ev = events_frame()
    tch, conv = touch_table(ev, touch_col="utm_source"), conversion_table(ev, event="pay", value_col="amount")
    assert attribution_fast.applies(tch)  # an in-memory table runs on Ibis's default backend, DuckDB
    fast, slow = build_journeys(tch, conv, lookback_days=30), build_journeys(tch, conv, lookback_days=30, fast=False)
    for a, b in zip(fast, slow, strict=True):
        pd.testing.assert_frame_equal(plain(a), plain(b), check_dtype=False)
    rng = np.random.default_rng(1)
    n = 4000
    ev = pd.DataFrame({"user_id": [f"u{i}" for i in rng.integers(0, 120, n)],
                       "event": rng.choice(["pv", "fav", "cart", "buy"], n, p=[0.6, 0.1, 0.15, 0.15]),
                       "ts": T0 + pd.to_timedelta(rng.integers(0, 60 * 24 * 10, n), unit="min"),
                       "amount": rng.gamma(2, 10, n)}).astype({"ts": "datetime64[us]"})  # fmt: skip
    tch = touch_table(ev, touch_col=None, touch_events=["pv", "fav", "cart"])
    conv = conversion_table(ev, event="buy", value_col="amount")
    fast, slow = build_journeys(tch, conv, lookback_days=1), build_journeys(tch, conv, lookback_days=1, fast=False)
    for a, b in zip(fast, slow, strict=True):
        pd.testing.assert_frame_equal(plain(a), plain(b), check_dtype=False)
    j = fast[1]
    assert (j["converted"] & (j["touches"] == 0)).any() and (~j["converted"]).any() and j["touches"].max() > 3
    # the models read the fast path's categorical codes (touch rows, channel codes): the same credits as from text
    credits = credit_table(*fast, bootstrap_reps=5, direct="cart")
    pd.testing.assert_frame_equal(credits, credit_table(plain(fast[0]), fast[1], bootstrap_reps=5, direct="cart"))
    pd.testing.assert_frame_equal(credits, credit_table(*slow, bootstrap_reps=5, direct="cart"))


def test_odds_ratio_against_hand_2x2():
    counts = pd.DataFrame({"candidate": ["event: fav"], "a": [30], "c": [10]})
    r = odds_ratio_table(counts, converters=50, dropoffs=100).iloc[0]
    a, b, c, d = 31, 21, 11, 91  # +1 smoothed
    assert (r["b"], r["d"], r["users"]) == (20, 90, 40)
    assert r["odds_ratio"] == pytest.approx(a * d / (b * c))
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    assert r["ci_low"] == pytest.approx(math.exp(math.log(a * d / (b * c)) - 1.96 * se))
    assert r["conversion_if_done"] == pytest.approx(0.75) and r["conversion_if_not"] == pytest.approx(20 / 110)
    dr = conversion_drivers(counts, converters=50, dropoffs=100, min_users=25)
    assert bool(dr["supported"].iloc[0]) and dr["direction"].iloc[0] == "positive"
    assert not conversion_drivers(counts, converters=50, dropoffs=100, min_users=41)["supported"].iloc[0]
    assert skew_warning(5, 995) and skew_warning(500, 500) is None


def test_the_conversion_finding_names_the_top_positive_driver_only():
    """docs/funnel.md: the findings name the top positive driver. By hand, 10 converters, 90 drop-offs: a done by
    1 converter and 40 drop-offs (odds ratio (2·51)/(10·41) = 0.249), b by 0 and 30 ((1·61)/(11·31) = 0.179):
    both supported, both negative, so no finding (it named a the top driver); c by 8 and 20 ((9·71)/(3·21) = 10.1)
    is named."""
    from helpers.drivers import driver_finding

    def counts(*rows):
        return pd.DataFrame(rows, columns=["candidate", "kind", "column", "value", "a", "c"])

    neg = counts(("event: a", "event", None, "a", 1, 40), ("event: b", "event", None, "b", 0, 30))
    dr = conversion_drivers(neg, converters=10, dropoffs=90, min_users=25)
    assert dr["odds_ratio"].tolist() == pytest.approx([102 / 410, 61 / 341]) and dr["supported"].all()
    with language("en"):
        assert driver_finding(dr, "conversion") is None
        both = counts(*neg.itertuples(index=False), ("event: c", "event", None, "c", 8, 20))
        f = driver_finding(conversion_drivers(both, converters=10, dropoffs=90, min_users=25), "conversion")
        assert f is not None and f.startswith("Top conversion driver: event c. 28.6% of the 28 users"), f
        assert "(odds ratio 10.14)" in f, f


def funnel_case():
    d = pd.Timestamp("2024-01-01")
    ev = pd.DataFrame(
        [("u1", "view", 0, "A"), ("u1", "fav", 1, "A"), ("u1", "pay", 2, "A"), ("u1", "search", 3, "A"),
         ("u2", "view", 0, "B"), ("u2", "search", 1, "B"), ("u3", "view", 0, "A"), ("u3", "fav", 100, "A")],
        columns=["user_id", "event", "h", "channel"],
    )  # fmt: skip
    ev["ts"] = (d + pd.to_timedelta(ev.pop("h"), unit="h")).astype("datetime64[us]")
    users = pd.DataFrame({"user_id": ["u1", "u2", "u3"], "start": [d] * 3,
                          "t2": [d + pd.Timedelta(hours=2), pd.NaT, pd.NaT], "censored": False})  # fmt: skip
    return ev, users


def test_conversion_driver_counts_by_hand():
    ev, users = funnel_case()
    c, conv, drop = conversion_driver_counts(ev, users, n_steps=2, window_hours=72, step_events=["view", "pay"],
                                             columns=["channel"])  # fmt: skip
    got = {r.candidate: (r.a, r.c) for r in c.itertuples()}
    # u1 fav before paying (search after: not counted); u2 searched; u3's fav is after its 72 h window
    assert got == {"channel = A": (1, 1), "channel = B": (0, 1), "event: fav": (1, 0), "event: search": (0, 1)}
    assert (conv, drop) == (1, 2)
    # the parts the reader's label is built from, beside the machine form
    parts = {r.candidate: (r.kind, None if pd.isna(r.column) else r.column, r.value) for r in c.itertuples()}
    assert parts == {"channel = A": ("property", "channel", "A"), "channel = B": ("property", "channel", "B"),
                     "event: fav": ("event", None, "fav"), "event: search": ("event", None, "search")}  # fmt: skip


def test_retention_drivers_phi_by_hand():
    d = pd.Timestamp("2024-01-01")
    rows = []
    for i in range(8):  # u0..u3 search twice in week 1 and come back on day 14; u4..u7 do neither (u4 returns)
        u = f"u{i}"
        rows.append((u, "launch", d))
        if i < 4:
            rows += [(u, "search", d + pd.Timedelta(days=1)), (u, "search", d + pd.Timedelta(days=2))]
        if i < 4 or i == 4:
            rows.append((u, "launch", d + pd.Timedelta(days=14)))
    ev = pd.DataFrame(rows, columns=["user_id", "event", "ts"]).astype({"ts": "datetime64[us]"})
    counts, users = retention_driver_counts(ev, first_days=7, retained_day=14, period_end="2024-01-31")
    assert users["retained"].sum() == 5 and len(users) == 8
    r = retention_drivers(counts, users, thresholds=[2], min_users=1, min_share=0).set_index("event").loc["search"]
    a, b, c, dd = 4, 0, 1, 3
    assert r["phi"] == pytest.approx((a * dd - b * c) / math.sqrt(4 * 4 * 5 * 3))
    assert (r["ppv"], r["share"], r["retained_rate_not"]) == (1.0, 0.5, 0.25)
    assert phi_band(0.35) == "strong" and phi_band(-0.25) == "moderate" and phi_band(0.05) == "none"


def test_no_supported_driver_says_why_instead_of_an_empty_table():
    """Too few users for any candidate (the tianchi sample's 32 users): the part is the notes, with the threshold,
    not a table of headers only; with a threshold the data meets, the table is back."""
    ev, users = funnel_case()
    steps = [Step.of("view"), Step.of("pay")]
    table, notes = funnel_drivers(ev, users, steps, window_hours=72, params=DriversParams())
    assert len(table) == 4 and not table["supported"].any()
    assert notes[-1] == ("drivers.none_supported", {"candidates": 4, "need": 25, "users": 3})
    with language("zh"):
        text = note_text(notes[-1])
        assert "4 个候选因素中" in text and "至少 25 位用户" in text
        shown = show_drivers(table, notes, "conversion")
    assert type(shown).__name__ == "Markdown" and "至少 25 位用户" in shown.data
    with language("en"):
        assert "none of the 4 candidates was done by at least 25 users" in note_text(notes[-1])
    table, notes = funnel_drivers(ev, users, steps, window_hours=72, params=DriversParams(min_users=1))
    assert table["supported"].all() and all(n[0] != "drivers.none_supported" for n in notes)
    assert type(show_drivers(table, notes, "conversion")).__name__ != "Markdown"
    # retention: 8 users, none of the events done (and not done) by 25
    d = pd.Timestamp("2024-01-01")
    rows = [(f"u{i}", e, d + pd.Timedelta(days=k)) for i in range(8) for e, k in (("launch", 0), ("search", 1))]
    rows += [(f"u{i}", "launch", d + pd.Timedelta(days=14)) for i in range(3)]
    ev = pd.DataFrame(rows, columns=["user_id", "event", "ts"]).astype({"ts": "datetime64[us]"})
    table, notes = retention_drivers_for(ev, period_end="2024-01-31", params=DriversParams())
    assert notes[-1] == ("drivers.none_supported_retention", {"candidates": 2, "need": 25})
    with language("zh"):
        assert "2 个事件中" in show_drivers(table, notes, "retention").data


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_spark_equals_duckdb(spark_ibis):
    con = spark_ibis
    session = con._session
    ev = events_frame()
    session.createDataFrame(ev).createOrReplaceTempView("attr_events")
    t = con.table("attr_events")
    duck = build_journeys(touch_table(ev, touch_col="utm_source"), conversion_table(ev, event="pay",
                          value_col="amount"), lookback_days=30)  # fmt: skip
    spark = build_journeys(touch_table(t, touch_col="utm_source"), conversion_table(t, event="pay",
                           value_col="amount"), lookback_days=30)  # fmt: skip
    for a, b in zip(spark, duck, strict=True):
        pd.testing.assert_frame_equal(plain(a), plain(b), check_dtype=False)
    fe, users = funnel_case()
    session.createDataFrame(fe).createOrReplaceTempView("drv_events")
    kw = {"n_steps": 2, "window_hours": 72, "step_events": ["view", "pay"], "columns": ["channel"]}
    d1 = conversion_driver_counts(fe, users, **kw)
    d2 = conversion_driver_counts(con.table("drv_events"), users, **kw)
    pd.testing.assert_frame_equal(d2[0], d1[0], check_dtype=False)
    assert d1[1:] == d2[1:]


@pytest.mark.parametrize(
    "resolution_us, lookback_days",
    [(1_000, 1), (1, 1), (1_000_000, 1.0000001), (1_000_000, 2.5)],  # ms, us, a look-back off the ms, half days
)
def test_fast_path_counts_time_in_the_coarsest_unit_that_divides(resolution_us, lookback_days):
    """The fast path's key counts seconds, milliseconds or microseconds (helpers.arrays.time_unit): the same
    journeys as the portable path with sub-second times, a look-back that is not a whole second (both paths round
    it to seconds; the fast path had taken it to the microsecond) and a touch exactly at the look-back's start."""
    rng = np.random.default_rng(3)
    n = 3000
    offs = rng.integers(0, 5 * 86400 * 1_000_000 // resolution_us, n) // 3 * 3 * resolution_us
    ev = pd.DataFrame({"user_id": [f"u{i}" for i in rng.integers(0, 60, n)],
                       "event": rng.choice(["pv", "cart", "buy"], n, p=[0.6, 0.25, 0.15]),
                       "ts": T0 + pd.to_timedelta(offs, unit="us"),
                       "amount": rng.gamma(2, 10, n)}).astype({"ts": "datetime64[us]"})  # fmt: skip
    look = pd.Timedelta(seconds=round(lookback_days * 86400))  # whole seconds on both paths
    edge = pd.DataFrame({"user_id": ["e", "e", "e"], "event": ["pv", "cart", "buy"], "amount": [0.0, 0.0, 5.0],
                         "ts": [T0, T0 + pd.Timedelta(microseconds=1), T0 + look]})  # fmt: skip
    ev = pd.concat([ev, edge.astype({"ts": "datetime64[us]"})], ignore_index=True)
    tch = touch_table(ev, touch_col=None, touch_events=["pv", "cart"])
    conv = conversion_table(ev, event="buy", value_col="amount")
    fast = build_journeys(tch, conv, lookback_days=lookback_days)
    slow = build_journeys(tch, conv, lookback_days=lookback_days, fast=False)
    for a, b in zip(fast, slow, strict=True):
        pd.testing.assert_frame_equal(plain(a), plain(b), check_dtype=False)


def test_a_key_too_wide_in_microseconds_fits_in_seconds():
    """20,000 users over a year with 10 channels pass 2**62 in microseconds; in seconds the fast path runs."""
    rng = np.random.default_rng(4)
    users = 20_000
    day = rng.integers(0, 365, users)
    ts = T0 + pd.to_timedelta(np.repeat(day, 2) * 86400 + np.tile([0, 600], users), unit="s")
    ev = pd.DataFrame({"user_id": np.repeat([f"u{i}" for i in range(users)], 2), "event": ["pv", "buy"] * users,
                       "ts": ts, "amount": 1.0, "ch": rng.choice(list("abcdefghij"), 2 * users)})  # fmt: skip
    ev = ev.astype({"ts": "datetime64[us]"})
    tch = touch_table(ev, touch_col="ch", touch_events=["pv"])
    conv = conversion_table(ev, event="buy", value_col="amount")
    assert users * 364 * 86400 * 1_000_000 * 10 > 2**62
    fast = attribution_fast.journeys_fast(tch, conv, lookback_days=30)
    assert fast is not None
    slow = build_journeys(tch, conv, lookback_days=30, fast=False)
    for a, b in zip(fast, slow, strict=True):
        pd.testing.assert_frame_equal(plain(a), plain(b), check_dtype=False)


def test_paths_on_pages_show_runs_of_one_channel_once():
    """A run of one channel reads ``pv ×3``; channels apart stay apart; the journeys CSV keeps every touch."""
    from helpers.attribution import _runs

    assert _runs(["pv", "pv", "pv", "cart", "pv"]) == "pv ×3 > cart > pv"
    assert _runs(["a"]) == "a" and _runs(["a", "b", "b"]) == "a > b ×2"
    assert _runs(pd.Categorical(["x", "x"])) == "x ×2"


@pytest.mark.parametrize("categorical", [False, True])
def test_fold_channels_keeps_the_most_touched_and_groups_the_rest(categorical):
    """Five channels, at most three: the two with the most touches keep theirs (a tie broken by name), the other
    three become OTHER; a categorical column stays categorical; three channels or fewer are returned as given."""
    from helpers.attribution import OTHER, fold_channels

    ch = ["a"] * 5 + ["b"] * 3 + ["c"] * 3 + ["d"] * 1 + ["e"] * 2
    touches = pd.DataFrame({"journey": [f"j{i}" for i in range(len(ch))], "channel": ch})
    if categorical:  # the fast path's touches: with an unused category, which is not a channel
        touches["channel"] = pd.Categorical(ch, categories=["a", "b", "c", "d", "e", "zz"])
    out, info = fold_channels(touches, 3)
    assert info == {"channels": 5, "kept": 2, "grouped": 3, "grouped_touches": 6, "touches": 14}
    want = ["a"] * 5 + ["b"] * 3 + [OTHER] * 6  # b and c tie at 3: b by name
    assert out["channel"].astype(str).tolist() == want
    assert isinstance(out["channel"].dtype, pd.CategoricalDtype) == categorical
    assert touches["channel"].astype(str).tolist() == ch, "the input is not modified"
    same, none = fold_channels(touches, 5)
    assert none is None and same is touches


def test_many_channels_are_grouped_and_every_model_still_sums_to_the_conversions():
    """Seventy channels (Shapley's bitmasks hold 62): with max_channels 10 every model computes over ten
    channels, nine and OTHER, and still credits all the touched conversions; the findings say what was grouped."""
    from helpers import i18n
    from helpers.attribution import OTHER, AttributionReport, credit_table, fold_channels

    rng = np.random.default_rng(5)
    rows, jr = [], []
    for j in range(400):
        k = int(rng.integers(1, 4))
        chans = rng.choice(70, size=k, p=np.arange(70, 0, -1) / np.arange(70, 0, -1).sum())
        conv = bool(rng.random() < 0.4)
        for i, c in enumerate(chans):
            rows.append(
                (f"u{j}#1" if conv else f"u{j}#-", f"c{c:02d}", pd.Timestamp("2024-01-01") + pd.Timedelta(i, "h"))
            )
        jr.append((f"u{j}#1" if conv else f"u{j}#-", f"u{j}", conv, 10.0 if conv else 0.0, k))
    touches = pd.DataFrame(rows, columns=["journey", "channel", "ts"])
    journeys = pd.DataFrame(jr, columns=["journey", "user_id", "converted", "value", "touches"])
    journeys["conv_ts"] = pd.Series(pd.Timestamp("2024-01-02"), index=journeys.index).where(journeys["converted"])
    with pytest.raises(ValueError, match="at most 62 channels"):
        credit_table(touches, journeys, bootstrap_reps=0, shapley_samples=50)
    folded, info = fold_channels(touches, 10)
    assert info["kept"] == 9 and info["channels"] == touches["channel"].nunique()
    credits = credit_table(folded, journeys, bootstrap_reps=0, shapley_samples=50)
    assert credits["channel"].nunique() == 10 and OTHER in set(credits["channel"])
    sums = credits.groupby("model")["conversions"].sum()
    assert np.allclose(sums, journeys["converted"].sum()), sums
    rep = AttributionReport(touches=folded, journeys=journeys, credits=credits, grouped=info, conversion="x")
    rep.wide = credits.pivot_table(index="channel", columns="model", values="conversions", aggfunc="sum").reset_index()
    share = f"{info['grouped_touches'] / info['touches'] * 100:.1f}%"
    with i18n.language("zh"):
        line = [f for f in rep.findings() if f.startswith("触点来自")]
        assert line == [
            f"触点来自 {info['channels']} 个渠道：按触点数保留前 9 个，其余 {info['grouped']} 个（占触点的 "
            f"{share}）合并为“（其他渠道）”，以便每个模型都能计算、表格可读（attribution.max_channels）。"
        ]
    assert rep.to_results()["channels_grouped"] == info
    # the grouped bucket is never "the top channel" (the headline named it on REES46): a real channel is
    top = rep.top_by_model()
    assert set(top) == set(credits["model"]) and OTHER not in top.values()
    real = credits[credits["channel"] != OTHER].sort_values(["conversions", "channel"], ascending=[False, True])
    assert top["last"] == real[real["model"] == "last"]["channel"].iloc[0]


def test_no_opener_or_closer_when_first_and_last_touch_agree():
    """Journeys of one touch each: first and last touch give every channel the same credit. The findings said
    "cart opens more journeys than it closes (first 0.0%, last 0.0%)" and the same channel closes more (the tianchi
    sample); they now say that no channel leans either way, with the largest channel's share."""
    from helpers import i18n
    from helpers.attribution import AttributionReport, credit_table

    touches = pd.DataFrame({"journey": ["u1#1", "u2#1", "u3#1", "u4#1"], "channel": ["pv", "pv", "pv", "fav"],
                            "ts": pd.Timestamp("2024-01-01")})  # fmt: skip
    journeys = pd.DataFrame({"journey": ["u1#1", "u2#1", "u3#1", "u4#1"], "user_id": ["u1", "u2", "u3", "u4"],
                             "converted": True, "value": 1.0, "conv_ts": pd.Timestamp("2024-01-02"),
                             "touches": 1})  # fmt: skip
    credits = credit_table(touches, journeys, bootstrap_reps=0)
    rep = AttributionReport(touches=touches, journeys=journeys, credits=credits, conversion="x")
    rep.wide = credits.pivot_table(index="channel", columns="model", values="conversions", aggfunc="sum").reset_index()
    with i18n.language("en"):
        out = rep.findings()
    assert not [f for f in out if "opens more" in f or "closes more" in f], out
    assert "First touch and last touch give every channel the same credit (pv 75.0% in both)" in " ".join(out)
    # a real lean: u4 opens with fav and closes with pv
    touches2 = pd.concat([touches, touches.iloc[[3]].assign(channel="pv", ts=pd.Timestamp("2024-01-01 01:00"))])
    journeys2 = journeys.assign(touches=[1, 1, 1, 2])
    credits2 = credit_table(touches2.reset_index(drop=True), journeys2, bootstrap_reps=0)
    rep2 = AttributionReport(touches=touches2, journeys=journeys2, credits=credits2, conversion="x")
    rep2.wide = credits2.pivot_table(index="channel", columns="model", values="conversions", aggfunc="sum")
    rep2.wide = rep2.wide.reset_index()
    with i18n.language("en"):
        out2 = " ".join(rep2.findings())
    assert "fav opens more journeys than it closes (first touch 25.0% vs last touch 0.0%" in out2
    assert "pv closes more journeys than it opens (last touch 100.0% vs first touch 75.0%" in out2
    assert "same credit" not in out2


def test_one_channel_says_there_is_nothing_to_compare():
    """Every touch from one channel (a touch_col that holds one value): the page credited it "most" by Markov
    and Shapley, with intervals, as if it had won a comparison. The findings now say there is one channel and
    nothing to compare, and which key to check."""
    from helpers import i18n
    from helpers.attribution import AttributionReport, credit_table

    touches = pd.DataFrame({"journey": ["u1#1", "u2#1", "u3#-"], "channel": ["baidu"] * 3,
                            "ts": pd.Timestamp("2024-01-01")})  # fmt: skip
    journeys = pd.DataFrame({"journey": ["u1#1", "u2#1", "u3#-"], "user_id": ["u1", "u2", "u3"],
                             "converted": [True, True, False], "value": [1.0, 1.0, 0.0],
                             "conv_ts": pd.Timestamp("2024-01-02"), "touches": 1})  # fmt: skip
    credits = credit_table(touches, journeys, bootstrap_reps=0)
    rep = AttributionReport(touches=touches, journeys=journeys, credits=credits, conversion="x")
    rep.wide = credits.pivot_table(index="channel", columns="model", values="conversions", aggfunc="sum").reset_index()
    with i18n.language("en"):
        out = rep.findings()
    text = " ".join(out)
    assert "every touch comes from one channel (baidu)" in text and "attribution.touch_col" in text, out
    assert not any("most" in f or "opens more" in f for f in out), out
    assert out[-1].startswith("Attribution splits credit by a rule")


def test_an_odds_ratio_of_one_has_no_direction():
    """A candidate done by as many converters as drop-offs (a = c, b = d: odds ratio exactly 1 after smoothing) was
    written "negative" in the drivers table and shown in neither list. Its direction is now "none"."""
    from helpers.drivers import conversion_drivers, top_drivers

    counts = pd.DataFrame({"candidate": ["even", "up", "down"], "a": [30, 50, 10], "c": [30, 10, 50]})
    d = conversion_drivers(counts, converters=60, dropoffs=60, min_users=1).set_index("candidate")
    assert d.at["even", "odds_ratio"] == 1.0
    assert d["direction"].to_dict() == {"up": "positive", "even": "none", "down": "negative"}
    assert "even" not in set(top_drivers(d.reset_index())["candidate"])
