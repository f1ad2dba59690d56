"""docs/zh mirrors docs/ for the definitions page (helpers/page.py ``definitions_page``): every translated page has
its English source's headings (count and levels, so sections map 1:1), code spans, code blocks and numbers; the
zh definitions page of the demo has every page it needs in Chinese and no English sentence."""

import re
from html import unescape
from pathlib import Path

import pytest

from helpers import i18n
from helpers.page import definitions_page
from helpers.registry import REPORTS
from helpers.rfm_segments import NAMED_RULES

from .conftest import ROOT

DOCS = ROOT / "docs"
ZH = sorted((DOCS / "zh").glob("*.md"))
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
SPAN = re.compile(r"`(?:[^`\n]|\n(?!\s*\n))+`")  # may wrap a line, not a paragraph
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# three or more Latin words in a row (spaces between them only): an English phrase, not a term
ENGLISH = re.compile(r"[A-Za-z][A-Za-z'’-]*(?: +[A-Za-z][A-Za-z'’-]*){2,}")
# names, not sentences: the RFM segments' stable machine values (CSV) and a data set's name
NAMES = sorted({r[0] for r in NAMED_RULES} | {"Online Retail II"}, key=len, reverse=True)


def _parts(text: str) -> dict:
    blocks = FENCE.findall(text)
    rest = FENCE.sub("", text)
    spans = [re.sub(r"\s+", " ", s) for s in SPAN.findall(rest)]
    prose = SPAN.sub(" ", rest)
    return {
        "headings": [len(m.group(1)) for m in re.finditer(r"^(#{1,6}) ", rest, re.M)],
        "blocks": blocks,
        "spans": set(spans),
        "numbers": set(NUMBER.findall(prose)),
    }


def _cited() -> set[str]:
    """The docs the demo's pages can cite: ``docs/<x>.md`` in the notebooks and the message catalogue."""
    found: set[str] = set()
    for p in [*(ROOT / "notebooks").glob("*.ipynb"), *(ROOT / "helpers" / "messages").glob("*.yaml")]:
        found.update(re.findall(r"docs/([\w-]+)\.md", p.read_text(encoding="utf-8")))
    return {n for n in found if (DOCS / f"{n}.md").exists()}


def test_hand_made_parts():
    text = "# A (`x.py`)\n\n## Rules 2\n```\nk = 1\n```\n- `a` is 95% of 2,000 users\n"
    p = _parts(text)
    assert p["headings"] == [1, 2]
    assert p["spans"] == {"`x.py`", "`a`"}
    assert p["numbers"] == {"2", "95", "2,000"}
    assert p["blocks"] == ["```\nk = 1\n```"]
    assert ENGLISH.findall("漏斗 Wilson score 区间") == []
    assert ENGLISH.findall("见 the funnel report 一节") == ["the funnel report"]


@pytest.mark.parametrize("zh", ZH, ids=[p.stem for p in ZH])
def test_zh_page_mirrors_english(zh: Path):
    en = DOCS / zh.name
    assert en.exists(), f"{zh} has no English source {en}: remove it or add the English page"
    a, b = _parts(en.read_text(encoding="utf-8")), _parts(zh.read_text(encoding="utf-8"))
    assert b["headings"] == a["headings"], f"{zh}: headings (levels) differ from {en}; update the translation"
    assert b["blocks"] == a["blocks"], f"{zh}: code blocks differ from {en}"
    assert b["spans"] == a["spans"], (
        f"{zh}: code spans differ from {en}: only in English {sorted(a['spans'] - b['spans'])}, "
        f"only in Chinese {sorted(b['spans'] - a['spans'])}"
    )
    assert b["numbers"] == a["numbers"], (
        f"{zh}: numbers differ from {en}: only in English {sorted(a['numbers'] - b['numbers'])}, "
        f"only in Chinese {sorted(b['numbers'] - a['numbers'])}"
    )


def test_demo_definitions_pages_are_translated():
    needed = sorted({n for n in REPORTS if (DOCS / f"{n}.md").exists()} | _cited())
    missing = [n for n in needed if not (DOCS / "zh" / f"{n}.md").exists()]
    assert not missing, f"docs/zh lacks {missing}: translate docs/<name>.md into docs/zh/<name>.md"


def test_zh_definitions_page_has_no_english(tmp_path):
    with i18n.language("zh"):
        page = definitions_page(tmp_path, list(REPORTS), cited=sorted(_cited()))
    assert page is not None
    body = page.split("<body", 1)[1]
    body = re.sub(r"<code>.*?</code>|<pre>.*?</pre>|<style>.*?</style>", " ", body, flags=re.S)
    text = unescape(re.sub(r"<[^>]+>", " ", body))
    with i18n.language("zh"):
        assert i18n.t("page.definitions_untranslated") not in text
    for name in NAMES:
        text = text.replace(name, " ")
    english = [m for line in text.splitlines() for m in ENGLISH.findall(line)]
    assert not english, f"English phrases on the zh definitions page: {english[:20]}"


def test_language_picks_the_docs_and_falls_back_with_a_note(tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    (docs / "zh").mkdir(parents=True)
    (docs / "funnel.md").write_text("# Funnel\n\nEnglish rule.\n", encoding="utf-8")
    (docs / "zh" / "funnel.md").write_text("# 漏斗\n\n中文规则。\n", encoding="utf-8")
    (docs / "tags.md").write_text("# Tags\n\nOnly in English.\n", encoding="utf-8")
    monkeypatch.setattr("helpers.page._docs_dir", lambda: docs)
    with i18n.language("zh"):
        zh = definitions_page(tmp_path, ["funnel"], cited=["tags"])
        note = i18n.t("page.definitions_untranslated")
    assert zh is not None and "中文规则" in zh and "English rule" not in zh
    tags = zh.split("id='def-tags'", 1)[1]
    assert note in tags and "Only in English" in tags and ">Tags<" in tags
    assert zh.count(note) == 1, "the note only on the untranslated section"
    with i18n.language("en"):
        en = definitions_page(tmp_path, ["funnel"], cited=["tags"])
    assert en is not None and "English rule" in en and "中文规则" not in en and note not in en
    # the campaign's title above the heading and in the browser tab, as on the report pages, escaped
    with i18n.language("zh"):
        titled = definitions_page(tmp_path, ["funnel"], title="演示<b>活动</b>")
    assert titled is not None and "<title>指标定义 · 演示&lt;b&gt;活动&lt;/b&gt;</title>" in titled
    assert "<p class='ubk-campaign'>演示&lt;b&gt;活动&lt;/b&gt;</p><h1>指标定义</h1>" in titled
    assert "<title>Definitions</title>" in en and en.count("class='ubk-campaign'") == 1  # no title: the note only


def test_en_definitions_page_titles_have_no_chinese(tmp_path):
    """An English campaign's definitions page has English section titles and headings: the English docs had given
    Chinese names in their titles ("商品 · Products", "RFM 客户价值分层", "Attribution (归因分析)"), which the page
    shows as each section's first heading. Their prose may keep the analysts' Chinese terms."""
    with i18n.language("en"):
        page = definitions_page(tmp_path, list(REPORTS), cited=sorted(_cited() | {"tags", "identity"}))
    assert page is not None
    titles = [unescape(re.sub(r"<[^>]+>", "", x)) for x in re.findall(r"<h2>(.*?)</h2>", page, re.S)]
    toc = [unescape(x) for x in re.findall(r"<li><a href='#def-[^']+'>(.*?)</a></li>", page)]
    assert (
        "Tags and audiences" in toc
        and "Identity stitching" in toc
        and "Products: sales, repurchase and baskets" in titles
    )
    assert not [x for x in titles + toc if re.search(r"[\u4e00-\u9fff]", x)], titles + toc


def test_sections_for_analysts_are_folded_on_both_languages(tmp_path, monkeypatch):
    """Hand-made docs: the rules stay open; params, results files and how it is computed are folded, each in a
    closed ``<details>`` headed by its own title; the zh twin folds the same sections, found on the English doc's
    headings by position; a doc whose rendered headings do not line up is left unfolded."""
    docs = tmp_path / "docs"
    (docs / "zh").mkdir(parents=True)
    (docs / "funnel.md").write_text(
        "# Funnel\n\nIntro.\n\n## Rules\n\nRule one.\n\n## How it is computed\n\nSorted keys.\n\n### Detail\n\n"
        "Deep.\n\n## Params (`funnel:`)\n\n```yaml\n## not a heading\nx: 1\n```\n\n## Limits\n\nThin data.\n",
        encoding="utf-8",
    )
    (docs / "zh" / "funnel.md").write_text(
        "# 漏斗\n\n简介。\n\n## 规则\n\n规则一。\n\n## 计算方法\n\n排序。\n\n### 细节\n\n更深。\n\n"
        "## 参数（`funnel:`）\n\n```yaml\n## not a heading\nx: 1\n```\n\n## 局限\n\n数据少。\n",
        encoding="utf-8",
    )
    monkeypatch.setattr("helpers.page._docs_dir", lambda: docs)
    for lang, rules, folded, limits in (
        ("en", "Rule one.", ["How it is computed", "Params (funnel:)"], "Thin data."),
        ("zh", "规则一。", ["计算方法", "参数（funnel:）"], "数据少。"),
    ):
        with i18n.language(lang):
            page = definitions_page(tmp_path, ["funnel"])
            tag = i18n.t("page.for_analysts")
        assert page is not None
        boxes = re.findall(r"<details class='ubk-analyst'><summary>(.*?)</summary>(.*?)</details>", page, re.S)
        heads = [unescape(re.sub(r"<[^>]+>", "", s.split("<span")[0])).strip() for s, _ in boxes]
        assert heads == folded, (lang, heads)
        assert all(tag in s for s, _ in boxes) and "<details class='ubk-analyst' open" not in page
        assert ("Sorted keys." in boxes[0][1] or "排序。" in boxes[0][1]) and "<h4>" in boxes[0][1], "sub-sections fold"
        outside = re.sub(r"<details.*?</details>", "", page, flags=re.S)
        assert rules in outside and limits in outside
    # the English doc gains a heading the translation lacks: the zh page's headings no longer line up, nothing folds
    (docs / "funnel.md").write_text((docs / "funnel.md").read_text(encoding="utf-8") + "\n## Engine\n\nX.\n")
    with i18n.language("zh"):
        page = definitions_page(tmp_path, ["funnel"])
    assert page is not None and "ubk-analyst'" not in page and "排序。" in page


def test_real_definitions_page_folds_what_each_doc_marks(tmp_path):
    """The kit's docs: every section that :func:`helpers.page.analyst_sections` marks is folded on the zh and the
    English page (the rendered headings line up with each doc's), and each report keeps an open section."""
    from helpers.page import analyst_sections, doc_headings

    names = sorted(n for n in set(REPORTS) | _cited() if (DOCS / f"{n}.md").exists())
    want = sum(len(analyst_sections(DOCS / f"{n}.md")) for n in names)
    assert want >= 30
    for lang in ("zh", "en"):
        with i18n.language(lang):
            page = definitions_page(tmp_path, list(REPORTS), cited=sorted(_cited()))
        assert page is not None and page.count("<details class='ubk-analyst'>") == want, lang
    for n in ("funnel", "retention", "rfm", "experiment", "impact", "trends", "products", "attribution"):
        assert len(analyst_sections(DOCS / f"{n}.md")) < len(doc_headings(DOCS / f"{n}.md")), n
