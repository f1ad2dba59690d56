"""Event steps: an event name, a list of names, or names with property filters (funnels, paths)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import MissingColumnError

__all__ = ["Step", "match_step"]


@dataclass(frozen=True)
class Step:
    """One funnel step: any of ``events``, optionally only where ``where`` columns equal the given values."""

    events: tuple[str, ...]
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()
    label: str = ""

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        base = "|".join(self.events)
        if self.where:
            base += "[" + ",".join(f"{k}={'|'.join(v)}" for k, v in self.where) + "]"
        return base

    @classmethod
    def of(cls, spec: Any) -> Step:
        """From 'pv', ['pv', 'view'], {'event': 'pay', 'where': {'channel': '应用商店'}, 'label': ...} or a Step."""
        if isinstance(spec, Step):
            return spec
        if isinstance(spec, str):
            return cls((spec,))
        if isinstance(spec, (list, tuple)):
            return cls(tuple(str(s) for s in spec))
        if isinstance(spec, dict):
            ev = spec.get("event") or spec.get("events") or ()
            ev = (ev,) if isinstance(ev, str) else tuple(ev)
            where = tuple(
                (k, (v,) if isinstance(v, str) else tuple(str(x) for x in v))
                for k, v in (spec.get("where") or {}).items()
            )
            return cls(ev, where, spec.get("label") or "")
        if hasattr(spec, "event"):  # pydantic StepSpec
            return cls.of(spec.model_dump())
        raise TypeError(f"cannot read a funnel step from {spec!r}")


def match_step(t: Any, step: Step, event_col: str = "event") -> Any:
    """Ibis boolean expression: rows of table ``t`` that match ``step``."""
    cond = t[event_col].isin(list(step.events))
    for col, vals in step.where:
        if col not in t.columns:
            raise MissingColumnError("events", col, t.columns, hint=f"it is used in the filter of step {step.name!r}")
        cond = cond & t[col].cast("string").isin(list(vals))
    return cond
