"""The tracking plan: its formats (params, YAML, CSV, Excel), its validation messages, display names, and the
ingest checks on hand-made rows with every violation kind counted exactly (rows in = clean + quarantined)."""

import dataclasses
import hashlib
import json
import textwrap

import pandas as pd
import pytest

from helpers import i18n
from helpers.errors import ParamsError
from helpers.ingest import ingest_campaign
from helpers.locations import campaign_paths
from helpers.params import load_params
from helpers.tracking import PLAN_CHECKS_FILE, load_plan, parse_plan, read_plan_file

PLAN = """
global_properties:
  platform: {type: enum, required: true, values: [iOS, Android]}
events:
  view:
    display_name: 浏览商品
    owner: 商品组
    properties:
      item_id: {type: string, required: true}
      price: {type: number}
  pay:
    display_name: 支付成功
    properties:
      amount: {type: number, required: true}
      qty: {type: integer}
      paid_at: {type: timestamp}
      first: {type: boolean}
"""

HEADER = "uid,event,time,platform,item,price,amount,qty,paid_at,first\n"
# the violations each row has, by hand; `unknown_event` rows fail the campaign's events: list first
ROWS = [
    ("u1,view,2024-01-02 10:00:00,iOS,I1,12.5,,,,", []),
    ("u1,pay,2024-01-02 10:05:00,iOS,,,12.5,2,2024-01-02 10:05:00,true", []),
    ("u2,view,2024-01-02 11:00:00,Android,I2,,,,,", []),
    ("u2,view,2024-01-02 11:01:00,,I2,,,,,", ["plan_missing_platform"]),
    ("u2,view,2024-01-03 11:02:00,Web,,,,,,", ["plan_missing_item_id", "plan_bad_enum_platform"]),
    ("u3,view,2024-01-03 09:00:00,iOS,I3,cheap,,,,", ["plan_bad_type_price"]),
    (
        "u3,pay,2024-01-03 09:10:00,iOS,,,,2.5,later,maybe",
        ["plan_missing_amount", "plan_bad_type_qty", "plan_bad_type_paid_at", "plan_bad_type_first"],
    ),
    ("u3,share,2024-01-03 09:20:00,iOS,,,,,,", ["plan_unknown_event"]),
    ("u4,share,2024-01-04 09:20:00,,,,,,,", ["plan_unknown_event"]),
    ("u4,debug,2024-01-04 09:30:00,iOS,,,,,,", "unknown_event"),  # not in tables.events.events
    ("u4,view,2023-12-01 09:30:00,Web,,,,,,", "out_of_period"),  # structural reasons come first, not counted
]

PARAMS = """
campaign: {name}
title: 测试
period: {{start: 2024-01-01, end: 2024-01-31}}
tables:
  events:
    source: {{path: "{path}"}}
    columns: {{user_id: uid, event: event, ts: time, platform: platform, item_id: item, amount: amount}}
    events: [view, pay, share]
tracking:
  plan_file: {plan}
  on_violation: {mode}
"""


def _setup(tmp_path, write_params, mode):
    raw = tmp_path / "events.csv"
    raw.write_text(HEADER + "\n".join(r for r, _ in ROWS) + "\n", encoding="utf-8")
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN, encoding="utf-8")
    p = write_params(PARAMS.format(name=f"t-{mode}", path=raw, plan=plan, mode=mode))
    cfg = load_params(p)
    return cfg, campaign_paths(cfg.campaign, tmp_path / "reports"), raw


def _expected_counts():
    """``{reason: rows}`` of every violation (a row counts once per violation); the events: list's
    unknown_event rows are checked too, and are undeclared in the plan."""
    out: dict[str, int] = {"plan_unknown_event": 1}
    for _, v in ROWS:
        if isinstance(v, list):
            for r in v:
                out[r] = out.get(r, 0) + 1
    return out


@pytest.mark.parametrize("mode", ["flag", "quarantine"])
def test_every_violation_kind_counted_exactly(tmp_path, write_params, mode):
    cfg, paths, raw = _setup(tmp_path, write_params, mode)
    digest = hashlib.sha256(raw.read_bytes()).hexdigest()
    rep = ingest_campaign(cfg, paths, progress=False)["events"]
    assert hashlib.sha256(raw.read_bytes()).hexdigest() == digest  # raw input only read
    assert rep.rows_in == len(ROWS) == rep.rows_out + rep.rows_quarantined

    checks = pd.read_parquet(paths.data / PLAN_CHECKS_FILE)
    viol = checks[~checks["kind"].isin(["rows", "filled"])]
    got = {
        (f"plan_{k}" if k == "unknown_event" else f"plan_{k}_{p}"): int(n)
        for (k, p), n in viol.groupby(["kind", "property"])["rows"].sum().items()
    }
    assert got == _expected_counts()
    # rows checked: all but the structural rejects; the events: list's unknown_event rows are counted too
    assert checks.loc[checks["kind"] == "rows", "rows"].sum() == len(ROWS) - 1
    assert checks.query("kind == 'unknown_event'").groupby("event")["rows"].sum().to_dict() == {"debug": 1, "share": 2}
    # per day and event: the day-3 pay row misses amount; fill of platform on view on day 2: 2 of 3
    day2 = checks[(checks["day"] == pd.Timestamp("2024-01-02")) & (checks["event"] == "view")]
    assert day2.query("property == 'platform' and kind == 'filled'")["rows"].item() == 2
    assert day2.query("kind == 'rows'")["rows"].item() == 3

    clean = pd.read_parquet(paths.table("events"))
    n_viol = sum(1 for _, v in ROWS if isinstance(v, list) and v)
    if mode == "flag":
        assert rep.reasons == {"unknown_event": 1, "out_of_period": 1}
        assert len(clean) == len(ROWS) - 2
        flagged = clean.dropna(subset=["plan_flags"])
        assert len(flagged) == n_viol
        row = flagged[(flagged["event"] == "pay")]["plan_flags"].item().split(",")
        assert row == ["plan_missing_amount", "plan_bad_type_qty", "plan_bad_type_paid_at", "plan_bad_type_first"]
    else:
        # one reason per row: the first violation in check order (unknown, missing, bad type, bad enum)
        expected = {
            "unknown_event": 1,
            "out_of_period": 1,
            "plan_unknown_event": 2,
            "plan_missing_platform": 1,
            "plan_missing_item_id": 1,
            "plan_bad_type_price": 1,
            "plan_missing_amount": 1,
        }
        assert rep.reasons == expected
        assert len(clean) == len(ROWS) - sum(expected.values()) == 3
        assert "plan_flags" not in clean.columns
        q = pd.read_parquet(paths.quarantine / "events.parquet")
        assert q["reason"].value_counts().to_dict() == expected
    manifest = json.loads((paths.data / "_ingest.json").read_text(encoding="utf-8"))
    # the note counts every checked row that breaks the plan: the events: list's unknown_event row too
    assert f"{n_viol + 1} rows break it" in manifest["tables"]["events"]["notes"][0]


def test_plan_formats_agree(tmp_path):
    """The same plan as YAML, CSV and Excel parses to the same thing."""
    yml = tmp_path / "p.yaml"
    yml.write_text(PLAN, encoding="utf-8")
    rows = [
        ("*", "", "", "", "platform", "enum", "true", "iOS|Android"),
        ("view", "浏览商品", "", "商品组", "item_id", "string", "是", ""),
        ("view", "浏览商品", "", "", "price", "number", "", ""),
        ("pay", "支付成功", "", "", "amount", "number", "required", ""),
        ("pay", "", "", "", "qty", "integer", "", ""),
        ("pay", "", "", "", "paid_at", "timestamp", "false", ""),
        ("pay", "", "", "", "first", "boolean", "no", ""),
    ]
    cols = ["event", "display_name", "description", "owner", "property", "type", "required", "values"]
    df = pd.DataFrame(rows, columns=cols)
    df.to_csv(tmp_path / "p.csv", index=False, encoding="utf-8-sig")
    df.to_excel(tmp_path / "p.xlsx", index=False)
    plans = []
    for f in ("p.yaml", "p.csv", "p.xlsx"):
        data, problems = read_plan_file(tmp_path / f)
        assert problems == [], f
        plan, problems = parse_plan(data)
        assert problems == [], f
        plans.append(plan)
    assert plans[0] == plans[1] == plans[2]
    assert plans[0].properties_of("pay")["platform"].values == ("iOS", "Android")
    assert plans[0].display_name("pay") == "支付成功" and plans[0].display_name("share") == "share"


def test_plan_validation_messages(tmp_path):
    bad = textwrap.dedent(
        """
        global_properties:
          platform: {type: enum}
        events:
          view:
            display_name: 浏览
            properties:
              price: {type: numbr}
              platform: string
              item_id: {type: string, values: [a]}
          pay:
            display_name: 浏览
            owners: x
        """
    )
    _, problems = parse_plan(__import__("yaml").safe_load(bad), source="plan.yaml")
    msgs = dict(problems)
    assert "an enum property needs its allowed values" in msgs["plan.yaml: global_properties.platform.values"]
    assert "unknown type 'numbr' (did you mean 'number'?)" in msgs["plan.yaml: events.view.properties.price.type"]
    assert "only enum properties take values" in msgs["plan.yaml: events.view.properties.item_id.values"]
    assert "also the display name of 'view'" in msgs["plan.yaml: events.pay.display_name"]
    assert "did you mean 'owner'" in msgs["plan.yaml: events.pay.owners"]
    # a name given twice in YAML (which YAML itself silently keeps the last of) and in a CSV
    dup = tmp_path / "dup.yaml"
    dup.write_text("events:\n  pay: {}\n  view: {}\n  pay: {}\n", encoding="utf-8")
    _, problems = read_plan_file(dup)
    assert "'pay' is given twice (lines 2 and 4): duplicate name" in problems[0][1]
    csvf = tmp_path / "dup.csv"
    csvf.write_text("event,property,type\npay,amount,number\npay,amount,integer\n", encoding="utf-8")
    _, problems = read_plan_file(csvf)
    assert problems == [
        (f"{csvf} row 3", "duplicate name: property 'amount' of event 'pay' is already declared on row 2")
    ]


def test_params_report_plan_problems_with_the_file(tmp_path, write_params):
    plan = tmp_path / "plan.csv"
    plan.write_text("event,property,type\npay,amount,money\n", encoding="utf-8")
    raw = tmp_path / "e.csv"
    raw.write_text(HEADER, encoding="utf-8")
    p = write_params(PARAMS.format(name="bad", path=raw, plan=plan, mode="flag"))
    with pytest.raises(ParamsError) as e:
        load_params(p)
    assert f"tracking.plan_file ({plan}): events.pay.properties.amount.type: unknown type 'money'" in str(e.value)


def test_display_name_and_demo_plan():
    import helpers
    from helpers.tracking import display_name

    cfg = load_params("demo")
    plan = load_plan(cfg)
    assert plan is not None and list(plan.events) == [
        "login",
        "launch",
        "search",
        "view",
        "fav",
        "cart",
        "order",
        "pay",
    ]
    ctx = type("Ctx", (), {"cfg": cfg})()
    assert display_name(ctx, "pay") == "支付成功" and display_name(ctx, "share") == "share"
    assert helpers.display_name is display_name


def test_display_names_fit_the_pages_language():
    """One language per page: a Chinese page shows every display name; an English page only those without Chinese
    characters, the event code for the others."""
    from helpers import i18n
    from helpers.params import Campaign
    from helpers.tracking import display_name, display_names

    demo = load_params("demo")
    plan = {"events": {"pv": {"display_name": "浏览"}, "cart": {"display_name": "Add to cart"}, "buy": {}}}
    cfg = Campaign.model_validate(
        {**demo.model_dump(exclude={"tracking"}), "campaign": "mixed", "tracking": {"plan": plan}}
    )
    ctx = type("Ctx", (), {"cfg": cfg})()
    with i18n.language("zh"):
        assert display_names(ctx) == {"pv": "浏览", "cart": "Add to cart"}
        assert display_name(ctx, "pv") == "浏览"
    with i18n.language("en"):
        assert display_names(ctx) == {"cart": "Add to cart"}
        assert (display_name(ctx, "pv"), display_name(ctx, "cart"), display_name(ctx, "buy")) == (
            "pv",
            "Add to cart",
            "buy",
        )


def test_a_plan_gives_texts_per_language():
    """``display_name: {zh: 浏览, en: view page}``: the campaign's language picks one (its English page named the
    event by its code); a text per language without both keys is a problem naming the key path."""
    from helpers.params import Campaign
    from helpers.tracking import display_name, parse_plan

    demo = load_params("demo")
    plan = {
        "events": {
            "pv": {"display_name": {"zh": "浏览", "en": "view page"}, "description": {"zh": "浏览", "en": "a view"}}
        }
    }
    for lang, name in (("zh", "浏览"), ("en", "view page")):
        data = {**demo.model_dump(exclude={"tracking"}), "campaign": "bi", "language": lang, "tracking": {"plan": plan}}
        cfg = Campaign.model_validate(data, context={"language": lang})
        assert load_plan(cfg).events["pv"].display_name == name, lang
        from helpers import i18n

        with i18n.language(lang):
            assert display_name(type("Ctx", (), {"cfg": cfg})(), "pv") == name
    assert parse_plan(plan, language="en")[0].events["pv"].description == "a view"
    _, problems = parse_plan({"events": {"pv": {"display_name": {"zh": "浏览"}}}})
    assert problems == [("tracking.plan: events.pv.display_name",
                         "a text per language needs the keys zh and en, e.g. {zh: 高活跃, en: high}")]  # fmt: skip


# ------------------------------------------------------------------------------------------------ the report
PLANTED_PLAN = """
global_properties:
  platform: {type: enum, required: true, values: [iOS, Android]}
events:
  launch: {display_name: 启动}
  view: {display_name: 浏览商品, properties: {item_id: {type: string, required: true}}}
  pay: {display_name: 支付成功, properties: {amount: {type: number, required: true}}}
"""


def _planted_campaign(tmp_path, write_params):
    """60 days of launch/view/pay with weekly seasonality and noise; ``platform`` stops arriving on view
    events from day 40; an undeclared ``share`` arrives every day; a stray ``debug`` event on 2 days."""
    import datetime as dt

    import numpy as np

    rng = np.random.default_rng(7)
    lines = ["uid,event,time,platform,item,amount"]
    day0 = dt.datetime(2024, 3, 1)
    for d in range(60):
        for ev, lam in (("launch", 200), ("view", 500), ("pay", 40), ("share", 30)):
            for i in range(rng.poisson(lam * (1.3 if (day0 + dt.timedelta(d)).weekday() >= 5 else 1))):
                t = (day0 + dt.timedelta(days=d, seconds=int(rng.integers(0, 86400)))).strftime("%Y-%m-%d %H:%M:%S")
                plat = "" if ev == "view" and d >= 40 else ("iOS", "Android")[i % 2]
                item = f"I{i % 50}" if ev in ("view", "pay") else ""
                amt = f"{10 + i % 90}.5" if ev == "pay" else ""
                lines.append(f"u{i % 300},{ev},{t},{plat},{item},{amt}")
        if d in (5, 33):
            lines.append(f"u1,debug,{(day0 + dt.timedelta(days=d, hours=3)):%Y-%m-%d %H:%M:%S},iOS,,")
    raw = tmp_path / "planted.csv"
    raw.write_text("\n".join(lines) + "\n", encoding="utf-8")
    plan = tmp_path / "planted_plan.yaml"
    plan.write_text(PLANTED_PLAN, encoding="utf-8")
    p = write_params(
        PARAMS.format(name="planted", path=raw, plan=plan, mode="flag")
        .replace("2024-01-01", "2024-03-01")
        .replace("2024-01-31", "2024-04-29")
        .replace("events: [view, pay, share]", "max_amount: 100000")
    )
    return p, len(lines) - 1


def test_planted_outage_and_undeclared_event_are_the_top_findings(tmp_path, write_params):
    import helpers
    from helpers.registry import run_report, save_report

    p, n_rows = _planted_campaign(tmp_path, write_params)
    ctx = helpers.open_campaign("planted", params_file=str(p), reports_dir=str(tmp_path / "reports"))
    ingest = run_report("ingest", ctx, show=False)
    assert ingest.available
    rep = run_report("data_quality", ctx, show=False)
    top = rep.problems.head(2)
    assert set(zip(top["kind"], top["event"], top["property"])) == {
        ("fill_drop", "view", "platform"),
        ("not_in_plan", "share", ""),
    }, rep.problems.head(6).to_string()
    drop = rep.drops.iloc[0]
    assert (drop["event"], drop["property"], str(drop["since"].date())) == ("view", "platform", "2024-04-10")
    assert drop["before"] == 1.0 and drop["after"] == 0.0
    # the stray event ranks low (2 of 60 days), the findings name the two plants first in display names
    debug = rep.problems.query("event == 'debug'")
    assert debug["severity"].item() == pytest.approx(1.0 * 2 / 60, abs=1e-4)
    assert "浏览商品（view）· platform" in rep.findings()[1] and "share" in rep.findings()[2]
    with i18n.language("en"):  # an English display name opens its line with a capital; a bare code stays as it is
        english = dataclasses.replace(rep, labels={**rep.labels, "view": "product view"})
        lines = [str(f) for f in english.findings()]
        assert lines[1].startswith("Product view (view) · platform: ") and lines[2].startswith("share: "), lines
    # the problems table names each kind in words (every kind has a label); the CSV keeps the codes
    from helpers.data_quality import WEIGHTS

    assert all(f"data_quality.problem_kind.{k}" in i18n.catalogue() for k in WEIGHTS)
    shown = rep._show("problems").data
    assert "填充率骤降" in set(shown["kind"]) and "not_in_plan" not in set(shown["kind"])
    assert set(rep.tables()["problems"]["kind"]) <= set(WEIGHTS)
    assert "不在埋点方案中" in set(rep._show("coverage").data["status"])
    res = rep.to_results()
    assert sorted(res["not_in_plan"]) == ["debug", "share"] and res["never_seen"] == []
    assert res["rows_checked"] == n_rows
    assert res["scores"]["view"] == 0 and res["scores"]["launch"] >= 90
    save_report(ctx, rep)
    # drift: the next run compares with this one (same data: nothing new, nothing vanished)
    again = run_report("data_quality", ctx, show=False)
    assert again.drift == {"previous_run": ctx.run_id, "new_events": [], "vanished_events": [], "fill_dropped": []}


def test_a_feed_that_stops_before_the_period_ends_is_the_first_finding(tmp_path, write_params):
    """The planted log runs to 04-29; with the period set to 05-09 the last ten days have no events. The report
    says so first (the lead on the index), checks the days up to the data's end, so the stray event's severity stays
    2 of its 60 days, and no later day counts as a volume drop."""
    import helpers
    from helpers.registry import run_report

    p, _ = _planted_campaign(tmp_path, write_params)
    p.write_text(p.read_text(encoding="utf-8").replace("2024-04-29", "2024-05-09"), encoding="utf-8")
    ctx = helpers.open_campaign("planted", params_file=str(p), reports_dir=str(tmp_path / "late"))
    assert run_report("ingest", ctx, show=False).available
    rep = run_report("data_quality", ctx, show=False)
    assert rep.data_cut is not None and str(rep.data_cut[0]) == "2024-04-29" and str(rep.data_cut[1]) == "2024-05-09"
    with i18n.language("zh"):
        assert (
            rep.findings()[1]
            == "2024-04-29 之后没有事件，而统计期到 2024-05-09：数据源是否中断？本报告只检查到 2024-04-29。"
        )
        assert rep.lead() == rep.findings()[1]
    assert rep.problems.query("event == 'debug'")["severity"].item() == pytest.approx(2 / 60, abs=1e-4)
    assert rep.volume["day"].max() <= pd.Timestamp("2024-04-29")
    # one problem for every event: 10 of the period's 70 days without data; so no event scores above 86
    stopped = rep.problems.query("kind == 'stopped'")
    assert stopped[["event", "property", "rows"]].values.tolist() == [["*", "", 0]]
    assert stopped["severity"].item() == pytest.approx(10 / 70, abs=1e-4)
    assert rep.scores["score"].max() == 86  # an event with no other problem: round(100 x (1 - 10/70))
    assert not any("没有数据的天数" in str(f) for f in rep.findings()[2:])  # said once, first
    with i18n.language("zh"):  # details are worded when computed, in the campaign's language
        shown = rep._show("problems").data
        row = shown[shown["kind"] == "数据源中断"]
        assert row["event"].tolist() == ["全部事件"] and row["detail"].tolist() == [
            "2024-04-29 之后没有事件，而统计期到 2024-05-09（没有数据的天数：10）"
        ]
    only = dataclasses.replace(rep, problems=stopped)  # nothing else found: not "no problem"
    with i18n.language("en"):
        assert str(only.findings()[2]).startswith("No other problem found in the days checked:")


def test_volume_detector_on_a_hand_made_series():
    from helpers.data_quality import volume_anomalies

    days = pd.date_range("2024-01-01", periods=30, freq="D")
    rows = [100, 104, 98, 101, 99, 103, 97, 100, 102, 98, 101, 99, 100, 103] * 2 + [100, 20]
    out = volume_anomalies(pd.DataFrame({"day": days, "event": "view", "rows": rows}), window_days=14, k=3.5)
    assert list(out.loc[out["anomaly"] != "", "day"].dt.day) == [30]
    assert out["anomaly"].iloc[-1] == "low"
    assert out["median"].iloc[:7].isna().all()  # fewer than 7 trailing days: no band, no flag
    # median 100, MAD 2 -> scale max(1.4826 * 2, sqrt(100)) = 10: the band is 65..135
    assert out["low"].iloc[-1] == pytest.approx(65) and out["high"].iloc[-1] == pytest.approx(135)


def test_volume_band_starts_once_half_the_window_is_there():
    """The band (and a flag) starts on the first day with 7 of the 14 trailing days, the period's 8th day, not
    on the 15th: the days before the period's first day are not there and do not blank the MAD."""
    import numpy as np

    from helpers.data_quality import volume_anomalies

    rows = [100, 104, 98, 101, 99, 103, 97, 300, 102, 98, 101, 100, 99, 103, 100, 97, 104, 101, 98, 100]
    days = pd.date_range("2024-03-01", periods=len(rows), freq="D")
    out = volume_anomalies(pd.DataFrame({"day": days, "event": "view", "rows": rows}), window_days=14, k=3.5)

    assert out[["median", "low", "high"]].iloc[:7].isna().all().all()  # fewer than 7 trailing days: no band
    assert (out["anomaly"].iloc[:7] == "").all()
    # day 8 (2024-03-08): its 7 trailing days have median 100 and MAD 2 (|dev| 0,1,1,2,3,3,4), so
    # scale = max(1.4826 * 2, sqrt(100)) = 10 and the band is 65..135; 300 is far above it
    d8 = out.iloc[7]
    assert d8["day"] == pd.Timestamp("2024-03-08")
    assert (d8["median"], d8["low"], d8["high"]) == pytest.approx((100, 65, 135))
    assert d8["anomaly"] == "high"
    assert list(out.loc[out["anomaly"] != "", "day"]) == [pd.Timestamp("2024-03-08")]

    # every day from the 8th: the band of its trailing days (at most 14), computed here with plain numpy
    for i in range(7, len(rows)):
        w = np.array(rows[max(0, i - 14) : i], dtype=float)
        med = np.median(w)
        mad = np.median(np.abs(w - med))
        scale = max(1.4826 * mad, np.sqrt(max(med, 1.0)))
        got = out.iloc[i]
        assert (got["median"], got["low"], got["high"]) == pytest.approx(
            (med, max(med - 3.5 * scale, 0.0), med + 3.5 * scale)
        ), got["day"]

    # a full-window day is as before: day 15's 14 trailing days (spike included) have median 100.5 and MAD 2
    # (|dev| .5 x4, 1.5 x3, 2.5 x4, 3.5 x2, 199.5), so scale = max(2.97, sqrt(100.5)) = sqrt(100.5)
    d15 = out.iloc[14]
    half = 3.5 * np.sqrt(100.5)
    assert (d15["median"], d15["low"], d15["high"]) == pytest.approx((100.5, 100.5 - half, 100.5 + half))
    assert d15["anomaly"] == ""


def test_a_half_loaded_last_day_is_left_out_of_every_check(tmp_path, write_params, monkeypatch):
    """Hand-made check counts over 11 days (2024-03-01..11) whose last day is still loading (``UBAKIT_TODAY``):
    coverage, fill rates and drops, violation shares, overall fill and scores cover the days up to 03-10, as the
    volume does, so an event seen every day has ``days_share`` 1.0 (not 11/10), and a fall or a violation that
    happens only on the half-loaded day is not reported, while those of earlier days still are."""
    import types

    import ibis

    from helpers.data_quality import DataQualityReport
    from helpers.periods import PartialCut

    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "events:\n  view: {properties: {platform: {type: string}, item_id: {type: string}}}\n"
        "  pay: {properties: {amount: {type: number}, qty: {type: integer}}}\n",
        encoding="utf-8",
    )
    (tmp_path / "raw.csv").write_text(HEADER, encoding="utf-8")  # not read: the counts below are ingest's
    p = write_params(
        PARAMS.format(name="half", path=tmp_path / "raw.csv", plan=plan, mode="flag")
        .replace("2024-01-01", "2024-03-01")
        .replace("2024-01-31", "2024-03-11")
        + "  receive_ts_column: received\n"
    )
    cfg = load_params(p)
    paths = campaign_paths(cfg.campaign, tmp_path / "reports").ensure()
    days = pd.date_range("2024-03-01", "2024-03-11", freq="D")
    rows = []
    for i, day in enumerate(days):
        partial = day == days[-1]
        for ev, n in (("view", 100), ("pay", 50), ("share", 10)):
            rows.append((day, ev, "", "rows", n))
        rows += [
            (day, "view", "platform", "filled", 100 if i < 5 else 0),  # stops on 03-06: a drop that stays
            (day, "view", "item_id", "filled", 0 if partial else 100),  # falls on the half-loaded day only
            (day, "pay", "amount", "filled", 50),
            (day, "pay", "qty", "filled", 50),
        ]
        if partial:
            rows.append((day, "pay", "amount", "bad_type", 5))  # a violation of the half-loaded day only
        if i == 2:
            rows.append((day, "pay", "qty", "bad_type", 5))  # one of a whole day: still reported
    checks = pd.DataFrame(rows, columns=["day", "event", "property", "kind", "rows"])
    checks.to_parquet(paths.data / PLAN_CHECKS_FILE, index=False)
    ts = pd.Series([*(d + pd.Timedelta(hours=23) for d in days[:-1]), days[-1] + pd.Timedelta(hours=6)])
    late = ts + pd.to_timedelta([1] * 10 + [30 * 60], unit="min")  # the half-loaded day's row came 30 h late
    events = ibis.memtable(pd.DataFrame({"event": "view", "ts": ts, "received": late}))
    ctx = types.SimpleNamespace(cfg=cfg, paths=paths, has=lambda n: n == "events", table=lambda n: events)
    monkeypatch.setenv("UBAKIT_TODAY", "2024-03-11")
    rep = DataQualityReport.compute(ctx)

    assert isinstance(rep.data_cut, PartialCut) and str(rep.data_cut.day) == "2024-03-11"
    assert rep.volume["day"].max() == pd.Timestamp("2024-03-10")  # as before
    cov = rep.coverage.set_index("event")
    assert cov["days_seen"].to_dict() == {"view": 10, "pay": 10, "share": 10}
    assert cov["days_share"].to_dict() == {"view": 1.0, "pay": 1.0, "share": 1.0}  # was 1.1
    assert rep.properties["day"].max() == pd.Timestamp("2024-03-10")
    assert list(zip(rep.drops["event"], rep.drops["property"])) == [("view", "platform")]  # not view.item_id
    assert str(rep.drops["since"].iat[0].date()) == "2024-03-06"
    found = set(zip(rep.problems["kind"], rep.problems["event"], rep.problems["property"]))
    assert found == {
        ("fill_drop", "view", "platform"),
        ("bad_type", "pay", "qty"),  # 5 of 500 rows
        ("not_in_plan", "share", ""),
    }  # neither view.item_id's fall nor pay.amount's bad types: both only on 03-11
    qty = rep.problems.query("kind == 'bad_type'")["severity"].item()
    assert qty == pytest.approx(5 / 500)
    assert rep.problems.query("kind == 'not_in_plan'")["severity"].item() == 1.0
    assert rep.late[["event", "rows", "late_rows"]].values.tolist() == [["view", 10, 0]]  # 03-11's row not read
    res = rep.to_results()
    assert res["fill_rates"]["view.item_id"] == 1.0 and res["rows_checked"] == 1600
    assert res["violations"] == {"plan_bad_type_qty": 5}
    # the detector's rule in the results is the one it applies, its Poisson floor and minimum of days included
    assert res["detector"] == {
        "window_days": 14,
        "k": 3.5,
        "rule": "median +- k * max(1.4826 * MAD, sqrt(max(median, 1))) of the previous window_days days"
        " (at least max(3, window_days // 2) of them)",
    }
    assert res["scores"]["pay"] == 99  # round(100 x (1 - 0.01)), not lowered by the half-loaded day's amounts


def test_demo_plants_are_the_top_findings(tmp_path):
    """The demo's planted outage (platform stops on view events) and undeclared event (share) rank first."""
    import yaml

    import helpers
    from helpers.registry import run_report

    from .conftest import ROOT

    cfg = yaml.safe_load((ROOT / "params" / "demo.yaml").read_text(encoding="utf-8"))
    cfg["campaign"], cfg["demo"]["n_users"] = "demo-dq", 600
    pfile = tmp_path / "params" / "demo-dq.yaml"
    pfile.parent.mkdir()
    pfile.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    ctx = helpers.open_campaign("demo-dq", params_file=str(pfile), reports_dir=str(tmp_path / "reports"))
    run_report("ingest", ctx, show=False)
    rep = run_report("data_quality", ctx, show=False)
    top = rep.problems.head(2)
    assert list(zip(top["kind"], top["event"], top["property"])) == [
        ("fill_drop", "view", "platform"),
        ("not_in_plan", "share", ""),
    ], rep.problems.head(6).to_string()


def test_real_campaigns_name_their_events_on_chinese_pages():
    """params/taobao.yaml and params/online_retail.yaml carry inline plans of display names only: Chinese pages read
    浏览/收藏/加购/购买, English pages the codes; every event the campaign lists is named."""
    from helpers import i18n
    from helpers.tracking import display_names

    taobao = {"pv": "浏览", "fav": "收藏", "cart": "加购", "buy": "购买"}
    expected = {"taobao": taobao, "online_retail": {"buy": "购买"}}
    for name, names in expected.items():
        cfg = load_params(name)
        ctx = type("Ctx", (), {"cfg": cfg})()
        plan = load_plan(cfg)
        assert plan is not None and all(not s.properties for s in plan.events.values()), name  # names only
        with i18n.language("zh"):
            assert display_names(ctx) == names, name
        with i18n.language("en"):
            assert display_names(ctx) == {}, name
    assert set(load_params("taobao").spec("events").events) == set(expected["taobao"])


def test_a_last_day_still_loading_is_checked_no_further_than_the_day_before(tmp_path, write_params, monkeypatch):
    """Run on the data's last day (``UBAKIT_TODAY`` is what "today" is for a run): that day is not over, so its
    volume is not compared with whole days (it would read as a drop). The report says so first and checks the days
    up to the day before (helpers.periods.partial_day)."""
    import helpers
    from helpers.periods import PartialCut
    from helpers.registry import run_report

    p, _ = _planted_campaign(tmp_path, write_params)
    monkeypatch.setenv("UBAKIT_TODAY", "2024-04-29")
    ctx = helpers.open_campaign("planted", params_file=str(p), reports_dir=str(tmp_path / "today"))
    assert run_report("ingest", ctx, show=False).available
    rep = run_report("data_quality", ctx, show=False)
    cut = rep.data_cut
    assert isinstance(cut, PartialCut) and (str(cut.last), str(cut.end), str(cut.day)) == (
        "2024-04-28",
        "2024-04-29",
        "2024-04-29",
    )
    assert cut.usual == "" and rep.volume["day"].max() == pd.Timestamp("2024-04-28")
    with i18n.language("zh"):
        assert rep.findings()[1] == (
            "数据的最后一天 2024-04-29 看来没有加载完整（这一天就是今天，还没有过完）："
            "本报告只检查到前一天 2024-04-28，这一天的量不与其他日子比较。"
        )
    with i18n.language("en"):
        assert rep.findings()[1].startswith(
            "The data's last day, 2024-04-29, looks only partly loaded (it is today, and the day is not over):"
        )
    # the period runs on past that day: the feed has stopped too, and both are said in one finding
    p.write_text(p.read_text(encoding="utf-8").replace("2024-04-29", "2024-05-09"), encoding="utf-8")
    ctx = helpers.open_campaign("planted", params_file=str(p), reports_dir=str(tmp_path / "today_late"))
    assert run_report("ingest", ctx, show=False).available
    rep = run_report("data_quality", ctx, show=False)
    with i18n.language("en"):
        assert rep.findings()[1].startswith(
            "No events after 2024-04-29, although the period runs to 2024-05-09, and that day looks only partly "
            "loaded (it is today, and the day is not over): has the feed stopped? This report checks the days up to "
            "the day before, 2024-04-28."
        )
    assert rep.problems.query("kind == 'stopped'")["severity"].item() == pytest.approx(10 / 70, abs=1e-4)
