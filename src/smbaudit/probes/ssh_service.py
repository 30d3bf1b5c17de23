"""SSH service probe: what an SSH server offers, learned without logging in.

The banner and the server's KEXINIT algorithm lists are read from the raw protocol (bounded in
bytes and time, so hostile peers end in ProbeError/ProbeTimeout). Host key sizes and the
authentication methods offered come from paramiko: a key exchange per host key type, then a
`none` authentication request, whose refusal lists the methods the server accepts.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import socket
import struct
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from smbaudit.errors import ProbeError, ProbeTimeout
from smbaudit.models import TargetKind
from smbaudit.probes import _wire
from smbaudit.probes import factschema as fs
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import ServiceTarget, Target

logging.getLogger("paramiko").addHandler(logging.NullHandler())  # its thread logs refusals

if TYPE_CHECKING:  # paramiko is imported when the probe runs: most scans have no SSH service
    import paramiko

MAX_PREBANNER = 8192  # RFC 4253 4.2 allows lines before the banner; we allow this many bytes
MAX_PACKET = 35000
CLIENT_BANNER = b"SSH-2.0-smbaudit_probe\r\n"
PROBE_USER = "smbaudit-probe"

_KEY_TYPES = {  # paramiko key_types to ask for, per host key algorithm family the server offers
    "ssh-ed25519": ["ssh-ed25519"],
    "ecdsa": ["ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"],
    "rsa": ["rsa-sha2-512", "rsa-sha2-256"],
}
_NAMES = ("kex", "host_key_algorithms", "ciphers_c2s", "ciphers_s2c", "macs_c2s", "macs_s2c",
          "compression_c2s", "compression_s2c")


def read_banner(sock: socket.socket, deadline: float) -> tuple[str, bytes]:
    """The server's SSH identification line, and any bytes read after it."""
    timeout = sock.gettimeout()
    deadline = deadline if timeout is None else min(deadline, time.monotonic() + timeout)
    buf = b""
    while True:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.startswith(b"SSH-"):
                return line.rstrip(b"\r").decode("utf-8", "replace")[:255], buf
        if len(buf) > MAX_PREBANNER or (buf and not buf.startswith(b"SSH-") and len(buf) > 255
                                        and b"\n" not in buf):
            raise ProbeError("no SSH identification line in the first bytes (not an SSH server?)")
        if time.monotonic() > deadline:
            raise ProbeTimeout("SSH server did not send its identification in time")
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            raise ProbeTimeout("SSH server sent no identification line") from None
        if not chunk:
            raise ProbeError("SSH server closed the connection before its identification line")
        buf += chunk
        if sum(1 for _ in re.finditer(b"\n", buf)) > 50:
            raise ProbeError("too many lines before the SSH identification")


def _take(sock: socket.socket, buf: bytes, n: int, deadline: float) -> tuple[bytes, bytes]:
    while len(buf) < n:
        if time.monotonic() > deadline:
            raise ProbeTimeout("SSH server stalled in key exchange")
        try:
            chunk = sock.recv(min(65536, n - len(buf) + 4096))
        except socket.timeout:
            raise ProbeTimeout("SSH server stalled in key exchange") from None
        if not chunk:
            raise ProbeError("SSH server closed the connection during key exchange")
        buf += chunk
    return buf[:n], buf[n:]


def read_packet(sock: socket.socket, rest: bytes, deadline: float) -> tuple[bytes, bytes]:
    """One unencrypted SSH packet's payload, and the bytes read after it."""
    head, rest = _take(sock, rest, 5, deadline)
    length, padding = struct.unpack("!IB", head)
    if not 12 <= length <= MAX_PACKET or padding >= length:
        raise ProbeError(f"malformed SSH packet (length {length})")
    body, rest = _take(sock, rest, length - 1, deadline)
    return body[:length - 1 - padding], rest


def read_kexinit(sock: socket.socket, rest: bytes, deadline: float) -> dict[str, list[str]]:
    """The server's SSH_MSG_KEXINIT name-lists (the packet is sent unencrypted)."""
    return _read_kexinit(sock, rest, deadline)[0]


def _read_kexinit(sock: socket.socket, rest: bytes, deadline: float) -> tuple[dict[str, list[str]], bytes]:
    timeout = sock.gettimeout()
    deadline = deadline if timeout is None else min(deadline, time.monotonic() + timeout)
    payload, rest = read_packet(sock, rest, deadline)
    if not payload or payload[0] != 20:
        raise ProbeError(f"expected KEXINIT, got SSH message {payload[0] if payload else 'none'}")
    pos = 17  # message type + 16-byte cookie
    lists: dict[str, list[str]] = {}
    try:
        for name in (*_NAMES, "languages_c2s", "languages_s2c"):
            (n,) = struct.unpack("!I", payload[pos:pos + 4])
            if n > len(payload):
                raise ProbeError("malformed KEXINIT name-list")
            text = payload[pos + 4:pos + 4 + n].decode("ascii", "replace")
            lists[name] = [x for x in text.split(",") if x]
            pos += 4 + n
    except struct.error:
        raise ProbeError("truncated KEXINIT") from None
    return lists, rest


# Key exchanges this probe can start itself to read a host key (no paramiko, no full handshake).
_OWN_KEX = ("curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256")
_CURVE_BITS = {"nistp256": 256, "nistp384": 384, "nistp521": 521}


def _packet(payload: bytes) -> bytes:
    padding = 8 - (len(payload) + 5) % 8
    padding += 8 if padding < 4 else 0
    return struct.pack("!IB", len(payload) + padding + 1, padding) + payload + os.urandom(padding)


def _string(data: bytes) -> bytes:
    return struct.pack("!I", len(data)) + data


def _namelist(names: list[str]) -> bytes:
    return _string(",".join(names).encode("ascii"))


def _read_string(data: bytes, pos: int) -> tuple[bytes, int]:
    (n,) = struct.unpack("!I", data[pos:pos + 4])
    if pos + 4 + n > len(data):
        raise ProbeError("truncated SSH string")
    return data[pos + 4:pos + 4 + n], pos + 4 + n


def describe_host_key(blob: bytes) -> dict[str, Any]:
    """Type, size and SHA-256 fingerprint of an SSH public key blob (RFC 4253 6.6)."""
    try:
        kind_raw, pos = _read_string(blob, 0)
        kind = kind_raw.decode("ascii", "replace")
        bits: int | None = None
        if kind == "ssh-rsa":
            _e, pos = _read_string(blob, pos)
            n, pos = _read_string(blob, pos)
            bits = int.from_bytes(n, "big").bit_length()
        elif kind == "ssh-dss":
            p, pos = _read_string(blob, pos)
            bits = int.from_bytes(p, "big").bit_length()
        elif kind.startswith("ecdsa-sha2-"):
            bits = _CURVE_BITS.get(kind.removeprefix("ecdsa-sha2-"))
        elif kind in ("ssh-ed25519", "ssh-ed448"):
            bits = 256 if kind == "ssh-ed25519" else 456
    except struct.error:
        raise ProbeError("malformed SSH host key") from None
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return {"algorithm": kind, "bits": bits, "fingerprint": f"SHA256:{digest}"}


def fetch_host_key(sock: socket.socket, server_lists: dict[str, list[str]], rest: bytes,
                   host_key_algorithms: list[str], deadline: float) -> dict[str, Any]:
    """Start a key exchange offering only `host_key_algorithms` and read the host key from the
    server's ECDH reply; the exchange is never finished (nothing is signed or verified)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, x25519

    kex = next(k for k in _OWN_KEX if k in server_lists["kex"])
    if kex.startswith("curve25519"):
        public = x25519.X25519PrivateKey.generate().public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    else:
        public = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    kexinit = (b"\x14" + os.urandom(16) + _namelist([kex]) + _namelist(host_key_algorithms)
               + b"".join(_namelist(server_lists[n] or ["none"]) for n in _NAMES[2:])
               + _namelist([]) * 2 + b"\x00" + b"\x00" * 4)
    sock.sendall(_packet(kexinit) + _packet(b"\x1e" + _string(public)))
    step = _wire.step_deadline(sock, deadline)
    for _ in range(8):  # messages before the reply (e.g. ignore/debug) are skipped
        payload, rest = read_packet(sock, rest, step)
        if payload[:1] == b"\x01":
            raise ProbeError("SSH server disconnected during key exchange")
        if payload[:1] == b"\x1f":  # SSH_MSG_KEX_ECDH_REPLY: string K_S first
            blob, _ = _read_string(payload, 1)
            return describe_host_key(blob)
    raise ProbeError("no key exchange reply from the SSH server")


class SshServiceProbe(Probe):
    """An SSH server's banner, algorithms, host keys and authentication methods.

    Facts: banner, software (e.g. OpenSSH_9.2p1), product, version, kex, host_key_algorithms,
    ciphers, macs, compression (server-offered lists; which are weak is for the checks to say),
    host_keys (list of {type, bits}),
    rsa_key_bits (smallest RSA host key, absent without one), auth_methods (list, or null when
    it could not be learned; see auth_error), password_auth (bool: password or
    keyboard-interactive offered), endpoint.
    """

    name = "ssh_service"
    description = "SSH banner, KEXINIT algorithms, host keys and auth methods (no login)"
    target_kinds = frozenset({TargetKind.SERVICE})
    services = frozenset({"ssh"})
    params_schema = {"type": "object", "additionalProperties": False,
                     "properties": {"host_keys": {"type": "boolean"},
                                    "auth_methods": {"type": "boolean"}}}

    _names = fs.list_of(fs.STR)
    facts = fs.record(
        endpoint=fs.STR, banner=fs.STR, protocol=fs.STR, software=fs.STR, product=fs.STR,
        version=fs.STR, kex=_names, host_key_algorithms=_names, ciphers=_names, macs=_names,
        compression=_names,
        optional={
            # with host_keys (the default)
            "host_keys": fs.list_of(fs.record(
                type=fs.STR, bits=fs.nullable(fs.INT),
                optional={"algorithm": fs.STR, "fingerprint": fs.STR, "error": fs.STR})),
            "rsa_key_bits": fs.INT,  # only with an RSA host key
            # with auth_methods (the default)
            "auth_methods": fs.nullable(_names), "password_auth": fs.nullable(fs.BOOL),
            "auth_error": fs.nullable(fs.STR),
        },
    )
    del _names

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        if not isinstance(target, ServiceTarget):
            raise ProbeError(f"{target.name} is not a network service")
        with target.connect(ctx.io_timeout()) as sock:
            banner, rest = read_banner(sock, ctx.deadline)
            sock.sendall(CLIENT_BANNER)
            lists = read_kexinit(sock, rest, ctx.deadline)
        m = re.match(r"SSH-([\d.]+)-(\S+)", banner)
        if not m:
            raise ProbeError(f"malformed SSH identification: {banner[:80]!r}")
        software = m.group(2)
        product, _, version = software.partition("_")
        facts: Facts = {
            "endpoint": target.endpoint,
            "banner": banner,
            "protocol": m.group(1),
            "software": software,
            "product": product,
            "version": version,
            "kex": lists["kex"],
            "host_key_algorithms": lists["host_key_algorithms"],
            "ciphers": sorted(set(lists["ciphers_c2s"]) | set(lists["ciphers_s2c"])),
            "macs": sorted(set(lists["macs_c2s"]) | set(lists["macs_s2c"])),
            "compression": sorted(set(lists["compression_c2s"]) | set(lists["compression_s2c"])),
        }
        if params.get("host_keys", True):
            facts["host_keys"] = self._host_keys(target, ctx, facts["host_key_algorithms"], facts["kex"])
            rsa = [k["bits"] for k in facts["host_keys"] if k["type"] == "rsa" and k["bits"]]
            if rsa:
                facts["rsa_key_bits"] = min(rsa)
        if params.get("auth_methods", True):
            facts.update(self._auth_methods(target, ctx))
        return facts

    def _transport(self, target: ServiceTarget, ctx: ProbeContext,
                   key_types: list[str] | None = None) -> paramiko.Transport:
        import paramiko

        ctx.check_deadline()
        sock = target.connect(ctx.io_timeout())
        transport = paramiko.Transport(sock)
        transport.banner_timeout = transport.handshake_timeout = transport.auth_timeout = ctx.io_timeout()
        # OpenSSH names curve25519 without the @libssh.org suffix too; same algorithm (RFC 8731)
        # paramiko's algorithm tables are private fields, absent from its type stubs
        tables: Any = transport
        tables._kex_info = {**tables._kex_info,  # noqa: SLF001 - per-instance alias
                            "curve25519-sha256": tables._kex_info["curve25519-sha256@libssh.org"]}
        options = transport.get_security_options()
        options.kex = ("curve25519-sha256", *options.kex)
        options.ciphers = tuple(dict.fromkeys([*options.ciphers, *tables._cipher_info]))
        options.digests = tuple(dict.fromkeys([*options.digests, *tables._mac_info]))
        if key_types:
            options.key_types = tuple(k for k in key_types if k in tables._key_info)
        try:
            transport.start_client(timeout=ctx.io_timeout())
        except BaseException:
            transport.close()
            raise
        return transport

    def _host_keys(self, target: ServiceTarget, ctx: ProbeContext, offered: list[str],
                   server_kex: list[str]) -> list[dict[str, Any]]:
        """One key exchange per host key family the server offers: our own ECDH start where the
        server has curve25519 or P-256 (one round trip), else paramiko's full handshake."""
        keys: list[dict[str, Any]] = []
        own = any(k in server_kex for k in _OWN_KEX)
        for family in ("ssh-ed25519", "ecdsa", "rsa", "ssh-dss"):
            algs = [a for a in offered if _family(a) == family]
            if not algs:
                continue
            ctx.check_deadline()
            try:
                if own:
                    with target.connect(ctx.io_timeout()) as sock:
                        _banner, rest = read_banner(sock, ctx.deadline)
                        sock.sendall(CLIENT_BANNER)
                        lists, rest = _read_kexinit(sock, rest, ctx.deadline)
                        key = fetch_host_key(sock, lists, rest, algs, ctx.deadline)
                else:
                    key = self._paramiko_host_key(target, ctx, family, algs)
                keys.append({"type": _family_name(family), **key})
            except (ProbeError, OSError, EOFError) as exc:
                keys.append({"type": _family_name(family), "bits": None, "error": str(exc)[:200]})
        return keys

    def _paramiko_host_key(self, target: ServiceTarget, ctx: ProbeContext, family: str,
                           algs: list[str]) -> dict[str, Any]:
        import paramiko

        wanted = [k for k in _KEY_TYPES.get(family, []) if k in algs] or _KEY_TYPES.get(family, algs)
        try:
            transport = self._transport(target, ctx, wanted)
        except paramiko.SSHException as exc:
            raise ProbeError(str(exc)) from None
        try:
            key = transport.get_remote_server_key()
            return {"bits": key.get_bits(), "algorithm": key.get_name(),
                    "fingerprint": describe_host_key(key.asbytes())["fingerprint"]}
        except paramiko.SSHException as exc:  # negotiation never finished
            raise ProbeError(str(exc)) from None
        finally:
            transport.close()

    def _auth_methods(self, target: ServiceTarget, ctx: ProbeContext) -> dict[str, Any]:
        import paramiko

        try:
            transport = self._transport(target, ctx)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            return {"auth_methods": None, "password_auth": None,
                    "auth_error": f"key exchange failed: {str(exc)[:200]}"}
        try:
            try:
                transport.auth_none(PROBE_USER)
                methods = ["none"]  # the server let us in without credentials
            except paramiko.BadAuthenticationType as exc:
                methods = list(exc.allowed_types)
            except (paramiko.SSHException, EOFError, OSError) as exc:
                return {"auth_methods": None, "password_auth": None,
                        "auth_error": f"authentication query failed: {str(exc)[:200]}"}
        finally:
            transport.close()
        return {"auth_methods": methods,
                "password_auth": "password" in methods or "keyboard-interactive" in methods,
                "auth_error": None}


def _family(algorithm: str) -> str:
    """Host key family of a host key algorithm name (certificates count as their key type)."""
    if algorithm.startswith("ssh-ed25519"):
        return "ssh-ed25519"
    if algorithm.startswith("ecdsa-sha2-"):
        return "ecdsa"
    if algorithm.startswith(("ssh-rsa", "rsa-sha2-")):
        return "rsa"
    if algorithm.startswith("ssh-dss"):
        return "ssh-dss"
    return ""


def _family_name(family: str) -> str:
    return {"ssh-ed25519": "ed25519", "ecdsa": "ecdsa", "rsa": "rsa", "ssh-dss": "dsa"}[family]
