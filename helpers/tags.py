"""Declared tags (标签体系) and audiences (人群包) over the user profile (docs/tags.md).

The campaign's ``tags:`` (helpers/sections_tags.py; defaults in params/_defaults.yaml) are compiled to Ibis
expressions over the profile table (:func:`apply_tags`), so that they run the same on DuckDB and Spark; the
conditions are parsed by helpers/tag_grammar.py (no ``eval``). Then, in pandas on one row per user: every tag's
coverage (:func:`tag_summary`), the overlap between tags (:func:`tag_overlap`), the effect view (users with vs
without a tag: :func:`tag_effects`) and the audiences (:func:`audience_members`). Other reports break down by a
tag through :func:`tag_values` (``breakdown: tag:<name>``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd

from . import i18n
from .sections_tags import TagSpec, tag_order, tag_refs
from .tag_grammar import (
    AUDIENCE_BREAKDOWN,
    PROFILE_COLUMNS,
    TAG_PREFIX,
    ConditionError,
    Ref,
    breakdown_ref,
    check_condition,
    is_tag_breakdown,
)

__all__ = [
    "TAG_PREFIX",
    "AUDIENCE_BREAKDOWN",
    "YES",
    "NO",
    "apply_tags",
    "evaluate_tags",
    "tag_rule_text",
    "tag_value_rule",
    "tag_items",
    "tag_value_order",
    "tag_value_counts",
    "tag_summary",
    "tag_overlap",
    "tag_effects",
    "audience_members",
    "audience_summary",
    "write_audiences",
    "is_tag_breakdown",
    "tag_values",
    "with_tag_column",
]

# TAG_PREFIX (``tag:<name>``) and AUDIENCE_BREAKDOWN (``audience:<name>``: members :data:`YES`, the others
# :data:`NO`) name a tag or an audience as a report's ``breakdown`` (defined in helpers.tag_grammar, whose column
# labels helpers.i18n.column_label gives)
#: the value of a rule or ranking tag in the breakdown and summary tables
YES = "yes"
#: the value of a rule or ranking tag for users it does not apply to (a stable machine value, as :data:`YES`)
NO = "no"
_IBIS_TYPES = {"number": "float64", "text": "string", "bool": "boolean", "time": "timestamp"}


def _multi_col(name: str, i: int) -> str:
    return f"__multi_{name}_{i}"


def _active(tags: dict) -> dict[str, TagSpec]:
    return {k: v for k, v in (tags or {}).items() if v is not None}


# ------------------------------------------------------------------------------------------- compiling
class _Compiler:
    """Turns a parsed condition into an Ibis boolean over table ``t`` whose tag columns are known."""

    def __init__(self, t, kinds: dict[str, str], labels: dict[str, list[str]]):
        self.t, self.kinds, self.labels = t, kinds, labels

    def operand(self, node, other=None):
        if node[0] == "lit":
            return ibis.literal(node[1])
        r: Ref = node[1]
        if r.tag and self.kinds[r.name] == "multi":
            raise ConditionError(f"tag:{r.name} has several values per user: write tag:{r.name} = '<label>'")
        return self.t[r.name]

    def multi_eq(self, r: Ref, value) -> Any:
        labels = self.labels[r.name]
        if value not in labels:
            raise ConditionError(f"tag:{r.name} has no value {value!r}; its values: {', '.join(labels)}")
        return self.t[_multi_col(r.name, labels.index(value))]

    def __call__(self, node):  # noqa: C901 - one branch per node kind
        op = node[0]
        if op in ("and", "or"):
            a, b = self(node[1]), self(node[2])
            return (a & b) if op == "and" else (a | b)
        if op == "not":
            return ~self(node[1])
        multi = [x for x in node[1:] if isinstance(x, tuple) and x[0] == "ref" and x[1].tag]
        multi = [x[1] for x in multi if self.kinds.get(x[1].name) == "multi"]
        if multi:
            r = multi[0]
            if op == "cmp" and node[1] in ("==", "!=") and node[3][0] == "lit":
                e = self.multi_eq(r, node[3][1])
                return e if node[1] == "==" else ~e
            if op == "in":
                return ibis.or_(*[self.multi_eq(r, v) for v in node[2]])
            cols = [self.t[_multi_col(r.name, i)] for i in range(len(self.labels[r.name]))]
            if op in ("isnull", "notnull"):
                anyv = ibis.or_(*cols)
                return ~anyv if op == "isnull" else anyv
            raise ConditionError(f"tag:{r.name} has several values per user: use = '<label>', in (...) or is null")
        if op == "cmp":
            a, b = self.operand(node[2]), self.operand(node[3])
            return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[node[1]]
        if op == "in":
            return self.operand(node[1]).isin([v for v in node[2]])
        if op == "between":
            return self.operand(node[1]).between(node[2], node[3])
        if op == "isnull":
            return self.operand(node[1]).isnull()
        if op == "notnull":
            return self.operand(node[1]).notnull()
        if op == "truth":
            x = node[1]
            kind = self.kinds.get(x[1].name) if x[1].tag else PROFILE_COLUMNS.get(x[1].name)
            if kind not in ("bool", "rule", "ranking") and not (x[0] == "lit" and isinstance(x[1], bool)):
                raise ConditionError(f"{x[1]} is not a yes/no value: compare it, e.g. {x[1]} = '...'")
            return self.operand(x).cast("boolean")
        raise ConditionError(f"unknown condition node {op!r}")  # pragma: no cover


def _condition(t, text: str, kinds: dict[str, str], labels: dict[str, list[str]], where: str):
    try:
        node = check_condition(text, tags=kinds)
        return _Compiler(t, kinds, labels)(node).fill_null(False)
    except ConditionError as e:
        raise ConditionError(f"{where}: {e} (in {text!r})") from None
    except (TypeError, ValueError, ibis.common.exceptions.IbisTypeError) as e:
        raise ConditionError(f"{where}: the values compared do not match in type ({e}) (in {text!r})") from None


def _ranking(t, spec: TagSpec):
    c = t[spec.column]
    pct = float(spec.top if spec.top is not None else spec.bottom or 0)
    order = ibis.desc(c) if spec.top is not None else c
    r = ibis.rank().over(ibis.window(group_by=[c.isnull()], order_by=[order]))  # min rank, 0-based
    n = c.count().over(ibis.window(group_by=[c.isnull()]))
    # tagged when fewer than pct % of the users with a value rank strictly before (ties share a rank)
    return (r.cast("float64") * 100.0 < n.cast("float64") * float(pct)).fill_null(False)


def _bucket(t, spec: TagSpec):
    c = t[spec.column]
    if spec.of == "percentile":  # pandas rank(method="min", pct=True): min rank (1-based) / users with a value
        r = ibis.rank().over(ibis.window(group_by=[c.isnull()], order_by=[c]))
        n = c.count().over(ibis.window(group_by=[c.isnull()]))
        v = ibis.ifelse(c.isnull(), ibis.null("float64"), (r + 1).cast("float64") / n.cast("float64"))
    else:
        v = c.cast("float64")
    bins, labels = spec.bins or [], spec.labels or []
    cases = [((v > lo) & (v <= hi), lab) for lo, hi, lab in zip(bins, bins[1:], labels)]
    return ibis.cases(*cases, else_=ibis.null("string"))


def apply_tags(profile, tags: dict) -> Any:
    """The Ibis table ``profile`` (profile columns, see :data:`PROFILE_COLUMNS`) with one column per tag, in
    evaluation order (each after the tags it uses, :func:`helpers.sections_tags.tag_order`): rule and ranking
    tags boolean, bucket and group tags their label (NULL when none applies), multi tags one boolean column per
    value (``__multi_<tag>_<i>``, assembled by :func:`evaluate_tags`). ConditionError names the tag's key path."""
    t = profile
    kinds: dict[str, str] = {}
    labels: dict[str, list[str]] = {}
    active = _active(tags)
    for name in tag_order(active):
        spec = active[name]
        where = f"tags.{name}"
        kind = spec.kind or "rule"
        if kind == "rule":
            t = t.mutate(**{name: _condition(t, spec.when or "", kinds, labels, f"{where}.when")})
        elif kind == "ranking":
            t = t.mutate(**{name: _ranking(t, spec)})
        elif kind == "bucket":
            t = t.mutate(**{name: _bucket(t, spec)})
        elif kind == "group":
            conds = [
                (_condition(t, v.when, kinds, labels, f"{where}.values.{i}.when"), v.label)
                for i, v in enumerate(spec.values or [])
            ]
            default = ibis.literal(spec.default) if spec.default is not None else ibis.null("string")
            t = t.mutate(**{name: ibis.cases(*conds, else_=default)})
        else:  # multi
            labels[name] = [v.label for v in spec.values or []]
            t = t.mutate(
                **{
                    _multi_col(name, i): _condition(t, v.when, kinds, labels, f"{where}.values.{i}.when")
                    for i, v in enumerate(spec.values or [])
                }
            )
        kinds[name] = kind
    return t


def _typed(profile: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The profile columns a tag may read, with the types of :data:`PROFILE_COLUMNS` (empty columns typed)."""
    out = pd.DataFrame({"user_id": profile["user_id"].astype(str)})
    for c in columns:
        kind = PROFILE_COLUMNS[c]
        s = profile[c] if c in profile else pd.Series(pd.NA, index=profile.index)
        if kind == "number":
            out[c] = pd.to_numeric(s, errors="coerce").astype("float64")
        elif kind == "bool":
            out[c] = s.astype("boolean")
        elif kind == "time":
            out[c] = pd.to_datetime(s, errors="coerce").astype("datetime64[us]")
        else:
            out[c] = s.astype(object).where(s.notna(), None).map(lambda x: x if x is None else str(x))
    # every missing value as None in object columns: Spark turns a pandas NaN into a NaN number (above every number,
    # so NaN >= 0.5 is true) or the text 'nan' (so `city is null` is false); the memtable's schema types them
    return out.astype(object).where(out.notna(), None)


def _schema(columns: list[str]) -> dict[str, str]:
    return {"user_id": "string", **{c: _IBIS_TYPES[PROFILE_COLUMNS[c]] for c in columns}}


def _columns_used(tags: dict, audiences: dict | None = None) -> list[str]:
    from .tag_grammar import parse, references

    used: list[str] = []
    for spec in _active(tags).values():
        texts = [spec.when] if spec.when else []
        texts += [v.when for v in spec.values or []]
        used += [spec.column] if spec.column else []
        used += [r.name for t in texts for r in references(parse(t)) if not r.tag]
    for a in (audiences or {}).values():
        used += [r.name for r in references(parse(a.when)) if not r.tag]
    return [c for c in dict.fromkeys(used) if c != "user_id"]


def blank_tags(profile: pd.DataFrame, tags: dict) -> dict[str, list[str]]:
    """The tags that cannot tell users apart because every profile column they read is empty for every user (data
    without amounts: ``price_band`` reads ``median_price``), with those columns. A tag that reads another tag is never
    in it. Such a tag is still evaluated (its column is empty or its default); the pages leave it out and say why."""
    empty = {c for c in profile.columns if profile[c].isna().all()}
    out = {}
    for name, spec in _active(tags).items():
        cols = _columns_used({name: spec})
        if cols and not tag_refs(spec) and all(c in empty or c not in profile.columns for c in cols):
            out[name] = cols
    return out


def empty_reads(profile: pd.DataFrame, when: str, blank: dict[str, list[str]]) -> list[str]:
    """The profile columns a condition ``when`` reads that are empty for every user, directly or through a tag of
    ``blank`` (:func:`blank_tags`): why an audience on ``churn_probability`` has nobody when churn did not run."""
    from .tag_grammar import parse, references

    out: list[str] = []
    for r in references(parse(when)):
        if r.tag:
            out += blank.get(r.name, [])
        elif r.name in profile.columns and profile[r.name].isna().all():
            out.append(r.name)
    return list(dict.fromkeys(out))


def _audience_cols(t, tags: dict, audiences: dict):
    kinds: dict[str, str] = {k: v.kind or "rule" for k, v in _active(tags).items()}
    labels = {k: [v.label for v in s.values or []] for k, s in _active(tags).items() if s.kind == "multi"}
    return t.mutate(
        **{
            f"__aud_{i}": _condition(t, a.when, kinds, labels, f"audiences.{name}.when")
            for i, (name, a) in enumerate(audiences.items())
        }
    )


def _finish(df: pd.DataFrame, tags: dict, audiences: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Engine output -> (``tags``: user_id + one column per tag, ``audiences``: user_id + one bool per audience)."""
    df = df.sort_values("user_id", ignore_index=True)
    out = pd.DataFrame({"user_id": df["user_id"].astype(str)})
    for name, spec in _active(tags).items():
        if spec.kind == "multi":
            labs = [v.label for v in spec.values or []]
            m = np.column_stack([df[_multi_col(name, i)].fillna(False).astype(bool) for i in range(len(labs))])
            out[name] = ["|".join(lab for lab, on in zip(labs, row) if on) or None for row in m]
        elif spec.kind in ("rule", "ranking"):
            out[name] = df[name].fillna(False).astype(bool)
        else:
            out[name] = df[name].astype(object).where(df[name].notna(), None)
    aud = pd.DataFrame({"user_id": out["user_id"]})
    for i, name in enumerate(audiences):
        aud[name] = df[f"__aud_{i}"].fillna(False).astype(bool).to_numpy()
    return out, aud


def evaluate_tags(
    profile: pd.DataFrame, tags: dict, audiences: dict | None = None, *, con=None, table=None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every tag and audience of every user of ``profile`` (one row per user), computed by the engine: on
    ``table`` (an Ibis table of the profile, e.g. on Spark) when given, else on an in-memory copy executed by
    ``con`` (the campaign's backend; default DuckDB).

    Returns
    -------
    ``(tags, audiences)``: ``tags`` has ``user_id`` and one column per tag (rule/ranking: bool; bucket/group:
    label or None; multi: the labels joined by ``|`` or None); ``audiences`` ``user_id`` and one bool per
    audience. Both sorted by ``user_id``.
    """
    audiences = audiences or {}
    cols = _columns_used(tags, audiences)
    if table is None:
        table = ibis.memtable(_typed(profile, cols), schema=_schema(cols))
    t = _audience_cols(apply_tags(table, tags), tags, audiences)
    keep = [c for c in t.columns if c not in PROFILE_COLUMNS or c == "user_id"]
    expr = t.select(*keep)
    df = con.to_pandas(expr) if con is not None else expr.to_pandas()
    return _finish(df, tags, audiences)


# ------------------------------------------------------------------------------------------- describing
def tag_rule_text(spec: TagSpec) -> str:
    """The rule of a tag in one line, as the report documents it."""
    if spec.kind == "rule":
        return str(spec.when)
    if spec.kind == "ranking":
        side, pct = ("tags.rule_top", spec.top) if spec.top is not None else ("tags.rule_bottom", spec.bottom)
        return i18n.t(side, pct=f"{pct:g}", column=spec.column)
    sep = i18n.t("label_sep")  # the page's punctuation around the expressions: "高：0 < x <= 100；低：…"
    if spec.kind == "bucket":
        of = i18n.t("tags.percentile_of", column=spec.column) if spec.of == "percentile" else str(spec.column)
        edges = spec.bins or []
        return i18n.clause_join(
            f"{lab}{sep}{_edge(lo)} < {of} <= {_edge(hi)}" for lo, hi, lab in zip(edges, edges[1:], spec.labels or [])
        )
    first = i18n.t("tags.first_match" if spec.kind == "group" else "tags.every_match")
    rules = i18n.clause_join(f"{v.label}{sep}{v.when}" for v in spec.values or [])
    return first + rules + (i18n.t("tags.else", default=spec.default) if spec.default is not None else "")


def tag_value_rule(spec: TagSpec, value: str) -> str:
    """The rule of one value of a tag, as the tag table's row for that value shows it: a bucket's own bin
    (``1/3 < active_days 的百分位排名 <= 2/3``); a group value's condition and the earlier values it is not (first
    match wins: ``n_orders >= 2，且不属于高``), the default as the rest (``不属于高、中的其余用户``); a multi tag's
    value its condition. A rule or ranking tag has one row: its whole rule (:func:`tag_rule_text`)."""
    if spec.kind == "bucket":
        edges, labels = spec.bins or [], list(spec.labels or [])
        if value in labels:
            k = labels.index(value)
            of = i18n.t("tags.percentile_of", column=spec.column) if spec.of == "percentile" else str(spec.column)
            return f"{_edge(edges[k])} < {of} <= {_edge(edges[k + 1])}"
    if spec.kind in ("group", "multi"):
        values = spec.values or []
        labels = [v.label for v in values]
        k = labels.index(value) if value in labels else len(labels)
        earlier = i18n.list_join(labels[:k])
        if k == len(labels):
            return i18n.t("tags.none_earlier", earlier=earlier) if spec.kind == "group" and labels else ""
        when = str(values[k].when)
        return i18n.t("tags.not_earlier", when=when, earlier=earlier) if spec.kind == "group" and k else when
    return tag_rule_text(spec)


def _edge(edge: float | str) -> str:
    """A bin edge as declared: a fraction given as text ("1/3", stored as 0.333...) as that fraction, any other
    number as ``%g`` (0.5, 100, -1)."""
    from fractions import Fraction

    x = float(edge)  # the params turn every edge into a float (sections_tags.TagSpec)
    f = Fraction(x).limit_denominator(12)
    return f"{f.numerator}/{f.denominator}" if f.denominator > 1 and float(f) == x and len(f"{x:g}") > 5 else f"{x:g}"


def tag_items(tagged: pd.DataFrame, tags: dict) -> pd.DataFrame:
    """One boolean column per tag value (``<tag>=<value>``; rule and ranking tags just ``<tag>``)."""
    out = {}
    for name, spec in _active(tags).items():
        s = tagged[name]
        if spec.kind in ("rule", "ranking"):
            out[name] = s.astype(bool)
            continue
        for v in tag_value_order(spec):
            out[f"{name}={v}"] = (
                s.fillna("").str.split("|").map(lambda xs, v=v: v in xs) if spec.kind == "multi" else s == v
            )
    return pd.DataFrame(out, index=tagged.index).fillna(False).astype(bool)


def tag_value_order(spec: TagSpec) -> list[str]:
    """A labelling tag's values in their declared order: a bucket's labels from the lowest bin up, a group's or a
    multi tag's values as listed (a group's default last); rule and ranking tags have none (empty list)."""
    if spec.kind in ("group", "multi"):
        values = [v.label for v in spec.values or []]
        if spec.kind == "group" and spec.default is not None:
            values.append(spec.default)
        return values
    return list(spec.labels or []) if spec.kind == "bucket" else []


def tag_value_counts(values: pd.Series, spec: TagSpec | None = None) -> pd.Series:
    """Users per value of one tag column, in the tag's declared value order (:func:`tag_value_order`, values with
    no user kept as 0), so that a chart of a bucket reads from its lowest bin up; values not declared (and columns
    without a spec, such as RFM segments) follow, most users first."""
    vc = values.value_counts()
    order = tag_value_order(spec) if spec is not None else []
    if not order:
        return vc
    rest = [v for v in vc.index if v not in set(order)]
    return vc.reindex(order + rest, fill_value=0)


def tag_summary(tagged: pd.DataFrame, tags: dict) -> pd.DataFrame:
    """Per tag value: ``tag``, ``kind``, ``value``, ``users``, ``share`` (of all users), ``description``,
    ``rule`` (that value's rule, :func:`tag_value_rule`)."""
    rows = []
    n = len(tagged)
    items = tag_items(tagged, tags)
    for name, spec in _active(tags).items():
        for col in [c for c in items if c == name or c.startswith(f"{name}=")]:
            k = int(items[col].sum())
            value = YES if col == name else col[len(name) + 1 :]
            rule = tag_value_rule(spec, value)  # the row's own value's rule
            rows.append((name, spec.kind, value, k, k / n if n else np.nan, spec.description, rule))
    return pd.DataFrame(rows, columns=["tag", "kind", "value", "users", "share", "description", "rule"])


def tag_overlap(tagged: pd.DataFrame, tags: dict, *, max_items: int = 30) -> pd.DataFrame:
    """Overlap of each pair of tag values of different tags (the first ``max_items`` values), once per pair, ``a``
    declared before ``b``: ``a``, ``b``, ``users_a``, ``users_b``, ``both``, ``share_of_a`` (both / users_a: the
    share of a's users who are also b), ``share_of_b`` (both / users_b), ``jaccard`` (both / either)."""
    items = tag_items(tagged, tags).iloc[:, :max_items]
    x = items.to_numpy(dtype=np.int64)
    both = x.T @ x
    names = list(items.columns)
    rows = []
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            b = names[j]
            if a.split("=")[0] == b.split("=")[0]:
                continue  # values of one group never overlap
            na, nb, k = int(both[i, i]), int(both[j, j]), int(both[i, j])
            either = na + nb - k
            share = [k / n if n else np.nan for n in (na, nb, either)]
            rows.append((a, b, na, nb, k, *share))
    cols = ["a", "b", "users_a", "users_b", "both", "share_of_a", "share_of_b", "jaccard"]
    return pd.DataFrame(rows, columns=cols)


def tag_effects(profile: pd.DataFrame, tagged: pd.DataFrame, tags: dict) -> pd.DataFrame:
    """Users with vs without each tag value: ``users_with``, ``users_without`` and, for each group,
    ``conversion`` (share of buyers), ``spend`` (mean spend per user, users without spend count 0),
    ``returning`` (share active on 2 or more days). Columns ``<metric>_with``, ``<metric>_without``,
    ``<metric>_diff`` (with − without). Descriptive: a tag defined from spend differs in spend by design."""
    p = profile.set_index("user_id").reindex(tagged["user_id"].astype(str))
    metrics = {
        "conversion": p["buyer"].astype("boolean").fillna(False).astype(float).to_numpy(),
        "spend": pd.to_numeric(p["spend"], errors="coerce").fillna(0).to_numpy(dtype=float),
        "returning": (pd.to_numeric(p["active_days"], errors="coerce").fillna(0) >= 2).to_numpy(dtype=float),
    }
    rows = []
    for col, on in tag_items(tagged, tags).items():
        m = on.to_numpy()
        row: dict[str, Any] = {"tag_value": col, "users_with": int(m.sum()), "users_without": int((~m).sum())}
        for k, v in metrics.items():
            a = float(v[m].mean()) if m.any() else np.nan
            b = float(v[~m].mean()) if (~m).any() else np.nan
            row.update({f"{k}_with": a, f"{k}_without": b, f"{k}_diff": a - b})
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------- audiences
def audience_members(aud: pd.DataFrame, name: str) -> pd.DataFrame:
    """The users of one audience: a frame with the one column ``user_id``, sorted."""
    return aud.loc[aud[name].astype(bool), ["user_id"]].sort_values("user_id", ignore_index=True)


def audience_summary(aud: pd.DataFrame, audiences: dict, *, folder: str = "") -> pd.DataFrame:
    """Per audience: ``audience``, ``users``, ``share``, ``description``, ``rule``, ``file`` (under results/)."""
    n = len(aud)
    rows = []
    for name, a in audiences.items():
        k = int(aud[name].sum())
        rows.append((name, k, k / n if n else np.nan, a.description, a.when, f"{folder}{name}.csv"))
    return pd.DataFrame(rows, columns=["audience", "users", "share", "description", "rule", "file"])


def write_audiences(aud: pd.DataFrame, audiences: dict, folder: Path, *, prefix: str = "") -> list[Path]:
    """One CSV per audience, ``<folder>/<prefix><audience>.csv`` (column ``user_id``; UTF-8 with BOM like every
    results CSV); older ``<prefix>*.csv`` files (an audience removed from the params) are deleted first. The ids
    are those of the clean tables: pseudonyms when ``privacy.pseudonymize_user_ids`` is on (ingest replaced them)."""
    folder.mkdir(parents=True, exist_ok=True)
    if prefix:
        for old in folder.glob(f"{prefix}*.csv"):
            old.unlink()
    out = []
    for name in audiences:
        p = folder / f"{prefix}{name}.csv"
        audience_members(aud, name).to_csv(p, index=False, encoding="utf-8-sig")
        out.append(p)
    return out


# ------------------------------------------------------------------------------------------- breakdowns
def tag_values(ctx, breakdown: str, *, report: str = "", profile: pd.DataFrame | None = None):
    """The Ibis table ``(user_id, value)`` of the tag named by ``breakdown`` (``tag:<name>``) for every user
    of the campaign's profile, to join on ``user_id``: rule and ranking tags give :data:`YES` or :data:`NO`,
    bucket and group tags their label (users without one left out), multi tags one row per value; an audience
    (``audience:<name>``) gives :data:`YES` or :data:`NO`.
    ``report``: the asking report's section, for the error's key path. ``profile``: the profile table without
    tags (default: built from ``ctx``, helpers/profile_data.py)."""
    from .errors import ParamsError
    from .profile_data import campaign_profile

    tags = _active(ctx.cfg.tags)
    ref_kind, name = breakdown_ref(breakdown) or ("", breakdown)
    if ref_kind == "audience":
        return _audience_values(ctx, breakdown, report=report, profile=profile)
    if name not in tags:
        from .tag_grammar import _did_you_mean

        why = f"unknown tag {breakdown!r}{_did_you_mean(name, tags)}; declared tags: {', '.join(tags) or 'none'}"
        raise ParamsError(f"params/{ctx.cfg.campaign}.yaml", [(f"{report or 'report'}.breakdown", why)])
    if profile is None:
        profile = campaign_profile(ctx)[0]
    tagged, _ = evaluate_tags(profile, tags, con=ctx.con)
    s = tagged[["user_id", name]]
    kind = tags[name].kind
    if kind in ("rule", "ranking"):
        df = pd.DataFrame({"user_id": s["user_id"], "value": np.where(s[name], YES, NO)})
    elif kind == "multi":
        df = s.assign(value=s[name].str.split("|")).explode("value")[["user_id", "value"]].dropna()
    else:
        df = s.rename(columns={name: "value"}).dropna()
    return ibis.memtable(df.astype({"user_id": str, "value": str}).reset_index(drop=True))


def _audience_values(ctx, breakdown: str, *, report: str, profile: pd.DataFrame | None):
    """:func:`tag_values` of ``audience:<name>``: :data:`YES` for the audience's members, :data:`NO` for the
    other users of the profile."""
    from .errors import ParamsError
    from .profile_data import campaign_profile
    from .tag_grammar import _did_you_mean

    name = (breakdown_ref(breakdown) or ("", breakdown))[1]
    audiences = ctx.cfg.audiences or {}
    if name not in audiences:
        known = ", ".join(audiences) or "none"
        why = f"unknown audience {breakdown!r}{_did_you_mean(name, audiences)}; declared audiences: {known}"
        raise ParamsError(f"params/{ctx.cfg.campaign}.yaml", [(f"{report or 'report'}.breakdown", why)])
    if profile is None:
        profile = campaign_profile(ctx)[0]
    _, aud = evaluate_tags(profile, _active(ctx.cfg.tags), {name: audiences[name]}, con=ctx.con)
    df = pd.DataFrame({"user_id": aud["user_id"].astype(str), "value": np.where(aud[name], YES, NO)})
    return ibis.memtable(df)


def with_tag_column(ctx, events, breakdown: str, *, report: str):
    """``events`` with one more column named ``breakdown`` (``tag:<name>``): the user's value of that tag
    (:func:`tag_values`; NULL for users not in the profile). One value per user, so that no event is counted
    twice: a multi-value tag is refused (ParamsError naming ``<report>.breakdown``; use a group tag)."""
    from .errors import ParamsError

    kind, name = breakdown_ref(breakdown) or ("", "")
    spec = (ctx.cfg.tags or {}).get(name) if kind == "tag" else None
    if spec is not None and spec.kind == "multi":
        why = f"{breakdown} has several values per user; break down by a group, bucket, rule or ranking tag"
        raise ParamsError(f"params/{ctx.cfg.campaign}.yaml", [(f"{report}.breakdown", why)])
    tv = tag_values(ctx, breakdown, report=report).rename(__tag_user="user_id", __tag_value="value")
    j = events.left_join(tv, events["user_id"].cast("string") == tv["__tag_user"])
    return j.select(*events.columns, j["__tag_value"].name(breakdown))
