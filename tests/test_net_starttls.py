"""STARTTLS on SMTP: a small SMTP stand-in (thread) that upgrades to real TLS with Python's ssl."""

from __future__ import annotations

import socket
import ssl
import time
from pathlib import Path

import pytest

from netservers import hostile, make_cert, scan_service, statuses
from smbaudit.probes.base import ProbeContext
from smbaudit.probes.tls import TlsProbe
from smbaudit.targets.base import ServiceTarget


def _smtp(context: ssl.SSLContext | None):  # type: ignore[no-untyped-def]
    def serve(conn: socket.socket) -> None:
        conn.sendall(b"220 mail.example.test ESMTP\r\n")
        conn.recv(256)  # EHLO
        conn.sendall(b"250-mail.example.test\r\n250-PIPELINING\r\n"
                     + (b"250 STARTTLS\r\n" if context else b"250 8BITMIME\r\n"))
        if context is None:
            return
        conn.recv(256)  # STARTTLS
        conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
        try:
            context.wrap_socket(conn, server_side=True).close()
        except (ssl.SSLError, OSError):
            pass  # the probe hangs up after the ServerHello
    return serve


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    certs = make_cert(tmp_path_factory.mktemp("smtp"), weak=False)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs.cert, certs.key)
    return ctx


def test_starttls_offered(tls_context: ssl.SSLContext) -> None:
    with hostile(_smtp(tls_context)) as port:
        target = ServiceTarget(f"127.0.0.1:{port}", "127.0.0.1", port, "smtp")
        facts = TlsProbe().collect(target, {"protocols": ["TLSv1.2", "TLSv1.3"]},
                                   ProbeContext(deadline=time.monotonic() + 20, timeout=2))
    assert facts["starttls"] is True
    assert facts["protocols"]["TLSv1_2"] and facts["protocols"]["TLSv1_3"]
    assert facts["certificate"]["common_name"] == "localhost"


def test_starttls_missing_fails_check() -> None:
    with hostile(_smtp(None)) as port:
        target = ServiceTarget(f"127.0.0.1:{port}", "127.0.0.1", port, "smtp")
        found = statuses(scan_service(target, ["tls"], io_timeout=2))
    assert found["tls.smtp-starttls"] == "fail"
    assert found["tls.no-sslv3"] == "not_applicable" and found["tls.modern-protocol"] == "not_applicable"
