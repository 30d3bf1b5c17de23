"""Typed report sections that other layers hand over as their JSON shape: regulation coverage
(compliance/) and the vulnerability data a scan used (vulndb/).

The report keeps these typed, the JSON report and stored scans keep their dict form
(`to_dict` gives back exactly the shape `from_dict` read), and the HTML template reads the
typed objects. The compliance layer's own `FrameworkCoverage` holds whole catalogs; a stored
scan has only the JSON, so the report carries this self-contained form of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Coverage statuses and their order, as compliance/model.py's Status values.
COVERAGE_STATUSES = ("met", "partial", "not_met", "not_assessed", "not_applicable")


@dataclass(frozen=True)
class RejectedPassage:
    """A passage that mentions a policy element but was not counted, and why."""

    source: str
    quote: str
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "quote": self.quote, "why": self.why}


@dataclass(frozen=True)
class ElementDecision:
    """The decision for one policy element of a requirement."""

    id: str
    label: str
    citation: str | None
    covered: bool
    source: str | None
    quote: str | None
    overridden: str | None
    confidence: float
    needs_review: bool
    reviewed: str | None
    basis: tuple[str, ...]
    partly_stated: bool
    missing_parts: tuple[str, ...]
    passage_hash: str | None
    rejected: tuple[RejectedPassage, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "citation": self.citation,
                "covered": self.covered, "source": self.source, "quote": self.quote,
                "overridden": self.overridden, "confidence": self.confidence,
                "needs_review": self.needs_review, "reviewed": self.reviewed,
                "basis": list(self.basis), "partly_stated": self.partly_stated,
                "missing_parts": list(self.missing_parts), "passage_hash": self.passage_hash,
                "rejected": [r.to_dict() for r in self.rejected]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ElementDecision:
        return cls(id=d["id"], label=d.get("label", ""), citation=d.get("citation"),
                   covered=bool(d.get("covered")), source=d.get("source"), quote=d.get("quote"),
                   overridden=d.get("overridden"), confidence=float(d.get("confidence", 1.0)),
                   needs_review=bool(d.get("needs_review")), reviewed=d.get("reviewed"),
                   basis=tuple(d.get("basis", ())), partly_stated=bool(d.get("partly_stated")),
                   missing_parts=tuple(d.get("missing_parts", ())),
                   passage_hash=d.get("passage_hash"),
                   rejected=tuple(RejectedPassage(r["source"], r["quote"], r["why"])
                                  for r in d.get("rejected", ())))


@dataclass(frozen=True)
class CoverageEvidence:
    """One piece of evidence behind a requirement's status."""

    kind: str  # check | policy | attestation
    source: str
    quote: str
    ok: bool
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "source": self.source, "quote": self.quote, "ok": self.ok,
                "detail": self.detail}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CoverageEvidence:
        return cls(kind=d["kind"], source=d["source"], quote=d["quote"], ok=bool(d["ok"]),
                   detail=d.get("detail", ""))


@dataclass(frozen=True)
class RequirementCoverage:
    """One requirement's status with its evidence and gaps."""

    id: str
    citation: str
    title: str
    kind: str
    obligation: str
    section: str
    status: str  # one of COVERAGE_STATUSES
    evidence: tuple[CoverageEvidence, ...] = ()
    missing: tuple[str, ...] = ()
    failing_checks: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    elements: tuple[ElementDecision, ...] = ()
    evidence_kinds: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "citation": self.citation, "title": self.title, "kind": self.kind,
                "obligation": self.obligation, "section": self.section, "status": self.status,
                "evidence": [e.to_dict() for e in self.evidence], "missing": list(self.missing),
                "failing_checks": list(self.failing_checks), "reasons": list(self.reasons),
                "elements": [e.to_dict() for e in self.elements],
                "evidence_kinds": list(self.evidence_kinds)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RequirementCoverage:
        return cls(id=d["id"], citation=d.get("citation", ""), title=d.get("title", ""),
                   kind=d.get("kind", ""), obligation=d.get("obligation", ""),
                   section=d.get("section", ""), status=d["status"],
                   evidence=tuple(CoverageEvidence.from_dict(e) for e in d.get("evidence", ())),
                   missing=tuple(d.get("missing", ())),
                   failing_checks=tuple(d.get("failing_checks", ())),
                   reasons=tuple(d.get("reasons", ())),
                   elements=tuple(ElementDecision.from_dict(e) for e in d.get("elements", ())),
                   evidence_kinds=tuple(d.get("evidence_kinds", ())))


@dataclass(frozen=True)
class CoverageTotals:
    """A framework's counts by status, readiness and coverage, and its one-line statement."""

    counts: dict[str, int]
    percentages: dict[str, float | None]
    applicable: int
    assessed: int
    assessed_by: dict[str, int]
    readiness: float | None
    coverage: float | None
    line: str

    def to_dict(self) -> dict[str, Any]:
        return {"counts": dict(self.counts), "percentages": dict(self.percentages),
                "applicable": self.applicable, "assessed": self.assessed,
                "assessed_by": dict(self.assessed_by), "readiness": self.readiness,
                "coverage": self.coverage, "line": self.line}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CoverageTotals:
        return cls(counts=dict(d.get("counts", {})), percentages=dict(d.get("percentages", {})),
                   applicable=int(d.get("applicable", 0)), assessed=int(d.get("assessed", 0)),
                   assessed_by=dict(d.get("assessed_by", {})), readiness=d.get("readiness"),
                   coverage=d.get("coverage"), line=d.get("line", ""))


@dataclass(frozen=True)
class FrameworkSection:
    """One framework's coverage as the report carries it (`compliance` in the JSON report)."""

    framework: str
    name: str
    version: str
    summary: CoverageTotals
    requirements: tuple[RequirementCoverage, ...]
    documents: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    attestations: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"framework": self.framework, "name": self.name, "version": self.version,
                "summary": self.summary.to_dict(), "documents": list(self.documents),
                "problems": list(self.problems), "attestations": self.attestations,
                "requirements": [r.to_dict() for r in self.requirements]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FrameworkSection:
        return cls(framework=d["framework"], name=d.get("name", d["framework"]),
                   version=str(d.get("version", "")),
                   summary=CoverageTotals.from_dict(d.get("summary", {})),
                   requirements=tuple(RequirementCoverage.from_dict(r)
                                      for r in d.get("requirements", ())),
                   documents=tuple(d.get("documents", ())), problems=tuple(d.get("problems", ())),
                   attestations=d.get("attestations"))


@dataclass(frozen=True)
class VulnSource:
    """One advisory feed in the vulnerability store."""

    name: str
    records: int
    fetched_at: str
    newest: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "records": self.records, "fetched_at": self.fetched_at,
                "newest": self.newest}


@dataclass(frozen=True)
class VulnCoverage:
    """How many advisory records the store holds for one distribution release and channel."""

    distro: str
    release: str
    channel: str
    records: int

    def to_dict(self) -> dict[str, Any]:
        return {"distro": self.distro, "release": self.release, "channel": self.channel,
                "records": self.records}


@dataclass(frozen=True)
class VulnDataSection:
    """The vulnerability data the patch-level checks used: its date, age and sources
    (`vulndb` in the JSON report)."""

    path: str
    present: bool
    message: str
    freshness: str = "missing"  # missing, stale, aging or current
    error: str = ""
    built_at: str = ""
    data_date: str = ""
    age_days: int | None = None
    sources: tuple[VulnSource, ...] = ()
    coverage: tuple[VulnCoverage, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "present": self.present, "error": self.error,
                "built_at": self.built_at, "data_date": self.data_date,
                "age_days": self.age_days, "freshness": self.freshness,
                "message": self.message, "sources": [s.to_dict() for s in self.sources],
                "coverage": [c.to_dict() for c in self.coverage]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VulnDataSection:
        return cls(path=d.get("path", ""), present=bool(d.get("present")),
                   message=d.get("message", ""), freshness=d.get("freshness", "missing"),
                   error=d.get("error", ""), built_at=d.get("built_at", ""),
                   data_date=d.get("data_date", ""), age_days=d.get("age_days"),
                   sources=tuple(VulnSource(s["name"], int(s.get("records", 0)),
                                            s.get("fetched_at", ""), s.get("newest", ""))
                                 for s in d.get("sources", ())),
                   coverage=tuple(VulnCoverage(c["distro"], c["release"], c["channel"],
                                               int(c.get("records", 0)))
                                  for c in d.get("coverage", ())))
