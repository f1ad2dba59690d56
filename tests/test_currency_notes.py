"""Amounts in two currencies reach every report that sums them: the demo's event log with one user's prices in
dollars and the rest in yuan. Ingest strips both signs, so trends' GMV, the experiment's revenue per user, the
impact's GMV, the attribution's credited value and the profile's spend add yuan to dollars; each report's findings
say so, with each currency's rows (counted here on the file). The same campaign in one currency says nothing."""

from __future__ import annotations

import pandas as pd
import yaml

from helpers import i18n
from tests.conftest import ROOT

#: the reports that sum the events' amounts, and what each sums
MONEY_REPORTS = ("trends", "experiment", "impact", "attribution", "user_profile", "rfm", "products")


def _campaign(tmp_path, name: str, sign, **params):
    """The demo campaign (150 users) with its raw events' prices written by ``sign(user, price)`` and ``params``
    set; ingested."""
    from helpers.campaign import open_campaign
    from helpers.demo import generate_demo
    from helpers.ingest import ingest_campaign
    from helpers.locations import campaign_paths
    from helpers.params import load_params

    raw = tmp_path / name / "raw"
    generate_demo(raw, seed=7, n_users=150)
    ev = pd.read_csv(raw / "events.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    priced = ev["price"] != ""
    ev.loc[priced, "price"] = [sign(u, p) for u, p in zip(ev.loc[priced, "uid"], ev.loc[priced, "price"])]
    ev.to_csv(raw / "events.csv", index=False, encoding="utf-8-sig")
    cfg = yaml.safe_load((ROOT / "params" / "demo.yaml").read_text(encoding="utf-8"))
    cfg.pop("demo")
    cfg["campaign"] = name
    cfg["impact"]["metrics"] = ["orders", "gmv"]
    cfg.update(params)
    text = yaml.safe_dump(cfg, allow_unicode=True).replace("{raw}", raw.as_posix())
    pfile = tmp_path / name / f"{name}.yaml"
    pfile.write_text(text, encoding="utf-8")
    (tmp_path / name / "_defaults.yaml").write_bytes((ROOT / "params" / "_defaults.yaml").read_bytes())
    reports = tmp_path / name / "reports"
    ingest_campaign(load_params(pfile), campaign_paths(name, reports).ensure(), progress=False)
    ctx = open_campaign(name, params_file=str(pfile), reports_dir=str(reports), theme=False)
    return ctx, ev.loc[priced]


def test_every_report_that_sums_amounts_says_they_mix_currencies(tmp_path):
    from helpers.registry import run_report

    first = None

    def sign(user, price):  # the first user's prices in dollars, everyone else's in yuan
        nonlocal first
        first = first or user
        return f"${price}" if user == first else f"¥{price}"

    mixed, priced = _campaign(tmp_path, "mixed", sign)
    # every price reads as a number: each row counts for its sign, on the raw file as ingest read it
    usd = int((priced["uid"] == first).sum())
    cny = len(priced) - usd
    assert mixed.ingest_manifest()["tables"]["events"]["currencies"] == [
        {"column": "amount", "source": "price", "currencies": [["CNY", cny], ["USD", usd]]}
    ]
    note = (
        f"注意：事件表的金额带有多种货币的符号（CNY {cny:,} 行、USD {usd:,} 行），"
        "本报告把它们当作同一种货币相加，金额、客单价等数字混合了不同货币；数据导入报告说明了如何处理。"
    )
    with i18n.language("zh"):
        for name in MONEY_REPORTS:
            rep = run_report(name, mixed, show=False)
            assert rep.available, (name, rep.findings())
            found = rep.findings()
            assert [f for f in found if "多种货币" in f] == [note], (name, found)
    # before any amount is read: right after the setting (the window, the conversions, the test's groups)
    with i18n.language("en"):
        rep = run_report("trends", mixed, show=False)
        at = [i for i, f in enumerate(rep.findings()) if "several currencies" in f]
        amounts = [i for i, f in enumerate(rep.findings()) if "¥" in f]
        assert at and amounts and at[0] < amounts[0], rep.findings()

    # one currency, the campaign's (¥, the default): nothing to say
    yuan, _ = _campaign(tmp_path, "yuan", lambda user, price: f"¥{price}")
    assert yuan.ingest_manifest()["tables"]["events"]["currencies"][0]["currencies"] == [["CNY", len(priced)]]
    for name in MONEY_REPORTS:
        found = run_report(name, yuan, show=False).findings()
        assert not [f for f in found if "货币" in f or "currenc" in f], (name, found)


def test_amounts_in_another_currency_than_the_pages_write_are_said(tmp_path):
    """Every price in dollars on a campaign whose pages write ¥ (the default ``currency``): each amount would read
    as yuan. The ingest page and every money report say so; with ``currency: US$`` nothing is said."""
    from helpers.registry import run_report

    dollars, priced = _campaign(tmp_path, "dollars", lambda user, price: f"${price}")
    with i18n.language("zh"):
        ingest = run_report("ingest", dollars, show=False).findings()
        assert [f for f in ingest if "另一种货币" in f] == [
            f"金额（文件的 price 列）带有另一种货币的符号（USD {len(priced):,} 行），而活动的货币是 ¥："
            "清洗时去掉了符号，所有页面都把这些金额写成 ¥。请在参数文件中把 currency 设为数据的货币，或在导入前换算。"
        ]
        note = (
            f"注意：事件表的金额带有另一种货币的符号（USD {len(priced):,} 行），而本报告把金额写成 ¥；请在参数文件中把 "
            "currency 设为数据的货币，或在导入前换算；数据导入报告有详细说明。"
        )
        for name in MONEY_REPORTS:
            found = run_report(name, dollars, show=False).findings()
            assert [f for f in found if "另一种货币" in f] == [note], (name, found)
    usd, _ = _campaign(tmp_path, "usd", lambda user, price: f"${price}", currency="US$")
    for name in ("ingest", *MONEY_REPORTS):
        found = run_report(name, usd, show=False).findings()
        assert not [f for f in found if "货币" in f or "currenc" in f], (name, found)
