"""Every page of a demo run speaks its campaign's language (issue 18), checked on the HTML without a browser.

The Chinese demo run (``python -m helpers run params/demo.yaml``) and its copy with ``language: en`` that
tests/test_browser.py opens in Chromium (tests/conftest.py's ``demo_root`` and ``en_root``; the tests that read them
run on the browser tests' worker, so each run is made once). ``UBAKIT_BROWSER_REPORTS=<dir>`` reuses the reports of
an earlier run (``<dir>/demo/`` and ``<dir>/en/demo/``).

- zh pages: no run of 3+ English words in a visible text block, outside code names, abbreviations and data values
  (tests/test_browser.py's :func:`english_runs`);
- en pages: no CJK outside data values in headings, captions and sentences;
- every table header is a catalogue label (``col.<column>`` in helpers/messages/columns.yaml), never a raw
  snake_case column name.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.test_browser import _data_values, cjk_share, english_runs

BLOCKS = ("p", "li", "h1", "h2", "h3", "h4", "td", "th", "figcaption", "caption", "summary", "dt", "dd")
#: a raw column name: a lower-case identifier (``planned_share``, ``chi2``, ``metric``)
RAW_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


#: the tests that read the demo runs (tests/conftest.py's ``demo_root`` and ``en_root``) share tests/test_browser.py's
#: worker, which makes each run once; they execute notebooks end to end, so ``make test-fast`` leaves them out
demo_runs = [pytest.mark.e2e, pytest.mark.xdist_group("browser")]


def _marked(test):
    for mark in demo_runs:
        test = mark(test)
    return test


def visible_blocks(html: str) -> list[tuple[str, str]]:
    """(tag, text) of the page's visible text blocks: code, scripts, styles and hidden code cells left out; a
    block's nested blocks are counted on their own."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for el in soup.find_all(["script", "style", "pre", "code", "template"]):
        el.decompose()
    for el in soup.select(".jp-InputArea, .jp-InputPrompt, [hidden]"):
        el.decompose()
    out = []
    for el in soup.find_all(BLOCKS):
        text = " ".join(el.get_text(" ").split())
        if text:
            out.append((el.name, text))
    return out


def _pages(root: Path) -> list[Path]:
    """The index and the report pages; ``definitions.html`` (the docs, docs/zh on a zh campaign) is checked by
    tests/test_docs_zh.py."""
    pages = sorted(p for p in root.glob("*.html") if p.name != "definitions.html")
    assert pages and (root / "index.html").exists(), f"no pages in {root}"
    return pages


def test_visible_blocks():
    html = (
        "<style>p{}</style><h2>标题 <code>user_id</code></h2><p>一句 <b>bold words here</b></p>"
        "<div class='jp-InputArea'><p>hidden code text</p></div><pre>print('x y z')</pre>"
    )
    assert visible_blocks(html) == [("h2", "标题"), ("p", "一句 bold words here")]


@_marked
def test_zh_pages_have_no_english_sentence(demo_root):
    dv = _data_values(demo_root)
    found = []
    for f in _pages(demo_root):
        seen = set()
        for tag, text in visible_blocks(f.read_text(encoding="utf-8")):
            for run in english_runs(text, dv):
                if run not in seen:
                    seen.add(run)
                    found.append(f"{f.name} <{tag}> {run!r} in {text[:100]!r}")
    assert not found, f"{len(found)} English runs on zh pages:\n  " + "\n  ".join(found[:60])


@_marked
def test_en_pages_have_no_chinese(en_root):
    dv = _data_values(en_root)
    bad = []
    for f in _pages(en_root):
        for tag, text in visible_blocks(f.read_text(encoding="utf-8")):
            cjk, letters = cjk_share(text, dv)
            if tag in ("h1", "h2", "h3", "h4", "figcaption", "caption", "summary", "dt") and cjk:
                bad.append(f"{f.name} <{tag}> {text[:100]!r}")
            elif tag in ("p", "li", "dd") and letters and cjk / letters > 1 / 3:
                bad.append(f"{f.name} <{tag}> {cjk}/{letters} CJK: {text[:100]!r}")
    assert not bad, "Chinese on en pages:\n  " + "\n  ".join(bad[:60])


@_marked
def test_tag_values_read_as_label_and_value(demo_root, en_root):
    """The profile's tag tables show a tag's value after its label and a colon ("活跃度：低活跃",
    "Activity level: ..."), not the results files' machine form "activity_level=低活跃" nor "活跃度=低活跃"."""
    from bs4 import BeautifulSoup

    for root, sep in ((demo_root, "："), (en_root, ": ")):
        soup = BeautifulSoup((root / "user_profile.html").read_text(encoding="utf-8"), "html.parser")
        cells = [td.get_text(" ").strip() for td in soup.select("td")]
        tagged = [c for c in cells if sep in c and not c.endswith(sep)]
        assert len(tagged) >= 4, cells[:40]
        assert not [c for c in cells if re.fullmatch(r"[^\s=]+=[^=]+", c)], "tag=value left in a cell"


@_marked
def test_table_headers_are_catalogue_labels(demo_root):
    """Every column header of every table on every page is a label, not a raw column name (``planned_share``):
    add ``col.<column>`` to helpers/messages/columns.yaml."""
    from bs4 import BeautifulSoup

    dv = _data_values(demo_root)
    bad = set()
    for f in _pages(demo_root):
        soup = BeautifulSoup(f.read_text(encoding="utf-8"), "html.parser")
        for th in soup.select("thead th"):
            text = th.get_text(" ").strip()
            if RAW_NAME.match(text) and text.lower() not in dv.exact:
                bad.add(f"{f.name}: {text}")
    assert not bad, "table headers without a col.* label (helpers/messages/columns.yaml):\n  " + "\n  ".join(
        sorted(bad)
    )


@_marked
def test_no_table_has_two_columns_of_one_header(demo_root, en_root):
    """In both languages no table shows two columns under one header: the Chinese quarantine samples headed both
    ``source_row`` and ``source_line`` 源文件行号 (the English page read "Source row" and "Source line")."""
    from bs4 import BeautifulSoup

    bad = set()
    for root in (demo_root, en_root):
        for f in _pages(root):
            for row in BeautifulSoup(f.read_text(encoding="utf-8"), "html.parser").select("thead tr"):
                heads = [h for h in (th.get_text(" ").strip() for th in row.find_all("th")) if h]
                bad |= {f"{root.parent.name}/{f.name}: {h}" for h in heads if heads.count(h) > 1}
    assert not bad, "one header over two columns (helpers/messages/columns.yaml):\n  " + "\n  ".join(sorted(bad))


# ------------------------------------------------------------------------------------------------ units (no run)
def test_doc_mentions_become_links():
    from helpers.page import _link_doc_mentions

    body = (
        "见 docs/funnel.md。<a href='x'><code>docs/funnel.md</code></a> <code>docs/tags.md</code> "
        "<img alt='docs/funnel.md'> docs/other.md <code>a</code>"
    )
    out = _link_doc_mentions(body, {"funnel", "tags"}.__contains__, "definitions.html")
    assert out == (
        "见 <a href='definitions.html#def-funnel'>docs/funnel.md</a>。<a href='x'><code>docs/funnel.md</code></a> "
        "<a href='definitions.html#def-tags'><code>docs/tags.md</code></a> <img alt='docs/funnel.md'> docs/other.md "
        "<code>a</code>"
    )


def test_tag_labels_per_language():
    from pydantic import ValidationError

    from helpers.sections_tags import TagSpec

    spec = {"column": "spend", "bins": [0, 1, 2], "labels": [{"zh": "低", "en": "low"}, "高 high"], "description": "d"}
    assert TagSpec.model_validate(spec, context={"language": "en"}).labels == ["low", "高 high"]
    assert TagSpec.model_validate(spec).labels == ["低", "高 high"]  # no context: zh, the default language
    from helpers.sections_tags import AudienceSpec

    aud = {"description": {"zh": "沉睡用户", "en": "dormant buyers"}, "when": "buyer"}
    assert AudienceSpec.model_validate(aud, context={"language": "en"}).description == "dormant buyers"
    assert AudienceSpec.model_validate(aud).description == "沉睡用户"
    with pytest.raises(ValidationError, match="zh and en"):
        TagSpec.model_validate({**spec, "labels": [{"zh": "低"}, "b"]}, context={"language": "en"})


def test_change_words_in_the_campaign_language(tmp_path):
    """The index's "what changed" (helpers/report.py) words history's machine words in the campaign's language."""
    import json

    from helpers.history import archive_run
    from helpers.i18n import language
    from helpers.page import report_name
    from helpers.report import _what_changed

    res = tmp_path / "results"
    res.mkdir()
    head = [{"label": "订单数", "value": 10, "text": "10"}, {"label": "旧差异", "value": 0.1, "text": "10.0%"}]
    (res / "trends.json").write_text(json.dumps({"headline": head}), encoding="utf-8")
    archive_run(tmp_path, "run-1", period={"start": "2024-03-01", "end": "2024-03-31"})
    head = [head[0], {"label": "新差异", "value": -0.162, "text": "-16.2 个百分点"}]
    (res / "trends.json").write_text(json.dumps({"headline": head}), encoding="utf-8")
    (res / "rfm.json").write_text(json.dumps({"headline": []}), encoding="utf-8")
    archive_run(tmp_path, "run-2", period={"start": "2024-04-01", "end": "2024-04-30"})
    with language("zh"):
        chg, section = _what_changed(tmp_path, "run-2")
        assert f"新增报告：{report_name('rfm')}" in section, section
    assert chg == {("trends", "订单数"): "不变", ("trends", "旧差异"): "已移除", ("trends", "新差异"): "新增"}
    # a headline new in this run shows its value, one gone its last value: no arrow from or to nothing
    name = report_name("trends")
    assert f"{name} · 新差异：<b class='ubk-num'>-16.2 个百分点</b>（新增）</li>" in section, section
    assert f"{name} · 旧差异：10.0%（已移除）</li>" in section, section
    assert "nan" not in section and "None" not in section
    assert "分析周期：2024-03-01 – 2024-03-31 → 2024-04-01 – 2024-04-30" in section
    assert "unchanged" not in section and "new reports" not in section and "period" not in section


def test_change_labels_start_as_the_headline_list_writes_them(tmp_path):
    """In English a changed headline's label starts with a capital after the report's name, as in the headline list
    ("Ingest and cleaning · Events clean rows"; it read "· events clean rows" beside "· Users"); the results and
    the comparison keep the label as written."""
    import json

    from helpers.history import archive_run
    from helpers.i18n import language
    from helpers.report import _what_changed

    res = tmp_path / "results"
    res.mkdir()
    head = [{"label": "events clean rows", "value": 3, "text": "3"}, {"label": "iOS users", "value": 1, "text": "1"}]
    (res / "ingest.json").write_text(json.dumps({"headline": head}), encoding="utf-8")
    archive_run(tmp_path, "run-1")
    head = [{**h, "value": 5, "text": "5"} for h in head]
    (res / "ingest.json").write_text(json.dumps({"headline": head}), encoding="utf-8")
    archive_run(tmp_path, "run-2")
    with language("en"):
        chg, section = _what_changed(tmp_path, "run-2")
    assert " · Events clean rows: 3 → <b class='ubk-num'>5</b>" in section, section
    assert " · iOS users: 3" not in section and " · iOS users: 1 → " in section, section
    assert set(chg) == {("ingest", "events clean rows"), ("ingest", "iOS users")}
