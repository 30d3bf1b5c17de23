"""Shared fixtures and markers.

Markers needs_sshd / needs_nginx / needs_nmap / needs_chromium skip a test with a reason when
the tool is missing on a developer's machine, but fail it under CI=true, where the test
command installs every tool.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from smbaudit.probes.base import ProbeContext

_TOOLS = {
    "needs_sshd": ("sshd", "/usr/sbin/sshd"),
    "needs_nginx": ("nginx", "/usr/sbin/nginx"),
    "needs_nmap": ("nmap", "/usr/bin/nmap"),
    "needs_chromium": ("chromium", "/usr/bin/chromium"),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    in_ci = os.environ.get("CI") == "true"
    for item in items:
        for marker, (name, path) in _TOOLS.items():
            if item.get_closest_marker(marker) and not (shutil.which(name) or os.path.exists(path)):
                if not in_ci:  # in CI the test runs, and fails loudly if the tool is missing
                    item.add_marker(pytest.mark.skip(reason=f"{name} is not installed"))


@pytest.fixture
def ctx() -> ProbeContext:
    return ProbeContext(deadline=time.monotonic() + 30, timeout=5)


def tree_snapshot(root: Path) -> dict[str, tuple[int, bytes | str]]:
    """Every path under root with its mode and content (or link target): to prove a scan
    changed nothing."""
    snap: dict[str, tuple[int, bytes | str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            if p.is_symlink():
                snap[str(p)] = (st.st_mode, os.readlink(p))
            elif p.is_file():
                snap[str(p)] = (st.st_mode, p.read_bytes())
            else:
                snap[str(p)] = (st.st_mode, b"")
    return snap


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path_factory: pytest.TempPathFactory,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Scans record history in the user data folder (and take locks in the state folder):
    tests use throwaway ones."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("xdg-state")))
