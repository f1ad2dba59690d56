"""Ingest on Spark (``engine: spark``): the same cleaning as :mod:`helpers.ingest`, run by Spark.

One definition of every rule: the cleaning SQL that DuckDB runs (:func:`helpers.cleaning.cleaning_sql`, built from
:mod:`helpers.values`) is transpiled to Spark SQL with sqlglot (:func:`to_spark_sql`), plus a few rewrites for the
DuckDB functions sqlglot leaves as they are (``regexp_full_match``, ``isfinite``, ``timezone``, ``try_strptime``
with its formats, regex back-references). Spark reads the raw CSV files with the options DuckDB ingest would use,
detected once in Python by the same code (encoding: :func:`helpers.textfiles.detect_encoding`), all columns as
text. JSON lines, Parquet, Excel and whitespace-aligned text are read on the driver by DuckDB ingest's own reader
into one Parquet file that Spark then cleans. The tracking plan's counts and identity stitching (login events) run
on Spark too, and so do pseudonyms (HMAC-SHA256 in Spark SQL) and hidden columns; what Spark ingest does not run
(an identity mapping file, ``derive`` expressions) is refused
before any work with an error naming the key (docs/cleaning.md, "Spark ingest").

Distributed: reading, cleaning, the reason counts and the writes. Back to the driver: the counts, the time range
and the user count. The clean table and the quarantine are written as one Parquet file each (the same paths as
DuckDB ingest) so that every later step reads them the same way.
"""

from __future__ import annotations

import codecs
import glob
import os
import re
import shutil
import time
from pathlib import Path

import sqlglot
from sqlglot import exp

from .cleaning import (
    TableReport,
    _empty_message,
    _summarise,
    bad_number_columns,
    cleaning_sql,
    currency_mix,
    decimal_note,
    event_losses,
    may_lose_events,
    plan_checks_step,
)
from .errors import IngestError
from .locations import CampaignPaths
from .params import Campaign, resolve_input
from .privacy import protect_staged_spark
from .sources import RAW_LINE_CHARS, _cache_name, _format_of, _lit
from .textfiles import detect_encoding, prepare_text

__all__ = ["to_spark_sql", "spark_unsupported", "ingest_table_spark", "strptime_to_spark"]

# strptime directives -> Spark datetime pattern letters (https://spark.apache.org/docs/latest/sql-ref-datetime-pattern.html)
_DIRECTIVES = {
    "Y": "yyyy",
    "y": "yy",
    "m": "MM",
    "d": "dd",
    "H": "HH",
    "I": "hh",
    "M": "mm",
    "S": "ss",
    "f": "SSSSSS",
    "p": "a",
    "b": "MMM",
    "B": "MMMM",
    "j": "DDD",
    "z": "XXX",
}


# ------------------------------------------------------------------------------------------- SQL
def strptime_to_spark(fmt: str) -> list[str]:
    """The Spark datetime patterns for one strptime format (two when it has ``%z``: ``+08:00`` and ``+0800``).

    Letters outside directives are quoted (``T``, ``年``); an unknown directive raises ValueError."""
    out: list[str] = []
    lit: list[str] = []

    def flush():
        if lit:
            text = "".join(lit).replace("'", "''")
            out.append(f"'{text}'" if re.search(r"[^\s\-/:.,]", text) else text)
            lit.clear()

    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%" and i + 1 < len(fmt):
            d = fmt[i + 1]
            if d == "%":
                lit.append("%")
            elif d in _DIRECTIVES:
                flush()
                out.append(_DIRECTIVES[d])
            else:
                raise ValueError(f"ts_format: the directive %{d} has no Spark equivalent (use %Y %m %d %H %M %S %f %z)")
            i += 2
            continue
        lit.append(ch)
        i += 1
    flush()
    pattern = "".join(out)
    return [pattern, pattern.replace("XXX", "XX")] if "XXX" in pattern else [pattern]


def _literal(node) -> str:
    if not isinstance(node, exp.Literal) or not node.is_string:
        raise ValueError(f"expected a string literal, got {node.sql('duckdb')}")
    return node.this


def _rewrite(node):
    """One DuckDB construct -> its Spark equivalent (called on every node of the parsed cleaning SQL)."""
    if isinstance(node, exp.RegexpFullMatch):
        pattern = _literal(node.expression)
        return exp.RegexpLike(this=node.this, expression=exp.Literal.string(f"^(?:{pattern})$"))
    if isinstance(node, exp.RegexpReplace):
        repl = node.args.get("replacement")
        if isinstance(repl, exp.Literal) and repl.is_string:  # \1 -> $1 (Java), a literal $ -> \$
            text = re.sub(r"\\(\d)", r"$\1", repl.this.replace("$", "\\$"))
            node.set("replacement", exp.Literal.string(text))
        node.set("modifiers", None)  # Spark replaces every match; DuckDB's rules use 'g' or anchored patterns
        return node
    if isinstance(node, exp.ConcatWs):  # both engines skip NULL arguments; sqlglot would wrap each in COALESCE(x, '')
        return exp.Anonymous(this="CONCAT_WS", expressions=list(node.expressions))
    if isinstance(node, exp.UnixToTime):  # to_timestamp(seconds): fractional seconds kept
        return exp.Anonymous(this="TIMESTAMP_SECONDS", expressions=[node.this])
    if not isinstance(node, exp.Anonymous):
        return node
    name = str(node.this).upper()
    args = node.expressions
    if name == "ISFINITE":  # NaN is above every number in Spark, so NaN and +-inf fail
        return exp.LT(this=exp.Abs(this=args[0]), expression=exp.cast(exp.Literal.string("Infinity"), "DOUBLE"))
    if name == "TRY_STRPTIME":
        text, fmts = args
        formats = [_literal(f) for f in fmts.expressions] if isinstance(fmts, exp.Array) else [_literal(fmts)]
        tries = [
            exp.Anonymous(this="TRY_TO_TIMESTAMP", expressions=[text.copy(), exp.Literal.string(p)])
            for f in formats
            for p in strptime_to_spark(f)
        ]
        return tries[0] if len(tries) == 1 else exp.Coalesce(this=tries[0], expressions=tries[1:])
    return node


def to_spark_sql(sql: str) -> str:
    """DuckDB cleaning SQL (helpers/ingest.py, helpers/values.py) as Spark SQL: sqlglot's transpiler plus
    :func:`_rewrite`. Timestamps are Spark TIMESTAMPs in a UTC session whose wall clock is the naive time."""
    return _convert(sqlglot.parse_one(sql, read="duckdb")).sql(dialect="spark")


def _convert(node):
    """:func:`_rewrite` bottom-up; ``timezone`` top-down: a naive time is a Spark TIMESTAMP whose UTC wall clock is
    the naive value, so timezone(c, timezone(s, x)) is from_utc_timestamp(to_utc_timestamp(x, s), c) and
    timezone(c, instant) is from_utc_timestamp(instant, c)."""
    if isinstance(node, exp.Anonymous) and str(node.this).upper() == "TIMEZONE":
        tz, x = node.expressions
        if isinstance(x, exp.Anonymous) and str(x.this).upper() == "TIMEZONE":
            x = exp.Anonymous(this="TO_UTC_TIMESTAMP", expressions=[_convert(x.expressions[1]), x.expressions[0]])
        else:
            x = _convert(x)
        return exp.Anonymous(this="FROM_UTC_TIMESTAMP", expressions=[x, tz])
    for key, value in list(node.args.items()):
        if isinstance(value, exp.Expression):
            node.set(key, _convert(value))
        elif isinstance(value, list):
            node.set(key, [_convert(v) if isinstance(v, exp.Expression) else v for v in value])
    return _rewrite(node)


# ------------------------------------------------------------------------------------------- reading
def spark_unsupported(cfg: Campaign) -> list[tuple[str, str]]:
    """(key path, why) for each campaign setting that Spark ingest does not run (it stops before any work)."""
    out = []
    if cfg.identity.enabled and cfg.identity.mapping is not None:
        out.append(
            (
                "identity.mapping",
                "Spark ingest links ids from login events only (identity.login_event); a mapping file is joined by "
                "DuckDB ingest only",
            )
        )
    for name in cfg.table_names:
        spec = cfg.spec(name)
        src = spec.source
        if src is None:
            continue
        if spec.derive:
            out.append((f"tables.{name}.derive", "derive expressions are DuckDB SQL; Spark ingest does not run them"))
    return out


def _delimiter(path: str, encoding: str) -> str:
    """The most frequent of ``,`` ``;`` tab ``|`` in the file's first line (gzip allowed)."""
    from .textfiles import _open_binary

    with _open_binary(path) as fh:
        head = fh.read(1 << 16).split(b"\n", 1)[0].decode(encoding, errors="replace")
    counts = {d: head.count(d) for d in (",", ";", "\t", "|")}
    return max(counts, key=lambda d: counts[d]) if max(counts.values()) else ","


def reads_on_driver(src, files: list[str]) -> str | None:
    """The format of a source Spark does not read itself (JSON lines, Parquet, Excel, whitespace-aligned text), or
    None for CSV. Those are read by DuckDB ingest's reader (:func:`helpers.sources.read_raw`) on the driver."""
    fmt = _format_of(files[0], src.format)
    if fmt != "csv" or src.delimiter == "whitespace":
        return fmt
    return None


def _read_raw_on_driver(session, duck, view, files, src, fmt, table, cache: Path, notes: list[str | dict]):
    """The raw view of a source Spark does not read itself: DuckDB ingest's reader builds it (every source column
    as text, the reader's rejects with their reasons and line numbers, typed date/time columns), it is written to
    one Parquet file in the campaign cache, and Spark reads that file as the view. So the raw values are those of
    DuckDB ingest by construction; cleaning and writing then run on Spark. Reading is not distributed: meant for
    side tables (users, items, mappings) and moderate files; large event logs belong in CSV (or in Parquet read
    by a later version)."""
    from .sources import drop_raw, read_raw

    src_cols, encoding = read_raw(duck, view, src, files, fmt, cache, table=table, notes=notes)
    out = cache / "spark_raw" / f"{table}.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    duck.execute(f"COPY (SELECT * FROM {view}) TO {_lit(str(out))} (FORMAT parquet)")
    drop_raw(duck, view, cache)  # the working file; the columns stay on ``duck``
    session.read.parquet(str(out)).createOrReplaceTempView(view)
    return src_cols, encoding


def _read_raw_spark(session, view: str, files: list[str], src, table: str, cache: Path) -> tuple[list[str], str]:
    """The temp view ``view`` over the raw CSV files with the columns DuckDB's raw view has (helpers/sources.py):
    every source column as trimmed text (empty -> NULL), ``__file``, ``__row`` and the reader's reject columns.
    Files not in UTF-8 are transcoded into the campaign cache first by the code DuckDB ingest uses
    (:func:`helpers.textfiles.prepare_text`), and their undecodable lines are ``bad_encoding`` rows.
    Returns (source columns, encoding)."""
    from pyspark.sql import functions as F

    encs = {src.encoding if src.encoding != "auto" else detect_encoding(f) for f in files}
    if len(encs) > 1:
        raise IngestError(
            f"tables.{table}.source.encoding: the files have several encodings ({', '.join(sorted(encs))}); "
            "Spark ingest reads one encoding per table: convert them or set source.encoding"
        )
    enc = encs.pop()
    read, rejects = [], []
    for i, f in enumerate(files):
        if enc in ("utf-8", "utf-8-sig"):
            read.append(f)
            continue
        prepared = prepare_text(f, cache / "transcoded" / _cache_name(f, f".{enc}.spark.csv"), enc)
        read.append(prepared.path)
        rejects += [(f, i, reason, n, raw[:RAW_LINE_CHARS]) for n, reason, raw in prepared.removed]
    delim = src.delimiter or _delimiter(read[0], "utf-8")
    reader = session.read.options(
        header=str(src.header).lower(),
        sep=delim,
        encoding="UTF-8",
        quote='"',
        escape='"',
        multiLine="true",  # a newline inside a quoted field is part of the value, as in DuckDB ingest
        inferSchema="false",
        mode="PERMISSIVE",
        enforceSchema="false",
    )
    df = reader.csv(read)
    cols = list(df.columns)
    names = [c.lstrip("\ufeff") for c in cols]
    if not src.header:
        names = [f"column{i}" for i in range(len(cols))]
    df = df.toDF(*names)
    fi = F.lit(None).cast("int")
    fname = F.lit(None).cast("string")
    for i, (r, f) in enumerate(zip(read, files, strict=True)):  # input_file_name is a URI; the quarantine names
        hit = F.input_file_name() == Path(r).resolve().as_uri()  # the raw file, as DuckDB ingest does
        fi, fname = F.when(hit, i).otherwise(fi), F.when(hit, f).otherwise(fname)
    df = df.withColumn("__fi", fi).withColumn("__file", fname).withColumn("__ord", F.monotonically_increasing_id())
    df.createOrReplaceTempView(f"{view}__any")
    casts = ", ".join(f"NULLIF(TRIM(CAST({_q(c)} AS STRING)), '') AS {_q(c)}" for c in names)
    nulls = ", ".join(f"CAST(NULL AS STRING) AS {_q(c)}" for c in names)
    sql = (
        f"SELECT {casts}{', ' if casts else ''}__file, row_number() OVER (ORDER BY __fi, __ord) AS __row, "
        "CAST(NULL AS STRING) AS __read_reason, CAST(NULL AS BIGINT) AS __line, CAST(NULL AS STRING) AS __raw_line "
        f"FROM {view}__any"
    )
    if rejects:  # few rows: from the driver
        schema = "__file STRING, __fi INT, __read_reason STRING, __line BIGINT, __raw_line STRING"
        session.createDataFrame(rejects, schema).createOrReplaceTempView(f"{view}__rejects")
        sql += (
            f" UNION ALL SELECT {nulls}{', ' if nulls else ''}__file, CAST(NULL AS BIGINT), __read_reason, __line, "
            f"__raw_line FROM {view}__rejects"
        )
    session.sql(sql).createOrReplaceTempView(view)
    return names, enc


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class _SparkSQL:
    """The part of a DuckDB connection that :func:`helpers.cleaning.cleaning_sql` and the tracking plan's counts
    (:func:`helpers.tracking.write_plan_checks`) use (``execute(...)`` then ``fetchall``, ``fetchone`` or ``df``),
    answering with Spark: DuckDB SQL is transpiled first."""

    def __init__(self, session):
        self.session = session
        self._rows: list[tuple] | None = []
        self._df = None

    def execute(self, sql: str):
        self._df = None
        if sql.startswith("DESCRIBE "):
            df = self.session.table(sql.removeprefix("DESCRIBE ").strip())
            self._rows = [(f.name, f.dataType.simpleString().upper()) for f in df.schema.fields]
        else:
            self._df, self._rows = self.session.sql(to_spark_sql(sql)), None
        return self

    def fetchall(self):
        if self._rows is None:
            self._rows = [tuple(r) for r in self._df.collect()]
        return self._rows

    def fetchone(self):
        rows = self.fetchall()
        return rows[0] if rows else None

    def df(self):
        """The result as pandas, with the column types DuckDB's ``.df()`` gives (dates as datetime64)."""
        import pandas as pd
        from pyspark.sql.types import DateType

        out = self._df.toPandas()
        for f in self._df.schema.fields:
            if isinstance(f.dataType, DateType):
                out[f.name] = pd.to_datetime(out[f.name])
        return out


# ------------------------------------------------------------------------------------------- ingest
def _write_one_parquet(df, out: Path) -> None:
    """``df`` as the single Parquet file ``out`` (written by Spark into a folder next to it, then moved)."""
    tmp = out.with_suffix(".parquet.spark")
    shutil.rmtree(tmp, ignore_errors=True)
    df.coalesce(1).write.mode("overwrite").option("compression", "zstd").parquet(str(tmp))
    parts = sorted(tmp.glob("part-*.parquet"))
    if len(parts) != 1:
        raise IngestError(f"Spark wrote {len(parts)} files for {out} (expected one)")
    os.replace(parts[0], out)
    shutil.rmtree(tmp, ignore_errors=True)


def ingest_table_spark(session, duck, cfg: Campaign, table: str, paths: CampaignPaths) -> TableReport:
    """Clean one file-backed table on Spark into ``data/<table>.parquet`` and ``quarantine/<table>.parquet|csv``.

    ``duck``: a DuckDB connection for the local summaries (time range, users) and the quarantine CSV."""
    from pyspark.sql import functions as F

    t0 = time.perf_counter()
    spec = cfg.spec(table)
    src = spec.source
    assert src is not None
    files = sorted(glob.glob(resolve_input(src.path, raw_dir=paths.raw)))
    if not files:
        raise IngestError(f"tables.{table}.source.path: no file matches {src.path!r}")
    raw = f"raw_{table}"
    fmt = reads_on_driver(src, files)
    read_notes: list[str | dict] = []
    if fmt is None:
        fmt = "csv"
        src_cols, encoding = _read_raw_spark(session, raw, files, src, table, paths.cache)
    else:
        src_cols, encoding = _read_raw_on_driver(session, duck, raw, files, src, fmt, table, paths.cache, read_notes)
    where = f"{', '.join(files[:3])}{' ...' if len(files) > 3 else ''}"
    cl = cleaning_sql(_SparkSQL(session), cfg, table, raw, src_cols, files, fmt)
    # pseudonyms (privacy.pseudonymize_user_ids) before anything is written; hidden columns out of the quarantine
    staged, q_cols = protect_staged_spark(session.sql(to_spark_sql(cl.select)), cfg, table, src_cols)
    staged = staged.persist()
    try:
        staged.createOrReplaceTempView(f"staged_{table}")
        clean = session.sql(
            to_spark_sql(f"SELECT {', '.join(cl.out_cols)} FROM staged_{table} WHERE __reason IS NULL ORDER BY __row")
        )
        clean = clean.select(
            *[F.col(_q(c)).cast("timestamp_ntz") if t == "timestamp" else F.col(_q(c)) for c, t in clean.dtypes]
        )
        paths.data.mkdir(parents=True, exist_ok=True)
        out = paths.table(table)
        _write_one_parquet(clean, out)
        reasons = {
            r[0]: int(r[1])
            for r in session.sql(
                f"SELECT __reason, count(*) FROM staged_{table} WHERE __reason IS NOT NULL GROUP BY 1 ORDER BY 2 DESC"
            ).collect()
        }
        rows_in = int(staged.count())
        paths.quarantine.mkdir(parents=True, exist_ok=True)
        q = paths.quarantine / f"{table}.parquet"
        qcols = ", ".join(_q(c) for c in q_cols)
        # an unreadable line's text could hold ids in clear or hidden columns: kept only without privacy settings
        private = cfg.privacy.pseudonymize_user_ids or cfg.privacy.hide_columns
        raw_line = "CAST(NULL AS STRING)" if private else "__raw_line"
        qdf = session.sql(
            f"SELECT __reason AS reason, __file AS source_file, __row AS source_row, __line AS source_line, "
            f"{raw_line} AS raw_line, {qcols} FROM staged_{table} WHERE __reason IS NOT NULL "
            "ORDER BY __row, __file, __line"
        )
        _write_one_parquet(qdf, q)
        if cfg.ingest.quarantine_csv:
            qcsv = paths.quarantine / f"{table}.csv"
            with open(qcsv, "wb") as fh:  # BOM so that Excel opens Chinese text correctly
                fh.write(codecs.BOM_UTF8)
            duck.execute(
                f"COPY (SELECT * FROM read_parquet({_lit(str(q))})) TO {_lit(str(qcsv) + '.body')} (FORMAT csv)"
            )
            with open(qcsv, "ab") as fh, open(str(qcsv) + ".body", "rb") as body:
                shutil.copyfileobj(body, fh)
            os.remove(str(qcsv) + ".body")
        bad = bad_number_columns(duck, cfg, table, cl, q) if reasons.get("bad_number") else []
        currencies = currency_mix(_SparkSQL(session), cfg, table, cl, raw)  # as DuckDB ingest, on the raw view
        if rows_in == sum(reasons.values()):
            span = None
            if "ts" in cl.typed:
                row = staged.agg(F.min("__t_ts").cast("string"), F.max("__t_ts").cast("string")).first()
                span = (row[0], row[1])
            out.unlink(missing_ok=True)
            raise IngestError(_empty_message(cfg, table, where, rows_in, reasons, span, q, bad))
        plan_notes = plan_checks_step(_SparkSQL(session), cfg, table, cl, f"staged_{table}", paths)
    finally:
        staged.unpersist()
    losses = event_losses(duck, cl, q, out) if may_lose_events(table, reasons) else []  # as DuckDB ingest
    rep = _summarise(duck, table, out)
    return TableReport(
        table=table,
        files=files,
        format=fmt,
        encoding=encoding,
        rows_in=rows_in,
        rows_out=rep["rows"],
        reasons=reasons,
        columns=[n for n in cl.canon if n in cl.typed],
        extra_columns=list(cl.extras),
        ts_min=rep["ts_min"],
        ts_max=rep["ts_max"],
        users=rep["users"],
        path=str(out),
        quarantine_path=str(q),
        seconds=round(time.perf_counter() - t0, 3),
        notes=["ingested on Spark", *read_notes, *plan_notes, *decimal_note(table, src.decimal, cl.decimal)],
        bad_numbers=bad,
        event_losses=losses,
        currencies=currencies,
    )
