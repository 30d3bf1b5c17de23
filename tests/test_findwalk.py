"""The special-files walk done by GNU find gives the answers of the walk done in Python."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smbaudit.errors import ProbeTimeout
from smbaudit.probes.base import INCOMPLETE, ProbeContext
from smbaudit.probes.special_files import MAX_FOUND, SpecialFilesProbe
from smbaudit.targets import findwalk
from smbaudit.targets.posixfs import LocalTarget

INTERESTING = stat.S_IWOTH | stat.S_ISUID | stat.S_ISGID
SRC = str(Path(__file__).resolve().parents[1] / "src")
pytestmark = pytest.mark.skipif(not os.access(findwalk.FIND, os.X_OK) and os.environ.get("CI") != "true",
                                reason="GNU find is not installed")


class PythonWalkTarget(LocalTarget):
    """This host, walked in Python only."""

    native_walk = None  # type: ignore[assignment]


def ctx() -> ProbeContext:
    return ProbeContext(deadline=time.monotonic() + 120, timeout=5)


def both(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    probe = SpecialFilesProbe()
    return (probe.collect(LocalTarget(), params, ctx()),
            probe.collect(PythonWalkTarget(), params, ctx()))


@pytest.fixture
def tree() -> Iterator[Path]:
    """A tree with every kind of entry the walk looks for, in a folder `nobody` can enter."""
    root = Path(tempfile.mkdtemp(prefix="smbaudit-findwalk-"))
    root.chmod(0o755)
    files = {"bin/su": 0o4755, "bin/wall": 0o2755, "bin/ls": 0o755, "etc/open": 0o666,
             "etc/name with spaces": 0o4700, "etc/line\nbreak": 0o4711, "share/ok": 0o644}
    for rel, mode in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
        path.chmod(mode)
    (root / "tmp").mkdir(mode=0o1777)
    (root / "tmp").chmod(0o1777)
    (root / "drop").mkdir()
    (root / "drop").chmod(0o777)
    os.symlink("/etc/passwd", root / "etc/link")
    os.symlink("../bin", root / "share/bin-link")
    (root / os.fsdecode(b"etc/caf\xe9")).write_text("x")  # not UTF-8
    os.chmod(root / os.fsdecode(b"etc/caf\xe9"), 0o4755)
    deep = root / "deep"
    for level in range(6):
        deep = deep / f"d{level}"
    deep.mkdir(parents=True)
    (deep / "setuid").write_text("x")
    (deep / "setuid").chmod(0o4755)
    (root / "skip/inner").mkdir(parents=True)
    (root / "skip/inner/setuid").write_text("x")
    (root / "skip/inner/setuid").chmod(0o4755)
    if os.geteuid() == 0:
        os.chown(root / "share/ok", 54321, 0)  # no such user
        os.chown(root / "etc/open", 0, 54322)  # no such group
        os.lchown(root / "etc/link", 54321, 54322)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_same_facts_as_the_python_walk_on_a_built_tree(tree: Path) -> None:
    params = {"roots": [str(tree)], "exclude": [f"{tree}/skip"], "allow": [f"{tree}/bin/su"]}
    native, python = both(params)
    assert native == python
    assert native["scanned"] > 20
    assert {e["path"] for e in native["setuid"]} >= {
        f"{tree}/bin/wall", f"{tree}/etc/name with spaces", f"{tree}/etc/line\nbreak",
        f"{tree}/deep/d0/d1/d2/d3/d4/d5/setuid", os.fsdecode(os.fsencode(f"{tree}/etc/caf") + b"\xe9")}
    assert native["allowed"] == [f"{tree}/bin/su"]
    assert not any("/skip/" in e["path"] for e in native["setuid"])  # excluded: not entered
    assert {e["path"] for e in native["world_writable"]} == {f"{tree}/etc/open", f"{tree}/drop"}
    if os.geteuid() == 0:
        assert {(e["path"], e["no_user"], e["no_group"]) for e in native["unowned"]} == {
            (f"{tree}/share/ok", True, False), (f"{tree}/etc/open", False, True),
            (f"{tree}/etc/link", True, True)}


def test_same_depth_limit_as_the_python_walk(tree: Path) -> None:
    native, python = both({"roots": [str(tree)], "max_depth": 3})
    assert native == python
    assert "deeper than 3 levels" in native[INCOMPLETE]
    assert f"({tree}/deep/d0/d1/d2)" in native[INCOMPLETE]
    assert not any(e["path"].endswith("d5/setuid") for e in native["setuid"])
    # an excluded folder past the limit is not called too deep
    native, python = both({"roots": [str(tree)], "max_depth": 3, "exclude": [f"{tree}/deep/*"]})
    assert native == python and INCOMPLETE not in native


def test_same_facts_on_this_hosts_own_trees() -> None:
    # /etc and /usr only: other tests add accounts and their homes, which must not race this one
    params = {"roots": ["/etc", "/usr"], "allow": ["/usr/bin/*"]}
    native, python = both(params)
    assert native == python
    assert native["scanned"] > 1000


def test_a_root_that_is_a_link_is_followed_and_links_below_are_not(tree: Path) -> None:
    top = Path(tempfile.mkdtemp(prefix="smbaudit-findwalk-link-"))
    try:
        os.symlink(tree / "bin", top / "bin")
        native, python = both({"roots": [str(top / "bin")]})
        assert native == python
        assert {e["path"] for e in native["setuid"]} == {f"{top}/bin/su", f"{top}/bin/wall"}
    finally:
        shutil.rmtree(top)


def test_the_walk_stops_at_the_entry_limit(tree: Path) -> None:
    walk = findwalk.find_walk([str(tree)], [], 32, None, lambda: None, 5, MAX_FOUND, INTERESTING)
    assert walk is not None and walk.stopped and walk.scanned >= 5


def test_a_deadline_stops_the_walk(tree: Path) -> None:
    calls = []

    def check() -> None:
        calls.append(1)
        raise ProbeTimeout("probe ran past its deadline")

    with pytest.raises(ProbeTimeout):
        findwalk.find_walk([str(tree)], [], 32, None, check, 10**6, MAX_FOUND, INTERESTING)
    assert calls == [1]


def test_the_python_walk_runs_where_find_cannot(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # an exclusion pattern that fnmatch and find could read differently
    assert findwalk.find_walk([str(tree)], [r"/a\*b"], 32, None, lambda: None, 10**6, MAX_FOUND,
                              INTERESTING) is None
    assert findwalk.find_walk([str(tree)], ["/x[!y]"], 32, None, lambda: None, 10**6, MAX_FOUND,
                              INTERESTING) is None
    # a find that is not GNU find (no -printf): the probe still answers, from the Python walk
    fake = tree / "find"
    fake.write_text("#!/bin/sh\necho 'find: unknown predicate -printf' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(findwalk, "FIND", str(fake))
    assert findwalk.find_walk([str(tree)], [], 32, None, lambda: None, 10**6, MAX_FOUND,
                              INTERESTING) is None
    native, python = both({"roots": [str(tree)]})
    assert native == python and native["setuid"]
    monkeypatch.setattr(findwalk, "FIND", str(tree / "missing"))
    assert findwalk.find_walk([str(tree)], [], 32, None, lambda: None, 10**6, MAX_FOUND,
                              INTERESTING) is None


_AS_NOBODY = """
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
from smbaudit.probes.base import ProbeContext
from smbaudit.probes.special_files import SpecialFilesProbe
from smbaudit.targets.posixfs import LocalTarget
class PythonWalkTarget(LocalTarget):
    native_walk = None
os.setgroups([])
os.setgid(65534)
os.setuid(65534)
out = []
for target in (LocalTarget(), PythonWalkTarget()):
    ctx = ProbeContext(deadline=time.monotonic() + 60, timeout=5)
    out.append(SpecialFilesProbe().collect(target, {"roots": [sys.argv[2]]}, ctx))
print(json.dumps(out))
"""


def test_unreadable_folders_are_named_as_the_python_walk_names_them(tree: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to run the walk as nobody")
    (tree / "etc").chmod(0o700)
    (tree / "bin").chmod(0o700)
    proc = subprocess.run([sys.executable, "-c", _AS_NOBODY, SRC, str(tree)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    native, python = json.loads(proc.stdout)
    assert native == python
    assert native["unreadable"] == [f"{tree}/bin", f"{tree}/etc"]
    assert "2 folder(s) could not be read" in native[INCOMPLETE]


def test_plain_exclusions_outside_the_roots_are_left_out_of_the_walk() -> None:
    assert findwalk._reachable(["/proc", "/usr/src", "/usr", "*/cache", "/opt/x[0-9]"],
                               ["/usr", "/etc/"]) == ["/usr/src", "*/cache", "/opt/x[0-9]"]
