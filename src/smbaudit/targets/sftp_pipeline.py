"""Walking directory trees over SFTP with many requests in flight.

One listing is OPENDIR, READDIR until end of file, CLOSE. Done one request at a time, a walk
of /usr (about 20,000 directories) costs 60,000 round trips: minutes over a 10 ms link. Here
up to `window` directories are open at once, a directory's subdirectories are requested as
soon as its entries arrive (no waiting for a whole level), two READDIRs go out together (most
directories fit in the first, the second brings end of file), CLOSE replies are not waited
for, and requests are sent in batches (one SSH packet for many SFTP requests).

paramiko has no public API for pipelined requests; it does dispatch responses to an object's
`_async_response` (the hook its file prefetching uses), which `_Inbox` provides, and this
module registers its request numbers the way `SFTPClient._async_request` does.
"""

from __future__ import annotations

import errno
import stat as stat_mod
import struct
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

# SFTP packet types (draft-ietf-secsh-filexfer-02, the version OpenSSH speaks)
CMD_OPENDIR, CMD_READDIR, CMD_CLOSE = 11, 12, 4
CMD_OPEN, CMD_READ, CMD_READLINK = 3, 5, 19
CMD_DATA = 103
FXF_READ = 1
CHUNK = 32768  # bytes per READ: what OpenSSH's sftp-server and paramiko use
CMD_STATUS, CMD_HANDLE, CMD_NAME = 101, 102, 104
SFTP_EOF = 1
_ERRNO = {2: errno.ENOENT, 3: errno.EACCES, 4: errno.EIO}
WINDOW = 128  # directories open at once (OpenSSH's sftp-server keeps one descriptor each)
MAX_RESPONSES = 50_000_000  # a bound on one walk's loop, far above any real tree

Listing = list[tuple[str, int]]  # (name, st_mode), links not followed


class Offset:
    """A uint64 request argument (file offsets)."""

    __slots__ = ("value",)

    def __init__(self, value: int):
        self.value = value


class _Pipe:
    """Requests sent in batches on one SFTP session, replies collected by request number.

    paramiko dispatches each reply to the object registered for its request number through
    `_async_response` (the hook its file prefetching uses); this object is that receiver.
    """

    def __init__(self, sftp: Any, window: int):
        from paramiko.message import Message  # only SSH targets pay for paramiko

        self._message = Message
        self.sftp = sftp
        self.window = window
        self.replies: deque[tuple[int, int, Any]] = deque()
        self._out: list[bytes] = []
        self.received = 0

    def _async_response(self, t: int, msg: Any, num: int) -> None:
        self.replies.append((num, t, msg))

    def request(self, t: int, *args: str | bytes | int | Offset) -> int:
        """Queue a request (strings, uint32 and uint64 `Offset` arguments); sent at the next
        `flush` or `receive`."""
        sftp = self.sftp
        with sftp._lock:
            num: int = sftp.request_number
            sftp.request_number += 1
            sftp._expecting[num] = self
        msg = self._message()
        msg.add_int(num)
        for arg in args:
            if isinstance(arg, Offset):
                msg.add_int64(arg.value)
            elif isinstance(arg, int):
                msg.add_int(arg)
            else:
                msg.add_string(arg)
        payload = msg.asbytes()
        self._out.append(struct.pack(">IB", len(payload) + 1, t) + payload)
        return num

    def flush(self) -> None:
        if self._out:
            self.sftp._write_all(b"".join(self._out))
            self._out.clear()

    def receive(self) -> None:
        """Send what is queued, wait for one reply, then take every reply already here."""
        self.flush()
        self.sftp._read_response()
        for _ in range(self.window * 4):
            if not self.sftp.sock.recv_ready():
                break
            self.sftp._read_response()
        self.received += len(self.replies)
        if self.received > MAX_RESPONSES:
            raise OSError(errno.EIO, "too many SFTP replies in one batch")


def _failure(t: int, msg: Any, path: str) -> tuple[int, OSError]:
    """(SFTP status code, the error it means) for a reply that is not the one hoped for."""
    if t != CMD_STATUS:
        return -1, OSError(errno.EIO, f"unexpected SFTP reply type {t}", path)
    code = msg.get_int()
    text = msg.get_text() if msg.get_remainder() else ""
    return code, OSError(_ERRNO.get(code, errno.EIO), text or f"SFTP status {code}", path)


_U32 = struct.Struct(">I")
_FLAG_SIZE, _FLAG_UIDGID, _FLAG_PERMISSIONS, _FLAG_ACMODTIME, _FLAG_EXTENDED = 1, 2, 4, 8, 0x80000000


def _names(data: bytes, path: str, owners: bool = False) -> tuple[Listing, int]:
    """(name, st_mode) of each entry of an SSH_FXP_NAME reply body (after its request id):
    count, then per entry filename, longname and attributes. Parsed here, not through
    paramiko's SFTPAttributes, because a walk of /usr reads some 150,000 of them. Returns the
    entries and how many the reply held (with . and ..). With `owners`, each entry is
    (name, st_mode, uid, gid)."""
    try:
        (count,) = _U32.unpack_from(data, 0)
        pos = 4
        out: Listing = []
        for _ in range(count):
            (n,) = _U32.unpack_from(data, pos)
            name = data[pos + 4: pos + 4 + n].decode("utf-8", "surrogateescape")
            pos += 4 + n
            (n,) = _U32.unpack_from(data, pos)  # longname, unused
            pos += 4 + n
            (flags,) = _U32.unpack_from(data, pos)
            pos += 4
            if flags & _FLAG_SIZE:
                pos += 8
            uid = gid = -1
            if flags & _FLAG_UIDGID:
                uid, gid = _U32.unpack_from(data, pos)[0], _U32.unpack_from(data, pos + 4)[0]
                pos += 8
            mode = 0
            if flags & _FLAG_PERMISSIONS:
                (mode,) = _U32.unpack_from(data, pos)
                pos += 4
            if flags & _FLAG_ACMODTIME:
                pos += 8
            if flags & _FLAG_EXTENDED:
                (pairs,) = _U32.unpack_from(data, pos)
                pos += 4
                for _ in range(pairs * 2):
                    (n,) = _U32.unpack_from(data, pos)
                    pos += 4 + n
            if name not in (".", ".."):
                out.append((name, mode, uid, gid) if owners else (name, mode))  # type: ignore[arg-type]
        return out, count
    except struct.error:
        raise OSError(errno.EIO, "malformed SFTP directory listing", path) from None


class _Dir:
    __slots__ = ("path", "depth", "handle", "entries", "reads", "done")

    def __init__(self, path: str, depth: int):
        self.path, self.depth = path, depth
        self.handle = b""
        self.entries: Listing = []
        self.reads = 0  # READDIRs outstanding
        self.done = False  # end of file (or an error) seen and reported


def walk(sftp: Any, roots: list[str], descend: Callable[[str], bool], max_depth: int,
         window: int = WINDOW, full_reply: int = 0, owners: bool = False, start_depth: int = 0
         ) -> Iterator[tuple[str, Listing | OSError, int]]:
    """(directory, its entries or the OSError listing it raised, depth) for every directory
    under `roots` (depth 0) down to `max_depth`, in no particular order. Subdirectories are
    entered when `descend(path)` says so. The caller holds the lock that serialises `sftp`.

    `full_reply`: a server known to fill every READDIR reply with this many entries until the
    folder ends (OpenSSH's sftp-server: 100). A shorter reply then means end of folder, so a
    small folder costs one READDIR instead of two; bigger ones get two at a time.
    `owners`: entries are (name, st_mode, uid, gid), from the same replies. `start_depth`:
    the depth of `roots` (a walk split across sessions starts below the top)."""
    pipe = _Pipe(sftp, window)
    pending: dict[int, tuple[str, _Dir]] = {}
    todo: deque[tuple[str, int]] = deque((r, start_depth) for r in roots)
    open_dirs = 0

    def request(kind: str, d: _Dir, t: int, arg: str | bytes) -> None:
        pending[pipe.request(t, arg)] = (kind, d)

    while todo or pending:
        while todo and open_dirs < window:
            path, depth = todo.popleft()
            request("open", _Dir(path, depth), CMD_OPENDIR, path)
            open_dirs += 1
        pipe.receive()
        while pipe.replies:
            num, t, msg = pipe.replies.popleft()
            kind, d = pending.pop(num)
            if kind == "close":
                open_dirs -= 1
                continue
            if kind == "open":
                if t == CMD_HANDLE:
                    d.handle = msg.get_binary()
                    d.reads = 1 if full_reply else 2
                    for _ in range(d.reads):
                        request("read", d, CMD_READDIR, d.handle)
                else:
                    open_dirs -= 1
                    yield d.path, _failure(t, msg, d.path)[1], d.depth
                continue
            d.reads -= 1
            if d.done:
                pass
            elif t == CMD_NAME:
                names, count = _names(msg.get_remainder(), d.path, owners)
                d.entries.extend(names)
                if full_reply and count < full_reply:
                    code, err = SFTP_EOF, OSError()  # a short reply: the folder ended
                elif d.reads == 0:  # no READDIR sent with it brought end of file
                    for _ in range(2 if full_reply else 1):
                        request("read", d, CMD_READDIR, d.handle)
                        d.reads += 1
                    continue
                else:
                    continue
            else:
                code, err = _failure(t, msg, d.path)
            if not d.done:
                d.done = True
                yield d.path, d.entries if code == SFTP_EOF else err, d.depth
                if code == SFTP_EOF and d.depth < max_depth:
                    base = d.path.rstrip("/")
                    for entry in d.entries:
                        name, mode = entry[0], entry[1]
                        if stat_mod.S_ISDIR(mode):
                            child = f"{base}/{name}"
                            if descend(child):
                                todo.append((child, d.depth + 1))
            if d.done and d.reads == 0:
                request("close", d, CMD_CLOSE, d.handle)


def read_links(sftp: Any, paths: list[str], window: int = WINDOW) -> dict[str, str | OSError]:
    """{path: link target, or the OSError reading it raised}, READLINKs kept in flight."""
    pipe = _Pipe(sftp, window)
    pending: dict[int, str] = {}
    results: dict[str, str | OSError] = {}
    todo = deque(paths)
    while todo or pending:
        while todo and len(pending) < window:
            path = todo.popleft()
            pending[pipe.request(CMD_READLINK, path)] = path
        pipe.receive()
        while pipe.replies:
            num, t, msg = pipe.replies.popleft()
            path = pending.pop(num)
            if t != CMD_NAME:
                results[path] = _failure(t, msg, path)[1]
                continue
            data = msg.get_remainder()
            try:
                (count,) = _U32.unpack_from(data, 0)
                (n,) = _U32.unpack_from(data, 4)
                results[path] = data[8:8 + n].decode("utf-8", "surrogateescape") if count else ""
            except struct.error:
                results[path] = OSError(errno.EIO, "malformed SFTP readlink reply", path)
    return results


def read_file(sftp: Any, path: str, size: int, limit: int) -> bytes:
    """Up to `limit` bytes of a regular file whose size was just read (0 for /proc files,
    which report none): OPEN, then every READ at once, then a CLOSE that is not waited for.
    Two round trips instead of one per request."""
    pipe = _Pipe(sftp, WINDOW)
    num = pipe.request(CMD_OPEN, path, FXF_READ, 0)
    while True:
        pipe.receive()
        if any(r[0] == num for r in pipe.replies):
            break
    _, t, msg = pipe.replies.popleft()
    if t != CMD_HANDLE:
        raise _failure(t, msg, path)[1]
    handle = msg.get_binary()
    chunks: dict[int, bytes] = {}
    offset = 0
    # One chunk past the size it reported, to see end of file in the same round trip.
    target = min(limit, size + CHUNK if size else 4 * CHUNK)
    eof = False
    try:
        while not eof and offset < limit:
            pending: dict[int, int] = {}
            while offset < target:
                length = min(CHUNK, limit - offset)
                pending[pipe.request(CMD_READ, handle, Offset(offset), length)] = length
                offset += length
            while pending:
                pipe.receive()
                while pipe.replies:
                    rnum, t, msg = pipe.replies.popleft()
                    length = pending.pop(rnum, 0)
                    if t == CMD_DATA:
                        chunks[rnum] = msg.get_binary()
                        eof = eof or len(chunks[rnum]) < length
                    else:
                        code, err = _failure(t, msg, path)
                        if code != SFTP_EOF:
                            raise err
                        eof = True
            target = min(limit, offset + 4 * CHUNK)  # longer than it said: it grew, or /proc
    finally:
        pipe.request(CMD_CLOSE, handle)
        pipe.flush()  # its reply is dispatched to `pipe` whenever it arrives, and dropped
    return b"".join(chunks[n] for n in sorted(chunks))
