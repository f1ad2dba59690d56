"""Typed values at ingest (helpers/values.py, issue 13): numbers (decimal comma, full-width digits, currency
signs, accounting negatives, non-finite values), timestamps with offsets and typed Parquet timestamps,
placeholder nulls, generated order ids, and the stop on an empty result. Hand-made inputs, hand-computed clean
values and quarantine counts; rows_in == rows_out + quarantined; raw files unchanged."""

import hashlib

import duckdb
import pandas as pd
import pytest

from helpers.errors import IngestError
from helpers.ingest import ingest_campaign
from helpers.locations import campaign_paths
from helpers.params import load_params
from helpers.values import num_sql, ts_sql


def _sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _num(value, decimal="."):
    con = duckdb.connect()
    return con.execute(f"SELECT {num_sql('x', decimal=decimal)} FROM (SELECT $${value}$$ AS x)").fetchone()[0]


@pytest.mark.parametrize(
    "value,decimal,expected",
    [
        ("12.5", ".", 12.5),
        ("1,200.50", ".", 1200.5),
        ("1 200.50", ".", 1200.5),
        ("1,5", ".", None),  # not 15: a comma that is not a thousands separator
        ("1.200,50", ".", None),  # not 1.2005
        ("1,5", ",", 1.5),
        ("1.200,50", ",", 1200.5),
        ("1 200,50", ",", 1200.5),
        ("-0,75", ",", -0.75),
        ("1.5", ",", None),  # a lone dot in a decimal-comma column is ambiguous
        ("１２.５", ".", 12.5),  # full-width digits (NFKC)
        ("－３", ".", -3.0),
        ("12元", ".", 12.0),
        ("¥8", ".", 8.0),
        ("￥8", ".", 8.0),
        ("$1,234.5", ".", 1234.5),
        ("RMB 12", ".", 12.0),
        ("12,5 €", ",", 12.5),
        ("(5.00)", ".", -5.0),  # accounting negative
        ("(¥ 5)", ".", -5.0),
        ("NaN", ".", None),
        ("inf", ".", None),
        ("-Infinity", ".", None),
        ("1e309", ".", None),  # overflows to inf
        ("1e308", ".", None),  # finite, but beyond 2**53: totals would overflow
        ("9007199254740992", ".", 9007199254740992.0),  # 2**53 itself is kept
        ("1e3", ".", 1000.0),
        ("abc", ".", None),
    ],
)
def test_numbers(value, decimal, expected):
    assert _num(value, decimal) == expected


@pytest.mark.parametrize(
    "value,expected",
    [
        ("2024-03-01 10:00:00+08", "2024-03-01 10:00:00"),  # PostgreSQL / Hologres timestamptz text
        ("2024-03-01 02:00:00+00", "2024-03-01 10:00:00"),
        ("2024-03-01 10:00:00-0130", "2024-03-01 19:30:00"),  # ±hhmm
        ("2024-03-01T10:00:00+05:30", "2024-03-01 12:30:00"),  # ±hh:mm
        ("2024-03-01T10:00:00Z", "2024-03-01 18:00:00"),
        ("2024-03-01 10:00:00 +08:00", "2024-03-01 10:00:00"),  # space before the offset
        ("2024-03-01 10:00+09", "2024-03-01 09:00:00"),
        ("2024-03-01 10:00:00.250+00", "2024-03-01 18:00:00.25"),
        ("2024-03-01", "2024-03-01 00:00:00"),  # '-01' is a day, not an offset
        ("2014-12-06 02", "2014-12-06 02:00:00"),  # an hour, not an offset
    ],
)
def test_timestamp_offsets(value, expected):
    sql = ts_sql("x", source_tz="Asia/Shanghai", campaign_tz="Asia/Shanghai")
    got = duckdb.connect().execute(f"SELECT CAST(({sql}) AS VARCHAR) FROM (SELECT '{value}' AS x)").fetchone()[0]
    assert got == expected


PARAMS = """
campaign: {name}
title: values
timezone: Asia/Shanghai
period: {{start: {start}, end: 2024-03-31}}
tables:
  {table}:
    source: {{path: "{path}"{source}}}
    columns: {columns}
{extra}"""


def _ingest(
    tmp_path, write_params, path, *, table="events", columns, name="v", start="2024-03-01", source="", extra=""
):
    text = PARAMS.format(name=name, start=start, table=table, path=path, source=source, columns=columns, extra=extra)
    cfg = load_params(write_params(text))
    paths = campaign_paths(cfg.campaign, tmp_path / "reports")
    before = _sha(path)
    reps = ingest_campaign(cfg, paths, progress=False)
    assert _sha(path) == before, "raw input must never be modified"
    rep = reps[table]
    assert rep.rows_in == rep.rows_out + rep.rows_quarantined
    return rep, pd.read_parquet(paths.table(table)), paths


def test_semicolon_file_with_decimal_commas_is_detected(tmp_path, write_params):
    src = tmp_path / "eu.csv"
    src.write_text(
        "uid;ev;time;amount\n"
        "u1;buy;2024-03-01 10:00:00;1,5\n"
        "u2;buy;2024-03-02 10:00:00;1.200,50\n"
        "u3;buy;2024-03-03 10:00:00;12\n"
        "u4;buy;2024-03-04 10:00:00;0,99\n"
        "u5;buy;2024-03-05 10:00:00;2.5\n",  # a dot in a decimal-comma file: bad_number, not 2.5 or 25
        encoding="utf-8",
    )
    cols = "{user_id: uid, event: ev, ts: time, amount: amount}"
    rep, clean, _ = _ingest(tmp_path, write_params, src, columns=cols)
    assert rep.rows_in == 5 and rep.reasons == {"bad_number": 1} and rep.rows_out == 4
    assert clean.amount.tolist() == [1.5, 1200.5, 12.0, 0.99]
    assert {"key": "ingest.note_decimal", "table": "events"} in rep.notes  # guessed (auto): the page says so
    from helpers import i18n
    from helpers.quality import ingest_findings

    with i18n.language("zh"):
        said = ingest_findings({"events": rep})
        assert "注意：事件表的数字按逗号作小数点读取（分号分隔的文件里有 1,5 这样的值，即 1.5）" in " ".join(said), said
    with i18n.language("en"):
        assert any(s.startswith("Note: numbers in the events table were read with ','") for s in ingest_findings(
            {"events": rep}))  # fmt: skip
    # told explicitly, the same file is read the same way; with '.', the commas are bad numbers, never 15
    rep, clean, _ = _ingest(tmp_path, write_params, src, columns=cols, name="v2", source=', decimal: "."')
    assert rep.reasons == {"bad_number": 3} and clean.amount.tolist() == [12.0, 2.5] and rep.notes == []


def test_currency_fullwidth_accounting_non_finite_and_placeholders(tmp_path, write_params):
    rows = [
        ("u1", "buy", "2024-03-01 10:00:00", "12元"),  # ok 12
        ("u2", "buy", "2024-03-01 11:00:00", "¥8"),  # ok 8
        ("u3", "buy", "2024-03-01 12:00:00", "１２.５"),  # ok 12.5
        ("u4", "refund", "2024-03-01 13:00:00", "(5.00)"),  # ok -5 (negatives allowed below)
        ("u5", "buy", "2024-03-01 14:00:00", "inf"),  # bad_number
        ("u6", "buy", "2024-03-01 15:00:00", "1e308"),  # bad_number
        ("u7", "buy", "2024-03-01 16:00:00", "NaN"),  # placeholder: amount missing, row kept
        ("NULL", "buy", "2024-03-01 17:00:00", "1"),  # missing_user_id
        ("\\N", "buy", "2024-03-01 18:00:00", "1"),  # missing_user_id
        ("None", "buy", "2024-03-01 19:00:00", "1"),  # missing_user_id
        ("-", "buy", "2024-03-01 20:00:00", "1"),  # missing_user_id
        ("u8", "null", "2024-03-01 21:00:00", "1"),  # missing_event
        ("u9", "buy", "NULL", "1"),  # missing_ts
        ("u10", "buy", "2024-03-01 22:00:00", "-"),  # placeholder amount: kept, empty
    ]
    src = tmp_path / "money.csv"
    src.write_text("uid,ev,time,amount\n" + "\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    cols = "{user_id: uid, event: ev, ts: time, amount: amount}"
    rep, clean, paths = _ingest(tmp_path, write_params, src, columns=cols, extra="    allow_negative_amount: true\n")
    assert rep.reasons == {"bad_number": 2, "missing_user_id": 4, "missing_event": 1, "missing_ts": 1}
    assert rep.rows_in == 14 and rep.rows_out == 6
    assert clean.user_id.tolist() == ["u1", "u2", "u3", "u4", "u7", "u10"]
    assert clean.amount.tolist()[:4] == [12.0, 8.0, 12.5, -5.0] and clean.amount.iloc[4:].isna().all()
    assert "NULL" not in set(clean.user_id)
    q = pd.read_parquet(paths.quarantine / "events.parquet")
    assert sorted(q.loc[q.reason == "bad_number", "amount"]) == ["1e308", "inf"]
    # with a custom placeholder list that leaves NaN out, NaN is a non-finite number: bad_number
    rep, clean, _ = _ingest(
        tmp_path,
        write_params,
        src,
        columns=cols,
        name="v2",
        source=', null_values: ["NULL", "\\\\N", "None", "-", "null"]',
        extra="    allow_negative_amount: true\n",
    )
    assert rep.reasons == {"bad_number": 3, "missing_user_id": 4, "missing_event": 1, "missing_ts": 1}
    assert rep.rows_out == 5


def test_typed_parquet_timestamps_are_converted_without_text(tmp_path, write_params):
    utc = pd.to_datetime(["2024-03-01 02:00:00", "2024-03-01 17:30:00", "2024-02-29 15:59:59"]).tz_localize("UTC")
    df = pd.DataFrame(
        {
            "uid": ["a", "b", "c"],
            "ev": ["view", "view", "buy"],
            "t": utc,  # TIMESTAMP WITH TIME ZONE: instants
            "naive": pd.to_datetime(["2024-03-01 10:00", "2024-03-02 10:00", "2024-03-03 10:00"]),
        }
    )
    src = tmp_path / "tz.parquet"
    df.to_parquet(src, index=False)
    rep, clean, _ = _ingest(tmp_path, write_params, src, columns="{user_id: uid, event: ev, ts: t}")
    # Shanghai is UTC+8: 02:00Z -> 10:00, 17:30Z -> 01:30 next day, 2024-02-29 15:59:59Z -> 23:59:59 (out of period)
    assert rep.reasons == {"out_of_period": 1} and rep.rows_out == 2
    assert [str(t) for t in clean.ts] == ["2024-03-01 10:00:00", "2024-03-02 01:30:00"]
    # a naive typed column is wall-clock time in the source time zone (here UTC -> +8 h)
    rep, clean, _ = _ingest(
        tmp_path,
        write_params,
        src,
        columns="{user_id: uid, event: ev, ts: naive}",
        name="v2",
        extra="    source_timezone: UTC\n",
    )
    assert rep.reasons == {} and [str(t) for t in clean.ts] == [
        "2024-03-01 18:00:00",
        "2024-03-02 18:00:00",
        "2024-03-03 18:00:00",
    ]


def test_orders_without_order_id_get_a_deterministic_one(tmp_path, write_params):
    src = tmp_path / "orders.csv"
    src.write_text(
        "cust,time,amt\nc1,2024-03-01 10:00:00,10\nc1,2024-03-01 10:00:00,10\nc2,2024-03-02 09:00:00,5\n"
        "NULL,2024-03-02 09:00:00,5\n",
        encoding="utf-8",
    )
    cols = "{user_id: cust, ts: time, amount: amt}"
    extra = "    dedupe: false\n"  # two identical lines are two orders here
    rep, clean, _ = _ingest(tmp_path, write_params, src, table="orders", columns=cols, extra=extra)
    assert rep.reasons == {"missing_user_id": 1} and rep.rows_out == 3
    expected = [
        "o_" + hashlib.md5(f"{u}|{t}|{r}".encode()).hexdigest()[:16]
        for u, t, r in [
            ("c1", "2024-03-01 10:00:00", 1),
            ("c1", "2024-03-01 10:00:00", 2),
            ("c2", "2024-03-02 09:00:00", 3),
        ]
    ]
    assert clean.order_id.tolist() == expected and clean.order_id.nunique() == 3
    rep2, clean2, _ = _ingest(tmp_path, write_params, src, table="orders", columns=cols, name="v2", extra=extra)
    assert clean2.order_id.tolist() == expected  # the same on every run


def test_no_row_in_the_period_stops_with_the_datas_range(tmp_path, write_params):
    src = tmp_path / "e.csv"
    src.write_text(
        "uid,ev,time\nu1,view,2023-03-01 10:00:00\nu2,view,2023-03-05 08:30:00\nu3,view,not a time\n",
        encoding="utf-8",
    )
    text = PARAMS.format(
        name="typo",
        start="2024-03-01",
        table="events",
        path=src,
        source="",
        columns="{user_id: uid, event: ev, ts: time}",
        extra="",
    )
    cfg = load_params(write_params(text))
    paths = campaign_paths(cfg.campaign, tmp_path / "reports")
    with pytest.raises(IngestError) as ei:
        ingest_campaign(cfg, paths, progress=False)
    msg = str(ei.value)
    assert "tables.events: no row of" in msg and "3 rows read, all quarantined: out_of_period 2, bad_timestamp 1" in msg
    assert "from 2023-03-01 10:00:00 to 2023-03-05 08:30:00" in msg
    assert "period is 2024-03-01 to 2024-03-31" in msg and "period.start / period.end" in msg
    # the one line the terminal, the index and the page show keeps the data's range (it was only further down)
    from helpers.errors import error_line

    assert error_line(msg).endswith("to days inside the data's range (2023-03-01 to 2023-03-05)")
    assert not paths.table("events").exists()  # no empty table for an analysis to run on
    q = pd.read_parquet(paths.quarantine / "events.parquet")
    assert q.reason.value_counts().to_dict() == {"out_of_period": 2, "bad_timestamp": 1}


def test_a_file_in_another_encoding_than_the_one_given_is_named_as_such(tmp_path, write_params):
    """A GBK file read with ``encoding: utf-8``: every line is bad_encoding, and the error's fix said "no timestamp
    could be read: set tables.events.ts_format". It now names the encoding."""
    for header, columns in (("uid,ev,time", "{user_id: uid, event: ev, ts: time}"), ("用户,事件,时间", None)):
        src = tmp_path / f"e{len(header)}.csv"
        body = "\n张三,浏览,2024-03-01 10:00:00\n李四,购买,2024-03-02 11:00:00\n"
        src.write_bytes((header + body).encode("gbk"))
        text = PARAMS.format(
            name=f"enc{len(header)}",
            start="2024-03-01",
            table="events",
            path=src,
            source=", encoding: utf-8",
            columns=columns or "{user_id: 用户, event: 事件, ts: 时间}",
            extra="",
        )
        cfg = load_params(write_params(text, name=f"enc{len(header)}"))
        with pytest.raises(IngestError) as ei:
            ingest_campaign(cfg, campaign_paths(cfg.campaign, tmp_path / "reports"), progress=False)
        msg = str(ei.value)
        assert "ts_format" not in msg, msg
        assert "set tables.events.source.encoding to the file's real encoding" in msg, msg
        if columns is None:  # the Chinese header did not decode either: the file "has" column0, column1, column2
            assert "the header line could not be read (a wrong encoding, utf-8?)" in msg, msg
        else:
            assert "all quarantined: bad_encoding 2" in msg and "most lines do not decode as utf-8" in msg, msg
