"""User paths: sessions, the event transition matrix, top paths after a start event / before an
end event, and where users go after dropping out of the funnel. Rules: docs/paths.md.

Event-level work is Ibis; results are small pandas tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import ibis
import pandas as pd

from .base import Outcome, Report, ReportUnavailable, Unavailable
from .caveats import tied_time_note
from .durations import parse_window_hours
from .engine import as_table, to_pandas
from .errors import MissingColumnError
from .i18n import localized, t
from .steps import Step
from .tracking import display_names

__all__ = [
    "EXIT",
    "sessionize",
    "transition_counts",
    "transition_matrix",
    "top_paths",
    "next_after_dropoff",
    "time_ties",
    "plot_transitions",
    "PathsReport",
    "run_paths",
]

#: the pseudo-event that ends every session in the transition matrix (machine value; pages show a label)
EXIT = "(exit)"
#: the events beyond ``max_events`` in the transition matrix
OTHER = "(other)"
#: the next event of a drop-out who did nothing more
NO_FURTHER = "(no further activity)"
#: pseudo-event -> its message key
_PSEUDO = {EXIT: "paths.exit", OTHER: "paths.other", NO_FURTHER: "paths.no_further"}


def _require_columns(t, *cols: str) -> None:
    """:class:`MissingColumnError` naming the first of ``cols`` the events table lacks."""
    for c in cols:
        if c not in t.columns:
            raise MissingColumnError(
                "events", c, t.columns, hint="name the actual column with user_col=, ts_col= or event_col="
            )


def sessionize(
    events,
    *,
    gap_minutes: float = 30,
    user_col: str = "user_id",
    ts_col: str = "ts",
    event_col: str = "event",
    session_col: str = "session_id",
):
    """Ibis table ``user_id``, ``session``, ``ts``, ``event``, ``pos`` (1-based position in the session).

    Sessions are the source's ``session_col`` when the table has it and the value is not empty; otherwise
    a new session starts at a user's first event and after every gap longer than ``gap_minutes``. Events
    at the same instant are ordered by event name.
    """
    t = as_table(events)
    _require_columns(t, user_col, ts_col, event_col)
    base = t.select(
        user_id=t[user_col].cast("string"),
        ts=t[ts_col],
        event=t[event_col].cast("string"),
        sid=(t[session_col].cast("string") if session_col in t.columns else ibis.null().cast("string")),
    )
    w = ibis.window(group_by=base["user_id"], order_by=[base["ts"], base["event"]])
    gap = ibis.interval(seconds=int(gap_minutes * 60))
    base = base.mutate(_prev=base["ts"].lag().over(w))
    base = base.mutate(_new=ibis.ifelse(base["_prev"].isnull() | (base["ts"] > base["_prev"] + gap), 1, 0))
    w2 = ibis.window(group_by=base["user_id"], order_by=[base["ts"], base["event"]], rows=(None, 0))
    base = base.mutate(_gs=base["_new"].sum().over(w2))
    base = base.mutate(
        session=ibis.ifelse(
            base["sid"].notnull() & (base["sid"] != ""), "s:" + base["sid"], "g:" + base["_gs"].cast("string")
        )
    )
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
    ``max_events`` most frequent are grouped as :data:`OTHER`."""
    if counts.empty:
        return pd.DataFrame()
    freq = counts.groupby("event")["transitions"].sum().sort_values(ascending=False)
    keep = list(freq.index[:max_events])
    c = counts.copy()
    c["event"] = c["event"].where(c["event"].isin(keep), OTHER)
    c["next_event"] = c["next_event"].where(c["next_event"].isin(keep + [EXIT]), OTHER)
    m = c.pivot_table(index="event", columns="next_event", values="transitions", aggfunc="sum", fill_value=0)
    rows = [e for e in keep + [OTHER] if e in m.index]
    cols = [e for e in keep + [OTHER, EXIT] if e in m.columns]
    m = m.reindex(index=rows, columns=cols, fill_value=0)
    return m.div(m.sum(axis=1), axis=0)


def top_paths(
    sessions, *, start_event: str | None = None, end_event: str | None = None, length: int = 4, top_n: int = 10
) -> pd.DataFrame:
    """Most frequent event sequences of sessions: the ``length`` events from the first ``start_event`` of a
    session (inclusive), or the ``length`` events up to and including the first ``end_event``.

    Returns
    -------
    DataFrame ``path`` ("a → b → c"; after a start event, a session that ends first ends its path with
    :data:`EXIT`, "a → b → (exit)", so that "a" alone is never read as "a, then something"), ``sessions``,
    ``share`` (of sessions containing the anchor event), at most ``top_n`` rows, most frequent first (ties by path).
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
    wide = to_pandas(j.group_by(["user_id", "session"]).aggregate(**aggs))
    if wide.empty:
        return pd.DataFrame(columns=["path", "sessions", "share"])
    cols = [f"e{i}" for i in range(length)]
    paths = wide[cols].apply(lambda r: " → ".join(x for x in r if isinstance(x, str)), axis=1)
    if start_event:  # the session ended before ``length`` events: say so ("view → (exit)", not "view")
        paths = paths.where(wide[cols].notna().sum(axis=1).to_numpy() == length, paths + f" → {EXIT}")
    vc = paths.value_counts()
    df = pd.DataFrame({"path": vc.index, "sessions": vc.to_numpy()})
    df = df.sort_values(["sessions", "path"], ascending=[False, True], ignore_index=True)
    df["share"] = df["sessions"] / len(wide)
    return df.head(top_n)


def next_after_dropoff(
    events,
    funnel_users: pd.DataFrame,
    steps: list,
    *,
    user_col: str = "user_id",
    ts_col: str = "ts",
    event_col: str = "event",
) -> pd.DataFrame:
    """Where users go after dropping out: for users whose best funnel attempt stopped at step k (< last),
    their first event after their step-k time other than step k's own events (a user who dropped out at "view"
    and viewed more went on to whatever came after those views; as the top transition leaves repeats out), or
    :data:`NO_FURTHER`.

    Returns
    -------
    DataFrame ``dropped_after`` (step k's name), ``next_event``, ``users``, ``share`` (within that step's
    drop-outs), most frequent first.
    """
    parsed = [Step.of(s) for s in steps]
    names = [st.name for st in parsed]
    n = len(names)
    for c in (user_col, "reached"):
        if c not in funnel_users.columns:
            raise MissingColumnError(
                "funnel users", c, funnel_users.columns, hint="pass the frame helpers.funnel_users returns"
            )
    d = funnel_users[funnel_users["reached"] < n]
    if d.empty:
        return pd.DataFrame(columns=["dropped_after", "next_event", "users", "share"])
    tk = [d.iloc[i][f"t{int(r)}"] for i, r in enumerate(d["reached"])]
    drops = pd.DataFrame(
        {"_u": d[user_col].astype(str).to_numpy(), "_k": d["reached"].to_numpy(), "_t": pd.to_datetime(tk)}
    )
    t = as_table(events)
    _require_columns(t, user_col, ts_col, event_col)
    ev = t.select(_u=t[user_col].cast("string"), _ts=t[ts_col], _e=t[event_col].cast("string"))
    dm = ibis.memtable(drops)
    ks = sorted({int(k) for k in drops["_k"]})
    own = ibis.or_(*[(dm["_k"] == k) & ev["_e"].isin(list(parsed[k - 1].events)) for k in ks])
    j = dm.join(ev, [dm["_u"] == ev["_u"], ev["_ts"] > dm["_t"], ~own])
    w = ibis.window(group_by=j["_u"], order_by=[j["_ts"], j["_e"]])
    j = j.mutate(_rn=ibis.row_number().over(w))
    j = j.filter(j["_rn"] == 0)
    nxt = to_pandas(j.select(_u=j["_u"], next_event=j["_e"]))
    out = drops.merge(nxt, on="_u", how="left")
    out["next_event"] = out["next_event"].fillna(NO_FURTHER)
    out["dropped_after"] = out["_k"].map(lambda k: names[int(k) - 1])
    g = out.groupby(["dropped_after", "next_event"]).size().rename("users").reset_index()
    g["share"] = g["users"] / g.groupby("dropped_after")["users"].transform("sum")
    order = {nm: i for i, nm in enumerate(names)}
    g["_o"] = g["dropped_after"].map(order)
    g = g.sort_values(["_o", "users", "next_event"], ascending=[True, False, True], ignore_index=True)
    return g.drop(columns="_o")


def time_ties(events, *, user_col: str = "user_id", ts_col: str = "ts") -> dict:
    """How much of a log's order within a user is unknown, on Ibis (the same on every engine).

    Returns
    -------
    dict ``rows``; ``tied``: rows that share their user's instant with another row (their order is the tie rule's,
    not the user's); ``resolution``: ``"day"``, ``"hour"`` or ``"minute"`` when every time is at a whole day,
    hour or minute (a log written to that precision), else None.
    """
    t = as_table(events)
    g = t.group_by([user_col, ts_col]).aggregate(_n=t.count())
    counts = g.aggregate(rows=g._n.sum(), tied=ibis.ifelse(g._n > 1, g._n, 0).sum()).to_pandas().iloc[0]
    ts = t[ts_col]
    off = {
        u: (ts != ts.truncate(code)).cast("int64").sum() for u, code in (("day", "D"), ("hour", "h"), ("minute", "m"))
    }
    finer = t.aggregate(**off).to_pandas().iloc[0]
    rows = int(counts["rows"] or 0)
    resolution = next((u for u in ("day", "hour", "minute") if rows and int(finer[u] or 0) == 0), None)
    return {"rows": rows, "tied": int(counts["tied"] or 0), "resolution": resolution}


def plot_transitions(matrix: pd.DataFrame, *, ax=None):
    """Heatmap of next-event shares (rows: from, columns: to)."""
    from .plots import plot_heatmap

    return plot_heatmap(
        matrix,
        title=t("paths.chart_title"),
        xlabel=t("paths.next_axis"),
        ylabel=t("paths.event_axis"),
        ax=ax,
    )


# ------------------------------------------------------------------------------------------- report
@dataclass(repr=False)
class PathsReport(Report):
    """The user paths report. Frames: ``counts`` (:func:`transition_counts`), ``matrix``
    (:func:`transition_matrix`), ``after_start`` / ``before_end`` (:func:`top_paths`; None when the event is
    not in the data) and ``dropoff`` (:func:`next_after_dropoff`; None without a usable funnel)."""

    name: ClassVar[str] = "paths"
    title: ClassVar[str] = localized("paths.title")
    parts: ClassVar[tuple[str, ...]] = ("matrix", "after_start", "before_end", "dropoff")
    table_names: ClassVar[tuple[str, ...]] = ("transitions",)
    result_keys: ClassVar[tuple[str, ...]] = (
        "sessions",
        "session_gap_minutes",
        "session_source",
        "start_event",
        "end_event",
        "top_transitions",
        "time_ties",
        "paths_after_start",
        "paths_before_end",
        "after_dropoff",
    )
    unavailable_label: ClassVar[str] = localized("paths.unavailable_label")
    glossary: ClassVar[tuple[str, ...]] = ()

    sessions: int = 0
    gap_minutes: float = 30
    session_source: str = ""
    counts: pd.DataFrame = field(default_factory=pd.DataFrame)
    matrix: pd.DataFrame = field(default_factory=pd.DataFrame)
    start_event: str | None = None
    end_event: str | None = None
    after_start: pd.DataFrame | None = None
    before_end: pd.DataFrame | None = None
    dropoff: pd.DataFrame | None = None
    #: event -> the name pages show (display names from the tracking plan); results keep machine names
    display: dict[str, str] = field(default_factory=dict)
    #: :func:`time_ties` of the events: the caveat when many events share an instant (helpers.caveats)
    ties: dict = field(default_factory=dict)

    @classmethod
    def compute(cls, ctx) -> PathsReport:
        """The paths report of a campaign, from its ``paths:`` and ``funnel:`` params (docs/paths.md)."""
        from .attempts import funnel_users  # only when the funnel has steps to drop out of

        p = ctx.cfg.paths
        if not ctx.has("events"):
            raise ReportUnavailable(t("paths.no_events"))
        ev = ctx.table("events")
        present = ev.group_by("event").aggregate(n=ev.count()).to_pandas().sort_values("n", ascending=False)
        if len(present) < 2:
            raise ReportUnavailable(t("paths.two_types", events=", ".join(present["event"].astype(str))))
        sess = sessionize(ev, gap_minutes=p.session_gap_minutes)
        sess = sess.cache() if hasattr(sess, "cache") else sess
        has_sid = "session_id" in ev.columns and int(ev.filter(ev["session_id"].notnull()).count().execute()) > 0
        counts = transition_counts(sess)
        rep = cls(
            sessions=int(sess.select("user_id", "session").distinct().count().execute()),
            gap_minutes=p.session_gap_minutes,
            session_source="session_id" if has_sid else f"{p.session_gap_minutes:g}-minute inactivity gap",
            counts=counts,
            matrix=transition_matrix(counts, max_events=p.max_events),
            display=display_names(ctx),
            ties=time_ties(ev),
        )
        fsteps = [Step.of(s) for s in ctx.cfg.funnel.steps] if ctx.cfg.funnel.steps else []
        names = set(present["event"].astype(str))
        rep.start_event = p.start_event or (fsteps[0].events[0] if fsteps else str(present["event"].iloc[0]))
        rep.end_event = p.end_event or (fsteps[-1].events[0] if fsteps else str(present["event"].iloc[-1]))
        if rep.start_event in names:
            rep.after_start = top_paths(sess, start_event=rep.start_event, length=p.path_length, top_n=p.top_n)
        if rep.end_event in names:
            rep.before_end = top_paths(sess, end_event=rep.end_event, length=p.path_length, top_n=p.top_n)
        if len(fsteps) >= 2 and all(set(s.events) & names for s in fsteps):
            fu = funnel_users(
                ev, fsteps, window_hours=parse_window_hours(ctx.cfg.funnel.window), mode=ctx.cfg.funnel.mode
            )
            rep.dropoff = next_after_dropoff(ev, fu, fsteps)
        return rep

    def to_results(self) -> dict:
        """The report-specific part of ``results/paths.json`` (docs/paths.md)."""

        def recs(df):
            return None if df is None else df.to_dict(orient="records")

        return self._results(
            sessions=self.sessions,
            session_gap_minutes=self.gap_minutes,
            session_source=self.session_source,
            start_event=self.start_event,
            end_event=self.end_event,
            top_transitions=recs(self.counts.head(20)),
            time_ties=self.ties or None,
            paths_after_start=recs(self.after_start),
            paths_before_end=recs(self.before_end),
            after_dropoff=recs(self.dropoff),
        )

    def findings(self) -> list[str]:
        """Key findings: sessions, the most common step, where sessions end, the top path, drop-outs."""
        from .fmt import fmt_int, fmt_pct

        # a display name joins the sentence ("在浏览之后"), a code is set apart ("在 pv 之后"): helpers.i18n.t
        dn = self._dn

        def dn_path(path: str) -> str:
            return self._path(path)

        if self.session_source == "session_id":
            split = t("paths.split_session_id")
        else:
            split = t("paths.split_gap", minutes=f"{self.gap_minutes:g}")
        out = [t("paths.sessions", sessions=fmt_int(self.sessions), split=split)]
        tied = tied_time_note(self.ties)  # many events at one instant: their order in the paths is the tie rule's
        if tied:
            out.append(tied)
        counts = self.counts
        c = counts[(counts["event"] != counts["next_event"]) & (counts["next_event"] != EXIT)]
        if len(c):
            top = c.iloc[0]
            tot = counts[counts["event"] == top["event"]]["transitions"].sum()
            out.append(
                Outcome(
                    t(
                        "paths.top_step",
                        event=dn(top["event"]),
                        next=dn(top["next_event"]),
                        n=fmt_int(top["transitions"]),
                        share=fmt_pct(top["transitions"] / tot),
                    )
                )
            )
        ex = counts[counts["next_event"] == EXIT]
        if len(ex):
            by = ex.set_index("event")["transitions"] / counts.groupby("event")["transitions"].sum()
            by = by.dropna().sort_values(ascending=False)
            out.append(Outcome(t("paths.top_exit", event=dn(by.index[0]), share=fmt_pct(by.iloc[0]))))
        if self.after_start is not None and len(self.after_start):
            r = self.after_start.iloc[0]
            out.append(
                Outcome(
                    t(
                        "paths.top_path",
                        start=dn(self.start_event),
                        path=dn_path(r["path"]),
                        share=fmt_pct(r["share"]),
                    )
                )
            )
        if self.dropoff is not None and len(self.dropoff):
            out.append(Outcome(self._dropoff_finding()))
        return out

    def _dropoff_finding(self) -> str:
        """Where the first step's drop-outs went: the most common next event, or, when most did nothing more, that
        share and the others' most common next event."""
        from .fmt import fmt_pct

        d = self.dropoff
        if d is None or d.empty:
            return ""
        d = d[d["dropped_after"] == d["dropped_after"].iloc[0]]
        first, step = d.iloc[0], self._dn(d["dropped_after"].iloc[0])
        if first["next_event"] != NO_FURTHER:
            return t("paths.dropoff", step=step, next=self._dn(first["next_event"]), share=fmt_pct(first["share"]))
        rest = ""
        if len(d) > 1:  # the others' most common next event, as a share of all the step's drop-outs
            rest = t("paths.dropoff_rest", next=self._dn(d.iloc[1]["next_event"]), share=fmt_pct(d.iloc[1]["share"]))
        return t("paths.dropoff_none", step=step, share=fmt_pct(first["share"]), rest=rest)

    def headline(self) -> list[dict]:
        """The number of sessions for the index page."""
        from .fmt import fmt_int
        from .report import headline

        return [headline(t("paths.h_sessions"), self.sessions, fmt_int(self.sessions))]

    def tables(self) -> dict[str, pd.DataFrame]:
        """``transitions``: every (event, next event) count."""
        return {"transitions": self.counts}

    def _show(self, part: str):
        from IPython.display import Markdown

        from .fmt import style_table

        if part == "matrix":
            m = self.matrix
            return plot_transitions(m.rename(index=self._dn, columns=self._dn))
        df = {"after_start": self.after_start, "before_end": self.before_end, "dropoff": self.dropoff}[part]
        if df is None or df.empty:
            return Markdown(f"_{t('paths.nothing')}_")
        df = df.copy()  # paths "a → b" and event columns as pages show them (display names, pseudo-events)
        for c in df.columns:
            if df[c].dtype == object or pd.api.types.is_string_dtype(df[c]):
                df[c] = df[c].map(lambda v: self._path(v) if isinstance(v, str) else v)
        return style_table(df, int_cols=["sessions", "users"], pct_cols=["share"])

    def _path(self, path: str) -> str:
        """A path "a → a → b" as pages show it: display names, a run of one event as "a ×2 → b"
        (:func:`helpers.fmt.runs_text`); the results keep every step."""
        from .fmt import runs_text

        return runs_text(self._dn(x) for x in str(path).split(" → "))

    def _dn(self, event: str | None) -> str:
        e = str(event)
        return t(_PSEUDO[e]) if e in _PSEUDO else self.display.get(e, e)


def run_paths(ctx) -> PathsReport | Unavailable:
    """:meth:`PathsReport.run`: the user paths report of a campaign (or its Unavailable twin)."""
    return PathsReport.run(ctx)
