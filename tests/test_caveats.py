"""Computed caveats (helpers/caveats.py) and the CSV export rules (helpers/export.py), on hand-made data."""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from helpers import i18n  # noqa: E402
from helpers.caveats import (  # noqa: E402
    day_n_caveat,
    day_n_fits,
    fit_retention_headline,
    mark_small,
    rate_denominator,
    segment_conflict_note,
    segment_conflicts,
)
from helpers.export import bilingual_cells, column_kind, columns_table, csv_frame, write_columns_file  # noqa: E402
from helpers.stats import wilson_interval  # noqa: E402


# ------------------------------------------------------------------------------------------------ small samples
def test_tiny_cohort_is_drawn_hollow_with_its_interval():
    fig, ax = plt.subplots()
    n = [500, 400, 12]  # the last point rests on 12 users
    y = [1.0, 0.5, 1.0]
    ax.plot([0, 1, 2], y, marker="o")
    small = mark_small(ax, [0, 1, 2], y, n)
    assert small.tolist() == [False, False, True]
    hollow = [c for c in ax.collections if c.get_offsets().shape[0] == 1 and c.get_facecolor().size]
    assert hollow, "a scatter of the small point"
    face = hollow[-1].get_facecolor()[0]
    assert tuple(np.round(face[:3], 3)) == (1.0, 1.0, 1.0), "hollow: white face"
    assert hollow[-1].get_offsets()[0].tolist() == [2.0, 1.0]
    # the error bar is the Wilson interval of 12/12
    lo, hi = wilson_interval(12, 12)
    segs = [c for c in ax.collections if hasattr(c, "get_segments") and c.get_segments()]
    ys = sorted(float(v) for c in segs for seg in c.get_segments() for v in np.asarray(seg)[:, 1])
    assert ys[0] == pytest.approx(lo) and ys[-1] == pytest.approx(hi)
    with i18n.language("en"):
        fig2, ax2 = plt.subplots()
        ax2.plot([0], [0.5])
        mark_small(ax2, [0], [0.5], [3])
        assert [t.get_text() for t in ax2.get_legend().get_texts()] == [
            "Hollow: fewer than 30 users (bar: 95% interval)"
        ]
    # nothing small: nothing drawn, no legend added
    fig3, ax3 = plt.subplots()
    assert not mark_small(ax3, [0, 1], [0.2, 0.3], [100, 200]).any() and ax3.get_legend() is None
    plt.close("all")


def test_given_interval_is_used_and_other_groups_keep_one_legend_entry():
    fig, ax = plt.subplots()
    for g in range(2):
        ax.plot([1, 2], [0.5, 0.4], label=f"g{g}")
        mark_small(ax, [1, 2], [0.5, 0.4], [5, 5], lo=[0.1, 0.1], hi=[0.9, 0.8])
    ax.legend()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels.count(i18n.t("caveat.small_legend", n=30)) == 1 and "g0" in labels and "g1" in labels
    plt.close("all")


def test_rate_denominator():
    from helpers.trend_metrics import Metric

    assert (
        rate_denominator(Metric("pay_rate", "x", formula="paying_users / active_users", kind="rate")) == "active_users"
    )
    assert rate_denominator(Metric("aov", "x", formula="gmv / orders", kind="mean", unit=("gmv", "orders"))) is None
    assert rate_denominator(None) is None


# ------------------------------------------------------------------------------------------------ retention
def _d(n, rate, users, cohorts=3):
    return {"n": n, "rate": rate, "retained": 0 if math.isnan(rate) else round(rate * users), "users": users,
            "cohorts": cohorts}  # fmt: skip


def test_day7_above_day1_is_flagged():
    with i18n.language("en"):
        small = day_n_caveat(_d(1, 0.20, 40), _d(7, 0.25, 20))  # 8/40 vs 5/20: intervals overlap
        assert "day-7 retention (25.0%" in small and "overlap" in small and "may be chance" in small
        big = day_n_caveat(_d(1, 0.10, 5000), _d(7, 0.30, 5000))
        assert "do not overlap" in big
        assert day_n_caveat(_d(1, 0.4, 500), _d(7, 0.2, 400)) is None
        assert "rests on only 12 users" in day_n_caveat(_d(1, 0.4, 500), _d(7, 0.2, 12))
        assert day_n_caveat(_d(1, 0.4, 500), _d(7, math.nan, 0, cohorts=0)) is None
        # day 7 not measurable (a short log) and day 1 on 2 users: day 1 is still flagged
        assert "day-1 retention rests on only 2 users" in day_n_caveat(_d(1, 0.0, 2), _d(7, math.nan, 0, cohorts=0))
        assert day_n_caveat(_d(1, math.nan, 0, cohorts=0), _d(7, math.nan, 0, cohorts=0)) is None
    with i18n.language("zh"):
        assert "七日留存" in day_n_caveat(_d(1, 0.20, 40), _d(7, 0.25, 20))


def test_day_n_headline_suppressed_on_monthly_cohorts():
    items = [{"label": "Day-1 retention", "value": 0.4}, {"label": "Day-7 retention", "value": 0.2}]
    curve = pd.DataFrame({"n": [0, 1, 2], "users": [900, 800, 300], "rate": [1.0, 0.35, 0.2]})
    d1, d7 = _d(1, 0.4, 500), _d(7, 0.2, 400)
    with i18n.language("en"):
        assert fit_retention_headline(items, period="week", day1=d1, day7=d7, curve=curve) == items
        monthly = fit_retention_headline(items, period="month", day1=d1, day7=d7, curve=curve)
        assert monthly == [{"label": "Month-1 retention", "value": 0.35, "text": "35.0%"}]
        # day-7 on too few users is left out, day-1 kept
        assert fit_retention_headline(items, period="day", day1=d1, day7=_d(7, 0.2, 10), curve=curve) == items[:1]
        assert day_n_fits("week", d1, d7) == (True, True) and day_n_fits("month", d1, d7) == (False, False)
        assert day_n_fits("day", d1, _d(7, 0.2, 10)) == (True, False)  # the rule both functions share
        none = fit_retention_headline(items, period="month", day1=d1, day7=d7, curve=curve.iloc[:1])
        assert none[0]["value"] is None and none[0]["text"] == "–"
    with i18n.language("zh"):
        assert fit_retention_headline(items, period="month", day1=d1, day7=d7, curve=curve)[0]["label"] == "第 1 月留存"


# ------------------------------------------------------------------------------------------------ contradictions
def test_segment_against_p_alive():
    df = pd.DataFrame(
        {
            "segment": ["Lost", "Lost", "Champions", "Champions", "Hibernating", "Promising"],
            "p_alive": [1.0, 0.05, 0.02, 0.9, 0.6, 0.01],
            "frequency": [1, 3, 8, 9, 2, 1],
        }
    )
    assert segment_conflicts(df).tolist() == [True, False, True, False, True, False]
    with i18n.language("en"):
        note = segment_conflict_note(df, one_time_col="frequency")
        assert note.startswith("3 customers have a segment") and "2 in a lost segment" in note
        assert "1 in an active segment" in note and "1 of them bought once" in note
    assert segment_conflict_note(df.iloc[[1, 3]]) is None
    assert not segment_conflicts(df.drop(columns="p_alive")).any()


# ------------------------------------------------------------------------------------------------ CSV export
def test_csv_rounding_by_column_kind():
    df = pd.DataFrame(
        {
            "revenue": [372.8599999999999, 1297591.4000000001],
            "share_of_input": [0.0018969956024192853, 0.25],
            "loglik": [-8046.0944786850705, 1e-9],
            "rfm_code": [324.0, np.nan],
            "users": [3, 4],
            "revenue_share": [0.46473177804025370, 0.5],
            "buyer": [True, False],
            "flag": pd.Series([True, None], dtype=object),
            "segment": ["Lost", "Champions"],
        }
    )
    out = csv_frame(df)
    text = out.to_csv(index=False)
    assert text.splitlines()[1] == "372.86,0.001897,-8046.09,324,3,0.464732,true,true,Lost"
    assert text.splitlines()[2] == "1297591.4,0.25,1e-09,,4,0.5,false,,Champions"  # p-values keep 6 significant digits
    assert [column_kind(c, df[c]) for c in df.columns] == [
        "money", "float", "float", "count", "count", "float", "bool", "bool", "text",
    ]  # fmt: skip
    assert df["revenue"].iloc[0] == 372.8599999999999, "the report's own frame is not changed"


def test_bilingual_cells_detector():
    df = pd.DataFrame({"band": ["高风险 high risk", "低"], "code": ["Lost", "Champions"], "n": [1, 2]})
    assert bilingual_cells(df) == {"band": ["高风险 high risk"]}
    assert bilingual_cells(df[["code", "n"]]) == {}


def test_columns_file_lists_every_csv_column_with_both_labels(tmp_path):
    import json

    res = tmp_path / "results"
    res.mkdir()
    pd.DataFrame({"user_id": ["a"], "segment": ["Lost"], "zz_unlabelled": [1]}).to_csv(
        res / "rfm_membership.csv", index=False, encoding="utf-8-sig"
    )
    pd.DataFrame({"segment": ["Lost"], "users": [1]}).to_csv(
        res / "rfm_segments.csv", index=False, encoding="utf-8-sig"
    )
    csvs = {"membership": "rfm_membership.csv", "segments": "rfm_segments.csv"}
    (res / "rfm.json").write_text(json.dumps({"csv": csvs}), encoding="utf-8")
    (res / "stray.csv").write_text("nope\n1\n", encoding="utf-8")
    table = columns_table(res)
    assert table["column"].tolist() == ["segment", "user_id", "users", "zz_unlabelled"]
    seg = table.set_index("column").loc["segment"]
    assert (seg["zh"], seg["en"]) == (i18n.t("col.segment", lang="zh"), i18n.t("col.segment", lang="en"))
    assert seg["tables"] == "rfm_membership.csv;rfm_segments.csv"
    assert table.set_index("column").loc["zz_unlabelled", "en"] == "zz_unlabelled"
    path = write_columns_file(res)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and path.name == "columns.csv"
    back = pd.read_csv(path, encoding="utf-8-sig")
    assert back.columns.tolist() == ["column", "zh", "en", "tables"] and len(back) == 4
    assert "nope" not in set(back["column"])


def test_save_results_writes_rounded_csv_and_columns_file(tmp_path):
    from types import SimpleNamespace

    from helpers.report import save_results

    class _Paths:
        results = tmp_path / "results"

        def file(self, rel):
            return tmp_path / rel

    ctx = SimpleNamespace(paths=_Paths(), cfg=SimpleNamespace(campaign="c", title="t"))
    df = pd.DataFrame({"segment": ["Lost"], "revenue": [372.8599999999999], "active": [True]})
    save_results(ctx, "rfm", {}, tables={"segments": df})
    text = (tmp_path / "results" / "rfm_segments.csv").read_text(encoding="utf-8-sig")
    assert text.splitlines() == ["segment,revenue,active", "Lost,372.86,true"]
    cols = pd.read_csv(tmp_path / "results" / "columns.csv", encoding="utf-8-sig")
    assert cols["column"].tolist() == ["active", "revenue", "segment"]
    # a report key that would overwrite the run's own metadata is refused, naming it
    with pytest.raises(AssertionError, match=r"retention: results keys \['period'\] clash"):
        save_results(ctx, "retention", {"period": "week"}, meta={"period": {"start": "2024-01-01"}})


def test_thin_items_note_when_most_items_have_one_buyer():
    """Taobao's sample: 1,636 of 1,653 items bought by one user, and the top item is 4 orders of one buyer. At least
    80 % of at least 20 items with one buyer: say so; otherwise nothing."""
    import pandas as pd

    from helpers.caveats import thin_items_note

    buyers = pd.Series([1] * 1636 + [2] * 16 + [3])
    note = thin_items_note(buyers)
    assert note is not None and "99.0% 的商品（1,653 个中的 1,636 个）只有 1 名买家" in note
    assert thin_items_note(pd.Series([1] * 79 + [2] * 21)) is None  # 79 % with one buyer
    assert thin_items_note(pd.Series([1] * 80 + [2] * 20)) is not None  # 80 %
    assert thin_items_note(pd.Series([1] * 19)) is None  # too few items to say anything
