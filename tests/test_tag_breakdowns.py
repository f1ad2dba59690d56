"""Breakdowns by a tag or an audience in the retention and experiment reports (``breakdown: tag:<name>`` /
``audience:<name>``, resolved by helpers.tags.tag_values): hand-computed retention curves and per-segment lifts
on tiny campaigns, and ``validate`` errors that name the key path of an unknown tag or audience."""

import dataclasses
import shutil

import pandas as pd
import pytest
import yaml

from helpers import i18n
from helpers.errors import ParamsError
from helpers.params import load_params
from helpers.sections_experiment import ExperimentParams
from helpers.sections_tags import AudienceSpec, TagSpec
from helpers.tags import NO, YES


def _ctx(tmp_path, rows):
    """The demo campaign on a tiny clean events table, with the tag 常来 (active on 2 days or more) and the
    audience 常来人群 (the same users)."""
    from helpers.campaign import open_campaign

    ctx = open_campaign("demo", reports_dir=str(tmp_path), theme=False)
    ev = pd.DataFrame(rows, columns=["user_id", "event", "ts", "variant"])
    ev["ts"] = pd.to_datetime(ev["ts"]).astype("datetime64[us]")
    ev["amount"] = [5.0 if e == "pay" else None for e in ev["event"]]
    ev.to_parquet(ctx.paths.table("events"), index=False)
    tags = {**ctx.cfg.tags, "常来": TagSpec.model_validate({"when": "active_days >= 2"})}
    audiences = {**ctx.cfg.audiences, "常来人群": AudienceSpec.model_validate({"when": "tag:常来"})}
    return dataclasses.replace(ctx, cfg=ctx.cfg.model_copy(update={"tags": tags, "audiences": audiences}))


# day cohorts: y1 04-01 back on day 1 and 2; y2 04-01 back on day 1; y3 04-01 back on day 2 (active >= 2 days:
# 常来 = yes); n4 04-01, n5 04-02 and n6 04-02 (twice that day) never come back (常来 = no)
RETENTION_ROWS = [
    ("y1", "view", "2024-04-01 09:00", None),
    ("y1", "view", "2024-04-02 09:00", None),
    ("y1", "view", "2024-04-03 09:00", None),
    ("y2", "view", "2024-04-01 10:00", None),
    ("y2", "view", "2024-04-02 10:00", None),
    ("y3", "view", "2024-04-01 11:00", None),
    ("y3", "view", "2024-04-03 11:00", None),
    ("n4", "view", "2024-04-01 12:00", None),
    ("n5", "view", "2024-04-02 12:00", None),
    ("n6", "view", "2024-04-02 13:00", None),
    ("n6", "view", "2024-04-02 14:00", None),
    ("y1", "view", "2024-04-29 09:00", None),  # the data runs to the period's end (beyond day 3: no cell moves)
]


@pytest.mark.parametrize("breakdown", ["tag:常来", "audience:常来人群"])
def test_retention_by_tag_hand_computed(tmp_path, breakdown):
    from helpers.retention import RetentionReport

    ctx = _ctx(tmp_path, RETENTION_ROWS)
    p = ctx.cfg.retention.model_copy(update={"period": "day", "breakdown": breakdown, "max_periods": 3})
    ctx = dataclasses.replace(ctx, cfg=ctx.cfg.model_copy(update={"retention": p}))
    rep = RetentionReport.run(ctx)
    assert rep.available, rep
    g = rep.by_group.set_index(["group", "n"])
    assert set(rep.by_group["group"]) == {YES, NO}
    # yes: one cohort (04-01) of 3; day 1: y1, y2; day 2: y1, y3
    assert g.loc[(YES, 0), "users"] == 3 and g.loc[(YES, 1), "retained"] == 2
    assert g.loc[(YES, 1), "rate"] == pytest.approx(2 / 3) and g.loc[(YES, 2), "rate"] == pytest.approx(2 / 3)
    # no: cohorts 04-01 (n4) and 04-02 (n5, n6), nobody back
    assert g.loc[(NO, 0), "users"] == 3 and g.loc[(NO, 1), "rate"] == 0 and g.loc[(NO, 1), "cohorts"] == 2
    assert g.loc[(YES, 3), "rate"] == 0 and (rep.by_group["n"] <= 3).all()
    res = rep.to_results()
    assert res["breakdown"] == breakdown and len(res["by_group"]) == len(rep.by_group)
    assert "by_group" in rep.tables()
    kind, name = breakdown.split(":")
    said = {"tag": f"按标签“{name}”分组", "audience": f"按人群包“{name}”分组"}[kind]  # the breakdown in words
    assert any(said in f and "66.7%" in f for f in rep.findings()), rep.findings()
    assert any("不足 30 名用户" in f for f in rep.findings())
    rep.show("by_group")


# variant A (control) and B; 常来 = yes for y1..y4 (two active days), no for n1..n4 (one day)
EXPERIMENT_ROWS = [
    ("y1", "view", "2024-04-01 09:00", "A"),
    ("y1", "pay", "2024-04-02 09:00", "A"),
    ("y2", "view", "2024-04-01 09:00", "A"),
    ("y2", "view", "2024-04-03 09:00", "A"),
    ("y3", "view", "2024-04-01 09:00", "B"),
    ("y3", "pay", "2024-04-02 09:00", "B"),
    ("y4", "view", "2024-04-02 09:00", "B"),
    ("y4", "pay", "2024-04-04 09:00", "B"),
    ("n1", "view", "2024-04-01 09:00", "A"),
    ("n1", "pay", "2024-04-01 10:00", "A"),
    ("n2", "view", "2024-04-02 09:00", "A"),
    ("n3", "view", "2024-04-03 09:00", "B"),
    ("n4", "view", "2024-04-03 10:00", "B"),
]


def test_experiment_by_tag_lift_per_segment(tmp_path):
    from helpers.experiment import ExperimentReport

    ctx = _ctx(tmp_path, EXPERIMENT_ROWS)
    p = ExperimentParams.model_validate(
        {
            "start": "2024-04-01",
            "end": "2024-04-10",
            "assignment": {"source": "event_property", "column": "variant"},
            "control": "A",
            "metrics": [{"name": "paid", "kind": "conversion", "event": "pay"}],
            "cuped_days": None,
            "breakdown": "tag:常来",
            "min_users": 2,  # two users a group, by hand (the default, 10, would test none of them)
        }
    )
    ctx = dataclasses.replace(ctx, cfg=ctx.cfg.model_copy(update={"experiment": p}))
    rep = ExperimentReport.compute(ctx)
    s = rep.segments.set_index("segment")
    assert rep.segment_col == "tag:常来" and set(s.index) == {YES, NO}
    # yes: A 1 of 2 (y1), B 2 of 2 -> +50 points; no: A 1 of 2 (n1), B 0 of 2 -> -50 points
    assert (s.at[YES, "control_value"], s.at[YES, "value"], s.at[YES, "abs_lift"]) == (0.5, 1.0, 0.5)
    assert (s.at[NO, "control_value"], s.at[NO, "value"], s.at[NO, "abs_lift"]) == (0.5, 0.0, -0.5)
    assert (s["users"] == 2).all() and (s["control_users"] == 2).all()
    assert (s["holm_p"] >= s["p_value"] - 1e-12).all() and not s["significant"].any()
    # the findings say what the segments show, the part's multiple-testing caveat how many comparisons there are;
    # both name the breakdown
    assert "按标签“常来”分群：2 个比较在 Holm 校正后均不显著。" in rep.findings(), rep.findings()
    assert rep._segments_text().startswith("按标签“常来”分群：共 2 个比较")
    with i18n.language("en"):
        assert any("Segments by tag “常来”: none of 2 comparisons" in f for f in rep.findings()), rep.findings()
        assert rep._segments_text().startswith("Segments by tag “常来”: 2 comparisons")
    # the test runs to 04-10, the data to 04-04: its metrics end with the data, and the last finding says so
    assert [str(d) for d in rep.data_cut] == ["2024-04-04", "2024-04-29"]
    assert rep.findings()[-1].startswith("数据在 2024-04-04 结束，早于统计期末（2024-04-29）"), rep.findings()
    with pytest.raises(ValueError, match="not both"):
        ExperimentParams.model_validate({**p.model_dump(), "segment": "channel"})


def test_validate_names_the_key_path_of_an_unknown_tag(tmp_path):
    shutil.copy("params/_defaults.yaml", tmp_path / "_defaults.yaml")
    raw = yaml.safe_load(open("params/demo.yaml", encoding="utf-8"))
    raw["retention"]["breakdown"] = "tag:价值等"
    raw["experiment"]["segment"] = None
    raw["experiment"]["breakdown"] = "audience:沉睡"
    f = tmp_path / "demo.yaml"
    f.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ParamsError) as e:
        load_params(f)
    probs = dict(e.value.problems)
    assert (
        "unknown tag 'tag:价值等'" in probs["retention.breakdown"]
        and "did you mean '价值等级'" in probs["retention.breakdown"]
    )
    assert "unknown audience 'audience:沉睡'" in probs["experiment.breakdown"]
    raw["retention"]["breakdown"] = "platform"  # only tags and audiences
    f.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ParamsError, match="retention.breakdown"):
        load_params(f)


@pytest.mark.parametrize("breakdown", ["tag:常来", "audience:常来人群"])
def test_funnel_breakdown_by_a_tag_is_no_missing_column(tmp_path, breakdown):
    """``funnel.breakdown: tag:<name>`` (docs/tags.md) passed ``validate``, then ingest's check of the clean table
    said "funnel.breakdown: column 'tag:...' is not in the clean events table" and no report ran."""
    from helpers.checks import data_problems

    ctx = _ctx(tmp_path, RETENTION_ROWS)
    cfg = ctx.cfg.model_copy(update={"funnel": ctx.cfg.funnel.model_copy(update={"breakdown": breakdown})})
    assert data_problems(cfg, events=None, columns=["user_id", "event", "ts"]) == []
    plain = cfg.model_copy(update={"funnel": cfg.funnel.model_copy(update={"breakdown": "platform"})})
    assert [p[0] for p in data_problems(plain, events=None, columns=["user_id", "event", "ts"])] == ["funnel.breakdown"]
