"""GNOME Display Manager: whether it is installed, the dconf settings the CIS benchmarks ask for
(login banner, user list, screen lock, removable media) and whether users can override them,
and XDMCP.

dconf system databases are compiled from keyfiles in /etc/dconf/db/NAME.d/ (read in name order,
a later file overriding an earlier one); lock files in NAME.d/locks/ list keys users cannot
change. Values are read as written (`true`, `uint32 900`, `'text'`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from smbaudit.models import TargetKind
from smbaudit.probes._common import host_of
from smbaudit.probes._hostfiles import list_optional, read_optional
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import HostTarget, Target

GDM_PATHS = ("/usr/sbin/gdm3", "/usr/sbin/gdm", "/etc/gdm3", "/etc/gdm")
CUSTOM_CONFS = ("/etc/gdm3/custom.conf", "/etc/gdm3/daemon.conf", "/etc/gdm/custom.conf")
DCONF_DB = "/etc/dconf/db"
# fact name -> (dconf path, key)
KEYS = {
    "banner_enabled": ("org/gnome/login-screen", "banner-message-enable"),
    "banner_text": ("org/gnome/login-screen", "banner-message-text"),
    "disable_user_list": ("org/gnome/login-screen", "disable-user-list"),
    "idle_delay": ("org/gnome/desktop/session", "idle-delay"),
    "lock_delay": ("org/gnome/desktop/screensaver", "lock-delay"),
    "automount": ("org/gnome/desktop/media-handling", "automount"),
    "automount_open": ("org/gnome/desktop/media-handling", "automount-open"),
    "autorun_never": ("org/gnome/desktop/media-handling", "autorun-never"),
}


def _value(raw: str) -> bool | int | str:
    raw = raw.strip()
    if raw in ("true", "false"):
        return raw == "true"
    m = re.fullmatch(r"(?:u?int(?:16|32|64)\s+)?(-?\d+)", raw)
    if m:
        return int(m.group(1))
    return raw.strip("'\"")


def dconf_settings(host: HostTarget) -> tuple[dict[str, Any], list[str]]:
    """({"path/key": value}, locked "path/key" list) over every system database."""
    values: dict[str, Any] = {}
    locks: list[str] = []
    for db in sorted(list_optional(host, DCONF_DB)):
        if not db.endswith(".d"):
            continue
        base = f"{DCONF_DB}/{db}"
        for name in sorted(list_optional(host, base)):
            st = host.stat(f"{base}/{name}")
            if st is None or st.type != "file":
                continue
            section = ""
            for line in (read_optional(host, f"{base}/{name}") or "").splitlines():
                line = line.strip()
                m = re.fullmatch(r"\[([^\]]+)\]", line)
                if m:
                    section = m.group(1).strip("/")
                elif "=" in line and section and not line.startswith("#"):
                    key, _, value = line.partition("=")
                    values[f"{section}/{key.strip()}"] = _value(value)
        for name in sorted(list_optional(host, f"{base}/locks")):
            for line in (read_optional(host, f"{base}/locks/{name}") or "").splitlines():
                if line.strip().startswith("/"):
                    locks.append(line.strip().strip("/"))
    return values, sorted(set(locks))


def xdmcp_enabled(host: HostTarget) -> bool:
    for path in CUSTOM_CONFS:
        section = ""
        for line in (read_optional(host, path) or "").splitlines():
            line = line.strip()
            if line.startswith("["):
                section = line.lower()
            elif section == "[xdmcp]" and re.fullmatch(r"Enable\s*=\s*(true|1|yes)", line, re.I):
                return True
    return False


class GdmProbe(Probe):
    """GDM and its dconf settings.

    Facts: installed, banner_enabled, banner_text, disable_user_list, idle_delay (seconds),
    lock_delay (seconds), automount, automount_open, autorun_never (each as set in the system
    dconf keyfiles; absent when unset), locked (which of those keys users cannot change: fact
    names as above), xdmcp (XDMCP enabled in custom.conf).
    """

    name = "gdm"
    description = "GDM: login banner, user list, screen lock, removable media (dconf) and XDMCP"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}
    facts = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "installed": {"type": "boolean"},
            **{k: {"type": ["boolean", "integer", "string"]} for k in KEYS},
            "locked": {"type": "array", "items": {"type": "string"}},
            "xdmcp": {"type": "boolean"},
        },
    }

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        values, locks = dconf_settings(host)
        facts: Facts = {"installed": any(host.stat(p) is not None for p in GDM_PATHS)}
        for fact, (path, key) in KEYS.items():
            if f"{path}/{key}" in values:
                facts[fact] = values[f"{path}/{key}"]
        facts["locked"] = [fact for fact, (path, key) in KEYS.items() if f"{path}/{key}" in locks]
        facts["xdmcp"] = xdmcp_enabled(host)
        return facts
