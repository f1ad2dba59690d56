"""Anomaly detection on a daily metric: a seasonal baseline learned only from the days before each day.

Method (documented in docs/trends.md, "Anomalies"), for each day ``t`` with at least ``min_history_days``
earlier days:

1. history: the last ``history_days`` (default 56) days before ``t``; days flagged earlier enter the history
   at their expected value (clipped to the interval), so a past anomaly does not move the baseline;
2. weekday pattern: per weekday, the median ratio of the value to its centred 7-day mean (multiplicative, so
   a busy weekend stays 35 % busier when the level grows), normalised to a mean of 1; with fewer than two
   weeks of history the pattern is flat;
3. trend: a Theil-Sen line (the median of pairwise slopes, robust to a few outliers) through the last
   ``trend_days`` (default 28) de-seasonalised values, extrapolated one day;
4. scale: 1.4826 x the median absolute residual (MAD, a robust standard deviation), floored by the Poisson
   standard deviation ``sqrt(expected)`` for counts (``counts=True``) and by 1 % of the level;
5. interval: ``expected +- q * scale * sqrt(1 + 1/n)`` with ``q`` the Student-t quantile for ``level`` and
   ``n - 1`` degrees of freedom; ``score = (value - expected) / (scale * sqrt(1 + 1/n))``; the day is an
   anomaly when the value is outside the interval.

No extra library is needed (numpy and scipy); the method is a robust version of the classical seasonal
decomposition that STL refines, chosen because it runs on a few weeks of history.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .errors import MissingColumnError

__all__ = ["detect_anomalies"]

_MAD_TO_SD = 1.4826
_FITTED = 8  # parameters fitted in the baseline: 6 free weekday factors, trend slope and intercept


def detect_anomalies(
    daily: pd.DataFrame,
    *,
    day_col: str = "day",
    value_col: str = "value",
    min_history_days: int = 14,
    level: float = 0.99,
    history_days: int = 56,
    trend_days: int = 28,
    counts: bool | None = None,
) -> pd.DataFrame:
    """Flag days whose value falls outside the prediction interval of a seasonal baseline.

    Parameters
    ----------
    daily : one row per day; ``day_col`` (dates or timestamps, one per calendar day) and ``value_col``.
        Missing calendar days are treated as unknown (they neither count as history nor get a row).
    min_history_days : days with fewer earlier known days get no baseline (``expected`` NaN, never flagged).
    level : coverage of the prediction interval (0.99: about 1 normal day in 100 flagged by chance).
    history_days, trend_days : how far back the weekday pattern and the trend look.
    counts : the metric is a count (Poisson floor on the scale); default: all values are non-negative integers.

    Returns
    -------
    DataFrame, one row per input day in day order: ``day``, ``value``, ``expected`` (baseline),
    ``lower``/``upper`` (prediction interval), ``anomaly`` (bool: value outside the interval), ``score``
    (deviation in robust standard deviations, signed; NaN without a baseline).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.99), got {level!r}")
    if min_history_days < 7:
        raise ValueError(f"min_history_days must be at least 7 (one week of weekdays), got {min_history_days!r}")
    for col in (day_col, value_col):
        if col not in daily.columns:
            raise MissingColumnError("daily", col, daily.columns, hint="detect_anomalies needs one row per day")
    days = pd.to_datetime(daily[day_col]).dt.normalize()
    if days.duplicated().any():
        dup = days[days.duplicated()].iloc[0].date()
        raise ValueError(f"detect_anomalies: day {dup} appears twice in {day_col!r}; aggregate to one row per day")
    values = pd.to_numeric(daily[value_col], errors="coerce").astype(float)
    order = np.argsort(days.to_numpy(), kind="stable")
    days, values = days.iloc[order].reset_index(drop=True), values.iloc[order].reset_index(drop=True)
    out = pd.DataFrame({"day": days, "value": values})
    for c in ("expected", "lower", "upper", "score"):
        out[c] = math.nan
    out["anomaly"] = False
    if out.empty:
        return out[["day", "value", "expected", "lower", "upper", "anomaly", "score"]]
    if counts is None:
        known = values.dropna()
        counts = bool(len(known)) and bool(((known >= 0) & (known == np.round(known))).all())
    # calendar positions: gaps stay NaN
    pos = ((days - days.iloc[0]) / pd.Timedelta(days=1)).round().astype(int).to_numpy()
    series = np.full(int(pos[-1]) + 1, np.nan)
    series[pos] = values.to_numpy()
    cleaned = series.copy()  # flagged days replaced by their clipped expected value
    weekday0 = int(days.iloc[0].weekday())
    res = np.full((len(series), 4), np.nan)  # expected, lower, upper, score per calendar position
    errors: list[float] = []  # out-of-sample relative errors of earlier days
    for p in pos:
        hist = cleaned[max(0, p - history_days) : p]
        n = int(np.isfinite(hist).sum())
        if n < min_history_days or not np.isfinite(series[p]):
            continue
        expected, scale, n_res = _baseline(hist, p, weekday0, trend_days)
        recent = np.array(errors[-trend_days:])
        if len(recent) >= 7:
            scale = max(scale, _MAD_TO_SD * float(np.median(np.abs(recent - np.median(recent)))) * expected)
            n_res = max(n_res, len(recent))
        scale = max(scale, 0.01 * expected, math.sqrt(max(expected, 1.0)) if counts else 0.0, 1e-12)
        q = _quantile(level, n_res - 1)
        sd = scale * math.sqrt(1 + 1 / n_res)
        value = float(series[p])
        res[p] = [expected, expected - q * sd, expected + q * sd, (value - expected) / sd]
        if expected > 0:
            errors.append((value - expected) / expected)
        if not res[p, 1] <= value <= res[p, 2]:
            cleaned[p] = min(max(expected, res[p, 1]), res[p, 2])
    out[["expected", "lower", "upper", "score"]] = res[pos]
    out["anomaly"] = (out["value"] < out["lower"]) | (out["value"] > out["upper"])
    return out[["day", "value", "expected", "lower", "upper", "anomaly", "score"]]


def _baseline(hist: np.ndarray, p: int, weekday0: int, trend_days: int) -> tuple[float, float, int]:
    """Expected value at calendar position ``p`` from the ``hist`` days just before it, the in-sample robust
    scale of the residuals (in the value's units, on ``p``'s weekday) and the number of residuals."""
    start = p - len(hist)
    wd = (weekday0 + np.arange(start, p)) % 7
    factors = _weekday_factors(hist, wd)
    deseason = hist / factors[wd]
    t_idx = np.arange(start, p, dtype=float)
    tail = slice(max(0, len(hist) - trend_days), len(hist))
    slope, intercept = _theil_sen(t_idx[tail], deseason[tail])
    resid = (deseason - (intercept + slope * t_idx))[tail]
    resid = resid[np.isfinite(resid)]
    f_t = float(factors[(weekday0 + p) % 7])
    expected = max(intercept + slope * p, 0.0) * f_t
    scale = _MAD_TO_SD * float(np.median(np.abs(resid - np.median(resid)))) * f_t if len(resid) else 0.0
    # in-sample residuals understate the error of a new day: 6 weekday factors and 2 trend terms were fitted
    dof = max(len(resid) - _FITTED, 2)
    return expected, scale * math.sqrt(max(len(resid), 2) / dof), dof


_Q: dict[tuple[float, int], float] = {}


def _quantile(level: float, df: int) -> float:
    """Two-sided Student-t quantile for ``level`` coverage (cached)."""
    if (level, df) not in _Q:
        from scipy import stats

        _Q[level, df] = float(stats.t.ppf(0.5 + level / 2, df=max(df, 1)))
    return _Q[level, df]


def _weekday_factors(hist: np.ndarray, wd: np.ndarray) -> np.ndarray:
    """Median ratio of each weekday's value to the centred 7-day mean, normalised to mean 1 (flat with less
    than two weeks of history)."""
    s = pd.Series(hist)
    ma = s.rolling(7, center=True, min_periods=7).mean().to_numpy()
    ok = np.isfinite(hist) & np.isfinite(ma) & (ma > 0)
    if len(hist) < 14 or ok.sum() < 7:
        return np.ones(7)
    ratio = np.full(len(hist), np.nan)
    ratio[ok] = hist[ok] / ma[ok]
    per_day = [ratio[(wd == k) & ok] for k in range(7)]
    if min(len(r) for r in per_day) < 1:
        return np.ones(7)
    f = np.array([np.median(r) for r in per_day])
    if (f <= 0).any():
        return np.ones(7)
    return f / f.mean()


def _theil_sen(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Theil-Sen slope and intercept over the finite points (a flat line at the median for < 3 points)."""
    ok = np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(y) < 3:
        return 0.0, float(np.median(y)) if len(y) else 0.0
    i, j = np.triu_indices(len(x), k=1)
    slope = float(np.median((y[j] - y[i]) / (x[j] - x[i])))
    intercept = float(np.median(y - slope * x))
    return slope, intercept
