"""sudo and su, time synchronisation, cron/at access, AIDE and journal upload.

Runs after `packages` and `accounts` (areas run in name order) and adds to their dpkg status
and group files. The misconfigured tree turns use_pty and the sudo log off for everyone, never
expires sudo timestamps, leaves su open, runs two time daemons without configured servers,
lets every user schedule jobs, has no AIDE, and accepts journals from the network without
sending its own anywhere. Home directories are handed to their users only when the tree is
built as root (as the tests do).
"""

from __future__ import annotations

import os
from pathlib import Path

from smbaudit.demotree._systemd_links import install_unit
from smbaudit.demotree._util import append, write
from smbaudit.demotree.packages import status_paragraph

AIDE_CONF = "database_in=file:/var/lib/aide/aide.db\n/etc p+i+n+u+g+s+sha512\n" + "".join(
    f"/usr/sbin/{t} p+i+n+u+g+s+b+acl+xattrs+sha512\n"
    for t in ("auditctl", "auditd", "ausearch", "aureport", "autrace", "augenrules"))


def build(root: Path, hardened: bool) -> list[str]:
    packages = [("cron", "", "3.0pl1-162", "amd64"), ("at", "", "3.2.5-1", "amd64"),
                ("systemd-journal-remote", "systemd", "252.30-1~deb12u2", "amd64")]
    write(root, "/usr/sbin/cron", "")
    write(root, "/usr/bin/at", "")
    install_unit(root, "cron.service", enabled=hardened)
    install_unit(root, "systemd-timesyncd.service", enabled=True, target="sysinit.target")
    install_unit(root, "systemd-journal-upload.service", enabled=hardened)
    install_unit(root, "systemd-journal-remote.socket", enabled=not hardened, target="sockets.target")
    write(root, "/lib/systemd/system/systemd-journal-remote.service", "[Service]\nExecStart=/bin/true\n")
    if hardened:
        packages += [("aide", "", "0.18.3-1+deb12u3", "amd64"),
                     ("libpam-modules", "pam", "1.5.2-6+deb12u1", "amd64"),
                     ("libpam-pwquality", "libpwquality", "1.4.5-1+b1", "amd64"),
                     ("acct", "", "6.6.4-5+b1", "amd64")]
        install_unit(root, "acct.service", enabled=True)
        write(root, "/etc/default/useradd", "SHELL=/bin/bash\nINACTIVE=30\n")
        append(root, "/var/lib/dpkg/status", "".join(status_paragraph(*p) for p in packages))
        append(root, "/etc/group", "sugroup:x:1100:\n")
        write(root, "/etc/pam.d/su", "auth       sufficient pam_rootok.so\n"
              "auth       required   pam_wheel.so use_uid group=sugroup\n@include common-auth\n")
        write(root, "/etc/sudoers.d/50-hardening", "Defaults timestamp_timeout=15\n", 0o440)
        write(root, "/etc/systemd/timesyncd.conf.d/60-servers.conf", "[Time]\nNTP=ntp1.example.org ntp2.example.org\n")
        write(root, "/etc/cron.allow", "root\n", 0o640)
        write(root, "/etc/at.allow", "root\n", 0o640)
        write(root, "/usr/bin/aide", "")
        write(root, "/etc/aide/aide.conf", AIDE_CONF)
        write(root, "/var/lib/aide/aide.db", "")
        install_unit(root, "dailyaidecheck.timer", enabled=True, target="timers.target")
        write(root, "/etc/security/limits.d/60-coredump.conf", "* hard core 0\n")
        write(root, "/root/.bashrc", "umask 027\n", 0o600)
        (root / "root").chmod(0o700)
        if os.geteuid() == 0:  # homes belong to their users (only root can hand them over)
            for user, uid in (("alice", 1000), ("bob", 1001)):
                for path in (root / "home" / user, root / "home" / user / ".profile"):
                    os.chown(path, uid, uid)
        return []
    packages.append(("gcc", "gcc-defaults", "4:10.2.1-1", "amd64"))
    append(root, "/var/lib/dpkg/status", "".join(status_paragraph(*p) for p in packages))
    group = (root / "etc/group").read_text().replace("shadow:x:42:", "shadow:x:42:bob")
    mode = (root / "etc/group").stat().st_mode & 0o7777
    write(root, "/etc/group", group + "wheel0:x:0:\n", mode)
    write(root, "/etc/pam.d/su", "auth       sufficient pam_rootok.so\n"
          "# auth       required   pam_wheel.so\n@include common-auth\n")
    write(root, "/etc/sudoers.d/relaxed", "Defaults !use_pty, !logfile\nDefaults timestamp_timeout=-1\n", 0o440)
    install_unit(root, "ntp.service", enabled=True)
    write(root, "/etc/cron.deny", "", 0o644)
    write(root, "/home/alice/.netrc", "machine backup.example.org login alice password s3cret\n", 0o600)
    write(root, "/home/alice/.bashrc", "export PATH=$PATH:.\n", 0o666)
    return ["accounts.sudo-use-pty", "accounts.sudo-logfile", "accounts.sudo-timestamp-timeout", "accounts.su-restricted",
            "time.single-daemon", "time.timesyncd-servers", "cron.restricted", "at.restricted",
            "aide.installed", "services.cron-enabled", "services.journal-upload-enabled",
            "services.journal-remote-not-in-use", "packages.libpam-modules-installed",
            "packages.libpam-pwquality-installed", "accounts.shadow-group-empty",
            "accounts.gid0-group-only-root", "accounts.inactive-lock", "packages.compilers-not-installed",
            "services.process-accounting", "coredump.hard-limit", "homes.exist-owned-private",
            "homes.no-access-dotfiles", "homes.dotfiles-private"]
