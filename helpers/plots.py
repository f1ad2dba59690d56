"""Chart theme (with a CJK font, so Chinese renders) and generic charts.

:func:`set_theme` is the one place that changes matplotlib's global settings (``rcParams``). Chart functions
only draw: data computed elsewhere in, ``ax=None`` in, the Axes out; each sets its own title and axis labels
on that Axes (never ``plt.title``), and formats numbers with thousands separators (:mod:`helpers.fmt`).
"""

from __future__ import annotations

import functools
import importlib.resources
import math
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib as mpl
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.ticker import Formatter, FuncFormatter, LogFormatter

from .fmt import MISSING, fmt_int, fmt_num, fmt_pct
from .i18n import t

__all__ = [
    "empty_chart",
    "set_theme",
    "cjk_font_name",
    "cjk_font_path",
    "plot_bar",
    "plot_line",
    "plot_heatmap",
    "check_chart",
    "thousands_ticks",
    "fit_axis_labels",
    "plain_log_ticks",
    "percent_ticks",
]

#: the PyPI package ``cvttf-notosanscjk-regular`` (a dependency of ubakit) ships Noto Sans CJK in this module
_FONT_PACKAGE = "cvttf_NotoSansCJK_Regular"
_FONT_SUFFIXES = (".otf", ".ttf", ".ttc")
#: installed system fonts tried in order when the packaged font is absent (Simplified Chinese forms first)
_SYSTEM_CJK = (
    "Noto Sans CJK SC",
    "Noto Sans CJK TC",
    "Noto Sans SC",
    "Noto Sans TC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Source Han Sans TC",
    "Source Han Sans",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
    "Arial Unicode MS",
)
_NO_FONT = (
    "no CJK font found, so Chinese text in charts would render as empty boxes (tofu). Fix: "
    "`pip install cvttf-notosanscjk-regular` (a dependency of ubakit: `make env` installs it), or install "
    "a system CJK font (Debian/Ubuntu: `apt-get install fonts-noto-cjk`; conda: `conda install -c "
    "conda-forge font-ttf-noto-cjk`), then restart the kernel. Looked for the {pkg!r} package and for "
    "the system fonts {names}."
)
_THEME_RC: dict[str, Any] = {
    "axes.unicode_minus": False,  # U+2212 is missing from some CJK fonts; "-" is everywhere
    "figure.figsize": (8.0, 4.5),
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "savefig.format": "png",  # notebooks embed PNG: the CJK glyphs are rasterised, no font needed to view
    "svg.fonttype": "path",  # if someone saves SVG, glyphs are outlines (no font needed in the browser)
    "axes.titleweight": "normal",  # only the Regular weight of the CJK font ships; no faked bold
    "figure.autolayout": True,
    "text.parse_math": False,  # text from data as written: a label "$5 off, was $9" is not TeX (nor an error)
}


# ------------------------------------------------------------------------------------------------ font


def _packaged_font() -> tuple[str, str] | None:
    """(path, family) of the font file inside the ``cvttf_NotoSansCJK_Regular`` package, if installed."""
    try:
        root = importlib.resources.files(_FONT_PACKAGE)
    except (ModuleNotFoundError, TypeError):
        return None
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.lower().endswith(_FONT_SUFFIXES) and entry.is_file():
            path = Path(str(entry))  # installed as files on disk (wheel), not inside a zip
            if path.is_file():
                return str(path), font_manager.FontProperties(fname=path).get_name()
    return None


def _system_font() -> tuple[str, str] | None:
    """(path, family) of the first installed system CJK font in :data:`_SYSTEM_CJK`."""
    by_name: dict[str, str] = {}
    for entry in font_manager.fontManager.ttflist:
        if entry.style == "normal":
            by_name.setdefault(entry.name, entry.fname)
    for name in _SYSTEM_CJK:
        if name in by_name:
            return by_name[name], name
    return None


@functools.lru_cache(maxsize=1)
def _locate() -> tuple[str, str]:
    """(path, family) of the chart CJK font; cached (a RuntimeError is not, so installing a font and
    calling again works)."""
    found = _packaged_font() or _system_font()
    if found is None:
        raise RuntimeError(_NO_FONT.format(pkg=_FONT_PACKAGE, names=", ".join(_SYSTEM_CJK)))
    return found


def _register(path: str) -> None:
    """Add the font file to matplotlib's font list unless it is there already."""
    if not any(entry.fname == path for entry in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(path)


def cjk_font_path() -> str | None:
    """Path of the CJK font file used for charts.

    Returns
    -------
    str or None
        The Noto Sans CJK file shipped by the ``cvttf-notosanscjk-regular`` package, else an installed system
        CJK font (see :func:`cjk_font_name`), else None. Reports embed a subset of this file
        (:func:`helpers.report.embed_cjk_font`).
    """
    try:
        return _locate()[0]
    except RuntimeError:
        return None


def cjk_font_name() -> str:
    """Family name of the CJK font used for charts, registered with matplotlib.

    The lookup is cached. Order: the Noto Sans CJK file shipped by the PyPI package
    ``cvttf-notosanscjk-regular`` (found through its module, not a hard-coded path); else the first installed
    system font among Noto Sans CJK SC/TC, Source Han Sans, WenQuanYi, SimHei, Microsoft YaHei, PingFang.

    Returns
    -------
    str
        The family name matplotlib knows the font by, e.g. ``"Noto Sans CJK TC"``; usable as
        ``FontProperties(family=...)``.

    Raises
    ------
    RuntimeError
        No CJK font was found; the message says what to install.
    """
    path, name = _locate()
    _register(path)  # cheap; also re-registers if matplotlib's font list was rebuilt
    return name


def set_theme(*, context: str = "notebook") -> str:
    """Set the report chart theme; the one function that changes matplotlib's global settings.

    Seaborn's ``whitegrid`` style and ``deep`` palette; the CJK font (:func:`cjk_font_name`) first for all
    text, DejaVu Sans after it as fallback; ASCII minus signs (``axes.unicode_minus=False``); figures of
    8 × 4.5 in at 110 dpi, saved as PNG (2x pixels in notebooks), for HTML reports. Only ``rcParams`` change
    (and the font is added to matplotlib's font list); calling it again gives the same settings.

    Parameters
    ----------
    context : {"notebook", "paper", "talk", "poster"}, default "notebook"
        Seaborn scaling context for fonts and lines.

    Returns
    -------
    str
        Family name of the CJK font in use.

    Raises
    ------
    RuntimeError
        No CJK font was found; the message says what to install.
    """
    import seaborn as sns

    name = cjk_font_name()
    sns.set_theme(context=context, style="whitegrid", palette="deep")
    rc: Any = {**_THEME_RC, "font.family": ["sans-serif"], "font.sans-serif": [name, "DejaVu Sans"]}
    mpl.rcParams.update(rc)
    _retina()
    return name


def _retina() -> None:
    """In a notebook, show charts at twice the pixels at the same size (sharp on high-density screens; the page
    scales them to its width)."""
    try:
        from IPython import get_ipython

        if get_ipython() is None:
            return
        from matplotlib.figure import Figure
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")
        png = get_ipython().display_formatter.formatters["image/png"]
        inner = png.lookup_by_type(Figure)

        def render(fig: Any, *args: Any, **kw: Any) -> Any:  # every chart shown: ticks with separators, labels fit
            thousands_ticks(fig)
            fit_axis_labels(fig)
            return inner(fig, *args, **kw)

        png.for_type(Figure, render)
    except Exception:  # no IPython or no inline backend: nothing to set
        return


def thousands_ticks(fig: Any) -> None:
    """Give every linear number axis of ``fig`` that still has matplotlib's default formatter and reaches 1,000
    tick labels with thousands separators and no offset or scientific notation (``500,000``, not ``500000`` or
    ``5 × 1e5``). Axes a chart formatted itself (percentages, dates, categories, log scales) are left alone.
    Called on every chart a notebook shows once :func:`set_theme` ran."""
    from matplotlib.ticker import ScalarFormatter

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() != "linear" or type(axis.get_major_formatter()) is not ScalarFormatter:
                continue
            lo, hi = axis.get_view_interval()
            if np.isfinite([lo, hi]).all() and max(abs(lo), abs(hi)) >= 1000:
                axis.set_major_formatter(_TickFormatter())


def fit_axis_labels(fig: Any) -> None:
    """Put a y-axis label that is longer than its axes is tall on two lines, broken at the punctuation or space
    nearest its middle (``差值（百分点，`` / ``实验组 − 对照组）``): on one line it would run past the axes into the
    date labels below, or off the top of the image. Labels that fit, or already have two lines, are left alone.
    Called on every chart a notebook shows once :func:`set_theme` ran."""
    try:
        renderer = fig.canvas.get_renderer()
    except AttributeError:  # a canvas that cannot measure text: nothing to fit
        return
    for ax in fig.axes:
        label = ax.yaxis.label
        text = label.get_text()
        if not text or "\n" in text or not label.get_visible():
            continue
        if label.get_window_extent(renderer).height > ax.get_window_extent(renderer).height:
            label.set_text(_two_lines(text))


_BREAK_AFTER = "，、,;；:："
_BREAK_BEFORE = "（("


def _two_lines(text: str) -> str:
    """``text`` on two lines, broken by display width near its middle: after a comma or colon or before an opening
    bracket when one lies in the middle half, else at the space nearest the middle; in the middle character of
    Chinese text without either; as it is when it has no place to break (one long word)."""
    total = _text_width(text)

    def off(i: int) -> int:  # how far a cut before text[i] is from the middle, in half cells
        return abs(2 * _text_width(text[:i]) - total)

    marks = [i + 1 for i, ch in enumerate(text[:-1]) if ch in _BREAK_AFTER]
    marks += [i for i, ch in enumerate(text) if ch in _BREAK_BEFORE and i > 0]
    cuts = [i for i in marks if off(i) <= total / 2]  # a mark in the middle half
    cuts = cuts or [i for i, ch in enumerate(text) if ch == " " and 0 < i < len(text) - 1]
    if not cuts:
        if not any(_text_width(ch) == 2 for ch in text):
            return text
        cuts = [len(text) // 2]
    cut = min(cuts, key=off)
    return text[:cut].rstrip() + "\n" + text[cut:].lstrip()


# ------------------------------------------------------------------------------------------ formatting


def _fmt_or_missing(f: Callable[[Any], str]) -> Callable[[Any], str]:
    def wrapped(v: Any) -> str:
        return MISSING if v is None or (isinstance(v, float) and math.isnan(v)) else f(v)

    return wrapped


def _value_formatter(fmt: str | Callable[[Any], str] | None) -> Callable[[Any], str]:
    """One value -> text, for annotations: None (whole numbers with thousands, else two decimals), "pct"/"%"
    (a share as a percentage), a format spec such as ",.1f" or ".0%", or a callable."""
    if fmt is None:
        return _fmt_or_missing(lambda v: fmt_int(v) if float(v).is_integer() else fmt_num(v))
    if fmt in ("pct", "%"):
        return fmt_pct
    if callable(fmt):
        return _fmt_or_missing(fmt)
    if isinstance(fmt, str):
        try:
            format(1234.5, fmt)
        except (ValueError, TypeError):
            raise ValueError(
                f"fmt={fmt!r} is not a number format: use None, 'pct', a format spec such as ',.1f' "
                f"or '.0%', or a callable"
            ) from None
        return _fmt_or_missing(lambda v: _unsigned_zero(format(v, fmt)))
    raise TypeError(f"fmt must be None, 'pct', a format spec or a callable, not {type(fmt).__name__}")


def _unsigned_zero(text: str) -> str:
    """``text`` without the minus of a value that rounds to zero: -0.0001 as ".3f" reads "0.000", not "-0.000"."""
    return text[1:] if text.startswith("-") and not any(c in "123456789" for c in text) else text


class _TickFormatter(Formatter):
    """Axis ticks with thousands separators and the same number of decimals on every tick (the fewest that
    show each tick exactly, at most 3): 0, 500, 1,000 / 0.0, 0.5, 1.0 / 0%, 20%, 40% / 2.5%, 5.0%."""

    def __init__(self, percent: bool = False):
        self.percent = percent
        self.decimals: int | None = None

    def _scaled(self, v: float) -> float:
        return v * 100 if self.percent else v

    @staticmethod
    def _fewest(scaled: Sequence[float]) -> int:
        """The fewest decimals (at most 3) that show every one of ``scaled`` exactly."""
        return next((d for d in range(4) if all(abs(s - round(s, d)) <= 1e-9 * max(1.0, abs(s)) for s in scaled)), 3)

    def format_ticks(self, values: Sequence[float]) -> list[str]:
        self.decimals = self._fewest([self._scaled(v) for v in values if np.isfinite(v)])
        return [self(v, i) for i, v in enumerate(values)]

    def __call__(self, x: float, pos: int | None = None) -> str:
        # before the ticks are known (a value asked for alone): its own fewest decimals, "25%" not "25.00%"
        d = self._fewest([self._scaled(x)] if np.isfinite(x) else []) if self.decimals is None else self.decimals
        text = f"{round(self._scaled(x), d) + 0.0:,.{d}f}"
        return text + "%" if self.percent else text


class _PlainLogFormatter(LogFormatter):
    """A log axis's ticks as plain numbers (``20``, ``100``, ``1,000``, ``0.5``), on the ticks matplotlib's own
    log formatter labels (decades, and the minor ticks in between when the axis spans few decades). Its default
    writes ``$\\mathdefault{10^{2}}$``: TeX, which the theme's ``text.parse_math = False`` shows as those
    characters."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        if not super().__call__(x, pos):
            return ""
        return f"{x:,.0f}" if x >= 1 else f"{x:.3g}"


def plain_log_ticks(axis: Any) -> None:
    """Label the log-scaled ``axis`` (``ax.xaxis`` or ``ax.yaxis``) in plain numbers (:class:`_PlainLogFormatter`)."""
    axis.set_major_formatter(_PlainLogFormatter())
    axis.set_minor_formatter(_PlainLogFormatter(minor_thresholds=(2, 0.5)))


def percent_ticks(axis: Any) -> None:
    """Label ``axis`` (``ax.xaxis`` or ``ax.yaxis``) holding shares or probabilities (0 to 1) in % (``0%``, ``20%``;
    decimals only where the ticks need them), as tables give them."""
    axis.set_major_formatter(_TickFormatter(percent=True))


def _axis_formatter(fmt: str | Callable[[Any], str] | None) -> Formatter:
    if fmt is None:
        return _TickFormatter()
    if fmt in ("pct", "%"):
        return _TickFormatter(percent=True)
    f = _value_formatter(fmt)
    return FuncFormatter(lambda v, _pos: f(v))


# --------------------------------------------------------------------------------------------- helpers


def _check_text(title: str, xlabel: str, ylabel: str) -> None:
    missing = [
        what for what, text in (("title", title), ("xlabel", xlabel), ("ylabel", ylabel)) if not str(text or "").strip()
    ]
    if missing:
        raise ValueError(f"empty {', '.join(missing)}: every chart needs a title and labelled axes")


def _require(table: pd.DataFrame, cols: Sequence[str], what: str = "table") -> None:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, not {type(table).__name__}")
    absent = [c for c in cols if c not in table.columns]
    if absent:
        raise KeyError(f"{what} has no column(s) {absent}; it has {list(table.columns)}")


def _numeric(table: pd.DataFrame, col: str) -> np.ndarray:
    values = pd.to_numeric(table[col], errors="coerce")
    bad = values.isna() & table[col].notna()
    if bad.any():
        raise ValueError(
            f"column {col!r} must be numeric; non-numeric values such as "
            f"{table.loc[bad, col].iloc[0]!r} found. Compute the numbers before plotting."
        )
    return values.to_numpy(dtype=float)


def _label(v: Any) -> str:
    if isinstance(v, pd.Timestamp) and v == v.normalize():
        return v.strftime("%Y-%m-%d")
    return MISSING if _is_na(v) else str(v)


def _is_na(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _text_width(s: str) -> int:
    """Width in Latin-character cells: CJK characters are two wide."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _crowded(labels: Sequence[str]) -> bool:
    """Whether category labels side by side under an x axis would run into each other: tilted 30 degrees then."""
    widths = [_text_width(str(s)) for s in labels]
    return bool(widths) and (sum(widths) + 3 * len(widths) > 80 or max(widths) > 16)


def _new_axes(figsize: tuple[float, float] | None = None) -> Axes:
    _, ax = plt.subplots(figsize=figsize)
    return ax


def _finish(ax: Axes, title: str, xlabel: str, ylabel: str) -> Axes:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


# ---------------------------------------------------------------------------------------------- charts


def empty_chart(ax: Axes | None = None, *, title: str, xlabel: str, ylabel: str, note: str | None = None) -> Axes:
    """An Axes with its title and axis labels and a centred note (default: "no data" in the current language),
    for a chart whose data is empty (a report shows the empty chart and says why rather than failing)."""
    ax = ax if ax is not None else _new_axes()
    note = note if note is not None else t("plots.no_data")
    ax.text(0.5, 0.5, note, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xticks=[], yticks=[])
    return ax


def plot_bar(
    table: pd.DataFrame,
    *,
    x: str,
    y: str,
    title: str,
    xlabel: str,
    ylabel: str,
    ax: Axes | None = None,
    horizontal: bool = False,
    annotate: bool = True,
    fmt: str | Callable[[Any], str] | None = None,
    color: Any = None,
) -> Axes:
    """Bar chart of ``y`` per category ``x``, one bar per row, in table order.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per bar; computed elsewhere and not modified.
    x : str
        Column of category labels.
    y : str
        Column of bar values (numeric; negative values go below the axis, NaN draws no bar and shows "–").
    title, xlabel, ylabel : str
        Chart title and axis labels (non-empty). With ``horizontal=True`` the x axis is the value axis.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when None.
    horizontal : bool, default False
        Categories on the y axis, first row on top (for long labels or many categories).
    annotate : bool, default True
        Write each value at the end of its bar.
    fmt : None, "pct", str or callable, optional
        Number format of the value axis and the annotations: None for thousands separators (decimals only
        when needed), ``"pct"`` for shares shown as percentages, a format spec such as ``",.1f"``, or a
        callable value -> text (e.g. :func:`helpers.fmt.fmt_money`).
    color : matplotlib color, optional
        Bar colour; the theme's first colour when None.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.
    """
    _check_text(title, xlabel, ylabel)
    _require(table, [x, y])
    f = _value_formatter(fmt)
    labels = [_label(v) for v in table[x]]
    values = _numeric(table, y)
    ax = ax if ax is not None else _new_axes()
    heights = np.nan_to_num(values, nan=0.0)
    color = color if color is not None else "C0"
    if horizontal:
        pos = np.arange(len(labels))[::-1]
        bars = ax.barh(pos, heights, color=color)
        ax.set_yticks(pos, labels)
        ax.xaxis.set_major_formatter(_axis_formatter(fmt))
        ax.grid(False, axis="y")
    else:
        pos = np.arange(len(labels))
        bars = ax.bar(pos, heights, color=color)
        crowded = _crowded(labels)
        ax.set_xticks(
            pos, labels, rotation=30 if crowded else 0, ha="right" if crowded else "center", rotation_mode="anchor"
        )
        ax.yaxis.set_major_formatter(_axis_formatter(fmt))
        ax.grid(False, axis="x")
    finite = values[np.isfinite(values)]
    if annotate and len(values):
        ax.bar_label(bars, labels=[f(v) for v in values], padding=2, fontsize="small")
        lo, hi = min(0.0, finite.min(initial=0.0)), max(0.0, finite.max(initial=0.0))
        span = (hi - lo) or 1.0
        limits = (lo - 0.15 * span if lo < 0 else 0.0, hi + 0.15 * span if hi > 0 or lo == 0 else 0.0)
        (ax.set_xlim if horizontal else ax.set_ylim)(*limits)
    return _finish(ax, title, xlabel, ylabel)


_DATE_FORMATS = dict(
    formats=["%Y", "%Y-%m", "%m-%d", "%H:%M", "%H:%M", "%S.%f"],
    zero_formats=["", "%Y", "%m-%d", "%m-%d", "%H:%M", "%H:%M"],
    offset_formats=["", "", "%Y", "%Y-%m-%d", "%Y-%m-%d", "%Y-%m-%d %H:%M"],
)


def plot_line(
    table: pd.DataFrame,
    *,
    x: str,
    y: str,
    title: str,
    xlabel: str,
    ylabel: str,
    hue: str | None = None,
    ax: Axes | None = None,
    fmt: str | Callable[[Any], str] | None = None,
    marker: str = "o",
) -> Axes:
    """Line chart of ``y`` over ``x``, one line per ``hue`` value.

    Parameters
    ----------
    table : pandas.DataFrame
        Long format: one row per point; computed elsewhere and not modified. Rows are drawn in ``x`` order
        when ``x`` is numeric or a date, else in table order.
    x : str
        Column on the x axis. Dates (datetime64, time-zone aware or not, or ``datetime.date`` objects) get
        numeric concise tick labels (``2024-03``, ``03-15``; the year in the corner), in the data's time zone.
    y : str
        Numeric column on the y axis.
    title, xlabel, ylabel : str
        Chart title and axis labels (non-empty).
    hue : str, optional
        Column splitting the rows into lines (in order of first appearance), with a legend.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when None.
    fmt : None, "pct", str or callable, optional
        Number format of the y axis, as in :func:`plot_bar`.
    marker : str, default "o"
        Point marker ("" for none).

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.
    """
    _check_text(title, xlabel, ylabel)
    _require(table, [x, y] + ([hue] if hue is not None else []))
    xs = table[x]
    is_date = pd.api.types.is_datetime64_any_dtype(xs)
    if not is_date and pd.api.types.infer_dtype(xs, skipna=True) in ("date", "datetime"):
        xs, is_date = pd.to_datetime(xs), True
    data = pd.DataFrame({"x": xs, "y": _numeric(table, y)}, index=table.index)
    if hue is not None:
        data["hue"] = table[hue]
    if is_date or pd.api.types.is_numeric_dtype(data["x"]):
        data = data.sort_values("x", kind="stable")
    ax = ax if ax is not None else _new_axes()
    if hue is None:
        ax.plot(data["x"], data["y"], marker=marker, markersize=3)
    else:
        for key in pd.unique(table[hue]):  # lines (and legend) in order of first appearance in the table
            g = data[data["hue"].isna()] if _is_na(key) else data[data["hue"] == key]
            ax.plot(g["x"], g["y"], marker=marker, markersize=3, label=_label(key))
        ax.legend(title=None, fontsize="small")
    ax.yaxis.set_major_formatter(_axis_formatter(fmt))
    if is_date:
        tz = data["x"].dt.tz  # ticks on local midnights and labels in the data's time zone (None: naive)
        locator = mdates.AutoDateLocator(tz=tz, minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=tz, **_DATE_FORMATS))
    return _finish(ax, title, xlabel, ylabel)


def _axis_labels(index: pd.Index) -> list[str]:
    if isinstance(index, pd.DatetimeIndex):
        dates_only = bool((index.dropna() == index.dropna().normalize()).all())
        return [MISSING if pd.isna(v) else v.strftime("%Y-%m-%d" if dates_only else "%Y-%m-%d %H:%M") for v in index]
    return [_label(v) for v in index]


def plot_heatmap(
    matrix: pd.DataFrame,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    ax: Axes | None = None,
    fmt: str = ".0%",
    cmap: str = "Blues",
    annot: bool = True,
    vmin: float | None = None,
    vmax: float | None = None,
) -> Axes:
    """Annotated heatmap of a matrix: index on the y axis, columns on the x axis.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Numeric cells; computed elsewhere and not modified. NaN cells stay blank; a matrix of blank cells only
        (or none) is an empty chart with its note (:func:`empty_chart`). Date indexes are labelled ``YYYY-MM-DD``.
    title, xlabel, ylabel : str
        Chart title and axis labels (non-empty).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure sized to the matrix when None.
    fmt : str, default ".0%"
        Format spec of the cell annotations and the colour bar: ``".0%"`` for shares, ``",.0f"`` for counts.
    cmap : str, default "Blues"
        Colour map.
    annot : bool, default True
        Write the value in each cell (skipped above 600 cells, where it is unreadable).
    vmin, vmax : float, optional
        Colour scale limits; the data's range when None.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on (the colour bar has its own Axes in the same figure).
    """
    import seaborn as sns

    _check_text(title, xlabel, ylabel)
    if not isinstance(matrix, pd.DataFrame):
        raise TypeError(f"matrix must be a pandas DataFrame, not {type(matrix).__name__}")
    if matrix.empty:
        return empty_chart(ax, title=title, xlabel=xlabel, ylabel=ylabel)
    try:
        data = matrix.astype(float)
    except (TypeError, ValueError) as e:
        raise ValueError(f"matrix cells must be numeric ({e}); compute the numbers before plotting") from None
    if data.isna().all().all():  # every cell blank (no complete period yet): no colours to scale, say so
        return empty_chart(ax, title=title, xlabel=xlabel, ylabel=ylabel)
    f = _value_formatter(fmt)
    data.index, data.columns = _axis_labels(matrix.index), _axis_labels(matrix.columns)
    if ax is None:
        h = max(3.0, min(12.0, 0.35 * len(data) + 1.5))
        w = max(5.0, min(14.0, 0.6 * len(data.columns) + 2.5))
        ax = _new_axes(figsize=(w, h))
    sns.heatmap(
        data,
        ax=ax,
        annot=annot and data.size <= 600,
        fmt=fmt,
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        cbar=True,
        cbar_kws={"format": FuncFormatter(lambda v, _pos: f(v))},
        linewidths=0.5,
        linecolor="white",
        annot_kws={"fontsize": 8 if data.size <= 100 else 7},
    )
    ax.tick_params(axis="y", labelrotation=0)
    if _crowded(list(data.columns)):  # long column names (加入购物车, 支付成功, ...) would touch
        for lab in ax.get_xticklabels():
            lab.set(rotation=30, horizontalalignment="right", rotation_mode="anchor")
    ax.grid(False)  # the theme grid would cross blank (NaN) cells
    return _finish(ax, title, xlabel, ylabel)


def check_chart(ax: Axes) -> None:
    """Check that a chart has a title, an x label and a y label.

    Used by tests and by notebooks' smoke checks.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The chart to check.

    Raises
    ------
    ValueError
        Naming each missing part (``title``, ``x label``, ``y label``) and the chart's title when it has one.
    TypeError
        ``ax`` is not a matplotlib Axes.
    """
    if not isinstance(ax, Axes):
        raise TypeError(f"check_chart needs a matplotlib Axes, not {type(ax).__name__}")
    missing = [
        what
        for what, text in (("title", ax.get_title()), ("x label", ax.get_xlabel()), ("y label", ax.get_ylabel()))
        if not str(text).strip()
    ]
    if missing:
        name = f"chart {ax.get_title()!r}" if ax.get_title().strip() else "chart"
        raise ValueError(f"{name} is missing its {', '.join(missing)}: every chart needs a title and labelled axes")
