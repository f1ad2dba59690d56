"""Distribution (分布分析) and interval (间隔分析) tables on hand-made events with hand-computed answers."""

import math

import pandas as pd
import pytest

from helpers.distribution import frequency_distribution, interval_table


def _ev(rows):
    return pd.DataFrame(rows, columns=["user_id", "event", "ts", "amount", "platform"]).assign(
        ts=lambda d: pd.to_datetime(d.ts)
    )


EV = _ev(
    [
        ("a", "view", "2024-01-01 10:00", None, "iOS"),
        ("a", "view", "2024-01-01 11:00", None, "iOS"),
        ("a", "view", "2024-01-02 09:00", None, "iOS"),
        ("a", "pay", "2024-01-01 12:00", 30.0, "iOS"),
        ("b", "view", "2024-01-01 08:00", None, "Android"),
        ("b", "pay", "2024-01-01 07:00", 10.0, "Android"),  # before b's first view: not a conversion
        ("b", "pay", "2024-01-03 08:00", 20.0, "Android"),  # 48 h after the first view
        ("c", "view", "2024-01-05 00:00", None, "Android"),
        ("c", "view", "2024-01-06 00:00", None, "Android"),
        ("d", "pay", "2024-01-02 00:00", 5.0, "iOS"),
    ]
)


def test_frequency_by_count_with_given_buckets():
    r = frequency_distribution(EV, event="view", measure="count", buckets=[1, 2, 3])
    # views: a 3, b 1, c 2
    assert r.bucket.tolist() == ["1", "2", "3+"]
    assert r.users.tolist() == [1, 1, 1] and r.share.tolist() == pytest.approx([1 / 3] * 3)


def test_frequency_by_days_and_amount_and_group():
    days = frequency_distribution(EV, event="view", measure="days", buckets=[1, 2])
    assert days.users.tolist() == [1, 2]  # b 1 day; a 2 days, c 2 days
    amt = frequency_distribution(EV, event="pay", measure="amount", buckets=[0, 10, 25])
    assert amt.users.tolist() == [1, 0, 2] and amt.bucket.iloc[-1] == "≥ 25.00"  # d 5; a 30, b 30
    g = frequency_distribution(EV, measure="count", buckets=[1, 3], group_col="platform")
    # Android: b 3 events, c 2 -> [1 in 1-2, 1 in 3+]; iOS: a 4, d 1
    assert g[["group", "bucket", "users"]].values.tolist() == [
        ["Android", "1-2", 1],
        ["Android", "3+", 1],
        ["iOS", "1-2", 1],
        ["iOS", "3+", 1],
    ]
    assert g.groupby("group").share.sum().tolist() == pytest.approx([1, 1])


def test_default_buckets_from_quantiles_cover_all_users():
    r = frequency_distribution(EV, measure="count")
    # events per user: a 4, b 3, c 2, d 1 -> quantiles 1, 1.75, 2.5, 3.25, 3.7 floored -> 1, 2, 3
    assert r.bucket.tolist() == ["1", "2", "3+"] and r.users.tolist() == [1, 1, 2]
    with pytest.raises(ValueError, match="increasing"):
        frequency_distribution(EV, buckets=[3, 1])
    with pytest.raises(ValueError, match="measure"):
        frequency_distribution(EV, measure="sessions")


def test_interval_table_first_b_after_first_a():
    r = interval_table(EV, from_event="view", to_event="pay").set_index("group")
    # a: 10:00 -> 12:00 = 2 h; b: 48 h; c: never
    assert r.loc["all", "users"] == 3 and r.loc["all", "converted_share"] == pytest.approx(2 / 3)
    assert r.loc["all", "p50"] == pytest.approx(25.0) and r.loc["all", "mean_hours"] == pytest.approx(25.0)
    assert r.loc["all", "p10"] == pytest.approx(2 + 0.1 * 46)
    w = interval_table(EV, from_event="view", to_event="pay", window_hours=24, group_col="platform")
    w = w.set_index("group")
    assert w.loc["iOS", "converted_share"] == 1 and w.loc["iOS", "p90"] == pytest.approx(2.0)
    assert w.loc["Android", "users"] == 2 and w.loc["Android", "converted_share"] == 0
    assert math.isnan(w.loc["Android", "p50"])
    assert w.loc["all", "users"] == 3 and w.loc["all", "converted_share"] == pytest.approx(1 / 3)


def test_interval_on_ibis_table_matches_pandas():
    import ibis

    t = ibis.memtable(EV)
    assert interval_table(t, from_event="view", to_event="pay").equals(
        interval_table(EV, from_event="view", to_event="pay")
    )


def test_interval_table_with_missing_group_values():
    """Users whose first A has no group value form the "（空）" group (en: "(none)"); this crashed once."""
    import pandas as pd

    from helpers.distribution import interval_table

    t0 = pd.Timestamp("2024-03-01")
    ev = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u2", "u2", "u3"],
            "event": ["view", "pay", "view", "pay", "view"],
            "ts": [t0, t0 + pd.Timedelta(hours=2), t0, t0 + pd.Timedelta(hours=5), t0],
            "platform": ["iOS", "iOS", None, None, None],
        }
    )
    out = interval_table(ev, from_event="view", to_event="pay", group_col="platform").set_index("group")
    assert out.loc["（空）", "users"] == 2 and out.loc["（空）", "converted_share"] == 0.5
    assert out.loc["（空）", "p50"] == 5.0 and out.loc["iOS", "p50"] == 2.0
    assert out.loc["all", "users"] == 3 and out.loc["all", "converted_share"] == 2 / 3


def test_interval_box_plot_per_group():
    """The trends `intervals` part draws one box per group with a converted user: P25-P75, P50, whiskers P10/P90."""
    import matplotlib

    matplotlib.use("Agg")
    from helpers.trends import plot_interval_boxes

    tab = interval_table(EV, from_event="view", to_event="pay", group_col="platform")
    conv = tab.dropna(subset=["p50"])
    ax = plot_interval_boxes(tab)
    assert [x.get_text() for x in ax.get_yticklabels()] == conv["group"].astype(str).tolist()
    lo, hi = ax.get_xlim()
    assert lo <= conv["p10"].min() and hi >= conv["p90"].max()  # the whiskers are drawn
    # one box (a log without groups): the figure leaves room for its title and axis; tight layout applies (its
    # "Tight layout not applied" warning reached the REES46 trends page as a red box)
    import io
    import warnings

    from helpers.plots import check_chart, set_theme

    with matplotlib.rc_context():  # the page's theme (CJK font), restored afterwards
        set_theme()
        one = plot_interval_boxes(interval_table(EV, from_event="view", to_event="pay"))
        check_chart(one)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            one.get_figure().tight_layout()
            one.get_figure().savefig(io.BytesIO(), format="png")


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_spark_equals_duckdb(spark_ibis):
    """Both tables from a Spark table equal the same tables from the pandas/DuckDB events (tiny data)."""
    con = spark_ibis
    session = con._session
    session.createDataFrame(EV).createOrReplaceTempView("distribution_events")  # no table files written
    t = con.table("distribution_events")
    for kw in ({"event": "view"}, {"measure": "days", "group_col": "platform"}, {"measure": "amount", "event": "pay"}):
        pd.testing.assert_frame_equal(
            frequency_distribution(t, **kw), frequency_distribution(EV, **kw), check_exact=False, rtol=1e-9
        )
    for kw in ({}, {"group_col": "platform", "window_hours": 24}):
        pd.testing.assert_frame_equal(
            interval_table(t, from_event="view", to_event="pay", **kw),
            interval_table(EV, from_event="view", to_event="pay", **kw),
            check_exact=False,
            rtol=1e-9,
        )
