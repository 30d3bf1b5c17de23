"""Audit and system logging: auditd (config and rules), journald, rsyslog, logrotate."""

from __future__ import annotations

from pathlib import Path

from smbaudit.demotree._systemd_links import install_unit
from smbaudit.demotree._util import write

GOOD_RULES = {
    "/etc/audit/rules.d/10-base.rules": "-D\n-b 8192\n--backlog_wait_time 60000\n-f 1\n",
    "/etc/audit/rules.d/50-identity.rules": (
        "-w /etc/group -p wa -k identity\n-w /etc/passwd -p wa -k identity\n"
        "-w /etc/gshadow -p wa -k identity\n-w /etc/shadow -p wa -k identity\n"
        "-w /etc/security/opasswd -p wa -k identity\n"),
    "/etc/audit/rules.d/50-scope.rules": "-w /etc/sudoers -p wa -k scope\n-w /etc/sudoers.d/ -p wa -k scope\n",
    "/etc/audit/rules.d/50-time-change.rules": (
        "-a always,exit -F arch=b64 -S adjtimex,settimeofday,clock_settime -k time-change\n"
        "-a always,exit -F arch=b32 -S adjtimex,settimeofday,clock_settime -k time-change\n"
        "-w /etc/localtime -p wa -k time-change\n"),
    "/etc/audit/rules.d/50-login.rules": (
        "-w /var/log/lastlog -p wa -k logins\n-w /var/run/faillock -p wa -k logins\n"),
    "/etc/audit/rules.d/99-finalize.rules": "-e 2\n",
}

GOOD_AUDITD = """log_file = /var/log/audit/audit.log
max_log_file = 32
num_logs = 10
max_log_file_action = keep_logs
space_left = 25%
space_left_action = email
action_mail_acct = root
admin_space_left_action = single
disk_full_action = HALT
"""

BAD_AUDITD = """log_file = /var/log/audit/audit.log
max_log_file = 8
max_log_file_action = IGNORE
space_left_action = SYSLOG
admin_space_left_action = SUSPEND
"""

LOGROTATE = """weekly
rotate 4
create
include /etc/logrotate.d
"""


def build(root: Path, hardened: bool) -> list[str]:
    write(root, "/etc/audit/auditd.conf", GOOD_AUDITD if hardened else BAD_AUDITD, 0o640)
    write(root, "/usr/sbin/auditd", "#!/bin/sh\n# placeholder for the demo\n", 0o755)
    install_unit(root, "auditd.service", enabled=hardened)
    if hardened:
        for path, text in GOOD_RULES.items():
            write(root, path, text, 0o640)
        write(root, "/etc/systemd/journald.conf.d/50-persistent.conf", "[Journal]\nStorage=persistent\n")
        write(root, "/etc/logrotate.conf", LOGROTATE)
        write(root, "/etc/logrotate.d/rsyslog", "/var/log/syslog\n{\n  rotate 7\n  daily\n}\n")
        install_unit(root, "logrotate.timer", enabled=True, target="timers.target")
    else:
        write(root, "/etc/audit/rules.d/audit.rules", "-D\n-b 320\n-w /etc/passwd -p wa\n", 0o640)
        write(root, "/etc/systemd/journald.conf", "[Journal]\nStorage=volatile\n")
    return ["logging.auditd-enabled", "logging.audit-identity-files", "logging.audit-sudoers",
            "logging.audit-time-change", "logging.audit-logins", "logging.audit-immutable",
            "logging.audit-log-retention", "logging.audit-disk-full", "logging.persistent-logs",
            "logging.logrotate"]
