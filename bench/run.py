"""Scale benchmark: the kit's ingest, funnel, retention, RFM and user features against hand-written references
and a DuckDB scan floor, on synthetic Taobao-shaped logs of growing size.

    .venv/bin/python bench/run.py --rows 1000000 10000000 [100000000] [--repeat 3]
                                  [--impl kit polars ...] [--metric funnel rfm ...] [--markdown]

Metrics (docs of each implementation in bench/impl_*.py):

- ``ingest``: raw CSV (epoch seconds UTC) -> clean canonical Parquet. kit = ``helpers.ingest.ingest_campaign`` on a
  throwaway campaign (YAML under bench/out/work); references do the same cleaning (dedupe, required columns, period,
  known events, UTC -> Asia/Shanghai); floor = DuckDB ``COPY (SELECT casts FROM read_csv(...)) TO parquet``.
- ``funnel``: pv -> cart -> buy, 72 h window, ordered, best attempt per user (``helpers.funnel.funnel_users``).
- ``retention``: daily cohorts, users active on cohort day + n (``helpers.retention.cohort_counts``).
- ``rfm``: orders = buy events, each one order (the kit: ``order_id`` = the row's number in the file;
  ``helpers.rfm.rfm_table``).
- ``features``: per-user features over the 30 days, 30-minute sessions (``helpers.features.user_features``).

Implementations: ``kit``; ``pandas_naive`` (groupby().apply, a Python loop per user for funnel and sessions; skipped
above 50M rows); ``pandas_vec`` (vectorised pandas/numpy); ``polars`` (lazy, streaming engine where possible);
``duckdb_sql`` (hand-written SQL); ``floor`` (DuckDB: one scan of the needed columns and one GROUP BY user).

Protocol: every (impl, metric, rows) run is a fresh subprocess; its time covers reading the input (Parquet, or
the CSV for ingest) and producing the full result in memory (or the Parquet file for ingest), not the imports
(nor the garbage collection the imports leave due: ``gc.collect()`` runs before the timer, see :func:`child`);
seconds = median of ``--repeat`` runs (1 run at >= 100M rows); the implementations of a metric run in turns (kit,
polars, ..., kit, polars, ...) so that a slower spell of a shared machine hits them alike; peak RSS = the child's
``ru_maxrss`` (max over runs; it includes the interpreter and imports, ``base_rss_mib`` in the CSV). DuckDB-based
impls (kit included) get ``memory_limit`` 6GB and a spill folder under bench/out/spill; a watchdog kills a child
above ``--max-rss-gib``.
Checks: each reference's key numbers (users per funnel step; cohort users and retained users; RFM customers,
orders, monetary; features rows, sessions, ...) are compared with the kit's at every size; a mismatch is
printed loudly and the exit status is 1.

Writes bench/out/bench_<rows>.csv (merged with earlier runs of the same size: a rerun replaces its own
(impl, metric) rows) and bench/out/bench.csv (all sizes).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from common import OUT, Case  # noqa: E402

DATA = OUT / "data"
IMPLS = ("kit", "pandas_naive", "pandas_vec", "polars", "duckdb_sql", "floor")
REFERENCES = ("pandas_vec", "polars", "duckdb_sql")  # for "kit / fastest reference"
METRICS = ("ingest", "funnel", "retention", "rfm", "features")
NAIVE_MAX_ROWS = 50_000_000
SINGLE_RUN_ROWS = 100_000_000
FIELDS = (
    "rows",
    "metric",
    "impl",
    "status",
    "seconds",
    "runs",
    "rows_per_s",
    "peak_rss_mib",
    "base_rss_mib",
    "kit_over_floor",
    "naive_over_kit",
    "kit_over_best_ref",
    "best_ref",
    "check",
    "keys",
    "measured_at",
    "load_avg_1min",
    "kit_version",
    "note",
)


# ============================================================================================ child
def _registry(impl: str):
    """(metric -> timed function, metric -> untimed preparation) of an implementation; imports only its libs."""
    if impl == "kit":
        import impl_kit as m

        return m.METRICS, m.PREPARE
    if impl in ("pandas_naive", "pandas_vec"):
        import impl_pandas as m

        return (m.NAIVE if impl == "pandas_naive" else m.VEC), m.PREPARE
    if impl == "polars":
        import impl_polars as m

        return m.METRICS, m.PREPARE
    import impl_duckdb as m

    return (m.FLOOR if impl == "floor" else m.METRICS), m.PREPARE


def _case(rows: int, impl: str, metric: str) -> Case:
    tag = f"{impl}_{metric}_{rows}"
    return Case(
        rows=rows,
        parquet=DATA / f"events_{rows}.parquet",
        csv=DATA / f"events_{rows}.csv",
        work=OUT / "work" / tag,
        spill=OUT / "spill" / tag,
    )


def _to_pandas(result):
    import pandas as pd

    if isinstance(result, pd.DataFrame):
        return result
    return result.to_pandas()


def key_numbers(metric: str, result) -> dict:
    """The numbers every implementation of ``metric`` must agree on (computed after the timed part)."""
    if metric == "ingest":
        import duckdb

        n, users, lo, hi, buys = (
            duckdb.connect()
            .execute(
                "SET enable_progress_bar = false; "
                f"SELECT count(*), count(DISTINCT user_id), CAST(min(ts) AS VARCHAR), CAST(max(ts) AS VARCHAR), "
                f"count(*) FILTER (WHERE event = 'buy') FROM read_parquet('{result}')"
            )
            .fetchone()
        )
        return {"rows_out": n, "users": users, "ts_min": lo, "ts_max": hi, "buy_rows": buys}
    df = _to_pandas(result)
    if metric == "funnel":
        return {f"users_step{k}": int((df["reached"] >= k).sum()) for k in (1, 2, 3)}
    if metric == "retention":
        return {
            "cohort_users": int(df.loc[df["n"] == 0, "users"].sum()),
            "retained_user_days": int(df.loc[df["n"] >= 1, "users"].sum()),
            "cells": int(len(df)),
        }
    if metric == "rfm":
        return {
            "customers": int(len(df)),
            "orders": int(df["frequency"].sum()),
            "monetary": float(df["monetary"].sum()),
            "purchase_days": int(df["purchase_days"].sum()),
            "recency_days": int(df["recency_days"].sum()),
        }
    if metric == "features":
        return {
            "rows": int(len(df)),
            "n_events": int(df["n_events"].sum()),
            "sessions": int(df["sessions"].sum()),
            "active_days": int(df["active_days"].sum()),
            "n_categories": int(df["n_categories"].sum()),
            "preferred_hour": int(df["preferred_hour"].sum()),
            "n_buy": int(df["n_buy"].sum()),
            "spend": float(df["spend"].sum()),
            "mean_gap_hours": float(df["mean_gap_hours"].sum()),
            "trend": float(df["trend"].sum()),
            "evening_share": float(df["evening_share"].sum()),
            "days_since_last_event": float(df["days_since_last_event"].sum()),
        }
    raise ValueError(metric)


def child(impl: str, metric: str, rows: int) -> None:
    import gc
    import resource

    case = _case(rows, impl, metric)
    fns, prepare = _registry(impl)
    prep = prepare[metric](case) if metric in prepare else None
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # the imports are untimed, and so is the full collection they leave due: without this, the first ~1,000
    # allocations of the timed call set off a collection of the ~140,000 objects the kit's imports made (about
    # 0.08 s inside a 0.2 s 1M-event RFM, 2026-12-04), which the references, importing less, barely pay
    gc.collect()
    t0 = time.perf_counter()
    result = fns[metric](case, prep)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    keys = None if impl == "floor" else key_numbers(metric, result)
    shutil.rmtree(case.work, ignore_errors=True)
    shutil.rmtree(case.spill, ignore_errors=True)
    print("\nRESULT " + json.dumps({"seconds": seconds, "peak_kib": peak, "base_kib": base, "keys": keys}), flush=True)


# ============================================================================================ parent
def _watch(proc: subprocess.Popen, limit_bytes: int, flag: dict) -> None:
    """Kill ``proc`` when its resident memory exceeds ``limit_bytes`` (polled every 0.2 s)."""
    import psutil

    try:
        p = psutil.Process(proc.pid)
        while proc.poll() is None:
            if p.memory_info().rss > limit_bytes:
                flag["killed"] = True
                proc.kill()
                return
            time.sleep(0.2)
    except psutil.NoSuchProcess:
        return


def run_once(impl: str, metric: str, rows: int, *, timeout: float, max_rss_gib: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", impl, metric, str(rows)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    flag = {"killed": False}
    threading.Thread(target=_watch, args=(proc, int(max_rss_gib * 2**30), flag), daemon=True).start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"status": "timeout", "note": f"killed after {timeout:.0f} s"}
    finally:
        case = _case(rows, impl, metric)
        shutil.rmtree(case.work, ignore_errors=True)
        shutil.rmtree(case.spill, ignore_errors=True)
    if flag["killed"]:
        return {"status": "killed", "note": f"RSS above {max_rss_gib:g} GiB"}
    line = next((ln for ln in reversed(out.splitlines()) if "RESULT {" in ln), None)
    if proc.returncode != 0 or line is None:
        tail = " | ".join(err.strip().splitlines()[-3:])
        return {"status": "failed", "note": f"exit {proc.returncode}: {tail}"[:500]}
    return {"status": "ok", **json.loads(line[line.index("RESULT {") + len("RESULT ") :])}


def _kit_version() -> str:
    """``git describe``-like id of the measured helpers/: HEAD's short hash, ``+dirty`` when helpers/ has edits."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "helpers"], cwd=ROOT).returncode != 0
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


KIT_VERSION = ""


def _record(impl: str, metric: str, rows: int) -> dict:
    return {
        "rows": rows,
        "metric": metric,
        "impl": impl,
        "measured_at": dt.datetime.now().isoformat(timespec="seconds"),
        "load_avg_1min": round(os.getloadavg()[0], 2),  # other jobs on the machine make timings noisy
        "kit_version": KIT_VERSION,
    }


def measure(impls: list[str], metric: str, rows: int, repeat: int, args) -> list[dict]:
    """One record per implementation of ``metric``: ``repeat`` fresh-process runs each, taken in turns (kit,
    polars, ..., kit, polars, ...) so that a slower spell of a shared machine hits every implementation alike;
    the median is reported. An implementation whose run fails or is killed is not run again."""
    recs = {impl: _record(impl, metric, rows) for impl in impls}
    runs: dict[str, list[dict]] = {impl: [] for impl in impls}
    for impl in impls:
        if impl == "pandas_naive" and rows > NAIVE_MAX_ROWS:
            recs[impl] |= {
                "status": "skipped",
                "note": f"pandas_naive is skipped above {NAIVE_MAX_ROWS:,} rows "
                "(a Python loop per user; and the whole frame in memory)",
            }
    for _ in range(repeat):
        for impl in impls:
            if "status" in recs[impl]:  # skipped or failed
                continue
            r = run_once(impl, metric, rows, timeout=args.timeout, max_rss_gib=args.max_rss_gib)
            if r["status"] != "ok":
                recs[impl] |= {"status": r["status"], "note": r["note"]}
                continue
            runs[impl].append(r)
    for impl in impls:
        got = runs[impl]
        if "status" in recs[impl] or not got:
            continue
        sec = statistics.median(r["seconds"] for r in got)
        recs[impl] |= {
            "status": "ok",
            "seconds": round(sec, 3),
            "runs": ";".join(f"{r['seconds']:.3f}" for r in got),
            "rows_per_s": round(rows / sec),
            "peak_rss_mib": round(max(r["peak_kib"] for r in got) / 1024),
            "base_rss_mib": round(max(r["base_kib"] for r in got) / 1024),
            "keys": json.dumps(got[-1]["keys"]) if got[-1]["keys"] is not None else "",
        }
    return [recs[impl] for impl in impls]


# ============================================================================================ results
def _num(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _compare(ref: dict, other: dict) -> list[str]:
    bad = []
    for k, v in ref.items():
        w = other.get(k)
        if isinstance(v, float) or isinstance(w, float):
            ok = w is not None and math.isclose(float(v), float(w), rel_tol=1e-6, abs_tol=1e-6)
        else:
            ok = v == w
        if not ok:
            bad.append(f"{k} {w} vs kit {v}")
    return bad


def annotate(recs: list[dict]) -> list[str]:
    """Fill ratios and checks of the records of one size in place; return the mismatch messages."""
    mismatches = []
    for metric in METRICS:
        by = {r["impl"]: r for r in recs if r["metric"] == metric}
        sec = {i: _num(r.get("seconds")) for i, r in by.items() if r.get("status") == "ok"}
        kit, kit_keys = sec.get("kit"), by.get("kit", {}).get("keys") or ""
        refs = {i: s for i, s in sec.items() if i in REFERENCES and s}
        best = min(refs, key=refs.get) if refs else None
        for impl, r in by.items():
            for f in ("kit_over_floor", "naive_over_kit", "kit_over_best_ref", "best_ref", "check"):
                r[f] = ""
            if impl == "kit" and kit:
                if sec.get("floor"):
                    r["kit_over_floor"] = round(kit / sec["floor"], 2)
                if sec.get("pandas_naive"):
                    r["naive_over_kit"] = round(sec["pandas_naive"] / kit, 2)
                if best:
                    r["kit_over_best_ref"], r["best_ref"] = round(kit / refs[best], 2), best
            if r.get("status") != "ok":
                r["check"] = r.get("status", "")
            elif impl == "kit":
                r["check"] = "baseline"
            elif impl == "floor":
                r["check"] = "n/a (not the metric)"
            elif not kit_keys:
                r["check"] = "no kit result"
            else:
                bad = _compare(json.loads(kit_keys), json.loads(r["keys"]))
                r["check"] = "ok" if not bad else "MISMATCH: " + "; ".join(bad)
                if bad:
                    mismatches.append(f"{impl} {metric} {int(r['rows']):,} rows: " + "; ".join(bad))
    return mismatches


def _order(r: dict):
    return (int(r["rows"]), METRICS.index(r["metric"]), IMPLS.index(r["impl"]))


def _read_csv(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return [dict(r) for r in csv.DictReader(fh)]


def _write_csv(path: Path, recs: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS, extrasaction="ignore")
        w.writeheader()
        w.writerows(sorted(recs, key=_order))


def merge_and_write(rows: int, new: list[dict]) -> tuple[list[dict], list[str]]:
    """Merge this run's records into bench/out/bench_<rows>.csv, annotate, rewrite it and bench/out/bench.csv."""
    path = OUT / f"bench_{rows}.csv"
    done = {(r["metric"], r["impl"]) for r in new}
    recs = [r for r in _read_csv(path) if (r["metric"], r["impl"]) not in done] + new
    mismatches = annotate(recs)
    _write_csv(path, recs)
    allrecs = []
    for p in sorted(OUT.glob("bench_*.csv")):
        if p.stem.removeprefix("bench_").isdigit():
            allrecs += _read_csv(p)
    _write_csv(OUT / "bench.csv", allrecs)
    return recs, mismatches


def _fmt_ratio(x) -> str:
    v = _num(x)
    return "" if v is None else f"{v:.2f}"


def table_rows(recs: list[dict], fresh: set) -> list[list[str]]:
    out = []
    for r in sorted(recs, key=_order):
        ok = r.get("status") == "ok"
        star = "" if (r["metric"], r["impl"]) in fresh else "*"
        best = f"{_fmt_ratio(r.get('kit_over_best_ref'))} ({r['best_ref']})" if r.get("best_ref") else ""
        out.append(
            [
                r["impl"] + star,
                r["metric"],
                f"{int(r['rows']):,}",
                f"{float(r['seconds']):.2f}" if ok else r.get("status", ""),
                f"{int(float(r['rows_per_s'])):,}" if ok else "",
                f"{int(float(r['peak_rss_mib'])):,}" if ok else "",
                _fmt_ratio(r.get("kit_over_floor")),
                _fmt_ratio(r.get("naive_over_kit")),
                best,
                r.get("check", "") if ok or not r.get("note") else r["note"],
            ]
        )
    return out


HEADER = [
    "impl",
    "metric",
    "rows",
    "seconds",
    "rows/s",
    "peak RSS MiB",
    "kit/floor",
    "naive/kit",
    "kit/fastest ref",
    "check",
]


def render(rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = [
            "| " + " | ".join(HEADER) + " |",
            "|" + "|".join("---" if i < 2 else "--:" for i in range(len(HEADER) - 1)) + "|---|",
        ]
        lines += ["| " + " | ".join(c.replace("|", "/") for c in r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(HEADER)]
    widths[-1] = len(HEADER[-1])

    def fmt(r):
        return "  ".join(
            c.ljust(w) if i in (0, 1, len(r) - 1) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))
        )

    return "\n".join([fmt(HEADER), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows])


# ============================================================================================ main
def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement, median reported (1 at >= 100M)")
    ap.add_argument("--impl", nargs="+", choices=IMPLS, default=list(IMPLS))
    ap.add_argument("--metric", nargs="+", choices=METRICS, default=list(METRICS))
    ap.add_argument("--markdown", action="store_true", help="print the result table as Markdown")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds before a run is killed")
    ap.add_argument(
        "--max-rss-gib",
        type=float,
        default=14,
        help="kill a run whose RSS exceeds this (the machine has 24 GiB, shared)",
    )
    ap.add_argument(
        "--from-csv",
        action="store_true",
        help="measure nothing: print the stored table of each --rows from bench/out/bench_<rows>.csv",
    )
    ap.add_argument("--child", nargs=3, metavar=("IMPL", "METRIC", "ROWS"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child[0], a.child[1], int(a.child[2]))
        return
    if a.from_csv:
        printed = []
        for rows in a.rows:
            recs = [r for r in _read_csv(OUT / f"bench_{rows}.csv") if r["metric"] in a.metric and r["impl"] in a.impl]
            annotate(recs)
            printed += table_rows(recs, {(r["metric"], r["impl"]) for r in recs})
        print(render(printed, a.markdown))
        return
    from generate import write

    global KIT_VERSION
    KIT_VERSION = _kit_version()
    impls = [i for i in IMPLS if i in a.impl]
    metrics = [m for m in METRICS if m in a.metric]
    all_mismatches, printed = [], []
    for rows in a.rows:
        print(f"== {rows:,} rows: data", flush=True)
        write(rows, DATA, csv="ingest" in metrics)
        repeat = 1 if rows >= SINGLE_RUN_ROWS else a.repeat
        new = []
        for metric in metrics:
            t0 = time.perf_counter()
            for rec in measure(impls, metric, rows, repeat, a):
                new.append(rec)
                what = (
                    f"{rec['seconds']:8.2f} s  {rec['peak_rss_mib']:>6,} MiB"
                    if rec["status"] == "ok"
                    else f"{rec['status']}: {rec.get('note', '')}"
                )
                print(f"   {metric:<9} {rec['impl']:<12} {what}", flush=True)
            print(
                f"   {metric:<9} [{time.perf_counter() - t0:.0f} s wall, {repeat} run{'s' if repeat > 1 else ''} "
                "of each, in turns]",
                flush=True,
            )
        recs, mismatches = merge_and_write(rows, new)
        all_mismatches += mismatches
        fresh = {(r["metric"], r["impl"]) for r in new}
        printed += table_rows([r for r in recs if r["metric"] in metrics], fresh)
    print()
    print(render(printed, a.markdown))
    print()
    print(
        f"seconds: median of {a.repeat} runs (1 at >= {SINGLE_RUN_ROWS:,} rows), each a fresh process; reading the "
        "Parquet log (the CSV for ingest) is inside the time for every impl. Peak RSS: the run's ru_maxrss, "
        "interpreter and imports included. kit/fastest ref: against the fastest of "
        f"{', '.join(REFERENCES)}. * = from an earlier run (bench/out/bench_<rows>.csv)."
    )
    skipped = [r for r in printed if r[3] == "skipped"]
    if skipped:
        print(
            "skipped: "
            + "; ".join(f"{r[0]} {r[1]} at {r[2]} rows" for r in skipped)
            + f" (pandas_naive runs only up to {NAIVE_MAX_ROWS:,} rows)"
        )
    print(f"helpers/ measured at {KIT_VERSION}; wrote {OUT / 'bench.csv'} and bench_<rows>.csv")
    if all_mismatches:
        bar = "!" * 100
        print(f"\n{bar}\nCHECK MISMATCH: a reference disagrees with the kit\n" + "\n".join(all_mismatches) + f"\n{bar}")
        sys.exit(1)


if __name__ == "__main__":
    main()
