"""The former pandas implementation of helpers/attribution_models.py (per-journey groupby lambdas, a Python loop
per path and per resampled user), kept verbatim as the reference that tests/test_attribution_vectorised.py checks
the vectorised models against."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

RULE_MODELS = ("first", "last", "last_non_direct", "linear", "position", "time_decay")
DATA_MODELS = ("markov", "shapley")
#: exact Shapley values up to this many channels (2**12 coalitions); sampled permutations beyond
SHAPLEY_EXACT_MAX = 12


# ------------------------------------------------------------------------------------------- rule-based
def rule_weights(
    touches: pd.DataFrame,
    journeys: pd.DataFrame,
    model: str,
    *,
    direct: str | None = "直接访问",
    first_weight: float = 0.4,
    last_weight: float = 0.4,
    half_life_hours: float = 168.0,
) -> pd.Series:
    """Each touch's share of its journey's conversion under a rule-based ``model`` (sums to 1 per journey).

    Returns
    -------
    Series aligned with ``touches`` (its index): the touch's share.
    """
    if model not in RULE_MODELS:
        raise ValueError(f"attribution model must be one of {', '.join(RULE_MODELS)}, got {model!r}")
    t = touches.reset_index(drop=True)
    j = t["journey"]
    pos = t.groupby("journey").cumcount().to_numpy()
    n = j.map(t.groupby("journey").size()).to_numpy()
    is_first, is_last = pos == 0, pos == n - 1
    if model == "first":
        w = is_first.astype(float)
    elif model == "last":
        w = is_last.astype(float)
    elif model == "last_non_direct":
        nd = (t["channel"] != direct).to_numpy() if direct is not None else np.ones(len(t), bool)
        # the last non-direct touch of each journey, or its last touch when all are direct
        last_nd = pd.Series(np.where(nd, pos, -1)).groupby(j.to_numpy()).transform("max").to_numpy()
        pick = np.where(last_nd >= 0, last_nd, n - 1)
        w = (pos == pick).astype(float)
    elif model == "linear":
        w = 1.0 / n
    elif model == "position":
        mid = np.maximum(n - 2, 1)
        middle = (1.0 - first_weight - last_weight) / mid
        w = np.where(is_first, first_weight, np.where(is_last, last_weight, middle))
        two = n == 2
        w = np.where(two, np.where(is_first, first_weight, last_weight) / (first_weight + last_weight), w)
        w = np.where(n == 1, 1.0, w)
    else:  # time_decay
        conv = pd.to_datetime(j.map(journeys.set_index("journey")["conv_ts"]))
        hours = (conv - pd.to_datetime(t["ts"])).dt.total_seconds().to_numpy() / 3600.0
        raw = np.power(0.5, np.clip(hours, 0, None) / half_life_hours)
        w = raw / pd.Series(raw).groupby(j.to_numpy()).transform("sum").to_numpy()
    return pd.Series(np.asarray(w, dtype=float), index=touches.index)


def rule_credits(touches: pd.DataFrame, journeys: pd.DataFrame, model: str, **kw) -> pd.DataFrame:
    """Credits per channel of a rule-based model over the converting journeys.

    Returns
    -------
    DataFrame ``channel``, ``conversions`` (credited conversions), ``value`` (credited value).
    """
    conv = journeys[journeys["converted"]]
    t = touches[touches["journey"].isin(conv["journey"])]
    if t.empty:
        return pd.DataFrame(columns=["channel", "conversions", "value"])
    w = rule_weights(t, conv, model, **kw)
    val = t["journey"].map(conv.set_index("journey")["value"]).astype(float)
    out = pd.DataFrame({"channel": t["channel"], "conversions": w, "value": w * val})
    return out.groupby("channel", as_index=False)[["conversions", "value"]].sum()


# ------------------------------------------------------------------------------------------- Markov
def _paths(touches: pd.DataFrame, journeys: pd.DataFrame) -> tuple[list[tuple[str, ...]], np.ndarray]:
    seqs = touches.groupby("journey", sort=False)["channel"].agg(tuple)
    js = journeys[journeys["journey"].isin(seqs.index)]
    return [seqs[k] for k in js["journey"]], js["converted"].to_numpy(bool)


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


def markov_removal_effects(paths: list[tuple[str, ...]], converted: np.ndarray) -> pd.DataFrame:
    """First-order Markov removal effects.

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
    out = pd.DataFrame({"channel": channels, "removal_effect": np.nan})
    base = _conversion_probability(counts) if k else 0.0
    if base > 0:
        out["removal_effect"] = [1.0 - _conversion_probability(counts, i) / base for i in range(k)]
    out.attrs["p_conversion"] = base
    return out


def markov_credits(touches: pd.DataFrame, journeys: pd.DataFrame) -> pd.DataFrame:
    """Markov credits: removal effects normalised to the total conversions and value.

    Returns
    -------
    DataFrame ``channel``, ``conversions``, ``value``, ``removal_effect``.
    """
    paths, conv = _paths(touches, journeys)
    re = markov_removal_effects(paths, conv)
    total = float(journeys["converted"].sum())
    value = float(journeys.loc[journeys["converted"], "value"].sum())
    s = re["removal_effect"].sum()
    share = re["removal_effect"] / s if s > 0 else re["removal_effect"] * np.nan
    return re.assign(conversions=share * total, value=share * value)[["channel", "conversions", "value",
                                                                      "removal_effect"]]  # fmt: skip


# ------------------------------------------------------------------------------------------- Shapley
def _coalition_table(touches: pd.DataFrame, journeys: pd.DataFrame) -> tuple[list[str], pd.DataFrame]:
    """Channels and, per distinct set of channels touched (a bitmask), journeys and conversions."""
    channels = sorted(touches["channel"].unique())
    bit = {c: 1 << i for i, c in enumerate(channels)}
    mask = (
        touches.assign(b=touches["channel"].map(bit))
        .groupby("journey")["b"]
        .agg(lambda s: int(np.bitwise_or.reduce(s.unique())))
    )
    j = journeys[journeys["journey"].isin(mask.index)]
    g = pd.DataFrame({"mask": j["journey"].map(mask).to_numpy(), "conv": j["converted"].to_numpy(float)})
    return channels, g.groupby("mask", as_index=False).agg(n=("conv", "size"), conv=("conv", "sum"))


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
    channels, sets = _coalition_table(touches, journeys)
    phi, se, exact = shapley_from_game(len(channels), _rate_of(sets), exact_max=exact_max, samples=samples, seed=seed)
    out = pd.DataFrame({"channel": channels, "shapley": phi, "se": se})
    out.attrs["exact"] = exact
    return out


def shapley_credits(touches: pd.DataFrame, journeys: pd.DataFrame, **kw) -> pd.DataFrame:
    """Shapley credits scaled to the total conversions and value.

    Returns
    -------
    DataFrame ``channel``, ``conversions``, ``value``, ``shapley``, ``se`` (in conversions).
    """
    sv = shapley_values(touches, journeys, **kw)
    total = float(journeys["converted"].sum())
    value = float(journeys.loc[journeys["converted"], "value"].sum())
    s = sv["shapley"].sum()
    share = sv["shapley"] / s if s else sv["shapley"] * np.nan
    return sv.assign(conversions=share * total, value=share * value, se=sv["se"] / s * total if s else np.nan)[
        ["channel", "conversions", "value", "shapley", "se"]
    ]


# ------------------------------------------------------------------------------------------- bootstrap
def bootstrap_credits(touches: pd.DataFrame, journeys: pd.DataFrame, model, *, reps: int = 20, seed: int = 0,
                      level: float = 0.95) -> pd.DataFrame:  # fmt: skip
    """Percentile intervals of ``model(touches, journeys)``'s conversions credits over users resampled with
    replacement (all of a user's journeys together), ``reps`` times with ``seed``.

    Returns
    -------
    DataFrame ``channel``, ``ci_low``, ``ci_high`` (credited conversions), ``reps``.
    """
    jr = journeys.reset_index(drop=True)
    t = touches[touches["journey"].isin(jr["journey"])].reset_index(drop=True)
    jpos = pd.Series(np.arange(len(jr)), index=jr["journey"].to_numpy())
    tj = jpos[t["journey"].to_numpy()].to_numpy()  # journey position of each touch
    order = np.argsort(tj, kind="stable")
    start = np.searchsorted(tj[order], np.arange(len(jr)))
    length = np.bincount(tj, minlength=len(jr))
    codes, users = pd.factorize(jr["user_id"])
    user_j = pd.Series(np.arange(len(jr))).groupby(codes).agg(list)
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(reps):
        pick = rng.integers(0, len(users), size=len(users))
        js = np.concatenate([np.asarray(user_j[u], dtype=np.int64) for u in pick]) if len(pick) else np.array([], int)
        bj = jr.iloc[js].assign(journey=np.arange(len(js)))
        counts = length[js]
        empty = np.array([], dtype=np.int64)
        rows_t = np.concatenate([order[start[x] : start[x] + length[x]] for x in js]) if len(js) else empty
        bt = t.iloc[rows_t].assign(journey=np.repeat(np.arange(len(js)), counts))
        c = model(bt, bj)
        rows.append(c[["channel", "conversions"]].assign(rep=r))
    if not rows:
        return pd.DataFrame(columns=["channel", "ci_low", "ci_high", "reps"])
    b = pd.concat(rows, ignore_index=True)
    a = (1 - level) / 2
    out = b.groupby("channel")["conversions"].quantile([a, 1 - a]).unstack()
    out.columns = ["ci_low", "ci_high"]
    return out.reset_index().assign(reps=reps)
