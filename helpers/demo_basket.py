"""Demo plant (stream 7): item pairs bought together on purpose, for the products report's basket analysis.

The demo's main loop writes one ``order`` row (and one ``pay`` row when paid) per order, carrying its first carted
item. For each planted pair ``(A, B)`` of :data:`PAIRS`, an order whose row carries item A gets item B added with
probability :data:`P_ADD`: an ``order`` row with B (same ``order_no``, time, user, session, channel and platform;
B's price), and a ``pay`` row with B when the order was paid. With ``products.basket: order`` these pairs are the
top rules by lift among the rules above the minimum support (tests/test_products.py).

``planted["basket"]``: ``pairs`` (the planted pairs), ``p_add``, ``orders_with_a`` (orders per pair whose row
carried A), ``added`` (orders that got B, per pair), ``paid_added`` (of them, paid), ``p_extra`` and
``extra_orders``.

Background (so that the planted pairs must stand out from ordinary multi-item orders): before the pairs, a share
:data:`P_EXTRA` of all orders get ``1 + Poisson(0.5)`` other items drawn in proportion to their views (popular
items are often bought together by chance, with a lift near 1).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["PAIRS", "P_ADD", "plant"]

#: (A, B): when an order carries A, B is added to it; items chosen among the popular ones, none of the bad items
#: (I0003, I0008, I0014), in different categories (美妆+服饰, 美妆+家居, 家居+食品)
PAIRS: tuple[tuple[str, str], ...] = (("I0007", "I0031"), ("I0002", "I0045"), ("I0010", "I0024"))
P_ADD = 0.6
P_EXTRA = 0.3


def plant(events: pd.DataFrame, users: pd.DataFrame, *, rng, day0, days, planted: dict[str, Any]):
    """Add the planted partner items to orders (module docstring); returns ``(events, users)``."""
    info: dict[str, Any] = {"pairs": [list(p) for p in PAIRS], "p_add": P_ADD, "orders_with_a": {}, "added": {},
                            "paid_added": {}, "p_extra": P_EXTRA}  # fmt: skip
    ev = events
    views = ev[(ev.event_name == "view") & (ev.item != "")]
    price = views.groupby("item")["price"].first()
    cat = ev[ev.item != ""].groupby("item")["category"].first()
    weight = views["item"].value_counts().sort_index()
    names, p = weight.index.to_numpy(), (weight / weight.sum()).to_numpy()
    new = []
    is_order = (ev.event_name == "order").to_numpy()
    is_pay = ev.event_name == "pay"
    orders_all = ev[is_order & (ev.order_no != "").to_numpy()]
    extra = orders_all[rng.random(len(orders_all)) < P_EXTRA]
    info["extra_orders"] = len(extra)
    pay_of = ev[is_pay].drop_duplicates("order_no").set_index("order_no")
    recs = []
    for row in extra.to_dict(orient="records"):
        for it in rng.choice(names, size=1 + rng.poisson(0.5), replace=False, p=p):
            if it == row["item"]:
                continue
            rows = [row] + ([pay_of.loc[row["order_no"]].to_dict()] if row["order_no"] in pay_of.index else [])
            for r in rows:
                recs.append({**r, "order_no": row["order_no"], "item": it, "category": cat.get(it, ""),
                             "price": price.get(it, "")})  # fmt: skip
    new.append(pd.DataFrame(recs, columns=events.columns))
    for a, b in PAIRS:
        orders = ev[is_order & (ev.item == a).to_numpy() & (ev.order_no != "").to_numpy()]
        pick = orders[rng.random(len(orders)) < P_ADD]
        key = f"{a}+{b}"
        info["orders_with_a"][key] = len(orders)
        info["added"][key] = len(pick)
        pays = ev[is_pay & ev.order_no.isin(pick.order_no)]
        info["paid_added"][key] = len(pays)
        for rows in (pick, pays):
            add = rows.copy()
            add["item"] = b
            add["category"] = cat.get(b, "")
            add["price"] = price.get(b, "")
            new.append(add)
    planted["basket"] = info
    if new:
        events = pd.concat([events, *new], ignore_index=True)
    return events, users
