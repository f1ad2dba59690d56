"""numpy helpers shared by the DuckDB fast paths (funnel, attribution): sorting int64 keys, the time unit of their
keys, and :func:`plain_pages` for their large temporary arrays."""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from pathlib import Path

import numpy as np

__all__ = ["sort_keys", "as_us", "time_unit", "plain_pages", "hugepage_advice_stalls"]

_THP = Path("/sys/kernel/mm/transparent_hugepage")
_lock = threading.Lock()
_depth = 0
_saved: bool | None = None

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


def as_us(col) -> np.ndarray:
    """A timestamp column (pyarrow array or chunked array, any unit, nulls not expected) as int64 microseconds."""
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype="datetime64[us]").view("int64")


_UNITS = (1_000_000, 1_000)  # a second, a millisecond (in microseconds); else the microsecond itself
_CHUNK = 1 << 20


def time_unit(tt: np.ndarray) -> int:
    """The coarsest of a second, a millisecond and a microsecond (in microseconds) that divides every time in
    ``tt`` (int64 microseconds). Event logs are mostly stored to the second: counted in seconds, the fast paths'
    int64 key of user x time holds a million times more users x time span than in microseconds (100M events, 1M
    users over 30 days do not fit in microseconds). Comparisons stay exact as long as the windows compared with
    are multiples of the unit too (the callers check). Checked a chunk at a time, stopping at the first time the
    unit does not divide."""
    for unit in _UNITS:
        if all(not np.any(tt[i : i + _CHUNK] % unit) for i in range(0, len(tt), _CHUNK)):
            return unit
    return 1


def _selected(path: Path) -> str | None:
    """The bracketed choice of a sysfs setting such as ``always defer [madvise] never``; None when unreadable."""
    try:
        text = path.read_text()
    except OSError:
        return None
    start, end = text.find("["), text.find("]")
    return text[start + 1 : end] if 0 <= start < end else None


@functools.cache
def hugepage_advice_stalls() -> bool:
    """Whether numpy's huge-page advice makes first touches of large arrays stall on this machine.

    numpy marks every array of 4 MB or more ``madvise(MADV_HUGEPAGE)`` on Linux. When the kernel's transparent
    huge pages are ``enabled = madvise`` or ``always`` and ``defrag = madvise`` or ``defer+madvise`` (or
    ``enabled = madvise, defrag = always``), a page fault in such an array waits for the kernel to reclaim and
    compact memory into a huge page, and when none can be made it falls back to small pages after the wait
    (numpy issue 31590). On this 2-core VM (no huge page is ever handed out) the 10M-event funnel spent 0.6 to
    0.9 s of its 2.5 s in those waits. False when the user chose through ``NUMPY_MADVISE_HUGEPAGE`` (their
    choice stands), off Linux, or when numpy has no switch for it.
    """
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ or _switch() is None:
        return False
    enabled, defrag = _selected(_THP / "enabled"), _selected(_THP / "defrag")
    if enabled not in ("always", "madvise"):
        return False
    return defrag in ("madvise", "defer+madvise") or (defrag == "always" and enabled == "madvise")


def _switch():
    """numpy's setter of the huge-page advice (``_set_madvise_hugepage``, returns the previous value), or None."""
    core = getattr(np, "_core", None)
    return getattr(getattr(core, "multiarray", None), "_set_madvise_hugepage", None)


@contextlib.contextmanager
def plain_pages():
    """Context manager: numpy allocates without the huge-page advice inside it where that advice stalls
    (:func:`hugepage_advice_stalls`), and restores numpy's setting on leaving. Nested and concurrent uses
    (threads) share one switch: the setting comes back when the last one leaves. Elsewhere it does nothing."""
    global _depth, _saved
    if not hugepage_advice_stalls():
        yield
        return
    switch = _switch()
    with _lock:
        if _depth == 0:
            _saved = bool(switch(False))
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                switch(_saved)
