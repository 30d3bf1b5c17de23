"""The host-configuration packs end to end: build the demo trees, run every probe the packs use,
evaluate every check. The misconfigured tree must fail exactly the planted checks (and every check
must be planted); the hardened tree must fail none and leave none not applicable."""

from __future__ import annotations

import time
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest

from smbaudit.evaluate import eval_condition
from smbaudit.models import CheckDef
from smbaudit.packs.loader import load_packs
from smbaudit.probes.base import ProbeContext
from smbaudit.probes.builtin import builtin_probe_classes
from smbaudit.targets.posixfs import DirectoryTarget

REPO = Path(__file__).resolve().parents[1]
PACK_DIRS = ["ssh", "password", "kernel", "shell", "firewall", "logging", "webserver"]
AREAS = ["ssh", "password_policy", "sysctl", "shell", "firewall", "audit_logging", "webserver"]


def _probes() -> dict[str, Any]:
    return {cls.name: cls for cls in builtin_probe_classes()}


def _checks() -> list[CheckDef]:
    probes = _probes()
    return load_packs([REPO / "checks" / d for d in PACK_DIRS],
                      probe_schemas={n: c.params_schema for n, c in probes.items()})


def _evaluate(root: Path, checks: list[CheckDef]) -> dict[str, str]:
    """check id -> pass / fail / not_applicable, running each (probe, params) once."""
    probes = _probes()
    target = DirectoryTarget("dir:demo", str(root))
    cache: dict[tuple[str, str], dict[str, Any]] = {}
    results: dict[str, str] = {}
    for check in checks:
        key = (check.probe, check.params_key)
        if key not in cache:
            ctx = ProbeContext(deadline=time.monotonic() + 30, timeout=5)
            cache[key] = probes[check.probe]().collect(target, check.params, ctx)
        facts = cache[key]
        if check.applies and check.applies.condition is not None:
            if not eval_condition(check.applies.condition, facts).passed:
                results[check.id] = "not_applicable"
                continue
        results[check.id] = "pass" if eval_condition(check.condition, facts).passed else "fail"
    return results


def _build(root: Path, hardened: bool) -> list[str]:
    expected: list[str] = []
    for area in AREAS:
        expected.extend(import_module(f"smbaudit.demotree.{area}").build(root, hardened))
    return expected


@pytest.fixture(scope="module")
def checks() -> list[CheckDef]:
    return _checks()


def test_misconfigured_tree_fails_every_planted_check(tmp_path: Path, checks: list[CheckDef]) -> None:
    expected = set(_build(tmp_path, hardened=False))
    ids = {c.id for c in checks}
    assert ids <= expected, f"checks never exercised by a demo tree: {sorted(ids - expected)}"
    results = _evaluate(tmp_path, checks)
    not_failing = sorted(i for i in expected & ids if results[i] != "fail")
    assert not_failing == [], {i: results[i] for i in not_failing}
    unexpected = sorted(i for i, r in results.items() if r == "fail" and i not in expected)
    assert unexpected == []


def test_hardened_tree_passes_every_check(tmp_path: Path, checks: list[CheckDef]) -> None:
    _build(tmp_path, hardened=True)
    results = _evaluate(tmp_path, checks)
    bad = {i: r for i, r in results.items() if r != "pass"}
    assert bad == {}


def test_pack_metadata(checks: list[CheckDef]) -> None:
    assert len(checks) >= len(PACK_DIRS)
    for c in checks:
        assert c.references, c.id
        assert c.rationale and c.remediation, c.id
        assert c.id.split(".")[0] in {"ssh", "webserver", "password", "kernel", "firewall",
                                      "logging", "shell", "sysctl"}, c.id
