"""Account-file backups, login banners and the audit system's files.

The misconfigured tree leaves shadow-file backups readable by everyone and banners that name
the distribution (the Debian defaults for /etc/issue and /etc/motd); the hardened tree has
root-owned, tight modes and plain authorised-use notices.
"""

from __future__ import annotations

from pathlib import Path

from smbaudit.demotree._util import write

NOTICE = "Authorised users only. All activity may be monitored and reported.\n"
BACKUPS = {"/etc/passwd-": (0o644, 0o666), "/etc/group-": (0o644, 0o664), "/etc/shadow-": (0o640, 0o644),
           "/etc/gshadow-": (0o640, 0o644), "/etc/shells": (0o644, 0o664),
           "/etc/security/opasswd": (0o600, 0o644)}
AUDIT_TOOLS = ("auditctl", "aureport", "ausearch", "autrace", "auditd", "augenrules")


def build(root: Path, hardened: bool) -> list[str]:
    for path, (good, bad) in BACKUPS.items():
        write(root, path, "# demo copy\n", good if hardened else bad)
    write(root, "/etc/shells", "/bin/sh\n/bin/bash\n" + ("" if hardened else "/usr/sbin/nologin\n"),
          0o644 if hardened else 0o664)
    for tool in AUDIT_TOOLS:
        write(root, f"/usr/sbin/{tool}", "#!/bin/sh\n", 0o755 if hardened else 0o775)
    write(root, "/var/log/audit/audit.log", "type=DAEMON_START msg=audit(0.0:1): demo\n",
          0o600 if hardened else 0o644)
    (root / "var/log/audit").chmod(0o750 if hardened else 0o755)
    if hardened:
        write(root, "/etc/issue", NOTICE)
        write(root, "/etc/motd", NOTICE)
        return []
    write(root, "/etc/issue", "Debian GNU/Linux 11 \\n \\l\n\n", 0o664)
    write(root, "/etc/motd", "\nThe programs included with the Debian GNU/Linux system are free software;\n", 0o666)
    write(root, "/etc/issue.net", "Debian GNU/Linux 11\n", 0o666)
    return ["files.passwd-backup-permissions", "files.group-backup-permissions",
            "files.shadow-backup-permissions", "files.gshadow-backup-permissions",
            "files.shells-permissions", "files.opasswd-permissions", "files.motd-permissions",
            "files.issue-permissions", "files.issue-net-permissions", "banners.motd-no-os-details",
            "banners.issue-no-os-details", "banners.issue-net-no-os-details",
            "files.audit-tools-permissions", "files.audit-logs-permissions",
            "files.audit-log-dir-permissions", "files.shells-no-nologin"]
