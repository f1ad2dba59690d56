"""Trends metrics on a hand-made log with hand-computed answers: built-ins per window, custom metrics and
formulas, granularity, breakdown totals, movers, the tests (two-proportion, Welch checked against scipy), and
the same numbers on Spark as on DuckDB."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers import i18n
from helpers.sections import TrendsParams
from helpers.stats import two_proportion_test
from helpers.trend_metrics import formula_names, resolve_metrics
from helpers.trends import (
    biggest_movers,
    breakdown_windows,
    compare_windows,
    explain_anomalies,
    top_groups,
    trend_series,
    windows,
    year_ago,
)

from .conftest import TAOBAO, need

# (user, event, timestamp, amount, platform); Mon 2024-01-01 .. Thu 2024-01-04
ROWS = [
    ("u1", "view", "2024-01-01 10:00", None, "A"),
    ("u1", "pay", "2024-01-01 11:00", 10.0, "A"),
    ("u2", "view", "2024-01-01 12:00", None, "B"),
    ("u2", "view", "2024-01-02 09:00", None, "B"),
    ("u3", "view", "2024-01-02 10:00", None, "A"),
    ("u1", "view", "2024-01-03 10:00", None, "A"),
    ("u1", "pay", "2024-01-03 11:00", 30.0, "A"),
    ("u2", "pay", "2024-01-04 08:00", 20.0, "B"),
    ("u2", "view", "2024-01-04 09:00", None, "B"),
    ("u4", "view", "2023-12-31 23:59", None, "A"),  # before both windows: never counted
]


def events() -> pd.DataFrame:
    df = pd.DataFrame(ROWS, columns=["user_id", "event", "ts", "amount", "platform"])
    df["ts"] = pd.to_datetime(df["ts"]).astype("datetime64[us]")
    return df


def metrics(extra=()):
    return resolve_metrics(list(TrendsParams().metrics) + list(extra), order_events=("pay",), amount_col="amount")


W = windows("2024-01-03", "2024-01-04", compare_days=None)


def test_windows_are_equal_length_and_adjacent():
    assert W["current"] == (pd.Timestamp("2024-01-03"), pd.Timestamp("2024-01-05"))
    assert W["previous"] == (pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-03"))
    w7 = windows("2024-03-01", "2024-04-29", compare_days=7)
    assert w7["current"] == (pd.Timestamp("2024-04-23"), pd.Timestamp("2024-04-30"))
    assert w7["previous"] == (pd.Timestamp("2024-04-16"), pd.Timestamp("2024-04-23"))


def test_short_period_windows_stay_inside_the_period():
    """Ingest keeps only the period's rows, so a previous window reaching before the period compared 7 days with 3
    (a 10-day demo period read "订单数 +157.6%"). Each window is cut to half the period; a one-day period or
    ``compare_days: null`` leaves the previous window before the period, and the note says why, in words."""
    from helpers import i18n
    from helpers.periods import window_days, window_note

    ts = pd.Timestamp
    w = windows("2024-04-01", "2024-04-10", compare_days=7)  # 10 days: 5 and 5
    assert w == {"current": (ts("2024-04-06"), ts("2024-04-11")), "previous": (ts("2024-04-01"), ts("2024-04-06"))}
    assert window_days("2024-04-01", "2024-04-11", 7) == 5 and window_days("2024-04-01", "2024-04-14", 7) == 7
    assert window_days("2024-04-01", "2024-04-03", 7) == 1 and window_days("2024-04-01", "2024-04-10", None) is None
    one = windows("2024-04-10", "2024-04-10", compare_days=7)
    assert one["previous"] == (ts("2024-04-09"), ts("2024-04-10"))  # before the period: nothing to compare
    # the same activity every day of the period: no change, as it should be (a 7-against-3 window showed a rise)
    days = pd.date_range("2024-04-01 10:00", periods=10, freq="D")
    ev = pd.DataFrame({"user_id": ["u1", "u2"] * 10, "event": "view", "ts": days.repeat(2), "amount": None,
                       "platform": "A"})  # fmt: skip
    ev["ts"] = ev["ts"].astype("datetime64[us]")
    got = compare_windows(ev, metrics(), w).set_index("metric")
    assert (got.loc["events", "current"], got.loc["events", "previous"]) == (10, 10)
    with i18n.language("zh"):
        assert window_note("2024-04-01", "2024-04-14", 7, "trends.compare_days") == ""
        short = window_note("2024-04-01", "2024-04-10", 7, "trends.compare_days")
        assert (
            short.startswith("统计期只有 10 天，放不下两个 7 天的窗口（trends.compare_days）") and "各取 5 天" in short
        )
        assert "把 trends.compare_days 设为 5 或更小" in window_note(
            "2024-04-01", "2024-04-10", None, "trends.compare_days"
        )
        assert "统计期只有 1 天" in window_note("2024-04-10", "2024-04-10", 7, "trends.compare_days")
        # a longer period whose data covers one day: said of the data, not of the period
        one = window_note("2024-04-10", "2024-04-10", 7, "trends.compare_days", data_ended=True)
        assert "数据只覆盖统计期内完整的 1 天" in one and "统计期只有" not in one
    # a period set past the data: the windows end with the data's last day, said in words
    from helpers.periods import cut_note, data_end

    day = lambda s: pd.Timestamp(s).date()  # noqa: E731
    with i18n.language("en"):
        got = data_end("2024-06-30", pd.Timestamp("2024-05-18 23:10"))
        assert got == (day("2024-05-18"), (day("2024-05-18"), day("2024-06-30")))
        assert cut_note(got[1]) == (
            "The data ends before the period's end (2024-06-30), on 2024-05-18: this report's windows end with the "
            "data, and the days after it do not count as days without activity."
        )
        assert data_end("2024-06-30", "2024-06-30 08:00") == (day("2024-06-30"), None) and cut_note(None) == ""
        assert data_end("2024-06-30", None)[1] is None and data_end("2024-06-30", pd.NaT)[1] is None
        ended = window_note("2024-04-20", "2024-05-18", 28, "products.compare_days", data_ended=True)
        assert ended.startswith("From the period's start to the data's end there are only 29 days"), ended
    with i18n.language("en"):
        assert "take 1 day each" in window_note("2024-04-01", "2024-04-03", 7, "products.compare_days")
        assert "take 5 days each" in window_note("2024-04-01", "2024-04-10", 7, "products.compare_days")


def test_builtin_metrics_hand_computed():
    s = compare_windows(events(), metrics(), W).set_index("metric")
    prev = {"active_users": 3, "dau": 2, "events": 5, "events_per_user": 5 / 3, "paying_users": 1, "orders": 1,
            "gmv": 10, "aov": 10, "arpu": 10 / 3, "arppu": 10, "pay_rate": 1 / 3, "stickiness": 2 / 3}  # fmt: skip
    cur = {"active_users": 2, "dau": 1, "events": 4, "events_per_user": 2, "paying_users": 2, "orders": 2,
           "gmv": 50, "aov": 25, "arpu": 25, "arppu": 25, "pay_rate": 1, "stickiness": 0.5}  # fmt: skip
    assert list(s.index) == list(TrendsParams().metrics)
    for k in prev:
        assert s.at[k, "previous"] == pytest.approx(prev[k]), k
        assert s.at[k, "current"] == pytest.approx(cur[k]), k
        assert s.at[k, "abs_change"] == pytest.approx(cur[k] - prev[k]), k
        assert s.at[k, "rel_change"] == pytest.approx(cur[k] / prev[k] - 1), k
    kinds = s["kind"].to_dict()
    assert kinds["pay_rate"] == "rate" and kinds["arpu"] == "mean" and kinds["gmv"] == "value"


def test_rate_and_mean_tests_match_independent_computation():
    s = compare_windows(events(), metrics(), W).set_index("metric")
    tt = two_proportion_test(2, 2, 1, 3)
    assert s.at["pay_rate", "test"] == "two-proportion"
    assert s.at["pay_rate", "p_value"] == pytest.approx(tt["p_value"])
    assert s.at["pay_rate", "diff_ci_low"] == pytest.approx(tt["diff_ci_low"])
    # ARPU: per active user GMV, current [30, 20], previous [10, 0, 0]
    ref = stats.ttest_ind([30, 20], [10, 0, 0], equal_var=False)
    assert s.at["arpu", "test"] == "welch"
    assert s.at["arpu", "p_value"] == pytest.approx(ref.pvalue)
    # AOV: per order, current [30, 20], previous [10]: one order, no test possible
    assert math.isnan(s.at["aov", "p_value"])
    # events per user: current [2 (u1), 2 (u2)], previous [2 (u1), 2 (u2), 1 (u3)]
    ref = stats.ttest_ind([2, 2], [2, 2, 1], equal_var=False)
    assert s.at["events_per_user", "p_value"] == pytest.approx(ref.pvalue)


def test_custom_metrics_filters_and_formulas():
    extra = [
        {"name": "view_uv", "event": "view", "agg": "users"},
        {"name": "view_pv", "event": "view", "agg": "count"},
        {"name": "gmv_a", "event": "pay", "where": {"platform": "A"}, "agg": "sum", "column": "amount"},
        {"name": "median_pay", "event": "pay", "agg": "median", "column": "amount"},
        {"name": "views_per_user", "event": "view", "agg": "per_user"},
        {"name": "view_to_pay", "formula": "paying_users / view_uv"},
        {"name": "gmv_k", "formula": "gmv / 1000 + 1"},
    ]
    m = metrics(extra)
    s = compare_windows(events(), m, W).set_index("metric")
    assert "views_per_user__n" not in s.index
    assert (s.at["view_uv", "current"], s.at["view_uv", "previous"]) == (2, 3)
    assert (s.at["view_pv", "current"], s.at["view_pv", "previous"]) == (2, 4)
    assert (s.at["gmv_a", "current"], s.at["gmv_a", "previous"]) == (30, 10)
    assert (s.at["median_pay", "current"], s.at["median_pay", "previous"]) == (25, 10)
    assert s.at["views_per_user", "current"] == pytest.approx(1) and s.at["views_per_user", "previous"] == 4 / 3
    assert s.at["view_to_pay", "kind"] == "rate" and s.at["view_to_pay", "current"] == 1
    assert s.at["gmv_k", "current"] == pytest.approx(1.05) and s.at["gmv_k", "kind"] == "value"
    with pytest.raises(ValueError, match="only"):
        formula_names("__import__('os').system('x')")
    with pytest.raises(ValueError, match="unknown metric"):
        resolve_metrics([{"name": "x", "formula": "nope / events"}], order_events=("pay",), amount_col="amount")
    with pytest.raises(ValueError, match="needs a column"):
        TrendsParams(metrics=[{"name": "s", "agg": "sum"}])
    with pytest.raises(ValueError, match="extra"):
        TrendsParams(granularity="day", bogus=1)


def test_granularity_day_and_week():
    m = metrics()
    d = trend_series(events(), m, start="2024-01-01", end_exclusive="2024-01-05", granularity="day")
    assert d["period_start"].dt.day.tolist() == [1, 2, 3, 4]
    assert d["events"].tolist() == [3, 2, 2, 2]
    assert d["active_users"].tolist() == [2, 2, 1, 1]
    assert d["gmv"].tolist() == [10, 0, 30, 20]
    wk = trend_series(events(), m, start="2023-12-25", end_exclusive="2024-01-05", granularity="week")
    assert wk["period_start"].tolist() == [pd.Timestamp("2023-12-25"), pd.Timestamp("2024-01-01")]  # Mondays
    assert wk["events"].tolist() == [1, 9] and wk["active_users"].tolist() == [1, 3]
    assert wk["dau"].tolist() == [1, 1.5]  # (2 + 2 + 1 + 1) / 4 days with activity
    with pytest.raises(ValueError, match="granularity"):
        trend_series(events(), m, start="2024-01-01", end_exclusive="2024-01-05", granularity="year")


def test_breakdown_totals_add_up_and_movers():
    m = metrics()
    assert top_groups(events(), "platform", n=1) == ["A"]
    b = breakdown_windows(events(), m, W, group_col="platform", top=["A"])
    assert set(b["group"]) == {"A", "other"}
    s = compare_windows(events(), m, W).set_index("metric")
    # every user has one platform here, so user counts add up too
    for k in ("events", "orders", "gmv", "active_users", "paying_users"):
        g = b[b["metric"] == k]
        assert g["current"].sum() == s.at[k, "current"] and g["previous"].sum() == s.at[k, "previous"], k
    mv = biggest_movers(b, m, n=20)
    gmv = mv[mv["metric"] == "gmv"].set_index("group")
    assert gmv.at["A", "abs_change"] == 20 and gmv.at["other", "abs_change"] == 20
    assert gmv["contribution"].tolist() == [0.5, 0.5]
    ev = mv[mv["metric"] == "events"].set_index("group")
    assert ev.at["A", "abs_change"] == -1 and ev.at["A", "contribution"] == 1.0
    assert set(mv["metric"]) <= {"active_users", "dau", "events", "paying_users", "orders", "gmv"} - {"dau"}


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_spark_equals_duckdb(spark_ibis):
    con = spark_ibis
    session = con._session
    session.createDataFrame(events()).createOrReplaceTempView("trend_events")  # no table files written
    t = con.table("trend_events")
    m = metrics([{"name": "view_uv", "event": "view", "agg": "users"}])
    m = {k: v for k, v in m.items() if k != "median_pay"}
    duck = compare_windows(events(), m, W)
    spark = compare_windows(t, m, W)
    pd.testing.assert_frame_equal(spark, duck, check_exact=False, rtol=1e-9)
    d1 = trend_series(events(), m, start="2024-01-01", end_exclusive="2024-01-05")
    d2 = trend_series(t, m, start="2024-01-01", end_exclusive="2024-01-05")
    pd.testing.assert_frame_equal(d2, d1, check_exact=False, rtol=1e-9)


def test_year_ago_needs_data_reaching_back():
    m = metrics()
    assert year_ago(events(), m, W) is None  # the data starts 2023-12-31, the window a year earlier 2023-01-04
    old = pd.DataFrame([("u9", "pay", "2023-01-04 10:00", 5.0, "A")], columns=events().columns)
    old["ts"] = pd.to_datetime(old["ts"]).astype("datetime64[us]")
    ya = year_ago(pd.concat([events(), old], ignore_index=True), m, W)
    assert ya is not None and ya["gmv"] == 5 and ya["events"] == 1 and ya["active_users"] == 1


def test_explain_anomalies_names_the_group():
    # 5 Mondays; on the last one group B drops from 10 to 2 while A stays at 5
    days = pd.date_range("2024-01-01", periods=5, freq="7D")
    rows = [(d, g, v) for d in days for g, v in (("A", 5.0), ("B", 10.0 if d != days[-1] else 2.0))]
    dg = pd.DataFrame(rows, columns=["period_start", "group", "orders"])
    flagged = pd.DataFrame({"day": [days[-1]], "metric": ["orders"], "value": [7.0], "expected": [15.0]})
    out = explain_anomalies(flagged, dg, metrics())
    assert out.at[0, "top_group"] == "B" and out.at[0, "top_group_change"] == -8 and out.at[0, "top_group_share"] == 1
    # flagged as a spike, but no group rose against its own weekday history: no group named
    assert explain_anomalies(flagged.assign(value=30.0), dg, metrics()).at[0, "top_group"] is None
    # a formula metric is not additive: no group named
    flagged2 = flagged.assign(metric="aov")
    assert explain_anomalies(flagged2, dg.assign(aov=1.0), metrics()).at[0, "top_group"] is None


@pytest.mark.shared
@need(TAOBAO)
def test_taobao_daily_metrics_match_pandas():
    """Daily active users, events, buyers, orders and events per user on the Taobao sample (local time
    Asia/Shanghai) against pandas written here; the platform-free breakdown by category (top 3 + other) adds up."""
    raw = pd.read_csv(TAOBAO)
    ts = pd.to_datetime(raw["timestamp"], unit="s", utc=True).dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    ev = pd.DataFrame({"user_id": raw["user_id"].astype(str), "event": raw["behavior_type"], "ts": ts,
                       "category": raw["category_id"].astype(str)})  # fmt: skip
    ev["ts"] = ev["ts"].astype("datetime64[us]")
    ev = ev[(ev["ts"] >= "2017-11-25") & (ev["ts"] < "2017-12-04")]
    m = resolve_metrics(["active_users", "events", "paying_users", "orders", "events_per_user", "pay_rate"],
                        order_events=("buy",), amount_col="amount")  # fmt: skip
    got = trend_series(ev, m, start="2017-11-25", end_exclusive="2017-12-04").set_index("period_start")
    day = ev["ts"].dt.normalize()
    buy = ev[ev["event"] == "buy"]
    exp = pd.DataFrame({
        "active_users": ev.groupby(day)["user_id"].nunique(),
        "events": ev.groupby(day).size(),
        "paying_users": buy.groupby(buy["ts"].dt.normalize())["user_id"].nunique(),
        "orders": buy.groupby(buy["ts"].dt.normalize()).size(),
    }).fillna(0)  # fmt: skip
    exp["events_per_user"] = exp["events"] / exp["active_users"]
    exp["pay_rate"] = exp["paying_users"] / exp["active_users"]
    assert len(got) == 9 and exp["events"].sum() == len(ev)
    for c in exp.columns:
        np.testing.assert_allclose(got[c].to_numpy(), exp[c].to_numpy(dtype=float), err_msg=c)
    top = top_groups(ev, "category", n=3)
    b = breakdown_windows(ev, m, windows("2017-11-29", "2017-12-03", compare_days=None), group_col="category", top=top)
    s = compare_windows(ev, m, windows("2017-11-29", "2017-12-03", compare_days=None)).set_index("metric")
    for k in ("events", "orders"):
        g = b[b["metric"] == k]
        assert g["current"].sum() == s.at[k, "current"] and g["previous"].sum() == s.at[k, "previous"], k


def test_anomaly_findings_list_days_only_when_the_baseline_fits():
    """A detector that fits flags about 1.5 % of normal days; when far more metric-days are flagged the
    findings say the alerts are not reliable here instead of listing days as if they were real."""
    from helpers.trends import ANOMALY_RELIABLE_SHARE, TrendsReport

    flags = pd.DataFrame(
        {
            "day": pd.to_datetime(["2024-04-18", "2024-04-06"]),
            "metric": ["events", "orders"],
            "value": [10.0, 90.0],
            "expected": [50.0, 40.0],
            "score": [-6.0, 5.0],
        }
    )
    base = {"window": {"current": (pd.Timestamp("2024-04-23"), pd.Timestamp("2024-04-30"))}, "anomalies": flags}
    fits = TrendsReport(**base, anomaly_checked=200)  # 2 of 200 = 1 %
    text = " ".join(fits.findings())
    assert "2024-04-18 events" in text and "2024-04-06 orders" in text and "not reliable" not in text
    # a count whole and its expectation, an estimate, with one decimal, as the table's row shows them (not
    # "10.00（预期 28.90）": the estimate's decimals made the count read as if it had some)
    fits.anomalies = flags.assign(expected=[28.9, 40.0], lower=[20.04, 30.0], upper=[37.96, 50.0])
    text = " ".join(fits.findings())
    assert "10（预期 28.9）" in text and "90（预期 40.0）" in text, text
    html = fits._show("anomalies").to_html()
    for cell in (">10<", ">28.9<", ">20.0<", ">38.0<", ">90<", ">40.0<"):
        assert cell in html, cell
    assert "10.00" not in html and "28.90" not in html
    # a top group's change that is not whole gives the row two decimals: the sentence reads the value as the row
    fits.anomalies = fits.anomalies.assign(top_group=[math.nan, "b"], top_group_change=[math.nan, 2.5])
    text, html = " ".join(fits.findings()), fits._show("anomalies").to_html()
    assert ">90.00<" in html and ">2.50<" in html and "90.00（预期 40.0；" in text, text
    assert "10（预期 28.9）" in text and ">10<" in html and "nan" not in text  # no group: none named
    noisy = TrendsReport(**base, anomaly_checked=int(2 / ANOMALY_RELIABLE_SHARE) - 1)  # just over the share
    with i18n.language("en"):
        text = " ".join(noisy.findings())
    assert "not reliable here: 2 of 39 metric-days" in text and "2024-04-18 events" not in text


def test_without_a_previous_window_the_findings_give_this_windows_values():
    """Data that does not reach back to the previous window (a one-day log): the findings say so in the window
    line and give each metric's value in this window, counts included, instead of "上期 –，变化 –" for the ratios
    and nothing for the counts; with a previous window they compare as before."""
    from helpers.trends import TrendsReport, has_previous

    m = metrics()
    late = events()[events()["ts"] >= "2024-01-03"]  # nothing in the previous window (Jan 1-2)
    summary = compare_windows(late, m, W)
    assert not has_previous(summary) and has_previous(compare_windows(events(), m, W))
    rep = TrendsReport(metrics=m, window=W, summary=summary.assign(yoy_change=math.nan))
    found = [str(f) for f in rep.findings()]
    assert found[0].startswith("本期为 2024-01-03 至 2024-01-04；数据没有覆盖之前等长的上一期"), found
    values = summary.set_index("metric")["current"]
    assert f"活跃用户：{values['active_users']:,.0f}。" in found and "成交额 GMV：¥50.00。" in found, found
    assert len(found) == 1 + len(summary) and not any("上期" in f for f in found[1:]), found
    assert rep.lead() == found[1]  # the first metric's value, not the window
    both = TrendsReport(metrics=m, window=W, summary=compare_windows(events(), m, W).assign(yoy_change=math.nan))
    assert any("上期" in str(f) for f in both.findings())


def test_money_is_summed_exactly_in_any_order():
    """GMV (and a declared sum of the amount column) adds money as decimals to 6 places: two platforms paying
    0.1, 0.2 and 0.3 in opposite orders both have 0.6 to the bit (as floats, 0.1 + 0.2 + 0.3 is
    0.6000000000000001 and 0.3 + 0.2 + 0.1 is 0.6), in the totals and in the per-user values of ARPPU's test.
    A sum of another column stays a float sum: it need not be money with 6 places."""
    from helpers.trend_metrics import aggregate_metrics, unit_stats

    rows = [("a", "pay", f"2024-01-03 1{i}:00", x, "A") for i, x in enumerate([0.1, 0.2, 0.3])]
    rows += [("b", "pay", f"2024-01-03 1{i}:00", x, "B") for i, x in enumerate([0.3, 0.2, 0.1])]
    df = pd.DataFrame(rows, columns=["user_id", "event", "ts", "amount", "platform"])
    df["ts"] = pd.to_datetime(df["ts"]).astype("datetime64[us]")
    df["qty"] = df["amount"]
    assert 0.1 + 0.2 + 0.3 != 0.3 + 0.2 + 0.1  # what float sums would give
    paid, qty = {"name": "paid", "agg": "sum", "column": "amount"}, {"name": "qty_sum", "agg": "sum", "column": "qty"}
    ms = metrics([paid, qty])
    assert ms["gmv"].money and ms["paid"].money and not ms["qty_sum"].money

    def day(t):
        return t.ts.truncate("D")

    out = aggregate_metrics(df, ms, bucket=day, group_col="platform").set_index("group")
    assert out.at["A", "gmv"] == 0.6 and out.at["B", "gmv"] == 0.6
    assert out.at["A", "paid"] == 0.6 and out.at["B", "paid"] == 0.6
    for user in ("a", "b"):
        st = unit_stats(df[df.user_id == user], ms, "arppu", bucket=day)
        assert st["mean"].iloc[0] == 0.6


def test_charts_leave_out_what_a_day_bucket_cannot_show_and_read_shares_in_percent(monkeypatch):
    """Per day, DAU is the day's active users and stickiness (DAU / active users) is 1: the tianchi page drew a
    flat line at 1.00 and a copy of the active-users chart. At day granularity both are left out with a note
    naming them; at week granularity they are charts. A share's axis reads in %, as its table row does."""
    import matplotlib

    matplotlib.use("Agg")
    from helpers import trends as tr
    from helpers.trend_metrics import same_per_bucket

    assert same_per_bucket("day") == same_per_bucket("hour") == {"dau", "stickiness"}
    assert not same_per_bucket("week") and not same_per_bucket("month")
    m = metrics()
    drawn = []
    monkeypatch.setattr(tr, "_display", lambda ax: drawn.append(ax))
    for gran in ("day", "week"):
        drawn.clear()
        series = pd.concat(
            [trend_series(events(), m, start=a, end_exclusive=b, granularity=gran).assign(window=w)
             for w, (a, b) in W.items()], ignore_index=True,
        )  # fmt: skip
        rep = tr.TrendsReport(metrics=m, window=W, granularity=gran, series=series,
                              summary=compare_windows(events(), m, W).assign(yoy_change=math.nan))  # fmt: skip
        with i18n.language("zh"):
            note = rep._show("charts")
            titles = [ax.get_title() for ax in drawn]
        if gran == "day":
            assert "日均活跃用户" not in titles and not any("粘性" in x for x in titles), titles
            assert note is not None and "按天作图时" in note.data and "粘性" in note.data
            assert "日均活跃用户" in note.data
        else:
            assert note is None and "日均活跃用户" in titles and any("粘性" in x for x in titles)
        assert len(titles) == len(m) - (2 if gran == "day" else 0)
        pay = drawn[[i for i, x in enumerate(titles) if x == "付费率"][0]]
        assert pay.yaxis.get_major_formatter()(0.25, 0) == "25%"
        orders = drawn[titles.index("订单数")]  # a count: whole-number ticks (0, 2, 4, not 2.5)
        assert all(float(v).is_integer() for v in orders.yaxis.get_major_locator().tick_values(0, 7.5))
        import matplotlib.pyplot as plt

        plt.close("all")


def test_empty_parts_say_why_instead_of_showing_headers():
    """No anomaly among the days checked, no day with a baseline, no breakdown: each part is a sentence (the
    tianchi page had shown an anomalies table of headers only, and the no-breakdown note twice)."""
    from helpers.trends import TrendsReport

    none = pd.DataFrame(columns=["metric", "group", "day", "value", "expected", "lower", "upper", "score", "run_days"])
    rep = TrendsReport(anomalies=none, anomaly_checked=136)
    with i18n.language("zh"):
        assert rep._show("anomalies").data == "_没有异常日期：136 个指标日都在基线的预测区间之内。_"
        rep.anomaly_checked = 0
        assert "之前至少 14 天的数据" in rep._show("anomalies").data
        assert "trends.breakdown" in rep._show("breakdown").data
        assert rep._show("movers") is None  # the same section: said once


def test_intervals_name_the_all_users_row_in_words(monkeypatch):
    """interval_table's last row is every user's ("all"): the page and its box chart say 全部用户, the other rows
    keep their group names (the breakdown's other groups in words); the hours read with two decimals alike."""
    from helpers import trends as tr
    from tests.styled import styled_rows

    drawn = []
    monkeypatch.setattr(tr, "_display", lambda ax: drawn.append(ax))
    hours = {"p10": 1.0, "p25": 2.0, "p50": 3.0, "p75": 4.0, "p90": 5.0, "mean_hours": 3.5}
    frame = pd.DataFrame([{"group": g, "users": 3, "converted_share": 0.5, **hours} for g in ("iOS", "other", "all")])
    rep = tr.TrendsReport(intervals=frame, breakdown_col="platform")
    with i18n.language("zh"):
        rows = styled_rows(rep._show("intervals"))
        assert [r["group"] for r in rows] == ["iOS", "其他", "全部用户"]
        assert rows[0]["p25"] == "2.00" and rows[0]["mean_hours"] == "3.50"
        assert [x.get_text() for x in drawn[0].get_yticklabels()] == ["iOS", "其他", "全部用户"]
    import matplotlib.pyplot as plt

    plt.close("all")


def test_findings_give_a_rise_its_sign_and_open_english_sentences_capitalized():
    """A change reads as the index quotes it ("+8.0%", as "环比 +8.0%"), and an English line opens with a capital
    ("Active users: 2 vs 3, -33.3%."; the tianchi English page read "active users: 27 vs 25, 8.0%.")."""
    from helpers.trends import TrendsReport

    m = metrics()
    rep = TrendsReport(metrics=m, window=W, summary=compare_windows(events(), m, W).assign(yoy_change=math.nan))
    s = rep.summary.set_index("metric")
    rising = [k for k in s.index if s.at[k, "rel_change"] > 0][0]
    with i18n.language("zh"):
        found = [str(f) for f in rep.findings()]
        assert any(f"变化 +{s.at[rising, 'rel_change']:.1%}" in f for f in found), found
        assert "变化 -33.3%" in " ".join(found)  # active users: 3 -> 2
    with i18n.language("en"):
        found = [str(f) for f in rep.findings()]
    assert "Active users: 2 vs 3, -33.3%." in found, found
    # the change against a year earlier is signed too (Online Retail read "-4.3% against a year earlier" and then
    # "10.0% against a year earlier" for a rise)
    yoy = TrendsReport(metrics=m, window=W, summary=rep.summary.assign(yoy_change=[0.1] + [-0.043] * (len(s) - 1)))
    with i18n.language("en"):
        lines = [str(f) for f in yoy.findings()]
    assert any(f.endswith("; +10.0% against a year earlier.") for f in lines), lines
    assert any("; -4.3% against a year earlier" in f for f in lines), lines
    custom = TrendsReport(metrics=metrics([{"name": "view_uv", "event": "view", "agg": "users"}]), window=W)
    custom.summary = compare_windows(events(), custom.metrics, W).assign(yoy_change=math.nan)
    with i18n.language("en"):
        assert any(str(f).startswith("view_uv: ") for f in custom.findings())  # a declared code as written


def test_a_previous_value_of_nothing_or_zero_is_said_in_words():
    """No payment in the previous window (the Jan 1 payment dropped): AOV there is 0 / 0 and read "AOV: ¥25.00 vs –,
    –"; ARPU and the paying share are 0 there, and their relative change read "–". Now: AOV's value alone with "no
    previous value", the others "up from 0"; the orders and GMV, from 0, were left out and now read so too. By hand:
    this window u1 pays 30 and u2 20, two active users."""
    from helpers.trends import TrendsReport

    m = metrics(["aov", "arpu"])
    ev = events()
    ev = ev[~((ev["event"] == "pay") & (ev["ts"] < "2024-01-03"))]
    rep = TrendsReport(metrics=m, window=W, summary=compare_windows(ev, m, W).assign(yoy_change=math.nan))
    with i18n.language("en"):
        found = [str(f) for f in rep.findings()]
    assert "AOV: ¥25.00; no previous value to compare with." in found, found
    assert [f for f in found if f.startswith("ARPU: ¥25.00 vs ¥0.00, up from 0")], found
    assert [f for f in found if f.startswith("Paying share: 100.0% vs 0.0%, 100.0 pp, up from 0")], found
    assert "Orders: 2 vs 0, up from 0." in found and "GMV: ¥50.00 vs ¥0.00, up from 0." in found, found
    assert not [f for f in found if "–" in f], found
    with i18n.language("zh"):
        found = [str(f) for f in rep.findings()]
    assert [f for f in found if f.startswith("客单价：¥25.00；上期没有可比的值")], found
    assert [f for f in found if f.startswith("人均收入 ARPU：¥25.00，上期 ¥0.00，变化 由 0 上升")], found
