"""Helpers for the host-system tests: run probes on a target, and run checks through the engine."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from smbaudit import engine
from smbaudit.models import CheckDef, Finding
from smbaudit.packs.loader import load_packs
from smbaudit.probes.base import ProbeContext
from smbaudit.probes.builtin import builtin_probe_classes
from smbaudit.targets.base import HostTarget

REPO = Path(__file__).resolve().parents[1]
HOSTSYS_PACKS = [REPO / "checks" / d for d in ("system", "accounts", "patching", "crypto")] + [
    REPO / "checks" / "files" / "permissions.yaml"]


def probes() -> dict[str, Any]:
    return {cls.name: cls() for cls in builtin_probe_classes()}


def hostsys_checks() -> list[CheckDef]:
    schemas = {name: p.params_schema for name, p in probes().items()}
    return load_packs([p for p in HOSTSYS_PACKS if p.exists()], schemas)


def ctx(**options: Any) -> ProbeContext:
    return ProbeContext(deadline=time.monotonic() + 60, timeout=10, options=dict(options))


def collect(probe_name: str, target: HostTarget, params: dict[str, Any] | None = None,
            **options: Any) -> dict[str, Any]:
    return probes()[probe_name].collect(target, params or {}, ctx(**options))


def run_checks(target: HostTarget, checks: list[CheckDef], **options: Any) -> dict[str, Finding]:
    """check id -> its finding, through the real engine (planning, applicability, evaluation)."""
    result = engine.run([target], checks, probes(),
                        engine.EngineOptions(jobs=2, probe_timeout=120, io_timeout=10,
                                             probe_options=dict(options)))
    return {f.check_id: f for f in result.findings}
