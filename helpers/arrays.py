"""numpy helpers shared by the DuckDB fast paths (funnel, attribution): sorting int64 keys."""

from __future__ import annotations

import numpy as np

__all__ = ["sort_keys"]

#: below this share of descending neighbours the keys count as nearly sorted
NEARLY_SORTED = 0.1


def sort_keys(a: np.ndarray) -> np.ndarray:
    """``a`` (int64 keys) sorted in place, and returned.

    A log stored by user and time gives keys (user, time, ...) nearly in order; numpy's stable sort (an adaptive
    merge sort) then takes about a tenth of quicksort's time (0.06 s against 0.62 s for 8.9M keys). On keys in no
    useful order (a log in time order, users interleaved) quicksort is about 12 % faster. One pass counts the
    descending neighbours to choose; both sorts give the same array.
    """
    if len(a) > 1 and np.count_nonzero(a[1:] < a[:-1]) < NEARLY_SORTED * len(a):
        a.sort(kind="stable")
    else:
        a.sort()
    return a
