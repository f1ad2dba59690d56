"""Where a notebook's execution time went (the runner's ``.state/timings.json``), from papermill's cell durations."""

from __future__ import annotations

__all__ = ["cell_timing"]


def cell_timing(out_ipynb: str, t_exec: float) -> dict:
    """Where a notebook's execution time went, from papermill's per-cell durations.

    ``setup``: the cell after the parameters (``import helpers``, ``open_campaign``); ``compute``: all later
    cells; ``kernel``: the rest of papermill's wall time (kernel start-up, its own bookkeeping);
    ``execute``: papermill's wall time, all of it.
    """
    import nbformat

    out = {"execute": round(t_exec, 2)}
    try:
        nb = nbformat.read(out_ipynb, as_version=4)
    except Exception:
        return out

    cells = [(c, c.metadata.get("papermill", {})) for c in nb.cells if c.cell_type == "code"]
    cells = [(c, m) for c, m in cells if m.get("duration") is not None]
    if not cells:
        return out
    tagged = [
        i for i, (c, _) in enumerate(cells) if {"parameters", "injected-parameters"} & set(c.metadata.get("tags", []))
    ]
    setup_i = min(len(cells) - 1, (tagged[-1] + 1) if tagged else 0)
    out["setup"] = round(float(cells[setup_i][1]["duration"]), 2)
    out["compute"] = round(sum(float(m["duration"]) for i, (_, m) in enumerate(cells) if i > setup_i), 2)
    out["kernel"] = round(max(0.0, t_exec - out["setup"] - out["compute"]), 2)
    return out
