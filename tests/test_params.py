"""Campaign params: every shipped campaign validates; each kind of mistake gives its message."""

import subprocess
import sys
import textwrap

import pandas as pd
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


def test_campaign_currency_reaches_rfm_unless_it_names_its_own(write_params, csv):
    good = GOOD.replace("PATH", str(csv))
    cfg = load_params(write_params(good))
    assert (cfg.currency, cfg.rfm.currency) == ("¥", "¥")
    cfg = load_params(write_params(good + 'currency: "£"\n'))
    assert (cfg.currency, cfg.rfm.currency) == ("£", "£")
    cfg = load_params(write_params(good + 'currency: "£"\nrfm: {currency: "€"}\n'))
    assert (cfg.currency, cfg.rfm.currency) == ("£", "€")
    locs = dict(problems(write_params(good + 'currency: "<b>"\n'))[0])
    assert "currency" in locs, locs


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
    # a check across keys names its values; the section it read is not repeated as "got a mapping"
    text2 = text.replace("end: 2024-01-31", "end: 2023-12-01")
    locs2 = dict(problems(write_params(text2))[0])
    assert locs2["period"] == "end (2023-12-01) is before start (2024-01-01)"
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
    # its folder has no _defaults.yaml: the command says the shared defaults are not merged
    assert "t1.yaml: no _defaults.yaml in its folder" in r.stderr and "params/_defaults.yaml" in r.stderr
    assert str(good.parent) not in r.stderr  # no machine path
    (good.parent / "_defaults.yaml").write_text("timezone: UTC\n")
    r = subprocess.run(
        [sys.executable, "-m", "helpers", "validate", str(good)], capture_output=True, text=True, cwd=ROOT
    )
    assert r.returncode == 0 and "_defaults" not in r.stderr
    # a campaign file that is not there: only the error that says so
    r = subprocess.run(
        [sys.executable, "-m", "helpers", "run", str(good.parent.parent / "gone.yaml")],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert r.returncode == 2 and "file not found" in r.stderr and "_defaults" not in r.stderr, r.stderr
    bad = write_params(GOOD.replace("PATH", str(csv)).replace("title:", "titel:"))
    r = subprocess.run(
        [sys.executable, "-m", "helpers", "validate", str(bad)], capture_output=True, text=True, cwd=ROOT
    )
    assert r.returncode == 2
    assert "titel: unknown key (did you mean 'title'?)" in r.stderr
    assert "title: required key is missing" in r.stderr


# --- values, not only keys (issue 12): events and columns named in the analysis sections -------------------
VALUES = """
campaign: tv
title: 值 values
period: {start: 2024-01-01, end: 2024-01-31}
tables:
  events:
    source: {path: PATH}
    columns: {user_id: uid, event: ev, ts: time}
    events: [view, cart, order, pay]
    keep_extra: false
  orders: {derive_from: events, where_event: [pay]}
"""


def test_misspelt_events_and_columns_are_named_with_their_key_path(write_params, csv):
    """Every event named in a section must be a declared event, every column a column of the events table;
    all problems at once, each with its key path and a did-you-mean (the old code accepted all of these)."""
    text = VALUES.replace("PATH", str(csv)).replace("where_event: [pay]", "where_event: [pey]") + textwrap.dedent("""
    funnel:
      steps: [view, cart, ordr, [pay, pai], {event: pay, where: {chanel: app}}]
      exclusions: [{event: fav, between: [1, 2]}]
      breakdown: chanel
    paths: {start_event: veiw, end_event: pay}
    retention: {start_events: [view], return_events: [view, paay]}
    churn: {label_events: [pay, byu]}
    rfm: {buy_events: [pay, odrer]}
    """)
    probs, msg = problems(write_params(text))
    locs = dict(probs)
    expected = {
        "funnel.steps[2]": "event 'ordr' is not an event of this campaign (did you mean 'order'?)",
        "funnel.steps[3][1]": "event 'pai' is not an event of this campaign (did you mean 'pay'?)",
        "funnel.exclusions[0].event": "event 'fav' is not an event of this campaign;",
        "paths.start_event": "(did you mean 'view'?)",
        "retention.return_events[1]": "(did you mean 'pay'?)",
        "churn.label_events[1]": "event 'byu' is not an event of this campaign",
        "rfm.buy_events[1]": "(did you mean 'order'?)",
        "tables.orders.where_event[0]": "(did you mean 'pay'?)",
        "funnel.breakdown": "column 'chanel' is not a column of the events table (did you mean 'channel'?) "
        "(keep_extra is false)",
        "funnel.steps[4].where.chanel": "(did you mean 'channel'?)",
    }
    assert set(locs) == set(expected), probs
    for loc, part in expected.items():
        assert part in locs[loc], (loc, locs[loc])
    assert "its events (tables.events.events): view, cart, order, pay" in locs["funnel.steps[2]"]
    assert "10 problems in the campaign parameters" in msg
    # the command line says the same and exits 2
    from helpers.cli import main

    assert main(["validate", str(write_params(text))]) == 2


def test_step_windows_and_exclusions_must_fit_the_steps(write_params, csv):
    base = VALUES.replace("PATH", str(csv))
    text = base + "funnel: {steps: [view, cart, pay], step_windows: [24h]}\n"
    locs = dict(problems(write_params(text))[0])
    assert locs == {
        "funnel.step_windows": "has 1 entries but funnel.steps has 3 steps: give exactly 2 (one per gap between "
        "consecutive steps; null = no limit)"
    }
    text = base + "funnel: {steps: [view, cart, pay], step_windows: [24h, null, 1h]}\n"
    assert "give exactly 2" in dict(problems(write_params(text))[0])["funnel.step_windows"]
    assert load_params(write_params(base + "funnel: {steps: [view, cart, pay], step_windows: [24h, null]}\n"))
    text = base + "funnel: {step_windows: [24h]}\n"  # default steps come from the data: no gaps to count
    assert "needs funnel.steps" in dict(problems(write_params(text))[0])["funnel.step_windows"]
    text = base + "funnel: {steps: [view, pay], exclusions: [{event: cart, between: [1, 3]}]}\n"
    assert "1 <= k < m <= 2" in dict(problems(write_params(text))[0])["funnel.exclusions[0].between"]


def test_windows_take_a_number_of_hours(write_params, csv):
    """docs/funnel.md: ``window`` is '72h', '7d', '30m', or hours; so is each ``step_windows`` entry. A number is
    kept as text in hours (48 -> '48h'); a bad value still names its key."""
    from helpers.durations import parse_window_hours

    base = VALUES.replace("PATH", str(csv))
    f = load_params(
        write_params(base + "funnel: {steps: [view, cart, pay], window: 48, step_windows: [2, null]}\n")
    ).funnel
    assert (f.window, f.step_windows) == ("48h", ["2h", None])
    assert parse_window_hours(f.window) == 48.0 and parse_window_hours(f.step_windows[0]) == 2.0
    f = load_params(write_params(base + "funnel: {steps: [view, pay], window: 1.5, step_windows: [0.25]}\n")).funnel
    assert (f.window, f.step_windows) == ("1.5h", ["0.25h"])  # 90 and 15 minutes
    assert load_params(write_params(base + "funnel: {window: 7d}\n")).funnel.window == "7d"  # text as given
    shown = "must be a positive duration: write e.g. '72h', '7d', '30m' or a number of hours, got "
    assert dict(problems(write_params(base + "funnel: {window: -1}\n"))[0]) == {"funnel.window": shown + "-1"}
    assert dict(problems(write_params(base + "funnel: {window: abc}\n"))[0]) == {"funnel.window": shown + "'abc'"}
    assert dict(problems(write_params(base + "funnel: {window: 0}\n"))[0]) == {"funnel.window": shown + "0"}
    text = base + "funnel: {steps: [view, cart, pay], step_windows: [-1, abc]}\n"
    assert dict(problems(write_params(text))[0]) == {
        "funnel.step_windows[0]": shown + "-1",
        "funnel.step_windows[1]": shown + "'abc'",
    }


def test_what_only_the_data_can_tell_is_left_to_ingest(write_params, csv):
    """Without a declared event list any event name passes validate, and with keep_extra (the default) any
    column name (both are checked after ingest, tests/test_ingest.py); defaults are never checked."""
    text = GOOD.replace("PATH", str(csv)) + textwrap.dedent("""
    funnel: {steps: [pv, anything], breakdown: Some Source Column}
    churn: {label_events: [whatever]}
    """)
    cfg = load_params(write_params(text))
    assert cfg.funnel.breakdown == "Some Source Column"
    # declared events [pv, buy]: rfm.buy_events' default [buy, pay] is not a mistake of the user
    declared = GOOD.replace("PATH", str(csv)) + "    events: [pv, buy]\n"
    assert load_params(write_params(declared)).rfm.buy_events == ["buy", "pay"]
    # a non-canonical derive: column is a column of the events table even without keep_extra
    derived = declared + "    keep_extra: false\n    derive: {Shop Id: uid}\nfunnel: {breakdown: shop_id}\n"
    assert load_params(write_params(derived)).funnel.breakdown == "shop_id"


def test_events_derived_from_orders_have_one_declared_event(write_params, tmp_path):
    src = tmp_path / "o.csv"
    src.write_text("cust,inv,t,amt\n1,A,2024-01-02 10:00:00,5\n", encoding="utf-8")
    text = textwrap.dedent(f"""
    campaign: to
    title: orders only
    period: {{start: 2024-01-01, end: 2024-01-31}}
    tables:
      orders:
        source: {{path: {src}}}
        columns: {{user_id: cust, order_id: inv, ts: t, amount: amt}}
      events: {{derive_from: orders, event_name: buy}}
    churn: {{label_events: [pay]}}
    funnel: {{breakdown: shop}}
    """)
    locs = dict(problems(write_params(text))[0])
    assert "its events (tables.events.event_name): buy" in locs["churn.label_events[0]"]
    assert "(the events table is derived from orders)" in locs["funnel.breakdown"]


def test_plain_chinese_labels_on_an_english_campaign(write_params, csv):
    """One language per page: on an English campaign a label written only in Chinese (a cleaning rule's, a funnel
    step's, a trends or experiment metric's) is dropped at load, so the page names the code (the rule's reason, the
    step's event, the metric's name); ``validate`` names each key that lost its label, and a Chinese title. A
    Chinese campaign keeps every label; a label given per language gets no note."""
    from helpers.params import language_notes
    from helpers.steps import Step

    text = GOOD.replace("PATH", str(csv)) + textwrap.dedent("""\
            rules:
              - {reason: test_user, label: 测试用户, column: uid, starts_with: T}
        funnel:
          steps: [pv, {event: buy, label: 购买}, {event: pay, label: {zh: 支付, en: payment}}]
        trends:
          metrics:
            - active_users
            - {name: buyers, label: 购买人数, event: buy, agg: users}
        experiment:
          start: 2024-01-10
          assignment: {source: users_column, column: variant}
          control: a
          metrics:
            - {name: conv, label: 下单转化 conversion, kind: conversion, event: buy}
        """)
    zh = load_params(write_params(text), check_files=False)
    assert zh.spec("events").rules[0].label == "测试用户" and zh.funnel.steps[1].label == "购买"
    assert language_notes(write_params(text)) == []
    en_path = write_params(text + "language: en\n")
    en = load_params(en_path, check_files=False)
    assert en.spec("events").rules[0].label == "" and en.trends.metrics[1].label == ""
    assert en.experiment.metrics[0].label == ""
    assert [Step.of(s).name for s in en.funnel.steps] == ["pv", "buy", "payment"]
    notes = language_notes(en_path)
    assert len(notes) == 2, notes
    for key in ("tables.events.rules[0].label (测试用户)", "funnel.steps[1].label (购买)",
                "trends.metrics[1].label (购买人数)", "experiment.metrics[0].label (下单转化 conversion)"):  # fmt: skip
        assert key in notes[0], (key, notes[0])
    assert "funnel.steps[2]" not in notes[0] and "title is written only in Chinese" in notes[1]
    assert "give them per language" in notes[0] and "give it per language" in notes[1]
    r = subprocess.run(
        [sys.executable, "-m", "helpers", "validate", str(en_path)], capture_output=True, text=True, cwd=ROOT
    )
    assert r.returncode == 0 and "funnel.steps[1].label (购买)" in r.stderr and str(en_path.parent) not in r.stderr


def test_validate_finds_a_mapped_column_missing_from_the_file_header(tmp_path, write_params, capsys):
    """``ts: evnt_time`` passed ``validate`` (exit 0) and failed only at the run, after the ingest notebook had
    started. validate now reads each CSV table's header as ingest's reader does (its first lines, transcoded), and
    names the key, the file and the closest column; a GBK file with a Chinese header and right names passes."""
    from helpers.cli import main

    src = tmp_path / "ev.csv"
    src.write_text("uid,event_name,event_time\nu1,view,2024-03-01 10:00:00\n", encoding="utf-8")
    base = (
        "campaign: hdr\ntitle: t\nperiod: {start: 2024-03-01, end: 2024-03-31}\n"
        f'tables:\n  events:\n    source: {{path: "{src}"}}\n'
    )
    bad = write_params(base + "    columns: {user_id: uid, event: event_name, ts: evnt_time}\n")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert (
        "tables.events.columns.ts: column 'evnt_time' is not in the header of ev.csv (did you mean 'event_time'?)"
        in (err)
    )
    assert "the file has: uid, event_name, event_time" in err
    good = write_params(base + "    columns: {user_id: uid, event: event_name, ts: event_time}\n")
    assert main(["validate", str(good)]) == 0
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("用户,事件,时间\n张三,浏览,2024-03-01 10:00:00\n".encode("gbk"))
    zh = base.replace(str(src), str(gbk)) + "    columns: {user_id: 用户, event: 事件, ts: 时间}\n"
    assert main(["validate", str(write_params(zh))]) == 0, capsys.readouterr().err


def test_experiment_events_and_clustering_k_range_are_checked_at_validate(write_params, csv):
    """An experiment whose exposure_event or metric event is not an event of the campaign passed validate, and the
    run said "no assigned user was exposed in the test window"; clustering with k_min above k_max passed and
    failed the run with "KeyError: 'silhouette'". Both are now named by validate with their key paths."""
    from helpers.errors import ParamsError
    from helpers.params import load_params

    base = VALUES.replace("PATH", str(csv))
    exp = (
        "experiment:\n  name: t\n  start: 2024-01-05\n  control: A\n  exposure_event: checkout_view\n"
        "  assignment: {source: users_column, column: grp}\n"
        "  metrics:\n    - {name: paid, kind: conversion, event: pai}\n"
        "    - {name: carts, kind: count, event: [cart, refund]}\n"
    )
    with pytest.raises(ParamsError) as ei:
        load_params(write_params(base + exp))
    locs = {loc: why for loc, why in ei.value.problems}
    assert (
        "experiment.exposure_event" in locs and "'checkout_view' is not an event" in locs["experiment.exposure_event"]
    )
    assert "(did you mean 'pay'?)" in locs["experiment.metrics[0].event"]
    assert "'refund' is not an event" in locs["experiment.metrics[1].event[1]"]
    assert "experiment.metrics[1].event[0]" not in locs  # cart is declared
    with pytest.raises(ParamsError) as ei:
        load_params(write_params(base + "clustering: {k_min: 6, k_max: 3}\n"))
    assert any(loc.startswith("clustering") and "k_min (6) is above k_max (3)" in why for loc, why in ei.value.problems)


def test_attribution_events_and_the_assignments_file_are_checked_at_validate(write_params, csv, tmp_path, capsys):
    """``attribution.conversion_event: payy`` passed validate and the run said "no conversions"; a touch event's typo
    said "no touches". An assignments file that is not there was found only by the experiment report, after ingest,
    and one without the named variant column too. validate now names each key, with the closest name."""
    from helpers.cli import main

    base = VALUES.replace("PATH", str(csv))
    attr = "attribution:\n  conversion_event: payy\n  touch_events: [view, carts]\n"
    locs = dict(problems(write_params(base + attr))[0])
    assert "'payy' is not an event of this campaign (did you mean 'pay'?)" in locs["attribution.conversion_event"]
    assert "(did you mean 'cart'?)" in locs["attribution.touch_events[1]"]
    assert "attribution.touch_events[0]" not in locs
    # the default conversion event is checked too: without "pay" the report would have nothing to credit
    assert load_params(write_params(base + "attribution:\n  touch_events: [view]\n"))  # pay is declared
    no_pay = base.replace("events: [view, cart, order, pay]", "events: [view, cart, order, buy]").replace(
        "where_event: [pay]", "where_event: [buy]"
    )
    locs = dict(problems(write_params(no_pay + "attribution:\n  touch_events: [view]\n"))[0])
    assert "event 'pay' is not an event of this campaign" in locs["attribution.conversion_event"]
    assert load_params(write_params(no_pay + "attribution:\n  touch_events: [view]\n  conversion_event: null\n"))
    exp = (
        "experiment:\n  name: t\n  start: 2024-01-05\n  control: A\n"
        "  assignment: {source: table, path: ASSIGN, user_col: uid, column: group}\n"
        "  metrics:\n    - {name: paid, kind: conversion, event: pay}\n"
    )
    missing = tmp_path / "nowhere.csv"
    locs = dict(problems(write_params(base + exp.replace("ASSIGN", str(missing))))[0])
    assert locs["experiment.assignment.path"].startswith(f"no file {str(missing)!r}")
    assign = tmp_path / "assign.csv"
    assign.write_text("uid,grp\n1,A\n2,B\n", encoding="utf-8")
    bad = write_params(base + exp.replace("ASSIGN", str(assign)))
    assert load_params(bad)  # the file is there: its columns are validate's header check
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert (
        "experiment.assignment.column: column 'group' is not in assign.csv (did you mean 'grp'?); "
        "the file has: uid, grp" in err
    )
    assert "experiment.assignment.user_col" not in err
    pq = tmp_path / "assign.parquet"
    pd.DataFrame({"user": ["1"], "group": ["A"]}).to_parquet(pq)
    assert main(["validate", str(write_params(base + exp.replace("ASSIGN", str(pq))))]) == 2
    assert "experiment.assignment.user_col: column 'uid' is not in assign.parquet; the file has: user, group" in (
        capsys.readouterr().err
    )


def test_validate_checks_the_experiment_segment_against_the_users_file(tmp_path, write_params, csv, capsys):
    """``experiment.segment: chanel`` left the segments out only at run time. validate now checks it against the
    columns the clean users table will have (the file's header as ingest names it: mapped canonical columns, kept
    extra columns, derive keys), with the closest one; a campaign without a users table is told so."""
    from helpers.cli import main

    users = tmp_path / "users.csv"
    users.write_text("uid,渠道,Member Level\nu1,app,gold\n", encoding="utf-8")
    base = VALUES.replace("PATH", str(csv)) + (
        f'  users:\n    source: {{path: "{users}"}}\n    columns: {{user_id: uid, channel: 渠道}}\n'
    )
    exp = (
        "experiment:\n  name: t\n  start: 2024-01-05\n  control: A\n"
        "  assignment: {source: users_column, column: member_level}\n"
        "  metrics:\n    - {name: paid, kind: conversion, event: pay}\n  segment: SEG\n"
    )
    for ok in ("channel", "member_level"):  # a mapped canonical column; a kept extra column, as ingest names it
        assert main(["validate", str(write_params(base + exp.replace("SEG", ok)))]) == 0, capsys.readouterr().err
    assert main(["validate", str(write_params(base + exp.replace("SEG", "chanel")))]) == 2
    err = capsys.readouterr().err
    assert "experiment.segment: column 'chanel' will not be in the users table (from users.csv) (did you mean " in err
    assert "'channel'?); its columns: user_id, channel, member_level" in err
    no_users = VALUES.replace("PATH", str(csv)) + exp.replace("SEG", "channel")
    assert main(["validate", str(write_params(no_users))]) == 2
    assert "experiment.segment: 'channel' is a users-table column, and this campaign has no tables.users" in (
        capsys.readouterr().err
    )


def test_validate_checks_event_columns_the_analyses_name_against_the_events_file(tmp_path, write_params, capsys):
    """``attribution.touch_col: utm_src`` passed validate and failed the attribution report at run time;
    ``funnel.breakdown: chanel`` passed and failed ingest. validate now checks the events columns the analyses name
    against the columns the clean events table will have from its CSV header (kept extras as ingest names them)."""
    from helpers.cli import main

    ev = tmp_path / "ev.csv"
    ev.write_text("uid,ev,time,UTM Source,channel\nu1,view,2024-01-02 10:00:00,baidu,app\n", encoding="utf-8")
    base = (
        "campaign: evcols\ntitle: t\nperiod: {start: 2024-01-01, end: 2024-01-31}\ntables:\n  events:\n"
        f'    source: {{path: "{ev}"}}\n    columns: {{user_id: uid, event: ev, ts: time}}\n'
    )
    good = base + "funnel: {steps: [view, pay], breakdown: channel}\n"
    good += "attribution: {touch_col: utm_source, conversion_event: pay}\n"
    assert main(["validate", str(write_params(good))]) == 0, capsys.readouterr().err
    bad = good.replace("breakdown: channel", "breakdown: chanel").replace("touch_col: utm_source", "touch_col: utm_src")
    assert main(["validate", str(write_params(bad))]) == 2
    err = capsys.readouterr().err
    assert (
        "funnel.breakdown: column 'chanel' will not be in the events table (from ev.csv) (did you mean 'channel'?)"
        in err
    )
    assert "attribution.touch_col: column 'utm_src' will not be in the events table (from ev.csv) (did you mean " in err
    assert "its columns: user_id, event, ts, channel, utm_source" in err


def test_validate_checks_parquet_and_excel_files_columns(tmp_path, write_params, capsys):
    """validate read CSV headers alone: a typo in the columns of a Parquet or Excel events file (``ts: evnt_time``,
    ``attribution.touch_col: utm_src``) passed and was found by ingest or the attribution report. Parquet files now
    give their schemas (the union over the files, as ingest reads them by name) and workbooks their sheet's header
    row; JSON lines are still left to ingest (their keys are known only after every line is read)."""
    import pandas as pd

    from helpers.cli import main

    df = pd.DataFrame({"uid": ["u1"], "ev": ["view"], "event_time": ["2024-01-02 10:00:00"], "utm_source": ["bd"]})
    pq_dir = tmp_path / "pq"
    pq_dir.mkdir()
    df.drop(columns="utm_source").to_parquet(pq_dir / "a.parquet", index=False)
    df.to_parquet(pq_dir / "b.parquet", index=False)  # utm_source only in the second file: still a column
    df.to_excel(tmp_path / "ev.xlsx", index=False)
    df.to_json(tmp_path / "ev.jsonl", orient="records", lines=True)
    good_cols = "    columns: {user_id: uid, event: ev, ts: event_time}\n"
    tail = "attribution: {touch_col: utm_source, conversion_event: view}\n"
    files = [
        (pq_dir / "*.parquet", "the schema of a.parquet ..."),
        (tmp_path / "ev.xlsx", "the header row of ev.xlsx"),
        (tmp_path / "ev.jsonl", None),
    ]
    for path, where in files:
        base = (
            "campaign: files\ntitle: t\nperiod: {start: 2024-01-01, end: 2024-01-31}\ntables:\n  events:\n"
            f'    source: {{path: "{path.as_posix()}"}}\n'
        )
        assert main(["validate", str(write_params(base + good_cols + tail))]) == 0, capsys.readouterr().err
        bad = base + good_cols.replace("ts: event_time", "ts: evnt_time") + tail.replace("utm_source", "utm_src")
        code = main(["validate", str(write_params(bad))])
        err = capsys.readouterr().err
        if where is None:  # JSON lines: left to ingest
            assert code == 0, err
            continue
        assert code == 2
        assert f"tables.events.columns.ts: column 'evnt_time' is not in {where} (did you mean 'event_time'?)" in err
        assert "the file has: uid, ev, event_time, utm_source" in err
        good_ts = base + good_cols + tail.replace("utm_source", "utm_src")  # only the touch column wrong
        assert main(["validate", str(write_params(good_ts))]) == 2
        err = capsys.readouterr().err
        assert "attribution.touch_col: column 'utm_src' will not be in the events table (from " in err, err


def test_validate_names_the_clean_columns_as_ingest_does(tmp_path, write_params, capsys):
    """validate named a kept column that collides with a canonical one as the file has it (``User ID`` ->
    ``user_id``), where ingest keeps it as ``src_user_id``: a breakdown on ``src_user_id`` failed validate, one on
    ``user_id`` meant the mapped id. Both now take the names from one function; checked here against the clean
    table ingest writes."""
    import pandas as pd

    from helpers.cli import main
    from helpers.headers import _clean_columns, _file_header
    from helpers.ingest import ingest_campaign
    from helpers.locations import campaign_paths

    ev = tmp_path / "ev.csv"
    ev.write_text(
        "uid,ev,time,User ID,Order Channel,order channel,Event\nu1,view,2024-01-02 10:00:00,9,app,web,1\n"
        "u1,pay,2024-01-02 11:00:00,9,app,web,1\n",
        encoding="utf-8",
    )
    base = (
        "campaign: names\ntitle: t\nperiod: {start: 2024-01-01, end: 2024-01-31}\ntables:\n  events:\n"
        f'    source: {{path: "{ev}"}}\n    columns: {{user_id: uid, event: ev, ts: time}}\n'
        "    derive: {Day Part: \"'am'\"}\n"
    )
    p = write_params(base + "funnel: {steps: [view, pay], breakdown: src_user_id}\n")
    assert main(["validate", str(p)]) == 0, capsys.readouterr().err
    from helpers.params import load_params

    cfg = load_params(p)
    expected = _clean_columns("events", cfg.tables.events, _file_header(cfg.tables.events)[0])
    ingest_campaign(cfg, campaign_paths("names", tmp_path / "reports"), progress=False)
    written = list(pd.read_parquet(tmp_path / "reports" / "names" / "data" / "events.parquet").columns)
    assert sorted(expected) == sorted(written)
    assert {"src_user_id", "order_channel", "src_event", "day_part"} <= set(written)
