"""Values the campaign params name, checked against what the campaign declares and against the data.

Every event named in an analysis section (funnel steps and exclusions, paths start/end events, retention
start/return events, churn label events, ``rfm.buy_events`` when given, the experiment's exposure and metric
events, ``attribution.conversion_event`` (its default ``pay`` too) and ``attribution.touch_events``,
``tables.orders.where_event``) and
every events column named (``funnel.breakdown``, the columns of funnel steps' ``where`` filters) is checked
twice:

- by ``load_params`` (``python -m helpers validate``): events against the campaign's declared events
  (``tables.events.events``), columns against the canonical events columns, the non-canonical ``derive:``
  columns and, when ``keep_extra`` is off, nothing else (:func:`params_problems`);
- right after ingest, against the clean events table: what only the data can tell (the events of a campaign
  that declares none; kept extra columns; canonical columns the source does not have) (:func:`data_problems`).

Each problem is ``(key path, message)`` with a "did you mean", as in :class:`helpers.errors.ParamsError`.
The functions take a :class:`helpers.params.Campaign` (``params`` imports this module, not the reverse).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .locations import project_root
from .schema import TABLES
from .sections import StepSpec
from .spelling import closest, did_you_mean
from .tag_grammar import is_tag_breakdown

__all__ = [
    "did_you_mean",
    "page_did_you_mean",
    "extra_column_name",
    "declared_events",
    "event_refs",
    "column_refs",
    "params_problems",
    "data_problems",
    "params_label",
]

Problem = tuple[str, str]


def page_did_you_mean(word: str, options: Iterable[Any]) -> str:
    """:func:`helpers.spelling.did_you_mean` in the page's language (``common.did_you_mean``), for text a report
    shows."""
    from .i18n import t

    close = closest(word, options)
    return t("common.did_you_mean", name=repr(close)) if close else ""


def extra_column_name(name: str) -> str:
    """The clean table's name of a kept extra source column (or a non-canonical ``derive:`` key): lower case,
    every run of non-word characters an underscore (``Order Channel`` -> ``order_channel``)."""
    s = re.sub(r"\W+", "_", name.strip(), flags=re.UNICODE).strip("_").lower()
    return s or "col"


def _listed(values: Iterable[str], limit: int = 20) -> str:
    vals = [str(v) for v in values]
    more = f" ... (+{len(vals) - limit} more)" if len(vals) > limit else ""
    return (", ".join(vals[:limit]) or "(none)") + more


def declared_events(cfg: Any) -> list[str] | None:
    """The events the campaign declares (``tables.events.events``; the one ``event_name`` of events derived
    from orders), or None when only the data can tell (no list, or no events table)."""
    spec = cfg.tables.events
    if spec is None:
        return None
    if spec.derive_from == "orders":
        return [spec.event_name]
    return list(spec.events) if spec.events else None


def event_refs(cfg: Any) -> list[Problem]:
    """``(key path, event)`` for every event named in the analysis sections and in ``tables.orders.where_event``.
    Defaults are not named by the user and are left out (``rfm.buy_events`` counts only when given), except
    ``attribution.conversion_event``: without its one event the report has nothing to credit."""
    out: list[Problem] = []
    f = cfg.funnel
    for i, step in enumerate(f.steps):
        loc = f"funnel.steps[{i}]"
        if isinstance(step, StepSpec):
            loc, step = f"{loc}.event", step.event
        if isinstance(step, str):
            out.append((loc, step))
        else:
            out += [(f"{loc}[{j}]", e) for j, e in enumerate(step)]
    out += [(f"funnel.exclusions[{i}].event", x.event) for i, x in enumerate(f.exclusions)]
    for key in ("start_event", "end_event"):
        if getattr(cfg.paths, key):
            out.append((f"paths.{key}", getattr(cfg.paths, key)))
    for section, key in (("retention", "start_events"), ("retention", "return_events"), ("churn", "label_events")):
        out += [(f"{section}.{key}[{j}]", e) for j, e in enumerate(getattr(getattr(cfg, section), key) or [])]
    if "buy_events" in cfg.rfm.model_fields_set:
        out += [(f"rfm.buy_events[{j}]", e) for j, e in enumerate(cfg.rfm.buy_events)]
    ex = getattr(cfg, "experiment", None)
    if ex is not None:  # the exposure event and each metric's events (a typo read as "nobody was exposed")
        if ex.exposure_event:
            out.append(("experiment.exposure_event", ex.exposure_event))
        for i, m in enumerate(ex.metrics):
            evs = m.events
            out += [
                (f"experiment.metrics[{i}].event" + (f"[{j}]" if len(evs) > 1 else ""), e) for j, e in enumerate(evs)
            ]
    at = getattr(cfg, "attribution", None)
    if at is not None:  # a typo read "no conversions" or "no touches" only once the run got there
        if at.conversion_event is not None:  # its default too: "pay" missing leaves the report nothing to credit
            out.append(("attribution.conversion_event", at.conversion_event))
        out += [(f"attribution.touch_events[{j}]", e) for j, e in enumerate(at.touch_events)]
    orders = cfg.tables.orders
    if orders is not None and orders.derive_from == "events":
        out += [(f"tables.orders.where_event[{j}]", e) for j, e in enumerate(orders.where_event or [])]
    return out


def column_refs(cfg: Any) -> list[Problem]:
    """``(key path, column)`` for every events column named: ``funnel.breakdown`` and the columns of the
    funnel steps' ``where`` filters (clustering names features, not columns). A breakdown by a tag or an audience
    (``tag:<name>``, ``audience:<name>``) names no column: the tags' own check knows their names."""
    f = cfg.funnel
    out: list[Problem] = (
        [("funnel.breakdown", f.breakdown)] if f.breakdown and not is_tag_breakdown(f.breakdown) else []
    )
    for i, step in enumerate(f.steps):
        if isinstance(step, StepSpec):
            out += [(f"funnel.steps[{i}].where.{col}", col) for col in step.where]
    return out


def _known_columns(spec: Any) -> tuple[set[str], bool]:
    """Columns the clean events table can have, and whether that is all it can have (no kept extras)."""
    canon = {c.name for c in TABLES["events"]}
    if spec.derive_from:
        return canon, True
    return canon | {extra_column_name(k) for k in spec.derive if k not in canon}, not spec.keep_extra


def params_problems(cfg: Any) -> list[Problem]:
    """Problems of the values named in the params that the params alone can tell (run by ``load_params``)."""
    out: list[Problem] = []
    spec = cfg.tables.events
    if spec is not None:
        declared = declared_events(cfg)
        if declared is not None:
            where = "tables.events.event_name" if spec.derive_from else "tables.events.events"
            for loc, ev in event_refs(cfg):
                if ev not in declared:
                    out.append(
                        (
                            loc,
                            f"event {ev!r} is not an event of this campaign{did_you_mean(ev, declared)}; "
                            f"its events ({where}): {_listed(declared)}",
                        )
                    )
        known, complete = _known_columns(spec)
        for loc, col in column_refs(cfg):
            if col not in known and complete:
                why = "the events table is derived from orders" if spec.derive_from else "keep_extra is false"
                out.append(
                    (
                        loc,
                        f"column {col!r} is not a column of the events table{did_you_mean(col, known)} ({why}); "
                        f"its columns: {_listed(sorted(known))}",
                    )
                )
    out += _funnel_shape(cfg.funnel)
    return out


def _funnel_shape(f: Any) -> list[Problem]:
    """``step_windows`` (one per gap) and ``exclusions[].between`` (step numbers) against the steps given."""
    out: list[Problem] = []
    n = len(f.steps)
    for i, step in enumerate(f.steps):
        if isinstance(step, StepSpec) and not step.event:
            out.append((f"funnel.steps[{i}].event", "give at least one event"))
    if f.step_windows is not None:
        if not n:
            out.append(
                (
                    "funnel.step_windows",
                    "needs funnel.steps: one window per gap between the steps you give (the default steps "
                    "depend on the data)",
                )
            )
        elif len(f.step_windows) != n - 1:
            out.append(
                (
                    "funnel.step_windows",
                    f"has {len(f.step_windows)} entries but funnel.steps has {n} steps: give exactly {n - 1} "
                    "(one per gap between consecutive steps; null = no limit)",
                )
            )
    for i, x in enumerate(f.exclusions):
        a, b = x.between
        if n and not 1 <= a < b <= n:
            out.append(
                (
                    f"funnel.exclusions[{i}].between",
                    f"is [{a}, {b}]: give two step numbers 1 <= k < m <= {n} (funnel.steps has {n} steps)",
                )
            )
    return out


def data_problems(cfg: Any, *, events: Iterable[str] | None, columns: Iterable[str] | None) -> list[Problem]:
    """Problems of the values named in the params against the clean events table, run right after ingest.

    Parameters
    ----------
    events : the distinct event names of the clean events table (None: not checked). Only used when the
        campaign declares no events (else ``load_params`` has checked them, and a declared event that has no
        rows is the data's business, not a params error).
    columns : the clean events table's columns (None: not checked).
    """
    out: list[Problem] = []
    if events is not None and declared_events(cfg) is None:
        present = sorted({str(e) for e in events})
        for loc, ev in event_refs(cfg):
            if ev not in present:
                out.append(
                    (
                        loc,
                        f"event {ev!r} is not in the clean events table{did_you_mean(ev, present)}; "
                        f"its events: {_listed(present)}",
                    )
                )
    if columns is not None:
        have = list(columns)
        for loc, col in column_refs(cfg):
            if col not in have:
                out.append(
                    (
                        loc,
                        f"column {col!r} is not in the clean events table{did_you_mean(col, have)}; "
                        f"its columns: {_listed(have)}",
                    )
                )
    return out


def params_label(params_file: str | os.PathLike | None, campaign: str) -> str:
    """The params file as an error names it: relative to the project root when inside it (default
    ``params/<campaign>.yaml``)."""
    if params_file is None:
        return f"params/{campaign}.yaml"
    p, root = Path(params_file).resolve(), project_root().resolve()
    return str(p.relative_to(root)) if p.is_relative_to(root) else str(params_file)
