"""The notebook's entry point: ``ctx = helpers.open_campaign(campaign, ...)`` loads and validates the
campaign, prepares its folders, sets the chart theme and gives access to the clean tables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .locations import CampaignPaths, campaign_paths
from .params import Campaign, load_params, params_path

__all__ = ["Context", "open_campaign", "batch_mode", "new_run_id", "observed_end"]


def new_run_id(prefix: str = "run") -> str:
    """A run id: ``<prefix>-YYYYMMDD-HHMMSS-<6 hex>`` (time first, so ids sort by time)."""
    import datetime as dt
    import secrets

    return f"{prefix}-{dt.datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def batch_mode() -> bool:
    """True when run by the batch runner (no interactive progress bars in reports)."""
    return os.environ.get("UBAKIT_BATCH") == "1"


@dataclass
class Context:
    """A loaded campaign: validated params, output paths and lazy access to the clean tables."""

    cfg: Campaign
    paths: CampaignPaths
    params_file: Path
    _con: object = field(default=None, repr=False)
    #: one id per batch run (set by the runner), or a fresh local id per interactive session
    run_id: str = field(default_factory=lambda: os.environ.get("UBAKIT_RUN_ID") or new_run_id("local"))
    #: clean tables this context has read (recorded in the results as ``inputs``)
    tables_read: set = field(default_factory=set, repr=False)
    #: other reports' tables used: ``{report: run_id}`` (recorded in the results as ``upstream``)
    upstream_used: dict = field(default_factory=dict, repr=False)
    #: other reports' tables refused or missing: ``{report: why}``
    upstream_problems: dict = field(default_factory=dict, repr=False)
    #: the clean data's last time (:meth:`observed_end`), read once
    _last_ts: dict = field(default_factory=dict, repr=False)  # table (None: the campaign's) -> _last_time

    @property
    def campaign(self) -> str:
        return self.cfg.campaign

    @property
    def con(self):
        """The Ibis backend of the campaign's engine (created on first use)."""
        if self._con is None:
            from .engine import connect

            self._con = connect(self.cfg, self.paths)
        return self._con

    def has(self, table: str) -> bool:
        """Whether the clean table exists (the campaign defines it and ingest has run; with a remote
        ``clean_data`` URI: whether the campaign defines it)."""
        from .engine import clean_table_location, is_remote

        self.tables_read.add(table)
        loc = clean_table_location(self.paths, table, self.cfg.clean_data)
        if is_remote(loc):
            return table in self.cfg.table_names
        return Path(loc).exists()

    def table(self, name: str):
        """Clean canonical table as a lazy Ibis table (event-level work stays in the engine)."""
        from .engine import read_table

        self.tables_read.add(name)
        return read_table(self.con, self.paths, name, self.cfg.clean_data)

    def df(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """Clean canonical table as pandas (for small tables: reviews, users, results)."""
        from .engine import clean_table_location, is_remote

        self.tables_read.add(name)
        loc = clean_table_location(self.paths, name, self.cfg.clean_data)
        if is_remote(loc) or self.cfg.engine != "duckdb":
            t = self.table(name)
            return (t.select(*columns) if columns else t).to_pandas()
        if not Path(loc).exists():
            self.table(name)  # raises the clear error
        return pd.read_parquet(loc, columns=columns)

    def observed_end(self, table: str | None = None) -> tuple[pd.Timestamp, tuple | None]:
        """:func:`observed_end` of this campaign (of ``table``), the data's last time read once per context."""
        if table not in self._last_ts:
            self._last_ts[table] = _last_time(self, table)
        return _observed(self, *self._last_ts[table])

    def ingest_manifest(self) -> dict:
        """What ingest reported (rows in/out, reasons, ranges) as written to ``data/_ingest.json``."""
        import json

        p = self.paths.data / "_ingest.json"
        if not p.exists():
            raise FileNotFoundError(f"{p} does not exist: run the ingest notebook first")
        return json.loads(p.read_text(encoding="utf-8"))


def open_campaign(
    campaign: str = "demo", *, params_file: str = "", reports_dir: str = "", theme: bool = True
) -> Context:
    """Load and validate a campaign and prepare its output folders.

    Parameters
    ----------
    campaign : campaign name; its params are ``params/<campaign>.yaml`` unless ``params_file`` is given.
    params_file : explicit path of the campaign YAML (the batch runner passes it).
    reports_dir : folder holding ``<campaign>/`` outputs (default ``reports/`` of the project).
    theme : set the report chart theme (CJK font) with :func:`helpers.plots.set_theme`.
    """
    pfile = params_path(params_file or campaign)
    cfg = load_params(pfile)
    if cfg.campaign != campaign and not params_file:
        raise ValueError(f"params/{campaign}.yaml declares campaign {cfg.campaign!r}")
    paths = campaign_paths(cfg.campaign, reports_dir or os.environ.get("UBAKIT_REPORTS_DIR") or None).ensure()
    from .i18n import set_language

    set_language(cfg.language)
    if theme:
        from .plots import set_theme

        set_theme()
    return Context(cfg=cfg, paths=paths, params_file=pfile)


def observed_end(ctx, table: str | None = None) -> tuple[pd.Timestamp, tuple | None]:
    """Where observation ends, as an exclusive local midnight: the day after the period's end, or after the clean
    data's last day when the data ends before the period (a feed a day late, a period set past the data), with the
    cut ``(last day, period end)``; or after the day before the data's last day when that day is only partly loaded
    (today, or a load that stopped early in the day: :func:`helpers.periods.partial_day`), with a
    :class:`~helpers.periods.PartialCut` (:func:`helpers.periods.data_end`; None when the data reaches the end),
    which :func:`helpers.periods.cut_note` words.
    One rule for every window that must be fully observed: the trends and product windows, funnel censoring,
    retention cohorts and churn cutoffs. The data's end is the events' (else the orders') last time, or that of
    ``table`` when a report reads another (products on an orders file that ends before the events). ``ctx``: a
    :class:`Context` (which reads it once) or any stand-in with ``cfg``, ``has`` and ``table``."""
    if isinstance(ctx, Context):
        return ctx.observed_end(table)
    return _observed(ctx, *_last_time(ctx, table))


def _last_time(ctx, table: str | None = None) -> tuple:
    """``(last, day_ends)``: the last time of ``table`` (default: the events', else the orders'), and the last time
    of each of the 7 days before its day that have data (two small queries: the second reads only those days)."""
    order = (table,) if table else ("events", "orders")
    name = next((n for n in order if ctx.has(n)), None)
    if not name:
        return None, ()
    t = ctx.table(name)
    last = t.ts.max().to_pyarrow().as_py()
    if last is None:
        return None, ()
    since = pd.Timestamp(last).normalize() - pd.Timedelta(days=7)
    recent = t.filter((t.ts >= since.to_pydatetime()) & (t.ts < pd.Timestamp(last).normalize().to_pydatetime()))
    ends = recent.group_by(day=recent.ts.date()).agg(end=recent.ts.max()).to_pyarrow()
    return last, tuple(ends.column("end").to_pylist())


def _observed(ctx, last, day_ends=()) -> tuple[pd.Timestamp, tuple | None]:
    from .periods import data_end, today_in

    p = ctx.cfg.period
    day, cut = data_end(
        p.end, last, day_ends=day_ends, today=today_in(getattr(ctx.cfg, "timezone", None)), period_start=p.start
    )
    return pd.Timestamp(day) + pd.Timedelta(days=1), cut
