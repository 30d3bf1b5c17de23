"""Local accounts, groups, password properties and sudo rules.

Password hashes are never part of the facts: only their algorithm (`hash_type`) and state.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from smbaudit.errors import BudgetExceeded, ProbeError
from smbaudit.models import TargetKind
from smbaudit.probes import factschema as fs
from smbaudit.probes._common import Budget
from smbaudit.probes.base import Facts, Probe, ProbeContext, mark_unreadable
from smbaudit.targets.base import HostTarget, Target

NO_LOGIN_SHELLS = ("nologin", "false", "true", "sync", "shutdown", "halt")
ADMIN_GROUPS = ("sudo", "wheel", "admin")
NEVER = 99999  # shadow's "no limit" for max days; also used when the field is empty
SUDOERS = "/etc/sudoers"
MAX_INCLUDE_DEPTH = 8
_HASH_PREFIXES = (
    ("$y$", "yescrypt"), ("$gy$", "gost-yescrypt"), ("$7$", "scrypt"), ("$6$", "sha512"),
    ("$5$", "sha256"), ("$2a$", "bcrypt"), ("$2b$", "bcrypt"), ("$2y$", "bcrypt"),
    ("$sha1$", "sha1crypt"), ("$md5", "sunmd5"), ("$1$", "md5"), ("$3$", "nthash"), ("_", "bsdi"),
)
# Facts that come from /etc/shadow (or /etc/gshadow, sudoers): when the file exists but cannot
# be read, the checks on them end ERROR with the reason instead of passing on a partial view.
SHADOW_FACTS = ["empty_password", "hash_types", "password_users", "root.locked",
                "root.password_state", "users.*.password_state", "users.*.hash_type",
                "users.*.locked", "users.*.max", "users.*.min", "users.*.warn",
                "users.*.inactive", "users.*.last_change", "unlocked_without_shell",
                "password_changed_in_future", "inactive_lock_missing"]
GSHADOW_FACTS = ["groups_with_password"]
SUDO_FACTS = ["sudo.nopasswd", "sudo.no_authenticate", "sudo.rules_count"]
_DES = re.compile(r"^[./0-9A-Za-z]{13}$")


def hash_type(hashed: str) -> str:
    """The algorithm of a crypt(3) hash (or of the hash behind a `!` lock)."""
    for prefix, name in _HASH_PREFIXES:
        if hashed.startswith(prefix):
            return name
    if _DES.match(hashed):
        return "des"
    return "unknown"


def password_state(field_value: str) -> tuple[str, str | None, bool]:
    """(state, hash_type, locked) of a shadow password field.

    state: empty (no password needed), locked (no usable password), hash (a password is set).
    """
    if field_value == "":
        return "empty", None, False
    locked = field_value.startswith("!")
    rest = field_value.lstrip("!")
    if rest in ("", "*", "x") or rest.startswith("*"):
        return "locked", None, True
    return ("locked" if locked else "hash"), hash_type(rest), locked


def _int(value: str, default: int | None = None) -> int | None:
    return int(value) if value.strip().lstrip("-").isdigit() else default


def is_login_shell(shell: str) -> bool:
    base = shell.rsplit("/", 1)[-1]
    return bool(shell) and base not in NO_LOGIN_SHELLS


@dataclass
class SudoScan:
    """What the sudoers files say, with file:line for each finding."""

    files: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    nopasswd: list[dict[str, Any]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # files listed, as a set: linear in their number
    budget: Budget = field(default_factory=Budget)
    no_authenticate: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    defaults: list[dict[str, Any]] = field(default_factory=list)  # {file, line, scope, settings}


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with backslash continuations joined, numbered by their first physical line."""
    out: list[tuple[int, str]] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        out.append((start, pending + raw))
        pending = ""
    if pending:
        out.append((start, pending))
    return out


_INCLUDE = re.compile(r"^[#@](include|includedir)\s+(\S+)")
_DEFAULTS = re.compile(r"^Defaults([:@!>]\S+)?\s+(.*)$")
_ALIAS = re.compile(r"^(User|Runas|Host|Cmnd|Cmd)_Alias\s")


def _sudoers_dir_files(host: HostTarget, path: str) -> list[str]:
    try:
        names = host.list_dir(path)
    except OSError:
        return []
    # sudo skips names ending in `~` or containing a `.` (editor backups, package leftovers).
    return [f"{path.rstrip('/')}/{n}" for n in names if not n.endswith("~") and "." not in n]


def scan_sudoers(host: HostTarget, path: str = SUDOERS, scan: SudoScan | None = None,
                 depth: int = 0) -> SudoScan:
    """Follow includes from `path` and collect NOPASSWD rules and `!authenticate` defaults."""
    scan = scan or SudoScan()
    if depth > MAX_INCLUDE_DEPTH or path in scan.seen:
        return scan
    scan.seen.add(path)
    try:
        text = host.read_text_or_none(path)
    except PermissionError:
        scan.unreadable.append(path)
        return scan
    if text is None:
        return scan
    scan.budget.file(path, len(text))
    scan.files.append(path)
    base_dir = path.rsplit("/", 1)[0] or "/"
    for number, line in _logical_lines(text):
        stripped = line.strip()
        inc = _INCLUDE.match(stripped)
        if inc:
            kind, target = inc.groups()
            target = target.replace("%h", "")  # host-name expansion is not resolvable offline
            if not target.startswith("/"):
                target = f"{base_dir}/{target}"
            if kind == "includedir":
                children = _sudoers_dir_files(host, target)
                scan.budget.fanout(target, len(children))
                for child in children:
                    scan_sudoers(host, child, scan, depth + 1)
            else:
                scan_sudoers(host, target, scan, depth + 1)
            continue
        if not stripped or stripped.startswith("#") or _ALIAS.match(stripped):
            continue
        defaults = _DEFAULTS.match(stripped)
        if defaults:
            scope, settings = defaults.groups()
            scan.defaults.append({"file": path, "line": number, "scope": scope or "",
                                  "settings": settings})
            if re.search(r"(^|[\s,])!\s*authenticate\b", settings):
                scan.no_authenticate.append({"file": path, "line": number,
                                             "scope": (scope or "")[1:] or "all"})
            continue
        m = re.match(r"^(\S+(?:\s*,\s*\S+)*)\s+(\S+)\s*=\s*(.*)$", stripped)
        if not m:
            continue
        principals = [p.strip() for p in m.group(1).split(",")]
        spec = m.group(3)
        rule = {"principals": principals, "file": path, "line": number,
                "all_commands": bool(re.search(r"(^|[\s:,)])ALL\s*(,|$)", spec))}
        scan.rules.append(rule)
        if re.search(r"\bNOPASSWD\s*:", spec):
            for principal in principals:
                scan.nopasswd.append({"principal": principal, "file": path, "line": number,
                                      "all_commands": rule["all_commands"]})
    return scan


def _read_protected(host: HostTarget, path: str) -> tuple[str | None, bool]:
    """(text or None when absent, readable)."""
    try:
        return host.read_text_or_none(path), True
    except PermissionError:
        return None, False


def _colon_rows(text: str | None, width: int) -> list[list[str]]:
    rows = []
    for line in (text or "").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith(("+", "-")):
            continue
        fields = line.split(":")
        rows.append(fields + [""] * (width - len(fields)))
    return rows


def _duplicates(pairs: list[tuple[Any, str]]) -> list[dict[str, Any]]:
    seen: dict[Any, list[str]] = defaultdict(list)
    for key, name in pairs:
        if key is not None:  # a malformed id field is no id, so no duplicate of another
            seen[key].append(name)
    return [{"id": key, "names": names} for key, names in sorted(seen.items(), key=lambda kv: str(kv[0]))
            if len(names) > 1]


def _uid_min(host: HostTarget) -> int:
    text = host.read_text_or_none("/etc/login.defs") or ""
    m = re.search(r"^\s*UID_MIN\s+(\d+)", text, re.MULTILINE)
    return int(m.group(1)) if m else 1000


# ids (numbers or names) that several accounts or groups share
_SHARED_IDS = fs.list_of(fs.record(id=fs.one_of(fs.INT, fs.STR), names=fs.list_of(fs.STR)))


class AccountsProbe(Probe):
    """Accounts, groups, password properties (never hashes) and sudo rules.

    Facts: passwd_present, unshadowed (users whose passwd entry holds the password field
    itself instead of `x`), shadow_present, shadow_readable, gshadow_present, uid_min,
    users (list of {user, uid, gid, home, shell, login_shell, system, password_state (empty,
    locked, hash, unknown), hash_type, locked, max, min, warn, inactive, last_change};
    max is 99999 when no maximum is set), uid0_extra (names), duplicate_uids,
    duplicate_gids, duplicate_user_names, duplicate_group_names (lists of {id, names}),
    empty_password (names), hash_types ({user: type}),
    password_users (users with a usable password: {user, hash_type, max, min, warn,
    inactive}), system_with_shell (list of {user, uid, shell}), root ({exists, locked,
    password_state, shell, login_shell}), admin_users (members of sudo/wheel/admin),
    admin_groups ({group: members}), groups_with_password (gshadow), sudo ({files,
    unreadable, nopasswd: [{principal, file, line, all_commands}], no_authenticate: [{file,
    line, scope}], rules_count}), groups (list of {name, gid, members}),
    missing_primary_groups ({user, gid} whose primary group is not in /etc/group), gid0_users
    (primary group 0, besides root, sync, shutdown, halt, operator), gid0_groups (besides root),
    shadow_group_members (listed in the shadow group or with it as primary group),
    unlocked_without_shell (accounts with no login shell but a usable password, root aside),
    password_changed_in_future (last change after today), useradd_inactive (INACTIVE of
    /etc/default/useradd, -1 unset), inactive_lock_missing (password users whose inactive
    lock is unset or over 45 days).
    """

    name = "accounts"
    description = "local accounts, password properties and sudo rules"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "sudoers": {"type": "string", "pattern": "^/"},
            "admin_groups": {"type": "array", "items": {"type": "string"}},
        },
    }

    facts = fs.record(
        passwd_present=fs.BOOL, shadow_present=fs.BOOL, shadow_readable=fs.BOOL,
        gshadow_present=fs.BOOL, uid_min=fs.INT,
        users=fs.list_of(fs.record(
            shadowed=fs.BOOL, user=fs.STR, uid=fs.INT, gid=fs.INT, home=fs.STR, shell=fs.STR,
            login_shell=fs.BOOL, system=fs.BOOL,
            password_state=fs.enum("empty", "locked", "hash", "unknown"),
            hash_type=fs.nullable(fs.STR), locked=fs.BOOL, last_change=fs.nullable(fs.INT),
            min=fs.INT, max=fs.INT, warn=fs.nullable(fs.INT), inactive=fs.INT)),
        uid0_extra=fs.list_of(fs.STR),
        duplicate_uids=_SHARED_IDS, duplicate_user_names=_SHARED_IDS, duplicate_gids=_SHARED_IDS,
        duplicate_group_names=_SHARED_IDS,
        unshadowed=fs.list_of(fs.STR), empty_password=fs.list_of(fs.STR),
        hash_types=fs.mapping(fs.STR),
        password_users=fs.list_of(fs.record(
            user=fs.STR, hash_type=fs.nullable(fs.STR), max=fs.INT, min=fs.INT,
            warn=fs.nullable(fs.INT), inactive=fs.INT)),
        system_with_shell=fs.list_of(fs.record(user=fs.STR, uid=fs.INT, shell=fs.STR)),
        root=fs.record(exists=fs.BOOL, locked=fs.BOOL, password_state=fs.nullable(fs.STR),
                       shell=fs.nullable(fs.STR), login_shell=fs.BOOL),
        admin_users=fs.list_of(fs.STR), admin_groups=fs.mapping(fs.list_of(fs.STR)),
        groups_with_password=fs.list_of(fs.STR),
        sudo=fs.record(
            files=fs.list_of(fs.STR), unreadable=fs.list_of(fs.STR),
            nopasswd=fs.list_of(fs.record(principal=fs.STR, file=fs.STR, line=fs.INT,
                                          all_commands=fs.BOOL)),
            no_authenticate=fs.list_of(fs.record(file=fs.STR, line=fs.INT, scope=fs.STR)),
            rules_count=fs.INT),
        groups=fs.list_of(fs.record(name=fs.STR, gid=fs.INT, members=fs.list_of(fs.STR))),
        missing_primary_groups=fs.list_of(fs.record(user=fs.STR, gid=fs.INT)),
        gid0_users=fs.list_of(fs.STR), gid0_groups=fs.list_of(fs.STR),
        shadow_group_members=fs.list_of(fs.STR), unlocked_without_shell=fs.list_of(fs.STR),
        password_changed_in_future=fs.list_of(fs.STR), useradd_inactive=fs.INT,
        inactive_lock_missing=fs.list_of(fs.STR),
    )

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        if not isinstance(target, HostTarget):
            raise ProbeError(f"{target.name} has no file system")
        host = target
        passwd_text = host.read_text_or_none("/etc/passwd")
        if passwd_text is None:
            raise ProbeError("/etc/passwd not found")
        shadow_text, shadow_readable = _read_protected(host, "/etc/shadow")
        group_text = host.read_text_or_none("/etc/group")
        gshadow_text, gshadow_readable = _read_protected(host, "/etc/gshadow")
        uid_min = _uid_min(host)

        shadow = {row[0]: row for row in _colon_rows(shadow_text, 9)}
        users: list[dict[str, Any]] = []
        for row in _colon_rows(passwd_text, 7):
            name, pw, uid_s, gid_s, _gecos, home, shell = row[:7]
            uid, gid = _int(uid_s, -1), _int(gid_s, -1)
            srow = shadow.get(name)
            if srow is not None:
                state, htype, locked = password_state(srow[1])
            elif pw != "x":  # no shadow entry: the passwd field holds the password itself
                state, htype, locked = password_state(pw)
            elif not shadow_readable:
                state, htype, locked = "unknown", None, False
            else:  # "x" but no shadow entry: no password can match, login is refused
                state, htype, locked = "locked", None, True
            max_days = _int(srow[4], NEVER) if srow else NEVER
            users.append({
                "shadowed": pw == "x",
                "user": name, "uid": uid, "gid": gid, "home": home, "shell": shell,
                "login_shell": is_login_shell(shell),
                "system": uid is not None and 0 < uid < uid_min or uid == 65534,
                "password_state": state, "hash_type": htype, "locked": locked,
                "last_change": _int(srow[2]) if srow else None,
                "min": _int(srow[3], 0) if srow else 0,
                "max": max_days if max_days is not None else NEVER,
                "warn": _int(srow[5]) if srow else None,
                "inactive": _int(srow[6], -1) if srow else -1,
            })

        groups = _colon_rows(group_text, 4)
        members: dict[str, set[str]] = {g[0]: {m for m in g[3].split(",") if m} for g in groups}
        gid_name = {_int(g[2]): g[0] for g in groups}
        for u in users:
            primary = gid_name.get(u["gid"])
            if primary:
                members.setdefault(primary, set()).add(u["user"])
        wanted_admin = params.get("admin_groups", list(ADMIN_GROUPS))
        admin_groups = {g: sorted(members[g]) for g in wanted_admin if g in members}
        gshadow_rows = _colon_rows(gshadow_text, 4)

        try:
            sudo, sudo_cut = scan_sudoers(host, params.get("sudoers", SUDOERS)), ""
        except BudgetExceeded as exc:  # only the sudo facts are lost; the accounts stand
            sudo, sudo_cut = SudoScan(), f"sudoers: {exc}"
        root = next((u for u in users if u["user"] == "root"), None)
        password_users = [u for u in users if u["password_state"] == "hash"]
        gid_of = {g[0]: _int(g[2]) for g in groups}
        today = int(time.time() // 86400)
        useradd = host.read_text_or_none("/etc/default/useradd") or ""
        m_inactive = re.search(r"^\s*INACTIVE\s*=\s*(-?\d+)", useradd, re.MULTILINE)
        facts_extra: Facts = {
            "groups": [{"name": g[0], "gid": _int(g[2]), "members": sorted(m for m in g[3].split(",") if m)}
                       for g in groups if _int(g[2]) is not None],  # a line without a numeric gid is no group
            "missing_primary_groups": [{"user": u["user"], "gid": u["gid"]} for u in users
                                       if group_text is not None and u["gid"] not in gid_name],
            "gid0_users": [u["user"] for u in users if u["gid"] == 0
                           and u["user"] not in ("root", "sync", "shutdown", "halt", "operator")],
            "gid0_groups": [g[0] for g in groups if _int(g[2]) == 0 and g[0] != "root"],
            "shadow_group_members": sorted(
                {m for g in groups if g[0] == "shadow" for m in g[3].split(",") if m}
                | {u["user"] for u in users if "shadow" in gid_of and u["gid"] == gid_of["shadow"]}),
            "unlocked_without_shell": [u["user"] for u in users if u["user"] != "root"
                                       and not u["login_shell"] and u["password_state"] == "hash"],
            "password_changed_in_future": [u["user"] for u in users if isinstance(u["last_change"], int)
                                           and u["last_change"] > today],
            "useradd_inactive": int(m_inactive.group(1)) if m_inactive else -1,
            "inactive_lock_missing": [u["user"] for u in password_users
                                      if not (0 <= u["inactive"] <= 45)],
        }
        facts: Facts = {**facts_extra,
            "passwd_present": True,
            "shadow_present": shadow_text is not None or not shadow_readable,
            "shadow_readable": shadow_readable,
            "gshadow_present": gshadow_text is not None or not gshadow_readable,
            "uid_min": uid_min,
            "users": users,
            "uid0_extra": [u["user"] for u in users if u["uid"] == 0 and u["user"] != "root"],
            "duplicate_uids": _duplicates([(u["uid"], u["user"]) for u in users]),
            "duplicate_user_names": _duplicates([(u["user"], u["user"]) for u in users]),
            "duplicate_gids": _duplicates([(_int(g[2]), g[0]) for g in groups]),
            "duplicate_group_names": _duplicates([(g[0], g[0]) for g in groups]),
            "unshadowed": [u["user"] for u in users if not u["shadowed"]],
            "empty_password": [u["user"] for u in users if u["password_state"] == "empty"],
            "hash_types": {u["user"]: u["hash_type"] for u in users if u["hash_type"]},
            "password_users": [{k: u[k] for k in ("user", "hash_type", "max", "min", "warn",
                                                  "inactive")} for u in password_users],
            "system_with_shell": [{"user": u["user"], "uid": u["uid"], "shell": u["shell"]}
                                  for u in users if u["system"] and u["login_shell"]],
            "root": {"exists": root is not None,
                     "locked": bool(root and root["password_state"] in ("locked",)),
                     "password_state": root["password_state"] if root else None,
                     "shell": root["shell"] if root else None,
                     "login_shell": bool(root and root["login_shell"])},
            "admin_users": sorted({m for ms in admin_groups.values() for m in ms}),
            "admin_groups": admin_groups,
            "groups_with_password": [g[0] for g in gshadow_rows
                                     if password_state(g[1])[0] == "hash"],
            "sudo": {"files": sudo.files, "unreadable": sudo.unreadable,
                     "nopasswd": sudo.nopasswd, "no_authenticate": sudo.no_authenticate,
                     "rules_count": len(sudo.rules)},
        }
        for readable, path, paths in ((shadow_readable, "/etc/shadow", SHADOW_FACTS),
                                      (gshadow_readable, "/etc/gshadow", GSHADOW_FACTS),
                                      (not sudo.unreadable, (sudo.unreadable or [""])[0],
                                       SUDO_FACTS)):
            if not readable:
                mark_unreadable(facts, paths, str(host.not_readable(path)))
        if sudo_cut:
            mark_unreadable(facts, SUDO_FACTS, sudo_cut)
        return facts
