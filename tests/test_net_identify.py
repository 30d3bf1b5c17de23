"""Service identification without nmap: real nginx and sshd on loopback, hostile peers, and the
first bytes of the banner protocols; and the scan of a host whose services misbehave."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from netservers import (close_early, endless_banner, free_port, garbage, hostile, needs, nginx,
                        sshd, stall)
from smbaudit.probes._identify import classify, identify


@pytest.mark.parametrize(("first_bytes", "port", "service"), [
    (b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", 2222, "ssh"),
    (b"220 mail.example.test ESMTP Postfix\r\n", 2525, "smtp"),
    (b"220 (vsFTPd 3.0.3)\r\n", 2121, "ftp"),
    (b"+OK Dovecot ready.\r\n", 1110, "pop3"),
    (b"* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n", 1143, "imap"),
    (b"RFB 003.008\n", 5901, "vnc"),
    (b"-ERR unknown command\r\n", 16379, "redis"),
    (b"\xff\xfd\x18\xff\xfd\x20", 2323, "telnet"),
    (bytes.fromhex("4a0000000a382e302e3336000800000001020304"), 13306, "mysql"),
    (b"\x16\x03\x03\x00\x4a\x02", 8443, "https"),
    (b"\x15\x03\x01\x00\x02\x02\x28", 9999, "ssl"),
])
def test_banners_name_the_service(first_bytes: bytes, port: int, service: str) -> None:
    # Given what a server sent first (the same bytes arrive on the ClientHello connection)
    # When the answers are classified
    identity = classify(first_bytes, first_bytes, port)
    # Then the protocol is named with nmap's service name
    assert identity.service == service


def test_ssh_banner_gives_product_and_version() -> None:
    identity = classify(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", b"", 22)
    assert (identity.product, identity.version) == ("OpenSSH", "9.2p1 Debian-2+deb12u3")


def test_http_server_header_gives_product() -> None:
    answer = b"HTTP/1.1 400 Bad Request\r\nServer: Apache/2.4.57 (Debian)\r\n\r\n"
    identity = classify(b"", answer, 8080)
    assert (identity.service, identity.product, identity.version) == ("http", "Apache httpd", "2.4.57")
    assert identity.extra["extrainfo"] == "(Debian)"


def test_unrecognised_bytes_are_not_a_guess() -> None:
    assert not classify(b"\x00\x01garbage", b"\x00\x01garbage", 4000).known


@pytest.mark.parametrize(("behaviour", "words"), [
    (garbage, "match no protocol"), (stall, "sent nothing within 1s"),
    (close_early, "closed the connection"), (endless_banner, "without a line end")])
def test_misbehaving_peer_is_described(behaviour, words: str) -> None:  # type: ignore[no-untyped-def]
    with hostile(behaviour) as port:
        identity = identify("127.0.0.1", port, 1.0)
    assert not identity.known and words in identity.error, identity


def test_closed_port_raises_connection_refused() -> None:
    with pytest.raises(ConnectionRefusedError):
        identify("127.0.0.1", free_port(), 1.0)


@needs("nginx")
def test_nginx_tls_and_http_ports(tmp_path: Path) -> None:
    with nginx(tmp_path / "web", strong=False) as web:
        tls = identify("127.0.0.1", web.tls_port, 3.0)
        plain = identify("127.0.0.1", web.http_port, 3.0)
    assert (tls.service, tls.tunnel, tls.product) == ("https", "ssl", "nginx")
    assert (plain.service, plain.tunnel, plain.product) == ("http", "", "nginx")
    assert tls.version and tls.version == plain.version


@needs("sshd", root=True)
def test_sshd(tmp_path: Path) -> None:
    with sshd(tmp_path / "ssh", hardened=True) as port:
        identity = identify("127.0.0.1", port, 3.0)
    assert (identity.service, identity.product) == ("ssh", "OpenSSH")


@needs("nmap")
@needs("nginx")
def test_misbehaving_services_do_not_hide_a_good_one(tmp_path: Path) -> None:
    # Given three misbehaving services and a weak nginx on the same address
    with ExitStack() as stack:
        bad = [stack.enter_context(hostile(b)) for b in (garbage, stall, endless_banner)]
        web = stack.enter_context(nginx(tmp_path / "web", strong=False))
        specs = [f"127.0.0.1:{p}" for p in (*bad, web.tls_port)]
        # When they are scanned with --timeout 2
        start = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "smbaudit", "scan", *specs, "--timeout", "2",
                               "--no-history", "-f", "json", "-o", "-"],
                              capture_output=True, text=True, timeout=180, cwd=tmp_path)
        elapsed = time.monotonic() - start
    # Then the scan ends within the documented bound for HOST:PORT targets
    # (identification 2T + nmap -sV 5T + max(5 s, T), probes of the good service, start-up)
    assert elapsed < 2 * 2 + 5 * 2 + 5 + 15, elapsed
    report = json.loads(proc.stdout)
    by_target: dict[str, set[str]] = {}
    for f in report["findings"]:
        by_target.setdefault(f["target"], set()).add(f["status"])
    good = f"127.0.0.1:{web.tls_port}"
    # and the good service is audited as usual
    assert "fail" in by_target[good] and "error" not in by_target[good]
    # and each misbehaving one is reported with error findings naming what it did
    for port in bad:
        name = f"127.0.0.1:{port}"
        assert "error" in by_target[name] and not by_target[name] & {"pass", "fail"}, by_target[name]
    reasons = " ".join(f["reason"] for f in report["findings"] if f["status"] == "error")
    assert "sent nothing within 2s" in reasons and "without a line end" in reasons
    assert "match no protocol" in reasons
    targets = {t["name"]: t for t in report["targets"]}
    assert all(targets[f"127.0.0.1:{p}"]["details"]["service"] == "unknown" for p in bad)
