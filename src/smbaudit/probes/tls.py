"""TLS service probe: protocols, cipher suites per protocol, certificate chain, HSTS.

Protocols and ciphers come from hand-built ClientHellos (`_tlswire`), so legacy protocols the
local OpenSSL refuses (SSLv2, SSLv3, TLS 1.0/1.1) are still detected. STARTTLS is spoken on SMTP.
"""

from __future__ import annotations

import re
import socket
import ipaddress
import ssl
from collections.abc import Mapping
from typing import Any

from smbaudit.errors import ProbeError
from smbaudit.models import TargetKind
from smbaudit.probes import _certs, _tlswire, _wire
from smbaudit.probes._tls_ciphers import CIPHER_SUITES
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import ServiceTarget, Target

TLS_SERVICES = frozenset({"https", "https-alt", "ssl", "smtps", "submissions", "imaps", "pop3s",
                          "ldaps", "ftps", "ircs", "nntps", "xmpp-server", "ms-wbt-server"})
STARTTLS_SERVICES = frozenset({"smtp", "submission"})
HTTP_SERVICES = frozenset({"http", "https", "http-alt", "https-alt", "http-proxy"})
WEAK_CLASSES = ("null", "anonymous", "export", "rc4", "des", "3des", "md5", "legacy_cipher",
                "no_forward_secrecy", "cbc_legacy_protocol")
LEGACY = ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1")


def cipher_weaknesses(name: str, protocol: str) -> list[str]:
    """Weak classes of a cipher suite, from its IANA name, as used at `protocol`."""
    weak: list[str] = []
    n = name.upper()
    if "_WITH_NULL" in n or n.endswith("_NULL") or "NULL_WITH" in n:
        weak.append("null")
    if "_ANON_" in n:
        weak.append("anonymous")
    if "EXPORT" in n:
        weak.append("export")
    if "RC4" in n:
        weak.append("rc4")
    if "3DES" in n or "DES_192_EDE3" in n:
        weak.append("3des")
    elif re.search(r"_DES(40)?_|_DES_64_", n):
        weak.append("des")
    if n.endswith("_MD5"):
        weak.append("md5")
    if re.search(r"RC2|IDEA|SEED|GOST|_KRB5_", n):
        weak.append("legacy_cipher")
    tls13 = protocol == "TLSv1.3"
    if not tls13 and not re.match(r"^(TLS|SSL)_(ECDHE|DHE|CECPQ|ECCPWD)_", n):
        weak.append("no_forward_secrecy")
    if "CBC" in n and protocol in LEGACY:
        weak.append("cbc_legacy_protocol")
    return weak


class TlsProbe(Probe):
    """What a TLS service accepts and the certificate it presents.

    Facts: tls (bool: a TLS handshake succeeded), starttls (true/false on SMTP, else null),
    protocols.{SSLv2,SSLv3,TLSv1_0,TLSv1_1,TLSv1_2,TLSv1_3} (bool), accepted_protocols,
    legacy_protocols (accepted ones older than TLS 1.2), ciphers (list of {protocol, name, id, weak}),
    weak_ciphers (the ones with a weak class), by_class.<class> (names of accepted ciphers of
    that class: null anonymous export rc4 des 3des md5 legacy_cipher no_forward_secrecy
    cbc_legacy_protocol), certificate (see `_certs.analyse`: expired, not_yet_valid, days_left,
    self_signed, trusted, trust_error, hostname_match, key_type, key_bits, rsa_key_bits,
    ec_key_bits, signature_hash, weak_signatures...), https (bool), hsts (null unless https:
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
        try:
            for version, pname in sorted(_tlswire.PROTOCOL_NAMES.items(), key=lambda kv: -kv[0]):
                if pname not in wanted:
                    continue
                if version == _tlswire.SSL2:
                    names = _tlswire.sslv2_ciphers(opener, ctx.deadline)
                    protocols[pname] = bool(names)
                    ciphers += [_cipher(pname, n, None) for n in names]
                    continue
                suites, certs = _tlswire.enumerate_ciphers(opener, version, sni, ctx.deadline,
                                                            ctx.check_deadline)
                protocols[pname] = bool(suites)
                ciphers += [_cipher(pname, CIPHER_SUITES.get(c, f"0x{c:04X}"), c) for c in suites]
                if certs and not chain:
                    chain = certs
        except _NoStartTls:
            return {"tls": False, "starttls": False, "endpoint": target.endpoint, "protocols": {},
                    "accepted_protocols": [], "legacy_protocols": [], "ciphers": [],
                    "weak_ciphers": [], "by_class": {}, "certificate": None, "https": False,
                    "hsts": None, "handshakes": count}
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
            "legacy_protocols": [p for p in accepted if p in LEGACY],
            "ciphers": ciphers,
            "weak_ciphers": [c for c in ciphers if c["weak"]],
            "by_class": {k: sorted({f"{c['protocol']} {c['name']}" for c in ciphers if k in c["weak"]})
                         for k in WEAK_CLASSES},
            "certificate": _certificate(chain, target.hostname, ctx),
            "https": https,
            "hsts": None,
            "handshakes": count,
        }
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


def _cipher(protocol: str, name: str, code: int | None) -> dict[str, Any]:
    return {"protocol": protocol, "name": name, "id": f"0x{code:04X}" if code is not None else None,
            "weak": cipher_weaknesses(name, protocol)}


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

