"""Audit and system logging: auditd (config and rules), journald, rsyslog, logrotate."""

from __future__ import annotations

from pathlib import Path

from smbaudit.demotree._systemd_links import install_unit
from smbaudit.demotree._util import write

GOOD_RULES = {
    "/etc/audit/rules.d/10-base.rules": "-D\n-b 8192\n--backlog_wait_time 60000\n-f 1\n",
    "/etc/audit/rules.d/50-sudo.rules": "-w /var/log/sudo.log -p wa -k sudo_log_file\n",
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
    "/etc/audit/rules.d/60-cis.rules": "".join(
        f"-a always,exit -F arch={a} -C euid!=uid -F auid!=unset -S execve -k user_emulation\n"
        f"-a always,exit -F arch={a} -S sethostname,setdomainname -k system-locale\n"
        f"-a always,exit -F arch={a} -S creat,open,openat,truncate,ftruncate -F exit=-EACCES"
        " -F auid>=1000 -F auid!=unset -k access\n"
        f"-a always,exit -F arch={a} -S creat,open,openat,truncate,ftruncate -F exit=-EPERM"
        " -F auid>=1000 -F auid!=unset -k access\n"
        f"-a always,exit -F arch={a} -S chmod,fchmod,fchmodat -F auid>=1000 -F auid!=unset -k perm_mod\n"
        f"-a always,exit -F arch={a} -S chown,fchown,fchownat,lchown -F auid>=1000 -F auid!=unset -k perm_mod\n"
        f"-a always,exit -F arch={a} -S setxattr,lsetxattr,fsetxattr,removexattr,lremovexattr,fremovexattr"
        " -F auid>=1000 -F auid!=unset -k perm_mod\n"
        f"-a always,exit -F arch={a} -S mount -F auid>=1000 -F auid!=unset -k mounts\n"
        f"-a always,exit -F arch={a} -S unlink,unlinkat,rename,renameat -F auid>=1000 -F auid!=unset -k delete\n"
        for a in ("b64", "b32")) + (
        "-w /etc/issue -p wa -k system-locale\n-w /etc/issue.net -p wa -k system-locale\n"
        "-w /etc/hosts -p wa -k system-locale\n-w /etc/networks -p wa -k system-locale\n"
        "-w /etc/network/ -p wa -k system-locale\n"
        "-w /var/run/utmp -p wa -k session\n-w /var/log/wtmp -p wa -k session\n"
        "-w /var/log/btmp -p wa -k session\n"
        "-w /etc/apparmor/ -p wa -k MAC-policy\n-w /etc/apparmor.d/ -p wa -k MAC-policy\n"
        "-a always,exit -F path=/usr/bin/chcon -F perm=x -F auid>=1000 -F auid!=unset -k perm_chng\n"
        "-a always,exit -F path=/usr/bin/setfacl -F perm=x -F auid>=1000 -F auid!=unset -k perm_chng\n"
        "-a always,exit -F path=/usr/bin/chacl -F perm=x -F auid>=1000 -F auid!=unset -k perm_chng\n"
        "-a always,exit -F path=/usr/sbin/usermod -F perm=x -F auid>=1000 -F auid!=unset -k usermod\n"
        "-a always,exit -F arch=b64 -S init_module,finit_module,delete_module -F auid>=1000"
        " -F auid!=unset -k kernel_modules\n"
        "-a always,exit -F path=/usr/bin/kmod -F perm=x -F auid>=1000 -F auid!=unset -k kernel_modules\n"),
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
disk_error_action = HALT
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
        install_unit(root, "systemd-journald.service", enabled=True, target="sysinit.target")
    else:
        write(root, "/etc/audit/rules.d/audit.rules", "-D\n-b 320\n-w /etc/passwd -p wa\n", 0o640)
        write(root, "/etc/systemd/journald.conf",
              "[Journal]\nStorage=volatile\nCompress=no\nForwardToSyslog=yes\n")
    return ["logging.auditd-enabled", "logging.audit-identity-files", "logging.audit-sudoers",
            "logging.audit-time-change", "logging.audit-logins", "logging.audit-immutable",
            "logging.audit-log-retention", "logging.audit-disk-full", "logging.persistent-logs",
            "logging.logrotate", "logging.audit-disk-full-halts", "logging.audit-rules-user-emulation",
            "logging.audit-rules-network-environment", "logging.audit-rules-failed-access",
            "logging.audit-rules-permission-changes", "logging.audit-rules-mounts", "logging.audit-rules-session",
            "logging.audit-rules-file-deletion", "logging.audit-rules-mac-policy", "logging.audit-rules-chcon",
            "logging.audit-rules-setfacl", "logging.audit-rules-chacl", "logging.audit-rules-usermod",
            "logging.audit-rules-kernel-modules", "logging.journald-compress", "logging.journald-no-forward"]
