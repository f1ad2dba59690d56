"""Planted effects added to the demo's clean events after they are generated (helpers/demo.py).

Each plant is a function in its own module, run in the order of :data:`PLANTS`, each with its own random
stream (``np.random.default_rng([seed, stream])``) so that adding one leaves the rows of the others as they were.
A plant receives the clean events (the raw file's column names: ``uid, event_name, event_time, session, item,
category, price, channel, platform, order_no, anonymous_id``; all text) and the users table, returns both
(changed or not), and records its generating numbers and documented dates in ``planted[<its key>]``.
"""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["PLANTS", "apply_plants"]

#: (stream, "module:function"), applied in this order; a new plant appends a line with a new stream number.
PLANTS: tuple[tuple[int, str], ...] = (
    (6, "demo_attribution:plant"),
    (2, "demo_trends:plant_promotion"),
    (7, "demo_basket:plant"),
    (4, "demo_experiment:plant"),
    (5, "demo_impact:plant"),
    (3, "demo_trends:plant_outage"),  # last: the outage removes payments whatever plant added them
)


def apply_plants(
    events: pd.DataFrame, users: pd.DataFrame, *, seed: int, day0: dt.datetime, days: int, planted: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply every plant of :data:`PLANTS` in order; see the module docstring for the contract."""
    for stream, target in PLANTS:
        module, func = target.split(":")
        plant = getattr(importlib.import_module(f"{__package__}.{module}"), func)
        rng = np.random.default_rng([seed, stream])
        events, users = plant(events, users, rng=rng, day0=day0, days=days, planted=planted)
    return events, users
