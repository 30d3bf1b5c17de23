"""Private keys and certificates on disk, parsed with `cryptography`.

Only properties are reported (type, size, whether a passphrase protects the key, file mode,
certificate names and dates), never key material.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import fnmatch
import re
import struct
import warnings
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa

from smbaudit.errors import BudgetExceeded, FileTooLarge, ProbeError
from smbaudit.models import TargetKind
from smbaudit.probes import factschema as fs
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.probes.os_release import today_from
from smbaudit.targets.base import FileStat, HostTarget, Target

DEFAULT_PATHS = [
    "/etc/ssl/private/*",
    "/etc/ssl/certs/*.pem",
    "/etc/pki/tls/private/*",
    "/etc/pki/tls/certs/*",
    "/etc/ssh/ssh_host_*_key",
    "/etc/nginx/**/*.pem", "/etc/nginx/**/*.key", "/etc/nginx/**/*.crt",
    "/etc/apache2/**/*",
    "/etc/httpd/**/*.pem", "/etc/httpd/**/*.key", "/etc/httpd/**/*.crt",
    "/etc/letsencrypt/live/**",
]
# The distributions' CA bundles: links into /usr/share/ca-certificates or /etc/pki/ca-trust.
DEFAULT_EXCLUDE = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle*",
                   "/etc/pki/tls/cert.pem"]
DEFAULT_SKIP_LINKS_UNDER = ["/etc/ssl/certs/", "/etc/pki/tls/certs/"]
KEY_GROUPS = ("root", "ssl-cert", "ssh_keys")
MAX_FILE = 1024 * 1024
MAX_FILES = 5000
KEY_TYPES = ("rsa", "dsa", "ec", "ed25519", "ed448", "other")  # keys_by_type groups

_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)


def _ssh_string(buf: bytes, pos: int) -> tuple[bytes, int]:
    (length,) = struct.unpack(">I", buf[pos:pos + 4])
    return buf[pos + 4:pos + 4 + length], pos + 4 + length


def openssh_key_info(body: bytes) -> dict[str, Any]:
    """Type, size and encryption of an OPENSSH PRIVATE KEY from its cleartext header."""
    blob = base64.b64decode(re.sub(rb"\s+", b"", body))
    magic = b"openssh-key-v1\x00"
    if not blob.startswith(magic):
        raise ValueError("not an openssh-key-v1 key")
    pos = len(magic)
    cipher, pos = _ssh_string(blob, pos)
    _kdf, pos = _ssh_string(blob, pos)
    _kdfopts, pos = _ssh_string(blob, pos)
    pos += 4  # number of keys
    pub, _ = _ssh_string(blob, pos)
    ktype, p = _ssh_string(pub, 0)
    name = ktype.decode("ascii", "replace")
    info: dict[str, Any] = {"encrypted": cipher != b"none", "bits": None, "curve": None}
    if name == "ssh-rsa":
        _e, p = _ssh_string(pub, p)
        n, _ = _ssh_string(pub, p)
        info.update(key_type="rsa", bits=int.from_bytes(n, "big").bit_length())
    elif name == "ssh-dss":
        prime, _ = _ssh_string(pub, p)
        info.update(key_type="dsa", bits=int.from_bytes(prime, "big").bit_length())
    elif name.startswith("ecdsa-sha2-"):
        curve = name.removeprefix("ecdsa-sha2-")
        info.update(key_type="ec", curve={"nistp256": "secp256r1", "nistp384": "secp384r1",
                                          "nistp521": "secp521r1"}.get(curve, curve),
                    bits={"nistp256": 256, "nistp384": 384, "nistp521": 521}.get(curve))
    elif name in ("ssh-ed25519", "sk-ssh-ed25519@openssh.com"):
        info.update(key_type="ed25519", bits=256)
    else:
        info.update(key_type=name)
    return info


with warnings.catch_warnings():  # cryptography deprecates DSA; hosts still hold DSA keys
    warnings.simplefilter("ignore")
    _DSA_KEYS = (dsa.DSAPublicKey, dsa.DSAPrivateKey)


def public_key_info(key: Any) -> dict[str, Any]:
    if isinstance(key, (rsa.RSAPublicKey, rsa.RSAPrivateKey)):
        return {"key_type": "rsa", "bits": key.key_size, "curve": None}
    if isinstance(key, _DSA_KEYS):
        return {"key_type": "dsa", "bits": key.key_size, "curve": None}
    if isinstance(key, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)):
        return {"key_type": "ec", "bits": key.curve.key_size, "curve": key.curve.name}
    if isinstance(key, (ed25519.Ed25519PublicKey, ed25519.Ed25519PrivateKey)):
        return {"key_type": "ed25519", "bits": 256, "curve": None}
    if isinstance(key, (ed448.Ed448PublicKey, ed448.Ed448PrivateKey)):
        return {"key_type": "ed448", "bits": 456, "curve": None}
    return {"key_type": "unknown", "bits": None, "curve": None}


def parse_private_key(label: str, block: bytes) -> dict[str, Any]:
    """Properties of one PEM private-key block."""
    if label == "OPENSSH PRIVATE KEY":
        body = block.split(b"-----", 3)[2] if block.count(b"-----") >= 4 else block
        info = openssh_key_info(body)
        return {"format": "openssh", **info}
    if label == "ENCRYPTED PRIVATE KEY":
        return {"format": "pkcs8", "encrypted": True, "key_type": "unknown", "bits": None,
                "curve": None}
    fmt = "pkcs8" if label == "PRIVATE KEY" else "traditional"
    if b"Proc-Type: 4,ENCRYPTED" in block:
        kind = label.split()[0].lower()
        return {"format": fmt, "encrypted": True, "key_type": {"ec": "ec"}.get(kind, kind),
                "bits": None, "curve": None}
    try:
        key = serialization.load_pem_private_key(block, password=None)
    except TypeError:  # "password was not given but private key is encrypted"
        return {"format": fmt, "encrypted": True, "key_type": "unknown", "bits": None, "curve": None}
    except (ValueError, UnsupportedAlgorithm):
        return {"format": fmt, "encrypted": False, "key_type": "unparsable", "bits": None,
                "curve": None}
    return {"format": fmt, "encrypted": False, **public_key_info(key)}


def _hash_name(cert: x509.Certificate) -> str | None:
    try:
        algo = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return "unknown"
    return algo.name if algo is not None else None  # None: Ed25519/Ed448 sign without a hash


def _self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
        return True
    except (InvalidSignature, TypeError):
        return False
    except (UnsupportedAlgorithm, ValueError):
        pass  # e.g. SHA-1: the helper refuses it, so check the signature with the key itself
    try:
        key, algo = cert.public_key(), cert.signature_hash_algorithm
        if isinstance(key, rsa.RSAPublicKey) and algo is not None:
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), algo)
        elif isinstance(key, ec.EllipticCurvePublicKey) and algo is not None:
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algo))
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
    return True


def parse_certificate(cert: x509.Certificate, today: dt.date) -> dict[str, Any]:
    not_after = cert.not_valid_after_utc
    hash_name = _hash_name(cert)
    try:
        is_ca = bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        is_ca = False
    try:
        key = public_key_info(cert.public_key())
    except (ValueError, UnsupportedAlgorithm):
        key = {"key_type": "unknown", "bits": None, "curve": None}
    self_signed = _self_signed(cert)
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "self_signed": self_signed,
        "is_ca": is_ca,
        "not_before": cert.not_valid_before_utc.date().isoformat(),
        "not_after": not_after.date().isoformat(),
        "days_left": (not_after.date() - today).days,
        "expired": not_after.date() < today,
        "signature_hash": hash_name,
        # A self-signed root's own signature is never checked by clients; everything else's is.
        "verified_signature_hash": None if self_signed and is_ca else hash_name,
        "key_type": key["key_type"], "key_bits": key["bits"], "key_curve": key["curve"],
    }


def _perm_facts(st: FileStat, allowed_groups: tuple[str, ...]) -> dict[str, Any]:
    group_readable = bool(st.mode & 0o040)
    return {
        "mode": st.mode_octal, "owner": st.owner, "group": st.group,
        "world_readable": bool(st.mode & 0o004), "group_readable": group_readable,
        "exposed": bool(st.mode & 0o007) or (group_readable and st.group not in allowed_groups),
    }


_SIZED_KEYS = fs.list_of(fs.record(path=fs.STR, source=fs.enum("key", "certificate"),
                                   bits=fs.nullable(fs.INT)))


class CryptoFilesProbe(Probe):
    """Private keys and certificates found by glob, with their security properties.

    Facts: keys (list of {path, format (pkcs8, traditional, openssh), key_type (rsa, dsa, ec,
    ed25519, ed448, unknown), bits, curve, encrypted, mode, owner, group, world_readable,
    group_readable, exposed (readable by others than root and the key groups)}), certificates
    (list of {path, index, subject, issuer, self_signed, is_ca, not_before, not_after, days_left,
    expired, signature_hash, verified_signature_hash (None for a self-signed CA, whose own
    signature clients never check), key_type, key_bits, key_curve, mode, owner, group}),
    unencrypted_exposed (keys without a passphrase that others can read), world_readable_keys,
    keys_by_type ({rsa, dsa, ec, ed25519, ed448, other: [{path, source (key or certificate),
    bits}]}),
    files_scanned, unreadable (paths), today. Which sizes and hashes are too weak is the
    checks' business.
    """

    name = "crypto_files"
    long_running = True
    description = "private keys and certificates on disk"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "paths": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^/"}},
            "extra_paths": {"type": "array", "items": {"type": "string", "pattern": "^/"}},
            "exclude": {"type": "array", "items": {"type": "string"}},
            "key_groups": {"type": "array", "items": {"type": "string"}},
            "today": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        },
    }

    facts = fs.record(
        keys=fs.list_of(fs.record(
            path=fs.STR, format=fs.STR, key_type=fs.STR, bits=fs.nullable(fs.INT),
            curve=fs.nullable(fs.STR), encrypted=fs.BOOL, mode=fs.STR, owner=fs.nullable(fs.STR),
            group=fs.nullable(fs.STR), world_readable=fs.BOOL, group_readable=fs.BOOL,
            exposed=fs.BOOL)),
        certificates=fs.list_of(fs.record(
            path=fs.STR, index=fs.INT, subject=fs.STR, issuer=fs.STR, self_signed=fs.BOOL,
            is_ca=fs.BOOL, not_before=fs.STR, not_after=fs.STR, days_left=fs.INT,
            expired=fs.BOOL, signature_hash=fs.STR, verified_signature_hash=fs.nullable(fs.STR),
            key_type=fs.STR, key_bits=fs.nullable(fs.INT), key_curve=fs.nullable(fs.STR),
            mode=fs.STR, owner=fs.nullable(fs.STR), group=fs.nullable(fs.STR))),
        unencrypted_exposed=fs.list_of(fs.record(path=fs.STR, mode=fs.STR,
                                                 owner=fs.nullable(fs.STR),
                                                 group=fs.nullable(fs.STR))),
        world_readable_keys=fs.list_of(fs.record(path=fs.STR, mode=fs.STR)),
        keys_by_type=fs.record_of({t: _SIZED_KEYS for t in KEY_TYPES}),
        files_scanned=fs.INT, unreadable=fs.list_of(fs.STR), today=fs.STR,
    )

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        if not isinstance(target, HostTarget):
            raise ProbeError(f"{target.name} has no file system")
        host = target
        today = today_from(params, ctx)
        patterns = list(params.get("paths", DEFAULT_PATHS)) + list(params.get("extra_paths", []))
        exclude = list(params.get("exclude", DEFAULT_EXCLUDE))
        groups = tuple(params.get("key_groups", KEY_GROUPS))
        keys: list[dict[str, Any]] = []
        certs: list[dict[str, Any]] = []
        unreadable: list[str] = []
        scanned = 0
        for path in self._paths(host, patterns, exclude):
            ctx.check_deadline()
            st = host.stat(path)
            if st is None or st.type != "file":
                continue
            if st.size > MAX_FILE:  # never skipped silently: a padded key file would hide a weak key
                raise FileTooLarge(path, MAX_FILE)
            if scanned >= MAX_FILES:
                raise BudgetExceeded(f"more than {MAX_FILES} key and certificate files to read; "
                                     "not assessed (narrow the paths)")
            try:
                data = host.read_bytes(path, MAX_FILE)
            except PermissionError:
                unreadable.append(path)
                continue
            scanned += 1
            perms = _perm_facts(st, groups)
            for index, (label, block) in enumerate(_pem_blocks(data, path)):
                if label.endswith("PRIVATE KEY"):
                    try:
                        info = parse_private_key(label, block)
                    except (ValueError, struct.error, binascii.Error):
                        info = {"format": "unknown", "encrypted": False, "key_type": "unparsable",
                                "bits": None, "curve": None}
                    keys.append({"path": path, **info, **perms})
                elif label in ("CERTIFICATE", "TRUSTED CERTIFICATE", "DER CERTIFICATE"):
                    try:
                        cert = (x509.load_der_x509_certificate(block) if label == "DER CERTIFICATE"
                                else x509.load_pem_x509_certificate(
                                    block.replace(b"TRUSTED CERTIFICATE", b"CERTIFICATE")))
                    except ValueError:
                        continue
                    certs.append({"path": path, "index": index, **parse_certificate(cert, today),
                                  "mode": perms["mode"], "owner": perms["owner"],
                                  "group": perms["group"]})
        by_type: dict[str, list[dict[str, Any]]] = {t: [] for t in KEY_TYPES}
        for source, items, bits in (("key", keys, "bits"), ("certificate", certs, "key_bits")):
            for k in items:
                group = k["key_type"] if k["key_type"] in by_type else "other"
                by_type[group].append({"path": k["path"], "source": source, "bits": k[bits]})
        return {
            "keys": keys,
            "certificates": certs,
            "unencrypted_exposed": [{"path": k["path"], "mode": k["mode"], "owner": k["owner"],
                                     "group": k["group"]}
                                    for k in keys if not k["encrypted"] and k["exposed"]],
            "world_readable_keys": [{"path": k["path"], "mode": k["mode"]}
                                    for k in keys if k["world_readable"]],
            "keys_by_type": by_type,
            "files_scanned": scanned,
            "unreadable": unreadable,
            "today": today.isoformat(),
        }

    @staticmethod
    def _paths(host: HostTarget, patterns: list[str], exclude: list[str]) -> list[str]:
        found: list[str] = []
        seen: set[str] = set()
        for pattern in patterns:
            for path in host.glob(pattern, limit=MAX_FILES):
                if path in seen or any(fnmatch.fnmatchcase(path, ex) for ex in exclude):
                    continue
                seen.add(path)
                if any(path.startswith(d) for d in DEFAULT_SKIP_LINKS_UNDER):
                    link = host.stat(path, follow=False)
                    if link is not None and link.type == "link":
                        continue  # hashed CA links and bundle links: the distribution's trust store
                found.append(path)
        return found


def _pem_blocks(data: bytes, path: str) -> list[tuple[str, bytes]]:
    blocks = [(m.group(1).decode("ascii"), m.group(0)) for m in _PEM.finditer(data)]
    if not blocks and path.endswith((".der", ".cer", ".crt")) and data[:1] == b"\x30":
        blocks = [("DER CERTIFICATE", data)]
    return blocks
