"""kernel, sockets, disk_encryption and auto_updates probes on built trees and on this host."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from hostsys_util import collect
from smbaudit.errors import ProbeError
from smbaudit.probes.auto_updates import parse_apt_conf
from smbaudit.probes.sockets import decode_address, parse_table
from smbaudit.targets.posixfs import DirectoryTarget, LocalTarget


def tree(root: Path, files: dict[str, str]) -> DirectoryTarget:
    for path, text in files.items():
        dest = root / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text)
    return DirectoryTarget("dir:t", str(root))


def dpkg(*rows: tuple[str, str]) -> str:
    return "".join(f"Package: {n}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {v}\n\n"
                   for n, v in rows)


# ------------------------------------------------------------------ kernel

def test_offline_kernels_from_packages_boot_and_modules(tmp_path: Path) -> None:
    target = tree(tmp_path, {
        "/var/lib/dpkg/status": dpkg(("linux-image-6.1.0-9-amd64", "6.1.27-1"),
                                     ("linux-image-6.1.0-28-amd64", "6.1.119-1"),
                                     ("linux-image-amd64", "6.1.119-1")),
        "/boot/vmlinuz-6.1.0-28-amd64": "x", "/boot/vmlinuz-6.1.0-28-amd64.old": "x",
        "/lib/modules/6.1.0-5-amd64/modules.dep": "",
    })
    facts = collect("kernel", target)
    assert {k["release"] for k in facts["installed"]} == {"6.1.0-9-amd64", "6.1.0-28-amd64", "6.1.0-5-amd64"}
    assert facts["newest"] == "6.1.0-28-amd64" and facts["running"] is None
    assert facts["reboot_required"] is False  # Debian family without the marker


def test_reboot_marker_offline(tmp_path: Path) -> None:
    target = tree(tmp_path, {"/var/lib/dpkg/status": dpkg(("bash", "5.2-1")),
                             "/var/run/reboot-required": "*** System restart required ***\n",
                             "/var/run/reboot-required.pkgs": "libc6\nlinux-image-6.1.0-28-amd64\nlibc6\n"})
    facts = collect("kernel", target)
    assert facts["reboot_required"] is True
    assert facts["reboot_required_pkgs"] == ["libc6", "linux-image-6.1.0-28-amd64"]


def test_rpm_tree_without_marker_is_unknown(tmp_path: Path) -> None:
    target = tree(tmp_path, {"/boot/vmlinuz-5.14.0-362.8.1.el9_3.x86_64": "x"})
    facts = collect("kernel", target)
    assert facts["newest"] == "5.14.0-362.8.1.el9_3.x86_64" and facts["reboot_required"] is None


def test_live_kernel_release() -> None:
    facts = collect("kernel", LocalTarget())
    assert facts["live"] is True
    assert facts["running"] == os.uname().release
    assert facts["reboot_required"] in (True, False, None)


# ------------------------------------------------------------------ sockets

def test_decode_addresses() -> None:
    assert decode_address("0100007F:1F90", 4) == ("127.0.0.1", 8080)
    assert decode_address("00000000:0016", 4) == ("0.0.0.0", 22)
    assert decode_address("00000000000000000000000001000000:0050", 6) == ("::1", 80)
    assert decode_address("0000000000000000FFFF00000100007F:0035", 6) == ("127.0.0.1", 53)


def test_parse_table_keeps_listeners_only() -> None:
    text = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
            "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1\n"
            "   1: 0100007F:0CEA 0100007F:A1B2 01 00000000:00000000 00:00000000 00000000     0        0 2222 1\n")
    rows = parse_table(text, "tcp", 4)
    assert rows == [{"proto": "tcp", "address": "0.0.0.0", "port": 22, "scope": "all", "inode": 1111}]


def test_live_sockets_see_a_loopback_listener() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        facts = collect("sockets", LocalTarget(), {"allow_ports": [22]})
    mine = [s for s in facts["listening"] if s["port"] == port and s["proto"] == "tcp"]
    assert len(mine) == 1
    assert mine[0]["address"] == "127.0.0.1" and mine[0]["scope"] == "loopback"
    assert mine[0]["pid"] == os.getpid() and mine[0]["process"]
    assert all(s["port"] != port for s in facts["exposed"])


def test_sockets_refuse_offline_trees(tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match="live host"):
        collect("sockets", DirectoryTarget("dir:t", str(tmp_path)))


# ------------------------------------------------------------------ disk encryption

def test_plain_luks_root_and_random_key_swap(tmp_path: Path) -> None:
    target = tree(tmp_path, {
        "/etc/crypttab": "root_crypt UUID=abc none luks\nswap_crypt /dev/sda2 /dev/urandom swap,cipher=aes-xts-plain64\n",
        "/etc/fstab": "/dev/mapper/root_crypt / ext4 defaults 0 1\n/dev/mapper/swap_crypt none swap sw 0 0\n",
    })
    facts = collect("disk_encryption", target)
    assert facts["root_encrypted"] is True and facts["evidence"] == "crypttab"
    assert facts["swap_encrypted"] is True and facts["encrypted_volumes"] == ["root_crypt", "swap_crypt"]
    assert facts["crypttab"][1]["random_key"] is True and facts["crypttab"][0]["type"] == "luks"


def test_unencrypted_root_and_swap_file(tmp_path: Path) -> None:
    target = tree(tmp_path, {"/etc/fstab": "UUID=1 / ext4 defaults 0 1\n/swapfile none swap sw 0 0\n"})
    facts = collect("disk_encryption", target)
    assert facts["root_encrypted"] is False and facts["swap_encrypted"] is False


def test_no_fstab_offline_is_unknown(tmp_path: Path) -> None:
    facts = collect("disk_encryption", tree(tmp_path, {"/etc/hostname": "x\n"}))
    assert facts["root_encrypted"] is None and facts["swap_present"] is False


# ------------------------------------------------------------------ auto updates

def test_apt_conf_syntax() -> None:
    settings: dict = {}
    parse_apt_conf('APT { Periodic { Update-Package-Lists "1"; Unattended-Upgrade "always"; }; };\n'
                   '// APT::Periodic::Unattended-Upgrade "0";\n'
                   'Unattended-Upgrade::Allowed-Origins {\n  "${distro_id}:${distro_codename}-security";\n'
                   '//  "${distro_id}:${distro_codename}-updates";\n};\n/* block\n comment */', settings)
    assert settings["APT::Periodic::Update-Package-Lists"] == "1"
    assert settings["APT::Periodic::Unattended-Upgrade"] == "always"
    assert settings["Unattended-Upgrade::Allowed-Origins"] == ["${distro_id}:${distro_codename}-security"]


def test_later_apt_file_overrides(tmp_path: Path) -> None:
    target = tree(tmp_path, {
        "/var/lib/dpkg/status": dpkg(("unattended-upgrades", "2.9.1+nmu3")),
        "/etc/apt/apt.conf.d/20auto-upgrades": 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n',
        "/etc/apt/apt.conf.d/50unattended-upgrades": 'Unattended-Upgrade::Origins-Pattern { "origin=Debian,label=Debian-Security"; };\n',
        "/etc/apt/apt.conf.d/99local": 'APT::Periodic::Unattended-Upgrade "0";\n',
    })
    facts = collect("auto_updates", target)
    assert facts["installed"] is True and facts["security_origin"] is True
    assert facts["unattended_upgrade"] is False and facts["enabled"] is False


def test_dnf_automatic(tmp_path: Path) -> None:
    files = {"/etc/dnf/automatic.conf": "[commands]\nupgrade_type = security\napply_updates = yes\n",
             "/usr/lib/systemd/system/dnf-automatic.timer": "[Timer]\nOnCalendar=daily\n"}
    root = tmp_path
    tree(root, files)
    (root / "var/lib/rpm").mkdir(parents=True)
    (root / "etc/systemd/system/timers.target.wants").mkdir(parents=True)
    os.symlink("/usr/lib/systemd/system/dnf-automatic.timer",
               root / "etc/systemd/system/timers.target.wants/dnf-automatic.timer")
    from smbaudit.probes.auto_updates import rhel_facts

    facts = rhel_facts(DirectoryTarget("dir:t", str(root)), {"dnf-automatic"})
    assert facts["enabled"] is True and facts["security_updates"] is True
    assert facts["timers"] == {"dnf-automatic.timer": True, "dnf-automatic-install.timer": False}
    facts = rhel_facts(DirectoryTarget("dir:t", str(root)), set())
    assert facts["enabled"] is False
