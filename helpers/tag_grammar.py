"""The condition grammar of tags and audiences (docs/tags.md): a small recursive-descent parser, never ``eval``.

A condition is a boolean expression over the user profile's columns (:data:`PROFILE_COLUMNS`) and the other
declared tags (``tag:<name>``; helpers/sections_tags.py ``tag_order`` evaluates each tag after those it uses)::

    condition  := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | "(" condition ")" | predicate
    predicate  := operand [ cmp operand | ["not"] "in" "(" literal ("," literal)* ")"
                          | ["not"] "between" literal "and" literal | "is" ["not"] "null" ]
    cmp        := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    operand    := column | "tag:" name | literal
    literal    := number | "-" number | 'text' | "text" | true | false

A predicate without comparison is a boolean column or tag (``buyer``, ``tag:高活跃``). Keywords are case
insensitive. :func:`parse` returns a tree of tuples that :mod:`helpers.tags` compiles to Ibis.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .spelling import closest

__all__ = [
    "PROFILE_COLUMNS",
    "TAG_PREFIX",
    "AUDIENCE_BREAKDOWN",
    "breakdown_ref",
    "is_tag_breakdown",
    "ConditionError",
    "Ref",
    "parse",
    "references",
    "label_mismatches",
    "check_condition",
]

#: how a report's ``breakdown`` names a tag: ``tag:<name>``
TAG_PREFIX = "tag:"
#: how a report's ``breakdown`` names an audience: ``audience:<name>``
AUDIENCE_BREAKDOWN = "audience:"


def breakdown_ref(breakdown: Any) -> tuple[str, str] | None:
    """``("tag", name)`` when a report's ``breakdown`` is ``tag:<name>``, ``("audience", name)`` when it is
    ``audience:<name>``, else None (a column or nothing): the one reading of the two prefixes."""
    if isinstance(breakdown, str):
        for kind, prefix in (("tag", TAG_PREFIX), ("audience", AUDIENCE_BREAKDOWN)):
            if breakdown.startswith(prefix):
                return kind, breakdown[len(prefix) :]
    return None


def is_tag_breakdown(breakdown: Any) -> bool:
    """Whether a report's ``breakdown`` names a tag (``tag:<name>``) or an audience (``audience:<name>``)."""
    return breakdown_ref(breakdown) is not None


#: every column of the user profile table (helpers/profile_data.py ``profile_table``) and its kind, known
#: before any data is read so that ``validate`` can check conditions; tests/test_tags.py checks it against the
#: real table. Kinds: "number", "text", "bool", "time".
PROFILE_COLUMNS: dict[str, str] = {
    "user_id": "text",
    "n_events": "number",
    "active_days": "number",
    "days_since_last_event": "number",
    "n_orders": "number",
    "spend": "number",
    "preferred_hour": "number",
    "buyer": "bool",
    "channel": "text",
    "city": "text",
    "age": "number",
    "gender": "text",
    "signup_ts": "time",
    "preferred_category": "text",
    "median_price": "number",
    "rfm_segment": "text",
    "rfm_code": "text",
    "cluster": "number",
    "cluster_name": "text",
    "churn_probability": "number",
    "churn_risk_band": "text",
    "review_positive_share": "number",
    "reviews_written": "number",
}

_KEYWORDS = {"and", "or", "not", "in", "between", "is", "null", "true", "false"}
_CMP = {"=": "==", "==": "==", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<str>'(?:[^']|'')*'|"(?:[^"]|"")*")
    | (?P<tag>tag:[^\W\d]\w*)
    | (?P<name>[^\W\d]\w*)
    | (?P<op><=|>=|<>|!=|==|=|<|>|\(|\)|,|-)
    )""",
    re.VERBOSE,
)


class ConditionError(ValueError):
    """A condition that does not parse, or names an unknown column or tag."""


@dataclass(frozen=True)
class Ref:
    """An operand naming a profile column (``tag=False``) or an earlier tag (``tag=True``)."""

    name: str
    tag: bool = False

    def __str__(self) -> str:
        return f"tag:{self.name}" if self.tag else self.name


def _tokens(text: str) -> list[tuple[str, Any, int]]:
    out: list[tuple[str, Any, int]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ConditionError(f"unexpected character {text[pos:].lstrip()[:1]!r} at position {pos + 1}")
        kind = m.lastgroup or ""
        raw = m.group(kind)
        start = m.start(kind)
        if kind == "num":
            out.append(("lit", float(raw) if any(c in raw for c in ".eE") else int(raw), start))
        elif kind == "str":
            out.append(("lit", raw[1:-1].replace(raw[0] * 2, raw[0]), start))
        elif kind == "tag":
            out.append(("ref", Ref(raw[4:], tag=True), start))
        elif kind == "name" and raw.lower() in _KEYWORDS:
            low = raw.lower()
            out.append(("lit", low == "true", start) if low in ("true", "false") else ("kw", low, start))
        elif kind == "name":
            out.append(("ref", Ref(raw), start))
        else:
            out.append(("op", raw, start))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self, kind: str | None = None, value: Any = None) -> bool:
        if self.i >= len(self.toks):
            return False
        k, v, _ = self.toks[self.i]
        return (kind is None or k == kind) and (value is None or v == value)

    def take(self, kind: str, value: Any = None, what: str = "") -> Any:
        if not self.peek(kind, value):
            where = f"at position {self.toks[self.i][2] + 1}" if self.i < len(self.toks) else "at the end"
            raise ConditionError(f"expected {what or value or kind} {where}")
        self.i += 1
        return self.toks[self.i - 1][1]

    def condition(self):
        node = self.conj()
        while self.peek("kw", "or"):
            self.i += 1
            node = ("or", node, self.conj())
        return node

    def conj(self):
        node = self.neg()
        while self.peek("kw", "and"):
            self.i += 1
            node = ("and", node, self.neg())
        return node

    def neg(self):
        if self.peek("kw", "not"):
            self.i += 1
            return ("not", self.neg())
        if self.peek("op", "("):
            self.i += 1
            node = self.condition()
            self.take("op", ")", "')'")
            return node
        return self.predicate()

    def operand(self):
        if self.peek("op", "-"):
            self.i += 1
            v = self.take("lit", what="a number after '-'")
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ConditionError("'-' must be followed by a number")
            return ("lit", -v)
        if self.peek("ref"):
            return ("ref", self.take("ref"))
        if self.peek("lit"):
            return ("lit", self.take("lit"))
        return self.take("ref", what="a column, tag:<name> or value")

    def literal(self):
        node = self.operand()
        if node[0] != "lit":
            raise ConditionError(f"expected a value, got {node[1]}")
        return node[1]

    def predicate(self):
        left = self.operand()
        if self.peek("op") and self.toks[self.i][1] in _CMP:
            op = _CMP[self.take("op")]
            return ("cmp", op, left, self.operand())
        negate = False
        if self.peek("kw", "not") and self.i + 1 < len(self.toks) and self.toks[self.i + 1][1] in ("in", "between"):
            self.i += 1
            negate = True
        if self.peek("kw", "in"):
            self.i += 1
            self.take("op", "(", "'(' after in")
            values = [self.literal()]
            while self.peek("op", ","):
                self.i += 1
                values.append(self.literal())
            self.take("op", ")", "')'")
            node: tuple = ("in", left, tuple(values))
            return ("not", node) if negate else node
        if self.peek("kw", "between"):
            self.i += 1
            lo = self.literal()
            self.take("kw", "and", "'and' in between ... and ...")
            node = ("between", left, lo, self.literal())
            return ("not", node) if negate else node
        if self.peek("kw", "is"):
            self.i += 1
            neg = bool(self.peek("kw", "not")) and bool(self.take("kw", "not"))
            self.take("kw", "null", "null after is")
            return ("notnull", left) if neg else ("isnull", left)
        if left[0] == "lit" and not isinstance(left[1], bool):
            raise ConditionError(f"{left[1]!r} alone is not a condition; compare it with a column")
        return ("truth", left)


def parse(text: str):
    """The tree of a condition (tuples: ``("or"|"and", a, b)``, ``("not", a)``, ``("cmp", op, x, y)``,
    ``("in", x, values)``, ``("between", x, lo, hi)``, ``("isnull"|"notnull", x)``, ``("truth", x)``; operands
    ``("ref", Ref)`` or ``("lit", value)``). :class:`ConditionError` when it does not parse."""
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("is empty; give a condition such as spend >= 1000 and days_since_last_event <= 30")
    p = _Parser(text)
    node = p.condition()
    if p.i < len(p.toks):
        k, v, pos = p.toks[p.i]
        raise ConditionError(f"unexpected {v!s} at position {pos + 1}; join conditions with and / or")
    return node


def label_mismatches(node, labels: dict[str, list[str]]) -> list[tuple[str, str]]:
    """``(tag, text)`` for every text a tag with known labels (``labels``: name -> labels) is compared with by
    ``==``, ``!=``, ``in`` or ``not in`` that is none of its labels: ``tag:价值等级 == '高价值'`` when the labels are
    低 / 中 / 高 (or ``'高'`` when an English campaign keeps the labels' ``en`` texts) selects nobody, silently."""
    out: list[tuple[str, str]] = []

    def tag_of(x) -> str | None:
        return x[1].name if isinstance(x, tuple) and x[0] == "ref" and x[1].tag and x[1].name in labels else None

    def walk(n):
        if not isinstance(n, tuple) or not n:
            return
        if n[0] == "cmp" and n[1] in ("==", "!="):
            for a, b in ((n[2], n[3]), (n[3], n[2])):
                name = tag_of(a)
                if name and b[0] == "lit" and isinstance(b[1], str) and b[1] not in labels[name]:
                    out.append((name, b[1]))
        elif n[0] == "in" and tag_of(n[1]):
            name = tag_of(n[1])
            out.extend((name, v) for v in n[2] if isinstance(v, str) and v not in labels[name])
        for x in n[1:]:
            walk(x)

    walk(node)
    return out


def references(node) -> list[Ref]:
    """The columns and tags a parsed condition uses, in order of first use."""
    out: list[Ref] = []

    def walk(n):
        if isinstance(n, tuple):
            if n and n[0] == "ref":
                out.append(n[1])
            for x in n[1:]:
                walk(x)

    walk(node)
    return list(dict.fromkeys(out))


def _did_you_mean(name: str, choices) -> str:
    """``; did you mean 'x'?`` for :func:`helpers.spelling.closest`, as the condition errors write it."""
    close = closest(name, choices)
    return f"; did you mean {close!r}?" if close else ""


def check_condition(
    text: str,
    *,
    tags: dict[str, str] | None = None,
    columns: dict[str, str] | None = None,
    labels: dict[str, list[str]] | None = None,
):
    """Parse ``text`` and check that every column is a profile column, every ``tag:<name>`` one of ``tags``
    (name -> kind, the declared tags) and every text a tag is compared with one of its ``labels`` (name -> the
    labels of a bucket, group or multi tag, :func:`label_mismatches`). Returns the tree; :class:`ConditionError`
    names the problem (unknown names with "did you mean")."""
    node = parse(text)
    for name, value in label_mismatches(node, labels or {}):
        have = labels[name] if labels else []
        raise ConditionError(
            f"tag:{name} has no label {value!r}, so the condition never holds; its labels: {', '.join(have)}"
            f"{_did_you_mean(value, have)}"
        )
    cols = PROFILE_COLUMNS if columns is None else columns
    known = tags or {}
    for r in references(node):
        if r.tag and r.name not in known:
            raise ConditionError(
                f"unknown tag tag:{r.name}{_did_you_mean(r.name, known)} (declared tags: {', '.join(known) or 'none'})"
            )
        if not r.tag and r.name not in cols:
            hint = _did_you_mean(r.name, cols) or _did_you_mean(r.name, known).replace("'", "'tag:", 1)
            raise ConditionError(f"unknown column {r.name!r}{hint} (profile columns: docs/user_profile.md)")
    return node
