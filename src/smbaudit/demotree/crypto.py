"""Private keys and certificates, generated with `cryptography` when the tree is built.

Misconfigured: an unencrypted world-readable TLS key, a world-readable SSH host key, a
1024-bit RSA key with an expired SHA-1 certificate, and a certificate expiring in 10 days.
Hardened: an EC P-256 key (0600) with a valid SHA-256 certificate and a passphrase-protected
signing key. Both trees carry a distribution-style CA link in /etc/ssl/certs (skipped).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from smbaudit.demotree._util import write

_SHA256_RSA = bytes.fromhex("06092a864886f70d01010b")  # OID 1.2.840.113549.1.1.11
_SHA1_RSA = bytes.fromhex("06092a864886f70d010105")    # OID 1.2.840.113549.1.1.5


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_len(len(body)) + body


def _cert(key, cn: str, not_before: dt.datetime, not_after: dt.datetime, *, ca: bool = False,
          sha1: bool = False) -> bytes:
    """A self-signed certificate (PEM). `sha1` re-signs it with SHA-1, which `cryptography`
    no longer creates, by swapping the same-length algorithm OID and signing the TBS bytes."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Demo Bakery Ltd")])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    if not sha1:
        return cert.public_bytes(serialization.Encoding.PEM)
    tbs = cert.tbs_certificate_bytes.replace(_SHA256_RSA, _SHA1_RSA, 1)
    signature = key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())
    alg = _tlv(0x30, _SHA1_RSA + b"\x05\x00")
    der = _tlv(0x30, tbs + alg + _tlv(0x03, b"\x00" + signature))
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


def _key_pem(key, fmt=serialization.PrivateFormat.PKCS8, passphrase: bytes | None = None) -> str:
    enc = (serialization.BestAvailableEncryption(passphrase) if passphrase
           else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, fmt, enc).decode()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def _ca_link(root: Path, now: dt.datetime) -> None:
    """An old SHA-1 root in the shared CA store, linked from /etc/ssl/certs as Debian does."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = _cert(key, "Demo Legacy Root CA", now - dt.timedelta(days=3650),
                now + dt.timedelta(days=3650), ca=True, sha1=True)
    dest = write(root, "/usr/share/ca-certificates/demo/Demo_Legacy_Root_CA.crt", pem.decode())
    link = root / "etc/ssl/certs/Demo_Legacy_Root_CA.pem"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        os.symlink("/usr/share/ca-certificates/demo/" + dest.name, link)


def build(root: Path, hardened: bool) -> list[str]:
    now = _now()
    _ca_link(root, now)
    if hardened:
        key = ec.generate_private_key(ec.SECP256R1())
        write(root, "/etc/ssl/private/shop.key", _key_pem(key), 0o600)
        write(root, "/etc/ssl/certs/shop.pem",
              _cert(key, "shop.demo.example", now - dt.timedelta(days=30),
                    now + dt.timedelta(days=300)).decode())
        signing = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        write(root, "/etc/ssl/private/archive-signing.key",
              _key_pem(signing, passphrase=b"demo passphrase, not a secret"), 0o600)
        host = ec.generate_private_key(ec.SECP256R1())
        write(root, "/etc/ssh/ssh_host_ecdsa_key",
              _key_pem(host, serialization.PrivateFormat.OpenSSH), 0o600)
        return []
    shop = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    write(root, "/etc/ssl/private/shop.key",
          _key_pem(shop, serialization.PrivateFormat.TraditionalOpenSSL), 0o644)
    write(root, "/etc/ssl/certs/intranet.pem",
          _cert(shop, "intranet.demo.example", now - dt.timedelta(days=355),
                now + dt.timedelta(days=10)).decode())
    legacy = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    write(root, "/etc/nginx/ssl/legacy.key", _key_pem(legacy), 0o600)
    write(root, "/etc/nginx/ssl/legacy.crt",
          _cert(legacy, "legacy.demo.example", dt.datetime(2019, 3, 1, tzinfo=dt.timezone.utc),
                dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc), sha1=True).decode())
    host = ec.generate_private_key(ec.SECP256R1())
    write(root, "/etc/ssh/ssh_host_ecdsa_key",
          _key_pem(host, serialization.PrivateFormat.OpenSSH), 0o644)
    return [
        "crypto.unencrypted-keys-protected",
        "crypto.private-keys-not-world-readable",
        "crypto.strong-keys",
        "crypto.cert-signature-strong",
        "crypto.cert-not-expired",
        "crypto.cert-expiry-30-days",
        "files.ssh-host-key-permissions",
    ]
