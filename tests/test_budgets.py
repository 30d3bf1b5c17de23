"""Budgets: amplification through nested includes and huge folders is stopped with a named
error, large folders cost linear time, and a probe past its deadline actually stops."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hostcfg_util import collect, put
from smbaudit.cli import cli
from smbaudit.engine import EngineOptions, run
from smbaudit.errors import BudgetExceeded, ProbeTimeout
from smbaudit.models import Assertion, CheckDef, Condition, Severity, SourceRef, Status
from smbaudit.probes._common import Budget, Limits, Reader
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import Target
from smbaudit.targets.posixfs import DirectoryTarget

LEVELS = 5  # ten files per level, each including all ten of the next: 10**5 expansions


def _fan(root: Path, top: str, folder: str, include: str, leaf: str) -> None:
    """`top` includes level 1; every file of level k includes every file of level k+1."""
    put(root, top, include.format(f"{folder}/l1"))
    for k in range(1, LEVELS + 1):
        for i in range(10):
            body = include.format(f"{folder}/l{k + 1}") if k < LEVELS else leaf
            put(root, f"{folder}/l{k}/f{i}.conf", body)


def _scan(root: Path, out: Path, *select: str) -> dict[str, dict[str, Any]]:
    args = ["scan", f"dir:{root}", "-f", "json", "-o", str(out), "-q", "--fail-on", "none",
            "--no-history"]
    for s in select:
        args += ["--select", s]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code in (0, 3), result.output
    return {f["check_id"]: f for f in json.loads(out.read_text())["findings"]}


def test_nested_nginx_includes_end_in_a_named_error(tmp_path: Path) -> None:
    root = tmp_path / "root"
    put(root, "/etc/passwd", "root:x:0:0::/root:/bin/sh\n")
    _fan(root, "/etc/nginx/nginx.conf", "/etc/nginx", "include {}/*.conf;\n", "server_tokens on;\n")
    started = time.monotonic()
    with pytest.raises(BudgetExceeded, match="more than 5000 configuration files"):
        collect("webserver_tls", root)
    assert time.monotonic() - started < 30  # bounded by the budget, not by the probe deadline
    findings = _scan(root, tmp_path / "r.json", "webserver.*")
    assert findings and all(f["status"] == "error" for f in findings.values())
    assert all("not assessed" in f["reason"] for f in findings.values())


def test_nested_sshd_includes_end_in_a_named_error(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _fan(root, "/etc/ssh/sshd_config", "/etc/ssh", "Include {}/*.conf\n", "PermitRootLogin yes\n")
    with pytest.raises(BudgetExceeded, match="not assessed"):
        collect("sshd_config", root)


def test_nested_pam_includes_end_in_a_named_error(tmp_path: Path) -> None:
    root = tmp_path / "root"
    put(root, "/etc/pam.d/login", "@include common-0\n")
    for k in range(LEVELS):
        nxt = "\n".join(f"@include common-{k + 1}" for _ in range(10)) if k < LEVELS - 1 \
            else "auth required pam_unix.so nullok"
        put(root, f"/etc/pam.d/common-{k}", nxt + "\n")
    with pytest.raises(BudgetExceeded, match="more than 5000 configuration files"):
        collect("pam", root, {"services": ["login"]})


def test_two_hundred_thousand_sudoers_files(tmp_path: Path) -> None:
    """The accounts checks still complete; only the sudo facts are not assessed, and say why."""
    root = tmp_path / "root"
    put(root, "/etc/passwd", "root:x:0:0::/root:/bin/sh\ntoor:x:0:0::/root:/bin/sh\n")
    put(root, "/etc/shadow", "root:!:19000:0:99999:7:::\ntoor:!:19000:0:99999:7:::\n", 0o600)
    put(root, "/etc/sudoers", "#includedir /etc/sudoers.d\n")
    folder = root / "etc/sudoers.d"
    folder.mkdir()
    fd = os.open(folder, os.O_RDONLY)
    try:
        for i in range(200_000):
            os.close(os.open(f"f{i}", os.O_WRONLY | os.O_CREAT, 0o440, dir_fd=fd))
    finally:
        os.close(fd)
    facts = collect("accounts", root)
    assert facts["uid0_extra"] == ["toor"]
    assert "more than 10000 files to include" in facts["_unreadable"]["sudo.nopasswd"]
    findings = _scan(root, tmp_path / "r.json", "accounts.*")
    uid0 = [f for f in findings.values() if "uid" in f["check_id"] and "0" in f["check_id"]]
    assert uid0 and all(f["status"] == "fail" for f in uid0), uid0
    sudo = [f for f in findings.values() if "sudo" in f["check_id"] and f["status"] == "error"]
    assert sudo and all("sudoers" in f["reason"] for f in sudo)


def test_repeated_reads_count_and_files_are_read_once(tmp_path: Path) -> None:
    root = tmp_path / "root"
    put(root, "/etc/a.conf", "x\n")
    host = DirectoryTarget("dir:t", str(root))
    reader = Reader(host, budget=Budget(Limits(files=3)))
    for _ in range(3):
        assert reader.read("/etc/a.conf") == "x\n"
    assert reader.files == ["/etc/a.conf"]
    with pytest.raises(BudgetExceeded, match="more than 3 configuration files"):
        reader.read("/etc/a.conf")


def test_the_deadline_is_checked_inside_parsing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    put(root, "/etc/a.conf", "x\n")
    ProbeContext(deadline=time.monotonic() - 1, timeout=1)  # this thread's current context
    with pytest.raises(ProbeTimeout):
        Reader(DirectoryTarget("dir:t", str(root))).read("/etc/a.conf")
    budget = Budget()
    with pytest.raises(ProbeTimeout):
        for _ in range(10_000):
            budget.directive()


class Spinning(Probe):
    """Parses forever through the shared budget helper, never looking at the clock itself."""

    name = "spinning"
    params_schema = {"type": "object"}

    def __init__(self) -> None:
        self.stopped = threading.Event()

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        budget = Budget(Limits(directives=10**12))
        try:
            for _ in range(10**9):  # bounded, but far beyond the test's patience
                budget.directive()
        finally:
            self.stopped.set()
        return {"ok": True}


def test_a_probe_past_its_deadline_actually_stops(tmp_path: Path) -> None:
    probe = Spinning()
    check = CheckDef(id="t.spin", title="t", description="d", category="hardening",
                     severity=Severity.LOW, rationale="r", remediation="fix", probe="spinning",
                     params={}, condition=Condition("all", (Assertion("ok", "is_true"),)),
                     source=SourceRef("t.yaml", 1))
    result = run([DirectoryTarget("dir:t", str(tmp_path))], [check], {"spinning": probe},
                 EngineOptions(jobs=1, probe_timeout=0.5))
    assert result.findings[0].status is Status.ERROR
    assert probe.stopped.wait(20), "the abandoned probe kept running"
