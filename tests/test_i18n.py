"""The message catalogue (helpers/i18n.py, helpers/messages/*.yaml): complete in both languages, every key the
code uses is defined, templates are filled, and the language follows the campaign."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from helpers import i18n

ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u3400-\u9fff]")


def test_every_message_has_both_languages_and_each_is_in_its_language():
    cat = i18n.catalogue()
    assert cat, "the catalogue is empty"
    for key, texts in cat.items():
        assert set(texts) == {"zh", "en"}, key
        assert texts["zh"].strip() and texts["en"].strip(), f"{key}: empty text"
        assert not CJK.search(texts["en"]), f"{key}: the English text has Chinese characters: {texts['en']!r}"
        # both templates take the same fields
        fields = {lang: set(re.findall(r"{(\w+)", texts[lang])) for lang in ("zh", "en")}
        assert fields["zh"] == fields["en"], f"{key}: fields differ between languages: {fields}"


def _used_keys() -> set[str]:
    keys: set[str] = set()
    for f in (ROOT / "helpers").rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            if getattr(node.func, "id", getattr(node.func, "attr", None)) in ("t", "localized"):
                if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                    keys.add(node.args[0].value)
    return keys


def test_english_messages_write_no_plural_shortcuts():
    """A stakeholder's page reads "4 day(s)" as unfinished: an English message is worded so that it reads right
    for one and for many ("daily volume outside the expected range on 4 of the days", "7 more in the table")."""
    lazy = {k: v["en"] for k, v in i18n.catalogue().items() if re.search(r"\w\(s\)|\w\(es\)", v.get("en", ""))}
    assert not lazy, lazy


def test_every_key_used_in_the_code_is_defined():
    missing = sorted(_used_keys() - set(i18n.catalogue()))
    assert not missing, f"t() keys missing from helpers/messages/*.yaml: {missing}"


def test_full_stop_ends_a_reason_shown_on_its_own():
    """The index shows why a report could not compute as a sentence of its own: some reasons ended with "。", others
    with nothing ("… or use longer data with more users"); each now ends with one full stop in the page's language."""
    from helpers.i18n import full_stop, language

    with language("en"):
        assert full_stop("lengthen the period") == "lengthen the period."
        assert full_stop("see docs/attribution.md)") == "see docs/attribution.md)."
        assert full_stop("done.") == "done." and full_stop("why? ") == "why?" and full_stop("") == ""
    with language("zh"):
        assert full_stop("请延长统计期（period）") == "请延长统计期（period）。"
        assert full_stop("需要完整的第二周。") == "需要完整的第二周。" and full_stop("no users") == "no users。"


def test_column_word_reads_a_header_inside_a_sentence():
    """ "Segments by channel", not "by Channel"; acronyms, inner capitals, tags and Chinese as the header."""
    from helpers.i18n import column_label, column_word, language

    with language("en"):
        assert column_label("channel") == "Channel" and column_word("channel") == "channel"
        assert column_word("category") == "category" and column_word("not_a_known_column") == "not_a_known_column"
        assert column_word("tag:常来") == column_label("tag:常来")
        assert [column_word(c) for c in ("gmv", "gmv_share", "rfm_segment", "user_id")] == [
            "GMV", "GMV share", "RFM segment", "user ID"]  # fmt: skip
    with language("zh"):
        assert column_word("channel") == "渠道"


def test_t_fills_fields_and_follows_the_language():
    with i18n.language("en"):
        assert i18n.t("unavailable", reason="no events") == "Not available: no events"
    with i18n.language("zh"):
        assert i18n.t("unavailable", reason="没有事件表") == "无法计算：没有事件表"
    assert i18n.t("key_findings", lang="en") == "Key findings"
    with pytest.raises(i18n.MessageError, match="not in the catalogue"):
        i18n.t("no_such_message")
    with pytest.raises(i18n.MessageError, match="needs the value 'reason'"):
        i18n.t("unavailable")
    with pytest.raises(ValueError, match="language must be one of"):
        i18n.set_language("fr")
    assert i18n.label("not_a_key") == "not_a_key"


def test_open_campaign_sets_the_campaign_language(write_params, tmp_path):
    import helpers

    base = (ROOT / "params" / "reviews_10cats.yaml").read_text(encoding="utf-8")
    for lang in ("en", "zh"):
        pfile = write_params(base.replace("campaign: reviews_10cats", "campaign: reviews_10cats\nlanguage: " + lang))
        helpers.open_campaign("reviews_10cats", params_file=str(pfile), reports_dir=str(tmp_path), theme=False)
        assert i18n.current_language() == lang


def test_catalogue_read_with_libyaml_equals_the_pure_python_reader():
    """The catalogue is parsed with libyaml's loader where there is one; every file gives what PyYAML's own
    SafeLoader gives."""
    import yaml

    files = sorted((Path(i18n.__file__).parent / "messages").glob("*.yaml"))
    assert len(files) > 10
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert yaml.load(text, Loader=i18n._LOADER) == yaml.load(text, Loader=yaml.SafeLoader), f.name
    assert i18n._LOADER is getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def test_column_and_driver_labels_read_as_words_in_each_language():
    from helpers.drivers import candidate_label
    from helpers.i18n import column_label, language

    with language("zh"):
        assert column_label("channel") == "渠道"
        assert column_label("my_custom_col") == "my_custom_col"  # unknown columns keep their name
        assert candidate_label("event", None, "fav") == "事件“fav”"
        assert candidate_label("property", "channel", "app") == "渠道 = app"
        assert candidate_label("property", "note", "a = b") == "note = a = b"  # a value holding " = "
        assert candidate_label("property", "a = b", "c") == "a = b = c"  # a column name holding " = "
    with language("en"):
        assert column_label("channel") == "Channel"
        assert candidate_label("event", None, "fav") == "event fav"
        assert candidate_label("property", "city", "上海") == "City = 上海"


def test_close_up_joins_chinese_across_a_space_only():
    """No space between two Chinese characters or punctuation marks (a name joining its sentence, a YAML folded
    block's line break); spaces next to Latin words and digits stay."""
    from helpers.i18n import close_up

    assert close_up("给 浏览商品 的功劳") == "给浏览商品的功劳" and close_up("给 pv 的功劳") == "给 pv 的功劳"
    assert close_up("和购买。 该数据集") == "和购买。该数据集" and close_up("的行 按各自原因") == "的行按各自原因"
    assert close_up("（3,054 次，占 浏览 的 4.0%）") == "（3,054 次，占浏览的 4.0%）"
    assert close_up("Views and buys. No prices") == "Views and buys. No prices"


def test_chinese_templates_set_latin_values_apart_and_join_chinese_ones():
    """A zh template may write a field right next to Chinese (没有{what}行为): a Chinese value joins the sentence, a
    value starting or ending with a Latin letter or digit gets a space on that side; punctuation and empty values
    join; English templates are filled as written."""
    from helpers.i18n import _fill_spaced, t

    assert _fill_spaced("没有{what}行为", {"what": "购买"}) == "没有购买行为"
    assert _fill_spaced("没有{what}行为", {"what": "buy"}) == "没有 buy 行为"
    assert _fill_spaced("没有{what}行为", {"what": ""}) == "没有行为"
    assert _fill_spaced("共{n}个", {"n": 3}) == "共 3 个" and _fill_spaced("{x:.1f}倍", {"x": 2.25}) == "2.2 倍"
    assert _fill_spaced("单{m}。", {"m": "，M £701.62"}) == "单，M £701.62。"  # punctuation joins
    assert _fill_spaced("（{a}）", {"a": "pv"}) == "（pv）"  # next to full-width brackets: no space
    # a bold field is spaced outside its markers (inside, "** GBM**" would not be bold in Markdown)
    assert _fill_spaced("最佳模型**{m}**：", {"m": "LightGBM"}) == "最佳模型 **LightGBM**："
    assert _fill_spaced("用**{m}**评分", {"m": "SnowNLP"}) == "用 **SnowNLP** 评分"
    assert _fill_spaced("最佳模型**{m}**：", {"m": "逻辑回归"}) == "最佳模型**逻辑回归**："
    # a name joins the Chinese beside it and a Latin one is spaced: the templates write no space of their own
    assert t("funnel.h_diff", a="信息流广告", b="应用商店") == "信息流广告与应用商店的差异"
    assert t("funnel.h_diff", a="Feed", b="应用商店") == "Feed 与应用商店的差异"
    assert t("upstream.not_run", report="留存") == "留存报告还没有运行"
    assert t("upstream.not_run", report="RFM") == "RFM 报告还没有运行"
    # the metric and the comparison parted by " · ", not a second colon before the value ("转化：新版对比对照组：+5%")
    assert t("experiment.headline_lift", label="转化", variant="新版", bad="") == "转化 · 新版对比对照组"
    assert t(
        "churn.best_model", model="逻辑回归", auc="0.716", ci="0.70–0.73", pr_auc="0.5", baseline="0.6"
    ).startswith("最佳模型**逻辑回归**：ROC AUC **0.716**（95% 置信区间")
    assert (
        t("rfm.h_share", segment="冠军客户") == "冠军客户占比"
        and t("rfm.h_share", segment="Champions") == "Champions 占比"
    )
    assert t("rfm.h_share", lang="en", segment="Champions") == "Champions share"
    seq = {"variant": "B", "ci": "-1 至 1"}
    assert t("experiment.seq", label="人均订单", **seq) == "序贯监测：最后一天人均订单（B）的随时有效区间为 -1 至 1。"
    assert t("experiment.seq", label="orders", **seq).startswith("序贯监测：最后一天 orders（B）")


def test_has_han():
    from helpers.i18n import has_han

    assert has_han("支付成功") and has_han("Add 购物车") and has_han("\uf900")
    assert not has_han("Add to cart") and not has_han("（）、。") and not has_han("")


def test_column_label_names_a_tag_or_audience_breakdown():
    from helpers.i18n import column_label, t

    assert column_label("tag:常来") == "标签“常来”" and column_label("tag:常来", lang="en") == "tag “常来”"
    assert column_label("audience:高价值") == "人群包“高价值”" and column_label("channel") == "渠道"
    assert column_label("my_col") == "my_col" and column_label(None) == ""
    # the group templates join it and set a plain column code apart
    assert t("experiment.segments", col=column_label("tag:常来"), k=2, fp="0.1", a="0.05").startswith(
        "按标签“常来”分群"
    )
    assert t("experiment.segments", col=column_label("os_build"), k=2, fp="0.1", a="0.05").startswith(
        "按 os_build 分群"
    )


def test_clause_join_parts_notes_in_the_pages_language():
    """Notes shown one after another: after a full sentence the next follows directly (a space in English),
    otherwise "；" / "; " (not "; " on a Chinese page); the products part that could not compute uses it."""
    import pandas as pd

    from helpers.i18n import clause_join, language
    from helpers.products import ProductsReport

    with language("zh"):
        assert clause_join(["购买记录没有品类，不生成品类表。", "未计算"]) == "购买记录没有品类，不生成品类表。未计算"
        assert clause_join(["未计算", "没有安慰剂检验"]) == "未计算；没有安慰剂检验" and clause_join([]) == ""
        rep = ProductsReport(items=pd.DataFrame(), notes=["甲", "乙"])
        assert rep._show("categories").data == "_甲；乙_"
        rep.notes = ["<b>x</b> [y](javascript:z)"]  # a note that holds data is shown without its markup
        assert rep._show("categories").data == "_&lt;b&gt;x&lt;/b&gt; \\[y\\](javascript:z)_"
    with language("en"):
        assert clause_join(["No category.", "not computed", "no placebo check"]) == (
            "No category. not computed; no placebo check"
        )


def test_english_counts_of_one_are_singular():
    """Messages say "{n} users"; with n = 1 an English page read "Audience “x”: 1 users" and "1 rows". Every English
    message now puts a count of one in the singular; 21, 0.1, 1,001 and Chinese keep theirs."""
    from helpers.i18n import _singular, t

    assert _singular("1 users, 21 users, 0.1 days, 1,001 rows, **1** rows, 1 categories, 11 days") == (
        "1 user, 21 users, 0.1 days, 1,001 rows, **1** row, 1 category, 11 days"
    )
    with i18n.language("en"):
        assert t("user_profile.audience", audience="x", users="1", share="50.0%") == "Audience “x”: 1 user (50.0%)."
        assert t("user_profile.audience", audience="x", users="2", share="50.0%") == "Audience “x”: 2 users (50.0%)."
    with i18n.language("zh"):
        assert t("user_profile.audience", audience="x", users="1", share="50.0%") == "人群包“x”：1 位用户（50.0%）。"
