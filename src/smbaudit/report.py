"""The report model: the one object every renderer consumes (renderers never see the engine)."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from smbaudit import __version__
from smbaudit.history import HistorySection, ScanBrief, StoredScan
from smbaudit.models import CATEGORIES, Finding, Severity, Status, TargetInfo, TargetKind
from smbaudit.scoring import SCORING_VERSION, Score, counts, finding_risk, score
from smbaudit.sections import FrameworkSection, VulnDataSection
from smbaudit.waivers import WaiverOutcome

# 2: scoring version 2 (risk points with no ceiling, a breakdown, what fixing each top
# contributor would change the score to).
REPORT_SCHEMA_VERSION = "2"


def now_utc() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def new_scan_id() -> str:
    return uuid.uuid4().hex


@dataclass
class Summary:
    counts: dict[str, int]  # by status
    failed_by_severity: dict[str, int]
    failed_by_category: dict[str, int]
    score: Score

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "failed_by_severity": self.failed_by_severity,
            "failed_by_category": self.failed_by_category,
            **self.score.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Summary:
        """A summary as stored (any scoring version)."""
        return cls(counts=dict(data.get("counts", {})),
                   failed_by_severity=dict(data.get("failed_by_severity", {})),
                   failed_by_category=dict(data.get("failed_by_category", {})),
                   score=Score.from_dict(data))


def summarize(findings: list[Finding], targets: list[TargetInfo] | None = None,
              complete: bool = True) -> Summary:
    """Counts and score (the findings are not changed)."""
    result = score(findings, targets or [], complete)
    status_counts = Counter(f.status.value for f in findings)
    failed = [f for f in findings if f.status is Status.FAIL]
    sev = Counter(f.severity.value for f in failed)
    cat = Counter(f.category for f in failed)
    return Summary(
        counts={s.value: status_counts.get(s.value, 0) for s in Status} | {"total": len(findings)},
        failed_by_severity={s.value: sev.get(s.value, 0) for s in reversed(Severity)},
        failed_by_category={c: cat[c] for c in CATEGORIES if cat.get(c)},
        score=result,
    )


@dataclass
class Report:
    scan_id: str
    started_at: datetime
    finished_at: datetime
    complete: bool
    targets: list[TargetInfo]
    findings: list[Finding]
    summary: Summary
    tool_version: str = __version__
    stop_reason: str = ""
    command: list[str] = field(default_factory=list)
    checks_loaded: int = 0
    plugins: list[str] = field(default_factory=list)
    # Sections added by later stages of the pipeline, typed (each with to_dict / from_dict).
    compliance: list[FrameworkSection] | None = None
    history: HistorySection | None = None
    waivers: WaiverOutcome | None = None
    # The vulnerability data the patch-level checks used: its date, age and sources.
    vulndb: VulnDataSection | None = None
    # A stored report scored under another scoring version keeps its own summary when
    # re-rendered: an old report must say what it said then.
    stored_summary: Summary | None = None
    # Rendering choice, not part of the stored report: the repository folder of the scanned
    # tree, prefixed to SARIF paths (--sarif-base).
    sarif_base: str = ""

    @property
    def shown_summary(self) -> Summary:
        """The summary a reader sees: as stored for a report scored under an older version."""
        return self.stored_summary or self.summary

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if f.status is Status.FAIL]

    @property
    def unreachable(self) -> list[TargetInfo]:
        return [t for t in self.targets if not t.reachable]

    def as_stored(self) -> StoredScan:
        """This scan as history compares it (scored under the current version)."""
        sc = self.summary.score
        shown = self.shown_summary.score
        brief = ScanBrief(scan_id=self.scan_id, started_at=self.started_at.isoformat(),
                          targets=tuple(sorted(t.name for t in self.targets)), score=sc.score,
                          grade=sc.grade, complete=self.complete,
                          scoring_version=sc.scoring_version, scored_as=shown.scoring_version)
        return StoredScan(brief=brief, targets=list(self.targets), findings=list(self.findings),
                          tool_version=self.tool_version)

    def counted_failures(self, new_only: bool = False) -> list[Finding]:
        """Failing findings that count (no live waiver), riskiest first; with `new_only`, those
        new or regressed since the previous scan (with no previous scan, every one: a first
        run has nothing to compare against, so everything it finds is new)."""
        found = [f for f in self.findings_sorted() if counts(f)]
        diff = self.history.diff if self.history else None
        if not new_only or diff is None:
            return found
        changed = {(e.check_id, e.target) for e in diff.new + diff.regressed}
        return [f for f in found if f.key in changed]

    def findings_sorted(self) -> list[Finding]:
        """Failures first (riskiest first), then errors, then the rest."""
        order = {Status.FAIL: 0, Status.ERROR: 1, Status.PASS: 2, Status.SKIPPED: 3,
                 Status.NOT_APPLICABLE: 4}
        return sorted(self.findings, key=lambda f: (order[f.status], -f.risk, -f.severity.rank,
                                                    f.check_id, f.target))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema_version": REPORT_SCHEMA_VERSION,
            "scan_id": self.scan_id,
            "tool": {"name": "smbaudit", "version": self.tool_version},
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "complete": self.complete,
            "stop_reason": self.stop_reason,
            "command": self.command,
            "checks_loaded": self.checks_loaded,
            "plugins": self.plugins,
            "targets": [t.to_dict() for t in self.targets],
            "summary": self.shown_summary.to_dict(),
            "findings": [f.to_dict() for f in self.findings_sorted()],
        }
        if self.compliance is not None:
            data["compliance"] = [c.to_dict() for c in self.compliance]
        if self.history is not None:
            data["history"] = self.history.to_dict()
        if self.waivers is not None:
            data["waivers"] = self.waivers.to_dict()
        if self.vulndb is not None:
            data["vulndb"] = self.vulndb.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """Rebuild a report from its JSON form (stored scans are re-rendered this way)."""
        findings = [Finding.from_dict(f) for f in data["findings"]]
        targets = [TargetInfo.from_dict(t) for t in data["targets"]]
        summary = summarize(findings, targets, data["complete"])
        stored = data.get("summary") or {}
        keep = Summary.from_dict(stored) if stored and \
            stored.get("scoring_version", "1") != SCORING_VERSION else None
        return cls(
            stored_summary=keep,
            scan_id=data["scan_id"],
            started_at=datetime.fromisoformat(data["started_at"]),
            finished_at=datetime.fromisoformat(data["finished_at"]),
            complete=data["complete"],
            targets=targets,
            findings=findings,
            summary=summary,
            tool_version=data.get("tool", {}).get("version", __version__),
            stop_reason=data.get("stop_reason", ""),
            command=data.get("command", []),
            checks_loaded=data.get("checks_loaded", 0),
            plugins=data.get("plugins", []),
            compliance=[FrameworkSection.from_dict(c) for c in data["compliance"]]
            if data.get("compliance") is not None else None,
            history=HistorySection.from_dict(data["history"]) if data.get("history") else None,
            waivers=WaiverOutcome.from_dict(data["waivers"]) if data.get("waivers") else None,
            vulndb=VulnDataSection.from_dict(data["vulndb"]) if data.get("vulndb") else None,
        )


def build(*, scan_id: str, started_at: datetime, finished_at: datetime, complete: bool,
          targets: list[TargetInfo], findings: list[Finding], stop_reason: str = "",
          command: list[str] | None = None, checks_loaded: int = 0,
          plugins: list[str] | None = None) -> Report:
    """The report of a finished (or interrupted) scan. The last step that completes a finding
    (its `risk`, after the engine and the waivers): from here on nothing changes a finding."""
    for f in findings:
        f.risk = finding_risk(f)
    return Report(scan_id=scan_id, started_at=started_at, finished_at=finished_at,
                  complete=complete, targets=targets, findings=findings,
                  summary=summarize(findings, targets, complete), stop_reason=stop_reason, command=command or [],
                  checks_loaded=checks_loaded, plugins=plugins or [])
