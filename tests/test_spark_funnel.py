"""The funnel's attempt chain on Spark (issue 20): on a demo-like data set whose users have many attempts (one
join round per attempt number), Spark gives the same best attempt per user as DuckDB. Each round is a local
checkpoint (:func:`helpers.engine.materialize`); with a Spark ``cache()`` the plan grew with every round and
printing it ran the driver out of memory on the demo.
"""

import pandas as pd
import pytest

from helpers.demo import generate_demo
from helpers.funnel import funnel_attempts

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

STEPS = ["view", "cart", "order", "pay"]


def _demo_events(tmp_path) -> pd.DataFrame:
    """The demo's raw events (100 users, 20 days), with the rows whose user, event or time is unusable dropped."""
    files = generate_demo(tmp_path, seed=42, n_users=100, days=20)["files"]
    raw = pd.read_csv(files["events"], dtype=str, encoding="utf-8-sig")
    ev = pd.DataFrame(
        {
            "user_id": raw["uid"],
            "event": raw["event_name"],
            "ts": pd.to_datetime(raw["event_time"], errors="coerce", format="%Y-%m-%d %H:%M:%S"),
            "channel": raw["channel"],
        }
    )
    ev = ev.dropna(subset=["user_id", "event", "ts"])
    return ev[ev["event"].isin(STEPS)].reset_index(drop=True)


def test_attempt_chain_on_spark_equals_duckdb(spark_ibis, tmp_path):
    ev = _demo_events(tmp_path)
    kw = {"window_hours": 72, "breakdown": "channel", "period_end": pd.Timestamp("2024-03-21")}
    duck = funnel_attempts(ev, STEPS, **kw)
    name = "funnel_demo_events"
    spark_ibis._session.createDataFrame(ev).createOrReplaceTempView(name)
    spark = funnel_attempts(spark_ibis.table(name), STEPS, **kw)
    a, b = duck.users, spark.users
    assert len(a) > 100 and a["attempts"].max() >= 5  # many join rounds: the case that overflowed the driver
    assert a["reached"].max() == 4
    b = b.astype({c: "datetime64[us]" for c in b.columns if str(b[c].dtype).startswith("datetime64")})
    pd.testing.assert_frame_equal(a, b)
    assert duck.excluded_users == spark.excluded_users == 0
