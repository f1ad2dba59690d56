"""Privacy: pseudonymous user ids, personal columns kept out of pages, and the stakeholder bundle.

Three things, set in the campaign's ``privacy:`` section (``docs/params.md``, "privacy"):

- **Pseudonymous user ids** (``pseudonymize_user_ids: true``). Ingest replaces every user id by
  :func:`pseudonym`: ``u_`` + the first 16 hex digits of HMAC-SHA256(key, id), with the key read from the
  environment variable named by ``key_env`` (default ``UBAKIT_PSEUDONYM_KEY``). It does so in every clean table
  that has user ids (events, orders, reviews, users) and in the quarantine, so every page, results file and
  export downstream sees only pseudonyms. The same key gives the same pseudonyms in every run; with the key an
  analyst can recompute the pseudonym of a known id (``pseudonym("U00042", key)``); without it nobody can go
  back from a pseudonym to the id. HMAC runs once per distinct id, in Python; the replacement is a join in
  DuckDB (:func:`pseudonymize_table`). Raw input files are never modified.
- **Hidden columns** (``hide_columns: [age, gender, city, phone]``). Pages never show them as user-level rows
  (the user profile's sample; the quarantine never copies them, so the ingest page's quarantine sample cannot
  show them either). User-level results files leave them out too unless ``hide_in_files: false``.
- **The bundle** (``python -m helpers bundle <campaign>``, :func:`write_bundle`): a zip for stakeholders with
  ``index.html``, the HTML reports and the aggregate CSVs (:data:`TABLE_LEVELS`); user-level CSVs only with
  ``with_user_data``; never ``data/``, ``raw/``, ``quarantine/``, ``notebooks/`` or caches.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from .checks import extra_column_name
from .errors import UbakitError
from .locations import campaign_paths, check_slug
from .params import load_params
from .sections import PrivacyParams
from .spelling import did_you_mean
from .sqlsafety import sql_name

__all__ = [
    "PrivacyError",
    "NoReportsError",
    "DEFAULT_KEY_ENV",
    "pseudonym",
    "pseudonym_key",
    "key_id",
    "pseudonymize_table",
    "protect_staged",
    "protect_staged_spark",
    "pseudonym_spark_sql",
    "quarantine_columns",
    "privacy_manifest",
    "hidden_column_problems",
    "page_frame",
    "file_frame",
    "USER_LEVEL",
    "AGGREGATE",
    "TABLE_LEVELS",
    "USER_LEVEL_FILES",
    "table_level",
    "Bundle",
    "bundle_members",
    "write_bundle",
]

DEFAULT_KEY_ENV = "UBAKIT_PSEUDONYM_KEY"
_PREFIX = "u_"
_HEX_DIGITS = 16  # 64 bits: a collision among 10 million ids has a chance of about 3 in a million
_MIN_KEY_CHARS = 16
_MAKE_KEY = "python -c 'import secrets; print(secrets.token_hex(32))'"


class PrivacyError(UbakitError, ValueError):
    """Pseudonymisation cannot run: the key is missing or too short (the message names the variable and
    how to set it), or two ids got the same pseudonym."""


class NoReportsError(UbakitError, FileNotFoundError):
    """A bundle was asked for a campaign that has no reports yet."""


# ------------------------------------------------------------------------------------------- pseudonyms
def _key_bytes(key: str | bytes) -> bytes:
    return key if isinstance(key, bytes) else key.encode("utf-8")


def pseudonym(user_id: Any, key: str | bytes) -> str:
    """The pseudonym of one user id: ``u_`` + the first 16 hex digits of HMAC-SHA256(key, id).

    Parameters
    ----------
    user_id : the id as text in the clean tables (after ``values:`` mapping; ``13085.0`` is ``13085``).
    key : the secret, the value of the environment variable named by ``privacy.key_env`` (text is UTF-8).

    Returns
    -------
    str, e.g. ``u_3f9a0c2e51d4b7a8``: the value the clean tables, pages and results hold for that user.
    """
    return _PREFIX + hmac.new(_key_bytes(key), str(user_id).encode("utf-8"), hashlib.sha256).hexdigest()[:_HEX_DIGITS]


def pseudonym_key(privacy: PrivacyParams) -> bytes | None:
    """The key (bytes) when ``privacy.pseudonymize_user_ids`` is on, else None.

    Raises :class:`PrivacyError` naming the variable and how to set it when it is unset, empty or shorter
    than 16 characters.
    """
    if not privacy.pseudonymize_user_ids:
        return None
    name = privacy.key_env
    value = os.environ.get(name, "")
    how = (
        f"set it before ingest, e.g. `export {name}=$({_MAKE_KEY})`, and keep it safe: the same key gives the same "
        "pseudonyms in every run, and with it an analyst can find the pseudonym of a known id"
    )
    if not value.strip():
        raise PrivacyError(
            f"privacy.pseudonymize_user_ids is on but the environment variable {name} (privacy.key_env) is not set; "
            f"{how}"
        )
    if len(value) < _MIN_KEY_CHARS:
        raise PrivacyError(
            f"the key in the environment variable {name} (privacy.key_env) has {len(value)} characters; "
            f"use at least {_MIN_KEY_CHARS} (a random one: {_MAKE_KEY})"
        )
    return value.encode("utf-8")


def pseudonym_spark_sql(column: str, key: str | bytes) -> str:
    """Spark SQL for :func:`pseudonym` of the text column ``column`` (already quoted), computed by the executors:
    HMAC-SHA256 written out with ``sha2`` (RFC 2104: H((K xor opad) || H((K xor ipad) || m)), the key padded to
    the 64-byte block, hashed first when longer), so no user id goes to the driver. NULL stays NULL."""
    kb = _key_bytes(key)
    if len(kb) > 64:
        kb = hashlib.sha256(kb).digest()
    kb = kb.ljust(64, b"\0")
    ipad = bytes(b ^ 0x36 for b in kb).hex()
    opad = bytes(b ^ 0x5C for b in kb).hex()
    inner = f"sha2(concat(unhex('{ipad}'), encode({column}, 'UTF-8')), 256)"
    outer = f"sha2(concat(unhex('{opad}'), unhex({inner})), 256)"
    return f"CASE WHEN {column} IS NULL THEN NULL ELSE concat('{_PREFIX}', substr({outer}, 1, {_HEX_DIGITS})) END"


def key_id(key: str | bytes) -> str:
    """A short public tag of a key (HMAC of a fixed text, 8 hex digits): tells which key made a campaign's
    pseudonyms without revealing anything about the key."""
    return hmac.new(_key_bytes(key), b"ubakit pseudonym key id", hashlib.sha256).hexdigest()[:8]


_ident = sql_name


def pseudonymize_table(
    con, table: str, *, id_col: str, key: str | bytes, also: Iterable[str] = (), batch: int = 1_000_000
) -> int:
    """Replace ``id_col`` of the DuckDB temporary table ``table`` by its pseudonym, and the columns ``also``
    (e.g. the source column the id came from) by the same pseudonym; NULL ids stay NULL.

    The HMAC runs in Python once per distinct id not seen before on ``con`` (a mapping table ``raw ->
    pseudo`` kept on the connection, one per key, so ids shared by several tables are hashed once); the
    replacement is a join in DuckDB. Returns the number of ids hashed.
    """
    import pyarrow as pa

    kb = _key_bytes(key)
    mapping = f"__ubakit_pseudonyms_{key_id(kb)}"
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {mapping} (raw VARCHAR, pseudo VARCHAR)")
    idc = f"CAST(__s.{_ident(id_col)} AS VARCHAR)"
    new_ids = (
        con.sql(
            f"SELECT DISTINCT {idc} AS raw FROM {table} __s WHERE {idc} IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {mapping} __m WHERE __m.raw = {idc})"
        )
        .to_arrow_table()
        .column(0)
    )
    hashed = 0
    for start in range(0, len(new_ids), batch):
        raws = new_ids.slice(start, batch).to_pylist()
        pseudos = [_PREFIX + hmac.digest(kb, r.encode("utf-8"), "sha256").hex()[:_HEX_DIGITS] for r in raws]
        con.register("__ubakit_new_pseudonyms", pa.table({"raw": raws, "pseudo": pseudos}))
        try:
            con.execute(f"INSERT INTO {mapping} SELECT raw, pseudo FROM __ubakit_new_pseudonyms")
        finally:
            con.unregister("__ubakit_new_pseudonyms")
        hashed += len(raws)
    if hashed:
        row = con.execute(f"SELECT count(*) - count(DISTINCT pseudo) FROM {mapping}").fetchone()
        if row is not None and row[0]:
            raise PrivacyError(
                f"{row[0]} pair(s) of different user ids got the same {_HEX_DIGITS}-digit pseudonym (a hash "
                "collision); run ingest again with another key (privacy.key_env)"
            )
    cols = dict.fromkeys([id_col, *also])
    replace = ", ".join(f"__m.pseudo AS {_ident(c)}" for c in cols)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT __s.* REPLACE ({replace}) "
        f"FROM {table} __s LEFT JOIN {mapping} __m ON {idc} = __m.raw"
    )
    return hashed


def refers_to(expr: str, column: str) -> bool:
    """Whether the SQL expression ``expr`` names ``column`` (bare or double-quoted)."""
    return bool(re.search(rf"(?<![\w\"]){re.escape(column)}(?![\w\"])", expr)) or f'"{column}"' in expr


def sources_of(spec, name: str, src_cols: list[str]) -> list[str]:
    """The source columns behind canonical or derived column ``name`` of a table spec."""
    if name in spec.derive:
        return [c for c in src_cols if refers_to(spec.derive[name], c)]
    if name in spec.columns:
        return [spec.columns[name]]
    return [name] if name in src_cols else []


def protect_staged(con, cfg, table: str, staged: str, src_cols: list[str]) -> list[str]:
    """Ingest's privacy step on one table, between cleaning and writing (``helpers/ingest.py``).

    With ``privacy.pseudonymize_user_ids``: the typed user id (``__t_user_id``) of the staged table and the
    source column(s) it came from are replaced by pseudonyms (:func:`pseudonymize_table`), so the clean table,
    the kept extra columns and the quarantine all hold pseudonyms. Returns the source columns the quarantine
    keeps: all but those behind ``privacy.hide_columns`` (a hidden name matches a column mapped to it, a source
    column of that name, or a source column kept under that name).
    """
    spec = cfg.spec(table)
    key = pseudonym_key(cfg.privacy)
    staged_cols = {row[0] for row in con.execute(f"DESCRIBE {staged}").fetchall()}
    if key is not None and "__t_user_id" in staged_cols:
        pseudonymize_table(con, staged, id_col="__t_user_id", key=key, also=sources_of(spec, "user_id", src_cols))
    return quarantine_columns(cfg, table, src_cols)


def protect_staged_spark(df, cfg, table: str, src_cols: list[str]):
    """:func:`protect_staged` for Spark ingest: ``(df, quarantine columns)`` with ``df`` the staged Spark DataFrame
    whose typed user id and its source column(s) hold pseudonyms (:func:`pseudonym_spark_sql`, computed by the
    executors; the same values as DuckDB ingest's). Raises :class:`PrivacyError` on a pseudonym collision."""
    from pyspark.sql import functions as F

    key = pseudonym_key(cfg.privacy)
    if key is None or "__t_user_id" not in df.columns:
        return df, quarantine_columns(cfg, table, src_cols)
    pseudo = F.expr(pseudonym_spark_sql("`__t_user_id`", key))
    row = df.agg(F.countDistinct("__t_user_id"), F.countDistinct(pseudo)).first()
    if row is not None and row[0] != row[1]:
        raise PrivacyError(
            f"{row[0] - row[1]} pair(s) of different user ids got the same {_HEX_DIGITS}-digit pseudonym (a hash "
            "collision); run ingest again with another key (privacy.key_env)"
        )
    also = sources_of(cfg.spec(table), "user_id", src_cols)
    out = df.select(*[pseudo.alias(c) if c == "__t_user_id" or c in also else F.col(f"`{c}`") for c in df.columns])
    return out, quarantine_columns(cfg, table, src_cols)


def quarantine_columns(cfg, table: str, src_cols: list[str]) -> list[str]:
    """The source columns the quarantine keeps: all but those behind ``privacy.hide_columns``."""
    spec = cfg.spec(table)
    hidden = set(cfg.privacy.hide_columns)
    drop = {c for c in src_cols if c in hidden or extra_column_name(c) in hidden}
    for h in hidden:
        drop.update(sources_of(spec, h, src_cols))
    return [c for c in src_cols if c not in drop]


def privacy_manifest(cfg) -> dict:
    """What ingest records about privacy in ``data/_ingest.json``: ``pseudonymized_user_ids``, ``key_env``,
    ``key_id`` (:func:`key_id`, None when off), ``hidden_columns``, ``hidden_in_files``."""
    p = cfg.privacy
    key = pseudonym_key(p)
    return {
        "pseudonymized_user_ids": p.pseudonymize_user_ids,
        "key_env": p.key_env if p.pseudonymize_user_ids else None,
        "key_id": key_id(key) if key is not None else None,
        "hidden_columns": list(p.hide_columns),
        "hidden_in_files": p.hide_in_files,
    }


def hidden_column_problems(cfg, con, reports: dict) -> list[tuple[str, str]]:
    """``privacy.hide_columns`` names that are no column of the campaign: a misspelt name would leave the
    real column visible. Known names are the clean tables' columns (``reports``: ingest's TableReports) and
    the source columns of the raw views ingest leaves on ``con`` (``raw_<table>``). Returns
    ``(key path, message)`` problems for :class:`~helpers.errors.ParamsError`."""
    known: set[str] = set()
    for t, r in reports.items():
        known.update(r.columns)
        known.update(r.extra_columns)
        if not r.derived_from:
            try:
                cols = [row[0] for row in con.execute(f"DESCRIBE raw_{t}").fetchall()]
            except duckdb.Error:  # the view is not there (ingest_table not used): clean names only
                cols = []
            known.update(c for c in cols if not c.startswith("__"))
            known.update(extra_column_name(c) for c in cols if not c.startswith("__"))
    out = []
    for i, name in enumerate(cfg.privacy.hide_columns):
        if name not in known:
            out.append(
                (
                    f"privacy.hide_columns[{i}]",
                    f"{name!r} is no column of this campaign's tables{did_you_mean(name, known)}, so nothing "
                    f"would be hidden; the columns are: {', '.join(sorted(known))}",
                )
            )
    return out


def page_frame(df: pd.DataFrame, privacy: PrivacyParams | Iterable[str]) -> pd.DataFrame:
    """``df`` without the hidden columns, for display on a page (a new frame; ``df`` is not modified).
    ``privacy``: the campaign's ``privacy`` section, or the hidden names themselves."""
    names = privacy.hide_columns if isinstance(privacy, PrivacyParams) else list(privacy)
    return df.drop(columns=[c for c in names if c in df.columns])


def file_frame(df: pd.DataFrame, privacy: PrivacyParams) -> pd.DataFrame:
    """``df`` for a user-level results file: without the hidden columns unless ``privacy.hide_in_files`` is
    false (a new frame; ``df`` is not modified)."""
    return page_frame(df, privacy) if privacy.hide_in_files else df.copy()


# ------------------------------------------------------------------------------------------- results tables
USER_LEVEL = "user"
AGGREGATE = "aggregate"

#: every results table of every report (``Report.table_names``) by ``(report, table)``: ``"user"`` when it has
#: one row per user (user ids with per-user values), ``"aggregate"`` when it holds counts, rates and groups.
#: ``tests/test_privacy.py`` checks that every table the report classes name is here.
TABLE_LEVELS: dict[tuple[str, str], str] = {
    ("ingest", "summary"): AGGREGATE,
    ("ingest", "reasons"): AGGREGATE,
    ("funnel", "steps"): AGGREGATE,
    ("funnel", "trend"): AGGREGATE,
    ("funnel", "breakdown"): AGGREGATE,
    ("funnel", "drivers"): AGGREGATE,  # candidates with their 2x2 user counts
    ("paths", "transitions"): AGGREGATE,
    ("retention", "average_curve"): AGGREGATE,
    ("retention", "lifecycle"): AGGREGATE,
    ("retention", "stickiness"): AGGREGATE,
    ("retention", "counts"): AGGREGATE,
    ("retention", "rates"): AGGREGATE,
    ("retention", "drivers"): AGGREGATE,
    ("retention", "by_group"): AGGREGATE,
    ("rfm", "segments"): AGGREGATE,
    ("rfm", "segments_other"): AGGREGATE,
    ("rfm", "membership"): USER_LEVEL,
    ("rfm", "bgnbd_holdout"): AGGREGATE,
    ("rfm", "clv_customers"): USER_LEVEL,
    ("rfm", "clv_segments"): AGGREGATE,
    ("rfm", "model_comparison"): AGGREGATE,
    ("clustering", "membership"): USER_LEVEL,
    ("clustering", "profiles"): AGGREGATE,
    ("sentiment", "users"): USER_LEVEL,
    ("sentiment", "items"): AGGREGATE,
    ("sentiment", "categories"): AGGREGATE,
    ("sentiment", "phrases"): AGGREGATE,  # complaint phrases with their review counts
    ("sentiment", "neg_keywords"): AGGREGATE,  # negative keywords per category or item, with review counts
    ("churn", "at_risk"): USER_LEVEL,
    ("churn", "lift"): AGGREGATE,
    ("user_profile", "table"): USER_LEVEL,
    ("user_profile", "tags"): USER_LEVEL,  # one row per user: the declared tags (helpers/tags.py)
    ("user_profile", "tag_summary"): AGGREGATE,  # users per tag value
    ("user_profile", "tag_overlap"): AGGREGATE,
    ("user_profile", "tag_effects"): AGGREGATE,
    ("user_profile", "audiences"): AGGREGATE,  # users per audience; the audiences' id lists are files (export)
    # data quality: counts per event, property, day and problem; no user appears in them
    ("data_quality", "events"): AGGREGATE,
    ("data_quality", "problems"): AGGREGATE,
    ("data_quality", "properties"): AGGREGATE,
    ("data_quality", "volume"): AGGREGATE,
    # trends: metric values per period, group and day; distributions and intervals are counts of users
    ("trends", "summary"): AGGREGATE,
    ("trends", "series"): AGGREGATE,
    ("trends", "breakdown"): AGGREGATE,
    ("trends", "movers"): AGGREGATE,
    ("trends", "anomalies"): AGGREGATE,
    ("trends", "distribution"): AGGREGATE,
    ("trends", "intervals"): AGGREGATE,
    # products: one row per item, category, pair or item set (counts of buyers and baskets, no user ids)
    ("products", "items"): AGGREGATE,
    ("products", "categories"): AGGREGATE,
    ("products", "movers"): AGGREGATE,
    ("products", "rules"): AGGREGATE,
    ("products", "category_rules"): AGGREGATE,
    ("products", "itemsets"): AGGREGATE,
    ("products", "itemset_rules"): AGGREGATE,
    ("products", "excluded"): AGGREGATE,
    ("products", "bought_together"): AGGREGATE,
    # experiment: counts, means and tests per variant, day, metric and segment; no user ids
    ("experiment", "srm"): AGGREGATE,
    ("experiment", "results"): AGGREGATE,
    ("experiment", "sequential"): AGGREGATE,
    ("experiment", "segments"): AGGREGATE,
    ("experiment", "power"): AGGREGATE,
    # impact: metric values and effects per metric and day; model fit statistics; no user ids
    ("impact", "effects"): AGGREGATE,
    ("impact", "series"): AGGREGATE,
    ("impact", "fit"): AGGREGATE,
    ("impact", "did"): AGGREGATE,
    ("attribution", "credits"): AGGREGATE,
    ("attribution", "summary"): AGGREGATE,
    ("attribution", "journeys"): USER_LEVEL,  # one row per journey, with its user id and path
}

#: results files beyond the CSVs (``Report.export``) that hold user-level data or models; never bundled
USER_LEVEL_FILES = ("user_profile.parquet", "sentiment_model.joblib")


def table_level(report: str, table: str) -> str:
    """``"user"`` or ``"aggregate"`` for a results table; a table not in :data:`TABLE_LEVELS` (a notebook that
    is not a registered report) counts as user-level, so that it is never bundled by default."""
    return TABLE_LEVELS.get((report, table), USER_LEVEL)


# ------------------------------------------------------------------------------------------- bundle
@dataclass
class Bundle:
    """A written bundle: the zip ``path``, its ``files`` (names inside the zip) and ``notes`` for the reader."""

    path: Path
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _campaign_of(campaign_or_params: str | os.PathLike) -> str:
    s = str(campaign_or_params)
    if s.endswith((".yaml", ".yml")) or "/" in s or os.sep in s:
        return load_params(s, check_files=False).campaign
    return check_slug(s)


def bundle_members(root: Path, *, with_user_data: bool = False) -> list[tuple[Path, str]]:
    """What a bundle of the campaign folder ``root`` holds, as ``(file, path inside root)``: ``index.html``, the
    report pages it links to, and, of those reports, the CSVs listed in ``results/<report>.json`` that are
    aggregate (plus the user-level ones when ``with_user_data``). Nothing else: no page the index does not
    list (an old report no longer in the campaign), no stale results, no ``data/``, ``raw/``, ``quarantine/``,
    ``notebooks/``, results JSON, Parquet, models or caches. Empty when there is no ``index.html``."""
    index = root / "index.html"
    if not index.is_file():
        return []
    linked = re.findall(r"href=['\"]([\w.-]+)\.html['\"]", index.read_text(encoding="utf-8", errors="replace"))
    pages = [n for n in dict.fromkeys(linked) if n != "index" and (root / f"{n}.html").is_file()]
    out = [(index, "index.html")] + [(root / f"{n}.html", f"{n}.html") for n in pages]
    res = root / "results"
    for report in pages:
        try:
            doc = json.loads((res / f"{report}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if doc.get("stale"):
            continue
        for table, name in sorted((doc.get("csv") or {}).items()):
            f = res / str(name)
            if Path(str(name)).name != str(name) or not f.is_file():
                continue
            if table_level(report, table) == AGGREGATE or with_user_data:
                out.append((f, f"results/{name}"))
    if (res / "columns.csv").is_file():  # column names and their labels only (helpers/export.py)
        out.append((res / "columns.csv", "results/columns.csv"))
    return out


def write_bundle(
    campaign_or_params: str | os.PathLike,
    *,
    reports_dir: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    with_user_data: bool = False,
) -> Bundle:
    """Write the stakeholder zip of a campaign (:func:`bundle_members`), every file under ``<campaign>/``.

    Parameters
    ----------
    campaign_or_params : a campaign name (``demo``) or its params file (``params/demo.yaml``).
    reports_dir : the reports folder (default ``reports/``).
    out : the zip to write (default ``<reports_dir>/<campaign>/<campaign>-bundle.zip``); written to a
        temporary file first, then renamed.
    with_user_data : also the user-level CSVs (:data:`TABLE_LEVELS`); never ``raw/`` or ``data/``.

    Raises :class:`NoReportsError` when the campaign has no HTML report yet.
    """
    campaign = _campaign_of(campaign_or_params)
    root = campaign_paths(campaign, reports_dir).root
    members = bundle_members(root, with_user_data=with_user_data) if root.is_dir() else []
    if not any(name.endswith(".html") for _, name in members):
        raise NoReportsError(
            f"campaign {campaign!r} has no reports yet in {root}: run "
            f"`python -m helpers run params/{campaign}.yaml` first (or pass --reports-dir)"
        )
    target = Path(out).expanduser() if out else root / f"{campaign}-bundle.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for f, name in members:
                zf.write(f, f"{campaign}/{name}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    notes = []
    manifest = root / "data" / "_ingest.json"
    try:
        priv = json.loads(manifest.read_text(encoding="utf-8")).get("privacy") or {}
    except (OSError, ValueError):
        priv = {}
    if not priv.get("pseudonymized_user_ids"):
        notes.append(
            "user ids are NOT pseudonymised (privacy.pseudonymize_user_ids is off): the pages' user-level samples"
            + (" and the user-level CSVs" if with_user_data else "")
            + " show them as they are in the data"
        )
    if with_user_data:
        notes.append("user-level CSVs included (--with-user-data): share this zip only with people allowed to see them")
    return Bundle(target, [f"{campaign}/{name}" for _, name in members], notes)
