"""Comparisons of an A/B experiment's variants: the per-metric tests, the SRM table, the sequential intervals and
the planning numbers (statistics from helpers.abstats). The report is helpers/experiment.py."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import abstats as st

__all__ = ["CUPED_MIN_REDUCTION", "MIN_TEST_USERS", "RESULT_COLS", "compare_one", "compare_variants", "srm_table",
           "sequential_table", "power_table", "cuped_in_range"]  # fmt: skip

# ------------------------------------------------------------------------------------------- constants
#: CUPED replaces a metric by its adjusted values only when it cuts the variance by at least this share
CUPED_MIN_REDUCTION = 0.01
#: the fewest users with a value a group needs for a test (``experiment.min_users`` by default): below it a group's
#: own variance is no estimate (two users who both did not retain have a variance of 0), and a z or Welch test read
#: "p < 0.001, significant" on them
MIN_TEST_USERS = 10

RESULT_COLS = [
    "metric", "label", "kind", "guardrail", "variant", "users", "control_users", "value", "control_value",
    "abs_lift", "abs_low", "abs_high", "rel_lift", "rel_low", "rel_high", "test", "p_value", "holm_p",
    "significant", "chance_to_beat", "expected_loss", "cuped_variance_reduction", "trustworthy",
]  # fmt: skip


#: the keys of :func:`compare_one` that a test gives (the rest describe the groups)
_TEST_KEYS = ("abs_low", "abs_high", "rel_low", "rel_high", "p_value", "chance_to_beat", "expected_loss")


# ------------------------------------------------------------------------------------------- statistics
def compare_one(kind: str, t, c, *, alpha: float = 0.05, seed: int = 0, never_negative: bool | None = None) -> dict:
    """Treatment against control for one metric. ``t``/``c``: per-user values (array), or for ``ratio`` a pair
    ``(num, den)`` of arrays. ``never_negative``: whether the metric's values cannot be negative, so that the
    relative lift's lower bound stops at -100 % (None: when no value of ``t`` and ``c`` is negative; CUPED-adjusted
    values pass the unadjusted ones' answer). ``kind`` ``conversion`` (binary values, z-test), ``ratio`` (delta
    method) or anything else (Welch).

    Returns
    -------
    dict ``value``, ``control_value``, ``abs_lift``, ``abs_low``, ``abs_high``, ``rel_lift``, ``rel_low``,
    ``rel_high``, ``test``, ``p_value``, ``chance_to_beat``, ``expected_loss``, ``se``.
    """
    from scipy.stats import norm

    if kind == "ratio":
        a, b = st.ratio_moments(*t), st.ratio_moments(*c)
        diff, se = a["value"] - b["value"], math.sqrt(a["var_mean"] + b["var_mean"])
        h = st._z(alpha) * se
        p = float(2 * norm.sf(abs(diff / se))) if se > 0 else math.nan
        rel = st.relative_lift(a["value"], a["var_mean"], b["value"], b["var_mean"], alpha=alpha)
        out = {"value": a["value"], "control_value": b["value"], "abs_lift": diff, "abs_low": diff - h,
               "abs_high": diff + h, "test": "delta-method z", "p_value": p, "se": se}  # fmt: skip
        out.update(st.bayes_normal(diff, se))
    else:
        t, c = np.asarray(t, float), np.asarray(c, float)
        t, c = t[~np.isnan(t)], c[~np.isnan(c)]
        if kind == "conversion":
            r = st.two_proportion(t.sum(), len(t), c.sum(), len(c), alpha=alpha)
            vt, vc = (
                r["value_t"] * (1 - r["value_t"]) / max(len(t), 1),
                r["value_c"] * (1 - r["value_c"]) / max(len(c), 1),
            )
            bayes = st.bayes_beta(int(t.sum()), len(t), int(c.sum()), len(c), seed=seed)
            test = "two-proportion z"
        else:
            r = st.welch(t.mean() if len(t) else math.nan, t.var(ddof=1) if len(t) > 1 else math.nan, len(t),
                         c.mean() if len(c) else math.nan, c.var(ddof=1) if len(c) > 1 else math.nan, len(c),
                         alpha=alpha)  # fmt: skip
            vt = t.var(ddof=1) / len(t) if len(t) > 1 else math.nan
            vc = c.var(ddof=1) / len(c) if len(c) > 1 else math.nan
            bayes = st.bayes_normal(r["diff"], r["se"])
            test = "welch t"
        rel = st.relative_lift(r["value_t"], vt, r["value_c"], vc, alpha=alpha)
        out = {"value": r["value_t"], "control_value": r["value_c"], "abs_lift": r["diff"], "abs_low": r["diff_low"],
               "abs_high": r["diff_high"], "test": test, "p_value": r["p_value"], "se": r["se"], **bayes}  # fmt: skip
    # a metric that cannot be negative cannot fall by more than 100 %: the delta method's lower bound can (two
    # users with a value of 0 in a tiny group read "-180.0%"); clipped there, which keeps the interval's coverage
    low = rel["rel_low"]
    if never_negative is None:
        never_negative = _never_negative([*t, *c] if kind == "ratio" else [t, c])
    if never_negative and not math.isnan(low):
        low = max(low, -1.0)
    out.update(rel_lift=rel["rel"], rel_low=low, rel_high=rel["rel_high"])
    return out


def _never_negative(arrays) -> bool:
    """Whether every value of the groups' arrays is >= 0 (missing values aside): then so is every mean."""
    return all(bool(np.all(np.nan_to_num(np.asarray(a, float)) >= 0)) for a in arrays)


def srm_table(counts: pd.Series, planned: dict[str, float] | None, *, srm_alpha: float = 0.001) -> pd.DataFrame:
    """Users per variant against the planned split.

    Returns
    -------
    DataFrame, one row per variant: ``variant``, ``users``, ``share``, ``planned_share``, ``expected``,
    ``chi2``, ``p_value`` (the same on every row), ``srm`` (True: the split is broken, p < ``srm_alpha``).
    """
    names = list(planned) if planned else list(counts.index)
    obs = [float(counts.get(v, 0)) for v in names]
    w = [planned[v] for v in names] if planned else [1.0] * len(names)
    r = st.srm_test(obs, w)
    total = sum(obs) or math.nan
    return pd.DataFrame({
        "variant": names, "users": [int(x) for x in obs], "share": [x / total for x in obs],
        "planned_share": [x / sum(w) for x in w], "expected": r["expected"], "chi2": r["chi2"],
        "p_value": r["p_value"], "srm": bool(r["p_value"] < srm_alpha),
    })  # fmt: skip


def cuped_in_range(kind: str, adjusted, variants: pd.Series, raw: pd.Series) -> bool:
    """Whether every group's mean of the CUPED-adjusted values stays where the metric's own means can be: a share
    between 0 and 1 (conversion), at least 0 when no raw value is negative (count, revenue). With a handful of users
    the adjustment can carry a group's rate past 100 % ("102.2 %" on three users); the unadjusted metric is tested
    then."""
    means = pd.Series(np.asarray(adjusted, float), index=variants.index).groupby(variants.to_numpy()).mean()
    low = 0.0 if kind == "conversion" or _never_negative([raw]) else -math.inf
    high = 1.0 if kind == "conversion" else math.inf
    eps = 1e-12
    return bool(((means >= low - eps) & (means <= high + eps)).all())


def compare_variants(values: pd.DataFrame, metrics: list, *, control: str, alpha: float = 0.05, seed: int = 0,
                     covariates: pd.DataFrame | None = None,
                     min_users: int = MIN_TEST_USERS) -> pd.DataFrame:  # fmt: skip
    """Every metric and treatment variant against the control, Holm across all rows.

    ``values``: one row per user with ``variant`` and one column per metric (ratio metrics are computed from
    their numerator and denominator columns). ``metrics``: ``ExperimentMetric`` models. ``covariates``: the
    CUPED pre-period value per metric column (same index), or None. ``min_users``: a comparison where either group
    has fewer users with a value is not tested: its values stay, its test columns (p, intervals, chance to beat,
    expected loss) are missing and it is not significant (:data:`MIN_TEST_USERS`).

    Returns
    -------
    DataFrame with columns :data:`RESULT_COLS` except ``trustworthy``.
    """
    rows = []
    variants = [v for v in sorted(values["variant"].unique()) if v != control]
    cmask = values["variant"] == control
    for m in metrics:
        vr = np.nan
        col: pd.Series = values[m.name] if m.kind != "ratio" else pd.Series(np.nan, index=values.index)
        kind = m.kind
        if covariates is not None and m.name in covariates and m.kind in ("conversion", "count", "revenue"):
            ok = col.notna()
            cu = st.cuped(col[ok].to_numpy(), covariates.loc[ok, m.name].to_numpy())
            vr = cu["variance_reduction"]
            if vr >= CUPED_MIN_REDUCTION and cuped_in_range(m.kind, cu["y_adj"], values.loc[ok, "variant"], col[ok]):
                col = col.copy()
                col[ok] = cu["y_adj"]
                kind = "cuped"
        for v in variants:
            tmask = values["variant"] == v
            if m.kind == "ratio":
                t = (values.loc[tmask, m.numerator].to_numpy(), values.loc[tmask, m.denominator].to_numpy())
                c = (values.loc[cmask, m.numerator].to_numpy(), values.loc[cmask, m.denominator].to_numpy())
            else:
                t, c = col[tmask].to_numpy(), col[cmask].to_numpy()
            raw = None if kind != "cuped" else _never_negative([values[m.name]])  # adjusted values can be < 0
            r = compare_one(kind, t, c, alpha=alpha, seed=seed, never_negative=raw)
            if kind == "cuped":
                r["test"] = "welch t (CUPED)"
            n_t = int(np.sum(~np.isnan(np.asarray(t[0] if m.kind == "ratio" else t, float))))
            n_c = int(np.sum(~np.isnan(np.asarray(c[0] if m.kind == "ratio" else c, float))))
            r.pop("se")
            if min(n_t, n_c) < min_users:  # too few to test: the values are shown, no test is
                r.update(dict.fromkeys(_TEST_KEYS, math.nan), test="too few users")
            rows.append(
                {
                    "metric": m.name,
                    "label": m.label or m.name,
                    "kind": m.kind,
                    "guardrail": m.guardrail,
                    "variant": v,
                    "users": n_t,
                    "control_users": n_c,
                    **r,
                    "cuped_variance_reduction": vr,
                }
            )
    out = pd.DataFrame(rows)
    if out.empty:
        return pd.DataFrame(columns=RESULT_COLS[:-1])
    out["holm_p"] = st.holm(out["p_value"].tolist())
    out["significant"] = out["holm_p"] < alpha
    return out[RESULT_COLS[:-1]]


def sequential_table(series: pd.DataFrame, *, alpha: float = 0.05, tuning_n: float | None = None) -> pd.DataFrame:
    """Fixed-horizon and always-valid intervals day by day.

    ``series``: per day, metric and variant ``day``, ``metric``, ``variant``, ``users`` (treatment + control),
    ``diff``, ``se``. The confidence sequence is GAVI (:func:`helpers.abstats.gavi_halfwidth`) with
    ``rho^2`` tuned at ``tuning_n`` (default: the most users of any row).

    Returns
    -------
    ``series`` with ``fixed_low``, ``fixed_high`` (the usual CI: valid only at a fixed horizon), ``cs_low``,
    ``cs_high`` (valid at every look), ``cs_excludes_zero``.
    """
    s = series.copy()
    if s.empty:
        return s.assign(fixed_low=[], fixed_high=[], cs_low=[], cs_high=[], cs_excludes_zero=[])
    rho2 = st.gavi_rho2(tuning_n or float(s["users"].max()), alpha=alpha)
    h = st._z(alpha) * s["se"]
    w = st.gavi_halfwidth(s["se"].to_numpy(), s["users"].to_numpy(), rho2=rho2, alpha=alpha)
    s["fixed_low"], s["fixed_high"] = s["diff"] - h, s["diff"] + h
    s["cs_low"], s["cs_high"] = s["diff"] - w, s["diff"] + w
    s["cs_excludes_zero"] = (s["cs_low"] > 0) | (s["cs_high"] < 0)
    return s


def power_table(results: pd.DataFrame, ses: dict, *, users_per_day: float, alpha: float, power_target: float,
                target_mde: float) -> pd.DataFrame:  # fmt: skip
    """Planning numbers per result row: the minimum detectable effect now and the days still needed.

    Returns
    -------
    DataFrame ``metric``, ``variant``, ``users`` (both arms), ``se``, ``mde_abs``, ``mde_rel`` (relative to the
    control value), ``power_at_target`` (power now for a relative effect of ``target_mde``), ``days_needed``
    (further days at ``users_per_day`` until ``target_mde`` is detectable at ``power_target``).
    """
    rows = []
    for r in results.itertuples():
        se = ses.get((r.metric, r.variant), math.nan)
        n = r.users + r.control_users
        m = st.mde(se, alpha=alpha, power_target=power_target)
        cv = r.control_value
        eff = target_mde * cv if cv else math.nan
        rows.append({"metric": r.metric, "variant": r.variant, "users": n, "se": se, "mde_abs": m,
                     "mde_rel": m / cv if cv else math.nan, "power_at_target": st.power(eff, se, alpha=alpha),
                     "days_needed": st.days_needed(eff, se, n, users_per_day, alpha=alpha,
                                                   power_target=power_target)})  # fmt: skip
    return pd.DataFrame(rows)
