"""SSH server: sshd_config with an include directory, host keys (weak ones when misconfigured)."""

from __future__ import annotations

import base64
import struct
from pathlib import Path

from smbaudit.demotree._util import write

BAD = """# Demo: an sshd_config that grew by copy-and-paste
Include /etc/ssh/sshd_config.d/*.conf
Protocol 2,1
Port 22
HostKey /etc/ssh/ssh_host_rsa_key
HostKey /etc/ssh/ssh_host_dsa_key
PermitRootLogin yes
PermitEmptyPasswords yes
MaxAuthTries 10
LoginGraceTime 2m
X11Forwarding yes
ClientAliveInterval 0
AllowTcpForwarding yes
PermitUserEnvironment yes
LogLevel QUIET
HostbasedAuthentication yes
IgnoreRhosts no
MaxStartups 100:30:200
MaxSessions 50
StrictModes no
UsePAM no
GSSAPIAuthentication yes
Ciphers +aes128-cbc,3des-cbc
MACs +hmac-md5
KexAlgorithms +diffie-hellman-group1-sha1
HostKeyAlgorithms +ssh-rsa,ssh-dss
Subsystem sftp /usr/lib/openssh/sftp-server
"""

BAD_DROPIN = "# cloud-init\nPasswordAuthentication yes\n"

GOOD = """# Demo: hardened OpenSSH server
Include /etc/ssh/sshd_config.d/*.conf
HostKey /etc/ssh/ssh_host_ed25519_key
HostKey /etc/ssh/ssh_host_rsa_key
PermitRootLogin no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
MaxAuthTries 4
LoginGraceTime 60
X11Forwarding no
DisableForwarding yes
GSSAPIAuthentication no
AllowGroups ssh-users sftponly
ClientAliveInterval 300
ClientAliveCountMax 3
AllowTcpForwarding no
PermitUserEnvironment no
LogLevel VERBOSE
Banner /etc/issue.net
HostbasedAuthentication no
IgnoreRhosts yes
MaxStartups 10:30:60
MaxSessions 10
StrictModes yes
UsePAM yes
Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr
MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-512,hmac-sha2-256
KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha256
Subsystem sftp internal-sftp
Match Group sftponly
    ForceCommand internal-sftp
    ChrootDirectory /srv/sftp/%u
"""

GOOD_DROPIN = "PasswordAuthentication no\n"

FAILING = [
    "ssh.root-login", "ssh.password-authentication", "ssh.permit-empty-passwords",
    "ssh.protocol-2", "ssh.weak-host-keys", "ssh.weak-ciphers", "ssh.weak-macs", "ssh.weak-kex",
    "ssh.weak-hostkey-algorithms", "ssh.max-auth-tries", "ssh.login-grace-time",
    "ssh.x11-forwarding", "ssh.idle-timeout", "ssh.tcp-forwarding",
    "ssh.permit-user-environment", "ssh.log-level", "ssh.banner", "ssh.hostbased-authentication",
    "ssh.ignore-rhosts", "ssh.max-startups", "ssh.max-sessions", "ssh.strict-modes",
    "ssh.use-pam", "ssh.disable-forwarding", "ssh.gssapi-authentication", "ssh.access-lists",
]


def _ssh_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _ssh_mpint(value: int) -> bytes:
    raw = value.to_bytes((value.bit_length() + 8) // 8, "big")
    return _ssh_string(raw)


def _host_key(root: Path, kind: str, bits: int = 0) -> None:
    """Write a host key pair (private 0600, public 0644) the way ssh-keygen lays them out."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import dsa, ed25519, rsa

    if kind == "dsa":
        # cryptography no longer writes DSA in SSH formats: encode the public key by hand.
        dkey = dsa.generate_private_key(key_size=bits)
        nums = dkey.public_key().public_numbers()
        blob = _ssh_string(b"ssh-dss") + b"".join(
            _ssh_mpint(v) for v in (nums.parameter_numbers.p, nums.parameter_numbers.q,
                                    nums.parameter_numbers.g, nums.y))
        pem = dkey.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()
        write(root, "/etc/ssh/ssh_host_dsa_key", pem, 0o600)
        write(root, "/etc/ssh/ssh_host_dsa_key.pub",
              f"ssh-dss {base64.b64encode(blob).decode()} root@demo\n", 0o644)
        return
    key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
    if kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    else:
        key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    write(root, f"/etc/ssh/ssh_host_{kind}_key", private, 0o600)
    write(root, f"/etc/ssh/ssh_host_{kind}_key.pub", public + " root@demo\n", 0o644)


def build(root: Path, hardened: bool) -> list[str]:
    write(root, "/etc/ssh/sshd_config", GOOD if hardened else BAD, 0o600)
    write(root, "/etc/ssh/sshd_config.d/50-cloud-init.conf",
          GOOD_DROPIN if hardened else BAD_DROPIN, 0o600)
    if hardened:
        _host_key(root, "ed25519")
        _host_key(root, "rsa", 3072)
        write(root, "/etc/issue.net", "Authorised use only. Activity is logged.\n")
    else:
        _host_key(root, "rsa", 1024)
        _host_key(root, "dsa", 1024)
    return list(FAILING)
