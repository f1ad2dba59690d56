"""The clustering, sentiment, churn, user_profile and data_quality reports speak one language (issue 18): their
title, findings and headline come from the message catalogue, with no Chinese in English pages (on data without
Chinese values) and no English sentence in Chinese pages (outside data values and code names)."""

from __future__ import annotations

import re

import pytest

from helpers import i18n

CJK = re.compile(r"[\u3400-\u9fff]")
#: three or more Latin words in a row: an English sentence (or phrase) left in a Chinese page
LATIN_RUN = re.compile(r"[A-Za-z]{2,}(?:[ \-'][A-Za-z]{2,}){2,}")


def _texts(rep) -> list[str]:
    return [rep.title, *rep.findings(), *(h["label"] for h in rep.headline()), *(h["text"] for h in rep.headline())]


def _check(texts_by_lang: dict[str, list[str]], data_values: tuple[str, ...] = ()) -> None:
    """en: no CJK outside ``data_values``; zh: no run of 3+ Latin words outside them."""

    def strip(s: str) -> str:
        for v in sorted(data_values, key=len, reverse=True):
            s = s.replace(v, " ")
        return s

    for s in texts_by_lang["en"]:
        assert not CJK.search(strip(s)), f"Chinese in an English text: {s!r}"
    for s in texts_by_lang["zh"]:
        assert not LATIN_RUN.search(strip(s)), f"English sentence in a Chinese text: {s!r}"
    assert texts_by_lang["en"] != texts_by_lang["zh"]


def test_clustering_in_both_languages():
    from helpers.clustering import run_clustering
    from tests.test_clustering import _Ctx, planted_events

    ev = planted_events()
    out = {}
    for lang in ("en", "zh"):
        with i18n.language(lang):
            rep = run_clustering(_Ctx({"events": ev}, k_min=2, k_max=4))
            none = run_clustering(_Ctx({}))
            out[lang] = _texts(rep) + _texts(none) + list(rep.names.values())
    _check(out)
    assert out["en"][0] == "User groups" and out["zh"][0] == "用户分群"
    assert any(s.startswith("No clustering: the campaign has no events table") for s in out["en"])
    assert any(re.match(r"\d+ users form \*\*\d\*\* groups \(silhouette ", s) for s in out["en"]), out["en"]


def test_sentiment_in_both_languages_with_the_perfect_accuracy_caveat(tmp_path):
    from helpers.sentiment import run_sentiment
    from tests.test_sentiment import _reviews_ctx

    ctx = _reviews_ctx(tmp_path)  # templated reviews: the domain model is 100% right on the held-out rows
    out = {}
    for lang in ("en", "zh"):
        with i18n.language(lang):
            rep = run_sentiment(ctx)
            out[lang] = _texts(rep)
    assert rep.evaluation["domain"]["accuracy"] >= 0.995
    # the reviews are Chinese data: the phrases and the worst item (A/B) are values, not template text
    phrases = tuple(rep.phrases["phrase"]) + ("数码",)
    _check(out, data_values=phrases)
    assert any("Perfect held-out accuracy usually means templated or leaked texts" in s for s in out["en"])
    assert any("模板化文本" in s for s in out["zh"])


def test_churn_in_both_languages(churn_ctx):
    from helpers.churn import ChurnReport

    out = {}
    for lang in ("en", "zh"):
        with i18n.language(lang):
            rep = ChurnReport.run(churn_ctx)
            out[lang] = _texts(rep) + list(rep.at_risk["action"].unique())
    _check(out, data_values=("logistic_regression", "gradient_boosting", "random_forest", "baseline_recency"))
    assert set(rep.at_risk["risk_band"]) <= {"high", "medium", "low"}  # stable machine values in the CSV
    en = " ".join(out["en"])
    assert "95% CI " in en and " to " in en and "The list has no RFM segments" in en
    assert "95% 置信区间" in " ".join(out["zh"]) and " 至 " in " ".join(out["zh"])


def test_user_profile_in_both_languages(tmp_path):
    from helpers.user_profile import ProfileReport
    from tests.test_user_profile import _ctx

    ctx = _ctx(tmp_path)
    labels = tuple(ctx.cfg.tags["activity_level"].labels or ()) + tuple(ctx.cfg.tags["price_band"].labels or ())
    out = {}
    for lang in ("en", "zh"):
        with i18n.language(lang):
            rep = ProfileReport.run(ctx)
            out[lang] = _texts(rep)
    # tag labels come from the campaign's params (data values); audience names too
    _check(out, data_values=labels + tuple(ctx.cfg.audiences))
    assert "A profile of 3 users" in out["en"][1] and out["zh"][1].startswith("3 位用户的画像表")
    assert any("the clustering report has not run" in s for s in out["en"])


def test_data_quality_in_both_languages_names_the_worst_event(tmp_path, write_params):
    import helpers
    from helpers.registry import run_report
    from tests.test_tracking import _planted_campaign

    p, _ = _planted_campaign(tmp_path, write_params)
    ctx = helpers.open_campaign("planted", params_file=str(p), reports_dir=str(tmp_path / "reports"), theme=False)
    assert run_report("ingest", ctx, show=False).available
    out = {}
    for lang in ("en", "zh"):
        with i18n.language(lang):
            rep = run_report("data_quality", ctx, show=False)
            out[lang] = _texts(rep)
    names = tuple(rep.labels.values())  # the plan's display names (启动, 浏览商品, ...) are data
    _check(out, data_values=names)
    worst = rep.scores.iloc[0]
    label = {}
    for lang in ("en", "zh"):  # the code in the page's brackets: 浏览商品（view）
        with i18n.language(lang):
            label[lang] = rep._label(str(worst["event"]))
    # an English page names the event by its code where the plan's name is Chinese (one language per page)
    assert label["zh"] == f"{rep.labels[worst['event']]}（{worst['event']}）" and label["en"] == worst["event"]
    assert not any(n in x for x in out["en"] for n in names if i18n.has_han(n)), out["en"]
    heads = {lang: [h for h in out[lang] if "(" in h or "（" in h] for lang in out}
    assert f"worst event score ({label['en']})" in heads["en"], heads
    assert f"最低事件得分（{label['zh']}）" in heads["zh"], heads


def test_unavailable_twin_speaks_the_language():
    from helpers.base import Unavailable
    from helpers.churn import ChurnReport

    with i18n.language("en"):
        twin = Unavailable(ChurnReport, i18n.t("unavailable.no_events"))
        assert twin.findings() == ["No churn model: the campaign has no events table."]
        assert twin.title == "Churn prediction" and twin.headline()[0]["text"] == "n/a"
    with i18n.language("zh"):
        twin = Unavailable(ChurnReport, i18n.t("unavailable.no_events"))
        assert twin.findings() == ["无法建模：这个活动没有事件表。"] and twin.title == "流失预警"


@pytest.fixture
def churn_ctx(tmp_path, write_params):
    from helpers.campaign import open_campaign
    from tests.test_churn import CHURN_PARAMS, _synthetic

    raw = tmp_path / "ev.csv"
    raw.write_text("u,e,t\n", encoding="utf-8")
    p = write_params(CHURN_PARAMS.format(path=raw.as_posix()))
    ctx = open_campaign("churnt", params_file=str(p), reports_dir=str(tmp_path / "reports"), theme=False)
    _synthetic(n=300).to_parquet(ctx.paths.table("events"), index=False)
    return ctx
