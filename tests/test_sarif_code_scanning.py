"""SARIF that code-scanning services accept, checked on real scans of the demo tree: the
official 2.1.0 schema, and the rules such services add (every result in a file with a relative
URI and a start line, complete rules, fingerprints stable across runs and distinct per problem).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from shared_data import validate_sarif
from smbaudit.cli import cli
from smbaudit.demotree import build
from smbaudit.models import Severity, TargetKind
from smbaudit.packs.loader import load_packs
from smbaudit.probes.manager import load_plugins
from smbaudit.render.sarif import LEVEL, SECURITY_SEVERITY

CHECKS = Path(__file__).resolve().parents[1] / "checks"


def sarif_scan(tmp_path: Path, *targets: Path, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    out = tmp_path / f"r{len(list(tmp_path.glob('r*.sarif')))}.sarif"
    args = ["scan", *[f"dir:{t}" for t in targets], "-f", "sarif", "-o", str(out),
            "--no-history", "-q", "--fail-on", "none", *extra]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code in (0, 3), result.output
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sarif") / "root"
    build(root, hardened=False)
    return root


@pytest.fixture(scope="module")
def demo(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return sarif_scan(tmp_path_factory.mktemp("out"), tree)


def results_by_rule(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["ruleId"]: r for r in data["runs"][0]["results"]}


def test_valid_against_the_official_schema(demo: dict[str, Any]) -> None:
    assert len(demo["runs"][0]["results"]) > 80
    validate_sarif(demo)


def test_every_result_is_in_a_file_with_a_relative_uri_and_start_line(demo: dict[str, Any]) -> None:
    run = demo["runs"][0]
    bases = run["originalUriBaseIds"]
    for result in run["results"]:
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert uri and not uri.startswith("/") and not re.match(r"^[a-z]+:", uri), result["ruleId"]
        assert physical["artifactLocation"]["uriBaseId"] in bases
        assert physical["region"]["startLine"] >= 1
        assert "smbaudit-targets" not in uri, f"{result['ruleId']} has no file in the tree"
    # the base of the tree is an absolute URI ending with a slash
    assert bases["%SRCROOT%"]["uri"].startswith("file:///") and bases["%SRCROOT%"]["uri"].endswith("/")


def test_the_line_that_decided_it(demo: dict[str, Any], tree: Path) -> None:
    results = results_by_rule(demo)

    def place(rule: str) -> tuple[str, int]:
        physical = results[rule]["locations"][0]["physicalLocation"]
        return physical["artifactLocation"]["uri"], physical["region"]["startLine"]

    sshd = (tree / "etc/ssh/sshd_config").read_text().splitlines()
    root_line = next(i for i, line in enumerate(sshd, 1) if line.startswith("PermitRootLogin"))
    assert place("ssh.root-login") == ("etc/ssh/sshd_config", root_line)
    sudoers = (tree / "etc/sudoers.d/deploy").read_text().splitlines()
    nopasswd = next(i for i, line in enumerate(sudoers, 1) if line.startswith("bob ALL"))  # the rule's first line
    assert place("accounts.sudo-requires-password") == ("etc/sudoers.d/deploy", nopasswd)
    # no file decided it: the file whose change fixes it, at line 1
    assert place("firewall.active") == ("etc/nftables.conf", 1)
    assert place("logging.auditd-enabled") == ("etc/audit/auditd.conf", 1)


def test_rules_are_complete(demo: dict[str, Any]) -> None:
    run = demo["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert {r["ruleId"] for r in run["results"]} <= {r["id"] for r in rules}
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert "How to fix" in rule["help"]["text"] and "**How to fix**" in rule["help"]["markdown"]
        tags = rule["properties"]["tags"]
        assert "security" in tags and len(tags) >= 2
        assert 0.0 <= float(rule["properties"]["security-severity"]) <= 10.0
    uid0 = next(r for r in rules if r["id"] == "accounts.uid0-only-root")
    assert "cis/5.4.2.1" in uid0["properties"]["tags"]
    assert any(t.startswith("hipaa/") for t in uid0["properties"]["tags"])
    assert uid0["properties"]["security-severity"] == SECURITY_SEVERITY[Severity.CRITICAL]
    assert any("helpUri" in r and r["helpUri"].startswith("https://") for r in rules)
    for result in run["results"]:
        rule = rules[result["ruleIndex"]]
        assert result["level"] == LEVEL[Severity(rule["properties"]["severity"])]
    assert results_by_rule(demo)["accounts.uid0-only-root"]["message"]["text"].startswith(
        "toor has user id 0 besides root on dir:")


def test_fingerprints_stable_across_runs_and_distinct_per_problem(
        demo: dict[str, Any], tree: Path, tmp_path: Path) -> None:
    def prints(data: dict[str, Any]) -> dict[str, str]:
        return {r["ruleId"]: r["partialFingerprints"]["smbauditFinding/v2"]
                for r in data["runs"][0]["results"]}

    first = prints(demo)
    assert len(set(first.values())) == len(first)  # one per problem
    # the same tree in another place, scanned again: the same alerts
    copy = tmp_path / "copy" / "root"
    shutil.copytree(tree, copy, symlinks=True)
    assert prints(sarif_scan(tmp_path, copy)) == first
    # a line moving does not change the alert; another offender makes another problem
    sshd = copy / "etc/ssh/sshd_config"
    sshd.write_text("# moved down by a comment\n" + sshd.read_text())
    passwd = copy / "etc/passwd"
    passwd.write_text(passwd.read_text() + "backdoor:x:0:0::/root:/bin/sh\n")
    again = sarif_scan(tmp_path, copy)
    changed = prints(again)
    root_login = results_by_rule(again)["ssh.root-login"]["locations"][0]["physicalLocation"]
    assert root_login["region"]["startLine"] == \
        results_by_rule(demo)["ssh.root-login"]["locations"][0]["physicalLocation"]["region"]["startLine"] + 1
    assert changed["ssh.root-login"] == first["ssh.root-login"]
    assert changed["accounts.uid0-only-root"] != first["accounts.uid0-only-root"]


def test_sarif_base_prefixes_paths_for_a_tree_inside_a_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    tree = repo / "infra" / "rootfs"
    build(tree, hardened=False)
    data = sarif_scan(tmp_path, tree, extra=("--sarif-base", "infra/rootfs", "--select", "ssh.root-login"))
    run = data["runs"][0]
    artifact = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact["uri"] == "infra/rootfs/etc/ssh/sshd_config"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.as_uri() + "/"
    validate_sarif(data)


def test_several_trees_are_told_apart_by_folder(tmp_path: Path) -> None:
    web, db = tmp_path / "hosts" / "web", tmp_path / "hosts" / "db"
    build(web, hardened=False)
    build(db, hardened=False)
    data = sarif_scan(tmp_path, web, db, extra=("--select", "ssh.root-login"))
    uris = sorted(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                  for r in data["runs"][0]["results"])
    assert uris == ["db/etc/ssh/sshd_config", "web/etc/ssh/sshd_config"]
    assert data["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == (tmp_path / "hosts").as_uri() + "/"


def test_every_shipped_host_check_names_a_file_for_its_failures() -> None:
    probes = load_plugins().probes
    unplaced = [c.id for c in load_packs([CHECKS])
                if TargetKind.HOST in probes[c.probe].target_kinds
                and TargetKind.SERVICE not in probes[c.probe].target_kinds
                and not c.fix_file and "path" not in c.params]
    assert not unplaced, f"add `fix_file:` to {unplaced}"


def test_profile_field_and_stored_report_take_the_base(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    tree = repo / "infra" / "rootfs"
    build(tree, hardened=False)
    prof = tmp_path / "audit.yaml"
    prof.write_text(f"targets: ['dir:{tree}']\n"
                    f"checks: {{select: [ssh.root-login]}}\n"
                    f"outputs: {{dir: {tmp_path / 'out'}, formats: [sarif, json],"
                    f" sarif_base: infra/rootfs}}\n"
                    f"history: {{db: {tmp_path / 'h.sqlite3'}}}\nfail_on: none\n")
    result = CliRunner().invoke(cli, ["scan", "--profile", str(prof), "-q", "--no-lock"])
    assert result.exit_code == 0, result.output
    (sarif_file,) = (tmp_path / "out").glob("*.sarif")
    data = json.loads(sarif_file.read_text())
    artifact = data["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact["uri"] == "infra/rootfs/etc/ssh/sshd_config"
    scan_id = json.loads(next((tmp_path / "out").glob("*.json")).read_text())["scan_id"]
    again = CliRunner().invoke(cli, ["report", scan_id, "-f", "sarif", "--sarif-base", "cfg",
                                     "--db", str(tmp_path / "h.sqlite3")])
    assert again.exit_code == 0, again.output
    artifact = json.loads(again.output)["runs"][0]["results"][0]["locations"][0]
    assert artifact["physicalLocation"]["artifactLocation"]["uri"] == "cfg/etc/ssh/sshd_config"
