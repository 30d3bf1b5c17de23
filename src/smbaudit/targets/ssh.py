"""Remote hosts over SSH, agentless: `ssh://[user@]host[:port]`.

Files are read through the SFTP subsystem only, so no remote shell ever runs and no path is
ever interpolated into a command line; `run()` is refused, which makes the probes that need
a command report "not applicable" rather than guess. Host keys are verified against the
system's and the user's known_hosts (plus `known_hosts` given here); an unknown key is refused
unless `accept_new_host_key` is set, and even then nothing is written to any known_hosts file.
"""

from __future__ import annotations

import errno
import getpass
import os
import re
import stat as stat_mod
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from smbaudit.errors import TargetError, UnsupportedOperation
from smbaudit.models import TargetInfo
from smbaudit.runner import RunResult
from smbaudit.targets.base import MAX_READ, FileStat, file_type
from smbaudit.targets.posixfs import _PosixTarget

if TYPE_CHECKING:
    import paramiko

SCHEME = "ssh://"
PASSWORD_ENV = "SMBAUDIT_SSH_PASSWORD"
_SPEC = re.compile(r"^ssh://(?:(?P<user>[^@/\s]+)@)?(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:/\s\[\]@]+))"
                   r"(?::(?P<port>\d{1,5}))?/?$")


@dataclass(frozen=True)
class SSHOptions:
    key_file: str | None = None
    known_hosts: str | None = None
    accept_new_host_key: bool = False
    timeout: float = 10.0


def is_ssh_spec(spec: str) -> bool:
    return spec.startswith(SCHEME)


def parse_ssh_spec(spec: str) -> tuple[str, str, int]:
    """(user, host, port) from ssh://[user@]host[:port]; the user defaults to the local one."""
    m = _SPEC.match(spec)
    port = int(m.group("port") or 22) if m else 0
    if not m or not 0 < port < 65536:
        raise TargetError(f"{spec!r}: expected ssh://[user@]host[:port], e.g. ssh://admin@192.0.2.10")
    return m.group("user") or getpass.getuser(), m.group("v6") or m.group("host"), port


class SSHTarget(_PosixTarget):
    """A live remote host read over SFTP. Thread-safe: paramiko's SFTP client is not safe for
    concurrent requests, so every request holds the target's lock."""

    live = True

    def __init__(self, spec: str, options: SSHOptions):
        self.name = spec
        self.user, self.host, self.port = parse_ssh_spec(spec)
        self.options = options
        self._lock = threading.Lock()
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self.host_key_fingerprint = ""

    # ------------------------------------------------------------------ connection

    def connect(self) -> None:
        """Open the SSH connection and SFTP session. Raises TargetError with the reason."""
        import paramiko  # imported here: only SSH targets pay for it

        client = paramiko.SSHClient()
        client.load_system_host_keys()
        user_known = os.path.expanduser("~/.ssh/known_hosts")
        if os.path.isfile(user_known):
            client.load_host_keys(user_known)
            # never save back to the user's file (paramiko keeps the name in a private field)
            client._host_keys_filename = None  # type: ignore[attr-defined]
        if self.options.known_hosts:
            client.load_host_keys(self.options.known_hosts)
            client._host_keys_filename = None  # type: ignore[attr-defined]
        client.set_missing_host_key_policy(
            paramiko.AutoAddPolicy() if self.options.accept_new_host_key else paramiko.RejectPolicy())
        password = os.environ.get(PASSWORD_ENV) or None
        t = self.options.timeout
        try:
            client.connect(self.host, port=self.port, username=self.user, password=password,
                           key_filename=self.options.key_file, timeout=t, banner_timeout=t,
                           auth_timeout=t, channel_timeout=t, allow_agent=True,
                           look_for_keys=self.options.key_file is None)
            sftp = client.open_sftp()
            channel = sftp.get_channel()
            if channel is not None:
                channel.settimeout(t)
        except paramiko.BadHostKeyException:
            client.close()
            raise TargetError(f"{self.name}: the host key does not match known_hosts "
                              "(possible man-in-the-middle); not connecting") from None
        except paramiko.SSHException as exc:
            client.close()
            if "not found in known_hosts" in str(exc):
                raise TargetError(f"{self.name}: host key unknown; add it to known_hosts "
                                  "(ssh-keyscan) or pass --ssh-accept-new-host-key") from None
            raise TargetError(f"{self.name}: {exc}") from None
        except OSError as exc:
            client.close()
            raise TargetError(f"{self.name}: cannot connect: {exc.strerror or exc}") from None
        transport = client.get_transport()
        if transport is None:
            client.close()
            raise TargetError(f"{self.name}: the SSH connection closed during setup")
        key = transport.get_remote_server_key()
        self.host_key_fingerprint = f"{key.get_name()} {getattr(key, 'fingerprint', '')}".strip()
        self._client, self._sftp = client, sftp

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = self._sftp = None

    def _session(self):  # type: ignore[no-untyped-def]
        if self._sftp is None:
            raise OSError(errno.ENOTCONN, "not connected", self.name)
        return self._sftp

    # ------------------------------------------------------------------ reading

    def read_bytes(self, path: str, limit: int = MAX_READ) -> bytes:
        with self._lock:
            sftp = self._session()
            st = sftp.stat(path)
            kind = file_type(st.st_mode or 0)
            if kind == "dir":
                raise IsADirectoryError(errno.EISDIR, "is a directory", path)
            if kind != "file":
                raise FileNotFoundError(errno.ENOENT, "not a regular file", path)
            with sftp.open(path, "rb") as fh:
                return fh.read(limit)

    def stat(self, path: str, follow: bool = True) -> FileStat | None:
        with self._lock:
            sftp = self._session()
            try:
                st = sftp.stat(path) if follow else sftp.lstat(path)
            except FileNotFoundError:
                return None
            except OSError as exc:
                if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
                    return None
                raise
            link = sftp.readlink(path) if file_type(st.st_mode or 0) == "link" else None
        return self._to_stat(path, st, link)

    def list_dir(self, path: str) -> list[str]:
        with self._lock:
            sftp = self._session()
            st = sftp.stat(path)
            if file_type(st.st_mode or 0) != "dir":
                raise NotADirectoryError(errno.ENOTDIR, "not a directory", path)
            return sorted(sftp.listdir(path))

    def dir_modes(self, path: str) -> list[tuple[str, int]]:
        with self._lock:
            return [(e.filename, e.st_mode or 0) for e in self._session().listdir_attr(path)]

    def scan_dir(self, path: str) -> list[FileStat]:
        """One SFTP READDIR per directory: the server sends each entry's own metadata
        (link targets are not read here; `stat(path, follow=False)` gives one)."""
        with self._lock:
            entries = self._session().listdir_attr(path)  # fails on a non-directory
        base = path.rstrip("/")
        return sorted((self._to_stat(f"{base}/{e.filename}", e, None) for e in entries),
                      key=lambda f: f.path)

    def _to_stat(self, path: str, st, link: str | None) -> FileStat:  # type: ignore[no-untyped-def]
        return FileStat(path=path, type=file_type(st.st_mode or 0), mode=stat_mod.S_IMODE(st.st_mode or 0),
                        uid=st.st_uid or 0, gid=st.st_gid or 0, size=st.st_size or 0,
                        mtime=float(st.st_mtime or 0), owner=self.user_name(st.st_uid or 0),
                        group=self.group_name(st.st_gid or 0), link_target=link)

    def run(self, argv: list[str], timeout: float) -> RunResult:
        raise UnsupportedOperation(f"{self.name}: commands are not run over SSH "
                                   "(the remote audit only reads files, through SFTP)")

    def info(self) -> TargetInfo:
        return TargetInfo(name=self.name, kind=self.kind, details={
            "address": self.host, "port": self.port, "user": self.user, "live": True,
            "via": "ssh (sftp, read-only)", "host_key": self.host_key_fingerprint})
