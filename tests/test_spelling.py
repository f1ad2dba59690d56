"""One "did you mean" lookup (helpers/spelling.py): every hint of an error or a page comes from it, so that the
checks agree on what is close. By hand: difflib's ratio of ``evnt_time`` and ``event_time`` is 2 * 9 / 19."""

from pathlib import Path

from helpers.spelling import CUTOFF, LOOSE_CUTOFF, closest, did_you_mean


def test_closest_and_the_hint():
    assert closest("evnt_time", ["uid", "event_time", "event"]) == "event_time"  # ratio 18/19
    assert did_you_mean("evnt_time", ["uid", "event_time"]) == " (did you mean 'event_time'?)"
    assert closest("uid", ["user_id"]) == "user_id"  # ratio 2 * 3 / 10 = 0.6: at the cutoff
    assert closest("xyz", ["user_id"]) is None and did_you_mean("xyz", ["user_id"]) == ""
    assert closest(12, [11, 12]) == "12"  # options as text
    assert closest("chnl", ["channel"]) == "channel"  # 2 * 4 / 11 = 0.73
    assert closest("ab", ["abcd"]) == "abcd" and closest("ab", ["abcde"]) is None  # 8/12 = 0.67; 4/7 = 0.57
    assert closest("ab", ["abcde"], cutoff=LOOSE_CUTOFF) == "abcde"
    assert (CUTOFF, LOOSE_CUTOFF) == (0.6, 0.5)


def test_every_hint_comes_from_the_one_lookup():
    """A file's column (loose cutoff), a tag condition's column and a missing table column give the same names."""
    from helpers.errors import MissingColumnError
    from helpers.tag_grammar import _did_you_mean
    from helpers.values import _closest

    assert _closest("ab", ["abcde"]) == " (did you mean 'abcde'?)"  # a file's column: loose
    assert _did_you_mean("ab", ["abcd"]) == "; did you mean 'abcd'?" and _did_you_mean("ab", ["abcde"]) == ""
    assert "no column 'ab' (did you mean 'abcd'?)" in str(MissingColumnError("t", "ab", ["abcd"]))


def test_no_other_module_calls_difflib():
    root = Path(__file__).resolve().parents[1] / "helpers"
    users = sorted(p.name for p in root.glob("*.py") if "difflib" in p.read_text(encoding="utf-8"))
    assert users == ["spelling.py"], users
