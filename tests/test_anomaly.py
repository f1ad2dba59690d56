"""Anomaly detection on a daily metric: hand-checkable baselines and a simulation with known anomalies."""

import numpy as np
import pandas as pd
import pytest

from helpers.anomaly import detect_anomalies

WEEK = np.array([1.0, 0.95, 0.97, 1.0, 1.05, 1.35, 1.3])  # Monday..Sunday


def _simulate(rng, n_days=120, n_anom=4):
    """Trend x weekday pattern x noise (Poisson plus 4 % extra), ``n_anom`` days cut to 40-70 % or raised 45 %."""
    t = np.arange(n_days)
    start_wd = int(rng.integers(0, 7))
    mu = rng.uniform(200, 3000) * (1 + rng.uniform(-0.4, 0.6) * t / n_days) * WEEK[(start_wd + t) % 7]
    y = rng.normal(mu, np.sqrt(mu + (0.04 * mu) ** 2))
    bad = rng.choice(np.arange(14, n_days), size=n_anom, replace=False)
    for d in bad:
        y[d] *= rng.choice([0.6, 1.45]) if rng.random() < 0.5 else rng.uniform(0.4, 0.7)
    day = pd.date_range("2024-01-01", periods=n_days) + pd.Timedelta(days=start_wd)
    return pd.DataFrame({"day": day, "value": np.maximum(np.round(y), 0)}), set(bad.tolist())


def test_constant_series_flags_only_the_spike():
    days = pd.date_range("2024-03-01", periods=40)
    value = np.full(40, 100.0)
    value[30] = 180
    r = detect_anomalies(pd.DataFrame({"day": days, "value": value}))
    assert list(r.columns) == ["day", "value", "expected", "lower", "upper", "anomaly", "score", "outside", "run_days"]
    assert r.expected.iloc[:14].isna().all() and not r.anomaly.iloc[:14].any()  # no baseline yet
    assert r.expected.iloc[14:].to_numpy() == pytest.approx(100.0)
    assert r.index[r.anomaly].tolist() == [30]
    assert r.score.iloc[30] > 5
    # the spike does not move the baseline of the days after it
    assert r.expected.iloc[31:].to_numpy() == pytest.approx(100.0)


def test_weekday_pattern_and_trend_are_learned():
    days = pd.date_range("2024-01-01", periods=70)  # starts on a Monday
    value = (1000 + 10 * np.arange(70)) * WEEK[np.arange(70) % 7]
    r = detect_anomalies(pd.DataFrame({"d": days, "v": value}), day_col="d", value_col="v")
    late = r.iloc[28:]
    assert late.expected.to_numpy() == pytest.approx(late.value.to_numpy(), rel=0.02)
    assert not r.anomaly.any()


def test_input_checks_and_gaps():
    df = pd.DataFrame({"day": pd.date_range("2024-01-01", periods=30), "value": 50.0})
    with pytest.raises(KeyError, match="'amount'"):
        detect_anomalies(df, value_col="amount")
    with pytest.raises(ValueError, match="appears twice"):
        detect_anomalies(pd.concat([df, df.iloc[[3]]]))
    gap = df.drop(index=[20, 21])
    r = detect_anomalies(gap.iloc[::-1])  # unsorted input, two missing days
    assert len(r) == 28 and r.day.is_monotonic_increasing and not r.anomaly.any()


def test_simulation_precision_recall_false_alarms():
    """100 series of 120 days with 4 known anomalies each (recorded numbers: precision 0.78, recall 0.96,
    1.07 false alarms per 100 normal days at level 0.99, a run of days outside reported once; before that rule
    0.77, 0.985, 1.2; the earlier 28-day linear trend: 0.72, 0.995, 1.5)."""
    rng = np.random.default_rng(0)
    tp = fp = fn = normal = 0
    for _ in range(100):
        df, truth = _simulate(rng)
        flagged = set(np.flatnonzero(detect_anomalies(df).anomaly.to_numpy()).tolist())
        tp, fp, fn = tp + len(flagged & truth), fp + len(flagged - truth), fn + len(truth - flagged)
        normal += 120 - 14 - len(truth)
    precision, recall, false_per_100 = tp / (tp + fp), tp / (tp + fn), 100 * fp / normal
    assert recall >= 0.95
    assert precision >= 0.65
    assert false_per_100 <= 2.0


def test_simulation_rise_then_decline_few_false_alarms():
    """The demo's shape: activity rises for five weeks, then declines 4 % a day (no new users); 50 series of 70
    days without anomalies but one level drop of 15 % on the turn. The baseline follows the turn within days
    (recorded: 1.9 flags per 100 days, the drop included, a run outside reported once; before that rule 3.1; the
    previous fixed 28-day linear trend: 15.2)."""
    rng = np.random.default_rng(1)
    flagged = checked = 0
    for _ in range(50):
        t = np.arange(70)
        level = rng.uniform(150, 1500) * np.where(t < 35, 0.3 + 0.7 * t / 35, 0.85 * 0.96 ** (t - 35))
        mu = level * WEEK[t % 7]
        y = np.maximum(np.round(rng.normal(mu, np.sqrt(mu + (0.04 * mu) ** 2))), 0)
        r = detect_anomalies(pd.DataFrame({"day": pd.date_range("2024-01-01", periods=70), "value": y}))
        flagged += int(r.anomaly.sum())
        checked += int(r.expected.notna().sum())
    assert 100 * flagged / checked <= 4.0  # includes the flagged 15 % drop itself (a real shift), ~1 a series
    assert 100 * flagged / checked <= 2.5  # recorded 1.9 with runs reported once (3.1 before)


def test_a_level_shift_is_flagged_once_with_its_length():
    days = pd.date_range("2024-03-01", periods=40)
    value = np.where(np.arange(40) < 30, 100.0, 50.0)
    r = detect_anomalies(pd.DataFrame({"day": days, "value": value}))
    assert r.index[r.anomaly].tolist() == [30]
    assert r.at[30, "run_days"] == r.outside.iloc[30:].sum() >= 2  # the following days outside belong to the run
    assert (r.run_days[~r.anomaly] == 0).all()


def test_group_series_find_a_one_group_outage_with_bonferroni_and_size_rules():
    """Three groups of Poisson counts; group B falls from ~12 to 1 on day 40 while the total moves less than its
    noise; group C (median 1 a day) is too small to be tested; the sum (amount) flag needs B's count flagged."""
    from helpers.trend_anomalies import detect_trend_anomalies
    from helpers.trend_metrics import Metric

    rng = np.random.default_rng(3)
    days = pd.date_range("2024-01-01", periods=50)
    mu = {"A": 60.0, "B": 12.0, "C": 1.0}
    rows = []
    for i, d in enumerate(days):
        for g, m in mu.items():
            n = int(rng.poisson(m)) if not (g == "B" and i == 40) else 1
            rows.append((d, g, float(n), 10.0 * n))
    dg = pd.DataFrame(rows, columns=["period_start", "group", "orders", "gmv"])
    daily = dg.groupby("period_start", as_index=False)[["orders", "gmv"]].sum()
    metrics = {
        "orders": Metric("orders", agg="count", events=("pay",)),
        "gmv": Metric("gmv", agg="sum", events=("pay",), column="amount"),
    }
    flags, checked = detect_trend_anomalies(daily, metrics, ["orders", "gmv"], daily_groups=dg, groups=["A", "B", "C"])
    assert list(flags.columns) == ["metric", "group", "day", "value", "expected", "lower", "upper", "score", "run_days"]
    b = flags[(flags["group"] == "B") & (flags["day"] == days[40])]
    assert set(b["metric"]) == {"orders", "gmv"} and (b["score"] < 0).all()
    assert "C" not in set(flags["group"].dropna())  # median 1 a day < GROUP_MIN_DAILY: not tested
    assert checked == 2 * (50 - 14) * 3  # overall orders and gmv, groups A and B of each
    assert len(flags) <= 4  # the outage (count and sum) and at most a chance flag or two
    none = detect_trend_anomalies(daily, metrics, ["orders"], daily_groups=None)[0]
    assert none["group"].isna().all()


def test_groups_tested_without_a_flag_on_a_short_log():
    """A log of one day (REES46's 2.6 hours): every group series is tested but none is flagged (no baseline). The
    report failed with KeyError "['_basis'] not found in axis": an empty list of kept rows picked no columns."""
    from helpers.trend_anomalies import detect_trend_anomalies
    from helpers.trend_metrics import Metric

    day = pd.Timestamp("2019-10-01")
    dg = pd.DataFrame({"period_start": [day, day], "group": ["A", "B"], "orders": [80.0, 40.0], "gmv": [800.0, 1.0]})
    daily = dg.groupby("period_start", as_index=False)[["orders", "gmv"]].sum()
    metrics = {
        "orders": Metric("orders", agg="count", events=("pay",)),
        "gmv": Metric("gmv", agg="sum", events=("pay",), column="amount"),
    }
    flags, checked = detect_trend_anomalies(daily, metrics, ["orders", "gmv"], daily_groups=dg, groups=["A", "B"])
    assert len(flags) == 0 and checked == 0
    assert list(flags.columns) == ["metric", "group", "day", "value", "expected", "lower", "upper", "score", "run_days"]
