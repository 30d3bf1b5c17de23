"""Auditing many remote hosts at once: a bounded pool of host workers, each connecting to its
host and running the engine on it, so connections open concurrently and one host's stall,
refusal or loss never delays or hides the others.

Every host ends in a known state (`targets.hoststate.HostState`), kept in its TargetInfo
details as `state` and `state_reason`:
- not connected: unreachable, refused (login), host key mismatch or unknown; no findings;
- connected: assessed, or partly assessed when the connection was lost mid-scan, the scan was
  interrupted, or more than a small share of its checks could not be assessed (the grade of
  such a host reads "Incomplete").
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from smbaudit import engine
from smbaudit.models import CheckDef, Finding, Status, TargetInfo, TargetKind
from smbaudit.probes.base import Probe
from smbaudit.scoring import ERROR_GATE
from smbaudit.targets.hoststate import ConnectError, HostState
from smbaudit.targets.ssh import SSHTarget

DEFAULT_PARALLEL = 8  # hosts audited at once
HEAVY_AT_ONCE = 2  # memory-heavy probes (whole package indexes) running at once in a fleet
_POLL = 0.5  # seconds between looks for an interrupt while hosts are audited


@dataclass(frozen=True)
class HostOutcome:
    """How one host ended, for the progress line printed as it finishes."""

    name: str
    state: HostState
    reason: str = ""
    seconds: float = 0.0
    failed: int = 0
    errors: int = 0
    checks: int = 0


class Observer(engine.Observer):
    """Progress callbacks of a fleet scan; called from the host workers under one lock."""

    def host_done(self, outcome: HostOutcome) -> None: ...


@dataclass
class _HostResult:
    info: TargetInfo
    findings: list[Finding] = field(default_factory=list)
    complete: bool = True


class _Shared:
    """Adds up the engine runs' job counts into one progress for the whole fleet."""

    def __init__(self, observer: Observer):
        self.observer = observer
        self.lock = threading.Lock()
        self.planned: dict[str, int] = {}

    def for_host(self, name: str) -> engine.Observer:
        shared = self

        class _One(engine.Observer):
            def planned(self, total_jobs: int) -> None:
                with shared.lock:
                    shared.planned[name] = total_jobs
                    shared.observer.planned(sum(shared.planned.values()))

            def job_done(self, label: str, ok: bool) -> None:
                with shared.lock:
                    shared.observer.job_done(label, ok)

        return _One()

    def host_done(self, outcome: HostOutcome) -> None:
        with self.lock:
            self.observer.host_done(outcome)


def _not_connected(target: SSHTarget, state: HostState, reason: str) -> TargetInfo:
    return TargetInfo(name=target.name, kind=TargetKind.HOST, reachable=False, error=reason,
                      details={"address": target.host, "port": target.port, "user": target.user,
                               "state": state.value, "state_reason": reason})


def host_state(target: SSHTarget, findings: Sequence[Finding], complete: bool
               ) -> tuple[HostState, str]:
    """The state of a host that was connected, from what its checks came to."""
    if target.lost:
        return HostState.PARTLY_ASSESSED, target.lost
    if not complete:
        return HostState.PARTLY_ASSESSED, "the scan was interrupted before every check ran"
    selected = [f for f in findings if f.status is not Status.NOT_APPLICABLE]
    missed = [f for f in selected if f.status in (Status.ERROR, Status.SKIPPED)]
    if selected and len(missed) / len(selected) > ERROR_GATE:
        why, _ = Counter(f.reason for f in missed).most_common(1)[0]
        return HostState.PARTLY_ASSESSED, (f"{len(missed)} of {len(selected)} checks could not "
                                           f"be assessed (most often: {why})")
    return HostState.ASSESSED, ""


def _audit(target: SSHTarget, checks: Sequence[CheckDef], probes: dict[str, Probe],
           options: engine.EngineOptions, shared: _Shared, stop: threading.Event) -> _HostResult:
    started = time.monotonic()
    if stop.is_set():
        return _HostResult(_not_connected(target, HostState.NOT_STARTED,
                                          "the scan was interrupted before this host's turn"),
                           complete=False)
    try:
        target.connect()
    except ConnectError as exc:
        result = _HostResult(_not_connected(target, exc.state, str(exc)))
        shared.host_done(HostOutcome(target.name, exc.state, str(exc),
                                     time.monotonic() - started))
        return result
    try:
        run = engine.run([target], checks, probes, options,
                         observer=shared.for_host(target.name), stop=stop)
    finally:
        target.close()
    state, reason = host_state(target, run.findings, run.complete)
    info = run.targets[0] if run.targets else target.info()
    info.details["state"] = state.value
    if reason:
        info.details["state_reason"] = reason
    counts = Counter(f.status for f in run.findings)
    shared.host_done(HostOutcome(target.name, state, reason, time.monotonic() - started,
                                 failed=counts[Status.FAIL], errors=counts[Status.ERROR],
                                 checks=len(run.findings)))
    return _HostResult(info, run.findings, run.complete)


_M_ARENA_MAX, _M_MMAP_THRESHOLD = -8, -3  # glibc's mallopt parameters


def _return_freed_memory() -> None:
    """Keep the process's memory near what it uses. With many host threads, glibc gives each
    thread its own heap and keeps large freed blocks (a 50 MB package index per host) in it
    after raising its mmap threshold: resident memory then grows with every host audited.
    Two heaps and blocks of 1 MiB or more always mapped (so freeing returns them) keep 25 hosts
    at about 320 MB instead of 600. Other C libraries: nothing is changed."""
    try:
        import ctypes

        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_ARENA_MAX, 2)
    mallopt(_M_MMAP_THRESHOLD, 1 << 20)


def run_hosts(hosts: Sequence[SSHTarget], checks: Sequence[CheckDef], probes: dict[str, Probe],
              options: engine.EngineOptions, *, parallel: int = DEFAULT_PARALLEL,
              observer: Observer | None = None, grace: float = 10.0) -> engine.EngineResult:
    """Audit every host, at most `parallel` at once, in daemon threads (a host that hangs
    never keeps the process alive). Results keep the hosts' order. Ctrl-C stops the workers;
    hosts not yet started end "not audited", hosts under way keep what they found. `grace`
    bounds the wait for workers after an interrupt (beyond --timeout)."""
    if len(hosts) > 1:
        _return_freed_memory()
    shared = _Shared(observer or Observer())
    stop = threading.Event()
    options = replace(options, heavy_slots=threading.Semaphore(HEAVY_AT_ONCE))
    todo: queue.Queue[int | None] = queue.Queue()
    results: dict[int, _HostResult] = {}
    done = threading.Condition()

    def work() -> None:
        while True:
            i = todo.get()
            if i is None:
                return
            try:
                r = _audit(hosts[i], checks, probes, options, shared, stop)
            except Exception as exc:  # noqa: BLE001 - a bug must not lose the other hosts
                r = _HostResult(_not_connected(hosts[i], HostState.UNREACHABLE,
                                               f"{hosts[i].name}: audit failed: {exc!r}"))
            with done:
                results[i] = r
                done.notify_all()

    for i in range(len(hosts)):
        todo.put(i)
    workers = max(1, min(parallel, len(hosts)))
    for _ in range(workers):
        todo.put(None)
        threading.Thread(target=work, name="smbaudit-host", daemon=True).start()
    complete, stop_reason = True, ""
    try:
        with done:
            for _ in range(10_000_000):  # bounded; each pass waits up to _POLL
                if len(results) == len(hosts):
                    break
                done.wait(_POLL)
    except KeyboardInterrupt:
        stop.set()
        complete, stop_reason = False, "interrupted before every host was audited"
        deadline = time.monotonic() + grace + options.io_timeout
        with done:
            while len(results) < len(hosts) and time.monotonic() < deadline:
                done.wait(_POLL)
    with done:
        got = dict(results)
    findings: list[Finding] = []
    infos: list[TargetInfo] = []
    for i, target in enumerate(hosts):
        r = got.get(i) or _HostResult(_not_connected(
            target, HostState.NOT_STARTED, "the scan was interrupted before this host was audited"),
            complete=False)
        infos.append(r.info)
        findings.extend(r.findings)
        complete = complete and r.complete
    if not complete and not stop_reason:
        stop_reason = "interrupted before every check ran"
    return engine.EngineResult(findings=findings, targets=infos, complete=complete,
                               stop_reason=stop_reason)


def host_slice(report: dict[str, Any], target: str) -> dict[str, Any] | None:
    """A stored report (JSON form) narrowed to one of its targets: its findings, its entry in
    the targets, and its own score and grade as the summary. None when the report does not
    include `target`. History and diff per host of a fleet scan compare these."""
    targets = [t for t in report["targets"] if t["name"] == target]
    if not targets:
        return None
    findings = [f for f in report["findings"] if f["target"] == target]
    summary = dict(report["summary"])
    own = next((p for p in summary.get("per_target", []) if p["target"] == target), None)
    summary["score"] = own["score"] if own else None
    summary["grade"] = own["grade"] if own else "Not assessed"
    summary["score_without_waivers"] = None
    summary["per_target"] = [own] if own else []
    summary["top_contributors"] = [c for c in summary.get("top_contributors", [])
                                   if c.get("target") == target]
    counts = Counter(f["status"] for f in findings)
    summary["counts"] = {s.value: counts.get(s.value, 0) for s in Status} | {"total": len(findings)}
    summary["gates"] = [g for g in summary.get("gates", []) if target in g]
    return {**report, "targets": targets, "findings": findings, "summary": summary}
