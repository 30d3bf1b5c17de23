"""ssh_service probe and checks against real OpenSSH sshd on loopback (weak and hardened)."""

from __future__ import annotations

import pytest

from netservers import needs_marks, scan_service, sshd, statuses
from smbaudit.targets.base import ServiceTarget

pytestmark = needs_marks("sshd", root=True)


def _target(port: int) -> ServiceTarget:
    return ServiceTarget(f"127.0.0.1:{port}", "127.0.0.1", port, "ssh")


@pytest.fixture(scope="module")
def weak(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with sshd(tmp_path_factory.mktemp("weak-sshd"), hardened=False) as port:
        yield port


@pytest.fixture(scope="module")
def hardened(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with sshd(tmp_path_factory.mktemp("hard-sshd"), hardened=True) as port:
        yield port


def test_weak_sshd(weak: int) -> None:
    # Given sshd with SHA-1/1024-bit KEX, CBC ciphers, MD5/SHA-1 MACs, ssh-rsa, RSA-1024, passwords
    findings = scan_service(_target(weak), ["ssh-service"])
    # Then exactly these checks fail
    assert statuses(findings) == {
        "ssh-service.auth-required": "pass",
        "ssh-service.no-password-auth": "fail",
        "ssh-service.no-sha1-host-key-algorithms": "fail",
        "ssh-service.no-weak-ciphers": "fail",
        "ssh-service.no-weak-kex": "fail",
        "ssh-service.no-weak-macs": "fail",
        "ssh-service.protocol-2-only": "pass",
        "ssh-service.rsa-host-key-size": "fail",
    }
    assert set(findings["ssh-service.no-weak-kex"].offending) == {
        "diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1",
        "diffie-hellman-group-exchange-sha1"}
    assert findings["ssh-service.rsa-host-key-size"].evidence[0].observed == 1024
    assert findings["ssh-service.no-weak-kex"].location == f"127.0.0.1:{weak}"


def test_hardened_sshd_has_no_failures(hardened: int) -> None:
    findings = scan_service(_target(hardened), ["ssh-service"])
    assert set(statuses(findings).values()) == {"pass"}, {
        k: (f.status.value, f.reason) for k, f in findings.items() if f.status.value != "pass"}


