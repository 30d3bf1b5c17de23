"""Target interface: where facts come from. Read-only by construction: no method writes."""

from __future__ import annotations

import fnmatch
import socket
import stat as stat_mod
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from smbaudit.errors import BudgetExceeded, PathNotReadable
from smbaudit.models import TargetInfo, TargetKind
from smbaudit.runner import RunResult

# A file is read whole or not at all: past its reader's limit, read_bytes raises FileTooLarge
# (an error finding for the checks that need it), never a silently shortened prefix.
MAX_READ = 16 * 1024 * 1024


@dataclass(frozen=True)
class FileStat:
    """A file's metadata, with owner and group names resolved from the target's own accounts."""

    path: str
    type: str  # file, dir, link, other
    mode: int  # permission bits including setuid/setgid/sticky (S_IMODE)
    uid: int
    gid: int
    size: int
    mtime: float
    owner: str | None = None
    group: str | None = None
    link_target: str | None = None

    @property
    def mode_octal(self) -> str:
        return f"{self.mode:04o}"

    def to_facts(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "type": self.type,
            "mode": self.mode_octal,
            "uid": self.uid,
            "gid": self.gid,
            "owner": self.owner,
            "group": self.group,
            "size": self.size,
            "world_writable": bool(self.mode & stat_mod.S_IWOTH) and self.type != "link",
            "world_readable": bool(self.mode & stat_mod.S_IROTH) and self.type != "link",
            "group_writable": bool(self.mode & stat_mod.S_IWGRP) and self.type != "link",
            "setuid": bool(self.mode & stat_mod.S_ISUID),
            "setgid": bool(self.mode & stat_mod.S_ISGID),
        }


def _join(base: str, name: str) -> str:
    return base.rstrip("/") + "/" + name


_TYPE_BITS = {"file": stat_mod.S_IFREG, "dir": stat_mod.S_IFDIR, "link": stat_mod.S_IFLNK, "other": 0}


def file_type(st_mode: int) -> str:
    if stat_mod.S_ISLNK(st_mode):
        return "link"
    if stat_mod.S_ISDIR(st_mode):
        return "dir"
    if stat_mod.S_ISREG(st_mode):
        return "file"
    return "other"


class Target(ABC):
    """Anything a scan reads. `name` is the target exactly as given on the command line."""

    kind: TargetKind
    name: str

    @abstractmethod
    def info(self) -> TargetInfo:
        """The target as the report shows it."""

    def close(self) -> None:
        """Release connections; called once the scan is over."""


class HostTarget(Target):
    """A machine's file system: this host (live) or an offline tree read as if it were `/`."""

    kind = TargetKind.HOST
    live: bool = False

    @abstractmethod
    def read_bytes(self, path: str, limit: int = MAX_READ) -> bytes:
        """A whole file (following links inside the target). Raises FileNotFoundError /
        PermissionError / IsADirectoryError, and errors.FileTooLarge when the file holds more than
        `limit` bytes: a prefix is never returned as if it were the file."""

    def read_pieces(self, path: str, limit: int = MAX_READ, size: int = 1 << 20) -> Iterator[bytes]:
        """A file as pieces of at most `size` bytes, with the errors of `read_bytes` (raised
        when the first piece is asked for). Targets that can read a file a piece at a time
        never hold it whole; this default reads it whole first."""
        data = self.read_bytes(path, limit)
        for start in range(0, len(data), size):
            yield data[start:start + size]

    def not_readable(self, path: str) -> PathNotReadable:
        """The error for a path that exists but the scanning user may not read, in plain
        words with what to do about it. Targets raise it from every read."""
        return PathNotReadable(path, f"{path} is not readable: run as root")

    def read_text(self, path: str, limit: int = MAX_READ) -> str:
        return self.read_bytes(path, limit).decode("utf-8", "replace")

    def read_text_or_none(self, path: str, limit: int = MAX_READ) -> str | None:
        """The file's text, or None when it does not exist or is not a regular file."""
        try:
            return self.read_text(path, limit)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    @abstractmethod
    def stat(self, path: str, follow: bool = True) -> FileStat | None:
        """Metadata, or None when the path does not exist."""

    def exists(self, path: str) -> bool:
        return self.stat(path) is not None

    @abstractmethod
    def list_dir(self, path: str) -> list[str]:
        """Entry names in a directory, sorted. Raises FileNotFoundError/NotADirectoryError."""

    def dir_modes(self, path: str) -> list[tuple[str, int]]:
        """(name, st_mode) of a directory's entries, links not followed: the cheapest listing,
        for walks over large trees that look at permission bits only."""
        return [(s.path.rsplit("/", 1)[-1], _TYPE_BITS[s.type] | s.mode) for s in self.scan_dir(path)]

    def walk_modes(self, roots: list[str], descend: Callable[[str], bool], max_depth: int
                   ) -> Iterator[tuple[str, list[tuple[str, int]] | OSError, int]]:
        """(directory, its `dir_modes` or the OSError listing it raised, depth) for every
        directory under `roots` (depth 0) to `max_depth`, entering the subdirectories that
        `descend(path)` accepts; never following links. The order is unspecified: remote
        targets keep many listings in flight."""
        return walk_listings(self.dir_modes, roots, descend, max_depth)

    def read_links(self, paths: list[str]) -> dict[str, str | None]:
        """{path: where the link points, or None when it is not a readable link}. Remote
        targets keep many requests in flight."""
        out: dict[str, str | None] = {}
        for p in paths:
            try:
                st = self.stat(p, follow=False)
            except OSError:
                st = None
            out[p] = st.link_target if st is not None else None
        return out

    def scan_dir(self, path: str) -> list[FileStat]:
        """A directory's entries with their own metadata (links not followed), sorted by path.
        Link targets may be left unread (None) here.

        Targets override this with one call per directory (os.scandir, SFTP READDIR)."""
        stats = (self.stat(_join(path, name), follow=False) for name in self.list_dir(path))
        return [s for s in stats if s is not None]

    def glob(self, pattern: str, limit: int = 100_000) -> list[str]:
        """Absolute target paths matching a glob (`**` spans directories), sorted.

        Matching is done on target paths, so an offline tree is never left through a link.
        More than `limit` matches raises BudgetExceeded: a glob is never cut short silently.
        """
        parts = [p for p in pattern.split("/") if p]
        found: set[str] = set()
        self._glob_from("/", parts, found, limit + 1)
        if len(found) > limit:
            raise BudgetExceeded(f"{pattern}: more than {limit} matching paths; not assessed")
        return sorted(found)

    def _glob_from(self, base: str, parts: list[str], found: set[str], limit: int) -> None:
        if len(found) >= limit:
            return
        if not parts:
            found.add(base)
            return
        head, rest = parts[0], parts[1:]
        if head == "**":
            self._glob_from(base, rest, found, limit)
            for dirpath, _dirs, _files in self.walk(base):
                if dirpath != base:
                    self._glob_from(dirpath, rest, found, limit)
            return
        if not any(ch in head for ch in "*?["):
            child = _join(base, head)
            if self.stat(child, follow=False) is not None:
                if rest:
                    st = self.stat(child)
                    if st is not None and st.type == "dir":
                        self._glob_from(child, rest, found, limit)
                else:
                    found.add(child)
            return
        try:
            names = self.list_dir(base)
        except OSError:
            return
        for name in names:
            if fnmatch.fnmatchcase(name, head) and (head.startswith(".") or not name.startswith(".")):
                child = _join(base, name)
                if rest:
                    st = self.stat(child)
                    if st is not None and st.type == "dir":
                        self._glob_from(child, rest, found, limit)
                else:
                    found.add(child)

    def walk(self, top: str, max_depth: int = 32) -> Iterator[tuple[str, list[str], list[str]]]:
        """Like os.walk over target paths, top-down, never following directory links.

        A directory deeper than `max_depth` raises BudgetExceeded: the walk says when it was
        cut short rather than ending early as if the tree ended there."""
        stack: list[tuple[str, int]] = [(top, 0)]
        while stack:
            path, depth = stack.pop()
            try:
                entries = self.scan_dir(path)
            except OSError:
                continue
            dirs: list[str] = []
            files: list[str] = []
            for st in entries:
                name = st.path.rsplit("/", 1)[-1]
                (dirs if st.type == "dir" else files).append(name)
            yield path, dirs, files
            if dirs and depth >= max_depth:
                raise BudgetExceeded(f"walk of {top} cut short: {_join(path, dirs[0])} is deeper "
                                     f"than {max_depth} levels; not assessed")
            stack.extend((_join(path, d), depth + 1) for d in reversed(dirs))

    def run(self, argv: list[str], timeout: float) -> RunResult:
        """Run a read-only command on the target. Offline trees cannot; they raise UnsupportedOperation."""
        from smbaudit.errors import UnsupportedOperation

        raise UnsupportedOperation(f"{self.name}: cannot run commands on an offline target")


@dataclass
class ServiceTarget(Target):
    """One network service, host:port, found by discovery or given on the command line."""

    name: str  # as given / as listed in reports: host:port
    address: str  # IP literal to connect to
    port: int
    service: str = ""  # nmap service name: ssh, http, https, smtp, ...
    tunnel: str = ""  # "ssl" when nmap saw TLS wrapping the service
    product: str = ""
    version: str = ""
    hostname: str = ""  # name to use for SNI and certificate matching, when known
    extra: dict[str, Any] = field(default_factory=dict)
    kind: TargetKind = TargetKind.SERVICE

    @property
    def endpoint(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"

    def connect(self, timeout: float) -> socket.socket:
        """A TCP connection with `timeout` applied to connect and to every later read/write."""
        sock = socket.create_connection((self.address, self.port), timeout=timeout)
        sock.settimeout(timeout)
        return sock

    def info(self) -> TargetInfo:
        return TargetInfo(
            name=self.name,
            kind=self.kind,
            details={
                "address": self.address,
                "port": self.port,
                "service": self.service,
                "tunnel": self.tunnel,
                "product": self.product,
                "version": self.version,
                "hostname": self.hostname,
                **self.extra,
            },
        )


Entry = TypeVar("Entry", bound=tuple[Any, ...])


def walk_listings(listing: Callable[[str], list[Entry]], roots: list[str],
                  descend: Callable[[str], bool], max_depth: int
                  ) -> Iterator[tuple[str, list[Entry] | OSError, int]]:
    """Depth-first walk over `listing(path)`, whose entries start with (name, st_mode): yields
    (directory, its entries or the OSError listing it raised, depth) as `walk_modes` says."""
    stack: list[tuple[str, int]] = [(r, 0) for r in reversed(roots)]
    while stack:
        path, depth = stack.pop()
        try:
            entries = listing(path)
        except OSError as exc:
            yield path, exc, depth
            continue
        yield path, entries, depth
        if depth < max_depth:
            base = path.rstrip("/")
            subdirs = [f"{base}/{e[0]}" for e in entries if stat_mod.S_ISDIR(e[1])]
            stack.extend((d, depth + 1) for d in sorted(subdirs, reverse=True) if descend(d))
