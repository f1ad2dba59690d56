import os
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
