"""helpers.engine.to_pandas: the frame Ibis's own conversion gives, through Arrow on DuckDB where that is equal."""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest

from helpers import engine


def _frame(n: int = 500, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    gaps = rng.random(n) < 0.2  # a null in one row of five, in every column
    return pd.DataFrame(
        {
            "i64": pd.array(np.where(gaps, None, rng.integers(-(2**40), 2**40, n)), dtype="Int64"),
            "i8": pd.array(np.where(gaps, None, rng.integers(-100, 100, n)), dtype="Int8"),
            "u32": pd.array(rng.integers(0, 2**32 - 1, n), dtype="UInt32"),
            "f64": np.where(gaps, np.nan, rng.normal(size=n)),
            "f32": np.where(gaps, np.nan, rng.normal(size=n)).astype("float32"),
            "flag": pd.array(np.where(gaps, None, rng.random(n) < 0.5), dtype="boolean"),
            "text": np.where(gaps, None, rng.choice(["pv", "加购", "", 'a"b'], n)),
            "ts": pd.Series(pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**9, n), unit="ms"))
            .where(~gaps)
            .astype("datetime64[us]"),
            "full": rng.integers(0, 10, n),  # no nulls
        }
    )


@pytest.mark.parametrize("rows", [500, 0])
def test_arrow_conversion_equals_ibis_conversion(rows):
    t = ibis.memtable(_frame().head(rows))
    t = t.mutate(sum_=t.i64 + t.i8, ratio=t.f64 / t.full, late=t.ts > dt.datetime(2024, 1, 5))  # computed columns
    assert engine.duckdb_backend(t) is not None
    assert all(engine._arrow_same(d) for d in t.schema().types)  # the Arrow branch runs
    got = engine.to_pandas(t)
    pd.testing.assert_frame_equal(got, t.to_pandas(), check_exact=True)
    if rows:
        assert got["f64"].isna().sum() == (_frame().f64.isna()).sum()


def test_types_arrow_converts_differently_keep_ibis_conversion():
    """Dates (Ibis: datetime64; Arrow: Python dates), decimals and zoned timestamps: Ibis's own conversion."""
    df = pd.DataFrame({"d": [dt.date(2024, 1, 1), None], "x": [1.5, None], "k": [1, 2]})
    t = ibis.memtable(df)
    t = t.mutate(
        dec=t.x.cast("decimal(10, 2)"), zoned=ibis.literal("2024-01-01 08:00:00+08:00").cast("timestamp('UTC')")
    )
    for col in ("d", "dec", "zoned"):
        assert not engine._arrow_same(t.schema()[col])
        pd.testing.assert_frame_equal(engine.to_pandas(t.select(col, "k")), t.select(col, "k").to_pandas())
    assert engine.to_pandas(t.select("d")).d.dtype.kind == "M"  # Ibis's datetime64, not Arrow's objects


def test_a_frame_with_zoned_times_is_refused_with_the_fix():
    """A hand-made frame's times must be local without a zone (as ingest writes them): a zoned column would take
    its dates and hours from the engine's session zone (UTC), not the campaign's. The error names the column, the
    zone and the conversion; the analyses refuse it before computing anything."""
    from helpers.errors import ZonedTimesError
    from helpers.funnel import funnel_users
    from helpers.retention import cohort_counts

    local = pd.to_datetime(["2024-03-01 23:30", "2024-03-02 00:30"])
    ev = pd.DataFrame({"user_id": ["a", "a"], "event": ["pv", "buy"], "ts": local.tz_localize("Asia/Shanghai")})
    with pytest.raises(ZonedTimesError) as err:
        engine.as_table(ev)
    msg = str(err.value)
    assert "'ts'" in msg and "Asia/Shanghai" in msg and "tz_localize(None)" in msg
    assert isinstance(err.value, ValueError)
    for run in (lambda t: cohort_counts(t), lambda t: funnel_users(t, ["pv", "buy"])):
        with pytest.raises(ZonedTimesError):
            run(ev)
    fixed = ev.assign(ts=ev["ts"].dt.tz_convert("Asia/Shanghai").dt.tz_localize(None))
    assert engine.as_table(fixed).schema()["ts"].timezone is None
    assert cohort_counts(fixed)["users"].tolist() == [1, 1]  # local days 03-01 and 03-02: retained on day 1


def test_a_zoned_engine_table_is_refused_and_local_times_fixes_it(tmp_path):
    """A zoned Parquet read directly gives DuckDB ``TIMESTAMP WITH TIME ZONE``: its days would be UTC days. The
    analyses refuse it; ``local_times`` turns it into campaign-local times, whose days are the local ones."""
    from helpers.errors import ZonedTimesError
    from helpers.features import user_features
    from helpers.retention import cohort_counts

    local = pd.to_datetime(["2024-03-01 23:30", "2024-03-02 00:30", "2024-03-02 07:59"])
    zoned = local.tz_localize("Asia/Shanghai")
    ev = pd.DataFrame({"user_id": ["a", "a", "b"], "event": ["pv", "buy", "pv"], "ts": zoned})
    ev["received"] = ev["ts"] + pd.Timedelta(minutes=1)
    path = tmp_path / "zoned.parquet"
    ev.to_parquet(path)
    t = ibis.duckdb.connect().read_parquet(path)
    assert t.schema()["ts"].timezone is not None  # what DuckDB makes of a zoned Parquet column
    with pytest.raises(ZonedTimesError) as err:
        engine.as_table(t)
    assert "'ts'" in str(err.value) and "local_times" in str(err.value)
    for run in (cohort_counts, user_features):
        with pytest.raises(ZonedTimesError):
            run(t)

    fixed = engine.local_times(t, "Asia/Shanghai")
    assert all(fixed.schema()[c].timezone is None for c in ("ts", "received"))
    got = fixed.order_by("ts").to_pandas()
    assert got["ts"].tolist() == list(local)  # the Beijing wall clock, not UTC's (15:30, 16:30, 23:59 the day before)
    assert got["received"].tolist() == list(local + pd.Timedelta(minutes=1))
    assert got["user_id"].tolist() == ["a", "a", "b"]
    assert engine.as_table(fixed) is fixed
    assert cohort_counts(fixed.filter(fixed.user_id == "a"))["users"].tolist() == [1, 1]  # local days 03-01, 03-02

    frame = engine.local_times(ev, "Asia/Shanghai")  # a pandas frame: the same conversion
    assert frame["ts"].tolist() == list(local) and frame["ts"].dt.tz is None
    assert engine.local_times(frame, "Asia/Shanghai") is frame  # nothing zoned: unchanged
    with pytest.raises(ValueError, match="unknown time zone 'Asia/Beijing'"):
        engine.local_times(t, "Asia/Beijing")


def test_first_day_is_the_earliest_events_midnight():
    """The data's first day, read once (helpers.engine.first_day) where retention and trends each read it: the
    earliest time's day at midnight, from a frame or an Ibis table, a named time column, None for no rows."""
    from helpers.engine import first_day

    df = pd.DataFrame(
        {"ts": pd.to_datetime(["2024-03-02 08:00:00", "2024-03-01 23:59:59", "2024-03-05 00:00:00"]), "x": 1}
    )
    assert first_day(df) == pd.Timestamp("2024-03-01")
    assert first_day(ibis.memtable(df.rename(columns={"ts": "t"})), "t") == pd.Timestamp("2024-03-01")
    assert first_day(df.iloc[:0]) is None
