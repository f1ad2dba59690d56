"""SnowNLP throughput: a plain loop of ``SnowNLP(text).sentiments`` vs the kit's fast path
(helpers/snownlp_fast.py, cold = including building its model tables, and warm) vs SnowNLP over all cores vs a
cached rerun; the plain loop and the fast path run back to back in the same process, so their ratio holds
even when other work loads the machine, and their scores are checked equal.

    .venv/bin/python bench/sentiment_bench.py [--n 10000]

Uses review texts from ../shared/data/online_shopping_10_cats when present, else the demo reviews.
Prints reviews/s per path and writes bench/out/sentiment.csv.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import pandas as pd  # noqa: E402
from common import write_rows  # noqa: E402

from helpers.sentiment import score_texts, snownlp_score  # noqa: E402


def texts(n: int) -> list[str]:
    p = ROOT.parent / "shared" / "data" / "online_shopping_10_cats" / "online_shopping_10_cats.csv"
    if p.exists():
        df = pd.read_csv(p).dropna(subset=["review"]).sample(n=n, random_state=3)
        return df["review"].astype(str).tolist()
    from helpers.demo import generate_demo

    d = tempfile.mkdtemp()
    generate_demo(d)
    r = pd.read_csv(Path(d) / "reviews.csv", encoding="gb18030")["评论内容"].dropna().astype(str)
    return (r.tolist() * (n // max(1, len(r)) + 1))[:n]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    a = ap.parse_args()
    t = texts(a.n)
    import snownlp  # noqa: F401  (import and model loading are not timed, for either path)

    from helpers.snownlp_fast import FastSnowNLP

    rows = []
    t0 = time.perf_counter()
    plain = [snownlp_score(x) for x in t]
    rows.append(("SnowNLP plain loop", time.perf_counter() - t0))
    t0 = time.perf_counter()
    fast_model = FastSnowNLP()
    fast = fast_model.scores(t)
    rows.append(("fast path, cold (incl. tables)", time.perf_counter() - t0))
    t0 = time.perf_counter()
    fast_model.scores(t)
    rows.append(("fast path, warm", time.perf_counter() - t0))
    assert max(abs(x - y) for x, y in zip(plain, fast)) <= 1e-9
    with tempfile.TemporaryDirectory() as d:
        cache = Path(d) / "c.parquet"
        t0 = time.perf_counter()
        par, st = score_texts(t, cache_path=cache, workers=os.cpu_count(), method="snownlp")
        rows.append((f"SnowNLP parallel, {st['workers']} workers", time.perf_counter() - t0))
        t0 = time.perf_counter()
        score_texts(t, cache_path=cache)
        rows.append(("cached rerun", time.perf_counter() - t0))
    assert max(abs(x - y) for x, y in zip(plain, par)) < 1e-12
    from helpers.sentiment import Tokenizer, train_domain_model

    tok = Tokenizer()
    labels = [int(x >= 0.5) for x in plain]  # any labels: this times scoring, not accuracy
    model = train_domain_model([tok.tokens(x) for x in t], labels)
    t0 = time.perf_counter()
    model.predict_proba([tok.tokens(x) for x in t])
    rows.append(("domain model (tokenise + predict)", time.perf_counter() - t0))
    out = []
    for name, sec in rows:
        out.append({"path": name, "reviews": len(t), "seconds": round(sec, 2), "reviews_per_s": round(len(t) / sec)})
        print(f"{name:<34} {len(t):>6} reviews {sec:8.2f} s {len(t) / sec:>10,.0f} reviews/s")
    sec = dict(rows)
    for name in ("fast path, cold (incl. tables)", "fast path, warm"):
        ratio = sec["SnowNLP plain loop"] / sec[name]
        print(f"speed-up of {name} over the plain SnowNLP loop (same process): {ratio:.1f}x")
    write_rows("sentiment", out)


if __name__ == "__main__":
    main()
