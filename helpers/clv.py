"""Customer lifetime value for the RFM report: per-customer purchase histories from the orders (Ibis), a
calibration/holdout comparison of BG/NBD, MBG/NBD and Pareto/NBD, the chosen model's P(alive) and expected
purchases, the Gamma-Gamma expected spend, discounted CLV per customer and per segment, and intervals from
the parameters' uncertainty. The maths is ``helpers.clv_models``; rules and results keys: docs/rfm.md ("CLV").
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .clv_models import (
    MODELS,
    PARAM_NAMES,
    ModelFit,
    expected_purchases,
    fit_gamma_gamma,
    fit_model,
    gg_expected_spend,
    p_alive,
    sample_params,
)
from .engine import MONEY, as_table, to_pandas
from .i18n import column_label, label, list_join, t

__all__ = [
    "CLV_TABLES",
    "CLV_KEYS",
    "clv_for_rfm",
    "DAYS_PER_MONTH",
    "CLVResult",
    "customer_history",
    "model_inputs",
    "holdout_comparison",
    "choose_model",
    "monthly_rate",
    "discounted_clv",
    "compute_clv",
]

#: the RFM report's CLV tables (results/rfm_<table>.csv)
CLV_TABLES = ("clv_customers", "clv_segments", "model_comparison")
#: results/rfm.json "clv" keys, null when CLV was not computed (docs/rfm.md, "CLV")
CLV_KEYS: dict[str, Any] = dict.fromkeys(
    "available reason currency top_n model criterion forced time_unit age_convention horizon_months discount_rate "
    "discount_period monthly_rate interval_level n_draws as_of users repeat_buyers params se_log spend amounts holdout "
    "holdout_reason expected_purchases total_clv total_clv_lo total_clv_hi notes".split()
) | {"available": False, "notes": []}
#: a month in days (365.25 / 12) for the CLV horizon
DAYS_PER_MONTH = 30.4375
_UNIT_DAYS = {"day": 1.0, "week": 7.0}
_MODEL_LABEL = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pareto_nbd": "Pareto/NBD"}
#: segments whose name says the customer is gone (named11 and cn8 schemes)
_GONE = ("Lost", "Hibernating", "重要挽留客户", "一般挽留客户")


# ---------------------------------------------------------------------------------------------- inputs


def customer_history(
    orders,
    *,
    end,
    user_col: str = "user_id",
    ts_col: str = "ts",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """Per customer, from order rows with ``ts`` before the midnight of ``end`` (Ibis; one row per customer
    comes back): ``user_id``, ``first_day``, ``last_day`` (local dates of the first and last purchase),
    ``purchase_days`` (distinct purchase dates) and ``repeat_amount`` (sum of the amounts on the purchase
    days after the first; NaN without amounts). Rows with a negative amount (returns) are ignored.
    """
    import ibis

    t = as_table(orders)
    end = pd.Timestamp(end).normalize()
    t = t.filter(t[ts_col] < ibis.literal(end.to_pydatetime()))
    has_amount = amount_col in t.columns
    amt = t[amount_col].cast("float64") if has_amount else ibis.literal(0.0)
    if has_amount:
        t = t.filter((amt >= 0).fill_null(True))
        # summed as decimals to 6 places: exact, so every engine (any summation order) gives the same amounts,
        # which the spend model's optimiser would otherwise amplify (1e-12 -> 1e-8 in its parameters)
        amt = t[amount_col].cast("float64").cast(MONEY)
    daily = t.group_by(user_id=t[user_col].cast("string"), day=t[ts_col].date()).aggregate(amount=amt.sum())
    daily = daily.mutate(first=daily["day"].min().over(group_by="user_id"))
    g = daily.group_by("user_id").aggregate(
        first_day=daily["day"].min(),
        last_day=daily["day"].max(),
        purchase_days=daily["day"].count(),
        repeat_amount=daily["amount"].sum(where=daily["day"] > daily["first"]).cast("float64"),
    )
    df = to_pandas(g)
    df["first_day"] = pd.to_datetime(df["first_day"])
    df["last_day"] = pd.to_datetime(df["last_day"])
    df["purchase_days"] = df["purchase_days"].astype("int64")
    df["repeat_amount"] = df["repeat_amount"].astype(float).fillna(0.0) if has_amount else np.nan
    return df.sort_values("user_id", ignore_index=True)


def model_inputs(hist: pd.DataFrame, *, end, time_unit: str = "day", age_convention: str = "day_after") -> pd.DataFrame:
    """Model inputs from :func:`customer_history` cut at ``end``: ``x`` = purchase_days - 1 (repeat purchase
    days), ``t_x`` = last_day - first_day and ``T`` = age, in ``time_unit`` (day or week = 7 days); the age
    runs to ``end`` (``day_after``: the kit's RFM as_of, the day after the last data day) or to the day before
    ``end`` (``calibration_end``: the last data day, as in the Fader-Hardie papers); ``zbar`` = repeat_amount / x
    (mean spend per repeat purchase day; NaN for x = 0)."""
    unit = _UNIT_DAYS[time_unit]
    end = pd.Timestamp(end).normalize() - pd.Timedelta(days=1 if age_convention == "calibration_end" else 0)
    x = hist["purchase_days"].to_numpy(float) - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        zbar = np.where(x > 0, hist["repeat_amount"].to_numpy(float) / np.maximum(x, 1), np.nan)
    return pd.DataFrame(
        {
            "user_id": hist["user_id"].to_numpy(),
            "x": x,
            "t_x": (hist["last_day"] - hist["first_day"]).dt.days.to_numpy(float) / unit,
            "T": (end - hist["first_day"]).dt.days.to_numpy(float) / unit,
            "zbar": zbar,
        }
    )


# ---------------------------------------------------------------------------------------------- holdout
def holdout_comparison(cal: pd.DataFrame, actual, horizon: float) -> tuple[pd.DataFrame, dict[str, ModelFit]]:
    """Fit every model on the calibration inputs ``cal`` (:func:`model_inputs`) and compare each customer's
    predicted purchases in the next ``horizon`` time units with ``actual`` (purchase days in the holdout).

    Returns
    -------
    (table, fits): ``table`` has one row per model: ``model``, ``params`` (text), ``loglik``, ``users``,
    ``predicted`` and ``actual`` (totals), ``bias`` (mean predicted - actual per customer), ``mae``, ``rmse``
    (per customer), ``converged``.
    """
    actual = np.asarray(actual, dtype=float)
    rows, fits = [], {}
    for m in MODELS:
        f = fit_model(m, cal["x"], cal["t_x"], cal["T"])
        fits[m] = f
        err = expected_purchases(m, f.params, horizon, cal["x"], cal["t_x"], cal["T"]) - actual
        rows.append(
            {
                "model": m,
                "params": ", ".join(f"{k} {v:.4g}" for k, v in f.as_dict().items()),
                "loglik": f.loglik,
                "users": len(actual),
                "predicted": float(np.sum(err + actual)),
                "actual": float(actual.sum()),
                "bias": float(err.mean()),
                "mae": float(np.abs(err).mean()),
                "rmse": float(np.sqrt(np.mean(err**2))),
                "converged": f.converged and not f.at_bound,
            }
        )
    return pd.DataFrame(rows), fits


def choose_model(table: pd.DataFrame, *, criterion: str = "rmse", forced: str = "auto") -> tuple[str, str | None]:
    """The model to use: ``forced`` unless "auto", else the converged model with the lowest ``criterion``
    (rmse, mae or abs_bias = |bias|; ties: BG/NBD, MBG/NBD, Pareto/NBD order). Returns (model, note): the
    note (current language) says when the model used is not the best on every holdout measure."""
    tb = table.assign(abs_bias=table["bias"].abs())
    ok = tb[tb["converged"]] if tb["converged"].any() else tb
    model = forced if forced != "auto" else str(ok.sort_values(criterion, kind="stable").iloc[0]["model"])
    row = tb.set_index("model").loc[model]
    worse = [
        f"{criterion_label(k)}{t('label_sep')}{_MODEL_LABEL[str(b['model'])]}"  # 绝对偏差：Pareto/NBD
        for k in ("rmse", "mae", "abs_bias")
        for b in [tb.sort_values(k, kind="stable").iloc[0]]
        if b["model"] != model and b[k] < row[k] - 1e-12
    ]
    if not worse:
        return model, None
    how = t("clv.by_params") if forced != "auto" else t("clv.by_criterion", criterion=criterion_label(criterion))
    return model, t("clv.not_best", model=_MODEL_LABEL[model], how=how, better=list_join(worse))


def criterion_label(criterion: str) -> str:
    """A holdout measure (``rmse``, ``mae``, ``abs_bias``) in the page's words (均方根误差); the results keep the
    code."""
    return label(f"clv.criterion.{criterion}", criterion)


# ---------------------------------------------------------------------------------------------- CLV
def monthly_rate(rate: float, period: str) -> float:
    """The monthly discount rate: ``rate`` itself (monthly) or (1 + rate)^(1/12) - 1 (annual)."""
    return rate if period == "monthly" else (1 + rate) ** (1 / 12) - 1


def discounted_clv(cum: np.ndarray, spend, rate_month: float) -> np.ndarray:
    """CLV = sum over months m = 1..H of (E[X(m)] - E[X(m-1)]) x spend / (1 + d)^m, with ``cum`` the
    cumulative expected purchases at the end of each month (n x H), ``spend`` the expected spend per purchase
    (n) and d the monthly discount rate (each month's purchases are discounted at the month's end)."""
    inc = np.diff(np.concatenate([np.zeros((cum.shape[0], 1)), cum], axis=1), axis=1)
    disc = (1 + rate_month) ** -np.arange(1, cum.shape[1] + 1)
    return np.asarray(spend, dtype=float) * (inc @ disc)


@dataclass
class CLVResult:
    """What :func:`compute_clv` returns: ``info`` (the ``clv`` key of results/rfm.json), ``customers``
    (clv_customers), ``segments`` (clv_segments), ``comparison`` (model_comparison); ``reason`` when CLV was
    not computed."""

    info: dict = field(default_factory=lambda: CLV_KEYS | {"reason": t("clv.not_computed_reason")})
    customers: pd.DataFrame | None = None
    segments: pd.DataFrame | None = None
    comparison: pd.DataFrame | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"clv_customers": self.customers, "clv_segments": self.segments, "model_comparison": self.comparison}
        return {k: v for k, v in out.items() if v is not None}

    def findings(self) -> list[str]:
        """Findings lines for the RFM report, in the current language."""
        from .fmt import fmt_money, fmt_num, fmt_pct, fmt_range

        i = self.info
        if not i.get("available"):
            return [t("clv.not_computed", reason=str(i.get("reason")).rstrip("."))] if i.get("reason") else []
        cur = i["currency"]
        model = _MODEL_LABEL[i["model"]]
        if i.get("total_clv") is not None:
            out = [
                t(
                    "clv.total",
                    model=model,
                    months=i["horizon_months"],
                    rate=fmt_pct(i["discount_rate"]),
                    period=t(f"clv.period_{i['discount_period']}"),
                    # a forecast in whole units of money: £8,603,424, not £8,603,424.08 (its interval spans £100,000s)
                    total=fmt_money(i["total_clv"], cur, 0),
                    level=fmt_pct(i["interval_level"], 0),
                    interval=fmt_range(fmt_money(i["total_clv_lo"], cur, 0), fmt_money(i["total_clv_hi"], cur, 0)),
                )
            ]
        elif i.get("spend") or i.get("amounts"):  # amounts, but no total: the note (q <= 1, too few spenders) says why
            out = []
        else:
            out = [t("clv.no_amounts", model=model)]
        ho = i.get("holdout")
        if ho and self.comparison is not None:
            best = self.comparison.set_index("model").loc[i["model"]]
            out.append(
                t(
                    "clv.model_choice",
                    days=ho["days"],
                    criterion=criterion_label(i["criterion"]),
                    model=model,
                    rmse=fmt_num(best["rmse"], 3),
                    mae=fmt_num(best["mae"], 3),
                    predicted=fmt_num(best["predicted"], 0),
                    actual=fmt_num(best["actual"], 0),
                )
            )
        out += [t("clv.note", note=str(n).rstrip(".")) for n in i.get("notes", [])]
        return out

    def show(self, part: str, currency: str = "¥"):
        from IPython.display import Markdown

        from .fmt import md_escape, style_table

        if not self.info.get("available"):
            return Markdown(f"_{md_escape(t('clv.not_computed', reason=str(self.info.get('reason')).rstrip('.')))}_")
        cur = self.info["currency"]
        if part == "models":
            if self.comparison is None:
                return Markdown(f"_{md_escape(self.info.get('holdout_reason'))}_")
            cmp = self.comparison  # the page names a model (its label, under 模型/Model); the CSV keeps both
            if "label" in cmp and "model" in cmp:
                cmp = cmp.drop(columns="model").rename(columns={"label": "model"})
            return style_table(
                cmp,
                num_cols=["loglik", "predicted", "actual", "bias", "mae", "rmse"],
                int_cols=["users"],
            )
        money = ["clv", "clv_lo", "clv_hi", "clv_per_user", "expected_spend", "zbar"]
        pct = ["p_alive", "p_alive_lo", "p_alive_hi", "one_time_share", "mean_p_alive", "mean_p_alive_mbgnbd"]
        nums = ["expected_purchases", "expected_purchases_lo", "expected_purchases_hi"]
        if part == "clv":
            seg = self.segments  # the page names a segment (label); its code stays in the CSV
            if seg is not None and "label" in seg and "segment" in seg:
                seg = seg.drop(columns="segment")
            return style_table(seg, money_cols=money, pct_cols=pct, num_cols=nums, int_cols=["users"], currency=cur)
        c = self.customers if self.customers is not None else pd.DataFrame({"clv": []})
        by = "clv" if "clv" in c and c["clv"].notna().any() else "expected_purchases"  # no CLV: as without amounts
        top = c.sort_values(by, ascending=False).head(self.info["top_n"])
        if "segment" in top:  # the page names the segment (its label, in the campaign language); the CSV keeps codes
            from .rfm_segments import segment_label

            top = top.assign(segment=top["segment"].map(lambda s: segment_label(s) if isinstance(s, str) else s))
            top = top.rename(columns={"segment": "label"})
        return style_table(top, money_cols=money, pct_cols=pct, num_cols=nums, int_cols=["x"], currency=cur)


def _quantiles(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = (1 - level) / 2, (1 + level) / 2
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all draws NaN (CLV not computed): the bounds are NaN
        q = np.nanquantile(draws, [lo, hi], axis=-1)
    return q[0], q[1]


def compute_clv(orders, scored: pd.DataFrame, summary: pd.DataFrame, *, as_of, p, currency: str) -> CLVResult:
    """CLV of the RFM report's customers (``scored``: user_id and segment; ``summary``: segment labels) from
    the ``orders`` before ``as_of`` with the ``clv:`` params ``p`` (:class:`helpers.sections_clv.CLVParams`).
    Never raises on thin data: the result then carries ``info["reason"]``."""
    cur = p.currency or currency
    unit = _UNIT_DAYS[p.time_unit]
    as_of = pd.Timestamp(as_of).normalize()
    hist = customer_history(orders, end=as_of)
    hist = hist[hist["user_id"].isin(scored["user_id"].astype(str))].reset_index(drop=True)
    inp = model_inputs(hist, end=as_of, time_unit=p.time_unit, age_convention=p.age_convention)
    repeaters = int((inp["x"] > 0).sum())
    if len(inp) < 30 or repeaters < 10:
        reason = t("clv.too_few", users=len(inp), repeaters=repeaters)
        return CLVResult(CLV_KEYS | {"available": False, "reason": reason})
    notes: list[str] = []
    info: dict[str, Any] = CLV_KEYS | {"available": True, "reason": None, "currency": cur, "top_n": p.top_n}
    # holdout comparison
    span = int((as_of - hist["first_day"].min()).days)
    hold = p.holdout_days or max(1, round(p.holdout_share * span))
    cal_end = as_of - pd.Timedelta(days=hold)
    cal_hist = customer_history(orders, end=cal_end)
    cal_hist = cal_hist[cal_hist["user_id"].isin(hist["user_id"])].reset_index(drop=True)
    comparison, holdout, hold_reason = None, None, None
    if len(cal_hist) >= 30 and int((cal_hist["purchase_days"] > 1).sum()) >= 10 and hold < span:
        cal = model_inputs(cal_hist, end=cal_end, time_unit=p.time_unit, age_convention=p.age_convention)
        after = hist.set_index("user_id")["purchase_days"].reindex(cal_hist["user_id"]).to_numpy()
        comparison, _ = holdout_comparison(cal, after - cal_hist["purchase_days"].to_numpy(), hold / unit)
        model, note = choose_model(comparison, criterion=p.criterion, forced=p.model)
        comparison["chosen"] = comparison["model"] == model
        comparison.insert(1, "label", comparison["model"].map(_MODEL_LABEL))
        if note:
            notes.append(note)
        holdout = {"days": hold, "calibration_end": str(cal_end.date()), "users": len(cal_hist)}
    else:
        model = "bgnbd" if p.model == "auto" else p.model
        hold_reason = t("clv.no_holdout", days=hold, model=model)
        notes.append(hold_reason)
    # fits on all data
    x, t_x, T = inp["x"], inp["t_x"], inp["T"]
    fit = fit_model(model, x, t_x, T)
    mbg = fit if model == "mbgnbd" else fit_model("mbgnbd", x, t_x, T)
    if fit.at_bound or not fit.converged:
        notes.append(t("clv.at_bound"))
    if fit.cov_log is None:
        notes.append(t("clv.no_hessian"))
    months = np.arange(1, p.horizon_months + 1) * DAYS_PER_MONTH / unit
    cum = expected_purchases(model, fit.params, months, x, t_x, T)
    d_m = monthly_rate(p.discount_rate, p.discount_period)
    out = inp.copy()
    out["p_alive"] = p_alive(model, fit.params, x, t_x, T)
    out["expected_purchases"] = cum[:, -1]
    rng = np.random.default_rng(p.seed)
    draws = sample_params(fit, p.n_draws, rng)
    pa_d = np.empty((len(inp), p.n_draws))
    cum_d = np.empty((len(inp), p.horizon_months, p.n_draws))
    for k, th in enumerate(draws):
        pa_d[:, k] = p_alive(model, th, x, t_x, T)
        cum_d[:, :, k] = expected_purchases(model, th, months, x, t_x, T, nodes=24)
    lv = p.interval_level
    out["p_alive_lo"], out["p_alive_hi"] = _quantiles(pa_d, lv)
    out["expected_purchases_lo"], out["expected_purchases_hi"] = _quantiles(cum_d[:, -1, :], lv)
    spend = None
    rep_mask = (x > 0) & (inp["zbar"] > 0)
    if inp["zbar"].notna().any() and int(rep_mask.sum()) >= 10:
        gg = fit_gamma_gamma(x[rep_mask], inp["zbar"][rep_mask])
        corr = float(np.corrcoef(x[rep_mask], inp["zbar"][rep_mask])[0, 1])
        spend = {"params": gg.as_dict(), "loglik": gg.loglik, "users": gg.n, "corr_x_zbar": corr}
        if abs(corr) > 0.3:
            notes.append(t("clv.corr", r=f"{corr:.2f}"))
        out["expected_spend"] = gg_expected_spend(gg.params, x, inp["zbar"])
        if gg.params[1] <= 1:  # no finite mean spend: CLV missing everywhere (not 0), the note says why
            notes.append(t("clv.q_le_1"))
            clv_d = np.full((len(inp), p.n_draws), np.nan)
            out["clv"] = out["clv_lo"] = out["clv_hi"] = np.nan
        else:
            out["clv"] = discounted_clv(cum, out["expected_spend"], d_m)
            gd = sample_params(gg, p.n_draws, rng)
            clv_d = np.stack(
                [
                    discounted_clv(cum_d[:, :, k], gg_expected_spend(gd[k], x, inp["zbar"]), d_m)
                    for k in range(p.n_draws)
                ],
                axis=1,
            )
            out["clv_lo"], out["clv_hi"] = _quantiles(clv_d, lv)
    elif inp["zbar"].notna().any():
        notes.append(t("clv.few_spenders"))
    # per segment
    seg = scored.set_index(scored["user_id"].astype(str))["segment"]
    out.insert(1, "segment", seg.reindex(out["user_id"]).to_numpy())
    out["p_alive_mbgnbd"] = p_alive("mbgnbd", mbg.params, x, t_x, T)
    labels = summary.set_index("segment")["label"]
    rows = []
    for s, idx in out.groupby("segment", sort=False).groups.items():
        g = out.loc[idx]
        ii = out.index.get_indexer(idx)
        r = {
            "segment": s,
            "label": labels.get(s, s),
            "users": len(g),
            "one_time_share": float((g["x"] == 0).mean()),
            "mean_p_alive": float(g["p_alive"].mean()),
            "mean_p_alive_mbgnbd": float(g["p_alive_mbgnbd"].mean()),
            "expected_purchases": float(g["expected_purchases"].sum()),
        }
        if "clv" in out:
            tot_lo, tot_hi = _quantiles(clv_d[ii].sum(axis=0)[None, :], lv)
            r |= {
                "clv": float(g["clv"].sum(min_count=1)),  # NaN, not 0, when CLV was not computed (q <= 1)
                "clv_lo": float(tot_lo[0]),
                "clv_hi": float(tot_hi[0]),
                "clv_per_user": float(g["clv"].mean()),
            }
        rows.append(r)
    order = {s: k for k, s in enumerate(summary["segment"])}
    segments = pd.DataFrame(rows).sort_values("segment", key=lambda c: c.map(order), ignore_index=True)
    gone = segments[segments["segment"].isin(_GONE) & (segments["mean_p_alive"] >= 0.5)]
    if len(gone):
        names = list_join(f"{r.label} {r.mean_p_alive:.0%}" for r in gone.itertuples())
        why = t("clv.gone_bgnbd", col=column_label("mean_p_alive_mbgnbd")) if model == "bgnbd" else t("clv.gone_other")
        notes.append(t("clv.gone_alive", names=names) + why)
    elif model == "bgnbd":
        notes.append(t("clv.bgnbd_convention"))
    fits = {"model": fit, "mbgnbd": mbg}
    has_clv = "clv" in out and bool(out["clv"].notna().any())  # None in the results when not computed (no 0)
    info |= {
        "model": model,
        "criterion": p.criterion,
        "forced": p.model != "auto",
        "time_unit": p.time_unit,
        "age_convention": p.age_convention,
        "horizon_months": p.horizon_months,
        "discount_rate": p.discount_rate,
        "discount_period": p.discount_period,
        "monthly_rate": d_m,
        "interval_level": lv,
        "n_draws": p.n_draws,
        "as_of": str(as_of.date()),
        "users": len(out),
        "repeat_buyers": repeaters,
        "params": {k: v.as_dict() for k, v in fits.items()},
        "se_log": {k: v.se_log() for k, v in fits.items()},
        "spend": spend,
        "amounts": bool(inp["zbar"].notna().any()),  # the orders have amounts (whether or not CLV was computed)
        "holdout": holdout,
        "holdout_reason": hold_reason,
        "expected_purchases": float(out["expected_purchases"].sum()),
        "total_clv": float(out["clv"].sum()) if has_clv else None,
        "total_clv_lo": float(_quantiles(clv_d.sum(axis=0)[None, :], lv)[0][0]) if has_clv else None,
        "total_clv_hi": float(_quantiles(clv_d.sum(axis=0)[None, :], lv)[1][0]) if has_clv else None,
        "notes": notes,
    }
    return CLVResult(info, out, segments, comparison)


def clv_for_rfm(p, orders, scored: pd.DataFrame, summary: pd.DataFrame, *, as_of, currency: str) -> CLVResult:
    """The RFM report's CLV: :func:`compute_clv` with the campaign's ``clv:`` params ``p``, or a result that
    says why not (no ``clv:`` section, no orders)."""
    if p is None:
        return CLVResult(CLV_KEYS | {"reason": t("clv.no_section")})
    return compute_clv(orders, scored, summary, as_of=as_of, p=p, currency=currency)


def param_names(model: str) -> tuple[str, ...]:
    """The parameter names of ``model`` (see :data:`helpers.clv_models.PARAM_NAMES`)."""
    return PARAM_NAMES[model]
