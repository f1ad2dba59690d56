"""Privacy (helpers/privacy.py): pseudonymous user ids at ingest, hidden personal columns, the stakeholder bundle.

Unit tests on hand-made tables and campaigns, and one end-to-end run of the demo with pseudonymisation on: no raw
user id in any page, results file, quarantine file, clean table or bundle.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from helpers.cli import main as cli_main
from helpers.errors import ParamsError
from helpers.ingest import ingest_campaign
from helpers.locations import campaign_paths
from helpers.params import load_params
from helpers.privacy import (
    AGGREGATE,
    TABLE_LEVELS,
    USER_LEVEL,
    NoReportsError,
    PrivacyError,
    bundle_members,
    file_frame,
    key_id,
    page_frame,
    pseudonym,
    pseudonym_key,
    pseudonymize_table,
    table_level,
    write_bundle,
)
from helpers.sections import PrivacyParams

ROOT = Path(__file__).resolve().parent.parent
KEY = "test-key-0123456789abcdef"
OTHER_KEY = "another-key-fedcba9876543210"


def hmac_pseudo(user_id: str, key: str) -> str:
    """The pseudonym computed independently of helpers: u_ + 16 hex digits of HMAC-SHA256."""
    return "u_" + hmac.new(key.encode("utf-8"), user_id.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


# ------------------------------------------------------------------------------------------- pseudonyms
def test_pseudonym_is_hmac_sha256_of_the_id():
    assert pseudonym("U00001", KEY) == hmac_pseudo("U00001", KEY)
    assert pseudonym("U00001", KEY.encode()) == pseudonym("U00001", KEY)
    assert re.fullmatch(r"u_[0-9a-f]{16}", pseudonym("用户42", KEY))
    assert pseudonym("U00001", KEY) != pseudonym("U00002", KEY)
    assert pseudonym("U00001", KEY) != pseudonym("U00001", OTHER_KEY)
    assert pseudonym(13085, KEY) == hmac_pseudo("13085", KEY)  # ids are text in the clean tables


def test_pseudonym_key_from_the_named_variable(monkeypatch):
    assert pseudonym_key(PrivacyParams()) is None  # off: no key needed
    on = PrivacyParams(pseudonymize_user_ids=True, key_env="MY_TEST_KEY")
    monkeypatch.delenv("MY_TEST_KEY", raising=False)
    with pytest.raises(PrivacyError) as e:
        pseudonym_key(on)
    msg = str(e.value)
    assert "MY_TEST_KEY" in msg and "export MY_TEST_KEY=" in msg and "privacy.key_env" in msg
    monkeypatch.setenv("MY_TEST_KEY", "short")
    with pytest.raises(PrivacyError, match="at least 16"):
        pseudonym_key(on)
    monkeypatch.setenv("MY_TEST_KEY", KEY)
    assert pseudonym_key(on) == KEY.encode()
    assert PrivacyParams().key_env == "UBAKIT_PSEUDONYM_KEY"
    assert re.fullmatch(r"[0-9a-f]{8}", key_id(KEY)) and key_id(KEY) != key_id(OTHER_KEY)


def test_pseudonymize_table_hashes_each_distinct_id_once():
    con = duckdb.connect()
    con.execute(
        "CREATE TEMP TABLE t AS SELECT * FROM (VALUES ('a', 'a', 1), ('b', 'b', 2), ('a', 'a', 3), "
        "(NULL, 'x', 4)) v(uid, src, n)"
    )
    assert pseudonymize_table(con, "t", id_col="uid", key=KEY, also=["src"]) == 2  # a, b
    rows = con.execute("SELECT uid, src, n FROM t ORDER BY n").fetchall()
    pa, pb = hmac_pseudo("a", KEY), hmac_pseudo("b", KEY)
    assert rows == [(pa, pa, 1), (pb, pb, 2), (pa, pa, 3), (None, None, 4)]
    # a second table on the same connection: only the new id is hashed, shared ids map the same
    con.execute("CREATE TEMP TABLE u AS SELECT * FROM (VALUES ('b'), ('c')) v(uid)")
    assert pseudonymize_table(con, "u", id_col="uid", key=KEY) == 1
    assert con.execute("SELECT uid FROM u ORDER BY uid").fetchall() == sorted([(pb,), (hmac_pseudo("c", KEY),)])


# ------------------------------------------------------------------------------------------- params
def _campaign(tmp_path: Path, write_params, privacy: str) -> Path:
    (tmp_path / "in").mkdir(exist_ok=True)
    (tmp_path / "in" / "events.csv").write_text(
        "uid,ev,time\n"
        "A1,view,2024-01-02 10:00:00\n"
        "A1,view,2024-01-02 10:00:00\n"  # duplicate -> quarantine
        "B2,pay,2024-02-15 10:00:00\n"  # out_of_period -> quarantine
        ",view,2024-01-03 10:00:00\n"  # missing_user_id -> quarantine
        "13085.0,view,2024-01-04 10:00:00\n",  # a float-exported id: 13085
        encoding="utf-8",
    )
    (tmp_path / "in" / "users.csv").write_text(
        "用户,城市,phone,age\nA1,北京,13800000001,30\n13085,上海,13900000002,41\nA1,北京,13800000001,30\n",
        encoding="utf-8",
    )
    return write_params(
        f"""campaign: privtest
title: privacy test
period: {{start: 2024-01-01, end: 2024-01-31}}
tables:
  events:
    source: {{path: "{tmp_path}/in/events.csv"}}
    columns: {{user_id: uid, event: ev, ts: time}}
  users:
    source: {{path: "{tmp_path}/in/users.csv"}}
    columns: {{user_id: 用户, city: 城市}}
privacy:
{privacy}
"""
    )


def test_privacy_params_are_validated(tmp_path, write_params):
    ok = _campaign(tmp_path, write_params, "  pseudonymize_user_ids: true\n  hide_columns: [city, phone]")
    p = load_params(ok).privacy
    assert p.pseudonymize_user_ids and p.key_env == "UBAKIT_PSEUDONYM_KEY" and p.hide_columns == ["city", "phone"]
    assert p.hide_in_files is True
    bad = _campaign(
        tmp_path,
        write_params,
        "  pseudonymize_user_ids: true\n  key_env: 'secret value!'\n  hide_columns: [user_id]\n  hide_files: false",
    )
    with pytest.raises(ParamsError) as e:
        load_params(bad)
    keys = [k for k, _ in e.value.problems]
    assert "privacy.key_env" in keys and "privacy.hide_columns" in keys
    assert any(k == "privacy.hide_files" and "hide_in_files" in m for k, m in e.value.problems)  # did you mean


# ------------------------------------------------------------------------------------------- ingest
def test_ingest_pseudonymises_every_table_and_the_quarantine(tmp_path, write_params, monkeypatch):
    pfile = _campaign(
        tmp_path,
        write_params,
        "  pseudonymize_user_ids: true\n  key_env: PRIV_TEST_KEY\n  hide_columns: [city, phone]",
    )
    raw_before = {f: f.read_bytes() for f in (tmp_path / "in").iterdir()}
    cfg = load_params(pfile)
    paths = campaign_paths(cfg.campaign, tmp_path / "reports")
    monkeypatch.delenv("PRIV_TEST_KEY", raising=False)
    with pytest.raises(PrivacyError, match="PRIV_TEST_KEY"):
        ingest_campaign(cfg, paths, progress=False)
    assert not list(paths.data.glob("*.parquet"))  # failed before writing anything

    monkeypatch.setenv("PRIV_TEST_KEY", KEY)
    ingest_campaign(cfg, paths, progress=False)
    ev = pd.read_parquet(paths.table("events"))
    assert ev["user_id"].tolist() == [hmac_pseudo("A1", KEY), hmac_pseudo("13085", KEY)]
    users = pd.read_parquet(paths.table("users"))
    assert users["user_id"].tolist() == [hmac_pseudo("A1", KEY), hmac_pseudo("13085", KEY)]
    assert {"city", "phone", "age"} <= set(users.columns)  # the clean tables keep them for the analyses
    # quarantine: the source id column holds the pseudonym (NULL when missing); hidden columns are not copied
    qe = pd.read_parquet(paths.quarantine / "events.parquet").set_index("reason")
    assert qe.loc["duplicate", "uid"] == hmac_pseudo("A1", KEY)
    assert qe.loc["out_of_period", "uid"] == hmac_pseudo("B2", KEY)
    assert pd.isna(qe.loc["missing_user_id", "uid"])
    qu = pd.read_parquet(paths.quarantine / "users.parquet")
    qcols = [c for c in qu.columns if c not in ("source_line", "raw_line")]  # line number, raw text (empty here)
    assert qcols == ["reason", "source_file", "source_row", "用户", "age"]  # no 城市 (city), no phone
    assert "raw_line" not in qu or qu["raw_line"].isna().all()  # pseudonyms on: the raw line is not kept
    assert qu["用户"].tolist() == [hmac_pseudo("A1", KEY)]
    qcsv = (paths.quarantine / "users.csv").read_text(encoding="utf-8-sig")
    assert "A1" not in qcsv and "13800000001" not in qcsv and "北京" not in qcsv
    manifest = json.loads((paths.data / "_ingest.json").read_text(encoding="utf-8"))["privacy"]
    assert manifest == {
        "pseudonymized_user_ids": True,
        "key_env": "PRIV_TEST_KEY",
        "key_id": key_id(KEY),
        "hidden_columns": ["city", "phone"],
        "hidden_in_files": True,
    }
    assert {f: f.read_bytes() for f in (tmp_path / "in").iterdir()} == raw_before  # raw input never modified


def test_derived_user_id_leaves_no_raw_id_in_kept_columns(tmp_path, write_params, monkeypatch):
    _campaign(tmp_path, write_params, "  pseudonymize_user_ids: true")  # writes the input files
    pfile = write_params(
        f"""campaign: derived
title: derived id
period: {{start: 2024-01-01, end: 2024-01-31}}
tables:
  events:
    source: {{path: "{tmp_path}/in/events.csv"}}
    columns: {{event: ev, ts: time}}
    derive: {{user_id: "lower(uid)"}}
privacy: {{pseudonymize_user_ids: true}}
"""
    )
    monkeypatch.setenv("UBAKIT_PSEUDONYM_KEY", KEY)
    cfg = load_params(pfile)
    paths = campaign_paths(cfg.campaign, tmp_path / "reports")
    ingest_campaign(cfg, paths, progress=False)
    ev = pd.read_parquet(paths.table("events"))
    assert ev["user_id"].tolist() == [hmac_pseudo("a1", KEY), hmac_pseudo("13085", KEY)]
    assert ev["uid"].tolist() == ev["user_id"].tolist()  # the kept source column: pseudonyms, not A1
    q = pd.read_parquet(paths.quarantine / "events.parquet")
    assert not {"A1", "B2"} & set(q["uid"].dropna())


def test_ingest_without_privacy_keeps_ids(tmp_path, write_params):
    pfile = _campaign(tmp_path, write_params, "  pseudonymize_user_ids: false")
    cfg = load_params(pfile)
    paths = campaign_paths(cfg.campaign, tmp_path / "reports")
    ingest_campaign(cfg, paths, progress=False)
    assert pd.read_parquet(paths.table("users"))["user_id"].tolist() == ["A1", "13085"]
    assert "城市" in pd.read_parquet(paths.quarantine / "users.parquet").columns


def test_misspelt_hidden_column_fails_ingest(tmp_path, write_params):
    pfile = _campaign(tmp_path, write_params, "  hide_columns: [citty, phone, 城市]")
    cfg = load_params(pfile)
    with pytest.raises(ParamsError) as e:
        ingest_campaign(cfg, campaign_paths(cfg.campaign, tmp_path / "reports"), progress=False)
    (key, msg), *rest = [p for p in e.value.problems if p[0].startswith("privacy")]
    assert key == "privacy.hide_columns[0]" and "did you mean 'city'" in msg and not rest  # 城市: a source column


# ------------------------------------------------------------------------------------------- hidden columns
def test_hidden_columns_left_out_of_pages_and_files():
    df = pd.DataFrame({"user_id": ["u_1"], "age": [30], "city": ["北京"], "n_events": [3]})
    hide = PrivacyParams(hide_columns=["age", "city", "phone"])
    assert list(page_frame(df, hide).columns) == ["user_id", "n_events"]
    assert list(file_frame(df, hide).columns) == ["user_id", "n_events"]
    keep = PrivacyParams(hide_columns=["age", "city"], hide_in_files=False)
    assert list(file_frame(df, keep).columns) == list(df.columns)
    assert list(df.columns) == ["user_id", "age", "city", "n_events"]  # input not modified


def test_user_profile_never_shows_hidden_columns(tmp_path):
    from helpers.user_profile import ProfileReport

    table = pd.DataFrame(
        {"user_id": ["u_1", "u_2"], "city": ["北京", "上海"], "gender": ["女", "男"], "n_events": [3, 4]}
    )
    rep = ProfileReport(table=table, privacy=PrivacyParams(hide_columns=["city", "gender"]))
    assert list(rep._show("sample").data.columns) == ["user_id", "n_events"]
    assert list(rep.tables()["table"].columns) == ["user_id", "n_events"]
    rep_files = ProfileReport(table=table, privacy=PrivacyParams(hide_columns=["city"], hide_in_files=False))
    assert "city" in rep_files.tables()["table"].columns  # files keep it when asked
    assert "city" not in rep_files._show("sample").data.columns  # pages never show it
    assert list(rep.table.columns) == list(table.columns)  # the analyst's frame keeps everything


# ------------------------------------------------------------------------------------------- results tables
def test_every_report_table_is_classified():
    from helpers.registry import all_reports

    named = {(name, t) for name, cls in all_reports().items() for t in cls.table_names}
    assert named == set(TABLE_LEVELS), (
        f"not classified: {sorted(named - set(TABLE_LEVELS))}; stale: {sorted(set(TABLE_LEVELS) - named)}"
    )
    assert set(TABLE_LEVELS.values()) == {USER_LEVEL, AGGREGATE}
    assert table_level("my_notebook", "anything") == USER_LEVEL  # unknown tables are never bundled by default


# ------------------------------------------------------------------------------------------- bundle
def _fake_campaign(root: Path) -> None:
    """A campaign folder as a run leaves it: pages, results, and the folders a bundle must leave out."""
    for d in ("results", "data", "raw", "quarantine", "notebooks", ".cache", ".state"):
        (root / d).mkdir(parents=True, exist_ok=True)
    for name in ("funnel", "rfm", "old"):  # old.html: a report no longer in the campaign, not on the index
        (root / f"{name}.html").write_text(f"<html>{name}</html>", encoding="utf-8")
    (root / "index.html").write_text("<a href='funnel.html'>funnel</a> <a href='rfm.html'>rfm</a>", encoding="utf-8")
    res = root / "results"
    (res / "funnel.json").write_text(json.dumps({"notebook": "funnel", "csv": {"steps": "funnel_steps.csv"}}))
    (res / "rfm.json").write_text(
        json.dumps({"notebook": "rfm", "csv": {"segments": "rfm_segments.csv", "membership": "rfm_membership.csv"}})
    )
    for f in ("funnel_steps.csv", "rfm_segments.csv", "rfm_membership.csv", "stray.csv"):
        (res / f).write_text("a\n1\n", encoding="utf-8")
    (res / "user_profile.parquet").write_bytes(b"PAR1")
    for f in ("data/events.parquet", "raw/events.csv", "quarantine/events.csv", "notebooks/rfm.ipynb"):
        (root / f).write_text("x", encoding="utf-8")


def test_bundle_holds_pages_and_aggregate_csvs_only(tmp_path, capsys):
    root = campaign_paths("demo", tmp_path).root
    _fake_campaign(root)
    assert [n for _, n in bundle_members(root)] == [
        "index.html",
        "funnel.html",
        "rfm.html",
        "results/funnel_steps.csv",
        "results/rfm_segments.csv",
    ]
    b = write_bundle("demo", reports_dir=tmp_path)
    assert b.path == root / "demo-bundle.zip"
    with zipfile.ZipFile(b.path) as zf:
        assert sorted(zf.namelist()) == sorted(b.files)
        assert zf.read("demo/funnel.html") == b"<html>funnel</html>"
    assert any("NOT pseudonymised" in n for n in b.notes)  # no ingest manifest saying otherwise
    out = tmp_path / "share" / "x.zip"
    assert cli_main(["bundle", "demo", "--reports-dir", str(tmp_path), "--with-user-data", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
    assert "demo/results/rfm_membership.csv" in names and "demo/results/rfm_membership.csv" in printed
    assert not any(re.match(r"demo/(data|raw|quarantine|notebooks|\.cache|\.state)/", n) for n in names)
    assert "demo/results/user_profile.parquet" not in names and "demo/results/stray.csv" not in names
    assert "demo/old.html" not in names


def test_bundle_without_reports_exits_2(tmp_path, capsys):
    with pytest.raises(NoReportsError, match="no reports yet"):
        write_bundle("nothing", reports_dir=tmp_path)
    assert cli_main(["bundle", "nothing", "--reports-dir", str(tmp_path)]) == 2
    assert "python -m helpers run params/nothing.yaml" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------- end to end
_RAW_ID = re.compile(r"(?<![A-Za-z0-9+/=])U\d{5}(?![A-Za-z0-9+/=])")  # not inside base64 (images, fonts)


def _texts(path: Path):
    """(name, text) of a file to search for raw ids: Parquet as CSV text, everything else as decoded bytes."""
    if path.suffix == ".parquet":
        yield path.name, pd.read_parquet(path).to_csv(index=False)
    else:
        yield path.name, path.read_bytes().decode("utf-8", errors="replace")


def _raw_ids_in(text: str, ids: set[str]) -> set[str]:
    return set(_RAW_ID.findall(text)) & ids


@pytest.mark.e2e
def test_demo_run_with_pseudonyms_shows_no_raw_id(tmp_path, monkeypatch):
    from helpers.run import run_campaign

    text = (ROOT / "params" / "demo.yaml").read_text(encoding="utf-8").replace("n_users: 2000", "n_users: 300")
    assert "n_users: 300" in text and "privacy:" not in text
    text += "privacy:\n  pseudonymize_user_ids: true\n  hide_columns: [age, gender, city]\n"
    pdir = tmp_path / "params"
    pdir.mkdir()
    (pdir / "demo.yaml").write_text(text, encoding="utf-8")
    shutil.copy(ROOT / "params" / "_defaults.yaml", pdir / "_defaults.yaml")
    monkeypatch.setenv("UBAKIT_PSEUDONYM_KEY", KEY)

    s = run_campaign(pdir / "demo.yaml", reports_dir=tmp_path / "reports", jobs=2, progress=False, echo=lambda *_: None)
    assert s.ok, s.statuses
    root = s.root
    users_raw = [json.loads(line)["user_id"] for line in (root / "raw" / "users.jsonl").read_text().splitlines()]
    ids = set(users_raw)
    assert len(ids) == 300 and _raw_ids_in((root / "raw" / "events.csv").read_text(encoding="utf-8-sig"), ids)

    # every clean table holds exactly the independently computed pseudonyms
    users = pd.read_parquet(root / "data" / "users.parquet")
    assert set(users["user_id"]) == {hmac_pseudo(u, KEY) for u in ids}
    for t in ("orders", "reviews"):
        assert set(pd.read_parquet(root / "data" / f"{t}.parquet")["user_id"]) <= set(users["user_id"]), t
    # events: users, plus devices that never logged in, which keep their own (pseudonymised) id
    ev = pd.read_parquet(root / "data" / "events.parquet")
    others = ev[~ev["user_id"].isin(users["user_id"])]
    assert len(others) and (others["user_id"] == others["original_user_id"]).all()
    assert ev["user_id"].str.match(r"^u_[0-9a-f]{16}$").all() and ev["original_user_id"].str.match(r"^u_").all()

    # no raw id in any page, executed notebook, results file, quarantine file or clean table
    files = [
        *root.glob("*.html"),
        *(root / "notebooks").glob("*.ipynb"),
        *(root / "results").iterdir(),
        *(root / "quarantine").iterdir(),
        *(root / "data").iterdir(),
    ]
    assert len([f for f in files if f.parent.name == "results"]) > 20
    leaks = {name: found for f in files for name, t in _texts(f) if (found := _raw_ids_in(t, ids))}
    assert not leaks, leaks
    # the quarantine sample on the ingest page shows pseudonymised source ids
    assert re.search(r"u_[0-9a-f]{16}", (root / "ingest.html").read_text(encoding="utf-8"))

    # hidden columns: not on the profile page, not in the user-level files
    page = (root / "user_profile.html").read_text(encoding="utf-8")
    from helpers.i18n import label

    shown = {c: re.escape(label(f"col.{c}", c, lang="zh")) for c in ("user_id", "age", "gender", "city")}
    assert re.search(rf">\s*{shown['user_id']}\s*</th>", page)
    assert not re.search(rf">\s*({shown['age']}|{shown['gender']}|{shown['city']}|age|gender|city)\s*</th>", page)
    assert not {"age", "gender", "city"} & set(pd.read_csv(root / "results" / "user_profile_table.csv").columns)
    assert not {"age", "gender", "city"} & set(pd.read_parquet(root / "results" / "user_profile.parquet").columns)

    # the bundle: no user-level CSV by default; none of its files holds a raw id, even with user data
    b = write_bundle(pdir / "demo.yaml", reports_dir=tmp_path / "reports")
    assert "demo/index.html" in b.files and "demo/results/funnel_steps.csv" in b.files
    assert not any(n.endswith(("_membership.csv", "_at_risk.csv", "_users.csv", "profile_table.csv")) for n in b.files)
    full = write_bundle("demo", reports_dir=tmp_path / "reports", with_user_data=True, out=tmp_path / "full.zip")
    assert "demo/results/churn_at_risk.csv" in full.files
    assert not any("NOT pseudonymised" in n for n in full.notes + b.notes)
    with zipfile.ZipFile(full.path) as zf:
        for n in zf.namelist():
            found = _raw_ids_in(io.TextIOWrapper(zf.open(n), encoding="utf-8", errors="replace").read(), ids)
            assert not found, (n, found)

    # the same key gives the same pseudonyms on another ingest; another key gives others
    cfg = load_params(pdir / "demo.yaml")
    again = campaign_paths("demo", tmp_path / "again")
    ingest_campaign(cfg, again, progress=False)
    assert pd.read_parquet(again.table("users"))["user_id"].tolist() == users["user_id"].tolist()
    monkeypatch.setenv("UBAKIT_PSEUDONYM_KEY", OTHER_KEY)
    other = campaign_paths("demo", tmp_path / "other")
    ingest_campaign(cfg, other, progress=False)
    other_ids = pd.read_parquet(other.table("users"))["user_id"]
    assert not set(other_ids) & set(users["user_id"])
    assert other_ids.tolist() == [hmac_pseudo(u, OTHER_KEY) for u in users_raw]
