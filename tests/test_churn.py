"""Churn: labels at the horizon edges, no leakage from after the cutoff, a planted driver is found and
beats the recency baseline, deterministic; the report joins the RFM segments only when they are current."""

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest

from helpers import i18n
from helpers.base import Unavailable, inputs_fingerprint
from helpers.campaign import open_campaign
from helpers.churn import (
    ChurnReport,
    _feature_cols,
    _matrix,
    average_precision,
    build_dataset,
    churn_labels,
    cutoffs,
    evaluate,
    fit_models,
    lift_table,
    roc_auc,
    run_churn,
)
from helpers.errors import UnknownPartError
from helpers.plots import set_theme

T = pd.Timestamp("2024-02-01")


def test_labels_at_the_edges():
    ev = pd.DataFrame(
        {
            "user_id": ["a", "b", "c", "d", "e"],
            "event": ["x", "x", "x", "x", "y"],
            "ts": [
                T,
                T + pd.Timedelta(days=7) - pd.Timedelta(seconds=1),
                T + pd.Timedelta(days=7),
                T - pd.Timedelta(seconds=1),
                T + pd.Timedelta(days=1),
            ],
        }
    )
    users = pd.Series(["a", "b", "c", "d", "e"])
    got = churn_labels(ev, users, cutoff=T, horizon_days=7).tolist()
    # a: activity exactly at T counts (came back); b: last second inside; c: exactly at T+H is outside;
    # d: only before T; e: came back with another event
    assert got == [0, 0, 1, 1, 0]
    assert churn_labels(ev, users, cutoff=T, horizon_days=7, label_events=["x"]).tolist() == [0, 0, 1, 1, 1]


def test_cutoffs():
    c = cutoffs("2024-03-31", 30)
    assert c == {
        "score": pd.Timestamp("2024-03-31"),
        "eval": pd.Timestamp("2024-03-01"),
        "train": pd.Timestamp("2024-01-31"),
    }


def _synthetic(seed=3, n=800):
    """Users active in January; 'complain' events drive churn in February (planted), recency only mildly."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        k = int(rng.poisson(1.5))  # complaints
        views = int(rng.integers(3, 15))
        days = rng.integers(0, 31, size=views)
        for d in days:
            rows.append(
                (
                    f"u{i:04d}",
                    "view",
                    pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(d), hours=int(rng.integers(0, 24))),
                )
            )
        for _ in range(k):
            rows.append(
                (f"u{i:04d}", "complain", pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 31))))
            )
        p_churn = 1 / (1 + np.exp(-(-1.5 + 1.2 * k)))
        if rng.random() > p_churn:
            rows.append((f"u{i:04d}", "view", pd.Timestamp("2024-02-01") + pd.Timedelta(days=int(rng.integers(0, 14)))))
    return pd.DataFrame(rows, columns=["user_id", "event", "ts"])


def test_no_leakage_from_after_the_cutoff():
    ev = _synthetic(n=200)
    a = build_dataset(ev, cutoff=T, horizon_days=14, window_days=31, event_types=["view", "complain"])
    after = ev.ts >= T
    altered = ev.copy()
    altered.loc[after, "event"] = "complain"
    altered.loc[after, "ts"] = altered.loc[after, "ts"] + pd.Timedelta(hours=5)
    b = build_dataset(altered, cutoff=T, horizon_days=14, window_days=31, event_types=["view", "complain"])
    feats = [c for c in a.columns if c != "churned"]
    pd.testing.assert_frame_equal(a[feats], b[feats])
    cols = _feature_cols(a)
    pd.testing.assert_frame_equal(_matrix(a, cols)[0], _matrix(b, cols)[0])


def test_planted_driver_is_found_and_beats_the_baseline():
    ev = _synthetic()
    # train on users' January with labels in early February; evaluate on a second, independent population
    train = build_dataset(ev, cutoff=T, horizon_days=14, window_days=31, event_types=["view", "complain"])
    test_ev = _synthetic(seed=11).assign(user_id=lambda d: "t" + d.user_id)
    test = build_dataset(test_ev, cutoff=T, horizon_days=14, window_days=31, event_types=["view", "complain"])
    cols = _feature_cols(train)
    b = fit_models(train, cols, seed=42)
    X, _ = _matrix(test, cols, b["medians"])
    y = test["churned"].to_numpy()
    lr = b["models"]["logistic_regression"]
    coefs = pd.Series(lr.steps[1][1].coef_[0], index=cols)
    assert coefs.abs().idxmax() == "n_complain"
    from sklearn.inspection import permutation_importance

    gb = b["models"]["gradient_boosting"]
    pi = permutation_importance(gb, X, y, scoring="roc_auc", n_repeats=5, random_state=42)
    assert cols[int(np.argmax(pi.importances_mean))] == "n_complain"
    m = evaluate(y, lr.predict_proba(X)[:, 1], n_boot=50)
    base = evaluate(y, test["days_since_last_event"].to_numpy(), is_probability=False, n_boot=50)
    assert m["roc_auc"] > base["roc_auc"] + 0.1 and m["roc_auc_ci"][0] > base["roc_auc"]
    again = fit_models(train, cols, seed=42)["models"]["gradient_boosting"].predict_proba(X)[:, 1]
    assert np.array_equal(again, gb.predict_proba(X)[:, 1])  # deterministic


def test_lift_and_evaluate_by_hand():
    y = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 0])
    s = np.arange(10, 0, -1) / 10
    lt = lift_table(y, s, bins=5)
    assert lt["churn_rate"].tolist() == [1.0, 0.0, 0.5, 0.0, 0.0]
    assert lt["lift"].iloc[0] == pytest.approx(1 / 0.3)
    m = evaluate(y, s, top_share=0.2, n_boot=20)
    assert m["precision_at_top"] == 1.0 and m["recall_at_top"] == pytest.approx(2 / 3)
    assert m["confusion"] == {"tn": 4, "fp": 3, "fn": 0, "tp": 3}  # scores >= 0.5: the first 6
    from helpers.churn import _confusion_note

    note = _confusion_note("gradient_boosting", m)  # above the matrix: what it counts and what it gives
    assert note.startswith("梯度提升，留出截止日上的 10 位用户；预测流失概率 ≥ 50.0% 记为预测流失") and (
        "精确率 50.0%" in note and "召回率 100.0%" in note
    ), note
    with i18n.language("en"):
        assert "precision 50.0%" in _confusion_note("gradient_boosting", m)


def test_fast_auc_and_average_precision_equal_sklearn():
    from sklearn.metrics import average_precision_score, roc_auc_score

    # hand case: positives scored 0.9, 0.4; negatives 0.4, 0.1 -> pairs (0.9>0.4, 0.9>0.1, 0.4=0.4 half, 0.4>0.1)
    y, s = [1, 1, 0, 0], [0.9, 0.4, 0.4, 0.1]
    assert roc_auc(y, s) == pytest.approx(3.5 / 4)
    # AP: thresholds 0.9 (P=1, R=.5), 0.4 (P=2/3, R=1), 0.1 (R stays 1) -> .5*1 + .5*2/3
    assert average_precision(y, s) == pytest.approx(0.5 + 0.5 * 2 / 3)
    rng = np.random.default_rng(3)
    for _ in range(20):
        y = rng.integers(0, 2, 300)
        s = np.round(rng.normal(size=300) + y * 0.5, 1)  # rounding makes many ties
        assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
        assert average_precision(y, s) == pytest.approx(average_precision_score(y, s), abs=1e-12)


CHURN_PARAMS = """
campaign: churnt
title: 流失测试
period: {{start: 2024-01-01, end: 2024-02-14}}
tables:
  events:
    source: {{path: "{path}"}}
    columns: {{user_id: u, event: e, ts: t}}
    events: [view, complain]
churn: {{horizon_days: 7, window_days: 14, n_bootstrap: 20}}
"""


@pytest.fixture
def churn_ctx(tmp_path, write_params):
    """A campaign whose clean events are the synthetic ones (January activity, February returns)."""
    raw = tmp_path / "ev.csv"
    raw.write_text("u,e,t\n", encoding="utf-8")
    p = write_params(CHURN_PARAMS.format(path=raw.as_posix()))
    ctx = open_campaign("churnt", params_file=str(p), reports_dir=str(tmp_path / "reports"), theme=False)
    _synthetic(n=300).to_parquet(ctx.paths.table("events"), index=False)
    return ctx


def test_report_reads_the_rfm_segments_only_when_current(churn_ctx):
    ctx = churn_ctx
    rep = ChurnReport.run(ctx)
    assert rep.available and "rfm_segment" not in rep.at_risk
    assert any(f.startswith("名单没有 RFM 分群") and "rfm 报告还没有运行" in f for f in rep.findings())
    # models are named in the campaign's language on the page; the results keep the machine names
    names = {"logistic_regression": "逻辑回归", "gradient_boosting": "梯度提升"}
    assert f"最佳模型**{names[rep.chosen]}**" in rep.lead() and rep.chosen not in " ".join(rep.findings())
    shown = rep._show("metrics").data["model"].tolist()
    assert shown == ["基线（最近活跃时间）", "逻辑回归", "梯度提升"]
    # the table quotes ROC AUC as the findings do (three decimals: 0.716 in both, not 0.72 against 0.716)
    from helpers.fmt import fmt_num
    from tests.styled import styled_rows

    chosen = next(r for r in styled_rows(rep._show("metrics")) if r["model"] == names[rep.chosen])
    auc = fmt_num(rep.metrics[rep.chosen]["roc_auc"], 3)
    assert chosen["roc_auc"] == auc and f"ROC AUC **{auc}**" in " ".join(rep.findings()), rep.findings()
    # PR AUC's interval is on the page beside ROC AUC's (it was only in results/churn.json)
    lo, hi = rep.metrics[rep.chosen]["pr_auc_ci"]
    assert (chosen["pr_auc_ci_low"], chosen["pr_auc_ci_high"]) == (fmt_num(lo, 3), fmt_num(hi, 3))
    assert lo <= rep.metrics[rep.chosen]["pr_auc"] <= hi
    assert i18n.column_label("pr_auc_ci_low", lang="zh") == "PR AUC 区间下限"
    assert i18n.column_label("auc_ci_low", lang="en") == "ROC AUC interval low"
    with i18n.language("en"):
        assert "Best model **logistic regression**" in rep.lead() or "**gradient boosting**" in rep.lead()
        # the confusion matrix's headers and row names start as headers do
        conf = rep._show("confusion").data
        assert list(conf.columns) == ["", "Predicted to stay", "Predicted to churn"]
        assert conf[""].tolist() == ["Actually stayed", "Actually churned"]
    res = rep.to_results()
    assert set(res) == {"available", "reason", *ChurnReport.result_keys} and res["scored_users"] == len(rep.at_risk)
    assert set(rep.tables()) == {"at_risk", "lift"} and ChurnReport.reads == ("rfm",)
    with matplotlib.rc_context():  # the CJK chart theme, restored afterwards
        set_theme()
        for part in ChurnReport.parts:
            rep.show(part)
    with pytest.raises(UnknownPartError):
        rep.show("bogus")
    # the RFM report's membership table, saved from the current clean events
    seg = pd.DataFrame({"user_id": rep.at_risk["user_id"], "segment": "Loyal"})
    seg.to_csv(ctx.paths.results / "rfm_membership.csv", index=False, encoding="utf-8-sig")
    (ctx.paths.results / "rfm.json").write_text(
        json.dumps(
            {"csv": {"membership": "rfm_membership.csv"}, "run_id": "r1", "inputs": inputs_fingerprint(ctx, ["events"])}
        )
    )
    again = ChurnReport.run(ctx)
    assert (again.at_risk["rfm_segment"] == "Loyal").all() and ctx.upstream_used["rfm"] == "r1"
    assert not any("RFM" in f for f in again.findings())
    pd.testing.assert_frame_equal(again.at_risk.drop(columns="rfm_segment"), rep.at_risk)


def test_probabilities_read_in_percent_and_tell_the_top_users_apart(churn_ctx):
    """The at-risk list showed "1.00" for each of the demo's 15 top users (two decimals): probabilities now read in
    % as every share on the pages, and one short of 100 % keeps the digits that tell it apart (fmt_pct). The
    confusion note's threshold and the calibration chart's axes say the same unit."""
    from helpers.fmt import fmt_pct
    from tests.styled import styled_rows

    rep = ChurnReport.run(churn_ctx)
    assert rep.available
    rep.at_risk = rep.at_risk.head(3).assign(churn_probability=[0.99996, 0.9996, 0.5])
    shown = [r["churn_probability"] for r in styled_rows(rep._show("at_risk"))]
    assert shown == ["99.996%", "99.96%", "50.0%"], shown
    from helpers.churn import _confusion_note, plot_calibration

    note = _confusion_note(rep.chosen, rep.metrics[rep.chosen])
    assert f"预测流失概率 ≥ {fmt_pct(rep.metrics[rep.chosen]['threshold'])} 记为预测流失" in note, note
    with matplotlib.rc_context():
        set_theme()
        ax = plot_calibration(np.array([0, 1] * 20), np.linspace(0.05, 0.95, 40))
        ax.figure.canvas.draw()
        ticks = [t.get_text() for t in ax.xaxis.get_ticklabels() + ax.yaxis.get_ticklabels() if t.get_text()]
        assert ticks and all(t.endswith("%") for t in ticks), ticks
        matplotlib.pyplot.close("all")


def test_pages_name_events_by_the_tracking_plans_display_names(tmp_path, write_params):
    """Features of an event read by its display name on pages and in the at-risk list's reasons ("投诉次数", not
    "complain 次数"); the feature columns keep the event codes."""
    raw = tmp_path / "ev.csv"
    raw.write_text("u,e,t\n", encoding="utf-8")
    plan = "tracking: {plan: {events: {view: {display_name: 浏览}, complain: {display_name: 投诉}}}}\n"
    p = write_params(CHURN_PARAMS.format(path=raw.as_posix()) + plan)
    ctx = open_campaign("churnt", params_file=str(p), reports_dir=str(tmp_path / "reports"), theme=False)
    _synthetic(n=300).to_parquet(ctx.paths.table("events"), index=False)
    rep = ChurnReport.run(ctx)
    assert rep.event_names == {"view": "浏览", "complain": "投诉"}
    assert "n_complain" in set(rep.importance["feature"])  # machine names stay in the tables
    shown = rep._show("coefficients").data["feature"].tolist()
    assert "投诉次数" in shown and "浏览次数" in shown and not any("complain" in f for f in shown)
    with matplotlib.rc_context():
        set_theme()
        ax = rep._show("importance")
        ticks = [x.get_text() for x in ax.get_yticklabels()]
    assert "投诉次数" in ticks and not any("complain" in x for x in ticks)
    from helpers.churn import at_risk_list

    cols = _feature_cols(rep.train)
    every = at_risk_list(fit_models(rep.train, cols), rep.test, top_reasons=len(cols), events=rep.event_names)
    reasons = " ".join(every["top_reasons"])
    assert "投诉次数" in reasons and "complain" not in reasons
    # several reasons in one cell: the page's list mark (a Chinese list on a Chinese campaign)
    assert every["top_reasons"].str.contains("、").any() and not every["top_reasons"].str.contains(";").any()


def test_unavailable_without_events(tmp_path):
    rep = run_churn(open_campaign("demo", reports_dir=str(tmp_path), theme=False))
    assert isinstance(rep, Unavailable) and not rep.available
    assert set(rep.to_results()) == {"available", "reason", *ChurnReport.result_keys}
    assert rep.findings()[0] == "无法建模：这个活动没有事件表。"
    ctx = open_campaign("demo", reports_dir=str(tmp_path), theme=False)  # sets the campaign's language (zh)
    with i18n.language("en"):
        assert run_churn(ctx).findings() == ["No churn model: the campaign has no events table."]
    with pytest.raises(UnknownPartError, match="metrics, roc"):
        rep.show("bogus")


def test_unavailable_reasons_say_what_would_fit(tmp_path, write_params):
    """Too short a period names the longest horizon that fits (the tianchi sample's 31 days: "缩短到 15 天以内"),
    and too few users or one class names the counts of each set, hand-counted here."""
    raw = tmp_path / "ev.csv"
    raw.write_text("u,e,t\n", encoding="utf-8")
    t = pd.Timestamp
    rows = [(f"u{i}", "view", t("2024-01-28 10:00")) for i in range(5)]
    rows += [(u, "view", t("2024-02-03 10:00")) for u in ("u0", "u1")]  # back before the eval cutoff, then gone
    rows += [("u9", "view", t("2024-02-14 10:00"))]  # the data reaches the period's end (else the cutoffs follow it)
    events = pd.DataFrame(rows, columns=["user_id", "event", "ts"]).astype({"ts": "datetime64[us]"})
    for horizon, expected in [
        (23, "请把 churn.horizon_days 缩短到 22 天以内，或延长统计期（period）"),  # 2024-01-01 .. 02-14: 44 days
        (22, "的训练集有"),  # the longest that fits: past the length check, stopped by the users
        (7, "截止日 2024-02-01 的训练集有 5 位用户（3 位流失），截止日 2024-02-08 的测试集有 5 位（5 位流失）"),
    ]:
        text = CHURN_PARAMS.format(path=raw.as_posix()).replace("horizon_days: 7", f"horizon_days: {horizon}")
        ctx = open_campaign("churnt", params_file=str(write_params(text)), reports_dir=str(tmp_path / "r"), theme=False)
        events.to_parquet(ctx.paths.table("events"), index=False)
        rep = run_churn(ctx)
        assert isinstance(rep, Unavailable) and expected in rep.reason, rep.reason
    short = CHURN_PARAMS.format(path=raw.as_posix()).replace("end: 2024-02-14", "end: 2024-01-02")
    ctx = open_campaign("churnt", params_file=str(write_params(short)), reports_dir=str(tmp_path / "r"), theme=False)
    events.to_parquet(ctx.paths.table("events"), index=False)
    assert "两个截止日和之前的历史至少需要 3 天" in run_churn(ctx).reason
