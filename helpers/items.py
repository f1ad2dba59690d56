"""Item names (商品名称): the name pages show next to an item's code, from the lines' optional ``item_name``.

Products, sentiment and any report with an ``item_id`` name items the same way: :func:`item_names` picks one name
per code (the most common), :func:`item_label` writes "name（code）" in the page's brackets. docs/products.md has
the rules.
"""

from __future__ import annotations

import pandas as pd

from .engine import as_table
from .i18n import t

__all__ = ["item_names", "item_label", "names_of"]


def item_names(lines) -> pd.Series:
    """The name of every item whose lines carry one (``item_name``, e.g. Online Retail's Description): the name
    on most of its lines (blank names ignored; a tie goes to the smallest name), on the engine per
    (item, name) pair.

    Returns
    -------
    Series of names indexed by ``item_id`` (text), sorted by it; empty when the lines have no ``item_name``.
    """
    t = as_table(lines)
    if "item_name" not in t.columns:
        return pd.Series([], dtype=object, index=pd.Index([], dtype=object, name="item_id"), name="item_name")
    t = t.mutate(_k=t.item_id.cast("string"), _n=t.item_name.cast("string").strip())
    t = t.filter(t._n.notnull() & (t._n != ""))
    df = t.group_by(["_k", "_n"]).aggregate(_lines=t.count()).to_pandas()
    df = df.sort_values(["_k", "_lines", "_n"], ascending=[True, False, True]).drop_duplicates("_k")
    return pd.Series(df["_n"].to_numpy(dtype=object), index=pd.Index(df["_k"].astype(str), name="item_id"),
                     name="item_name")  # fmt: skip


def item_label(code, names=None, *, width: int | None = None) -> str:
    """An item as pages name it: its name with the code aside in the page's brackets (``WHITE HANGING HEART
    T-LIGHT HOLDER（85123A）``), or the code alone when it has no name. ``names``: item code -> name
    (:func:`item_names`); ``width``: names longer than this many characters are cut, with "…"."""
    code = str(code)
    name = (names or {}).get(code)
    if not name or name == code:
        return code
    if width and len(name) > width:
        name = name[: width - 1].rstrip() + "…"
    return name + t("aside", text=code)


def names_of(items: pd.DataFrame) -> dict[str, str]:
    """Item code -> name from an items table's ``item_name`` (empty without names)."""
    if "item_name" not in items:
        return {}
    named = items.dropna(subset=["item_name"])
    return dict(zip(named["item_id"].astype(str), named["item_name"].astype(str), strict=True))
