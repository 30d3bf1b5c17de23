"""Automatic updates: unattended-upgrades configuration (its package is in `packages`)."""

from __future__ import annotations

from pathlib import Path

from smbaudit.demotree._systemd_links import install_unit
from smbaudit.demotree._util import write

AUTO_UPGRADES = 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n'
UNATTENDED = """// Automatically upgrade packages from these origins (demo, trimmed)
Unattended-Upgrade::Origins-Pattern {
        // "origin=Debian,codename=${distro_codename}-updates";
        "origin=Debian,codename=${distro_codename},label=Debian";
        "origin=Debian,codename=${distro_codename},label=Debian-Security";
        "origin=Debian,codename=${distro_codename}-security,label=Debian-Security";
};
Unattended-Upgrade::Automatic-Reboot "false";
"""
# What a hand-edited system often looks like: the lists are refreshed but nothing is installed.
PERIODIC_OFF = 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "0";\n'


def build(root: Path, hardened: bool) -> list[str]:
    write(root, "/etc/apt/apt.conf.d/70debconf", 'DPkg::Pre-Install-Pkgs {"/usr/sbin/dpkg-preconfigure --apt || true";};\n')
    install_unit(root, "apt-daily-upgrade.timer", enabled=True, target="timers.target")
    if hardened:
        write(root, "/etc/apt/apt.conf.d/20auto-upgrades", AUTO_UPGRADES)
        write(root, "/etc/apt/apt.conf.d/50unattended-upgrades", UNATTENDED)
        return []
    write(root, "/etc/apt/apt.conf.d/10periodic", PERIODIC_OFF)
    return ["patching.automatic-security-updates"]
