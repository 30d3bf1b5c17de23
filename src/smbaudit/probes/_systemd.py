"""systemd unit state read from files alone, so it works the same on live hosts and offline trees.

A unit is *enabled* when a link with its name (or one of its aliases) sits in a `*.wants/` or
`*.requires/` directory of /etc/systemd/system (what `systemctl enable` creates), or in the
vendor directories for units the distribution enables statically. It is *masked* when
/etc/systemd/system/UNIT (or /run/systemd/system/UNIT) is a link to /dev/null or an empty file.
"""

from __future__ import annotations

import re
from typing import Any

from smbaudit.probes import factschema as fs
from smbaudit.targets.base import HostTarget

# Unit search path, highest precedence first (systemd.unit(5), system manager).
UNIT_DIRS = (
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
)
_ADMIN_DIRS = ("/etc/systemd/system", "/run/systemd/system")


def unit_file(host: HostTarget, unit: str) -> str | None:
    """Path of the unit file that systemd would load for `unit`, or None."""
    for d in UNIT_DIRS:
        path = f"{d}/{unit}"
        st = host.stat(path, follow=False)
        if st is not None:
            return path
    return None


def _aliases(host: HostTarget, path: str | None) -> list[str]:
    """Names from the unit's [Install] Alias= lines (e.g. dbus-org.fedoraproject.FirewallD1.service)."""
    if path is None:
        return []
    try:
        text = host.read_text(path, 256 * 1024)
    except OSError:
        return []
    names: list[str] = []
    for line in text.splitlines():
        m = re.match(r"^\s*Alias\s*=\s*(.+)$", line)
        if m:
            names.extend(m.group(1).split())
    return names


def _masked(host: HostTarget, unit: str) -> bool:
    for d in _ADMIN_DIRS:
        st = host.stat(f"{d}/{unit}", follow=False)
        if st is None:
            continue
        if st.type == "link" and st.link_target in ("/dev/null", "../../../dev/null"):
            return True
        if st.type == "file" and st.size == 0:
            return True
    return False


def unit_state(host: HostTarget, unit: str) -> dict[str, Any]:
    """Facts about one unit: installed, enabled, masked, wanted_by (targets), path."""
    path = unit_file(host, unit)
    names = {unit, *_aliases(host, path)}
    wanted_by: list[str] = []
    for d in UNIT_DIRS:
        try:
            entries = host.list_dir(d)
        except OSError:
            continue
        for entry in entries:
            if not entry.endswith((".wants", ".requires")):
                continue
            for name in names:
                if host.stat(f"{d}/{entry}/{name}", follow=False) is not None:
                    target = entry.rsplit(".", 1)[0]
                    if target not in wanted_by:
                        wanted_by.append(target)
    masked = _masked(host, unit)
    return {
        "unit": unit,
        "installed": path is not None and not masked,
        "path": path,
        "masked": masked,
        "enabled": bool(wanted_by) and not masked,
        "wanted_by": sorted(wanted_by),
    }


def any_enabled(host: HostTarget, units: list[str]) -> bool:
    return any(unit_state(host, u)["enabled"] for u in units)


# The facts `unit_state` returns, for the probes' `facts` schemas.
UNIT_FACTS = fs.record(unit=fs.STR, installed=fs.BOOL, path=fs.nullable(fs.STR), masked=fs.BOOL,
                       enabled=fs.BOOL, wanted_by=fs.list_of(fs.STR))
