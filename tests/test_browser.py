"""The demo reports in a real browser (issue 18): headless Chromium over the DevTools protocol (tests/cdp.py).

One demo run in Chinese (the default) and one in English (``language: en`` in a copy of params/demo.yaml), each
made once per session with ``python -m helpers run``. Every report page and the index is loaded at 1,400 and
390 px wide and checked for: no horizontal page overflow (a table may scroll inside its own box), no console
error, no network request but the file itself and ``data:`` URIs, no character missing from the embedded CJK
font, links and CSV links that resolve, charts not shrunk below their own width at 390 px (their texts stay at
least 8 px: tests/test_chart_text.py), a PDF from ``Page.printToPDF``, and in print media no table wider than its
page (A4 portrait, or A4 landscape for a table helpers/page.py marks ``ubk-wide``; the PDF then has a landscape
page). The Chinese run has no English sentence in any page; the English run no Chinese heading or sentence.
The screen and print checks also run on one run each of the Taobao and Online Retail campaigns (real samples in
../shared/data; skipped when absent).

Skipped when no Chromium is installed (``make test`` installs Debian's ``chromium`` when it runs as root:
.ci/ensure-chromium). ``UBAKIT_BROWSER_REPORTS=<dir>`` reuses the reports of an earlier run
(``<dir>/demo/``, ``<dir>/en/demo/``, ``<dir>/taobao/``, ``<dir>/online_retail/``) instead of running them
again. Each failure names the page, the element and its text.

Checks that fail because another part of issue 18 has not landed yet are marked ``xfail(strict=False)`` in
:data:`PENDING` with the helper that owns the fix; remove an entry once its check passes (it shows as XPASS).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import urllib.parse
from pathlib import Path

import pytest

from helpers.page import PRINT_WIDTH
from tests.cdp import CDPError, Chromium, find_chromium
from tests.conftest import RETAIL, TAOBAO, _run_demo, english_copy, need

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = find_chromium()
WIDTHS = (1400, 390)
#: the printed content width (px) of A4 portrait and landscape pages (helpers/templates/page.css ``@page``)
A4_PORTRAIT, A4_LANDSCAPE = (int(PRINT_WIDTH[k]) for k in ("portrait", "landscape"))
#: a chart image is never shown narrower than this (or its own width) at phone width: its texts stay >= 8 px
CHART_MIN_PX = 1000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),  # one worker: one demo run, one browser
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (as root: .ci/ensure-chromium installs it)"),
]


def _demo_pages() -> list[str]:
    from helpers.params import available_notebooks, load_params

    cfg = load_params(ROOT / "params" / "demo.yaml")
    return ["index", *cfg.run_notebooks(available_notebooks(ROOT / "notebooks"))]


PAGES = _demo_pages()

#: (check, page) pairs known to fail (issue 18, still open); value: what is left. Remove an entry when its check
#: passes (it then shows as XPASS in the summary).
PENDING: dict[tuple[str, str], str] = {}


def _params(check: str, pages: list[str], extra: tuple = ()) -> list:
    out = []
    for page in pages:
        for ex in extra or (None,):
            args = (page,) if ex is None else (page, ex)
            why = PENDING.get((check, page))
            marks = [pytest.mark.xfail(reason=why, strict=False)] if why else []
            out.append(pytest.param(*args, marks=marks, id=f"{page}" + ("" if ex is None else f"-{ex}")))
    return out


# ------------------------------------------------------------------------------------------------ fixtures
# demo_root and en_root, the Chinese and English demo runs, are tests/conftest.py's: tests/test_page_language.py
# reads the same runs (both in xdist group "browser", so one worker makes each run once)
@pytest.fixture(scope="session")
def browser():
    try:
        b = Chromium(CHROMIUM)
    except CDPError as e:  # e.g. a distribution's stub that points at a snap which cannot run here
        pytest.skip(f"{CHROMIUM} did not start: {e}")
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="session")
def tab(browser):
    return browser.tab()


def _page_file(root: Path, page: str) -> Path:
    f = root / f"{page}.html"
    if not f.exists():
        pytest.fail(f"{page}: {f.name} was not written by the demo run (see {root / 'index.html'})")
    return f


_cache: dict[tuple, dict] = {}


def _measure(tab, root: Path, page: str, width: int) -> dict:
    """Load ``page`` at ``width`` and measure everything the screen checks need (cached per page and width)."""
    key = (str(root), page, width)
    if key not in _cache:
        f = _page_file(root, page)
        out = tab.load(f, width)
        out.update(tab.eval(_SCREEN_JS))
        _cache[key] = out
        tab.current = key
    return _cache[key]


def _open(tab, root: Path, page: str) -> None:
    """Make ``page`` the tab's page at the first width (for checks that evaluate in the page)."""
    key = (str(root), page, WIDTHS[0])
    if getattr(tab, "current", None) != key:
        _cache.pop(key, None)
        _measure(tab, root, page, WIDTHS[0])


# ------------------------------------------------------------------------------------------------ in-page JS
_DESCRIBE = r"""
const describe = (el) => {
  let s = el.tagName.toLowerCase();
  if (el.id) s += '#' + el.id;
  const cls = (el.getAttribute('class') || '').trim().split(/\s+/).filter(Boolean).slice(0, 3);
  if (cls.length) s += '.' + cls.join('.');
  const txt = (el.innerText ?? el.textContent ?? '').trim().replace(/\s+/g, ' ').slice(0, 80);
  return s + (txt ? ` "${txt}"` : '');
};
"""

_SCREEN_JS = (
    "(() => {"
    + _DESCRIBE
    + r"""
const W = window.innerWidth, doc = document.documentElement;
const clipped = (el) => {
  for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    const o = getComputedStyle(p).overflowX;
    if (o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip') return true;
  }
  return false;
};
const wide = [];
if (doc.scrollWidth > W) {
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > W + 1 && !clipped(el) && !wide.some(w => w.el.contains(el)))
      wide.push({el, r});
  }
}
const links = [...document.querySelectorAll('a[href]')].map(a => {
  const href = a.getAttribute('href');
  let missing = false;
  if (href.startsWith('#') && href.length > 1) {
    // as browsers do: the fragment as written first, then percent-decoded
    const raw = href.slice(1);
    let dec = raw;
    try { dec = decodeURIComponent(raw); } catch (e) {}
    missing = ![raw, dec].some(id => document.getElementById(id) || document.getElementsByName(id).length);
  }
  return {href, missing, el: describe(a)};
});
const charts = [...document.querySelectorAll('.jp-OutputArea-output img[width]')].map(i => ({
  natural: +i.getAttribute('width'), shown: i.getBoundingClientRect().width, el: describe(i.parentElement)}));
return {
  scroll_width: doc.scrollWidth, inner_width: W, charts,
  wide: wide.slice(0, 8).map(w => `${describe(w.el)} (right edge at ${Math.round(w.r.right)} px)`),
  links,
};
})()"""
)

_PRINT_JS = (
    "(() => {"
    + _DESCRIBE
    + r"""
return [...document.querySelectorAll('table')].map(t => ({
  width: Math.max(t.getBoundingClientRect().width, t.scrollWidth), wide: !!t.closest('.ubk-wide'),
  el: describe(t)}));
})()"""
)

_BLOCKS = "p, li, h1, h2, h3, h4, td, th, figcaption, caption, summary, dt, dd, svg text"
_TEXT_JS = (
    "(() => {"
    + _DESCRIBE
    + r"""
const sel = '"""
    + _BLOCKS
    + r"""';
return [...document.querySelectorAll(sel)]
  .filter(el => !el.closest('pre, code, script, style, .jp-CodeCell .jp-InputArea, .jp-InputPrompt'))
  .map(el => ({tag: el.tagName.toLowerCase(), text: (el.innerText ?? el.textContent ?? '').trim(), el: describe(el)}))
  .filter(b => b.text);
})()"""
)


# ------------------------------------------------------------------------------------------------ screen checks
@pytest.mark.parametrize(("page", "width"), _params("overflow", PAGES, WIDTHS))
def test_no_horizontal_page_overflow(tab, demo_root, page, width):
    m = _measure(tab, demo_root, page, width)
    assert m["scroll_width"] <= m["inner_width"], (
        f"{page} at {width} px: the page is {m['scroll_width']} px wide; wider elements (not inside a scroll box):\n  "
        + "\n  ".join(m["wide"])
    )


@pytest.mark.parametrize("page", _params("console", PAGES))
def test_no_console_error(tab, demo_root, page):
    errors = _measure(tab, demo_root, page, WIDTHS[0])["console_errors"]
    assert not errors, f"{page}: console errors:\n  " + "\n  ".join(errors)


@pytest.mark.parametrize("page", _params("network", PAGES))
def test_no_network_request(tab, demo_root, page):
    f = _page_file(demo_root, page).resolve().as_uri()
    reqs = _measure(tab, demo_root, page, WIDTHS[0])["requests"]
    other = sorted({u[:120] for u in reqs if u != f and not u.startswith("data:")})
    assert not other, f"{page}: requests other than the page itself and data: URIs:\n  " + "\n  ".join(other)


@pytest.mark.parametrize("page", _params("links", PAGES))
def test_links_resolve(tab, demo_root, page):
    f = _page_file(demo_root, page)
    bad = []
    for link in _measure(tab, demo_root, page, WIDTHS[0])["links"]:
        href = link["href"]
        scheme = urllib.parse.urlsplit(href).scheme
        if href.startswith("#"):
            if link["missing"]:
                bad.append(f"{link['el']}: no element with id {href}")
        elif scheme in ("http", "https", "mailto"):
            continue  # a reference to read, not part of the report
        elif scheme in ("", "file"):
            path = urllib.parse.unquote(urllib.parse.urlsplit(href).path)
            target = Path(path) if scheme == "file" else f.parent / path
            if not target.exists():
                bad.append(f"{link['el']}: {href} -> {target} does not exist")
        elif scheme != "data":
            bad.append(f"{link['el']}: unexpected link scheme {scheme!r}")
    assert not bad, f"{page}: broken links:\n  " + "\n  ".join(bad)


def _embedded_cmap(html: str) -> set[int] | None:
    m = re.search(r"@font-face\{font-family:'ubakit-cjk';src:url\(data:font/woff;base64,([A-Za-z0-9+/=]+)\)", html)
    if not m:
        return None
    import base64

    from fontTools.ttLib import TTFont

    return set(TTFont(io.BytesIO(base64.b64decode(m.group(1)))).getBestCmap())


@pytest.mark.parametrize("page", _params("glyphs", PAGES))
def test_no_missing_glyph(tab, demo_root, page):
    """Every CJK (and other non-Latin, U+2E80 and up) character the page shows is in its embedded font: the
    reader's machine may have no CJK font. Latin, Greek, punctuation, arrows and math signs (below U+2E80) come
    from the system fonts every browser has."""
    f = _page_file(demo_root, page)
    _open(tab, demo_root, page)
    blocks = tab.eval(_TEXT_JS) + [{"el": "document.title", "text": tab.eval("document.title")}]
    need = {ch for b in blocks for ch in b["text"] if ord(ch) >= 0x2E80 and ch not in "\ufe0e\ufe0f\u200b"}
    if not need:
        return
    cmap = _embedded_cmap(f.read_text(encoding="utf-8"))
    assert cmap is not None, f"{page}: shows CJK characters but embeds no CJK font (helpers/report.embed_cjk_font)"
    missing = sorted(ch for ch in need if ord(ch) not in cmap)
    where = [b["el"] for b in blocks if any(ch in b["text"] for ch in missing)][:5]
    assert not missing, f"{page}: characters not in the embedded font: {''.join(missing)!r}, in:\n  " + "\n  ".join(
        where
    )


# ------------------------------------------------------------------------------------------------ phone charts
@pytest.mark.parametrize("page", _params("charts", PAGES))
def test_charts_keep_their_size_at_phone_width(tab, demo_root, page):
    """At 390 px a chart is shown at its own width (at most :data:`CHART_MIN_PX`), scrolling in its box, not shrunk
    to the phone: tests/test_chart_text.py checks every chart text is at least 8 px at that width."""
    charts = _measure(tab, demo_root, page, WIDTHS[-1])["charts"]
    small = [
        f"{c['el'][:60]}: {round(c['shown'])} px of {c['natural']} px"
        for c in charts
        if c["shown"] + 1 < min(c["natural"], CHART_MIN_PX)
    ]
    assert not small, f"{page} at {WIDTHS[-1]} px: charts shrunk below their own width:\n  " + "\n  ".join(small)


# ------------------------------------------------------------------------------------------------ print
def _pdf_page_sizes(pdf: bytes) -> list[tuple[float, float]]:
    from pypdf import PdfReader

    return [(float(p.mediabox.width), float(p.mediabox.height)) for p in PdfReader(io.BytesIO(pdf)).pages]


@pytest.mark.parametrize("page", _params("print", PAGES))
def test_print_to_pdf_and_tables_fit_a4(tab, demo_root, page):
    """Printed (Chromium's print media at the A4 portrait content width), no table is wider than its page: A4
    portrait, or A4 landscape for a table marked ``ubk-wide`` (helpers/page.py), and then the PDF has a landscape
    page."""
    _open(tab, demo_root, page)
    try:
        tab.viewport(A4_PORTRAIT, 1100, media="print")
        tables = tab.eval(_PRINT_JS)
        pdf = tab.print_pdf()
    finally:
        tab.viewport(WIDTHS[0])
    assert pdf.startswith(b"%PDF-") and len(pdf) > 1000, f"{page}: Page.printToPDF gave no PDF"
    wide = [
        f"{t['el']} ({round(t['width'])} px, {'landscape' if t['wide'] else 'portrait'})"
        for t in tables
        if t["width"] > (A4_LANDSCAPE if t["wide"] else A4_PORTRAIT) + 1
    ]
    assert not wide, (
        f"{page}: tables wider than their A4 page in print ({A4_PORTRAIT} px portrait, {A4_LANDSCAPE} px landscape):"
        "\n  " + "\n  ".join(wide)
    )
    sizes = _pdf_page_sizes(pdf)
    if any(t["wide"] for t in tables):
        assert any(w > h for w, h in sizes), f"{page}: wide tables but no landscape page in the PDF ({sizes[:3]})"
    else:
        assert all(w < h for w, h in sizes), f"{page}: a landscape page without a wide table"


# ------------------------------------------------------------------------------------------------ real campaigns
def _campaign_pages(campaign: str, data: Path) -> list[str]:
    if not data.exists():
        return ["index"]
    from helpers.params import available_notebooks, load_params

    cfg = load_params(ROOT / "params" / f"{campaign}.yaml")
    return ["index", *cfg.run_notebooks(available_notebooks(ROOT / "notebooks"))]


def _english_params(campaign: str, folder: Path) -> Path:
    """A copy of params/<campaign>.yaml with ``language: en`` (its texts are given per language), in ``folder``
    (with the defaults file beside it); source paths stay relative to the project root."""
    folder.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "params" / f"{campaign}.yaml").read_text(encoding="utf-8")  # its texts given per language
    (folder / f"{campaign}.yaml").write_text(english_copy(text), encoding="utf-8")
    shutil.copy(ROOT / "params" / "_defaults.yaml", folder / "_defaults.yaml")
    return folder / f"{campaign}.yaml"


def _campaign_root(tmp_path_factory, campaign: str, language: str = "zh") -> Path:
    given = os.environ.get("UBAKIT_BROWSER_REPORTS")
    if given:
        return Path(given) / campaign if language == "zh" else Path(given) / "en" / campaign
    tmp = tmp_path_factory.mktemp(f"browser_{campaign}_{language}")
    params = ROOT / "params" / f"{campaign}.yaml"
    if language == "en":
        params = _english_params(campaign, tmp / "params")
    _run_demo(tmp / "reports", params)
    return tmp / "reports" / campaign


@pytest.fixture(scope="module")
def taobao_root(tmp_path_factory) -> Path:
    """reports/taobao of one run of params/taobao.yaml (the real Taobao sample in ../shared/data)."""
    return _campaign_root(tmp_path_factory, "taobao")


@pytest.fixture(scope="module")
def retail_root(tmp_path_factory) -> Path:
    """reports/online_retail of one run of params/online_retail.yaml (UCI Online Retail II in ../shared/data)."""
    return _campaign_root(tmp_path_factory, "online_retail")


@pytest.fixture(scope="module")
def taobao_en_root(tmp_path_factory) -> Path:
    """reports/taobao of params/taobao.yaml run with ``language: en``."""
    return _campaign_root(tmp_path_factory, "taobao", "en")


@pytest.fixture(scope="module")
def retail_en_root(tmp_path_factory) -> Path:
    """reports/online_retail of params/online_retail.yaml run with ``language: en``."""
    return _campaign_root(tmp_path_factory, "online_retail", "en")


def _all_checks(tab, root: Path, page: str, width: int) -> None:
    """The demo's checks on one page of another campaign: overflow at ``width``; at the first width also console,
    network, links, glyphs and print; at phone width chart sizes. All failures in one message."""
    checks: list = [(test_no_horizontal_page_overflow, (page, width))]
    if width == WIDTHS[0]:
        checks += [(f, (page,)) for f in (test_no_console_error, test_no_network_request, test_links_resolve)]
        checks += [(test_no_missing_glyph, (page,)), (test_print_to_pdf_and_tables_fit_a4, (page,))]
    else:
        checks.append((test_charts_keep_their_size_at_phone_width, (page,)))
    fails = []
    for fn, args in checks:
        try:
            fn(tab, root, *args)
        except AssertionError as e:
            fails.append(f"{fn.__name__}: {e}")
    assert not fails, "\n".join(fails)


@need(TAOBAO)
@pytest.mark.parametrize(("page", "width"), _params("taobao", _campaign_pages("taobao", TAOBAO), WIDTHS))
def test_taobao_campaign_in_the_browser(tab, taobao_root, page, width):
    _all_checks(tab, taobao_root, page, width)


@need(RETAIL)
@pytest.mark.parametrize(("page", "width"), _params("retail", _campaign_pages("online_retail", RETAIL), WIDTHS))
def test_online_retail_campaign_in_the_browser(tab, retail_root, page, width):
    _all_checks(tab, retail_root, page, width)


@need(TAOBAO)
@pytest.mark.parametrize(("page", "width"), _params("taobao_en", _campaign_pages("taobao", TAOBAO), WIDTHS))
def test_taobao_campaign_in_english_in_the_browser(tab, taobao_en_root, page, width):
    _all_checks(tab, taobao_en_root, page, width)
    if width == WIDTHS[0]:
        _no_chinese_text(tab, taobao_en_root, page)


@need(RETAIL)
@pytest.mark.parametrize(("page", "width"), _params("retail_en", _campaign_pages("online_retail", RETAIL), WIDTHS))
def test_online_retail_campaign_in_english_in_the_browser(tab, retail_en_root, page, width):
    _all_checks(tab, retail_en_root, page, width)
    if width == WIDTHS[0]:
        _no_chinese_text(tab, retail_en_root, page)


@need(TAOBAO)
@pytest.mark.parametrize("page", _params("taobao_zh", _campaign_pages("taobao", TAOBAO)))
def test_taobao_campaign_has_no_english_sentence(tab, taobao_root, page):
    _no_english_sentence(tab, taobao_root, page)


@need(RETAIL)
@pytest.mark.parametrize("page", _params("retail_zh", _campaign_pages("online_retail", RETAIL)))
def test_online_retail_campaign_has_no_english_sentence(tab, retail_root, page):
    _no_english_sentence(tab, retail_root, page)


# ------------------------------------------------------------------------------------------------ language
#: Latin words a Chinese page may show: units, metric abbreviations, statistics symbols, file types.
#: All-capital words (GMV, DAU, ARPU, CI, SRM, CUPED, RFM, CSV, ...) are abbreviations and always allowed.
ALLOWED_WORDS = {"p", "n", "pp", "x", "vs", "ms", "s", "min", "h", "d", "kg", "km", "log", "z", "t", "e", "auc"}
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CODE = re.compile(
    r"https?://\S+|[\w.-]+\.(?:csv|html|yaml|json|parquet|ipynb|pdf|png)\b"  # URLs and file names
    r"|\b\w*(?:_\w*)+\b|\b\w*\d\w*\b"  # code names: snake_case, words with digits
    r"|\b[a-z]+[A-Z]\w*\b"  # camelCase
)
_WORD_RUN = re.compile(r"[A-Za-z][A-Za-z'’-]*(?: [A-Za-z][A-Za-z'’-]*){2,}")


class DataValues:
    """What the demo's data and params say, which a page may quote in any language: the string values of the
    clean tables (``<run>/data/*.parquet``: event codes, channels, categories, review texts, ...) and of the
    campaign's YAML files (labels, tracking-plan display names, audiences). Not a sentence of the page."""

    def __init__(self, root: Path):
        import pandas as pd
        import yaml

        texts: list[str] = []
        keys: set[str] = set()  # the params' keys (``review_id``, ``metrics``): names, not data values

        def walk(v) -> None:
            if isinstance(v, dict):
                for k, x in v.items():
                    walk(k)
                    keys.add(str(k).strip().lower())
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
            elif isinstance(v, str):
                texts.append(v)

        name = root.name  # reports/<campaign>: the campaign's params and tracking plans
        for f in [ROOT / "params" / f"{name}.yaml", *sorted((ROOT / "params" / "tracking").glob(f"{name}*.yaml"))]:
            walk(yaml.safe_load(f.read_text(encoding="utf-8")))
        words: set[str] = set()
        for f in sorted((root / "data").glob("*.parquet")):
            df = pd.read_parquet(f)
            for c in df.columns:
                if df[c].dtype == object or str(df[c].dtype).startswith("str"):
                    vals = [str(v) for v in df[c].dropna().unique()[:20000]]
                    texts += vals
                    words |= {w.lower() for v in vals if len(v) < 40 for w in re.findall(r"[A-Za-z]+", v)}
        self.corpus = "\n".join(texts).lower()
        #: whole values (a source column's name, a variant, an event code), not the params' keys
        self.exact = {x.strip().lower() for x in texts} - keys
        self.words = words  # Latin words of table values (event codes, platforms, ...)

    def __contains__(self, text: str) -> bool:
        return text.lower() in self.corpus


_data_cache: dict[str, DataValues] = {}


def _data_values(root: Path) -> DataValues:
    if str(root) not in _data_cache:
        _data_cache[str(root)] = DataValues(root)
    return _data_cache[str(root)]


def english_runs(text: str, data: DataValues | set[str]) -> list[str]:
    """Runs of 3+ English words in ``text`` outside code names, abbreviations, :data:`ALLOWED_WORDS` and data
    values (a run quoted from the data or the params)."""
    text = _CODE.sub(" | ", text)
    runs = []
    for m in _WORD_RUN.finditer(text):
        cur: list[str] = []
        for w in [*m.group().split(" "), "|"]:
            plain = w.strip("'’-")
            if w == "|" or plain.isupper() or plain.lower() in ALLOWED_WORDS:
                if len(cur) >= 3 and " ".join(cur) not in data:
                    runs.append(" ".join(cur))
                cur = []
            else:
                cur.append(w)
    return runs


def cjk_share(text: str, data: DataValues | None = None, *, latin_data: bool = False) -> tuple[int, int]:
    """(CJK characters, letters) of ``text`` after code names are removed; with ``data``, CJK runs quoted from the
    data are not counted, nor (``latin_data``) Latin words of the data tables."""
    text = _CODE.sub(" ", text)
    if data is not None:
        text = _CJK_RUN.sub(lambda m: " " if m.group() in data else m.group(), text)
        if latin_data:
            text = re.sub(r"[A-Za-z]+", lambda m: " " if m.group().lower() in data.words else m.group(), text)
    cjk = len(_CJK.findall(text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return cjk, cjk + latin


_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def test_english_runs_helper():
    dv = {"cart", "pay", "paid within 24h"}
    assert english_runs("转化率 95% CI 为 1.2 至 3.4，p = 0.03", dv) == []
    assert english_runs("cart → pay 的转化 down by half", dv) == ["down by half"]
    assert english_runs("列 order_amount 和 user_id 的 GMV DAU ARPU", dv) == []
    assert english_runs("漏斗 Funnel conversion by channel", dv) == ["Funnel conversion by channel"]
    assert english_runs("指标 paid within 24h", dv) == []  # a label from the params
    assert cjk_share("转化率 conversion")[0] == 3


def _texts(tab, root: Path, page: str) -> list[dict]:
    _open(tab, root, page)
    return tab.eval(_TEXT_JS)


#: the least share of CJK characters among the letters of a Chinese page's text blocks
MIN_CJK_SHARE = 0.5


@pytest.mark.parametrize("page", _params("zh_english", PAGES))
def test_chinese_demo_has_no_english_sentence(tab, demo_root, page):
    """A Chinese-language demo run contains no English sentence in any page: no run of 3+ English words (outside
    code names, data values and :data:`ALLOWED_WORDS`) in any visible text block, and CJK characters are most of
    the page's letters."""
    _no_english_sentence(tab, demo_root, page)


def _no_english_sentence(tab, root: Path, page: str) -> None:
    """The check of :func:`test_chinese_demo_has_no_english_sentence` on one page of the run at ``root``."""
    dv = _data_values(root)
    blocks = _texts(tab, root, page)
    found, seen = [], set()
    for b in blocks:
        for run in english_runs(b["text"], dv):
            if (run, b["tag"]) not in seen:
                seen.add((run, b["tag"]))
                found.append(f"<{b['tag']}> {run!r} in {b['el']}")
    counts = [cjk_share(b["text"], dv, latin_data=True) for b in blocks]
    cjk, letters = (sum(c for c, _ in counts), sum(n for _, n in counts))
    share = cjk / letters if letters else 1.0
    assert not found and share >= MIN_CJK_SHARE, (
        f"{page}: CJK share {share:.0%} of {letters} letters (at least {MIN_CJK_SHARE:.0%}); "
        f"{len(found)} English runs:\n  " + "\n  ".join(found[:40])
    )


@pytest.mark.parametrize("page", _params("en_chinese", PAGES))
def test_english_demo_has_no_chinese_text(tab, en_root, page):
    """An English demo run shows no Chinese outside data values (:class:`DataValues`): no CJK in headings and
    captions, and at most a third of a ``p``/``li``/``dd`` block's letters CJK (``td``/``th`` hold data)."""
    _no_chinese_text(tab, en_root, page)


def _no_chinese_text(tab, root: Path, page: str) -> None:
    """The check of :func:`test_english_demo_has_no_chinese_text` on one page of the run at ``root``."""
    dv = _data_values(root)
    blocks = _texts(tab, root, page)
    bad = []
    for b in blocks:
        cjk, letters = cjk_share(b["text"], dv)
        if b["tag"] in ("h1", "h2", "h3", "h4", "figcaption", "caption", "summary", "dt") and cjk:
            bad.append(f"<{b['tag']}> {b['el']}")
        elif b["tag"] in ("p", "li", "dd") and letters and cjk / letters > 1 / 3:
            bad.append(f"<{b['tag']}> {cjk}/{letters} CJK: {b['el']}")
    assert not bad, f"{page} (en): Chinese text:\n  " + "\n  ".join(bad[:40])
