"""What reviews say: keywords (jieba.analyse) and complaint phrases by contrast, i.e. the word pairs that
negative reviews use more than positive ones (weighted log-odds with an informative Dirichlet prior, Monroe,
Colaresi & Quinn 2008, "Fightin' Words"), after dropping date / number fragments and boilerplate. Rules:
docs/sentiment.md ("Keywords, complaints, groups").

jieba is always imported through :func:`quiet_jieba`, so that its "Building prefix dict ..." log lines never
reach a report page.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .i18n import list_join

__all__ = [
    "BOILERPLATE_SHARE",
    "PRIOR_SHARE",
    "quiet_jieba",
    "keywords",
    "keywords_by_group",
    "is_date_fragment",
    "review_phrases",
    "weighted_log_odds",
    "complaint_phrases",
    "plot_words",
]

#: a phrase in more than this share of all reviews is boilerplate (site template text), not a complaint
BOILERPLATE_SHARE = 0.5
#: default size of the informative prior: this share of the corpus's phrase occurrences (pseudo-counts)
PRIOR_SHARE = 0.1
_NUM = re.compile(r"^[\d.,%]+$")
_WORD = re.compile(r"[\u4e00-\u9fffA-Za-z]")
#: a token that is only a number, a date or time unit, or digits / Chinese numerals with such units:
#: 2024, 3.5, 年, 月, 日, 10月, 3号, 10点30分, 十月, 三号 (but not 一点 "a little", 两天 or 点评)
_DATE_FRAGMENT = re.compile(
    r"^(?:[\d０-９.,:/%\-]+|(?:[\d０-９.:]*[年月日号號点點时時分秒])+|[零〇一二三四五六七八九十两]+[年月日号號])$"
)


def quiet_jieba():
    """The ``jieba`` module with its logger at WARNING: no "Building prefix dict ..." / "Loading model ..."
    lines on stderr (a red box in a notebook page)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def keywords(
    texts: list[str], *, top: int = 15, method: str = "tfidf", stopwords: set[str] | None = None
) -> pd.DataFrame:
    """Keywords of a group of texts with jieba.analyse (TF-IDF or TextRank): ``keyword``, ``weight``."""
    quiet_jieba()
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
    """Top TF-IDF keywords of one band's reviews per group: ``<by>``, ``reviews``, ``keywords`` ("a、b、c" in
    Chinese, "a, b, c" in English: :func:`helpers.i18n.list_join`)."""
    d = df[df["band"] == band_name]
    rows = []
    for g, x in d.groupby(by):
        if len(x) < min_reviews:
            continue
        kw = keywords(x["text"].tolist(), top=top, stopwords=stopwords)
        rows.append({by: g, "reviews": len(x), "keywords": list_join(kw["keyword"])})
    out = pd.DataFrame(rows, columns=[by, "reviews", "keywords"])
    return out.sort_values(["reviews", by], ascending=[False, True], ignore_index=True)


def is_date_fragment(token: str) -> bool:
    """True for a token that is a number or a piece of a date or time (``2024``, ``年``, ``10月``, ``3号``,
    ``10点``, ``30分``, ``十月``): such tokens make phrases like 月日 or 点评年 out of review dates."""
    return bool(_DATE_FRAGMENT.match(token))


def review_phrases(tokens: Iterable[str]) -> set[str]:
    """The phrases of one review: its adjacent token pairs joined ("质量" + "太差" -> "质量太差"), each once,
    without the pairs that hold a date or number fragment (:func:`is_date_fragment`)."""
    toks = list(tokens)
    return {a + b for a, b in zip(toks, toks[1:]) if not (is_date_fragment(a) or is_date_fragment(b))}


def weighted_log_odds(
    counts_a: Counter[str] | dict[str, float],
    counts_b: Counter[str] | dict[str, float],
    prior_counts: Counter[str] | dict[str, float],
    *,
    prior_size: float | None = None,
) -> pd.DataFrame:
    """Weighted log-odds ratio of each term between groups a and b, with an informative Dirichlet prior
    (Monroe, Colaresi & Quinn 2008, eq. 16-22).

    With :math:`y^a_w`, :math:`y^b_w` the counts of term *w*, :math:`n_a`, :math:`n_b` the groups' totals and
    the prior :math:`\\alpha_w = \\alpha_0 \\, c_w / \\sum_v c_v` (``prior_counts`` *c*, e.g. the whole
    corpus, scaled to ``prior_size`` :math:`\\alpha_0`; None: :data:`PRIOR_SHARE` of :math:`\\sum_v c_v`):

    .. math::

        \\delta_w = \\log\\frac{y^a_w + \\alpha_w}{n_a + \\alpha_0 - y^a_w - \\alpha_w}
                  - \\log\\frac{y^b_w + \\alpha_w}{n_b + \\alpha_0 - y^b_w - \\alpha_w},\\qquad
        \\sigma^2_w \\approx \\frac{1}{y^a_w + \\alpha_w} + \\frac{1}{y^b_w + \\alpha_w},\\qquad
        z_w = \\delta_w / \\sigma_w .

    Terms are those of ``prior_counts`` with a positive count (a term missing there gets no prior and is
    left out); a term absent from a group counts 0 there.

    Returns
    -------
    DataFrame, one row per term, highest ``z`` first (ties by term): ``term``, ``count_a``, ``count_b``,
    ``prior`` (:math:`\\alpha_w`), ``log_odds`` (:math:`\\delta_w`, > 0: more typical of a), ``z``.
    """
    if prior_size is not None and prior_size <= 0:
        raise ValueError(f"prior_size must be positive, got {prior_size}")
    terms = sorted(t for t, c in prior_counts.items() if c > 0)
    cols = ["term", "count_a", "count_b", "prior", "log_odds", "z"]
    if not terms:
        return pd.DataFrame(columns=cols)
    ya = np.array([counts_a.get(t, 0) for t in terms], dtype=float)
    yb = np.array([counts_b.get(t, 0) for t in terms], dtype=float)
    c = np.array([prior_counts[t] for t in terms], dtype=float)
    a0 = PRIOR_SHARE * c.sum() if prior_size is None else float(prior_size)
    alpha = a0 * c / c.sum()
    na, nb = float(sum(counts_a.values())), float(sum(counts_b.values()))
    delta = np.log((ya + alpha) / (na + a0 - ya - alpha)) - np.log((yb + alpha) / (nb + a0 - yb - alpha))
    z = delta / np.sqrt(1.0 / (ya + alpha) + 1.0 / (yb + alpha))
    out = pd.DataFrame({"term": terms, "count_a": ya, "count_b": yb, "prior": alpha, "log_odds": delta, "z": z})
    out[["count_a", "count_b"]] = out[["count_a", "count_b"]].astype(int)
    return out.sort_values(["z", "term"], ascending=[False, True], ignore_index=True)


@dataclass(frozen=True)
class ComplaintPhrases:
    """What :func:`complaint_phrases` returns: ``table`` (the ranked phrases), ``boilerplate`` (phrases dropped
    as a source's template text) and ``reviews`` (reviews per band: negative, positive, all)."""

    table: pd.DataFrame
    boilerplate: list[str]
    reviews: dict[str, int]


def complaint_phrases(
    reviews: pd.DataFrame,
    *,
    tokens_col: str = "tokens",
    band_col: str = "band",
    top: int = 15,
    min_count: int = 2,
    min_z: float = 1.96,
    prior_size: float | None = None,
    boilerplate_share: float = BOILERPLATE_SHARE,
) -> ComplaintPhrases:
    """Phrases typical of negative reviews compared with positive ones.

    Phrases are :func:`review_phrases` (adjacent token pairs, no date / number fragments), counted once per
    review. Boilerplate, i.e. a phrase present in more than ``boilerplate_share`` of all the reviews given
    (every band: a site's "补充点评" or a template line), is dropped. The rest are ranked by the z-score of
    :func:`weighted_log_odds`: negative (band ``negative``) against positive (band ``positive``) reviews, the
    prior being every review's phrase counts scaled to ``prior_size`` pseudo-counts (None: :data:`PRIOR_SHARE`
    of the phrase occurrences). A complaint has ``z`` >= ``min_z`` (1.96: over-represented in negative reviews
    at the 5% level) and is in at least ``min_count`` negative reviews.

    Returns
    -------
    :class:`ComplaintPhrases`: ``table``, at most ``top`` rows, highest ``z`` first: ``phrase``,
    ``neg_reviews`` and ``pos_reviews`` (negative / positive reviews containing it), ``log_odds``, ``z``;
    ``boilerplate``, the phrases dropped as boilerplate; ``reviews``, ``{"negative": n, "positive": n, "all": n}``.
    """
    if not 0 < boilerplate_share <= 1:
        raise ValueError(f"boilerplate_share must be in (0, 1], got {boilerplate_share}")
    cols = ["phrase", "neg_reviews", "pos_reviews", "log_odds", "z"]
    sets = [review_phrases(t) for t in reviews[tokens_col]]
    bands = reviews[band_col].to_numpy()
    everywhere: Counter[str] = Counter()
    neg: Counter[str] = Counter()
    pos: Counter[str] = Counter()
    for s, b in zip(sets, bands):
        everywhere.update(s)
        if b == "negative":
            neg.update(s)
        elif b == "positive":
            pos.update(s)
    n_all = len(sets)
    boiler = sorted(p for p, n in everywhere.items() if n > boilerplate_share * n_all)
    for p in boiler:
        for c in (everywhere, neg, pos):
            c.pop(p, None)
    lo = weighted_log_odds(neg, pos, everywhere, prior_size=prior_size)
    lo = lo[(lo["z"] >= min_z) & (lo["count_a"] >= min_count)].head(top)
    out = pd.DataFrame(
        {
            "phrase": lo["term"],
            "neg_reviews": lo["count_a"],
            "pos_reviews": lo["count_b"],
            "log_odds": lo["log_odds"],
            "z": lo["z"],
        },
        columns=cols,
    ).reset_index(drop=True)
    counts = {"negative": int((bands == "negative").sum()), "positive": int((bands == "positive").sum()), "all": n_all}
    return ComplaintPhrases(out, boiler, counts)


def plot_words(kw: pd.DataFrame, *, title: str, ax=None, color="C0"):
    """Horizontal bars of the first 12 keywords of :func:`keywords` and their TF-IDF weights."""
    from .i18n import t
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
        xlabel=t("sentiment.keyword_weight_axis"),
        ylabel=t("sentiment.keyword_axis"),
    )
