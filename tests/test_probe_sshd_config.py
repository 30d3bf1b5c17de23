"""sshd_config probe: OpenSSH parsing rules on real trees, and agreement with `sshd -T`."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from hostcfg_util import collect, ctx, probe, put, snapshot
from smbaudit.errors import ProbeError
from smbaudit.probes.sshd_config import assemble, convtime, tokenize
from smbaudit.runner import run
from smbaudit.targets.posixfs import LocalTarget
from tools import unavailable
from hostsys_util import run_checks
from smbaudit.packs.loader import load_packs
from smbaudit.targets.posixfs import DirectoryTarget

REPO = Path(__file__).resolve().parents[1]


def test_tokenize_forms() -> None:
    assert tokenize("Port=2222") == ["Port", "2222"]
    assert tokenize("MaxAuthTries = 3 # three") == ["MaxAuthTries", "3"]
    assert tokenize('Banner "/etc/issue net"') == ["Banner", "/etc/issue net"]
    assert tokenize("   # just a comment") == []
    assert tokenize("AllowUsers a#b") == ["AllowUsers", "a#b"]


def test_convtime() -> None:
    assert convtime("90") == 90
    assert convtime("1m30s") == 90
    assert convtime("2h") == 7200
    assert convtime("bogus") == "bogus"


def test_first_value_wins_case_insensitive_and_accumulating(tmp_path: Path) -> None:
    put(tmp_path, "/etc/ssh/sshd_config", (
        "# comment\n"
        "permitrootlogin No\n"
        "PermitRootLogin yes\n"
        "Port 22\nport 2222\n"
        "HostKey /etc/ssh/ssh_host_ed25519_key\nHostKey /etc/ssh/ssh_host_rsa_key\n"
        "AcceptEnv LANG\nAcceptEnv LC_*\n"
        "LoginGraceTime 1m\nMaxAuthTries=4\n"
        "ChallengeResponseAuthentication no\nKbdInteractiveAuthentication yes\n"))
    f = collect("sshd_config", tmp_path)
    s = f["settings"]
    assert f["present"] is True
    assert s["permitrootlogin"] == "no"
    assert s["port"] == [22, 2222]
    assert s["hostkey"] == ["/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_rsa_key"]
    assert s["acceptenv"] == ["LANG", "LC_*"]
    assert s["logingracetime"] == 60
    assert s["maxauthtries"] == 4
    assert s["kbdinteractiveauthentication"] == "no"  # alias counts as the first value
    assert f["sources"]["permitrootlogin"] == "/etc/ssh/sshd_config:2"
    assert "permitrootlogin" not in f["defaults_used"]
    assert "x11forwarding" in f["defaults_used"] and s["x11forwarding"] == "no"


def _ssh_checks(root: Path, *names: str) -> list[str]:
    """The statuses of the shipped ssh.<name> checks on the tree, through the engine."""
    wanted = {f"ssh.{n}" for n in names}
    checks = [c for c in load_packs([REPO / "checks" / "ssh"]) if c.id in wanted]
    found = run_checks(DirectoryTarget("dir:t", str(root)), checks)
    return [found[f"ssh.{n}"].status.value for n in names]


def test_defaults_when_empty(tmp_path: Path) -> None:
    put(tmp_path, "/etc/ssh/sshd_config", "\n")
    f = collect("sshd_config", tmp_path)
    assert f["settings"]["permitrootlogin"] == "prohibit-password"
    assert f["settings"]["passwordauthentication"] == "yes"
    assert "umac-64@openssh.com" in f["settings"]["macs"]
    assert _ssh_checks(tmp_path, "weak-macs", "weak-ciphers", "weak-kex") == ["fail", "pass", "pass"]
    assert len(f["host_keys"]) == 3 and not any(k["exists"] for k in f["host_keys"])


def test_include_relative_glob_order_and_match_scope(tmp_path: Path) -> None:
    put(tmp_path, "/etc/ssh/sshd_config", (
        "Include sshd_config.d/*.conf\n"
        "PasswordAuthentication yes\n"       # after the include's Match: global again
        "X11Forwarding no\n"
        "Match User alice Address 10.0.0.0/8\n"
        "  PermitRootLogin yes\n"
        "  Include /etc/ssh/match.d/extra\n"
        "Match all\n"
        "  AllowTcpForwarding no\n"))
    put(tmp_path, "/etc/ssh/sshd_config.d/20-b.conf", "PasswordAuthentication no\nMaxAuthTries 2\n")
    put(tmp_path, "/etc/ssh/sshd_config.d/10-a.conf", "MaxAuthTries 3\nMatch Group admins\n"
        "  X11Forwarding yes\n")
    put(tmp_path, "/etc/ssh/sshd_config.d/not-included.txt", "PermitRootLogin yes\n")
    put(tmp_path, "/etc/ssh/match.d/extra", "Banner /etc/issue.net\n")
    f = collect("sshd_config", tmp_path)
    s = f["settings"]
    assert f["files"] == ["/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/10-a.conf",
                          "/etc/ssh/sshd_config.d/20-b.conf", "/etc/ssh/match.d/extra"]
    assert s["maxauthtries"] == 3          # 10-a.conf is read before 20-b.conf
    assert s["passwordauthentication"] == "no"
    assert s["x11forwarding"] == "no"      # the Match in 10-a.conf ended with that file
    assert s["permitrootlogin"] == "prohibit-password"
    assert s["banner"] == "none"
    blocks = f["match_blocks"]
    assert [b["criteria"] for b in blocks] == [
        [{"keyword": "group", "value": "admins"}],
        [{"keyword": "user", "value": "alice"}, {"keyword": "address", "value": "10.0.0.0/8"}],
        [{"keyword": "all", "value": ""}],
    ]
    assert blocks[0]["settings"] == {"x11forwarding": "yes"}
    assert blocks[0]["file"] == "/etc/ssh/sshd_config.d/10-a.conf"
    assert blocks[1]["settings"] == {"permitrootlogin": "yes", "banner": "/etc/issue.net"}
    assert blocks[2]["settings"] == {"allowtcpforwarding": "no"}


def test_include_cycle_is_reported_not_followed(tmp_path: Path) -> None:
    put(tmp_path, "/etc/ssh/sshd_config", "Include a.conf\nPermitRootLogin no\n")
    put(tmp_path, "/etc/ssh/a.conf", "Include b.conf\nMaxAuthTries 3\n")
    put(tmp_path, "/etc/ssh/b.conf", "Include a.conf\nInclude /etc/ssh/sshd_config\n")
    started = time.monotonic()
    f = collect("sshd_config", tmp_path)
    assert time.monotonic() - started < 5
    assert f["settings"]["maxauthtries"] == 3 and f["settings"]["permitrootlogin"] == "no"
    assert sum("include cycle" in e for e in f["errors"]) == 2


def test_self_include_glob(tmp_path: Path) -> None:
    put(tmp_path, "/etc/ssh/sshd_config", "Include /etc/ssh/*\nPort 2022\n")
    f = collect("sshd_config", tmp_path)
    assert f["settings"]["port"] == [2022]
    assert any("include cycle" in e for e in f["errors"])


def test_crypto_prefix_semantics(tmp_path: Path) -> None:
    put(tmp_path, "/etc/ssh/sshd_config", (
        "Ciphers +aes128-cbc,3des-cbc\n"
        "MACs -umac*,hmac-sha1\n"
        "KexAlgorithms ^diffie-hellman-group14-sha1\n"
        "HostKeyAlgorithms ssh-ed25519,ssh-rsa\n"
        "PubkeyAcceptedKeyTypes +ssh-dss\n"))
    f = collect("sshd_config", tmp_path)
    s = f["settings"]
    assert s["ciphers"][-2:] == ["aes128-cbc", "3des-cbc"]
    assert "hmac-sha1" not in s["macs"] and "hmac-sha1-etm@openssh.com" in s["macs"]
    assert not any(m.startswith("umac") for m in s["macs"])
    assert s["kexalgorithms"][0] == "diffie-hellman-group14-sha1"
    assert s["hostkeyalgorithms"] == ["ssh-ed25519", "ssh-rsa"]
    assert _ssh_checks(tmp_path, "weak-ciphers", "weak-macs", "weak-kex",
                       "weak-hostkey-algorithms") == ["fail", "pass", "fail", "fail"]
    assert s["pubkeyacceptedalgorithms"][-1] == "ssh-dss"


def test_assemble_wildcards_and_unknown_names() -> None:
    effective, unknown = assemble("ciphers", "aes*-ctr,future-cipher@example.com")
    assert effective == ["aes128-ctr", "aes192-ctr", "aes256-ctr", "future-cipher@example.com"]
    assert unknown == ["future-cipher@example.com"]


def test_missing_config_and_unreadable_include(tmp_path: Path) -> None:
    f = collect("sshd_config", tmp_path)
    assert f["present"] is False and f["settings"] == {}
    put(tmp_path, "/etc/ssh/sshd_config", "Include /etc/ssh/dir.conf\nInclude /etc/ssh/missing\n")
    (tmp_path / "etc/ssh/dir.conf").mkdir()
    f = collect("sshd_config", tmp_path)
    assert f["present"] is True
    assert f["errors"] == ["/etc/ssh/dir.conf: is a directory"]


def test_unreadable_main_config_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "etc/ssh/sshd_config").mkdir(parents=True)
    with pytest.raises(ProbeError):
        collect("sshd_config", tmp_path)


_AS_NOBODY = """
import json, sys, time
from smbaudit.probes.sshd_config import SshdConfigProbe
from smbaudit.probes.base import ProbeContext
from smbaudit.targets.posixfs import DirectoryTarget
facts = SshdConfigProbe().collect(DirectoryTarget("dir:t", sys.argv[1]), {},
                                  ProbeContext(deadline=time.monotonic() + 20, timeout=5))
print(json.dumps({"errors": facts["errors"], "files": facts["files"],
                  "permitrootlogin": facts["settings"]["permitrootlogin"]}))
"""


def test_unreadable_include(tmp_path: Path) -> None:
    """A file the scanning user cannot read is reported and skipped; the rest is still read.
    As root (which reads any file), the probe runs in a child process as `nobody`."""
    import json
    import sys
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="smbaudit-unreadable-"))
    try:
        root.chmod(0o755)
        put(root, "/etc/ssh/sshd_config", "Include /etc/ssh/secret.conf\nPermitRootLogin no\n")
        put(root, "/etc/ssh/secret.conf", "PermitRootLogin yes\n", 0o000)
        for d in (root / "etc", root / "etc/ssh"):
            d.chmod(0o755)
        if os.geteuid() != 0:
            facts = collect("sshd_config", root)
            seen = {"errors": facts["errors"], "files": facts["files"],
                    "permitrootlogin": facts["settings"]["permitrootlogin"]}
        else:
            if not shutil.which("setpriv"):
                unavailable("running as root and setpriv (util-linux) is missing")
            src = str(Path(__file__).resolve().parents[1] / "src")
            as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                         sys.executable, "-c"]
            probe_import = run(as_nobody + ["import smbaudit.probes.sshd_config"], timeout=60,
                               env={"PYTHONPATH": src})
            if probe_import.returncode != 0:
                pytest.skip("the checkout or interpreter is not readable by nobody")
            result = run(as_nobody + [_AS_NOBODY, str(root)], timeout=60, env={"PYTHONPATH": src})
            assert result.returncode == 0, result.stderr
            seen = json.loads(result.stdout)
        assert seen["errors"] == ["/etc/ssh/secret.conf: permission denied"]
        assert seen["files"] == ["/etc/ssh/sshd_config"]
        assert seen["permitrootlogin"] == "no"
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_host_key_facts_from_public_keys(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pub = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                        serialization.PublicFormat.OpenSSH).decode()
    put(tmp_path, "/etc/ssh/sshd_config", "HostKey /etc/ssh/ssh_host_rsa_key\n")
    put(tmp_path, "/etc/ssh/ssh_host_rsa_key", "not read by the probe\n", 0o600)
    put(tmp_path, "/etc/ssh/ssh_host_rsa_key.pub", pub + " root@host\n")
    f = collect("sshd_config", tmp_path)
    assert f["host_keys"] == [{"path": "/etc/ssh/ssh_host_rsa_key", "exists": True, "type": "rsa",
                               "bits": 1024, "mode": "0600", "owner": f["host_keys"][0]["owner"],
                               "algorithm": "ssh-rsa"}]


def test_probe_leaves_tree_unchanged(tmp_path: Path) -> None:
    put(tmp_path, "/etc/ssh/sshd_config", "Include sshd_config.d/*.conf\nMatch User x\nBanner a\n")
    put(tmp_path, "/etc/ssh/sshd_config.d/a.conf", "Port 22\n")
    before = snapshot(tmp_path)
    collect("sshd_config", tmp_path)
    assert snapshot(tmp_path) == before


def test_live_host_etc_ssh() -> None:
    """The probe reads this host's real /etc/ssh (openssh-server is installed in CI)."""
    if not os.path.exists("/etc/ssh/sshd_config"):
        unavailable("no /etc/ssh/sshd_config on this host (openssh-server)")
    f = probe("sshd_config").collect(LocalTarget(), {}, ctx())
    assert f["present"] is True and f["files"][0] == "/etc/ssh/sshd_config"
    assert isinstance(f["settings"]["maxauthtries"], int)
    assert f["settings"]["ciphers"]


# ----------------------------------------------------------------- sshd -T as the reference

SSHD = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)


def _sshd_t(config: Path, conn: str | None = None) -> dict[str, list[str]]:
    """`sshd -T` output as keyword -> values. sshd insists on /run/sshd; when it is missing,
    run it in a private mount namespace with a scratch /run instead of creating it here."""
    assert SSHD is not None, "sshd (openssh-server) is not installed"
    argv = [SSHD, "-T", "-f", str(config)] + (["-C", conn] if conn else [])
    if not os.path.isdir("/run/sshd"):
        if not shutil.which("unshare"):
            unavailable("sshd -T needs /run/sshd and unshare (util-linux) is missing")
        argv = ["unshare", "-m", "sh", "-c",
                'mount -t tmpfs none /run && mkdir /run/sshd && exec "$@"', "sh"] + argv
    result = run(argv, timeout=20)
    if result.returncode != 0:
        if "unshare" in argv[0]:
            pytest.skip(f"cannot give sshd a private /run here: {result.stderr.strip()}")
        raise AssertionError(result.stderr)
    out: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition(" ")
        out.setdefault(key, []).append(value)
    return out


@pytest.mark.needs_sshd
def test_agrees_with_sshd_t(tmp_path: Path) -> None:
    keyfile = tmp_path / "hostkey"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keyfile)], timeout=20)
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "20-late.conf").write_text("MaxAuthTries 5\nPasswordAuthentication yes\n")
    (inc / "10-early.conf").write_text("maxauthtries 2\nMatch User bob\n  X11Forwarding yes\n")
    config = tmp_path / "sshd_config"
    config.write_text(
        f"HostKey {keyfile}\n"
        f"Include {inc}/*.conf\n"
        "PasswordAuthentication no\n"
        "PermitRootLogin No\nPermitRootLogin yes\n"
        "LoginGraceTime 1m30s\n"
        "ClientAliveInterval=300\n"
        "Ciphers +aes128-cbc\n"
        "MACs -umac*,hmac-sha1\n"
        "KexAlgorithms ^diffie-hellman-group14-sha1\n"
        "HostKeyAlgorithms -ssh-rsa*,ecdsa*\n"
        "Port 2222\nPort 2223\n"
        "AllowTcpForwarding no\n"
        "Match User alice\n  PermitRootLogin forced-commands-only\n")
    facts = probe("sshd_config").collect(LocalTarget(), {"path": str(config)}, ctx())
    ref = _sshd_t(config)
    s = facts["settings"]
    for kw in ("maxauthtries", "logingracetime", "clientaliveinterval"):
        assert str(s[kw]) == ref[kw][0], kw
    for kw in ("passwordauthentication", "permitrootlogin", "x11forwarding",
               "allowtcpforwarding", "permitemptypasswords", "kbdinteractiveauthentication"):
        assert s[kw] == ref[kw][0].replace("without-password", "prohibit-password"), kw
    for kw in ("ciphers", "macs", "kexalgorithms", "hostkeyalgorithms",
               "pubkeyacceptedalgorithms"):
        assert s[kw] == ref[kw][0].split(","), kw
    assert [str(p) for p in s["port"]] == ref["port"]
    # A Match block applies only to its connections; the probe keeps it apart.
    bob = _sshd_t(config, "user=bob,host=h,addr=192.0.2.1")
    assert bob["x11forwarding"] == [facts["match_blocks"][0]["settings"]["x11forwarding"]]
    alice = _sshd_t(config, "user=alice,host=h,addr=192.0.2.1")
    assert alice["permitrootlogin"] == [facts["match_blocks"][1]["settings"]["permitrootlogin"]]
