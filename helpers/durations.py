"""Durations written in params (``'72h'``, ``'7d'``, ``'30m'`` or a number of hours)."""

from __future__ import annotations

import math
import re
from decimal import Decimal

__all__ = ["parse_window_hours", "window_text"]

_WINDOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)?\s*$", re.IGNORECASE)
_UNIT_HOURS = {"s": 1 / 3600, "m": 1 / 60, "min": 1 / 60, "h": 1.0, "d": 24.0, "w": 168.0, None: 1.0}


def parse_window_hours(window: str | float | int) -> float:
    """'72h' -> 72.0; '7d' -> 168.0; '90m' -> 1.5; a bare number is hours. ValueError explains the format."""
    if isinstance(window, (int, float)) and not isinstance(window, bool):
        if not math.isfinite(window) or window <= 0:
            raise ValueError(f"window must be a positive number of hours, got {window!r}")
        return float(window)
    m = _WINDOW.match(str(window))
    if not m:
        raise ValueError(f"window {window!r} is not a duration: write e.g. '72h', '7d', '30m' or a number of hours")
    hours = float(m.group(1)) * _UNIT_HOURS[(m.group(2) or "").lower() or None]
    if hours <= 0:
        raise ValueError(f"window must be positive, got {window!r}")
    return hours


def window_text(window: str | float | int) -> str:
    """A valid window as text: a number of hours becomes ``'<n>h'`` (48 -> '48h', 1.5 -> '1.5h', the same hours
    exactly, never an exponent); text is returned as given. ValueError (from :func:`parse_window_hours`) when
    it is not a positive duration."""
    parse_window_hours(window)
    if isinstance(window, str):
        return window
    digits = str(window) if isinstance(window, int) else format(Decimal(repr(float(window))).normalize(), "f")
    return f"{digits}h"
