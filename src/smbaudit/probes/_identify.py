"""What answers on an open TCP port, learned in one round trip (no nmap service detection).

Two connections are opened at once: one sends a TLS ClientHello, the other a plain HTTP request.
Services that speak first (SSH, FTP, SMTP, POP3, IMAP, VNC, MySQL) send their banner on both;
a TLS server answers the ClientHello with a handshake or an alert record; an HTTP server answers
the request. The first answer that names a protocol decides. A TLS service is then asked once
more, inside TLS, what it speaks (HTTP, IMAP, POP3, SMTP banners).

Everything is bounded: each connection by `timeout`, the whole identification by a deadline
of twice `timeout`, and every read in bytes. A peer that sends garbage, stays silent or sends an
endless line is reported in `Identity.error` in plain words, never as a guess.
"""

from __future__ import annotations

import re
import selectors
import socket
import ssl
import time
from dataclasses import dataclass, field

from smbaudit.probes import _tlswire, _wire
from smbaudit.probes._tls_ciphers import CIPHER_SUITES

MAX_ANSWER = 16 * 1024
# Ports whose service is TLS from the first byte, and what runs inside.
TLS_PORT_SERVICES = {443: "https", 8443: "https", 4443: "https", 9443: "https", 10443: "https",
                     465: "smtps", 993: "imaps", 995: "pop3s", 636: "ldaps", 990: "ftps",
                     3389: "ms-wbt-server", 5986: "https", 8883: "ssl", 5061: "ssl"}
_SMTP_WORDS = re.compile(rb"SMTP|Postfix|Exim|Sendmail|mail", re.I)
_FTP_WORDS = re.compile(rb"FTP|FileZilla", re.I)


@dataclass
class Identity:
    """What an open port speaks. `service` uses nmap's names (ssh, http, https, smtp...) so checks
    and reports read the same whether smbaudit or nmap identified it; "" when unknown."""

    service: str = ""
    tunnel: str = ""  # "ssl" when the service is wrapped in TLS
    product: str = ""
    version: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    error: str = ""  # why nothing was recognised, in plain words

    @property
    def known(self) -> bool:
        return bool(self.service)


def _http_request(host: str) -> bytes:
    return (f"GET / HTTP/1.0\r\nHost: {host}\r\nUser-Agent: smbaudit\r\nAccept: */*\r\n\r\n"
            ).encode("ascii")


def _hello() -> bytes:
    """A ClientHello any TLS server from SSLv3 to TLS 1.3 answers (TLS 1.2 record, every suite)."""
    return _tlswire.client_hello(_tlswire.TLS12, [c for c in CIPHER_SUITES if c < 0x1301 or c > 0x1305])


def identify(address: str, port: int, timeout: float, hostname: str = "") -> Identity:
    """Identify the service on address:port. Raises OSError when no connection can be made
    (ConnectionRefusedError: the port is closed; socket.timeout: nothing answered the SYN)."""
    deadline = time.monotonic() + 2 * timeout
    host = _wire.host_header(address, port, hostname, 80)
    tls_sock = socket.create_connection((address, port), timeout=timeout)
    try:
        try:
            http_sock: socket.socket | None = socket.create_connection(
                (address, port), timeout=max(0.05, min(timeout, deadline - time.monotonic())))
        except OSError:
            http_sock = None  # a one-connection service: the TLS probe alone decides
        try:
            answers = _exchange({"tls": (tls_sock, _hello()),
                                 **({"http": (http_sock, _http_request(host))} if http_sock else {})},
                                min(deadline, time.monotonic() + timeout))
        finally:
            if http_sock is not None:
                http_sock.close()
    finally:
        tls_sock.close()
    identity = classify(answers.get("tls", b""), answers.get("http", b""), port)
    if identity.tunnel == "ssl":
        _inside_tls(identity, address, port, hostname, timeout, deadline)
    elif not identity.known:
        identity.error = _describe(answers, timeout)
    return identity


def _exchange(conns: dict[str, tuple[socket.socket, bytes]], deadline: float) -> dict[str, bytes]:
    """Send each request, then read every connection until it has a decisive answer, closes,
    or the deadline passes. Returns what each connection received (at most MAX_ANSWER bytes)."""
    got = {name: b"" for name in conns}
    closed: set[str] = set()
    sel = selectors.DefaultSelector()
    try:
        for name, (sock, request) in conns.items():
            try:
                sock.sendall(request)
            except OSError:
                pass  # a server that speaks first and hangs up on input: its banner may be read
            sock.setblocking(False)
            sel.register(sock, selectors.EVENT_READ, name)
        while len(closed) < len(conns):
            if _decisive(got) or all(n in closed or _hopeless(got[n]) for n in conns):
                break
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for key, _ in sel.select(timeout=min(left, 0.5)):
                name = str(key.data)
                try:
                    chunk = conns[name][0].recv(4096)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    chunk = b""
                if not chunk or len(got[name]) >= MAX_ANSWER:
                    closed.add(name)
                    sel.unregister(key.fileobj)
                    continue
                got[name] += chunk
    finally:
        sel.close()
    got["_closed"] = b",".join(n.encode() for n in sorted(closed))
    return got


def _decisive(got: dict[str, bytes]) -> bool:
    tls, http = got.get("tls", b""), got.get("http", b"")
    if _is_tls_record(tls):
        return True
    for data in (tls, http):
        if data.startswith(b"SSH-") and b"\n" in data:
            return True
        if _banner_kind(data) == "telnet" or (_banner_kind(data) and b"\n" in data):
            return True
        if data.startswith(b"HTTP/") and b"\r\n\r\n" in data:
            return True
        if _mysql_version(data) is not None:
            return True
    return False


_PROMISING = (b"\xff", b"SSH-", b"HTTP/", b"RFB ", b"+OK", b"* ", b"220", b"421", b"-", b"+PONG", b"ERROR")


def _hopeless(data: bytes) -> bool:
    """Data already received that no further bytes can turn into a known answer."""
    if not data:
        return False
    if any(data.startswith(p) or p.startswith(data) for p in _PROMISING):
        return False
    if data[0] in (0x15, 0x16) and (len(data) < 2 or data[1] == 3):
        return False  # a TLS record still arriving
    if len(data) < 5 or (data[3] == 0 and data[4] == 10):
        return _mysql_version(data) is None and len(data) >= 1024  # a MySQL greeting arriving
    return True


def _is_tls_record(data: bytes) -> bool:
    return len(data) >= 3 and data[0] in (0x15, 0x16) and data[1] == 3 and data[2] <= 4


def _banner_kind(data: bytes) -> str:
    if len(data) >= 3 and data[0] == 0xFF and 0xFB <= data[1] <= 0xFE:
        return "telnet"  # IAC WILL/WONT/DO/DONT: option negotiation
    if data.startswith(b"RFB "):
        return "vnc"
    if data.startswith(b"+OK"):
        return "pop3"
    if data.startswith(b"* OK") or data.startswith(b"* PREAUTH"):
        return "imap"
    if data.startswith((b"220", b"421")):
        return "220"
    if data.startswith((b"-ERR", b"-NOAUTH", b"-DENIED", b"+PONG")):
        return "redis"
    return ""


def _mysql_version(data: bytes) -> str | None:
    """The server version of a MySQL/MariaDB greeting (protocol 10), else None."""
    if len(data) < 6 or data[3] != 0 or data[4] != 10:
        return None
    length = int.from_bytes(data[:3], "little")
    end = data.find(b"\x00", 5)
    if not 20 <= length <= 1024 or end < 0:
        return None
    return data[5:end].decode("latin-1")


def classify(tls: bytes, http: bytes, port: int) -> Identity:
    """Name the service from the answers to a ClientHello and to an HTTP request."""
    if _is_tls_record(tls):
        return Identity(TLS_PORT_SERVICES.get(port, "ssl"), "ssl")
    for data in (tls, http):
        if data.startswith(b"SSH-"):
            return _ssh(data)
    for data in (http, tls):
        version = _mysql_version(data)
        if version is not None:
            return Identity("mysql", product="MariaDB" if "mariadb" in version.lower() else "MySQL",
                            version=version)
        kind = _banner_kind(data)
        if kind == "220":
            line = data.split(b"\n", 1)[0]
            smtp = bool(_SMTP_WORDS.search(line)) or port in (25, 587, 2525)
            ftp = bool(_FTP_WORDS.search(line)) or port == 21
            return Identity("ftp" if ftp and not smtp else "smtp",
                            extra={"banner": line.decode("latin-1").strip()[:200]})
        if kind:
            return Identity(kind, extra={"banner": data.split(b"\n", 1)[0].decode("latin-1").strip()[:200]})
    for data in (http, tls):
        if data.startswith(b"HTTP/"):
            return _http(data, "http", "")
    if tls.rstrip(b"\r\n") == b"ERROR" or http.rstrip(b"\r\n").endswith(b"ERROR"):
        return Identity("memcached")
    return Identity()


def _ssh(data: bytes) -> Identity:
    line = data.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")[:255]
    m = re.match(r"SSH-[\d.]+-(\S+)(?:\s+(.*))?", line)
    software = m.group(1) if m else ""
    product, _, version = software.partition("_")
    comment = m.group(2) if m and m.group(2) else ""
    if comment:
        version = f"{version} {comment}".strip()
    return Identity("ssh", product=product, version=version, extra={"banner": line})


_SERVER = re.compile(r"^server:\s*(.+)$", re.I | re.M)
_PRODUCTS = {"apache": "Apache httpd", "microsoft-iis": "Microsoft IIS httpd", "lighttpd": "lighttpd"}


def _http(data: bytes, service: str, tunnel: str) -> Identity:
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    m = _SERVER.search(head)
    identity = Identity(service, tunnel)
    if m:
        server = m.group(1).strip()[:200]
        identity.extra["server"] = server
        pm = re.match(r"([\w.\-]+)/(\d[\w.\-]*)\s*(.*)", server)
        if pm:
            identity.product = _PRODUCTS.get(pm.group(1).lower(), pm.group(1))
            identity.version = pm.group(2)
            if pm.group(3):
                identity.extra["extrainfo"] = pm.group(3)[:200]
        else:
            identity.product = _PRODUCTS.get(server.lower(), server)
    return identity


def _inside_tls(identity: Identity, address: str, port: int, hostname: str, timeout: float,
                deadline: float) -> None:
    """Learn what runs inside TLS: one handshake with the local OpenSSL, then an HTTP request
    (services that speak first answer with their banner instead). Legacy-only servers that the
    local OpenSSL cannot talk to keep the port's usual service name."""
    left = deadline - time.monotonic()
    if left <= 0:
        return
    try:
        raw = socket.create_connection((address, port), timeout=min(timeout, left))
    except OSError:
        return
    try:
        with _wire.permissive_tls_context().wrap_socket(raw, server_hostname=hostname or None) as tls:
            tls.sendall(_http_request(_wire.host_header(address, port, hostname, 443)))
            data = b""
            while len(data) < MAX_ANSWER and time.monotonic() < deadline:
                chunk = tls.recv(4096)
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data or (not data.startswith(b"H") and b"\n" in data):
                    break
    except (OSError, ssl.SSLError, ValueError):
        return
    finally:
        raw.close()
    if data.startswith(b"HTTP/"):
        found = _http(data, "https", "ssl")
        identity.service, identity.product, identity.version = found.service, found.product, found.version
        identity.extra.update(found.extra)
        return
    kind = _banner_kind(data)
    names = {"imap": "imaps", "pop3": "pop3s", "220": "smtps" if port != 990 else "ftps"}
    if kind in names:
        identity.service = names[kind]


def _describe(answers: dict[str, bytes], timeout: float) -> str:
    """Why nothing was recognised, from what the two connections received."""
    data = answers.get("tls", b"") or answers.get("http", b"")
    closed = answers.get("_closed", b"")
    if not data:
        if closed == b"http,tls":
            return "closed the connection without answering a TLS ClientHello or an HTTP request"
        return f"accepted the connection but sent nothing within {timeout:g}s"
    printable = all(32 <= b < 127 or b in (9, 10, 13) for b in data[:64])
    if printable and b"\n" not in data and len(data) >= 1024:
        return f"sent {len(data)} bytes without a line end (an endless banner?)"
    sample = data[:24].decode("ascii", "replace") if printable else data[:16].hex()
    return f"answered with bytes that match no protocol smbaudit speaks ({sample!r})"
