"""Every CIS Benchmark reference in every shipped pack names a recommendation that exists, with
its exact title, in the benchmark's published control list, and the check's level tags are the
levels the benchmarks give it. The control lists live outside the repository
(<repo>/../shared/reference/cis); the checks that need them skip only when that folder is absent.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from smbaudit import yamlload
from smbaudit.errors import UsageError
from smbaudit.models import CheckDef
from smbaudit.packs import cis
from smbaudit.packs.loader import load_packs

REPO = Path(__file__).resolve().parents[1]
# <repo>/../shared; from a git worktree under <checkout>/../wt/NAME, the same folder two levels up
CONTROLS = next((p / "shared" / "reference" / "cis" for p in (REPO.parent, REPO.parent.parent)
                 if (p / "shared" / "reference" / "cis").is_dir()),
                REPO.parent / "shared" / "reference" / "cis")
LEVEL_TAG = {"l1_server": "cis-l1-server", "l2_server": "cis-l2-server",
             "l1_workstation": "cis-l1-workstation", "l2_workstation": "cis-l2-workstation"}


@cache
def shipped_checks() -> tuple[CheckDef, ...]:
    return tuple(load_packs([REPO / "checks"]))


@cache
def control_list(key: str) -> tuple[str, dict[str, dict[str, Any]]]:
    """(version, {id: control}) of one benchmark's control list."""
    doc = yamlload.load_file(CONTROLS / f"cis_{key}.yml")
    found: dict[str, dict[str, Any]] = {}

    def walk(controls: list[dict[str, Any]]) -> None:
        for c in controls:
            found[str(c["id"])] = c
            walk(c.get("controls", []))

    walk(doc["controls"])
    return str(doc["version"]), found


def bare_title(title: str) -> str:
    return re.sub(r"\s*\((Automated|Manual)\)\s*$", "", title).strip()


def needs_controls() -> None:
    if not CONTROLS.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CONTROLS} is missing")
        pytest.skip(f"{CONTROLS} is absent")


# ----------------------------------------------------------------------------- format (no files needed)


def test_os_benchmark_references_are_well_formed() -> None:
    """A reference to a Linux benchmark names one we hold a control list for, its version, one
    recommendation id and the title: no ranges, no bare ids, no other Linux benchmarks."""
    bad = [(c.id, r) for c in shipped_checks() for r in c.references
           if cis.cites_os_benchmark(r) and cis.parse_reference(r) is None]
    assert bad == []


def test_parse_reference() -> None:
    ref = cis.parse_reference("CIS Debian Linux 12 Benchmark v1.1.0 5.1.20 "
                              "(Ensure sshd PermitRootLogin is disabled)")
    assert ref == cis.CisReference("CIS Debian Linux 12 Benchmark", "debian12", "1.1.0", "5.1.20",
                                   "Ensure sshd PermitRootLogin is disabled")
    assert cis.parse_reference("CIS Debian Linux 12 Benchmark v1.1.0 5.1.20") is None
    assert cis.parse_reference("CIS Debian Linux 12 Benchmark 2.4.1.3-2.4.1.7 (x)") is None
    assert cis.cites_os_benchmark("CIS Distribution Independent Linux Benchmark v2.0.0 5.2.4")
    assert cis.cites_os_benchmark("CIS RHEL Benchmark 6.1.3")
    assert not cis.cites_os_benchmark("CIS Controls v8 4.8")
    assert not cis.cites_os_benchmark("CIS NGINX Benchmark v2.1.0 2.5.1")


def test_level_tags_only_on_checks_citing_a_benchmark() -> None:
    for c in shipped_checks():
        cited = [r for r in c.references if cis.parse_reference(r)]
        if not cited:
            assert not cis.LEVEL_TAGS.intersection(c.tags), c.id


def test_select_level() -> None:
    checks = shipped_checks()
    l1 = cis.select_level(checks, "cis-l1-server")
    l2 = cis.select_level(checks, "cis-l2-server")
    l1_ids, l2_ids = {c.id for c in l1}, {c.id for c in l2}
    assert l1_ids and l1_ids < l2_ids
    assert all("cis-l1-server" in c.tags for c in l1)
    assert cis.select_level(checks, None) == list(checks)
    with pytest.raises(UsageError):
        cis.select_level(checks, "cis-l3")


# ----------------------------------------------------------------------------- against the control lists


def test_every_cited_recommendation_exists_with_its_title() -> None:
    needs_controls()
    problems = []
    for c in shipped_checks():
        for r in c.references:
            ref = cis.parse_reference(r)
            if ref is None:
                continue
            version, controls = control_list(ref.key)
            if ref.version != version:
                problems.append((c.id, r, f"version is {version}"))
            elif ref.id not in controls:
                problems.append((c.id, r, "no such recommendation"))
            elif bare_title(controls[ref.id]["title"]) != ref.title:
                problems.append((c.id, r, f"title is {bare_title(controls[ref.id]['title'])!r}"))
    assert problems == []


def test_level_tags_are_the_benchmarks_levels() -> None:
    needs_controls()
    problems = []
    for c in shipped_checks():
        expected: set[str] = set()
        for r in c.references:
            ref = cis.parse_reference(r)
            if ref is None:
                continue
            control = control_list(ref.key)[1].get(ref.id, {})
            expected.update(LEVEL_TAG[level] for level in control.get("levels", []))
        actual = cis.LEVEL_TAGS.intersection(c.tags)
        if actual != expected:
            problems.append((c.id, sorted(actual), sorted(expected)))
    assert problems == []


def test_scan_level_option(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from smbaudit.cli import cli

    (tmp_path / "root/etc").mkdir(parents=True)
    out = tmp_path / "r.json"
    result = CliRunner().invoke(cli, ["scan", f"dir:{tmp_path / 'root'}", "--level", "cis-l1-server",
                                      "-f", "json", "-o", str(out), "--no-history", "-q",
                                      "--fail-on", "none"])
    assert result.exit_code in (0, 3), result.output  # 3: an empty tree leaves some unassessed
    ran = {f["check_id"] for f in json.loads(out.read_text())["findings"]}
    l1 = {c.id for c in cis.select_level(shipped_checks(), "cis-l1-server")}
    assert ran and ran <= l1
    bad = CliRunner().invoke(cli, ["scan", f"dir:{tmp_path / 'root'}", "--level", "cis-l3"])
    assert bad.exit_code == 2
