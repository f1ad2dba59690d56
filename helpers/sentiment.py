"""Chinese review sentiment: jieba tokens, SnowNLP scores (parallel, cached), keywords and complaint
phrases, per-product positive shares, and a domain model (TF-IDF + logistic regression) measured against
SnowNLP on held-out labelled rows. Rules: docs/sentiment.md.

Reviews are small tables: this module works in pandas.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import math
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from .base import Report, ReportUnavailable, Unavailable, _display

__all__ = [
    "SNOWNLP_ID",
    "load_stopwords",
    "Tokenizer",
    "text_kind",
    "band",
    "snownlp_score",
    "score_texts",
    "keywords",
    "keywords_by_group",
    "complaint_phrases",
    "group_summary",
    "classification_report",
    "train_domain_model",
    "plot_threshold",
    "plot_confusion",
    "plot_words",
    "plot_groups",
    "SentimentReport",
    "run_sentiment",
]

SNOWNLP_ID = "snownlp-0.12.3"
_CJK = re.compile(r"[\u4e00-\u9fff]")
_URL = re.compile(r"https?://\S+|www\.\S+")
_NUM = re.compile(r"^[\d.,%]+$")
_WORD = re.compile(r"[\u4e00-\u9fffA-Za-z]")


def load_stopwords(extra: str | os.PathLike | None = None) -> set[str]:
    """The shipped stopword list (helpers/data/stopwords_zh.txt) plus one word per line from ``extra``."""
    words = set()
    paths = [Path(__file__).parent / "data" / "stopwords_zh.txt"] + ([Path(extra)] if extra else [])
    for p in paths:
        if not p.exists():
            raise FileNotFoundError(f"stopword file {p} not found (sentiment.stopwords_file)")
        for line in p.read_text(encoding="utf-8").splitlines():
            w = line.strip()
            if w and not w.startswith("#"):
                words.add(w)
    return words


class Tokenizer:
    """jieba tokens without stopwords, punctuation, emoji or numbers; optional user dictionary and
    traditional -> simplified conversion. One private jieba instance (no global state)."""

    def __init__(
        self,
        *,
        user_dict: str | os.PathLike | None = None,
        stopwords: set[str] | None = None,
        to_simplified: bool = False,
    ):
        import jieba

        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
        if user_dict:
            if not Path(user_dict).exists():
                raise FileNotFoundError(f"user dictionary {user_dict} not found (sentiment.user_dict)")
            self._jieba.load_userdict(str(user_dict))
        self.stopwords = load_stopwords() if stopwords is None else stopwords
        self._cc = None
        if to_simplified:
            from opencc import OpenCC

            self._cc = OpenCC("t2s")

    def normalise(self, text) -> str:
        t = "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text)
        t = _URL.sub(" ", t)
        return self._cc.convert(t) if self._cc else t

    def tokens(self, text) -> list[str]:
        out = []
        for w in self._jieba.lcut(self.normalise(text)):
            w = w.strip().lower()
            if not w or w in self.stopwords or _NUM.match(w) or not _WORD.search(w):
                continue
            out.append(w)
        return out


def text_kind(text) -> str:
    """``empty`` (missing or blank), ``no_chinese`` (no Chinese character: English, emoji, numbers) or ``ok``."""
    if text is None or (isinstance(text, float) and math.isnan(text)) or not str(text).strip():
        return "empty"
    return "ok" if _CJK.search(str(text)) else "no_chinese"


def band(score: float, *, positive_min: float = 0.6, negative_max: float = 0.4) -> str:
    """positive (score >= positive_min), negative (score <= negative_max), else neutral; NaN -> skipped."""
    if score is None or (isinstance(score, float) and math.isnan(score)):
        return "skipped"
    if score >= positive_min:
        return "positive"
    if score <= negative_max:
        return "negative"
    return "neutral"


def snownlp_score(text: str) -> float:
    """SnowNLP's stock sentiment model: probability that the text is positive."""
    from snownlp import SnowNLP

    return float(SnowNLP(text).sentiments)


def _score_chunk(texts: list[str]) -> list[float]:
    return [snownlp_score(t) for t in texts]


def _hash(text: str) -> str:
    return hashlib.sha1((SNOWNLP_ID + "\0" + text).encode("utf-8")).hexdigest()


def score_texts(
    texts: list[str],
    *,
    cache_path: str | os.PathLike | None = None,
    workers: int | None = None,
    progress: bool = False,
    chunk: int = 200,
    scorer=None,
) -> tuple[np.ndarray, dict]:
    """SnowNLP scores of ``texts`` using every core and a cache keyed by model id + text hash.

    Returns
    -------
    (scores aligned with ``texts``, stats dict ``{"texts", "unique", "cached", "scored", "workers"}``).
    ``scorer`` replaces SnowNLP (tests count calls with it; it then runs in this process).
    """
    cache: dict[str, float] = {}
    cp = Path(cache_path) if cache_path else None
    if cp and cp.exists():
        c = pd.read_parquet(cp)
        cache = dict(zip(c["hash"], c["score"]))
    hashes = [_hash(t) for t in texts]
    todo = {}
    for h, t in zip(hashes, texts):
        if h not in cache and h not in todo:
            todo[h] = t
    workers = workers or os.cpu_count() or 1
    stats = {
        "texts": len(texts),
        "unique": len(set(hashes)),
        "cached": len(set(hashes)) - len(todo),
        "scored": len(todo),
        "workers": 1 if scorer or len(todo) < 2 * chunk else workers,
    }
    items = list(todo.items())
    bar = None
    if progress and items:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(items), desc="SnowNLP", unit="review")
    if scorer is not None or stats["workers"] == 1:
        fn = scorer or snownlp_score
        for h, t in items:
            cache[h] = float(fn(t))
            if bar is not None:
                bar.update(1)
    else:
        import multiprocessing as mp

        parts = [items[i : i + chunk] for i in range(0, len(items), chunk)]
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork")) as pool:
            futs = {pool.submit(_score_chunk, [t for _, t in part]): part for part in parts}
            for fut in cf.as_completed(futs):
                part = futs[fut]
                for (h, _), s in zip(part, fut.result()):
                    cache[h] = s
                if bar is not None:
                    bar.update(len(part))
    if bar is not None:
        bar.close()
    if cp and items:
        cp.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"hash": list(cache), "score": list(cache.values())}).to_parquet(cp, index=False)
    return np.array([cache[h] for h in hashes], dtype=float), stats


def keywords(
    texts: list[str], *, top: int = 15, method: str = "tfidf", stopwords: set[str] | None = None
) -> pd.DataFrame:
    """Keywords of a group of texts with jieba.analyse (TF-IDF or TextRank): ``keyword``, ``weight``."""
    import jieba.analyse

    doc = "\n".join(str(t) for t in texts if isinstance(t, str))
    if not doc.strip():
        return pd.DataFrame(columns=["keyword", "weight"])
    fn = jieba.analyse.textrank if method == "textrank" else jieba.analyse.extract_tags
    pairs = fn(doc, topK=top * 3, withWeight=True)
    sw = stopwords or set()
    rows = [(w, float(x)) for w, x in pairs if w not in sw and _WORD.search(w) and not _NUM.match(w)][:top]
    return pd.DataFrame(rows, columns=["keyword", "weight"])


def keywords_by_group(
    df: pd.DataFrame,
    *,
    by: str,
    band_name: str = "negative",
    top: int = 5,
    min_reviews: int = 5,
    stopwords: set[str] | None = None,
) -> pd.DataFrame:
    """Top TF-IDF keywords of one band's reviews per group: ``<by>``, ``reviews``, ``keywords`` ("a、b、c")."""
    d = df[df["band"] == band_name]
    rows = []
    for g, x in d.groupby(by):
        if len(x) < min_reviews:
            continue
        kw = keywords(x["text"].tolist(), top=top, stopwords=stopwords)
        rows.append({by: g, "reviews": len(x), "keywords": "、".join(kw["keyword"])})
    out = pd.DataFrame(rows, columns=[by, "reviews", "keywords"])
    return out.sort_values(["reviews", by], ascending=[False, True], ignore_index=True)


def complaint_phrases(token_lists: list[list[str]], *, top: int = 15, min_count: int = 2) -> pd.DataFrame:
    """Most frequent adjacent token pairs (as "词1词2") in negative reviews: ``phrase``, ``reviews`` (number
    of reviews containing it, counted once per review)."""
    c: Counter[str] = Counter()
    for toks in token_lists:
        c.update({a + b for a, b in zip(toks, toks[1:])})
    rows = [(p, n) for p, n in c.most_common() if n >= min_count][:top]
    return pd.DataFrame(rows, columns=["phrase", "reviews"])


def group_summary(df: pd.DataFrame, *, by: str, min_reviews: int = 5, examples: int = 2) -> pd.DataFrame:
    """Per group: ``reviews`` (scored), ``positive``, ``positive_share`` with 95% Wilson ``ci_low``/``ci_high``,
    ``mean_score``, and ``worst_example`` (the lowest-scored texts); groups with at least ``min_reviews``,
    worst (lowest positive share) first."""
    from .stats import wilson_interval

    d = df[df["band"] != "skipped"]
    rows = []
    for g, x in d.groupby(by):
        n = len(x)
        if n < min_reviews:
            continue
        pos = int((x["band"] == "positive").sum())
        lo, hi = wilson_interval(pos, n)
        ex = " ｜ ".join(x.nsmallest(examples, "score")["text"].astype(str).str.slice(0, 60))
        rows.append(
            {
                by: g,
                "reviews": n,
                "positive": pos,
                "positive_share": pos / n,
                "ci_low": lo,
                "ci_high": hi,
                "mean_score": float(x["score"].mean()),
                "worst_example": ex,
            }
        )
    out = pd.DataFrame(
        rows, columns=[by, "reviews", "positive", "positive_share", "ci_low", "ci_high", "mean_score", "worst_example"]
    )
    return out.sort_values(["positive_share", "reviews"], ascending=[True, False], ignore_index=True)


def classification_report(y_true, y_pred) -> dict:
    """Accuracy, and precision / recall / F1 per class (0 negative, 1 positive) and macro F1, plus the
    confusion matrix ``[[tn, fp], [fn, tp]]``."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    y_true, y_pred = np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=[0, 1], zero_division=0)
    return {
        "rows": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(np.mean(f)),
        "per_class": {
            str(k): {"precision": float(p[k]), "recall": float(r[k]), "f1": float(f[k]), "support": int(s[k])}
            for k in (0, 1)
        },
        "confusion": confusion_matrix(y_true, y_pred, labels=[0, 1]).tolist(),
    }


def _with_bigrams(tokens: list[str]) -> list[str]:
    """Unigrams plus adjacent pairs ("质量_太差"): the domain model's analyser (module level: picklable)."""
    return list(tokens) + [a + "_" + b for a, b in zip(tokens, tokens[1:])]


def train_domain_model(token_lists: list[list[str]], labels, *, seed: int = 42):
    """TF-IDF (jieba tokens, unigrams + bigrams) + logistic regression, fitted on the given rows."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(
        TfidfVectorizer(analyzer=_with_bigrams, min_df=2, sublinear_tf=True),
        LogisticRegression(max_iter=2000, C=4.0, random_state=seed),
    )
    return model.fit(token_lists, np.asarray(labels).astype(int))


# ------------------------------------------------------------------------------------------- charts
def plot_threshold(y, scores, *, ax=None):
    """Accuracy of SnowNLP as a function of the positive threshold, with the share of positive labels."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    ts = np.linspace(0.05, 0.95, 19)
    acc = [float(((np.asarray(scores) >= t).astype(int) == np.asarray(y)).mean()) for t in ts]
    ax.plot(ts, acc, marker="o")
    best = ts[int(np.argmax(acc))]
    ax.axvline(best, color="C3", linestyle="--", label=f"最佳阈值 best {best:.2f}")
    ax.legend(fontsize="small")
    ax.set_title("SnowNLP 阈值与准确率 Accuracy by threshold")
    ax.set_xlabel("正面阈值 positive threshold")
    ax.set_ylabel("准确率 accuracy")
    return ax


def plot_confusion(conf, *, title: str, ax=None):
    from .plots import plot_heatmap

    m = pd.DataFrame(conf, index=["实际负面 neg", "实际正面 pos"], columns=["预测负面 neg", "预测正面 pos"])
    return plot_heatmap(m, title=title, xlabel="预测 predicted", ylabel="实际 actual", fmt=",.0f", ax=ax)


def plot_words(kw: pd.DataFrame, *, title: str, ax=None, color="C0"):
    from .plots import plot_bar

    return plot_bar(
        kw.head(12),
        x="keyword",
        y="weight",
        horizontal=True,
        fmt=".2f",
        color=color,
        ax=ax,
        title=title,
        xlabel="权重 weight (TF-IDF)",
        ylabel="关键词 keyword",
    )


def plot_groups(summary: pd.DataFrame, *, by: str, ax=None):
    """Positive share per group with its 95% interval (worst first)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    s = summary.head(15)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.4 * len(s) + 1.5))
    pos = np.arange(len(s))[::-1]
    ax.errorbar(
        s["positive_share"],
        pos,
        xerr=[(s["positive_share"] - s["ci_low"]).clip(lower=0), (s["ci_high"] - s["positive_share"]).clip(lower=0)],
        fmt="o",
        capsize=3,
    )
    ax.set_yticks(pos, s[by].astype(str))
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlim(0, 1)
    ax.set_title(f"正面评价占比（最差在上）Positive share by {by}, worst first")
    ax.set_xlabel("正面占比 positive share (95% CI)")
    ax.set_ylabel(by)
    return ax


# ------------------------------------------------------------------------------------------- report
def _eval_split(df: pd.DataFrame, *, exclude: set[int], test_share: float, seed: int):
    """Held-out labelled rows (seeded, stratified), minus rows in SnowNLP's training data for its evaluation."""
    from sklearn.model_selection import train_test_split

    lab = df[df["label"].notna() & (df["kind"] == "ok")]
    if lab["label"].nunique() < 2 or len(lab) < 40:
        return None, None
    tr, te = train_test_split(lab.index, test_size=test_share, random_state=seed, stratify=lab["label"].astype(int))
    te_clean = [i for i in te if int(df.loc[i, "source_row"]) not in exclude]
    return list(tr), te_clean


def _model_file(ctx, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else ctx.paths.file(path)


def _user_sentiment(reviews: pd.DataFrame) -> pd.DataFrame:
    """Per reviewer: ``user_id``, ``reviews`` (scored), ``positive_share`` (the user profile joins it)."""
    if "user_id" not in reviews or reviews["user_id"].isna().all():
        return pd.DataFrame(columns=["user_id", "reviews", "positive_share"])
    d = reviews[reviews["band"] != "skipped"]
    g = d.groupby("user_id")["band"]
    share = g.apply(lambda b: (b == "positive").mean())
    return pd.DataFrame({"reviews": g.size(), "positive_share": share}).reset_index()


@dataclass(repr=False)
class SentimentReport(Report):
    """The review sentiment report. Frames: ``reviews`` (one row per review: ``kind``, ``tokens``, ``snownlp``,
    ``score``, ``band``), ``users`` (per reviewer), ``by_item`` / ``by_category`` (:func:`group_summary`, or
    None), ``kw_pos`` / ``kw_neg`` (keywords), ``phrases`` (complaints), ``neg_keywords_by`` (per group, or
    None), ``eval_frame`` (held-out labels and SnowNLP scores; empty without labels); ``model`` is the domain
    model (or None)."""

    name: ClassVar[str] = "sentiment"
    title: ClassVar[str] = "评论情感分析 Review sentiment"
    parts: ClassVar[tuple[str, ...]] = (
        "evaluation",
        "confusion",
        "threshold",
        "keywords",
        "phrases",
        "items",
        "categories",
        "examples",
    )
    table_names: ClassVar[tuple[str, ...]] = ("users", "items", "categories")
    result_keys: ClassVar[tuple[str, ...]] = (
        "reviews",
        "scored",
        "skipped",
        "positive_share",
        "bands",
        "thresholds",
        "score_model",
        "scoring",
        "evaluation",
        "evaluation_rows",
        "model_path",
        "notes",
    )
    unavailable_label: ClassVar[str] = "无法分析评论 No review analysis"

    reviews: pd.DataFrame = field(default_factory=pd.DataFrame)
    users: pd.DataFrame = field(default_factory=pd.DataFrame)
    skipped: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)
    thresholds: tuple = (0.6, 0.4)
    used_model: str = "snownlp"
    evaluation: dict = field(default_factory=dict)
    eval_rows: dict = field(default_factory=dict)
    eval_frame: pd.DataFrame = field(default_factory=pd.DataFrame)
    kw_pos: pd.DataFrame = field(default_factory=pd.DataFrame)
    kw_neg: pd.DataFrame = field(default_factory=pd.DataFrame)
    phrases: pd.DataFrame = field(default_factory=pd.DataFrame)
    by_item: pd.DataFrame | None = None
    by_category: pd.DataFrame | None = None
    neg_keywords_by: pd.DataFrame | None = None
    model: object = None
    #: where the domain model is (loaded from) or will be saved by :meth:`export` (trained in this run)
    model_path: str | None = None
    model_trained: bool = False
    notes: list = field(default_factory=list)

    @classmethod
    def compute(cls, ctx) -> SentimentReport:
        """The sentiment report of a campaign, from its ``sentiment:`` params (docs/sentiment.md)."""
        from .campaign import batch_mode

        p = ctx.cfg.sentiment
        if not ctx.has("reviews"):
            raise ReportUnavailable("这个活动没有评论表 the campaign has no reviews table")
        df = ctx.df("reviews")
        if p.sample_size and len(df) > p.sample_size:
            df = df.sample(n=p.sample_size, random_state=p.seed).sort_index()
        df = df.reset_index(drop=True)
        df["source_row"] = pd.to_numeric(df["review_id"], errors="coerce").fillna(-1).astype(int) - 1
        if "label" not in df or df["label"].isna().all():
            df["label"] = np.nan
            if p.label_from_rating and "rating" in df:
                r = df["rating"]
                df["label"] = np.where(
                    r >= p.label_from_rating.positive_min, 1, np.where(r <= p.label_from_rating.negative_max, 0, np.nan)
                )
        df["kind"] = df["text"].map(text_kind)
        rep = cls(thresholds=(p.positive_min, p.negative_max))
        rep.skipped = {k: int(v) for k, v in df["kind"].value_counts().items() if k != "ok"}
        tok = Tokenizer(
            user_dict=p.user_dict, stopwords=load_stopwords(p.stopwords_file), to_simplified=p.to_simplified
        )
        ok = df["kind"] == "ok"
        df["tokens"] = [tok.tokens(t) if k == "ok" else [] for t, k in zip(df["text"], df["kind"])]
        texts = [tok.normalise(t) for t in df.loc[ok, "text"]]
        snow, rep.stats = score_texts(
            texts, cache_path=ctx.paths.cache / "snownlp_scores.parquet", workers=p.workers, progress=not batch_mode()
        )
        df["snownlp"] = np.nan
        df.loc[ok, "snownlp"] = snow
        exclude = set()
        if p.exclude_rows_file:
            from .params import resolve_input

            ex = Path(resolve_input(p.exclude_rows_file))
            exclude = {int(x) for x in ex.read_text(encoding="utf-8").split() if x.strip().isdigit()}
        tr, te = _eval_split(df, exclude=exclude, test_share=p.test_share, seed=p.seed)
        model = None
        model_file = _model_file(ctx, p.model_path) if p.model_path else None
        if model_file is not None and model_file.exists() and not p.retrain:
            import joblib

            model = joblib.load(model_file)
            rep.notes.append(f"领域模型从文件加载、未重新训练 domain model loaded from {p.model_path}, not retrained")
            rep.model_path = str(model_file)
        if tr is not None:
            y_te = df.loc[te, "label"].astype(int).to_numpy()
            snow_pred = (df.loc[te, "snownlp"] >= 0.5).astype(int).to_numpy()
            rep.evaluation["snownlp"] = classification_report(y_te, snow_pred)
            if model is None:
                model = train_domain_model(df.loc[tr, "tokens"].tolist(), df.loc[tr, "label"].astype(int), seed=p.seed)
            dom = model.predict(df.loc[te, "tokens"].tolist())
            rep.evaluation["domain"] = classification_report(y_te, dom)
            rep.eval_rows = {
                "train_rows": len(tr),
                "eval_rows": len(te),
                "excluded_snownlp_training_rows": int(
                    sum(1 for i in df.index if int(df.loc[i, "source_row"]) in exclude)
                ),
                "rule": (
                    f"seeded stratified split, {p.test_share:.0%} held out; held-out rows listed in "
                    "exclude_rows_file are dropped so that SnowNLP is not judged on its own training texts; both "
                    "models are scored on the same rows"
                ),
            }
            rep.eval_frame = pd.DataFrame({"label": y_te, "snownlp": df.loc[te, "snownlp"].to_numpy()})
            if rep.model_path is None:  # trained now: export() saves it
                rep.model_path = str(model_file or _model_file(ctx, "results/sentiment_model.joblib"))
                rep.model_trained = True
        rep.model = model
        ev = rep.evaluation
        use_domain = p.score_model == "domain" or (
            p.score_model == "auto" and ev.get("domain") and ev["domain"]["accuracy"] > ev["snownlp"]["accuracy"]
        )
        if use_domain and model is not None:
            df["score"] = np.nan
            df.loc[ok, "score"] = model.predict_proba(df.loc[ok, "tokens"].tolist())[:, 1]
            rep.used_model = "domain"
        else:
            df["score"] = df["snownlp"]
            rep.used_model = "snownlp"
        df["band"] = [band(s, positive_min=p.positive_min, negative_max=p.negative_max) for s in df["score"]]
        rep.reviews = df
        rep.users = _user_sentiment(df)
        sw = tok.stopwords
        rep.kw_pos = keywords(df.loc[df["band"] == "positive", "text"].tolist(), stopwords=sw)
        rep.kw_neg = keywords(df.loc[df["band"] == "negative", "text"].tolist(), stopwords=sw)
        rep.phrases = complaint_phrases(df.loc[df["band"] == "negative", "tokens"].tolist())
        if "item_id" in df and df["item_id"].notna().any():
            rep.by_item = group_summary(df, by="item_id", min_reviews=p.min_reviews)
        if "category" in df and df["category"].notna().any():
            rep.by_category = group_summary(df, by="category", min_reviews=p.min_reviews)
        by = "category" if rep.by_category is not None else ("item_id" if rep.by_item is not None else None)
        if by:
            rep.neg_keywords_by = keywords_by_group(df, by=by, min_reviews=p.min_reviews, stopwords=sw)
        return rep

    def _scored(self) -> pd.DataFrame:
        return self.reviews[self.reviews["band"] != "skipped"]

    def to_results(self) -> dict:
        """The report-specific part of ``results/sentiment.json`` (docs/sentiment.md)."""
        scored = self._scored()
        return self._results(
            reviews=int(len(self.reviews)),
            scored=int(len(scored)),
            skipped=self.skipped,
            positive_share=float((scored["band"] == "positive").mean()) if len(scored) else None,
            bands=scored["band"].value_counts().to_dict(),
            thresholds={"positive_min": self.thresholds[0], "negative_max": self.thresholds[1]},
            score_model=self.used_model,
            scoring=self.stats,
            evaluation=self.evaluation,
            evaluation_rows=self.eval_rows,
            model_path=self.model_path,
            notes=self.notes,
        )

    def findings(self) -> list[str]:
        """Key findings in plain words and numbers."""
        from .fmt import fmt_int, fmt_pct

        r = self.reviews
        scored = self._scored()
        out = [
            f"{fmt_int(len(r))} 条评论 reviews, {fmt_int(len(scored))} 条已评分 scored with **{self.used_model}**; "
            f"正面 positive **{fmt_pct((scored['band'] == 'positive').mean())}**, 负面 negative "
            f"{fmt_pct((scored['band'] == 'negative').mean())}."
        ]
        if self.skipped:
            out.append(
                "跳过 skipped: "
                + ", ".join(f"{k} {fmt_int(v)}" for k, v in self.skipped.items())
                + " (empty / no Chinese text)."
            )
        if self.evaluation:
            s, d = self.evaluation["snownlp"], self.evaluation["domain"]
            out.append(
                f"在 {fmt_int(s['rows'])} 条留出标注评论上 on held-out labelled reviews: SnowNLP 准确率 "
                f"accuracy **{fmt_pct(s['accuracy'])}** (macro F1 {s['macro_f1']:.3f}) vs 领域模型 domain model "
                f"**{fmt_pct(d['accuracy'])}** (macro F1 {d['macro_f1']:.3f})."
            )
        for name, g in (("商品 item", self.by_item), ("品类 category", self.by_category)):
            if g is not None and len(g):
                w = g.iloc[0]
                out.append(
                    f"最差{name} worst {name.split()[-1]}: {w.iloc[0]} — 正面占比 positive "
                    f"{fmt_pct(w['positive_share'])} ({fmt_int(w['reviews'])} reviews)."
                )
                break
        if len(self.phrases):
            out.append("常见抱怨 frequent complaints: " + "、".join(self.phrases["phrase"].head(5)) + ".")
        out += [f"注意 Note: {n}." for n in self.notes]
        return out

    def headline(self) -> list[dict]:
        """Headline numbers for the index page."""
        from .fmt import fmt_pct
        from .report import headline

        sc = self._scored()
        share = float((sc["band"] == "positive").mean()) if len(sc) else None
        out = [headline("positive share 正面占比", share, fmt_pct(share))]
        if self.evaluation:
            ev = self.evaluation
            out.append(headline("SnowNLP accuracy", ev["snownlp"]["accuracy"], fmt_pct(ev["snownlp"]["accuracy"])))
            out.append(
                headline("domain model accuracy 领域模型", ev["domain"]["accuracy"], fmt_pct(ev["domain"]["accuracy"]))
            )
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        """``users`` (per reviewer) and, when the reviews have items / categories, ``items`` / ``categories``."""
        out = {"users": self.users}
        if self.by_item is not None:
            out["items"] = self.by_item
        if self.by_category is not None:
            out["categories"] = self.by_category
        return out

    def export(self, ctx) -> list[Path]:
        """Save the domain model trained in this run to ``model_path`` (default
        ``results/sentiment_model.joblib``); return its path (none when it was loaded, not trained)."""
        if not self.model_trained or self.model is None or not self.model_path:
            return []
        import joblib

        path = Path(self.model_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.model, path)
        return [path]

    def _show(self, part: str):
        from IPython.display import Markdown

        from .fmt import style_table

        if part in ("evaluation", "threshold", "confusion") and not self.evaluation:
            return Markdown(
                "_没有标注，无法评估 no labels in the data: no evaluation (set sentiment.label_from_rating "
                "to use ratings)._"
            )
        if part == "evaluation":
            rows = [
                {
                    "model": k,
                    "rows": v["rows"],
                    "accuracy": v["accuracy"],
                    "macro_f1": v["macro_f1"],
                    "precision_neg": v["per_class"]["0"]["precision"],
                    "recall_neg": v["per_class"]["0"]["recall"],
                    "precision_pos": v["per_class"]["1"]["precision"],
                    "recall_pos": v["per_class"]["1"]["recall"],
                }
                for k, v in self.evaluation.items()
            ]
            _display(
                style_table(
                    pd.DataFrame(rows),
                    int_cols=["rows"],
                    num_cols=["macro_f1"],
                    pct_cols=["accuracy", "precision_neg", "recall_neg", "precision_pos", "recall_pos"],
                )
            )
            return Markdown(f"评分使用 scores use: **{self.used_model}**. {self.eval_rows.get('rule', '')}")
        if part == "threshold":
            return plot_threshold(self.eval_frame["label"], self.eval_frame["snownlp"])
        if part == "confusion":
            import matplotlib.pyplot as plt

            fig, axes = plt.subplots(1, 2, figsize=(10, 4))
            plot_confusion(self.evaluation["snownlp"]["confusion"], title="SnowNLP", ax=axes[0])
            plot_confusion(self.evaluation["domain"]["confusion"], title="领域模型 domain model", ax=axes[1])
            return fig
        if part == "keywords":
            import matplotlib.pyplot as plt

            fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
            plot_words(self.kw_pos, title="正面评价关键词 Positive keywords", ax=axes[0], color="C2")
            plot_words(self.kw_neg, title="负面评价关键词 Negative keywords", ax=axes[1], color="C3")
            return fig
        if part == "phrases":
            phrases = style_table(self.phrases, int_cols=["reviews"])
            if self.neg_keywords_by is None or not len(self.neg_keywords_by):
                return phrases
            _display(phrases)
            _display(Markdown("**各组负面关键词 Negative keywords per group**"))
            return style_table(self.neg_keywords_by.head(15), int_cols=["reviews"])
        if part in ("items", "categories"):
            g, by = (self.by_item, "item_id") if part == "items" else (self.by_category, "category")
            if g is None or g.empty:
                return Markdown("_没有足够评论的分组 no group with enough reviews._")
            _display(plot_groups(g, by=by))
            return style_table(
                g.head(10),
                int_cols=["reviews", "positive"],
                pct_cols=["positive_share", "ci_low", "ci_high"],
                num_cols=["mean_score"],
            )
        r = self._scored()  # "examples"
        ex = pd.concat([r.nsmallest(5, "score"), r.nlargest(5, "score")])
        cols = [c for c in ("review_id", "item_id", "category", "rating", "score", "band", "text") if c in ex]
        return style_table(ex[cols], num_cols=["score"])


def run_sentiment(ctx) -> SentimentReport | Unavailable:
    """:meth:`SentimentReport.run`: the sentiment report of a campaign (or its Unavailable twin)."""
    return SentimentReport.run(ctx)
