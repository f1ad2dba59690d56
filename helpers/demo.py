"""Deterministic demo data: a Chinese e-commerce app's event log, reviews and users, with planted effects.

``generate_demo(out_dir, seed=42)`` writes raw files shaped like real exports (not canonical, to exercise
ingest and its column mapping):

- ``events.csv``: UTF-8 with BOM; columns ``uid, event_name, event_time, session, item, item_name, category,
  price, channel, platform, order_no, anonymous_id``; local wall-clock times (Asia/Shanghai); ``anonymous_id`` is
  only filled on ``login`` events (the device id the user logged in from);
- ``reviews.csv``: GB18030 (a Chinese Excel export), columns ``评论ID, 用户, 商品, 商品名称, 品类, 评分, 评论内容,
  评论时间``;
- ``users.jsonl``: ``user_id, channel, city, age, gender, signup_time``.

Planted effects (the generating numbers are in the manifest's ``planted``):

1. channel 信息流广告 (feed ads) pays for an order far less often (``ads_pay_given_order`` vs
   ``pay_given_order``), so its cart -> pay conversion is about half of the other channels';
2. users who signed up in the first full Monday-Sunday week (``cohort_days``, a 会员日 promotion) have a lower
   daily churn hazard
   (``cohort_hazard_factor``), so that weekly cohort retains clearly better;
3. a few bad items (``bad_items``) get mostly negative reviews, and their buyers churn soon after the
   purchase with probability ``bad_item_churn``; low-engagement users churn faster (``low_engagement_factor``);
4. weekends are busier (``weekend_factor``) and sessions peak in the evening (20-22 h);
5. anonymous browsing before signup (``anonymous``): a share of users first browse as a device id
   ``anon_xxxxx`` (launch, search, views) on their signup day; then a ``login`` event carries both ids, and
   half of them add the last viewed item to the cart right after it (cart/order/pay under the user id); a few
   devices are shared by two users (conflicts) and some devices never log in (they stay anonymous);
6. for the data-quality report: ``platform`` stops arriving (empty) on ``view`` events from day
   ``property_outage.from_day`` on, and an undeclared event ``share`` appears (``undeclared_event.rows``
   rows, not in the demo's events list: ingest quarantines them as ``unknown_event``).

Dirty rows (each dirty for exactly one reason; counts in ``manifest["dirty"]``, keyed by the ingest
reason names): duplicates of clean rows, empty ``uid``, unparseable times, times outside the period,
negative prices on views, and unknown event names (``test_event``/``debug``; the planted ``share`` rows are
counted apart, in ``planted["undeclared_event"]``).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .demo_plants import apply_plants

__all__ = ["generate_demo", "DEMO_EVENTS", "DEMO_CHANNELS", "BAD_ITEMS", "DIRTY", "UNDECLARED_EVENT"]

DEMO_EVENTS = ("launch", "search", "view", "fav", "cart", "order", "pay", "login")
#: the planted event that is not in the demo's events list (nor its tracking plan)
UNDECLARED_EVENT = "share"
DEMO_CHANNELS = ("应用商店", "信息流广告", "自然流量", "社交分享")
_CHANNEL_P = (0.30, 0.30, 0.25, 0.15)
_PLATFORMS = ("iOS", "Android", "小程序")
_PLATFORM_P = (0.35, 0.45, 0.20)
_CITIES = ("北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "西安", "南京", "重庆")
_CATEGORIES = {"服饰": (59, 399), "美妆": (39, 299), "数码": (199, 2999), "食品": (9, 129), "家居": (29, 599)}
BAD_ITEMS = ("I0003", "I0008", "I0014")
#: product names by category, in catalogue order: item k of a category (I0001 is the first 服饰 item, I0006 the
#: second...) is named by the k-th entry; the events file carries them in ``item_name`` (products pages name items)
_ITEM_NAMES = {
    "服饰": ("纯棉圆领T恤", "修身牛仔裤", "连帽卫衣", "羊毛针织衫", "轻薄羽绒服", "休闲衬衫", "运动短裤", "碎花连衣裙",
             "百褶半身裙", "防风夹克", "棉麻阔腿裤", "基础款打底衫"),
    "美妆": ("保湿面霜", "丝绒口红", "氨基酸洗面奶", "清爽防晒乳", "补水面膜", "粉底液", "四色眼影盘", "卸妆水",
             "修护精华液", "护手霜", "纤长睫毛膏", "定妆散粉"),
    "数码": ("无线蓝牙耳机", "20000毫安充电宝", "智能手环", "机械键盘", "静音无线鼠标", "平板保护壳", "快充数据线",
             "蓝牙音箱", "移动硬盘", "手机支架", "智能手表", "降噪耳机"),
    "食品": ("每日坚果", "挂耳咖啡", "全麦面包", "风干牛肉干", "绿茶礼盒", "即食燕麦片", "黑巧克力", "芒果干", "螺蛳粉",
             "纯牛奶", "百花蜂蜜", "海苔脆片"),
    "家居": ("桌面收纳盒", "香薰蜡烛", "乳胶枕", "纯棉四件套", "保温杯", "毛巾套装", "懒人沙发", "护眼台灯", "客厅地毯",
             "防滑衣架", "靠垫抱枕", "落地晾衣架"),
}  # fmt: skip
#: dirty rows planted in events.csv, by ingest reason
DIRTY = {
    "duplicate": 37,
    "missing_user_id": 12,
    "bad_timestamp": 9,
    "out_of_period": 15,
    "negative_amount": 6,
    "unknown_event": 8,
}
_HOUR_W = np.array(
    [1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 1.5, 2.5, 3, 3, 3.2, 3.8, 3.2, 2.8, 2.8, 3, 3.2, 4, 5, 6.5, 7, 6, 3.5],
    dtype=float,
)

_POS = [
    "质量很好",
    "物流很快",
    "性价比高",
    "包装精美",
    "非常满意",
    "会回购的",
    "客服态度好",
    "和描述一致",
    "颜色很正",
    "用着很舒服",
    "味道不错",
    "推荐购买",
]
_NEG = [
    "质量太差",
    "客服不理人",
    "包装破损",
    "发货太慢",
    "和图片不符",
    "用了两天就坏了",
    "有异味",
    "尺码不准",
    "退货很麻烦",
    "不会再买了",
    "做工粗糙",
    "价格虚高",
]
_MID = ["一般般", "还行吧", "凑合用", "中规中矩"]
_ODD = ["", "good product, fast delivery", "👍👍👍", "bad quality", "😡😡", "   "]


def _times(day0: dt.datetime, days: np.ndarray, seconds: np.ndarray) -> pd.Series:
    base = np.datetime64(day0, "s")
    return pd.Series(base + days.astype("timedelta64[D]") + seconds.astype("timedelta64[s]"))


def generate_demo(out_dir, *, seed: int = 42, n_users: int = 2000, start: str = "2024-03-01", days: int = 60) -> dict:
    """Write the demo raw files into ``out_dir`` and return a manifest.

    Parameters
    ----------
    out_dir : folder to write ``events.csv``, ``reviews.csv``, ``users.jsonl`` and ``manifest.json``.
    seed : random seed; the same arguments give byte-identical files.
    n_users : number of users.
    start : first day of the period (local date); the period is ``days`` days long.

    Returns
    -------
    dict with ``files`` (table -> path), ``rows`` (rows per file), ``dirty`` (planted dirty rows per
    ingest reason), ``planted`` (the effects and their generating numbers), ``period``.
    """
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    day0 = dt.datetime.fromisoformat(str(start))
    first_monday = (7 - day0.weekday()) % 7 or 7  # the second calendar week of the period (Mon-Sun)
    planted: dict[str, Any] = {
        "ads_channel": "信息流广告",
        "pay_given_order": 0.85,
        "ads_pay_given_order": 0.40,
        "cohort_days": [first_monday, first_monday + 6],
        "cohort_hazard_factor": 0.45,
        "base_daily_hazard": 0.05,
        "low_engagement_factor": 1.6,
        "bad_items": list(BAD_ITEMS),
        "bad_item_churn": 0.7,
        "bad_item_negative_p": 0.75,
        "other_negative_p": 0.12,
        "weekend_factor": 1.35,
        "evening_peak_hours": [20, 22],
        "anonymous": {"share_of_users": 0.35, "cart_after_login": 0.5, "shared_devices": 12},
        "property_outage": {"event": "view", "property": "platform", "from_day": (days * 2) // 3},
        "undeclared_event": {"event": UNDECLARED_EVENT, "rows": max(20, round(0.15 * n_users))},
    }
    planted["property_outage"]["from_date"] = (
        (day0 + dt.timedelta(days=planted["property_outage"]["from_day"])).date().isoformat()
    )

    # ---- users
    uid = np.array([f"U{i:05d}" for i in range(1, n_users + 1)])
    channel = rng.choice(len(DEMO_CHANNELS), size=n_users, p=_CHANNEL_P)
    platform = rng.choice(len(_PLATFORMS), size=n_users, p=_PLATFORM_P)
    signup_day = rng.integers(0, min(35, days - 7), size=n_users)
    engagement = rng.lognormal(mean=-0.6, sigma=0.6, size=n_users)  # sessions per active day
    hazard = np.full(n_users, planted["base_daily_hazard"])
    lo, hi = planted["cohort_days"]
    in_cohort = (signup_day >= lo) & (signup_day <= hi)
    hazard[in_cohort] *= planted["cohort_hazard_factor"]
    hazard[engagement < np.median(engagement)] *= planted["low_engagement_factor"]
    lifetime = rng.geometric(hazard)  # days until churn
    signup_sec = rng.integers(8 * 3600, 23 * 3600, size=n_users)
    users = pd.DataFrame(
        {
            "user_id": uid,
            "channel": np.array(DEMO_CHANNELS)[channel],
            "city": rng.choice(_CITIES, size=n_users),
            "age": np.clip(rng.normal(31, 8, size=n_users), 16, 65).round().astype(int),
            "gender": rng.choice(["男", "女"], size=n_users, p=[0.45, 0.55]),
            "signup_time": _times(day0, signup_day, signup_sec).dt.strftime("%Y-%m-%dT%H:%M:%S"),
        }
    )

    # ---- items
    cats = list(_CATEGORIES)
    n_items = 60
    item_ids = np.array([f"I{i:04d}" for i in range(1, n_items + 1)])
    item_cat = np.array([cats[i % len(cats)] for i in range(n_items)])
    item_name = dict(zip(item_ids, (_ITEM_NAMES[cats[i % len(cats)]][i // len(cats)] for i in range(n_items)),
                         strict=True))  # fmt: skip
    lo = np.array([_CATEGORIES[c][0] for c in item_cat])
    hi = np.array([_CATEGORIES[c][1] for c in item_cat])
    item_price = np.round(lo + (hi - lo) * rng.beta(2, 4, size=n_items), 0) - 0.1
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.8
    pop = pop / pop.sum()
    bad = np.isin(item_ids, BAD_ITEMS)

    # ---- sessions and events, user by user (a user's purchases can end their life)
    rows = []  # (user idx, day, sec, event, item idx, price, order_no, session)
    order_seq = 0
    sess_seq = 0
    reviews = []
    for u in range(n_users):
        end_day = min(days, signup_day[u] + lifetime[u])
        d = signup_day[u]
        pay_p = planted["ads_pay_given_order"] if channel[u] == 1 else planted["pay_given_order"]
        while d < end_day:
            weekday = (day0 + dt.timedelta(days=int(d))).weekday()
            lam = engagement[u] * (planted["weekend_factor"] if weekday >= 5 else 1.0)
            for _ in range(rng.poisson(lam) + (1 if d == signup_day[u] else 0)):
                sess_seq += 1
                sess = f"S{sess_seq:07d}"
                t = int(rng.choice(24, p=_HOUR_W / _HOUR_W.sum())) * 3600 + int(rng.integers(0, 3600))
                if d == signup_day[u]:
                    t = max(t, int(signup_sec[u]))
                rows.append((u, d, t, "launch", -1, np.nan, "", sess))
                if rng.random() < 0.5:
                    t += int(rng.integers(5, 60))
                    rows.append((u, d, t, "search", -1, np.nan, "", sess))
                carted = []
                for it in rng.choice(n_items, size=1 + rng.poisson(2.5), p=pop):
                    t += int(rng.integers(10, 180))
                    rows.append((u, d, t, "view", it, item_price[it], "", sess))
                    if rng.random() < 0.08:
                        t += int(rng.integers(5, 30))
                        rows.append((u, d, t, "fav", it, item_price[it], "", sess))
                    if rng.random() < 0.18:
                        t += int(rng.integers(5, 60))
                        rows.append((u, d, t, "cart", it, item_price[it], "", sess))
                        carted.append(it)
                if carted and rng.random() < 0.55:
                    order_seq += 1
                    ono = f"O{order_seq:06d}"
                    amount = float(np.round(item_price[carted].sum(), 2))
                    t += int(rng.integers(20, 240))
                    rows.append((u, d, t, "order", carted[0], amount, ono, sess))
                    if rng.random() < pay_p:
                        t += int(rng.integers(30, 600))
                        rows.append((u, d, t, "pay", carted[0], amount, ono, sess))
                        for it in dict.fromkeys(carted):
                            if rng.random() < 0.4:
                                neg_p = planted["bad_item_negative_p"] if bad[it] else planted["other_negative_p"]
                                reviews.append((u, it, d + int(rng.integers(1, 6)), neg_p))
                        if bad[carted].any() and rng.random() < planted["bad_item_churn"]:
                            end_day = min(end_day, d + 1 + int(rng.integers(0, 3)))
            d += 1

    anon_rows, devices = _anonymous_rows(
        np.random.default_rng([seed, 1]),  # its own stream: the logged-in events above stay as they were
        planted,
        n_users=n_users,
        signup_day=signup_day,
        signup_sec=signup_sec,
        channel=channel,
        pop=pop,
        item_price=item_price,
        n_items=n_items,
        days=days,
        order_seq=order_seq,
        sess_seq=sess_seq,
    )
    rows += anon_rows
    ev = pd.DataFrame(rows, columns=["u", "day", "sec", "event_name", "it", "price", "order_no", "session"])
    ev = ev[ev.sec < 86400].reset_index(drop=True)
    who = ev.u.to_numpy()  # >= 0: a user; < 0: device -1 - who, anonymous (its channel and platform in ``devices``)
    dev = np.where(who < 0, -1 - who, 0)
    ts = _times(day0, ev.day.to_numpy(), ev.sec.to_numpy())
    events = pd.DataFrame(
        {
            "uid": np.where(who >= 0, uid[np.clip(who, 0, None)], devices["id"][dev]),
            "event_name": ev.event_name,
            "event_time": ts.dt.strftime("%Y-%m-%d %H:%M:%S"),
            "session": ev.session,
            "item": np.where(ev.it >= 0, item_ids[ev.it.clip(lower=0)], ""),
            "category": np.where(ev.it >= 0, item_cat[ev.it.clip(lower=0)], ""),
            "price": ev.price.map(lambda x: "" if pd.isna(x) else f"{x:.2f}"),
            "channel": np.array(DEMO_CHANNELS)[
                np.where(who >= 0, channel[np.clip(who, 0, None)], devices["channel"][dev])
            ],
            "platform": np.array(_PLATFORMS)[
                np.where(who >= 0, platform[np.clip(who, 0, None)], devices["platform"][dev])
            ],
            "order_no": ev.order_no,
            "anonymous_id": "",
        }
    )
    # login events: ``uid`` is the user, ``anonymous_id`` the device it logged in from (order_no holds its index)
    login = (ev.event_name == "login").to_numpy()
    events.loc[login, "anonymous_id"] = devices["id"][ev.order_no[login].astype(int).to_numpy()]
    events.loc[login, "order_no"] = ""
    outage = planted["property_outage"]
    events.loc[
        (ev.event_name == outage["event"]).to_numpy() & (ev.day >= outage["from_day"]).to_numpy(), "platform"
    ] = ""
    events, users = apply_plants(events, users, seed=seed, day0=day0, days=days, planted=planted)
    events = events.drop_duplicates(ignore_index=True)
    clean_rows = len(events)

    # ---- dirty rows: each from a distinct clean row, dirty for exactly one reason
    pick = rng.choice(clean_rows, size=sum(DIRTY.values()), replace=False)
    parts, k = [], 0
    end_date = day0 + dt.timedelta(days=days)
    for reason, n in DIRTY.items():
        d = events.iloc[pick[k : k + n]].copy()
        k += n
        if reason == "missing_user_id":
            d["uid"] = ""
        elif reason == "bad_timestamp":
            d["event_time"] = [("not a time", "2024-13-45 99:00:00", "昨天晚上")[i % 3] for i in range(n)]
        elif reason == "out_of_period":
            shift = [(-(10 + i), "before") if i % 2 == 0 else (days + 5 + i, "after") for i in range(n)]
            d["event_time"] = [(day0 + dt.timedelta(days=s, hours=12)).strftime("%Y-%m-%d %H:%M:%S") for s, _ in shift]
        elif reason == "negative_amount":
            d["event_name"] = "view"
            d["price"] = [f"-{10 + i}.00" for i in range(n)]
            d["item"] = d["item"].where(d["item"] != "", item_ids[0])
            d["category"] = d["category"].where(d["category"] != "", item_cat[0])
        elif reason == "unknown_event":
            d["event_name"] = [("test_event", "debug")[i % 2] for i in range(n)]
        parts.append(d)
    dirty = pd.concat(parts, ignore_index=True)
    share = _share_rows(rng, events, planted["undeclared_event"]["rows"], end=day0 + dt.timedelta(days=days))
    allrows = pd.concat([events, dirty, share], ignore_index=True)
    order = rng.permutation(len(allrows))
    # keep the file roughly time-ordered: sort by time text, dirty rows land where their (bad) time sorts
    allrows = allrows.iloc[order].sort_values("event_time", kind="stable").reset_index(drop=True)
    # every row with an item names it (also the planted and dirty rows, which copy or pick items)
    allrows.insert(allrows.columns.get_loc("item") + 1, "item_name", allrows["item"].map(item_name).fillna(""))

    # ---- reviews
    rv = []
    for j, (u, it, d, neg_p) in enumerate(reviews):
        d = min(d, days - 1)
        r = rng.random()
        if r < neg_p:
            text, rating = "，".join(rng.choice(_NEG, size=2, replace=False)), int(rng.integers(1, 3))
        elif r < neg_p + 0.06:
            text, rating = rng.choice(_MID) + "，" + rng.choice(_POS), 3
        else:
            text, rating = "，".join(rng.choice(_POS, size=2, replace=False)) + "！", int(rng.integers(4, 6))
        if rng.random() < 0.02:
            text = str(rng.choice(_ODD))
        when = day0 + dt.timedelta(days=int(d), seconds=int(rng.integers(9 * 3600, 23 * 3600)))
        rv.append((f"R{j + 1:06d}", uid[u], item_ids[it], item_name[item_ids[it]], item_cat[it], rating, text,
                   when.strftime("%Y/%m/%d %H:%M")))  # fmt: skip
    reviews_df = pd.DataFrame(
        rv, columns=["评论ID", "用户", "商品", "商品名称", "品类", "评分", "评论内容", "评论时间"]
    )

    files = {"events": out / "events.csv", "reviews": out / "reviews.csv", "users": out / "users.jsonl"}
    allrows.to_csv(files["events"], index=False, encoding="utf-8-sig", lineterminator="\n")
    reviews_df.to_csv(files["reviews"], index=False, encoding="gb18030", lineterminator="\n")
    with open(files["users"], "w", encoding="utf-8", newline="\n") as fh:
        for rec in users.to_dict(orient="records"):
            fh.write(
                json.dumps(
                    {k: (int(v) if isinstance(v, np.integer) else v) for k, v in rec.items()}, ensure_ascii=False
                )
                + "\n"
            )
    manifest = {
        "files": {k: str(v) for k, v in files.items()},
        "rows": {
            "events": len(allrows),
            "events_clean": clean_rows,
            "share": len(share),
            "reviews": len(reviews_df),
            "users": n_users,
        },
        "dirty": dict(DIRTY),
        "planted": planted,
        "period": {"start": day0.date().isoformat(), "end": (end_date - dt.timedelta(days=1)).date().isoformat()},
        "seed": seed,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return manifest


def _anonymous_rows(
    rng,
    planted: dict,
    *,
    n_users: int,
    signup_day: np.ndarray,
    signup_sec: np.ndarray,
    channel: np.ndarray,
    pop: np.ndarray,
    item_price: np.ndarray,
    n_items: int,
    days: int,
    order_seq: int,
    sess_seq: int,
) -> tuple[list, dict]:
    """Anonymous browsing before signup, login events, shared devices and never-logged-in devices.

    Rows as in the main loop, with ``u = -1 - device`` for a device's own rows; a login row has the user as
    ``u`` and the device index in its ``order_no`` slot. Returns the rows and ``{"id", "channel", "platform"}``
    arrays per device."""
    a = planted["anonymous"]
    pay_p = np.where(channel == 1, planted["ads_pay_given_order"], planted["pay_given_order"])
    browsers = np.flatnonzero(rng.random(n_users) < a["share_of_users"])
    device_of = {int(u): k for k, u in enumerate(browsers)}
    # shared devices: a later signup uses the device of an earlier one (two users on one device)
    order = browsers[np.argsort(signup_day[browsers], kind="stable")]
    half = len(order) // 2
    for first, second in zip(order[: a["shared_devices"]], order[half : half + a["shared_devices"]]):
        if signup_day[second] > signup_day[first]:
            device_of[int(second)] = device_of[int(first)]
    n_dev = len(browsers)
    n_never = n_users // 10  # devices that never log in
    ids = np.array([f"anon_{k:05d}" for k in range(1, n_dev + n_never + 1)])
    dev_channel = np.concatenate([channel[browsers], rng.choice(len(DEMO_CHANNELS), size=n_never, p=_CHANNEL_P)])
    dev_platform = rng.choice(len(_PLATFORMS), size=n_dev + n_never, p=_PLATFORM_P)
    rows: list = []

    def browse(who: int, d: int, t: int, sess: str) -> tuple[int, int]:
        rows.append((who, d, t, "launch", -1, np.nan, "", sess))
        if rng.random() < 0.5:
            t += int(rng.integers(5, 60))
            rows.append((who, d, t, "search", -1, np.nan, "", sess))
        it = -1
        for it in rng.choice(n_items, size=1 + rng.poisson(1.5), p=pop):
            t += int(rng.integers(10, 120))
            rows.append((who, d, t, "view", int(it), item_price[it], "", sess))
        return t, int(it)

    for u in browsers:
        k = device_of[int(u)]
        sess_seq += 1
        sess = f"S{sess_seq:07d}"
        d = int(signup_day[u])
        t_end, it = browse(-1 - k, d, int(signup_sec[u]) - int(rng.integers(900, 3600)), sess)
        t = max(t_end + int(rng.integers(5, 60)), int(signup_sec[u]))
        rows.append((int(u), d, t, "login", -1, np.nan, str(k), sess))
        if rng.random() < a["cart_after_login"]:  # "add to cart" asked for a login
            t += int(rng.integers(5, 30))
            rows.append((int(u), d, t, "cart", it, item_price[it], "", sess))
            if rng.random() < 0.55:
                order_seq += 1
                ono = f"O{order_seq:06d}"
                t += int(rng.integers(20, 240))
                rows.append((int(u), d, t, "order", it, item_price[it], ono, sess))
                if rng.random() < pay_p[u]:
                    t += int(rng.integers(30, 600))
                    rows.append((int(u), d, t, "pay", it, item_price[it], ono, sess))
    for j in range(n_never):
        for _ in range(1 + int(rng.random() < 0.3)):
            sess_seq += 1
            hour = int(rng.choice(24, p=_HOUR_W / _HOUR_W.sum()))
            browse(
                -1 - (n_dev + j),
                int(rng.integers(0, days)),
                hour * 3600 + int(rng.integers(0, 3000)),
                f"S{sess_seq:07d}",
            )
    return rows, {"id": ids, "channel": dev_channel, "platform": dev_platform}


def _share_rows(rng, events: pd.DataFrame, n: int, *, end: dt.datetime) -> pd.DataFrame:
    """``n`` rows of the undeclared event ``share``: a logged-in user shares an item a few seconds after a view."""
    views = events.index[(events.event_name == "view").to_numpy() & ~events.uid.str.startswith("anon_").to_numpy()]
    d = events.loc[rng.choice(views, size=min(n, len(views)), replace=False)].copy()
    ts = pd.to_datetime(d.event_time) + pd.to_timedelta(rng.integers(3, 60, size=len(d)), unit="s")
    ts = ts.where(ts < pd.Timestamp(end), pd.Timestamp(end) - pd.Timedelta(seconds=1))
    d["event_name"] = UNDECLARED_EVENT
    d["event_time"] = ts.dt.strftime("%Y-%m-%d %H:%M:%S")
    d["price"] = ""
    return d.reset_index(drop=True)
