"""Models of the impact report (helpers/impact.py): a structural time-series counterfactual and
difference-in-differences, on daily series in pandas (docs/impact.md has every rule).

Counterfactual
--------------
A statsmodels ``UnobservedComponents`` model (local level, optionally a fixed weekly pattern, the control
series as regressors whose constant coefficients are states, so their uncertainty is carried forward) is
fitted on the pre-period. Its two variances are not point estimates (maximum likelihood often puts the
level's variance at 0 on short series, which makes forecasts far too sure): the noise variance is
concentrated out and the level-to-noise ratio integrated over the grid :data:`Q_GRID` with weights
proportional to the likelihood (a flat prior on the grid), so the forecast is a mixture. Its forecast
over the post-period is the counterfactual: what the metric would have been without the intervention.

- pointwise effect ``actual - predicted`` with the forecast's ``1 - alpha`` interval;
- cumulative effect: the sum over the post-period so far; its variance is ``1' S 1`` where ``S`` is the
  covariance of the forecast errors: ``S[i, j] = Z T^(j-i) P_i Z' + H [i == j]`` (``P_i``: the predicted state
  covariance i steps ahead), so the interval accounts for the correlation of the days (a drifting level moves
  every day together). The regression coefficients' and the level variance's uncertainty are included.
- p-value: two-sided normal test of the cumulative effect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: the grid of level-to-noise variance ratios the counterfactual integrates over (a flat prior on it)
Q_GRID = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)

__all__ = ["Q_GRID", "Counterfactual", "fit_counterfactual", "did_estimate", "pre_trend_test"]


@dataclass
class Counterfactual:
    """A fitted counterfactual: ``series`` (per day), ``summary`` (the cumulative effect), ``fit`` (pre-period
    fit statistics) and ``weights`` (the posterior weight of each level-to-noise ratio of :data:`Q_GRID`)."""

    series: pd.DataFrame
    summary: dict
    fit: dict
    weights: np.ndarray = field(default_factory=lambda: np.array([]))


def _model(y: np.ndarray, x: np.ndarray | None, *, weekly: bool):
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    return UnobservedComponents(
        y, level="llevel", seasonal=7 if weekly else None, stochastic_seasonal=False, exog=x, mle_regression=False
    )


def _forecast(res, x_post: np.ndarray | None, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of the ``steps`` forecasts after the end of the fitted sample (given the variances).

    The regression coefficients are states (their uncertainty is in ``P``), so the design row of day ``i``
    carries that day's control values in its last ``k`` entries: ``E y_i = Z_i T^(i-1) a_1`` and
    ``Cov(y_i, y_j) = Z_i T^(j-i) P_i Z_j'`` (+ the noise variance when ``i == j``).
    """
    fr = res.filter_results
    t, z0 = fr.transition[:, :, 0], fr.design[:, :, 0]
    rqr = fr.selection[:, :, 0] @ fr.state_cov[:, :, 0] @ fr.selection[:, :, 0].T
    h = float(fr.obs_cov[0, 0, 0])
    p = fr.predicted_state_cov[:, :, -1]
    a = fr.predicted_state[:, -1]
    zs, ps, mean = [], [], np.zeros(steps)
    for i in range(steps):
        z = z0.copy()
        if x_post is not None:
            z[0, -x_post.shape[1] :] = x_post[i]
        zs.append(z)
        ps.append(p)
        mean[i] = float((z @ a).item())
        p = t @ p @ t.T + rqr
        a = t @ a
    cov = np.zeros((steps, steps))
    for i in range(steps):
        row = zs[i] @ ps[i]  # Z_i P_i, then Z_i P_i T'^(j-i)
        for j in range(i, steps):
            cov[i, j] = cov[j, i] = float((row @ zs[j].T).item())
            row = row @ t.T
        cov[i, i] += h
    return mean, cov


def fit_counterfactual(
    y: pd.Series,
    x: pd.DataFrame | None = None,
    *,
    start,
    end=None,
    weekly: bool = True,
    alpha: float = 0.05,
    total: str = "sum",
) -> Counterfactual:
    """Fit the model on the days before ``start`` and forecast ``[start, end]`` (``end`` default: the last day).

    Parameters
    ----------
    y : the treated metric per day (index: consecutive days); missing days are a caller error.
    x : control series per day (same index), one column each, or None for a model without regressors.
    start, end : the intervention's first and last day (inclusive).
    weekly : add a fixed day-of-week pattern (needs at least 3 weeks before ``start``).
    alpha : 1 - the intervals' level.
    total : ``"sum"`` (a count: the post-period's days add up) or ``"mean"`` (a rate or an average: they do not).
        With ``"mean"`` the summary's ``actual``, ``predicted``, ``effect`` and its interval are daily averages
        (the sums divided by the post-period's days) and ``cum_*`` is the running average of the effect (the
        cumulative sum to that day divided by the days so far); ``rel_*`` and ``p_value`` are the same either way.

    Returns
    -------
    :class:`Counterfactual`; ``series`` has ``day``, ``period`` (pre/post), ``actual``, ``predicted``
    (pre: the one-step-ahead prediction; post: the forecast), ``pred_low``, ``pred_high``, ``effect``,
    ``effect_low``, ``effect_high`` (post only), ``cum_effect``, ``cum_low``, ``cum_high`` (post only);
    ``summary`` has ``actual``, ``predicted``, ``effect``, ``effect_low``, ``effect_high``, ``rel_effect``,
    ``rel_low``, ``rel_high``, ``p_value``, ``days``, ``total``; ``fit`` has ``days``, ``mape``, ``r2``, ``resid_sd``.
    """
    from scipy.stats import norm

    if total not in ("sum", "mean"):
        raise ValueError(f"impact: total must be 'sum' or 'mean', not {total!r}")
    start = pd.Timestamp(start)
    end = pd.Timestamp(end) if end is not None else y.index.max()
    y = y[y.index <= end].astype(float)
    pre = y.index < start
    npre, npost = int(pre.sum()), int((~pre).sum())
    if npre < (21 if weekly else 7) or npost < 1:
        raise ValueError(f"impact: {npre} days before {start.date()} and {npost} from it; need at least "
                         f"{21 if weekly else 7} before (weekly pattern: 3 weeks) and 1 after")  # fmt: skip
    xv = None if x is None or x.shape[1] == 0 else x.loc[y.index].to_numpy(float)
    mod = _model(y[pre].to_numpy(), None if xv is None else xv[pre], weekly=weekly)
    xpost = None if xv is None else xv[~pre]
    # the level's variance integrated out on a grid of signal-to-noise ratios (the noise variance concentrated
    # out at each): weights proportional to the concentrated likelihood (flat over the grid); the forecast is
    # the mixture's mean and covariance
    fits = []
    for q in Q_GRID:
        r = mod.filter([1.0, q])
        burn = int(r.filter_results.loglikelihood_burn)
        v = np.asarray(r.filter_results.forecasts_error[0, burn:])
        f = np.asarray(r.filter_results.forecasts_error_cov[0, 0, burn:])
        s2 = float(np.mean(v**2 / f))
        ll = -0.5 * len(v) * math.log(s2) - 0.5 * float(np.log(f).sum())
        fits.append((ll, s2, r))
    lls = np.array([f[0] for f in fits])
    w = np.exp(lls - lls.max())
    w /= w.sum()
    fm, cov = np.zeros(npost), np.zeros((npost, npost))
    pm, pv = np.zeros(npre), np.zeros(npre)
    for wi, (_, s2, r) in zip(w, fits, strict=True):
        if wi < 1e-6:  # a negligible weight: skip its forecast (the weights of the rest are kept as they are)
            continue
        m, c = _forecast(r, xpost, npost)
        c = s2 * c
        pmi = np.asarray(r.filter_results.forecasts[0])
        pvi = s2 * np.asarray(r.filter_results.forecasts_error_cov[0, 0])
        fm, cov = fm + wi * m, cov + wi * (c + np.outer(m, m))
        pm, pv = pm + wi * pmi, pv + wi * (pvi + pmi**2)
    cov = cov - np.outer(fm, fm)
    pv = pv - pm**2
    best = fits[int(np.argmax(lls))]
    res = best[2]
    z = float(norm.ppf(1 - alpha / 2))
    out = pd.DataFrame({"day": y.index, "period": np.where(pre, "pre", "post"), "actual": y.to_numpy()})
    # diffuse start: the first days (one per diffuse state) are not predictions, and the week after them is still
    # dominated by the barely identified coefficients: neither is shown nor counted in the fit statistics
    burn = int(res.filter_results.loglikelihood_burn) + 7
    sd = np.sqrt(np.concatenate([pv, np.diag(cov)]))
    out["predicted"] = np.concatenate([pm, fm])
    out.loc[: burn - 1, "predicted"] = np.nan
    out["pred_low"], out["pred_high"] = out["predicted"] - z * sd, out["predicted"] + z * sd
    post = ~pre
    eff = out.loc[post, "actual"].to_numpy() - fm
    out["effect"] = np.nan
    out.loc[post, "effect"] = eff
    out.loc[post, "effect_low"], out.loc[post, "effect_high"] = eff - z * sd[post], eff + z * sd[post]
    cum = np.cumsum(eff)
    cum_sd = np.sqrt(np.diag(np.cumsum(np.cumsum(cov, 0), 1)))
    tot_pred, tot_sd = float(fm.sum()), float(cum_sd[-1])
    e = float(cum[-1])
    p_value = float(2 * norm.sf(abs(e) / tot_sd)) if tot_sd > 0 else math.nan
    rel = lambda v: v / tot_pred if tot_pred else math.nan  # noqa: E731
    # a rate's days do not add up: the running average (sum to that day / days so far) and the daily averages;
    # dividing both parts of a ratio by the days leaves the relative effect and p as they are
    per = 1 / np.arange(1, npost + 1) if total == "mean" else np.ones(npost)
    out.loc[post, "cum_effect"] = cum * per
    out.loc[post, "cum_low"], out.loc[post, "cum_high"] = (cum - z * cum_sd) * per, (cum + z * cum_sd) * per
    k = float(per[-1])
    summary = {
        "days": npost,
        "total": total,
        "actual": float(out.loc[post, "actual"].sum()) * k,
        "predicted": tot_pred * k,
        "effect": e * k,
        "effect_low": (e - z * tot_sd) * k,
        "effect_high": (e + z * tot_sd) * k,
        "rel_effect": rel(e),
        "rel_low": rel(e - z * tot_sd),
        "rel_high": rel(e + z * tot_sd),
        "p_value": p_value,
        "significant": bool(p_value < alpha),
    }
    fitted = out.loc[pre, ["actual", "predicted"]].iloc[burn:].dropna()
    resid = fitted["actual"] - fitted["predicted"]
    nz = fitted["actual"] != 0
    ss_tot = float(((fitted["actual"] - fitted["actual"].mean()) ** 2).sum())
    fit = {
        "days": npre,
        "mape": float((resid[nz].abs() / fitted.loc[nz, "actual"].abs()).mean()) if nz.any() else math.nan,
        "r2": 1 - float((resid**2).sum()) / ss_tot if ss_tot > 0 else math.nan,
        "resid_sd": float(resid.std(ddof=1)) if len(resid) > 1 else math.nan,
        "noise_var": best[1],
        "level_var": best[1] * float(Q_GRID[int(np.argmax(lls))]),
        "level_ratio_mean": float(w @ np.asarray(Q_GRID)),
    }
    return Counterfactual(out, summary, fit, w)


def did_estimate(daily: pd.DataFrame, *, start, end=None, alpha: float = 0.05, scale: str = "level") -> dict:
    """Difference-in-differences of a daily metric between a treated and a control group.

    ``daily`` has ``day``, ``group`` (``treated`` / ``control``) and ``value``. The estimate is the OLS
    coefficient of ``treated x post`` in ``value ~ treated + post + treated:post``, i.e.
    ``(mean treated post - mean treated pre) - (mean control post - mean control pre)``; its standard error is
    clustered by day (the two groups of a day share that day's shocks). ``scale="log"`` models
    ``log(value)`` (every value must be > 0): groups that shrink or grow by the same factor are parallel, and
    the effect is a ratio: ``rel_effect = exp(effect) - 1``.

    Returns
    -------
    dict ``scale``, ``effect``, ``effect_low``, ``effect_high`` (on the model's scale), ``se``, ``p_value``,
    ``significant``, ``rel_effect``, ``rel_low``, ``rel_high`` (level: the effect / the treated group's post mean
    minus the effect; log: ``exp(.) - 1``), ``treated_pre``, ``treated_post``,
    ``control_pre``, ``control_post`` (group means), ``days_pre``, ``days_post``.
    """
    import statsmodels.api as sm
    from scipy.stats import norm

    d = daily.copy()
    if end is not None:
        d = d[d["day"] <= pd.Timestamp(end)]
    d["treated"] = (d["group"] == "treated").astype(float)
    d["post"] = (d["day"] >= pd.Timestamp(start)).astype(float)
    d["tp"] = d["treated"] * d["post"]
    d = d.dropna(subset=["value"])
    raw = d["value"].astype(float)
    if scale == "log":
        if (raw <= 0).any():
            raise ValueError("impact: difference-in-differences on the log scale needs values > 0 every day; "
                             "use impact.did_scale: level")  # fmt: skip
        d["value"] = np.log(raw)
    xmat = sm.add_constant(d[["treated", "post", "tp"]].to_numpy(float), has_constant="add")
    codes = pd.factorize(d["day"])[0]
    fit = sm.OLS(d["value"].to_numpy(float), xmat).fit(cov_type="cluster", cov_kwds={"groups": codes})
    eff, se = float(fit.params[3]), float(fit.bse[3])
    z = float(norm.ppf(1 - alpha / 2))
    means = d.assign(value=raw).groupby(["group", "post"])["value"].mean()
    tpost = float(means.get(("treated", 1.0), math.nan))
    lo, hi = eff - z * se, eff + z * se
    if scale == "log":
        rel = [math.expm1(v) for v in (eff, lo, hi)]
    else:
        base = tpost - eff
        rel = [v / base if base > 0 else math.nan for v in (eff, lo, hi)]
    p = float(fit.pvalues[3])
    return {
        "scale": scale,
        "effect": eff,
        "effect_low": lo,
        "effect_high": hi,
        "se": se,
        "p_value": p,
        "significant": bool(p < alpha),
        "rel_effect": rel[0],
        "rel_low": rel[1],
        "rel_high": rel[2],
        "treated_pre": float(means.get(("treated", 0.0), math.nan)),
        "treated_post": tpost,
        "control_pre": float(means.get(("control", 0.0), math.nan)),
        "control_post": float(means.get(("control", 1.0), math.nan)),
        "days_pre": int((d["post"] == 0).sum() // 2),
        "days_post": int((d["post"] == 1).sum() // 2),
    }


def pre_trend_test(daily: pd.DataFrame, *, start, alpha: float = 0.05, scale: str = "level") -> dict:
    """Do the groups trend alike before ``start``? OLS ``value ~ treated + t + treated:t`` on the pre-period
    (``t`` in days; ``log(value)`` when ``scale="log"``), robust (HC1) standard errors; a slope difference with
    p < ``alpha`` fails the check.

    Returns
    -------
    dict ``slope_treated``, ``slope_control`` (per day), ``slope_diff``, ``p_value``, ``parallel`` (bool).
    """
    import statsmodels.api as sm

    d = daily[daily["day"] < pd.Timestamp(start)].dropna(subset=["value"]).copy()
    if scale == "log":
        d["value"] = np.log(d["value"].astype(float).where(d["value"] > 0))
        d = d.dropna(subset=["value"])
    tr = (d["group"] == "treated").astype(float).to_numpy()
    t = ((d["day"] - d["day"].min()).dt.days).to_numpy(float)
    xmat = sm.add_constant(np.column_stack([tr, t, tr * t]), has_constant="add")
    fit = sm.OLS(d["value"].to_numpy(float), xmat).fit(cov_type="HC1")
    p = float(fit.pvalues[3])
    return {
        "slope_treated": float(fit.params[2] + fit.params[3]),
        "slope_control": float(fit.params[2]),
        "slope_diff": float(fit.params[3]),
        "p_value": p,
        "parallel": bool(p >= alpha),
    }
