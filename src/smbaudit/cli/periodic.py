"""Steps `smbaudit scan` takes for periodic runs: profile, lock, log file, waivers, history,
--fail-on-new and notifications.

`run_periodic` wraps the scan command (profile values fill in what the command line did not
give; the lock is held and the log file written for the whole run); the other functions are
small steps the scan command calls in order. Only `after_scan` reports problems, on stderr.
"""

from __future__ import annotations

import io
import logging
import os
import shlex
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
import platformdirs
from click.core import ParameterSource

from smbaudit import fsutil, history, waivers
from smbaudit import profile as profile_mod
from smbaudit.cli import notify
from smbaudit.errors import (
    EXIT_BAD_INPUT,
    EXIT_FINDINGS,
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    OutputError,
    SmbauditError,
    UsageError,
)
from smbaudit.models import Finding, Severity, Status
from smbaudit.report import Report
from smbaudit.scoring import score_text
from smbaudit.targets.base import Target

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("smbaudit.scan")
log.addHandler(logging.NullHandler())  # only --log-file gets these lines; never stderr
log.propagate = False
PROFILE_KEY = "smbaudit.profile"


class LockedError(SmbauditError):
    """Another run of the same profile (or lock file) is in progress: nothing was scanned."""

    exit_code = EXIT_BAD_INPUT


def current_profile() -> profile_mod.ScanProfile | None:
    ctx = click.get_current_context(silent=True)
    return ctx.meta.get(PROFILE_KEY) if ctx else None


def _apply_profile(ctx: click.Context, kwargs: dict[str, Any]) -> profile_mod.ScanProfile | None:
    """Fill every parameter the command line did not set from the profile."""
    if not kwargs.get("profile"):
        return None
    prof = profile_mod.load(kwargs["profile"])
    for name, value in prof.options.items():
        if name not in kwargs:
            raise UsageError(f"{prof.path}: `{name}` is not supported by this version's scan "
                             "command")
        if ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE,
                                               ParameterSource.ENVIRONMENT):
            continue  # a flag given on the command line wins over the profile
        kwargs[name] = value
        if name == "output":
            try:
                fsutil.make_dirs(value)  # outputs.dir is always a folder
            except OSError as exc:
                raise OutputError(f"{prof.path}: cannot create the output folder {value}: "
                                  f"{exc.strerror or exc}") from None
    ctx.meta[PROFILE_KEY] = prof
    return prof


def _lock_path(kwargs: dict[str, Any], prof: profile_mod.ScanProfile | None) -> Path | None:
    if kwargs.get("no_lock"):
        return None
    if kwargs.get("lock"):
        return Path(kwargs["lock"])
    if prof is not None:
        return prof.auto_lock_path(platformdirs.user_state_path("smbaudit", appauthor=False))
    return None


class _NoFollowFileHandler(logging.FileHandler):
    """Appends to the log file created 0600, never through a link (fsutil)."""

    def _open(self) -> io.TextIOWrapper:  # type: ignore[override]
        return fsutil.open_append_text(self.baseFilename)


def _log_to(path: str | None) -> logging.Handler | None:
    if not path:
        return None
    handler = _NoFollowFileHandler(path, encoding="utf-8")
    formatter = logging.Formatter("%(asctime)s %(levelname)s [pid %(process)d] %(message)s",
                                  "%Y-%m-%dT%H:%M:%S%z")
    handler.setFormatter(formatter)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return handler


def run_periodic(func: F) -> F:
    """Wrap the scan command: apply --profile, hold the lock, write the log file."""

    @wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        ctx = click.get_current_context()
        prof = _apply_profile(ctx, kwargs)
        handler = _log_to(kwargs.get("log_file"))
        lock_path = _lock_path(kwargs, prof)
        lock: fsutil.ExclusiveLock | None = None
        try:
            if lock_path is not None:
                lock = fsutil.ExclusiveLock(lock_path)
                try:
                    lock.acquire()
                except fsutil.AlreadyLocked:
                    lock = None
                    raise LockedError(f"another scan holds the lock {lock_path} "
                                      "(an earlier run of this profile is still going); "
                                      "not starting") from None
            log.info("scan starting: targets=%s profile=%s", " ".join(kwargs.get("targets") or ()),
                     prof.path if prof else "-")
            return func(**kwargs)
        except SystemExit as exc:
            log.info("scan finished: exit %s", exc.code)
            raise
        except SmbauditError as exc:
            log.error("scan not run: %s (exit %s)", exc, exc.exit_code)
            raise
        except KeyboardInterrupt:
            log.warning("scan interrupted")
            raise
        finally:
            if lock is not None:
                lock.release()
            if handler is not None:
                log.removeHandler(handler)
                handler.close()

    return wrapper  # type: ignore[return-value]


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


def recovery_hint(report: Report, store: history.HistoryStore | None) -> str:
    """How to get a scan's report back when it could not be written."""
    if store is None:
        return "the scan was not recorded (--no-history): run it again with -o pointing " \
               "to a folder you can write"
    db = "" if store.path == history.default_db_path() else f" --db {shlex.quote(str(store.path))}"
    return (f"the scan is in the history store: recover it with `smbaudit report "
            f"{report.scan_id[:12]}{db} -f html -o FILE`")


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


def crossing_findings(report: Report, code: int, fail_on: str,
                      fail_on_new: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Why the threshold was crossed, and the findings that crossed it."""
    if fail_on_new:
        rank = Severity(fail_on_new).rank
        found = [e for e in new_or_regressed(report) if Severity(e["severity"]).rank >= rank]
        return f"{len(found)} new or regressed finding(s) at or above {fail_on_new}", found
    rank = Severity(fail_on).rank if fail_on != "none" else 99
    found = [{"check_id": f.check_id, "title": f.title, "target": f.target,
              "severity": f.severity.value, "location": f.location}
             for f in report.findings_sorted() if f.status is Status.FAIL
             and f.severity.rank >= rank and not (f.waiver and not f.waiver.expired)]
    return f"{len(found)} failing finding(s) at or above {fail_on}", found


def after_scan(report: Report, code: int, written: list[str], *, fail_on: str,
               fail_on_new: str | None, webhook: str | None, emails: Sequence[str]) -> None:
    """Log the outcome; when the threshold was crossed (exit 1), send the notifications."""
    s = report.summary
    log.info("scan %s: score %s, %d fail, %d error, complete=%s; reports: %s",
             report.scan_id[:12], s.score.label, s.counts["fail"],
             s.counts["error"], report.complete, ", ".join(written) or "-")
    w = report.waivers or {}
    for u in w.get("unmatched", []):
        log.warning("waiver %s on %r (%s) matched no failing finding", u["check"], u["target"],
                    u["source"])
    if code != EXIT_FINDINGS or not (webhook or emails):
        return
    reason, found = crossing_findings(report, code, fail_on, fail_on_new)
    data = notify.payload(report, reason, found, [os.path.abspath(p) for p in written])
    prof = current_profile()
    sends: list[tuple[str, Callable[[], object]]] = []
    if webhook:
        sends.append((f"webhook {webhook}", lambda: notify.send_webhook(webhook, data)))
    if emails:
        smtp = prof.smtp if prof else profile_mod.SmtpSettings()
        sends.append((f"e-mail to {', '.join(emails)}",
                      lambda: notify.send_email(list(emails), data, smtp)))
    for label, send in sends:
        try:
            send()
            log.info("notified: %s", label)
        except OSError as exc:
            log.error("notification failed: %s: %s", label, exc)
            click.echo(f"smbaudit: notification failed: {label}: {exc}", err=True)


def summary_lines(report: Report) -> list[str]:
    """What changed since the last scan and which waivers matched nothing, for the terminal."""
    lines = []
    h = report.history
    if h is not None:
        d = h.get("diff")
        if d is None:
            lines.append("History: first recorded scan of these targets.")
        else:
            lines.append(f"Since the last scan ({d['old_scan']['scan_id'][:12]}): "
                         f"{len(d['new'])} new, {len(d['regressed'])} regressed, "
                         f"{len(d['resolved'])} resolved, {len(d['unchanged'])} unchanged; score "
                         f"{score_text(d['old_scan']['score'])} -> "
                         f"{score_text(d['new_scan']['score'])}"
                         + ("" if d["comparable"] else " (not comparable: "
                            + "; ".join(d["notes"]) + ")"))
    w = report.waivers or {}
    if w:
        lines.append(f"Waivers: {w['applied_live']} finding(s) accepted, {w['applied_expired']} "
                     "under an expired waiver (counted again)")
        for u in w["unmatched"]:
            lines.append(f"  waiver {u['check']} on {u['target']!r} ({u['source']}) matched no "
                         "failing finding: it may no longer be needed")
    return lines
