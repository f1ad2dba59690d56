"""Attribution bench (issue 16): the attribution report's whole computation against the funnel
(``helpers.funnel.funnel_users``, steps pv > cart > buy, 72 h) on the same Parquet log.

    .venv/bin/python bench/generate.py --rows 10000000
    .venv/bin/python bench/attribution_bench.py bench/out/data/events_10000000.parquet [--repeat 2]

The timed report is what ``AttributionReport.compute`` runs with the default ``attribution:`` params: the journeys
(``touch_table``, ``conversion_table``, ``build_journeys`` of :mod:`helpers.attribution`, Ibis on DuckDB, brought
back to pandas), then ``credit_table`` (six rule-based models, Markov, Shapley, and 20 bootstrap resamples of
each data-driven model) and the summary. Touches are the event types pv, fav and cart (98 % of the rows: the
heaviest case, no session to dedupe them), conversions the buy events with their amount, a 30-day look-back. Both
run with a fresh Ibis DuckDB connection (memory limit and spill folder as bench/impl_kit.py) inside the timed
call, interleaved (funnel, report, funnel, ...) so that load on a shared machine hits both alike; the best of
``repeat`` runs is kept, and the journeys / models split of the report's best run is written too. Writes
``bench/out/attribution.csv`` (one row per method: rows, seconds, ratio to the funnel).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import ibis
from common import DUCKDB_MEMORY_LIMIT, FUNNEL_STEPS, WINDOW_HOURS, write_rows

from helpers.attribution import _summary, build_journeys, conversion_table, credit_table, touch_table
from helpers.funnel import funnel_users
from helpers.sections_attribution import AttributionParams

TOUCH_EVENTS = ("pv", "fav", "cart")


def _events(path: str, spill: str):
    con = ibis.duckdb.connect()
    con.raw_sql(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    con.raw_sql(f"SET temp_directory = '{spill}'")
    return con.read_parquet(path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("parquet")
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    spill = tempfile.mkdtemp(prefix="attr_bench_")

    def funnel():
        return funnel_users(_events(a.parquet, spill), list(FUNNEL_STEPS), window_hours=WINDOW_HOURS)

    d = AttributionParams(touch_events=list(TOUCH_EVENTS), conversion_event="buy")
    split: dict[str, float] = {}

    def attribution():
        t0 = time.perf_counter()
        ev = _events(a.parquet, spill)
        tch = touch_table(ev, touch_col=None, touch_events=d.touch_events)
        conv = conversion_table(ev, event=d.conversion_event, value_col=d.value_col)
        touches, journeys = build_journeys(tch, conv, lookback_days=30)
        t1 = time.perf_counter()
        credits = credit_table(touches, journeys, direct=d.direct, position_weights=tuple(d.position_weights),
                               half_life_days=d.half_life_days, bootstrap_reps=d.bootstrap_reps, seed=d.seed,
                               shapley_exact_max=d.shapley_exact_max, shapley_samples=d.shapley_samples)  # fmt: skip
        _summary(journeys)
        split["journeys"], split["models"] = t1 - t0, time.perf_counter() - t1
        return touches, journeys, credits

    best = {"funnel": float("inf"), "attribution": float("inf")}
    best_split: dict[str, float] = {}
    out = {}
    for _ in range(a.repeat):
        for name, fn in (("funnel", funnel), ("attribution", attribution)):
            t0 = time.perf_counter()
            out[name] = fn()
            sec = time.perf_counter() - t0
            if sec < best[name]:
                best[name] = sec
                if name == "attribution":
                    best_split = dict(split)
            extra = f" (journeys {split['journeys']:.2f} s, models {split['models']:.2f} s)" if name != "funnel" else ""
            print(f"{name}: {sec:.2f} s{extra}", flush=True)
    touches, journeys, credits = out["attribution"]
    n = int(ibis.duckdb.connect().read_parquet(a.parquet).count().execute())
    conv = journeys[journeys["converted"]]
    print(f"rows={n:,} touches={len(touches):,} journeys={len(journeys):,} conversions={len(conv):,} "
          f"without touch={(conv['touches'] == 0).sum():,} funnel users={len(out['funnel']):,}")  # fmt: skip
    sums = credits.groupby("model")["conversions"].sum()
    assert (abs(sums - len(conv)) < 1e-6 * len(conv)).all(), sums  # every model's credits sum to the total
    ratio = best["attribution"] / best["funnel"]
    print(f"funnel {best['funnel']:.2f} s, attribution report {best['attribution']:.2f} s, ratio {ratio:.2f} "
          f"(target < 2)")  # fmt: skip
    f = best["funnel"]
    rows = [
        {"method": "funnel_users", "rows": n, "seconds": round(f, 2), "ratio_to_funnel": 1.0},
        {"method": "attribution_report", "rows": n, "seconds": round(best["attribution"], 2),
         "ratio_to_funnel": round(ratio, 2)},
        {"method": "attribution_report_journeys", "rows": n, "seconds": round(best_split["journeys"], 2),
         "ratio_to_funnel": round(best_split["journeys"] / f, 2)},
        {"method": "attribution_report_models", "rows": n, "seconds": round(best_split["models"], 2),
         "ratio_to_funnel": round(best_split["models"] / f, 2)},
    ]  # fmt: skip
    print(write_rows("attribution", rows))


if __name__ == "__main__":
    main()
