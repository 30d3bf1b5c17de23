"""sudo: whether it is installed, the global `Defaults` that matter for auditing, and whether su
is limited to a group.

`Defaults` lines are read in sudoers order (includes followed) and the last setting wins, as in
sudo itself; scoped lines (`Defaults:user`, `Defaults@host`, `Defaults>runas`, `Defaults!cmd`)
apply to some uses only and do not count as global. `use_pty` is on by default from sudo
1.9.14, so when no global line sets it the installed version decides. `timestamp_timeout` is 5
minutes unless set.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

from smbaudit.errors import ProbeError
from smbaudit.models import TargetKind
from smbaudit.probes._common import host_of
from smbaudit.probes._hostfiles import read_optional
from smbaudit.probes.accounts import scan_sudoers
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.probes.packages import installed_packages, version_scheme
from smbaudit.targets.base import Target
from smbaudit.versions import compare

USE_PTY_DEFAULT_FROM = "1.9.14"
SUDO_BINARIES = ("/usr/bin/sudo", "/bin/sudo")
_PACKAGES = ("sudo", "sudo-ldap")


def split_settings(settings: str) -> list[str]:
    """`a, !b, c="x, y"` -> ['a', '!b', 'c=x, y'] (commas inside quotes kept)."""
    try:
        lexer = shlex.shlex(settings, posix=True)
        lexer.whitespace = ","
        lexer.whitespace_split = True
        return [item.strip() for item in lexer if item.strip()]
    except ValueError:
        return [item.strip() for item in settings.split(",") if item.strip()]


def global_defaults(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Setting -> value of unscoped Defaults lines, last one winning; `!flag` is False."""
    values: dict[str, Any] = {}
    for entry in entries:
        if entry["scope"]:
            continue
        for item in split_settings(entry["settings"]):
            item = item.replace(" ", "") if "=" not in item else item
            if item.startswith("!"):
                values[item[1:].strip()] = False
            elif "=" in item:
                key, _, value = item.partition("=")
                key = key.strip().rstrip("+-")
                values[key] = value.strip().strip('"')
            else:
                values[item] = True
    return values


def _su_restriction(host: Any) -> dict[str, Any]:
    text = read_optional(host, "/etc/pam.d/su") or ""
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) >= 3 and words[0] == "auth" and words[2].rsplit("/", 1)[-1] == "pam_wheel.so":
            args = {a.partition("=")[0]: a.partition("=")[2] for a in words[3:]}
            group = args.get("group", "wheel" if "group" not in args else "")
            members: list[str] = []
            for gline in (read_optional(host, "/etc/group") or "").splitlines():
                parts = gline.split(":")
                if len(parts) >= 4 and parts[0] == group:
                    members = [m for m in parts[3].split(",") if m]
            return {"pam_wheel": True, "use_uid": "use_uid" in args, "group": group,
                    "group_members": members}
    return {"pam_wheel": False, "use_uid": False, "group": None, "group_members": []}


class SudoProbe(Probe):
    """sudo and su restrictions.

    Facts: installed (a sudo package or binary), version (package version, None unknown),
    defaults (global Defaults settings, last wins: name -> True / False / value), scoped
    (scoped Defaults lines: {file, line, scope, settings}), use_pty (set explicitly, else sudo's
    default for the installed version; None when neither is known), use_pty_source (sudoers /
    default / None), logfile (None unset), timestamp_timeout (minutes; sudo's 5 when unset,
    -1 never expires), files, su ({pam_wheel, use_uid, group, group_members} from
    /etc/pam.d/su).
    """

    name = "sudo"
    description = "sudo Defaults (use_pty, logfile, timestamp_timeout) and su restrictions"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}
    facts = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "installed": {"type": "boolean"},
            "version": {"type": ["string", "null"]},
            "defaults": {"type": "object", "additionalProperties": {"type": ["boolean", "string"]}},
            "scoped": {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                                  "properties": {"file": {"type": "string"},
                                                                 "line": {"type": "integer"},
                                                                 "scope": {"type": "string"},
                                                                 "settings": {"type": "string"}}}},
            "use_pty": {"type": ["boolean", "null"]},
            "use_pty_source": {"type": ["string", "null"]},
            "logfile": {"type": ["string", "null"]},
            "timestamp_timeout": {"type": ["number", "null"]},
            "files": {"type": "array", "items": {"type": "string"}},
            "su": {"type": "object", "additionalProperties": False, "properties": {
                "pam_wheel": {"type": "boolean"}, "use_uid": {"type": "boolean"},
                "group": {"type": ["string", "null"]},
                "group_members": {"type": "array", "items": {"type": "string"}}}},
        },
    }

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        version = None
        scheme = "deb"
        installed = any(host.stat(b) is not None for b in SUDO_BINARIES)
        try:
            manager, packages = installed_packages(host, ctx.io_timeout())
            scheme = version_scheme(manager)
            pkg = next((p for p in packages if p.name in _PACKAGES), None)
            if pkg is not None:
                installed, version = True, pkg.version
        except ProbeError:
            pass
        scan = scan_sudoers(host)
        if scan.unreadable:
            raise ProbeError(f"{scan.unreadable[0]} is not readable: run as root")
        defaults = global_defaults(scan.defaults)
        if isinstance(defaults.get("use_pty"), bool):
            use_pty: bool | None = defaults["use_pty"]
            source: str | None = "sudoers"
        elif version is not None:
            upstream = re.sub(r"^\d+:", "", version).split("-")[0].replace("p", ".")
            use_pty = compare(upstream, USE_PTY_DEFAULT_FROM, scheme) >= 0
            source = "default"
        else:
            use_pty, source = None, None
        timeout: float | None = 5
        raw = defaults.get("timestamp_timeout")
        if isinstance(raw, str):
            try:
                timeout = float(raw)
            except ValueError:
                timeout = None
        elif raw is False:
            timeout = 0
        logfile = defaults.get("logfile")
        return {
            "installed": installed,
            "version": version,
            "defaults": defaults,
            "scoped": [e for e in scan.defaults if e["scope"]],
            "use_pty": use_pty,
            "use_pty_source": source,
            "logfile": logfile if isinstance(logfile, str) and logfile else None,
            "timestamp_timeout": timeout,
            "files": scan.files,
            "su": _su_restriction(host),
        }
