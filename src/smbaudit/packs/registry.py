"""Selecting checks: by id, id glob, category, tag or pack."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence

from smbaudit.errors import UsageError
from smbaudit.models import CheckDef


def _matches(check: CheckDef, selector: str) -> bool:
    if any(ch in selector for ch in "*?["):
        return fnmatch.fnmatchcase(check.id, selector)
    return selector in (check.id, check.category, check.pack) or selector in check.tags


def select(checks: Sequence[CheckDef], include: Iterable[str] = (),
           exclude: Iterable[str] = ()) -> list[CheckDef]:
    """Checks matching any `include` selector (all when none given), minus any `exclude` match.

    A selector that matches no check at all is a usage error: a typo must not silently
    shrink an audit.
    """
    include, exclude = list(include), list(exclude)
    for selector in include + exclude:
        if not any(_matches(c, selector) for c in checks):
            raise UsageError(f"--select/--skip {selector!r} matches no check id, category, tag or pack")
    chosen = [c for c in checks if not include or any(_matches(c, s) for s in include)]
    return [c for c in chosen if not any(_matches(c, s) for s in exclude)]


def by_id(checks: Sequence[CheckDef], check_id: str) -> CheckDef:
    for c in checks:
        if c.id == check_id:
            return c
    raise UsageError(f"no check with id {check_id!r}")
