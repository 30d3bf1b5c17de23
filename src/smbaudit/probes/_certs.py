"""Certificate chain facts with `cryptography`: validity, trust, host name, key and signatures."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import warnings
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

from smbaudit.probes import factschema as fs

_CA_FILES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")
_store: dict[bytes, list[x509.Certificate]] | None = None


def _trust_store() -> dict[bytes, list[x509.Certificate]]:
    """The system's CA certificates, indexed by subject (DER), loaded once."""
    global _store
    if _store is None:
        store: dict[bytes, list[x509.Certificate]] = {}
        paths = [ssl.get_default_verify_paths().cafile or "", *_CA_FILES]
        for path in paths:
            if path and Path(path).is_file():
                try:
                    with warnings.catch_warnings():  # some shipped roots have odd serials
                        warnings.simplefilter("ignore")
                        certs = x509.load_pem_x509_certificates(Path(path).read_bytes())
                except ValueError:
                    continue
                for cert in certs:
                    store.setdefault(cert.subject.public_bytes(), []).append(cert)
                break
        _store = store
    return _store


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether `issuer`'s key signed `cert` (also for SHA-1/MD5 signatures, which
    `verify_directly_issued_by` refuses to check)."""
    if cert.issuer != issuer.subject:
        return False
    key = issuer.public_key()
    try:
        algo = cert.signature_hash_algorithm
        if isinstance(key, rsa.RSAPublicKey) and algo is not None:
            pad = cert.signature_algorithm_parameters
            key.verify(cert.signature, cert.tbs_certificate_bytes,
                       pad if isinstance(pad, padding.PSS) else padding.PKCS1v15(), algo)
        elif isinstance(key, ec.EllipticCurvePublicKey) and algo is not None:
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algo))
        else:
            cert.verify_directly_issued_by(issuer)
        return True
    except Exception:  # InvalidSignature, UnsupportedAlgorithm, odd keys: not issued by it
        return False


def rsa_public_numbers(der: bytes) -> tuple[int, int] | None:
    """(modulus, exponent) of a DER certificate's RSA key; None for another key or bad DER."""
    try:
        key = x509.load_der_x509_certificate(der).public_key()
    except ValueError:
        return None
    if not isinstance(key, rsa.RSAPublicKey):
        return None
    numbers = key.public_numbers()
    return numbers.n, numbers.e


def _key(cert: x509.Certificate) -> tuple[str, int | None]:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ec", key.curve.key_size
    if isinstance(key, dsa.DSAPublicKey):
        return "dsa", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "ed448", 456
    return type(key).__name__.lower(), None


def _sig_hash(cert: x509.Certificate) -> str:
    try:
        algo = cert.signature_hash_algorithm
    except Exception:  # unsupported algorithm OID
        return "unknown"
    return algo.name if algo is not None else "none"  # ed25519/ed448 sign without a separate hash


def _names(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return san.get_values_for_type(x509.DNSName), [str(a) for a in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        return [], []


def _cn(name: x509.Name) -> str:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else ""


def hostname_matches(cert: x509.Certificate, hostname: str) -> bool:
    """RFC 6125 matching: SAN DNS names (left-most wildcard label) or IP SANs; CN only without SAN."""
    dns, ips = _names(cert)
    try:
        ip = ipaddress.ip_address(hostname)
        return str(ip) in {str(ipaddress.ip_address(a)) for a in ips}
    except ValueError:
        pass
    host = hostname.rstrip(".").lower()
    candidates = dns or ([_cn(cert.subject)] if _cn(cert.subject) else [])
    for pattern in (p.rstrip(".").lower() for p in candidates):
        if pattern == host:
            return True
        if pattern.startswith("*.") and "." in host:
            if host.split(".", 1)[1] == pattern[2:] and pattern.count(".") >= 2:
                return True
    return False


def load_anchors(path: str) -> list[x509.Certificate]:
    """Extra trust anchors (a private CA) from a PEM file."""
    try:
        return x509.load_pem_x509_certificates(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read CA file {path}: {exc}") from None


# The facts `analyse` returns, for the probes' `facts` schemas.
CERTIFICATE_FACTS = fs.record(
    subject=fs.STR, issuer=fs.STR, common_name=fs.nullable(fs.STR), san_dns=fs.list_of(fs.STR),
    san_ip=fs.list_of(fs.STR), serial=fs.STR, not_before=fs.STR, not_after=fs.STR,
    expired=fs.BOOL, not_yet_valid=fs.BOOL, days_left=fs.INT, self_signed=fs.BOOL,
    trusted=fs.BOOL, trust_error=fs.STR, hostname=fs.nullable(fs.STR),
    hostname_match=fs.nullable(fs.BOOL), key_type=fs.STR, key_bits=fs.nullable(fs.INT),
    signature_hash=fs.STR,
    signatures=fs.list_of(fs.record(name=fs.STR, hash=fs.STR)),
    ocsp_responders=fs.list_of(fs.STR), chain_length=fs.INT,
    chain=fs.list_of(fs.record(subject=fs.STR, issuer=fs.STR, signature_hash=fs.STR,
                               not_after=fs.STR)),
    optional={"rsa_key_bits": fs.nullable(fs.INT), "ec_key_bits": fs.nullable(fs.INT)},
)


def analyse(chain_der: list[bytes], hostname: str = "", now: dt.datetime | None = None,
            anchors: list[x509.Certificate] | None = None) -> dict[str, Any]:
    """Facts about a presented chain (leaf first). `hostname` empty: name matching not judged.
    `anchors` are trusted in addition to the system CA store."""
    now = now or dt.datetime.now(dt.timezone.utc)
    chain = [x509.load_der_x509_certificate(d) for d in chain_der]
    leaf = chain[0]
    key_type, key_bits = _key(leaf)
    dns, ips = _names(leaf)
    not_before, not_after = leaf.not_valid_before_utc, leaf.not_valid_after_utc
    self_signed = leaf.issuer == leaf.subject and _issued_by(leaf, leaf)
    trusted, trust_error = _verify_chain(chain, now, anchors or [])
    # The signatures a client relies on: every certificate's but a root's own (self-issued,
    # not the leaf); which hashes are too weak is for the checks to say.
    relied = [{"name": c.subject.rfc4514_string(), "hash": _sig_hash(c)}
              for c in chain if not (c is not leaf and c.issuer == c.subject)]
    return {
        "subject": leaf.subject.rfc4514_string(),
        "issuer": leaf.issuer.rfc4514_string(),
        "common_name": _cn(leaf.subject),
        "san_dns": dns,
        "san_ip": ips,
        "serial": format(leaf.serial_number, "x"),
        "not_before": not_before.isoformat(),
        "not_after": not_after.isoformat(),
        "expired": now > not_after,
        "not_yet_valid": now < not_before,
        "days_left": (not_after - now).days,
        "self_signed": self_signed,
        "trusted": trusted,
        "trust_error": trust_error,
        "hostname": hostname or None,
        "hostname_match": hostname_matches(leaf, hostname) if hostname else None,
        "key_type": key_type,
        "key_bits": key_bits,
        **({"rsa_key_bits": key_bits} if key_type == "rsa" else {}),
        **({"ec_key_bits": key_bits} if key_type == "ec" else {}),
        "signature_hash": _sig_hash(leaf),
        "signatures": relied,
        "ocsp_responders": _ocsp_responders(leaf),
        "chain_length": len(chain),
        "chain": [{"subject": c.subject.rfc4514_string(), "issuer": c.issuer.rfc4514_string(),
                   "signature_hash": _sig_hash(c), "not_after": c.not_valid_after_utc.isoformat()}
                  for c in chain],
    }


def _ocsp_responders(cert: x509.Certificate) -> list[str]:
    """OCSP responder URLs from the Authority Information Access extension."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    return [str(d.access_location.value) for d in aia
            if d.access_method == x509.oid.AuthorityInformationAccessOID.OCSP][:4]


def _verify_chain(chain: list[x509.Certificate], now: dt.datetime,
                  anchors: list[x509.Certificate]) -> tuple[bool, str]:
    """Walk issuer links from the leaf to a system CA, checking signatures and validity dates."""
    store = dict(_trust_store())
    for anchor in anchors:
        store[anchor.subject.public_bytes()] = [*store.get(anchor.subject.public_bytes(), []), anchor]
    if not store:
        return False, "no system CA store found"
    current = chain[0]
    for _ in range(10):
        if not current.not_valid_before_utc <= now <= current.not_valid_after_utc:
            return False, f"certificate outside its validity period: {current.subject.rfc4514_string()}"
        for ca in store.get(current.issuer.public_bytes(), []):
            if _issued_by(current, ca):
                return True, ""
        nxt = next((c for c in chain[1:] if c.subject == current.issuer and c is not current
                    and _issued_by(current, c)), None)
        if nxt is None:
            if current.issuer == current.subject:
                return False, "self-signed certificate not in the system trust store"
            return False, f"issuer not found: {current.issuer.rfc4514_string()}"
        current = nxt
    return False, "chain too long"
