"""Statistics of the experiment report (helpers/abstats.py): hand-computed cases, agreement with scipy, and
seeded vectorised simulations of error rates, power and CUPED."""

import math

import numpy as np
import pytest
from scipy import stats

from helpers import abstats as st
from helpers.stats import two_proportion_test


# ------------------------------------------------------------------------------------------- hand cases
def test_srm_by_hand_and_scipy():
    r = st.srm_test([60, 40])  # expected 50/50: chi2 = 10^2/50 + 10^2/50 = 4
    assert r["chi2"] == pytest.approx(4.0) and r["df"] == 1
    assert r["p_value"] == pytest.approx(stats.chi2.sf(4.0, 1)) and r["p_value"] == pytest.approx(0.0455, abs=1e-4)
    assert st.srm_test([50, 50])["p_value"] == pytest.approx(1.0)
    obs, plan = [580, 420, 1000], [1, 1, 2]
    r = st.srm_test(obs, plan)
    sc = stats.chisquare(obs, f_exp=[500, 500, 1000])
    assert r["chi2"] == pytest.approx(sc.statistic) and r["p_value"] == pytest.approx(sc.pvalue)
    assert r["expected"] == [500, 500, 1000]


def test_two_proportion_by_hand():
    r = st.two_proportion(30, 100, 20, 100)
    pool_se = math.sqrt(0.25 * 0.75 * 0.02)  # pooled p = 50/200
    assert r["stat"] == pytest.approx(0.1 / pool_se) and r["stat"] == pytest.approx(1.632993, abs=1e-6)
    assert r["p_value"] == pytest.approx(2 * stats.norm.sf(0.1 / pool_se))
    se = math.sqrt(0.3 * 0.7 / 100 + 0.2 * 0.8 / 100)
    assert r["diff_low"] == pytest.approx(0.1 - 1.959964 * se, abs=1e-6)
    old = two_proportion_test(30, 100, 20, 100)  # the kit's existing test agrees
    assert old["p_value"] == pytest.approx(r["p_value"]) and old["diff_ci_high"] == pytest.approx(r["diff_high"])


def test_welch_agrees_with_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(1.2, 2, 40), rng.normal(1.0, 1, 70)
    r = st.welch(a.mean(), a.var(ddof=1), len(a), b.mean(), b.var(ddof=1), len(b))
    sc = stats.ttest_ind(a, b, equal_var=False)
    assert r["stat"] == pytest.approx(sc.statistic) and r["p_value"] == pytest.approx(sc.pvalue)
    ci = sc.confidence_interval(0.95)
    assert (r["diff_low"], r["diff_high"]) == pytest.approx((ci.low, ci.high))
    # by hand: means 3 and 1, variances 4 and 1, n 4 and 4: se = sqrt(1 + 0.25), df = 1.25^2 / (1/3 + 0.0625/3)
    h = st.welch(3, 4, 4, 1, 1, 4)
    assert h["se"] == pytest.approx(math.sqrt(1.25)) and h["df"] == pytest.approx(1.5625 / (1.0625 / 3))


def test_relative_lift_delta_method_by_hand():
    r = st.relative_lift(1.1, 0.01, 1.0, 0.01)
    assert r["rel"] == pytest.approx(0.1)
    assert r["rel_se"] == pytest.approx(math.sqrt(0.01 + 1.21 * 0.01))
    assert r["rel_low"] == pytest.approx(0.1 - 1.959964 * math.sqrt(0.0221), abs=1e-6)
    assert math.isnan(st.relative_lift(1, 0.1, 0, 0.1)["rel"])


def test_ratio_delta_method_known_case_and_simulation():
    num, den = np.array([2.0, 0.0, 6.0, 4.0]), np.array([1.0, 1.0, 2.0, 2.0])
    r = st.ratio_moments(num, den)
    assert r["value"] == pytest.approx(2.0)  # 12 / 6
    # by hand: s_nn = 20/3 (mean 3, squares 1+9+9+1), s_dd = 1/3, s_nd = (−0.5·−1 + −0.5·−3 + 0.5·3 + 0.5·1)/3 = 4/3
    assert r["var_mean"] == pytest.approx((20 / 3 - 2 * 2 * 4 / 3 + 4 * 1 / 3) / (4 * 1.5**2))
    # the delta-method variance matches the spread of the ratio over many samples
    rng = np.random.default_rng(7)
    n, reps = 400, 2000
    d = rng.poisson(2.0, size=(reps, n)) + 1.0
    x = d * rng.gamma(2.0, 25.0, size=(reps, n))
    ratios = x.sum(1) / d.sum(1)
    var_delta = np.mean([st.ratio_moments(x[i], d[i])["var_mean"] for i in range(200)])
    assert var_delta == pytest.approx(ratios.var(ddof=1), rel=0.12)


def test_bayes_by_hand_and_by_integration():
    b = st.bayes_normal(0.0, 2.0)
    assert b["chance_to_beat"] == pytest.approx(0.5) and b["expected_loss"] == pytest.approx(2 * stats.norm.pdf(0))
    b = st.bayes_normal(1.0, 1.0)
    assert b["chance_to_beat"] == pytest.approx(stats.norm.cdf(1.0))
    assert b["expected_loss"] == pytest.approx(stats.norm.pdf(1) - stats.norm.cdf(-1))
    from scipy.integrate import quad

    xt, nt, xc, nc = 60, 500, 45, 500
    ft, fc = stats.beta(1 + xt, 1 + nt - xt), stats.beta(1 + xc, 1 + nc - xc)
    exact = quad(lambda p: ft.pdf(p) * fc.cdf(p), 0, 1)[0]
    r = st.bayes_beta(xt, nt, xc, nc, draws=200_000, seed=3)
    assert r["chance_to_beat"] == pytest.approx(exact, abs=0.005)
    loss = quad(lambda p: fc.pdf(p) * quad(lambda q: (p - q) * ft.pdf(q), 0, p)[0], 0, 1, limit=200)[0]
    assert r["expected_loss"] == pytest.approx(loss, abs=2e-4)


def test_holm_by_hand():
    assert st.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert st.holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])
    out = st.holm([0.02, math.nan, 0.9])
    assert out[0] == pytest.approx(0.04) and math.isnan(out[1]) and out[2] == pytest.approx(0.9)


def test_gavi_halfwidth_by_hand_and_wider_than_fixed():
    rho2 = st.gavi_rho2(1000, alpha=0.05)
    la = -2 * math.log(0.05)
    assert rho2 == pytest.approx((la + math.log(la + 1)) / 1000)
    se, n = 0.01, 1000
    sigma2 = se**2 * n
    want = math.sqrt(sigma2 * 2 * (n * rho2 + 1) / (n**2 * rho2) * math.log(math.sqrt(n * rho2 + 1) / 0.05))
    assert st.gavi_halfwidth(se, n, rho2=rho2) == pytest.approx(want)
    assert want > 1.959964 * se  # the price of peeking: wider than the fixed-horizon interval
    arr = st.gavi_halfwidth(np.array([se, se]), np.array([n, 4 * n]), rho2=rho2)
    assert arr.shape == (2,) and arr[0] == pytest.approx(want)


def test_mde_power_days_by_hand():
    z = 1.959964 + 0.841621
    assert st.mde(0.01) == pytest.approx(z * 0.01, abs=1e-6)
    assert st.power(st.mde(0.01), 0.01) == pytest.approx(0.8, abs=1e-3)
    assert st.power(0.0, 0.01) == pytest.approx(0.05)
    # the se halves when n quadruples: to detect half the current MDE takes 3 more times the users
    assert st.days_needed(st.mde(0.01) / 2, 0.01, 1000, 100) == pytest.approx(30.0)
    assert st.days_needed(st.mde(0.01) * 2, 0.01, 1000, 100) == 0.0


# ------------------------------------------------------------------------------------------- simulations
def _aa_counts(rng, reps, days, per_day, p):
    """Cumulative conversions and users per day of ``reps`` A/A tests (two arms, Binomial daily counts)."""
    xa = rng.binomial(per_day, p, size=(reps, days)).cumsum(1)
    xb = rng.binomial(per_day, p, size=(reps, days)).cumsum(1)
    n = per_day * np.arange(1, days + 1)
    return xa, xb, n


def _z_and_se(xa, xb, n):
    pa, pb = xa / n, xb / n
    pool = (xa + xb) / (2 * n)
    se_pool = np.sqrt(pool * (1 - pool) * 2 / n)
    se = np.sqrt(pa * (1 - pa) / n + pb * (1 - pb) / n)
    return (pa - pb) / se_pool, pa - pb, se


def test_aa_fixed_horizon_false_positive_rate():
    rng = np.random.default_rng(2024)
    xa, xb, n = _aa_counts(rng, 2000, 1, 2000, 0.1)
    p = np.array([st.two_proportion(a, n[0], b, n[0])["p_value"] for a, b in zip(xa[:, -1], xb[:, -1], strict=True)])
    fpr = (p < 0.05).mean()
    assert 0.04 <= fpr <= 0.06, fpr


def test_daily_peeking_sequence_keeps_alpha_naive_does_not():
    rng = np.random.default_rng(11)
    days, per_day = 20, 150
    xa, xb, n = _aa_counts(rng, 2000, days, per_day, 0.1)
    z, diff, se = _z_and_se(xa, xb, n)
    naive = (np.abs(z) > 1.959964).any(1).mean()
    total = 2 * n  # both arms: the sample size the sequence is indexed by
    w = st.gavi_halfwidth(se, total, rho2=st.gavi_rho2(total[-1]))
    seq = (np.abs(diff) > w).any(1).mean()
    assert naive > 0.1, naive  # peeking 20 times at the fixed test inflates the error well beyond 5 %
    assert seq <= 0.05, seq


def test_power_matches_analytical():
    rng = np.random.default_rng(5)
    n, pc, pt, reps = 2000, 0.10, 0.125, 2000
    xc, xt = rng.binomial(n, pc, reps), rng.binomial(n, pt, reps)
    p = np.array([st.two_proportion(t, n, c, n)["p_value"] for t, c in zip(xt, xc, strict=True)])
    analytic = st.power(pt - pc, math.sqrt(pt * (1 - pt) / n + pc * (1 - pc) / n))
    assert abs((p < 0.05).mean() - analytic) <= 0.03, ((p < 0.05).mean(), analytic)
    assert 0.5 < analytic < 0.9


def test_cuped_reduces_variance_by_rho_squared():
    rng = np.random.default_rng(9)
    n, rho = 20_000, 0.6
    x = rng.normal(size=n)
    y = 5 + rho * x + math.sqrt(1 - rho**2) * rng.normal(size=n)
    r = st.cuped(y, x)
    assert r["variance_reduction"] == pytest.approx(rho**2, abs=0.02)
    assert r["theta"] == pytest.approx(rho, abs=0.02) and r["y_adj"].mean() == pytest.approx(y.mean())
    # the treatment effect estimate stays unbiased and its variance shrinks by 1 - rho^2 over repetitions
    reps, m = 2000, 200
    xs = rng.normal(size=(reps, 2 * m))
    ys = rho * xs + math.sqrt(1 - rho**2) * rng.normal(size=(reps, 2 * m))
    ys[:, :m] += 0.1
    theta = np.array([np.cov(xs[i], ys[i])[0, 1] / xs[i].var(ddof=1) for i in range(reps)])
    adj = ys - theta[:, None] * (xs - xs.mean(1, keepdims=True))
    raw_d = ys[:, :m].mean(1) - ys[:, m:].mean(1)
    adj_d = adj[:, :m].mean(1) - adj[:, m:].mean(1)
    assert adj_d.mean() == pytest.approx(0.1, abs=0.01)
    assert adj_d.var() / raw_d.var() == pytest.approx(1 - rho**2, abs=0.08)
    assert st.cuped(y, np.zeros(n))["variance_reduction"] == 0.0  # no history: nothing changes
