"""TLS service probe: protocols, cipher suites per protocol, certificate chain, HSTS.

Protocols and ciphers come from hand-built ClientHellos (`_tlswire`), so legacy protocols the
local OpenSSL refuses (SSLv2, SSLv3, TLS 1.0/1.1) are still detected. STARTTLS is spoken on SMTP.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import struct
from collections.abc import Mapping
from typing import Any

from smbaudit.errors import ProbeError, ProbeTimeout
from smbaudit.models import TargetKind
from smbaudit.probes import _certs, _tlswire, _wire
from smbaudit.probes._tls_ciphers import CIPHER_SUITES
from smbaudit.probes import factschema as fs
from smbaudit.probes.base import Facts, Probe, ProbeContext, mark_unreadable
from smbaudit.targets.base import ServiceTarget, Target

TLS_SERVICES = frozenset({"https", "https-alt", "ssl", "smtps", "submissions", "imaps", "pop3s",
                          "ldaps", "ftps", "ircs", "nntps", "xmpp-server", "ms-wbt-server"})
STARTTLS_SERVICES = frozenset({"smtp", "submission"})
HTTP_SERVICES = frozenset({"http", "https", "http-alt", "https-alt", "http-proxy"})
CHUNKS = 3  # parts of the legacy suite list enumerated concurrently per protocol version


_CIPHERS = fs.list_of(fs.record(protocol=fs.STR, name=fs.STR, id=fs.nullable(fs.STR),
                                kex=fs.nullable(fs.STR),
                                kex_bits=fs.nullable(fs.INT), kex_group=fs.nullable(fs.STR)))


class TlsProbe(Probe):
    """What a TLS service accepts and the certificate it presents.

    Facts: tls (bool: a TLS handshake succeeded), starttls (true/false on SMTP, else null),
    protocols.{SSLv2,SSLv3,TLSv1_0,TLSv1_1,TLSv1_2,TLSv1_3} (bool), accepted_protocols (names;
    which versions are too old is for the checks to say),
    ciphers (list of {protocol, name, id, kex, kex_bits, kex_group}: name is the IANA name, kex
    is "DH" or "ECDH" for ephemeral key exchanges, with the group the server used), suites
    (every accepted suite as "protocol IANA-name", sorted: which of them are weak is decided by
    the checks, from the names), dh_groups (list of {name, bits}: each DHE suite and the
    size of its group), curves (list of {name, bits}: named curves accepted for ECDHE),
    server_preference.<protocol> (true: the server picks the suite; false: the client does;
    null: fewer than two suites), no_server_preference (protocols where the client picks),
    secure_renegotiation, compression, fallback_scsv, ocsp_stapling, heartbleed (CVE-2014-0160),
    ccs_injection (CVE-2014-0224), robot (a Bleichenbacher padding oracle: the five ROBOT
    ClientKeyExchange payloads answered differently, twice alike) (bool, or null when not
    testable: no protocol up to TLS 1.2, a single protocol version, no static-RSA suite or RSA
    key; the vulnerability tests are safe: no server memory is read, nothing is decrypted and no
    session is attacked; ROBOT answers that change between two rounds leave `robot` unreadable), certificate (see `_certs.analyse`: expired, not_yet_valid, days_left,
    self_signed, trusted, trust_error, hostname_match, key_type, key_bits, rsa_key_bits,
    ec_key_bits, signature_hash, signatures (the chain signatures clients rely on: {name,
    hash})...), https (bool), hsts (null unless https:
    {present, max_age, include_subdomains, header}), handshakes (count), endpoint.
    """

    name = "tls"
    description = "TLS protocols, cipher suites, certificate chain and HSTS of a service"
    target_kinds = frozenset({TargetKind.SERVICE})
    services = TLS_SERVICES | STARTTLS_SERVICES
    params_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "protocols": {"type": "array", "items": {"enum": ["SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1",
                                                             "TLSv1.2", "TLSv1.3"]}},
            "hsts": {"type": "boolean"},
        },
    }

    def service_matches(self, target: Target) -> bool:
        service = getattr(target, "service", "")
        return getattr(target, "tunnel", "") == "ssl" or service in self.services

    _by_protocol = {p.replace(".", "_") for p in _tlswire.PROTOCOL_NAMES.values()}
    _sized = fs.list_of(fs.record(name=fs.STR, bits=fs.nullable(fs.INT)))
    facts = fs.record(
        tls=fs.BOOL, starttls=fs.nullable(fs.BOOL), endpoint=fs.STR,
        # protocol -> accepted; dots become underscores (TLSv1_2); empty without TLS
        protocols=fs.record_of({}, optional={p: fs.BOOL for p in sorted(_by_protocol)}),
        accepted_protocols=fs.list_of(fs.STR),
        ciphers=_CIPHERS, suites=fs.list_of(fs.STR),
        dh_groups=_sized, curves=_sized,
        server_preference=fs.record_of({}, optional={p: fs.nullable(fs.BOOL)
                                                     for p in sorted(_by_protocol)}),
        no_server_preference=fs.list_of(fs.STR),
        secure_renegotiation=fs.nullable(fs.BOOL), compression=fs.nullable(fs.BOOL),
        fallback_scsv=fs.nullable(fs.BOOL), ocsp_stapling=fs.nullable(fs.BOOL),
        heartbleed=fs.nullable(fs.BOOL), ccs_injection=fs.nullable(fs.BOOL), robot=fs.nullable(fs.BOOL),
        certificate=fs.nullable(_certs.CERTIFICATE_FACTS), https=fs.BOOL,
        hsts=fs.nullable(fs.record(present=fs.BOOL, optional={
            "max_age": fs.INT, "include_subdomains": fs.BOOL, "header": fs.nullable(fs.STR),
            "status": fs.INT, "error": fs.STR})),
        handshakes=fs.INT,
    )
    del _by_protocol, _sized

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        if not isinstance(target, ServiceTarget):
            raise ProbeError(f"{target.name} is not a network service")
        starttls = target.service in STARTTLS_SERVICES and target.tunnel != "ssl"
        count = 0

        def opener() -> socket.socket:
            nonlocal count
            ctx.check_deadline()
            count += 1
            sock = target.connect(ctx.io_timeout())
            if starttls:
                try:
                    if not _wire.smtp_starttls(sock, ctx.deadline):
                        raise _NoStartTls
                except BaseException:
                    sock.close()
                    raise
            return sock

        sni = target.hostname if target.hostname and not _is_ip(target.hostname) else ""
        wanted = params.get("protocols") or list(_tlswire.PROTOCOL_NAMES.values())
        protocols: dict[str, bool] = {}
        ciphers: list[dict[str, Any]] = []
        chain: list[bytes] = []
        suites: dict[int, list[int]] = {}  # version -> accepted suites, in the server's order
        try:
            found: dict[int, _tlswire.Enumeration] = {}
            streams: list[_tlswire.Stream] = []
            for version, pname in sorted(_tlswire.PROTOCOL_NAMES.items(), key=lambda kv: -kv[0]):
                if pname not in wanted or version == _tlswire.SSL2:
                    continue
                found[version] = _tlswire.Enumeration()
                offer = _tlswire.TLS13_SUITES if version == _tlswire.TLS13 else _tlswire.LEGACY_SUITES
                parts = 1 if version == _tlswire.TLS13 else CHUNKS
                streams += [_tlswire.cipher_stream(version, offer[i::parts], sni, found[version])
                            for i in range(parts)]
            # every protocol version, and parts of each suite list, enumerated concurrently
            _tlswire.drive(opener, streams, ctx.deadline, ctx.check_deadline)
            for version, pname in sorted(_tlswire.PROTOCOL_NAMES.items(), key=lambda kv: -kv[0]):
                if pname not in wanted:
                    continue
                if version == _tlswire.SSL2:
                    names = _tlswire.sslv2_ciphers(opener, ctx.deadline)
                    protocols[pname] = bool(names)
                    ciphers += [_cipher(pname, n, None, None) for n in names]
                    continue
                enum = found[version]
                protocols[pname] = bool(enum.accepted)
                suites[version] = enum.accepted
                ciphers += [_cipher(pname, CIPHER_SUITES.get(c, f"0x{c:04X}"), c, enum.key_exchanges.get(c))
                            for c in enum.accepted]
                if enum.certificates and not chain:
                    chain = enum.certificates
            extras = _extras(opener, suites, sni, ctx)
            robot = _robot(opener, suites, sni, ctx)
        except _NoStartTls:
            return {"tls": False, "starttls": False, "endpoint": target.endpoint, "protocols": {},
                    "accepted_protocols": [],
                    "ciphers": [], "suites": [], "dh_groups": [], "curves": [],
                    "server_preference": {}, "no_server_preference": [],
                    "secure_renegotiation": None, "compression": None, "fallback_scsv": None,
                    "ocsp_stapling": None, "heartbleed": None, "ccs_injection": None, "robot": None,
                    "certificate": None, "https": False, "hsts": None,
                    "handshakes": count}
        accepted = [p for p in _tlswire.PROTOCOL_NAMES.values() if protocols.get(p)]
        if not accepted:
            raise ProbeError(f"{target.endpoint}: no TLS/SSL protocol version was accepted")
        if not chain and protocols.get("TLSv1.3"):
            chain = self._leaf_via_ssl(target, ctx, opener)
        https = target.service in HTTP_SERVICES or target.service.startswith("http")
        facts: Facts = {
            "tls": True,
            "starttls": True if starttls else None,
            "endpoint": target.endpoint,
            "protocols": {_key(p): protocols.get(p, False) for p in _tlswire.PROTOCOL_NAMES.values()},
            "accepted_protocols": accepted,
            "ciphers": ciphers,
            "suites": sorted({f"{c['protocol']} {c['name']}" for c in ciphers}),
            "dh_groups": [{"name": f"{c['protocol']} {c['name']}", "bits": c["kex_bits"]}
                          for c in ciphers if c["kex"] == "DH"],
            **extras,
            "robot": True if robot == "oracle" else False if robot == "no_oracle" else None,
            "certificate": _certificate(chain, target.hostname, ctx),
            "https": https,
            "hsts": None,
            "handshakes": count,
        }
        if robot == "inconsistent":
            mark_unreadable(facts, ["robot"], "the server's answers to the ROBOT test changed "
                                              "between two rounds: not established either way")
        elif robot and robot.startswith("failed: "):
            mark_unreadable(facts, ["robot"], f"the ROBOT test could not finish ({robot[8:]})")
        if https and params.get("hsts", True):
            facts["hsts"] = self._hsts(target, ctx, opener)
        return facts

    def _leaf_via_ssl(self, target: ServiceTarget, ctx: ProbeContext, opener: Any) -> list[bytes]:
        """TLS 1.3 encrypts the Certificate message: get the leaf from a real handshake."""
        with opener() as raw:
            with _wire.permissive_tls_context().wrap_socket(
                    raw, server_hostname=target.hostname or None) as tls:
                der = tls.getpeercert(binary_form=True)
        return [der] if der else []

    def _hsts(self, target: ServiceTarget, ctx: ProbeContext, opener: Any) -> dict[str, Any]:
        raw = opener()
        try:
            tls = _wire.permissive_tls_context().wrap_socket(
                raw, server_hostname=target.hostname or None)
        except (ssl.SSLError, OSError) as exc:
            raw.close()
            return {"present": False, "error": f"HTTPS request failed: {exc}"}
        with tls:
            resp = _wire.http_get(tls, _wire.host_header(target.address, target.port, target.hostname,
                                                          443), "/", ctx.deadline)
        value = resp.header("strict-transport-security")
        if value is None:
            return {"present": False, "max_age": 0, "include_subdomains": False, "header": None,
                    "status": resp.status}
        m = re.search(r"max-age\s*=\s*\"?(\d+)", value, re.I)
        return {"present": True, "max_age": int(m.group(1)) if m else 0,
                "include_subdomains": "includesubdomains" in value.lower(), "header": value,
                "status": resp.status}


class _NoStartTls(Exception):
    """The SMTP server does not offer STARTTLS."""


def _cipher(protocol: str, name: str, code: int | None,
            kx: _tlswire.KeyExchange | None) -> dict[str, Any]:
    return {"protocol": protocol, "name": name, "id": f"0x{code:04X}" if code is not None else None,
            "kex": kx.kind if kx else None,
            "kex_bits": kx.bits if kx else None, "kex_group": (kx.group or None) if kx else None}


_STATUS_REQUEST = struct.pack("!HH", _tlswire.EXT_STATUS_REQUEST, 5) + b"\x01\x00\x00\x00\x00"


def _extras(opener: Any, suites: dict[int, list[int]], sni: str, ctx: ProbeContext) -> dict[str, Any]:
    """Server cipher preference per protocol, curves, renegotiation, compression, OCSP stapling,
    TLS_FALLBACK_SCSV, Heartbleed and CCS injection: more handshakes with suites the server is
    known to accept, run concurrently."""
    TLS12, Rejected = _tlswire.TLS12, _tlswire.Rejected
    answers: dict[str, Any] = {}
    preference: dict[str, bool | None] = {}
    streams: list[_tlswire.Stream] = []

    def one(key: str, request: _tlswire.HelloRequest) -> _tlswire.Stream:
        answers[key] = yield request

    def order(version: int, accepted: list[int]) -> _tlswire.Stream:
        """True: the server picks the same suite whatever the client's order; False: it takes
        the client's first choice; None: fewer than two suites or mixed answers."""
        key = _key(_tlswire.PROTOCOL_NAMES[version])
        preference[key] = None
        if len(accepted) < 2:
            return
        first = yield _tlswire.HelloRequest(version, accepted, sni)
        second = yield _tlswire.HelloRequest(version, list(reversed(accepted)), sni)
        if isinstance(first, Rejected) or isinstance(second, Rejected):
            return
        if first.cipher == second.cipher:
            preference[key] = True
        elif first.cipher == accepted[0] and second.cipher == accepted[-1]:
            preference[key] = False

    for version, accepted in suites.items():
        streams.append(order(version, accepted))
    legacy = [v for v in sorted(suites, reverse=True) if v <= TLS12 and suites[v]]
    curves: list[_tlswire.KeyExchange] = []
    curves13: list[_tlswire.KeyExchange] = []
    top = legacy[0] if legacy else None
    if top is not None:
        streams.append(one("status", _tlswire.HelloRequest(top, suites[top], sni,
                                                           offer={"extra_extensions": _STATUS_REQUEST})))
        streams.append(one("compression", _tlswire.HelloRequest(top, suites[top], sni,
                                                                offer={"compression": b"\x01\x00"})))
        ecdhe = [c for c in suites[top] if "_ECDHE_" in CIPHER_SUITES.get(c, "")]
        if ecdhe:
            streams.append(_tlswire.group_stream(top, ecdhe, sni, curves))
    if suites.get(_tlswire.TLS13):
        # In TLS 1.2 an ECDSA certificate's own curve must stay offered, which hides the other
        # curves from the enumeration; TLS 1.3 groups are free of that (HelloRetryRequest counts).
        streams.append(_tlswire.group_stream(_tlswire.TLS13, suites[_tlswire.TLS13], sni, curves13))
    accepted_versions = [v for v in sorted(suites, reverse=True) if suites[v]]
    lower = accepted_versions[1] if len(accepted_versions) >= 2 else None
    if lower is not None and lower <= TLS12:
        streams.append(one("fallback", _tlswire.HelloRequest(
            lower, [*suites[lower], _tlswire.FALLBACK_SCSV], sni)))
    _tlswire.drive(opener, streams, ctx.deadline, ctx.check_deadline)

    status, compressed, fallback = answers.get("status"), answers.get("compression"), answers.get("fallback")
    out: dict[str, Any] = {
        "server_preference": preference,
        "no_server_preference": [p.replace("_", ".") for p, v in preference.items() if v is False],
        "secure_renegotiation": None, "compression": None, "fallback_scsv": None,
        "ocsp_stapling": None,
        "curves": [{"name": n, "bits": b} for n, b in dict((k.group, k.bits) for k in curves + curves13).items()],
        "heartbleed": None, "ccs_injection": None,
    }
    if top is not None:
        if isinstance(status, _tlswire.ServerHello):
            out["secure_renegotiation"] = _tlswire.EXT_RENEGOTIATION_INFO in status.extensions
            out["ocsp_stapling"] = status.ocsp_stapled
        out["compression"] = isinstance(compressed, _tlswire.ServerHello) and compressed.compression != 0
        wait = min(ctx.io_timeout(), 2.0)  # a vulnerable server answers at once
        out["heartbleed"] = _tlswire.heartbleed(opener, top, suites[top], sni, ctx.deadline, wait)
        out["ccs_injection"] = _tlswire.ccs_injection(opener, top, suites[top], sni, ctx.deadline, wait)
    if fallback is not None:
        out["fallback_scsv"] = isinstance(fallback, Rejected) and fallback.alert == 86  # inappropriate_fallback
    return out


_STATIC_RSA = re.compile(r"^TLS_RSA_WITH_")


def _robot(opener: Any, suites: dict[int, list[int]], sni: str, ctx: ProbeContext) -> str | None:
    """The ROBOT test (see `_tlswire.robot`) at the newest protocol up to TLS 1.2 where the
    server accepted static-RSA suites; None when there is none; "failed: WHY" when a connection
    of the test stalled or broke (the rest of the probe's facts stand)."""
    for version in sorted((v for v in suites if v <= _tlswire.TLS12 and v != _tlswire.SSL2), reverse=True):
        rsa_suites = [c for c in suites[version] if _STATIC_RSA.match(CIPHER_SUITES.get(c, ""))]
        if rsa_suites:
            wait = min(ctx.io_timeout(), 2.0)  # an answer to a bad key exchange comes at once
            try:
                result = _tlswire.robot(opener, version, rsa_suites, sni, ctx.deadline, wait,
                                        _certs.rsa_public_numbers)
            except _tlswire.Rejected:
                return None
            except (ProbeTimeout, ProbeError, OSError) as exc:
                if ctx.remaining() <= 0:
                    raise
                return f"failed: {exc}"
            return None if result == "no_rsa_key" else result
    return None


def _certificate(chain: list[bytes], hostname: str, ctx: ProbeContext) -> dict[str, Any] | None:
    if not chain:
        return None
    try:
        return _certs.analyse(chain, hostname, anchors=_anchors(ctx))
    except ValueError as exc:  # a certificate cryptography cannot parse
        raise ProbeError(f"unparseable certificate from server: {exc}") from None


def _key(protocol: str) -> str:
    """Fact key for a protocol name: dots would split the fact path (TLSv1.2 -> TLSv1_2)."""
    return protocol.replace(".", "_")


def _anchors(ctx: ProbeContext) -> list[Any]:
    """Scan-wide extra trust anchors: ctx.options["ca_file"] (a private CA, PEM)."""
    path = ctx.options.get("ca_file")
    if not path:
        return []
    try:
        return _certs.load_anchors(str(path))
    except ValueError as exc:
        raise ProbeError(str(exc)) from None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False

