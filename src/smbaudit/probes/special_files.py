"""Files with risky permission bits (world-writable, setuid, setgid) under whole directory trees,
files whose owner or group does not exist, and privileged programs no audit rule records.

`file_search` lists files matching globs; this probe walks trees and keeps only the files
whose bits matter, so /usr (hundreds of thousands of files) can be searched without
carrying every file's metadata in the facts. On local and `dir:` targets the same walk reads
each entry's owner and group (the lstat is made anyway); other targets do not report them.
"""

from __future__ import annotations

import fnmatch
import stat as stat_mod
from collections.abc import Mapping
from typing import Any

from smbaudit.errors import ProbeError
from smbaudit.models import TargetKind
from smbaudit.probes import factschema as fs
from smbaudit.probes._common import Reader
from smbaudit.probes.audit_logging import _rule_lines, parse_audit_rules
from smbaudit.probes.base import INCOMPLETE, Facts, Probe, ProbeContext
from smbaudit.targets.base import HostTarget, Target, file_type

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
    scanned (entries looked at), truncated (bool), roots, unowned (list of {path, type, uid, gid,
    no_user, no_group} whose uid is not in /etc/passwd or gid not in /etc/group; None where
    owners cannot be read in the walk or the account files are missing), privileged_unaudited
    (setuid/setgid programs, allowed ones included, without an audit rule `-F path=PROGRAM` with
    `perm=x`; None when auditd is not installed).
    """

    name = "special_files"
    long_running = True
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
        unowned=fs.nullable(fs.list_of(fs.record(path=fs.STR, type=fs.STR, uid=fs.INT, gid=fs.INT,
                                                 no_user=fs.BOOL, no_group=fs.BOOL))),
        privileged_unaudited=fs.nullable(fs.list_of(fs.STR)),
    )

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        if not isinstance(target, HostTarget):
            raise ProbeError(f"{target.name} has no file system")
        host = target
        allow = list(params.get("allow", []))
        exclude = list(params.get("exclude", [])) + list(_SKIP_DIRS)
        max_depth = params.get("max_depth", 32)
        roots = [r for r in params["roots"] if not any(fnmatch.fnmatchcase(r, ex) for ex in exclude)]
        ids = _account_ids(host)
        candidates, scanned, cut_short, unreadable, strays = _walk(host, roots, exclude, max_depth,
                                                                   ctx, ids)
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
        unowned = None if strays is None or ids is None else [
            {"path": path, "type": file_type(mode), "uid": uid, "gid": gid,
             "no_user": uid not in ids[0], "no_group": gid not in ids[1]}
            for path, mode, uid, gid in strays[:MAX_FOUND]]
        facts: Facts = {"world_writable": world, "setuid": setuid, "allowed": allowed,
                        "scanned": scanned, "truncated": truncated, "roots": list(params["roots"]),
                        "unreadable": unreadable[:MAX_FOUND], "unowned": unowned,
                        "privileged_unaudited": _unaudited(host, [e["path"] for e in setuid] + allowed)}
        reasons = [cut_short] if cut_short else []
        if unreadable:
            shown = ", ".join(unreadable[:3]) + (f" and {len(unreadable) - 3} more" if len(unreadable) > 3 else "")
            reasons.append(f"{len(unreadable)} folder(s) could not be read ({shown}); run as root or use --become")
        if reasons:
            facts[INCOMPLETE] = "; ".join(reasons)
        return facts


def _account_ids(host: HostTarget) -> tuple[set[int], set[int]] | None:
    """The uids of /etc/passwd and gids of /etc/group (None when either is missing)."""
    found: list[set[int]] = []
    for path in ("/etc/passwd", "/etc/group"):
        text = host.read_text_or_none(path)
        if text is None:
            return None
        ids = set()
        for line in text.splitlines():
            fields = line.split(":")
            if len(fields) > 2 and fields[2].isdigit():
                ids.add(int(fields[2]))
        found.append(ids)
    return found[0], found[1]


def _unaudited(host: HostTarget, programs: list[str]) -> list[str] | None:
    """Privileged programs with no `-a always,exit -F path=P -F perm=x` rule (None: no auditd)."""
    if not (host.exists("/usr/sbin/auditd") or host.exists("/sbin/auditd")):
        return None
    lines, _ = _rule_lines(Reader(host))
    audited: set[str] = set()
    for rule in parse_audit_rules(lines)["syscall_rules"]:
        action = {a.strip() for a in str(rule["action"]).split(",")}
        fields = rule["fields"]
        if "always" in action and "exit" in action and any(
                f.startswith("perm=") and "x" in f[5:] for f in fields):
            audited.update(f[5:] for f in fields if f.startswith("path="))
    return sorted(p for p in set(programs) if p not in audited)


Walked = tuple[list[tuple[str, int]], int, str, list[str], list[tuple[str, int, int, int]] | None]


def _walk(host: HostTarget, roots: list[str], exclude: list[str], max_depth: int,
          ctx: ProbeContext, ids: tuple[set[int], set[int]] | None) -> Walked:
    """(entries of interest with their st_mode, entries scanned, why the walk was cut short
    or "", directories that could not be listed, entries whose uid or gid is not in `ids`, None
    when owners are not read): one listing call per directory (remote targets keep many in
    flight)."""
    candidates: list[tuple[str, int]] = []
    unreadable: list[str] = []
    too_deep = ""
    scanned = 0
    interesting = stat_mod.S_IWOTH | stat_mod.S_ISUID | stat_mod.S_ISGID
    is_dir = stat_mod.S_ISDIR
    walk_owners = getattr(host, "walk_owners", None)
    strays: list[tuple[str, int, int, int]] | None = [] if walk_owners and ids else None

    native_walk = getattr(host, "native_walk", None)
    if native_walk is not None:
        found = native_walk(roots, exclude, max_depth, ids if strays is not None else None,
                            ctx.check_deadline, MAX_SCANNED, MAX_FOUND, interesting)
        if found is not None:
            cut = (f"the walk stopped after {MAX_SCANNED} entries" if found.stopped else
                   f"folders deeper than {max_depth} levels were not searched ({found.too_deep})"
                   if found.too_deep else "")
            return found.candidates, found.scanned, cut, found.unreadable, found.strays

    def descend(path: str) -> bool:
        return not any(fnmatch.fnmatchcase(path, ex) for ex in exclude)

    def listing(directory: str, entries: object) -> bool:
        """Account for a directory that could not be listed; True when it could."""
        if isinstance(entries, OSError):
            if isinstance(entries, PermissionError):
                unreadable.append(directory)
            return False  # gone since its parent was listed, or not a directory
        return True

    if walk_owners is not None and strays is not None and ids is not None:
        uids, gids = ids
        for directory, owned, depth in walk_owners(roots, descend, max_depth):
            ctx.check_deadline()
            if not listing(directory, owned):
                continue
            scanned += len(owned)
            base = directory.rstrip("/")
            for name, st_mode, uid, gid in owned:
                if st_mode & interesting:
                    candidates.append((f"{base}/{name}", st_mode))
                if (uid not in uids or gid not in gids) and len(strays) < MAX_FOUND:
                    strays.append((f"{base}/{name}", st_mode, uid, gid))
                if depth == max_depth and not too_deep and is_dir(st_mode) and descend(f"{base}/{name}"):
                    too_deep = f"{base}/{name}"
            if scanned >= MAX_SCANNED:
                return (sorted(candidates), scanned, f"the walk stopped after {MAX_SCANNED} entries",
                        sorted(unreadable), sorted(strays))
    else:
        for directory, entries, depth in host.walk_modes(roots, descend, max_depth):
            ctx.check_deadline()
            if not listing(directory, entries):
                continue
            assert not isinstance(entries, OSError)
            scanned += len(entries)
            base = directory.rstrip("/")
            # Hot loop (one pass per entry of the whole tree): build a path only when needed.
            for name, st_mode in entries:
                if st_mode & interesting:
                    candidates.append((f"{base}/{name}", st_mode))
                if depth == max_depth and not too_deep and is_dir(st_mode) and descend(f"{base}/{name}"):
                    too_deep = f"{base}/{name}"
            if scanned >= MAX_SCANNED:
                return (sorted(candidates), scanned, f"the walk stopped after {MAX_SCANNED} entries",
                        sorted(unreadable), strays)
    cut = f"folders deeper than {max_depth} levels were not searched ({too_deep})" if too_deep else ""
    return sorted(candidates), scanned, cut, sorted(unreadable), (
        sorted(strays) if strays is not None else None)
