"""Chart theme (with a CJK font, so Chinese renders) and generic charts.

:func:`set_theme` is the one place that changes matplotlib's global settings. Chart functions only draw:
data in, ``ax=None`` in, the Axes out; each sets its own title and axis labels.
"""
from __future__ import annotations

import functools
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib import font_manager
from matplotlib.ticker import FuncFormatter

from .fmt import fmt_int, fmt_num, fmt_pct

__all__ = ["set_theme", "cjk_font_name", "cjk_font_path", "plot_bar", "plot_line", "plot_heatmap", "check_chart"]

_SYSTEM_CJK = ("Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
               "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei", "PingFang SC",
               "Heiti SC", "Arial Unicode MS")


@functools.lru_cache(maxsize=1)
def cjk_font_path() -> str | None:
    """Path of the CJK font used for charts: the Noto Sans CJK shipped by the ``cvttf-notosanscjk-regular``
    package, else an installed system CJK font, else None."""
    try:
        import cvttf_NotoSansCJK_Regular as pkg

        for p in sorted(Path(pkg.__file__).parent.glob("*.otf")):
            return str(p)
    except ImportError:
        pass
    for name in _SYSTEM_CJK:
        for f in font_manager.fontManager.ttflist:
            if f.name == name:
                return f.fname
    return None


@functools.lru_cache(maxsize=1)
def cjk_font_name() -> str:
    """Family name of the CJK font (registered with matplotlib); RuntimeError with a fix when none."""
    path = cjk_font_path()
    if path is None:
        raise RuntimeError(
            "no CJK font found, so Chinese text would render as empty boxes. Fix: pip install "
            "cvttf-notosanscjk-regular (a dependency of ubakit: run `make env`), or install a system font "
            "such as fonts-noto-cjk")
    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


def set_theme(*, context: str = "notebook") -> str:
    """Report chart theme: seaborn whitegrid, the CJK font first (DejaVu Sans after it for Latin), minus
    signs that every font has, a size and resolution for HTML reports. Idempotent. Returns the font name."""
    import seaborn as sns

    name = cjk_font_name()
    sns.set_theme(context=context, style="whitegrid", palette="deep")
    plt.rcParams.update({
        "font.family": "sans-serif",
        "font.sans-serif": [name, "DejaVu Sans"],
        "axes.unicode_minus": False,
        "figure.figsize": (8, 4.5),
        "figure.dpi": 110,
        "savefig.dpi": 110,
        "axes.titleweight": "normal",
        "figure.autolayout": True,
    })
    return name


def _formatter(fmt):
    if fmt is None:
        return lambda v: fmt_int(v) if float(v).is_integer() else fmt_num(v)
    if fmt in ("pct", "%"):
        return fmt_pct
    if callable(fmt):
        return fmt
    return lambda v: format(v, fmt)


def plot_bar(table: pd.DataFrame, *, x: str, y: str, title: str, xlabel: str, ylabel: str, ax=None,
             horizontal: bool = False, annotate: bool = True, fmt=None, color=None):
    """Bars of ``y`` per ``x`` (categories in table order). ``horizontal`` puts categories on the y axis
    (first row on top). ``fmt``: None (thousands), ``"pct"``, a format spec or a callable, for the value
    axis and the annotations. Returns the Axes."""
    if ax is None:
        _, ax = plt.subplots()
    f = _formatter(fmt)
    labels = table[x].astype(str).tolist()
    values = pd.to_numeric(table[y], errors="coerce").fillna(0).tolist()
    if horizontal:
        pos = list(range(len(labels)))[::-1]
        bars = ax.barh(pos, values, color=color or "C0")
        ax.set_yticks(pos, labels)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f(v)))
    else:
        pos = list(range(len(labels)))
        bars = ax.bar(pos, values, color=color or "C0")
        ax.set_xticks(pos, labels, rotation=30 if max((len(s) for s in labels), default=0) > 6 else 0,
                      ha="right" if max((len(s) for s in labels), default=0) > 6 else "center")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f(v)))
    if annotate and values:
        ax.bar_label(bars, labels=[f(v) for v in values], padding=2, fontsize="small")
        if horizontal:
            ax.set_xlim(0, max(values) * 1.15 if max(values) > 0 else 1)
        else:
            ax.set_ylim(0, max(values) * 1.15 if max(values) > 0 else 1)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def plot_line(table: pd.DataFrame, *, x: str, y: str, title: str, xlabel: str, ylabel: str, hue: str | None = None,
              ax=None, fmt=None, marker: str = "o"):
    """Lines of ``y`` over ``x`` (one per ``hue`` value, in order of appearance). Dates on x are formatted
    as month-day. Returns the Axes."""
    if ax is None:
        _, ax = plt.subplots()
    groups = [(None, table)] if hue is None else [(k, table[table[hue] == k]) for k in pd.unique(table[hue])]
    for key, g in groups:
        ax.plot(g[x], g[y], marker=marker, markersize=3, label=None if key is None else str(key))
    if hue is not None:
        ax.legend(title=None, fontsize="small")
    f = _formatter(fmt)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f(v)))
    if pd.api.types.is_datetime64_any_dtype(table[x]):
        import matplotlib.dates as mdates

        loc = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(loc)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def plot_heatmap(matrix: pd.DataFrame, *, title: str, xlabel: str, ylabel: str, ax=None, fmt: str = ".0%",
                 cmap: str = "Blues", annot: bool = True, vmin=None, vmax=None):
    """Annotated heatmap of a DataFrame (index on y, columns on x); NaN cells stay blank. Returns the Axes."""
    import seaborn as sns

    if ax is None:
        h = max(3.0, min(12.0, 0.35 * len(matrix) + 1.5))
        w = max(5.0, min(14.0, 0.6 * len(matrix.columns) + 2.5))
        _, ax = plt.subplots(figsize=(w, h))
    data = matrix.astype(float)
    sns.heatmap(data, ax=ax, annot=annot and data.size <= 600, fmt=fmt, cmap=cmap, vmin=vmin, vmax=vmax,
                cbar=True, linewidths=0.5, linecolor="white", annot_kws={"fontsize": 7})
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def check_chart(ax) -> None:
    """Raise ValueError naming what a chart lacks: a title, an x label or a y label."""
    missing = [what for what, text in (("title", ax.get_title()), ("x label", ax.get_xlabel()),
                                       ("y label", ax.get_ylabel())) if not str(text).strip()]
    if missing:
        raise ValueError(f"chart is missing its {', '.join(missing)}: every chart needs a title and labelled axes")
