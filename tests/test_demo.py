"""The demo generator: deterministic, exact dirty-row counts, GB18030 reviews, and the planted effects
visible in an independent pandas computation."""

import hashlib

import pandas as pd
import pytest

from helpers.demo import BAD_ITEMS, DEMO_EVENTS, DIRTY, generate_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    return d, generate_demo(d, seed=42)


def _hashes(d):
    return {f: hashlib.sha256((d / f).read_bytes()).hexdigest() for f in ("events.csv", "reviews.csv", "users.jsonl")}


def test_deterministic(demo, tmp_path):
    d, _ = demo
    generate_demo(tmp_path / "a", seed=42)
    generate_demo(tmp_path / "b", seed=7, n_users=300)
    assert _hashes(tmp_path / "a") == _hashes(d)
    assert _hashes(tmp_path / "b")["events.csv"] != _hashes(d)["events.csv"]


def test_dirty_rows_counted_independently(demo):
    d, m = demo
    assert m["dirty"] == DIRTY
    e = pd.read_csv(d / "events.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert (d / "events.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    ts = pd.to_datetime(e.event_time, format="%Y-%m-%d %H:%M:%S", errors="coerce")
    start, end = pd.Timestamp(m["period"]["start"]), pd.Timestamp(m["period"]["end"]) + pd.Timedelta(days=1)
    price = pd.to_numeric(e.price.replace("", None))
    assert int(e.duplicated().sum()) == DIRTY["duplicate"]
    assert int((e.uid == "").sum()) == DIRTY["missing_user_id"]
    assert int(ts.isna().sum()) == DIRTY["bad_timestamp"]
    assert int(((ts < start) | (ts >= end)).sum()) == DIRTY["out_of_period"]
    assert int((price < 0).sum()) == DIRTY["negative_amount"]
    assert int((~e.event_name.isin(DEMO_EVENTS)).sum()) == DIRTY["unknown_event"]
    assert len(e) == m["rows"]["events"] == m["rows"]["events_clean"] + sum(DIRTY.values())


def test_reviews_are_gb18030(demo):
    d, m = demo
    raw = (d / "reviews.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    r = pd.read_csv(d / "reviews.csv", encoding="gb18030")
    assert list(r.columns) == ["评论ID", "用户", "商品", "品类", "评分", "评论内容", "评论时间"]
    assert len(r) == m["rows"]["reviews"] > 1000


def test_planted_effects(demo):
    d, m = demo
    e = pd.read_csv(d / "events.csv", dtype=str, keep_default_na=False).drop_duplicates()
    e = e[e.uid != ""]
    # 1. feed ads: users who carted and then paid, per channel
    carted = e[e.event_name == "cart"].groupby("channel").uid.nunique()
    paid = e[e.event_name == "pay"].groupby("channel").uid.nunique()
    conv = (paid / carted).to_dict()
    others = [v for k, v in conv.items() if k != "信息流广告"]
    assert conv["信息流广告"] < 0.75 * min(others)
    # 2. the week-2 signup cohort is still active in week 5+ more often
    u = pd.read_json(d / "users.jsonl", lines=True)
    signup = pd.to_datetime(u.signup_time)
    day = (signup - pd.Timestamp(m["period"]["start"])).dt.days
    lo, hi = m["planted"]["cohort_days"]
    u["cohort"] = (day >= lo) & (day <= hi)
    ts = pd.to_datetime(e.event_time, errors="coerce")
    last = ts.groupby(e.uid).max()
    u["alive_late"] = u.user_id.map(last) - signup > pd.Timedelta(days=28)
    share = u.groupby("cohort").alive_late.mean()
    assert share[True] > 1.5 * share[False]
    # 3. bad items collect negative reviews
    r = pd.read_csv(d / "reviews.csv", encoding="gb18030")
    neg = (r["评分"] <= 2).groupby(r["商品"].isin(BAD_ITEMS)).mean()
    assert neg[True] >= 0.6 and neg[False] <= 0.3
