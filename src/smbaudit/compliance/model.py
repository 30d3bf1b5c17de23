"""Typed data of the compliance layer: catalogs, policy evidence, attestations and coverage.

Every result type has `to_dict()` giving plain JSON data; that shape is what the JSON and HTML
reports carry under `compliance` (see docs/compliance.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from smbaudit.models import SourceRef


class Kind(str, Enum):
    """What sort of duty a requirement is (decides which evidence can show it)."""

    TECHNICAL = "technical"
    ORGANISATIONAL = "organisational"
    DOCUMENTARY = "documentary"


class Obligation(str, Enum):
    """HIPAA R/A, or how binding a GDPR/CCPA item is. Weights follow compliance-notes 4.10 B."""

    REQUIRED = "required"
    ADDRESSABLE = "addressable"  # not optional: assess, implement or document an equivalent
    STANDARD = "standard"  # a HIPAA standard whose implementation specifications carry R/A
    CONDITIONAL = "conditional"  # binding only in some situations (e.g. DPO, group health plans)
    RECOMMENDED = "recommended"

    @property
    def weight(self) -> int:
        return 1 if self in (Obligation.ADDRESSABLE, Obligation.RECOMMENDED) else 2


class EvidenceKind(str, Enum):
    CHECK = "check"  # automated check results mapped to the requirement
    POLICY = "policy"  # required elements stated in the client's policy documents
    ATTESTATION = "attestation"  # a person answers a questionnaire item, with who and when


class Status(str, Enum):
    MET = "met"
    PARTIAL = "partial"
    NOT_MET = "not_met"
    NOT_ASSESSED = "not_assessed"
    NOT_APPLICABLE = "not_applicable"


# --------------------------------------------------------------------------- catalogs


@dataclass(frozen=True)
class ElementPart:
    """A part the rule requires of an element beyond what its phrasings find ("backups" alone
    is not "restored in a timely manner"): without it the element is only partly stated."""

    label: str  # what is missing, in words: "restoring the data"
    terms: tuple[str, ...]  # phrasings of the part; any one counts


@dataclass(frozen=True)
class PolicyElement:
    """One thing a policy document must say, and the phrasings that count as saying it.

    `groups` is a conjunction of alternatives: every group must be matched by at least one of
    its terms, in any order, inside one passage (its heading path may supply all but one group).
    `parts` are what the rule also requires of it: an element whose counted passages hold none
    of a part's phrasings (with their headings) is partly stated, not stated.
    """

    id: str
    label: str
    groups: tuple[tuple[str, ...], ...]
    allow_prohibition: bool = False  # "must not / never ..." states this element
    presence_only: bool = False  # a disclosure or label counts without a practice statement
    citation: str = ""  # the exact provision when narrower than the requirement's id
    exclude: tuple[str, ...] = ()  # look-alike phrasings: another role, right or party
    exclude_headings: tuple[str, ...] = ()  # headings of another regime or party
    max_number: Period | None = None  # a stated period must not exceed this
    min_number: Period | None = None  # a stated period must be at least this
    parts: tuple[ElementPart, ...] = ()  # required parts; missing ones make it partly stated
    in_passage: bool = False  # every group in the passage itself (no heading, no previous)
    # the catalog's regime: a passage under a heading (or a sentence) naming another regime and
    # not this one ("California residents", "HIPAA") states another law's duty
    own_regime: tuple[str, ...] = ()
    other_regimes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Period:
    """A time limit of a rule ("72 hours", "15 business days", "6 years")."""

    value: float
    unit: str  # hours | days | business days | months | years

    @property
    def hours(self) -> float:
        return self.value * _UNIT_HOURS[self.unit]

    def __str__(self) -> str:
        return f"{self.value:g} {self.unit}"


_UNIT_HOURS = {"hours": 1.0, "days": 24.0, "business days": 24.0 * 7 / 5, "months": 24.0 * 30.4,
               "years": 24.0 * 365.25}


@dataclass(frozen=True)
class AttestationItem:
    """A questionnaire item for what no scan can observe."""

    id: str
    question: str
    answer_type: str = "yes_no"  # yes_no | date
    max_age_days: int | None = None  # for dates (and yes answers): older answers are stale


@dataclass(frozen=True)
class EvidenceSpec:
    kind: EvidenceKind
    required: bool = True
    elements: tuple[PolicyElement, ...] = ()
    attestations: tuple[AttestationItem, ...] = ()


@dataclass(frozen=True)
class Requirement:
    id: str
    citation: str
    title: str
    kind: Kind
    obligation: Obligation
    section: str
    source: SourceRef
    description: str = ""
    parent: str | None = None
    evidence: tuple[EvidenceSpec, ...] = ()

    def spec(self, kind: EvidenceKind) -> EvidenceSpec | None:
        return next((e for e in self.evidence if e.kind is kind), None)


@dataclass(frozen=True)
class Catalog:
    framework: str  # key used in check mappings: hipaa, gdpr, ccpa
    name: str
    version: str
    source_url: str
    requirements: tuple[Requirement, ...]
    path: str

    def get(self, req_id: str) -> Requirement | None:
        return next((r for r in self.requirements if r.id == req_id), None)

    @property
    def label(self) -> str:
        return self.framework.upper()


# --------------------------------------------------------------------------- documents


@dataclass(frozen=True)
class Passage:
    """A piece of a client document that can state a practice (sentence, list item, table row)."""

    file: str
    location: str  # "line 12", "page 3", "paragraph 40", "table 2 row 3"
    text: str
    block: str  # paragraph | list_item | table_row
    headings: tuple[str, ...] = ()
    lead_in: str = ""  # the sentence introducing a list ("All laptops must:")

    @property
    def source(self) -> str:
        return f"{self.file}:{self.location}"


def passage_hash(text: str) -> str:
    """The key of a passage in review files: SHA-256 of its whitespace-collapsed text, 12 hex."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class ElementMatch:
    """The decision for one policy element, with the passage that supports it (or why not)."""

    element: PolicyElement
    covered: bool
    passage: Passage | None = None
    rejected: tuple[tuple[Passage, str], ...] = ()  # passages that matched but did not count
    overridden: str = ""  # reason, when an auditor override decided it
    confidence: float = 1.0  # 0-1: how sure the judge is of this decision
    needs_review: bool = False  # covered, but below the threshold: counted as not assessed
    reviewed: str = ""  # "confirmed by X on D: why" when an auditor reviewed this passage
    basis: tuple[str, ...] = ()  # what the confidence rests on, in words
    missing_parts: tuple[str, ...] = ()  # required parts no counted passage states

    @property
    def counts(self) -> bool:
        """Covered and trusted: a decision that needs review never counts as stated."""
        return self.covered and not self.needs_review

    @property
    def full(self) -> bool:
        """Counts and states every part the rule requires (not only partly stated)."""
        return self.counts and not self.missing_parts

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.element.id,
            "label": self.element.label,
            "citation": self.element.citation or None,
            "covered": self.covered,
            "source": self.passage.source if self.passage else None,
            "quote": self.passage.text if self.passage else None,
            "overridden": self.overridden or None,
            "confidence": round(self.confidence, 2),
            "needs_review": self.needs_review,
            "reviewed": self.reviewed or None,
            "basis": list(self.basis),
            "partly_stated": self.counts and bool(self.missing_parts),
            "missing_parts": list(self.missing_parts),
            "passage_hash": passage_hash(self.passage.text) if self.passage else None,
            "rejected": [{"source": p.source, "quote": p.text, "why": why}
                         for p, why in self.rejected],
        }


# --------------------------------------------------------------------------- coverage


@dataclass(frozen=True)
class EvidenceItem:
    """One piece of evidence behind a status, in the JSON shape {kind, source, quote}."""

    kind: EvidenceKind
    source: str
    quote: str
    ok: bool
    detail: str = ""  # element id, check status, attestation item id...

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "source": self.source, "quote": self.quote,
                "ok": self.ok, "detail": self.detail}


@dataclass
class RequirementResult:
    requirement: Requirement
    status: Status
    evidence: list[EvidenceItem] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # what is needed and not shown
    failing_checks: list[str] = field(default_factory=list)  # "check-id on target"
    reasons: list[str] = field(default_factory=list)  # the decision, in words
    elements: list[ElementMatch] = field(default_factory=list)
    evidence_kinds: set[EvidenceKind] = field(default_factory=set)  # kinds that were present

    def to_dict(self) -> dict[str, Any]:
        r = self.requirement
        return {
            "id": r.id,
            "citation": r.citation,
            "title": r.title,
            "kind": r.kind.value,
            "obligation": r.obligation.value,
            "section": r.section,
            "status": self.status.value,
            "evidence": [e.to_dict() for e in self.evidence],
            "missing": list(self.missing),
            "failing_checks": list(self.failing_checks),
            "reasons": list(self.reasons),
            "elements": [m.to_dict() for m in self.elements],
            "evidence_kinds": sorted(k.value for k in self.evidence_kinds),
        }


@dataclass
class CoverageSummary:
    counts: dict[str, int]
    applicable: int
    assessed: int
    assessed_by: dict[str, int]  # check / policy / attestation: requirements with that kind
    readiness: float | None  # 0-100, None when nothing is applicable
    coverage: float | None

    def percent(self, status: Status) -> float | None:
        if not self.applicable or status is Status.NOT_APPLICABLE:
            return None
        return round(100.0 * self.counts.get(status.value, 0) / self.applicable, 1)

    @property
    def line(self) -> str:
        """The one-line statement compliance-notes 4.10 B asks every report to print."""
        if self.readiness is None:
            return "not assessed: no applicable requirement"
        by = ", ".join(f"{n} by {k}" for k, n in self.assessed_by.items() if n)
        return (f"Readiness {self.readiness:.0f} % - {self.assessed} of {self.applicable} "
                f"requirements assessed ({by or 'no evidence'}), "
                f"{self.applicable - self.assessed} not assessed")

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "percentages": {s.value: self.percent(s) for s in Status
                            if s is not Status.NOT_APPLICABLE},
            "applicable": self.applicable,
            "assessed": self.assessed,
            "assessed_by": dict(self.assessed_by),
            "readiness": self.readiness,
            "coverage": self.coverage,
            "line": self.line,
        }


@dataclass
class FrameworkCoverage:
    catalog: Catalog
    requirements: list[RequirementResult]
    summary: CoverageSummary
    documents: list[str] = field(default_factory=list)  # files read as policy evidence
    problems: list[str] = field(default_factory=list)  # documents that could not be read
    attestations: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "framework": self.catalog.framework,
            "name": self.catalog.name,
            "version": self.catalog.version,
            "summary": self.summary.to_dict(),
            "documents": list(self.documents),
            "problems": list(self.problems),
            "attestations": self.attestations,
            "requirements": [r.to_dict() for r in self.requirements],
        }
