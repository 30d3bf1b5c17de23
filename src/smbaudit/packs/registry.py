"""Selecting checks: by id, id glob, category, tag or pack."""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Iterable, Sequence

from smbaudit.errors import UsageError
from smbaudit.models import CheckDef


def _matches(check: CheckDef, selector: str) -> bool:
    """Any case: `--select Encryption` is `--select encryption`."""
    selector = selector.lower()
    if any(ch in selector for ch in "*?["):
        return fnmatch.fnmatchcase(check.id.lower(), selector)
    return selector in (check.id.lower(), check.category.lower(), check.pack.lower()) or \
        selector in (t.lower() for t in check.tags)


def select(checks: Sequence[CheckDef], include: Iterable[str] = (),
           exclude: Iterable[str] = ()) -> list[CheckDef]:
    """Checks matching any `include` selector (all when none given), minus any `exclude` match.

    A selector that matches no check at all is a usage error: a typo must not silently
    shrink an audit.
    """
    include, exclude = list(include), list(exclude)
    for selector in include + exclude:
        if not any(_matches(c, selector) for c in checks):
            names = {c.id for c in checks} | {c.category for c in checks} | {c.pack for c in checks}
            names |= {t for c in checks for t in c.tags}
            raise UsageError(f"--select/--skip {selector!r} matches no check id, category, tag or "
                             f"pack{_suggest(selector, names)}")
    chosen = [c for c in checks if not include or any(_matches(c, s) for s in include)]
    return [c for c in chosen if not any(_matches(c, s) for s in exclude)]


def by_id(checks: Sequence[CheckDef], check_id: str) -> CheckDef:
    for c in checks:
        if c.id == check_id or c.id.lower() == check_id.lower():
            return c
    raise UsageError(f"no check with id {check_id!r}{_suggest(check_id, {c.id for c in checks})}"
                     " (`smbaudit checks list` shows them all)")


def nearest(text: str, names: Iterable[str], limit: int = 3) -> list[str]:
    """The names closest to a mistyped `text`: those that contain it, or whose part after the
    pack prefix it contains (punctuation ignored), then the most similar spellings."""
    pool = sorted(set(names))

    def plain(name: str) -> str:
        return re.sub(r"[^a-z0-9]", "", name.lower())

    def tail(name: str) -> str:
        return name.split(".", 1)[-1]

    wanted = plain(text)
    containing = [n for n in pool if wanted and (wanted in plain(n) or (
        len(plain(tail(n))) >= 4 and plain(tail(n)) in wanted))]
    tails = {tail(n): n for n in pool}
    similar = difflib.get_close_matches(text.lower(), pool, n=limit, cutoff=0.75)
    similar += [tails[t] for t in difflib.get_close_matches(tail(text.lower()), list(tails),
                                                           n=limit, cutoff=0.75)]
    return list(dict.fromkeys(containing + similar))[:limit]


def _suggest(text: str, names: Iterable[str]) -> str:
    close = nearest(text, names)
    return f"; did you mean {', '.join(close)}?" if close else ""
