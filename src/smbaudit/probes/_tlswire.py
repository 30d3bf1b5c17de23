"""Raw TLS/SSL handshakes: just enough of the wire format to learn what a server accepts.

The local OpenSSL refuses SSLv2/SSLv3/TLS 1.0/1.1 and many old ciphers, so protocol and cipher
enumeration builds ClientHellos by hand and reads the server's first flight (ServerHello,
Certificate) without ever completing a handshake. Nothing here is cryptography: the
certificates are returned as DER for `cryptography` to analyse.

Every read is bounded in bytes and by the caller's socket timeout and deadline.
"""

from __future__ import annotations

import os
import selectors
import socket
import struct
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from smbaudit.errors import ProbeError, ProbeTimeout
from smbaudit.probes._tls_ciphers import CIPHER_SUITES

SSL2, SSL3, TLS10, TLS11, TLS12, TLS13 = 0x0002, 0x0300, 0x0301, 0x0302, 0x0303, 0x0304
PROTOCOL_NAMES = {SSL2: "SSLv2", SSL3: "SSLv3", TLS10: "TLSv1.0", TLS11: "TLSv1.1",
                  TLS12: "TLSv1.2", TLS13: "TLSv1.3"}
TLS13_SUITES = [0x1301, 0x1302, 0x1303, 0x1304, 0x1305]
LEGACY_SUITES = [c for c in CIPHER_SUITES if c not in TLS13_SUITES]
SSL2_CIPHERS = {0x010080: "SSL_CK_RC4_128_WITH_MD5", 0x020080: "SSL_CK_RC4_128_EXPORT40_WITH_MD5",
                0x030080: "SSL_CK_RC2_128_CBC_WITH_MD5",
                0x040080: "SSL_CK_RC2_128_CBC_EXPORT40_WITH_MD5",
                0x050080: "SSL_CK_IDEA_128_CBC_WITH_MD5", 0x060040: "SSL_CK_DES_64_CBC_WITH_MD5",
                0x0700C0: "SSL_CK_DES_192_EDE3_CBC_WITH_MD5"}
MAX_FLIGHT = 256 * 1024  # bytes read from a server's first flight, at most
MAX_RECORD = 16384 + 2048
_HRR_RANDOM = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")

Opener = Callable[[], socket.socket]


class Rejected(Exception):
    """The server refused the offer (alert, close, or a different version) — an answer, not a fault."""

    def __init__(self, why: str, alert: int | None = None):
        super().__init__(why)
        self.alert = alert


# Named groups (RFC 8422, 7919, 8446): id -> (name, bits of security-relevant size).
GROUPS = {0x0001: ("sect163k1", 163), 0x0002: ("sect163r1", 163), 0x0003: ("sect163r2", 163),
          0x0004: ("sect193r1", 193), 0x0005: ("sect193r2", 193), 0x0006: ("sect233k1", 233),
          0x0007: ("sect233r1", 233), 0x0008: ("sect239k1", 239), 0x0009: ("sect283k1", 283),
          0x000A: ("sect283r1", 283), 0x000B: ("sect409k1", 409), 0x000C: ("sect409r1", 409),
          0x000D: ("sect571k1", 571), 0x000E: ("sect571r1", 571), 0x000F: ("secp160k1", 160),
          0x0010: ("secp160r1", 160), 0x0011: ("secp160r2", 160), 0x0012: ("secp192k1", 192),
          0x0013: ("secp192r1", 192), 0x0014: ("secp224k1", 224), 0x0015: ("secp224r1", 224),
          0x0016: ("secp256k1", 256), 0x0017: ("secp256r1", 256), 0x0018: ("secp384r1", 384),
          0x0019: ("secp521r1", 521), 0x001A: ("brainpoolP256r1", 256), 0x001B: ("brainpoolP384r1", 384),
          0x001C: ("brainpoolP512r1", 512), 0x001D: ("x25519", 253), 0x001E: ("x448", 448),
          0x0100: ("ffdhe2048", 2048), 0x0101: ("ffdhe3072", 3072), 0x0102: ("ffdhe4096", 4096),
          0x0103: ("ffdhe6144", 6144), 0x0104: ("ffdhe8192", 8192)}
EC_GROUPS = [g for g in GROUPS if g < 0x0100]
FALLBACK_SCSV = 0x5600
EXT_STATUS_REQUEST, EXT_HEARTBEAT, EXT_RENEGOTIATION_INFO, EXT_KEY_SHARE = 0x0005, 0x000F, 0xFF01, 0x0033


@dataclass
class KeyExchange:
    """The ephemeral key exchange a server chose: "DH" with its prime's size, or "ECDH" with
    the named group (TLS <= 1.2 ServerKeyExchange, TLS 1.3 key_share)."""

    kind: str
    bits: int
    group: str = ""


@dataclass
class ServerHello:
    version: int
    cipher: int
    certificates: list[bytes] = field(default_factory=list)  # DER, leaf first (TLS <= 1.2 only)
    hello_retry: bool = False
    compression: int = 0
    extensions: dict[int, bytes] = field(default_factory=dict)
    key_exchange: KeyExchange | None = None
    ocsp_stapled: bool = False  # a CertificateStatus message followed the certificate


def _u8(b: bytes) -> bytes:
    return struct.pack("!B", len(b)) + b


def _u16(b: bytes) -> bytes:
    return struct.pack("!H", len(b)) + b


def _ext(kind: int, body: bytes) -> bytes:
    return struct.pack("!H", kind) + _u16(body)


_GROUPS = [0x001D, 0x0017, 0x0018, 0x0019, 0x001E, 0x0100, 0x0101, 0x0102]  # x25519 P-256/384/521 x448 ffdhe
_SIGALGS = [0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0807, 0x0808, 0x0401, 0x0501, 0x0601,
            0x0203, 0x0201, 0x0402, 0x0202, 0x0101, 0x0102]


def client_hello(version: int, ciphers: list[int], server_name: str = "", *,
                 groups: list[int] | None = None, extra_extensions: bytes = b"",
                 compression: bytes = b"\x00") -> bytes:
    """One ClientHello record for SSLv3..TLS 1.3 offering exactly `ciphers` (and `groups`,
    default: the common ones; `compression`: the methods offered, null only by default)."""
    hello_version = min(version, TLS12)
    exts = b""
    if version >= TLS10:
        if server_name:
            name = server_name.encode("idna")
            exts += _ext(0x0000, _u16(b"\x00" + _u16(name)))
        exts += _ext(0x000A, _u16(b"".join(struct.pack("!H", g) for g in (groups or _GROUPS))))
        exts += _ext(0x000B, _u8(b"\x00"))
        exts += _ext(0xFF01, b"\x00")  # renegotiation_info: some servers insist
        if version >= TLS12:
            exts += _ext(0x000D, _u16(b"".join(struct.pack("!H", s) for s in _SIGALGS)))
        if version == TLS13:
            exts += _ext(0x002B, _u8(struct.pack("!H", TLS13)))
            if groups is None or 0x001D in groups:
                exts += _ext(0x0033, _u16(struct.pack("!H", 0x001D) + _u16(os.urandom(32))))
            else:  # no share: the server names the group it wants in a HelloRetryRequest
                exts += _ext(0x0033, _u16(b""))
            exts += _ext(0x002D, _u8(b"\x01"))
        exts += extra_extensions
    body = (struct.pack("!H", hello_version) + os.urandom(32)
            + _u8(os.urandom(32) if version == TLS13 else b"")
            + _u16(b"".join(struct.pack("!H", c) for c in ciphers)) + _u8(compression)
            + (_u16(exts) if exts else b""))
    handshake = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16" + struct.pack("!H", SSL3 if version == SSL3 else TLS10) + _u16(handshake)


class _Reader:
    """Bounded reads: at most MAX_FLIGHT bytes, never past the deadline."""

    def __init__(self, sock: socket.socket, deadline: float):
        # one answer (a server's first flight) within the socket's timeout, however it trickles
        timeout = sock.gettimeout()
        self.sock, self.total, self.buf = sock, 0, b""
        self.deadline = deadline if timeout is None else min(deadline, time.monotonic() + timeout)

    def take(self, n: int) -> bytes:
        while len(self.buf) < n:
            if time.monotonic() > self.deadline:
                raise ProbeTimeout("TLS server did not finish its answer in time")
            try:
                chunk = self.sock.recv(min(65536, MAX_FLIGHT - self.total + 1))
            except socket.timeout:
                raise ProbeTimeout("TLS server stalled mid-handshake") from None
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise EOFError
            self.total += len(chunk)
            if self.total > MAX_FLIGHT:
                raise ProbeError(f"TLS server sent more than {MAX_FLIGHT} bytes without finishing its hello")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def _handshake_messages(reader: _Reader, want_certificate: bool):  # type: ignore[no-untyped-def]
    """Yield (type, body) of handshake messages from TLS records; Rejected on alert/close."""
    pending = b""
    seen_any = False
    while True:
        try:
            header = reader.take(5)
        except EOFError:
            raise Rejected("connection closed") from None
        ctype, _ver, length = struct.unpack("!BHH", header)
        if ctype not in (20, 21, 22, 23) or length > MAX_RECORD:
            if not seen_any:
                raise ProbeError(f"not a TLS server (first bytes {header[:5].hex()})")
            raise ProbeError("malformed TLS record from server")
        try:
            body = reader.take(length)
        except EOFError:
            raise ProbeError("TLS server closed the connection mid-record") from None
        seen_any = True
        if ctype == 21:
            raise Rejected(f"alert {body[1] if len(body) > 1 else '?'}", body[1] if len(body) > 1 else None)
        if ctype != 22:
            return  # ChangeCipherSpec / encrypted data: the clear-text part is over
        pending += body
        while len(pending) >= 4:
            mtype = pending[0]
            mlen = int.from_bytes(pending[1:4], "big")
            if len(pending) < 4 + mlen:
                break
            yield mtype, pending[4:4 + mlen]
            pending = pending[4 + mlen:]


def _parse_server_hello(body: bytes) -> ServerHello:
    try:
        version = struct.unpack("!H", body[:2])[0]
        random = body[2:34]
        sid_len = body[34]
        pos = 35 + sid_len
        cipher = struct.unpack("!H", body[pos:pos + 2])[0]
        compression = body[pos + 2]
        pos += 3
        extensions: dict[int, bytes] = {}
        if len(body) > pos + 2:
            ext_len = struct.unpack("!H", body[pos:pos + 2])[0]
            exts = body[pos + 2:pos + 2 + ext_len]
            while len(exts) >= 4:
                kind, elen = struct.unpack("!HH", exts[:4])
                extensions[kind] = exts[4:4 + elen]
                if kind == 0x002B and elen == 2:
                    version = struct.unpack("!H", exts[4:6])[0]
                exts = exts[4 + elen:]
    except (struct.error, IndexError):
        raise ProbeError("malformed ServerHello") from None
    result = ServerHello(version, cipher, hello_retry=random == _HRR_RANDOM, compression=compression,
                         extensions=extensions)
    share = extensions.get(EXT_KEY_SHARE, b"")
    if version == TLS13 and len(share) >= 2:
        result.key_exchange = _named_group(struct.unpack("!H", share[:2])[0])
    return result


def _named_group(group: int) -> KeyExchange:
    name, bits = GROUPS.get(group, (f"0x{group:04X}", 0))
    return KeyExchange("DH" if 0x0100 <= group <= 0x01FF else "ECDH", bits, name)


def _parse_key_exchange(body: bytes, cipher: int) -> KeyExchange | None:
    """The group of an ephemeral (EC)DH ServerKeyExchange; None for other key exchanges."""
    name = CIPHER_SUITES.get(cipher, "")
    try:
        if "_DHE_" in name or "_DH_anon_" in name:
            plen = struct.unpack("!H", body[:2])[0]
            prime = body[2:2 + plen]
            return KeyExchange("DH", int.from_bytes(prime, "big").bit_length())
        if "_ECDHE_" in name or "_ECDH_anon_" in name:
            if body[0] == 3:  # named_curve
                return _named_group(struct.unpack("!H", body[1:3])[0])
            return KeyExchange("ECDH", 0, "explicit curve")
    except (struct.error, IndexError):
        raise ProbeError("malformed ServerKeyExchange") from None
    return None


def _parse_certificates(body: bytes) -> list[bytes]:
    certs: list[bytes] = []
    total = int.from_bytes(body[:3], "big")
    pos, end = 3, min(len(body), 3 + total)
    while pos + 3 <= end and len(certs) < 16:
        clen = int.from_bytes(body[pos:pos + 3], "big")
        certs.append(body[pos + 3:pos + 3 + clen])
        pos += 3 + clen
    return certs


def parse_flight(buf: bytes, version: int, ciphers: list[int], want_certificate: bool,
                 eof: bool = False) -> ServerHello | None:
    """The server's answer to a ClientHello, from the bytes received so far: its ServerHello
    once the clear-text flight is complete (to ServerHelloDone up to TLS 1.2), None while more
    bytes are needed. Rejected for an alert, a close or another version; ProbeError for what is
    not TLS or is malformed."""
    if len(buf) > MAX_FLIGHT:
        raise ProbeError(f"TLS server sent more than {MAX_FLIGHT} bytes without finishing its hello")
    pos, pending, result = 0, b"", None
    while True:
        if len(buf) - pos < 5:
            break
        ctype, _ver, length = struct.unpack("!BHH", buf[pos:pos + 5])
        if ctype not in (20, 21, 22, 23) or length > MAX_RECORD:
            if pos == 0:
                raise ProbeError(f"not a TLS server (first bytes {buf[:5].hex()})")
            raise ProbeError("malformed TLS record from server")
        if len(buf) - pos - 5 < length:
            if eof:
                raise ProbeError("TLS server closed the connection mid-record")
            break
        body = buf[pos + 5:pos + 5 + length]
        pos += 5 + length
        if ctype == 21:
            raise Rejected(f"alert {body[1] if len(body) > 1 else '?'}", body[1] if len(body) > 1 else None)
        if ctype != 22:  # ChangeCipherSpec / encrypted data: the clear-text part is over
            if result is None:
                raise Rejected("no ServerHello")
            return result
        pending += body
        while len(pending) >= 4:
            mtype, mlen = pending[0], int.from_bytes(pending[1:4], "big")
            if len(pending) < 4 + mlen:
                break
            msg, pending = pending[4:4 + mlen], pending[4 + mlen:]
            if mtype == 2:
                result = _parse_server_hello(msg)
                if result.version != version:
                    raise Rejected(f"server answered {PROTOCOL_NAMES.get(result.version, hex(result.version))}")
                if result.cipher not in ciphers:
                    raise ProbeError(f"server chose cipher 0x{result.cipher:04X} that was not offered")
                if version == TLS13:
                    return result
            elif result is None:
                continue
            elif mtype == 11:
                if want_certificate:
                    result.certificates = _parse_certificates(msg)
            elif mtype == 12:
                result.key_exchange = _parse_key_exchange(msg, result.cipher)
            elif mtype == 22:
                result.ocsp_stapled = True
            elif mtype == 14:  # ServerHelloDone
                return result
    if eof:
        raise Rejected("connection closed")
    return None


def hello(opener: Opener, version: int, ciphers: list[int], server_name: str, deadline: float,
          want_certificate: bool = False, **offer: Any) -> ServerHello:
    """Offer `ciphers` at `version`; return what the server chose, with its key exchange group
    (the flight is read to ServerHelloDone up to TLS 1.2). Rejected if it refused. `offer`
    goes to `client_hello` (groups, extra_extensions, compression)."""
    result: ServerHello | Rejected | None = None

    def once() -> Stream:
        nonlocal result
        result = yield HelloRequest(version, ciphers, server_name, want_certificate, offer)

    drive(opener, [once()], deadline, lambda: None)
    if isinstance(result, Rejected):
        raise result
    assert result is not None
    return result


@dataclass
class HelloRequest:
    """One ClientHello to send on a fresh connection."""

    version: int
    ciphers: list[int]
    server_name: str
    want_certificate: bool = False
    offer: dict[str, Any] = field(default_factory=dict)  # client_hello keywords


# A stream of handshakes that depend on each other's answers: it yields the next request and
# is sent the answer (ServerHello, or the Rejected refusal).
Stream = Generator[HelloRequest, "ServerHello | Rejected", None]
MAX_PARALLEL = 6  # connections open to one server at once


def drive(opener: Opener, streams: list[Stream], deadline: float, check: Callable[[], None],
          parallel: int = MAX_PARALLEL) -> None:
    """Run independent streams of handshakes concurrently, at most `parallel` connections at
    once. Each answer must be complete within the connection's timeout (however it trickles)
    and the probe's deadline, else ProbeTimeout; ProbeError from a bad answer propagates."""
    sel = selectors.DefaultSelector()
    live: dict[socket.socket, tuple[Stream, HelloRequest, list[bytes], float]] = {}
    queue = list(reversed(streams))

    def advance(stream: Stream, answer: ServerHello | Rejected | None) -> None:
        try:
            request = stream.send(answer)  # type: ignore[arg-type]
        except StopIteration:
            return
        check()
        sock = opener()
        try:
            timeout = sock.gettimeout()
            sock.sendall(client_hello(request.version, request.ciphers, request.server_name,
                                      **request.offer))
            sock.setblocking(False)
            sel.register(sock, selectors.EVENT_READ)
        except BaseException:
            sock.close()
            raise
        step = deadline if timeout is None else min(deadline, time.monotonic() + timeout)
        live[sock] = (stream, request, [], step)

    try:
        while queue and len(live) < parallel:
            advance(queue.pop(), None)
        while live:
            now = time.monotonic()
            soonest = min(entry[3] for entry in live.values())
            if now > soonest:
                raise ProbeTimeout("TLS server stalled mid-handshake" if soonest < deadline
                                   else "TLS server did not finish its answer in time")
            for key, _ in sel.select(timeout=max(0.0, min(soonest - now, 0.5))):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                stream, request, chunks, _step = live[sock]
                try:
                    chunk = sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    chunk = b""
                chunks.append(chunk)
                answer: ServerHello | Rejected | None
                try:
                    answer = parse_flight(b"".join(chunks), request.version, request.ciphers,
                                          request.want_certificate, eof=not chunk)
                except Rejected as exc:
                    answer = exc
                if answer is None:
                    continue
                sel.unregister(sock)
                sock.close()
                del live[sock]
                advance(stream, answer)
                while queue and len(live) < parallel:
                    advance(queue.pop(), None)
    finally:
        for sock in live:
            sock.close()
        sel.close()


@dataclass
class Enumeration:
    """What one protocol version accepts: suites in the order the server chose them, the key
    exchange it used with each, and the certificate chain (TLS <= 1.2)."""

    accepted: list[int] = field(default_factory=list)
    key_exchanges: dict[int, KeyExchange] = field(default_factory=dict)
    certificates: list[bytes] = field(default_factory=list)


def cipher_stream(version: int, offer: list[int], server_name: str, found: Enumeration) -> Stream:
    """Suites the server accepts among `offer` at `version`: offer them all, remove the chosen
    one, repeat until refused (one handshake per accepted suite, plus one)."""
    offer = list(offer)
    while offer:
        answer = yield HelloRequest(version, offer, server_name, want_certificate=not found.certificates)
        if isinstance(answer, Rejected):
            return
        found.accepted.append(answer.cipher)
        if answer.key_exchange is not None:
            found.key_exchanges[answer.cipher] = answer.key_exchange
        if answer.certificates and not found.certificates:
            found.certificates = answer.certificates
        offer.remove(answer.cipher)


def enumerate_ciphers(opener: Opener, version: int, server_name: str, deadline: float,
                      check: Callable[[], None], chunks: int = 1) -> Enumeration:
    """All cipher suites the server accepts at `version`. The suite list is split in `chunks`
    enumerated concurrently (the union is the same; fewer handshakes in a row)."""
    suites = list(TLS13_SUITES if version == TLS13 else LEGACY_SUITES)
    found = Enumeration()
    parts = [suites[i::chunks] for i in range(chunks)] if chunks > 1 else [suites]
    drive(opener, [cipher_stream(version, part, server_name, found) for part in parts], deadline, check)
    return found


def group_stream(version: int, suites: list[int], server_name: str, found: list[KeyExchange]) -> Stream:
    """Elliptic curves the server accepts for ECDHE at `version` (<= TLS 1.2), offering every
    known curve and removing the chosen one: one handshake per accepted curve, plus one."""
    offer = list(EC_GROUPS)
    while offer:
        answer = yield HelloRequest(version, suites, server_name, offer={"groups": list(offer)})
        if isinstance(answer, Rejected):
            return
        kx = answer.key_exchange
        chosen = next((g for g, (name, _) in GROUPS.items() if kx and name == kx.group), None)
        if kx is None or chosen not in offer:
            return
        found.append(kx)
        offer.remove(chosen)


def enumerate_groups(opener: Opener, version: int, suites: list[int], server_name: str,
                     deadline: float, check: Callable[[], None]) -> list[KeyExchange]:
    found: list[KeyExchange] = []
    drive(opener, [group_stream(version, suites, server_name, found)], deadline, check)
    return found


def sslv2_ciphers(opener: Opener, deadline: float) -> list[str]:
    """Cipher kinds an SSLv2 server offers; [] when it does not speak SSLv2."""
    specs = b"".join(k.to_bytes(3, "big") for k in SSL2_CIPHERS)
    challenge = os.urandom(16)
    body = b"\x01" + struct.pack("!HHHH", SSL2, len(specs), 0, len(challenge)) + specs + challenge
    record = struct.pack("!H", 0x8000 | len(body)) + body
    sock = opener()
    try:
        sock.sendall(record)
        reader = _Reader(sock, deadline)
        try:
            head = reader.take(2)
            if not head[0] & 0x80:
                return []
            length = ((head[0] & 0x7F) << 8) | head[1]
            msg = reader.take(min(length, MAX_FLIGHT // 2))
        except EOFError:
            return []
        if len(msg) < 11 or msg[0] != 4:
            return []
        cert_len, spec_len = struct.unpack("!HH", msg[5:9])
        raw = msg[11 + cert_len:11 + cert_len + spec_len]
        return [SSL2_CIPHERS.get(int.from_bytes(raw[i:i + 3], "big"), raw[i:i + 3].hex())
                for i in range(0, len(raw) - 2, 3)]
    finally:
        sock.close()


def _after_first_flight(opener: Opener, version: int, suites: list[int], server_name: str,
                        deadline: float, extra_extensions: bytes = b"") -> tuple[socket.socket, ServerHello]:
    """A connection left right after the server's ServerHelloDone (TLS <= 1.2), for the
    vulnerability tests below. The caller closes the socket. The ServerHello's `certificates`
    are the chain the server sent."""
    sock = opener()
    try:
        sock.sendall(client_hello(version, suites, server_name, extra_extensions=extra_extensions))
        reader = _Reader(sock, deadline)
        result: ServerHello | None = None
        chain: list[bytes] = []
        for mtype, body in _handshake_messages(reader, False):
            if mtype == 2:
                result = _parse_server_hello(body)
                if result.version != version:
                    raise Rejected("server answered another version")
            elif mtype == 11:
                chain = _parse_certificates(body)
            elif mtype == 14:
                if result is not None:
                    result.certificates = chain
                break
        if result is None:
            raise Rejected("no ServerHello")
        return sock, result
    except BaseException:
        sock.close()
        raise


def _first_record(sock: socket.socket, wait: float) -> tuple[int, bytes] | None:
    """The next record's type and body, or None when the server closes or says nothing in `wait`."""
    sock.settimeout(wait)
    reader = _Reader(sock, time.monotonic() + wait)
    try:
        ctype, _ver, length = struct.unpack("!BHH", reader.take(5))
        return ctype, reader.take(min(length, MAX_RECORD))
    except (EOFError, ProbeTimeout, OSError):
        return None


def heartbleed(opener: Opener, version: int, suites: list[int], server_name: str, deadline: float,
               wait: float) -> bool | None:
    """CVE-2014-0160, without reading the server's memory: a heartbeat request whose one-byte
    payload is ours but whose padding is missing. RFC 6520 servers drop it; vulnerable
    OpenSSL (which never checked the lengths) echoes it. None: heartbeats not offered."""
    ext = _ext(EXT_HEARTBEAT, b"\x01")
    try:
        sock, sh = _after_first_flight(opener, version, suites, server_name, deadline, ext)
    except Rejected:
        return None
    with sock:
        if EXT_HEARTBEAT not in sh.extensions:
            return False  # heartbeats not negotiated: nothing to exploit
        request = b"\x01" + struct.pack("!H", 1) + b"\x42"  # type, payload length 1, payload
        sock.sendall(b"\x18" + struct.pack("!H", version) + _u16(request))
        answer = _first_record(sock, wait)
    return answer is not None and answer[0] == 24


def ccs_injection(opener: Opener, version: int, suites: list[int], server_name: str,
                  deadline: float, wait: float) -> bool | None:
    """CVE-2014-0224: a ChangeCipherSpec before any key exchange, then a record that would only
    decrypt under the (empty) keys a vulnerable server switched to. A fixed server refuses the
    early ChangeCipherSpec (unexpected_message); a vulnerable one complains about the record
    (bad_record_mac / record_overflow / decryption_failed)."""
    try:
        sock, _sh = _after_first_flight(opener, version, suites, server_name, deadline)
    except Rejected:
        return None
    with sock:
        record_version = struct.pack("!H", version)
        sock.sendall(b"\x14" + record_version + _u16(b"\x01")
                     + b"\x15" + record_version + _u16(os.urandom(32)))
        answer = _first_record(sock, wait)
    if answer is None or answer[0] != 21 or len(answer[1]) < 2:
        return False
    return answer[1][1] in (20, 21, 22)


# ROBOT (Return Of Bleichenbacher's Oracle Threat): ClientKeyExchange messages whose RSA
# plaintexts are PKCS#1 v1.5 blocks, one well-formed and four malformed in the ways the ROBOT
# paper lists, each encrypted to the server's public key. Nothing is decrypted and no session is
# attacked: the test only looks at whether the server's answers tell the blocks apart.
ROBOT_PAYLOADS = ("valid", "wrong_first_two_bytes", "wrong_position_00", "no_00_in_the_middle",
                  "wrong_version_number")


def robot_block(kind: str, version: int, modulus_bytes: int) -> bytes:
    """The plaintext block of one ROBOT payload, `modulus_bytes` long."""
    pad = bytes(b % 255 + 1 for b in os.urandom(modulus_bytes - 51))  # non-zero padding
    pms = os.urandom(46)
    tls_version = struct.pack("!H", version)
    blocks = {
        "valid": b"\x00\x02" + pad + b"\x00" + tls_version + pms,
        "wrong_first_two_bytes": b"\x41\x17" + pad + b"\x00" + tls_version + pms,
        "wrong_position_00": b"\x00\x02" + pad + b"\x11" + pms + b"\x00\x11",
        "no_00_in_the_middle": b"\x00\x02" + pad + b"\x11\x11\x11" + pms,
        "wrong_version_number": b"\x00\x02" + pad + b"\x00\x02\x02" + pms,
    }
    return blocks[kind]


def robot_answer(opener: Opener, version: int, suites: list[int], server_name: str, deadline: float,
                 wait: float, encrypted: bytes) -> str:
    """How the server reacts to ClientKeyExchange(`encrypted`), ChangeCipherSpec and a bogus
    Finished: "alert N", "record N" (another record type), "closed" or "silent". Rejected when
    the server does not get as far as ServerHelloDone with these suites."""
    sock, _sh = _after_first_flight(opener, version, suites, server_name, deadline)
    with sock:
        record_version = struct.pack("!H", version)
        body = encrypted if version == SSL3 else _u16(encrypted)
        key_exchange = b"\x10" + struct.pack("!I", len(body))[1:] + body
        sock.sendall(b"\x16" + record_version + _u16(key_exchange)
                     + b"\x14" + record_version + _u16(b"\x01")
                     + b"\x16" + record_version + _u16(os.urandom(40)))
        sock.settimeout(wait)
        reader = _Reader(sock, time.monotonic() + wait)
        try:
            ctype, _ver, length = struct.unpack("!BHH", reader.take(5))
            payload = reader.take(min(length, MAX_RECORD))
        except (EOFError, ConnectionError):
            return "closed"
        except (ProbeTimeout, OSError):
            return "silent"
    if ctype == 21 and len(payload) >= 2:
        return f"alert {payload[1]}"
    return f"record {ctype}"


def robot(opener: Opener, version: int, rsa_suites: list[int], server_name: str, deadline: float,
          wait: float, rsa_key: Callable[[bytes], tuple[int, int] | None]) -> str:
    """"oracle" when the server answers the five ROBOT payloads differently, twice the same way;
    "no_oracle" when it answers them all alike; "inconsistent" when two rounds disagree (not
    established); "no_rsa_key" when its certificate for these suites has no RSA key.
    `rsa_suites`: static-RSA suites the server accepted at `version`; `rsa_key`: (modulus,
    exponent) of a DER certificate's RSA key, None for another key type."""
    sock, hello = _after_first_flight(opener, version, rsa_suites, server_name, deadline)
    sock.close()
    key = rsa_key(hello.certificates[0]) if hello.certificates else None
    if key is None:
        return "no_rsa_key"
    modulus, exponent = key
    size = (modulus.bit_length() + 7) // 8
    rounds: list[list[str]] = []
    for _ in range(2):
        answers = []
        for kind in ROBOT_PAYLOADS:
            block = int.from_bytes(robot_block(kind, version, size), "big")
            encrypted = pow(block, exponent, modulus).to_bytes(size, "big")
            answers.append(robot_answer(opener, version, rsa_suites, server_name, deadline, wait,
                                        encrypted))
        if len(set(answers)) == 1:
            return "no_oracle" if not rounds else "inconsistent"
        rounds.append(answers)
    return "oracle" if rounds[0] == rounds[1] else "inconsistent"
