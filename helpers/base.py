"""The report contract: every analysis ends in one :class:`Report` subclass.

A report class is the one place that names an analysis' parts (``show(part)``), its results tables
(``tables()``, written as ``results/<name>_<table>.csv``), its results keys (``to_results()``) and the other
reports whose tables it joins (``reads``). Its computed frames stay plain attributes, so an analyst gets
DataFrames (``rep.table``, ``rep.users``) to pass to the ``plot_*`` functions with their own ``ax``.

When the data cannot make a report, ``compute`` raises :class:`ReportUnavailable` and :meth:`Report.run`
returns the :class:`Unavailable` twin instead: same name, parts, tables and results keys, every value null,
and the reason said in the findings, the index and every part.

Reports read each other's tables only through :func:`report_table`, which checks that the table comes
from the same run (batch) or from the same clean inputs (interactive) and says why when it refuses.

``docs/architecture.md`` describes the contract and the checklist for adding an analysis.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar, Self

import pandas as pd

from . import i18n
from .errors import MissingTableError, StaleResultsError, UnknownPartError
from .fmt import md_escape
from .i18n import localized

__all__ = [
    "Report",
    "Outcome",
    "Unavailable",
    "ReportUnavailable",
    "inputs_fingerprint",
    "report_table",
    "results_doc",
    "upstream_why",
]


class Outcome(str):
    """A finding that states a result (a metric's change, the best model, the worst problem), as opposed to the
    setting the findings open with (a window, a definition, what was checked). :meth:`Report.lead` is the first
    Outcome of the findings, so the lead follows the line itself, not its place in the list. Behaves as ``str``."""

    __slots__ = ()


class ReportUnavailable(Exception):
    """Raised inside :meth:`Report.compute` when the data cannot make the report; carries the reason
    in plain words in the campaign's language, from the message catalogue, e.g. ``t("common.no_events")``."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def _check_part(rep: Report | Unavailable, part: str) -> None:
    if part not in rep.parts:
        raise UnknownPartError(rep.name, part, rep.parts)


def _repr_html(rep: Report | Unavailable) -> str:
    items = "".join(f"<li>{html.escape(f)}</li>" for f in rep.findings())
    state = "" if rep.available else f" <em>{html.escape(i18n.t('unavailable.state'))}</em>"
    return (
        f"<div><b>{html.escape(rep.title)}</b>{state}<ul>{items}</ul>"
        f"<small>parts: {html.escape(', '.join(rep.parts))}</small></div>"
    )


class Report:
    """Base of every analysis report.

    Subclasses set the class attributes and implement :meth:`compute`, :meth:`findings`,
    :meth:`headline`, :meth:`tables`, :meth:`to_results` and :meth:`_show`.

    Class attributes
    ----------------
    name : the report's name: its notebook is ``notebooks/<name>.ipynb``, its results ``results/<name>.json``.
    title : title shown at the top of the report (both languages).
    parts : the parts :meth:`show` displays, in report order.
    reads : reports whose tables this one joins (through :func:`report_table`); the runner runs them first.
    table_names : every table :meth:`tables` may return (``results/<name>_<table>.csv``; docs/results.md).
    result_keys : the report-specific keys of ``results/<name>.json`` (besides ``available`` and ``reason``).
    unavailable_label : how the findings start when the report could not compute.
    glossary : the statistics the report shows (catalogue keys ``glossary.<term>``), explained at the end of its
        page in plain words.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    parts: ClassVar[tuple[str, ...]] = ()
    reads: ClassVar[tuple[str, ...]] = ()
    table_names: ClassVar[tuple[str, ...]] = ()
    result_keys: ClassVar[tuple[str, ...]] = ()
    unavailable_label: ClassVar[str] = localized("unavailable.label")
    #: glossary terms the report's page explains (keys ``glossary.<term>`` in helpers/messages/glossary.yaml)
    glossary: ClassVar[tuple[str, ...]] = ()

    available: ClassVar[bool] = True
    reason: ClassVar[str] = ""

    # ---------------------------------------------------------------- the contract
    @classmethod
    def compute(cls, ctx: Any) -> Self:
        """Compute the report for a campaign; raise :class:`ReportUnavailable` when the data cannot make it."""
        raise NotImplementedError

    @classmethod
    def run(cls, ctx: Any) -> Self | Unavailable:
        """:meth:`compute`, or the :class:`Unavailable` twin carrying the reason."""
        try:
            return cls.compute(ctx)
        except ReportUnavailable as e:
            return Unavailable(cls, e.reason)

    def findings(self) -> list[str]:
        """Key findings in plain words and numbers: the first thing the report shows."""
        raise NotImplementedError

    def lead(self) -> str | None:
        """The report's top finding, one of :meth:`findings`, which the index shows for it under "what to act
        on": a result, never the setting. Findings that open with their setting (a comparison window, a
        definition, what was checked) mark their result lines :class:`Outcome` where they write them, and the
        lead is the first of those; otherwise the first finding."""
        found = self.findings()
        return str(next((f for f in found if isinstance(f, Outcome)), found[0])) if found else None

    def headline(self) -> list[dict]:
        """Headline numbers for the index page (:func:`helpers.report.headline` items)."""
        raise NotImplementedError

    def tables(self) -> dict[str, pd.DataFrame]:
        """Key tables written as ``results/<name>_<table>.csv``; keys are among :attr:`table_names`."""
        return {}

    def to_results(self) -> dict:
        """The report-specific part of ``results/<name>.json``: exactly ``available``, ``reason`` and
        :attr:`result_keys`."""
        raise NotImplementedError

    def export(self, ctx: Any) -> list[Path]:
        """Extra files beyond the results JSON and CSVs (e.g. Parquet); returns their paths."""
        return []

    def show(self, part: str) -> None:
        """Display one part of the report (see :attr:`parts`); returns nothing."""
        _check_part(self, part)
        from .page import table_csv

        obj = self._show(part)
        _display(obj, csv=table_csv(self, obj))

    def _repr_html_(self) -> str:
        return _repr_html(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    def _show(self, part: str) -> Any:
        """Draw or display ``part``; may return an Axes or Figure, which :meth:`show` displays and closes."""
        raise NotImplementedError

    # ---------------------------------------------------------------- helpers for subclasses
    def _results(self, **values: Any) -> dict:
        """``to_results`` body: checks that exactly the declared keys are given."""
        missing = set(self.result_keys) - set(values)
        extra = set(values) - set(self.result_keys)
        if missing or extra:
            raise AssertionError(f"{self.name}.to_results: keys missing {sorted(missing)}, undeclared {sorted(extra)}")
        return {"available": True, "reason": None, **values}


class Unavailable:
    """The twin of a report that could not compute: same name, parts, tables and results keys (all
    null), and the reason in the findings, the headline and every part."""

    available: ClassVar[bool] = False

    def __init__(self, report: type[Report], reason: str):
        self.report = report
        self.reason = reason
        self.name = report.name
        self.title = report.title
        self.parts = report.parts
        self.reads = report.reads
        self.table_names = report.table_names
        self.result_keys = report.result_keys

    def findings(self) -> list[str]:
        return [i18n.t("unavailable.finding", label=self.report.unavailable_label, reason=self.reason.rstrip(".。"))]

    def lead(self) -> str | None:
        return self.findings()[0]  # the reason (the index lists no finding for a report that could not compute)

    def headline(self) -> list[dict]:
        from .report import headline

        return [headline(self.title, None, i18n.t("unavailable.value"))]

    def tables(self) -> dict[str, pd.DataFrame]:
        return {}

    def to_results(self) -> dict:
        return {"available": False, "reason": self.reason, **{k: None for k in self.result_keys}}

    def export(self, ctx: Any) -> list[Path]:
        return []

    def show(self, part: str) -> None:
        _check_part(self, part)
        from IPython.display import Markdown, display

        display(Markdown(f"_{md_escape(i18n.sentence_start(i18n.full_stop(self.reason)))}_"))

    def _repr_html_(self) -> str:
        return _repr_html(self)

    def __repr__(self) -> str:
        return f"<Unavailable {self.name!r}: {self.reason}>"


def _display(obj: Any, *, csv: str | None = None) -> None:
    """Display what a part returned: a DataFrame/Styler/Markdown as is, a Figure or Axes as its figure
    (then closed, so the notebook backend does not show it a second time). A DataFrame or Styler is drawn by the
    page's table renderer (:func:`helpers.page.render_table`, ``render_styler``), with a link to its results CSV
    (``csv``) under it."""
    if obj is None:
        return
    from IPython.display import display

    fig = None
    if hasattr(obj, "savefig"):
        fig = obj
    elif hasattr(obj, "get_figure"):
        fig = obj.get_figure()
    elif isinstance(obj, (list, tuple)) and obj and hasattr(obj[0], "get_figure"):
        fig = obj[0].get_figure()
    if fig is not None:
        import matplotlib.pyplot as plt

        display(fig)
        plt.close(fig)
        return
    if isinstance(obj, pd.DataFrame):
        from .page import render_table

        obj = render_table(obj, csv=csv)
    elif type(obj).__name__ == "Styler":
        from .page import render_styler

        obj = render_styler(obj, csv=csv)
    display(obj)


# ------------------------------------------------------------------------------------------ inputs and upstream
_EDGE_BYTES = 64 * 1024


def _parquet_digest(f: Path) -> str:
    """A Parquet file's content identity, cheap at any size: its size, its first 64 KiB (the first column
    pages) and its last 64 KiB, which hold the footer (schema, row count, every column chunk's offsets, sizes
    and min/max statistics). Files up to 256 KiB are hashed whole. Neither the path nor the modification time
    counts, so a copied campaign folder (``cp -r``) keeps its fingerprints."""
    size = f.stat().st_size
    h = hashlib.blake2b(str(size).encode(), digest_size=16)
    with open(f, "rb") as fh:
        if size <= 4 * _EDGE_BYTES:
            h.update(fh.read())
        else:
            h.update(fh.read(_EDGE_BYTES))
            fh.seek(-_EDGE_BYTES, os.SEEK_END)
            h.update(fh.read())
    return h.hexdigest()


def _table_fingerprint(loc: str) -> str:
    """A clean table's identity: the content digest of its Parquet file (a folder: of each of its Parquet
    files, with their names relative to it; :func:`_parquet_digest`); a remote location is identified by
    its URI."""
    p = Path(loc)
    if "://" in loc or not p.exists():
        return hashlib.sha256(loc.encode()).hexdigest()[:16]
    files = sorted(p.rglob("*.parquet")) if p.is_dir() else [p]
    h = hashlib.sha256()
    for f in files:
        name = f.relative_to(p).as_posix() if p.is_dir() else ""
        h.update(f"{name}|{_parquet_digest(f)}\0".encode())
    return h.hexdigest()[:16]


def inputs_fingerprint(ctx: Any, tables: Iterable[str]) -> dict[str, str]:
    """``{table: fingerprint}`` of the campaign's clean tables (those that exist)."""
    from .engine import clean_table_location

    out = {}
    for t in sorted(set(tables)):
        loc = str(clean_table_location(ctx.paths, t, ctx.cfg.clean_data))
        if "://" in loc or Path(loc).exists():
            out[t] = _table_fingerprint(loc)
    return out


def _combined(fps: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(fps, sort_keys=True).encode()).hexdigest()[:16]


def results_doc(ctx: Any, report: str) -> dict | None:
    """The saved ``results/<report>.json`` of the campaign, or None when that report has not run."""
    p = ctx.paths.results / f"{report}.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None


def report_table(ctx: Any, report: str, table: str, *, required: bool = True) -> pd.DataFrame | None:
    """Another report's results table, checked to be current.

    In a batch run the producer must have run (or been up to date) in the same run: the runner tells each
    notebook which run's results it may read. Interactively the producer's clean inputs must be the current
    ones. ``user_id`` is read as text.

    Raises :class:`~helpers.errors.MissingTableError` (not run, or no such table) or
    :class:`~helpers.errors.StaleResultsError` (another run, other inputs). With ``required=False`` it
    returns None instead and records the reason in ``ctx.upstream_problems[report]``.
    """
    try:
        doc = results_doc(ctx, report)
        if doc is None and (ctx.paths.results / ".stale" / f"{report}.json").exists():
            raise MissingTableError(
                table,
                f"the {report} report failed or was skipped in its last batch run; its earlier results were "
                f"moved to results/.stale/ and are not used: fix it and rerun it "
                f"(`python -m helpers run ... --only {report}`)",
            )
        if doc is not None and doc.get("stale"):
            raise StaleResultsError(report, table, "its results are marked stale (its last run failed): rerun it")
        if doc is None:
            raise MissingTableError(
                table,
                f"the {report} report has not run for campaign {ctx.cfg.campaign!r}: "
                f"run its notebook (or `python -m helpers run ... --only {report}`) first",
            )
        csvs = doc.get("csv") or {}
        expected = _expected_runs()
        if expected is not None and report in expected:
            want = expected[report]
            if want is None:
                raise StaleResultsError(report, table, "that report did not complete in this run")
            if doc.get("run_id") != want:
                raise StaleResultsError(report, table, f"it comes from run {doc.get('run_id')}, not {want}")
        inputs = doc.get("inputs") or {}
        now = inputs_fingerprint(ctx, inputs)
        changed = sorted(t for t, fp in inputs.items() if now.get(t) != fp)
        if changed:
            raise StaleResultsError(
                report,
                table,
                f"the clean {', '.join(changed)} table(s) changed since it ran "
                f"(run {doc.get('run_id')}): rerun {report}",
            )
        if table not in csvs:
            why = doc.get("reason") if doc.get("available") is False else None
            raise MissingTableError(
                table,
                f"the {report} report has no {table!r} table"
                + (f" (it could not compute: {why})" if why else f"; its tables are: {', '.join(csvs) or '(none)'}"),
            )
        df = pd.read_csv(ctx.paths.results / csvs[table], dtype={"user_id": str}, encoding="utf-8-sig")
    except (MissingTableError, StaleResultsError) as e:
        if required:
            raise
        problems = getattr(ctx, "upstream_problems", None)
        if isinstance(problems, dict):
            problems[report] = str(e)
        return None
    used = getattr(ctx, "upstream_used", None)
    if isinstance(used, dict):
        used[report] = doc.get("run_id")
    problems = getattr(ctx, "upstream_problems", None)
    if isinstance(problems, dict):
        problems.pop(report, None)
    return df


def upstream_why(report: str, why: str) -> str:
    """A reader-facing reason (campaign's language) for a :func:`report_table` refusal ``why`` (its English
    error text, recorded in ``ctx.upstream_problems``): not run, failed, stale, unavailable (with its reason)."""
    if "could not compute: " in why:
        reason = why.split("could not compute: ", 1)[1].rsplit(")", 1)[0]
        return i18n.t("upstream.unavailable", report=report, reason=reason.rstrip(".。"))
    for marker, key in (
        ("has not run", "upstream.not_run"),
        ("failed or was skipped", "upstream.failed"),
        ("marked stale", "upstream.failed"),
        ("did not complete", "upstream.failed"),
        ("comes from run", "upstream.stale"),
        ("changed since it ran", "upstream.stale"),
    ):
        if marker in why:
            return i18n.t(key, report=report)
    return i18n.t("upstream.other", report=report)


def _expected_runs() -> dict[str, str | None] | None:
    """Batch runs: ``{report: run_id it may be read from, or None}`` set by the runner; None interactively."""
    raw = os.environ.get("UBAKIT_UPSTREAM")
    return json.loads(raw) if raw else None
