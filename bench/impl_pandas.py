"""pandas references: ``pandas_naive`` (what an analyst writes first: ``groupby().apply`` with a Python loop per
user for the funnel and the sessions) and ``pandas_vec`` (well-vectorised: ids as categorical codes, one sort,
then ``searchsorted`` / ``bincount`` / sorting, no Python per user).

Both read the columns they need from the Parquet log inside the timed call (``pandas_vec`` pushes the event
filter down to pyarrow and reads ids dictionary-encoded, i.e. as pandas categoricals).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from common import END, EVENT_TYPES, FUNNEL_STEPS, LAST_DAY, SESSION_GAP_MINUTES, START, TIMEZONE, WINDOW_HOURS, Case

WIN_S = WINDOW_HOURS * 3600
GAP_S = SESSION_GAP_MINUTES * 60
CUT = END - pd.Timedelta(days=7)  # features' trend: last 7 days of the window vs the days before
DAYS_BEFORE = (CUT - START).days


# ================================================================================= pandas_naive
def naive_funnel(case: Case, prep=None):
    df = pd.read_parquet(case.parquet, columns=["user_id", "event", "ts"])
    df = df[df["event"].isin(FUNNEL_STEPS)].copy()
    df["step"] = df["event"].map({e: k for k, e in enumerate(FUNNEL_STEPS)})  # same instant: step order
    df = df.sort_values(["user_id", "ts", "step"])
    win = pd.Timedelta(hours=WINDOW_HOURS)
    s1, s2, s3 = FUNNEL_STEPS

    def best_attempt(g):
        events = list(zip(g["ts"], g["event"]))
        best, i = 0, 0
        while True:
            # next attempt: first pv at index >= i
            while i < len(events) and events[i][1] != s1:
                i += 1
            if i == len(events):
                return best
            start = events[i][0]
            deadline = start + win
            reached, t_cart = 1, None
            for ts, ev in events[i:]:
                if ts > deadline:
                    break
                if t_cart is None and ev == s2:
                    t_cart, reached = ts, 2
                elif t_cart is not None and ev == s3 and ts >= t_cart:
                    reached = 3
                    break
            best = max(best, reached)
            if best == 3:
                return best
            # the next attempt starts at the first pv after the window
            while i < len(events) and events[i][0] <= deadline:
                i += 1

    return df.groupby("user_id").apply(best_attempt).rename("reached").reset_index()


def naive_retention(case: Case, prep=None):
    df = pd.read_parquet(case.parquet, columns=["user_id", "ts"])
    df["day"] = df["ts"].dt.date
    first = df.groupby("user_id")["day"].min().rename("cohort_day")
    df = df.join(first, on="user_id")
    df["n"] = (pd.to_datetime(df["day"]) - pd.to_datetime(df["cohort_day"])).dt.days
    out = df.groupby(["cohort_day", "n"])["user_id"].nunique().rename("users").reset_index()
    out["cohort"] = (pd.to_datetime(out["cohort_day"]) - pd.Timestamp("1970-01-01")).dt.days
    return out[["cohort", "n", "users"]]


def naive_rfm(case: Case, prep=None):
    df = pd.read_parquet(case.parquet, columns=["user_id", "event", "ts", "amount"])
    orders = df[df["event"] == "buy"].copy()
    orders["order_id"] = np.arange(len(orders))  # each buy is one order
    g = orders.groupby("user_id")
    out = g.agg(
        first_ts=("ts", "min"),
        last_ts=("ts", "max"),
        frequency=("order_id", "nunique"),
        monetary=("amount", "sum"),
        purchase_days=("ts", lambda s: s.dt.date.nunique()),
    ).reset_index()
    as_of = out["last_ts"].max().normalize() + pd.Timedelta(days=1)
    out["recency_days"] = (as_of - out["last_ts"].dt.normalize()).dt.days
    out["tenure_days"] = (as_of - out["first_ts"].dt.normalize()).dt.days
    out["aov"] = out["monetary"] / out["frequency"]
    return out


def naive_features(case: Case, prep=None):
    df = pd.read_parquet(case.parquet, columns=["user_id", "event", "ts", "amount", "category"])
    df = df[(df["ts"] >= START) & (df["ts"] < END)]

    def per_user(g):
        g = g.sort_values("ts")
        ts = g["ts"]
        gaps = ts.diff().dt.total_seconds()
        sessions = 1
        for gap in gaps.iloc[1:]:
            if gap > GAP_S:
                sessions += 1
        hours = ts.dt.hour
        counts = g["event"].value_counts()
        row = {"n_events": len(g)}
        for e in EVENT_TYPES:
            row[f"n_{e}"] = int(counts.get(e, 0))
        late = int((ts >= CUT).sum())
        early_rate = (len(g) - late) / DAYS_BEFORE
        row.update(
            active_days=ts.dt.date.nunique(),
            sessions=sessions,
            first_ts=ts.iloc[0],
            last_ts=ts.iloc[-1],
            spend=g.loc[g["event"] == "buy", "amount"].sum(),
            n_categories=g["category"].nunique(),
            trend=(late / 7) / early_rate if early_rate > 0 else np.nan,
            mean_gap_hours=gaps.mean() / 3600,
            evening_share=(hours >= 18).mean(),
            preferred_hour=hours.value_counts().sort_index().idxmax(),
        )
        return pd.Series(row)

    out = df.groupby("user_id").apply(per_user).reset_index()
    out["days_since_last_event"] = (END - pd.to_datetime(out["last_ts"])).dt.total_seconds() / 86400
    out["tenure_days"] = (END - pd.to_datetime(out["first_ts"])).dt.total_seconds() / 86400
    out["events_per_active_day"] = out["n_events"] / out["active_days"]
    out["has_buy"] = (out["n_buy"] > 0).astype(int)
    out["n_orders"] = out["n_buy"]
    return out


def _clean(df: pd.DataFrame, ts_utc: pd.Series) -> pd.DataFrame:
    """Canonical columns from the raw ones, with the kit's row checks (required present, in period, known)."""
    out = pd.DataFrame(
        {
            "user_id": df["user_id"],
            "event": df["behavior_type"],
            "ts": ts_utc.dt.tz_convert(TIMEZONE).dt.tz_localize(None),
            "item_id": df["item_id"],
            "category": df["category_id"],
        }
    )
    ok = (
        out["user_id"].notna()
        & out["event"].notna()
        & out["ts"].notna()
        & (out["ts"] >= START)
        & (out["ts"] < LAST_DAY + pd.Timedelta(days=1))
        & out["event"].isin(["pv", "fav", "cart", "buy"])
    )
    return out[ok]


def naive_ingest(case: Case, out):
    df = pd.read_csv(case.csv, dtype={"user_id": str, "item_id": str, "category_id": str, "behavior_type": str})
    df = df.drop_duplicates()
    _clean(df, pd.to_datetime(df["timestamp"], unit="s", utc=True)).to_parquet(out, index=False, compression="zstd")
    return out


def prepare_ingest(case: Case):
    case.work.mkdir(parents=True, exist_ok=True)
    return case.work / "events.parquet"


# ================================================================================= pandas_vec
def _read(case: Case, columns, *, filters=None, dictionary=("user_id", "event", "category")) -> pd.DataFrame:
    t = pq.read_table(
        case.parquet, columns=list(columns), filters=filters, read_dictionary=[c for c in dictionary if c in columns]
    )
    return t.to_pandas()


def _distinct(x: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort-based: numpy 2.4's hash-based ``np.unique`` is several times slower here)."""
    x = np.sort(x)
    return x[np.r_[True, x[1:] != x[:-1]]] if len(x) else x


def _codes(s: pd.Series) -> np.ndarray:
    return s.cat.codes.to_numpy().astype(np.int64)


def _seconds(s: pd.Series) -> np.ndarray:
    return s.to_numpy().astype("datetime64[s]").astype(np.int64)


def vec_funnel(case: Case, prep=None):
    """Keys ``user << 32 | seconds since the first event`` sorted per step; attempts found in rounds (all users
    at once: the first pv after each current window), steps by ``searchsorted``."""
    s1, s2, s3 = FUNNEL_STEPS
    df = _read(case, ["user_id", "event", "ts"], filters=[("event", "in", list(FUNNEL_STEPS))])
    u, sec = _codes(df["user_id"]), _seconds(df["ts"])
    key = (u << 32) | (sec - sec.min())
    ev = df["event"]
    k1, k2, k3 = (np.sort(key[(ev == s).to_numpy()]) for s in (s1, s2, s3))

    def first_at_or_after(keys, x, *, strict=False):
        """Index of the first key >= x (> x when strict) of the same user, -1 when none."""
        i = np.searchsorted(keys, x, side="right" if strict else "left")
        ok = i < len(keys)
        ok[ok] = (keys[i[ok]] >> 32) == (x[ok] >> 32)
        return np.where(ok, i, -1)

    user_start = np.r_[True, (k1[1:] >> 32) != (k1[:-1] >> 32)]
    cur = k1[user_start]
    attempts = [cur]
    while len(cur):
        i = first_at_or_after(k1, cur + WIN_S, strict=True)
        cur = k1[i[i >= 0]]
        attempts.append(cur)
    start = np.concatenate(attempts)
    deadline = start + WIN_S
    i2 = first_at_or_after(k2, start)
    t2 = np.where(i2 >= 0, k2[i2], -1)
    has2 = (i2 >= 0) & (t2 <= deadline)
    i3 = first_at_or_after(k3, np.where(has2, t2, start))
    has3 = has2 & (i3 >= 0) & (k3[i3] <= deadline)
    reached = 1 + has2.astype(np.int64) + has3
    user = start >> 32
    best = pd.Series(reached).groupby(user).max()
    cats = df["user_id"].cat.categories
    return pd.DataFrame({"user_id": cats[best.index.to_numpy()], "reached": best.to_numpy()})


def vec_retention(case: Case, prep=None):
    df = _read(case, ["user_id", "ts"])
    u = _codes(df["user_id"])
    day = df["ts"].to_numpy().astype("datetime64[D]").astype(np.int64)
    d0, span = day.min(), int(day.max() - day.min() + 1)
    ud = _distinct(u * span + (day - d0))  # distinct (user, day), sorted by user then day
    users, d = ud // span, ud % span
    first = np.r_[True, users[1:] != users[:-1]]
    cohort = np.maximum.accumulate(np.where(first, np.arange(len(ud)), 0))  # index of the user's first row
    c = d[cohort]
    cells = np.bincount(c * span + (d - c), minlength=span * span)
    nz = np.flatnonzero(cells)
    return pd.DataFrame({"cohort": nz // span + d0, "n": nz % span, "users": cells[nz]})


def vec_rfm(case: Case, prep=None):
    df = _read(case, ["user_id", "ts", "amount"], filters=[("event", "==", "buy")])
    u = _codes(df["user_id"])
    sec = _seconds(df["ts"])
    day = sec // 86400
    g = pd.DataFrame({"u": u, "sec": sec, "amount": df["amount"].to_numpy()}).groupby("u", sort=True)
    agg = g.agg(first=("sec", "min"), last=("sec", "max"), frequency=("sec", "size"), monetary=("amount", "sum"))
    ud = _distinct(u * (day.max() + 1) + day) // (day.max() + 1)
    agg["purchase_days"] = np.bincount(ud, minlength=u.max() + 1)[agg.index.to_numpy()]
    as_of = agg["last"].max() // 86400 + 1
    out = pd.DataFrame(
        {
            "user_id": df["user_id"].cat.categories[agg.index.to_numpy()],
            "recency_days": as_of - agg["last"].to_numpy() // 86400,
            "frequency": agg["frequency"].to_numpy(),
            "monetary": agg["monetary"].to_numpy(),
        }
    )
    out["aov"] = out["monetary"] / out["frequency"]
    out["tenure_days"] = as_of - agg["first"].to_numpy() // 86400
    out["purchase_days"] = agg["purchase_days"].to_numpy()
    out["first_ts"] = pd.to_datetime(agg["first"].to_numpy(), unit="s")
    out["last_ts"] = pd.to_datetime(agg["last"].to_numpy(), unit="s")
    return out


def vec_features(case: Case, prep=None):
    df = _read(case, ["user_id", "event", "ts", "amount", "category"], filters=[("ts", ">=", START), ("ts", "<", END)])
    u, sec = _codes(df["user_id"]), _seconds(df["ts"])
    nu = len(df["user_id"].cat.categories)
    ev = df["event"].cat
    order = np.argsort((u << 32) | (sec - sec.min()))  # by user, then time
    us, ss = u[order], sec[order]
    same = np.r_[False, us[1:] == us[:-1]]  # row continues the previous row's user
    gap = np.where(same, np.diff(ss, prepend=ss[0]), 0)
    n = np.bincount(u, minlength=nu)
    out = {"n_events": n}
    for e in EVENT_TYPES:
        code = ev.categories.get_loc(e) if e in ev.categories else -1
        out[f"n_{e}"] = np.bincount(u[ev.codes.to_numpy() == code], minlength=nu)
    ds = ss // 86400  # in (user, time) order: a new active day where the day or the user changes
    out["active_days"] = np.bincount(us, weights=~same | (ds != np.r_[-1, ds[:-1]]), minlength=nu).astype(np.int64)
    out["sessions"] = np.bincount(us, weights=(~same | (gap > GAP_S)), minlength=nu).astype(np.int64)
    first_row = np.flatnonzero(~same)
    last_row = np.r_[first_row[1:] - 1, len(us) - 1]
    first_s, last_s = np.zeros(nu, np.int64), np.zeros(nu, np.int64)
    first_s[us[first_row]], last_s[us[last_row]] = ss[first_row], ss[last_row]
    out["first_ts"] = pd.to_datetime(first_s, unit="s")
    out["last_ts"] = pd.to_datetime(last_s, unit="s")
    end_s = int(END.value // 10**9)
    out["days_since_last_event"] = (end_s - last_s) / 86400
    out["tenure_days"] = (end_s - first_s) / 86400
    out["events_per_active_day"] = n / np.maximum(out["active_days"], 1)
    out["has_buy"] = (out["n_buy"] > 0).astype(np.int64)
    out["n_orders"] = out["n_buy"]
    is_buy = (df["event"] == "buy").to_numpy()
    out["spend"] = np.bincount(u, weights=np.where(is_buy, df["amount"].fillna(0).to_numpy(), 0.0), minlength=nu)
    cat = df["category"].cat.codes.to_numpy().astype(np.int64)
    ncat = int(cat.max()) + 1
    out["n_categories"] = np.bincount(_distinct(u * ncat + cat) // ncat, minlength=nu)
    late = np.bincount(u[sec >= CUT.value // 10**9], minlength=nu)
    early_rate = (n - late) / DAYS_BEFORE
    with np.errstate(divide="ignore", invalid="ignore"):
        out["trend"] = np.where(early_rate > 0, (late / 7) / early_rate, np.nan)
        out["mean_gap_hours"] = np.where(n > 1, np.bincount(us, weights=gap, minlength=nu) / (n - 1) / 3600, np.nan)
    hour = (sec % 86400) // 3600
    out["evening_share"] = np.bincount(u, weights=hour >= 18, minlength=nu) / np.maximum(n, 1)
    out["preferred_hour"] = np.bincount(u * 24 + hour, minlength=nu * 24).reshape(nu, 24).argmax(axis=1)
    res = pd.DataFrame(out)
    res.insert(0, "user_id", df["user_id"].cat.categories)
    return res[n > 0].reset_index(drop=True)


def vec_ingest(case: Case, out):
    df = pd.read_csv(
        case.csv,
        engine="pyarrow",
        dtype_backend="pyarrow",
        dtype={
            "user_id": "string[pyarrow]",
            "item_id": "string[pyarrow]",
            "category_id": "string[pyarrow]",
            "behavior_type": "string[pyarrow]",
            "timestamp": "int64[pyarrow]",
        },
    )
    df = df.drop_duplicates()
    ts = pd.to_datetime(df["timestamp"].astype("int64"), unit="s", utc=True)
    _clean(df, ts).to_parquet(out, index=False, compression="zstd")
    return out


NAIVE = {
    "funnel": naive_funnel,
    "retention": naive_retention,
    "rfm": naive_rfm,
    "features": naive_features,
    "ingest": naive_ingest,
}
VEC = {"funnel": vec_funnel, "retention": vec_retention, "rfm": vec_rfm, "features": vec_features, "ingest": vec_ingest}
PREPARE = {"ingest": prepare_ingest}
