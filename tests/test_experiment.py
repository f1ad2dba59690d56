"""The experiment report (helpers/experiment.py, experiment_data.py, experiment_run.py): per-user values on
hand-made events, the statistics wired to the right tests, params errors, and the planted demo experiment."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from helpers import abstats as st
from helpers import i18n
from helpers.experiment import compare_variants, sequential_table, srm_table
from helpers.experiment_data import clean_assignments, first_exposure, metric_values, user_day_counts
from helpers.sections_experiment import ExperimentAssignment, ExperimentMetric, ExperimentParams


def events() -> pd.DataFrame:
    rows = [
        ("u1", "view", "2024-04-01 09:00", None),
        ("u1", "pay", "2024-04-01 08:00", 50.0),  # before exposure: not counted
        ("u1", "order", "2024-04-01 10:00", 100.0),  # exposure
        ("u1", "pay", "2024-04-01 10:05", 100.0),
        ("u1", "order", "2024-04-03 10:00", 30.0),
        ("u1", "pay", "2024-04-03 12:00", 30.0),  # 50 h after exposure: outside a 24 h window
        ("u1", "view", "2024-04-08 09:00", None),  # day 7 after the exposure day
        ("u2", "order", "2024-04-02 10:00", 20.0),
        ("u2", "view", "2024-04-05 10:00", None),
        ("u3", "order", "2024-04-06 23:00", 10.0),  # exposed late: day-7 retention is censored (test ends 04-10)
        ("u4", "view", "2024-04-02 10:00", None),  # never exposed
    ]
    df = pd.DataFrame(rows, columns=["user_id", "event", "ts", "amount"])
    df["ts"] = pd.to_datetime(df["ts"]).astype("datetime64[us]")
    return df


def test_assignments_drop_users_in_several_variants():
    a = pd.DataFrame({"user_id": ["u1", "u2", "u2", "u3", "u4", "u5"], "v": ["a", "a", "b", "b", None, ""]})
    clean, multi = clean_assignments(a, variant_col="v")
    assert multi == 1 and clean["user_id"].tolist() == ["u1", "u3"] and clean["variant"].tolist() == ["a", "b"]


def test_exposure_and_per_user_values_by_hand():
    ev = events()
    expo = first_exposure(ev, "order", start="2024-04-01", end_exclusive="2024-04-11")
    assert expo.set_index("user_id")["exposed_at"].to_dict() == {
        "u1": pd.Timestamp("2024-04-01 10:00"), "u2": pd.Timestamp("2024-04-02 10:00"),
        "u3": pd.Timestamp("2024-04-06 23:00"),
    }  # fmt: skip
    users = expo.sort_values("user_id").reset_index(drop=True)
    end = "2024-04-11"
    pay = user_day_counts(ev, users, event_names=["pay"], end_exclusive=end, amount_col="amount")
    assert metric_values("revenue", pay, users, through="2024-04-10").tolist() == [130.0, 0.0, 0.0]
    assert metric_values("conversion", pay, users, through="2024-04-10").tolist() == [1.0, 0.0, 0.0]
    pay24 = user_day_counts(ev, users, event_names=["pay"], end_exclusive=end, window_hours=24)
    assert pay24["n"].sum() == 1  # only the pay 5 minutes after the exposure
    orders = user_day_counts(ev, users, event_names=["order"], end_exclusive=end)
    assert metric_values("count", orders, users, through="2024-04-10").tolist() == [2.0, 1.0, 1.0]
    assert metric_values("count", orders, users, through="2024-04-02").tolist() == [1.0, 1.0, 0.0]  # as of day 2
    anyev = user_day_counts(ev, users, event_names=[], end_exclusive=end)
    ret = metric_values("retention", anyev, users, through="2024-04-10", day=7)
    assert ret[0] == 1.0 and ret[1] == 0.0 and math.isnan(ret[2])  # u3's day 7 (04-13) is after the end


def test_compare_variants_uses_the_right_tests_and_holm():
    rng = np.random.default_rng(0)
    n = 400
    v = np.where(np.arange(n) % 2 == 0, "control", "b")
    conv = (rng.random(n) < np.where(v == "b", 0.3, 0.2)).astype(float)
    rev = rng.gamma(2, 10, n)
    orders = rng.poisson(2, n).astype(float) + 1
    values = pd.DataFrame({"variant": v, "conv": conv, "rev": rev, "orders": orders})
    ms = [ExperimentMetric(name="conv", kind="conversion", event="pay"),
          ExperimentMetric(name="rev", kind="revenue", event="pay", guardrail=True),
          ExperimentMetric(name="orders", kind="count", event="order"),
          ExperimentMetric(name="aov", kind="ratio", numerator="rev", denominator="orders")]  # fmt: skip
    r = compare_variants(values, ms, control="control").set_index("metric")
    t, c = conv[v == "b"], conv[v == "control"]
    z = st.two_proportion(t.sum(), len(t), c.sum(), len(c))
    assert r.at["conv", "p_value"] == pytest.approx(z["p_value"]) and r.at["conv", "test"] == "two-proportion z"
    from scipy import stats

    assert r.at["rev", "p_value"] == pytest.approx(stats.ttest_ind(rev[v == "b"], rev[v == "control"],
                                                                   equal_var=False).pvalue)  # fmt: skip
    rt = st.ratio_moments(rev[v == "b"], orders[v == "b"])["value"]
    assert r.at["aov", "value"] == pytest.approx(rt) and r.at["aov", "test"] == "delta-method z"
    assert r["holm_p"].tolist() == pytest.approx(st.holm(r["p_value"].tolist()))
    assert bool(r.at["rev", "guardrail"]) and r.at["conv", "users"] == 200


def test_relative_lift_of_a_metric_that_cannot_be_negative_stops_at_minus_100_percent():
    """Tiny groups: the delta method's lower bound of the relative lift falls below -100 % (by hand below); a count
    (no negative value) is clipped there, a revenue with a refund is not; the rest of the row is unchanged."""
    from helpers.experiment import compare_one

    t, c = np.array([0.0, 0.0, 6.0]), np.array([1.0, 2.0, 3.0])
    rel = st.relative_lift(t.mean(), t.var(ddof=1) / 3, c.mean(), c.var(ddof=1) / 3)
    # by hand: se^2 = (12 / 3) / 2^2 + 2^2 (1 / 3) / 2^4 = 1.0833, so the bound is 0 - 1.96 * 1.0408 = -2.04
    assert rel["rel_low"] == pytest.approx(-1.959964 * math.sqrt(1 + 1 / 12), rel=1e-5)
    r = compare_one("count", t, c)
    assert (
        r["rel_low"] == -1.0 and r["rel_lift"] == pytest.approx(0.0) and r["rel_high"] == pytest.approx(rel["rel_high"])
    )
    refund = compare_one("revenue", np.array([0.0, -1.0, 7.0]), c)
    assert refund["rel_low"] < -1  # a negative value: the mean can be negative, the bound stays
    num, den = (np.array([0.0, 0.0, 9.0]), np.array([1.0, 1.0, 1.0])), (np.array([1.0, 2.0, 3.0]), np.ones(3))
    ratio = compare_one("ratio", num, den)  # unclipped: 0.5 - 1.96 * 1.5612 = -2.56
    assert ratio["rel_low"] == -1.0 and ratio["rel_lift"] == pytest.approx(0.5)


def test_cuped_in_compare_variants_reports_the_reduction():
    rng = np.random.default_rng(1)
    n = 2000
    x = rng.poisson(3, n).astype(float)
    y = x + rng.poisson(1, n)
    v = np.where(np.arange(n) % 2 == 0, "control", "b")
    values = pd.DataFrame({"variant": v, "orders": y})
    ms = [ExperimentMetric(name="orders", kind="count", event="order")]
    r = compare_variants(values, ms, control="control", covariates=pd.DataFrame({"orders": x}))
    rho2 = np.corrcoef(x, y)[0, 1] ** 2
    assert r.loc[0, "cuped_variance_reduction"] == pytest.approx(rho2, abs=0.01)
    assert r.loc[0, "test"] == "welch t (CUPED)"


def test_a_handful_of_users_gets_no_test_and_no_verdict():
    """Three users in a variant: a group's variance is no estimate there. Two users who both did not retain have a
    variance of 0, and the z-test read "0.0% vs 26.4%, p < 0.001, significant". Below ``min_users`` (10) users with
    a value in either group a row keeps its values and has no test: no p, interval or verdict, and Holm counts only
    the rows tested (by hand below)."""
    from helpers.experiment_stats import MIN_TEST_USERS

    assert ExperimentParams.model_fields["min_users"].default == MIN_TEST_USERS == 10
    rng = np.random.default_rng(3)
    v = np.array(["control"] * 300 + ["big"] * 300 + ["tiny"] * 3)
    conv = (rng.random(len(v)) < 0.264).astype(float)
    conv[v == "tiny"] = 0.0
    values = pd.DataFrame({"variant": v, "ret": conv})
    ms = [ExperimentMetric(name="ret", kind="retention", day=7)]  # 0/1 per user, by Welch's t-test
    r = compare_variants(values, ms, control="control").set_index("variant")
    assert r.at["tiny", "test"] == "too few users" and r.at["tiny", "users"] == 3
    assert r.at["tiny", "value"] == 0.0 and r.at["tiny", "control_value"] == pytest.approx(conv[:300].mean())
    for col in ("p_value", "holm_p", "abs_low", "rel_high", "chance_to_beat", "expected_loss"):
        assert math.isnan(r.at["tiny", col]), col
    assert not r.at["tiny", "significant"]
    from scipy import stats

    welch = stats.ttest_ind(conv[300:600], conv[:300], equal_var=False).pvalue
    assert r.at["big", "p_value"] == pytest.approx(welch) and r.at["big", "holm_p"] == pytest.approx(welch)
    # the old rule (2 users) tested it: 0 of 3 (variance 0) against 26 % was "significant"
    old = compare_variants(values, ms, control="control", min_users=2).set_index("variant")
    assert old.at["tiny", "p_value"] < 0.001 and old.at["tiny", "significant"]
    # exactly min_users users are enough
    ten = values[(values["variant"] != "tiny")].copy()
    ten.loc[ten.index[-10:], "variant"] = "ten"
    assert compare_variants(ten, ms, control="control").set_index("variant").at["ten", "test"] == "welch t"


def test_cuped_that_carries_a_rate_past_100_percent_is_not_used():
    """The audit's 3-user variant read "Payment within 24 h: 102.2%": CUPED's adjusted values averaged above 1 in a
    small group whose users all paid and had no history. A group's adjusted mean outside the metric's range (a rate
    in 0-1, a count at least 0) leaves the metric unadjusted: the test and the value are the raw ones, and the
    finding says why CUPED was not used."""
    from helpers.experiment import ExperimentReport
    from helpers.experiment_stats import cuped_in_range

    rng = np.random.default_rng(5)
    n = 400
    x = rng.poisson(2, n).astype(float)  # pre-period payments
    y = ((x + rng.normal(0, 1, n)) > 2).astype(float)  # payment in the test, correlated with history
    v = np.array(["control"] * n)
    # twelve users with no history who all paid: y_adj = 1 - theta * (0 - mean(x)) > 1
    x = np.concatenate([x, np.zeros(12)])
    y = np.concatenate([y, np.ones(12)])
    v = np.concatenate([v, ["b"] * 12])
    values = pd.DataFrame({"variant": v, "pay": y})
    cu = st.cuped(y, x)
    adj_b = cu["y_adj"][v == "b"].mean()
    assert cu["variance_reduction"] > 0.05 and adj_b > 1  # CUPED would have helped, and it leaves the range
    assert not cuped_in_range("conversion", cu["y_adj"], values["variant"], values["pay"])
    ms = [ExperimentMetric(name="pay", kind="conversion", event="pay")]
    r = compare_variants(values, ms, control="control", covariates=pd.DataFrame({"pay": x}))
    assert r.loc[0, "test"] == "two-proportion z" and r.loc[0, "value"] == 1.0
    assert r.loc[0, "cuped_variance_reduction"] == pytest.approx(cu["variance_reduction"])
    # a count: adjusted means below 0 are out of range only when no raw value is negative
    assert cuped_in_range("count", np.array([-0.5, 1.0, 2.0]), pd.Series(["a", "a", "b"]), pd.Series([0, 1, 2]))
    assert not cuped_in_range("count", np.array([-3.0, 1.0, 2.0]), pd.Series(["a", "a", "b"]), pd.Series([0, 1, 2]))
    assert cuped_in_range("revenue", np.array([-3.0, 1.0, 2.0]), pd.Series(["a", "a", "b"]), pd.Series([-5, 1, 2]))
    rep = ExperimentReport(srm=srm_table(pd.Series({"control": 400, "b": 12}), None),
                           results=r.assign(trustworthy=True))  # fmt: skip
    with i18n.language("en"):
        text = " ".join(rep.findings())
    assert "102" not in text and "b 100.0% vs control" in text
    assert "Not used (a group's adjusted mean falls outside the metric's possible range" in text


def test_srm_table_and_sequential_intervals():
    s = srm_table(pd.Series({"a": 580, "b": 420}), {"a": 1, "b": 1})
    assert bool(s["srm"].iloc[0]) and s["chi2"].iloc[0] == pytest.approx(25.6)
    assert not srm_table(pd.Series({"a": 510, "b": 490}), None)["srm"].iloc[0]
    seq = sequential_table(pd.DataFrame({"day": [1, 2], "metric": "m", "variant": "b", "users": [100, 400],
                                         "diff": [0.05, 0.05], "se": [0.04, 0.02]}))  # fmt: skip
    assert (seq["cs_high"] - seq["cs_low"] > seq["fixed_high"] - seq["fixed_low"]).all()
    assert seq["cs_low"].iloc[1] > seq["cs_low"].iloc[0]


def test_params_errors_name_the_key():
    base = {"start": "2024-04-01", "control": "a", "metrics": [{"name": "c", "kind": "conversion", "event": "pay"}]}
    assert ExperimentParams(**base).cuped_days == 14
    with pytest.raises(ValidationError, match=r"experiment.metrics.c.event"):
        ExperimentParams(**{**base, "metrics": [{"name": "c", "kind": "conversion"}]})
    with pytest.raises(ValidationError, match=r"experiment.metrics.r: 'x' must name"):
        ExperimentParams(**{**base, "metrics": [*base["metrics"], {"name": "r", "kind": "ratio", "numerator": "x",
                                                                   "denominator": "c"}]})  # fmt: skip
    with pytest.raises(ValidationError, match=r"experiment.assignment.path"):
        ExperimentAssignment(source="table")
    with pytest.raises(ValidationError, match=r"experiment.split: must include the control"):
        ExperimentParams(**{**base, "split": {"b": 1, "c": 1}})


# ------------------------------------------------------------------------------------------- demo
@pytest.fixture(scope="module")
def demo_ctx(tmp_path_factory):
    import helpers
    from helpers.ingest import ingest_campaign

    ctx = helpers.open_campaign("demo", reports_dir=str(tmp_path_factory.mktemp("exp_reports")), theme=False)
    ingest_campaign(ctx.cfg, ctx.paths, progress=False, params_file=ctx.params_file)
    return ctx


def test_sequential_charts_name_the_metric_and_read_shares_in_points(demo_ctx, monkeypatch):
    import matplotlib.pyplot as plt

    import helpers.base
    import helpers.experiment as ex

    rep = ex.ExperimentReport.compute(demo_ctx)
    shown = []
    monkeypatch.setattr(helpers.base, "_display", shown.append)  # the charts the page would show
    assert rep._show("sequential") is None
    titles = [a.get_title() for a in shown]
    assert titles[0] == "24小时内支付转化：new_checkout 减对照组" and not any("pay_conversion" in x for x in titles)
    conv, orders = shown[0], shown[titles.index("人均订单：new_checkout 减对照组")]
    assert conv.get_ylabel() == "差值（百分点，实验组 − 对照组）" and conv.yaxis.get_major_formatter()(0.2, 0) == "20"
    assert orders.get_ylabel() == "差值（实验组 − 对照组）"
    plt.close("all")


def test_demo_planted_lift_detected_guardrail_not_srm_passes(demo_ctx):
    from helpers.experiment import ExperimentReport

    rep = ExperimentReport.compute(demo_ctx)
    assert not rep.srm_failed and rep.srm["p_value"].iloc[0] > 0.001
    r = rep.results.set_index("metric")
    assert r.at["pay_conversion", "significant"] and r.at["pay_conversion", "abs_lift"] > 0.1
    assert r.at["pay_conversion", "chance_to_beat"] > 0.99
    assert r.at["orders", "guardrail"] and not r.at["orders", "significant"]
    assert rep.results["trustworthy"].all() and rep.excluded_multi == 0
    assert rep.findings()[0].startswith("样本比例检查通过")
    assert rep.lead().startswith("24小时内支付转化") and "显著" in rep.lead()  # the index shows the lift
    for part in ("results", "power", "segments"):  # metrics by name on the page; the CSVs keep the codes
        shown = rep._show(part).data
        assert "pay_conversion" not in set(shown.get("metric", [])) | set(shown.get("label", [])), part
        assert "24小时内支付转化" in set(shown.get("metric", [])) | set(shown.get("label", [])), part
    assert "pay_conversion" in set(rep.tables()["power"]["metric"])
    from helpers.fmt import fmt_pct
    from tests.styled import styled_rows

    shown = {x["metric"]: x for x in styled_rows(rep._show("results"))}
    conv, orders = shown["24小时内支付转化"], shown["人均订单"]  # a share in % and points; a count per user
    assert conv["value"] == fmt_pct(r.at["pay_conversion", "value"]) and conv["value"].endswith("%")
    assert conv["abs_lift"] == f"{r.at['pay_conversion', 'abs_lift'] * 100:.1f} 个百分点"
    assert (conv["kind"], conv["test"]) == ("转化率", "双比例 z 检验")
    assert orders["value"] == f"{r.at['orders', 'value']:.2f}" and orders["kind"] == "人均次数"
    assert orders["test"] == "Welch t 检验（CUPED 校正）"
    assert f"为 {fmt_pct(r.at['pay_conversion', 'value'])}，" in rep.findings()[2]  # the findings say it alike
    # a relative lift with its sign, in the findings and the index's headline, as a segment's lift reads
    lift = r.at["pay_conversion", "rel_lift"]
    assert lift > 0 and f"（+{lift:.1%}，95% 置信区间" in rep.findings()[2], rep.findings()[2]
    assert rep.headline()[1]["text"] == f"+{lift:.1%}"
    rev = shown["人均支付金额"]  # revenue per user: money in the campaign's currency, in the table and the finding
    assert rev["value"] == f"¥{r.at['revenue', 'value']:,.2f}" and rev["control_value"].startswith("¥")
    assert rev["abs_lift"].lstrip("-").startswith("¥")
    assert f"为 {rev['value']}，对照组 {rev['control_value']}" in " ".join(rep.findings()), rep.findings()
    per_order = shown["单均支付金额"]  # a ratio of revenue over orders is money too
    assert per_order["value"] == f"¥{r.at['revenue_per_order', 'value']:,.2f}"
    assert shown["人均订单"]["value"] == f"{r.at['orders', 'value']:.2f}"  # a count per user is not
    o = shown["人均订单"]  # the finding quotes a count per user as the table does (two decimals)
    assert f"为 {o['value']}，对照组 {o['control_value']}（" in " ".join(rep.findings()), rep.findings()
    # a tiny p reads "p < 0.001" (the results keep the number); the variants are listed with 、 in Chinese
    assert r.at["pay_conversion", "p_value"] < 1e-6 and "，p < 0.001，Holm 校正后 p < 0.001，" in rep.findings()[2]
    counts = "、".join(f"{v.variant} {v.users:,}" for v in rep.srm.itertuples())
    assert f"样本比例检查通过：{counts}（" in rep.findings()[0]
    assert f"p = {r.at['orders', 'p_value']:.3g}，" in " ".join(rep.findings())
    assert rep._show("segments").ubk_headers == {"segment": "渠道"}  # the segment column named for its values
    with i18n.language("en"):
        assert rep.findings()[0].startswith("Sample ratio check passes")
    last = rep.sequential[(rep.sequential["day"] == rep.sequential["day"].max())
                          & (rep.sequential["metric"] == "pay_conversion")]  # fmt: skip
    assert bool(last["cs_excludes_zero"].iloc[0])
    assert set(rep.tables()) == set(rep.table_names) and rep.segments is not None and len(rep.segments)
    assert (rep.power["mde_abs"] > 0).all()
    import json

    planted = json.loads((demo_ctx.paths.raw / "manifest.json").read_text(encoding="utf-8"))["planted"]["experiment"]
    assert planted["column"] == "checkout_variant" and planted["pay_rows_added"] > 100
    assert rep.srm["users"].sum() <= planted["users_assigned"]


def test_segment_findings_say_what_the_segments_show():
    """The findings say how many segment comparisons are significant after Holm and name the strongest by Holm p
    (segment, metric, signed lift); the multiple-comparisons warning stays above the segments table, once."""
    from helpers.experiment import ExperimentReport

    seg = pd.DataFrame(
        {
            "segment": ["app", "web", "app", "web"],
            "metric": ["conv", "conv", "orders", "orders"],
            "rel_lift": [0.12, -0.031, 0.2, 0.01],
            "holm_p": [0.004, 0.03, 0.5, 0.9],
            "significant": [True, True, False, False],
        }
    )
    results = pd.DataFrame({"metric": ["conv", "orders"], "label": ["支付转化", "人均订单"]})
    rep = ExperimentReport(segments=seg, results=results, segment_col="channel")
    text = rep._segments_finding()
    found = "4 个比较中 2 个在 Holm 校正后显著（app · 支付转化 +12.0%、web · 支付转化 -3.1%），只作线索，见分群结果。"
    assert text == f"按渠道分群：{found}"
    with i18n.language("en"):
        none = ExperimentReport(segments=seg.assign(significant=False), results=results, segment_col="channel")
        assert (
            none._segments_finding()
            == "Segments by channel: none of 4 comparisons is significant after Holm correction."
        )
    assert "假阳性" not in text and "假阳性" in rep._segments_text()  # the warning is the table's, not the findings'


def test_demo_broken_split_fails_srm(demo_ctx):
    from helpers.experiment import ExperimentReport

    p = demo_ctx.cfg.experiment.model_copy(update={
        "assignment": ExperimentAssignment(column="banner_variant"), "control": "A", "exposure_event": None,
        "segment": None, "split": {"A": 1, "B": 1},
    })  # fmt: skip
    ctx = dataclasses.replace(demo_ctx, cfg=demo_ctx.cfg.model_copy(update={"experiment": p}))
    rep = ExperimentReport.compute(ctx)
    assert rep.srm_failed and rep.srm["p_value"].iloc[0] < 0.001
    assert rep.findings()[0].startswith("样本比例失衡") and "不可信" in rep.headline()[0]["label"]
    assert rep.lead() == rep.findings()[0]  # nothing after a failed check can be trusted: the index says so
    with i18n.language("en"):
        assert "Sample ratio mismatch" in rep.findings()[0] and "not trustworthy" in rep.findings()[0]
        assert "untrustworthy" in rep.headline()[0]["label"]
    assert not rep.results["trustworthy"].any() and not rep.to_results()["trustworthy"]


def test_one_variant_is_unavailable_and_says_why(demo_ctx, monkeypatch):
    """Every assigned user in the control: the report was "ok", said "Sample ratio check passes: control 205
    (planned 100), chi-square p = –" and the index showed "SRM p: nan", with empty tables. A test needs something
    to compare with: the report is now unavailable and says so."""
    from helpers import experiment_run
    from helpers.experiment import ExperimentReport

    real = experiment_run.load_assignments

    def only_control(ctx, p):
        df = real(ctx, p)
        return df.assign(**{p.assignment.column: p.control})

    monkeypatch.setattr(experiment_run, "load_assignments", only_control)
    rep = ExperimentReport.run(demo_ctx)
    assert not rep.available
    control = demo_ctx.cfg.experiment.control
    assert rep.reason.startswith(f"每位已分组用户都在对照组 {control!r} 中"), rep.reason
    with i18n.language("en"):
        rep = ExperimentReport.run(demo_ctx)
        assert "a test needs a control and at least one other variant" in rep.reason


def test_a_start_after_the_data_says_so(demo_ctx):
    """``experiment.start`` after the period's data said "no assigned user was exposed in the test window
    (experiment.exposure_event)", pointing at the wrong key; it now says the start is after the data."""
    from helpers.experiment import ExperimentReport

    p = demo_ctx.cfg.experiment.model_copy(update={"start": "2024-06-01"})
    ctx = dataclasses.replace(demo_ctx, cfg=demo_ctx.cfg.model_copy(update={"experiment": p}))
    with i18n.language("en"):
        rep = ExperimentReport.run(ctx)
    assert not rep.available
    assert rep.reason.startswith("experiment.start (2024-06-01) comes after the last fully observed day of the data")


def test_a_segment_column_that_is_not_there_leaves_only_the_segments_out(demo_ctx):
    """``experiment.segment: chanel`` made the whole report unavailable. The results stand; a note says the segments
    are missing, names the key and the closest column, in the page's language."""
    from helpers.experiment import ExperimentReport

    p = demo_ctx.cfg.experiment.model_copy(update={"segment": "chanel", "breakdown": None})
    ctx = dataclasses.replace(demo_ctx, cfg=demo_ctx.cfg.model_copy(update={"experiment": p}))
    rep = ExperimentReport.run(ctx)
    assert rep.available and len(rep.results) and rep.segments is None
    note = next(x for x in rep.findings() if "experiment.segment" in x)
    assert note.startswith("没有分群结果：用户表没有列 'chanel'（是不是 'channel'？）（experiment.segment；现有列：")
    with i18n.language("en"):
        rep = ExperimentReport.run(ctx)
    assert rep.notes[-1].startswith(
        "No results per segment: the users table has no column 'chanel' (did you mean 'channel'?) (experiment.segment;"
    )
    assert "segments" not in rep.tables()


def test_no_section_is_unavailable(demo_ctx):
    from helpers.experiment import ExperimentReport

    ctx = dataclasses.replace(demo_ctx, cfg=demo_ctx.cfg.model_copy(update={"experiment": None}))
    rep = ExperimentReport.run(ctx)
    assert not rep.available and "experiment" in rep.reason


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_spark_equals_duckdb(spark_ibis):
    con = spark_ibis
    session = con._session
    session.createDataFrame(events()).createOrReplaceTempView("exp_events")
    t = con.table("exp_events")
    users = first_exposure(events(), "order", start="2024-04-01", end_exclusive="2024-04-11")
    users = users.sort_values("user_id").reset_index(drop=True)
    spark_users = first_exposure(t, "order", start="2024-04-01", end_exclusive="2024-04-11")
    pd.testing.assert_frame_equal(spark_users.sort_values("user_id").reset_index(drop=True), users)
    kw = {"event_names": ["pay"], "end_exclusive": "2024-04-11", "window_hours": 48, "amount_col": "amount"}
    d1 = user_day_counts(events(), users, **kw).sort_values(["user_id", "day"]).reset_index(drop=True)
    d2 = user_day_counts(t, users, **kw).sort_values(["user_id", "day"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(d2, d1, check_dtype=False)


def test_revenue_is_summed_exactly_in_any_order():
    """Revenue adds money as decimals to 6 places, within a day (in the engine) and over the days
    (:func:`helpers.engine.money_total`, whole millionths): two users paying 0.1, 0.2 and 0.3 in
    opposite orders, over two days, both have 0.6 to the bit, whatever the order of the daily rows."""
    from helpers.engine import money_total

    rows = [("a", "pay", "2024-04-01 10:00", 0.1), ("a", "pay", "2024-04-01 11:00", 0.2),
            ("a", "pay", "2024-04-02 10:00", 0.3), ("b", "pay", "2024-04-01 10:00", 0.3),
            ("b", "pay", "2024-04-02 10:00", 0.2), ("b", "pay", "2024-04-02 11:00", 0.1)]  # fmt: skip
    ev = pd.DataFrame(rows, columns=["user_id", "event", "ts", "amount"])
    ev["ts"] = pd.to_datetime(ev["ts"]).astype("datetime64[us]")
    users = pd.DataFrame({"user_id": ["a", "b"], "exposed_at": pd.to_datetime(["2024-04-01 09:00"] * 2)})
    pay = user_day_counts(ev, users, event_names=["pay"], end_exclusive="2024-04-03", amount_col="amount")
    assert sorted(pay["amount"]) == [0.3, 0.3, 0.3, 0.3]  # 0.1 + 0.2 as floats is 0.30000000000000004
    for daily in (pay, pay.iloc[::-1]):
        assert metric_values("revenue", daily, users, through="2024-04-02").tolist() == [0.6, 0.6]
    keys = pd.Series(["x"] * 3)
    up, down = money_total(pd.Series([0.1, 0.2, 0.3]), keys), money_total(pd.Series([0.3, 0.2, 0.1]), keys)
    assert up["x"] == down["x"] == 0.6
    big = pd.Series([5e9, 0.5])  # past whole millionths in integers: a float sum
    assert money_total(big, pd.Series(["x", "x"]))["x"] == 5e9 + 0.5


def test_thin_experiment_says_so_and_an_untested_metric_is_not_called_not_significant():
    """Two users per group: a caution follows the sample ratio line (not the lead, which stays the first metric's
    result); a metric no test ran on (day-7 retention with one user per group) says how many users have a value
    and why, where it read "–, p = –, not significant"."""
    from helpers.experiment import ExperimentReport

    srm = pd.DataFrame(
        {
            "variant": ["new", "control"],
            "users": [2, 2],
            "planned_share": [0.5, 0.5],
            "p_value": [1.0, 1.0],
            "srm": False,
        }
    )
    nan = math.nan
    base = dict(guardrail=False, variant="new", abs_lift=nan, cuped_variance_reduction=nan, significant=False)
    conv = dict(base, metric="conv", label="支付转化", kind="conversion", users=2, control_users=2, value=0.5,
                control_value=1.0, rel_lift=-0.5, rel_low=-1.19, rel_high=0.19, p_value=0.248, holm_p=0.99,
                chance_to_beat=0.2)  # fmt: skip
    day7 = dict(base, metric="day7", label="7日留存", kind="retention", users=1, control_users=1, value=nan,
                control_value=nan, rel_lift=nan, rel_low=nan, rel_high=nan, p_value=nan, holm_p=nan,
                chance_to_beat=nan)  # fmt: skip
    ratio = dict(day7, metric="rpo", label="单均金额", kind="ratio", users=50, control_users=40, guardrail=True)
    rep = ExperimentReport(srm=srm, results=pd.DataFrame([conv, day7, ratio]))
    with i18n.language("zh"):
        out = rep.findings()
        assert out[2] == "注意：分析的用户很少（new 2、control 2，有的组少于 30 名），区间很宽，以下结果仅供参考。"
        assert out[3].startswith("支付转化：new 为 50.0%") and rep.lead() == out[3]
        assert out[4] == (
            "7日留存：未检验：new 1 名、对照组 1 名用户有这个指标的值，每组至少需要 10 名（experiment.min_users）。"
            "留存日晚于实验结束的用户不计入。"
        )
        assert out[5].startswith("单均金额（护栏指标）：无法检验：new（50 名）或对照组（40 名）的值无法计算")
        assert not any("不显著" in x for x in out[4:])
    with i18n.language("en"):
        out = rep.findings()
        assert out[4] == (
            "7日留存: not tested: 1 new and 1 control users have a value of it; each group needs at least 10 "
            "(experiment.min_users). "
            "Users whose retention day falls after the test end are left out."
        )
        # an English label opens its line with a capital ("payment within 24 h: new ..." read oddly)
        english = ExperimentReport(srm=srm, results=pd.DataFrame([{**conv, "label": "payment within 24 h"},
                                                                  {**day7, "label": "day-7 retention"}]))  # fmt: skip
        lines = english.findings()
        assert lines[3].startswith("Payment within 24 h: new 50.0%") and lines[4].startswith("Day-7 retention: not")
    big = ExperimentReport(srm=srm.assign(users=[30, 31]), results=pd.DataFrame([conv]))
    with i18n.language("zh"):
        assert not any(x.startswith("注意") for x in big.findings())
    # a chance to beat of 1.0 in floating point (Phi of a large z, every posterior draw winning) is not "sure"
    from tests.styled import styled_rows

    won = dict(conv, users=300, control_users=300, chance_to_beat=1.0)
    sure = ExperimentReport(srm=srm.assign(users=[300, 300]), results=pd.DataFrame([won]))
    with i18n.language("zh"):
        line = next(x for x in sure.findings() if x.startswith("支付转化"))
        assert "胜过对照组的概率 > 99.9%" in line and "概率 100.0%" not in line
        assert styled_rows(sure._show("results"))[0]["chance_to_beat"] == "> 99.9%"
    with i18n.language("en"):
        assert any("chance to beat control > 99.9%" in x for x in sure.findings())


def test_interval_level_follows_alpha():
    """The findings name the intervals' level, 1 - alpha: "90% CI" with alpha 0.1 (the interval is the 90% one),
    "95% CI" by default, in both languages; the glossary's "95% interval" gives way to the general term."""
    from statistics import NormalDist

    from helpers.experiment import ExperimentReport
    from helpers.fmt import fmt_pct, fmt_range

    rng = np.random.default_rng(5)
    v = np.where(np.arange(600) % 2 == 0, "control", "b")
    values = pd.DataFrame({"variant": v, "conv": (rng.random(600) < np.where(v == "b", 0.3, 0.2)).astype(float)})
    srm = pd.DataFrame({"variant": ["b", "control"], "users": [300, 300], "planned_share": [0.5, 0.5],
                        "p_value": [1.0, 1.0], "srm": False})  # fmt: skip
    metric = [ExperimentMetric(name="conv", kind="conversion", event="pay")]
    cells = {}
    for alpha in (0.1, 0.05):
        res = compare_variants(values, metric, control="control", alpha=alpha).assign(label="支付转化")
        r = res.iloc[0]
        # the interval is the (1 - alpha) one: the delta-method interval of the relative lift, by hand
        pt, pc = values.loc[v == "b", "conv"].mean(), values.loc[v == "control", "conv"].mean()
        se = math.sqrt(pt * (1 - pt) / 300 / pc**2 + pt**2 * pc * (1 - pc) / 300 / pc**4)
        z = NormalDist().inv_cdf(1 - alpha / 2)
        assert (r["rel_low"], r["rel_high"]) == pytest.approx((pt / pc - 1 - z * se, pt / pc - 1 + z * se))
        rep = ExperimentReport(alpha=alpha, srm=srm, results=res)
        level = "90%" if alpha == 0.1 else "95%"
        with i18n.language("zh"):
            cells[alpha] = fmt_range(r["rel_low"], r["rel_high"], fmt_pct)
            assert f"，{level} 置信区间 {cells[alpha]}）" in rep.findings()[2], rep.findings()[2]
        with i18n.language("en"):
            ci = fmt_range(r["rel_low"], r["rel_high"], fmt_pct)
            assert f", {level} CI {ci})" in rep.findings()[2], rep.findings()[2]
        assert ("ci95" in rep.glossary) == (alpha == 0.05) and ("ci" in rep.glossary) == (alpha == 0.1)
    assert cells[0.1] != cells[0.05]
    assert [ExperimentReport(alpha=a).level() for a in (0.05, 0.1, 0.025, 0.01)] == ["95%", "90%", "97.5%", "99%"]
    assert ExperimentReport.glossary == ExperimentReport().glossary  # the class keeps its terms


def test_demo_with_alpha_0_1_says_90_percent(demo_ctx, monkeypatch):
    """alpha from the params reaches the page: the demo's experiment with alpha 0.1 calls its intervals 90%."""
    from helpers.experiment import ExperimentReport
    from helpers.fmt import fmt_pct, fmt_range

    exp = demo_ctx.cfg.experiment
    monkeypatch.setattr(demo_ctx.cfg, "experiment", exp.model_copy(update={"alpha": 0.1}))
    rep = ExperimentReport.compute(demo_ctx)
    r = rep.results.set_index("metric").loc["pay_conversion"]
    for lang, said in (("zh", "，90% 置信区间 {ci}）"), ("en", ", 90% CI {ci})")):
        with i18n.language(lang):
            ci = fmt_range(r["rel_low"], r["rel_high"], fmt_pct)
            assert rep.alpha == 0.1 and said.format(ci=ci) in rep.findings()[2], rep.findings()[2]
            assert not any("95%" in f for f in rep.findings()), rep.findings()
