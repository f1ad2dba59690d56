"""Identity stitching (用户关联, PostHog ``$identify``): events of an anonymous or device id are attributed to the
user it logged in as, so every analysis reads one user across the anonymous and the logged-in part of a journey.

One definition in Ibis (:func:`identity_links`, :func:`stitch_events`, :func:`identity_summary`) runs on DuckDB
(ingest) and Spark. Ingest calls :func:`stitch_clean_events` right after the events table is cleaned; it
rewrites ``data/events.parquet`` with the stitched ``user_id`` and the id as collected in ``original_user_id``,
and returns the counts that ingest writes into ``data/_ingest.json`` under ``identity``.

The rule (docs/identity.md)
---------------------------
A *link* is ``(anonymous_id, user_id, valid_from)``: a login event that carries both ids (the event's
``user_id`` and its ``identity.anonymous_col``), or a row of the mapping file. For an anonymous id with links
``l1, l2, ...`` ordered by ``valid_from`` (ties by user id):

- an event of that id before its first link belongs to ``l1``'s user (pre-login browsing goes to the first
  user the id logged in as);
- an event at or after ``lk.valid_from`` and before ``l(k+1).valid_from`` belongs to ``lk``'s user (a shared
  device belongs to whoever logged in on it last);
- an id without links keeps its events (it stays anonymous); ids matching ``identity.anonymous_regex`` that
  were never linked are counted as anonymous only;
- one level only: a user id is never itself re-mapped (no chains).
"""

from __future__ import annotations

import os
import time
from typing import Any

import ibis

from .engine import as_table
from .errors import IngestError

__all__ = [
    "identity_links",
    "stitch_events",
    "summary_queries",
    "identity_summary",
    "stitch_clean_events",
    "stitch_clean_events_spark",
    "SUMMARY_KEYS",
]

#: keys of :func:`identity_summary` (and of ``data/_ingest.json`` ``identity``, besides the settings)
SUMMARY_KEYS = (
    "links",
    "linked_ids",
    "stitched_ids",
    "stitched_rows",
    "conflict_ids",
    "conflict_rows",
    "anonymous_only_ids",
    "anonymous_only_rows",
    "users_before",
    "users_after",
)


def identity_links(
    events,
    *,
    login_event: str = "login",
    anonymous_col: str = "anonymous_id",
    user_col: str = "user_id",
    ts_col: str = "ts",
    event_col: str = "event",
):
    """Links from login events that carry both ids.

    Parameters
    ----------
    events : Ibis table or pandas DataFrame of events.
    login_event : the event whose rows carry the user id (``user_col``) and the anonymous id (``anonymous_col``).

    Returns
    -------
    Ibis table, one row per distinct link: ``anonymous_id`` (the device or anonymous id), ``user_id`` (the user
    it logged in as), ``valid_from`` (the login time). Rows with an empty id, or with both ids equal, are no link.
    """
    t = as_table(events)
    anon = t[anonymous_col].cast("string")
    user = t[user_col].cast("string")
    keep = (t[event_col] == login_event) & anon.notnull() & (anon != "") & user.notnull() & (anon != user)
    return t.filter(keep).select(anonymous_id=anon, user_id=user, valid_from=t[ts_col]).distinct()


def _intervals(links):
    """Each link's half-open interval ``[__lo, __hi)``; the first link of an id starts at minus infinity (NULL)."""
    lk = as_table(links)
    w = ibis.window(group_by=lk.anonymous_id, order_by=[lk.valid_from, lk.user_id])
    lk = lk.mutate(__n=ibis.row_number().over(w), __hi=lk.valid_from.lead().over(w))
    return lk.select(
        __anon=lk.anonymous_id,
        __user=lk.user_id,
        __lo=ibis.ifelse(lk.__n == 0, ibis.null().cast(lk.valid_from.type()), lk.valid_from),
        __hi=lk.__hi,
    )


def stitch_events(
    events, links, *, user_col: str = "user_id", ts_col: str = "ts", original_col: str = "original_user_id"
):
    """Events with the stitched user id (the rule in this module's docstring and docs/identity.md).

    Parameters
    ----------
    events : Ibis table or pandas DataFrame of events.
    links : ``anonymous_id, user_id, valid_from`` (:func:`identity_links` or a mapping table).
    original_col : name of the new column holding the id as collected.

    Returns
    -------
    Ibis table: the columns of ``events`` in their order, ``user_col`` replaced by the stitched user id, then
    ``original_col`` (the id as collected; equal to ``user_col`` where nothing was stitched).
    """
    t = as_table(events)
    if original_col in t.columns:
        raise IngestError(f"identity.original_col: the events already have a column {original_col!r}; name another one")
    iv = _intervals(links)
    ts = t[ts_col]
    cond = [
        t[user_col] == iv.__anon,
        iv.__lo.isnull() | (ts >= iv.__lo),
        iv.__hi.isnull() | (ts < iv.__hi),
    ]
    j = t.left_join(iv, cond)
    cols = {c: (j.__user.coalesce(j[c]) if c == user_col else j[c]) for c in t.columns}
    cols[original_col] = j[user_col]
    return j.select(**cols)


def summary_queries(
    stitched,
    links,
    *,
    user_col: str = "user_id",
    original_col: str = "original_user_id",
    anonymous_regex: str | None = None,
) -> dict[str, Any]:
    """One single-value Ibis query (a one-row table with column ``n``) per key of :data:`SUMMARY_KEYS`; the one
    definition behind :func:`identity_summary` (any backend) and ingest's counts (compiled for DuckDB)."""
    t = as_table(stitched)
    lk = as_table(links)
    per_anon = lk.group_by("anonymous_id").aggregate(__users=lk.user_id.nunique())
    conflicted = per_anon.filter(per_anon.__users > 1)
    user, orig = t[user_col], t[original_col]
    changed = user != orig
    anon_only = (user == orig) & (orig.re_search(anonymous_regex) if anonymous_regex else ibis.literal(False))
    shared = t.semi_join(conflicted, orig == conflicted.anonymous_id)
    return {
        "links": lk.aggregate(n=lk.count()),
        "linked_ids": lk.aggregate(n=lk.anonymous_id.nunique()),
        "stitched_ids": t.aggregate(n=orig.nunique(where=changed)),
        "stitched_rows": t.aggregate(n=changed.cast("int64").sum()),
        "conflict_ids": conflicted.aggregate(n=conflicted.count()),
        "conflict_rows": shared.aggregate(n=shared.count()),
        "anonymous_only_ids": t.aggregate(n=orig.nunique(where=anon_only)),
        "anonymous_only_rows": t.aggregate(n=anon_only.cast("int64").sum()),
        "users_before": t.aggregate(n=orig.nunique()),
        "users_after": t.aggregate(n=user.nunique()),
    }


def _counts(values: dict[str, Any], anonymous_regex: str | None) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for k in SUMMARY_KEYS:
        v = values[k]
        out[k] = 0 if v is None or v != v else int(v)  # a sum over no rows is NULL
    if not anonymous_regex:  # never-linked anonymous ids are only recognisable by their form
        out["anonymous_only_ids"] = out["anonymous_only_rows"] = None
    return out


def identity_summary(
    stitched,
    links,
    *,
    user_col: str = "user_id",
    original_col: str = "original_user_id",
    anonymous_regex: str | None = None,
) -> dict[str, int | None]:
    """Counts for the data-quality report, from the stitched events (:func:`stitch_events`) and the links.

    Returns
    -------
    dict with :data:`SUMMARY_KEYS`: ``links`` (distinct links), ``linked_ids`` (anonymous ids with a link),
    ``stitched_ids`` / ``stitched_rows`` (ids and event rows whose user id changed), ``conflict_ids`` (anonymous
    ids linked to two or more users: a shared device) and ``conflict_rows`` (their event rows),
    ``anonymous_only_ids`` / ``anonymous_only_rows`` (ids matching ``anonymous_regex`` that were never linked:
    they stay anonymous; None without a regex), ``users_before`` / ``users_after`` (distinct ids before and
    after stitching).
    """
    q = summary_queries(stitched, links, user_col=user_col, original_col=original_col, anonymous_regex=anonymous_regex)
    return _counts({k: v.to_pandas()["n"].iloc[0] for k, v in q.items()}, anonymous_regex)


# --------------------------------------------------------------------------------------------- ingest step
def _ibis_schema(con, relation: str) -> ibis.Schema:
    from ibis.backends.sql.datatypes import DuckDBType

    rows = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    return ibis.schema({r[0]: DuckDBType.from_string(r[1]) for r in rows})


def _mapping_links_sql(cfg, raw_dir) -> str:
    """SQL over the mapping file: ``anonymous_id, user_id, valid_from`` (see :class:`IdentityMapping`)."""
    from .params import resolve_input
    from .sources import _ident, _lit
    from .values import ts_sql

    m = cfg.identity.mapping
    path = resolve_input(m.path, raw_dir=raw_dir)
    low = path.lower()
    if low.endswith(".parquet"):
        rel = f"read_parquet({_lit(path)})"
    elif low.endswith((".csv", ".csv.gz", ".tsv", ".txt")):
        rel = f"read_csv({_lit(path)}, all_varchar = true, header = true)"
    else:
        raise IngestError(f"identity.mapping.path: {m.path!r} must be a .csv or .parquet file")
    if not os.path.exists(path):
        raise IngestError(f"identity.mapping.path: {path} does not exist")
    anon = f"CAST({_ident(m.anonymous_col)} AS VARCHAR)"
    user = f"CAST({_ident(m.user_col)} AS VARCHAR)"
    if m.ts_col is None:
        ts = "CAST('1970-01-01' AS TIMESTAMP)"
    else:
        ts = ts_sql(
            f"CAST({_ident(m.ts_col)} AS VARCHAR)",
            fmt=m.ts_format,
            source_tz=cfg.timezone,
            campaign_tz=cfg.timezone,
        )
    return (
        f"SELECT DISTINCT {anon} AS anonymous_id, {user} AS user_id, {ts} AS valid_from FROM {rel} "
        f"WHERE {anon} IS NOT NULL AND {anon} <> '' AND {user} IS NOT NULL AND {anon} <> {user}"
    )


def _check_login_event(cfg) -> None:
    idp, spec = cfg.identity, cfg.spec("events")
    if idp.login_event and spec is not None and spec.events and idp.login_event not in spec.events:
        raise IngestError(
            f"identity.login_event: {idp.login_event!r} is not in tables.events.events, so its rows are "
            f"quarantined as unknown_event; add it to that list"
        )


def _no_anonymous_col(idp, cols: list[str]) -> IngestError:
    have = ", ".join(c for c in cols if c not in ("file_row_number", "__id_ord"))
    return IngestError(
        f"identity.anonymous_col: the clean events have no column {idp.anonymous_col!r} (login events must "
        f"carry the anonymous id; keep_extra keeps source columns); the columns are: {have}"
    )


def _manifest(idp, summary: dict, examples: list, t0: float) -> dict[str, Any]:
    return {
        "enabled": True,
        "source": "+".join(s for s, on in (("login_event", idp.login_event), ("mapping", idp.mapping)) if on),
        "login_event": idp.login_event,
        "anonymous_col": idp.anonymous_col,
        "original_col": idp.original_col,
        "anonymous_regex": idp.anonymous_regex,
        **summary,
        "conflict_examples": [{"anonymous_id": a, "users": int(n)} for a, n in examples],
        "seconds": round(time.perf_counter() - t0, 3),
    }


#: the ids linked to two or more users (a shared device), most users first: the data-quality report's examples
_CONFLICT_EXAMPLES = (
    "SELECT anonymous_id, count(DISTINCT user_id) AS n FROM __id_links GROUP BY anonymous_id "
    "HAVING count(DISTINCT user_id) > 1 ORDER BY n DESC, anonymous_id LIMIT 10"
)


def stitch_clean_events_spark(session, cfg, paths) -> dict[str, Any]:
    """:func:`stitch_clean_events` on Spark (``engine: spark``): the same Ibis definitions run by the Ibis PySpark
    backend over the clean events Parquet, the stitched table written back as one Parquet file in file order.
    Links come from login events (a mapping file is refused before ingest starts, see
    :func:`helpers.ingest_spark.spark_unsupported`)."""
    from pyspark.sql import functions as F

    from .ingest_spark import _write_one_parquet
    from .privacy import pseudonym_key, pseudonym_spark_sql

    t0 = time.perf_counter()
    idp = cfg.identity
    _check_login_event(cfg)
    if idp.mapping is not None or not idp.login_event:
        raise IngestError("identity.mapping: Spark ingest links ids from login events only; use engine: duckdb")
    out = paths.table("events")
    df = session.read.parquet(str(out))
    cols = list(df.columns)
    if idp.anonymous_col not in cols:
        raise _no_anonymous_col(idp, cols)
    key = pseudonym_key(cfg.privacy)
    if key is not None:  # the anonymous ids as pseudonyms with the user ids' key, so that the links match
        anon = "`" + idp.anonymous_col.replace("`", "``") + "`"
        df = df.withColumn(idp.anonymous_col, F.expr(pseudonym_spark_sql(anon, key)))
    # the file's order: one Parquet file read in splits, ids increasing with the split and the row within it
    df.withColumn("__id_ord", F.monotonically_increasing_id()).createOrReplaceTempView("__id_events")
    icon = ibis.pyspark.connect(session)
    ev = icon.table("__id_events")
    links = identity_links(ev, login_event=idp.login_event, anonymous_col=idp.anonymous_col)
    session.sql(icon.compile(links)).localCheckpoint(eager=True).createOrReplaceTempView("__id_links")
    stitched = stitch_events(ev, icon.table("__id_links"), original_col=idp.original_col)
    # computed before the clean file is replaced: the rewrite below must not read the file it writes
    st = session.sql(icon.compile(stitched)).localCheckpoint(eager=True)
    st.createOrReplaceTempView("__id_stitched")
    _write_one_parquet(st.orderBy("__id_ord").select(*cols, idp.original_col), out)
    summary = identity_summary(
        icon.table("__id_stitched"),
        icon.table("__id_links"),
        original_col=idp.original_col,
        anonymous_regex=idp.anonymous_regex,
    )
    examples = [(r[0], r[1]) for r in session.sql(_CONFLICT_EXAMPLES).collect()]
    for view in ("__id_events", "__id_links", "__id_stitched"):
        session.catalog.dropTempView(view)
    return _manifest(idp, summary, examples, t0)


def stitch_clean_events(con, cfg, paths) -> dict[str, Any]:
    """Ingest's identity step: rewrite ``data/events.parquet`` stitched, return the ``identity`` manifest.

    ``con`` is ingest's DuckDB connection; the Ibis definition is compiled to DuckDB SQL and run there, so the
    clean table is never loaded into pandas. With ``privacy.pseudonymize_user_ids`` the anonymous ids of the
    links are pseudonymized with the same key as ``user_id`` (so they match the events' ids)."""
    from .privacy import pseudonym_key, pseudonymize_table
    from .sources import _ident, _lit

    t0 = time.perf_counter()
    idp = cfg.identity
    _check_login_event(cfg)
    out = paths.table("events")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __id_events AS SELECT * FROM "
        f"read_parquet({_lit(str(out))}, file_row_number = true)"
    )
    cols = [r[0] for r in con.execute("DESCRIBE __id_events").fetchall()]
    key = pseudonym_key(cfg.privacy)
    parts = []
    if idp.login_event:
        if idp.anonymous_col not in cols:
            raise _no_anonymous_col(idp, cols)
        if key is not None:
            pseudonymize_table(con, "__id_events", id_col=idp.anonymous_col, key=key)
        ev = ibis.table(_ibis_schema(con, "__id_events"), name="__id_events")
        login = identity_links(ev, login_event=idp.login_event, anonymous_col=idp.anonymous_col)
        parts.append(ibis.to_sql(login, dialect="duckdb"))
    if idp.mapping is not None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE __id_mapping AS {_mapping_links_sql(cfg, paths.raw)}")
        if key is not None:
            pseudonymize_table(con, "__id_mapping", id_col="anonymous_id", key=key)
            pseudonymize_table(con, "__id_mapping", id_col="user_id", key=key)
        parts.append("SELECT anonymous_id, user_id, valid_from FROM __id_mapping")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __id_links AS SELECT DISTINCT * FROM ("
        + " UNION ALL ".join(
            f"SELECT anonymous_id, user_id, CAST(valid_from AS TIMESTAMP) AS valid_from FROM ({p})" for p in parts
        )
        + ")"
    )
    ev = ibis.table(_ibis_schema(con, "__id_events"), name="__id_events")
    links = ibis.table(_ibis_schema(con, "__id_links"), name="__id_links")
    stitched = stitch_events(ev, links, original_col=idp.original_col)
    sql = ibis.to_sql(stitched, dialect="duckdb")
    con.execute(f"CREATE OR REPLACE TEMP TABLE __id_stitched AS {sql}")
    keep = ", ".join(_ident(c) for c in cols if c != "file_row_number")
    tmp = out.with_suffix(".parquet.part")
    con.execute(
        f"COPY (SELECT {keep}, {_ident(idp.original_col)} FROM __id_stitched ORDER BY file_row_number) "
        f"TO {_lit(str(tmp))} (FORMAT parquet, COMPRESSION zstd)"
    )
    os.replace(tmp, out)
    # the counts, from the same definition, on the same connection
    summary = _summary_duckdb(con, idp)
    examples = con.execute(_CONFLICT_EXAMPLES).fetchall()
    for tbl in ("__id_events", "__id_links", "__id_stitched", "__id_mapping"):
        con.execute(f"DROP TABLE IF EXISTS {tbl}")
    return _manifest(idp, summary, examples, t0)


def _summary_duckdb(con, idp) -> dict[str, int | None]:
    """:func:`summary_queries` compiled to DuckDB SQL and run on ingest's connection."""
    st = ibis.table(_ibis_schema(con, "__id_stitched"), name="__id_stitched")
    lk = ibis.table(_ibis_schema(con, "__id_links"), name="__id_links")
    q = summary_queries(st, lk, original_col=idp.original_col, anonymous_regex=idp.anonymous_regex)
    values = {}
    for k, expr in q.items():
        row = con.execute(ibis.to_sql(expr, dialect="duckdb")).fetchone()
        values[k] = row[0] if row else None
    return _counts(values, idp.anonymous_regex)
