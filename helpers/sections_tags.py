"""The ``tags:`` and ``audiences:`` sections of the campaign params (docs/tags.md).

``tags:`` maps a tag name to its definition; the kind follows from the keys (``when`` = rule, ``top``/``bottom``
= ranking, ``bins`` = bucket, ``values`` = group, or ``kind: multi`` with ``values``). A tag set to ``null``
(e.g. to drop a default tag of ``params/_defaults.yaml``) is left out. ``audiences:`` maps an audience name to
its condition. Every condition is parsed here (helpers/tag_grammar.py), so ``validate`` names the key path.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from .sections import Section
from .sections import in_language as _in_language
from .tag_grammar import PROFILE_COLUMNS, ConditionError, _did_you_mean, breakdown_ref, check_condition

__all__ = ["TagValue", "TagSpec", "AudienceSpec", "tag_problems", "tag_kinds", "tag_order"]

_NAME_HINT = "tag and audience names are one word (letters, digits, _; Chinese is fine), e.g. 价值等级 or high_value"


class TagValue(Section):
    """One value of a ``group`` or ``multi`` tag: its label and the condition that gives it. A label may be given
    per language (``{zh: ..., en: ...}``): the campaign's language is kept."""

    label: str = Field(min_length=1)
    when: str = Field(description="condition (docs/tags.md)")

    @field_validator("label", mode="before")
    @classmethod
    def _label_language(cls, v, info: ValidationInfo):
        return _in_language(v, info)


class TagSpec(Section):
    """One tag. Rule: ``when``. Ranking: ``column`` with ``top`` or ``bottom`` (percent of users with a value).
    Bucket: ``column``, ``bins`` (edges, right-closed like pandas.cut) and ``labels``, over the value or, with
    ``of: percentile``, the user's percentile rank in (0, 1]. Group: ``values`` (first match wins, else
    ``default``). Multi: ``kind: multi`` and ``values`` (every matching label)."""

    kind: Literal["rule", "ranking", "bucket", "group", "multi"] | None = None
    description: str = ""
    when: str | None = None
    column: str | None = None
    top: float | None = Field(None, gt=0, le=100, description="percent of users with the highest values")
    bottom: float | None = Field(None, gt=0, le=100, description="percent of users with the lowest values")
    bins: list[float | str] | None = Field(None, description="edges; text like '1/3' allowed (exact fractions)")
    labels: list[str] | None = None
    of: Literal["value", "percentile"] = "value"
    values: list[TagValue] | None = None
    default: str | None = None

    @field_validator("description", "labels", "default", mode="before")
    @classmethod
    def _one_language(cls, v, info: ValidationInfo):
        return _in_language(v, info)

    @field_validator("bins")
    @classmethod
    def _bins(cls, v):
        if v is None:
            return v
        out = []
        for x in v:
            try:
                out.append(float(Fraction(x)) if isinstance(x, str) else float(x))
            except (ValueError, ZeroDivisionError):
                raise ValueError(f"bin edge {x!r} is not a number or a fraction such as '1/3'") from None
        if len(out) < 2 or any(b <= a for a, b in zip(out, out[1:])):
            raise ValueError("bins must be at least two increasing edges, e.g. [0, 100, 1000]")
        return out

    @model_validator(mode="after")
    def _kind(self):
        if self.kind is None:
            found = [
                k
                for k, on in (
                    ("rule", self.when),
                    ("ranking", self.top or self.bottom),
                    ("bucket", self.bins),
                    ("group", self.values),
                )
                if on is not None
            ]
            if len(found) != 1:
                raise ValueError(
                    "give exactly one of when (rule), top/bottom (ranking), bins (bucket), values (group; with "
                    f"kind: multi for several values per user); found {', '.join(found) or 'none'}"
                )
            self.kind = found[0]
        need = {
            "rule": ("when",),
            "ranking": ("column",),
            "bucket": ("column", "bins", "labels"),
            "group": ("values",),
            "multi": ("values",),
        }[self.kind]
        for k in need:
            if getattr(self, k) is None:
                raise ValueError(f"a {self.kind} tag needs {k}")
        if self.kind == "ranking" and (self.top is None) == (self.bottom is None):
            raise ValueError("a ranking tag needs exactly one of top or bottom (percent of users)")
        if self.kind == "bucket" and len(self.labels or []) != len(self.bins or []) - 1:
            raise ValueError(
                f"bins has {len(self.bins or [])} edges, so labels needs {len(self.bins or []) - 1} labels"
            )
        if self.column is not None and self.column not in PROFILE_COLUMNS:
            raise ValueError(f"column: unknown column {self.column!r}{_did_you_mean(self.column, PROFILE_COLUMNS)}")
        if self.column is not None and PROFILE_COLUMNS[self.column] != "number":
            raise ValueError(f"column: {self.column!r} is not a number column")
        if self.default is not None and self.kind != "group":
            raise ValueError("default is only for group tags (the value when no condition matches)")
        return self

    def label_set(self) -> list[str]:
        """The labels a user of this tag can have (bucket ``labels``; group ``values`` and ``default``; multi
        ``values``), in order; empty for a rule or ranking tag (true or false)."""
        if self.kind == "bucket":
            return list(self.labels or [])
        if self.kind in ("group", "multi"):
            return [v.label for v in self.values or []] + ([self.default] if self.default else [])
        return []


class AudienceSpec(Section):
    """One audience (人群包): a condition over tags and profile columns."""

    description: str = ""
    when: str = Field(description="condition over profile columns and tag:<name> (docs/tags.md)")

    @field_validator("description", mode="before")
    @classmethod
    def _one_language(cls, v, info: ValidationInfo):
        return _in_language(v, info)


def tag_kinds(tags: dict) -> dict[str, str]:
    """``{name: kind}`` of the declared tags (those set to null left out)."""
    return {k: v.kind for k, v in tags.items() if v is not None}


def tag_refs(spec: TagSpec) -> list[str]:
    """The tags a tag's conditions use (unparsable conditions use none)."""
    from .tag_grammar import parse, references

    texts = ([spec.when] if spec.when else []) + [v.when for v in spec.values or []]
    out = []
    for text in texts:
        try:
            out += [r.name for r in references(parse(text)) if r.tag]
        except ConditionError:
            pass
    return list(dict.fromkeys(out))


def tag_order(tags: dict) -> list[str]:
    """The declared tags in evaluation order: each after the tags its conditions use, else in declaration
    order. ValueError naming the tags when they use each other in a circle."""
    active = {k: v for k, v in tags.items() if v is not None}
    deps = {k: [d for d in tag_refs(v) if d in active] for k, v in active.items()}
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(k: str, path: list[str]) -> None:
        if state.get(k) == 2:
            return
        if state.get(k) == 1:
            raise ValueError(f"tags use each other in a circle: {' -> '.join([*path[path.index(k) :], k])}")
        state[k] = 1
        for d in deps[k]:
            visit(d, [*path, k])
        state[k] = 2
        order.append(k)

    for k in active:
        visit(k, [])
    return order


def tag_problems(tags: dict, audiences: dict, breakdowns: dict | None = None) -> list[tuple[str, str]]:
    """``(key path, problem)`` for every tag and audience condition that does not parse or names an unknown
    column or tag (a condition may use any other tag, but not in a circle), and every ``breakdowns`` value
    (``{key path: breakdown}``) of the form ``tag:<name>`` (``audience:<name>``) naming no declared tag
    (audience). ``validate`` (helpers/params.py) reports them."""
    out: list[tuple[str, str]] = []
    seen = {k: v.kind or "" for k, v in tags.items() if v is not None and str(k).isidentifier()}
    labels = {k: v.label_set() for k, v in tags.items() if v is not None and v.label_set()}
    for name, spec in tags.items():
        if not str(name).isidentifier():
            out.append((f"tags.{name}", _NAME_HINT))
            continue
        if spec is None:
            continue
        if name in PROFILE_COLUMNS:
            out.append((f"tags.{name}", f"{name!r} is a profile column; give the tag another name"))
        conds = [("when", spec.when)] if spec.when is not None else []
        conds += [(f"values.{i}.when", v.when) for i, v in enumerate(spec.values or [])]
        for key, text in conds:
            try:
                check_condition(text, tags=seen, labels=labels)
            except ConditionError as e:
                out.append((f"tags.{name}.{key}", f"{e} (in {text!r})"))
    if not out:
        try:
            tag_order(tags)
        except ValueError as e:
            out.append(("tags", str(e)))
    for name, a in audiences.items():
        if not str(name).isidentifier():
            out.append((f"audiences.{name}", _NAME_HINT))
            continue
        try:
            check_condition(a.when, tags=seen, labels=labels)
        except ConditionError as e:
            out.append((f"audiences.{name}.when", f"{e} (in {a.when!r})"))
    for path, b in (breakdowns or {}).items():
        kind, name = breakdown_ref(b) or ("", "")
        if kind == "tag" and name not in seen:
            out.append((path, f"unknown tag {b!r}{_did_you_mean(name, seen)}; declared tags: {', '.join(seen)}"))
        if kind == "audience" and name not in audiences:
            known = ", ".join(audiences) or "none"
            out.append((path, f"unknown audience {b!r}{_did_you_mean(name, audiences)}; declared audiences: {known}"))
    return out
