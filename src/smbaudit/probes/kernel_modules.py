"""Kernel modules: whether each named module can be loaded on this host.

Read from files, so live hosts, SSH targets and offline trees work alike:

- modprobe configuration as kmod reads it (modprobe.d(5)): *.conf files from /etc/modprobe.d,
  /run/modprobe.d, /usr/local/lib/modprobe.d, /usr/lib/modprobe.d and /lib/modprobe.d, a file in
  an earlier directory hiding a same-named one in a later directory, read in lexical order of
  their names. For `install` the FIRST matching line wins (as kmod and module-init-tools do);
  any `blacklist` line counts. Module names are compared with dashes and underscores equal, and
  `install` patterns are shell globs, as in kmod.
- per installed kernel (/lib/modules/RELEASE and /usr/lib/modules/RELEASE): whether the module
  ships as a loadable file (modules.dep, else a bounded walk of kernel/) or is built in
  (modules.builtin).
- live only: whether it is loaded now (/proc/modules).
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from collections.abc import Mapping
from typing import Any

from smbaudit.models import TargetKind
from smbaudit.probes._common import host_of
from smbaudit.probes._hostfiles import dropins, list_optional, read_optional
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import HostTarget, Target

MODPROBE_DIRS = ("/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d",
                 "/usr/lib/modprobe.d", "/lib/modprobe.d")
MODULE_ROOTS = ("/lib/modules", "/usr/lib/modules")
# Commands that make `modprobe NAME` fail or do nothing instead of loading the module.
_REFUSING = re.compile(r"^(?:/usr)?/bin/(?:false|true)$")
_MODULE_FILE = re.compile(r"^(?:.*/)?([^/]+?)\.ko(?:\.(?:xz|gz|zst))?$")
MAX_WALK_FILES = 50_000


def normalize(name: str) -> str:
    return name.replace("-", "_")


def parse_modprobe(host: HostTarget) -> tuple[list[dict[str, Any]], list[str]]:
    """(install and blacklist directives in kmod's reading order, files read)."""
    directives: list[dict[str, Any]] = []
    files = dropins(host, MODPROBE_DIRS, ".conf")
    for path in files:
        text = read_optional(host, path) or ""
        logical = ""
        for lineno, raw in enumerate(text.splitlines(), 1):
            line = raw.rstrip()
            if line.endswith("\\"):  # continuation lines
                logical += line[:-1] + " "
                continue
            line, logical = (logical + line).strip(), ""
            if not line or line.startswith("#"):
                continue
            words = line.split(None, 2)
            if words[0] in ("install", "blacklist") and len(words) >= 2:
                directives.append({"kind": words[0], "module": normalize(words[1]),
                                   "command": words[2] if len(words) > 2 else "",
                                   "file": path, "line": lineno})
    return directives, files


def _install_for(directives: list[dict[str, Any]], module: str) -> dict[str, Any] | None:
    for d in directives:
        if d["kind"] == "install" and fnmatch.fnmatchcase(module, d["module"]):
            return d
    return None


def _refuses(command: str) -> bool:
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    return bool(words) and _REFUSING.match(words[0]) is not None and len(words) == 1


def kernel_inventory(host: HostTarget, ctx: ProbeContext) -> dict[str, dict[str, set[str]]]:
    """release -> {"loadable": module names, "builtin": module names} for each installed kernel."""
    kernels: dict[str, dict[str, set[str]]] = {}
    for root in MODULE_ROOTS:  # /lib is usually a link to /usr/lib; where not, kmod reads both
        for release in list_optional(host, root):
            base = f"{root}/{release}"
            dep = read_optional(host, f"{base}/modules.dep", 64 * 1024 * 1024)
            loadable: set[str] = set()
            if dep is not None:
                for line in dep.splitlines():
                    m = _MODULE_FILE.match(line.split(":", 1)[0])
                    if m:
                        loadable.add(normalize(m.group(1)))
            elif host.stat(f"{base}/kernel") is not None:
                seen = 0
                for _dirpath, _dirs, names in host.walk(f"{base}/kernel"):
                    ctx.check_deadline()
                    for n in names:
                        m = _MODULE_FILE.match(n)
                        if m:
                            loadable.add(normalize(m.group(1)))
                    seen += len(names)
                    if seen > MAX_WALK_FILES:
                        break
            else:
                continue  # not a kernel's module tree (leftover folder)
            builtin_text = read_optional(host, f"{base}/modules.builtin", 16 * 1024 * 1024) or ""
            builtin = {normalize(m.group(1)) for line in builtin_text.splitlines()
                       if (m := _MODULE_FILE.match(line.strip()))}
            known = kernels.setdefault(release, {"loadable": set(), "builtin": set()})
            known["loadable"] |= loadable
            known["builtin"] |= builtin
    return kernels


def loaded_modules(host: HostTarget) -> set[str] | None:
    if not host.live:
        return None
    text = read_optional(host, "/proc/modules")
    if text is None:
        return None
    return {normalize(line.split()[0]) for line in text.splitlines() if line.strip()}


_MODULE_FACTS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "install_command": {"type": ["string", "null"]},
        "install_where": {"type": ["string", "null"]},
        "install_disabled": {"type": "boolean"},
        "blacklisted": {"type": "boolean"},
        "blacklist_where": {"type": "array", "items": {"type": "string"}},
        "loadable_in": {"type": "array", "items": {"type": "string"}},
        "builtin_in": {"type": "array", "items": {"type": "string"}},
        "loaded": {"type": ["boolean", "null"]},
        "loadable": {"type": "boolean"},
    },
}


class KernelModulesProbe(Probe):
    """Whether the named kernel modules can be loaded, per installed kernel.

    Facts: kernels (installed kernel releases), live, loaded_known (live: /proc/modules read),
    files (modprobe.d files read), modules (name with dashes as underscores -> {name,
    install_command (the winning `install` line's command, or None), install_where (file:line),
    install_disabled (that command is /bin/false or /bin/true), blacklisted, blacklist_where,
    loadable_in (kernels shipping it as a module file), builtin_in (kernels with it built in),
    loaded (live: in /proc/modules; None offline), loadable (some installed kernel ships it as a
    module and `install` does not refuse it, or it is loaded now)}).
    """

    name = "kernel_modules"
    description = "kernel modules: modprobe.d install/blacklist, module files per kernel, loaded"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["modules"],
        "properties": {"modules": {"type": "array", "minItems": 1,
                                   "items": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}}},
    }
    facts = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "kernels": {"type": "array", "items": {"type": "string"}},
            "live": {"type": "boolean"},
            "loaded_known": {"type": "boolean"},
            "files": {"type": "array", "items": {"type": "string"}},
            "modules": {"type": "object", "additionalProperties": _MODULE_FACTS},
        },
    }

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        directives, files = parse_modprobe(host)
        kernels = kernel_inventory(host, ctx)
        loaded = loaded_modules(host)
        modules: dict[str, Any] = {}
        for raw in params["modules"]:
            name = normalize(raw)
            install = _install_for(directives, name)
            blacklists = [f"{d['file']}:{d['line']}" for d in directives
                          if d["kind"] == "blacklist" and d["module"] == name]
            loadable_in = sorted(r for r, k in kernels.items() if name in k["loadable"])
            builtin_in = sorted(r for r, k in kernels.items() if name in k["builtin"])
            disabled = install is not None and _refuses(install["command"])
            is_loaded = None if loaded is None else name in loaded
            modules[name] = {
                "name": name,
                "install_command": install["command"] if install else None,
                "install_where": f"{install['file']}:{install['line']}" if install else None,
                "install_disabled": disabled,
                "blacklisted": bool(blacklists),
                "blacklist_where": blacklists,
                "loadable_in": loadable_in,
                "builtin_in": builtin_in,
                "loaded": is_loaded,
                "loadable": bool(loadable_in and not disabled) or bool(is_loaded),
            }
        return {
            "kernels": sorted(kernels),
            "live": host.live,
            "loaded_known": loaded is not None,
            "files": files,
            "modules": modules,
        }
