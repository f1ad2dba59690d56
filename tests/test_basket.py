"""Basket analysis: rule measures on a hand-computed basket, the engine's pair counts against mlxtend and an
independent pandas computation (Online Retail sample), FP-growth item sets, the automatic minimum support, and
the same pair counts on Spark as on DuckDB."""

import math

import numpy as np
import pandas as pd
import pytest

from helpers.basket import (
    auto_min_count,
    basket_items,
    bought_together,
    frequent_itemsets,
    frequent_sets,
    item_counts,
    itemset_rules,
    pair_counts,
    pair_rules,
)
from helpers.products import basket_rules

from .conftest import RETAIL, ROOT, need

# five orders: {A,B}, {A,B,C}, {A}, {B,C}, {C}; B twice in o2 counts once
HAND = pd.DataFrame(
    {
        "order_id": ["o1", "o1", "o2", "o2", "o2", "o2", "o3", "o4", "o4", "o5"],
        "item_id": ["A", "B", "A", "B", "B", "C", "A", "B", "C", "C"],
    }
)


def _rules(lines, **kw):
    bi = basket_items(lines, **kw)
    items, n = item_counts(bi)
    return pair_rules(pair_counts(bi), items, n), items, n


def test_measures_on_a_hand_computed_basket():
    r, items, n = _rules(HAND)
    assert n == 5 and dict(zip(items["item"], items["n"])) == {"A": 3, "B": 3, "C": 3}
    ab = r[(r.antecedent == "A") & (r.consequent == "B")].iloc[0]
    # n_AB = 2 of N = 5; n_A = n_B = 3
    assert ab["n_ab"] == 2 and ab["support"] == pytest.approx(0.4)
    assert ab["confidence"] == pytest.approx(2 / 3)
    assert ab["lift"] == pytest.approx((2 / 3) / (3 / 5))  # 10/9
    assert ab["leverage"] == pytest.approx(0.4 - 0.6 * 0.6)  # 0.04
    assert ab["conviction"] == pytest.approx((1 - 0.6) / (1 - 2 / 3))  # 1.2
    ac = r[(r.antecedent == "A") & (r.consequent == "C")].iloc[0]
    assert ac["n_ab"] == 1 and ac["lift"] == pytest.approx(5 / 9) and ac["leverage"] == pytest.approx(0.2 - 0.36)
    assert ac["conviction"] == pytest.approx(0.4 / (2 / 3))
    assert len(r) == 6  # three pairs, both directions
    assert list(r["lift"]) == sorted(r["lift"], reverse=True)


def test_conviction_is_infinite_when_the_rule_always_holds():
    lines = pd.DataFrame({"order_id": ["1", "1", "2", "2", "3"], "item_id": ["X", "Y", "X", "Y", "Y"]})
    r, _, _ = _rules(lines)
    xy = r[(r.antecedent == "X")].iloc[0]
    assert xy["confidence"] == 1 and math.isinf(xy["conviction"])
    yx = r[(r.antecedent == "Y")].iloc[0]
    assert yx["confidence"] == pytest.approx(2 / 3) and yx["lift"] == pytest.approx(1.0)


def test_every_basket_kind_has_a_name_in_both_languages():
    """The findings name the basket ("1,140 个购物篮（按用户和日期）"), never its code ("按 user_day", as the
    Taobao page read until 2026-12-06)."""
    from helpers import i18n
    from helpers.basket import _BASKET_COLS

    cat = i18n.catalogue()
    for kind in _BASKET_COLS:
        entry = cat.get(f"products.basket.{kind}")
        assert entry and entry.get("zh") and entry.get("en"), kind


def test_session_and_user_day_baskets():
    lines = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u1", "u2", "u2"],
            "ts": pd.to_datetime(
                ["2024-01-01 09:00", "2024-01-01 23:00", "2024-01-02 08:00", "2024-01-01 10:00", "2024-01-01 11:00"]
            ),  # fmt: skip
            "session_id": ["s1", "s2", "s3", "s4", "s4"],
            "item_id": ["A", "B", "A", "A", "B"],
        }
    )
    bi = basket_items(lines, basket="user_day").to_pandas().sort_values(["basket", "item"])
    assert list(bi["basket"]) == ["u1|2024-01-01", "u1|2024-01-01", "u1|2024-01-02", "u2|2024-01-01", "u2|2024-01-01"]
    assert pair_counts(basket_items(lines, basket="user_day")).to_dict("records") == [
        {"item_a": "A", "item_b": "B", "n_ab": 2}
    ]
    assert pair_counts(basket_items(lines, basket="session"))["n_ab"].tolist() == [1]
    with pytest.raises(Exception, match="order_id"):
        basket_items(lines, basket="order")


def _random_baskets(seed=3, n=400, n_items=12):
    rng = np.random.default_rng(seed)
    p = 1 / np.arange(1, n_items + 1)
    p /= p.sum()
    rows = []
    for b in range(n):
        for it in rng.choice(n_items, size=1 + rng.poisson(1.5), p=p):
            rows.append((f"b{b}", f"i{it:02d}"))
            if it == 1 and rng.random() < 0.5:
                rows.append((f"b{b}", "i07"))
    return pd.DataFrame(rows, columns=["order_id", "item_id"])


def test_rules_equal_mlxtend_association_rules():
    from mlxtend.frequent_patterns import association_rules, fpgrowth

    lines = _random_baskets()
    r, items, n = _rules(lines)
    m = pd.crosstab(lines["order_id"], lines["item_id"]).astype(bool)
    assert len(m) == n
    fi = fpgrowth(m, min_support=1 / n - 1e-12, use_colnames=True, max_len=2)
    ar = association_rules(fi, num_itemsets=n, metric="support", min_threshold=0)
    ar = ar[(ar["antecedents"].map(len) == 1) & (ar["consequents"].map(len) == 1)].copy()
    ar["antecedent"] = ar["antecedents"].map(lambda s: next(iter(s)))
    ar["consequent"] = ar["consequents"].map(lambda s: next(iter(s)))
    cols = ["support", "confidence", "lift", "leverage", "conviction"]
    got = r.set_index(["antecedent", "consequent"])[cols].sort_index()
    want = ar.set_index(["antecedent", "consequent"])[cols].sort_index()
    assert got.index.equals(want.index)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9, check_dtype=False)


def test_fpgrowth_itemsets_agree_with_the_engine_and_a_hand_count():
    lines = _random_baskets()
    bi = basket_items(lines)
    items, n = item_counts(bi)
    fi = frequent_itemsets(bi, items, n, min_count=5, max_len=3)
    pairs = pair_counts(bi, min_count=5)
    two = fi[fi["size"] == 2].set_index("itemset")["n_baskets"].sort_index()
    eng = pairs.assign(k=pairs.item_a + " + " + pairs.item_b).set_index("k")["n_ab"].sort_index()
    assert two.to_dict() == eng.to_dict()
    sets = lines.groupby("order_id")["item_id"].agg(set)
    for r in fi[fi["size"] == 3].itertuples():
        want = sum(set(r.itemset.split(" + ")) <= s for s in sets)
        assert r.n_baskets == want >= 5 and r.support == pytest.approx(want / n)
    assert (fi["n_baskets"] >= 5).all()
    assert frequent_itemsets(bi, items, n, min_count=5, max_cells=10) is None  # too large: pairs only


# six orders: {A,B,C} twice, {A,B}, {A,C}, {B,C,D}, {A,B,D}
HAND3 = pd.DataFrame(
    {
        "order_id": ["1"] * 3 + ["2"] * 3 + ["3"] * 2 + ["4"] * 2 + ["5"] * 3 + ["6"] * 3,
        "item_id": list("ABC") + list("ABC") + list("AB") + list("AC") + list("BCD") + list("ABD"),
    }
)


def test_itemset_rules_on_a_hand_computed_basket():
    bi = basket_items(HAND3)
    items, n = item_counts(bi)
    sets = frequent_sets(bi, items, n, min_count=2, max_len=3)
    # only {A,B,C} is in 2 baskets among the triples ({A,B,D} and {B,C,D} in one each)
    assert {s for s in sets if len(s) == 3} == {frozenset("ABC")} and sets[frozenset("ABC")] == 2
    r = itemset_rules(sets, items, n).set_index(["antecedent", "consequent"])
    assert set(r.index) == {("A + B", "C"), ("A + C", "B"), ("B + C", "A")}
    ab_c = r.loc[("A + B", "C")]  # n_AB = 4 (orders 1, 2, 3, 6), n_C = 4 (1, 2, 4, 5), N = 6
    assert (ab_c["n_ab"], ab_c["n_a"], ab_c["n_b"]) == (2, 4, 4)
    assert ab_c["support"] == pytest.approx(2 / 6) and ab_c["confidence"] == pytest.approx(0.5)
    assert ab_c["lift"] == pytest.approx(0.5 / (4 / 6))  # 0.75
    assert ab_c["leverage"] == pytest.approx(2 / 6 - (4 / 6) ** 2)  # -1/9
    assert ab_c["conviction"] == pytest.approx((1 - 4 / 6) / (1 - 0.5))  # 2/3
    ac_b = r.loc[("A + C", "B")]  # n_AC = 3 (1, 2, 4), n_B = 5
    assert ac_b["confidence"] == pytest.approx(2 / 3) and ac_b["lift"] == pytest.approx((2 / 3) / (5 / 6))
    assert ac_b["leverage"] == pytest.approx(2 / 6 - 3 / 6 * 5 / 6) and ac_b["conviction"] == pytest.approx(0.5)
    assert itemset_rules({}, items, n).empty and itemset_rules(None, items, n).empty


def test_frequent_sets_with_fewer_multi_item_baskets_than_the_minimum():
    """A and B are each in 5 or more baskets, but only 2 baskets hold two items: no set of two can reach 5 baskets.
    FP-growth runs on those 2 baskets only and was asked for a support of 5 / 2 (mlxtend refused it, and a one-day
    demo's products report failed)."""
    lines = pd.DataFrame(
        {"order_id": ["1", "1", "2", "2", *"34567", *"89"], "item_id": ["A", "B", "A", "B", *"AAAAA", *"BB"]}
    )
    bi = basket_items(lines)
    items, n = item_counts(bi)
    assert n == 9 and dict(zip(items["item"], items["n"])) == {"A": 7, "B": 4}
    assert frequent_sets(bi, items, n, min_count=4) == {}  # {A, B} is in 2 baskets only
    assert frequent_sets(bi, items, n, min_count=2) == {frozenset("AB"): 2}
    res = basket_rules(HAND3, basket="order", min_support=2 / 6, max_len=3, min_confidence=0.6)
    # B + C -> A: n_BC = 3, n_A = 5: the same confidence and lift as A + C -> B; A + B -> C (0.5) fails
    assert list(res["itemset_rules"]["antecedent"]) == ["A + C", "B + C"]


def test_itemset_rules_equal_an_independent_pandas_count():
    from itertools import combinations

    lines = _random_baskets(seed=7, n=600, n_items=8)
    bi = basket_items(lines)
    items, n = item_counts(bi)
    got = itemset_rules(frequent_sets(bi, items, n, min_count=8, max_len=4), items, n)
    assert len(got) > 10 and got["antecedent"].str.count(" \\+ ").max() == 2  # antecedents of 2 and 3 items
    # independent: every basket as a row of 0/1 columns; a set's count is the rows where all its columns are 1
    x = pd.crosstab(lines["order_id"], lines["item_id"]).clip(upper=1)
    cnt = {}
    for k in (1, 2, 3, 4):
        for s in combinations(sorted(x.columns), k):
            cnt[frozenset(s)] = int(x[list(s)].all(axis=1).sum())
    rows = []
    for s, k in cnt.items():
        if len(s) >= 3 and k >= 8:
            for c in s:
                a = s - {c}
                sa, sc, sup = cnt[a] / len(x), cnt[frozenset([c])] / len(x), k / len(x)
                conf = k / cnt[a]
                conv = (1 - sc) / (1 - conf) if conf < 1 else math.inf
                rows.append((" + ".join(sorted(a)), c, k, sup, conf, conf / sc, sup - sa * sc, conv))
    cols = ["n_ab", "support", "confidence", "lift", "leverage", "conviction"]
    want = pd.DataFrame(rows, columns=["antecedent", "consequent", *cols]).set_index(["antecedent", "consequent"])
    g = got.set_index(["antecedent", "consequent"])[cols].sort_index()
    pd.testing.assert_frame_equal(g, want.sort_index(), check_exact=False, rtol=1e-9, check_dtype=False)


def test_pair_counts_min_count_prunes_without_changing_counts():
    lines = _random_baskets(seed=5)
    bi = basket_items(lines)
    full = pair_counts(bi)
    pruned = pair_counts(bi, min_count=4)
    pd.testing.assert_frame_equal(pruned, full[full["n_ab"] >= 4].reset_index(drop=True))


def test_auto_min_count_rule():
    pairs = pd.DataFrame({"item_a": list("abcdef"), "item_b": list("ghijkl"), "n_ab": [50, 40, 30, 20, 10, 6]})
    assert auto_min_count(pairs, floor=5, rank=3) == 30  # the 3rd most frequent pair's count
    assert auto_min_count(pairs, floor=35, rank=3) == 35  # never below the floor
    assert auto_min_count(pairs, floor=5, rank=100) == 5  # fewer pairs than the rank: the floor
    res = basket_rules(_random_baskets(), basket="order", min_baskets=3)
    assert res["support_rule"] == "auto" and res["min_support"] == pytest.approx(res["min_count"] / res["n_baskets"])
    assert (res["rules"]["n_ab"] >= res["min_count"]).all()
    given = basket_rules(_random_baskets(), basket="order", min_support=0.05, min_confidence=0.3)
    assert given["support_rule"] == "given" and given["min_count"] == math.ceil(0.05 * given["n_baskets"])
    assert (given["rules"]["support"] >= 0.05 - 1e-12).all() and (given["rules"]["confidence"] >= 0.3).all()


def test_bought_together_top_k():
    r, _, _ = _rules(_random_baskets())
    bt = bought_together(r, top_k=2)
    assert bt.groupby("item").size().max() <= 2
    for item, g in bt.groupby("item"):
        best = r[r.antecedent == item].sort_values(["lift", "confidence"], ascending=False).head(2)
        assert list(g["partner"]) == list(best["consequent"]) and list(g["rank"]) == [1, 2][: len(g)]


# ------------------------------------------------------------------------------------------- real data
def _retail_month() -> pd.DataFrame:
    cols = ["Invoice", "StockCode", "Quantity", "InvoiceDate", "Price", "Customer ID"]
    raw = pd.read_csv(RETAIL, dtype=str, keep_default_na=False, usecols=cols)
    raw = raw[raw["InvoiceDate"].str.startswith("2009-12")]
    keep = (~raw["Invoice"].str.startswith("C")) & (raw["Customer ID"] != "")
    keep &= pd.to_numeric(raw["Quantity"], errors="coerce").ge(1) & pd.to_numeric(raw["Price"]).ge(0.001)
    return raw[keep].rename(columns={"Invoice": "order_id", "StockCode": "item_id"})[["order_id", "item_id"]]


@need(RETAIL)
def test_rules_equal_independent_pandas_on_online_retail():
    lines = _retail_month()
    res = basket_rules(lines, basket="order", min_baskets=30)
    got = res["rules"]
    # independent: distinct (invoice, item), self-merge on the invoice, count pairs, measures by their definitions
    d = lines.drop_duplicates()
    n = d["order_id"].nunique()
    cnt = d.groupby("item_id")["order_id"].size()
    m = d.merge(d, on="order_id")
    m = m[m["item_id_x"] != m["item_id_y"]]
    pc = m.groupby(["item_id_x", "item_id_y"]).size().rename("n_ab").reset_index()
    pc = pc[pc["n_ab"] >= res["min_count"]]
    want = pd.DataFrame({"antecedent": pc["item_id_x"], "consequent": pc["item_id_y"], "n_ab": pc["n_ab"]})
    sa, sb = want["antecedent"].map(cnt) / n, want["consequent"].map(cnt) / n
    want["support"] = want["n_ab"] / n
    want["confidence"] = want["n_ab"] / want["antecedent"].map(cnt)
    want["lift"] = want["confidence"] / sb
    want["leverage"] = want["support"] - sa * sb
    want["conviction"] = (1 - sb) / (1 - want["confidence"])
    cols = ["n_ab", "support", "confidence", "lift", "leverage", "conviction"]
    assert res["n_baskets"] == n and len(got) == len(want) > 50
    g = got.set_index(["antecedent", "consequent"])[cols].sort_index()
    w = want.set_index(["antecedent", "consequent"])[cols].sort_index()
    pd.testing.assert_frame_equal(g, w, check_exact=False, rtol=1e-9, check_dtype=False)
    # the k-th pair rule: about AUTO_RANK pairs pass unless the floor is higher
    assert res["min_count"] >= 30


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_spark_pair_counts_equal_duckdb(spark_ibis):
    con = spark_ibis
    session = con._session
    lines = _random_baskets(n=60)
    lines["user_id"] = "u" + (lines.index % 7).astype(str)
    lines["ts"] = pd.Timestamp("2024-01-01 10:00") + pd.to_timedelta(lines.index % 3, unit="D")
    session.createDataFrame(lines).createOrReplaceTempView("basket_lines")
    t = con.table("basket_lines")
    for basket in ("order", "user_day"):
        duck = pair_counts(basket_items(lines, basket=basket), min_count=2)
        spark = pair_counts(basket_items(t, basket=basket), min_count=2)
        pd.testing.assert_frame_equal(spark, duck, check_dtype=False)
        assert item_counts(basket_items(t, basket=basket))[1] == item_counts(basket_items(lines, basket=basket))[1]


def test_fpgrowth_leaves_the_warning_filters_alone():
    """mlxtend's fpcommon sets every DeprecationWarning to "always" for the whole process when imported; that put
    18 lines of a library's deprecation warnings on the products page. frequent_sets restores the filters. A fresh
    interpreter, as a notebook kernel (this test process may have imported mlxtend already)."""
    import subprocess
    import sys

    code = (
        "import warnings, pandas as pd\n"
        "from helpers.basket import basket_items, frequent_sets, item_counts\n"
        "before = list(warnings.filters)\n"
        "lines = pd.DataFrame({'order_id': list('112233'), 'item_id': list('ABABAB')})\n"
        "bi = basket_items(lines)\n"
        "items, n = item_counts(bi)\n"
        "assert frequent_sets(bi, items, n, min_count=2) is not None\n"
        "import mlxtend.frequent_patterns.fpcommon\n"
        "assert warnings.filters == before, warnings.filters[:2]\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
