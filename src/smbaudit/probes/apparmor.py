"""AppArmor: the profiles and their modes.

Live (and readable): the kernel's own list, /sys/kernel/security/apparmor/profiles ("name
(mode)" lines). Otherwise the profile files under /etc/apparmor.d as the init script loads them:
every regular file directly in that folder, minus those linked from disable/; a profile's mode
is complain when its flags say so or it is linked from force-complain/, `unconfined` or `kill`
when its flags say so, else enforce.
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

PROFILE_DIR = "/etc/apparmor.d"
KERNEL_LIST = "/sys/kernel/security/apparmor/profiles"
# What loads the profiles at boot (the apparmor package); without it the files are not loaded.
PARSERS = ("/usr/sbin/apparmor_parser", "/sbin/apparmor_parser")
_SKIP = re.compile(r"(^\.|~$|\.dpkg-\w+$|\.rpm\w+$|\.orig$|\.rej$|^README$|^cache$)")
_FLAGS = re.compile(r"flags\s*=\s*\(([^)]*)\)")
_KERNEL_LINE = re.compile(r"^(.*) \((\w+)\)$")


def _file_profile(text: str) -> tuple[str | None, str]:
    """(profile name, mode) of a profile file's first top-level profile."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped.startswith(("include", "abi", "@{")):
            continue
        if "{" in stripped and (stripped.startswith(("/", "profile ", "@{")) or
                                re.match(r"^[\w.-]+\s", stripped)):
            name_m = re.match(r"^(?:profile\s+)?(\S+)", stripped)
            flags_m = _FLAGS.search(stripped)
            flags = {f.strip() for f in flags_m.group(1).split(",")} if flags_m else set()
            mode = "complain" if "complain" in flags else "unconfined" if "unconfined" in flags \
                else "kill" if "kill" in flags else "enforce"
            return (name_m.group(1) if name_m else None), mode
    return None, "enforce"


def file_profiles(host: HostTarget) -> list[dict[str, Any]]:
    disabled = set(list_optional(host, f"{PROFILE_DIR}/disable"))
    forced = set(list_optional(host, f"{PROFILE_DIR}/force-complain"))
    profiles = []
    for st in host.scan_dir(PROFILE_DIR) if host.stat(PROFILE_DIR) else []:
        name = st.path.rsplit("/", 1)[-1]
        if st.type != "file" or _SKIP.search(name):
            continue
        text = read_optional(host, st.path) or ""
        profile, mode = _file_profile(text)
        if profile is None:
            continue
        if name in disabled:
            mode = "disabled"
        elif name in forced:
            mode = "complain"
        profiles.append({"name": profile, "file": st.path, "mode": mode})
    return profiles


def kernel_profiles(host: HostTarget) -> list[dict[str, Any]] | None:
    if not host.live:
        return None
    text = read_optional(host, KERNEL_LIST)
    if text is None:
        return None
    found = []
    for line in text.splitlines():
        m = _KERNEL_LINE.match(line.strip())
        if m:
            found.append({"name": m.group(1), "file": None, "mode": m.group(2)})
    return found


class AppArmorProbe(Probe):
    """AppArmor profiles and their modes.

    Facts: live, source (kernel: the loaded list; files: /etc/apparmor.d), profiles (list of
    {name, file, mode: enforce / complain / kill / unconfined / disabled}), count, enforce,
    complain, not_enforcing (names of loaded profiles in any other mode than enforce),
    not_confining (names of loaded profiles in neither enforce nor complain mode), parser
    (apparmor_parser is installed, so the profile files are loaded at boot; true when the
    kernel's own list was read).
    """

    name = "apparmor"
    description = "AppArmor profiles and their modes (kernel list live, else /etc/apparmor.d)"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}
    facts = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "live": {"type": "boolean"},
            "source": {"enum": ["kernel", "files"]},
            "profiles": {"type": "array", "items": {
                "type": "object", "additionalProperties": False, "properties": {
                    "name": {"type": "string"}, "file": {"type": ["string", "null"]},
                    "mode": {"type": "string"}}}},
            "count": {"type": "integer"},
            "enforce": {"type": "integer"},
            "complain": {"type": "integer"},
            "not_enforcing": {"type": "array", "items": {"type": "string"}},
            "not_confining": {"type": "array", "items": {"type": "string"}},
            "parser": {"type": "boolean"},
        },
    }

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        profiles = kernel_profiles(host)
        source = "kernel"
        if profiles is None:
            profiles, source = file_profiles(host), "files"
        return {
            "live": host.live,
            "source": source,
            "profiles": profiles,
            "count": len(profiles),
            "enforce": sum(p["mode"] == "enforce" for p in profiles),
            "complain": sum(p["mode"] == "complain" for p in profiles),
            # Disabled profiles are not loaded: apparmor_status does not count them either.
            "not_enforcing": [p["name"] for p in profiles if p["mode"] not in ("enforce", "disabled")],
            "not_confining": [p["name"] for p in profiles
                              if p["mode"] not in ("enforce", "complain", "disabled")],
            "parser": source == "kernel" or any(host.exists(p) for p in PARSERS),
        }
