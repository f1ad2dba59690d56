"""The report contract, checked over the whole registry: every report's parts render on a (small) demo
campaign, an unknown part raises the specific error listing the valid parts, an unavailable report keeps
every documented results key (null) and says why, ``tables()`` names match docs/results.md, and the run
order follows the declared ``reads``."""

import json
import re

import pytest

from helpers import i18n
from helpers.base import Outcome, Report, Unavailable, report_table
from helpers.errors import DependencyCycleError, StaleResultsError, UnknownPartError, UnknownReportError
from helpers.registry import REPORTS, all_reports, get_report, report_reads, run_order
from helpers.report import RUN_KEYS

from .conftest import ROOT

CLASSES = all_reports()


def test_registry_names_and_declarations():
    assert list(REPORTS)[0] == "ingest"
    for name, cls in CLASSES.items():
        assert issubclass(cls, Report) and cls.name == name
        assert cls.title and cls.parts and len(set(cls.parts)) == len(cls.parts), name
        assert set(cls.reads) <= set(REPORTS) - {name}, f"{name} reads unknown reports: {cls.reads}"
        assert "available" not in cls.result_keys and "reason" not in cls.result_keys
        assert not set(cls.result_keys) & set(RUN_KEYS), f"{name}: results keys clash with the run's metadata"
        assert (ROOT / "notebooks" / f"{name}.ipynb").exists(), f"report {name} has no notebook"
        unnamed = [tb for tb in cls.table_names if f"table.{name}.{tb}" not in i18n.catalogue()]
        assert not unnamed, f"{name}: add table.{name}.<table> to helpers/messages/tables.yaml for {unnamed}"
        assert (ROOT / "docs" / f"{'cleaning' if name == 'ingest' else name}.md").exists(), f"{name} has no docs page"
    with pytest.raises(UnknownReportError, match="the reports are: ingest, funnel"):
        get_report("funnnel")


def test_run_order_follows_reads(monkeypatch):
    order = run_order(list(reversed(REPORTS)))
    assert order[0] == "ingest"
    for name in order:
        for dep in report_reads(name):
            assert order.index(dep) < order.index(name), f"{name} must run after {dep}"
    assert order.index("churn") > order.index("rfm")
    assert order.index("user_profile") > max(order.index(n) for n in ("rfm", "clustering", "churn", "sentiment"))
    # an unregistered notebook depends on ingest only; a cycle is refused
    assert run_order(["zz_extra", "ingest"]) == ["ingest", "zz_extra"]
    monkeypatch.setattr(CLASSES["rfm"], "reads", ("churn",))
    with pytest.raises(DependencyCycleError, match="cycle"):
        run_order(["ingest", "rfm", "churn"])


def _documented():
    """``{report: (tables, keys)}`` from the table in docs/results.md."""
    text = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    out = {}
    for line in text.splitlines():
        m = re.match(r"^\| `(\w+)` \| ([^|]*) \| ([^|]*) \|", line)
        if m:
            out[m.group(1)] = (set(re.findall(r"`(\w+)`", m.group(2))), set(re.findall(r"`(\w+)`", m.group(3))))
    return out


@pytest.mark.parametrize("name", list(REPORTS))
def test_tables_and_keys_match_docs(name):
    doc = _documented()
    assert name in doc, f"docs/results.md has no row for {name}"
    tables, keys = doc[name]
    cls = CLASSES[name]
    assert tables == set(cls.table_names), f"{name}: tables in docs/results.md {tables} vs code {cls.table_names}"
    assert keys == set(cls.result_keys), f"{name}: keys in docs/results.md {keys} vs code {cls.result_keys}"


def test_the_lead_is_the_first_outcome_wherever_it_stands():
    """Report.lead(): the first finding marked Outcome (a result), wherever it stands; the first finding when
    none is marked; a plain str either way, so results files and pages get text."""

    class Two(Report):
        name = "two"

        def __init__(self, found):
            self.found = found

        def findings(self):
            return self.found

    setting, a, b = "窗口 2024-04-23 至 2024-04-29", Outcome("活跃用户：217"), Outcome("GMV：1,234")
    for found in ([setting, a, b], [setting, "定义", a, b], [a, setting, b]):
        lead = Two(found).lead()
        assert lead == "活跃用户：217" and type(lead) is str
    assert Two([setting, "定义"]).lead() == setting and Two([]).lead() is None
    assert json.dumps([setting, a], ensure_ascii=False) == '["窗口 2024-04-23 至 2024-04-29", "活跃用户：217"]'
    assert a + "。" == "活跃用户：217。" and isinstance(a, str)


@pytest.mark.parametrize("name", list(REPORTS))
def test_unavailable_twin(name):
    cls = CLASSES[name]
    twin = Unavailable(cls, "数据不足 not enough data")
    res = twin.to_results()
    assert set(res) == {"available", "reason", *cls.result_keys}
    assert res["available"] is False and res["reason"] == "数据不足 not enough data"
    assert all(res[k] is None for k in cls.result_keys)
    assert "not enough data" in twin.findings()[0] and twin.findings()[0].startswith(cls.unavailable_label)
    assert twin.lead() == twin.findings()[0]
    assert twin.tables() == {} and twin.headline()[0]["text"] == i18n.t("unavailable.value")
    with pytest.raises(UnknownPartError) as e:
        twin.show("no_such_part")
    assert e.value.parts == list(cls.parts)


@pytest.mark.xdist_group("small_demo")  # tests/conftest.py's small_demo, made once on one worker
@pytest.mark.parametrize("name", list(REPORTS))
def test_every_part_renders_on_the_demo(name, small_demo, capsys):
    ctxs, reps = small_demo
    rep = reps[name]
    if isinstance(rep, Exception):
        pytest.fail(f"{name} did not compute on the small demo: {type(rep).__name__}: {rep}")
    cls = CLASSES[name]
    assert rep.name == name and isinstance(rep, (cls, Unavailable))
    for part in cls.parts:
        assert rep.show(part) is None  # displays, returns nothing
    with pytest.raises(
        UnknownPartError,
        match=f"the {name} report has no part 'bogus'; its parts are: " + re.escape(", ".join(cls.parts)),
    ):
        rep.show("bogus")
    res = rep.to_results()
    assert set(res) == {"available", "reason", *cls.result_keys}
    assert set(rep.tables()) <= set(cls.table_names)
    saved = json.loads((ctxs[name].paths.results / f"{name}.json").read_text(encoding="utf-8"))
    assert saved["run_id"] == "run-contract" and saved["inputs_fingerprint"]
    assert set(saved.get("csv", {})) == set(rep.tables())
    assert "<ul>" in rep._repr_html_()
    # the lead (the index's top finding) is one of the findings; reports that open with their setting lead with
    # a result instead
    assert rep.lead() in rep.findings() and saved["lead"] == rep.lead()
    if name in ("trends", "impact", "churn", "experiment", "data_quality", "paths") and isinstance(rep, cls):
        assert rep.lead() != rep.findings()[0]


@pytest.mark.xdist_group("small_demo")
def test_consumers_read_the_same_run(small_demo, monkeypatch):
    ctxs, reps = small_demo
    ctx = ctxs["user_profile"]
    assert reps["rfm"].available and reps["user_profile"].available
    saved = json.loads((ctx.paths.results / "user_profile.json").read_text(encoding="utf-8"))
    assert saved["upstream"].get("rfm") == "run-contract"
    # a batch run that expects another run id refuses the table and says which run it came from
    monkeypatch.setenv("UBAKIT_UPSTREAM", json.dumps({"rfm": "run-other"}))
    with pytest.raises(StaleResultsError, match="comes from run run-contract, not run-other"):
        report_table(ctx, "rfm", "membership")
    monkeypatch.setenv("UBAKIT_UPSTREAM", json.dumps({"rfm": None}))
    assert report_table(ctx, "rfm", "membership", required=False) is None
    assert "did not complete" in ctx.upstream_problems["rfm"]
    monkeypatch.delenv("UBAKIT_UPSTREAM")
    assert len(report_table(ctx, "rfm", "membership")) > 0


def test_scheduler_runs_each_notebook_after_what_it_reads(monkeypatch):
    """The runner's scheduler (one job at a time here) starts a notebook only after the ones it depends on;
    an up-to-date one counts as done at once."""
    from helpers import run

    names = run_order(["user_profile", "churn", "rfm", "ingest", "funnel"])
    deps = {n: [d for d in report_reads(n) if d in names] for n in names}
    started, finished = [], []

    def start(n):
        started.append(n)
        return None if n == "funnel" else (n, "fp", None)  # funnel: up to date

    monkeypatch.setattr(run, "_execute_job", lambda job: {"status": "ok"})
    run._schedule(names, deps, start, lambda n, res: finished.append(n), jobs=1)
    assert started == ["ingest", "funnel", "rfm", "churn", "user_profile"]
    assert finished == ["ingest", "rfm", "churn", "user_profile"]
