"""Time the full demo campaign end to end and say where the time goes.

    .venv/bin/python bench/demo_timing.py [--campaign demo] [--jobs 2] [--repeat 1]

Runs ``run_campaign(params/<campaign>.yaml, force=True)`` into a scratch reports folder (bench/out/reports)
and reads the runner's per-notebook timings (``.state/timings.json``): ``kernel`` (kernel start until the
first cell), ``setup`` (``import helpers`` + ``open_campaign``), ``compute`` (the analysis cells),
``html`` (nbconvert + font embedding). Prints one row per notebook plus the wall time, and writes
bench/out/demo_timing.csv.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import write_rows  # noqa: E402

from helpers.run import run_campaign  # noqa: E402

PARTS = ("kernel", "setup", "compute", "html")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--campaign", default="demo")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    out = ROOT / "bench" / "out" / "reports"
    rows = []
    for r in range(a.repeat):
        t0 = time.perf_counter()
        s = run_campaign(
            ROOT / "params" / f"{a.campaign}.yaml",
            jobs=a.jobs,
            force=True,
            reports_dir=out,
            progress=False,
            echo=lambda *_: None,
        )
        wall = time.perf_counter() - t0
        if not s.ok:
            bad = [f"{x['notebook']}: {x['error']}" for x in s.statuses if x["status"] not in ("ok", "up-to-date")]
            raise SystemExit("demo run failed: " + "; ".join(bad))
        t = json.loads((s.root / ".state" / "timings.json").read_text())
        print(f"run {r + 1}: {len(t['notebooks'])} notebooks, --jobs {a.jobs}: wall {wall:.1f} s")
        print(f"{'notebook':<13}" + "".join(f"{p:>9}" for p in PARTS) + f"{'total':>9}")
        sums = dict.fromkeys(PARTS, 0.0)
        for nb, v in t["notebooks"].items():
            print(f"{nb:<13}" + "".join(f"{v.get(p) or 0:9.1f}" for p in PARTS) + f"{v['seconds']:9.1f}")
            for p in PARTS:
                sums[p] += v.get(p) or 0
            rows.append({"run": r + 1, "notebook": nb, **{p: v.get(p) for p in PARTS}, "total": v["seconds"]})
        busy = sum(sums.values())
        print(f"{'sum':<13}" + "".join(f"{sums[p]:9.1f}" for p in PARTS) + f"{busy:9.1f}")
        print("share of notebook time: " + ", ".join(f"{p} {sums[p] / busy:.0%}" for p in PARTS if busy))
        rows.append({"run": r + 1, "notebook": "(wall, all notebooks)", "total": round(wall, 2)})
    print(write_rows("demo_timing", rows))


if __name__ == "__main__":
    main()
