"""The fast SnowNLP scorer (helpers/snownlp_fast.py) gives SnowNLP's own scores: SnowNLP is the reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.snownlp_fast import FastSnowNLP, fast_scores, segment
from helpers.snownlp_scores import score_texts, snownlp_score
from tests.conftest import SHARED, need

REVIEWS = SHARED / "online_shopping_10_cats" / "online_shopping_10_cats.csv"

EDGE = [
    "",  # SnowNLP("") raises (BM25 of an empty doc): the reference is snownlp.sentiment.classify("")
    "   \n\t ",
    "😀😀👍",
    "Great product, fast delivery!",
    "hello   world\u3000again",
    "1234567890",
    "２０２４年买的，ＯＫ",
    "這個產品質量很好，非常滿意，物流也很快",  # traditional characters
    "好",
    "不",
    "差评",
    "〇〇〇很好",  # 〇 is outside SnowNLP's [\u4E00-\u9FA5] runs
    "龘龘龘靐靐",  # characters the segmentation model never saw
    "好龘差",
    "质量很好" * 400,  # long: 1,600 characters in one run
    "物流太慢了。" * 300 + "但是东西不错",
    "\ufeff做父母一定要有刘墉这样的心态",
    "买了3次，每次都很满意！！！http://example.com/x",
]


def reference(texts):
    return np.array([snownlp_score(t) for t in texts])


def test_edge_cases_equal_snownlp():
    got = fast_scores(EDGE)
    assert np.abs(got - reference(EDGE)).max() <= 1e-9
    assert np.array_equal(got, reference(EDGE))  # in fact the same floats


def test_segmentation_equals_snownlp():
    from snownlp import seg

    texts = EDGE + ["主要是用来放置一些简单快速的中文分词和词性标注的程序", "南京市长江大桥"]
    assert segment(texts) == [seg.seg(t) for t in texts]


def test_hand_computed_bayes_on_empty_words():
    """No word: the score is the class prior, 1 / (1 + exp(log P(neg) - log P(pos))) as SnowNLP computes it."""
    import math

    from snownlp import sentiment

    b = sentiment.classifier.classifier
    neg = math.log(b.d["neg"].getsum()) - math.log(b.total)
    pos = math.log(b.d["pos"].getsum()) - math.log(b.total)
    expect = 1 / (1 + math.exp(neg - pos))
    assert FastSnowNLP().classify([]) == pytest.approx(expect, abs=1e-15)
    assert fast_scores([""])[0] == pytest.approx(expect, abs=1e-15)


def test_batches_and_repeats_do_not_change_scores():
    f = FastSnowNLP()
    texts = ["质量很好，物流很快", "太差了，退货", "质量很好，物流很快", "一般般吧"] * 3
    whole = f.scores(texts)
    small = f.scores(texts, batch=2)
    assert np.array_equal(whole, small)
    assert np.array_equal(whole, reference(texts))


def test_score_texts_uses_the_fast_path_and_caches(tmp_path):
    texts = ["很好", "太差了", "很好", "一般"]
    s, st = score_texts(texts, cache_path=tmp_path / "c.parquet")
    assert st["method"] == "fast" and st["scored"] == 3 and st["workers"] == 1
    assert np.array_equal(s, reference(texts))
    with pytest.raises(ValueError, match="method"):
        score_texts(texts, method="quick")


@need(REVIEWS)
def test_two_thousand_real_reviews_equal_snownlp():
    df = pd.read_csv(REVIEWS).dropna(subset=["review"]).sample(n=2000, random_state=19)
    texts = df["review"].astype(str).tolist()
    got = fast_scores(texts)
    ref = reference(texts)
    assert np.abs(got - ref).max() <= 1e-9
