"""Reading raw input files for ingest: encodings (detected or given, per line: :mod:`helpers.textfiles`),
formats (CSV, whitespace-aligned text, Excel, Parquet, JSON lines; gzip; globs), and the DuckDB view that reads
every source column as text, plus the lines the reader could not read, each with a reason (``bad_encoding``,
``line_too_long``, ``bad_csv_line``, ``bad_json_line``) and its line number, so that rows in = clean +
quarantined. Nothing here changes a value; cleaning is :mod:`helpers.ingest`, typed values
:mod:`helpers.values`.
"""

from __future__ import annotations

import hashlib
import os
import re
import zlib
from pathlib import Path

import duckdb

from .errors import IngestError
from .params import Source
from .sqlsafety import sql_name, sql_text
from .textfiles import SAMPLE_BYTES, Prepared, detect_encoding, prepare_text, transcode_to_utf8

__all__ = [
    "detect_encoding",
    "transcode_to_utf8",
    "SAMPLE_BYTES",
    "read_raw",
    "READ_REASONS",
    "engine_message",
    "dedupe_columns",
]

#: reasons given to lines the reader could not turn into a row (before any cleaning rule)
READ_REASONS = ("bad_encoding", "line_too_long", "bad_csv_line", "bad_json_line")
#: characters of a rejected line kept in the quarantine's ``raw_line``
RAW_LINE_CHARS = 2000
#: a table's only CSV file is read into a table in memory (:func:`_scan_csv_direct`) when its text (a gzip file's
#: counted 5 times its size) is at most this share of DuckDB's memory limit, else into the working Parquet file.
#: The table takes about twice the file's bytes (the 10M-row benchmark file, 305 MB: 612 MB), and cleaning's
#: tables need the rest; a larger file would spill the table, as it did at 100M rows.
IN_MEMORY_SHARE = 1 / 8


# ------------------------------------------------------------------------------------------- SQL helpers
_ident = sql_name


def _lit(value) -> str:
    """A SQL literal: NULL, a number (as a DOUBLE) or a string (:func:`helpers.sqlsafety.sql_text`)."""
    if value is None:
        return "NULL"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(float(value))
    return sql_text(value)


def _list_lit(values) -> str:
    return "[" + ", ".join(_lit(v) for v in values) + "]"


# ------------------------------------------------------------------------------------------- reading
def _format_of(path: str, declared: str) -> str:
    if declared != "auto":
        return declared
    p = path.lower().removesuffix(".gz")
    for ext, fmt in (
        (".csv", "csv"),
        (".tsv", "csv"),
        (".txt", "csv"),
        (".xlsx", "excel"),
        (".xls", "excel"),
        (".parquet", "parquet"),
        (".pq", "parquet"),
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".json", "jsonl"),
    ):
        if p.endswith(ext):
            return fmt
    raise IngestError(
        f"{path}: cannot tell the file format from its name; set tables.<table>.source.format "
        "(csv, excel, parquet or jsonl)"
    )


def _cache_name(path: str, suffix: str) -> str:
    st = os.stat(path)
    key = f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}"
    return hashlib.sha1(key.encode()).hexdigest()[:16] + suffix


_READ_COLS = "__file, __fi, __ord, __read_reason, __line, __raw_line"


def dedupe_columns(src_cols: list[str]) -> list[str]:
    """The source columns two rows must be equal on (trimmed, empty = NULL) to be duplicates: all of them
    (docs/cleaning.md, reason 1). The one definition of both the hash :func:`read_raw` stores and the window of
    :func:`helpers.cleaning.cleaning_sql` that compares the values."""
    return list(src_cols)


def _trimmed(cols: list[str]) -> str:
    """Every source column as trimmed text, empty -> NULL: the raw view's values."""
    return ", ".join(f"NULLIF(TRIM(CAST({_ident(c)} AS VARCHAR)), '') AS {_ident(c)}" for c in cols)


def _hash_of(cols: list[str]) -> str:
    """The raw view's ``__h``: the hash of the trimmed :func:`dedupe_columns`."""
    return f"hash({', '.join(_ident(c) for c in dedupe_columns(cols)) or 'NULL'})"


def _rejects_rows(name: str, nulls: str, hashed: bool) -> str:
    """The reader's rejects as rows of the raw view (``nulls``: the source columns, all NULL)."""
    return (
        f"SELECT {nulls}{', ' if nulls else ''}__file, CAST(NULL AS BIGINT), __read_reason, __line, __raw_line"
        f"{', CAST(NULL AS UBIGINT)' if hashed else ''} FROM {name}__rejects"
    )


def read_raw(
    con, name: str, source: Source, files: list[str], fmt: str, cache: Path, *, table: str, notes=None, hashed=False
):
    """Create the temp view ``name`` (over a Parquet file in the campaign cache, :func:`work_dir`): every source
    column as trimmed text (empty -> NULL), ``__file``, ``__row`` (1-based data row), and, for lines the reader
    could not read, one row each with all source columns NULL, ``__read_reason``, ``__line`` (line number in the raw
    file) and ``__raw_line`` (its first characters). With ``hashed``, also ``__h``: the hash of the trimmed
    :func:`dedupe_columns` of a read row (NULL for the reader's rejects), which ingest's duplicate search groups on
    (:func:`helpers.ingest.duplicate_rows_sql`). Returns ``(source column names, encodings read)``; what the reader
    had to relax is appended to ``notes``.

    The file is written once, so the trimming and the hash are computed once, not on every later scan; the
    reader's per-file tables are dropped after it. :func:`drop_raw` removes it when the table is ingested.

    Raises :class:`IngestError` naming the table, the file, the line and the source option to set, with the
    engine's whole message, when a file cannot be read at all.
    """
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name}__rejects (__file VARCHAR, __fi BIGINT, __ord BIGINT, "
        "__read_reason VARCHAR, __line BIGINT, __raw_line VARCHAR)"
    )
    encoding = None
    parts: list[str] = []
    out = work_dir(cache) / f"{name}.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    con.execute(f"DROP TABLE IF EXISTS {name}__rows")  # an earlier read's on this connection (_scan_csv_direct)
    if fmt == "csv":
        encs = set()
        direct = out if len(files) == 1 else None  # one file: straight to the working file (_scan_csv)
        for i, f in enumerate(files):
            encs.add(_read_csv_file(con, name, i, f, source, cache, table, notes if notes is not None else [], direct))
            parts.append(f"SELECT *, {_lit(f)} AS __file, {i} AS __fi FROM {name}__f{i}")
        encoding = ",".join(sorted(encs))
        if direct is not None:  # read by _scan_csv_direct: into the table in memory, else the working file
            in_memory = _relation_exists(con, f"{name}__rows")
            if in_memory or direct.exists():
                return _direct_view(con, name, direct, files[0], hashed, in_memory), encoding
    elif fmt == "jsonl":
        for i, f in enumerate(files):
            _read_jsonl_file(con, name, i, f, source, table)
            parts.append(f"SELECT * FROM {name}__f{i}")
    elif fmt == "excel":
        for i, f in enumerate(files):
            out = _excel_copy(f, source, cache, table)
            parts.append(
                f"SELECT *, {_lit(f)} AS __file, {i} AS __fi, row_number() OVER () AS __ord "
                f"FROM read_parquet({_lit(str(out))})"
            )
    elif fmt == "parquet":
        parts.append(
            "SELECT * EXCLUDE (filename), filename AS __file, 0 AS __fi, row_number() OVER () AS __ord "
            f"FROM read_parquet({_list_lit(files)}, filename = true, union_by_name = true)"
        )
    else:
        raise IngestError(f"tables.{table}.source.format: unsupported format {fmt!r}")
    try:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name}__any AS {' UNION ALL BY NAME '.join(parts)}")
        cols = [r[0] for r in con.execute(f"DESCRIBE {name}__any").fetchall()]
    except duckdb.Error as e:
        raise IngestError(
            f"tables.{table}: cannot read {_where(files)} as {fmt}: {engine_message(e)}\n"
            f"  fix: {_hint(str(e), table, source, fmt)}"
        ) from None
    src_cols = [c for c in cols if c not in ("__file", "__fi", "__ord", "filename")]
    casts = _trimmed(src_cols)
    nulls = ", ".join(f"CAST(NULL AS VARCHAR) AS {_ident(c)}" for c in src_cols)
    # typed date/time columns (Parquet TIMESTAMP / TIMESTAMPTZ) are also kept as read, as "__typed_<col>", so that
    # ingest converts them to campaign-local time directly, never through text (helpers.values.typed_ts_sql)
    kinds = {r[0]: r[1] for r in con.execute(f"DESCRIBE {name}__any").fetchall()}
    temporal = [c for c in src_cols if str(kinds[c]).startswith(("TIMESTAMP", "DATE"))]
    casts += "".join(f", {_ident(c)} AS {_ident('__typed_' + c)}" for c in temporal)
    nulls += "".join(f", CAST(NULL AS {kinds[c]}) AS {_ident('__typed_' + c)}" for c in temporal)
    # __row: the rows of earlier files + the part's own dense row number __ord; no window sorting every row (JSON
    # lines keep it: their __ord counts blank and rejected lines too)
    row = "row_number() OVER (ORDER BY __fi, __ord)"
    if fmt != "jsonl":
        offsets, seen = [], 0
        for i, part in enumerate(parts):
            offsets.append(f"WHEN {i} THEN {seen}")
            if i < len(parts) - 1:
                seen += int(con.execute(f"SELECT count(*) FROM ({part})").fetchall()[0][0])
        row = "__ord" if len(parts) == 1 else f"__ord + CASE __fi {' '.join(offsets)} END"
    read = (
        f"SELECT {casts}{', ' if casts else ''}__file, CAST({row} AS BIGINT) AS __row, "
        "CAST(NULL AS VARCHAR) AS __read_reason, CAST(NULL AS BIGINT) AS __line, CAST(NULL AS VARCHAR) AS __raw_line "
        f"FROM {name}__any"
    )
    if hashed:
        read = f"SELECT *, {_hash_of(src_cols)} AS __h FROM ({read})"
    # a working file, read twice and removed: uncompressed (10M rows: 3.9 s to write against 4.1 s with Snappy)
    con.execute(
        f"COPY ({read} UNION ALL {_rejects_rows(name, nulls, hashed)}) TO {_lit(str(out))} "
        "(FORMAT parquet, COMPRESSION uncompressed)"
    )
    con.execute(f"DROP VIEW {name}__any")
    for i in range(len(files)):
        drop_csv_part(con, name, i)
    con.execute(f"DROP TABLE {name}__rejects")
    _drop_relation(con, name)
    con.execute(f"CREATE TEMP VIEW {name} AS SELECT * FROM read_parquet({_lit(str(out))})")
    return src_cols, encoding


def _direct_view(con, name: str, rows: Path, file: str, hashed: bool, in_memory: bool) -> list[str]:
    """The raw view ``name`` of the CSV file ``file`` that :func:`_scan_csv_direct` read (trimmed source columns
    and their hash ``__h``, in file order) into the table ``<name>__rows`` (``in_memory``) or else the working file
    ``rows``: ``__row`` is the row's position there (the table's row id + 1, the file's row number + 1), and the
    reader's rejects come from ``<name>__rejects``, kept until :func:`drop_raw`. Returns the source columns."""
    scan = f"{name}__rows" if in_memory else f"read_parquet({_lit(str(rows))}, file_row_number = true)"
    position = "rowid" if in_memory else "file_row_number"
    described = con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()
    src_cols = [r[0] for r in described if r[0] not in ("__h", "file_row_number")]
    cols = ", ".join(_ident(c) for c in src_cols)
    nulls = ", ".join(f"CAST(NULL AS VARCHAR) AS {_ident(c)}" for c in src_cols)
    h = ", __h" if hashed else ""
    _drop_relation(con, name)  # the empty table an earlier ingest on this connection left (drop_raw)
    con.execute(
        f"CREATE TEMP VIEW {name} AS SELECT {cols}{', ' if cols else ''}{_lit(file)} AS __file, "
        f"CAST({position} + 1 AS BIGINT) AS __row, CAST(NULL AS VARCHAR) AS __read_reason, "
        f"CAST(NULL AS BIGINT) AS __line, CAST(NULL AS VARCHAR) AS __raw_line{h} "
        f"FROM {scan} UNION ALL {_rejects_rows(name, nulls, hashed)}"
    )
    return src_cols


def _relation_kinds(con, name: str) -> list[tuple[str]]:
    """``[("VIEW",)]``, ``[("TABLE",)]`` or ``[]``: what the temporary relation ``name`` is, if it exists."""
    return con.execute(
        "SELECT 'VIEW' FROM duckdb_views() WHERE view_name = ? AND temporary UNION ALL "
        "SELECT 'TABLE' FROM duckdb_tables() WHERE table_name = ? AND temporary",
        [name, name],
    ).fetchall()


def _relation_exists(con, name: str) -> bool:
    """Whether the temporary table or view ``name`` exists."""
    return bool(_relation_kinds(con, name))


def _drop_relation(con, name: str) -> None:
    """Drop the temporary table or view ``name`` if there is one (DuckDB's DROP names the kind)."""
    for (kind,) in _relation_kinds(con, name):
        con.execute(f"DROP {kind} {name}")


def work_dir(cache: Path) -> Path:
    """Where ingest keeps its working file (the raw table, as Parquet) while a table is ingested:
    ``<campaign cache>/ingest_work``; :func:`drop_raw` removes it."""
    return Path(cache) / "ingest_work"


def drop_raw(con, name: str, cache: Path) -> None:
    """Remove the raw table ``name`` of :func:`read_raw` and its working file, keeping its columns (an empty table
    of the same name, which ``privacy.hide_columns`` is checked against)."""
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name}__cols AS SELECT * FROM {name} LIMIT 0")
    except duckdb.Error:  # nothing was read
        return
    _drop_relation(con, name)
    con.execute(f"DROP TABLE IF EXISTS {name}__rejects")  # the direct view's (_direct_view)
    con.execute(f"DROP TABLE IF EXISTS {name}__rows")  # the direct read's table in memory (_scan_csv_direct)
    con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM {name}__cols")
    con.execute(f"DROP TABLE {name}__cols")
    (work_dir(cache) / f"{name}.parquet").unlink(missing_ok=True)


def _where(files: list[str]) -> str:
    return f"{', '.join(files[:3])}{' ...' if len(files) > 3 else ''}"


def engine_message(e: BaseException, *, max_line_chars: int = 300, max_lines: int = 40) -> str:
    """The engine's whole error message (every line, not only the first), without the echoed SQL; each line
    cut to ``max_line_chars`` (an over-long CSV line is echoed whole by DuckDB)."""
    lines = []
    for line in str(e).splitlines():
        if line.startswith("LINE 1:") or (line.strip() and set(line.strip()) == {"^"}):
            continue  # our own SQL, echoed
        if len(line) > max_line_chars:
            line = line[:max_line_chars] + f"... ({len(line):,} characters)"
        lines.append(line.rstrip())
    while lines and not lines[-1]:
        lines.pop()
    if len(lines) > max_lines:
        lines = lines[:max_lines] + [f"... ({len(lines) - max_lines} more lines)"]
    return "\n    ".join(lines)


def _hint(msg: str, table: str, source: Source, fmt: str) -> str:
    """The source option to set for an engine error ``msg``."""
    key = f"tables.{table}.source"
    low = msg.lower()
    if "sniffing" in low or "dialect" in low:
        return f"set {key}.delimiter (',', ';', '\\t', '|' or whitespace) and {key}.header (true/false)"
    if "maximum line size of" in low:
        return f"set {key}.max_line_size to more bytes than the longest line (now {source.max_line_size:,})"
    if "unicode" in low or "encod" in low or "utf-8" in low or "utf8" in low:
        return f"set {key}.encoding to the file's real encoding (e.g. gb18030, big5, latin-1)"
    if "quote" in low:
        return f"a quoted field is not closed: check {key}.delimiter and the file's quoting"
    if "json" in low:
        return f"the file is not JSON lines (one object per line): check {key}.format"
    if "column" in low or "sniff" in low or "delimiter" in low or "dialect" in low:
        return f"set {key}.delimiter (',', ';', '\\t', '|' or whitespace) and {key}.header (true/false)"
    return f"check {key}: format ({fmt}), encoding, delimiter, header, max_line_size"


def _line_of(msg: str) -> str:
    m = re.search(r"on Line: (\d+)", msg)
    return f", line {m.group(1)}" if m else ""


def _csv_options(source: Source, *, whitespace: bool) -> list[str]:
    opts = [
        "all_varchar = true",
        f"header = {str(source.header).lower()}",
        "null_padding = true",  # short rows are padded (DuckDB's parallel reader cannot with quoted newlines)
        f"max_line_size = {int(source.max_line_size)}",
        f"buffer_size = {max(int(source.max_line_size) * 2, 32 << 20)}",
    ]
    if whitespace:
        opts += ["delim = '\\t'", "quote = '\"'", "escape = '\"'"]
    elif source.delimiter:  # a given delimiter: standard quoting, nothing left to sniff but the header
        opts += [f"delim = {_lit(source.delimiter)}", "quote = '\"'", "escape = '\"'"]
    return opts


def _read_csv_file(
    con, name: str, i: int, f: str, source: Source, cache: Path, table: str, notes: list, direct: Path | None = None
) -> str:
    """Read one CSV file into the temp table ``<name>__f<i>`` (or, where :func:`_scan_csv` can, straight into the
    working file ``direct``) and its unreadable lines into ``<name>__rejects``; return its encoding."""
    whitespace = source.delimiter == "whitespace"
    try:
        head = _head(f)
        if not head.lstrip(b"\xef\xbb\xbf").strip():
            raise IngestError(
                f"tables.{table}: {f} is empty (no header, no rows)\n"
                f"  fix: check tables.{table}.source.path, or remove the empty file from the folder"
            )
        enc = source.encoding if source.encoding != "auto" else detect_encoding(f)
        # lines ending in CR CR LF (a CSV writer on Windows opened without newline=''): the reader would split at
        # the first CR and start the next row with the LF; a copy ends each line in one LF (ingest.note_line_ends)
        stray_cr = b"\r\r\n" in head
        prepared = Prepared(f)
        if enc not in ("utf-8", "utf-8-sig") or whitespace or stray_cr:
            tag = f".{enc}{'.ws' if whitespace else ''}{'.lf' if stray_cr else ''}.csv"
            out = cache / "transcoded" / _cache_name(f, tag)
            prepared = (
                Prepared(str(out))
                if out.exists()
                else prepare_text(f, out, enc, whitespace=whitespace, line_ends=stray_cr)
            )
        if stray_cr:
            notes.append({"key": "ingest.note_line_ends", "table": table, "file": os.path.basename(f)})
    except (OSError, EOFError, zlib.error) as e:
        raise IngestError(
            f"tables.{table}: cannot read {f}: {type(e).__name__}: {e}\n"
            f"  fix: the file is damaged or not what its name says (.gz: gzip); check tables.{table}.source.path "
            f"and source.format"
        ) from None
    opts = _csv_options(source, whitespace=whitespace)
    strict = _padding_widens(con, prepared.path, opts) if source.header else None
    if strict is not None:  # rows wider than the header are bad_csv_line, not a column more for every row
        opts = strict
        notes.append({"key": "ingest.note_wide_rows", "table": table, "file": os.path.basename(f)})
    try:
        _scan_csv(con, name, i, prepared.path, opts, direct)
    except duckdb.Error as e:
        if "maximum line size of" not in str(e).lower():
            prepared = _lenient_scan(con, name, i, f, prepared, opts, e, table, source, notes, direct)
        else:  # an over-long line where DuckDB sniffs the dialect: leave such lines out, for the quarantine
            out = cache / "transcoded" / _cache_name(f, f".{enc}{'.ws' if whitespace else ''}.short.csv")
            prepared = prepare_text(
                f, out, enc, whitespace=whitespace, max_line_bytes=int(source.max_line_size), line_ends=stray_cr
            )
            try:
                _scan_csv(con, name, i, prepared.path, opts, direct)
            except duckdb.Error as e2:
                prepared = _lenient_scan(con, name, i, f, prepared, opts, e2, table, source, notes, direct)
    _collect_rejects(con, name, i, f, prepared)
    return enc


def duplicate_header_note(src_cols: list[str], files: list[str], source: Source, *, table: str, fmt: str):
    """A note for the ingest page when the header of a CSV file names a column more than once (``event_time`` in
    columns 3 and 8): DuckDB keeps the first name and reads the later ones as ``event_time_1``, ..., so a mapping
    to ``event_time`` silently takes the first. None when no name repeats (checked on the first file's header
    line only where DuckDB's columns hold such a pair)."""
    import csv

    pairs = [(m.group(1), c) for c in src_cols if (m := re.fullmatch(r"(.+)_(\d+)", c)) and m.group(1) in src_cols]
    if fmt != "csv" or not source.header or not pairs or source.delimiter == "whitespace":
        return None
    line = _head(files[0]).split(b"\n", 1)[0].lstrip(b"\xef\xbb\xbf").rstrip(b"\r")
    text = line.decode("utf-8", "replace") if b"\xef\xbf\xbd" not in line else line.decode("gb18030", "replace")
    try:
        delim = source.delimiter or csv.Sniffer().sniff(text, delimiters=",;\t|").delimiter
        names = [n.strip() for n in next(csv.reader([text], delimiter=delim))]
    except (csv.Error, StopIteration):
        return None
    twice = {base: renamed for base, renamed in pairs if names.count(base) > 1}
    if not twice:
        return None
    shown = "; ".join(
        f"{base} ({', '.join(str(i + 1) for i, n in enumerate(names) if n == base)}) → {base}, "
        + ", ".join(r for b, r in pairs if b == base)
        for base in twice
    )
    return {"key": "ingest.note_duplicate_header", "table": table, "file": os.path.basename(files[0]), "names": shown}


def csv_columns(path: str, source: Source) -> list[str]:
    """The column names ingest's reader gives the CSV file ``path`` (UTF-8) with ``source``'s options, rows that do
    not fit ignored (``validate``'s header check, :mod:`helpers.headers`)."""
    con = duckdb.connect()
    try:
        opts = _csv_options(source, whitespace=False)
        opts = (_padding_widens(con, path, opts) if source.header else None) or opts
        sql = f"DESCRIBE SELECT * FROM read_csv({_lit(path)}, {', '.join(opts + ['ignore_errors = true'])})"
        return [r[0] for r in con.execute(sql).fetchall()]
    finally:
        con.close()


def _head(f: str) -> bytes:
    """The first :data:`helpers.textfiles.SAMPLE_BYTES` of a file (a gzip file's, unpacked)."""
    from .textfiles import _open_binary

    with _open_binary(f) as fh:
        return fh.read(SAMPLE_BYTES)


def _no_padding(opts: list[str]) -> list[str]:
    return [o for o in opts if not o.startswith("null_padding")] + ["null_padding = false"]


def _padding_widens(con, path: str, opts: list[str]) -> list[str] | None:
    """Whether rows with more fields than the header sit in the reader's sample: with short rows padded, DuckDB
    then takes the widest row's field count, so every row gets columns the header does not name (``column7``)
    and those rows keep their values shifted. When the padded read has the header's columns plus such columns,
    the options to read the file without padding instead (the sniffed delimiter given, standard quoting): rows
    wider or shorter than the header are then ``bad_csv_line``, as they are past the sample. None otherwise, and
    when the dialect cannot even be detected (handled as before)."""

    def names(o: list[str]) -> list[str]:
        return [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_csv({_lit(path)}, {', '.join(o)})").fetchall()]

    try:
        padded = names(opts)
        if not re.fullmatch(r"column\d+", padded[-1]):  # DuckDB names the columns past the header's column<N>
            return None
        plain = _no_padding(opts)
        if not any(o.startswith("delim") for o in opts):
            sniffed = con.execute(f"SELECT Delimiter FROM sniff_csv({_lit(path)}, {', '.join(opts)})").fetchall()
            plain += [f"delim = {_lit(sniffed[0][0])}", "quote = '\"'", "escape = '\"'"]
        header = names(plain + ["ignore_errors = true"])  # the header's names, whatever the rows (rejects: later)
    except duckdb.Error:
        return None
    return plain if len(padded) > len(header) and padded[: len(header)] == header else None


def _lenient_scan(con, name, i, f, prepared, opts, e, table, source, notes, direct=None) -> Prepared:
    """DuckDB could not sniff the dialect in strict mode (junk lines, stray quotes in the sample): read again
    with ``strict_mode = false`` and say so in the table's notes; any other error is raised."""
    if "sniffing" not in str(e).lower():
        raise _read_error(e, table, f, source, "csv") from None
    try:
        _scan_csv(con, name, i, prepared.path, opts + ["strict_mode = false"], direct)
    except duckdb.Error:
        raise _read_error(e, table, f, source, "csv") from None
    notes.append({"key": "ingest.note_lenient", "table": table, "file": os.path.basename(f)})  # shown on the page
    return prepared


def _read_error(e: BaseException, table: str, f: str, source: Source, fmt: str) -> IngestError:
    return IngestError(
        f"tables.{table}: cannot read {f}{_line_of(str(e))} as {fmt}: {engine_message(e)}\n"
        f"  fix: {_hint(str(e), table, source, fmt)}"
    )


def _scan_csv(con, name: str, i: int, path: str, opts: list[str], direct: Path | None = None) -> None:
    """Read one CSV file into the temporary table ``<name>__f<i>`` (every field as text and ``__ord``, the row's
    1-based number among the rows read; the file's name and number are added when it is read, not stored on every
    row) and its rejected lines into DuckDB's rejects tables.

    DuckDB's parallel reader goes first: with insertion order kept (DuckDB's default, and
    :func:`helpers.ingest.connect_duckdb` sets it) the rows arrive in the file's order and their numbers need no
    window making one thread number them (10M rows: 1.5 s against 4.5 s). With ``direct`` (the table's only
    file) it writes the trimmed fields straight to that working file, where a row's number is its position
    (:func:`_direct_view`; no table in memory, which spilled at 100M rows); else into a table whose row id numbers
    the rows. Where it cannot read the file (quoted newlines with short rows padded, which it refuses; any other
    error), insertion order is off, or a column name would hide the row's number (``rowid``, ``file_row_number``,
    the raw view's own columns), the sequential reader reads it again as before, and its error, if any, is the one
    raised."""
    drop_csv_part(con, name, i)
    ordered = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    if ordered:  # else the row numbers would not follow the file
        try:
            if direct is not None:
                if _scan_csv_direct(con, name, path, opts, direct):
                    return
            else:
                _scan_csv_once(con, name, i, path, opts, parallel=True)
                cols = [r[0].lower() for r in con.execute(f"DESCRIBE {name}__t{i}").fetchall()]
                if "rowid" not in cols and "__ord" not in cols:
                    con.execute(f"CREATE TEMP VIEW {name}__f{i} AS SELECT *, rowid + 1 AS __ord FROM {name}__t{i}")
                    return
        except duckdb.Error:
            pass
    if direct is not None:
        direct.unlink(missing_ok=True)
        con.execute(f"DROP TABLE IF EXISTS {name}__rows")
    drop_csv_part(con, name, i)
    _scan_csv_once(con, name, i, path, opts, parallel=False)


#: columns the raw view adds (and the row-number column of a Parquet read): a source column of such a name is read
#: the sequential way
_VIEW_COLUMNS = {"file_row_number", "__file", "__fi", "__ord", "__row", "__read_reason", "__line", "__raw_line", "__h"}


def _scan_csv_direct(con, name: str, path: str, opts: list[str], out: Path) -> bool:
    """:func:`_scan_csv`'s parallel read of a table's only file: every field trimmed (empty -> NULL) and the hash
    of the trimmed :func:`dedupe_columns` (as :func:`read_raw` computes it), in the file's order, into the table
    ``<name>__rows`` when the file fits in memory (:data:`IN_MEMORY_SHARE`; its row id numbers the rows), else
    straight to the working Parquet file ``out``, uncompressed (read twice and removed). The table is the faster:
    10M rows in 2.5 s against 3.8 s for the file, which at 100M rows is the one that does not spill. False, with
    nothing written, when a column name is one the raw view adds."""
    opts = opts + ["parallel = true"]
    cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_csv({_lit(path)}, {', '.join(opts)})").fetchall()]
    if any(c.lower() in _VIEW_COLUMNS for c in cols):
        return False
    src = f"read_csv({_lit(path)}, {', '.join(opts + _reject_options(con, name))})"
    rows = f"SELECT *, {_hash_of(cols)} AS __h FROM (SELECT {_trimmed(cols)} FROM {src})"
    if "rowid" not in {c.lower() for c in cols} and fits_in_memory(con, path):  # a rowid column hides the row id
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name}__rows AS {rows}")
    else:
        con.execute(f"COPY ({rows}) TO {_lit(str(out))} (FORMAT parquet, COMPRESSION uncompressed)")
    return True


def fits_in_memory(con, path: str) -> bool:
    """Whether the text of the file ``path`` (a gzip file's counted as 5 times its size) is at most
    :data:`IN_MEMORY_SHARE` of the connection's memory limit."""
    size = os.path.getsize(path) * (5 if path.lower().endswith(".gz") else 1)
    limit = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    return size <= IN_MEMORY_SHARE * memory_bytes(str(limit))


_UNITS = {"": 1, "b": 1, "byte": 1, "bytes": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12}
_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def memory_bytes(text: str) -> float:
    """DuckDB's memory setting as bytes: ``"3.7 GiB"`` (as DuckDB reports it), ``"4GB"``, ``"512 MB"``; 0 when
    it is not of that form (the file then goes to the working Parquet file)."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        return 0.0
    try:
        return float(m.group(1)) * _UNITS[m.group(2).lower()]
    except ValueError:
        return 0.0


def _reject_options(con, name: str) -> list[str]:
    """The reader's options that keep its rejected lines in ``<name>__rej`` (dropped first: one file's at a
    time, :func:`_collect_rejects` copies them)."""
    for t in (f"{name}__rej", f"{name}__scan"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return ["store_rejects = true", f"rejects_table = '{name}__rej'", f"rejects_scan = '{name}__scan'"]


def drop_csv_part(con, name: str, i: int) -> None:
    """Drop what :func:`_scan_csv` made of file ``i``: its table, or its view and the table under it."""
    _drop_relation(con, f"{name}__f{i}")
    con.execute(f"DROP TABLE IF EXISTS {name}__t{i}")


def _scan_csv_once(con, name: str, i: int, path: str, opts: list[str], *, parallel: bool) -> None:
    """One read of :func:`_scan_csv`: in parallel into ``<name>__t<i>`` (no ``__ord``), else into ``<name>__f<i>``
    with ``__ord`` numbered by a window."""
    opts = opts + [f"parallel = {str(parallel).lower()}", *_reject_options(con, name)]
    table, ord_ = (f"{name}__t{i}", "") if parallel else (f"{name}__f{i}", ", row_number() OVER () AS __ord")
    con.execute(f"CREATE TEMP TABLE {table} AS SELECT *{ord_} FROM read_csv({_lit(path)}, {', '.join(opts)})")


_REASON_OF = (
    "CASE WHEN error_type IN ('INVALID ENCODING', 'INVALID UNICODE') THEN 'bad_encoding' "
    "WHEN error_type = 'LINE SIZE OVER MAXIMUM' THEN 'line_too_long' ELSE {other} END"
)


def _collect_rejects(con, name: str, i: int, f: str, prepared: Prepared, *, other: str = "bad_csv_line") -> None:
    """Copy the lines DuckDB rejected (one row per line) and those left out of a prepared copy into
    ``<name>__rejects``, with line numbers in the raw file."""
    line = "e.line"
    if prepared.removed:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name}__pos (p BIGINT)")
        con.executemany(f"INSERT INTO {name}__pos VALUES (?)", [[p] for p in prepared.positions()])
        line = f"e.line + (SELECT count(*) FROM {name}__pos WHERE p <= e.line)"
        con.executemany(
            f"INSERT INTO {name}__rejects VALUES (?, ?, NULL, ?, ?, ?)",
            [[f, i, reason, n, raw[:RAW_LINE_CHARS]] for n, reason, raw in prepared.removed],
        )
    con.execute(
        f"INSERT INTO {name}__rejects SELECT {_lit(f)}, {i}, NULL, "
        f"first({_REASON_OF.format(other=_lit(other))} ORDER BY e.column_idx), {line}, "
        f"left(first(e.csv_line ORDER BY e.column_idx), {RAW_LINE_CHARS}) "
        f"FROM {name}__rej e GROUP BY e.line ORDER BY e.line"
    )


def _read_jsonl_file(con, name: str, i: int, f: str, source: Source, table: str) -> None:
    """JSON lines: each line read as text first; every field of every object extracted as text (nested
    objects and arrays as their JSON text; a string without its quotes; a number as written), so that types
    mixed across lines never change a value. Lines that are not a JSON object are ``bad_json_line``."""
    lines = f"{name}__lines{i}"
    opts = [
        "columns = {'line': 'VARCHAR'}",
        "header = false",
        "delim = '\\0'",
        "quote = ''",
        "escape = ''",
        "parallel = false",
        f"max_line_size = {int(source.max_line_size)}",
        f"buffer_size = {max(int(source.max_line_size) * 2, 32 << 20)}",
        *_reject_options(con, name),
    ]
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {lines} AS SELECT __ord, line, "
            "CAST(CASE WHEN json_valid(line) THEN line END AS JSON) AS __j FROM ("
            f"SELECT row_number() OVER () AS __ord, rtrim(line, chr(13)) AS line FROM read_csv({_lit(f)}, "
            f"{', '.join(opts)})) WHERE trim(COALESCE(line, '')) <> ''"
        )
    except duckdb.Error as e:
        raise _read_error(e, table, f, source, "jsonl") from None
    # lines DuckDB rejected are not counted by __ord: the raw line number of row n is n + #{positions <= n}
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name}__pos AS SELECT DISTINCT p, count(*) OVER (ORDER BY p) AS c FROM "
        f"(SELECT line - row_number() OVER (ORDER BY line) + 1 AS p FROM (SELECT DISTINCT line FROM {name}__rej))"
    )
    _collect_rejects(con, name, i, f, Prepared(f), other="bad_json_line")
    con.execute(
        f"INSERT INTO {name}__rejects SELECT {_lit(f)}, {i}, NULL, 'bad_json_line', "
        f"l.__ord + COALESCE(pos.c, 0), left(l.line, {RAW_LINE_CHARS}) "
        f"FROM (SELECT * FROM {lines} WHERE __j IS NULL OR json_type(__j) <> 'OBJECT') l "
        f"ASOF LEFT JOIN {name}__pos pos ON l.__ord >= pos.p"
    )
    keys = con.execute(
        "SELECT k FROM (SELECT __ord, unnest(json_keys(__j)) AS k, generate_subscripts(json_keys(__j), 1) AS pos "
        f"FROM {lines} WHERE json_type(__j) = 'OBJECT') GROUP BY k ORDER BY min(__ord * 100000 + pos)"
    ).fetchall()
    names = [k for (k,) in keys]
    pointers = _list_lit(["/" + k.replace("~", "~0").replace("/", "~1") for k in names])
    cols = ", ".join(f"__v[{n + 1}] AS {_ident(k)}" for n, k in enumerate(names))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name}__f{i} AS SELECT {cols}{', ' if cols else ''}{_lit(f)} AS __file, "
        f"{i} AS __fi, __ord FROM (SELECT __ord, "
        f"{'json_extract_string(__j, ' + pointers + ')' if names else 'NULL'} AS __v "
        f"FROM {lines} WHERE json_type(__j) = 'OBJECT') ORDER BY __ord"
    )
    con.execute(f"DROP TABLE {lines}")


def _excel_copy(f: str, source: Source, cache: Path, table: str = "events") -> Path:
    """The sheet ``source.sheet`` (default the first) of the workbook ``f`` as a Parquet copy of text values in the
    campaign cache, one per workbook version, sheet and header setting."""
    import pandas as pd

    sheet = hashlib.sha1(repr(source.sheet).encode()).hexdigest()[:8]  # another sheet is another copy
    out = cache / "excel" / _cache_name(f, f".{sheet}.{'h' if source.header else 'n'}.parquet")
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            df = pd.read_excel(
                f,
                sheet_name=source.sheet if source.sheet is not None else 0,
                dtype=str,
                header=0 if source.header else None,
            )
        except ValueError as e:
            try:
                names = ", ".join(repr(n) for n in pd.ExcelFile(f).sheet_names)
            except Exception:  # the workbook itself cannot be read: the reader's own message says why
                names = ""
            has = f"; the workbook has the sheets {names}" if names else ""
            raise IngestError(
                f"tables.{table}.source.sheet: cannot read sheet {source.sheet!r} of {f}: {e}{has}\n"
                f"  fix: set tables.{table}.source.sheet to one of them (a name, or a number from 0)"
            ) from None
        df.columns = [str(c) if source.header else f"column{c}" for c in df.columns]
        df.to_parquet(out, index=False)
    return out
