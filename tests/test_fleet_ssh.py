"""Fleet audits over SSH against real OpenSSH sshd instances on loopback: per-host users, ports
and keys from an inventory or ssh_config, a jump host, `become` through `sudo -n`, pipelined
listings, a host-key mismatch and a connection lost mid-scan."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from netservers import LOOPBACK, needs_marks
from sshfleet import PLAIN_USER, SUDO_USER, Sshd, _descendants, _keygen, _start, fleet_access
from smbaudit.errors import TargetError
from smbaudit.targets.inventory import InventoryHost, load_inventory
from smbaudit.targets.ssh import SSHOptions, SSHTarget
from smbaudit.targets.sshconnect import HostSettings

pytestmark = needs_marks("sshd", root=True)



@dataclass
class Fleet:
    tmp: Path
    key: Path
    known: Path
    authorized: Path
    a: Sshd  # the audited host (users root, SUDO_USER, PLAIN_USER)
    jump: Sshd
    inner: Sshd  # reached through the jump host


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    tmp = tmp_path_factory.mktemp("fleet")
    with fleet_access(tmp, "fleet") as authorized:
        yield from _fleet(tmp, authorized)


def _fleet(tmp: Path, authorized: Path) -> Iterator[Fleet]:
    servers = []
    try:
        a = _start(tmp, "a", LOOPBACK, authorized)
        servers.append(a)
        jump = _start(tmp, "jump", LOOPBACK, authorized)
        servers.append(jump)
        inner = _start(tmp, "inner", "127.0.0.3", authorized)
        servers.append(inner)
        known = tmp / "known_hosts"
        known.write_text("\n".join(s.known() for s in servers) + "\n")
        yield Fleet(tmp, tmp / "client", known, authorized, a, jump, inner)
    finally:
        for s in servers:
            s.proc.kill()
            s.proc.wait(timeout=5)


def _target(fleet: Fleet, user: str, *, become: bool = False, **opts: object) -> SSHTarget:
    options = SSHOptions(key_file=str(fleet.key), known_hosts=str(fleet.known), timeout=5, **opts)  # type: ignore[arg-type]
    host = HostSettings(alias=LOOPBACK, host=LOOPBACK, port=fleet.a.port, user=user, become=become)
    return SSHTarget(f"ssh://{user}@{LOOPBACK}:{fleet.a.port}", options, host)


def test_become_reads_root_only_files(fleet: Fleet) -> None:
    t = _target(fleet, SUDO_USER, become=True)
    t.connect()
    try:
        assert t.read_text("/etc/shadow") == Path("/etc/shadow").read_text()
        assert "sudo" in t.info().details["via"]
    finally:
        t.close()


def test_refused_sudo_is_said_in_the_error(fleet: Fleet) -> None:
    t = _target(fleet, PLAIN_USER, become=True)
    t.connect()
    try:
        with pytest.raises(PermissionError, match="sudo -n was refused"):
            t.read_bytes("/etc/shadow")
        assert "refused" in t.info().details["become"]
        assert t.read_text("/etc/hostname") == Path("/etc/hostname").read_text()  # the rest still reads
    finally:
        t.close()


def test_unprivileged_login_reports_denied_not_missing(fleet: Fleet) -> None:
    t = _target(fleet, PLAIN_USER)
    t.connect()
    try:
        with pytest.raises(PermissionError, match="use --become"):
            t.read_bytes("/etc/shadow")
        listed = {p: e for p, e, _ in t.walk_modes(["/root", "/etc"], lambda p: False, 0)}
        assert isinstance(listed["/root"], PermissionError) or os.stat("/root").st_mode & 0o005
        assert not isinstance(listed["/etc"], OSError)
    finally:
        t.close()


def test_pipelined_listing_matches_the_file_system(fleet: Fleet) -> None:
    t = _target(fleet, "root")
    t.connect()
    try:
        dirs = sorted({str(p.parent) for p in Path("/usr/share/doc").glob("*/*")})[:300] + ["/nonexistent"]
        got = {p: e for p, e, _ in t.walk_modes(dirs, lambda p: False, 0)}
        assert isinstance(got["/nonexistent"], FileNotFoundError)
        for d in dirs[:-1]:
            expected = sorted((e.name, os.lstat(e.path).st_mode) for e in os.scandir(d))
            assert sorted(got[d]) == expected, d  # type: ignore[arg-type]
    finally:
        t.close()


def test_ssh_config_and_jump_host(fleet: Fleet) -> None:
    cfg = fleet.tmp / "ssh_config"
    cfg.write_text(f"Host bastion\n  HostName {LOOPBACK}\n  Port {fleet.jump.port}\n  User root\n"
                   f"  IdentityFile {fleet.key}\n"
                   f"Host inner-db\n  HostName {fleet.inner.address}\n  Port {fleet.inner.port}\n"
                   f"  User root\n  IdentityFile {fleet.key}\n  ProxyJump bastion\n"
                   f"  UserKnownHostsFile {fleet.known}\n")
    t = SSHTarget("ssh://inner-db", SSHOptions(config_file=str(cfg), timeout=5))
    t.connect()
    try:
        assert (t.host, t.port, t.user) == (fleet.inner.address, fleet.inner.port, "root")
        assert t.read_text("/etc/passwd") == Path("/etc/passwd").read_text()
    finally:
        t.close()
    assert "direct-tcpip" in fleet.jump.log.read_text(errors="replace")


def test_host_key_mismatch_is_refused(fleet: Fleet, tmp_path: Path) -> None:
    _keygen(tmp_path / "other")
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"[{LOOPBACK}]:{fleet.a.port} {(tmp_path / 'other.pub').read_text()}")
    t = SSHTarget(f"ssh://root@{LOOPBACK}:{fleet.a.port}", SSHOptions(key_file=str(fleet.key),
                                                                       known_hosts=str(wrong), timeout=5))
    with pytest.raises(TargetError, match="does not match"):
        t.connect()


def test_inventory_hosts_connect_with_their_own_settings(fleet: Fleet) -> None:
    inv = fleet.tmp / "hosts.ini"
    inv.write_text(f"[web]\nweb1 ansible_host={LOOPBACK} ansible_port={fleet.a.port} ansible_user={SUDO_USER}\n"
                   f"[db]\ndb1 ansible_host={fleet.inner.address} ansible_port={fleet.inner.port} ansible_become=yes\n"
                   f"[all:vars]\nansible_user=root\nansible_ssh_private_key_file={fleet.key}\n")
    hosts = load_inventory(inv).hosts()
    assert [(h.name, h.user, h.become) for h in hosts] == [("web1", SUDO_USER, False), ("db1", "root", True)]
    for h in hosts:
        t = SSHTarget(h.name, SSHOptions(known_hosts=str(fleet.known), timeout=5), _settings(h))
        t.connect()
        try:
            assert t.user == h.user and t.read_text("/etc/hostname")
        finally:
            t.close()


def _settings(h: InventoryHost) -> HostSettings:
    return HostSettings(alias=h.name, host=h.address, port=h.port, user=h.user, key_file=h.key_file, become=h.become)


def test_connection_lost_mid_scan_is_named(fleet: Fleet, tmp_path: Path) -> None:
    srv = _start(tmp_path, "doomed", LOOPBACK, fleet.authorized)
    known = tmp_path / "known"
    known.write_text(srv.known() + "\n")
    t = SSHTarget(f"ssh://root@{LOOPBACK}:{srv.port}", SSHOptions(key_file=str(fleet.key), known_hosts=str(known),
                                                                   timeout=3))
    t.connect()
    try:
        assert t.read_text("/etc/hostname")
        # Kill the server and the per-connection child: the session dies mid-scan.
        for pid in _descendants(srv.proc.pid):
            os.kill(pid, 9)
        srv.proc.kill()
        srv.proc.wait(timeout=5)
        with pytest.raises(OSError):
            for _ in range(3):
                t.read_bytes("/etc/passwd")
        assert t.info().details.get("lost")
    finally:
        t.close()


def test_listings_of_every_size_and_the_metadata_cache(fleet: Fleet, tmp_path: Path) -> None:
    """READDIR replies of OpenSSH hold 100 entries until the folder ends: folders of 0, 99,
    100, 101 and 250 entries are listed whole. stat, list_dir and read_bytes answered from
    what was already listed or read give what lstat and the file say."""
    base = Path(tempfile.mkdtemp(prefix="smbaudit-listing-"))
    try:
        for n in (0, 99, 100, 101, 250):
            d = base / f"d{n}"
            d.mkdir()
            for i in range(n):
                (d / f"f{i:03d}").write_text(str(i))
        links = base / "links"
        links.mkdir()
        for i in range(6):
            (links / f"file{i}").write_text("x" * i)
            (links / f"link{i}").symlink_to(f"file{i}")
        (links / "sub").mkdir()
        (links / "dangling").symlink_to("nowhere")
        t = _target(fleet, "root")
        t.connect()
        try:
            got = {p: e for p, e, _ in t.walk_modes([str(base)], lambda p: True, 2)}
            for n in (0, 99, 100, 101, 250):
                d = base / f"d{n}"
                assert sorted(got[str(d)]) == sorted((e.name, os.lstat(e.path).st_mode)  # type: ignore[arg-type]
                                                     for e in os.scandir(d)), n
            os.chown(base / "d99" / "f007", 54321, 54322)  # an owner no account has
            owned = {p: e for p, e, _ in t.walk_owners([str(base)], lambda p: True, 2)}
            for d in (base / "d99", links):
                assert sorted(owned[str(d)]) == sorted(  # type: ignore[arg-type]
                    (e.name, os.lstat(e.path).st_mode, os.lstat(e.path).st_uid, os.lstat(e.path).st_gid)
                    for e in os.scandir(d))
            for name in sorted(os.listdir(links)) + ["missing"]:
                p = links / name
                for follow in (False, True):
                    st = t.stat(str(p), follow=follow)
                    if not os.path.lexists(p) or (follow and not p.exists()):
                        assert st is None, (p, follow)
                        continue
                    real = os.stat(p) if follow else os.lstat(p)
                    assert st is not None and (st.mode, st.size, st.uid) == (real.st_mode & 0o7777, real.st_size, real.st_uid)
                    assert st.link_target == (os.readlink(p) if not follow and p.is_symlink() else None)
            assert t.stat(str(links / "nodir" / "x"), follow=False) is None
            assert t.list_dir(str(links)) == sorted(os.listdir(links))
            assert t.read_bytes(str(links / "file5")) == b"xxxxx"
            from smbaudit.errors import FileTooLarge
            with pytest.raises(FileTooLarge):
                t.read_bytes(str(links / "file5"), limit=3)  # from the cache, still whole or nothing
        finally:
            t.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)
