"""Sessions, transitions, top paths and drop-off destinations on hand-built logs."""

import pandas as pd
import pytest

from helpers import i18n
from helpers.funnel import funnel_users
from helpers.journey import EXIT, next_after_dropoff, sessionize, top_paths, transition_counts, transition_matrix

T0 = pd.Timestamp("2024-01-01 10:00")


def log(rows, sid=False):
    df = pd.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "event": [r[1] for r in rows],
            "ts": [T0 + pd.Timedelta(minutes=r[2]) for r in rows],
        }
    )
    if sid:
        df["session_id"] = [r[3] for r in rows]
    return df


LOG = log(
    [
        ("u", "a", 0),
        ("u", "b", 10),
        ("u", "c", 40),  # gap of exactly 30 min: same session
        ("u", "a", 71),
        ("u", "c", 75),  # gap 31 min: new session
        ("v", "a", 0),
        ("v", "b", 1),
    ]
)


def test_sessions_by_gap_and_by_session_id():
    s = sessionize(LOG, gap_minutes=30).to_pandas().sort_values(["user_id", "ts"])
    assert s.groupby("user_id")["session"].nunique().to_dict() == {"u": 2, "v": 1}
    assert s[s.user_id == "u"]["pos"].tolist() == [1, 2, 3, 1, 2]
    with_sid = log([("u", "a", 0, "s1"), ("u", "b", 200, "s1"), ("u", "c", 201, "s2")], sid=True)
    s2 = sessionize(with_sid).to_pandas()
    assert s2["session"].nunique() == 2 and s2.sort_values("ts")["pos"].tolist() == [1, 2, 1]


def test_transitions_include_exit_and_rows_sum_to_one():
    c = transition_counts(sessionize(LOG))
    got = {(r.event, r.next_event): r.transitions for r in c.itertuples()}
    assert got == {("a", "b"): 2, ("b", "c"): 1, ("c", EXIT): 2, ("a", "c"): 1, ("b", EXIT): 1}
    m = transition_matrix(c)
    assert m.sum(axis=1).round(9).eq(1).all()
    assert m.loc["a", "b"] == pytest.approx(2 / 3)


def test_top_paths_after_start_and_before_end():
    s = sessionize(LOG)
    after = top_paths(s, start_event="a", length=3)
    # a session that ends before 3 events ends its path with (exit): "a → b" alone would read "a, b, then more"
    assert dict(zip(after.path, after.sessions)) == {"a → b → c": 1, "a → c → (exit)": 1, "a → b → (exit)": 1}
    assert after.share.sum() == pytest.approx(1.0)
    before = top_paths(s, end_event="c", length=2)
    assert dict(zip(before.path, before.sessions)) == {"b → c": 1, "a → c": 1}
    with pytest.raises(ValueError):
        top_paths(s)


def test_next_event_after_dropping_out():
    """The first event after the step a user stopped at, other than that step's own events: u views again at 3 and
    then does x (x, not a); v stops at b, does b again, then y; w does nothing more; z stops at a and only repeats
    it (no further activity)."""
    ev = log([("u", "a", 0), ("u", "a", 3), ("u", "x", 5), ("v", "a", 0), ("v", "b", 1), ("v", "b", 2),
              ("v", "y", 3), ("w", "a", 0), ("z", "a", 0), ("z", "a", 1)])  # fmt: skip
    fu = funnel_users(ev, ["a", "b", "c"], window_hours=24)
    d = next_after_dropoff(ev, fu, ["a", "b", "c"])
    got = {(r.dropped_after, r.next_event): r.users for r in d.itertuples()}
    assert got == {("a", "x"): 1, ("a", "(no further activity)"): 2, ("b", "y"): 1}
    # a step of several events: any of them is the step's own
    d = next_after_dropoff(ev, fu, [{"events": ["a", "x"]}, "b", "c"])
    assert set(d.loc[d["dropped_after"] == "a|x", "next_event"]) == {"(no further activity)"}, d


# ------------------------------------------------------------------------------------------- the report
class _Ctx:
    """The part of helpers.Context that PathsReport uses, over in-memory tables."""

    def __init__(self, tables, steps=(), **paths):
        from types import SimpleNamespace

        from helpers.sections import FunnelParams, PathsParams

        self.tables = tables
        self.cfg = SimpleNamespace(paths=PathsParams(**paths), funnel=FunnelParams(steps=list(steps)))

    def has(self, name):
        return name in self.tables

    def table(self, name):
        import ibis

        return ibis.memtable(self.tables[name])


def test_report_from_a_fake_campaign():
    from helpers.journey import PathsReport, run_paths

    rep = run_paths(_Ctx({"events": LOG}, steps=["a", "b", "c"], path_length=3))
    assert isinstance(rep, PathsReport) and rep.available
    out = rep.to_results()
    assert set(out) == {"available", "reason", *PathsReport.result_keys} and out["available"] is True
    assert out["sessions"] == 3 and out["session_source"] == "30-minute inactivity gap"
    assert (out["start_event"], out["end_event"]) == ("a", "c")
    assert {r["path"]: r["sessions"] for r in out["paths_after_start"]} == {
        "a → b → c": 1,
        "a → c → (exit)": 1,
        "a → b → (exit)": 1,
    }
    assert out["after_dropoff"] == [
        {"dropped_after": "b", "next_event": "(no further activity)", "users": 1, "share": 1.0}
    ]
    assert rep.findings()[0].startswith("3 个会话")
    assert set(rep.tables()) == {"transitions"} and rep.tables()["transitions"]["transitions"].sum() == 7
    for part in PathsReport.parts:
        rep.show(part)


def test_report_unavailable_and_unknown_part():
    from helpers.errors import UnknownPartError
    from helpers.journey import PathsReport

    for ctx, why in (
        (_Ctx({}), "the campaign has no events table"),
        (_Ctx({"events": LOG[LOG.event == "a"]}), "paths need at least two event types; the data has: a"),
    ):
        with i18n.language("en"):
            rep = PathsReport.run(ctx)
        assert not rep.available and why in rep.reason
        assert set(rep.to_results()) == {"available", "reason", *PathsReport.result_keys}
        assert rep.to_results()["sessions"] is None and rep.tables() == {}
        assert rep.reason in rep.findings()[0]
        rep.show("matrix")
        with pytest.raises(UnknownPartError):
            rep.show("bogus")
    rep = PathsReport.run(_Ctx({"events": LOG}))
    with pytest.raises(UnknownPartError, match="dropoff"):  # show_paths used to raise a bare KeyError
        rep.show("bogus")


def test_missing_columns_are_named():
    from helpers.errors import MissingColumnError

    with pytest.raises(MissingColumnError, match="'event'"):
        sessionize(LOG.rename(columns={"event": "action"}))
    assert sessionize(LOG.rename(columns={"event": "action"}), event_col="action").count().execute() == len(LOG)
    with pytest.raises(MissingColumnError, match="reached"):
        next_after_dropoff(LOG, pd.DataFrame({"user_id": ["u"]}), ["a", "b"])


def test_pages_show_display_names_results_keep_machine_names():
    from helpers.journey import PathsReport

    counts = pd.DataFrame({"event": ["view", "view"], "next_event": ["cart", "(exit)"], "transitions": [3, 1]})
    paths = pd.DataFrame({"path": ["view → cart"], "sessions": [3], "share": [0.75]})
    rep = PathsReport(
        sessions=4,
        counts=counts,
        after_start=paths,
        start_event="view",
        display={"view": "浏览商品", "cart": "加入购物车"},
    )
    f = " ".join(rep.findings())
    # a Chinese display name joins the sentence: no space between it and the words around it
    assert "浏览商品 → 加入购物车（3 次，占浏览商品的 75.0%）" in f and "浏览商品之后最常见的路径" in f, f
    # the rule in the sentence: repeats of one event (view → view) and exits are not counted as steps
    assert "最常见的流转（不计同一事件的重复和离开）：浏览商品 → 加入购物车" in f, f
    assert rep.to_results()["paths_after_start"] == [{"path": "view → cart", "sessions": 3, "share": 0.75}]
    # without display names the event codes keep their spaces
    plain = " ".join(PathsReport(sessions=4, counts=counts, after_start=paths, start_event="view").findings())
    assert "view → cart（3 次，占 view 的 75.0%）" in plain and "view 之后最常见的路径" in plain, plain
    # a run of one event reads "浏览商品 ×3" on the page (finding and table); the results keep every step
    runs = pd.DataFrame(
        {"path": ["view → view → view → cart", "view → cart"], "sessions": [3, 1], "share": [0.75, 0.25]}
    )
    rep.after_start = runs
    assert "浏览商品 ×3 → 加入购物车" in " ".join(rep.findings())
    assert rep._show("after_start").data["path"].tolist() == ["浏览商品 ×3 → 加入购物车", "浏览商品 → 加入购物车"]
    assert rep.to_results()["paths_after_start"][0]["path"] == "view → view → view → cart"
    # drop-outs: the most common next event; when most did nothing more, that share and the others' next event
    rep.dropoff = pd.DataFrame({"dropped_after": ["view", "view", "cart"], "next_event": ["fav", "(exit)", "x"],
                                "users": [3, 1, 1], "share": [0.75, 0.25, 1.0]})  # fmt: skip
    rep.display["fav"] = "收藏"
    assert "在浏览商品之后流失的用户，下一步（不计浏览商品的重复）最常见是收藏（75.0%）。" in rep.findings()
    rep.dropoff["next_event"] = ["(no further activity)", "fav", "x"]
    rep.dropoff["share"] = [0.6, 0.4, 1.0]
    said = (
        "在浏览商品之后流失的用户中，60.0% 没有后续行为（不计浏览商品的重复）；"
        "有后续行为的，最常见的下一步是收藏（占全部流失用户的 40.0%）。"
    )
    assert said in rep.findings(), rep.findings()
    with i18n.language("en"):
        assert rep.findings()[-1] == (
            "Of the users who dropped out after 浏览商品, 60.0% did nothing more (repeats of 浏览商品 left out); "
            "of those who did, most did 收藏 next (40.0% of all who dropped out)."
        )
    rep.dropoff = rep.dropoff.iloc[:1]  # nobody did anything more: no second half
    assert rep.findings()[-1] == "在浏览商品之后流失的用户中，60.0% 没有后续行为（不计浏览商品的重复）。"


def test_time_ties_and_the_caveat_when_many_events_share_an_instant():
    """An hourly log (the tianchi sample: 77% of its clean events share their user's hour with another event) has paths
    whose order within an hour is the tie rule's (event name: buy before pv): the findings say so with the share
    and the precision. Counted by hand: u1's three events at 10:00 and u2's two at 11:00 are tied, u2's 12:00 is
    not; a log with seconds has no precision to name, and one tie in ten is the threshold."""
    from helpers.caveats import TIED_SHARE, tied_time_note
    from helpers.journey import time_ties

    h = pd.Timestamp("2024-01-01 10:00")
    rows = [("u1", "pv", h), ("u1", "cart", h), ("u1", "buy", h), ("u2", "pv", h + pd.Timedelta(hours=1)),
            ("u2", "fav", h + pd.Timedelta(hours=1)), ("u2", "pv", h + pd.Timedelta(hours=2))]  # fmt: skip
    hourly = pd.DataFrame(rows, columns=["user_id", "event", "ts"])
    assert time_ties(hourly) == {"rows": 6, "tied": 5, "resolution": "hour"}
    assert time_ties(hourly.assign(ts=hourly["ts"].dt.normalize()))["resolution"] == "day"
    minutes = hourly.assign(ts=hourly["ts"] + pd.to_timedelta(range(6), unit="min"))
    assert time_ties(minutes) == {"rows": 6, "tied": 0, "resolution": "minute"}
    seconds = minutes.assign(ts=minutes["ts"] + pd.Timedelta(seconds=7))
    assert time_ties(seconds)["resolution"] is None
    with i18n.language("zh"):
        note = tied_time_note(time_ties(hourly))
        assert note.startswith("注意：83.3% 的事件（5 个）与同一用户的另一个事件时间完全相同（时间只精确到小时）")
        assert "（时间只精确到" not in tied_time_note({"rows": 10, "tied": 1, "resolution": None})
    assert TIED_SHARE == 0.1 and tied_time_note({"rows": 11, "tied": 1}) is None and tied_time_note({}) is None
    with i18n.language("en"):
        assert "(times are only to the hour)" in tied_time_note(time_ties(hourly))
    rep = run_paths_on(hourly)
    assert rep.to_results()["time_ties"] == {"rows": 6, "tied": 5, "resolution": "hour"}
    assert any("时间完全相同" in str(f) for f in rep.findings())
    assert not any("时间完全相同" in str(f) for f in run_paths_on(seconds).findings())


def run_paths_on(events):
    from helpers.journey import run_paths

    return run_paths(_Ctx({"events": events}, steps=["pv", "buy"], path_length=3))
