"""Steps `smbaudit scan` takes for periodic runs: waivers, history, --fail-on-new.

Each step is a small function the scan command calls in order; none of them prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from smbaudit import history, waivers
from smbaudit.errors import EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_INTERRUPTED, EXIT_OK, UsageError
from smbaudit.models import Finding, Severity, Status
from smbaudit.report import Report
from smbaudit.targets.base import Target


def load_waivers(paths: Sequence[str | Path]) -> waivers.WaiverSet | None:
    """Read the waivers files before anything is scanned (a bad file exits 2)."""
    return waivers.load(paths) if paths else None


def apply_waivers(findings: list[Finding], waiver_set: waivers.WaiverSet | None,
                  clock: waivers.Clock = waivers.today) -> dict[str, Any] | None:
    """Attach waivers to the failing findings; returns the report's `waivers` section."""
    if waiver_set is None:
        return None
    return waivers.apply(findings, waiver_set, clock).to_dict()


def open_history(db: str | None, enabled: bool) -> history.HistoryStore | None:
    if not enabled:
        if db:
            raise UsageError("--db and --no-history cannot be used together")
        return None
    store = history.HistoryStore(db)
    store.open()
    return store


def begin_history(store: history.HistoryStore | None, scan_id: str, started: datetime,
                  targets: Sequence[Target]) -> None:
    """Mark the scan as running in the store once its targets are known (a scan killed
    outright then stays listed as "did not finish")."""
    if store is not None:
        store.begin(scan_id, started.isoformat(), [t.name for t in targets])


def record_history(store: history.HistoryStore | None, report: Report,
                   profile: str | None = None) -> None:
    """Attach "since the last scan" to the report, then store the full report."""
    if store is None:
        return
    try:
        report.history = history.history_section(store, report.to_dict())
        store.save(report.to_dict(), profile=profile)
    finally:
        store.close()


def new_or_regressed(report: Report) -> list[dict[str, Any]]:
    """Findings new or regressed since the previous scan; with no previous scan, every failure
    (a first run has nothing to compare against, so everything it finds is new)."""
    diff = (report.history or {}).get("diff")
    if diff is not None:
        return [e for e in diff["new"] + diff["regressed"] if not e["waived"]]
    return [{"check_id": f.check_id, "target": f.target, "severity": f.severity.value,
             "title": f.title, "waived": False}
            for f in report.failed if not (f.waiver and not f.waiver.expired)]


def exit_code_new(report: Report, fail_on_new: str) -> int:
    """Like the scan's exit code, but 1 only for new or regressed findings at the threshold."""
    if not report.complete:
        return EXIT_INTERRUPTED
    threshold = Severity(fail_on_new).rank
    if any(Severity(e["severity"]).rank >= threshold for e in new_or_regressed(report)):
        return EXIT_FINDINGS
    if report.unreachable or any(f.status is Status.ERROR for f in report.findings):
        return EXIT_INCOMPLETE
    return EXIT_OK
