"""Products (商品分析): product performance, repurchase, movers and basket analysis (关联规则 / 搭配推荐).

Purchase lines come from the clean ``orders`` table (or, without one, the events named in
``products.order_events``); every per-line computation runs on the engine (Ibis: DuckDB or Spark), and only the
per-item, per-category and per-pair results come back to pandas. docs/products.md has every rule.

Rules
-----
- ``gmv`` is the sum of ``amount`` over the lines; ``orders`` distinct order ids; ``buyers`` distinct users;
  ``avg_price = gmv / quantity`` when the lines have a quantity, else ``gmv / lines``.
- Repurchase rate (复购率) of an item (category): among the buyers whose first purchase of it is at least
  ``repurchase_days`` before the end of the period (so the whole window is observed), the share who buy it again
  in another order within ``repurchase_days`` after that first purchase (``first_ts < ts <= first_ts + N days``
  counted as a second distinct order id in ``[first_ts, first_ts + N days]``).
- Movers: the windows of :func:`helpers.periods.windows` (the period's last ``compare_days`` days vs the
  equal-length span before); per item and category ``change = current - previous`` of GMV (orders when there is
  no amount) and ``contribution = change / sum of all items' (categories') changes``.
- Baskets and rules: :mod:`helpers.basket`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import pandas as pd

from . import basket as bk
from .base import Report, ReportUnavailable, Unavailable
from .campaign import observed_end
from .engine import as_table, money_sum
from .errors import MissingColumnError
from .features import with_order_ids
from .i18n import clause_join, label, list_join, localized, t
from .items import item_label, item_names, names_of
from .periods import window_note, window_notes, windows

__all__ = [
    "purchase_lines",
    "exclude_items",
    "item_names",
    "product_table",
    "repurchase_table",
    "product_movers",
    "basket_rules",
    "item_label",
    "plot_top_products",
    "plot_rules",
    "ProductsReport",
    "run_products",
]


# ------------------------------------------------------------------------------------------- inputs
def purchase_lines(ctx, p):
    """The purchase lines of a campaign as a lazy Ibis table (canonical column names).

    The ``orders`` table when the campaign has one (and it carries ``session_id`` when ``products.basket`` is
    ``session``), else the events in ``products.order_events``, an event without an ``order_id`` one order per
    user and time (:func:`helpers.features.with_order_ids`). Raises :class:`ReportUnavailable` when there are
    no purchase lines with an ``item_id``."""
    lines, source = None, ""
    if ctx.has("orders"):
        lines, source = ctx.table("orders"), "orders"
        if p.basket == "session" and "session_id" not in lines.columns:
            lines = None
    if lines is None and ctx.has("events"):
        ev = ctx.table("events")
        lines, source = with_order_ids(ev.filter(ev.event.isin(list(p.order_events)))), "events"
    if lines is None:
        raise ReportUnavailable(t("products.no_source"))
    if "item_id" not in lines.columns:
        raise ReportUnavailable(t("products.no_item_col", source=source))
    return lines.filter(lines.item_id.notnull() & (lines.item_id.cast("string") != "")), source


def exclude_items(lines, rules: list[tuple[str, str]], *, item_col: str = "item_id"):
    """Drop the lines whose item is not a product (``products.exclude_items``: postage, fees, vouchers, tests), and
    count what was dropped, on the engine.

    Parameters
    ----------
    lines : purchase lines (Ibis table); rules : ``(reason, code)`` pairs (``ProductsParams.exclude_rules``): a
        code equal to the item, or ``re:<regex>`` matching the whole item code; the first matching rule gives
        the line's reason.

    Returns
    -------
    (the kept lines as an Ibis table; DataFrame ``reason``, ``lines``, ``amount`` (sum; NaN without amounts),
    ``items`` (the distinct excluded codes, sorted, joined by ``, ``), sorted by ``lines`` descending, one row per
    rule reason that matched a line)
    """
    import ibis

    from .sections_products import EXCLUDE_REGEX

    cols = ["reason", "lines", "amount", "items"]
    if not rules:
        return lines, pd.DataFrame(columns=cols)
    code = lines[item_col].cast("string")
    cases = []
    for reason, c in rules:
        if c.startswith(EXCLUDE_REGEX):
            cases.append((code.re_search(f"^(?:{c[len(EXCLUDE_REGEX) :]})$"), reason))
        else:
            cases.append((code == c, reason))
    tagged = lines.mutate(__excluded=ibis.cases(*cases, else_=ibis.null("string")))
    hit = tagged.filter(tagged.__excluded.notnull())
    amount = hit.amount.cast("float64").sum() if "amount" in lines.columns else ibis.literal(math.nan)
    per = hit.group_by(["__excluded", item_col]).aggregate(lines=hit.count(), amount=amount).to_pandas()
    kept = tagged.filter(tagged.__excluded.isnull()).drop("__excluded")
    if per.empty:
        return kept, pd.DataFrame(columns=cols)
    per[item_col] = per[item_col].astype(str)
    g = per.groupby("__excluded", sort=False)
    out = pd.DataFrame(
        {
            "lines": g["lines"].sum().astype("int64"),
            "amount": g["amount"].sum(min_count=1),
            "items": g[item_col].agg(lambda x: ", ".join(sorted(set(x)))),
        }
    ).rename_axis("reason")
    return kept, out.reset_index().sort_values(["lines", "reason"], ascending=[False, True], ignore_index=True)


def split_returns(lines):
    """The purchase lines without the return lines (a negative ``amount`` or ``quantity``: lines kept by
    ``allow_negative_amount``), and the return lines' count and amount. A return is no order, buyer or repurchase,
    and no basket: a credit note kept this way (a "C" invoice of Online Retail without its quarantine rule) was
    counted as a second order of the item.

    Returns
    -------
    (the purchase lines as an Ibis table, returned lines, their amount (sum, <= 0; NaN without amounts))"""
    import ibis

    conds = [lines[c].cast("float64") < 0 for c in ("amount", "quantity") if c in lines.columns]
    if not conds:
        return lines, 0, math.nan
    neg = conds[0] if len(conds) == 1 else conds[0] | conds[1]
    flag = ibis.coalesce(neg, False)
    ret = lines.filter(flag)
    amount = ret.amount.cast("float64").sum() if "amount" in ret.columns else ibis.literal(math.nan)
    n, total = ret.aggregate(n=ret.count(), amount=amount).to_pyarrow().to_pylist()[0].values()
    if not n:
        return lines, 0, math.nan
    return lines.filter(~flag), int(n), math.nan if total is None else float(total)


def _has_values(t, col: str) -> bool:
    return col in t.columns and int(t[col].count().to_pyarrow().as_py() or 0) > 0


# ------------------------------------------------------------------------------------------- compute
def product_table(lines, *, by: str = "item_id") -> pd.DataFrame:
    """GMV, orders, buyers, lines and average price per item (``by="item_id"``) or category (``by="category"``).

    Returns
    -------
    DataFrame ``<by>``, [items: ``item_name`` (:func:`item_names`; None for an item without one),
    ``category`` (the smallest category name of the item's lines)], ``gmv``,
    ``gmv_share`` (of the total), ``orders``, ``buyers``, ``lines``, ``quantity`` (NaN without one),
    ``avg_price``; sorted by GMV (orders when there is no amount) descending.
    """
    t = as_table(lines)
    if by not in t.columns:
        raise MissingColumnError("orders", by, t.columns, hint="it is needed by the products report")
    aggs = {
        # exact: items with equal sales tie, whatever the order of their lines
        "gmv": (money_sum(t.amount) if "amount" in t.columns else None),
        "orders": t.order_id.nunique() if "order_id" in t.columns else None,
        "buyers": t.user_id.nunique(),
        "lines": t.count(),
        "quantity": t.quantity.sum() if "quantity" in t.columns else None,
    }
    if by == "item_id" and "category" in t.columns:
        aggs["category"] = t.category.cast("string").min()
    df = t.group_by(t[by].cast("string").name(by)).aggregate(**{k: v for k, v in aggs.items() if v is not None})
    df = df.to_pandas()
    for c in ("gmv", "orders", "quantity", "category"):
        if c not in df:
            df[c] = math.nan if c != "category" else None
    df["gmv"] = df["gmv"].astype("float64")
    df["quantity"] = df["quantity"].astype("float64")
    total = df["gmv"].sum(min_count=1)
    df["gmv_share"] = df["gmv"] / total if total and not math.isnan(total) else math.nan
    per = df["quantity"].where(df["quantity"] > 0, df["lines"].astype("float64"))
    df["avg_price"] = df["gmv"] / per
    key = "gmv" if df["gmv"].notna().any() else "orders"
    df = df.sort_values([key, "buyers", by], ascending=[False, False, True]).reset_index(drop=True)
    if by == "item_id":
        df["item_name"] = df[by].map(item_names(t)).astype(object).where(lambda x: x.notna(), None)
    cols = [by, *(["item_name", "category"] if by == "item_id" else []), "gmv", "gmv_share", "orders", "buyers",
            "lines"]  # fmt: skip
    return df[[*cols, "quantity", "avg_price"]]


def repurchase_table(lines, *, by: str = "item_id", days: int = 30, end_exclusive) -> pd.DataFrame:
    """Repurchase (复购) per item or category within ``days`` days of a buyer's first purchase (module rules).

    Returns
    -------
    DataFrame ``<by>``, ``eligible_buyers`` (first purchase at least ``days`` before ``end_exclusive``),
    ``repurchasers`` (of them, a second distinct order within ``days`` days), ``repurchase_rate``
    (``repurchasers / eligible_buyers``, NaN without eligible buyers).
    """
    import ibis

    t = as_table(lines)
    key = t[by].cast("string").name("_key")
    t = t.select("user_id", "order_id", "ts", key)
    f = t.group_by(["user_id", "_key"]).aggregate(first_ts=t.ts.min())
    j = t.join(f, ["user_id", "_key"])
    j = j.filter(j.ts <= j.first_ts + ibis.interval(days=days))
    u = j.group_by(["user_id", "_key", "first_ts"]).aggregate(k=j.order_id.nunique())
    cutoff = (pd.Timestamp(end_exclusive) - pd.Timedelta(days=days)).to_pydatetime()
    u = u.mutate(eligible=(u.first_ts < cutoff).cast("int64"))
    u = u.mutate(rep=((u.k >= 2) & (u.first_ts < cutoff)).cast("int64"))
    df = u.group_by("_key").aggregate(eligible_buyers=u.eligible.sum(), repurchasers=u.rep.sum()).to_pandas()
    df = df.rename(columns={"_key": by})
    for c in ("eligible_buyers", "repurchasers"):
        df[c] = df[c].fillna(0).astype("int64")
    df["repurchase_rate"] = df["repurchasers"] / df["eligible_buyers"].where(df["eligible_buyers"] > 0)
    return df


def product_movers(lines, w: dict, *, by: str = "item_id", n: int = 5) -> pd.DataFrame:
    """The items (categories) whose GMV (orders without an amount) changed most between the windows ``w``
    (:func:`helpers.periods.windows`).

    Returns
    -------
    DataFrame ``level`` (``item``/``category``), ``key``, ``measure`` (``gmv`` or ``orders``), ``current``,
    ``previous``, ``abs_change``, ``rel_change`` (NaN when previous is 0), ``contribution`` (share of the sum of
    all keys' changes; NaN when that sum is 0); the ``n`` largest ``|abs_change|``. No rows when the previous
    window has no sales at all (data that does not reach back to it): there is no change to rank.
    """
    t = as_table(lines)
    (cs, ce), (ps, pe) = w["current"], w["previous"]
    win = (t.ts >= cs.to_pydatetime()) & (t.ts < ce.to_pydatetime())
    pwin = (t.ts >= ps.to_pydatetime()) & (t.ts < pe.to_pydatetime())
    use_amount = _has_values(t, "amount")
    measure = "gmv" if use_amount else "orders"
    t = t.filter(win | pwin).mutate(_w=win.ifelse("current", "previous"), _key=t[by].cast("string"))
    val = t.amount.sum() if use_amount else t.order_id.nunique()
    df = t.group_by(["_key", "_w"]).aggregate(v=val).to_pandas()
    wide = df.pivot_table(index="_key", columns="_w", values="v", aggfunc="sum").fillna(0.0)
    for c in ("current", "previous"):
        if c not in wide:
            wide[c] = 0.0
    out = pd.DataFrame({"key": wide.index.astype(str), "current": wide["current"].to_numpy(dtype=float),
                        "previous": wide["previous"].to_numpy(dtype=float)})  # fmt: skip
    if not (out["previous"] > 0).any():  # nothing sold before: every "change" would be the whole current value
        out = out.iloc[:0]
    out["abs_change"] = out["current"] - out["previous"]
    out["rel_change"] = out["abs_change"] / out["previous"].where(out["previous"] != 0)
    tot = out["abs_change"].sum()
    out["contribution"] = out["abs_change"] / tot if tot else math.nan
    out.insert(0, "level", "item" if by == "item_id" else "category")
    out.insert(2, "measure", measure)
    out = out.assign(_a=out["abs_change"].abs()).sort_values(["_a", "key"], ascending=[False, True])
    return out.drop(columns="_a").head(n).reset_index(drop=True)


def basket_rules(lines, *, basket: str, item_col: str = "item_id", min_support: float | None = None,
                 min_baskets: int = 5, min_confidence: float = 0.0, max_len: int = 3) -> dict:  # fmt: skip
    """Pair rules and frequent item sets of the baskets of ``lines`` (:mod:`helpers.basket`).

    Returns
    -------
    dict ``n_baskets``, ``multi_item_baskets`` (baskets with two or more items), ``min_count`` (baskets),
    ``min_support``, ``support_rule`` (``given`` or ``auto``), ``rules`` (pair rules with support >= min_support
    and confidence >= min_confidence), ``itemsets`` (FP-growth, None when the matrix is too large),
    ``itemset_rules`` (rules ``A + B -> C`` of the item sets of three or more, confidence >= min_confidence).
    """
    bi = bk.basket_items(lines, basket=basket, item_col=item_col)
    items, n = bk.item_counts(bi)
    sizes = bi.group_by("basket").aggregate(k=bi.item.count())
    multi = int(sizes.filter(sizes.k >= 2).count().to_pyarrow().as_py() or 0)
    if min_support is not None:
        min_count, rule = max(1, math.ceil(min_support * n - 1e-9)), "given"
        pairs = bk.pair_counts(bi, min_count=min_count)
    else:
        pairs = bk.pair_counts(bi, min_count=min_baskets)
        min_count, rule = bk.auto_min_count(pairs, floor=min_baskets), "auto"
        pairs = pairs[pairs["n_ab"] >= min_count]
    rules = bk.pair_rules(pairs, items, n)
    rules = rules[rules["confidence"] >= min_confidence].reset_index(drop=True)
    sets = bk.frequent_sets(bi, items, n, min_count=min_count, max_len=max_len)
    set_rules = bk.itemset_rules(sets, items, n)
    return {
        "n_baskets": n,
        "multi_item_baskets": multi,
        "min_count": int(min_count),
        "min_support": (min_count / n) if n else math.nan,
        "support_rule": rule,
        "rules": rules,
        "itemsets": bk.itemsets_table(sets, n),
        "itemset_rules": set_rules[set_rules["confidence"] >= min_confidence].reset_index(drop=True),
    }


# ------------------------------------------------------------------------------------------- names
def _itemset_label(value, names) -> str:
    """Items joined by `` + `` (item sets, the rules of three or more), each as :func:`item_label` names it."""
    return " + ".join(item_label(x, names) for x in str(value).split(" + "))


# ------------------------------------------------------------------------------------------- charts
def plot_top_products(
    items: pd.DataFrame,
    *,
    key: str = "item_id",
    n: int = 15,
    ax=None,
    title: str | None = None,
    currency: str = "¥",
):
    """Horizontal bars of the ``n`` items (categories) with most GMV (orders without an amount; the axis names the
    ``currency``); items with an ``item_name`` are labelled by it (cut to 32 characters) with the code aside."""
    import matplotlib.pyplot as plt

    measure = "gmv" if items["gmv"].notna().any() else "orders"
    top = items.head(n).iloc[::-1]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, max(2.5, 0.3 * len(top) + 1)))
    names = names_of(top) if key == "item_id" else {}
    labels = [item_label(c, names, width=32) for c in top[key].astype(str)]
    ax.barh(labels, top[measure].astype(float), color="C0")
    ax.set_xlabel(t("products.chart.gmv", currency=currency) if measure == "gmv" else t("products.chart.orders"))
    which = "products.chart.top_items" if key == "item_id" else "products.chart.top_categories"
    ax.set_title(title or t(which, n=len(top)))
    return ax


def plot_rules(rules: pd.DataFrame, *, n: int = 50, ax=None, title: str | None = None):
    """Rules as points: support (x) against confidence (y), sized and coloured by lift."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    r = rules.head(n)
    if len(r):
        sc = ax.scatter(
            r["support"], r["confidence"], s=20 + 20 * r["lift"].clip(upper=20), c=r["lift"], cmap="viridis"
        )
        ax.get_figure().colorbar(sc, ax=ax, label=t("products.chart.lift"))
    ax.set_xlabel(t("products.chart.support"))
    ax.set_ylabel(t("products.chart.confidence"))
    ax.set_title(title or t("products.chart.rules"))
    return ax


# ------------------------------------------------------------------------------------------- report
@dataclass(repr=False)
class ProductsReport(Report):
    """The products report. Frames: ``items``, ``categories`` (None without a category), ``movers``, ``rules``
    (item pair rules), ``category_rules`` (None without categories or with ``level: item``), ``itemsets``
    (FP-growth; None when too large), ``bought_together``."""

    name: ClassVar[str] = "products"
    title: ClassVar[str] = localized("products.title")
    parts: ClassVar[tuple[str, ...]] = ("items", "categories", "movers", "rules", "category_rules", "itemsets",
                                        "itemset_rules", "bought_together", "excluded")  # fmt: skip
    table_names: ClassVar[tuple[str, ...]] = ("items", "categories", "movers", "rules", "category_rules", "itemsets",
                                              "itemset_rules", "bought_together", "excluded")  # fmt: skip
    result_keys: ClassVar[tuple[str, ...]] = (
        "source", "basket", "n_baskets", "multi_item_baskets", "min_support", "min_count", "support_rule",
        "min_confidence", "repurchase_days", "current", "previous", "top_rules", "top_category_rules",
        "top_itemset_rules", "excluded", "notes",
    )  # fmt: skip
    unavailable_label: ClassVar[str] = localized("products.unavailable_label")
    glossary: ClassVar[tuple[str, ...]] = (
        "repurchase_rate", "support", "confidence", "lift_rule", "leverage", "conviction", "fp_growth",
    )  # fmt: skip

    source: str = ""
    basket: str = "order"
    repurchase_days: int = 30
    min_confidence: float = 0.0
    window: dict = field(default_factory=dict)
    items: pd.DataFrame = field(default_factory=pd.DataFrame)
    categories: pd.DataFrame | None = None
    movers: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: why ``movers`` is empty (the previous window has no sales), or ""
    movers_note: str = ""
    #: why the windows end before the period or are shorter than ``compare_days`` (helpers/periods.py)
    data_cut: tuple | None = None
    #: :func:`helpers.periods.window_note`'s arguments (worded when asked), or () when the movers' note says it
    window_args: tuple = ()
    item_baskets: dict = field(default_factory=dict)
    category_baskets: dict | None = None
    rules: pd.DataFrame = field(default_factory=pd.DataFrame)
    category_rules: pd.DataFrame | None = None
    itemsets: pd.DataFrame | None = None
    #: rules A + B -> C of the item sets of three or more items (None when FP-growth was skipped)
    itemset_rules: pd.DataFrame | None = None
    #: lines dropped by ``products.exclude_items`` per reason (empty: nothing excluded)
    excluded: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: return lines left out (:func:`split_returns`): (lines, amount)
    returns: tuple = (0, math.nan)
    #: purchase lines before the exclusion; whether the params list items to exclude
    n_lines: int = 0
    exclude_given: bool = False
    bought_together: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list = field(default_factory=list)
    currency: str = "¥"  # the campaign's sign before money (GMV, prices) on the page
    #: the amounts mix currencies (ingest's ``currencies``): said after the top item (helpers/caveats.py)
    currency_mix: str | None = None

    @classmethod
    def compute(cls, ctx) -> ProductsReport:
        """The products report of a campaign, from its ``products:`` params (docs/products.md)."""
        p = ctx.cfg.products
        if p is None:
            raise ReportUnavailable(t("products.no_section"))
        lines, source = purchase_lines(ctx, p)
        n_lines = int(lines.count().to_pyarrow().as_py() or 0)
        lines, excluded = exclude_items(lines, p.exclude_rules())  # not products: counted and shown
        lines, n_returns, returned = split_returns(lines)  # returns: no order, buyer, repurchase or basket
        if n_lines - int(excluded["lines"].sum()) - n_returns == 0:
            raise ReportUnavailable(t("products.no_lines", source=source))
        # repurchase windows and movers end with the data, not with the last sale: with the orders' data when the
        # lines are the orders (a file that ends before the events read as a fall in sales)
        end, cut = observed_end(ctx, "orders" if source == "orders" else None)
        last_day = (end - pd.Timedelta(days=1)).date()
        rep = cls(source=source, basket=p.basket, repurchase_days=p.repurchase_days, min_confidence=p.min_confidence,
                  currency=ctx.cfg.currency)  # fmt: skip
        rep.excluded, rep.n_lines, rep.exclude_given = excluded, n_lines, bool(p.exclude_items)
        rep.returns = (n_returns, returned)
        has_cat = _has_values(lines, "category")
        rep.items = _with_repurchase(lines, "item_id", p.repurchase_days, end)
        if has_cat:
            rep.categories = _with_repurchase(lines, "category", p.repurchase_days, end)
        else:
            rep.notes.append(t("products.no_category"))
        if "amount" not in lines.columns or not _has_values(lines, "amount"):
            rep.notes.append(t("products.no_amount"))
        else:
            from .caveats import currency_caveat  # ¥ and $ in the amounts: GMV and its shares mix currencies

            rep.currency_mix = currency_caveat(ctx, source)
        rep.window = windows(ctx.cfg.period.start, last_day, compare_days=p.compare_days)
        args = (ctx.cfg.period.start, last_day, p.compare_days, "products.compare_days")
        mv = [product_movers(lines, rep.window, by="item_id", n=p.top_k)]
        if has_cat:
            mv.append(product_movers(lines, rep.window, by="category", n=p.top_k))
        rep.movers = pd.concat(mv, ignore_index=True)
        (ps, pe) = rep.window["previous"]
        before = ps < pd.Timestamp(ctx.cfg.period.start)  # outside the clean data: the note says why, not "no sales"
        if rep.movers.empty:
            no_sales = t("products.no_previous", start=ps.date(), end=(pe - pd.Timedelta(days=1)).date())
            rep.movers_note = window_note(*args, data_ended=cut is not None) if before else no_sales
            rep.notes.append(rep.movers_note)
        rep.data_cut, rep.window_args = cut, (() if before and rep.movers.empty else args)  # said beside the movers
        opts = dict(basket=p.basket, min_support=p.min_support, min_baskets=p.min_baskets,
                    min_confidence=p.min_confidence, max_len=p.max_itemset_size)  # fmt: skip
        if p.level in ("item", "both"):
            rep.item_baskets = basket_rules(lines, item_col="item_id", **opts)
            rep.rules = rep.item_baskets["rules"]
            rep.itemsets = rep.item_baskets["itemsets"]
            rep.itemset_rules = rep.item_baskets["itemset_rules"] if rep.itemsets is not None else None
            rep.bought_together = bk.bought_together(rep.rules, top_k=p.top_k)
            if rep.itemsets is None:
                rep.notes.append(t("products.too_large", cells=f"{bk.FPGROWTH_MAX_CELLS:,}"))
        if p.level in ("category", "both") and has_cat:
            rep.category_baskets = basket_rules(lines, item_col="category", **opts)
            rep.category_rules = rep.category_baskets["rules"]
        return rep

    def to_results(self) -> dict:
        """The report-specific part of ``results/products.json`` (docs/products.md)."""
        w = {k: [str(s.date()), str((e - pd.Timedelta(days=1)).date())] for k, (s, e) in self.window.items()}
        b = self.item_baskets or self.category_baskets or {}
        cr = self.category_rules
        return self._results(
            source=self.source,
            basket=self.basket,
            n_baskets=b.get("n_baskets"),
            multi_item_baskets=b.get("multi_item_baskets"),
            min_support=b.get("min_support"),
            min_count=b.get("min_count"),
            support_rule=b.get("support_rule"),
            min_confidence=self.min_confidence,
            repurchase_days=self.repurchase_days,
            current=w.get("current"),
            previous=w.get("previous"),
            top_rules=_rule_records(self.rules),
            top_category_rules=None if cr is None else _rule_records(cr),
            top_itemset_rules=None if self.itemset_rules is None else _rule_records(self.itemset_rules),
            excluded={
                "lines": int(self.excluded["lines"].sum()) if len(self.excluded) else 0,
                "of_lines": self.n_lines,
                "by_reason": self.excluded.to_dict(orient="records"),
                "returns": {
                    "lines": self.returns[0],
                    "amount": None if math.isnan(self.returns[1]) else self.returns[1],
                },
            },  # fmt: skip
            notes=self.notes,
        )

    def findings(self) -> list[str]:
        """Key findings in plain words and numbers."""
        from .caveats import thin_items_note
        from .fmt import fmt_change, fmt_int, fmt_money, fmt_pct, row_formats

        out = []
        it = self.items
        names = names_of(it)
        if len(it):
            top = it.iloc[0]
            share = "" if math.isnan(top["gmv_share"]) else t("products.gmv_share", share=fmt_pct(top["gmv_share"]))
            out.append(t("products.items", n=fmt_int(len(it)), item=item_label(top["item_id"], names),
                         orders=fmt_int(int(top["orders"])), buyers=fmt_int(int(top["buyers"])),
                         share=share))  # fmt: skip
            thin = thin_items_note(it["buyers"])  # most items bought by one person: say so next to the top item
            out += [x for x in (thin, self.currency_mix) if x]
            rr = it.dropna(subset=["repurchase_rate"])
            tot_e, tot_r = int(it["eligible_buyers"].sum()), int(it["repurchasers"].sum())
            if tot_e:
                out.append(t("products.repurchase", days=self.repurchase_days, rate=fmt_pct(tot_r / tot_e),
                             n=fmt_int(tot_e)))  # fmt: skip
            best = rr[rr["eligible_buyers"] >= BEST_MIN_BUYERS].sort_values("repurchase_rate", ascending=False).head(1)
            for r in best.itertuples():
                out.append(t("products.best_repurchase", item=item_label(r.item_id, names), min=BEST_MIN_BUYERS,
                             rate=fmt_pct(r.repurchase_rate), n=fmt_int(r.eligible_buyers)))  # fmt: skip
        if self.exclude_given:  # never dropped silently
            out.append(_excluded_note(self.excluded, self.n_lines))
        if self.returns[0]:  # returns kept by allow_negative_amount: counted apart, never as orders
            amount = "" if math.isnan(self.returns[1]) else t("products.returns_amount", amount=fmt_money(
                self.returns[1], self.currency))  # fmt: skip
            out.append(t("products.returns", n=fmt_int(self.returns[0]), amount=amount))
        for i, r in enumerate(self.movers.head(2).itertuples(), 1):  # each named by its rank: 变化第二大
            fv, _ = row_formats(_kind(r.measure), [r.current, r.previous], currency=self.currency)  # as the table
            out.append(t("products.mover", rank=t(f"mover_rank_{i}"), level=label(f"products.level.{r.level}", r.level),
                         key=item_label(r.key, names) if r.level == "item" else r.key,
                         measure=label(f"metric.{r.measure}", r.measure), current=fv(r.current),
                         previous=fv(r.previous),  # a rise "+25.0%"; from nothing no ratio: "上期没有"
                         rel=t("products.new") if r.previous == 0 < r.current else fmt_change(r.rel_change),
                         ))  # fmt: skip
        out += window_notes(self.data_cut, self.window_args)
        b = self.item_baskets
        if b:
            rule = t("products.rule_auto" if b["support_rule"] == "auto" else "products.rule_given")
            out.append(t("products.baskets", n=fmt_int(b["n_baskets"]),
                         basket=label(f"products.basket.{self.basket}", self.basket),
                         multi=fmt_int(b["multi_item_baskets"]), support=f"{b['min_support']:.3g}",
                         count=fmt_int(b["min_count"]), rule=rule, rules=fmt_int(len(self.rules))))  # fmt: skip
            pair = self.rules[["antecedent", "consequent"]].apply(lambda x: tuple(sorted(x)), axis=1)
            for r in self.rules[~pair.duplicated()].head(3).itertuples():
                out.append(t("products.pair", a=item_label(r.antecedent, names), b=item_label(r.consequent, names),
                             lift=f"{r.lift:.1f}", n=fmt_int(r.n_ab), conf=fmt_pct(r.confidence)))  # fmt: skip
            if self.rules.empty:
                out.append(self._none_found("rules"))
            if b["multi_item_baskets"] < 50:
                out.append(t("products.few_baskets", n=b["multi_item_baskets"]))
        sr = self.itemset_rules
        if sr is not None and len(sr):
            r = sr.iloc[0]
            out.append(t("products.itemset_rule", a=_itemset_label(r["antecedent"], names),
                         b=_itemset_label(r["consequent"], names), lift=f"{r['lift']:.1f}",
                         n=fmt_int(r["n_ab"]), conf=fmt_pct(r["confidence"]), k=fmt_int(len(sr))))  # fmt: skip
        cr = self.category_rules
        if cr is not None and len(cr):
            r = cr.iloc[0]
            out.append(t("products.category_rule", a=r["antecedent"], b=r["consequent"], lift=f"{r['lift']:.2f}",
                         conf=fmt_pct(r["confidence"])))  # fmt: skip
        return out + list(self.notes)

    def headline(self) -> list[dict]:
        """Headline numbers: items bought, repurchase rate, top pair's lift."""
        from .fmt import fmt_int, fmt_num, fmt_pct
        from .report import headline

        e, r = int(self.items["eligible_buyers"].sum()), int(self.items["repurchasers"].sum())
        rate = r / e if e else None
        lift = float(self.rules["lift"].iloc[0]) if len(self.rules) else None
        return [
            headline(t("products.h_items"), len(self.items), fmt_int(len(self.items))),
            headline(t("products.h_repurchase", days=self.repurchase_days), rate, fmt_pct(rate)),
            headline(t("products.h_lift"), lift, fmt_num(lift, 1)),
        ]

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every computed table of :attr:`table_names` (product-level: no user ids)."""
        out = {
            "items": self.items,
            "categories": self.categories,
            "movers": self.movers,
            "rules": self.rules if self.item_baskets else None,
            "category_rules": self.category_rules,
            "itemsets": self.itemsets,
            "itemset_rules": self.itemset_rules,
            "bought_together": self.bought_together if self.item_baskets else None,
            "excluded": self.excluded,
        }
        return {k: v for k, v in out.items() if v is not None}

    def _show(self, part: str):
        from IPython.display import Markdown

        from .fmt import drop_empty, format_rows, md_escape, style_table

        frame = getattr(self, part)
        if frame is None or (part in ("rules", "bought_together") and not self.item_baskets):
            return Markdown(
                "_" + md_escape(clause_join(self.notes or [t("products.not_computed")])) + "_"
            )  # notes may hold data
        if part in ("items", "categories"):
            _show_chart(plot_top_products(frame, key="item_id" if part == "items" else "category",
                                          currency=self.currency))  # fmt: skip
            shown = drop_empty(frame, _OPTIONAL_COLUMNS)  # no prices (Taobao), no categories: no "–" columns
            return style_table(shown, pct_cols=["gmv_share", "repurchase_rate"],  # quantity by its values: 56,814
                               money_cols=["gmv", "avg_price"], currency=self.currency, max_rows=50)  # fmt: skip
        if part == "movers" and frame.empty:  # why there are none (no sales in the previous window)
            return Markdown("_" + md_escape(self.movers_note or t("products.not_computed")) + "_")
        if part in _SETS and frame.empty:  # why there is no row, not a table of headers
            return Markdown("_" + md_escape(self._none_found(part)) + "_")
        if part == "excluded":
            if frame.empty:
                return Markdown("_" + t("products.excluded_none") + "_")
            return style_table(frame, money_cols=["amount"], currency=self.currency)
        frame = self._named_items(part, frame)  # items by name with the code aside (the CSV keeps the codes)
        if part in ("rules", "category_rules", "itemset_rules"):
            _show_chart(plot_rules(frame))
            return style_table(frame, pct_cols=["support", "confidence", "antecedent_support", "consequent_support"],
                               num_cols=["lift", "leverage", "conviction"], max_rows=50)  # fmt: skip
        if part == "movers":  # level and measure in words (the CSV keeps the codes)
            names = names_of(self.items)
            shown = frame.assign(key=[item_label(k, names) if lv == "item" else k
                                      for lv, k in zip(frame["level"], frame["key"], strict=True)],  # fmt: skip
                                 level=frame["level"].map(lambda v: label(f"products.level.{v}", str(v))),
                                 measure=frame["measure"].map(lambda v: label(f"metric.{v}", str(v))))  # fmt: skip
            st = style_table(shown, pct_cols=["rel_change", "contribution"])
            return format_rows(
                st,
                [_kind(m) for m in frame["measure"]],
                value_cols=["current", "previous"],
                change_cols=["abs_change"],
                currency=self.currency,
            )  # GMV in money, orders whole
        return style_table(frame, pct_cols=["support", "confidence"], max_rows=100)  # itemsets, bought_together

    def _none_found(self, part: str) -> str:
        """Why the rules, item sets or bought-together part of the basket analysis has no row: nothing is in
        enough baskets (``min_count``, the minimum support in baskets), or not with the confidence asked."""
        from .fmt import fmt_int

        b = (self.category_baskets if part == "category_rules" else self.item_baskets) or {}
        conf = t("products.with_confidence", conf=f"{self.min_confidence:g}") if self.min_confidence > 0 else ""
        return t(f"products.none.{part}", count=fmt_int(b.get("min_count", 0)), conf=conf)

    def _named_items(self, part: str, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` of an item-level part with its item codes as :func:`item_label` names them (unchanged when
        the items have no names, and for the category parts)."""
        cols = {"rules": ("antecedent", "consequent"), "itemset_rules": ("antecedent", "consequent"),
                "itemsets": ("itemset",), "bought_together": ("item", "partner")}.get(part)  # fmt: skip
        names = names_of(self.items)
        if not cols or not names or frame.empty:
            return frame
        return frame.assign(**{c: [_itemset_label(v, names) for v in frame[c]] for c in cols})


#: the basket parts that can come out empty, each with its sentence (products.none.<part>)
#: eligible buyers an item needs to be named the highest repurchase in the findings (fewer: a rate of a handful)
BEST_MIN_BUYERS = 20
_SETS = ("rules", "category_rules", "itemsets", "itemset_rules", "bought_together")

#: the item and category tables' columns that are empty when the lines carry no amount, quantity, category or name
_OPTIONAL_COLUMNS = ("gmv", "gmv_share", "quantity", "avg_price", "category", "item_name")


def _show_chart(ax) -> None:
    from .base import _display

    _display(ax)


def _with_repurchase(lines, by: str, days: int, end) -> pd.DataFrame:
    perf = product_table(lines, by=by)
    rp = repurchase_table(lines, by=by, days=days, end_exclusive=end)
    out = perf.merge(rp, on=by, how="left")
    for c in ("eligible_buyers", "repurchasers"):
        out[c] = out[c].fillna(0).astype("int64")
    return out


def _excluded_note(excluded: pd.DataFrame, n_lines: int) -> str:
    """The finding on ``products.exclude_items``: how many lines were dropped, and per reason."""
    from .fmt import fmt_int, fmt_pct

    k = int(excluded["lines"].sum()) if len(excluded) else 0
    if k == 0:
        return t("products.excluded_none")
    reasons = list_join(f"{r.reason} {fmt_int(r.lines)}" for r in excluded.itertuples())
    return t("products.excluded", n=fmt_int(k), share=fmt_pct(k / n_lines), reasons=reasons)


def _rule_records(rules: pd.DataFrame, n: int = 10) -> list[dict]:
    cols = ["antecedent", "consequent", "n_ab", "support", "confidence", "lift", "leverage", "conviction"]
    recs = rules[cols].head(n).to_dict(orient="records")
    for r in recs:  # JSON has no infinity: a rule that always holds has conviction null
        if isinstance(r["conviction"], float) and math.isinf(r["conviction"]):
            r["conviction"] = None
    return recs


def run_products(ctx) -> ProductsReport | Unavailable:
    """:meth:`ProductsReport.run`: the products report of a campaign (or its Unavailable twin)."""
    return ProductsReport.run(ctx)


def _kind(measure: str) -> str:
    """How a mover's numbers read (:func:`helpers.fmt.row_formats`): GMV as money, orders as counts."""
    return "money" if measure == "gmv" else ""
