"""Ingest on Spark (``engine: spark``, helpers/ingest_spark.py) gives what DuckDB ingest gives: the same clean rows
(compared sorted) and the same quarantine counts per reason, on hand-made tricky values, files of the input-file
corpus (tests/corpus.py), the demo and the real Taobao sample. One SparkSession for the module, local[1]."""

import json
import re
import sys

import pandas as pd
import pytest

from helpers.errors import ParamsError
from helpers.ingest import ingest_campaign
from helpers.ingest_spark import spark_unsupported, strptime_to_spark, to_spark_sql
from helpers.locations import campaign_paths
from helpers.params import load_params
from helpers.tracking import PLAN_CHECKS_FILE
from helpers.values import num_sql, row_order_id_sql, ts_sql

from .conftest import TAOBAO, need
from .corpus import cases, write_case
from .test_spark import _why_no_spark


def on_spark(test):
    """Mark a test that runs Spark (``-m spark``; one xdist worker for all Spark tests)."""
    return pytest.mark.spark(pytest.mark.xdist_group("spark")(test))


# ------------------------------------------------------------------------------------------- no Spark needed
@pytest.mark.parametrize(
    ("fmt", "want"),
    [
        ("%Y-%m-%d %H:%M:%S", ["yyyy-MM-dd HH:mm:ss"]),
        ("%Y-%m-%dT%H:%M:%S.%f", ["yyyy-MM-dd'T'HH:mm:ss.SSSSSS"]),
        ("%Y年%m月%d日 %H:%M", ["yyyy'年'MM'月'dd'日 'HH:mm"]),
        ("%d/%m/%Y %H:%M%z", ["dd/MM/yyyy HH:mmXXX", "dd/MM/yyyy HH:mmXX"]),
        ("%Y%m%d", ["yyyyMMdd"]),
    ],
)
def test_strptime_to_spark(fmt, want):
    assert strptime_to_spark(fmt) == want


def test_strptime_to_spark_refuses_unknown_directives():
    with pytest.raises(ValueError, match="%a"):
        strptime_to_spark("%a %Y")


@pytest.mark.parametrize(
    "sql",
    [
        ts_sql("x", source_tz="UTC", campaign_tz="Asia/Shanghai"),
        ts_sql("x", fmt="%d/%m/%Y %H:%M", source_tz="Asia/Shanghai", campaign_tz="Asia/Shanghai"),
        num_sql("x"),
        num_sql("x", decimal=","),
        row_order_id_sql("u", "t"),
    ],
    ids=["ts_auto", "ts_format", "num_dot", "num_comma", "order_id"],
)
def test_transpiled_sql_has_no_duckdb_only_function(sql):
    out = to_spark_sql(f"SELECT {sql} AS v FROM t").upper()
    for name in ("REGEXP_FULL_MATCH", "ISFINITE", "TIMEZONE(", "TRY_STRPTIME", "FROM_UNIXTIME", "\\1"):
        assert name not in out, name


def test_unsupported_settings_are_named(write_params, tmp_path):
    # the demo (JSON lines, identity from login events, a tracking plan file) is ingested on Spark as it is
    assert spark_unsupported(load_params("params/demo.yaml")) == []
    for name in ("e.csv", "ids.csv"):
        (tmp_path / name).write_text("user_id,event,ts\n", encoding="utf-8")
    p = write_params(
        "campaign: refused\ntitle: r\ntimezone: UTC\nperiod: {start: 2024-01-01, end: 2024-01-31}\nengine: spark\n"
        f"identity: {{mapping: {{path: {tmp_path / 'ids.csv'}}}}}\n"
        "privacy: {pseudonymize_user_ids: true, key_env: UBAKIT_TEST_KEY}\n"
        f"tables:\n  events:\n    source: {{path: {tmp_path / 'e.csv'}}}\n"
        '    derive: {day: "left(ts, 10)"}\n'
    )
    keys = [k for k, _ in spark_unsupported(load_params(p))]
    assert keys == ["identity.mapping", "tables.events.derive"]


def test_unsupported_settings_stop_ingest_before_any_work(write_params, tmp_path):
    (tmp_path / "e.csv").write_text("user_id,event,ts\nu1,view,2024-01-02 10:00:00\n", encoding="utf-8")
    p = write_params(
        "campaign: refused\ntitle: r\ntimezone: UTC\nperiod: {start: 2024-01-01, end: 2024-01-31}\nengine: spark\n"
        f'tables:\n  events:\n    source: {{path: {tmp_path / "e.csv"}}}\n    derive: {{day: "left(ts, 10)"}}\n'
    )
    cfg = load_params(p)
    paths = campaign_paths(cfg.campaign, tmp_path / "reports")
    with pytest.raises(ParamsError, match=r"tables\.events\.derive.*engine: spark"):
        ingest_campaign(cfg, paths, progress=False)
    assert not paths.table("events").exists()


# ------------------------------------------------------------------------------------------- Spark vs DuckDB
@pytest.fixture(scope="module")
def spark():
    why = _why_no_spark()
    if why:
        pytest.skip(why)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.pyspark.python", sys.executable)
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def _both(tmp_path, text: str) -> dict:
    """Ingest the campaign ``text`` (with ENGINE for the engine) on DuckDB and on Spark; per engine the reports and
    the campaign paths."""
    out = {}
    for engine in ("duckdb", "spark"):
        d = tmp_path / engine
        (d / "params").mkdir(parents=True)
        name = re.search(r"campaign: *(\S+)", text).group(1)
        p = d / "params" / f"{name}.yaml"
        p.write_text(text.replace("ENGINE", engine), encoding="utf-8")
        cfg = load_params(p)
        paths = campaign_paths(cfg.campaign, d / "reports")
        out[engine] = (ingest_campaign(cfg, paths, progress=False), paths)
    return out


def _assert_same(res: dict, tables: list[str]) -> None:
    (rd, pd_), (rs, ps) = res["duckdb"], res["spark"]
    for t in tables:
        a, b = rd[t], rs[t]
        assert (a.rows_in, a.rows_out, a.reasons) == (b.rows_in, b.rows_out, b.reasons), t
        assert a.bad_numbers == b.bad_numbers, t  # the columns and values named, read from either quarantine
        assert a.event_losses == b.event_losses, t
        assert a.currencies == b.currencies, t  # ¥ and $ in one amount column, counted on the raw rows
        ca, cb = pd.read_parquet(pd_.table(t)), pd.read_parquet(ps.table(t))
        assert list(ca.columns) == list(cb.columns) and ca.dtypes.to_dict() == cb.dtypes.to_dict(), t
        ca, cb = (x.sort_values(list(x.columns), ignore_index=True) for x in (ca, cb))
        pd.testing.assert_frame_equal(ca, cb, check_exact=False, rtol=1e-12)
        qa, qb = (pd.read_parquet(p.quarantine / f"{t}.parquet") for p in (pd_, ps))
        key = ["reason", "source_row"]
        qa, qb = (x[key].sort_values(key, ignore_index=True) for x in (qa, qb))  # NaN: a reader's reject
        pd.testing.assert_frame_equal(qa, qb, check_dtype=False, obj=t)


TRICKY = """user,event,ts,amount,status
u1,view,2024-03-01 10:00:00,12.5,ok
u1,view,2024-03-01 10:00:00,12.5,ok
u2,buy,2024-03-02T08:30:00Z,"1,200.50",ok
u3,buy,2024-03-02 09:00:00+08,１２.５,ok
u4,buy,2024/03/03 11:00,¥8,ok
u5,buy,2024年03月04日 12:00:00,(5.00),ok
u6,buy,1709600000,12元,ok
u7,buy,1709600000123,RMB 12,ok
u8,buy,20240305,"1,5",ok
u9,buy,2024-03-05 UTC,inf,ok
u10,buy,2024-02-30 10:00:00,1,ok
u11,buy,2024-03-06 10:00,1e308,ok
NULL,view,2024-03-06 10:00,,ok
u12,share,2024-03-06 10:00,,ok
u13,buy,2023-03-06 10:00,3,ok
u14,buy,2024-03-06 10:00:00.250,-3,ok
u15,buy,2024-03-06 10:00,200000,ok
u16,buy,2024-03-07 10:00,NaN,cancelled
u17, view ,2024-03-07 11:00:00.5,\\N,ok
u18,view,2024-03-07 12:00:00 +0800,-,ok
u19,view,2024/03/08 10:00:00.123,,ok
u20,view,2024/03/08 11,,ok
u21,view,2024/03/08T12:00:00,,ok
u22,view,2024/03/08T13:00:00.5,,ok
u23,view,2024/03/08T14:30,,ok
u24,buy,2024-03-08 15:00,$3,ok
u25,buy,2024-03-08 16:00,50¢,ok
u26,buy,2024-03-08 17:00,HK$ 8,ok
"""


@on_spark
def test_tricky_values(spark, tmp_path):
    """Every cleaning rule and value form of docs/cleaning.md, on both engines."""
    (tmp_path / "e.csv").write_text(TRICKY, encoding="utf-8")
    text = f"""
campaign: tricky
title: tricky
timezone: Asia/Shanghai
period: {{start: 2024-03-01, end: 2024-03-31}}
engine: ENGINE
tables:
  events:
    source: {{path: "{tmp_path / "e.csv"}"}}
    columns: {{user_id: user, event: event, ts: ts, amount: amount}}
    events: [view, buy]
    max_amount: 100000
    rules: [{{column: status, equals: cancelled, reason: cancelled}}]
"""
    res = _both(tmp_path, text)
    _assert_same(res, ["events"])
    reasons = res["spark"][0]["events"].reasons
    # ¥8, 12元, RMB 12 (１２.５ is a full-width number, not a currency); $3; HK$ 8; 50¢; read as numbers, so summed
    # as one.
    # With cents, the rows read as numbers without a sign: 12.5 twice, 1,200.50, １２.５, (5.00), 1, 3, -3, 200000
    assert res["spark"][0]["events"].currencies == [
        {"column": "amount", "source": "amount", "currencies": [["CNY", 3], ["HKD", 1], ["USD", 1], ["¢", 1], ["", 9]]}
    ]
    clean = pd.read_parquet(res["spark"][1].table("events"))
    slash = clean[clean.user_id.isin(["u19", "u20", "u21", "u22", "u23"])].sort_values("user_id").ts.tolist()
    assert slash == [  # the '/' forms parse like their '-' twins
        pd.Timestamp(t)
        for t in [
            "2024-03-08 10:00:00.123",
            "2024-03-08 11:00",
            "2024-03-08 12:00",
            "2024-03-08 13:00:00.5",
            "2024-03-08 14:30",
        ]
    ]
    assert reasons == {
        "bad_number": 2,  # 1,5 with decimal '.', and 1e308 (inf sits on a row whose ts is bad already)
        "bad_timestamp": 2,  # 2024-02-30, and '2024-03-05 UTC' (an offset needs a time)
        "cancelled": 1,
        "duplicate": 1,
        "implausible_amount": 1,
        "missing_user_id": 1,
        "negative_amount": 2,
        "out_of_period": 1,
        "unknown_event": 1,
    }


@on_spark
def test_decimal_comma_guess(spark, tmp_path):
    """A ';' CSV with decimal commas: the guess (helpers.values.guess_decimal) runs on Spark through the same SQL."""
    body = (
        "user;event;ts;amount\nu1;buy;2024-03-01 10:00;1,5\nu2;buy;2024-03-01 11:00;1.200,50\nu3;buy;2024-03-02;2,25\n"
    )
    (tmp_path / "e.csv").write_text(body, encoding="utf-8")
    text = f"""
campaign: comma
title: comma
timezone: Asia/Shanghai
period: {{start: 2024-03-01, end: 2024-03-31}}
engine: ENGINE
tables:
  events:
    source: {{path: "{tmp_path / "e.csv"}"}}
    columns: {{user_id: user, event: event, ts: ts, amount: amount}}
"""
    res = _both(tmp_path, text)
    _assert_same(res, ["events"])
    got = pd.read_parquet(res["spark"][1].table("events"))["amount"].tolist()
    assert sorted(got) == [1.5, 2.25, 1200.5]


CORPUS = {c.name: c for c in cases(big=False)}


@on_spark
@pytest.mark.parametrize(
    "name",
    [
        "csv_quoted_newline",
        "csv_no_header",
        "csv_field_3mb",
        "txt_whitespace_aligned",
        "jsonl_mixed_types",
        "csv_cr_cr_lf",
    ],
)
def test_corpus_files(spark, tmp_path, name):
    case = CORPUS[name]
    path = write_case(case, tmp_path / "raw")
    text = f"""
campaign: corpus
title: corpus
timezone: Asia/Shanghai
period: {{start: 2024-01-01, end: 2024-01-31}}
engine: ENGINE
tables:
  events:
    source: {json.dumps({"path": str(path), **case.source})}
    columns: {json.dumps(case.columns)}
"""
    res = _both(tmp_path, text)
    _assert_same(res, ["events"])
    assert res["spark"][0]["events"].rows_out == case.rows_out


@on_spark
def test_demo(spark, tmp_path):
    """The demo's events (UTF-8 with BOM) and reviews (GB18030, Chinese headers), generated small."""
    from helpers.demo import generate_demo

    raw = tmp_path / "raw"
    generate_demo(raw, seed=7, n_users=300, start="2024-03-01", days=60)
    text = f"""
campaign: demo_small
title: demo
timezone: Asia/Shanghai
period: {{start: 2024-03-01, end: 2024-04-29}}
engine: ENGINE
tables:
  events:
    source: {{path: "{raw / "events.csv"}"}}
    columns: {{user_id: uid, event: event_name, ts: event_time, session_id: session, item_id: item, category: category,
               amount: price, channel: channel, platform: platform, order_id: order_no}}
    events: [launch, search, view, fav, cart, order, pay, login]
    max_amount: 100000
  orders: {{derive_from: events, where_event: [pay]}}
  reviews:
    source: {{path: "{raw / "reviews.csv"}"}}
    columns: {{review_id: 评论ID, user_id: 用户, item_id: 商品, item_name: 商品名称, category: 品类, rating: 评分,
               text: 评论内容, ts: 评论时间}}
  users:
    source: {{path: "{raw / "users.jsonl"}"}}
    columns: {{signup_ts: signup_time}}
identity: {{login_event: login, anonymous_col: anonymous_id, anonymous_regex: "^anon_"}}
tracking: {{plan_file: params/tracking/demo_tracking_plan.yaml, on_violation: flag}}
"""
    res = _both(tmp_path, text)
    _assert_same(res, ["events", "reviews", "users"])
    ev = res["spark"][0]["events"]
    assert ev.rows_out > 10_000 and sum(ev.reasons.values()) > 0 and res["spark"][0]["reviews"].encoding == "gb18030"
    assert res["spark"][0]["users"].format == "jsonl"
    # identity: the same stitching (the clean events above carry it) and the same counts
    ids = [json.loads((res[k][1].data / "_ingest.json").read_text())["identity"] for k in ("duckdb", "spark")]
    for d in ids:
        d.pop("seconds")
    assert ids[0] == ids[1] and ids[0]["stitched_rows"] > 0
    # the tracking plan's counts per day, event, property and kind
    a, b = (pd.read_parquet(res[k][1].data / PLAN_CHECKS_FILE) for k in ("duckdb", "spark"))
    assert len(a) > 0 and (a["kind"] != "rows").any() and (a["kind"] != "filled").any()
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert any("tracking plan" in n for n in ev.notes)
    a, b = (pd.read_parquet(res[k][1].table("orders")) for k in ("duckdb", "spark"))
    pd.testing.assert_frame_equal(
        a.sort_values(list(a.columns), ignore_index=True), b.sort_values(list(b.columns), ignore_index=True)
    )


PRIVATE = """user,anonymous_id,event,ts,amount,phone
anon_1,,view,2024-03-01 10:00:00,,13800000001
anon_1,,cart,2024-03-01 10:05:00,,13800000001
U1,anon_1,login,2024-03-01 10:06:00,,13800000001
U1,,buy,2024-03-01 10:07:00,12.5,13800000001
U2,,view,2024-03-02 10:00:00,,13800000002
U2,,view,not a time,,13800000002
U2,anon_2,login,2024-03-02 10:01:00,,13800000002
anon_2,,view,2024-03-02 09:00:00,,
anon_3,,view,2024-03-02 11:00:00,,
U3,,buy,2024-03-03 10:00:00,-1,13800000003
"""


@on_spark
def test_privacy_and_identity(spark, tmp_path, monkeypatch):
    """Pseudonyms (HMAC-SHA256 written in Spark SQL), a hidden column and identity stitching with pseudonymous
    anonymous ids: the same clean rows, quarantine and identity counts as DuckDB ingest."""
    from helpers.privacy import pseudonym

    monkeypatch.setenv("UBAKIT_TEST_PSEUDO_KEY", "a-test-key-of-32-characters-0001")
    (tmp_path / "raw").mkdir()
    src = tmp_path / "raw" / "events.csv"
    src.write_text(PRIVATE, encoding="utf-8")
    text = f"""
campaign: private
title: private
timezone: Asia/Shanghai
period: {{start: 2024-03-01, end: 2024-03-31}}
engine: ENGINE
tables:
  events:
    source: {{path: "{src}"}}
    columns: {{user_id: user, event: event, ts: ts, amount: amount}}
    events: [view, cart, login, buy]
identity: {{login_event: login, anonymous_col: anonymous_id, anonymous_regex: "^anon_"}}
privacy: {{pseudonymize_user_ids: true, key_env: UBAKIT_TEST_PSEUDO_KEY, hide_columns: [phone]}}
"""
    res = _both(tmp_path, text)
    _assert_same(res, ["events"])
    key = b"a-test-key-of-32-characters-0001"
    clean = pd.read_parquet(res["spark"][1].table("events"))
    assert set(clean["user_id"]) == {pseudonym(u, key) for u in ("U1", "U2", "anon_3")}
    assert set(clean["original_user_id"]) == {pseudonym(u, key) for u in ("U1", "U2", "anon_1", "anon_2", "anon_3")}
    qa, qb = (pd.read_parquet(res[k][1].quarantine / "events.parquet") for k in ("duckdb", "spark"))
    assert "phone" not in qb.columns and qb["raw_line"].isna().all()
    pd.testing.assert_frame_equal(qa, qb, check_dtype=False)
    assert set(qb["user"]) == {pseudonym("U2", key), pseudonym("U3", key)}
    ids = [json.loads((res[k][1].data / "_ingest.json").read_text()) for k in ("duckdb", "spark")]
    for d in ids:
        d["identity"].pop("seconds")
    assert ids[0]["identity"] == ids[1]["identity"] and ids[0]["identity"]["stitched_rows"] == 3  # anon_1 x2, anon_2
    assert ids[0]["privacy"] == ids[1]["privacy"]


@on_spark
@need(TAOBAO)
def test_taobao(spark, tmp_path):
    text = f"""
campaign: taobao_small
title: taobao
timezone: Asia/Shanghai
period: {{start: 2017-11-25, end: 2017-12-03}}
engine: ENGINE
tables:
  events:
    source: {{path: "{TAOBAO}"}}
    columns: {{user_id: user_id, event: behavior_type, ts: timestamp, item_id: item_id, category: category_id}}
    events: [pv, fav, cart, buy]
"""
    res = _both(tmp_path, text)
    _assert_same(res, ["events"])
    assert res["spark"][0]["events"].reasons == {"out_of_period": 35}
