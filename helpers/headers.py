"""The header check of ``python -m helpers validate``: every column a table maps (``tables.<t>.columns``) is in
its file's columns, as ingest's reader names them, so that a typo (``ts: evnt_time``) is found before a run, not
after ingest has started. A CSV file's header is read by the same reader with the same options
(:func:`helpers.sources.csv_columns`) from the file's first lines, transcoded to UTF-8 as ingest does; Parquet files
give their schemas and Excel workbooks their header rows. A file that cannot be read here is left to ingest, which
says why; JSON lines are not checked (their keys are known only after every line is read).
"""

from __future__ import annotations

import glob
import os
import tempfile
from pathlib import Path

from .cleaning import extra_columns
from .params import Campaign, resolve_input
from .schema import TABLES
from .sources import _format_of, csv_columns
from .textfiles import detect_encoding
from .values import _closest

__all__ = ["header_problems"]

#: lines of the file read to find its header (the header and a few rows, for the delimiter)
HEAD_LINES = 200


def header_problems(cfg: Campaign) -> list[tuple[str, str]]:
    """``(key path, problem)`` for every ``tables.<t>.columns`` entry naming a column that is not in the table's
    file (:func:`_file_header`: files with ``header: false``, whitespace-aligned text, JSON lines, a demo's ``{raw}``
    path and files that cannot be read are not checked here)."""
    out: list[tuple[str, str]] = []
    for name in cfg.table_names:
        spec = cfg.spec(name)
        head = _file_header(spec) if spec.columns else None
        if head is None:
            continue
        names, where, noun = head
        for key, col in spec.columns.items():
            if col not in names:
                out.append(
                    (
                        f"tables.{name}.columns.{key}",
                        f"column {col!r} is not in the {noun} of {where}{_closest(col, names)}; "
                        f"the file has: {', '.join(names)}",
                    )
                )
    return out + _assignment_problems(cfg) + _segment_problems(cfg) + _events_column_problems(cfg)


def _file_header(spec) -> tuple[list[str], str, str] | None:
    """The columns ingest's reader gives a table's file, the file's name and what holds the names (``header``,
    ``schema`` or ``header row``): the header of its first CSV file, the
    schemas of its Parquet files, the header rows of its Excel workbooks' sheet (each file: ingest reads them
    by name, as one). None for a table not read that way (derived, ``header: false``, whitespace-aligned, JSON
    lines, whose keys are known only after every line is read, a demo's ``{raw}`` path) or a file that cannot be
    read here."""
    src = spec.source
    if src is None or not src.header or src.delimiter == "whitespace":
        return None
    try:
        files = sorted(glob.glob(resolve_input(src.path)))
    except ValueError:  # '{raw}' outside a demo: the params check says so
        return None
    if not files:
        return None
    fmt = _format_of(files[0], src.format)
    where = os.path.basename(files[0]) + (" ..." if len(files) > 1 and fmt != "csv" else "")
    if fmt == "csv":
        names = _header(files[0], src)
    elif fmt in ("parquet", "excel"):
        names = _union_columns(files, src, fmt)
    else:
        return None
    noun = {"csv": "header", "parquet": "schema", "excel": "header row"}[fmt]
    return None if names is None else (names, where, noun)


def _union_columns(files: list[str], src, fmt: str) -> list[str] | None:
    """The columns of Parquet files (their schemas) or Excel workbooks (the header row of ``source.sheet``, read as
    ingest reads it, by pandas), in order of first appearance, as ingest's union by name has them."""
    names: dict[str, None] = {}
    try:
        for f in files:
            if fmt == "parquet":
                import pyarrow.parquet as pq

                cols = [str(c) for c in pq.read_schema(f).names]
            else:
                import pandas as pd

                sheet = src.sheet if src.sheet is not None else 0
                cols = [str(c) for c in pd.read_excel(f, sheet_name=sheet, nrows=0, dtype=str).columns]
            names.update(dict.fromkeys(c for c in cols if c != "filename"))
    except Exception:  # noqa: BLE001 — unreadable here: ingest reads it and says why
        return None
    return list(names)


def _clean_columns(table: str, spec, names: list[str]) -> list[str]:
    """The columns the clean table ``table`` will have from a file whose header is ``names``, as ingest names them:
    canonical columns the file maps or has, ``derive:`` keys, and (``keep_extra``) the file's other columns."""
    canon = [c.name for c in TABLES[table]]
    have = [c for c in canon if spec.columns.get(c, c) in names or c in spec.derive]
    return list(dict.fromkeys(have + list(extra_columns(spec, canon, names))))


def _events_column_problems(cfg: Campaign) -> list[tuple[str, str]]:
    """The events columns the analyses name (``funnel.breakdown``, the funnel steps' ``where`` columns,
    ``attribution.touch_col``, an experiment's ``event_property`` assignment column) against the columns the clean
    events table will have from its CSV file. Found here, a typo does not wait for ingest (or, for
    ``touch_col``, for the attribution report)."""
    from .checks import column_refs

    spec = cfg.tables.events
    head = _file_header(spec) if spec is not None else None
    if head is None:
        return []
    have = _clean_columns("events", spec, head[0])
    refs = list(column_refs(cfg))
    at = cfg.attribution
    if at is not None and at.touch_col:
        refs.append(("attribution.touch_col", at.touch_col))
    ex = cfg.experiment
    if ex is not None and ex.assignment.source == "event_property":
        refs.append(("experiment.assignment.column", ex.assignment.column))
    return [
        (loc, f"column {col!r} will not be in the events table (from {head[1]}){_closest(col, have)}; its columns: "
              f"{', '.join(have)}")
        for loc, col in refs
        if col not in have
    ]  # fmt: skip


def _segment_problems(cfg: Campaign) -> list[tuple[str, str]]:
    """``experiment.segment`` names a column the clean users table will have: a canonical column the file maps or
    has, a ``derive:`` key, or (``keep_extra``) another column of the file, as ingest names it. A typo left the
    segments out only at run time."""
    ex = cfg.experiment
    if ex is None or not ex.segment:
        return []
    spec = cfg.tables.users
    if spec is None:
        return [("experiment.segment", f"{ex.segment!r} is a users-table column, and this campaign has no "
                 "tables.users")]  # fmt: skip
    head = _file_header(spec)
    if head is None:
        return []
    names, where, _ = head
    have = _clean_columns("users", spec, names)
    if ex.segment in have:
        return []
    return [
        (
            "experiment.segment",
            f"column {ex.segment!r} will not be in the users table (from {where}){_closest(ex.segment, have)}; "
            f"its columns: {', '.join(have)}",
        )
    ]


def _assignment_problems(cfg: Campaign) -> list[tuple[str, str]]:
    """The experiment's assignments file (``experiment.assignment.source: table``) has the user and variant
    columns it names (``user_col``, ``column``): read by the report's reader (a CSV's header, a Parquet file's
    schema). A file that is not there is the params check's; one that cannot be read is left to the run."""
    ex = cfg.experiment
    a = ex.assignment if ex is not None else None
    if a is None or a.source != "table" or not a.path:
        return []
    try:
        from .experiment_run import read_assignments_file  # the report's own reader

        path = Path(resolve_input(a.path))
        names = [str(c) for c in read_assignments_file(path, a.user_col, header_only=True).columns]
    except Exception:  # noqa: BLE001 — missing or unreadable: the params check or the run says why
        return []
    return [
        (
            f"experiment.assignment.{key}",
            f"column {col!r} is not in {path.name}{_closest(col, names)}; the file has: {', '.join(names)}",
        )
        for key, col in (("user_col", a.user_col), ("column", a.column))
        if col not in names
    ]


def _header(path: str, src) -> list[str] | None:
    """The column names ingest's reader gives the file ``path``, from its first :data:`HEAD_LINES` lines."""
    from .textfiles import _open_binary

    try:
        enc = src.encoding if src.encoding != "auto" else detect_encoding(path)
        with _open_binary(path) as fh:
            lines = [fh.readline() for _ in range(HEAD_LINES)]
        text = b"".join(lines).decode(enc, "replace")
        with tempfile.TemporaryDirectory() as tmp:
            head = Path(tmp) / "head.csv"
            head.write_text(text, encoding="utf-8")
            return csv_columns(str(head), src)
    except Exception:  # noqa: BLE001 — unreadable here: ingest reads it and says why
        return None
