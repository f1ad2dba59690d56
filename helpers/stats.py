"""Small statistics shared by the reports: Wilson intervals and the two-proportion z-test."""

from __future__ import annotations

import math

__all__ = ["Z95", "wilson_interval", "two_proportion_test"]

Z95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson_interval(successes: float, trials: float, *, z: float = Z95) -> tuple[float, float]:
    """95% Wilson score interval for a proportion; (nan, nan) when ``trials`` is 0."""
    if trials <= 0:
        return (math.nan, math.nan)
    p = successes / trials
    d = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / d
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / d
    # at 0 or all successes the bound is exactly 0 or 1 (floating point would give 1e-17 or 0.9999999999999999)
    lo = 0.0 if successes <= 0 else max(0.0, centre - half)
    hi = 1.0 if successes >= trials else min(1.0, centre + half)
    return (lo, hi)


def two_proportion_test(xa: int, na: int, xb: int, nb: int, *, alpha: float = 0.05) -> dict:
    """Two-proportion z-test of ``xa/na`` against ``xb/nb``.

    Returns
    -------
    dict: ``rate_a``, ``rate_b``, ``diff`` (rate_a - rate_b), ``diff_ci_low``, ``diff_ci_high`` (95%,
    unpooled standard error), ``z``, ``p_value`` (two-sided, pooled standard error), ``cohens_h`` (effect
    size), ``relative_lift`` (rate_a / rate_b - 1), ``significant`` (p < ``alpha``). All NaN (and
    ``significant`` False) when a group is empty.
    """
    from scipy.stats import norm

    if na == 0 or nb == 0:
        return {
            "rate_a": math.nan,
            "rate_b": math.nan,
            "diff": math.nan,
            "diff_ci_low": math.nan,
            "diff_ci_high": math.nan,
            "z": math.nan,
            "p_value": math.nan,
            "cohens_h": math.nan,
            "relative_lift": math.nan,
            "significant": False,
        }
    pa, pb = xa / na, xb / nb
    pool = (xa + xb) / (na + nb)
    se_pool = math.sqrt(pool * (1 - pool) * (1 / na + 1 / nb))
    z = (pa - pb) / se_pool if se_pool > 0 else 0.0
    p = float(2 * norm.sf(abs(z)))
    se = math.sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb)
    zc = float(norm.ppf(1 - alpha / 2))
    h = 2 * math.asin(math.sqrt(pa)) - 2 * math.asin(math.sqrt(pb))
    return {
        "rate_a": pa,
        "rate_b": pb,
        "diff": pa - pb,
        "diff_ci_low": pa - pb - zc * se,
        "diff_ci_high": pa - pb + zc * se,
        "z": z,
        "p_value": p,
        "cohens_h": h,
        "relative_lift": pa / pb - 1 if pb > 0 else math.nan,
        "significant": p < alpha,
    }
