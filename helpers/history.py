"""Runs that remember: each batch run's results kept under ``<campaign>/history/<run_id>/``, and what changed.

At the end of a run the runner copies ``results/`` (every ``<notebook>.json`` and its CSVs) to
``history/<run_id>/`` with a ``run.json`` (run id, time, period) and keeps the newest ``history.keep`` runs.
:func:`compare_runs` sets the headline numbers of two kept runs side by side (absolute and relative change);
the index shows them against the previous run, and ``python -m helpers compare <campaign> [RUN_A RUN_B]``
prints them.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

__all__ = ["Comparison", "archive_run", "compare_runs", "format_comparison", "list_runs"]

HISTORY = "history"
RUN_FILE = "run.json"


def _read(p: Path) -> dict:
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def list_runs(root: str | Path) -> list[str]:
    """The kept run ids of the campaign folder ``root``, oldest first (run ids start with their time)."""
    h = Path(root) / HISTORY
    if not h.is_dir():
        return []
    return sorted(p.name for p in h.iterdir() if p.is_dir() and (p / RUN_FILE).exists())


def archive_run(root: str | Path, run_id: str, *, keep: int = 10, period: dict | None = None) -> Path:
    """Copy ``root/results/`` to ``root/history/<run_id>/`` with a ``run.json``; keep the newest ``keep`` runs.

    Returns the run's history folder. The copy goes to a temporary folder first and is renamed into place, so a
    kept run is always complete.
    """
    root = Path(root)
    dest = root / HISTORY / run_id
    tmp = root / HISTORY / f".{run_id}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    res = root / "results"
    if res.is_dir():
        for f in sorted(res.iterdir()):
            if f.is_file() and f.suffix in (".json", ".csv"):
                shutil.copy2(f, tmp / f.name)
    meta = {"run_id": run_id, "archived_at": dt.datetime.now().isoformat(timespec="seconds"), "period": period}
    (tmp / RUN_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    for old in list_runs(root)[: -max(keep, 1)]:
        shutil.rmtree(root / HISTORY / old, ignore_errors=True)
    return dest


def _headlines(folder: Path) -> dict[tuple[str, str], dict]:
    out: dict[tuple[str, str], dict] = {}
    for f in sorted(folder.glob("*.json")):
        if f.name == RUN_FILE:
            continue
        doc = _read(f)
        for h in doc.get("headline") or []:
            if isinstance(h, dict) and h.get("label") is not None:
                out[(doc.get("notebook") or f.stem, str(h["label"]))] = h
    return out


def _num(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


def _compared(h: dict | None):
    """The value of headline ``h`` that a comparison compares: its number, else its shown text for a headline
    whose value is a word ("top channel: 搜索", stored with value None), None when the run did not have it or
    showed nothing ("–")."""
    if not h:
        return None
    if h.get("value") is not None:
        return h["value"]
    text = h.get("text")
    return None if text is None or str(text).strip() in ("", "–", "—", "-") else str(text)


def change_text(before, after) -> str:
    """The change of a headline number in words: ``+12.0%`` (relative, as :func:`helpers.fmt.fmt_pct` writes a share,
    with its sign; absolute when ``before`` is 0),
    ``unchanged``, or ``new`` / ``gone`` / ``changed`` for values that are not numbers."""
    b, a = _num(before), _num(after)
    if before is None and after is not None:
        return "new"
    if after is None and before is not None:
        return "gone"
    if b is None or a is None:
        return "unchanged" if before == after else "changed"
    if a == b:
        return "unchanged"
    if b == 0:
        return f"{a - b:+,.4g}"
    from .fmt import fmt_pct

    rel = (a - b) / abs(b)
    return ("+" if rel > 0 else "") + fmt_pct(rel)


@dataclass
class Comparison:
    """Two kept runs compared: ``table`` has one row per (report, headline label) with columns ``report``,
    ``label``, ``before``/``after`` (raw values), ``before_text``/``after_text`` (as shown), ``change`` (after -
    before, numbers only), ``change_pct`` (percent of ``before``; NaN when it is 0 or not a number) and
    ``change_text``; ``notes`` says what else changed (period, reports added or gone), in English for the command
    line; ``periods`` (the two periods' start and end when they differ), ``reports_new`` and ``reports_gone`` say
    the same for pages, which word it in the campaign's language."""

    run_a: str
    run_b: str
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    periods: tuple[tuple, tuple] | None = None
    reports_new: list[str] = field(default_factory=list)
    reports_gone: list[str] = field(default_factory=list)

    @property
    def changed(self) -> pd.DataFrame:
        """Only the rows whose value changed."""
        return self.table[self.table["change_text"] != "unchanged"]


def compare_runs(root: str | Path, run_a: str | None = None, run_b: str | None = None) -> Comparison:
    """Compare kept run ``run_a`` (default: the one before ``run_b``) with ``run_b`` (default: the newest).

    Raises ``ValueError`` naming the kept runs when fewer than two are kept or a run id is unknown.
    """
    root = Path(root)
    runs = list_runs(root)
    for r in (run_a, run_b):
        if r is not None and r not in runs:
            kept = ", ".join(runs) or "none"
            raise ValueError(f"no kept run {r!r} in {root / HISTORY}; kept runs: {kept}")
    if run_b is None:
        run_b = runs[-1] if runs else None
    if run_a is None and run_b is not None:
        earlier = [r for r in runs if r < run_b]
        run_a = earlier[-1] if earlier else None
    if run_a is None or run_b is None:
        raise ValueError(f"{root / HISTORY} keeps {len(runs)} run(s); comparing needs two (run the campaign again)")
    fa, fb = root / HISTORY / run_a, root / HISTORY / run_b
    ha, hb = _headlines(fa), _headlines(fb)
    rows = []
    for key in list(ha) + [k for k in hb if k not in ha]:
        a, b = ha.get(key), hb.get(key)
        va, vb = (a or {}).get("value"), (b or {}).get("value")
        na, nb = _num(va), _num(vb)
        diff = nb - na if na is not None and nb is not None else math.nan
        pct = diff / abs(na) * 100 if na not in (None, 0) and not math.isnan(diff) else math.nan
        rows.append(
            {
                "report": key[0],
                "label": key[1],
                "before": va,
                "after": vb,
                "before_text": (a or {}).get("text"),
                "after_text": (b or {}).get("text"),
                "change": diff,
                "change_pct": pct,
                "change_text": change_text(_compared(a), _compared(b)),
            }
        )
    cols = ["report", "label", "before", "after", "before_text", "after_text", "change", "change_pct", "change_text"]
    table = pd.DataFrame(rows, columns=cols)
    notes = []
    periods = None
    pa, pb = _read(fa / RUN_FILE).get("period"), _read(fb / RUN_FILE).get("period")
    if pa and pb and (pa.get("start"), pa.get("end")) != (pb.get("start"), pb.get("end")):
        notes.append(f"period {pa.get('start')} – {pa.get('end')} -> {pb.get('start')} – {pb.get('end')}")
        periods = ((pa.get("start"), pa.get("end")), (pb.get("start"), pb.get("end")))
    ra = {f.stem for f in fa.glob("*.json")} - {"run"}
    rb = {f.stem for f in fb.glob("*.json")} - {"run"}
    if rb - ra:
        notes.append("new reports: " + ", ".join(sorted(rb - ra)))
    if ra - rb:
        notes.append("reports gone: " + ", ".join(sorted(ra - rb)))
    return Comparison(run_a, run_b, table, notes, periods, sorted(rb - ra), sorted(ra - rb))


def shown_text(v) -> str | None:
    """A headline's text as the comparison table holds it, or None when that run did not have the headline (the
    table keeps a missing text as None or NaN)."""
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def format_comparison(comp: Comparison, *, only_changed: bool = False) -> str:
    """Plain-text "what changed" of a comparison, one line per headline number (``compare`` prints this)."""
    lines = [f"what changed: {comp.run_a} -> {comp.run_b}"]
    lines += [f"  {n}" for n in comp.notes]
    t = comp.changed if only_changed else comp.table
    if t.empty:
        lines.append("  no headline number changed" if only_changed else "  no headline numbers")
    for r in t.itertuples(index=False):
        before, after = shown_text(r.before_text) or "—", shown_text(r.after_text) or "—"
        lines.append(f"  {r.report} · {r.label}: {before} -> {after} ({r.change_text})")
    return "\n".join(lines)
