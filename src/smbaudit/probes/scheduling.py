"""cron and at: who may schedule jobs (allow and deny files), and AIDE's configuration, database
and scheduled check.

With cron.allow present only the users it lists may use crontab; without it, everyone not in
cron.deny may (crontab(1)); the same holds for at.allow and at.deny (at(1)). AIDE's check is
scheduled by a systemd timer (dailyaidecheck.timer on Debian, aidecheck.timer elsewhere) or by a
cron entry that runs aide.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from smbaudit.models import TargetKind
from smbaudit.probes._common import host_of
from smbaudit.probes._hostfiles import list_optional, read_optional
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.probes.services import unit_facts
from smbaudit.targets.base import HostTarget, Target

CRON_BINARIES = ("/usr/sbin/cron", "/usr/sbin/crond", "/sbin/crond")
AT_BINARIES = ("/usr/bin/at",)
AIDE_BINARIES = ("/usr/bin/aide", "/usr/sbin/aide")
AIDE_CONFS = ("/etc/aide/aide.conf", "/etc/aide.conf")
AIDE_DBS = ("/var/lib/aide/aide.db", "/var/lib/aide/aide.db.gz")
AIDE_TIMERS = ("dailyaidecheck.timer", "aidecheck.timer", "aide-check.timer")
CRON_PLACES = ("/etc/crontab", "/etc/cron.d", "/etc/cron.daily", "/etc/cron.weekly",
               "/var/spool/cron/crontabs", "/var/spool/cron")
AUDIT_TOOLS = ("auditctl", "auditd", "ausearch", "aureport", "autrace", "augenrules")


def _file(host: HostTarget, path: str) -> dict[str, Any]:
    st = host.stat(path)
    if st is None:
        return {"exists": False}  # no mode or owner to compare: conditions see them as unset
    return {"exists": True, "mode": st.mode_octal, "owner": st.owner, "group": st.group}


def _access(host: HostTarget, binaries: tuple[str, ...], allow: str, deny: str) -> dict[str, Any]:
    return {"installed": any(host.stat(b) is not None for b in binaries),
            "allow": _file(host, allow), "deny": _file(host, deny)}


def _cron_mentions(host: HostTarget, word: str) -> list[str]:
    found: list[str] = []
    for place in CRON_PLACES:
        st = host.stat(place)
        if st is None:
            continue
        paths = [place] if st.type == "file" else [f"{place}/{n}" for n in list_optional(host, place)]
        for path in paths[:500]:
            entry = host.stat(path)
            if entry is None or entry.type != "file":
                continue
            text = read_optional(host, path, 1024 * 1024) or ""
            if any(re.search(rf"\b{word}\b", line) for line in text.splitlines()
                   if line.strip() and not line.lstrip().startswith("#")):
                found.append(path)
    return found


def aide_facts(host: HostTarget) -> dict[str, Any]:
    installed = any(host.stat(b) is not None for b in AIDE_BINARIES)
    config = next((p for p in AIDE_CONFS if host.stat(p) is not None), None)
    text = ""
    if config:
        text = read_optional(host, config) or ""
        for name in sorted(list_optional(host, "/etc/aide/aide.conf.d")):
            text += "\n" + (read_optional(host, f"/etc/aide/aide.conf.d/{name}") or "")
    rule_paths = {m.group(1).rstrip("/") for m in re.finditer(r"^\s*(/\S+)\s+\S", text, re.M)}
    tools = [t for t in AUDIT_TOOLS if any(f"{d}/{t}" in rule_paths for d in ("/sbin", "/usr/sbin"))]
    timers = [t for t in AIDE_TIMERS if unit_facts(host, t, None)["enabled"]]
    cron = _cron_mentions(host, "aide") + _cron_mentions(host, "dailyaidecheck")
    return {"installed": installed, "config": config,
            "database": any(host.stat(d) is not None for d in AIDE_DBS),
            "scheduled_by": timers + sorted(set(cron)), "scheduled": bool(timers or cron),
            "audit_tools_covered": tools,
            "audit_tools_missing": [t for t in AUDIT_TOOLS if t not in tools]}


_FILE = {"type": "object", "additionalProperties": False, "properties": {
    "exists": {"type": "boolean"}, "mode": {"type": "string"},
    "owner": {"type": ["string", "null"]}, "group": {"type": ["string", "null"]}}}
_ACCESS = {"type": "object", "additionalProperties": False, "properties": {
    "installed": {"type": "boolean"}, "allow": _FILE, "deny": _FILE}}


class SchedulingProbe(Probe):
    """cron / at access control and AIDE.

    Facts: cron and at ({installed, allow and deny: {exists, and when it exists mode, owner,
    group}}), aide
    ({installed, config, database (initialised), scheduled, scheduled_by (timers enabled, cron
    files that run it), audit_tools_covered / audit_tools_missing (audit tools with an AIDE
    rule)}).
    """

    name = "scheduling"
    description = "cron and at allow/deny files; AIDE configuration, database and schedule"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}
    facts = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "cron": _ACCESS,
            "at": _ACCESS,
            "aide": {"type": "object", "additionalProperties": False, "properties": {
                "installed": {"type": "boolean"}, "config": {"type": ["string", "null"]},
                "database": {"type": "boolean"}, "scheduled": {"type": "boolean"},
                "scheduled_by": {"type": "array", "items": {"type": "string"}},
                "audit_tools_covered": {"type": "array", "items": {"type": "string"}},
                "audit_tools_missing": {"type": "array", "items": {"type": "string"}}}},
        },
    }

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        return {
            "cron": _access(host, CRON_BINARIES, "/etc/cron.allow", "/etc/cron.deny"),
            "at": _access(host, AT_BINARIES, "/etc/at.allow", "/etc/at.deny"),
            "aide": aide_facts(host),
        }
