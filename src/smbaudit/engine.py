"""The scan engine: run each needed probe once per target, evaluate every check on its facts.

- Bounded concurrency: a pool of daemon worker threads (a hung probe never keeps the process
  alive), at most `jobs` probes at once.
- A deadline per probe run: past it the run is abandoned, its checks become ERROR findings,
  and a fresh worker takes its place.
- A probe or check that raises becomes an ERROR finding with the reason; the scan goes on.
- Every selected check appears in the result once per target it is planned for.
- Target sources (network discovery steps) run in the same pool; the targets a source finds
  are planned and probed as soon as it returns, while other sources are still running.
- KeyboardInterrupt (SIGINT, or SIGTERM mapped to it by the CLI) stops the scan: what was
  collected is evaluated, the rest is SKIPPED, and the result is marked incomplete.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from smbaudit import peritem
from smbaudit.errors import DataMissing, NotReadable, ProbeError, ProbeTimeout, UnsupportedOperation
from smbaudit.evaluate import (EvaluationError, eval_condition, not_applicable_reason, place,
                               problem_line)
from smbaudit.models import (
    Assertion,
    CheckDef,
    Condition,
    Evidence,
    Finding,
    Status,
    TargetInfo,
    TargetKind,
)
from smbaudit.probes.base import INCOMPLETE, UNREADABLE, Facts, Probe, ProbeContext
from smbaudit.redact import redact
from smbaudit.targets.base import HostTarget, Target
from smbaudit.targets.source import Expansion, TargetSource

OS_PROBE = "os_release"


@dataclass(frozen=True)
class EngineOptions:
    jobs: int = 4
    probe_timeout: float = 60.0  # wall-clock deadline for one probe run
    io_timeout: float = 10.0  # per connection / command
    probe_options: dict[str, Any] = field(default_factory=dict)
    # Shared by the engine runs of a fleet scan: memory-heavy probes run only while holding one.
    heavy_slots: threading.Semaphore | None = None


class Observer:
    """Progress callbacks; the CLI's progress bar subclasses this. All are called in the
    engine's calling thread."""

    def planned(self, total_jobs: int) -> None: ...

    def job_done(self, label: str, ok: bool) -> None: ...


@dataclass
class EngineResult:
    findings: list[Finding]
    targets: list[TargetInfo]
    complete: bool
    stop_reason: str = ""
    discovered: list[TargetInfo] = field(default_factory=list)  # what target sources reported


@dataclass(eq=False)
class _Job:
    target: Target
    probe: Probe
    params: dict[str, Any]
    label: str
    timeout: float = 60.0  # wall-clock seconds this run may take
    # (facts, error, trace), assigned once by the worker thread
    result: tuple[Facts | None, BaseException | None, str] = (None, None, "")
    started: float | None = None
    finished: bool = False  # set by the engine thread only
    abandoned: bool = False  # timed out: its worker drops the result and retires
    ctx: ProbeContext | None = None  # cancelled when the run is abandoned

    def run(self, ctx: ProbeContext) -> None:
        try:
            self.result = (self.probe.collect(self.target, self.params, ctx), None, "")
        except BaseException as exc:  # noqa: BLE001 - every failure becomes data
            self.result = (None, exc, traceback.format_exc(limit=6))

    @property
    def facts(self) -> Facts | None:
        return None if self.abandoned else self.result[0]

    @property
    def error(self) -> BaseException | None:
        if self.abandoned:
            return ProbeTimeout(f"probe did not finish within its deadline ({self.label})")
        return self.result[1]


@dataclass(eq=False)
class _SourceJob:
    """A discovery step run in the pool; its expansion feeds new jobs."""

    source: TargetSource
    label: str
    timeout: float
    result: Expansion | None = None
    started: float | None = None
    finished: bool = False
    abandoned: bool = False
    ctx: ProbeContext | None = None

    def run(self, ctx: ProbeContext) -> None:
        try:
            self.result = self.source.expand()
        except BaseException as exc:  # noqa: BLE001 - every failure becomes data
            self.result = self.source.on_error(exc)

    @property
    def error(self) -> BaseException | None:
        return None

    def expansion(self) -> Expansion:
        if self.abandoned or self.result is None:
            return self.source.on_timeout()
        return self.result


_AnyJob = _Job | _SourceJob


class _Pool:
    """Daemon worker threads fed from a queue; results come back on another queue."""

    def __init__(self, size: int, options: EngineOptions):
        self.options = options
        self.tasks: queue.Queue[_AnyJob | None] = queue.Queue()
        self.events: queue.Queue[tuple[str, _AnyJob]] = queue.Queue()
        self.size = size
        for _ in range(size):
            self.add_worker()

    def add_worker(self) -> None:
        threading.Thread(target=self._work, name="smbaudit-probe", daemon=True).start()

    def _work(self) -> None:
        while True:
            job = self.tasks.get()
            if job is None:
                return
            job.started = time.monotonic()
            self.events.put(("start", job))
            ctx = ProbeContext(deadline=job.started + job.timeout,
                               timeout=self.options.io_timeout,
                               options=dict(self.options.probe_options))
            job.ctx = ctx
            gate = self.options.heavy_slots if (
                isinstance(job, _Job) and job.probe.memory_heavy) else None
            held = gate.acquire(timeout=job.timeout / 2) if gate is not None else False
            try:
                job.run(ctx)
            finally:
                if held and gate is not None:
                    gate.release()
            if job.abandoned:
                return  # a replacement worker was started when this job timed out
            self.events.put(("done", job))

    def close(self) -> None:
        for _ in range(self.size):
            self.tasks.put(None)


class _Plan:
    """Jobs per (target index, probe, params) and the checks planned per target, grown as
    targets arrive (from the caller, or from target sources)."""

    def __init__(self, checks: Sequence[CheckDef], probes: dict[str, Probe], options: EngineOptions):
        self.checks, self.probes, self.options = checks, probes, options
        self.targets: list[Target] = []
        self.jobs: dict[tuple[int, str, str], _Job] = {}
        self.planned: dict[int, list[CheckDef]] = {}

    def add(self, target: Target) -> list[_Job]:
        """Plan one target; return its new jobs."""
        ti = len(self.targets)
        self.targets.append(target)
        probes = self.probes
        mine = [c for c in self.checks if c.probe in probes and probes[c.probe].applies_to(target)]
        self.planned[ti] = mine
        new: list[_Job] = []

        def job(key: tuple[int, str, str], probe: Probe, params: dict[str, Any]) -> None:
            if key not in self.jobs:
                self.jobs[key] = _Job(target, probe, params, f"{target.name}: {probe.name}",
                                      timeout=self.options.probe_timeout)
                new.append(self.jobs[key])

        wants_os = any(c.applies and (c.applies.os_family or c.applies.os_release) for c in mine)
        if wants_os and OS_PROBE in probes and probes[OS_PROBE].applies_to(target):
            job((ti, OS_PROBE, "{}"), probes[OS_PROBE], {})
        for c in mine:
            probe = probes[c.probe]
            if probe.live_only and isinstance(target, HostTarget) and not target.live:
                continue
            job((ti, c.probe, c.params_key), probe, dict(c.params))
        return new


def run(targets: Sequence[Target], checks: Sequence[CheckDef], probes: dict[str, Probe],
        options: EngineOptions | None = None, observer: Observer | None = None,
        sources: Sequence[TargetSource] = (), stop: threading.Event | None = None) -> EngineResult:
    """`stop`, when set from another thread, ends the run as an interrupt does (a fleet scan
    runs one engine per host in worker threads, where no KeyboardInterrupt arrives)."""
    options = options or EngineOptions()
    observer = observer or Observer()
    plan = _Plan(checks, probes, options)
    planned = sorted((j for t in targets for j in plan.add(t)),
                     key=lambda j: not j.probe.long_running)  # tree walks first, stable order
    first: list[_AnyJob] = list(planned)
    first += [_SourceJob(s, s.label, s.budget) for s in sources]
    observer.planned(len(first))
    complete, stop_reason = True, ""
    discovered: list[TargetInfo] = []
    pool = _Pool(max(1, min(options.jobs, len(first) or 1) if not sources else options.jobs), options)
    try:
        for queued in first:
            pool.tasks.put(queued)
        _collect(pool, first, options, observer, plan, discovered, stop)
    except KeyboardInterrupt:
        complete, stop_reason = False, "interrupted before every check ran"
        _drain(pool)  # keep results that arrived while the interrupt was handled
        for unfinished in plan.jobs.values():
            if not unfinished.finished and unfinished.ctx is not None:
                unfinished.ctx.cancel()  # running probes stop at their next deadline check
    finally:
        pool.close()
    findings: list[Finding] = []
    infos: list[TargetInfo] = []
    jobs = plan.jobs
    for ti, target in enumerate(plan.targets):
        info = target.info()
        os_job = jobs.get((ti, OS_PROBE, "{}"))
        os_facts = os_job.facts if os_job and os_job.finished and os_job.facts else None
        if os_facts:
            info.details.setdefault("os", os_facts.get("pretty_name") or os_facts.get("id"))
            info.details.setdefault("os_family", os_facts.get("family"))
        infos.append(info)
        for check in plan.planned[ti]:
            job = jobs.get((ti, check.probe, check.params_key))
            finding = _finding(check, target, job, os_facts)
            findings.extend(peritem.split(check, finding, job.facts or {}) if job else [finding])
    return EngineResult(findings=findings, targets=infos, complete=complete, stop_reason=stop_reason,
                        discovered=discovered)


def _collect(pool: _Pool, pending: list[_AnyJob], options: EngineOptions, observer: Observer,
             plan: _Plan, discovered: list[TargetInfo], stop: threading.Event | None = None) -> None:
    running: set[_AnyJob] = set()
    left = set(pending)
    total = len(pending)

    def finish(job: _AnyJob) -> None:
        nonlocal total
        job.finished = True
        running.discard(job)
        left.discard(job)
        if not isinstance(job, _SourceJob):
            observer.job_done(job.label, job.error is None)
            return
        expansion = job.expansion()
        discovered.extend(expansion.infos)
        new: list[_AnyJob] = [j for t in expansion.targets for j in plan.add(t)]
        new += [_SourceJob(s, s.label, s.budget) for s in expansion.sources]
        for j in new:
            pool.tasks.put(j)
            left.add(j)
        if new:
            total += len(new)
            observer.planned(total)
        observer.job_done(job.label, True)

    while left:
        if stop is not None and stop.is_set():
            raise KeyboardInterrupt
        now = time.monotonic()
        for job in list(running):
            if job.started is not None and now - job.started > job.timeout:
                job.abandoned = True
                if job.ctx is not None:
                    job.ctx.cancel()  # the probe stops at its next deadline check
                pool.add_worker()
                finish(job)
        if not left:
            break
        deadlines = [j.started + j.timeout - now for j in running if j.started]
        wait = max(0.01, min(deadlines + [1.0]))
        try:
            kind, job = pool.events.get(timeout=wait)
        except queue.Empty:
            continue
        if job.abandoned:
            continue
        if kind == "start":
            running.add(job)
        else:
            finish(job)


def _drain(pool: _Pool) -> None:
    while True:
        try:
            kind, job = pool.events.get_nowait()
        except queue.Empty:
            return
        if kind == "done" and not job.abandoned:
            job.finished = True


def _base_finding(check: CheckDef, target: Target, status: Status, reason: str = "") -> Finding:
    return Finding(
        check_id=check.id,
        title=check.title,
        description=check.description,
        category=check.category,
        severity=check.severity,
        status=status,
        target=target.name,
        location=target.name if target.kind is TargetKind.SERVICE else check.params.get("path"),
        reason=reason,
        remediation=check.remediation,
        rationale=check.rationale,
        references=check.references,
        compliance=check.compliance,
        network_exposed=target.kind is TargetKind.SERVICE,
    )


def _finding(check: CheckDef, target: Target, job: _Job | None,
             os_facts: Facts | None) -> Finding:
    probe_live_only = job is None and isinstance(target, HostTarget) and not target.live
    if job is None and probe_live_only:
        return _base_finding(check, target, Status.NOT_APPLICABLE,
                             f"this check reads the running system, and {target.name} is an "
                             "offline tree")
    if job is None or not job.finished:
        return _base_finding(check, target, Status.SKIPPED, "scan interrupted before this check ran")
    if check.applies and check.applies.os_family and os_facts and os_facts.get("family"):
        family = os_facts["family"]
        if family not in check.applies.os_family and "linux" not in check.applies.os_family:
            return _base_finding(check, target, Status.NOT_APPLICABLE,
                                 f"this check is for {', '.join(check.applies.os_family)} "
                                 f"systems; {target.name} is {family}")
    if check.applies and check.applies.os_release:
        wanted = _releases(check.applies.os_release)
        if not (os_facts or {}).get("id"):  # unknown release: not assessed, never not applicable
            return _base_finding(check, target, Status.SKIPPED,
                                 f"not assessed: this check is for {wanted}, and no os-release "
                                 f"file of {target.name} says which release it is")
        other = _other_release(check.applies.os_release, os_facts)
        if other:
            return _base_finding(check, target, Status.NOT_APPLICABLE,
                                 f"this check is for {wanted}; {target.name} {other}")
    if job.error is not None:
        return _error_finding(check, target, job)
    facts = job.facts or {}
    unreadable = _unreadable_reason(check, facts)
    if unreadable:
        return _base_finding(check, target, Status.ERROR, redact(unreadable))
    try:
        if check.applies and check.applies.condition:
            gate = eval_condition(check.applies.condition, facts)
            if not gate.passed:
                return _base_finding(check, target, Status.NOT_APPLICABLE,
                                     redact(not_applicable_reason(check, facts)))
        outcome = eval_condition(check.condition, facts)
    except EvaluationError as exc:
        return _base_finding(check, target, Status.ERROR, f"check could not be evaluated: {exc}")
    incomplete = facts.get(INCOMPLETE)
    if outcome.passed and incomplete:
        return _base_finding(check, target, Status.ERROR, redact(f"not fully assessed: {incomplete}"))
    finding = _base_finding(check, target, Status.PASS if outcome.passed else Status.FAIL)
    # Redaction touches observed values only: expected values and messages are the check's own
    # text (item labels inside messages are redacted where they are taken from the facts).
    finding.evidence = [Evidence(fact=e.fact, observed=redact(e.observed), expected=e.expected,
                                 ok=e.ok, message=e.message) for e in outcome.evidence]
    placement = place(facts, check.location, outcome)
    if placement.location:
        finding.location, finding.line = placement.location, placement.line
    if not outcome.passed:
        finding.offending = placement.offending
        finding.fix_file = check.fix_file
        finding.problem = problem_line(check, facts, outcome, target.name, finding.location)
    return finding


def _other_release(wanted: tuple[str, ...], os_facts: Facts | None) -> str:
    """Why a target of a known release is not one of the `wanted` releases ("ubuntu 22.04":
    os-release ID, then a VERSION_ID prefix by whole components), or "" when it is one."""
    facts = os_facts or {}
    os_id, version = str(facts.get("id") or ""), str(facts.get("version_id") or "")
    for release in wanted:
        want_id, _, want_version = release.partition(" ")
        if os_id == want_id and (not want_version or version == want_version
                                 or version.startswith(want_version + ".")):
            return ""
    return f"is {facts.get('pretty_name') or f'{os_id} {version}'.strip()}"


def _releases(wanted: tuple[str, ...]) -> str:
    names = {"ubuntu": "Ubuntu", "debian": "Debian", "rhel": "Red Hat Enterprise Linux",
             "almalinux": "AlmaLinux", "rocky": "Rocky Linux", "centos": "CentOS",
             "fedora": "Fedora", "alpine": "Alpine Linux"}
    shown = []
    for release in wanted:
        os_id, _, version = release.partition(" ")
        shown.append(f"{names.get(os_id, os_id)} {version}".strip())
    return " or ".join(shown)


def _fact_paths(cond: Condition) -> list[str]:
    paths: list[str] = []
    for item in cond.items:
        if isinstance(item, Assertion):
            paths.append(item.fact)
        else:
            paths.extend(_fact_paths(item))
    return paths


def _under(path: str, marked: str) -> bool:
    """Whether fact `path` is `marked` or lies under it (`*` matches any list element)."""
    p, m = path.split("."), marked.split(".")
    return len(p) >= len(m) and all(a == b or "*" in (a, b) for a, b in zip(p, m))


def _unreadable_reason(check: CheckDef, facts: Facts) -> str:
    """The reason a check cannot be assessed: a fact it reads was marked unreadable."""
    marked = facts.get(UNREADABLE)
    if not marked:
        return ""
    conditions = [check.condition]
    if check.applies and check.applies.condition:
        conditions.append(check.applies.condition)
    for cond in conditions:
        for path in _fact_paths(cond):
            for fact, reason in marked.items():
                if _under(path, fact):
                    return str(reason)
    return ""


def _error_finding(check: CheckDef, target: Target, job: _Job) -> Finding:
    exc = job.error
    if isinstance(exc, UnsupportedOperation):
        return _base_finding(check, target, Status.NOT_APPLICABLE, str(exc))
    if isinstance(exc, DataMissing):
        return _base_finding(check, target, Status.SKIPPED, f"not assessed: {exc}")
    if job.abandoned:
        reason = f"timed out: probe {check.probe!r} did not finish within the probe deadline"
    elif isinstance(exc, ProbeTimeout):
        reason = f"timed out: {exc}"
    elif isinstance(exc, NotReadable):
        reason = str(exc)  # already plain words: what could not be read, what to do
    elif isinstance(exc, PermissionError) and isinstance(target, HostTarget) and exc.filename:
        reason = str(target.not_readable(str(exc.filename)))
    elif isinstance(exc, ProbeError):
        reason = f"probe {check.probe!r} failed: {exc}"
    elif isinstance(exc, OSError):
        reason = f"probe {check.probe!r} could not read the target: {exc.strerror or exc}" + (
            f" ({exc.filename})" if exc.filename else "")
    else:
        reason = f"probe {check.probe!r} raised {type(exc).__name__}: {exc} (a bug in the probe)"
    return _base_finding(check, target, Status.ERROR, redact(reason))

