"""Ingest on hand-made files: each encoding and format, each bad-row reason with exact counts,
timestamp parsing and time zones, errors that name the file/column, raw input untouched."""

import gzip
import hashlib
import json
import textwrap

import duckdb
import pandas as pd
import pytest

from helpers.ingest import IngestError, detect_encoding, ingest_campaign, transcode_to_utf8, ts_sql
from helpers.locations import campaign_paths
from helpers.params import load_params

from .conftest import RETAIL, ROOT, TAOBAO, TIANCHI, need

HEADER = "用户,事件,时间,金额,单号\n"
# every row but the first six is dirty for exactly one reason
ROWS = [
    "u1,浏览,2024-01-02 10:00:00,,",  # ok
    "u1,加购,2024-01-02 10:05:00,12.5,",  # ok
    "u2,浏览,2024-01-03 09:00:00,,",  # ok
    "u2,下单,2024-01-03 09:10:00,99,C100",  # cancelled (rule)
    "u3,浏览,2024/01/04 08:00,,",  # ok (other format)
    'u3,下单,2024-01-04 08:30:00,"1,200.00",A1',  # ok (thousands separator)
    "u1,浏览,2024-01-02 10:00:00,,",  # duplicate of row 1
    "u1,浏览,2024-01-02 10:00:00,,",  # duplicate of row 1 again
    ",浏览,2024-01-02 11:00:00,,",  # missing_user_id
    "u4,,2024-01-02 11:00:00,,",  # missing_event
    "u4,浏览,,,",  # missing_ts
    "u4,浏览,yesterday,,",  # bad_timestamp
    "u4,浏览,2024-13-45 10:00:00,,",  # bad_timestamp
    "u4,加购,2024-01-05 10:00:00,abc,",  # bad_number
    "u4,浏览,2023-12-31 23:59:59,,",  # out_of_period (one second before)
    "u4,浏览,2024-02-01 00:00:00,,",  # out_of_period (first second after)
    "u4,浏览,2024-01-31 23:59:59,,",  # ok: last second of the period
    "u5,加购,2024-01-06 10:00:00,-3,",  # negative_amount
    "u5,下单,2024-01-06 10:00:00,2000000,B2",  # implausible_amount
    "u5,调试,2024-01-06 10:00:00,,",  # unknown_event
]
EXPECTED_REASONS = {
    "duplicate": 2,
    "missing_user_id": 1,
    "missing_event": 1,
    "missing_ts": 1,
    "bad_timestamp": 2,
    "bad_number": 1,
    "cancelled": 1,
    "out_of_period": 2,
    "negative_amount": 1,
    "implausible_amount": 1,
    "unknown_event": 1,
}

PARAMS = """
campaign: {name}
title: 测试
timezone: Asia/Shanghai
period: {{start: 2024-01-01, end: 2024-01-31}}
tables:
  events:
    source: {{path: "{path}", encoding: {enc}}}
    columns: {{user_id: 用户, event: 事件, ts: 时间, amount: 金额, order_id: 单号}}
    values: {{event: {{浏览: view, 加购: cart, 下单: order}}}}
    events: [view, cart, order]
    max_amount: 100000
    rules:
      - {{reason: cancelled, column: 单号, starts_with: C}}
"""


def _campaign(tmp_path, write_params, path, *, name="t", enc="auto", extra=""):
    p = write_params(PARAMS.format(name=name, path=path, enc=enc) + extra)
    cfg = load_params(p)
    paths = campaign_paths(cfg.campaign, tmp_path / "reports")
    return cfg, paths


def _write(tmp_path, name, encoding, gz=False):
    data = (HEADER + "\n".join(ROWS) + "\n").encode(encoding)
    p = tmp_path / (name + (".gz" if gz else ""))
    if gz:
        with gzip.open(p, "wb") as fh:
            fh.write(data)
    else:
        p.write_bytes(data)
    return p


def _sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "encoding,gz,detected",
    [
        ("utf-8", False, "utf-8"),
        ("utf-8-sig", False, "utf-8-sig"),
        ("gb18030", False, "gb18030"),
        ("gbk", False, "gb18030"),
        ("gbk", True, "gb18030"),
        ("utf-8", True, "utf-8"),
    ],
)
def test_every_encoding_gives_the_same_clean_table(tmp_path, write_params, encoding, gz, detected):
    src = _write(tmp_path, "events.csv", encoding, gz)
    before = _sha(src)
    assert detect_encoding(src) == detected
    cfg, paths = _campaign(tmp_path, write_params, src)
    rep = ingest_campaign(cfg, paths, progress=False)["events"]
    assert rep.encoding == detected
    assert rep.rows_in == len(ROWS)
    assert rep.reasons == EXPECTED_REASONS
    assert rep.rows_out == len(ROWS) - sum(EXPECTED_REASONS.values()) == 6
    clean = pd.read_parquet(paths.table("events"))
    assert list(clean.user_id) == ["u1", "u1", "u2", "u3", "u3", "u4"]
    assert list(clean.event) == ["view", "cart", "view", "view", "order", "view"]
    assert clean.amount.tolist()[1] == 12.5 and clean.amount.tolist()[4] == 1200.0
    assert str(clean.ts.iloc[3]) == "2024-01-04 08:00:00"
    assert str(clean.ts.iloc[5]) == "2024-01-31 23:59:59"
    assert _sha(src) == before, "raw input must never be modified"


def test_quarantine_keeps_raw_values_and_reason(tmp_path, write_params):
    src = _write(tmp_path, "events.csv", "gb18030")
    cfg, paths = _campaign(tmp_path, write_params, src)
    ingest_campaign(cfg, paths, progress=False)
    q = pd.read_parquet(paths.quarantine / "events.parquet")
    assert q.reason.value_counts().to_dict() == EXPECTED_REASONS
    assert set(q.columns) >= {"reason", "source_file", "source_row", "用户", "事件", "时间", "金额", "单号"}
    row = q[q.reason == "bad_number"].iloc[0]
    assert row["金额"] == "abc" and row["事件"] == "加购" and row.source_row == 14
    assert q[q.reason == "duplicate"].source_row.tolist() == [7, 8]
    csv = (paths.quarantine / "events.csv").read_bytes()
    assert csv.startswith(b"\xef\xbb\xbf") and "调试".encode() in csv
    # the CSV holds the Parquet file's rows, in its order (it is written from it)
    as_csv = pd.read_csv(paths.quarantine / "events.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    whole = q.astype({"source_row": "Int64", "source_line": "Int64"})  # numbers of lines, as the CSV writes them
    as_text = whole.astype(object).where(whole.notna(), "").astype(str)
    assert list(as_csv.columns) == list(q.columns) and as_csv.equals(as_text), (as_csv, as_text)
    manifest = json.loads((paths.data / "_ingest.json").read_text(encoding="utf-8"))
    assert manifest["tables"]["events"]["reasons"] == EXPECTED_REASONS


def test_rules_and_dedupe_can_be_turned_off(tmp_path, write_params):
    src = _write(tmp_path, "events.csv", "utf-8")
    cfg, paths = _campaign(tmp_path, write_params, src)
    cfg.spec("events").dedupe = False
    cfg.spec("events").allow_negative_amount = True
    rep = ingest_campaign(cfg, paths, progress=False)["events"]
    assert "duplicate" not in rep.reasons and "negative_amount" not in rep.reasons
    assert rep.rows_out == 6 + 2 + 1


def test_glob_of_files_excel_parquet_jsonl(tmp_path, write_params):
    df = pd.DataFrame(
        {
            "用户": ["a", "b", "c"],
            "事件": ["浏览", "加购", "下单"],
            "时间": ["2024-01-02 10:00:00", "2024-01-03 10:00:00", "2024-01-04 10:00:00"],
            "金额": ["", "5", "7"],
            "单号": ["", "", "X1"],
        }
    )
    d = tmp_path / "parts"
    d.mkdir()
    df.iloc[:2].to_csv(d / "p1.csv", index=False)
    df.iloc[2:].to_csv(d / "p2.csv", index=False)
    results = {}
    for fmt, path in [("glob", d / "p*.csv")]:
        cfg, paths = _campaign(tmp_path, write_params, path, name="g")
        results[fmt] = ingest_campaign(cfg, paths, progress=False)["events"]
    assert results["glob"].rows_out == 3 and len(results["glob"].files) == 2
    df.to_excel(tmp_path / "e.xlsx", index=False)
    df.to_parquet(tmp_path / "e.parquet", index=False)
    df.to_json(tmp_path / "e.jsonl", orient="records", lines=True, force_ascii=False)
    for i, name in enumerate(["e.xlsx", "e.parquet", "e.jsonl"]):
        cfg, paths = _campaign(tmp_path, write_params, tmp_path / name, name=f"f{i}")
        rep = ingest_campaign(cfg, paths, progress=False)["events"]
        assert rep.rows_out == 3, name
        clean = pd.read_parquet(paths.table("events"))
        assert clean.event.tolist() == ["view", "cart", "order"], name
        assert clean.amount.tolist()[1:] == [5.0, 7.0], name


def test_missing_column_error_names_file_and_suggests(tmp_path, write_params):
    src = tmp_path / "events.csv"
    src.write_text("用户,事件,时刻,金额,单号\nu1,浏览,2024-01-02 10:00:00,,\n", encoding="utf-8")
    cfg, paths = _campaign(tmp_path, write_params, src)
    with pytest.raises(IngestError) as ei:
        ingest_campaign(cfg, paths, progress=False)
    msg = str(ei.value)
    assert "tables.events.columns.ts" in msg and "'时间'" in msg and str(src) in msg and "时刻" in msg


def test_bad_encoding_is_explained(tmp_path):
    src = tmp_path / "x.csv"
    src.write_bytes("a,b\n好,1\n".encode("gb18030") + b"\xff\xff\n")
    with pytest.raises(IngestError, match="not valid utf-8 near byte"):
        transcode_to_utf8(src, tmp_path / "y.csv", "utf-8")


@pytest.mark.parametrize(
    "value,fmt,src_tz,expected",
    [
        ("1511544070", "auto", "Asia/Shanghai", "2017-11-25 01:21:10"),  # epoch s is UTC
        ("1511544070123", "auto", "Asia/Shanghai", "2017-11-25 01:21:10.123"),
        ("1511544070", "epoch_s", "Asia/Shanghai", "2017-11-25 01:21:10"),
        ("2019-10-01 00:00:00 UTC", "auto", "Asia/Shanghai", "2019-10-01 08:00:00"),
        ("2019-10-01T00:00:00Z", "auto", "Asia/Shanghai", "2019-10-01 08:00:00"),
        ("2019-10-01 00:00:00+02:00", "auto", "Asia/Shanghai", "2019-10-01 06:00:00"),
        ("2024-03-01 12:30:00", "auto", "Asia/Shanghai", "2024-03-01 12:30:00"),  # naive = already local
        ("2024-03-01 12:30:00", "auto", "UTC", "2024-03-01 20:30:00"),  # naive in source tz UTC
        ("2014-12-06 02", "auto", "Asia/Shanghai", "2014-12-06 02:00:00"),
        ("2024年3月1日", "auto", "Asia/Shanghai", "2024-03-01 00:00:00"),
        ("01/03/2024 07:45", "%d/%m/%Y %H:%M", "Asia/Shanghai", "2024-03-01 07:45:00"),
        ("not a time", "auto", "Asia/Shanghai", None),
        ("2024-02-30 10:00:00", "auto", "Asia/Shanghai", None),
    ],
)
def test_timestamp_parsing(value, fmt, src_tz, expected):
    sql = ts_sql("x", fmt=fmt, source_tz=src_tz, campaign_tz="Asia/Shanghai")
    got = duckdb.connect().execute(f"SELECT CAST(({sql}) AS VARCHAR) FROM (SELECT '{value}' AS x)").fetchone()[0]
    assert got == expected


# every dash form of docs/cleaning.md, each "also with `/` for `-`": one value per dash entry of _NAIVE_FORMATS
DASH_FORMS = [
    ("2024-03-01 10:20:30", "2024-03-01 10:20:30"),
    ("2024-03-01 10:20:30.123", "2024-03-01 10:20:30.123"),
    ("2024-03-01T10:20:30", "2024-03-01 10:20:30"),
    ("2024-03-01T10:20:30.5", "2024-03-01 10:20:30.5"),
    ("2024-03-01 10:20", "2024-03-01 10:20:00"),
    ("2024-03-01T10:20", "2024-03-01 10:20:00"),
    ("2024-03-01 10", "2024-03-01 10:00:00"),
    ("2024-03-01", "2024-03-01 00:00:00"),
]


@pytest.mark.parametrize("sep", ["-", "/"])
@pytest.mark.parametrize("value,expected", DASH_FORMS)
def test_timestamp_slash_forms_parse_like_dash_forms(value, expected, sep):
    value = value.replace("-", sep)
    test_timestamp_parsing(value, "auto", "Asia/Shanghai", expected)
    sql = ts_sql("x", source_tz="UTC", campaign_tz="Asia/Shanghai")  # naive in a source time zone: converted
    got = duckdb.connect().execute(f"SELECT {sql} FROM (SELECT '{value}' AS x)").fetchone()[0]
    assert got == pd.Timestamp(expected) + pd.Timedelta(hours=8)


def test_timestamp_dash_forms_all_have_slash_twins():
    from helpers.values import _NAIVE_FORMATS

    dash = [f for f in _NAIVE_FORMATS if f.startswith("%Y-%m-%d")]
    slash = [f for f in _NAIVE_FORMATS if f.startswith("%Y/%m/%d")]
    assert slash == [f.replace("-", "/") for f in dash]
    assert len(dash) == len(DASH_FORMS)  # one DASH_FORMS value per form


@pytest.mark.parametrize(
    "value,expected",
    [
        ("2024/03/01 10:00:00", "2024-03-01 10:00:00"),  # accepted before: unchanged
        ("2024/03/01 10:00", "2024-03-01 10:00:00"),  # not read as hour 10 with ':00' left over
        ("2024/03/01", "2024-03-01 00:00:00"),
        ("2024/03/01 10:00:00.000123", "2024-03-01 10:00:00.000123"),
        ("2024/3/1 9", "2024-03-01 09:00:00"),  # like 2024-3-1 9
        ("2024-3-1 9", "2024-03-01 09:00:00"),
        ("2024/03/01T10", None),  # no dash twin (2024-03-01T10 is refused too)
        ("2024-03-01T10", None),
        ("2024/02/30 10", None),  # impossible date
        ("2024/03/01 10:00:00+08:00", None),  # offsets only on ISO (dash) forms
        ("2024-03/01 10:00", None),  # mixed separators
    ],
)
def test_timestamp_slash_forms_edges(value, expected):
    test_timestamp_parsing(value, "auto", "Asia/Shanghai", expected)


def test_derived_orders_and_value_mapping(tmp_path, write_params):
    src = tmp_path / "t.csv"
    src.write_text(
        "user_id,behavior_type,time\n1,1,2014-12-01 10\n1,4,2014-12-01 11\n2,4,2014-12-02 09\n"
        "2,4,2014-12-02 09\n3,5,2014-12-03 00\n",
        encoding="utf-8",
    )
    text = textwrap.dedent(f"""
    campaign: tc
    title: t
    period: {{start: 2014-11-18, end: 2014-12-18}}
    tables:
      events:
        source: {{path: "{src}"}}
        columns: {{user_id: user_id, event: behavior_type, ts: time}}
        values: {{event: {{"1": pv, "2": fav, "3": cart, "4": buy}}}}
        events: [pv, fav, cart, buy]
      orders: {{derive_from: events, where_event: [buy]}}
    """)
    cfg = load_params(write_params(text))
    paths = campaign_paths("tc", tmp_path / "r")
    reps = ingest_campaign(cfg, paths, progress=False)
    assert reps["events"].reasons == {"duplicate": 1, "unknown_event": 1}
    orders = pd.read_parquet(paths.table("orders"))
    assert orders.user_id.tolist() == ["1", "2"] and orders.order_id.nunique() == 2
    assert orders.amount.isna().all() and reps["orders"].notes


def test_derived_orders_follow_the_one_purchase_rule(tmp_path, write_params):
    """An orders table derived from events has the order ids that RFM and the other reports give purchase events
    read directly (helpers.features.with_order_ids): the event's own order id, else one order per user and instant.
    It had been md5(user|time|item), so a two-item purchase at one instant was two orders there and one order
    here (the Taobao sample: 1,749 buy rows, 1,579 user-instants)."""
    import ibis

    from helpers.features import with_order_ids

    src = tmp_path / "ev.csv"
    src.write_text(
        "u,e,t,i,o\n"
        "1,buy,2024-03-01 10:00:00,A,\n"  # A and B at one instant: one order
        "1,buy,2024-03-01 10:00:00,B,\n"
        "1,buy,2024-03-02 09:30:00,A,\n"
        "2,buy,2024-03-01 11:00:00,C,x9\n"  # its own order id
        "2,buy,2024-03-01 11:00:00,D,x10\n"
        "2,pv,2024-03-01 12:00:00,C,\n",
        encoding="utf-8",
    )
    text = textwrap.dedent(f"""
    campaign: oid
    title: t
    period: {{start: 2024-03-01, end: 2024-03-31}}
    tables:
      events:
        source: {{path: "{src}"}}
        columns: {{user_id: u, event: e, ts: t, item_id: i, order_id: o}}
      orders: {{derive_from: events, where_event: [buy]}}
    """)
    paths = campaign_paths("oid", tmp_path / "r")
    ingest_campaign(load_params(write_params(text)), paths, progress=False)
    orders = pd.read_parquet(paths.table("orders")).sort_values(["user_id", "ts", "item_id"], ignore_index=True)
    assert orders.order_id.tolist() == [
        "1|2024-03-01 10:00:00",
        "1|2024-03-01 10:00:00",
        "1|2024-03-02 09:30:00",
        "x9",
        "x10",
    ]
    ev = ibis.duckdb.connect().read_parquet(str(paths.table("events")))
    direct = with_order_ids(ev.filter(ev.event == "buy")).to_pandas()
    direct = direct.sort_values(["user_id", "ts", "item_id"], ignore_index=True)
    assert direct.order_id.tolist() == orders.order_id.tolist()


@need(TAOBAO)
def test_real_taobao_sample():
    cfg = load_params(ROOT / "params" / "taobao.yaml")
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        paths = campaign_paths("taobao", d)
        reps = ingest_campaign(cfg, paths, progress=False)
        raw = pd.read_csv(TAOBAO)
        # independent: local day of each epoch second in China time, inside 2017-11-25..12-03
        local = pd.to_datetime(raw.timestamp, unit="s", utc=True).dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
        inside = (local >= "2017-11-25") & (local < "2017-12-04")
        assert reps["events"].rows_in == len(raw) == 84287
        assert reps["events"].reasons == {"out_of_period": int((~inside).sum())} == {"out_of_period": 35}
        assert reps["events"].users == raw[inside].user_id.nunique()
        assert reps["orders"].rows_out == int(((raw.behavior_type == "buy") & inside).sum())
        # one order per user and second (several items bought in one second are one order)
        buys = raw[(raw.behavior_type == "buy") & inside]
        orders = pd.read_parquet(paths.table("orders"))
        assert orders.order_id.nunique() == len(buys[["user_id", "timestamp"]].drop_duplicates()) == 1579


@need(RETAIL)
def test_real_online_retail_against_pandas():
    cfg = load_params(ROOT / "params" / "online_retail.yaml")
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        paths = campaign_paths("online_retail", d)
        rep = ingest_campaign(cfg, paths, progress=False)["orders"]
    raw = pd.read_csv(RETAIL, dtype=str, keep_default_na=False)
    # the same rules, first match wins, computed independently with pandas
    dup = raw.duplicated(keep="first")
    missing = raw["Customer ID"].str.strip() == ""
    cancelled = raw.Invoice.str.startswith("C")
    qty = pd.to_numeric(raw.Quantity)
    price = pd.to_numeric(raw.Price)
    nonpos = qty < 1
    zero_price = price < 0.001
    amount = qty * price
    neg = amount < 0
    big = amount > 100000
    reason = pd.Series(None, index=raw.index, dtype=object)
    for name, mask in [
        ("duplicate", dup),
        ("missing_user_id", missing),
        ("cancelled_invoice", cancelled),
        ("non_positive_quantity", nonpos),
        ("zero_price", zero_price),
        ("negative_amount", neg),
        ("implausible_amount", big),
    ]:
        reason[reason.isna() & mask] = name
    expected = reason.value_counts().to_dict()
    assert rep.rows_in == len(raw) == 525461
    assert rep.reasons == expected
    assert rep.rows_out == int(reason.isna().sum())
    assert rep.users == raw.loc[reason.isna(), "Customer ID"].str.replace(r"\.0$", "", regex=True).nunique()


@need(TIANCHI)
def test_real_tianchi_codes_and_hour_format(tmp_path, write_params):
    text = textwrap.dedent(f"""
    campaign: tianchi
    title: t
    period: {{start: 2014-11-18, end: 2014-12-18}}
    tables:
      events:
        source: {{path: "{TIANCHI}"}}
        columns: {{user_id: user_id, event: behavior_type, ts: time, item_id: item_id, category: item_category}}
        values: {{event: {{"1": pv, "2": fav, "3": cart, "4": buy}}}}
        events: [pv, fav, cart, buy]
    """)
    cfg = load_params(write_params(text))
    paths = campaign_paths("tianchi", tmp_path / "r")
    rep = ingest_campaign(cfg, paths, progress=False)["events"]
    raw = pd.read_csv(TIANCHI)
    clean = pd.read_parquet(paths.table("events"))
    assert rep.rows_in == len(raw) == 1999
    assert rep.rows_out + sum(rep.reasons.values()) == 1999
    assert rep.reasons.get("duplicate", 0) == int(raw.duplicated().sum())
    assert clean.event.value_counts().to_dict() == (
        raw[~raw.duplicated()].behavior_type.map({1: "pv", 2: "fav", 3: "cart", 4: "buy"}).value_counts().to_dict()
    )
    assert "user_geohash" in clean.columns  # extra property column kept


# --- params values only the data can tell, checked right after ingest (issue 12) ---------------------------
UNDECLARED = """
campaign: tu
title: 未声明 undeclared events
period: {{start: 2024-01-01, end: 2024-01-31}}
tables:
  events:
    source: {{path: "{path}"}}
    columns: {{user_id: uid, event: ev, ts: time}}
funnel:
  steps: [view, cart, ordr]
  breakdown: {breakdown}
"""


def _undeclared(tmp_path, write_params, breakdown):
    src = tmp_path / "u.csv"
    src.write_text(
        "uid,ev,time,Order Channel\n1,view,2024-01-02 10:00:00,app\n1,cart,2024-01-02 10:05:00,app\n"
        "1,order,2024-01-02 10:09:00,app\n2,view,2024-01-03 09:00:00,web\n",
        encoding="utf-8",
    )
    return write_params(UNDECLARED.format(path=src, breakdown=breakdown))


def test_undeclared_events_and_kept_columns_are_checked_after_ingest(tmp_path, write_params):
    """validate cannot know them; ingest writes the clean tables, then fails naming each key path with a
    did-you-mean against what the data has (the old code ran the funnel on them and showed an empty 'ok')."""
    from helpers.errors import ParamsError

    pfile = _undeclared(tmp_path, write_params, "order_chanel")
    cfg = load_params(pfile)  # passes: no declared events, keep_extra is on
    paths = campaign_paths(cfg.campaign, tmp_path / "reports")
    with pytest.raises(ParamsError) as ei:
        ingest_campaign(cfg, paths, progress=False, params_file=pfile)
    locs = dict(ei.value.problems)
    assert set(locs) == {"funnel.steps[2]", "funnel.breakdown"}
    assert locs["funnel.steps[2]"] == (
        "event 'ordr' is not in the clean events table (did you mean 'order'?); its events: cart, order, view"
    )
    assert locs["funnel.breakdown"].startswith(
        "column 'order_chanel' is not in the clean events table (did you mean 'order_channel'?); its columns: "
        "user_id, event, ts, order_channel"
    )
    assert str(ei.value).startswith(f"{pfile}: 2 problems")
    # the tables were written and the manifest says why the ingest failed
    assert len(pd.read_parquet(paths.table("events"))) == 4
    manifest = json.loads((paths.data / "_ingest.json").read_text(encoding="utf-8"))
    assert [p[0] for p in manifest["params_problems"]] == ["funnel.steps[2]", "funnel.breakdown"]
    # spelt right, the same campaign ingests without a problem
    fixed = pfile.read_text(encoding="utf-8").replace("ordr", "order").replace("order_chanel", "order_channel")
    pfile.write_text(fixed, encoding="utf-8")
    reps = ingest_campaign(load_params(pfile), paths, progress=False)
    assert reps["events"].extra_columns == ["order_channel"]
    assert json.loads((paths.data / "_ingest.json").read_text(encoding="utf-8"))["params_problems"] == []


def test_ingest_report_fails_so_no_analysis_runs(tmp_path, write_params):
    """The ingest notebook's report raises (it is never an 'ok' or an 'unavailable'), so the runner skips the
    analyses; a canonical column the source lacks is caught the same way."""
    from helpers.campaign import open_campaign
    from helpers.errors import ParamsError
    from helpers.quality import IngestReport

    pfile = _undeclared(tmp_path, write_params, "channel")
    pfile.write_text(pfile.read_text(encoding="utf-8").replace("ordr", "order"), encoding="utf-8")
    ctx = open_campaign("tu", params_file=str(pfile), reports_dir=str(tmp_path / "r"), theme=False)
    with pytest.raises(ParamsError) as ei:
        IngestReport.run(ctx)
    (loc, msg), *rest = ei.value.problems
    assert not rest and loc == "funnel.breakdown"
    assert msg == (
        "column 'channel' is not in the clean events table (did you mean 'order_channel'?); "
        "its columns: user_id, event, ts, order_channel"
    )


def _clean_campaign(tmp_path, write_params, events: pd.DataFrame, funnel: str):
    """A campaign whose clean events table is ``events`` (written directly, as ingest would)."""
    from helpers.campaign import open_campaign

    src = tmp_path / "f.csv"
    src.write_text("uid,ev,time\n", encoding="utf-8")
    text = (
        textwrap.dedent(f"""
    campaign: tf
    title: funnel
    period: {{start: 2024-01-01, end: 2024-01-31}}
    tables:
      events:
        source: {{path: "{src}"}}
        columns: {{user_id: uid, event: ev, ts: time}}
        events: [view, cart, order, pay]
    """)
        + funnel
    )
    ctx = open_campaign("tf", params_file=str(write_params(text)), reports_dir=str(tmp_path / "r"), theme=False)
    events.to_parquet(ctx.paths.table("events"), index=False)
    return ctx


EVENTS = pd.DataFrame(
    {
        "user_id": ["1", "1", "2"],
        "event": ["view", "cart", "view"],
        "ts": pd.to_datetime(["2024-01-02 10:00", "2024-01-02 11:00", "2024-01-03 10:00"]),
    }
)


def test_funnel_names_the_step_events_missing_from_the_data(tmp_path, write_params):
    """A declared event with no rows passes validate and ingest; the funnel's reason names it (the old reason
    only said 'a funnel needs at least two step events')."""
    from helpers.funnel import FunnelReport

    ctx = _clean_campaign(tmp_path, write_params, EVENTS, "funnel: {steps: [view, [order, pay], cart]}\n")
    rep = FunnelReport.run(ctx)
    assert not rep.available
    assert rep.reason == ("数据中没有这些步骤事件：funnel.steps[1] 'order' | 'pay'；数据中有：cart、view")
    ctx = _clean_campaign(tmp_path, write_params, EVENTS, "funnel: {steps: [view, view]}\n")
    assert "漏斗至少需要两种步骤事件" in FunnelReport.run(ctx).reason


def test_funnel_breakdown_column_missing_from_the_data_is_an_error(tmp_path, write_params):
    """The old code dropped the breakdown silently and said 'no breakdown property in the params'."""
    from helpers.errors import MissingColumnError
    from helpers.funnel import FunnelReport

    ctx = _clean_campaign(tmp_path, write_params, EVENTS, "funnel: {steps: [view, cart], breakdown: channel}\n")
    with pytest.raises(MissingColumnError) as ei:
        FunnelReport.run(ctx)
    assert ei.value.column == "channel" and "funnel.breakdown" in str(ei.value)
    assert "its columns are: user_id, event, ts" in str(ei.value)
    ctx = _clean_campaign(
        tmp_path,
        write_params,
        EVENTS.assign(channel=["a", "a", "b"]),
        "funnel: {steps: [view, cart], breakdown: channel, window: 12h}\n",  # a full window before the data ends
    )
    rep = FunnelReport.run(ctx)
    assert rep.available and rep.breakdown_col == "channel" and set(rep.breakdown["group"]) == {"a", "b"}


def test_a_missing_column_suggests_the_closest_one():
    """``clustering.features: [n_ordrs]`` and ``attribution.touch_col: utm_src`` failed with "has no column" and
    the whole list, without the one meant; the error now suggests the closest column (and none when nothing is
    close)."""
    from helpers.errors import MissingColumnError

    e = MissingColumnError("user features", "n_ordrs", ["user_id", "n_orders", "spend"], hint="see docs")
    assert str(e) == (
        "the user features table has no column 'n_ordrs' (did you mean 'n_orders'?); its columns are: user_id, "
        "n_orders, spend. see docs"
    )
    assert "did you mean" not in str(MissingColumnError("events", "zzz", ["user_id", "event", "ts"]))
    assert "(did you mean 'utm_source'?)" in str(MissingColumnError("events", "utm_src", ["utm_source", "ts"]))
