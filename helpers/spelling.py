"""The closest name to a misspelt one, for the "did you mean" hints of errors and pages: one lookup (difflib's
ratio, the best match at or above a cutoff) that every check calls, so that hints agree on what is close.

:func:`closest` gives the name; :func:`did_you_mean` the hint as errors write it (`` (did you mean 'x'?)``). A page
in the report's language uses :func:`helpers.checks.page_did_you_mean`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

__all__ = ["CUTOFF", "LOOSE_CUTOFF", "closest", "did_you_mean"]

#: the similarity (difflib's ratio, 0-1) a name needs to be offered: ``evnt_time`` for ``event_time`` (0.95),
#: ``spnd`` for ``spend`` (0.89); ``uid`` for ``user_id`` (0.6) just passes
CUTOFF = 0.6
#: a looser cutoff where the names are few and a wrong guess costs little, so that more typos find theirs: a
#: file's columns, the trends' built-in metrics (``ordrs`` for ``orders``)
LOOSE_CUTOFF = 0.5


def closest(word: Any, options: Iterable[Any], *, cutoff: float = CUTOFF) -> str | None:
    """The option closest to ``word`` (as text) with a similarity of at least ``cutoff``, or None."""
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(word: Any, options: Iterable[Any], *, cutoff: float = CUTOFF) -> str:
    """`` (did you mean 'x'?)`` for :func:`closest`, or ``''``: the hint an error message appends."""
    close = closest(word, options, cutoff=cutoff)
    return f" (did you mean {close!r}?)" if close else ""
