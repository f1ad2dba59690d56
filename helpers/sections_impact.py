"""The ``impact:`` section of the campaign params (helpers/impact.py; docs/impact.md).

Absent section: the impact report is unavailable (it says so), since it needs an intervention date.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, model_validator

from .sections import Section, TrendMetric

__all__ = ["ImpactControl", "ImpactParams"]


class ImpactControl(Section):
    """``impact.control``: a property whose values split the events into treated and untreated groups."""

    by: str = Field(description="the events column (property) of the groups, e.g. channel")
    treated: list[str] = Field(min_length=1, description="values that received the intervention")
    control: list[str] = Field(min_length=1, description="values that did not: control series and DiD group")

    @model_validator(mode="after")
    def _check(self):
        both = sorted(set(self.treated) & set(self.control))
        if both:
            raise ValueError(f"impact.control: {', '.join(both)} is in both treated and control; keep it in one")
        return self


class ImpactParams(Section):
    """``impact:`` section (docs/impact.md)."""

    start: dt.date = Field(description="the intervention's first day (campaign-local)")
    end: dt.date | None = Field(None, description="its last day (default: the period's last day)")
    metrics: list[str | TrendMetric] = Field(
        default_factory=lambda: list[str | TrendMetric](["orders"]),
        min_length=1,
        description="trends metrics (built-in names or definitions, docs/trends.md), evaluated per day",
    )
    order_events: list[str] = Field(default_factory=lambda: ["pay", "buy", "purchase"], min_length=1)
    amount_col: str = "amount"
    control: ImpactControl | None = Field(None, description="treated and control groups (default: none)")
    pre_days: int | None = Field(None, ge=14, description="days before start used to fit (default: all)")
    placebo: dt.date | None = Field(None, description="fake start in the pre-period (default: its middle)")
    did_scale: Literal["log", "level"] = Field(
        "log", description="difference-in-differences of log(value) (a ratio effect) or of the value itself"
    )
    weekly: bool = Field(True, description="model a fixed day-of-week pattern")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="1 - the intervals' level; the tests' threshold")

    @model_validator(mode="after")
    def _check(self):
        if self.end is not None and self.end < self.start:
            raise ValueError(f"impact.end ({self.end}) is before impact.start ({self.start})")
        if self.placebo is not None and self.placebo >= self.start:
            raise ValueError(f"impact.placebo ({self.placebo}) must be before impact.start ({self.start})")
        return self
