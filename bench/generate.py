"""Synthetic event logs shaped like Taobao UserBehavior: pv/fav/cart/buy, Zipf-like users, 30 days.

    .venv/bin/python bench/generate.py --rows 10000000 [--csv] [--out bench/out/data] [--chunk-rows 5000000]

Writes ``events_<rows>.parquet`` (canonical columns: ``user_id`` string, ``event`` string, ``ts`` naive
campaign-local timestamp in seconds, ``item_id`` string, ``category`` string, ``amount`` double, null except on
``buy``) and, with ``--csv``, ``events_<rows>.csv``, the raw form
(``user_id,item_id,category_id,behavior_type,timestamp``; ``timestamp`` = epoch seconds UTC; the campaign time
zone is Asia/Shanghai, so local = UTC + 8 h).

Distribution: ``max(100, rows // 100)`` users with activity weights ``1 / rank ** 0.8``; each user has a first
day uniform over the 30 days and events on ``first day + Geometric(0.15) - 1`` (capped at the last day), at a
uniform second of the day; events pv/fav/cart/buy with probabilities 0.895/0.03/0.055/0.02; items uniform over
500,000 ids, category = item % 5,000; buy amounts Gamma(2, 40) rounded to cents.

Streaming: the per-user event counts are drawn first (one multinomial, the same law as drawing each row's user
independently); users are then taken in the order of their id strings and cut into chunks of about
``chunk_rows`` rows, each generated with its own RNG seeded by ``(seed, chunk number)``, sorted by
(``user_id``, ``ts``) and appended to the Parquet and CSV writers. Memory is bounded by one chunk (about 1.5 GB
at 5M rows) whatever ``rows`` is, and both files come out sorted by (``user_id``, ``ts``). Output is a
function of (``rows``, ``seed``, ``chunk_rows``): reruns give the same files.
"""

from __future__ import annotations

import argparse
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "out" / "data"

EVENTS = ("pv", "fav", "cart", "buy")
EVENT_P = (0.895, 0.03, 0.055, 0.02)
N_ITEMS, N_CATEGORIES = 500_000, 5_000
START = "2024-03-01"
DAYS = 30
UTC_OFFSET_S = 8 * 3600  # Asia/Shanghai, no DST since 1991
CHUNK_ROWS = 5_000_000

PARQUET_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("event", pa.string()),
        ("ts", pa.timestamp("s")),
        ("item_id", pa.string()),
        ("category", pa.string()),
        ("amount", pa.float64()),
    ]
)
CSV_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("item_id", pa.string()),
        ("category_id", pa.string()),
        ("behavior_type", pa.string()),
        ("timestamp", pa.int64()),
    ]
)
# bytes per row on disk (14.3 and 30.5 measured at 10M and 20M rows), used for the free-space check (with a margin)
_BYTES_PER_ROW = {"parquet": 15, "csv": 31}


def n_users_for(rows: int) -> int:
    """Number of distinct users for a log of ``rows`` events."""
    return max(100, rows // 100)


def chunks(rows: int, *, seed: int = 7, chunk_rows: int = CHUNK_ROWS) -> Iterator[tuple[pa.Table, pa.Table]]:
    """Yield ``(canonical, raw)`` Arrow tables of about ``chunk_rows`` rows each, in (user_id, ts) order.

    ``canonical`` has the Parquet schema (:data:`PARQUET_SCHEMA`), ``raw`` the CSV one (:data:`CSV_SCHEMA`).
    """
    n_users = n_users_for(rows)
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n_users + 1) ** 0.8  # Zipf-like: a few heavy users, many light ones
    counts = rng.multinomial(rows, weights / weights.sum())
    first_day = rng.integers(0, DAYS, size=n_users)
    ids = np.arange(n_users).astype(str)
    order = np.argsort(ids, kind="stable")  # users in the order of their id strings
    user_str = pa.array(ids, type=pa.string())
    item_str = pa.array(np.arange(N_ITEMS).astype(str), type=pa.string())
    cat_str = pa.array(np.arange(N_CATEGORIES).astype(str), type=pa.string())
    ev_str = pa.array(EVENTS, type=pa.string())
    cum = np.cumsum(counts[order])
    bounds = np.searchsorted(cum, np.arange(chunk_rows, rows, chunk_rows), side="left") + 1
    bounds = np.unique(np.concatenate([[0], bounds, [n_users]]))
    t0 = np.datetime64(START, "s").astype("int64")
    for k, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        crng = np.random.default_rng([seed, k])
        users = order[lo:hi]
        c = counts[users]
        u = np.repeat(users, c)
        pos = np.repeat(np.arange(lo, hi), c)  # rank of the user id string: sorts like user_id
        n = len(u)
        day = np.minimum(DAYS - 1, first_day[u] + crng.geometric(0.15, size=n) - 1)
        ts = t0 + day * 86400 + crng.integers(0, 86400, size=n)
        srt = np.lexsort((ts, pos))
        u, ts = u[srt], ts[srt]
        ev = crng.choice(len(EVENTS), size=n, p=EVENT_P)
        item = crng.integers(0, N_ITEMS, size=n)
        amount = np.round(crng.gamma(2.0, 40.0, size=n), 2)
        uid = user_str.take(pa.array(u))
        evs = ev_str.take(pa.array(ev))
        iid = item_str.take(pa.array(item))
        cat = cat_str.take(pa.array(item % N_CATEGORIES))
        canonical = pa.Table.from_arrays(
            [
                uid,
                evs,
                pa.array(ts.astype("datetime64[s]"), type=pa.timestamp("s")),
                iid,
                cat,
                pa.array(amount, mask=ev != EVENTS.index("buy"), type=pa.float64()),
            ],
            schema=PARQUET_SCHEMA,
        )
        raw = pa.Table.from_arrays(
            [uid, iid, cat, evs, pa.array(ts - UTC_OFFSET_S, type=pa.int64())], schema=CSV_SCHEMA
        )
        yield canonical, raw


def generate(rows: int, *, seed: int = 7, chunk_rows: int = CHUNK_ROWS) -> pd.DataFrame:
    """The whole canonical log as one pandas DataFrame (small sizes only: it holds every row)."""
    return pa.concat_tables([c for c, _ in chunks(rows, seed=seed, chunk_rows=chunk_rows)]).to_pandas()


def _check_space(out: Path, need: int) -> None:
    free = shutil.disk_usage(out).free
    if free < need * 1.2 + (2 << 30):
        raise SystemExit(
            f"{out}: {free / 2**30:.1f} GiB free, the files need about {need / 2**30:.1f} GiB "
            f"(plus 20% and 2 GiB of headroom); free some space or pass --out elsewhere"
        )


def write(
    rows: int,
    out: Path = DATA,
    *,
    csv: bool = False,
    seed: int = 7,
    chunk_rows: int = CHUNK_ROWS,
    progress: bool = True,
) -> Path:
    """Write ``events_<rows>.parquet`` (and ``events_<rows>.csv`` with ``csv``) unless present; return the
    Parquet path. Files are written to ``*.part`` and renamed when complete, so an interrupted run leaves
    no truncated file behind."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pq_path, csv_path = out / f"events_{rows}.parquet", out / f"events_{rows}.csv"
    want_pq, want_csv = not pq_path.exists(), csv and not csv_path.exists()
    if not (want_pq or want_csv):
        return pq_path
    _check_space(out, rows * (_BYTES_PER_ROW["parquet"] * want_pq + _BYTES_PER_ROW["csv"] * want_csv))
    pq_tmp, csv_tmp = pq_path.with_suffix(".parquet.part"), csv_path.with_suffix(".csv.part")
    pw = pq.ParquetWriter(pq_tmp, PARQUET_SCHEMA, compression="snappy") if want_pq else None
    cw = fh = None
    if want_csv:  # plain header line, unquoted values (ids and names never hold a comma or a quote)
        fh = open(csv_tmp, "wb")
        fh.write((",".join(CSV_SCHEMA.names) + "\n").encode())
        cw = pacsv.CSVWriter(
            fh, CSV_SCHEMA, write_options=pacsv.WriteOptions(include_header=False, quoting_style="none")
        )
    done = 0
    try:
        for canonical, raw in chunks(rows, seed=seed, chunk_rows=chunk_rows):
            if pw is not None:
                pw.write_table(canonical, row_group_size=1_000_000)
            if cw is not None:
                cw.write_table(raw)
            done += canonical.num_rows
            if progress:
                print(f"  generated {done:,} / {rows:,} rows", flush=True)
    except BaseException:
        for w in (pw, cw, fh):
            if w is not None:
                w.close()
        for p in (pq_tmp, csv_tmp):
            p.unlink(missing_ok=True)
        raise
    for w in (pw, cw, fh):
        if w is not None:
            w.close()
    if pw is not None:
        os.replace(pq_tmp, pq_path)
    if cw is not None:
        os.replace(csv_tmp, csv_path)
    return pq_path


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--csv", action="store_true", help="also write the raw CSV form")
    ap.add_argument("--out", default=str(DATA))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS)
    a = ap.parse_args()
    print(write(a.rows, Path(a.out), csv=a.csv, seed=a.seed, chunk_rows=a.chunk_rows))
