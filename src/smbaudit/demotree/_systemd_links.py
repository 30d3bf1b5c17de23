"""Unit files and `systemctl enable` links for demo trees (written as files and symlinks)."""

from __future__ import annotations

import os
from pathlib import Path

from smbaudit.demotree._util import write


def install_unit(root: Path, unit: str, enabled: bool, target: str = "multi-user.target") -> None:
    """Write a vendor unit file and, when `enabled`, the wants/ link systemctl enable makes."""
    write(root, f"/lib/systemd/system/{unit}",
          f"[Unit]\nDescription=demo {unit}\n\n[Service]\nExecStart=/bin/true\n\n"
          f"[Install]\nWantedBy={target}\n")
    link = root / f"etc/systemd/system/{target}.wants/{unit}"
    if enabled and not link.is_symlink():
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(f"/lib/systemd/system/{unit}", link)
