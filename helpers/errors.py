"""The kit's exceptions: one base class, and specific errors that name the table, column, part or
parameter at fault, what was expected and how to fix it.

Every error the kit raises on purpose derives from :class:`UbakitError`, so a caller can catch them all
(``except helpers.UbakitError``). Each specific error also derives from the built-in exception a caller
would expect (``KeyError``, ``ValueError``, ...), so existing ``except ValueError`` code keeps working.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .spelling import did_you_mean

__all__ = [
    "UbakitError",
    "ParamsError",
    "MissingColumnError",
    "MissingTableError",
    "UnknownPartError",
    "UnknownReportError",
    "StaleResultsError",
    "DependencyCycleError",
    "ZonedTimesError",
    "error_line",
]


class UbakitError(Exception):
    """Base of every error the kit raises on purpose."""


def _choices(values: Iterable[str]) -> str:
    vals = [str(v) for v in values]
    return ", ".join(vals) if vals else "(none)"


class ParamsError(UbakitError, ValueError):
    """Invalid campaign parameters; ``problems`` holds ``(key_path, message)`` pairs, all reported at once."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        n = len(problems)
        lines = [f"{source}: {n} problem{'s' if n != 1 else ''} in the campaign parameters"]
        lines += [f"  - {loc or '<top level>'}: {msg}" for loc, msg in problems]
        super().__init__("\n".join(lines))


class MissingColumnError(UbakitError, KeyError):
    """A table lacks a column an analysis needs."""

    def __init__(self, table: str, column: str, available: Iterable[str] = (), *, hint: str = ""):
        self.table, self.column, self.available = table, column, list(available)
        guess = did_you_mean(column, self.available)  # clustering.features: [n_ordrs] -> n_orders
        msg = f"the {table} table has no column {column!r}{guess}; its columns are: {_choices(self.available)}"
        self.message = msg + (f". {hint}" if hint else "")
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class MissingTableError(UbakitError, FileNotFoundError):
    """A clean table or another report's results table is not there (yet)."""

    def __init__(self, table: str, message: str):
        self.table = table
        super().__init__(message)


class UnknownPartError(UbakitError, ValueError):
    """``show(part)`` was called with a part the report does not have."""

    def __init__(self, report: str, part: str, parts: Iterable[str]):
        self.report, self.part, self.parts = report, part, list(parts)
        super().__init__(f"the {report} report has no part {part!r}; its parts are: {_choices(self.parts)}")


class UnknownReportError(UbakitError, KeyError):
    """A report name that is not in the registry."""

    def __init__(self, name: str, known: Iterable[str]):
        self.name, self.known = name, list(known)
        self.message = f"no report named {name!r}; the reports are: {_choices(self.known)}"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class StaleResultsError(UbakitError, RuntimeError):
    """Another report's tables come from another run or from other inputs than the current ones."""

    def __init__(self, report: str, table: str, why: str):
        self.report, self.table, self.why = report, table, why
        super().__init__(f"the {report} report's {table!r} table cannot be used: {why}")


class DependencyCycleError(UbakitError, ValueError):
    """The reports' declared ``reads`` form a cycle."""


class IngestError(UbakitError, ValueError):
    """A problem with an input file or its mapping; the message names the file, column or parameter."""


class ZonedTimesError(UbakitError, ValueError):
    """A frame given to an analysis holds times with a time zone; the kit computes on campaign-local times without
    one (docs/architecture.md, "Time zone"), which ingest writes and a hand-made frame must hold too."""

    def __init__(self, column: str, zone: str):
        self.column, self.zone = column, zone
        super().__init__(
            f"column {column!r} holds times with a time zone ({zone}); the kit computes on local times without "
            f"one, as ingest writes them. Convert it to the campaign's local time first: "
            f"helpers.engine.local_times(data, 'Asia/Shanghai') (the campaign's timezone) converts every zoned "
            f"column of a table or frame; for one pandas column, "
            f"df[{column!r}] = df[{column!r}].dt.tz_convert('Asia/Shanghai').dt.tz_localize(None)"
        )


_PROBLEMS_HEAD = re.compile(r"\d+ problems? in the campaign parameters$")


#: the kit's errors defined beside the code that raises them (not imported here: this module is the lowest layer);
#: tests/test_runner_robust.py checks that with this list every UbakitError subclass is known
KIT_ERRORS_ELSEWHERE = ("PrivacyError", "NoReportsError", "RunRefusedError")


def _kit_errors(cls: type = UbakitError) -> set[str]:
    out: set[str] = set(KIT_ERRORS_ELSEWHERE) if cls is UbakitError else set()
    sub: type
    for sub in cls.__subclasses__():
        out |= {sub.__name__, *_kit_errors(sub)}
    return out


def kit_error_message(line: str) -> str | None:
    """The text of a one-line failure (:func:`error_line`, ``"IngestError: tables.events: … · fix: …"``) when the
    exception is one of the kit's own errors (a :class:`UbakitError` subclass, :data:`KIT_ERRORS_ELSEWHERE`: written for
    the people who run the campaign, naming the key, file or column and the fix), without its class name; None
    for any other exception (a bug's ``KeyError: 'x'`` stays folded away for the analyst)."""
    name, sep, rest = line.partition(": ")
    return rest.strip() if sep and rest.strip() and name in _kit_errors() else None


def error_line(text: str) -> str:
    """A failure in one line, for the terminal and the index: the exception's first line (the kit's errors say what
    went wrong first, then details: "IngestError: tables.events: no row of … is left after cleaning (…)"), then its
    ``fix:`` line when it has one, or the first problem under a :class:`ParamsError`'s count. The
    last line, shown before, was often a detail ("the quarantined rows and their reasons: …")."""
    lines = [x.strip() for x in text.strip().splitlines() if x.strip()]
    if not lines:
        return "failed"
    fix = next((x for x in lines[1:] if x.startswith("fix:")), None)
    if fix is None and len(lines) > 1 and _PROBLEMS_HEAD.search(lines[0]):
        fix = lines[1].removeprefix("- ")
    return f"{lines[0]} · {fix}" if fix else lines[0]
