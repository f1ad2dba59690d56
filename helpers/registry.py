"""The registry of all reports, their run order, and the two calls every notebook makes.

A notebook's first code cell ends with ``rep = helpers.run_report("<name>", ctx)`` and its last is
``helpers.save_report(ctx, rep)``. The batch runner orders notebooks with :func:`run_order`, from the
reports' declared ``reads`` (``ingest`` first: every report reads its clean tables).
"""

from __future__ import annotations

import importlib
from typing import Any

from .base import Report, Unavailable, _combined, inputs_fingerprint
from .errors import DependencyCycleError, UnknownReportError

__all__ = ["REPORTS", "all_reports", "get_report", "report_reads", "run_order", "run_report", "save_report"]

#: every report: name -> (module, class), in the order the index lists them. A module is imported only
#: when its report is used, so a notebook loads just its own analysis.
REPORTS: dict[str, tuple[str, str]] = {
    "ingest": ("quality", "IngestReport"),
    "funnel": ("funnel", "FunnelReport"),
    "paths": ("journey", "PathsReport"),
    "retention": ("retention", "RetentionReport"),
    "rfm": ("rfm", "RFMReport"),
    "clustering": ("clustering", "ClusteringReport"),
    "sentiment": ("sentiment", "SentimentReport"),
    "churn": ("churn", "ChurnReport"),
    "user_profile": ("user_profile", "ProfileReport"),
    "data_quality": ("data_quality", "DataQualityReport"),
    "trends": ("trends", "TrendsReport"),
    "products": ("products", "ProductsReport"),
    "attribution": ("attribution", "AttributionReport"),
    "experiment": ("experiment", "ExperimentReport"),
    "impact": ("impact", "ImpactReport"),
}


def get_report(name: str) -> type[Report]:
    """The report class registered under ``name``; :class:`UnknownReportError` lists the names."""
    if name not in REPORTS:
        raise UnknownReportError(name, REPORTS)
    module, cls = REPORTS[name]
    return getattr(importlib.import_module(f"{__package__}.{module}"), cls)


def all_reports() -> dict[str, type[Report]]:
    """Every report class by name (imports every analysis module)."""
    return {n: get_report(n) for n in REPORTS}


def report_reads(name: str) -> tuple[str, ...]:
    """The reports ``name`` must run after: ``ingest`` (for every other report) and its declared ``reads``.
    A notebook that is not a registered report depends on ``ingest`` only."""
    if name == "ingest":
        return ()
    if name not in REPORTS:
        return ("ingest",)
    return ("ingest", *get_report(name).reads)


def run_order(names: list[str]) -> list[str]:
    """``names`` in an order where every report comes after the ones it reads (those among ``names``).

    Ties keep the registry's order, then unregistered names alphabetically. Raises
    :class:`DependencyCycleError` when the declared ``reads`` form a cycle.
    """
    rank = {n: i for i, n in enumerate(REPORTS)}
    todo = sorted(dict.fromkeys(names), key=lambda n: (rank.get(n, len(rank)), n))
    done: list[str] = []
    while todo:
        ready = [n for n in todo if all(d in done or d not in todo for d in report_reads(n))]
        if not ready:
            raise DependencyCycleError(f"the reports' reads form a cycle among: {', '.join(todo)}")
        done.append(ready[0])
        todo.remove(ready[0])
    return done


def run_report(name: str, ctx: Any, *, show: bool = True) -> Report | Unavailable:
    """Compute report ``name`` for the campaign of ``ctx``; show its header and key findings (``show``).

    Returns the report (or its :class:`~helpers.base.Unavailable` twin, which says why).
    """
    cls = get_report(name)
    rep = cls.run(ctx)
    if show:
        from .report import show_findings, show_header

        show_header(ctx, cls.title)
        show_findings(rep.findings())
    return rep


def save_report(ctx: Any, rep: Report | Unavailable) -> None:
    """Write the report's results: ``results/<name>.json`` with the run metadata (``run_id``, ``period``,
    ``inputs_fingerprint`` and ``inputs`` of the clean tables it read, ``upstream`` reports' run ids),
    one CSV per table, and any extra files. A CSV of a table this run did not produce is removed.

    Returns nothing: it is a notebook's last cell, and a returned value would end every page with its repr
    (``helpers.report.load_results(ctx, name)`` reads the results back)."""
    from .report import save_results

    read = ctx.cfg.table_names if rep.name == "ingest" else getattr(ctx, "tables_read", set())
    inputs = inputs_fingerprint(ctx, read)
    meta = {
        "run_id": getattr(ctx, "run_id", None),
        "period": ctx.cfg.period.as_meta(),  # the resolved dates and the relative spec as written (or None)
        "inputs_fingerprint": _combined(inputs),
        "inputs": inputs,
        "upstream": dict(getattr(ctx, "upstream_used", {}) or {}),
        "upstream_missing": dict(getattr(ctx, "upstream_problems", {}) or {}),
        "glossary": list(getattr(rep, "glossary", ()) or ()),  # the terms its page explains (helpers/page.py)
    }
    rep.export(ctx)
    save_results(
        ctx,
        rep.name,
        rep.to_results(),
        headline_items=rep.headline(),
        findings=rep.findings(),
        lead=rep.lead(),
        tables=rep.tables(),
        meta=meta,
        table_names=rep.table_names,
    )
