"""Where scanners usually go wrong: each case runs the shipped check on a small tree built here."""

from __future__ import annotations

from pathlib import Path

import pytest

from hostsys_util import run_checks
from smbaudit.models import CheckDef, Status
from smbaudit.packs.loader import load_packs
from smbaudit.probes.builtin import builtin_probe_classes
from smbaudit.targets.posixfs import DirectoryTarget

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def checks() -> dict[str, CheckDef]:
    schemas = {c.name: c.params_schema for c in builtin_probe_classes()}
    return {c.id: c for c in load_packs([REPO / "checks"], schemas)}


def tree(root: Path, files: dict[str, str]) -> DirectoryTarget:
    for path, text in files.items():
        dest = root / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text)
    return DirectoryTarget("dir:t", str(root))


def status(target: DirectoryTarget, check: CheckDef) -> Status:
    return run_checks(target, [check])[check.id].status


@pytest.mark.parametrize(("config", "expected"), [
    ("X11Forwarding yes\nDisableForwarding yes\n", Status.PASS),
    ("DisableForwarding yes\nX11Forwarding yes\n", Status.PASS),
    ("X11Forwarding yes\n", Status.FAIL),
    ("X11Forwarding no\nMatch User bob\n  X11Forwarding yes\n", Status.FAIL),
    ("", Status.PASS),  # OpenSSH's default is no
])
def test_disable_forwarding_covers_x11(tmp_path: Path, checks: dict[str, CheckDef], config: str,
                                       expected: Status) -> None:
    target = tree(tmp_path, {"/etc/ssh/sshd_config": config})
    assert status(target, checks["ssh.x11-forwarding"]) is expected
