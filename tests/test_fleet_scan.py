"""Fleet scans end to end: `smbaudit scan --inventory` against real sshd instances on loopback
(different addresses, ports, users and keys), both inventory formats, --limit, -F with a jump
host, several known_hosts files, --become with sudo allowed and refused, a stalled server, a
host-key mismatch, a refused login, and a host whose sshd is killed mid-scan (after its first probe). Every host ends in
a known state; the exit code and the -q line tell findings from hosts not audited."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from netservers import LOOPBACK, free_port, needs_marks
from smbaudit import pipeline
from smbaudit.config import ScanConfig
from smbaudit.errors import EXIT_FINDINGS_NOT_AUDITED
from smbaudit.scoring import INCOMPLETE
from sshfleet import PLAIN_USER, SUDO_USER, Sshd, _keygen, _start, fleet_access, kill

pytestmark = needs_marks("sshd", root=True)

SELECT = ["--select", "fleettest.*", "--select", "accounts.no-empty-passwords"]
PACK = """\
schema: 1
pack: fleettest
description: Checks for the fleet tests.
checks:
  - id: fleettest.always-fails
    title: An account other than root has user id 0
    description: Fails on any ordinary host (for the fleet tests).
    category: access_control
    severity: high
    rationale: A test check.
    remediation: None.
    probe: accounts
    condition:
      all:
        - {fact: uid0_extra, op: not_empty}
"""


@dataclass
class Fleet:
    tmp: Path
    key: Path
    pack: Path
    known1: Path
    known2: Path
    ssh_config: Path
    web1: Sshd
    web2: Sshd
    db1: Sshd
    forged: Sshd
    jump: Sshd
    inner: Sshd
    stalled_port: int
    authorized: Path


def _silent_listener(address: str) -> tuple[socket.socket, int]:
    """A TCP port that accepts connections (the kernel's backlog) and never says anything."""
    s = socket.socket()
    s.bind((address, 0))
    s.listen(16)
    return s, s.getsockname()[1]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    tmp = tmp_path_factory.mktemp("fleetscan")
    with fleet_access(tmp, "fleetscan") as authorized:
        yield from _fleet(tmp, authorized)


def _fleet(tmp: Path, authorized: Path) -> Iterator[Fleet]:
    (tmp / "pack.yaml").write_text(PACK)
    servers: list[Sshd] = []
    stalled, stalled_port = _silent_listener("127.0.0.5")
    try:
        for name, address in (("web1", LOOPBACK), ("web2", "127.0.0.2"), ("db1", "127.0.0.3"),
                              ("forged", "127.0.0.4"), ("jump", LOOPBACK), ("inner", "127.0.0.6")):
            servers.append(_start(tmp, name, address, authorized))
        web1, web2, db1, forged, jump, inner = servers
        _keygen(tmp / "other")
        known1, known2 = tmp / "known1", tmp / "known2"
        known1.write_text(f"{web1.known()}\n{web2.known()}\n")
        wrong = f"[{forged.address}]:{forged.port} {(tmp / 'other.pub').read_text().strip()}"
        known2.write_text(f"{db1.known()}\n{wrong}\n{jump.known()}\n{inner.known()}\n")
        cfg = tmp / "ssh_config"
        cfg.write_text(f"Host bastion\n  HostName {LOOPBACK}\n  Port {jump.port}\n  User root\n"
                       f"  IdentityFile {tmp / 'client'}\n"
                       f"Host inner-db\n  HostName {inner.address}\n  Port {inner.port}\n"
                       f"  User root\n  ProxyJump bastion\n")
        yield Fleet(tmp, tmp / "client", tmp / "pack.yaml", known1, known2, cfg, web1, web2, db1,
                    forged, jump, inner, stalled_port, authorized)
    finally:
        stalled.close()
        for s in servers:
            if s.proc.poll() is None:
                kill(s)


def _ini(f: Fleet) -> str:
    return (f"[web]\nweb1 ansible_host={LOOPBACK} ansible_port={f.web1.port}\n"
            f"web2 ansible_host=127.0.0.2 ansible_port={f.web2.port} ansible_user={SUDO_USER}\n"
            f"web9 ansible_host=127.0.0.9 ansible_port=9\n"
            f"[db]\ndb1 ansible_host=127.0.0.3 ansible_port={f.db1.port} ansible_user={PLAIN_USER}\n"
            "inner-db\n"
            f"[odd]\nforged ansible_host=127.0.0.4 ansible_port={f.forged.port}\n"
            f"stalled ansible_host=127.0.0.5 ansible_port={f.stalled_port}\n"
            f"nologin ansible_host={LOOPBACK} ansible_port={f.web1.port} ansible_user=smbaudit-nosuch\n"
            "[web:vars]\nansible_become=yes\n[db:vars]\nansible_become=yes\n"
            f"[all:vars]\nansible_user=root\nansible_ssh_private_key_file={f.key}\n")


def _scan(f: Fleet, inventory: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "smbaudit", "scan", "--inventory", str(inventory),
           "-F", str(f.ssh_config), "--ssh-known-hosts", str(f.known1),
           "--ssh-known-hosts", str(f.known2), "--checks", str(f.pack), *SELECT,
           "--timeout", "3", "--no-history", "-f", "json", *extra]
    env = {k: v for k, v in os.environ.items() if k != "SMBAUDIT_SSH_PASSWORD"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, check=False)


def _by_target(report: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {t["name"]: t for t in report["targets"]}


def _status(report: dict, target: str, check: str) -> tuple[str, str]:  # type: ignore[type-arg]
    (f,) = [f for f in report["findings"] if f["target"] == target and f["check_id"] == check]
    return f["status"], f["reason"]


def test_ini_inventory_every_host_ends_in_a_known_state(fleet: Fleet) -> None:
    inv = fleet.tmp / "hosts.ini"
    inv.write_text(_ini(fleet))
    out = fleet.tmp / "ini.json"
    proc = _scan(fleet, inv, "--limit", "all:!web9", "-q", "-o", str(out))
    assert proc.returncode == EXIT_FINDINGS_NOT_AUDITED, proc.stderr + proc.stdout
    report = json.loads(out.read_text())
    targets = _by_target(report)
    assert "web9" not in targets  # left out by --limit
    states = {name: t["details"]["state"] for name, t in targets.items()}
    assert states == {"web1": "assessed", "web2": "assessed", "db1": "partly assessed",
                      "inner-db": "assessed", "forged": "host key mismatch",
                      "stalled": "unreachable", "nologin": "refused"}
    assert targets["web2"]["details"]["user"] == SUDO_USER
    assert "sudo" in targets["web2"]["details"]["via"]  # become through sudo -n sftp-server
    assert _status(report, "web2", "accounts.no-empty-passwords")[0] in ("pass", "fail")
    status, reason = _status(report, "db1", "accounts.no-empty-passwords")
    assert status == "error" and "sudo -n was refused" in reason
    assert "refused" in targets["db1"]["details"]["become"]
    assert targets["inner-db"]["details"]["address"] == fleet.inner.address  # via the jump host
    assert _status(report, "inner-db", "fleettest.always-fails")[0] == "fail"
    per = {t["target"]: t for t in report["summary"]["per_target"]}
    assert per["db1"]["grade"] == INCOMPLETE and per["web1"]["grade"] not in (INCOMPLETE, "Not assessed")
    assert per["stalled"]["score"] is None
    assert report["summary"]["grade"] == INCOMPLETE
    # The -q line names the hosts not audited, each with its state.
    line = next(ln for ln in proc.stderr.splitlines() if "not audited" in ln)
    for name, state in (("db1", "partly assessed"), ("forged", "host key mismatch"),
                        ("stalled", "unreachable"), ("nologin", "refused")):
        assert f"{name} ({state}" in line
    assert "web1 (" not in line


def test_yaml_inventory_groups_and_vars(fleet: Fleet) -> None:
    inv = fleet.tmp / "hosts.yaml"
    inv.write_text(f"""\
all:
  vars:
    ansible_user: root
    ansible_ssh_private_key_file: {fleet.key}
  children:
    prod:
      vars: {{ansible_become: true}}
      children:
        web:
          hosts:
            web1: {{ansible_host: {LOOPBACK}, ansible_port: {fleet.web1.port}}}
            web2:
              ansible_host: 127.0.0.2
              ansible_port: {fleet.web2.port}
              ansible_user: {SUDO_USER}
        db:
          hosts:
            db1: {{ansible_host: 127.0.0.3, ansible_port: {fleet.db1.port}}}
""")
    config = ScanConfig(inventory=(str(inv),), limit="web", ssh_known_hosts=(str(fleet.known1),),
                        ssh_config=str(fleet.ssh_config), check_paths=(str(fleet.pack),),
                        select=("fleettest.*", "accounts.no-empty-passwords"), timeout=3,
                        history=False, formats=(), output=str(fleet.tmp / "yaml-out"))
    result = pipeline.run(config)
    infos = {t.name: t for t in result.report.targets}
    assert list(infos) == ["web1", "web2"]
    assert {t.details["state"] for t in infos.values()} == {"assessed"}
    assert infos["web2"].details["user"] == SUDO_USER and "sudo" in infos["web2"].details["via"]
    assert result.exit_code == 1  # findings, every host audited


class _KillAfterFirstProbe(pipeline.Observer):
    """Kills the host's sshd (and its sessions) as soon as its first probe with checks of its
    own has finished (the os_release probe, which only decides where checks apply, does not
    count): the host dies in the middle of its audit, at the same point on every run (one probe
    at a time on the host)."""

    def __init__(self, host: str, server: Sshd):
        self.host, self.server = host, server
        self.killed = False

    def job_done(self, label: str, ok: bool) -> None:
        if (label.startswith(f"{self.host}:") and not label.endswith(": os_release")
                and not self.killed):
            kill(self.server)
            self.killed = True


def test_host_killed_mid_scan_is_partly_assessed_and_incomplete(fleet: Fleet, tmp_path: Path) -> None:
    doomed = _start(tmp_path, "doomed", LOOPBACK, fleet.authorized)
    known = tmp_path / "known"
    known.write_text(f"[{LOOPBACK}]:{doomed.port} {doomed.host_pub}\n")
    inv = tmp_path / "hosts.yaml"
    inv.write_text(f"hosts:\n  - {{name: good, host: {LOOPBACK}, port: {fleet.web1.port}, user: root}}\n"
                   f"  - {{name: doomed, host: {LOOPBACK}, port: {doomed.port}, user: root}}\n")
    killer = _KillAfterFirstProbe("doomed", doomed)
    try:
        config = ScanConfig(inventory=(str(inv),), ssh_key=str(fleet.key),
                            ssh_known_hosts=(str(fleet.known1), str(known)),
                            select=("accounts.*", "ssh.*"), timeout=15, jobs=1, host_jobs=1,
                            history=False, formats=(), output=str(tmp_path / "out"))
        result = pipeline.run(config, observer=killer)
    finally:
        if doomed.proc.poll() is None:
            kill(doomed)
    assert killer.killed
    infos = {t.name: t for t in result.report.targets}
    assert infos["good"].details["state"] == "assessed"
    lost = infos["doomed"]
    assert lost.details["state"] == "partly assessed"
    assert "lost" in lost.details["state_reason"] or "closed" in lost.details["state_reason"]
    per = {t.target: t for t in result.report.summary.score.per_target}
    assert per["doomed"].grade == INCOMPLETE and per["good"].grade != INCOMPLETE
    assert result.report.summary.score.grade == INCOMPLETE
    assert result.exit_code in (3, EXIT_FINDINGS_NOT_AUDITED)


def test_limit_without_inventory_and_bad_inventory_are_exit_2(fleet: Fleet, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "smbaudit", "scan", "local", "--limit", "web"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "--limit" in proc.stderr
    bad = tmp_path / "bad.ini"
    bad.write_text("[web]\nweb1 ansible_host=127.0.0.1 ansible_password=hunter2\n")
    proc = _scan(fleet, bad)
    assert proc.returncode == 2 and f"{bad}:2" in proc.stderr and "hunter2" not in proc.stderr
    assert free_port()  # loopback still usable (no stray listener left behind)
