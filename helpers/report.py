"""Reports: results files for BI/CRM, key findings, notebook -> HTML, and the campaign index page.

Results convention (every notebook): ``results/<notebook>.json`` with at least

- ``notebook``, ``campaign``, ``title``, ``generated_at`` (ISO time);
- ``headline``: list of ``{"label", "value", "text"}`` (raw number and its formatted text), shown on
  the index page;
- ``findings``: the key findings in plain words, as shown at the top of the report;

plus notebook-specific keys documented in ``docs/results.md``; key tables (listed under ``csv``) as
``results/<notebook>_<table>.csv`` (UTF-8 with BOM so that Excel shows Chinese).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import os
import re
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "CSP",
    "harden_page",
    "embed_cjk_font",
    "save_results",
    "load_results",
    "write_atomic",
    "atomic_path",
    "relative_paths",
    "show_findings",
    "show_header",
    "headline",
    "notebook_to_html",
    "write_index",
]


def headline(label: str, value: Any, text: str | None = None) -> dict:
    """One headline number: ``label`` (plain words), ``value`` (raw, JSON-safe), ``text`` (formatted)."""
    if text is None:
        text = f"{value:,}" if isinstance(value, int) else str(value)
    return {"label": label, "value": _jsonable(value), "text": text}


def _jsonable(v):
    if isinstance(v, (pd.Timestamp, dt.datetime, dt.date)):
        return v.isoformat()
    if hasattr(v, "item") and not isinstance(v, (list, dict)):
        try:
            v = v.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


# ------------------------------------------------------------------------------------------ atomic writes
@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path next to ``path`` to write to; on success it replaces ``path`` in one step
    (``os.replace``), so a reader sees the old file or the new one, never a half-written one (a full disk
    or a killed run leaves the old file). On error the temporary file is removed.

    >>> with atomic_path("results/x.csv") as tmp:   # doctest: +SKIP
    ...     frame.to_csv(tmp)
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        yield tmp
        with open(tmp, "rb+") as f:  # on disk before the rename: a crash leaves the old or the new file
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike, data: str | bytes, *, encoding: str = "utf-8") -> Path:
    """Write ``data`` (text or bytes) to ``path`` atomically (:func:`atomic_path`); return the path."""
    with atomic_path(path) as tmp:
        with open(tmp, "xb") as f:
            f.write(data if isinstance(data, bytes) else data.encode(encoding))
    return Path(path)


#: the keys every results file has besides the report's own (:func:`save_results`, ``helpers.registry.save_report``);
#: a report's ``result_keys`` must not reuse one (tests/test_contract.py)
RUN_KEYS = (
    "notebook", "campaign", "title", "generated_at", "run_id", "period", "inputs_fingerprint", "inputs", "upstream",
    "upstream_missing", "glossary", "headline", "findings", "lead", "csv",
)  # fmt: skip


def save_results(
    ctx,
    notebook: str,
    data: dict,
    *,
    headline_items: Sequence[dict] = (),
    findings: Sequence[str] = (),
    lead: str | None = None,
    tables: dict[str, pd.DataFrame] | None = None,
    meta: dict | None = None,
    table_names: Sequence[str] = (),
) -> Path:
    """Write ``results/<notebook>.json`` (+ one CSV per table) for the campaign of ``ctx``; return the JSON path.

    ``lead``: the top finding, one of ``findings``, shown on the index (default: the first finding;
    :meth:`helpers.base.Report.lead`). ``meta``: run metadata (``run_id``, ``inputs_fingerprint``, ``inputs``,
    ``upstream``) placed after the common keys; :func:`helpers.registry.save_report` fills it. ``table_names``:
    every table the report may write; a CSV of one of them that this run did not write is removed, so that no
    table of an earlier run lies next to this run's JSON. Every file is written atomically, the CSVs first and
    the JSON last.
    """
    from .export import csv_frame, write_columns_file

    res = ctx.paths.results
    res.mkdir(parents=True, exist_ok=True)
    doc = {
        "notebook": notebook,
        "campaign": ctx.cfg.campaign,
        "title": ctx.cfg.title,
        "generated_at": dt.datetime.now().isoformat(timespec="seconds"),
        **(meta or {}),
        "headline": list(headline_items),
        "findings": list(findings),
        "lead": lead if lead is not None else (findings[0] if findings else None),
    }
    clash = sorted(set(data) & set(doc))
    if clash:  # a report key would overwrite the run's own (results/retention.json once lost its "period")
        raise AssertionError(
            f"{notebook}: results keys {clash} clash with the results file's run metadata; rename them"
        )
    doc.update(_jsonable(data))
    csvs = {}
    for name, df in (tables or {}).items():
        if df is None:
            continue
        p = ctx.paths.file(f"results/{notebook}_{name}.csv")
        with atomic_path(p) as tmp:
            csv_frame(df).to_csv(tmp, index=False, encoding="utf-8-sig")  # rounded by column kind (helpers/export.py)
        csvs[name] = p.name
    for name in table_names:
        if name not in csvs:
            ctx.paths.file(f"results/{notebook}_{name}.csv").unlink(missing_ok=True)
    if csvs:
        doc["csv"] = csvs
    out = ctx.paths.file(f"results/{notebook}.json")
    write_atomic(out, json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False))
    write_columns_file(res)  # results/columns.csv: zh/en labels of every CSV column (helpers/export.py)
    return out


def load_results(ctx_or_paths, notebook: str) -> dict | None:
    """The saved results of a notebook, or None when it has not run."""
    paths = getattr(ctx_or_paths, "paths", ctx_or_paths)
    p = paths.results / f"{notebook}.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None


def show_findings(findings: list[str], *, title: str | None = None):
    """Display the key findings as a Markdown list (the first thing a report shows); the heading is the
    catalogue's ``key_findings`` unless ``title`` is given (the page links it as ``#findings``)."""
    from IPython.display import Markdown, display

    from .fmt import md_escape
    from .i18n import t

    body = "\n".join(f"- {md_escape(f)}" for f in findings) or f"- {md_escape(t('page.no_findings'))}"
    display(Markdown(f"### {md_escape(title or t('key_findings'))}\n\n{body}"))


# ------------------------------------------------------------------------------------------------ HTML
def notebook_to_html(
    ipynb: str | Path,
    out_html: str | Path,
    *,
    show_code: bool = False,
    title: str | None = None,
    page: dict | None = None,
    language: str | None = None,
) -> Path:
    """Convert an executed notebook to one self-contained HTML file (images inline), code hidden
    unless ``show_code``. Cells tagged ``remove-cell`` are dropped; ``remove-input`` hides one input.
    The notebook's Markdown comes in pairs tagged ``lang-zh`` / ``lang-en``: the page keeps the campaign
    language's cells (``language``, else ``page["language"]``, else the current language) and drops the others.

    Machine paths in the outputs (tracebacks, warnings, the injected parameters) are shown relative to the
    project (:func:`relative_paths`; the campaign folder is the one holding ``out_html``). The page is put in the
    shared template (:func:`helpers.page.dress_report`; ``page``: the run's :func:`helpers.page.page_meta`) and
    written atomically."""
    import nbformat
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    from .i18n import current_language
    from .i18n import language as i18n_language

    c = Config()
    c.TagRemovePreprocessor.enabled = True
    lang = language or (page or {}).get("language") or current_language()
    c.TagRemovePreprocessor.remove_cell_tags = {"remove-cell", "lang-zh" if lang == "en" else "lang-en"}
    c.TagRemovePreprocessor.remove_input_tags = {"remove-input", "injected-parameters", "parameters"}
    c.HTMLExporter.exclude_input = not show_code
    c.HTMLExporter.exclude_input_prompt = True
    c.HTMLExporter.exclude_output_prompt = True
    c.HTMLExporter.embed_images = True
    exporter = HTMLExporter(config=c, template_name="lab")
    nb = nbformat.read(str(ipynb), as_version=4)
    with i18n_language(lang):
        _failure_first(nb, Path(out_html).resolve().parent)
    if not show_code:
        _unavailable_only(nb, Path(out_html), (page or {}).get("run_id"))
        # drop the parameter cells entirely and any cell with no output
        nb.cells = [cell for cell in nb.cells if cell.cell_type != "code" or cell.get("outputs")]
    if title:
        nb.metadata["title"] = title
    _relative_outputs(nb, Path(out_html).resolve().parent)
    body, _ = exporter.from_notebook_node(nb)
    from .page import dress_report

    body = harden_page(embed_cjk_font(dress_report(_strip_external(body), out_html, page)))
    return write_atomic(out_html, body)


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _failure_first(nb, campaign_root: Path) -> None:
    """A notebook that stopped on an error, as a page for people: papermill's English banner cells dropped; the
    cells after the failing one dropped (they never ran, and their headings would promise sections the page does not
    have); the error's output replaced by a lead in the campaign's language ("这份报告运行出错，没有结果…") over the
    error in one line (:func:`helpers.errors.error_line`) and the traceback, folded for the analyst, escaped and with
    machine paths shortened. A notebook without an error is left as it is."""
    import nbformat

    from .errors import error_line, kit_error_message
    from .i18n import t

    at = next(
        (i for i, c in enumerate(nb.cells) if any(o.get("output_type") == "error" for o in c.get("outputs", []))), None
    )
    if at is None:
        return
    fix = _path_rewriter(campaign_root)
    cell = nb.cells[at]
    err = next(o for o in cell["outputs"] if o.get("output_type") == "error")
    line = fix(error_line(f"{err.get('ename', '')}: {err.get('evalue', '')}"))
    trace = fix(_ANSI.sub("", "\n".join(err.get("traceback") or [])))
    why = kit_error_message(line)  # the kit's own errors say what to fix: shown, not folded away
    block = (
        f"<div class='ubk-failed'><p class='ubk-failed-lead'>{html.escape(t('page.failed_lead'))}</p>"
        + (f"<p class='ubk-failed-why'>{html.escape(why)}</p>" if why else "")
        + f"<details class='err'><summary>{html.escape(t('index.error_details'))}</summary>"
        f"<p>{html.escape(line)}</p><pre>{html.escape(trace)}</pre></details></div>"
    )
    shown = nbformat.v4.new_output("display_data", data={"text/html": block, "text/plain": line})
    cell["outputs"] = [o for o in cell["outputs"] if o.get("output_type") != "error"] + [shown]
    keep = nb.cells[: at + 1]
    nb.cells = [c for c in keep if "papermill-error-cell-tag" not in c.metadata.get("tags", [])]


def _unavailable_only(nb, out_html: Path, run_id: str | None) -> None:
    """A report that could not compute (its results of this run say ``"available": false``): the page keeps the
    cells up to the one that ran it (its header and the finding that says why), not each section's heading and
    description over the same reason again."""
    try:
        res = json.loads((out_html.parent / "results" / f"{out_html.stem}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(res, dict) or res.get("available") is not False or (run_id and res.get("run_id") != run_id):
        return
    at = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "run_report(" in c.source), None)
    if at is not None:
        nb.cells = nb.cells[: at + 1]


def _relative_outputs(nb, campaign_root: Path) -> None:
    """Rewrite machine paths in every output (text, tracebacks) and in the injected parameters cell."""
    fix = _path_rewriter(campaign_root)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.source = fix(cell.source)
        for out in cell.get("outputs", []):
            if "text" in out:
                out["text"] = fix(out["text"])
            if out.get("output_type") == "error":
                out["evalue"] = fix(out.get("evalue", ""))
                out["traceback"] = [fix(line) for line in out.get("traceback", [])]
            for mime, value in (out.get("data") or {}).items():
                if mime.startswith("text/"):
                    out["data"][mime] = fix(value) if isinstance(value, str) else [fix(v) for v in value]


def relative_paths(text: str, *, campaign_root: str | os.PathLike | None = None) -> str:
    """``text`` with machine paths shortened: the project folder dropped (``helpers/funnel.py``), installed
    packages as ``site-packages/...``, the standard library as ``python/...``, the campaign folder as
    ``reports/<campaign>`` (``<reports-dir>/<campaign>`` when it is outside the project), the home folder as
    ``~``. Used for tracebacks and errors in the terminal, the index and the report pages."""
    return _path_rewriter(Path(campaign_root) if campaign_root else None)(text)


def _path_rewriter(campaign_root: Path | None):
    import re
    import site
    import sysconfig

    from .locations import inside, project_root

    root = project_root()
    labels: dict[str, str] = {}

    def add(path: str | Path | None, label: str) -> None:
        if not path:
            return
        for p in {str(path), str(Path(path).resolve())}:
            if len(p) > 1:
                labels.setdefault(p.rstrip("/"), label)

    for sp in [*site.getsitepackages(), site.getusersitepackages(), *sysconfig.get_paths().values()]:
        if sp.endswith("-packages"):
            add(sp, "site-packages")
    add(sysconfig.get_paths()["stdlib"], "python")
    if campaign_root is not None:
        inner = inside(campaign_root, root)
        rel = campaign_root.resolve().relative_to(root).as_posix() if inner else f"<reports-dir>/{campaign_root.name}"
        add(campaign_root, rel)
    add(root, "")
    add(Path.home(), "~")
    prefixes = sorted(labels, key=len, reverse=True)
    # a prefix counts only as a whole path component: "/work/main" matches "/work/main/x", not "/work/mainline"
    pattern = re.compile("(" + "|".join(re.escape(p) for p in prefixes) + r")(?=/|$|[^\w.-])(/?)")

    def sub(m: re.Match) -> str:
        label = labels[m.group(1)]
        if not label:
            return "" if m.group(2) else "."
        return label + m.group(2)

    return lambda text: pattern.sub(sub, text) if text else text


def embed_cjk_font(page: str) -> str:
    """Make an HTML page show its Chinese text on any machine: subset the report CJK font to the
    characters the page uses and embed it (base64 WOFF in an ``@font-face``), then put it in the font
    stacks. Pages without CJK characters are returned unchanged."""
    import base64
    import io
    import re

    chars = {ch for ch in re.sub(r"<[^>]+>", " ", page) if ord(ch) > 0x2E7F}
    if not chars:
        return page
    from fontTools import subset

    from .plots import cjk_font_path

    path = cjk_font_path()
    if path is None:
        return page
    opts = subset.Options()
    opts.flavor = "woff"
    opts.layout_features = ["*"]
    opts.name_IDs = ["*"]
    font = subset.load_font(path, opts)
    sub = subset.Subsetter(opts)
    # the spaces too: a space between Chinese characters is set in this font (text layout does not switch fonts
    # for a space), and a glyph missing from the subset made WeasyPrint write its own encoding for the font, which
    # PDF readers could not map back to text (pypdf got NUL bytes between the characters; tests/test_pdf.py)
    sub.populate(text="".join(sorted(chars)) + "·– \u00a0")
    sub.subset(font)
    buf = io.BytesIO()
    subset.save_font(font, buf, opts)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    stack = (
        "'ubakit-cjk',-apple-system,'Segoe UI','Helvetica Neue',Arial,'DejaVu Sans','Noto Sans CJK SC',"
        "'PingFang SC','Microsoft YaHei',sans-serif"
    )
    mono = "'DejaVu Sans Mono',Menlo,Consolas,monospace,'ubakit-cjk'"
    css = (
        "<style>@font-face{font-family:'ubakit-cjk';src:url(data:font/woff;base64," + data + ") format('woff');"
        "font-display:block;}"
        f":root{{--jp-content-font-family:{stack};--jp-content-heading-font-family:{stack};--jp-ui-font-family:{stack};"
        f"--jp-code-font-family:{mono};}}"
        f"body,body *{{font-family:{stack} !important;}}"
        f"pre,code,pre *,code *{{font-family:{mono} !important;}}</style>"
    )
    page = page.replace("</head>", css + "</head>", 1) if "</head>" in page else css + page
    # a hidden first CJK run makes the browser load the font before laying out visible text
    warm = (
        "<span aria-hidden='true' style=\"position:absolute;visibility:hidden;"
        "font-family:'ubakit-cjk' !important\">中文</span>"
    )
    return re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + warm, page, count=1)


#: every exported page: nothing loads from the network, no script runs; inline styles, data: images and the
#: embedded font are what the pages need.
CSP = (
    "default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "base-uri 'none'; form-action 'none'; object-src 'none'"
)


def harden_page(page: str) -> str:
    """Make a report page script-free: drop every ``<script>`` block (nbconvert's MathJax and Mermaid loaders,
    which a static report does not need) and put a Content-Security-Policy that forbids scripts first in
    ``<head>``, so even markup that slipped through escaping cannot run."""
    import re

    page = re.sub(r"<script\b[^>]*>.*?</script\s*>", "", page, flags=re.S | re.I)
    meta = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
    if re.search(r"<head[^>]*>", page):
        return re.sub(r"(<head[^>]*>)", lambda m: m.group(1) + meta, page, count=1)
    return meta + page


def _strip_external(body: str) -> str:
    """Remove the MathJax / require.js CDN script tags: reports must open offline."""
    import re

    return re.sub(r'<script[^>]+src="https?://[^"]+"[^>]*>\s*</script>', "", body)


def _what_changed(root: Path, run_id: str | None) -> tuple[dict, str]:
    """The changes of this run's headline numbers against the previous kept run (helpers/history.py), by
    (report, label), and the index's "what changed" section (empty without a previous run)."""
    from .history import compare_runs, shown_text

    if not run_id:
        return {}, ""
    try:
        comp = compare_runs(root, None, run_id)
    except ValueError:
        return {}, ""
    from .i18n import current_language, sentence_start, t
    from .page import report_name

    e = html.escape

    def words(change: str) -> str:  # history's machine words (unchanged, new, gone, changed) in the campaign language
        return t(f"index.change.{change}") if change in ("unchanged", "new", "gone", "changed") else change

    chg = {(r.report, r.label): words(r.change_text) for r in comp.table.itertuples(index=False)}
    moved = comp.changed
    notes = []
    if comp.periods:
        (a0, a1), (b0, b1) = comp.periods
        notes.append(t("index.change.period", before=f"{a0} – {a1}", after=f"{b0} – {b1}"))
    sep = "、" if current_language() == "zh" else ", "
    if comp.reports_new:
        notes.append(t("index.change.reports_new", reports=sep.join(report_name(n) for n in comp.reports_new)))
    if comp.reports_gone:
        notes.append(t("index.change.reports_gone", reports=sep.join(report_name(n) for n in comp.reports_gone)))
    items = [f"<li>{e(n)}</li>" for n in notes]
    for r in moved.itertuples(index=False):
        before, after = shown_text(r.before_text), shown_text(r.after_text)
        # a new headline shows its value, a gone one its last value: no arrow from or to nothing
        value = e(before or "") if after is None else f"<b class='ubk-num'>{e(after)}</b>"
        if before is not None and after is not None:
            value = f"{e(before)} → {value}"
        aside = e(t("aside", text=words(r.change_text)))
        lab = sentence_start(r.label)  # as the headline list above writes it (results keep the label as written)
        items.append(f"<li>{e(report_name(r.report))} · {e(lab)}{e(t('label_sep'))}{value}{aside}</li>")
    body = f"<ul>{''.join(items)}</ul>" if items else f"<p>{e(t('index.nothing_changed'))}</p>"
    section = (
        f"<section><h2 id='changes'>{e(t('index.what_changed'))}</h2>"
        f"<p class='earlier'>{e(t('index.vs_run', run=comp.run_a))}</p>{body}</section>"
    )
    return chg, section


def write_index(root: Path, cfg, statuses: list[dict], *, run_id: str | None = None) -> Path:
    """Write ``<campaign>/index.html`` (:func:`helpers.page.index_page`): the campaign summary, the top finding of
    each report, one row per report with its status, link, headline numbers (from ``results/<notebook>.json``)
    and, for failures, the error's last line. Before it, every report page's navigation is updated to the pages
    that exist and ``definitions.html`` is written (:func:`helpers.page.finish_pages`).

    Each status is ``{"notebook", "status", "error", "seconds"}`` plus optionally ``run_id`` (the run whose
    results file the row may show) and ``earlier`` (not run this time: the status of its last run). Status
    ``unavailable`` (the report could not compute) shows its reason in its own colour, never as ok. The page
    is written atomically. ``run_id``: this run, kept in ``history/`` (helpers/history.py): each headline number
    shows its change against the previous kept run, and a "what changed" section lists the changes."""
    from .i18n import language
    from .page import finish_pages, index_page

    lang = getattr(cfg, "language", "zh")
    title = getattr(cfg, "title", None)
    pages, definitions = finish_pages(root, lang, [s["notebook"] for s in statuses], title=title)
    for path, text in pages.items():
        write_atomic(path, text)
    if definitions is not None:
        write_atomic(root / "definitions.html", harden_page(embed_cjk_font(definitions)))
    with language(lang):
        changed = _what_changed(root, run_id)
    page = index_page(root, cfg, statuses, run_id=run_id, changed=changed)
    return write_atomic(root / "index.html", harden_page(embed_cjk_font(page)))


def show_header(ctx, report_title: str):
    """Display the report's campaign line under its title: campaign title, campaign, period, report name (the
    page template repeats them in its header; the line serves whoever reads the notebook itself)."""
    from IPython.display import HTML, display

    from .i18n import t
    from .page import _period_text

    c = ctx.cfg
    period = _period_text(c.period.as_meta(), c.timezone)
    text = t("page.header_line", title=c.title, campaign=c.campaign, period=period, report=report_title)
    display(HTML(f'<p class="ubk-nbheader"><em>{html.escape(text)}</em></p>'))
