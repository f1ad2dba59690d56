"""Orchestration of the experiment report: params -> per-user values (helpers.experiment_data, on Ibis) ->
statistics (helpers.experiment). Kept apart so helpers/experiment.py stays the report and its tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import i18n
from .base import ReportUnavailable
from .campaign import observed_end
from .caveats import currency_caveat
from .experiment_data import (
    check_columns,
    clean_assignments,
    first_exposure,
    metric_values,
    money_metrics,
    pre_period_counts,
    user_day_counts,
)
from .experiment_stats import compare_one, compare_variants, power_table, sequential_table, srm_table

__all__ = ["compute_experiment", "load_assignments", "read_assignments_file"]


def read_assignments_file(path: Path, user_col: str, *, header_only: bool = False) -> pd.DataFrame:
    """An assignments file (``experiment.assignment.source: table``) as pandas: a Parquet file, else a CSV whose
    ``user_col`` is read as text (ids keep their leading zeros). ``header_only``: no row, only the columns (what
    ``validate`` checks, helpers/headers.py)."""
    if path.suffix == ".parquet":
        if header_only:
            import pyarrow.parquet as pq

            return pq.read_schema(path).empty_table().to_pandas()
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype={user_col: str}, nrows=0 if header_only else None)


def load_assignments(ctx, p) -> pd.DataFrame:
    """Raw assignment rows ``user_id``, ``<column>``, [``assigned_at``] from the configured source."""
    a = p.assignment
    if a.source == "users_column":
        if not ctx.has("users"):
            raise ReportUnavailable(i18n.t("experiment.no_users_table"))
        u = ctx.df("users")
        if a.column not in u.columns:
            raise ReportUnavailable(
                i18n.t("experiment.no_users_column", column=repr(a.column), columns=", ".join(map(str, u.columns)))
            )
        return u[["user_id", a.column]]
    if a.source == "event_property":
        ev = ctx.table("events")
        check_columns(ev, [a.column], what="experiment.assignment.column")
        t = ev.filter(ev[a.column].notnull())
        df = t.group_by(["user_id", a.column]).aggregate(assigned_at=t.ts.min()).to_pandas()
        return df
    from .params import resolve_input

    path = Path(resolve_input(str(a.path), raw_dir=ctx.paths.raw))
    if not path.exists():
        raise ReportUnavailable(i18n.t("experiment.no_assignment_file", path=path))
    df = read_assignments_file(path, a.user_col)
    for c in (a.user_col, a.column):
        if c not in df.columns:
            raise ReportUnavailable(i18n.t("experiment.assignment_file_column", file=path.name, column=repr(c),
                                           columns=", ".join(map(str, df.columns))))  # fmt: skip
    df = df.rename(columns={a.user_col: "user_id", a.assigned_at_col: "assigned_at"})
    return df[[c for c in ("user_id", a.column, "assigned_at") if c in df.columns]]


def compute_experiment(cls, ctx, p):
    """Build an :class:`~helpers.experiment.ExperimentReport` from the ``experiment:`` params."""
    ev = ctx.table("events")
    start = pd.Timestamp(p.start)
    end_day = pd.Timestamp(p.end or ctx.cfg.period.end)
    observed, cut = observed_end(ctx)  # a test that runs past the data: its metrics end with the data
    cut = cut if end_day >= observed else None
    end_day = min(end_day, observed - pd.Timedelta(days=1))
    if start > end_day:  # it read "no assigned user was exposed in the test window (experiment.exposure_event)"
        raise ReportUnavailable(i18n.t("experiment.start_after_data", start=start.date(), last=end_day.date()))
    end_excl = end_day + pd.Timedelta(days=1)
    amount = p.amount_col if p.amount_col in ev.columns else None
    if any(m.kind == "revenue" for m in p.metrics) and amount is None:
        check_columns(ev, [p.amount_col], what="experiment.amount_col (revenue metrics)")
    assign, multi = clean_assignments(load_assignments(ctx, p), variant_col=p.assignment.column)
    if assign.empty:
        raise ReportUnavailable(i18n.t("experiment.no_assigned"))
    if p.control not in set(assign["variant"]):
        variants = ", ".join(sorted(assign["variant"].unique()))
        raise ReportUnavailable(i18n.t("experiment.no_control", control=repr(p.control), variants=variants))
    if assign["variant"].nunique() < 2:  # a test compares: one group has nothing to be compared with
        raise ReportUnavailable(i18n.t("experiment.one_variant", control=repr(p.control), column=p.assignment.column))
    if p.exposure_event:
        expo = first_exposure(ev, p.exposure_event, start=start, end_exclusive=end_excl)
        users = assign.merge(expo, on="user_id", how="inner")
    else:
        users = assign.assign(exposed_at=assign["assigned_at"].fillna(start).clip(lower=start))
        users = users[users["exposed_at"] < end_excl]
    not_exposed = len(assign) - len(users)
    users = users.reset_index(drop=True)
    users["exposed_at"] = pd.to_datetime(users["exposed_at"]).astype("datetime64[us]")
    if users.empty:
        raise ReportUnavailable(i18n.t("experiment.no_exposed"))
    rep = cls(experiment=p.name, control=p.control, alpha=p.alpha, srm_alpha=p.srm_alpha, excluded_multi=multi,
              not_exposed=not_exposed, currency=ctx.cfg.currency, money=money_metrics(p.metrics),
              min_users=p.min_users)  # fmt: skip
    rep.data_cut = cut
    revenue = {p.amount_col} if amount and any(m.kind == "revenue" for m in p.metrics) else set()
    rep.currency_mix = currency_caveat(ctx, "events", revenue)  # ¥ and $ in the amounts: summed as one currency
    rep.srm = srm_table(users["variant"].value_counts(), p.split, srm_alpha=p.srm_alpha)

    daily, cov = {}, pd.DataFrame(index=users.index)
    for m in p.metrics:
        if m.kind == "ratio":
            continue
        daily[m.name] = user_day_counts(ev, users, event_names=m.events, end_exclusive=end_excl,
                                        window_hours=m.window_hours if m.kind == "conversion" else None,
                                        amount_col=amount if m.kind == "revenue" else None)  # fmt: skip
        users[m.name] = metric_values(m.kind, daily[m.name], users, through=end_day, day=m.day)
        if p.cuped_days and m.kind in ("conversion", "count", "revenue"):
            pre = pre_period_counts(
                ev, users, event_names=m.events, days=p.cuped_days, amount_col=amount if m.kind == "revenue" else None
            ).set_index("user_id")
            col = "amount" if m.kind == "revenue" else "n"
            x = users["user_id"].map(pre[col]).fillna(0.0).astype(float)
            cov[m.name] = (x > 0).astype(float) if m.kind == "conversion" else x
    rep.users = users
    rep.results = compare_variants(users, p.metrics, control=p.control, alpha=p.alpha, seed=p.seed,
                                   covariates=cov if p.cuped_days else None, min_users=p.min_users)  # fmt: skip
    rep.results["trustworthy"] = not rep.srm_failed

    # sequential: per day, users exposed by then and their values through that day (no CUPED)
    rows, ses = [], {}
    days = pd.date_range(start, min(end_day, users["exposed_at"].max().normalize() + pd.Timedelta(days=60)))
    days = days[days <= end_day]
    for d in days:
        seen = users[users["exposed_at"] < d + pd.Timedelta(days=1)]
        for m in p.metrics:
            if m.kind not in ("conversion", "count", "revenue"):
                continue
            vals = metric_values(m.kind, daily[m.name], seen, through=d)
            c = vals[seen["variant"] == p.control].to_numpy()
            for v in sorted(set(seen["variant"]) - {p.control}):
                t = vals[seen["variant"] == v].to_numpy()
                if min(len(t), len(c)) < p.min_users:  # as the results: no test on a handful of users
                    continue
                r = compare_one(m.kind, t, c, alpha=p.alpha, seed=p.seed)
                rows.append({"day": d, "metric": m.name, "variant": v, "users": len(t) + len(c), "diff": r["abs_lift"],
                             "se": r["se"], "p_value": r["p_value"]})  # fmt: skip
    rep.sequential = sequential_table(pd.DataFrame(rows, columns=["day", "metric", "variant", "users", "diff", "se",
                                                                  "p_value"]),
                                      alpha=p.alpha, tuning_n=p.sequential_tuning_n)  # fmt: skip

    # power: standard errors of the unadjusted comparisons at the end
    for m in p.metrics:
        cm = users["variant"] == p.control
        for v in sorted(set(users["variant"]) - {p.control}):
            tm = users["variant"] == v
            if m.kind == "ratio":
                t = (users.loc[tm, m.numerator].to_numpy(), users.loc[tm, m.denominator].to_numpy())
                c = (users.loc[cm, m.numerator].to_numpy(), users.loc[cm, m.denominator].to_numpy())
            else:
                t, c = users.loc[tm, m.name].to_numpy(), users.loc[cm, m.name].to_numpy()
            ses[(m.name, v)] = compare_one(m.kind, t, c, alpha=p.alpha)["se"]
    elapsed = max(1, (min(end_day, users["exposed_at"].max().normalize()) - start).days + 1)
    rep.power = power_table(rep.results, ses, users_per_day=len(users) / elapsed, alpha=p.alpha,
                            power_target=p.power, target_mde=p.target_mde)  # fmt: skip

    missing = _segment_missing(ctx, p)
    if missing:  # a typo in the segment column leaves the segments out, not the whole report
        rep.notes.append(missing)
    elif p.segment or p.breakdown:
        rep.segment_col = p.breakdown or p.segment
        rep.segments = _segments(ctx, users, p)
    if rep.srm_failed:
        rep.notes.append(i18n.t("experiment.srm_note"))
    return rep


def _segment_missing(ctx, p) -> str | None:
    """The note when ``experiment.segment`` names no column of the users table (or there is no users table), with
    the closest column; None when it does or no segment is asked for."""
    from .checks import page_did_you_mean

    if not p.segment:
        return None
    if not ctx.has("users"):
        return i18n.t("experiment.segment_no_users", column=repr(p.segment))
    cols = [str(c) for c in ctx.df("users").columns]
    if p.segment in cols:
        return None
    return i18n.t("experiment.no_segment_column", column=repr(p.segment), hint=page_did_you_mean(p.segment, cols),
                  columns=", ".join(cols))  # fmt: skip


def _segments(ctx, users: pd.DataFrame, p) -> pd.DataFrame:
    """The results per value of the users column ``p.segment``, or of the tag or audience ``p.breakdown``
    (helpers/tags.py ``tag_values``: a user is in every value of a multi-value tag), without CUPED; Holm across
    all segment rows (the more segments, the more chances of a false lift: experiment.segments says how many). A
    segment row where a group has fewer than ``experiment.min_users`` users with a value is left out: no test."""
    from . import abstats as st

    if p.breakdown:
        from .tags import tag_values

        tv = tag_values(ctx, p.breakdown, report="experiment").to_pandas()
        uid = users["user_id"].astype(str)
        groups = {g: users.index[uid.isin(set(d["user_id"]))] for g, d in tv.groupby("value", sort=True)}
        rest = users.index[~uid.isin(set(tv["user_id"]))]
        if len(rest):
            groups["(none)"] = rest
    else:
        u = ctx.df("users")
        seg = users["user_id"].map(u.drop_duplicates("user_id").set_index("user_id")[p.segment])
        groups = users.groupby(seg.fillna("(none)").astype(str)).groups
    parts = []
    for g, idx in groups.items():
        sub = users.loc[idx]
        if sub["variant"].nunique() < 2 or (sub["variant"] == p.control).sum() < p.min_users:
            continue
        r = compare_variants(sub, p.metrics, control=p.control, alpha=p.alpha, seed=p.seed, min_users=p.min_users)
        parts.append(r[r["test"] != "too few users"].assign(segment=g))  # a segment row is a test: none, no row
    if not parts:
        return pd.DataFrame(columns=["segment"])
    out = pd.concat(parts, ignore_index=True)
    out["holm_p"] = st.holm(out["p_value"].tolist())
    out["significant"] = out["holm_p"] < p.alpha
    cols = ["segment", "metric", "variant", "users", "control_users", "value", "control_value", "abs_lift",
            "rel_lift", "p_value", "holm_p", "significant"]  # fmt: skip
    return out[cols]
