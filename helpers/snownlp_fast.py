"""SnowNLP's stock sentiment score, ``SnowNLP(text).sentiments``, computed for many texts at once with the same
numbers (docs/sentiment.md, "Fast SnowNLP scores").

SnowNLP scores a text in three steps: segmentation (``snownlp.seg``: Chinese runs ``[\\u4E00-\\u9FA5]+`` are cut
by a character-based generative tagger, a second-order HMM over the tags b/m/e/s decoded by Viterbi; other
pieces are split on whitespace), stopword filtering (``snownlp.normal.filter_stop``) and a naive Bayes classifier
(``snownlp.classification.bayes``). Here:

- the Viterbi runs over all distinct Chinese runs at once (numpy, one character position at a time), with the
  transition log-probabilities taken from tables built once per distinct character bigram / trigram of the
  batch; every log-probability is computed by SnowNLP's own formula (same float operations, ``math.log``), the
  path sums are the same additions in the same order, and ties resolve as SnowNLP's dict order resolves them
  (first predecessor in b, m, e, s order wins; a character unknown to the model keeps the last predecessor);
- the Bayes step reuses ``log(freq(word))`` per word and class from a cache, summing in the same order as
  SnowNLP's ``Bayes.classify``.

The scores are therefore the same floats as SnowNLP's (tests/test_snownlp_fast.py compares them).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import numpy as np

__all__ = ["fast_scores", "segment", "FastSnowNLP"]

_RE_ZH = re.compile("([\u4e00-\u9fa5]+)")
_TAGS = ("b", "m", "e", "s")  # CharacterBasedGenerativeModel.status, in its order
_TAG_INDEX = {t: i for i, t in enumerate(_TAGS)}
_BOS = ("", "BOS")
_NEG_INF = float("-inf")


class FastSnowNLP:
    """SnowNLP's segmentation + sentiment model, vectorised. Built from the loaded SnowNLP objects (so the
    numbers are the model SnowNLP itself uses); caches grow with the distinct characters, bigrams and words
    seen."""

    def __init__(self) -> None:
        from snownlp import normal, sentiment
        from snownlp import seg as snow_seg

        self.model = snow_seg.segger.segger  # CharacterBasedGenerativeModel
        self.stop = normal.stop
        self.bayes = sentiment.classifier.classifier  # Bayes
        m = self.model
        self.l1, self.l2, self.l3 = m.l1, m.l2, m.l3
        self.uni_d, self.bi_d, self.tri_d = m.uni.d, m.bi.d, m.tri.d
        self.uni_total = m.uni.total
        # model entries grouped by their characters (tags as 0..3); BOS entries are left to log_prob itself
        bi_g: dict[str, list] = {}
        for (s2, s3), c in self.bi_d.items():
            if s2[1] in _TAG_INDEX and s3[1] in _TAG_INDEX:
                bi_g.setdefault(s2[0] + s3[0], []).append((_TAG_INDEX[s2[1]], _TAG_INDEX[s3[1]], s2, s3, c))
        tri_g: dict[str, list] = {}
        tri_bos: dict[str, list] = {}  # trigrams (BOS, (c0, a), (c1, b)), by c0 + c1
        for (s1, s2, s3), c in self.tri_d.items():
            if s1 == _BOS and s2[1] in _TAG_INDEX and s3[1] in _TAG_INDEX:
                tri_bos.setdefault(s2[0] + s3[0], []).append((_TAG_INDEX[s2[1]], _TAG_INDEX[s3[1]], s1, s2, s3, c))
            elif s1[1] in _TAG_INDEX and s2[1] in _TAG_INDEX and s3[1] in _TAG_INDEX:
                tri_g.setdefault(s1[0] + s2[0] + s3[0], []).append(
                    (_TAG_INDEX[s1[1]], _TAG_INDEX[s2[1]], _TAG_INDEX[s3[1]], s1, s2, s3, c)
                )
        self.bi_g, self.tri_g, self.tri_bos = bi_g, tri_g, tri_bos
        self._uni_lp: dict[str, tuple[list[float], bool]] = {}  # char -> (lp per tag, found)
        self._bi_lp: dict[str, np.ndarray] = {}  # c2+c3 -> (4, 4) lp[a, b]
        self._tri_lp: dict[str, np.ndarray | None] = {}  # c1+c2+c3 -> (4, 4, 4) lp[t1, a, b] or None
        self._first: dict[str, list[float]] = {}  # c0 -> lp(BOS, BOS, (c0, b))
        self._second: dict[str, np.ndarray] = {}  # c0+c1 -> lp(BOS, (c0, a), (c1, b))
        self._seg_cache: dict[str, list[str]] = {}
        self._word_lp: dict[str, tuple[float, ...]] = {}
        self._classes = list(self.bayes.d)
        self._prior = {k: math.log(self.bayes.d[k].getsum()) - math.log(self.bayes.total) for k in self._classes}

    # --- log-probabilities, by SnowNLP's formula -------------------------------------------------------------

    def _lp(self, u3: int, b23: int, u2: int, t123: int, b12: int) -> float:
        """CharacterBasedGenerativeModel.log_prob from the counts: uni(s3), bi(s2, s3), uni(s2), tri(s1..s3),
        bi(s1, s2); same operations in the same order."""
        uni = self.l1 * (float(u3) / self.uni_total)
        bi = float(self.l2 * b23) / u2 if u2 != 0 else 0
        tri = float(self.l3 * t123) / b12 if b12 != 0 else 0
        s = uni + bi + tri
        return _NEG_INF if s == 0 else math.log(s)

    def _uni(self, ch: str) -> tuple[list[float], bool]:
        r = self._uni_lp.get(ch)
        if r is None:
            counts = [self.uni_d.get((ch, t), 0) for t in _TAGS]
            r = ([self._lp(c, 0, 0, 0, 0) for c in counts], any(c != 0 for c in counts))
            self._uni_lp[ch] = r
        return r

    def _bi(self, key: str) -> np.ndarray:
        r = self._bi_lp.get(key)
        if r is None:
            base = self._uni(key[1])[0]
            r = np.array([base] * 4, dtype=float)
            for a, b, s2, s3, c in self.bi_g.get(key, ()):
                r[a, b] = self._lp(self.uni_d.get(s3, 0), c, self.uni_d.get(s2, 0), 0, 0)
            self._bi_lp[key] = r
        return r

    def _tri(self, key: str) -> np.ndarray | None:
        if key in self._tri_lp:
            return self._tri_lp[key]
        ents = self.tri_g.get(key)
        r = None
        if ents:
            r = np.broadcast_to(self._bi(key[1:]), (4, 4, 4)).copy()
            for t1, a, b, s1, s2, s3, c in ents:
                r[t1, a, b] = self._lp(
                    self.uni_d.get(s3, 0),
                    self.bi_d.get((s2, s3), 0),
                    self.uni_d.get(s2, 0),
                    c,
                    self.bi_d.get((s1, s2), 0),
                )
        self._tri_lp[key] = r
        return r

    def _first_lp(self, c0: str) -> list[float]:
        r = self._first.get(c0)
        if r is None:
            r = [self.model.log_prob(_BOS, _BOS, (c0, t)) for t in _TAGS]
            self._first[c0] = r
        return r

    def _second_lp(self, key: str) -> np.ndarray:
        r = self._second.get(key)
        if r is None:  # as _tri with s1 = BOS: the bigram table where no (BOS, s2, s3) trigram was counted
            r = self._bi(key).copy()
            for a, b, s1, s2, s3, c in self.tri_bos.get(key, ()):
                r[a, b] = self._lp(
                    self.uni_d.get(s3, 0),
                    self.bi_d.get((s2, s3), 0),
                    self.uni_d.get(s2, 0),
                    c,
                    self.bi_d.get((s1, s2), 0),
                )
            self._second[key] = r
        return r

    # --- segmentation ----------------------------------------------------------------------------------------

    def _viterbi(self, runs: list[str]) -> list[list[int]]:
        """Tag indices of each run (all Chinese characters), as CharacterBasedGenerativeModel.tag decodes."""
        order = sorted(range(len(runs)), key=lambda i: -len(runs[i]))
        srt = [runs[i] for i in order]
        lens = np.array([len(r) for r in srt])
        n_all = len(srt)
        max_len = int(lens[0]) if n_all else 0
        found = {}
        for r in srt:
            for ch in r:
                if ch not in found:
                    found[ch] = self._uni(ch)[1]
        # position 0: states b; position 1: states (a, b) from (BOS, a)
        p0 = np.array([[0.0] * 4 if not found[r[0]] else self._first_lp(r[0]) for r in srt], dtype=float)
        bps: list[np.ndarray] = []
        prev = None  # (n, 4, 4): prob of state (t_{i-1}, t_i)
        finals: list[tuple[int | None, int]] = [(None, 0)] * n_all  # (t_{L-2}, t_{L-1}) of each run
        n1 = int(np.searchsorted(-lens, -1, side="left"))  # runs with length > 1 are the first n1
        for k in range(n1, n_all):
            finals[k] = (None, int(np.argmax(p0[k])))
        if n1:
            p1 = np.empty((n1, 4, 4))
            for k in range(n1):
                r = srt[k]
                if found[r[1]]:
                    p1[k] = p0[k][:, None] + self._second_lp(r[:2])
                else:
                    p1[k] = p0[k][:, None]
            prev = p1
        for i in range(2, max_len):
            n = int(np.sum(lens > i))
            if prev is not None and n < len(prev):
                self._finish(prev[n:], finals, n)
            prev = prev[:n]  # type: ignore[index]
            lp = np.empty((n, 4, 4, 4))
            nf = np.zeros(n, dtype=bool)
            for k in range(n):
                r = srt[k]
                if not found[r[i]]:
                    nf[k] = True
                    lp[k] = 0.0
                    continue
                t = self._tri(r[i - 2 : i + 1])
                lp[k] = t if t is not None else self._bi(r[i - 1 : i + 1])
            cand = prev[:, :, :, None] + lp  # (n, t_{i-2}, t_{i-1}, t_i)
            bp = np.argmax(cand, axis=1)  # first maximum: SnowNLP keeps the first predecessor on ties
            cur = np.take_along_axis(cand, bp[:, None], axis=1)[:, 0]
            if nf.any():  # an unknown character: each state keeps the last predecessor, probability unchanged
                bp[nf] = 3
                cur[nf] = np.broadcast_to(prev[nf][:, 3, :, None], (int(nf.sum()), 4, 4))
            bps.append(bp.astype(np.int8))
            prev = cur
        if prev is not None and len(prev):
            self._finish(prev, finals, 0)
        tags: list[list[int]] = [[0] * len(r) for r in srt]
        for k in range(n_all):
            last2, last = finals[k]
            tags[k][-1] = last
            if last2 is not None:
                tags[k][-2] = last2
        for i in range(max_len - 1, 1, -1):
            bp = bps[i - 2]
            for k in range(len(bp)):
                tk = tags[k]
                tk[i - 2] = int(bp[k, tk[i - 1], tk[i]])
        out: list[list[int]] = [[]] * n_all
        for k, i in enumerate(order):
            out[i] = tags[k]
        return out

    @staticmethod
    def _finish(p: np.ndarray, finals: list, start: int) -> None:
        """Best final state of runs ``start ..``: the first maximum in SnowNLP's state order (t_last, t_prev)."""
        idx = np.argmax(p.transpose(0, 2, 1).reshape(len(p), 16), axis=1)
        for j, x in enumerate(idx):
            finals[start + j] = (int(x) % 4, int(x) // 4)

    def _segment_runs(self, runs: Iterable[str]) -> None:
        todo = [r for r in dict.fromkeys(runs) if r not in self._seg_cache]
        if not todo:
            return
        for run, tags in zip(todo, self._viterbi(todo)):
            words, tmp = [], ""
            for ch, t in zip(run, tags):
                if t == 2:  # e
                    words.append(tmp + ch)
                    tmp = ""
                elif t == 0 or t == 3:  # b, s
                    if tmp:
                        words.append(tmp)
                    tmp = ch
                else:
                    tmp += ch
            if tmp:
                words.append(tmp)
            self._seg_cache[run] = words

    @staticmethod
    def _pieces(text: str) -> list[tuple[bool, str]]:
        """snownlp.seg.seg's split: (is a Chinese run, piece)."""
        out = []
        for s in _RE_ZH.split(text):
            s = s.strip()
            if s:
                out.append((bool(_RE_ZH.match(s)), s))
        return out

    def segment_many(self, texts: list[str]) -> list[list[str]]:
        """``snownlp.seg.seg(text)`` for each text."""
        pieces = [self._pieces(t) for t in texts]
        self._segment_runs(s for ps in pieces for zh, s in ps if zh)
        out = []
        for ps in pieces:
            words: list[str] = []
            for zh, s in ps:
                if zh:
                    words += self._seg_cache[s]
                else:
                    words += [w for w in s.split() if w.strip()]
            out.append(words)
        return out

    # --- naive Bayes -----------------------------------------------------------------------------------------

    def _word(self, w: str) -> tuple[float, ...]:
        r = self._word_lp.get(w)
        if r is None:
            r = tuple(math.log(self.bayes.d[k].freq(w)) for k in self._classes)
            self._word_lp[w] = r
        return r

    def classify(self, words: list[str]) -> float:
        """snownlp.sentiment.Sentiment.classify on segmented words: stopwords dropped, Bayes.classify, the
        probability of 'pos'. Same float operations in the same order."""
        stop = self.stop
        ws = [self._word(w) for w in words if w not in stop]
        tmp = {}
        for j, k in enumerate(self._classes):
            v = self._prior[k]
            for x in ws:
                v += x[j]
            tmp[k] = v
        ret, prob = 0, 0.0
        for k in self._classes:
            now = 0.0
            try:
                for otherk in self._classes:
                    now += math.exp(tmp[otherk] - tmp[k])
                now = 1 / now
            except OverflowError:
                now = 0
            if now > prob:
                ret, prob = k, now
        return prob if ret == "pos" else 1 - prob

    def scores(self, texts: list[str], *, batch: int = 5000) -> np.ndarray:
        out = np.empty(len(texts), dtype=float)
        for lo in range(0, len(texts), batch):
            for j, words in enumerate(self.segment_many(texts[lo : lo + batch])):
                out[lo + j] = self.classify(words)
            self._seg_cache.clear()  # bounded memory: the per-bigram tables stay
        return out


_INSTANCE: FastSnowNLP | None = None


def _instance() -> FastSnowNLP:
    global _INSTANCE
    if _INSTANCE is None:
        _INSTANCE = FastSnowNLP()
    return _INSTANCE


def fast_scores(texts: list[str]) -> np.ndarray:
    """``SnowNLP(t).sentiments`` for each text (the same floats), computed in batches."""
    return _instance().scores([str(t) for t in texts])


def segment(texts: list[str]) -> list[list[str]]:
    """``SnowNLP(t).words`` for each text."""
    return _instance().segment_many([str(t) for t in texts])
