"""Ingest: raw files -> clean canonical tables (Parquet) + quarantined rows with a ``reason``.

Runs on DuckDB, out of core: a multi-GB CSV is scanned, cleaned and written without ever being a
pandas DataFrame (``ingest.memory_limit`` bounds memory; DuckDB spills to the campaign cache).

Reads CSV (UTF-8, UTF-8 with BOM, GBK/GB18030 and other encodings: detected or from params; gzip),
Excel (through pandas), Parquet and JSON lines; one file or a glob of many. Raw input is only read.
With ``privacy.pseudonymize_user_ids`` every user id is replaced by its keyed hash before anything is written.

Cleaning: every row gets at most one ``reason``, the first that applies in this order
(``docs/cleaning.md`` has the exact rules):

1. ``duplicate``: an exact copy (all source columns equal) of an earlier row; the first is kept;
2. ``missing_<column>``: a required canonical column is empty;
3. ``bad_timestamp``: ``ts`` is given but cannot be parsed;
4. ``bad_number``: ``amount`` (or another numeric column) is given but is not a number;
5. each extra rule of the table (``rules:``), in the order given, with its own reason (domain rules such
   as cancelled invoices come before the generic range checks, so they are named for what they are);
6. ``out_of_period``: ``ts`` outside the analysis period (inclusive local days);
7. ``negative_amount`` (unless ``allow_negative_amount``), ``implausible_amount`` (above ``max_amount``);
8. ``unknown_event``: not in the campaign's ``events`` list (when it gives one).
"""

from __future__ import annotations

import codecs
import glob
import gzip
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from .checks import data_problems, declared_events, extra_column_name, params_label
from .errors import ParamsError, UbakitError
from .locations import CampaignPaths
from .params import Campaign, Rule, Source, TableSpec, resolve_input
from .privacy import hidden_column_problems, privacy_manifest, protect_staged, pseudonym_key
from .schema import TABLES

__all__ = [
    "IngestError",
    "TableReport",
    "ingest_campaign",
    "ingest_table",
    "detect_encoding",
    "transcode_to_utf8",
    "ts_sql",
    "connect_duckdb",
    "REASON_ORDER",
]

#: Fixed reasons in the order they are tested (``missing_<col>`` stands for one per required column).
REASON_ORDER = (
    "duplicate",
    "missing_<column>",
    "bad_timestamp",
    "bad_number",
    "<rule reasons>",
    "out_of_period",
    "negative_amount",
    "implausible_amount",
    "unknown_event",
)

_NAIVE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y%m%d %H:%M:%S",
    "%Y%m%d%H%M%S",
    "%Y%m%d",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日",
)
_TZ_FORMATS = (
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S.%f%z",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S.%f%z",
    "%Y-%m-%d %H:%M%z",
    "%Y-%m-%dT%H:%M%z",
)
_ID_COLUMNS = {"user_id", "order_id", "item_id", "review_id", "session_id"}
_SAMPLE_BYTES = 4 << 20


class IngestError(UbakitError, ValueError):
    """A problem with an input file or its mapping; the message names the file, column or parameter."""


@dataclass
class TableReport:
    """What ingest did to one table. ``reasons`` counts quarantined rows per reason."""

    table: str
    files: list[str]
    format: str
    encoding: str | None
    rows_in: int
    rows_out: int
    reasons: dict[str, int]
    columns: list[str]
    extra_columns: list[str]
    ts_min: str | None
    ts_max: str | None
    users: int | None
    path: str
    quarantine_path: str | None
    seconds: float
    derived_from: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def rows_quarantined(self) -> int:
        return sum(self.reasons.values())

    def to_dict(self) -> dict:
        d = asdict(self)
        d["rows_quarantined"] = self.rows_quarantined
        return d


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


def connect_duckdb(
    cfg: Campaign | None = None, paths: CampaignPaths | None = None, database: str = ":memory:"
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the campaign's memory limit and a spill folder in its cache."""
    con = duckdb.connect(database)
    if cfg is not None:
        con.execute(f"SET memory_limit = {_lit(cfg.ingest.memory_limit)}")
        if cfg.ingest.threads:
            con.execute(f"SET threads = {int(cfg.ingest.threads)}")
    if paths is not None:
        spill = paths.cache / "duckdb_spill"
        spill.mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = {_lit(str(spill))}")
    con.execute("SET preserve_insertion_order = true")
    return con


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


# ------------------------------------------------------------------------------------------- parsing
def ts_sql(expr: str, *, fmt: str = "auto", source_tz: str, campaign_tz: str) -> str:
    """SQL turning text ``expr`` into a naive campaign-local TIMESTAMP (NULL when unparseable).

    ``fmt``: ``auto`` (epoch seconds / milliseconds by digit count, else the common formats, with or
    without a UTC offset), ``epoch_s``, ``epoch_ms``, or one strptime format.
    """

    def naive(x: str) -> str:
        if source_tz == campaign_tz:
            return x
        return f"timezone({_lit(campaign_tz)}, timezone({_lit(source_tz)}, {x}))"

    def aware(x: str) -> str:
        return f"timezone({_lit(campaign_tz)}, {x})"

    def epoch(x: str, div: int) -> str:
        return aware(f"to_timestamp(TRY_CAST({x} AS DOUBLE) / {div})")

    s = f"TRIM({expr})"
    # '... UTC' / trailing 'Z' -> explicit offset
    s_off = f"regexp_replace(regexp_replace({s}, '\\s*UTC$', '+00:00'), 'Z$', '+00:00')"
    if fmt == "epoch_s":
        return epoch(s, 1)
    if fmt == "epoch_ms":
        return epoch(s, 1000)
    if fmt != "auto":
        if "%z" in fmt or "%Z" in fmt:
            return aware(f"try_strptime({s_off}, {_lit(fmt)})")
        return naive(f"try_strptime({s}, {_lit(fmt)})")
    return (
        "CASE "
        f"WHEN regexp_full_match({s}, '-?\\d{{9,10}}(\\.\\d+)?') THEN {epoch(s, 1)} "
        f"WHEN regexp_full_match({s}, '-?\\d{{12,13}}(\\.\\d+)?') THEN {epoch(s, 1000)} "
        f"WHEN regexp_matches({s_off}, '[+-]\\d\\d:?\\d\\d$') AND NOT regexp_full_match({s}, '\\d{{4}}-\\d\\d-\\d\\d') "
        f"THEN {aware(f'try_strptime({s_off}, {_list_lit(_TZ_FORMATS)})')} "
        f"ELSE {naive(f'try_strptime({s}, {_list_lit(_NAIVE_FORMATS)})')} END"
    )


def _num_sql(expr: str) -> str:
    # a plain number casts directly; only the rest ('1,200.00', '¥12') goes through the regex
    return f"COALESCE(TRY_CAST({expr} AS DOUBLE), TRY_CAST(regexp_replace({expr}, '[,\\s¥$€£]', '', 'g') AS DOUBLE))"


def _rule_sql(rule: Rule, colexpr: str) -> str:
    if rule.equals is not None:
        return f"({colexpr} = {_lit(str(rule.equals) if not isinstance(rule.equals, str) else rule.equals)})"
    if rule.in_ is not None:
        return f"({colexpr} IN ({', '.join(_lit(str(v)) for v in rule.in_)}))"
    if rule.starts_with is not None:
        return f"starts_with({colexpr}, {_lit(rule.starts_with)})"
    if rule.regex is not None:
        return f"regexp_matches({colexpr}, {_lit(rule.regex)})"
    if rule.is_null is not None:
        return f"({colexpr} IS {'' if rule.is_null else 'NOT '}NULL)"
    if rule.lt is not None:
        return f"({_num_sql(colexpr)} < {rule.lt!r})"
    return f"({_num_sql(colexpr)} > {rule.gt!r})"


def _closest(name: str, options: list[str]) -> str:
    import difflib

    c = difflib.get_close_matches(name, options, n=1, cutoff=0.5)
    return f" (did you mean {c[0]!r}?)" if c else ""


#: the clean name of a kept extra column (one definition, shared with the params checks)
_safe_extra = extra_column_name


# ------------------------------------------------------------------------------------------- ingest
def ingest_table(con: duckdb.DuckDBPyConnection, cfg: Campaign, table: str, paths: CampaignPaths) -> TableReport:
    """Clean one file-backed table of the campaign into ``data/<table>.parquet`` and quarantine the rest.

    Returns
    -------
    TableReport with rows in/out, counts per reason, time range and users of the clean table.
    """
    t0 = time.perf_counter()
    spec = cfg.spec(table)
    if spec.derive_from:
        return _derive_table(con, cfg, table, spec, paths, t0)
    src = spec.source
    if src is None:
        raise IngestError(f"tables.{table}: give either source (a file) or derive_from (another table)")
    pattern = resolve_input(src.path, raw_dir=paths.raw)
    files = sorted(glob.glob(pattern))
    if not files:
        raise IngestError(f"tables.{table}.source.path: no file matches {src.path!r} (looked for {pattern})")
    fmts = {_format_of(f, src.format) for f in files}
    if len(fmts) > 1:
        raise IngestError(
            f"tables.{table}.source.path matches files of several formats ({', '.join(sorted(fmts))}); "
            "narrow the glob or set source.format"
        )
    fmt = fmts.pop()
    rel_sql, encoding = _raw_relation_sql(src, files, fmt, paths.cache)
    raw = f"raw_{table}"
    try:
        src_cols = _varchar_view(con, raw, rel_sql)
    except duckdb.Error as e:
        raise IngestError(f"tables.{table}: cannot read {src.path!r} as {fmt}: {str(e).splitlines()[0]}") from None

    canon = {c.name: c for c in TABLES[table]}
    where = f"{', '.join(files[:3])}{' ...' if len(files) > 3 else ''}"
    for key, col in spec.columns.items():
        if col not in src_cols:
            raise IngestError(
                f"tables.{table}.columns.{key}: column {col!r} is not in {where}{_closest(col, src_cols)}; "
                f"the file has: {', '.join(src_cols)}"
            )
    # canonical column -> text expression over the raw view
    text: dict[str, str] = {}
    for name in canon:
        if name in spec.derive:
            text[name] = f"CAST(({spec.derive[name]}) AS VARCHAR)"
        elif name in spec.columns:
            text[name] = _ident(spec.columns[name])
        elif name in src_cols:
            text[name] = _ident(name)
    missing_req = [
        c for c in canon if canon[c].required and c not in text and not (table == "reviews" and c == "review_id")
    ]
    if missing_req:
        raise IngestError(
            f"tables.{table}: required column(s) {', '.join(missing_req)} not mapped; add e.g. "
            f"columns: {{{missing_req[0]}: <source column>}} (the file has: {', '.join(src_cols)})"
        )
    for name, expr in list(text.items()):
        if name in spec.values:
            cases = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in spec.values[name].items())
            text[name] = f"(CASE CAST({expr} AS VARCHAR) {cases} ELSE CAST({expr} AS VARCHAR) END)"
        if name in _ID_COLUMNS:
            # ids exported as floats ('13085.0') become '13085'
            v = f"CAST({text[name]} AS VARCHAR)"  # the regex only runs on values with a dot (cheap otherwise)
            text[name] = (
                f"(CASE WHEN contains({v}, '.') THEN regexp_replace({v}, '^(-?\\d+)\\.0+$', '\\1') ELSE {v} END)"
            )
    if table == "reviews" and "review_id" not in text:
        text["review_id"] = "CAST(__row AS VARCHAR)"

    typed: dict[str, str] = {}
    for name, expr in text.items():
        dtype = canon[name].dtype
        if dtype == "TIMESTAMP":
            typed[name] = ts_sql(
                expr, fmt=spec.ts_format, source_tz=spec.source_timezone or cfg.timezone, campaign_tz=cfg.timezone
            )
        elif dtype in ("DOUBLE", "INTEGER"):
            typed[name] = f"CAST({_num_sql(expr)} AS {dtype})"
        else:
            typed[name] = f"CAST({expr} AS VARCHAR)"
    # typed values are computed once, in an inner SELECT, as "__t_<name>"; checks and output read them
    ref = {name: _ident(f"__t_{name}") for name in typed}
    used_src = set(spec.columns.values()) | {n for n in canon if n in src_cols}
    extras: dict[str, str] = {}
    if spec.keep_extra:
        for src_col in src_cols:
            if src_col in used_src:
                continue
            nm = _safe_extra(src_col)
            if nm in canon or nm in extras or nm.startswith("__"):
                nm = f"src_{nm}"
            if nm in canon or nm in extras:
                continue
            extras[nm] = _ident(src_col)
    for name in spec.derive:
        if name not in canon:
            extras[_safe_extra(name)] = f"CAST(({spec.derive[name]}) AS VARCHAR)"

    # reasons, first match wins
    checks: list[tuple[str, str]] = []
    for name, c in canon.items():
        if c.required and name in text:
            checks.append((f"missing_{name}", f"({text[name]}) IS NULL"))
    for name, c in canon.items():
        if name not in text:
            continue
        if c.dtype == "TIMESTAMP":
            checks.append(("bad_timestamp", f"({text[name]}) IS NOT NULL AND {ref[name]} IS NULL"))
    for name, c in canon.items():
        if name in text and c.dtype in ("DOUBLE", "INTEGER"):
            checks.append(("bad_number", f"({text[name]}) IS NOT NULL AND {ref[name]} IS NULL"))
    for i, rule in enumerate(spec.rules):
        if rule.column in src_cols:
            colexpr = _ident(rule.column)
        elif rule.column in text:
            colexpr = f"CAST({text[rule.column]} AS VARCHAR)"
        else:
            raise IngestError(
                f"tables.{table}.rules[{i}].column: {rule.column!r} is neither a source column nor "
                f"a mapped canonical column{_closest(rule.column, src_cols + list(text))}"
            )
        checks.append((rule.reason, f"COALESCE({_rule_sql(rule, colexpr)}, false)"))
    if "ts" in typed:
        start = _lit(str(cfg.period.start))
        end = _lit(str(cfg.period.end))
        checks.append(
            (
                "out_of_period",
                f"({ref['ts']} < CAST({start} AS TIMESTAMP) OR "
                f"{ref['ts']} >= CAST({end} AS TIMESTAMP) + INTERVAL 1 DAY)",
            )
        )
    if "amount" in typed:
        if not spec.allow_negative_amount:
            checks.append(("negative_amount", f"{ref['amount']} < 0"))
        if spec.max_amount is not None:
            checks.append(("implausible_amount", f"{ref['amount']} > {float(spec.max_amount)!r}"))
    if table == "events" and spec.events:
        checks.append(("unknown_event", f"{ref['event']} NOT IN ({', '.join(_lit(e) for e in spec.events)})"))
    case = "CASE " + " ".join(f"WHEN {cond} THEN {_lit(r)}" for r, cond in checks) + " END"
    dup = "false"
    if spec.dedupe and src_cols:
        part = ", ".join(_ident(c) for c in src_cols)
        dup = f"row_number() OVER (PARTITION BY {part} ORDER BY __row) > 1"

    out_cols = [f"{ref[n]} AS {_ident(n)}" for n in canon if n in typed]
    out_cols += [f"CAST({e} AS VARCHAR) AS {_ident(n)}" for n, e in extras.items()]
    inner_typed = ", ".join(f"{typed[n]} AS {ref[n]}" for n in typed)
    staged = f"staged_{table}"
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {staged} AS "
            f"SELECT *, CASE WHEN __dup THEN 'duplicate' ELSE {case} END AS __reason "
            f"FROM (SELECT *, {inner_typed}, {dup} AS __dup FROM {raw})"
        )
    except duckdb.Error as e:
        msg = str(e).splitlines()[0]
        hint = f" (check tables.{table}.derive expressions: source columns are text, cast them)" if spec.derive else ""
        raise IngestError(f"tables.{table}: cleaning {where} failed: {msg}{hint}") from None
    q_cols = protect_staged(con, cfg, table, staged, src_cols)  # pseudonyms; hidden columns out of the quarantine

    paths.data.mkdir(parents=True, exist_ok=True)
    out = paths.table(table)
    tmp = out.with_suffix(".parquet.part")
    con.execute(
        f"COPY (SELECT {', '.join(out_cols)} FROM {staged} WHERE __reason IS NULL ORDER BY __row) "
        f"TO {_lit(str(tmp))} (FORMAT parquet, COMPRESSION zstd)"
    )
    os.replace(tmp, out)
    reasons = dict(
        con.execute(
            f"SELECT __reason, count(*) FROM {staged} WHERE __reason IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1"
        ).fetchall()
    )
    rows_in = _scalar(con, f"SELECT count(*) FROM {staged}")
    qpath = None
    paths.quarantine.mkdir(parents=True, exist_ok=True)
    q = paths.quarantine / f"{table}.parquet"
    qsql = (
        f"SELECT __reason AS reason, __file AS source_file, __row AS source_row, "
        f"{', '.join(_ident(c) for c in q_cols)} FROM {staged} WHERE __reason IS NOT NULL ORDER BY __row"
    )
    con.execute(f"COPY ({qsql}) TO {_lit(str(q))} (FORMAT parquet)")
    qpath = str(q)
    qcsv = paths.quarantine / f"{table}.csv"
    if cfg.ingest.quarantine_csv:
        with open(qcsv, "wb") as fh:  # BOM so that Excel opens Chinese text correctly
            fh.write(codecs.BOM_UTF8)
        con.execute(f"COPY ({qsql}) TO {_lit(str(qcsv) + '.body')} (FORMAT csv, HEADER true)")
        with open(qcsv, "ab") as fh, open(str(qcsv) + ".body", "rb") as body:
            while chunk := body.read(1 << 20):
                fh.write(chunk)
        os.remove(str(qcsv) + ".body")
    con.execute(f"DROP TABLE {staged}")
    rep = _summarise(con, table, out)
    return TableReport(
        table=table,
        files=files,
        format=fmt,
        encoding=encoding,
        rows_in=int(rows_in),
        rows_out=rep["rows"],
        reasons={k: int(v) for k, v in reasons.items()},
        columns=[n for n in canon if n in typed],
        extra_columns=list(extras),
        ts_min=rep["ts_min"],
        ts_max=rep["ts_max"],
        users=rep["users"],
        path=str(out),
        quarantine_path=qpath,
        seconds=round(time.perf_counter() - t0, 3),
    )


def _summarise(con, table: str, out: Path) -> dict:
    cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({_lit(str(out))})").fetchall()}
    parts = ["count(*)"]
    parts.append("CAST(min(ts) AS VARCHAR)" if "ts" in cols else "NULL")
    parts.append("CAST(max(ts) AS VARCHAR)" if "ts" in cols else "NULL")
    parts.append("count(DISTINCT user_id)" if "user_id" in cols else "NULL")
    row = con.execute(f"SELECT {', '.join(parts)} FROM read_parquet({_lit(str(out))})").fetchone()
    assert row is not None  # an aggregate always returns one row
    n, lo, hi, users = row
    return {"rows": int(n), "ts_min": lo, "ts_max": hi, "users": None if users is None else int(users)}


def _scalar(con, sql: str):
    """The single value of an aggregate query (DuckDB 2.0 has no relation.fetchone())."""
    row = con.execute(sql).fetchone()
    assert row is not None, sql
    return row[0]


def _derive_table(con, cfg: Campaign, table: str, spec: TableSpec, paths: CampaignPaths, t0: float) -> TableReport:
    assert spec.derive_from is not None
    base = paths.table(spec.derive_from)
    if not base.exists():
        raise IngestError(f"tables.{table}.derive_from: {spec.derive_from} has not been ingested yet")
    have = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({_lit(str(base))})").fetchall()}
    canon = [c.name for c in TABLES[table]]
    notes = []
    if table == "orders" and spec.derive_from == "events":
        oid = (
            ("COALESCE(order_id, " if "order_id" in have else "(")
            + "md5(concat_ws('|', user_id, CAST(ts AS VARCHAR), "
            + ("COALESCE(item_id, '')" if "item_id" in have else "''")
            + ")))"
        )
        sel = {
            "user_id": "user_id",
            "order_id": oid,
            "ts": "ts",
            "amount": "amount" if "amount" in have else "CAST(NULL AS DOUBLE)",
        }
        if "amount" not in have:
            notes.append("events have no amount: orders.amount is empty (RFM monetary value unavailable)")
        where = f"event IN ({', '.join(_lit(e) for e in spec.where_event or [])})"
    elif table == "events" and spec.derive_from == "orders":
        sel = {
            "user_id": "user_id",
            "event": _lit(spec.event_name),
            "ts": "ts",
            "amount": "amount",
            "order_id": "order_id",
        }
        where = "true"
    else:
        raise IngestError(f"tables.{table}.derive_from: cannot derive {table} from {spec.derive_from}")
    for c in canon:
        if c not in sel and c in have:
            sel[c] = c
    select = ", ".join(f"{e} AS {_ident(c)}" for c, e in sel.items())
    out = paths.table(table)
    tmp = out.with_suffix(".parquet.part")
    con.execute(
        f"COPY (SELECT {select} FROM read_parquet({_lit(str(base))}) WHERE {where}) TO {_lit(str(tmp))} "
        "(FORMAT parquet, COMPRESSION zstd)"
    )
    os.replace(tmp, out)
    rep = _summarise(con, table, out)
    return TableReport(
        table=table,
        files=[str(base)],
        format="parquet",
        encoding=None,
        rows_in=rep["rows"],
        rows_out=rep["rows"],
        reasons={},
        columns=list(sel),
        extra_columns=[],
        ts_min=rep["ts_min"],
        ts_max=rep["ts_max"],
        users=rep["users"],
        path=str(out),
        quarantine_path=None,
        seconds=round(time.perf_counter() - t0, 3),
        derived_from=spec.derive_from,
        notes=notes,
    )


def ingest_campaign(
    cfg: Campaign, paths: CampaignPaths, *, progress: bool = True, params_file: str | os.PathLike | None = None
) -> dict[str, TableReport]:
    """Ingest every table of the campaign (file-backed first, then derived ones).

    Writes ``data/<table>.parquet``, ``quarantine/<table>.parquet|csv`` and ``data/_ingest.json`` (the
    reports, read by the analysis notebooks and the index page). Generates the demo inputs first when
    the campaign has a ``demo`` section. Then checks the params against the clean events table
    (:func:`helpers.checks.data_problems`) and raises :class:`~helpers.errors.ParamsError` (naming
    ``params_file``) so that no analysis runs on params naming what the data does not have.
    """
    paths.ensure()
    pseudonym_key(cfg.privacy)  # a missing key fails before any work (helpers/privacy.py)
    if cfg.demo is not None:
        from .demo import generate_demo

        generate_demo(
            paths.raw, seed=cfg.demo.seed, n_users=cfg.demo.n_users, start=str(cfg.demo.start), days=cfg.demo.days
        )
    con = connect_duckdb(cfg, paths)
    reports: dict[str, TableReport] = {}
    names = cfg.table_names
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(names), desc="ingest", unit="table")
    try:
        for name in names:
            if bar is not None:
                bar.set_postfix_str(name)
            reports[name] = ingest_table(con, cfg, name, paths)
            if bar is not None:
                bar.update(1)
        problems = _data_checks(con, cfg, paths) if "events" in reports else []
        problems += hidden_column_problems(cfg, con, reports)
    finally:
        if bar is not None:
            bar.close()
        con.close()
    manifest = {
        "campaign": cfg.campaign,
        "timezone": cfg.timezone,
        "period": {"start": str(cfg.period.start), "end": str(cfg.period.end)},
        "tables": {k: v.to_dict() for k, v in reports.items()},
        "privacy": privacy_manifest(cfg),
        "params_problems": [list(p) for p in problems],
    }
    (paths.data / "_ingest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    if problems:
        raise ParamsError(params_label(params_file, cfg.campaign), problems)
    return reports


def _data_checks(con, cfg: Campaign, paths: CampaignPaths) -> list[tuple[str, str]]:
    """The params' events and columns against the clean events table (:func:`helpers.checks.data_problems`)."""
    src = f"read_parquet({_lit(str(paths.table('events')))})"
    cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()]
    names = None
    if declared_events(cfg) is None:  # only the data can tell
        names = {r[0] for r in con.execute(f"SELECT DISTINCT event FROM {src}").fetchall() if r[0] is not None}
    return data_problems(cfg, events=names, columns=cols)
