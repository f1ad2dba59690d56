"""RFM on a hand-made orders table with known answers, both segment schemes, and Online Retail II
against an independent pandas computation."""
import numpy as np
import pandas as pd
import pytest

from helpers.rfm import rf_heatmap, rfm_scores, rfm_table, score_column, segment_cn8, segment_named

from .conftest import RETAIL, ROOT, need


def orders(rows):
    return pd.DataFrame({"user_id": [r[0] for r in rows], "order_id": [r[1] for r in rows],
                         "ts": pd.to_datetime([r[2] for r in rows]), "amount": [r[3] for r in rows]})


ORD = orders([("a", "o1", "2024-01-01 10:00", 10.0), ("a", "o1", "2024-01-01 10:00", 5.0),  # two lines, one order
              ("a", "o2", "2024-01-09 23:00", 20.0), ("b", "o3", "2024-01-05 09:00", 100.0),
              ("c", "o4", "2024-01-10 08:00", 1.0)])  # single-order customer, last day


def test_rfm_values_by_hand():
    t = rfm_table(ORD).set_index("user_id")
    assert t.attrs["as_of"] == pd.Timestamp("2024-01-11")  # the day after the last order
    assert t.loc["a", ["recency_days", "frequency", "monetary", "tenure_days"]].tolist() == [2, 2, 35.0, 10]
    assert t.loc["a", "aov"] == 17.5
    assert t.loc["b", ["recency_days", "frequency", "monetary"]].tolist() == [6, 1, 100.0]
    assert t.loc["c", ["recency_days", "frequency", "tenure_days"]].tolist() == [1, 1, 1]
    t2 = rfm_table(ORD, as_of="2024-01-20").set_index("user_id")
    assert t2.loc["c", "recency_days"] == 10


def test_scores_with_heavy_ties_are_deterministic_equal_bins():
    v = pd.Series([1] * 6 + [2, 3, 4, 5])
    ids = pd.Series([f"u{i}" for i in range(10)])
    s, used = score_column(v, tiebreak=ids)
    assert used == 5 and s.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]  # rank first (ties by id), then equal-count cut
    s2, _ = score_column(v.iloc[::-1].reset_index(drop=True), tiebreak=ids.iloc[::-1].reset_index(drop=True))
    assert sorted(s2.tolist()) == sorted(s.tolist())
    r, _ = score_column(pd.Series([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), reverse=True)
    assert r.tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_fewer_bins_when_few_distinct_values():
    s, used = score_column(pd.Series([1, 1, 2, 2, 2]))
    assert used == 2 and s.tolist() == [3, 3, 5, 5, 5]
    scored = rfm_scores(rfm_table(ORD))
    assert scored.attrs["bins"]["F"] == 2 and any("F" in n for n in scored.attrs["notes"])


def test_named_segments_first_match_wins():
    df = pd.DataFrame({"user_id": list("abcdefghijk"),
                       "r_score": [5, 3, 5, 3, 2, 2, 1, 2, 1, 1, 3],
                       "fm_score": [5, 4, 1, 1, 2.5, 1.5, 4.5, 3, 1, 1.5, 2]})
    assert segment_named(df).tolist() == ["Champions", "Loyal", "New", "Promising", "Need Attention",
                                          "About To Sleep", "Can't Lose Them", "Loyal", "Lost", "Hibernating",
                                          "Potential Loyalist"]


def test_cn8_scheme_against_means():
    t = pd.DataFrame({"recency_days": [1, 10, 1, 10], "frequency": [5, 5, 1, 1], "monetary": [100.0, 100, 100, 1]})
    # means: R 5.5, F 3, M 75.25
    assert segment_cn8(t).tolist() == ["重要价值客户", "重要保持客户", "重要发展客户", "一般挽留客户"]
    no_m = t.assign(monetary=np.nan)  # M replaced by F
    assert segment_cn8(no_m).tolist() == ["重要价值客户", "重要保持客户", "一般发展客户", "一般挽留客户"]


def test_heatmap_counts_everyone():
    sc = rfm_scores(rfm_table(ORD))
    assert int(rf_heatmap(sc).to_numpy().sum()) == 3


@need(RETAIL)
def test_online_retail_rfm_against_independent_pandas(tmp_path):
    from helpers.ingest import ingest_campaign
    from helpers.params import load_params
    from helpers.paths import campaign_paths

    cfg = load_params(ROOT / "params" / "online_retail.yaml")
    paths = campaign_paths("online_retail", tmp_path)
    ingest_campaign(cfg, paths, progress=False)
    ours = rfm_table(pd.read_parquet(paths.table("orders"))).set_index("user_id")
    raw = pd.read_csv(RETAIL, dtype={"Customer ID": str, "Invoice": str, "StockCode": str})
    raw = raw.drop_duplicates()
    raw = raw[raw["Customer ID"].notna() & ~raw.Invoice.str.startswith("C") & (raw.Quantity >= 1) & (raw.Price >= 0.001)]
    raw["amount"] = raw.Quantity * raw.Price
    raw = raw[(raw.amount >= 0) & (raw.amount <= 100000)]
    raw["ts"] = pd.to_datetime(raw.InvoiceDate)
    raw["cid"] = raw["Customer ID"].str.replace(r"\.0$", "", regex=True)
    as_of = raw.ts.max().normalize() + pd.Timedelta(days=1)
    g = raw.groupby("cid")
    exp = pd.DataFrame({"recency_days": (as_of - g.ts.max().dt.normalize()).dt.days, "frequency": g.Invoice.nunique(),
                        "monetary": g.amount.sum()})
    assert len(ours) == len(exp) == 4312
    exp = exp.loc[ours.index]
    assert (ours.recency_days == exp.recency_days).all() and (ours.frequency == exp.frequency).all()
    assert np.allclose(ours.monetary, exp.monetary)
