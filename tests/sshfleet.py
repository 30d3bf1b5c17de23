"""Real OpenSSH sshd instances on loopback for the fleet tests: host keys, users, start and
kill (with the per-connection children)."""

from __future__ import annotations

import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from netservers import LOOPBACK, free_port, wait_port


@dataclass
class Sshd:
    port: int
    address: str
    proc: subprocess.Popen[bytes]
    host_pub: str
    log: Path

    def known(self) -> str:
        return f"[{self.address}]:{self.port} {self.host_pub}"


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True,
                   timeout=60, stdout=subprocess.DEVNULL)


def _start(tmp: Path, name: str, address: str, authorized: Path) -> Sshd:
    d = tmp / name
    d.mkdir()
    _keygen(d / "host")
    port = free_port()
    cfg = d / "sshd_config"
    cfg.write_text(f"Port {port}\nListenAddress {address}\nHostKey {d}/host\nPidFile {d}/pid\n"
                   f"UsePAM no\nStrictModes no\nAuthorizedKeysFile {authorized}\n"
                   "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                   "KbdInteractiveAuthentication no\nAllowTcpForwarding yes\nLogLevel DEBUG1\n"
                   "Subsystem sftp internal-sftp\n")
    Path("/run/sshd").mkdir(exist_ok=True)
    log = d / "log"
    proc = subprocess.Popen([shutil.which("sshd") or "/usr/sbin/sshd", "-D", "-E", str(log), "-f", str(cfg)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, proc) if address == LOOPBACK else _wait(address, port, proc)
    return Sshd(port, address, proc, (d / "host.pub").read_text().strip(), log)


def _wait(address: str, port: int, proc: subprocess.Popen[bytes]) -> None:
    import socket
    import time

    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError("sshd exited")
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {address}:{port}")


def _user(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "-M", "-s", "/bin/sh", name], check=True, timeout=30)
    subprocess.run(["usermod", "-p", "*", name], check=True, timeout=30)  # no password, not locked


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (sshd's per-connection children), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo and len(out) < 1000:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def kill(server: Sshd) -> None:
    """Kill sshd and every session under it: connections to it die at once."""
    import os

    for pid in _descendants(server.proc.pid):
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    server.proc.kill()
    server.proc.wait(timeout=5)


SUDO_USER, PLAIN_USER = "smbaudit-fleet1", "smbaudit-fleet2"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"


@contextmanager
def fleet_access(tmp: Path, name: str) -> Iterator[Path]:
    """A client key at `tmp/client`, the two test users, a sudo rule letting SUDO_USER start
    the SFTP server as root; yields the authorized_keys file every test sshd reads. Skips
    when sudo or the SFTP server is missing; the rule and keys are removed afterwards."""
    if shutil.which("sudo") is None or not Path(SFTP_SERVER).exists():
        pytest.skip("sudo and openssh-sftp-server are needed (scripts/apt-packages.txt)")
    _keygen(tmp / "client")
    # sshd reads authorized keys as the user logging in: keep them where every user can read.
    keys_dir = Path(tempfile.mkdtemp(prefix=f"smbaudit-{name}-"))
    keys_dir.chmod(0o755)
    authorized = keys_dir / "authorized_keys"
    authorized.write_text((tmp / "client.pub").read_text())
    authorized.chmod(0o644)
    for u in (SUDO_USER, PLAIN_USER):
        _user(u)
    rule = Path(f"/etc/sudoers.d/smbaudit-{name}-test")
    rule.write_text(f"{SUDO_USER} ALL=(root) NOPASSWD: {SFTP_SERVER}\n")
    rule.chmod(0o440)
    try:
        yield authorized
    finally:
        rule.unlink(missing_ok=True)
        shutil.rmtree(keys_dir, ignore_errors=True)
