"""One language per campaign on the real-data campaigns (issue 18): the leftovers a browser check found on the
zh Taobao and Online Retail pages, each checked where it is made, without a campaign run (tests/test_page_language.py
runs the demo; these pages' texts come from the same catalogue).

- ingest's "events have no amount" note is a message key, worded in the campaign language when shown;
- RFM segment codes (CSV cells) are shown by their ``rfm.segment.*`` label in the churn at-risk list and the CLV
  top-customers table;
- the BG/NBD parameter table and the campaign titles and descriptions of params/taobao.yaml and
  params/online_retail.yaml speak the campaign's language;
- every column of the tables these pages show has a ``col.*`` header label in both languages.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from helpers import i18n
from helpers.i18n import label
from tests.test_browser import english_runs

ROOT = Path(__file__).resolve().parents[1]
_CJK = re.compile(r"[\u4e00-\u9fff]")


def test_ingest_no_amount_note_in_the_campaign_language():
    from helpers.ingest import TableReport
    from helpers.quality import ingest_findings

    rep = TableReport(
        "orders", [], "parquet", None, 3, 3, {}, [], [], None, None, None, "", "", 0.0, derived_from="events"
    )
    rep.notes = ["ingest.note_no_amount", "a note written as text"]
    zh = ingest_findings({"orders": rep})
    # a note written as text (the tracking plan's counts, "ingested on Spark") is for the manifest: one language
    assert zh[1] == "注意：" + i18n.t("ingest.note_no_amount", lang="zh") + "。" and len(zh) == 2
    assert _CJK.search(zh[1]) and english_runs(zh[1], set()) == []
    with i18n.language("en"):
        en = ingest_findings({"orders": rep})
    assert en[1] == "Note: events have no amount: orders.amount is empty (RFM monetary value unavailable)."


def test_derived_orders_without_amount_note_the_key(tmp_path, write_params):
    """Ingest stores the message key (not English text), so a page words it in its own language."""
    from helpers.ingest import ingest_campaign
    from helpers.locations import campaign_paths
    from helpers.params import load_params

    src = tmp_path / "t.csv"
    src.write_text("user_id,event,time\n1,pv,2024-01-01 10:00\n1,buy,2024-01-01 11:00\n", encoding="utf-8")
    text = (
        "campaign: tc\ntitle: t\nperiod: {start: 2024-01-01, end: 2024-01-31}\ntables:\n  events:\n"
        f'    source: {{path: "{src}"}}\n    columns: {{user_id: user_id, event: event, ts: time}}\n'
        "    events: [pv, buy]\n  orders: {derive_from: events, where_event: [buy]}\n"
    )
    reps = ingest_campaign(load_params(write_params(text)), campaign_paths("tc", tmp_path / "r"), progress=False)
    assert reps["orders"].notes == ["ingest.note_no_amount"] and reps["orders"].rows_out == 1


def test_every_segment_code_has_a_label_in_both_languages():
    from helpers.rfm_segments import CN8, NAMED_RULES, segment_label

    codes = [r[0] for r in NAMED_RULES] + list(CN8.values()) + ["Others"]
    for code in codes:
        zh, en = label(f"rfm.segment.{code}", "", lang="zh"), label(f"rfm.segment.{code}", "", lang="en")
        assert zh and en and _CJK.search(zh) and not _CJK.search(en), code
    assert segment_label("About To Sleep") == "即将沉睡客户" and segment_label("Can't Lose Them") == "不能失去的客户"
    with i18n.language("en"):
        assert segment_label("重要价值客户") == "Key value" and segment_label("About To Sleep") == "About to sleep"


def test_churn_at_risk_list_names_segments():
    from helpers.churn import ChurnReport

    rep = ChurnReport.__new__(ChurnReport)
    rep.test = pd.DataFrame({"churned": []})
    rep.at_risk = pd.DataFrame(
        {
            "user_id": ["1", "2", "3"],
            "churn_probability": [0.9, 0.8, 0.1],
            "top_reasons": ["—"] * 3,
            "risk_band": ["high", "medium", "low"],
            "rfm_segment": ["About To Sleep", "Can't Lose Them", None],
            "action": ["a", "b", "c"],
        }
    )
    shown = rep._show("at_risk").data
    assert shown["rfm_segment"].tolist()[:2] == ["即将沉睡客户", "不能失去的客户"] and pd.isna(shown["rfm_segment"][2])
    assert rep.at_risk["rfm_segment"][0] == "About To Sleep"  # the CSV keeps the code


def test_clv_top_customers_name_segments():
    from helpers.clv import CLVResult

    cust = pd.DataFrame(
        {"user_id": ["1", "2"], "segment": ["Champions", "Lost"], "clv": [10.0, 20.0], "p_alive": [0.9, 0.1]}
    )
    res = CLVResult(info={"available": True, "currency": "£", "top_n": 10}, customers=cust)
    shown = res.show("clv_top").data
    assert shown["label"].tolist() == ["已流失客户", "冠军客户"] and "segment" not in shown
    assert cust["segment"].tolist() == ["Champions", "Lost"]
    cmp = pd.DataFrame({"model": ["bgnbd"], "label": ["BG/NBD"], "loglik": [-1.0], "users": [3]})
    shown = CLVResult(info=res.info, comparison=cmp).show("models").data  # under 模型, not 分群名称 (col.label)
    assert shown.columns.tolist()[:2] == ["model", "loglik"] and shown["model"].tolist() == ["BG/NBD"]


def test_bgnbd_parameter_table_in_the_campaign_language():
    from helpers.bgnbd import BGNBDFit, bgnbd_params_table

    fit = BGNBDFit(r=0.77, alpha=67.4, a=0.006, b=2.1, loglik=-38943.8, n=3377)
    for row in bgnbd_params_table(fit).itertuples():
        assert english_runs(f"{row.parameter} {row.meaning}", set()) == [], row
    with i18n.language("en"):
        names = bgnbd_params_table(fit)["parameter"].tolist()
    assert "mean purchase rate / 30 days" in names and "mean drop-out probability" in names


@pytest.mark.parametrize("name", ["taobao", "online_retail"])
def test_real_campaign_title_in_its_language(name):
    """params/<name>.yaml: one language; its title and description are in it (no English sentence on zh)."""
    from helpers.params import load_params

    cfg = load_params(ROOT / "params" / f"{name}.yaml")
    assert cfg.language == "zh"
    for text in (cfg.title, cfg.description):
        assert _CJK.search(text) and english_runs(" ".join(text.split()), set()) == [], text


def test_report_table_columns_have_labels():
    """Every column of the tables the Taobao and Online Retail pages show (user profile, tag lift, audiences,
    products, churn, attribution, CLV) has a col.* header in both languages."""
    cols = (
        "tag_value users_with users_without conversion_with conversion_without conversion_diff returning_with "
        "returning_without returning_diff spend_with spend_without spend_diff audience users share description rule "
        "file tag kind value item_id category_id category gmv orders buyers lines quantity reason amount items key "
        "item antecedent consequent churn_probability days_since_last_event median_price n_orders preferred_hour "
        "signup_ts spend age buyer n_events active_days channel count se params x T"
    ).split()
    missing = [c for c in cols if f"col.{c}" not in i18n.catalogue()]
    assert not missing, f"add col.<column> to helpers/messages/columns.yaml: {missing}"
    for c in cols:
        zh, en = label(f"col.{c}", lang="zh"), label(f"col.{c}", lang="en")
        assert (_CJK.search(zh) or zh.isupper()) and not _CJK.search(en), c
