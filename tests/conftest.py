"""Shared fixtures and markers.

Markers needs_sshd / needs_nginx / needs_nmap / needs_chromium / needs_root skip a test with a
reason when the tool (or root) is missing on a developer's machine, but fail it under CI=true,
where the test command installs every tool (see tests/tools.py).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smbaudit import schemacheck
from smbaudit.probes import factschema
from smbaudit.probes.base import Probe, ProbeContext
from smbaudit.probes.builtin import builtin_probe_classes
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


_FACT_DRIFT: list[str] = []


@pytest.fixture(scope="session", autouse=True)
def _probes_return_their_declared_facts() -> Iterator[None]:
    """Every built-in probe's output, in every test, must fit its declared facts (Probe.facts):
    the declaration cannot drift from what the probe really returns."""
    originals = {}
    for cls in builtin_probe_classes():
        originals[cls] = cls.collect

        def checked(self: Probe, target: Any, params: Any, ctx: ProbeContext,
                    _collect: Any = cls.collect) -> Any:
            facts = _collect(self, target, params, ctx)
            if self.facts is not None:
                # the engine's keys (partial collection, unreadable facts) are implied everywhere
                plain = json.loads(json.dumps(factschema.declared_part(facts)))
                _FACT_DRIFT.extend(
                    f"{self.name}: {'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
                    for e in schemacheck.errors(self.facts, plain))
            return facts

        cls.collect = checked  # type: ignore[method-assign]
    yield
    for cls, original in originals.items():
        cls.collect = original  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _no_fact_drift() -> Iterator[None]:
    yield
    drift, _FACT_DRIFT[:] = list(_FACT_DRIFT), []
    assert not drift, "probe facts do not fit their declaration (Probe.facts): " + "; ".join(drift[:5])


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


@pytest.fixture(scope="session")
def _session_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("xdg-cache")


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path_factory: pytest.TempPathFactory, _session_cache_dir: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Scans record history in the user data folder (and take locks in the state folder):
    tests use throwaway ones. The pack cache (user cache folder) is one for the session: its
    entries are keyed by everything they depend on."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("xdg-state")))
    monkeypatch.setenv("XDG_CACHE_HOME", str(_session_cache_dir))
