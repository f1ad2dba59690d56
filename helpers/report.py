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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "embed_cjk_font",
    "save_results",
    "load_results",
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


def save_results(
    ctx,
    notebook: str,
    data: dict,
    *,
    headline_items: Sequence[dict] = (),
    findings: Sequence[str] = (),
    tables: dict[str, pd.DataFrame] | None = None,
    meta: dict | None = None,
) -> Path:
    """Write ``results/<notebook>.json`` (+ one CSV per table) for the campaign of ``ctx``; return the JSON path.

    ``meta``: run metadata (``run_id``, ``inputs_fingerprint``, ``inputs``, ``upstream``) placed after the
    common keys; :func:`helpers.registry.save_report` fills it.
    """
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
    }
    doc.update(_jsonable(data))
    csvs = {}
    for name, df in (tables or {}).items():
        if df is None:
            continue
        p = ctx.paths.file(f"results/{notebook}_{name}.csv")
        df.to_csv(p, index=False, encoding="utf-8-sig")
        csvs[name] = p.name
    if csvs:
        doc["csv"] = csvs
    out = ctx.paths.file(f"results/{notebook}.json")
    out.write_text(json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False), encoding="utf-8")
    return out


def load_results(ctx_or_paths, notebook: str) -> dict | None:
    """The saved results of a notebook, or None when it has not run."""
    paths = getattr(ctx_or_paths, "paths", ctx_or_paths)
    p = paths.results / f"{notebook}.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None


def show_findings(findings: list[str], *, title: str = "关键发现 Key findings"):
    """Display the key findings as a Markdown list (the first thing a report shows)."""
    from IPython.display import Markdown, display

    body = "\n".join(f"- {f}" for f in findings) or "- (no findings)"
    display(Markdown(f"### {title}\n\n{body}"))


# ------------------------------------------------------------------------------------------------ HTML
def notebook_to_html(
    ipynb: str | Path, out_html: str | Path, *, show_code: bool = False, title: str | None = None
) -> Path:
    """Convert an executed notebook to one self-contained HTML file (images inline), code hidden
    unless ``show_code``. Cells tagged ``remove-cell`` are dropped; ``remove-input`` hides one input."""
    import nbformat
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    c = Config()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = {"remove-cell"}
    c.TagRemovePreprocessor.remove_input_tags = {"remove-input", "injected-parameters", "parameters"}
    c.HTMLExporter.exclude_input = not show_code
    c.HTMLExporter.exclude_input_prompt = True
    c.HTMLExporter.exclude_output_prompt = True
    c.HTMLExporter.embed_images = True
    exporter = HTMLExporter(config=c, template_name="lab")
    nb = nbformat.read(str(ipynb), as_version=4)
    if not show_code:
        # drop the parameter cells entirely and any cell with no output
        nb.cells = [cell for cell in nb.cells if cell.cell_type != "code" or cell.get("outputs")]
    if title:
        nb.metadata["title"] = title
    body, _ = exporter.from_notebook_node(nb)
    body = embed_cjk_font(_strip_external(body))
    out = Path(out_html)
    out.write_text(body, encoding="utf-8")
    return out


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
    sub.populate(text="".join(sorted(chars)) + "·–")
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


def _strip_external(body: str) -> str:
    """Remove the MathJax / require.js CDN script tags: reports must open offline."""
    import re

    return re.sub(r'<script[^>]+src="https?://[^"]+"[^>]*>\s*</script>', "", body)


_INDEX_CSS = """
body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",system-ui,sans-serif;margin:2rem auto;
max-width:1100px;color:#222;padding:0 1rem}h1{margin-bottom:.2rem}.sub{color:#666;margin-top:0}
table{border-collapse:collapse;width:100%;margin-top:1rem}th,td{border-bottom:1px solid #ddd;padding:.5rem;
text-align:left;vertical-align:top}th{background:#f5f5f5}.ok{color:#1a7f37;font-weight:600}
.failed{color:#cf222e;font-weight:600}.skipped{color:#9a6700;font-weight:600}.err{color:#cf222e;font-size:.9em;
font-family:monospace;white-space:pre-wrap}ul{margin:.2rem 0;padding-left:1.2rem}.num{font-variant-numeric:tabular-nums}
"""

_STATUS_ZH = {"ok": "完成 ok", "failed": "失败 failed", "skipped": "跳过 skipped", "up-to-date": "最新 up to date"}


def write_index(root: Path, cfg, statuses: list[dict]) -> Path:
    """Write ``<campaign>/index.html``: campaign summary, one row per report with its status, link,
    headline numbers (from ``results/<notebook>.json``) and, for failures, the error's last line."""
    e = html.escape
    rows = []
    for st in statuses:
        nb = st["notebook"]
        res_path = root / "results" / f"{nb}.json"
        heads = ""
        if st["status"] in ("ok", "up-to-date") and res_path.exists():
            try:
                res = json.loads(res_path.read_text(encoding="utf-8"))
                heads = (
                    "<ul>"
                    + "".join(
                        f"<li>{e(str(h.get('label')))}: <b class='num'>{e(str(h.get('text')))}</b></li>"
                        for h in res.get("headline", [])
                    )
                    + "</ul>"
                )
            except (ValueError, OSError):
                heads = ""
        status = st["status"]
        cls = "ok" if status in ("ok", "up-to-date") else status
        link = f"<a href='{e(nb)}.html'>{e(nb)}</a>" if (root / f"{nb}.html").exists() else e(nb)
        err = f"<div class='err'>{e(st.get('error') or '')}</div>" if st.get("error") else ""
        secs = st.get("seconds")
        rows.append(
            f"<tr><td>{link}</td><td class='{cls}'>{e(_STATUS_ZH.get(status, status))}</td>"
            f"<td class='num'>{'' if secs is None else f'{secs:,.1f} s'}</td><td>{heads}{err}</td></tr>"
        )
    period = f"{cfg.period.start} – {cfg.period.end} ({cfg.timezone})"
    page = f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{e(cfg.title)} · ubakit</title>
<style>{_INDEX_CSS}</style></head><body>
<h1>{e(cfg.title)}</h1><p class="sub">活动 campaign <b>{e(cfg.campaign)}</b> · 分析周期 period {e(period)}
 · 生成于 generated {e(dt.datetime.now().strftime("%Y-%m-%d %H:%M"))}</p>
<p>{e(cfg.description or "")}</p>
<table><thead><tr><th>报告 Report</th><th>状态 Status</th><th>耗时 Time</th>
<th>关键数字 Headline numbers</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<p class="sub">Results files for BI/CRM: <a href="results/">results/</a> · clean tables: data/ ·
rejected rows: quarantine/</p>
</body></html>"""
    out = root / "index.html"
    out.write_text(embed_cjk_font(page), encoding="utf-8")
    return out


def show_header(ctx, report_title: str):
    """Display the report's campaign line under its title: campaign title, period, time zone, report name."""
    from IPython.display import Markdown, display

    c = ctx.cfg
    display(
        Markdown(
            f"**{c.title}** · 活动 campaign `{c.campaign}` · 分析周期 period "
            f"{c.period.start} – {c.period.end} ({c.timezone}) · {report_title}"
        )
    )
