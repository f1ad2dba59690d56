"""The DuckDB fast path of :func:`helpers.attribution.build_journeys`: the same journeys (every rule in
docs/attribution.md), with the touch-to-conversion assignment done in numpy instead of a window and a join.

DuckDB (through Ibis) selects the touches and the conversions and hands them over as Arrow tables; numpy ranks
users and channels by their text (so the order is the portable path's), sorts the touches by (user, time,
channel) and finds, with one ``searchsorted`` on an int64 key (user rank, time rank), how many of the user's
conversions come strictly before each touch: that is the touch's journey (a touch at the time of a conversion
belongs to it); the look-back drops the touches too early for their conversion. Journey ids are built once per
journey and taken per touch (no per-touch text building). tests/test_attribution.py checks it equal to the
portable path.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["applies", "journeys_fast"]


def applies(t) -> bool:
    """Whether the fast path can run: the touches are on a DuckDB backend (or a pandas frame, read by DuckDB)."""
    if isinstance(t, pd.DataFrame):
        return True
    try:
        return t._find_backend().name == "duckdb"
    except Exception:  # an unbound expression or a backend without a name: the portable path
        return False


def _ranked(col: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Codes of a text column in sorted order of its distinct values, and those values (sorted)."""
    enc = pc.dictionary_encode(col.cast(pa.string())).combine_chunks()
    order = pc.sort_indices(enc.dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return rank[codes], enc.dictionary.take(pa.array(order))


def _us(col: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(col.to_numpy(), dtype="datetime64[us]").view("int64")


def _text(values: pa.Array, idx: np.ndarray) -> pd.Series:
    """``values[idx]`` as a pandas text column (taken in Arrow: no Python string per row)."""
    return values.take(pa.array(idx)).to_pandas()


def journeys_fast(touches, conversions, *, lookback_days: float) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """:func:`helpers.attribution.build_journeys` on DuckDB (module docstring); same inputs and outputs, or None
    when the sort key would not fit in 62 bits (the caller then runs the portable path)."""
    from .engine import as_table

    t, c = as_table(touches), as_table(conversions)
    ta = t.select(user_id=t.user_id.cast("string"), ts=t.ts, channel=t.channel.cast("string")).to_pyarrow()
    ca = c.select(user_id=c.user_id.cast("string"), ts=c.ts, value=c.value.cast("float64")).to_pyarrow()
    n_t = ta.num_rows
    users = pa.chunked_array(ta["user_id"].chunks + ca["user_id"].chunks, type=pa.string())
    u_rank, u_values = _ranked(users)
    tu, cu = u_rank[:n_t], u_rank[n_t:]
    tts, cts = _us(ta["ts"]), _us(ca["ts"])
    ch_rank, ch_values = _ranked(ta["channel"])
    cval = np.nan_to_num(ca["value"].to_numpy(zero_copy_only=False).astype(float))
    n_u, n_ch = len(u_values), max(len(ch_values), 1)
    if not n_t or not len(cts):
        return None
    t0 = min(int(tts.min()), int(cts.min()))
    span = max(int(tts.max()), int(cts.max())) - t0 + 1
    if n_u * span * n_ch >= 2**62:
        return None
    # one int64 key (user, time, channel); a conversion sorts after every touch of its instant
    tkey = (tu * span + (tts - t0)) * n_ch + ch_rank
    ckey = (cu * span + (cts - t0)) * n_ch + (n_ch - 1)
    corder = np.lexsort((cval, ckey))  # conversions in (user, time, value) order: k = 1.. per user
    cu, cts, cval, ckey = cu[corder], cts[corder], cval[corder], ckey[corder]
    cstart = np.searchsorted(cu, np.arange(n_u + 1))  # conversions of user r: cstart[r] .. cstart[r + 1]
    torder = np.argsort(tkey, kind="stable")  # fast on logs already sorted by user and time
    tkey, tu, tts, ch_rank = tkey[torder], tu[torder], tts[torder], ch_rank[torder]
    pos = np.searchsorted(ckey, tkey, side="left")  # the first conversion at or after the touch (global index)
    converting = pos < cstart[tu + 1]
    look = int(round(lookback_days * 86400 * 1_000_000))
    keep = ~converting | (tts >= cts[np.minimum(pos, len(cts) - 1)] - look)
    if not keep.all():
        tu, tts, ch_rank, converting, pos = (a[keep] for a in (tu, tts, ch_rank, converting, pos))
    # journeys: one per conversion, then one per user with touches after the last conversion
    n_c = len(cts)
    ck = np.arange(n_c) - cstart[cu] + 1
    u_text = u_values.to_numpy(zero_copy_only=False)
    non_users = np.unique(tu[~converting])
    ids = pa.array([f"{u}#{k}" for u, k in zip(u_text[cu], ck, strict=True)] + [f"{u}#-" for u in u_text[non_users]])
    jidx = np.where(converting, pos, n_c + np.searchsorted(non_users, tu))
    counts = np.bincount(jidx, minlength=n_c + len(non_users))
    tch = pd.DataFrame({"journey": _text(ids, jidx), "channel": _text(ch_values, ch_rank),
                        "ts": tts.astype("datetime64[us]")})  # fmt: skip
    nat = np.full(len(non_users), np.iinfo(np.int64).min)
    jr = pd.DataFrame({
        "journey": _text(ids, np.arange(len(ids))),
        "user_id": _text(u_values, np.concatenate([cu, non_users])),
        "converted": np.r_[np.ones(n_c, bool), np.zeros(len(non_users), bool)],
        "value": np.r_[cval, np.zeros(len(non_users))],
        "conv_ts": pd.to_datetime(np.r_[cts, nat].astype("datetime64[us]")),
        "touches": counts.astype(int),
        "_u": np.concatenate([cu, non_users]),
        "_k": np.r_[ck, np.full(len(non_users), np.iinfo(np.int64).max)],
    })  # fmt: skip
    jr = jr.sort_values(["_u", "_k"], kind="stable").drop(columns=["_u", "_k"]).reset_index(drop=True)
    return tch, jr
