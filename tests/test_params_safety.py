"""A params file is code (issue 13): derive expressions are one scalar expression or validate refuses them; the
ingest engine can read nothing but the inputs and the campaign folder, and its configuration is locked;
sentiment.model_path stays in the campaign folder and a model loads only with the SHA-256 recorded for it."""

import hashlib
from types import SimpleNamespace

import duckdb
import pandas as pd
import pytest

from helpers.errors import IngestError, ParamsError
from helpers.ingest import connect_duckdb, ingest_campaign
from helpers.locations import campaign_paths
from helpers.params import load_params
from helpers.sqlsafety import derive_problem, lock_down, sql_in, sql_name, sql_text

PARAMS = """
campaign: s
title: safety
period: {{start: 2024-03-01, end: 2024-03-31}}
tables:
  events:
    source: {{path: "{path}"}}
    columns: {{user_id: uid, event: ev, ts: time}}
    derive:
      {key}: {expr}
{extra}"""


def _src(tmp_path):
    src = tmp_path / "e.csv"
    src.write_text(
        "uid,ev,time,price\nu1,view,2024-03-01 10:00:00,2.5\nu2,buy,2024-03-02 10:00:00,4\n", encoding="utf-8"
    )
    return src


@pytest.mark.parametrize(
    "expr,why",
    [
        ("\"read_text('/etc/passwd')\"", "read_text()"),
        ("\"(SELECT content FROM read_text('/etc/passwd'))\"", "subquery"),
        ("\"price; COPY (SELECT 1) TO '/tmp/x.csv'\"", "';'"),
        ("'price -- a comment'", "comment"),
        ("'price /* a comment */'", "comment"),
        ("\"read_csv('/etc/passwd')\"", "read_csv()"),
        ("\"getenv('HOME')\"", "getenv()"),
        ("'count(*)'", "aggregate"),
        ("'other.price'", "without a table"),
    ],
)
def test_validate_rejects_anything_but_one_scalar_expression(tmp_path, write_params, expr, why):
    p = write_params(PARAMS.format(path=_src(tmp_path), key="amount", expr=expr, extra=""))
    with pytest.raises(ParamsError) as ei:
        load_params(p)
    (loc, msg), *rest = ei.value.problems
    assert not rest and loc == "tables.events.derive.amount" and why in msg


def test_a_scalar_derive_expression_passes_and_computes(tmp_path, write_params):
    expr = "'round(TRY_CAST(\"price\" AS DOUBLE) * 2, 1)'"
    p = write_params(PARAMS.format(path=_src(tmp_path), key="amount", expr=expr, extra=""))
    cfg = load_params(p)
    rep = ingest_campaign(cfg, campaign_paths("s", tmp_path / "r"), progress=False)["events"]
    assert rep.rows_in == rep.rows_out == 2 and rep.reasons == {}
    assert pd.read_parquet(campaign_paths("s", tmp_path / "r").table("events")).amount.tolist() == [5.0, 8.0]
    assert derive_problem("CASE WHEN a = '1' THEN lower(b) ELSE coalesce(c, 'x') END") is None


def test_the_engine_cannot_read_outside_even_if_an_expression_got_through(tmp_path, write_params, monkeypatch):
    outside = tmp_path / "secret.txt"
    outside.write_text("top secret", encoding="utf-8")
    p = write_params(PARAMS.format(path=_src(tmp_path), key="channel", expr="lower(ev)", extra=""))
    cfg = load_params(p)
    # skip validate's and ingest's checks, as a bug in them would: the locked engine still refuses
    cfg.spec("events").derive = {"channel": f"(SELECT content FROM read_text('{outside}'))"}
    monkeypatch.setattr("helpers.cleaning._check_derive_columns", lambda *a, **k: None)
    with pytest.raises(IngestError, match="(?i)permission|disabled by configuration"):
        ingest_campaign(cfg, campaign_paths("s", tmp_path / "r"), progress=False)
    # the same connection setup, directly: the inputs and the campaign folder only, configuration locked
    paths = campaign_paths("s", tmp_path / "r2").ensure()
    con = connect_duckdb(cfg, paths)
    lock_down(con, directories=[paths.root], files=[_src(tmp_path)])
    assert con.execute(f"SELECT count(*) FROM read_csv('{_src(tmp_path)}')").fetchone()[0] == 2
    for sql in (
        f"SELECT * FROM read_text('{outside}')",
        "SELECT * FROM read_text('/etc/passwd')",
        f"COPY (SELECT 1) TO '{tmp_path / 'evil.csv'}'",
        f"SELECT * FROM read_text('{paths.root}/../../secret.txt')",
    ):
        with pytest.raises(duckdb.Error, match="(?i)permission|disabled"):
            con.execute(sql)
    with pytest.raises(duckdb.Error, match="locked"):
        con.execute("SET enable_external_access = true")
    assert not (tmp_path / "evil.csv").exists()
    con.execute(f"COPY (SELECT 1 AS x) TO '{paths.data / 'ok.parquet'}' (FORMAT parquet)")  # inside: allowed


@pytest.mark.parametrize("path", ["/tmp/model.joblib", "../other/model.joblib", "results/../../x.joblib", "~/m.joblib"])
def test_model_path_outside_the_campaign_folder_fails_validate(tmp_path, write_params, path):
    extra = f"sentiment: {{model_path: '{path}'}}\n"
    p = write_params(PARAMS.format(path=_src(tmp_path), key="channel", expr="lower(ev)", extra=extra))
    with pytest.raises(ParamsError) as ei:
        load_params(p)
    (loc, msg), *rest = ei.value.problems
    assert not rest and loc == "sentiment.model_path" and "relative to the campaign folder" in msg


def test_a_model_loads_only_with_its_recorded_hash(tmp_path):
    import joblib

    from helpers.sentiment import _load_model, _record_model

    paths = campaign_paths("s", tmp_path / "r").ensure()
    ctx = SimpleNamespace(paths=paths)
    model = paths.results / "m.joblib"
    joblib.dump({"w": [1, 2]}, model)
    with pytest.raises(ValueError, match="no hash was recorded"):  # a file this kit did not write
        _load_model(ctx, model)
    _record_model(paths, model)
    recorded = (paths.state / "model_hashes.json").read_text(encoding="utf-8")
    assert hashlib.sha256(model.read_bytes()).hexdigest() in recorded and '"results/m.joblib"' in recorded
    assert _load_model(ctx, model) == {"w": [1, 2]}
    joblib.dump({"w": [6, 6, 6]}, model)  # replaced afterwards
    with pytest.raises(ValueError, match="is not the recorded one"):
        _load_model(ctx, model)


@pytest.mark.parametrize("value", ["plain", "it's", "''", 'a"b', "渠道 = app", "x'); DROP TABLE t; --", ""])
def test_quoting_round_trips_through_duckdb(value):
    """The one definition of SQL quoting: any text comes back unchanged as a literal, as a column name and in an
    IN list; nothing in it is read as SQL."""
    con = duckdb.connect()
    assert con.execute(f"SELECT {sql_text(value)}").fetchone() == (value,)
    if value:  # an identifier cannot be empty
        con.execute(f"CREATE TABLE t AS SELECT 1 AS {sql_name(value)}")
        assert [d[0] for d in con.execute("SELECT * FROM t").description] == [value]
    got = con.execute(f"SELECT {sql_in(sql_text(value), [value, 'other'])}, {sql_in(sql_text('z'), [value])}")
    assert got.fetchone() == (True, False)
