"""The ``attribution:`` and ``drivers:`` sections of the campaign params (docs/attribution.md, docs/funnel.md,
docs/retention.md). Unknown keys are errors like everywhere in the params."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from .sections import Section

__all__ = ["AttributionParams", "DriversParams"]


class AttributionParams(Section):
    """``attribution:`` section (docs/attribution.md). Without ``touch_col`` and ``touch_events`` the report is
    unavailable."""

    touch_col: str | None = Field(None, description="events column holding the touch's channel, e.g. utm_source")
    touch_events: list[str] = Field(
        default_factory=list,
        description="events that are touches (their touch_col value, or the event name without touch_col)",
    )
    conversion_event: str | None = Field("pay", description="the conversion event (null: the orders table)")
    value_col: str | None = Field("amount", description="the conversion's value column (null: no value)")
    lookback_days: float = Field(30, gt=0, description="touches at most this many days before the conversion")
    direct: str | None = Field("直接访问", description="the direct channel, skipped by last_non_direct")
    half_life_days: float = Field(7, gt=0, description="time decay: a touch this long before weighs half")
    position_weights: list[float] = Field(
        default_factory=lambda: [0.4, 0.4], description="position-based: [first, last] shares; the rest to the middle"
    )
    bootstrap_reps: int = Field(20, ge=0, description="bootstrap resamples over users for Markov and Shapley (0: none)")
    seed: int = 0
    shapley_exact_max: int = Field(12, ge=1, le=16, description="exact Shapley up to this many channels")
    shapley_samples: int = Field(2000, ge=10, description="sampled channel orders beyond shapley_exact_max")
    max_channels: int = Field(
        20, ge=2, le=62,
        description="channels kept, by touches; the others are grouped as one 'other channels' (Shapley: 62 at most)",
    )  # fmt: skip

    @field_validator("position_weights")
    @classmethod
    def _weights(cls, v: list[float]) -> list[float]:
        if len(v) != 2 or min(v) < 0 or sum(v) > 1:
            raise ValueError(f"attribution.position_weights must be [first, last], both >= 0 with a sum <= 1, got {v}")
        return v

    @model_validator(mode="after")
    def _touch(self) -> AttributionParams:
        if self.touch_col is not None and not self.touch_col.strip():
            raise ValueError("attribution.touch_col must be a column name or null")
        return self


class DriversParams(Section):
    """``drivers:`` section: conversion drivers in the funnel report, retention drivers in the retention report
    (docs/funnel.md, docs/retention.md)."""

    enabled: bool = True
    columns: list[str] = Field(
        default_factory=lambda: ["channel", "platform", "category"],
        description="events columns whose values are candidate drivers (missing columns are skipped)",
    )
    min_users: int = Field(25, ge=1, description="a driver needs at least this many users ...")
    min_share: float = Field(0.02, ge=0, le=1, description="... and at least this share of the users")
    top_n: int = Field(5, ge=1, description="positive and negative drivers shown")
    first_days: int = Field(7, ge=1, description="retention drivers: behaviour in the first N days")
    retained_day: int = Field(14, ge=1, description="retention drivers: retained = active in days N .. N+6")
    thresholds: list[int] = Field(default_factory=lambda: [1, 2, 3, 5], description="'at least k times' values")

    @field_validator("thresholds")
    @classmethod
    def _k(cls, v: list[int]) -> list[int]:
        if not v or min(v) < 1:
            raise ValueError(f"drivers.thresholds must be positive counts, got {v}")
        return sorted(set(v))

    @model_validator(mode="after")
    def _days(self) -> DriversParams:
        if self.retained_day < self.first_days:
            raise ValueError(
                f"drivers.retained_day ({self.retained_day}) must not be before the end of drivers.first_days "
                f"({self.first_days})"
            )
        return self
