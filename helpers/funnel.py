"""Funnel analysis with exact product-analytics semantics (docs/funnel.md has every rule).

Event-level work is Ibis (runs on DuckDB or Spark); it ends in one row per user (their best attempt),
from which the step table, breakdowns, tests, trends and time-to-convert come in pandas.

Rules
-----
- A *step* matches an event name, a list of names, or a name with property filters.
- *Attempts*: a user's first step-1 event starts an attempt; its window is ``[start, start + window]``
  (exactly at the window is in). A repeat of step 1 inside an attempt's window does not restart it; the
  next attempt starts at the first step-1 event after the window has ended.
- ``ordered`` (default): step k+1 is the first matching event at or after step k's time, within the
  attempt's window (and within ``step_windows[k]`` of step k when given). At the same instant counts as
  "at or after"; a single event row never counts for two steps.
- ``strict``: step k+1 must be the user's very next event after step k (events ordered by time, ties by
  event name then source order).
- ``unordered``: the attempt starts at the first event matching any step; the steps completed are the
  distinct steps matched inside the window, in any order; the k-th step is reached when k distinct
  steps are done.
- *Exclusions*: an attempt with an excluded event strictly between the times of its steps k and k+1
  (or, when k+1 is not reached, between step k and the end of the window) is discarded; a user whose
  attempts are all discarded is removed from the funnel (counted in ``excluded_users``).
- A user counts once, with their best attempt: the most steps reached, ties to the earliest attempt.
- *Censoring*: a user whose first attempt starts later than ``period_end - window`` could not have had a
  full window: flagged censored and excluded from the rates unless ``include_censored``.
- Rates: ``rate_from_start = users_k / users_1``, ``rate_from_previous = users_k / users_{k-1}``, with 95%
  Wilson score intervals.
"""
from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd

from .engine import as_table

__all__ = ["Step", "parse_window_hours", "funnel_users", "funnel_table", "funnel_breakdown", "compare_groups",
           "conversion_trend", "time_to_convert", "wilson_interval", "plot_funnel", "plot_breakdown",
           "plot_time_to_convert", "plot_trend", "FunnelResult", "run_funnel", "funnel_findings", "funnel_headline",
           "funnel_tables", "show_funnel"]

_WINDOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)?\s*$", re.IGNORECASE)
_UNIT_HOURS = {"s": 1 / 3600, "m": 1 / 60, "min": 1 / 60, "h": 1.0, "d": 24.0, "w": 168.0, None: 1.0}


def parse_window_hours(window) -> float:
    """'72h' -> 72.0; '7d' -> 168.0; '90m' -> 1.5; a bare number is hours. ValueError explains the format."""
    if isinstance(window, (int, float)) and not isinstance(window, bool):
        if window <= 0:
            raise ValueError(f"window must be positive, got {window!r}")
        return float(window)
    m = _WINDOW.match(str(window))
    if not m:
        raise ValueError(f"window {window!r} is not a duration: write e.g. '72h', '7d', '30m' or a number of hours")
    hours = float(m.group(1)) * _UNIT_HOURS[(m.group(2) or "").lower() or None]
    if hours <= 0:
        raise ValueError(f"window must be positive, got {window!r}")
    return hours


@dataclass(frozen=True)
class Step:
    """One funnel step: any of ``events``, optionally only where ``where`` columns equal the given values."""

    events: tuple[str, ...]
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()
    label: str = ""

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        base = "|".join(self.events)
        if self.where:
            base += "[" + ",".join(f"{k}={'|'.join(v)}" for k, v in self.where) + "]"
        return base

    @classmethod
    def of(cls, spec) -> "Step":
        """From 'pv', ['pv', 'view'], {'event': 'pay', 'where': {'channel': '应用商店'}, 'label': ...} or a Step."""
        if isinstance(spec, Step):
            return spec
        if isinstance(spec, str):
            return cls((spec,))
        if isinstance(spec, (list, tuple)):
            return cls(tuple(str(s) for s in spec))
        if isinstance(spec, dict):
            ev = spec.get("event") or spec.get("events")
            ev = (ev,) if isinstance(ev, str) else tuple(ev)
            where = tuple((k, (v,) if isinstance(v, str) else tuple(str(x) for x in v))
                          for k, v in (spec.get("where") or {}).items())
            return cls(ev, where, spec.get("label") or "")
        if hasattr(spec, "event"):  # pydantic StepSpec
            return cls.of(spec.model_dump())
        raise TypeError(f"cannot read a funnel step from {spec!r}")


def _match(t, step: Step, event_col: str):
    cond = t[event_col].isin(list(step.events))
    for col, vals in step.where:
        if col not in t.columns:
            raise KeyError(f"funnel step filter column {col!r} is not in the events table")
        cond = cond & t[col].cast("string").isin(list(vals))
    return cond


# ------------------------------------------------------------------------------------------- per user
def funnel_users(events, steps, *, window_hours: float = 72.0, mode: str = "ordered",
                 step_windows_hours: list[float | None] | None = None, exclusions: list[dict] | None = None,
                 period_end=None, breakdown: str | None = None, user_col: str = "user_id", ts_col: str = "ts",
                 event_col: str = "event", max_attempts: int = 1000) -> pd.DataFrame:
    """One row per user who entered the funnel: their best attempt.

    Parameters
    ----------
    events : Ibis table or pandas DataFrame with user, time and event columns.
    steps : list of step specs (see :meth:`Step.of`), at least two.
    window_hours : conversion window from the attempt start.
    mode : ``ordered``, ``strict`` or ``unordered``.
    step_windows_hours : optional max hours from step k to k+1 (list of n-1, None = no limit).
    exclusions : list of ``{"event": name, "between": [k, k+1]}`` (1-based steps).
    period_end : end of the analysis period (exclusive timestamp) for censoring; None = no censoring.
    breakdown : property column whose value at the attempt's step-1 event is kept (first touch).

    Returns
    -------
    DataFrame with ``user_id``, ``start`` (attempt start), ``reached`` (steps reached, 1..n), ``t1``..``tn``
    (time each step was reached, NaT if not), ``attempts`` (number of attempts), ``censored`` (bool),
    ``group`` (breakdown value at step 1, when ``breakdown``), sorted by user.
    """
    steps = [Step.of(s) for s in steps]
    n = len(steps)
    if n < 2:
        raise ValueError("a funnel needs at least two steps")
    if mode not in ("ordered", "strict", "unordered"):
        raise ValueError(f"funnel mode must be ordered, strict or unordered, got {mode!r}")
    t = as_table(events)
    win_s = int(round(window_hours * 3600))
    win = ibis.interval(seconds=win_s)
    cols = [user_col, ts_col, event_col] + ([breakdown] if breakdown else [])
    for c in cols:
        if c not in t.columns:
            raise KeyError(f"column {c!r} is not in the events table (columns: {', '.join(t.columns)})")
    for s in steps:
        for col, _ in s.where:
            if col not in cols:
                cols.append(col)
    need = sorted({e for s in steps for e in s.events} | {x["event"] for x in (exclusions or [])})
    base = t.select(*cols)
    u, ts = user_col, ts_col
    if mode == "ordered":
        att = _ordered_attempts(base.filter(base[event_col].isin(need)), steps, win_s, step_windows_hours,
                                breakdown, user_col, ts_col, event_col, max_attempts)
        if exclusions:
            att = _apply_exclusions(att, base.filter(base[event_col].isin(need)), exclusions, n, user_col, ts_col,
                                    event_col)
        out = att.to_pandas()
        return _best_attempt(out, n, window_hours, period_end, breakdown, user_col)

    if mode == "strict":
        # sequence numbers over all of a user's events (the "very next event")
        w = ibis.window(group_by=base[user_col], order_by=[base[ts_col], base[event_col]])
        base = base.mutate(_seq=ibis.row_number().over(w))
    else:
        base = base.filter(base[event_col].isin(need))
        w = ibis.window(group_by=base[user_col], order_by=[base[ts_col], base[event_col]])
        base = base.mutate(_seq=ibis.row_number().over(w))
    base = _cache(base)

    # events matching each step, with a row id (_seq) so one row never counts twice
    def step_rows(k: int):
        s = base.filter(_match(base, steps[k], event_col))
        return s.select(_u=s[u], _ts=s[ts], _seq=s["_seq"], **({"_g": s[breakdown]} if breakdown and k == 0 else {}))

    if mode == "unordered":
        anyrows = base.filter(ibis.or_(*[_match(base, s, event_col) for s in steps]))
        first = anyrows.select(_u=anyrows[u], _ts=anyrows[ts], _seq=anyrows["_seq"],
                               **({"_g": anyrows[breakdown]} if breakdown else {}))
    else:
        first = step_rows(0)
    attempts = _attempt_starts(first, win_s, max_attempts)
    # attempts: _u, _start, _sseq, _g?, _a (attempt number)
    att = attempts.mutate(_deadline=attempts["_start"] + win)
    att = att.mutate(t1=att["_start"], s1=att["_sseq"])
    if mode == "unordered":
        for k in range(n):
            sr = step_rows(k).select("_u", "_ts").rename(_hu="_u", _hts="_ts")
            j = att.join(sr, (att["_u"] == sr["_hu"]) & (sr["_hts"] >= att["_start"]) & (sr["_hts"] <= att["_deadline"]))
            hit = j.group_by([j["_u"].name("_u2"), j["_a"].name("_a2")]).aggregate(**{f"h{k + 1}": j["_hts"].min()})
            att = att.left_join(hit, (att["_u"] == hit["_u2"]) & (att["_a"] == hit["_a2"])).drop("_u2", "_a2")
        out = att.to_pandas()
        hcols = [f"h{k + 1}" for k in range(n)]
        times = np.sort(out[hcols].to_numpy(dtype="datetime64[ns]"), axis=1)  # NaT sorts last
        for k in range(n):
            out[f"t{k + 1}"] = pd.to_datetime(times[:, k])
        out = out.drop(columns=hcols)
    else:  # strict: step k+1 is the row right after step k's row
        for k in range(1, n):
            sr = step_rows(k)
            j = att.join(sr, (att["_u"] == sr["_u"]) & (sr["_seq"] == att[f"s{k}"] + 1))
            j = j.filter(j["_ts"] <= j["_deadline"])
            if step_windows_hours and k - 1 < len(step_windows_hours) and step_windows_hours[k - 1]:
                sw = ibis.interval(seconds=int(round(step_windows_hours[k - 1] * 3600)))
                j = j.filter(j["_ts"] <= j[f"t{k}"] + sw)
            hit = j.select(_u2=j["_u"], _a2=j["_a"], **{f"t{k + 1}": j["_ts"], f"s{k + 1}": j["_seq"]})
            att = att.left_join(hit, (att["_u"] == hit["_u2"]) & (att["_a"] == hit["_a2"])).drop("_u2", "_a2")
        if exclusions:
            att = _apply_exclusions(att, base, exclusions, n, user_col, ts_col, event_col)
        out = att.to_pandas()
    return _best_attempt(out, n, window_hours, period_end, breakdown, user_col)


def _cache(t):
    """Materialise ``t`` once (DuckDB temp table, Spark cache) when the backend supports it."""
    return t.cache() if hasattr(t, "cache") else t


def _ordered_attempts(ev, steps, win_s, step_windows_hours, breakdown, user_col, ts_col, event_col, max_attempts):
    """Attempts of an ordered funnel, one row each: ``_u, _a, _start, _deadline, t1..tn, _g?``.

    1. Attempt starts come from the step-1 rows alone (:func:`_chain_attempts`).
    2. The chain "first step-2 row after the start, first step-3 row after that, ..." is computed with
       window functions over a small table: the attempt starts plus the rows matching steps 2..n (no range
       joins). It is built backwards from the last step: at a step-k row, the times of steps k+1..n are
       the minimum, over the *following* rows, of the step-(k+1) rows' own chains. That is exact because a
       chain is monotone: a later start never reaches a step earlier, and once a step is missing it stays
       missing.
    3. Window and per-step limits are checked last: the first matching event is the earliest candidate, so
       if it is too late every later one is too.

    Rows are ordered by time, then, at the same instant, by step (a later step's row comes after an earlier
    step's row, so "at or after" holds whatever the event names), then event name; rows with the same user,
    time and event name are one instant and never each other's next step.
    """
    n = len(steps)
    u, ts, e = user_col, ts_col, event_col
    gtype = ev[breakdown].type() if breakdown else None
    first = ev.filter(_match(ev, steps[0], e))
    # the start's event name orders same-instant rows; with one step-1 name it is a constant (a leaner scan)
    one_name = len(steps[0].events) == 1
    first = first.select(_u=first[u], _ts=first[ts], **({} if one_name else {"_e": first[e]}),
                         **({"_g": first[breakdown].cast(gtype)} if breakdown else {}))
    att = _chain_attempts(first, win_s, max_attempts)  # _u, _start, _e?, _g?, _a
    if one_name:
        att = att.mutate(_e=ibis.literal(steps[0].events[0]))

    later = ev.filter(ibis.or_(*[_match(ev, steps[k], e) for k in range(1, n)]))
    later = later.select(_u=later[u], _ts=later[ts], _e=later[e], _a=ibis.null("int64"),
                         **({"_g": ibis.null(gtype)} if breakdown else {}),
                         **{f"_m{k}": _match(later, steps[k], e) for k in range(1, n)})
    starts = att.select(_u=att["_u"], _ts=att["_start"], _e=att["_e"], _a=att["_a"],
                        **({"_g": att["_g"]} if breakdown else {}),
                        **{f"_m{k}": ibis.literal(False) for k in range(1, n)})
    both = ibis.union(starts.cast(later.schema()), later)
    both = both.group_by(["_u", "_ts", "_e"]).aggregate(
        _a=both["_a"].max(), **({"_g": both["_g"].max()} if breakdown else {}),
        **{f"_m{k}": both[f"_m{k}"].any() for k in range(1, n)})
    both = both.mutate(_m0=both["_a"].notnull())
    # same instant: a row of a later step comes after the earlier step's row ("at or after" step k's time),
    # whatever the event names; a row matching several steps ranks by the first of them
    rank = ibis.literal(n)
    for k in range(n - 1, 0, -1):
        rank = ibis.ifelse(both[f"_m{k}"], k, rank)
    both = both.mutate(_r=ibis.ifelse(both["_m0"], 0, rank))
    after = ibis.window(group_by=both["_u"], order_by=[both["_ts"], both["_r"], both["_e"]], rows=(1, None))
    t = both
    # level k: columns _c{k}_{j} (j = k+1..n-1) = time of step j on the chain that starts at this row as step k
    for k in range(n - 2, -1, -1):
        nxt = {f"_c{k}_{k + 1}": ibis.ifelse(t[f"_m{k + 1}"], t["_ts"], ibis.null()).min().over(after)}
        for j in range(k + 2, n):
            nxt[f"_c{k}_{j}"] = t[f"_c{k + 1}_{j}"].min().over(after)
        t = t.mutate(**nxt)
        if k + 1 <= n - 2:  # the level-(k+1) chain is no longer needed
            t = t.drop(*[f"_c{k + 1}_{j}" for j in range(k + 2, n)])
        if k > 0:  # a level-k chain only holds at step-k rows
            t = t.mutate(**{c: ibis.ifelse(t[f"_m{k}"], t[c], ibis.null()) for c in nxt})
    t = t.filter(t["_m0"])
    att = t.select(_u=t["_u"], _a=t["_a"], _start=t["_ts"], **({"_g": t["_g"]} if breakdown else {}),
                   **{f"t{j + 1}": t[f"_c0_{j}"] for j in range(1, n)})
    att = att.mutate(_deadline=att["_start"] + ibis.interval(seconds=win_s), t1=att["_start"])
    # a step counts only if the previous one did, within the window and its own step window
    for k in range(2, n + 1):
        ok = att[f"t{k - 1}"].notnull() & att[f"t{k}"].notnull() & (att[f"t{k}"] <= att["_deadline"])
        sw = step_windows_hours[k - 2] if step_windows_hours and k - 2 < len(step_windows_hours) else None
        if sw:
            ok = ok & (att[f"t{k}"] <= att[f"t{k - 1}"] + ibis.interval(seconds=int(round(sw * 3600))))
        att = att.mutate(**{f"t{k}": ibis.ifelse(ok, att[f"t{k}"], ibis.null().cast(att[f"t{k}"].type()))})
    return att


def _chain_attempts(first, win_s: int, max_attempts: int):
    """Greedy attempts from the step-1 rows ``first`` (``_u``, ``_ts`` and payload columns): the user's
    first row, then the first row strictly after each window's end. Returns one row per attempt with
    ``_u``, ``_start``, the payload of the attempt's first row (several rows at the same instant: the first
    in payload-column order) and ``_a`` (attempt number, 1-based).

    One range window gives every row the time of its successor (the first row more than ``win_s`` seconds
    later); then one equality join per attempt number follows the chain, over the users who still have a
    next attempt (as many rounds as the most attempts any user has).
    """
    # strictly after the window's end: one microsecond past it (timestamps have microsecond precision)
    after_end = ibis.interval(microseconds=win_s * 1_000_000 + 1)
    w = ibis.window(group_by=first["_u"], order_by=first["_ts"], range=(after_end, None))
    cand = _cache(first.mutate(_next=first["_ts"].first().over(w)))
    payload = [c for c in cand.columns if c not in ("_u", "_ts", "_next")]

    def one_per_user(rows, a: int):
        # rows at the same instant share their successor; keep the first by payload
        if payload:
            wr = ibis.window(group_by=rows["_u"], order_by=[rows[c] for c in payload])
            rows = rows.mutate(_rn=ibis.row_number().over(wr))
            rows = rows.filter(rows["_rn"] == 0).drop("_rn")
        else:
            rows = rows.distinct()
        return _cache(rows.mutate(_a=ibis.literal(a, "int64")))

    firsts = cand.group_by(_fu=cand["_u"]).aggregate(_fs=cand["_ts"].min())
    cur = one_per_user(cand.join(firsts, (cand["_u"] == firsts["_fu"]) & (cand["_ts"] == firsts["_fs"]))
                       .drop("_fu", "_fs"), 1)
    parts = [cur]
    for a in range(2, max_attempts + 1):
        live = cur.filter(cur["_next"].notnull()).select(_nu=cur["_u"], _nt=cur["_next"])
        if int(live.count().execute()) == 0:
            break
        nxt = cand.join(live, (cand["_u"] == live["_nu"]) & (cand["_ts"] == live["_nt"])).drop("_nu", "_nt")
        cur = one_per_user(nxt, a)
        parts.append(cur)
    else:
        if int(cur.filter(cur["_next"].notnull()).count().execute()):
            warnings.warn(f"funnel: some users have more than max_attempts={max_attempts} attempts; "
                          "later attempts are ignored (raise max_attempts or widen the window)", stacklevel=3)
    att = ibis.union(*parts) if len(parts) > 1 else parts[0]
    return att.rename(_start="_ts").drop("_next")


def _attempt_starts(first, win_s: int, max_attempts: int):
    """Attempts for the strict and unordered modes: ``_u, _start, _sseq, _g?, _a`` (see :func:`_chain_attempts`)."""
    return _chain_attempts(first.rename(_sseq="_seq"), win_s, max_attempts)


def _apply_exclusions(att, base, exclusions, n, user_col, ts_col, event_col):
    flags = []
    for i, ex in enumerate(exclusions):
        a, b = (list(ex.get("between") or [1, n]) + [None, None])[:2]
        a, b = int(a), int(b)
        if not (1 <= a < b <= n):
            raise ValueError(f"exclusion {ex!r}: 'between' must be two step numbers 1 <= k < k+1 <= {n}")
        ev = base.filter(base[event_col] == ex["event"]).select(_xu=base[user_col], _xts=base[ts_col])
        upper = ibis.coalesce(att[f"t{b}"], att["_deadline"])
        j = att.join(ev, (att["_u"] == ev["_xu"]) & att[f"t{a}"].notnull() & (ev["_xts"] > att[f"t{a}"])
                     & (ev["_xts"] < upper))
        hit = j.select(_eu=j["_u"], _ea=j["_a"]).distinct().mutate(**{f"_x{i}": ibis.literal(True)})
        att = att.left_join(hit, (att["_u"] == hit["_eu"]) & (att["_a"] == hit["_ea"])).drop("_eu", "_ea")
        flags.append(f"_x{i}")
    return att.mutate(_excluded=ibis.or_(*[att[f].notnull() for f in flags]))


def _best_attempt(out: pd.DataFrame, n: int, window_hours: float, period_end, breakdown, user_col) -> pd.DataFrame:
    tcols = [f"t{k}" for k in range(1, n + 1)]
    for c in tcols:
        out[c] = pd.to_datetime(out[c]) if c in out else pd.NaT
    # ordered/strict: a step counts only if all previous steps were reached (they are, by construction)
    out["reached"] = out[tcols].notna().sum(axis=1).astype(int)
    attempts = out.groupby("_u")["_a"].transform("size")
    out["attempts"] = attempts
    excluded_users = set()
    if "_excluded" in out.columns:
        bad = out["_excluded"].fillna(False).astype(bool)
        all_bad = bad.groupby(out["_u"]).transform("all")
        excluded_users = set(out.loc[all_bad, "_u"])
        out = out[~bad]
    out = out.sort_values(["_u", "reached", "_a"], ascending=[True, False, True], kind="stable")
    best = out.drop_duplicates("_u", keep="first")
    first_start = out.groupby("_u")["_start"].min()
    res = pd.DataFrame({user_col: best["_u"].astype(str).to_numpy(), "start": pd.to_datetime(best["_start"]).to_numpy(),
                        "reached": best["reached"].to_numpy(), "attempts": best["attempts"].to_numpy()})
    for c in tcols:
        res[c] = pd.to_datetime(best[c]).to_numpy()
    if period_end is not None:
        limit = pd.Timestamp(period_end) - pd.Timedelta(hours=window_hours)
        res["censored"] = best["_u"].map(first_start).to_numpy() > limit
    else:
        res["censored"] = False
    if breakdown:
        res["group"] = best["_g"].astype("string").fillna("(空 none)").to_numpy()
    res = res.sort_values(user_col, ignore_index=True)
    # microseconds, the canonical resolution, whichever engine ran (Spark hands pandas nanoseconds)
    for c in ["start", *tcols]:
        res[c] = res[c].astype("datetime64[us]")
    res.attrs["excluded_users"] = len(excluded_users)
    return res


# ------------------------------------------------------------------------------------------- statistics
def wilson_interval(successes, trials, *, z: float = 1.959963984540054) -> tuple[float, float]:
    """95% Wilson score interval for a proportion; (nan, nan) when ``trials`` is 0."""
    if trials <= 0:
        return (math.nan, math.nan)
    p = successes / trials
    d = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / d
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / d
    return (max(0.0, centre - half), min(1.0, centre + half))


def funnel_table(users: pd.DataFrame, steps, *, include_censored: bool = False) -> pd.DataFrame:
    """The step table from :func:`funnel_users`.

    Returns
    -------
    DataFrame, one row per step: ``step`` (1-based), ``name``, ``users`` (reached it), ``rate_from_start``,
    ``rate_from_previous``, ``drop_off`` (users lost since the previous step), ``ci_low``, ``ci_high`` (95%
    Wilson interval of ``rate_from_start``), ``prev_ci_low``, ``prev_ci_high`` (of ``rate_from_previous``),
    ``median_hours``, ``p90_hours`` (time from step 1 to reaching this step).
    """
    steps = [Step.of(s) for s in steps]
    u = users if include_censored else users[~users["censored"]]
    n0 = len(u)
    rows, prev = [], n0
    for k, s in enumerate(steps, start=1):
        reached = u[u["reached"] >= k]
        m = len(reached)
        lo, hi = wilson_interval(m, n0)
        plo, phi = wilson_interval(m, prev)
        hours = (reached[f"t{k}"] - reached["t1"]).dt.total_seconds() / 3600
        rows.append({"step": k, "name": s.name, "users": m, "rate_from_start": m / n0 if n0 else math.nan,
                     "rate_from_previous": m / prev if prev else math.nan, "drop_off": prev - m if k > 1 else 0,
                     "ci_low": lo, "ci_high": hi, "prev_ci_low": plo, "prev_ci_high": phi,
                     "median_hours": float(hours.median()) if m else math.nan,
                     "p90_hours": float(hours.quantile(0.9)) if m else math.nan})
        prev = m
    return pd.DataFrame(rows)


def funnel_breakdown(users: pd.DataFrame, steps, *, include_censored: bool = False) -> pd.DataFrame:
    """:func:`funnel_table` per breakdown group (first touch), stacked with a leading ``group`` column;
    groups ordered by entered users, largest first."""
    if "group" not in users.columns:
        raise ValueError("funnel_users was run without a breakdown column")
    u = users if include_censored else users[~users["censored"]]
    order = u["group"].value_counts().index.tolist()
    parts = [funnel_table(u[u["group"] == g], steps, include_censored=True).assign(group=g) for g in order]
    if not parts:
        return pd.DataFrame()
    df = pd.concat(parts, ignore_index=True)
    return df[["group"] + [c for c in df.columns if c != "group"]]


def compare_groups(users: pd.DataFrame, a: str, b: str, *, n_steps: int, include_censored: bool = False) -> dict:
    """Two-proportion z-test of overall conversion (reached the last step) between groups ``a`` and ``b``.

    Returns
    -------
    dict: ``group_a``, ``group_b``, ``n_a``, ``n_b``, ``conv_a``, ``conv_b``, ``rate_a``, ``rate_b``,
    ``diff`` (rate_a - rate_b), ``diff_ci_low``, ``diff_ci_high`` (95%, unpooled), ``z``, ``p_value``
    (two-sided, pooled), ``cohens_h`` (effect size), ``relative_lift`` (rate_a / rate_b - 1),
    ``significant`` (p < 0.05).
    """
    from scipy.stats import norm

    u = users if include_censored else users[~users["censored"]]
    ga, gb = u[u["group"] == a], u[u["group"] == b]
    na, nb = len(ga), len(gb)
    xa, xb = int((ga["reached"] >= n_steps).sum()), int((gb["reached"] >= n_steps).sum())
    out = {"group_a": a, "group_b": b, "n_a": na, "n_b": nb, "conv_a": xa, "conv_b": xb}
    if na == 0 or nb == 0:
        return {**out, "rate_a": math.nan, "rate_b": math.nan, "diff": math.nan, "diff_ci_low": math.nan,
                "diff_ci_high": math.nan, "z": math.nan, "p_value": math.nan, "cohens_h": math.nan,
                "relative_lift": math.nan, "significant": False}
    pa, pb = xa / na, xb / nb
    pool = (xa + xb) / (na + nb)
    se_pool = math.sqrt(pool * (1 - pool) * (1 / na + 1 / nb))
    z = (pa - pb) / se_pool if se_pool > 0 else 0.0
    p = float(2 * norm.sf(abs(z)))
    se = math.sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb)
    zc = norm.ppf(0.975)
    h = 2 * math.asin(math.sqrt(pa)) - 2 * math.asin(math.sqrt(pb))
    return {**out, "rate_a": pa, "rate_b": pb, "diff": pa - pb, "diff_ci_low": pa - pb - zc * se,
            "diff_ci_high": pa - pb + zc * se, "z": z, "p_value": p, "cohens_h": h,
            "relative_lift": pa / pb - 1 if pb > 0 else math.nan, "significant": p < 0.05}


def conversion_trend(users: pd.DataFrame, *, n_steps: int, period: str = "day",
                     include_censored: bool = False) -> pd.DataFrame:
    """Overall conversion by the day or week (Monday) of each user's entry (best attempt start).

    Returns
    -------
    DataFrame ``period_start``, ``entered``, ``converted``, ``rate``, ``ci_low``, ``ci_high``.
    """
    u = users if include_censored else users[~users["censored"]]
    if u.empty:
        return pd.DataFrame(columns=["period_start", "entered", "converted", "rate", "ci_low", "ci_high"])
    start = pd.to_datetime(u["start"]).dt.normalize()
    if period == "week":
        start = start - pd.to_timedelta(start.dt.weekday, unit="D")
    g = pd.DataFrame({"period_start": start, "conv": u["reached"] >= n_steps}).groupby("period_start")["conv"]
    df = pd.DataFrame({"entered": g.size(), "converted": g.sum().astype(int)}).reset_index()
    df["rate"] = df["converted"] / df["entered"]
    ci = [wilson_interval(c, e) for c, e in zip(df["converted"], df["entered"])]
    df["ci_low"], df["ci_high"] = [c[0] for c in ci], [c[1] for c in ci]
    return df


def time_to_convert(users: pd.DataFrame, *, n_steps: int, include_censored: bool = False) -> pd.Series:
    """Hours from step 1 to the last step, for users who converted."""
    u = users if include_censored else users[~users["censored"]]
    conv = u[u["reached"] >= n_steps]
    return ((conv[f"t{n_steps}"] - conv["t1"]).dt.total_seconds() / 3600).rename("hours")


# ------------------------------------------------------------------------------------------- charts
def plot_funnel(table: pd.DataFrame, *, ax=None, title: str = "转化漏斗 Conversion funnel"):
    """Bars of users per step, annotated with the rate from step 1 and from the previous step."""
    import matplotlib.pyplot as plt

    from .fmt import fmt_int, fmt_pct

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 1.0 + 0.7 * len(table)))
    labels = [f"{r.step}. {r.name}" for r in table.itertuples()]
    pos = list(range(len(table)))[::-1]
    ax.barh(pos, table["users"], color="C0")
    xmax = max(table["users"].max(), 1)
    for p, r in zip(pos, table.itertuples()):
        txt = f"{fmt_int(r.users)} · {fmt_pct(r.rate_from_start)}"
        if r.step > 1:
            txt += f" (环比 {fmt_pct(r.rate_from_previous)})"
        ax.text(r.users + xmax * 0.01, p, txt, va="center", fontsize="small")
    ax.set_yticks(pos, labels)
    ax.set_xlim(0, xmax * 1.45)
    ax.set_title(title)
    ax.set_xlabel("用户数 users")
    ax.set_ylabel("步骤 step")
    return ax


def plot_breakdown(breakdown: pd.DataFrame, *, ax=None, title: str = "分组转化率 Conversion by group"):
    """Rate from step 1 at each step, one line per group, with the 95% Wilson interval as error bars."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    if ax is None:
        _, ax = plt.subplots()
    for g, d in breakdown.groupby("group", sort=False):
        ax.errorbar(d["step"], d["rate_from_start"], yerr=[d["rate_from_start"] - d["ci_low"],
                                                          d["ci_high"] - d["rate_from_start"]],
                    marker="o", capsize=3, label=str(g))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    steps = breakdown.drop_duplicates("step")
    ax.set_xticks(steps["step"], [f"{s}. {n}" for s, n in zip(steps["step"], steps["name"])])
    ax.legend(fontsize="small")
    ax.set_title(title)
    ax.set_xlabel("步骤 step")
    ax.set_ylabel("相对第一步的转化率 rate from step 1")
    return ax


def plot_time_to_convert(hours: pd.Series, *, ax=None, title: str = "转化用时分布 Time to convert"):
    """Histogram of hours from step 1 to the last step (log-spaced bins when the range is wide)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    h = hours.dropna()
    if h.empty:
        ax.text(0.5, 0.5, "没有转化用户 no converted users", ha="center", va="center", transform=ax.transAxes)
    else:
        ax.hist(h, bins=min(40, max(5, int(np.sqrt(len(h))))), color="C2")
        ax.axvline(h.median(), color="C3", linestyle="--", label=f"中位数 median {h.median():.1f} h")
        ax.legend(fontsize="small")
    ax.set_title(title)
    ax.set_xlabel("小时 hours from step 1")
    ax.set_ylabel("用户数 users")
    return ax


def plot_trend(trend: pd.DataFrame, *, ax=None, title: str = "转化率趋势 Conversion trend by entry date"):
    """Overall conversion per entry day/week with its 95% interval band."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    if ax is None:
        _, ax = plt.subplots()
    ax.plot(trend["period_start"], trend["rate"], marker="o", markersize=3)
    ax.fill_between(trend["period_start"], trend["ci_low"], trend["ci_high"], alpha=0.2)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title(title)
    ax.set_xlabel("进入日期 entry date")
    ax.set_ylabel("整体转化率 overall conversion")
    fig = ax.get_figure()
    fig.autofmt_xdate()
    return ax


# ------------------------------------------------------------------------------------------- report
@dataclass
class FunnelResult:
    """Everything the funnel report shows; ``available`` is False (with ``reason``) when the data cannot
    make a funnel (e.g. fewer than two distinct step events)."""

    available: bool
    reason: str = ""
    steps: list = field(default_factory=list)
    mode: str = "ordered"
    window_hours: float = 72.0
    users: pd.DataFrame | None = None
    table: pd.DataFrame | None = None
    breakdown_col: str | None = None
    breakdown: pd.DataFrame | None = None
    test: dict | None = None
    trend: pd.DataFrame | None = None
    ttc: pd.Series | None = None
    censored_users: int = 0
    excluded_users: int = 0
    include_censored: bool = False

    def to_results(self) -> dict:
        """The notebook-specific part of ``results/funnel.json`` (docs/funnel.md)."""
        steps = []
        if self.table is not None:
            steps = [{"step": int(r.step), "name": r.name, "users": int(r.users), "rate_from_start": r.rate_from_start,
                      "rate_from_previous": r.rate_from_previous, "ci_low": r.ci_low, "ci_high": r.ci_high,
                      "median_hours": r.median_hours, "p90_hours": r.p90_hours} for r in self.table.itertuples()]
        return {"available": self.available, "reason": self.reason or None, "mode": self.mode,
                "window_hours": self.window_hours, "steps": steps, "censored_users": self.censored_users,
                "censored_included": self.include_censored, "excluded_users": self.excluded_users,
                "entered_users": int(self.table["users"].iloc[0]) if self.table is not None and len(self.table) else 0,
                "breakdown": self.breakdown_col, "test": self.test}


def run_funnel(ctx) -> FunnelResult:
    """The funnel report's computations for a campaign, from its ``funnel:`` params."""
    p = ctx.cfg.funnel
    wh = parse_window_hours(p.window)
    if not ctx.has("events"):
        return FunnelResult(False, "这个活动没有事件表 the campaign has no events table", mode=p.mode, window_hours=wh)
    ev = ctx.table("events")
    present = set(ev.select("event").distinct().to_pandas()["event"].astype(str))
    steps = [Step.of(s) for s in (p.steps or _default_steps(present))]
    usable = [s for s in steps if set(s.events) & present]
    if len(steps) < 2 or len(usable) < len(steps) or len({s.name for s in steps}) < 2:
        return FunnelResult(False, f"漏斗至少需要两种步骤事件 a funnel needs at least two step events; the data has: "
                                   f"{', '.join(sorted(present))}", mode=p.mode, window_hours=wh)
    end = pd.Timestamp(ctx.cfg.period.end) + pd.Timedelta(days=1)
    bcol = p.breakdown if p.breakdown and p.breakdown in ev.columns else None
    users = funnel_users(ev, steps, window_hours=wh, mode=p.mode, exclusions=[e.model_dump() for e in p.exclusions],
                         step_windows_hours=[parse_window_hours(x) if x else None for x in (p.step_windows or [])] or None,
                         period_end=end, breakdown=bcol)
    res = FunnelResult(True, steps=steps, mode=p.mode, window_hours=wh, users=users,
                       include_censored=p.include_censored, censored_users=int(users["censored"].sum()),
                       excluded_users=int(users.attrs.get("excluded_users", 0)))
    res.table = funnel_table(users, steps, include_censored=p.include_censored)
    n = len(steps)
    if bcol:
        res.breakdown_col = bcol
        res.breakdown = funnel_breakdown(users, steps, include_censored=p.include_censored)
        groups = p.compare or _two_groups(users, p.include_censored)
        if len(groups) == 2:
            res.test = compare_groups(users, groups[0], groups[1], n_steps=n, include_censored=p.include_censored)
    res.trend = conversion_trend(users, n_steps=n, period=p.trend_period, include_censored=p.include_censored)
    res.ttc = time_to_convert(users, n_steps=n, include_censored=p.include_censored)
    return res


def _default_steps(present: set[str]) -> list[str]:
    for chain in (["view", "cart", "order", "pay"], ["pv", "cart", "buy"], ["view", "cart", "purchase"]):
        have = [s for s in chain if s in present]
        if len(have) >= 2:
            return have
    return sorted(present)[:2]


def _two_groups(users: pd.DataFrame, include_censored: bool) -> list[str]:
    """The worst-converting group against all others' best-known large group: the largest and the
    lowest-converting group with at least 30 users (a planted-effect finder for the report)."""
    u = users if include_censored else users[~users["censored"]]
    if "group" not in u:
        return []
    n = int(u["reached"].max()) if len(u) else 0
    stats = u.assign(conv=u["reached"] >= n).groupby("group")["conv"].agg(["size", "mean"])
    stats = stats[stats["size"] >= 30]
    if len(stats) < 2:
        return []
    worst = stats["mean"].idxmin()
    best = stats.drop(worst)["mean"].idxmax()
    return [str(worst), str(best)]


def funnel_findings(res: FunnelResult) -> list[str]:
    """Key findings in plain words and numbers."""
    from .fmt import fmt_duration_hours, fmt_int, fmt_pct

    if not res.available:
        return [f"无法计算漏斗 No funnel: {res.reason}."]
    t = res.table
    out = [f"{fmt_int(t['users'].iloc[0])} 位用户进入漏斗 users entered ({res.mode}, 窗口 window "
           f"{fmt_duration_hours(res.window_hours)}); {fmt_int(t['users'].iloc[-1])} 完成全部步骤 completed all steps: "
           f"整体转化率 overall conversion {fmt_pct(t['rate_from_start'].iloc[-1])} "
           f"(95% CI {fmt_pct(t['ci_low'].iloc[-1])}–{fmt_pct(t['ci_high'].iloc[-1])})."]
    if len(t) > 1:
        worst = t.iloc[1:].sort_values("rate_from_previous").iloc[0]
        prev = t[t["step"] == worst["step"] - 1].iloc[0]
        out.append(f"最大流失 biggest drop: {prev['name']} → {worst['name']}, 只有 only "
                   f"{fmt_pct(worst['rate_from_previous'])} 继续 continue ({fmt_int(worst['drop_off'])} 人流失 users lost).")
    if len(res.ttc):
        out.append(f"转化用时中位数 median time to convert {fmt_duration_hours(res.ttc.median())}, "
                   f"90% 在 {fmt_duration_hours(res.ttc.quantile(0.9))} 内 within.")
    if res.censored_users:
        out.append(f"{fmt_int(res.censored_users)} 位用户进入太晚、窗口不完整 entered too late for a full window: "
                   f"{'已计入 included' if res.include_censored else '不计入转化率 excluded from rates'}.")
    if res.excluded_users:
        out.append(f"{fmt_int(res.excluded_users)} 位用户因排除事件被移出 removed by exclusion events.")
    if res.test:
        tt = res.test
        verdict = "差异显著 significant" if tt["significant"] else "差异不显著 not significant"
        out.append(f"分组 {res.breakdown_col}: {tt['group_a']} 转化率 {fmt_pct(tt['rate_a'])} vs {tt['group_b']} "
                   f"{fmt_pct(tt['rate_b'])}, 差 diff {fmt_pct(tt['diff'])} (95% CI {fmt_pct(tt['diff_ci_low'])}–"
                   f"{fmt_pct(tt['diff_ci_high'])}, p = {tt['p_value']:.3g}): {verdict}.")
    return out


def funnel_headline(res: FunnelResult) -> list[dict]:
    """Headline numbers for the index page."""
    from .fmt import fmt_int, fmt_pct
    from .report import headline

    if not res.available:
        return [headline("funnel 漏斗", None, "n/a")]
    t = res.table
    out = [headline("entered 进入漏斗", int(t["users"].iloc[0]), fmt_int(t["users"].iloc[0])),
           headline("overall conversion 整体转化率", float(t["rate_from_start"].iloc[-1]),
                    fmt_pct(t["rate_from_start"].iloc[-1]))]
    if res.test:
        out.append(headline(f"{res.test['group_a']} vs {res.test['group_b']} diff 差异", res.test["diff"],
                            fmt_pct(res.test["diff"])))
    return out


def funnel_tables(res: FunnelResult) -> dict[str, pd.DataFrame]:
    """Key tables written next to ``results/funnel.json``."""
    if not res.available:
        return {}
    out = {"steps": res.table, "trend": res.trend}
    if res.breakdown is not None:
        out["breakdown"] = res.breakdown
    return out


def show_funnel(res: FunnelResult, part: str):
    """Display one part of the funnel report (``table``, ``chart``, ``breakdown``, ``test``, ``trend``,
    ``time``), or a short note when the data cannot show it."""
    from IPython.display import Markdown, display

    from .fmt import fmt_num, fmt_pct, style_table

    if not res.available:
        display(Markdown(f"_{res.reason}_"))
        return None
    if part == "table":
        return display(style_table(res.table.drop(columns=["prev_ci_low", "prev_ci_high"]), int_cols=["users", "drop_off"],
                                   pct_cols=["rate_from_start", "rate_from_previous", "ci_low", "ci_high"],
                                   num_cols=["median_hours", "p90_hours"]))
    if part == "chart":
        return plot_funnel(res.table)
    if part in ("breakdown", "test") and res.breakdown is None:
        display(Markdown("_没有设置分组 no breakdown property in the params (funnel.breakdown)._"))
        return None
    if part == "breakdown":
        plot_breakdown(res.breakdown)
        last = res.breakdown[res.breakdown["step"] == res.breakdown["step"].max()]
        return display(style_table(last[["group", "users", "rate_from_start", "ci_low", "ci_high"]],
                                   int_cols=["users"], pct_cols=["rate_from_start", "ci_low", "ci_high"]))
    if part == "test":
        if not res.test:
            display(Markdown("_分组太小，无法检验 groups too small to test (need two groups of 30+ users)._"))
            return None
        t = res.test
        rows = pd.DataFrame([{"group": t["group_a"], "users": t["n_a"], "converted": t["conv_a"], "rate": t["rate_a"]},
                             {"group": t["group_b"], "users": t["n_b"], "converted": t["conv_b"], "rate": t["rate_b"]}])
        display(style_table(rows, int_cols=["users", "converted"], pct_cols=["rate"]))
        return display(Markdown(
            f"两比例 z 检验 two-proportion z-test: diff = {fmt_pct(t['diff'])} (95% CI {fmt_pct(t['diff_ci_low'])} – "
            f"{fmt_pct(t['diff_ci_high'])}), z = {fmt_num(t['z'])}, p = {t['p_value']:.3g}, Cohen's h = "
            f"{fmt_num(t['cohens_h'])}, relative lift {fmt_pct(t['relative_lift'])}."))
    if part == "trend":
        return plot_trend(res.trend)
    if part == "time":
        return plot_time_to_convert(res.ttc)
    raise ValueError(f"unknown part {part!r}")
