"""Comparing scans: typed scans (`StoredScan`), the diff between two of them, the report's
"since the last scan" section and the trend points, and rescoring a stored report scored
under an older scoring version. No storage here: `history.py` keeps the scans and re-exports
these names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from smbaudit.models import Finding, Severity, Status, TargetInfo
from smbaudit.scoring import SCORING_VERSION, is_letter
from smbaudit.scoring import score as score_findings

@dataclass(frozen=True)
class Rescored:
    """A stored scan's score and grade under the current scoring version."""

    score: float | None
    grade: str | None
    version: str  # SCORING_VERSION, or the stored one when the scan could not be rescored
    scored_as: str  # the version the stored report was scored with


def stored_version(report: dict[str, Any]) -> str:
    """The scoring version a stored report was scored with (reports before versions: "1")."""
    return str((report.get("summary") or {}).get("scoring_version") or "1")


def rescore(report: dict[str, Any]) -> Rescored:
    """A stored report's score under the current scoring version: as stored when it was scored
    with it, else recomputed from its stored findings and targets (the score is a function of
    them alone). One that cannot be read keeps its old version, so it is never compared."""
    summary = report.get("summary") or {}
    version = stored_version(report)
    if version == SCORING_VERSION:
        return Rescored(summary.get("score"), summary.get("grade"), version, version)
    try:
        findings = [Finding.from_dict(f) for f in report["findings"]]
        targets = [TargetInfo.from_dict(t) for t in report["targets"]]
        again = score_findings(findings, targets, bool(report["complete"]))
    except (KeyError, TypeError, ValueError):
        return Rescored(summary.get("score"), summary.get("grade"), version, version)
    return Rescored(again.score, again.grade, SCORING_VERSION, version)


_REASSESSED = (Status.PASS, Status.NOT_APPLICABLE)


@dataclass(frozen=True)
class DiffEntry:
    """One failing (or formerly failing) finding in a diff."""

    check_id: str
    target: str
    title: str
    severity: Severity
    old_status: Status | None
    new_status: Status | None
    old_severity: Severity | None = None
    waived: bool = False  # a live waiver covers it in the newer scan
    location: str | None = None
    problem: str = ""  # the failure's headline (the newer one, or the older when fixed)

    @property
    def headline(self) -> str:
        return self.problem or self.title

    def to_dict(self) -> dict[str, Any]:
        return {"check_id": self.check_id, "target": self.target, "title": self.title,
                "problem": self.problem, "severity": self.severity.value,
                "old_severity": self.old_severity.value if self.old_severity else None,
                "old_status": self.old_status.value if self.old_status else None,
                "new_status": self.new_status.value if self.new_status else None,
                "waived": self.waived, "location": self.location}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DiffEntry:
        return cls(check_id=d["check_id"], target=d["target"], title=d["title"],
                   severity=Severity(d["severity"]),
                   old_status=Status(d["old_status"]) if d.get("old_status") else None,
                   new_status=Status(d["new_status"]) if d.get("new_status") else None,
                   old_severity=Severity(d["old_severity"]) if d.get("old_severity") else None,
                   waived=bool(d.get("waived")), location=d.get("location"),
                   problem=d.get("problem", ""))


@dataclass(frozen=True)
class ScanBrief:
    """A scan as a diff or the trend names it."""

    scan_id: str
    started_at: str
    targets: tuple[str, ...]
    score: float | None
    grade: str | None
    complete: bool
    # The scoring version of `score` (the current one, unless the scan could not be
    # rescored), and the one its stored report was scored with.
    scoring_version: str = SCORING_VERSION
    scored_as: str = SCORING_VERSION

    @property
    def graded(self) -> bool:
        return is_letter(self.grade) and self.score is not None

    @property
    def rescored(self) -> bool:
        return self.scored_as != self.scoring_version

    def to_dict(self) -> dict[str, Any]:
        return {"scan_id": self.scan_id, "started_at": self.started_at,
                "targets": list(self.targets), "score": self.score, "grade": self.grade,
                "complete": self.complete, "scoring_version": self.scoring_version,
                "scored_as": self.scored_as}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ScanBrief:
        version = str(d.get("scoring_version") or "1")
        return cls(scan_id=d["scan_id"], started_at=d["started_at"],
                   targets=tuple(d.get("targets", ())), score=d.get("score"),
                   grade=d.get("grade"), complete=bool(d.get("complete", True)),
                   scoring_version=version, scored_as=str(d.get("scored_as") or version))


@dataclass
class StoredScan:
    """A scan as history compares it: typed targets and findings, and its score under the
    current scoring version (`brief`). Built from a stored report (`from_dict`), or from the
    report of the scan being recorded (`Report.as_stored`)."""

    brief: ScanBrief
    targets: list[TargetInfo]
    findings: list[Finding]
    tool_version: str | None = None

    @property
    def scan_id(self) -> str:
        return self.brief.scan_id

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.targets]

    @property
    def failing(self) -> list[tuple[str, str]]:
        return [f.key for f in self.findings if f.status is Status.FAIL]

    @classmethod
    def from_dict(cls, report: dict[str, Any]) -> StoredScan:
        """A stored JSON report (rescored when it was scored under an older version)."""
        scored = rescore(report)
        targets = [TargetInfo.from_dict(t) for t in report["targets"]]
        brief = ScanBrief(scan_id=report["scan_id"], started_at=report["started_at"],
                          targets=tuple(sorted(t.name for t in targets)),
                          score=scored.score, grade=scored.grade,
                          complete=bool(report["complete"]), scoring_version=scored.version,
                          scored_as=scored.scored_as)
        return cls(brief=brief, targets=targets,
                   findings=[Finding.from_dict(f) for f in report["findings"]],
                   tool_version=(report.get("tool") or {}).get("version"))


_BUCKETS = ("new", "resolved", "regressed", "unchanged", "not_reassessed")


@dataclass
class ScanDiff:
    """What changed between an older and a newer scan."""

    old_scan: ScanBrief
    new_scan: ScanBrief
    new: list[DiffEntry] = field(default_factory=list)
    resolved: list[DiffEntry] = field(default_factory=list)
    regressed: list[DiffEntry] = field(default_factory=list)
    unchanged: list[DiffEntry] = field(default_factory=list)
    not_reassessed: list[DiffEntry] = field(default_factory=list)  # failed, then error/skipped
    notes: list[str] = field(default_factory=list)
    comparable: bool = True

    @property
    def score_change(self) -> float | None:
        """New minus old score; None unless both scans have a letter grade (a scan that was
        not assessed, incomplete or interrupted is never "better" or "worse")."""
        old, new = self.old_scan, self.new_scan
        if not (old.graded and new.graded) or old.score is None or new.score is None \
                or old.scoring_version != new.scoring_version:
            return None
        return round(float(new.score) - float(old.score), 1)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "old_scan": self.old_scan.to_dict(),
            "new_scan": self.new_scan.to_dict(),
            "score_change": self.score_change,
            "comparable": self.comparable,
            "notes": self.notes,
        }
        for key in _BUCKETS:
            data[key] = [e.to_dict() for e in getattr(self, key)]
        return data

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ScanDiff:
        buckets = {key: [DiffEntry.from_dict(e) for e in d.get(key, [])] for key in _BUCKETS}
        return cls(old_scan=ScanBrief.from_dict(d["old_scan"]),
                   new_scan=ScanBrief.from_dict(d["new_scan"]), notes=list(d.get("notes", [])),
                   comparable=bool(d.get("comparable", True)), **buckets)


@dataclass(frozen=True)
class TrendPoint:
    scan_id: str
    started_at: str
    score: float | None
    grade: str | None
    complete: bool
    scoring_version: str = SCORING_VERSION

    @property
    def comparable(self) -> bool:
        """Drawn beside this version's scores: scored (or rescored) under the current one."""
        return self.scoring_version == SCORING_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {"scan_id": self.scan_id, "started_at": self.started_at, "score": self.score,
                "grade": self.grade, "complete": self.complete,
                "scoring_version": self.scoring_version}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrendPoint:
        return cls(scan_id=d["scan_id"], started_at=d["started_at"], score=d.get("score"),
                   grade=d.get("grade"), complete=bool(d.get("complete", True)),
                   scoring_version=str(d.get("scoring_version") or "1"))


@dataclass
class HistorySection:
    """The report's "since the last scan": the previous comparable scan, the diff against it
    (None for the first scan of these targets) and the score trend, this scan included."""

    previous: ScanBrief | None = None
    diff: ScanDiff | None = None
    trend: list[TrendPoint] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"previous": self.previous.to_dict() if self.previous else None,
                "diff": self.diff.to_dict() if self.diff else None,
                "trend": [p.to_dict() for p in self.trend]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HistorySection:
        return cls(previous=ScanBrief.from_dict(d["previous"]) if d.get("previous") else None,
                   diff=ScanDiff.from_dict(d["diff"]) if d.get("diff") else None,
                   trend=[TrendPoint.from_dict(p) for p in d.get("trend", [])])


def _findings(scan: StoredScan) -> dict[tuple[str, str], Finding]:
    return {f.key: f for f in scan.findings}


def _entry(f: Finding, old: Finding | None, new: Finding | None) -> DiffEntry:
    live = bool(new and new.waived)
    failing = new if new is not None and new.status is Status.FAIL else old
    return DiffEntry(check_id=f.check_id, target=f.target, title=f.title,
                     severity=f.severity,
                     old_status=old.status if old else None,
                     new_status=new.status if new else None,
                     old_severity=old.severity if old else None, waived=live,
                     location=f.location, problem=failing.problem if failing else "")


def _sort_key(e: DiffEntry) -> tuple[int, str, str]:
    return (-e.severity.rank, e.check_id, e.target)


def diff(old: StoredScan, new: StoredScan,
         failed_earlier: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset()
         ) -> ScanDiff:
    """Compare two scans (typed findings; an older scoring version already rescored).

    new        fails now, did not fail in the older scan (and never failed before it)
    regressed  fails now with a higher severity, or fails again after it had been resolved
               (it failed in a scan before the older one: `failed_earlier`)
    resolved   failed in the older scan, passes (or no longer applies) now
    unchanged  failed in both
    not_reassessed  failed in the older scan, could not be assessed now (error, skipped, gone)
    """
    result = ScanDiff(old_scan=old.brief, new_scan=new.brief)
    before, after = _findings(old), _findings(new)
    for key, f in after.items():
        if f.status is not Status.FAIL:
            continue
        prev = before.get(key)
        if prev is not None and prev.status is Status.FAIL:
            bucket = result.regressed if f.severity.rank > prev.severity.rank else result.unchanged
        elif key in failed_earlier:
            bucket = result.regressed
        else:
            bucket = result.new
        bucket.append(_entry(f, prev, f))
    for key, prev in before.items():
        if prev.status is not Status.FAIL:
            continue
        now = after.get(key)
        if now is not None and now.status is Status.FAIL:
            continue
        bucket = result.resolved if now is not None and now.status in _REASSESSED \
            else result.not_reassessed
        bucket.append(_entry(now or prev, prev, now))
    for bucket in (result.new, result.resolved, result.regressed, result.unchanged,
                   result.not_reassessed):
        bucket.sort(key=_sort_key)
    _comparability(old, new, result)
    return result


def _comparability(old: StoredScan, new: StoredScan, result: ScanDiff) -> None:
    """Scores and deltas only mean something between like scans: say when they are not."""
    notes = result.notes
    if result.old_scan.targets != result.new_scan.targets:
        notes.append("the scans cover different targets")
    old_checks = {f.check_id for f in old.findings}
    new_checks = {f.check_id for f in new.findings}
    if old_checks != new_checks:
        added, removed = len(new_checks - old_checks), len(old_checks - new_checks)
        notes.append(f"the check sets differ ({added} added, {removed} removed)")
    old_v, new_v = result.old_scan.scoring_version, result.new_scan.scoring_version
    if old_v != new_v:
        notes.append(f"the scans are scored under different scoring versions ({old_v}, "
                     f"{new_v}) and could not be rescored: scores are not comparable")
    for label, brief in (("older", result.old_scan), ("newer", result.new_scan)):
        if not brief.complete:
            notes.append(f"the {label} scan did not finish: its missing checks are not "
                         "counted as resolved or new")
        elif not is_letter(brief.grade):
            notes.append(f"the {label} scan was not fully assessed (grade "
                         f"{brief.grade}): its score is not compared")
    result.comparable = not notes
    for label, brief in (("older", result.old_scan), ("newer", result.new_scan)):
        if brief.rescored and brief.scoring_version == SCORING_VERSION:
            notes.append(f"the {label} scan was scored with scoring version {brief.scored_as}:"
                         f" its score was recomputed from its stored findings with version "
                         f"{brief.scoring_version}")
    old_tool, new_tool = old.tool_version, new.tool_version
    if old_tool != new_tool:
        notes.append(f"smbaudit version changed ({old_tool} -> {new_tool})")
