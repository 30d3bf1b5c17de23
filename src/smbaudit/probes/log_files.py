"""Log files under /var/log: each file's mode, owner and group against the rules of CIS
recommendation "Ensure access to all logfiles has been configured" (Debian 12 6.1.4.1, Ubuntu
6.1.4.1 / 6.2.2.1, RHEL 9 6.2.4.1), which sort files by name:

| files | mode at most | owner | group |
|---|---|---|---|
| lastlog*, wtmp*, btmp*, README | 0664 | root | root, utmp |
| cloud-init.log*, localmessages*, waagent.log* | 0644 | root | root, adm |
| secure*, auth.log, syslog, messages | 0640 | root, syslog | root, adm |
| SSSD, sssd* | 0660 | root, SSSD | root, SSSD |
| gdm, gdm3 | 0660 | root | root, gdm, gdm3 |
| *.journal, *.journal~ | 0640 | root | root, systemd-journal |
| anything else | 0640 | root, syslog | root, adm |

Files only (links are not followed), at most MAX_FILES of them, to a depth of MAX_DEPTH.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

from smbaudit.models import TargetKind
from smbaudit.probes import factschema as fs
from smbaudit.probes._common import host_of
from smbaudit.probes.base import INCOMPLETE, Facts, Probe, ProbeContext
from smbaudit.targets.base import Target

LOG_DIR = "/var/log"
MAX_FILES = 20_000
MAX_DEPTH = 8
MAX_SHOWN = 200

# (name patterns, widest mode, owners, groups); the first rule whose pattern matches applies.
RULES: tuple[tuple[tuple[str, ...], int, tuple[str, ...], tuple[str, ...]], ...] = (
    (("lastlog", "lastlog.*", "wtmp", "wtmp.*", "wtmp-*", "btmp", "btmp.*", "btmp-*", "README"),
     0o664, ("root",), ("root", "utmp")),
    (("cloud-init.log*", "localmessages*", "waagent.log*"), 0o644, ("root",), ("root", "adm")),
    (("secure", "secure*.*", "secure.*", "secure-*", "auth.log", "syslog", "messages"),
     0o640, ("root", "syslog"), ("root", "adm")),
    (("SSSD", "sssd*"), 0o660, ("root", "SSSD"), ("root", "SSSD")),
    (("gdm", "gdm3"), 0o660, ("root",), ("root", "gdm", "gdm3")),
    (("*.journal", "*.journal~"), 0o640, ("root",), ("root", "systemd-journal")),
)
DEFAULT = (0o640, ("root", "syslog"), ("root", "adm"))


def rule_for(name: str) -> tuple[int, tuple[str, ...], tuple[str, ...]]:
    for patterns, mode, owners, groups in RULES:
        if any(fnmatch.fnmatchcase(name, p) for p in patterns):
            return mode, owners, groups
    return DEFAULT


class LogFilesProbe(Probe):
    """Modes and owners of the files under /var/log, judged by the benchmark's name rules.

    Facts: present (/var/log exists), files (how many were looked at), violations (list of
    {path, mode, owner, group, problems (what is wrong: mode over the widest allowed, owner or
    group not among those allowed)}, at most 200), violation_count, truncated.
    """

    name = "log_files"
    description = "modes and owners of the log files under /var/log"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}
    facts = fs.record(
        present=fs.BOOL, files=fs.INT, truncated=fs.BOOL, violation_count=fs.INT,
        violations=fs.list_of(fs.record(path=fs.STR, mode=fs.STR, owner=fs.nullable(fs.STR),
                                        group=fs.nullable(fs.STR), problems=fs.list_of(fs.STR))),
    )

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        root = host.stat(LOG_DIR)
        facts: Facts = {"present": root is not None and root.type == "dir", "files": 0,
                        "truncated": False, "violation_count": 0, "violations": []}
        if not facts["present"]:
            return facts
        todo = [(LOG_DIR, 0)]
        count = 0
        found: list[dict[str, Any]] = []
        unreadable: list[str] = []
        while todo:
            ctx.check_deadline()
            folder, depth = todo.pop()
            try:
                entries = host.scan_dir(folder)
            except OSError:
                unreadable.append(folder)
                continue
            for st in entries:
                if st.type == "dir":
                    if depth < MAX_DEPTH:
                        todo.append((st.path, depth + 1))
                    continue
                if st.type != "file":
                    continue
                count += 1
                if count > MAX_FILES:
                    facts["truncated"] = True
                    todo = []
                    break
                widest, owners, groups = rule_for(st.path.rsplit("/", 1)[-1])
                problems = []
                if st.mode & ~widest & 0o7777:
                    problems.append(f"mode {st.mode_octal} over {widest:04o}")
                if (st.owner or str(st.uid)) not in owners:
                    problems.append(f"owner {st.owner or st.uid} not {' or '.join(owners)}")
                if (st.group or str(st.gid)) not in groups:
                    problems.append(f"group {st.group or st.gid} not {' or '.join(groups)}")
                if problems:
                    found.append({"path": st.path, "mode": st.mode_octal, "owner": st.owner,
                                  "group": st.group, "problems": problems})
        found.sort(key=lambda v: str(v["path"]))
        facts.update(files=min(count, MAX_FILES), violation_count=len(found),
                     violations=found[:MAX_SHOWN])
        if unreadable:
            facts[INCOMPLETE] = (f"{len(unreadable)} folder(s) under {LOG_DIR} could not be read "
                                 f"({', '.join(unreadable[:3])}); run as root or use --become")
        return facts
