"""``engine: spark``: every event-level helper gives the same result on PySpark (local mode) as on DuckDB,
on the real Taobao sample ingested into clean Parquet, plus a hand-made orders table with amounts, returns
and nulls (the sample has no prices). One SparkSession for the module (one JVM start).

Timestamps: Spark's pandas conversion gives ``datetime64[ns]`` where DuckDB gives ``[us]``; helpers that
return pandas normalise to ``[us]`` and are compared as they are; Ibis tables (``sessionize``) and
``funnel_users`` are compared after bringing both to ``[us]`` (the values are compared exactly).
"""

import importlib.util
import os
import shutil
import sys

import numpy as np
import pandas as pd
import pytest

from helpers.campaign import Context, open_campaign
from helpers.features import campaign_orders, user_features
from helpers.funnel import funnel_users
from helpers.journey import next_after_dropoff, sessionize, time_ties
from helpers.locations import campaign_paths
from helpers.params import load_params
from helpers.retention import cohort_counts, lifecycle_table, run_retention, stickiness_table
from helpers.rfm import rfm_table, run_rfm

from .conftest import TAOBAO, need

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]


def taobao(test):
    """Mark a test that runs on the real Taobao sample (skipped when ../shared/data is absent)."""
    return pytest.mark.shared(need(TAOBAO)(test))


STEPS = ["pv", "cart", "buy"]
DATA_END = pd.Timestamp("2017-12-04")  # the day after the campaign period

# the Taobao campaign (params/taobao.yaml) with only its events table, so that RFM orders are its buy events
# (helpers.features.campaign_orders), as they are for any campaign without an orders table
CAMPAIGN = f"""
campaign: taobao_spark
title: Taobao sample on Spark
timezone: Asia/Shanghai
period: {{start: 2017-11-25, end: 2017-12-03}}
engine: spark
tables:
  events:
    source: {{path: "{TAOBAO}"}}
    columns: {{user_id: user_id, event: behavior_type, ts: timestamp, item_id: item_id, category: category_id}}
    ts_format: epoch_s
    events: [pv, fav, cart, buy]
funnel: {{steps: [pv, cart, buy], window: 72h}}
retention: {{period: day, lifecycle_period: day, stickiness_period: week}}
rfm: {{scheme: cn8}}
"""


def _why_no_spark() -> str | None:
    if importlib.util.find_spec("pyspark") is None:
        return "PySpark is not installed (pip install -e '.[spark]')"
    home = os.environ.get("JAVA_HOME")
    if not shutil.which("java") and not (home and os.path.exists(os.path.join(home, "bin", "java"))):
        return "no Java runtime (PySpark needs Java 17 or 21 on PATH or in JAVA_HOME)"
    return None


@pytest.fixture(scope="module")
def spark():
    why = _why_no_spark()
    if why:
        pytest.skip(why)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("ubakit-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "2g")
        .config("spark.pyspark.python", sys.executable)
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    """(params file, reports folder) of the Taobao events-only campaign, ingested by the kit's ingest."""
    from helpers.ingest import ingest_campaign

    d = tmp_path_factory.mktemp("spark")
    pfile = d / "params" / "taobao_spark.yaml"
    pfile.parent.mkdir()
    pfile.write_text(CAMPAIGN, encoding="utf-8")
    cfg = load_params(pfile)
    ingest_campaign(cfg, campaign_paths(cfg.campaign, d / "reports"), progress=False)
    return pfile, d / "reports"


@pytest.fixture(scope="module")
def ctxs(spark, campaign):
    """{"duck": Context, "spark": Context} over the same clean tables; the Spark one is opened by
    ``open_campaign`` from the ``engine: spark`` params and reuses the module's session."""
    pfile, reports = campaign
    sp = open_campaign("taobao_spark", params_file=str(pfile), reports_dir=str(reports), theme=False)
    duck = Context(cfg=sp.cfg.model_copy(update={"engine": "duckdb"}), paths=sp.paths, params_file=sp.params_file)
    return {"duck": duck, "spark": sp}


@pytest.fixture(scope="module")
def events(ctxs):
    return {k: c.table("events") for k, c in ctxs.items()}


def same(duck: pd.DataFrame, spark: pd.DataFrame, *, sort=None, ts_unit: bool = False) -> None:
    """Equal frames: integers, strings and timestamps exactly, floats to rtol 1e-9. ``sort``: sort both first
    by these columns (True: all columns). ``ts_unit``: bring timestamp columns to microseconds first."""
    a, b = duck, spark
    if sort is not None:
        by = list(a.columns) if sort is True else sort
        a, b = a.sort_values(by, ignore_index=True), b.sort_values(by, ignore_index=True)
    if ts_unit:
        a, b = (
            x.astype({c: "datetime64[us]" for c in x.columns if str(x[c].dtype).startswith("datetime64")})
            for x in (a, b)
        )
    pd.testing.assert_frame_equal(a, b, rtol=1e-9, atol=0)


def both(fn, events):
    return fn(events["duck"]), fn(events["spark"])


@taobao
def test_naive_timestamps_survive_the_round_trip(ctxs, events):
    """DuckDB writes ``ts`` as a naive Parquet timestamp; Spark reads it as TIMESTAMP_NTZ, unchanged."""
    session = ctxs["spark"].con._session
    assert session.conf.get("spark.sql.session.timeZone") == "UTC"  # helpers.engine.connect (and Ibis)
    assert session.table("events_clean").schema["ts"].dataType.typeName() == "timestamp_ntz"
    a, b = (events[k].to_pandas() for k in ("duck", "spark"))
    raw = pd.read_csv(TAOBAO, usecols=["timestamp"])["timestamp"]
    local = pd.to_datetime(raw, unit="s", utc=True).dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    local = local[(local >= "2017-11-25") & (local < "2017-12-04")]  # China wall-clock time, in the period
    assert len(b) == len(local) and b["ts"].min() == local.min() and b["ts"].max() == local.max()
    same(a, b, sort=True, ts_unit=True)


@taobao
@pytest.mark.parametrize("period", ["day", "week"])
@pytest.mark.parametrize("criterion", ["on", "on_or_after"])
def test_cohort_counts(events, period, criterion):
    a, b = both(lambda t: cohort_counts(t, period=period, criterion=criterion), events)
    assert len(a) >= (30 if period == "day" else 3) and a.loc[a["n"] == 0, "users"].sum() == 814
    same(a, b, sort=["cohort", "n"])


@taobao
def test_lifecycle_and_stickiness(events):
    # (daily lifecycle: test_open_campaign_with_engine_spark, through run_retention)
    same(*both(lambda t: lifecycle_table(t, period="week", data_end=DATA_END), events))
    a, b = both(lambda t: stickiness_table(t, period="week", data_end=DATA_END), events)
    same(a["histogram"], b["histogram"])
    assert a["dau_over_wau"] == pytest.approx(b["dau_over_wau"], rel=1e-9) and a["periods"] == b["periods"] > 0


def _rfm_meta(rt):
    """What an RFMTable says besides its table."""
    return rt.as_of, rt.has_monetary, rt.returns, rt.negative_rows


@taobao
def test_rfm_of_buy_events(ctxs):
    (oa, src), (ob, _) = campaign_orders(ctxs["duck"]), campaign_orders(ctxs["spark"])
    assert src.startswith("events")  # no orders table: the buy events are the orders
    for as_of in (None, "2017-12-01"):
        a, b = rfm_table(oa, as_of=as_of), rfm_table(ob, as_of=as_of)
        assert len(a.table) > 400 and a.table["frequency"].max() > 1 and not a.has_monetary
        same(a.table, b.table)
        assert _rfm_meta(a) == _rfm_meta(b)


def test_rfm_with_amounts_returns_and_nulls(spark, tmp_path):
    """Taobao has no prices: a hand-made orders table with multi-line orders, a null amount, a null order id,
    returns (negative amounts) and a customer with only a return, on both engines and both ``returns``."""
    import duckdb
    import ibis

    o = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "b", "b", "c", "c", "d"],
            "order_id": ["1", "1", "2", "3", None, "5", "6", "7"],
            "ts": pd.to_datetime(
                [
                    "2024-03-01 23:59:59.5",
                    "2024-03-01 23:59:59.5",
                    "2024-03-05 00:00:00",
                    "2024-03-02 08:00:00",
                    "2024-03-03 09:00:00",
                    "2024-03-04 10:00:00",
                    "2024-03-04 10:00:00",
                    "2024-03-06 00:00:01",
                ],
                format="ISO8601",
            ),
            "amount": [10.5, 2.25, np.nan, -5.0, 7.0, 3.0, -3.0, -1.0],
        }
    )
    path = tmp_path / "orders.parquet"
    con = duckdb.connect()
    con.register("o", o)
    con.execute(
        f"COPY (SELECT user_id, order_id, CAST(ts AS TIMESTAMP) AS ts, amount FROM o) TO '{path}' (FORMAT parquet)"
    )
    t = {
        "duck": ibis.duckdb.connect().read_parquet(str(path)),
        "spark": ibis.pyspark.connect(spark).read_parquet(str(path)),
    }
    for returns in ("exclude", "net"):
        for as_of in (None, "2024-03-05"):
            a, b = both(lambda x: rfm_table(x, returns=returns, as_of=as_of), t)
            assert a.has_monetary and len(a.table) >= 2
            same(a.table, b.table)
            assert _rfm_meta(a) == _rfm_meta(b)
    # user features on the same rows as buy events: spend with nulls, sub-second times, mean gaps
    ev = {k: x.mutate(event=ibis.literal("buy")) for k, x in t.items()}
    same(*both(user_features, ev))


def test_item_names_and_product_table(spark, tmp_path):
    """Products' item names (the most common name, ties to the smallest, blanks ignored) and the item table on
    both engines, from one Parquet file."""
    import duckdb
    import ibis

    from helpers.products import item_names, product_table

    o = pd.DataFrame(
        {
            "user_id": ["a", "b", "c", "a", "b", "c", "d"],
            "order_id": ["1", "2", "3", "4", "5", "6", "7"],
            "ts": pd.to_datetime(["2024-03-01 10:00"] * 7),
            "item_id": ["X", "X", "X", "X", "Y", "Y", "Z"],
            "item_name": ["mug", "Mug", "mug", "Mug", " ", None, "tea"],
            "amount": [1.5, 2.0, 1.5, 2.25, 3.0, 3.0, 4.0],
        }
    )
    path = tmp_path / "lines.parquet"
    con = duckdb.connect()
    con.register("o", o)
    con.execute(f"COPY (SELECT * REPLACE (CAST(ts AS TIMESTAMP) AS ts) FROM o) TO '{path}' (FORMAT parquet)")
    t = {
        "duck": ibis.duckdb.connect().read_parquet(str(path)),
        "spark": ibis.pyspark.connect(spark).read_parquet(str(path)),
    }
    a, b = both(item_names, t)
    assert a.to_dict() == b.to_dict() == {"X": "Mug", "Z": "tea"}  # X: a tie of two, "Mug" < "mug"
    same(*both(product_table, t))


@taobao
@pytest.mark.parametrize("window", [(None, None), ("2017-11-26", "2017-12-03 12:00")])
def test_user_features(events, window):
    start, end = window
    a, b = both(lambda t: user_features(t, start=start, end=end), events)
    assert len(a) > 800 and a["sessions"].sum() > a["active_days"].sum()
    same(a, b)
    # the mean gap to the bit (an integer sum over a count): a mean of float hours differed by 1 ulp for some
    # users, enough to change the churn model's gradient boosting
    assert np.array_equal(a["mean_gap_hours"].to_numpy(float), b["mean_gap_hours"].to_numpy(float), equal_nan=True)


@taobao
def test_churn_models_equal(events):
    """The churn data set on both engines trains the same models: equal scores to the bit (the Taobao campaign's
    PR AUC once differed in the fourth digit)."""
    from helpers.churn import _feature_cols, _matrix, build_dataset, fit_models

    kw = dict(horizon_days=3, window_days=3, label_events=["buy"], event_types=["buy", "cart", "fav", "pv"])
    a, b = both(lambda t: build_dataset(t, cutoff="2017-11-28", **kw), events)  # the campaign's training cutoff
    same(a, b)
    cols = _feature_cols(a)
    assert "mean_gap_hours" in cols and a["churned"].nunique() == 2 and len(a) > 500
    for name in ("logistic_regression", "gradient_boosting"):
        fa, fb = fit_models(a, cols)["models"][name], fit_models(b, cols)["models"][name]
        xa, xb = _matrix(a, cols)[0], _matrix(b, cols)[0]
        assert np.array_equal(fa.predict_proba(xa), fb.predict_proba(xb)), name


@taobao
def test_sessionize_and_next_after_dropoff(events):
    a, b = (sessionize(events[k], gap_minutes=30).to_pandas() for k in ("duck", "spark"))
    same(a, b, sort=True, ts_unit=True)
    fu = funnel_users(events["duck"], STEPS, window_hours=72)  # the same drop-outs for both engines
    same(*both(lambda t: next_after_dropoff(t, fu, STEPS), events))
    ties = both(time_ties, events)  # the paths caveat's counts (Taobao: 0.5% tied, times to the second)
    assert ties[0] == ties[1] and ties[0]["resolution"] is None and 0 < ties[0]["tied"] < 0.1 * ties[0]["rows"]


@taobao
def test_funnel_users(events):
    a, b = both(lambda t: funnel_users(t, STEPS, window_hours=72), events)
    assert a["reached"].max() == 3 and len(a) > 800
    same(a, b, sort=["user_id"], ts_unit=True)


@taobao
def test_open_campaign_with_engine_spark(ctxs):
    sp, duck = ctxs["spark"], ctxs["duck"]
    assert sp.cfg.engine == "spark" and type(sp.con).__module__.startswith("ibis.backends.pyspark")
    ra, rb = run_retention(duck), run_retention(sp)
    same(ra.counts, rb.counts)
    same(ra.lifecycle, rb.lifecycle)
    assert ra.day1 == rb.day1 and ra.day7 == rb.day7 and ra.day1["cohorts"] > 0
    fa, fb = run_rfm(duck), run_rfm(sp)
    assert fa.source == fb.source and fa.source.startswith("events")
    same(fa.scored, fb.scored)
    same(fa.summary, fb.summary)


@taobao
def test_where_observation_ends(ctxs):
    """helpers.campaign.observed_end on both engines: the Taobao sample runs to 23:59 on the period's last day (no
    cut); cut at 06:00 on that day, as a feed that stopped loading, the day is left out, with the same times."""
    import datetime as dt

    from helpers.campaign import observed_end
    from helpers.periods import PartialCut

    class Stopped:  # the same campaign, its events as if the load had stopped at 06:00 on 2017-12-03
        def __init__(self, ctx):
            self.cfg, self._ctx = ctx.cfg, ctx

        def has(self, name):
            return name == "events"

        def table(self, name):
            t = self._ctx.table(name)
            return t.filter(t.ts < pd.Timestamp("2017-12-03 06:00").to_pydatetime())

    whole = {k: c.observed_end() for k, c in ctxs.items()}
    assert whole["duck"] == whole["spark"] == (DATA_END, None)
    got = {k: observed_end(Stopped(c)) for k, c in ctxs.items()}
    assert got["duck"] == got["spark"], got
    end, cut = got["duck"]
    day = dt.date(2017, 12, 3)
    assert end == pd.Timestamp(day) and isinstance(cut, PartialCut)
    assert (cut.last, cut.end, cut.day, cut.at[:2], cut.usual[:2], cut.days) == (
        day - dt.timedelta(days=1),
        day,
        day,
        "05",
        "23",
        7,
    )
