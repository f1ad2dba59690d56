"""Products: performance per item and category, repurchase within N days (with the censoring cutoff), movers
against the previous window, the report on a small ingested campaign (and unavailable without its section), and
the demo's planted pairs as the top rules by lift."""

import json
import re

import ibis
import pandas as pd
import pytest

from helpers import i18n
from helpers.demo import generate_demo
from helpers.demo_basket import PAIRS
from helpers.params import load_params
from helpers.products import basket_rules, product_movers, product_table, repurchase_table
from helpers.sections_products import ProductsParams
from helpers.trends import windows

from .conftest import RETAIL, need

# (user, order, ts, item, category, amount, quantity)
ROWS = [
    ("u1", "o1", "2024-01-01 10:00", "A", "x", 10.0, 1),
    ("u1", "o1", "2024-01-01 10:00", "B", "y", 20.0, 2),
    ("u1", "o2", "2024-01-05 10:00", "A", "x", 10.0, 1),  # u1 buys A again 4 days later
    ("u2", "o3", "2024-01-02 10:00", "A", "x", 30.0, 3),
    ("u2", "o4", "2024-01-20 10:00", "A", "x", 10.0, 1),  # 18 days later: not within 7 days
    ("u3", "o5", "2024-01-28 10:00", "A", "x", 10.0, 1),  # first purchase after the cutoff: not eligible
    ("u3", "o6", "2024-01-29 10:00", "A", "x", 10.0, 1),
    ("u3", "o5", "2024-01-28 10:00", "C", "x", 5.0, 1),
]


def lines(quantity=True) -> pd.DataFrame:
    df = pd.DataFrame(ROWS, columns=["user_id", "order_id", "ts", "item_id", "category", "amount", "quantity"])
    df["ts"] = pd.to_datetime(df["ts"]).astype("datetime64[us]")
    return df if quantity else df.drop(columns="quantity")


def test_product_table_hand_computed():
    t = product_table(lines()).set_index("item_id")
    assert list(t.index) == ["A", "B", "C"]  # by GMV: A 80, B 20, C 5
    assert t.at["A", "gmv"] == 80 and t.at["A", "orders"] == 6 and t.at["A", "buyers"] == 3 and t.at["A", "lines"] == 6
    assert t.at["A", "avg_price"] == pytest.approx(80 / 8)  # GMV / quantity
    assert t.at["B", "avg_price"] == 10 and t.at["A", "gmv_share"] == pytest.approx(80 / 105)
    assert t.at["C", "category"] == "x"
    nq = product_table(lines(quantity=False)).set_index("item_id")
    assert nq.at["A", "avg_price"] == pytest.approx(80 / 6)  # GMV / lines without a quantity
    c = product_table(lines(), by="category").set_index("category")
    assert c.at["x", "gmv"] == 85 and c.at["x", "orders"] == 6 and c.at["y", "buyers"] == 1


def test_equal_sales_tie_whatever_the_order_of_the_lines():
    """GMV is an exact sum: items P and Q sold 0.1, 0.2 and 0.3 in opposite orders both have 0.6 (as floats one
    would be 0.6000000000000001) and tie, so the next keys order them: buyers, then the item id."""
    rows = [("u1", "o1", "P", 0.1), ("u2", "o2", "P", 0.2), ("u3", "o3", "P", 0.3)]
    rows += [("u1", "o4", "Q", 0.3), ("u2", "o5", "Q", 0.2), ("u3", "o6", "Q", 0.1), ("u4", "o7", "Q", 0.0)]
    df = pd.DataFrame(rows, columns=["user_id", "order_id", "item_id", "amount"])
    t = product_table(df)
    assert t["gmv"].tolist() == [0.6, 0.6] and t["item_id"].tolist() == ["Q", "P"]  # Q has 4 buyers, P 3


def test_repurchase_within_days_and_the_cutoff():
    # period ends 2024-01-31: with 7 days, buyers whose first purchase is on or after 2024-01-25 are not eligible
    r = repurchase_table(lines(), days=7, end_exclusive="2024-02-01").set_index("item_id")
    assert r.at["A", "eligible_buyers"] == 2 and r.at["A", "repurchasers"] == 1  # u1 yes (4 days), u2 no (18 days)
    assert r.at["A", "repurchase_rate"] == 0.5
    assert r.at["C", "eligible_buyers"] == 0 and pd.isna(r.at["C", "repurchase_rate"])
    r30 = repurchase_table(lines(), days=30, end_exclusive="2024-03-01").set_index("item_id")
    assert r30.at["A", "repurchasers"] == 3 and r30.at["A", "eligible_buyers"] == 3  # u3's second order too
    # category x: u3 bought A and C in one order, then A again: a second distinct order within 30 days
    rc = repurchase_table(lines(), by="category", days=30, end_exclusive="2024-03-01").set_index("category")
    assert rc.at["x", "repurchasers"] == 3 and rc.at["y", "repurchasers"] == 0


def test_movers_against_the_previous_window():
    w = windows("2024-01-01", "2024-01-31", compare_days=14)  # current 01-18..01-31, previous 01-04..01-17
    m = product_movers(lines(), w, n=5).set_index("key")
    assert m.at["A", "current"] == 30 and m.at["A", "previous"] == 10 and m.at["A", "abs_change"] == 20
    assert m.at["A", "rel_change"] == 2 and m.at["C", "rel_change"] != m.at["C", "rel_change"]  # NaN from 0
    assert m.at["A", "contribution"] == pytest.approx(20 / 25) and set(m["measure"]) == {"gmv"}
    assert list(m.index) == ["A", "C"]  # B has no line in either window
    no_amount = product_movers(lines().drop(columns="amount"), w, by="category").set_index("key")
    assert no_amount.at["x", "measure"] == "orders" and no_amount.at["x", "current"] == 3
    # no sale in the previous window (data that does not reach back): no movers, not "¥2,208.54, 上期 ¥0.00"
    late = lines()[lines()["ts"] >= "2024-01-18"]
    none = product_movers(late, w)
    assert none.empty and set(none.columns) == set(m.reset_index().columns)


PARAMS = """\
campaign: shop
title: Shop
timezone: Asia/Shanghai
period: {{start: 2024-01-01, end: 2024-01-31}}
tables:
  orders:
    source: {{path: "{path}"}}
    columns: {{user_id: u, order_id: o, ts: t, item_id: i, category: c, amount: a}}
  events:
    derive_from: orders
    event_name: buy
{extra}"""


def _ctx(tmp_path, write_params, extra):
    from helpers.campaign import open_campaign
    from helpers.ingest import ingest_campaign
    from helpers.locations import campaign_paths

    tmp_path.mkdir(parents=True, exist_ok=True)
    csv = tmp_path / "orders.csv"
    df = lines().rename(columns={"user_id": "u", "order_id": "o", "ts": "t", "item_id": "i", "category": "c",
                                 "amount": "a"})  # fmt: skip
    df.drop(columns="quantity").to_csv(csv, index=False)
    p = write_params(PARAMS.format(path=csv.as_posix(), extra=extra))
    reports = tmp_path / "reports"
    ingest_campaign(load_params(p), campaign_paths("shop", reports).ensure(), progress=False)
    return open_campaign("shop", params_file=str(p), reports_dir=str(reports), theme=False)


def test_amounts_in_two_currencies_are_said_by_the_money_reports(tmp_path, write_params):
    """An orders file with ¥ and $ amounts: ingest strips both signs and every report summed yuan and dollars as
    one currency (GMV, RFM's monetary) without a word. The products and RFM findings now say so, with each
    currency's rows (counted by hand: every line of user u1 in dollars, the others in yuan); one currency says
    nothing."""
    from helpers import i18n
    from helpers.registry import run_report

    def ctx_with(amounts, name):
        from helpers.campaign import open_campaign
        from helpers.ingest import ingest_campaign
        from helpers.locations import campaign_paths

        d = tmp_path / name
        d.mkdir()
        df = lines().rename(columns={"user_id": "u", "order_id": "o", "ts": "t", "item_id": "i", "category": "c",
                                     "amount": "a"}).drop(columns="quantity")  # fmt: skip
        df["a"] = amounts(df)
        df.to_csv(d / "orders.csv", index=False)
        p = write_params(PARAMS.format(path=(d / "orders.csv").as_posix(), extra="products: {min_baskets: 1}\n"))
        ingest_campaign(load_params(p), campaign_paths("shop", d / "reports").ensure(), progress=False)
        return open_campaign("shop", params_file=str(p), reports_dir=str(d / "reports"), theme=False)

    dollars = int((lines()["user_id"] == "u1").sum())
    mixed = ctx_with(lambda df: [f"${a}" if u == "u1" else f"¥{a}" for u, a in zip(df["u"], df["a"])], "mixed")
    with i18n.language("zh"):
        for name in ("products", "rfm"):
            rep = run_report(name, mixed, show=False)
            note = [f for f in rep.findings() if "多种货币" in f]
            assert note == [
                f"注意：订单表的金额带有多种货币的符号（CNY {len(lines()) - dollars} 行、USD {dollars} 行），"
                "本报告把它们当作同一种货币相加，金额、客单价等数字混合了不同货币；数据导入报告说明了如何处理。"
            ], name
    with i18n.language("en"):
        rep = run_report("rfm", mixed, show=False)
        assert rep.findings()[1].startswith("Note: the amounts of the orders table carry several currencies' signs")
    yuan = ctx_with(lambda df: [f"¥{a}" for a in df["a"]], "yuan")
    for name in ("products", "rfm"):
        assert not [f for f in run_report(name, yuan, show=False).findings() if "货币" in f or "currenc" in f], name


def test_report_on_a_small_campaign_and_unavailable_without_section(tmp_path, write_params):
    from helpers.registry import run_report
    from tests.styled import styled_rows

    extra = "products: {repurchase_days: 7, min_baskets: 1, compare_days: 14, exclude_items: {fee: [C]}}\n"
    ctx = _ctx(tmp_path, write_params, extra)
    rep = run_report("products", ctx, show=False)
    assert rep.available, rep.findings()
    assert set(rep.tables()) == set(rep.table_names)
    assert "C" not in set(rep.items["item_id"]) and rep.excluded["lines"].tolist() == [1]  # C: one line, shown
    assert any("排除了 1 行非商品记录" in f and "fee 1" in f for f in rep.findings()), rep.findings()
    assert rep.to_results()["excluded"]["lines"] == 1
    assert rep.items.set_index("item_id").at["A", "repurchase_rate"] == 0.5
    # the data ends on 01-29, two days before the period: the movers' windows end with it, and a finding says so
    assert rep.window["current"] == (pd.Timestamp("2024-01-16"), pd.Timestamp("2024-01-30"))
    ended = (
        "数据在 2024-01-29 结束，早于统计期末（2024-01-31）：本报告的窗口都截至数据的最后一天，"
        + "之后的日子不算作没有活动。"
    )
    assert ended in rep.findings()
    # the highest repurchase is named only with BEST_MIN_BUYERS eligible buyers, and the finding says that number
    from helpers.products import BEST_MIN_BUYERS

    assert not any("复购最高" in f for f in rep.findings())  # two eligible buyers of A: too few to name
    saved = rep.items
    rep.items = rep.items.assign(eligible_buyers=BEST_MIN_BUYERS + 5)
    best = rep.items.dropna(subset=["repurchase_rate"]).sort_values("repurchase_rate", ascending=False).iloc[0]
    with i18n.language("en"):
        line = [f for f in rep.findings() if f.startswith("Highest repurchase")]
    assert line and line[0].startswith(f"Highest repurchase ({BEST_MIN_BUYERS} buyers or more): "), line
    assert line[0].endswith(f"{best['repurchase_rate']:.1%} of {BEST_MIN_BUYERS + 5} buyers."), line
    rep.items = saved
    # no quantities in this file: the page leaves out the empty column, the table (and its CSV) keeps it
    shown = rep._show("items").data
    assert (
        rep.items["quantity"].isna().all()
        and "quantity" not in shown
        and {"gmv", "avg_price", "category"} <= set(shown)
    )
    res = rep.to_results()
    assert res["n_baskets"] == 6 and res["basket"] == "order" and res["support_rule"] == "auto"
    json.dumps(res, allow_nan=True)
    r = rep.rules.set_index(["antecedent", "consequent"])
    assert r.at[("A", "B"), "n_ab"] == 1 and r.at[("B", "A"), "confidence"] == 1  # B only in o1, with A
    assert any("常一起买" in f for f in rep.findings())
    with i18n.language("en"):
        assert any("Bought together" in f for f in rep.findings())
    # a mover's two amounts are quoted alike, as the movers table shows them (not 42,548 against 95,690.50)
    rep.movers = pd.DataFrame([{"level": "item", "key": "A", "measure": "gmv", "current": 42548.0,
                                "previous": 95690.5, "abs_change": 42548 - 95690.5, "contribution": 1.0,
                                "rel_change": 42548 / 95690.5 - 1}])  # fmt: skip
    assert any("¥42,548.00，上期 ¥95,690.50（-55.5%）" in f for f in rep.findings()), rep.findings()
    mv = styled_rows(rep._show("movers"))[0]  # the table's row as the finding quotes it: GMV in money
    assert (mv["current"], mv["previous"], mv["abs_change"]) == ("¥42,548.00", "¥95,690.50", "-¥53,142.50")
    rep.movers = rep.movers.assign(measure="orders", current=12.0, previous=30.0, abs_change=-18.0, rel_change=-0.6)
    assert any("12，上期 30（-60.0%）" in f for f in rep.findings()), rep.findings()
    mv = styled_rows(rep._show("movers"))[0]
    assert (mv["current"], mv["previous"], mv["abs_change"]) == ("12", "30", "-18")
    ctx2 = _ctx(tmp_path / "b", write_params, "")
    un = run_report("products", ctx2, show=False)
    assert not un.available and "加上 products: {} 即用默认设置" in un.reason, un.reason
    ctx3 = _ctx(tmp_path / "c", write_params, "products: {}\n")  # what the reason says: the defaults
    assert run_report("products", ctx3, show=False).available


def test_long_tables_say_how_many_rows_the_page_shows_and_link_their_csv(tmp_path, write_params):
    """Items and rules show their first 50 rows, item sets and bought-together their first 100: the page says
    "显示前 50 行，共 120 行" under the table and links its CSV (cut before styling, the demo's page showed 100 of
    its 115 item sets with neither, and never a set of three)."""
    from helpers.page import render_styler, table_csv
    from helpers.registry import run_report

    ctx = _ctx(tmp_path, write_params, "products: {min_baskets: 1}\n")
    rep = run_report("products", ctx, show=False)
    assert rep.available and len(rep.rules) and len(rep.itemsets) and len(rep.bought_together)
    for part, shown in (("items", 50), ("rules", 50), ("itemsets", 100), ("bought_together", 100)):
        setattr(rep, part, pd.concat([getattr(rep, part)] * 120, ignore_index=True).head(120))
        st = rep._show(part)
        csv = table_csv(rep, st)
        assert csv == f"results/products_{part}.csv" and len(st.data) == shown, (part, csv)
        out = render_styler(st, csv=csv).html
        assert f"显示前 {shown} 行，共 120 行；完整数据见 CSV。" in out and f"href='{csv}'" in out, part
    rep.itemsets = rep.itemsets.head(100)  # at the limit: every row, no note
    out = render_styler(rep._show("itemsets"), csv="x.csv").html
    assert "显示前" not in out and "href='x.csv'" in out


def test_basket_parts_without_rows_say_why(tmp_path, write_params):
    """Six baskets and no pair in two of them (min_baskets: 2): the rules, category rules, item sets, rules of three
    and bought-together parts each say what was not found and the basket count it needed (the tianchi page had
    shown five tables of headers only); the findings' sentence is the rules part's, without "置信度不低于 0"."""
    from helpers.registry import run_report

    ctx = _ctx(tmp_path, write_params, "products: {min_baskets: 2}\n")
    rep = run_report("products", ctx, show=False)
    assert rep.available and rep.rules.empty and rep.item_baskets["min_count"] == 2
    shown = {p: rep._show(p) for p in ("rules", "category_rules", "itemsets", "itemset_rules", "bought_together")}
    assert all(type(v).__name__ == "Markdown" for v in shown.values()), shown
    rules = "没有常一起买的商品：没有哪一对商品同时出现在至少 2 个购物篮中，没有规则。"
    assert shown["rules"].data == f"_{rules}_" and rules in rep.findings()
    assert "没有哪一对品类同时出现在至少" in shown["category_rules"].data
    assert "至少 2 个购物篮" in shown["itemsets"].data and "三件商品" in shown["itemset_rules"].data
    assert "没有搭配推荐" in shown["bought_together"].data
    with i18n.language("en"):  # no "1 orders, 1 buyers" on an English page
        said = " ".join(rep.findings())
        assert "top item A: orders 6, buyers 3" in said and "6 baskets (by order)" in said, said
        # an item sold now and not before has no ratio to give: said in words, not "(–)"
        assert "C: GMV ¥5.00 vs ¥0.00 (none before)" in said and "(–)" not in said, said
    assert "C：成交额 GMV ¥5.00，上期 ¥0.00（上期没有）" in " ".join(rep.findings()), rep.findings()
    rep.min_confidence = 0.5
    with i18n.language("en"):
        assert (
            rep._show("rules").data
            == "_No pair of items is in at least 2 baskets (with a confidence of at least 0.5): no rules._"
        )


def test_purchase_events_without_order_ids_are_one_order_per_user_and_time(tmp_path, write_params):
    """An event log with purchase events and no order id (REES46, Taobao): a user's purchases at one instant are
    one order (helpers.features.with_order_ids, as RFM reads them), so the report gives the same items table as
    the orders-table campaign whose orders are exactly those instants (ROWS: o1 and o5 hold two lines each)."""
    from helpers.campaign import open_campaign
    from helpers.ingest import ingest_campaign
    from helpers.locations import campaign_paths
    from helpers.registry import run_report

    extra = "products: {repurchase_days: 7, min_baskets: 1}\n"
    by_orders = run_report("products", _ctx(tmp_path / "o", write_params, extra), show=False)
    csv = tmp_path / "events.csv"
    ev = lines(quantity=False).drop(columns="order_id").assign(e="purchase")
    ev.rename(columns={"user_id": "u", "ts": "t", "item_id": "i", "category": "c", "amount": "a"}).to_csv(csv)
    text = PARAMS.split("tables:")[0].replace("shop", "shop_ev") + (
        f'tables:\n  events:\n    source: {{path: "{csv.as_posix()}"}}\n'
        "    columns: {user_id: u, event: e, ts: t, item_id: i, category: c, amount: a}\n" + extra
    )
    p = write_params(text.replace("{{", "{").replace("}}", "}"))
    reports = tmp_path / "reports"
    ingest_campaign(load_params(p), campaign_paths("shop_ev", reports).ensure(), progress=False)
    ctx = open_campaign("shop_ev", params_file=str(p), reports_dir=str(reports), theme=False)
    rep = run_report("products", ctx, show=False)
    assert rep.available, rep.findings()
    assert rep.source == "events" and by_orders.source == "orders"
    pd.testing.assert_frame_equal(rep.items, by_orders.items)
    assert rep.to_results()["n_baskets"] == by_orders.to_results()["n_baskets"] == 6


def test_params_keys():
    p = ProductsParams(basket="user_day", min_support=0.01)
    assert p.level == "both" and p.top_k == 5
    with pytest.raises(Exception, match="basket"):
        ProductsParams(basket="cart")
    with pytest.raises(Exception, match="extra|unknown|not permitted"):
        ProductsParams(min_suport=0.1)


def test_demo_planted_pairs_are_the_top_rules_by_lift(tmp_path):
    m = generate_demo(tmp_path, n_users=1200)
    planted = m["planted"]["basket"]
    assert planted["pairs"] == [list(p) for p in PAIRS] and planted["p_add"] == 0.6
    ev = pd.read_csv(m["files"]["events"], dtype=str, keep_default_na=False, encoding="utf-8-sig")
    pay = ev[(ev.event_name == "pay") & (ev.item != "") & (ev.order_no != "") & (ev.uid != "")]
    pay = pay.rename(columns={"order_no": "order_id", "item": "item_id"})
    res = basket_rules(pay, basket="order")
    r = res["rules"]
    assert res["multi_item_baskets"] > 3 * sum(planted["paid_added"].values()) / 2  # the background is there too
    assert (r["support"] >= res["min_support"]).all()
    top = {frozenset(x) for x in zip(r["antecedent"].head(2 * len(PAIRS)), r["consequent"].head(2 * len(PAIRS)))}
    assert top == {frozenset(p) for p in PAIRS}
    # each planted pair: the share of A's orders that carry B is near P_ADD (paid orders only)
    for a, b in PAIRS:
        row = r[(r.antecedent == a) & (r.consequent == b)].iloc[0]
        assert 0.3 < row["confidence"] < 0.9 and row["lift"] > 3
    nxt = r.iloc[2 * len(PAIRS) :]["lift"].max()
    assert r.iloc[2 * len(PAIRS) - 1]["lift"] > 2 * nxt
    # every row with an item names it, one name per item (dirty and planted rows too), 60 distinct names
    named = ev[ev.item != ""]
    assert (named.item_name != "").all() and (ev[ev.item == ""].item_name == "").all()
    per = named.groupby("item")["item_name"].nunique()
    assert (per == 1).all() and named["item_name"].nunique() == 60
    assert named.set_index("item")["item_name"].groupby(level=0).first()[["I0001", "I0007"]].tolist() == [
        "纯棉圆领T恤", "丝绒口红"]  # fmt: skip


def test_exclude_items_counts_by_reason_and_validates():
    import ibis

    from helpers.products import exclude_items

    df = lines().assign(item_id=["A", "POST", "A", "TEST001", "A", "A", "POSTX", "C"])
    p = ProductsParams(exclude_items={"postage": ["POST"], "tests": ["re:TEST\\d+"], "never": ["ZZZ"]})
    kept, ex = exclude_items(ibis.memtable(df), p.exclude_rules())
    assert sorted(kept.to_pandas()["item_id"]) == ["A", "A", "A", "A", "C", "POSTX"]  # the regex matches whole codes
    assert ex.to_dict(orient="list") == {"reason": ["postage", "tests"], "lines": [1, 1], "amount": [20.0, 30.0],
                                         "items": ["POST", "TEST001"]}  # fmt: skip
    # the list form: each entry is its own reason
    _, ex2 = exclude_items(ibis.memtable(df), ProductsParams(exclude_items=["POST", "re:P.*"]).exclude_rules())
    assert ex2.set_index("reason")["lines"].to_dict() == {"POST": 1, "re:P.*": 1}  # first matching entry wins
    with pytest.raises(Exception, match=r"products.exclude_items.tests.0: 're:TEST\(' is not a valid regular"):
        ProductsParams(exclude_items={"tests": ["re:TEST("]})


def test_an_exclusion_reason_is_named_in_the_campaigns_language():
    """``reason: {label: {zh, en}, items: [...]}`` names the reason in the campaign's language (an English copy of
    Online Retail showed "运费" on its English page); a plain label and plain codes as given; a bad form, a label
    without the campaign's language and two reasons of one name are errors naming the key."""
    given = {"postage": {"label": {"zh": "运费", "en": "postage"}, "items": ["POST"]}, "样品": ["S"],
             "fees": {"label": "fees", "items": ["re:FEE\\d+"]}}  # fmt: skip
    for lang, want in (("zh", ["运费", "样品", "fees"]), ("en", ["postage", "样品", "fees"])):
        p = ProductsParams.model_validate({"exclude_items": given}, context={"language": lang})
        assert list(p.exclude_items) == want and p.exclude_rules()[0] == (want[0], "POST"), lang
    bad = [({"p": {"label": "x"}}, "products.exclude_items.p: give a list of codes, or label and items"),
           ({"p": {"label": {"zh": "运费"}, "items": ["P"]}}, "a text per language needs the keys zh and en"),
           ({"p": {"label": "运费", "items": ["P"]}, "运费": ["Q"]}, "the reason '运费' is named twice"),
           ({"p": {"label": " ", "items": ["P"]}}, "products.exclude_items.p.label: give a text")]  # fmt: skip
    for v, msg in bad:
        with pytest.raises(Exception, match=re.escape(msg)):
            ProductsParams.model_validate({"exclude_items": v}, context={"language": "en"})


@need(RETAIL)
def test_online_retail_non_product_codes_are_excluded_and_counted():
    import ibis

    from helpers.products import exclude_items

    raw = pd.read_csv(RETAIL, dtype=str, keep_default_na=False)
    keep = (~raw["Invoice"].str.startswith("C")) & (raw["Customer ID"] != "")
    keep &= pd.to_numeric(raw["Quantity"], errors="coerce").ge(1) & pd.to_numeric(raw["Price"]).ge(0.001)
    d = raw[keep].rename(columns={"Invoice": "order_id", "StockCode": "item_id"})
    d = d.assign(amount=pd.to_numeric(d["Quantity"]) * pd.to_numeric(d["Price"]))
    rules = load_params("online_retail").products.exclude_rules()
    kept, ex = exclude_items(ibis.memtable(d[["order_id", "item_id", "amount"]]), rules)
    ex = ex.set_index("reason")
    # independent: the Description of every line, classified by hand from the data (DOT, AMAZONFEE, SAMPLES and
    # the gift vouchers are only on lines without a customer id, which ingest quarantines)
    desc = d.groupby("item_id")["Description"].agg(lambda s: s.value_counts().index[0])
    by_desc = {
        "运费": {"POSTAGE", "CARRIAGE"},
        "手续费": {"Bank Charges"},
        "测试": {"This is a test product."},
    }  # fmt: skip (the reasons in the campaign's language)
    for reason, descs in by_desc.items():
        codes = desc.index[desc.isin(descs)]
        assert ex.at[reason, "lines"] == d["item_id"].isin(codes).sum() > 0, reason
    assert ex.at["调整", "items"] == "ADJUST, ADJUST2, D, M"
    assert ex.at["测试", "items"] == "TEST001, TEST002"
    assert int(ex["lines"].sum()) + int(kept.count().to_pyarrow().as_py()) == len(d)
    # what stays: five-digit stock codes (with a letter suffix) plus a few real products with other codes
    left = pd.Series(sorted(set(kept.to_pandas()["item_id"])))
    odd = set(left[~left.str.fullmatch(r"\d{5}[A-Za-z]{0,3}")])
    assert odd == {"PADS", "SP1002"}, odd


def test_item_names_most_common_name_per_item_ties_to_the_smallest():
    """An item's name is the one on most of its lines; blanks and nulls do not count; a tie goes to the smallest
    name; an item with no name keeps none (and pages show its code)."""
    from helpers.products import item_names

    d = lines().assign(item_name=["Apple", "Bread", "apple pie", "Apple", "  ", None, "apple pie", "Cake"])
    # A: Apple x2, "apple pie" x2 (a tie: "Apple" < "apple pie"), blank and null ignored; B: Bread; C: Cake
    assert item_names(d).to_dict() == {"A": "Apple", "B": "Bread", "C": "Cake"}
    d.loc[d["item_id"] == "B", "item_name"] = None
    t = product_table(d).set_index("item_id")
    assert t.at["A", "item_name"] == "Apple" and t.at["B", "item_name"] is None and t.at["C", "item_name"] == "Cake"
    assert list(product_table(d).columns[:3]) == ["item_id", "item_name", "category"]
    assert "item_name" not in product_table(d, by="category") and item_names(lines()).empty


def test_pages_name_items_with_the_code_aside(tmp_path, write_params):
    """With item names, findings, charts and the item-level tables read 'name（code）' (the CSVs keep the codes);
    an item without a name stays its code; category tables are untouched."""
    from helpers.products import ProductsReport, _with_repurchase, item_label, plot_top_products

    names = {"A": "Apple", "B": "Blueberry muffin with extra long name", "X": "X"}
    assert item_label("A", names) == "Apple（A）" and item_label("C", names) == "C" and item_label("X", names) == "X"
    assert item_label("B", names, width=10) == "Blueberry…（B）"
    with i18n.language("en"):
        assert item_label("A", names) == "Apple (A)"
    named = lines().assign(item_name=lines()["item_id"].map({"A": "Apple", "B": "Bread"}))
    items = _with_repurchase(named, "item_id", 7, pd.Timestamp("2024-02-01"))
    rep = ProductsReport(items=items, movers=pd.DataFrame(
        [{"level": "item", "key": "B", "measure": "gmv", "current": 2.0, "previous": 1.0, "rel_change": 1.0,
          "abs_change": 1.0, "contribution": 1.0},
         {"level": "category", "key": "A", "measure": "gmv", "current": 2.0, "previous": 1.0, "rel_change": 1.0,
          "abs_change": 1.0, "contribution": 1.0}]))  # fmt: skip
    rep.item_baskets = {"support_rule": "auto", "n_baskets": 6, "multi_item_baskets": 1, "min_support": 1 / 6,
                        "min_count": 1}  # fmt: skip
    rep.rules = pd.DataFrame([{"antecedent": "A", "consequent": "B", "n_ab": 1, "support": 1 / 6, "confidence": 1.0,
                               "lift": 2.0}])  # fmt: skip
    rep.itemsets = pd.DataFrame([{"itemset": "A + B + C", "size": 3, "n_baskets": 1, "support": 1 / 6}])
    rep.bought_together = pd.DataFrame([{"item": "A", "rank": 1, "partner": "C", "n_baskets": 1}])
    found = rep.findings()
    assert any("头部商品为 Apple（A）：" in f for f in found), found
    assert any("常一起买：Apple（A）+ Bread（B）：提升度 2.0" in f for f in found), found
    # the first and the second mover, each named as such (two "biggest" movers read as a contradiction)
    assert any("变化最大（商品）Bread（B）" in f for f in found) and any("变化第二大（品类）A：" in f for f in found), (
        found
    )
    with i18n.language("en"):
        said = " ".join(rep.findings())
        assert "Biggest mover (item) Bread (B)" in said and "Second biggest mover (category) A:" in said, said
    assert rep._named_items("itemsets", rep.itemsets)["itemset"].tolist() == ["Apple（A） + Bread（B） + C"]
    bt = rep._named_items("bought_together", rep.bought_together)
    assert bt[["item", "partner"]].values.tolist() == [["Apple（A）", "C"]]
    assert rep._named_items("category_rules", rep.rules)["antecedent"].tolist() == ["A"]  # categories: as they are
    assert rep.rules["antecedent"].tolist() == ["A"]  # the table (and its CSV) keeps the codes
    html = rep._show("items").to_html()  # the name column under its header; whole quantities as integers
    assert i18n.t("col.item_name") == "商品名称" and ">Apple<" in html and ">8<" in html and "8.00" not in html, html
    ax = plot_top_products(rep.items, currency="£")
    assert [x.get_text() for x in ax.get_yticklabels()] == ["C", "Bread（B）", "Apple（A）"]
    assert ax.get_xlabel() == "成交额（£）"  # the axis names the currency


@need(RETAIL)
def test_online_retail_items_are_named_by_their_description():
    """Online Retail maps Description to item_name: each StockCode's name is its most common Description among
    the clean lines, counted here independently with pandas from the raw file."""
    import ibis

    from helpers.products import item_names

    raw = pd.read_csv(RETAIL, dtype=str, keep_default_na=False)
    keep = (~raw["Invoice"].str.startswith("C")) & (raw["Customer ID"] != "")
    keep &= pd.to_numeric(raw["Quantity"], errors="coerce").ge(1) & pd.to_numeric(raw["Price"]).ge(0.001)
    d = raw[keep].rename(columns={"StockCode": "item_id", "Description": "item_name"})[["item_id", "item_name"]]
    got = item_names(ibis.memtable(d))
    d = d.assign(item_name=d["item_name"].str.strip())
    d = d[d["item_name"] != ""]
    n = d.groupby(["item_id", "item_name"]).size().rename("n").reset_index()
    n = n.sort_values(["item_id", "n", "item_name"], ascending=[True, False, True]).drop_duplicates("item_id")
    assert got.to_dict() == dict(zip(n["item_id"], n["item_name"], strict=True))
    assert got["85123A"] == "WHITE HANGING HEART T-LIGHT HOLDER" and got["22352"] == "LUNCH BOX WITH CUTLERY RETROSPOT"
    assert load_params("online_retail").tables.orders.columns["item_name"] == "Description"


def test_return_lines_are_no_order_buyer_or_repurchase():
    """With ``allow_negative_amount`` the orders keep their return lines (Online Retail's "C" credit notes). u2
    returned A the day after buying it, and the return counted as a second order of A within 7 days: A's repurchase
    rate read 100 % instead of 50 %, and the return was an order and a basket. Return lines (a negative amount or
    quantity) are now split off, counted and said; GMV is of purchase lines."""
    from helpers.products import ProductsReport, split_returns

    df = pd.concat([lines(), pd.DataFrame([("u2", "C9", pd.Timestamp("2024-01-03 10:00"), "A", "x", -30.0, -3),
                                           ("u1", "C8", pd.Timestamp("2024-01-06 10:00"), "B", "y", None, -1)],
                                          columns=lines().columns)], ignore_index=True)  # fmt: skip
    df["ts"] = df["ts"].astype("datetime64[us]")
    with_returns = repurchase_table(df, days=7, end_exclusive="2024-02-01").set_index("item_id")
    assert with_returns.at["A", "repurchase_rate"] == 1.0  # the defect: u2's return read as buying A again
    kept, n, amount = split_returns(ibis.memtable(df))
    assert (n, amount) == (2, -30.0)
    kept = kept.to_pandas()
    assert len(kept) == len(ROWS) and not (kept["amount"] < 0).any()
    r = repurchase_table(kept, days=7, end_exclusive="2024-02-01").set_index("item_id")
    assert r.at["A", "repurchase_rate"] == 0.5
    t = product_table(kept).set_index("item_id")
    assert t.at["A", "orders"] == 6 and t.at["A", "gmv"] == 80.0 and t.at["B", "orders"] == 1  # as without returns
    none = split_returns(ibis.memtable(lines()))
    assert none[1:] == (0, None) or (none[1] == 0 and pd.isna(none[2]))
    rep = ProductsReport(returns=(2, -30.0), currency="¥")
    with i18n.language("en"):
        said = [f for f in rep.findings() if "return lines" in f]
    assert said == ["2 return lines (a negative amount or quantity, -¥30.00 in all) are left out of orders, buyers, "
                    "repurchase and baskets; GMV counts purchase lines only."]  # fmt: skip


def test_windows_end_with_the_orders_when_the_lines_are_the_orders(tmp_path, write_params):
    """An orders file that ends two days before the events: the movers' current window ran to the events' end, so
    the days without an order file read as a fall in sales, with no note. When the lines are the orders, products
    now end their windows with the orders' data and say so; the other reports keep the events' end."""
    from helpers.campaign import observed_end
    from helpers.registry import run_report

    ctx = _ctx(tmp_path, write_params, "products: {repurchase_days: 7, min_baskets: 1, compare_days: 14}\n")
    ev = pd.read_parquet(ctx.paths.table("events"))
    late = ev.tail(1).assign(ts=pd.Timestamp("2024-01-31 20:00").as_unit("us"))
    pd.concat([ev, late], ignore_index=True).to_parquet(ctx.paths.table("events"), index=False)
    assert observed_end(ctx)[1] is None  # the events reach the period's end
    end, cut = observed_end(ctx, "orders")
    assert end == pd.Timestamp("2024-01-30") and str(cut[0]) == "2024-01-29"
    rep = run_report("products", ctx, show=False)
    assert rep.window["current"] == (pd.Timestamp("2024-01-16"), pd.Timestamp("2024-01-30"))
    assert any(f.startswith("数据在 2024-01-29 结束，早于统计期末（2024-01-31）") for f in rep.findings())
