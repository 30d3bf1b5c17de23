"""Installed packages: a dpkg status file.

The misconfigured tree is a Debian 11 (bullseye) server left at old package versions with
known, published flaws in every high-risk package family (found when a vulnerability store is
installed); the hardened tree is Debian 12 (bookworm) at fixed versions. A few entries exercise dpkg's states: removed packages whose
configuration files remain, and a half-installed one, must not count as installed.
"""

from __future__ import annotations

import gzip
from pathlib import Path

from smbaudit.demotree._util import write

# (package, source or "", version, architecture)
BULLSEYE_OLD = [
    ("apache2", "", "2.4.54-1~deb11u1", "amd64"),
    ("apache2-bin", "apache2", "2.4.54-1~deb11u1", "amd64"),
    ("bash", "", "5.1-2+b3", "amd64"),
    ("curl", "", "7.74.0-1.3+deb11u3", "amd64"),
    ("exim4-base", "exim4", "4.94.2-7", "amd64"),
    ("exim4-daemon-light", "exim4", "4.94.2-7", "amd64"),
    ("libc6", "glibc", "2.31-13+deb11u5", "amd64"),
    ("libc-bin", "glibc", "2.31-13+deb11u5", "amd64"),
    ("libcurl4", "curl", "7.74.0-1.3+deb11u3", "amd64"),
    ("liblzma5", "xz-utils", "5.2.5-2", "amd64"),
    ("libssl1.1", "openssl", "1.1.1n-0+deb11u3", "amd64"),
    ("libsystemd0", "systemd", "247.3-7+deb11u1", "amd64"),
    ("linux-image-5.10.0-8-amd64", "linux-signed-amd64", "5.10.46-4", "amd64"),
    ("linux-image-amd64", "linux-signed-amd64", "5.10.46-4", "amd64"),
    ("nginx", "", "1.18.0-6.1+deb11u2", "all"),
    ("nginx-core", "nginx", "1.18.0-6.1+deb11u2", "amd64"),
    ("openssh-client", "openssh", "1:8.4p1-5", "amd64"),
    ("openssh-server", "openssh", "1:8.4p1-5", "amd64"),
    ("openssl", "", "1.1.1n-0+deb11u3", "amd64"),
    ("policykit-1", "", "0.105-31", "amd64"),
    ("samba", "", "2:4.13.13+dfsg-1~deb11u2", "amd64"),
    ("sudo", "", "1.9.5p2-3", "amd64"),
    ("systemd", "", "247.3-7+deb11u1", "amd64"),
    ("xz-utils", "", "5.2.5-2", "amd64"),
]
BOOKWORM_CURRENT = [
    ("apache2", "", "2.4.62-1~deb12u2", "amd64"),
    ("apache2-bin", "apache2", "2.4.62-1~deb12u2", "amd64"),
    ("bash", "", "5.2.15-2+b7", "amd64"),
    ("curl", "", "7.88.1-10+deb12u8", "amd64"),
    ("exim4-base", "exim4", "4.96-15+deb12u6", "amd64"),
    ("exim4-daemon-light", "exim4", "4.96-15+deb12u6", "amd64"),
    ("libc6", "glibc", "2.36-9+deb12u9", "amd64"),
    ("libc-bin", "glibc", "2.36-9+deb12u9", "amd64"),
    ("libcurl4", "curl", "7.88.1-10+deb12u8", "amd64"),
    ("liblzma5", "xz-utils", "5.4.1-1", "amd64"),
    ("libssl3", "openssl", "3.0.15-1~deb12u1", "amd64"),
    ("libsystemd0", "systemd", "252.33-1~deb12u1", "amd64"),
    ("linux-image-6.1.0-28-amd64", "linux-signed-amd64", "6.1.119-1", "amd64"),
    ("linux-image-amd64", "linux-signed-amd64", "6.1.119-1", "amd64"),
    ("nginx", "", "1.22.1-9+deb12u1", "amd64"),
    ("openssh-client", "openssh", "1:9.2p1-2+deb12u5", "amd64"),
    ("openssh-server", "openssh", "1:9.2p1-2+deb12u5", "amd64"),
    ("openssl", "", "3.0.15-1~deb12u1", "amd64"),
    ("pkexec", "policykit-1", "122-3", "amd64"),
    ("samba", "", "2:4.17.12+dfsg-0+deb12u1", "amd64"),
    ("sudo", "", "1.9.13p3-1+deb12u1", "amd64"),
    ("systemd", "", "252.33-1~deb12u1", "amd64"),
    ("unattended-upgrades", "", "2.9.1+nmu3", "all"),
    ("xz-utils", "", "5.4.1-1", "amd64"),
]
# Entries that must be ignored: removed with config files left, and a failed install.
NOT_INSTALLED = """Package: linux-image-4.19.0-6-amd64
Status: deinstall ok config-files
Priority: optional
Section: kernel
Architecture: amd64
Source: linux-signed-amd64
Version: 4.19.67-2+deb10u2
Description: Linux 4.19 for 64-bit PCs (signed)

Package: xz-utils-experimental
Status: install reinstreq half-installed
Architecture: amd64
Version: 5.6.1-1
Description: removed demo entry that never finished installing
"""


def status_paragraph(name: str, source: str, version: str, arch: str) -> str:
    lines = [f"Package: {name}", "Status: install ok installed", "Priority: optional",
             "Section: misc", "Installed-Size: 1024", "Maintainer: Debian <debian@lists.debian.org>",
             f"Architecture: {arch}"]
    if source:
        lines.append(f"Source: {source}")
    lines += [f"Version: {version}", f"Description: {name} (demo entry)",
              " Long description line of the demo package.", ""]
    return "\n".join(lines) + "\n"


def build(root: Path, hardened: bool) -> list[str]:
    rows = BOOKWORM_CURRENT if hardened else BULLSEYE_OLD
    text = "".join(status_paragraph(*row) for row in rows) + NOT_INSTALLED
    write(root, "/var/lib/dpkg/status", text, 0o644)
    _apt_lists(root, rows, hardened)
    # Vulnerable versions are judged against the local vulnerability store, which a demo
    # machine may not have; the apt lists (below) say which updates wait to be installed.
    return [] if hardened else ["patching.security-updates-pending", "patching.updates-pending"]


def _index(rows: list[tuple[str, str, str, str]]) -> str:
    return "".join(f"Package: {name}\nVersion: {version}\nArchitecture: {arch}\n"
                   f"{f'Source: {source}' + chr(10) if source else ''}Description: demo\n\n"
                   for name, source, version, arch in rows)


def _apt_lists(root: Path, rows: list[tuple[str, str, str, str]], hardened: bool) -> None:
    """The indexes apt-get update left: the main suite at the installed versions; on the
    old server, newer openssl and sudo in the -security suite and a newer tzdata-like bump
    in -updates (gzip-compressed, as apt may keep them)."""
    suite = "bookworm" if hardened else "bullseye"
    base = "/var/lib/apt/lists/deb.debian.org_debian"
    write(root, f"{base}_dists_{suite}_main_binary-amd64_Packages", _index(rows))
    if hardened:
        return
    security = [(n, s, v.replace("deb11u3", "deb11u8"), a) for n, s, v, a in rows
                if n in ("openssl", "libssl1.1")] + [("sudo", "", "1.9.5p2-3+deb11u1", "amd64")]
    updates = [("libsystemd0", "systemd", "247.3-7+deb11u6", "amd64")]
    write(root, f"{base}-security_dists_{suite}-security_main_binary-amd64_Packages", _index(security))
    dest = root / f"{base}_dists_{suite}-updates_main_binary-amd64_Packages.gz".lstrip("/")
    dest.write_bytes(gzip.compress(_index(updates).encode()))
