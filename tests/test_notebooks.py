"""House rules for every notebook: a tagged parameters cell of typed literals with help comments, no
outputs committed, thin code cells (no def/class), and the campaign loaded through the package."""

import ast
import html
import re

import nbformat
import pytest

from .conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_house_rules(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    params = tagged[0]
    tree = ast.parse(params.source)
    names = []
    for node in tree.body:
        assert isinstance(node, ast.AnnAssign), "parameters cell: only typed assignments (name: type = literal)"
        assert isinstance(node.value, ast.Constant), "parameters cell: literals only, nothing derived"
        names.append(node.target.id)
    assert names[:3] == ["campaign", "params_file", "reports_dir"]
    for line in params.source.splitlines():
        assert "# help" in line, f"parameters need a '# help' comment: {line}"
    assert code.index(params) == 0, "parameters come first"
    assert "open_campaign(campaign, params_file=params_file, reports_dir=reports_dir)" in code[1].source
    # the report runs there and only there: an unavailable report's page ends after that cell
    # (helpers.report._unavailable_only finds it by this call)
    assert "run_report(" in code[1].source and sum("run_report(" in c.source for c in code) == 1
    for c in code:
        assert not c.get("outputs") and c.get("execution_count") is None, "strip outputs before commit"
        tree = ast.parse(c.source)
        assert not any(isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) for n in ast.walk(tree)), (
            "no def/class in notebooks: put logic in helpers/"
        )
        assert len(c.source.splitlines()) <= 8, f"code cell too long, move logic to helpers/: {c.source[:60]}"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")


# the page's reader cannot run cells or set parameters: such instructions belong in the parameters cell's
# help comments (code cells are not on the page), not in the Markdown the report shows
RUN_INSTRUCTION = re.compile(
    r"run (all )?(the )?cells|set `?campaign`? below|运行(所有)?单元格|在下方设置|重新运行", re.IGNORECASE
)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_markdown_speaks_to_the_reader_not_the_runner(path):
    cells = nbformat.read(path, as_version=4).cells
    for i, c in enumerate(cells):
        if c.cell_type == "markdown":
            hit = RUN_INSTRUCTION.search(c.source)
            assert hit is None, f"cell {i}: {hit.group(0)!r} is an instruction for whoever runs the notebook"


# a caveat the report prints with its part (helpers.drivers.show_drivers: drivers.caveat) is not also the section's
# introduction: the funnel and retention pages said "correlation, not cause" twice, one line apart
CAUSE = re.compile(r"not cause|因果", re.IGNORECASE)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_markdown_leaves_the_drivers_caveat_to_the_report(path):
    from helpers import i18n
    from helpers.drivers import CAVEAT

    for lang in ("zh", "en"):
        with i18n.language(lang):
            assert CAUSE.search(i18n.t(CAVEAT)), "the caveat the drivers part prints"
    cells = nbformat.read(path, as_version=4).cells
    shows_drivers = any(c.cell_type == "code" and '"drivers"' in c.source for c in cells)
    for i, c in enumerate(cells):
        if c.cell_type == "markdown" and shows_drivers:
            assert not CAUSE.search(c.source), f"cell {i}: the drivers part prints this caveat itself"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_markdown_emphasis_renders(path):
    """No ``**`` or ``__`` is left as text when the page renders a Markdown cell (nbconvert's Markdown renderer).
    CommonMark does not close ``**BG/NBD 约定：**`` before a Chinese character (punctuation before the closing
    ``**``, a letter after it), and the Chinese RFM page showed the asterisks; ``**BG/NBD 约定**：`` renders."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    for i, c in enumerate(nbformat.read(path, as_version=4).cells):
        if c.cell_type == "markdown":
            text = re.sub(r"<[^>]+>", "", re.sub(r"<code>.*?</code>", "", markdown2html_mistune(c.source), flags=re.S))
            left = re.search(r".{0,20}(\*\*|__).{0,20}", text)
            assert left is None, f"cell {i}: emphasis left as text: {left.group(0)!r}"


# ------------------------------------------------------------------------------------------------ one language
CJK = re.compile(r"[\u3400-\u9fff]")
ENGLISH_RUN = re.compile(r"\b[A-Za-z][A-Za-z'-]*(?: [A-Za-z][A-Za-z'-]*){2,}\b")
LANG_TAGS = ("lang-zh", "lang-en")


def _prose(md: str) -> str:
    """A Markdown cell's text without code spans and link targets (code names stay English in both languages)."""
    return re.sub(r"\]\([^)]*\)", "]", re.sub(r"`[^`]*`", "", md))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_markdown_comes_in_zh_en_pairs(path):
    """Each Markdown cell is in one language: a ``lang-zh`` cell followed by its ``lang-en`` twin (the page
    keeps the campaign language's; helpers.report.notebook_to_html)."""
    cells = nbformat.read(path, as_version=4).cells
    md = [i for i, c in enumerate(cells) if c.cell_type == "markdown"]
    assert md, "a notebook explains its parts in Markdown"
    for i in md:
        tags = [t for t in cells[i].metadata.get("tags", []) if t in LANG_TAGS]
        assert len(tags) == 1, f"Markdown cell {i} needs exactly one of {LANG_TAGS}: {cells[i].source[:60]!r}"
    for i in md:
        c = cells[i]
        if "lang-zh" in c.metadata["tags"]:
            twin = cells[i + 1] if i + 1 < len(cells) else None
            assert twin is not None and twin.cell_type == "markdown" and "lang-en" in twin.metadata["tags"], (
                f"cell {i}: a lang-zh cell is followed by its lang-en twin"
            )
            level = re.match(r"#*", c.source).group(0)
            assert re.match(r"#*", twin.source).group(0) == level, f"cell {i}: the twins have one heading level"
            runs = ENGLISH_RUN.findall(_prose(c.source))
            assert not runs, f"cell {i}: English words in the Chinese text: {runs}"
            assert CJK.search(c.source), f"cell {i}: the lang-zh cell is Chinese"
        else:
            prev = cells[i - 1]
            assert prev.cell_type == "markdown" and "lang-zh" in prev.metadata.get("tags", []), (
                f"cell {i}: a lang-en cell follows its lang-zh twin"
            )
            assert not CJK.search(_prose(c.source)), f"cell {i}: Chinese in the English text: {c.source[:80]!r}"


def _tiny_executed_notebook(path):
    nb = nbformat.v4.new_notebook()
    zh = nbformat.v4.new_markdown_cell("## 漏斗\n\n每个用户只计一次。", metadata={"tags": ["lang-zh"]})
    en = nbformat.v4.new_markdown_cell("## The funnel\n\nEach user counts once.", metadata={"tags": ["lang-en"]})
    code = nbformat.v4.new_code_cell("print(42)", execution_count=1)
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="output 4242\n")]
    nb.cells = [zh, en, code]
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_html_keeps_only_the_campaign_language(tmp_path, lang):
    from helpers.report import notebook_to_html

    nb = _tiny_executed_notebook(tmp_path / "tiny.ipynb")
    page = notebook_to_html(nb, tmp_path / "tiny.html", page={"language": lang}).read_text(encoding="utf-8")
    assert "output 4242" in page, "cells without a language tag are kept"
    assert ("每个用户只计一次" in page) == (lang == "zh")
    assert ("Each user counts once" in page) == (lang == "en")
    # the argument wins over the page's language
    other = "en" if lang == "zh" else "zh"
    page = notebook_to_html(nb, tmp_path / "tiny2.html", page={"language": lang}, language=other)
    assert ("Each user counts once" in page.read_text(encoding="utf-8")) == (other == "en")


def test_a_real_notebook_renders_in_one_language(tmp_path):
    from helpers.report import notebook_to_html

    path = ROOT / "notebooks" / "trends.ipynb"
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"]
    heads = {t: [c.source.splitlines()[0].lstrip("# ") for c in cells if t in c.metadata["tags"]] for t in LANG_TAGS}
    for lang, keep, drop in (("zh", "lang-zh", "lang-en"), ("en", "lang-en", "lang-zh")):
        out = notebook_to_html(path, tmp_path / "trends.html", language=lang).read_text(encoding="utf-8")
        out = html.unescape(out)
        assert all(h in out for h in heads[keep]), lang
        assert not any(h in out for h in heads[drop]), lang
