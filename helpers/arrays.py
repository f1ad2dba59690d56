"""numpy helpers shared by the DuckDB fast paths (funnel, attribution): sorting int64 keys, the time unit of their
keys, and :func:`plain_pages` and :func:`reused_memory` (together: :func:`array_work`) for their large temporary
arrays."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import sys
import threading
from pathlib import Path

import numpy as np

__all__ = [
    "sort_keys",
    "as_us",
    "time_unit",
    "plain_pages",
    "hugepage_advice_stalls",
    "reused_memory",
    "array_work",
]

_THP = Path("/sys/kernel/mm/transparent_hugepage")

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
    """A timestamp column (numpy datetime64, pyarrow array or chunked array, any unit, nulls not expected) as int64
    microseconds."""
    values = col if isinstance(col, np.ndarray) else col.to_numpy(zero_copy_only=False)
    return np.asarray(values, dtype="datetime64[us]").view("int64")


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


class _Shared:
    """A process-wide setting shared by nested and concurrent users (threads): :meth:`held` applies it when the
    first one enters and restores it when the last one leaves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._saved = None

    @contextlib.contextmanager
    def held(self, apply, restore):
        """Context manager: ``apply()`` on the first entry (its value kept), ``restore(value)`` on the last exit."""
        with self._lock:
            if self._depth == 0:
                self._saved = apply()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0:
                    restore(self._saved)


_pages = _Shared()
_heap = _Shared()


@contextlib.contextmanager
def plain_pages():
    """Context manager: numpy allocates without the huge-page advice inside it where that advice stalls
    (:func:`hugepage_advice_stalls`), and restores numpy's setting on leaving. Nested and concurrent uses
    (threads) share one switch: the setting comes back when the last one leaves. Elsewhere it does nothing."""
    if not hugepage_advice_stalls():
        yield
        return
    switch = _switch()
    with _pages.held(lambda: bool(switch(False)), switch):
        yield


# ------------------------------------------------------------------------------------------- freed memory reused
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_MMAP_MAX = -1, -3, -4  # glibc's mallopt parameters (malloc.h)
#: after :func:`reused_memory`: blocks from 32 MiB are mapped on their own and given back when freed, and free
#: memory above 64 MiB at the heap's top is given back: where glibc's own moving thresholds end up in a process
#: that has freed one large array (its maximum, 32 MiB on 64-bit, and twice that)
_MMAP_THRESHOLD_AFTER = 32 * 1024 * 1024
_TRIM_THRESHOLD_AFTER = 64 * 1024 * 1024
_DEFAULT_MMAP_MAX = 65536


@functools.cache
def _glibc():
    """The process's C library when it is glibc (``mallopt`` and ``malloc_trim``), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 -- glibc only (musl has no such function)
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


@contextlib.contextmanager
def reused_memory():
    """Context manager: inside it glibc's malloc takes even large blocks from its heap and keeps the freed ones
    there, so that the next large array reuses memory the process already has instead of mapping new pages
    from the kernel (each first touch of a 4 KiB page is a page fault); on leaving, the free memory goes back to
    the system (``malloc_trim``).

    By default glibc maps every array of 32 MiB or more on its own and unmaps it when freed, so a numpy pipeline
    of many large temporaries pays for every page of every one: the 100M-event funnel's fast path took 2.4M
    page faults and 18.2 to 24.6 s, and 1.1M page faults and 14.1 to 15.9 s inside this (peak RSS 5.8 GiB
    against 5.0 GiB; 2026-12-05). Nested and concurrent uses (threads) share the setting, which the last one to
    leave sets back to where glibc's own thresholds end up (:data:`_MMAP_THRESHOLD_AFTER`). Off glibc it does
    nothing, nor when the process's malloc was tuned through the environment (``MALLOC_*_`` or a ``glibc.malloc``
    tunable: that choice stands); ``UBAKIT_REUSE_MEMORY=0`` turns it off."""
    libc = _glibc()
    if libc is None or os.environ.get("UBAKIT_REUSE_MEMORY") == "0" or _malloc_tuned():
        yield
        return

    def keep_freed():
        libc.mallopt(_M_MMAP_MAX, 0)  # no block mapped on its own: all from the heap
        libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)  # and what is freed stays there for the next one

    def give_back(_):
        libc.mallopt(_M_MMAP_MAX, _DEFAULT_MMAP_MAX)
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_AFTER)
        libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_AFTER)
        libc.malloc_trim(0)

    with _heap.held(keep_freed, give_back):
        yield


@contextlib.contextmanager
def array_work():
    """Context manager (and decorator) for large numpy work: :func:`plain_pages` and :func:`reused_memory`."""
    with plain_pages(), reused_memory():
        yield


def _malloc_tuned() -> bool:
    """Whether the environment set glibc's malloc parameters (``MALLOC_TRIM_THRESHOLD_`` and the like, or
    ``GLIBC_TUNABLES=glibc.malloc...``)."""
    env = os.environ
    return any(k.startswith("MALLOC_") and k.endswith("_") for k in env) or "glibc.malloc" in env.get(
        "GLIBC_TUNABLES", ""
    )
