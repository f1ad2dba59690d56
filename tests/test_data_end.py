"""Where observation ends when the data's last day is only partly loaded (helpers.periods.partial_day,
helpers.campaign.observed_end): hand-computed cases of the rule, then a campaign whose feed stopped at 05:00 on its
last day, as trends and impact read it."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from helpers import i18n
from helpers.periods import PartialCut, cut_note, data_end, partial_day

D = dt.date.fromisoformat


def _ends(last_day: str, times: list[str]) -> list[pd.Timestamp]:
    """The last times of the days before ``last_day``, nearest last: ``times[-1]`` is the day before."""
    day = pd.Timestamp(last_day)
    return [day - pd.Timedelta(days=len(times) - i) + pd.Timedelta(t + ":00") for i, t in enumerate(times)]


def test_the_rule_by_hand():
    ends = _ends("2024-01-08", ["23:50", "23:40", "22:10", "23:59", "23:30", "23:58", "23:45"])
    # 06:02 is more than an hour before the earliest of the seven days' ends (22:10): partly loaded
    assert partial_day("2024-01-08 06:02:11", ends, None) == ("06:02", "22:10", 7)
    # 21:30 is only 40 minutes before it: a quiet evening, not flagged; 21:09 is 61 minutes before: flagged
    assert partial_day("2024-01-08 21:30", ends, None) is None
    assert partial_day("2024-01-08 21:09", ends, None) == ("21:09", "22:10", 7)
    # fewer than three days with data before it say too little about when days end
    assert partial_day("2024-01-08 06:02", ends[-2:], None) is None
    assert partial_day("2024-01-08 06:02", ends[-3:], None) == ("06:02", "23:30", 3)
    # days more than seven days back do not count
    old = [x - pd.Timedelta(days=7) for x in ends]
    assert partial_day("2024-01-08 06:02", old, None) is None
    # the day is today: not over, whatever the time
    assert partial_day("2024-01-08 23:59", ends, D("2024-01-08")) == ("23:59", "", 0)
    assert partial_day("2024-01-08 23:59", ends, D("2024-01-09")) is None
    assert partial_day(None, ends, None) is None and partial_day(pd.NaT, ends, None) is None


def test_data_end_leaves_a_partial_last_day_out():
    ends = _ends("2024-01-08", ["23:50"] * 7)
    # the last day is the period's end
    day, cut = data_end("2024-01-08", "2024-01-08 06:02", day_ends=ends, period_start="2024-01-01")
    assert day == D("2024-01-07") and cut == PartialCut(D("2024-01-07"), D("2024-01-08"), D("2024-01-08"),
                                                        "06:02", "23:50", 7)  # fmt: skip
    with i18n.language("en"):
        assert cut_note(cut) == (
            "The data's last day, 2024-01-08, looks only partly loaded (its last event is at 06:02, while on each of "
            "the 7 days before it events ran until 23:50 or later): this report's windows end the day before, on "
            "2024-01-07, and leave it out."
        )
    with i18n.language("zh"):
        assert cut_note(cut) == (
            "数据的最后一天 2024-01-08 看来没有加载完整（最后一个事件在 06:02，"
            "而之前 7 天每天的事件都持续到 23:50 或更晚）：本报告的窗口截至前一天 2024-01-07，不含这一天。"
        )
    # the data also ends before the period's end: both said
    day, cut = data_end("2024-01-31", "2024-01-08 06:02", day_ends=ends, period_start="2024-01-01")
    assert day == D("2024-01-07") and cut.day == D("2024-01-08") and cut.end == D("2024-01-31")
    with i18n.language("en"):
        assert cut_note(cut).startswith(
            "The data ends before the period's end (2024-01-31), on 2024-01-08, and that day looks only partly loaded"
        )
    # a whole last day: as before
    assert data_end("2024-01-08", "2024-01-08 23:49", day_ends=ends) == (D("2024-01-08"), None)
    assert data_end("2024-01-31", "2024-01-08 23:49", day_ends=ends) == (D("2024-01-08"), (D("2024-01-08"),
                                                                                        D("2024-01-31")))  # fmt: skip
    # a partial day that is the period's only day is kept: leaving it out would leave nothing
    assert data_end("2024-01-08", "2024-01-08 06:02", day_ends=ends, period_start="2024-01-08") == (
        D("2024-01-08"),
        None,
    )
    # today, with no earlier days at all
    day, cut = data_end("2024-01-08", "2024-01-08 23:10", today=D("2024-01-08"), period_start="2024-01-01")
    assert day == D("2024-01-07") and cut.usual == "" and cut.at == "23:10"


@pytest.fixture
def stopped_feed(tmp_path, write_params):
    """30 days, five users, each with a view at 09:00, 14:00 and 22:40 and a buy at 14:05 of 10.0 every day; on the
    30th day the feed stopped at 05:00 (one view per user at 01:00-05:00). Impact from day 20."""
    from helpers.campaign import open_campaign
    from helpers.ingest import ingest_campaign
    from helpers.locations import campaign_paths
    from helpers.params import load_params

    lines = ["uid,ev,time,amount"]
    for d in range(1, 30):
        for u in range(1, 6):
            day = f"2024-01-{d:02d}"
            lines += [f"u{u},view,{day} 09:00,", f"u{u},view,{day} 14:00,", f"u{u},buy,{day} 14:05,10.0"]
            lines += [f"u{u},view,{day} 22:40,"]
    lines += [f"u{u},view,2024-01-30 0{u}:00," for u in range(1, 6)]
    csv = tmp_path / "ev.csv"
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    p = write_params(
        "campaign: stopped\ntitle: stopped\ntimezone: UTC\nperiod: {start: 2024-01-01, end: 2024-01-30}\n"
        f"tables:\n  events:\n    source: {{path: {csv.as_posix()}}}\n"
        "    columns: {user_id: uid, event: ev, ts: time, amount: amount}\n"
        "trends: {metrics: [events, orders, gmv]}\n"
        "impact: {start: 2024-01-20, metrics: [orders], weekly: false}\n"
    )
    reports = tmp_path / "reports"
    ingest_campaign(load_params(p), campaign_paths("stopped", reports).ensure(), progress=False)
    return open_campaign("stopped", params_file=str(p), reports_dir=str(reports), theme=False), p, reports


def test_trends_and_impact_end_the_day_before_a_half_loaded_day(stopped_feed):
    """By hand: every whole day has 20 events, 5 orders and 50.0 of GMV, so the last 7 whole days (01-23..01-29)
    equal the 7 before them: no change. With the half-loaded 01-30 in the current window (01-24..01-30) events would
    read 125 against 140, orders 30 against 35: a drop that is only the load. Impact's post-period ends on 01-29 too,
    where it would have counted 01-30 as a day without orders."""
    from helpers.registry import run_report

    ctx, _, _ = stopped_feed
    end, cut = ctx.observed_end()
    assert end == pd.Timestamp("2024-01-30") and isinstance(cut, PartialCut)
    assert (cut.at, cut.usual, cut.days) == ("05:00", "22:40", 7)
    with i18n.language("en"):
        note = cut_note(cut)
        rep = run_report("trends", ctx, show=False)
        s = rep.summary.set_index("metric")
        assert rep.window["current"] == (pd.Timestamp("2024-01-23"), pd.Timestamp("2024-01-30"))
        assert (s.loc["events", "current"], s.loc["events", "previous"]) == (140, 140)
        assert (s.loc["orders", "current"], s.loc["orders", "previous"]) == (35, 35)
        assert (s.loc["gmv", "current"], s.loc["gmv", "previous"]) == (350.0, 350.0)
        assert pd.Timestamp(rep.daily["period_start"].max()) == pd.Timestamp("2024-01-29")
        assert note in rep.findings()
        imp = run_report("impact", ctx, show=False)
        assert imp.available and imp.end == pd.Timestamp("2024-01-29") and imp.findings()[-1] == note
        post = imp.series[imp.series["day"] >= pd.Timestamp("2024-01-20")]
        assert len(post) == 10 and post["actual"].min() == 5 and post["day"].max() == pd.Timestamp("2024-01-29")


def test_impact_that_starts_on_the_half_loaded_day_waits_for_data(stopped_feed, write_params):
    from helpers.campaign import open_campaign
    from helpers.registry import run_report

    _, p, reports = stopped_feed
    p.write_text(p.read_text(encoding="utf-8").replace("start: 2024-01-20", "start: 2024-01-30"), encoding="utf-8")
    ctx = open_campaign("stopped", params_file=str(p), reports_dir=str(reports), theme=False)
    with i18n.language("en"):
        imp = run_report("impact", ctx, show=False)
        assert not imp.available
        assert imp.reason == (
            "impact.start (2024-01-30) comes after the last fully observed day of the data (2024-01-29): there is no "
            "data after the start to compare yet. Run again once the data has arrived, or change impact.start."
        )
