"""Service exposure probe: what a network service is and, where it can be told safely, whether
it answers without credentials.

Only harmless, read-only requests are sent: Redis PING, memcached `version`, MongoDB
`listDatabases` (refused without auth), Elasticsearch `GET /`, FTP anonymous login (then QUIT),
the VNC security-type list, an SMB1 NEGOTIATE. Nothing is ever written.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Mapping
from typing import Any

from smbaudit.errors import ProbeError
from smbaudit.models import TargetKind
from smbaudit.probes import _wire
from smbaudit.probes import factschema as fs
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import ServiceTarget, Target

# nmap service names (and ports, when nmap did not name it) -> our kind
KINDS = {
    "telnet": "telnet", "ftp": "ftp", "microsoft-ds": "smb", "netbios-ssn": "smb", "smb": "smb",
    "ms-wbt-server": "rdp", "rdp": "rdp", "vnc": "vnc", "snmp": "snmp", "mysql": "mysql",
    "postgresql": "postgresql", "redis": "redis", "mongodb": "mongodb", "mongod": "mongodb",
    "elasticsearch": "elasticsearch", "memcached": "memcached", "memcache": "memcached",
}
PORTS = {23: "telnet", 21: "ftp", 445: "smb", 139: "smb", 3389: "rdp", 5900: "vnc", 161: "snmp",
         3306: "mysql", 5432: "postgresql", 6379: "redis", 27017: "mongodb", 9200: "elasticsearch",
         11211: "memcached"}
MAX_ANSWER = 64 * 1024


def service_kind(target: ServiceTarget) -> str:
    if "elasticsearch" in target.product.lower():
        return "elasticsearch"
    if target.service in KINDS:
        return KINDS[target.service]
    if target.service in ("", "unknown", "tcpwrapped") or target.service.endswith("?"):
        return PORTS.get(target.port, target.service or "unknown")
    return target.service


class ServiceInfoProbe(Probe):
    """Exposure facts for any network service.

    Facts: endpoint, service (our kind: telnet ftp smb rdp vnc snmp mysql postgresql redis
    mongodb elasticsearch memcached, else nmap's name), nmap_service, product, version,
    tls (bool: nmap saw TLS), auth ("none": answers without credentials, "required", or
    "unknown" where it cannot be told safely), auth_evidence (what the service said),
    anonymous_ftp (bool, FTP only), smbv1 (bool, SMB only), vnc_security_types (VNC only).
    """

    name = "service_info"
    description = "service identity and whether it answers without credentials"
    target_kinds = frozenset({TargetKind.SERVICE})
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}

    facts = fs.record(
        endpoint=fs.STR, service=fs.STR, nmap_service=fs.STR, product=fs.STR, version=fs.STR,
        tls=fs.BOOL, auth=fs.enum("none", "required", "unknown"),
        auth_evidence=fs.nullable(fs.STR),
        optional={"anonymous_ftp": fs.BOOL, "banner": fs.STR,  # FTP
                  "smbv1": fs.BOOL,  # SMB
                  "vnc_security_types": fs.list_of(fs.INT)},  # VNC
    )

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        if not isinstance(target, ServiceTarget):
            raise ProbeError(f"{target.name} is not a network service")
        unidentified = target.extra.get("identify_error")
        if unidentified and target.service in ("", "unknown") and target.port not in PORTS:
            raise ProbeError(f"{target.endpoint} could not be identified: {unidentified}")
        kind = service_kind(target)
        facts: Facts = {"endpoint": target.endpoint, "service": kind, "nmap_service": target.service,
                        "product": target.product, "version": target.version,
                        "tls": target.tunnel == "ssl", "auth": "unknown", "auth_evidence": None}
        check = _AUTH_CHECKS.get(kind)
        if check is not None and target.tunnel != "ssl":
            with target.connect(ctx.io_timeout()) as sock:
                facts.update(check(sock, target, ctx.deadline))
        return facts


def _line(sock: socket.socket, deadline: float, what: str) -> str:
    return _wire.recv_until(sock, b"\n", MAX_ANSWER, deadline, what).decode("latin-1").strip()


def _redis(sock: socket.socket, target: ServiceTarget, deadline: float) -> Facts:
    sock.sendall(b"PING\r\n")
    answer = _line(sock, deadline, "Redis")
    if answer.startswith("+PONG"):
        return {"auth": "none", "auth_evidence": "PING answered +PONG without AUTH"}
    if answer.startswith(("-NOAUTH", "-DENIED", "-ERR operation not permitted")):
        return {"auth": "required", "auth_evidence": answer[:120]}
    raise ProbeError(f"Redis: unexpected answer {answer[:80]!r}")


def _memcached(sock: socket.socket, target: ServiceTarget, deadline: float) -> Facts:
    sock.sendall(b"version\r\n")
    answer = _line(sock, deadline, "memcached")
    if answer.startswith("VERSION"):
        return {"auth": "none", "auth_evidence": answer[:80], "version": answer[8:].strip()}
    return {"auth": "required", "auth_evidence": answer[:120]}


def _bson_doc(items: list[tuple[str, Any]]) -> bytes:
    body = b""
    for key, value in items:
        k = key.encode() + b"\x00"
        if isinstance(value, int):
            body += b"\x10" + k + struct.pack("<i", value)
        else:
            v = str(value).encode() + b"\x00"
            body += b"\x02" + k + struct.pack("<i", len(v)) + v
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def _bson_ok(doc: bytes) -> tuple[float | None, str]:
    """`ok` and `errmsg` from a flat BSON reply (nested values are skipped by their length)."""
    ok: float | None = None
    errmsg = ""
    pos = 4
    sizes = {0x01: 8, 0x07: 12, 0x08: 1, 0x09: 8, 0x10: 4, 0x11: 8, 0x12: 8, 0x0A: 0}
    while pos < len(doc) - 1:
        kind = doc[pos]
        end = doc.index(b"\x00", pos + 1)
        key = doc[pos + 1:end].decode("utf-8", "replace")
        pos = end + 1
        if kind == 0x01:
            value = struct.unpack("<d", doc[pos:pos + 8])[0]
            if key == "ok":
                ok = value
        elif kind == 0x10 and key == "ok":
            ok = float(struct.unpack("<i", doc[pos:pos + 4])[0])
        if kind in (0x02, 0x0D, 0x0E):
            (n,) = struct.unpack("<i", doc[pos:pos + 4])
            if key == "errmsg":
                errmsg = doc[pos + 4:pos + 3 + n].decode("utf-8", "replace")
            pos += 4 + n
        elif kind in (0x03, 0x04):
            pos += struct.unpack("<i", doc[pos:pos + 4])[0]
        elif kind == 0x05:
            pos += 5 + struct.unpack("<i", doc[pos:pos + 4])[0]
        elif kind in sizes:
            pos += sizes[kind]
        else:
            break
    return ok, errmsg


def _mongodb(sock: socket.socket, target: ServiceTarget, deadline: float) -> Facts:
    doc = _bson_doc([("listDatabases", 1), ("nameOnly", 1), ("$db", "admin")])
    msg = struct.pack("<I", 0) + b"\x00" + doc  # OP_MSG: flags, section kind 0
    sock.sendall(struct.pack("<iiii", 16 + len(msg), 1, 0, 2013) + msg)
    data = b""
    while len(data) < 16 or len(data) < struct.unpack("<i", data[:4])[0]:
        data += _wire.recv_some(sock, MAX_ANSWER, deadline, "MongoDB")
        if len(data) > MAX_ANSWER:
            raise ProbeError("MongoDB: answer too long")
    if struct.unpack("<i", data[12:16])[0] != 2013 or len(data) < 21:
        raise ProbeError("MongoDB: not an OP_MSG reply")
    ok, errmsg = _bson_ok(data[21:])
    if ok == 1.0:
        return {"auth": "none", "auth_evidence": "listDatabases answered without authentication"}
    return {"auth": "required", "auth_evidence": (errmsg or "listDatabases refused")[:120]}


def _elasticsearch(sock: socket.socket, target: ServiceTarget, deadline: float) -> Facts:
    host = _wire.host_header(target.address, target.port, target.hostname, 80)
    resp = _wire.http_get(sock, host, "/", deadline, read_body=True)
    if resp.status == 200 and b"cluster_name" in resp.body:
        return {"auth": "none", "auth_evidence": "GET / returned cluster information without credentials"}
    if resp.status in (401, 403):
        return {"auth": "required", "auth_evidence": f"HTTP {resp.status}"}
    return {"auth": "unknown", "auth_evidence": f"HTTP {resp.status}"}


def _ftp(sock: socket.socket, target: ServiceTarget, deadline: float) -> Facts:
    code, lines = _wire.smtp_reply(sock, deadline)  # FTP replies have the SMTP shape
    if code != 220:
        raise ProbeError(f"FTP greeting {code}")
    sock.sendall(b"USER anonymous\r\n")
    code, _ = _wire.smtp_reply(sock, deadline)
    if code == 331:
        sock.sendall(b"PASS smbaudit@example.invalid\r\n")
        code, _ = _wire.smtp_reply(sock, deadline)
    try:
        sock.sendall(b"QUIT\r\n")
    except OSError:
        pass
    anonymous = code == 230
    return {"anonymous_ftp": anonymous, "auth": "none" if anonymous else "required",
            "auth_evidence": f"anonymous login answered {code}", "banner": lines[0][:120] if lines else ""}


def _vnc(sock: socket.socket, target: ServiceTarget, deadline: float) -> Facts:
    hello = _wire.recv_until(sock, b"\n", 64, deadline, "VNC").decode("latin-1")
    if not hello.startswith("RFB "):
        raise ProbeError(f"VNC: not an RFB greeting {hello[:40]!r}")
    sock.sendall(b"RFB 003.008\n")
    data = _wire.recv_some(sock, 256, deadline, "VNC")
    count = data[0]
    types = list(data[1:1 + count])
    if count == 0:
        return {"auth": "unknown", "vnc_security_types": [], "auth_evidence": "server refused the version"}
    return {"vnc_security_types": types, "auth": "none" if 1 in types else "required",
            "auth_evidence": f"security types {types}"}


def _smb(sock: socket.socket, target: ServiceTarget, deadline: float) -> Facts:
    """SMB1 NEGOTIATE offering only 'NT LM 0.12': an SMB1 answer means SMBv1 is enabled."""
    dialects = b"\x02NT LM 0.12\x00"
    header = (b"\xffSMB" + b"\x72" + b"\x00" * 4 + b"\x18" + struct.pack("<H", 0xC853)
              + b"\x00" * 12 + struct.pack("<HHHH", 0, 0xFFFE, 0, 0))
    smb = header + b"\x00" + struct.pack("<H", len(dialects)) + dialects
    sock.sendall(struct.pack(">I", len(smb)) + smb)
    try:
        data = _wire.recv_some(sock, 1024, deadline, "SMB")
    except ProbeError:
        return {"smbv1": False, "auth": "unknown", "auth_evidence": "SMB1 negotiate refused"}
    smbv1 = len(data) >= 9 and data[4:8] == b"\xffSMB"
    return {"smbv1": smbv1, "auth": "unknown",
            "auth_evidence": "answered an SMB1 negotiate" if smbv1 else "no SMB1 dialect"}


_AUTH_CHECKS: dict[str, Callable[[socket.socket, ServiceTarget, float], Facts]] = {
    "redis": _redis, "memcached": _memcached, "mongodb": _mongodb, "elasticsearch": _elasticsearch,
    "ftp": _ftp, "vnc": _vnc, "smb": _smb,
}
