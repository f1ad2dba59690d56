"""PDF copies of a campaign's reports: ``python -m helpers run <params> --pdf``.

After a run, each report page ``<campaign>/<name>.html`` that exists gets ``<campaign>/pdf/<name>.pdf`` and the
whole campaign one ``<campaign>/pdf/<campaign>.pdf``: the index first, then the reports in the index's order.
The pages are printed with their print CSS (A4) by WeasyPrint (pure Python on the system Pango libraries); when
WeasyPrint cannot load (Pango missing), a Chromium found on ``PATH`` prints each report instead
(``--print-to-pdf``) and no campaign PDF is written. Every PDF is rewritten on each ``--pdf`` run; a report
rerun later without ``--pdf`` keeps its older PDF.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class PdfError(RuntimeError):
    """No PDF engine: neither WeasyPrint nor a Chromium could be used."""


def _weasyprint():
    try:
        import weasyprint
    except (ImportError, OSError):  # OSError: WeasyPrint is installed but the Pango libraries are not
        return None
    for name in ("weasyprint", "fontTools"):  # it warns about each CSS property it ignores (JupyterLab's CSS)
        logging.getLogger(name).setLevel(logging.ERROR)
    return weasyprint


def _chromium() -> str | None:
    env = os.environ.get("UBAKIT_CHROMIUM")
    if env:
        return env
    return next((p for p in map(shutil.which, CHROMIUMS) if p), None)


def _chromium_pdf(binary: str, page: Path, out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="ubakit-pdf-") as profile:
        args = [binary, "--headless=new", f"--user-data-dir={profile}", "--no-pdf-header-footer"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
        args += [f"--print-to-pdf={out}", page.resolve().as_uri()]
        res = subprocess.run(args, capture_output=True, text=True, timeout=300)
    if res.returncode != 0 or not out.exists():
        raise PdfError(f"{binary} could not print {page.name}: {res.stderr.strip()[-500:]}")


def write_pdfs(root: str | os.PathLike, names: list[str], *, campaign: str | None = None) -> list[Path]:
    """Write ``<root>/pdf/<name>.pdf`` for each ``<root>/<name>.html`` of ``names`` that exists, and (with
    WeasyPrint) ``<root>/pdf/<campaign>.pdf`` of the index and those reports; return the files written.

    Raises :class:`PdfError` when neither WeasyPrint nor a Chromium is available."""
    root = Path(root)
    campaign = campaign or root.name
    pages = [(n, root / f"{n}.html") for n in names if (root / f"{n}.html").exists()]
    out_dir = root / "pdf"
    out_dir.mkdir(exist_ok=True)
    written: list[Path] = []
    wp = _weasyprint()
    if wp is None:
        binary = _chromium()
        if binary is None:
            raise PdfError(
                "--pdf needs WeasyPrint with the Pango libraries (Debian: apt-get install libpango-1.0-0 "
                "libpangoft2-1.0-0) or a Chromium on PATH"
            )
        for n, page in pages:
            _chromium_pdf(binary, page, out_dir / f"{n}.pdf")
            written.append(out_dir / f"{n}.pdf")
        return written
    docs = []
    index = root / "index.html"
    if index.exists():
        docs.append(wp.HTML(filename=str(index)).render())
    for n, page in pages:
        doc = wp.HTML(filename=str(page)).render()
        target = out_dir / f"{n}.pdf"
        doc.write_pdf(target)
        written.append(target)
        docs.append(doc)
    if docs:
        whole = out_dir / f"{campaign}.pdf"
        docs[0].copy([p for d in docs for p in d.pages]).write_pdf(whole)
        written.append(whole)
    return written


def print_pdfs(root: str | os.PathLike, names: list[str], exit_code: int) -> int:
    """``run --pdf``: write the PDFs after a run and print where they went; the run's exit code, or 1 when no
    PDF engine could be used or printing failed (the HTML reports are kept either way)."""
    import sys

    from .report import relative_paths

    try:
        written = write_pdfs(root, names)
    except Exception as e:  # a page WeasyPrint cannot lay out must not hide the run's own outcome
        print(f"--pdf: {type(e).__name__}: {relative_paths(str(e))}", file=sys.stderr)
        return exit_code or 1
    where = relative_paths(str(Path(root) / "pdf"))
    print(f"{len(written)} PDF{'s' if len(written) != 1 else ''} -> {where}")
    return exit_code
