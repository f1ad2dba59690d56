"""Basket analysis (购物篮 / 关联规则): which items (and categories) are bought together.

A *basket* is the set of distinct items of one order (``basket="order"``), of one session (``"session"``) or of
one user's calendar day (``"user_day"``, for data without an order id such as Taobao ``buy`` events). An item
bought twice in a basket counts once. Every count below is a number of baskets; ``N`` is the number of baskets.

Pairs are counted on the engine (Ibis: DuckDB or Spark) by a self-join of the distinct ``(basket, item)`` rows on
the basket with ``item_a < item_b``, after dropping baskets with one item and items in fewer than ``min_count``
baskets (an item in fewer baskets cannot be in a pair that often), on integer ids of the items and baskets. This
is the scalable path (bench/basket_bench.py). Item sets beyond pairs come from FP-growth (mlxtend) on the basket
matrix when it fits in memory (:data:`FPGROWTH_MAX_CELLS`); rules ``A + B -> C`` of the sets of three or more items
from their counts (:func:`itemset_rules`).

Rule measures (A -> B; docs/products.md; the same definitions as mlxtend.frequent_patterns.association_rules):

- ``support = n_AB / N``; ``antecedent_support = n_A / N``; ``consequent_support = n_B / N``
- ``confidence = n_AB / n_A`` (share of baskets with A that also have B)
- ``lift = confidence / consequent_support = N * n_AB / (n_A * n_B)``
- ``leverage = support - antecedent_support * consequent_support``
- ``conviction = (1 - consequent_support) / (1 - confidence)`` (infinite when confidence is 1)

Minimum support chosen from the data (:func:`auto_min_count`): the count of the ``rank``-th most frequent pair,
but never fewer than ``floor`` baskets; ``min_support = min_count / N``.
"""

from __future__ import annotations

import math

import pandas as pd

from .engine import as_table
from .errors import MissingColumnError

__all__ = [
    "FPGROWTH_MAX_CELLS",
    "AUTO_RANK",
    "basket_items",
    "item_counts",
    "pair_counts",
    "auto_min_count",
    "pair_rules",
    "frequent_sets",
    "itemsets_table",
    "frequent_itemsets",
    "itemset_rules",
    "bought_together",
]

#: FP-growth runs on a dense boolean basket x item matrix; above this many cells (baskets with two or more
#: frequent items x frequent items, 1 byte each: 50 MB) it is skipped and only the engine's pairs are reported
FPGROWTH_MAX_CELLS = 50_000_000
#: the automatic minimum support is the support of this-ranked most frequent pair (see :func:`auto_min_count`)
AUTO_RANK = 100

_BASKET_COLS = {"order": ("order_id",), "session": ("session_id",), "user_day": ("user_id", "ts")}
RULE_COLS = [
    "antecedent", "consequent", "n_ab", "n_a", "n_b", "support", "antecedent_support", "consequent_support",
    "confidence", "lift", "leverage", "conviction",
]  # fmt: skip


def basket_items(lines, *, basket: str = "order", item_col: str = "item_id", table: str = "orders"):
    """The distinct ``(basket, item)`` rows of purchase lines, as a lazy Ibis table.

    Parameters
    ----------
    lines : purchase lines (Ibis table or pandas): one row per bought item, with ``order_id`` (``basket="order"``),
        ``session_id`` (``"session"``) or ``user_id`` and ``ts`` (``"user_day"``: ``user_id|YYYY-MM-DD``).
    item_col : the item column (``category`` for category-level baskets).

    Returns
    -------
    Ibis table ``basket`` (text), ``item`` (text); rows with an empty basket or item are dropped.
    """
    if basket not in _BASKET_COLS:
        raise ValueError(f"products.basket must be one of {', '.join(_BASKET_COLS)}, got {basket!r}")
    t = as_table(lines)
    for c in (*_BASKET_COLS[basket], item_col):
        if c not in t.columns:
            raise MissingColumnError(table, c, t.columns, hint=f"it is needed for basket: {basket} (products.basket)")
    if basket == "user_day":
        key = t.user_id.cast("string") + "|" + t.ts.date().cast("string")
    else:
        key = t[_BASKET_COLS[basket][0]].cast("string")
    out = t.select(basket=key, item=t[item_col].cast("string"))
    out = out.filter(out.basket.notnull() & out.item.notnull() & (out.item != "") & (out.basket != ""))
    return out.distinct()


def item_counts(bi) -> tuple[pd.DataFrame, int]:
    """Baskets per item and the number of baskets ``N``.

    Returns
    -------
    (DataFrame ``item``, ``n`` (baskets containing the item), sorted by ``n`` descending then item; ``N``)
    """
    bi = as_table(bi)
    n_baskets = int(bi.basket.nunique().to_pyarrow().as_py() or 0)
    df = bi.group_by("item").aggregate(n=bi.basket.count()).to_pandas()
    df["n"] = df["n"].astype("int64")
    return df.sort_values(["n", "item"], ascending=[False, True]).reset_index(drop=True), n_baskets


def pair_counts(bi, *, min_count: int = 1) -> pd.DataFrame:
    """Baskets containing both items of each pair, counted on the engine.

    Items in fewer than ``min_count`` baskets and baskets with a single (remaining) item are dropped first (they
    cannot reach a pair that often); items and baskets are then numbered (integers join and group much faster than
    text: bench/basket_bench.py), the ``(basket, item)`` rows are self-joined on the basket with ``item_a <
    item_b``, counted, and the pairs with at least ``min_count`` baskets get their item names back.

    Returns
    -------
    DataFrame ``item_a``, ``item_b`` (``item_a < item_b``), ``n_ab`` (baskets with both; ``>= min_count``), sorted by
    ``n_ab`` descending then the items.
    """
    import ibis

    t = as_table(bi)
    items = t.group_by("item").aggregate(_n=t.basket.count())
    if min_count > 1:
        items = items.filter(items._n >= min_count)
    items = items.select("item").mutate(_i=ibis.row_number())
    x = t.join(items, "item").select("basket", "_i")
    multi = x.group_by("basket").aggregate(_k=x._i.count())
    baskets = multi.filter(multi._k >= 2).select("basket").mutate(_b=ibis.row_number())
    x = x.join(baskets, "basket").select("_b", "_i")
    a = x.select(b_a=x._b, i_a=x._i)
    b = x.select(b_b=x._b, i_b=x._i)
    j = a.join(b, (a.b_a == b.b_b) & (a.i_a < b.i_b))
    pc = j.group_by(["i_a", "i_b"]).aggregate(n_ab=j.b_a.count())
    pc = pc.filter(pc.n_ab >= min_count)
    na = items.select(item_a=items.item, i_a=items._i)
    nb = items.select(item_b=items.item, i_b=items._i)
    df = pc.join(na, "i_a").join(nb, "i_b").select("item_a", "item_b", "n_ab").to_pandas()
    swap = (df["item_a"] > df["item_b"]).to_numpy()  # the numbering is not the text order
    df.loc[swap, ["item_a", "item_b"]] = df.loc[swap, ["item_b", "item_a"]].to_numpy()
    df["n_ab"] = df["n_ab"].astype("int64")
    return df.sort_values(["n_ab", "item_a", "item_b"], ascending=[False, True, True]).reset_index(drop=True)


def auto_min_count(pairs: pd.DataFrame, *, floor: int = 5, rank: int = AUTO_RANK) -> int:
    """The minimum number of baskets of a rule when ``min_support`` is not given: the count of the ``rank``-th most
    frequent pair (so that about ``rank`` pairs pass), but at least ``floor`` baskets (a pair seen in fewer baskets
    is noise). ``pairs`` is :func:`pair_counts` with ``min_count <= floor``."""
    counts = pairs["n_ab"].sort_values(ascending=False).to_numpy()
    kth = int(counts[rank - 1]) if len(counts) >= rank else 0
    return max(int(floor), kth)


def pair_rules(pairs: pd.DataFrame, items: pd.DataFrame, n_baskets: int) -> pd.DataFrame:
    """Both rules A -> B and B -> A of every pair, with their measures (module docstring).

    Parameters
    ----------
    pairs : :func:`pair_counts`; items : :func:`item_counts`' frame; n_baskets : ``N``.

    Returns
    -------
    DataFrame with :data:`RULE_COLS`: ``antecedent``, ``consequent``, ``n_ab``, ``n_a``, ``n_b``, ``support``,
    ``antecedent_support``, ``consequent_support``, ``confidence``, ``lift``, ``leverage``, ``conviction``; sorted by
    lift, confidence and support (descending), then antecedent and consequent.
    """
    if pairs.empty:
        return pd.DataFrame(columns=RULE_COLS)
    n = items.set_index("item")["n"]
    fwd = pd.DataFrame({"antecedent": pairs["item_a"], "consequent": pairs["item_b"], "n_ab": pairs["n_ab"]})
    bwd = pd.DataFrame({"antecedent": pairs["item_b"], "consequent": pairs["item_a"], "n_ab": pairs["n_ab"]})
    r = pd.concat([fwd, bwd], ignore_index=True)
    r["n_a"] = r["antecedent"].map(n).astype("int64")
    r["n_b"] = r["consequent"].map(n).astype("int64")
    return _measures(r, n_baskets)


def _measures(r: pd.DataFrame, n_baskets: int) -> pd.DataFrame:
    """``r`` (``antecedent``, ``consequent``, ``n_ab``, ``n_a``, ``n_b``) with the rule measures, sorted."""
    big_n = float(n_baskets)
    r["support"] = r["n_ab"] / big_n
    r["antecedent_support"] = r["n_a"] / big_n
    r["consequent_support"] = r["n_b"] / big_n
    r["confidence"] = r["n_ab"] / r["n_a"]
    r["lift"] = r["confidence"] / r["consequent_support"]
    r["leverage"] = r["support"] - r["antecedent_support"] * r["consequent_support"]
    denom = 1.0 - r["confidence"]
    r["conviction"] = ((1.0 - r["consequent_support"]) / denom.where(denom > 0)).fillna(math.inf)
    keys = ["lift", "confidence", "support", "antecedent", "consequent"]
    r = r.sort_values(keys, ascending=[False, False, False, True, True]).reset_index(drop=True)
    return r[RULE_COLS]


def frequent_sets(
    bi, items: pd.DataFrame, n_baskets: int, *, min_count: int, max_len: int = 3, max_cells: int = FPGROWTH_MAX_CELLS
) -> dict[frozenset, int] | None:
    """Frequent item sets of two or more items by FP-growth (mlxtend) on the basket matrix: ``{items: baskets}``,
    or None when the matrix (baskets with two or more frequent items x frequent items) has more than ``max_cells``
    cells.

    Only baskets with two or more items in at least ``min_count`` baskets are loaded (the others cannot hold a
    frequent set of two), so the counts are those over all ``n_baskets`` baskets."""
    import warnings

    with warnings.catch_warnings():  # restores the filters: importing mlxtend's fpcommon sets every
        from mlxtend.frequent_patterns import fpgrowth  # DeprecationWarning to "always", process-wide

    keep = items.loc[items["n"] >= min_count, "item"]
    if len(keep) < 2 or n_baskets == 0:
        return {}
    t = as_table(bi)
    t = t.filter(t.item.isin(list(keep)))
    multi = t.group_by("basket").aggregate(_k=t.item.count())
    n_rows = int(multi.filter(multi._k >= 2).count().to_pyarrow().as_py())
    if n_rows * len(keep) > max_cells:
        return None
    if n_rows < min_count:  # a set of two or more lies in baskets of two or more: too few of them for any
        return {}  # (and FP-growth would be asked for a support above 1)
    t = t.semi_join(multi.filter(multi._k >= 2).select("basket"), "basket")
    df = t.to_pandas()
    matrix = pd.crosstab(df["basket"], df["item"]).astype(bool)
    fi = fpgrowth(matrix, min_support=min_count / len(matrix) - 1e-12, use_colnames=True, max_len=max_len)
    fi = fi[fi["itemsets"].map(len) >= 2]
    counts = (fi["support"] * len(matrix)).round().astype("int64")
    return {frozenset(s): int(k) for s, k in zip(fi["itemsets"], counts)}


def itemsets_table(sets: dict[frozenset, int] | None, n_baskets: int) -> pd.DataFrame | None:
    """:func:`frequent_sets` as a table: ``itemset`` (items joined by `` + `` in sorted order), ``size``,
    ``n_baskets``, ``support`` (``n_baskets / N``); sorted by size, then ``n_baskets`` descending. None stays
    None (too large)."""
    cols = ["itemset", "size", "n_baskets", "support"]
    if sets is None:
        return None
    rows = [(" + ".join(sorted(s)), len(s), k) for s, k in sets.items()]
    out = pd.DataFrame(rows, columns=cols[:3]).astype({"size": "int64", "n_baskets": "int64"})
    out["support"] = out["n_baskets"] / float(n_baskets) if n_baskets else math.nan
    out = out.sort_values(["size", "n_baskets", "itemset"], ascending=[True, False, True])
    return out.reset_index(drop=True)[cols]


def frequent_itemsets(
    bi, items: pd.DataFrame, n_baskets: int, *, min_count: int, max_len: int = 3, max_cells: int = FPGROWTH_MAX_CELLS
) -> pd.DataFrame | None:
    """:func:`frequent_sets` as a table (:func:`itemsets_table`), or None when the matrix is too large."""
    sets = frequent_sets(bi, items, n_baskets, min_count=min_count, max_len=max_len, max_cells=max_cells)
    return itemsets_table(sets, n_baskets)


def itemset_rules(sets: dict[frozenset, int] | None, items: pd.DataFrame, n_baskets: int) -> pd.DataFrame:
    """Rules of the frequent sets of three or more items: for a set S and each item c of it, the rule
    ``S - {c} -> c`` (e.g. ``A + B -> C``), with the measures of :func:`pair_rules`.

    ``n_a`` (baskets with every antecedent item) is the count of the set ``S - {c}``, itself frequent (every subset
    of a frequent set is), ``n_b`` that of ``c`` (:func:`item_counts`), ``n_ab`` that of S.

    Parameters
    ----------
    sets : :func:`frequent_sets` (None or empty: no rules); items : :func:`item_counts`' frame; n_baskets : ``N``.

    Returns
    -------
    DataFrame with :data:`RULE_COLS`; ``antecedent`` is the items joined by `` + `` in sorted order; sorted as
    :func:`pair_rules`.
    """
    n = items.set_index("item")["n"]
    d = sets or {}
    rows = []
    for s, k in d.items():
        if len(s) < 3:
            continue
        for c in sorted(s):
            a = s - {c}
            rows.append((" + ".join(sorted(a)), c, k, d[a], int(n[c])))
    if not rows:
        return pd.DataFrame(columns=RULE_COLS)
    r = pd.DataFrame(rows, columns=["antecedent", "consequent", "n_ab", "n_a", "n_b"]).astype(
        {"n_ab": "int64", "n_a": "int64", "n_b": "int64"}
    )
    return _measures(r, n_baskets)


def bought_together(rules: pd.DataFrame, *, top_k: int = 5) -> pd.DataFrame:
    """ "Bought together" (搭配推荐): for each item, its ``top_k`` partners by lift, then confidence.

    Returns
    -------
    DataFrame ``item``, ``rank`` (1 = best), ``partner``, ``n_baskets`` (baskets with both), ``confidence`` (share of
    the item's baskets that also hold the partner), ``lift``, ``support``.
    """
    cols = ["item", "rank", "partner", "n_baskets", "confidence", "lift", "support"]
    if rules.empty:
        return pd.DataFrame(columns=cols)
    r = rules.sort_values(["antecedent", "lift", "confidence", "consequent"], ascending=[True, False, False, True])
    r = r.groupby("antecedent", sort=True).head(top_k).copy()
    r["rank"] = r.groupby("antecedent").cumcount() + 1
    r = r.rename(columns={"antecedent": "item", "consequent": "partner", "n_ab": "n_baskets"})
    return r[cols].reset_index(drop=True)
