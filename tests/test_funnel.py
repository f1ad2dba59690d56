"""Funnel rules on hand-built logs with known answers, and an independent check on the Taobao sample."""

import math

import pandas as pd
import pytest

from helpers.attempts import funnel_attempts, funnel_users
from helpers.durations import parse_window_hours
from helpers.funnel import (
    compare_groups,
    conversion_trend,
    funnel_breakdown,
    funnel_table,
    time_to_convert,
)
from helpers.stats import wilson_interval

from .conftest import REES46, TAOBAO, need

T0 = pd.Timestamp("2024-01-01 00:00:00")


def log(rows, extra=None):
    """rows: (user, event, hours after T0[, extra value])."""
    df = pd.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "event": [r[1] for r in rows],
            "ts": [T0 + pd.Timedelta(hours=r[2]) for r in rows],
        }
    )
    if extra:
        df[extra] = [r[3] for r in rows]
    return df


def reached(df, steps=("a", "b", "c"), **kw):
    u = funnel_users(df, list(steps), **kw)
    return dict(zip(u.user_id, u.reached))


def test_window_parsing():
    assert parse_window_hours("72h") == 72 and parse_window_hours("7d") == 168 and parse_window_hours("30m") == 0.5
    assert parse_window_hours(5) == 5.0 and parse_window_hours("2w") == 336
    for bad in ("72 hours", "-3h", "0d", "abc", -1, 0, float("nan"), float("inf")):  # YAML .nan / .inf: numbers
        with pytest.raises(ValueError, match="window"):
            parse_window_hours(bad)


def test_ordered_basics_and_window_edge():
    df = log(
        [
            ("u1", "a", 0),
            ("u1", "b", 1),
            ("u1", "c", 72),  # c exactly at the window edge: in
            ("u2", "a", 0),
            ("u2", "b", 1),
            ("u2", "c", 72.001),  # just after: out
            ("u3", "b", 0),
            ("u3", "a", 1),
            ("u3", "c", 2),  # b before a does not count
            ("u4", "a", 0),
            ("u4", "c", 1),
            ("u4", "b", 2),
        ]
    )  # ordered: c before b -> 2 steps
    assert reached(df, window_hours=72) == {"u1": 3, "u2": 2, "u3": 1, "u4": 2}


def test_same_instant_counts_as_at_or_after_but_one_row_never_twice():
    df = log([("u1", "a", 0), ("u1", "b", 0), ("u1", "c", 0), ("u2", "a", 0), ("u2", "a", 1)])
    assert reached(df, window_hours=1) == {"u1": 3, "u2": 1}
    # at the same instant, step order wins over event-name order: 'cart' sorts before 'pv' but still counts
    df3 = log([("u1", "pv", 0), ("u1", "cart", 0), ("u1", "buy", 0), ("u2", "cart", 0), ("u2", "pv", 1)])
    assert reached(df3, steps=("pv", "cart", "buy"), window_hours=1) == {"u1": 3, "u2": 1}
    # the same event for two steps needs two rows
    df2 = log([("u1", "a", 0), ("u2", "a", 0), ("u2", "a", 0.5)])
    assert reached(df2, steps=("a", "a"), window_hours=1) == {"u1": 1, "u2": 2}


def test_repeat_of_step1_does_not_restart_and_best_attempt_counts():
    # u1: a at 0 and 48h (inside the 72h window: no restart), b at 100h: outside attempt 1 -> 1 step
    # u2: a at 0, a at 80h (new attempt after the window), b at 100h -> 2 steps via attempt 2
    df = log([("u1", "a", 0), ("u1", "a", 48), ("u1", "b", 100), ("u2", "a", 0), ("u2", "a", 80), ("u2", "b", 100)])
    u = funnel_users(df, ["a", "b"], window_hours=72)
    assert dict(zip(u.user_id, u.reached)) == {"u1": 1, "u2": 2}
    assert dict(zip(u.user_id, u.attempts)) == {"u1": 1, "u2": 2}
    assert u.set_index("user_id").loc["u2", "start"] == T0 + pd.Timedelta(hours=80)
    assert funnel_table(u, ["a", "b"])["users"].tolist() == [2, 1]  # a user counts once


def test_strict_mode_needs_the_very_next_event():
    df = log(
        [
            ("u1", "a", 0),
            ("u1", "b", 1),
            ("u1", "c", 2),
            ("u2", "a", 0),
            ("u2", "x", 1),
            ("u2", "b", 2),
            ("u2", "c", 3),
            ("u3", "a", 0),
            ("u3", "b", 1),
            ("u3", "x", 2),
            ("u3", "c", 3),
        ]
    )
    assert reached(df, mode="strict", window_hours=24) == {"u1": 3, "u2": 1, "u3": 2}
    assert reached(df, mode="ordered", window_hours=24) == {"u1": 3, "u2": 3, "u3": 3}


def test_unordered_mode():
    df = log([("u1", "c", 0), ("u1", "a", 1), ("u1", "b", 2), ("u2", "b", 0), ("u2", "a", 30), ("u3", "c", 0)])
    u = funnel_users(df, ["a", "b", "c"], mode="unordered", window_hours=24)
    assert dict(zip(u.user_id, u.reached)) == {"u1": 3, "u2": 1, "u3": 1}
    assert u.set_index("user_id").loc["u1", "t3"] == T0 + pd.Timedelta(hours=2)


def test_step_windows_and_exclusions():
    df = log(
        [
            ("u1", "a", 0),
            ("u1", "b", 5),
            ("u1", "c", 6),
            ("u2", "a", 0),
            ("u2", "b", 1),
            ("u2", "c", 6),
            ("u3", "a", 0),
            ("u3", "x", 0.5),
            ("u3", "b", 1),
            ("u3", "c", 2),
            ("u4", "a", 0),
            ("u4", "b", 1),
            ("u4", "x", 1.5),
            ("u4", "c", 2),
        ]
    )
    assert reached(df, window_hours=24, step_windows_hours=[2, None]) == {"u1": 1, "u2": 3, "u3": 3, "u4": 3}
    fu = funnel_attempts(df, ["a", "b", "c"], window_hours=24, exclusions=[{"event": "x", "between": [1, 2]}])
    assert set(fu.users.user_id) == {"u1", "u2", "u4"} and fu.excluded_users == 1


def test_censoring():
    df = log([("u1", "a", 0), ("u1", "b", 1), ("u2", "a", 200), ("u2", "b", 201), ("u3", "a", 100)])
    end = T0 + pd.Timedelta(hours=240)  # window 72h: entries after 168h are censored
    u = funnel_users(df, ["a", "b"], window_hours=72, period_end=end)
    assert dict(zip(u.user_id, u.censored)) == {"u1": False, "u2": True, "u3": False}
    t = funnel_table(u, ["a", "b"])
    assert t["users"].tolist() == [2, 1] and t["rate_from_start"].tolist() == [1.0, 0.5]
    assert funnel_table(u, ["a", "b"], include_censored=True)["users"].tolist() == [3, 2]
    # with exclusions, the first *counted* attempt decides (docs/funnel.md): u4's attempt at 0 h has x between
    # steps 1 and 2 and is discarded; its next, at 200 h, is after 168 h: censored; u5's discarded one is the later
    df = log([("u4", "a", 0), ("u4", "x", 1), ("u4", "b", 2), ("u4", "a", 200), ("u4", "b", 201),
              ("u5", "a", 0), ("u5", "b", 1), ("u5", "a", 200), ("u5", "x", 201)])  # fmt: skip
    fu = funnel_attempts(df, ["a", "b"], window_hours=72, exclusions=[{"event": "x", "between": [1, 2]}],
                         period_end=end)  # fmt: skip
    assert dict(zip(fu.users.user_id, fu.users.censored)) == {"u4": True, "u5": False}


def _funnel_of(tmp_path, write_params, source: str, columns: str, period: str, extra: str = ""):
    """The funnel report of a campaign over ``source``, ingested into ``tmp_path``."""
    from helpers.campaign import open_campaign
    from helpers.funnel import FunnelReport
    from helpers.ingest import ingest_campaign

    text = (
        f"campaign: cens\ntitle: t\ntimezone: UTC\nperiod: {period}\ntables:\n  events:\n"
        f'    source: {{path: "{source}"}}\n    columns: {columns}\n'
        f"funnel:\n  steps: [view, cart, purchase]\n{extra}"
    )
    pfile = write_params(text)
    ctx = open_campaign("cens", params_file=str(pfile), reports_dir=str(tmp_path / "r"), theme=False)
    ingest_campaign(ctx.cfg, ctx.paths, progress=False, params_file=ctx.params_file)
    return FunnelReport.run(ctx)


def test_a_funnel_whose_every_user_is_censored_says_why_instead_of_zeros(tmp_path, write_params):
    """A log shorter than the window (a 2-hour sample, a 72-hour window) leaves no user with a full window: the
    report is unavailable and says how to get rates (the longest window that fits: period end - first entry),
    instead of a page of zeros and dashes; include_censored: true gives the rates."""
    from helpers.base import Unavailable

    src = tmp_path / "ev.csv"
    src.write_text(
        "uid,ev,time\n1,view,2024-01-02 10:00:00\n1,cart,2024-01-02 10:05:00\n1,purchase,2024-01-02 10:09:00\n"
        "2,view,2024-01-02 11:30:00\n",
        encoding="utf-8",
    )
    cols = "{user_id: uid, event: ev, ts: time}"
    rep = _funnel_of(tmp_path, write_params, src, cols, "{start: 2024-01-02, end: 2024-01-02}")
    assert isinstance(rep, Unavailable) and not rep.available
    why = rep.findings()[0]
    assert "2 位用户都没有完整的转化窗口：窗口为 3.0 天" in why and "观察在 2024-01-03 00:00 结束" in why, why
    assert "2024-01-02 10:00" in why and "funnel.window 缩短到 14.0 小时以内" in why, why  # 00:00 - 10:00 = 14 h
    rep = _funnel_of(tmp_path, write_params, src, cols, "{start: 2024-01-02, end: 2024-01-02}",
                     "  include_censored: true\n")  # fmt: skip
    assert rep.available and rep.table["users"].tolist() == [2, 1, 1]
    assert any("90% 的用户在 9 分钟内转化" in f for f in rep.findings()), rep.findings()  # no space before 内


@need(REES46)
def test_real_rees46_short_sample_is_censored_then_counted(tmp_path, write_params):
    """The REES46 head covers 2.6 hours of 2019-10-01 (times written "2019-10-01 00:00:00 UTC"): with the default
    72-hour window no user has a full one and the report says so; with a 1-hour window every entry (all before
    23:00) has a full one, step 1 counts the users with a view (counted here in pandas) and no step gains users."""
    from helpers.base import Unavailable

    raw = pd.read_csv(REES46)
    viewers = raw.loc[raw["event_type"] == "view", "user_id"].nunique()
    cols = "{user_id: user_id, event: event_type, ts: event_time, item_id: product_id, amount: price}"
    day = "{start: 2019-10-01, end: 2019-10-01}"
    rep = _funnel_of(tmp_path, write_params, REES46, cols, day)
    assert isinstance(rep, Unavailable), rep
    assert (
        f"{viewers:,} 位用户都没有完整的转化窗口" in rep.findings()[0] and "缩短到 24.0 小时以内" in rep.findings()[0]
    )
    rep = _funnel_of(tmp_path, write_params, REES46, cols, day, "  window: 1h\n")
    assert rep.available and rep.censored_users == 0
    users = rep.table["users"].tolist()
    assert users[0] == viewers and users[0] >= users[1] >= users[2] > 0, users
    assert users[2] <= raw.loc[raw["event_type"] == "purchase", "user_id"].nunique()


def test_breakdown_first_touch_and_a_user_in_two_groups():
    df = log(
        [
            ("u1", "a", 0, "ads"),
            ("u1", "b", 1, "store"),  # group = value at step 1: ads
            ("u2", "a", 0, "store"),
            ("u2", "a", 100, "ads"),
            ("u2", "b", 101, "ads"),  # best attempt 2: ads
            ("u3", "a", 0, "store"),
        ],
        extra="channel",
    )
    u = funnel_users(df, ["a", "b"], window_hours=72, breakdown="channel")
    assert dict(zip(u.user_id, u.group)) == {"u1": "ads", "u2": "ads", "u3": "store"}
    b = funnel_breakdown(u, ["a", "b"])
    assert b[b.step == 2].set_index("group")["users"].to_dict() == {"ads": 2, "store": 0}


def test_wilson_and_z_test_by_hand():
    lo, hi = wilson_interval(30, 100)
    # hand computation: p=.3, z=1.96: centre=(.3+.019208)/1.038415=.307400, half=.088232
    assert lo == pytest.approx(0.2189, abs=1e-4) and hi == pytest.approx(0.3958, abs=1e-4)
    assert all(math.isnan(x) for x in wilson_interval(0, 0))
    users = pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(300)],
            "group": ["A"] * 100 + ["B"] * 200,
            "reached": [2] * 30 + [1] * 70 + [2] * 40 + [1] * 160,
            "censored": False,
        }
    )
    r = compare_groups(users, "A", "B", n_steps=2)
    # pA=.3, pB=.2, pooled=70/300; se=sqrt(.2333*.7667*(1/100+1/200))=.051801; z=1.9305
    assert r["z"] == pytest.approx(1.9305, abs=1e-3)
    from scipy.stats import norm

    assert r["p_value"] == pytest.approx(2 * norm.sf(1.9305), abs=1e-3)
    se = math.sqrt(0.3 * 0.7 / 100 + 0.2 * 0.8 / 200)
    assert r["diff_ci_low"] == pytest.approx(0.1 - 1.959964 * se, abs=1e-6)
    assert r["cohens_h"] == pytest.approx(2 * math.asin(math.sqrt(0.3)) - 2 * math.asin(math.sqrt(0.2)))
    assert r["significant"] is False


def test_trend_and_time_to_convert():
    df = log([("u1", "a", 0), ("u1", "b", 2), ("u2", "a", 24), ("u2", "b", 30), ("u3", "a", 25)])
    u = funnel_users(df, ["a", "b"], window_hours=72)
    tr = conversion_trend(u, n_steps=2)
    assert tr["entered"].tolist() == [1, 2] and tr["converted"].tolist() == [1, 1] and tr["rate"].tolist() == [1, 0.5]
    assert sorted(time_to_convert(u, n_steps=2).tolist()) == [2.0, 6.0]
    t = funnel_table(u, ["a", "b"])
    assert t.loc[1, "median_hours"] == 4.0


def _pandas_funnel(df, steps, window_hours):
    """Independent, plain per-user loop of the ordered rules."""
    win = pd.Timedelta(hours=window_hours)
    df = df.sort_values(["user_id", "ts", "event"], kind="stable")
    counts = [0] * len(steps)
    for _, g in df.groupby("user_id"):
        rows = list(zip(g.ts, g.event))
        firsts = [i for i, (_, e) in enumerate(rows) if e == steps[0]]
        if not firsts:
            continue
        best, starts, end = 0, [], None
        for i in firsts:
            if end is None or rows[i][0] > end:
                starts.append(i)
                end = rows[i][0] + win
        for i in starts:
            deadline, k, pos = rows[i][0] + win, 1, i
            while k < len(steps):
                nxt = next(
                    (j for j in range(pos + 1, len(rows)) if rows[j][1] == steps[k] and rows[j][0] <= deadline), None
                )
                if nxt is None:
                    break
                k, pos = k + 1, nxt
            best = max(best, k)
        for k in range(best):
            counts[k] += 1
    return counts


@need(TAOBAO)
def test_taobao_funnel_matches_an_independent_computation():
    raw = pd.read_csv(TAOBAO)
    raw["ts"] = pd.to_datetime(raw.timestamp, unit="s", utc=True).dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    raw = raw[(raw.ts >= "2017-11-25") & (raw.ts < "2017-12-04")].drop_duplicates()
    ev = pd.DataFrame({"user_id": raw.user_id.astype(str), "event": raw.behavior_type, "ts": raw.ts})
    steps = ["pv", "cart", "buy"]
    u = funnel_users(ev, steps, window_hours=72)
    ours = funnel_table(u, steps, include_censored=True)["users"].tolist()
    assert ours == _pandas_funnel(ev, steps, 72)
    assert ours[0] > ours[1] > ours[2] > 0


def test_wilson_bounds_are_exact_at_zero_and_all():
    """p = 0 or 1 gives exactly 0 or 1 at that end for every group size (floating point gave
    0.9999999999999999 for about a third of sizes, which made a negative error bar)."""
    for n in range(1, 200):
        lo, hi = wilson_interval(n, n)
        assert hi == 1.0 and 0 < lo < 1
        lo, hi = wilson_interval(0, n)
        assert lo == 0.0 and 0 < hi < 1


def test_pages_show_the_tracking_plans_display_names_results_keep_machine_names():
    from types import SimpleNamespace

    from helpers.funnel import FunnelReport, _display_names
    from helpers.params import load_params
    from helpers.steps import Step

    from .conftest import ROOT

    ctx = SimpleNamespace(cfg=load_params(ROOT / "params" / "demo.yaml"))
    steps = [Step.of("view"), Step.of(["order", "pay"]), Step(("cart",), label="加购"), Step.of("zzz")]
    names = _display_names(ctx, steps)
    assert names == {"view": "浏览商品", "order|pay": "提交订单|支付成功"}  # labels and unplanned events stay
    assert _display_names(SimpleNamespace(), steps) == {}  # no params, no plan: machine names
    table = pd.DataFrame({"step": [1, 2], "name": ["view", "order|pay"]})
    rep = FunnelReport(table=table, display=names)
    assert rep._shown(table)["name"].tolist() == ["浏览商品", "提交订单|支付成功"]
    assert table["name"].tolist() == ["view", "order|pay"]  # the results table is not changed


def test_without_a_breakdown_the_page_says_so_once():
    """The breakdown and its test share one section: without funnel.breakdown, one line says so, not two."""
    from helpers.funnel import FunnelReport

    rep = FunnelReport(table=pd.DataFrame({"step": [1], "name": ["pv"]}), breakdown=None)
    assert "funnel.breakdown" in rep._show("breakdown").data
    assert rep._show("test") is None


def test_a_breakdown_of_many_groups_shows_the_largest_and_says_so(monkeypatch):
    """Twelve groups, ``breakdown_top`` 10: the chart and table show the ten with the most entered users (a note
    gives the count and their share of entered users); the report's table (the CSV) keeps all twelve."""
    import helpers.funnel as funnel_mod
    from helpers import i18n
    from helpers.funnel import FunnelReport
    from tests.styled import styled_rows

    rows = []
    for i in range(12):
        entered, conv = 100 - 5 * i, 10
        for step, users in ((1, entered), (2, conv)):
            rows.append({"group": f"g{i:02d}", "step": step, "name": "pv" if step == 1 else "buy", "users": users,
                         "rate_from_start": users / entered, "ci_low": 0.0, "ci_high": 1.0})  # fmt: skip
    bd = pd.DataFrame(rows).sample(frac=1, random_state=1).sort_values(["group", "step"])  # groups by name
    rep = FunnelReport(table=pd.DataFrame({"step": [1, 2], "name": ["pv", "buy"]}), breakdown=bd, breakdown_col="x")
    shown, drawn = [], []
    monkeypatch.setattr(funnel_mod, "_display", shown.append)
    monkeypatch.setattr(funnel_mod, "plot_breakdown", lambda b, **k: drawn.append(b))
    with i18n.language("en"):
        table = rep._show("breakdown")
    entered = {f"g{i:02d}": 100 - 5 * i for i in range(12)}
    top = sorted(entered, key=entered.get, reverse=True)[:10]
    share = sum(entered[g] for g in top) / sum(entered.values())
    assert shown[0].data == (
        f"_12 groups: the chart and table show the 10 with the most entered users ({share * 100:.1f}% of entered "
        "users); the CSV has them all (funnel.breakdown_top)._"
    )
    assert set(drawn[0]["group"]) == set(top) and [r["group"] for r in styled_rows(table)] == sorted(top)
    assert rep.tables()["breakdown"]["group"].nunique() == 12
    shown.clear()
    rep.breakdown_top = 12  # as many as there are: no note, every group
    assert len(styled_rows(rep._show("breakdown"))) == 12 and not [s for s in shown if hasattr(s, "data")]


def test_data_that_ends_before_the_period_censors_where_it_ends(tmp_path, write_params):
    """A feed a day late or a period set past the data: windows after the data's last day are not observed, so the
    funnel censors at the data's end (the day after its last day), not at the period's. By hand, window 24 h, data
    ending on 01-05, period to 01-10: u2 and u3 enter on 01-05, after 01-06 00:00 − 24 h, so both are censored and
    the rate is u1's 1 of 1; censoring at the period's end counted u2 as lost (2 of 3). Retention and churn end there
    too, and each page says so (helpers.campaign.Context.observed_end)."""
    from helpers import i18n
    from helpers.campaign import open_campaign
    from helpers.ingest import ingest_campaign
    from helpers.locations import campaign_paths
    from helpers.params import load_params
    from helpers.periods import cut_note
    from helpers.registry import run_report

    csv = tmp_path / "ev.csv"
    csv.write_text(
        "uid,ev,time\nu1,view,2024-01-01 10:00\nu1,buy,2024-01-01 12:00\nu2,view,2024-01-05 10:00\n"
        "u3,view,2024-01-05 11:00\nu3,buy,2024-01-05 12:00\n",
        encoding="utf-8",
    )
    p = write_params(
        "campaign: late\ntitle: late\ntimezone: UTC\nperiod: {start: 2024-01-01, end: 2024-01-10}\n"
        f"tables:\n  events:\n    source: {{path: {csv.as_posix()}}}\n"
        "    columns: {user_id: uid, event: ev, ts: time}\n"
        "funnel: {steps: [view, buy], window: 24h}\n"
    )
    reports = tmp_path / "reports"
    ingest_campaign(load_params(p), campaign_paths("late", reports).ensure(), progress=False)
    ctx = open_campaign("late", params_file=str(p), reports_dir=str(reports), theme=False)
    with i18n.language("en"):
        end, cut = ctx.observed_end()
        note = cut_note(cut)
        assert end == pd.Timestamp("2024-01-06") and note.startswith(
            "The data ends before the period's end (2024-01-10), on 2024-01-05:"
        )
        rep = run_report("funnel", ctx, show=False)
        assert rep.censored_users == 2 and rep.table["users"].tolist() == [1, 1], rep.table
        assert rep.findings()[-1] == note
        ret = run_report("retention", ctx, show=False)
        assert ret.available and ret.findings()[-1] == note, ret.findings()


def test_default_test_groups_rank_on_reaching_the_last_step():
    """docs/funnel.md: the test compares reaching the last step, and by default the lowest- against the
    highest-converting group with 30+ users, by that same conversion. By hand, 3 steps, 30 users a group:
    a 3 of 30 (10%), b 9 of 30 (30%), c 6 of 30 (20%): a vs b; a group under 30 users (s, all converted) and the
    censored ones (z, all converted) are left out unless ``include_censored``. When nobody reaches step 3, no group
    converts: the groups tie at 0% (the first two, a vs b) and the test shows no difference (0% vs 0%, p = 1);
    ranked on step 2 (the furthest step reached), it picked b (0 of 30) vs a (20 of 30) for a test of 0% vs 0%."""
    from helpers.funnel import _two_groups

    def users(groups, censored=()):
        rows = [(g, r, g in censored) for g, reached in groups.items() for r in reached]
        return pd.DataFrame(
            {
                "user_id": [f"u{i}" for i in range(len(rows))],
                "group": [r[0] for r in rows],
                "reached": [r[1] for r in rows],
                "censored": [r[2] for r in rows],
            }
        )

    u = users(
        {"a": [3] * 3 + [2] * 27, "b": [3] * 9 + [2] + [1] * 20, "c": [3] * 6 + [2] * 14 + [1] * 10,
         "s": [3] * 10, "z": [3] * 40},
        censored={"z"},
    )  # fmt: skip
    assert _two_groups(u, False, n_steps=3) == ["a", "b"]
    assert _two_groups(u, True, n_steps=3) == ["a", "z"]  # z: 40 of 40
    none = users({"a": [2] * 20 + [1] * 10, "b": [1] * 30, "c": [2] * 10 + [1] * 20})
    assert _two_groups(none, False, n_steps=3) == ["a", "b"]
    r = compare_groups(none, "a", "b", n_steps=3)
    assert (r["conv_a"], r["conv_b"], r["diff"], r["z"], r["p_value"], r["significant"]) == (0, 0, 0, 0, 1, False)
    assert _two_groups(users({"a": [3] * 30, "s": [1] * 29}), False, n_steps=3) == []  # one group of 30+: no test


class _Ctx:
    """The part of helpers.Context that FunnelReport uses, over an in-memory events table."""

    def __init__(self, events, funnel, drivers=None):
        from types import SimpleNamespace

        end = pd.Timestamp("2024-01-31").date()
        self.events = events
        self.cfg = SimpleNamespace(funnel=funnel, period=SimpleNamespace(start=T0.date(), end=end))
        if drivers is not None:
            self.cfg.drivers = drivers

    def has(self, name):
        return name == "events"

    def table(self, name):
        import ibis

        return ibis.memtable(self.events)


def _driver_log(*candidates):
    """u1..u4 view then pay (converters), u5..u8 view only (drop-offs); the candidate events an hour after view:
    p1 by u1, u2, u3, u5 (a 3, c 1: odds ratio (4·4)/(2·2) = 4); p2 by u1, u2 (a 2, c 0: (3·5)/(3·1) = 5);
    n1 by u1, u5, u6, u7 (a 1, c 3: (2·2)/(4·4) = 0.25); n2 by u5, u6 (a 0, c 2: (1·3)/(5·3) = 0.2). u9's event on
    the period's last day keeps every entry uncensored."""
    did = {"p1": "1235", "p2": "12", "n1": "1567", "n2": "56"}
    rows = [(f"u{i}", "view", 0) for i in range(1, 9)] + [(f"u{i}", "pay", 2) for i in range(1, 5)]
    rows += [(f"u{i}", e, 1) for e in candidates for i in did[e]] + [("u9", "x", 30 * 24 + 12)]
    return log(rows)


def test_drivers_part_shows_top_n_each_way_and_the_finding_a_positive_driver():
    """``drivers.top_n`` is the number of positive and of negative drivers the part shows (it showed 5 whatever
    top_n said); the finding names the top positive driver (odds ratio above 1), and none when every supported
    candidate is negative (it named "event n1 ... odds ratio 0.25" the top conversion driver)."""
    from helpers import i18n
    from helpers.funnel import FunnelReport
    from helpers.sections import FunnelParams
    from helpers.sections_attribution import DriversParams

    f = FunnelParams(steps=["view", "pay"])
    few = DriversParams(min_users=1, min_share=0, top_n=1)
    with i18n.language("en"):
        rep = FunnelReport.run(_Ctx(_driver_log("p1", "p2", "n1", "n2"), f, few))
        d = rep.drivers.set_index("candidate")
        assert d["odds_ratio"].to_dict() == pytest.approx({"event: p2": 5, "event: p1": 4, "event: n1": 0.25,
                                                           "event: n2": 0.2})  # fmt: skip
        assert d["supported"].all() and rep.censored_users == 0
        assert list(rep._show("drivers").data["candidate"]) == ["event p2", "event n2"]  # 1 each way
        rep = FunnelReport.run(_Ctx(_driver_log("p1", "p2", "n1", "n2"), f, few.model_copy(update={"top_n": 2})))
        assert list(rep._show("drivers").data["candidate"]) == ["event p2", "event p1", "event n2", "event n1"]
        top = [x for x in rep.findings() if x.startswith("Top conversion driver")]
        # p2: 2 of the 2 users who did it converted, 2 of the 6 others
        assert top == [
            "Top conversion driver: event p2. 100.0% of the 2 users who did it converted vs 33.3% of the others "
            "(odds ratio 5.00); correlation, not cause."
        ]
        rep = FunnelReport.run(_Ctx(_driver_log("n1", "n2"), f, few))
        assert rep.drivers["supported"].all() and (rep.drivers["odds_ratio"] < 1).all()
        assert not [x for x in rep.findings() if "driver" in x], rep.findings()
        assert list(rep._show("drivers").data["candidate"]) == ["event n2"]  # the negative one still shown


def test_step_events_lost_at_ingest_are_said_on_the_funnel_page():
    """ "--" for "no amount" quarantined 159 pay events as bad_number and the funnel read 88.3% -> 68.3% with nothing on
    its page about it. The funnel now says which of its step events ingest quarantined in bulk (data/_ingest.json
    event_losses), by their display names; other events, and a campaign without the manifest, add nothing."""
    from types import SimpleNamespace

    from helpers import i18n
    from helpers.funnel import FunnelReport, _step_losses
    from helpers.steps import Step

    losses = [{"event": "pay", "rows": 159, "total": 1353, "reasons": {"bad_number": 159}},
              {"event": "share", "rows": 40, "total": 300, "reasons": {"missing_ts": 40}}]  # fmt: skip
    ctx = SimpleNamespace(ingest_manifest=lambda: {"tables": {"events": {"event_losses": losses}}})
    steps = [Step.of("view"), Step.of(["order", "pay"])]
    assert _step_losses(ctx, steps) == losses[:1]
    assert _step_losses(SimpleNamespace(), steps) == []

    def missing():
        raise FileNotFoundError("no manifest")

    assert _step_losses(SimpleNamespace(ingest_manifest=missing), steps) == []
    table = pd.DataFrame({"step": [1, 2], "name": ["view", "order|pay"], "users": [100, 60],
                          "rate_from_start": [1.0, 0.6], "rate_from_previous": [1.0, 0.6], "drop_off": [0, 40],
                          "ci_low": [1.0, 0.5], "ci_high": [1.0, 0.7]})  # fmt: skip
    rep = FunnelReport(table=table, step_losses=losses[:1], event_names={"pay": "支付成功"})
    with i18n.language("en"):
        said = [f for f in rep.findings() if f.startswith("At ingest")]
    assert said == [
        "At ingest, the quarantine took a large share of some step events' rows: 支付成功 159 of 1,353 rows (11.8%). "
        "Those steps count clean rows only and read low; the ingest page says why."
    ]
    with i18n.language("zh"):
        assert any(
            f.startswith("入库时，部分步骤事件有较大比例的行被隔离：支付成功 159/1,353 行（11.8%）。")
            for f in rep.findings()
        )
