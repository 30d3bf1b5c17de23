"""pluggy hook specifications: how built-in and third-party plugins add probes and checks."""

from __future__ import annotations

from pathlib import Path

import pluggy

PROJECT = "smbaudit"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def smbaudit_register_probes() -> list[type]:
    """Return Probe subclasses this plugin provides. Names must be unique across plugins."""
    raise NotImplementedError


@hookspec
def smbaudit_check_dirs() -> list[Path]:
    """Return folders of YAML check packs this plugin ships (loaded and validated like ours)."""
    raise NotImplementedError
