"""The DuckDB fast path of :func:`helpers.attribution.build_journeys`: the same journeys (every rule in
docs/attribution.md), with the touch-to-conversion assignment done in numpy instead of a window and a join.

DuckDB (through Ibis) selects the touches and the conversions and hands them over as Arrow tables; Arrow ranks
users and channels by their text (so the order is the portable path's; both in parallel threads), numpy sorts one
int64 key per touch (user rank, time, channel rank; the parts are read back from the sorted key) and finds, by
where each conversion's key falls among the sorted touches, how many of the user's conversions come strictly
before each touch: that is the touch's journey (a touch at the time of a conversion belongs to it); the look-back
drops the touches too early for their conversion. Journey ids are built once per journey; the touches' ``journey``
and ``channel`` are pandas categoricals over them (codes, no text per touch), which
:class:`helpers.attribution_models.Prepared` reads through their codes. tests/test_attribution.py and
tests/test_attribution_demo.py check the frames equal to the portable path's.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .arrays import array_work, as_us, sort_keys, time_unit
from .engine import on_duckdb

__all__ = ["applies", "journeys_fast"]


def applies(t) -> bool:
    """Whether the fast path can run: the touches run on DuckDB (or are in memory: a pandas frame or an Ibis
    memtable, which Ibis runs on its default backend, DuckDB)."""
    return on_duckdb(t)


def _ranked(col: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Codes of a text column in sorted order of its distinct values, and those values (sorted)."""
    enc = pc.dictionary_encode(col.cast(pa.string())).combine_chunks()
    order = pc.sort_indices(enc.dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return rank[codes], enc.dictionary.take(pa.array(order))


def _text(values: pa.Array, idx: np.ndarray) -> pd.Series:
    """``values[idx]`` as a pandas text column (taken in Arrow: no Python string per row)."""
    return values.take(pa.array(idx)).to_pandas()


@array_work()  # large numpy temporaries: no huge-page stalls, freed ones reused (helpers/arrays.py)
def journeys_fast(touches, conversions, *, lookback_days: float) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """:func:`helpers.attribution.build_journeys` on DuckDB (module docstring); same inputs and outputs, or None
    when the sort key would not fit in 62 bits (the caller then runs the portable path)."""
    from .engine import as_table

    t, c = as_table(touches), as_table(conversions)
    ta = t.select(user_id=t.user_id.cast("string"), ts=t.ts, channel=t.channel.cast("string")).to_pyarrow()
    ca = c.select(user_id=c.user_id.cast("string"), ts=c.ts, value=c.value.cast("float64")).to_pyarrow()
    n_t = ta.num_rows
    users = pa.chunked_array(ta["user_id"].chunks + ca["user_id"].chunks, type=pa.string())
    with ThreadPoolExecutor(2) as pool:  # Arrow's hashing releases the GIL: users and channels side by side
        (u_rank, u_values), (ch_rank, ch_values) = pool.map(_ranked, (users, ta["channel"]))
    tu, cu = u_rank[:n_t], u_rank[n_t:]
    tts, cts = as_us(ta["ts"]), as_us(ca["ts"])
    # times in the coarsest of seconds, milliseconds and microseconds that divides them all: a log stored to the
    # second fits a million times more users x time span in the key (helpers.arrays.time_unit). The look-back is
    # whole seconds, as on the portable path (it had been whole microseconds here: 1.0000001 days kept 2 touches
    # more), so every comparison stays exact
    look_us = int(round(lookback_days * 86400)) * 1_000_000
    unit = min(time_unit(tts), time_unit(cts))
    if unit > 1:
        tts, cts = tts // unit, cts // unit
    cval = np.nan_to_num(ca["value"].to_numpy(zero_copy_only=False).astype(float))
    n_u, n_ch = len(u_values), max(len(ch_values), 1)
    if not n_t or not len(cts):
        return None
    t0 = min(int(tts.min()), int(cts.min()))
    span = max(int(tts.max()), int(cts.max())) - t0 + 1
    if n_u * span * n_ch >= 2**62:
        return None
    # one int64 key (user, time, channel); a conversion sorts after every touch of its instant
    tkey = tu * span  # in place from here: every pass over the touches allocates as little as it can
    tkey += tts
    tkey -= t0
    tkey *= n_ch
    tkey += ch_rank
    ckey = (cu * span + (cts - t0)) * n_ch + (n_ch - 1)
    corder = np.lexsort((cval, ckey))  # conversions in (user, time, value) order: k = 1.. per user
    cu, cts, cval, ckey = cu[corder], cts[corder], cval[corder], ckey[corder]
    cstart = np.searchsorted(cu, np.arange(n_u + 1))  # conversions of user r: cstart[r] .. cstart[r + 1]
    # the touches in key order; user, time and channel are read back from the key (no gather by a permutation)
    sort_keys(tkey)  # in place; fast on logs already stored by user and time
    rest, ch_rank = np.divmod(tkey, n_ch)
    tu, tts = np.divmod(rest, span)
    tts += t0
    del rest
    # pos: the first conversion at or after the touch (global index) = how many conversion keys are below its key,
    # counted from where each conversion falls among the (sorted) touches: n_c lookups instead of n_t
    pos = np.cumsum(np.bincount(np.searchsorted(tkey, ckey, side="right"), minlength=n_t + 1)[:n_t])
    converting = pos < cstart[1:][tu]  # a conversion of the touch's own user is at or after it
    n_c = len(cts)
    look = look_us // unit
    lim = cts[np.minimum(pos, n_c - 1)]  # the look-back's start, applied once the journeys are numbered
    lim -= look
    keep = tts >= lim
    keep |= ~converting
    del lim
    # journeys: one per conversion, then one per user with touches after the last conversion, numbered in the
    # output order (user, then k; the non-converting one last); the touches carry their journey's number
    ck = np.arange(n_c) - cstart[cu] + 1
    seen = np.zeros(n_u, dtype=bool)
    seen[tu[~converting]] = True
    non_users = np.flatnonzero(seen)  # users with touches after their last conversion, in rank order
    non_j = np.cumsum(seen) - 1 + n_c  # a user's non-converting journey (numbered after the conversions)
    j_u = np.concatenate([cu, non_users])
    j_k = np.r_[ck, np.full(len(non_users), np.iinfo(np.int64).max)]
    jorder = np.lexsort((j_k, j_u))  # journey number -> its row in the output
    jrow = np.empty(len(jorder), dtype=np.int32 if len(jorder) < 2**31 else np.int64)  # the categorical codes
    jrow[jorder] = np.arange(len(jorder))
    jnum = non_j[tu]
    np.copyto(jnum, pos, where=converting)
    jidx = jrow[jnum]
    del jnum
    if not keep.all():
        jidx, ch_rank, tts = jidx[keep], ch_rank[keep], tts[keep]
    j_u, j_conv = j_u[jorder], jorder < n_c
    k_text = pc.cast(pa.array(np.where(j_conv, j_k[jorder], 0)), pa.string())
    k_text = pc.if_else(pa.array(j_conv), k_text, pa.scalar("-"))
    ids = pc.binary_join_element_wise(u_values.take(pa.array(j_u)), k_text, "#")
    ids = pd.Index(ids.to_pandas())
    tch = pd.DataFrame({
        "journey": pd.Categorical.from_codes(jidx, categories=ids, validate=False),
        "channel": pd.Categorical.from_codes(ch_rank, categories=pd.Index(ch_values.to_pandas()), validate=False),
        "ts": (tts * unit if unit > 1 else np.ascontiguousarray(tts)).view("datetime64[us]"),
    }, copy=False)  # fmt: skip
    nat = np.iinfo(np.int64).min
    src = jorder[j_conv]  # the conversion behind each converting row
    conv_ts = np.full(len(jorder), nat)
    conv_ts[j_conv] = cts[src] * unit
    value = np.zeros(len(jorder))
    value[j_conv] = cval[src]
    jr = pd.DataFrame({
        "journey": pd.Series(ids),
        "user_id": _text(u_values, j_u),
        "converted": j_conv,
        "value": value,
        "conv_ts": pd.to_datetime(conv_ts.astype("datetime64[us]")),
        "touches": np.bincount(jidx, minlength=len(jorder)).astype(int),
    })  # fmt: skip
    return tch, jr
