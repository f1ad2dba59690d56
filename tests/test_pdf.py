"""``python -m helpers run --pdf`` (helpers/pdf.py): a PDF per report and one for the whole campaign."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import pdf

ROOT = Path(__file__).resolve().parent.parent


def _read(path: Path) -> tuple[int, str]:
    """(pages, text without whitespace) of a PDF: pypdf when installed, else the page-count markers."""
    data = path.read_bytes()
    assert data.startswith(b"%PDF-"), f"{path.name} is not a PDF"
    try:
        import pypdf
    except ImportError:
        return len(re.findall(rb"/Type\s*/Page\b", data)), ""
    reader = pypdf.PdfReader(path)
    text = "".join(p.extract_text() or "" for p in reader.pages)
    return len(reader.pages), re.sub(r"\s+", "", text)


PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title>
<style>@page {{ size: A4; margin: 1cm }}</style></head>
<body><h1>{title}</h1>{body}</body></html>"""


def _site(tmp_path: Path) -> Path:
    root = tmp_path / "camp"
    root.mkdir(parents=True)
    (root / "index.html").write_text(PAGE.format(title="Index page", body="<p>two reports</p>"), encoding="utf-8")
    long = "".join(f"<p>row {i}: conversion report paragraph</p>" for i in range(120))  # more than one A4 page
    (root / "alpha.html").write_text(PAGE.format(title="Alpha report", body=long), encoding="utf-8")
    (root / "beta.html").write_text(PAGE.format(title="Beta report", body="<p>short</p>"), encoding="utf-8")
    return root


def test_write_pdfs_per_report_and_campaign(tmp_path):
    if pdf._weasyprint() is None:
        pytest.skip("WeasyPrint cannot load here (Pango missing)")
    root = _site(tmp_path)
    written = pdf.write_pdfs(root, ["alpha", "beta", "never_ran"], campaign="camp")
    assert [p.name for p in written] == ["alpha.pdf", "beta.pdf", "camp.pdf"]  # a page not written: no PDF
    n_alpha, text_alpha = _read(root / "pdf" / "alpha.pdf")
    n_beta, _ = _read(root / "pdf" / "beta.pdf")
    n_all, text_all = _read(root / "pdf" / "camp.pdf")
    assert n_alpha >= 2 and n_beta == 1
    assert n_all == 1 + n_alpha + n_beta  # the index, then each report in order
    if text_all:
        assert "Alphareport" in text_alpha and "row119" in text_alpha
        assert text_all.index("Indexpage") < text_all.index("Alphareport") < text_all.index("Betareport")


def test_chinese_text_with_spaces_and_bold_is_extractable(tmp_path):
    """A Chinese page's PDF keeps its text: spaces inside a run of Chinese (a title, a bold finding) are in the
    embedded font subset, so WeasyPrint maps every glyph with Identity-H; without the space glyph it wrote its own
    encoding CMap for that font, and readers (pypdf, pdfminer) got NUL bytes between the characters, or nothing."""
    if pdf._weasyprint() is None:
        pytest.skip("WeasyPrint cannot load here (Pango missing)")
    from helpers.report import embed_cjk_font

    body = "<p><strong>模型没有明显优于基线</strong> 普通文字 在这里</p><p><b>粗体的</b>和<em>斜体的</em> 文字</p>"
    root = tmp_path / "camp"
    root.mkdir()
    (root / "zh.html").write_text(embed_cjk_font(PAGE.format(title="漏斗分析 标题", body=body)), encoding="utf-8")
    pdf.write_pdfs(root, ["zh"])
    n, text = _read(root / "pdf" / "zh.pdf")
    assert n == 1
    if text:
        assert "\x00" not in text
        assert "漏斗分析标题" in text and "模型没有明显优于基线普通文字在这里" in text and "粗体的和斜体的文字" in text


def test_chromium_fallback_when_weasyprint_cannot_load(tmp_path, monkeypatch):
    if pdf._chromium() is None:
        pytest.skip("no Chromium installed")
    root = _site(tmp_path)
    monkeypatch.setattr(pdf, "_weasyprint", lambda: None)
    written = pdf.write_pdfs(root, ["beta"])
    assert [p.name for p in written] == ["beta.pdf"]  # per report only: no campaign PDF without WeasyPrint
    assert _read(root / "pdf" / "beta.pdf")[0] == 1


def test_no_engine_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf, "_weasyprint", lambda: None)
    monkeypatch.setattr(pdf, "_chromium", lambda: None)
    with pytest.raises(pdf.PdfError, match="WeasyPrint.*Pango.*Chromium"):
        pdf.write_pdfs(_site(tmp_path), ["alpha"])
    assert pdf.print_pdfs(_site(tmp_path / "x"), ["alpha"], 0) == 1  # the run's HTML stays; exit code says so


@pytest.mark.e2e
def test_run_pdf_on_a_small_demo(tmp_path):
    """``python -m helpers run params/demo.yaml --only ingest,funnel --pdf`` on 300 users."""
    if pdf._weasyprint() is None:
        pytest.skip("WeasyPrint cannot load here (Pango missing)")
    pdir = tmp_path / "params"
    pdir.mkdir()
    text = (ROOT / "params" / "demo.yaml").read_text(encoding="utf-8").replace("n_users: 2000", "n_users: 300")
    assert "n_users: 300" in text
    (pdir / "demo.yaml").write_text(text, encoding="utf-8")
    shutil.copy(ROOT / "params" / "_defaults.yaml", pdir / "_defaults.yaml")
    cmd = [sys.executable, "-m", "helpers", "run", str(pdir / "demo.yaml"), "--only", "ingest,funnel"]
    cmd += ["--reports-dir", str(tmp_path / "reports"), "--no-progress", "--pdf"]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert res.returncode in (0, 3), res.stdout + res.stderr
    assert "3 PDFs -> " in res.stdout
    root = tmp_path / "reports" / "demo"
    pages = {}
    for name in ("ingest", "funnel"):
        html = (root / f"{name}.html").read_text(encoding="utf-8")
        h1 = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1)  # the report's title
        title = re.sub(r"<[^>]+>|&[a-z]+;|&#\d+;|¶|\s+", "", h1).split("·")[0]
        n, text = _read(root / "pdf" / f"{name}.pdf")
        assert n > 0
        if text:
            assert title and title in text, f"{name}.pdf does not contain its title {title!r}"
        pages[name] = n
    n_all, _ = _read(root / "pdf" / "demo.pdf")
    assert n_all > sum(pages.values())  # the index comes first
