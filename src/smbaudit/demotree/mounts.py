"""Mount points: systemd mount units next to /etc/fstab (which the `system` area writes).

The hardened tree mounts /tmp, /dev/shm, /var, /var/tmp, /var/log and /var/log/audit through
admin mount units with nodev, nosuid and noexec (/home comes from fstab). The misconfigured tree
keeps Debian's stock tmp.mount (no noexec), relies on systemd's own /dev/shm, and mounts /home
with `defaults` only.
"""

from __future__ import annotations

import os
from pathlib import Path

from smbaudit.demotree._util import write

STRICT = "defaults,rw,nosuid,nodev,noexec,relatime"
HARDENED_UNITS = {
    "tmp.mount": ("tmpfs", "tmpfs", f"{STRICT},size=2G"),
    "dev-shm.mount": ("tmpfs", "tmpfs", f"{STRICT},size=1G"),
    "var.mount": ("/dev/mapper/vg0-var", "ext4", "defaults,nodev,nosuid"),
    "var-tmp.mount": ("/dev/mapper/vg0-vartmp", "ext4", STRICT),
    "var-log.mount": ("/dev/mapper/vg0-log", "ext4", STRICT),
    "var-log-audit.mount": ("/dev/mapper/vg0-audit", "ext4", STRICT),
}
DEBIAN_TMP_MOUNT = ("tmpfs", "tmpfs", "mode=1777,strictatime,nosuid,nodev,size=50%%,nr_inodes=1m")


def mount_unit(root: Path, unit: str, what: str, fstype: str, options: str, where: str = "") -> None:
    """An admin mount unit and the local-fs.target.wants link `systemctl enable` makes."""
    where_line = f"Where={where}\n" if where else ""
    write(root, f"/etc/systemd/system/{unit}",
          f"[Unit]\nDescription=demo {unit}\n\n[Mount]\nWhat={what}\n{where_line}Type={fstype}\n"
          f"Options={options}\n\n[Install]\nWantedBy=local-fs.target\n")
    link = root / f"etc/systemd/system/local-fs.target.wants/{unit}"
    if not link.is_symlink():
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(f"/etc/systemd/system/{unit}", link)


def build(root: Path, hardened: bool) -> list[str]:
    if hardened:
        for unit, (what, fstype, options) in HARDENED_UNITS.items():
            mount_unit(root, unit, what, fstype, options)
        return []
    mount_unit(root, "tmp.mount", *DEBIAN_TMP_MOUNT)
    return ["mounts.tmp-noexec", "mounts.dev-shm-noexec", "mounts.home-separate",
            "mounts.var-separate", "mounts.var-tmp-separate", "mounts.var-log-separate",
            "mounts.var-log-audit-separate"]
