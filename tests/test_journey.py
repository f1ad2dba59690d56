"""Sessions, transitions, top paths and drop-off destinations on hand-built logs."""
import pandas as pd
import pytest

from helpers.funnel import funnel_users
from helpers.journey import EXIT, next_after_dropoff, sessionize, top_paths, transition_counts, transition_matrix

T0 = pd.Timestamp("2024-01-01 10:00")


def log(rows, sid=False):
    df = pd.DataFrame({"user_id": [r[0] for r in rows], "event": [r[1] for r in rows],
                       "ts": [T0 + pd.Timedelta(minutes=r[2]) for r in rows]})
    if sid:
        df["session_id"] = [r[3] for r in rows]
    return df


LOG = log([("u", "a", 0), ("u", "b", 10), ("u", "c", 40),   # gap of exactly 30 min: same session
           ("u", "a", 71), ("u", "c", 75),                  # gap 31 min: new session
           ("v", "a", 0), ("v", "b", 1)])


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
    assert dict(zip(after.path, after.sessions)) == {"a → b → c": 1, "a → c": 1, "a → b": 1}
    assert after.share.sum() == pytest.approx(1.0)
    before = top_paths(s, end_event="c", length=2)
    assert dict(zip(before.path, before.sessions)) == {"b → c": 1, "a → c": 1}
    with pytest.raises(ValueError):
        top_paths(s)


def test_next_event_after_dropping_out():
    ev = log([("u", "a", 0), ("u", "x", 5), ("v", "a", 0), ("v", "b", 1), ("v", "y", 2), ("w", "a", 0)])
    fu = funnel_users(ev, ["a", "b", "c"], window_hours=24)
    d = next_after_dropoff(ev, fu, ["a", "b", "c"])
    got = {(r.dropped_after, r.next_event): r.users for r in d.itertuples()}
    assert got == {("a", "x"): 1, ("a", "(无后续行为 no further activity)"): 1, ("b", "y"): 1}
