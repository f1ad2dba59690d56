"""Basket analysis (购物篮 / 关联规则): which items (and categories) are bought together.

A *basket* is the set of distinct items of one order (``basket="order"``), of one session (``"session"``) or of
one user's calendar day (``"user_day"``, for data without an order id such as Taobao ``buy`` events). An item
bought twice in a basket counts once. Every count below is a number of baskets; ``N`` is the number of baskets.

Pairs are counted on the engine (Ibis: DuckDB or Spark) by a self-join of the distinct ``(basket, item)`` rows on
the basket with ``item_a < item_b``, after dropping baskets with one item and items in fewer than ``min_count``
baskets (an item in fewer baskets cannot be in a pair that often). This is the scalable path
(bench/basket_bench.py). Item sets beyond pairs come from FP-growth (mlxtend) on the basket matrix when it fits in
memory (:data:`FPGROWTH_MAX_CELLS`).

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
    "frequent_itemsets",
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

    Self-join of the distinct ``(basket, item)`` rows on ``basket`` with ``item_a < item_b``; baskets with a single
    item and items in fewer than ``min_count`` baskets are dropped before the join (they cannot reach it).

    Returns
    -------
    DataFrame ``item_a``, ``item_b`` (``item_a < item_b``), ``n_ab`` (baskets with both; ``>= min_count``), sorted by
    ``n_ab`` descending then the items.
    """
    t = as_table(bi)
    if min_count > 1:
        frequent = t.group_by("item").aggregate(_n=t.basket.count())
        frequent = frequent.filter(frequent._n >= min_count).select("item")
        t = t.semi_join(frequent, "item")
    multi = t.group_by("basket").aggregate(_k=t.item.count())
    t = t.semi_join(multi.filter(multi._k >= 2).select("basket"), "basket")
    a = t.select(basket_a=t.basket, item_a=t.item)
    b = t.select(basket_b=t.basket, item_b=t.item)
    j = a.join(b, (a.basket_a == b.basket_b) & (a.item_a < b.item_b))
    pc = j.group_by(["item_a", "item_b"]).aggregate(n_ab=j.basket_a.count())
    df = pc.filter(pc.n_ab >= min_count).to_pandas()
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


def frequent_itemsets(
    bi, items: pd.DataFrame, n_baskets: int, *, min_count: int, max_len: int = 3, max_cells: int = FPGROWTH_MAX_CELLS
) -> pd.DataFrame | None:
    """Frequent item sets of two or more items by FP-growth (mlxtend) on the basket matrix, or None when the matrix
    (baskets with two or more frequent items x frequent items) has more than ``max_cells`` cells.

    Only baskets with two or more items in at least ``min_count`` baskets are loaded (the others cannot hold a
    frequent set of two); supports are rescaled to all ``n_baskets`` baskets.

    Returns
    -------
    DataFrame ``itemset`` (items joined by `` + `` in sorted order), ``size``, ``n_baskets``, ``support``; sorted by
    size, then ``n_baskets`` descending; or None (too large).
    """
    from mlxtend.frequent_patterns import fpgrowth

    cols = ["itemset", "size", "n_baskets", "support"]
    keep = items.loc[items["n"] >= min_count, "item"]
    if len(keep) < 2 or n_baskets == 0:
        return pd.DataFrame(columns=cols)
    t = as_table(bi)
    t = t.filter(t.item.isin(list(keep)))
    multi = t.group_by("basket").aggregate(_k=t.item.count())
    n_rows = int(multi.filter(multi._k >= 2).count().to_pyarrow().as_py())
    if n_rows * len(keep) > max_cells:
        return None
    if n_rows == 0:
        return pd.DataFrame(columns=cols)
    t = t.semi_join(multi.filter(multi._k >= 2).select("basket"), "basket")
    df = t.to_pandas()
    matrix = pd.crosstab(df["basket"], df["item"]).astype(bool)
    fi = fpgrowth(matrix, min_support=min_count / len(matrix) - 1e-12, use_colnames=True, max_len=max_len)
    fi = fi[fi["itemsets"].map(len) >= 2]
    out = pd.DataFrame(
        {
            "itemset": fi["itemsets"].map(lambda s: " + ".join(sorted(s))),
            "size": fi["itemsets"].map(len).astype("int64"),
            "n_baskets": (fi["support"] * len(matrix)).round().astype("int64"),
        }
    )
    out["support"] = out["n_baskets"] / float(n_baskets)
    out = out.sort_values(["size", "n_baskets", "itemset"], ascending=[True, False, True])
    return out.reset_index(drop=True)[cols]


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
