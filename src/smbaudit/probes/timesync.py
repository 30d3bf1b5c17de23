"""Time synchronisation: which daemon keeps the clock (systemd-timesyncd, chrony, ntpd), where it
gets the time from, and (chrony) which user it runs as.

timesyncd reads /etc/systemd/timesyncd.conf and then timesyncd.conf.d drop-ins (later ones
winning); chrony reads chrony.conf (Debian: /etc/chrony/chrony.conf, RHEL: /etc/chrony.conf)
with its `sourcedir` *.sources and `confdir` *.conf files. chronyd drops root for the user
given by `user` (or -u in its options), else the build's default: _chrony on Debian and
Ubuntu, chrony on RHEL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from smbaudit.models import TargetKind
from smbaudit.probes._common import host_of
from smbaudit.probes._hostfiles import dropins, list_optional, read_optional
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.probes.services import running_units, unit_facts
from smbaudit.targets.base import HostTarget, Target

TIMESYNCD_DIRS = ("/etc/systemd/timesyncd.conf.d", "/run/systemd/timesyncd.conf.d",
                  "/usr/local/lib/systemd/timesyncd.conf.d", "/usr/lib/systemd/timesyncd.conf.d")
CHRONY_CONFS = ("/etc/chrony/chrony.conf", "/etc/chrony.conf")
CHRONY_DEFAULTS = ("/etc/default/chrony", "/etc/sysconfig/chronyd")
DAEMONS = {"timesyncd": ["systemd-timesyncd.service"], "chrony": ["chrony.service", "chronyd.service"],
           "ntp": ["ntp.service", "ntpd.service", "ntpsec.service"]}


def timesyncd_servers(host: HostTarget) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {"NTP": [], "FallbackNTP": []}
    for path in ["/etc/systemd/timesyncd.conf", *dropins(host, TIMESYNCD_DIRS, ".conf")]:
        section = ""
        for raw in (read_optional(host, path) or "").splitlines():
            line = raw.strip()
            if line.startswith("["):
                section = line
            elif section == "[Time]" and "=" in line and not line.startswith(("#", ";")):
                key, _, value = line.partition("=")
                if key.strip() in values:
                    values[key.strip()] = value.split()  # an empty assignment resets the list
    return values


def chrony_config(host: HostTarget) -> dict[str, Any]:
    main = next((p for p in CHRONY_CONFS if host.stat(p) is not None), None)
    sources: list[str] = []
    user = None
    files: list[str] = []
    todo = [main] if main else []
    while todo and len(files) < 200:
        path = todo.pop(0)
        text = read_optional(host, path) or ""
        files.append(path)
        for raw in text.splitlines():
            words = raw.split("#", 1)[0].split("!", 1)[0].split()
            if not words:
                continue
            if words[0] in ("server", "pool", "peer", "refclock") and len(words) > 1:
                sources.append(" ".join(words[:2]))
            elif words[0] == "user" and len(words) > 1:
                user = words[1]
            elif words[0] in ("sourcedir", "confdir") and len(words) > 1:
                suffix = ".sources" if words[0] == "sourcedir" else ".conf"
                for d in words[1:]:
                    todo += [f"{d}/{n}" for n in sorted(list_optional(host, d)) if n.endswith(suffix)]
            elif words[0] == "include" and len(words) > 1 and "*" not in words[1]:
                todo.append(words[1])
    for path in CHRONY_DEFAULTS:
        m = re.search(r"-u\s+(\S+?)[\"'\s]", (read_optional(host, path) or "") + " ")
        if m:
            user = m.group(1)
    return {"config": main, "sources": sources, "user": user, "files": files}


_DAEMON = {"type": "object", "additionalProperties": False, "properties": {
    "installed": {"type": "boolean"}, "enabled": {"type": "boolean"},
    "active": {"type": ["boolean", "null"]}}}


class TimeSyncProbe(Probe):
    """Time synchronisation daemons and their sources.

    Facts: daemons (timesyncd / chrony / ntp -> {installed (a unit file exists), enabled, active
    (live; None unknown)}), enabled (names of daemons enabled at boot), enabled_count,
    timesyncd ({ntp, fallback_ntp, servers: both together}), chrony ({config, sources (server /
    pool / peer / refclock lines), user (None: the build's default), runs_as (the user it drops
    to: configured, else _chrony on Debian-family, chrony elsewhere), files}).
    """

    name = "timesync"
    description = "time synchronisation: timesyncd, chrony, ntpd; servers and chrony's user"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}
    facts = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "daemons": {"type": "object", "additionalProperties": False,
                        "properties": {k: _DAEMON for k in DAEMONS}},
            "enabled": {"type": "array", "items": {"type": "string"}},
            "enabled_count": {"type": "integer"},
            "timesyncd": {"type": "object", "additionalProperties": False, "properties": {
                "ntp": {"type": "array", "items": {"type": "string"}},
                "fallback_ntp": {"type": "array", "items": {"type": "string"}},
                "servers": {"type": "array", "items": {"type": "string"}}}},
            "chrony": {"type": "object", "additionalProperties": False, "properties": {
                "config": {"type": ["string", "null"]},
                "sources": {"type": "array", "items": {"type": "string"}},
                "user": {"type": ["string", "null"]}, "runs_as": {"type": "string"},
                "files": {"type": "array", "items": {"type": "string"}}}},
        },
    }

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        running = running_units(host)
        daemons: dict[str, Any] = {}
        for name, units in DAEMONS.items():
            states = [unit_facts(host, u, running) for u in units]
            daemons[name] = {"installed": any(s["found"] for s in states),
                             "enabled": any(s["enabled"] for s in states),
                             "active": None if running is None else any(s["active"] for s in states)}
        enabled = [n for n, d in daemons.items() if d["enabled"]]
        ts = timesyncd_servers(host)
        chrony = chrony_config(host)
        debian_family = host.stat("/etc/debian_version") is not None
        chrony["runs_as"] = chrony["user"] or ("_chrony" if debian_family else "chrony")
        return {
            "daemons": daemons,
            "enabled": enabled,
            "enabled_count": len(enabled),
            "timesyncd": {"ntp": ts["NTP"], "fallback_ntp": ts["FallbackNTP"],
                          "servers": ts["NTP"] + ts["FallbackNTP"]},
            "chrony": chrony,
        }
