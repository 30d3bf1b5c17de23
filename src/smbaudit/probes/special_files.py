"""Files with risky permission bits (world-writable, setuid, setgid) under whole directory trees.

`file_search` lists files matching globs; this probe walks trees and keeps only the files
whose bits matter, so /usr (hundreds of thousands of files) can be searched without
carrying every file's metadata in the facts.
"""

from __future__ import annotations

import fnmatch
import stat as stat_mod
from collections.abc import Mapping
from typing import Any

from smbaudit.errors import ProbeError
from smbaudit.models import TargetKind
from smbaudit.probes import factschema as fs
from smbaudit.probes.base import INCOMPLETE, Facts, Probe, ProbeContext
from smbaudit.targets.base import HostTarget, Target

MAX_FOUND = 2000
MAX_SCANNED = 2_000_000
_SKIP_DIRS = ("/proc", "/sys", "/dev", "/run")


def _flags(st_mode: int) -> set[str]:
    """The reasons an entry (by its raw st_mode, links not followed) is of interest."""
    found: set[str] = set()
    if stat_mod.S_ISLNK(st_mode):
        return found
    is_dir = stat_mod.S_ISDIR(st_mode)
    if st_mode & stat_mod.S_IWOTH:
        # A world-writable directory with the sticky bit (like /tmp) is the normal shared case.
        if not is_dir or not st_mode & stat_mod.S_ISVTX:
            found.add("world_writable")
    if stat_mod.S_ISREG(st_mode):
        if st_mode & stat_mod.S_ISUID:
            found.add("setuid")
        if st_mode & stat_mod.S_ISGID:
            found.add("setgid")
    return found


class SpecialFilesProbe(Probe):
    """World-writable entries and setuid/setgid programs under `roots`, in one walk.

    Facts: world_writable (list of {path, type, mode, owner, group}: files, and directories
    without the sticky bit), setuid (list of {path, mode, owner, group, flags} for setuid or
    setgid files not matching `allow`), allowed (setuid/setgid paths that match `allow`),
    scanned (entries looked at), truncated (bool), roots.
    """

    name = "special_files"
    description = "world-writable files and unexpected setuid/setgid programs under directory trees"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["roots"],
        "properties": {
            "roots": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^/"}},
            "allow": {"type": "array", "items": {"type": "string"},
                      "description": "glob patterns of programs expected to be setuid/setgid"},
            "exclude": {"type": "array", "items": {"type": "string"},
                        "description": "glob patterns of directories not to descend into"},
            "max_depth": {"type": "integer", "minimum": 0, "maximum": 64},
        },
    }

    facts = fs.record(
        world_writable=fs.list_of(fs.record(path=fs.STR, type=fs.STR, mode=fs.STR,
                                            owner=fs.nullable(fs.STR), group=fs.nullable(fs.STR))),
        setuid=fs.list_of(fs.record(path=fs.STR, type=fs.STR, mode=fs.STR,
                                    owner=fs.nullable(fs.STR), group=fs.nullable(fs.STR),
                                    flags=fs.list_of(fs.enum("setuid", "setgid")))),
        allowed=fs.list_of(fs.STR), scanned=fs.INT, truncated=fs.BOOL, roots=fs.list_of(fs.STR),
        unreadable=fs.list_of(fs.STR),
    )

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        if not isinstance(target, HostTarget):
            raise ProbeError(f"{target.name} has no file system")
        host = target
        allow = list(params.get("allow", []))
        exclude = list(params.get("exclude", [])) + list(_SKIP_DIRS)
        max_depth = params.get("max_depth", 32)
        roots = [r for r in params["roots"] if not any(fnmatch.fnmatchcase(r, ex) for ex in exclude)]
        candidates, scanned, cut_short, unreadable = _walk(host, roots, exclude, max_depth, ctx)
        truncated = bool(cut_short)
        world: list[dict[str, Any]] = []
        setuid: list[dict[str, Any]] = []
        allowed: list[str] = []
        for path, st_mode in candidates:
            hits = _flags(st_mode)
            if not hits:
                continue
            st = host.stat(path, follow=False)  # full metadata for the few entries reported
            if st is None:
                continue
            entry = {"path": path, "type": st.type, "mode": st.mode_octal,
                     "owner": st.owner, "group": st.group}
            if "world_writable" in hits:
                if len(world) < MAX_FOUND:
                    world.append(entry)
                else:
                    truncated = True
            special = sorted(hits & {"setuid", "setgid"})
            if special:
                if any(fnmatch.fnmatchcase(path, pat) for pat in allow):
                    allowed.append(path)
                elif len(setuid) < MAX_FOUND:
                    setuid.append({**entry, "flags": special})
                else:
                    truncated = True
        facts: Facts = {"world_writable": world, "setuid": setuid, "allowed": allowed,
                        "scanned": scanned, "truncated": truncated, "roots": list(params["roots"]),
                        "unreadable": unreadable[:MAX_FOUND]}
        reasons = [cut_short] if cut_short else []
        if unreadable:
            shown = ", ".join(unreadable[:3]) + (f" and {len(unreadable) - 3} more" if len(unreadable) > 3 else "")
            reasons.append(f"{len(unreadable)} folder(s) could not be read ({shown}); run as root or use --become")
        if reasons:
            facts[INCOMPLETE] = "; ".join(reasons)
        return facts


def _walk(host: HostTarget, roots: list[str], exclude: list[str], max_depth: int,
          ctx: ProbeContext) -> tuple[list[tuple[str, int]], int, str, list[str]]:
    """(entries of interest with their st_mode, entries scanned, why the walk was cut short
    or "", directories that could not be listed): one listing call per directory (remote
    targets keep many in flight)."""
    candidates: list[tuple[str, int]] = []
    unreadable: list[str] = []
    too_deep = ""
    scanned = 0
    interesting = stat_mod.S_IWOTH | stat_mod.S_ISUID | stat_mod.S_ISGID
    is_dir = stat_mod.S_ISDIR

    def descend(path: str) -> bool:
        return not any(fnmatch.fnmatchcase(path, ex) for ex in exclude)

    for directory, entries, depth in host.walk_modes(roots, descend, max_depth):
        ctx.check_deadline()
        if isinstance(entries, OSError):
            if isinstance(entries, PermissionError):
                unreadable.append(directory)
            continue  # gone since its parent was listed, or not a directory
        scanned += len(entries)
        base = directory.rstrip("/")
        # Hot loop (one pass per entry of the whole tree): build a path only when needed.
        for name, st_mode in entries:
            if st_mode & interesting:
                candidates.append((f"{base}/{name}", st_mode))
            if depth == max_depth and not too_deep and is_dir(st_mode) and descend(f"{base}/{name}"):
                too_deep = f"{base}/{name}"
        if scanned >= MAX_SCANNED:
            return sorted(candidates), scanned, f"the walk stopped after {MAX_SCANNED} entries", sorted(unreadable)
    cut = f"folders deeper than {max_depth} levels were not searched ({too_deep})" if too_deep else ""
    return sorted(candidates), scanned, cut, sorted(unreadable)
