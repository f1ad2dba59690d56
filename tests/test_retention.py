"""Retention, lifecycle and stickiness on hand-built logs with known answers, and an independent check of
daily retention on the Taobao sample."""

import math

import pandas as pd
import pytest

from helpers.retention import (
    RetentionReport,
    average_curve,
    cohort_counts,
    day_n_retention,
    index_to_start,
    lifecycle_table,
    retention_matrix,
    stickiness_table,
)

from .conftest import TAOBAO, need


def log(rows):
    return pd.DataFrame(
        {"user_id": [r[0] for r in rows], "event": [r[1] for r in rows], "ts": pd.to_datetime([r[2] for r in rows])}
    )


LOG = log(
    [
        ("a", "x", "2024-01-01 10:00"),
        ("a", "x", "2024-01-02 10:00"),
        ("a", "y", "2024-01-04 10:00"),
        ("b", "x", "2024-01-01 00:00"),
        ("b", "x", "2024-01-03 00:00"),
        ("c", "x", "2024-01-02 23:59"),
    ]
)


def test_on_and_on_or_after_with_incomplete_cells():
    m = retention_matrix(cohort_counts(LOG, period="day"), period="day", data_end="2024-01-05")
    assert m["sizes"].tolist() == [2, 1]
    assert m["counts"].iloc[0].tolist() == [2, 1, 1, 1]
    assert m["counts"].iloc[1, :3].tolist() == [1, 0, 0] and math.isnan(m["counts"].iloc[1, 3])  # incomplete
    assert m["complete"].iloc[1].tolist() == [True, True, True, False]
    m2 = retention_matrix(
        cohort_counts(LOG, period="day", criterion="on_or_after"), period="day", data_end="2024-01-05"
    )
    assert m2["counts"].iloc[0].tolist() == [2, 2, 2, 1]


def test_average_curve_weights_by_size_includes_zero_and_skips_incomplete():
    m = retention_matrix(cohort_counts(LOG, period="day"), period="day", data_end="2024-01-05")
    c = average_curve(m).set_index("n")
    assert c.loc[1, "rate"] == pytest.approx(1 / 3)  # (1 + 0) / (2 + 1): the 0% cohort counts
    assert c.loc[3, "rate"] == 0.5 and c.loc[3, "cohorts"] == 1  # the incomplete cell is left out


def test_empty_cohorts_do_not_appear_and_return_event_filter():
    # nobody starts on 01-02 or 01-03: those cohorts simply do not exist
    lg = log([("a", "x", "2024-01-01"), ("a", "x", "2024-01-02"), ("d", "x", "2024-01-04")])
    m = retention_matrix(cohort_counts(lg, period="day"), period="day", data_end="2024-01-06")
    assert [d.strftime("%m-%d") for d in m["sizes"].index] == ["01-01", "01-04"]
    only_y = retention_matrix(
        cohort_counts(LOG, period="day", return_events=["y"]), period="day", data_end="2024-01-05"
    )
    assert only_y["counts"].iloc[0].tolist() == [2, 0, 0, 1]


def test_start_event_cohorting():
    lg = log([("a", "browse", "2024-01-01"), ("a", "buy", "2024-01-03"), ("a", "browse", "2024-01-04")])
    c = cohort_counts(lg, period="day", start_events=["buy"])
    assert c.set_index("n").loc[1, "users"] == 1
    assert index_to_start([c.cohort[0]], "day")[0] == pd.Timestamp("2024-01-03")


def test_weeks_start_on_monday():
    # Sunday 2024-01-07 and Monday 2024-01-08 are in different weeks
    lg = log(
        [
            ("a", "x", "2024-01-07 23:00"),
            ("a", "x", "2024-01-08 01:00"),
            ("b", "x", "2024-01-01 09:00"),
            ("b", "x", "2024-01-07 09:00"),
        ]
    )
    m = retention_matrix(cohort_counts(lg, period="week"), period="week", data_end="2024-01-22")
    assert [d.strftime("%Y-%m-%d") for d in m["sizes"].index] == ["2024-01-01"]
    assert m["counts"].iloc[0].tolist() == [2, 1, 0]


def test_month_cohorts():
    lg = log([("a", "x", "2024-01-31"), ("a", "x", "2024-02-01"), ("b", "x", "2024-02-10"), ("b", "x", "2024-04-01")])
    m = retention_matrix(cohort_counts(lg, period="month"), period="month", data_end="2024-05-01")
    assert [d.strftime("%Y-%m") for d in m["sizes"].index] == ["2024-01", "2024-02"]
    assert m["counts"].iloc[0].tolist()[:2] == [1, 1] and m["counts"].iloc[1].tolist()[:3] == [1, 0, 1]


def test_day_n_retention():
    d1 = day_n_retention(LOG, 1, data_end="2024-01-05")
    assert d1["rate"] == pytest.approx(1 / 3) and d1["cohorts"] == 2
    assert math.isnan(day_n_retention(LOG, 7, data_end="2024-01-05")["rate"])


def test_lifecycle_every_state():
    lc = lifecycle_table(LOG, period="day", data_end="2024-01-05").set_index("period_start")
    assert lc.loc["2024-01-01", ["new", "returning", "resurrecting", "dormant"]].tolist() == [2, 0, 0, 0]
    assert lc.loc["2024-01-02", ["new", "returning", "resurrecting", "dormant"]].tolist() == [1, 1, 0, -1]
    assert lc.loc["2024-01-03", ["new", "returning", "resurrecting", "dormant"]].tolist() == [0, 0, 1, -2]
    assert lc.loc["2024-01-04", ["new", "returning", "resurrecting", "dormant"]].tolist() == [0, 0, 1, -1]
    assert (lc["dormant"] <= 0).all()


def test_lifecycle_of_a_log_without_users_has_no_period():
    """No active user, no period: the table counted every day from 1970 to ``data_end`` (19,797 rows of zeros
    for 2024-03-15; its chart took a minute to draw) and one 1970 row without ``data_end``."""
    empty = LOG.iloc[:0]
    for end in ("2024-03-15", None):
        for period in ("day", "week", "month"):
            lc = lifecycle_table(empty, period=period, data_end=end)
            assert lc.empty, (end, period, len(lc))
            assert list(lc.columns) == ["period_start", "new", "returning", "resurrecting", "dormant", "active"]


def test_stickiness():
    s = stickiness_table(LOG, period="week", data_end="2024-01-08")
    h = s["histogram"].set_index("active_days")["user_periods"]
    assert h[1] == 1 and h[2] == 1 and h[3] == 1 and h[4:].sum() == 0
    assert s["dau_over_wau"] == pytest.approx((6 / 7) / 3)
    assert s["periods"] == 1
    assert stickiness_table(LOG, period="week", data_end="2024-01-05")["periods"] == 0  # week not complete


PARTIAL_WEEK = log(
    [("p", "x", f"2024-03-0{d} 10:00") for d in (1, 2, 3, 4, 5)]
    + [("p", "x", "2024-03-11 10:00"), ("q", "x", "2024-03-02 10:00")]
    + [("q", "x", f"2024-03-{d:02d} 10:00") for d in range(4, 11)]
    + [("r", "x", f"2024-03-{d} 10:00") for d in (14, 15, 16, 17)]
)


def test_stickiness_leaves_out_a_partial_first_week():
    """The data starts on Friday 2024-03-01: the week of 2024-02-26 holds only its Friday to Sunday, so its users
    are active 3 days at most and its DAU/WAU divides 3 days of users by 7. Hand-computed (data_end 2024-03-18):
    - 2024-02-26 (partial): p Fri, Sat, Sun (3 days), q Sat (1): DAU sum 4, WAU 2 -> (4 / 7) / 2 = 2 / 7;
    - 2024-03-04: p Mon, Tue (2 days), q every day (7): DAU sum 9, WAU 2 -> 9 / 14;
    - 2024-03-11: p Mon (1 day), r Thu to Sun (4): DAU sum 5, WAU 2 -> 5 / 14.
    Over the two whole weeks DAU/WAU = (9 / 14 + 5 / 14) / 2 = 0.5 (with the partial week: 3 / 7), and the
    histogram has one user-week at each of 1, 2, 4 and 7 days (the partial week added one at 1 and one at 3)."""
    from helpers.retention import RetentionReport

    s = stickiness_table(PARTIAL_WEEK, period="week", data_end="2024-03-18", data_start="2024-03-01")
    assert s["dau_over_wau"] == pytest.approx(0.5) and s["periods"] == 2
    h = s["histogram"].set_index("active_days")
    assert h["user_periods"].tolist() == [1, 1, 0, 1, 0, 0, 1] and h.loc[7, "share"] == 0.25
    old = stickiness_table(PARTIAL_WEEK, period="week", data_end="2024-03-18")  # without data_start: as before
    assert old["dau_over_wau"] == pytest.approx(3 / 7) and old["periods"] == 3
    assert old["histogram"]["user_periods"].tolist() == [2, 1, 1, 1, 0, 0, 1]
    # a week that starts on data_start is complete (a Monday start keeps every week); so is such a month
    monday = stickiness_table(PARTIAL_WEEK, period="week", data_end="2024-03-18", data_start="2024-02-26")
    assert monday["periods"] == 3
    month = {
        d: stickiness_table(PARTIAL_WEEK, period="month", data_end="2024-04-01", data_start=f"2024-03-0{d}")
        for d in (1, 2)
    }
    assert month[1]["periods"] == 1 and month[1]["dau_over_mau"] == pytest.approx((18 / 31) / 3)
    assert month[2]["periods"] == 0 and math.isnan(month[2]["dau_over_mau"])
    # the report passes the data's first day (its data_start) that it already leaves the first cohort out for
    rep = RetentionReport.run(_Ctx({"events": PARTIAL_WEEK}, start="2024-03-01", end="2024-03-17"))
    assert rep.available and rep.data_start == pd.Timestamp("2024-03-01")
    assert rep.stickiness["dau_over_wau"] == pytest.approx(0.5) and rep.to_results()["stickiness"]["periods"] == 2


@need(TAOBAO)
def test_taobao_daily_retention_matches_plain_pandas():
    raw = pd.read_csv(TAOBAO)
    raw["ts"] = pd.to_datetime(raw.timestamp, unit="s", utc=True).dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    raw = raw[(raw.ts >= "2017-11-25") & (raw.ts < "2017-12-04")]
    ev = pd.DataFrame({"user_id": raw.user_id.astype(str), "event": raw.behavior_type, "ts": raw.ts})
    m = retention_matrix(cohort_counts(ev, period="day"), period="day", data_end="2017-12-04")
    # independent: day of each event, cohort = first day, count users per (cohort, day offset)
    day = ev.ts.dt.normalize()
    first = day.groupby(ev.user_id).transform("min")
    offset = (day - first).dt.days
    exp = pd.DataFrame({"u": ev.user_id, "c": first, "n": offset}).drop_duplicates().groupby(["c", "n"]).u.nunique()
    exp = exp.unstack(fill_value=0)
    ours = m["counts"].copy()
    assert list(ours.index) == list(exp.index)
    for c in exp.index:
        for n in exp.columns:
            if m["complete"].loc[c, n]:
                assert ours.loc[c, n] == exp.loc[c, n], (c, n)
    d1 = day_n_retention(ev, 1, data_end="2017-12-04")
    complete = [c for c in exp.index if m["complete"].loc[c, 1]]
    assert d1["rate"] == pytest.approx(exp.loc[complete, 1].sum() / exp.loc[complete, 0].sum())


# ------------------------------------------------------------------------------------------- the report
class _Ctx:
    """The part of helpers.Context that RetentionReport uses, over in-memory tables."""

    def __init__(self, tables, start="2024-01-01", end="2024-01-04", **retention):
        from types import SimpleNamespace

        from helpers.sections import RetentionParams

        self.tables = tables
        self.cfg = SimpleNamespace(
            retention=RetentionParams(**retention),
            period=SimpleNamespace(start=pd.Timestamp(start).date(), end=pd.Timestamp(end).date()),
        )

    def has(self, name):
        return name in self.tables

    def table(self, name):
        import ibis

        return ibis.memtable(self.tables[name])


def test_report_from_a_fake_campaign():
    from helpers.retention import RetentionReport, run_retention

    rep = run_retention(_Ctx({"events": LOG}, period="day", lifecycle_period="day"))
    assert isinstance(rep, RetentionReport) and rep.available
    out = rep.to_results()
    assert set(out) == {"available", "reason", *RetentionReport.result_keys} and out["available"] is True
    assert [c["size"] for c in out["cohorts"]] == [2, 1]
    assert out["cohorts"][0]["retained"] == [2, 1, 1, 1] and out["cohorts"][1]["retained"] == [1, 0, 0, None]
    assert out["day1_retention"]["rate"] == pytest.approx(1 / 3) and out["day1_retention"]["cohorts"] == 2
    assert rep.findings()[0].startswith("次日留存：**33.3%**")
    assert set(rep.tables()) == set(RetentionReport.table_names)
    for part in RetentionReport.parts:
        rep.show(part)


def test_monthly_cohorts_lead_with_the_headlines_period_one_retention():
    """Monthly cohorts: the index shows month-1 retention (helpers.caveats.fit_retention_headline), so the first
    finding, which the index quotes, is that number, not day-1 retention. Hand-computed: 40 users start in January
    (10 back in February), 40 in February (20 back in March): 30 of 80, two complete cohorts."""
    from helpers import i18n
    from helpers.retention import RetentionReport

    rows = [(f"j{i}", "x", "2024-01-05 10:00") for i in range(40)] + [
        (f"j{i}", "x", "2024-02-05 10:00") for i in range(10)
    ]
    rows += [(f"f{i}", "x", "2024-02-10 10:00") for i in range(40)] + [
        (f"f{i}", "x", "2024-03-10 10:00") for i in range(20)
    ]
    rows += [("z", "x", "2024-04-30 10:00")]  # the data reaches the period's end (else March would be incomplete)
    ctx = _Ctx({"events": log(rows)}, start="2024-01-01", end="2024-04-30", period="month")
    rep = RetentionReport.run(ctx)
    assert rep.available, rep
    head = rep.headline()[0]
    assert head["label"] == "第 1 月留存" and head["value"] == pytest.approx(30 / 80)
    assert rep.findings()[0] == "第 1 月留存：**37.5%**（30 / 80 位用户，2 个完整的月群组）。", rep.findings()
    assert rep.findings()[1].startswith("次日留存")  # day-N retention still follows
    with i18n.language("en"):
        assert rep.findings()[0] == "Month-1 retention: **37.5%** (30 of 80 users, 2 complete month cohorts)."
    daily = RetentionReport.run(_Ctx({"events": LOG}, period="day", lifecycle_period="day"))
    assert daily.findings()[0].startswith("次日留存")  # daily cohorts: day-1 retention leads, as before


def test_report_unavailable_without_events():
    from helpers import i18n
    from helpers.errors import UnknownPartError
    from helpers.retention import RetentionReport

    one_day = log([("a", "x", "2024-01-02 10:00"), ("b", "x", "2024-01-02 23:00"), ("a", "x", "2024-01-02 12:00")])
    for ctx, why in (
        (_Ctx({}), "the campaign has no events table"),
        (_Ctx({"events": LOG.iloc[:0]}), "the events table has no rows in the period 2024-01-01"),
        # a one-day period (a 2.6-hour sample): no retention to measure, said with the data's days
        (
            _Ctx({"events": one_day}, start="2024-01-02", end="2024-01-02"),
            "the data covers only 2024-01-02 to 2024-01-02 (complete days in the period)",
        ),
        # one day of data in a month's period: the data is short, not the period (it said "the period is only
        # 2024-01-01 to 2024-01-31, too short")
        (
            _Ctx({"events": one_day}, start="2024-01-01", end="2024-01-31"),
            "the data covers only 2024-01-02 to 2024-01-02 (complete days in the period)",
        ),
    ):
        with i18n.language("en"):
            rep = RetentionReport.run(ctx)
        assert not rep.available and why in rep.reason
        assert set(rep.to_results()) == {"available", "reason", *RetentionReport.result_keys}
        assert rep.to_results()["reason"] == rep.reason and rep.to_results()["cohorts"] is None
        assert why in rep.findings()[0] and rep.findings()[0].startswith(RetentionReport.unavailable_label)
        assert rep.tables() == {}
        rep.show("heatmap")
        with pytest.raises(UnknownPartError):
            rep.show("bogus")


def test_unknown_part_and_missing_column():
    from helpers.errors import MissingColumnError, UnknownPartError
    from helpers.retention import run_retention

    rep = run_retention(_Ctx({"events": LOG}, period="day"))
    with pytest.raises(UnknownPartError, match="heatmap"):
        rep.show("bogus")
    with pytest.raises(MissingColumnError, match="user_id"):
        cohort_counts(LOG.rename(columns={"user_id": "uid"}), period="day")
    assert cohort_counts(LOG.rename(columns={"user_id": "uid"}), period="day", user_col="uid")["users"].sum() == 6


def test_a_first_cohort_of_users_already_there_is_flagged_with_day1_without_it():
    """The data starts in the middle of a product's life: the first day's "new" users are the 40 who were already
    there (30 of them back the next day), then 10 really new users a day (2 back the next day). Day-1 retention
    mixes them, 40 / 90 = 44.4%; without the first cohort it is 10 / 50 = 20.0% (the Taobao sample: 576 of its
    814 users are in its first daily cohort)."""
    from helpers import i18n
    from helpers.caveats import first_cohort_note

    rows = [(f"e{k}", "x", "2024-01-01 10:00") for k in range(40)]
    rows += [(f"e{k}", "x", "2024-01-02 10:00") for k in range(30)]
    for d in range(2, 7):
        rows += [(f"n{d}_{k}", "x", f"2024-01-0{d} 12:00") for k in range(10)]
        rows += [(f"n{d}_{k}", "x", f"2024-01-0{d + 1} 12:00") for k in range(2)]
    ev = log(rows)
    d1 = day_n_retention(ev, 1, data_end="2024-01-08")
    assert (d1["retained"], d1["users"], d1["cohorts"]) == (40, 90, 6) and d1["rate"] == pytest.approx(40 / 90)
    assert d1["rate_later"] == pytest.approx(10 / 50) and d1["users_later"] == 50
    m = retention_matrix(cohort_counts(ev, period="day"), period="day", data_end="2024-01-08")
    rep = RetentionReport(period="day", matrix=m, day1=d1)
    note = first_cohort_note(m, rep._later())
    assert note == (
        "注意：第一个群组（2024-01-01，40 位用户，占全部的 44.4%）远大于其后群组的中位数（10）："
        "数据开始时，这些用户多半早已在使用，他们的首次事件只是数据中的第一次，并不是新用户，因此其留存偏高。"
        "不含第一个群组时，次日留存为 20.0%（50 位用户）。"
        "若有注册等只发生一次的事件，可把 retention.start_events 设为它。"
    ), note
    with i18n.language("en"):
        assert "Without the first cohort: Day-1 retention 20.0% (50 users). If" in first_cohort_note(m, rep._later())
    assert first_cohort_note(m) is not None and "不含" not in first_cohort_note(m)  # no rate given: flagged alone
    # not flagged: a first cohort under 30 users, or under 3 times the later ones' median
    small = log([r for r in rows if not r[0].startswith("e") or int(r[0][1:]) < 25])
    ms = retention_matrix(cohort_counts(small, period="day"), period="day", data_end="2024-01-08")
    assert first_cohort_note(ms, {"name": "x", "rate": 0.5, "users": 1}) is None
    grown = log(rows + [(f"m{d}_{k}", "x", f"2024-01-0{d} 13:00") for d in range(2, 7) for k in range(4)])
    mg = retention_matrix(cohort_counts(grown, period="day"), period="day", data_end="2024-01-08")
    assert first_cohort_note(mg, {"name": "x", "rate": 0.5, "users": 1}) is None  # 40 < 3 x 14


def test_a_first_weekly_cohort_gives_week1_retention_without_it():
    """Weekly cohorts: the caveat's figure is week-1 retention without the first weekly cohort (the one flagged),
    not day-1 retention without the first daily cohort. 40 users already there in the week of Monday 2024-01-01
    (30 back the next week), then 10 new users a week (2 back the next week): week 1 of cohorts 2 to 5 (complete
    by Sunday 2024-02-11; the data end is exclusive) is 8 / 40 = 20.0%; with the first cohort, (30 + 8) / 80 = 47.5%."""
    from helpers.caveats import first_cohort_note

    rows = [(f"e{k}", "x", "2024-01-01 10:00") for k in range(40)]
    rows += [(f"e{k}", "x", "2024-01-08 10:00") for k in range(30)]
    for w in range(1, 6):
        day = pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=w)
        rows += [(f"n{w}_{k}", "x", f"{day:%Y-%m-%d} 12:00") for k in range(10)]
        rows += [(f"n{w}_{k}", "x", f"{day + pd.Timedelta(weeks=1):%Y-%m-%d} 12:00") for k in range(2)]
    ev = log(rows)
    m = retention_matrix(cohort_counts(ev, period="week"), period="week", data_end="2024-02-12")
    assert average_curve(m).query("n == 1")["rate"].iloc[0] == pytest.approx(38 / 80)
    rep = RetentionReport(period="week", matrix=m)
    assert rep._later() == {"name": "第 1 周留存", "rate": pytest.approx(8 / 40), "users": 40}
    note = first_cohort_note(m, rep._later())
    assert (
        "第一个群组（2024-01-01，40 位用户" in note and "不含第一个群组时，第 1 周留存为 20.0%（40 位用户）。" in note
    )


def test_the_cohort_comparison_names_its_retention_as_the_headline_does():
    """The cohort comparison's retention is named as the headline names week 1 ("第 2 周留存", "Week-2 retention"),
    not "第 2 期留存" / "period-2 retention". Three weekly cohorts of 20 users from Monday 2024-01-01; cohort w
    keeps 10 - 2w users in each of the two weeks after it (10, 8, 6). Week 3 is complete for two cohorts (the data
    ends 2024-02-05) but both are at 0%: no comparison there (the best and the worst would be one cohort), so it is
    at week 2: (10 + 8 + 6) / 60 = 40.0% on average, best 2024-01-01 50.0%, worst 2024-01-15 30.0%."""
    rows = []
    for w in range(3):
        day = pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=w)
        rows += [(f"c{w}_{k}", "x", f"{day:%Y-%m-%d} 10:00") for k in range(20)]
        for later in (1, 2):
            when = day + pd.Timedelta(weeks=later)
            rows += [(f"c{w}_{k}", "x", f"{when:%Y-%m-%d} 10:00") for k in range(10 - 2 * w)]
    ev = log(rows)
    m = retention_matrix(cohort_counts(ev, period="week"), period="week", data_end="2024-02-05")
    days = {f"day{n}": day_n_retention(ev, n, data_end="2024-02-05") for n in (1, 7)}
    rep = RetentionReport(period="week", matrix=m, curve=average_curve(m), **days)
    line = next(f for f in rep.findings() if f.startswith("按周群组"))
    assert (
        line == "按周群组，第 2 周留存：平均 40.0%；最好的群组 2024-01-01 为 **50.0%**，最差的 2024-01-15 为 30.0%。"
    ), line
    from helpers import i18n

    with i18n.language("en"):
        line = next(f for f in rep.findings() if f.startswith("By week cohort"))
    assert line.startswith("By week cohort, week-2 retention: average 40.0%"), line  # not "Week-2" mid-sentence


def test_a_partial_first_week_cohort_is_not_named_best_or_worst():
    """The data starts on Saturday 2024-01-06: the first week cohort (2024-01-01) holds only the users of that
    Saturday and Sunday, so its week 1 starts 1-2 days after their first event, against 1-7 days for the other
    cohorts. Three cohorts of 20 users; cohort w keeps 2, 8, 6 users in each of the two weeks after it. Named by
    rate it would be the worst (10.0%); it is left out of the best and worst (best 2024-01-08 40.0%, worst
    2024-01-15 30.0%) and a finding says why. The average stays the curve's: (2 + 8 + 6) / 60 = 26.7%."""
    from helpers import i18n

    rows = []
    for w, kept in enumerate((2, 8, 6)):
        day = pd.Timestamp("2024-01-06") if w == 0 else pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=w)
        rows += [(f"c{w}_{k}", "x", f"{day:%Y-%m-%d} 10:00") for k in range(20)]
        for later in (1, 2):
            when = pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=w + later)
            rows += [(f"c{w}_{k}", "x", f"{when:%Y-%m-%d} 10:00") for k in range(kept)]
    ev = log(rows)
    m = retention_matrix(cohort_counts(ev, period="week"), period="week", data_end="2024-02-05")
    days = {f"day{n}": day_n_retention(ev, n, data_end="2024-02-05") for n in (1, 7)}
    rep = RetentionReport(
        period="week", matrix=m, curve=average_curve(m), data_start=pd.Timestamp("2024-01-06"), **days
    )
    found = rep.findings()
    line = next(f for f in found if f.startswith("按周群组"))
    assert line == (
        "按周群组，第 2 周留存：平均 26.7%；最好的群组 2024-01-08 为 **40.0%**，最差的 2024-01-15 为 30.0%。"
    ), line
    assert "2024-01-01 这个周群组只含数据的前 2 天（数据从 2024-01-06 开始），不参与最好和最差群组的比较。" in found
    with i18n.language("en"):
        en = rep.findings()
    assert (
        "The 2024-01-01 week cohort holds only the data's first 2 days (the data starts on 2024-01-06), so it is "
        "left out of the best and worst cohorts." in en
    )
    # a first cohort that starts with the data is compared as before; so is every daily cohort
    whole = RetentionReport(
        period="week", matrix=m, curve=average_curve(m), data_start=pd.Timestamp("2024-01-01"), **days
    )
    assert "最差的 2024-01-01 为 10.0%" in next(f for f in whole.findings() if f.startswith("按周群组"))
    assert not any("这个" in f for f in whole.findings())


def test_the_drivers_part_shows_drivers_top_n_each_way():
    """``drivers.top_n`` is the number of positive and of negative drivers the part shows (it showed 5 whatever
    top_n said). By hand, 8 users launch on 01-01, u0..u3 come back on 01-15 (day 14): p1 by u0, u1, u2, u4 on day
    1 (a 3, b 1, c 1, d 3: phi (9 - 1) / 16 = 0.5), p2 by u0, u1 (a 2, b 0, c 2, d 4: phi 8 / sqrt(192) = 0.577),
    n1 by u0, u4, u5, u6 (phi -0.5), n2 by u4, u5 (phi -0.577). u0's event on the period's last day keeps the
    data running to the period's end."""
    from helpers.sections_attribution import DriversParams

    did = {"p1": "0124", "p2": "01", "n1": "0456", "n2": "45"}
    rows = [(f"u{i}", "launch", "2024-01-01 10:00") for i in range(8)]
    rows += [(f"u{i}", e, "2024-01-02 10:00") for e, users in did.items() for i in users]
    rows += [(f"u{i}", "launch", "2024-01-15 10:00") for i in range(4)] + [("u0", "launch", "2024-01-31 12:00")]
    ctx = _Ctx({"events": log(rows)}, end="2024-01-31")
    ctx.cfg.drivers = DriversParams(min_users=1, min_share=0, thresholds=[1], top_n=1)
    rep = RetentionReport.run(ctx)
    d = rep.drivers[rep.drivers["supported"]].set_index("event")["phi"]
    r = math.sqrt(192)
    assert d.to_dict() == pytest.approx({"p2": 8 / r, "p1": 0.5, "n1": -0.5, "n2": -8 / r})
    assert list(rep._show("drivers").data["event"]) == ["p2", "n2"]  # 1 each way
    ctx.cfg.drivers = ctx.cfg.drivers.model_copy(update={"top_n": 2})
    assert list(RetentionReport.run(ctx)._show("drivers").data["event"]) == ["p2", "p1", "n2", "n1"]
    # more rows asked than there are positive events: each row once (n1 and n2 were listed twice, as "best" too)
    ctx.cfg.drivers = ctx.cfg.drivers.model_copy(update={"top_n": 5})
    assert list(RetentionReport.run(ctx)._show("drivers").data["event"]) == ["p2", "p1", "n2", "n1"]


def test_no_top_retention_driver_when_every_driver_is_negative():
    """The finding names the top positive driver (phi above 0); with only negative ones it names none (it called
    n2, phi -0.577, the "top retention driver" of a strong association)."""
    from helpers.drivers import driver_finding, show_drivers

    table = pd.DataFrame({"event": ["n1", "n2"], "k": 1, "users_did": 4, "retained_did": 1, "share": 0.5,
                          "ppv": 0.25, "retained_rate_not": 0.75, "phi": [-0.5, -8 / math.sqrt(192)],
                          "band": "strong", "supported": True})  # fmt: skip
    assert driver_finding(table, "retention") is None
    assert list(show_drivers(table, [], "retention").data["event"]) == ["n2", "n1"]
    pos = pd.concat([table.assign(event="p1", phi=0.25, band="moderate").head(1), table], ignore_index=True)
    assert "p1" in driver_finding(pos, "retention") and "0.25" in driver_finding(pos, "retention")


def test_complete_period_bounds_agree_with_the_calendar():
    """The first and last complete weeks and months, written once (helpers.retention._day_index, the Python twin
    of period_index) after the Monday-week arithmetic had been written twice, against pandas' own calendar: the
    first complete period is the first that starts on or after the data's first day, the last complete one the
    last that ends before the (exclusive) end, time of day ignored."""
    from helpers.retention import _first_complete_index, _last_complete_index, index_to_start

    for t in pd.date_range("2023-12-01", "2025-03-31", freq="13h"):
        day = t.normalize()
        for period, freq in (("week", "W-SUN"), ("month", "M")):
            p = day.to_period(freq)
            first_start = p.start_time if p.start_time == day else (p + 1).start_time
            last_end = (day.to_period(freq) - 1).end_time.normalize()  # the end day's period is not complete
            got_first = index_to_start(pd.Series([_first_complete_index(t, period)]), period).iloc[0]
            got_last = index_to_start(pd.Series([_last_complete_index(t, period)]), period).iloc[0]
            assert pd.Timestamp(got_first) == first_start, (t, period)
            assert pd.Timestamp(got_last) == (day.to_period(freq) - 1).start_time, (t, period)
            assert last_end < day
        assert _last_complete_index(t, "day") == (day - pd.Timestamp("1970-01-01")).days - 1
