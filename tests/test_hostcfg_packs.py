"""The host-configuration packs end to end: build the demo trees, run every probe the packs use,
evaluate every check. The misconfigured tree must fail exactly the planted checks (and every check
must be planted); the hardened tree must fail none and leave none not applicable."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

import pytest

from hostsys_util import run_checks
from smbaudit.models import CheckDef
from smbaudit.packs.loader import load_packs
from smbaudit.probes.builtin import builtin_probe_classes
from smbaudit.targets.posixfs import DirectoryTarget

REPO = Path(__file__).resolve().parents[1]
PACK_DIRS = ["ssh", "password", "kernel", "shell", "firewall", "logging", "webserver"]
AREAS = ["ssh", "password_policy", "sysctl", "kernel_modules", "shell", "firewall", "audit_logging",
         "webserver"]


def _probes() -> dict[str, Any]:
    return {cls.name: cls for cls in builtin_probe_classes()}


def _checks() -> list[CheckDef]:
    probes = _probes()
    return load_packs([REPO / "checks" / d for d in PACK_DIRS],
                      probe_schemas={n: c.params_schema for n, c in probes.items()})


def _evaluate(root: Path, checks: list[CheckDef]) -> dict[str, str]:
    """check id -> pass / fail / not_applicable / error, through the real engine."""
    found = run_checks(DirectoryTarget("dir:demo", str(root)), checks)
    return {check_id: f.status.value for check_id, f in found.items()}


def _build(root: Path, hardened: bool) -> list[str]:
    expected: list[str] = []
    for area in AREAS:
        expected.extend(import_module(f"smbaudit.demotree.{area}").build(root, hardened))
    return expected


@pytest.fixture(scope="module")
def checks() -> list[CheckDef]:
    return _checks()


def test_misconfigured_tree_fails_every_planted_check(tmp_path: Path, checks: list[CheckDef]) -> None:
    expected = set(_build(tmp_path, hardened=False))
    ids = {c.id for c in checks}
    assert ids <= expected, f"checks never exercised by a demo tree: {sorted(ids - expected)}"
    results = _evaluate(tmp_path, checks)
    not_failing = sorted(i for i in expected & ids if results[i] != "fail")
    assert not_failing == [], {i: results[i] for i in not_failing}
    unexpected = sorted(i for i, r in results.items() if r == "fail" and i not in expected)
    assert unexpected == []


def test_hardened_tree_passes_every_check(tmp_path: Path, checks: list[CheckDef]) -> None:
    _build(tmp_path, hardened=True)
    results = _evaluate(tmp_path, checks)
    bad = {i: r for i, r in results.items() if r != "pass"}
    assert bad == {}


def test_pack_metadata(checks: list[CheckDef]) -> None:
    assert len(checks) >= len(PACK_DIRS)
    for c in checks:
        assert c.references, c.id
        assert c.rationale and c.remediation, c.id
        assert c.id.split(".")[0] in {"ssh", "webserver", "password", "kernel", "kmod", "firewall",
                                      "logging", "shell", "sysctl"}, c.id


# ----------------------------------------------------------------------------- RHEL family

RHEL_FILES = {
    # sshd: RHEL 9 layout, crypto policy back-end pulled in through a drop-in
    "/etc/ssh/sshd_config": "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n"
                            "PasswordAuthentication no\nMaxAuthTries 3\nLoginGraceTime 30\n"
                            "X11Forwarding no\nClientAliveInterval 300\nAllowTcpForwarding no\n"
                            "LogLevel VERBOSE\nBanner /etc/issue.net\nMaxStartups 10:30:60\n",
    "/etc/ssh/sshd_config.d/50-redhat.conf": (
        "Include /etc/crypto-policies/back-ends/opensshserver.config\nSyslogFacility AUTHPRIV\n"
        "ChallengeResponseAuthentication no\nGSSAPIAuthentication yes\nX11Forwarding yes\nUsePAM yes\n"),
    "/etc/crypto-policies/back-ends/opensshserver.config": (
        "Ciphers aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes256-ctr,aes128-gcm@openssh.com,aes128-ctr\n"
        "MACs hmac-sha2-256-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-128-etm@openssh.com,"
        "hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha1,umac-128@openssh.com,hmac-sha2-512\n"
        "KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,"
        "ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,"
        "diffie-hellman-group14-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512\n"
        "HostKeyAlgorithms ecdsa-sha2-nistp256,ssh-ed25519,rsa-sha2-256,rsa-sha2-512\n"
        "RequiredRSASize 2048\n"),
    # authselect-generated stacks with faillock, pwquality and pwhistory
    "/etc/pam.d/system-auth": (
        "auth        required      pam_env.so\n"
        "auth        required      pam_faillock.so preauth silent\n"
        "auth        sufficient    pam_unix.so\n"
        "auth        required      pam_faillock.so authfail\n"
        "auth        required      pam_deny.so\n"
        "password    requisite     pam_pwquality.so local_users_only\n"
        "password    required      pam_pwhistory.so use_authtok remember=5\n"
        "password    sufficient    pam_unix.so sha512 shadow use_authtok\n"
        "password    required      pam_deny.so\n"),
    "/etc/pam.d/sshd": "auth       substack     password-auth\npassword   include      password-auth\n",
    "/etc/security/faillock.conf": "deny = 5\nunlock_time = 0\n",
    "/etc/security/pwquality.conf.d/50-cis.conf": "minlen = 15\nminclass = 4\n",
    "/etc/login.defs": "PASS_MAX_DAYS 180\nPASS_MIN_DAYS 1\nPASS_WARN_AGE 14\nUMASK 077\n"
                       "ENCRYPT_METHOD SHA512\nSHA_CRYPT_MIN_ROUNDS 5000\n",
    "/etc/bashrc": "umask 027\n",
    "/etc/profile.d/tmout.sh": "declare -xr TMOUT=600\n",
    # firewalld, public zone
    "/etc/firewalld/firewalld.conf": "DefaultZone=public\n",
    "/usr/lib/firewalld/zones/public.xml": '<zone><service name="ssh"/><service name="https"/></zone>\n',
    "/usr/lib/systemd/system/firewalld.service": "[Install]\nWantedBy=multi-user.target\n"
                                                 "Alias=dbus-org.fedoraproject.FirewallD1.service\n",
    # httpd with mod_ssl
    "/etc/httpd/conf/httpd.conf": 'ServerRoot "/etc/httpd"\nListen 80\nInclude conf.modules.d/*.conf\n'
                                  "ServerTokens Prod\nServerSignature Off\nIncludeOptional conf.d/*.conf\n",
    "/etc/httpd/conf.d/ssl.conf": (
        "Listen 443 https\n<VirtualHost _default_:443>\nSSLEngine on\nSSLProtocol -all +TLSv1.2 +TLSv1.3\n"
        "SSLCipherSuite PROFILE=SYSTEM\nSSLCipherSuite ECDHE+AESGCM:ECDHE+CHACHA20\n"
        "Header always set Strict-Transport-Security \"max-age=31536000\"\n"
        "SSLCertificateFile /etc/pki/tls/certs/localhost.crt\n</VirtualHost>\n"),
    "/etc/pki/tls/certs/localhost.crt": "certificate\n",
    # auditd with the CIS rules, journald persistent
    "/usr/sbin/auditd": "",
    "/usr/lib/systemd/system/auditd.service": "[Install]\nWantedBy=multi-user.target\n",
    "/etc/audit/auditd.conf": "max_log_file_action = keep_logs\nspace_left_action = email\n"
                              "admin_space_left_action = halt\n",
    "/etc/audit/rules.d/cis.rules": (
        "-w /etc/passwd -p wa -k identity\n-w /etc/shadow -p wa -k identity\n"
        "-w /etc/group -p wa -k identity\n-w /etc/gshadow -p wa -k identity\n"
        "-w /etc/sudoers -p wa -k scope\n-w /etc/sudoers.d -p wa -k scope\n"
        "-a always,exit -F arch=b64 -S clock_settime -F a0=0x0 -k time-change\n"
        "-w /var/log/lastlog -p wa -k logins\n-w /var/run/faillock -p wa -k logins\n-e 2\n"),
    "/etc/systemd/journald.conf": "[Journal]\nStorage=persistent\n",
    "/etc/logrotate.conf": "weekly\nrotate 4\n",
    "/usr/lib/systemd/system/logrotate.timer": "[Install]\nWantedBy=timers.target\n",
    "/usr/lib/sysctl.d/50-default.conf": "kernel.sysrq = 16\nfs.protected_hardlinks = 1\n"
                                         "fs.protected_symlinks = 1\n",
}


def test_rhel_family_tree(tmp_path: Path, checks: list[CheckDef]) -> None:
    """A RHEL 9-style host (crypto-policies, authselect stacks, firewalld, httpd, augenrules):
    the packs read the RHEL layouts and judge them like the Debian ones."""
    import os

    from smbaudit.demotree import kernel_modules
    from smbaudit.demotree.sysctl import GOOD as SYSCTL_GOOD

    for path, text in RHEL_FILES.items():
        dest = tmp_path / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text)
    kernel_modules.build(tmp_path, hardened=True)
    (tmp_path / "etc/sysctl.d").mkdir(parents=True)
    (tmp_path / "etc/sysctl.d/99-cis.conf").write_text(SYSCTL_GOOD)
    (tmp_path / "etc/pam.d/password-auth").write_text(RHEL_FILES["/etc/pam.d/system-auth"])
    for unit, target in (("firewalld.service", "multi-user.target"), ("auditd.service", "multi-user.target"),
                         ("logrotate.timer", "timers.target")):
        wants = tmp_path / f"etc/systemd/system/{target}.wants"
        wants.mkdir(parents=True, exist_ok=True)
        name = "dbus-org.fedoraproject.FirewallD1.service" if unit == "firewalld.service" else unit
        os.symlink(f"/usr/lib/systemd/system/{unit}", wants / name)
    results = _evaluate(tmp_path, checks)
    failing = sorted(i for i, r in results.items() if r == "fail")
    # RHEL 9's 50-redhat.conf is included before the admin's lines and sets X11Forwarding yes,
    # so "X11Forwarding no" further down sshd_config has no effect (first value wins).
    # It also turns GSSAPI on, and nothing sets DisableForwarding or an AllowGroups list.
    assert failing == ["ssh.access-lists", "ssh.disable-forwarding", "ssh.gssapi-authentication",
                       "ssh.x11-forwarding"]
    not_applicable = sorted(i for i, r in results.items() if r == "not_applicable")
    # no nginx on this host; nothing here sets root's PATH (RHEL's login.defs has no ENV_SUPATH
    # and the tree has no /root start-up files)
    assert not_applicable == ["shell.root-path", "webserver.nginx-server-tokens"]
