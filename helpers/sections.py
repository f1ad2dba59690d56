"""Per-analysis sections of the campaign params (``funnel:``, ``retention:``, ...).

One pydantic model per analysis, each owned by its analysis module's issue; ``helpers.params.Campaign``
has one optional field per model below. Unknown keys are errors like everywhere in the params.
Every section is optional: a missing section means the defaults documented in that analysis' docs page.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator

__all__ = [
    "Section",
    "in_language",
    "page_label",
    "pick_language",
    "FunnelParams",
    "RetentionParams",
    "PathsParams",
    "RFMParams",
    "ClusteringParams",
    "ProfileParams",
    "SentimentParams",
    "ChurnParams",
    "PrivacyParams",
    "IdentityParams",
    "IdentityMapping",
    "TrackingParams",
    "TrendMetric",
    "TrendsParams",
]


def in_language(v, info: ValidationInfo):
    """A text given per language (``{zh: 高活跃, en: highly active}``) as the campaign language's text (the
    ``language`` of the validation context, default zh); plain text as given. Lists are resolved item by item.
    Tag labels, cleaning rule labels and product exclusion reasons take it (docs/params.md)."""
    if isinstance(v, list):
        return [in_language(x, info) for x in v]
    return pick_language(v, (info.context or {}).get("language") or "zh")


#: what a text per language must look like (pydantic sections and the tracking plan alike)
PER_LANGUAGE_HINT = "a text per language needs the keys zh and en, e.g. {zh: 高活跃, en: high}"


def pick_language(v, language: str):
    """``v`` in ``language``: a mapping ``{zh: ..., en: ...}`` gives its ``language`` text, anything else is returned
    as given. :class:`ValueError` (:data:`PER_LANGUAGE_HINT`) for a mapping without both keys. One rule for the
    params' sections (:func:`in_language`) and the tracking plan (helpers/tracking.py)."""
    if isinstance(v, dict):
        if set(v) != {"zh", "en"}:
            raise ValueError(f"{PER_LANGUAGE_HINT}; got {v}")
        return v[language]
    return v


def page_label(v, info: ValidationInfo) -> str:
    """A label that has a code to fall back on (a cleaning rule's ``reason``, a funnel step's event, a metric's
    name), in the campaign's language (:func:`in_language`). Plain text with Chinese characters on an English
    campaign is dropped (``""``), so the page names the code instead: one language per page. ``validate`` and
    ``run`` say which keys lost their label (:func:`helpers.params.language_notes`)."""
    from .i18n import has_han

    text = in_language(v, info)
    english = ((info.context or {}).get("language") or "zh") == "en"
    return "" if english and not isinstance(v, dict) and isinstance(text, str) and has_han(text) else text


class Section(BaseModel):
    """Base of every section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", validate_default=True, populate_by_name=True)


# --- funnel (issue: funnel/retention/lifecycle/paths) -------------------------------------------------
class StepSpec(Section):
    """A funnel step given as a mapping: an event (or events) with optional property filters."""

    event: str | list[str]
    where: dict[str, str | list[str]] = Field(default_factory=dict)
    label: str = ""

    @field_validator("label", mode="before")
    @classmethod
    def _text_language(cls, v, info: ValidationInfo):
        return page_label(v, info)


class Exclusion(Section):
    """Remove attempts with ``event`` strictly between steps ``between[0]`` and ``between[1]`` (1-based)."""

    event: str
    between: list[int] = Field(default_factory=lambda: [1, 2], min_length=2, max_length=2)


def _duration(v):
    """A window param as text: ``'72h'``, ``'7d'``, ``'30m'``, or a number of hours, kept as ``'48h'``
    (docs/funnel.md). Anything else but text or a number is left to the ``str`` check (it says what it got)."""
    from .durations import window_text

    if isinstance(v, bool) or not isinstance(v, (str, int, float)):
        return v
    try:
        return window_text(v)
    except ValueError:
        raise ValueError("must be a positive duration: write e.g. '72h', '7d', '30m' or a number of hours") from None


Duration = Annotated[str, BeforeValidator(_duration)]


class FunnelParams(Section):
    """``funnel:`` section (docs/funnel.md)."""

    steps: list[str | list[str] | StepSpec] = Field(
        default_factory=list, description="event per step; default: view/cart/order/pay or pv/cart/buy when present"
    )
    mode: Literal["ordered", "strict", "unordered"] = "ordered"
    window: Duration = Field("72h", description="conversion window from step 1: '72h', '7d', '30m' or hours")
    step_windows: list[Duration | None] | None = Field(
        None, description="max time from step k to k+1, one per gap ('2h', or hours; null = no limit)"
    )
    exclusions: list[Exclusion] = Field(default_factory=list)
    breakdown: str | None = Field(None, description="property for the breakdown (first touch), e.g. channel")
    compare: list[str] | None = Field(None, description="two breakdown groups to test; default the worst vs best")
    breakdown_top: int = Field(
        10, ge=1, description="groups on the page's chart and table, the most entered users first"
    )
    include_censored: bool = Field(False, description="count users without a full window in the rates")
    trend_period: Literal["day", "week"] = "day"

    @field_validator("compare")
    @classmethod
    def _compare(cls, v):
        if v is not None and len(v) != 2:
            raise ValueError("compare takes exactly two group values")
        return v


# --- retention + lifecycle + stickiness ----------------------------------------------------------------
class RetentionParams(Section):
    """``retention:`` section (docs/retention.md)."""

    period: Literal["day", "week", "month"] = Field("week", description="cohort period")
    criterion: Literal["on", "on_or_after"] = "on"
    start_events: list[str] | None = Field(None, description="cohort by the first of these events (default any)")
    return_events: list[str] | None = Field(None, description="events that count as coming back (default any)")
    max_periods: int | None = Field(None, ge=1, description="show at most this many periods")
    lifecycle_period: Literal["day", "week", "month"] = "week"
    stickiness_period: Literal["week", "month"] = "week"
    breakdown: str | None = Field(
        None, pattern=r"^(tag|audience):", description="tag:<name> or audience:<name>: the average curve per value"
    )


# --- user paths (transitions, top paths) ---------------------------------------------------------------
class PathsParams(Section):
    """``paths:`` section (docs/paths.md)."""

    session_gap_minutes: float = Field(30, gt=0, description="inactivity gap that ends a session (no session_id)")
    start_event: str | None = Field(None, description="top paths after this event (default: funnel step 1)")
    end_event: str | None = Field(None, description="top paths before this event (default: last funnel step)")
    path_length: int = Field(4, ge=2, le=10)
    top_n: int = Field(10, ge=1)
    max_events: int = Field(12, ge=2, description="events shown in the transition heatmap; others grouped")


# --- RFM -----------------------------------------------------------------------------------------------
class RFMParams(Section):
    """``rfm:`` section (docs/rfm.md)."""

    scheme: Literal["named11", "cn8"] = Field(
        "named11", description="main segment scheme ('segment' column); both are computed and shipped"
    )
    as_of: dt.date | None = Field(
        None, description="reference day: orders before it count (default: the day after the last order)"
    )
    bins: int = Field(5, ge=2, le=5, description="score levels per column (5 = quintiles); scores stay on 1-5")
    returns: Literal["exclude", "net"] = Field(
        "exclude",
        description="rows with a negative amount (returns kept by ingest): exclude = ignore them; "
        "net = subtract them from M (never orders for R/F)",
    )
    currency: str = Field("¥", description="currency sign for money in the report (default: the campaign's currency)")
    buy_events: list[str] = Field(
        default_factory=lambda: ["buy", "pay"], description="events that are orders when there is no orders table"
    )
    bgnbd: bool = Field(True, description="fit the BG/NBD model: probability alive, expected purchases")
    bgnbd_horizon_days: int = Field(30, ge=1, le=3650, description="BG/NBD: expected purchase days in the next N days")
    bgnbd_holdout: bool = Field(
        True,
        description="BG/NBD: refit without the last horizon and compare predicted "
        "with actual purchases (needs 2 x horizon of data)",
    )


# --- clustering ----------------------------------------------------------------------------------------
class ClusteringParams(Section):
    """``clustering:`` section (docs/clustering.md)."""

    features: list[str] | None = Field(None, description="feature columns (default: all varying numeric ones)")
    method: Literal["kmeans", "dbscan"] = "kmeans"
    k: int | None = Field(None, ge=2, description="fixed k (default: best silhouette in k_min..k_max)")
    k_min: int = Field(2, ge=2)
    k_max: int = Field(8, ge=2)
    log_transform: bool = True
    pca_components: int | None = Field(None, ge=2)
    dbscan_eps: float = Field(0.8, gt=0)
    dbscan_min_samples: int = Field(10, ge=2)
    silhouette_sample: int = Field(5000, ge=100, description="users sampled (seeded) for the silhouette")
    name_threshold: float = Field(0.5, gt=0, description="|z| a feature needs to name a cluster")
    seed: int = 42

    @model_validator(mode="after")
    def _k_range(self):
        if self.k_min > self.k_max:  # the silhouette search would try no k at all
            raise ValueError(f"k_min ({self.k_min}) is above k_max ({self.k_max}): give k_min <= k_max")
        return self


# --- user profile table --------------------------------------------------------------------------------
class ProfileParams(Section):
    """``user_profile:`` section (docs/user_profile.md)."""


# --- review sentiment ----------------------------------------------------------------------------------
class RatingLabels(Section):
    """Derive labels from star ratings: >= positive_min -> 1, <= negative_max -> 0, between -> no label; a rating
    outside ``scale`` (0, 11, -3 on a 1-5 scale: an entry error or another scale) gets no label."""

    positive_min: float = 4
    negative_max: float = 2
    scale: tuple[float, float] = Field((1, 5), description="[lowest, highest] rating; others get no label")

    @model_validator(mode="after")
    def _in_scale(self):
        lo, hi = self.scale
        if not lo <= self.negative_max <= self.positive_min <= hi:
            raise ValueError(
                f"label_from_rating: need scale[0] <= negative_max <= positive_min <= scale[1], got scale "
                f"[{lo:g}, {hi:g}], negative_max {self.negative_max:g}, positive_min {self.positive_min:g}"
            )
        return self

    def labels(self, rating) -> tuple[np.ndarray, int]:
        """The label of each rating (1, 0 or NaN) and how many ratings lie outside ``scale`` (unlabelled)."""
        r = np.asarray(rating, dtype=float)
        outside = (r < self.scale[0]) | (r > self.scale[1])
        lab = np.where(r >= self.positive_min, 1.0, np.where(r <= self.negative_max, 0.0, np.nan))
        return np.where(outside, np.nan, lab), int(outside.sum())


class SentimentParams(Section):
    """``sentiment:`` section (docs/sentiment.md)."""

    positive_min: float = Field(0.6, gt=0, lt=1, description="score >= this: positive")
    negative_max: float = Field(0.4, gt=0, lt=1, description="score <= this: negative; between: neutral")
    score_model: Literal["auto", "snownlp", "domain"] = Field(
        "auto", description="model for the scores: auto = the domain model when it beats SnowNLP on held-out rows"
    )
    model_path: str | None = Field(
        None,
        description="saved domain model (relative: in the campaign folder); reused without retraining when it exists",
    )
    retrain: bool = False
    label_from_rating: RatingLabels | None = None
    exclude_rows_file: str | None = Field(None, description="0-based source rows in SnowNLP's training data")
    test_share: float = Field(0.25, gt=0, lt=1)
    sample_size: int | None = Field(None, ge=100, description="score a seeded sample of this many reviews")
    workers: int | None = Field(None, ge=1, description="processes for SnowNLP (default: all cores)")
    user_dict: str | None = None
    stopwords_file: str | None = None
    to_simplified: bool = Field(False, description="convert traditional to simplified Chinese first")
    min_reviews: int = Field(5, ge=1, description="groups with fewer reviews are not ranked")
    boilerplate_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="phrases found in more than this share of all reviews are site boilerplate, not complaints",
    )
    seed: int = 42

    @model_validator(mode="after")
    def _order(self):
        if self.negative_max > self.positive_min:
            raise ValueError("negative_max must not exceed positive_min")
        return self

    @field_validator("model_path")
    @classmethod
    def _model_path(cls, v: str | None) -> str | None:
        """A model is written and loaded (unpickled: code) only inside the campaign folder."""
        if v is None:
            return v
        import os
        from pathlib import PurePosixPath, PureWindowsPath

        parts = PurePosixPath(v.replace("\\", "/")).parts
        if not v.strip() or v.startswith("~") or os.path.isabs(v) or PureWindowsPath(v).is_absolute() or ".." in parts:
            raise ValueError(
                "must be a path relative to the campaign folder reports/<campaign>/, without '..' and not "
                "absolute (a model is code: it is only written and loaded there), e.g. results/sentiment_model.joblib"
            )
        return v


# --- churn ---------------------------------------------------------------------------------------------
class ChurnParams(Section):
    """``churn:`` section (docs/churn.md)."""

    horizon_days: float = Field(30, gt=0, description="H: no qualifying activity in [T, T+H) = churned")
    window_days: float = Field(60, gt=0, description="W: features from [T-W, T)")
    label_events: list[str] | None = Field(None, description="events that count as activity for the label (any)")
    top_share: float = Field(0.1, gt=0, lt=1, description="share of highest-risk users for precision/recall")
    threshold: float = Field(0.5, gt=0, lt=1, description="probability threshold of the confusion matrix")
    n_bootstrap: int = Field(200, ge=20)
    seed: int = 42


# --- privacy (helpers/privacy.py) ----------------------------------------------------------------------
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class PrivacyParams(Section):
    """``privacy:`` section (docs/params.md, "privacy"): pseudonymous user ids, personal columns kept out of
    pages (and of user-level results files)."""

    pseudonymize_user_ids: bool = Field(
        False, description="replace every user id by a keyed hash (HMAC-SHA256) at ingest, in every table"
    )
    key_env: str = Field(
        "UBAKIT_PSEUDONYM_KEY", description="environment variable that holds the secret key (never the key itself)"
    )
    hide_columns: list[str] = Field(
        default_factory=list, description="personal columns never shown on pages, e.g. [age, gender, city, phone]"
    )
    hide_in_files: bool = Field(True, description="also leave hide_columns out of user-level results files")

    @field_validator("key_env")
    @classmethod
    def _key_env(cls, v: str) -> str:
        import re

        if not re.match(_ENV_NAME, v):
            raise ValueError(
                "must be the NAME of an environment variable (letters, digits, '_'), e.g. UBAKIT_PSEUDONYM_KEY; "
                "put the key itself in that variable, never in the params"
            )
        return v

    @field_validator("hide_columns")
    @classmethod
    def _hide_columns(cls, v: list[str]) -> list[str]:
        names = [str(c).strip() for c in v]
        if any(not c for c in names):
            raise ValueError("a column name is empty")
        if "user_id" in names:
            raise ValueError("user_id cannot be hidden (every user-level table needs it); use pseudonymize_user_ids")
        dup = sorted({c for c in names if names.count(c) > 1})
        if dup:
            raise ValueError(f"listed twice: {', '.join(dup)}")
        return names


# --- identity stitching (helpers/identity.py, docs/identity.md) ----------------------------------------
class IdentityMapping(Section):
    """An id-mapping file (CSV or Parquet): one row per link, anonymous or device id -> user id from a time on."""

    path: str = Field(description="the file; relative paths from the project root, '{raw}/...' for the demo")
    anonymous_col: str = Field("anonymous_id", description="column of the anonymous or device id")
    user_col: str = Field("user_id", description="column of the user id")
    ts_col: str | None = Field("ts", description="column of the valid-from time; null: valid for all time")
    ts_format: str = Field("auto", description="as tables.<table>.ts_format")


class IdentityParams(Section):
    """``identity:`` section (docs/identity.md): attribute the events of anonymous ids to the user they logged
    in as. Off unless ``login_event`` or ``mapping`` is given."""

    login_event: str | None = Field(None, description="event whose rows carry both the user id and anonymous_col")
    anonymous_col: str = Field("anonymous_id", description="events column with the anonymous id on login events")
    mapping: IdentityMapping | None = Field(None, description="an id-mapping file (instead of or besides logins)")
    anonymous_regex: str | None = Field(
        None, description="how anonymous ids look (e.g. '^anon_'), to count those never linked to a user"
    )
    original_col: str = Field("original_user_id", description="new events column with the id as collected")

    @property
    def enabled(self) -> bool:
        return bool(self.login_event) or self.mapping is not None

    @field_validator("anonymous_regex")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        import re

        if v:
            try:
                re.compile(v)
            except re.error as e:
                raise ValueError(f"not a valid regular expression: {e}") from None
        return v

    @field_validator("original_col")
    @classmethod
    def _original(cls, v: str) -> str:
        import re

        if not re.match(r"^[a-z_][a-z0-9_]*$", v) or v in ("user_id", "event", "ts"):
            raise ValueError("must be a new lower-case column name such as original_user_id")
        return v


# --- tracking plan and data quality (helpers/tracking.py, helpers/data_quality.py) ----------------------
class TrackingParams(Section):
    """``tracking:`` section (docs/data_quality.md): the tracking plan, what ingest does with rows that break
    it, and the data-quality report's detectors."""

    plan_file: str | None = Field(
        None, description="plan file (.yaml, .csv, .xlsx); relative paths are from the project root"
    )
    plan: dict | None = Field(None, description="the plan inline: {events: {...}, global_properties: {...}}")
    on_violation: Literal["flag", "quarantine"] = Field(
        "flag", description="rows that break the plan: flag = keep them (column plan_flags); quarantine"
    )
    anomaly_window_days: int = Field(14, ge=3, description="trailing days of the daily-volume detector")
    anomaly_k: float = Field(3.5, gt=0, description="flag a day beyond median +- k * max(1.4826 * MAD, sqrt(median))")
    fill_drop: float = Field(0.2, gt=0, le=1, description="a fill-rate fall of at least this much is a problem")
    receive_ts_column: str | None = Field(None, description="events column with the receive time (late data)")
    late_hours: float = Field(24, gt=0, description="received this many hours after the event time: late")

    @model_validator(mode="after")
    def _one_plan(self):
        if self.plan_file is not None and self.plan is not None:
            raise ValueError("give the plan either inline (plan) or as a file (plan_file), not both")
        return self


# --- trends (issue 14: helpers/trends.py, helpers/trend_metrics.py) ----------------------------------------
TREND_DEFAULT_METRICS = [
    "active_users", "dau", "events", "events_per_user", "paying_users", "orders", "gmv", "aov", "arpu", "arppu",
    "pay_rate", "stickiness",
]  # fmt: skip


class TrendMetric(Section):
    """A custom trends metric: ``agg`` over ``event`` (one or several, default all) with ``where`` filters, or a
    ``formula`` over other metrics (``"paying_users / active_users"``)."""

    name: str = Field(pattern=r"^[a-z_][a-z0-9_]*$", description="lower-case name, used in formulas")
    label: str = ""
    event: str | list[str] | None = None
    where: dict[str, str | list[str]] = Field(default_factory=dict)
    agg: Literal["count", "users", "sum", "avg", "median", "p90", "distinct", "per_user"] = "count"
    column: str | None = Field(None, description="the column for sum/avg/median/p90/distinct")
    formula: str | None = None

    @field_validator("label", mode="before")
    @classmethod
    def _text_language(cls, v, info: ValidationInfo):
        return page_label(v, info)

    @model_validator(mode="after")
    def _check(self):
        if self.formula is not None:
            from .formulas import formula_names

            formula_names(self.formula)
        elif self.agg in ("sum", "avg", "median", "p90", "distinct") and not self.column:
            raise ValueError(f"agg {self.agg} needs a column (column: amount)")
        return self


class TrendsParams(Section):
    """``trends:`` section (docs/trends.md)."""

    metrics: list[str | TrendMetric] = Field(default_factory=lambda: list[str | TrendMetric](TREND_DEFAULT_METRICS))
    granularity: Literal["hour", "day", "week", "month"] = "day"
    compare_days: int | None = Field(7, ge=1, description="current window: the period's last N days (null: all)")
    breakdown: str | None = Field(None, description="property to break down by, e.g. platform")
    top_n: int = Field(5, ge=1, description="groups kept by name; the rest are 'other'")
    order_events: list[str] = Field(default_factory=lambda: ["pay", "buy", "purchase"], min_length=1)
    amount_col: str = "amount"
    distribution_event: str | None = Field(None, description="event counted per user (default: all events)")
    distribution_measure: Literal["count", "days", "amount"] = "count"
    interval_from: str | None = Field(None, description="interval start event (default view or pv)")
    interval_to: str | None = Field(None, description="interval end event (default pay, buy or purchase)")
