"""File-system targets: this host (`local`) and an offline tree (`dir:PATH`)."""

from __future__ import annotations

import errno
import os
import platform
import pwd
import grp
from functools import cached_property

from smbaudit.models import TargetInfo
from smbaudit.runner import RunResult, run
from smbaudit.targets.base import MAX_READ, FileStat, HostTarget, file_type

_MAX_LINKS = 40
_CHUNK = 256 * 1024


class _PosixTarget(HostTarget):
    """Shared reading logic; subclasses map a target path to a real path.

    `_resolves_links` is True when `_real()` has already resolved every link (offline trees,
    where links must be resolved inside the tree): the real path is then used as it is, and
    the operating system is never allowed to follow a link itself.
    """

    _resolves_links = False

    def _real(self, path: str, follow: bool = True) -> str:
        raise NotImplementedError

    def read_bytes(self, path: str, limit: int = MAX_READ) -> bytes:
        real = self._real(path)
        st = os.stat(real, follow_symlinks=not self._resolves_links)
        if file_type(st.st_mode) == "dir":
            raise IsADirectoryError(errno.EISDIR, "is a directory", path)
        if file_type(st.st_mode) != "file":
            # FIFOs and devices could block or never end: a scanner does not read them.
            raise FileNotFoundError(errno.ENOENT, "not a regular file", path)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
        if self._resolves_links:
            flags |= getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(real, flags | getattr(os, "O_NOATIME", 0))
        except PermissionError:
            fd = os.open(real, flags)  # O_NOATIME needs ownership; fall back
        chunks: list[bytes] = []
        left = limit
        with os.fdopen(fd, "rb", buffering=0) as fh:
            # Small reads: /proc files refuse one huge read, and most files are small.
            while left > 0:
                chunk = fh.read(min(left, _CHUNK))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
        return b"".join(chunks)

    def stat(self, path: str, follow: bool = True) -> FileStat | None:
        try:
            real = self._real(path, follow=follow)
            st = os.stat(real, follow_symlinks=follow and not self._resolves_links)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENAMETOOLONG):
                return None
            raise
        return self._file_stat(path, st, real)

    def _file_stat(self, path: str, st: os.stat_result, real: str | None) -> FileStat:
        kind = file_type(st.st_mode)
        return FileStat(
            path=path,
            type=kind,
            mode=st.st_mode & 0o7777,
            uid=st.st_uid,
            gid=st.st_gid,
            size=st.st_size,
            mtime=st.st_mtime,
            owner=self.user_name(st.st_uid),
            group=self.group_name(st.st_gid),
            link_target=os.readlink(real) if kind == "link" and real else None,
        )

    def list_dir(self, path: str) -> list[str]:
        real = self._real(path)
        if not os.path.isdir(real) or (self._resolves_links and os.path.islink(real)):
            raise NotADirectoryError(errno.ENOTDIR, "not a directory", path)
        return sorted(os.listdir(real))

    def dir_modes(self, path: str) -> list[tuple[str, int]]:
        real = self._real(path)
        if not os.path.isdir(real) or (self._resolves_links and os.path.islink(real)):
            raise NotADirectoryError(errno.ENOTDIR, "not a directory", path)
        found = []
        with os.scandir(real) as entries:
            for entry in entries:
                try:
                    found.append((entry.name, entry.stat(follow_symlinks=False).st_mode))
                except OSError:
                    continue
        return found

    def scan_dir(self, path: str) -> list[FileStat]:
        """One directory's entries with their own metadata (links not followed, link targets
        not read: `stat(path, follow=False)` gives one), sorted."""
        real = self._real(path)
        if not os.path.isdir(real) or (self._resolves_links and os.path.islink(real)):
            raise NotADirectoryError(errno.ENOTDIR, "not a directory", path)
        base = path.rstrip("/")
        found = []
        with os.scandir(real) as entries:
            for entry in entries:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                found.append(self._file_stat(f"{base}/{entry.name}", st, None))
        return sorted(found, key=lambda f: f.path)

    # Owner names come from the target's own account files, not from the scanning host.
    @cached_property
    def _users(self) -> dict[int, str]:
        return _parse_id_file(self.read_text_or_none("/etc/passwd") or "")

    @cached_property
    def _groups(self) -> dict[int, str]:
        return _parse_id_file(self.read_text_or_none("/etc/group") or "")

    def user_name(self, uid: int) -> str | None:
        return self._users.get(uid)

    def group_name(self, gid: int) -> str | None:
        return self._groups.get(gid)


def _parse_id_file(text: str) -> dict[int, str]:
    ids: dict[int, str] = {}
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[2].isdigit():
            ids.setdefault(int(fields[2]), fields[0])
    return ids


class LocalTarget(_PosixTarget):
    """This host, read live. Commands may be run (read-only ones, through the runner)."""

    live = True

    def __init__(self, name: str = "local"):
        self.name = name
        self._names: dict[int, str | None] = {}
        self._group_names: dict[int, str | None] = {}

    def _real(self, path: str, follow: bool = True) -> str:
        if not path.startswith("/"):
            raise FileNotFoundError(errno.ENOENT, "target paths are absolute", path)
        return path  # the operating system follows links (or not) as asked

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

    def run(self, argv: list[str], timeout: float) -> RunResult:
        return run(argv, timeout)

    def info(self) -> TargetInfo:
        return TargetInfo(name=self.name, kind=self.kind,
                          details={"hostname": platform.node(), "live": True})


class DirectoryTarget(_PosixTarget):
    """An offline root file system or config tree, read as if it were `/`.

    Links are resolved inside the tree (an absolute link target is taken relative to the
    tree's root, `..` stops at the root), so nothing outside the tree is ever read.
    """

    live = False
    _resolves_links = True

    def __init__(self, name: str, root: str):
        self.name = name
        self.root = os.path.realpath(root)

    def _real(self, path: str, follow: bool = True) -> str:
        pending = [p for p in path.split("/") if p and p != "."]
        resolved: list[str] = []
        links = 0
        while pending:
            part = pending.pop(0)
            if part == "..":
                if resolved:
                    resolved.pop()
                continue
            candidate = os.path.join(self.root, *resolved, part)
            if os.path.islink(candidate) and (follow or pending):
                links += 1
                if links > _MAX_LINKS:
                    raise OSError(errno.ELOOP, "too many levels of links", path)
                dest = os.readlink(candidate)
                if dest.startswith("/"):
                    resolved = []
                pending = [p for p in dest.split("/") if p and p != "."] + pending
                continue
            resolved.append(part)
        return os.path.join(self.root, *resolved)

    def info(self) -> TargetInfo:
        return TargetInfo(name=self.name, kind=self.kind, details={"root": self.root, "live": False})
