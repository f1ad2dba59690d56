"""Drivers: which behaviours go with converting (funnel report) and with retaining (retention report).

Correlation, not cause: a driver is a candidate to test with the experiment report, not a lever proven to work.
docs/funnel.md and docs/retention.md have every rule.

Conversion drivers
------------------
For the users who entered a funnel and whose window is complete: *converters* reached the last step, *drop-offs*
did not. A candidate is an event (other than the funnel's step events) or a property value (``column = value``
of the declared columns, on any event, steps included) that the user did in ``[attempt start, end)``: ``end`` is
the conversion time for a converter and ``start + window`` for a drop-off. For each candidate the 2x2 table counts
users::

                did it   did not
    converted      a        b
    dropped        c        d

``odds_ratio = (a+1)(d+1) / ((b+1)(c+1))`` (+1 smoothing, as PostHog), its 95% CI
``exp(log OR ± 1.96 sqrt(1/(a+1) + 1/(b+1) + 1/(c+1) + 1/(d+1)))``. A candidate needs ``a + c >= max(min_users,
min_share * users)`` (support). Positive drivers have the largest odds ratios, negative ones the smallest.

Retention drivers
-----------------
For users whose first active day ``d0`` leaves room for the retained window (``d0 + retained_day + 7 <=`` period
end + 1): "did X at least k times in days ``[d0, d0 + first_days)``" against "active on a day in
``[d0 + retained_day, d0 + retained_day + 7)``". Per (X, k): ``phi`` (the 2x2 correlation), ``ppv`` (share
retained of those who did it), ``share`` (share of users who did it), and a Compass-style band of phi.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .engine import as_table, to_pandas
from .sections_attribution import DriversParams

__all__ = [
    "odds_ratio_table",
    "conversion_driver_counts",
    "conversion_drivers",
    "top_drivers",
    "skew_warning",
    "support_needed",
    "retention_driver_counts",
    "retention_drivers",
    "phi_band",
    "CAVEAT",
    "RETENTION_DRIVER_COLUMNS",
]

#: the message shown next to every drivers table (helpers/messages/drivers.yaml)
CAVEAT = "drivers.caveat"
#: the columns of :func:`retention_drivers` (an empty table has them too)
RETENTION_DRIVER_COLUMNS = ("event", "k", "users_did", "share", "retained_did", "ppv", "retained_rate_not", "phi",
                            "band", "supported")  # fmt: skip
#: Compass-style bands of |phi| (Amplitude Compass reads 0.2-0.3 as moderately and above 0.3 as highly predictive);
#: machine values (CSV cells), shown as ``label("drivers.band.<band>")``
PHI_BANDS = ((0.3, "strong"), (0.2, "moderate"), (0.1, "weak"), (0.0, "none"))
#: a note to show beside a drivers table: a message key and its values, rendered in the page's language
Note = tuple[str, dict]


def odds_ratio_table(counts: pd.DataFrame, *, converters: int, dropoffs: int) -> pd.DataFrame:
    """The 2x2 table, smoothed odds ratio and its 95% CI from per-candidate counts.

    Parameters
    ----------
    counts : ``candidate`` and ``a`` (converters who did it), ``c`` (drop-offs who did it).
    converters, dropoffs : the group sizes.

    Returns
    -------
    ``counts`` with ``b``, ``d``, ``users`` (a + c), ``conversion_if_done`` (a / (a + c)),
    ``conversion_if_not`` (b / (b + d)), ``odds_ratio``, ``ci_low``, ``ci_high``.
    """
    out = counts.copy()
    out["b"] = converters - out["a"]
    out["d"] = dropoffs - out["c"]
    out["users"] = out["a"] + out["c"]
    out["conversion_if_done"] = out["a"] / out["users"].where(out["users"] > 0)
    nd = out["b"] + out["d"]
    out["conversion_if_not"] = out["b"] / nd.where(nd > 0)
    a, b, c, d = (out[k].astype(float) + 1.0 for k in "abcd")
    lor = np.log(a * d / (b * c))
    se = np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    out["odds_ratio"] = np.exp(lor)
    out["ci_low"] = np.exp(lor - 1.96 * se)
    out["ci_high"] = np.exp(lor + 1.96 * se)
    return out


def conversion_driver_counts(events, users: pd.DataFrame, *, n_steps: int, window_hours: float, step_events,
                             columns=(), user_col="user_id", ts_col="ts", event_col="event"):  # fmt: skip
    """Per candidate, converters and drop-offs who did it in their interval (module docstring), on Ibis.

    ``users`` is the funnel's per-user frame (``user_id``, ``start``, ``t<n_steps>``, ``censored``).

    Returns
    -------
    (counts, converters, dropoffs): counts ``candidate`` (``event: X`` or ``column = value``, the machine form
    results keep), ``kind`` (``event`` / ``property``), ``column`` (a property's events column; missing for an
    event), ``value`` (the event, or the property's value), ``a``, ``c``.
    """
    import ibis

    u = users[~users["censored"]] if "censored" in users else users
    last = u[f"t{n_steps}"]
    conv = last.notna()
    frame = pd.DataFrame({
        "_u": u["user_id"].astype(str).to_numpy(),
        "_start": pd.to_datetime(u["start"]).astype("datetime64[us]").to_numpy(),
        "_end": pd.to_datetime(last.where(conv, pd.to_datetime(u["start"]) + pd.Timedelta(hours=window_hours)))
        .astype("datetime64[us]").to_numpy(),
        "_conv": conv.astype(int).to_numpy(),
    })  # fmt: skip
    t = as_table(events)
    m = ibis.memtable(frame)
    j = t.join(m, [t[user_col].cast("string") == m._u, t[ts_col] >= m._start, t[ts_col] < m._end])
    je = j.filter(~j[event_col].isin(list(step_events)))  # event candidates: not the funnel's own steps
    none = ibis.literal(None, type="string")
    parts = [je.select(_u="_u", _conv="_conv", kind=ibis.literal("event"), column=none,
                       value=je[event_col].cast("string"))]  # fmt: skip
    for col in columns:
        if col not in t.columns:
            continue
        v = j[col].cast("string")
        k = j.filter(v.notnull() & (v != ""))
        parts.append(k.select(_u="_u", _conv="_conv", kind=ibis.literal("property"), column=ibis.literal(col),
                              value=k[col].cast("string")))  # fmt: skip
    x = parts[0]
    for p in parts[1:]:
        x = x.union(p)
    x = x.distinct()
    g = x.group_by(["kind", "column", "value"]).aggregate(a=x._conv.sum(), n=x.count())
    df = to_pandas(g)
    df["a"] = df["a"].astype(int)
    df["c"] = df["n"].astype(int) - df["a"]
    event = df["kind"] == "event"
    df.insert(0, "candidate", np.where(event, "event: " + df["value"], df["column"] + " = " + df["value"]))
    df = df.drop(columns="n").sort_values("candidate").reset_index(drop=True)
    return df, int(conv.sum()), int((~conv).sum())


def support_needed(users: int, *, min_users: int = 25, min_share: float = 0.02) -> int:
    """The users a candidate needs among ``users`` (the support rule, module docstring):
    ``max(min_users, ceil(min_share * users))``."""
    return max(min_users, math.ceil(min_share * users))


def conversion_drivers(counts: pd.DataFrame, *, converters: int, dropoffs: int, min_users: int = 25,
                       min_share: float = 0.02) -> pd.DataFrame:  # fmt: skip
    """Every candidate with its 2x2 table and odds ratio, flagged ``supported`` (module docstring), sorted by
    odds ratio (largest first).

    Returns
    -------
    :func:`odds_ratio_table` columns plus ``supported`` (bool) and ``direction`` (``positive`` when OR > 1,
    ``negative`` when OR < 1, ``none`` when it is 1 or missing: such a candidate is in neither list).
    """
    out = odds_ratio_table(counts, converters=converters, dropoffs=dropoffs)
    need = support_needed(converters + dropoffs, min_users=min_users, min_share=min_share)
    out["supported"] = out["users"] >= need
    # an odds ratio of exactly 1 (or none) points nowhere: "negative" was written for it, and no list shows it
    ratio = out["odds_ratio"]
    out["direction"] = np.select([ratio > 1, ratio < 1], ["positive", "negative"], "none")
    return out.sort_values(["odds_ratio", "candidate"], ascending=[False, True]).reset_index(drop=True)


def top_drivers(drivers: pd.DataFrame, *, n: int = 5) -> pd.DataFrame:
    """The ``n`` supported candidates with the largest and the ``n`` with the smallest odds ratio (CI not
    containing 1 not required: the CI is shown next to them)."""
    s = drivers[drivers["supported"]]
    pos = s[s["odds_ratio"] > 1].head(n)
    neg = s[s["odds_ratio"] < 1].sort_values("odds_ratio").head(n)
    return pd.concat([pos, neg], ignore_index=True)


def skew_warning(converters: int, dropoffs: int, *, min_share: float = 0.1, min_users: int = 25) -> str | None:
    """A warning when one side of the split is very small (under ``min_share`` of users or ``min_users``)."""
    n = converters + dropoffs
    small = min(converters, dropoffs)
    if n and (small < min_users or small / n < min_share):
        from .fmt import fmt_int
        from .i18n import t

        side = t("drivers.side.converters" if converters < dropoffs else "drivers.side.dropoffs")
        return t("drivers.skewed", small=fmt_int(small), side=side, n=fmt_int(n))
    return None


# ------------------------------------------------------------------------------------------- retention drivers
def retention_driver_counts(events, *, first_days: int, retained_day: int, period_end, user_col="user_id",
                            ts_col="ts", event_col="event") -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """Per eligible user, the count of each event in their first ``first_days`` days and whether they were
    retained (module docstring), on Ibis.

    Returns
    -------
    (counts, users): counts ``user_id``, ``event``, ``n``; users ``user_id``, ``retained`` (bool).
    """
    t = as_table(events)
    day = t[ts_col].truncate("D")
    t = t.mutate(_day=day)
    first = t.group_by(user_col).aggregate(_d0=t._day.min())
    last_start = pd.Timestamp(period_end).normalize() + pd.Timedelta(days=1) - pd.Timedelta(days=retained_day + 7)
    first = first.filter(first._d0 <= last_start.to_pydatetime()).rename(_fu=user_col)
    j = t.join(first, t[user_col] == first._fu)
    j = j.mutate(_dd=j._day.delta(j._d0, unit="day"))
    counts = (
        j.filter(j._dd < first_days)
        .group_by([user_col, event_col])
        .aggregate(n=lambda x: x.count())
        .rename(user_id=user_col, event=event_col)
        .to_pandas()
    )
    ret = j.mutate(_r=((j._dd >= retained_day) & (j._dd < retained_day + 7)).cast("int32"))
    users = to_pandas(ret.group_by(user_col).aggregate(retained=ret._r.max()).rename(user_id=user_col))
    users["retained"] = users["retained"].astype(bool)
    return counts, users.sort_values("user_id").reset_index(drop=True)


def phi_band(phi: float) -> str:
    """Compass-style band of ``|phi|`` (:data:`PHI_BANDS`)."""
    if phi is None or math.isnan(phi):
        return ""
    for lo, name in PHI_BANDS:
        if abs(phi) >= lo:
            return name
    return PHI_BANDS[-1][1]


def retention_drivers(counts: pd.DataFrame, users: pd.DataFrame, *, thresholds=(1, 2, 3, 5), min_users: int = 25,
                      min_share: float = 0.02) -> pd.DataFrame:  # fmt: skip
    """phi, PPV and share per (event, k), sorted by phi (largest first).

    Returns
    -------
    DataFrame ``event``, ``k``, ``users_did`` (did it at least k times), ``share``, ``retained_did`` (a),
    ``ppv`` (a / users_did), ``retained_rate_not`` (retained share of the others), ``phi``, ``band``,
    ``supported`` (users_did >= max(min_users, min_share * users) and the others as many).
    """
    n = len(users)
    ret = users.set_index("user_id")["retained"]
    r_tot = int(ret.sum())
    need = support_needed(n, min_users=min_users, min_share=min_share)
    rows = []
    for ev, g in counts.groupby("event"):
        per = g.set_index("user_id")["n"]
        for k in thresholds:
            did = per.index[per >= k]
            m = len(did)
            a = int(ret.reindex(did).fillna(False).sum())
            b, c = m - a, r_tot - a
            d = n - m - c
            den = math.sqrt(m * (n - m) * r_tot * (n - r_tot)) if n else 0.0
            phi = (a * d - b * c) / den if den else math.nan
            rows.append({"event": ev, "k": k, "users_did": m, "share": m / n if n else math.nan, "retained_did": a,
                         "ppv": a / m if m else math.nan, "retained_rate_not": c / (n - m) if n - m else math.nan,
                         "phi": phi, "band": phi_band(phi), "supported": m >= need and n - m >= need})  # fmt: skip
    out = pd.DataFrame(rows, columns=list(RETENTION_DRIVER_COLUMNS))
    return out.sort_values(["phi", "event", "k"], ascending=[False, True, True], na_position="last").reset_index(
        drop=True
    )


# ------------------------------------------------------------------------------------------- report glue
def funnel_drivers(
    events, users: pd.DataFrame, steps, *, window_hours: float, params
) -> tuple[pd.DataFrame | None, list[Note]]:
    """The funnel report's drivers table (all candidates, :func:`conversion_drivers`) and its notes (the skew
    warning, the caveat), or ``(None, [why])`` when ``drivers.enabled`` is false or nobody is left to compare."""
    params = params if params is not None else DriversParams()  # a campaign object without drivers: defaults
    if not params.enabled:
        return None, [("drivers.disabled", {})]
    step_events = sorted({e for s in steps for e in s.events})
    counts, conv, drop = conversion_driver_counts(
        events, users, n_steps=len(steps), window_hours=window_hours, step_events=step_events, columns=params.columns
    )
    if not conv or not drop or counts.empty:
        return None, [("drivers.no_groups", {})]
    table = conversion_drivers(counts, converters=conv, dropoffs=drop, min_users=params.min_users,
                               min_share=params.min_share)  # fmt: skip
    notes: list[Note] = (
        [("drivers.skewed_for", {"converters": conv, "dropoffs": drop})] if skew_warning(conv, drop) else []
    )
    if not table["supported"].any():  # an empty table under its headers would read as "no driver found"
        need = support_needed(conv + drop, min_users=params.min_users, min_share=params.min_share)
        notes.append(("drivers.none_supported", {"candidates": len(table), "need": need, "users": conv + drop}))
    return table, notes


def retention_drivers_for(events, *, period_end, params) -> tuple[pd.DataFrame | None, list[Note]]:
    """The retention report's drivers table (:func:`retention_drivers`) and its notes, or ``(None, [why])``."""
    params = params if params is not None else DriversParams()  # a campaign object without drivers: defaults
    if not params.enabled:
        return None, [("drivers.disabled", {})]
    counts, users = retention_driver_counts(
        events, first_days=params.first_days, retained_day=params.retained_day, period_end=period_end
    )
    if users.empty or users["retained"].all() or not users["retained"].any():
        return None, [("drivers.too_short", {"day": params.retained_day})]
    table = retention_drivers(counts, users, thresholds=params.thresholds, min_users=params.min_users,
                              min_share=params.min_share)  # fmt: skip
    notes: list[Note] = [("drivers.window_users", {"users": len(users), "retained": float(users["retained"].mean())})]
    if not table["supported"].any():
        need = support_needed(len(users), min_users=params.min_users, min_share=params.min_share)
        notes.append(("drivers.none_supported_retention", {"candidates": table["event"].nunique(), "need": need}))
    return table, notes


def candidate_label(kind: str, column, value, events: dict[str, str] | None = None) -> str:
    """A candidate as a reader sees it, from its parts (:func:`conversion_driver_counts`): the event fav ->
    "事件 收藏" / "event fav" (its name in ``events``, the tracking plan's display names for the page's language,
    else its code), the value app of ``channel`` -> "渠道 = app" (the column's display name,
    :func:`helpers.i18n.column_label`); the table and results keep the machine form in ``candidate``."""
    from .i18n import column_label, t

    if kind == "event":
        return t("drivers.candidate_event", event=(events or {}).get(value, value))
    return f"{column_label(str(column))} = {value}"


def candidate_labels(table: pd.DataFrame, events: dict[str, str] | None = None) -> list[str]:
    """:func:`candidate_label` of every row of a drivers table."""
    rows = zip(table["kind"], table["column"], table["value"], strict=True)
    return [candidate_label(*r, events) for r in rows]


def driver_finding(table: pd.DataFrame | None, kind: str, events: dict[str, str] | None = None) -> str | None:
    """One finding line: the top supported driver (``kind``: ``conversion`` or ``retention``); ``events``: event
    code -> the name pages show (the tracking plan's display names). The top driver is the top positive one (odds
    ratio above 1, docs/funnel.md; phi above 0, docs/retention.md): with none, no line (a negative one is not the
    "top driver")."""
    from .fmt import fmt_int, fmt_num, fmt_pct
    from .i18n import label, t

    if table is None or not len(table) or not table["supported"].any():
        return None
    s = table[table["supported"]]
    if kind == "conversion":
        s = s[s["odds_ratio"] > 1].sort_values("odds_ratio", ascending=False, kind="stable")
        if s.empty:
            return None
        r = s.iloc[0]
        return t("drivers.top_conversion", candidate=candidate_label(r["kind"], r["column"], r["value"], events),
                 done=fmt_pct(r["conversion_if_done"]), users=fmt_int(r["users"]),
                 not_done=fmt_pct(r["conversion_if_not"]), odds_ratio=fmt_num(r["odds_ratio"]))  # fmt: skip
    s = s[s["phi"] > 0].sort_values("phi", ascending=False, kind="stable")  # a negative one is no "top driver"
    if s.empty:
        return None
    r = s.iloc[0]
    event = (events or {}).get(r["event"], r["event"])
    if r["band"] == "none":  # |phi| < 0.1: not a driver worth the name; say so instead of ranking it first
        return t("drivers.top_retention_none", event=event, k=int(r["k"]), done=fmt_pct(r["ppv"]),
                 not_done=fmt_pct(r["retained_rate_not"]), phi=fmt_num(r["phi"]))  # fmt: skip
    return t("drivers.top_retention", event=event, k=int(r["k"]), done=fmt_pct(r["ppv"]),
             not_done=fmt_pct(r["retained_rate_not"]), phi=fmt_num(r["phi"]),
             band=label(f"drivers.band.{r['band']}", str(r["band"])))  # fmt: skip


def note_text(note: str | Note) -> str:
    """A drivers note in the current language (a plain string passes through)."""
    from .fmt import fmt_int, fmt_pct
    from .i18n import t

    if isinstance(note, str):
        return note
    key, values = note
    if key == "drivers.skewed_for":
        return skew_warning(values["converters"], values["dropoffs"]) or ""
    if key == "drivers.window_users":
        return t(key, users=fmt_int(values["users"]), retained=fmt_pct(values["retained"]))
    if key.startswith("drivers.none_supported"):
        return t(key, **{k: fmt_int(v) for k, v in values.items()})
    return t(key, **values)


def show_drivers(
    table: pd.DataFrame | None, notes: list[str | Note], kind: str, *, n: int = 5, events: dict[str, str] | None = None
):
    """The drivers part of a page: the top positive and negative drivers with counts, notes and the caveat; events
    by their names in ``events`` (the CSV keeps the codes)."""
    from IPython.display import Markdown

    from .base import _display
    from .fmt import md_escape, style_table
    from .i18n import label

    caveat: Note = (CAVEAT, {})
    text = " ".join(md_escape(note_text(x)) for x in [*notes, caveat])
    if table is None or not table["supported"].any():  # nothing to list: the notes say why (none_supported)
        return Markdown(f"_{text}_")
    _display(Markdown(f"_{text}_"))
    if kind == "conversion":
        top = top_drivers(table, n=n)
        top = top.assign(
            direction=top["direction"].map(lambda v: label(f"drivers.direction.{v}", str(v))),
            candidate=candidate_labels(top, events),
        )
        cols = ["candidate", "direction", "a", "b", "c", "d", "conversion_if_done", "conversion_if_not",
                "odds_ratio", "ci_low", "ci_high"]  # fmt: skip
        return style_table(top[cols], int_cols=list("abcd"), pct_cols=["conversion_if_done", "conversion_if_not"],
                           num_cols=["odds_ratio", "ci_low", "ci_high"])  # fmt: skip
    s = table[table["supported"]]
    # each event's best positive threshold, then each event's most negative one: a row once (with fewer than n
    # positive events the negative rows were listed in both)
    best = s[s["phi"] > 0].sort_values("phi", ascending=False, kind="stable").drop_duplicates("event").head(n)
    worst = s[s["phi"] < 0].sort_values("phi", kind="stable").drop_duplicates("event").head(n)
    top = pd.concat([best, worst], ignore_index=True)
    top = top.assign(band=top["band"].map(lambda v: label(f"drivers.band.{v}", str(v))),
                     event=top["event"].map(lambda e: (events or {}).get(e, e)))  # fmt: skip
    return style_table(top.drop(columns=["supported"]), int_cols=["k", "users_did", "retained_did"],
                       pct_cols=["share", "ppv", "retained_rate_not"], num_cols=["phi"])  # fmt: skip
