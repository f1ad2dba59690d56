"""RFM on a hand-made orders table with hand-computed R/F/M, scores and segments (multi-row orders, heavy
ties, single-order customers, returns), both segment schemes, the fewer-bins fallback, BG/NBD against the
published CDNOW numbers, the closed form, numerical integration and a simulation, and Online Retail II
against an independent pandas computation from the raw CSV."""

import numpy as np
import pandas as pd
import pytest

from helpers.bgnbd import bgnbd_expected, bgnbd_inputs, bgnbd_loglik, bgnbd_p_alive, fit_bgnbd
from helpers.rfm import (
    NAMED_RULES,
    RFMReport,
    RFMScores,
    RFMTable,
    rf_heatmap,
    rfm_scores,
    rfm_table,
    score_column,
    segment_cn8,
    segment_named,
    segment_summary,
)

from .conftest import RETAIL, ROOT, need


def orders(spec):
    """{user: [(order_id, 'YYYY-MM-DD', [line amounts...]), ...]} -> order line rows."""
    rows = [
        (u, o, pd.Timestamp(d) + pd.Timedelta(hours=12), a)
        for u, lst in spec.items()
        for o, d, lines in lst
        for a in lines
    ]
    return pd.DataFrame(rows, columns=["user_id", "order_id", "ts", "amount"])


SPEC = {
    "a": [("a1", "2024-01-31", [10, 20]), ("a2", "2024-01-20", [30]), ("a3", "2024-01-10", [40])],  # a1: 2 lines
    "b": [("b1", "2024-01-31", [50]), ("b2", "2024-01-05", [50])],
    "c": [("c1", "2024-01-30", [5])],  # single order
    "d": [("d1", "2024-01-25", [100, 100, 100])],  # one order, three lines
    "e": [
        ("e1", "2024-01-20", [20]),
        ("e2", "2024-01-15", [20]),
        ("e3", "2024-01-10", [20]),
        ("e4", "2024-01-05", [20]),
    ],
    "f": [("f1", "2024-01-15", [10])],
    "g": [("g1", "2024-01-10", [60]), ("g2", "2024-01-02", [60])],
    "h": [("h1", "2024-01-05", [1])],
    "i": [
        ("i1", "2024-01-01", [300]),
        ("i2", "2024-01-01", [300]),
        ("i3", "2024-01-02", [300]),
        ("i4", "2024-01-02", [300]),
        ("i5", "2024-01-03", [300]),
    ],  # 5 orders on 3 days
    "j": [("j1", "2024-01-01", [2])],
}
ORD = orders(SPEC)
# by hand: as_of = 2024-02-01 (day after the last order)
EXPECTED = pd.DataFrame(
    {
        "user_id": list("abcdefghij"),
        "recency_days": [1, 1, 2, 7, 12, 17, 22, 27, 29, 31],
        "frequency": [3, 2, 1, 1, 4, 1, 2, 1, 5, 1],
        "monetary": [100.0, 100, 5, 300, 80, 10, 120, 1, 1500, 2],
        "tenure_days": [22, 27, 2, 7, 27, 17, 30, 27, 31, 31],
        "purchase_days": [3, 2, 1, 1, 4, 1, 2, 1, 3, 1],
        # R: ranks a..j 1..10 -> 2 per bin, reversed. F: 5 distinct values; the five F=1 customers (c,d,f,h,j by
        # user_id) take ranks 1-5 -> scores 1,1,2,2,3. M: a and b tie at 100 -> a rank 6 (3), b rank 7 (4).
        "r_score": [5, 5, 4, 4, 3, 3, 2, 2, 1, 1],
        "f_score": [4, 3, 1, 1, 5, 2, 4, 2, 5, 3],
        "m_score": [3, 4, 2, 5, 3, 2, 4, 1, 5, 1],
        "fm_score": [3.5, 3.5, 1.5, 3.0, 4.0, 2.0, 4.0, 1.5, 5.0, 2.0],
        "named": [
            "Loyal",
            "Loyal",
            "Potential Loyalist",
            "Loyal",
            "Loyal",
            "Potential Loyalist",
            "Loyal",
            "About To Sleep",
            "Can't Lose Them",
            "Hibernating",
        ],
        # means: R 14.9 days, F 2.1 orders, M 221.8
        "cn8": [
            "一般价值客户",
            "一般发展客户",
            "一般发展客户",
            "重要发展客户",
            "一般价值客户",
            "一般挽留客户",
            "一般挽留客户",
            "一般挽留客户",
            "重要保持客户",
            "一般挽留客户",
        ],
    }
)


def test_rfm_table_by_hand():
    rt = rfm_table(ORD)
    assert isinstance(rt, RFMTable) and rt.as_of == pd.Timestamp("2024-02-01") and rt.has_monetary
    assert (rt.returns, rt.negative_rows) == ("exclude", 0)
    t = rt.table
    for col in ("user_id", "recency_days", "frequency", "monetary", "tenure_days", "purchase_days"):
        assert t[col].tolist() == EXPECTED[col].tolist(), col
    assert t.set_index("user_id").loc["a", "aov"] == pytest.approx(100 / 3)
    # an explicit as_of is a snapshot: only orders before that day count
    t2 = rfm_table(ORD, as_of="2024-01-21").table.set_index("user_id")
    assert t2.loc["a", ["recency_days", "frequency", "monetary", "tenure_days"]].tolist() == [1, 2, 70.0, 11]
    assert "c" not in t2.index and t2.loc["j", "recency_days"] == 20


def test_scores_and_segments_by_hand():
    res = rfm_scores(rfm_table(ORD).table)
    assert isinstance(res, RFMScores) and res.bins == 5
    sc = res.scored
    for col in ("r_score", "f_score", "m_score", "fm_score"):
        assert sc[col].tolist() == EXPECTED[col].tolist(), col
    assert sc["rfm_code"].tolist()[:2] == ["543", "534"]
    assert segment_named(sc).tolist() == EXPECTED["named"].tolist()
    assert segment_cn8(sc).tolist() == EXPECTED["cn8"].tolist()
    b = res.binning
    assert b["F"]["largest_tie"] == {"value": 1.0, "users": 5, "share": 0.5, "scores": [1, 3]}
    assert not any(v["fallback"] for v in b.values())
    assert any("50%" in n and "F" in n for n in res.notes)  # the tie split is reported
    # the RFMTable itself is accepted too, with the same result
    pd.testing.assert_frame_equal(rfm_scores(rfm_table(ORD)).scored, sc)


def test_returns_excluded_or_netted():
    ret = pd.concat(
        [
            ORD,
            pd.DataFrame(
                {
                    "user_id": ["b", "k"],
                    "order_id": ["b-ret", "k-ret"],
                    "ts": pd.to_datetime(["2024-01-31 18:00", "2024-01-10 09:00"]),
                    "amount": [-30.0, -5.0],
                }
            ),
        ],
        ignore_index=True,
    )
    ex_t, net_t = rfm_table(ret), rfm_table(ret, returns="net")
    ex, net = ex_t.table.set_index("user_id"), net_t.table.set_index("user_id")
    assert "k" not in ex.index and "k" not in net.index  # only a return: not a customer
    assert ex.loc["b", ["frequency", "monetary"]].tolist() == [2, 100.0] and ex_t.negative_rows == 2
    assert net.loc["b", ["recency_days", "frequency", "monetary"]].tolist() == [1, 2, 70.0]
    assert net.loc["b", "aov"] == 35.0 and net_t.negative_rows == 1  # k dropped with its row
    with pytest.raises(ValueError, match="returns"):
        rfm_table(ret, returns="keep")


def test_score_column_heavy_ties_rank_first_then_equal_bins():
    v = pd.Series([1] * 6 + [2, 3, 4, 5])
    ids = pd.Series([f"u{i}" for i in range(10)])
    s, used = score_column(v, tiebreak=ids)
    assert used == 5 and s.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # same customers in another row order: same score per customer (deterministic)
    perm = np.random.default_rng(0).permutation(10)
    s2, _ = score_column(v.iloc[perm].reset_index(drop=True), tiebreak=ids.iloc[perm].reset_index(drop=True))
    assert dict(zip(ids.iloc[perm], s2)) == dict(zip(ids, s))
    r, _ = score_column(pd.Series(range(1, 11)), reverse=True)
    assert r.tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    big, _ = score_column(pd.Series(np.arange(4312) % 7), tiebreak=pd.Series(np.arange(4312)))
    sizes = big.value_counts().sort_index()
    assert sizes.index.tolist() == [1, 2, 3, 4, 5] and sizes.max() - sizes.min() <= 1  # equal-count bins


def test_fewer_bins_when_few_distinct_values():
    s, used = score_column(pd.Series([1, 1, 2, 2, 2]))
    assert used == 2 and s.tolist() == [1, 1, 5, 5, 5]  # two bins keep both ends of the 1-5 scale
    s3, used3 = score_column(pd.Series([3, 1, 2, 2]), reverse=True)
    assert used3 == 3 and s3.tolist() == [1, 5, 3, 3]
    const, used1 = score_column(pd.Series([4, 4, 4]), constant_score=1)
    assert used1 == 1 and const.tolist() == [1, 1, 1]
    few = orders(
        {
            "a": [("1", "2024-01-01", [5]), ("2", "2024-01-02", [5])],
            "b": [("3", "2024-01-02", [7])],
            "c": [("4", "2024-01-01", [9])],
            "d": [("5", "2024-01-02", [1])],
        }
    )
    res = rfm_scores(rfm_table(few))
    sc = res.scored.set_index("user_id")
    b = res.binning
    assert (b["R"]["distinct"], b["R"]["bins"], b["R"]["fallback"]) == (2, 2, True)
    assert (b["F"]["bins"], b["M"]["bins"]) == (2, 4)
    assert sc["r_score"].tolist() == [5, 5, 1, 5] and sc["f_score"].tolist() == [5, 1, 1, 1]
    assert sc["m_score"].tolist() == [5, 2, 4, 1]  # M 10, 7, 9, 1: 4 bins (dense levels 4, 2, 3, 1) on 1-5
    assert sum("R 只有 2 个不同取值" in n for n in res.notes) == 1


def test_named_rules_first_match_wins_and_every_segment_reachable():
    df = pd.DataFrame(
        {"r_score": [5, 3, 5, 3, 2, 2, 1, 2, 1, 1, 3, 4], "fm_score": [5, 4, 1, 1, 2.5, 1.5, 4.5, 3, 1, 1.5, 2, 3.5]}
    )
    assert segment_named(df).tolist() == [
        "Champions",
        "Loyal",
        "New",
        "Promising",
        "Need Attention",
        "About To Sleep",
        "Can't Lose Them",
        "Loyal",
        "Lost",
        "Hibernating",
        "Potential Loyalist",
        "Loyal",
    ]
    grid = pd.DataFrame(
        [(r, fm) for r in range(1, 6) for fm in np.arange(1, 5.5, 0.5)], columns=["r_score", "fm_score"]
    )
    seg = segment_named(grid)
    assert set(seg) == {r[0] for r in NAMED_RULES}  # all 11 reachable, no Others on the full grid
    whole = grid[grid.fm_score % 1 == 0]  # without amounts FM = F score, a whole number
    assert set(segment_named(whole)) == {r[0] for r in NAMED_RULES}
    assert segment_named(pd.DataFrame({"r_score": [1, 1, 1, 1], "fm_score": [1, 2, 3, 4]})).tolist() == [
        "Lost",
        "Hibernating",
        "At Risk",
        "Can't Lose Them",
    ]
    assert segment_named(pd.DataFrame({"r_score": [pd.NA], "fm_score": [3.0]})).tolist() == ["Others"]


def test_cn8_against_means_and_without_amounts():
    t = pd.DataFrame({"recency_days": [1, 10, 1, 10], "frequency": [5, 5, 1, 1], "monetary": [100.0, 100, 100, 1]})
    # means: R 5.5, F 3, M 75.25; R high = fewer days than the mean (more recent)
    assert segment_cn8(t).tolist() == ["重要价值客户", "重要保持客户", "重要发展客户", "一般挽留客户"]
    assert segment_cn8(t.assign(monetary=np.nan)).tolist() == [
        "重要价值客户",
        "重要保持客户",
        "一般发展客户",
        "一般挽留客户",
    ]


def test_no_amounts_scores_on_r_and_f_only():
    res = rfm_scores(rfm_table(ORD.drop(columns="amount")))
    sc = res.scored
    assert sc["monetary"].isna().all() and sc["m_score"].isna().all() and res.binning["M"] is None
    assert sc["fm_score"].tolist() == sc["f_score"].astype(float).tolist()
    assert sc["rfm_code"].str.len().eq(2).all() and any("M 不可用" in n for n in res.notes)
    allnull = rfm_table(ORD.assign(amount=np.nan))
    assert not allnull.has_monetary and allnull.table["monetary"].isna().all()


def test_summary_and_heatmap():
    sc = rfm_scores(rfm_table(ORD)).scored
    sc["segment"] = segment_named(sc)
    s = segment_summary(sc, scheme="named11").set_index("segment")
    assert len(s) == 11 and s["users"].sum() == 10 and s.loc["Champions", "users"] == 0  # empty segments listed
    assert s.loc["Loyal", "users"] == 5 and s.loc["Loyal", "revenue"] == 700.0
    assert s.loc["Loyal", "revenue_share"] == pytest.approx(700 / 2218)
    assert s.loc["Loyal", "mean_r"] == pytest.approx((1 + 1 + 7 + 12 + 22) / 5)
    assert s["action"].str.len().gt(0).all() and s.loc["Loyal", "label"] == "忠诚客户"
    c8 = segment_summary(sc.assign(segment=segment_cn8(sc)), scheme="cn8")
    assert c8["segment"].tolist()[0] == "重要价值客户" and len(c8) == 8 and c8["users"].sum() == 10
    h = rf_heatmap(sc)
    assert int(h.to_numpy().sum()) == 10 and h.loc[5, 4] == 1 and h.index.tolist() == [5, 4, 3, 2, 1]
    hm = rf_heatmap(sc, value="monetary")
    assert hm.loc[1, 5] == 1500.0 and np.isnan(hm.loc[5, 1])


# ------------------------------------------------------------------------------------------------ BG/NBD
CDNOW = (0.243, 4.414, 0.793, 2.426)  # Fader, Hardie & Lee (2005), CDNOW sample, weeks


def _closed_form(t, x, t_x, T, r, alpha, a, b):
    """FHL (2005) eq. 10 with scipy's hyp2f1, written independently of helpers.rfm."""
    from scipy.special import hyp2f1

    x = np.asarray(x, float)
    num = (
        (a + b + x - 1)
        / (a - 1)
        * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t)))
    )
    return num / (1 + (x > 0) * a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))


def test_bgnbd_published_cdnow_value_and_closed_form():
    # FHL (2005): a customer with x = 2, t_x = 30.43, T = 38.86 weeks expects 1.226 purchases in 39 weeks
    assert bgnbd_expected(CDNOW, 39, [2], [30.43], [38.86])[0] == pytest.approx(1.226, abs=5e-4)
    rng = np.random.default_rng(3)
    for _ in range(40):
        r, alpha, a, b = np.exp(rng.uniform(-1.5, 2, 4))
        if abs(a - 1) < 0.1:
            continue
        x = float(rng.integers(0, 15))
        T = rng.uniform(5, 100)
        t_x = rng.uniform(0, T) if x else 0.0
        ours = bgnbd_expected((r, alpha, a, b), 20.0, [x], [t_x], [T])[0]
        assert ours == pytest.approx(_closed_form(20.0, x, t_x, T, r, alpha, a, b), rel=2e-3, abs=1e-9)
    assert bgnbd_p_alive(CDNOW, [0, 2, 2], [0, 30.43, 5], [38.86] * 3).tolist()[0] == 1.0
    pa = bgnbd_p_alive(CDNOW, [2, 2], [30.43, 5], [38.86] * 2)
    assert 0 < pa[1] < pa[0] < 1  # a longer silence means less likely alive


def test_bgnbd_loglik_matches_numerical_integration():
    from math import exp, lgamma, log

    from scipy import integrate

    r, alpha, a, b = 0.8, 5.0, 1.5, 3.0
    ln_gamma_norm = r * log(alpha) - lgamma(r)
    ln_beta_norm = lgamma(a + b) - lgamma(a) - lgamma(b)
    for x, t_x, T in [(0, 0.0, 10.0), (1, 4.0, 10.0), (4, 9.0, 12.0)]:

        def f(p, lam):  # individual likelihood x gamma(lam | r, alpha) x beta(p | a, b)
            like = (1 - p) ** x * lam**x * exp(-lam * T)
            if x > 0:
                like += p * (1 - p) ** (x - 1) * lam**x * exp(-lam * t_x)
            dens = (
                exp(ln_gamma_norm + (r - 1) * log(lam) - alpha * lam + ln_beta_norm) * p ** (a - 1) * (1 - p) ** (b - 1)
            )
            return like * dens

        val, _ = integrate.dblquad(f, 0, 30, 0, 1, epsabs=1e-11)
        assert bgnbd_loglik((r, alpha, a, b), [x], [t_x], [T])[0] == pytest.approx(np.log(val), abs=1e-4)


def _simulate(n, params, T, horizon, seed):
    """Customers from the BG/NBD process: Poisson purchases, drop-out with probability p after each
    repeat purchase; returns calibration (x, t_x), holdout purchases and alive-at-T."""
    r, alpha, a, b = params
    rng = np.random.default_rng(seed)
    lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    t, x, t_x, future = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    alive, alive_at_T = np.ones(n, bool), np.ones(n, bool)
    while alive.any():
        t = t + rng.exponential(1 / lam)
        going = alive & (t < T + horizon)
        cal, hold = going & (t < T), going & (t >= T)
        x[cal] += 1
        t_x[cal] = t[cal]
        future[hold] += 1
        died = going & (rng.random(n) < p)
        alive_at_T &= ~(died & (t < T))
        alive = going & ~died
    return x, t_x, future, alive_at_T


def test_bgnbd_recovers_simulated_parameters_and_predicts():
    true = (0.5, 10.0, 0.8, 2.5)
    T = np.random.default_rng(7).uniform(30, 120, 4000)
    x, t_x, future, alive = _simulate(4000, true, T, 30, seed=1)
    fit = fit_bgnbd(x, t_x, T)
    assert fit.converged and not fit.at_bound
    assert fit.loglik >= bgnbd_loglik(true, x, t_x, T).sum()  # the optimum beats the truth in-sample
    assert fit.r == pytest.approx(0.5, rel=0.15) and fit.alpha == pytest.approx(10, rel=0.2)
    assert fit.a / (fit.a + fit.b) == pytest.approx(0.8 / 3.3, abs=0.05)
    pa = bgnbd_p_alive(fit, x, t_x, T)
    rep = x > 0
    assert pa[rep].mean() == pytest.approx(alive[rep].mean(), abs=0.03)  # calibrated P(alive)
    pred = bgnbd_expected(fit, 30, x, t_x, T)
    assert pred.sum() == pytest.approx(future.sum(), rel=0.08)
    assert bgnbd_expected(true, 30, x, t_x, T).sum() == pytest.approx(future.sum(), rel=0.08)


def test_bgnbd_inputs_from_rfm_table():
    inp = bgnbd_inputs(rfm_table(ORD)).set_index("user_id")
    pd.testing.assert_frame_equal(bgnbd_inputs(rfm_table(ORD).table).set_index("user_id"), inp)  # either form
    # i: 5 orders on 3 days, first 01-01, last 01-03, as_of 02-01
    assert inp.loc["i"].tolist() == [2.0, 2.0, 31.0] and inp.loc["c"].tolist() == [0.0, 0.0, 2.0]


def test_deterministic():
    shuffled = ORD.sample(frac=1, random_state=5).reset_index(drop=True)
    a, b = rfm_scores(rfm_table(ORD)), rfm_scores(rfm_table(shuffled))
    pd.testing.assert_frame_equal(a.scored, b.scored)
    assert (a.binning, a.notes, a.bins) == (b.binning, b.notes, b.bins)
    x, t_x, _, _ = _simulate(500, (0.5, 10.0, 0.8, 2.5), np.full(500, 60.0), 0, seed=2)
    assert fit_bgnbd(x, t_x, np.full(500, 60.0)) == fit_bgnbd(x, t_x, np.full(500, 60.0))


class _Ctx:
    """The part of helpers.Context that run_rfm uses, over in-memory tables."""

    def __init__(self, tables, **rfm):
        from types import SimpleNamespace

        from helpers.sections import RFMParams

        self.tables = tables
        self.cfg = SimpleNamespace(rfm=RFMParams(**rfm))

    def has(self, name):
        return name in self.tables

    def table(self, name):
        import ibis

        return ibis.memtable(self.tables[name])


def test_run_rfm_from_buy_events_and_results_keys():
    from helpers.rfm import run_rfm

    ev = ORD.assign(event="buy")
    ev = pd.concat([ev, ev.head(3).assign(event="view", order_id=None)], ignore_index=True)  # views are not orders
    res = run_rfm(_Ctx({"events": ev}, scheme="cn8", bgnbd=False))
    assert res.available and res.source.startswith("events") and len(res.scored) == 10
    assert res.scored.set_index("user_id")["segment"].tolist() == EXPECTED["cn8"].tolist()
    out = res.to_results()
    assert out["users"] == 10 and out["as_of"] == "2024-02-01" and out["segments"][0]["segment"] == "重要价值客户"
    assert out["bgnbd"]["available"] is False and "rfm.bgnbd: false" in out["bgnbd"]["reason"]
    assert set(res.tables()) == {"segments", "segments_other", "membership"}
    none = run_rfm(_Ctx({"events": ev[ev.event == "view"]}))
    empty = none.to_results()
    assert not empty["available"] and set(empty) == set(out) and empty["segments"] is None and none.tables() == {}
    assert all(empty[k] is None for k in RFMReport.result_keys)


def test_report_parts_and_unavailable_twin():
    from helpers.base import Unavailable
    from helpers.errors import UnknownPartError
    from helpers.rfm import run_rfm

    rep = run_rfm(_Ctx({"orders": ORD}))
    assert isinstance(rep, RFMReport) and rep.available and rep.source == "orders"
    assert set(rep.to_results()) == {"available", "reason", *RFMReport.result_keys}
    assert set(rep.tables()) <= set(RFMReport.table_names)
    assert list(rep.tables()["membership"].columns[:3]) == ["user_id", "recency_days", "frequency"]
    assert {"segment", "rfm_code", "segment_named", "segment_cn8"} <= set(rep.tables()["membership"].columns)
    assert any("BG/NBD 未计算" in f for f in rep.findings())  # 10 customers: too few to fit
    for part in RFMReport.parts:  # every part draws (BG/NBD parts say why there is no fit)
        rep.show(part)
    # why there is no fit, said once in the BG/NBD section (its table part), again under the holdout heading
    assert "BG/NBD 未计算" in rep._show("bgnbd").data and rep._show("bgnbd_chart") is None
    assert "BG/NBD 未计算" in rep._show("bgnbd_check").data
    with pytest.raises(UnknownPartError, match="bogus"):
        rep.show("bogus")
    assert {"revenue", "mean_m"} <= set(rep._show("segments").data)
    assert "（来源：订单表）" in rep.findings()[0] and rep.to_results()["source"] == "orders"  # words; the code kept
    # the largest segment's count names what it counts, from the summary table independently
    top = rep.summary.sort_values("users", ascending=False, kind="stable").iloc[0]
    largest = [f for f in rep.findings() if f.startswith("最大分群")]
    assert len(largest) == 1 and f"（{top['users']} 位客户，占 " in largest[0], largest
    plain = run_rfm(_Ctx({"orders": ORD.drop(columns="amount")}))  # no amounts: no column of "–" on the page
    for part, frame in (("segments", plain.summary), ("other", plain.summary_other)):
        assert frame["revenue"].isna().all() and "revenue" in frame  # the tables (and CSVs) keep them
        assert not {"revenue", "revenue_share", "mean_m"} & set(plain._show(part).data)
    none = run_rfm(_Ctx({}))
    assert isinstance(none, Unavailable) and not none.available
    assert set(none.to_results()) == {"available", "reason", *RFMReport.result_keys}
    assert "没有订单表或事件表" in none.findings()[0] and none.findings()[0].startswith("无法计算 RFM")
    with pytest.raises(UnknownPartError):
        none.show("bogus")
    none.show("segments")  # says why


# ---------------------------------------------------------------------------------------- Online Retail
@need(RETAIL)
def test_online_retail_rfm_against_independent_pandas(tmp_path):
    from helpers.ingest import ingest_campaign
    from helpers.locations import campaign_paths
    from helpers.params import load_params

    cfg = load_params(ROOT / "params" / "online_retail.yaml")
    paths = campaign_paths("online_retail", tmp_path)
    ingest_campaign(cfg, paths, progress=False)
    ours = rfm_scores(rfm_table(pd.read_parquet(paths.table("orders")))).scored.set_index("user_id")

    # the same cleaning as params/online_retail.yaml, in plain pandas from the raw CSV
    raw = pd.read_csv(RETAIL, dtype={"Customer ID": str, "Invoice": str, "StockCode": str})
    raw = raw.drop_duplicates()
    raw = raw[
        raw["Customer ID"].notna() & ~raw.Invoice.str.startswith("C") & (raw.Quantity >= 1) & (raw.Price >= 0.001)
    ]
    raw["amount"] = raw.Quantity * raw.Price
    raw = raw[(raw.amount >= 0) & (raw.amount <= 100000)]
    raw["ts"] = pd.to_datetime(raw.InvoiceDate)
    raw["cid"] = raw["Customer ID"].str.replace(r"\.0$", "", regex=True)
    as_of = raw.ts.max().normalize() + pd.Timedelta(days=1)
    g = raw.groupby("cid")
    exp = pd.DataFrame(
        {
            "recency_days": (as_of - g.ts.max().dt.normalize()).dt.days,
            "frequency": g.Invoice.nunique(),
            "monetary": g.amount.sum(),
            "purchase_days": raw.ts.dt.normalize().groupby(raw.cid).nunique(),
        }
    )
    assert len(ours) == len(exp) == 4312
    exp = exp.sort_index()
    assert (ours.index == exp.index).all()
    for col in ("recency_days", "frequency", "purchase_days"):
        assert (ours[col] == exp[col]).all(), col
    assert np.allclose(ours.monetary, exp.monetary)

    # scores: the usual pandas idiom (rank 'first' in user_id order, qcut into quintiles; R reversed)
    for col, sc, rev in (
        ("recency_days", "r_score", True),
        ("frequency", "f_score", False),
        ("monetary", "m_score", False),
    ):
        q = pd.qcut(exp[col].rank(method="first"), 5, labels=False) + 1
        assert ((6 - q) if rev else q).tolist() == ours[sc].tolist(), sc
    # segments from the documented rules, re-implemented here
    fm = (ours.f_score.astype(float) + ours.m_score.astype(float)) / 2
    r = ours.r_score.astype(float)
    conds = [r.between(*rr) & fm.between(*ff) for _, _, rr, ff in NAMED_RULES]
    named = pd.Series(np.select(conds, [n for n, *_ in NAMED_RULES], "Others"), index=ours.index)
    assert (named == segment_named(ours)).all()
    cn8 = segment_cn8(ours)
    key = (
        pd.Series(np.where(exp.recency_days < exp.recency_days.mean(), "R", "r"), index=exp.index)
        + np.where(exp.frequency > exp.frequency.mean(), "F", "f")
        + np.where(exp.monetary > exp.monetary.mean(), "M", "m")
    )
    names = {
        "RFM": "重要价值客户",
        "RfM": "重要发展客户",
        "rFM": "重要保持客户",
        "rfM": "重要挽留客户",
        "RFm": "一般价值客户",
        "Rfm": "一般发展客户",
        "rFm": "一般保持客户",
        "rfm": "一般挽留客户",
    }
    assert (key.map(names) == cn8).all()
    counts = named.value_counts()
    assert counts.sum() == 4312 and len(counts) == 11  # every named segment occurs on real data


def test_the_orders_source_in_words():
    from helpers import i18n
    from helpers.rfm_text import source_label

    assert source_label("orders") == "订单表" and source_label("events [pay, buy]", ["支付", "buy"]) == "事件 支付、buy"
    with i18n.language("en"):
        assert source_label("orders") == "the orders table" and source_label("events [pay]", ["pay"]) == "events pay"


def test_purchase_events_named_as_pages_name_them():
    """Orders from events: the findings name the events by the tracking plan's display names for the page's language
    (Taobao's inline plan: buy -> 购买), the results keep ``events [buy]``; an orders table names no event."""
    from types import SimpleNamespace

    from helpers import i18n
    from helpers.features import purchase_event_names
    from helpers.params import load_params
    from helpers.rfm_text import source_label

    ctx = SimpleNamespace(cfg=load_params(ROOT / "params" / "taobao.yaml"))
    assert list(ctx.cfg.rfm.buy_events) == ["buy", "pay"]  # the default; the plan names buy only
    src = "events [buy, pay]"
    assert purchase_event_names(ctx, src) == ["购买", "pay"] and purchase_event_names(ctx, "orders") == []
    assert source_label(src, purchase_event_names(ctx, src)) == "事件 购买、pay"
    with i18n.language("en"):  # the plan's name is Chinese: an English page keeps the code
        assert purchase_event_names(ctx, src) == ["buy", "pay"]


def test_lead_says_one_day_and_one_order_in_english():
    """REES46's one-day log read "median R 1 days, F 1 orders"."""
    from helpers import i18n
    from helpers.rfm import run_rfm

    rep = run_rfm(_Ctx({"orders": ORD}))
    with i18n.language("en"):
        lead = rep.findings()[0]
        med_r, med_f = (f"{rep.scored[c].median():.0f}" for c in ("recency_days", "frequency"))  # 14, 1.5 -> 2
        assert f"median R {med_r} days, F {med_f} orders" in lead and med_f == "2"
        rep.scored = rep.scored.assign(recency_days=1, frequency=1)
        assert "median R 1 day, F 1 order" in rep.findings()[0]
    with i18n.language("zh"):
        assert "中位数 R 1 天，F 1 单" in rep.findings()[0]
