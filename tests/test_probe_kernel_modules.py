"""kernel_modules: modprobe.d as kmod reads it, module files per installed kernel, loaded modules."""

from __future__ import annotations

import time
from pathlib import Path

from smbaudit.probes.base import ProbeContext
from smbaudit.probes.kernel_modules import KernelModulesProbe
from smbaudit.targets.posixfs import DirectoryTarget


class LiveTree(DirectoryTarget):
    """A tree standing in for a live host's /proc (which cannot be faked on this machine)."""

    live = True


def put(root: Path, path: str, text: str) -> None:
    dest = root / path.lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text)


def collect(root: Path, *modules: str, live: bool = False) -> dict:
    target = (LiveTree if live else DirectoryTarget)("dir:t", str(root))
    ctx = ProbeContext(deadline=time.monotonic() + 30, timeout=5)
    return KernelModulesProbe().collect(target, {"modules": list(modules)}, ctx)


def kernel(root: Path, release: str, *paths: str, builtin: str = "") -> None:
    put(root, f"/usr/lib/modules/{release}/modules.dep", "".join(f"kernel/{p}:\n" for p in paths))
    put(root, f"/usr/lib/modules/{release}/modules.builtin", builtin)


def test_first_install_line_wins_and_admin_file_hides_vendor_file(tmp_path: Path) -> None:
    kernel(tmp_path, "6.1.0-1-amd64", "fs/cramfs/cramfs.ko.xz", "drivers/usb/storage/usb-storage.ko.xz")
    put(tmp_path, "/usr/lib/modprobe.d/block.conf", "install cramfs /bin/false\nblacklist cramfs\n")
    put(tmp_path, "/etc/modprobe.d/block.conf", "blacklist cramfs\n")  # hides the vendor file
    put(tmp_path, "/etc/modprobe.d/10-usb.conf", "install usb-storage /bin/true\nblacklist usb_storage\n")
    put(tmp_path, "/etc/modprobe.d/20-usb.conf", "install usb_storage /sbin/modprobe --ignore-install usb_storage\n")
    facts = collect(tmp_path, "cramfs", "usb-storage")
    cramfs, usb = facts["modules"]["cramfs"], facts["modules"]["usb_storage"]
    assert cramfs["install_command"] is None and cramfs["blacklisted"] and cramfs["loadable"]
    assert cramfs["loadable_in"] == ["6.1.0-1-amd64"]
    assert usb["install_disabled"] and usb["install_where"] == "/etc/modprobe.d/10-usb.conf:1"
    assert usb["blacklisted"] and not usb["loadable"]
    assert facts["files"] == ["/etc/modprobe.d/10-usb.conf", "/etc/modprobe.d/20-usb.conf",
                              "/etc/modprobe.d/block.conf"]


def test_glob_install_and_commands_that_still_load(tmp_path: Path) -> None:
    kernel(tmp_path, "6.1.0-1-amd64", "net/sctp/sctp.ko", "net/dccp/dccp.ko")
    put(tmp_path, "/etc/modprobe.d/net.conf",
        "install dc* /bin/false\ninstall sctp /bin/false; /sbin/modprobe sctp\n")
    facts = collect(tmp_path, "dccp", "sctp")
    assert facts["modules"]["dccp"]["install_disabled"]
    assert not facts["modules"]["sctp"]["install_disabled"]


def test_builtin_and_per_kernel_presence(tmp_path: Path) -> None:
    kernel(tmp_path, "6.1.0-1-amd64", "fs/udf/udf.ko")
    kernel(tmp_path, "6.1.0-2-amd64", "fs/ext4/ext4.ko", builtin="kernel/fs/udf/udf.ko\n")
    udf = collect(tmp_path, "udf")["modules"]["udf"]
    assert udf["loadable_in"] == ["6.1.0-1-amd64"] and udf["builtin_in"] == ["6.1.0-2-amd64"]


def test_module_tree_without_modules_dep_is_walked(tmp_path: Path) -> None:
    put(tmp_path, "/lib/modules/5.10.0-8-amd64/kernel/fs/hfs/hfs.ko", "")
    facts = collect(tmp_path, "hfs", "jffs2")
    assert facts["kernels"] == ["5.10.0-8-amd64"]
    assert facts["modules"]["hfs"]["loadable_in"] == ["5.10.0-8-amd64"]
    assert facts["modules"]["jffs2"]["loadable_in"] == []


def test_loaded_only_known_live(tmp_path: Path) -> None:
    put(tmp_path, "/proc/modules", "usb_storage 81920 0 - Live 0x0\nsctp 1 0 - Live 0x0\n")
    offline = collect(tmp_path, "usb-storage")
    assert offline["modules"]["usb_storage"]["loaded"] is None and not offline["loaded_known"]
    live = collect(tmp_path, "usb-storage", "cramfs", live=True)
    assert live["modules"]["usb_storage"]["loaded"] is True and live["modules"]["usb_storage"]["loadable"]
    assert live["modules"]["cramfs"]["loaded"] is False
