"""Bounded socket helpers shared by the service probes: line reads, STARTTLS, one HTTP request.

Every helper reads at most a fixed number of bytes, and one answer never takes longer than the
socket's timeout (the scan's --timeout) nor past the probe's deadline, so a peer that drips
bytes forever, stalls or sends garbage ends in ProbeError/ProbeTimeout.
"""

from __future__ import annotations

import socket
import ssl
import time
import warnings
from dataclasses import dataclass, field

from smbaudit.errors import ProbeError, ProbeTimeout

MAX_LINE = 4096
MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024


def step_deadline(sock: socket.socket | ssl.SSLSocket, deadline: float) -> float:
    """When one answer read from `sock` must be complete: its timeout from now (a peer that
    trickles a byte a second never resets it), never past the probe's `deadline`."""
    timeout = sock.gettimeout()
    return deadline if timeout is None else min(deadline, time.monotonic() + timeout)


def recv_until(sock: socket.socket | ssl.SSLSocket, marker: bytes, limit: int, deadline: float,
               what: str) -> bytes:
    """Read until `marker` is seen. ProbeError past `limit` bytes, ProbeTimeout past the socket's
    timeout or `deadline`."""
    buf = b""
    step = step_deadline(sock, deadline)
    while marker not in buf:
        if time.monotonic() > step:
            raise ProbeTimeout(f"{what}: no complete answer within {sock.gettimeout() or 0:g}s"
                               if step < deadline else f"{what}: no complete answer before the deadline")
        try:
            chunk = sock.recv(4096)
        except (socket.timeout, ssl.SSLWantReadError):
            raise ProbeTimeout(f"{what}: peer stalled") from None
        if not chunk:
            raise ProbeError(f"{what}: connection closed early" + (f" after {buf[:80]!r}" if buf else ""))
        buf += chunk
        if len(buf) > limit:
            raise ProbeError(f"{what}: answer longer than {limit} bytes")
    return buf


def recv_some(sock: socket.socket, limit: int, deadline: float, what: str) -> bytes:
    """One read of up to `limit` bytes (the first answer of a request/response protocol)."""
    if time.monotonic() > deadline:
        raise ProbeTimeout(f"{what}: deadline passed")
    try:
        data = sock.recv(limit)
    except socket.timeout:
        raise ProbeTimeout(f"{what}: no answer") from None
    if not data:
        raise ProbeError(f"{what}: connection closed without an answer")
    return data


def smtp_reply(sock: socket.socket, deadline: float) -> tuple[int, list[str]]:
    """One (possibly multi-line) SMTP reply: code and text lines."""
    buf = b""
    lines: list[str] = []
    while True:
        buf += recv_until(sock, b"\n", MAX_HEAD, deadline, "SMTP") if b"\n" not in buf else b""
        line, _, buf = buf.partition(b"\n")
        text = line.decode("latin-1").rstrip("\r")
        if len(text) < 3 or not text[:3].isdigit():
            raise ProbeError(f"SMTP: not an SMTP reply: {text[:80]!r}")
        lines.append(text[4:])
        if len(lines) > 200:
            raise ProbeError("SMTP: reply too long")
        if len(text) == 3 or text[3] == " ":
            return int(text[:3]), lines


def smtp_starttls(sock: socket.socket, deadline: float) -> bool:
    """Greeting, EHLO, STARTTLS. True when the socket is ready for a TLS ClientHello."""
    code, _ = smtp_reply(sock, deadline)
    if code != 220:
        raise ProbeError(f"SMTP greeting {code}")
    sock.sendall(b"EHLO smbaudit.invalid\r\n")
    code, lines = smtp_reply(sock, deadline)
    if code != 250 or not any(ln.upper().startswith("STARTTLS") for ln in lines):
        return False
    sock.sendall(b"STARTTLS\r\n")
    code, _ = smtp_reply(sock, deadline)
    return code == 220


def permissive_tls_context() -> ssl.SSLContext:
    """A client context that talks to anything the local OpenSSL can, verifying nothing."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with warnings.catch_warnings():  # deliberately lenient: this context only observes
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except (ssl.SSLError, ValueError):
        pass
    return ctx


@dataclass
class HttpResponse:
    status: int
    reason: str
    headers: dict[str, list[str]] = field(default_factory=dict)  # lower-case name -> values
    body: bytes = b""

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


def http_get(sock: socket.socket | ssl.SSLSocket, host: str, path: str, deadline: float,
             read_body: bool = False) -> HttpResponse:
    """Send one HTTP/1.1 GET with Connection: close and parse the head (and a bounded body)."""
    request = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: smbaudit\r\n"
               "Accept: */*\r\nConnection: close\r\n\r\n")
    sock.sendall(request.encode("ascii"))
    data = recv_until(sock, b"\r\n\r\n", MAX_HEAD, deadline, "HTTP")
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ProbeError(f"HTTP: not an HTTP response: {lines[0][:80]!r}")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers.setdefault(name.strip().lower(), []).append(value.strip())
    body = rest
    if read_body:
        step = step_deadline(sock, deadline)
        while len(body) < MAX_BODY and time.monotonic() < step:
            try:
                chunk = sock.recv(4096)
            except (socket.timeout, ssl.SSLError):
                break
            if not chunk:
                break
            body += chunk
    return HttpResponse(int(parts[1]), parts[2] if len(parts) > 2 else "", headers, body[:MAX_BODY])


def host_header(address: str, port: int, hostname: str, default_port: int) -> str:
    host = hostname or (f"[{address}]" if ":" in address else address)
    return host if port == default_port else f"{host}:{port}"
