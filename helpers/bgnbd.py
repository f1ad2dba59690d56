"""The BG/NBD model (Fader, Hardie & Lee 2005) of repeat purchases, with time in days: fit, probability
alive, expected purchases, a holdout check and its charts.

Kept apart from the RFM segments (as lifetimes and pymc-marketing keep their models apart): it works on any
per-customer table with ``user_id``, ``purchase_days``, ``tenure_days`` and ``recency_days`` (e.g.
:func:`helpers.rfm.rfm_table`), in numpy/scipy. The RFM report (``helpers.rfm``) fits it next to the segments.
Rules and results keys: docs/rfm.md ("BG/NBD").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .i18n import t

__all__ = [
    "BGNBDFit",
    "bgnbd_loglik",
    "fit_bgnbd",
    "bgnbd_p_alive",
    "bgnbd_expected",
    "bgnbd_inputs",
    "bgnbd_holdout_check",
    "bgnbd_params_table",
    "plot_segment_bgnbd",
    "plot_bgnbd_check",
]


# ---------------------------------------------------------------------------------------------- model
@dataclass(frozen=True)
class BGNBDFit:
    """Fitted BG/NBD parameters (Fader, Hardie & Lee 2005) with time in days.

    ``r``, ``alpha``: gamma heterogeneity of the purchase rate (mean rate r / alpha per day); ``a``, ``b``:
    beta heterogeneity of the drop-out probability after each repeat purchase. ``loglik``: maximised total
    log-likelihood over ``n`` customers. ``at_bound``: a parameter ended within a factor 2 of a limit of the
    search box (the data do not pin it down, e.g. no visible drop-out in a few days of data).
    """

    r: float
    alpha: float
    a: float
    b: float
    loglik: float
    n: int
    converged: bool = True
    message: str = ""
    at_bound: bool = False

    @property
    def params(self) -> tuple[float, float, float, float]:
        return (self.r, self.alpha, self.a, self.b)


def _arrays(x, t_x, T):
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    if np.any(x < 0) or np.any(t_x < 0) or np.any(T < t_x):
        raise ValueError("BG/NBD inputs need x >= 0 and 0 <= t_x <= T")
    return x, t_x, T


def bgnbd_loglik(params, x, t_x, T) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood of ``(r, alpha, a, b)`` for ``x`` repeat purchases, the last at
    ``t_x``, observed for ``T`` (same time unit), computed in logs (no overflow for large x).

    Returns
    -------
    numpy array of log-likelihoods, one per customer.
    """
    from scipy.special import betaln, gammaln

    r, alpha, a, b = params
    x, t_x, T = _arrays(x, t_x, T)
    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    ln_a1 = betaln(a, b + x) - (r + x) * np.log(alpha + T)
    with np.errstate(invalid="ignore", divide="ignore"):
        ln_a2 = np.where(x > 0, betaln(a + 1, np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x), -np.inf)
    return base + np.logaddexp(ln_a1, ln_a2)


#: bounds of the log parameters in the fit: every parameter in [1e-4, 1e5] (the optimum of data without
#: information on drop-out, e.g. a few days of data, runs to these limits; the report says so)
_LOG_BOUNDS = (math.log(1e-4), math.log(1e5))


def fit_bgnbd(x, t_x, T, *, init: tuple[float, float, float, float] | None = None) -> BGNBDFit:
    """Maximum-likelihood BG/NBD fit (scipy: L-BFGS-B on log parameters bounded to [1e-4, 1e5], then a
    bounded Nelder-Mead polish; the better optimum is kept).

    Parameters
    ----------
    x, t_x, T : arrays
        Repeat purchases, time of the last purchase and length of observation, measured from each
        customer's first purchase (see :func:`bgnbd_inputs`).
    init : (r, alpha, a, b), optional
        Start values; default r = a = b = 1 and alpha = mean(T) / max(mean(x), 0.1).

    Returns
    -------
    BGNBDFit
    """
    from scipy.optimize import minimize

    x, t_x, T = _arrays(x, t_x, T)
    if init is None:
        init = (1.0, float(np.mean(T)) / max(float(np.mean(x)), 0.1), 1.0, 1.0)
    n = len(x)

    def nll(theta):
        p = np.exp(theta)
        v = -np.sum(bgnbd_loglik(p, x, t_x, T)) / n
        return v if np.isfinite(v) else 1e10

    bounds = [_LOG_BOUNDS] * 4
    start = np.clip(np.log(np.asarray(init, dtype=float)), *_LOG_BOUNDS)
    best = minimize(nll, start, method="L-BFGS-B", bounds=bounds)
    polish = minimize(
        nll, best.x, method="Nelder-Mead", bounds=bounds, options={"xatol": 1e-7, "fatol": 1e-10, "maxiter": 4000}
    )
    if polish.fun < best.fun:
        best = polish
    r, alpha, a, b = np.exp(best.x)
    at_bound = bool(np.any(np.abs(best.x - np.array(_LOG_BOUNDS)[:, None]).min(axis=0) < math.log(2)))
    return BGNBDFit(
        float(r),
        float(alpha),
        float(a),
        float(b),
        float(-best.fun * n),
        n,
        bool(best.success),
        str(best.message),
        at_bound,
    )


def _log_odds_dead(params, x, t_x, T):
    """log of a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x) for x > 0; -inf for x = 0."""
    r, alpha, a, b = params
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    return np.where(x > 0, v, -np.inf)


def bgnbd_p_alive(params, x, t_x, T) -> np.ndarray:
    """Probability that a customer with history ``(x, t_x, T)`` is still alive at ``T``:
    1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x)).

    Returns
    -------
    numpy array in (0, 1]; exactly 1 for customers without repeat purchases (the model's convention).
    """
    from scipy.special import expit

    params = params.params if isinstance(params, BGNBDFit) else params
    x, t_x, T = _arrays(x, t_x, T)
    return expit(-_log_odds_dead(params, x, t_x, T))


def bgnbd_expected(params, t, x, t_x, T, *, nodes: int = 96, chunk: int = 50_000) -> np.ndarray:
    """Expected number of purchases in the next ``t`` time units for customers with history ``(x, t_x, T)``.

    Computed as P(alive) x E[purchases | alive]. Given alive at T the posterior is lambda ~ Gamma(r + x,
    alpha + T) and p ~ Beta(a, b + x), independent; a live customer with (lambda, p) makes
    (1 - exp(-lambda p t)) / p purchases in expectation (Poisson purchases, drop-out p after each), so
    E[purchases | alive] = E_p[(1 - ((alpha + T) / (alpha + T + p t))^(r + x)) / p], a one-dimensional
    integral over the beta posterior, done by Gauss-Legendre quadrature on its quantiles. This equals the
    closed form of Fader, Hardie & Lee (2005, eq. 10) with its Gauss hypergeometric function, but stays
    finite for any fitted parameters (the closed form overflows when a, b or x are large).

    Returns
    -------
    numpy array of expected purchases (>= 0), one per customer.
    """
    from scipy.special import betaincinv, expit

    params = params.params if isinstance(params, BGNBDFit) else params
    r, alpha, a, b = params
    x, t_x, T = _arrays(x, t_x, T)
    q, w = np.polynomial.legendre.leggauss(nodes)
    q, w = (q + 1) / 2, w / 2
    out = np.empty(len(x))
    for s in range(0, len(x), chunk):
        xs, c = x[s : s + chunk, None], alpha + T[s : s + chunk, None]
        p = betaincinv(a, b + xs, q[None, :])
        k = r + xs
        safe = np.where(p > 0, p, 1.0)
        g = np.where(p > 0, -np.expm1(-k * np.log1p(safe * t / c)) / safe, k * t / c)
        out[s : s + chunk] = g @ w
    return np.maximum(out * expit(-_log_odds_dead((r, alpha, a, b), x, t_x, T)), 0.0)


def _frame(table) -> pd.DataFrame:
    """The per-customer DataFrame of a DataFrame or of an ``RFMTable`` (its ``table``)."""
    return table if isinstance(table, pd.DataFrame) else table.table


def bgnbd_inputs(table) -> pd.DataFrame:
    """BG/NBD inputs in days from a per-customer table (:func:`helpers.rfm.rfm_table`, its result or its
    ``table``): one purchase period = one local day.

    Returns
    -------
    pandas.DataFrame
        ``user_id``; ``x`` = purchase_days - 1 (repeat purchase days; several orders on one day count
        once); ``t_x`` = days from the first to the last purchase day (= tenure_days - recency_days);
        ``T`` = days from the first purchase day to ``as_of`` (= tenure_days).
    """
    table = _frame(table)
    return pd.DataFrame(
        {
            "user_id": table["user_id"],
            "x": table["purchase_days"].astype(float) - 1,
            "t_x": (table["tenure_days"] - table["recency_days"]).astype(float),
            "T": table["tenure_days"].astype(float),
        }
    )


def bgnbd_holdout_check(
    calibration, full, *, horizon_days: int, fit: BGNBDFit | None = None
) -> tuple[BGNBDFit, pd.DataFrame, dict]:
    """Out-of-sample check: fit on ``calibration`` (a per-customer table as :func:`bgnbd_inputs` takes, with
    ``as_of`` = the full data's as_of minus ``horizon_days``), predict each calibration customer's purchase
    days in the holdout, compare with what they did (``full`` purchase_days minus calibration purchase_days;
    the split is at a midnight, so days partition exactly).

    Returns
    -------
    (fit, by_x, summary): ``by_x`` has ``x`` (repeat purchase days in calibration, "7+" pooled), ``users``,
    ``predicted`` and ``actual`` (mean purchase days per customer in the holdout); ``summary`` has
    ``days``, ``users``, ``predicted``, ``actual`` (totals), ``ratio`` (predicted / actual), ``mae`` (per
    customer), ``corr`` (Pearson, per customer).
    """
    calibration, full = _frame(calibration), _frame(full)
    inp = bgnbd_inputs(calibration)
    fit = fit or fit_bgnbd(inp["x"], inp["t_x"], inp["T"])
    pred = bgnbd_expected(fit, horizon_days, inp["x"], inp["t_x"], inp["T"])
    after = full.set_index("user_id")["purchase_days"].reindex(calibration["user_id"]).to_numpy()
    actual = after - calibration["purchase_days"].to_numpy()
    d = pd.DataFrame({"x": inp["x"].astype(int).clip(upper=7), "predicted": pred, "actual": actual})
    by_x = (
        d.groupby("x")
        .agg(users=("predicted", "size"), predicted=("predicted", "mean"), actual=("actual", "mean"))
        .reset_index()
    )
    by_x["x"] = by_x["x"].map(lambda v: "7+" if v == 7 else str(v))
    corr = float(np.corrcoef(pred, actual)[0, 1]) if len(d) > 2 and np.std(actual) > 0 else float("nan")
    summary = {
        "days": int(horizon_days),
        "users": int(len(d)),
        "predicted": float(pred.sum()),
        "actual": float(actual.sum()),
        "ratio": float(pred.sum() / actual.sum()) if actual.sum() else None,
        "mae": float(np.mean(np.abs(pred - actual))),
        "corr": corr,
    }
    return fit, by_x, summary


# ------------------------------------------------------------------------------------------- tables and charts
def bgnbd_params_table(fit: BGNBDFit) -> pd.DataFrame:
    """The fitted parameters in words: ``parameter``, ``value`` (text, 4 significant digits), ``meaning``;
    with the mean purchase rate per 30 days, the mean drop-out probability and the log-likelihood."""
    rows = [
        (t("rfm.bg.name.r"), fit.r, t("rfm.bg.r")),
        (t("rfm.bg.name.alpha"), fit.alpha, t("rfm.bg.alpha")),
        (t("rfm.bg.name.a"), fit.a, t("rfm.bg.a")),
        (t("rfm.bg.name.b"), fit.b, t("rfm.bg.b")),
        (t("rfm.bg.name.rate30"), 30 * fit.r / fit.alpha, t("rfm.bg.rate30")),
        (t("rfm.bg.name.dropout"), fit.a / (fit.a + fit.b), t("rfm.bg.dropout")),
        (t("rfm.bg.name.loglik"), fit.loglik, t("rfm.bg.loglik", users=f"{fit.n:,}")),
    ]
    out = pd.DataFrame(rows, columns=["parameter", "value", "meaning"])
    out["value"] = [f"{v:,.1f}" if abs(v) >= 1000 else f"{v:.4g}" for v in out["value"]]
    return out


def plot_segment_bgnbd(summary: pd.DataFrame, *, ax=None):
    """Mean BG/NBD probability alive per segment (horizontal bars).

    Returns
    -------
    matplotlib Axes
    """
    from .plots import plot_bar
    from .rfm_segments import segment_label

    live = summary[summary["users"] > 0]
    live = live.assign(label=live["segment"].map(segment_label))
    return plot_bar(
        live,
        x="label",
        y="mean_p_alive_repeat",
        horizontal=True,
        fmt="pct",
        ax=ax,
        title=t("rfm.bg_chart_title"),
        xlabel=t("rfm.bg_chart_x"),
        ylabel=t("rfm.segment_axis"),
    )


def plot_bgnbd_check(by_x: pd.DataFrame, *, days: int, ax=None):
    """Holdout check: mean predicted vs actual purchase days per customer, by repeat purchase days in the
    calibration period.

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    pos = np.arange(len(by_x))
    ax.bar(pos - 0.2, by_x["actual"], width=0.4, label=t("rfm.check_actual"), color="C0")
    ax.bar(pos + 0.2, by_x["predicted"], width=0.4, label=t("rfm.check_predicted"), color="C1")
    ax.set_xticks(pos, by_x["x"])
    ax.legend(fontsize="small")
    ax.grid(False, axis="x")
    ax.set_title(t("rfm.check_title", days=days))
    ax.set_xlabel(t("rfm.check_x"))
    ax.set_ylabel(t("rfm.check_y"))
    return ax
