"""The risk score: risk points that add up, so every fix shows, with a grade from bands.

Scoring version 2 (version 1 capped at 100, so one critical problem and nine of them both
scored 100 and fixing two of nine changed nothing).

For every failing finding f that counts (no live waiver):
    points f = severity points x exposure
        severity points: critical 40, high 10, medium 3, low 1, info 0 (a note, not a problem)
        exposure: 2 when the finding is on a network-exposed service, else 1
Per target:   score = the sum of its findings' points
Overall:      score = the sum over the targets that were assessed
Grade per target, from its score:
    A below 5, B below 15, C below 25, D below 40, F from 40.
Overall grade: the worst grade among the assessed targets (not the grade of the summed score:
ten hosts each graded B are a B fleet, not an F one; the summed score still shows every fix).
A critical problem alone is 40 points, so one critical finding puts its target and the scan in
F; there is no ceiling, so a host with many serious problems scores far above one with a
single critical, and fixing any problem (low or worse) lowers the score by its points: the
report lists, for the top contributors, the score and grade fixing each would leave.
Findings with a live waiver are left out (the report also gives the score without waivers).

What was not assessed is never scored as if it were clean:
- a target that was not reached, or where no check could be assessed (all ERROR / SKIPPED),
  has no score and the grade "Not assessed"; when no target was assessed the scan has neither;
- when some target was not assessed, or more than 10% of the checks could not be assessed
  (ERROR / SKIPPED), the grade reads "Incomplete" instead of a letter;
- a remote host only partly assessed (connection lost mid-scan, too many checks not assessed:
  its TargetInfo `state`) keeps its score but its grade, and the scan's, read "Incomplete";
- an interrupted scan has no score and no grade ("Incomplete").
Only a letter grade is comparable with another scan, and only under the same scoring version
(history recomputes older scans' scores from their stored findings).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from smbaudit.models import Finding, Severity, Status, TargetInfo
from smbaudit.targets.hoststate import HostState

SCORING_VERSION = "2"
SEVERITY_POINTS = {
    Severity.CRITICAL: 40.0,
    Severity.HIGH: 10.0,
    Severity.MEDIUM: 3.0,
    Severity.LOW: 1.0,
    Severity.INFO: 0.0,
}
NETWORK_EXPOSURE = 2.0
# (upper bound, grade): a score below the bound gets the grade; F from the last bound on.
GRADE_BANDS = ((5.0, "A"), (15.0, "B"), (25.0, "C"), (40.0, "D"))
WORST_BAND_FROM = GRADE_BANDS[-1][0]
ERROR_GATE = 0.10  # share of checks that could not be assessed past which no letter is given
NOT_ASSESSED = "Not assessed"
INCOMPLETE = "Incomplete"
LETTERS = ("A", "B", "C", "D", "F")
_UNASSESSED = (Status.ERROR, Status.SKIPPED)
TOP_CONTRIBUTORS = 10

FORMULA = (
    "each failing finding adds its risk points: critical 40, high 10, medium 3, low 1, "
    "info 0, doubled when the finding is reachable over the network; a target's score is the "
    "sum of its findings' points and the overall score the sum over the targets, with no "
    "ceiling; a target's grade is A below 5, B below 15, C below 25, D below 40, F from 40 "
    "(one critical problem alone is 40), and the overall grade is the worst target's grade; "
    "fixing any problem lowers the score by its points"
)
GRADE_MEANING = {
    "A": "fewer than 5 risk points",
    "B": "5 to 14 risk points",
    "C": "15 to 24 risk points",
    "D": "25 to 39 risk points",
    "F": "40 risk points or more: one critical problem alone is 40",
}
SCALE = "A <5 · B <15 · C <25 · D <40 · F 40+ (one critical is 40)"
SCALE_SEVERAL = "per target; overall: the worst target's grade"


def finding_risk(f: Finding) -> float:
    """The risk points one finding carries if it fails (0 for anything that is not a failure)."""
    if f.status is not Status.FAIL:
        return 0.0
    return SEVERITY_POINTS[f.severity] * (NETWORK_EXPOSURE if f.network_exposed else 1.0)


def counts(f: Finding, with_waivers: bool = True) -> bool:
    """Whether a finding counts in the score: it fails and (with waivers) no live waiver
    covers it."""
    return f.status is Status.FAIL and not (with_waivers and f.waived)


def grade_for(score: float) -> str:
    for bound, letter in GRADE_BANDS:
        if score < bound:
            return letter
    return "F"


def worst_grade(target_scores: Iterable[float]) -> str:
    """The overall grade: the worst of the targets' grades (the grade of the highest target
    score, as the bands rise with the score); A with no target."""
    return grade_for(max(target_scores, default=0.0))


def points_text(value: float) -> str:
    """Risk points for reading: "12", or "4.5" for a fraction (older scoring versions)."""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def points_label(value: float) -> str:
    """"1 point", "12 points"."""
    return f"{points_text(value)} point{'' if value == 1 else 's'}"


def plural(n: float, word: str) -> str:
    """"1 finding", "3 findings" (a word made plural with s)."""
    return f"{points_text(n)} {word}{'' if n == 1 else 's'}"


def score_text(value: float | None) -> str:
    """A score for reading: "42", or "not assessed" when there is none."""
    return "not assessed" if value is None else points_text(value)


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

    @property
    def label(self) -> str:
        if self.score is None:
            return f"{self.grade.lower()} ({self.reason})" if self.reason else self.grade.lower()
        return f"{score_text(self.score)} ({self.grade})"

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
    """One failing finding among those that drive the score most, with what fixing it would
    leave (None when the scan has no score)."""

    check_id: str
    title: str
    problem: str
    target: str
    severity: Severity
    risk: float
    network_exposed: bool
    score_if_fixed: float | None = None
    grade_if_fixed: str | None = None
    target_score_if_fixed: float | None = None

    @property
    def headline(self) -> str:
        return self.problem or self.title

    def to_dict(self) -> dict[str, Any]:
        return {"check_id": self.check_id, "title": self.title, "problem": self.problem,
                "target": self.target, "severity": self.severity.value, "risk": self.risk,
                "network_exposed": self.network_exposed, "score_if_fixed": self.score_if_fixed,
                "grade_if_fixed": self.grade_if_fixed,
                "target_score_if_fixed": self.target_score_if_fixed}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Contributor:
        return cls(check_id=data["check_id"], title=data.get("title", ""),
                   problem=data.get("problem", ""), target=data["target"],
                   severity=Severity(data["severity"]), risk=float(data["risk"]),
                   network_exposed=bool(data.get("network_exposed", False)),
                   score_if_fixed=data.get("score_if_fixed"),
                   grade_if_fixed=data.get("grade_if_fixed"),
                   target_score_if_fixed=data.get("target_score_if_fixed"))


@dataclass(frozen=True)
class BreakdownRow:
    """The counted failing findings of one severity and the points they add."""

    severity: Severity
    count: int
    points: float

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity.value, "count": self.count, "points": self.points}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BreakdownRow:
        return cls(Severity(data["severity"]), int(data["count"]), float(data["points"]))


@dataclass(frozen=True)
class Breakdown:
    """Where the overall score's points come from."""

    rows: tuple[BreakdownRow, ...] = ()
    network_count: int = 0  # counted findings whose points were doubled
    network_points: float = 0.0  # the points the doubling added
    waived_count: int = 0  # failing findings left out under a live waiver
    waived_points: float = 0.0

    @property
    def total(self) -> float:
        return sum((r.points for r in self.rows), 0.0)

    @property
    def failing(self) -> int:
        return sum(r.count for r in self.rows)

    def sentence(self) -> str:
        """The breakdown in plain words."""
        if not self.failing:
            text = "No failing finding counts, so there are no risk points"
        else:
            parts = ", ".join(f"{r.count} {r.severity.value} ({points_label(r.points)})"
                              for r in self.rows if r.count)
            text = (f"{plural(self.total, 'risk point')} from "
                    f"{plural(self.failing, 'failing finding')}: {parts}")
            if self.network_count:
                n = self.network_count
                text += (f"; {n} of them {'is' if n == 1 else 'are'} reachable over the network"
                         f" and count{'s' if n == 1 else ''} double "
                         f"(+{points_label(self.network_points)})")
        if self.waived_count:
            text += (f"; {self.waived_count} accepted risk{'' if self.waived_count == 1 else 's'}"
                     f" (waived) left out ({points_label(self.waived_points)})")
        return text + "."

    def to_dict(self) -> dict[str, Any]:
        return {"rows": [r.to_dict() for r in self.rows], "network_count": self.network_count,
                "network_points": self.network_points, "waived_count": self.waived_count,
                "waived_points": self.waived_points}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Breakdown:
        return cls(rows=tuple(BreakdownRow.from_dict(r) for r in data.get("rows", [])),
                   network_count=int(data.get("network_count", 0)),
                   network_points=float(data.get("network_points", 0.0)),
                   waived_count=int(data.get("waived_count", 0)),
                   waived_points=float(data.get("waived_points", 0.0)))


@dataclass
class Score:
    score: float | None  # None: nothing was assessed, or the scan was interrupted
    grade: str  # a letter, "Incomplete" or "Not assessed"
    score_without_waivers: float | None
    per_target: list[TargetScore]
    top_contributors: list[Contributor]
    gates: list[str] = field(default_factory=list)  # why the grade is not a letter
    network_weighted: int = 0  # failing findings that carried the network-exposure weight
    breakdown: Breakdown = field(default_factory=Breakdown)
    # The grade fixing every critical and high problem would leave (None: no letter grade).
    grade_if_serious_fixed: str | None = None
    # A stored report keeps the version and formula it was scored with.
    scoring_version: str = SCORING_VERSION
    formula: str = FORMULA

    @property
    def graded(self) -> bool:
        """A letter grade: the scan was assessed completely enough to compare."""
        return is_letter(self.grade)

    @property
    def current(self) -> bool:
        """Scored under this version of the formula."""
        return self.scoring_version == SCORING_VERSION

    @property
    def unit(self) -> str:
        """What the number is: risk points, or 0 to 100 for a report scored under version 1."""
        return "risk points, 0 is best" if self.current else \
            f"0 to 100, 0 is best; scoring version {self.scoring_version}"

    @property
    def several(self) -> bool:
        """More than one target was scored: the overall grade is then the worst target's."""
        return sum(1 for t in self.per_target if t.assessed) > 1

    @property
    def scale(self) -> str:
        """The grade bands in short, and how the overall grade is made with several targets."""
        return f"{SCALE}; {SCALE_SEVERAL}" if self.several else SCALE

    @property
    def label(self) -> str:
        """The score as a reader sees it: "42 (F)", "not assessed", ..."""
        if self.score is None:
            return self.grade.lower() if self.grade == NOT_ASSESSED else \
                f"no score ({self.grade.lower()})"
        return f"{score_text(self.score)} ({self.grade})"

    def drivers(self) -> list[str]:
        """What drives the score, in plain words (empty for an older scoring version, whose
        report says only what it said then)."""
        if not self.current:
            return []
        lines = [self.breakdown.sentence()]
        if self.score is not None and self.graded:
            lines.append(self.grade_sentence())
        return lines

    def grade_sentence(self) -> str:
        """What the grade means; with several targets, that it is the worst target's grade."""
        if not self.several:
            return f"Grade {self.grade}: {GRADE_MEANING[self.grade]}."
        worst = sum(1 for t in self.per_target if t.score is not None
                    and grade_for(t.score) == self.grade)
        return (f"Grade {self.grade}: the worst grade among the {self.assessed_count} targets "
                f"({worst} of them {self.grade}, {GRADE_MEANING[self.grade]}); the overall "
                "score adds up the targets' points, the grade does not.")

    @property
    def assessed_count(self) -> int:
        return sum(1 for t in self.per_target if t.assessed)

    def serious_fixed(self) -> tuple[int, float] | None:
        """How many counted critical and high problems there are, and the score with all of
        them fixed (None without a score, or with fewer than two of them)."""
        serious = [r for r in self.breakdown.rows
                   if r.severity in (Severity.CRITICAL, Severity.HIGH)]
        n = sum(r.count for r in serious)
        if self.score is None or n < 2 or not self.current:
            return None
        return n, self.score - sum((r.points for r in serious), 0.0)

    def fixes(self) -> list[str]:
        """For each top contributor, what fixing it would change the score to; then what
        fixing every critical and high problem would."""
        out = []
        for c in self.top_contributors:
            if c.score_if_fixed is None:
                continue
            grade = f" ({c.grade_if_fixed})" if c.grade_if_fixed else ""
            out.append(f"Fixing \"{c.headline}\" on {c.target} would bring the score from "
                       f"{score_text(self.score)} to {score_text(c.score_if_fixed)}{grade}.")
        serious = self.serious_fixed()
        if serious is not None:
            n, after = serious
            grade = f" ({self.grade_if_serious_fixed})" if self.grade_if_serious_fixed else ""
            out.append(f"Fixing all {n} critical and high problems would bring it to "
                       f"{score_text(after)}{grade}.")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "grade": self.grade,
            "score_without_waivers": self.score_without_waivers,
            "per_target": [t.to_dict() for t in self.per_target],
            "top_contributors": [c.to_dict() for c in self.top_contributors],
            "gates": self.gates,
            "network_weighted": self.network_weighted,
            "breakdown": self.breakdown.to_dict(),
            "grade_if_serious_fixed": self.grade_if_serious_fixed,
            "drivers": self.drivers(),
            "formula": self.formula,
            "scoring_version": self.scoring_version,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Score:
        """A summary as stored (any scoring version: missing parts stay empty)."""
        return cls(score=data.get("score"), grade=data.get("grade") or NOT_ASSESSED,
                   score_without_waivers=data.get("score_without_waivers"),
                   per_target=[TargetScore.from_dict(t) for t in data.get("per_target", [])],
                   top_contributors=[Contributor.from_dict(c)
                                     for c in data.get("top_contributors", [])],
                   gates=list(data.get("gates", [])),
                   network_weighted=int(data.get("network_weighted", 0)),
                   breakdown=Breakdown.from_dict(data.get("breakdown") or {}),
                   grade_if_serious_fixed=data.get("grade_if_serious_fixed"),
                   scoring_version=str(data.get("scoring_version") or "1"),
                   formula=str(data.get("formula", "")))


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
    result = []
    for name in names:
        mine = by_target.get(name, [])
        why = _why_not_assessed(mine, infos.get(name))
        if why:
            result.append(TargetScore(name, None, NOT_ASSESSED, reason=why))
            continue
        risks = [finding_risk(f) for f in mine if counts(f)]
        value = sum(risks, 0.0)
        details = infos[name].details if name in infos else {}
        partly = details.get("state") == HostState.PARTLY_ASSESSED.value
        result.append(TargetScore(name, value, INCOMPLETE if partly else grade_for(value),
                                  failed=len(risks), worst=max(risks, default=0.0),
                                  reason=str(details.get("state_reason", "")) if partly else ""))
    result.sort(key=lambda t: (t.score is not None, -(t.score or 0), t.target))
    return result


def _total(findings: Iterable[Finding], with_waivers: bool) -> float:
    return sum((finding_risk(f) for f in findings if counts(f, with_waivers)), 0.0)


def _breakdown(findings: list[Finding]) -> Breakdown:
    counted = [f for f in findings if counts(f)]
    per_sev = Counter(f.severity for f in counted)
    points: dict[Severity, float] = {}
    for f in counted:
        points[f.severity] = points.get(f.severity, 0.0) + finding_risk(f)
    network = [f for f in counted if f.network_exposed and finding_risk(f)]
    waived = [f for f in findings if f.status is Status.FAIL and f.waived]
    return Breakdown(
        rows=tuple(BreakdownRow(s, per_sev[s], points[s]) for s in reversed(Severity)
                   if per_sev[s]),
        network_count=len(network),
        network_points=sum((finding_risk(f) - SEVERITY_POINTS[f.severity] for f in network),
                           0.0),
        waived_count=len(waived), waived_points=sum((finding_risk(f) for f in waived), 0.0))


def _grade_after(per_target: list[TargetScore], lowered: dict[str, float]) -> str:
    """The overall grade once each named target's score is lowered by the given points."""
    return worst_grade(t.score - lowered.get(t.target, 0.0) for t in per_target
                       if t.score is not None)


def _contributors(counted: list[Finding], overall: float | None,
                  per_target: list[TargetScore], letter: bool) -> list[Contributor]:
    target_scores = {t.target: t.score for t in per_target}
    top = []
    for f in counted[:TOP_CONTRIBUTORS]:
        after = None if overall is None else overall - finding_risk(f)
        mine = target_scores.get(f.target)
        top.append(Contributor(
            check_id=f.check_id, title=f.title, problem=f.headline, target=f.target,
            severity=f.severity, risk=finding_risk(f), network_exposed=f.network_exposed,
            score_if_fixed=after,
            grade_if_fixed=(_grade_after(per_target, {f.target: finding_risk(f)})
                            if after is not None and letter else None),
            target_score_if_fixed=None if mine is None else mine - finding_risk(f)))
    return top


def _serious_fixed_grade(counted: list[Finding], per_target: list[TargetScore]) -> str:
    """The overall grade with every counted critical and high problem fixed."""
    lowered: dict[str, float] = {}
    for f in counted:
        if f.severity in (Severity.CRITICAL, Severity.HIGH):
            lowered[f.target] = lowered.get(f.target, 0.0) + finding_risk(f)
    return _grade_after(per_target, lowered)


def score(findings: list[Finding], targets: Sequence[TargetInfo] = (),
          complete: bool = True) -> Score:
    """Score the findings and explain the result (the findings are not changed: the report
    sets each one's `risk` when it is built). `targets` (as the report lists them) tells
    which were not reached; `complete` is False for an interrupted scan, which gets no
    score."""
    per_target = _target_scores(findings, targets)
    assessed = {t.target for t in per_target if t.assessed}
    scored = [f for f in findings if f.target in assessed]
    overall = _total(scored, with_waivers=True) if assessed else None
    without = _total(scored, with_waivers=False) if assessed else None
    gates = []
    # The overall grade is the worst target's (the score stays the sum over the targets).
    grade = NOT_ASSESSED if overall is None else \
        worst_grade(t.score for t in per_target if t.score is not None)
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
        gates.append(f"{unassessed} of {plural(selected, 'check')} could not be assessed (over "
                     f"{ERROR_GATE:.0%}): the grade cannot be trusted")
        grade = INCOMPLETE
    if not complete:
        gates.append("the scan was interrupted: the findings are partial, so there is no score "
                     "and no grade")
        overall = without = None
        grade = INCOMPLETE if grade != NOT_ASSESSED else grade
    counted = sorted((f for f in scored if counts(f) and finding_risk(f) > 0),
                     key=lambda f: (-finding_risk(f), -f.severity.rank, f.check_id, f.target))
    letter = is_letter(grade)
    return Score(score=overall, grade=grade, score_without_waivers=without, per_target=per_target,
                 top_contributors=_contributors(counted, overall, per_target, letter),
                 gates=gates, network_weighted=sum(1 for f in counted if f.network_exposed),
                 breakdown=_breakdown(scored),
                 grade_if_serious_fixed=(_serious_fixed_grade(counted, per_target)
                                         if overall is not None and letter else None))
