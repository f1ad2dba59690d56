"""The words of the RFM report: its findings and headline in the campaign's language, from the message
catalogue (helpers/messages/rfm.yaml, rfm_segments.yaml). Numbers come from :class:`helpers.rfm.RFMReport`;
segments keep their machine values in tables and CSVs and are shown by :func:`segment_label`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .fmt import fmt_int, fmt_money, fmt_num, fmt_pct
from .i18n import list_join, t
from .rfm_segments import segment_action, segment_label

__all__ = ["rfm_findings", "rfm_headline", "source_label", "RISK_SEGMENTS", "TOP_SEGMENTS"]

#: segments the findings list as "to win back" (both schemes)
RISK_SEGMENTS = ("At Risk", "Can't Lose Them", "重要保持客户", "重要挽留客户")
#: the best segment of each scheme, in the headline
TOP_SEGMENTS = ("Champions", "重要价值客户")


def source_label(source: str | None, events: Any = ()) -> str:
    """Where the orders came from, in words (the results keep the code): ``orders`` -> 订单表 / the orders table;
    purchase events (``events``: as pages name them, :func:`helpers.features.purchase_event_names`) -> 事件 支付、购买
    / events pay, buy."""
    if source == "orders":
        return t("rfm.source_orders")
    if events:
        return t("rfm.source_events", events=list_join(events))
    return str(source)


def rfm_findings(rep: Any) -> list[str]:
    """Key findings of an :class:`~helpers.rfm.RFMReport` in plain words and numbers."""
    s, sc = rep.summary, rep.scored
    med_m = t("rfm.median_m", m=fmt_money(sc["monetary"].median(), rep.currency)) if rep.has_monetary else ""
    r, f = fmt_int(sc["recency_days"].median()), fmt_int(sc["frequency"].median())
    out = [
        t(
            "rfm.customers",
            users=fmt_int(len(sc)),
            as_of=f"{rep.as_of:%Y-%m-%d}",
            source=source_label(rep.source, rep.purchase_events),
            r=r,
            f=f,
            days=t("rfm.unit.day" if r == "1" else "rfm.unit.days"),  # "1 day", not "1 days"
            orders=t("rfm.unit.order" if f == "1" else "rfm.unit.orders"),
            m=med_m,
        )
    ]
    if rep.currency_mix:  # the amounts mix currencies: said before any amount is read
        out.append(rep.currency_mix)
    live = s[s["users"] > 0]
    if rep.has_monetary:
        top = live.sort_values(["revenue_share", "segment"], ascending=[False, True]).iloc[0]
        out.append(
            t(
                "rfm.top_revenue",
                segment=segment_label(top["segment"]),
                share=fmt_pct(top["share"]),
                revenue=fmt_pct(top["revenue_share"]),
            )
        )
    big = live.sort_values(["users", "segment"], ascending=[False, True]).iloc[0]
    out.append(
        t(
            "rfm.largest",
            segment=segment_label(big["segment"]),
            users=fmt_int(big["users"]),
            share=fmt_pct(big["share"]),
            action=segment_action(big["segment"]),
        )
    )
    risk = live[live["segment"].isin(RISK_SEGMENTS)]
    if len(risk):
        rev = t("rfm.win_back_revenue", share=fmt_pct(risk["revenue_share"].sum())) if rep.has_monetary else ""
        names = list_join(f"{segment_label(r.segment)} {fmt_int(r.users)}" for r in risk.itertuples())
        out.append(t("rfm.win_back", segments=names, revenue=rev))
    other = rep.summary_other[rep.summary_other["users"] > 0]
    o = other.sort_values(["users", "segment"], ascending=[False, True]).iloc[0]
    out.append(
        t(
            "rfm.other_largest",
            scheme=t("rfm.scheme.cn8" if rep.scheme == "named11" else "rfm.scheme.named11"),
            segment=segment_label(o["segment"]),
            users=fmt_int(o["users"]),
            share=fmt_pct(o["share"]),
        )
    )
    out += _bgnbd_findings(rep.bgnbd)
    out += rep.clv.findings()
    from .caveats import segment_conflict_note  # a segment name against the customer's P(alive) (helpers/caveats.py)

    out += [c for c in (segment_conflict_note(rep.membership(), one_time_col="frequency"),) if c]
    out += [t("rfm.note", note=str(n).rstrip(".。")) for n in rep.notes]
    return out


def _bgnbd_findings(bg: dict) -> list[str]:
    if not bg.get("available"):
        return [t("rfm.bgnbd_not_fitted", reason=str(bg["reason"]).rstrip(".。"))] if bg.get("reason") else []
    ho = bg.get("holdout")
    holdout = (
        t(
            "rfm.bgnbd_holdout",
            days=ho["days"],
            predicted=fmt_num(ho["predicted"], 0),
            actual=fmt_num(ho["actual"], 0),
            ratio=fmt_num(ho["ratio"], 2),
        )
        if ho
        else ""
    )
    out = [
        t(
            "rfm.bgnbd_finding",
            days=bg["horizon_days"],
            purchases=fmt_num(bg["expected_purchases"], 0),
            p_alive=fmt_pct(bg["mean_p_alive_repeat"]),
            low=fmt_int(bg["users_p_alive_below_half"]),
            holdout=holdout,
        )
    ]
    return out + [t("rfm.bgnbd_caveat", caveat=c) for c in bg.get("caveats", [])]


def rfm_headline(rep: Any) -> list[dict]:
    """Headline numbers of an :class:`~helpers.rfm.RFMReport` for the campaign index page."""
    from .report import headline

    s = rep.summary
    out = [headline(t("rfm.h_customers"), int(len(rep.scored)), fmt_int(len(rep.scored)))]
    champ = s[s["segment"].isin(TOP_SEGMENTS)]
    if len(champ):
        c = champ.iloc[0]
        name = segment_label(c["segment"])
        out.append(headline(t("rfm.h_share", segment=name), float(c["share"]), fmt_pct(c["share"])))
        if rep.has_monetary and pd.notna(c["revenue_share"]):
            out.append(
                headline(t("rfm.h_revenue_share", segment=name), float(c["revenue_share"]), fmt_pct(c["revenue_share"]))
            )
    return out
