"""Campaign parameters: one YAML per campaign in ``params/``, merged over ``params/_defaults.yaml``,
validated by a schema before anything runs.

Every problem is reported at once, with its key path and a hint (:class:`ParamsError`). Unknown or
misspelt keys are errors (with a "did you mean"), as are wrong types, missing input files, unknown
notebooks and unknown time zones. ``python -m helpers validate params/<campaign>.yaml`` does only this.

The full reference of keys is ``docs/params.md``.
"""

from __future__ import annotations

import copy
import datetime as dt
import glob
import os
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from .checks import params_problems
from .errors import ParamsError
from .locations import SLUG_PATTERN, check_slug, project_root
from .periods import describe_period, resolve_period, today_in
from .schema import TABLES
from .sections import (
    ChurnParams,
    ClusteringParams,
    FunnelParams,
    IdentityParams,
    PathsParams,
    PrivacyParams,
    ProfileParams,
    RetentionParams,
    RFMParams,
    SentimentParams,
    TrackingParams,
    TrendsParams,
    in_language,
    page_label,
)
from .sections_attribution import AttributionParams, DriversParams
from .sections_clv import CLVParams
from .sections_experiment import ExperimentParams
from .sections_impact import ImpactParams
from .sections_products import ProductsParams
from .sections_spark import SparkParams
from .sections_tags import AudienceSpec, TagSpec, tag_problems
from .spelling import closest
from .spelling import did_you_mean as _did_you_mean
from .sqlsafety import derive_problem
from .tracking import plan_problems

__all__ = [
    "ParamsError",
    "Campaign",
    "TableSpec",
    "Source",
    "Rule",
    "load_params",
    "defaults_note",
    "language_notes",
    "params_path",
    "available_notebooks",
    "resolve_input",
]


RAW_PLACEHOLDER = "{raw}"
#: default ``source.null_values``: what databases and tools write for a missing value
NULL_VALUES = ("NULL", "null", "\\N", "None", "NaN", "-", "")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, validate_default=True)


# --------------------------------------------------------------------------------------------------- inputs
class Source(_Strict):
    """Where a table's raw rows come from."""

    path: str = Field(
        description="file or glob; relative paths are from the project root; "
        "'{raw}/...' is the campaign's generated-data folder (demo)"
    )
    format: Literal["auto", "csv", "excel", "parquet", "jsonl"] = "auto"
    encoding: Literal["auto", "utf-8", "utf-8-sig", "gbk", "gb18030", "gb2312", "big5", "latin-1"] = "auto"
    delimiter: str | None = Field(
        None,
        description="CSV delimiter (',', ';', '\\t', '|') or 'whitespace' (whitespace-aligned text); default: detected",
    )
    sheet: str | int | None = Field(None, description="Excel sheet name or index; default the first")
    header: bool = Field(True, description="first line holds the column names; false: names are column0, column1, ...")
    max_line_size: int = Field(
        64 << 20, ge=1024, description="longest line (bytes) read; longer lines are quarantined as line_too_long"
    )
    decimal: Literal["auto", ".", ","] = Field(
        "auto", description="decimal mark of numbers; auto: ',' for ';'-separated files whose numbers look like 1,5"
    )
    null_values: list[str] = Field(
        default_factory=lambda: list(NULL_VALUES),
        description="placeholder texts that mean 'no value' in every mapped column (compared after trimming)",
    )


_OPS = ("equals", "in_", "starts_with", "regex", "is_null", "lt", "gt")


class Rule(_Strict):
    """An extra cleaning rule: rows matching it are quarantined with ``reason``.

    Exactly one condition: ``equals``, ``in``, ``starts_with``, ``regex``, ``is_null``, ``lt``, ``gt``.
    ``column`` is a source column name (before mapping) or a canonical column. ``label``: the reason as the
    campaign's pages name it, in its language ("已取消的发票") or per language (``{zh: 已取消的发票, en: cancelled
    invoice}``: the campaign's language is kept); the quarantine files keep ``reason``.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    reason: str = Field(pattern=SLUG_PATTERN)
    label: str | None = None
    column: str
    equals: str | float | None = None
    in_: list[str | float] | None = Field(None, alias="in")
    starts_with: str | None = None
    regex: str | None = None
    is_null: bool | None = None
    lt: float | None = None
    gt: float | None = None

    @field_validator("label", mode="before")
    @classmethod
    def _label_language(cls, v, info: ValidationInfo):
        return page_label(v, info)

    @model_validator(mode="after")
    def _one_condition(self) -> Rule:
        given = [op for op in _OPS if getattr(self, op) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one condition of equals / in / starts_with / regex / is_null / lt / gt "
                f"(got {', '.join(o.rstrip('_') for o in given) or 'none'})"
            )
        return self


class TableSpec(_Strict):
    """How to build one canonical table: from a source file, or derived from another clean table."""

    source: Source | None = None
    derive_from: Literal["events", "orders"] | None = Field(
        None, description="build this table from another clean table instead of a file"
    )
    where_event: list[str] | None = Field(
        None, description="derive_from: events -> the events that are orders (e.g. [buy])"
    )
    event_name: str = Field("buy", description="derive_from: orders -> event name given to each order row")
    columns: dict[str, str] = Field(default_factory=dict, description="canonical name -> source column")
    derive: dict[str, str] = Field(
        default_factory=dict, description="column -> SQL expression over source columns (text; cast as needed)"
    )
    values: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="column -> {source value: canonical value}"
    )
    ts_format: str = Field("auto", description="auto | epoch_s | epoch_ms | a strptime format such as '%Y-%m-%d %H'")
    source_timezone: str | None = Field(
        None, description="time zone of naive timestamps in the source (default: the campaign time zone)"
    )
    keep_extra: bool = Field(True, description="keep unmapped source columns as extra properties")
    events: list[str] | None = Field(
        None, description="events table: the known event names; others are quarantined as unknown_event"
    )
    max_amount: float | None = Field(None, description="amounts above this are quarantined as implausible_amount")
    allow_negative_amount: bool = False
    dedupe: bool = Field(True, description="quarantine exact duplicate rows (all source columns equal)")
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _source_or_derived(self) -> TableSpec:
        if (self.source is None) == (self.derive_from is None):
            raise ValueError("give either 'source' (a file) or 'derive_from' (another table), not both or neither")
        if self.derive_from == "events" and not self.where_event:
            raise ValueError("derive_from: events needs where_event, e.g. where_event: [buy]")
        return self

    @field_validator("source_timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return _check_tz(v) if v else v

    @field_validator("values", mode="before")
    @classmethod
    def _numbers_as_text(cls, v: Any) -> Any:
        """A number in a ``values`` map (``label: {好评: 1}``, ``rating: {5: 五星}``) is the text YAML read it from:
        the maps compare and give text. It was "Input should be a valid string, got 1"."""

        def text(x: Any) -> Any:
            return str(x) if isinstance(x, int | float) and not isinstance(x, bool) else x

        if not isinstance(v, dict):
            return v
        return {k: {text(a): text(b) for a, b in m.items()} if isinstance(m, dict) else m for k, m in v.items()}


class Tables(_Strict):
    events: TableSpec | None = None
    orders: TableSpec | None = None
    reviews: TableSpec | None = None
    users: TableSpec | None = None


class Period(_Strict):
    """Analysis period, inclusive calendar days in the campaign time zone: absolute ``start``/``end``, or relative
    ``last: 28d`` / ``last_full: week|month`` (``until: yesterday`` by default), resolved to ``start``/``end`` when
    the params are loaded (helpers/periods.py); the relative spec is kept in ``last``/``last_full``/``until``."""

    start: dt.date
    end: dt.date
    last: str | None = Field(None, description="relative period: 7d, 28d, 4w, 3m (ends on `until`)")
    last_full: Literal["week", "month"] | None = Field(None, description="the last complete week or month")
    until: str | None = Field(None, description="end of a relative period: yesterday (default), today or a date")

    @model_validator(mode="before")
    @classmethod
    def _relative(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict) or (data.get("last") is None and data.get("last_full") is None):
            return data
        given = [k for k in ("start", "end") if data.get(k) is not None]
        if given:
            raise ValueError(f"give either start/end or last/last_full, not both (remove {', '.join(given)})")
        ctx = info.context or {}
        today = ctx.get("today") or today_in(ctx.get("timezone"))
        until = data.get("until")
        start, end = resolve_period(last=data.get("last"), last_full=data.get("last_full"), until=until, today=today)
        return {**data, "start": start, "end": end, "until": None if until is None else str(until)}

    @property
    def spec(self) -> str | None:
        """The relative spec as written (``"last 28d until yesterday"``), None for an absolute period."""
        return describe_period(self.last, self.last_full, self.until)

    def as_meta(self) -> dict:
        """``{"start", "end", "spec"}`` as recorded in every results file."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "spec": self.spec}

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self


class Demo(_Strict):
    """Generate the demo data set (helpers.demo) into the campaign's raw folder before ingest."""

    seed: int = 42
    n_users: int = Field(2000, ge=50, le=1_000_000)
    start: dt.date = dt.date(2024, 3, 1)
    days: int = Field(60, ge=14, le=3650)


class Ingest(_Strict):
    memory_limit: str = Field("4GB", description="DuckDB memory limit; larger inputs spill to disk")
    threads: int | None = Field(None, ge=1, description="DuckDB threads (default: all cores)")
    quarantine_csv: bool = Field(True, description="also write quarantine/<table>.csv (UTF-8 with BOM, opens in Excel)")


class History(_Strict):
    """Runs that remember: each run's results are kept in ``<campaign>/history/<run_id>/`` (helpers/history.py)."""

    keep: int = Field(10, ge=1, le=1000, description="how many runs to keep (the oldest are removed)")


def _check_tz(v: str) -> str:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        close = closest(v, _zones())
        hint = f"; did you mean {close!r}?" if close else " (an IANA name such as 'Asia/Shanghai' or 'UTC')"
        raise ValueError(f"unknown time zone {v!r}{hint}") from None
    return v


def _zones() -> list[str]:
    import zoneinfo

    return sorted(zoneinfo.available_timezones())


class Campaign(_Strict):
    """A campaign: its inputs, period, time zone, engine, notebooks and per-analysis settings."""

    campaign: str = Field(pattern=SLUG_PATTERN, description="slug; outputs go to reports/<campaign>/")
    title: str = Field(description="shown on the reports, may be Chinese; or per language {zh: ..., en: ...}")
    description: str = ""
    language: Literal["zh", "en"] = Field(
        "zh", description="the one language of every page, chart and finding of this campaign (helpers/i18n.py)"
    )

    @field_validator("title", "description", mode="before")
    @classmethod
    def _campaign_text_language(cls, v, info: ValidationInfo):
        return in_language(v, info)

    timezone: str = "Asia/Shanghai"
    currency: str = Field(
        "¥",
        min_length=1,
        max_length=8,
        pattern=r"^[^<>&\"'`]+$",
        description="the sign before money on every page: ¥, £, US$ (rfm.currency may differ)",
    )
    period: Period
    engine: Literal["duckdb", "spark"] = "duckdb"
    spark: SparkParams = Field(default_factory=SparkParams)  # engine: spark: master URL, settings (sections_spark)
    clean_data: str | None = Field(
        None,
        description="where the analyses read the clean tables <table>.parquet: default "
        "reports/<campaign>/data/ (ingest's output); or a folder or URI such as "
        "s3a://bucket/ubakit/<campaign>/ holding a copy of them (README, 'Spark')",
    )
    notebooks: list[str] | None = Field(None, description="notebooks to run (default: all in notebooks/)")
    demo: Demo | None = None
    ingest: Ingest = Field(default_factory=Ingest)
    tables: Tables
    # one section per analysis (helpers/sections.py); absent = that analysis' defaults
    funnel: FunnelParams = Field(default_factory=FunnelParams)
    retention: RetentionParams = Field(default_factory=RetentionParams)
    paths: PathsParams = Field(default_factory=PathsParams)
    rfm: RFMParams = Field(default_factory=RFMParams)
    clustering: ClusteringParams = Field(default_factory=ClusteringParams)
    user_profile: ProfileParams = Field(default_factory=ProfileParams)
    sentiment: SentimentParams = Field(default_factory=SentimentParams)
    churn: ChurnParams = Field(default_factory=ChurnParams)
    # pseudonymous user ids, personal columns kept out of pages (helpers/privacy.py)
    privacy: PrivacyParams = Field(default_factory=PrivacyParams)
    # the tracking plan (helpers/tracking.py) and the data-quality report's detectors
    tracking: TrackingParams = Field(default_factory=TrackingParams)
    # identity stitching: anonymous ids attributed to the user they logged in as (helpers/identity.py)
    identity: IdentityParams = Field(default_factory=IdentityParams)
    # trends (helpers/trends.py): metrics over time and what changed against the previous window
    trends: TrendsParams = Field(default_factory=TrendsParams)
    # declared tags (标签) applied in the user profile, and audiences (人群包) over them (helpers/tags.py)
    tags: dict[str, TagSpec | None] = Field(default_factory=dict)
    audiences: dict[str, AudienceSpec] = Field(default_factory=dict)
    # products and basket analysis (helpers/products.py); absent = the products report is unavailable
    products: ProductsParams | None = None
    # customer lifetime value in the RFM report (helpers/clv.py); absent = no CLV parts
    clv: CLVParams | None = None
    # attribution of conversions to channels (helpers/attribution.py); absent = the report is unavailable
    attribution: AttributionParams | None = None
    # conversion and retention drivers in the funnel and retention reports (helpers/drivers.py)
    drivers: DriversParams = Field(default_factory=DriversParams)
    # campaign impact without a control group (helpers/impact.py); absent = the report is unavailable
    impact: ImpactParams | None = None
    # A/B experiment (helpers/experiment.py); absent = the experiment report is unavailable
    experiment: ExperimentParams | None = None
    # runs that remember: how many runs' results the batch runner keeps (helpers/history.py)
    history: History = Field(default_factory=History)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return _check_tz(v)

    @model_validator(mode="after")
    def _currency(self):
        """The RFM report's money in the campaign's currency unless ``rfm.currency`` names its own."""
        if "currency" not in self.rfm.model_fields_set:
            self.rfm.currency = self.currency
        return self

    @field_validator("clean_data")
    @classmethod
    def _clean_data(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = v.strip()
        if not v:
            raise ValueError(
                "clean_data is empty: remove the key to read ingest's output, or give a folder or "
                "URI (s3a://bucket/prefix/)"
            )
        return v

    # ------------------------------------------------------------------ convenience
    @property
    def table_names(self) -> list[str]:
        """Canonical tables this campaign provides, in build order (sources first, derived after)."""
        specs = {k: v for k, v in self.tables if v is not None}
        return sorted(specs, key=lambda k: (specs[k].derive_from is not None, list(TABLES).index(k)))

    def spec(self, table: str) -> TableSpec:
        s = getattr(self.tables, table, None)
        if s is None:
            raise KeyError(f"campaign {self.campaign!r} has no '{table}' table (params: tables.{table})")
        return s

    def run_notebooks(self, available: list[str] | None = None) -> list[str]:
        """Notebooks to run, ingest first, then by name; the runner orders them by the reports' declared
        ``reads`` (:func:`helpers.registry.run_order`) (``available``: the notebooks folder's
        names, default those of the project)."""
        names = self.notebooks if self.notebooks is not None else (available or available_notebooks())
        if self.notebooks is None and self.tracking.plan_file is None and self.tracking.plan is None:
            # the data-quality report checks the data against a tracking plan: without one it has nothing to
            # say, so it runs only when the campaign has a plan (or lists it in `notebooks:`)
            names = [n for n in names if n != "data_quality"]
        names = list(dict.fromkeys(["ingest", *names]))
        return sorted(names, key=_nb_key)


def _nb_key(name: str) -> tuple[int, str]:
    return (0 if name == "ingest" else 1, name)


def available_notebooks(folder: Path | None = None) -> list[str]:
    """Names (without ``.ipynb``) of the notebooks in ``folder`` (default the project's ``notebooks/``),
    in run order."""
    folder = Path(folder) if folder else project_root() / "notebooks"
    return sorted((p.stem for p in folder.glob("*.ipynb")), key=_nb_key)


# --------------------------------------------------------------------------------------------------- loading
def params_path(campaign_or_path: str | os.PathLike) -> Path:
    """``params/<campaign>.yaml`` for a campaign name, or the given path."""
    s = str(campaign_or_path)
    if s.endswith((".yaml", ".yml")) or os.sep in s or "/" in s:
        return Path(s).expanduser()
    check_slug(s)
    return project_root() / "params" / f"{s}.yaml"


def _deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text (pydantic parses them and reports bad ones by key)."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _read_yaml(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError(
            str(path), [("", f"file not found: {path}; campaigns live in params/<campaign>.yaml")]
        ) from None
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as e:
        raise ParamsError(str(path), [("", f"not valid YAML: {e}")]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ParamsError(str(path), [("", "the file must be a mapping of keys (campaign:, title:, ...)")])
    return data


def resolve_input(path: str, *, raw_dir: Path | None = None) -> str:
    """Absolute form of a source path (glob allowed): '~' and $VARS expanded, '{raw}' substituted,
    relative paths taken from the project root."""
    p = os.path.expandvars(os.path.expanduser(path))
    if p.startswith(RAW_PLACEHOLDER):
        if raw_dir is None:
            raise ValueError(f"{path!r} uses {RAW_PLACEHOLDER}, which only a demo campaign provides")
        p = str(raw_dir) + p[len(RAW_PLACEHOLDER) :]
    if not os.path.isabs(p):
        p = str(project_root() / p)
    return os.path.normpath(p)


def defaults_note(campaign_or_path: str | os.PathLike) -> str | None:
    """A note when a campaign's folder has no ``_defaults.yaml`` while the project's ``params/_defaults.yaml``
    exists: the campaign then runs without the shared defaults (default tags, ingest settings), which is seldom
    meant of a copy of a campaign kept elsewhere. ``None`` when the defaults apply or there are none."""
    path = params_path(campaign_or_path)
    project = project_root() / "params" / "_defaults.yaml"
    if not path.exists() or (path.parent / "_defaults.yaml").exists() or not project.exists():
        return None  # a missing campaign file is load_params' error to report
    return (
        f"note: {path.name}: no _defaults.yaml in its folder, so the shared defaults of params/_defaults.yaml "
        "(default tags, ingest settings) are not merged under it; copy that file beside the campaign to use them"
    )


def language_notes(campaign_or_path: str | os.PathLike) -> list[str]:
    """Notes on an English campaign's texts written only in Chinese (one language per page, docs/params.md
    "Texts per language"): a plain Chinese label of a cleaning rule, funnel step, trends or experiment metric is not
    shown (the page names its code), and a Chinese ``title`` or ``description`` is shown as written. Each note names
    the key path. Empty for a Chinese campaign, texts given per language, or a file that does not load as YAML
    (:func:`load_params` reports that)."""
    from .i18n import has_han

    path = params_path(campaign_or_path)
    try:
        data = _read_yaml(path)
        defaults = path.parent / "_defaults.yaml"
        if defaults.exists() and defaults.resolve() != path.resolve():
            data = _deep_merge(_read_yaml(defaults), data)
    except ParamsError:
        return []
    if not isinstance(data, dict) or data.get("language") != "en":
        return []

    def items(key: str, parent) -> list[tuple[str, object]]:
        got = parent.get(key) if isinstance(parent, dict) else None
        return [(f"{key}[{i}]", x) for i, x in enumerate(got)] if isinstance(got, list) else []

    labels: list[str] = []
    tables = data["tables"] if isinstance(data.get("tables"), dict) else {}
    spots = [(f"tables.{name}.{k}", x) for name, spec in tables.items() for k, x in items("rules", spec)]
    spots += [(f"funnel.{k}", x) for k, x in items("steps", data.get("funnel"))]
    spots += [(f"{sec}.{k}", x) for sec in ("trends", "experiment") for k, x in items("metrics", data.get(sec))]
    for where, spec in spots:
        text = spec.get("label") if isinstance(spec, dict) else None
        if isinstance(text, str) and has_han(text):
            labels.append(f"{where}.label ({text})")
    out = []
    if labels:
        out.append(
            f"note: {path.name}: language en, so these labels written only in Chinese are not shown (the pages name "
            f"the code instead): {', '.join(labels)}; give {'it' if len(labels) == 1 else 'them'} per language, "
            "e.g. {zh: 支付, en: payment}"
        )
    shown = [k for k in ("title", "description") if isinstance(data.get(k), str) and has_han(data[k])]
    if shown:
        out.append(
            f"note: {path.name}: language en, but {' and '.join(shown)} {'is' if len(shown) == 1 else 'are'} written "
            f"only in Chinese and shown as written; give {'it' if len(shown) == 1 else 'them'} per language, "
            "e.g. {zh: 春季大促, en: Spring sale}"
        )
    return out


def load_params(
    campaign_or_path: str | os.PathLike, *, check_files: bool = True, today: dt.date | None = None
) -> Campaign:
    """Load, merge over ``params/_defaults.yaml`` and validate a campaign; raise :class:`ParamsError`.

    Parameters
    ----------
    campaign_or_path : a campaign name (``demo``) or a path to its YAML.
    check_files : also check that every input file exists and every listed notebook is known.
    today : the date a relative ``period`` counts back from (default: today in the campaign's time zone, or
        ``UBAKIT_TODAY``; helpers/periods.py).
    """
    path = params_path(campaign_or_path)
    data = _read_yaml(path)
    defaults = path.parent / "_defaults.yaml"
    if defaults.exists() and defaults.resolve() != path.resolve():
        data = _deep_merge(_read_yaml(defaults), data)
    problems: list[tuple[str, str]] = []
    try:
        tz = data.get("timezone") if isinstance(data.get("timezone"), str) else "Asia/Shanghai"
        lang = data.get("language") if data.get("language") in ("zh", "en") else "zh"
        cfg = Campaign.model_validate(data, context={"today": today, "timezone": tz, "language": lang})
    except ValidationError as e:
        problems += [_describe(err, data) for err in e.errors()]
        if check_files:
            problems += [p for p in _raw_checks(data) if p[0] not in {q[0] for q in problems}]
        raise ParamsError(str(path), problems) from None
    problems += _semantic_checks(cfg, path, check_files=check_files)
    if problems:
        raise ParamsError(str(path), problems)
    return cfg


def _raw_checks(data: dict) -> list[tuple[str, str]]:
    """Best-effort file and notebook checks on raw (schema-invalid) params, so that they are reported
    together with the schema errors."""
    out: list[tuple[str, str]] = []
    known = available_notebooks()
    nbs = data.get("notebooks")
    if isinstance(nbs, list):
        for i, nb in enumerate(nbs):
            if isinstance(nb, str) and nb not in known:
                out.append(
                    (
                        f"notebooks[{i}]",
                        f"unknown notebook {nb!r}{_did_you_mean(nb, known)}; available: {', '.join(known)}",
                    )
                )
    tables = data.get("tables")
    if isinstance(tables, dict):
        for name, spec in tables.items():
            src = spec.get("source") if isinstance(spec, dict) else None
            path = src.get("path") if isinstance(src, dict) else None
            if isinstance(path, str) and not path.startswith(RAW_PLACEHOLDER):
                resolved = resolve_input(path)
                if not glob.glob(resolved):
                    out.append(
                        (
                            f"tables.{name}.source.path",
                            f"no file matches {path!r} (looked for {resolved}); "
                            "relative paths are from the project root",
                        )
                    )
    return out


def _semantic_checks(cfg: Campaign, path: Path, *, check_files: bool) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if path.stem != cfg.campaign and not path.stem.startswith("_"):
        out.append(
            (
                "campaign",
                f"is {cfg.campaign!r} but the file is {path.name}; name the file "
                f"params/{cfg.campaign}.yaml or change the campaign",
            )
        )
    known = available_notebooks()
    for i, nb in enumerate(cfg.notebooks or []):
        if nb not in known:
            out.append(
                (f"notebooks[{i}]", f"unknown notebook {nb!r}{_did_you_mean(nb, known)}; available: {', '.join(known)}")
            )
    # conditions of tags and audiences, and breakdowns by a tag (docs/tags.md)
    breakdowns = {f"{r}.breakdown": getattr(cfg, r).breakdown for r in ("trends", "funnel", "retention")}
    if cfg.experiment is not None:
        breakdowns["experiment.breakdown"] = cfg.experiment.breakdown
    out += tag_problems(cfg.tags, cfg.audiences, breakdowns)
    names = {k for k, v in cfg.tables if v is not None}
    if not names:
        out.append(("tables", "a campaign needs at least one table (events, orders, reviews or users)"))
    for tname in sorted(names):
        spec = cfg.spec(tname)
        canon = {c.name for c in TABLES[tname]}
        loc = f"tables.{tname}"
        if spec.derive_from:
            if spec.derive_from == tname or spec.derive_from not in names:
                out.append((f"{loc}.derive_from", f"table {spec.derive_from!r} is not defined in this campaign"))
            elif cfg.spec(spec.derive_from).derive_from:
                out.append((f"{loc}.derive_from", "derive from a table read from a file, not from another derived one"))
            continue
        for key in spec.columns:
            if key not in canon:
                out.append(
                    (
                        f"{loc}.columns.{key}",
                        f"{key!r} is not a column of the canonical {tname} table"
                        f"{_did_you_mean(key, canon)}; canonical columns: "
                        f"{', '.join(sorted(canon))} (extra source columns are kept "
                        f"as they are when keep_extra is true)",
                    )
                )
        for key in spec.values:
            if key not in canon:
                out.append(
                    (f"{loc}.values.{key}", f"{key!r} is not a canonical {tname} column{_did_you_mean(key, canon)}")
                )
        for key, expr in spec.derive.items():  # a params file is code: one scalar expression, nothing else
            why = derive_problem(expr)
            if why:
                out.append((f"{loc}.derive.{key}", why))
        if spec.events is not None and tname != "events":
            out.append((f"{loc}.events", "only the events table takes a list of known events"))
        if check_files and spec.source is not None:
            raw_dir = None
            if spec.source.path.startswith(RAW_PLACEHOLDER):
                if cfg.demo is None:
                    out.append(
                        (
                            f"{loc}.source.path",
                            f"'{RAW_PLACEHOLDER}' is only for demo campaigns (add a demo: section or give a real path)",
                        )
                    )
                continue
            resolved = resolve_input(spec.source.path, raw_dir=raw_dir)
            if not glob.glob(resolved):
                out.append(
                    (
                        f"{loc}.source.path",
                        f"no file matches {spec.source.path!r} (looked for {resolved}); "
                        "relative paths are from the project root",
                    )
                )
    a = cfg.experiment.assignment if cfg.experiment is not None else None
    if check_files and a is not None and a.source == "table" and a.path and not a.path.startswith(RAW_PLACEHOLDER):
        resolved = resolve_input(a.path)  # found at run time, after ingest, as "the experiment is unavailable"
        if not Path(resolved).is_file():
            out.append(
                (
                    "experiment.assignment.path",
                    f"no file {a.path!r} (looked for {resolved}); relative paths are from the project root",
                )
            )
    # the values named in the analysis sections: declared events, known columns, step_windows (helpers/checks.py)
    out += params_problems(cfg)
    out += plan_problems(cfg)  # the tracking plan (helpers/tracking.py)
    return out


def _loc(loc: tuple) -> str:
    s = ""
    for part in loc:
        if isinstance(part, int):
            s += f"[{part}]"
        else:
            s += ("." if s else "") + str(part)
    return s


def _fields_at(data: Any, loc: tuple) -> tuple[type[BaseModel] | None, Any]:
    """Model class and raw value at the parent of ``loc`` (for did-you-mean on unknown keys)."""
    model: Any = Campaign
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            model = _inner_model(model) if model is not None else None
            continue
        fld = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        model = _inner_model(fld.annotation) if fld else None
    return model, None


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation) or ():
        found = _inner_model(arg)
        if found:
            return found
    return None


def _describe(err: Any, data: dict) -> tuple[str, str]:
    loc = tuple(err["loc"])
    # pydantic puts the failing union member's name in loc (e.g. 'TableSpec'); drop those for readability
    loc = tuple(p for p in loc if not (isinstance(p, str) and p[:1].isupper()))
    where = _loc(loc)
    typ = err["type"]
    if typ == "extra_forbidden":
        model, _ = _fields_at(data, loc)
        names = []
        if model is not None:
            names = [f.alias or n for n, f in model.model_fields.items()]
        hint = _did_you_mean(loc[-1], names)
        allowed = f"; allowed keys here: {', '.join(names)}" if names else ""
        return where, f"unknown key{hint}{allowed}"
    if typ == "missing":
        return where, "required key is missing"
    inp = err.get("input")
    shown = repr(inp) if not isinstance(inp, dict) else "a mapping"
    if len(shown) > 60:
        shown = shown[:57] + "..."
    msg = err["msg"].removeprefix("Value error, ")
    if typ == "string_pattern_mismatch" and loc and loc[-1] in ("campaign", "reason"):
        msg = "must be a slug: lower-case letters, digits, '-' or '_' (e.g. 'taobao-2017')"
    if typ.startswith("date"):
        msg += " (write dates as YYYY-MM-DD)"
    if typ == "value_error" and isinstance(inp, dict):
        return where, msg  # a check across keys: its message names the values; "got a mapping" says nothing
    return where, f"{msg}, got {shown}"
