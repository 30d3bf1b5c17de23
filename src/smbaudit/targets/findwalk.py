"""The tree walk of the `special_files` probe done by GNU find on this host.

Walking /usr, /etc and the rest in Python costs an lstat and a few Python operations for each of
some 150,000 entries, about a second of the scan spent holding the interpreter. GNU find does the
same walk in C, on the other core, and prints only the entries that matter (risky permission bits,
unknown owner or group) and one byte for each other entry, so the answers are those of the
Python walk: the same entries, counts, depth limit and exclusions. Where GNU find is missing or
an exclusion pattern could match differently, `find_walk` returns None and the Python walk runs.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat as stat_mod
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field

from smbaudit.errors import ProbeError, ProbeTimeout
from smbaudit.runner import Streamed, stream

FIND = "/usr/bin/find"
_TYPE_BITS = {b"f": stat_mod.S_IFREG, b"d": stat_mod.S_IFDIR, b"l": stat_mod.S_IFLNK,
              b"c": stat_mod.S_IFCHR, b"b": stat_mod.S_IFBLK, b"p": stat_mod.S_IFIFO,
              b"s": stat_mod.S_IFSOCK}
# Patterns made only of characters that fnmatch (Python) and find's -path read alike.
_PORTABLE_PATTERN = re.compile(r"[A-Za-z0-9_./*?+,:@%=~-]*")
_PATH_ERROR = re.compile(rb"^find: '(.*)': (.*)$")
_MAX_IDS = 4000  # beyond this many accounts the Python walk checks owners instead


@dataclass
class TreeWalk:
    """What one walk found: entries with risky bits (path, st_mode), the number of entries
    looked at, the first directory deeper than the limit ("" if none), whether the walk stopped
    at `max_scanned`, directories that could not be listed, and entries (path, st_mode, uid,
    gid) whose uid or gid is not in the given sets (None when no sets were given)."""

    candidates: list[tuple[str, int]] = field(default_factory=list)
    scanned: int = 0
    too_deep: str = ""
    stopped: bool = False
    unreadable: list[str] = field(default_factory=list)
    strays: list[tuple[str, int, int, int]] | None = None


def usable(exclude: list[str]) -> bool:
    """Whether find can do this walk: GNU find is installed and every exclusion pattern reads
    the same to find as to Python's fnmatch."""
    return os.access(FIND, os.X_OK) and all(_PORTABLE_PATTERN.fullmatch(p) for p in exclude)


def find_walk(roots: list[str], exclude: list[str], max_depth: int,
              ids: tuple[set[int], set[int]] | None, check: Callable[[], None],
              max_scanned: int, max_strays: int, interesting: int) -> TreeWalk | None:
    """Walk `roots` (absolute; links among them followed, none below) to `max_depth` levels,
    not descending into directories matching an `exclude` pattern. None when find could not
    do it (not GNU find, an unexpected error): the caller walks in Python instead."""
    if not roots or not usable(exclude) or (ids and len(ids[0]) + len(ids[1]) > _MAX_IDS):
        return None
    argv = _argv(roots, _reachable(exclude, roots), max_depth, ids, interesting)
    walk = TreeWalk(strays=[] if ids else None)
    deep: list[str] = []
    done = Streamed()
    tail = b""
    try:
        with closing(stream(argv, check, done)) as chunks:
            for chunk in chunks:
                records = (tail + chunk).split(b"\0")
                tail = records.pop()
                walk.scanned += len(records)
                for record in records:
                    if record:
                        _take(record, walk, deep, ids, max_depth, max_strays, interesting)
                if walk.scanned >= max_scanned:
                    walk.stopped = True
                    break
    except ProbeTimeout:
        raise
    except ProbeError:  # find could not be started
        return None
    if not walk.stopped:
        if tail or done.returncode not in (0, 1):
            return None
        for line in done.stderr.splitlines():
            error = _PATH_ERROR.match(line)
            if error is None:
                return None  # not a message about one path: find could not do the walk
            if error.group(2) == b"Permission denied":
                walk.unreadable.append(os.fsdecode(error.group(1)))
        if done.returncode == 1 and not done.stderr:
            return None
    walk.too_deep = min((d for d in deep if not any(fnmatch.fnmatchcase(d, ex) for ex in exclude)),
                        default="")
    walk.candidates.sort()
    walk.unreadable.sort()
    if walk.strays is not None:
        walk.strays.sort()
    return walk


def _reachable(exclude: list[str], roots: list[str]) -> list[str]:
    """The exclusion patterns that can match something below a root: a plain path elsewhere
    (/proc when walking /usr) is left out, as every pattern costs find a test per entry."""
    under = [r.rstrip("/") + "/" for r in roots]
    return [p for p in exclude
            if any(ch in p for ch in "*?[") or any(p.startswith(u) for u in under)]


def _argv(roots: list[str], exclude: list[str], max_depth: int,
          ids: tuple[set[int], set[int]] | None, interesting: int) -> list[str]:
    """find -H ROOTS -mindepth 1 -maxdepth N ( RECORD ) [, ( -type d ( -path X ... ) -prune )]

    Every entry prints one NUL-terminated record: "E..." for an entry with risky bits or an
    unknown owner, "D..." for another directory (its depth tells whether it is past the limit),
    an empty one otherwise."""
    argv = [FIND, "-H", *[r.rstrip("/") or "/" for r in roots],
            "-mindepth", "1", "-maxdepth", str(max_depth + 1), "("]
    special = ["(", "!", "-type", "l", "-perm", f"/{interesting:o}", ")"]
    if ids:
        for test, known in (("-uid", ids[0]), ("-gid", ids[1])):
            special += ["-o", "!", "("]
            for i, number in enumerate(sorted(known)):
                special += (["-o"] if i else []) + [test, str(number)]
            special += [")"] if known else ["-false", ")"]
    argv += ["(", *special, ")", "-printf", r"E%d %y %m %U %G %p\0",
             "-o", "-type", "d", "-printf", r"D%d %p\0", "-o", "-printf", r"\0", ")"]
    if exclude:
        argv += [",", "(", "-type", "d", "("]
        for i, pattern in enumerate(exclude):
            argv += (["-o"] if i else []) + ["-path", pattern]
        argv += [")", "-prune", ")"]
    return argv


def _take(record: bytes, walk: TreeWalk, deep: list[str],
          ids: tuple[set[int], set[int]] | None, max_depth: int, max_strays: int,
          interesting: int) -> None:
    """One non-empty record into `walk`."""
    if record[:1] == b"D":
        dir_depth, dir_path = record[1:].split(b" ", 1)
        if int(dir_depth) > max_depth:
            deep.append(os.fsdecode(dir_path))
        return
    depth, kind, mode, uid, gid, raw = record[1:].split(b" ", 5)
    path = os.fsdecode(raw)
    st_mode = _TYPE_BITS.get(kind, 0) | int(mode, 8)
    if int(depth) > max_depth and kind == b"d":
        deep.append(path)
    if st_mode & interesting:
        walk.candidates.append((path, st_mode))
    if ids is not None and walk.strays is not None and len(walk.strays) < max_strays:
        owner, group = int(uid), int(gid)
        if owner not in ids[0] or group not in ids[1]:
            walk.strays.append((path, st_mode, owner, group))
