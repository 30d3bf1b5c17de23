"""Offline trees under attack: a process swapping a directory for a link out of the tree
(renameat2 RENAME_EXCHANGE, in a loop) while the scanner reads must never make it read, stat or
list anything outside the tree. Both resolvers are exercised: openat2 RESOLVE_IN_ROOT and the
per-component O_PATH | O_NOFOLLOW walk used where the kernel lacks openat2."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smbaudit.targets import inroot
from smbaudit.targets.posixfs import DirectoryTarget

# Swaps two paths until told to stop (a time and a count bound): a directory of the tree and a
# link out of it exchange names atomically, again and again.
RACER = r"""
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
a, b = os.fsencode(sys.argv[1]), os.fsencode(sys.argv[2])
end = time.monotonic() + float(sys.argv[3])
n = 0
while n < 2_000_000 and time.monotonic() < end:
    if libc.renameat2(-100, a, -100, b, 2) != 0:  # AT_FDCWD, RENAME_EXCHANGE
        sys.exit("renameat2: " + os.strerror(ctypes.get_errno()))
    n += 1
print(n)
"""
RACE_SECONDS = 1.5
MAX_OPS = 50_000

RESOLVERS = [pytest.param(True, id="openat2"), pytest.param(False, id="per-component")]


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    root, outside = tmp_path / "tree", tmp_path / "outside"
    (root / "a/sub").mkdir(parents=True)
    (root / "a/f").write_text("INSIDE\n")
    (root / "a/sub/g").write_text("INSIDE\n")
    outside.mkdir()
    (outside / "f").write_text("OUTSIDE-f\n")
    (outside / "sub").mkdir()
    (outside / "sub/g").write_text("OUTSIDE-g\n")
    (outside / "only-outside").write_text("x")
    os.symlink(str(outside), root / "abs")  # absolute link out of the tree
    os.symlink("../outside", root / "rel")  # relative link climbing out
    return root, outside


@pytest.mark.parametrize("use_openat2", RESOLVERS)
@pytest.mark.parametrize("link", ["abs", "rel"])
def test_a_rename_race_never_leads_out_of_the_tree(tmp_path: Path, use_openat2: bool, link: str) -> None:
    if use_openat2 and inroot._syscall is None:
        pytest.skip("no openat2 on this platform")
    root, _outside = _tree(tmp_path)
    target = DirectoryTarget("dir:tree", str(root), use_openat2=use_openat2)
    racer = subprocess.Popen([sys.executable, "-c", RACER, str(root / "a"), str(root / link),
                              str(RACE_SECONDS)], stdout=subprocess.PIPE, text=True)
    leaks: list[str] = []
    ops = 0
    end = time.monotonic() + RACE_SECONDS
    try:
        while ops < MAX_OPS and time.monotonic() < end:
            ops += 1
            try:
                data = target.read_bytes("/a/sub/g" if ops % 2 else "/a/f")
                if b"OUTSIDE" in data:
                    leaks.append(f"read {data!r}")
                st = target.stat("/a/sub/g")
                if st is not None and st.size != len("INSIDE\n"):
                    leaks.append(f"stat size {st.size}")
                if "only-outside" in target.list_dir("/a"):
                    leaks.append("listed the outside folder")
                if any(s.path.endswith("only-outside") for s in target.scan_dir("/a")):
                    leaks.append("scanned the outside folder")
            except OSError:
                continue  # the link's side of the swap: missing inside the tree, as it should be
    finally:
        out, _ = racer.communicate(timeout=30)
        target.close()
    assert racer.returncode == 0, "the racer could not swap"
    assert int(out) > 100, "the racer hardly ran"
    assert ops > 100
    assert leaks == []


@pytest.mark.parametrize("use_openat2", RESOLVERS)
def test_both_resolvers_agree(tmp_path: Path, use_openat2: bool) -> None:
    root, _outside = _tree(tmp_path)
    (root / "etc").mkdir()
    (root / "etc/real").write_text("R\n")
    os.symlink("/etc/real", root / "etc/abs-in")
    os.symlink("../etc/./real", root / "etc/rel-in")
    os.symlink("/a/../etc/abs-in", root / "etc/chain")
    os.symlink("/a/f/x", root / "etc/through-file")
    t = DirectoryTarget("dir:tree", str(root), use_openat2=use_openat2)
    for path in ("/etc/abs-in", "/etc/rel-in", "/etc/chain", "/../../etc/real", "/a/../etc/chain"):
        assert t.read_text(path) == "R\n", path
    assert t.stat("/etc/chain", follow=False).link_target == "/a/../etc/abs-in"
    assert t.stat("/etc/chain").type == "file"
    for path in ("/abs/f", "/rel/f", "/etc/through-file", "/a/f/x"):
        assert t.stat(path) is None, path
        with pytest.raises(OSError):
            t.read_bytes(path)
    assert t.stat("/abs", follow=False).type == "link"
    assert t.list_dir("/") == ["a", "abs", "etc", "rel"]
    assert t.list_dir("/etc/../a/sub") == ["g"]
    with pytest.raises(NotADirectoryError):
        t.list_dir("/a/f")
    with pytest.raises(IsADirectoryError):
        t.read_bytes("/a")
    t.close()


def test_devices_in_a_tree_are_never_opened(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    (root / "dev").mkdir(parents=True)
    try:
        os.mknod(root / "dev/null", 0o666 | 0o020000, os.makedev(1, 3))  # character device
    except PermissionError:
        pytest.skip("creating a device node needs root")
    t = DirectoryTarget("dir:tree", str(root))
    with pytest.raises(FileNotFoundError):
        t.read_bytes("/dev/null")
    assert t.stat("/dev/null").type == "other"
