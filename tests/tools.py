"""What the tests need from the machine, and what happens when it is missing.

On a developer's machine a missing system tool skips the tests that need it, with the reason.
Under CI=true the test command has installed every tool (scripts/apt-packages.txt), so a missing
one is a failure, never a skip: CI cannot pass without running these tests.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

IN_CI = os.environ.get("CI") == "true"

# marker -> the tool it needs (found on PATH or under /usr/sbin, where Debian puts daemons)
TOOLS = {
    "needs_sshd": "sshd",
    "needs_nginx": "nginx",
    "needs_nmap": "nmap",
    "needs_chromium": "chromium",
}


def have(tool: str) -> bool:
    return shutil.which(tool) is not None or Path("/usr/sbin", tool).exists()


def unavailable(reason: str) -> NoReturn:
    """Skip the running test, or fail it under CI=true where everything must be there."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the test command installs every tool this suite needs)")
    pytest.skip(reason)


def missing_requirement(item: pytest.Item) -> str | None:
    """Why `item` cannot run on this machine (None when it can)."""
    for marker, tool in TOOLS.items():
        if item.get_closest_marker(marker) and not have(tool):
            return f"{tool} is not installed (scripts/apt-packages.txt)"
    if item.get_closest_marker("needs_root") and os.geteuid() != 0:
        return "needs root (a daemon's privilege separation)"
    return None
