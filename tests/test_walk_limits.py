"""Walks say when they were cut short, and the checks that depend on them end `error`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from hostcfg_util import collect, put
from smbaudit.cli import cli
from smbaudit.errors import BudgetExceeded
from smbaudit.probes.base import INCOMPLETE
from smbaudit.targets.posixfs import DirectoryTarget


def _deep(root: Path, levels: int) -> Path:
    deep = root / "usr" / "/".join(f"d{i}" for i in range(levels))
    deep.mkdir(parents=True)
    return deep


def test_a_setuid_program_below_the_depth_cap_is_not_a_pass(tmp_path: Path) -> None:
    root = tmp_path / "root"
    put(root, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    hidden = _deep(root, 40) / "rootshell"
    hidden.write_text("#!/bin/sh\n")
    os.chmod(hidden, 0o4755)
    out = tmp_path / "r.json"
    result = CliRunner().invoke(cli, ["scan", f"dir:{root}", "-f", "json", "-o", str(out), "-q",
                                      "--fail-on", "none", "--select", "files.no-world-writable",
                                      "--select", "files.setuid-known"])
    assert result.exit_code == 3, result.output
    findings = {f["check_id"]: f for f in json.loads(out.read_text())["findings"]}
    assert set(findings) == {"files.no-world-writable", "files.setuid-known"}
    for finding in findings.values():
        assert finding["status"] == "error", finding
        assert "deeper than 32 levels" in finding["reason"]


def test_a_problem_found_before_the_cap_still_fails(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _deep(root, 40)
    os.chmod(root / "usr/d0", 0o777)  # world-writable, found before the cap
    facts = collect("special_files", root, {"roots": ["/usr"]})
    assert [e["path"] for e in facts["world_writable"]] == ["/usr/d0"]
    assert "deeper than 32 levels" in facts[INCOMPLETE]


def test_special_files_probe_within_its_depth_is_complete(tmp_path: Path) -> None:
    root = tmp_path / "root"
    prog = _deep(root, 5) / "prog"
    prog.write_text("x")
    os.chmod(prog, 0o4755)
    facts = collect("special_files", root, {"roots": ["/usr"], "max_depth": 5})
    assert [e["path"] for e in facts["setuid"]] == ["/usr/d0/d1/d2/d3/d4/prog"]
    assert INCOMPLETE not in facts
    assert "deeper than 3 levels" in collect("special_files", root, {"roots": ["/usr"], "max_depth": 3})[INCOMPLETE]


def test_target_walk_and_glob_raise_when_cut_short(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _deep(root, 6)
    t = DirectoryTarget("dir:x", str(root))
    assert len(list(t.walk("/usr", max_depth=6))) == 7
    with pytest.raises(BudgetExceeded, match="deeper than 5 levels"):
        list(t.walk("/usr", max_depth=5))
    for i in range(5):
        put(root, f"/etc/conf.d/{i}.conf", "")
    assert len(t.glob("/etc/conf.d/*.conf", limit=5)) == 5
    with pytest.raises(BudgetExceeded, match="more than 4 matching paths"):
        t.glob("/etc/conf.d/*.conf", limit=4)


