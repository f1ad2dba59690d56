"""Metric definitions of the trends report, evaluated on Ibis (the same code on DuckDB and Spark).

A metric is either a *base* aggregate over the events (optionally of some events, with property filters):
``count`` (rows), ``users`` (distinct users), ``sum``/``avg``/``median``/``p90``/``distinct`` of a column;
or a *formula* over other metrics (``"gmv / paying_users"``). docs/trends.md has every built-in's rule.

Kinds decide the comparison test: ``rate`` (a ratio of two distinct-user counts: two-proportion test),
``mean`` (an amount or count per user or per order: Welch's t-test on the per-unit values), ``value``
(everything else: absolute and relative change only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import ibis
import pandas as pd

from .engine import as_table, money_sum
from .formulas import evaluate, formula_names
from .i18n import catalogue, label

__all__ = [
    "Metric", "BUILTINS", "metric_label", "resolve_metrics", "formula_names", "aggregate_metrics", "unit_stats",
    "is_additive",
    "same_per_bucket",
    "sums_over_days",
    "number_kind",
    "welch",
]  # fmt: skip

#: the group of rows whose breakdown column is missing, and of the groups outside the top N (the results files keep
#: these codes; pages show them in the campaign's language, helpers/trends.py ``_group_name``)
NO_GROUP = "(none)"
OTHER_GROUP = "other"

BASE_AGGS = ("count", "users", "sum", "avg", "median", "p90", "distinct")


@dataclass(frozen=True)
class Metric:
    """One metric: ``agg`` over the events matching ``events`` and ``where`` (base), or a ``formula``."""

    name: str
    label: str = ""
    agg: str = "count"
    events: tuple[str, ...] = ()
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()
    column: str | None = None
    formula: str | None = None
    kind: str = "value"  # value | rate | mean
    #: for ``mean``: (numerator metric, unit metric): the per-unit values are the numerator per unit
    unit: tuple[str, str] | None = field(default=None)
    #: an amount of money (a sum, average, median or percentile of the campaign's amount column): shown with the
    #: campaign's currency; a sum is summed exactly, as :data:`helpers.engine.MONEY`
    money: bool = False
    #: a share that is not a proportion of users (``stickiness``: DAU over the active users): read as a percentage
    #: and its change in percentage points, as a ``rate``, but tested as a value
    share: bool = False


def _name(metric: str) -> str:
    """The display name of a built-in metric in the current language (``metric.<name>`` in the catalogue)."""
    return label(f"metric.{metric}")


def metric_label(m: Metric) -> str:
    """What a reader sees for metric ``m``: its own ``label`` (a declared metric), else the catalogue's display
    name of a built-in (``metric.<name>``), else its name."""
    names = catalogue().get(f"metric.{m.name}")
    if names and (not m.label or m.label in names.values()):
        return label(f"metric.{m.name}")
    return m.label or m.name


def _builtins(order_events: tuple[str, ...], amount_col: str) -> dict[str, Metric]:
    oe = order_events
    return {
        "active_users": Metric("active_users", _name("active_users"), "users"),
        "dau": Metric("dau", _name("dau"), "dau"),
        "events": Metric("events", _name("events"), "count"),
        "events_per_user": Metric(
            "events_per_user",
            _name("events_per_user"),
            formula="events / active_users",
            kind="mean",
            unit=("events", "active_users"),
        ),
        "orders": Metric("orders", _name("orders"), "count", events=oe),
        "paying_users": Metric("paying_users", _name("paying_users"), "users", events=oe),
        "gmv": Metric("gmv", _name("gmv"), "sum", events=oe, column=amount_col, money=True),
        "aov": Metric("aov", _name("aov"), formula="gmv / orders", kind="mean", unit=("gmv", "orders")),
        "arpu": Metric("arpu", _name("arpu"), formula="gmv / active_users", kind="mean", unit=("gmv", "active_users")),
        "arppu": Metric(
            "arppu", _name("arppu"), formula="gmv / paying_users", kind="mean", unit=("gmv", "paying_users")
        ),
        "pay_rate": Metric("pay_rate", _name("pay_rate"), formula="paying_users / active_users", kind="rate"),
        "stickiness": Metric("stickiness", _name("stickiness"), formula="dau / active_users", share=True),
    }


BUILTINS = tuple(_builtins(("pay",), "amount"))


def resolve_metrics(
    specs: list, *, order_events: tuple[str, ...], amount_col: str, key: str = "trends.metrics", source: str = "params"
) -> dict[str, Metric]:
    """Metrics by name from ``trends.metrics`` (built-in names or mappings), with every metric a formula
    uses added (in dependency order). A ratio of two ``users`` metrics is a ``rate``; a count or sum per
    ``users`` or ``count`` metric is a ``mean``."""
    builtins = _builtins(order_events, amount_col)
    declared: dict[str, Metric] = {}
    for s in specs:
        if isinstance(s, str):
            if s not in builtins:
                from .spelling import LOOSE_CUTOFF, did_you_mean

                hint = did_you_mean(s, builtins, cutoff=LOOSE_CUTOFF)
                from .errors import ParamsError  # a params problem, named by its key (``source``: the params file)

                raise ParamsError(source, [(key, f"unknown built-in {s!r}{hint}; built-ins: {', '.join(builtins)}")])
            declared[s] = builtins[s]
            continue
        d = s if isinstance(s, dict) else s.model_dump()
        ev = d.get("event")
        events = tuple([ev] if isinstance(ev, str) else (ev or []))
        where = tuple((k, tuple([v] if isinstance(v, str) else v)) for k, v in (d.get("where") or {}).items())
        if d.get("formula"):
            declared[d["name"]] = Metric(d["name"], d.get("label") or d["name"], formula=d["formula"])
        elif d.get("agg") == "per_user":
            base = Metric(f"{d['name']}__n", d["name"], "count", events=events, where=where)
            declared[base.name] = base
            declared[d["name"]] = Metric(
                d["name"],
                d.get("label") or d["name"],
                formula=f"{base.name} / active_users",
                kind="mean",
                unit=(base.name, "active_users"),
            )
        else:
            declared[d["name"]] = Metric(
                d["name"],
                d.get("label") or d["name"],
                d.get("agg") or "count",
                events=events,
                where=where,
                column=d.get("column"),
                money=d.get("agg") in ("sum", "avg", "median", "p90") and d.get("column") == amount_col,
            )
    out: dict[str, Metric] = {}

    def add(name: str, path: tuple[str, ...] = ()) -> None:
        if name in out:
            return
        if name in path:
            raise ValueError(f"trends.metrics: formula cycle {' -> '.join((*path, name))}")
        m = declared.get(name) or builtins.get(name)
        if m is None:
            raise ValueError(f"trends.metrics: formula uses unknown metric {name!r}")
        if m.formula:
            names = formula_names(m.formula)
            for n in names:
                add(n, (*path, name))
            if m.kind == "value" and len(names) == 2 and m.formula.replace(" ", "") == f"{names[0]}/{names[1]}":
                a, b = out[names[0]], out[names[1]]
                if a.agg == "users" and b.agg == "users":
                    m = Metric(m.name, m.label, formula=m.formula, kind="rate")
                elif a.agg in ("count", "sum") and b.agg in ("users", "count"):
                    m = Metric(m.name, m.label, formula=m.formula, kind="mean", unit=(a.name, b.name))
        out[name] = m

    for name in declared:
        add(name)
    return out


def _cond(t, m: Metric, event_col: str):
    c = None
    if m.events:
        c = t[event_col].isin(list(m.events))
    for col, vals in m.where:
        w = t[col].cast("string").isin(list(vals))
        c = w if c is None else c & w
    return c


def _base_expr(t, m: Metric, user_col: str, event_col: str):
    c = _cond(t, m, event_col)
    if m.agg == "count":
        return (c.cast("int64").sum() if c is not None else t.count()).cast("float64")
    if m.agg == "users":
        return t[user_col].nunique(where=c).cast("float64")
    col = t[m.column]
    if m.agg == "sum":
        return money_sum(col, where=c) if m.money else col.sum(where=c).cast("float64")
    if m.agg == "avg":
        return col.mean(where=c).cast("float64")
    if m.agg == "median":
        return col.median(where=c).cast("float64")
    if m.agg == "p90":
        return col.quantile(0.9, where=c).cast("float64")
    if m.agg == "distinct":
        return col.nunique(where=c).cast("float64")
    raise ValueError(f"unknown aggregation {m.agg!r}")


def aggregate_metrics(
    events,
    metrics: dict[str, Metric],
    *,
    bucket,
    group_col: str | None = None,
    top: list[str] | None = None,
    user_col: str = "user_id",
    ts_col: str = "ts",
    event_col: str = "event",
) -> pd.DataFrame:
    """Every metric per bucket (and group).

    ``bucket(t)`` gives the Ibis bucket expression (a truncated timestamp or a window label; rows where it
    is null are left out). ``group_col`` with ``top``: groups outside ``top`` are ``"other"``, missing
    values are ``"(none)"``.

    Returns
    -------
    DataFrame ``bucket``, [``group``], one column per metric (float; a formula is NaN where a divisor is 0).
    """
    t = as_table(events)
    keys = {"bucket": bucket(t)}
    if group_col:
        g = t[group_col].cast("string").fill_null(NO_GROUP)
        keys["group"] = g.isin(list(top)).ifelse(g, OTHER_GROUP) if top is not None else g
    t = t.mutate(**keys)
    t = t.filter(t["bucket"].notnull())
    by = list(keys)
    base = {n: m for n, m in metrics.items() if not m.formula and m.agg != "dau"}
    df = t.group_by(by).aggregate(**{n: _base_expr(t, m, user_col, event_col) for n, m in base.items()}).to_pandas()
    if any(m.agg == "dau" for m in metrics.values()):
        day = t.mutate(_day=t[ts_col].truncate("D"))
        daily = day.group_by([*by, "_day"]).aggregate(_u=day[user_col].nunique()).to_pandas()
        dau = daily.groupby(by)["_u"].sum()
        ndays = daily.groupby(by)["_day"].nunique()
        df = df.merge((dau / ndays).rename("dau").reset_index(), on=by, how="left")
    for n, m in metrics.items():
        if m.formula:
            df[n] = evaluate(m.formula, {c: df[c] for c in df.columns})
        df[n] = df[n].astype(float).fillna(0.0) if is_additive(m) else df[n].astype(float)
    return df.sort_values(by).reset_index(drop=True)


def same_per_bucket(granularity: str) -> frozenset[str]:
    """The built-in metrics whose series says nothing at ``granularity``: within a day or an hour, ``dau`` is the
    bucket's active users and ``stickiness`` (``dau / active_users``) is 1 in every bucket. The trends page does
    not chart them then (their window values stay in the summary)."""
    return frozenset({"dau", "stickiness"}) if granularity in ("hour", "day") else frozenset()


def is_additive(m: Metric) -> bool:
    """Whether a day without events is 0 for the metric (a base count, user count, sum or distinct count) rather than
    missing (a formula such as a rate or a mean per user, an average, median or percentile: no events, no value)."""
    return not m.formula and m.agg in ("count", "users", "sum", "distinct")


def number_kind(m: Metric | None, metrics: dict[str, Metric]) -> str:
    """How a page writes the metric's values (:func:`helpers.fmt.row_formats`): ``"money"`` for an amount (the
    campaign's amount column summed or averaged, or such a sum per order or user: ``gmv``, ``aov``, ``arpu``),
    ``"rate"`` for a share (of users, or :attr:`Metric.share`), else the metric's ``kind`` (a count or a mean: plain
    numbers)."""
    if m is None:
        return ""
    if m.money or (m.kind == "mean" and m.unit and getattr(metrics.get(m.unit[0]), "money", False)):
        return "money"
    return "rate" if m.share else m.kind


def sums_over_days(m: Metric) -> bool:
    """Whether a metric's daily values add up to a total a reader can use: a base count (events, orders) or a sum
    (an amount). A user or distinct count does not (a user active on three days is one user, not three), nor a
    formula (a rate, a mean per user) or an average, median or percentile: their days average instead."""
    return not m.formula and m.agg in ("count", "sum")


def unit_stats(
    events, metrics: dict[str, Metric], name: str, *, bucket, user_col: str = "user_id", event_col: str = "event"
) -> pd.DataFrame:
    """For a ``mean`` metric: ``n``, ``mean``, ``var`` (sample) of its per-unit values per bucket: each unit
    user's numerator (0 when they have none), or each order's amount for a per-order mean."""
    t = as_table(events)
    pair = metrics[name].unit
    if pair is None:
        raise ValueError(f"metric {name!r} is not a per-unit mean")
    num, unit = metrics[pair[0]], metrics[pair[1]]
    t = t.mutate(bucket=bucket(t))
    t = t.filter(t["bucket"].notnull())
    if unit.agg == "count":  # per event (order): the column's value of each matching row
        c = _cond(t, unit, event_col)
        rows = t.filter(c) if c is not None else t
        vals = rows.select("bucket", v=(rows[num.column] if num.column else ibis.literal(1.0)).cast("float64"))
    else:
        cu = _cond(t, unit, event_col)
        inunit = cu.any() if cu is not None else t.count() > 0
        per = t.group_by(["bucket", user_col]).aggregate(v=_base_expr(t, num, user_col, event_col), u=inunit)
        vals = per.filter(per.u).select("bucket", v=per.v.fill_null(0).cast("float64"))
    agg = vals.group_by("bucket").aggregate(n=vals.count(), mean=vals.v.mean(), var=vals.v.var(how="sample"))
    return agg.to_pandas()


def welch(n_a: float, mean_a: float, var_a: float, n_b: float, mean_b: float, var_b: float) -> dict:
    """Welch's t-test of mean a against mean b: ``diff``, ``diff_ci_low``, ``diff_ci_high`` (95%), ``t``,
    ``df``, ``p_value``; NaN when a group has fewer than 2 units."""
    from scipy.stats import t as tdist

    if n_a < 2 or n_b < 2:
        return {k: math.nan for k in ("diff", "diff_ci_low", "diff_ci_high", "t", "df", "p_value")}
    sa, sb = var_a / n_a, var_b / n_b
    se = math.sqrt(sa + sb)
    diff = mean_a - mean_b
    if se == 0:
        return {
            "diff": diff,
            "diff_ci_low": diff,
            "diff_ci_high": diff,
            "t": math.nan,
            "df": math.nan,
            "p_value": 1.0 if diff == 0 else 0.0,
        }
    df = (sa + sb) ** 2 / (sa**2 / (n_a - 1) + sb**2 / (n_b - 1)) if sa + sb > 0 else math.nan
    tt = diff / se
    q = float(tdist.ppf(0.975, df))
    return {
        "diff": diff,
        "diff_ci_low": diff - q * se,
        "diff_ci_high": diff + q * se,
        "t": tt,
        "df": df,
        "p_value": float(2 * tdist.sf(abs(tt), df)),
    }
