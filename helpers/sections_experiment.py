"""The ``experiment:`` section of the campaign params (helpers/experiment.py, docs/experiment.md)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from .sections import Section, page_label

__all__ = ["ExperimentAssignment", "ExperimentMetric", "ExperimentParams"]


class ExperimentAssignment(Section):
    """Where each user's variant comes from."""

    source: Literal["users_column", "event_property", "table"] = Field(
        "users_column", description="a users-table column, an event property, or an assignments file"
    )
    column: str = Field("variant", description="the column (users table / events / assignments file) of the variant")
    path: str | None = Field(None, description="assignments file (CSV or Parquet: user_id, variant, [assigned_at])")
    user_col: str = Field("user_id", description="user column of the assignments file")
    assigned_at_col: str = Field("assigned_at", description="assignment time column of the file (optional)")

    @model_validator(mode="after")
    def _path(self):
        if self.source == "table" and not self.path:
            raise ValueError("experiment.assignment.path: required when source is 'table' (a CSV or Parquet file)")
        return self


class ExperimentMetric(Section):
    """One metric per user, counted from the user's exposure to the end of the test."""

    name: str
    label: str = ""
    kind: Literal["conversion", "revenue", "count", "retention", "ratio"]
    event: str | list[str] | None = Field(None, description="event(s) counted (retention: any event when empty)")
    window_hours: float | None = Field(None, gt=0, description="conversion: only within this many hours of exposure")
    day: int | None = Field(None, ge=1, description="retention: active on day N after the exposure day")
    numerator: str | None = Field(None, description="ratio: the metric summed on top (a revenue or count metric)")
    denominator: str | None = Field(None, description="ratio: the metric summed below")
    guardrail: bool = Field(False, description="a metric that must not get worse (reported, not a goal)")

    @field_validator("label", mode="before")
    @classmethod
    def _text_language(cls, v, info: ValidationInfo):
        return page_label(v, info)

    @model_validator(mode="after")
    def _kind(self):
        where = f"experiment.metrics.{self.name}"
        if self.kind in ("conversion", "revenue", "count") and not self.event:
            raise ValueError(f"{where}.event: required for a {self.kind} metric")
        if self.kind == "retention" and not self.day:
            raise ValueError(f"{where}.day: required for a retention metric (e.g. 7)")
        if self.kind == "ratio" and not (self.numerator and self.denominator):
            raise ValueError(f"{where}: a ratio metric needs numerator and denominator (names of other metrics)")
        return self

    @property
    def events(self) -> list[str]:
        """The event names as a list."""
        return [self.event] if isinstance(self.event, str) else list(self.event or [])


class ExperimentParams(Section):
    """``experiment:`` section (docs/experiment.md)."""

    name: str = Field("experiment", description="the experiment's name shown in the report")
    start: dt.date = Field(description="first day of the test")
    end: dt.date | None = Field(None, description="last day (inclusive; default: the campaign period's end)")
    assignment: ExperimentAssignment = Field(default_factory=ExperimentAssignment)
    control: str = Field(description="the control variant's name")
    split: dict[str, float] | None = Field(None, description="planned share per variant (default: equal)")
    exposure_event: str | None = Field(None, description="metrics count only after the user's first such event")
    metrics: list[ExperimentMetric] = Field(min_length=1)
    amount_col: str = Field("amount", description="events column summed by revenue metrics")
    cuped_days: int | None = Field(14, ge=1, description="CUPED pre-exposure window in days (null: no CUPED)")
    segment: str | None = Field(None, description="users-table column to break results down by")
    breakdown: str | None = Field(
        None, pattern=r"^(tag|audience):", description="tag:<name> or audience:<name> to break results down by"
    )
    min_users: int = Field(
        10, ge=2, description="a group needs this many users with a metric's value for a test (fewer: not tested)"
    )
    alpha: float = Field(0.05, gt=0, lt=0.5)
    power: float = Field(0.8, gt=0.5, lt=1, description="power for the minimum detectable effect")
    target_mde: float = Field(0.05, gt=0, description="relative effect to plan for (days still needed)")
    srm_alpha: float = Field(0.001, gt=0, lt=0.5, description="SRM check flags p below this")
    sequential_tuning_n: int | None = Field(None, ge=10, description="GAVI tuning sample size (default: users)")
    seed: int = Field(0, description="seed of the Beta-Binomial sampling")

    @field_validator("split")
    @classmethod
    def _split(cls, v):
        if v is not None and (len(v) < 2 or any(x <= 0 for x in v.values())):
            raise ValueError("experiment.split: give two or more variants with positive shares, e.g. {a: 1, b: 1}")
        return v

    @model_validator(mode="after")
    def _names(self):
        names = [m.name for m in self.metrics]
        if len(set(names)) != len(names):
            raise ValueError(f"experiment.metrics: names must be unique, got {names}")
        for m in self.metrics:
            if m.kind == "ratio":
                for ref in (m.numerator, m.denominator):
                    other = next((x for x in self.metrics if x.name == ref), None)
                    if other is None or other.kind not in ("revenue", "count"):
                        raise ValueError(
                            f"experiment.metrics.{m.name}: {ref!r} must name a revenue or count metric above"
                        )
        if self.end is not None and self.end < self.start:
            raise ValueError("experiment.end: must not be before experiment.start")
        if self.split is not None and self.control not in self.split:
            raise ValueError(f"experiment.split: must include the control {self.control!r}")
        if self.segment and self.breakdown:
            raise ValueError("experiment.breakdown: give segment (a users column) or breakdown (a tag), not both")
        return self
