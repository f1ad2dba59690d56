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
import json
import os
import time
from dataclasses import dataclass, field

import duckdb

from .checks import data_problems, declared_events, extra_column_name, params_label
from .cleaning import (
    TableReport,
    _empty_message,
    _scalar,
    _summarise,
    bad_number_columns,
    cleaning_sql,
    currency_mix,
    decimal_note,
    event_losses,
    may_lose_events,
    plan_checks_step,
)
from .errors import IngestError, ParamsError
from .identity import stitch_clean_events, stitch_clean_events_spark
from .locations import CampaignPaths
from .params import Campaign, TableSpec, resolve_input
from .privacy import (
    hidden_column_problems,
    privacy_manifest,
    protect_staged,
    pseudonym_key,
    refers_to,
    sources_of,
)
from .schema import TABLES
from .sources import (
    _format_of,
    _ident,
    _lit,
    detect_encoding,
    drop_raw,
    duplicate_header_note,
    engine_message,
    read_raw,
    transcode_to_utf8,
)
from .sqlsafety import lock_down
from .values import instant_order_id_sql, ts_sql

_safe_extra = extra_column_name

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
    # a list of constants stays a test on each row instead of becoming a join, which would put the staged rows out
    # of the file's order (stage_in_order); 10M rows, 6 placeholders: 2.0 s against 2.6 s with the join, and no
    # slower with 300 constants (2.37 s against 2.46 s)
    con.execute("SET disabled_optimizers = 'in_clause'")
    return con


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
    raw = f"raw_{table}"  # source columns as text + the lines the reader rejected (__read_reason, helpers/sources.py)
    read_notes: list[str | dict] = []
    src_cols, encoding = read_raw(
        con, raw, src, files, fmt, paths.cache, table=table, notes=read_notes, hashed=bool(spec.dedupe)
    )
    dup = duplicate_header_note(src_cols, files, src, table=table, fmt=fmt)  # "event_time" twice: said, not hidden
    read = RawRead(raw, src_cols, files, fmt, encoding, read_notes + ([dup] if dup else []))
    try:
        return _clean_raw(con, cfg, table, read, paths, t0)
    finally:
        drop_raw(con, raw, paths.cache)


@dataclass(frozen=True)
class RawRead:
    """A table's source files once read into the raw view (:func:`helpers.sources.read_raw`): what cleaning needs
    to know about the read."""

    view: str  # the raw view: source columns as text, __row, the reader's rejects
    columns: list[str]  # the source columns
    files: list[str]
    format: str  # csv, jsonl, excel or parquet
    encoding: str | None  # the encodings read (text formats)
    notes: list[str | dict] = field(default_factory=list)  # what the reader had to relax (TableReport.notes)


def _clean_raw(con, cfg: Campaign, table: str, read: RawRead, paths: CampaignPaths, t0: float) -> TableReport:
    """:func:`ingest_table` once the files are read into the raw view: clean, write, quarantine."""
    spec = cfg.spec(table)
    src = spec.source
    assert src is not None
    raw, src_cols, files, fmt = read.view, read.columns, read.files, read.format
    where = f"{', '.join(files[:3])}{' ...' if len(files) > 3 else ''}"
    cl = cleaning_sql(con, cfg, table, raw, src_cols, files, fmt)
    canon, typed, ref, extras, out_cols, decimal = cl.canon, cl.typed, cl.ref, cl.extras, cl.out_cols, cl.decimal
    staged = f"staged_{table}"
    try:
        dup = duplicate_rows_sql(con, raw, cl.dedupe_cols)
        # the staged table is narrow: row number, typed values, reasons and the source columns the output or the
        # privacy step needs; the quarantine takes the rest (file, line, other source columns) from the raw file
        kept = staged_source_columns(cfg, table, src_cols, cl)
        keep = ["__row", *cl.ref.values(), *(_ident(c) for c in kept)]
        stage_in_order(con, staged, cl.select_with(raw, "false", keep=keep), dup)
        con.execute(f"DROP TABLE IF EXISTS {raw}__dups")
    except duckdb.Error as e:
        msg = engine_message(e)
        hint = f" (check tables.{table}.derive expressions: source columns are text, cast them)" if spec.derive else ""
        raise IngestError(f"tables.{table}: cleaning {where} failed: {msg}{hint}") from None
    q_cols = protect_staged(con, cfg, table, staged, src_cols)  # pseudonyms; hidden columns out of the quarantine

    paths.data.mkdir(parents=True, exist_ok=True)
    out = paths.table(table)
    tmp = out.with_suffix(".parquet.part")
    order = "" if in_row_order(con, staged) else " ORDER BY __row"
    con.execute(
        f"COPY (SELECT {', '.join(out_cols)} FROM {staged} WHERE __reason IS NULL{order}) "
        f"TO {_lit(str(tmp))} (FORMAT parquet, COMPRESSION zstd)"
    )
    os.replace(tmp, out)
    counts = con.execute(f"SELECT __reason, count(*) FROM {staged} GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
    reasons = {r: n for r, n in counts if r is not None}
    rows_in = sum(n for _, n in counts)
    qpath = None
    paths.quarantine.mkdir(parents=True, exist_ok=True)
    q = paths.quarantine / f"{table}.parquet"
    # an unreadable line's text could hold ids in clear or hidden columns: kept only without privacy settings
    private = cfg.privacy.pseudonymize_user_ids or cfg.privacy.hide_columns
    raw_line = "CAST(NULL AS VARCHAR)" if private else "__r.__raw_line"
    # rows read: reason from the staged table, source values from the raw file by row (pseudonymised ones from the
    # staged table); lines the reader rejected (no row number): straight from the raw file, source values all NULL
    sep = ", " if q_cols else ""
    by_row = sep + ", ".join(f"{'__s' if c in kept else '__r'}.{_ident(c)}" for c in q_cols)
    rejected = sep + ", ".join(f"__r.{_ident(c)}" for c in q_cols)
    qsql = (
        f"SELECT * FROM (SELECT __s.__reason AS reason, __r.__file AS source_file, __s.__row AS source_row, "
        f"CAST(NULL AS BIGINT) AS source_line, CAST(NULL AS VARCHAR) AS raw_line{by_row} "
        f"FROM (SELECT * FROM {staged} WHERE __reason IS NOT NULL AND __row IS NOT NULL) __s "
        f"JOIN {raw} __r ON __r.__row = __s.__row UNION ALL "
        f"SELECT __r.__read_reason, __r.__file, NULL, __r.__line, {raw_line}{rejected} "
        f"FROM {raw} __r WHERE __r.__read_reason IS NOT NULL) ORDER BY source_row, source_file, source_line"
    )
    con.execute(f"COPY ({qsql}) TO {_lit(str(q))} (FORMAT parquet)")
    qpath = str(q)
    qcsv = paths.quarantine / f"{table}.csv"
    if cfg.ingest.quarantine_csv:
        with open(qcsv, "wb") as fh:  # BOM so that Excel opens Chinese text correctly
            fh.write(codecs.BOM_UTF8)
        # from the Parquet file just written: the same rows in the same order, without a second join of the staged
        # table with the raw rows (0.3 s of a 10M-row ingest, 2026-12-06)
        to = _lit(str(qcsv) + ".body")
        con.execute(f"COPY (SELECT * FROM read_parquet({_lit(str(q))})) TO {to} (FORMAT csv, HEADER true)")
        with open(qcsv, "ab") as fh, open(str(qcsv) + ".body", "rb") as body:
            while chunk := body.read(1 << 20):
                fh.write(chunk)
        os.remove(str(qcsv) + ".body")
    bad = bad_number_columns(con, cfg, table, cl, q) if reasons.get("bad_number") else []
    currencies = currency_mix(con, cfg, table, cl, raw)  # ¥ and $ in one amount column: summed as one
    if rows_in == sum(reasons.values()):  # nothing clean: stop here, no analysis runs on nothing
        span = None
        if "ts" in typed:
            lo_hi = f"[CAST(min({ref['ts']}) AS VARCHAR), CAST(max({ref['ts']}) AS VARCHAR)]"
            span = _scalar(con, f"SELECT {lo_hi} FROM {staged}")
        con.execute(f"DROP TABLE {staged}")
        out.unlink(missing_ok=True)
        raise IngestError(_empty_message(cfg, table, where, int(rows_in), reasons, span, q, bad))
    plan_notes = plan_checks_step(con, cfg, table, cl, staged, paths)  # the tracking plan's counts
    losses = event_losses(con, cl, q, out) if may_lose_events(table, reasons) else []  # pay rows lost in bulk
    con.execute(f"DROP TABLE {staged}")
    rep = _summarise(con, table, out)
    return TableReport(
        table=table,
        files=files,
        format=fmt,
        encoding=read.encoding,
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
        notes=[*read.notes, *plan_notes, *decimal_note(table, src.decimal, decimal)],
        bad_numbers=bad,
        event_losses=losses,
        currencies=currencies,
    )


def stage_in_order(con: duckdb.DuckDBPyConnection, staged: str, select: str, dup: str) -> None:
    """Create the staged table ``staged`` from ``select`` (cleaning with no row a duplicate) and give the rows
    ``dup`` finds (:func:`duplicate_rows_sql`) the reason ``duplicate``, so that the rows stay in the raw view's
    order and the clean table is written without sorting them (:func:`in_row_order`).

    Two things in DuckDB put the rows out of order, both joins: the duplicates' ``__row IN (SELECT ...)`` inside
    the query, and the optimizer's rewriting of a list of six or more constants (the missing-value placeholders'
    ``x IN ('NULL', 'null', ...)``, a list of known events) into a join. So that rewriting is off on ingest's
    connection (:func:`connect_duckdb`), and the duplicates are marked by an update, which keeps every row where
    it is. The reason is the one the query
    would give: a duplicate is a row the reader read (``__read_reason`` NULL), and ``duplicate`` comes before
    every cleaning reason (docs/cleaning.md)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {staged} AS {select}")
    if dup != "false":
        con.execute(f"UPDATE {staged} SET __reason = 'duplicate' WHERE {dup}")


def in_row_order(con: duckdb.DuckDBPyConnection, staged: str) -> bool:
    """True when the staged table holds the rows read in their order: row ``k`` (from 0) is raw row ``k + 1``
    (``__row``: 1, 2, ... for the rows read; NULL for the reader's rejects, which never reach the clean table).
    Then the clean table is written in the table's order (insertion order is kept, :func:`connect_duckdb`);
    otherwise it is sorted by ``__row``. A column named ``rowid`` would hide the row id: sorted then."""
    cols = {r[0].lower() for r in con.execute(f"DESCRIBE {staged}").fetchall()}
    if "rowid" in cols:
        return False
    off = con.execute(f"SELECT count(*) FROM {staged} WHERE __row IS NOT NULL AND __row <> rowid + 1").fetchall()
    return off[0][0] == 0


def duplicate_rows_sql(con: duckdb.DuckDBPyConnection, raw: str, cols: list[str]) -> str:
    """A test that is true for the rows of ``raw`` equal on ``cols`` to an earlier row (docs/cleaning.md, reason 1):
    the window of :class:`helpers.cleaning.Cleaning` sorts every row; this finds the hashes that occur more than
    once (one aggregate over the 64-bit hashes ``__h`` of the raw table, :func:`helpers.sources.read_raw` with
    ``hashed``), runs that window on those rows only and gives their row numbers. Rows whose hashes collide are
    told apart by the window, which compares the values themselves."""
    if not cols:
        return "false"
    keys = ", ".join(cols)
    dups = f"{raw}__dups"
    mine = f"FROM {raw} WHERE __read_reason IS NULL"  # the reader's rejects have a reason of their own
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {dups} AS SELECT __row FROM (SELECT __row, row_number() OVER "
        f"(PARTITION BY {keys} ORDER BY __row) AS __n {mine} AND __h IN "
        f"(SELECT __h {mine} GROUP BY __h HAVING count(*) > 1)) WHERE __n > 1"
    )
    return f"__row IN (SELECT __row FROM {dups})"


def staged_source_columns(cfg: Campaign, table: str, src_cols: list[str], cl) -> list[str]:
    """The source columns ingest's staged table keeps beside the typed values: those the kept extra columns and
    the tracking plan's checks read (:attr:`helpers.cleaning.Cleaning.extras`) and, with pseudonyms on, those
    the privacy step replaces (the user id's sources), so that the clean table, the plan's counts and the
    quarantine read them after that step. The quarantine takes every other source column from the raw table."""
    spec = cfg.spec(table)
    exprs = list(cl.extras.values())
    need = {c for c in src_cols if any(refers_to(e, c) for e in exprs)}
    if cfg.privacy.pseudonymize_user_ids:
        need.update(sources_of(spec, "user_id", src_cols))
    return [c for c in src_cols if c in need]


def _input_files(cfg: Campaign, paths: CampaignPaths) -> list[str]:
    """Every file ingest reads outside the campaign folder: the tables' sources (globs expanded) and the
    identity mapping file; :func:`helpers.sqlsafety.lock_down` allows these and nothing else."""
    files: list[str] = []
    for name in cfg.table_names:
        src = cfg.spec(name).source
        if src is not None:
            files += glob.glob(resolve_input(src.path, raw_dir=paths.raw))
    mapping = getattr(getattr(cfg, "identity", None), "mapping", None)
    if mapping is not None:
        files.append(resolve_input(mapping.path, raw_dir=paths.raw))
    return sorted(set(files))


def _derive_table(con, cfg: Campaign, table: str, spec: TableSpec, paths: CampaignPaths, t0: float) -> TableReport:
    assert spec.derive_from is not None
    base = paths.table(spec.derive_from)
    if not base.exists():
        raise IngestError(f"tables.{table}.derive_from: {spec.derive_from} has not been ingested yet")
    have = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({_lit(str(base))})").fetchall()}
    canon = [c.name for c in TABLES[table]]
    notes: list[str | dict] = []
    if table == "orders" and spec.derive_from == "events":
        # a user's purchases at one instant are one order, as where reports read purchase events directly
        oid = instant_order_id_sql("user_id", "ts")
        if "order_id" in have:
            oid = f"COALESCE(order_id, {oid})"
        sel = {
            "user_id": "user_id",
            "order_id": oid,
            "ts": "ts",
            "amount": "amount" if "amount" in have else "CAST(NULL AS DOUBLE)",
        }
        if "amount" not in have:
            notes.append("ingest.note_no_amount")  # a message key: worded in the campaign language when shown
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
    # a params file is code: from here on the engine reads the inputs and the campaign folder, nothing else
    lock_down(con, directories=[paths.root], files=_input_files(cfg, paths))
    session = _spark_for_ingest(cfg, params_file) if cfg.engine == "spark" else None
    reports: dict[str, TableReport] = {}
    identity: dict | None = None  # stitching counts (data/_ingest.json "identity"), None when off
    names = cfg.table_names
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(names), desc="ingest", unit="table")
    try:
        for name in names:
            if bar is not None:
                bar.set_postfix_str(name)
            if session is not None and cfg.spec(name).source is not None:
                from .ingest_spark import ingest_table_spark

                reports[name] = ingest_table_spark(session, con, cfg, name, paths)
            else:
                reports[name] = ingest_table(con, cfg, name, paths)
            reports[name].reason_labels = {r.reason: r.label for r in cfg.spec(name).rules if r.label}
            if name == "events" and cfg.identity.enabled and reports[name].derived_from is None:
                if session is not None:  # helpers/identity.py, docs/identity.md
                    identity = stitch_clean_events_spark(session, cfg, paths)
                else:
                    identity = stitch_clean_events(con, cfg, paths)
                reports[name].users = identity["users_after"]
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
        "identity": identity,
        "params_problems": [list(p) for p in problems],
    }
    (paths.data / "_ingest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    if problems:
        raise ParamsError(params_label(params_file, cfg.campaign), problems)
    return reports


def _spark_for_ingest(cfg: Campaign, params_file):
    """The SparkSession that ingests the file-backed tables of an ``engine: spark`` campaign
    (helpers/ingest_spark.py); stops with every setting Spark ingest does not run."""
    from .engine import spark_session
    from .ingest_spark import spark_unsupported

    problems = spark_unsupported(cfg)
    if problems:
        label = params_label(params_file, cfg.campaign)
        raise ParamsError(label, [(key, f"{why} (engine: spark)") for key, why in problems])
    return spark_session(cfg)


def _data_checks(con, cfg: Campaign, paths: CampaignPaths) -> list[tuple[str, str]]:
    """The params' events and columns against the clean events table (:func:`helpers.checks.data_problems`)."""
    src = f"read_parquet({_lit(str(paths.table('events')))})"
    cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()]
    names = None
    if declared_events(cfg) is None:  # only the data can tell
        names = {r[0] for r in con.execute(f"SELECT DISTINCT event FROM {src}").fetchall() if r[0] is not None}
    return data_problems(cfg, events=names, columns=cols)
