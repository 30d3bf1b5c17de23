"""Remote hosts over SSH (agentless, SFTP only) against a real OpenSSH sshd on loopback.

The sshd lets root in with a key generated here, so the remote target is this very machine:
what `ssh://` sees must match what `local` sees for every file-based check.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from netservers import LOOPBACK, free_port, needs_marks, wait_port
from smbaudit.cli import cli
from smbaudit.errors import TargetError, UnsupportedOperation
from smbaudit.targets.ssh import SSHOptions, SSHTarget, parse_ssh_spec

pytestmark = needs_marks("sshd", root=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path, Path]]:
    tmp = tmp_path_factory.mktemp("sftp-sshd")
    for name in ("host_ed25519", "client_ed25519"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp / name)],
                       check=True, timeout=60, stdout=subprocess.DEVNULL)
    (tmp / "authorized_keys").write_text((tmp / "client_ed25519.pub").read_text())
    port = free_port()
    known = tmp / "known_hosts"
    known.write_text(f"[{LOOPBACK}]:{port} {(tmp / 'host_ed25519.pub').read_text()}")
    Path("/run/sshd").mkdir(exist_ok=True)
    cfg = tmp / "sshd_config"
    cfg.write_text(f"Port {port}\nListenAddress {LOOPBACK}\nHostKey {tmp}/host_ed25519\n"
                   f"PidFile {tmp}/sshd.pid\nUsePAM no\nStrictModes no\n"
                   f"AuthorizedKeysFile {tmp}/authorized_keys\nPermitRootLogin prohibit-password\n"
                   "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                   "Subsystem sftp internal-sftp\n")
    binary = shutil.which("sshd") or "/usr/sbin/sshd"
    proc = subprocess.Popen([binary, "-D", "-e", "-f", str(cfg)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc)
        yield port, tmp / "client_ed25519", known
    finally:
        proc.kill()
        proc.wait(timeout=5)


def test_spec_parsing() -> None:
    assert parse_ssh_spec("ssh://admin@192.0.2.10") == ("admin", "192.0.2.10", 22)
    assert parse_ssh_spec("ssh://root@[::1]:2222") == ("root", "::1", 2222)
    for bad in ("ssh://", "ssh://host:99999", "ssh://a@b@c"):
        with pytest.raises(TargetError):
            parse_ssh_spec(bad)


def test_reads_files_and_refuses_commands(server: tuple[int, Path, Path]) -> None:
    port, key, known = server
    t = SSHTarget(f"ssh://root@{LOOPBACK}:{port}", SSHOptions(key_file=str(key), known_hosts=str(known), timeout=5))
    t.connect()
    try:
        assert t.read_text("/etc/passwd") == Path("/etc/passwd").read_text()
        st = t.stat("/etc/shadow")
        assert st is not None and st.owner == "root" and st.mode == Path("/etc/shadow").stat().st_mode & 0o7777
        assert t.stat("/nonexistent") is None
        assert "passwd" in t.list_dir("/etc")
        assert t.glob("/etc/ssh/sshd_conf*") == sorted(str(p) for p in Path("/etc/ssh").glob("sshd_conf*"))
        assert t.read_text("/proc/sys/kernel/osrelease").strip()  # size-0 /proc files read fully
        with pytest.raises(UnsupportedOperation):
            t.run(["id"], timeout=5)
        assert t.info().details["host_key"].startswith("ssh-ed25519")
    finally:
        t.close()


def test_unknown_host_key_is_refused(server: tuple[int, Path, Path], tmp_path: Path) -> None:
    port, key, _ = server
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    t = SSHTarget(f"ssh://root@{LOOPBACK}:{port}", SSHOptions(key_file=str(key), known_hosts=str(empty), timeout=5))
    with pytest.raises(TargetError, match="host key unknown"):
        t.connect()
    t = SSHTarget(f"ssh://root@{LOOPBACK}:{port}",
                  SSHOptions(key_file=str(key), known_hosts=str(empty), accept_new_host_key=True, timeout=5))
    t.connect()
    t.close()
    assert empty.read_text() == ""  # nothing is written back


def _scan(*args: str) -> tuple[int, dict, str]:
    result = CliRunner().invoke(cli, ["scan", *args, "-f", "json", "-o", "-", "--fail-on", "none",
                                      "--no-history", "-q"])
    out = result.stdout if hasattr(result, "stdout") else result.output
    return result.exit_code, json.loads(out[out.index("{"):]), result.output


# Walking all of /usr costs one SFTP round trip per request (about 35 s here): the walk itself
# is tested on the local and offline targets, which share its code.
SKIP_WALKS = ("--skip", "files.no-world-writable", "--skip", "files.setuid-known")


def test_remote_scan_matches_local(server: tuple[int, Path, Path]) -> None:
    port, key, known = server
    code, remote, _ = _scan(f"ssh://root@{LOOPBACK}:{port}", "--ssh-key", str(key), "--ssh-known-hosts", str(known),
                            *SKIP_WALKS)
    assert code in (0, 3)
    _, local, _ = _scan("local", *SKIP_WALKS)
    remote_status = {f["check_id"]: f["status"] for f in remote["findings"]}
    local_status = {f["check_id"]: f["status"] for f in local["findings"]}
    assert remote_status.keys() == local_status.keys()
    # Checks whose probe runs a command cannot be done over SFTP: they must say so, never guess.
    differ = {c: (local_status[c], remote_status[c]) for c in local_status if local_status[c] != remote_status[c]}
    for check_id, (_, remote_st) in differ.items():
        assert remote_st == "not_applicable", (check_id, differ[check_id])
    assert len(differ) <= len(local_status) // 10, differ
    assert remote["targets"][0]["details"]["via"].startswith("ssh")


def test_unreachable_remote_is_reported_exit_3(server: tuple[int, Path, Path]) -> None:
    _, key, known = server
    dead = free_port()
    code, data, _ = _scan(f"ssh://root@{LOOPBACK}:{dead}", "--ssh-key", str(key), "--ssh-known-hosts", str(known),
                          "--timeout", "3")
    assert code == 3
    assert data["targets"][0]["reachable"] is False and "cannot connect" in data["targets"][0]["error"]
    # not reached: no score, no grade, never "A, no problems"
    assert data["summary"]["score"] is None and data["summary"]["grade"] == "Not assessed"
