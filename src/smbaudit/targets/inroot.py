"""Opening paths of an offline tree relative to a descriptor of its root, never leaving it.

Every path is resolved against a directory descriptor held for the tree's lifetime, links
included, as if the tree were `/`: an absolute link target starts again at the tree's root and
`..` stops there. Nothing is ever resolved through a path string the operating system could
re-resolve later, so swapping a directory for a link while a scan runs (a rename race) can only
change what is read inside the tree, never lead out of it.

Two resolvers give the same answers:
- `openat2(2)` with RESOLVE_IN_ROOT (Linux 5.6+): the kernel resolves the whole path in one call,
  scoped to the root descriptor;
- elsewhere (older kernels, seccomp filters that refuse the call): one component at a time with
  O_PATH | O_NOFOLLOW relative to the parent's descriptor, links read and resolved here.

File types and metadata always come from `fstat` on the opened descriptor; a regular file is
reopened for reading through its own descriptor, so a FIFO or device node is never opened.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import stat as stat_mod
import sys

MAX_LINKS = 40  # as the kernel: more links than this in one resolution is a loop

O_PATH = getattr(os, "O_PATH", 0)
O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
O_NOCTTY = getattr(os, "O_NOCTTY", 0)
O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)

_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_IN_ROOT = 0x10
# openat2 has the same number on every architecture of the unified syscall table (Linux 5.6+).
_SYS_OPENAT2 = {"x86_64": 437, "aarch64": 437, "arm64": 437, "ppc64le": 437, "s390x": 437,
                "riscv64": 437, "i686": 437, "i386": 437, "armv7l": 437}.get(platform.machine())


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


def _load_syscall():  # type: ignore[no-untyped-def]
    if not sys.platform.startswith("linux") or _SYS_OPENAT2 is None or not O_PATH:
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.syscall
    except (OSError, AttributeError):
        return None
    fn.restype = ctypes.c_long
    return fn


_syscall = _load_syscall()


def components(path: str) -> list[str]:
    return [p for p in path.split("/") if p and p != "."]


class InRoot:
    """A tree's root directory, held open; every open goes through it.

    `open(path, flags)` returns a new descriptor (the caller closes it). Links are followed
    inside the tree; with O_NOFOLLOW in `flags` the last component is not followed (with O_PATH
    that gives a descriptor on the link itself, for lstat and readlink).
    """

    def __init__(self, root: str, use_openat2: bool = True):
        self.root = root
        self.fd = os.open(root, os.O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        self._openat2 = use_openat2 and _syscall is not None and self._openat2_works()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    @property
    def resolver(self) -> str:
        return "openat2" if self._openat2 else "per-component"

    # ------------------------------------------------------------------ opening

    def open(self, path: str, flags: int) -> int:
        # openat2 refuses any flag O_PATH ignores (EINVAL): O_NOCTTY only for real opens
        flags |= O_CLOEXEC if flags & O_PATH else O_CLOEXEC | O_NOCTTY
        if self._openat2:
            for _ in range(8):
                try:
                    return self._call_openat2(path, flags)
                except BlockingIOError:
                    continue  # EAGAIN: a rename raced the resolution; the kernel asks to retry
        return self._walk_open(path, flags)

    def open_path(self, path: str, follow: bool = True) -> int:
        """An O_PATH descriptor (no read access; enough for fstat, readlink and *at calls)."""
        return self.open(path, O_PATH | (0 if follow else O_NOFOLLOW))

    def open_regular(self, path: str) -> tuple[int, os.stat_result]:
        """A read descriptor on a regular file and its fstat; IsADirectoryError for a directory,
        FileNotFoundError for anything else (FIFOs and devices are never opened for reading)."""
        pfd = self.open_path(path)
        try:
            st = os.fstat(pfd)
            if stat_mod.S_ISDIR(st.st_mode):
                raise IsADirectoryError(errno.EISDIR, "is a directory", path)
            if not stat_mod.S_ISREG(st.st_mode):
                raise FileNotFoundError(errno.ENOENT, "not a regular file", path)
            fd = _reopen(pfd, os.O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        finally:
            os.close(pfd)
        try:
            st = os.fstat(fd)  # the file actually opened
        except BaseException:
            os.close(fd)
            raise
        return fd, st

    def open_dir(self, path: str) -> int:
        """A readable descriptor on a directory (for listing); NotADirectoryError otherwise."""
        return self.open(path, os.O_RDONLY | O_DIRECTORY)

    # ------------------------------------------------------------------ resolvers

    def _call_openat2(self, path: str, flags: int) -> int:
        how = _OpenHow(flags, 0, _RESOLVE_IN_ROOT | _RESOLVE_NO_MAGICLINKS)
        rel = os.fsencode("/".join(components(path)) or ".")
        assert _syscall is not None and _SYS_OPENAT2 is not None
        fd = _syscall(ctypes.c_long(_SYS_OPENAT2), ctypes.c_int(self.fd), ctypes.c_char_p(rel),
                      ctypes.byref(how), ctypes.c_size_t(ctypes.sizeof(how)))
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), path)
        return int(fd)

    def _openat2_works(self) -> bool:
        try:
            os.close(self._call_openat2(".", O_PATH | O_CLOEXEC))
        except OSError:
            return False  # ENOSYS (old kernel) or EPERM (seccomp): resolve here instead
        return True

    def _walk_open(self, path: str, flags: int) -> int:
        """Resolve one component at a time, each opened O_PATH | O_NOFOLLOW relative to the
        descriptor of its parent; links are read from their own descriptor and resolved here."""
        follow_last = not flags & O_NOFOLLOW
        pending = components(path)
        stack: list[int] = []  # descriptors of the directories resolved so far, below the root
        links = 0
        try:
            while pending:
                part = pending.pop(0)
                if part == "..":
                    if stack:
                        os.close(stack.pop())
                    continue
                cur = stack[-1] if stack else self.fd
                fd = os.open(part, O_PATH | O_NOFOLLOW | O_CLOEXEC, dir_fd=cur)
                mode = os.fstat(fd).st_mode
                if stat_mod.S_ISLNK(mode) and (pending or follow_last):
                    links += 1
                    try:
                        dest = os.readlink("", dir_fd=fd)
                    finally:
                        os.close(fd)
                    if links > MAX_LINKS:
                        raise OSError(errno.ELOOP, "too many levels of links", path)
                    if dest.startswith("/"):
                        while stack:
                            os.close(stack.pop())
                    pending = components(dest) + pending
                    continue
                stack.append(fd)
                if pending and not stat_mod.S_ISDIR(mode):
                    raise NotADirectoryError(errno.ENOTDIR, "not a directory", path)
            final = stack[-1] if stack else self.fd
            if flags & O_PATH:
                if stack:
                    return stack.pop()  # already an O_PATH descriptor on the last component
                return os.open(".", O_PATH | O_CLOEXEC, dir_fd=self.fd)
            return _reopen(final, flags & ~O_NOFOLLOW)
        finally:
            for fd in stack:
                os.close(fd)


_PROC_FD = os.path.isdir("/proc/self/fd")


def _reopen(path_fd: int, flags: int) -> int:
    """A new descriptor with `flags` on the very file `path_fd` refers to (no name lookup that
    could be raced): directories through openat(fd, "."), other files through /proc/self/fd."""
    st = os.fstat(path_fd)
    if stat_mod.S_ISDIR(st.st_mode):
        return os.open(".", flags, dir_fd=path_fd)
    if flags & O_DIRECTORY:
        raise NotADirectoryError(errno.ENOTDIR, "not a directory")
    if not _PROC_FD:
        raise PermissionError(errno.EACCES, "cannot reopen a file without /proc (mount proc)")
    fd = os.open(f"/proc/self/fd/{path_fd}", flags)
    got = os.fstat(fd)
    if (got.st_dev, got.st_ino) != (st.st_dev, st.st_ino):  # never expected; refuse rather than guess
        os.close(fd)
        raise PermissionError(errno.EACCES, "file changed while being opened")
    return fd
