"""Nothing is created or changed under a scanned tree, byte for byte, including trees with dpkg
and rpm package databases; and a `var` link out of the tree reads nothing of its target."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from click.testing import CliRunner

from conftest import tree_snapshot
from hostcfg_util import put
from smbaudit.cli import cli
from vulndb_util import dpkg_para, rpm_header, rpmdb_sqlite


def _scan(root: Path, out: Path) -> dict:
    result = CliRunner().invoke(cli, ["scan", f"dir:{root}", "-f", "json", "-o", str(out), "-q",
                                      "--fail-on", "none", "--no-history"])
    assert result.exit_code in (0, 3), result.output
    return json.loads(out.read_text())


def _full_snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """Content and mode (tree_snapshot) plus size and mtime of every entry."""
    snap: dict[str, tuple[object, ...]] = dict(tree_snapshot(root))
    for path in list(snap):
        st = os.lstat(path)
        snap[path] = (*snap[path], st.st_size, st.st_mtime_ns)
    return snap


def _rpm_tree(root: Path, name: str) -> None:
    put(root, "/etc/os-release", 'ID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\n'
        'PRETTY_NAME="Rocky Linux 9.3"\n')
    put(root, "/etc/passwd", "root:x:0:0::/root:/bin/bash\n")
    rpmdb_sqlite(root / "var/lib/rpm/rpmdb.sqlite",
                 [rpm_header(name, "3.0.7", "24.el9", epoch=1, sourcerpm=f"{name}-3.0.7-24.el9.src.rpm")])


def test_a_tree_with_an_rpm_database_is_left_byte_for_byte(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _rpm_tree(root, "openssl")
    before = _full_snapshot(root)
    _scan(root, tmp_path / "r.json")
    assert _full_snapshot(root) == before  # no rpmdb.sqlite-shm / -wal, nothing touched


def test_a_tree_with_a_dpkg_database_is_left_byte_for_byte(tmp_path: Path) -> None:
    root = tmp_path / "root"
    put(root, "/etc/os-release", 'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n'
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')
    put(root, "/etc/passwd", "root:x:0:0::/root:/bin/bash\n")
    put(root, "/var/lib/dpkg/status", dpkg_para("openssl", "3.0.11-1~deb12u1"))
    before = _full_snapshot(root)
    _scan(root, tmp_path / "r.json")
    assert _full_snapshot(root) == before


def test_a_var_link_out_of_the_tree_reads_nothing_there(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _rpm_tree(outside, "host-only-package")
    root = tmp_path / "root"
    _rpm_tree(root, "openssl")
    shutil.rmtree(root / "var")
    os.symlink(outside / "var", root / "var")  # absolute: resolved inside the tree, where it is missing
    before_outside, before_root = _full_snapshot(outside), _full_snapshot(root)
    data = _scan(root, tmp_path / "r.json")
    assert "host-only-package" not in json.dumps(data)
    assert _full_snapshot(outside) == before_outside
    assert _full_snapshot(root) == before_root
