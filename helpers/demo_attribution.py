"""Demo plant for the attribution report and the conversion drivers (stream 6; contract in helpers/demo_plants.py).

1. A touch column ``utm_source``: every session gets one source, written on the session's FIRST event only (the
   other events of the session have it empty), drawn from one of three distributions:
   - a session that holds a ``pay`` event (it closes a journey): :data:`CLOSE_P` (搜索 often, 社交分享 rarely);
   - else a session that opens a journey (the user's first session, or the first one after a paying session):
     :data:`OPEN_P` (社交分享 half of the time);
   - else :data:`MIDDLE_P`.
   So 社交分享 opens many journeys but rarely closes one: its first-touch credit is far above its last-touch credit.
2. A conversion driver: in a share ``fav_before_cart`` of the paying sessions without a ``fav`` before their first
   ``cart``, a ``fav`` of the carted item is added 2 seconds before that cart. Users who ``fav`` then pay much more
   often than those who do not: ``fav`` is the demo funnel's top positive conversion driver.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["plant", "SOURCES", "OPEN_P", "CLOSE_P", "MIDDLE_P"]

SOURCES = ("信息流广告", "应用商店", "搜索", "社交分享", "直接访问")
OPEN_P = (0.20, 0.15, 0.10, 0.50, 0.05)
CLOSE_P = (0.10, 0.15, 0.40, 0.05, 0.30)
MIDDLE_P = (0.30, 0.15, 0.25, 0.10, 0.20)
FAV_BEFORE_CART = 0.7


def plant(events: pd.DataFrame, users: pd.DataFrame, *, rng, day0, days, planted) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add ``utm_source`` and the fav-before-cart driver (module docstring); record ``planted["attribution"]``."""
    ev = events.copy()
    ev["_row"] = np.arange(len(ev))
    order = ev.sort_values(["session", "event_time", "_row"], kind="stable")
    first = order.drop_duplicates("session")  # the first event of each session
    paying = set(ev.loc[ev["event_name"] == "pay", "session"])
    s = first.sort_values(["uid", "event_time", "_row"], kind="stable")[["uid", "session", "_row"]].copy()
    s["pays"] = s["session"].isin(paying)
    prev_pays = s.groupby("uid")["pays"].shift(1)
    s["opens"] = prev_pays.isna() | prev_pays.astype(bool)
    kind = np.where(s["pays"], 2, np.where(s["opens"], 0, 1))
    u = rng.random(len(s))
    src = np.empty(len(s), dtype=object)
    for k, p in enumerate((OPEN_P, MIDDLE_P, CLOSE_P)):
        m = kind == k
        src[m] = np.array(SOURCES)[np.searchsorted(np.cumsum(p), u[m], side="right").clip(0, len(SOURCES) - 1)]
    ev["utm_source"] = ""
    ev.loc[s["_row"].to_numpy(), "utm_source"] = src  # _row == position

    # the conversion driver: fav before the first cart of a paying session
    carts = order[(order["event_name"] == "cart") & order["session"].isin(paying)].drop_duplicates("session")
    favs = order[order["event_name"] == "fav"][["session", "event_time"]]
    had = carts[["session", "event_time"]].merge(favs, on="session", suffixes=("", "_fav"))
    had = set(had.loc[had["event_time_fav"] < had["event_time"], "session"])
    carts = carts[~carts["session"].isin(had)]
    pick = carts[rng.random(len(carts)) < FAV_BEFORE_CART]
    add = pick.copy()
    add["event_name"] = "fav"
    add["event_time"] = (pd.to_datetime(add["event_time"]) - pd.Timedelta(seconds=2)).dt.strftime("%Y-%m-%d %H:%M:%S")
    for c in ("order_no", "anonymous_id", "utm_source"):
        if c in add:
            add[c] = ""
    out = pd.concat([ev, add], ignore_index=True).drop(columns="_row")
    planted["attribution"] = {
        "touch_col": "utm_source",
        "written_on": "first event of each session",
        "sources": list(SOURCES),
        "open_p": dict(zip(SOURCES, OPEN_P, strict=True)),
        "close_p": dict(zip(SOURCES, CLOSE_P, strict=True)),
        "middle_p": dict(zip(SOURCES, MIDDLE_P, strict=True)),
        "opener": "社交分享",
        "closer": "搜索",
        "sessions": {
            "opening": int((kind == 0).sum()),
            "middle": int((kind == 1).sum()),
            "paying": int((kind == 2).sum()),
        },
        "driver": {"event": "fav", "before": "cart", "share_of_paying_sessions": FAV_BEFORE_CART, "rows": len(add)},
    }
    return out, users
