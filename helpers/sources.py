"""Reading raw input files for ingest: encodings (detected or given, GBK/GB18030 transcoded in a stream),
formats (CSV, Excel, Parquet, JSON lines; gzip; globs), and the DuckDB relation that reads every source column
as text. Nothing here changes a value; cleaning is :mod:`helpers.ingest`, typed values :mod:`helpers.values`.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import os
from pathlib import Path

from .errors import IngestError
from .params import Source

__all__ = ["detect_encoding", "transcode_to_utf8", "SAMPLE_BYTES"]

#: bytes read from the start of a file to detect its encoding
SAMPLE_BYTES = 4 << 20
_SAMPLE_BYTES = SAMPLE_BYTES


# ------------------------------------------------------------------------------------------- SQL helpers
def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _lit(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(float(value))
    return "'" + str(value).replace("'", "''") + "'"


def _list_lit(values) -> str:
    return "[" + ", ".join(_lit(v) for v in values) + "]"


# ------------------------------------------------------------------------------------------- encodings
def _open_binary(path: str):
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def detect_encoding(path: str | os.PathLike) -> str:
    """Guess a text file's encoding from its first 4 MiB: ``utf-8-sig`` (BOM), ``utf-8``, else ``gb18030``.

    GB18030 is a superset of GBK and GB2312, the encodings of most Chinese exports (Excel "CSV" on a
    Chinese Windows). Gzipped files are looked into.
    """
    with _open_binary(str(path)) as fh:
        head = fh.read(_SAMPLE_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
        return "gb18030"
    except UnicodeDecodeError:
        raise IngestError(
            f"{path}: cannot tell the text encoding (neither UTF-8 nor GB18030); set "
            f"tables.<table>.source.encoding in the campaign params (e.g. big5 or latin-1)"
        ) from None


def transcode_to_utf8(
    src: str | os.PathLike, dst: str | os.PathLike, encoding: str, *, chunk_chars: int = 8 << 20
) -> Path:
    """Stream ``src`` (any codec Python knows; gzip allowed) into ``dst`` as UTF-8, in bounded memory."""
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(dst.suffix + ".part")
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    done = 0
    try:
        with _open_binary(str(src)) as fin, open(tmp, "w", encoding="utf-8", newline="") as fout:
            while True:
                block = fin.read(chunk_chars)
                try:
                    fout.write(decoder.decode(block, final=not block))
                except UnicodeDecodeError as e:
                    raise IngestError(
                        f"{src}: not valid {encoding} near byte {done + e.start:,}; set "
                        f"tables.<table>.source.encoding to the file's real encoding"
                    ) from None
                if not block:
                    break
                done += len(block)
        os.replace(tmp, dst)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dst


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


def _raw_relation_sql(source: Source, files: list[str], fmt: str, cache: Path) -> tuple[str, str | None]:
    """SQL of a relation with every source column as VARCHAR plus ``__file`` and ``__row``."""
    encoding = None
    if fmt == "csv":
        readable = []
        encs = set()
        for f in files:
            enc = source.encoding if source.encoding != "auto" else detect_encoding(f)
            encs.add(enc)
            if enc in ("utf-8", "utf-8-sig"):
                readable.append((f, f))
            else:
                out = cache / "transcoded" / _cache_name(f, ".csv")
                if not out.exists():
                    transcode_to_utf8(f, out, enc)
                readable.append((f, str(out)))
        encoding = ",".join(sorted(encs))
        opts = [
            "all_varchar = true",
            f"header = {str(source.header).lower()}",
            "union_by_name = true",
            "filename = '__file'",
            "null_padding = true",
        ]
        if source.delimiter:
            opts.append(f"delim = {_lit(source.delimiter)}")
        inner = f"read_csv({_list_lit([r for _, r in readable])}, {', '.join(opts)})"
        # report original file names, not transcoded copies
        mapping = {r: f for f, r in readable}
        file_expr = "CASE __file " + " ".join(f"WHEN {_lit(r)} THEN {_lit(f)}" for r, f in mapping.items()) + " END"
        return (f"SELECT * EXCLUDE (__file), {file_expr} AS __file FROM {inner}", encoding)
    if fmt == "excel":
        import pandas as pd

        parts = []
        for f in files:
            out = cache / "excel" / _cache_name(f, ".parquet")
            if not out.exists():
                out.parent.mkdir(parents=True, exist_ok=True)
                try:
                    df = pd.read_excel(f, sheet_name=source.sheet if source.sheet is not None else 0, dtype=str)
                except ValueError as e:
                    raise IngestError(f"{f}: cannot read sheet {source.sheet!r}: {e}") from None
                df.columns = [str(c) for c in df.columns]
                df.to_parquet(out, index=False)
            parts.append(f"SELECT *, {_lit(f)} AS __file FROM read_parquet({_lit(str(out))})")
        return " UNION ALL BY NAME ".join(parts), None
    if fmt == "parquet":
        return (
            f"SELECT *, filename AS __file FROM read_parquet({_list_lit(files)}, filename = true, union_by_name = true)"
        ), None
    if fmt == "jsonl":
        return (
            f"SELECT *, filename AS __file FROM read_json({_list_lit(files)}, format = 'newline_delimited', "
            "filename = true, union_by_name = true)"
        ), None
    raise IngestError(f"unsupported format {fmt!r}")


def _varchar_view(con, name: str, rel_sql: str) -> list[str]:
    """Create view ``name`` with all source columns cast to VARCHAR, plus ``__file``, ``__row``; return
    the source column names."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name}__any AS {rel_sql}")
    cols = [r[0] for r in con.execute(f"DESCRIBE {name}__any").fetchall()]
    src_cols = [c for c in cols if c not in ("__file", "filename")]
    casts = ", ".join(f"NULLIF(TRIM(CAST({_ident(c)} AS VARCHAR)), '') AS {_ident(c)}" for c in src_cols)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {casts}, __file, row_number() OVER () AS __row FROM {name}__any"
    )
    return src_cols
