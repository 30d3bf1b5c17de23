"""ROBOT (a Bleichenbacher padding oracle): the five payloads against a patched nginx, a server
without static RSA, and stand-ins for a vulnerable and a fixed server that speak just enough
TLS 1.2 (no vulnerable TLS stack can run here)."""

from __future__ import annotations

import datetime as dt
import socket
import struct
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from netservers import hostile, nginx, scan_service, tls_stall_mid_handshake
from smbaudit import engine, resources
from smbaudit.packs.loader import load_packs
from smbaudit.probes import _certs, _tlswire
from smbaudit.probes.base import Facts, ProbeContext
from smbaudit.probes.tls import TlsProbe, _robot as robot_step
from smbaudit.targets.base import ServiceTarget, Target

RSA_SUITE = 0x002F  # TLS_RSA_WITH_AES_128_CBC_SHA


def _key_and_cert() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "robot.test")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.DER)


KEY, CERT = _key_and_cert()


def _rsa_server(oracle: bool) -> Callable[[socket.socket], None]:
    """ServerHello (TLS 1.2, static RSA), Certificate, ServerHelloDone; then it decrypts the
    ClientKeyExchange. `oracle`: bad padding gets decrypt_error, good padding bad_record_mac
    (what a vulnerable stack leaks); otherwise bad_record_mac for all."""
    numbers = KEY.private_numbers()
    n, d = numbers.public_numbers.n, numbers.d

    def behaviour(conn: socket.socket) -> None:
        hello = conn.recv(65536)
        if not hello.startswith(b"\x16"):
            return
        body = b"\x03\x03" + bytes(32) + b"\x00" + struct.pack("!H", RSA_SUITE) + b"\x00"
        certs = len(CERT).to_bytes(3, "big") + CERT
        flight = (b"\x02" + len(body).to_bytes(3, "big") + body
                  + b"\x0b" + (len(certs) + 3).to_bytes(3, "big") + len(certs).to_bytes(3, "big") + certs
                  + b"\x0e\x00\x00\x00")
        conn.sendall(b"\x16\x03\x03" + struct.pack("!H", len(flight)) + flight)
        data = b""
        while len(data) < 5 or len(data) < 5 + struct.unpack("!H", data[3:5])[0]:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        record = data[5:5 + struct.unpack("!H", data[3:5])[0]]
        if record[:1] != b"\x10":
            return
        encrypted = record[6:]  # handshake header (4) and the RSA block's length (2)
        block = pow(int.from_bytes(encrypted, "big"), d, n).to_bytes(256, "big")
        good = block[:2] == b"\x00\x02"
        alert = 20 if good or not oracle else 51  # bad_record_mac / decrypt_error
        conn.sendall(b"\x15\x03\x03\x00\x02\x02" + bytes([alert]))

    return behaviour


def _opener(port: int) -> Callable[[], socket.socket]:
    return lambda: socket.create_connection(("127.0.0.1", port), timeout=3)


def _robot(port: int) -> str:
    return _tlswire.robot(_opener(port), _tlswire.TLS12, [RSA_SUITE], "", time.monotonic() + 30, 2,
                          _certs.rsa_public_numbers)


def test_the_payloads_are_pkcs1_blocks_of_the_modulus_size() -> None:
    for kind in _tlswire.ROBOT_PAYLOADS:
        block = _tlswire.robot_block(kind, _tlswire.TLS12, 256)
        assert len(block) == 256
        assert b"\x00" not in block[2:2 + 256 - 51]  # non-zero padding
    assert _tlswire.robot_block("valid", _tlswire.TLS12, 256)[-49:-46] == b"\x00\x03\x03"


def test_an_oracle_is_found_and_a_fixed_server_is_not_accused() -> None:
    with hostile(_rsa_server(oracle=True)) as port:
        assert _robot(port) == "oracle"
    with hostile(_rsa_server(oracle=False)) as port:
        assert _robot(port) == "no_oracle"


def test_a_stalling_server_leaves_robot_not_established_not_the_probe_failed() -> None:
    with hostile(tls_stall_mid_handshake) as port:
        ctx = ProbeContext(deadline=time.monotonic() + 30, timeout=1)
        result = robot_step(_opener(port), {_tlswire.TLS12: [RSA_SUITE]}, "", ctx)
    assert result is not None and result.startswith("failed: ")


@pytest.mark.needs_nginx
def test_patched_nginx_and_a_server_without_static_rsa(tmp_path: Path) -> None:
    with nginx(tmp_path / "weak", strong=False) as weak, nginx(tmp_path / "strong", strong=True) as strong:
        ctx = ProbeContext(deadline=time.monotonic() + 60, timeout=5)
        facts = TlsProbe().collect(ServiceTarget(f"127.0.0.1:{weak.tls_port}", "127.0.0.1",
                                                 weak.tls_port, "https", "ssl"), {}, ctx)
        assert facts["robot"] is False  # OpenSSL 3 answers every payload alike
        found = scan_service(ServiceTarget(f"127.0.0.1:{strong.tls_port}", "127.0.0.1",
                                           strong.tls_port, "https", "ssl"), ["tls"])
        assert found["tls.no-robot"].status.value == "not_applicable"  # ECDHE only


class _Facts(TlsProbe):
    given: dict[str, Any] = {}

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        return {"tls": True, "endpoint": target.endpoint, **self.given}


def _check(given: dict[str, Any]) -> Any:
    probe = _Facts()
    probe.given = given
    checks = [c for c in load_packs([resources.checks_dir() / "tls"]) if c.id == "tls.no-robot"]
    target = ServiceTarget("127.0.0.1:443", "127.0.0.1", 443, "https", "ssl")
    finding, = engine.run([target], checks, {"tls": probe}, engine.EngineOptions(jobs=1)).findings
    return finding


def test_the_check_fails_names_the_endpoint_and_errs_when_not_established() -> None:
    failed = _check({"robot": True})
    assert failed.status.value == "fail"
    assert failed.problem == ("127.0.0.1:443 answers malformed RSA key exchanges differently: "
                              "it is vulnerable to ROBOT")
    assert _check({"robot": False}).status.value == "pass"
    assert _check({"robot": None}).status.value == "not_applicable"
    unsure = _check({"robot": None, "_unreadable": {"robot": "answers changed between rounds"}})
    assert unsure.status.value == "error" and "answers changed" in unsure.reason
