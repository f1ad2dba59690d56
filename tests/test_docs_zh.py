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
