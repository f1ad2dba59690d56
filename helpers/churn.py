"""Churn prediction from behaviour logs with leakage-safe labels, a recency baseline, honest metrics and
an actionable at-risk list. Exact definitions: docs/churn.md.

Cutoffs are local midnights. For a cutoff T, horizon H days and observation window W days:

- a user is *in scope* when they have at least one event in ``[T - W, T)``;
- features come only from ``[T - W, T)`` (``helpers.features.user_features`` with ``end=T``);
- the user *churned* when they have no qualifying event in ``[T, T + H)`` (activity exactly at T is the
  future; exactly at T + H is outside the horizon).

Cutoffs: ``T_score`` = the end of the data (the day after the analysis period; no labels), ``T_eval`` =
``T_score - H`` (the latest cutoff whose labels are fully observed: the held-out test), ``T_train`` =
``T_eval - H`` (training labels end exactly where the test starts). The final model is refitted at
``T_eval`` and scores users at ``T_score``. No user-level random split is used anywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import ibis
import numpy as np
import pandas as pd

from . import i18n
from .base import Outcome, Report, ReportUnavailable, Unavailable, _display, report_table, upstream_why
from .campaign import observed_end
from .engine import as_table
from .errors import MissingColumnError
from .features import campaign_orders, feature_label, user_features
from .i18n import localized
from .periods import cut_note
from .threads import fit_threads
from .tracking import display_names

__all__ = [
    "churn_labels",
    "build_dataset",
    "cutoffs",
    "fit_models",
    "evaluate",
    "bootstrap_ci",
    "lift_table",
    "at_risk_list",
    "plot_roc_pr",
    "plot_lift",
    "plot_calibration",
    "plot_importance",
    "ChurnReport",
    "run_churn",
    "BAND_ACTIONS",
]

#: risk band (a stable machine value in ``risk_band``) -> message key of its recommended action
BAND_ACTIONS = {"high": "churn.action_high", "medium": "churn.action_medium", "low": "churn.action_low"}
_NOT_FEATURES = {"user_id", "first_ts", "last_ts"}


def churn_labels(
    events,
    users: pd.Series,
    *,
    cutoff,
    horizon_days: float,
    label_events: list[str] | None = None,
    user_col: str = "user_id",
    ts_col: str = "ts",
    event_col: str = "event",
) -> pd.Series:
    """1 = churned (no qualifying event in ``[cutoff, cutoff + horizon)``), 0 = came back; indexed like ``users``."""
    t = as_table(events)
    T = pd.Timestamp(cutoff)
    f = t.filter((t[ts_col] >= ibis.literal(T)) & (t[ts_col] < ibis.literal(T + pd.Timedelta(days=horizon_days))))
    if label_events:
        f = f.filter(f[event_col].isin(list(label_events)))
    back = set(f.select(u=f[user_col].cast("string")).distinct().to_pandas()["u"])
    return pd.Series([0 if u in back else 1 for u in users.astype(str)], index=users.index, name="churned")


def build_dataset(
    events,
    *,
    cutoff,
    horizon_days: float,
    window_days: float,
    label_events=None,
    event_types: list[str] | None = None,
    with_labels: bool = True,
    orders=None,
    returns: str = "exclude",
) -> pd.DataFrame:
    """Features of users active in ``[cutoff - window, cutoff)`` (read from that window only) plus the
    ``churned`` label when ``with_labels``. ``orders``: the campaign's orders (:func:`helpers.features.
    campaign_orders`), so that ``n_orders`` and ``spend`` follow the one purchase definition; None counts
    buy/pay/order events as :func:`helpers.features.user_features` does by default."""
    T = pd.Timestamp(cutoff)
    buy = {"orders": orders, "buy_events": (), "returns": returns} if orders is not None else {}
    feats = user_features(events, start=T - pd.Timedelta(days=window_days), end=T, event_types=event_types, **buy)
    if with_labels:
        feats["churned"] = churn_labels(
            events, feats["user_id"], cutoff=T, horizon_days=horizon_days, label_events=label_events
        ).to_numpy()
    return feats


def cutoffs(data_end, horizon_days: float) -> dict:
    """``score``, ``eval`` and ``train`` cutoffs (local midnights) for the end of the data."""
    score = pd.Timestamp(data_end).normalize()
    h = pd.Timedelta(days=horizon_days)
    return {"score": score, "eval": score - h, "train": score - 2 * h}


def _feature_cols(df: pd.DataFrame) -> list[str]:
    cols = [c for c in df.columns if c not in _NOT_FEATURES and c != "churned" and pd.api.types.is_numeric_dtype(df[c])]
    return [c for c in cols if df[c].notna().any()]


def _matrix(df: pd.DataFrame, cols: list[str], medians: pd.Series | None = None):
    X = df.reindex(columns=cols).astype(float)
    med = X.median() if medians is None else medians
    X = X.fillna(med).fillna(0.0)
    nonneg = [c for c in cols if (X[c] >= 0).all()]
    X[nonneg] = np.log1p(X[nonneg])
    # 9 decimals: a float sum's last bits depend on the engine's order of additions (DuckDB and Spark), and
    # gradient boosting's bins turn two values 1 ulp apart into a different model; rounded, both engines train
    # the same one
    return X.round(9), med


def fit_models(train: pd.DataFrame, cols: list[str], *, seed: int = 42) -> dict:
    """Logistic regression (standardised, balanced class weights) and histogram gradient boosting (balanced
    class weights) on the training cutoff. Returns ``{"models": {...}, "medians": ..., "cols": ...}``."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, med = _matrix(train, cols)
    y = train["churned"].to_numpy()
    lr = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=2000, C=1.0))
    hgb = HistGradientBoostingClassifier(
        class_weight="balanced",
        random_state=seed,
        max_iter=200,
        learning_rate=0.05,
        max_leaf_nodes=15,
        l2_regularization=1.0,
    )
    with fit_threads(*X.shape):  # small data: one thread is faster (helpers/threads.py)
        models = {"logistic_regression": lr.fit(X, y), "gradient_boosting": hgb.fit(X, y)}
    return {"models": models, "medians": med, "cols": cols}


def roc_auc(y, score) -> float:
    """ROC AUC as the Mann-Whitney statistic (ties count one half): equal to scikit-learn's
    ``roc_auc_score`` and about 50x faster, for the bootstrap's hundreds of resamples."""
    from scipy.stats import rankdata

    y = np.asarray(y).astype(bool)
    n1 = int(y.sum())
    n0 = len(y) - n1
    r = rankdata(np.asarray(score, dtype=float))
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def average_precision(y, score) -> float:
    """Average precision (PR AUC), scikit-learn's definition: sum over score thresholds (descending) of
    (recall_i - recall_(i-1)) * precision_i; tied scores form one threshold."""
    y = np.asarray(y).astype(float)
    s = np.asarray(score, dtype=float)
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]  # last index of each distinct score
    tp = np.cumsum(y)[last]
    precision = tp / (last + 1)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def bootstrap_ci(y, score, metric, *, n: int = 200, seed: int = 42, alpha: float = 0.05) -> tuple[float, float]:
    """Percentile bootstrap CI of ``metric(y, score)`` over resampled users (seeded); skips one-class draws."""
    rng = np.random.default_rng(seed)
    y, score = np.asarray(y), np.asarray(score)
    vals = []
    for _ in range(n):
        i = rng.integers(0, len(y), len(y))
        if len(np.unique(y[i])) < 2:
            continue
        vals.append(metric(y[i], score[i]))
    if not vals:
        return (math.nan, math.nan)
    return (float(np.quantile(vals, alpha / 2)), float(np.quantile(vals, 1 - alpha / 2)))


def lift_table(y, score, *, bins: int = 10) -> pd.DataFrame:
    """Users sorted by score (highest risk first) in ``bins`` equal groups: ``decile``, ``users``,
    ``churn_rate``, ``lift`` (churn rate / overall rate), ``cum_recall`` (share of all churners caught)."""
    df = pd.DataFrame({"y": np.asarray(y), "s": np.asarray(score)}).sort_values("s", ascending=False, kind="stable")
    df["decile"] = np.arange(len(df)) * bins // max(1, len(df)) + 1
    g = df.groupby("decile")["y"].agg(["size", "mean", "sum"]).reset_index()
    base = df["y"].mean()
    return pd.DataFrame(
        {
            "decile": g["decile"],
            "users": g["size"],
            "churn_rate": g["mean"],
            "lift": g["mean"] / base if base else np.nan,
            "cum_recall": g["sum"].cumsum() / max(1, df["y"].sum()),
        }
    )


def evaluate(
    y,
    score,
    *,
    top_share: float = 0.1,
    threshold: float = 0.5,
    n_boot: int = 200,
    seed: int = 42,
    is_probability: bool = True,
) -> dict:
    """ROC AUC and PR AUC with bootstrap CIs, precision/recall in the top ``top_share`` by score, and the
    confusion matrix at ``threshold`` (probabilities only)."""
    from sklearn.metrics import average_precision_score, confusion_matrix, roc_auc_score

    y, score = np.asarray(y), np.asarray(score, dtype=float)
    out: dict = {"users": int(len(y)), "churn_rate": float(y.mean()) if len(y) else math.nan}
    if len(np.unique(y)) < 2:
        return {**out, "roc_auc": math.nan, "pr_auc": math.nan}
    out["roc_auc"] = float(roc_auc_score(y, score))
    out["roc_auc_ci"] = bootstrap_ci(y, score, roc_auc, n=n_boot, seed=seed)
    out["pr_auc"] = float(average_precision_score(y, score))
    out["pr_auc_ci"] = bootstrap_ci(y, score, average_precision, n=n_boot, seed=seed)
    k = max(1, int(round(top_share * len(y))))
    top = np.argsort(-score, kind="stable")[:k]
    out["precision_at_top"] = float(y[top].mean())
    out["recall_at_top"] = float(y[top].sum() / max(1, y.sum()))
    out["top_share"] = top_share
    if is_probability:
        pred = (score >= threshold).astype(int)
        tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
        out["threshold"] = threshold
        out["confusion"] = {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)}
    return out


def at_risk_list(
    model_bundle: dict,
    scoring: pd.DataFrame,
    *,
    rfm: pd.DataFrame | None = None,
    top_reasons: int = 2,
    events: dict | None = None,
) -> pd.DataFrame:
    """Score users at the latest cutoff with the logistic regression or the chosen model.

    Returns
    -------
    DataFrame ``user_id``, ``churn_probability``, ``risk_band`` (``high``: top 10% of probabilities, ``medium``:
    next 20%, ``low``: the rest), ``top_reasons`` (features pushing the logistic-regression risk up most:
    standardised value x coefficient; events by their ``events`` names, the tracking plan's display names),
    ``rfm_segment`` (when ``rfm``, the RFM report's ``membership`` table with
    ``user_id`` and ``segment``, is given), ``action`` (in the campaign's language); highest risk first.
    """
    if rfm is not None and "segment" not in rfm.columns:
        raise MissingColumnError("rfm membership", "segment", rfm.columns, hint="rerun the rfm report")
    cols, med = model_bundle["cols"], model_bundle["medians"]
    X, _ = _matrix(scoring, cols, med)
    model = model_bundle["models"][model_bundle.get("chosen", "logistic_regression")]
    p = model.predict_proba(X)[:, 1]
    lr = model_bundle["models"]["logistic_regression"]
    scaler, clf = lr.steps[0][1], lr.steps[1][1]
    contrib = scaler.transform(X) * clf.coef_[0]
    reasons = []
    for row in contrib:
        idx = np.argsort(-row)[:top_reasons]
        reasons.append(i18n.list_join(feature_label(cols[i], events) for i in idx if row[i] > 0) or "—")
    out = pd.DataFrame({"user_id": scoring["user_id"].to_numpy(), "churn_probability": p, "top_reasons": reasons})
    r = out["churn_probability"].rank(method="first", ascending=False, pct=True)
    out["risk_band"] = np.where(r <= 0.1, "high", np.where(r <= 0.3, "medium", "low"))
    if rfm is not None:
        seg = rfm[["user_id", "segment"]].rename(columns={"segment": "rfm_segment"})
        out = out.merge(seg, on="user_id", how="left")
    out["action"] = out["risk_band"].map(lambda b: i18n.t(BAND_ACTIONS[b]))
    return out.sort_values(["churn_probability", "user_id"], ascending=[False, True], ignore_index=True)


def _confusion_note(model: str, m: dict) -> str:
    """What the confusion matrix counts, above it: the model, the users, the threshold, and the precision and
    recall it gives (tp / (tp + fp), tp / (tp + fn); "-" when nobody is predicted to churn or nobody churned)."""
    from .fmt import fmt_int, fmt_pct, md_escape

    c = m["confusion"]
    tp, fp, fn = c["tp"], c["fp"], c["fn"]
    return md_escape(
        i18n.t(
            "churn.confusion_note",
            model=model_label(model),
            users=fmt_int(sum(c.values())),
            threshold=fmt_pct(m["threshold"]),  # a probability, in % as the at-risk list gives them
            precision=fmt_pct(tp / (tp + fp)) if tp + fp else "-",
            recall=fmt_pct(tp / (tp + fn)) if tp + fn else "-",
        )  # fmt: skip
    )


# ------------------------------------------------------------------------------------------- charts
def model_label(name: str) -> str:
    """A model's name as pages show it, in the campaign language ("逻辑回归"); results files keep ``name``."""
    return i18n.label(f"churn.model.{name}", name)


def plot_roc_pr(y, scores: dict, *, ax=None):
    """ROC curves of the models and the baseline."""
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    for name, s in scores.items():
        fpr, tpr, _ = roc_curve(y, s)
        ax.plot(fpr, tpr, label=model_label(name))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
    ax.legend(fontsize="small")
    ax.set_title(i18n.t("churn.roc_title"))
    ax.set_xlabel(i18n.t("churn.fpr"))
    ax.set_ylabel(i18n.t("churn.tpr"))
    return ax


def plot_lift(lift: pd.DataFrame, *, ax=None):
    from .plots import plot_bar

    return plot_bar(
        lift,
        x="decile",
        y="lift",
        fmt=".2f",
        ax=ax,
        title=i18n.t("churn.lift_title"),
        xlabel=i18n.t("churn.decile"),
        ylabel=i18n.t("churn.lift_axis"),
    )


def plot_calibration(y, p, *, ax=None, bins: int = 10):
    import matplotlib.pyplot as plt
    from sklearn.calibration import calibration_curve

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    frac, mean = calibration_curve(y, p, n_bins=bins, strategy="quantile")
    ax.plot(mean, frac, marker="o", label=i18n.t("churn.model"))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label=i18n.t("churn.perfect"))
    ax.legend(fontsize="small")
    ax.set_title(i18n.t("churn.calibration_title"))
    ax.set_xlabel(i18n.t("churn.predicted_probability"))
    ax.set_ylabel(i18n.t("churn.observed_rate"))
    from .plots import percent_ticks

    percent_ticks(ax.xaxis)
    percent_ticks(ax.yaxis)
    return ax


def plot_importance(imp: pd.DataFrame, *, ax=None, events: dict | None = None):
    """The 12 most important features as bars, labelled as pages name them (``events``: display names)."""
    from .plots import plot_bar

    t = imp.head(12).assign(label=lambda d: d["feature"].map(lambda f: feature_label(f, events)))
    return plot_bar(
        t,
        x="label",
        y="importance",
        horizontal=True,
        fmt=".3f",
        ax=ax,
        title=i18n.t("churn.importance_title"),
        xlabel=i18n.t("churn.auc_drop"),
        ylabel=i18n.t("churn.feature"),
    )


# ------------------------------------------------------------------------------------------- report
@dataclass(repr=False)
class ChurnReport(Report):
    """The churn report. Frames: ``train`` / ``test`` (features and ``churned`` at the training and held-out
    cutoffs), ``importance``, ``coefficients``, ``lift`` (held-out deciles), ``at_risk`` (:func:`at_risk_list`
    at the scoring cutoff); ``scores`` holds each model's held-out scores and ``metrics`` their evaluation."""

    name: ClassVar[str] = "churn"
    title: ClassVar[str] = localized("churn.title")
    parts: ClassVar[tuple[str, ...]] = (
        "metrics",
        "roc",
        "lift",
        "calibration",
        "confusion",
        "importance",
        "coefficients",
        "at_risk",
    )
    reads: ClassVar[tuple[str, ...]] = ("rfm",)
    table_names: ClassVar[tuple[str, ...]] = ("at_risk", "lift")
    result_keys: ClassVar[tuple[str, ...]] = (
        "horizon_days",
        "window_days",
        "cutoffs",
        "train_users",
        "test_users",
        "label_rate_train",
        "label_rate_test",
        "label_events",
        "models",
        "baseline_auc",
        "chosen_model",
        "beats_baseline",
        "top_features",
        "scored_users",
    )
    unavailable_label: ClassVar[str] = localized("churn.unavailable_label")
    glossary: ClassVar[tuple[str, ...]] = (
        "churn_probability",
        "roc_auc",
        "pr_auc",
        "ci95",
        "lift",
        "calibration",
        "precision",
        "recall",
        "permutation_importance",
    )

    horizon_days: float = 30
    window_days: float = 60
    cut: dict = field(default_factory=dict)
    train: pd.DataFrame = field(default_factory=pd.DataFrame)
    test: pd.DataFrame = field(default_factory=pd.DataFrame)
    metrics: dict = field(default_factory=dict)
    scores: dict = field(default_factory=dict)
    chosen: str = ""
    importance: pd.DataFrame = field(default_factory=pd.DataFrame)
    coefficients: pd.DataFrame = field(default_factory=pd.DataFrame)
    lift: pd.DataFrame = field(default_factory=pd.DataFrame)
    at_risk: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: event -> the name pages show (the tracking plan's display names)
    event_names: dict = field(default_factory=dict)
    beats_baseline: bool = False
    label_events: list | None = None
    #: why the RFM segments are not in ``at_risk`` (None when they are)
    #: that the data ends before the period, so the cutoffs count back from its end (Context.observed_end)
    data_cut: tuple | None = None
    rfm_problem: str | None = None

    @classmethod
    def compute(cls, ctx) -> ChurnReport:
        """The churn report of a campaign, from its ``churn:`` params (docs/churn.md)."""
        from sklearn.inspection import permutation_importance

        p = ctx.cfg.churn
        if not ctx.has("events"):
            raise ReportUnavailable(i18n.t("unavailable.no_events"))
        ev = ctx.table("events")
        data_end, data_cut = observed_end(ctx)  # labels need the data: cutoffs count back from where it ends
        last_day = (data_end - pd.Timedelta(days=1)).date()
        cut = cutoffs(data_end, p.horizon_days)
        start = pd.Timestamp(ctx.cfg.period.start)
        if cut["train"] - pd.Timedelta(days=1) < start:
            # the train cutoff (data end - 2 horizons) needs a day of history: horizons of up to (end - start) / 2
            longest = (pd.Timestamp(last_day) - start).days // 2
            raise ReportUnavailable(
                i18n.t(
                    "churn.too_short" if longest >= 1 else "churn.too_short_any",
                    start=ctx.cfg.period.start,
                    end=last_day,
                    horizon=f"{p.horizon_days:g}",
                    longest=longest,
                )
            )
        types = sorted(ev.select("event").distinct().to_pandas()["event"].astype(str))
        orders, _ = campaign_orders(ctx)
        kw = dict(
            horizon_days=p.horizon_days,
            window_days=p.window_days,
            label_events=p.label_events,
            event_types=types,
            orders=orders,
            returns=ctx.cfg.rfm.returns,
        )
        train = build_dataset(ev, cutoff=cut["train"], **kw)
        test = build_dataset(ev, cutoff=cut["eval"], **kw)
        if train["churned"].nunique() < 2 or test["churned"].nunique() < 2 or len(train) < 30:
            from .fmt import fmt_int

            raise ReportUnavailable(i18n.t(
                "churn.one_class", train=cut["train"].date(), eval=cut["eval"].date(),
                n_train=fmt_int(len(train)), churned_train=fmt_int(int(train["churned"].sum())),
                n_test=fmt_int(len(test)), churned_test=fmt_int(int(test["churned"].sum())),
            ))  # fmt: skip
        rep = cls(
            data_cut=data_cut,
            horizon_days=p.horizon_days,
            window_days=p.window_days,
            label_events=p.label_events,
            cut=cut,
            train=train,
            test=test,
            event_names=display_names(ctx),
        )
        cols = _feature_cols(train)
        with fit_threads(len(test), len(cols)):  # scoring and permutation importance (fits limit themselves)
            bundle = fit_models(train, cols, seed=p.seed)
            Xt, _ = _matrix(test, cols, bundle["medians"])
            y = test["churned"].to_numpy()
            ev_kw = dict(top_share=p.top_share, threshold=p.threshold, n_boot=p.n_bootstrap, seed=p.seed)
            rep.scores = {"baseline_recency": test["days_since_last_event"].to_numpy()}
            rep.metrics["baseline_recency"] = evaluate(y, rep.scores["baseline_recency"], is_probability=False, **ev_kw)
            for name, m in bundle["models"].items():
                rep.scores[name] = m.predict_proba(Xt)[:, 1]
                rep.metrics[name] = evaluate(y, rep.scores[name], **ev_kw)
            rep.chosen = max(bundle["models"], key=lambda n: (rep.metrics[n]["roc_auc"], n))
            base_auc = rep.metrics["baseline_recency"]["roc_auc"]
            rep.beats_baseline = bool(rep.metrics[rep.chosen]["roc_auc_ci"][0] > base_auc)
            pi = permutation_importance(
                bundle["models"][rep.chosen], Xt, y, scoring="roc_auc", n_repeats=5, random_state=p.seed
            )
        rep.importance = pd.DataFrame(
            {"feature": cols, "importance": pi.importances_mean, "std": pi.importances_std}
        ).sort_values(["importance", "feature"], ascending=[False, True], ignore_index=True)
        lr = bundle["models"]["logistic_regression"].steps[1][1]
        rep.coefficients = pd.DataFrame({"feature": cols, "coefficient": lr.coef_[0]}).sort_values(
            "coefficient", ascending=False
        )
        rep.lift = lift_table(y, rep.scores[rep.chosen])
        # final model: refit at the latest fully labelled cutoff, score at the end of the data
        final = fit_models(test, cols, seed=p.seed)
        final["chosen"] = rep.chosen
        scoring = build_dataset(ev, cutoff=cut["score"], with_labels=False, **kw)
        rfm = report_table(ctx, "rfm", "membership", required=False)
        if rfm is None:
            rep.rfm_problem = (getattr(ctx, "upstream_problems", None) or {}).get("rfm", "reason not recorded")
        rep.at_risk = at_risk_list(final, scoring, rfm=rfm, events=rep.event_names)
        return rep

    def to_results(self) -> dict:
        """The report-specific part of ``results/churn.json`` (docs/churn.md)."""
        return self._results(
            horizon_days=self.horizon_days,
            window_days=self.window_days,
            cutoffs={k: str(v.date()) for k, v in self.cut.items()},
            train_users=int(len(self.train)),
            test_users=int(len(self.test)),
            label_rate_train=float(self.train["churned"].mean()),
            label_rate_test=float(self.test["churned"].mean()),
            label_events=self.label_events,
            models=self.metrics,
            baseline_auc=self.metrics.get("baseline_recency", {}).get("roc_auc"),
            chosen_model=self.chosen,
            beats_baseline=self.beats_baseline,
            top_features=self.importance.head(10).to_dict(orient="records"),
            scored_users=int(len(self.at_risk)),
        )

    def findings(self) -> list[str]:
        """Key findings in plain words and numbers."""
        from .fmt import fmt_int, fmt_num, fmt_pct, fmt_range

        tt = i18n.t
        m, b = self.metrics[self.chosen], self.metrics["baseline_recency"]
        lo, hi = m["roc_auc_ci"]
        what = f"{'/'.join(self.label_events)} " if self.label_events else ""
        out = [
            tt("churn.definition", horizon=f"{self.horizon_days:g}", window=f"{self.window_days:g}", what=what),
            tt(
                "churn.cutoffs",
                eval=f"{self.cut['eval']:%Y-%m-%d}",
                users=fmt_int(m["users"]),
                rate=fmt_pct(m["churn_rate"]),
                train=f"{self.cut['train']:%Y-%m-%d}",
            ),
            Outcome(  # the lead: the definition and the cutoffs above are the setting
                tt(
                    "churn.best_model",
                    model=model_label(self.chosen),
                    auc=fmt_num(m["roc_auc"], 3),
                    ci=fmt_range(lo, hi, lambda v: fmt_num(v, 3)),
                    pr_auc=fmt_num(m["pr_auc"], 3),
                    baseline=fmt_num(b["roc_auc"], 3),
                )
            ),
            tt("churn.beats" if self.beats_baseline else "churn.not_beats"),
            tt(
                "churn.top_precision",
                top=fmt_pct(m["top_share"], 0),
                precision=fmt_pct(m["precision_at_top"]),
                recall=fmt_pct(m["recall_at_top"]),
            ),
        ]
        if len(self.importance):
            out.append(
                tt(
                    "churn.top_features",
                    features=i18n.list_join(
                        feature_label(f, self.event_names) for f in self.importance["feature"].head(3)
                    ),
                )
            )
        hi_n = int((self.at_risk["risk_band"] == "high").sum())
        out.append(
            tt(
                "churn.latest_list",
                date=f"{self.cut['score']:%Y-%m-%d}",
                users=fmt_int(len(self.at_risk)),
                high=fmt_int(hi_n),
                action=tt(BAND_ACTIONS["high"]),
            )
        )
        if self.rfm_problem:
            out.append(tt("churn.no_rfm", problem=upstream_why("rfm", self.rfm_problem)))
        if self.data_cut:
            out.append(cut_note(self.data_cut))
        return out

    def headline(self) -> list[dict]:
        """Headline numbers for the index page."""
        from .fmt import fmt_num
        from .report import headline

        m, b = self.metrics[self.chosen], self.metrics["baseline_recency"]
        return [
            headline(i18n.t("churn.h_model_auc"), m["roc_auc"], fmt_num(m["roc_auc"], 3)),
            headline(i18n.t("churn.h_baseline_auc"), b["roc_auc"], fmt_num(b["roc_auc"], 3)),
            headline(
                i18n.t("churn.h_beats"), self.beats_baseline, i18n.t("churn.yes" if self.beats_baseline else "churn.no")
            ),
        ]

    def tables(self) -> dict[str, pd.DataFrame]:
        """``at_risk`` (the scored list) and ``lift`` (held-out deciles)."""
        return {"at_risk": self.at_risk, "lift": self.lift}

    def _show(self, part: str):
        from IPython.display import Markdown

        from .fmt import style_table

        y = self.test["churned"].to_numpy()
        if part == "metrics":
            rows = [
                {
                    "model": model_label(name),
                    "roc_auc": m["roc_auc"],
                    "auc_ci_low": m["roc_auc_ci"][0],
                    "auc_ci_high": m["roc_auc_ci"][1],
                    "pr_auc": m["pr_auc"],
                    "pr_auc_ci_low": m["pr_auc_ci"][0],
                    "pr_auc_ci_high": m["pr_auc_ci"][1],
                    "precision_top": m["precision_at_top"],
                    "recall_top": m["recall_at_top"],
                }
                for name, m in self.metrics.items()
            ]
            return style_table(
                pd.DataFrame(rows),
                num_cols=["roc_auc", "auc_ci_low", "auc_ci_high", "pr_auc", "pr_auc_ci_low", "pr_auc_ci_high"],
                num_digits=3,  # as the findings and the headline quote them
                pct_cols=["precision_top", "recall_top"],
            )
        if part == "roc":
            return plot_roc_pr(y, self.scores)
        if part == "lift":
            return plot_lift(self.lift)
        if part == "calibration":
            return plot_calibration(y, self.scores[self.chosen])
        if part == "confusion":
            c = self.metrics[self.chosen]["confusion"]
            _display(Markdown(_confusion_note(self.chosen, self.metrics[self.chosen])))
            # a header and a row name start as headers do in English ("Predicted to churn")
            stay, churn = (i18n.sentence_start(i18n.t(f"churn.predicted_{k}")) for k in ("stay", "churn"))
            t = pd.DataFrame(
                {
                    "": [i18n.sentence_start(i18n.t(f"churn.actual_{k}")) for k in ("stayed", "churned")],
                    stay: [c["tn"], c["fn"]],
                    churn: [c["fp"], c["tp"]],
                }
            )
            return style_table(t, int_cols=[stay, churn])
        if part == "importance":
            return plot_importance(self.importance, events=self.event_names)
        if part == "coefficients":
            c = self.coefficients.assign(
                feature=self.coefficients["feature"].map(lambda f: feature_label(f, self.event_names))
            )
            return style_table(c, num_cols=["coefficient"])
        top = self.at_risk.head(15).assign(risk_band=lambda d: d["risk_band"].map(lambda b: i18n.t(f"churn.band_{b}")))
        if "rfm_segment" in top:  # segment codes (At Risk, ...) as pages name them; the CSV keeps the codes
            from .rfm_segments import segment_label

            top = top.assign(
                rfm_segment=top["rfm_segment"].map(lambda s: segment_label(s) if isinstance(s, str) else s)
            )
        # in % as pages give shares: "99.96%" tells apart the top users that two decimals all showed as "1.00"
        return style_table(top, pct_cols=["churn_probability"])  # "at_risk"


def run_churn(ctx) -> ChurnReport | Unavailable:
    """:meth:`ChurnReport.run`: the churn report of a campaign (or its Unavailable twin)."""
    return ChurnReport.run(ctx)
