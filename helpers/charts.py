"""Chart layout rules shared by the reports: legends that do not cover the data, two measures of different sizes
on two panels, radar labels that do not overlap, and the text-size check (every text at least :data:`MIN_TEXT_PX`
pixels where the page shows the chart).

Display size. A report page shows a chart image at its natural width (figure width x :data:`CSS_DPI` CSS pixels;
images rendered at 2x for sharp screens keep that CSS width) but never wider than the content column
(``max-width: 100%``): :data:`CONTENT_WIDTH_PX` = 1,000 px on a laptop (docs/caveats.md). A text of ``s`` points
is then ``s / 72 * dpi`` image pixels, scaled by ``display width / (figure width x dpi)``:
``px = s * display_width / (72 * figure_width_in)``.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np

from .plots import _text_width

__all__ = [
    "CONTENT_WIDTH_PX",
    "CSS_DPI",
    "MIN_TEXT_PX",
    "display_width",
    "legend_outside",
    "plot_two_panels",
    "radar_labels",
    "small_texts",
    "text_px",
]

#: width of the page's content column on a laptop (CSS pixels); charts are at most this wide
CONTENT_WIDTH_PX = 1000
#: CSS pixels per figure inch (the theme's figure dpi, helpers/plots.py; 2x images keep this CSS size)
CSS_DPI = 110
#: smallest readable chart text on the page
MIN_TEXT_PX = 8.0


def display_width(fig: Any, *, content_width: float = CONTENT_WIDTH_PX, bbox_width_in: float | None = None) -> float:
    """CSS pixels the page gives ``fig``: its (tight) width at :data:`CSS_DPI`, at most ``content_width``."""
    w = bbox_width_in if bbox_width_in is not None else float(fig.get_figwidth())
    return min(w * CSS_DPI, content_width)


def text_px(size_pt: float, fig_width_in: float, shown_width_px: float) -> float:
    """Pixels of a ``size_pt`` text on a figure ``fig_width_in`` wide shown ``shown_width_px`` wide."""
    return size_pt * shown_width_px / (72.0 * fig_width_in)


def small_texts(
    fig: Any, *, content_width: float = CONTENT_WIDTH_PX, min_px: float = MIN_TEXT_PX
) -> list[tuple[str, float]]:
    """The visible texts of ``fig`` smaller than ``min_px`` on the page, as ``(text, px)``; [] when all fit.

    The figure is drawn first (tick labels exist only then) and measured as the notebook saves it
    (``bbox_inches="tight"``: a legend outside the axes widens the image, which shrinks it on the page)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    tight = fig.get_tightbbox(renderer)
    width_in = float(tight.width) if tight is not None else float(fig.get_figwidth())
    shown = display_width(fig, content_width=content_width, bbox_width_in=width_in)
    out = []
    for txt in fig.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text")):
        if not txt.get_visible() or not str(txt.get_text()).strip():
            continue
        if hasattr(txt, "get_window_extent"):
            try:
                if txt.get_window_extent(renderer).width <= 0:
                    continue
            except (RuntimeError, ValueError):
                pass
        px = text_px(float(txt.get_fontsize()), width_in, shown)
        if px < min_px:
            out.append((str(txt.get_text()), round(px, 2)))
    return out


def legend_outside(ax: Any, *, ncol: int = 1, **kw: Any) -> Any:
    """Put the legend of ``ax`` to the right of the plot area, where it cannot cover bars or points."""
    return ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), ncol=ncol, fontsize="small", frameon=False, **kw)


def plot_two_panels(
    x: Sequence[Any],
    top: Sequence[float],
    bottom: Sequence[float],
    *,
    title: str,
    xlabel: str,
    top_label: str,
    bottom_label: str,
    figsize: tuple[float, float] = (8.0, 5.0),
    ax: Any = None,
) -> Any:
    """Two measures of different size over the same x (e.g. events and users per day) on two stacked panels
    with a shared x axis and each its own labelled y axis, so that the smaller one is not flattened; Figure out.
    With ``ax`` given, the second measure goes on a twin y axis of ``ax`` instead (both axes labelled, in the
    colour of their line); ``ax`` out."""
    import matplotlib.pyplot as plt

    if ax is not None:
        a2 = ax.twinx()
        ax.plot(list(x), list(top), color="C0", marker="o", markersize=3)
        a2.plot(list(x), list(bottom), color="C1", marker="o", markersize=3)
        ax.set_ylabel(top_label, color="C0")
        a2.set_ylabel(bottom_label, color="C1")
        a2.grid(False)
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        return ax
    fig, (a1, a2) = plt.subplots(2, 1, sharex=True, figsize=figsize)
    a1.plot(list(x), list(top), color="C0", marker="o", markersize=3)
    a2.plot(list(x), list(bottom), color="C1", marker="o", markersize=3)
    a1.set_ylabel(top_label)
    a2.set_ylabel(bottom_label)
    a2.set_xlabel(xlabel)
    a1.set_ylim(bottom=0)
    a2.set_ylim(bottom=0)
    a1.set_title(title)
    fig.autofmt_xdate()
    return fig


def radar_labels(
    ax: Any, angles: Sequence[float] | np.ndarray, labels: Sequence[str], *, width: int = 12, size: float = 9
) -> None:
    """Feature labels around a polar Axes without overlaps: wrapped at ``width`` characters (CJK count two),
    aligned away from the centre (left on the right side, right on the left side) and pushed out from the rim."""

    def wrap(s: str) -> str:
        if _text_width(s) <= width:
            return s
        if " " in s:
            return "\n".join(textwrap.wrap(s, width=width))
        if s.isascii():  # a machine name: break after underscores, never inside a word
            lines = [""]
            for part in re.findall(r"[^_]+_?|_", s):
                if lines[-1] and len(lines[-1]) + len(part) > width:
                    lines.append("")
                lines[-1] += part
            return "\n".join(lines)
        step = max(1, width // 2)  # CJK text: break every width/2 characters
        return "\n".join(s[i : i + step] for i in range(0, len(s), step))

    ax.set_xticks(list(angles), [wrap(str(s)) for s in labels], fontsize=size)
    for lab, a in zip(ax.get_xticklabels(), angles):
        c = np.cos(a)
        lab.set_horizontalalignment("left" if c > 0.1 else "right" if c < -0.1 else "center")
    ax.tick_params(axis="x", pad=4)
    ax.tick_params(axis="y", labelsize=size * 0.9)
    # the radial axis name sits left of the circle: push it past the widest label on the left side
    left = [w for s, a in zip(labels, angles) if np.cos(a) < -0.1 for w in (wrap(str(s)).split("\n"))]
    widest = max((_text_width(w) for w in left), default=0)
    ax.yaxis.labelpad = 8 + widest * size * 0.55
