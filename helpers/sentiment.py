"""Chinese review sentiment: jieba tokens, SnowNLP scores (parallel, cached: :mod:`helpers.snownlp_scores`),
keywords and complaint phrases (:mod:`helpers.phrases`), per-product positive shares, and a domain model
(TF-IDF + logistic regression) measured against SnowNLP on held-out labelled rows that are not in SnowNLP's own
training texts. Rules: docs/sentiment.md.

Reviews are small tables: this module works in pandas.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from . import i18n
from .base import Report, ReportUnavailable, Unavailable, _display
from .i18n import localized
from .items import item_label, item_names, names_of
from .phrases import complaint_phrases, keywords, keywords_by_group, plot_words, quiet_jieba
from .sentiment_plots import plot_confusion, plot_groups, plot_threshold
from .snownlp_scores import (
    SNOWNLP_ID,
    URL_RE,
    in_snownlp_training,
    match_key,
    score_texts,
    snownlp_score,
    snownlp_training_keys,
)

__all__ = [
    "SNOWNLP_ID",
    "load_stopwords",
    "Tokenizer",
    "text_kind",
    "band",
    "snownlp_score",
    "score_texts",
    "match_key",
    "snownlp_training_keys",
    "in_snownlp_training",
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

#: labelled usable reviews an evaluation needs in all: fewer give a held-out set of a handful
MIN_LABELLED = 40
#: labelled usable reviews of each class it needs (more with an extreme test_share: :func:`_min_per_class`)
MIN_PER_CLASS = 10
#: held-out accuracy at or above this is flagged in the findings: templated or leaked texts, not a real skill
TOO_PERFECT = 0.995
_CJK = re.compile(r"[\u4e00-\u9fff]")
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
        self._jieba = quiet_jieba().Tokenizer()
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
        t = URL_RE.sub(" ", t)
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


def domain_wins(evaluation: dict) -> bool:
    """Whether ``score_model: auto`` scores with the domain model: its held-out macro F1 beats SnowNLP's. Accuracy
    chose a domain model that found no negative review (recall 0 %) on mostly positive reviews; macro F1 weighs
    both classes alike."""
    d, s = evaluation.get("domain"), evaluation.get("snownlp")
    return bool(d and s and d["macro_f1"] > s["macro_f1"])


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


# ------------------------------------------------------------------------------------------- report
def _min_per_class(test_share: float) -> int:
    """Labelled usable reviews of each class an evaluation needs: :data:`MIN_PER_CLASS`, or 1 / test_share or
    1 / (1 - test_share) when more (test_share below 10% or above 90%), so that the stratified split puts at least
    one review of each class in both the held-out and the training rows (sklearn raises with 1 of a class)."""
    return max(MIN_PER_CLASS, math.ceil(1 / min(test_share, 1 - test_share) - 1e-9))


def _eval_split(df: pd.DataFrame, *, test_share: float, min_per_class: int, seed: int):
    """Training rows and held-out labelled rows (seeded, stratified), or (None, None) with too few labels: fewer
    than :data:`MIN_LABELLED` in all or than ``min_per_class`` (the report's, :func:`_min_per_class`) of either
    class."""
    from sklearn.model_selection import train_test_split

    lab = df[df["label"].notna() & (df["kind"] == "ok")]
    pos, neg = int((lab["label"] == 1).sum()), int((lab["label"] == 0).sum())
    if len(lab) < MIN_LABELLED or min(pos, neg) < min_per_class:
        return None, None
    tr, te = train_test_split(lab.index, test_size=test_share, random_state=seed, stratify=lab["label"].astype(int))
    return list(tr), list(te)


def _model_file(ctx, path: str) -> Path:
    """``sentiment.model_path`` inside the campaign folder (absolute paths and '..' are refused)."""
    if Path(path).is_absolute():
        raise ValueError(f"sentiment.model_path {path!r} must be relative to the campaign folder {ctx.paths.root}")
    return ctx.paths.file(path)


_MODEL_HASHES = "model_hashes.json"  # in the campaign's .state/: SHA-256 of each model this kit wrote


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _model_hashes(paths) -> tuple[Path, dict]:
    import json

    f = paths.state / _MODEL_HASHES
    return f, (json.loads(f.read_text(encoding="utf-8")) if f.exists() else {})


def _load_model(ctx, model_file: Path):
    """Load a saved domain model only if its SHA-256 is the one recorded when this kit wrote it (a model file
    is unpickled, i.e. executed: a file put there by anything else is refused)."""
    _, hashes = _model_hashes(ctx.paths)
    key = model_file.relative_to(ctx.paths.root).as_posix()
    want, got = hashes.get(key), _sha256(model_file)
    if want != got:
        why = "no hash was recorded for it" if want is None else f"its SHA-256 {got[:12]}... is not the recorded one"
        raise ValueError(
            f"refusing to load the sentiment model {model_file}: {why} (in {ctx.paths.state / _MODEL_HASHES}). "
            "Only a model this kit wrote is loaded; delete the file (or set sentiment.retrain: true) to train anew"
        )
    import joblib

    return joblib.load(model_file)


def _record_model(paths, model_file: Path) -> None:
    import json

    f, hashes = _model_hashes(paths)
    hashes[model_file.resolve().relative_to(paths.root.resolve()).as_posix()] = _sha256(model_file)
    f.parent.mkdir(parents=True, exist_ok=True)
    tmp = f.with_suffix(".part")
    tmp.write_text(json.dumps(hashes, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, f)


def _named(by_item: pd.DataFrame, df: pd.DataFrame) -> pd.DataFrame:
    """``by_item`` (one row per ``item_id``) with the item's name beside its code, as the products page names it
    (the most common name among its reviews), when the reviews carry ``item_name``; unchanged otherwise."""
    if "item_name" not in df:
        return by_item
    named = by_item["item_id"].astype(str).map(item_names(df[["item_id", "item_name"]]))
    out = by_item.copy()
    out.insert(1, "item_name", named.astype(object).where(named.notna(), None))
    return out


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
    ``in_snownlp_training``, ``split`` (train / test / excluded, None when unlabelled), ``score``, ``band``),
    ``users`` (per reviewer), ``by_item`` / ``by_category`` (:func:`group_summary`, or None), ``kw_pos`` /
    ``kw_neg`` (keywords), ``phrases`` (:func:`complaint_phrases`), ``neg_keywords_by`` (per group, or None),
    ``eval_frame`` (held-out labels and SnowNLP scores; empty without labels); ``model`` is the domain model
    (or None)."""

    name: ClassVar[str] = "sentiment"
    title: ClassVar[str] = localized("sentiment.title")
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
    table_names: ClassVar[tuple[str, ...]] = ("users", "items", "categories", "phrases", "neg_keywords")
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
        "snownlp_training_overlap",
        "model_file",
        "notes",
    )
    unavailable_label: ClassVar[str] = localized("sentiment.unavailable_label")
    glossary: ClassVar[tuple[str, ...]] = ("accuracy", "macro_f1", "precision", "recall", "ci95", "log_odds_z")

    reviews: pd.DataFrame = field(default_factory=pd.DataFrame)
    users: pd.DataFrame = field(default_factory=pd.DataFrame)
    skipped: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)
    thresholds: tuple = (0.6, 0.4)
    used_model: str = "snownlp"
    evaluation: dict = field(default_factory=dict)
    eval_rows: dict = field(default_factory=dict)
    eval_frame: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: reviews whose text is one of SnowNLP's training texts (results key ``snownlp_training_overlap``)
    snownlp_overlap: dict = field(default_factory=dict)
    kw_pos: pd.DataFrame = field(default_factory=pd.DataFrame)
    kw_neg: pd.DataFrame = field(default_factory=pd.DataFrame)
    phrases: pd.DataFrame = field(default_factory=pd.DataFrame)
    boilerplate: list[str] = field(default_factory=list)
    by_item: pd.DataFrame | None = None
    by_category: pd.DataFrame | None = None
    neg_keywords_by: pd.DataFrame | None = None
    min_reviews: int = 5  # sentiment.min_reviews
    min_per_class: int = MIN_PER_CLASS  # labelled reviews of each class an evaluation needs (from test_share)
    model: object = None
    #: where the domain model is (loaded from) or will be saved by :meth:`export` (trained in this run)
    model_path: str | None = None
    #: the same, relative to the campaign folder: what the results file records (no machine path)
    model_file: str | None = None
    model_trained: bool = False
    notes: list = field(default_factory=list)

    @classmethod
    def compute(cls, ctx) -> SentimentReport:
        """The sentiment report of a campaign, from its ``sentiment:`` params (docs/sentiment.md)."""
        from .campaign import batch_mode

        p = ctx.cfg.sentiment
        if not ctx.has("reviews"):
            raise ReportUnavailable(i18n.t("unavailable.no_reviews"))
        df = ctx.df("reviews")
        if p.sample_size and len(df) > p.sample_size:
            df = df.sample(n=p.sample_size, random_state=p.seed).sort_index()
        df = df.reset_index(drop=True)
        df["source_row"] = pd.to_numeric(df["review_id"], errors="coerce").fillna(-1).astype(int) - 1
        outside = 0  # ratings outside label_from_rating.scale: no label, and a note
        if "label" not in df or df["label"].isna().all():
            df["label"] = np.nan
            if p.label_from_rating and "rating" in df:
                df["label"], outside = p.label_from_rating.labels(df["rating"])
        df["kind"] = df["text"].map(text_kind)
        rep = cls(
            thresholds=(p.positive_min, p.negative_max),
            min_reviews=p.min_reviews,
            min_per_class=_min_per_class(p.test_share),
        )
        if outside:
            from .fmt import fmt_int

            lo, hi = p.label_from_rating.scale
            rep.notes.append(i18n.t("sentiment.note_rating_outside", n=fmt_int(outside), lo=f"{lo:g}", hi=f"{hi:g}"))
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
        keys, key_info = snownlp_training_keys(cache_dir=ctx.paths.cache)
        df["in_snownlp_training"] = False
        df.loc[ok, "in_snownlp_training"] = in_snownlp_training(texts, keys)
        n_in = int(df["in_snownlp_training"].sum())
        rep.snownlp_overlap = {
            "training_files": key_info["files"],
            "training_texts": key_info["texts"],
            "reviews": n_in,
            "share": n_in / int(ok.sum()) if ok.any() else None,
            "held_out_excluded": None,
        }
        if not key_info["files"]:
            rep.notes.append(i18n.t("sentiment.note_no_training_texts"))
        tr, te_all = _eval_split(df, test_share=p.test_share, min_per_class=rep.min_per_class, seed=p.seed)
        te: list = []
        df["split"] = None
        if te_all is not None:
            by_text = df.loc[te_all, "in_snownlp_training"].to_numpy(dtype=bool)
            by_file = df.loc[te_all, "source_row"].isin(exclude).to_numpy()
            te = [i for i, drop in zip(te_all, by_text | by_file) if not drop]
            rep.snownlp_overlap["held_out_excluded"] = len(te_all) - len(te)
            df.loc[tr, "split"] = "train"
            df.loc[te_all, "split"] = "excluded"
            df.loc[te, "split"] = "test"
            if not te:
                rep.notes.append(i18n.t("sentiment.note_all_held_out_in_training"))
                tr = None
        model = None
        model_file = _model_file(ctx, p.model_path) if p.model_path else None
        if model_file is not None and model_file.exists() and not p.retrain:
            model = _load_model(ctx, model_file)
            rep.notes.append(i18n.t("sentiment.note_model_loaded", path=p.model_path))
            rep.model_path = str(model_file)
            rep.model_file = model_file.relative_to(ctx.paths.root).as_posix()
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
                "excluded_snownlp_training_rows": len(te_all) - len(te),
                "excluded_by_text_match": int(by_text.sum()),
                "excluded_by_rows_file": int(by_file.sum()),
                "rule": i18n.t("sentiment.eval_rule", share=f"{p.test_share:.0%}"),
            }
            rep.eval_frame = pd.DataFrame({"label": y_te, "snownlp": df.loc[te, "snownlp"].to_numpy()})
            if rep.model_path is None:  # trained now: export() saves it
                saved = model_file or _model_file(ctx, "results/sentiment_model.joblib")
                rep.model_path, rep.model_file = str(saved), saved.relative_to(ctx.paths.root).as_posix()
                rep.model_trained = True
        rep.model = model
        ev = rep.evaluation
        use_domain = p.score_model == "domain" or (p.score_model == "auto" and domain_wins(ev))
        if use_domain and model is not None:
            df["score"] = np.nan
            df.loc[ok, "score"] = model.predict_proba(df.loc[ok, "tokens"].tolist())[:, 1]
            rep.used_model = "domain"
        else:
            df["score"] = df["snownlp"]
            rep.used_model = "snownlp"
            if p.score_model == "domain":  # asked for, but neither a model file nor enough labels to train one
                rep.notes.append(i18n.t("sentiment.note_no_domain_model"))
        df["band"] = [band(s, positive_min=p.positive_min, negative_max=p.negative_max) for s in df["score"]]
        rep.reviews = df
        rep.users = _user_sentiment(df)
        sw = tok.stopwords
        rep.kw_pos = keywords(df.loc[df["band"] == "positive", "text"].tolist(), stopwords=sw)
        rep.kw_neg = keywords(df.loc[df["band"] == "negative", "text"].tolist(), stopwords=sw)
        cp = complaint_phrases(df[df["band"] != "skipped"], boilerplate_share=p.boilerplate_share)
        rep.phrases, rep.boilerplate = cp.table, cp.boilerplate
        if "item_id" in df and df["item_id"].notna().any():
            rep.by_item = _named(group_summary(df, by="item_id", min_reviews=p.min_reviews), df)
        if "category" in df and df["category"].notna().any():
            rep.by_category = group_summary(df, by="category", min_reviews=p.min_reviews)
        by = "category" if rep.by_category is not None else ("item_id" if rep.by_item is not None else None)
        if by:
            kb = keywords_by_group(df, by=by, min_reviews=p.min_reviews, stopwords=sw)
            rep.neg_keywords_by = _named(kb, df) if by == "item_id" else kb
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
            snownlp_training_overlap=self.snownlp_overlap,
            model_file=self.model_file,
            notes=self.notes,
        )

    def findings(self) -> list[str]:
        """Key findings in plain words and numbers."""
        from .fmt import fmt_int, fmt_num, fmt_pct

        r = self.reviews
        scored = self._scored()
        tt = i18n.t
        out = [
            tt(
                "sentiment.summary",
                reviews=fmt_int(len(r)),
                scored=fmt_int(len(scored)),
                model=tt(f"sentiment.model_{self.used_model}"),  # 领域模型 / SnowNLP, not the code
                positive=fmt_pct((scored["band"] == "positive").mean()),
                neutral=fmt_pct((scored["band"] == "neutral").mean()),  # the three add up to 100 %
                negative=fmt_pct((scored["band"] == "negative").mean()),
            )
        ]
        if self.skipped:
            # the count before its kind, no noun to agree with it: "36 without Chinese text" / "没有中文 36 条"
            what = i18n.list_join(tt(f"sentiment.skip_{k}", n=fmt_int(v)) for k, v in self.skipped.items())
            out.append(tt("sentiment.skipped", what=what))
        if self.evaluation:
            s, d = self.evaluation["snownlp"], self.evaluation["domain"]
            out.append(
                tt(
                    "sentiment.evaluation",
                    rows=fmt_int(s["rows"]),
                    snow_acc=fmt_pct(s["accuracy"]),
                    snow_f1=fmt_num(s["macro_f1"], 3),  # as the evaluation table shows it
                    dom_acc=fmt_pct(d["accuracy"]),
                    dom_f1=fmt_num(d["macro_f1"], 3),
                    # one reason, or (rows of exclude_rows_file among them) how many for each: as the note says
                    left_out=tt(
                        "sentiment.left_out_split"
                        if self.eval_rows.get("excluded_by_rows_file")
                        else "sentiment.left_out_training",
                        **self._left_out(),
                    ),
                )
            )
            for key, ev in (("snownlp", s), ("domain", d)):  # a computed caveat, not a boast
                if ev["accuracy"] >= TOO_PERFECT:
                    out.append(
                        tt(
                            "sentiment.too_perfect",
                            model=tt(f"sentiment.model_{key}"),
                            accuracy=fmt_pct(ev["accuracy"]),
                        )
                    )
        ov = self.snownlp_overlap
        if ov.get("reviews") and not self.evaluation and self.used_model == "snownlp":
            out.append(tt("sentiment.training_overlap", reviews=fmt_int(ov["reviews"]), share=fmt_pct(ov["share"])))
        for by, g in (("item_id", self.by_item), ("category", self.by_category)):
            if g is not None and len(g):
                w = g.iloc[0]
                out.append(
                    tt(
                        "sentiment.worst_group",
                        group=tt(f"sentiment.by_{by}"),
                        value=item_label(w.iloc[0], names_of(g)) if by == "item_id" else w.iloc[0],
                        share=fmt_pct(w["positive_share"]),
                        reviews=fmt_int(w["reviews"]),
                    )
                )
                break
        if len(self.phrases):
            top = self.phrases.head(5)
            sep = "、" if i18n.current_language() == "zh" else "; "
            items = sep.join(
                tt("sentiment.complaint", phrase=ph, neg=fmt_int(n), pos=fmt_int(q))
                for ph, n, q in zip(top["phrase"], top["neg_reviews"], top["pos_reviews"])
            )
            out.append(tt("sentiment.complaints", phrases=items))
        out += [tt("sentiment.note", note=n.rstrip(".。")) for n in self.notes]
        return out

    def headline(self) -> list[dict]:
        """Headline numbers for the index page."""
        from .fmt import fmt_pct
        from .report import headline

        sc = self._scored()
        share = float((sc["band"] == "positive").mean()) if len(sc) else None
        tt = i18n.t
        out = [headline(tt("sentiment.h_positive"), share, fmt_pct(share))]
        if self.evaluation:
            ev = self.evaluation
            snow, dom = ev["snownlp"]["accuracy"], ev["domain"]["accuracy"]
            out.append(headline(tt("sentiment.h_snownlp_accuracy"), snow, fmt_pct(snow)))
            out.append(headline(tt("sentiment.h_domain_accuracy"), dom, fmt_pct(dom)))
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        """``users`` (per reviewer), ``phrases`` (complaint phrases) and, when the reviews have items /
        categories, ``items`` / ``categories`` and ``neg_keywords`` (negative keywords per group)."""
        out = {"users": self.users, "phrases": self.phrases}
        if self.by_item is not None:
            out["items"] = self.by_item
        if self.by_category is not None:
            out["categories"] = self.by_category
        if self.neg_keywords_by is not None:
            out["neg_keywords"] = self.neg_keywords_by
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
        _record_model(ctx.paths, path)  # the hash a later run checks before loading it
        return [path]

    def _left_out(self) -> dict[str, str]:
        """The held-out rows left out, as the finding and the evaluation note word them: all, those whose text is
        one of SnowNLP's training texts, those listed in exclude_rows_file, and "of them N are both" (the two
        counts overlap: read as a sum they would count those twice)."""
        from .fmt import fmt_int

        er = self.eval_rows
        excluded, in_training, in_file = (
            er.get(k, 0) for k in ("excluded_snownlp_training_rows", "excluded_by_text_match", "excluded_by_rows_file")
        )
        both = in_training + in_file - excluded
        return {
            "excluded": fmt_int(excluded),
            "in_training": fmt_int(in_training),
            "in_file": fmt_int(in_file),
            "both": i18n.t("sentiment.excluded_both", n=fmt_int(both)) if both > 0 else "",
        }

    def _no_evaluation(self) -> str:
        """Why there is no evaluation, in words: the labelled usable reviews there are (by class) against the
        :data:`MIN_LABELLED` in all and :attr:`min_per_class` of each class the split needs, or that every
        held-out one is in SnowNLP's texts."""
        r = self.reviews
        ok = {"label", "kind"} <= set(r.columns)
        lab = r.loc[r["label"].notna() & (r["kind"] == "ok"), "label"] if ok else pd.Series(dtype=float)
        if not (ok and r["label"].notna().any()):  # labels only on blank or non-Chinese reviews: "0 usable" below
            return i18n.t("sentiment.no_labels")
        pos, neg = int((lab == 1).sum()), int((lab == 0).sum())
        if len(lab) < MIN_LABELLED or min(pos, neg) < self.min_per_class:
            return i18n.t(
                "sentiment.few_labels", n=len(lab), pos=pos, neg=neg, min=MIN_LABELLED, per_class=self.min_per_class
            )
        return f"_{i18n.t('sentiment.note_all_held_out_in_training')}_"

    def _show(self, part: str):
        from IPython.display import Markdown

        from .fmt import md_escape, style_table

        if part in ("evaluation", "threshold", "confusion") and not self.evaluation:
            # why, once (the three parts share a section): no labels, too few, or all held out in SnowNLP's texts
            return Markdown(self._no_evaluation()) if part == "evaluation" else None
        if part == "evaluation":
            rows = [
                {
                    "model": i18n.t(f"sentiment.model_{k}"),
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
                    num_digits=3,  # as the finding quotes it
                    pct_cols=["accuracy", "precision_neg", "recall_neg", "precision_pos", "recall_pos"],
                )
            )
            return Markdown(
                i18n.t(
                    "sentiment.scoring_rule",
                    model=i18n.t(f"sentiment.model_{self.used_model}"),
                    rule=str(self.eval_rows.get("rule", "")).rstrip(".。"),
                    **self._left_out(),
                )
            )
        if part == "threshold":
            return plot_threshold(self.eval_frame["label"], self.eval_frame["snownlp"])
        if part == "confusion":
            import matplotlib.pyplot as plt

            fig, axes = plt.subplots(1, 2, figsize=(10, 4))
            plot_confusion(self.evaluation["snownlp"]["confusion"], title="SnowNLP", ax=axes[0])
            plot_confusion(self.evaluation["domain"]["confusion"], title=i18n.t("sentiment.model_domain"), ax=axes[1])
            return fig
        if part == "keywords":
            import matplotlib.pyplot as plt

            fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
            plot_words(self.kw_pos, title=i18n.t("sentiment.positive_keywords"), ax=axes[0], color="C2")
            plot_words(self.kw_neg, title=i18n.t("sentiment.negative_keywords"), ax=axes[1], color="C3")
            return fig
        if part == "phrases":
            ph = self.phrases
            boiler = self.boilerplate
            _display(
                Markdown(
                    i18n.t(
                        "sentiment.phrases_intro",
                        boiler=i18n.t("sentiment.boilerplate", words=md_escape("、".join(boiler))) if boiler else "",
                    )
                )
            )
            phrases = (
                style_table(ph, int_cols=["neg_reviews", "pos_reviews"], num_cols=["log_odds", "z"])
                if len(ph)
                else Markdown(i18n.t("sentiment.no_phrases"))
            )
            if self.neg_keywords_by is None or not len(self.neg_keywords_by):
                return phrases
            _display(phrases)
            _display(Markdown(i18n.t("sentiment.neg_keywords_by")))
            neg = {"reviews": i18n.column_label("neg_reviews")}  # the group's negative reviews, not all of them
            return style_table(self.neg_keywords_by, int_cols=["reviews"], headers=neg, max_rows=15)
        if part in ("items", "categories"):
            g, by = (self.by_item, "item_id") if part == "items" else (self.by_category, "category")
            if g is None or g.empty:  # no such column in the reviews, or no group with enough reviews: say which
                key = "no_groups" if by in self.reviews and self.reviews[by].notna().any() else "no_group_column"
                return Markdown(i18n.t(f"sentiment.{key}", n=self.min_reviews, column=i18n.column_word(by)))
            _display(plot_groups(g, by=by))
            return style_table(
                g,
                int_cols=["reviews", "positive"],
                pct_cols=["positive_share", "ci_low", "ci_high"],
                num_cols=["mean_score"],
                max_rows=10,  # the worst ten; the page says "10 of N rows" and links the CSV of every group
            )
        r = self._scored()  # "examples"
        ex = pd.concat([r.nsmallest(5, "score"), r.nlargest(5, "score")])
        cols = [
            c for c in ("review_id", "item_id", "item_name", "category", "rating", "score", "band", "text") if c in ex
        ]
        ex = ex.assign(band=ex["band"].map(lambda b: i18n.label(f"sentiment.band.{b}", str(b))))
        return style_table(ex[cols], num_cols=["score"])


def run_sentiment(ctx) -> SentimentReport | Unavailable:
    """:meth:`SentimentReport.run`: the sentiment report of a campaign (or its Unavailable twin)."""
    return SentimentReport.run(ctx)
