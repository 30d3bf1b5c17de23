"""Interactive users' home directories and the dot files in them.

An interactive user has a login shell (root included). For each: whether the home directory
exists, its owner and mode, and the dot files directly in it: .netrc, .rhosts and .forward
(files that hand out access or mail), and dot files writable by group or others or not owned
by the user. Only the top level of each home is read, never its contents.
"""

from __future__ import annotations

import stat as stat_mod
from collections.abc import Mapping
from typing import Any

from smbaudit.errors import ProbeError
from smbaudit.models import TargetKind
from smbaudit.probes._common import host_of
from smbaudit.probes._hostfiles import read_optional
from smbaudit.probes.accounts import is_login_shell
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import Target

FORBIDDEN = (".netrc", ".rhosts", ".forward")
MAX_USERS = 5000


class HomeDirsProbe(Probe):
    """Home directories and dot files of interactive users.

    Facts: users (list of {user, home, exists, owner, mode, owned (by the user)}), missing_homes
    (users whose home does not exist), foreign_homes (homes not owned by their user),
    open_homes (homes with group-write or any access by others), forbidden_files (paths of
    .netrc / .rhosts / .forward files), loose_dotfiles (dot files writable by group or others,
    or not owned by the user), truncated (more users than the probe reads).
    """

    name = "home_dirs"
    description = "interactive users' home directories and dot files (.netrc, .rhosts, .forward, modes)"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}
    facts = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "users": {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                                 "properties": {
                                                     "user": {"type": "string"}, "home": {"type": "string"},
                                                     "exists": {"type": "boolean"},
                                                     "owner": {"type": ["string", "null"]},
                                                     "mode": {"type": ["string", "null"]},
                                                     "owned": {"type": "boolean"}}}},
            "missing_homes": {"type": "array", "items": {"type": "string"}},
            "foreign_homes": {"type": "array", "items": {"type": "string"}},
            "open_homes": {"type": "array", "items": {"type": "string"}},
            "forbidden_files": {"type": "array", "items": {"type": "string"}},
            "loose_dotfiles": {"type": "array", "items": {"type": "string"}},
            "truncated": {"type": "boolean"},
        },
    }

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        passwd = read_optional(host, "/etc/passwd")
        if passwd is None:
            raise ProbeError("/etc/passwd not found")
        rows = [line.split(":") for line in passwd.splitlines() if line.count(":") >= 6]
        interactive = [r for r in rows if is_login_shell(r[6].strip()) and r[5].startswith("/")]
        users: list[dict[str, Any]] = []
        forbidden: list[str] = []
        loose: list[str] = []
        seen: set[str] = set()
        for row in interactive[:MAX_USERS]:
            ctx.check_deadline()
            name, uid, home = row[0], row[2], row[5].rstrip("/") or "/"
            st = host.stat(home)
            entry = {"user": name, "home": home, "exists": st is not None and st.type == "dir",
                     "owner": st.owner if st else None, "mode": st.mode_octal if st else None,
                     "owned": bool(st and str(st.uid) == uid)}
            users.append(entry)
            if not entry["exists"] or home in seen or home == "/":
                continue
            seen.add(home)
            try:
                listing = host.scan_dir(home)
            except OSError:
                continue
            for item in listing:
                base = item.path.rsplit("/", 1)[-1]
                if not base.startswith(".") or item.type == "link":
                    continue
                if base in FORBIDDEN:
                    forbidden.append(item.path)
                if item.type == "file" and (item.mode & (stat_mod.S_IWGRP | stat_mod.S_IWOTH)
                                            or str(item.uid) != uid):
                    loose.append(item.path)
        return {
            "users": users,
            "missing_homes": [u["user"] for u in users if not u["exists"]],
            "foreign_homes": [u["home"] for u in users if u["exists"] and not u["owned"]],
            "open_homes": [u["home"] for u in users if u["exists"] and u["mode"] is not None
                           and int(u["mode"], 8) & 0o027],
            "forbidden_files": sorted(forbidden),
            "loose_dotfiles": sorted(loose),
            "truncated": len(interactive) > MAX_USERS,
        }
