"""open_campaign's table access: ingest's output by default, or ``clean_data`` (a folder, file:// or an
object-storage URI) holding copies of the clean tables."""

import shutil

import pytest

from helpers.campaign import open_campaign
from helpers.engine import clean_table_location, is_remote
from helpers.ingest import ingest_campaign
from helpers.locations import campaign_paths
from helpers.params import ParamsError, load_params

PARAMS = """
campaign: {name}
title: 测试
period: {{start: 2024-01-01, end: 2024-01-31}}
{extra}
tables:
  events:
    source: {{path: "{path}"}}
    columns: {{user_id: u, event: e, ts: t}}
    events: [view, buy]
"""


@pytest.fixture
def ingested(tmp_path, write_params):
    csv = tmp_path / "ev.csv"
    csv.write_text(
        "u,e,t\na,view,2024-01-02 10:00:00\na,buy,2024-01-02 11:00:00\nb,view,2024-01-03 09:00:00\n", encoding="utf-8"
    )
    reports = tmp_path / "reports"
    p = write_params(PARAMS.format(name="base", extra="", path=csv.as_posix()))
    cfg = load_params(p)
    ingest_campaign(cfg, campaign_paths("base", reports).ensure(), progress=False)
    return tmp_path, reports, csv


def test_default_reads_ingest_output(ingested, write_params):
    tmp, reports, csv = ingested
    ctx = open_campaign("base", params_file=str(tmp / "params" / "base.yaml"), reports_dir=str(reports), theme=False)
    assert ctx.has("events") and not ctx.has("orders")
    assert ctx.table("events").count().execute() == 3
    assert sorted(ctx.df("events")["user_id"]) == ["a", "a", "b"]


@pytest.mark.parametrize("scheme", ["", "file://"])
def test_clean_data_folder(ingested, write_params, scheme):
    tmp, reports, csv = ingested
    copy = tmp / "warehouse" / "base"
    copy.mkdir(parents=True)
    shutil.copy(reports / "base" / "data" / "events.parquet", copy / "events.parquet")
    p = write_params(PARAMS.format(name="other", extra=f"clean_data: {scheme}{copy.as_posix()}", path=csv.as_posix()))
    ctx = open_campaign("other", params_file=str(p), reports_dir=str(reports), theme=False)
    # "other" never ran ingest: its tables come from the copy
    assert not (reports / "other" / "data" / "events.parquet").exists()
    assert ctx.has("events")
    assert ctx.table("events").filter(lambda t: t.event == "buy").count().execute() == 1
    assert list(ctx.df("events", columns=["user_id"]).columns) == ["user_id"]


def test_clean_data_errors_and_remote(ingested, write_params):
    tmp, reports, csv = ingested
    p = write_params(
        PARAMS.format(name="gone", extra=f"clean_data: {(tmp / 'nowhere').as_posix()}", path=csv.as_posix())
    )
    ctx = open_campaign("gone", params_file=str(p), reports_dir=str(reports), theme=False)
    assert not ctx.has("events")
    with pytest.raises(FileNotFoundError, match=r"nowhere/events\.parquet does not exist: check clean_data"):
        ctx.table("events")
    paths = campaign_paths("x", reports)
    assert clean_table_location(paths, "events", "s3a://bucket/ubakit/x/") == "s3a://bucket/ubakit/x/events.parquet"
    assert is_remote("s3a://b/k") and is_remote("hdfs://nn/p") and not is_remote("file:///tmp/x")
    assert not is_remote("/tmp/x") and not is_remote("C:/data")
    p = write_params(PARAMS.format(name="remote", extra="clean_data: s3a://bucket/ubakit/remote", path=csv.as_posix()))
    ctx = open_campaign("remote", params_file=str(p), reports_dir=str(reports), theme=False)
    assert ctx.has("events") and not ctx.has("orders")  # remote: defined tables are assumed present
    bad = write_params(PARAMS.format(name="empty", extra='clean_data: "  "', path=csv.as_posix()))
    with pytest.raises(ParamsError, match="clean_data"):
        load_params(bad)
