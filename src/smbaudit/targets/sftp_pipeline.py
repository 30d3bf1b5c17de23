"""Directory listings over SFTP with many requests in flight.

One listing is OPENDIR, READDIR until end of file, CLOSE: three or more round trips. Done one
directory at a time, a walk of /usr over a link with 10 ms of latency spends minutes waiting.
Here up to `window` requests are outstanding at once on the same SFTP session, so waiting is
paid roughly once per batch instead of once per request. paramiko has no public API for this;
it does dispatch responses to an object's `_async_response` (the hook its file prefetching
uses), which is what `_Inbox` provides.
"""

from __future__ import annotations

import errno
from typing import Any

# SFTP packet types (draft-ietf-secsh-filexfer-02, the version OpenSSH speaks)
CMD_OPENDIR, CMD_READDIR, CMD_CLOSE = 11, 12, 4
CMD_STATUS, CMD_HANDLE, CMD_NAME = 101, 102, 104
SFTP_EOF = 1
_ERRNO = {2: errno.ENOENT, 3: errno.EACCES, 4: errno.EIO}
WINDOW = 64  # requests in flight; OpenSSH's sftp-server handles up to 100 open handles
MAX_ROUNDS = 10_000_000  # responses read in one call: a bound, never reached in practice


class _Inbox:
    """Collects responses that paramiko dispatches by request number."""

    def __init__(self) -> None:
        self.responses: dict[int, tuple[int, Any]] = {}

    def _async_response(self, t: int, msg: Any, num: int) -> None:
        self.responses[num] = (t, msg)


def _failure(t: int, msg: Any, path: str) -> tuple[int, OSError]:
    """(SFTP status code, the error it means) for a reply that is not the one hoped for."""
    if t != CMD_STATUS:
        return -1, OSError(errno.EIO, f"unexpected SFTP reply type {t}", path)
    code = msg.get_int()
    text = msg.get_text() if msg.get_remainder() else ""
    return code, OSError(_ERRNO.get(code, errno.EIO), text or f"SFTP status {code}", path)


def list_dirs(sftp: Any, paths: list[str], window: int = WINDOW) -> dict[str, list[tuple[str, int]] | OSError]:
    """{path: [(name, st_mode), ...] or the OSError that listing it raised}, for every path.

    The caller holds whatever lock serialises use of `sftp`.
    """
    from paramiko.sftp_attr import SFTPAttributes  # only SSH targets pay for paramiko

    inbox = _Inbox()
    pending: dict[int, tuple[str, str, bytes]] = {}  # request -> (kind, path, handle)
    entries: dict[str, list[tuple[str, int]]] = {p: [] for p in paths}
    results: dict[str, list[tuple[str, int]] | OSError] = {}
    todo = list(reversed(paths))

    def send(kind: str, path: str, handle: bytes, t: int, arg: Any) -> None:
        pending[sftp._async_request(inbox, t, arg)] = (kind, path, handle)

    rounds = 0
    while todo or pending:
        while todo and len(pending) < window:
            path = todo.pop()
            send("open", path, b"", CMD_OPENDIR, path)
        rounds += 1
        if rounds > MAX_ROUNDS:
            raise OSError(errno.EIO, "too many SFTP responses", paths[0] if paths else "")
        sftp._read_response()
        for num in list(inbox.responses):
            t, msg = inbox.responses.pop(num)
            kind, path, handle = pending.pop(num)
            if kind == "open":
                if t == CMD_HANDLE:
                    h = msg.get_binary()
                    send("read", path, h, CMD_READDIR, h)
                else:
                    results[path] = _failure(t, msg, path)[1]
            elif kind == "read":
                if t == CMD_NAME:
                    for _ in range(msg.get_int()):
                        name = msg.get_text()
                        longname = msg.get_text()
                        attr = SFTPAttributes._from_msg(msg, name, longname)  # type: ignore[attr-defined]
                        if name not in (".", ".."):
                            entries[path].append((name, attr.st_mode or 0))
                    send("read", path, handle, CMD_READDIR, handle)
                else:
                    code, err = _failure(t, msg, path)
                    results[path] = entries[path] if code == SFTP_EOF else err
                    send("close", path, handle, CMD_CLOSE, handle)
            # "close" replies need no handling
    return results
