"""File-system targets: offline trees never lead outside themselves; nothing blocks or writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from smbaudit.errors import TargetError, UnsupportedOperation
from smbaudit.targets.posixfs import DirectoryTarget, LocalTarget
from smbaudit.targets.specs import parse_host_spec


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "etc/ssh").mkdir(parents=True)
    (root / "etc/ssh/sshd_config").write_text("PermitRootLogin no\n")
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\nstaff:x:1000:\n")
    outside = tmp_path / "secret.txt"
    outside.write_text("outside the tree\n")
    os.symlink(str(outside), root / "etc/abs-escape")  # absolute link pointing outside
    os.symlink("../../../secret.txt", root / "etc/rel-escape")  # relative link climbing out
    os.symlink("/etc/ssh/sshd_config", root / "etc/inside")  # absolute link meant for the tree
    os.symlink("loop2", root / "etc/loop1")
    os.symlink("loop1", root / "etc/loop2")
    os.mkfifo(root / "etc/fifo")
    return root


def test_links_resolve_inside_the_tree(tree: Path) -> None:
    t = DirectoryTarget("dir:x", str(tree))
    assert t.read_text("/etc/inside") == "PermitRootLogin no\n"
    for path in ("/etc/abs-escape", "/etc/rel-escape"):
        with pytest.raises(FileNotFoundError):
            t.read_text(path)
        assert t.stat(path) is None
    assert t.read_text("/../../etc/ssh/sshd_config") == "PermitRootLogin no\n"


def test_loops_and_fifos_do_not_hang(tree: Path) -> None:
    t = DirectoryTarget("dir:x", str(tree))
    assert t.stat("/etc/loop1") is None
    with pytest.raises(FileNotFoundError):
        t.read_bytes("/etc/fifo")  # opening a FIFO would block forever
    assert t.stat("/etc/fifo").type == "other"


def test_owner_names_come_from_the_trees_accounts(tree: Path) -> None:
    t = DirectoryTarget("dir:x", str(tree))
    st = t.stat("/etc/ssh/sshd_config")
    uid = os.getuid()
    expected = {0: "root", 1000: "alice"}.get(uid)
    assert st is not None and st.owner == expected
    assert st.mode_octal == f"{os.stat(tree / 'etc/ssh/sshd_config').st_mode & 0o7777:04o}"


def test_glob_and_walk(tree: Path) -> None:
    t = DirectoryTarget("dir:x", str(tree))
    assert t.glob("/etc/ssh/*") == ["/etc/ssh/sshd_config"]
    assert "/etc/ssh/sshd_config" in t.glob("/etc/**/sshd_config")
    assert t.glob("/nonexistent/*") == []
    walked = {d for d, _, _ in t.walk("/")}
    assert walked == {"/", "/etc", "/etc/ssh"}


def test_offline_tree_cannot_run_commands(tree: Path) -> None:
    with pytest.raises(UnsupportedOperation):
        DirectoryTarget("dir:x", str(tree)).run(["id"], timeout=5)


def test_local_target_reads_and_runs() -> None:
    t = LocalTarget()
    assert t.live and "root" in t.read_text("/etc/passwd")
    assert t.run(["true"], timeout=5).returncode == 0


def test_specs(tmp_path: Path) -> None:
    assert isinstance(parse_host_spec("local"), LocalTarget)
    with pytest.raises(TargetError, match="does not look like a root file system"):
        parse_host_spec(f"dir:{tmp_path}")  # empty: nothing the checks can read
    assert isinstance(parse_host_spec(f"dir:{tmp_path}", force=True), DirectoryTarget)
    (tmp_path / "etc").mkdir()
    assert isinstance(parse_host_spec(f"dir:{tmp_path}"), DirectoryTarget)
    assert parse_host_spec("192.0.2.1") is None
    with pytest.raises(TargetError):
        parse_host_spec(f"dir:{tmp_path}/missing")
    with pytest.raises(TargetError):
        parse_host_spec("dir:")
