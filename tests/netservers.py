"""Real services on loopback for the network tests: nginx (TLS / plain HTTP), OpenSSH sshd,
and hostile peers (small socket servers in threads). IP literals only; free ports; readiness
waits are bounded; every server stops when its context exits.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes] | None = None, timeout: float = 10.0,
              host: str = LOOPBACK) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listening on {port} after {timeout}s")


@dataclass
class CertFiles:
    cert: Path
    key: Path
    ca: Path  # the CA certificate (== cert when self-signed)


def make_cert(directory: Path, *, weak: bool, days: int = 365) -> CertFiles:
    """weak: self-signed RSA-1024 / SHA-1 for "www.example.test". strong: a test CA issuing an
    EC P-256 / SHA-256 leaf for localhost and 127.0.0.1."""
    now = dt.datetime.now(dt.timezone.utc)
    directory.mkdir(parents=True, exist_ok=True)
    if weak:  # cryptography refuses to sign with SHA-1, so the openssl CLI makes this one
        files = CertFiles(directory / "cert.pem", directory / "key.pem", directory / "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:1024", "-sha1", "-nodes",
                        "-subj", "/CN=www.example.test", "-addext", "subjectAltName=DNS:www.example.test",
                        "-days", str(days), "-keyout", str(files.key), "-out", str(files.cert)],
                       check=True, timeout=60, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return files
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smbaudit test CA")])
        ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
              .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3650))
              .add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
              .sign(ca_key, hashes.SHA256()))
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
                .issuer_name(ca_name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=days))
                .add_extension(x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]), False)
                .sign(ca_key, hashes.SHA256()))
    files = CertFiles(directory / "cert.pem", directory / "key.pem", directory / "ca.pem")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.TraditionalOpenSSL,
                                            serialization.NoEncryption()))
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return files


WEAK_TLS = """
        ssl_protocols TLSv1 TLSv1.1 TLSv1.2;
        ssl_ciphers "ALL:NULL:aNULL:@SECLEVEL=0";
        ssl_prefer_server_ciphers off;
"""
STRONG_TLS = """
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305";
        ssl_prefer_server_ciphers on;
        add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;
        add_header Content-Security-Policy "default-src 'self'" always;
        add_header X-Content-Type-Options nosniff always;
        add_header X-Frame-Options DENY always;
        add_header Referrer-Policy no-referrer always;
        server_tokens off;
"""


@dataclass
class Nginx:
    tls_port: int
    http_port: int
    certs: CertFiles


@contextmanager
def nginx(tmp: Path, *, strong: bool, redirect: bool | None = None, host: str = LOOPBACK,
          ports: tuple[int, int] | None = None, tls_config: str | None = None) -> Iterator[Nginx]:
    """One nginx with a TLS server and a plain HTTP server (redirecting to HTTPS or not).

    redirect defaults to `strong`; `ports` (TLS, HTTP) default to free ones; `tls_config`
    replaces the weak or strong TLS directives."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    redirect = strong if redirect is None else redirect
    tmp.mkdir(parents=True, exist_ok=True)
    certs = make_cert(tmp / "tls", weak=not strong)
    tls_port, http_port = ports or (free_port(), free_port())
    body = STRONG_TLS if strong else "        server_tokens on;\n"
    plain = (f"return 301 https://localhost:{tls_port}$request_uri;" if redirect
             else "return 200 'plain\\n';")
    conf = f"""
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fcgi;
    uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
    server {{
        listen {host}:{tls_port} ssl;
        ssl_certificate {certs.cert};
        ssl_certificate_key {certs.key};
{tls_config if tls_config is not None else WEAK_TLS if not strong else ""}{body}
        location / {{ return 200 'ok\\n'; }}
    }}
    server {{
        listen {host}:{http_port};
{"        server_tokens off;" if strong else ""}
        location / {{ {plain} }}
    }}
}}
"""
    (tmp / "nginx.conf").write_text(conf)
    proc = subprocess.Popen([binary, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e",
                             str(tmp / "error.log")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        wait_port(tls_port, proc, host=host)
        wait_port(http_port, proc, host=host)
        yield Nginx(tls_port, http_port, certs)
    except RuntimeError as exc:
        log = (tmp / "error.log").read_text() if (tmp / "error.log").exists() else ""
        raise RuntimeError(f"{exc}: {log[-2000:]}") from None
    finally:
        proc.kill()
        proc.wait(timeout=5)


WEAK_SSHD = """
KexAlgorithms curve25519-sha256,diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,diffie-hellman-group-exchange-sha1
Ciphers aes128-ctr,aes128-cbc,3des-cbc
MACs hmac-sha2-256,hmac-md5,hmac-sha1
HostKeyAlgorithms ssh-ed25519,rsa-sha2-256,ssh-rsa
PasswordAuthentication yes
KbdInteractiveAuthentication yes
"""
HARDENED_SSHD = """
KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org
Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com
MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com
HostKeyAlgorithms ssh-ed25519,rsa-sha2-512,rsa-sha2-256
PasswordAuthentication no
KbdInteractiveAuthentication no
"""


@contextmanager
def sshd(tmp: Path, *, hardened: bool, host: str = LOOPBACK, port: int | None = None) -> Iterator[int]:
    """OpenSSH sshd on a free loopback port; weak: 1024-bit RSA host key and legacy algorithms."""
    binary = shutil.which("sshd") or "/usr/sbin/sshd"
    tmp.mkdir(parents=True, exist_ok=True)
    keys: list[Path] = []
    for kind, bits in (("ed25519", None), ("rsa", 4096 if hardened else 1024)):
        path = tmp / f"host_{kind}"
        argv = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(path)]
        if bits:
            argv += ["-b", str(bits)]
        subprocess.run(argv, check=True, timeout=60, stdout=subprocess.DEVNULL)
        keys.append(path)
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory
    port = port or free_port()
    cfg = tmp / "sshd_config"
    cfg.write_text(f"Port {port}\nListenAddress {host}\n"
                   + "".join(f"HostKey {k}\n" for k in keys)
                   + f"PidFile {tmp}/sshd.pid\nUsePAM no\nPermitRootLogin no\nStrictModes no\n"
                   + (HARDENED_SSHD if hardened else WEAK_SSHD))
    proc = subprocess.Popen([binary, "-D", "-e", "-f", str(cfg)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        wait_port(port, proc, host=host)
        yield port
    except RuntimeError as exc:
        err = proc.stderr.read().decode() if proc.poll() is not None and proc.stderr else ""
        raise RuntimeError(f"{exc}: {err[-2000:]}") from None
    finally:
        proc.kill()
        proc.wait(timeout=5)


# --------------------------------------------------------------------------- hostile peers


@contextmanager
def hostile(behaviour: Callable[[socket.socket], None]) -> Iterator[int]:
    """A one-thread TCP server on a free loopback port that treats each client with `behaviour`."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((LOOPBACK, 0))
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()
    conns: list[socket.socket] = []

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conns.append(conn)
            threading.Thread(target=_serve, args=(behaviour, conn, stop), daemon=True).start()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=2)
        server.close()
        for c in conns:
            c.close()


def _serve(behaviour: Callable[[socket.socket], None], conn: socket.socket, stop: threading.Event) -> None:
    conn.settimeout(0.5)
    try:
        behaviour(conn)
    except OSError:
        pass
    # keep the connection open (a stall) until the test ends, unless the behaviour closed it
    end = time.monotonic() + 30
    while not stop.is_set() and time.monotonic() < end:
        time.sleep(0.05)


def garbage(conn: socket.socket) -> None:
    conn.sendall(os.urandom(512))


def stall(conn: socket.socket) -> None:
    try:
        conn.recv(4096)
    except OSError:
        pass


def close_early(conn: socket.socket) -> None:
    try:
        conn.recv(16)
    except OSError:
        pass
    conn.close()


def endless_banner(conn: socket.socket) -> None:
    end = time.monotonic() + 20
    while time.monotonic() < end:
        conn.sendall(b"A" * 1024)
        time.sleep(0.001)


def trickle(conn: socket.socket) -> None:
    """Answer in the client's protocol, one byte every 0.3 s, never finishing: a TLS record
    header to a ClientHello, an HTTP head to a request, an SSH banner to a silent client."""
    try:
        first = conn.recv(4096)
    except OSError:
        first = b""
    if first[:1] == b"\x16":
        answer = bytes.fromhex("160303400002") + b"\x00" * 200
    elif first.startswith((b"GET", b"HEAD")):
        answer = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200
    elif first.startswith(b"PING"):
        answer = b"+PO" + b"N" * 200
    else:
        answer = b"SSH-2.0-OpenSSH_9.9" + b"a" * 200
    for i in range(len(answer)):
        conn.sendall(answer[i:i + 1])
        time.sleep(0.3)


def tls_stall_mid_handshake(conn: socket.socket) -> None:
    """Answer a ClientHello with the start of a ServerHello record, then go silent."""
    conn.recv(4096)
    conn.sendall(bytes.fromhex("160303004a0200004603"))


# --------------------------------------------------------------------------- scanning helpers


def needs(tool: str, *, root: bool = False):  # type: ignore[no-untyped-def]
    """Decorator: the test needs a system tool (and root); see tests/tools.py for what happens
    when it is missing."""
    marks = needs_marks(tool, root=root)

    def decorate(fn):  # type: ignore[no-untyped-def]
        for mark in marks:
            fn = mark(fn)
        return fn

    return decorate


def needs_marks(tool: str, *, root: bool = False) -> list[pytest.MarkDecorator]:
    """The marks of `needs`, as a list for `pytestmark`."""
    marks = [getattr(pytest.mark, f"needs_{tool}")]
    if root:
        marks.append(pytest.mark.needs_root)
    return marks


def scan_service(target, packs: list[str], options: dict | None = None,  # type: ignore[no-untyped-def]
                 io_timeout: float = 5.0, probe_timeout: float = 30.0):
    """Run the shipped packs `packs` (folder names under checks/) on one ServiceTarget through
    the engine; returns {check_id: Finding}."""
    from smbaudit import engine, resources
    from smbaudit.packs.loader import load_packs
    from smbaudit.probes.builtin import builtin_probe_classes

    probes = {cls.name: cls() for cls in builtin_probe_classes()}
    checks = load_packs([resources.checks_dir() / p for p in packs],
                        {n: p.params_schema for n, p in probes.items()})
    result = engine.run([target], checks, probes,
                        engine.EngineOptions(jobs=2, probe_timeout=probe_timeout, io_timeout=io_timeout,
                                             probe_options=options or {}))
    return {f.check_id: f for f in result.findings}


def statuses(findings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {k: f.status.value for k, f in sorted(findings.items())}


# --------------------------------------------------------------------------- UDP responders


@contextmanager
def udp_responder(host: str, port: int, answer: Callable[[bytes], list[bytes]]) -> Iterator[int]:
    """A one-thread UDP server on host:port that sends back `answer(datagram)`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.settimeout(0.2)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(65535)
            except OSError:
                continue
            for reply in answer(data):
                sock.sendto(reply, peer)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(timeout=2)
        sock.close()


def snmp_agent(community: str) -> Callable[[bytes], list[bytes]]:
    """Answers a GetRequest carrying `community` with sysDescr; other communities get nothing."""
    from smbaudit.probes import _udp

    def answer(data: bytes) -> list[bytes]:
        _t, msg, _ = _udp._read_tlv(data, 0)
        _t, _version, pos = _udp._read_tlv(msg, 0)
        _t, got, pos = _udp._read_tlv(msg, pos)
        _t, pdu, _ = _udp._read_tlv(msg, pos)
        _t, rid, _ = _udp._read_tlv(pdu, 0)
        if got.decode() != community:
            return []
        value = _udp._tlv(0x04, b"Test switch firmware 1.0")
        varbind = _udp._tlv(0x30, _udp._tlv(0x30, _udp._tlv(0x06, _udp.SYS_DESCR) + value))
        body = _udp._tlv(0x02, rid) + _udp._int(0) + _udp._int(0) + varbind
        return [_udp._tlv(0x30, _udp._int(1) + _udp._tlv(0x04, got) + _udp._tlv(0xA2, body))]

    return answer


def ntp_server(data: bytes) -> list[bytes]:
    """An old ntpd: answers mode 6 READVAR and mode 7 monlist."""
    if data[:1] == b"\x16":
        text = b'version="ntpd 4.2.6p5", system="Linux"'
        return [bytes([0x16, 0x82]) + data[2:4] + b"\x00\x00\x00\x00\x00\x00"
                + len(text).to_bytes(2, "big") + text]
    if data[:1] == b"\x17":
        return [bytes([0x97, 0x00, 0x03, 0x2A]) + bytes(68)]
    return []


def ssdp_device(data: bytes) -> list[bytes]:
    if not data.startswith(b"M-SEARCH"):
        return []
    return [b"HTTP/1.1 200 OK\r\nSERVER: Linux/5.10 UPnP/1.0 TestRouter/1.0\r\n"
            b"LOCATION: http://127.0.0.3:49152/rootDesc.xml\r\nST: upnp:rootdevice\r\n\r\n"]


def mdns_responder(data: bytes) -> list[bytes]:
    """Answers any DNS query with one PTR record."""
    name = b"\x09_services\x07_dns-sd\x04_udp\x05local\x00"
    target = b"\x05_http\x04_tcp\x05local\x00"
    record = name + b"\x00\x0c\x00\x01\x00\x00\x11\x94" + len(target).to_bytes(2, "big") + target
    return [data[:2] + b"\x84\x00\x00\x00\x00\x01\x00\x00\x00\x00" + record]
