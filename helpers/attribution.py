"""Attribution (归因分析): which channels deserve the credit for conversions and their value.

Journeys are built on Ibis (DuckDB or Spark); the models are in :mod:`helpers.attribution_models`.
docs/attribution.md has every rule.

Rules
-----
- A *touch* is an event with a non-empty ``touch_col`` (its value is the channel), or an event in
  ``touch_events`` (channel: its ``touch_col`` value when there is one, else the event name). With a
  ``session_id`` column, a session's touches of the same channel count once (its first).
- A *conversion* is a ``conversion_event`` event (value: ``value_col``), or an order of the orders table (its
  first row's time, the sum of its amounts).
- A converting journey holds the user's touches ``t`` with ``previous conversion < t <= conversion`` and
  ``t >= conversion - lookback_days``; a non-converting journey holds the touches after the user's last
  conversion (or all of them for a user who never converted). Conversions without a touch in the look-back
  window (``unattributed``) are never dropped: every model credits them to the :data:`NO_TOUCH` bucket, so each
  model's credits sum to all the conversions and their value.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from . import attribution_fast
from .arrays import array_work
from .attribution_models import (
    DATA_MODELS,
    RULE_MODELS,
    Prepared,
    bootstrap_credits,
    markov_credits,
    shapley_credits,
)
from .base import Report, ReportUnavailable, Unavailable, _display
from .caveats import currency_caveat
from .engine import as_table, to_pandas
from .errors import MissingColumnError
from .i18n import label, localized, sentence_start, t

__all__ = ["touch_table", "conversion_table", "build_journeys", "fold_channels", "credit_table", "plot_credits",
           "AttributionReport", "run_attribution", "NO_TOUCH", "OTHER"]  # fmt: skip

MODELS = RULE_MODELS + DATA_MODELS
#: the channel value of the conversions without a touch in the look-back window (shown as ``attribution.no_touch``)
NO_TOUCH = "(no touch)"
#: the channel value of the touches of the channels beyond ``attribution.max_channels`` (:func:`fold_channels`;
#: shown as ``attribution.other``)
OTHER = "(other)"


def channel_label(channel: str, names: dict[str, str] | None = None) -> str:
    """A channel as shown: its name in ``names`` (an event channel's display name), else the data's value; the
    catalogue's names of the :data:`NO_TOUCH` and :data:`OTHER` buckets."""
    if channel == NO_TOUCH:
        return t("attribution.no_touch")
    if channel == OTHER:
        return t("attribution.other")
    return (names or {}).get(channel, channel)


def fold_channels(touches: pd.DataFrame, max_channels: int) -> tuple[pd.DataFrame, dict | None]:
    """``touches`` with at most ``max_channels`` channels: the ``max_channels - 1`` with the most touches (ties
    by name) keep theirs, the others become :data:`OTHER`. Returns the touches and what was grouped
    (``channels`` before, ``kept``, ``grouped`` channels, ``grouped_touches``, ``touches``), or None when the
    touches have ``max_channels`` channels or fewer (``touches`` returned as given)."""
    ch = touches["channel"]
    counts = ch.value_counts(sort=False)
    counts = counts[counts > 0]  # a categorical lists its unused categories too
    if len(counts) <= max_channels:
        return touches, None
    ranked = sorted(counts.items(), key=lambda kv: (-int(kv[1]), str(kv[0])))
    keep = [c for c, _ in ranked[: max_channels - 1]]
    inside = ch.isin(keep).to_numpy()
    if isinstance(ch.dtype, pd.CategoricalDtype):
        ch = ch.cat.add_categories([OTHER]) if OTHER not in ch.cat.categories else ch
        folded = ch.where(inside, OTHER).cat.remove_unused_categories()
    else:
        folded = ch.where(inside, OTHER)
    info = {"channels": int(len(counts)), "kept": len(keep), "grouped": int(len(counts) - len(keep)),
            "grouped_touches": int((~inside).sum()), "touches": int(len(ch))}  # fmt: skip
    return touches.assign(channel=folded), info


def model_labels() -> dict[str, str]:
    """Each model's display name in the current language (``attribution.model.<name>`` in the catalogue)."""
    return {m: label(f"attribution.model.{m}", m) for m in MODELS}


# ------------------------------------------------------------------------------------------- journeys (Ibis)
def touch_table(events, *, touch_col: str | None, touch_events=(), user_col="user_id", ts_col="ts",
                event_col="event", session_col: str | None = "session_id"):  # fmt: skip
    """Touches as an Ibis table ``user_id``, ``ts``, ``channel`` (rules in the module docstring)."""
    import ibis

    t = as_table(events)
    conds = []
    if touch_col:
        v = t[touch_col].cast("string")
        conds.append(v.notnull() & (v.strip() != ""))
    if touch_events:
        conds.append(t[event_col].isin(list(touch_events)))
    cond = conds[0] if len(conds) == 1 else conds[0] | conds[1]
    if touch_col:
        v = t[touch_col].cast("string")
        ch = ibis.cases((v.notnull() & (v.strip() != ""), v.strip()), else_=t[event_col].cast("string"))
    else:
        ch = t[event_col].cast("string")
    sel = {"user_id": t[user_col], "ts": t[ts_col], "channel": ch}
    if session_col and session_col in t.columns:
        sel["session"] = t[session_col].cast("string")
    x = t.filter(cond).select(**sel)
    if "session" in sel:  # a touch without a session id is its own touch (null ids would group as one session)
        s = x.filter(x.session.notnull())
        s = s.group_by(["user_id", "session", "channel"]).aggregate(ts=s.ts.min()).select("user_id", "ts", "channel")
        x = s.union(x.filter(x.session.isnull()).select("user_id", "ts", "channel"), distinct=False)
    return x


def _any_value(table, col: str) -> bool:
    """Whether any row of the Ibis table ``table`` has a value in ``col`` (one count on the engine)."""
    return int(table[col].count().execute()) > 0


def conversion_table(source, *, event: str | None, value_col: str | None, user_col="user_id", ts_col="ts",
                     event_col="event"):  # fmt: skip
    """Conversions as an Ibis table ``user_id``, ``ts``, ``value``: the orders of ``event`` rows of the events
    table, or (with ``event=None``) the orders of an orders table; an order's time is its first row's, its value
    the sum of its rows'. Event rows are orders by :func:`helpers.features.with_order_ids`: their own ``order_id``,
    else a user's events at one instant are one order (three items bought in one checkout are one conversion, not
    one with touches and two without: the journey of a conversion starts after the one before it)."""
    import ibis

    from .features import with_order_ids

    t = as_table(source)
    if event is not None:
        rows = t.filter(t[event_col] == event)
        val = rows[value_col].cast("float64").fill_null(0.0) if value_col else ibis.literal(0.0)
        own = {"order_id": rows["order_id"].cast("string")} if "order_id" in rows.columns else {}
        t = with_order_ids(rows.select(user_id=rows[user_col], ts=rows[ts_col], _v=val, **own))
        user_col, ts_col = "user_id", "ts"
    else:
        t = t.mutate(_v=t[value_col].cast("float64").fill_null(0.0) if value_col else ibis.literal(0.0))
    return (
        t.group_by([user_col, "order_id"])
        .aggregate(ts=lambda x: x[ts_col].min(), value=lambda x: x._v.sum())
        .select(user_id=user_col, ts="ts", value="value")
    )


def build_journeys(
    touches, conversions, *, lookback_days: float, fast: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Converting and non-converting journeys (module docstring), computed on the engine of ``touches``.

    On DuckDB (``fast``, the default) the touches and conversions are selected on the engine and assigned to their
    journeys in numpy (:mod:`helpers.attribution_fast`, tested equal); elsewhere, or with ``fast=False``:

    One pass on the engine: touches and conversions are stacked, and per user, in time order (a touch before a
    conversion at the same time), each touch gets ``k`` = 1 + the number of conversions before it, its journey's
    conversion; an equi-join on ``(user, k)`` brings that conversion's time for the look-back (a touch after the
    user's last conversion finds none: its journey does not convert).

    Returns
    -------
    ``(touches, journeys)``: touches ``journey``, ``channel``, ``ts`` ordered by user, journey and time (ties by
    channel); journeys ``journey``, ``user_id``, ``converted``, ``value``, ``conv_ts``, ``touches`` (count),
    including converting journeys without touches (``touches`` 0), ordered the same way. Journey ids are
    ``<user>#<k>`` (the user's k-th conversion) and ``<user>#-`` (the touches after the last conversion). On the
    fast path the touches' ``journey`` and ``channel`` are pandas categoricals (the same values, no text per row).
    """
    import ibis

    if fast and attribution_fast.applies(touches):
        fast_out = attribution_fast.journeys_fast(touches, conversions, lookback_days=lookback_days)
        if fast_out is not None:
            return fast_out
    t, c = as_table(touches), as_table(conversions)
    ts_type = t.ts.type()
    null_s, null_f = ibis.null().cast("string"), ibis.null().cast("float64")
    u = ibis.union(
        t.select(user_id=t.user_id.cast("string"), ts=t.ts, channel=t.channel.cast("string"), value=null_f,
                 kind=ibis.literal(0)),
        c.select(user_id=c.user_id.cast("string"), ts=c.ts.cast(ts_type), channel=null_s,
                 value=c.value.cast("float64"), kind=ibis.literal(1)),
        distinct=False,
    )  # fmt: skip
    w = ibis.cumulative_window(group_by=u.user_id, order_by=[u.ts, u.kind, u.channel, u.value])
    u = u.mutate(k=u.kind.sum().over(w) + 1 - u.kind).cache()  # read by three queries below
    conv = u.filter(u.kind == 1).select("user_id", "k", conv_ts="ts", value="value")
    tt = u.filter(u.kind == 0).select(t_user="user_id", t_k="k", ts="ts", channel="channel")
    look = ibis.interval(seconds=int(round(lookback_days * 86400)))
    j = tt.left_join(conv, [tt.t_user == conv.user_id, tt.t_k == conv.k])
    j = j.filter(j.conv_ts.isnull() | (j.ts >= j.conv_ts - look))
    j = j.select(user_id="t_user", k="t_k", converted=j.conv_ts.notnull(), ts="ts", channel="channel")
    jid = j.user_id + ibis.literal("#") + ibis.ifelse(j.converted, j.k.cast("string"), ibis.literal("-"))
    tch = j.mutate(journey=jid).order_by(["user_id", "k", "ts", "channel"]).select("journey", "channel", "ts")
    counts = j.group_by(["user_id", "k", "converted"]).aggregate(touches=j.count())
    tch = to_pandas(tch)
    tch["ts"] = pd.to_datetime(tch["ts"])
    counts = counts.to_pandas()
    conv = to_pandas(conv)
    conv = conv.merge(counts[counts["converted"]].drop(columns="converted"), on=["user_id", "k"], how="left")
    non = counts[~counts["converted"]]
    jc = pd.DataFrame({"user_id": conv["user_id"].astype(str), "k": conv["k"].astype(int), "converted": True,
                       "value": conv["value"].astype(float), "conv_ts": pd.to_datetime(conv["conv_ts"]),
                       "touches": conv["touches"].fillna(0).astype(int)})  # fmt: skip
    jn = pd.DataFrame({"user_id": non["user_id"].astype(str), "k": non["k"].astype(int), "converted": False,
                       "value": 0.0, "conv_ts": pd.NaT, "touches": non["touches"].astype(int)})  # fmt: skip
    jr = pd.concat([jc, jn], ignore_index=True).sort_values(["user_id", "k"], kind="stable")
    jr.insert(0, "journey", jr["user_id"] + "#" + jr["k"].astype(str).where(jr["converted"], "-"))
    return tch.reset_index(drop=True), jr.drop(columns="k").reset_index(drop=True)


# ------------------------------------------------------------------------------------------- credits
@array_work()  # large numpy temporaries: no huge-page stalls, freed ones reused (helpers/arrays.py)
def credit_table(touches: pd.DataFrame, journeys: pd.DataFrame, *, direct: str | None = "直接访问",
                 position_weights=(0.4, 0.4), half_life_days: float = 7.0, bootstrap_reps: int = 20, seed: int = 0,
                 shapley_exact_max: int = 12, shapley_samples: int = 2000) -> pd.DataFrame:  # fmt: skip
    """Credits of every model per channel, long format. The models split the journeys with at least one touch;
    the converting journeys without a touch go, in every model, to the channel :data:`NO_TOUCH` (a row only when
    there are any), so each model's credits sum to all the conversions and all their value.

    Returns
    -------
    DataFrame ``model``, ``channel``, ``conversions`` (credited conversions), ``value`` (credited value),
    ``share`` (of the model's conversions, the no-touch bucket included), ``ci_low``, ``ci_high`` (bootstrap 95%
    interval of the credited conversions, data-driven models only), ``se`` (Shapley sampling error, when sampled).
    """
    has = (journeys["touches"] > 0).to_numpy()
    j = journeys[has]
    prep = Prepared(touches, j, touch_rows=_touch_rows(touches, journeys, has))  # integer arrays for every model
    kw = {"direct": direct, "first_weight": position_weights[0], "last_weight": position_weights[1],
          "half_life_hours": half_life_days * 24}  # fmt: skip
    skw = {"exact_max": shapley_exact_max, "samples": shapley_samples}

    def data_driven() -> list[pd.DataFrame]:
        out = []
        for name, c in (("markov", markov_credits(touches, j, prep=prep)),
                        ("shapley", shapley_credits(touches, j, prep=prep, seed=seed, **skw))):  # fmt: skip
            c = c.assign(model=name)
            if bootstrap_reps:
                b = bootstrap_credits(touches, j, name, reps=bootstrap_reps, seed=seed, prep=prep, **skw)
                c = c.merge(b.drop(columns="reps"), on="channel", how="left")
            out.append(c)
        return out

    # the data-driven models (transition counts, channel sets) and the rule-based ones (per-touch weights) read
    # separate caches of ``prep``: they run side by side, numpy releasing the GIL on the large arrays
    with ThreadPoolExecutor(2) as pool:
        data = pool.submit(data_driven)
        parts = [prep.rule_credits(m, **kw).assign(model=m) for m in RULE_MODELS]
        parts += data.result()
    out = pd.concat(parts, ignore_index=True)
    for col in ("ci_low", "ci_high", "se"):
        if col not in out:
            out[col] = math.nan
    channels = sorted(prep.channels[np.bincount(prep.tc, minlength=prep.k) > 0])
    full = pd.MultiIndex.from_product([list(MODELS), channels], names=["model", "channel"])
    out = out.set_index(["model", "channel"]).reindex(full).reset_index()
    out[["conversions", "value"]] = out[["conversions", "value"]].fillna(0.0)
    none = journeys[journeys["converted"] & (journeys["touches"] == 0)]
    if len(none):
        extra = pd.DataFrame({"model": list(MODELS), "channel": NO_TOUCH, "conversions": float(len(none)),
                              "value": float(none["value"].sum())})  # fmt: skip
        out = pd.concat([out, extra], ignore_index=True)
    tot = out.groupby("model")["conversions"].transform("sum")
    out["share"] = out["conversions"] / tot.where(tot != 0)
    return out[["model", "channel", "conversions", "value", "share", "ci_low", "ci_high", "se"]]


def _touch_rows(touches: pd.DataFrame, journeys: pd.DataFrame, has: np.ndarray) -> np.ndarray | None:
    """Each touch's row among the journeys with a touch, read from its categorical journey code when the codes
    number the rows of ``journeys`` (the DuckDB fast path's frames); None otherwise (Prepared looks the ids up)."""
    col = touches["journey"]
    if not isinstance(col.dtype, pd.CategoricalDtype) or len(col.cat.categories) != len(journeys):
        return None
    if not (col.cat.categories == journeys["journey"].to_numpy()).all():
        return None
    row = np.where(has, np.cumsum(has) - 1, -1)
    codes = col.cat.codes.to_numpy()
    return row[codes] if not len(codes) or codes.min() >= 0 else np.where(codes >= 0, row[codes], -1)


def plot_credits(credits: pd.DataFrame, *, metric: str = "conversions", names: dict[str, str] | None = None, ax=None):
    """Credited ``metric`` per channel (groups) and model (bars); returns the Axes. ``names``: channel -> the name
    pages show (:func:`channel_label`)."""
    import matplotlib.pyplot as plt

    wide = credits.pivot_table(index="channel", columns="model", values=metric, aggfunc="sum")
    wide = wide[[m for m in MODELS if m in wide.columns]]
    wide = wide.rename(columns=model_labels(), index=lambda ch: channel_label(ch, names))
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.5))
    wide.plot.bar(ax=ax, width=0.85)
    ax.set_title(t("attribution.chart.title_value" if metric == "value" else "attribution.chart.title"))
    ax.set_xlabel(t("attribution.chart.channel"))
    ax.set_ylabel(t("attribution.chart.conversions" if metric == "conversions" else "attribution.chart.value"))
    ax.legend(fontsize="x-small", ncol=4)
    ax.tick_params(axis="x", rotation=0)
    return ax


# ------------------------------------------------------------------------------------------- report
@dataclass(repr=False)
class AttributionReport(Report):
    """The attribution report. Frames: ``credits`` (long: model x channel), ``wide`` (conversions per channel,
    one column per model), ``journeys`` (one row per journey, user-level), ``touches``, ``summary`` (journey
    counts and lengths)."""

    name: ClassVar[str] = "attribution"
    title: ClassVar[str] = localized("attribution.title")
    parts: ClassVar[tuple[str, ...]] = ("summary", "credits", "value", "chart", "journeys")
    table_names: ClassVar[tuple[str, ...]] = ("credits", "summary", "journeys")
    result_keys: ClassVar[tuple[str, ...]] = (
        "touch_col", "conversion", "lookback_days", "conversions", "value", "unattributed", "journeys",
        "channels", "models", "shapley_exact", "bootstrap_reps", "top_by_model", "channels_grouped",
    )  # fmt: skip
    unavailable_label: ClassVar[str] = localized("attribution.unavailable_label")
    glossary: ClassVar[tuple[str, ...]] = ("first_last_touch", "markov_removal", "shapley", "bootstrap_ci")

    touch_col: str | None = None
    conversion: str = ""
    conversion_label: str = ""  # how pages name the conversion (the event's display name; "orders" as words)
    lookback_days: float = 30.0
    bootstrap_reps: int = 0
    shapley_exact: bool = True
    #: whether the conversions carry a value (``value_col`` / the orders' ``amount`` set on at least one); without
    #: one, every value column is empty (NaN) and ``value`` is null in the results, never 0
    valued: bool = True
    #: the conversions' values mix currencies (ingest's ``currencies``): said after the conversions
    currency_mix: str | None = None
    currency: str = "¥"  # the campaign's sign before the credited value on the page
    #: channel -> the name pages show: touch events by their tracking-plan display names (the results and CSVs keep
    #: the channels as in the data); empty with a ``touch_col``, whose values are the data's own names
    channel_names: dict[str, str] = field(default_factory=dict)
    touches: pd.DataFrame = field(default_factory=pd.DataFrame)
    journeys: pd.DataFrame = field(default_factory=pd.DataFrame)
    credits: pd.DataFrame = field(default_factory=pd.DataFrame)
    wide: pd.DataFrame = field(default_factory=pd.DataFrame)
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the channels grouped as :data:`OTHER` (:func:`fold_channels`), None when there were few enough
    grouped: dict | None = None

    @classmethod
    def compute(cls, ctx) -> AttributionReport:
        """The attribution of a campaign, from its ``attribution:`` params (docs/attribution.md)."""
        p = ctx.cfg.attribution
        if p is None:
            raise ReportUnavailable(t("attribution.no_section"))
        if not p.touch_col and not p.touch_events:
            raise ReportUnavailable(t("attribution.no_touch_params"))
        if not ctx.has("events"):
            raise ReportUnavailable(t("attribution.no_events"))
        ev = ctx.table("events")
        if p.touch_col and p.touch_col not in ev.columns:
            raise MissingColumnError("events", p.touch_col, ev.columns, hint="it is attribution.touch_col")
        if p.conversion_event is not None:
            if p.value_col and p.value_col not in ev.columns:
                raise MissingColumnError("events", p.value_col, ev.columns, hint="it is attribution.value_col")
            conv = conversion_table(ev, event=p.conversion_event, value_col=p.value_col)
            rows = ev.filter(ev.event == p.conversion_event)
            valued = bool(p.value_col) and _any_value(rows, p.value_col)
            conversion = f"event {p.conversion_event}"
            conversion_label = t("attribution.conversion_event", event=_event_label(ctx, p.conversion_event))
        else:
            if not ctx.has("orders"):
                raise ReportUnavailable(t("attribution.no_orders"))
            orders = ctx.table("orders")
            col = p.value_col  # null: no value, as for events (docs/attribution.md)
            if col and col not in orders.columns:
                raise MissingColumnError("orders", col, orders.columns, hint="it is attribution.value_col")
            conv = conversion_table(orders, event=None, value_col=col)
            valued = bool(col) and _any_value(orders, col)
            conversion = "orders"
            conversion_label = t("attribution.conversion_orders")
        tch = touch_table(ev, touch_col=p.touch_col, touch_events=p.touch_events)
        touches, journeys = build_journeys(tch, conv, lookback_days=p.lookback_days)
        if not journeys["converted"].any():
            raise ReportUnavailable(t("attribution.no_conversions", what=conversion_label))
        if touches.empty:
            raise ReportUnavailable(t("attribution.no_touches", what=p.touch_col or ", ".join(p.touch_events)))
        touches, grouped = fold_channels(touches, p.max_channels)  # REES46's 671 brands: 19 and "other channels"
        rep = cls(touch_col=p.touch_col, conversion=conversion, conversion_label=conversion_label,
                  lookback_days=p.lookback_days, currency=ctx.cfg.currency, bootstrap_reps=p.bootstrap_reps,
                  touches=touches, journeys=journeys, grouped=grouped)  # fmt: skip
        rep.credits = credit_table(
            touches, journeys, direct=p.direct, position_weights=tuple(p.position_weights),
            half_life_days=p.half_life_days, bootstrap_reps=p.bootstrap_reps, seed=p.seed,
            shapley_exact_max=p.shapley_exact_max, shapley_samples=p.shapley_samples,
        )  # fmt: skip
        rep.shapley_exact = bool(rep.credits.loc[rep.credits["model"] == "shapley", "se"].isna().all())
        rep.wide = rep.credits.pivot_table(index="channel", columns="model", values="conversions", aggfunc="sum")
        rep.wide = rep.wide[[m for m in MODELS if m in rep.wide.columns]].reset_index()
        rep.wide.columns.name = None
        rep.summary = _summary(journeys)
        rep.valued = valued
        table = "orders" if conversion == "orders" else "events"  # ¥ and $ in the values: credited as one currency
        rep.currency_mix = currency_caveat(ctx, table, {p.value_col}) if valued else None
        if not p.touch_col:  # the channels are event names
            rep.channel_names = {e: _event_label(ctx, e) for e in p.touch_events}
        if not valued:  # no amounts: the value columns are empty, not 0
            for frame in (rep.credits, rep.summary, rep.journeys):
                frame["value"] = np.nan
        return rep

    # ---- numbers used by findings and results
    def _totals(self) -> tuple[int, float, int]:
        j = self.journeys
        conv = j[j["converted"]]
        return int(len(conv)), float(conv["value"].sum()), int((conv["touches"] == 0).sum())

    def top_by_model(self) -> dict[str, str]:
        """The channel with most credited conversions per model (the no-touch and other-channels buckets are not
        channels: REES46's headline read "Top channel, last touch: (other channels)", 652 brands together)."""
        c = self.credits[~self.credits["channel"].isin([NO_TOUCH, OTHER])]
        c = c.sort_values(["model", "conversions", "channel"], ascending=[True, False, True])
        return {m: str(c.loc[c["model"] == m, "channel"].iloc[0]) for m in MODELS if (c["model"] == m).any()}

    def to_results(self) -> dict:
        """The report-specific part of ``results/attribution.json`` (docs/attribution.md)."""
        n, value, unattributed = self._totals()
        return self._results(
            touch_col=self.touch_col,
            conversion=self.conversion,
            lookback_days=self.lookback_days,
            conversions=n,
            value=value if self.valued else None,
            unattributed=unattributed,
            journeys=int(len(self.journeys)),
            channels=sorted(self.credits["channel"].unique().tolist()),
            models=list(MODELS),
            shapley_exact=self.shapley_exact,
            bootstrap_reps=self.bootstrap_reps,
            top_by_model=self.top_by_model(),
            channels_grouped=self.grouped,
        )

    def findings(self) -> list[str]:
        """Key findings in plain words and numbers."""
        from .fmt import fmt_int, fmt_pct

        n, _, unattributed = self._totals()
        what = self.conversion_label or self.conversion
        out = [t("attribution.conversions", n=fmt_int(n), conversion=what, touched=fmt_int(n - unattributed),
                 days=f"{self.lookback_days:g}", untouched=fmt_int(unattributed))]  # fmt: skip
        out += [self.currency_mix] if self.currency_mix else []
        if self.grouped:
            g = self.grouped
            out.append(t("attribution.grouped", channels=fmt_int(g["channels"]), kept=fmt_int(g["kept"]),
                         grouped=fmt_int(g["grouped"]), share=fmt_pct(g["grouped_touches"] / g["touches"]),
                         other=t("attribution.other")))  # fmt: skip
        if unattributed:
            out.append(t("attribution.no_touch_share", untouched=fmt_int(unattributed),
                         share=fmt_pct(unattributed / n), bucket=t("attribution.no_touch")))  # fmt: skip
        w = self.wide.set_index("channel").drop(index=NO_TOUCH, errors="ignore")
        if len(w) == 1:  # every model gives that channel all the touched conversions: nothing to compare
            out.append(t("attribution.one_channel", channel=self._named(w.index[0])))
            out.append(t("attribution.not_causal"))
            return out
        if {"first", "last"} <= set(w.columns) and len(w):
            # shares of all the conversions, as the credits table's `share` (the no-touch bucket counts there too)
            tot = n or w["first"].sum()
            gap = (w["first"] - w["last"]) / tot if tot else w["first"] * 0
            opener, closer = gap.idxmax(), gap.idxmin()
            # a channel opens more than it closes only when its gap is above 0: with first = last for every
            # channel (the tianchi sample) the first channel by name read "opens more … first 0.0%, last 0.0%"
            for key, ch, more in (("attribution.opener", opener, gap.max() > 0),
                                  ("attribution.closer", closer, gap.min() < 0)):  # fmt: skip
                if more:
                    out.append(t(key, channel=self._named(ch), first=fmt_pct(w.at[ch, "first"] / tot),
                                 last=fmt_pct(w.at[ch, "last"] / tot)))  # fmt: skip
            if not (gap != 0).any() and tot:
                top = w["first"].idxmax()
                out.append(
                    t("attribution.open_close_same", channel=self._named(top), share=fmt_pct(w.at[top, "first"] / tot))
                )
        top = self.top_by_model()
        if "markov" in top and "shapley" in top:
            # a Chinese name joins the sentence ("给浏览的功劳"), a Latin one is set apart (helpers.i18n.t)
            if top["markov"] == top["shapley"]:  # one channel: said once ("both credit 搜索 most")
                out.append(t("attribution.data_driven_same", channel=self._named(top["markov"])))
            else:
                out.append(t("attribution.data_driven", **{m: self._named(top[m]) for m in ("markov", "shapley")}))
        out.append(t("attribution.not_causal"))
        return out

    def headline(self) -> list[dict]:
        """Headline numbers: conversions attributed, and the top channel by last touch and by Markov."""
        from .fmt import fmt_int, fmt_pct
        from .report import headline

        n, _, un = self._totals()
        top = self.top_by_model()
        return [
            headline(t("attribution.h_conversions"), n - un, fmt_int(n - un)),
            headline(t("attribution.h_no_touch"), un / n if n else None, fmt_pct(un / n) if n else ""),
            headline(t("attribution.h_top_last"), None, self._named(top.get("last", ""))),
            headline(t("attribution.h_top_markov"), None, self._named(top.get("markov", ""))),
        ]

    def _named(self, channel: str) -> str:
        """A channel as pages show it (:func:`channel_label` with the report's :attr:`channel_names`)."""
        return channel_label(channel, self.channel_names) if channel else channel

    def tables(self) -> dict[str, pd.DataFrame]:
        """``credits``, ``summary`` and ``journeys`` (user-level: one row per journey)."""
        j = self.journeys.copy()
        paths = self.touches.groupby("journey")["channel"].agg(" > ".join)
        j["path"] = j["journey"].map(paths).fillna("")
        return {"credits": self.credits, "summary": self.summary, "journeys": j}

    def _show(self, part: str):
        from IPython.display import Markdown

        from .fmt import drop_empty, md_escape, style_table

        if part == "summary":
            kind = self.summary["journeys"].map(lambda v: label(f"attribution.journeys.{v}", v))
            shown = self.summary.assign(journeys=kind)
            # no amounts: the value column is empty
            return style_table(drop_empty(shown, ["value"]), money_cols=["value"], currency=self.currency)
        if part == "value" and not self.valued:
            return Markdown(t("attribution.no_value", conversion=md_escape(self.conversion_label or self.conversion)))
        if part in ("credits", "value"):
            metric = "conversions" if part == "credits" else "value"
            wide = self.credits.pivot_table(index="channel", columns="model", values=metric, aggfunc="sum")
            wide = wide[[m for m in MODELS if m in wide.columns]].rename(index=self._named)
            wide = wide.reset_index()
            wide.columns.name = None
            if part == "credits":
                ci = self.credits[self.credits["model"].isin(DATA_MODELS)].dropna(subset=["ci_low"])
                if len(ci):
                    ci = ci.assign(model=ci["model"].map(model_labels()), channel=ci["channel"].map(self._named))
                    cols = ["model", "channel", "conversions", "ci_low", "ci_high", "se"]
                    _display(style_table(drop_empty(ci[cols], ["se"])))  # se: sampled Shapley values only
            models = [c for c in wide.columns if c != "channel"]
            # each model's name as a header ("First touch"); the columns keep their codes, as in the CSV
            heads = {m: sentence_start(n) for m, n in model_labels().items()}
            if part == "value":
                return style_table(wide, money_cols=models, currency=self.currency, headers=heads)
            # one-touch rules count whole conversions: 87, not 87.00
            return style_table(wide, count_cols=models, headers=heads)
        if part == "chart":
            return plot_credits(self.credits, names=self.channel_names)
        j = self.journeys
        named = self.touches["channel"].map(self._named)
        shown = named.groupby(self.touches["journey"], observed=True).agg(_runs)
        paths = j.loc[j["converted"], "journey"].map(shown).fillna(t("attribution.no_touch")).rename("path")
        top = paths.groupby(paths).size().sort_values(ascending=False).head(15)
        return style_table(top.rename("conversions").reset_index(), int_cols=["conversions"])


def _runs(channels) -> str:
    """A journey's path as pages show it: the channels in order, a run of one channel as ``pv ×3``
    (``pv > pv > pv > cart`` reads ``pv ×3 > cart``, :func:`helpers.fmt.runs_text`); the journeys CSV keeps every
    touch."""
    from .fmt import runs_text

    return runs_text(channels, " > ")


def _summary(journeys: pd.DataFrame) -> pd.DataFrame:
    """Journey counts and lengths, converting and not."""
    rows = []
    for conv, g in journeys.groupby("converted"):
        rows.append(
            {
                "journeys": "converting" if conv else "not_converting",
                "count": int(len(g)),
                "without_touch": int((g["touches"] == 0).sum()),
                "mean_touches": float(g["touches"].mean()),
                "median_touches": float(g["touches"].median()),
                "value": float(g["value"].sum()),
            }
        )
    return pd.DataFrame(rows)


def run_attribution(ctx) -> AttributionReport | Unavailable:
    """:meth:`AttributionReport.run`: the attribution report of a campaign (or its Unavailable twin)."""
    return AttributionReport.run(ctx)


def _event_label(ctx, event: str) -> str:
    """An event as pages name it: its display name in the campaign's tracking plan where it fits the page's language
    (:func:`helpers.tracking.display_names`), else the event code."""
    from .tracking import display_names

    return display_names(ctx).get(event, event)
