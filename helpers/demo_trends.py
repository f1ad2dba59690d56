"""Demo plants for the trends report (issue 14): a promotion spike and a payment outage on one platform.

- **Promotion** on day ``PROMO_DAY`` (2024-04-06, a Saturday, with the demo's start 2024-03-01): users active that
  day place and pay extra orders, so orders and pay events are ``PROMO_FACTOR`` (2.5) times the day's organic
  count. Each extra order is an ``order`` row and a ``pay`` row 1-10 minutes later with a new order number,
  copying the item, category and price of one of that day's real pay rows, on the buyer's own session, channel
  and platform of that day; a touch column ``utm_source`` (written on a session's first event only) is left
  empty on the added rows.
- **Payment outage** on day ``OUTAGE_DAY`` (2024-04-18, a Thursday) on ``OUTAGE_PLATFORM`` (Android):
  ``OUTAGE_SHARE`` (85 %) of that day's Android ``pay`` rows are removed; their ``order`` rows stay, so orders
  placed look normal and payments (orders, paying users, GMV in the trends report) drop. Caveat: the demo has
  only about 30 pays a day by then (its users stop signing up on day 35 and churn), so the drop of the totals
  (about a third) is within their day-to-day noise; the Android pay events themselves fall to a few.

Both dates are recorded in ``planted["trend_anomalies"]`` with the rows added and removed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "plant_promotion",
    "plant_outage",
    "PROMO_DAY",
    "PROMO_FACTOR",
    "OUTAGE_DAY",
    "OUTAGE_PLATFORM",
    "OUTAGE_SHARE",
]

PROMO_DAY = 36  # days after the demo's first day: 2024-04-06
PROMO_FACTOR = 2.5
OUTAGE_DAY = 48  # 2024-04-18
OUTAGE_PLATFORM = "Android"
OUTAGE_SHARE = 0.85


def _day_mask(events: pd.DataFrame, day: dt.date) -> np.ndarray:
    return (events["event_time"].str[:10] == day.isoformat()).to_numpy()


def plant_promotion(
    events: pd.DataFrame, users: pd.DataFrame, *, rng, day0: dt.datetime, days: int, planted: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add the promotion's orders (module docstring); ``planted["trend_anomalies"]["promotion"]`` records the date,
    metrics, factor and rows added."""
    info = planted.setdefault("trend_anomalies", {})
    if PROMO_DAY < days:
        promo = (day0 + dt.timedelta(days=PROMO_DAY)).date()
        logged_in = (events["uid"] != "") & ~events["uid"].str.startswith("anon_")  # anonymous devices only browse
        on_day = events[_day_mask(events, promo) & logged_in]
        pays = on_day[on_day["event_name"] == "pay"]
        n_new = round((PROMO_FACTOR - 1) * len(pays))
        if n_new and len(pays):
            buyers = on_day.drop_duplicates("uid")  # each active user's first row that day: session, channel, platform
            who = buyers.iloc[rng.integers(0, len(buyers), size=n_new)].reset_index(drop=True)
            what = pays.iloc[rng.integers(0, len(pays), size=n_new)].reset_index(drop=True)
            start = dt.datetime.combine(promo, dt.time(9))
            t_order = [start + dt.timedelta(seconds=int(s)) for s in rng.integers(0, 14 * 3600, size=n_new)]
            t_pay = [t + dt.timedelta(seconds=int(s)) for t, s in zip(t_order, rng.integers(60, 600, size=n_new))]
            order_no = [f"PROMO{i:05d}" for i in range(1, n_new + 1)]
            # the buyer's own row that day for every other column (session, channel, platform, ...)
            base = who.assign(
                item=what["item"], category=what["category"], price=what["price"], order_no=order_no, anonymous_id=""
            )
            for col in ("utm_source",):  # a touch column (helpers/demo_attribution.py): a session's first event only
                if col in base:
                    base[col] = ""
            rows = pd.concat(
                [
                    base.assign(event_name="order", event_time=[t.strftime("%Y-%m-%d %H:%M:%S") for t in t_order]),
                    base.assign(event_name="pay", event_time=[t.strftime("%Y-%m-%d %H:%M:%S") for t in t_pay]),
                ],
                ignore_index=True,
            )
            events = pd.concat([events, rows[events.columns]], ignore_index=True)
        info["promotion"] = {
            "date": promo.isoformat(), "day": PROMO_DAY, "metrics": ["orders", "paying_users", "gmv"],
            "factor": PROMO_FACTOR, "organic_pays": int(len(pays)), "orders_added": int(n_new),
        }  # fmt: skip
    return events, users


def plant_outage(
    events: pd.DataFrame, users: pd.DataFrame, *, rng, day0: dt.datetime, days: int, planted: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Remove the outage's payments (module docstring); ``planted["trend_anomalies"]["payment_outage"]`` records
    the date, platform, metrics, share and rows removed."""
    info = planted.setdefault("trend_anomalies", {})
    if OUTAGE_DAY < days:
        outage = (day0 + dt.timedelta(days=OUTAGE_DAY)).date()
        hit = np.flatnonzero(
            _day_mask(events, outage)
            & (events["event_name"] == "pay").to_numpy()
            & (events["platform"] == OUTAGE_PLATFORM).to_numpy()
        )
        drop = rng.choice(hit, size=round(OUTAGE_SHARE * len(hit)), replace=False) if len(hit) else hit
        events = events.drop(index=events.index[drop]).reset_index(drop=True)
        info["payment_outage"] = {
            "date": outage.isoformat(), "day": OUTAGE_DAY, "platform": OUTAGE_PLATFORM, "event": "pay",
            "metrics": ["orders", "paying_users", "gmv"], "share_removed": OUTAGE_SHARE,
            "platform_pays": int(len(hit)), "pays_removed": int(len(drop)),
        }  # fmt: skip
    return events, users
