"""Wireless network interfaces of a live host and whether their drivers are kept from loading.

As the benchmark's audit does: the interfaces with a `wireless` (or `phy80211`) entry in
/sys/class/net, the kernel module of each one's driver (/sys/class/net/IF/device/driver/module),
and for each module whether modprobe.d refuses it (`install MODULE /bin/false`, kmod's reading
order) and whether it is loaded now. Only a live host has /sys: offline trees are not judged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smbaudit.models import TargetKind
from smbaudit.probes import factschema as fs
from smbaudit.probes._common import host_of
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.probes.kernel_modules import _install_for, _refuses, loaded_modules, normalize, parse_modprobe
from smbaudit.targets.base import Target

NET = "/sys/class/net"


class WirelessProbe(Probe):
    """Wireless interfaces (live) and their driver modules.

    Facts: live, interfaces (names of wireless interfaces; None offline), drivers (list of
    {module, interfaces, install_disabled, loaded}), enabled_drivers (modules that are loaded or
    not refused by an `install ... /bin/false` line).
    """

    name = "wireless"
    description = "wireless interfaces and whether their driver modules can load (live hosts)"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}
    facts = fs.record(
        live=fs.BOOL, interfaces=fs.nullable(fs.list_of(fs.STR)),
        drivers=fs.list_of(fs.record(module=fs.STR, interfaces=fs.list_of(fs.STR),
                                     install_disabled=fs.BOOL, loaded=fs.nullable(fs.BOOL))),
        enabled_drivers=fs.list_of(fs.STR),
    )

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        if not host.live:
            return {"live": False, "interfaces": None, "drivers": [], "enabled_drivers": []}
        try:
            names = host.list_dir(NET)
        except OSError:
            names = []
        wireless = [n for n in names if host.exists(f"{NET}/{n}/wireless")
                    or host.exists(f"{NET}/{n}/phy80211")]
        by_module: dict[str, list[str]] = {}
        for name in wireless:
            link = host.read_links([f"{NET}/{name}/device/driver/module"]).get(
                f"{NET}/{name}/device/driver/module")
            module = normalize(link.rstrip("/").rsplit("/", 1)[-1]) if link else f"({name}: driver unknown)"
            by_module.setdefault(module, []).append(name)
        directives, _ = parse_modprobe(host)
        loaded = loaded_modules(host)
        drivers = []
        for module, interfaces in sorted(by_module.items()):
            install = _install_for(directives, module)
            drivers.append({"module": module, "interfaces": interfaces,
                            "install_disabled": install is not None and _refuses(install["command"]),
                            "loaded": None if loaded is None else module in loaded})
        return {"live": True, "interfaces": wireless, "drivers": drivers,
                "enabled_drivers": [d["module"] for d in drivers
                                    if d["loaded"] or not d["install_disabled"]]}
