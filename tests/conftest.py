"""Shared fixtures and markers.

Markers needs_sshd / needs_nginx / needs_nmap / needs_chromium / needs_root skip a test with a
reason when the tool (or root) is missing on a developer's machine, but fail it under CI=true,
where the test command installs every tool (see tests/tools.py).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from smbaudit.probes.base import ProbeContext
from tools import IN_CI, missing_requirement, unavailable

def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if IN_CI:
        return  # every tool is installed in CI: pytest_runtest_setup fails the test instead
    for item in items:
        reason = missing_requirement(item)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_runtest_setup(item: pytest.Item) -> None:
    reason = missing_requirement(item)
    if reason is not None:
        unavailable(reason)


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
