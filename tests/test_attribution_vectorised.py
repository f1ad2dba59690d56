"""The vectorised attribution models (helpers/attribution_models.py) equal the former pandas implementation
(tests/_attribution_reference.py) on seeded random journeys: every rule-based model, Markov, Shapley (exact and
sampled) and the bootstrap intervals (same seed, same resamples)."""

import numpy as np
import pandas as pd
import pytest

from helpers import attribution_models as new

from . import _attribution_reference as old

T0 = pd.Timestamp("2024-03-01")
CHANNELS = ["直接访问", "搜索", "社交分享", "邮件", "广告", "稀有"]


def random_journeys(seed: int, users: int = 150):
    """1 to 3 journeys per user, 1 to 6 touches each (repeats allowed, ties in time), two thirds converting; the
    channel 稀有 only in user u1's first journey, so that many bootstrap resamples miss it."""
    rng = np.random.default_rng(seed)
    p = np.array([0.25, 0.25, 0.2, 0.15, 0.15, 0.0])
    t_rows, j_rows = [], []
    for u in range(users):
        for k in range(int(rng.integers(1, 4))):
            jid = f"u{u}#{k}"
            conv = bool(rng.random() < 0.67)
            n = int(rng.integers(1, 7))
            if (u, k) == (1, 0):
                t_rows.append((jid, "稀有", T0 - pd.Timedelta(hours=500)))
                n += 1
            hours = np.sort(rng.integers(0, 400, size=n - ((u, k) == (1, 0))))[::-1]  # hours before the conversion
            for h, c in zip(hours, rng.choice(len(CHANNELS), size=len(hours), p=p), strict=True):
                t_rows.append((jid, CHANNELS[c], T0 - pd.Timedelta(hours=int(h))))
            j_rows.append((jid, f"u{u}", conv, float(rng.integers(1, 200)) if conv else 0.0, T0 if conv else pd.NaT, n))
    touches = pd.DataFrame(t_rows, columns=["journey", "channel", "ts"])
    journeys = pd.DataFrame(j_rows, columns=["journey", "user_id", "converted", "value", "conv_ts", "touches"])
    return touches, journeys


def _same(a: pd.DataFrame, b: pd.DataFrame, cols):
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    assert list(a["channel"]) == list(b["channel"])
    for c in cols:
        np.testing.assert_allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=1e-9, atol=1e-9, err_msg=c)


@pytest.mark.parametrize("seed", [0, 1])
def test_rule_models_equal_the_reference(seed):
    touches, journeys = random_journeys(seed)
    kw = {"direct": "直接访问", "first_weight": 0.3, "last_weight": 0.5, "half_life_hours": 48.0}
    for model in new.RULE_MODELS:
        _same(new.rule_credits(touches, journeys, model, **kw), old.rule_credits(touches, journeys, model, **kw),
              ["conversions", "value"])  # fmt: skip
        conv = journeys[journeys["converted"]]
        t = touches[touches["journey"].isin(conv["journey"])]
        np.testing.assert_allclose(new.rule_weights(t, conv, model, **kw), old.rule_weights(t, conv, model, **kw))
    # no direct channel at all, and direct=None
    for d in (None, "无此渠道"):
        _same(new.rule_credits(touches, journeys, "last_non_direct", direct=d),
              old.rule_credits(touches, journeys, "last_non_direct", direct=d), ["conversions"])  # fmt: skip


@pytest.mark.parametrize("seed", [0, 1])
def test_data_driven_models_equal_the_reference(seed):
    touches, journeys = random_journeys(seed)
    _same(new.markov_credits(touches, journeys), old.markov_credits(touches, journeys),
          ["conversions", "value", "removal_effect"])  # fmt: skip
    for kw in ({}, {"exact_max": 3, "samples": 200, "seed": 5}):
        a, b = new.shapley_credits(touches, journeys, **kw), old.shapley_credits(touches, journeys, **kw)
        _same(a, b, ["conversions", "value", "shapley", "se"])
    sv = new.shapley_values(touches, journeys)
    assert sv.attrs["exact"] and sv["shapley"].to_numpy() == pytest.approx(
        old.shapley_values(touches, journeys)["shapley"].to_numpy(), rel=1e-9
    )


def test_bootstrap_equals_the_reference_with_the_same_seed():
    touches, journeys = random_journeys(2, users=80)
    for reps, seed in ((15, 0), (10, 7)):
        a = new.bootstrap_credits(touches, journeys, "markov", reps=reps, seed=seed)
        b = old.bootstrap_credits(touches, journeys, old.markov_credits, reps=reps, seed=seed)
        _same(a, b, ["ci_low", "ci_high"])

        def shap(t, j, s=seed):
            return old.shapley_credits(t, j, exact_max=4, samples=50, seed=s)

        a = new.bootstrap_credits(touches, journeys, new.shapley_credits, reps=reps, seed=seed, exact_max=4,
                                  samples=50)  # fmt: skip
        _same(a, old.bootstrap_credits(touches, journeys, shap, reps=reps, seed=seed), ["ci_low", "ci_high"])
    with pytest.raises(ValueError, match="markov"):
        new.bootstrap_credits(touches, journeys, "linear")


def test_some_resamples_miss_the_rare_channel():
    """稀有 (user u1 only) is absent from some of the resamples the bootstrap tests draw: the path that drops an
    absent channel (no credit in that resample, not a zero) is exercised."""
    touches, journeys = random_journeys(2, users=80)
    assert set(journeys.loc[journeys["journey"].isin(touches.loc[touches["channel"] == "稀有", "journey"]),
                            "user_id"]) == {"u1"}  # fmt: skip
    rng = np.random.default_rng(0)
    missing = sum(1 not in rng.integers(0, 80, size=80) for _ in range(15))
    assert 0 < missing < 15
