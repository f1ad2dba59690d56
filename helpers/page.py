"""The one page template of every report and of the campaign index, in the campaign's one language.

A report page is the notebook converted by nbconvert (:func:`helpers.report.notebook_to_html`), then dressed
here (:func:`dress_report`): a header (campaign title, period, data as of, generated at, run id), navigation to
every report of the campaign and back to the index, a sticky table of contents built from the page's headings,
each table in its own scrolling box, a link to the definitions page, a glossary of the statistics the report
uses (its ``glossary`` class attribute, recorded in its results file), the CSV downloads and a footer with the
kit version. The CSS (``helpers/templates/page.css``) holds the screen, phone (390 px) and print (A4) layouts;
pages stay script-free and self-contained. A table too wide for A4 portrait (:func:`print_min_width`, estimated
here since print has no script) is marked to print on an A4 landscape page.

:func:`render_table` is the one renderer of a DataFrame on a page: numbers right-aligned and formatted by
column kind, headers from the catalogue (``col.<name>``), the CSV link next to the table.

After a run, :func:`finish_pages` links each page's navigation only to the report pages that exist and writes
``definitions.html`` from ``docs/<report>.md`` (``docs/zh/<report>.md`` on a zh campaign, when translated);
:func:`index_page` builds the index (helpers/report.py ``write_index`` writes it).
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import kit_error_message
from .fmt import MISSING, NUMERIC_KINDS, column_kind, float_digits, fmt_int, format_cell
from .i18n import catalogue, close_up, current_language, full_stop, label, language, sentence_start, t

__all__ = [
    "page_meta",
    "render_table",
    "render_styler",
    "table_csv",
    "dress_report",
    "finish_pages",
    "definitions_page",
    "index_page",
    "md_inline",
    "page_css",
    "TableHTML",
]

_e = html.escape
_NAV_RE = re.compile(r'<nav class="ubk-nav"[^>]*>.*?</nav>', re.S)
_MAX_ROWS = 100


# ------------------------------------------------------------------------------------------------ context
def page_meta(cfg: Any, names: Sequence[str], *, run_id: str | None = None) -> dict:
    """What every page of a campaign's run shows: plain, picklable values for the notebook workers."""
    return {
        "campaign": cfg.campaign,
        "title": cfg.title,
        "language": getattr(cfg, "language", "zh"),
        "period": cfg.period.as_meta(),
        "timezone": cfg.timezone,
        "notebooks": list(names),
        "run_id": run_id,
    }


@functools.cache
def page_css() -> str:
    """The shared stylesheet (``helpers/templates/page.css``)."""
    return Path(__file__).with_name("templates").joinpath("page.css").read_text(encoding="utf-8")


def _version() -> str:
    from . import __version__

    return str(__version__)


def _docs_dir() -> Path | None:
    from .locations import project_root

    d = project_root() / "docs"
    return d if d.is_dir() else None


def _period_text(period: dict | None, tz: str | None) -> str:
    if not period:
        return MISSING
    from .periods import period_words

    spec = t("page.spec", spec=period_words(period["spec"])) if period.get("spec") else ""
    return t("page.period_text", start=period.get("start"), end=period.get("end"), tz=tz or "", spec=spec)


def _data_as_of(root: Path) -> str | None:
    """The last event time the clean data holds (the ingest report's ``ts_max``, the latest of its tables), to the
    minute: a reader sees whether the last day is whole (23:34) or still loading (06:02, which the reports that
    leave such a day out explain). A date alone when that time is midnight (tables with dates only)."""
    try:
        ing = json.loads((root / "results" / "ingest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ends = [str(v.get("ts_max")) for v in (ing.get("tables") or {}).values() if isinstance(v, dict) and v.get("ts_max")]
    if not ends:
        return None
    last = max(ends)
    return last[:10] if last[11:19].strip(":0") == "" else last[:16]


def _read_json(p: Path) -> dict | None:
    try:
        return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None
    except (OSError, ValueError):
        return None


def report_name(name: str) -> str:
    """A report's readable name in the current language (catalogue ``report.<name>``; else the name)."""
    return label(f"report.{name}", name)


def md_inline(text: str) -> str:
    """A finding (Markdown as :func:`helpers.fmt.md_escape` leaves it) as safe inline HTML: everything escaped,
    then the kit's ``**bold**`` and ```code``` markers, backslash escapes removed."""
    out = _e(html.unescape(text), quote=False)
    out = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", out)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\\([\[\]\\*_`])", r"\1", out)


# ------------------------------------------------------------------------------------------------ tables
class TableHTML:
    """A DataFrame as shown on a report page (``_repr_html_``), and as text elsewhere."""

    def __init__(self, html_text: str, frame: pd.DataFrame):
        self.html = html_text
        self.frame = frame

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return repr(self.frame)


def render_table(df: pd.DataFrame, *, csv: str | None = None, max_rows: int = _MAX_ROWS) -> TableHTML:
    """``df`` as a page table: display headers from the catalogue (``col.<name>``), values formatted by column
    kind (whole numbers with separators, shares as %, money with 2 decimals, yes/no, "–" for missing), numbers
    right-aligned, at most ``max_rows`` rows (the note says how many the CSV has), every value escaped.
    ``csv``: the table's results file relative to the page (``results/<report>_<table>.csv``), linked under it."""
    frame = df
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
        frame = frame.reset_index()
    frame = frame.loc[:, ~pd.Index(frame.columns).duplicated()]
    cols = [str(c) if not isinstance(c, tuple) else " · ".join(map(str, c)) for c in frame.columns]
    kinds = [column_kind(c, frame.iloc[:, i]) for i, c in enumerate(cols)]
    shown = frame.head(max_rows)
    # a float column has one number of decimals for every row (helpers.fmt.float_digits)
    digits = [float_digits(shown.iloc[:, i]) if k == "float" else None for i, k in enumerate(kinds)]
    head = "".join(
        f"<th class='{'ubk-num' if k in NUMERIC_KINDS else ''}'>{_e(label(f'col.{c}', c))}</th>"
        for c, k in zip(cols, kinds, strict=True)
    )
    body = []
    for row in shown.itertuples(index=False, name=None):
        tds = []
        for v, k, d in zip(row, kinds, digits, strict=True):
            cls = "ubk-num" if k in NUMERIC_KINDS else ("ubk-text" if k == "text" else "")
            tds.append(f"<td class='{cls}'>{_e(format_cell(v, k, d))}</td>")
        body.append(f"<tr>{''.join(tds)}</tr>")
    out = (
        f"<div class='ubk-table'><div class='ubk-scroll'><table class='ubk'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>{_table_foot(len(shown), len(frame), csv)}</div>"
    )
    return TableHTML(out, df)


def render_styler(st: Any, *, csv: str | None = None) -> TableHTML:
    """A pandas Styler (:func:`helpers.fmt.style_table`) as a page table: its own formats, display headers from
    the catalogue (``col.<name>``), in a scrolling box with the CSV link under it. A Styler cut to its first rows
    (``style_table(max_rows=...)``) gets the note of :func:`render_table`'s cut tables: how many rows of how many."""
    own = getattr(st, "ubk_headers", {})  # style_table(headers=...): the report's own headers
    full = getattr(st, "ubk_full", None)  # style_table(max_rows=...): the whole table, of which st shows the first rows
    # the callable gets the escaped column name; what it returns is not escaped again
    st = st.format_index(lambda c: _e(own[c]) if c in own else label(f"col.{c}", str(c)), axis="columns", escape="html")
    st = st.set_table_attributes('class="ubk-styled"')
    data = st.data
    kinds = {c: column_kind(str(c), data[c]) for c in data.columns}
    nums = [c for c in data.columns if kinds[c] in NUMERIC_KINDS]
    texts = [c for c in data.columns if kinds[c] == "text"]
    # long text wraps in its column (an action, a review), as in render_table's tables
    if texts and data.columns.is_unique and data.index.is_unique:
        cls = pd.DataFrame("", index=data.index, columns=data.columns)
        cls[texts] = "ubk-text"
        st = st.set_td_classes(cls)
    if nums and data.columns.is_unique:
        st = st.set_properties(subset=nums, **{"text-align": "right", "font-variant-numeric": "tabular-nums"})
        at = [list(data.columns).index(c) for c in nums]
        st = st.set_table_styles(
            [{"selector": f"th.col{i}", "props": "text-align: right"} for i in at], overwrite=False
        )
    return TableHTML(
        f"<div class='ubk-table'><div class='ubk-scroll'>{st.to_html()}</div>"
        f"{_table_foot(len(data), len(full) if full is not None else len(data), csv)}</div>",
        full if full is not None else data,
    )


def _table_foot(shown: int, total: int, csv: str | None) -> str:
    """Under a page table: "显示前 {shown} 行，共 {total} 行" when it was cut, and the link to its CSV."""
    foot = []
    if total > shown:
        foot.append(f"<span>{_e(t('page.rows_shown', shown=fmt_int(shown), total=fmt_int(total)))}</span>")
    if csv:
        foot.append(f"<a class='ubk-csv' href='{_e(csv)}'>{_e(t('page.csv'))}</a>")
    return f"<div class='ubk-table-foot'>{''.join(foot)}</div>" if foot else ""


def table_csv(rep: Any, obj: Any) -> str | None:
    """The results CSV of ``obj`` (a DataFrame or a Styler of one) when it is one of ``rep.tables()`` or a view
    of one (the same rows, some of its columns), relative to the page. A Styler cut to its first rows
    (``style_table(max_rows=...)``) is matched by the whole table it shows the first rows of."""
    if type(obj).__name__ == "Styler":
        full = getattr(obj, "ubk_full", None)
        obj = full if full is not None else getattr(obj, "data", obj)
    if not isinstance(obj, pd.DataFrame):
        return None
    try:
        tables = rep.tables() or {}
    except Exception:  # a table that cannot be built is the report's problem, not the page's
        return None
    frames = {n: f for n, f in tables.items() if isinstance(f, pd.DataFrame)}
    for name, frame in frames.items():  # the very table
        if frame is obj or (
            frame.shape == obj.shape and list(frame.columns) == list(obj.columns) and frame.equals(obj)
        ):
            return f"results/{rep.name}_{name}.csv"
    for name, frame in frames.items():  # a view of it: the same rows, some of its columns (display names mapped)
        if len(frame) == len(obj) and len(obj.columns) and set(map(str, obj.columns)) <= set(map(str, frame.columns)):
            return f"results/{rep.name}_{name}.csv"
    return None


# ------------------------------------------------------------------------------------------------ report page
def _headings(body: str) -> tuple[str, list[tuple[int, str, str]]]:
    """Give every heading a stable id (the key findings: ``findings``); return the body and (level, id, text)."""
    findings = {t("key_findings", lang=lang) for lang in ("zh", "en")}
    toc: list[tuple[int, str, str]] = []
    used: set[str] = set()

    def one(m: re.Match) -> str:
        level, inner = int(m.group(1)), m.group(3)
        inner = re.sub(r'<a class="anchor-link"[^>]*>.*?</a>', "", inner, flags=re.S)
        text = re.sub(r"<[^>]+>", "", inner).strip()
        hid = "findings" if html.unescape(text) in findings and "findings" not in used else f"sec-{len(toc) + 1}"
        used.add(hid)
        toc.append((level, hid, text))
        return f'<h{level} id="{hid}">{inner}</h{level}>'

    body = re.sub(r"<h([1-4])\b([^>]*)>(.*?)</h\1>", one, body, flags=re.S)
    return body, toc


def _toc(toc: list[tuple[int, str, str]]) -> str:
    items = "".join(
        f"<li class='ubk-l{max(2, lvl)}'><a href='#{hid}'>{text}</a></li>" for lvl, hid, text in toc if lvl <= 3
    )
    return f"<nav class='ubk-toc' aria-label='toc'><h2>{_e(t('page.contents'))}</h2><ol>{items}</ol></nav>"


def _nav(names: Iterable[str], here: str | None, root: Path | None, *, exists: bool = False) -> str:
    """Links to the index and every report; with ``exists``, only pages found in ``root`` are links."""
    parts = [f"<a href='index.html'>← {_e(t('page.index'))}</a>"]
    for n in names:
        text = _e(report_name(n))
        if n == here:
            parts.append(f"<span class='ubk-here' aria-current='page'>{text}</span>")
        elif exists and root is not None and not (root / f"{n}.html").exists():
            parts.append(f"<span class='ubk-missing'>{text}</span>")
        else:
            parts.append(f"<a href='{_e(n)}.html'>{text}</a>")
    return f'<nav class="ubk-nav" aria-label="{_e(t("page.reports"))}">{"".join(parts)}</nav>'


def _glossary(terms: Iterable[str]) -> str:
    items = []
    for term in terms:
        text = label(f"glossary.{term}", "")
        if not text:
            continue
        head, sep, rest = _split_term(text)
        items.append(f"<dt>{_e(head)}</dt><dd>{_e(rest)}</dd>" if sep else f"<dd>{_e(text)}</dd>")
    if not items:
        return ""
    return (
        f"<section class='ubk-section ubk-glossary'><h2 id='glossary'>{_e(t('page.glossary'))}</h2>"
        f"<dl>{''.join(items)}</dl></section>"
    )


def _split_term(text: str) -> tuple[str, str, str]:
    m = re.match(r"(.{1,40}?)(：|: )(.*)", text, flags=re.S)
    return (m.group(1), m.group(2), m.group(3)) if m else (text, "", "")


def _header(meta: dict, name: str | None, res: dict | None, root: Path, heading: str) -> str:
    run_id = (res or {}).get("run_id") or meta.get("run_id") or MISSING
    generated = (res or {}).get("generated_at") or dt.datetime.now().isoformat(timespec="seconds")
    period = (res or {}).get("period")
    if not isinstance(period, dict):  # none, or a retention results file written before its key became cohort_period
        period = meta.get("period")
    as_of = _data_as_of(root) or (period or {}).get("end") or MISSING
    fields = [
        (t("page.campaign"), meta.get("campaign") or MISSING),
        (t("page.period"), _period_text(period, meta.get("timezone"))),
        (t("page.data_as_of"), as_of),
        (t("page.generated_at"), str(generated).replace("T", " ")[:16]),
        (t("page.run_id"), run_id),
    ]
    sep = _e(t("label_sep"))
    meta_html = "".join(f"<li>{_e(k)}{sep}<b>{_e(str(v))}</b></li>" for k, v in fields)
    names = meta.get("notebooks") or ([name] if name else [])
    return (
        f"<header class='ubk-header'><p class='ubk-campaign'>{_e(str(meta.get('title') or ''))}</p>"
        f"<h1>{_e(heading)}</h1><ul class='ubk-meta'>{meta_html}</ul>{_nav(names, name, root)}</header>"
    )


def _footer(run_id: str | None) -> str:
    text = t("page.footer", version=_version(), run=run_id) if run_id else t("page.footer_kit", version=_version())
    return f"<footer class='ubk-footer'>{_e(text)}</footer>"


def _wrap_tables(body: str) -> str:
    """Every table not drawn by :func:`render_table` (Styler, plain HTML) in its own scrolling box."""
    return re.sub(
        r"(<table\b(?![^>]*class=['\"]ubk)[^>]*>.*?</table>)",
        r"<div class='ubk-scroll'>\1</div>",
        body,
        flags=re.S,
    )


#: printed width (CSS px) of a page's content, A4 less 12 mm margins each side (templates/page.css ``@page``)
PRINT_WIDTH = {"portrait": (210 - 24) / 25.4 * 96, "landscape": (297 - 24) / 25.4 * 96}
_PRINT_EM = 8 / 72 * 96  # the print font of tables (8pt) in px; .ubk-xwide prints smaller and wraps anywhere
_WIDE_CHAR = r"\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
_NUMERIC = re.compile(r"^[-+−]?[\d.,%¥$€£ ]*\d[\d.,%¥$€£ ]*[A-Za-z%]{0,3}$")


def print_min_width(table_html: str) -> float:
    """Estimated narrowest printed width (px) of a table: per column its longest unbreakable run (a number whole,
    text broken at spaces and between CJK characters; CJK 1 em, other characters 0.6 em) plus cell padding."""
    cols: dict[int, float] = {}
    for row in re.findall(r"<tr\b[^>]*>(.*?)</tr>", table_html, flags=re.S):
        for i, (attrs, inner) in enumerate(re.findall(r"<t[hd]\b([^>]*)>(.*?)</t[hd]>", row, flags=re.S)):
            if re.search(r"colspan=['\"]?[2-9]", attrs):
                continue
            text = html.unescape(re.sub(r"<[^>]+>", " ", inner)).strip()
            whole = "ubk-num" in attrs or bool(_NUMERIC.match(text))
            runs = [text] if whole else re.findall(rf"[{_WIDE_CHAR}]|[^\s{_WIDE_CHAR}]+", text)
            em = max((sum(1.0 if re.match(f"[{_WIDE_CHAR}]", c) else 0.6 for c in r) for r in runs), default=0.0)
            cols[i] = max(cols.get(i, 0.0), em * _PRINT_EM + 11)  # .3rem padding each side and a 1 px border
    return sum(cols.values())


def _mark_wide(body: str) -> str:
    """Tables too wide for A4 portrait print on landscape pages (``ubk-wide``: CSS named page ``wide``); those too
    wide even for landscape also print smaller and wrap anywhere (``ubk-xwide``). The screen layout is unchanged."""

    def one(m: re.Match) -> str:
        w = print_min_width(m.group(3))
        if w <= 0.92 * PRINT_WIDTH["portrait"]:
            return m.group(0)
        cls = "ubk-scroll ubk-wide" + (" ubk-xwide" if w > 0.92 * PRINT_WIDTH["landscape"] else "")
        return f"<div class={m.group(2)}{cls}{m.group(2)}>{m.group(3)}"

    return re.sub(r"(<div class=(['\"])ubk-scroll\2>)(.*?</table>)", one, body, flags=re.S)


def _link_docs(body: str, has_defs: bool) -> str:
    """``docs/<x>.md`` mentioned on the page: a link to its section of the definitions page shipped alongside."""
    if not has_defs:
        return body
    docs = _docs_dir()
    return _link_doc_mentions(
        body, lambda stem: docs is not None and (docs / f"{stem}.md").exists(), "definitions.html"
    )


#: an existing link (kept as is), or a mention of ``docs/<x>.md`` in a code span or in plain text
_DOC_MENTION = re.compile(r"(<a\b.*?</a>)|(<code>)?docs/([\w-]+)\.md(?(2)</code>)|(<[^>]*>)", re.S)


def _link_doc_mentions(body: str, known: Any, page: str) -> str:
    """Every mention of ``docs/<x>.md`` in ``body`` (a code span or plain text, not inside a link or a tag) as a
    link to ``<page>#def-<x>`` when ``known(x)``."""

    def one(m: re.Match) -> str:
        if m.group(1) or m.group(4) or not known(m.group(3)):
            return m.group(0)
        return f"<a href='{page}#def-{_e(m.group(3))}'>{m.group(0)}</a>"

    return _DOC_MENTION.sub(one, body)


def _dead_csv_links(body: str, root: Path) -> str:
    """A CSV link whose file does not exist (the report failed before saving) becomes plain text."""

    def one(m: re.Match) -> str:
        return m.group(0) if (root / html.unescape(m.group(2))).exists() else f"<span>{m.group(3)}</span>"

    return re.sub(r"<a class=['\"]ubk-csv['\"] href=(['\"])(results/[^'\"]+)\1>(.*?)</a>", one, body)


def dress_report(page: str, out_html: str | Path, meta: dict | None = None) -> str:
    """Put a converted notebook page (nbconvert HTML) into the shared template; see the module docstring."""
    out = Path(out_html)
    root, name = out.parent, out.stem
    meta = dict(meta or {})
    res = _read_json(root / "results" / f"{name}.json")
    if res and meta.get("run_id") and res.get("run_id") != meta["run_id"]:
        res = None  # an earlier run's results: not this page's
    with language(meta.get("language") or current_language()):
        meta.setdefault("campaign", (res or {}).get("campaign"))
        meta.setdefault("title", (res or {}).get("title"))
        m = re.search(r"(<body[^>]*>)(.*)(</body>)", page, flags=re.S)
        if not m:
            return page
        body, toc = _headings(re.sub(r'<p class="ubk-nbheader">.*?</p>', "", m.group(2), flags=re.S))
        docs = _docs_dir()
        has_defs = docs is not None and (docs / f"{name}.md").exists()
        body = _dead_csv_links(_link_docs(_mark_wide(_wrap_tables(body)), True), root)
        extra = []
        if has_defs:
            href = f"definitions.html#def-{_e(name)}"
            extra.append(f"<p class='ubk-section'><a href='{href}'>{_e(t('page.definitions_of'))}</a></p>")
        glossary = _glossary((res or {}).get("glossary") or ())
        if glossary:
            extra.append(glossary)
            toc.append((2, "glossary", _e(t("page.glossary"))))
        csvs = [c for c in ((res or {}).get("csv") or {}).items() if (root / "results" / c[1]).exists()]
        if csvs:
            links = "".join(
                f"<li><a href='results/{_e(f)}'>{_e(t('page.csv_of', table=label(f'table.{name}.{tb}', tb)))}</a></li>"
                for tb, f in csvs
            )
            head = f"<h2 id='downloads'>{_e(t('page.downloads'))}</h2>"
            extra.append(f"<section class='ubk-section'>{head}<ul>{links}</ul></section>")
            toc.append((2, "downloads", _e(t("page.downloads"))))
        run_id = (res or {}).get("run_id") or meta.get("run_id")
        new_body = (
            _header(meta, name, res, root, report_name(name))
            + f"<div class='ubk-layout'>{_toc(toc)}<div class='ubk-content'>{body}{''.join(extra)}</div></div>"
            + _footer(run_id)
        )
        lang = "zh-CN" if (meta.get("language") or current_language()) == "zh" else "en"
    head_open = re.sub(r"<html[^>]*>", f'<html lang="{lang}">', page[: m.start()], count=1)
    body_tag = re.sub(r"class=\"([^\"]*)\"", r'class="\1 ubk-page"', m.group(1), count=1)
    if "ubk-page" not in body_tag:
        body_tag = body_tag[:-1] + ' class="ubk-page">'
    css = f"<style>{page_css()}</style>"
    head_open = head_open.replace("</head>", css + "</head>", 1) if "</head>" in head_open else head_open + css
    return head_open + body_tag + new_body + m.group(3) + page[m.end() :]


# ------------------------------------------------------------------------------------------------ after a run
def finish_pages(
    root: Path, lang: str, names: Sequence[str], *, title: str | None = None
) -> tuple[dict[Path, str], str | None]:
    """After a run: the report pages whose navigation changes (to link only the pages that exist), as
    ``{path: new text}``, and the text of ``definitions.html`` (:func:`definitions_page`; None without docs) for
    the campaign titled ``title``. ``helpers.report.write_index`` writes them."""
    cited: set[str] = set()
    pages: dict[Path, str] = {}
    with language(lang):
        for n in names:
            p = root / f"{n}.html"
            if not p.exists():
                continue
            text = p.read_text(encoding="utf-8")
            nav = _nav(names, n, root, exists=True)
            new = _NAV_RE.sub(lambda _m: nav, text, count=1)  # noqa: B023 (used at once)
            if new != text:
                pages[p] = new
            cited.update(re.findall(r"definitions\.html#def-([\w-]+)", new))
        return pages, definitions_page(root, names, cited=sorted(cited), title=title)


def definitions_page(
    root: Path, names: Sequence[str], *, cited: Sequence[str] = (), title: str | None = None
) -> str | None:
    """The text of ``definitions.html``: ``docs/<report>.md`` of each report and the other docs its pages cite
    (``cited``), as HTML (raw HTML in them escaped), one section each (``#def-<doc>``); links between docs become
    links within the page. ``title``: the campaign's, above the heading and in the browser tab as on the report
    pages ("指标定义 · 演示电商活动")."""
    import mistune

    docs = _docs_dir()
    if docs is None:
        return None
    have = [n for n in dict.fromkeys([*names, *cited]) if (docs / f"{n}.md").exists()]
    if not have:
        return None
    md = mistune.create_markdown(escape=True, plugins=["table", "strikethrough"])
    sections = []
    for n in have:
        src = _doc_path(docs, n)
        body = str(md(src.read_text(encoding="utf-8")))
        if src.parent == docs and current_language() != "en":
            body = f"<p class='ubk-missing'>{_e(t('page.definitions_untranslated'))}</p>{body}"
        body = re.sub(r"<h([1-6])>", lambda m: f"<h{min(6, int(m.group(1)) + 1)}>", body)
        body = re.sub(r"</h([1-6])>", lambda m: f"</h{min(6, int(m.group(1)) + 1)}>", body)
        body = _fold_for_analysts(body, docs / f"{n}.md")
        body = _link_doc_mentions(_doc_links(body, set(have)), set(have).__contains__, "")
        sections.append(f"<section id='def-{_e(n)}'><h2>{_e(_doc_title(docs, n))}</h2>{_wrap_tables(body)}</section>")
    toc = "".join(f"<li><a href='#def-{_e(n)}'>{_e(_doc_title(docs, n))}</a></li>" for n in have)
    heading = t("page.definitions")
    tab = t("page.definitions_title", title=title) if title else heading
    campaign = f"<p class='ubk-campaign'>{_e(title)}</p>" if title else ""
    page = (
        f'<!DOCTYPE html><html lang="{"zh-CN" if current_language() == "zh" else "en"}"><head><meta charset="utf-8">'
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{_e(tab)}</title>"
        f"<style>{page_css()}</style></head><body class='ubk-page'>"
        f"<header class='ubk-header'>{campaign}<h1>{_e(heading)}</h1>"
        f"<p class='ubk-campaign'>{_e(t('page.definitions_note'))}</p>"
        f"{_nav(names, None, root, exists=True)}</header>"
        f"<div class='ubk-layout'><nav class='ubk-toc' aria-label='toc'><h2>{_e(t('page.contents'))}</h2><ol>{toc}</ol>"
        f"</nav><div class='ubk-content ubk-defs'>{''.join(sections)}</div></div>{_footer(None)}</body></html>"
    )
    return page


#: a doc's sections written for analysts rather than readers of the numbers: how the kit computes them, its engines
#: and timings, params, results files and parts, the demo data. Matched on the English doc's ``## `` headings; a
#: translated doc has the same headings in the same order (tests/test_docs_zh.py), so one list serves both.
ANALYST_SECTION = re.compile(
    r"(How it is computed|Engine|Reading|Spark ingest|Performance|Measured|Params|Parameters"
    r"|results/|Results|Parts|Report(?! tables)|Demo|The demo|Campaigns)\b"
)


def doc_headings(doc: Path) -> list[str]:
    """The ``## `` headings of ``doc`` in order (headings inside code blocks do not count)."""
    text = re.sub(r"^```.*?^```", "", doc.read_text(encoding="utf-8"), flags=re.S | re.M)
    return [line[3:].strip() for line in text.splitlines() if line.startswith("## ")]


def analyst_sections(doc: Path) -> list[int]:
    """The positions (0 = the first ``## `` heading) of ``doc``'s sections for analysts (:data:`ANALYST_SECTION`)."""
    return [i for i, h in enumerate(doc_headings(doc)) if ANALYST_SECTION.match(h)]


def _fold_for_analysts(body: str, doc: Path) -> str:
    """The sections of ``doc`` for analysts (:func:`analyst_sections`; its ``## `` headings are ``<h3>`` in
    ``body``), each folded in a closed ``<details>`` headed by its title and "for analysts": a reader sees the rules
    first, an analyst opens the rest. Nothing is folded when the page's headings do not line up with the doc's."""
    parts = re.split(r"(?=<h3>)", body)
    folded = analyst_sections(doc)
    if not folded or len(parts) - 1 != len(doc_headings(doc)):
        return body
    tag = f"<span class='ubk-analyst-tag'>{_e(t('page.for_analysts'))}</span>"
    for i in folded:
        head = re.match(r"(<h3>.*?</h3>)(.*)", parts[i + 1], flags=re.S)
        if head:
            parts[i + 1] = (
                f"<details class='ubk-analyst'><summary>{head.group(1)} {tag}</summary>{head.group(2)}</details>"
            )
    return "".join(parts)


def _doc_path(docs: Path, stem: str) -> Path:
    """``docs/<lang>/<stem>.md`` in the campaign's language when translated (docs/zh mirrors docs/), else
    ``docs/<stem>.md``."""
    local = docs / current_language() / f"{stem}.md"
    return local if current_language() != "en" and local.exists() else docs / f"{stem}.md"


def _doc_title(docs: Path, stem: str) -> str:
    """A report's readable name; for another doc, its first heading without the parenthesis naming its code."""
    if f"report.{stem}" in catalogue():
        return report_name(stem)
    for line in _doc_path(docs, stem).read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return re.sub(r"\s*[(（][^()（）]*`[^()（）]*[)）]\s*$", "", line[2:].strip()) or stem
    return stem


def _doc_links(body: str, have: set[str]) -> str:
    """Links in the docs: to another doc -> its section here; web links kept; other relative links dropped."""

    def one(m: re.Match) -> str:
        href, text = html.unescape(m.group(1)), m.group(2)
        if re.match(r"https?://", href):
            return f"<a href='{_e(href)}'>{text}</a>"
        stem = re.match(r"(?:\./)?([\w-]+)\.md(#[\w-]*)?$", href)
        if stem and stem.group(1) in have:
            return f"<a href='#def-{_e(stem.group(1))}'>{text}</a>"
        if href.startswith("#"):
            return text
        return text

    return re.sub(r'<a href="([^"]*)"[^>]*>(.*?)</a>', one, body, flags=re.S)


# ------------------------------------------------------------------------------------------------ index
def index_page(
    root: Path, cfg: Any, statuses: list[dict], *, run_id: str | None = None, changed: tuple[dict, str] = ({}, "")
) -> str:
    """The campaign index: header, the top finding of each report ("what to act on"), one row per report with
    its readable name, status (the reason when it could not compute) and headline numbers with their change
    against the previous run, what changed, and links to the results files and definitions. ``changed``: the
    changes by (report, label) and the "what changed" section (``helpers.report._what_changed``)."""

    lang = getattr(cfg, "language", "zh")
    names = [s["notebook"] for s in statuses]
    with language(lang):
        changes, what_changed = changed
        meta = page_meta(cfg, names, run_id=run_id)
        acts, rows = [], []
        for st in statuses:
            nb = st["notebook"]
            res = _current_results(root, st)
            name = _e(report_name(nb))
            if res and res.get("available", True) is not False and res.get("findings"):
                top = res.get("lead") or res["findings"][0]  # results files before "lead" (2026-12-04): the first
                sep = _e(t("label_sep"))
                acts.append(f"<li><a href='{_e(nb)}.html#findings'>{name}</a>{sep}{md_inline(str(top))}</li>")
            rows.append(_index_row(root, st, res, changes))
        acts_html = "".join(acts) or f"<li>{_e(t('index.no_findings'))}</li>"
        header = _header(meta, None, None, root, str(cfg.title))
        header = _NAV_RE.sub("", header)  # the index lists every report below
        header = re.sub(r"<p class='ubk-campaign'>.*?</p>", "", header, count=1)
        defs = (root / "definitions.html").exists()
        files = _e(t("index.files", results="results/")).replace("results/", "<a href='results/'>results/</a>", 1)
        defs_link = f" · <a href='definitions.html'>{_e(t('page.definitions'))}</a>" if defs else ""
        body = (
            f"{header}<main class='ubk-index-main'><p>{_e(close_up(cfg.description or ''))}</p>"
            f"<section><h2 id='act-on'>{_e(t('index.act_on'))}</h2><p class='earlier'>{_e(t('index.act_on_note'))}</p>"
            f"<ul class='ubk-acts'>{acts_html}</ul></section>"
            f"<section><h2 id='reports'>{_e(t('index.reports'))}</h2>"
            f"<div class='ubk-scroll ubk-index'><table class='ubk'>"
            f"<thead><tr><th>{_e(t('index.col_report'))}</th><th>{_e(t('index.col_status'))}</th>"
            f"<th>{_e(t('index.col_headline'))}</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div></section>"
            f"{what_changed}<p class='earlier'>{files}{defs_link}</p></main>{_footer(run_id)}"
        )
        return (
            f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{_e(str(cfg.title))} · ubakit"
            f"</title><style>{page_css()}</style></head><body class='ubk-page'>{body}</body></html>"
        )


def _current_results(root: Path, st: dict) -> dict | None:
    """The results of a report that completed, only when they are the run the status records."""
    if st["status"] not in ("ok", "up-to-date"):
        return None
    res = _read_json(root / "results" / f"{st['notebook']}.json")
    if res is None or (st.get("run_id") and res.get("run_id") != st["run_id"]):
        return None
    return res


def _index_error(status: str, error: str | None) -> str:
    """The note under a report's row: why it could not compute (the report's own words, in the campaign's language),
    or, for a failure, a sentence in the campaign's language with the technical line (an exception, in English)
    folded away for the analyst."""
    if not error:
        return ""
    if status == "unavailable":  # a sentence in the row's cell: "The period is only …" (a params key stays as is)
        return f"<div class='why'>{_e(sentence_start(full_stop(error)))}</div>"
    skipped = status == "skipped"
    lead = t("index.skipped_lead") if skipped else t("index.failed_lead")
    cls = "why-skipped" if skipped else "why-failed"  # the colour of the row's status, not an unavailable's purple
    why = None if skipped else kit_error_message(error)  # the kit's own errors say what to fix: shown
    return (
        f"<div class='{cls}'>{_e(lead)}</div>"
        + (f"<div class='ubk-failed-why'>{_e(why)}</div>" if why else "")
        + f"<details class='err'><summary>{_e(t('index.error_details'))}</summary>{_e(error)}</details>"
    )


def _index_row(root: Path, st: dict, res: dict | None, changes: dict) -> str:
    nb, status = st["notebook"], st["status"]
    cls = "ok" if status in ("ok", "up-to-date") else status
    name = _e(report_name(nb))
    link = f"<a href='{_e(nb)}.html'>{name}</a>" if (root / f"{nb}.html").exists() else name
    heads = ""
    if res:

        def vs(lab: str) -> str:
            c = changes.get((nb, lab))
            return f"<span class='chg'>{_e(t('aside', text=t('index.vs_last', change=c)))}</span>" if c else ""

        items = [(str(h.get("label")), str(h.get("text"))) for h in res.get("headline", [])]
        sep = _e(t("label_sep"))
        # a label starts as a list item does in English ("Groups (k)"); the results keep it as written (the
        # changes against earlier runs are found by it)
        heads = "".join(
            f"<li>{_e(sentence_start(lab))}{sep}<b class='ubk-num'>{_e(txt)}</b>{vs(lab)}</li>" for lab, txt in items
        )
        heads = f"<ul>{heads}</ul>"
    err = _index_error(status, st.get("error"))
    earlier = f" <span class='earlier'>· {_e(t('index.earlier'))}</span>" if st.get("earlier") else ""
    status_text = label(f"index.status.{status}", status)
    return (
        f"<tr><td>{link}</td><td class='{_e(cls)}'><span class='ubk-status-{_e(cls)}'>{_e(status_text)}</span>{earlier}"
        f"</td><td>{heads}{err}</td></tr>"
    )
