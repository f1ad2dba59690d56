"""Tokeniser, bands, odd texts, caching, the domain model against SnowNLP on clean held-out rows, and the
report (tables, results, the model saved only by export, the Unavailable twin)."""

import matplotlib
import numpy as np
import pandas as pd
import pytest

from helpers.base import Unavailable
from helpers.campaign import open_campaign
from helpers.errors import UnknownPartError
from helpers.plots import set_theme
from helpers.sentiment import (
    SentimentReport,
    Tokenizer,
    band,
    classification_report,
    complaint_phrases,
    group_summary,
    run_sentiment,
    score_texts,
    text_kind,
    train_domain_model,
)

from .conftest import SHARED, need

CATS = SHARED / "online_shopping_10_cats" / "online_shopping_10_cats.csv"
OVERLAP = SHARED / "online_shopping_10_cats" / "rows_in_snownlp_training_set.txt"


def test_tokeniser_user_dict_and_stopwords(tmp_path):
    tok = Tokenizer()
    assert tok.tokens("这个手机的电池非常耐用，我很喜欢！！😀 123") == ["手机", "电池", "耐用", "喜欢"]
    d = tmp_path / "dict.txt"
    d.write_text("会员日 10 n\n", encoding="utf-8")
    assert "会员日" not in Tokenizer().tokens("会员日的优惠")
    assert "会员日" in Tokenizer(user_dict=d).tokens("会员日的优惠")
    assert Tokenizer(stopwords={"手机"}).tokens("手机很好") == ["很", "好"]
    assert Tokenizer(to_simplified=True).tokens("這個產品質量很好") == Tokenizer().tokens("这个产品质量很好")
    with pytest.raises(FileNotFoundError, match="user_dict"):
        Tokenizer(user_dict=tmp_path / "missing.txt")


def test_bands_and_odd_texts():
    assert [band(x) for x in (0.9, 0.6, 0.59, 0.41, 0.4, 0.0, float("nan"))] == [
        "positive",
        "positive",
        "neutral",
        "neutral",
        "negative",
        "negative",
        "skipped",
    ]
    assert band(0.55, positive_min=0.5, negative_max=0.5) == "positive"
    assert [text_kind(t) for t in ("", "   ", None, float("nan"), "good product", "👍👍", "123", "好评 good")] == [
        "empty",
        "empty",
        "empty",
        "empty",
        "no_chinese",
        "no_chinese",
        "no_chinese",
        "ok",
    ]


def test_cache_makes_a_second_run_skip_scoring(tmp_path):
    calls = []

    def scorer(t):
        calls.append(t)
        return len(t) / 10

    texts = ["很好", "太差了", "很好", "一般"]
    s1, st1 = score_texts(texts, cache_path=tmp_path / "c.parquet", scorer=scorer)
    assert len(calls) == 3 and st1["scored"] == 3 and st1["cached"] == 0  # the duplicate is scored once
    s2, st2 = score_texts(texts + ["新的评论"], cache_path=tmp_path / "c.parquet", scorer=scorer)
    assert len(calls) == 4 and st2["scored"] == 1 and st2["cached"] == 3
    assert np.allclose(s2[:4], s1)


def test_real_snownlp_parallel_equals_plain_loop(tmp_path):
    from snownlp import SnowNLP

    texts = [f"质量{'很好' if i % 2 else '太差'}，第{i}次购买" for i in range(450)]
    par, st = score_texts(texts, cache_path=tmp_path / "s.parquet", workers=2, chunk=100)
    assert st["workers"] == 2
    assert np.allclose(par[:20], [SnowNLP(t).sentiments for t in texts[:20]])


def test_group_summary_and_phrases():
    df = pd.DataFrame(
        {
            "item_id": ["a"] * 5 + ["b"] * 5,
            "band": ["negative"] * 4 + ["positive"] + ["positive"] * 5,
            "score": [0.1, 0.2, 0.1, 0.3, 0.9] + [0.9] * 5,
            "text": ["差"] * 4 + ["好"] + ["好"] * 5,
        }
    )
    g = group_summary(df, by="item_id")
    assert g["item_id"].tolist() == ["a", "b"] and g["positive_share"].tolist() == [0.2, 1.0]
    from helpers.sentiment import keywords_by_group

    kb = keywords_by_group(df.assign(text=["质量太差，包装破损"] * 4 + ["好"] * 6), by="item_id", min_reviews=2)
    assert kb["item_id"].tolist() == ["a"] and "破损" in kb.loc[0, "keywords"]
    p = complaint_phrases([["质量", "太差"], ["质量", "太差", "退货"], ["退货"]])
    assert p.iloc[0].tolist() == ["质量太差", 2]
    r = classification_report([1, 1, 0, 0], [1, 0, 0, 0])
    assert r["accuracy"] == 0.75 and r["confusion"] == [[2, 0], [1, 1]] and r["per_class"]["1"]["recall"] == 0.5


@need(CATS)
def test_domain_model_beats_snownlp_on_clean_held_out_rows():
    df = pd.read_csv(CATS)
    overlap = {int(x) for x in OVERLAP.read_text().split() if x.strip().isdigit()}
    clean = df[
        ~df.index.isin(overlap) & df.cat.isin(["水果", "洗发水", "衣服", "平板", "手机", "蒙牛"]) & df.review.notna()
    ]
    sample = clean.sample(n=900, random_state=1)
    train, test = sample.iloc[:600], sample.iloc[600:]
    tok = Tokenizer()
    model = train_domain_model([tok.tokens(t) for t in train.review], train.label)
    dom = model.predict([tok.tokens(t) for t in test.review])
    snow, _ = score_texts(test.review.tolist(), workers=1)
    acc_dom = (dom == test.label.to_numpy()).mean()
    acc_snow = ((snow >= 0.5).astype(int) == test.label.to_numpy()).mean()
    assert acc_dom > acc_snow, (acc_dom, acc_snow)
    assert acc_dom > 0.8


def _reviews_ctx(tmp_path, reviews: bool = True):
    """The demo campaign's context in a temporary folder, with a small clean reviews table (ratings as labels)."""
    ctx = open_campaign("demo", reports_dir=str(tmp_path), theme=False)
    if reviews:
        good = ["质量很好，非常喜欢", "物流很快，包装完好，很满意", "好用，推荐购买", "性价比高，质量不错"]
        bad = ["质量太差，很失望", "包装破损，客服不理人", "用了两天就坏了，退货", "做工粗糙，价格虚高"]
        n = 64
        df = pd.DataFrame(
            {
                "review_id": [str(i + 1) for i in range(n)],
                "user_id": [f"u{i % 20}" for i in range(n)],
                "item_id": ["A" if i % 2 else "B" for i in range(n)],
                "category": "数码",
                "rating": [5 if i % 2 else 1 for i in range(n)],
                "text": [(good if i % 2 else bad)[i // 2 % 4] for i in range(n)],
            }
        )
        df.loc[n - 1, "text"] = "👍👍"
        df.to_parquet(ctx.paths.table("reviews"), index=False)
    return ctx


def test_report_tables_results_and_model_export(tmp_path):
    ctx = _reviews_ctx(tmp_path)
    rep = run_sentiment(ctx)
    assert rep.available and rep.skipped == {"no_chinese": 1} and rep.model_trained
    assert set(rep.tables()) == {"users", "items", "categories"}
    assert list(rep.users.columns) == ["user_id", "reviews", "positive_share"] and rep.users["reviews"].sum() == 63
    res = rep.to_results()
    assert set(res) == {"available", "reason", *SentimentReport.result_keys} and res["reviews"] == 64
    assert res["scored"] == 63 and set(res["evaluation"]) == {"snownlp", "domain"}
    model = ctx.paths.results / "sentiment_model.joblib"
    assert res["model_path"] == str(model) and not model.exists()  # computing writes nothing
    assert rep.export(ctx) == [model] and model.exists()
    with matplotlib.rc_context():  # the CJK chart theme, restored afterwards
        set_theme()
        for part in SentimentReport.parts:
            rep.show(part)
    with pytest.raises(UnknownPartError, match="evaluation, confusion"):
        rep.show("bogus")


def test_unavailable_without_reviews(tmp_path):
    rep = SentimentReport.run(_reviews_ctx(tmp_path, reviews=False))
    assert isinstance(rep, Unavailable) and not rep.available
    assert set(rep.to_results()) == {"available", "reason", *SentimentReport.result_keys}
    assert rep.to_results()["positive_share"] is None
    assert rep.findings()[0] == "无法分析评论 No review analysis: 这个活动没有评论表 the campaign has no reviews table."
    with pytest.raises(UnknownPartError):
        rep.show("bogus")
