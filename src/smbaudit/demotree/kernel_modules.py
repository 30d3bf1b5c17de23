"""Kernel modules: the installed kernel's module list, and modprobe.d lines that disable the
modules a server does not need.

The misconfigured tree ships the modules and a vendor blacklist that an admin file of the same
name hides; the hardened tree disables every module the kernel-modules pack names (with one
`install` line hidden behind an earlier, refusing one, as kmod reads them).
"""

from __future__ import annotations

from pathlib import Path

from smbaudit.demotree._util import write

RELEASE = {False: "5.10.0-8-amd64", True: "6.1.0-28-amd64"}
MODULES = {  # name -> path under kernel/
    "cramfs": "fs/cramfs/cramfs.ko", "freevxfs": "fs/freevxfs/freevxfs.ko", "hfs": "fs/hfs/hfs.ko",
    "hfsplus": "fs/hfsplus/hfsplus.ko", "jffs2": "fs/jffs2/jffs2.ko", "overlay": "fs/overlayfs/overlay.ko",
    "squashfs": "fs/squashfs/squashfs.ko", "udf": "fs/udf/udf.ko",
    "usb_storage": "drivers/usb/storage/usb-storage.ko", "dccp": "net/dccp/dccp.ko",
    "tipc": "net/tipc/tipc.ko", "rds": "net/rds/rds.ko", "sctp": "net/sctp/sctp.ko",
    "firewire_core": "drivers/firewire/firewire-core.ko",
}
COMMON = ("fs/ext4/ext4.ko", "drivers/net/virtio_net.ko", "net/ipv6/ipv6.ko")


def build(root: Path, hardened: bool) -> list[str]:
    release = RELEASE[hardened]
    base = f"/usr/lib/modules/{release}"
    dep = "".join(f"kernel/{p}.xz:\n" for p in (*MODULES.values(), *COMMON))
    write(root, f"{base}/modules.dep", dep)
    write(root, f"{base}/modules.builtin", "kernel/fs/fat/fat.ko\nkernel/fs/nls/nls_cp437.ko\n")
    # The distribution's blacklist (as on a vendor image) ...
    write(root, "/usr/lib/modprobe.d/cis.conf",
          "".join(f"install {m} /bin/false\nblacklist {m}\n" for m in MODULES))
    if not hardened:
        # ... hidden by an admin file of the same name that keeps only a comment.
        write(root, "/etc/modprobe.d/cis.conf", "# cleared while debugging a USB disk\n")
        return [f"kmod.{m.replace('_', '-')}" for m in MODULES]
    lines = "".join(f"install {m.replace('_', '-')} /bin/false\nblacklist {m}\n" for m in MODULES)
    write(root, "/etc/modprobe.d/00-disable.conf", lines)
    # A later file cannot undo the first `install` line: kmod uses the first match.
    write(root, "/etc/modprobe.d/zz-local.conf", "install sctp /sbin/modprobe --ignore-install sctp\n")
    return []
