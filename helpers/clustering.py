"""Behaviour-based user groups: scaled features, KMeans with k chosen by silhouette (or DBSCAN), cluster
profiles, automatic names from distinctive features, radar and 2-D projection charts. Rules: docs/clustering.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from .base import Report, ReportUnavailable, Unavailable
from .errors import MissingColumnError
from .features import campaign_orders, feature_label, user_features
from .i18n import localized, sentence_start, t
from .threads import fit_threads
from .tracking import display_names

__all__ = [
    "default_feature_columns",
    "prepare_matrix",
    "choose_k",
    "fit_clusters",
    "cluster_profiles",
    "name_clusters",
    "plot_k_selection",
    "plot_radar",
    "plot_projection",
    "ClusteringReport",
    "run_clustering",
]

_SKIP = {"user_id", "first_ts", "last_ts", "preferred_hour"}


def default_feature_columns(features: pd.DataFrame) -> list[str]:
    """Numeric behaviour columns with some variation (no ids, times, or constant columns)."""
    cols = [c for c in features.columns if c not in _SKIP and pd.api.types.is_numeric_dtype(features[c])]
    return [c for c in cols if features[c].notna().any() and features[c].nunique(dropna=True) > 1]


def prepare_matrix(
    features: pd.DataFrame, columns: list[str], *, log: bool = True, pca_components: int | None = None, seed: int = 42
):
    """Model matrix: NaN -> column median, log1p on non-negative columns (counts, money, days) when ``log``,
    then robust scaling (median / IQR); optional PCA. Returns (X, fitted scaler pipeline)."""
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import RobustScaler

    X = features[columns].astype(float)
    X = X.fillna(X.median())
    if log:
        nonneg = [c for c in columns if (X[c] >= 0).all()]
        X[nonneg] = np.log1p(X[nonneg])
    scaler = RobustScaler(quantile_range=(10, 90)).fit(X)
    Z = scaler.transform(X)
    pca = None
    if pca_components:
        pca = PCA(n_components=min(pca_components, Z.shape[1]), random_state=seed).fit(Z)
        Z = pca.transform(Z)
    return Z, {"scaler": scaler, "pca": pca, "columns": columns, "log": log}


def choose_k(X: np.ndarray, *, k_min: int = 2, k_max: int = 8, seed: int = 42, sample: int = 5000) -> pd.DataFrame:
    """KMeans for every k in [k_min, k_max]: silhouette (on a seeded sample of at most ``sample`` rows)
    and inertia. Returns DataFrame ``k``, ``silhouette``, ``inertia``."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(seed)
    idx = rng.choice(len(X), size=min(sample, len(X)), replace=False) if len(X) > sample else np.arange(len(X))
    rows = []
    for k in range(k_min, min(k_max, len(X) - 1) + 1):
        with fit_threads(*X.shape):
            km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(X)
        lab = km.labels_[idx]
        sil = silhouette_score(X[idx], lab) if len(set(lab)) > 1 else np.nan
        rows.append({"k": k, "silhouette": float(sil), "inertia": float(km.inertia_)})
    return pd.DataFrame(rows)


def fit_clusters(
    X: np.ndarray, *, method: str = "kmeans", k: int = 4, seed: int = 42, eps: float = 0.8, min_samples: int = 10
) -> np.ndarray:
    """Cluster labels 0..k-1 (KMeans) or DBSCAN labels (-1 = noise). KMeans clusters are renumbered by
    size, largest first, so labels are stable across runs."""
    from sklearn.cluster import DBSCAN, KMeans

    if method == "dbscan":
        return DBSCAN(eps=eps, min_samples=min_samples).fit_predict(X)
    with fit_threads(*X.shape):
        lab = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(X)
    sizes = pd.Series(lab).value_counts()
    order = {old: new for new, old in enumerate(sorted(sizes.index, key=lambda c: (-sizes[c], c)))}
    return np.array([order[x] for x in lab])


def cluster_profiles(features: pd.DataFrame, labels, columns: list[str], X: np.ndarray | None = None) -> pd.DataFrame:
    """Per cluster: ``cluster``, ``users``, ``share``, the mean of each feature (raw units), and ``z_<col>``:
    the cluster mean of the scaled feature minus the overall mean, over the overall standard deviation."""
    f = features[columns].astype(float)
    df = f.assign(cluster=np.asarray(labels))
    prof = df.groupby("cluster").mean()
    prof.insert(0, "users", df.groupby("cluster").size())
    prof.insert(1, "share", prof["users"] / len(df))
    if X is not None and X.shape[1] == len(columns):
        S = pd.DataFrame(X, columns=columns).assign(cluster=np.asarray(labels))
    else:
        S = f.fillna(f.median()).assign(cluster=np.asarray(labels))
    mu, sd = S[columns].mean(), S[columns].std(ddof=0).replace(0, np.nan)
    z = (S.groupby("cluster")[columns].mean() - mu) / sd
    z.columns = [f"z_{c}" for c in columns]
    return prof.join(z).reset_index()


def name_clusters(
    profiles: pd.DataFrame, columns: list[str], *, threshold: float = 0.5, top: int = 2, events: dict | None = None
) -> dict:
    """Name each cluster from its most distinctive features: the ``top`` features with the largest |z|
    above ``threshold``, each as high/low + the feature's label ("high events · low active days", in the
    campaign's language; events by their ``events`` names, the tracking plan's display names); clusters with none
    are "typical users". Noise (-1) is "noise"."""
    names = {}
    for _, r in profiles.iterrows():
        c = int(r["cluster"])
        if c == -1:
            names[c] = t("clustering.noise")
            continue
        z = pd.Series({col: r[f"z_{col}"] for col in columns}).dropna()
        z = z[z.abs() >= threshold].reindex(z.abs().sort_values(ascending=False).index).dropna().head(top)
        parts = [
            t("clustering.high" if v > 0 else "clustering.low", feature=feature_label(col, events))
            for col, v in z.items()
        ]
        names[c] = " · ".join(parts) if parts else t("clustering.typical")
    return names


# ------------------------------------------------------------------------------------------- charts
def plot_k_selection(ks: pd.DataFrame, *, chosen: int | None = None, ax=None):
    """Silhouette (left axis) and inertia (right axis, elbow) per k."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    ax.plot(ks["k"], ks["silhouette"], marker="o", color="C0", label=t("clustering.silhouette_legend"))
    ax2 = ax.twinx()
    ax2.plot(ks["k"], ks["inertia"], marker="s", color="C1", linestyle="--", label=t("clustering.inertia_legend"))
    ax2.set_ylabel(t("clustering.inertia_axis"))
    ax2.grid(False)
    if chosen:
        ax.axvline(chosen, color="grey", linestyle=":")
    ax.set_title(t("clustering.k_title"))
    ax.set_xlabel(t("clustering.k_axis"))
    ax.set_ylabel(t("clustering.silhouette_legend"))
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize="small", loc="upper right")
    return ax


def plot_radar(
    profiles: pd.DataFrame, columns: list[str], names: dict, *, clip: float = 2.5, events: dict | None = None
):
    """One radar (polar) chart per cluster of its feature z-scores (clipped to ±``clip``), features labelled as
    :func:`name_clusters` names them. Returns the Figure."""
    import matplotlib.pyplot as plt

    from .charts import radar_labels

    n = len(profiles)
    ncol = min(2, n)  # two per row: a 10 in figure shown 1,000 px wide keeps 9 pt labels above 12 px
    nrow = int(np.ceil(n / ncol))
    fig = plt.figure(figsize=(5.0 * ncol, 5.2 * nrow))
    ang = np.linspace(0, 2 * np.pi, len(columns), endpoint=False)
    for i, (_, r) in enumerate(profiles.iterrows()):
        ax = fig.add_subplot(nrow, ncol, i + 1, projection="polar")
        vals = np.clip([r[f"z_{c}"] if pd.notna(r[f"z_{c}"]) else 0 for c in columns], -clip, clip)
        ax.plot(np.r_[ang, ang[:1]], np.r_[vals, vals[:1]], color=f"C{i % 10}")
        ax.fill(np.r_[ang, ang[:1]], np.r_[vals, vals[:1]], color=f"C{i % 10}", alpha=0.25)
        shown = [feature_label(c, events) for c in columns]
        radar_labels(ax, ang, shown)  # wrapped, aligned outward (helpers/charts.py)
        ax.set_ylim(-clip, clip)
        c = int(r["cluster"])
        ax.set_title(
            t("clustering.group", cluster=c, users=f"{int(r['users']):,}") + f"\n{names.get(c, '')}", fontsize=9, pad=18
        )
        ax.set_xlabel(t("clustering.feature_axis"))
        ax.set_ylabel(t("clustering.z_axis"))
    fig.suptitle(t("clustering.radar_title"))
    return fig


def plot_projection(X: np.ndarray, labels, names: dict, *, seed: int = 42, ax=None, max_points: int = 5000):
    """2-D PCA projection of the users, coloured by cluster (a seeded sample of at most ``max_points``)."""
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 6))
    X = np.asarray(X, dtype=float)
    k = min(2, *X.shape) if X.ndim == 2 else 0
    if k < 1:
        from .plots import empty_chart

        return empty_chart(
            ax, title=t("clustering.projection_title"), xlabel=t("clustering.pc1"), ylabel=t("clustering.pc2")
        )
    P = PCA(n_components=k, random_state=seed).fit(X)
    Y = P.transform(X)
    ev = np.nan_to_num(P.explained_variance_ratio_)
    if k < 2:  # one user or one feature: a flat second axis
        Y = np.column_stack([Y, np.zeros(len(Y))])
        ev = np.append(ev, 0.0)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(Y), size=min(max_points, len(Y)), replace=False)
    lab = np.asarray(labels)
    for c in sorted(set(lab)):
        m = idx[lab[idx] == c]
        ax.scatter(Y[m, 0], Y[m, 1], s=6, alpha=0.6, label=f"{c}: {names.get(int(c), '')}"[:40])
    ax.legend(fontsize=7, markerscale=2)
    ax.set_title(t("clustering.projection_title"))
    ax.set_xlabel(t("clustering.pc1_share", share=f"{ev[0]:.0%}"))
    ax.set_ylabel(t("clustering.pc2_share", share=f"{ev[1]:.0%}"))
    return ax


# ------------------------------------------------------------------------------------------- report
@dataclass(repr=False)
class ClusteringReport(Report):
    """The clustering report. Frames: ``features`` (one row per user, :func:`helpers.features.user_features`),
    ``X`` (the model matrix), ``ks`` (silhouette and inertia per k; None with DBSCAN), ``labels`` (cluster per
    user, aligned with ``features``), ``profiles`` (:func:`cluster_profiles`); ``names`` (cluster -> name);
    ``event_names`` (event -> the name pages show, from the tracking plan)."""

    name: ClassVar[str] = "clustering"
    title: ClassVar[str] = localized("clustering.title")
    parts: ClassVar[tuple[str, ...]] = ("k", "profiles", "radar", "projection")
    table_names: ClassVar[tuple[str, ...]] = ("membership", "profiles")
    result_keys: ClassVar[tuple[str, ...]] = (
        "method",
        "k",
        "features",
        "silhouette_chosen",
        "seed",
        "silhouette",
        "inertia",
        "sizes",
        "names",
        "naming_rule",
    )
    unavailable_label: ClassVar[str] = localized("clustering.unavailable_label")
    glossary: ClassVar[tuple[str, ...]] = ("silhouette", "z_score", "pca")

    method: str = "kmeans"
    columns: list = field(default_factory=list)
    features: pd.DataFrame = field(default_factory=pd.DataFrame)
    X: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    ks: pd.DataFrame | None = None
    k: int = 0
    labels: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=int))
    profiles: pd.DataFrame = field(default_factory=pd.DataFrame)
    names: dict = field(default_factory=dict)
    event_names: dict = field(default_factory=dict)
    silhouette: float = float("nan")
    k_fixed: bool = False  # k set by the params (clustering.k), not the best silhouette in k_min..k_max
    seed: int = 42
    threshold: float = 0.5
    currency: str = "¥"  # the campaign's sign before the mean spend on the page

    @classmethod
    def compute(cls, ctx) -> ClusteringReport:
        """The user groups of a campaign, from its ``clustering:`` params (docs/clustering.md)."""

        p = ctx.cfg.clustering
        if not ctx.has("events"):
            raise ReportUnavailable(t("unavailable.no_events"))
        orders, _ = campaign_orders(ctx)  # purchases as the campaign defines them (the orders table)
        buy = {"orders": orders, "buy_events": (), "returns": ctx.cfg.rfm.returns} if orders is not None else {}
        feats = user_features(ctx.table("events"), **buy)
        cols = p.features or default_feature_columns(feats)
        missing = [c for c in cols if c not in feats.columns]
        if missing:
            raise MissingColumnError(
                "user features",
                missing[0],
                feats.columns,
                hint="clustering.features names the feature columns (docs/features.md)",
            )
        if len(feats) < 20 or len(cols) < 2:
            raise ReportUnavailable(t("clustering.too_few", users=len(feats), features=len(cols)))
        smallest = p.k or p.k_min
        if p.method == "kmeans" and smallest >= len(feats):  # k groups need more than k users
            from .fmt import fmt_int

            key = "clustering.k" if p.k else "clustering.k_min"
            raise ReportUnavailable(t("clustering.k_too_big", key=key, k=smallest, users=fmt_int(len(feats))))
        X, _ = prepare_matrix(feats, cols, log=p.log_transform, pca_components=p.pca_components, seed=p.seed)
        rep = cls(method=p.method, columns=cols, features=feats, X=X, seed=p.seed, threshold=p.name_threshold,
                  currency=ctx.cfg.currency)  # fmt: skip
        rep.event_names = display_names(ctx)
        if p.method == "kmeans":
            rep.ks = choose_k(X, k_min=p.k_min, k_max=p.k_max, seed=p.seed, sample=p.silhouette_sample)
            rep.k = p.k or int(rep.ks.sort_values(["silhouette", "k"], ascending=[False, True]).iloc[0]["k"])
            rep.k_fixed = p.k is not None
            rep.labels = fit_clusters(X, k=rep.k, seed=p.seed)
            rep.silhouette = (
                float(rep.ks.set_index("k").loc[rep.k, "silhouette"]) if rep.k in set(rep.ks["k"]) else float("nan")
            )
        else:
            rep.labels = fit_clusters(X, method="dbscan", eps=p.dbscan_eps, min_samples=p.dbscan_min_samples)
            rep.k = int(len(set(rep.labels) - {-1}))
        Xs = X if not p.pca_components else prepare_matrix(feats, cols, log=p.log_transform)[0]
        rep.profiles = cluster_profiles(feats, rep.labels, cols, Xs)
        rep.names = name_clusters(rep.profiles, cols, threshold=p.name_threshold, events=rep.event_names)
        return rep

    def membership(self) -> pd.DataFrame:
        """One row per user: ``user_id``, ``cluster`` (label; -1 = DBSCAN noise), ``cluster_name``."""
        return pd.DataFrame(
            {
                "user_id": self.features["user_id"],
                "cluster": self.labels,
                "cluster_name": [self.names.get(int(c), "") for c in self.labels],
            }
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """``membership`` (read by the user_profile report) and ``profiles``."""
        return {"membership": self.membership(), "profiles": self.profiles}

    def to_results(self) -> dict:
        """The report-specific part of ``results/clustering.json`` (docs/clustering.md)."""
        ks = self.ks
        return self._results(
            method=self.method,
            k=self.k,
            features=self.columns,
            silhouette_chosen=self.silhouette,
            seed=self.seed,
            silhouette={int(r.k): r.silhouette for r in ks.itertuples()} if ks is not None else {},
            inertia={int(r.k): r.inertia for r in ks.itertuples()} if ks is not None else {},
            sizes={str(int(r.cluster)): int(r.users) for r in self.profiles.itertuples()},
            names={str(k): v for k, v in self.names.items()},
            naming_rule=t("clustering.naming_rule", threshold=self.threshold),
        )

    def findings(self) -> list[str]:
        """Key findings in plain words and numbers."""
        from .fmt import fmt_int, fmt_num, fmt_pct

        ks = self.ks
        sil = fmt_num(self.silhouette)
        if self.method != "kmeans" or ks is None:
            how = t("clustering.how_dbscan")
        elif self.k_fixed:  # not chosen by silhouette; a k outside k_min..k_max has none
            how = (
                t("clustering.how_fixed", silhouette=sil)
                if np.isfinite(self.silhouette)
                else t("clustering.how_fixed_no_sil")
            )
        else:
            how = t("clustering.how_kmeans", silhouette=sil, k_min=int(ks.k.min()), k_max=int(ks.k.max()))
        out = [t("clustering.groups", users=fmt_int(len(self.features)), k=self.k, how=how)]
        for r in self.profiles.sort_values("users", ascending=False).itertuples():
            name = self.names.get(int(r.cluster), "")
            out.append(
                t(
                    "clustering.group_finding",
                    cluster=int(r.cluster),
                    share=fmt_pct(r.share),
                    users=fmt_int(r.users),
                    name=name,
                )
            )
        return out

    def headline(self) -> list[dict]:
        """Headline numbers for the index page."""
        from .fmt import fmt_num
        from .report import headline

        return [
            headline(t("clustering.h_k"), self.k, str(self.k)),
            headline(t("clustering.h_silhouette"), self.silhouette, fmt_num(self.silhouette)),
        ]

    def _show(self, part: str):
        from IPython.display import Markdown

        from .fmt import column_kind, style_table

        if part == "k":
            if self.ks is None:
                return Markdown(t("clustering.dbscan_no_k"))
            return plot_k_selection(self.ks, chosen=self.k)
        if part == "profiles":
            p = self.profiles[["cluster", "users", "share"] + self.columns].copy()
            p.insert(1, "name", p["cluster"].map(lambda c: self.names.get(int(c), "")))
            heads = {k: t(f"clustering.col_{k}") for k in ("cluster", "name", "users", "share")}
            # a feature's header is its name, as a header ("Cart count" beside "Users"), not the catalogue's
            # col.<name>, which only some features have ("Spend" beside "cart count")
            heads |= {c: sentence_start(feature_label(c, self.event_names)) for c in self.columns}
            kind = {c: column_kind(c, p[c]) for c in self.columns}  # by the feature's own name: spend, a share
            return style_table(
                p,
                int_cols=["users"],
                pct_cols=["share", *(c for c in self.columns if kind[c] == "pct")],
                money_cols=[c for c in self.columns if kind[c] == "money"],
                num_cols=[c for c in self.columns if kind[c] not in ("pct", "money")],
                currency=self.currency,
                headers=heads,
            )
        if part == "radar":
            return plot_radar(self.profiles, self.columns, self.names, events=self.event_names)
        return plot_projection(self.X, self.labels, self.names, seed=self.seed)  # "projection"


def run_clustering(ctx) -> ClusteringReport | Unavailable:
    """:meth:`ClusteringReport.run`: the user groups of a campaign (or its Unavailable twin)."""
    return ClusteringReport.run(ctx)
