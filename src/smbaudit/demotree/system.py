"""Operating system release. Runs after `base_system` (areas run in name order).

The misconfigured tree is Debian 11 (bullseye), whose Debian LTS support ended on
2026-08-31; the hardened tree keeps base_system's Debian 12.
"""

from __future__ import annotations

from pathlib import Path

from smbaudit.demotree._util import write


def build(root: Path, hardened: bool) -> list[str]:
    if hardened:
        return []
    write(root, "/etc/os-release", (
        'PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\nNAME="Debian GNU/Linux"\n'
        'VERSION_ID="11"\nVERSION="11 (bullseye)"\nVERSION_CODENAME=bullseye\nID=debian\n'
        'HOME_URL="https://www.debian.org/"\n'))
    write(root, "/etc/debian_version", "11.3\n")
    return ["system.os-supported", "system.os-eol-soon"]
