"""Two runs of one campaign give the same results: every results file (JSON and CSV) equal; run metadata and file
locations are left out (they differ between two runs by design). Used by the Spark-equals-DuckDB campaign tests.

What "equal" means for numbers. Two engines add floating-point numbers in different orders, so a sum can differ in
its last bits (about 1e-16 relative). Hence:

- numbers equal to 1e-9, relative or absolute;
- a number rounded for output (a CSV or JSON value with k >= 1 decimals, e.g. money to the cent) may differ by one
  unit of its last decimal: two unrounded values 1e-16 apart can sit on either side of a rounding boundary;
- numbers inside a text (findings, formatted as 1,234.57 or 12.3%) are compared as numbers, to 1e-6 relative or one
  unit of their last printed digit (a Monte Carlo interval from a model fitted on inputs equal to 1e-12 moves by
  about 1e-7); every other character of the text must be equal;
- integers (counts, ids) exactly.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd

SKIP_KEYS = {"generated_at", "run_id", "campaign", "title", "inputs_fingerprint", "inputs", "upstream", "seconds"}
SKIP_KEYS |= {"path", "quarantine_path", "files", "notes", "params_file", "duration_s", "elapsed"}

_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _decimals(x: float) -> int | None:
    """The k in 1..6 such that ``x`` is a multiple of 10^-k (a value rounded to k decimals), else None."""
    if not math.isfinite(x):
        return None
    for k in range(1, 7):
        v = x * 10**k
        if abs(v - round(v)) < 1e-6 * max(1.0, abs(v)) * 1e-3:
            return k
    return None


def _close(a: float, b: float, decimals: int | None = None, rel_cap: float = 1e-4) -> bool:
    """Equal to 1e-9; or, for values rounded to ``decimals`` (k >= 1; guessed per value when None), one unit of the
    last decimal apart (within ``rel_cap`` relative when guessed: a cent on 0.25 is a different rate, not noise)."""
    if (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9):
        return True
    if float(a).is_integer() and float(b).is_integer():
        return False
    if decimals is None:
        ka, kb = _decimals(a), _decimals(b)
        if ka is None or kb is None or not math.isclose(a, b, rel_tol=rel_cap):
            return False
        decimals = max(ka, kb)
    return decimals > 0 and abs(a - b) <= 10.0**-decimals * (1 + 1e-9)


def _column_decimals(*cols: pd.Series) -> int | None:
    """k when every value of the columns is rounded to at most k >= 1 decimals, else None."""
    vals = [float(v) for c in cols for v in c.dropna()]
    ks = [_decimals(v) for v in vals if math.isfinite(v) and not v.is_integer()]
    return None if not ks or None in ks else max(k for k in ks if k is not None)


def _same_text(a: str, b: str) -> bool:
    if _NUMBER.split(a) != _NUMBER.split(b):
        return False
    for x, y in zip(_NUMBER.findall(a), _NUMBER.findall(b), strict=True):
        if x == y:
            continue
        fx, fy = float(x.replace(",", "")), float(y.replace(",", ""))
        last = 10.0 ** -len(x.split(".")[1]) if "." in x else 1.0
        flip = abs(fx - fy) <= last * (1 + 1e-9) and math.isclose(fx, fy, rel_tol=1e-4)
        if not (math.isclose(fx, fy, rel_tol=1e-6) or flip):
            return False
    return True


def same_json(a, b, where: str, skip: set[str] = SKIP_KEYS) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) - skip == set(b) - skip, (where, sorted(set(a) ^ set(b)))
        for k in set(a) - skip:
            same_json(a[k], b[k], f"{where}.{k}", skip)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), (where, len(a), len(b) if isinstance(b, list) else b)
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same_json(x, y, f"{where}[{i}]", skip)
    elif isinstance(a, float | int) and not isinstance(a, bool):
        assert isinstance(b, float | int) and not isinstance(b, bool), (where, a, b)
        if isinstance(a, int) and isinstance(b, int):
            assert a == b, (where, a, b)
        else:
            assert _close(float(a), float(b)), (where, a, b)
    elif isinstance(a, str) and isinstance(b, str):
        assert a == b or _same_text(a, b), (where, a, b)
    else:
        assert a == b, (where, a, b)


def same_csv(a: Path, b: Path, skip: set[str] = SKIP_KEYS) -> None:
    x, y = pd.read_csv(a), pd.read_csv(b)
    assert list(x.columns) == list(y.columns), (a.name, list(x.columns), list(y.columns))
    assert len(x) == len(y), (a.name, len(x), len(y))
    for c in x.columns:
        if c in skip:
            continue
        u, v = x[c], y[c]
        if pd.api.types.is_numeric_dtype(u) and pd.api.types.is_numeric_dtype(v):
            k = _column_decimals(u, v)  # a column rounded for output (money to the cent): one unit of it may flip
            fu, fv = u.astype(float), v.astype(float)
            bad = [i for i, (p, q) in enumerate(zip(fu, fv, strict=True)) if not _close(p, q, k or 0)]
            assert not bad, (a.name, c, [(int(i), u.iloc[i], v.iloc[i]) for i in bad[:5]], f"{len(bad)} rows")
        else:
            su, sv = u.astype(object).where(u.notna(), None), v.astype(object).where(v.notna(), None)
            bad = [
                i
                for i, (p, q) in enumerate(zip(su, sv, strict=True))
                if not (p == q or (isinstance(p, str) and isinstance(q, str) and _same_text(p, q)))
            ]
            assert not bad, (a.name, c, [(int(i), su.iloc[i], sv.iloc[i]) for i in bad[:5]], f"{len(bad)} rows")


def compare_results(a: Path, b: Path, skip_files: frozenset[str] = frozenset()) -> list[str]:
    """Assert that the results folders ``a`` and ``b`` hold the same files with the same numbers (every
    difference of every file in one message); returns the names compared."""
    names = sorted(f.name for f in a.iterdir() if f.name not in skip_files)
    other = sorted(f.name for f in b.iterdir() if f.name not in skip_files)
    assert names == other, sorted(set(names) ^ set(other))
    problems = []
    for name in names:
        try:
            if name.endswith(".json"):
                same_json(json.loads((a / name).read_text()), json.loads((b / name).read_text()), name)
            elif name.endswith(".csv"):
                same_csv(a / name, b / name)
        except AssertionError as e:
            problems.append(f"{name}: {str(e)[:600]}")
    assert not problems, f"{len(problems)} of {len(names)} results files differ:\n" + "\n".join(problems)
    return names
