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
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from .checks import data_problems, declared_events, extra_column_name, params_label
from .errors import IngestError, ParamsError
from .identity import stitch_clean_events
from .locations import CampaignPaths
from .params import Campaign, TableSpec, resolve_input
from .privacy import hidden_column_problems, privacy_manifest, protect_staged, pseudonym_key
from .schema import TABLES
from .sources import (
    _format_of,
    _ident,
    _lit,
    detect_encoding,
    engine_message,
    read_raw,
    transcode_to_utf8,
)
from .sqlsafety import expression_columns, lock_down
from .tracking import PLAN_CHECKS_FILE, PlanChecks, load_plan, write_plan_checks
from .values import (
    _closest,
    _rule_sql,
    guess_decimal,
    nulls_sql,
    num_sql,
    row_order_id_sql,
    semicolon_separated,
    ts_sql,
    typed_ts_sql,
)

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

_ID_COLUMNS = {"user_id", "order_id", "item_id", "review_id", "session_id"}


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
    read_notes: list[str] = []
    src_cols, encoding = read_raw(con, raw, src, files, fmt, paths.cache, table=table, notes=read_notes)

    canon = {c.name: c for c in TABLES[table]}
    where = f"{', '.join(files[:3])}{' ...' if len(files) > 3 else ''}"
    for key, col in spec.columns.items():
        if col not in src_cols:
            raise IngestError(
                f"tables.{table}.columns.{key}: column {col!r} is not in {where}{_closest(col, src_cols)}; "
                f"the file has: {', '.join(src_cols)}"
            )
    _check_derive_columns(table, spec.derive, src_cols, where)
    # canonical column -> text expression over the raw view (placeholders such as NULL, \\N, - are missing values)
    text: dict[str, str] = {}
    for name in canon:
        if name in spec.derive:
            text[name] = f"CAST(({spec.derive[name]}) AS VARCHAR)"
        elif name in spec.columns:
            text[name] = nulls_sql(_ident(spec.columns[name]), src.null_values)
        elif name in src_cols:
            text[name] = nulls_sql(_ident(name), src.null_values)
    generated = {("reviews", "review_id"), ("orders", "order_id")}  # made from the row when the source has none
    missing_req = [c for c in canon if canon[c].required and c not in text and (table, c) not in generated]
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
    if table == "orders" and "order_id" not in text:  # docs/cleaning.md, "Generated order ids"
        text["order_id"] = row_order_id_sql(text["user_id"], text["ts"])

    decimal = _decimal(con, table, src, files, fmt, raw, [e for n, e in text.items() if canon[n].dtype == "DOUBLE"])
    raw_types = {r[0]: r[1] for r in con.execute(f"DESCRIBE {raw}").fetchall()}
    src_tz = spec.source_timezone or cfg.timezone
    typed: dict[str, str] = {}
    for name, expr in text.items():
        dtype = canon[name].dtype
        col = spec.columns.get(name, name)
        typed_col = f"__typed_{col}"  # a TIMESTAMP / TIMESTAMPTZ source column, as read (helpers/sources.py)
        if dtype == "TIMESTAMP" and name not in spec.derive and name not in spec.values and typed_col in raw_types:
            conv = typed_ts_sql(_ident(typed_col), raw_types[typed_col], source_tz=src_tz, campaign_tz=cfg.timezone)
            typed[name] = conv or ts_sql(expr, fmt=spec.ts_format, source_tz=src_tz, campaign_tz=cfg.timezone)
        elif dtype == "TIMESTAMP":
            typed[name] = ts_sql(expr, fmt=spec.ts_format, source_tz=src_tz, campaign_tz=cfg.timezone)
        elif dtype in ("DOUBLE", "INTEGER"):
            typed[name] = f"TRY_CAST({num_sql(expr, decimal=decimal)} AS {dtype})"
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
    plan = _plan_checks(cfg, table, text, extras, {n: ref[n] for n in typed if canon[n].dtype != "VARCHAR"})
    plan_mode = cfg.tracking.on_violation
    if plan is not None and plan_mode == "quarantine":
        checks += plan.reasons()  # after every other reason (docs/data_quality.md)
    case = "CASE " + " ".join(f"WHEN {cond} THEN {_lit(r)}" for r, cond in checks) + " END"
    dup = "false"
    if spec.dedupe and src_cols:
        part = ", ".join(_ident(c) for c in src_cols)
        dup = f"row_number() OVER (PARTITION BY __read_reason, __line, {part} ORDER BY __row) > 1"

    out_cols = [f"{ref[n]} AS {_ident(n)}" for n in canon if n in typed]
    out_cols += [f"CAST({e} AS VARCHAR) AS {_ident(n)}" for n, e in extras.items()]
    flags = f", {plan.flags_sql()} AS __plan_flags" if plan is not None else ""
    if plan is not None and plan_mode == "flag":
        out_cols.append('__plan_flags AS "plan_flags"')
    inner_typed = ", ".join(f"{typed[n]} AS {ref[n]}" for n in typed)
    staged = f"staged_{table}"
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {staged} AS "
            f"SELECT *, CASE WHEN __read_reason IS NOT NULL THEN __read_reason WHEN __dup THEN 'duplicate' "
            f"ELSE {case} END AS __reason{flags} "
            f"FROM (SELECT *, {inner_typed}, {dup} AS __dup FROM {raw})"
        )
    except duckdb.Error as e:
        msg = engine_message(e)
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
    # an unreadable line's text could hold ids in clear or hidden columns: kept only without privacy settings
    private = cfg.privacy.pseudonymize_user_ids or cfg.privacy.hide_columns
    raw_line = "CAST(NULL AS VARCHAR)" if private else "__raw_line"
    qsql = (
        f"SELECT __reason AS reason, __file AS source_file, __row AS source_row, __line AS source_line, "
        f"{raw_line} AS raw_line, {', '.join(_ident(c) for c in q_cols)} "
        f"FROM {staged} WHERE __reason IS NOT NULL ORDER BY __row, __file, __line"
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
    if rows_in == sum(reasons.values()):  # nothing clean: stop here, no analysis runs on nothing
        span = None
        if "ts" in typed:
            lo_hi = f"[CAST(min({ref['ts']}) AS VARCHAR), CAST(max({ref['ts']}) AS VARCHAR)]"
            span = _scalar(con, f"SELECT {lo_hi} FROM {staged}")
        con.execute(f"DROP TABLE {staged}")
        out.unlink(missing_ok=True)
        raise IngestError(_empty_message(cfg, table, where, int(rows_in), reasons, span, q))
    plan_notes: list[str] = []
    if table == "events":  # the tracking plan's counts: rows past every other check, and unknown_event rows
        checks_file = paths.data / PLAN_CHECKS_FILE
        checks_file.unlink(missing_ok=True)
        if plan is not None:
            kept = ", ".join(_lit(r) for r in ["unknown_event", *(r for r, _ in plan.reasons())])
            where_ok = f"__reason IS NULL OR __reason IN ({kept})"
            plan_notes = write_plan_checks(
                con, plan, staged, ts=ref["ts"], where=where_ok, path=checks_file, mode=plan_mode
            )
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
        notes=read_notes
        + plan_notes
        + ([f"numbers read with ',' as the decimal mark ({src.decimal})"] if decimal == "," else []),
    )


def _plan_checks(cfg: Campaign, table: str, text: dict, extras: dict, typed: dict) -> PlanChecks | None:
    """The tracking plan's row checks over the raw view (helpers/tracking.py), for the events table of a
    campaign with a plan: property values are the mapped canonical columns and the kept extra columns."""
    plan = load_plan(cfg) if table == "events" else None
    if plan is None:
        return None
    values = {n: f"CAST({_ident(f'__t_{n}')} AS VARCHAR)" for n in text}  # typed once in the inner SELECT
    values.update({n: f"CAST({e} AS VARCHAR)" for n, e in extras.items() if n not in values})
    return PlanChecks(plan, event=_ident("__t_event"), values=values, typed=typed)


def _empty_message(cfg: Campaign, table: str, where: str, rows_in: int, reasons: dict, span, qfile: Path) -> str:
    """Why a table has no clean row: the reasons, the data's own time range and the params' period."""
    if rows_in == 0:
        return f"tables.{table}: {where} has no data rows; nothing to analyse (check tables.{table}.source.path)"
    counts = ", ".join(f"{r} {n:,}" for r, n in reasons.items())
    msg = f"tables.{table}: no row of {where} is left after cleaning ({rows_in:,} rows read, all quarantined: {counts})"
    lo, hi = span or (None, None)
    if lo is not None:
        msg += (
            f"\n  the data's timestamps run from {lo} to {hi} (campaign-local, {cfg.timezone}, before the period "
            f"filter); the params' period is {cfg.period.start} to {cfg.period.end}"
        )
        if reasons.get("out_of_period"):
            msg += "\n  fix: set period.start / period.end in the campaign params to days inside the data's range"
    elif span is not None:
        msg += f"\n  no timestamp could be read (ts_format {cfg.spec(table).ts_format!r}): set tables.{table}.ts_format"
    return msg + f"\n  the quarantined rows and their reasons: {qfile}"


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


def _check_derive_columns(table: str, derive: dict[str, str], src_cols: list[str], where: str) -> None:
    """Every column a ``derive`` expression reads must be a source column (validate checked its shape)."""
    for key, expr in derive.items():
        for col in expression_columns(expr):
            if col not in src_cols:
                raise IngestError(
                    f"tables.{table}.derive.{key}: column {col!r} is not in {where}{_closest(col, src_cols)}; "
                    f"the file has: {', '.join(src_cols)}"
                )


def _decimal(con, table: str, src, files: list[str], fmt: str, raw: str, num_exprs: list[str]) -> str:
    """The decimal mark of the table's numbers: ``source.decimal``, or with ``auto`` ',' for a ';'-separated
    CSV whose numeric columns look like ``1,5`` more often than like ``1.5`` (:func:`helpers.values.guess_decimal`)."""
    if src.decimal != "auto":
        return src.decimal
    if fmt != "csv" or not num_exprs:
        return "."
    semi = src.delimiter == ";" or (src.delimiter is None and semicolon_separated(files[0]))
    if not semi:
        return "."
    cols = ", ".join(f"{e} AS {_ident(f'__n{i}')}" for i, e in enumerate(num_exprs))
    rel = f"(SELECT {cols} FROM {raw})"
    return guess_decimal(con, rel, [f"__n{i}" for i in range(len(num_exprs))])


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
    # a params file is code: from here on the engine reads the inputs and the campaign folder, nothing else
    lock_down(con, directories=[paths.root], files=_input_files(cfg, paths))
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
            reports[name] = ingest_table(con, cfg, name, paths)
            if name == "events" and cfg.identity.enabled and reports[name].derived_from is None:
                identity = stitch_clean_events(con, cfg, paths)  # helpers/identity.py, docs/identity.md
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


def _data_checks(con, cfg: Campaign, paths: CampaignPaths) -> list[tuple[str, str]]:
    """The params' events and columns against the clean events table (:func:`helpers.checks.data_problems`)."""
    src = f"read_parquet({_lit(str(paths.table('events')))})"
    cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()]
    names = None
    if declared_events(cfg) is None:  # only the data can tell
        names = {r[0] for r in con.execute(f"SELECT DISTINCT event FROM {src}").fetchall() if r[0] is not None}
    return data_problems(cfg, events=names, columns=cols)
