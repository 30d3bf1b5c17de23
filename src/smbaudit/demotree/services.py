"""Services and clients: what a server runs and carries that it should not.

Runs after `packages` (areas run in name order) and adds to its dpkg status file. The
misconfigured tree runs Avahi, CUPS through socket activation only, rpcbind under SysV init and
xinetd, and carries the telnet, NIS and FTP clients and an X server; the hardened tree has CUPS
installed as a dependency with its units masked, and an Avahi unit left disabled.
"""

from __future__ import annotations

import os
from pathlib import Path

from smbaudit.demotree._systemd_links import install_unit
from smbaudit.demotree._util import append, write
from smbaudit.demotree.packages import status_paragraph

BAD_PACKAGES = [("avahi-daemon", "avahi", "0.8-5+deb11u2", "amd64"),
                ("cups-daemon", "cups", "2.3.3op2-3+deb11u2", "amd64"),
                ("cups", "", "2.3.3op2-3+deb11u2", "amd64"),
                ("rpcbind", "", "1.2.5-9", "amd64"),
                ("xinetd", "", "1:2.3.15.3-1", "amd64"),
                ("telnet", "netkit-telnet", "0.17-42", "amd64"),
                ("nis", "", "4.3", "amd64"),
                ("ftp", "netkit-ftp", "0.17-34.1.1", "amd64"),
                ("xserver-common", "xorg-server", "2:1.20.11-1+deb11u6", "all")]
GOOD_PACKAGES = [("cups-daemon", "cups", "2.4.2-3+deb12u5", "amd64"),
                 ("avahi-daemon", "avahi", "0.8-10", "amd64")]


def _mask(root: Path, unit: str) -> None:
    link = root / f"etc/systemd/system/{unit}"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        os.symlink("/dev/null", link)


def build(root: Path, hardened: bool) -> list[str]:
    rows = GOOD_PACKAGES if hardened else BAD_PACKAGES
    append(root, "/var/lib/dpkg/status", "".join(status_paragraph(*row) for row in rows))
    if hardened:
        install_unit(root, "avahi-daemon.service", enabled=False)
        for unit in ("cups.service", "cups.socket"):
            install_unit(root, unit, enabled=True, target="sockets.target" if unit.endswith("socket")
                         else "multi-user.target")
            _mask(root, unit)
        return []
    install_unit(root, "avahi-daemon.service", enabled=True)
    install_unit(root, "cups.socket", enabled=True, target="sockets.target")
    write(root, "/lib/systemd/system/cups.service", "[Unit]\nDescription=CUPS\n\n[Service]\n"
          "ExecStart=/usr/sbin/cupsd -l\n")  # static: started by the socket
    write(root, "/etc/init.d/rpcbind", "#!/bin/sh\n", 0o755)
    (root / "etc/rc2.d").mkdir(parents=True, exist_ok=True)
    os.symlink("../init.d/rpcbind", root / "etc/rc2.d/S01rpcbind")
    install_unit(root, "xinetd.service", enabled=True)
    return ["services.avahi-not-in-use", "services.print-server-not-in-use",
            "services.rpcbind-not-in-use", "services.xinetd-not-in-use",
            "packages.telnet-client-not-installed", "packages.nis-client-not-installed",
            "packages.ftp-client-not-installed", "packages.x-server-not-installed"]
