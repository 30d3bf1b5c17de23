"""Operating system release, cron, and files with risky permission bits.

Runs after `base_system` and `ssh` (areas run in name order): on the misconfigured tree it
replaces the OS release with Debian 11 (bullseye), whose Debian LTS support ended on
2026-08-31, and loosens the mode of the sshd_config the `ssh` area wrote.
"""

from __future__ import annotations

import os
from pathlib import Path

from smbaudit.demotree._util import write

CRONTAB = """# /etc/crontab: system-wide crontab
SHELL=/bin/sh
PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin
17 *\t* * *\troot\tcd / && run-parts --report /etc/cron.hourly
25 6\t* * *\troot\ttest -x /usr/sbin/anacron || run-parts --report /etc/cron.daily
"""
CRON_DIRS = ("cron.d", "cron.hourly", "cron.daily", "cron.weekly", "cron.monthly")


def _cron(root: Path, hardened: bool) -> None:
    write(root, "/etc/crontab", CRONTAB, 0o600 if hardened else 0o644)
    for name in CRON_DIRS:
        write(root, f"/etc/{name}/.placeholder", "# keeps the directory\n", 0o644)
        os.chmod(root / "etc" / name, 0o700 if hardened else 0o755)
    write(root, "/etc/cron.daily/logrotate", "#!/bin/sh\n/usr/sbin/logrotate /etc/logrotate.conf\n", 0o755)


def _special_bits(root: Path, hardened: bool) -> None:
    write(root, "/usr/bin/passwd", "#!/bin/sh\n# demo stand-in for a setuid program\n", 0o4755)
    write(root, "/usr/bin/crontab", "#!/bin/sh\n# demo stand-in for a setgid program\n", 0o2755)
    (root / "tmp").mkdir(exist_ok=True)
    os.chmod(root / "tmp", 0o1777)  # world-writable with sticky bit: normal
    if hardened:
        return
    write(root, "/usr/local/bin/backup-helper", "#!/bin/sh\ntar czf /var/backups/home.tgz /home\n", 0o4755)
    write(root, "/etc/shop/app.ini", "[db]\nhost=127.0.0.1\n", 0o666)
    write(root, "/usr/local/share/shop/run.sh", "#!/bin/sh\nexec /usr/bin/python3 app.py\n", 0o777)


FSTAB_PLAIN = """# /etc/fstab: static file system information.
UUID=6c3b1a2e-0d7f-4a51-9e0b-3f1c2a7d9e10 /     ext4 errors=remount-ro 0 1
UUID=0b9e8f21-5c44-4f0e-8a2d-7e6b1c9d2f33 /boot ext4 defaults 0 2
/dev/sda5 none swap sw 0 0
"""
FSTAB_ENCRYPTED = """# /etc/fstab: static file system information.
/dev/mapper/vg0-root /     ext4 errors=remount-ro 0 1
UUID=0b9e8f21-5c44-4f0e-8a2d-7e6b1c9d2f33 /boot ext4 defaults 0 2
/dev/mapper/vg0-home /home ext4 defaults,nodev,nosuid 0 2
/dev/mapper/cryptswap none swap sw 0 0
"""
CRYPTTAB = """# <target name> <source device> <key file> <options>
sda3_crypt UUID=5f0c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f none luks,discard
cryptswap /dev/disk/by-partuuid/1d2c3b4a-01 /dev/urandom swap,cipher=aes-xts-plain64,size=512
"""


def _kernel(root: Path, hardened: bool) -> None:
    release = "6.1.0-28-amd64" if hardened else "5.10.0-8-amd64"
    write(root, f"/boot/vmlinuz-{release}", "demo kernel image\n", 0o644)
    write(root, f"/boot/config-{release}", "CONFIG_SECURITY=y\n", 0o644)
    write(root, f"/lib/modules/{release}/modules.dep", "", 0o644)
    if not hardened:
        write(root, "/run/reboot-required", "*** System restart required ***\n", 0o644)
        write(root, "/run/reboot-required.pkgs", "linux-image-5.10.0-8-amd64\nlibc6\n", 0o644)


def _disks(root: Path, hardened: bool) -> None:
    write(root, "/etc/fstab", FSTAB_ENCRYPTED if hardened else FSTAB_PLAIN, 0o644)
    if hardened:
        write(root, "/etc/crypttab", CRYPTTAB, 0o600)


def build(root: Path, hardened: bool) -> list[str]:
    _cron(root, hardened)
    _special_bits(root, hardened)
    _kernel(root, hardened)
    _disks(root, hardened)
    if hardened:
        return []
    write(root, "/etc/os-release", (
        'PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\nNAME="Debian GNU/Linux"\n'
        'VERSION_ID="11"\nVERSION="11 (bullseye)"\nVERSION_CODENAME=bullseye\nID=debian\n'
        'HOME_URL="https://www.debian.org/"\n'))
    write(root, "/etc/debian_version", "11.3\n")
    sshd_config = root / "etc/ssh/sshd_config"
    if sshd_config.exists():
        os.chmod(sshd_config, 0o644)
    return ["system.os-supported", "system.os-eol-soon", "files.crontab-permissions",
            "files.cron-dirs-permissions", "files.no-world-writable", "files.setuid-known",
            "files.sshd-config-permissions", "patching.reboot-pending",
            "system.disk-encryption-root", "system.disk-encryption-swap"]
