"""helpers.arrays.sort_keys sorts like np.sort on nearly sorted, reversed, random, tied and tiny inputs (both of
its branches)."""

from __future__ import annotations

import numpy as np
import pytest

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
