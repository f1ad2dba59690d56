"""The cleaning of one file-backed table as SQL over its raw relation: typed values, the quarantine reasons in
order (docs/cleaning.md), the clean columns; and the table report. One definition for both engines: DuckDB ingest
(:mod:`helpers.ingest`) runs it as is, Spark ingest (:mod:`helpers.ingest_spark`) after transpiling."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .checks import extra_column_name
from .errors import IngestError
from .params import Campaign
from .schema import TABLES
from .sources import READ_REASONS, _ident, _lit, dedupe_columns
from .sqlsafety import expression_columns
from .tracking import PLAN_CHECKS_FILE, PlanChecks, load_plan, write_plan_checks
from .values import (
    _closest,
    _rule_sql,
    currency_sql,
    guess_decimal,
    nfkc_sql,
    nulls_sql,
    num_sql,
    row_order_id_sql,
    semicolon_separated,
    ts_sql,
    typed_ts_sql,
)

__all__ = ["Cleaning", "TableReport", "bad_number_columns", "cleaning_sql", "currency_mix", "event_losses",
           "may_lose_events", "plan_checks_step"]  # fmt: skip

_safe_extra = extra_column_name

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
    #: what the reader or ingest had to assume: a message key or ``{"key": <message key>, **fields}`` is shown on the
    #: ingest page in the campaign's language (:func:`helpers.quality.ingest_findings`); other text (the tracking
    #: plan's counts, "ingested on Spark") is for the manifest ``data/_ingest.json`` only
    notes: list[str | dict] = field(default_factory=list)
    #: the table's cleaning rules' reasons as pages name them (``rules[].label``): reason -> label
    reason_labels: dict[str, str] = field(default_factory=dict)
    #: where the ``bad_number`` rows' numbers could not be read (:func:`bad_number_columns`)
    bad_numbers: list[dict] = field(default_factory=list)
    #: events that lost a large share of their rows to quarantine (:func:`event_losses`)
    event_losses: list[dict] = field(default_factory=list)
    #: the money column's currency signs, when any value carries one (:func:`currency_mix`)
    currencies: list[dict] = field(default_factory=list)

    @property
    def rows_quarantined(self) -> int:
        return sum(self.reasons.values())

    def to_dict(self) -> dict:
        d = asdict(self)
        d["rows_quarantined"] = self.rows_quarantined
        return d


@dataclass
class Cleaning:
    """The cleaning of one table as SQL over the raw relation ``raw`` (helpers/sources.py): ``select`` gives every raw
    row its typed values (``__t_<name>``) and ``__reason`` (NULL when clean); ``out_cols`` select the clean table's
    columns from it. One definition for both engines: DuckDB runs it as is, Spark after transpiling
    (helpers/ingest_spark.py)."""

    select: str
    out_cols: list[str]
    canon: dict
    typed: dict[str, str]
    ref: dict[str, str]
    extras: dict[str, str]
    plan: PlanChecks | None
    decimal: str
    dedupe_cols: list[str] = field(default_factory=list)  # quoted source columns duplicates are equal on
    reason_sql: str = ""  # the outer select's "CASE ... END AS __reason" (and the plan flags)
    typed_sql: str = ""  # the inner select's typed values
    texts: dict[str, str] = field(default_factory=dict)  # canonical column -> its text over the source columns

    def select_with(self, source: str, dup: str, keep: list[str] | None = None) -> str:
        """``select`` over ``source`` with ``dup`` (true for a duplicate row) in place of the window that finds
        duplicates: DuckDB ingest gives a cheaper, equal test (:func:`helpers.ingest.duplicate_rows_sql`).
        ``keep``: the columns of the result besides ``__reason`` (and the plan flags); all when None."""
        cols = ", ".join(keep) if keep is not None else "*"
        return f"SELECT {cols}, {self.reason_sql} FROM (SELECT *, {self.typed_sql}, {dup} AS __dup FROM {source})"


def extra_columns(spec, canon, src_cols: list[str]) -> dict[str, tuple[str | None, str | None]]:
    """The clean table's columns besides the canonical ones ``canon``, as ingest names them: each name -> ``(source
    column, None)`` for a kept source column (``keep_extra``) or ``(None, derive key)`` for a non-canonical
    ``derive:`` key. A kept column is named by :func:`helpers.checks.extra_column_name` (``Order Channel`` ->
    ``order_channel``), with ``src_`` before a name that is canonical, taken or starts with ``__``
    (``User ID`` beside a mapped ``uid`` -> ``src_user_id``); one that collides again is not kept. A derive key
    takes its name whatever a kept column had. One definition for ingest and validate (helpers/headers.py)."""
    used_src = set(spec.columns.values()) | {n for n in canon if n in src_cols}
    out: dict[str, tuple[str | None, str | None]] = {}
    if spec.keep_extra:
        for src_col in src_cols:
            if src_col in used_src:
                continue
            nm = _safe_extra(src_col)
            if nm in canon or nm in out or nm.startswith("__"):
                nm = f"src_{nm}"
            if nm in canon or nm in out:
                continue
            out[nm] = (src_col, None)
    for name in spec.derive:
        if name not in canon:
            out[_safe_extra(name)] = (None, name)
    return out


def cleaning_sql(con, cfg: Campaign, table: str, raw: str, src_cols: list[str], files: list[str], fmt: str) -> Cleaning:
    """The cleaning SQL of a file-backed table over the raw relation ``raw`` with source columns ``src_cols``
    (DuckDB SQL; ``con`` answers ``DESCRIBE raw`` and the decimal-mark guess, :func:`_decimal`)."""
    spec = cfg.spec(table)
    src = spec.source
    assert src is not None
    canon = {c.name: c for c in TABLES[table]}
    where = f"{', '.join(files[:3])}{' ...' if len(files) > 3 else ''}"
    # every name DuckDB's own (column0, column1, ...) while the file has a header: the header line was not read
    unread = fmt == "csv" and src.header and all(re.fullmatch(r"column\d+", c) for c in src_cols)
    for key, col in spec.columns.items():
        if col not in src_cols:
            why = (
                f"; the header line could not be read (a wrong encoding, {src.encoding}?): set "
                f"tables.{table}.source.encoding to the file's real encoding (auto detects UTF-8 and GB18030/GBK), "
                f"or tables.{table}.source.header: false for a file without one"
                if unread
                else ""
            )
            raise IngestError(
                f"tables.{table}.columns.{key}: column {col!r} is not in {where}{_closest(col, src_cols)}; "
                f"the file has: {', '.join(src_cols)}{why}"
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
    extras = {
        nm: _ident(col) if col is not None else f"CAST(({spec.derive[str(key)]}) AS VARCHAR)"
        for nm, (col, key) in extra_columns(spec, canon, src_cols).items()
    }

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
    dedupe_cols = [_ident(c) for c in dedupe_columns(src_cols)] if spec.dedupe else []  # as read_raw's hash
    if dedupe_cols:
        dup = f"row_number() OVER (PARTITION BY __read_reason, __line, {', '.join(dedupe_cols)} ORDER BY __row) > 1"

    out_cols = [f"{ref[n]} AS {_ident(n)}" for n in canon if n in typed]
    out_cols += [f"CAST({e} AS VARCHAR) AS {_ident(n)}" for n, e in extras.items()]
    flags = f", {plan.flags_sql()} AS __plan_flags" if plan is not None else ""
    if plan is not None and plan_mode == "flag":
        out_cols.append('__plan_flags AS "plan_flags"')
    inner_typed = ", ".join(f"{typed[n]} AS {ref[n]}" for n in typed)
    reason = (
        f"CASE WHEN __read_reason IS NOT NULL THEN __read_reason WHEN __dup THEN 'duplicate' "
        f"ELSE {case} END AS __reason{flags}"
    )
    cl = Cleaning("", out_cols, canon, typed, ref, extras, plan, decimal, dedupe_cols, reason, inner_typed)
    cl.select = cl.select_with(raw, dup)
    cl.texts = text
    return cl


#: the values of a column :func:`bad_number_columns` quotes, and their length at most
BAD_NUMBER_VALUES, BAD_NUMBER_VALUE_CHARS = 3, 40


def bad_number_columns(con, cfg: Campaign, table: str, cl: Cleaning, qfile: str | Path) -> list[dict]:
    """Where the quarantined ``bad_number`` rows of ``table`` have a number that cannot be read, per numeric column:
    ``{"column", "source", "rows", "values"}`` (``source``: the file's column, None for a ``derive:`` one;
    ``values``: its commonest unreadable values as ``[value, rows]``, as the file writes them). A file of text labels
    (好评 / 差评 in a ``label`` column) reads "bad_number 635" and nothing more without it.

    Read with DuckDB (``con``) from the quarantine Parquet file ``qfile``, which both engines write with the source
    columns as text, through the cleaning's own expressions (placeholders, ``values:`` maps, decimal mark). A column
    the quarantine does not hold (``privacy.hide_columns``) is left out."""
    import duckdb

    spec = cfg.spec(table)
    out = []
    for name, c in cl.canon.items():
        if c.dtype not in ("DOUBLE", "INTEGER") or name not in cl.typed or name not in cl.texts:
            continue
        source = None if name in spec.derive else spec.columns.get(name, name)
        shown = _ident(source) if source else cl.texts[name]
        sql = (
            f"SELECT v, count(*) AS n FROM (SELECT CAST({shown} AS VARCHAR) AS v, ({cl.texts[name]}) AS x, "
            f"{cl.typed[name]} AS t FROM read_parquet({_lit(str(qfile))}) WHERE reason = 'bad_number') "
            "WHERE x IS NOT NULL AND t IS NULL GROUP BY v ORDER BY n DESC, v"
        )
        try:
            rows = con.execute(sql).fetchall()
        except duckdb.Error:  # a hidden column is not in the quarantine
            continue
        if rows:
            values = [[str(v)[:BAD_NUMBER_VALUE_CHARS], int(n)] for v, n in rows[:BAD_NUMBER_VALUES]]
            out.append({"column": name, "source": source, "rows": sum(int(n) for _, n in rows), "values": values})
    return out


def _plan_checks(cfg: Campaign, table: str, text: dict, extras: dict, typed: dict) -> PlanChecks | None:
    """The tracking plan's row checks over the raw view (helpers/tracking.py), for the events table of a
    campaign with a plan: property values are the mapped canonical columns and the kept extra columns."""
    plan = load_plan(cfg) if table == "events" else None
    if plan is None:
        return None
    values = {n: f"CAST({_ident(f'__t_{n}')} AS VARCHAR)" for n in text}  # typed once in the inner SELECT
    values.update({n: f"CAST({e} AS VARCHAR)" for n, e in extras.items() if n not in values})
    return PlanChecks(plan, event=_ident("__t_event"), values=values, typed=typed)


def plan_checks_step(con, cfg: Campaign, table: str, cl: Cleaning, staged: str, paths) -> list[str]:
    """Ingest's tracking-plan counts for the events table (both engines): ``data/_plan_checks.parquet`` from the
    staged rows that passed every other check and the ``unknown_event`` rows (docs/data_quality.md); returns the
    ingest note. ``con``: DuckDB, or Spark behind the DuckDB-SQL adapter of :mod:`helpers.ingest_spark`."""
    if table != "events":
        return []
    checks_file = paths.data / PLAN_CHECKS_FILE
    checks_file.unlink(missing_ok=True)
    if cl.plan is None:
        return []
    kept = ", ".join(_lit(r) for r in ["unknown_event", *(r for r, _ in cl.plan.reasons())])
    where_ok = f"__reason IS NULL OR __reason IN ({kept})"
    return write_plan_checks(
        con, cl.plan, staged, ts=cl.ref["ts"], where=where_ok, path=checks_file, mode=cfg.tracking.on_violation
    )


def _empty_message(
    cfg: Campaign, table: str, where: str, rows_in: int, reasons: dict, span, qfile: Path, bad: list[dict] | None = None
) -> str:
    """Why a table has no clean row: the reasons, the data's own time range and the params' period; when most rows
    have a number that cannot be read, the columns and values (``bad``: :func:`bad_number_columns`)."""
    if rows_in == 0:
        return f"tables.{table}: {where} has no data rows; nothing to analyse (check tables.{table}.source.path)"
    counts = ", ".join(f"{r} {n:,}" for r, n in reasons.items())
    msg = f"tables.{table}: no row of {where} is left after cleaning ({rows_in:,} rows read, all quarantined: {counts})"
    lo, hi = span or (None, None)
    if reasons.get("bad_encoding", 0) * 2 > rows_in:  # most lines do not decode: the encoding, not the times
        enc = getattr(cfg.spec(table).source, "encoding", "auto")
        msg += (
            f"\n  fix: most lines do not decode as {enc}: set tables.{table}.source.encoding to the file's real "
            "encoding (auto detects UTF-8 and GB18030/GBK; e.g. big5, latin-1)"
        )
    elif reasons.get("bad_number", 0) * 2 > rows_in and bad:  # text labels in a number column, say
        cols = "; ".join(
            f"{_named(b)} holds {', '.join(f'{v!r} ({n:,})' for v, n in b['values'])}" for b in bad
        )  # fmt: skip
        first = bad[0]["column"]
        msg += (
            f"\n  fix: most rows have a number that cannot be read: {cols}. Map text to numbers with "
            f"tables.{table}.values.{first} ({{{bad[0]['values'][0][0]}: <its number>, ...}}), or list "
            f'placeholders for "no value" in tables.{table}.source.null_values'
        )
    elif lo is not None:
        msg += (
            f"\n  the data's timestamps run from {lo} to {hi} (campaign-local, {cfg.timezone}, before the period "
            f"filter); the params' period is {cfg.period.start} to {cfg.period.end}"
        )
        if reasons.get("out_of_period"):
            msg += (
                "\n  fix: set period.start / period.end in the campaign params to days inside the data's range "
                f"({str(lo)[:10]} to {str(hi)[:10]})"
            )
    elif span is not None:
        msg += f"\n  no timestamp could be read (ts_format {cfg.spec(table).ts_format!r}): set tables.{table}.ts_format"
    return msg + f"\n  the quarantined rows and their reasons: {qfile}"


#: an event is said to have lost rows when the quarantine took at least this share of them, and this many
EVENT_LOSS_SHARE, EVENT_LOSS_ROWS = 0.05, 10
#: reasons that take rows no report should count anyway (a copy, another period, an event not declared), and
#: the reader's (a line it could not read has no event to name)
_EXPECTED_REASONS = ("duplicate", "out_of_period", "unknown_event", *READ_REASONS)


def may_lose_events(table: str, reasons: dict) -> bool:
    """Whether :func:`event_losses` has anything to look at: the events table with a reason besides the expected."""
    return table == "events" and any(r not in _EXPECTED_REASONS for r in reasons)


def event_losses(con, cl: Cleaning, qfile: str | Path, clean: str | Path) -> list[dict]:
    """The events whose rows the quarantine took in bulk for a reason that is not a copy, another period or an
    undeclared event (:data:`_EXPECTED_REASONS`): ``{"event", "rows", "total", "reasons": {reason: rows}}``, the
    largest share first, when ``rows`` is at least :data:`EVENT_LOSS_SHARE` of ``total`` (clean + those) and at
    least :data:`EVENT_LOSS_ROWS`. "--" for "no amount" quarantined 159 of 1,353 pay events as ``bad_number``, and
    the funnel read that as users dropping out.

    Read with DuckDB (``con``) from the quarantine (through the cleaning's own event expression, so both engines
    give the same) and the clean table ``clean``."""
    import duckdb

    if "event" not in cl.texts:
        return []
    skip = ", ".join(_lit(r) for r in _EXPECTED_REASONS)
    try:
        lost = con.execute(
            f"SELECT CAST({cl.texts['event']} AS VARCHAR) AS e, reason, count(*) FROM read_parquet({_lit(str(qfile))}) "
            f"WHERE reason NOT IN ({skip}) GROUP BY ALL"
        ).fetchall()
    except duckdb.Error:  # an event column the quarantine does not hold (privacy.hide_columns)
        return []
    by_event: dict[str, dict[str, int]] = {}
    for e, reason, n in lost:
        if e is not None:
            by_event.setdefault(str(e), {})[reason] = int(n)
    if not by_event:
        return []
    names = ", ".join(_lit(e) for e in by_event)
    kept = dict(
        con.execute(
            f"SELECT event, count(*) FROM read_parquet({_lit(str(clean))}) WHERE event IN ({names}) GROUP BY 1"
        ).fetchall()
    )
    out = []
    for e, reasons in by_event.items():
        rows = sum(reasons.values())
        total = rows + int(kept.get(e, 0))
        if rows >= EVENT_LOSS_ROWS and rows >= EVENT_LOSS_SHARE * total:
            top = dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
            out.append({"event": e, "rows": rows, "total": total, "reasons": top})
    return sorted(out, key=lambda d: (-d["rows"] / d["total"], d["event"]))


#: the money column whose currency signs :func:`currency_mix` counts
MONEY_COLUMN = "amount"


def currency_mix(con, cfg: Campaign, table: str, cl: Cleaning, raw: str) -> list[dict]:
    """The money column of ``table`` when its values carry currency signs (:data:`helpers.fmt.CURRENCIES`):
    ``[{"column", "source", "currencies": [[code, rows], ...]}]``, the commonest first; empty when no value
    carries one. The cleaning strips every sign (``¥12`` and ``$12`` are both 12), so a file of yuan and dollars is
    summed as one currency in every report, and a file of dollars reads in the campaign's currency (``¥`` by
    default); the ingest page and the money reports say so (:func:`helpers.caveats.currency_caveat`), where nothing
    else would.

    Counts the rows of the raw relation ``raw`` whose value reads as a number (the cleaning's own expression) and
    is not a plain number; ``con`` is DuckDB, or Spark behind the adapter of :mod:`helpers.ingest_spark` (one
    definition, both engines). A plain ``12`` counts for no currency, except beside cents: a ``¢`` value is read in
    whole units (``50¢`` is 50), so with cents the rows read as numbers without a sign are counted too, as code
    ``""`` (no sign) after the currencies, and cents beside plain numbers alone are said."""
    name = MONEY_COLUMN
    if name not in cl.typed or name not in cl.texts:
        return []
    spec = cfg.spec(table)
    read = f"SELECT CAST({cl.texts[name]} AS VARCHAR) AS v, {cl.typed[name]} AS x FROM {raw}"
    # the values read as numbers that are not plain numbers, made ASCII once, then told by their signs
    signed = f"SELECT {nfkc_sql('v')} AS w FROM ({read}) AS r WHERE TRY_CAST(v AS DOUBLE) IS NULL AND x IS NOT NULL"
    rows = con.execute(
        f"SELECT c, count(*) AS n FROM (SELECT {currency_sql('w')} AS c FROM ({signed}) AS w) AS s "
        "WHERE c IS NOT NULL GROUP BY c"
    ).fetchall()
    found: list[list] = [[str(c), int(n)] for c, n in sorted(rows, key=lambda cn: (-int(cn[1]), str(cn[0])))]
    if "¢" in {c for c, _ in found}:  # a cent's number is read in whole units: 50¢ is 50, beside a plain 0.50
        plain = f"TRY_CAST(v AS DOUBLE) IS NOT NULL OR {currency_sql(nfkc_sql('v'))} IS NULL"
        n = int(con.execute(f"SELECT count(*) FROM ({read}) AS r WHERE x IS NOT NULL AND ({plain})").fetchone()[0])
        found += [["", n]] if n else []  # the rows read as numbers without a sign: "" (no sign), said last
    if not found:
        return []
    source = None if name in spec.derive else spec.columns.get(name, name)
    return [{"column": name, "source": source, "currencies": found}]


def _named(bad: dict) -> str:
    """A numeric column of :func:`bad_number_columns` as an error names it: the file's column and the kit's."""
    src, col = bad["source"], bad["column"]
    return f"column {src!r} ({col})" if src and src != col else f"column {col!r}"


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


def decimal_note(table: str, decimal_given: str, decimal: str) -> list[dict]:
    """The note that a table's numbers were read with ',' as the decimal mark, when ingest guessed it (``decimal:
    auto`` on a ';' file with values such as 1,5); none when the params said so or the mark is '.'."""
    if decimal != "," or decimal_given == ",":
        return []
    return [{"key": "ingest.note_decimal", "table": table}]


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
