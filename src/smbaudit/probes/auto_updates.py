"""Automatic security updates: unattended-upgrades (Debian/Ubuntu) or dnf-automatic (RHEL)."""

from __future__ import annotations

import configparser
import re
from collections.abc import Mapping
from typing import Any

from smbaudit.errors import ProbeError
from smbaudit.models import TargetKind
from smbaudit.probes._systemd import unit_state
from smbaudit.probes import factschema as fs
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.probes.packages import installed_packages
from smbaudit.targets.base import HostTarget, Target

APT_CONF = "/etc/apt/apt.conf"
APT_CONF_D = "/etc/apt/apt.conf.d"
DNF_AUTOMATIC_CONF = "/etc/dnf/automatic.conf"
DNF_TIMERS = ("dnf-automatic.timer", "dnf-automatic-install.timer")
_TRUE = ("1", "true", "yes", "on", "always")
_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|([{};])|([^\s{};"]+)')


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.DOTALL)
    out = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("#") and not s.startswith(("#include", "#clear")):
            continue
        # `//` starts a comment unless inside a quoted string
        in_quote = False
        for i, ch in enumerate(line):
            if ch == '"':
                in_quote = not in_quote
            elif ch == "/" and not in_quote and line[i:i + 2] == "//":
                line = line[:i]
                break
        out.append(line)
    return "\n".join(out)


def parse_apt_conf(text: str, into: dict[str, Any]) -> None:
    """apt.conf(5) syntax into `into`: scalars as `A::B::C` -> str, lists (`{ "x"; "y"; }`)
    as `A::B` -> list; later files override earlier ones, lists accumulate."""
    stack: list[str] = []
    pending: list[str] = []
    for m in _TOKEN.finditer(_strip_comments(text)):
        quoted, punct, word = m.groups()
        if punct == "{":
            key = pending[0] if pending else ""
            stack.append(key)
            pending = []
        elif punct == "}":
            if stack:
                stack.pop()
            pending = []
        elif punct == ";":
            if pending:
                if len(pending) == 1 and stack:  # a list element inside a block
                    into.setdefault("::".join(stack), [])
                    if isinstance(into["::".join(stack)], list):
                        into["::".join(stack)].append(pending[0])
                elif len(pending) >= 2:
                    key = "::".join([*stack, pending[0]]) if stack else pending[0]
                    if pending[0].startswith("#clear"):
                        into.pop(pending[1], None)
                    else:
                        into[key] = pending[1]
            pending = []
        else:
            pending.append(quoted if quoted is not None else word)


def _apt_settings(host: HostTarget) -> tuple[dict[str, Any], list[str]]:
    settings: dict[str, Any] = {}
    files: list[str] = []
    paths = [APT_CONF]
    try:
        paths += [f"{APT_CONF_D}/{n}" for n in host.list_dir(APT_CONF_D)
                  if re.fullmatch(r"[A-Za-z0-9_.-]+", n) and not n.endswith((".dpkg-old", ".dpkg-dist", ".bak", "~"))]
    except OSError:
        pass
    for path in paths:
        text = host.read_text_or_none(path)
        if text is not None:
            files.append(path)
            parse_apt_conf(text, settings)
    return settings, files


def _lookup(settings: dict[str, Any], key: str) -> Any:
    low = key.lower()
    for k, v in settings.items():
        if k.lower() == low:
            return v
    return None


def _is_on(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() in _TRUE


def debian_facts(host: HostTarget, names: set[str]) -> dict[str, Any]:
    settings, files = _apt_settings(host)
    origins = list(_lookup(settings, "Unattended-Upgrade::Origins-Pattern") or []) + \
        list(_lookup(settings, "Unattended-Upgrade::Allowed-Origins") or [])
    lists = _is_on(_lookup(settings, "APT::Periodic::Update-Package-Lists"))
    upgrade = _is_on(_lookup(settings, "APT::Periodic::Unattended-Upgrade"))
    security = any("security" in str(o).lower() for o in origins)
    installed = "unattended-upgrades" in names
    timer = unit_state(host, "apt-daily-upgrade.timer")
    return {
        "method": "unattended-upgrades",
        "installed": installed,
        "update_package_lists": lists,
        "unattended_upgrade": upgrade,
        "origins": origins,
        "security_origin": security,
        "timer": {"unit": timer["unit"], "installed": timer["installed"], "enabled": timer["enabled"],
                  "masked": timer["masked"]},
        "files": files,
        "enabled": installed and lists and upgrade and security and not timer["masked"],
        "security_updates": installed and upgrade and security,
    }


def rhel_facts(host: HostTarget, names: set[str]) -> dict[str, Any]:
    installed = "dnf-automatic" in names or "dnf5-plugin-automatic" in names
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    text = host.read_text_or_none(DNF_AUTOMATIC_CONF)
    if text:
        try:
            parser.read_string(text, source=DNF_AUTOMATIC_CONF)
        except configparser.Error:
            pass
    apply = parser.get("commands", "apply_updates", fallback="no").strip().lower() in _TRUE
    upgrade_type = parser.get("commands", "upgrade_type", fallback="default").strip().lower()
    timers = {t: unit_state(host, t) for t in DNF_TIMERS}
    install_timer = timers["dnf-automatic-install.timer"]["enabled"]
    timer_on = any(t["enabled"] for t in timers.values())
    applies = apply or install_timer  # the -install timer applies updates whatever the file says
    return {
        "method": "dnf-automatic",
        "installed": installed,
        "apply_updates": apply,
        "upgrade_type": upgrade_type,
        "timers": {name: t["enabled"] for name, t in timers.items()},
        "files": [DNF_AUTOMATIC_CONF] if text is not None else [],
        "enabled": installed and timer_on and applies,
        "security_updates": installed and timer_on and applies and upgrade_type in ("default", "security"),
    }


class AutoUpdatesProbe(Probe):
    """Whether security updates are installed automatically.

    Facts: manager (dpkg/rpm), method (unattended-upgrades, dnf-automatic), installed,
    enabled (installed, scheduled and configured to apply updates), security_updates (security
    updates are among those applied), files (configuration files read); Debian:
    update_package_lists, unattended_upgrade, origins, security_origin, timer; RHEL:
    apply_updates, upgrade_type, timers ({unit: enabled}).
    """

    name = "auto_updates"
    description = "automatic security updates (unattended-upgrades, dnf-automatic)"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}

    facts = fs.record(
        manager=fs.STR, method=fs.enum("unattended-upgrades", "dnf-automatic"),
        installed=fs.BOOL, enabled=fs.BOOL, security_updates=fs.BOOL, files=fs.list_of(fs.STR),
        optional={
            # Debian family
            "update_package_lists": fs.BOOL, "unattended_upgrade": fs.BOOL,
            "origins": fs.list_of(fs.STR), "security_origin": fs.BOOL,
            "timer": fs.record(unit=fs.STR, installed=fs.BOOL, enabled=fs.BOOL, masked=fs.BOOL),
            # Red Hat family
            "apply_updates": fs.BOOL, "upgrade_type": fs.STR, "timers": fs.mapping(fs.BOOL),
        },
    )

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        if not isinstance(target, HostTarget):
            raise ProbeError(f"{target.name} has no file system")
        manager, packages = installed_packages(target, ctx.io_timeout())
        names = {p.name for p in packages}
        facts = debian_facts(target, names) if manager == "dpkg" else rhel_facts(target, names)
        return {"manager": manager, **facts}
