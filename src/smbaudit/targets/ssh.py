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
import queue
import re
import stat as stat_mod
import threading
from dataclasses import dataclass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from smbaudit.errors import FileTooLarge, PathNotReadable, TargetError, UnsupportedOperation
from smbaudit.models import TargetInfo
from smbaudit.runner import RunResult
from smbaudit.targets.base import MAX_READ, FileStat, file_type
from smbaudit.targets.posixfs import _PosixTarget
from smbaudit.targets.sftp_pipeline import read_file, read_links, walk
from smbaudit.targets.sshconnect import PASSWORD_ENV, Connection, HostSettings, open_session, resolve
from smbaudit.targets.sshconnect import connect as connect_ssh

SCHEME = "ssh://"
MAX_SESSIONS = 8  # SFTP sessions per host (OpenSSH allows 10 per connection by default)
WALK_SESSIONS = 2  # sessions one tree walk reads with at once
# What a scan keeps of what it read from one host (probes ask for the same files and folders
# again and again: the package database, systemd's unit folders, /etc). The host is read as a
# snapshot: a file that changes during the scan is seen as it was first read.
CACHE_FILE_MAX = 2 * 1024 * 1024  # files larger than this are read again when asked
CACHE_BYTES = 16 * 1024 * 1024  # file contents kept per host
LISTING_MAX = 20_000  # folder listings kept only up to this many entries
STATS_BEFORE_LISTING = 2  # stats under one folder after which its listing answers the rest
_UNKNOWN = object()  # a cache that cannot answer
_SPEC = re.compile(r"^ssh://(?:(?P<user>[^@/\s]+)@)?(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:/\s\[\]@]+))"
                   r"(?::(?P<port>\d{1,5}))?/?$")


@dataclass(frozen=True)
class SSHOptions:
    """Settings shared by every ssh:// host of a scan; an inventory entry overrides per host."""

    key_file: str | None = None
    known_hosts: str | tuple[str, ...] | None = None  # extra known_hosts files
    accept_new_host_key: bool = False
    timeout: float = 10.0
    config_file: str | None = None  # OpenSSH client configuration (-F); default ~/.ssh/config
    become: bool = False  # read through `sudo -n sftp-server`

    @property
    def known_hosts_files(self) -> tuple[str, ...]:
        if self.known_hosts is None:
            return ()
        return (self.known_hosts,) if isinstance(self.known_hosts, str) else tuple(self.known_hosts)


def is_ssh_spec(spec: str) -> bool:
    return spec.startswith(SCHEME)


def split_ssh_spec(spec: str) -> tuple[str | None, str, int | None]:
    """(user, host, port) from ssh://[user@]host[:port], None where the spec leaves it out."""
    m = _SPEC.match(spec)
    port = int(m.group("port")) if m and m.group("port") else None
    if not m or (port is not None and not 0 < port < 65536):
        raise TargetError(f"{spec!r}: expected ssh://[user@]host[:port], e.g. ssh://admin@192.0.2.10")
    return m.group("user"), m.group("v6") or m.group("host"), port


def parse_ssh_spec(spec: str) -> tuple[str, str, int]:
    """(user, host, port) from ssh://[user@]host[:port]; the user defaults to the local one."""
    user, host, port = split_ssh_spec(spec)
    return user or getpass.getuser(), host, port or 22


class SSHTarget(_PosixTarget):
    """A live remote host read over SFTP. Thread-safe: paramiko's SFTP client is not safe for
    concurrent requests, so every request holds the target's lock.

    `host` (from an inventory) gives per-host address, port, user, key and `become`; the
    OpenSSH client configuration fills what neither the spec nor the inventory says.
    """

    live = True

    def __init__(self, spec: str, options: SSHOptions, host: HostSettings | None = None):
        self.name = spec
        user, address, port = split_ssh_spec(spec) if is_ssh_spec(spec) else (None, spec, None)
        self.settings = host or HostSettings(alias=address, port=port, user=user, become=options.become)
        self.user = self.settings.user or user or getpass.getuser()
        self.host = self.settings.host or address
        self.port = self.settings.port or port or 22
        self.options = options
        self._lock = threading.Lock()  # guards the pool below
        self._idle: list[Any] = []  # SFTP sessions not in use
        self._sessions = 0  # sessions open, idle or lent
        self._returned = threading.Condition(self._lock)
        self._conn: Connection | None = None
        self.host_key_fingerprint = ""
        self.lost = ""  # why the connection broke after it was open
        self._expired = False  # a request outlived --timeout and the connection was closed
        self._cache_lock = threading.Lock()
        self._files: dict[str, bytes] = {}
        self._file_bytes = 0
        self._stats: dict[tuple[str, bool], FileStat | None] = {}
        self._listings: dict[str, dict[str, Any] | None] = {}  # None: the folder does not exist
        self._asked: dict[str, int] = {}  # stats per parent folder not yet listed
        self._link_targets: dict[str, str] = {}  # links of the listed folders

    # ------------------------------------------------------------------ connection

    def connect(self) -> None:
        """Open the SSH connection and SFTP session. Raises TargetError with the reason."""
        endpoint, _ = resolve(self.settings, config_file=self.options.config_file,
                              extra_known_hosts=self.options.known_hosts_files,
                              default_key=self.options.key_file)
        self.user, self.host, self.port = endpoint.user, endpoint.host, endpoint.port
        conn = connect_ssh(endpoint, config_file=self.options.config_file,
                           accept_new=self.options.accept_new_host_key,
                           timeout=self.options.timeout, name=self.name)
        self._conn = conn
        self._idle, self._sessions = [conn.sftp], 1
        self.host_key_fingerprint = conn.host_key

    def close(self) -> None:
        with self._cache_lock:  # a fleet keeps its targets to the end: keep no contents
            self._files, self._file_bytes, self._stats = {}, 0, {}
            self._listings, self._asked, self._link_targets = {}, {}, {}
        if self._conn is not None:
            self._conn.close()
            for sftp in self._idle:
                sftp.close()
            self._idle, self._sessions, self._conn = [], 0, None

    @contextmanager
    def _session(self, what: str = "", seconds: float | None = None) -> Iterator[Any]:
        """Lend an SFTP session for one request or one batch. Probes run in several engine
        workers at once; each gets its own session (up to MAX_SESSIONS, all on the one SSH
        connection), so their round trips overlap instead of queueing behind one lock.

        With `what`, the requests must be answered in full within `seconds` (default
        --timeout): a peer answering a byte at a time cannot hold the scan. Past the bound the
        connection is closed, and this and every later read of the host fail saying so."""
        with self._lock:
            for _ in range(10_000):  # bounded: each wait ends when a session is returned
                if self._conn is None:
                    raise OSError(errno.ENOTCONN, self.lost or "not connected", self.name)
                transport = self._conn.client.get_transport()
                if transport is None or not transport.is_active():  # None: closed on expiry
                    self.lost = self.lost or "the connection was lost during the scan"
                    raise OSError(errno.ECONNRESET, self.lost, self.name)
                if self._idle:
                    sftp = self._idle.pop()
                    break
                if self._sessions < MAX_SESSIONS:
                    self._sessions += 1
                    sftp = None
                    break
                self._returned.wait(self.options.timeout)
            else:
                raise OSError(errno.ETIMEDOUT, "no SFTP session became free", self.name)
        timer = None
        if what:
            timer = threading.Timer(seconds or self.options.timeout, self._expire, (what,))
            timer.daemon = True
            timer.start()
        try:
            if sftp is None:
                sftp = open_session(self._conn, self.options.timeout)
            yield sftp
        except OSError as exc:
            if sftp is None or exc.errno is None or isinstance(exc, TimeoutError):  # broken mid-request
                self._discard(sftp)
                if self._expired:
                    raise TimeoutError(errno.ETIMEDOUT, self.lost, what or self.name) from None
                if isinstance(exc, TimeoutError):  # the channel's own timeout: no answer at all
                    raise TimeoutError(errno.ETIMEDOUT, f"no answer within --timeout "
                                       f"({self.options.timeout:g} s)", what or self.name) from None
                raise self._lost(exc) from None  # e.g. "Socket is closed": the link broke
            self._give_back(sftp)  # an answer (no such file, permission denied): still sound
            raise
        except (EOFError, ConnectionError) as exc:
            self._discard(sftp)
            raise self._lost(exc) from None
        except Exception as exc:
            self._discard(sftp)  # it may hold replies nobody will read
            if type(exc).__module__.startswith("paramiko"):  # SSHException: the link broke
                raise self._lost(exc) from None
            raise
        except BaseException:
            self._discard(sftp)
            raise
        finally:
            if timer is not None:
                timer.cancel()
        self._give_back(sftp)

    def _expire(self, what: str) -> None:
        self._expired = True
        self.lost = (f"{what}: no complete answer within --timeout "
                     f"({self.options.timeout:g} s); connection closed")
        if self._conn is not None:
            self._conn.close()

    def _lost(self, exc: BaseException) -> OSError:
        if self._expired:
            return TimeoutError(errno.ETIMEDOUT, self.lost, self.name)
        self.lost = self.lost or f"the connection was lost during the scan ({exc or type(exc).__name__})"
        return OSError(errno.ECONNRESET, self.lost, self.name)

    def _give_back(self, sftp: Any) -> None:
        with self._lock:
            self._idle.append(sftp)
            self._returned.notify()

    def _discard(self, sftp: Any) -> None:
        with self._lock:
            self._sessions -= 1
            self._returned.notify()
        if sftp is not None:
            sftp.close()

    def _denied(self, exc: OSError, path: str) -> OSError:
        """A permission error that says why root-only files could not be read."""
        if exc.errno == errno.EACCES or isinstance(exc, PermissionError):
            return self.not_readable(path)
        return exc

    def not_readable(self, path: str) -> PathNotReadable:
        why = (self._conn.become_error if self._conn and self._conn.become_error
               else "log in as root or use --become")
        return PathNotReadable(path, f"{path} is not readable by {self.user} over SSH: {why}")

    # ------------------------------------------------------------------ reading

    def read_bytes(self, path: str, limit: int = MAX_READ) -> bytes:
        with self._cache_lock:
            cached = self._files.get(path)
        if cached is not None:
            if len(cached) > limit:
                raise FileTooLarge(path, limit)
            return cached
        data = self._read_bytes(path, limit)
        if len(data) <= CACHE_FILE_MAX:
            with self._cache_lock:
                if self._file_bytes + len(data) <= CACHE_BYTES and path not in self._files:
                    self._files[path] = data
                    self._file_bytes += len(data)
        return data

    def _read_bytes(self, path: str, limit: int) -> bytes:
        try:
            with self._session(path) as sftp:
                st = sftp.stat(path)
            kind = file_type(st.st_mode or 0)
            if kind == "dir":
                raise IsADirectoryError(errno.EISDIR, "is a directory", path)
            if kind != "file":
                raise FileNotFoundError(errno.ENOENT, "not a regular file", path)
            if (st.st_size or 0) > limit:
                raise FileTooLarge(path, limit)
            # --timeout per started MB: slow links still read large files, tricklers do not
            seconds = self.options.timeout * (1 + (st.st_size or 0) // (1 << 20))
            with self._session(path, seconds) as sftp:
                data = read_file(sftp, path, st.st_size or 0, limit + 1)
        except PermissionError as exc:
            raise self._denied(exc, path) from None
        if len(data) > limit:
            raise FileTooLarge(path, limit)
        return data

    def stat(self, path: str, follow: bool = True) -> FileStat | None:
        key = (path, follow)
        with self._cache_lock:
            if key in self._stats:
                return self._stats[key]
        found = self._from_listing(path, follow)
        if found is _UNKNOWN:
            found = self._stat(path, follow)
        with self._cache_lock:
            self._stats[key] = found  # type: ignore[assignment]
        return found  # type: ignore[return-value]

    def _from_listing(self, path: str, follow: bool) -> FileStat | None | object:
        """The answer a cached listing of the parent folder gives (a path missing from it does
        not exist; an entry's attributes are its lstat), or _UNKNOWN. A folder is listed once
        a few of its entries have been asked for (systemd's unit folders, /etc/ssl/certs)."""
        parent, _, name = path.rstrip("/").rpartition("/")
        parent = parent or "/"
        if not name or name in (".", ".."):
            return _UNKNOWN
        with self._cache_lock:
            listed = parent in self._listings
            if not listed:
                self._asked[parent] = self._asked.get(parent, 0) + 1
                if self._asked[parent] <= STATS_BEFORE_LISTING:
                    return _UNKNOWN
        entries = self._listing(parent)
        if entries is _UNKNOWN:
            return _UNKNOWN
        if entries is None:
            return None  # the folder itself does not exist
        assert isinstance(entries, dict)
        attrs = entries.get(name)
        if attrs is None:
            return None
        if file_type(attrs.st_mode or 0) == "link":
            if follow:
                return _UNKNOWN  # what it points to needs its own round trip
            with self._cache_lock:
                target = self._link_targets.get(path)
            return _UNKNOWN if target is None else self._to_stat(path, attrs, target)
        return self._to_stat(path, attrs, None)

    def _listing(self, path: str) -> dict[str, Any] | None | object:
        """{name: SFTP attributes} of a folder, None when it does not exist, _UNKNOWN when it
        cannot be listed (not readable, not a folder, too large to keep): cached."""
        with self._cache_lock:
            if path in self._listings:
                return self._listings[path]
        try:
            with self._session(path) as sftp:
                entries = sftp.listdir_attr(path)
        except FileNotFoundError:
            with self._cache_lock:
                self._listings[path] = None
            return None
        except OSError as exc:
            if isinstance(exc, TimeoutError) or exc.errno in (errno.ECONNRESET, errno.ENOTCONN):
                raise  # the connection broke: not an answer about the folder
            return _UNKNOWN  # not readable, not a folder: the caller asks the usual way
        if len(entries) > LISTING_MAX:
            return _UNKNOWN
        listing = {e.filename: e for e in entries}
        base = path.rstrip("/")
        links = [f"{base}/{e.filename}" for e in entries if file_type(e.st_mode or 0) == "link"]
        targets = self.read_links(links) if links else {}  # pipelined: a few round trips
        with self._cache_lock:
            self._listings[path] = listing
            self._link_targets.update((p, t) for p, t in targets.items() if t is not None)
        return listing

    def _stat(self, path: str, follow: bool) -> FileStat | None:
        with self._session(path) as sftp:
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
        entries = self._listing(path)
        if isinstance(entries, dict):
            return sorted(entries)
        with self._session(path) as sftp:
            st = sftp.stat(path)
            if file_type(st.st_mode or 0) != "dir":
                raise NotADirectoryError(errno.ENOTDIR, "not a directory", path)
            return sorted(sftp.listdir(path))

    def dir_modes(self, path: str) -> list[tuple[str, int]]:
        with self._session(path) as sftp:
            try:
                return [(e.filename, e.st_mode or 0) for e in sftp.listdir_attr(path)]
            except PermissionError as exc:
                raise self._denied(exc, path) from None

    def walk_modes(self, roots: list[str], descend: Callable[[str], bool], max_depth: int
                   ) -> Iterator[tuple[str, list[tuple[str, int]] | OSError, int]]:
        """Pipelined over SFTP (see sftp_pipeline): round trips stop multiplying with the
        number of directories; below the roots, split across WALK_SESSIONS sessions."""
        yield from self._walk(roots, descend, max_depth, owners=False)  # type: ignore[misc]

    def walk_owners(self, roots: list[str], descend: Callable[[str], bool], max_depth: int
                    ) -> Iterator[tuple[str, list[tuple[str, int, int, int]] | OSError, int]]:
        """As `walk_modes`, each entry with its uid and gid: the same READDIR replies carry
        them, so knowing owners costs nothing more over SSH."""
        yield from self._walk(roots, descend, max_depth, owners=True)  # type: ignore[misc]

    def _walk(self, roots: list[str], descend: Callable[[str], bool], max_depth: int,
              owners: bool) -> Iterator[tuple[str, list[Any] | OSError, int]]:
        """The roots are listed first; the folders under them are dealt round-robin to
        WALK_SESSIONS SFTP sessions walked at once (each its own sftp-server on the host), so
        the host's two halves of /usr are read side by side. Results come back as they arrive."""
        batch = self._readdir_batch()
        below: list[str] = []
        with self._session() as sftp:
            for path, entries, depth in walk(sftp, roots, lambda p: False, 0, full_reply=batch,
                                             owners=owners):
                if isinstance(entries, OSError):
                    yield path, self._denied(entries, path), depth
                    continue
                yield path, entries, depth
                if max_depth > 0:
                    base = path.rstrip("/")
                    below.extend(f"{base}/{e[0]}" for e in entries
                                 if stat_mod.S_ISDIR(e[1]) and descend(f"{base}/{e[0]}"))
        if not below:
            return
        groups = [below[i::WALK_SESSIONS] for i in range(WALK_SESSIONS) if below[i::WALK_SESSIONS]]
        results: queue.Queue[tuple[str, Any, int] | BaseException | None] = queue.Queue(maxsize=4096)
        stop = threading.Event()

        def produce(group: list[str]) -> None:
            try:
                with self._session() as session:
                    for item in walk(session, group, descend, max_depth, full_reply=batch,
                                     owners=owners, start_depth=1):
                        while not stop.is_set():
                            try:
                                results.put(item, timeout=0.5)
                                break
                            except queue.Full:
                                continue
                        if stop.is_set():
                            return
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer
                results.put(exc)
                return
            results.put(None)

        workers = [threading.Thread(target=produce, args=(g,), name="smbaudit-walk", daemon=True)
                   for g in groups]
        for w in workers:
            w.start()
        running = len(workers)
        try:
            for _ in range(100_000_000):  # bounded; each pass takes one result
                if not running:
                    break
                try:
                    got = results.get(timeout=self.options.timeout * 4)
                except queue.Empty:
                    if not any(w.is_alive() for w in workers):
                        raise OSError(errno.EIO, "the walk stopped without an answer", self.name) from None
                    continue
                if got is None:
                    running -= 1
                elif isinstance(got, BaseException):
                    raise got
                else:
                    path, entries, depth = got
                    yield path, self._denied(entries, path) if isinstance(entries, OSError) else entries, depth
        finally:
            stop.set()

    def _readdir_batch(self) -> int:
        """Entries in every READDIR reply but a folder's last: 100 for OpenSSH's sftp-server
        (`process_readdir` stops at 100, or at the folder's end), else unknown (0)."""
        transport = self._conn.client.get_transport() if self._conn else None
        version = str(getattr(transport, "remote_version", "") or "")
        return 100 if version.startswith("SSH-2.0-OpenSSH_") else 0

    def read_links(self, paths: list[str]) -> dict[str, str | None]:
        with self._session(f"reading {len(paths)} links",
                           self.options.timeout * (1 + len(paths) // 64)) as sftp:
            got = read_links(sftp, paths)
        return {p: None if isinstance(v, OSError) else v for p, v in got.items()}

    def scan_dir(self, path: str) -> list[FileStat]:
        """One SFTP READDIR per directory: the server sends each entry's own metadata
        (link targets are not read here; `stat(path, follow=False)` gives one)."""
        listing = self._listing(path)
        if isinstance(listing, dict):
            entries = list(listing.values())
        else:
            with self._session(path) as sftp:
                entries = sftp.listdir_attr(path)  # fails on a non-directory
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
        via = "ssh (sftp, read-only" + (", through sudo -n)" if self._conn and self._conn.privileged else ")")
        details: dict[str, Any] = {"address": self.host, "port": self.port, "user": self.user, "live": True,
                                   "via": via, "host_key": self.host_key_fingerprint}
        if self._conn and self._conn.become_error:
            details["become"] = self._conn.become_error
        if self.lost:
            details["lost"] = self.lost
        return TargetInfo(name=self.name, kind=self.kind, details=details)
