"""Data quality profile of the ingest step: rows in/out per table and reason, time range, users, activity per
day, top values, null rates, quarantine samples, and the ingest report's key findings.

All functions read the clean Parquet tables with DuckDB (cheap scans, any size) and return small pandas
DataFrames for display.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

import duckdb
import pandas as pd

from .base import Report
from .fmt import fmt_int, fmt_pct
from .i18n import catalogue, column_word, label, list_join, localized, sentence_start, t
from .ingest import TableReport
from .sqlsafety import sql_name, sql_text

__all__ = [
    "main_table",
    "key_column",
    "ingest_summary",
    "reason_table",
    "daily_activity",
    "top_values",
    "null_rates",
    "null_rate_table",
    "ingest_headline",
    "show_quarantine_samples",
    "plot_reasons",
    "plot_daily",
    "quarantine_sample",
    "ingest_findings",
    "ingest_results",
    "IngestReport",
]


_q = sql_text


def ingest_summary(reports: dict[str, TableReport]) -> pd.DataFrame:
    """One row per table.

    Returns
    -------
    DataFrame with columns ``table``, ``source`` (file names or, for a derived table, ``ingest.derived_from`` in
    the campaign language, e.g. ``derived from events``), ``encoding``,
    ``rows_in``, ``rows_out``, ``quarantined``, ``kept_share`` (rows_out / rows_in), ``ts_min``, ``ts_max``,
    ``users``, ``seconds``.
    """
    rows = []
    for r in reports.values():
        files = ", ".join(p.rsplit("/", 1)[-1] for p in r.files)
        src = t("ingest.derived_from", table=table_label(r.derived_from)) if r.derived_from else files
        rows.append(
            {
                "table": r.table,
                "source": src,
                "encoding": r.encoding or "",
                "rows_in": r.rows_in,
                "rows_out": r.rows_out,
                "quarantined": r.rows_quarantined,
                "kept_share": r.rows_out / r.rows_in if r.rows_in else float("nan"),
                "ts_min": r.ts_min,
                "ts_max": r.ts_max,
                "users": r.users,
                "seconds": r.seconds,
            }
        )
    return pd.DataFrame(rows)


def reason_table(reports: dict[str, TableReport]) -> pd.DataFrame:
    """Quarantined rows per table and reason.

    Returns
    -------
    DataFrame with ``table``, ``reason``, ``rows``, ``share_of_input`` (rows / rows_in of that table),
    sorted by table then rows descending. Empty (with these columns) when nothing was rejected.
    """
    rows = [
        {"table": r.table, "reason": k, "rows": v, "share_of_input": v / r.rows_in if r.rows_in else float("nan")}
        for r in reports.values()
        for k, v in r.reasons.items()
    ]
    df = pd.DataFrame(rows, columns=["table", "reason", "rows", "share_of_input"])
    return df.sort_values(["table", "rows"], ascending=[True, False], ignore_index=True)


def main_table(reports: dict[str, TableReport]) -> str:
    """The table the ingest report profiles: events, else orders, else the first one ingested."""
    for name in ("events", "orders", "reviews", "users"):
        if name in reports:
            return name
    return next(iter(reports))


#: the column whose top values the ingest report shows, per table
KEY_COLUMN = {"events": "event", "orders": "item_id", "reviews": "category", "users": "channel"}


def key_column(table: str) -> str:
    """The column whose most frequent values describe ``table`` (event names for events, ...)."""
    return KEY_COLUMN.get(table, "user_id")


def daily_activity(path, *, ts_col: str = "ts", user_col: str = "user_id") -> pd.DataFrame:
    """Rows and distinct users per local calendar day of a clean table.

    Returns
    -------
    DataFrame with ``day`` (datetime64, midnight), ``rows``, ``users``; days without rows are absent;
    empty when the table has no timestamp (or no user) column.
    """
    with duckdb.connect() as con:
        cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({_q(path)})").fetchall()}
    if ts_col not in cols:
        return pd.DataFrame(
            {
                "day": pd.Series(dtype="datetime64[us]"),
                "rows": pd.Series(dtype="int64"),
                "users": pd.Series(dtype="int64"),
            }
        )
    users = f"count(DISTINCT {user_col})" if user_col in cols else "CAST(NULL AS BIGINT)"
    sql = (
        f"SELECT CAST(date_trunc('day', {ts_col}) AS TIMESTAMP) AS day, count(*) AS rows, "
        f"{users} AS users FROM read_parquet({_q(path)}) WHERE {ts_col} IS NOT NULL GROUP BY 1 ORDER BY 1"
    )
    with duckdb.connect() as con:
        return con.execute(sql).df()


def top_values(path, column: str, *, n: int = 15) -> pd.DataFrame:
    """Most frequent values of ``column``.

    Returns
    -------
    DataFrame with ``value``, ``rows``, ``share`` (of all rows), at most ``n`` rows, most frequent first
    (ties by value).
    """
    with duckdb.connect() as con:
        cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({_q(path)})").fetchall()}
    if column not in cols:
        return pd.DataFrame(
            {"value": pd.Series(dtype=str), "rows": pd.Series(dtype="int64"), "share": pd.Series(dtype=float)}
        )
    sql = (
        f'SELECT CAST("{column}" AS VARCHAR) AS value, count(*) AS rows, count(*) / sum(count(*)) OVER () AS share '
        f"FROM read_parquet({_q(path)}) GROUP BY 1 ORDER BY rows DESC, value LIMIT {int(n)}"
    )
    with duckdb.connect() as con:
        return con.execute(sql).df()


def spelling_key(name: str) -> str:
    """A name by its letters alone: lower case, without spaces, ``_`` and ``-`` ("Add_To-Cart" -> "addtocart")."""
    return re.sub(r"[\s_\-]+", "", name.lower())


def name_variants(path, column: str = "event") -> list[list[dict]]:
    """Values of ``column`` that differ only in letter case, spaces, underscores or hyphens ("view", "View",
    "VIEW"; "add_to_cart", "addToCart"): tracking code that sends one event under several spellings, which every
    analysis counts as different events. One list per spelling group (``{"value", "rows"}``, most rows first),
    the groups with the most rows first; empty when the table has no such column or no such group."""
    with duckdb.connect() as con:
        cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({_q(path)})").fetchall()}
        if column not in cols:
            return []
        df = con.execute(
            f'SELECT CAST("{column}" AS VARCHAR) AS value, count(*) AS rows FROM read_parquet({_q(path)}) '
            "GROUP BY 1 HAVING value IS NOT NULL"
        ).df()
    df["key"] = df["value"].map(spelling_key)
    df = df[df.groupby("key")["value"].transform("size") > 1].sort_values(["rows", "value"], ascending=[False, True])
    groups = [[{"value": str(v), "rows": int(n)} for v, n in zip(g["value"], g["rows"], strict=True)]
              for _, g in df.groupby("key", sort=False)]  # fmt: skip
    return sorted(groups, key=lambda g: -sum(int(x["rows"]) for x in g))


def null_rates(path) -> pd.DataFrame:
    """Share of empty values per column of a clean table.

    Returns
    -------
    DataFrame with ``column``, ``nulls``, ``null_share``, in table column order.
    """
    with duckdb.connect() as con:
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({_q(path)})").fetchall()]
        if not cols:
            return pd.DataFrame(columns=["column", "nulls", "null_share"])
        parts = ", ".join(f'count(*) - count("{c}")' for c in cols)
        row = con.execute(f"SELECT count(*), {parts} FROM read_parquet({_q(path)})").fetchone()
        n, *nulls = row if row is not None else (0, *[0] * len(cols))
    return pd.DataFrame({"column": cols, "nulls": nulls, "null_share": [x / n if n else float("nan") for x in nulls]})


def quarantine_sample(report: TableReport, *, per_reason: int = 3, max_cols: int = 8) -> pd.DataFrame:
    """A few quarantined rows per reason (first in source order), with ``reason`` and ``source_row``
    first and at most ``max_cols`` source columns."""
    if not report.quarantine_path or not report.reasons:
        return pd.DataFrame(columns=["reason", "source_row"])
    sql = (
        f"SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER (PARTITION BY reason ORDER BY source_row) AS rn "
        f"FROM read_parquet({_q(report.quarantine_path)})) WHERE rn <= {int(per_reason)} ORDER BY reason, source_row"
    )
    with duckdb.connect() as con:
        df = con.execute(sql).df()
    keep = ["reason", "source_row"] + [c for c in df.columns if c not in ("reason", "source_row", "source_file")][
        :max_cols
    ]
    return df[keep]


def unknown_events(report: TableReport | None, source_col: str | None, declared: list[str], n: int = 5) -> dict:
    """The events quarantined as ``unknown_event`` (not in ``tables.events.events``) by their source value:
    ``{"top": [{"value", "rows"}, ...]`` (the ``n`` with the most rows), ``"names": k`` (distinct values),
    ``"like": {value: declared event}`` for a value spelt as a declared event but for case, spaces, ``_`` and
    ``-`` (``View`` for ``view``)}; empty when there is none or the event column is derived (no source column)."""
    if report is None or not report.reasons.get("unknown_event") or not report.quarantine_path or not source_col:
        return {}
    with duckdb.connect() as con:
        cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({_q(report.quarantine_path)})")
                .fetchall()}  # fmt: skip
        if source_col not in cols:
            return {}
        df = con.execute(
            f"SELECT CAST({sql_name(source_col)} AS VARCHAR) AS value, count(*) AS rows "
            f"FROM read_parquet({_q(report.quarantine_path)}) WHERE reason = 'unknown_event' GROUP BY 1 "
            "ORDER BY rows DESC, value"
        ).df()
    df = df[df["value"].notna()]
    known = {spelling_key(e): e for e in declared}
    like = {v: known[spelling_key(v)] for v in df["value"] if known.get(spelling_key(v), v) != v}
    top = [{"value": str(v), "rows": int(r)} for v, r in zip(df["value"].head(n), df["rows"].head(n), strict=True)]
    return {"top": top, "names": len(df), "like": like}


def ingest_findings(
    reports: dict[str, TableReport],
    *,
    timezone: str = "",
    variants: list[list[dict]] | None = None,
    unknown: dict | None = None,
    currency: str = "¥",
) -> list[str]:
    """Key findings of the ingest report in plain words and numbers, in the current language; ``variants``: the
    events' spelling groups (:func:`name_variants`), ``unknown``: the events quarantined as not declared
    (:func:`unknown_events`), both said after the events table's lines; ``currency``: the campaign's sign before
    money, which the amounts' signs are compared with."""
    out = []
    for r in reports.values():
        if r.derived_from:
            name, source = sentence_start(table_label(r.table)), table_label(r.derived_from)
            out.append(t("ingest.derived", table=name, rows=fmt_int(r.rows_out), source=source))
            out += _notes(r)
            continue
        kept = r.rows_out / r.rows_in if r.rows_in else 0
        line = t(
            "ingest.rows",
            table=sentence_start(table_label(r.table)),  # each line opens with the table: "Events: 162,354 rows in"
            rows_in=fmt_int(r.rows_in),
            rows_out=fmt_int(r.rows_out),
            kept=fmt_pct(kept),
        )
        if r.users is not None:
            line += t("ingest.users", users=fmt_int(r.users))
        if r.ts_min:
            line += t("ingest.dates", start=r.ts_min[:10], end=(r.ts_max or "")[:10])
        out.append(line + t("ingest.end"))
        if r.reasons:
            top = sorted(r.reasons.items(), key=lambda kv: -kv[1])
            # in words, as the table; past five reasons the fifth on summed, so that the parts add up to the total
            head = top if len(top) <= 5 else top[:4]
            shown = [t("ingest.reason_rows", reason=reason_label(k, r.reason_labels), rows=fmt_int(v)) for k, v in head]
            if len(top) > 5:
                rest = top[len(head) :]
                shown.append(t("ingest.other_reasons", n=len(rest), rows=fmt_int(sum(v for _, v in rest))))
            desc = list_join(shown)
            out.append(
                t(
                    "ingest.quarantined",
                    table=sentence_start(table_label(r.table)),
                    rows=fmt_int(r.rows_quarantined),
                    share=fmt_pct(r.rows_quarantined / r.rows_in if r.rows_in else 0),
                    reasons=desc,
                )
            )
        if r.reasons.get("bad_number"):  # "--" or "N/A" for "no amount" takes the whole row (a pay event) away
            if r.bad_numbers:  # which column, which values: "label: 好评 423, 差评 212" (helpers.cleaning)
                out.append(_bad_numbers_text(r.bad_numbers))
            out.append(t("ingest.bad_number_hint", rows=fmt_int(r.reasons["bad_number"]), code=r.table))
        said = _currencies_text(r.currencies, currency) if r.currencies else None  # ¥ and $, or $ on a ¥ campaign
        out += [said] if said else []
        if r.event_losses:  # "pay 159 of 1,353 rows": a funnel step that reads low, said where it starts
            out.append(_event_losses_text(r.event_losses, r.reason_labels))
        out += _notes(r)  # after the table's counts: what the reader had to assume
        if r.table == "events" and variants:
            out.append(_variants_text(variants))
        if r.table == "events" and unknown:
            out.append(_unknown_text(unknown))
    if timezone:
        out.append(t("ingest.timezone", timezone=timezone))
    return out


def _unknown(cfg, reports: dict[str, TableReport]) -> dict:
    """:func:`unknown_events` of the campaign's events table (its source column of ``event``, its declared list)."""
    spec = cfg.tables.events
    if spec is None or spec.derive_from or not spec.events or "events" not in reports:
        return {}
    return unknown_events(reports["events"], spec.columns.get("event"), list(spec.events))


#: spelling groups of event names a finding lists (the results keep every group)
VARIANTS_SHOWN = 3


def _variants_text(variants: list[list[dict]]) -> str:
    """The finding on event names spelt several ways: "view 1,200 / View 3 / VIEW 1", the largest groups first."""
    groups = [" / ".join(t("ingest.reason_rows", reason=x["value"], rows=fmt_int(x["rows"])) for x in g)
              for g in variants[:VARIANTS_SHOWN]]  # fmt: skip
    more = t("ingest.variants_more", n=len(variants) - VARIANTS_SHOWN) if len(variants) > VARIANTS_SHOWN else ""
    shown = list_join(groups) + more
    if len(variants) == 1:
        return t("ingest.variants_one", groups=shown, code="events", column="event")
    return t("ingest.variants", n=str(len(variants)), groups=shown, code="events", column="event")


def _unknown_text(unknown: dict) -> str:
    """The finding naming the undeclared events: "share 300、debug 4 ..." and those spelt as a declared event."""
    names = list_join(t("ingest.reason_rows", reason=x["value"], rows=fmt_int(x["rows"])) for x in unknown["top"])
    more = unknown["names"] - len(unknown["top"])
    if more > 0:
        names += t("ingest.variants_more", n=more)
    like = unknown.get("like") or {}
    hint = t("ingest.unknown_like", pairs=list_join(t("ingest.like_pair", value=v, event=e) for v, e in like.items()))
    return t("ingest.unknown_events", names=names, code="events") + (hint if like else "")


#: the id column of a table whose rows are one each, and the note that says when one repeats: the user profile keeps
#: the first row of each user; sentiment scores each review row as a review of its own
ID_NOTES = {
    "users": ("user_id", "ingest.note_duplicate_ids"),
    "reviews": ("review_id", "ingest.note_duplicate_reviews"),
}


def duplicate_ids_note(path, table: str) -> dict | None:
    """A note when the clean table ``table`` at ``path`` (Parquet, as either engine writes it) holds its id
    (:data:`ID_NOTES`) more than once, so that the page says what the reports do with them. None when every id is
    unique (or the file or column is not there). Exact duplicate rows are quarantined before (``dedupe``): these
    rows differ in another column."""
    key, message = ID_NOTES[table]
    sql = (
        f"SELECT count(*), coalesce(sum(c), 0) FROM (SELECT count(*) AS c FROM read_parquet(?) "
        f"GROUP BY {sql_name(key)} HAVING count(*) > 1)"
    )
    try:
        row = duckdb.connect().execute(sql, [str(path)]).fetchone()  # an aggregate: one row
    except duckdb.Error:
        return None
    n, rows = row if row else (0, 0)
    return {"key": message, "table": table, "ids": fmt_int(n), "rows": fmt_int(rows)} if n else None


def orders_notes(paths, reports: dict[str, TableReport]) -> list[dict]:
    """Notes on an orders table read from a file, from the clean tables (either engine writes them): order ids
    that more than one user has (a basket mixes their items; each user counts the order), and buyers with no event
    in an events table read from a file (funnel and paths do not see them). Empty when there is nothing to say."""
    o = reports.get("orders")
    if o is None or o.derived_from:
        return []
    con = duckdb.connect()
    orders = f"read_parquet({sql_text(str(paths.table('orders')))})"
    out: list[dict] = []
    try:
        row = con.execute(
            f"SELECT count(*), coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {orders} GROUP BY order_id "
            "HAVING count(DISTINCT user_id) > 1)"
        ).fetchone()  # an aggregate: one row
        if row and row[0]:
            out.append({"key": "ingest.note_shared_orders", "ids": fmt_int(row[0]), "rows": fmt_int(row[1])})
        e = reports.get("events")
        if e is not None and not e.derived_from:
            events = f"read_parquet({sql_text(str(paths.table('events')))})"
            row = con.execute(
                f"SELECT count(*), count(*) FILTER (WHERE user_id NOT IN (SELECT DISTINCT user_id FROM {events})) "
                f"FROM (SELECT DISTINCT user_id FROM {orders})"
            ).fetchone()
            if row and row[1]:
                out.append({"key": "ingest.note_buyers_without_events", "n": fmt_int(row[1]), "of": fmt_int(row[0]),
                            "share": fmt_pct(row[1] / row[0])})  # fmt: skip
    except duckdb.Error:  # a table not written (a failed ingest says why elsewhere)
        return out
    return out


def _event_losses_text(losses: list[dict], labels: dict[str, str]) -> str:
    """The events that lost a large share of their rows to quarantine (:attr:`TableReport.event_losses`)."""
    items = []
    for d in losses:
        why = list_join(f"{reason_label(k, labels)} {fmt_int(v)}" for k, v in d["reasons"].items())
        items.append(t("ingest.event_loss", event=d["event"], rows=fmt_int(d["rows"]), total=fmt_int(d["total"]),
                       share=fmt_pct(d["rows"] / d["total"]), reasons=why))  # fmt: skip
    return t("ingest.event_losses", items=list_join(items))


def _bad_numbers_text(bad: list[dict]) -> str:
    """Where numbers could not be read (:attr:`TableReport.bad_numbers`): each column, the file's column it comes
    from, its rows and its commonest unreadable values."""

    items = []
    for b in bad:
        values = list_join(t("ingest.bad_number_value", value=v, rows=fmt_int(n)) for v, n in b["values"])
        key = "ingest.bad_number_column" if b["source"] else "ingest.bad_number_derived"
        items.append(t(key, column=column_word(b["column"]), source=b["source"] or "", rows=fmt_int(b["rows"]),
                       values=values))  # fmt: skip
    return t("ingest.bad_number_where", columns=list_join(items))


def _currencies_text(found: list[dict], currency: str) -> str | None:
    """The money column whose values carry several currencies' signs (:attr:`TableReport.currencies`), each
    currency with its rows: "Amount (the file's amt) holds amounts in several currencies: CNY in 1,200 rows, USD in
    30 rows. ..."; or one currency's that is not the campaign's ``currency``: "... carries another currency's sign
    (USD in 1,200 rows), but the campaign's currency is ¥ ...". None for the campaign's currency alone."""
    from .caveats import currency_items, currency_problem

    m = found[0]
    column = column_word(m["column"])
    if m["source"]:
        column = t("ingest.currency_column", column=column, source=m["source"])
    problem = currency_problem(m["currencies"], currency)
    if problem is None:
        return None
    key = "ingest.currencies" if problem == "mixed" else "ingest.currency_other"
    text = t(key, column=sentence_start(column), items=currency_items(m["currencies"]), currency=currency)
    cents = "¢" in {c for c, _ in m["currencies"]}  # read in whole units: 50¢ is 50
    return text + t("ingest.cents_units") if cents else text


def _notes(r: TableReport) -> list[str]:
    """A table's notes for readers (:attr:`TableReport.notes`): a message key, or a message with its fields (the
    table by its name, ``code`` its key in the params); a technical text stays in the manifest."""
    out = []
    for n in r.notes:
        if isinstance(n, dict):
            fields = {k: v for k, v in n.items() if k != "key"}
            text = t(n["key"], **{**fields, "table": table_label(r.table), "code": r.table})
        elif n in catalogue():
            text = t(n)
        else:
            continue
        out.append(t("ingest.note", note=text))
    return out


def ingest_results(reports: dict[str, TableReport]) -> dict:
    """The notebook-specific part of ``results/ingest.json``: per table ``rows_in``, ``rows_out``,
    ``reasons``, ``ts_min``, ``ts_max``, ``users``, ``encoding``, ``seconds``, ``derived_from``, ``bad_numbers``,
    ``event_losses``, ``currencies``."""
    return {
        "tables": {
            k: {
                f: v.to_dict()[f]
                for f in (
                    "rows_in",
                    "rows_out",
                    "rows_quarantined",
                    "reasons",
                    "ts_min",
                    "ts_max",
                    "users",
                    "encoding",
                    "seconds",
                    "derived_from",
                    "bad_numbers",
                    "event_losses",
                    "currencies",
                )
            }
            for k, v in reports.items()
        }
    }


def null_rate_table(reports: dict[str, TableReport]) -> pd.DataFrame:
    """:func:`null_rates` of every clean table, stacked, with a leading ``table`` column."""
    parts = [null_rates(r.path).assign(table=r.table) for r in reports.values()]
    if not parts:
        return pd.DataFrame(columns=["table", "column", "nulls", "null_share"])
    df = pd.concat(parts, ignore_index=True)
    return df[["table", "column", "nulls", "null_share"]]


def ingest_headline(reports: dict[str, TableReport]) -> list[dict]:
    """Headline numbers of the ingest report (for the index page)."""
    from .report import headline

    out = []
    for r in reports.values():
        if r.derived_from:
            continue
        out.append(headline(t("ingest.h_clean", table=table_label(r.table)), r.rows_out, fmt_int(r.rows_out)))
        share = r.rows_quarantined / r.rows_in if r.rows_in else 0.0
        out.append(headline(t("ingest.h_quarantined", table=table_label(r.table)), round(share, 6), fmt_pct(share)))
    main = reports.get("events") or reports.get("orders")
    if main is not None and main.users is not None:
        out.append(headline(t("ingest.h_users"), main.users, fmt_int(main.users)))
    return out


def table_label(name: str) -> str:
    """A canonical table as pages name it (``ingest.table.<name>``: 事件表 / events); the name itself otherwise."""
    return label(f"ingest.table.{name}", str(name))


def reason_label(code: str, labels: dict[str, str] | None = None) -> str:
    """A quarantine reason as pages name it: a cleaning rule's ``label`` in ``labels`` (reason -> label) when it
    fits the page's language (not a Chinese label on an English page: :func:`helpers.tracking.fits_page`), the
    catalogue's ``ingest.reason.<code>`` (``missing_<column>`` as "no <column>"), else the code itself."""
    from .tracking import fits_page

    if labels and code in labels and fits_page(labels[code]):
        return labels[code]
    if f"ingest.reason.{code}" in catalogue():
        return t(f"ingest.reason.{code}")
    if code.startswith("missing_"):
        col = code.removeprefix("missing_")
        return t("ingest.reason.missing", column=label(f"col.{col}", col))
    return code


def _worded(df: pd.DataFrame, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """A copy of ``df`` for a page: table names and quarantine reasons in words, a rule's by its ``label`` in
    ``labels`` (:func:`reason_labels`); the CSV keeps the codes."""
    out = df.copy()
    if "table" in out:
        out["table"] = out["table"].map(table_label)
    if "reason" in out:
        out["reason"] = out["reason"].map(lambda v: reason_label(str(v), labels) if isinstance(v, str) else v)
    return out


def reason_labels(reports: dict[str, TableReport]) -> dict[str, str]:
    """Every table's cleaning rules' labels (reason -> label), for tables that list the reasons of all tables."""
    return {k: v for r in reports.values() for k, v in r.reason_labels.items()}


def show_quarantine_samples(reports: dict[str, TableReport], *, per_reason: int = 3) -> None:
    """Display a few quarantined rows per reason for every table that rejected rows (HTML-escaped)."""
    from IPython.display import Markdown, display

    from .fmt import style_table
    from .page import render_styler

    shown = False
    for r in reports.values():
        sample = quarantine_sample(r, per_reason=per_reason)
        if sample.empty:
            continue
        shown = True
        display(Markdown(f"**{r.table}** — `quarantine/{r.table}.parquet`"))
        display(
            render_styler(style_table(_worded(sample, r.reason_labels), int_cols=("source_row",)))
        )  # headers from the catalogue
    if not shown:
        display(Markdown(t("ingest.none_quarantined")))


def plot_reasons(reasons: pd.DataFrame, *, labels: dict[str, str] | None = None, ax=None):
    """Horizontal bars of quarantined rows per table · reason (from :func:`reason_table`; a rule's reason by its
    label in ``labels``); Axes out."""
    import matplotlib.pyplot as plt

    from .plots import plot_bar

    if ax is None:
        _, ax = plt.subplots(figsize=(8, max(2.5, 0.45 * len(reasons) + 1)))
    worded = _worded(reasons, labels)  # table names and reasons in words, as the table beside the chart
    data = (
        reasons.assign(label=worded["table"] + " · " + worded["reason"])
        if len(reasons)
        else pd.DataFrame({"label": [t("ingest.none_quarantined").rstrip("。.")], "rows": [0]})
    )
    return plot_bar(
        data,
        x="label",
        y="rows",
        horizontal=True,
        ax=ax,
        title=t("ingest.reasons_title"),
        xlabel=t("ingest.rows_axis"),
        ylabel=t("ingest.reason_axis"),
    )


def plot_daily(daily: pd.DataFrame, *, table: str = "events", ax=None):
    """Rows and users per day (from :func:`daily_activity`) on two panels (a Figure), or on a twin axis of
    ``ax`` when given (``ax`` out)."""
    if daily.empty:
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        ax.text(0.5, 0.5, t("ingest.no_timestamps"), ha="center", va="center", transform=ax.transAxes)
        ax.set(
            title=t("ingest.daily_title", table=table_label(table)),
            xlabel=t("ingest.date_axis"),
            ylabel=t("ingest.count_axis"),
        )
        return ax
    from .charts import plot_two_panels  # rows (~4,000/day) and users (~300/day) each on their own axis

    return plot_two_panels(
        daily["day"],
        daily["rows"],
        daily["users"],
        ax=ax,
        title=t("ingest.daily_title", table=table_label(table)),
        xlabel=t("ingest.date_axis"),
        top_label=t("ingest.table_rows", table=table_label(table)),
        bottom_label=t("ingest.users_axis"),
    )


# ------------------------------------------------------------------------------------------- report
@dataclass(repr=False)
class IngestReport(Report):
    """The ingest report: runs ingest (raw files -> clean Parquet + quarantine) and profiles what it did.

    Frames: ``summary`` (one row per table), ``reasons`` (quarantined rows per table and reason), ``daily``
    (rows and users per day of the main table), ``top`` (most frequent values of its key column), ``nulls``
    (empty values per column). ``reports`` holds ingest's :class:`~helpers.ingest.TableReport` per table.
    """

    name: ClassVar[str] = "ingest"
    title: ClassVar[str] = localized("ingest.title")
    parts: ClassVar[tuple[str, ...]] = (
        "summary",
        "reasons",
        "reasons_chart",
        "daily",
        "top_values",
        "nulls",
        "quarantine",
    )
    table_names: ClassVar[tuple[str, ...]] = ("summary", "reasons")
    result_keys: ClassVar[tuple[str, ...]] = ("tables", "event_variants", "unknown_events")
    unavailable_label: ClassVar[str] = localized("ingest.unavailable_label")

    reports: dict[str, TableReport] = field(default_factory=dict)
    timezone: str = ""
    main: str = ""
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    reasons: pd.DataFrame = field(default_factory=pd.DataFrame)
    daily: pd.DataFrame = field(default_factory=pd.DataFrame)
    top: pd.DataFrame = field(default_factory=pd.DataFrame)
    nulls: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the events' names spelt several ways (:func:`name_variants`)
    variants: list[list[dict]] = field(default_factory=list)
    #: the events quarantined as not declared, by name (:func:`unknown_events`)
    unknown: dict = field(default_factory=dict)
    currency: str = "¥"  # the campaign's sign before money, which the amounts' signs are compared with

    @classmethod
    def compute(cls, ctx) -> IngestReport:
        """Ingest every table of the campaign (``helpers.ingest.ingest_campaign``) and profile the result.
        A bad input file raises :class:`~helpers.ingest.IngestError` naming the file, column or parameter;
        params that name events or columns the clean tables lack raise :class:`~helpers.errors.ParamsError`
        (after the tables are written), so that no analysis runs on them."""
        from .campaign import batch_mode
        from .ingest import ingest_campaign

        reports = ingest_campaign(ctx.cfg, ctx.paths, progress=not batch_mode(), params_file=ctx.params_file)
        for name in ID_NOTES:  # one row per user, one per review, is assumed downstream
            if name in reports and not reports[name].derived_from:
                note = duplicate_ids_note(ctx.paths.table(name), name)
                reports[name].notes += [note] if note else []
        if "orders" in reports:  # order ids two users share, buyers the events never saw
            reports["orders"].notes += orders_notes(ctx.paths, reports)
        main = main_table(reports)
        return cls(
            reports=reports,
            timezone=ctx.cfg.timezone,
            main=main,
            summary=ingest_summary(reports),
            reasons=reason_table(reports),
            daily=daily_activity(ctx.paths.table(main)),
            top=top_values(ctx.paths.table(main), key_column(main)),
            nulls=null_rate_table(reports),
            variants=name_variants(ctx.paths.table("events")) if "events" in reports else [],
            unknown=_unknown(ctx.cfg, reports),
            currency=ctx.cfg.currency,
        )

    def findings(self) -> list[str]:
        return ingest_findings(self.reports, timezone=self.timezone, variants=self.variants, unknown=self.unknown,
                               currency=self.currency)  # fmt: skip

    def headline(self) -> list[dict]:
        return ingest_headline(self.reports)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"summary": self.summary, "reasons": self.reasons}

    def to_results(self) -> dict:
        return self._results(**ingest_results(self.reports), event_variants=self.variants, unknown_events=self.unknown)

    def _show(self, part: str):
        from .fmt import style_table
        from .plots import plot_bar

        if part == "summary":
            return style_table(
                _worded(self.summary),
                int_cols=["rows_in", "rows_out", "quarantined", "users"],
                pct_cols=["kept_share"],
                num_cols=["seconds"],
            )
        if part == "reasons":
            labels = reason_labels(self.reports)
            return style_table(_worded(self.reasons, labels), int_cols=["rows"], pct_cols=["share_of_input"])
        if part == "reasons_chart":
            return plot_reasons(self.reasons, labels=reason_labels(self.reports))
        if part == "daily":
            return plot_daily(self.daily, table=self.main)
        if part == "top_values":
            key = key_column(self.main)
            return plot_bar(
                self.top,
                x="value",
                y="rows",
                horizontal=True,
                title=t("ingest.top_title", column=f"{self.main}.{key}"),
                xlabel=t("ingest.rows_axis"),
                ylabel=t("ingest.value_axis"),
            )
        if part == "nulls":
            return style_table(self.nulls, int_cols=["nulls"], pct_cols=["null_share"])
        show_quarantine_samples(self.reports)  # "quarantine"
        return None
