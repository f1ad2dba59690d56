"""helpers.arrays.sort_keys sorts like np.sort on nearly sorted, reversed, random, tied and tiny inputs (both of
its branches); plain_pages switches numpy's huge-page advice off where the kernel's settings make it stall, and
restores it (nested, decorated, from two threads)."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from helpers import arrays
from helpers.arrays import NEARLY_SORTED, sort_keys


def _cases():
    rng = np.random.default_rng(0)
    nearly = np.sort(rng.integers(0, 2**60, 50_000))
    i = rng.integers(0, len(nearly), 200)
    nearly[i] = rng.integers(0, 2**60, len(i))
    return {
        "nearly_sorted": nearly,
        "random": rng.integers(-(2**60), 2**60, 50_000),
        "reversed": np.arange(10_000, dtype=np.int64)[::-1].copy(),
        "ties": rng.integers(0, 5, 10_000),
        "one": np.array([7], dtype=np.int64),
        "empty": np.zeros(0, dtype=np.int64),
    }


@pytest.mark.parametrize("name", sorted(_cases()))
def test_sorts_like_numpy(name):
    a = _cases()[name]
    expect = np.sort(a)
    out = sort_keys(a)
    assert out is a and np.array_equal(a, expect)


def test_both_branches_are_taken():
    c = _cases()
    share = {k: np.count_nonzero(v[1:] < v[:-1]) / max(len(v), 1) for k, v in c.items()}
    assert share["nearly_sorted"] < NEARLY_SORTED < share["random"]


# --------------------------------------------------------------------------------------------- plain_pages
_get = np._core.multiarray._get_madvise_hugepage


def _thp(tmp_path, enabled: str, defrag: str):
    (tmp_path / "enabled").write_text(enabled + "\n")
    (tmp_path / "defrag").write_text(defrag + "\n")
    return tmp_path


@pytest.mark.parametrize(
    "enabled, defrag, stalls",
    [
        ("always [madvise] never", "always defer defer+madvise [madvise] never", True),  # this machine
        ("[always] madvise never", "always defer [defer+madvise] madvise never", True),
        ("always [madvise] never", "[always] defer defer+madvise madvise never", True),
        ("[always] madvise never", "[always] defer defer+madvise madvise never", False),  # every fault waits anyway
        ("always [madvise] never", "always [defer] defer+madvise madvise never", False),  # compaction in background
        ("always madvise [never]", "always defer defer+madvise [madvise] never", False),  # no huge pages at all
    ],
)
def test_hugepage_advice_stalls_reads_the_kernel_settings(tmp_path, monkeypatch, enabled, defrag, stalls):
    monkeypatch.setattr(arrays, "_THP", _thp(tmp_path, enabled, defrag))
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    arrays.hugepage_advice_stalls.cache_clear()
    try:
        assert arrays.hugepage_advice_stalls() is stalls
        monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")  # the user's own choice stands
        arrays.hugepage_advice_stalls.cache_clear()
        assert arrays.hugepage_advice_stalls() is False
        monkeypatch.setattr(arrays, "_THP", tmp_path / "missing")  # no such settings (not Linux)
        monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE")
        arrays.hugepage_advice_stalls.cache_clear()
        assert arrays.hugepage_advice_stalls() is False
    finally:
        arrays.hugepage_advice_stalls.cache_clear()


def test_plain_pages_switches_the_advice_off_inside_and_restores_it(monkeypatch):
    monkeypatch.setattr(arrays, "hugepage_advice_stalls", lambda: True)
    before = _get()
    with arrays.plain_pages():
        assert _get() is False
        with arrays.plain_pages():  # nested
            assert _get() is False
        assert _get() is False  # the outer one still holds it
    assert _get() is before

    @arrays.plain_pages()
    def decorated():
        return _get()

    assert decorated() is False and _get() is before


def test_plain_pages_from_two_threads_restores_after_the_last_one_leaves(monkeypatch):
    monkeypatch.setattr(arrays, "hugepage_advice_stalls", lambda: True)
    before = _get()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with arrays.plain_pages():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second():
        first_in.wait(5)
        with arrays.plain_pages():
            second_in.set()
            first_out.wait(5)
            seen["after first left"] = _get()
        seen["after both left"] = _get()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(10)
    assert seen == {"after first left": False, "after both left": before}


def test_plain_pages_does_nothing_where_the_advice_does_not_stall(monkeypatch):
    monkeypatch.setattr(arrays, "hugepage_advice_stalls", lambda: False)
    switched = []
    monkeypatch.setattr(arrays, "_switch", lambda: switched.append(1))
    with arrays.plain_pages():
        pass
    assert switched == []


# ------------------------------------------------------------------------------------------------------ as_us
@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_as_us_gives_microseconds_from_any_arrow_unit(unit):
    import pyarrow as pa

    us = np.array([0, 1_000_000, 1_706_000_000_123_000, -86_400_000_000], dtype=np.int64)
    if unit == "s":
        us = us // 1_000_000 * 1_000_000
    elif unit == "ms":
        us = us // 1_000 * 1_000
    values = us.astype("datetime64[us]").astype(f"datetime64[{unit}]")
    chunked = pa.chunked_array([pa.array(values[:2]), pa.array(values[2:])])  # several chunks: a copy
    for col in (pa.array(values), chunked):
        got = arrays.as_us(col)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, us)


# ------------------------------------------------------------------------------------------- reused_memory
MB64 = 64 * 1024 * 1024


def _faults() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _touch_faults() -> int:
    """Page faults of making (and touching) one 64 MiB array, which is then freed."""
    f0 = _faults()
    a = np.ones(MB64 // 8)
    n = _faults() - f0
    del a
    return n


def _measure(case: str) -> dict:
    """The page faults and memory of one case, measured in this (fresh) process: see :func:`_fresh`."""
    switch = arrays._switch()
    if switch:
        switch(False)  # a fault is one 4 KiB page whatever the kernel's settings
    out: dict = {}
    if case == "reuse":
        before = _rss()
        out["default"] = [_touch_faults(), _touch_faults()]
        with arrays.reused_memory():
            _touch_faults()  # the heap grows once
            out["held"] = _rss() - before
            with arrays.reused_memory():  # nested: one setting
                out["nested"] = _touch_faults()
            out["outer"] = _touch_faults()
        out["left"] = _rss() - before
        out["after"] = _touch_faults()
    elif case == "off":
        with arrays.reused_memory():
            _touch_faults()
            out["inside"] = _touch_faults()
    elif case == "array_work":
        arrays.hugepage_advice_stalls = lambda: True
        with arrays.array_work():
            out["depths"] = [arrays._pages._depth, arrays._heap._depth]
            out["advice"] = _get()
            _touch_faults()
            out["inside"] = _touch_faults()
        out["depths_after"] = [arrays._pages._depth, arrays._heap._depth]
        out["after"] = _touch_faults()

        @arrays.array_work()
        def decorated():
            _touch_faults()
            return [arrays._pages._depth, arrays._heap._depth], _touch_faults()

        out["decorated_depths"], out["decorated"] = decorated()
    return out


def _fresh(case: str, **env: str) -> dict:
    """:func:`_measure` in a new interpreter: malloc's settings are process-wide, so a measurement in a test worker
    would depend on what ran there before (a CI run saw no page fault at all for a new 64 MiB array in one worker).
    The child's environment has no malloc tuning but ``env``."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    clean = {k: v for k, v in os.environ.items() if not (k.startswith("MALLOC_") and k.endswith("_"))}
    clean.pop("UBAKIT_REUSE_MEMORY", None)
    if "glibc.malloc" in clean.get("GLIBC_TUNABLES", ""):
        clean.pop("GLIBC_TUNABLES")
    code = f"import json; from tests.test_arrays import _measure; print(json.dumps(_measure({case!r})))"
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env={**clean, **env}, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


PAGES = MB64 // os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(arrays._glibc() is None, reason="glibc's malloc only")
def test_reused_memory_reuses_freed_arrays_and_gives_them_back():
    m = _fresh("reuse")
    assert min(m["default"]) > PAGES // 2, m  # by default: a new mapping, every page faulted in again
    assert m["nested"] < PAGES // 20, m  # inside (nested: one setting), the freed block again: no new pages
    assert m["outer"] < PAGES // 20, m  # the inner one left, the outer one still holds
    assert m["held"] > MB64 // 2, m  # freed, but kept for the next array inside
    assert m["left"] < MB64 // 4, m  # given back on leaving
    assert m["after"] > PAGES // 2, m  # and large arrays are mapped on their own again


@pytest.mark.skipif(arrays._glibc() is None, reason="glibc's malloc only")
@pytest.mark.parametrize(
    "name, value",
    [("UBAKIT_REUSE_MEMORY", "0"), ("MALLOC_TRIM_THRESHOLD_", "0"), ("GLIBC_TUNABLES", "glibc.malloc.mmap_max=9")],
)
def test_reused_memory_can_be_turned_off_and_leaves_a_tuned_malloc_alone(name, value):
    m = _fresh("off", **{name: value})
    assert m["inside"] > PAGES // 2, m  # nothing reused: each large array is a new mapping


@pytest.mark.skipif(arrays._glibc() is None, reason="glibc's malloc only")
def test_array_work_holds_both_settings():
    """``array_work`` is ``plain_pages`` and ``reused_memory`` at once, as a context and as a decorator."""
    m = _fresh("array_work")
    assert m["depths"] == [1, 1] and m["advice"] is False and m["inside"] < PAGES // 20, m  # freed memory reused
    assert m["depths_after"] == [0, 0] and m["after"] > PAGES // 2, m
    assert m["decorated_depths"] == [1, 1] and m["decorated"] < PAGES // 20, m


def test_a_shared_setting_is_applied_once_and_restored_by_the_last_to_leave():
    calls = []
    shared = arrays._Shared()
    with shared.held(lambda: calls.append("apply") or "saved", lambda v: calls.append(("restore", v))):
        with shared.held(lambda: calls.append("apply again"), lambda v: calls.append(("restore inner", v))):
            pass
        assert calls == ["apply"]
    assert calls == ["apply", ("restore", "saved")]
    with pytest.raises(ZeroDivisionError), shared.held(lambda: 1, lambda v: calls.append(("restore", v))):
        1 / 0  # noqa: B018
    assert calls[-1] == ("restore", 1) and shared._depth == 0
