"""Core dumps: the hard `core` limit pam_limits sets for everyone, and systemd-coredump's storage.

limits.conf(5): /etc/security/limits.conf is read first, then /etc/security/limits.d/*.conf in
lexical order; for the `*` domain a later `hard` (or `-`) `core` line overrides an earlier one.
systemd-coredump reads /etc/systemd/coredump.conf, then coredump.conf.d drop-ins (a later one
winning); its defaults are Storage=external and ProcessSizeMax=1G (2G on 64-bit since 250:
here "default").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smbaudit.models import TargetKind
from smbaudit.probes._common import host_of
from smbaudit.probes._hostfiles import dropins, list_optional, read_optional
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import HostTarget, Target

LIMITS = "/etc/security/limits.conf"
LIMITS_D = "/etc/security/limits.d"
COREDUMP_DIRS = ("/etc/systemd/coredump.conf.d", "/run/systemd/coredump.conf.d",
                 "/usr/local/lib/systemd/coredump.conf.d", "/usr/lib/systemd/coredump.conf.d")
COREDUMP_BINARIES = ("/usr/lib/systemd/systemd-coredump", "/lib/systemd/systemd-coredump")


def hard_core_limit(host: HostTarget) -> tuple[str | None, str | None]:
    """(value, file:line) of the winning `* hard core` line, or (None, None)."""
    files = [LIMITS] + [f"{LIMITS_D}/{n}" for n in sorted(list_optional(host, LIMITS_D))
                        if n.endswith(".conf")]
    value = where = None
    for path in files:
        for lineno, raw in enumerate((read_optional(host, path) or "").splitlines(), 1):
            words = raw.split("#", 1)[0].split()
            if len(words) == 4 and words[0] == "*" and words[1] in ("hard", "-") and words[2] == "core":
                value, where = words[3], f"{path}:{lineno}"
    return value, where


def coredump_settings(host: HostTarget) -> dict[str, str]:
    values: dict[str, str] = {}
    for path in ["/etc/systemd/coredump.conf", *dropins(host, COREDUMP_DIRS, ".conf")]:
        section = ""
        for raw in (read_optional(host, path) or "").splitlines():
            line = raw.strip()
            if line.startswith("["):
                section = line
            elif section == "[Coredump]" and "=" in line and not line.startswith(("#", ";")):
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip()
    return values


class CoreDumpsProbe(Probe):
    """Core dump limits and systemd-coredump.

    Facts: hard_core (the `*` hard core limit as written, e.g. '0' or 'unlimited'; None unset),
    hard_core_where (file:line), systemd_coredump (installed), storage and process_size_max
    (systemd-coredump's Storage= and ProcessSizeMax=, 'external' / 'default' when unset).
    """

    name = "core_dumps"
    description = "core dump limits (limits.conf, limits.d) and systemd-coredump settings"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}
    facts = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "hard_core": {"type": ["string", "null"]},
            "hard_core_where": {"type": ["string", "null"]},
            "systemd_coredump": {"type": "boolean"},
            "storage": {"type": "string"},
            "process_size_max": {"type": "string"},
        },
    }

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        value, where = hard_core_limit(host)
        settings = coredump_settings(host)
        return {
            "hard_core": value,
            "hard_core_where": where,
            "systemd_coredump": any(host.stat(b) is not None for b in COREDUMP_BINARIES),
            "storage": settings.get("Storage", "external").lower(),
            "process_size_max": settings.get("ProcessSizeMax", "default"),
        }
