"""Auditor reviews of document decisions: confirm or reject the passage behind a decision.

A review file (written by `smbaudit policies review`, read by `policies coverage --reviews` and
`scan --reviews`) holds one entry per reviewed decision, keyed by requirement and passage hash:

    schema: 1
    reviews:
      - framework: gdpr
        requirement: "Art. 13"
        element: notice-transfers
        passage: 3f2a9c0d1e4b          # SHA-256 (12 hex) of the passage's collapsed text
        source: privacy.md:line 41     # where it was, for the reader (not part of the key)
        decision: confirmed            # or rejected
        reviewed_by: A. Auditor
        date: 2026-12-05T10:12:00+00:00
        reason: The notice names the SCCs for every transfer.

A confirmed passage counts for its element with full confidence even where the rules doubted
it; a rejected one never counts again and the judge looks for another passage. Later runs show
both as reviewed, with who, when and why. The passage hash keeps a review valid when the
document moves lines, and voids it when the passage's wording changes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smbaudit import fsutil, yamlload
from smbaudit.compliance.model import passage_hash
from smbaudit.errors import FieldError, InputFileError, UsageError

if TYPE_CHECKING:
    from smbaudit.compliance.model import FrameworkCoverage


class Decision(str, Enum):
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Review:
    framework: str
    requirement: str
    element: str
    passage: str  # passage hash
    decision: Decision
    reviewed_by: str
    date: str  # ISO 8601 timestamp
    reason: str
    source: str = ""
    line: int | None = None  # in the review file

    @property
    def note(self) -> str:
        return f"{self.decision.value} by {self.reviewed_by} on {self.date[:10]}: {self.reason}"

    def to_yaml(self) -> dict[str, Any]:
        return {"framework": self.framework, "requirement": self.requirement,
                "element": self.element, "passage": self.passage, "source": self.source,
                "decision": self.decision.value, "reviewed_by": self.reviewed_by,
                "date": self.date, "reason": self.reason}


@dataclass(frozen=True)
class Reviews:
    path: str
    entries: tuple[Review, ...]

    @staticmethod
    def empty() -> Reviews:
        return Reviews("", ())

    def for_element(self, framework: str, requirement: str, element: str) -> dict[str, Review]:
        """passage hash -> the latest review of that passage for this element."""
        out: dict[str, Review] = {}
        for r in self.entries:
            if (r.framework, r.requirement, r.element) == (framework, requirement, element):
                out[r.passage] = r
        return out


_REQUIRED = ("framework", "requirement", "element", "passage", "decision", "reviewed_by", "date",
             "reason")


def load(path: Path) -> Reviews:
    """Read a review file; any problem is an InputFileError naming file, line and field."""
    if not path.exists():
        return Reviews(str(path), ())
    doc = yamlload.load_file(path) or {}
    errors: list[FieldError] = []
    entries: list[Review] = []
    raw = doc.get("reviews") if isinstance(doc, dict) else None
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise InputFileError([FieldError(str(path), yamlload.line_at(doc, ()), "reviews",
                                         "must be a list")])
    for i, item in enumerate(raw):
        line = yamlload.line_at(doc, ("reviews", i))
        if not isinstance(item, dict):
            errors.append(FieldError(str(path), line, f"reviews[{i}]", "must be a mapping"))
            continue
        missing = [k for k in _REQUIRED if not str(item.get(k) or "").strip()]
        if missing:
            errors.append(FieldError(str(path), line, f"reviews[{i}].{missing[0]}",
                                     "is required (who, when and why make a review)"))
            continue
        try:
            decision = Decision(str(item["decision"]))
        except ValueError:
            errors.append(FieldError(str(path), line, f"reviews[{i}].decision",
                                     "must be confirmed or rejected"))
            continue
        entries.append(Review(str(item["framework"]).lower(), str(item["requirement"]),
                              str(item["element"]), str(item["passage"]), decision,
                              str(item["reviewed_by"]), str(item["date"]), str(item["reason"]),
                              str(item.get("source") or ""), line))
    if errors:
        raise InputFileError(errors)
    return Reviews(str(path), tuple(entries))


def record(path: Path, review: Review) -> None:
    """Add (or replace) the review of one passage for one element; the file is written atomically."""
    current = load(path)
    kept = [r for r in current.entries
            if (r.framework, r.requirement, r.element, r.passage) !=
            (review.framework, review.requirement, review.element, review.passage)]
    doc = {"schema": 1, "reviews": [r.to_yaml() for r in (*kept, review)]}
    fsutil.atomic_write(path, yamlload.dump(doc).encode("utf-8"), mode=0o644)


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


# --------------------------------------------------------------------------- the review queue


@dataclass(frozen=True)
class Pending:
    """One document decision an auditor can confirm or reject."""

    id: str  # short handle for the command line
    framework: str
    requirement: str
    element: str
    label: str
    citation: str
    passage: str  # passage hash
    source: str
    quote: str
    confidence: float
    needs_review: bool
    reviewed: str  # the earlier review, if any


def decision_id(framework: str, requirement: str, element: str, passage: str) -> str:
    key = "|".join((framework, requirement, element, passage)).encode("utf-8")
    return hashlib.sha256(key).hexdigest()[:10]


def queue(results: Iterable[FrameworkCoverage], include_all: bool = False) -> list[Pending]:
    """Decisions resting on a passage: those needing review (all covered ones with
    `include_all`), in catalog order."""
    out: list[Pending] = []
    for cov in results:
        fw = cov.catalog.framework
        for res in cov.requirements:
            for m in res.elements:
                if m.passage is None or not (m.needs_review or include_all or m.reviewed):
                    continue
                h = passage_hash(m.passage.text)
                out.append(Pending(decision_id(fw, res.requirement.id, m.element.id, h), fw,
                                   res.requirement.id, m.element.id, m.element.label,
                                   m.element.citation, h, m.passage.source, m.passage.text,
                                   m.confidence, m.needs_review, m.reviewed))
    return out


def review(path: Path, item: Pending, decision: Decision, reviewed_by: str, reason: str) -> Review:
    """Record an auditor's decision on one queued item; later runs apply it."""
    if not reviewed_by.strip() or not reason.strip():
        raise UsageError("a review needs who (--by) and why (--reason)")
    entry = Review(item.framework, item.requirement, item.element, item.passage, decision,
                   reviewed_by.strip(), now(), reason.strip(), item.source)
    record(path, entry)
    return entry
