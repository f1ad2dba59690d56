"""User paths (路径分析): sessions, the event transition matrix, top paths after a start event / before an
end event, and where users go after dropping out of the funnel. Rules: docs/paths.md.

Event-level work is Ibis; results are small pandas tables.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import pandas as pd

from .engine import as_table

__all__ = ["EXIT", "sessionize", "transition_counts", "transition_matrix", "top_paths", "next_after_dropoff",
           "plot_transitions", "PathsResult", "run_paths", "paths_findings", "paths_headline", "show_paths"]

#: the pseudo-event that ends every session in the transition matrix
EXIT = "(离开 exit)"


def sessionize(events, *, gap_minutes: float = 30, user_col: str = "user_id", ts_col: str = "ts",
               event_col: str = "event", session_col: str = "session_id"):
    """Ibis table ``user_id``, ``session``, ``ts``, ``event``, ``pos`` (1-based position in the session).

    Sessions are the source's ``session_col`` when the table has it and the value is not empty; otherwise
    a new session starts at a user's first event and after every gap longer than ``gap_minutes``. Events
    at the same instant are ordered by event name.
    """
    t = as_table(events)
    base = t.select(user_id=t[user_col].cast("string"), ts=t[ts_col], event=t[event_col].cast("string"),
                    sid=(t[session_col].cast("string") if session_col in t.columns else ibis.null().cast("string")))
    w = ibis.window(group_by=base["user_id"], order_by=[base["ts"], base["event"]])
    gap = ibis.interval(seconds=int(gap_minutes * 60))
    base = base.mutate(_prev=base["ts"].lag().over(w))
    base = base.mutate(_new=ibis.ifelse(base["_prev"].isnull() | (base["ts"] > base["_prev"] + gap), 1, 0))
    w2 = ibis.window(group_by=base["user_id"], order_by=[base["ts"], base["event"]], rows=(None, 0))
    base = base.mutate(_gs=base["_new"].sum().over(w2))
    base = base.mutate(session=ibis.ifelse(base["sid"].notnull() & (base["sid"] != ""), "s:" + base["sid"],
                                           "g:" + base["_gs"].cast("string")))
    w3 = ibis.window(group_by=[base["user_id"], base["session"]], order_by=[base["ts"], base["event"]])
    base = base.mutate(pos=ibis.row_number().over(w3) + 1)
    return base.select("user_id", "session", "ts", "event", "pos")


def transition_counts(sessions) -> pd.DataFrame:
    """Counts of (event -> next event in the same session); the last event of a session goes to :data:`EXIT`.

    Returns
    -------
    DataFrame ``event``, ``next_event``, ``transitions``, sorted by count descending.
    """
    s = sessions
    w = ibis.window(group_by=[s["user_id"], s["session"]], order_by=s["pos"])
    s = s.mutate(next_event=s["event"].lead().over(w))
    s = s.mutate(next_event=s["next_event"].fill_null(EXIT))
    out = s.group_by(["event", "next_event"]).aggregate(transitions=s.count()).to_pandas()
    return out.sort_values(["transitions", "event", "next_event"], ascending=[False, True, True], ignore_index=True)


def transition_matrix(counts: pd.DataFrame, *, max_events: int = 12) -> pd.DataFrame:
    """Row-normalised transition shares (rows: from, columns: to, each row sums to 1); events beyond the
    ``max_events`` most frequent are grouped as ``(其他 other)``."""
    if counts.empty:
        return pd.DataFrame()
    freq = counts.groupby("event")["transitions"].sum().sort_values(ascending=False)
    keep = list(freq.index[:max_events])
    c = counts.copy()
    c["event"] = c["event"].where(c["event"].isin(keep), "(其他 other)")
    c["next_event"] = c["next_event"].where(c["next_event"].isin(keep + [EXIT]), "(其他 other)")
    m = c.pivot_table(index="event", columns="next_event", values="transitions", aggfunc="sum", fill_value=0)
    rows = [e for e in keep + ["(其他 other)"] if e in m.index]
    cols = [e for e in keep + ["(其他 other)", EXIT] if e in m.columns]
    m = m.reindex(index=rows, columns=cols, fill_value=0)
    return m.div(m.sum(axis=1), axis=0)


def top_paths(sessions, *, start_event: str | None = None, end_event: str | None = None, length: int = 4,
              top_n: int = 10) -> pd.DataFrame:
    """Most frequent event sequences of sessions: the ``length`` events from the first ``start_event`` of a
    session (inclusive), or the ``length`` events up to and including the first ``end_event``.

    Returns
    -------
    DataFrame ``path`` ("a → b → c", shorter when the session ends first), ``sessions``, ``share`` (of
    sessions containing the anchor event), at most ``top_n`` rows, most frequent first (ties by path).
    """
    if (start_event is None) == (end_event is None):
        raise ValueError("give exactly one of start_event or end_event")
    s = sessions
    anchor_ev = start_event or end_event
    a = s.filter(s["event"] == anchor_ev).group_by(["user_id", "session"]).aggregate(_a=s["pos"].min())
    j = s.join(a, ["user_id", "session"])
    if start_event:
        j = j.filter((j["pos"] >= j["_a"]) & (j["pos"] < j["_a"] + length))
        off = j["pos"] - j["_a"]
    else:
        j = j.filter((j["pos"] <= j["_a"]) & (j["pos"] > j["_a"] - length))
        off = j["pos"] - j["_a"] + (length - 1)
    j = j.mutate(_off=off)
    aggs = {f"e{i}": j["event"].max(where=j["_off"] == i) for i in range(length)}
    wide = j.group_by(["user_id", "session"]).aggregate(**aggs).to_pandas()
    if wide.empty:
        return pd.DataFrame(columns=["path", "sessions", "share"])
    cols = [f"e{i}" for i in range(length)]
    paths = wide[cols].apply(lambda r: " → ".join(x for x in r if isinstance(x, str)), axis=1)
    vc = paths.value_counts()
    df = pd.DataFrame({"path": vc.index, "sessions": vc.to_numpy()})
    df = df.sort_values(["sessions", "path"], ascending=[False, True], ignore_index=True)
    df["share"] = df["sessions"] / len(wide)
    return df.head(top_n)


def next_after_dropoff(events, funnel_users: pd.DataFrame, steps: list, *, user_col: str = "user_id",
                       ts_col: str = "ts", event_col: str = "event") -> pd.DataFrame:
    """Where users go after dropping out: for users whose best funnel attempt stopped at step k (< last),
    their first event after their step-k time (any event, another row than step k's own), or
    ``(无后续行为 no further activity)``.

    Returns
    -------
    DataFrame ``dropped_after`` (step k's name), ``next_event``, ``users``, ``share`` (within that step's
    drop-outs), most frequent first.
    """
    from .funnel import Step

    names = [Step.of(s).name for s in steps]
    n = len(names)
    d = funnel_users[funnel_users["reached"] < n]
    if d.empty:
        return pd.DataFrame(columns=["dropped_after", "next_event", "users", "share"])
    tk = [d.iloc[i][f"t{int(r)}"] for i, r in enumerate(d["reached"])]
    drops = pd.DataFrame({"_u": d[user_col].astype(str).to_numpy(), "_k": d["reached"].to_numpy(),
                          "_t": pd.to_datetime(tk)})
    t = as_table(events)
    ev = t.select(_u=t[user_col].cast("string"), _ts=t[ts_col], _e=t[event_col].cast("string"))
    dm = ibis.memtable(drops)
    j = dm.join(ev, (dm["_u"] == ev["_u"]) & (ev["_ts"] > dm["_t"]))
    w = ibis.window(group_by=j["_u"], order_by=[j["_ts"], j["_e"]])
    j = j.mutate(_rn=ibis.row_number().over(w))
    j = j.filter(j["_rn"] == 0)
    nxt = j.select(_u=j["_u"], next_event=j["_e"]).to_pandas()
    out = drops.merge(nxt, on="_u", how="left")
    out["next_event"] = out["next_event"].fillna("(无后续行为 no further activity)")
    out["dropped_after"] = out["_k"].map(lambda k: names[int(k) - 1])
    g = out.groupby(["dropped_after", "next_event"]).size().rename("users").reset_index()
    g["share"] = g["users"] / g.groupby("dropped_after")["users"].transform("sum")
    order = {nm: i for i, nm in enumerate(names)}
    g["_o"] = g["dropped_after"].map(order)
    return g.sort_values(["_o", "users", "next_event"], ascending=[True, False, True], ignore_index=True).drop(columns="_o")


def plot_transitions(matrix: pd.DataFrame, *, ax=None):
    """Heatmap of next-event shares (rows: from, columns: to)."""
    from .plots import plot_heatmap

    return plot_heatmap(matrix, title="事件流转 Next event within the session", xlabel="下一个事件 next event",
                        ylabel="当前事件 event", ax=ax)


# ------------------------------------------------------------------------------------------- report
@dataclass
class PathsResult:
    available: bool
    reason: str = ""
    sessions: int = 0
    gap_minutes: float = 30
    session_source: str = ""
    counts: pd.DataFrame | None = None
    matrix: pd.DataFrame | None = None
    start_event: str | None = None
    end_event: str | None = None
    after_start: pd.DataFrame | None = None
    before_end: pd.DataFrame | None = None
    dropoff: pd.DataFrame | None = None
    notes: list = field(default_factory=list)

    def to_results(self) -> dict:
        def recs(df):
            return None if df is None else df.to_dict(orient="records")

        return {"available": self.available, "reason": self.reason or None, "sessions": self.sessions,
                "session_gap_minutes": self.gap_minutes, "session_source": self.session_source,
                "start_event": self.start_event, "end_event": self.end_event,
                "top_transitions": recs(None if self.counts is None else self.counts.head(20)),
                "paths_after_start": recs(self.after_start), "paths_before_end": recs(self.before_end),
                "after_dropoff": recs(self.dropoff)}


def run_paths(ctx) -> PathsResult:
    """The paths report's computations for a campaign, from its ``paths:`` and ``funnel:`` params."""
    from .funnel import Step, funnel_users, parse_window_hours

    p = ctx.cfg.paths
    if not ctx.has("events"):
        return PathsResult(False, "这个活动没有事件表 the campaign has no events table")
    ev = ctx.table("events")
    present = ev.group_by("event").aggregate(n=ev.count()).to_pandas().sort_values("n", ascending=False)
    if len(present) < 2:
        return PathsResult(False, f"路径分析需要至少两种事件 paths need at least two event types; the data has: "
                                  f"{', '.join(present['event'].astype(str))}")
    sess = sessionize(ev, gap_minutes=p.session_gap_minutes)
    sess = sess.cache() if hasattr(sess, "cache") else sess
    has_sid = "session_id" in ev.columns and int(ev.filter(ev["session_id"].notnull()).count().execute()) > 0
    res = PathsResult(True, gap_minutes=p.session_gap_minutes,
                      session_source="session_id" if has_sid else f"{p.session_gap_minutes:g}-minute inactivity gap")
    res.sessions = int(sess.select("user_id", "session").distinct().count().execute())
    res.counts = transition_counts(sess)
    res.matrix = transition_matrix(res.counts, max_events=p.max_events)
    fsteps = [Step.of(s) for s in ctx.cfg.funnel.steps] if ctx.cfg.funnel.steps else []
    names = set(present["event"].astype(str))
    res.start_event = p.start_event or (fsteps[0].events[0] if fsteps else str(present["event"].iloc[0]))
    res.end_event = p.end_event or (fsteps[-1].events[0] if fsteps else str(present["event"].iloc[-1]))
    if res.start_event in names:
        res.after_start = top_paths(sess, start_event=res.start_event, length=p.path_length, top_n=p.top_n)
    if res.end_event in names:
        res.before_end = top_paths(sess, end_event=res.end_event, length=p.path_length, top_n=p.top_n)
    if len(fsteps) >= 2 and all(set(s.events) & names for s in fsteps):
        fu = funnel_users(ev, fsteps, window_hours=parse_window_hours(ctx.cfg.funnel.window), mode=ctx.cfg.funnel.mode)
        res.dropoff = next_after_dropoff(ev, fu, fsteps)
    return res


def paths_findings(res: PathsResult) -> list[str]:
    from .fmt import fmt_int, fmt_pct

    if not res.available:
        return [f"无法做路径分析 No path analysis: {res.reason}."]
    out = [f"{fmt_int(res.sessions)} 个会话 sessions (按 {res.session_source} 切分 split by {res.session_source})."]
    c = res.counts[(res.counts["event"] != res.counts["next_event"]) & (res.counts["next_event"] != EXIT)]
    if len(c):
        top = c.iloc[0]
        tot = res.counts[res.counts["event"] == top["event"]]["transitions"].sum()
        out.append(f"最常见的流转 most common step: {top['event']} → {top['next_event']} "
                   f"({fmt_int(top['transitions'])} 次, {fmt_pct(top['transitions'] / tot)} of {top['event']}).")
    ex = res.counts[res.counts["next_event"] == EXIT]
    if len(ex):
        by = ex.set_index("event")["transitions"] / res.counts.groupby("event")["transitions"].sum()
        by = by.dropna().sort_values(ascending=False)
        out.append(f"离开率最高的事件 the event most often last in a session: {by.index[0]} ({fmt_pct(by.iloc[0])} 的会话在此结束 of its occurrences end the session).")
    if res.after_start is not None and len(res.after_start):
        r = res.after_start.iloc[0]
        out.append(f"{res.start_event} 之后最常见路径 top path after {res.start_event}: {r['path']} ({fmt_pct(r['share'])}).")
    if res.dropoff is not None and len(res.dropoff):
        first = res.dropoff.iloc[0]
        out.append(f"在 {first['dropped_after']} 之后流失的用户，下一步最常见是 users who dropped out after {first['dropped_after']} "
                   f"most often did next: {first['next_event']} ({fmt_pct(first['share'])}).")
    return out


def paths_headline(res: PathsResult) -> list[dict]:
    from .fmt import fmt_int
    from .report import headline

    return [headline("sessions 会话数", res.sessions, fmt_int(res.sessions))] if res.available else \
        [headline("paths 路径", None, "n/a")]


def show_paths(res: PathsResult, part: str):
    """Display one part: ``matrix``, ``after_start``, ``before_end``, ``dropoff``."""
    from IPython.display import Markdown, display

    from .fmt import style_table

    if not res.available:
        display(Markdown(f"_{res.reason}_"))
        return None
    if part == "matrix":
        return plot_transitions(res.matrix)
    df = {"after_start": res.after_start, "before_end": res.before_end, "dropoff": res.dropoff}[part]
    if df is None or df.empty:
        display(Markdown("_没有数据 nothing to show (event not in the data or no funnel steps)._"))
        return None
    return display(style_table(df, int_cols=["sessions", "users"], pct_cols=["share"]))
