"""Outputs, the history store, the log and the lock are never written through a link; reports
are private (0600, folders 0700) unless --share-reports."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from smbaudit import fsutil


def _scan(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True, exist_ok=True)
    (tree / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMBAUDIT")}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")
    env["XDG_STATE_HOME"] = str(tmp_path / "xdg-state")
    return subprocess.run([sys.executable, "-m", "smbaudit", "scan", f"dir:{tree}", "--select",
                           "files.passwd-permissions", "-q", "--fail-on", "none", *args],
                          cwd=tmp_path, env=env, text=True, capture_output=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def _refused(result: subprocess.CompletedProcess[str], what: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "is a link" in lines[0] and what in lines[0], result.stderr


def test_reports_are_private_by_default_and_shared_on_request(tmp_path: Path) -> None:
    os.umask(0o022)
    result = _scan(tmp_path, "--no-history", "-o", str(tmp_path / "new/out"))
    assert result.returncode == 0, result.stderr
    for name in ("report.html", "report.json"):
        assert stat.S_IMODE((tmp_path / "new/out" / name).stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "new/out").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    result = _scan(tmp_path, "--no-history", "--share-reports", "-o", str(tmp_path / "pub"))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((tmp_path / "pub/report.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "pub").stat().st_mode) == 0o755


def test_an_output_folder_link_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    os.symlink(victim, tmp_path / "smbaudit-report")  # pre-planted default output folder
    _refused(_scan(tmp_path, "--no-history"), "smbaudit-report")
    os.symlink(victim, tmp_path / "out-link")
    _refused(_scan(tmp_path, "--no-history", "-o", str(tmp_path / "out-link")), "out-link")
    assert list(victim.iterdir()) == []


def test_an_output_file_link_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim.json"
    victim.write_text("keep")
    os.symlink(victim, tmp_path / "r.json")
    _refused(_scan(tmp_path, "--no-history", "-f", "json", "-o", str(tmp_path / "r.json")), "r.json")
    assert victim.read_text() == "keep"


def test_history_log_and_lock_links_are_refused(tmp_path: Path) -> None:
    dangling = tmp_path / "created-by-root"
    os.symlink(dangling, tmp_path / "db.sqlite3")
    _refused(_scan(tmp_path, "--db", str(tmp_path / "db.sqlite3"), "-o", str(tmp_path / "o1")),
             "history database")
    assert not dangling.exists()

    log_victim = tmp_path / "log-victim"
    log_victim.write_text("keep\n")
    os.symlink(log_victim, tmp_path / "scan.log")
    _refused(_scan(tmp_path, "--no-history", "--log-file", str(tmp_path / "scan.log"),
                   "-o", str(tmp_path / "o2")), "log file")
    assert log_victim.read_text() == "keep\n"

    lock_victim = tmp_path / "lock-victim"
    lock_victim.write_text("keep\n")
    os.symlink(lock_victim, tmp_path / "scan.lock")
    _refused(_scan(tmp_path, "--no-history", "--lock", str(tmp_path / "scan.lock"),
                   "-o", str(tmp_path / "o3")), "lock")
    assert lock_victim.read_text() == "keep\n"


def test_history_log_and_lock_are_private(tmp_path: Path) -> None:
    os.umask(0o022)
    result = _scan(tmp_path, "--db", str(tmp_path / "h/db.sqlite3"), "--log-file",
                   str(tmp_path / "logs/scan.log"), "--lock", str(tmp_path / "locks/scan.lock"),
                   "-o", str(tmp_path / "o"))
    assert result.returncode == 0, result.stderr
    for p in ("h/db.sqlite3", "logs/scan.log", "locks/scan.lock"):
        assert stat.S_IMODE((tmp_path / p).stat().st_mode) == 0o600, p
        assert stat.S_IMODE((tmp_path / p).parent.stat().st_mode) == 0o700, p


def test_atomic_write_never_follows_a_link(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    os.symlink(target, tmp_path / "folder")
    with pytest.raises(fsutil.OutputRefused):
        fsutil.atomic_write(tmp_path / "folder/report.json", b"{}")
    assert list(target.iterdir()) == []
    fsutil.atomic_write(tmp_path / "real/report.json", b"{}")
    assert (tmp_path / "real/report.json").read_bytes() == b"{}"
    assert [p.name for p in (tmp_path / "real").iterdir()] == ["report.json"]  # no temp left


def test_lock_is_exclusive(tmp_path: Path) -> None:
    first, second = fsutil.ExclusiveLock(tmp_path / "l"), fsutil.ExclusiveLock(tmp_path / "l")
    first.acquire()
    with pytest.raises(fsutil.AlreadyLocked):
        second.acquire()
    first.release()
    second.acquire()
    second.release()
