"""The DuckDB fast path of the ordered funnel: the same attempts as :func:`helpers.attempts._ordered_attempts`
(every rule in docs/funnel.md), computed from one DuckDB scan with sorted-array searches in numpy.

DuckDB filters the events, gives every user an integer code (a small temp table of distinct users) and hands over
the rows of every step as integers (code, microseconds, event code, and a flag for each step with a property
filter; the other steps' flags come from the event codes). numpy merges rows of one
instant, follows each user's attempt chain and step chain with ``searchsorted`` on one int64 key per row (user
code, time, same-instant rank, event code), as polars' ``join_asof`` does: no range joins and no per-attempt
query rounds. The result has the columns of the portable path's attempts (``_u, _a, _start, _deadline, t1..tn``)
and goes through the same best-attempt step; tests/test_funnel_fast.py checks it equal to the portable path.

It applies to the ordered mode without exclusions or breakdown on a DuckDB backend, when the key fits in 62 bits
(users x time span, counted in the coarsest of seconds, milliseconds and microseconds that divides every time:
:func:`helpers.arrays.time_unit`); otherwise :func:`ordered_attempts_fast` returns None and the portable Ibis path runs.
"""

from __future__ import annotations

import uuid
import warnings

import numpy as np
import pandas as pd

from .arrays import as_us, plain_pages, sort_keys, time_unit
from .engine import duckdb_backend, on_duckdb
from .steps import Step, match_step

__all__ = ["applies", "ordered_attempts_fast"]

_KEY_LIMIT = 2**62


def applies(t, mode: str, exclusions, breakdown) -> bool:
    """Whether the fast path can run: ordered mode, no exclusions, no breakdown, on DuckDB (in-memory tables too)."""
    if mode != "ordered" or exclusions or breakdown:
        return False
    return on_duckdb(t)


@plain_pages()  # large numpy temporaries: no huge-page stalls (helpers/arrays.py)
def ordered_attempts_fast(
    base, steps: list[Step], need: list[str], win_s: int, step_windows_hours, user_col, ts_col, event_col, max_attempts
) -> pd.DataFrame | None:
    """Attempts of an ordered funnel as a DataFrame ``_u, _a, _start, _deadline, t1..tn`` (one row per attempt),
    or None when the key would not fit (the caller then runs the portable path)."""
    n = len(steps)
    u, ts, e = user_col, ts_col, event_col
    codes = {name: i for i, name in enumerate(need)}  # sorted names: code order is name order
    ev = base.filter(base[e].isin(need) & base[u].notnull() & base[ts].notnull())
    ev = ev.select(
        _u=ev[u],
        _ts=ev[ts],
        _e=ev[e].cases(*codes.items(), else_=-1).cast("int16"),
        # a step matched by event names alone gets its flags from the event codes in numpy (_attempts): three
        # boolean columns less to compute, hand over and unpack (about 0.15 s of a 10M-event funnel, 2026-12-04)
        **{f"_m{k}": match_step(ev, steps[k], e) for k in range(n) if steps[k].where},
    )
    con = duckdb_backend(ev)
    con._run_pre_execute_hooks(ev)  # registers in-memory tables
    src, raw = con.compile(ev), con.con  # the step rows' query, compiled once; run as SQL, no Ibis round trips
    # users numbered from 0 in user order (DuckDB sorts the distinct users), so that the best-attempt step sorts
    # integers. Whether the keys fit in 62 bits is known only from the step rows' time unit, after the scan below;
    # a check before it (users' first and last step times in this query) cost 0.13-0.3 s of a 2.3 s 10M-event
    # funnel, on every run, to spare the rare log that does not fit one wasted scan (2026-12-03)
    users = f"_ubk_funnel_users_{uuid.uuid4().hex[:12]}"
    raw.execute(
        f"CREATE TEMP TABLE {users} AS SELECT _u, row_number() OVER (ORDER BY _u) - 1 AS _uc "
        f"FROM (SELECT DISTINCT _u FROM ({src}) AS s) AS d"
    )
    try:
        # one scan: the rows of every step with their user's number. Straight into numpy: no Arrow table and no
        # second copy of each column (at 10M events the Arrow route's first run in a process took 0.6-1.9 s against
        # 0.35-0.4 s, 2026-12-05); the times as int64 microseconds (epoch_us of the naive time: what as_us makes of
        # a datetime64), not as timestamps, whose conversion to numpy took 0.2 s more of a 10M-event funnel
        # (2026-12-07, a millisecond Parquet column)
        cols = raw.sql(
            f"SELECT * EXCLUDE (_u) REPLACE (epoch_us(_ts) AS _ts) FROM ({src}) AS r JOIN {users} USING (_u)"
        ).fetchnumpy()
        ids = np.asarray(raw.sql(f"SELECT _u FROM {users} ORDER BY _uc").fetchnumpy()["_u"])
    finally:
        raw.execute(f"DROP TABLE IF EXISTS {users}")
    for name, col in cols.items():
        if isinstance(col, np.ma.MaskedArray):  # a step's filter on a missing property: not met
            cols[name] = col.filled(False)
    if cols["_ts"].dtype != np.int64:  # epoch_us gives int64 microseconds already
        cols["_ts"] = as_us(cols["_ts"])
    one = [codes[steps[0].events[0]]] if len(steps[0].events) == 1 else []  # one step-1 name: a constant
    names = [[codes[x] for x in s.events] for s in steps]
    out = _attempts(cols, ids, n, win_s, step_windows_hours, len(need), max_attempts, one, names)
    if out is None:
        return None
    columns, capped = out
    if capped:
        warnings.warn(
            f"funnel: some users have more than max_attempts={max_attempts} attempts; "
            "later attempts are ignored (raise max_attempts or widen the window)",
            stacklevel=3,
        )
    if not columns:
        return pd.DataFrame(columns=["_u", "_a", "_start", "_deadline", *[f"t{k}" for k in range(1, n + 1)]])
    return pd.DataFrame(columns)


def _attempts(cols: dict, ids: np.ndarray, n, win_s, step_windows_hours, n_names, max_attempts, one, names):
    """The attempts from the step rows' arrays ``cols`` (``_uc, _ts`` in microseconds, ``_e``, and ``_m<k>`` for
    the steps with a property filter), which it empties as it goes so that each array is freed once split.
    ``names[k]``: the event codes of step k, its flags where it has no ``_m<k>`` column.

    Returns ``(columns, capped)``: the attempts' columns as arrays (an empty dict when no row is a step-1 row) and
    whether some user had more than ``max_attempts`` attempts; or None when the int64 key would not fit."""
    uc = cols.pop("_uc")
    tt = cols.pop("_ts")
    ee = cols.pop("_e")  # int16: every key below is int64 arithmetic
    if not len(tt):
        return {}, False
    unit = time_unit(tt)  # every time below in this unit (microseconds again on the way out)
    if unit > 1:
        tt = np.floor_divide(tt, unit, out=tt) if tt.flags.writeable else tt // unit
    win = win_s * (1_000_000 // unit)  # windows are whole seconds (win_s an int; step windows rounded below)
    filtered = any(f"_m{k}" in cols for k in range(n))  # some step has a property filter
    m0 = _flags(cols.pop("_m0", None), ee, names[0], n_names)
    later = [cols.pop(f"_m{k}", None) for k in range(1, n)]  # property filters' flags, None for the others
    any_later = np.zeros(len(ee), dtype=bool)
    for k in range(1, n):
        any_later |= _flags(later[k - 1], ee, names[k], n_names)
    # the key's bound counts the users and the time span of step rows only
    if filtered:  # rows that meet no step's filter are left out
        step = m0 | any_later
        if not step.any():
            return {}, False
        top, st = int(uc[step].max()), tt[step]
        t0, t1 = int(st.min()), int(st.max())
        del step, st
    else:  # every scanned row is a step row (the scan keeps the steps' events only)
        top, t0, t1 = int(uc.max()), int(tt.min()), int(tt.max())
    span = t1 - t0 + win + 2  # a user's keys never reach the next user's
    e_mult = n_names
    pos_mult = (n + 1) * e_mult  # (time, same-instant rank, event code) in one number
    if (top + 2) * span * pos_mult >= _KEY_LIMIT:
        return None
    # one int64 key (user, time) for every row, then the step-1 rows' and the later steps' keys picked from it:
    # two selections of one array instead of three arrays each (2026-12-05: about 0.1 s of a 10M-event funnel)
    key = uc.astype(np.int64, copy=False) * span
    key += tt
    key -= t0
    del uc, tt
    tkey = key[m0]
    f_e = None if one else ee[m0]
    l_key, l_e = key[any_later], ee[any_later]
    l_m = [_flags(None if x is None else x[any_later], l_e, names[k], n_names) for k, x in enumerate(later, 1)]
    del key, ee, m0, later, any_later
    if not len(tkey):
        return {}, False
    # rows of steps 2..n with the same user, time and event name are one instant: their flags merged
    inst_l = l_key * e_mult + l_e
    order = np.argsort(inst_l, kind="stable")
    inst_l = inst_l[order]
    grp = np.flatnonzero(np.r_[True, inst_l[1:] != inst_l[:-1]]) if len(inst_l) else np.zeros(0, dtype=np.int64)
    flags = [np.logical_or.reduceat(x[order], grp) if len(grp) else x for x in l_m]
    inst_l = inst_l[grp]
    l_key, l_e = l_key[order][grp], l_e[order][grp]
    # 1. attempt starts: per user, the first step-1 instant, then the first one strictly after the window's end;
    #    several step-1 rows at one instant: the first by event name gives the start's name
    if one:  # user and time
        sort_keys(tkey)
        keep = np.empty(len(tkey), dtype=bool)
        keep[0] = True
        np.not_equal(tkey[1:], tkey[:-1], out=keep[1:])  # also drops repeated rows
        tkey = tkey[keep]
        s_e = np.full(len(tkey), one[0], dtype=np.int16)
    else:  # user, time and event name: the first name at an instant
        inst = tkey * e_mult + f_e
        sort_keys(inst)
        tkey = inst // e_mult
        keep = np.r_[True, tkey[1:] != tkey[:-1]]
        inst, tkey = inst[keep], tkey[keep]
        s_e = inst % e_mult
    s_uc = tkey // span
    cur = np.flatnonzero(np.r_[True, s_uc[1:] != s_uc[:-1]])
    starts, numbers = [cur], [np.ones(len(cur), dtype=np.int64)]
    a, capped = 1, False
    while True:
        nxt = np.searchsorted(tkey, tkey[cur] + win + 1, side="left")
        ok = nxt < len(tkey)
        ok[ok] = s_uc[nxt[ok]] == s_uc[cur[ok]]
        cur = nxt[ok]
        if not len(cur):
            break
        if a >= max_attempts:
            capped = True
            break
        a += 1
        starts.append(cur)
        numbers.append(np.full(len(cur), a, dtype=np.int64))
    idx = np.concatenate(starts)
    att_a = np.concatenate(numbers)
    att_uc = s_uc[idx]
    att_t = tkey[idx] % span  # relative to t0
    att_e = s_e[idx]
    # 2. steps 2..n: the first row of step k+1 after step k's row, in the order (time, rank, event name); the
    #    rank is 0 for an attempt's start row and otherwise the first later step the row matches
    rank = np.full(len(l_key), n, dtype=np.int64)
    for k in range(n - 1, 0, -1):
        rank[flags[k - 1]] = k
    start_inst = np.sort((att_uc * span + att_t) * e_mult + att_e)
    at = np.searchsorted(start_inst, inst_l) if len(start_inst) else np.zeros(len(inst_l), dtype=np.int64)
    is_start = start_inst[np.minimum(at, len(start_inst) - 1)] == inst_l
    rank[is_start] = 0
    l_pos = (l_key * (n + 1) + rank) * e_mult + l_e
    pos = ((att_uc * span + att_t) * (n + 1) + 0) * e_mult + att_e
    alive = np.ones(len(pos), dtype=bool)
    times = [att_t]
    for k in range(1, n):
        mk = flags[k - 1]
        keys = sort_keys(l_pos[mk])
        j = np.searchsorted(keys, pos, side="right")
        ok = alive & (j < len(keys))
        jj = np.where(ok, j, 0)
        hit = keys[jj] if len(keys) else np.zeros(len(pos), dtype=np.int64)
        ok &= (hit // ((n + 1) * e_mult * span)) == att_uc
        alive = ok
        pos = np.where(ok, hit, pos)
        times.append(np.where(ok, (hit // ((n + 1) * e_mult)) % span, -1))
    # 3. window limits last: a step counts only if the previous one did, within the window and its step window
    start_abs = (att_t + t0) * unit  # microseconds
    out = {
        "_u": ids[att_uc],  # users numbered from 0
        "_ucode": att_uc,  # in user order: the best-attempt step groups and sorts these
        "_a": att_a,
        "_start": start_abs.astype("datetime64[us]"),
        "_deadline": (start_abs + win * unit).astype("datetime64[us]"),
        "t1": start_abs.astype("datetime64[us]"),
    }
    ok = np.ones(len(pos), dtype=bool)
    for k in range(2, n + 1):
        tk = times[k - 1]
        ok = ok & (tk >= 0) & (tk <= att_t + win)
        sw = step_windows_hours[k - 2] if step_windows_hours and k - 2 < len(step_windows_hours) else None
        if sw:
            ok = ok & (tk <= times[k - 2] + int(round(sw * 3600)) * (1_000_000 // unit))
        col = np.where(ok, (tk + t0) * unit, 0).astype("datetime64[us]")
        col[~ok] = np.datetime64("NaT")
        out[f"t{k}"] = col
    return out, capped


def _flags(col, ee: np.ndarray, codes: list[int], n_names: int) -> np.ndarray:
    """A step's row flags: its ``_m<k>`` column when DuckDB computed one, else whether the row's event code
    ``ee`` is one of the step's ``codes`` (every code is in ``0..n_names-1``: the scan keeps only those events)."""
    if col is not None:
        return col.astype(bool, copy=False)
    if len(codes) <= 2:  # a comparison or two: a few times faster than the lookup table over 10M rows
        out = ee == codes[0]
        for c in codes[1:]:
            out |= ee == c
        return out
    lut = np.zeros(n_names, dtype=bool)
    lut[codes] = True
    return lut[ee]
