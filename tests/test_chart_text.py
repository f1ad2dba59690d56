"""Every chart the reports draw keeps all its texts at least 8 px where the page shows it.

A chart image is shown at its natural CSS width (figure inches x 110) but never wider than the laptop content
column (1,000 px, helpers/charts.py); a text of s points on a figure w inches wide (tight bounding box, as the
notebook saves it) shown d px wide is s * d / (72 * w) px. The charts are the ones every report part displays on
the small demo campaign (400 users), captured at display time; plus hand-made cases of the rule itself."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from helpers.charts import CONTENT_WIDTH_PX, MIN_TEXT_PX, display_width, small_texts, text_px  # noqa: E402
from helpers.registry import REPORTS, all_reports  # noqa: E402

#: reports that draw charts on the demo (the issue's cases: ingest daily, retention lifecycle, radar, profile tags)
CHARTED = ("ingest", "funnel", "retention", "clustering", "user_profile", "trends")


def test_px_rule_by_hand():
    # 8 in figure at 110 CSS px per inch = 880 px (narrower than the column): 10 pt -> 10 * 880 / (72 * 8) px
    fig = plt.figure(figsize=(8, 4))
    assert display_width(fig) == 880
    assert text_px(10, 8, 880) == pytest.approx(15.2777, abs=1e-3)
    # a 25.2 in figure (six 4.2 in panels) is shrunk to the 1,000 px column: 8 pt -> 4.41 px (the old profile chart)
    assert display_width(plt.figure(figsize=(25.2, 4))) == CONTENT_WIDTH_PX
    assert text_px(8, 25.2, 1000) == pytest.approx(4.409, abs=1e-3)
    plt.close("all")


def test_small_texts_finds_tiny_labels_and_passes_readable_ones():
    fig, ax = plt.subplots(figsize=(25.2, 4))
    ax.set_title("big", fontsize=30)
    ax.set_xlabel("tiny", fontsize=6)
    ax.set_ylabel("also fine", fontsize=30)
    bad = dict(small_texts(fig))
    assert "tiny" in bad and bad["tiny"] < MIN_TEXT_PX and "big" not in bad and "also fine" not in bad
    fig2, ax2 = plt.subplots(figsize=(8, 4))
    ax2.plot([0, 1], [0, 1])
    ax2.set(title="t", xlabel="x", ylabel="y")
    assert small_texts(fig2) == []
    plt.close("all")


@pytest.mark.xdist_group("small_demo")  # tests/conftest.py's small_demo, made once on one worker
@pytest.mark.parametrize("name", list(REPORTS))
def test_every_demo_chart_text_is_at_least_8px(name, small_demo, monkeypatch):
    import IPython.display

    rep = small_demo[1][name]
    if isinstance(rep, Exception):
        pytest.skip(f"{name} did not compute on the demo: {rep!r} (tests/test_contract.py fails on it)")
    seen: list[tuple[str, list]] = []

    def capture(*objs, **kw):
        for obj in objs:
            if hasattr(obj, "savefig"):
                title = obj._suptitle.get_text() if obj._suptitle is not None else ""
                title = title or next((a.get_title() for a in obj.axes if a.get_title()), "?")
                seen.append((title, small_texts(obj)))

    monkeypatch.setattr(IPython.display, "display", capture)
    for part in all_reports()[name].parts:
        rep.show(part)
        plt.close("all")
    if name in CHARTED and getattr(rep, "available", False):
        assert seen, f"{name}: no chart was captured (the check would pass vacuously)"
    bad = [(title, texts) for title, texts in seen if texts]
    assert not bad, f"{name}: chart texts under {MIN_TEXT_PX} px at {CONTENT_WIDTH_PX} px: {bad}"
