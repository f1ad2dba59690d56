"""The shared page template (helpers/page.py): the table renderer, the report page's header, contents, navigation,
CSV links, glossary and footer, the definitions page and the index, in the campaign's one language; checked on
a small real run (the demo's ingest and funnel) and on hand-made inputs."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import i18n
from helpers.page import dress_report, index_page, md_inline, page_meta, render_table
from helpers.params import load_params
from helpers.report import notebook_to_html, write_index

from .conftest import ROOT

CJK = re.compile(r"[\u3400-\u9fff]")


class _Links(HTMLParser):
    """Every id, every href, every <script>, and the text of elements by class."""

    def __init__(self):
        super().__init__()
        self.ids, self.hrefs, self.scripts = set(), [], 0
        self.text: dict[str, list[str]] = {}
        self._stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])
        if tag == "script":
            self.scripts += 1
        if tag not in ("br", "img", "meta", "link", "input", "hr"):
            self._stack.append(a.get("class") or "")

    def handle_endtag(self, tag):
        if tag not in ("br", "img", "meta", "link", "input", "hr") and self._stack:
            self._stack.pop()

    def handle_data(self, data):
        for cls in set(" ".join(self._stack).split()):
            self.text.setdefault(cls, []).append(data)


def _parse(page: str) -> _Links:
    p = _Links()
    p.feed(page)
    return p


# ------------------------------------------------------------------------------------------------ tables
def test_render_table_formats_by_column_kind_and_escapes():
    df = pd.DataFrame(
        {
            "city": ["<img src=x onerror=alert(1)>", "上海"],
            "users": [12345, 7],
            "age": [37.0, np.nan],
            "conversion_rate": [0.1234, 0.5],
            "revenue": [372.8599999999999, 1234567.0],
            "lift": [1.23456, 0.0004567],
            "is_member": [True, False],
        }
    )
    with i18n.language("zh"):
        out = render_table(df, csv="results/x_t.csv")._repr_html_()
    cells = re.findall(r"<td class='([^']*)'>(.*?)</td>", out)
    assert [v for _, v in cells[:7]] == [
        "&lt;img src=x onerror=alert(1)&gt;",
        "12,345",
        "37",
        "12.3%",
        "372.86",
        "1.23",
        "是",
    ]
    assert [v for _, v in cells[7:]] == ["上海", "7", "–", "50.0%", "1,234,567.00", "0.00046", "否"]
    assert all(c == "ubk-num" for c, _ in cells[1:6]) and cells[0][0] == "ubk-text"
    assert "<img" not in out and "href='results/x_t.csv'" in out
    with i18n.language("en"):
        out = render_table(df)._repr_html_()
    assert ">yes<" in out and ">no<" in out and "ubk-csv" not in out


def test_render_table_headers_from_the_catalogue_and_row_cap():
    key = next(k for k in i18n.catalogue() if k.startswith("col."))
    col = key[len("col.") :]
    df = pd.DataFrame({col: range(250), "machine_name": range(250)})
    with i18n.language("en"):
        out = render_table(df, max_rows=100)._repr_html_()
    heads = re.findall(r"<th\b[^>]*>(.*?)</th>", out)
    import html

    assert heads == [html.escape(i18n.t(key, lang="en")), "machine_name"]
    assert out.count("<tr>") == 101 and "first 100 of 250 rows" in out
    # an index that means something is shown as a column
    out = render_table(pd.DataFrame({"n": [1, 2]}, index=pd.Index(["a", "b"], name="zz_bucket")))._repr_html_()
    assert re.findall(r"<th\b[^>]*>(.*?)</th>", out) == ["zz_bucket", "n"]


def test_findings_markdown_becomes_safe_inline_html():
    assert md_inline("**events**: `a` <b>x</b> \\[y\\]") == "<b>events</b>: <code>a</code> &lt;b&gt;x&lt;/b&gt; [y]"


# ------------------------------------------------------------------------------------------------ a page
_NB_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>t</title></head>
<body class="jp-Notebook"><main>
<h1 id="x">转化漏斗 Conversion funnel<a class="anchor-link" href="#x">¶</a></h1>
<p class="ubk-nbheader"><em>old line</em></p>
<h3 id="y">关键发现<a class="anchor-link" href="#y">¶</a></h3><ul><li>f</li></ul>
<h2 id="z">Part &lt;two&gt;</h2><p>see <code>docs/funnel.md</code></p>
<table class="dataframe"><tr><td>styler</td></tr></table>
<div class='ubk-table'><div class='ubk-scroll'><table class='ubk'><tr><td>1</td></tr></table></div>
<div class='ubk-table-foot'><a class='ubk-csv' href='results/funnel_steps.csv'>CSV</a>
<a class='ubk-csv' href='results/funnel_gone.csv'>CSV</a></div></div>
<script>alert(1)</script></main></body></html>"""


def _campaign(tmp_path: Path, title: str = "演示 <b>活动</b>") -> tuple[Path, dict]:
    root = tmp_path / "demo"
    (root / "results").mkdir(parents=True)
    (root / "results" / "funnel_steps.csv").write_text("a\n1\n", encoding="utf-8")
    doc = {
        "notebook": "funnel",
        "campaign": "demo",
        "title": title,
        "generated_at": "2024-05-01T10:00:00",
        "run_id": "run-1",
        "period": {"start": "2024-03-01", "end": "2024-04-29", "spec": "last 60d"},
        "headline": [{"label": "整体转化率", "value": 0.5, "text": "50.0%"}],
        "findings": ["**整体**转化率 50% <script>"],
        "glossary": ["ci95", "p_value", "no_such_term"],
        "csv": {"steps": "funnel_steps.csv"},
        "available": True,
    }
    (root / "results" / "funnel.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    ingest = {"tables": {"events": {"ts_max": "2024-04-28 23:00:00"}}}
    (root / "results" / "ingest.json").write_text(json.dumps(ingest), encoding="utf-8")
    meta = {
        "campaign": "demo",
        "title": title,
        "language": "zh",
        "period": doc["period"],
        "timezone": "Asia/Shanghai",
        "notebooks": ["ingest", "funnel", "retention"],
        "run_id": "run-1",
    }
    return root, meta


def test_data_as_of_is_the_last_event_to_the_minute(tmp_path):
    """The header's "data as of" is the latest ``ts_max`` of the ingest report's tables, to the minute, so that a
    last day still loading shows as such (06:02); a date alone when that time is midnight (a table of dates)."""
    from helpers.page import _data_as_of

    def as_of(tables: dict) -> str | None:
        (tmp_path / "results").mkdir(exist_ok=True)
        (tmp_path / "results" / "ingest.json").write_text(json.dumps({"tables": tables}), encoding="utf-8")
        return _data_as_of(tmp_path)

    events = {"ts_min": "2024-04-01 08:00:00", "ts_max": "2024-04-29 06:02:41"}
    assert as_of({"events": events, "users": {"ts_max": None}}) == "2024-04-29 06:02"
    assert as_of({"events": events, "orders": {"ts_max": "2024-04-28 23:59:59.250"}}) == "2024-04-29 06:02"
    assert as_of({"orders": {"ts_max": "2024-04-30 00:00:00"}}) == "2024-04-30"
    assert as_of({"orders": {"ts_max": "2024-04-30"}}) == "2024-04-30"
    assert as_of({"users": {"ts_max": None}}) is None
    (tmp_path / "results" / "ingest.json").unlink()
    assert _data_as_of(tmp_path) is None


def test_dress_report_header_contents_navigation_glossary(tmp_path):
    root, meta = _campaign(tmp_path)
    page = dress_report(_NB_PAGE, root / "funnel.html", meta)
    p = _parse(page)
    header = " ".join(p.text["ubk-header"])
    for field in (
        "活动",
        "demo",
        "分析周期",
        "2024-03-01",
        "2024-04-29",
        "last 60d",
        "数据截至",
        "2024-04-28 23:00",
        "生成于",
        "2024-05-01 10:00",
        "运行编号",
        "run-1",
    ):
        assert field in header, field
    assert "演示 <b>活动</b>" in header and "演示 &lt;b&gt;活动&lt;/b&gt;" in page, "the title is escaped"
    # the contents link every heading, by ids that exist; the key findings are #findings
    toc = re.search(r"<nav class='ubk-toc'.*?</nav>", page, re.S).group(0)
    targets = re.findall(r"href='#([^']+)'", toc)
    assert targets and all(t in p.ids for t in targets) and "findings" in targets and "glossary" in targets
    assert "Part &lt;two&gt;" in toc and "anchor-link" not in page and "old line" not in page
    # navigation: the index and every report of the campaign; this one is not a link
    nav = re.search(r'<nav class="ubk-nav".*?</nav>', page, re.S).group(0)
    assert re.findall(r"href='([^']+)'", nav) == ["index.html", "ingest.html", "retention.html"]
    assert "转化漏斗" in nav and "aria-current" in nav
    # tables scroll in their own box; a CSV link only when its file exists; docs become definitions
    assert "<div class='ubk-scroll'><table class=\"dataframe\">" in page
    assert "results/funnel_steps.csv" in page and "results/funnel_gone.csv" not in page
    assert ">表格 漏斗各步骤（CSV）</a>" in page  # the downloads name each table in words, not its code
    assert "definitions.html#def-funnel" in page
    # glossary from the report's terms (an unknown term is left out); downloads; footer with the version
    gloss = " ".join(p.text["ubk-glossary"])
    assert i18n.t("glossary.p_value", lang="zh").split("：", 1)[1] in gloss and "no_such_term" not in page
    from helpers import __version__

    assert f"ubakit {__version__}" in " ".join(p.text["ubk-footer"])
    assert '<html lang="zh-CN">' in page and "<script" in page  # dress_report keeps it: harden_page drops it


def test_dress_report_english_chrome(tmp_path):
    root, meta = _campaign(tmp_path, title="Demo campaign")
    page = dress_report(_NB_PAGE, root / "funnel.html", {**meta, "language": "en"})
    p = _parse(page)
    chrome = " ".join(p.text["ubk-header"] + p.text["ubk-toc"] + p.text["ubk-footer"] + p.text["ubk-glossary"])
    for word in (
        "Campaign",
        "Period",
        "Data as of",
        "Generated at",
        "Run",
        "Contents",
        "Back to the overview",
        "Conversion funnel",
        "Glossary",
        "Made with ubakit",
    ):
        assert word in chrome, word
    chrome = re.sub(r"转化漏斗 Conversion funnel|关键发现", "", chrome)  # headings of the notebook itself
    assert not CJK.search(chrome), CJK.findall(chrome)
    assert '<html lang="en">' in page


def test_index_summary_in_both_languages(tmp_path):
    root, _ = _campaign(tmp_path)
    (root / "funnel.html").write_text("<html><body>x</body></html>", encoding="utf-8")
    cfg = load_params(ROOT / "params" / "demo.yaml")
    statuses = [
        {"notebook": "ingest", "status": "failed", "error": "ValueError: <bad>", "seconds": 1.0},
        {"notebook": "funnel", "status": "ok", "error": None, "seconds": 1.0, "run_id": "run-1"},
        {"notebook": "sentiment", "status": "unavailable", "error": "没有评论表", "seconds": 1.0},
    ]
    statuses.append({"notebook": "retention", "status": "skipped", "error": "ingest failed: fix it first"})
    for lang, words in (
        ("zh", ["本期要点", "转化漏斗", "完成", "失败", "无法计算", "运行出错", "数据接入失败", "技术信息"]),
        ("en", ["What to act on", "Conversion funnel", "done", "failed", "not available", "The run failed",
                "Ingest failed", "Technical details"]),
    ):  # fmt: skip
        page = index_page(root, cfg.model_copy(update={"language": lang}), statuses, run_id=None)
        for w in words:
            assert w in page, (lang, w)
        acts = re.search(r"<ul class='ubk-acts'>(.*?)</ul>", page, re.S).group(1)
        assert "href='funnel.html#findings'" in acts and "<b>整体</b>" in acts and "&lt;script&gt;" in acts
        assert "ingest.html" not in acts, "a failed report has no finding to act on"
        assert "<tr><td><a href='funnel.html'>" in page and "50.0%" in page
        assert "&lt;bad&gt;" in page and "class='why'" in page
        # a failure's technical line (English, whatever the campaign's language) is folded away under a sentence
        # in the campaign's language; an unavailable report's reason is shown as it is, ending with a full stop
        for tech in ("ValueError: &lt;bad&gt;", "ingest failed: fix it first"):
            assert re.search(r"<details class='err'><summary>[^<]+</summary>" + re.escape(tech) + "</details>", page)
        assert f"<div class='why'>没有评论表{'。' if lang == 'zh' else '.'}</div>" in page  # a sentence of its own
        # the lead sentence takes the colour of its status: red for a failure, amber for a skip
        assert re.search(r"<div class='why-failed'>[^<]+</div><details class='err'>", page)
        assert re.search(r"<div class='why-skipped'>[^<]+</div><details class='err'>", page)
        assert "耗时" not in page and "Time</th>" not in page
        # a label and its value are joined with the page's own colon: 活动：demo, 转化漏斗：..., Campaign: demo
        sep = "：" if lang == "zh" else ": "
        assert f"{'活动' if lang == 'zh' else 'Campaign'}{sep}<b>" in page and "#findings'>" in acts
        assert re.search(r"#findings'>[^<]+</a>" + re.escape(sep), acts), acts
        if lang == "zh":
            assert "活动: " not in page and "</a>: " not in page
    # a Chinese description written as a YAML folded block: its line break is not a space on the page
    folded = cfg.model_copy(update={"description": "浏览、收藏和购买。 该数据集没有价格"})
    assert "<p>浏览、收藏和购买。该数据集没有价格</p>" in index_page(root, folded, statuses, run_id=None)
    write_index(root, cfg, statuses)
    assert "<script" not in (root / "index.html").read_text(encoding="utf-8")


def test_index_shows_each_reports_lead_not_its_setting(tmp_path):
    """Under "what to act on" the index shows the report's lead (its top result), not the finding that opens
    the report with its setting; a results file written before ``lead`` existed shows its first finding."""
    root, doc = _campaign(tmp_path)
    cfg = load_params(ROOT / "params" / "demo.yaml")
    trends = {**doc, "notebook": "trends", "findings": ["本期为 4-23 至 4-29。", "活跃用户：217，变化 -27.7%。"]}
    trends["lead"] = trends["findings"][1]
    (root / "results" / "trends.json").write_text(json.dumps(trends, ensure_ascii=False), encoding="utf-8")
    statuses = [{"notebook": nb, "status": "ok", "error": None, "seconds": 1.0} for nb in ("funnel", "trends")]
    page = index_page(root, cfg, statuses, run_id=None)
    acts = re.search(r"<ul class='ubk-acts'>(.*?)</ul>", page, re.S).group(1)
    assert "活跃用户：217，变化 -27.7%。" in acts and "本期为" not in acts
    assert "<b>整体</b>转化率 50%" in acts  # no lead: the first finding


# ------------------------------------------------------------------------------------------------ a real run
@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    from helpers.run import run_campaign

    out = tmp_path_factory.mktemp("page")
    s = run_campaign(
        ROOT / "params" / "demo.yaml", reports_dir=out, only=["ingest", "funnel"], progress=False, echo=lambda *_: None
    )
    assert s.ok, s.statuses
    return out / "demo"


@pytest.mark.e2e
def test_real_pages(small_run):
    root = small_run
    cfg = load_params(ROOT / "params" / "demo.yaml")
    for name in ("ingest", "funnel", "index", "definitions"):
        page = (root / f"{name}.html").read_text(encoding="utf-8")
        p = _parse(page)
        assert p.scripts == 0 and "<script" not in page, name
        for bad in (str(ROOT), str(root), "/tmp/", "/work/", "/home/"):
            assert bad not in page, (name, bad)
        assert "Content-Security-Policy" in page and "http://" not in page.split("</head>")[0], name
        for href in p.hrefs:  # every link resolves: a page, a file, or an id on the target page
            if href.startswith(("http://", "https://")):
                continue
            target, _, frag = href.partition("#")
            file = root / target if target else root / f"{name}.html"
            assert file.exists(), (name, href)
            if frag and file.suffix == ".html":
                assert f"id='{frag}'" in file.read_text(encoding="utf-8") or f'id="{frag}"' in file.read_text(
                    encoding="utf-8"
                ), (name, href)
    funnel = (root / "funnel.html").read_text(encoding="utf-8")
    p = _parse(funnel)
    header = " ".join(p.text["ubk-header"])
    res = json.loads((root / "results" / "funnel.json").read_text(encoding="utf-8"))
    for field in (cfg.title, str(cfg.period.start), str(cfg.period.end), res["run_id"], "数据截至", "生成于"):
        assert field in header, field
    nav = re.search(r'<nav class="ubk-nav".*?</nav>', funnel, re.S).group(0)
    assert re.findall(r"href='([^']+)'", nav) == ["index.html", "ingest.html"], "only pages that exist are links"
    # each CSV link sits right under its table and names an existing file
    foot = r"</table>\s*</div><div class=.ubk-table-foot.>(?:(?!</div>).)*?href=.(results/[^'\"]+\.csv)"
    beside = re.findall(foot, funnel)
    assert beside and all((root / h).exists() for h in beside), beside
    assert "results/funnel_steps.csv" in beside
    # glossary from FunnelReport.glossary; figures sized to their box
    from helpers.funnel import FunnelReport

    if FunnelReport.glossary:
        assert "id='glossary'" in funnel and res["glossary"] == list(FunnelReport.glossary)
    assert "max-width:100%" in funnel.replace(" ", "") and "@media print" in funnel
    assert "@media screen and (max-width:900px)" in funnel and "@page{size:A4 portrait" in funnel
    assert "@page wide{size:A4 landscape" in funnel and ".ubk-wide{page:wide}" in funnel
    assert re.search(r'<img[^>]+width="\d+"', funnel), "retina charts carry their display size"
    defs = (root / "definitions.html").read_text(encoding="utf-8")
    assert "id='def-funnel'" in defs and "id='def-ingest'" not in defs or (ROOT / "docs" / "ingest.md").exists()
    with i18n.language("zh"):
        assert f"<title>{i18n.t('page.definitions_title', title=cfg.title)}</title>" in defs  # the campaign, as above


@pytest.mark.e2e
def test_english_chrome_on_a_real_page(small_run, tmp_path):
    root = small_run
    cfg = load_params(ROOT / "params" / "demo.yaml").model_copy(update={"language": "en"})
    out = root / "funnel_en_check.html"
    try:
        notebook_to_html(root / "notebooks" / "funnel.ipynb", out, page=page_meta(cfg, ["ingest", "funnel"]))
        page = out.read_text(encoding="utf-8")
    finally:
        out.unlink(missing_ok=True)
    p = _parse(page)
    chrome = " ".join(p.text["ubk-header"][1:] + p.text["ubk-footer"] + p.text["ubk-nav"])
    assert "Back to the overview" in chrome and "Made with ubakit" in chrome and not CJK.search(chrome), chrome


def test_styler_tables_get_labels_alignment_and_their_csv_link():
    from helpers.fmt import style_table
    from helpers.page import render_styler, table_csv

    df = pd.DataFrame({"group": ["<b>a</b>", "b"], "users": [1200, 3], "rate": [0.25, 0.5], "age": [37.0, 40.0]})

    class Rep:
        name = "funnel"

        def tables(self):
            return {"steps": pd.DataFrame({"x": [1]}), "breakdown": df}

    shown = df.assign(group=["A", "B"])[["group", "rate"]]  # a view: same rows, some columns, display names
    assert table_csv(Rep(), style_table(shown)) == "results/funnel_breakdown.csv"
    assert table_csv(Rep(), df) == "results/funnel_breakdown.csv" and table_csv(Rep(), df.head(1)) is None
    with i18n.language("en"):
        out = render_styler(style_table(df), csv="results/funnel_breakdown.csv").html
    assert "&lt;b&gt;a&lt;/b&gt;" in out and ">1,200<" in out and ">50.0%<" in out and ">37<" in out
    assert "text-align: right" in out and 'class="ubk-styled"' in out
    # text cells wrap (the page's ubk-text rule, as render_table's); number cells do not
    import re

    tds = re.findall(r"<td [^>]*class=\"([^\"]*)\"", out)
    assert sum("ubk-text" in c for c in tds) == 2 and all("ubk-text" not in c for c in tds if "col1" in c), tds
    assert "<a class='ubk-csv' href='results/funnel_breakdown.csv'>Download CSV</a>" in out
    # a report's own header for a column whose meaning is the report's (the other headers from the catalogue)
    own = style_table(df, headers={"group": "<渠道>"})
    assert table_csv(Rep(), own) == "results/funnel_breakdown.csv"
    with i18n.language("en"):
        out = render_styler(own).html
    assert ">&lt;渠道&gt;</th>" in out and ">Users</th>" in out and ">Group</th>" not in out


def test_styler_cut_to_max_rows_says_so_and_links_the_full_tables_csv():
    """style_table(max_rows=N) shows N rows of a longer table: the page says how many of how many, as
    render_table's tables do, and still links the table's CSV (the Styler remembers the whole frame)."""
    from helpers.fmt import style_table
    from helpers.page import render_styler, table_csv

    df = pd.DataFrame({"item": [f"<i>{i}</i>" for i in range(120)], "support": np.linspace(0.5, 0.01, 120)})

    class Rep:
        name = "products"

        def tables(self):
            return {"items": pd.DataFrame({"x": [1]}), "itemsets": df}

    st = style_table(df, pct_cols=["support"], max_rows=50)
    assert len(st.data) == 50
    csv = table_csv(Rep(), st)
    assert csv == "results/products_itemsets.csv"
    named = df.assign(item=[f"#{i}" for i in range(120)])  # a view (names for codes) cut to 50 rows: still its CSV
    assert table_csv(Rep(), style_table(named, max_rows=50)) == csv
    assert table_csv(Rep(), style_table(df.head(50))) is None  # a frame cut before styling is no table of the report
    for lang, note in (("zh", "显示前 50 行，共 120 行；完整数据见 CSV。"), ("en", "first 50 of 120 rows")):
        with i18n.language(lang):
            out = render_styler(style_table(df, pct_cols=["support"], max_rows=50), csv=csv).html
        body = re.search(r"<tbody>(.*?)</tbody>", out, re.S).group(1)
        assert body.count("<tr>") == 50 and "&lt;i&gt;49&lt;/i&gt;" in body and "&lt;i&gt;50&lt;/i&gt;" not in body
        foot = re.search(r"<div class='ubk-table-foot'>(.*?)</div>", out, re.S).group(1)
        assert note in foot and foot.startswith("<span>"), foot
        assert f"<a class='ubk-csv' href='{csv}'>{i18n.t('page.csv', lang=lang)}</a>" in foot
    # at or under the limit: every row, no note
    for small in (df.head(50), df.head(7)):
        with i18n.language("en"):
            out = render_styler(style_table(small, max_rows=50), csv=csv).html
        assert re.search(r"<tbody>(.*?)</tbody>", out, re.S).group(1).count("<tr>") == len(small)
        assert "<span>" not in out and "rows;" not in out and "of 120" not in out
    # a Styler without max_rows keeps every row
    assert len(style_table(df).data) == 120


def test_index_headline_labels_start_as_list_items(tmp_path):
    """In English each headline label on the index starts with a capital ("Groups (k): 2", as "Overall conversion"
    does), except a first word with a capital inside ("iOS users"); the results keep the labels as written (the
    changes against earlier runs are matched by them); Chinese is unchanged."""
    from helpers.i18n import language, sentence_start

    root, doc = _campaign(tmp_path)
    doc["headline"] = [
        {"label": "groups (k)", "value": 2, "text": "2"},
        {"label": "iOS users", "value": 5, "text": "5"},
        {"label": "整体转化率", "value": 0.5, "text": "50.0%"},
    ]
    (root / "results" / "funnel.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    cfg = load_params(ROOT / "params" / "demo.yaml")
    statuses = [{"notebook": "funnel", "status": "ok", "error": None, "seconds": 1.0}]
    en = index_page(root, cfg.model_copy(update={"language": "en"}), statuses, run_id=None)
    assert "<li>Groups (k): <b" in en and "<li>iOS users: <b" in en and "<li>整体转化率: <b" in en
    zh = index_page(root, cfg, statuses, run_id=None)
    assert "<li>groups (k)：<b" in zh
    assert json.loads((root / "results" / "funnel.json").read_text(encoding="utf-8"))["headline"][0]["label"] == (
        "groups (k)"
    )
    with language("en"):
        assert [sentence_start(x) for x in ("active users", "eBay orders", "Events", "x", "")] == [
            "Active users", "eBay orders", "Events", "X", ""
        ]  # fmt: skip
        # a code opens some reasons: it stays as the params write it
        assert sentence_start("experiment.assignment: source users_column needs a users table").startswith("experi")
        assert sentence_start("user_id is empty") == "user_id is empty"
        assert sentence_start("the period is only 1 day") == "The period is only 1 day"
    # an unavailable report's reason in the index row opens with a capital in English (a sentence in its cell)
    gone = [{"notebook": "funnel", "status": "unavailable", "error": "the campaign has no events table", "seconds": 1}]
    en = index_page(root, cfg.model_copy(update={"language": "en"}), gone, run_id=None)
    assert "<div class='why'>The campaign has no events table.</div>" in en
