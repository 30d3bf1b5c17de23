"""No silent truncation: a file over its reader's limit is never evaluated as if complete; the
checks that need it end `error` and say why."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from hostcfg_util import put
from smbaudit.cli import cli
from smbaudit.errors import FileTooLarge, NotReadable
from smbaudit.probes._common import MAX_CONFIG_BYTES, MAX_LINES
from smbaudit.targets.posixfs import DirectoryTarget, LocalTarget


def _scan(root: Path, out: Path, *extra: str) -> dict:
    result = CliRunner().invoke(cli, ["scan", f"dir:{root}", "-f", "json", "-o", str(out),
                                      "--fail-on", "none", "-q", *extra])
    assert result.exit_code in (0, 3), result.output
    return json.loads((out / "report.json").read_text() if out.is_dir() else out.read_text())


def _by_id(data: dict) -> dict[str, dict]:
    return {f["check_id"]: f for f in data["findings"]}


@pytest.mark.parametrize("padding", ["bytes", "lines"])
def test_padding_does_not_hide_a_root_login(tmp_path: Path, padding: str) -> None:
    """sshd reads the whole file (sshd -T says yes to both); so must the scanner, or say it could not."""
    root = tmp_path / "root"
    filler = ("#" + "x" * 78 + "\n") * (MAX_CONFIG_BYTES // 80 + 2000) if padding == "bytes" \
        else "\n" * (MAX_LINES + 10)
    put(root, "/etc/ssh/sshd_config", filler + "PermitRootLogin yes\nPermitEmptyPasswords yes\n")
    put(root, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    data = _by_id(_scan(root, tmp_path / "r.json", "--select", "ssh.root-login",
                        "--select", "ssh.permit-empty-passwords"))
    for check_id in ("ssh.root-login", "ssh.permit-empty-passwords"):
        finding = data[check_id]
        assert finding["status"] == "error", finding
        assert "not assessed" in finding["reason"]
        assert "/etc/ssh/sshd_config" in finding["reason"]
    if padding == "bytes":
        assert "larger than 2 MB" in data["ssh.root-login"]["reason"]


@pytest.mark.parametrize("target", ["dir", "local"])
def test_reads_are_whole_or_refused(tmp_path: Path, target: str) -> None:
    root = tmp_path / "root"
    put(root, "/etc/big", "a" * 1000)
    put(root, "/etc/exact", "b" * 100)
    t = DirectoryTarget("dir:x", str(root)) if target == "dir" else LocalTarget()
    prefix = "" if target == "dir" else str(root)
    with pytest.raises(FileTooLarge) as err:
        t.read_bytes(f"{prefix}/etc/big", 999)
    assert isinstance(err.value, NotReadable)
    assert "larger than 999 bytes; not assessed" in str(err.value)
    assert t.read_bytes(f"{prefix}/etc/exact", 100) == b"b" * 100
    assert t.read_bytes(f"{prefix}/etc/big", 1000) == b"a" * 1000


def test_proc_files_are_measured_as_read() -> None:
    """/proc files say size 0: the limit is counted on the bytes actually read."""
    t = LocalTarget()
    with pytest.raises(FileTooLarge):
        t.read_bytes("/proc/self/status", 16)
    assert b"Name:" in t.read_bytes("/proc/self/status")


@pytest.mark.parametrize("kind", ["local", "dir"])
def test_a_file_is_read_in_pieces_within_its_limit(tmp_path: Path, kind: str) -> None:
    """read_pieces: the same bytes as read_bytes, in pieces of at most the size asked, the same
    errors (past the limit, not a regular file, missing); a large index is never held whole."""
    root = tmp_path / "root"
    content = bytes(range(256)) * 4099  # 1,049,344 bytes
    put(root, "/var/lib/apt/lists/index", "")
    (root / "var/lib/apt/lists/index").write_bytes(content)
    os.mkfifo(root / "var/lib/apt/lists/fifo")
    if kind == "local":
        target, base = LocalTarget(), str(root)
    else:
        target, base = DirectoryTarget("dir:test", str(root)), ""
    path = f"{base}/var/lib/apt/lists/index"
    pieces = list(target.read_pieces(path, 1 << 30, size=100_000))
    assert b"".join(pieces) == content == target.read_bytes(path, 1 << 30)
    assert len(pieces) == 11 and max(map(len, pieces)) == 100_000
    with pytest.raises(FileTooLarge):
        list(target.read_pieces(path, len(content) - 1, size=100_000))
    assert b"".join(target.read_pieces(path, len(content), size=100_000)) == content
    with pytest.raises(FileNotFoundError):
        list(target.read_pieces(f"{base}/var/lib/apt/lists/fifo"))  # never opened: it could block
    with pytest.raises(FileNotFoundError):
        list(target.read_pieces(f"{base}/var/lib/apt/lists/missing"))
    with pytest.raises(IsADirectoryError):
        list(target.read_pieces(f"{base}/var/lib/apt/lists"))
