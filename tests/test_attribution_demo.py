"""The attribution report and the drivers on the generated demo (params/demo.yaml, generated and ingested into
tmp_path): the planted opener/closer channels and the planted fav-before-cart driver (helpers/demo_attribution.py)."""

import json

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
    _, rep = demo
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
    # the later demo plants (promotion, basket, experiment, impact) add payments without a touch: shown, with share
    share = len(untouched) / len(conv)
    assert 0.2 < share < 0.5 and rep.to_results()["unattributed"] == len(untouched)
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
    assert "drivers" in rep.tables() and any("fav" in f for f in rep.findings())


def test_retention_drivers_on_the_demo(demo):
    ctx, _ = demo
    rep = RetentionReport.run(ctx)
    d = rep.drivers
    assert d is not None and len(d) and d["phi"].dropna().between(-1, 1).all()
    assert (d["phi"].isna() == (d["band"] == "")).all() and "drivers" in rep.tables()
    assert d["phi"].isna().sum() <= 5  # only "did it" by everyone (e.g. view at least once): no correlation


def test_unavailable_without_a_section(demo):
    ctx, _ = demo
    ctx.cfg = ctx.cfg.model_copy(update={"attribution": None})
    rep = AttributionReport.run(ctx)
    assert not rep.available and "attribution" in rep.reason
    assert isinstance(rep.tables(), dict) and pd.isna(rep.to_results().get("conversions"))
