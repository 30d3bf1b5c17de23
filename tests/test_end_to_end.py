"""End to end on demo trees built here: every planted problem is reported, the hardened tree
has no failures, and the scan leaves the tree byte-for-byte unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import tree_snapshot
from smbaudit.cli import cli
from smbaudit.demotree import build


def scan_tree(root: Path, out: Path) -> dict:
    result = CliRunner().invoke(cli, ["scan", f"dir:{root}", "-f", "json", "-o", str(out),
                                      "--fail-on", "none", "-q"])
    assert result.exit_code in (0, 3), result.output
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def misconfigured(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("bad") / "root"
    return root, build(root, hardened=False)


def test_every_planted_problem_is_reported(misconfigured: tuple[Path, list[str]], tmp_path: Path) -> None:
    root, expected = misconfigured
    before = tree_snapshot(root)
    data = scan_tree(root, tmp_path / "r.json")
    failed = {f["check_id"] for f in data["findings"] if f["status"] == "fail"}
    missing = sorted(set(expected) - failed)
    assert not missing, f"planted but not reported: {missing}"
    errors = {f["check_id"]: f["reason"] for f in data["findings"] if f["status"] == "error"}
    assert not errors, errors
    assert tree_snapshot(root) == before, "the scan changed the tree"
    assert data["summary"]["grade"] in ("D", "F")


def test_hardened_tree_has_no_failures(tmp_path: Path) -> None:
    root = tmp_path / "root"
    build(root, hardened=True)
    before = tree_snapshot(root)
    data = scan_tree(root, tmp_path / "r.json")
    failed = {f["check_id"]: f["evidence"] for f in data["findings"] if f["status"] == "fail"}
    assert not failed, failed
    errors = {f["check_id"]: f["reason"] for f in data["findings"] if f["status"] == "error"}
    assert not errors, errors
    assert data["summary"]["score"] == 0 and data["summary"]["grade"] == "A"
    assert tree_snapshot(root) == before


def test_local_host_scan_completes(tmp_path: Path) -> None:
    out = tmp_path / "local.json"
    result = CliRunner().invoke(cli, ["scan", "local", "-f", "json", "-o", str(out), "--fail-on", "none", "-q"])
    assert result.exit_code in (0, 3), result.output
    data = json.loads(out.read_text())
    assert data["complete"] and data["findings"]
    assert {f["status"] for f in data["findings"]} <= {"pass", "fail", "error", "not_applicable", "skipped"}
    # only the checks that need the vulnerability store (none in this test's data folder)
    skipped = {f["check_id"]: f["reason"] for f in data["findings"] if f["status"] == "skipped"}
    assert all("no vulnerability data" in why for why in skipped.values()), skipped
