"""Where things live: the project root, and every output folder of a campaign.

Everything a run writes goes under ``<reports_dir>/<campaign>/`` (default ``reports/<campaign>/``);
:func:`campaign_paths` refuses a campaign name or a path that would escape it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SLUG_PATTERN", "project_root", "check_slug", "CampaignPaths", "campaign_paths", "inside"]

SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_SLUG = re.compile(SLUG_PATTERN)


def project_root() -> Path:
    """The checkout's root folder (holds ``pyproject.toml``, ``params/``, ``notebooks/``).

    ``UBAKIT_ROOT`` overrides; otherwise the folder above this package.
    """
    env = os.environ.get("UBAKIT_ROOT")
    if env:
        return Path(env).expanduser().resolve()
    return Path(__file__).resolve().parent.parent


def check_slug(name: str, *, what: str = "campaign") -> str:
    """Return ``name`` if it is a safe slug (lower-case letters, digits, ``-``, ``_``), else raise ValueError."""
    if not isinstance(name, str) or not _SLUG.match(name):
        raise ValueError(
            f"{what} name {name!r} is not allowed: use 1-63 lower-case letters, digits, '-' or '_', "
            f"starting with a letter or digit (e.g. 'taobao-2017')"
        )
    return name


def inside(path: Path, folder: Path) -> bool:
    """True when ``path`` resolves to ``folder`` or somewhere below it."""
    path, folder = Path(path).resolve(), Path(folder).resolve()
    return path == folder or folder in path.parents


@dataclass(frozen=True)
class CampaignPaths:
    """All output locations of one campaign; every one is below :attr:`root`."""

    root: Path

    @property
    def data(self) -> Path:
        """Clean canonical tables as Parquet: ``data/<table>.parquet``."""
        return self.root / "data"

    @property
    def quarantine(self) -> Path:
        """Rejected rows with a ``reason`` column: ``quarantine/<table>.parquet`` and ``.csv``."""
        return self.root / "quarantine"

    @property
    def raw(self) -> Path:
        """Generated raw inputs (demo campaigns only)."""
        return self.root / "raw"

    @property
    def results(self) -> Path:
        """Headline numbers and key tables per notebook: ``results/<notebook>.json`` plus CSVs."""
        return self.root / "results"

    @property
    def executed(self) -> Path:
        """Executed notebooks (with outputs) kept by the runner."""
        return self.root / "notebooks"

    @property
    def cache(self) -> Path:
        """Caches (transcoded inputs, engine spill files, score caches). Safe to delete."""
        return self.root / ".cache"

    @property
    def state(self) -> Path:
        """Runner bookkeeping (fingerprints, statuses)."""
        return self.root / ".state"

    def table(self, name: str) -> Path:
        """Path of a clean canonical table."""
        return self.data / f"{check_slug(name, what='table')}.parquet"

    def file(self, relative: str | os.PathLike) -> Path:
        """A path below the campaign root; raises ValueError if ``relative`` would escape it."""
        target = (self.root / relative).resolve()
        if not inside(target, self.root):
            raise ValueError(f"refusing to write {relative!s}: outside the campaign folder {self.root}")
        return target

    def ensure(self) -> CampaignPaths:
        for p in (self.data, self.quarantine, self.results, self.executed, self.cache, self.state):
            p.mkdir(parents=True, exist_ok=True)
        return self


def campaign_paths(campaign: str, reports_dir: str | os.PathLike | None = None) -> CampaignPaths:
    """Output folders of ``campaign`` under ``reports_dir`` (default ``<project root>/reports``)."""
    check_slug(campaign)
    base = Path(reports_dir).expanduser() if reports_dir else project_root() / "reports"
    base = base.resolve()
    root = (base / campaign).resolve()
    if not inside(root, base) or root == base:
        raise ValueError(f"campaign folder {root} is outside the reports folder {base}")
    return CampaignPaths(root)
