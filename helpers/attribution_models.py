"""Attribution models on journeys (pure pandas/numpy; the journeys come from :mod:`helpers.attribution`).

A *journey* is one user's ordered touches (channels) before one conversion (``converted`` true, with its
``value``), or the touches after a user's last conversion (``converted`` false). Every model splits each
conversion (and its value) over channels so that a model's credits sum to the total conversions and value.

Inputs
------
``touches``: one row per touch, ``journey`` (id), ``channel`` (text), ``ts``; ordered by ``journey, ts``.
``journeys``: one row per journey, ``journey``, ``user_id``, ``converted`` (bool), ``value`` (float, 0 when not
converted), ``conv_ts`` (conversion time, NaT when not converted).

Rules (docs/attribution.md)
---------------------------
- first / last: all credit to the first / last touch; last non-direct: to the last touch whose channel is not the
  direct value (the last touch when every touch is direct);
- linear: equal shares over the touches (a channel touched twice gets two shares);
- position-based: ``first_weight`` to the first and ``last_weight`` to the last touch, the rest spread evenly
  over the middle touches; two touches split ``first_weight : last_weight`` normalised, one touch gets all;
- time decay: a touch ``t`` hours before the conversion weighs ``0.5 ** (t / half_life_hours)``, normalised;
- Markov (first order): states start, channels, conversion, null; the removal effect of a channel is
  ``1 - P(conversion without it) / P(conversion)``; credits are the removal effects normalised to the totals;
- Shapley: the value of a coalition ``S`` of channels is the conversion rate of the journeys that touched only
  channels in ``S``; each channel's Shapley value is scaled so that they sum to the total conversions. Exact up
  to :data:`SHAPLEY_EXACT_MAX` channels, permutation sampling (with a standard error) beyond.

Every model runs on :class:`Prepared` integer arrays (journey and channel codes, positions) with numpy
``bincount`` / ``reduceat``: no Python loop per journey or per touch. The bootstrap resamples users through
multinomial weights on per-user transition counts (Markov) and per-user channel-set counts (Shapley): the same
resamples, with the same seed, as copying the users' journeys (tests/test_attribution_vectorised.py checks both
against the former pandas implementation).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "Prepared",
    "RULE_MODELS",
    "DATA_MODELS",
    "SHAPLEY_EXACT_MAX",
    "rule_weights",
    "rule_credits",
    "markov_removal_effects",
    "markov_credits",
    "shapley_from_game",
    "shapley_values",
    "shapley_credits",
    "bootstrap_credits",
]

RULE_MODELS = ("first", "last", "last_non_direct", "linear", "position", "time_decay")
DATA_MODELS = ("markov", "shapley")
#: exact Shapley values up to this many channels (2**12 coalitions); sampled permutations beyond
SHAPLEY_EXACT_MAX = 12


def _arrow(s: pd.Series) -> pa.ChunkedArray:
    """A text column as Arrow strings (no copy for Arrow-backed columns)."""
    arr = pa.array(s, from_pandas=True) if not hasattr(s.array, "__arrow_array__") else s.array.__arrow_array__()
    arr = arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])
    return arr.cast(pa.large_string())


def _sorted_codes(col: pa.ChunkedArray | pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes of a text column numbered in sorted order of its distinct values, and those values (sorted). A pandas
    categorical column (the DuckDB fast path's touches) is read through its codes: only its categories are text."""
    if isinstance(col, pd.Series) and isinstance(col.dtype, pd.CategoricalDtype) and not col.isna().any():
        rank, values = _sorted_codes(_arrow(pd.Series(col.cat.categories)))
        used = np.bincount(col.cat.codes.to_numpy(), minlength=len(rank)) > 0
        keep = np.flatnonzero(used[np.argsort(rank)])  # sorted positions of the categories in use
        dense = np.full(len(values), -1, dtype=np.int64)
        dense[keep] = np.arange(len(keep))
        return dense[rank][col.cat.codes.to_numpy()], values[keep]
    if isinstance(col, pd.Series):
        col = _arrow(col)
    enc = pc.dictionary_encode(col).combine_chunks()
    order = pc.sort_indices(enc.dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return rank[codes], np.asarray(enc.dictionary.take(pa.array(order)).to_pylist(), dtype=object)


def _rows_in(col: pd.Series, ids: pd.Series) -> np.ndarray:
    """Each value's row in ``ids`` (unique), -1 when absent; a categorical column is matched through its
    categories (one lookup per category, not per row)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        per_cat = _rows_in(pd.Series(col.cat.categories), ids)
        codes = col.cat.codes.to_numpy()
        return per_cat[codes] if len(codes) and codes.min() >= 0 else np.where(codes >= 0, per_cat[codes], -1)
    jix = pc.index_in(_arrow(col), value_set=_arrow(ids))
    return np.asarray(jix.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


# ------------------------------------------------------------------------------------------- prepared journeys
class Prepared:
    """Touches and journeys as integer arrays, built once and read by every model (no per-journey Python loop).

    Journeys are numbered by their row in ``journeys``; channels by their sorted order over all ``touches``. The
    touches of journeys in ``journeys`` are kept, grouped by journey (stable: their order within a journey is
    the frame's): ``tj`` (journey number), ``tc`` (channel code), ``pos`` (position in the journey), ``n`` (touches
    per journey), ``ts`` (touch time). Users are numbered in order of first appearance in ``journeys``.
    """

    def __init__(self, touches: pd.DataFrame, journeys: pd.DataFrame, *, touch_rows: np.ndarray | None = None) -> None:
        """``touch_rows``: each touch's row in ``journeys`` (-1 when its journey is not there), when the caller
        knows it; otherwise the touches' journey ids are looked up in ``journeys``."""
        jr = journeys.reset_index(drop=True)
        self.journeys = jr
        self.n_j = len(jr)
        codes, self.channels = _sorted_codes(touches["channel"])
        self.k = len(self.channels)
        jix = _rows_in(touches["journey"], jr["journey"]) if touch_rows is None else touch_rows
        ts = touches["ts"].to_numpy()
        if (jix >= 0).all() and (jix[1:] >= jix[:-1]).all():  # every touch kept, already grouped: no gather
            self.rows, self.tj, self.tc, self.ts = np.arange(len(jix)), jix, codes, ts
        else:
            keep = np.flatnonzero(jix >= 0)
            sub = jix[keep]
            order = keep if (sub[1:] >= sub[:-1]).all() else keep[np.argsort(sub, kind="stable")]
            self.rows = order  # positions in ``touches`` of the kept touches, grouped by journey
            self.tj, self.tc, self.ts = jix[order], codes[order], ts[order]
        self.n = np.bincount(self.tj, minlength=self.n_j)
        self.start = np.concatenate([[0], np.cumsum(self.n)[:-1]]).astype(np.int64)
        self.pos = np.arange(len(self.tj))
        self.pos -= self.start[self.tj]
        self.converted = jr["converted"].to_numpy(bool)
        self.value = jr["value"].to_numpy(float)
        self.user, self.users = pd.factorize(jr["user_id"])
        self._conv: dict[str, np.ndarray] | None = None
        self._cells: tuple[np.ndarray, np.ndarray] | None = None
        self._conv_ts: np.ndarray | None = None

    def _view(self, converting: bool) -> dict[str, np.ndarray]:
        """The kept touches (all, or those of converting journeys: cached) as arrays ``tj tc pos n ts``."""
        if not converting:
            return {"tj": self.tj, "tc": self.tc, "pos": self.pos, "n": self.n[self.tj], "ts": self.ts}
        if self._conv is None:
            i = np.flatnonzero(self.converted[self.tj])
            tj = self.tj[i]
            self._conv = {"tj": tj, "tc": self.tc[i], "pos": self.pos[i], "n": self.n[tj], "ts": self.ts[i],
                          "val": self.value[tj]}  # fmt: skip
        return self._conv

    # --- rule-based
    def rule_weights(self, model: str, *, direct: str | None = "直接访问", first_weight: float = 0.4,
                     last_weight: float = 0.4, half_life_hours: float = 168.0,
                     converting: bool = False) -> np.ndarray:  # fmt: skip
        """Each kept touch's share of its journey (order of ``tj``; with ``converting`` only the touches of the
        converting journeys); rules in the module docstring."""
        if model not in RULE_MODELS:
            raise ValueError(f"attribution model must be one of {', '.join(RULE_MODELS)}, got {model!r}")
        v = self._view(converting)
        tj, pos, n = v["tj"], v["pos"], v["n"]
        if model == "first":
            return (pos == 0).astype(float)
        if model == "last" or (model == "last_non_direct" and direct is None):
            return (pos == n - 1).astype(float)
        if model == "last_non_direct":
            d = np.flatnonzero(self.channels == direct)
            nd = v["tc"] != d[0] if len(d) else np.ones(len(pos), bool)
            last_nd = np.full(self.n_j, -1, dtype=np.int64)
            np.maximum.at(last_nd, tj[nd], pos[nd])
            pick = last_nd[tj]
            return (pos == np.where(pick >= 0, pick, n - 1)).astype(float)
        if model == "linear":
            return 1.0 / n
        if model == "position":
            is_first, is_last = pos == 0, pos == n - 1
            middle = (1.0 - first_weight - last_weight) / np.maximum(n - 2, 1)
            w = np.where(is_first, first_weight, np.where(is_last, last_weight, middle))
            two = np.where(is_first, first_weight, last_weight) / (first_weight + last_weight)
            return np.where(n == 1, 1.0, np.where(n == 2, two, w))
        # hours before the conversion, as (conversion - touch) / 1 s / 3600 in the finer time unit of the two,
        # computed in place on integer times (the same numbers as numpy's datetime arithmetic)
        ts = v["ts"]
        if self._conv_ts is None:  # per journey, once (NaT when not converted)
            self._conv_ts = pd.to_datetime(self.journeys["conv_ts"]).to_numpy()
        unit = np.promote_types(self._conv_ts.dtype, ts.dtype)
        d = self._conv_ts.astype(unit, copy=False).view(np.int64)[tj]
        d -= ts.astype(unit, copy=False).view(np.int64)
        x = d.astype(float)
        del d
        x /= float(np.array(1, "m8[s]").astype(f"m8[{np.datetime_data(unit)[0]}]").astype(np.int64))  # units per s
        x /= 3600.0
        if not converting:
            x[np.isnat(self._conv_ts)[tj]] = np.nan
        np.clip(x, 0, None, out=x)
        x /= half_life_hours
        np.power(0.5, x, out=x)
        x /= np.bincount(tj, weights=x, minlength=self.n_j)[tj]
        return x

    def _by_journey(self) -> dict[str, np.ndarray]:
        """Per converting journey with a touch: first and last channel, touch count, value, and (when small
        enough) its touches per channel ``cnt`` (journeys x channels)."""
        v = self._view(True)
        if "cj" not in v:
            cj = np.flatnonzero(self.converted & (self.n > 0))
            v["cj"], v["first"], v["last"] = cj, self.tc[self.start[cj]], self.tc[self.start[cj] + self.n[cj] - 1]
            v["jn"], v["jval"] = self.n[cj].astype(float), self.value[cj]
            v["seen"] = np.bincount(v["tc"], minlength=self.k) > 0
            if len(cj) * self.k <= 20_000_000:
                row_of = np.zeros(self.n_j, dtype=np.int64)
                row_of[cj] = np.arange(len(cj))
                row = row_of[v["tj"]]  # every converting touch's journey is in cj
                v["cnt"] = np.bincount(row * self.k + v["tc"], minlength=len(cj) * self.k).reshape(len(cj), self.k)
        return v

    def rule_credits(self, model: str, *, first_weight: float = 0.4, last_weight: float = 0.4, **kw) -> pd.DataFrame:
        """:func:`rule_credits` on the prepared arrays: first, last, linear and position-based from each journey's
        first and last channel and touches per channel; the others per touch."""
        v = self._by_journey()
        if not len(v["tj"]):
            return pd.DataFrame(columns=["channel", "conversions", "value"])
        k, fst, lst, n, val = self.k, v["first"], v["last"], v["jn"], v["jval"]

        def per(ch, w):  # credited conversions and value of weights ``w`` on channels ``ch`` (one per journey)
            return np.bincount(ch, weights=w, minlength=k), np.bincount(ch, weights=w * val, minlength=k)

        if model in ("first", "last"):
            c, x = per(fst if model == "first" else lst, np.ones(len(n)))
        elif model == "last_non_direct":
            c, x = per(self._last_non_direct(kw.get("direct", "直接访问")), np.ones(len(n)))
        elif model in ("linear", "position") and "cnt" in v:
            cnt = v["cnt"]
            if model == "linear":
                c, x = (cnt / n[:, None]).sum(axis=0), (cnt * (val / n)[:, None]).sum(axis=0)
            else:
                fw, lw = first_weight, last_weight
                a = np.where(n == 1, 1.0, np.where(n == 2, fw / (fw + lw), fw))
                b = np.where(n == 1, 0.0, np.where(n == 2, lw / (fw + lw), lw))
                m = np.where(n >= 3, (1.0 - fw - lw) / np.maximum(n - 2, 1), 0.0)
                (c1, x1), (c2, x2), (c3, x3), (c4, x4) = per(fst, a), per(lst, b), per(fst, m), per(lst, m)
                c = c1 + c2 + (cnt * m[:, None]).sum(axis=0) - c3 - c4
                x = x1 + x2 + (cnt * (m * val)[:, None]).sum(axis=0) - x3 - x4
        else:
            w = self.rule_weights(model, converting=True, first_weight=first_weight, last_weight=last_weight, **kw)
            c = np.bincount(v["tc"], weights=w, minlength=k)
            x = np.bincount(v["tc"], weights=w * v["val"], minlength=k)
        seen = v["seen"]
        return pd.DataFrame({"channel": self.channels[seen], "conversions": c[seen], "value": x[seen]})

    def _last_non_direct(self, direct: str | None) -> np.ndarray:
        """Per converting journey with a touch (order of ``cj``): the channel of its last touch whose channel is
        not ``direct``, or of its last touch when there is none."""
        v = self._by_journey()
        d = np.flatnonzero(self.channels == direct) if direct is not None else np.zeros(0, np.int64)
        if not len(d):
            return v["last"]
        nd = np.flatnonzero(v["tc"] != d[0])  # converting touches, grouped by journey, in order within it
        r = v["tj"][nd]
        end = np.flatnonzero(np.r_[r[1:] != r[:-1], True]) if len(r) else np.zeros(0, np.int64)
        pick = np.full(self.n_j, -1, dtype=np.int64)
        pick[r[end]] = nd[end]  # the last non-direct touch of each journey that has one
        at = pick[v["cj"]]
        return np.where(at >= 0, v["tc"][np.maximum(at, 0)], v["last"])

    # --- Markov: transition counts per user (cells of the (k + 1) x (k + 2) count matrix)
    def transition_cells(self) -> tuple[np.ndarray, np.ndarray]:
        """Every transition of every journey with a touch as ``(cell, journey)``: start -> first channel, channel ->
        next channel, last channel -> conversion or null; ``cell = row * (k + 2) + column`` (cached)."""
        if self._cells is None:
            k, tc, width = self.k, self.tc, self.k + 2
            has = np.flatnonzero(self.n)
            into = np.empty(len(tc), dtype=np.int64)  # (1 + previous channel) * width + channel, in place
            into[1:] = tc[:-1]
            into[:1] = -1
            into += 1
            into *= width
            into += tc
            into[self.start[has]] = tc[self.start[has]]  # a journey's first touch comes from the start (row 0)
            ends = (1 + tc[self.start[has] + self.n[has] - 1]) * width + np.where(self.converted[has], k, k + 1)
            self._cells = np.concatenate([into, ends]), np.concatenate([self.tj, has])
        return self._cells

    # --- Shapley: the set of channels of each journey with a touch
    def journey_masks(self) -> tuple[np.ndarray, np.ndarray]:
        """``(journey numbers, bitmask of their channels)`` for the journeys with a touch."""
        if self.k > 62:
            raise ValueError(f"Shapley attribution supports at most 62 channels, got {self.k}: group channels "
                             "(attribution.touch_col) or narrow attribution.touch_events")  # fmt: skip
        has = np.flatnonzero(self.n > 0)
        if not len(has):
            return has, np.zeros(0, np.int64)
        bits = np.left_shift(np.int64(1), self.tc)
        return has, np.bitwise_or.reduceat(bits, self.start[has])


def _removal_from_counts(channels, counts: np.ndarray) -> pd.DataFrame:
    k = len(channels)
    out = pd.DataFrame({"channel": list(channels), "removal_effect": np.nan})
    base = _conversion_probability(counts) if k else 0.0
    if base > 0:
        out["removal_effect"] = [1.0 - _conversion_probability(counts, i) / base for i in range(k)]
    out.attrs["p_conversion"] = base
    return out


def _markov_from_counts(channels: np.ndarray, full: np.ndarray, total: float, value: float) -> pd.DataFrame:
    """Markov credits from a ``(K + 1) x (K + 2)`` count matrix over every channel; channels never left (absent
    from these journeys) are dropped, as if the chain were built on the present ones only."""
    k = len(channels)
    present = np.flatnonzero(full[1:].sum(axis=1) > 0)
    counts = full[np.r_[0, 1 + present]][:, np.r_[present, k, k + 1]]
    re = _removal_from_counts(channels[present], counts)
    s = re["removal_effect"].sum()
    share = re["removal_effect"] / s if s > 0 else re["removal_effect"] * np.nan
    return re.assign(conversions=share * total, value=share * value)[["channel", "conversions", "value",
                                                                      "removal_effect"]]  # fmt: skip


def _compress(masks: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Masks over all channels rewritten over the ``present`` channels only (bit j = the j-th present one)."""
    out = np.zeros_like(masks)
    for j, i in enumerate(present):
        out |= ((masks >> int(i)) & 1) << j
    return out


def _shapley_from_sets(channels, masks, n, conv, total, value, *, all_channels: bool, exact_max, samples, seed):
    """Shapley credits from journey counts and conversions per channel set (``masks`` over every channel)."""
    used = masks[n > 0]
    seen = np.zeros(len(channels), bool)
    for i in range(len(channels)):
        seen[i] = bool(((used >> i) & 1).any())
    present = np.arange(len(channels)) if all_channels else np.flatnonzero(seen)
    keep = n > 0
    m = masks[keep] if all_channels else _compress(masks[keep], present)
    order = np.argsort(m, kind="stable")
    sets = pd.DataFrame({"mask": m[order], "n": n[keep][order], "conv": conv[keep][order]})
    phi, se, exact = shapley_from_game(len(present), _rate_of(sets), exact_max=exact_max, samples=samples, seed=seed)
    sv = pd.DataFrame({"channel": list(channels[present]), "shapley": phi, "se": se})
    sv.attrs["exact"] = exact
    s = sv["shapley"].sum()
    share = sv["shapley"] / s if s else sv["shapley"] * np.nan
    return sv.assign(conversions=share * total, value=share * value, se=sv["se"] / s * total if s else np.nan)[
        ["channel", "conversions", "value", "shapley", "se"]
    ], sv


def _conversion_probability(counts: np.ndarray, removed: int | None = None) -> float:
    """P(absorbed in conversion from start) of the chain with transition ``counts`` (rows: start, channels;
    columns: channels, conversion, null); a removed channel sends everything into null."""
    k = counts.shape[0] - 1  # channels
    rows = counts.sum(axis=1, keepdims=True)
    p = np.divide(counts, rows, out=np.zeros_like(counts, dtype=float), where=rows > 0)
    p[1:][rows[1:, 0] == 0, -1] = 1.0  # a channel never left (cannot happen with complete paths): null
    if removed is not None:
        p[:, removed] = 0.0  # nobody reaches it ...
        p[1 + removed, :] = 0.0
        p[1 + removed, -1] = 1.0  # ... and were they there, they would go to null
        p[0, -1] += 1.0 - p[0].sum()
        p[1:, -1] += 1.0 - p[1:].sum(axis=1)
    q = p[1:, :k]  # channel -> channel
    r = p[1:, k]  # channel -> conversion
    x = np.linalg.solve(np.eye(k) - q, r)  # absorption probability into conversion from each channel
    return float(p[0, k] + p[0, :k] @ x)


def _rate_of(sets: pd.DataFrame):
    masks, n, conv = sets["mask"].to_numpy(np.int64), sets["n"].to_numpy(float), sets["conv"].to_numpy(float)
    cache: dict[int, float] = {}

    def v(s: int) -> float:
        if s not in cache:
            inside = (masks & ~s) == 0
            tot = n[inside].sum()
            cache[s] = float(conv[inside].sum() / tot) if tot else 0.0
        return cache[s]

    return v


def shapley_from_game(k: int, v, *, exact_max: int = SHAPLEY_EXACT_MAX, samples: int = 2000, seed=0):
    """Shapley values of the ``k`` players of the game ``v`` (a function of a bitmask of players).

    Exact (the weighted sum over every coalition) when ``k <= exact_max``; else the mean marginal contribution
    over ``samples`` random orders, with its standard error (each order's contributions sum to ``v(all)``, so the
    estimates sum to it exactly).

    Returns
    -------
    ``(phi, se, exact)``: arrays of length ``k`` (``se`` NaN when exact) and whether it was exact.
    """
    phi, se = np.zeros(k), np.full(k, np.nan)
    if k <= exact_max:
        fact = [math.factorial(i) for i in range(k + 1)]
        for s in range(1 << k):
            size = bin(s).count("1")
            vs = v(s)
            for i in range(k):
                if not s >> i & 1:
                    phi[i] += fact[size] * fact[k - size - 1] / fact[k] * (v(s | 1 << i) - vs)
        return phi, se, True
    rng = np.random.default_rng(seed)
    contrib = np.zeros((samples, k))
    for m in range(samples):
        s, prev = 0, 0.0
        for i in rng.permutation(k):
            s |= 1 << int(i)
            cur = v(s)
            contrib[m, i] = cur - prev
            prev = cur
    return contrib.mean(axis=0), contrib.std(axis=0, ddof=1) / math.sqrt(samples), False


# ------------------------------------------------------------------------------------------- public API
def rule_weights(touches: pd.DataFrame, journeys: pd.DataFrame, model: str, **kw) -> pd.Series:
    """Each touch's share of its journey's conversion under a rule-based ``model`` (sums to 1 per journey; the
    touch's position counts in the frame's order within its journey). ``kw``: ``direct``, ``first_weight``,
    ``last_weight``, ``half_life_hours``.

    Returns
    -------
    Series aligned with ``touches`` (its index): the touch's share.
    """
    ids = pd.DataFrame({"journey": pd.unique(touches["journey"])})
    jr = ids.merge(journeys[["journey", "conv_ts"]].drop_duplicates("journey"), on="journey", how="left")
    p = Prepared(touches, jr.assign(user_id=jr["journey"], converted=True, value=0.0))
    w = np.full(len(touches), np.nan)
    w[p.rows] = p.rule_weights(model, **kw)
    return pd.Series(w, index=touches.index)


def rule_credits(touches: pd.DataFrame, journeys: pd.DataFrame, model: str, **kw) -> pd.DataFrame:
    """Credits per channel of a rule-based model over the converting journeys.

    Returns
    -------
    DataFrame ``channel``, ``conversions`` (credited conversions), ``value`` (credited value).
    """
    return Prepared(touches, journeys).rule_credits(model, **kw)


def markov_removal_effects(paths: list[tuple[str, ...]], converted: np.ndarray) -> pd.DataFrame:
    """First-order Markov removal effects of explicit paths (small inputs; the report counts transitions with
    :meth:`Prepared.transition_cells`).

    Each path is ``start -> c1 -> ... -> ck -> (conversion | null)``; transition probabilities are the observed
    transition counts normalised per state (repeated channels are kept: a self-loop is a transition).

    Returns
    -------
    DataFrame ``channel``, ``removal_effect`` (``1 - P_without / P``), sorted by channel; ``attrs["p_conversion"]``.
    """
    channels = sorted({c for p in paths for c in p})
    idx = {c: i for i, c in enumerate(channels)}
    k = len(channels)
    counts = np.zeros((k + 1, k + 2))
    for p, conv in zip(paths, converted, strict=True):
        if not p:
            continue
        states = [idx[c] for c in p]
        counts[0, states[0]] += 1
        for a, b in zip(states[:-1], states[1:], strict=True):
            counts[1 + a, b] += 1
        counts[1 + states[-1], k if conv else k + 1] += 1
    return _removal_from_counts(channels, counts)


def _totals(p: Prepared) -> tuple[float, float]:
    return float(p.converted.sum()), float(p.value[p.converted].sum())


def markov_credits(touches: pd.DataFrame, journeys: pd.DataFrame, *, prep: Prepared | None = None) -> pd.DataFrame:
    """Markov credits: removal effects normalised to the total conversions and value.

    Returns
    -------
    DataFrame ``channel``, ``conversions``, ``value``, ``removal_effect``.
    """
    p = prep or Prepared(touches, journeys)
    cells, _ = p.transition_cells()
    full = np.bincount(cells, minlength=(p.k + 1) * (p.k + 2)).reshape(p.k + 1, p.k + 2).astype(float)
    return _markov_from_counts(p.channels, full, *_totals(p))


def _shapley(p: Prepared, *, exact_max: int, samples: int, seed) -> tuple[pd.DataFrame, pd.DataFrame]:
    has, masks = p.journey_masks()
    um, inv = np.unique(masks, return_inverse=True)
    n = np.bincount(inv, minlength=len(um)).astype(float)
    conv = np.bincount(inv, weights=p.converted[has].astype(float), minlength=len(um))
    return _shapley_from_sets(p.channels, um, n, conv, *_totals(p), all_channels=True, exact_max=exact_max,
                              samples=samples, seed=seed)  # fmt: skip


def shapley_values(
    touches: pd.DataFrame, journeys: pd.DataFrame, *, exact_max: int = SHAPLEY_EXACT_MAX, samples: int = 2000, seed=0
) -> pd.DataFrame:
    """Shapley values of the channels for ``v(S)`` = conversion rate of the journeys whose channels are all in S
    (``v(empty) = 0``), exact for up to ``exact_max`` channels, else the mean marginal contribution over
    ``samples`` random channel orders.

    Returns
    -------
    DataFrame ``channel``, ``shapley`` (sums to ``v(all channels)``), ``se`` (NaN when exact), sorted by channel;
    ``attrs["exact"]``.
    """
    return _shapley(Prepared(touches, journeys), exact_max=exact_max, samples=samples, seed=seed)[1]


def shapley_credits(touches: pd.DataFrame, journeys: pd.DataFrame, *, prep: Prepared | None = None,
                    exact_max: int = SHAPLEY_EXACT_MAX, samples: int = 2000, seed=0) -> pd.DataFrame:  # fmt: skip
    """Shapley credits scaled to the total conversions and value.

    Returns
    -------
    DataFrame ``channel``, ``conversions``, ``value``, ``shapley``, ``se`` (in conversions); ``attrs["exact"]``.
    """
    c, sv = _shapley(prep or Prepared(touches, journeys), exact_max=exact_max, samples=samples, seed=seed)
    c.attrs["exact"] = sv.attrs["exact"]
    return c


def _pair_counts(key: np.ndarray, space: int, weights: np.ndarray | None = None):
    """Distinct ``key`` values (sorted), their counts and summed ``weights``: a dense ``bincount`` when the key
    space is small, else a sort."""
    if space <= 50_000_000:
        cnt = np.bincount(key, minlength=space)
        uk = np.flatnonzero(cnt)
        w = np.bincount(key, weights=weights, minlength=space)[uk] if weights is not None else None
        return uk, cnt[uk], w
    uk, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
    w = np.bincount(inv, weights=weights, minlength=len(uk)) if weights is not None else None
    return uk, cnt, w


# ------------------------------------------------------------------------------------------- bootstrap
def bootstrap_credits(touches: pd.DataFrame, journeys: pd.DataFrame, model, *, reps: int = 20, seed: int = 0,
                      level: float = 0.95, prep: Prepared | None = None, exact_max: int = SHAPLEY_EXACT_MAX,
                      samples: int = 2000, shapley_seed=None) -> pd.DataFrame:  # fmt: skip
    """Percentile intervals of a data-driven model's conversions credits over users resampled with replacement
    (all of a user's journeys together), ``reps`` times with ``seed``.

    ``model``: ``"markov"`` or ``"shapley"`` (or :func:`markov_credits` / :func:`shapley_credits`). A resample
    draws ``len(users)`` users uniformly with replacement (``rng.integers``), i.e. multinomial weights ``w_u``
    per user; the model is refitted on the per-user counts (Markov transitions, Shapley channel sets and
    conversions) summed with the weights, equal to refitting it on the copied journeys. Shapley resamples use
    ``shapley_seed`` (default ``seed``) for their sampled orders.

    Returns
    -------
    DataFrame ``channel``, ``ci_low``, ``ci_high`` (credited conversions), ``reps``.
    """
    name = {markov_credits: "markov", shapley_credits: "shapley"}.get(model, model)
    if name not in DATA_MODELS:
        raise ValueError(f"bootstrap model must be one of {', '.join(DATA_MODELS)}, got {model!r}")
    p = prep or Prepared(touches, journeys)
    n_u = len(p.users)
    conv_u = np.bincount(p.user, weights=p.converted.astype(float), minlength=n_u)
    if name == "markov":
        cells, jn = p.transition_cells()
        size = (p.k + 1) * (p.k + 2)
        uk, cnt, _ = _pair_counts(p.user[jn].astype(np.int64) * size + cells, n_u * size)
        ku, kc = uk // size, uk % size

        def fit(w: np.ndarray) -> pd.DataFrame:
            full = np.bincount(kc, weights=w[ku] * cnt, minlength=size).reshape(p.k + 1, p.k + 2)
            return _markov_from_counts(p.channels, full, float(w @ conv_u), 0.0)

    else:
        has, masks = p.journey_masks()
        um, inv = np.unique(masks, return_inverse=True)
        m = max(len(um), 1)
        key = p.user[has].astype(np.int64) * m + inv
        uk, cnt, convs = _pair_counts(key, n_u * m, p.converted[has].astype(float))
        ku, km = uk // m, uk % m
        sseed = seed if shapley_seed is None else shapley_seed

        def fit(w: np.ndarray) -> pd.DataFrame:
            n = np.bincount(km, weights=w[ku] * cnt, minlength=len(um))
            c = np.bincount(km, weights=w[ku] * convs, minlength=len(um))
            return _shapley_from_sets(p.channels, um, n, c, float(w @ conv_u), 0.0, all_channels=False,
                                      exact_max=exact_max, samples=samples, seed=sseed)[0]  # fmt: skip

    rng = np.random.default_rng(seed)
    rows = []
    for r in range(reps):
        w = np.bincount(rng.integers(0, n_u, size=n_u), minlength=n_u).astype(float)
        rows.append(fit(w)[["channel", "conversions"]].assign(rep=r))
    if not rows:
        return pd.DataFrame(columns=["channel", "ci_low", "ci_high", "reps"])
    b = pd.concat(rows, ignore_index=True)
    a = (1 - level) / 2
    out = b.groupby("channel")["conversions"].quantile([a, 1 - a]).unstack()
    out.columns = ["ci_low", "ci_high"]
    return out.reset_index().assign(reps=reps)
