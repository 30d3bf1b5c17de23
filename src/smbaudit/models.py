"""Typed data shared by every layer: check definitions, findings, targets, scan results."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Severity(str, Enum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


def meets_threshold(severity: Severity, threshold: str | None) -> bool:
    """Whether `severity` is at or above a threshold such as --fail-on's ("none" or None:
    nothing is)."""
    if threshold in (None, "none"):
        return False
    return severity.rank >= Severity(threshold).rank


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


class Status(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"
    NOT_APPLICABLE = "not_applicable"


class TargetKind(str, Enum):
    """HOST targets have a file system (live or offline); SERVICE targets are one host:port."""

    HOST = "host"
    SERVICE = "service"


CATEGORIES = (
    "encryption",
    "access_control",
    "authentication",
    "patching",
    "network",
    "logging",
    "backup",
    "hardening",
    "privacy",
    "configuration",
)


@dataclass(frozen=True)
class SourceRef:
    """Where a definition came from, for error messages and `checks show`."""

    path: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class Assertion:
    """One test of a fact: `fact` is a dotted path into the probe's facts (`*` walks a list)."""

    fact: str
    op: str
    value: Any = None
    default: Any = None
    has_default: bool = False
    quantifier: str = "all"  # for paths with `*`: all / any / none of the elements must hold
    scheme: str | None = None  # version scheme for version_* operators: deb, rpm, generic
    message: str | None = None  # how to describe a failure to a reader


@dataclass(frozen=True)
class Condition:
    """A boolean tree: all / any / none of its items (assertions or nested conditions)."""

    mode: str  # "all" | "any" | "none"
    items: tuple[Assertion | Condition, ...]


@dataclass(frozen=True)
class Applicability:
    """When a check applies at all. Not applicable is not a pass: it is reported as such."""

    os_family: tuple[str, ...] = ()
    os_release: tuple[str, ...] = ()  # "ubuntu 22.04": os-release ID and VERSION_ID (a prefix)
    condition: Condition | None = None  # over the check's own probe facts


@dataclass(frozen=True)
class CheckDef:
    id: str
    title: str
    description: str
    category: str
    severity: Severity
    rationale: str
    remediation: str
    probe: str
    params: dict[str, Any]
    condition: Condition
    source: SourceRef
    references: tuple[str, ...] = ()
    compliance: dict[str, tuple[str, ...]] = field(default_factory=dict)
    applies: Applicability | None = None
    tags: tuple[str, ...] = ()
    # Fact paths whose value names where the problem is, first found wins ("/etc/x" or
    # "/etc/x:12" with its line).
    location: tuple[str, ...] = ()
    pack: str = ""
    # The headline of a failure: a template over the facts (smbaudit.problemtext).
    problem: str | None = None
    # The file on a host whose change fixes a failure (e.g. /etc/nftables.conf), for reports
    # that place every result in a file (SARIF) when no file decided the outcome.
    fix_file: str | None = None
    # A fact path to a list of items: a failure is reported once per item (smbaudit.peritem).
    each: str | None = None
    # Declared `overrides: true` (in the check or its pack): it replaces an earlier check with
    # the same id, whose definition is then `overridden`.
    overrides: bool = False
    overridden: SourceRef | None = None

    @property
    def params_key(self) -> str:
        """Canonical text of the params, so identical probe calls are run once."""
        import json

        return json.dumps(self.params, sort_keys=True, default=str)


@dataclass(frozen=True)
class Evidence:
    """What was observed against what was expected, for one assertion (or one list element)."""

    fact: str
    observed: Any
    expected: str
    ok: bool
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "fact": self.fact,
            "observed": self.observed,
            "expected": self.expected,
            "ok": self.ok,
            "message": self.message,
        }


@dataclass(frozen=True)
class Waiver:
    """An accepted risk as attached to a finding (the matching rule lives with the waivers)."""

    justification: str
    approved_by: str
    expires: str
    expired: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "justification": self.justification,
            "approved_by": self.approved_by,
            "expires": self.expires,
            "expired": self.expired,
        }


@dataclass
class Finding:
    """The outcome of one check on one target. Every selected check yields one per target."""

    check_id: str
    title: str
    description: str
    category: str
    severity: Severity
    status: Status
    target: str
    location: str | None = None
    line: int | None = None  # the line of `location` that decided the outcome, when known
    # For a failing finding: the file on a host whose change fixes it (from the check), so that
    # every result can be placed in a file even when no file decided it.
    fix_file: str | None = None
    # For a failing finding: what failed, stable across scans: the offending elements by name,
    # or the facts that failed (not their values). Identifies "the same problem" next time.
    offending: tuple[str, ...] = ()
    # For a failing finding: one sentence naming what was observed ("toor has user id 0
    # besides root"); the headline in every output, the title being the desired state.
    problem: str = ""
    evidence: list[Evidence] = field(default_factory=list)
    reason: str = ""  # why ERROR / SKIPPED / NOT_APPLICABLE, in words
    remediation: str = ""
    rationale: str = ""
    references: tuple[str, ...] = ()
    compliance: dict[str, tuple[str, ...]] = field(default_factory=dict)
    network_exposed: bool = False
    risk: float = 0.0
    waiver: Waiver | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.check_id, self.target)

    @property
    def headline(self) -> str:
        """What a reader sees first: the problem for a failure, else the check's title."""
        return self.problem if self.status is Status.FAIL and self.problem else self.title

    @property
    def waived(self) -> bool:
        """A live (unexpired) waiver covers it: it stays FAIL but leaves the score."""
        return self.waiver is not None and not self.waiver.expired

    def to_dict(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "title": self.title,
            "description": self.description,
            "category": self.category,
            "severity": self.severity.value,
            "status": self.status.value,
            "target": self.target,
            "location": self.location,
            "line": self.line,
            "fix_file": self.fix_file,
            "offending": list(self.offending),
            "problem": self.problem,
            "evidence": [e.to_dict() for e in self.evidence],
            "reason": self.reason,
            "remediation": self.remediation,
            "rationale": self.rationale,
            "references": list(self.references),
            "compliance": {k: list(v) for k, v in self.compliance.items()},
            "network_exposed": self.network_exposed,
            "risk": self.risk,
            "waiver": self.waiver.to_dict() if self.waiver else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        waiver = data.get("waiver")
        return cls(
            check_id=data["check_id"],
            title=data["title"],
            description=data.get("description", ""),
            category=data.get("category", ""),
            severity=Severity(data["severity"]),
            status=Status(data["status"]),
            target=data["target"],
            location=data.get("location"),
            line=data.get("line"),
            fix_file=data.get("fix_file"),
            offending=tuple(data.get("offending", ())),
            problem=data.get("problem", ""),
            evidence=[Evidence(**e) for e in data.get("evidence", [])],
            reason=data.get("reason", ""),
            remediation=data.get("remediation", ""),
            rationale=data.get("rationale", ""),
            references=tuple(data.get("references", ())),
            compliance={k: tuple(v) for k, v in data.get("compliance", {}).items()},
            network_exposed=bool(data.get("network_exposed", False)),
            risk=float(data.get("risk", 0.0)),
            waiver=Waiver(**waiver) if waiver else None,
        )


@dataclass
class TargetInfo:
    """A target as the report shows it: its name as given, its kind and whether it was read."""

    name: str
    kind: TargetKind
    reachable: bool = True
    error: str = ""
    details: dict[str, Any] = field(default_factory=dict)  # os, address, service, product...

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind.value,
            "reachable": self.reachable,
            "error": self.error,
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TargetInfo:
        return cls(name=data["name"], kind=TargetKind(data["kind"]),
                   reachable=bool(data.get("reachable", True)), error=data.get("error", ""),
                   details=dict(data.get("details") or {}))
