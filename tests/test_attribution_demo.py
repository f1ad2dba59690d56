"""The attribution report and the drivers on the generated demo (params/demo.yaml, generated and ingested into
tmp_path): the planted opener/closer channels and the planted fav-before-cart driver (helpers/demo_attribution.py)."""

import json

import ibis
import numpy as np
import pandas as pd
import pytest

from helpers.attribution import MODELS, NO_TOUCH, AttributionReport, build_journeys, conversion_table, touch_table
from helpers.campaign import open_campaign
from helpers.demo_attribution import SOURCES
from helpers.funnel import FunnelReport
from helpers.quality import IngestReport
from helpers.retention import RetentionReport
from tests.test_attribution import plain

#: the module fixture's demo is made once: every test of the module on one worker
pytestmark = pytest.mark.xdist_group("attribution_demo")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    ctx = open_campaign("demo", reports_dir=str(tmp_path_factory.mktemp("reports")), theme=False)
    IngestReport.run(ctx)
    return ctx, AttributionReport.run(ctx)


def test_plant_is_recorded_and_in_the_raw_events(demo):
    ctx, _ = demo
    planted = json.loads((ctx.paths.root / "raw" / "manifest.json").read_text(encoding="utf-8"))["planted"]
    p = planted["attribution"]
    assert (p["touch_col"], p["opener"], p["closer"]) == ("utm_source", "社交分享", "搜索")
    assert p["driver"]["event"] == "fav" and p["driver"]["rows"] > 0
    ev = ctx.table("events").select("session_id", "ts", "utm_source").to_pandas()
    filled = ev[ev["utm_source"].fillna("") != ""]
    assert set(filled["utm_source"]) == set(SOURCES)
    # one source per session, on its first event (a later plant may copy a few rows, sources included)
    assert filled["session_id"].duplicated().mean() < 0.03
    first = ev.sort_values("ts").drop_duplicates("session_id")
    assert (first["utm_source"].fillna("") != "").mean() > 0.95  # quarantined rows may hide a few first events


def test_credits_sum_to_totals_and_find_the_planted_channels(demo):
    ctx, rep = demo
    assert rep.available, getattr(rep, "reason", "")
    j = rep.journeys
    conv = j[j["converted"]]
    untouched = conv[conv["touches"] == 0]
    sums = rep.credits.groupby("model")[["conversions", "value"]].sum()
    assert list(sums.index.sort_values()) == sorted(MODELS)
    # every conversion is credited: the touched ones to channels, the others to the no-touch bucket (never dropped)
    assert np.allclose(sums["conversions"], len(conv)) and np.allclose(sums["value"], conv["value"].sum())
    none = rep.credits[rep.credits["channel"] == NO_TOUCH]
    assert len(none) == len(MODELS) and (none["conversions"] == len(untouched)).all()
    assert np.allclose(none["value"], untouched["value"].sum())
    # one conversion per order: a paid order's item rows share its order id (and instant); they were one
    # conversion with touches and the rest without, 35.4 % "without a touch" until 2026-12-06
    pays = ctx.table("events").select("event", "order_id").to_pandas().query("event == 'pay'")
    assert len(conv) == pays["order_id"].nunique() < len(pays)
    # the later demo plants (promotion, basket, experiment, impact) add payments without a touch: shown, with share
    share = len(untouched) / len(conv)
    assert 0.01 < share < 0.1 and rep.to_results()["unattributed"] == len(untouched)
    assert any(f"{share:.1%}" in f for f in rep.findings())
    assert rep.top_by_model()["first"] != NO_TOUCH
    w = rep.wide.set_index("channel").drop(index=NO_TOUCH)
    # 社交分享 opens journeys: far more first-touch than last-touch credit; 搜索 closes them
    assert w.at["社交分享", "first"] > 3 * w.at["社交分享", "last"]
    assert w["last"].idxmax() == "搜索" and w["first"].idxmax() == "社交分享"
    assert w.at["搜索", "last"] > 1.5 * w.at["搜索", "first"]
    assert rep.top_by_model()["last"] == "搜索"
    ci = rep.credits[(rep.credits["model"] == "markov") & (rep.credits["channel"] != NO_TOUCH)]
    assert (ci["ci_low"] <= ci["conversions"]).all() and (ci["conversions"] <= ci["ci_high"]).all()
    assert rep.shapley_exact
    assert any("社交分享" in f for f in rep.findings())


def test_fast_journeys_equal_the_portable_ones_on_the_demo(demo):
    ctx, rep = demo
    p = ctx.cfg.attribution
    ev = ctx.table("events")
    tch = touch_table(ev, touch_col=p.touch_col, touch_events=p.touch_events)
    conv = conversion_table(ev, event=p.conversion_event, value_col=p.value_col)
    slow = build_journeys(tch, conv, lookback_days=p.lookback_days, fast=False)
    for a, b in zip((rep.touches, rep.journeys), slow, strict=True):
        pd.testing.assert_frame_equal(plain(a), plain(b), check_dtype=False)


def test_planted_driver_ranks_first(demo):
    ctx, _ = demo
    rep = FunnelReport.run(ctx)
    d = rep.drivers
    assert d is not None
    top = d[d["supported"]].iloc[0]
    assert top["candidate"] == "event: fav" and top["odds_ratio"] > 3 and top["ci_low"] > 1
    assert {"a", "b", "c", "d"} <= set(d.columns) and (d["a"] + d["b"]).nunique() == 1
    # the page names the event by the tracking plan's display name (收藏); the table and CSV keep the code
    assert "drivers" in rep.tables() and any("转化相关因素第一位：事件“收藏”，" in f for f in rep.findings())
    assert not any("fav" in f for f in rep.findings()) and rep.tables()["drivers"]["candidate"].iloc[0] == "event: fav"
    shown = rep._show("drivers").data
    assert "事件“收藏”" in set(shown["candidate"]) and not any("fav" in c for c in shown["candidate"])
    from helpers import i18n

    with i18n.language("en"):  # an English campaign: the plan's Chinese names are not shown, the codes are
        en = FunnelReport.run(ctx)
        assert en.event_names == {} and any("Top conversion driver: event fav." in f for f in en.findings())


def test_retention_drivers_on_the_demo(demo):
    ctx, _ = demo
    rep = RetentionReport.run(ctx)
    d = rep.drivers
    assert d is not None and len(d) and d["phi"].dropna().between(-1, 1).all()
    assert (d["phi"].isna() == (d["band"] == "")).all() and "drivers" in rep.tables()
    assert d["phi"].isna().sum() <= 5  # only "did it" by everyone (e.g. view at least once): no correlation
    top = d[d["supported"]].iloc[0]["event"]
    names = rep.event_names
    assert names.get("view") == "浏览商品" and any(f"前几天内{names.get(top, top)}至少" in f for f in rep.findings())
    assert set(rep._show("drivers").data["event"]) <= set(names.values()) | set(d["event"])


def test_conversions_without_a_value_show_no_value_rather_than_zero(demo):
    """Without amounts (value_col null, or a column with no value), the value columns are empty, the results' value
    is null and the value part says why: a table of 0.00 would read as "worth nothing"."""
    from helpers.errors import MissingColumnError

    ctx, valued = demo
    cfg = ctx.cfg
    try:
        for att in (cfg.attribution.model_copy(update={"value_col": None}), None):
            if att is None:  # a value column that exists but holds no value
                ctx.cfg = cfg
                att = cfg.attribution.model_copy(update={"value_col": "empty"})
                original = ctx.table
                ctx.table = lambda name, _o=original: (
                    _o(name).mutate(empty=ibis.null("float64")) if name == "events" else _o(name)
                )
            ctx.cfg = cfg.model_copy(update={"attribution": att})
            rep = AttributionReport.run(ctx)
            assert rep.available and not rep.valued
            assert (
                rep.to_results()["value"] is None
                and rep.to_results()["conversions"] == valued.to_results()["conversions"]
            )
            assert rep.credits["value"].isna().all() and rep.journeys["value"].isna().all()
            pd.testing.assert_series_equal(rep.credits["conversions"], valued.credits["conversions"])
            assert "没有金额" in rep._show("value").data and "attribution.value_col" in rep._show("value").data
            assert "value" not in rep._show("summary").data.columns
        ctx.table = original
        ctx.cfg = cfg.model_copy(
            update={"attribution": cfg.attribution.model_copy(update={"conversion_event": None, "value_col": "price"})}
        )
        with pytest.raises(MissingColumnError, match="price"):
            AttributionReport.compute(ctx)
    finally:
        ctx.cfg = cfg
        ctx.__dict__.pop("table", None)
    assert valued.valued and valued.to_results()["value"] > 0 and "value" in valued._show("summary").data.columns
    from tests.styled import styled_rows

    # the credited value is money in the campaign's currency, in the summary and the per-model table
    assert all(r["value"].startswith("¥") for r in styled_rows(valued._show("summary")))
    cells = [v for r in styled_rows(valued._show("value")) for k, v in r.items() if k != "channel"]
    assert cells and all(v.lstrip("-").startswith("¥") or v == "–" for v in cells), cells


def test_unavailable_without_a_section(demo):
    ctx, _ = demo
    cfg = ctx.cfg
    try:
        ctx.cfg = cfg.model_copy(update={"attribution": None})
        rep = AttributionReport.run(ctx)
    finally:
        ctx.cfg = cfg  # the module's other tests share the context
    assert not rep.available and "attribution" in rep.reason
    assert isinstance(rep.tables(), dict) and pd.isna(rep.to_results().get("conversions"))


def test_the_journeys_part_counts_converting_paths_with_runs_merged(demo):
    """The page's top paths: each converting journey counted once under its path with runs merged (``a ×2``)."""
    from helpers.attribution import _runs

    _, rep = demo
    top = rep._show("journeys").data
    assert list(top.columns) == ["path", "conversions"]  # shown as 路径, 转化数
    j = rep.tables()["journeys"]
    conv = j[j["converted"]]
    expected = conv["path"].map(lambda p: _runs(p.split(" > ")) if p else "（无触点）").value_counts()
    got = top.set_index(top.columns[0])[top.columns[1]]
    assert len(got) == min(15, len(expected)) and got.sum() <= len(conv)
    for path, n in got.items():
        assert expected[path] == n
        parts = [p.split(" ×")[0] for p in path.split(" > ")]
        assert all(a != b for a, b in zip(parts, parts[1:]))  # no channel twice in a row


def test_event_channels_read_as_the_plans_display_names(demo):
    """Touches that are events (``touch_events``, no ``touch_col``): pages name the channels by the tracking plan's
    display names (浏览商品, not view) in the tables, findings, headline, chart and paths; the results and CSVs keep
    the event names, and the credits are those of the event channels."""
    from helpers.i18n import t
    from helpers.tracking import display_names

    ctx, _ = demo
    cfg = ctx.cfg
    events = ["search", "view", "cart"]
    try:
        att = cfg.attribution.model_copy(update={"touch_col": None, "touch_events": events})
        ctx.cfg = cfg.model_copy(update={"attribution": att})
        rep = AttributionReport.run(ctx)
    finally:
        ctx.cfg = cfg
    assert rep.available, getattr(rep, "reason", "")
    names = display_names(ctx)
    assert (
        rep.channel_names
        == {e: names[e] for e in events}
        == {"search": "搜索", "view": "浏览商品", "cart": "加入购物车"}
    )
    # machine names where machines read: credits, results, the journeys CSV
    assert set(rep.credits["channel"]) - {NO_TOUCH} == set(events)
    res = rep.to_results()
    assert set(res["channels"]) - {NO_TOUCH} == set(events) and set(res["top_by_model"].values()) <= set(events)
    assert set(" > ".join(rep.tables()["journeys"]["path"]).split(" > ")) - {""} <= set(events)
    # display names where people read
    shown = set(names[e] for e in events) | {"（无触点）"}
    assert set(rep._show("credits").data["channel"]) == shown
    # whole conversions where a rule gives each conversion to one touch; fractions where it splits them
    from helpers.attribution import model_labels
    from tests.styled import styled_rows

    rows = styled_rows(rep._show("credits"))
    assert all("." not in r["first"] and "." not in r["last"] for r in rows), rows
    assert any("." in r["linear"] for r in rows), rows
    # the columns keep the models' codes (as the CSV); the headers name them, capitalized in English
    assert rep._show("credits").ubk_headers["first"] == model_labels()["first"] == "首次触点"
    from helpers.i18n import language

    with language("en"):
        assert rep._show("credits").ubk_headers["time_decay"] == "Time decay"
    head = {h["label"]: h["text"] for h in rep.headline()}
    assert head["末次触点功劳第一的渠道"] == names[res["top_by_model"]["last"]], head
    findings = " ".join(rep.findings())
    top = {m: names[res["top_by_model"][m]] for m in ("markov", "shapley")}
    if top["markov"] == top["shapley"]:  # one channel is said once
        assert f"马尔可夫模型和沙普利值模型都给{top['markov']}的功劳最多。" in findings, findings
    else:
        assert f"马尔可夫模型给{top['markov']}的功劳最多，沙普利值模型给{top['shapley']}的最多" in findings
    assert not any(f" {n} " in findings for n in names.values())  # a Chinese name joins the sentence
    assert not any(e in findings.split() for e in events)
    paths = rep._show("journeys").data["path"]
    assert not any(e in p for p in paths for e in ("view", "search", "cart"))
    assert any("浏览商品" in p for p in paths)
    ax = rep._show("chart")
    assert {x.get_text() for x in ax.get_xticklabels()} == shown
    # the message spaces a Latin name and joins a Chinese one (helpers.i18n.t); a channel's own spaces stay
    assert t("attribution.data_driven", markov="pv", shapley="微信 朋友圈") == (
        "数据驱动模型：马尔可夫模型给 pv 的功劳最多，沙普利值模型给微信 朋友圈的最多。"
    )
    import copy

    with language("en"):
        same = copy.copy(rep)  # both data-driven models crediting one channel most
        same.top_by_model = lambda: {"markov": "search", "shapley": "search"}
        assert "Data-driven models: Markov and Shapley both credit 搜索 most." in same.findings(), same.findings()
