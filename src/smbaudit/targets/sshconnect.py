"""Opening SSH connections for ssh:// targets: OpenSSH client configuration, jump hosts,
host-key verification and, with `become`, an SFTP server started through `sudo -n`.

Nothing here runs a remote shell with input from anywhere: the only command ever sent is
`sudo -n -- <sftp-server>`, where the server path is one of a fixed list of known locations.
"""

from __future__ import annotations

import errno
import getpass
import os
import re
from dataclasses import dataclass, replace
from typing import Any

from smbaudit.errors import TargetError
from smbaudit.targets.hoststate import ConnectError, HostState

PASSWORD_ENV = "SMBAUDIT_SSH_PASSWORD"
MAX_JUMPS = 8
# Where distributions install OpenSSH's SFTP server (Debian/Ubuntu, RHEL family, Arch/Alpine).
SFTP_SERVERS = ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server",
                "/usr/lib/ssh/sftp-server", "/usr/libexec/sftp-server")
_HOP = re.compile(r"^(?:(?P<user>[^@/\s]+)@)?(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:/\s\[\]@]+))"
                  r"(?::(?P<port>\d{1,5}))?$")


@dataclass(frozen=True)
class Endpoint:
    """Where and as whom to connect, after the spec, the inventory and ssh_config are merged."""

    alias: str  # the name ssh_config is looked up by
    host: str
    port: int
    user: str
    key_files: tuple[str, ...] = ()
    known_hosts: tuple[str, ...] = ()
    proxy_jump: tuple[str, ...] = ()  # [user@]host[:port] hops, outermost first
    become: bool = False


@dataclass(frozen=True)
class HostSettings:
    """What is known about a host before ssh_config fills the gaps (None = not given)."""

    alias: str
    host: str | None = None
    port: int | None = None
    user: str | None = None
    key_file: str | None = None
    become: bool = False


@dataclass
class Connection:
    """An open connection: the client, the SFTP session, and anything that failed on the way."""

    client: Any  # paramiko.SSHClient
    sftp: Any  # paramiko.SFTPClient
    jumps: list[Any]  # clients of the jump hosts, closed with this one
    host_key: str
    become_error: str = ""  # why `become` was not obtained (reads then run unprivileged)
    privileged: bool = False
    sftp_server: str = ""  # the program sudo starts, when privileged

    def close(self) -> None:
        for c in [self.client, *reversed(self.jumps)]:
            try:
                c.close()
            except Exception:  # noqa: BLE001 - closing a dead connection
                pass


def load_config(path: str | None) -> Any:
    """The OpenSSH client configuration (`path`, else ~/.ssh/config if present), or None.
    Raises TargetError for a missing `-F` file or one with `Match exec`."""
    import paramiko

    candidate = path or os.path.expanduser("~/.ssh/config")
    if not os.path.isfile(candidate):
        if path:
            raise TargetError(f"ssh client configuration {path!r} does not exist")
        return None
    try:
        with open(candidate, encoding="utf-8", errors="replace") as fh:
            text = fh.read(1024 * 1024)
    except OSError as exc:
        raise TargetError(f"cannot read ssh client configuration {candidate}: {exc.strerror}") from None
    if re.search(r"(?im)^\s*match\b.*\bexec\b", text):
        raise TargetError(f"{candidate}: `Match exec` runs commands; smbaudit does not run them "
                          "(use a configuration without it, or -F FILE)")
    return paramiko.SSHConfig.from_text(text)


def resolve(settings: HostSettings, *, config_file: str | None, extra_known_hosts: tuple[str, ...],
            default_key: str | None) -> tuple[Endpoint, dict[str, Any]]:
    """Merge command line / inventory settings over the OpenSSH client configuration.

    Returns (endpoint fields, raw ssh_config entry). Explicit values win over ssh_config, as
    with `ssh -p` and `ssh user@host`.
    """
    cfg = load_config(config_file)
    entry: dict[str, Any] = dict(cfg.lookup(settings.alias)) if cfg is not None else {}
    host = settings.host or entry.get("hostname") or settings.alias
    port = settings.port or int(entry.get("port", 22))
    user = settings.user or entry.get("user") or getpass.getuser()
    keys: list[str] = []
    if settings.key_file:
        keys.append(settings.key_file)
    elif default_key:
        keys.append(default_key)
    elif entry.get("identityfile"):
        keys.extend(os.path.expanduser(k) for k in entry["identityfile"] if os.path.isfile(os.path.expanduser(k)))
    known = list(extra_known_hosts)
    for f in str(entry.get("userknownhostsfile", "")).split():
        f = os.path.expanduser(f)
        if f not in known and f != "/dev/null":
            known.append(f)
    jump = entry.get("proxyjump", "")
    hops = tuple(h.strip() for h in jump.split(",") if h.strip()) if jump and jump.lower() != "none" else ()
    if len(hops) > MAX_JUMPS:
        raise TargetError(f"{settings.alias}: more than {MAX_JUMPS} jump hosts")
    return Endpoint(alias=settings.alias, host=host, port=port, user=user, key_files=tuple(keys),
                    known_hosts=tuple(known), proxy_jump=hops, become=settings.become), entry


def parse_hop(hop: str) -> HostSettings:
    m = _HOP.match(hop)
    if not m:
        raise TargetError(f"bad jump host {hop!r}: expected [user@]host[:port]")
    return HostSettings(alias=m.group("v6") or m.group("host"), port=int(m.group("port")) if m.group("port") else None,
                        user=m.group("user"))


def _client(known_hosts: tuple[str, ...], accept_new: bool) -> Any:
    import paramiko

    client = paramiko.SSHClient()
    client.load_system_host_keys()
    user_known = os.path.expanduser("~/.ssh/known_hosts")
    for f in (user_known, *known_hosts):
        if os.path.isfile(f):
            client.load_host_keys(f)
    client._host_keys_filename = None  # type: ignore[attr-defined]  # never save to known_hosts
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy() if accept_new else paramiko.RejectPolicy())
    return client


# AES-GCM first when the server offers it: no separate MAC per packet, which halves the
# client's work per SFTP reply (paramiko computes HMACs in Python); the others stay allowed.
_AEAD = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")


def _transport(sock: Any, **kwargs: Any) -> Any:
    import paramiko

    transport = paramiko.Transport(sock, **kwargs)
    offered = transport.get_security_options().ciphers
    transport.get_security_options().ciphers = (
        tuple(c for c in _AEAD if c in offered) + tuple(c for c in offered if c not in _AEAD))
    return transport


def _open(endpoint: Endpoint, *, accept_new: bool, timeout: float, sock: Any, name: str) -> Any:
    import paramiko

    client = _client(endpoint.known_hosts, accept_new)
    password = os.environ.get(PASSWORD_ENV) or None
    try:
        client.connect(endpoint.host, port=endpoint.port, username=endpoint.user, password=password,
                       key_filename=list(endpoint.key_files) or None, timeout=timeout,
                       banner_timeout=timeout, auth_timeout=timeout, channel_timeout=timeout,
                       allow_agent=True, look_for_keys=not endpoint.key_files, sock=sock,
                       transport_factory=_transport)
    except paramiko.BadHostKeyException:
        client.close()
        raise ConnectError(f"{name}: the host key does not match known_hosts "
                           "(possible man-in-the-middle); not connecting",
                           HostState.HOST_KEY_MISMATCH) from None
    except paramiko.AuthenticationException:
        client.close()
        raise ConnectError(f"{name}: login refused for user {endpoint.user!r} (no key or password "
                           "accepted)", HostState.REFUSED) from None
    except paramiko.SSHException as exc:
        client.close()
        if "not found in known_hosts" in str(exc):
            raise ConnectError(f"{name}: host key unknown; add it to known_hosts "
                               "(ssh-keyscan) or pass --ssh-accept-new-host-key",
                               HostState.HOST_KEY_UNKNOWN) from None
        raise ConnectError(f"{name}: {exc}") from None
    except OSError as exc:
        client.close()
        raise ConnectError(f"{name}: cannot connect: {exc.strerror or exc}") from None
    return client


def connect(endpoint: Endpoint, *, config_file: str | None, accept_new: bool, timeout: float,
            name: str) -> Connection:
    """Connect (through the jump hosts, if any), open SFTP, and with `become` switch the SFTP
    session to one started by `sudo -n`. Raises TargetError with the reason."""
    hops = [replace(resolve(parse_hop(h), config_file=config_file, extra_known_hosts=endpoint.known_hosts,
                            default_key=None)[0], proxy_jump=()) for h in endpoint.proxy_jump]
    chain = [*hops, endpoint]
    jumps: list[Any] = []
    sock = None
    try:
        for i, hop in enumerate(hops):
            jumps.append(_open(hop, accept_new=accept_new, timeout=timeout, sock=sock,
                               name=f"{name} (jump host {endpoint.proxy_jump[i]})"))
            sock = _channel_to(jumps[-1], (chain[i + 1].host, chain[i + 1].port), timeout, name)
        client = _open(endpoint, accept_new=accept_new, timeout=timeout, sock=sock, name=name)
    except BaseException:
        for j in reversed(jumps):
            j.close()
        raise
    try:
        sftp = client.open_sftp()
        sftp.get_channel().settimeout(timeout)
    except Exception as exc:  # noqa: BLE001 - paramiko raises several kinds here
        client.close()
        for j in reversed(jumps):
            j.close()
        raise ConnectError(f"{name}: the SFTP subsystem is not available: {exc}") from None
    key = client.get_transport().get_remote_server_key()
    conn = Connection(client=client, sftp=sftp, jumps=jumps,
                      host_key=f"{key.get_name()} {getattr(key, 'fingerprint', '')}".strip())
    if endpoint.become:
        _become(conn, timeout)
    return conn


def _channel_to(client: Any, address: tuple[str, int], timeout: float, name: str) -> Any:
    try:
        chan = client.get_transport().open_channel("direct-tcpip", address, ("127.0.0.1", 0), timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - ChannelException / SSHException
        raise ConnectError(f"{name}: the jump host could not reach {address[0]}:{address[1]}: {exc}") from None
    chan.settimeout(timeout)
    return chan


def _become(conn: Connection, timeout: float) -> None:
    """Swap the SFTP session for one run by `sudo -n` (no password prompt, no shell input)."""
    server = next((p for p in SFTP_SERVERS if _exists(conn.sftp, p)), None)
    if server is None:
        conn.become_error = "no sftp-server program found on the host for sudo to start"
        return
    privileged = _sudo_sftp(conn, server, timeout)
    if isinstance(privileged, str):
        conn.become_error = privileged
        return
    conn.sftp.close()
    conn.sftp, conn.privileged, conn.sftp_server = privileged, True, server


def _sudo_sftp(conn: Connection, server: str, timeout: float) -> Any:
    """An SFTP client on `sudo -n -- SERVER` (a fixed path from SFTP_SERVERS), or why not."""
    import paramiko

    chan = conn.client.get_transport().open_session(timeout=timeout)
    chan.settimeout(timeout)
    chan.exec_command(f"sudo -n -- {server}")
    try:
        sftp = paramiko.SFTPClient(chan)
    except Exception:  # noqa: BLE001 - sudo refused: the channel closed before SFTP began
        err = b""
        try:
            err = chan.makefile_stderr("rb").read(400)
        except Exception:  # noqa: BLE001
            pass
        chan.close()
        text = err.decode("utf-8", "replace").strip().splitlines()
        return f"sudo -n was refused ({text[0][:160] if text else 'no reason given'})"
    return sftp


def open_session(conn: Connection, timeout: float) -> Any:
    """Another SFTP session on the same connection, privileged like the first one."""
    if conn.privileged:
        sftp = _sudo_sftp(conn, conn.sftp_server, timeout)
        if isinstance(sftp, str):
            raise OSError(errno.EACCES, sftp, conn.sftp_server)
    else:
        try:
            sftp = conn.client.open_sftp()
        except Exception as exc:  # noqa: BLE001 - paramiko raises several kinds here
            raise OSError(errno.EIO, f"cannot open another SFTP session: {exc}") from None
    sftp.get_channel().settimeout(timeout)
    return sftp


def _exists(sftp: Any, path: str) -> bool:
    try:
        sftp.stat(path)
        return True
    except OSError:
        return False
