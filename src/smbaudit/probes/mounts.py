"""Mount points and their options: what /etc/fstab and systemd mount units set up at boot, and
(live) what is mounted now.

Options carry their real semantics (mount(8)): `defaults` means rw,suid,dev,exec,auto,nouser,
async; `user`, `users`, `owner` and `group` imply noexec,nosuid,nodev; a later option overrides
an earlier one. systemd mounts /dev/shm itself (nosuid,nodev) when no fstab line or unit does, and
an fstab line for it is applied over that. A unit in /etc/systemd/system overrides the unit the
fstab generator makes from the same mount point; vendor units count only when enabled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from smbaudit.models import TargetKind
from smbaudit.probes import _systemd
from smbaudit.probes._common import host_of
from smbaudit.probes._hostfiles import dropins, list_optional, read_optional
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import HostTarget, Target

# Fact key -> mount point: the ones the CIS Benchmarks ask about.
POINTS = {"tmp": "/tmp", "dev_shm": "/dev/shm", "home": "/home", "var": "/var",
          "var_tmp": "/var/tmp", "var_log": "/var/log", "var_log_audit": "/var/log/audit"}
_FLAGS = {"dev": ("dev", True), "nodev": ("dev", False), "suid": ("suid", True),
          "nosuid": ("suid", False), "exec": ("exec", True), "noexec": ("exec", False)}
_IMPLIES_NO = ("user", "users", "owner", "group")
CONTAINER_MARKERS = ("/.dockerenv", "/run/.containerenv", "/run/systemd/container")


def _unescape_fstab(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _unit_to_path(unit: str) -> str:
    """systemd-escape --path --unescape: var-log-audit.mount -> /var/log/audit."""
    name = unit[: -len(".mount")]
    if name == "-":
        return "/"
    parts = [re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), p)
             for p in name.split("-")]
    return "/" + "/".join(parts)


def flag_state(options: list[str], base: dict[str, bool] | None = None) -> dict[str, bool]:
    """dev / suid / exec after applying `options` in order over `base` (kernel defaults: all on)."""
    state = dict(base or {"dev": True, "suid": True, "exec": True})
    for opt in options:
        if opt == "defaults":
            state.update(dev=True, suid=True, exec=True)
        elif opt in _IMPLIES_NO:
            state.update(dev=False, suid=False, exec=False)
        elif opt in _FLAGS:
            key, value = _FLAGS[opt]
            state[key] = value
    return state


def parse_fstab(text: str, path: str) -> list[dict[str, Any]]:
    entries = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) < 3:
            continue
        options = fields[3].split(",") if len(fields) > 3 else ["defaults"]
        entries.append({"path": _unescape_fstab(fields[1]).rstrip("/") or "/", "spec": fields[0],
                        "fstype": fields[2], "options": options, "origin": f"{path}:{lineno}",
                        "at_boot": "noauto" not in options})
    return entries


def _unit_entry(host: HostTarget, path: str) -> dict[str, Any]:
    text = read_optional(host, path) or ""
    values: dict[str, str] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line
        elif section == "[Mount]" and "=" in line and not line.startswith(("#", ";")):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    unit = path.rsplit("/", 1)[-1]
    where = values.get("Where") or _unit_to_path(unit)
    return {"path": where.rstrip("/") or "/", "spec": values.get("What", ""),
            "fstype": values.get("Type", ""),
            "options": [o for o in values.get("Options", "").split(",") if o] or ["defaults"],
            "origin": path, "at_boot": True, "unit": unit}


def configured_mounts(host: HostTarget) -> tuple[dict[str, dict[str, Any]], list[str], bool]:
    """(mount point -> the entry that wins at boot, files read, fstab present)."""
    files: list[str] = []
    winners: dict[str, dict[str, Any]] = {}
    fstab = read_optional(host, "/etc/fstab")
    if fstab is not None:
        files.append("/etc/fstab")
        for entry in parse_fstab(fstab, "/etc/fstab"):
            if entry["fstype"] != "swap" and entry["path"] not in ("none",):
                winners[entry["path"]] = entry  # a later line for the same point mounts over it
    for path in dropins(host, _systemd.UNIT_DIRS, ".mount"):
        unit = path.rsplit("/", 1)[-1]
        admin = path.startswith(("/etc/", "/run/"))
        state = _systemd.unit_state(host, unit)
        if state["masked"]:
            where = _unit_to_path(unit)
            if where in winners:
                winners[where] = {**winners[where], "at_boot": False, "origin": f"{path} (masked)"}
            continue
        entry = _unit_entry(host, path)
        files.append(path)
        # An admin unit replaces the fstab generator's unit of the same name; a vendor unit
        # only mounts when something enables it.
        if (admin and (state["enabled"] or entry["path"] in winners)) or state["enabled"]:
            winners[entry["path"]] = entry
    return winners, files, fstab is not None


def runtime_mounts(host: HostTarget) -> dict[str, dict[str, Any]] | None:
    if not host.live:
        return None
    text = read_optional(host, "/proc/self/mounts")
    if text is None:
        return None
    found: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            point = _unescape_fstab(fields[1])
            found[point] = {"path": point, "spec": fields[0], "fstype": fields[2],
                            "options": fields[3].split(","), "origin": "/proc/self/mounts",
                            "at_boot": True}  # the last line for a point is what is visible
    return found


def _is_container(host: HostTarget, fstab_present: bool) -> bool:
    if any(host.stat(m) is not None for m in CONTAINER_MARKERS):
        return True
    if host.live:
        environ = None
        try:
            environ = host.read_bytes("/proc/1/environ", 64 * 1024)
        except OSError:
            pass
        return bool(environ and b"container=" in environ)
    has_kernel = bool(list_optional(host, "/boot")) or bool(list_optional(host, "/lib/modules")) \
        or bool(list_optional(host, "/usr/lib/modules"))
    return not fstab_present and not has_kernel


def _point_facts(path: str, entry: dict[str, Any] | None, source: str | None) -> dict[str, Any]:
    if entry is None:
        return {"path": path, "separate": False, "source": None, "origin": None, "fstype": None,
                "options": [], "nodev": None, "nosuid": None, "noexec": None}
    base = {"dev": False, "suid": False, "exec": True} if entry.get("api") else None
    state = flag_state(entry["options"], base)
    return {"path": path, "separate": True, "source": source, "origin": entry["origin"],
            "fstype": entry["fstype"], "options": entry["options"],
            "nodev": not state["dev"], "nosuid": not state["suid"], "noexec": not state["exec"]}


_POINT_FACTS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "path": {"type": "string"},
        "separate": {"type": "boolean"},
        "source": {"type": ["string", "null"], "enum": ["runtime", "fstab", "unit", "systemd", None]},
        "origin": {"type": ["string", "null"]},
        "fstype": {"type": ["string", "null"]},
        "options": {"type": "array", "items": {"type": "string"}},
        "nodev": {"type": ["boolean", "null"]},
        "nosuid": {"type": ["boolean", "null"]},
        "noexec": {"type": ["boolean", "null"]},
    },
}


class MountsProbe(Probe):
    """Separate mounts and their nodev / nosuid / noexec flags for /tmp, /dev/shm, /home, /var,
    /var/tmp, /var/log and /var/log/audit.

    Facts: live, container (a container image or a live container: mount layout is the
    host's business), fstab_present, files (read), points (key -> {path, separate, source
    (runtime on a live host, else fstab / unit / systemd), origin (file:line or unit path),
    fstype, options (as written or as the kernel reports them), nodev, nosuid, noexec (None
    when not separately mounted)}), configured (the same for what is set up at boot; equal to
    points offline), mismatches (live: keys whose runtime flags differ from the boot
    configuration).
    """

    name = "mounts"
    description = "mount points and options: fstab, systemd mount units, /proc/self/mounts live"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}
    facts = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "live": {"type": "boolean"},
            "container": {"type": "boolean"},
            "fstab_present": {"type": "boolean"},
            "files": {"type": "array", "items": {"type": "string"}},
            "points": {"type": "object", "additionalProperties": False,
                       "properties": {k: _POINT_FACTS for k in POINTS}},
            "configured": {"type": "object", "additionalProperties": False,
                           "properties": {k: _POINT_FACTS for k in POINTS}},
            "mismatches": {"type": "array", "items": {"type": "string"}},
        },
    }

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        winners, files, fstab_present = configured_mounts(host)
        configured: dict[str, Any] = {}
        for key, path in POINTS.items():
            entry: dict[str, Any] | None = winners.get(path)
            source: str | None
            if entry is not None and not entry["at_boot"]:
                entry = None
            if path == "/dev/shm":
                # systemd mounts /dev/shm (nosuid,nodev); fstab options are applied over that.
                entry = {**(entry or {"options": [], "origin": "systemd", "fstype": "tmpfs"}),
                         "api": True}
                source = "systemd" if entry["origin"] == "systemd" else \
                    ("unit" if "unit" in entry else "fstab")
            else:
                source = None if entry is None else ("unit" if "unit" in entry else "fstab")
            configured[key] = _point_facts(path, entry, source)
        runtime = runtime_mounts(host)
        if runtime is None:
            points = configured
            mismatches: list[str] = []
        else:
            files.append("/proc/self/mounts")
            points = {key: _point_facts(path, runtime.get(path), "runtime")
                      for key, path in POINTS.items()}
            mismatches = [k for k in POINTS if (points[k]["separate"], points[k]["nodev"],
                                                points[k]["nosuid"], points[k]["noexec"])
                          != (configured[k]["separate"], configured[k]["nodev"],
                              configured[k]["nosuid"], configured[k]["noexec"])]
        return {
            "live": host.live,
            "container": _is_container(host, fstab_present),
            "fstab_present": fstab_present,
            "files": files,
            "points": points,
            "configured": configured,
            "mismatches": mismatches,
        }
