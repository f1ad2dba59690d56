"""CSV export rules: machine values without float noise, and a header-label file for humans.

Every key table a report writes (``results/<report>_<table>.csv``, :func:`helpers.report.save_results`) goes
through :func:`csv_frame` first:

- numbers are rounded by column kind: money columns (name matches :data:`MONEY`, e.g. ``revenue``, ``spend``,
  ``clv``, ``aov``) to 2 decimals; float columns whose values are all whole numbers become integers (counts,
  codes such as ``rfm_code``, ``age``); every other float (rates, shares, probabilities, lifts, scores) to 6
  significant digits, never fewer than 2 decimals (``0.0018969956`` -> ``0.001897``, ``-8046.0944`` ->
  ``-8046.09``), so ``372.8599999999999`` is written ``372.86``;
- booleans are written ``true`` / ``false`` (also in text columns holding only booleans and blanks);
- text cells are written as the report made them: machine values (segment codes, event names) stay stable for
  CRM import, labels for people belong on the pages (:func:`bilingual_cells` finds cells mixing a Chinese
  label with English words, for tests).

Column headers stay machine names; ``results/columns.csv`` (:func:`write_columns_file`) maps each column of the
campaign's CSVs to its label in both languages (``col.<column>`` keys of the message catalogue,
helpers/messages/columns.yaml; the column name itself when the catalogue has none) and lists the tables that
hold it. docs/results.md documents both.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from .i18n import LANGUAGES, label

__all__ = ["MONEY", "bilingual_cells", "column_kind", "columns_table", "csv_frame", "round_sig", "write_columns_file"]

#: a column holds money when one of its ``_``-separated name parts is one of these (``revenue_share`` is a rate)
MONEY = re.compile(
    r"(^|_)(revenue|spend|monetary|aov|clv|price|amount|gmv|sales|cost|value_sum|expected_spend|mean_m|"
    r"spend_with|spend_without|spend_diff)(_lo|_hi|_per_user|_with|_without|_diff)?$"
)
#: name parts that make a money-looking column a rate (``revenue_share``, ``clv_lift``)
_RATE_PARTS = ("share", "rate", "pct", "ratio", "lift", "prob", "probability", "elasticity")
#: significant digits of rates and other non-money floats
SIGNIFICANT = 6
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORDS = re.compile(r"[A-Za-z]{2,}(?:[\s-]+[A-Za-z]{2,})+")


def column_kind(name: str, values: pd.Series) -> str:
    """``bool``, ``count`` (whole numbers), ``money``, ``float`` (other numbers) or ``text``."""
    if pd.api.types.is_bool_dtype(values):
        return "bool"
    if not pd.api.types.is_numeric_dtype(values):
        nonnull = values.dropna()
        if len(nonnull) and nonnull.map(lambda v: isinstance(v, (bool, np.bool_))).all():
            return "bool"
        return "text"
    if pd.api.types.is_integer_dtype(values):
        return "count"
    parts = str(name).lower()
    if MONEY.search(parts) and not any(p in parts.split("_") for p in _RATE_PARTS):
        return "money"
    v = values.to_numpy(dtype=float, na_value=np.nan)
    finite = v[np.isfinite(v)]
    if len(finite) and np.all(finite == np.round(finite)) and np.all(np.abs(finite) < 2**53):
        return "count"
    return "float"


def round_sig(values: np.ndarray, digits: int = SIGNIFICANT, *, min_decimals: int = 2) -> np.ndarray:
    """``values`` rounded to ``digits`` significant digits but never fewer than ``min_decimals`` decimals."""
    v = np.asarray(values, dtype=float)
    out = v.copy()
    ok = np.isfinite(v) & (v != 0)
    if not ok.any():
        return out
    mag = np.floor(np.log10(np.abs(v[ok]))).astype(int)
    dec = np.maximum(min_decimals, digits - 1 - mag)
    sub = v[ok]
    res = np.empty_like(sub)
    for d in np.unique(dec):
        m = dec == d
        res[m] = [round(float(x), int(d)) for x in sub[m]] if m.sum() < 64 else np.round(sub[m], int(d))
    out[ok] = res
    return out


def _bool_text(v):
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    return v


def csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with the export rules of the module docstring applied (the frame a CSV is written from)."""
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if isinstance(s, pd.DataFrame):  # duplicate column names: leave them as they are
            continue
        kind = column_kind(str(c), s)
        if kind == "bool":
            out[c] = s.map(_bool_text).astype(object)
        elif kind == "count" and pd.api.types.is_float_dtype(s):
            out[c] = s.round().astype("Int64")
        elif kind == "money":
            out[c] = s.astype(float).round(2)
        elif kind == "float":
            out[c] = round_sig(s.to_numpy(dtype=float, na_value=np.nan))
    return out


def bilingual_cells(df: pd.DataFrame, *, limit: int = 5) -> dict[str, list[str]]:
    """Text columns of ``df`` with cells that mix Chinese characters and a run of 2+ English words (a label made
    for both languages, e.g. ``高活跃 high``), with up to ``limit`` examples each; {} when there are none."""
    out: dict[str, list[str]] = {}
    for c in df.columns:
        s = df[c]
        if isinstance(s, pd.DataFrame) or pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        cells = s.dropna().astype(str)
        bad = cells[cells.map(lambda x: bool(_CJK.search(x)) and bool(_LATIN_WORDS.search(x)))]
        if len(bad):
            out[str(c)] = list(dict.fromkeys(bad))[:limit]
    return out


def _headers(path: Path) -> list[str]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            return next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError):
        return []


def columns_table(results: Path) -> pd.DataFrame:
    """``column``, ``zh``, ``en``, ``tables``: every column of the CSVs listed in ``results/*.json`` (``csv``),
    its labels in both languages, and the CSV files that hold it (``;``-separated), sorted by column."""
    where: dict[str, list[str]] = {}
    for doc_path in sorted(Path(results).glob("*.json")):
        try:
            doc = json.loads(doc_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("csv"), dict):
            continue
        for name in doc["csv"].values():
            f = Path(results) / str(name)
            if Path(str(name)).name != str(name) or not f.is_file():
                continue
            for col in _headers(f):
                where.setdefault(col, []).append(f.name)
    rows = [
        {"column": col, **{lang: label(f"col.{col}", col, lang=lang) for lang in LANGUAGES}, "tables": ";".join(fs)}
        for col, fs in sorted(where.items())
    ]
    return pd.DataFrame(rows, columns=["column", *LANGUAGES, "tables"])


def write_columns_file(results: Path) -> Path:
    """Write ``results/columns.csv`` (:func:`columns_table`, UTF-8 with BOM) atomically; returns its path.

    Rebuilt from all results JSONs each time a report saves, so that reports finishing in any order (or in
    parallel: the last writer sees every JSON written before it) leave one complete file."""
    out = Path(results) / "columns.csv"
    buf = io.StringIO()
    columns_table(Path(results)).to_csv(buf, index=False, lineterminator="\n")
    fd, tmp = tempfile.mkstemp(prefix=".columns.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as f:
            f.write(buf.getvalue())
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return out
