"""Clustering recovers planted groups, is deterministic, and names clusters by their distinctive features."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from helpers import i18n
from helpers.clustering import (
    ClusteringReport,
    choose_k,
    cluster_profiles,
    fit_clusters,
    name_clusters,
    prepare_matrix,
    run_clustering,
)


def planted(seed=1, n=300):
    rng = np.random.default_rng(seed)
    groups = np.repeat([0, 1, 2], n)
    centers = {0: (200, 2, 1), 1: (20, 10, 3), 2: (5, 0, 30)}  # browse-heavy, buyers, dormant
    rows = [
        (rng.poisson(centers[g][0]) + 1, rng.poisson(centers[g][1]), rng.gamma(5, centers[g][2] / 5)) for g in groups
    ]
    df = pd.DataFrame(rows, columns=["n_pv", "n_buy", "recency_days"])
    df.insert(0, "user_id", [f"u{i}" for i in range(len(df))])
    return df, groups


def test_recovers_planted_clusters_and_picks_k():
    df, truth = planted()
    cols = ["n_pv", "n_buy", "recency_days"]
    X, _ = prepare_matrix(df, cols)
    ks = choose_k(X, k_min=2, k_max=6, seed=42)
    assert int(ks.sort_values("silhouette", ascending=False).iloc[0]["k"]) == 3
    lab = fit_clusters(X, k=3, seed=42)
    assert adjusted_rand_score(truth, lab) >= 0.9
    assert (fit_clusters(X, k=3, seed=42) == lab).all()  # deterministic
    sizes = pd.Series(lab).value_counts()
    assert list(sizes.sort_index()) == sorted(sizes, reverse=True)  # labels ordered by size


def test_dbscan_option_runs():
    df, truth = planted(n=100)
    X, _ = prepare_matrix(df, ["n_pv", "n_buy", "recency_days"])
    lab = fit_clusters(X, method="dbscan", eps=0.5, min_samples=5)
    assert len(set(lab) - {-1}) >= 2


def test_naming_rule():
    cols = ["n_pv", "n_buy", "days_since_last_event"]
    prof = pd.DataFrame(
        {
            "cluster": [0, 1, 2],
            "users": [10, 10, 10],
            "z_n_pv": [1.5, -0.2, -1.0],
            "z_n_buy": [-0.8, 1.2, 0.1],
            "z_days_since_last_event": [0.0, 0.1, 2.0],
        }
    )
    names = name_clusters(prof, cols)
    assert names[0] == "高 pv 次数 · 低 buy 次数"
    assert names[1].startswith("高 buy 次数")
    assert names[2].startswith("高距最后一次行为天数")  # a Chinese name joins on; a Latin one is set apart
    with i18n.language("en"):  # the names follow the campaign's language
        assert name_clusters(prof, cols)[0] == "high pv count · low buy count"
        assert name_clusters(prof, cols)[2].startswith("high days since last event")
    weak = prof.assign(z_n_pv=0.1, z_n_buy=0.1, z_days_since_last_event=0.1)
    assert set(name_clusters(weak, cols).values()) == {"普通用户"}
    # events as pages name them: the tracking plan's display names; events it does not name keep their code
    assert name_clusters(prof, cols, events={"pv": "浏览商品", "cart": "加购"})[0] == "高浏览商品次数 · 低 buy 次数"


def test_feature_labels_use_display_names_through_the_column_names():
    """Feature columns hold a safe form of the event (``n_add_to_cart``): the display name is found through it."""
    from helpers.features import feature_label

    events = {"add to cart": "加入购物车", "pay": "支付成功"}
    assert feature_label("n_add_to_cart", events) == "加入购物车次数"
    assert feature_label("has_pay", events) == "有支付成功"
    assert feature_label("n_view", events) == feature_label("n_view") == "view 次数"
    assert feature_label("n_events", events) == "事件数"  # named features keep their own name
    with i18n.language("en"):
        assert feature_label("n_add_to_cart", events) == "加入购物车 count" and feature_label("n_x") == "x count"


def test_profiles_by_hand():
    df = pd.DataFrame({"user_id": list("abcd"), "x": [1.0, 3.0, 10.0, 10.0]})
    p = cluster_profiles(df, [0, 0, 1, 1], ["x"])
    assert p["users"].tolist() == [2, 2] and p["x"].tolist() == [2.0, 10.0]
    # z = (cluster mean - overall mean) / sd: overall mean 6, sd (pop) = 4.062
    assert p["z_x"].iloc[0] == pytest.approx((2 - 6) / np.std([1, 3, 10, 10]))


class _Ctx:
    """The part of helpers.Context that run_clustering uses, over in-memory tables."""

    def __init__(self, tables, **params):
        from types import SimpleNamespace

        from helpers.sections import ClusteringParams, RFMParams

        self.tables = tables
        self.cfg = SimpleNamespace(clustering=ClusteringParams(**params), rfm=RFMParams(), currency="£")

    def has(self, name):
        return name in self.tables

    def table(self, name):
        import ibis

        return ibis.memtable(self.tables[name])


def planted_events(n=30, seed=3):
    """Three groups of ``n`` users: heavy browsers, buyers, one-visit users, over 14 days."""
    rng = np.random.default_rng(seed)
    rows = []
    for g, (pv, buy) in enumerate([(40, 0), (5, 4), (1, 0)]):
        for i in range(n):
            u = f"g{g}u{i:02d}"
            for ev, count in (("pv", pv + int(rng.integers(0, 3))), ("buy", buy)):
                for _ in range(count):
                    rows.append(
                        (u, pd.Timestamp("2024-03-01") + pd.Timedelta(minutes=int(rng.integers(0, 14 * 1440))), ev)
                    )
    return pd.DataFrame(rows, columns=["user_id", "ts", "event"])


def test_report_membership_parts_and_unavailable_twin():
    from helpers.base import Unavailable
    from helpers.errors import MissingColumnError, UnknownPartError

    ev = planted_events()
    rep = run_clustering(_Ctx({"events": ev}, k_max=5, silhouette_sample=200))
    assert isinstance(rep, ClusteringReport) and rep.available and 2 <= rep.k <= 5
    assert set(rep.to_results()) == {"available", "reason", *ClusteringReport.result_keys}
    m = rep.tables()["membership"]
    assert list(m.columns) == ["user_id", "cluster", "cluster_name"] and len(m) == 90
    assert set(rep.tables()) == set(ClusteringReport.table_names)
    assert rep.to_results()["sizes"] == {str(c): int(n) for c, n in m["cluster"].value_counts().items()}
    assert rep.findings()[0].startswith("90 位用户") and "个群（轮廓系数" in rep.findings()[0]  # no space before （
    for part in ClusteringReport.parts:
        rep.show(part)
    from tests.styled import styled_rows

    # a mean spend in the campaign's currency, a share in %: on the same users with an amount on their buys
    paid = ev.assign(amount=np.where(ev["event"] == "buy", 12.5, np.nan))
    rep = run_clustering(_Ctx({"events": paid}, k_max=5, silhouette_sample=200))
    shown = styled_rows(rep._show("profiles"))
    assert {"spend", "evening_share"} <= set(rep.columns), rep.columns
    mean = rep.profiles.set_index("cluster")
    for r in shown:
        c = int(r["cluster"])
        assert (
            r["spend"] == f"£{mean.loc[c, 'spend']:,.2f}"
            and r["evening_share"] == f"{mean.loc[c, 'evening_share']:.1%}"
        )
        assert r["n_events"] == f"{mean.loc[c, 'n_events']:,.2f}"
    # headers: the report's own names, in the page as in the notebook; in English each capitalized as a header
    # ("Spend" and "Cart count" alike: the catalogue's col.spend no longer gives some features theirs)
    from helpers.i18n import language
    from helpers.page import render_styler

    heads = rep._show("profiles").ubk_headers
    assert heads["cluster"] == "群" and heads["spend"] == "消费金额" and heads["evening_share"] == "晚间占比"
    with language("en"):
        page = render_styler(rep._show("profiles"))._repr_html_()
        got = re.findall(r"<th[^>]*col_heading[^>]*>(.*?)</th>", page, re.S)
        assert got and all(h[:1].isupper() or h[:1].isdigit() for h in got), got
        assert {"Spend", "Evening share", "Events"} <= set(got), got
    with pytest.raises(UnknownPartError, match="bogus"):
        rep.show("bogus")
    with pytest.raises(MissingColumnError, match="n_cart"):
        run_clustering(_Ctx({"events": ev}, features=["n_pv", "n_cart"]))
    for ctx, why in ((_Ctx({}), "没有事件表"), (_Ctx({"events": ev.head(30)}), "太少，无法聚类")):
        none = run_clustering(ctx)
        assert isinstance(none, Unavailable) and not none.available
        assert set(none.to_results()) == {"available", "reason", *ClusteringReport.result_keys}
        assert why in none.findings()[0] and none.findings()[0].startswith("无法聚类：")
        assert none.tables() == {}
        with pytest.raises(UnknownPartError):
            none.show("bogus")


def test_fixed_k_finding_says_set_by_params():
    """A `k` fixed in the params is not "the best for k = 2 to 5": the finding says the params set it, with its
    silhouette when k is in k_min..k_max, without one when it is outside (none computed)."""
    from helpers.fmt import fmt_num

    ev = planted_events()
    auto = run_clustering(_Ctx({"events": ev}, k_max=5, silhouette_sample=200))
    ks = auto.ks.set_index("k")["silhouette"]
    best = int(ks.idxmax())
    assert auto.k == best and auto.silhouette == ks.max()
    with i18n.language("en"):
        assert f"(silhouette {fmt_num(ks.max())}, the best for k = 2 to 5)" in auto.findings()[0]
    other = int(ks.drop(best).idxmin())  # in range, not the best
    rep = run_clustering(_Ctx({"events": ev}, k=other, k_max=5, silhouette_sample=200))
    assert rep.k == other and rep.silhouette == ks[other] < ks.max()
    sil = fmt_num(ks[other])
    assert rep.findings()[0] == f"90 位用户分为 **{other}** 个群（k 由参数指定，轮廓系数 {sil}）。"
    with i18n.language("en"):
        assert rep.findings()[0] == f"90 users form **{other}** groups (k set by the params, silhouette {sil})."
    out = run_clustering(_Ctx({"events": ev}, k=7, k_max=5, silhouette_sample=200))  # outside 2..5: no silhouette
    assert out.k == 7 and np.isnan(out.silhouette)
    assert out.findings()[0] == "90 位用户分为 **7** 个群（k 由参数指定，未计算轮廓系数）。"
    with i18n.language("en"):
        assert out.findings()[0] == "90 users form **7** groups (k set by the params; no silhouette computed for it)."
        assert not any("best" in f or "–" in f for f in out.findings() + rep.findings())
    assert not any("最高" in f for f in out.findings() + rep.findings())


def test_k_not_below_the_users_is_unavailable_and_names_the_key():
    """``k: 1000`` on 660 users failed the report with sklearn's "n_samples=660 should be >= n_clusters=1000"; a
    k_min as large left no k to try and failed too. The report is now unavailable and names the key to lower."""
    ev = planted_events()  # 90 users
    for params, key, k in (({"k": 90}, "clustering.k", 90), ({"k_min": 95, "k_max": 99}, "clustering.k_min", 95)):
        with i18n.language("en"):
            rep = run_clustering(_Ctx({"events": ev}, silhouette_sample=200, **params))
            assert not rep.available and rep.reason == (
                f"{key} is {k} but there are only 90 users: the number of groups must be below the number of users; "
                f"lower {key}"
            )
    assert run_clustering(_Ctx({"events": ev}, k=89, k_max=5, silhouette_sample=200)).available
