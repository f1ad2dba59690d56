"""Demo plant for the impact report (helpers/impact.py): a campaign that lifts one channel's orders.

From the campaign's first day (three quarters into the demo period: 2024-04-15 in the default demo) to the end,
users of the channel :data:`IMPACT_CHANNEL` place about ``FACTOR - 1`` (25 %) more orders: each of their paid
orders in that span brings, with probability ``FACTOR - 1``, one more order of a random catalogue item (its
category and price) in the same session, 5-120 minutes later (earlier when that would pass midnight),
paid 1-10 minutes after the order, with a new order number. The other channels are untouched (the
report's control series). ``planted["impact"]`` records ``start``, ``channel``, ``factor`` and ``extra_orders``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

__all__ = ["IMPACT_CHANNEL", "FACTOR", "plant"]

#: the treated channel (not the ads channel 信息流广告, whose conversion is planted lower)
IMPACT_CHANNEL = "自然流量"
FACTOR = 1.25


def plant(
    events: pd.DataFrame, users: pd.DataFrame, *, rng, day0: dt.datetime, days: int, planted: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add the campaign's extra orders (see the module docstring); returns the events and the users unchanged."""
    start = (day0 + dt.timedelta(days=days * 3 // 4)).replace(hour=0, minute=0, second=0)
    ts = pd.to_datetime(events["event_time"], errors="coerce")
    src = events[(events["event_name"] == "pay") & (events["channel"] == IMPACT_CHANNEL) & (ts >= start)]
    src = src[rng.random(len(src)) < FACTOR - 1]
    catalogue = events[events["event_name"] == "view"].drop_duplicates("item")[["item", "category", "price"]]
    catalogue = catalogue.sort_values("item").reset_index(drop=True)
    picks = catalogue.iloc[rng.integers(0, len(catalogue), size=len(src))].reset_index(drop=True)
    t0 = pd.to_datetime(src["event_time"]).reset_index(drop=True)
    gap = pd.to_timedelta(rng.integers(5 * 60, 120 * 60, size=len(src)), unit="s")
    t_order = t0 + gap
    late = t_order.dt.normalize() != t0.dt.normalize()
    t_order[late] = t0[late] - gap[late]
    t_pay = t_order + pd.to_timedelta(rng.integers(60, 600, size=len(src)), unit="s")
    t_pay = t_pay.where(t_pay.dt.normalize() == t_order.dt.normalize(), t_order + pd.Timedelta(seconds=30))
    nums = pd.to_numeric(events["order_no"].str[1:], errors="coerce")
    first = int(nums.max()) + 1 if nums.notna().any() else 1
    ono = [f"O{first + i:06d}" for i in range(len(src))]
    base = src.reset_index(drop=True).copy()
    base["item"], base["category"], base["price"] = picks["item"], picks["category"], picks["price"]
    base["order_no"] = ono
    orders = base.assign(event_name="order", event_time=t_order.dt.strftime("%Y-%m-%d %H:%M:%S"))
    pays = base.assign(event_name="pay", event_time=t_pay.dt.strftime("%Y-%m-%d %H:%M:%S"))
    new = pd.concat([orders, pays], ignore_index=True)[list(events.columns)]
    planted["impact"] = {
        "start": start.date().isoformat(),
        "channel": IMPACT_CHANNEL,
        "factor": FACTOR,
        "extra_orders": len(src),
        "paid_orders_before_plant": int(
            ((events["event_name"] == "pay") & (events["channel"] == IMPACT_CHANNEL) & (ts >= start)).sum()
        ),
    }
    return pd.concat([events, new], ignore_index=True), users
