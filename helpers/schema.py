"""Canonical tables: the columns every analysis reads, their types and which are required.

One definition, used by ingest (to cast and check), by the docs (docs/tables.md mirrors it) and by tests.

Time-zone policy
----------------
``ts`` is stored as a *naive* timestamp holding the campaign's local wall-clock time (``timezone`` in the
campaign params, e.g. ``Asia/Shanghai``). Ingest converts everything to it:

- epoch seconds / milliseconds are UTC instants -> converted to the campaign time zone;
- strings with an explicit offset or ``UTC`` suffix -> converted to the campaign time zone;
- naive strings are taken to be in ``source_timezone`` of that table (default: the campaign time zone).

So "a day" is always a campaign-local calendar day, on every engine, with no session time-zone setting.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Column", "TABLES", "REQUIRED", "canonical_columns"]


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # DuckDB SQL type
    required: bool
    doc: str


TABLES: dict[str, tuple[Column, ...]] = {
    "events": (
        Column("user_id", "VARCHAR", True, "who did it (string, even when the source has integers)"),
        Column("event", "VARCHAR", True, "event name after value mapping, e.g. pv / cart / buy"),
        Column("ts", "TIMESTAMP", True, "when, campaign-local wall-clock time (see time-zone policy)"),
        Column("session_id", "VARCHAR", False, "session id from the source, if any"),
        Column("item_id", "VARCHAR", False, "product / content id"),
        Column("item_name", "VARCHAR", False, "product / content name, shown next to item_id on pages"),
        Column("category", "VARCHAR", False, "product / content category"),
        Column("amount", "DOUBLE", False, "money attached to the event (price, order value)"),
        Column("channel", "VARCHAR", False, "acquisition or traffic channel"),
        Column("platform", "VARCHAR", False, "app / web / mini-program ..."),
        Column("order_id", "VARCHAR", False, "order id on order/payment events"),
    ),
    "orders": (
        Column("user_id", "VARCHAR", True, "customer"),
        Column("order_id", "VARCHAR", True, "order (invoice) id; an order may span several rows (lines)"),
        Column("ts", "TIMESTAMP", True, "order time, campaign-local"),
        Column("amount", "DOUBLE", True, "money of the row; an order's value is the sum over its rows"),
        Column("item_id", "VARCHAR", False, "product of the line"),
        Column("item_name", "VARCHAR", False, "product name (description), shown next to item_id on pages"),
        Column("category", "VARCHAR", False, "product category"),
        Column("quantity", "DOUBLE", False, "units on the line"),
        Column("channel", "VARCHAR", False, "channel of the order"),
    ),
    "reviews": (
        Column("review_id", "VARCHAR", True, "review id (generated from the row number when the source has none)"),
        Column("text", "VARCHAR", True, "review text"),
        Column("user_id", "VARCHAR", False, "reviewer"),
        Column("item_id", "VARCHAR", False, "reviewed product"),
        Column("item_name", "VARCHAR", False, "product name, shown next to item_id on pages"),
        Column("category", "VARCHAR", False, "product category"),
        Column("rating", "DOUBLE", False, "star rating"),
        Column("ts", "TIMESTAMP", False, "review time, campaign-local"),
        Column("label", "INTEGER", False, "known sentiment label: 1 positive, 0 negative"),
    ),
    "users": (
        Column("user_id", "VARCHAR", True, "user"),
        Column("channel", "VARCHAR", False, "acquisition channel"),
        Column("city", "VARCHAR", False, "city"),
        Column("age", "DOUBLE", False, "age in years"),
        Column("gender", "VARCHAR", False, "gender"),
        Column("signup_ts", "TIMESTAMP", False, "registration time, campaign-local"),
    ),
}

REQUIRED: dict[str, tuple[str, ...]] = {t: tuple(c.name for c in cols if c.required) for t, cols in TABLES.items()}


def canonical_columns(table: str) -> dict[str, Column]:
    """Return ``{name: Column}`` for a canonical table; raises ``KeyError`` naming the valid tables."""
    if table not in TABLES:
        raise KeyError(f"unknown table {table!r}; canonical tables are {', '.join(TABLES)}")
    return {c.name: c for c in TABLES[table]}
