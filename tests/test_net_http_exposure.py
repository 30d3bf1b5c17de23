"""http, service_info and service_version probes: real nginx on loopback, small protocol-correct
stand-ins for Redis/VNC/FTP/SMB (in threads), and the shipped version table."""

from __future__ import annotations

import socket

import pytest

from netservers import hostile, needs_marks, nginx, scan_service, statuses
from smbaudit.probes.service_version import assess, load_table, match_product, version_key
from smbaudit.targets.base import ServiceTarget


def _svc(port: int, service: str, tunnel: str = "", **kw: str) -> ServiceTarget:
    return ServiceTarget(f"127.0.0.1:{port}", "127.0.0.1", port, service, tunnel, **kw)


@pytest.fixture(scope="module")
def weak(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with nginx(tmp_path_factory.mktemp("weak-http"), strong=False) as server:
        yield server


@pytest.fixture(scope="module")
def strong(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with nginx(tmp_path_factory.mktemp("strong-http"), strong=True) as server:
        yield server


class TestHttp:
    pytestmark = needs_marks("nginx")

    def test_weak_plain_http(self, weak) -> None:  # type: ignore[no-untyped-def]
        # Given plain HTTP that serves content, no security headers, server_tokens on
        findings = scan_service(_svc(weak.http_port, "http"), ["http"])
        assert statuses(findings) == {
            "http.content-security-policy": "fail",
            "http.frame-protection": "fail",
            "http.redirect-to-https": "fail",
            "http.referrer-policy": "fail",
            "http.server-version-hidden": "fail",
            "http.x-content-type-options": "fail",
        }
        assert findings["http.server-version-hidden"].evidence[0].ok is False

    def test_weak_https_headers(self, weak) -> None:  # type: ignore[no-untyped-def]
        found = statuses(scan_service(_svc(weak.tls_port, "https", "ssl"), ["http"]))
        assert found["http.redirect-to-https"] == "not_applicable"  # already HTTPS
        assert found["http.content-security-policy"] == "fail"

    def test_strong_http_redirects_and_https_headers(self, strong) -> None:  # type: ignore[no-untyped-def]
        plain = statuses(scan_service(_svc(strong.http_port, "http"), ["http"]))
        assert plain == {"http.content-security-policy": "not_applicable",
                         "http.frame-protection": "not_applicable",
                         "http.redirect-to-https": "pass",
                         "http.referrer-policy": "not_applicable",
                         "http.server-version-hidden": "pass",
                         "http.x-content-type-options": "not_applicable"}
        tls = statuses(scan_service(_svc(strong.tls_port, "https", "ssl", hostname="localhost"),
                                    ["http"]))
        assert set(tls.values()) == {"pass", "not_applicable"}
        assert tls["http.content-security-policy"] == "pass"


# --------------------------------------------------------------------------- exposure


def _redis(auth: bool):  # type: ignore[no-untyped-def]
    def serve(conn: socket.socket) -> None:
        conn.recv(64)
        conn.sendall(b"-NOAUTH Authentication required.\r\n" if auth else b"+PONG\r\n")
    return serve


def _vnc(conn: socket.socket) -> None:
    conn.sendall(b"RFB 003.008\n")
    conn.recv(12)
    conn.sendall(b"\x02\x01\x02")  # None and VNC authentication


def _ftp_anonymous(conn: socket.socket) -> None:
    conn.sendall(b"220 (vsFTPd 3.0.3)\r\n")
    conn.recv(64)
    conn.sendall(b"331 Please specify the password.\r\n")
    conn.recv(64)
    conn.sendall(b"230 Login successful.\r\n")


def _smb1(conn: socket.socket) -> None:
    conn.recv(1024)
    body = b"\xffSMB\x72" + b"\x00" * 27 + b"\x01\x00\x00\x00"
    conn.sendall(len(body).to_bytes(4, "big") + body)


@pytest.mark.parametrize(("behaviour", "service", "expected"), [
    (_redis(False), "redis", {"network.datastore-exposed": "fail", "network.datastore-no-auth": "fail"}),
    (_redis(True), "redis", {"network.datastore-exposed": "fail", "network.datastore-no-auth": "pass"}),
    (_vnc, "vnc", {"network.vnc-exposed": "fail", "network.vnc-no-auth": "fail"}),
    (_ftp_anonymous, "ftp", {"network.ftp-exposed": "fail", "network.ftp-anonymous": "fail"}),
    (_smb1, "microsoft-ds", {"network.smb-exposed": "fail", "network.smbv1-enabled": "fail"}),
    (lambda conn: conn.sendall(b"\xff\xfd\x18"), "telnet", {"network.telnet-exposed": "fail"}),
])
def test_exposure(behaviour, service: str, expected: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    with hostile(behaviour) as port:
        found = statuses(scan_service(_svc(port, service), ["network/exposure.yaml"], io_timeout=2))
    assert {k: v for k, v in found.items() if v != "not_applicable"} == expected


def test_exposure_not_applicable_to_ordinary_services() -> None:
    with hostile(lambda conn: None) as port:
        found = statuses(scan_service(_svc(port, "ssh"), ["network/exposure.yaml"], io_timeout=1))
    assert set(found.values()) == {"not_applicable"}


# --------------------------------------------------------------------------- versions


def test_version_order() -> None:
    assert version_key("9.2p1") < version_key("9.3p2") < version_key("9.10")
    assert version_key("1.0.1f") < version_key("1.0.1g")
    assert version_key("2.4.9") < version_key("2.4.49")


@pytest.mark.parametrize(("product", "version", "cves", "eol"), [
    ("OpenSSH", "9.7p1", ["CVE-2024-6387"], False),
    ("OpenSSH", "10.0p2", [], False),
    ("OpenSSH", "7.4", ["CVE-2018-15473"], True),
    ("Apache httpd", "2.4.49", ["CVE-2021-41773"], False),
    ("nginx", "1.26.2", [], False),
    ("nginx", "1.22.1", ["CVE-2024-7347"], True),
    ("vsftpd", "2.3.4", ["CVE-2011-2523"], False),
    ("Exim smtpd", "4.89", ["CVE-2019-10149"], True),
])
def test_version_table(product: str, version: str, cves: list[str], eol: bool) -> None:
    entry = match_product(product, load_table())
    assert entry is not None
    result = assess(entry, version)
    found = {c for v in result["vulnerabilities"] for c in v["cves"]}
    assert set(cves) <= found and (found == set() if not cves else True)
    assert result["eol"] is eol


def test_service_version_findings_upstream_vs_distro() -> None:
    # Given an upstream Apache 2.4.49 naming OpenSSL 1.0.1f, and a Debian OpenSSH build
    apache = _svc(8080, "http", product="Apache httpd", version="2.4.49",
                  extra={"extrainfo": "(Unix) OpenSSL/1.0.1f"})  # type: ignore[arg-type]
    found = scan_service(apache, ["network/service-versions.yaml"])
    assert statuses(found) == {"service-version.no-known-vulnerabilities": "fail",
                               "service-version.supported-release": "fail"}
    cves = {c for e in found["service-version.no-known-vulnerabilities"].evidence
            for v in e.observed for c in v["cves"]}
    assert {"CVE-2021-41773", "CVE-2014-0160"} <= cves
    debian = _svc(22, "ssh", product="OpenSSH", version="9.2p1 Debian 2+deb12u3")
    assert statuses(scan_service(debian, ["network/service-versions.yaml"])) == {
        "service-version.no-known-vulnerabilities": "pass",  # backports: left to the package audit
        "service-version.supported-release": "pass"}
    unknown = _svc(1234, "foo", product="FooServer", version="1.0")
    assert set(statuses(scan_service(unknown, ["network/service-versions.yaml"])).values()) == {
        "not_applicable"}
