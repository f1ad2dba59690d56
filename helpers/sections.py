"""Per-analysis sections of the campaign params (``funnel:``, ``retention:``, ...).

One pydantic model per analysis, each owned by its analysis module's issue; ``helpers.params.Campaign``
has one optional field per model below. Unknown keys are errors like everywhere in the params.
Every section is optional: a missing section means the defaults documented in that analysis' docs page.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Section", "FunnelParams", "RetentionParams", "PathsParams", "RFMParams", "ClusteringParams",
           "ProfileParams", "SentimentParams", "ChurnParams"]


class Section(BaseModel):
    """Base of every section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", validate_default=True, populate_by_name=True)


# --- funnel (issue: funnel/retention/lifecycle/paths) -------------------------------------------------
class FunnelParams(Section):
    """``funnel:`` section (docs/funnel.md)."""


# --- retention + lifecycle + stickiness ----------------------------------------------------------------
class RetentionParams(Section):
    """``retention:`` section (docs/retention.md)."""


# --- user paths (transitions, top paths) ---------------------------------------------------------------
class PathsParams(Section):
    """``paths:`` section (docs/paths.md)."""


# --- RFM -----------------------------------------------------------------------------------------------
class RFMParams(Section):
    """``rfm:`` section (docs/rfm.md)."""


# --- clustering ----------------------------------------------------------------------------------------
class ClusteringParams(Section):
    """``clustering:`` section (docs/clustering.md)."""


# --- user profile table --------------------------------------------------------------------------------
class ProfileParams(Section):
    """``user_profile:`` section (docs/user_profile.md)."""


# --- review sentiment ----------------------------------------------------------------------------------
class SentimentParams(Section):
    """``sentiment:`` section (docs/sentiment.md)."""


# --- churn ---------------------------------------------------------------------------------------------
class ChurnParams(Section):
    """``churn:`` section (docs/churn.md)."""
