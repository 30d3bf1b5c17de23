"""crypto_files: key formats, encryption detection, certificate properties; no key material."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import struct
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from hostsys_util import collect
from smbaudit.demotree.crypto import _cert
from smbaudit.targets.posixfs import DirectoryTarget

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def put(root: Path, path: str, data: bytes | str, mode: int = 0o600) -> None:
    dest = root / path.lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data.encode() if isinstance(data, str) else data)
    os.chmod(dest, mode)


def pem(key, fmt, password: bytes | None = None) -> bytes:
    enc = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, fmt, enc)


def encrypted_openssh(key) -> bytes:
    """An OPENSSH PRIVATE KEY with an aes256-ctr/bcrypt header, as `ssh-keygen -N pw` writes
    it (the private section is random bytes: only the cleartext header is ever parsed)."""
    def string(b: bytes) -> bytes:
        return struct.pack(">I", len(b)) + b

    pub = base64.b64decode(key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).split()[1])
    blob = (b"openssh-key-v1\x00" + string(b"aes256-ctr") + string(b"bcrypt")
            + string(string(os.urandom(16)) + struct.pack(">I", 16)) + struct.pack(">I", 1)
            + string(pub) + string(os.urandom(64)))
    body = base64.b64encode(blob).decode()
    lines = [body[i:i + 70] for i in range(0, len(body), 70)]
    return ("-----BEGIN OPENSSH PRIVATE KEY-----\n" + "\n".join(lines)
            + "\n-----END OPENSSH PRIVATE KEY-----\n").encode()


def keys_by_path(facts: dict) -> dict[str, dict]:
    return {k["path"]: k for k in facts["keys"]}


def test_key_formats_and_encryption(tmp_path: Path) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP384R1())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    P = serialization.PrivateFormat
    put(tmp_path, "/etc/ssl/private/pkcs8.key", pem(rsa_key, P.PKCS8))
    put(tmp_path, "/etc/ssl/private/pkcs8-enc.key", pem(rsa_key, P.PKCS8, b"pw"))
    put(tmp_path, "/etc/ssl/private/trad.key", pem(rsa_key, P.TraditionalOpenSSL))
    put(tmp_path, "/etc/ssl/private/trad-enc.key", pem(ec_key, P.TraditionalOpenSSL, b"pw"))
    put(tmp_path, "/etc/ssl/private/ec.key", pem(ec_key, P.PKCS8), 0o640)
    put(tmp_path, "/etc/group", f"ssl-cert:x:{os.getgid()}:\n", 0o644)  # names the files' group
    put(tmp_path, "/etc/ssh/ssh_host_ed25519_key", pem(ed_key, P.OpenSSH))
    put(tmp_path, "/etc/ssh/ssh_host_rsa_key", encrypted_openssh(rsa_key))
    facts = collect("crypto_files", DirectoryTarget("dir:t", str(tmp_path)))
    keys = keys_by_path(facts)
    expect = {
        "/etc/ssl/private/pkcs8.key": ("pkcs8", "rsa", 2048, False),
        "/etc/ssl/private/pkcs8-enc.key": ("pkcs8", "unknown", None, True),
        "/etc/ssl/private/trad.key": ("traditional", "rsa", 2048, False),
        "/etc/ssl/private/trad-enc.key": ("traditional", "ec", None, True),
        "/etc/ssl/private/ec.key": ("pkcs8", "ec", 384, False),
        "/etc/ssh/ssh_host_ed25519_key": ("openssh", "ed25519", 256, False),
        "/etc/ssh/ssh_host_rsa_key": ("openssh", "rsa", 2048, True),
    }
    got = {p: (k["format"], k["key_type"], k["bits"], k["encrypted"]) for p, k in keys.items()}
    assert got == expect
    assert keys["/etc/ssl/private/ec.key"]["curve"] == "secp384r1"
    assert facts["unencrypted_exposed"] == [] and facts["keys_by_type"]["dsa"] == []
    assert {k["bits"] for k in facts["keys_by_type"]["rsa"]} == {2048}
    # Never any key material: no base64 body of any key appears in the facts.
    text = json.dumps(facts)
    for path in expect:
        body = (tmp_path / path.lstrip("/")).read_text().splitlines()[1]
        assert body[:40] not in text


def test_exposed_and_weak_keys(tmp_path: Path) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    put(tmp_path, "/etc/nginx/ssl/site.key", pem(small, serialization.PrivateFormat.PKCS8), 0o644)
    put(tmp_path, "/etc/ssl/private/grp.key", pem(small, serialization.PrivateFormat.PKCS8, b"x"), 0o640)
    facts = collect("crypto_files", DirectoryTarget("dir:t", str(tmp_path)))
    assert [k["path"] for k in facts["unencrypted_exposed"]] == ["/etc/nginx/ssl/site.key"]
    assert [k["path"] for k in facts["world_readable_keys"]] == ["/etc/nginx/ssl/site.key"]
    # the encrypted key's type and size are unknown: it is grouped under "other"
    assert facts["keys_by_type"]["rsa"] == [{"path": "/etc/nginx/ssl/site.key", "source": "key",
                                             "bits": 1024}]
    assert [k["path"] for k in facts["keys_by_type"]["other"]] == ["/etc/ssl/private/grp.key"]


def test_certificates_sha1_expiry_and_ca_links(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    put(tmp_path, "/etc/ssl/certs/old.pem",
        _cert(key, "old.example", NOW - dt.timedelta(days=400), NOW - dt.timedelta(days=5), sha1=True), 0o644)
    put(tmp_path, "/etc/ssl/certs/new.pem",
        _cert(key, "new.example", NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=20)), 0o644)
    put(tmp_path, "/usr/share/ca-certificates/x/Root.crt",
        _cert(key, "Root", NOW - dt.timedelta(days=1), NOW - dt.timedelta(hours=1), ca=True), 0o644)
    os.symlink("/usr/share/ca-certificates/x/Root.crt", tmp_path / "etc/ssl/certs/Root.pem")
    facts = collect("crypto_files", DirectoryTarget("dir:t", str(tmp_path)), {"today": "2026-01-01"})
    certs = {c["path"]: c for c in facts["certificates"]}
    assert set(certs) == {"/etc/ssl/certs/old.pem", "/etc/ssl/certs/new.pem"}  # CA link skipped
    old, new = certs["/etc/ssl/certs/old.pem"], certs["/etc/ssl/certs/new.pem"]
    assert old["signature_hash"] == old["verified_signature_hash"] == "sha1"
    assert old["expired"] is True and old["days_left"] == -5 and old["self_signed"] is True
    assert new["signature_hash"] == new["verified_signature_hash"] == "sha256"
    assert new["days_left"] == 20 and new["expired"] is False and new["key_bits"] == 2048
    assert "CN=new.example" in new["subject"]


def test_special_files_one_walk(tmp_path: Path) -> None:
    put(tmp_path, "/usr/bin/passwd", "x", 0o4755)
    put(tmp_path, "/usr/local/bin/evil", "x", 0o4755)
    put(tmp_path, "/usr/bin/wall", "x", 0o2755)
    put(tmp_path, "/etc/app.conf", "x", 0o666)
    (tmp_path / "usr/tmp").mkdir()
    os.chmod(tmp_path / "usr/tmp", 0o1777)
    (tmp_path / "usr/share/open").mkdir(parents=True)
    os.chmod(tmp_path / "usr/share/open", 0o777)
    facts = collect("special_files", DirectoryTarget("dir:t", str(tmp_path)),
                    {"roots": ["/etc", "/usr"], "allow": ["/usr/bin/passwd", "/usr/bin/wal?"]})
    assert [e["path"] for e in facts["world_writable"]] == ["/etc/app.conf", "/usr/share/open"]
    assert [(e["path"], e["flags"]) for e in facts["setuid"]] == [("/usr/local/bin/evil", ["setuid"])]
    assert sorted(facts["allowed"]) == ["/usr/bin/passwd", "/usr/bin/wall"]
