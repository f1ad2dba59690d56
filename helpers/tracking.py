"""The tracking plan (埋点方案) of a campaign: its declared events and their properties, and the ingest checks.

A plan is given in the campaign params (``tracking.plan``) or, as teams usually keep it, in a file named there
(``tracking.plan_file``: YAML, CSV or Excel; relative paths are from the project root). Per event: a display
name (``支付成功`` for ``pay``), a description, an owner and its properties; ``global_properties`` are declared
for every event. A property has a type (``string``, ``integer``, ``number``, ``boolean``, ``timestamp``, or
``enum`` with its allowed ``values``) and is ``required`` or optional. ``docs/data_quality.md`` has the formats.

:func:`plan_problems` validates a plan (duplicate events, properties or display names, unknown types, enums
without values) with one message per problem naming the file, row or key; ``load_params`` runs it.
:class:`PlanChecks` builds the ingest checks as SQL once: the reason of each row's first violation
(``plan_unknown_event``, ``plan_missing_<prop>``, ``plan_bad_type_<prop>``, ``plan_bad_enum_<prop>``), the
flags of all its violations, and one aggregate of every violation per day, event and property.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ParamsError
from .locations import project_root
from .sections import PER_LANGUAGE_HINT, pick_language
from .spelling import did_you_mean
from .sqlsafety import sql_text

__all__ = [
    "PROPERTY_TYPES",
    "PropertySpec",
    "EventSpec",
    "TrackingPlan",
    "PlanChecks",
    "parse_plan",
    "read_plan_file",
    "plan_problems",
    "load_plan",
    "display_name",
    "display_names",
    "PLAN_CHECKS_FILE",
]

PROPERTY_TYPES = ("string", "integer", "number", "boolean", "timestamp", "enum")
#: the per-day, per-event, per-property check counts ingest writes next to the clean tables
PLAN_CHECKS_FILE = "_plan_checks.parquet"
_PLAN_COLUMNS = ("event", "display_name", "description", "owner", "property", "type", "required", "values")
_TRUE = {"true", "yes", "y", "1", "required", "是", "必填", "t"}
_FALSE = {"false", "no", "n", "0", "optional", "否", "选填", "f", ""}
_BOOL_SQL = "('true', 'false', '1', '0', 'yes', 'no', 't', 'f', 'y', 'n')"
GLOBAL = "*"  # the event column of a global property's row in a CSV/Excel plan

Problem = tuple[str, str]


@dataclass(frozen=True)
class PropertySpec:
    """One declared property: its type, whether every row of the event must carry it, enum values."""

    name: str
    type: str = "string"
    required: bool = False
    values: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class EventSpec:
    """One declared event: display name, description, owner and its own properties."""

    name: str
    display_name: str = ""
    description: str = ""
    owner: str = ""
    properties: dict[str, PropertySpec] = field(default_factory=dict)


@dataclass(frozen=True)
class TrackingPlan:
    """A validated tracking plan. ``source`` names where it came from (file or ``tracking.plan``)."""

    events: dict[str, EventSpec]
    global_properties: dict[str, PropertySpec] = field(default_factory=dict)
    source: str = "tracking.plan"

    def properties_of(self, event: str) -> dict[str, PropertySpec]:
        """The properties of ``event``: the global ones, then its own (empty for an undeclared event)."""
        if event not in self.events:
            return {}
        return {**self.global_properties, **self.events[event].properties}

    def property_names(self) -> list[str]:
        """Every declared property name, global ones first, in plan order."""
        names = dict.fromkeys(self.global_properties)
        for ev in self.events.values():
            names.update(dict.fromkeys(ev.properties))
        return list(names)

    def display_name(self, event: str) -> str:
        """The event's display name, or its machine name when the plan gives none (or does not declare it)."""
        spec = self.events.get(event)
        return spec.display_name if spec is not None and spec.display_name else event


# ------------------------------------------------------------------------------------------------ parsing
def _prop(name: str, raw: Any, loc: str, problems: list[Problem]) -> PropertySpec | None:
    if isinstance(raw, str):  # shorthand: ``amount: number`` (optional)
        raw = {"type": raw}
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        problems.append((loc, f"a property is a type name or a mapping {{type, required, values}}, got {raw!r}"))
        return None
    unknown = set(raw) - {"type", "required", "values", "description"}
    for k in sorted(unknown):
        problems.append((f"{loc}.{k}", f"unknown key{did_you_mean(k, ['type', 'required', 'values', 'description'])}"))
    typ = str(raw.get("type", "string")).strip().lower()
    if typ not in PROPERTY_TYPES:
        problems.append(
            (
                f"{loc}.type",
                f"unknown type {typ!r}{did_you_mean(typ, PROPERTY_TYPES)}; types: {', '.join(PROPERTY_TYPES)}",
            )
        )
        return None
    req = raw.get("required", False)
    if not isinstance(req, bool):
        s = str(req).strip().lower()
        if s not in _TRUE | _FALSE:
            problems.append((f"{loc}.required", f"must be true or false, got {req!r}"))
            return None
        req = s in _TRUE
    values = raw.get("values")
    if isinstance(values, str):
        values = [v.strip() for v in values.split("|") if v.strip()]
    vals = tuple(str(v) for v in values or ())
    if typ == "enum" and not vals:
        problems.append((f"{loc}.values", "an enum property needs its allowed values, e.g. values: [iOS, Android]"))
        return None
    if typ != "enum" and vals:
        problems.append((f"{loc}.values", f"only enum properties take values (this one is {typ}); set type: enum"))
        return None
    dup = sorted({v for v in vals if vals.count(v) > 1})
    if dup:
        problems.append((f"{loc}.values", f"listed twice: {', '.join(dup)}"))
    return PropertySpec(name, typ, bool(req), vals, str(raw.get("description") or ""))


def _props(raw: Any, loc: str, problems: list[Problem]) -> dict[str, PropertySpec]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append((loc, "must be a mapping of property name -> {type, required, values}"))
        return {}
    out = {}
    for name, spec in raw.items():
        name = str(name).strip()
        if not name:
            problems.append((loc, "a property name is empty"))
            continue
        p = _prop(name, spec, f"{loc}.{name}", problems)
        if p is not None:
            out[name] = p
    return out


def _text(raw: dict, key: str, loc: str, language: str, problems: list[Problem]) -> str:
    """``raw[key]`` as text: plain, or per language (``{zh: 支付成功, en: payment}``: ``language``'s text)."""
    try:
        v = pick_language(raw.get(key), language)
    except ValueError:
        problems.append((f"{loc}.{key}", PER_LANGUAGE_HINT))
        return ""
    return str(v or "").strip()


def parse_plan(
    data: Any, *, source: str = "tracking.plan", language: str = "zh"
) -> tuple[TrackingPlan | None, list[Problem]]:
    """A plan from its mapping form (``{events: {...}, global_properties: {...}}``) and its problems. An event's
    ``display_name`` and ``description`` may be given per language (``{zh: 支付成功, en: payment}``): ``language``'s
    text is kept (the campaign's; docs/params.md, "Texts per language").

    Keys of the problems are paths inside the plan (``events.pay.properties.amount.type``), prefixed by
    ``source``. Returns ``(None, problems)`` when there are problems.
    """
    problems: list[Problem] = []
    if not isinstance(data, dict):
        return None, [(source, "a tracking plan is a mapping with events: and optionally global_properties:")]
    for k in sorted(set(data) - {"events", "global_properties"}):
        problems.append((f"{source}: {k}", f"unknown key{did_you_mean(k, ['events', 'global_properties'])}"))
    glob_props = _props(data.get("global_properties"), "global_properties", problems)
    raw_events = data.get("events")
    if not isinstance(raw_events, dict) or not raw_events:
        problems.append(("events", "declare at least one event: events: {pay: {display_name: 支付成功, ...}}"))
        raw_events = {}
    events: dict[str, EventSpec] = {}
    shown: dict[str, str] = {}
    for name, raw in raw_events.items():
        name, loc = str(name).strip(), f"events.{name}"
        raw = raw or {}
        if not isinstance(raw, dict):
            problems.append((loc, "an event is a mapping {display_name, description, owner, properties}"))
            continue
        allowed = ["display_name", "description", "owner", "properties"]
        for k in sorted(set(raw) - set(allowed)):
            problems.append((f"{loc}.{k}", f"unknown key{did_you_mean(k, allowed)}"))
        props = _props(raw.get("properties"), f"{loc}.properties", problems)
        for p in props:
            if p in glob_props:
                problems.append(
                    (f"{loc}.properties.{p}", "is also a global property: declare it once (globally or per event)")
                )
        label = _text(raw, "display_name", loc, language, problems)
        if label and label in shown:
            problems.append(
                (f"{loc}.display_name", f"{label!r} is also the display name of {shown[label]!r}: make them unique")
            )
        shown.setdefault(label, name) if label else None
        text = _text(raw, "description", loc, language, problems)
        events[name] = EventSpec(name, label, text, str(raw.get("owner") or ""), props)
    problems = [(k if k.startswith(source) else f"{source}: {k}", m) for k, m in problems]
    if problems:
        return None, problems
    return TrackingPlan(events=events, global_properties=glob_props, source=source), []


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (plain YAML keeps the last silently)."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"{key!r} is given twice (lines {seen[key] + 1} and {key_node.start_mark.line + 1}): duplicate name",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def _rows_to_mapping(rows: list[dict[str, str]], where: str, problems: list[Problem]) -> dict:
    """The mapping form of a CSV/Excel plan: one row per (event, property); event ``*`` = global property;
    a row without a property declares the event only. Row numbers in messages count the header as row 1."""
    events: dict[str, dict] = {}
    glob_props: dict[str, dict] = {}
    seen: dict[tuple[str, str], int] = {}
    meta_row: dict[str, dict[str, tuple[str, int]]] = {}
    for i, row in enumerate(rows, start=2):
        ev = (row.get("event") or "").strip()
        prop = (row.get("property") or "").strip()
        if not ev:
            if any((v or "").strip() for v in row.values()):
                problems.append((f"{where} row {i}", "the event column is empty (use * for a global property)"))
            continue
        if (ev, prop) in seen:
            what = f"property {prop!r} of event {ev!r}" if prop else f"event {ev!r}"
            problems.append((f"{where} row {i}", f"duplicate name: {what} is already declared on row {seen[ev, prop]}"))
            continue
        seen[ev, prop] = i
        spec: dict[str, Any] = {"type": (row.get("type") or "string").strip() or "string"}
        spec["required"] = (row.get("required") or "").strip()
        if (row.get("values") or "").strip():
            spec["values"] = row["values"]
        if (row.get("description") or "").strip() and prop:
            spec["description"] = row["description"].strip()
        if ev == GLOBAL:
            if prop:
                glob_props[prop] = spec
            continue
        e = events.setdefault(ev, {"properties": {}})
        for key in ("display_name", "description", "owner"):
            val = (row.get(key) or "").strip()
            if key == "description" and prop:
                continue  # a property row's description is the property's
            if not val:
                continue
            prev = meta_row.setdefault(ev, {}).get(key)
            if prev is not None and prev[0] != val:
                problems.append(
                    (f"{where} row {i}", f"{key} of event {ev!r} is {val!r} here but {prev[0]!r} on row {prev[1]}")
                )
                continue
            meta_row[ev][key] = (val, i)
            e[key] = val
        if prop:
            e["properties"][prop] = spec
    return {"events": events, "global_properties": glob_props}


def read_plan_file(path: str | os.PathLike) -> tuple[dict | None, list[Problem]]:
    """The mapping form of a plan file (``.yaml``/``.yml``, ``.csv``, ``.xlsx``/``.xls``) and its reading problems.

    CSV/Excel columns: ``event, display_name, description, owner, property, type, required, values``
    (``values`` separated by ``|``); only ``event`` is required.
    """
    p = Path(path)
    where = str(path)
    if not p.exists():
        return None, [("tracking.plan_file", f"file not found: {p} (relative paths are from the project root)")]
    suffix = p.suffix.lower()
    if suffix in (".yaml", ".yml"):
        try:
            data = yaml.load(p.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
        except yaml.YAMLError as e:
            return None, [(where, f"not valid YAML: {e}")]
        return data, []
    if suffix in (".csv", ".xlsx", ".xls"):
        if suffix == ".csv":
            with open(p, encoding="utf-8-sig", newline="") as fh:
                rows = [{str(k).strip().lower(): v for k, v in r.items() if k} for r in csv.DictReader(fh)]
                cols = list(rows[0]) if rows else []
        else:
            import pandas as pd

            df = pd.read_excel(p, dtype=str).fillna("")
            df.columns = [str(c).strip().lower() for c in df.columns]
            rows, cols = df.to_dict(orient="records"), list(df.columns)
        problems: list[Problem] = []
        if "event" not in cols:
            return None, [
                (
                    where,
                    f"a plan table needs an 'event' column; its columns: {', '.join(cols) or '(none)'}; "
                    f"expected: {', '.join(_PLAN_COLUMNS)}",
                )
            ]
        for c in cols:
            if c not in _PLAN_COLUMNS:
                problems.append((f"{where} column {c!r}", f"unknown column{did_you_mean(c, _PLAN_COLUMNS)}"))
        data = _rows_to_mapping(rows, where, problems)
        return (None if problems else data), problems
    return None, [("tracking.plan_file", f"{p.name}: give a .yaml, .csv or .xlsx file")]


def _plan_path(plan_file: str) -> Path:
    p = Path(os.path.expandvars(os.path.expanduser(plan_file)))
    return p if p.is_absolute() else project_root() / p


def _parse_from_params(tracking: Any, language: str = "zh") -> tuple[TrackingPlan | None, list[Problem]]:
    if tracking is None:
        return None, []
    if tracking.plan_file:
        data, problems = read_plan_file(_plan_path(tracking.plan_file))
        if problems:
            return None, [(f"tracking.plan_file ({tracking.plan_file}): {k}", m) for k, m in problems]
        return parse_plan(data, source=f"tracking.plan_file ({tracking.plan_file})", language=language)
    if tracking.plan is not None:
        return parse_plan(tracking.plan, source="tracking.plan", language=language)
    return None, []


def plan_problems(cfg: Any) -> list[Problem]:
    """Every problem of the campaign's tracking plan (none when it has no plan); run by ``load_params``."""
    return _parse_from_params(getattr(cfg, "tracking", None), getattr(cfg, "language", "zh"))[1]


_CACHE: dict[tuple, TrackingPlan | None] = {}


def load_plan(cfg: Any) -> TrackingPlan | None:
    """The campaign's validated tracking plan, or None when it declares none.

    Raises :class:`~helpers.errors.ParamsError` listing every problem of the plan.
    """
    tracking = getattr(cfg, "tracking", None)
    if tracking is None or (tracking.plan_file is None and tracking.plan is None):
        return None
    language = getattr(cfg, "language", "zh")
    key: tuple = (cfg.campaign, tracking.plan_file, repr(tracking.plan), language)
    if tracking.plan_file:
        p = _plan_path(tracking.plan_file)
        key += (p.stat().st_mtime_ns if p.exists() else None,)
    if key not in _CACHE:
        plan, problems = _parse_from_params(tracking, language)
        if problems:
            raise ParamsError(f"params/{cfg.campaign}.yaml", problems)
        _CACHE[key] = plan
    return _CACHE[key]


def display_name(ctx: Any, event: str) -> str:
    """The event's display name from the campaign's tracking plan (``支付成功`` for ``pay``), else ``event``; in the
    current language's pages only (:func:`display_names`).

    Pages show display names; results files keep machine names.
    """
    return display_names(ctx).get(event, str(event))


def display_names(ctx: Any) -> dict[str, str]:
    """``{event: display name}`` of every event the plan names with a display name that fits the current language
    (empty without a plan, or for a context without params: an analyst's or a test's stand-in).

    One language per page: a Chinese page shows every display name; an English page only those without Chinese
    characters, and the event code where the plan's name is Chinese (``pay``, not ``支付成功``)."""
    cfg = getattr(ctx, "cfg", None)
    plan = load_plan(cfg) if cfg is not None else None
    if plan is None:
        return {}
    return {e: s.display_name for e, s in plan.events.items() if s.display_name and fits_page(s.display_name)}


def fits_page(name: str) -> bool:
    """Whether a display name fits the current page's language: every name on a Chinese page, a name without
    Chinese characters on an English page (:func:`display_names`; the data quality page's event labels)."""
    from .i18n import current_language, has_han

    return current_language() == "zh" or not has_han(name)


# ------------------------------------------------------------------------------------------------ checks (SQL)
_lit = sql_text


@dataclass
class PlanChecks:
    """The plan's row checks as SQL over one relation, built once.

    Parameters
    ----------
    plan : the tracking plan.
    event : SQL of the event name (text).
    values : property -> SQL of its text value (NULL when empty); a declared property missing here is
        absent from the data (every row lacks it).
    typed : property -> SQL of its already-typed value (canonical numeric or timestamp columns), used instead
        of a cast for the types ``number``/``integer``/``timestamp``.
    """

    plan: TrackingPlan
    event: str
    values: dict[str, str]
    typed: dict[str, str] = field(default_factory=dict)

    def _value(self, prop: str) -> str:
        return self.values.get(prop, "CAST(NULL AS VARCHAR)")

    def _bad_type(self, p: PropertySpec) -> str | None:
        v = self._value(p.name)
        t = self.typed.get(p.name)
        if p.type == "integer":
            return f"({v} IS NOT NULL AND NOT regexp_matches({v}, '^[+-]?[0-9]+$'))"
        if p.type == "number":
            return f"({v} IS NOT NULL AND {t or f'TRY_CAST({v} AS DOUBLE)'} IS NULL)"
        if p.type == "timestamp":
            return f"({v} IS NOT NULL AND {t or f'TRY_CAST({v} AS TIMESTAMP)'} IS NULL)"
        if p.type == "boolean":
            return f"({v} IS NOT NULL AND lower({v}) NOT IN {_BOOL_SQL})"
        return None

    def _per_event(self, prop: str, cond_of) -> str | None:
        """``CASE <event> WHEN e THEN cond ... ELSE false END`` over the events that declare ``prop``."""
        arms = []
        for ev in self.plan.events:
            spec = self.plan.properties_of(ev).get(prop)
            cond = cond_of(spec) if spec is not None else None
            if cond is not None:
                arms.append(f"WHEN {_lit(ev)} THEN {cond}")
        if not arms:
            return None
        return f"(CASE {self.event} {' '.join(arms)} ELSE false END)"

    def conditions(self) -> list[tuple[str, str, str, str]]:
        """``(reason, kind, property, SQL condition)`` of every check, in the order reasons are given:
        unknown event, then missing required properties, wrong types, values outside the enum (each kind in
        plan order of the properties)."""
        out = [
            (
                "plan_unknown_event",
                "unknown_event",
                "",
                f"({self.event} NOT IN ({', '.join(map(_lit, self.plan.events))}))",
            )
        ]
        names = self.plan.property_names()
        makers = (
            ("missing", lambda p: f"({self._value(p.name)} IS NULL)" if p.required else None),
            ("bad_type", self._bad_type),
            (
                "bad_enum",
                lambda p: (
                    f"({self._value(p.name)} IS NOT NULL AND {self._value(p.name)} NOT IN "
                    f"({', '.join(map(_lit, p.values))}))"
                    if p.type == "enum"
                    else None
                ),
            ),
        )
        for kind, make in makers:
            for prop in names:
                cond = self._per_event(prop, make)
                if cond is not None:
                    out.append((f"plan_{kind}_{prop}", kind, prop, cond))
        return out

    def reasons(self) -> list[tuple[str, str]]:
        """``(reason, condition)`` in test order, for a first-match ``CASE``."""
        return [(r, c) for r, _, _, c in self.conditions()]

    def flags_sql(self) -> str:
        """Comma-separated reasons of every violation of the row, NULL when it has none."""
        parts = ", ".join(f"CASE WHEN {c} THEN {_lit(r)} END" for r, c in self.reasons())
        return f"NULLIF(concat_ws(',', {parts}), '')"

    def aggregate_sql(self, relation: str, *, ts: str, where: str = "true") -> tuple[str, list[tuple[str, str]]]:
        """One scan: per local day and event, the rows checked, each declared property's filled rows and the
        rows of each violation. Returns the SQL and the ``(property, kind)`` of its columns ``c0, c1, ...``
        (after ``day, event, rows``); :meth:`long_form` turns its result into one row per count."""
        cols: list[tuple[str, str]] = []
        exprs = []
        for prop in self.plan.property_names():
            cond = self._per_event(prop, lambda p: f"({self._value(p.name)} IS NOT NULL)")
            if cond is not None:
                cols.append((prop, "filled"))
                exprs.append(cond)
        for _, kind, prop, cond in self.conditions():
            cols.append((prop, kind))
            exprs.append(cond)
        sums = ", ".join(f"sum(CASE WHEN {e} THEN 1 ELSE 0 END) AS c{i}" for i, e in enumerate(exprs))
        sql = (
            f"SELECT CAST({ts} AS DATE) AS day, {self.event} AS event, count(*) AS rows, {sums} "
            f"FROM {relation} WHERE {where} GROUP BY 1, 2"
        )
        return sql, cols

    def long_form(self, wide: Any, cols: list[tuple[str, str]]) -> Any:
        """The aggregate as one row per count: ``day``, ``event``, ``property`` ('' for the event's own
        counts), ``kind`` (``rows``, ``filled``, ``unknown_event``, ``missing``, ``bad_type``, ``bad_enum``),
        ``rows``. Kept: ``rows`` always, ``filled`` for the properties the event declares (zeros too), the
        violations when not zero."""
        import pandas as pd

        parts = [wide[["day", "event"]].assign(property="", kind="rows", rows=wide["rows"])]
        for i, (prop, kind) in enumerate(cols):
            parts.append(wide[["day", "event"]].assign(property=prop, kind=kind, rows=wide[f"c{i}"]))
        out = pd.concat(parts, ignore_index=True)
        out["rows"] = out["rows"].fillna(0).astype("int64")
        declared = pd.Series(
            [p in self.plan.properties_of(e) for e, p in zip(out["event"], out["property"])], index=out.index
        )
        keep = (
            (out["kind"] == "rows")
            | ((out["kind"] == "filled") & declared)
            | ((out["kind"] != "filled") & (out["rows"] > 0))
        )
        return out[keep].sort_values(["day", "event", "kind", "property"], ignore_index=True)


def write_plan_checks(
    con: Any, checks: PlanChecks, relation: str, *, ts: str, where: str, path: str | os.PathLike, mode: str
) -> list[str]:
    """Ingest's hook: count every violation of the rows of ``relation`` that ``where`` keeps (one scan), write
    them to ``path`` (:meth:`PlanChecks.long_form`, Parquet) and return the ingest note that sums them up."""
    sql, cols = checks.aggregate_sql(relation, ts=ts, where=where)
    wide = con.execute(sql).df()
    long = checks.long_form(wide, cols)
    out = Path(path)
    tmp = out.with_suffix(".parquet.part")
    long.to_parquet(tmp, index=False)
    os.replace(tmp, out)
    flagged = con.execute(f"SELECT count(*) FROM {relation} WHERE ({where}) AND ({checks.flags_sql()}) IS NOT NULL")
    row = flagged.fetchone()
    n = int(row[0]) if row else 0
    what = "quarantined with their plan_* reason" if mode == "quarantine" else "kept and flagged in column plan_flags"
    return [f"tracking plan ({checks.plan.source}): {n:,} rows break it, {what}"]
