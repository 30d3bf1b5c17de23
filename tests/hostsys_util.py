"""Helpers for the host-system tests: run probes on a target and evaluate checks on the facts.

A small stand-in for the engine (run each probe once per params, apply `applies`, evaluate)
so the packs can be tested on their own; it follows the engine's documented rules.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from smbaudit.evaluate import eval_condition
from smbaudit.models import CheckDef, Status
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


def run_checks(target: HostTarget, checks: list[CheckDef]) -> dict[str, tuple[Status, Any]]:
    """check id -> (status, evidence or error text)."""
    all_probes = probes()
    cache: dict[tuple[str, str], Any] = {}
    results: dict[str, tuple[Status, Any]] = {}
    family = None
    try:
        family = all_probes["os_release"].collect(target, {}, ctx())["family"]
    except Exception:  # noqa: BLE001 - no OS facts: os_family checks become not applicable
        pass
    for check in checks:
        probe = all_probes[check.probe]
        if probe.live_only and not target.live:
            results[check.id] = (Status.NOT_APPLICABLE, "live only")
            continue
        if check.applies and check.applies.os_family and family not in check.applies.os_family:
            results[check.id] = (Status.NOT_APPLICABLE, f"os family {family}")
            continue
        key = (check.probe, check.params_key)
        if key not in cache:
            try:
                cache[key] = probe.collect(target, check.params, ctx())
            except Exception as exc:  # noqa: BLE001 - the engine turns this into ERROR
                cache[key] = exc
        facts = cache[key]
        if isinstance(facts, Exception):
            results[check.id] = (Status.ERROR, repr(facts))
            continue
        if check.applies and check.applies.condition is not None:
            if not eval_condition(check.applies.condition, facts).passed:
                results[check.id] = (Status.NOT_APPLICABLE, "applies.when")
                continue
        outcome = eval_condition(check.condition, facts)
        results[check.id] = (Status.PASS if outcome.passed else Status.FAIL,
                             [e.to_dict() for e in outcome.evidence])
    return results
