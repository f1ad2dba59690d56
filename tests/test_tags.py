"""Declared tags and audiences (helpers/tags.py, helpers/tag_grammar.py, helpers/sections_tags.py): the grammar
and its errors, each tag kind on hand-made profiles with the expected tag of every user, the default tags equal
to the former fixed tags, audiences and their CSVs, breakdowns by a tag, validate, and DuckDB = Spark."""

import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers.cli import main as cli_main
from helpers.errors import ParamsError
from helpers.params import load_params
from helpers.sections_tags import AudienceSpec, TagSpec, tag_problems
from helpers.tag_grammar import PROFILE_COLUMNS, ConditionError, check_condition, parse
from helpers.tags import (
    YES,
    audience_members,
    evaluate_tags,
    tag_effects,
    tag_overlap,
    tag_summary,
    tag_value_counts,
    write_audiences,
)

PROFILE = pd.DataFrame(
    {
        "user_id": ["a", "b", "c", "d", "e", "f"],
        "spend": [1500.0, 900.0, 900.0, 900.0, 10.0, None],
        "n_orders": [5, 2, 2, 1, 1, 0],
        "active_days": [20, 3, 3, 8, 1, 1],
        "days_since_last_event": [2.0, 40.0, 5.0, 31.0, 60.0, 1.0],
        "preferred_hour": [3, 9, 21, 14, 23, 0],
        "buyer": [True, True, True, True, True, False],
        "city": ["北京", "上海", None, "北京", "广州", "上海"],
        "churn_probability": [0.8, 0.2, None, 0.6, 0.9, 0.1],
    }
)


def _tags(raw: dict) -> dict:
    return {k: (TagSpec.model_validate(v) if v is not None else None) for k, v in raw.items()}


def _aud(raw: dict) -> dict:
    return {k: AudienceSpec.model_validate(v) for k, v in raw.items()}


TAGS = _tags(
    {
        "high_value": {
            "description": "big spenders seen lately",
            "when": "spend >= 1000 and days_since_last_event <= 30",
        },
        "top_spender": {"column": "spend", "top": 50},
        "价值等级": {
            "values": [
                {"label": "高", "when": "tag:high_value or spend > 1000"},
                {"label": "中", "when": "spend between 100 and 1000"},
            ],
            "default": "低",
        },
        "时段": {"column": "preferred_hour", "bins": [-1, 5, 11, 17, 23], "labels": ["夜", "上午", "下午", "晚上"]},
        "活跃三档": {
            "column": "active_days",
            "of": "percentile",
            "bins": ["0", "1/3", "2/3", "1"],
            "labels": ["L", "M", "H"],
        },
        "兴趣": {
            "kind": "multi",
            "values": [
                {"label": "北方", "when": "city in ('北京', '天津')"},
                {"label": "夜猫子", "when": "tag:时段 = '夜' or preferred_hour >= 21"},
                {"label": "未知城市", "when": "city is null"},
            ],
        },
    }
)
AUDIENCES = _aud(
    {
        "高价值流失风险": {"when": "tag:价值等级 = '高' and churn_probability >= 0.5"},
        "沉睡用户": {"when": "buyer and days_since_last_event >= 30"},
        "夜猫子北方": {"when": "tag:兴趣 = '夜猫子' and not tag:兴趣 = '未知城市' and city != '上海'"},
    }
)
# the expected tags of every user, worked out by hand from PROFILE
EXPECTED = pd.DataFrame(
    {
        "user_id": ["a", "b", "c", "d", "e", "f"],
        "high_value": [True, False, False, False, False, False],
        # spend ranks (desc, ties share the min rank): a 0, b/c/d 1, e 4 of 5 with a value: 50 % of 5 = 2.5
        "top_spender": [True, True, True, True, False, False],
        "价值等级": ["高", "中", "中", "中", "低", "低"],  # f: spend NULL -> no condition holds -> default
        "时段": ["夜", "上午", "晚上", "下午", "晚上", "夜"],
        # active_days 20,3,3,8,1,1 -> min rank / 6: a 6/6, b,c 3/6, d 5/6, e,f 1/6
        "活跃三档": ["H", "M", "M", "H", "L", "L"],
        "兴趣": ["北方|夜猫子", None, "夜猫子|未知城市", "北方", "夜猫子", "夜猫子"],
    }
)


def test_each_kind_gives_the_expected_tag_per_user():
    tagged, aud = evaluate_tags(PROFILE, TAGS, AUDIENCES)
    pd.testing.assert_frame_equal(tagged, EXPECTED, check_dtype=False)
    assert audience_members(aud, "高价值流失风险")["user_id"].tolist() == ["a"]
    assert audience_members(aud, "沉睡用户")["user_id"].tolist() == ["b", "d", "e"]
    # c: unknown city (NULL != '上海' is not true either); f: 上海
    assert audience_members(aud, "夜猫子北方")["user_id"].tolist() == ["a", "e"]


def test_value_counts_follow_the_declared_order():
    """Charts count users per value in the tag's declared order (a bucket from its lowest bin up, a group's
    default last), empty values kept as 0; columns without a spec (RFM segments) most users first."""
    got = evaluate_tags(PROFILE, TAGS)[0].set_index("user_id")
    # 时段: 夜 a f, 上午 b, 下午 d, 晚上 c e (declared 夜 上午 下午 晚上), though 夜 and 晚上 have most users
    assert tag_value_counts(got["时段"], TAGS["时段"]).to_dict() == {"夜": 2, "上午": 1, "下午": 1, "晚上": 2}
    assert list(tag_value_counts(got["时段"], TAGS["时段"]).index) == ["夜", "上午", "下午", "晚上"]
    # 价值等级: 高 a, 中 b c d, default 低 e f: declared 高 中, then the default
    assert list(tag_value_counts(got["价值等级"], TAGS["价值等级"]).items()) == [("高", 1), ("中", 3), ("低", 2)]
    # a bin with nobody stays, as 0; a value not declared follows
    few = pd.Series(["H", "L", "L", "X", None])
    assert list(tag_value_counts(few, TAGS["活跃三档"]).items()) == [("L", 2), ("M", 0), ("H", 1), ("X", 1)]
    seg = pd.Series(["Champions", "At Risk", "At Risk"])
    assert list(tag_value_counts(seg).items()) == [("At Risk", 2), ("Champions", 1)]


def test_ranking_ties_are_all_in_or_all_out():
    p = pd.DataFrame({"user_id": list("vwxyz"), "spend": [10.0, 9, 9, 9, 1]})
    for spec, want in [
        ({"top": 20}, "v"),  # 20 % of 5 = 1 user: only rank 0
        ({"top": 40}, "vwxy"),  # 2 users: the three tied at rank 1 all come in (4 tagged)
        ({"top": 30}, "vwxy"),  # 1.5 users: rank 1 < 1.5
        ({"bottom": 20}, "z"),
        ({"bottom": 21}, "wxyz"),  # 1.05 users: the ties at 9 have rank 1 < 1.05, so all three come in
    ]:
        t, _ = evaluate_tags(p, _tags({"r": {"column": "spend", **spec}}))
        assert "".join(t.loc[t["r"], "user_id"]) == want, spec


def test_default_tags_equal_the_former_fixed_tags():
    """activity_level, active_hours and price_band of params/_defaults.yaml give the labels of the former code
    (written out here) for every user; many ties."""
    rng = np.random.default_rng(7)
    n = 500
    p = pd.DataFrame(
        {
            "user_id": [f"u{i:03d}" for i in range(n)],
            "active_days": rng.integers(1, 12, n),
            "preferred_hour": rng.integers(0, 24, n),
            "median_price": np.where(rng.random(n) < 0.1, np.nan, rng.choice([9.9, 19.9, 29.9, 99.0, 120.5], n)),
        }
    )
    defaults = yaml.safe_load(open("params/_defaults.yaml", encoding="utf-8"))["tags"]
    tagged, _ = evaluate_tags(p, _tags(defaults))

    def tiers(values, labels):  # the former helpers.user_profile._tiers
        v = values.astype(float)
        ok = v.notna()
        out = pd.Series(pd.NA, index=v.index, dtype=object)
        r = v[ok].rank(method="min", pct=True)
        out[ok] = np.where(r <= 1 / 3, labels[0], np.where(r <= 2 / 3, labels[1], labels[2]))
        return out

    old = {
        "activity_level": tiers(p["active_days"], ("低活跃", "中活跃", "高活跃")),
        "price_band": tiers(p["median_price"], ("低价位", "中价位", "高价位")),
        "active_hours": pd.cut(
            p["preferred_hour"],
            [-1, 5, 11, 17, 23],
            labels=["凌晨", "上午", "下午", "晚上"],
        ).astype(object),
    }
    for name, o in old.items():
        assert tagged[name].fillna("-").tolist() == o.fillna("-").tolist(), name
    assert tagged["price_band"].isna().sum() == p["median_price"].isna().sum() > 0


def test_grammar_parses_and_refuses():
    assert parse("spend >= 1000 and not (city in ('北京', \"上海\") or age is not null)")[0] == "and"
    assert parse("x not between -1 and 2.5e1") == ("not", ("between", ("ref", parse("x")[1][1]), -1, 25.0))
    for bad, msg in [
        ("spend >=", "expected a column"),
        ("spend >= 1000 and", "expected a column"),
        ("spend >= 1000 recency", "unexpected recency"),
        ("(spend > 1", "expected ')'"),
        ("spend > 1; drop table x", "unexpected character ';'"),
        ("1000", "alone is not a condition"),
        ("", "is empty"),
        ("__import__('os')", "unexpected ( at position 11"),
    ]:
        with pytest.raises(ConditionError, match=msg.replace("(", r"\(").replace(")", r"\)")):
            parse(bad)
    with pytest.raises(ConditionError, match="unknown column 'spnd'; did you mean 'spend'"):
        check_condition("spnd > 1")
    with pytest.raises(ConditionError, match="unknown tag tag:价值等"):
        check_condition("tag:价值等 = '高'", tags={"价值等级": "group"})


def test_problems_name_the_key_path():
    tags = _tags({"a": {"when": "spend > 1"}, "high_value": {"when": "spnd >= 1000"}, "b": {"when": "tag:c"}})
    tags["c"] = TagSpec.model_validate({"values": [{"label": "x", "when": "spend >"}]})
    probs = dict(tag_problems(tags, _aud({"aud": {"when": "tag:hgh_value"}}), {"trends.breakdown": "tag:zz"}))
    assert "did you mean 'spend'" in probs["tags.high_value.when"]
    assert "tags.b.when" not in probs  # a tag may use a tag declared after it
    assert "expected a column" in probs["tags.c.values.0.when"]
    assert "did you mean 'high_value'" in probs["audiences.aud.when"]
    assert "unknown tag 'tag:zz'" in probs["trends.breakdown"]
    circle = _tags({"x": {"when": "tag:y"}, "y": {"when": "not tag:x"}, "z": {"when": "tag:nope"}})
    assert "unknown tag tag:nope" in dict(tag_problems(circle, {}))["tags.z.when"]
    del circle["z"]
    assert dict(tag_problems(circle, {}))["tags"] == "tags use each other in a circle: x -> y -> x"
    # evaluation follows the uses, not the file order (a YAML dump may sort the keys)
    later = _tags({"b": {"when": "tag:a and spend > 100"}, "a": {"column": "spend", "top": 50}})
    assert evaluate_tags(PROFILE, later)[0]["b"].tolist() == [True, True, True, True, False, False]
    with pytest.raises(ValueError, match="exactly one of top or bottom"):
        TagSpec.model_validate({"column": "spend", "top": 10, "bottom": 10})
    with pytest.raises(ValueError, match="labels needs 2"):
        TagSpec.model_validate({"column": "spend", "bins": [0, 1, 2], "labels": ["a"]})
    with pytest.raises(ValueError, match="unknown column 'spnd'"):
        TagSpec.model_validate({"column": "spnd", "top": 10})


def test_validate_fails_with_the_key_path(tmp_path, capsys):
    shutil.copy("params/_defaults.yaml", tmp_path / "_defaults.yaml")
    raw = yaml.safe_load(open("params/demo.yaml", encoding="utf-8"))
    raw["tags"]["high_value"] = {"when": "spend >= 1000 and recency_dayz <= 30"}
    raw["tags"]["坏"] = {"when": "spend >= >= 1"}
    f = tmp_path / "demo.yaml"
    f.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ParamsError) as e:
        load_params(f)
    probs = dict(e.value.problems)
    assert "unknown column 'recency_dayz'" in probs["tags.high_value.when"]
    assert "expected a column" in probs["tags.坏.when"]
    assert cli_main(["validate", str(f)]) == 2
    out = capsys.readouterr()
    assert "tags.high_value.when" in out.out + out.err
    assert load_params("demo").audiences  # the demo's own tags and audiences are valid


def test_summary_overlap_effects_and_audience_files(tmp_path):
    tagged, aud = evaluate_tags(PROFILE, TAGS, AUDIENCES)
    s = tag_summary(tagged, TAGS).set_index(["tag", "value"])
    assert s.loc[("high_value", YES), "users"] == 1 and s.loc[("价值等级", "中"), "share"] == pytest.approx(0.5)
    assert s.loc[("兴趣", "夜猫子"), "users"] == 4
    # each row the rule of its own value: a group's after the values before it, the default as the rest
    assert s.loc[("价值等级", "高"), "rule"] == "tag:high_value or spend > 1000"
    assert s.loc[("价值等级", "中"), "rule"] == "spend between 100 and 1000，且不属于高"
    assert s.loc[("价值等级", "低"), "rule"] == "不属于高、中的其余用户"
    assert s.loc[("时段", "上午"), "rule"] == "5 < preferred_hour <= 11"
    assert s.loc[("活跃三档", "M"), "rule"] == "1/3 < active_days 的百分位排名 <= 2/3"  # the edges as declared
    assert s.loc[("兴趣", "未知城市"), "rule"] == "city is null"  # every match: no earlier values
    assert s.loc[("top_spender", YES), "rule"] == "按 spend 排名前 50% 的用户"
    o = tag_overlap(tagged, TAGS).set_index(["a", "b"])
    row = o.loc[("top_spender", "兴趣=北方")]  # top spenders a,b,c,d; 北方 a,d
    assert (row["both"], row["share_of_a"], row["jaccard"]) == (2, 0.5, 0.5)
    assert ("价值等级=高", "价值等级=中") not in o.index  # values of one group never overlap
    assert (row["users_b"], row["share_of_b"]) == (2, 1.0)  # both 北方 users spend most
    assert o.index.is_unique and not any((b, a) in o.index for a, b in o.index)  # once per pair
    e = tag_effects(PROFILE, tagged, TAGS).set_index("tag_value")
    hv = e.loc["high_value"]
    assert hv["spend_with"] == 1500 and hv["spend_without"] == pytest.approx((900 * 3 + 10) / 5)
    assert hv["conversion_without"] == pytest.approx(4 / 5) and hv["returning_with"] == 1.0
    (tmp_path / "aud_old.csv").write_text("user_id\nx\n")  # an audience no longer in the params
    paths = write_audiences(aud, AUDIENCES, tmp_path, prefix="aud_")
    assert [p.name for p in paths] == [f"aud_{k}.csv" for k in AUDIENCES] and not (tmp_path / "aud_old.csv").exists()
    back = pd.read_csv(tmp_path / "aud_沉睡用户.csv", dtype=str, encoding="utf-8-sig")
    assert list(back.columns) == ["user_id"] and back["user_id"].tolist() == ["b", "d", "e"]


def _ctx(tmp_path):
    """The demo campaign on a tiny clean events table (three users)."""
    from helpers.campaign import open_campaign

    ctx = open_campaign("demo", reports_dir=str(tmp_path), theme=False)
    ev = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "b", "c", "c"],
            "event": ["view", "order", "pay", "view", "view", "order"],
            "category": ["x", "y", "y", "z", None, "x"],
            "amount": [10.0, 3000.0, 3000.0, 5.0, 100.0, 100.0],
            "platform": ["ios"] * 6,
            "ts": pd.to_datetime(
                [
                    "2024-04-01 09:00",
                    "2024-04-01 10:00",
                    "2024-04-03 21:00",
                    "2024-04-02 21:00",
                    "2024-04-04 03:00",
                    "2024-04-04 04:00",
                ]
            ).astype("datetime64[us]"),
        }
    )
    ev.to_parquet(ctx.paths.table("events"), index=False)
    return ctx


def test_report_tags_audiences_and_breakdowns(tmp_path):
    import matplotlib

    from helpers.funnel import FunnelReport
    from helpers.plots import set_theme
    from helpers.profile_data import campaign_profile
    from helpers.tags import tag_values, with_tag_column
    from helpers.trends import TrendsReport
    from helpers.user_profile import AUDIENCE_PREFIX, ProfileReport

    ctx = _ctx(tmp_path)
    base = campaign_profile(ctx)[0]
    assert sorted(base.columns) == sorted(PROFILE_COLUMNS)  # the declared columns are the real ones
    rep = ProfileReport.run(ctx)
    assert rep.available
    assert {"activity_level", "active_hours", "price_band", "价值等级", "高活跃"} <= set(rep.table.columns)
    assert set(rep.tables()) == set(ProfileReport.table_names)
    res = rep.to_results()
    assert set(res["audiences"]) == set(ctx.cfg.audiences) and res["tags"]["价值等级"]["kind"] == "group"
    assert any(h["label"].startswith("人群包“") for h in rep.headline())  # the audience in quotes, as 标签“…”
    cats = [f for f in rep.findings() if f.startswith("最常偏好的品类")]  # shares in the page's brackets
    assert cats and "%）" in cats[0] and " (" not in cats[0], rep.findings()
    files = rep.export(ctx)
    assert {p.name for p in files[1:]} == {f"{AUDIENCE_PREFIX}{k}.csv" for k in ctx.cfg.audiences}
    with matplotlib.rc_context():
        set_theme()
        for part in ProfileReport.parts:
            rep.show(part)
    # the page's tag tables: tags and kinds in words, differences of shares in points; the CSVs keep the codes
    from helpers.user_profile import _show_tag_tables
    from tests.styled import styled_rows

    rules = styled_rows(_show_tag_tables(rep, "tag_rules"))
    assert {"活跃度", "价值等级"} <= {x["tag"] for x in rules} and "activity_level" not in {x["tag"] for x in rules}
    assert {x["kind"] for x in rules} <= {"规则", "排名", "分档", "互斥分组", "多值"}
    assert {x["value"] for x in rules if x["kind"] in ("规则", "排名")} <= {"是", "否"}  # not the machine yes/no
    assert "activity_level" in set(rep.tag_table["tag"]) and "bucket" in set(rep.tag_table["kind"])
    ov = _show_tag_tables(rep, "tag_overlap")
    assert ov.ubk_headers == {"a": "标签值（前者）", "b": "标签值（后者）"}  # not the drivers' "a（转化且做过）"
    assert not any(str(x["a"]).startswith("activity_level=") for x in styled_rows(ov))
    eff = styled_rows(_show_tag_tables(rep, "tag_effects"))
    e0 = rep.effects.iloc[0]
    assert eff[0]["conversion_diff"] == f"{e0['conversion_diff'] * 100:.1f} 个百分点".replace("-0.0 ", "0.0 ")
    assert eff[0]["spend_with"] == f"¥{e0['spend_with']:,.2f}"  # money in the campaign's currency
    assert eff[0]["spend_diff"] == f"{'-' if e0['spend_diff'] < 0 else ''}¥{abs(e0['spend_diff']):,.2f}"
    rep.currency = "£"
    sample = styled_rows(rep._show("sample"))
    with_spend = next(i for i, v in enumerate(rep.table.head(12)["spend"]) if v == v)  # a buyer among the first
    assert sample[with_spend]["spend"] == f"£{rep.table['spend'].iloc[with_spend]:,.2f}", sample[with_spend]
    rep.table = rep.table.assign(review_positive_share=[2 / 3] + [np.nan] * (len(rep.table) - 1))  # as sentiment's
    assert styled_rows(rep._show("sample"))[0]["review_positive_share"] == "66.7%"  # a share of the user's reviews
    aud = rep.audience_table.set_index("audience")["description"]
    assert aud["高价值流失风险"] == "高价值且流失概率 >= 0.5"  # the campaign language's text of {zh, en}
    # breakdown by a tag: the user's value joined to the events
    tv = tag_values(ctx, "tag:价值等级", profile=base).to_pandas().set_index("user_id")["value"]
    assert tv.to_dict() == rep.table.set_index("user_id")["价值等级"].to_dict()
    ev = with_tag_column(ctx, ctx.table("events"), "tag:价值等级", report="trends").to_pandas()
    assert len(ev) == 6 and (ev["user_id"].map(tv) == ev["tag:价值等级"]).all()
    with pytest.raises(ParamsError, match="funnel.breakdown: tag:偏好 has several values"):
        with_tag_column(ctx, ctx.table("events"), "tag:偏好", report="funnel")
    with pytest.raises(ParamsError, match="did you mean '价值等级'"):
        tag_values(ctx, "tag:价值等", report="trends")
    ctx.cfg.trends.breakdown = "tag:价值等级"
    tr = TrendsReport.run(ctx)
    assert tr.available and set(tr.groups) <= set(tv) | {"(none)"}, tr.groups
    ctx.cfg.funnel.breakdown = "tag:价值等级"
    ctx.cfg.funnel.steps = ["view", "order"]
    ctx.cfg.funnel.window = "12h"  # a full window before the data's last day (04-04): no user censored
    fu = FunnelReport.run(ctx)
    assert fu.available and set(fu.breakdown["group"]) == set(tv), fu.breakdown


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_spark_equals_duckdb(spark_ibis):
    from helpers.tags import _columns_used, _schema, _typed

    con = spark_ibis
    session = con._session
    cols = _columns_used(TAGS, AUDIENCES)
    sdf = session.createDataFrame(
        _typed(PROFILE, cols).astype(object).where(lambda d: d.notna(), None),
        schema=", ".join(f"{c} {t}" for c, t in _schema(cols).items()).replace("float64", "double"),
    )
    sdf.createOrReplaceTempView("tag_profile")
    spark_tags, spark_aud = evaluate_tags(PROFILE, TAGS, AUDIENCES, con=con, table=con.table("tag_profile"))
    duck_tags, duck_aud = evaluate_tags(PROFILE, TAGS, AUDIENCES)
    pd.testing.assert_frame_equal(spark_tags, duck_tags, check_dtype=False)
    pd.testing.assert_frame_equal(spark_aud, duck_aud, check_dtype=False)
    pd.testing.assert_frame_equal(duck_tags, EXPECTED, check_dtype=False)
    # the report's own path: the profile as an in-memory table executed by Spark (missing numbers stay NULL there;
    # a NaN would compare above every number in Spark and put users with no value into ">=" rules)
    mem_tags, mem_aud = evaluate_tags(PROFILE, TAGS, AUDIENCES, con=con)
    pd.testing.assert_frame_equal(mem_tags, duck_tags, check_dtype=False)
    pd.testing.assert_frame_equal(mem_aud, duck_aud, check_dtype=False)


def test_a_tag_whose_columns_are_all_empty_is_blank():
    """Without amounts every spend is empty: the tags reading only spend cannot tell users apart; a tag that also
    reads a column with values, or reads another tag, still can."""
    from helpers.tags import blank_tags

    assert blank_tags(PROFILE, TAGS) == {}
    no_spend = PROFILE.assign(spend=None)
    assert blank_tags(no_spend, TAGS) == {"top_spender": ["spend"]}  # high_value also reads the days; 价值等级 a tag
    assert blank_tags(PROFILE.drop(columns="preferred_hour"), TAGS) == {"时段": ["preferred_hour"]}
    tagged, _ = evaluate_tags(no_spend, TAGS)
    assert not tagged["top_spender"].any()  # evaluated all the same: nobody tagged


def test_rule_texts_in_the_page_language():
    """A tag's rule in one line, punctuated as the page's language is: the expressions stay as written."""
    from helpers.i18n import language
    from helpers.tags import tag_rule_text, tag_value_rule

    with language("zh"):
        assert tag_rule_text(TAGS["时段"]) == "夜：-1 < preferred_hour <= 5；上午：5 < preferred_hour <= 11；" + (
            "下午：11 < preferred_hour <= 17；晚上：17 < preferred_hour <= 23"
        )
        assert tag_rule_text(TAGS["价值等级"]) == (
            "取第一个满足的条件：高：tag:high_value or spend > 1000；中：spend between 100 and 1000；否则为低"
        )
    with language("en"):
        assert tag_rule_text(TAGS["价值等级"]).startswith("first match: 高: tag:high_value or spend > 1000; 中: ")
        assert tag_value_rule(TAGS["价值等级"], "中") == "spend between 100 and 1000, and not 高"
        assert tag_value_rule(TAGS["价值等级"], "低") == "everyone not 高, 中"
        assert tag_rule_text(TAGS["活跃三档"]).startswith("L: 0 < percentile rank of active_days <= 1/3; M: 1/3 < ")


def test_breakdown_ref_is_the_one_reading_of_tag_and_audience_breakdowns():
    """``tag:<name>`` and ``audience:<name>`` were read in three places, two of them with their own literals and
    slice lengths (``b[4:]``, ``b[9:]``); helpers.tag_grammar.breakdown_ref is now the one reading, used by the
    params check, the tags' own check, the tag values and the column label."""
    from helpers.i18n import column_label
    from helpers.tag_grammar import breakdown_ref, is_tag_breakdown

    assert breakdown_ref("tag:价值等级") == ("tag", "价值等级")
    assert breakdown_ref("audience:高价值") == ("audience", "高价值")
    assert breakdown_ref("channel") is None and breakdown_ref(None) is None and breakdown_ref(3) is None
    assert breakdown_ref("tags:x") is None  # a column that only starts like one
    assert [is_tag_breakdown(b) for b in ("tag:a", "audience:b", "channel", "", None)] == [True, True, False] + [
        False,
        False,
    ]
    assert column_label("tag:常来", lang="zh") == "标签“常来”" and column_label("audience:高价值", lang="en") == (
        "audience “高价值”"
    )


def test_a_condition_with_a_label_the_tag_does_not_have_is_named():
    """``tag:价值等级 = '高价值'`` when the labels are 低 / 中 / 高 passed validate and selected nobody. A text
    compared with a bucket, group or multi tag must be one of its labels (=, !=, in, not in); other comparisons,
    and rule tags, are left alone."""
    from helpers.sections_tags import AudienceSpec, TagSpec, tag_problems

    tags = {
        "价值等级": TagSpec(column="spend", bins=[0, 100, 1000, 1e9], labels=["低", "中", "高"]),
        "偏好": TagSpec(kind="multi", values=[{"label": "数码", "when": "spend > 0"}]),
        "来源": TagSpec(values=[{"label": "自然", "when": "channel = '自然流量'"}], default="其他"),
        "买家": TagSpec(when="buyer"),
    }
    aud = {
        "a": AudienceSpec(when="tag:价值等级 = '高价值'"),
        "b": AudienceSpec(when="tag:价值等级 in ('高', '中') and '数码码' != tag:偏好"),
        "c": AudienceSpec(when="tag:来源 = '其他' and tag:买家 and tag:价值等级 is not null"),
        "d": AudienceSpec(when="channel = '高价值' and tag:来源 not in ('自然', '付费')"),
    }
    got = dict(tag_problems(tags, aud))
    assert got["audiences.a.when"].startswith(
        "tag:价值等级 has no label '高价值', so the condition never holds; its labels: 低, 中, 高"
    )
    assert (
        "tag:偏好 has no label '数码码', so the condition never holds; its labels: 数码; did you mean '数码'?"
        in (got["audiences.b.when"])
    )
    assert "audiences.c.when" not in got  # the default is a label; a rule tag and `is not null` are not compared
    assert got["audiences.d.when"].startswith("tag:来源 has no label '付费'")  # a column's text is not checked
    assert "its labels: 自然, 其他" in got["audiences.d.when"]
    bad_tag = {**tags, "高价值": TagSpec(when="tag:价值等级 = 'high'")}
    assert "tags.高价值.when" in dict(tag_problems(bad_tag, {}))
