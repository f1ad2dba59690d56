"""The trends report on the generated demo (params/demo.yaml, generated and ingested into tmp_path): the planted
promotion and payment outage (helpers/demo_trends.py) and the days flagged besides them."""

import pandas as pd
import pytest

from helpers import i18n
from helpers.campaign import open_campaign
from helpers.demo_trends import OUTAGE_PLATFORM, OUTAGE_SHARE, PROMO_FACTOR
from helpers.quality import IngestReport
from helpers.trends import TrendsReport
from tests.styled import styled_rows

#: the module fixture's demo is made once: every test of the module on one worker
pytestmark = pytest.mark.xdist_group("trends_demo")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    ctx = open_campaign("demo", reports_dir=str(tmp_path_factory.mktemp("reports")), theme=False)
    IngestReport.run(ctx)
    return ctx, TrendsReport.run(ctx)


def test_plants_are_recorded_and_in_the_raw_events(demo):
    import json

    ctx, _ = demo
    planted = json.loads((ctx.paths.root / "raw" / "manifest.json").read_text(encoding="utf-8"))["planted"]
    promo, outage = planted["trend_anomalies"]["promotion"], planted["trend_anomalies"]["payment_outage"]
    assert (promo["date"], outage["date"], outage["platform"]) == ("2024-04-06", "2024-04-18", OUTAGE_PLATFORM)
    assert promo["orders_added"] == round((PROMO_FACTOR - 1) * promo["organic_pays"])
    assert outage["pays_removed"] == round(OUTAGE_SHARE * outage["platform_pays"])
    ev = ctx.table("events").to_pandas()
    day = ev["ts"].dt.strftime("%Y-%m-%d")
    pays = ev[ev["event"] == "pay"]
    assert (pays["order_id"].astype(str).str.startswith("PROMO") & (day[pays.index] == promo["date"])).sum() > 0
    raw = pd.read_csv(ctx.paths.root / "raw" / "events.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    added = raw[raw["order_no"].str.startswith("PROMO")]
    # other plants may copy some of them (more orders for a segment): all stay without a touch source
    assert len(added) >= 2 * promo["orders_added"] and (added["utm_source"] == "").all()
    on_day = (day == outage["date"]) & (ev["platform"] == OUTAGE_PLATFORM)
    android_pays, android_orders = (on_day & (ev["event"] == "pay")).sum(), (on_day & (ev["event"] == "order")).sum()
    assert android_pays <= outage["platform_pays"] - outage["pays_removed"]  # the outage plant runs last
    assert android_orders >= 3 * android_pays  # the orders stay


def _flagged(rep):
    a = rep.anomalies
    return a.assign(date=pd.to_datetime(a["day"]).dt.strftime("%Y-%m-%d"))


def test_trends_finds_the_promotion_and_few_other_days(demo):
    _, rep = demo
    a = _flagged(rep)
    promo = a[a["date"] == "2024-04-06"]
    assert "orders" in set(promo["metric"]) and (promo["score"] > 0).all()
    assert rep.anomaly_checked and len(a) <= 0.05 * rep.anomaly_checked  # the findings list the days
    # recorded with every plant of the demo: 2024-04-07 (active users fall when the demo's sign-ups stop on day 35,
    # a real break: flagged once, run_days 3) and 2024-04-29 (GMV); the issue asks for at most 2
    other = set(a["date"]) - {"2024-04-06", "2024-04-18"}
    assert len(other) <= 2, sorted(other)
    brk = a[(a["date"] == "2024-04-07") & (a["metric"] == "active_users")]
    assert set(a.loc[a["metric"] == "active_users", "date"]) <= {"2024-04-07"} and (brk["run_days"] >= 2).all()


def test_trends_finds_the_android_payment_outage(demo):
    """The outage in the Android series of orders (pay events), with the platform named in the findings."""
    _, rep = demo
    a = _flagged(rep)
    out = a[(a["date"] == "2024-04-18") & a["metric"].isin(["orders", "paying_users", "gmv"])]
    assert len(out) and OUTAGE_PLATFORM in set(out["group"]) and OUTAGE_PLATFORM in set(out["top_group"])
    row = out[(out["metric"] == "orders") & (out["group"] == OUTAGE_PLATFORM)].iloc[0]
    assert row["score"] < 0 and row["value"] < 0.3 * row["expected"] and row["value"] < row["lower"]
    assert any("2024-04-18" in f and "· 平台 = Android" in f for f in rep.findings())  # the group is named
    # the paying share (a formula) flags it too, without a group
    assert (a.loc[a["date"] == "2024-04-18", "metric"] == "pay_rate").any()


def test_tables_on_the_page_name_metrics_in_words(demo):
    """Pages show each metric's display name; the results CSVs keep the codes."""
    _, rep = demo
    codes = set(rep.summary["metric"])
    for part in ("summary", "breakdown", "movers", "anomalies"):
        shown = rep._show(part).data
        assert not codes & set(shown.get("metric", [])), part
        assert "metric" not in shown or "活跃用户" in set(shown["metric"]) or part == "anomalies", part
    assert "活跃用户" in set(rep._show("summary").data["metric"])  # the name under the metric header
    assert "label" not in rep._show("summary").data
    assert set(rep.tables()["breakdown"]["metric"]) <= codes


def test_page_tables_format_each_metric_for_its_kind(demo):
    """A share reads as a percentage and its change in percentage points, a count as a whole number, kinds and
    tests in words, the missing-value group in words; the numbers are the summary's own (hand-formatted here)."""
    _, rep = demo
    s = rep.summary.set_index("metric")
    rows = {r["metric"]: r for r in styled_rows(rep._show("summary"))}
    pay, users = rows["付费率"], rows["活跃用户"]
    cur, prev = s.at["pay_rate", "current"], s.at["pay_rate", "previous"]
    assert pay["current"] == f"{cur * 100:.1f}%" and pay["previous"] == f"{prev * 100:.1f}%"
    assert pay["abs_change"] == f"{(cur - prev) * 100:.1f} 个百分点"
    # the finding gives a share's change as the table's change column, then the relative change
    rel = (cur - prev) / prev
    said = f"，上期 {pay['previous']}，变化 {pay['abs_change']}，相对 {'+' if rel > 0 else ''}{rel * 100:.1f}%"
    assert any(said in str(f) for f in rep.findings()), (said, rep.findings())
    with i18n.language("en"):
        assert any(f"pp, {'+' if rel > 0 else ''}{rel * 100:.1f}% relative" in str(f) for f in rep.findings())
    assert pay["diff_ci_low"] == f"{s.at['pay_rate', 'diff_ci_low'] * 100:.1f} 个百分点"
    assert (pay["kind"], pay["test"]) == ("比率", "双比例 z 检验")
    assert users["current"] == f"{int(s.at['active_users', 'current']):,}" and users["kind"] == "数值"
    assert users["abs_change"] == f"{int(s.at['active_users', 'abs_change']):,}"
    gmv = rows["成交额 GMV"]  # an amount: the campaign's currency, two decimals, a fall with its sign first
    assert gmv["current"] == f"¥{s.at['gmv', 'current']:,.2f}"
    assert s.at["gmv", "abs_change"] < 0 and gmv["abs_change"] == f"-¥{-s.at['gmv', 'abs_change']:,.2f}"
    groups = {r["group"] for r in styled_rows(rep._show("breakdown"))}
    assert "（空）" in groups and "(none)" not in groups  # events without a platform
    assert "(none)" in set(rep.breakdown["group"])  # the CSV keeps the code


def test_findings_quote_a_rows_numbers_as_its_table_does_and_empty_columns_are_left_out(demo):
    """A finding quotes the current and previous values formatted alike, as the table's row shows them (GMV
    ``¥105,094.80`` against ``¥210,751.00``, not ``210,751``), a mover's change as the movers table; the summary
    table leaves out the year-ago pair when the data does not reach a year back (the CSV keeps it)."""
    _, rep = demo
    s = rep.summary.set_index("metric")
    rows = {r["metric"]: r for r in styled_rows(rep._show("summary"))}
    text = " ".join(str(f) for f in rep.findings())
    for name in ("成交额 GMV", "活跃用户"):
        cur, prev = rows[name]["current"], rows[name]["previous"]
        assert f"{name}：{cur}，上期 {prev}，" in text, (name, cur, prev)
    assert rows["成交额 GMV"]["previous"] == f"¥{s.at['gmv', 'previous']:,.2f}"
    # a mover's change as the movers table's change column shows it (GMV with its currency)
    movers = {(r["metric"], r["group"]): r for r in styled_rows(rep._show("movers"))}
    for r in rep.movers.head(3).itertuples():
        change = movers[(rep._name(r.metric), r.group)]["abs_change"]
        assert f"：{change}（" in text, (r.metric, change)
    assert any(m == "gmv" for m in rep.movers.head(3)["metric"]) and "：-¥" in text
    # the three movers each named by their rank (three "变化最大" lines read as a contradiction)
    ranks = [f.split("：")[0] for f in map(str, rep.findings()) if f.startswith("变化")]
    assert ranks == ["变化最大", "变化第二大", "变化第三大"], ranks
    with i18n.language("en"):
        said = [str(f) for f in rep.findings()]
    assert [f.split(":")[0] for f in said if "mover" in f.split(":")[0]] == [
        "Biggest mover", "Second biggest mover", "Third biggest mover"
    ]  # fmt: skip
    assert s["year_ago"].isna().all() and {"year_ago", "yoy_change"} <= set(rep.tables()["summary"].columns)
    shown = rep._show("summary").data.columns
    assert "year_ago" not in shown and "yoy_change" not in shown and "p_value" in shown  # the rate row is tested


def test_charts_name_the_currency_of_an_amount(demo, monkeypatch):
    """The charts part: one chart per metric titled by its name; an amount's value axis names the campaign's
    currency (成交额 GMV（¥）), a count's does not."""
    import matplotlib.pyplot as plt

    import helpers.trends

    _, rep = demo
    shown = []
    monkeypatch.setattr(helpers.trends, "_display", shown.append)  # the charts the page would show
    assert rep._show("charts") is None
    axes = {a.get_title(): a for a in shown}
    assert set(axes) == {rep._name(m) for m in rep.summary["metric"]}
    assert axes["成交额 GMV"].get_ylabel() == "成交额 GMV（¥）" and axes["订单数"].get_ylabel() == "订单数"
    plt.close("all")
