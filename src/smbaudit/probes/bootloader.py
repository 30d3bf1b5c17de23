"""The boot loader: GRUB's configuration file (who may read it, whether a password guards it) and
the kernel command line of every boot entry.

Boot entries are the `linux` lines of grub.cfg (Debian, Ubuntu) and, on RHEL 9 with
BootLoaderSpec, the `options` lines of /boot/loader/entries/*.conf (where `$kernelopts` comes
from grubenv). /etc/default/grub is reported too, since it is what the next update-grub or
grub2-mkconfig writes. A password is set when grub.cfg (or RHEL's user.cfg, which grub.cfg
sources) names superusers and holds a PBKDF2 password. Live only: /proc/cmdline.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

from smbaudit.models import TargetKind
from smbaudit.probes._common import host_of
from smbaudit.probes._hostfiles import list_optional, read_optional
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import HostTarget, Target

GRUB_CFGS = ("/boot/grub/grub.cfg", "/boot/grub2/grub.cfg")
USER_CFGS = ("/boot/grub2/user.cfg", "/boot/grub/user.cfg")
GRUBENV = ("/boot/grub2/grubenv", "/boot/grub/grubenv")
BLS_DIR = "/boot/loader/entries"
DEFAULT_GRUB = "/etc/default/grub"
_LINUX = re.compile(r"^\s*linux(?:efi|16)?\s+(\S+)(.*)$")
_ARG_KEY = re.compile(r"[^A-Za-z0-9_-]")


def arg_key(name: str) -> str:
    """A kernel argument's name as a fact key: dots and other punctuation become underscores
    (ipv6.disable -> ipv6_disable)."""
    return _ARG_KEY.sub("_", name)


def parse_args(text: str) -> dict[str, str]:
    """Kernel arguments -> {key: value}; flags without a value map to ''. A later duplicate wins,
    as the kernel's own parsing does for most parameters."""
    try:
        words = shlex.split(text, comments=False)
    except ValueError:
        words = text.split()
    args: dict[str, str] = {}
    for word in words:
        name, _, value = word.partition("=")
        if name:
            args[arg_key(name)] = value
    return args


def _shell_assignments(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        m = re.match(r"^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
        if m:
            try:
                parts = shlex.split(m.group(2), comments=True)
            except ValueError:
                parts = [m.group(2)]
            values[m.group(1)] = " ".join(parts)
    return values


def boot_entries(host: HostTarget) -> list[dict[str, Any]]:
    """[{source, args}] for each boot entry found."""
    entries: list[dict[str, Any]] = []
    kernelopts = ""
    for env in GRUBENV:
        text = read_optional(host, env)
        if text:
            kernelopts = _shell_assignments(text).get("kernelopts", "") or kernelopts
    for cfg in GRUB_CFGS:
        text = read_optional(host, cfg) or ""
        for lineno, line in enumerate(text.splitlines(), 1):
            m = _LINUX.match(line)
            if m:
                rest = m.group(2).replace("$kernelopts", kernelopts)
                entries.append({"source": f"{cfg}:{lineno}", "args": parse_args(rest)})
    for name in list_optional(host, BLS_DIR):
        if not name.endswith(".conf"):
            continue
        text = read_optional(host, f"{BLS_DIR}/{name}") or ""
        for line in text.splitlines():
            if line.startswith("options"):
                opts = line[len("options"):].replace("$kernelopts", kernelopts)
                entries.append({"source": f"{BLS_DIR}/{name}", "args": parse_args(opts)})
    return entries


def common_args(entries: list[dict[str, Any]]) -> dict[str, str]:
    """Arguments present in every entry: {key: value}, the value kept only when it is the same
    everywhere (else the first entry's value with the others listed after a comma)."""
    if not entries:
        return {}
    keys = set(entries[0]["args"])
    for e in entries[1:]:
        keys &= set(e["args"])
    out: dict[str, str] = {}
    for key in sorted(keys):
        values = list(dict.fromkeys(e["args"][key] for e in entries))
        out[key] = values[0] if len(values) == 1 else ",".join(values)
    return out


def _password(host: HostTarget) -> tuple[list[str], bool]:
    superusers: list[str] = []
    password = False
    for path in (*GRUB_CFGS, *USER_CFGS, "/etc/grub.d/40_custom", "/etc/grub.d/01_users"):
        text = read_optional(host, path) or ""
        for line in text.splitlines():
            m = re.match(r'^\s*set\s+superusers\s*=\s*"?([^"]*)"?', line)
            if m:
                superusers.extend(u for u in re.split(r"[\s,;|&]+", m.group(1)) if u)
            if re.match(r"^\s*password_pbkdf2\s+\S+\s+grub\.pbkdf2\.", line) or \
                    re.match(r"^\s*GRUB2_PASSWORD=grub\.pbkdf2\.", line):
                password = True
    if any(host.stat(p) is not None and "GRUB2_PASSWORD" in (read_optional(host, p) or "")
           for p in USER_CFGS):
        superusers = superusers or ["root"]  # RHEL's 01_users names root when user.cfg exists
    return sorted(set(superusers)), password


class BootloaderProbe(Probe):
    """GRUB configuration and kernel command line.

    Facts: live, grub_cfg ({path, exists, mode, owner, group} of the grub.cfg in use),
    superusers, password_set (superusers named and a PBKDF2 password present), entries (number
    of boot entries found), args (arguments on every boot entry: key -> value, '' for flags;
    keys with punctuation as underscores, e.g. ipv6_disable), default_args (GRUB_CMDLINE_LINUX
    and GRUB_CMDLINE_LINUX_DEFAULT of /etc/default/grub), running_args (live: /proc/cmdline;
    None offline), selinux_off (the boot entries, and /etc/default/grub, that turn SELinux off
    or to permissive: selinux=0 or enforcing=0).
    """

    name = "bootloader"
    description = "GRUB: grub.cfg permissions, password, kernel command line of every entry"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}
    _ARGS = {"type": "object", "additionalProperties": {"type": "string"}}
    facts = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "live": {"type": "boolean"},
            "grub_cfg": {"type": "object", "additionalProperties": False, "properties": {
                "path": {"type": ["string", "null"]}, "exists": {"type": "boolean"},
                "mode": {"type": ["string", "null"]}, "owner": {"type": ["string", "null"]},
                "group": {"type": ["string", "null"]}}},
            "superusers": {"type": "array", "items": {"type": "string"}},
            "password_set": {"type": "boolean"},
            "entries": {"type": "integer"},
            "args": _ARGS,
            "default_args": _ARGS,
            "running_args": {"type": ["object", "null"], "additionalProperties": {"type": "string"}},
            "selinux_off": {"type": "array", "items": {"type": "string"}},
        },
    }

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        cfg_path = next((p for p in GRUB_CFGS if host.stat(p) is not None), None)
        st = host.stat(cfg_path) if cfg_path else None
        grub_cfg = {"path": cfg_path, "exists": st is not None,
                    "mode": st.mode_octal if st else None,
                    "owner": st.owner if st else None, "group": st.group if st else None}
        superusers, password = _password(host)
        entries = boot_entries(host)
        defaults = _shell_assignments(read_optional(host, DEFAULT_GRUB) or "")
        for name in sorted(list_optional(host, "/etc/default/grub.d")):
            if name.endswith(".cfg"):
                defaults.update(_shell_assignments(read_optional(host, f"/etc/default/grub.d/{name}") or ""))
        default_args = parse_args(defaults.get("GRUB_CMDLINE_LINUX", "") + " "
                                  + defaults.get("GRUB_CMDLINE_LINUX_DEFAULT", ""))
        running = None
        if host.live:
            text = read_optional(host, "/proc/cmdline")
            running = parse_args(text) if text is not None else None
        return {
            "live": host.live,
            "grub_cfg": grub_cfg,
            "superusers": superusers,
            "password_set": bool(superusers) and password,
            "entries": len(entries),
            "args": common_args(entries),
            "default_args": default_args,
            "running_args": running,
            "selinux_off": [src for src, args in
                            [(e["source"], e["args"]) for e in entries] + [(DEFAULT_GRUB, default_args)]
                            if args.get("selinux") == "0" or args.get("enforcing") == "0"],
        }
