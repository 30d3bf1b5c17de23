"""The built-in plugin: every probe module in this package, and the shipped check packs.

Registered through the `smbaudit.probes` entry point exactly as a third-party plugin is.
Probe modules are found by listing this package, so adding a probe is adding a module.
"""

from __future__ import annotations

import inspect
import pkgutil
from importlib import import_module
from pathlib import Path

from smbaudit import resources
from smbaudit.probes.base import Probe
from smbaudit.probes.hookspecs import hookimpl

_NOT_PROBES = {"base", "builtin", "factschema", "hookspecs", "manager"}


def builtin_probe_classes() -> list[type[Probe]]:
    import smbaudit.probes as package

    classes: list[type[Probe]] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name in _NOT_PROBES or info.name.startswith("_"):
            continue
        module = import_module(f"{package.__name__}.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if (issubclass(obj, Probe) and obj.__module__ == module.__name__
                    and not inspect.isabstract(obj) and getattr(obj, "name", None)):
                classes.append(obj)
    return classes


@hookimpl
def smbaudit_register_probes() -> list[type]:
    return list(builtin_probe_classes())


@hookimpl
def smbaudit_check_dirs() -> list[Path]:
    return [resources.checks_dir()]
