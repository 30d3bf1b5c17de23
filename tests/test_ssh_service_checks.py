"""Which algorithms an SSH server offers that are weak is decided by the ssh-service checks
(the probe only reports the lists): each name fails its check, run through the engine."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from smbaudit import engine, resources
from smbaudit.packs.loader import load_packs
from smbaudit.probes.base import Facts, ProbeContext
from smbaudit.probes.ssh_service import SshServiceProbe
from smbaudit.targets.base import ServiceTarget, Target

GOOD = {"kex": ["curve25519-sha256"], "ciphers": ["aes128-ctr"], "macs": ["hmac-sha2-256-etm@openssh.com"],
        "host_key_algorithms": ["ssh-ed25519"]}
CHECKS = {"kex": "ssh-service.no-weak-kex", "ciphers": "ssh-service.no-weak-ciphers",
          "macs": "ssh-service.no-weak-macs",
          "host_key_algorithms": "ssh-service.no-sha1-host-key-algorithms"}


class _Offers(SshServiceProbe):
    offered: dict[str, list[str]] = {}

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        return {"endpoint": target.endpoint, "protocol": "2.0", "compression": ["none"],
                **GOOD, **self.offered}


def failing(offered: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
    probe = _Offers()
    probe.offered = offered
    checks = [c for c in load_packs([resources.checks_dir() / "ssh-service"]) if c.id in CHECKS.values()]
    target = ServiceTarget("127.0.0.1:22", "127.0.0.1", 22, "ssh")
    result = engine.run([target], checks, {"ssh_service": probe}, engine.EngineOptions(jobs=1))
    return {f.check_id: f.offending for f in result.findings if f.status.value == "fail"}


@pytest.mark.parametrize(("kind", "name", "weak"), [
    ("kex", "diffie-hellman-group1-sha1", True), ("kex", "diffie-hellman-group14-sha1", True),
    ("kex", "diffie-hellman-group-exchange-sha1", True), ("kex", "rsa1024-sha1", True),
    ("kex", "gss-group1-sha1-toWM5Slw5Ew8Mqkay+al2g==", True),
    ("kex", "diffie-hellman-group14-sha256", False), ("kex", "curve25519-sha256", False),
    ("kex", "sntrup761x25519-sha512@openssh.com", False),
    ("ciphers", "aes256-cbc", True), ("ciphers", "arcfour256", True), ("ciphers", "3des-cbc", True),
    ("ciphers", "rijndael-cbc@lysator.liu.se", True), ("ciphers", "blowfish-cbc", True),
    ("ciphers", "aes128-ctr", False), ("ciphers", "chacha20-poly1305@openssh.com", False),
    ("macs", "hmac-sha1-etm@openssh.com", True), ("macs", "umac-64@openssh.com", True),
    ("macs", "hmac-md5", True), ("macs", "hmac-ripemd160", True),
    ("macs", "hmac-sha2-256-etm@openssh.com", False), ("macs", "umac-128-etm@openssh.com", False),
    ("host_key_algorithms", "ssh-rsa", True), ("host_key_algorithms", "ssh-dss", True),
    ("host_key_algorithms", "rsa-sha2-512", False), ("host_key_algorithms", "ssh-ed25519", False),
])
def test_each_weak_name_fails_its_check_and_is_named(kind: str, name: str, weak: bool) -> None:
    found = failing({kind: [*GOOD[kind], name]})
    assert found == ({CHECKS[kind]: (name,)} if weak else {})


def test_nothing_weak_passes() -> None:
    assert failing({}) == {}
