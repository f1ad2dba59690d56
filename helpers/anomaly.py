"""Anomaly detection on a daily metric: a seasonal baseline learned only from the days before each day.

Method (documented in docs/trends.md, "Anomalies"), for each day ``t`` with at least ``min_history_days``
earlier days. Positive metrics are modelled on the log scale (``log(value + c)``, ``c = 1`` for counts), so
the weekday pattern is multiplicative and a decline of 5 % a day is a straight line; a metric with negative
values stays on its own scale.

1. history: the last ``history_days`` (default 56) days before ``t``; a day flagged earlier enters the history
   at its expected value, so a past anomaly does not move the baseline, unless the following days confirm it
   (a value on the same side of the interval on the next day: a level shift is flagged once and then learned);
2. weekday pattern: per weekday, the median difference of the (log) value to its centred 7-day mean,
   centred to mean 0; with fewer than two weeks of history the pattern is flat;
3. local level and trend: a Theil-Sen line (the median of pairwise slopes, robust to a few outliers) through
   the last ``trend_days`` (default 14) de-seasonalised values, extrapolated one day with the slope damped by
   ``damping`` (0.8): the baseline follows a rise or a decline within about a week of it starting;
4. scale: the larger of 1.4826 x the median absolute residual of that line (MAD, a robust standard deviation,
   inflated for the 8 fitted parameters) and the same robust scale of the one-day-ahead errors of the last
   ``history_days`` baselines (out of sample, so it includes the error of the trend itself); floored by the
   Poisson standard deviation for counts (``1 / sqrt(expected)`` on the log scale) and by 1 % of the level;
5. interval: ``baseline +- q * scale * sqrt(1 + 1/n)`` on the model's scale, back-transformed, with ``q`` the
   Student-t quantile for ``level`` and ``n - 1`` degrees of freedom; ``score`` is the deviation on the model's
   scale in those standard deviations; the day is ``outside`` when the value is outside the interval;
6. runs: consecutive days outside on the same side are one event (a level shift, or an outage lasting days):
   only the run's first day is an ``anomaly``, with ``run_days`` the run's length, so a break in the series is
   reported once rather than on each day the baseline needs to follow it.

No extra library is needed (numpy and scipy); the method is a robust, short-memory version of the seasonal
decomposition with a damped local trend that STL and ETS refine, chosen because it runs on two weeks of
history and is robust to the anomalies it looks for.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .errors import MissingColumnError

__all__ = ["MIN_HISTORY_DAYS", "detect_anomalies"]

_MAD_TO_SD = 1.4826
_FITTED = 8  # parameters fitted in the baseline: 6 free weekday effects, trend slope and intercept


#: a day needs this many earlier known days for a baseline (``detect_anomalies``' default)
MIN_HISTORY_DAYS = 14


def detect_anomalies(
    daily: pd.DataFrame,
    *,
    day_col: str = "day",
    value_col: str = "value",
    min_history_days: int = MIN_HISTORY_DAYS,
    level: float = 0.99,
    history_days: int = 56,
    trend_days: int = 14,
    damping: float = 0.8,
    counts: bool | None = None,
) -> pd.DataFrame:
    """Flag days whose value falls outside the prediction interval of a seasonal baseline.

    Parameters
    ----------
    daily : one row per day; ``day_col`` (dates or timestamps, one per calendar day) and ``value_col``.
        Missing calendar days are treated as unknown (they neither count as history nor get a row).
    min_history_days : days with fewer earlier known days get no baseline (``expected`` NaN, never flagged).
    level : coverage of the prediction interval (0.99: about 1 normal day in 100 flagged by chance).
    history_days : how far back the weekday pattern and the out-of-sample error scale look.
    trend_days : how many recent days the local level and trend are fitted on.
    damping : factor on the trend slope when it is extrapolated one day (1: none, 0: level only).
    counts : the metric is a count (Poisson floor on the scale); default: all values are non-negative integers.

    Returns
    -------
    DataFrame, one row per input day in day order: ``day``, ``value``, ``expected`` (baseline),
    ``lower``/``upper`` (prediction interval), ``anomaly`` (bool: outside the interval and the first day of a
    run outside on that side), ``score`` (deviation in robust standard deviations on the model's scale, signed;
    NaN without a baseline), ``outside`` (bool: value outside the interval), ``run_days`` (on an anomaly: the
    number of consecutive days outside on the same side starting that day; 0 elsewhere)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.99), got {level!r}")
    if min_history_days < 7:
        raise ValueError(f"min_history_days must be at least 7 (one week of weekdays), got {min_history_days!r}")
    if not 0 <= damping <= 1:
        raise ValueError(f"damping must be between 0 and 1 (e.g. 0.8), got {damping!r}")
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
    out["anomaly"], out["outside"], out["run_days"] = False, False, 0
    cols = ["day", "value", "expected", "lower", "upper", "anomaly", "score", "outside", "run_days"]
    if out.empty:
        return out[cols]
    known = values.dropna()
    if counts is None:
        counts = bool(len(known)) and bool(((known >= 0) & (known == np.round(known))).all())
    scale_t = _Scale(known, counts=counts)
    # calendar positions: gaps stay NaN
    pos = ((days - days.iloc[0]) / pd.Timedelta(days=1)).round().astype(int).to_numpy()
    series = np.full(int(pos[-1]) + 1, np.nan)
    series[pos] = scale_t.fwd(values.to_numpy())
    cleaned = series.copy()  # flagged days replaced by their baseline until the next day confirms them
    weekday0 = int(days.iloc[0].weekday())
    res = np.full((len(series), 4), np.nan)  # expected, lower, upper, score per calendar position
    errors: list[float] = []  # out-of-sample errors (model scale) of earlier days
    pending: tuple[int, float] | None = None  # last flagged day (position, sign) not yet confirmed
    for p in pos:
        hist = cleaned[max(0, p - history_days) : p]
        n = int(np.isfinite(hist).sum())
        if n < min_history_days or not np.isfinite(series[p]):
            continue
        base, sd_in, n_res = _baseline(hist, p, weekday0, trend_days, damping)
        recent = np.array(errors[-history_days:])
        sd = sd_in
        if len(recent) >= 7:
            sd = max(sd, _MAD_TO_SD * float(np.median(np.abs(recent - np.median(recent)))))
            n_res = max(n_res, len(recent))
        sd = max(sd, scale_t.floor(base), 1e-12)
        q = _quantile(level, n_res - 1)
        sd *= math.sqrt(1 + 1 / n_res)
        x = float(series[p])
        score = (x - base) / sd
        res[p] = [scale_t.inv(base), scale_t.inv(base - q * sd), scale_t.inv(base + q * sd), score]
        errors.append(x - base)
        flagged = abs(score) > q
        if pending is not None and pending[0] == p - 1 and flagged and np.sign(score) == pending[1]:
            cleaned[p - 1] = series[p - 1]  # two days on the same side: a level shift, learned from now on
        elif flagged:
            cleaned[p] = base
        pending = (p, float(np.sign(score))) if flagged else None
    out[["expected", "lower", "upper", "score"]] = res[pos]
    out["outside"] = (out["value"] < out["lower"]) | (out["value"] > out["upper"])
    # a run of days outside the interval on the same side is one event (a level shift or a multi-day outage):
    # reported once, on its first day; ``run_days`` counts the days of the run that start on that day
    side = np.sign(out["score"].fillna(0.0).to_numpy()) * out["outside"].to_numpy()
    prev_day = np.r_[-2, pos[:-1]]
    cont = (side != 0) & (np.r_[0.0, side[:-1]] == side) & (prev_day == pos - 1)
    out["anomaly"] = out["outside"] & ~cont
    run_id = np.cumsum(~cont)
    out["run_days"] = np.where(out["anomaly"], pd.Series(run_id).map(pd.Series(run_id).value_counts()), 0)
    return out[cols]


class _Scale:
    """The model's scale: ``log(value + c)`` for non-negative metrics (``c = 1`` for counts, else 1 % of the
    median positive value when there are zeros), the value itself when some values are negative."""

    def __init__(self, known: pd.Series, *, counts: bool):
        self.counts = counts
        self.log = bool(len(known)) and bool((known >= 0).all())
        pos = known[known > 0]
        if counts:
            self.c = 1.0
        elif self.log and (known == 0).any():
            self.c = 0.01 * float(pos.median()) if len(pos) else 1.0
        else:
            self.c = 0.0
        self.level = float(known.abs().median()) if len(known) else 1.0

    def fwd(self, v: np.ndarray) -> np.ndarray:
        return np.log(v + self.c) if self.log else v.astype(float)

    def inv(self, x: float) -> float:
        return float(np.exp(x) - self.c) if self.log else float(x)

    def floor(self, base: float) -> float:
        """The smallest standard deviation on the model's scale: Poisson for counts, 1 % of the level."""
        if self.log:
            mu = max(math.exp(base) - self.c, 1.0)
            return max(1 / math.sqrt(mu) if self.counts else 0.0, 0.01)
        mu = abs(base)
        return max(math.sqrt(max(mu, 1.0)) if self.counts else 0.0, 0.01 * max(mu, self.level * 1e-6))


def _baseline(hist: np.ndarray, p: int, weekday0: int, trend_days: int, damping: float) -> tuple[float, float, int]:
    """Baseline at calendar position ``p`` from the ``hist`` days just before it (model scale), the in-sample
    robust scale of the residuals around the local line and the number of residuals."""
    start = p - len(hist)
    wd = (weekday0 + np.arange(start, p)) % 7
    effects = _weekday_effects(hist, wd)
    deseason = hist - effects[wd]
    t_idx = np.arange(start, p, dtype=float)
    tail = slice(max(0, len(hist) - trend_days), len(hist))
    slope, intercept = _theil_sen(t_idx[tail], deseason[tail])
    resid = (deseason - (intercept + slope * t_idx))[tail]
    resid = resid[np.isfinite(resid)]
    last = t_idx[tail][np.isfinite(deseason[tail])]
    t_last = float(last[-1]) if len(last) else float(p - 1)
    base = intercept + slope * t_last + damping * slope * (p - t_last) + float(effects[(weekday0 + p) % 7])
    sd = _MAD_TO_SD * float(np.median(np.abs(resid - np.median(resid)))) if len(resid) else 0.0
    # in-sample residuals understate the error of a new day: 6 weekday effects and 2 trend terms were fitted
    dof = max(len(resid) - _FITTED, 2)
    return base, sd * math.sqrt(max(len(resid), 2) / dof), dof


_Q: dict[tuple[float, int], float] = {}


def _quantile(level: float, df: int) -> float:
    """Two-sided Student-t quantile for ``level`` coverage (cached)."""
    if (level, df) not in _Q:
        from scipy import stats

        _Q[level, df] = float(stats.t.ppf(0.5 + level / 2, df=max(df, 1)))
    return _Q[level, df]


def _weekday_effects(hist: np.ndarray, wd: np.ndarray) -> np.ndarray:
    """Median difference of each weekday's value to the centred 7-day mean, centred to mean 0 (flat with less
    than two weeks of history)."""
    s = pd.Series(hist)
    ma = s.rolling(7, center=True, min_periods=7).mean().to_numpy()
    ok = np.isfinite(hist) & np.isfinite(ma)
    if len(hist) < 14 or ok.sum() < 7:
        return np.zeros(7)
    diff = np.where(ok, hist - ma, np.nan)
    per_day = [diff[(wd == k) & ok] for k in range(7)]
    if min(len(r) for r in per_day) < 1:
        return np.zeros(7)
    f = np.array([np.median(r) for r in per_day])
    return f - f.mean()


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
