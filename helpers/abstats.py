"""Statistics of A/B experiments (pure numpy/scipy; the experiment report is in helpers/experiment.py).

Every function takes summary numbers or per-user arrays and returns plain numbers or dicts, so each can be
checked by hand. docs/experiment.md states every formula and its reference.

- :func:`srm_test`: sample-ratio mismatch, Pearson chi-square goodness of fit against the planned split.
- :func:`two_proportion`: difference of two proportions, z-test with the pooled standard error, Wald CI with
  the unpooled one.
- :func:`welch`: difference of two means, Welch's t-test and CI (Welch-Satterthwaite degrees of freedom).
- :func:`relative_lift`: relative lift ``mean_t / mean_c - 1`` and its CI by the delta method.
- :func:`ratio_moments`: mean and variance of a ratio metric ``sum(num) / sum(den)`` by the delta method.
- :func:`bayes_normal` / :func:`bayes_beta`: chance to beat control and expected loss.
- :func:`holm`: Holm step-down adjusted p-values.
- :func:`cuped`: CUPED adjustment with a pooled theta.
- :func:`gavi_halfwidth`: half-width of the always-valid normal-mixture confidence sequence (GrowthBook's GAVI).
- :func:`mde` / :func:`power` / :func:`days_needed`: planning.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "srm_test",
    "two_proportion",
    "welch",
    "relative_lift",
    "ratio_moments",
    "bayes_normal",
    "bayes_beta",
    "holm",
    "cuped",
    "gavi_rho2",
    "gavi_halfwidth",
    "mde",
    "power",
    "days_needed",
]


def _z(alpha: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(1 - alpha / 2))


def srm_test(counts: Sequence[float], planned: Sequence[float] | None = None) -> dict:
    """Chi-square goodness of fit of the observed ``counts`` per variant against the ``planned`` shares
    (default equal; normalised to sum 1).

    Returns
    -------
    dict ``chi2``, ``df`` (variants - 1), ``p_value``, ``expected`` (list of expected counts).
    """
    from scipy.stats import chi2 as chi2_dist

    obs = np.asarray(counts, dtype=float)
    w = np.ones_like(obs) if planned is None else np.asarray(planned, dtype=float)
    exp = obs.sum() * w / w.sum()
    if obs.sum() == 0 or len(obs) < 2:
        return {"chi2": math.nan, "df": max(len(obs) - 1, 0), "p_value": math.nan, "expected": exp.tolist()}
    stat = float(((obs - exp) ** 2 / exp).sum())
    df = len(obs) - 1
    return {"chi2": stat, "df": df, "p_value": float(chi2_dist.sf(stat, df)), "expected": exp.tolist()}


def two_proportion(x_t: float, n_t: float, x_c: float, n_c: float, *, alpha: float = 0.05) -> dict:
    """Treatment ``x_t / n_t`` against control ``x_c / n_c``.

    Returns
    -------
    dict ``value_t``, ``value_c``, ``diff`` (t - c), ``diff_low``, ``diff_high`` (Wald CI, unpooled standard
    error ``se``), ``stat`` (z with the pooled standard error), ``p_value`` (two-sided).
    """
    from scipy.stats import norm

    if n_t <= 0 or n_c <= 0:
        return dict.fromkeys(("value_t", "value_c", "diff", "diff_low", "diff_high", "se", "stat", "p_value"), math.nan)
    pt, pc = x_t / n_t, x_c / n_c
    pool = (x_t + x_c) / (n_t + n_c)
    se_pool = math.sqrt(pool * (1 - pool) * (1 / n_t + 1 / n_c))
    se = math.sqrt(pt * (1 - pt) / n_t + pc * (1 - pc) / n_c)
    z = (pt - pc) / se_pool if se_pool > 0 else 0.0
    h = _z(alpha) * se
    return {"value_t": pt, "value_c": pc, "diff": pt - pc, "diff_low": pt - pc - h, "diff_high": pt - pc + h,
            "se": se, "stat": z, "p_value": float(2 * norm.sf(abs(z)))}  # fmt: skip


def welch(
    mean_t: float, var_t: float, n_t: float, mean_c: float, var_c: float, n_c: float, *, alpha: float = 0.05
) -> dict:
    """Welch's t-test of two means from their sample means, sample variances (ddof=1) and sizes.

    Returns
    -------
    dict ``value_t``, ``value_c``, ``diff``, ``diff_low``, ``diff_high`` (t-quantile CI), ``se``, ``stat`` (t),
    ``df`` (Welch-Satterthwaite), ``p_value``.
    """
    from scipy.stats import t as t_dist

    if n_t < 2 or n_c < 2:
        return dict.fromkeys(
            ("value_t", "value_c", "diff", "diff_low", "diff_high", "se", "stat", "df", "p_value"), math.nan
        )
    a, b = var_t / n_t, var_c / n_c
    se = math.sqrt(a + b)
    diff = mean_t - mean_c
    if se == 0:
        return {"value_t": mean_t, "value_c": mean_c, "diff": diff, "diff_low": diff, "diff_high": diff, "se": 0.0,
                "stat": math.nan, "df": math.nan, "p_value": 1.0 if diff == 0 else 0.0}  # fmt: skip
    df = (a + b) ** 2 / (a * a / (n_t - 1) + b * b / (n_c - 1))
    t = diff / se
    h = float(t_dist.ppf(1 - alpha / 2, df)) * se
    return {"value_t": mean_t, "value_c": mean_c, "diff": diff, "diff_low": diff - h, "diff_high": diff + h,
            "se": se, "stat": t, "df": df, "p_value": float(2 * t_dist.sf(abs(t), df))}  # fmt: skip


def relative_lift(mean_t: float, var_mean_t: float, mean_c: float, var_mean_c: float, *, alpha: float = 0.05) -> dict:
    """Relative lift ``mean_t / mean_c - 1`` with its CI by the delta method, the two means independent:
    ``Var(mt / mc) ~ var_mean_t / mc^2 + mt^2 var_mean_c / mc^4`` (``var_mean_*`` are variances of the means,
    i.e. squared standard errors).

    Returns
    -------
    dict ``rel``, ``rel_se``, ``rel_low``, ``rel_high`` (NaN when ``mean_c`` is 0).
    """
    if not mean_c or math.isnan(mean_c):
        return {"rel": math.nan, "rel_se": math.nan, "rel_low": math.nan, "rel_high": math.nan}
    rel = mean_t / mean_c - 1
    se = math.sqrt(var_mean_t / mean_c**2 + mean_t**2 * var_mean_c / mean_c**4)
    h = _z(alpha) * se
    return {"rel": rel, "rel_se": se, "rel_low": rel - h, "rel_high": rel + h}


def ratio_moments(num: np.ndarray, den: np.ndarray) -> dict:
    """A ratio metric ``R = sum(num) / sum(den)`` over users (e.g. revenue per order) and the variance of
    ``R`` by the delta method: ``Var(R) ~ (s_nn - 2 R s_nd + R^2 s_dd) / (n * mean(den)^2)`` with the sample
    (co)variances ``s`` (ddof=1) of the per-user numerators and denominators (Deng et al. 2018).

    Returns
    -------
    dict ``value`` (R), ``var_mean`` (the variance of R), ``n`` (users).
    """
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    n = len(num)
    if n < 2 or den.sum() == 0:
        return {"value": math.nan, "var_mean": math.nan, "n": n}
    r = num.sum() / den.sum()
    c = np.cov(num, den, ddof=1)
    var = (c[0, 0] - 2 * r * c[0, 1] + r * r * c[1, 1]) / (n * den.mean() ** 2)
    return {"value": float(r), "var_mean": float(var), "n": n}


def bayes_normal(diff: float, se: float) -> dict:
    """Chance to beat control and expected loss with a flat prior and a normal posterior of the difference
    ``D ~ N(diff, se^2)``: ``P(D > 0) = Phi(diff / se)``; the expected loss of shipping the treatment is
    ``E[max(-D, 0)] = se * phi(diff / se) - diff * Phi(-diff / se)`` (in the metric's units)."""
    from scipy.stats import norm

    if not se or math.isnan(se):
        return {"chance_to_beat": math.nan, "expected_loss": math.nan}
    k = diff / se
    return {"chance_to_beat": float(norm.cdf(k)), "expected_loss": float(se * norm.pdf(k) - diff * norm.cdf(-k))}


def bayes_beta(x_t: int, n_t: int, x_c: int, n_c: int, *, draws: int = 20000, seed: int = 0) -> dict:
    """Beta-Binomial chance to beat control and expected loss of a conversion rate: posteriors
    ``Beta(1 + x, 1 + n - x)`` (uniform prior), estimated from ``draws`` seeded samples of each.

    Returns
    -------
    dict ``chance_to_beat`` (``P(p_t > p_c)``), ``expected_loss`` (``E[max(p_c - p_t, 0)]``).
    """
    rng = np.random.default_rng(seed)
    pt = rng.beta(1 + x_t, 1 + n_t - x_t, size=draws)
    pc = rng.beta(1 + x_c, 1 + n_c - x_c, size=draws)
    return {"chance_to_beat": float((pt > pc).mean()), "expected_loss": float(np.maximum(pc - pt, 0).mean())}


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (NaN stay NaN and do not count): the k-th smallest of m is
    multiplied by ``m - k + 1``, then made non-decreasing and capped at 1."""
    p = np.asarray(pvalues, dtype=float)
    ok = np.flatnonzero(~np.isnan(p))
    out = np.full(len(p), math.nan)
    m = len(ok)
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (m - k) * p[i]))
        out[i] = running
    return out.tolist()


def cuped(y: np.ndarray, x: np.ndarray) -> dict:
    """CUPED (Deng et al. 2013): ``y_adj = y - theta (x - mean(x))`` with ``theta = cov(x, y) / var(x)`` pooled
    over all users of all variants (the covariate is measured before exposure, so it is independent of the
    assignment and the adjusted means stay unbiased).

    Returns
    -------
    dict ``y_adj`` (array), ``theta``, ``rho`` (correlation of x and y), ``variance_reduction``
    (``1 - var(y_adj) / var(y)``, about ``rho^2``).
    """
    y, x = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
    vx, vy = x.var(ddof=1) if len(x) > 1 else 0.0, y.var(ddof=1) if len(y) > 1 else 0.0
    if vx == 0 or vy == 0:
        return {"y_adj": y.copy(), "theta": 0.0, "rho": math.nan, "variance_reduction": 0.0}
    c = float(np.cov(x, y, ddof=1)[0, 1])
    theta = c / vx
    adj = y - theta * (x - x.mean())
    return {"y_adj": adj, "theta": theta, "rho": c / math.sqrt(vx * vy), "variance_reduction": 1 - adj.var(ddof=1) / vy}


def gavi_rho2(tuning_n: float, *, alpha: float = 0.05) -> float:
    """The mixing variance ``rho^2 = (-2 ln alpha + ln(-2 ln alpha + 1)) / N*`` that makes the confidence
    sequence tightest at ``N* = tuning_n`` units (Howard et al. 2021, eq. 14; GrowthBook's tuning parameter)."""
    la = -2 * math.log(alpha)
    return (la + math.log(la + 1)) / tuning_n


def gavi_halfwidth(se: np.ndarray | float, n: np.ndarray | float, *, rho2: float, alpha: float = 0.05):
    """Half-width of the always-valid normal-mixture confidence sequence at sample size ``n``, for an estimate
    with standard error ``se`` (so the per-unit standard deviation is ``sigma = se * sqrt(n)``):
    ``sigma * sqrt( 2 (n rho^2 + 1) / (n^2 rho^2) * ln( sqrt(n rho^2 + 1) / alpha ) )``
    (Howard, Ramdas, McAuliffe, Sekhon 2021; GrowthBook "sequential testing"). Works on arrays."""
    n = np.asarray(n, dtype=float)
    sigma2 = np.asarray(se, dtype=float) ** 2 * n
    nr = n * rho2
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.sqrt(sigma2 * 2 * (nr + 1) / (n * nr) * np.log(np.sqrt(nr + 1) / alpha))
    return w if w.ndim else float(w)


def power(effect: float, se: float, *, alpha: float = 0.05) -> float:
    """Power of the two-sided z-test to detect a true difference ``effect`` when the estimate has standard
    error ``se``: ``Phi(|effect|/se - z) + Phi(-|effect|/se - z)``, ``z = Phi^-1(1 - alpha/2)``."""
    from scipy.stats import norm

    if not se or math.isnan(se):
        return math.nan
    k, z = abs(effect) / se, _z(alpha)
    return float(norm.cdf(k - z) + norm.cdf(-k - z))


def mde(se: float, *, alpha: float = 0.05, power_target: float = 0.8) -> float:
    """Minimum detectable absolute difference at ``power_target``: ``(z_{1-alpha/2} + z_{power}) * se``."""
    from scipy.stats import norm

    return (_z(alpha) + float(norm.ppf(power_target))) * se


def days_needed(
    target_effect: float, se_now: float, n_now: float, users_per_day: float, *, alpha: float = 0.05,
    power_target: float = 0.8,
) -> float:  # fmt: skip
    """Days of traffic still needed (0 when already enough) so that ``target_effect`` (absolute) is the minimum
    detectable difference, assuming the standard error shrinks as ``1 / sqrt(n)`` from ``se_now`` at ``n_now``
    users and ``users_per_day`` new users arrive: ``n_needed = n_now * (mde_now / target)^2``."""
    if not target_effect or not se_now or math.isnan(se_now) or users_per_day <= 0:
        return math.nan
    need = n_now * (mde(se_now, alpha=alpha, power_target=power_target) / abs(target_effect)) ** 2
    return max(0.0, (need - n_now) / users_per_day)
