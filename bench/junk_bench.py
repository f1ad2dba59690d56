"""Ingest of 1M rows of random junk in bounded memory (issue 13): time and peak RSS.

    .venv/bin/python bench/junk_bench.py [--rows 1000000] [--memory-limit 1GB] [--seed 0] [--format csv|jsonl]

The file mixes good rows with garbage lines, lines of another encoding (GBK), stray bytes, unbalanced and
doubled quotes, quoted newlines, short and wide rows, over-long fields and empty values. Ingest runs in a child
process so that its peak RSS (``ru_maxrss``) is measured alone. Prints one line of numbers and appends it to
bench/out/junk.csv. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PARAMS = """
campaign: junk
title: junk
timezone: Asia/Shanghai
period: {{start: 2024-01-01, end: 2024-01-31}}
ingest: {{memory_limit: {mem}}}
tables:
  events:
    source: {{path: "{path}", max_line_size: 1048576, delimiter: ","}}
    columns: {{user_id: user, event: event, ts: ts, amount: amount}}
"""


def _junk_line(rng: random.Random, i: int, fmt: str) -> bytes:
    good = {
        "user": f"u{rng.randrange(50_000)}",
        "event": rng.choice(["view", "cart", "buy", "浏览", ""]),
        "ts": f"2024-01-{rng.randrange(1, 32):02d} {rng.randrange(24):02d}:{rng.randrange(60):02d}:00",
        "amount": rng.choice(["12.5", "1,200.00", "abc", "", "-3", str(rng.random() * 100)]),
    }
    kind = rng.random()
    if fmt == "jsonl":
        if kind < 0.80:
            if rng.random() < 0.3:
                good["user"] = rng.randrange(50_000)  # mixed types
            return json.dumps(good, ensure_ascii=False).encode() + b"\n"
        if kind < 0.85:
            return json.dumps(good, ensure_ascii=False).encode("gbk", "replace")[:-3] + "好".encode("gbk") + b"}\n"
        if kind < 0.90:
            return b'{"user": "u' + bytes([rng.randrange(128, 256)]) + b'"}\n'
        return bytes(rng.randrange(32, 127) for _ in range(rng.randrange(1, 80))) + b"\n"
    if kind < 0.80:
        row = list(good.values())
        if rng.random() < 0.02:
            row.append('multi\nline "quoted" review')
        out = []
        for v in row:
            out.append('"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\n') else v)
        return ",".join(out).encode() + b"\n"
    if kind < 0.84:
        return ",".join(good.values()).encode("gbk", "replace") + "，好".encode("gbk") + b"\n"
    if kind < 0.87:
        return f"{good['user']},view,{good['ts']},1\xff".encode("latin-1") + b"\n"
    if kind < 0.90:
        return f'{good["user"]},vi"ew,{good["ts"]},1'.encode() + b"\n"  # a stray quote inside a field
    if kind < 0.93:
        return f"{good['user']},view".encode() + b"\n"  # short row
    if kind < 0.96:
        return ",".join([good["user"], "view", good["ts"], "1", "x", "y", "z"]).encode() + b"\n"  # wide row
    if kind < 0.96001:  # over max_line_size: about 10 lines per million
        return f"{good['user']},view,{good['ts']},{'x' * 2_000_000}".encode() + b"\n"
    return bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 120))).replace(b"\n", b" ") + b"\n"


def generate(path: Path, rows: int, seed: int, fmt: str) -> None:
    rng = random.Random(seed)
    with open(path, "wb") as fh:
        if fmt == "csv":
            fh.write(b"user,event,ts,amount\n")
        for i in range(rows):
            fh.write(_junk_line(rng, i, fmt))


def child(params: str, out: str) -> None:
    import resource

    sys.path.insert(0, str(ROOT))
    from helpers.ingest import ingest_campaign
    from helpers.locations import campaign_paths
    from helpers.params import load_params

    cfg = load_params(params)
    paths = campaign_paths(cfg.campaign, Path(out))
    t0 = time.perf_counter()
    rep = ingest_campaign(cfg, paths, progress=False)["events"]
    sec = time.perf_counter() - t0
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "rows_in": rep.rows_in,
                "rows_out": rep.rows_out,
                "quarantined": rep.rows_quarantined,
                "reasons": rep.reasons,
                "seconds": round(sec, 2),
                "peak_rss_mib": round(peak_mib, 1),
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--memory-limit", default="1GB")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(*a.child)
        return
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / f"junk.{a.format}"
        t0 = time.perf_counter()
        generate(src, a.rows, a.seed, a.format)
        gen_s = time.perf_counter() - t0
        (Path(d) / "params").mkdir()
        params = Path(d) / "params" / "junk.yaml"
        params.write_text(PARAMS.format(path=src, mem=a.memory_limit), encoding="utf-8")
        res = subprocess.run(
            [sys.executable, __file__, "--child", str(params), str(Path(d) / "reports")],
            capture_output=True,
            text=True,
            check=False,
        )
        if res.returncode:
            sys.exit(res.stderr[-3000:])
        out = json.loads(res.stdout.strip().splitlines()[-1])
        out.update(
            format=a.format, rows=a.rows, file_mib=round(src.stat().st_size / 2**20, 1), memory_limit=a.memory_limit
        )
        out["generate_seconds"] = round(gen_s, 1)
        assert out["rows_in"] == out["rows_out"] + out["quarantined"]
        print(json.dumps(out, ensure_ascii=False))
        dest = ROOT / "bench" / "out" / "junk.csv"
        dest.parent.mkdir(exist_ok=True)
        new = not dest.exists()
        with open(dest, "a", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(out))
            if new:
                w.writeheader()
            w.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v for k, v in out.items()})


if __name__ == "__main__":
    main()
