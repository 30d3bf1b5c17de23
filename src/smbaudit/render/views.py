"""What several renderers show alike: accepted risks (waivers) and each target's top risks."""

from __future__ import annotations

from dataclasses import dataclass, field
from smbaudit.models import Finding, Status
from smbaudit.report import Report
from smbaudit.waivers import WaiverEntry

TOP_PER_TARGET = 5


@dataclass
class WaiverView:
    """Waivers as a report shows them: failing findings accepted by a live waiver, those whose
    waiver expired (counted again), and waiver entries that matched no failing finding."""

    accepted: list[Finding] = field(default_factory=list)
    expired: list[Finding] = field(default_factory=list)
    unmatched: list[WaiverEntry] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.accepted or self.expired or self.unmatched or self.files)


def waivers(report: Report) -> WaiverView:
    failing = [f for f in report.findings_sorted() if f.status is Status.FAIL and f.waiver]
    section = report.waivers
    return WaiverView(
        accepted=[f for f in failing if f.waiver and not f.waiver.expired],
        expired=[f for f in failing if f.waiver and f.waiver.expired],
        unmatched=section.unmatched if section else [],
        files=list(section.files) if section else [],
    )


def counted_failures(report: Report) -> list[Finding]:
    """Failing findings that count: not accepted by a live waiver; riskiest first."""
    return [f for f in report.findings_sorted()
            if f.status is Status.FAIL and not (f.waiver and not f.waiver.expired)]


def top_by_target(report: Report, limit: int = TOP_PER_TARGET) -> dict[str, list[Finding]]:
    """Each target's riskiest counted failures, in the order the targets were given."""
    tops: dict[str, list[Finding]] = {t.name: [] for t in report.targets}
    for f in counted_failures(report):
        bucket = tops.setdefault(f.target, [])
        if len(bucket) < limit:
            bucket.append(f)
    return {name: items for name, items in tops.items() if items}
