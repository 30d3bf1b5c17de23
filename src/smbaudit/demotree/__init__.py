"""Builds demonstration trees: a deliberately misconfigured system and a hardened one.

`smbaudit demo PATH` writes one so a new user can see a full report without a live host,
and the end-to-end tests scan both. Each area module here offers

    build(root: Path, hardened: bool) -> list[str]

which writes its files under `root` and returns the ids of the checks that must FAIL on the
misconfigured tree (the returned list is ignored for the hardened one, which must have no
failures at all). Areas are found by listing this package, so adding an area is adding a module.
"""

from __future__ import annotations

import pkgutil
from importlib import import_module
from pathlib import Path


def area_modules() -> list[str]:
    return sorted(i.name for i in pkgutil.iter_modules(__path__) if not i.name.startswith("_"))


def build(root: Path, hardened: bool = False) -> list[str]:
    """Write a whole demo tree under `root`; returns the check ids expected to fail."""
    root.mkdir(parents=True, exist_ok=True)
    expected: list[str] = []
    for name in area_modules():
        module = import_module(f"{__name__}.{name}")
        expected.extend(module.build(root, hardened))
    if hardened:
        from smbaudit.demotree._privileged import audit_rules

        audit_rules(root)
    return sorted(set(expected))
