"""Parsing host target specifications: `local` and `dir:PATH`."""

from __future__ import annotations

import os

from smbaudit.errors import TargetError
from smbaudit.targets.base import HostTarget
from smbaudit.targets.posixfs import DirectoryTarget, LocalTarget

DIR_PREFIX = "dir:"


def parse_host_spec(spec: str) -> HostTarget | None:
    """A HostTarget for `local` / `dir:PATH`; None when the spec is not a host spec."""
    if spec == "local":
        return LocalTarget(spec)
    if spec.startswith(DIR_PREFIX):
        path = spec[len(DIR_PREFIX):]
        if not path:
            raise TargetError("dir: needs a path, e.g. dir:/mnt/image or dir:./etc-tree")
        if not os.path.isdir(path):
            raise TargetError(f"{spec}: {path!r} is not a directory")
        return DirectoryTarget(spec, path)
    return None
