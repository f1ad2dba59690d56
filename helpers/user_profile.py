"""The user profile (用户画像) table: one row per user joining static attributes, behaviour tags, RFM segment,
cluster, and churn risk / review sentiment when those reports have run. Columns: docs/user_profile.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from . import i18n
from .base import Report, ReportUnavailable, Unavailable, upstream_why
from .features import purchase_event_names
from .i18n import column_label, localized
from .privacy import file_frame, page_frame
from .profile_data import SOURCES, campaign_profile, load_source, preferred_values, profile_table
from .sections import PrivacyParams

__all__ = [
    "SOURCES",
    "AUDIENCE_PREFIX",
    "preferred_values",
    "load_source",
    "profile_table",
    "ProfileReport",
    "run_user_profile",
]

#: the audiences' CSVs (人群包, helpers/tags.py): ``results/<AUDIENCE_PREFIX><audience>.csv``
AUDIENCE_PREFIX = "user_profile_audience_"


def _currency_notes(ctx, base: pd.DataFrame, purchases: str) -> list[str]:
    """The notes of :func:`helpers.caveats.currency_caveat` for the profile's amounts: ``spend`` from the purchases
    (orders, or the events' purchase events), ``median_price`` from every event with an amount; one note per table."""
    from .caveats import currency_caveat

    tables = {"orders" if purchases == "orders" else "events"} if _filled(base, "spend") else set()
    tables |= {"events"} if _filled(base, "median_price") else set()
    notes = [currency_caveat(ctx, s) for s in sorted(tables, reverse=True)]  # orders first
    return list(dict.fromkeys(n for n in notes if n))  # orders derived from the events: one note, the events


def _filled(frame: pd.DataFrame, col: str) -> bool:
    return col in frame and bool(frame[col].notna().any())


# ------------------------------------------------------------------------------------------- report
@dataclass(repr=False)
class ProfileReport(Report):
    """The user profile report. Frames: ``table`` (one row per user, :func:`profile_table` plus one column
    per declared tag, helpers/tags.py); ``sources`` says which sources were joined and ``source_problems`` why
    the others were not; ``tag_table``, ``overlap``, ``effects``, ``audience_table`` describe the tags and
    audiences, ``audience_flags`` is one bool per audience and user."""

    name: ClassVar[str] = "user_profile"
    title: ClassVar[str] = localized("user_profile.title")
    parts: ClassVar[tuple[str, ...]] = ("tags", "tag_rules", "tag_overlap", "tag_effects", "audiences", "sample")
    reads: ClassVar[tuple[str, ...]] = ("rfm", "clustering", "churn", "sentiment")
    table_names: ClassVar[tuple[str, ...]] = ("table", "tags", "tag_summary", "tag_overlap", "tag_effects", "audiences")
    result_keys: ClassVar[tuple[str, ...]] = ("users", "columns", "sources", "distributions", "tags", "audiences")
    unavailable_label: ClassVar[str] = localized("user_profile.unavailable_label")
    glossary: ClassVar[tuple[str, ...]] = ("coverage", "jaccard", "churn_probability")

    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: ``{"users table": joined?, report: joined?}``
    sources: dict = field(default_factory=dict)
    #: ``{report: why its table was not joined}`` for the reports not joined
    source_problems: dict = field(default_factory=dict)
    #: where buyers, orders and spend come from (:func:`helpers.features.campaign_orders`): "orders" or
    #: "events [buy, pay]" (the campaign's ``rfm.buy_events``)
    purchases: str = ""
    #: the purchase events as pages name them (:func:`helpers.features.purchase_event_names`; none for "orders")
    purchase_events: list = field(default_factory=list)
    #: the campaign's ``privacy`` section: ``hide_columns`` never shown, and left out of the files unless
    #: ``hide_in_files`` is false (``table`` itself keeps every column for the analyst)
    privacy: PrivacyParams = field(default_factory=PrivacyParams)
    #: the campaign's tags and audiences (params ``tags:``, ``audiences:``; tags set to null left out)
    tag_specs: dict = field(default_factory=dict)
    #: tags whose profile columns are empty for every user -> those columns (:func:`helpers.tags.blank_tags`)
    blank_tags: dict = field(default_factory=dict)
    audience_specs: dict = field(default_factory=dict)
    #: ``user_id`` + one column per tag; tag summary (rule, coverage), pairwise overlap, with-vs-without effects
    tagged: pd.DataFrame = field(default_factory=pd.DataFrame)
    tag_table: pd.DataFrame = field(default_factory=pd.DataFrame)
    overlap: pd.DataFrame = field(default_factory=pd.DataFrame)
    effects: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: ``user_id`` + one bool per audience; per audience its users, share, rule and file
    audience_flags: pd.DataFrame = field(default_factory=pd.DataFrame)
    audience_table: pd.DataFrame = field(default_factory=pd.DataFrame)
    currency: str = "¥"  # the campaign's sign before spend and prices on the page
    #: the spend's (purchases) and the prices' (events) amounts mix currencies (ingest's ``currencies``)
    currency_notes: list = field(default_factory=list)

    @classmethod
    def compute(cls, ctx) -> ProfileReport:
        """The profile table of a campaign; joins the other reports' tables that are current."""
        from . import tags as tg

        if not ctx.has("events"):
            raise ReportUnavailable(i18n.t("unavailable.no_events"))
        base, sources, problems, purchases = campaign_profile(ctx)
        specs = {k: v for k, v in ctx.cfg.tags.items() if v is not None}
        tagged, flags = tg.evaluate_tags(base, specs, ctx.cfg.audiences, con=ctx.con)
        blank = tg.blank_tags(base, specs)
        shown = {k: v for k, v in specs.items() if k not in blank}  # a tag of empty columns: said, not tabled
        return cls(
            currency_notes=_currency_notes(ctx, base, purchases),
            table=base.merge(tagged, on="user_id", how="left"),
            sources=sources,
            source_problems=problems,
            purchases=purchases,
            purchase_events=purchase_event_names(ctx, purchases),
            privacy=ctx.cfg.privacy,
            tag_specs=specs,
            blank_tags=blank,
            audience_specs=dict(ctx.cfg.audiences),
            tagged=tagged,
            tag_table=tg.tag_summary(tagged, shown),
            overlap=tg.tag_overlap(tagged, shown),
            effects=tg.tag_effects(base, tagged, shown),
            audience_flags=flags,
            audience_table=tg.audience_summary(flags, ctx.cfg.audiences, folder=AUDIENCE_PREFIX),
            currency=ctx.cfg.currency,
        )

    def to_results(self) -> dict:
        """The report-specific part of ``results/user_profile.json`` (docs/user_profile.md)."""
        t = self.table
        tags = ("activity_level", "active_hours", "price_band", "rfm_segment", "cluster_name", "churn_risk_band")
        dist = {c: t[c].value_counts(dropna=True).to_dict() for c in tags if c in t and t[c].notna().any()}
        tag_res = {
            name: {"kind": d["kind"].iat[0], "values": dict(zip(d["value"], d["users"].astype(int)))}
            for name, d in (self.tag_table.groupby("tag", sort=False) if len(self.tag_table) else [])
        }
        aud = {r.audience: int(r.users) for r in self.audience_table.itertuples()}
        return self._results(
            users=int(len(t)),
            columns=list(t.columns),
            sources=self.sources,
            distributions=dist,
            tags=tag_res,
            audiences=aud,
        )

    def findings(self) -> list[str]:
        """Key findings in plain words and numbers; every source not joined is named with the reason."""
        from .fmt import fmt_int, fmt_pct

        tt = i18n.t
        t = self.table
        out = [tt("user_profile.rows", users=fmt_int(len(t)), columns=len(t.columns))]
        used = [_source_label(k) for k, v in self.sources.items() if v]
        line = tt("user_profile.joined", sources=i18n.list_join(used) or "—")
        if not self.sources.get("users table", True):
            line += tt("user_profile.no_users_table")
        out.append(line + ("。" if i18n.current_language() == "zh" else "."))
        for name, why in self.source_problems.items():
            cols = i18n.list_join(column_label(c) for c in SOURCES[name][1].values())  # by their page headers
            why_text = upstream_why(name, why)
            source = i18n.sentence_start(_source_label(name))  # it opens the sentence
            out.append(tt("user_profile.source_missing", source=source, why=why_text, columns=cols))
        buyers = tt(
            "user_profile.buyers",
            how=_purchases_note(self.purchases, self.purchase_events),
            share=fmt_pct(t["buyer"].mean()),
        )
        if "activity_level" in t:  # a default tag (params/_defaults.yaml): its highest label is the last one
            spec = self.tag_specs.get("activity_level")
            top_label = (list(getattr(spec, "labels", None) or []) or [None])[-1]
            hi = (t["activity_level"] == top_label).mean()
            buyers = tt("user_profile.highly_active", share=fmt_pct(hi)) + buyers
        out.append(buyers)
        out += self.currency_notes  # ¥ and $ in the amounts: spend and prices mix currencies
        if "preferred_category" in t and t["preferred_category"].notna().any():
            top = t["preferred_category"].value_counts().head(3)
            cats = i18n.list_join(k + i18n.t("aside", text=fmt_pct(v / len(t))) for k, v in top.items())
            out.append(tt("user_profile.top_categories", categories=cats))
        out += _tag_findings(self)
        return out

    def headline(self) -> list[dict]:
        """Headline numbers for the index page."""
        from .fmt import fmt_int
        from .report import headline

        out = [headline(i18n.t("user_profile.h_users"), int(len(self.table)), fmt_int(len(self.table)))]
        for r in self.audience_table.itertuples():  # audience sizes on the index
            out.append(headline(i18n.t("user_profile.h_audience", audience=r.audience), int(r.users), fmt_int(r.users)))
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        """``table``: the whole profile table (without ``privacy.hide_columns`` unless ``hide_in_files`` is false)."""
        return {
            "table": file_frame(self.table, self.privacy),
            "tags": self.tagged,
            "tag_summary": self.tag_table,
            "tag_overlap": self.overlap,
            "tag_effects": self.effects,
            "audiences": self.audience_table,
        }

    def export(self, ctx) -> list[Path]:
        """Write ``results/user_profile.parquet`` (the CSV is one of :meth:`tables`) and one CSV of user ids per
        audience, ``results/user_profile_audience_<audience>.csv``; return their paths."""
        from .tags import write_audiences

        p = ctx.paths.file("results/user_profile.parquet")
        file_frame(self.table, self.privacy).to_parquet(p, index=False)
        aud = write_audiences(self.audience_flags, self.audience_specs, ctx.paths.results, prefix=AUDIENCE_PREFIX)
        return [p, *aud]

    def _show(self, part: str):
        from .fmt import md_escape, style_table
        from .rfm_segments import segment_label

        t = self.table
        if "rfm_segment" in t:  # segment codes (At Risk, ...) as pages name them
            t = t.assign(rfm_segment=t["rfm_segment"].map(lambda s: segment_label(s) if isinstance(s, str) else s))
        if part == "sample":
            from IPython.display import Markdown

            from .base import _display

            empty = [c for c in t.columns if t[c].isna().all()]  # no report or table filled them (findings say why)
            if empty:
                names = i18n.list_join(column_label(c) for c in empty)
                _display(Markdown("_" + md_escape(i18n.t("user_profile.sample_empty", columns=names)) + "_"))
            return style_table(
                page_frame(t.drop(columns=empty).head(12), self.privacy),  # never privacy.hide_columns
                int_cols=["n_events", "active_days", "n_orders"],
                num_cols=["days_since_last_event"],
                pct_cols=["review_positive_share", "churn_probability"],
                money_cols=["spend", "median_price"],
                currency=self.currency,
            )
        if part != "tags":
            return _show_tag_tables(self, part)
        import matplotlib.pyplot as plt  # "tags"

        from . import tags as tg

        label_tags = [k for k, v in self.tag_specs.items() if v.kind in ("bucket", "group")][:5]
        tags = (*label_tags, "rfm_segment")
        cols = [c for c in tags if c in t and t[c].notna().any()]
        ncol = min(2, len(cols))  # two per row, 10 in wide: text stays >= 8 px on the page (helpers/charts.py)
        nrow = int(np.ceil(len(cols) / max(ncol, 1)))
        fig, axes = plt.subplots(max(nrow, 1), max(ncol, 1), figsize=(10, 3.4 * max(nrow, 1)), squeeze=False)
        axes = axes.ravel()
        for ax in axes[len(cols) :]:
            ax.set_visible(False)
        for ax, c in zip(axes, cols):
            vc = tg.tag_value_counts(t[c], self.tag_specs.get(c))  # a bucket from its lowest bin up
            ax.barh(range(len(vc))[::-1], vc.to_numpy(), color="C0")
            ax.set_yticks(range(len(vc))[::-1], vc.index.astype(str), fontsize=9)
            ax.set_title(i18n.label(f"col.{c}", c))
            ax.set_xlabel(i18n.t("user_profile.users_axis"))
            ax.set_ylabel(i18n.t("user_profile.tag_axis"))
        fig.suptitle(i18n.t("user_profile.tags_title"))
        return fig


def _tag_findings(rep: ProfileReport) -> list[str]:
    """The findings about the declared tags and the audiences (their sizes; an empty one's empty columns)."""
    from . import tags as tg
    from .fmt import fmt_int, fmt_pct

    out = []
    if len(rep.tag_specs):
        out.append(i18n.t("user_profile.tags_declared", n=len(rep.tag_specs)))
    for name, cols in rep.blank_tags.items():
        out.append(i18n.t("user_profile.tag_blank", tag=i18n.label(f"col.{name}", name), columns=i18n.list_join(cols)))
    for r in rep.audience_table.itertuples():
        out.append(i18n.t("user_profile.audience", audience=r.audience, users=fmt_int(r.users), share=fmt_pct(r.share)))
        spec = rep.audience_specs.get(r.audience)
        empty = tg.empty_reads(rep.table, spec.when, rep.blank_tags) if spec is not None and not r.users else []
        if empty:  # nobody, and why: a column no report filled (the sources line says which were not joined)
            cols = i18n.list_join(column_label(c) for c in empty)
            out[-1] += i18n.t("user_profile.audience_empty", columns=cols)
    return out


def _show_tag_tables(rep: ProfileReport, part: str):
    """The tables of the parts ``tag_rules``, ``tag_overlap``, ``tag_effects``, ``audiences``."""
    from IPython.display import Markdown

    from .fmt import fmt_pp, style_table

    tags = set(rep.tag_table["tag"]) if "tag" in rep.tag_table else set()

    def named(value: object) -> object:  # "activity_level=低活跃" -> "活跃度：低活跃" (the CSVs keep the machine form)
        tag, sep, v = str(value).partition("=")
        return (
            i18n.t("user_profile.tag_value", tag=i18n.label(f"col.{tag}", tag), value=v)
            if sep and tag in tags
            else value
        )

    if part == "tag_rules":
        if rep.tag_table.empty:
            return Markdown(i18n.t("user_profile.no_tags"))
        yes_no = {"yes": i18n.t("page.yes"), "no": i18n.t("page.no")}  # a rule or ranking tag's machine values
        tt = rep.tag_table.assign(
            tag=rep.tag_table["tag"].map(lambda c: i18n.label(f"col.{c}", str(c))),
            kind=rep.tag_table["kind"].map(lambda k: i18n.label(f"tags.kind.{k}", str(k))),
            value=[
                yes_no.get(v, v) if k in ("rule", "ranking") else v
                for k, v in zip(rep.tag_table["kind"], rep.tag_table["value"], strict=True)
            ],
        )
        return style_table(tt, int_cols=["users"], pct_cols=["share"])
    if part == "tag_overlap":
        if rep.overlap.empty:
            return Markdown(i18n.t("user_profile.no_overlap"))
        ov = rep.overlap.sort_values("jaccard", ascending=False)
        return style_table(
            ov.assign(a=ov["a"].map(named), b=ov["b"].map(named)),
            int_cols=["users_a", "users_b", "both"],
            pct_cols=["share_of_a", "share_of_b", "jaccard"],
            headers={"a": i18n.t("user_profile.col_a"), "b": i18n.t("user_profile.col_b")},
            max_rows=30,  # the page says "30 of N rows"; the CSV has every pair
        )
    if part == "tag_effects":
        if rep.effects.empty:
            return Markdown(i18n.t("user_profile.no_tags"))
        pct = [f"{m}_{s}" for m in ("conversion", "returning") for s in ("with", "without")]
        st = style_table(
            rep.effects.assign(tag_value=rep.effects["tag_value"].map(named)),
            int_cols=["users_with", "users_without"],
            pct_cols=pct,
            money_cols=["spend_with", "spend_without", "spend_diff"],
            currency=rep.currency,
        )
        return st.format(fmt_pp, subset=["conversion_diff", "returning_diff"])  # a difference of two shares
    if rep.audience_table.empty:  # "audiences"
        return Markdown(i18n.t("user_profile.no_audiences"))
    return style_table(rep.audience_table, int_cols=["users"], pct_cols=["share"])


def _purchases_note(purchases: str, events: list) -> str:
    """How the findings name the purchase definition: （按订单表） / `` (orders table)``, or the purchase events as
    pages name them (:func:`helpers.features.purchase_event_names`): （按事件 购买、支付） / `` (events buy, pay)``."""
    if not purchases:
        return ""
    if purchases == "orders":
        return i18n.t("user_profile.buyers_orders")
    return i18n.t("user_profile.buyers_events", events=i18n.list_join(events))


def _source_label(source: str) -> str:
    """How the findings name a profile source (``users table``, ``rfm``, ``clustering``, ...)."""
    return i18n.label(f"user_profile.source_{source.split()[0]}", source)


def run_user_profile(ctx) -> ProfileReport | Unavailable:
    """:meth:`ProfileReport.run`: the user profile report of a campaign (or its Unavailable twin)."""
    return ProfileReport.run(ctx)
