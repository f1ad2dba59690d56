"""Campaign params: every shipped campaign validates; each kind of mistake gives its message."""

import subprocess
import sys
import textwrap

import pytest

from helpers.locations import campaign_paths, check_slug
from helpers.params import ParamsError, load_params

from .conftest import ROOT, SHARED

GOOD = """
campaign: t1
title: 测试 test
period: {start: 2024-01-01, end: 2024-01-31}
tables:
  events:
    source: {path: PATH}
    columns: {user_id: uid, event: ev, ts: time}
"""


@pytest.fixture
def csv(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("uid,ev,time\n1,pv,2024-01-02 10:00:00\n", encoding="utf-8")
    return p


def problems(path):
    with pytest.raises(ParamsError) as ei:
        load_params(path)
    return ei.value.problems, str(ei.value)


@pytest.mark.parametrize("yaml_file", sorted(p.name for p in (ROOT / "params").glob("[!_]*.yaml")))
def test_every_campaign_validates(yaml_file):
    text = (ROOT / "params" / yaml_file).read_text(encoding="utf-8")
    if "../shared/data" in text and not SHARED.exists():
        pytest.skip("real data samples not available")
    cfg = load_params(ROOT / "params" / yaml_file)
    assert cfg.campaign == yaml_file.removesuffix(".yaml")
    assert cfg.run_notebooks()[0] == "ingest"


def test_good_params_and_defaults(write_params, csv):
    cfg = load_params(write_params(GOOD.replace("PATH", str(csv))))
    assert cfg.timezone == "Asia/Shanghai" and cfg.engine == "duckdb"
    assert cfg.table_names == ["events"]
    assert cfg.spec("events").columns == {"user_id": "uid", "event": "ev", "ts": "time"}


def test_defaults_file_is_merged_under(write_params, csv, tmp_path):
    (tmp_path / "params" / "_defaults.yaml").write_text("timezone: UTC\ningest: {memory_limit: 1GB}\n")
    cfg = load_params(write_params(GOOD.replace("PATH", str(csv))))
    assert cfg.timezone == "UTC" and cfg.ingest.memory_limit == "1GB"
    over = GOOD.replace("PATH", str(csv)) + "timezone: Europe/London\n"
    assert load_params(write_params(over)).timezone == "Europe/London"


def test_misspelt_key_suggests_the_right_one(write_params, csv):
    text = GOOD.replace("PATH", str(csv)).replace("columns:", "colums:")
    probs, msg = problems(write_params(text))
    locs = dict(probs)
    assert "tables.events.colums" in locs
    assert "did you mean 'columns'" in locs["tables.events.colums"]


def test_all_problems_reported_at_once(write_params, csv):
    text = textwrap.dedent(f"""
    campaign: t2
    title: x
    timezone: Asia/Shangai
    period: {{start: 2024-02-30, end: 2024-01-31}}
    engine: pandas
    notebooks: [funel]
    tables:
      events:
        source: {{path: {csv}, encoding: latin9}}
        columns: {{user_id: uid, event: ev, ts: time}}
        max_amount: lots
    """)
    probs, msg = problems(write_params(text))
    locs = dict(probs)
    assert "did you mean 'Asia/Shanghai'" in locs["timezone"]
    assert "period.start" in locs and "YYYY-MM-DD" in locs["period.start"]
    assert "engine" in locs and "'duckdb'" in locs["engine"]
    assert "tables.events.source.encoding" in locs
    assert "tables.events.max_amount" in locs
    assert msg.startswith(str(write_params(text)))
    assert len(probs) >= 5


def test_semantic_problems(write_params, tmp_path):
    text = textwrap.dedent(f"""
    campaign: t3
    title: x
    period: {{start: 2024-01-01, end: 2024-01-31}}
    notebooks: [funel]
    tables:
      events:
        source: {{path: {tmp_path}/nothing-*.csv}}
        columns: {{user_id: uid, event: ev, ts: time, usr: x}}
      orders: {{derive_from: reviews}}
    """)
    probs, _ = problems(write_params(text))
    locs = dict(probs)
    assert "no file matches" in locs["tables.events.source.path"]
    assert "unknown notebook 'funel'" in locs["notebooks[0]"]
    assert "'events' or 'orders'" in locs["tables.orders.derive_from"]
    text = text.replace("derive_from: reviews", "derive_from: events, where_event: [buy]")
    locs = dict(problems(write_params(text))[0])
    assert "did you mean 'user_id'" in locs["tables.events.columns.usr"]
    assert "no file matches" in locs["tables.events.source.path"]


def test_unsafe_campaign_name(write_params, csv):
    text = GOOD.replace("PATH", str(csv)).replace("campaign: t1", "campaign: ../evil")
    probs, _ = problems(write_params(text, name="evil"))
    assert "slug" in dict(probs)["campaign"]
    with pytest.raises(ValueError):
        check_slug("../x")
    with pytest.raises(ValueError):
        campaign_paths("a/../../b")
    p = campaign_paths("ok-1", "/tmp/reports-x")
    with pytest.raises(ValueError, match="outside the campaign folder"):
        p.file("../other/x.json")
    assert str(p.file("results/a.json")).startswith(str(p.root))


def test_file_name_must_match_campaign(write_params, csv):
    probs, _ = problems(write_params(GOOD.replace("PATH", str(csv)), name="other"))
    assert "params/t1.yaml" in dict(probs)["campaign"]


def test_rule_needs_one_condition(write_params, csv):
    text = GOOD.replace("PATH", str(csv)) + "    rules:\n      - {reason: x, column: ev}\n"
    probs, _ = problems(write_params(text))
    assert any("exactly one condition" in m for _, m in probs)


def test_cli_validate_exit_codes(write_params, csv):
    good = write_params(GOOD.replace("PATH", str(csv)))
    r = subprocess.run(
        [sys.executable, "-m", "helpers", "validate", str(good)], capture_output=True, text=True, cwd=ROOT
    )
    assert r.returncode == 0 and "ok" in r.stdout
    bad = write_params(GOOD.replace("PATH", str(csv)).replace("title:", "titel:"))
    r = subprocess.run(
        [sys.executable, "-m", "helpers", "validate", str(bad)], capture_output=True, text=True, cwd=ROOT
    )
    assert r.returncode == 2
    assert "titel: unknown key (did you mean 'title'?)" in r.stderr
    assert "title: required key is missing" in r.stderr
