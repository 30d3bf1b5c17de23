"""Services: whether named units are enabled (systemd, else SysV init links), whether they run
(live), and whether the packages that provide them are installed.

Unit state comes from files, as `systemctl is-enabled` derives it: a unit is enabled when a link
with its name or one of its Alias= names sits in a *.wants/ or *.requires/ directory (admin or
vendor), masked when /etc or /run holds a link to /dev/null (or an empty file), static when its
file has no [Install] section (it runs only when something else pulls it in, e.g. a .socket).
Presets are not assumed: a unit nobody enabled is disabled. Without systemd units, SysV
/etc/rc[2-5].d/S* links count. Running state is only known live, from systemd's runtime
directory (/run/systemd/units/invocation:UNIT).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from smbaudit.errors import ProbeError
from smbaudit.models import TargetKind
from smbaudit.probes import _systemd
from smbaudit.probes._common import host_of
from smbaudit.probes._hostfiles import list_optional, read_optional
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.probes.packages import installed_packages
from smbaudit.targets.base import HostTarget, Target

_INSTALL_KEYS = re.compile(r"^\s*(WantedBy|RequiredBy|UpheldBy|Also|Alias)\s*=\s*\S", re.M)
RUNTIME_DIR = "/run/systemd/units"


def _static(host: HostTarget, path: str | None) -> bool:
    if path is None:
        return False
    text = read_optional(host, path) or ""
    return _INSTALL_KEYS.search(text) is None


def _sysv(host: HostTarget, name: str) -> dict[str, Any] | None:
    if host.stat(f"/etc/init.d/{name}") is None:
        return None
    enabled = False
    for level in "2345":
        if any(re.fullmatch(rf"S\d\d{re.escape(name)}", e)
               for e in list_optional(host, f"/etc/rc{level}.d")):
            enabled = True
    return {"path": f"/etc/init.d/{name}", "enabled": enabled}


def running_units(host: HostTarget) -> set[str] | None:
    """Units systemd has running now (live hosts booted with systemd), else None."""
    if not host.live or host.stat(RUNTIME_DIR) is None:
        return None
    return {e.split(":", 1)[1] for e in list_optional(host, RUNTIME_DIR) if e.startswith("invocation:")}


def unit_facts(host: HostTarget, unit: str, running: set[str] | None) -> dict[str, Any]:
    state = _systemd.unit_state(host, unit)
    facts: dict[str, Any] = {"unit": unit, "found": state["path"] is not None, "path": state["path"],
                             "masked": state["masked"], "enabled": state["enabled"],
                             "static": False, "wanted_by": state["wanted_by"], "init": "systemd"}
    if state["masked"]:
        facts["state"] = "masked"
    elif state["path"] is None:
        sysv = _sysv(host, unit.rsplit(".", 1)[0]) if unit.endswith(".service") else None
        if sysv is not None:
            facts.update(found=True, path=sysv["path"], enabled=sysv["enabled"], init="sysv")
            facts["state"] = "enabled" if sysv["enabled"] else "disabled"
        else:
            facts["state"] = "not-found"
    elif state["enabled"]:
        facts["state"] = "enabled"
    elif _static(host, state["path"]):
        facts.update(static=True, state="static")
    else:
        facts["state"] = "disabled"
    facts["active"] = None if running is None else unit in running
    return facts


_UNIT_FACTS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "unit": {"type": "string"},
        "found": {"type": "boolean"},
        "path": {"type": ["string", "null"]},
        "state": {"enum": ["enabled", "disabled", "static", "masked", "not-found"]},
        "enabled": {"type": "boolean"},
        "masked": {"type": "boolean"},
        "static": {"type": "boolean"},
        "wanted_by": {"type": "array", "items": {"type": "string"}},
        "init": {"enum": ["systemd", "sysv"]},
        "active": {"type": ["boolean", "null"]},
    },
}


class ServicesProbe(Probe):
    """State of the named units and installation of the named packages.

    Facts: live, running_known (live and systemd's runtime directory readable),
    packages_known (a package database was read), packages_installed (those of the named
    packages that are installed), units (list of {unit, found, path, state (enabled / disabled /
    static / masked / not-found), enabled, masked, static, wanted_by, init (systemd / sysv),
    active (live: running now; None when unknown)}), enabled (names of enabled units), active
    (names of units running now; empty when unknown), in_use (a named package is installed and
    one of the units is enabled or running; with no package named or no package database, an
    enabled or running unit alone).
    """

    name = "services"
    description = "systemd / SysV unit state (enabled, masked, static, running) and providing packages"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "units": {"type": "array", "items": {"type": "string",
                                                 "pattern": r"^[A-Za-z0-9@_.:\\-]+\.(service|socket|timer|path|target|mount)$"}},
            "packages": {"type": "array", "items": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9+.-]*$"}},
        },
    }
    facts = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "live": {"type": "boolean"},
            "running_known": {"type": "boolean"},
            "packages_known": {"type": "boolean"},
            "packages_installed": {"type": "array", "items": {"type": "string"}},
            "units": {"type": "array", "items": _UNIT_FACTS},
            "enabled": {"type": "array", "items": {"type": "string"}},
            "active": {"type": "array", "items": {"type": "string"}},
            "in_use": {"type": "boolean"},
        },
    }

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        wanted = list(params.get("packages", []))
        installed: list[str] = []
        known = False
        if wanted:
            try:
                _manager, packages = installed_packages(host, ctx.io_timeout())
                names = {p.name for p in packages}
                installed = [p for p in wanted if p in names]
                known = True
            except ProbeError:
                known = False
        running = running_units(host)
        units = [unit_facts(host, u, running) for u in params.get("units", [])]
        enabled = [u["unit"] for u in units if u["enabled"]]
        active = [u["unit"] for u in units if u["active"]]
        # CIS's "not in use": the package is absent, or none of its units is enabled or running.
        in_use = bool(enabled or active) and (bool(installed) or not wanted or not known)
        return {
            "live": host.live,
            "running_known": running is not None,
            "packages_known": known,
            "packages_installed": installed,
            "units": units,
            "enabled": enabled,
            "active": active,
            "in_use": in_use,
        }
