"""Demo plant (stream 4): a randomised checkout-page experiment with a planted lift on payment conversion.

From ``EXPERIMENT_START`` (2024-04-01) to the end of the demo, every user with an event in that window gets a
``checkout_variant`` in users.jsonl, ``control`` or ``new_checkout`` with probability 1/2 each (this plant's
rng). The exposure is the user's first ``order`` in the window (the checkout page). For ``new_checkout`` users,
each of their unpaid orders in the window is paid with probability ``paid_share_of_unpaid`` (a ``pay`` row with
the same order_no, item and price, 2-15 minutes after the order). Orders per user are not touched: the
guardrail has no effect.

The same users get ``banner_variant`` ``A``/``B`` with probabilities ``banner_shares`` (58/42) although the plan
is 50/50: a broken split that the SRM check must flag. Users outside the window have no variant (null).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

__all__ = ["plant", "EXPERIMENT_START"]

EXPERIMENT_START = "2024-04-01"


def plant(events: pd.DataFrame, users: pd.DataFrame, *, rng, day0: dt.datetime, days: int, planted: dict):
    """Add the checkout experiment (see the module docstring); returns ``(events, users)``."""
    start = pd.Timestamp(EXPERIMENT_START)
    end = pd.Timestamp(day0) + pd.Timedelta(days=days)
    users = users.copy()
    if not (pd.Timestamp(day0) < start < end):  # a demo that does not reach April: no experiment
        users["checkout_variant"], users["banner_variant"] = None, None
        return events, users
    ts = pd.to_datetime(events["event_time"], errors="coerce")
    inwin = (ts >= start) & (ts < end)
    active = set(events.loc[inwin, "uid"])
    uids = users["user_id"].to_numpy()
    is_active = np.array([u in active for u in uids])
    arm = rng.random(len(uids)) < 0.5
    banner = rng.random(len(uids)) < 0.58
    # object columns holding None: users.jsonl gets JSON null for users outside the test
    users["checkout_variant"] = pd.Series([("new_checkout" if t else "control") if a else None
                                           for a, t in zip(is_active, arm, strict=True)], index=users.index,
                                          dtype=object)  # fmt: skip
    users["banner_variant"] = pd.Series([("A" if b else "B") if a else None for a, b in zip(is_active, banner,
                                        strict=True)], index=users.index, dtype=object)  # fmt: skip
    treated = set(uids[is_active & arm])

    paid_share = 0.6
    orders = events[inwin & (events["event_name"] == "order") & events["uid"].isin(treated)]
    paid = set(events.loc[events["event_name"] == "pay", "order_no"])
    unpaid = orders[~orders["order_no"].isin(paid)]
    pick = unpaid[rng.random(len(unpaid)) < paid_share].copy()
    delay = rng.integers(120, 900, size=len(pick))
    new_ts = pd.to_datetime(pick["event_time"]) + pd.to_timedelta(delay, unit="s")
    pick = pick[(new_ts < end).to_numpy()]
    pick["event_time"] = new_ts[(new_ts < end).to_numpy()].dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy()
    pick["event_name"] = "pay"
    events = pd.concat([events, pick], ignore_index=True)
    planted["experiment"] = {
        "name": "checkout",
        "start": EXPERIMENT_START,
        "end": (end - pd.Timedelta(days=1)).date().isoformat(),
        "column": "checkout_variant",
        "variants": ["control", "new_checkout"],
        "split": [0.5, 0.5],
        "exposure_event": "order",
        "users_assigned": int(is_active.sum()),
        "treatment_users": len(treated),
        "paid_share_of_unpaid": paid_share,
        "pay_rows_added": len(pick),
        "guardrail": "orders per user: no effect",
        "broken_split": {
            "column": "banner_variant",
            "variants": ["A", "B"],
            "banner_shares": [0.58, 0.42],
            "planned": [0.5, 0.5],
        },  # fmt: skip
    }
    return events, users
