"""Identity stitching (helpers/identity.py) on constructed journeys with hand-computed answers: anonymous -> login
-> purchase, a shared device (one conflict), a re-login, an anonymous id that never logs in; the same through
ingest (rows in = clean + quarantined, raw file unchanged, counts in data/_ingest.json); DuckDB = Spark."""

import hashlib
import json

import pandas as pd
import pytest

from helpers.attempts import funnel_users
from helpers.identity import SUMMARY_KEYS, identity_links, identity_summary, stitch_events
from helpers.ingest import IngestError, ingest_campaign
from helpers.locations import campaign_paths
from helpers.params import load_params

ANON = "^(anon|dev)_"
# (user_id as collected, event, time, anonymous_id on login events) -> the stitched user id
JOURNEYS = [
    # 1. anonymous -> login -> purchase: the pre-login view belongs to u1
    ("anon_1", "launch", "2024-03-01 10:00:00", "", "u1"),
    ("anon_1", "view", "2024-03-01 10:01:00", "", "u1"),
    ("u1", "login", "2024-03-01 10:05:00", "anon_1", "u1"),
    ("u1", "cart", "2024-03-01 10:06:00", "", "u1"),
    ("u1", "pay", "2024-03-01 10:10:00", "", "u1"),
    # 2. shared device: u2 logs in, later u3 on the same device; each event goes to who logged in last
    ("dev_shared", "view", "2024-03-01 09:00:00", "", "u2"),  # before the first login: the first user
    ("u2", "login", "2024-03-01 09:10:00", "dev_shared", "u2"),
    ("dev_shared", "view", "2024-03-01 11:00:00", "", "u2"),
    ("u3", "login", "2024-03-01 12:00:00", "dev_shared", "u3"),
    ("dev_shared", "view", "2024-03-01 12:00:00", "", "u3"),  # at the login time: the new user
    ("dev_shared", "view", "2024-03-01 12:30:00", "", "u3"),
    # 3. re-login of the same user on a device: no conflict
    ("dev_re", "view", "2024-03-02 07:00:00", "", "u4"),
    ("u4", "login", "2024-03-02 08:00:00", "dev_re", "u4"),
    ("dev_re", "view", "2024-03-02 13:00:00", "", "u4"),
    ("u4", "login", "2024-03-02 14:00:00", "dev_re", "u4"),
    ("dev_re", "view", "2024-03-02 15:00:00", "", "u4"),
    # 4. never logs in: stays anonymous, counted
    ("anon_9", "launch", "2024-03-03 20:00:00", "", "anon_9"),
    ("anon_9", "view", "2024-03-03 20:01:00", "", "anon_9"),
    # 5. a known user without anonymous events: untouched
    ("u5", "view", "2024-03-03 21:00:00", "", "u5"),
]
EXPECTED = {
    "links": 5,  # anon_1>u1, dev_shared>u2, dev_shared>u3, dev_re>u4 twice
    "linked_ids": 3,
    "stitched_ids": 3,  # anon_1, dev_shared, dev_re
    "stitched_rows": 9,  # 2 + 4 + 3
    "conflict_ids": 1,  # dev_shared
    "conflict_rows": 4,
    "anonymous_only_ids": 1,  # anon_9
    "anonymous_only_rows": 2,
    "users_before": 9,
    "users_after": 6,  # u1..u5, anon_9
}


def _events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": [j[0] for j in JOURNEYS],
            "event": [j[1] for j in JOURNEYS],
            "ts": pd.to_datetime([j[2] for j in JOURNEYS]),
            "anonymous_id": [j[3] or None for j in JOURNEYS],
            "seq": range(len(JOURNEYS)),
        }
    )


def _stitch(ev):
    links = identity_links(ev, login_event="login")
    return stitch_events(ev, links), links


def test_journeys_are_stitched_by_the_rule():
    st, _ = _stitch(_events())
    out = st.to_pandas().sort_values("seq", ignore_index=True)
    assert list(out.columns) == ["user_id", "event", "ts", "anonymous_id", "seq", "original_user_id"]
    assert out["user_id"].tolist() == [j[4] for j in JOURNEYS]
    assert out["original_user_id"].tolist() == [j[0] for j in JOURNEYS]


def test_counts_for_the_data_quality_report():
    ev = _events()
    st, links = _stitch(ev)
    assert identity_summary(st, links, anonymous_regex=ANON) == EXPECTED
    no_regex = identity_summary(st, links)
    assert no_regex["anonymous_only_ids"] is None and no_regex["anonymous_only_rows"] is None
    assert list(no_regex) == list(SUMMARY_KEYS)


def test_stitched_funnel_counts_pre_login_steps():
    """u1 viewed anonymously and carted/paid after login: converts only once stitched."""
    ev = _events()
    st, _ = _stitch(ev)
    before = funnel_users(ev, ["view", "cart", "pay"]).set_index("user_id")
    after = funnel_users(st.to_pandas(), ["view", "cart", "pay"]).set_index("user_id")
    assert "u1" not in before.index and before.loc["anon_1", "reached"] == 1  # the view was anon_1's
    assert after.loc["u1", "reached"] == 3 and (after["reached"] == 3).sum() == 1
    assert str(after.loc["u1", "start"]) == "2024-03-01 10:01:00"  # the anonymous view starts the funnel
    assert len(before) == 5 and len(after) == 6  # entered: anon ids merged into u1..u4, u5, anon_9


def test_edge_cases():
    ev = _events()
    # a login with an empty anonymous id, or with both ids equal, is no link
    extra = pd.DataFrame(
        {
            "user_id": ["u6", "u7"],
            "event": ["login", "login"],
            "ts": pd.to_datetime(["2024-03-04 10:00:00"] * 2),
            "anonymous_id": [None, "u7"],
            "seq": [100, 101],
        }
    )
    links = identity_links(pd.concat([ev, extra], ignore_index=True), login_event="login").to_pandas()
    assert len(links) == 5 and not links["user_id"].isin(["u6", "u7"]).any()
    with pytest.raises(IngestError, match="original_user_id"):
        stitch_events(ev.assign(original_user_id="x"), identity_links(ev))
    # no links at all: nothing changes
    none = identity_links(ev, login_event="signin")
    out = stitch_events(ev, none).to_pandas().sort_values("seq")
    assert (out["user_id"] == out["original_user_id"]).all() and out["user_id"].tolist() == ev["user_id"].tolist()


# ------------------------------------------------------------------------------------------- through ingest
PARAMS = """
campaign: ident
title: 身份
timezone: Asia/Shanghai
period: {{start: 2024-03-01, end: 2024-03-31}}
tables:
  events:
    source: {{path: "{path}"}}
    columns: {{user_id: uid, event: ev, ts: t}}
    events: [launch, view, cart, pay, login]
identity:
  login_event: login
  anonymous_col: device
  anonymous_regex: "{regex}"
"""


def _csv(path, rows):
    seqs = [r[5] if len(r) > 5 else i for i, r in enumerate(rows)]  # a duplicate repeats its original's seq
    lines = ["uid,ev,t,device,seq"] + [f"{r[0]},{r[1]},{r[2]},{r[3]},{q}" for q, r in zip(seqs, rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _ingest(tmp_path, rows, params=PARAMS):
    raw = tmp_path / "events.csv"
    _csv(raw, rows)
    pfile = tmp_path / "ident.yaml"
    pfile.write_text(params.format(path=raw, regex=ANON), encoding="utf-8")
    cfg = load_params(pfile)
    paths = campaign_paths(cfg.campaign, tmp_path / "reports")
    digest = hashlib.sha256(raw.read_bytes()).hexdigest()
    reps = ingest_campaign(cfg, paths, progress=False)
    assert hashlib.sha256(raw.read_bytes()).hexdigest() == digest
    return reps, paths


def test_ingest_stitches_and_records_counts(tmp_path):
    dirty = [
        (*JOURNEYS[0], 0),  # duplicate of the first row
        ("u8", "share", "2024-03-05 10:00:00", "", "u8", 98),  # unknown_event
        ("u8", "view", "2024-04-02 10:00:00", "", "u8", 99),  # out_of_period
    ]
    reps, paths = _ingest(tmp_path, JOURNEYS + dirty)
    ev = reps["events"]
    assert ev.reasons == {"duplicate": 1, "out_of_period": 1, "unknown_event": 1}
    assert ev.rows_in == ev.rows_out + sum(ev.reasons.values()) == len(JOURNEYS) + 3
    assert ev.users == EXPECTED["users_after"]
    clean = pd.read_parquet(paths.table("events"))
    assert clean["seq"].astype(int).tolist() == list(range(len(JOURNEYS)))  # source order kept
    assert clean["user_id"].tolist() == [j[4] for j in JOURNEYS]
    assert clean["original_user_id"].tolist() == [j[0] for j in JOURNEYS]
    manifest = json.loads((paths.data / "_ingest.json").read_text(encoding="utf-8"))
    ident = manifest["identity"]
    assert {k: ident[k] for k in SUMMARY_KEYS} == EXPECTED
    assert ident["conflict_examples"] == [{"anonymous_id": "dev_shared", "users": 2}]
    assert ident["login_event"] == "login" and ident["original_col"] == "original_user_id"


def test_ingest_without_identity_section_writes_null(tmp_path):
    params = PARAMS.split("identity:")[0]
    reps, paths = _ingest(tmp_path, JOURNEYS, params=params)
    manifest = json.loads((paths.data / "_ingest.json").read_text(encoding="utf-8"))
    assert manifest["identity"] is None
    assert "original_user_id" not in pd.read_parquet(paths.table("events")).columns


def test_ingest_names_the_fix(tmp_path):
    with pytest.raises(IngestError, match=r"identity.login_event: 'login' is not in tables.events.events"):
        _ingest(tmp_path, JOURNEYS, params=PARAMS.replace("cart, pay, login]", "cart, pay]"))
    with pytest.raises(IngestError, match=r"identity.anonymous_col: .*'device_id'.*uid|identity.anonymous_col"):
        _ingest(tmp_path, JOURNEYS, params=PARAMS.replace("anonymous_col: device", "anonymous_col: device_id"))


def test_mapping_file(tmp_path):
    """An id-mapping table instead of login events: the same links give the same stitched ids."""
    m = tmp_path / "ids.csv"
    m.write_text(
        "device,uid,from\n"
        "anon_1,u1,2024-03-01 10:05:00\n"
        "dev_shared,u2,2024-03-01 09:10:00\n"
        "dev_shared,u3,2024-03-01 12:00:00\n"
        "dev_re,u4,2024-03-02 08:00:00\n",
        encoding="utf-8",
    )
    params = PARAMS.split("identity:")[0] + (
        f'identity:\n  mapping: {{{{path: "{m}", anonymous_col: device, user_col: uid, ts_col: from}}}}\n'
        f'  anonymous_regex: "{ANON}"\n'
    )
    _, paths = _ingest(tmp_path, JOURNEYS, params=params)
    clean = pd.read_parquet(paths.table("events"))
    assert clean["user_id"].tolist() == [j[4] for j in JOURNEYS]
    ident = json.loads((paths.data / "_ingest.json").read_text(encoding="utf-8"))["identity"]
    assert ident["links"] == 4 and ident["conflict_ids"] == 1 and ident["stitched_rows"] == 9


# --------------------------------------------------------------------------------------------------- Spark
@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_duckdb_equals_spark():
    from .test_spark import _why_no_spark

    why = _why_no_spark()
    if why:
        pytest.skip(why)
    import sys

    import ibis
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("ubakit-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.pyspark.python", sys.executable)
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    ev = _events()
    rows = [(j[0], j[1], pd.Timestamp(j[2]).to_pydatetime(), j[3] or None, i) for i, j in enumerate(JOURNEYS)]
    schema = "user_id string, event string, ts timestamp_ntz, anonymous_id string, seq bigint"
    session.createDataFrame(rows, schema).createOrReplaceTempView("identity_events")  # a view: no files
    duck_con = ibis.duckdb.connect()
    tables = {"duck": duck_con.create_table("identity_events", ev, temp=True)}
    tables["spark"] = ibis.pyspark.connect(session).table("identity_events")
    results = {}
    for name, t in tables.items():
        st, links = _stitch(t)
        frame = st.to_pandas().sort_values("seq", ignore_index=True)
        frame["ts"] = frame["ts"].astype("datetime64[us]")
        results[name] = (frame, identity_summary(st, links, anonymous_regex=ANON))
    pd.testing.assert_frame_equal(results["duck"][0], results["spark"][0])
    assert results["duck"][1] == results["spark"][1] == EXPECTED
    assert results["spark"][0]["user_id"].tolist() == [j[4] for j in JOURNEYS]


def test_ingest_with_pseudonyms_still_links(tmp_path, monkeypatch):
    """With pseudonymous user ids the anonymous ids of the links get the same pseudonyms, so they still match."""
    monkeypatch.setenv("UBAKIT_PSEUDONYM_KEY", "k" * 32)
    reps, paths = _ingest(tmp_path, JOURNEYS, params=PARAMS + "privacy: {{pseudonymize_user_ids: true}}\n")
    clean = pd.read_parquet(paths.table("events"))
    assert clean["user_id"].str.startswith("u_").all() and clean["original_user_id"].str.startswith("u_").all()
    # the same partition of rows into users as without pseudonyms
    expected = pd.Series([j[4] for j in JOURNEYS])
    assert clean.groupby("user_id").size().sort_values().tolist() == expected.value_counts().sort_values().tolist()
    ident = json.loads((paths.data / "_ingest.json").read_text(encoding="utf-8"))["identity"]
    assert {k: ident[k] for k in SUMMARY_KEYS if k not in ("anonymous_only_ids", "anonymous_only_rows")} == {
        k: v for k, v in EXPECTED.items() if k not in ("anonymous_only_ids", "anonymous_only_rows")
    }
    assert ident["anonymous_only_ids"] == 0  # pseudonyms no longer look like anon_: the regex cannot tell
