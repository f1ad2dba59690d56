"""The ``products:`` section of the campaign params (helpers/products.py, helpers/basket.py; docs/products.md).

Absent section: the products report is unavailable (it says so), since the basket definition depends on the data.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from .sections import Section, in_language

__all__ = ["ProductsParams", "EXCLUDE_REGEX"]

#: an ``exclude_items`` entry starting with this is a regular expression that must match the whole item code
EXCLUDE_REGEX = "re:"


class ProductsParams(Section):
    """``products:`` section (docs/products.md)."""

    repurchase_days: int = Field(
        30, ge=1, description="a buyer repurchases when buying the same item again within N days"
    )
    compare_days: int | None = Field(
        28, ge=1, description="movers: the period's last N days vs the N days before (null: the whole period)"
    )
    basket: Literal["order", "session", "user_day"] = Field(
        "order", description="a basket is the items of one order, one session, or one user's day (no order id)"
    )
    min_support: float | None = Field(
        None, gt=0, le=1, description="minimum share of baskets of a rule (null: chosen from the data)"
    )
    min_baskets: int = Field(5, ge=1, description="floor of the automatic minimum support, in baskets")
    min_confidence: float = Field(0.0, ge=0, le=1, description="minimum confidence of a rule")
    top_k: int = Field(5, ge=1, description="partners per item in bought_together; rows in the movers tables")
    level: Literal["item", "category", "both"] = Field("both", description="rules of items, of categories, or both")
    max_itemset_size: int = Field(3, ge=2, le=6, description="largest frequent item set searched by FP-growth")
    exclude_items: list[str] | dict[str, list[str]] = Field(
        default_factory=list,
        description="item codes that are not products (postage, fees, vouchers); 're:<regex>' matches the whole "
        "code; a mapping reason -> codes names the reasons (excluded lines are counted and shown)",
    )
    order_events: list[str] = Field(
        default_factory=lambda: ["pay", "buy", "purchase"],
        min_length=1,
        description="purchase events read from the events table when there is no orders table (or for sessions)",
    )

    @field_validator("exclude_items", mode="before")
    @classmethod
    def _reason_language(cls, v, info: ValidationInfo):
        """A reason given per language (``postage: {label: {zh: 运费, en: postage}, items: [POST, DOT]}``) as the
        campaign language's label -> codes; a reason with plain codes as given."""
        if not isinstance(v, dict):
            return v
        out = {}
        for reason, codes in v.items():
            if isinstance(codes, dict):
                if set(codes) != {"label", "items"}:
                    raise ValueError(
                        f"products.exclude_items.{reason}: give a list of codes, or label and items, e.g. "
                        "{label: {zh: 运费, en: postage}, items: [POST, DOT]}"
                    )
                label = in_language(codes["label"], info)
                if not isinstance(label, str) or not label.strip():
                    raise ValueError(f"products.exclude_items.{reason}.label: give a text, or one per language")
                key = label
            else:
                key = reason
            if key in out:
                raise ValueError(f"products.exclude_items.{reason}: the reason {key!r} is named twice; name each once")
            out[key] = codes["items"] if isinstance(codes, dict) else codes
        return out

    @field_validator("exclude_items")
    @classmethod
    def _exclude_items(cls, v):
        groups = v.items() if isinstance(v, dict) else [(None, v)]
        for reason, codes in groups:
            for i, code in enumerate(codes):
                where = f"products.exclude_items.{reason}.{i}" if reason is not None else f"products.exclude_items.{i}"
                if not str(code).strip():
                    raise ValueError(f"{where}: an empty code; give an item code or 're:<regex>'")
                if str(code).startswith(EXCLUDE_REGEX):
                    try:
                        re.compile(code[len(EXCLUDE_REGEX) :])
                    except re.error as e:
                        raise ValueError(f"{where}: {code!r} is not a valid regular expression ({e})") from None
        return v

    def exclude_rules(self) -> list[tuple[str, str]]:
        """``(reason, code)`` per ``exclude_items`` entry; in the list form the reason is the entry itself."""
        v = self.exclude_items
        if isinstance(v, dict):
            return [(str(r), str(c)) for r, codes in v.items() for c in codes]
        return [(str(c), str(c)) for c in v]
