"""File-system targets: this host (`local`) and an offline tree (`dir:PATH`)."""

from __future__ import annotations

import errno
import io
import os
import platform
import pwd
import grp
import stat as stat_mod
from abc import abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import BinaryIO

from smbaudit.errors import FileTooLarge, PathNotReadable
from smbaudit.models import TargetInfo
from smbaudit.runner import RunResult, run
from smbaudit.targets.findwalk import TreeWalk, find_walk
from smbaudit.targets.base import MAX_READ, FileStat, HostTarget, file_type, walk_listings
from smbaudit.targets.inroot import InRoot

_CHUNK = 256 * 1024


@contextmanager
def _readable(target: HostTarget, path: str) -> Iterator[None]:
    """A permission error while reading `path` becomes the target's plain-words NotReadable."""
    try:
        yield
    except PathNotReadable:
        raise
    except PermissionError:
        raise target.not_readable(path) from None


class _PosixTarget(HostTarget):
    """What POSIX-like targets share: metadata as FileStat, owner names from the target's own
    account files."""

    def _file_stat(self, path: str, st: os.stat_result, link_target: str | None) -> FileStat:
        return FileStat(
            path=path,
            type=file_type(st.st_mode),
            mode=st.st_mode & 0o7777,
            uid=st.st_uid,
            gid=st.st_gid,
            size=st.st_size,
            mtime=st.st_mtime,
            owner=self.user_name(st.st_uid),
            group=self.group_name(st.st_gid),
            link_target=link_target,
        )

    def dir_owners(self, path: str) -> list[tuple[str, int, int, int]]:
        raise NotImplementedError

    def walk_owners(self, roots: list[str], descend: Callable[[str], bool], max_depth: int
                    ) -> Iterator[tuple[str, list[tuple[str, int, int, int]] | OSError, int]]:
        """As `walk_modes`, with each entry's uid and gid too (the lstat is made anyway)."""
        return walk_listings(self.dir_owners, roots, descend, max_depth)

    def _scan(self, path: str, where: str | int) -> list[FileStat]:
        """One directory's entries (a path, or a descriptor whose entries are stat'ed relative
        to it) with their own metadata: links not followed, link targets not read
        (`stat(path, follow=False)` gives one); sorted."""
        base = path.rstrip("/")
        found = [self._file_stat(f"{base}/{name}", st, None) for name, st in _lstat_entries(where)]
        return sorted(found, key=lambda f: f.path)

    # Owner names come from the target's own account files, not from the scanning host.
    @cached_property
    def _users(self) -> dict[int, str]:
        return self._id_names("/etc/passwd")

    @cached_property
    def _groups(self) -> dict[int, str]:
        return self._id_names("/etc/group")

    def _id_names(self, path: str) -> dict[int, str]:
        try:
            return _parse_id_file(self.read_text_or_none(path) or "")
        except FileTooLarge:
            return {}  # names unknown (None); the account probes report the file themselves

    def user_name(self, uid: int) -> str | None:
        return self._users.get(uid)

    def group_name(self, gid: int) -> str | None:
        return self._groups.get(gid)


def _lstat_entries(where: str | int) -> Iterator[tuple[str, os.stat_result]]:
    """(name, lstat) of a directory's entries (a path, or a descriptor whose entries are stat'ed
    relative to it), links not followed; an entry gone before its lstat is left out."""
    with os.scandir(where) as entries:
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            yield entry.name, st


def _dir_modes(where: str | int) -> list[tuple[str, int]]:
    return [(name, st.st_mode) for name, st in _lstat_entries(where)]


def _dir_owners(where: str | int) -> list[tuple[str, int, int, int]]:
    """(name, st_mode, uid, gid) of a directory's entries, links not followed."""
    return [(name, st.st_mode, st.st_uid, st.st_gid) for name, st in _lstat_entries(where)]


def _read_whole(fh: BinaryIO, path: str, limit: int) -> bytes:
    """The whole file, in small reads (/proc files refuse one huge read, and most files are
    small); FileTooLarge past `limit` bytes. Sizes are counted as read, not taken from stat:
    /proc files say 0, and a file may grow while it is read."""
    buf = io.BytesIO()  # its getvalue() hands over the buffer: a large file is not held twice
    left = limit + 1
    while left > 0:
        chunk = fh.read(min(left, _CHUNK))
        if not chunk:
            break
        buf.write(chunk)
        left -= len(chunk)
    if left <= 0:
        raise FileTooLarge(path, limit)
    return buf.getvalue()


def _parse_id_file(text: str) -> dict[int, str]:
    ids: dict[int, str] = {}
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[2].isdigit():
            ids.setdefault(int(fields[2]), fields[0])
    return ids


class _DescriptorTarget(_PosixTarget):
    """A target whose files this process opens itself (this host, an offline tree): files are
    read from a descriptor, whole or a piece at a time."""

    @abstractmethod
    def _open_regular(self, path: str, limit: int) -> int:
        """A descriptor of the regular file at `path`, opened for reading (the errors of
        `read_bytes`, FileTooLarge when its size is already known to be past `limit`)."""

    def read_bytes(self, path: str, limit: int = MAX_READ) -> bytes:
        with _readable(self, path):
            fd = self._open_regular(path, limit)
        with os.fdopen(fd, "rb", buffering=0) as fh:
            return _read_whole(fh, path, limit)

    def read_pieces(self, path: str, limit: int = MAX_READ, size: int = _CHUNK) -> Iterator[bytes]:
        with _readable(self, path):
            fd = self._open_regular(path, limit)
        with os.fdopen(fd, "rb", buffering=0) as fh:
            total = 0
            for _ in range(limit // max(1, size) + 2):  # bounded: each pass reads a piece
                piece = fh.read(size)
                if not piece:
                    return
                total += len(piece)
                if total > limit:
                    raise FileTooLarge(path, limit)
                yield piece
            raise FileTooLarge(path, limit)


class LocalTarget(_DescriptorTarget):
    """This host, read live. Commands may be run (read-only ones, through the runner)."""

    live = True

    def __init__(self, name: str = "local"):
        self.name = name
        self._names: dict[int, str | None] = {}
        self._group_names: dict[int, str | None] = {}

    @staticmethod
    def _real(path: str) -> str:
        if not path.startswith("/"):
            raise FileNotFoundError(errno.ENOENT, "target paths are absolute", path)
        return path  # the operating system follows links (or not) as asked

    def _open_regular(self, path: str, limit: int) -> int:
        real = self._real(path)
        kind = file_type(os.stat(real).st_mode)
        if kind == "dir":
            raise IsADirectoryError(errno.EISDIR, "is a directory", path)
        if kind != "file":
            # FIFOs and devices could block or never end: a scanner does not read them.
            raise FileNotFoundError(errno.ENOENT, "not a regular file", path)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
        try:
            return os.open(real, flags | getattr(os, "O_NOATIME", 0))
        except PermissionError:
            return os.open(real, flags)  # O_NOATIME needs ownership; fall back

    def stat(self, path: str, follow: bool = True) -> FileStat | None:
        try:
            real = self._real(path)
            st = os.stat(real, follow_symlinks=follow)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENAMETOOLONG):
                return None
            if isinstance(exc, PermissionError):
                raise self.not_readable(path) from None
            raise
        link = os.readlink(real) if stat_mod.S_ISLNK(st.st_mode) else None
        return self._file_stat(path, st, link)

    def _real_dir(self, path: str) -> str:
        real = self._real(path)
        if not os.path.isdir(real):
            raise NotADirectoryError(errno.ENOTDIR, "not a directory", path)
        return real

    def list_dir(self, path: str) -> list[str]:
        with _readable(self, path):
            return sorted(os.listdir(self._real_dir(path)))

    def dir_modes(self, path: str) -> list[tuple[str, int]]:
        with _readable(self, path):
            return _dir_modes(self._real_dir(path))

    def dir_owners(self, path: str) -> list[tuple[str, int, int, int]]:
        with _readable(self, path):
            return _dir_owners(self._real_dir(path))

    def scan_dir(self, path: str) -> list[FileStat]:
        with _readable(self, path):
            return self._scan(path, self._real_dir(path))

    def user_name(self, uid: int) -> str | None:
        if uid not in self._names:
            try:
                self._names[uid] = pwd.getpwuid(uid).pw_name
            except KeyError:
                self._names[uid] = super().user_name(uid)
        return self._names[uid]

    def group_name(self, gid: int) -> str | None:
        if gid not in self._group_names:
            try:
                self._group_names[gid] = grp.getgrgid(gid).gr_name
            except KeyError:
                self._group_names[gid] = super().group_name(gid)
        return self._group_names[gid]

    def native_walk(self, roots: list[str], exclude: list[str], max_depth: int,
                    ids: tuple[set[int], set[int]] | None, check: Callable[[], None],
                    max_scanned: int, max_strays: int, interesting: int) -> TreeWalk | None:
        """The special-files walk done by GNU find (see targets/findwalk.py); None when it
        cannot be, and the walk is done in Python."""
        return find_walk(roots, exclude, max_depth, ids, check, max_scanned, max_strays,
                         interesting)

    def run(self, argv: list[str], timeout: float) -> RunResult:
        return run(argv, timeout)

    def info(self) -> TargetInfo:
        return TargetInfo(name=self.name, kind=self.kind,
                          details={"hostname": platform.node(), "live": True})


class DirectoryTarget(_DescriptorTarget):
    """An offline root file system or config tree, read as if it were `/`.

    Every open, stat and listing goes through a descriptor of the tree's root (see
    targets/inroot.py): links are resolved inside the tree (an absolute link target is taken
    relative to the tree's root, `..` stops at the root), one resolution at a time that a
    concurrent rename cannot redirect, so nothing outside the tree is ever read.
    """

    live = False

    def __init__(self, name: str, root: str, use_openat2: bool = True):
        self.name = name
        self.root = os.path.realpath(root)
        self._tree = InRoot(self.root, use_openat2=use_openat2)

    def close(self) -> None:
        self._tree.close()

    def _open_regular(self, path: str, limit: int) -> int:
        fd, st = self._tree.open_regular(path)
        if st.st_size > limit:
            os.close(fd)
            raise FileTooLarge(path, limit)
        return fd

    def stat(self, path: str, follow: bool = True) -> FileStat | None:
        try:
            fd = self._tree.open_path(path, follow=follow)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENAMETOOLONG):
                return None
            if isinstance(exc, PermissionError):
                raise self.not_readable(path) from None
            raise
        try:
            st = os.fstat(fd)
            link = os.readlink("", dir_fd=fd) if stat_mod.S_ISLNK(st.st_mode) else None
        finally:
            os.close(fd)
        return self._file_stat(path, st, link)

    def _open_dir(self, path: str) -> int:
        try:
            return self._tree.open_dir(path)
        except OSError as exc:
            if isinstance(exc, PermissionError):
                raise self.not_readable(path) from None
            if exc.errno in (errno.ENOTDIR, errno.ELOOP):
                raise NotADirectoryError(errno.ENOTDIR, "not a directory", path) from None
            raise

    def list_dir(self, path: str) -> list[str]:
        fd = self._open_dir(path)
        try:
            return sorted(os.listdir(fd))
        finally:
            os.close(fd)

    def dir_modes(self, path: str) -> list[tuple[str, int]]:
        fd = self._open_dir(path)
        try:
            return _dir_modes(fd)
        finally:
            os.close(fd)

    def dir_owners(self, path: str) -> list[tuple[str, int, int, int]]:
        fd = self._open_dir(path)
        try:
            return _dir_owners(fd)
        finally:
            os.close(fd)

    def scan_dir(self, path: str) -> list[FileStat]:
        fd = self._open_dir(path)
        try:
            return self._scan(path, fd)
        finally:
            os.close(fd)

    def not_readable(self, path: str) -> PathNotReadable:
        where = os.path.join(self.root, path.lstrip("/"))
        return PathNotReadable(path, f"{where} is not readable: run as root (or as the owner "
                                     "of the tree)")

    def info(self) -> TargetInfo:
        return TargetInfo(name=self.name, kind=self.kind, details={"root": self.root, "live": False})
