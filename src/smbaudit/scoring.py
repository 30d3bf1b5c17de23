"""The risk score: 0 (no known risk) to 100, explainable, and never averaged away.

For every failing finding f:   risk f = min(10, severity points x exposure)
    severity points: critical 10, high 7, medium 4, low 1, info 0
    exposure: 1.5 when the finding is on a network-exposed service, else 1.0
Per target ("the worst issue sets the floor, the rest fills the headroom"):
    R = f_max + (10 - f_max) x min(1, (sum f - f_max) / K),   K = 100
Overall score = 10 x the highest target R.  Grade: A < 20 <= B < 40 <= C < 60 <= D < 80 <= F.

So one critical finding scores 100 (F) whatever else passes, one high lands in D, and many
small findings still add up. Findings with a live waiver are left out (the report also gives
the score without waivers); errors are not scored, but when more than 20% of the checks
ended in error the grade reads "Incomplete" instead of a letter.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from smbaudit.models import Finding, Severity, Status

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
ERROR_GATE = 0.20
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
    return f.status is Status.FAIL and not (with_waivers and f.waiver and not f.waiver.expired)


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


@dataclass
class Score:
    score: float
    grade: str
    score_without_waivers: float
    per_target: list[dict[str, Any]]
    top_contributors: list[dict[str, Any]]
    gates: list[str] = field(default_factory=list)
    network_weighted: int = 0  # failing findings that carried the network-exposure weight

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "grade": self.grade,
            "score_without_waivers": self.score_without_waivers,
            "per_target": self.per_target,
            "top_contributors": self.top_contributors,
            "gates": self.gates,
            "network_weighted": self.network_weighted,
            "formula": FORMULA,
            "scoring_version": SCORING_VERSION,
        }


def _overall(findings: list[Finding], with_waivers: bool) -> tuple[float, dict[str, list[float]]]:
    by_target: dict[str, list[float]] = {}
    for f in findings:
        by_target.setdefault(f.target, [])
        if _counted(f, with_waivers):
            by_target[f.target].append(finding_risk(f))
    worst = max((target_risk(r) for r in by_target.values()), default=0.0)
    return round(10.0 * worst, 1), by_target


def score(findings: list[Finding]) -> Score:
    """Score the findings (setting each one's `risk`) and explain the result."""
    for f in findings:
        f.risk = finding_risk(f)
    overall, by_target = _overall(findings, with_waivers=True)
    without, _ = _overall(findings, with_waivers=False)
    per_target: list[dict[str, Any]] = []
    for name, risks in by_target.items():
        r = target_risk(risks)
        per_target.append({"target": name, "score": round(10 * r, 1), "grade": grade_for(10 * r),
                           "failed": len(risks), "worst": max(risks, default=0.0)})
    per_target.sort(key=lambda t: (-t["score"], t["target"]))
    counted = sorted((f for f in findings if _counted(f, True) and f.risk > 0),
                     key=lambda f: (-f.risk, -f.severity.rank, f.check_id, f.target))
    top = [{"check_id": f.check_id, "title": f.title, "problem": f.headline, "target": f.target,
            "severity": f.severity.value, "risk": f.risk, "network_exposed": f.network_exposed}
           for f in counted[:TOP_CONTRIBUTORS]]
    gates = []
    statuses = Counter(f.status for f in findings)
    assessed = sum(n for s, n in statuses.items() if s is not Status.NOT_APPLICABLE)
    grade = grade_for(overall)
    if assessed and statuses[Status.ERROR] / assessed > ERROR_GATE:
        gates.append(f"{statuses[Status.ERROR]} of {assessed} checks ended in error (over "
                     f"{ERROR_GATE:.0%}): the grade cannot be trusted")
        grade = "Incomplete"
    return Score(score=overall, grade=grade, score_without_waivers=without, per_target=per_target,
                 top_contributors=top, gates=gates,
                 network_weighted=sum(1 for f in counted if f.network_exposed))
