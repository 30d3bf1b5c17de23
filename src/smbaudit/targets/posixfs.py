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


class _PosixTarget(HostTarget):
    """Shared reading logic; subclasses map a target path to a real path."""

    def _real(self, path: str, follow: bool = True) -> str:
        raise NotImplementedError

    def read_bytes(self, path: str, limit: int = MAX_READ) -> bytes:
        real = self._real(path)
        st = os.stat(real, follow_symlinks=False)
        if file_type(st.st_mode) == "dir":
            raise IsADirectoryError(errno.EISDIR, "is a directory", path)
        if file_type(st.st_mode) != "file":
            # FIFOs and devices could block or never end: a scanner does not read them.
            raise FileNotFoundError(errno.ENOENT, "not a regular file", path)
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(real, flags | getattr(os, "O_NOATIME", 0))
        except PermissionError:
            fd = os.open(real, flags)  # O_NOATIME needs ownership; fall back
        with os.fdopen(fd, "rb") as fh:
            return fh.read(limit)

    def stat(self, path: str, follow: bool = True) -> FileStat | None:
        try:
            real = self._real(path, follow=follow)
            st = os.stat(real, follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENAMETOOLONG):
                return None
            raise
        kind = file_type(st.st_mode)
        link_target = os.readlink(real) if kind == "link" else None
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
            link_target=link_target,
        )

    def list_dir(self, path: str) -> list[str]:
        real = self._real(path)
        if not os.path.isdir(real) or os.path.islink(real):
            raise NotADirectoryError(errno.ENOTDIR, "not a directory", path)
        return sorted(os.listdir(real))

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

    def _real(self, path: str, follow: bool = True) -> str:
        if not path.startswith("/"):
            raise FileNotFoundError(errno.ENOENT, "target paths are absolute", path)
        if follow:
            return os.path.realpath(path)
        parent, base = os.path.split(path)
        return os.path.join(os.path.realpath(parent), base)

    def user_name(self, uid: int) -> str | None:
        try:
            return pwd.getpwuid(uid).pw_name
        except KeyError:
            return super().user_name(uid)

    def group_name(self, gid: int) -> str | None:
        try:
            return grp.getgrgid(gid).gr_name
        except KeyError:
            return super().group_name(gid)

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
