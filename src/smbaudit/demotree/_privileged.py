"""The audit rules CIS 6.2.3.6 asks for: one per setuid / setgid program of the tree, written
as the benchmark's remediation script writes them (after every other area is built)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from smbaudit.demotree._util import write

RULES = "/etc/audit/rules.d/50-privileged.rules"


def privileged_programs(root: Path) -> list[str]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
        for name in files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode) and st.st_mode & (stat.S_ISUID | stat.S_ISGID):
                found.append("/" + os.path.relpath(path, root))
    return sorted(found)


def audit_rules(root: Path) -> None:
    write(root, RULES, "".join(
        f"-a always,exit -F path={p} -F perm=x -F auid>=1000 -F auid!=unset -k privileged\n"
        for p in privileged_programs(root)), 0o640)
