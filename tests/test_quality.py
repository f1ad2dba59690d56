"""The ingest report's numbers on a hand-made clean table and hand-made ingest reports."""

import pandas as pd
import pytest

from helpers import i18n
from helpers.ingest import TableReport
from helpers.quality import (
    daily_activity,
    ingest_findings,
    ingest_headline,
    ingest_summary,
    key_column,
    main_table,
    null_rates,
    quarantine_sample,
    reason_table,
    top_values,
)


@pytest.fixture
def clean(tmp_path):
    df = pd.DataFrame(
        {
            "user_id": ["a", "a", "b", "c", "c"],
            "event": ["pv", "buy", "pv", "pv", "pv"],
            "ts": pd.to_datetime(
                ["2024-01-01 09:00", "2024-01-01 23:59", "2024-01-02 00:00", "2024-01-02 10:00", "2024-01-04 10:00"]
            ),
            "amount": [None, 5.0, None, None, None],
        }
    )
    p = tmp_path / "events.parquet"
    df.to_parquet(p)
    return p


def _rep(table="events", rows_in=10, rows_out=5, reasons=None, derived=None, path=""):
    return TableReport(
        table=table,
        files=["/x/e.csv"],
        format="csv",
        encoding="utf-8",
        rows_in=rows_in,
        rows_out=rows_out,
        reasons=reasons or {},
        columns=[],
        extra_columns=[],
        ts_min="2024-01-01 09:00:00",
        ts_max="2024-01-04 10:00:00",
        users=3,
        path=str(path),
        quarantine_path=None,
        seconds=0.1,
        derived_from=derived,
    )


def test_daily_activity_counts_local_days(clean):
    d = daily_activity(clean)
    assert d.day.dt.strftime("%Y-%m-%d").tolist() == ["2024-01-01", "2024-01-02", "2024-01-04"]
    assert d.rows.tolist() == [2, 2, 1] and d.users.tolist() == [1, 2, 1]


def test_top_values_and_nulls(clean):
    t = top_values(clean, "event")
    assert t.value.tolist() == ["pv", "buy"] and t.rows.tolist() == [4, 1] and t.share.tolist() == [0.8, 0.2]
    assert top_values(clean, "nope").empty
    n = null_rates(clean).set_index("column")
    assert n.loc["amount", "nulls"] == 4 and n.loc["amount", "null_share"] == 0.8 and n.loc["user_id", "nulls"] == 0


def test_summary_reasons_findings():
    reps = {
        "events": _rep(reasons={"duplicate": 3, "out_of_period": 2}),
        "orders": _rep("orders", 1, 1, derived="events"),
    }
    s = ingest_summary(reps)
    assert s.loc[0, "kept_share"] == 0.5 and s.loc[0, "quarantined"] == 5 and s.loc[1, "source"] == "由事件表派生"
    r = reason_table(reps)
    assert r.reason.tolist() == ["duplicate", "out_of_period"] and r.share_of_input.tolist() == [0.3, 0.2]
    f = ingest_findings(reps, timezone="Asia/Shanghai")
    assert "保留 5 行（50.0%）" in f[0] and "重复行 3、不在分析周期内 2" in f[1] and "Asia/Shanghai" in f[-1]
    # tables by their names in the campaign's language, not by code
    assert f[0].startswith("**事件表**：输入 10 行") and f[1].startswith("**事件表**隔离 5 行")  # no space
    assert "**订单表**：1 行，由清洗后的事件表派生。" in f
    # what the reader assumed reaches the page after the table's counts; a technical note stays in the manifest
    reps["events"].notes = [{"key": "ingest.note_lenient", "table": "events", "file": "ev.csv"}, "ingested on Spark"]
    f = ingest_findings(reps)
    assert f[2].startswith("注意：事件表：ev.csv 的 CSV 格式无法严格识别，已宽松读取") and "Spark" not in " ".join(f)
    assert f[2].endswith("请设置 tables.events.source.delimiter。")
    h = {x["label"]: x for x in ingest_headline(reps)}
    assert h["事件表隔离比例"]["text"] == "50.0%" and "事件表清洗后行数" in h
    with i18n.language("en"):
        f = ingest_findings(reps, timezone="Asia/Shanghai")
        assert (
            f[0] == "**Events**: 10 rows in, 5 clean (50.0%), 3 users, 2024-01-01 to 2024-01-04."
            and f[-1] == "All times are Asia/Shanghai local time."
        )
        # a count after its reason's words: "duplicate row 3" read as row number 3
        assert f[1] == "**Events** quarantined 5 rows (50.0%): duplicate row: 3, outside the period: 2."
        assert "events quarantined" in {x["label"] for x in ingest_headline(reps)}
    assert main_table(reps) == "events" and key_column("orders") == "item_id"
    assert quarantine_sample(reps["events"]).empty


def test_missing_value_reasons_name_the_column_in_words():
    """A required column's missing value reads as a word in each language ("缺少时间", not "缺少 ts"); any other
    column falls back to its display name."""
    from helpers.quality import reason_label

    assert [reason_label(c) for c in ("missing_ts", "missing_text", "missing_order_id", "missing_user_id")] == [
        "缺少时间",
        "缺少评论文本",
        "缺少订单号",
        "缺少用户 ID",
    ]
    assert reason_label("missing_channel") == "缺少 渠道" and reason_label("no_such_code") == "no_such_code"
    with i18n.language("en"):
        assert reason_label("missing_ts") == "no time" and reason_label("missing_text") == "no review text"


def test_findings_sum_the_reasons_past_five():
    """Five reasons are all named; past five, the fifth on are summed, so the parts add up to the total (the line
    once ended "缺少用户 ID 12 …。")."""
    five = {"duplicate": 308, "out_of_period": 37, "unknown_event": 15, "missing_user_id": 12, "bad_timestamp": 9}
    f = ingest_findings({"events": _rep(rows_in=1000, rows_out=613, reasons=five)})
    assert f[1].endswith("重复行 308、不在分析周期内 37、未知事件 15、缺少用户 ID 12、时间无法解析 9。")
    six = {**five, "bad_number": 6}
    f = ingest_findings({"events": _rep(rows_in=1000, rows_out=613, reasons=six)})
    assert f[1].endswith("重复行 308、不在分析周期内 37、未知事件 15、缺少用户 ID 12、其他 2 种原因 15。")
    assert "…" not in f[1] and 308 + 37 + 15 + 12 + 15 == 387
    with i18n.language("en"):
        f = ingest_findings({"events": _rep(rows_in=1000, rows_out=613, reasons=six)})
        want = "duplicate row: 308, outside the period: 37, unknown event: 15, no user id: 12, 2 other reasons: 15."
        assert f[1].endswith(want)


def test_a_rules_label_names_its_reason_on_pages_and_the_files_keep_the_code(tmp_path, write_params):
    """Online Retail's ingest finding read "cancelled_invoice 9,816" in a Chinese sentence: a rule's ``label``
    names its reason in the findings, the reasons table and chart, and the quarantine sample; the quarantine file
    and the results keep the code. A rule without a label keeps the code on pages too."""
    from helpers.ingest import ingest_campaign
    from helpers.locations import campaign_paths
    from helpers.params import load_params
    from helpers.quality import _worded, reason_labels

    src = tmp_path / "o.csv"
    src.write_text("inv,u,t,a\n1,a,2024-01-02 10:00,5\nC2,a,2024-01-02 11:00,5\n3,b,2024-01-03 10:00,0\n", "utf-8")
    p = write_params(f"""
campaign: rl
title: t
period: {{start: 2024-01-01, end: 2024-01-31}}
tables:
  orders:
    source: {{path: "{src.as_posix()}"}}
    columns: {{order_id: inv, user_id: u, ts: t, amount: a}}
    rules:
      - {{reason: cancelled_invoice, label: 已取消的发票, column: inv, starts_with: C}}
      - {{reason: zero_price, column: a, lt: 0.001}}
""")
    paths = campaign_paths("rl", tmp_path / "r")
    reps = ingest_campaign(load_params(p), paths, progress=False)
    assert reps["orders"].reasons == {"cancelled_invoice": 1, "zero_price": 1}
    assert reps["orders"].reason_labels == {"cancelled_invoice": "已取消的发票"}
    said = ingest_findings(reps)[1]
    assert "已取消的发票 1" in said and "zero_price 1" in said and "cancelled_invoice" not in said, said
    shown = _worded(reason_table(reps), reason_labels(reps))["reason"].tolist()
    assert sorted(shown) == ["zero_price", "已取消的发票"]
    assert set(pd.read_parquet(paths.quarantine / "orders.parquet")["reason"]) == {"cancelled_invoice", "zero_price"}
    sample = _worded(quarantine_sample(reps["orders"]), reps["orders"].reason_labels)
    assert "已取消的发票" in set(sample["reason"])
    # a label per language: the campaign's language is kept (an English copy of Online Retail read "已取消的发票")
    text = p.read_text("utf-8").replace("label: 已取消的发票", "label: {zh: 已取消的发票, en: cancelled invoice}")
    for lang, want in (("zh", "已取消的发票"), ("en", "cancelled invoice")):
        p.write_text(text.replace("title: t", f"title: t\nlanguage: {lang}"), "utf-8")
        assert load_params(p).spec("orders").rules[0].label == want, lang
    # a plain Chinese label on an English page: the rule's reason instead, as the tracking plan's display names
    with i18n.language("en"):
        assert sorted(_worded(reason_table(reps), reason_labels(reps))["reason"]) == ["cancelled_invoice", "zero_price"]
        assert "已取消的发票" not in ingest_findings(reps)[1]


def test_event_names_spelt_several_ways_are_found_and_said(tmp_path):
    """ "view" / "View" / "VIEW" and "add_to_cart" / "addToCart" count as different events in every analysis: the
    ingest findings name each group (by hand below, most rows first) and the key that maps them to one name; a
    name spelt one way only is not a group."""
    from helpers.quality import VARIANTS_SHOWN, name_variants

    p = tmp_path / "events.parquet"
    names = ["view"] * 5 + ["View"] * 2 + ["VIEW"] + ["add_to_cart"] * 3 + ["addToCart", "add-to-cart"] + ["pay"] * 9
    pd.DataFrame({"event": [*names, None]}).to_parquet(p)
    got = name_variants(p)
    assert got == [
        [{"value": "view", "rows": 5}, {"value": "View", "rows": 2}, {"value": "VIEW", "rows": 1}],
        [{"value": "add_to_cart", "rows": 3}, {"value": "add-to-cart", "rows": 1}, {"value": "addToCart", "rows": 1}],
    ]
    assert name_variants(p, "channel") == []  # no such column
    reps = {"events": _rep(reasons={})}
    with i18n.language("zh"):
        said = ingest_findings(reps, variants=got)[1]
        assert said == (
            "有 2 组事件名只差大小写、空格、下划线或连字符，各按不同的事件计算：view 5 / View 2 / VIEW 1、"
            "add_to_cart 3 / add-to-cart 1 / addToCart 1。"
            "若是同一事件，请在 tables.events.values.event 中映射为同一个名字。"
        )
    with i18n.language("en"):
        one = ingest_findings(reps, variants=got[:1])[1]
        assert one.startswith("Event names that differ only in case") and "view: 5 / View: 2 / VIEW: 1." in one
        many = ingest_findings(reps, variants=got * 3)[1]
        assert many.startswith("6 groups of event names") and f"(and {6 - VARIANTS_SHOWN} more)" in many
    assert ingest_findings(reps, variants=[]) == ingest_findings(reps)


def test_undeclared_events_are_named_with_their_rows(tmp_path, write_params):
    """Rows of events not in ``tables.events.events`` are quarantined as unknown events; the findings name them
    by their source value with rows (by hand: share 2, View 1), and ``View`` as a spelling of the declared ``view``;
    the results keep them. Without an events list there is nothing to name."""
    from helpers.ingest import ingest_campaign
    from helpers.locations import campaign_paths
    from helpers.params import load_params
    from helpers.quality import _unknown

    src = tmp_path / "e.csv"
    rows = ["a,view,2024-03-01 10:00", "b,View,2024-03-01 10:05", "d,share,2024-03-01 11:00",
            "d,share,2024-03-01 11:30", "e,buy,2024-03-01 12:00"]  # fmt: skip
    src.write_text("uid,action,time\n" + "\n".join(rows) + "\n", "utf-8")
    text = f"""
campaign: ue
title: t
period: {{start: 2024-03-01, end: 2024-03-31}}
tables:
  events:
    source: {{path: "{src.as_posix()}"}}
    columns: {{user_id: uid, event: action, ts: time}}
    events: [view, buy]
"""
    cfg = load_params(write_params(text))
    reps = ingest_campaign(cfg, campaign_paths("ue", tmp_path / "r"), progress=False)
    got = _unknown(cfg, reps)
    assert got == {"top": [{"value": "share", "rows": 2}, {"value": "View", "rows": 1}], "names": 2,
                   "like": {"View": "view"}}  # fmt: skip
    with i18n.language("zh"):
        said = ingest_findings(reps, unknown=got)[2]
        assert said == (
            "不在 tables.events.events 列表中、按未知事件隔离的事件：share 2、View 1。若要分析它们，请加入该列表。"
            "其中 View 与 view 只是写法不同，可在 tables.events.values.event 中映射。"
        )
    with i18n.language("en"):
        said = ingest_findings(reps, unknown=got)[2]
        assert said.startswith("Events not in the tables.events.events list, quarantined as unknown events: share: 2")
        assert said.endswith(
            "Of these, View (for view) differ only in spelling: map them in tables.events.values.event."
        )
    free = load_params(
        write_params(text.replace("    events: [view, buy]\n", "").replace("campaign: ue", "campaign: uf"))
    )
    assert _unknown(free, ingest_campaign(free, campaign_paths("uf", tmp_path / "r"), progress=False)) == {}


def test_unreadable_numbers_name_null_values_as_the_fix():
    """ "--" in the amount column quarantined 159 pay events as bad_number and the funnel read it as users dropping
    out, with nothing on the ingest page pointing to source.null_values, which keeps such rows. A finding now does,
    once per table that has bad_number rows."""
    from helpers import i18n
    from helpers.quality import ingest_findings

    with i18n.language("en"):
        said = ingest_findings({"events": _rep(reasons={"bad_number": 3, "duplicate": 2})})
        hint = [f for f in said if "bad_number" in f]
        assert len(hint) == 1 and hint[0].startswith("3 rows were quarantined because a number could not be read")
        assert "tables.events.source.null_values" in hint[0]
        assert not [f for f in ingest_findings({"events": _rep(reasons={"duplicate": 5})}) if "null_values" in f]
    with i18n.language("zh"):
        assert any("请把它们加到 tables.events.source.null_values" in f for f in ingest_findings({"events": _rep(
            reasons={"bad_number": 3})}))  # fmt: skip


def test_duplicate_user_ids_in_the_users_table_are_said(tmp_path):
    """A users file with 15 user ids on two rows each (a "thirty" age, then the real one) was ingested without a
    word, and the user profile silently kept the first row of each. The ingest page now says how many ids repeat
    and which row the profile uses."""
    from helpers import i18n
    from helpers.quality import duplicate_ids_note, ingest_findings

    p = tmp_path / "users.parquet"
    pd.DataFrame({"user_id": ["u1", "u1", "u2", "u3", "u3", "u3"], "city": list("abcdef")}).to_parquet(p)
    note = duplicate_ids_note(p, "users")
    assert note == {"key": "ingest.note_duplicate_ids", "table": "users", "ids": "2", "rows": "5"}
    pd.DataFrame({"user_id": ["u1", "u2"]}).to_parquet(p)
    assert duplicate_ids_note(p, "users") is None and duplicate_ids_note(tmp_path / "none.parquet", "users") is None
    rep = _rep(table="users")
    rep.notes = [note]
    with i18n.language("en"):
        said = " ".join(ingest_findings({"users": rep}))
    assert "2 user ids appear more than once in the users table (5 rows): the user profile uses the first row" in said


def test_duplicate_review_ids_are_said(tmp_path):
    """A reviews file with a review id on two rows (an edited review exported twice, with two texts) was ingested
    without a word, and sentiment counted it twice. The ingest page now says how many ids repeat; the count is by
    hand."""
    from helpers import i18n
    from helpers.quality import duplicate_ids_note, ingest_findings

    p = tmp_path / "reviews.parquet"
    pd.DataFrame({"review_id": ["r1", "r1", "r2", "r3", "r3", "r4"], "text": list("abcdef")}).to_parquet(p)
    note = duplicate_ids_note(p, "reviews")
    assert note == {"key": "ingest.note_duplicate_reviews", "table": "reviews", "ids": "2", "rows": "4"}
    assert duplicate_ids_note(p, "users") is None  # the users' key is user_id: not in this file
    rep = _rep(table="reviews")
    rep.notes = [note]
    with i18n.language("en"):
        said = " ".join(ingest_findings({"reviews": rep}))
    assert "2 review ids appear more than once in the reviews table (4 rows): each row is scored and counted" in said
    with i18n.language("zh"):
        said = " ".join(ingest_findings({"reviews": rep}))
    assert "有 2 个评论 ID 出现了不止一次（共 4 行）" in said


def test_shared_order_ids_and_buyers_without_events_are_said(tmp_path):
    """An orders file whose order ids restart per shop (o1 of user a and o1 of user b) and whose buyers include users
    the events never saw was ingested without a word: RFM counted the order for both users, products put their items
    in one basket, and the funnel missed the buyers. The ingest page now says both, counted here by hand; derived
    tables get neither note."""
    from helpers import i18n
    from helpers.locations import campaign_paths
    from helpers.quality import ingest_findings, orders_notes

    paths = campaign_paths("notes", tmp_path / "reports")
    paths.data.mkdir(parents=True)
    pd.DataFrame({"user_id": ["a", "a", "b", "c", "c", "d"], "order_id": ["o1", "o1", "o1", "o2", "o3", "o2"],
                  "amount": 1.0}).to_parquet(paths.table("orders"))  # fmt: skip
    pd.DataFrame({"user_id": ["a", "c", "x"], "event": "view"}).to_parquet(paths.table("events"))
    reps = {"orders": _rep(table="orders"), "events": _rep()}
    notes = orders_notes(paths, reps)
    assert notes == [
        {"key": "ingest.note_shared_orders", "ids": "2", "rows": "5"},  # o1: a, a, b; o2: c, d
        {"key": "ingest.note_buyers_without_events", "n": "2", "of": "4", "share": "50.0%"},  # b and d
    ]
    reps["orders"].notes = notes
    with i18n.language("en"):
        said = " ".join(ingest_findings(reps))
    assert "2 order ids in the orders table belong to more than one user (5 rows)" in said
    assert "2 of the 4 buyers in the orders table (50.0%) have no event in the events table" in said
    with i18n.language("zh"):
        said = " ".join(ingest_findings(reps))
    assert (
        "有 2 个订单号属于不止一位用户（共 5 行）" in said
        and "有 2 位买家（共 4 位，50.0%）在事件表中没有任何事件" in said
    )
    assert orders_notes(paths, {"orders": _rep(table="orders", derived="events"), "events": _rep()}) == []
    assert orders_notes(paths, {"orders": _rep(table="orders"), "events": _rep(derived="orders")})[1:] == []
