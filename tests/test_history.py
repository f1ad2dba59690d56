"""Relative periods (resolved with a fixed "today") and runs that remember (history, compare, the index)."""

import datetime as dt
import json
import subprocess
import sys

import pandas as pd
import pytest

from helpers.history import archive_run, change_text, compare_runs, format_comparison, list_runs
from helpers.params import ParamsError, load_params
from helpers.periods import resolve_period
from helpers.report import write_index

from .conftest import ROOT

D = dt.date
WED = D(2024, 4, 17)  # a Wednesday


@pytest.mark.parametrize(
    ("spec", "today", "expected"),
    [
        ({"last": "28d"}, WED, (D(2024, 3, 20), D(2024, 4, 16))),  # 28 days up to yesterday
        ({"last": "7d", "until": "today"}, WED, (D(2024, 4, 11), D(2024, 4, 17))),
        ({"last": "4w", "until": "2024-03-31"}, WED, (D(2024, 3, 4), D(2024, 3, 31))),
        ({"last": "1m", "until": "2024-03-31"}, WED, (D(2024, 3, 1), D(2024, 3, 31))),
        ({"last": "3m", "until": "2024-04-15"}, WED, (D(2024, 1, 16), D(2024, 4, 15))),
        ({"last": "1d"}, D(2024, 3, 1), (D(2024, 2, 29), D(2024, 2, 29))),  # leap day
        ({"last_full": "week"}, WED, (D(2024, 4, 8), D(2024, 4, 14))),  # Mon 8 – Sun 14
        ({"last_full": "week"}, D(2024, 4, 15), (D(2024, 4, 8), D(2024, 4, 14))),  # Monday: yesterday was Sunday
        ({"last_full": "week", "until": "today"}, D(2024, 4, 14), (D(2024, 4, 8), D(2024, 4, 14))),
        ({"last_full": "month"}, WED, (D(2024, 3, 1), D(2024, 3, 31))),
        ({"last_full": "month"}, D(2024, 3, 1), (D(2024, 2, 1), D(2024, 2, 29))),  # the 1st: last month is full
        ({"last_full": "month", "until": "2024-01-15"}, WED, (D(2023, 12, 1), D(2023, 12, 31))),
    ],
)
def test_resolve_period(spec, today, expected):
    assert resolve_period(**spec, today=today) == expected


@pytest.mark.parametrize("bad", [{"last": "28"}, {"last": "0d"}, {"last": "2y"}, {"last": "7d", "until": "soon"}, {}])
def test_resolve_period_rejects(bad):
    with pytest.raises(ValueError):
        resolve_period(**bad, today=WED)


def _campaign(write_params, tmp_path, period: str, name: str = "rel"):
    csv = tmp_path / "ev.csv"
    if not csv.exists():
        csv.write_text("user_id,event,ts\nu1,view,2024-04-01 10:00:00\n", encoding="utf-8")
    return write_params(
        f"campaign: {name}\ntitle: t\ntimezone: UTC\nperiod: {period}\n"
        f"tables:\n  events:\n    source: {{path: '{csv}'}}\n"
    )


def test_relative_period_in_params(write_params, tmp_path, monkeypatch):
    p = _campaign(write_params, tmp_path, "{last: 28d}")
    cfg = load_params(p, today=WED)
    assert (cfg.period.start, cfg.period.end) == (D(2024, 3, 20), D(2024, 4, 16))
    assert cfg.period.spec == "last 28d until yesterday"
    assert cfg.period.as_meta() == {"start": "2024-03-20", "end": "2024-04-16", "spec": "last 28d until yesterday"}
    monkeypatch.setenv("UBAKIT_TODAY", "2024-04-15")  # what the runner sets for every notebook of a run
    cfg = load_params(p)
    assert (cfg.period.start, cfg.period.end) == (D(2024, 3, 18), D(2024, 4, 14))
    p = _campaign(write_params, tmp_path, "{last_full: month, until: 2024-02-10}")
    cfg = load_params(p)
    assert (cfg.period.start, cfg.period.end, cfg.period.until) == (D(2024, 1, 1), D(2024, 1, 31), "2024-02-10")
    p = _campaign(write_params, tmp_path, "{start: 2024-03-01, end: 2024-03-31}")
    cfg = load_params(p)  # absolute periods keep working, with no spec
    assert (cfg.period.start, cfg.period.end, cfg.period.spec) == (D(2024, 3, 1), D(2024, 3, 31), None)


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ("{last: 28d, start: 2024-03-01}", "not both"),
        ("{last: 28}", "such as 7d"),
        ("{last_full: year}", "last_full must be 'week' or 'month'"),
        ("{last: 7d, until: someday}", "until must be"),
    ],
)
def test_relative_period_errors_name_the_key(write_params, tmp_path, period, message):
    with pytest.raises(ParamsError) as e:
        load_params(_campaign(write_params, tmp_path, period), today=WED)
    assert "period" in str(e.value) and message in str(e.value)


def _results(root, notebook: str, run_id: str, heads: list[tuple[str, object, str]]):
    res = root / "results"
    res.mkdir(parents=True, exist_ok=True)
    doc = {
        "notebook": notebook,
        "run_id": run_id,
        "headline": [{"label": lab, "value": v, "text": t} for lab, v, t in heads],
    }
    (res / f"{notebook}.json").write_text(json.dumps(doc), encoding="utf-8")


def test_history_keeps_n_and_compares(tmp_path):
    root = tmp_path / "c"
    period = {"start": "2024-04-01", "end": "2024-04-28", "spec": "last 28d until yesterday"}
    _results(root, "rfm", "run-1", [("GMV", 1000.0, "¥1,000"), ("users", 50, "50"), ("top", "A", "A")])
    archive_run(root, "run-20240101-000000-aaaaaa", keep=2, period=period)
    _results(root, "rfm", "run-2", [("GMV", 880.0, "¥880"), ("users", 50, "50"), ("top", "B", "B")])
    _results(root, "funnel", "run-2", [("conversion", 0.0, "0 %")])
    later = {**period, "start": "2024-04-02", "end": "2024-04-29"}
    archive_run(root, "run-20240102-000000-bbbbbb", keep=2, period=later)
    comp = compare_runs(root)
    assert (comp.run_a, comp.run_b) == ("run-20240101-000000-aaaaaa", "run-20240102-000000-bbbbbb")
    t = comp.table.set_index(["report", "label"])
    assert t.loc[("rfm", "GMV"), "change"] == pytest.approx(-120.0)
    assert t.loc[("rfm", "GMV"), "change_pct"] == pytest.approx(-12.0)
    assert t.loc[("rfm", "GMV"), "change_text"] == "-12.0%"
    assert t.loc[("rfm", "users"), "change_text"] == "unchanged"
    assert t.loc[("rfm", "top"), "change_text"] == "changed" and pd.isna(t.loc[("rfm", "top"), "change"])
    assert t.loc[("funnel", "conversion"), "change_text"] == "new"
    assert "new reports: funnel" in comp.notes
    assert "period 2024-04-01 – 2024-04-28 -> 2024-04-02 – 2024-04-29" in comp.notes
    assert set(comp.changed.index.map(lambda i: comp.table.loc[i, "label"])) == {"GMV", "top", "conversion"}
    text = format_comparison(comp)
    assert "rfm · GMV: ¥1,000 -> ¥880 (-12.0%)" in text
    assert "funnel · conversion: — -> 0 % (new)" in text and "nan" not in text  # a headline new in this run
    # a third run: the oldest is removed (keep 2); its results copies are exact
    _results(root, "rfm", "run-3", [("GMV", 880.0, "¥880")])
    (root / "results" / "funnel.json").unlink()
    archive_run(root, "run-20240103-000000-cccccc", keep=2)
    assert list_runs(root) == ["run-20240102-000000-bbbbbb", "run-20240103-000000-cccccc"]
    kept = root / "history" / "run-20240103-000000-cccccc"
    assert (kept / "rfm.json").read_bytes() == (root / "results" / "rfm.json").read_bytes()
    comp = compare_runs(root)
    t = comp.table.set_index(["report", "label"])
    assert t.loc[("funnel", "conversion"), "change_text"] == "gone" and "reports gone: funnel" in comp.notes
    with pytest.raises(ValueError, match="kept runs: run-20240102"):
        compare_runs(root, "run-nope", "run-20240103-000000-cccccc")


def test_a_word_headline_that_appears_or_changes_is_not_unchanged(tmp_path):
    """A headline whose value is a word (attribution's "top channel, last touch": value None, text 搜索) read
    "— -> 搜索 (unchanged)" when the first run had no channel: the comparison looked only at the values (None
    twice). It now compares the shown word: new, changed, gone or unchanged."""
    root = tmp_path / "c"
    _results(root, "attribution", "run-1", [("top", None, "–"), ("top2", None, "搜索"), ("top3", None, "搜索")])
    archive_run(root, "run-20240101-000000-aaaaaa", keep=2)
    _results(root, "attribution", "run-2", [("top", None, "搜索"), ("top2", None, "推荐"), ("top3", None, "搜索")])
    archive_run(root, "run-20240102-000000-bbbbbb", keep=2)
    comp = compare_runs(root)
    t = comp.table.set_index(["report", "label"])["change_text"]
    assert (t[("attribution", "top")], t[("attribution", "top2")], t[("attribution", "top3")]) == (
        "new",
        "changed",
        "unchanged",
    )
    assert "attribution · top: – -> 搜索 (new)" in format_comparison(comp)
    _results(root, "attribution", "run-3", [("top", None, "–"), ("top2", None, "推荐"), ("top3", None, "搜索")])
    archive_run(root, "run-20240103-000000-cccccc", keep=2)
    assert compare_runs(root).table.set_index("label").loc["top", "change_text"] == "gone"


def test_change_text():
    assert change_text(100, 112) == "+12.0%"
    assert change_text(0, 3) == "+3"
    assert change_text(0.25, 0.25) == "unchanged"
    assert change_text(None, 1) == "new" and change_text(1, None) == "gone"


def test_index_shows_changes(tmp_path, write_params):
    cfg = load_params(_campaign(write_params, tmp_path, "{last: 7d}"), today=WED)
    root = tmp_path / "c"
    _results(root, "rfm", "run-a", [("GMV", 1000.0, "¥1,000"), ("users", 50, "50")])
    archive_run(root, "run-20240101-000000-aaaaaa")
    _results(root, "rfm", "run-b", [("GMV", 880.0, "¥880"), ("users", 50, "50")])
    archive_run(root, "run-20240102-000000-bbbbbb")
    st = [{"notebook": "rfm", "status": "ok", "error": None, "seconds": 1.0, "run_id": "run-b"}]
    page = write_index(root, cfg, st, run_id="run-20240102-000000-bbbbbb").read_text(encoding="utf-8")
    assert "（-12.0%，较上次）" in page  # the page's own brackets and colon
    assert "与上次运行相比" in page and "GMV：¥1,000 → <b class='ubk-num'>¥880</b>（-12.0%）" in page
    assert (
        "users：50 → " not in page and "users: 50 → " not in page
    )  # unchanged numbers are not listed under what changed
    assert "最近 7 天，截至昨天" in page and "2024-04-10 至 2024-04-16" in page
    first = write_index(root, cfg, st).read_text(encoding="utf-8")  # no run id: no comparison
    assert "与上次运行相比" not in first


@pytest.mark.e2e
def test_run_twice_with_one_input_changed(tmp_path, write_params):
    """Two real runs (ingest only) of one campaign; between them the events file gains two rows."""
    from helpers.run import run_campaign

    csv = tmp_path / "ev.csv"
    rows = ["user_id,event,ts", "u1,view,2024-04-01 10:00:00", "u2,view,2024-04-02 11:00:00"]
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    p = write_params(
        "campaign: hist\ntitle: t\ntimezone: UTC\nperiod: {last: 28d, until: 2024-04-28}\n"
        f"history: {{keep: 5}}\ntables:\n  events:\n    source: {{path: '{csv}'}}\n"
    )
    quiet = {"reports_dir": tmp_path / "reports", "progress": False, "echo": lambda *_: None}
    s1 = run_campaign(p, only=["ingest"], **quiet)
    assert s1.ok, s1.statuses
    csv.write_text("\n".join([*rows, "u3,view,2024-04-03 12:00:00", "u1,buy,2024-04-03 13:00:00"]) + "\n")
    s2 = run_campaign(p, only=["ingest"], **quiet)
    assert s2.ok, s2.statuses
    root = tmp_path / "reports" / "hist"
    runs = list_runs(root)
    assert len(runs) == 2
    res = json.loads((root / "results" / "ingest.json").read_text(encoding="utf-8"))
    assert res["period"] == {"start": "2024-04-01", "end": "2024-04-28", "spec": "last 28d until 2024-04-28"}
    comp = compare_runs(root)
    before = json.loads((root / "history" / runs[0] / "ingest.json").read_text(encoding="utf-8"))["headline"]
    after = res["headline"]
    changed = comp.changed.set_index("label")
    for a, b in zip(before, after, strict=True):  # every headline number that moved is listed, with its change
        if a["value"] != b["value"]:
            assert changed.loc[a["label"], "change_text"] == change_text(a["value"], b["value"])
            assert changed.loc[a["label"], "after"] == b["value"]
        else:
            assert a["label"] not in changed.index
    assert len(changed) >= 1, comp.table
    index = (root / "index.html").read_text(encoding="utf-8")
    assert "与上次运行相比" in index and "较上次" in index
    cli = [sys.executable, "-m", "helpers", "compare", "--reports-dir", str(tmp_path / "reports"), "hist"]
    r = subprocess.run(cli, capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == format_comparison(comp)
    r = subprocess.run([*cli, runs[1], runs[0]], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and f"what changed: {runs[1]} -> {runs[0]}" in r.stdout
    r = subprocess.run([*cli, "run-x"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "RUN_A RUN_B" in r.stderr


def test_page_header_shows_the_relative_spec(write_params, tmp_path, monkeypatch):
    import types

    import IPython.display

    from helpers.report import show_header

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj.data))
    cfg = load_params(_campaign(write_params, tmp_path, "{last_full: week}"), today=WED)
    show_header(types.SimpleNamespace(cfg=cfg), "Trends")
    assert "2024-04-08 至 2024-04-14（UTC；上一个完整自然周，截至昨天）" in shown[0]  # the zh default
    from helpers.i18n import language
    from helpers.periods import period_words

    with language("en"):
        assert period_words("last full week until yesterday") == "last full week until yesterday"
        assert period_words("last 28d until 2024-04-30") == "last 28 days until 2024-04-30"
    assert period_words("last 4w until yesterday") == "最近 4 周，截至昨天"
