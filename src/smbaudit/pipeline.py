"""The scan pipeline: a ScanConfig in, a ScanResult out. No click, no printing.

    config -> catalog (plugins + packs, selection) -> waivers and compliance inputs (checked
    before anything is scanned) -> targets (resolved, hosts that did not answer kept) ->
    engine -> waivers -> report (scores) -> compliance coverage -> history -> report files
    -> exit code -> notifications

A periodic run holds a lock (a second run of the same profile is refused) and may append to a
log file; both are taken here. Expected problems raise SmbauditError subclasses with their exit
code (bad input 2, an output error 2 naming the `smbaudit report ID` command that recovers
the scan); a KeyboardInterrupt during target resolution or the engine ends in a partial
report, never an exception.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

from smbaudit import engine, fleet, fsutil, history, waivers
from smbaudit import report as report_mod
from smbaudit.catalog import Catalog, load_catalog
from smbaudit.config import ScanConfig
from smbaudit.errors import (
    EXIT_BAD_INPUT,
    EXIT_FINDINGS,
    EXIT_FINDINGS_NOT_AUDITED,
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    OutputError,
    SmbauditError,
    UsageError,
)
from smbaudit.models import CheckDef, Finding, Severity, Status, TargetInfo, meets_threshold
from smbaudit.packs import cis, registry
from smbaudit.redact import redact_text
from smbaudit.render.formats import OutputFormat, renderer
from smbaudit.render.json import json_bytes
from smbaudit.report import Report
from smbaudit.scoring import SCORING_VERSION
from smbaudit.sections import FrameworkSection, VulnDataSection
from smbaudit.targets.hoststate import HostState
from smbaudit.targets.inventory import InventoryHost, hosts_from
from smbaudit.targets.resolve import ResolvedTargets, ResolveOptions, resolve
from smbaudit.targets.ssh import SSHOptions
from smbaudit.targets.sshconnect import load_config
from smbaudit.vulndb import status as vulndb_status

if TYPE_CHECKING:
    from smbaudit.compliance.model import Catalog as RegulationCatalog

log = logging.getLogger("smbaudit.scan")
log.addHandler(logging.NullHandler())  # only a log file gets these lines; never stderr
log.propagate = False


class LockedError(SmbauditError):
    """Another run of the same profile (or lock file) is in progress: nothing was scanned."""

    exit_code = EXIT_BAD_INPUT


class Observer(fleet.Observer):
    """Progress callbacks (the CLI's progress bar implements them)."""

    def message(self, text: str) -> None: ...


@dataclass(frozen=True)
class Crossing:
    """Why the --fail-on / --fail-on-new threshold was crossed, and the findings that did."""

    reason: str
    findings: list[Finding]


@dataclass
class ScanResult:
    report: Report
    written: list[str]  # report files written (not "-")
    exit_code: int
    crossing: Crossing | None = None
    notify_failures: list[str] = field(default_factory=list)  # "webhook URL: why"
    to_stdout: bool = False  # a report went to standard output


# ------------------------------------------------------------------------------ compliance


def framework(catalogs: dict[str, RegulationCatalog], name: str) -> RegulationCatalog:
    catalog = catalogs.get(name.lower())
    if catalog is None:
        raise UsageError(f"unknown framework {name!r} (known: {', '.join(sorted(catalogs))})")
    return catalog


class ScanCoverage:
    """Validates the compliance inputs before a scan, then assesses its findings after it."""

    def __init__(self, config: ScanConfig):
        self.config = config
        self.wanted = bool(config.frameworks or config.evidence_dirs or config.attestations)
        self.catalogs: dict[str, RegulationCatalog] = {}
        if self.wanted:  # bad input must stop the run before anything is scanned
            from smbaudit.compliance import attestations as attest
            from smbaudit.compliance import reviews as review_file
            from smbaudit.compliance.catalog import load_catalogs

            self.catalogs = load_catalogs()
            for f in config.frameworks:
                framework(self.catalogs, f)
            if config.attestations:
                attest.load(config.attestations, self.catalogs, dt.date.today())
            if config.reviews:
                review_file.load(config.reviews)

    def assess(self, findings: list[Finding]) -> list[FrameworkSection] | None:
        if not self.wanted:
            return None
        from smbaudit.compliance.coverage import assess

        c = self.config
        return [FrameworkSection.from_dict(r.to_dict())
                for r in assess(self.catalogs, list(c.frameworks), findings,
                                list(c.evidence_dirs), c.attestations, dt.date.today(), c.reviews)]


# ------------------------------------------------------------------------------ verdict


def not_audited(report: Report) -> list[TargetInfo]:
    """Remote hosts that were not audited in full: not connected (unreachable, login refused,
    host key mismatch or unknown, not started) or only partly assessed (lost mid-scan...)."""
    return [t for t in report.targets
            if t.details.get("state") not in (None, HostState.ASSESSED.value)]


def exit_code(report: Report, fail_on: str, fail_on_new: str | None = None) -> int:
    """130 interrupted > 4 failures at/above the threshold and some host not audited > 1
    failures at/above the threshold > 3 errors/unreachable/hosts not audited > 0. With
    `fail_on_new`, only new or regressed findings count as failures."""
    if not report.complete:
        return EXIT_INTERRUPTED
    if crossing(report, fail_on, fail_on_new).findings:
        return EXIT_FINDINGS_NOT_AUDITED if not_audited(report) else EXIT_FINDINGS
    if report.unreachable or not_audited(report) or any(
            f.status is Status.ERROR for f in report.findings):
        return EXIT_INCOMPLETE
    return EXIT_OK


def crossing(report: Report, fail_on: str, fail_on_new: str | None) -> Crossing:
    """The one threshold test (--fail-on, or --fail-on-new when given): the counted failures
    at or above it, and why they cross it."""
    threshold = fail_on_new or fail_on
    found = [f for f in report.counted_failures(new_only=bool(fail_on_new))
             if meets_threshold(f.severity, threshold)]
    what = "new or regressed finding(s)" if fail_on_new else "failing finding(s)"
    return Crossing(f"{len(found)} {what} at or above {threshold}", found)


# ------------------------------------------------------------------------------ history


def open_history(config: ScanConfig) -> history.HistoryStore | None:
    if not config.history:
        return None
    store = history.HistoryStore(config.db)
    store.open()
    return store


def open_existing_history(db: str | None) -> history.HistoryStore:
    """The store for reading commands (`history`, `diff`, `report`): it must exist."""
    store = history.HistoryStore(db)
    if not store.path.exists():
        raise history.HistoryError(f"no history store at {store.path} (no scan recorded yet)")
    store.open()
    return store


def stored_report(db: str | None, scan_id: str) -> Report:
    """A recorded scan as a report again, for re-rendering."""
    with open_existing_history(db) as store:
        return Report.from_dict(store.load(scan_id))


def _host_pair(store: history.HistoryStore, target: str
               ) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """For a target that was one host of a larger scan: the latest scan that included it and
    the previous finished one (complete if any), both narrowed to that host. None when the
    latest scan of the target covered it alone (the usual same-targets comparison applies)."""
    rows = [r for r in store.list(target=target) if r.state != "running"]
    if not rows or rows[0].targets == [target]:
        return None
    earlier = rows[1:]
    prev = next((r for r in earlier if r.state == "complete"), earlier[0] if earlier else None)
    if prev is None:
        raise history.HistoryError(f"only one finished scan included {target}: nothing to "
                                   "compare yet")
    older = fleet.host_slice(store.load(prev.scan_id), target)
    newer = fleet.host_slice(store.load(rows[0].scan_id), target)
    assert older is not None and newer is not None  # both rows list the target
    return older, newer


def host_history(db: str | None, target: str, limit: int | None
                 ) -> list[tuple[history.ScanRow, int]]:
    """Recorded scans that included `target`, newest first, each with the number of targets
    it covered; a row of a scan of several targets carries that target's own score, grade
    and counts (a fleet scan's host)."""
    out: list[tuple[history.ScanRow, int]] = []
    with open_existing_history(db) as store:
        for row in store.list(target=target, limit=limit):
            if row.targets == [target] or row.state == "running":
                out.append((row, len(row.targets)))
                continue
            counts = {s.value: 0 for s in Status}
            for status, n in store.db.execute(
                    "SELECT status, count(*) FROM findings WHERE seq = ? AND target = ? "
                    "GROUP BY status", (row.seq, target)):
                counts[status] = n
            counts["total"] = sum(counts.values())
            per, version = store.db.execute(
                "SELECT json_extract(report, '$.summary.per_target'), "
                "json_extract(report, '$.summary.scoring_version') FROM scans WHERE seq = ?",
                (row.seq,)).fetchone()
            own: dict[str, Any] = next((p for p in json.loads(per or "[]")
                                        if p.get("target") == target), {})
            if (version or "1") != SCORING_VERSION:  # scored under an older version: rescore
                sliced = fleet.host_slice(store.load(row.scan_id), target)
                again = history.rescore(sliced) if sliced else None
                own = {"score": again.score, "grade": again.grade} if again else {}
            out.append((replace(row, score=own.get("score"), grade=own.get("grade"),
                                counts=counts, targets=[target]), len(row.targets)))
    return out


def stored_diff(db: str | None, old: str | None, new: str | None,
                target: str | None) -> history.ScanDiff:
    """What changed between two recorded scans (default: the last two of the same targets;
    with `target` one host of a fleet scan, its last two scans narrowed to it)."""
    with open_existing_history(db) as store:
        pair = _host_pair(store, target) if target and old is None and new is None else None
        older, newer = ((history.StoredScan.from_dict(pair[0]),
                         history.StoredScan.from_dict(pair[1]))
                        if pair else history.pick_pair(store, old, new, target))
        earlier = store.failed_before(newer.failing, older.scan_id)
    return history.diff(older, newer, earlier)


def recovery_hint(report: Report, store: history.HistoryStore | None) -> str:
    """How to get a scan's report back when it could not be written."""
    if store is None:
        return ("the scan was not recorded (--no-history): run it again with -o pointing "
                "to a folder you can write")
    db = "" if store.path == history.default_db_path() else f" --db {shlex.quote(str(store.path))}"
    return (f"the scan is in the history store: recover it with `smbaudit report "
            f"{report.scan_id[:12]}{db} -f html -o FILE`")


def _record(store: history.HistoryStore | None, report: Report,
            profile: str | None) -> dict[str, Any] | None:
    """Attach "since the last scan" to the report, then store the full report; returns its
    JSON form (made once: the JSON report written next is the same dict)."""
    if store is None:
        return None
    try:
        report.history = history.history_section(store, report.as_stored())
        data = report.to_dict()
        store.save(data, profile=profile)
        return data
    finally:
        store.close()


# ------------------------------------------------------------------------------ outputs


def check_outputs(paths: dict[OutputFormat, str]) -> None:
    """Refuse, before scanning, an output path or folder that is a link (fsutil refuses it
    again, race-free, when writing)."""
    for dest in paths.values():
        if dest != "-":
            fsutil.refuse_links(dest)


def write_reports(report: Report, paths: dict[OutputFormat, str], recover: str,
                  shared: bool = False, data: dict[str, Any] | None = None) -> list[str]:
    """Render every format, then write each atomically (private unless `shared`; never
    through a link). An output error is one line that says how to get the report back
    (`recover`). `data`: the report's JSON form when it was already made (history)."""
    mode, dir_mode = (fsutil.SHARED_FILE, fsutil.SHARED_DIR) if shared else (
        fsutil.PRIVATE_FILE, fsutil.PRIVATE_DIR)
    rendered = {fmt: json_bytes(data) if fmt is OutputFormat.JSON and data is not None
                else renderer(fmt)(report) for fmt in paths}
    written = []
    for fmt, dest in paths.items():
        try:
            if dest == "-":
                sys.stdout.buffer.write(rendered[fmt])
                sys.stdout.flush()
            else:
                fsutil.atomic_write(dest, rendered[fmt], mode=mode, dir_mode=dir_mode)
                written.append(dest)
        except OSError as exc:
            raise OutputError(f"cannot write the report {dest}: {exc.strerror or exc}; "
                              f"{recover}") from None
    return written


def _notify(result: ScanResult, config: ScanConfig) -> None:
    """When the threshold was crossed (exit 1), send the notifications; a failure is kept in
    the result and the log, never changes the exit code."""
    report = result.report
    if result.exit_code not in (EXIT_FINDINGS, EXIT_FINDINGS_NOT_AUDITED):
        return
    result.crossing = crossing(report, config.fail_on, config.fail_on_new)
    if not (config.notify_webhook or config.notify_email):
        return
    from smbaudit import notify  # mail and HTTP clients: only when there is something to send
    data = notify.payload(report, result.crossing.reason, result.crossing.findings,
                          [os.path.abspath(p) for p in result.written])
    sends: list[tuple[str, Callable[[], object]]] = []
    if config.notify_webhook:
        url = config.notify_webhook
        sends.append((f"webhook {url}", lambda: notify.send_webhook(url, data)))
    if config.notify_email:
        emails = list(config.notify_email)
        sends.append((f"e-mail to {', '.join(emails)}",
                      lambda: notify.send_email(emails, data, config.smtp)))
    for label, send in sends:
        try:
            send()
            log.info("notified: %s", label)
        except OSError as exc:
            log.error("notification failed: %s: %s", label, exc)
            result.notify_failures.append(f"{label}: {exc}")


# ------------------------------------------------------------------------------ the run


def _lock_path(config: ScanConfig) -> Path | None:
    if not config.use_lock:
        return None
    if config.lock:
        return Path(config.lock)
    if config.profile is not None:
        return config.profile.auto_lock_path(platformdirs.user_state_path("smbaudit",
                                                                          appauthor=False))
    return None


class _NoFollowFileHandler(logging.FileHandler):
    """Appends to the log file created 0600, never through a link (fsutil)."""

    def _open(self) -> io.TextIOWrapper:
        return fsutil.open_append_text(self.baseFilename)


@contextmanager
def _log_to(path: str | None) -> Iterator[None]:
    if not path:
        yield
        return
    try:
        handler = _NoFollowFileHandler(path, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot open the log file {path}: {exc.strerror or exc}") from None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [pid %(process)d] "
                                           "%(message)s", "%Y-%m-%dT%H:%M:%S%z"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        yield
    finally:
        log.removeHandler(handler)
        handler.close()


@contextmanager
def _locked(path: Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    lock = fsutil.ExclusiveLock(path)
    try:
        lock.acquire()
    except fsutil.AlreadyLocked:
        raise LockedError(f"another scan holds the lock {path} (an earlier run of this "
                          "profile is still going); not starting") from None
    try:
        yield
    finally:
        lock.release()


def run(config: ScanConfig, observer: Observer | None = None) -> ScanResult:
    """Run one scan as configured: held under its lock, logged to its log file."""
    with _log_to(config.log_file):
        log.info("scan starting: targets=%s profile=%s", " ".join(config.targets),
                 config.profile.path if config.profile else "-")
        try:
            with _locked(_lock_path(config)):
                result = _scan(config, observer or Observer())
        except SmbauditError as exc:
            log.error("scan not run: %s (exit %s)", exc, exc.exit_code)
            raise
        except KeyboardInterrupt:
            log.warning("scan interrupted")
            raise
        log.info("scan finished: exit %s", result.exit_code)
        return result


def select_checks(catalog: Catalog, config: ScanConfig) -> list[CheckDef]:
    return cis.select_level(registry.select(catalog.checks, config.select, config.skip),
                            config.level)


def resolve_options(config: ScanConfig) -> ResolveOptions:
    ssh = SSHOptions(key_file=config.ssh_key, known_hosts=config.ssh_known_hosts,
                     accept_new_host_key=config.ssh_accept_new_host_key, timeout=config.timeout,
                     config_file=config.ssh_config, become=config.become)
    return ResolveOptions(ports=config.ports, timing=config.timing, scan_type=config.scan_type,
                          timeout=config.timeout, version_detection=config.version_detection,
                          ssh=ssh, force=config.force)


def _plan_network(resolved: ResolvedTargets, options: ResolveOptions) -> None:
    """Network specs become discovery steps the engine runs beside the probes."""
    if not resolved.network_specs:
        return
    from smbaudit import netscan
    from smbaudit.targets import network

    discovery = network.DiscoveryOptions(ports=options.ports, timing=options.timing,
                                         timeout=options.timeout, scan_type=options.scan_type,
                                         version_detection=options.version_detection)
    sources, failed = netscan.plan_sources(resolved.network_specs, discovery)
    resolved.sources = list(sources)
    resolved.not_scanned += resolved.did_not_answer(failed)


def _probe_options(config: ScanConfig) -> dict[str, Any]:
    options = vulndb_status.probe_options(config.vulndb, config.include_unfixed)
    if config.ca_file:
        options["ca_file"] = config.ca_file
    return options


def name_targets(resolved: ResolvedTargets, names: dict[str, str]) -> None:
    """Targets named with --name (or in the profile) carry that name everywhere: findings,
    reports and history."""
    for target in [*resolved.targets, *resolved.remote]:
        target.name = names.get(target.name, target.name)
    for info in resolved.not_scanned:
        info.name = names.get(info.name, info.name)


def _given_as(infos: list[TargetInfo], names: dict[str, str]) -> None:
    """A named target's report entry still says what was scanned (`target: dir:/srv/img`)."""
    spec_of = {label: spec for spec, label in names.items()}
    for info in infos:
        if info.name in spec_of:
            info.details = {"target": spec_of[info.name], **info.details}


def inventory_hosts(config: ScanConfig) -> list[InventoryHost]:
    """The inventories' hosts that --limit selects, and the ssh client configuration checked,
    before anything is scanned (bad input: exit 2 with file:line:field)."""
    if config.ssh_config or config.inventory:
        load_config(config.ssh_config)
    return hosts_from(config.inventory, config.limit) if config.inventory else []


def _run_all(resolved: ResolvedTargets, selected: list[CheckDef], catalog: Catalog,
             options: engine.EngineOptions, config: ScanConfig,
             observer: Observer) -> engine.EngineResult:
    """The remote hosts through the fleet runner (concurrently, each in a known state), then
    the local, offline and network targets through one engine run."""
    probes = catalog.plugins.probes
    remote = engine.EngineResult([], [], True)
    if resolved.remote:
        remote = fleet.run_hosts(resolved.remote, selected, probes,
                                 replace(options, jobs=config.host_jobs),
                                 parallel=config.parallel_hosts, observer=observer)
        if not remote.complete:
            return remote
    if not (resolved.targets or resolved.sources):
        return remote
    rest = engine.run(resolved.targets, selected, probes, options, observer=observer,
                      sources=resolved.sources)
    return engine.EngineResult(findings=remote.findings + rest.findings,
                               targets=remote.targets + rest.targets,
                               complete=rest.complete, stop_reason=rest.stop_reason,
                               discovered=rest.discovered)


def _scan(config: ScanConfig, observer: Observer) -> ScanResult:
    config.validate()
    paths = config.output_paths()
    check_outputs(paths)
    catalog = load_catalog(config.check_paths, default_checks=config.default_checks,
                           plugins=config.plugins)
    selected = select_checks(catalog, config)
    waiver_set = waivers.load(config.waiver_files) if config.waiver_files else None
    coverage = ScanCoverage(config)
    if config.output_is_folder and config.output:
        try:
            fsutil.make_dirs(config.output)  # a profile's outputs.dir is always a folder
        except OSError as exc:
            raise OutputError(f"cannot create the output folder {config.output}: "
                              f"{exc.strerror or exc}") from None
    store: history.HistoryStore | None = None
    scan_id = report_mod.new_scan_id()
    started = report_mod.now_utc()
    options = resolve_options(config)
    inventory = inventory_hosts(config)
    try:
        resolved = resolve(config.targets, options, progress=observer.message,
                           inventory=inventory)
        name_targets(resolved, config.target_names())
        _plan_network(resolved, options)
        # Opened once the targets are accepted: a refused scan (exit 2) creates no store.
        store = open_history(config)
        if store is not None:  # a scan killed outright stays listed as "did not finish"
            store.begin(scan_id, started.isoformat(),
                        [t.name for t in [*resolved.remote, *resolved.targets]])
        engine_options = engine.EngineOptions(jobs=config.jobs,
                                              probe_timeout=config.probe_timeout,
                                              io_timeout=config.timeout,
                                              probe_options=_probe_options(config))
        result = _run_all(resolved, selected, catalog, engine_options, config, observer)
    except KeyboardInterrupt:
        resolved = ResolvedTargets([], [])
        result = engine.EngineResult([], [], False, "interrupted during discovery")
    if store is None:  # interrupted before the store was opened: the scan is still recorded
        store = open_history(config)
    resolved.close()
    resolved.not_scanned += resolved.did_not_answer(result.discovered)
    _given_as(result.targets + resolved.not_scanned, config.target_names())
    waiver_section = (waivers.apply(result.findings, waiver_set)
                      if waiver_set is not None else None)
    report = report_mod.build(
        scan_id=scan_id, started_at=started, finished_at=report_mod.now_utc(),
        complete=result.complete, stop_reason=result.stop_reason,
        targets=result.targets + resolved.not_scanned, findings=result.findings,
        command=[redact_text(a) for a in config.command], checks_loaded=len(selected),
        plugins=catalog.plugins.loaded)
    report.waivers = waiver_section
    report.sarif_base = config.sarif_base
    if any(c.probe in vulndb_status.STORE_PROBES for c in selected):
        report.vulndb = VulnDataSection.from_dict(vulndb_status.report_section(config.vulndb))
    report.compliance = coverage.assess(report.findings)
    data = _record(store, report, config.profile.name if config.profile else None)
    written = write_reports(report, paths, recovery_hint(report, store),
                            shared=config.share_reports, data=data)
    done = ScanResult(report=report, written=written,
                      exit_code=exit_code(report, config.fail_on, config.fail_on_new),
                      to_stdout="-" in paths.values())
    s = report.summary
    log.info("scan %s: score %s, %d fail, %d error, complete=%s; reports: %s",
             report.scan_id[:12], s.score.label, s.counts["fail"], s.counts["error"],
             report.complete, ", ".join(written) or "-")
    for u in report.waivers.unmatched if report.waivers else []:
        log.warning("waiver %s on %r (%s) matched no failing finding", u.check, u.target,
                    u.source)
    _notify(done, config)
    return done

