"""The fleet view of a report: what a reader of 10 to 100 hosts needs, computed once.

- a host-by-area overview: per host its state, score and grade, and per area the worst
  severity of its failing checks (or "ok", "error", nothing planned);
- top risks grouped by check: "PermitRootLogin yes on 7 of 10 hosts";
- findings grouped by check: the check's text once, one compact row per host that failed or
  could not be assessed, the hosts where it passed as names only (so 100 hosts stay a few MB).

A report is a fleet when at least two of its targets are remote hosts (they carry a `state`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from smbaudit.models import CATEGORIES, Finding, Severity, Status, TargetInfo
from smbaudit.report import Report
from smbaudit.scoring import TargetScore

TOP_CHECKS = 15
MIN_HOSTS = 2


@dataclass
class Cell:
    """One host x area: the worst failing severity there, how many failed, or another outcome."""

    worst: Severity | None = None
    failed: int = 0
    passed: int = 0
    errors: int = 0

    @property
    def css(self) -> str:
        if self.worst is not None:
            return f"sev-{self.worst.value}"
        if self.errors:
            return "st-error"
        return "st-pass" if self.passed else "none"

    @property
    def text(self) -> str:
        if self.worst is not None:
            return f"{self.worst.value} {self.failed}" if self.failed > 1 else self.worst.value
        if self.errors:
            return "error"
        return "ok" if self.passed else "-"


@dataclass
class HostRow:
    name: str
    state: str
    reason: str
    address: str
    score: float | None
    grade: str
    failed: int = 0
    errors: int = 0
    cells: dict[str, Cell] = field(default_factory=dict)


@dataclass
class HostResult:
    """One host's outcome for one check (a row under the check)."""

    target: str
    status: Status
    text: str  # the headline of a failure, the reason of an error
    location: str = ""
    observed: str = ""
    waived: bool = False


@dataclass
class CheckGroup:
    check_id: str
    title: str
    severity: Severity
    category: str
    description: str
    rationale: str
    remediation: str
    references: list[str]
    failing: list[HostResult] = field(default_factory=list)
    errors: list[HostResult] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)
    not_applicable: list[str] = field(default_factory=list)
    headline: str = ""  # the most common failure headline

    @property
    def hosts(self) -> int:
        """Hosts where the check was assessed or tried."""
        return len({r.target for r in self.failing + self.errors} | set(self.passed))

    @property
    def failing_hosts(self) -> int:
        return len({r.target for r in self.failing})


@dataclass
class FleetView:
    hosts: list[HostRow]
    areas: list[str]
    top: list[CheckGroup]
    groups: list[CheckGroup]  # checks that failed or errored somewhere, worst first
    clean: list[CheckGroup]  # checks that passed (or did not apply) everywhere
    states: dict[str, int]

    @property
    def audited(self) -> int:
        return sum(1 for h in self.hosts if h.state == "assessed")


def is_fleet(targets: list[TargetInfo]) -> bool:
    return sum(1 for t in targets if "state" in t.details) >= MIN_HOSTS


def _observed(f: Finding) -> str:
    bad = [e for e in f.evidence if not e.ok]
    if not bad:
        return ""
    value = bad[0].observed
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 120 else text[:119] + "…"


def _rows(report: Report, scores: dict[str, TargetScore]) -> list[HostRow]:
    rows = []
    for t in report.targets:
        sc = scores.get(t.name)
        state = str(t.details.get("state") or ("assessed" if t.reachable else "unreachable"))
        rows.append(HostRow(name=t.name, state=state,
                            reason=str(t.details.get("state_reason") or t.error or ""),
                            address=str(t.details.get("address") or ""),
                            score=sc.score if sc else None,
                            grade=sc.grade if sc else "Not assessed"))
    return rows


def build(report: Report) -> FleetView:
    scores = {s.target: s for s in report.shown_summary.score.per_target}
    hosts = _rows(report, scores)
    by_name = {h.name: h for h in hosts}
    groups: dict[str, CheckGroup] = {}
    areas_seen: set[str] = set()
    headlines: dict[str, Counter[str]] = {}
    for f in report.findings:
        g = groups.get(f.check_id)
        if g is None:
            g = groups[f.check_id] = CheckGroup(
                check_id=f.check_id, title=f.title, severity=f.severity, category=f.category,
                description=f.description, rationale=f.rationale, remediation=f.remediation,
                references=list(f.references))
        host = by_name.get(f.target)
        cell = host.cells.setdefault(f.category, Cell()) if host else Cell()
        areas_seen.add(f.category)
        if f.status is Status.FAIL:
            g.failing.append(HostResult(f.target, f.status, f.headline, f.location or "",
                                        _observed(f), f.waived))
            headlines.setdefault(f.check_id, Counter())[f.headline] += 1
            cell.failed += 1
            if cell.worst is None or f.severity.rank > cell.worst.rank:
                cell.worst = f.severity
            if host:
                host.failed += 1
        elif f.status in (Status.ERROR, Status.SKIPPED):
            g.errors.append(HostResult(f.target, f.status, f.reason))
            cell.errors += 1
            if host:
                host.errors += 1
        elif f.status is Status.PASS:
            if f.target not in g.passed:
                g.passed.append(f.target)
            cell.passed += 1
        elif f.target not in g.not_applicable:
            g.not_applicable.append(f.target)
    for cid, counter in headlines.items():
        groups[cid].headline = counter.most_common(1)[0][0]
    order = {c: i for i, c in enumerate(CATEGORIES)}
    areas = sorted(areas_seen, key=lambda a: (order.get(a, len(order)), a))
    worst_first = sorted(groups.values(), key=lambda g: (-g.severity.rank, -g.failing_hosts,
                                                         -len(g.errors), g.check_id))
    failing = [g for g in worst_first if g.failing]
    return FleetView(hosts=hosts, areas=areas, top=failing[:TOP_CHECKS],
                     groups=[g for g in worst_first if g.failing or g.errors],
                     clean=[g for g in worst_first if not (g.failing or g.errors)],
                     states=dict(Counter(h.state for h in hosts)))
