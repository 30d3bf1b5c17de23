"""Small readers shared by the CIS-depth host probes: optional files that must be readable, and
configuration drop-in directories merged the way systemd and kmod merge them."""

from __future__ import annotations

from smbaudit.errors import NotReadable
from smbaudit.targets.base import HostTarget

MAX_CONFIG_BYTES = 2 * 1024 * 1024


def read_optional(host: HostTarget, path: str, limit: int = MAX_CONFIG_BYTES) -> str | None:
    """The file's text; None when it does not exist (or is a directory). A file that exists but
    cannot be read is NotReadable: the probe's facts would be incomplete, never assumed."""
    try:
        return host.read_text(path, limit)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except PermissionError:
        raise NotReadable(f"{path} is not readable: run as root") from None


def list_optional(host: HostTarget, path: str) -> list[str]:
    """Entry names of a directory; [] when it does not exist."""
    try:
        return host.list_dir(path)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except PermissionError:
        raise NotReadable(f"{path} is not readable: run as root") from None


def dropins(host: HostTarget, dirs: tuple[str, ...], suffix: str) -> list[str]:
    """Drop-in files named *suffix across `dirs` (highest precedence first): a file in an earlier
    directory hides a file with the same name in a later one, and the survivors are read in
    lexical order of their names (systemd.syntax(7), modprobe.d(5), sysctl.d(5))."""
    chosen: dict[str, str] = {}
    for d in dirs:
        for name in list_optional(host, d):
            if name.endswith(suffix) and name not in chosen:
                chosen[name] = f"{d}/{name}"
    return [chosen[name] for name in sorted(chosen)]
