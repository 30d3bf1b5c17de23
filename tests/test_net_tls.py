"""TLS probe and checks against real nginx servers on loopback (weak and strong setups)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from netservers import needs_marks, nginx, scan_service, statuses
from smbaudit.probes.base import ProbeContext
from smbaudit.probes.tls import TlsProbe
from smbaudit.targets.base import ServiceTarget

pytestmark = needs_marks("nginx")


def _target(port: int, hostname: str = "") -> ServiceTarget:
    return ServiceTarget(f"127.0.0.1:{port}", "127.0.0.1", port, "https", "ssl", hostname=hostname)


@pytest.fixture(scope="module")
def weak(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with nginx(tmp_path_factory.mktemp("weak"), strong=False) as server:
        yield server


@pytest.fixture(scope="module")
def strong(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with nginx(tmp_path_factory.mktemp("strong"), strong=True) as server:
        yield server


def test_weak_nginx_facts(weak) -> None:  # type: ignore[no-untyped-def]
    # Given nginx with TLS 1.0-1.2, every cipher incl. NULL/anonymous, a self-signed RSA-1024/SHA-1 cert
    # When the tls probe runs
    facts = TlsProbe().collect(_target(weak.tls_port), {},
                               ProbeContext(deadline=time.monotonic() + 30, timeout=5))
    # Then legacy protocols the local OpenSSL refuses are still seen
    assert facts["protocols"] == {"SSLv2": False, "SSLv3": False, "TLSv1_0": True, "TLSv1_1": True,
                                  "TLSv1_2": True, "TLSv1_3": False}
    assert facts["accepted_protocols"] == ["TLSv1.0", "TLSv1.1", "TLSv1.2"]
    names = {c["name"] for c in facts["ciphers"]}
    assert "TLS_RSA_WITH_NULL_SHA256" in names
    assert "TLS_ECDH_anon_WITH_AES_128_CBC_SHA" in names
    assert "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" in names
    assert facts["suites"] == sorted(f"{c['protocol']} {c['name']}" for c in facts["ciphers"])
    assert "TLSv1.0 TLS_RSA_WITH_AES_128_CBC_SHA" in facts["suites"]
    cert = facts["certificate"]
    assert (cert["key_type"], cert["key_bits"], cert["signature_hash"]) == ("rsa", 1024, "sha1")
    assert cert["self_signed"] is True and cert["trusted"] is False
    assert cert["hostname_match"] is None  # scanned by IP: host name not judged
    assert facts["hsts"]["present"] is False


def test_weak_nginx_findings(weak) -> None:  # type: ignore[no-untyped-def]
    found = statuses(scan_service(_target(weak.tls_port, "localhost"), ["tls"]))
    assert found == {
        "tls.cert-expiry-30-days": "pass",
        "tls.cert-hostname": "fail",  # the cert names www.example.test
        "tls.cert-key-strength": "fail",
        "tls.cert-signature-hash": "fail",
        "tls.cert-trusted": "fail",
        "tls.cert-valid-now": "pass",
        "tls.dh-group-size": "not_applicable",  # no DHE suites without ssl_dhparam
        "tls.ecdh-curve-strength": "pass",
        "tls.fallback-scsv": "pass",
        "tls.forward-secrecy": "pass",  # static DH/ECDH, PSK: none (static RSA is its own check)
        "tls.hsts": "fail",
        "tls.modern-protocol": "pass",
        "tls.no-3des": "pass",  # RC4 and 3DES are gone from OpenSSL 3
        "tls.no-anonymous-ciphers": "fail",
        "tls.no-cbc-legacy-protocol": "fail",
        "tls.no-compression": "pass",
        "tls.no-export-ciphers": "pass",
        "tls.no-ccs-injection": "pass",
        "tls.no-heartbleed": "pass",
        "tls.no-legacy-ciphers": "fail",  # NULL-MD5 suites
        "tls.no-null-ciphers": "fail",
        "tls.no-rc4": "pass",
        "tls.no-robot": "pass",  # static RSA accepted, and OpenSSL 3 answers every payload alike
        "tls.no-sslv2": "pass",
        "tls.no-sslv3": "pass",
        "tls.no-static-rsa-kex": "fail",
        "tls.no-tls10-tls11": "fail",
        "tls.ocsp-stapling": "not_applicable",  # self-signed
        "tls.secure-renegotiation": "pass",
        "tls.server-cipher-preference": "fail",  # ssl_prefer_server_ciphers off
        "tls.smtp-starttls": "not_applicable",
        "tls.tls13-supported": "fail",
    }


def test_failing_findings_name_what_was_seen(weak) -> None:  # type: ignore[no-untyped-def]
    findings = scan_service(_target(weak.tls_port), ["tls"])
    problems = {k: f.problem for k, f in findings.items() if f.status.value == "fail"}
    assert all(problems.values()), problems
    # the protocols and suites actually accepted, and nothing that was not
    assert problems["tls.no-tls10-tls11"].endswith("accepts TLSv1.0 and TLSv1.1")
    assert "TLS_RSA_WITH_NULL_MD5" in problems["tls.no-legacy-ciphers"]
    assert "RC4" not in problems["tls.no-legacy-ciphers"] and "3DES" not in problems["tls.no-legacy-ciphers"]
    assert "SSLv3" not in problems["tls.no-cbc-legacy-protocol"]
    assert "TLSv1.0 TLS_" in problems["tls.no-cbc-legacy-protocol"]
    assert "TLSv1.2, TLSv1.1 and TLSv1.0" in problems["tls.server-cipher-preference"]


def test_strong_nginx_has_no_failures(strong) -> None:  # type: ignore[no-untyped-def]
    # Given TLS 1.2+1.3, ECDHE AEAD suites only, HSTS, an EC P-256 cert from a CA we trust for the scan
    findings = scan_service(_target(strong.tls_port, "localhost"), ["tls"],
                            {"ca_file": str(strong.certs.ca)})
    found = statuses(findings)
    assert [k for k, v in found.items() if v not in ("pass", "not_applicable")] == [], \
        {k: (f.status.value, f.reason, [e.to_dict() for e in f.evidence if not e.ok])
         for k, f in findings.items() if f.status.value != "pass"}
    assert found["tls.cert-hostname"] == "pass"
    assert found["tls.hsts"] == "pass"
    assert found["tls.smtp-starttls"] == "not_applicable"
    # and findings name the endpoint
    assert findings["tls.no-sslv3"].location == f"127.0.0.1:{strong.tls_port}"
    assert findings["tls.no-sslv3"].network_exposed is True


def test_strong_nginx_untrusted_without_its_ca(strong) -> None:  # type: ignore[no-untyped-def]
    found = statuses(scan_service(_target(strong.tls_port, "localhost"), ["tls"]))
    assert found["tls.cert-trusted"] == "fail"


def test_tls_audit_is_fast(strong, weak) -> None:  # type: ignore[no-untyped-def]
    for server in (strong, weak):
        start = time.monotonic()
        TlsProbe().collect(_target(server.tls_port), {}, ProbeContext(deadline=time.monotonic() + 30,
                                                                      timeout=5))
        assert time.monotonic() - start < 5  # about 0.05 s on loopback; slack for a loaded CI box


DHE_1024 = """
        ssl_protocols TLSv1.2;
        ssl_ciphers "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0";
        ssl_prefer_server_ciphers on;
        ssl_dhparam {dhparam};
"""


def test_dhe_1024_group_is_named(tmp_path: Path) -> None:
    # Given nginx with server preference and DHE suites over a 1024-bit group
    import subprocess

    dhparam = tmp_path / "dh1024.pem"
    subprocess.run(["openssl", "dhparam", "-dsaparam", "-out", str(dhparam), "1024"], check=True,
                   timeout=120, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with nginx(tmp_path / "web", strong=False, tls_config=DHE_1024.format(dhparam=dhparam)) as web:
        facts = TlsProbe().collect(_target(web.tls_port), {},
                                   ProbeContext(deadline=time.monotonic() + 30, timeout=5))
        findings = scan_service(_target(web.tls_port), ["tls"])
    # Then each DHE suite is listed with its 1024-bit group, the ECDHE one with its curve
    assert sorted(g["name"] for g in facts["dh_groups"]) == [
        "TLSv1.2 TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "TLSv1.2 TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"]
    assert {g["bits"] for g in facts["dh_groups"]} == {1024}
    ecdhe = [c for c in facts["ciphers"] if c["kex"] == "ECDH"]
    assert ecdhe and ecdhe[0]["kex_group"] and ecdhe[0]["kex_bits"] >= 253
    assert facts["server_preference"]["TLSv1_2"] is True
    # and the checks fail with what was seen, pass what holds
    assert findings["tls.dh-group-size"].status.value == "fail"
    assert "1024 bits" in findings["tls.dh-group-size"].problem
    assert "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256" in findings["tls.dh-group-size"].problem
    assert findings["tls.server-cipher-preference"].status.value == "pass"
    assert findings["tls.fallback-scsv"].status.value == "not_applicable"  # one protocol version


def _vulnerable_tls(conn) -> None:  # type: ignore[no-untyped-def]
    """A stand-in for an unpatched OpenSSL 1.0.1 (none can run here): a TLS 1.2 ServerHello with
    the heartbeat extension, then it echoes a heartbeat request however short its padding, and
    answers records after an early ChangeCipherSpec with bad_record_mac."""
    import struct

    hello = conn.recv(65536)
    if not hello.startswith(b"\x16"):
        return
    exts = struct.pack("!HHB", 0x000F, 1, 1) + struct.pack("!HHB", 0xFF01, 1, 0)
    body = b"\x03\x03" + bytes(32) + b"\x00" + struct.pack("!H", 0xC02F) + b"\x00" + struct.pack("!H", len(exts)) + exts
    flight = b"\x02" + len(body).to_bytes(3, "big") + body + b"\x0e\x00\x00\x00"
    conn.sendall(b"\x16\x03\x03" + struct.pack("!H", len(flight)) + flight)
    data = conn.recv(65536)
    if data.startswith(b"\x18"):  # heartbeat request: echo it as a response
        conn.sendall(b"\x18\x03\x03\x00\x14\x02\x00\x01\x42" + bytes(16))
    elif data.startswith(b"\x14"):  # early CCS accepted; the next record fails to decrypt
        conn.sendall(b"\x15\x03\x03\x00\x02\x02\x14")


def test_heartbleed_and_ccs_injection_are_told_apart(weak) -> None:  # type: ignore[no-untyped-def]
    import socket

    from netservers import hostile
    from smbaudit.probes import _tlswire

    def opener_for(port: int):  # type: ignore[no-untyped-def]
        return lambda: socket.create_connection(("127.0.0.1", port), timeout=3)

    deadline = time.monotonic() + 30
    # Given a patched server (nginx on OpenSSL 3) and a stand-in for a vulnerable one
    patched = opener_for(weak.tls_port)
    assert _tlswire.heartbleed(patched, _tlswire.TLS12, [0xC02F], "", deadline, 2) is False
    assert _tlswire.ccs_injection(patched, _tlswire.TLS12, [0xC02F], "", deadline, 2) is False
    with hostile(_vulnerable_tls) as port:
        assert _tlswire.heartbleed(opener_for(port), _tlswire.TLS12, [0xC02F], "", deadline, 2) is True
        assert _tlswire.ccs_injection(opener_for(port), _tlswire.TLS12, [0xC02F], "", deadline, 2) is True
