"""The skeleton every demo tree has: the OS release files."""

from __future__ import annotations

from pathlib import Path

from smbaudit.demotree._util import write


def build(root: Path, hardened: bool) -> list[str]:
    write(root, "/etc/os-release", (
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
        'VERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n'))
    write(root, "/etc/debian_version", "12.8\n")
    return []
