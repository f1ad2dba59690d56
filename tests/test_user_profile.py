"""The user profile join on small frames, with and without the other reports' tables; other reports' tables
are read only through the report contract (helpers.base.report_table): a stale or other-run table is refused
and the findings say why."""

import json

import matplotlib
import pandas as pd
import pytest

from helpers import i18n
from helpers.base import Unavailable, inputs_fingerprint
from helpers.campaign import open_campaign
from helpers.errors import UnknownPartError
from helpers.plots import set_theme
from helpers.user_profile import (
    SOURCES,
    ProfileReport,
    load_source,
    preferred_values,
    profile_table,
    run_user_profile,
)

FEATS = pd.DataFrame(
    {
        "user_id": ["a", "b", "c"],
        "n_events": [10, 3, 50],
        "active_days": [2, 1, 9],
        "days_since_last_event": [1.0, 5.0, 0.5],
        "n_orders": [1, 0, 4],
        "spend": [10.0, 0.0, 99.0],
        "preferred_hour": [9, 21, 3],
    }
)
EV = pd.DataFrame(
    {
        "user_id": ["a", "a", "a", "b", "c"],
        "category": ["x", "y", "y", "z", None],
        "amount": [10.0, 30.0, None, 5.0, 100.0],
    }
)


def test_tags():
    """The default tags (params/_defaults.yaml, helpers/tags.py) on the profile of FEATS."""
    from helpers.params import load_params
    from helpers.tags import evaluate_tags

    t = profile_table(FEATS).merge(evaluate_tags(profile_table(FEATS), load_params("demo").tags)[0], on="user_id")
    t = t.set_index("user_id")
    assert t.loc["a", "activity_level"] == "中活跃" and t.loc["c", "activity_level"] == "高活跃"
    assert t.loc["b", "activity_level"] == "低活跃"
    assert t["active_hours"].tolist() == ["上午", "晚上", "凌晨"]
    # a label given per language: an English campaign gets the English one (params/_defaults.yaml)
    from helpers.params import Campaign

    data = load_params("demo").model_dump(mode="json")
    labels = [{"zh": "低", "en": "low"}, {"zh": "中", "en": "mid"}, {"zh": "高", "en": "hi"}]
    data["tags"]["activity_level"]["labels"] = labels
    for lang, want in (("en", "hi"), ("zh", "高")):
        cfg = Campaign.model_validate(data, context={"language": lang, "timezone": "Asia/Shanghai"})
        got = evaluate_tags(profile_table(FEATS), cfg.tags)[0].set_index("user_id")
        assert got.loc["c", "activity_level"] == want
    assert t["buyer"].tolist() == [True, False, True]


def test_preferred_values_ties_to_smallest_and_median_price():
    p = preferred_values(EV, column="category").set_index("user_id")
    assert p.loc["a", "preferred_category"] == "y" and p.loc["b", "preferred_category"] == "z"
    assert pd.isna(p.loc["c", "preferred_category"]) and p.loc["a", "median_price"] == 20.0


def _ctx(tmp_path, events: bool = True):
    """The demo campaign's context in a temporary reports folder, with a small clean events table."""
    ctx = open_campaign("demo", reports_dir=str(tmp_path), theme=False)
    if events:
        ev = EV.assign(
            event=["view", "pay", "pay", "view", "pay"],
            ts=pd.to_datetime(
                ["2024-03-01 09:00", "2024-03-01 10:00", "2024-03-03 21:00", "2024-03-02 21:00", "2024-03-04 03:00"]
            ),
        )
        ev.to_parquet(ctx.paths.table("events"), index=False)
    return ctx


RFM = pd.DataFrame(
    {"user_id": ["a", "c"], "segment": ["Champions", "Lost"], "rfm_code": ["555", "111"], "recency_days": [1, 2]}
)


def _write_producer(ctx, report: str, table: str, df: pd.DataFrame, **doc) -> None:
    """What save_report writes for a producer: its CSV and ``results/<report>.json`` naming it."""
    name = f"{report}_{table}.csv"
    df.to_csv(ctx.paths.results / name, index=False, encoding="utf-8-sig")
    (ctx.paths.results / f"{report}.json").write_text(
        json.dumps({"available": True, "csv": {table: name}, **doc}), encoding="utf-8"
    )


def test_join_with_and_without_sources(tmp_path):
    ctx = _ctx(tmp_path, events=False)
    _write_producer(ctx, "rfm", "membership", RFM, inputs={}, run_id="r1")
    mem = {"rfm": load_source(ctx, "rfm"), "churn": load_source(ctx, "churn")}
    assert mem["churn"] is None and "the churn report has not run" in ctx.upstream_problems["churn"]
    assert list(mem["rfm"].columns) == ["user_id", "rfm_segment", "rfm_code"] and ctx.upstream_used == {"rfm": "r1"}
    users = pd.DataFrame({"user_id": ["a", "b"], "city": ["北京", "上海"]})
    t = profile_table(FEATS, users=users, preferred=preferred_values(EV, column="category"), memberships=mem)
    t = t.set_index("user_id")
    assert t.loc["a", "rfm_segment"] == "Champions" and pd.isna(t.loc["b", "rfm_segment"])
    assert t.loc["b", "city"] == "上海" and pd.isna(t.loc["c", "city"])
    assert "churn_probability" in t and t["churn_probability"].isna().all()
    assert t["median_price"].notna().all()  # price_band is a default tag now (tests/test_tags.py)
    assert len(t) == 3


def test_reads_every_source():
    assert set(ProfileReport.reads) == set(SOURCES)


def test_report_joins_current_sources_and_names_missing_ones(tmp_path):
    ctx = _ctx(tmp_path)
    _write_producer(ctx, "rfm", "membership", RFM, inputs=inputs_fingerprint(ctx, ["events"]), run_id="r1")
    rep = ProfileReport.run(ctx)
    assert rep.available and rep.sources == {
        "users table": False,
        "rfm": True,
        "clustering": False,
        "churn": False,
        "sentiment": False,
    }
    assert rep.table.set_index("user_id").loc["a", "rfm_segment"] == "Champions"
    f = rep.findings()
    assert any(x.startswith("用户分群不可用（") and "clustering 报告还没有运行" in x for x in f), f
    # the empty columns by the headers the page gives them, not their codes (the tianchi page: churn_probability)
    assert any("这些列为空：流失概率、流失风险档。" in x for x in f), f
    with i18n.language("en"):  # the source opens the sentence: capitalized
        assert any(x.startswith("Churn prediction not available (") for x in rep.findings()), rep.findings()
    # the preview leaves out the columns no row has (churn, sentiment, clustering, users table), and says which
    from helpers import base

    said = []
    orig, base._display = base._display, said.append
    try:
        shown = rep._show("sample").data
    finally:
        base._display = orig
    empty = [c for c in rep.table.columns if rep.table[c].isna().all()]
    assert {"churn_probability", "cluster", "channel"} <= set(empty) and not set(empty) & set(shown.columns)
    assert "rfm_segment" in shown and said[0].data.startswith("_下面不显示全为空的列：") and "流失概率" in said[0].data
    res = rep.to_results()
    assert set(res) == {"available", "reason", *ProfileReport.result_keys} and res["sources"]["rfm"]
    assert set(rep.tables()) == set(ProfileReport.table_names)
    assert [p.name for p in rep.export(ctx)][0] == "user_profile.parquet"  # then the audiences' CSVs
    assert len(pd.read_parquet(ctx.paths.results / "user_profile.parquet")) == 3
    with matplotlib.rc_context():  # the CJK chart theme, restored afterwards
        set_theme()
        for part in ProfileReport.parts:
            rep.show(part)
        # the price band's bars read from the lowest bin down the chart, whatever each bin's count (a: 10, b: 5,
        # c: 100 as median prices: one user per third)
        fig = rep._show("tags")
        ax = next(a for a in fig.axes if a.get_title() == "价位")
        assert [x.get_text() for x in ax.get_yticklabels()] == ["低价位", "中价位", "高价位"]
        matplotlib.pyplot.close(fig)
    with pytest.raises(UnknownPartError, match="tags, tag_rules, tag_overlap, tag_effects, audiences, sample"):
        rep.show("bogus")


def test_stale_producer_is_refused(tmp_path):
    ctx = _ctx(tmp_path)
    # rfm ran on other clean events than the current ones
    _write_producer(ctx, "rfm", "membership", RFM, inputs={"events": "0123456789abcdef"}, run_id="r0")
    rep = ProfileReport.run(ctx)
    assert rep.available and rep.sources["rfm"] is False
    assert rep.table["rfm_segment"].isna().all()
    why = [x for x in rep.findings() if x.startswith("RFM 分群不可用（")]
    assert len(why) == 1 and "rfm 报告的结果来自另一次运行或旧的数据" in why[0], rep.findings()
    assert "the clean events table(s) changed since it ran (run r0)" in ctx.upstream_problems["rfm"]  # the detail
    assert "rfm" not in ctx.upstream_used


def test_batch_run_reads_only_its_own_run(tmp_path, monkeypatch):
    ctx = _ctx(tmp_path)
    monkeypatch.setenv("UBAKIT_UPSTREAM", json.dumps({"rfm": "run-2"}))
    _write_producer(ctx, "rfm", "membership", RFM, inputs={}, run_id="run-1")
    rep = run_user_profile(ctx)
    assert rep.sources["rfm"] is False and rep.table["rfm_segment"].isna().all()
    assert any(x.startswith("RFM 分群不可用（rfm 报告的结果来自另一次运行") for x in rep.findings())
    assert "it comes from run run-1, not run-2" in ctx.upstream_problems["rfm"]
    _write_producer(ctx, "rfm", "membership", RFM, inputs={}, run_id="run-2")
    rep = run_user_profile(ctx)
    assert rep.sources["rfm"] is True and ctx.upstream_used["rfm"] == "run-2"
    assert rep.table.set_index("user_id").loc["c", "rfm_segment"] == "Lost"
    assert not any(x.startswith("RFM 分群不可用") for x in rep.findings())


def test_unavailable_without_events(tmp_path):
    rep = run_user_profile(_ctx(tmp_path, events=False))
    assert isinstance(rep, Unavailable) and not rep.available
    assert set(rep.to_results()) == {"available", "reason", *ProfileReport.result_keys}
    assert "没有事件表" in rep.findings()[0] and rep.findings()[0].startswith(ProfileReport.unavailable_label)
    assert rep.tables() == {}
    with pytest.raises(UnknownPartError):
        rep.show("bogus")


PURCHASE_DONE = """
campaign: pd1
title: 自定义购买事件 custom purchase event
period: {{start: 2024-03-01, end: 2024-03-31}}
tables:
  events:
    source: {{path: "{path}"}}
    columns: {{user_id: uid, event: ev, ts: time, amount: price, order_id: order_no}}
    events: [view, order, purchase_done]
{orders}
"""
# u1 pays two orders (150), u2 places an order but never pays, u3 pays one (30), u4 only looks
PURCHASE_ROWS = (
    "uid,ev,time,price,order_no\n"
    "u1,view,2024-03-01 09:00:00,,\n"
    "u1,purchase_done,2024-03-01 09:30:00,100,P1\n"
    "u1,purchase_done,2024-03-05 20:00:00,50,P2\n"
    "u2,view,2024-03-02 10:00:00,,\n"
    "u2,order,2024-03-02 10:05:00,80,P9\n"
    "u3,view,2024-03-03 11:00:00,,\n"
    "u3,purchase_done,2024-03-03 11:10:00,30,P3\n"
    "u4,view,2024-03-04 12:00:00,,\n"
)


@pytest.mark.parametrize(
    "orders, note",
    [
        ("  orders: {derive_from: events, where_event: [purchase_done]}", "（按订单表）"),
        ("rfm: {buy_events: [purchase_done]}", "（按事件 purchase_done）"),
    ],
)
def test_buyers_come_from_the_campaigns_purchase_definition(tmp_path, write_params, orders, note):
    """Purchases named ``purchase_done``: the profile's buyers, orders and spend follow the orders table (or
    ``rfm.buy_events`` without one), as RFM does. The old profile counted events named buy/pay/order: it said
    u2 (an unpaid order) was the only buyer, 25%, and 0.0% buyers without an ``order`` event."""
    from helpers.ingest import ingest_campaign
    from helpers.rfm import rfm_table

    src = tmp_path / "e.csv"
    src.write_text(PURCHASE_ROWS, encoding="utf-8")
    pfile = write_params(PURCHASE_DONE.format(path=src, orders=orders))
    ctx = open_campaign("pd1", params_file=str(pfile), reports_dir=str(tmp_path / "r"), theme=False)
    ingest_campaign(ctx.cfg, ctx.paths, progress=False)
    rep = ProfileReport.run(ctx)
    t = rep.table.set_index("user_id")
    assert t["buyer"].to_dict() == {"u1": True, "u2": False, "u3": True, "u4": False}
    assert t["n_orders"].to_dict() == {"u1": 2, "u2": 0, "u3": 1, "u4": 0}
    assert t["spend"].to_dict() == {"u1": 150.0, "u2": 0.0, "u3": 30.0, "u4": 0.0}
    assert any(f"买过的用户{note}：50.0%。" in x for x in rep.findings()), rep.findings()
    # RFM counts the same customers
    if ctx.has("orders"):
        customers = rfm_table(ctx.table("orders")).table["user_id"].tolist()
        assert customers == sorted(t.index[t["buyer"]])


def test_a_tag_without_any_value_is_said_not_tabled(tmp_path):
    """Events without amounts (Taobao): every median price is empty, so the price band cannot tell users apart; the
    page says so and its tag tables leave it out, where they listed 低/中/高价位 with 0 users each."""
    ctx = _ctx(tmp_path)
    ev = pd.read_parquet(ctx.paths.table("events")).assign(amount=None)
    ev.astype({"amount": "float64"}).to_parquet(ctx.paths.table("events"), index=False)
    rep = ProfileReport.run(ctx)
    assert rep.available and rep.blank_tags == {"price_band": ["median_price"], "高消费": ["spend"]}  # params/demo.yaml
    assert "price_band" not in set(rep.tag_table["tag"]) and {"activity_level", "active_hours"} <= set(
        rep.tag_table["tag"]
    )
    assert not rep.overlap.astype(str).apply(lambda c: c.str.contains("price_band")).any().any()
    assert rep.table["price_band"].isna().all()  # the profile keeps the (empty) column
    assert any(f.startswith("价位无法区分用户") and "median_price" in f for f in rep.findings()), rep.findings()
    full = ProfileReport.run(_ctx(tmp_path / "b"))
    assert full.blank_tags == {} and "price_band" in set(full.tag_table["tag"])


def test_an_empty_audience_says_which_column_it_reads_is_empty():
    """An audience on churn_probability in a campaign where churn did not run had 0 users and nothing said why. Its
    finding now names the columns it reads (directly or through a tag of empty columns) that are empty for every
    user; an audience that is empty for another reason, or not empty, gets no such sentence."""
    from helpers import i18n
    from helpers.sections_tags import AudienceSpec
    from helpers.user_profile import ProfileReport, _tag_findings

    table = pd.DataFrame({"user_id": ["a", "b"], "churn_probability": [None, None], "spend": [5.0, 50.0],
                          "median_price": [None, None]})  # fmt: skip
    specs = {"risk": AudienceSpec(when="churn_probability > 0.7"), "big": AudienceSpec(when="spend > 1000"),
             "some": AudienceSpec(when="spend > 10"), "cheap": AudienceSpec(when="tag:price_band = '低'")}  # fmt: skip
    aud = pd.DataFrame({"audience": list(specs), "users": [0, 0, 1, 0], "share": [0, 0, 0.5, 0]})
    rep = ProfileReport(
        table=table, audience_specs=specs, audience_table=aud, blank_tags={"price_band": ["median_price"]}
    )
    with i18n.language("en"):
        out = [f for f in _tag_findings(rep) if f.startswith("Audience")]
    assert out[0] == (
        "Audience “risk”: 0 users (0.0%). Churn probability, which it reads, is empty for every user (that report's "
        "results are not in the profile: see above why), so nobody meets it."
    )
    assert out[1] == "Audience “big”: 0 users (0.0%)." and out[2] == "Audience “some”: 1 user (50.0%)."
    assert "Median price, which it reads, is empty" in out[3]
    with i18n.language("zh"):
        out = [f for f in _tag_findings(rep) if f.startswith("人群包")]
    assert out[0].endswith(
        "它读取的流失概率在所有用户上都为空（相应报告的结果没有并入画像，原因见上文），所以没有人符合条件。"
    )
