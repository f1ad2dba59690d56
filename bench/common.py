"""Shared bits of the benchmark scripts: output folder, the benchmark's fixed settings, result files."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"

# settings of the Scale benchmark (bench/run.py); the synthetic log is bench/generate.py's
FUNNEL_STEPS = ("pv", "cart", "buy")
WINDOW_HOURS = 72
SESSION_GAP_MINUTES = 30
EVENT_TYPES = ("buy", "cart", "fav", "pv")  # sorted, as user_features() names its n_<event> columns
START = pd.Timestamp("2024-03-01")  # generate.START
END = START + pd.Timedelta(days=30)  # exclusive: generate.DAYS after START
LAST_DAY = END - pd.Timedelta(days=1)  # the analysis period is START .. LAST_DAY, inclusive days
TIMEZONE = "Asia/Shanghai"
DUCKDB_MEMORY_LIMIT = "6GB"


@dataclass(frozen=True)
class Case:
    """One benchmark input: the canonical Parquet log, its raw CSV form, and scratch folders."""

    rows: int
    parquet: Path
    csv: Path
    work: Path  # scratch folder of one run (ingest outputs); deleted after it
    spill: Path  # DuckDB temp_directory


def write_rows(name: str, rows: list[dict]) -> Path:
    """Write benchmark rows as ``bench/out/<name>.csv`` and return the path."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.csv"
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def best_of(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """The shortest of ``repeat`` timed calls of ``fn`` (seconds) and the last call's result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out
