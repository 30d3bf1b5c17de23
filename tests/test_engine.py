"""The engine: collect once, isolate failures, honour deadlines, survive interruption."""

from __future__ import annotations

import _thread
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from smbaudit.engine import EngineOptions, run
from smbaudit.errors import ProbeError
from smbaudit.models import (Applicability, Assertion, CheckDef, Condition, Severity, SourceRef,
                             Status, TargetKind)
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import Target
from smbaudit.targets.posixfs import DirectoryTarget


def check(cid: str, probe: str, cond: Condition | None = None, params: dict[str, Any] | None = None,
          applies: Applicability | None = None) -> CheckDef:
    return CheckDef(id=cid, title=cid, description="d", category="hardening", severity=Severity.HIGH,
                    rationale="r", remediation="fix", probe=probe, params=params or {},
                    condition=cond or Condition("all", (Assertion("ok", "is_true"),)),
                    source=SourceRef("test.yaml", 1), applies=applies)


class Counting(Probe):
    name = "counting"
    params_schema = {"type": "object"}

    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        with self.lock:
            self.calls += 1
        return {"ok": params.get("ok", True)}


class Hanging(Probe):
    name = "hanging"

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        time.sleep(30)  # ignores its deadline, like a buggy third-party probe
        return {"ok": True}


class Raising(Probe):
    name = "raising"

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        raise ZeroDivisionError("boom")


class Failing(Probe):
    name = "failing"

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        raise ProbeError("connection refused")


class OsRelease(Probe):
    name = "os_release"

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        return {"id": "rocky", "family": "rhel"}


class LiveOnly(Probe):
    name = "live_only"
    live_only = True

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        raise AssertionError("must not run on an offline tree")


class ServiceOnly(Probe):
    name = "service_only"
    target_kinds = frozenset({TargetKind.SERVICE})

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        raise AssertionError("not for hosts")


def target(tmp_path: Path, name: str = "dir:t") -> DirectoryTarget:
    return DirectoryTarget(name, str(tmp_path))


def test_each_probe_call_runs_once_for_many_checks(tmp_path: Path) -> None:
    probe = Counting()
    checks = [check(f"c.{i}", "counting") for i in range(20)] + [check("c.x", "counting", params={"ok": False})]
    result = run([target(tmp_path)], checks, {"counting": probe})
    assert probe.calls == 2  # two distinct parameter sets
    statuses = {f.check_id: f.status for f in result.findings}
    assert statuses["c.x"] is Status.FAIL and statuses["c.0"] is Status.PASS
    assert len(result.findings) == 21 and result.complete


def test_failures_are_isolated_and_every_check_appears(tmp_path: Path) -> None:
    probes = {"counting": Counting(), "raising": Raising(), "failing": Failing(), "hanging": Hanging()}
    checks = [check("a.ok", "counting"), check("a.raise", "raising"), check("a.fail", "failing"),
              check("a.hang", "hanging")]
    started = time.monotonic()
    result = run([target(tmp_path), target(tmp_path, "dir:t2")], checks, probes,
                 EngineOptions(jobs=2, probe_timeout=1.0))
    elapsed = time.monotonic() - started
    assert elapsed < 8, "a hanging probe must not hold up the scan past its deadline"
    by = {(f.check_id, f.target): f for f in result.findings}
    assert len(by) == 8
    for t in ("dir:t", "dir:t2"):
        assert by[("a.ok", t)].status is Status.PASS
        assert by[("a.raise", t)].status is Status.ERROR and "ZeroDivisionError" in by[("a.raise", t)].reason
        assert by[("a.fail", t)].status is Status.ERROR and "connection refused" in by[("a.fail", t)].reason
        assert by[("a.hang", t)].status is Status.ERROR and "timed out" in by[("a.hang", t)].reason
    assert result.complete


def test_os_family_and_live_only_applicability(tmp_path: Path) -> None:
    probes = {"counting": Counting(), "os_release": OsRelease(), "live_only": LiveOnly(),
              "service_only": ServiceOnly()}
    checks = [check("deb.only", "counting", applies=Applicability(os_family=("debian",))),
              check("rhel.only", "counting", applies=Applicability(os_family=("rhel",))),
              check("gated", "counting", applies=Applicability(
                  condition=Condition("all", (Assertion("ok", "is_false"),)))),
              check("live", "live_only"), check("svc", "service_only")]
    result = run([target(tmp_path)], checks, probes)
    by = {f.check_id: f for f in result.findings}
    assert by["deb.only"].status is Status.NOT_APPLICABLE and "rhel" in by["deb.only"].reason
    assert by["rhel.only"].status is Status.PASS
    assert by["gated"].status is Status.NOT_APPLICABLE and by["gated"].reason == "ok is in use"
    assert by["live"].status is Status.NOT_APPLICABLE
    assert "reads the running system" in by["live"].reason and "offline tree" in by["live"].reason
    assert "svc" not in by  # service checks are planned for service targets only
    assert result.targets[0].details["os_family"] == "rhel"


class Interrupting(Probe):
    """Simulates Ctrl-C arriving while the scan runs."""

    name = "interrupting"

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        _thread.interrupt_main()
        time.sleep(5)
        return {"ok": True}


def test_interrupt_keeps_what_was_found(tmp_path: Path) -> None:
    probes = {"counting": Counting(), "interrupting": Interrupting()}
    checks = [check("first", "counting"), check("second", "interrupting")]
    result = run([target(tmp_path)], checks, probes, EngineOptions(jobs=1, probe_timeout=30))
    by = {f.check_id: f for f in result.findings}
    assert not result.complete and "interrupted" in result.stop_reason
    assert by["first"].status is Status.PASS
    assert by["second"].status is Status.SKIPPED and "interrupted" in by["second"].reason


def test_secrets_in_evidence_are_redacted(tmp_path: Path) -> None:
    class Leaky(Probe):
        name = "leaky"

        def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
            return {"line": "root:$6$saltsalt$abcdefghijklmnop:19000:0:99999:7:::"}

    cond = Condition("all", (Assertion("line", "equals", "x"),))
    result = run([target(tmp_path)], [check("leak", "leaky", cond)], {"leaky": Leaky()})
    observed = result.findings[0].evidence[0].observed
    assert "$6$" not in observed and "[REDACTED]" in observed
