"""Files smbaudit writes (reports, history store, log, lock): atomic, private, never through a link.

smbaudit usually runs as root, so any path it writes could be a link planted by someone else
to make root overwrite or create a file elsewhere. Every file and folder written here is opened
with O_NOFOLLOW (new files with O_EXCL), and a link where a file or folder should be is refused
with OutputRefused (exit 2, one line). Reports are private by default (files 0600, folders
created 0700, whatever the umask): they list a machine's weaknesses. `--share-reports` makes
them 0644 / 0755.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import os
import secrets
import stat
from pathlib import Path

from smbaudit.errors import SmbauditError

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
SHARED_FILE = 0o644
SHARED_DIR = 0o755

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


class OutputRefused(SmbauditError):
    """An output path that is a link (or otherwise not what it should be): nothing written."""


class AlreadyLocked(SmbauditError):
    """Another process holds the lock."""


def _refuse_link(path: Path, what: str) -> OutputRefused:
    return OutputRefused(f"{path} is a link; refusing to write the {what} through it "
                         "(give the real path)")


def make_dirs(path: str | Path, mode: int = PRIVATE_DIR) -> Path:
    """Create a folder and its missing parents with `mode` (not the umask's); an existing
    folder is kept as it is, but the folder itself must not be a link."""
    folder = Path(path)
    missing: list[Path] = []
    probe = folder
    while True:
        try:
            st = os.lstat(probe)
        except FileNotFoundError:
            missing.append(probe)
            if probe.parent == probe:
                break
            probe = probe.parent
            continue
        if stat.S_ISLNK(st.st_mode) and probe == folder:
            raise _refuse_link(folder, "output")
        break
    for p in reversed(missing):
        try:
            os.mkdir(p, mode)
        except FileExistsError:
            continue  # created meanwhile by someone else: kept as it is
        _chmod_dir(p, mode)
    return folder


def _chmod_dir(path: Path, mode: int) -> None:
    fd = os.open(path, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
    try:
        os.fchmod(fd, mode)  # mkdir applies the umask; the mode asked for is meant
    finally:
        os.close(fd)


def _open_folder(folder: Path) -> int:
    try:
        return os.open(folder, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _refuse_link(folder, "output") from None
        raise


def atomic_write(path: str | Path, data: bytes, mode: int = PRIVATE_FILE,
                 dir_mode: int = PRIVATE_DIR) -> Path:
    """Write `data` to a new temporary file beside `path` (O_EXCL | O_NOFOLLOW), fsync it,
    then rename it into place, all relative to a descriptor of the folder opened without
    following links. A link at `path` or at its folder is refused."""
    dest = Path(path)
    make_dirs(dest.parent, dir_mode)
    dir_fd = _open_folder(dest.parent)
    try:
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISLNK(os.lstat(dest.name, dir_fd=dir_fd).st_mode):
                raise _refuse_link(dest, "report")
        tmp = f".{dest.name}.{secrets.token_hex(6)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, mode,
                     dir_fd=dir_fd)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fchmod(fh.fileno(), mode)
                os.fsync(fh.fileno())
            os.replace(tmp, dest.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=dir_fd)
            raise
        with contextlib.suppress(OSError):
            os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return dest


def refuse_links(path: str | Path) -> None:
    """OutputRefused when `path` or its folder is a link."""
    dest = Path(path)
    for p, what in ((dest, "report"), (dest.parent, "output")):
        if p.is_symlink():
            raise _refuse_link(p, what)


def open_private(path: str | Path, flags: int, what: str, mode: int = PRIVATE_FILE) -> int:
    """A descriptor on a regular file, created `mode` when missing, never through a link."""
    p = Path(path)
    try:
        fd = os.open(p, flags | os.O_CREAT | _NOFOLLOW | _CLOEXEC, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _refuse_link(p, what) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OutputRefused(f"{p} is not a regular file; refusing to use it as the {what}")
    return fd


def ensure_private_file(path: str | Path, what: str) -> None:
    """Create `path` (0600, folder 0700) unless it exists; refuse a link there, also at the
    SQLite companions `-wal`, `-shm` and `-journal` that live beside a database."""
    p = Path(path)
    make_dirs(p.parent, PRIVATE_DIR)
    for extra in ("-wal", "-shm", "-journal"):
        companion = Path(f"{p}{extra}")
        if companion.is_symlink():
            raise _refuse_link(companion, what)
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        try:
            os.close(open_private(p, os.O_WRONLY | os.O_EXCL, what))
        except FileExistsError:
            st = os.lstat(p)  # created meanwhile by another run: checked below
        else:
            return
    # An existing file is checked, never opened here: closing a descriptor of an SQLite file
    # would drop the POSIX locks this process may hold on it through another connection.
    if stat.S_ISLNK(st.st_mode):
        raise _refuse_link(p, what)
    if not stat.S_ISREG(st.st_mode):
        raise OutputRefused(f"{p} is not a regular file; refusing to use it as the {what}")


def open_append_text(path: str | Path, what: str = "log file") -> io.TextIOWrapper:
    """A text stream appending to `path` (created 0600), never through a link."""
    p = Path(path)
    make_dirs(p.parent, PRIVATE_DIR)
    fd = open_private(p, os.O_WRONLY | os.O_APPEND, what)
    return os.fdopen(fd, "a", encoding="utf-8")


class ExclusiveLock:
    """An advisory lock (flock) on a file created 0600 without following links."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self) -> None:
        make_dirs(self.path.parent, PRIVATE_DIR)
        fd = open_private(self.path, os.O_RDWR, "lock")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyLocked(f"another process holds the lock {self.path}") from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None
