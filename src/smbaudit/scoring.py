"""The risk score: 0 (no known risk) to 100, explainable, and never averaged away.

For every failing finding f:   risk f = min(10, severity points x exposure)
    severity points: critical 10, high 7, medium 4, low 1, info 0
    exposure: 1.5 when the finding is on a network-exposed service, else 1.0
Per target ("the worst issue sets the floor, the rest fills the headroom"):
    R = f_max + (10 - f_max) x min(1, (sum f - f_max) / K),   K = 100
Overall score = 10 x the highest target R.  Grade: A < 20 <= B < 40 <= C < 60 <= D < 80 <= F.

So one critical finding scores 100 (F) whatever else passes, one high lands in D, and many
small findings still add up. Findings with a live waiver are left out (the report also gives
the score without waivers).

What was not assessed is never scored as if it were clean:
- a target that was not reached, or where no check could be assessed (all ERROR / SKIPPED),
  has no score and the grade "Not assessed"; when no target was assessed the scan has neither;
- when some target was not assessed, or more than 10% of the checks could not be assessed
  (ERROR / SKIPPED), the grade reads "Incomplete" instead of a letter;
- a remote host only partly assessed (connection lost mid-scan, too many checks not assessed:
  its TargetInfo `state`) keeps its score but its grade, and the scan's, read "Incomplete";
- an interrupted scan has no score and no grade ("Incomplete").
Only a letter grade is comparable with another scan.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from smbaudit.models import Finding, Severity, Status, TargetInfo
from smbaudit.targets.hoststate import HostState

SCORING_VERSION = "1"
SEVERITY_POINTS = {
    Severity.CRITICAL: 10.0,
    Severity.HIGH: 7.0,
    Severity.MEDIUM: 4.0,
    Severity.LOW: 1.0,
    Severity.INFO: 0.0,
}
NETWORK_EXPOSURE = 1.5
HEADROOM_K = 100.0
GRADE_BANDS = ((20, "A"), (40, "B"), (60, "C"), (80, "D"))
ERROR_GATE = 0.10  # share of checks that could not be assessed past which no letter is given
NOT_ASSESSED = "Not assessed"
INCOMPLETE = "Incomplete"
LETTERS = ("A", "B", "C", "D", "F")
_UNASSESSED = (Status.ERROR, Status.SKIPPED)
TOP_CONTRIBUTORS = 10

FORMULA = (
    "risk per failing finding = min(10, severity points [critical 10, high 7, medium 4, low 1, "
    "info 0] x 1.5 if network-exposed); per target R = worst + (10 - worst) x min(1, (sum - worst)"
    " / 100); score = 10 x highest R; grade A <20, B <40, C <60, D <80, F >=80"
)


def finding_risk(f: Finding) -> float:
    """The risk one finding carries if it fails (0 for anything that is not a failure)."""
    if f.status is not Status.FAIL:
        return 0.0
    points = SEVERITY_POINTS[f.severity] * (NETWORK_EXPOSURE if f.network_exposed else 1.0)
    return round(min(10.0, points), 2)


def _counted(f: Finding, with_waivers: bool) -> bool:
    """Whether a failure counts: a live (unexpired) waiver takes it out of the score."""
    return f.status is Status.FAIL and not (with_waivers and f.waived)


def target_risk(risks: list[float]) -> float:
    if not risks:
        return 0.0
    worst = max(risks)
    rest = sum(risks) - worst
    return round(worst + (10.0 - worst) * min(1.0, rest / HEADROOM_K), 2)


def grade_for(score: float) -> str:
    for bound, letter in GRADE_BANDS:
        if score < bound:
            return letter
    return "F"


def score_text(value: float | None) -> str:
    """A score for reading: "42", or "not assessed" when there is none."""
    return "not assessed" if value is None else f"{value:.0f}"


def is_letter(grade: str | None) -> bool:
    """Whether a grade is a letter: only then is a score comparable with another scan's."""
    return grade in LETTERS


@dataclass(frozen=True)
class TargetScore:
    """One target's score; `score` is None when the target was not assessed (`reason` says
    why: not reached, nothing could be read, no check applies)."""

    target: str
    score: float | None
    grade: str
    failed: int = 0
    worst: float = 0.0
    reason: str = ""

    @property
    def assessed(self) -> bool:
        return self.score is not None

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "score": self.score, "grade": self.grade,
                "failed": self.failed, "worst": self.worst, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TargetScore:
        return cls(target=data["target"], score=data.get("score"), grade=data["grade"],
                   failed=data.get("failed", 0), worst=data.get("worst", 0.0),
                   reason=data.get("reason", ""))


@dataclass(frozen=True)
class Contributor:
    """One failing finding among those that drive the score most."""

    check_id: str
    title: str
    problem: str
    target: str
    severity: Severity
    risk: float
    network_exposed: bool

    def to_dict(self) -> dict[str, Any]:
        return {"check_id": self.check_id, "title": self.title, "problem": self.problem,
                "target": self.target, "severity": self.severity.value, "risk": self.risk,
                "network_exposed": self.network_exposed}


@dataclass
class Score:
    score: float | None  # None: nothing was assessed, or the scan was interrupted
    grade: str  # a letter, "Incomplete" or "Not assessed"
    score_without_waivers: float | None
    per_target: list[TargetScore]
    top_contributors: list[Contributor]
    gates: list[str] = field(default_factory=list)  # why the grade is not a letter
    network_weighted: int = 0  # failing findings that carried the network-exposure weight

    @property
    def graded(self) -> bool:
        """A letter grade: the scan was assessed completely enough to compare."""
        return is_letter(self.grade)

    @property
    def label(self) -> str:
        """The score as a reader sees it: "42/100 (C)", "not assessed", ..."""
        if self.score is None:
            return self.grade.lower() if self.grade == NOT_ASSESSED else \
                f"no score ({self.grade.lower()})"
        return f"{self.score:.0f}/100 ({self.grade})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "grade": self.grade,
            "score_without_waivers": self.score_without_waivers,
            "per_target": [t.to_dict() for t in self.per_target],
            "top_contributors": [c.to_dict() for c in self.top_contributors],
            "gates": self.gates,
            "network_weighted": self.network_weighted,
            "formula": FORMULA,
            "scoring_version": SCORING_VERSION,
        }


def _risks(findings: Iterable[Finding], with_waivers: bool) -> dict[str, list[float]]:
    by_target: dict[str, list[float]] = {}
    for f in findings:
        by_target.setdefault(f.target, [])
        if _counted(f, with_waivers):
            by_target[f.target].append(finding_risk(f))
    return by_target


def _why_not_assessed(mine: list[Finding], info: TargetInfo | None) -> str:
    """Why a target has no score ("" when it has one)."""
    if info is not None and not info.reachable:
        return f"not reached: {info.error}" if info.error else "not reached"
    if any(f.status in (Status.PASS, Status.FAIL) for f in mine):
        return ""
    if any(f.status in _UNASSESSED for f in mine):
        return "no check could be assessed"
    return "no check applies"


def _target_scores(findings: list[Finding], targets: Sequence[TargetInfo]) -> list[TargetScore]:
    infos = {t.name: t for t in targets}
    by_target: dict[str, list[Finding]] = {}
    for f in findings:
        by_target.setdefault(f.target, []).append(f)
    # Targets without findings are listed only when they were not reached (range summaries
    # and hosts found by discovery carry no checks of their own).
    names = list(by_target) + [t.name for t in targets
                               if not t.reachable and t.name not in by_target]
    risks = _risks(findings, with_waivers=True)
    result = []
    for name in names:
        mine = by_target.get(name, [])
        why = _why_not_assessed(mine, infos.get(name))
        if why:
            result.append(TargetScore(name, None, NOT_ASSESSED, reason=why))
            continue
        r = risks.get(name, [])
        value = round(10 * target_risk(r), 1)
        details = infos[name].details if name in infos else {}
        partly = details.get("state") == HostState.PARTLY_ASSESSED.value
        result.append(TargetScore(name, value, INCOMPLETE if partly else grade_for(value),
                                  failed=len(r), worst=max(r, default=0.0),
                                  reason=str(details.get("state_reason", "")) if partly else ""))
    result.sort(key=lambda t: (t.score is not None, -(t.score or 0), t.target))
    return result


def _overall(per_target: list[TargetScore], findings: list[Finding],
             with_waivers: bool) -> float | None:
    assessed = {t.target for t in per_target if t.assessed}
    if not assessed:
        return None
    risks = _risks((f for f in findings if f.target in assessed), with_waivers)
    return round(10.0 * max(target_risk(r) for r in risks.values()), 1)


def score(findings: list[Finding], targets: Sequence[TargetInfo] = (),
          complete: bool = True) -> Score:
    """Score the findings (setting each one's `risk`) and explain the result. `targets`
    (as the report lists them) tells which were not reached; `complete` is False for an
    interrupted scan, which gets no score."""
    for f in findings:
        f.risk = finding_risk(f)
    per_target = _target_scores(findings, targets)
    overall = _overall(per_target, findings, with_waivers=True)
    without = _overall(per_target, findings, with_waivers=False)
    counted = sorted((f for f in findings if _counted(f, True) and f.risk > 0),
                     key=lambda f: (-f.risk, -f.severity.rank, f.check_id, f.target))
    top = [Contributor(check_id=f.check_id, title=f.title, problem=f.headline, target=f.target,
                       severity=f.severity, risk=f.risk, network_exposed=f.network_exposed)
           for f in counted[:TOP_CONTRIBUTORS]]
    gates = []
    grade = NOT_ASSESSED if overall is None else grade_for(overall)
    missed = [t for t in per_target if not t.assessed and t.reason != "no check applies"]
    if overall is None:
        gates.append("nothing was assessed: " + "; ".join(f"{t.target}: {t.reason}"
                                                           for t in missed or per_target)
                     if per_target else "nothing was assessed: no target, no check")
    elif missed:
        gates.append(f"{len(missed)} of {len(per_target)} target(s) could not be assessed "
                     f"({'; '.join(f'{t.target}: {t.reason}' for t in missed)}): the score "
                     "covers the others only")
        grade = INCOMPLETE
    partly = [t for t in per_target if t.assessed and t.grade == INCOMPLETE]
    if overall is not None and partly:
        gates.append(f"{len(partly)} of {len(per_target)} target(s) only partly assessed "
                     f"({'; '.join(f'{t.target}: {t.reason}' for t in partly)})")
        grade = INCOMPLETE
    statuses = Counter(f.status for f in findings)
    selected = sum(n for s, n in statuses.items() if s is not Status.NOT_APPLICABLE)
    unassessed = sum(statuses[s] for s in _UNASSESSED)
    if overall is not None and selected and unassessed / selected > ERROR_GATE:
        gates.append(f"{unassessed} of {selected} checks could not be assessed (over "
                     f"{ERROR_GATE:.0%}): the grade cannot be trusted")
        grade = INCOMPLETE
    if not complete:
        gates.append("the scan was interrupted: the findings are partial, so there is no score "
                     "and no grade")
        overall = without = None
        grade = INCOMPLETE if grade != NOT_ASSESSED else grade
    return Score(score=overall, grade=grade, score_without_waivers=without, per_target=per_target,
                 top_contributors=top, gates=gates,
                 network_weighted=sum(1 for f in counted if f.network_exposed))
