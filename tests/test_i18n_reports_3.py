"""Issue 18: the trends, experiment, impact, attribution and products reports speak one language.

Each report is computed on the demo campaign in English and in Chinese; its title, part titles, findings, headline
labels, glossary and chart texts must be in that one language: no Chinese characters in English (besides data
values such as Chinese channel names) and no English sentence (a run of three or more Latin words) in Chinese
(besides data values and code names such as ``trends.breakdown``)."""

from __future__ import annotations

import re

import matplotlib
import pandas as pd
import pytest

from helpers import i18n
from helpers.registry import get_report

matplotlib.use("Agg")

REPORTS = ("trends", "experiment", "impact", "attribution", "products")
CJK = re.compile(r"[\u3400-\u9fff]")
#: three or more Latin words in a row: an English sentence
LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z'-]*(?:[ ,]+[A-Za-z][A-Za-z'-]*){2,}")
#: code names a Chinese text may quote: param key paths, file paths, column names
CODE = re.compile(r"\S*[._/]\S*")


#: the module fixture's demo is made once: every test of the module on one worker
pytestmark = pytest.mark.xdist_group("i18n_reports_3")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    import helpers
    from helpers.ingest import ingest_campaign

    ctx = helpers.open_campaign("demo", reports_dir=str(tmp_path_factory.mktemp("i18n3")), theme=False)
    ingest_campaign(ctx.cfg, ctx.paths, progress=False, params_file=ctx.params_file)
    return ctx


@pytest.fixture(scope="module")
def reports(demo):
    """Every report of :data:`REPORTS` computed in each language: ``{(name, lang): report}``."""
    out = {}
    for lang in ("en", "zh"):
        with i18n.language(lang):
            out.update({(name, lang): get_report(name).compute(demo) for name in REPORTS})
    return out


def _data_values(rep) -> list[str]:
    """Every text value of the report's tables (channel names, item ids, labels from the params), longest first."""
    vals: set[str] = set()
    for df in rep.tables().values():
        for c in df.columns:
            if df[c].dtype == object or isinstance(df[c].dtype, pd.StringDtype):
                vals.update(str(v) for v in df[c].dropna().unique() if isinstance(v, str) and v.strip())
    return sorted(vals, key=len, reverse=True)


def _texts(rep) -> list[str]:
    out = [rep.title, rep.unavailable_label, *rep.findings(), *(h["label"] for h in rep.headline())]
    out += [i18n.t(f"{rep.name}.part.{p}") for p in rep.parts]
    out += [i18n.t(f"glossary.{g}") for g in rep.glossary]
    return out


def _without(text: str, values: list[str]) -> str:
    for v in values:
        text = text.replace(v, " ")
    return text


def _check(lang: str, texts: list[str], data: list[str]) -> None:
    for text in texts:
        bare = _without(text, data)
        if lang == "en":
            assert not CJK.search(bare), f"Chinese in an English text: {text!r}"
        else:
            run = LATIN_RUN.search(CODE.sub(" ", bare))
            assert run is None, f"English sentence {run.group(0)!r} in a Chinese text: {text!r}"


@pytest.mark.parametrize("name", REPORTS)
def test_report_texts_are_in_the_campaign_language(reports, name):
    cls = get_report(name)
    seen = {}
    for lang in ("en", "zh"):
        with i18n.language(lang):
            rep = reports[(name, lang)]
            texts = _texts(rep)
            _check(lang, texts, _data_values(rep))
            seen[lang] = texts
    assert len(seen["en"]) > 5 and seen["en"] != seen["zh"]
    assert all(glossary_key in i18n.catalogue() for glossary_key in (f"glossary.{g}" for g in cls.glossary))


def _figure_texts(fig) -> list[str]:
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text) if t.get_text().strip()]


def test_chart_texts_follow_the_language(reports):
    """Titles, axis labels and legends of each report's charts (trends, experiment, impact, attribution, products)."""
    import matplotlib.pyplot as plt

    from helpers.attribution import plot_credits
    from helpers.experiment import plot_sequential
    from helpers.impact import plot_did, plot_impact
    from helpers.products import plot_rules, plot_top_products
    from helpers.trends import plot_interval_boxes, plot_metric_trend

    for lang in ("en", "zh"):
        with i18n.language(lang):
            tr, ex, im, at, pr = (reports[(n, lang)] for n in REPORTS)
            shift = tr.window["current"][0] - tr.window["previous"][0]
            axes = [
                plot_metric_trend(tr.series, "orders", shift=shift, title=tr._name("orders")),
                plot_sequential(ex.sequential, *ex.sequential[["metric", "variant"]].iloc[0]),
                plot_impact(ex_series := im.series[im.series["metric"] == "orders"]).axes[0],
                plot_impact(ex_series, total="mean", kind="rate").axes[2],  # a rate's third panel: the running mean
                plot_credits(at.credits),
                plot_top_products(pr.items),
                plot_rules(pr.rules),
            ]
            if im.groups_daily is not None:
                axes.append(plot_did(im.groups_daily, "orders", start=im.start))
            if tr.intervals is not None and tr.intervals["p50"].notna().any():
                axes.append(plot_interval_boxes(tr.intervals))
            assert len(ex_series)
            data = [*_data_values(tr), *_data_values(ex), *_data_values(im), *_data_values(at), *_data_values(pr)]
            data = sorted(set(data), key=len, reverse=True)
            for ax in axes:
                _check(lang, _figure_texts(ax.get_figure()), data)
            plt.close("all")
            assert tr._name("orders") == {"en": "orders", "zh": "订单数"}[lang]
            # a rate's third panel: the running average, in percentage points
            assert axes[3].get_ylabel() == {"en": "average daily effect to date (percentage points)",
                                            "zh": "截至当日的日均效应（百分点）"}[lang]  # fmt: skip
            assert axes[3].yaxis.get_major_formatter()(0.05, 0) == "5"
            money = plot_impact(ex_series, kind="money", currency="£").axes
            assert [a.get_ylabel() for a in money] == [
                i18n.t("impact.chart.unit", label=i18n.t(k), unit="£")
                for k in ("impact.chart.value", "impact.chart.effect", "impact.chart.cumulative")
            ]
            assert money[0].get_ylabel() == {"en": "value (£)", "zh": "数值（£）"}[lang]
            plt.close("all")


def test_unavailable_reasons_follow_the_language(demo):
    import dataclasses

    for name in ("experiment", "impact", "attribution", "products"):
        ctx = dataclasses.replace(demo, cfg=demo.cfg.model_copy(update={name: None}))
        with i18n.language("en"):
            un = get_report(name).run(ctx)
            assert not un.available and not CJK.search(un.findings()[0]), un.findings()
        with i18n.language("zh"):
            un = get_report(name).run(ctx)
            assert not un.available and LATIN_RUN.search(CODE.sub(" ", un.findings()[0])) is None, un.findings()


def test_metric_display_names_follow_the_language_and_keep_declared_labels():
    from helpers.trend_metrics import metric_label, resolve_metrics

    with i18n.language("zh"):
        m = resolve_metrics(["dau", "pay_rate", {"name": "carts", "label": "Carts", "event": "cart"}],
                            order_events=("pay",), amount_col="amount")  # fmt: skip
    with i18n.language("en"):  # computed in Chinese, shown in English: built-ins follow, a declared label stays
        assert metric_label(m["dau"]) == "average DAU" and metric_label(m["pay_rate"]) == "paying share"
        assert metric_label(m["carts"]) == "Carts" and metric_label(m["active_users"]) == "active users"
    assert metric_label(m["pay_rate"]) == "付费率"
