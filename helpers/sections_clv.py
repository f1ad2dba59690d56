"""The ``clv:`` section of the campaign params: customer lifetime value in the RFM report (docs/rfm.md, "CLV").

Absent section = no CLV parts (the RFM report says so).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .sections import Section

__all__ = ["CLVParams"]


class CLVParams(Section):
    """``clv:`` section (docs/rfm.md, "CLV")."""

    horizon_months: int = Field(12, ge=1, le=120, description="CLV horizon in months (30.4375 days each)")
    discount_rate: float = Field(0.10, ge=0, lt=10, description="discount rate per discount_period (0.10 = 10 %)")
    discount_period: Literal["annual", "monthly"] = Field(
        "annual", description="period of discount_rate; an annual rate d becomes (1 + d)^(1/12) - 1 per month"
    )
    model: Literal["auto", "bgnbd", "mbgnbd", "pareto_nbd"] = Field(
        "auto", description="purchase model; auto = best on the holdout by `criterion`"
    )
    criterion: Literal["rmse", "mae", "abs_bias"] = Field(
        "rmse", description="holdout criterion for model: auto (per-customer RMSE, MAE, or |aggregate bias|)"
    )
    holdout_days: int | None = Field(None, ge=1, description="holdout length in days (default: holdout_share)")
    holdout_share: float = Field(
        0.25, gt=0, lt=1, description="holdout length as a share of the data span (when holdout_days is not set)"
    )
    time_unit: Literal["day", "week"] = Field("day", description="time unit of the model parameters")
    age_convention: Literal["day_after", "calibration_end"] = Field(
        "day_after",
        description="T (a customer's age): day_after = to the day after the last data day (the kit's RFM as_of); "
        "calibration_end = to the last day of the data (Fader-Hardie papers, CDNOW)",
    )
    interval_level: float = Field(0.9, gt=0.5, lt=1, description="level of the per-customer intervals")
    n_draws: int = Field(200, ge=20, le=5000, description="parameter draws for the intervals")
    seed: int = Field(22, description="seed of the parameter draws")
    top_n: int = Field(20, ge=1, le=1000, description="customers in the top-CLV table of the report")
    currency: str | None = Field(None, description="currency sign (default: rfm.currency)")

    @model_validator(mode="after")
    def _check(self):
        return self
