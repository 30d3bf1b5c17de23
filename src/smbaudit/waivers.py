"""Waivers (accepted risks): an overlay on findings that never rewrites a finding's status.

A waivers file is YAML::

    waivers:
      - check: ssh.root-login             # a check id (exact)
        target: "dir:/srv/images/*"       # a glob over target names ("*" for every target)
        justification: Break-glass access on the build image, removed before deployment
        approved_by: Jane Doe (CISO)
        expires: 2026-12-31               # a date; the waiver holds up to and including it

A waiver attaches to the *failing* findings it matches (`Finding.waiver`). While it is live the
finding stays FAIL in every output but leaves the score (scoring also reports the score without
waivers). From the day after `expires` it is expired: still attached and shown, marked
`expired: true`, and the finding counts again. A waiver that matches no failing finding is
reported as unmatched, so stale acceptances do not pile up unseen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from smbaudit import schemacheck, yamlload
from smbaudit.errors import FieldError, InputFileError
from smbaudit.models import Finding, SourceRef, Status, Waiver

FIELDS = ("check", "target", "justification", "approved_by", "expires")
Clock = Callable[[], dt.date]


def today() -> dt.date:
    """The local calendar date (the default clock; tests pass a fixed one)."""
    return dt.date.today()


@dataclass(frozen=True)
class WaiverRule:
    """One entry of a waivers file."""

    check: str
    target: str
    justification: str
    approved_by: str
    expires: dt.date
    source: SourceRef

    def matches(self, finding: Finding) -> bool:
        return finding.check_id == self.check and fnmatchcase(finding.target, self.target)

    def expired_on(self, day: dt.date) -> bool:
        return day > self.expires

    def attached(self, day: dt.date) -> Waiver:
        return Waiver(justification=self.justification, approved_by=self.approved_by,
                      expires=self.expires.isoformat(), expired=self.expired_on(day))


@dataclass(frozen=True)
class WaiverSet:
    """The waivers loaded from one or more files."""

    rules: tuple[WaiverRule, ...]
    files: tuple[str, ...] = ()


_TEXT = {"type": "string", "minLength": 1}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["waivers"],
    "properties": {
        "schema": {"const": 1},
        "waivers": {"type": "array", "items": {
            "type": "object",
            "additionalProperties": False,
            "required": list(FIELDS),
            "properties": {**{k: _TEXT for k in FIELDS[:4]}, "expires": {}},
        }},
    },
}


def _entry(item: Any, path: str, index: int, shaped: bool,
           errors: list[FieldError]) -> WaiverRule | None:
    """An entry as a rule, after the checks the schema cannot make (blank text, the date).
    `shaped` says whether the entry passed the schema; if not, only its problems are added."""
    where = f"waivers[{index}]"
    before = len(errors)
    for key in FIELDS[:4]:
        value = item.get(key)
        if isinstance(value, str) and value and not value.strip():
            errors.append(FieldError(path, item.line_of(key), f"{where}.{key}", "must not be empty"))
    expires = yamlload.as_date(item.get("expires"))
    if "expires" in item and expires is None:
        errors.append(FieldError(path, item.line_of("expires"), f"{where}.expires",
                                 f"not a date (YYYY-MM-DD): {item['expires']!r}"))
    if not shaped or len(errors) > before or expires is None:
        return None
    return WaiverRule(check=item["check"].strip(), target=item["target"].strip(),
                      justification=item["justification"].strip(),
                      approved_by=item["approved_by"].strip(), expires=expires,
                      source=SourceRef(path, item.line))


def parse(data: Any, path: str) -> WaiverSet:
    """Validate a loaded waivers document; every problem is reported with file:line."""
    if not isinstance(data, yamlload.LineDict) or "waivers" not in data:
        raise InputFileError([FieldError(path, getattr(data, "line", None) or 1, "waivers",
                                         "a waivers file is a mapping with a `waivers:` list")])
    errors = schemacheck.field_errors(SCHEMA, data, path)
    items = data["waivers"]
    if not isinstance(items, list):
        raise InputFileError(errors)
    invalid = {e.field.partition("]")[0] + "]" for e in errors if e.field.startswith("waivers[")}
    rules: list[WaiverRule] = []
    seen: dict[tuple[str, str], WaiverRule] = {}
    for i, item in enumerate(items):
        if not isinstance(item, yamlload.LineDict):
            continue  # the schema has said what it should be
        rule = _entry(item, path, i, f"waivers[{i}]" not in invalid, errors)
        if rule is None:
            continue
        if (rule.check, rule.target) in seen:
            errors.append(FieldError(path, rule.source.line, f"waivers[{i}]",
                                     f"duplicate waiver for {rule.check} on {rule.target!r} "
                                     f"(first at line {seen[(rule.check, rule.target)].source.line})"))
            continue
        seen[(rule.check, rule.target)] = rule
        rules.append(rule)
    if errors:
        errors.sort(key=lambda e: (e.line or 0, e.field))
        raise InputFileError(errors)
    return WaiverSet(rules=tuple(rules), files=(path,))


def load(paths: Iterable[str | Path]) -> WaiverSet:
    """Load and merge waivers files."""
    rules: list[WaiverRule] = []
    files: list[str] = []
    for p in paths:
        one = parse(yamlload.load_file(p), str(p))
        rules.extend(one.rules)
        files.extend(one.files)
    return WaiverSet(rules=tuple(rules), files=tuple(files))


@dataclass(frozen=True)
class WaiverEntry:
    """One waiver as applied to a scan: what it accepts and how many failures it matched."""

    check: str
    target: str
    justification: str
    approved_by: str
    expires: str
    expired: bool
    matched: int
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "target": self.target, "justification": self.justification,
                "approved_by": self.approved_by, "expires": self.expires,
                "expired": self.expired, "matched": self.matched, "source": self.source}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WaiverEntry:
        return cls(**{k: data[k] for k in ("check", "target", "justification", "approved_by",
                                           "expires", "expired", "matched", "source")})


@dataclass(frozen=True)
class WaiverOutcome:
    """What applying waivers did: the report's `waivers` section."""

    entries: tuple[WaiverEntry, ...]
    files: tuple[str, ...]
    live: int
    expired: int

    @property
    def unmatched(self) -> list[WaiverEntry]:
        """Waivers that matched no failing finding: they may no longer be needed."""
        return [e for e in self.entries if not e.matched]

    def to_dict(self) -> dict[str, Any]:
        return {"files": list(self.files), "entries": [e.to_dict() for e in self.entries],
                "applied_live": self.live, "applied_expired": self.expired,
                "unmatched": [e.to_dict() for e in self.unmatched]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WaiverOutcome:
        return cls(entries=tuple(WaiverEntry.from_dict(e) for e in data.get("entries", [])),
                   files=tuple(data.get("files", [])), live=int(data.get("applied_live", 0)),
                   expired=int(data.get("applied_expired", 0)))


def apply(findings: Iterable[Finding], waivers: WaiverSet, clock: Clock = today) -> WaiverOutcome:
    """Attach the matching waiver to each failing finding (a live one wins over an expired one,
    then the first in file order). Statuses are never changed."""
    day = clock()
    matched: dict[int, int] = {i: 0 for i in range(len(waivers.rules))}
    live = expired = 0
    for f in findings:
        if f.status is not Status.FAIL:
            continue
        hits = [i for i, r in enumerate(waivers.rules) if r.matches(f)]
        if not hits:
            continue
        for i in hits:
            matched[i] += 1
        best = min(hits, key=lambda i: (waivers.rules[i].expired_on(day), i))
        f.waiver = waivers.rules[best].attached(day)
        if f.waiver.expired:
            expired += 1
        else:
            live += 1
    entries = tuple(WaiverEntry(check=r.check, target=r.target, justification=r.justification,
                                approved_by=r.approved_by, expires=r.expires.isoformat(),
                                expired=r.expired_on(day), matched=matched[i],
                                source=str(r.source))
                    for i, r in enumerate(waivers.rules))
    return WaiverOutcome(entries=entries, files=tuple(waivers.files), live=live, expired=expired)
