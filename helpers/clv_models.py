"""Customer-lifetime-value models in numpy/scipy: the Gamma-Gamma spend model and three purchase models
(BG/NBD, MBG/NBD, Pareto/NBD) with their likelihoods, maximum-likelihood fits, probability alive,
conditional expected purchases, and parameter uncertainty (inverse Hessian, sampled).

Pure maths on per-customer arrays: ``x`` repeat purchases, ``t_x`` time of the last one and ``T`` the
length of observation, both from the customer's first purchase, in any one time unit; ``zbar`` the mean
spend of the repeat purchases. The orchestration (inputs from orders, holdout, CLV in money, the RFM
report's parts) is ``helpers.clv``. Rules and references: docs/rfm.md ("CLV").

References: Fader, Hardie & Lee (2005a) "Counting your customers the easy way" (BG/NBD); Fader, Hardie &
Lee (2005b) "RFM and CLV: using iso-value curves" (Gamma-Gamma); Batislam, Denizel & Filiztekin (2007)
(MBG/NBD); Schmittlein, Morrison & Colombo (1987) and Fader & Hardie (2005) "A note on deriving the
Pareto/NBD model and related expressions" (Pareto/NBD).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "MODELS",
    "PARAM_NAMES",
    "ModelFit",
    "loglik",
    "fit_model",
    "p_alive",
    "expected_purchases",
    "gg_loglik",
    "fit_gamma_gamma",
    "gg_expected_spend",
    "sample_params",
    "pareto_log_integral",
]

#: the purchase models and the gamma-gamma spend model, with their parameter names
PARAM_NAMES: dict[str, tuple[str, ...]] = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "mbgnbd": ("r", "alpha", "a", "b"),
    "pareto_nbd": ("r", "alpha", "s", "beta"),
    "gamma_gamma": ("p", "q", "gamma"),
}
MODELS: tuple[str, ...] = ("bgnbd", "mbgnbd", "pareto_nbd")

#: every parameter is searched in [1e-4, 1e5] (log scale)
_LOG_BOUNDS = (math.log(1e-4), math.log(1e5))


@dataclass(frozen=True)
class ModelFit:
    """A maximum-likelihood fit: ``model`` (a key of :data:`PARAM_NAMES`), ``params`` (tuple in the order of
    ``PARAM_NAMES[model]``), ``loglik`` (maximised total), ``n`` (customers used), ``cov_log`` (covariance of
    the log parameters = inverse Hessian of the negative log-likelihood at the optimum; None when the Hessian
    is not positive definite), ``converged``, ``at_bound`` (a parameter within a factor 2 of the search box)."""

    model: str
    params: tuple[float, ...]
    loglik: float
    n: int
    cov_log: np.ndarray | None = field(default=None, compare=False)
    converged: bool = True
    at_bound: bool = False

    def as_dict(self) -> dict[str, float]:
        return dict(zip(PARAM_NAMES[self.model], self.params, strict=True))

    def se_log(self) -> dict[str, float | None]:
        """Standard errors of the log parameters (None without a covariance)."""
        names = PARAM_NAMES[self.model]
        if self.cov_log is None:
            return dict.fromkeys(names)
        return dict(zip(names, np.sqrt(np.diag(self.cov_log)).tolist(), strict=True))


def _arrays(x, t_x, T):
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    if np.any(x < 0) or np.any(t_x < 0) or np.any(T < t_x - 1e-12):
        raise ValueError("CLV model inputs need x >= 0 and 0 <= t_x <= T")
    return x, t_x, T


# ---------------------------------------------------------------------------------------------- likelihoods
def _bg_loglik(params, x, t_x, T, *, modified: bool):
    from scipy.special import betaln, gammaln

    r, alpha, a, b = params
    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - (r + x) * np.log(alpha + T)
    if modified:  # MBG/NBD: a customer may also drop out right after the first purchase
        first = betaln(a, b + x + 1) - betaln(a, b)
        return base + first + np.logaddexp(0.0, _log_odds_dead("mbgnbd", params, x, t_x, T))
    first = betaln(a, b + x) - betaln(a, b)
    return base + first + np.logaddexp(0.0, _log_odds_dead("bgnbd", params, x, t_x, T))


_GL = np.polynomial.legendre.leggauss(64)


def pareto_log_integral(params, x, t_x, T) -> np.ndarray:
    """log of I = integral from t_x to T of (alpha + u)^-(r+x) (beta + u)^-(s+1) du; -inf when t_x = T.

    s/(r+s+x) times the difference of the two Gauss hypergeometric terms of the Pareto/NBD likelihood
    (Fader & Hardie 2005, eq. 22) equals s x I; evaluating I directly never subtracts two nearly equal
    numbers and never calls 2F1 near z = 1. With y = log(alpha + u) the integrand is exp(-K y) g(y), K = r+s+x,
    g(y) = (1 + (beta - alpha) exp(-y))^-(s+1) smooth and bounded; y is cut where exp(-K y) has fallen by
    e^-50 (the rest is below double precision), and the remaining interval takes 64-point Gauss-Legendre.
    """
    r, alpha, s, beta = params
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    K = r + s + x
    y0 = np.log(alpha + t_x)
    width = np.minimum(np.log1p((T - t_x) / (alpha + t_x)), 50.0 / K)  # y1 - y0 without cancellation
    half = width[:, None] / 2
    q, w = _GL
    y = y0[:, None] + half * (q[None, :] + 1)
    # exp(-K y) relative to exp(-K y0); g in logs
    log_f = -K[:, None] * (y - y0[:, None]) - (s + 1) * np.log1p((beta - alpha) * np.exp(-y))
    with np.errstate(divide="ignore"):
        log_int = np.log(half[:, 0]) + _logsumexp(log_f + np.log(w)[None, :])
    return np.where(T > t_x, log_int - K * y0, -np.inf)


def _logsumexp(a):
    m = np.max(a, axis=1)
    return m + np.log(np.sum(np.exp(a - m[:, None]), axis=1))


def _pareto_loglik(params, x, t_x, T):
    from scipy.special import gammaln

    r, alpha, s, beta = params
    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    return base + np.logaddexp(alive, np.log(s) + pareto_log_integral(params, x, t_x, T))


def _log_odds_dead(model, params, x, t_x, T):
    """log of P(dead) / P(alive) given the history."""
    if model == "pareto_nbd":
        r, alpha, s, beta = params
        return np.log(s) + (r + x) * np.log(alpha + T) + s * np.log(beta + T) + pareto_log_integral(params, x, t_x, T)
    r, alpha, a, b = params
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        if model == "mbgnbd":
            return np.log(a) - np.log(b + x) + ratio
        v = np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) + ratio
    return np.where(x > 0, v, -np.inf)


def loglik(model: str, params, x, t_x, T) -> np.ndarray:
    """Per-customer log-likelihood of ``params`` under ``model`` ("bgnbd", "mbgnbd", "pareto_nbd").

    Returns
    -------
    numpy array, one log-likelihood per customer.
    """
    x, t_x, T = _arrays(x, t_x, T)
    if model == "pareto_nbd":
        return _pareto_loglik(params, x, t_x, T)
    if model in ("bgnbd", "mbgnbd"):
        return _bg_loglik(params, x, t_x, T, modified=model == "mbgnbd")
    raise ValueError(f"unknown model {model!r}: one of {MODELS} (params: clv.model)")


def p_alive(model: str, params, x, t_x, T) -> np.ndarray:
    """Probability that each customer is alive at ``T`` given ``(x, t_x, T)``: 1 / (1 + odds of dead).

    BG/NBD: exactly 1 for x = 0 (a customer can only drop out after a repeat purchase); MBG/NBD and
    Pareto/NBD: below 1 for everyone.
    """
    from scipy.special import expit

    x, t_x, T = _arrays(x, t_x, T)
    return expit(-_log_odds_dead(model, params, x, t_x, T))


def expected_purchases(model: str, params, t, x, t_x, T, *, nodes: int = 48) -> np.ndarray:
    """Expected purchases in ``(T, T + t]`` for each customer, for one or several ``t``.

    P(alive) x E[purchases | alive]. Pareto/NBD: E = (r+x)(beta+T)/((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)]
    (Schmittlein et al. 1987), evaluated with expm1/log1p (finite at s = 1). BG/NBD and MBG/NBD: given alive,
    lambda ~ Gamma(r+x, alpha+T) and the drop-out probability p ~ Beta(a, b+x) (BG) or Beta(a, b+x+1) (MBG);
    a live customer buys (1 - exp(-lambda p t))/p in expectation, so
    E[. | alive] = E_p[(1 - ((alpha+T)/(alpha+T+p t))^(r+x))/p],
    a one-dimensional integral over the beta posterior by Gauss-Legendre on its quantiles (equal to the
    closed forms with 2F1, finite for any parameters).

    Returns
    -------
    numpy array, shape (n,) for a scalar ``t`` or (n, len(t)).
    """
    from scipy.special import betaincinv, expit

    x, t_x, T = _arrays(x, t_x, T)
    ts = np.atleast_1d(np.asarray(t, dtype=float))
    alive = expit(-_log_odds_dead(model, params, x, t_x, T))
    if model == "pareto_nbd":
        r, alpha, s, beta = params
        lg = np.log1p(ts[None, :] / (beta + T)[:, None])
        sm1 = s - 1
        part = lg if abs(sm1) < 1e-12 else -np.expm1(-sm1 * lg) / sm1
        cond = ((r + x) * (beta + T) / (alpha + T))[:, None] * part
    else:
        r, alpha, a, b = params
        shift = 1.0 if model == "mbgnbd" else 0.0
        q, w = np.polynomial.legendre.leggauss(nodes)
        q, w = (q + 1) / 2, w / 2
        ux, inv = np.unique(x, return_inverse=True)
        pn = betaincinv(a, b + ux[:, None] + shift, q[None, :])[inv]  # (n, nodes)
        c = alpha + T
        k = (r + x)[:, None, None]
        safe = np.where(pn > 0, pn, 1.0)[:, None, :]
        tt = ts[None, :, None]
        g = np.where(
            pn[:, None, :] > 0, -np.expm1(-k * np.log1p(safe * tt / c[:, None, None])) / safe, k * tt / c[:, None, None]
        )
        cond = g @ w
    out = np.maximum(cond * alive[:, None], 0.0)
    return out[:, 0] if np.ndim(t) == 0 else out


# ---------------------------------------------------------------------------------------------- fitting
def _minimize(nll, start, polish: bool = True):
    from scipy.optimize import minimize

    bounds = [_LOG_BOUNDS] * len(start)
    start = np.clip(np.asarray(start, dtype=float), *_LOG_BOUNDS)
    best = minimize(nll, start, method="L-BFGS-B", bounds=bounds)
    if not polish:
        return best
    nm = minimize(
        nll, best.x, method="Nelder-Mead", bounds=bounds, options={"xatol": 1e-7, "fatol": 1e-10, "maxiter": 4000}
    )
    return nm if nm.fun < best.fun else best


def _hessian(f, theta, h: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``theta``."""
    k = len(theta)
    H = np.empty((k, k))
    f0 = f(theta)
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = h
        H[i, i] = (f(theta + ei) - 2 * f0 + f(theta - ei)) / h**2
        for j in range(i):
            ej = np.zeros(k)
            ej[j] = h
            H[i, j] = H[j, i] = (f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej) + f(theta - ei - ej)) / (
                4 * h * h
            )
    return H


def _finish(model, best, total_nll, n) -> ModelFit:
    H = _hessian(total_nll, best.x)
    cov = None
    try:
        c = np.linalg.inv(H)
        if np.all(np.isfinite(c)) and np.all(np.linalg.eigvalsh((c + c.T) / 2) > 0):
            cov = (c + c.T) / 2
    except np.linalg.LinAlgError:
        pass
    at_bound = bool(np.any(np.abs(best.x - np.array(_LOG_BOUNDS)[:, None]).min(axis=0) < math.log(2)))
    return ModelFit(
        model, tuple(float(v) for v in np.exp(best.x)), float(-total_nll(best.x)), n, cov, bool(best.success), at_bound
    )


def fit_model(model: str, x, t_x, T, *, init=None, polish: bool = True) -> ModelFit:
    """Maximum-likelihood fit of a purchase model (L-BFGS-B on log parameters bounded to [1e-4, 1e5], then a
    bounded Nelder-Mead polish; the better optimum is kept) and the inverse Hessian of the negative
    log-likelihood in the log parameters (central differences, step 1e-4).

    Parameters
    ----------
    model : "bgnbd", "mbgnbd" or "pareto_nbd"
    x, t_x, T : arrays (see the module docstring)
    init : start values; default 1 for shapes and mean(T) / max(mean(x), 0.1) for the scales.
    polish : run the Nelder-Mead polish (off only for fast repeated fits, e.g. simulations).

    Returns
    -------
    ModelFit
    """
    x, t_x, T = _arrays(x, t_x, T)
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}: one of {MODELS} (params: clv.model)")
    n = len(x)
    if init is None:
        scale = float(np.mean(T)) / max(float(np.mean(x)), 0.1)
        init = (1.0, scale, 1.0, scale) if model == "pareto_nbd" else (1.0, scale, 1.0, 1.0)

    def total(theta):
        v = -np.sum(loglik(model, np.exp(theta), x, t_x, T))
        return v if np.isfinite(v) else 1e300

    best = _minimize(lambda th: min(total(th) / n, 1e10), np.log(init), polish)
    return _finish(model, best, total, n)


# ---------------------------------------------------------------------------------------------- spend
def _spend_arrays(x, zbar):
    x, zbar = np.asarray(x, dtype=float), np.asarray(zbar, dtype=float)
    if np.any(x <= 0) or np.any(zbar <= 0):
        raise ValueError("Gamma-Gamma needs customers with x > 0 repeat purchases and a positive mean spend zbar")
    return x, zbar


def gg_loglik(params, x, zbar) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood of ``(p, q, gamma)`` for ``x`` repeat purchases of mean
    value ``zbar`` (Fader, Hardie & Lee 2005b, eq. 3; the density of zbar)."""
    from scipy.special import gammaln

    p, q, g = params
    x, zbar = _spend_arrays(x, zbar)
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(g)
        + (px - 1) * np.log(zbar)
        + px * np.log(x)
        - (px + q) * np.log(g + x * zbar)
    )


def fit_gamma_gamma(x, zbar, *, init=(1.0, 1.0, 1.0)) -> ModelFit:
    """Maximum-likelihood Gamma-Gamma fit on repeat buyers (``x > 0``, ``zbar > 0``), with the inverse
    Hessian in the log parameters (as :func:`fit_model`).

    Returns
    -------
    ModelFit with model "gamma_gamma", params (p, q, gamma).
    """
    x, zbar = _spend_arrays(x, zbar)
    n = len(x)

    def total(theta):
        v = -np.sum(gg_loglik(np.exp(theta), x, zbar))
        return v if np.isfinite(v) else 1e300

    init = (init[0], init[1], init[2] if init[2] != 1.0 else float(np.mean(zbar)))
    best = _minimize(lambda th: min(total(th) / n, 1e10), np.log(init))
    return _finish("gamma_gamma", best, total, n)


def gg_expected_spend(params, x, zbar) -> np.ndarray:
    """Conditional expected mean spend per purchase: (gamma + x zbar) p / (p x + q - 1), a weighted mean of
    the population mean p gamma / (q - 1) and the customer's zbar (Fader, Hardie & Lee 2005b, eq. 5);
    customers with x = 0 get the population mean. NaN when q <= 1 (no finite mean)."""
    p, q, g = params
    x = np.asarray(x, dtype=float)
    zbar = np.nan_to_num(np.asarray(zbar, dtype=float))
    if q <= 1:
        return np.full(len(x), np.nan)
    return (g + x * zbar) * p / (p * x + q - 1)


# ---------------------------------------------------------------------------------------------- uncertainty
def sample_params(fit: ModelFit, n_draws: int, rng) -> np.ndarray:
    """``n_draws`` parameter vectors drawn from the normal approximation of the log parameters (mean: the
    MLE, covariance: :attr:`ModelFit.cov_log`), exponentiated; shape (n_draws, k). Without a covariance every
    draw is the MLE (the intervals collapse; the report says so)."""
    mu = np.log(np.asarray(fit.params))
    if fit.cov_log is None:
        return np.tile(np.exp(mu), (n_draws, 1))
    return np.exp(rng.multivariate_normal(mu, fit.cov_log, size=n_draws))
