"""Parsing host target specifications: `local` and `dir:PATH`."""

from __future__ import annotations

import os

from smbaudit.errors import TargetError
from smbaudit.targets.base import HostTarget
from smbaudit.targets.posixfs import DirectoryTarget, LocalTarget

DIR_PREFIX = "dir:"
# What a root file system or configuration tree has at least one of. A folder with none of
# them gives the probes nothing to read: every check would come out "not applicable" or pass.
TREE_MARKERS = ("etc", "usr/lib/os-release", "var/lib/dpkg", "var/lib/rpm", "lib/apk")


def looks_like_tree(path: str) -> bool:
    return any(os.path.exists(os.path.join(path, m)) for m in TREE_MARKERS)


def _not_a_tree(spec: str, path: str) -> TargetError:
    hint = ""
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.basename(os.path.abspath(path)) == "etc" and parent != "/":
        hint = f" (it looks like an etc/ folder itself: did you mean dir:{parent}?)"
    return TargetError(f"{spec}: {path!r} does not look like a root file system or "
                       f"configuration tree: no etc/ folder, nothing the checks can read{hint}. "
                       "Pass --force to scan it anyway")


def parse_host_spec(spec: str, force: bool = False) -> HostTarget | None:
    """A HostTarget for `local` / `dir:PATH`; None when the spec is not a host spec.

    A `dir:` folder that does not look like a root file system or configuration tree is
    refused unless `force`: scanning it would grade nothing as if it were clean."""
    if spec == "local":
        return LocalTarget(spec)
    if spec.startswith(DIR_PREFIX):
        path = spec[len(DIR_PREFIX):]
        if not path:
            raise TargetError("dir: needs a path, e.g. dir:/mnt/image or dir:./etc-tree")
        if not os.path.isdir(path):
            raise TargetError(f"{spec}: {path!r} is not a directory")
        if not force and not looks_like_tree(path):
            raise _not_a_tree(spec, path)
        return DirectoryTarget(spec, path)
    return None


def path_hint(spec: str) -> str | None:
    """For a target that is an existing path on this machine but not given as `dir:`, the
    message that says so (bare words are left to network parsing: they may be host names)."""
    looks_like_path = spec.startswith((".", "~", "/")) or os.sep in spec
    path = os.path.expanduser(spec)
    if not looks_like_path or not os.path.exists(path):
        return None
    if os.path.isdir(path):
        suggested = spec
        if os.path.basename(os.path.abspath(path)) == "etc" and os.path.dirname(
                os.path.abspath(path)) != "/":
            suggested = os.path.dirname(os.path.abspath(path))  # the tree is its parent
        return (f"unknown target {spec!r}: it is a folder on this machine; did you mean "
                f"dir:{suggested}?")
    return (f"unknown target {spec!r}: it is a file on this machine; offline trees are scanned "
            f"as dir:FOLDER (did you mean dir:{os.path.dirname(spec) or '.'}?)")
