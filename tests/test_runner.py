"""End to end: the runner executes every notebook under papermill on the demo campaign and the real
Taobao sample, writes HTML without code, an index listing every report, results with the documented
keys; a broken notebook fails alone; a rerun skips up-to-date reports."""

import json
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from helpers import i18n
from helpers.params import available_notebooks
from helpers.run import run_campaign

from .conftest import REES46, ROOT, TAOBAO, TIANCHI, need

pytestmark = pytest.mark.e2e
COMMON_KEYS = {"notebook", "campaign", "title", "generated_at", "headline", "findings"}


def _clean_page(html: str) -> None:
    """A page a stakeholder can read: no code, no network script, the embedded CJK font, no stderr box, no table
    of headers only (an empty part says why in words)."""
    assert "hl-ipython3" not in html, "code cells must be hidden"  # present on every code input
    assert "open_campaign(" not in html and "import helpers" not in html
    assert not re.search(r'<script[^>]+src="https?://', html), "reports must not load scripts from the network"
    assert "font-family:'ubakit-cjk';src:url(data:font/woff;base64," in html, "Chinese text needs the embedded font"
    # a warning or log line is noise to the page's readers (what matters is said in the findings and caveats)
    assert 'data-mime-type="application/vnd.jupyter.stderr"' not in html, "stderr output on a report page"
    for table in re.findall(r"<table.*?</table>", html, re.S):
        body = re.search(r"<tbody[^>]*>(.*?)</tbody>", table, re.S)
        heads = [re.sub("<.*?>", "", h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", table, re.S)[:4]]
        assert body is not None and "<tr" in body.group(1), f"a table of headers only: {heads}"


def _check_campaign(root, summary, names):
    assert summary.ok, summary.statuses
    index = (root / "index.html").read_text(encoding="utf-8")
    for n in names:
        assert f"href='{n}.html'" in index, n
        html = (root / f"{n}.html").read_text(encoding="utf-8")
        _clean_page(html)
        res = json.loads((root / "results" / f"{n}.json").read_text(encoding="utf-8"))
        if res.get("available", True):
            assert "<img" in html, f"{n}: no chart rendered"
        assert COMMON_KEYS <= set(res), n
        assert res["headline"] and res["findings"], n
        for h in res["headline"]:
            assert set(h) == {"label", "value", "text"}
        for csv in res.get("csv", {}).values():
            assert (root / "results" / csv).exists()
        assert (root / "notebooks" / f"{n}.ipynb").exists()
    return index


def test_demo_campaign_end_to_end(tmp_path):
    names = available_notebooks()
    s = run_campaign(ROOT / "params" / "demo.yaml", reports_dir=tmp_path, jobs=2, progress=False, echo=lambda *_: None)
    root = tmp_path / "demo"
    index = _check_campaign(root, s, names)
    assert "演示电商活动" in index and s.exit_code == 0
    # the browser tab names the report in words ("data_quality · 演示电商活动" before)
    assert "<title>数据质量 · 演示电商活动</title>" in (root / "data_quality.html").read_text(encoding="utf-8")
    ing = json.loads((root / "results" / "ingest.json").read_text(encoding="utf-8"))
    assert set(ing["tables"]) == {"events", "orders", "reviews", "users"}
    ev = ing["tables"]["events"]
    assert ev["rows_in"] == ev["rows_out"] + ev["rows_quarantined"]
    assert ing["tables"]["reviews"]["encoding"] == "gb18030"
    # the planted demo effects are found by the reports
    res = {n: json.loads((root / "results" / f"{n}.json").read_text(encoding="utf-8")) for n in names}
    assert res["funnel"]["test"]["group_a"] == "信息流广告" and res["funnel"]["test"]["significant"]
    assert res["funnel"]["test"]["diff"] < -0.1
    from helpers.demo import BAD_ITEMS

    items = (root / "results" / "sentiment_items.csv").read_text(encoding="utf-8-sig").splitlines()
    assert items[1].split(",")[0] in BAD_ITEMS  # the worst-reviewed product is a planted bad one
    assert res["sentiment"]["evaluation"]["domain"]["accuracy"] >= res["sentiment"]["evaluation"]["snownlp"]["accuracy"]
    best_cohort = [f for f in res["retention"]["findings"] if "最好的群组" in f][0]  # a zh campaign: zh findings
    assert "2024-03-04" in best_cohort  # the 会员日 signup week retains best
    assert res["churn"]["available"] and res["rfm"]["available"] and res["user_profile"]["sources"]["rfm"]
    # one run: every results file carries the same run id, and the consumers read that run's tables
    run_ids = {res[n]["run_id"] for n in names}
    assert len(run_ids) == 1 and next(iter(run_ids)).startswith("run-"), run_ids
    run_id = res["ingest"]["run_id"]
    assert res["churn"]["upstream"] == {"rfm": run_id}
    assert res["user_profile"]["upstream"] == {n: run_id for n in ("rfm", "clustering", "churn", "sentiment")}
    for n in names:  # every report read the clean tables this run's ingest wrote
        assert res[n]["inputs"] and all(res["ingest"]["inputs"][t] == fp for t, fp in res[n]["inputs"].items()), n
    # where the time went: every notebook's parts add up to its total (within rounding and papermill overhead)
    tim = json.loads((root / ".state" / "timings.json").read_text())
    assert set(tim["notebooks"]) == set(names) and tim["wall_seconds"] > 0
    for nb, t in tim["notebooks"].items():
        parts = t["kernel"] + t["setup"] + t["compute"] + t["html"]
        assert t["compute"] > 0 and t["setup"] > 0, (nb, t)
        assert abs(parts - t["seconds"]) <= 0.05, (nb, t)
    # a rerun with nothing changed skips everything; --force reruns
    s2 = run_campaign(ROOT / "params" / "demo.yaml", reports_dir=tmp_path, jobs=2, progress=False, echo=lambda *_: None)
    assert {st["status"] for st in s2.statuses} == {"up-to-date"} and s2.exit_code == 0
    index = (root / "index.html").read_text(encoding="utf-8")
    funnel_heads = [h["text"] for h in res["funnel"]["headline"]]
    assert all(t in index for t in funnel_heads), "an up-to-date report keeps its headline numbers"
    s3 = run_campaign(
        ROOT / "params" / "demo.yaml",
        reports_dir=tmp_path,
        only=["ingest"],
        force=True,
        progress=False,
        echo=lambda *_: None,
    )
    assert [st["status"] for st in s3.statuses] == ["ok"]
    # the reports not run this time are listed with their last run's status, said to be earlier
    index = (root / "index.html").read_text(encoding="utf-8")
    row = re.search(r"<tr><td><a href='funnel.html'>.*?</tr>", index, re.S).group(0)
    assert "class='ok'" in row and "class='earlier'" in row and "上次运行" in row, row


@need(TAOBAO)
def test_real_taobao_campaign_end_to_end(tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "helpers",
            "run",
            str(ROOT / "params" / "taobao.yaml"),
            "--reports-dir",
            str(tmp_path),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    root = tmp_path / "taobao"
    from helpers.params import load_params
    from helpers.run import RunSummary

    names = load_params(ROOT / "params" / "taobao.yaml").run_notebooks()
    assert "sentiment" not in names and "funnel" in names
    s = RunSummary("taobao", root, [{"notebook": n, "status": "ok"} for n in names])
    _check_campaign(root, s, names)
    ing = json.loads((root / "results" / "ingest.json").read_text(encoding="utf-8"))
    assert ing["tables"]["events"]["reasons"] == {"out_of_period": 35}
    # the inline tracking plan names the events on the pages; the results keep the codes
    att = json.loads((root / "results" / "attribution.json").read_text(encoding="utf-8"))
    assert set(att["channels"]) >= {"pv", "fav", "cart"}
    for page in ("funnel", "attribution", "clustering"):
        html = (root / f"{page}.html").read_text(encoding="utf-8")
        assert "浏览" in html and "buy 次数" not in html and "cart → buy" not in html, page


def _run_cli(tmp_path, campaign: str, params: str):
    """``python -m helpers run`` on the params text, as a scheduled run does; the campaign's reports folder. Exit
    code 3 (some report unavailable) is a run that worked."""
    pfile = tmp_path / f"{campaign}.yaml"
    pfile.write_text(params, encoding="utf-8")
    r = subprocess.run(
        [sys.executable, "-m", "helpers", "run", str(pfile), "--reports-dir", str(tmp_path), "--no-progress"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode in (0, 3), r.stdout + r.stderr
    return tmp_path / campaign


REES46_PARAMS = """\
campaign: rees46
title: REES46, 2.6 hours of one day
timezone: UTC
period: {{start: 2019-10-01, end: 2019-10-01}}
notebooks: [ingest, funnel, paths, retention, rfm, trends, products]
tables:
  events:
    source: {{path: "{path}"}}
    columns: {{user_id: user_id, event: event_type, ts: event_time, item_id: product_id, category: category_code,
               amount: price, session_id: user_session}}
    events: [view, cart, purchase]
funnel: {{steps: [view, cart, purchase], window: 1h}}
rfm: {{buy_events: [purchase]}}
products: {{}}
"""


@need(REES46)
def test_real_rees46_short_log_end_to_end(tmp_path):
    """A real log the kit was not written for (REES46: "2019-10-01 00:00:00 UTC" times, no order ids, 2.6 hours of
    one day): every page is clean (no code, no warning), the reports that can compute do, and the one that cannot
    (retention, on a one-day period) is unavailable and says why, instead of an "ok" page of blanks."""
    root = _run_cli(tmp_path, "rees46", REES46_PARAMS.format(path=REES46.as_posix()))
    status = {}
    for n in ("ingest", "funnel", "paths", "retention", "rfm", "trends", "products"):
        _clean_page((root / f"{n}.html").read_text(encoding="utf-8"))
        res = json.loads((root / "results" / f"{n}.json").read_text(encoding="utf-8"))
        status[n] = res["available"]
        if not res["available"]:
            assert res["reason"], n
    assert status == {n: n != "retention" for n in status}, status
    ret = json.loads((root / "results" / "retention.json").read_text(encoding="utf-8"))
    assert ret["reason"].startswith("数据只覆盖 2019-10-01 至 2019-10-01（统计期内、完整的天）"), ret["reason"]
    ing = json.loads((root / "results" / "ingest.json").read_text(encoding="utf-8"))
    assert ing["tables"]["events"]["rows_in"] == 9999 and ing["tables"]["events"]["reasons"] == {"duplicate": 4}
    trends = json.loads((root / "results" / "trends.json").read_text(encoding="utf-8"))
    # one day: no previous window inside the period, said once and why, and no change quoted
    assert trends["findings"][0] == "本期为 2019-10-01 至 2019-10-01，下面只列出本期数值。", trends["findings"]
    assert trends["findings"][1].startswith("上一期在统计期之前") and "统计期只有 1 天" in trends["findings"][1]
    assert "上期" not in " ".join(trends["findings"][1:])
    products = json.loads((root / "results" / "products.json").read_text(encoding="utf-8"))
    assert products["available"] and products["n_baskets"] > 0
    said = " ".join(products["findings"])  # no previous window: no movers quoted against ¥0.00
    assert "上一期在统计期之前" in said and "统计期只有 1 天" in said and "变化最大" not in said, said
    funnel = json.loads((root / "results" / "funnel.json").read_text(encoding="utf-8"))
    assert any("的用户在" in f and "内转化" in f and " 内转化" not in f for f in funnel["findings"]), funnel


TIANCHI_PARAMS = """\
campaign: tianchi
title: 天池移动推荐样本
timezone: Asia/Shanghai
period: {{start: 2014-11-18, end: 2014-12-18}}
notebooks: [ingest, funnel, paths, retention, rfm, clustering, churn, user_profile, trends, products]
tables:
  events:
    source: {{path: "{path}"}}
    columns: {{user_id: user_id, event: behavior_type, ts: time, item_id: item_id, category: item_category}}
    values: {{event: {{"1": pv, "2": fav, "3": cart, "4": buy}}}}
    events: [pv, fav, cart, buy]
funnel: {{steps: [pv, cart, buy]}}
rfm: {{buy_events: [buy]}}
products: {{}}
"""


@need(TIANCHI)
def test_real_tianchi_small_log_end_to_end(tmp_path):
    """The other real log no report had been run on (34 users over a month, hour-resolution times, behaviour codes):
    every page is clean (no table of headers only among them), the reports that can compute do, churn says
    which horizon would fit, and the parts with too little data say why in words: the drivers (no candidate
    with 25 users), the anomalies (none among the metric-days checked), the basket rules (no pair in enough
    baskets), the per-day DAU and stickiness charts left out."""
    root = _run_cli(tmp_path, "tianchi", TIANCHI_PARAMS.format(path=TIANCHI.as_posix()))
    pages, status = {}, {}
    for n in ("ingest", "funnel", "paths", "retention", "rfm", "clustering", "churn", "user_profile", "trends",
              "products"):  # fmt: skip
        pages[n] = (root / f"{n}.html").read_text(encoding="utf-8")
        _clean_page(pages[n])
        status[n] = json.loads((root / "results" / f"{n}.json").read_text(encoding="utf-8"))["available"]
    assert status == {n: n != "churn" for n in status}, status
    churn = json.loads((root / "results" / "churn.json").read_text(encoding="utf-8"))
    assert "请把 churn.horizon_days 缩短到 15 天以内" in churn["reason"], churn["reason"]
    assert "没有列出相关因素" in pages["funnel"] and "没有列出相关因素" in pages["retention"]
    assert "没有异常日期" in pages["trends"] and "按天作图时" in pages["trends"]
    assert pages["trends"].count("没有设置分组属性") == 1
    assert "没有常一起买的商品" in pages["products"] and "没有频繁项集" in pages["products"]
    assert pages["rfm"].count("BG/NBD 未计算") == 3
    assert (
        "与同一用户的另一个事件时间完全相同（时间只精确到小时）" in pages["paths"]
    )  # an hourly log  # findings, the BG/NBD section, the holdout section


def test_broken_notebook_fails_alone(tmp_path):
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    shutil.copy(ROOT / "notebooks" / "ingest.ipynb", nbdir / "ingest.ipynb")
    good = nbformat.read(ROOT / "notebooks" / "ingest.ipynb", as_version=4)
    broken = nbformat.v4.new_notebook()
    broken.cells = [
        good.cells[1],
        nbformat.v4.new_code_cell("import helpers\nraise ValueError('planted failure 42')"),
        nbformat.v4.new_markdown_cell("never reached"),
    ]
    broken.metadata = good.metadata
    nbformat.write(broken, nbdir / "zz_broken.ipynb")
    s = run_campaign(
        ROOT / "params" / "demo.yaml",
        reports_dir=tmp_path / "out",
        notebooks_dir=nbdir,
        jobs=1,
        progress=False,
        echo=lambda *_: None,
    )
    st = {x["notebook"]: x for x in s.statuses}
    assert st["ingest"]["status"] == "ok"
    assert st["zz_broken"]["status"] == "failed"
    assert st["zz_broken"]["error"] == "ValueError: planted failure 42"
    assert not s.ok and s.exit_code == 1
    root = tmp_path / "out" / "demo"
    index = (root / "index.html").read_text(encoding="utf-8")
    assert "failed" in index and "planted failure 42" in index
    html = (root / "zz_broken.html").read_text(encoding="utf-8")
    assert "planted failure 42" in html  # the report shows the error
    # as a page for people: a lead in the campaign's language, the error folded for the analyst; no papermill banner
    # (English) and none of the cells after the failure (they never ran)
    with i18n.language("zh"):
        lead = i18n.t("page.failed_lead")
    block = re.split(r"class=[\"']ubk-failed[\"']", html, maxsplit=1)[1]
    assert lead in block and block.index(lead) < block.index("<details") < block.index("planted failure 42")
    assert "papermill" not in html and "An Exception was encountered" not in html and "never reached" not in html
    assert "\x1b[" not in html and "[0;31m" not in html  # no terminal colour codes


def test_cli_run_exit_codes(tmp_path, write_params):
    bad = write_params("campaign: x1\ntitle: t\nperiod: {start: 2024-01-01, end: 2024-01-02}\ntables: {}\n")
    r = subprocess.run(
        [sys.executable, "-m", "helpers", "run", str(bad), "--reports-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 2 and "at least one table" in r.stderr
    assert not (tmp_path / "x1").exists(), "nothing runs when params are invalid"
