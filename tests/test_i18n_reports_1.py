"""One language per page for the funnel, retention, paths, ingest and RFM (with CLV) reports and the drivers:
their findings, headline labels, titles and part titles come from the message catalogue, in English without a
Chinese character and in Chinese without an English sentence (data here has no Chinese values)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from helpers import i18n
from helpers.fmt import fmt_duration_hours, fmt_pct, fmt_range

CJK = re.compile(r"[\u3400-\u9fff]")
#: three or more Latin words in a row: an English phrase in a Chinese text
ENGLISH_RUN = re.compile(r"\b[A-Za-z][A-Za-z'-]*(?: [A-Za-z][A-Za-z'-]*){2,}\b")


class _Ctx:
    """The part of helpers.Context the reports use, over in-memory tables (no tracking plan: machine names)."""

    def __init__(self, tables, **sections):
        from helpers.sections import FunnelParams, PathsParams, RetentionParams, RFMParams

        self.tables = tables
        defaults = {
            "funnel": FunnelParams(),
            "paths": PathsParams(),
            "retention": RetentionParams(),
            "rfm": RFMParams(),
        }
        self.cfg = SimpleNamespace(
            period=SimpleNamespace(start=pd.Timestamp("2024-01-01").date(), end=pd.Timestamp("2024-02-29").date()),
            **(defaults | sections),
        )

    def has(self, name):
        return name in self.tables

    def table(self, name):
        import ibis

        return ibis.memtable(self.tables[name])


def _events(n_users: int = 240, seed: int = 7) -> pd.DataFrame:
    """A seeded log: view -> cart -> order over two channels (ads converts worse), users coming back on later
    days, with buys carrying amounts (for RFM)."""
    rng = np.random.default_rng(seed)
    rows = []
    t0 = pd.Timestamp("2024-01-01")
    for i in range(n_users):
        u = f"u{i:03d}"
        ch = "ads" if i % 2 else "search"
        for visit in range(int(rng.integers(1, 5))):
            start = t0 + pd.Timedelta(days=int(rng.integers(0, 50)), hours=int(rng.integers(8, 20)))
            rows.append((u, start, "view", ch, None, None))
            if rng.random() < (0.5 if ch == "ads" else 0.75):
                rows.append((u, start + pd.Timedelta(minutes=5), "cart", ch, None, None))
                if rng.random() < 0.6:
                    rows.append((u, start + pd.Timedelta(minutes=9), "order", ch, f"o{i}-{visit}", None))
                    amount = float(rng.integers(20, 300))
                    rows.append((u, start + pd.Timedelta(minutes=10), "buy", ch, f"o{i}-{visit}", amount))
            if rng.random() < 0.3:
                rows.append((u, start + pd.Timedelta(minutes=12), "search", ch, None, None))
    ev = pd.DataFrame(rows, columns=["user_id", "ts", "event", "channel", "order_id", "amount"])
    return ev.sort_values(["ts", "user_id"], ignore_index=True)


@pytest.fixture(scope="module")
def computed():
    """The four reports computed once in Chinese, and the RFM report once more in English: RFM's notes and
    model caveats are worded when computed (they go into results/rfm.json too), in the campaign's language;
    the other reports word everything when asked, so one computation renders in both languages."""
    from helpers.funnel import run_funnel
    from helpers.journey import run_paths
    from helpers.retention import run_retention
    from helpers.rfm import run_rfm
    from helpers.sections import FunnelParams, PathsParams

    ev = _events()
    orders = ev[ev["event"] == "buy"][["user_id", "ts", "order_id", "amount"]]
    with i18n.language("zh"):
        out = {
            "funnel": run_funnel(
                _Ctx({"events": ev}, funnel=FunnelParams(steps=["view", "cart", "order"], breakdown="channel"))
            ),
            "retention": run_retention(_Ctx({"events": ev})),
            "paths": run_paths(_Ctx({"events": ev}, paths=PathsParams(start_event="view"))),
            "rfm": run_rfm(_Ctx({"orders": orders})),
        }
    with i18n.language("en"):
        out["rfm_en"] = run_rfm(_Ctx({"orders": orders}))
    for name, rep in out.items():
        assert rep.available, (name, getattr(rep, "reason", None))
    return out


def _report(computed, name: str, lang: str):
    return computed["rfm_en"] if (name, lang) == ("rfm", "en") else computed[name]


def _texts(rep) -> list[str]:
    """Every text of a report a reader meets first: title, findings, headline labels, part titles."""
    out = [rep.title, *rep.findings(), *(h["label"] for h in rep.headline())]
    return out + [i18n.t(f"{rep.name}.part.{p}") for p in rep.parts]


def _ingest_texts() -> list[str]:
    from helpers.quality import IngestReport, ingest_findings, ingest_headline

    from .test_quality import _rep

    reps = {
        "events": _rep(reasons={"duplicate": 3, "out_of_period": 2}),
        "orders": _rep("orders", 1, 1, derived="events"),
    }
    heads = [h["label"] for h in ingest_headline(reps)]
    parts = [i18n.t(f"ingest.part.{p}") for p in IngestReport.parts]
    return [IngestReport.title, *ingest_findings(reps, timezone="Asia/Shanghai"), *heads, *parts]


NAMES = ("funnel", "retention", "paths", "rfm")


@pytest.mark.parametrize("name", NAMES)
def test_english_report_has_no_chinese(computed, name):
    with i18n.language("en"):
        texts = _texts(_report(computed, name, "en"))
    assert len(texts) > 3
    bad = [x for x in texts if CJK.search(x)]
    assert not bad, bad


@pytest.mark.parametrize("name", NAMES)
def test_chinese_report_has_no_english_sentence(computed, name):
    with i18n.language("zh"):
        texts = _texts(_report(computed, name, "zh"))
    assert all(CJK.search(x) for x in texts[1:] if len(x) > 12), texts  # every sentence is Chinese
    bad = [(x, m.group()) for x in texts for m in [ENGLISH_RUN.search(x)] if m]
    assert not bad, bad
    assert not [x for x in texts if ", " in x or "; " in x], texts  # lists and clauses in Chinese marks (、，；)


def test_ingest_in_each_language():
    with i18n.language("en"):
        en = _ingest_texts()
    with i18n.language("zh"):
        zh = _ingest_texts()
    assert not [x for x in en if CJK.search(x)], en
    assert not [x for x in zh if ENGLISH_RUN.search(x)], zh
    assert en[0] == "Ingest and cleaning" and zh[0] == "数据接入与清洗"


def test_the_same_report_renders_in_both_languages_with_the_same_numbers(computed):
    from helpers.fmt import fmt_pp

    rep = computed["funnel"]
    with i18n.language("en"):
        en = rep.findings()
    with i18n.language("zh"):
        zh = rep.findings()
    assert len(en) == len(zh)
    num = re.compile(r"\d[\d,.]*%?")
    for a, b in zip(en, zh):
        assert num.findall(a) == num.findall(b) or set(num.findall(a)) == set(num.findall(b)), (a, b)
    # the breakdown test and CI ranges read "a to b" / "a 至 b", never "-23.9%–-13.5%"
    assert any(" to " in x and "95% CI" in x for x in en) and any(" 至 " in x for x in zh)
    assert not any(re.search(r"%–-?\d", x) for x in en + zh)
    assert rep.test is not None and rep.test["group_a"] == "ads"  # the worse channel is tested
    # a difference of two conversion rates is in percentage points, its interval too (a "%" would read as relative)
    with i18n.language("en"):
        diff = fmt_pp(rep.test["diff"])
    with i18n.language("zh"):
        zh_pp = fmt_pp(rep.test["diff"])
    assert any(f"a difference of {diff} (95% CI " in x and " pp to " in x for x in en), en
    assert any(f"差 {zh_pp}（95% 置信区间 " in x and "个百分点至 " in x for x in zh), zh


def test_fmt_range_in_both_languages():
    from helpers.fmt import fmt_pp

    with i18n.language("en"):
        assert fmt_range(-0.239, -0.135, fmt_pct) == "-23.9% to -13.5%"
        assert fmt_range(1, 2.5) == "1.00 to 2.50" and fmt_range("a", "b") == "a to b"
    with i18n.language("zh"):
        assert fmt_range(-0.239, -0.135, fmt_pct) == "-23.9% 至 -13.5%"
        # a bound ending (starting) with a Chinese unit joins the separator: no space between Chinese characters
        assert fmt_range(0.134, 0.302, fmt_pp) == "13.4 个百分点至 30.2 个百分点"
        assert fmt_range("3 天", "第 5 天") == "3 天至第 5 天" and fmt_range("£1", "£2") == "£1 至 £2"
        assert [fmt_duration_hours(h) for h in (0.5, 3.5, 50.4)] == ["30 分钟", "3.5 小时", "2.1 天"]
    with i18n.language("en"):
        assert [fmt_duration_hours(h) for h in (0.5, 3.5, 50.4)] == ["30 min", "3.5 h", "2.1 d"]


def test_segment_labels_follow_the_language_but_csv_values_stay(computed):
    from helpers.rfm_segments import ACTIONS, segment_label

    rep = computed["rfm"]
    machine = rep.tables()["membership"]["segment"]
    assert set(machine) <= set(ACTIONS)  # machine values: the named-11 names
    with i18n.language("en"):
        assert segment_label("Can't Lose Them") == "Can't lose them" and segment_label("重要价值客户") == "Key value"
        assert ACTIONS["Lost"] == "Cheap re-engagement, or let go"
    with i18n.language("zh"):
        assert segment_label("Champions") == "冠军客户" and ACTIONS["Lost"].startswith("低成本")
    assert segment_label("not a segment") == "not a segment"


def test_funnel_breakdown_chart_uses_display_names():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helpers.funnel import plot_breakdown

    bd = pd.DataFrame(
        {
            "group": ["a", "a", "b", "b"],
            "step": [1, 2, 1, 2],
            "name": ["view", "cart", "view", "cart"],
            "users": [100, 50, 100, 40],
            "rate_from_start": [1.0, 0.5, 1.0, 0.4],
            "ci_low": [1.0, 0.4, 1.0, 0.3],
            "ci_high": [1.0, 0.6, 1.0, 0.5],
        }
    )
    with i18n.language("en"):
        ax = plot_breakdown(bd, display={"view": "Viewed item", "cart": "Added to cart"})
    ticks = [x.get_text() for x in ax.get_xticklabels()]
    assert "1. Viewed item" in ticks and "2. Added to cart" in ticks
    assert ax.get_xlabel() == "Step" and ax.get_title() == "Conversion by group"
    plt.close("all")


def test_drivers_texts_follow_the_language():
    from helpers.drivers import driver_finding, note_text, phi_band, skew_warning

    table = pd.DataFrame(
        [
            {
                "event": "search",
                "k": 2,
                "ppv": 0.6,
                "retained_rate_not": 0.3,
                "phi": 0.31,
                "band": phi_band(0.31),
                "supported": True,
            }
        ]  # fmt: skip
    )
    assert phi_band(0.31) == "strong"  # machine value in the CSV
    with i18n.language("en"):
        f = driver_finding(table, "retention")
        assert f and "strong" in f and "correlation, not cause" in f and not CJK.search(f)
        assert "very skewed" in (skew_warning(5, 995) or "")
        assert note_text(("drivers.window_users", {"users": 1200, "retained": 0.25})) == (
            "1,200 users with a complete window, 25.0% retained."
        )
    with i18n.language("zh"):
        f = driver_finding(table, "retention")
        assert f and "（phi 0.31，强相关）" in f and not ENGLISH_RUN.search(f)
    # |phi| under 0.1 is no driver: the finding says there is none clear instead of ranking it first (Online Retail
    # II's "留存相关因素第一位 …（phi 0.05，无）")
    weak = table.assign(phi=0.05, band=phi_band(0.05), ppv=0.065, retained_rate_not=0.028)
    f = driver_finding(weak, "retention")
    assert f.startswith("没有明显的留存相关因素：") and "phi 只有 0.05" in f and "第一位" not in f, f
    with i18n.language("en"):
        f = driver_finding(weak, "retention")
        assert f.startswith("No clear retention driver") and "6.5% of those users retained vs 2.8%" in f, f
        assert "(phi 0.31, strong association)" in driver_finding(table, "retention")


def test_glossary_terms_of_these_reports_exist_in_both_languages():
    from helpers.funnel import FunnelReport
    from helpers.retention import RetentionReport
    from helpers.rfm import RFMReport

    cat = i18n.catalogue()
    for rep in (FunnelReport, RetentionReport, RFMReport):
        assert rep.glossary, rep.name
        for term in rep.glossary:
            assert f"glossary.{term}" in cat, term
    for term in ("ci95", "p_value", "bgnbd", "p_alive", "odds_ratio", "phi", "gamma_gamma", "clv"):
        assert f"glossary.{term}" in cat


def test_profile_shares_read_as_sentences_in_english():
    """The profile's two shares are one line: in English two sentences ("…: 33.3%. Buyers …"), not a capital
    after a semicolon ("…: 33.3%; Buyers …", as Online Retail II's English page read); in Chinese one, with "；"."""
    from helpers.i18n import t

    with i18n.language("en"):
        line = t("user_profile.highly_active", share="33.3%") + t("user_profile.buyers", how="", share="100.0%")
        assert line == "Highly active users: 33.3%. Buyers: 100.0%.", line
    line = t("user_profile.highly_active", share="25.7%") + t("user_profile.buyers", how="", share="68.6%")
    assert line == "高活跃用户：25.7%；买过的用户：68.6%。", line
