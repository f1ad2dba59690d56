import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("UBAKIT_SHARED", ROOT.parent / "shared")) / "data"
TAOBAO = SHARED / "taobao_userbehavior_head" / "UserBehavior_head_814users.csv"
RETAIL = SHARED / "uci_online_retail_II_2009_2010" / "online_retail_II_2009-2010.csv.gz"
TIANCHI = SHARED / "tianchi_mobile_recommend_sample" / "sample_user_behavior.csv"
REES46 = SHARED / "rees46_ecommerce_head" / "2019-Oct_head9999.csv"


@pytest.fixture(autouse=True)
def _page_language_restored():
    """Each test leaves the page language as it found it: opening a campaign sets its language for the rest of the
    process (helpers.campaign.open_campaign), and a later test that words text would read it."""
    from helpers import i18n

    before = i18n.current_language()
    yield
    i18n.set_language(before)


def need(path: Path):
    """Mark a test as using a ../shared/data sample (``-m shared``); skip cleanly when it is absent."""
    skip = pytest.mark.skipif(not path.exists(), reason=f"real data sample not available: {path}")

    def mark(test):
        return pytest.mark.shared(skip(test))

    return mark


@pytest.fixture
def write_params(tmp_path):
    """Write a campaign YAML into a temporary params folder and return its path."""
    pdir = tmp_path / "params"
    pdir.mkdir(exist_ok=True)

    def _write(text: str, name: str | None = None) -> Path:
        import re

        stem = name or re.search(r"campaign: *(\S+)", text).group(1)
        p = pdir / f"{stem}.yaml"
        p.write_text(text, encoding="utf-8")
        return p

    return _write


@pytest.fixture
def spark_ibis():
    """An Ibis connection to the local-mode SparkSession (``getOrCreate`` at every test, so a test that
    stopped the session does not break the next one; tests must not call ``.stop()`` on it). Skips when
    PySpark or Java is missing. Session time zone UTC, so naive pandas timestamps round-trip unchanged."""
    from .test_spark import _why_no_spark

    why = _why_no_spark()
    if why:
        pytest.skip(why)
    import ibis
    from pyspark.sql import SparkSession

    session = SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false").getOrCreate()
    session.conf.set("spark.sql.session.timeZone", "UTC")
    session.conf.set("spark.sql.shuffle.partitions", "2")
    return ibis.pyspark.connect(session)


# ------------------------------------------------------------------------------------------ demo runs
# One Chinese and one English run of the demo campaign, shared by tests/test_browser.py and
# tests/test_page_language.py. A session fixture is made once per xdist worker: every test that reads these runs
# is in xdist group "browser", so one worker makes each run once (the two modules made four runs in all before).
# ``UBAKIT_BROWSER_REPORTS=<dir>`` reuses the reports of an earlier run (``<dir>/demo/``, ``<dir>/en/demo/``).
def _run_demo(reports: Path, params: Path) -> None:
    cmd = [sys.executable, "-m", "helpers", "run", str(params), "--reports-dir", str(reports), "--no-progress"]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    # 0: all ok, 3: some report unavailable (the index says why); each missing page fails its own tests
    assert res.returncode in (0, 1, 3), f"demo run failed ({res.returncode}):\n{res.stdout}\n{res.stderr}"


def english_copy(text: str) -> str:
    """A campaign's params text with ``language: en`` (its own ``language:`` line dropped): the demo and Online
    Retail give their texts per language (docs/params.md, "Texts per language"), so nothing else changes."""
    return re.sub(r"(?m)^language:.*\n", "", text) + "\nlanguage: en\n"


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory) -> Path:
    """reports/demo of a Chinese demo run (``python -m helpers run params/demo.yaml``)."""
    given = os.environ.get("UBAKIT_BROWSER_REPORTS")
    if given:
        return Path(given) / "demo"
    reports = tmp_path_factory.mktemp("demo_zh")
    _run_demo(reports, ROOT / "params" / "demo.yaml")
    return reports / "demo"


@pytest.fixture(scope="session")
def en_root(tmp_path_factory) -> Path:
    """reports/demo of the same demo campaign with ``language: en`` (and an English title)."""
    given = os.environ.get("UBAKIT_BROWSER_REPORTS")
    if given:
        return Path(given) / "en" / "demo"
    tmp = tmp_path_factory.mktemp("demo_en")
    pdir = tmp / "params"
    pdir.mkdir()
    (pdir / "demo.yaml").write_text(english_copy((ROOT / "params" / "demo.yaml").read_text("utf-8")), "utf-8")
    shutil.copy(ROOT / "params" / "_defaults.yaml", pdir / "_defaults.yaml")
    _run_demo(tmp / "reports", pdir / "demo.yaml")
    return tmp / "reports" / "demo"


# ------------------------------------------------------------------------------------------ the small demo
@pytest.fixture(scope="session")
def small_demo(tmp_path_factory):
    """The demo campaign with 400 users, every report run in registry order through the contract (run id
    ``run-contract``) and saved: ``(ctxs, reps)`` by report name; a report that failed to compute is its
    exception in ``reps`` (tests/test_contract.py fails on it, tests/test_chart_text.py skips it). Shared by those
    two modules: their tests that read it are in xdist group "small_demo", so one worker makes it once (each
    module made its own on each worker before: four builds of about 20 s)."""
    import yaml

    import helpers
    from helpers.registry import REPORTS, run_order, run_report, save_report

    tmp = tmp_path_factory.mktemp("small_demo")
    cfg = yaml.safe_load((ROOT / "params" / "demo.yaml").read_text(encoding="utf-8"))
    cfg["campaign"] = "demo-small"
    cfg["demo"]["n_users"] = 400
    pfile = tmp / "params" / "demo-small.yaml"
    pfile.parent.mkdir()
    pfile.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    ctxs: dict = {}
    reps: dict = {}
    for name in run_order(list(REPORTS)):
        ctx = helpers.open_campaign("demo-small", params_file=str(pfile), reports_dir=str(tmp / "reports"))
        ctx.run_id = "run-contract"
        try:
            reps[name] = run_report(name, ctx, show=False)
            save_report(ctx, reps[name])
        except Exception as e:  # noqa: BLE001 - one broken report must not hide the others
            reps[name] = e
        ctxs[name] = ctx
    return ctxs, reps
