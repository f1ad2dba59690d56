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
  conversion (or all of them for a user who never converted). Conversions without a touch are counted apart
  (``unattributed``) and get no credit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import pandas as pd

from .attribution_models import (
    DATA_MODELS,
    RULE_MODELS,
    bootstrap_credits,
    markov_credits,
    rule_credits,
    shapley_credits,
)
from .base import Report, ReportUnavailable, Unavailable, _display
from .engine import as_table
from .errors import MissingColumnError
from .i18n import label, localized, t

__all__ = ["touch_table", "conversion_table", "build_journeys", "credit_table", "plot_credits",
           "AttributionReport", "run_attribution"]  # fmt: skip

MODELS = RULE_MODELS + DATA_MODELS


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
    if "session" in sel:
        x = x.group_by(["user_id", "session", "channel"]).aggregate(ts=x.ts.min()).select("user_id", "ts", "channel")
    return x


def conversion_table(source, *, event: str | None, value_col: str | None, user_col="user_id", ts_col="ts",
                     event_col="event"):  # fmt: skip
    """Conversions as an Ibis table ``user_id``, ``ts``, ``value``: ``event`` rows of the events table, or (with
    ``event=None``) the orders of an orders table (first row's time, summed ``amount``)."""
    import ibis

    t = as_table(source)
    if event is not None:
        val = t[value_col].cast("float64").fill_null(0.0) if value_col else ibis.literal(0.0)
        return t.filter(t[event_col] == event).select(user_id=t[user_col], ts=t[ts_col], value=val)
    amt = t[value_col or "amount"].cast("float64").fill_null(0.0)
    return (
        t.mutate(_v=amt)
        .group_by([user_col, "order_id"])
        .aggregate(ts=lambda x: x[ts_col].min(), value=lambda x: x._v.sum())
        .select(user_id=user_col, ts="ts", value="value")
    )


def build_journeys(touches, conversions, *, lookback_days: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Converting and non-converting journeys (module docstring), computed on the engine of ``touches``.

    Returns
    -------
    ``(touches, journeys)``: touches ``journey``, ``channel``, ``ts`` sorted by journey and time (ties by
    channel); journeys ``journey``, ``user_id``, ``converted``, ``value``, ``conv_ts``, ``touches`` (count),
    including converting journeys without touches (``touches`` 0).
    """
    import ibis

    t, c = as_table(touches), as_table(conversions)
    w = ibis.window(group_by=c.user_id, order_by=[c.ts, c.value])
    c = c.mutate(prev_ts=c.ts.lag().over(w), k=ibis.row_number().over(w) + 1)  # 1-based
    look = ibis.interval(seconds=int(round(lookback_days * 86400)))
    tt = t.rename(t_user="user_id", t_ts="ts")
    j = tt.join(
        c,
        [tt.t_user == c.user_id, tt.t_ts <= c.ts, tt.t_ts >= c.ts - look, c.prev_ts.isnull() | (tt.t_ts > c.prev_ts)],
    )
    conv_touch = j.select(user_id="user_id", k="k", ts="t_ts", channel="channel").to_pandas()
    conv = c.select("user_id", "k", "ts", "value").to_pandas()
    last = c.group_by("user_id").aggregate(last_ts=c.ts.max())
    nt = tt.left_join(last, tt.t_user == last.user_id)
    nt = nt.filter(nt.last_ts.isnull() | (nt.t_ts > nt.last_ts)).select(user_id="t_user", ts="t_ts", channel="channel")
    non = nt.to_pandas()
    conv["journey"] = conv["user_id"].astype(str) + "#" + conv["k"].astype(int).astype(str)
    conv_touch["journey"] = conv_touch["user_id"].astype(str) + "#" + conv_touch["k"].astype(int).astype(str)
    non["journey"] = non["user_id"].astype(str) + "#-"
    tch = pd.concat([conv_touch[["journey", "channel", "ts"]], non[["journey", "channel", "ts"]]], ignore_index=True)
    tch["ts"] = pd.to_datetime(tch["ts"])
    tch = tch.sort_values(["journey", "ts", "channel"], kind="stable").reset_index(drop=True)
    jc = pd.DataFrame({"journey": conv["journey"], "user_id": conv["user_id"].astype(str), "converted": True,
                       "value": conv["value"].astype(float), "conv_ts": pd.to_datetime(conv["ts"])})  # fmt: skip
    nj = non.drop_duplicates("journey")
    jn = pd.DataFrame({"journey": nj["journey"], "user_id": nj["user_id"].astype(str), "converted": False,
                       "value": 0.0, "conv_ts": pd.NaT})  # fmt: skip
    jr = pd.concat([jc, jn], ignore_index=True)
    jr["touches"] = jr["journey"].map(tch.groupby("journey").size()).fillna(0).astype(int)
    return tch, jr.sort_values("journey", kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------------------------------- credits
def credit_table(touches: pd.DataFrame, journeys: pd.DataFrame, *, direct: str | None = "直接访问",
                 position_weights=(0.4, 0.4), half_life_days: float = 7.0, bootstrap_reps: int = 20, seed: int = 0,
                 shapley_exact_max: int = 12, shapley_samples: int = 2000) -> pd.DataFrame:  # fmt: skip
    """Credits of every model per channel, long format, over the journeys with at least one touch.

    Returns
    -------
    DataFrame ``model``, ``channel``, ``conversions`` (credited conversions), ``value`` (credited value),
    ``share`` (of the model's conversions), ``ci_low``, ``ci_high`` (bootstrap 95% interval of the credited
    conversions, data-driven models only), ``se`` (Shapley sampling error, when sampled).
    """
    j = journeys[journeys["touches"] > 0]
    kw = {"direct": direct, "first_weight": position_weights[0], "last_weight": position_weights[1],
          "half_life_hours": half_life_days * 24}  # fmt: skip
    parts = [rule_credits(touches, j, m, **kw).assign(model=m) for m in RULE_MODELS]

    def shap(t, jj):
        return shapley_credits(t, jj, exact_max=shapley_exact_max, samples=shapley_samples, seed=seed)

    for name, fn in (("markov", markov_credits), ("shapley", shap)):
        c = fn(touches, j).assign(model=name)
        if bootstrap_reps:
            c = c.merge(bootstrap_credits(touches, j, fn, reps=bootstrap_reps, seed=seed).drop(columns="reps"),
                        on="channel", how="left")  # fmt: skip
        parts.append(c)
    out = pd.concat(parts, ignore_index=True)
    for col in ("ci_low", "ci_high", "se"):
        if col not in out:
            out[col] = math.nan
    channels = sorted(touches.loc[touches["journey"].isin(j["journey"]), "channel"].unique())
    full = pd.MultiIndex.from_product([list(MODELS), channels], names=["model", "channel"])
    out = out.set_index(["model", "channel"]).reindex(full).reset_index()
    out[["conversions", "value"]] = out[["conversions", "value"]].fillna(0.0)
    tot = out.groupby("model")["conversions"].transform("sum")
    out["share"] = out["conversions"] / tot.where(tot != 0)
    return out[["model", "channel", "conversions", "value", "share", "ci_low", "ci_high", "se"]]


def plot_credits(credits: pd.DataFrame, *, metric: str = "conversions", ax=None):
    """Credited ``metric`` per channel (groups) and model (bars); returns the Axes."""
    import matplotlib.pyplot as plt

    wide = credits.pivot_table(index="channel", columns="model", values=metric, aggfunc="sum")
    wide = wide[[m for m in MODELS if m in wide.columns]].rename(columns=model_labels())
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
        "channels", "models", "shapley_exact", "bootstrap_reps", "top_by_model",
    )  # fmt: skip
    unavailable_label: ClassVar[str] = localized("attribution.unavailable_label")
    glossary: ClassVar[tuple[str, ...]] = ("first_last_touch", "markov_removal", "shapley", "bootstrap_ci")

    touch_col: str | None = None
    conversion: str = ""
    lookback_days: float = 30.0
    bootstrap_reps: int = 0
    shapley_exact: bool = True
    touches: pd.DataFrame = field(default_factory=pd.DataFrame)
    journeys: pd.DataFrame = field(default_factory=pd.DataFrame)
    credits: pd.DataFrame = field(default_factory=pd.DataFrame)
    wide: pd.DataFrame = field(default_factory=pd.DataFrame)
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)

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
            conversion = f"event {p.conversion_event}"
        else:
            if not ctx.has("orders"):
                raise ReportUnavailable(t("attribution.no_orders"))
            conv = conversion_table(ctx.table("orders"), event=None, value_col=p.value_col or "amount")
            conversion = "orders"
        tch = touch_table(ev, touch_col=p.touch_col, touch_events=p.touch_events)
        touches, journeys = build_journeys(tch, conv, lookback_days=p.lookback_days)
        if not journeys["converted"].any():
            raise ReportUnavailable(t("attribution.no_conversions", what=conversion))
        if touches.empty:
            raise ReportUnavailable(t("attribution.no_touches", what=p.touch_col or ", ".join(p.touch_events)))
        rep = cls(touch_col=p.touch_col, conversion=conversion, lookback_days=p.lookback_days,
                  bootstrap_reps=p.bootstrap_reps, touches=touches, journeys=journeys)  # fmt: skip
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
        return rep

    # ---- numbers used by findings and results
    def _totals(self) -> tuple[int, float, int]:
        j = self.journeys
        conv = j[j["converted"]]
        return int(len(conv)), float(conv["value"].sum()), int((conv["touches"] == 0).sum())

    def top_by_model(self) -> dict[str, str]:
        """The channel with most credited conversions per model."""
        c = self.credits.sort_values(["model", "conversions", "channel"], ascending=[True, False, True])
        return {m: str(c.loc[c["model"] == m, "channel"].iloc[0]) for m in MODELS if (c["model"] == m).any()}

    def to_results(self) -> dict:
        """The report-specific part of ``results/attribution.json`` (docs/attribution.md)."""
        n, value, unattributed = self._totals()
        return self._results(
            touch_col=self.touch_col,
            conversion=self.conversion,
            lookback_days=self.lookback_days,
            conversions=n,
            value=value,
            unattributed=unattributed,
            journeys=int(len(self.journeys)),
            channels=sorted(self.credits["channel"].unique().tolist()),
            models=list(MODELS),
            shapley_exact=self.shapley_exact,
            bootstrap_reps=self.bootstrap_reps,
            top_by_model=self.top_by_model(),
        )

    def findings(self) -> list[str]:
        """Key findings in plain words and numbers."""
        from .fmt import fmt_int, fmt_pct

        n, _, unattributed = self._totals()
        out = [t("attribution.conversions", n=fmt_int(n), conversion=self.conversion, touched=fmt_int(n - unattributed),
                 days=f"{self.lookback_days:g}", untouched=fmt_int(unattributed))]  # fmt: skip
        w = self.wide.set_index("channel")
        if {"first", "last"} <= set(w.columns) and len(w):
            tot = w["first"].sum()
            gap = (w["first"] - w["last"]) / tot if tot else w["first"] * 0
            opener, closer = gap.idxmax(), gap.idxmin()
            for key, ch in (("attribution.opener", opener), ("attribution.closer", closer)):
                out.append(t(key, channel=ch, first=fmt_pct(w.at[ch, "first"] / tot),
                             last=fmt_pct(w.at[ch, "last"] / tot)))  # fmt: skip
        top = self.top_by_model()
        if "markov" in top and "shapley" in top:
            out.append(t("attribution.data_driven", markov=top["markov"], shapley=top["shapley"]))
        out.append(t("attribution.not_causal"))
        return out

    def headline(self) -> list[dict]:
        """Headline numbers: conversions attributed, and the top channel by last touch and by Markov."""
        from .fmt import fmt_int
        from .report import headline

        n, _, un = self._totals()
        top = self.top_by_model()
        return [
            headline(t("attribution.h_conversions"), n - un, fmt_int(n - un)),
            headline(t("attribution.h_top_last"), None, top.get("last", "")),
            headline(t("attribution.h_top_markov"), None, top.get("markov", "")),
        ]

    def tables(self) -> dict[str, pd.DataFrame]:
        """``credits``, ``summary`` and ``journeys`` (user-level: one row per journey)."""
        j = self.journeys.copy()
        paths = self.touches.groupby("journey")["channel"].agg(" > ".join)
        j["path"] = j["journey"].map(paths).fillna("")
        return {"credits": self.credits, "summary": self.summary, "journeys": j}

    def _show(self, part: str):
        from .fmt import style_table

        if part == "summary":
            kind = self.summary["journeys"].map(lambda v: label(f"attribution.journeys.{v}", v))
            shown = self.summary.assign(journeys=kind)
            return style_table(shown)
        if part in ("credits", "value"):
            metric = "conversions" if part == "credits" else "value"
            wide = self.credits.pivot_table(index="channel", columns="model", values=metric, aggfunc="sum")
            wide = wide[[m for m in MODELS if m in wide.columns]].rename(columns=model_labels()).reset_index()
            wide.columns.name = None
            if part == "credits":
                ci = self.credits[self.credits["model"].isin(DATA_MODELS)].dropna(subset=["ci_low"])
                if len(ci):
                    ci = ci.assign(model=ci["model"].map(model_labels()))
                    _display(style_table(ci[["model", "channel", "conversions", "ci_low", "ci_high", "se"]]))
            return style_table(wide, num_cols=[c for c in wide.columns if c != "channel"])
        if part == "chart":
            return plot_credits(self.credits)
        j = self.tables()["journeys"]
        top = j[j["converted"]].groupby("path").size().sort_values(ascending=False).head(15)
        return style_table(top.rename("conversions").reset_index(), int_cols=["conversions"])


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
