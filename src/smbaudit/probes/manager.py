"""Loads probe plugins. Built-ins come through the same entry point group as third-party ones;
external plugins load only when the user names them (and only then is the group listed: reading
every installed distribution's metadata costs more than loading the built-in module itself)."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

import pluggy

from smbaudit.errors import UsageError
from smbaudit.probes import hookspecs
from smbaudit.probes.base import Probe

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

ENTRY_POINT_GROUP = "smbaudit.probes"
BUILTIN = "builtin"
_BUILTIN_MODULE = "smbaudit.probes.builtin"


@dataclass
class PluginSet:
    probes: dict[str, Probe]
    check_dirs: list[Path]
    loaded: list[str] = field(default_factory=list)  # plugin names, for the report


def load_plugins(enabled: tuple[str, ...] = ()) -> PluginSet:
    """Register the built-in plugin and each enabled external one; return their probes.

    Raises UsageError for an enabled plugin that is not installed, and for two probes with
    one name.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    wanted = (BUILTIN, *[n for n in enabled if n != BUILTIN])
    available = _entry_points() if len(wanted) > 1 else {}
    for name in wanted:
        if name in available:
            module = available[name].load()
        elif name == BUILTIN:  # running from a source tree that was never installed
            module = import_module(_BUILTIN_MODULE)
        else:
            known = ", ".join(sorted(n for n in available if n != BUILTIN)) or "none installed"
            raise UsageError(f"plugin {name!r} is not installed (available: {known})")
        pm.register(module, name=name)
    pm.check_pending()

    probes: dict[str, Probe] = {}
    for batch in pm.hook.smbaudit_register_probes():
        for cls in batch:
            if not (isinstance(cls, type) and issubclass(cls, Probe)):
                raise UsageError(f"plugin returned {cls!r}, which is not a Probe subclass")
            if cls.name in probes:
                raise UsageError(f"two plugins provide a probe named {cls.name!r}")
            probes[cls.name] = cls()
    check_dirs = [Path(p) for batch in pm.hook.smbaudit_check_dirs() for p in batch]
    return PluginSet(probes=probes, check_dirs=check_dirs, loaded=list(wanted))


def _entry_points() -> dict[str, EntryPoint]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
