"""The facts contract: every built-in probe declares the facts it returns (`Probe.facts`), what
it returns fits the declaration, and a check naming a fact the probe cannot produce is refused
when its pack loads, shipped or third-party alike."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from smbaudit import demotree, resources, schemacheck
from smbaudit.errors import InputFileError
from smbaudit.models import TargetKind
from smbaudit.packs import factpaths
from smbaudit.packs.loader import load_packs
from smbaudit.probes import factschema
from smbaudit.probes.base import Probe, ProbeContext
from smbaudit.probes.builtin import builtin_probe_classes
from smbaudit.targets.posixfs import DirectoryTarget, LocalTarget

PROBES: dict[str, type[Probe]] = {cls.name: cls for cls in builtin_probe_classes()}


def _objects(schema: Any, where: str = "facts") -> list[tuple[str, dict[str, Any]]]:
    """Every object schema inside `schema`, with where it is."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(schema, dict):
        if "properties" in schema or schema.get("type") == "object":
            found.append((where, schema))
        for key, value in schema.items():
            if key == "properties":
                for name, sub in value.items():
                    found += _objects(sub, f"{where}.{name}")
            elif isinstance(value, dict):
                found += _objects(value, f"{where}/{key}")
            elif isinstance(value, list):
                for i, sub in enumerate(value):
                    found += _objects(sub, f"{where}/{key}[{i}]")
    return found


@pytest.mark.parametrize("name", sorted(PROBES))
def test_every_builtin_probe_declares_precise_facts(name: str) -> None:
    facts = PROBES[name].facts
    assert facts is not None, f"probe {name!r} declares no facts (Probe.facts)"
    jsonschema.Draft202012Validator.check_schema(facts)
    assert facts.get("type") == "object", "facts are a mapping at the top"
    for where, obj in _objects(facts):
        # precise: either the keys are listed and no others allowed, or the keys are data
        # (a mapping) whose values are declared
        assert "additionalProperties" in obj, f"{name}: {where} must say which keys it has"
        if obj["additionalProperties"] is not False:
            assert not obj.get("properties"), f"{name}: {where} lists keys but allows others"


def _shipped_params() -> dict[str, list[dict[str, Any]]]:
    probes = {n: c() for n, c in PROBES.items()}
    checks = load_packs([resources.checks_dir()], {n: p.params_schema for n, p in probes.items()})
    params: dict[str, dict[str, dict[str, Any]]] = {
        n: {} if c.params_schema.get("required") else {"{}": {}} for n, c in PROBES.items()}
    for c in checks:
        params[c.probe][c.params_key] = c.params
    return {n: list(p.values()) for n, p in params.items()}


@pytest.fixture(scope="module")
def demo_targets(tmp_path_factory: pytest.TempPathFactory) -> list[DirectoryTarget]:
    targets = []
    for hardened in (False, True):
        root = tmp_path_factory.mktemp("hardened" if hardened else "misconfigured")
        demotree.build(root, hardened=hardened)
        targets.append(DirectoryTarget(f"dir:{root.name}", str(root)))
    return targets


HOST_PROBES = sorted(n for n, c in PROBES.items() if TargetKind.HOST in c.target_kinds)


@pytest.fixture(scope="module")
def vulndb_options(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A vulnerability store from the hand-written feed fixtures, for the probes that read one."""
    from smbaudit.vulndb import build
    from vulndb_util import DATA
    path = tmp_path_factory.mktemp("vulndb") / "v.sqlite"
    build.import_paths(path, [DATA])
    return {"vulndb": str(path), "include_unfixed": True}


@pytest.mark.parametrize("name", HOST_PROBES)
def test_real_facts_on_the_demo_trees_fit_the_declaration(name: str, demo_targets: list[DirectoryTarget],
                                                          vulndb_options: dict[str, Any]) -> None:
    probe = PROBES[name]()
    assert probe.facts is not None
    # a live-only probe reads this machine (the test's own host) instead of the trees
    for target in [LocalTarget()] if probe.live_only else demo_targets:
        for params in _shipped_params()[name]:
            facts = probe.collect(target, params, ProbeContext(time.monotonic() + 60, 10,
                                                               options=dict(vulndb_options)))
            problems = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
                        for e in schemacheck.errors(probe.facts, json.loads(json.dumps(
                            factschema.declared_part(facts))))]
            assert problems == [], (target.name, params, problems[:10])


# --------------------------------------------------------------------------- the loader


PACK = """\
schema: 1
checks:
  - id: thirdparty.root-login
    title: Root cannot log in over SSH
    description: A third-party check.
    category: authentication
    severity: high
    rationale: Root is the first account attackers try.
    remediation: Set PermitRootLogin no.
    probe: sshd_config
    condition:
      all:
        - {fact: settings.permitrootlogn, op: not_equals, value: "yes"}
"""


def test_third_party_pack_with_a_misspelt_fact_is_refused(tmp_path: Path) -> None:
    pack = tmp_path / "thirdparty.yaml"
    pack.write_text(PACK)
    probes = {n: c() for n, c in PROBES.items()}
    with pytest.raises(InputFileError) as exc:
        load_packs([pack], {n: p.params_schema for n, p in probes.items()},
                   fact_schemas={n: p.facts for n, p in probes.items()})
    (error,) = exc.value.errors
    assert error.path == str(pack) and error.line == 13
    assert error.field == "checks[0].condition.all[0].fact"
    assert "settings.permitrootlogn" in error.message and "'permitrootlogin'" in error.message
    # spelt right, it loads
    pack.write_text(PACK.replace("permitrootlogn", "permitrootlogin"))
    load_packs([pack], fact_schemas={n: p.facts for n, p in probes.items()})


def test_applies_and_location_are_checked_too(tmp_path: Path) -> None:
    pack = tmp_path / "p.yaml"
    pack.write_text(PACK.replace("    probe: sshd_config\n", "    probe: sshd_config\n"
                                 "    location: config_pth\n"
                                 "    applies: {when: {all: [{fact: presnt, op: is_true}]}}\n")
                    .replace("permitrootlogn", "permitrootlogin"))
    with pytest.raises(InputFileError) as exc:
        load_packs([pack], fact_schemas={n: c.facts for n, c in PROBES.items()})
    fields = sorted(e.field for e in exc.value.errors)
    assert fields == ["checks[0].applies.when.all[0].fact", "checks[0].location"]


def test_a_legacy_probe_without_facts_is_not_checked(tmp_path: Path) -> None:
    pack = tmp_path / "p.yaml"
    pack.write_text(PACK)
    load_packs([pack], fact_schemas={"sshd_config": None})


def test_every_shipped_check_names_facts_its_probe_produces() -> None:
    load_packs([resources.checks_dir()], fact_schemas={n: c.facts for n, c in PROBES.items()})


@pytest.mark.parametrize(("path", "ok"), [
    ("users", True), ("users.*.uid", True), ("users.0.uid", True), ("users.*.uidd", False),
    ("hash_types.alice", True), ("hash_types.alice.x", False), ("sudo.nopasswd.*.line", True),
    ("root.shell", True), ("root.shell.x", False), ("nothing", False),
])
def test_fact_paths_follow_the_schema(path: str, ok: bool) -> None:
    assert (factpaths.problem(PROBES["accounts"].facts or {}, path) is None) is ok


def test_open_parts_of_a_schema_accept_any_path() -> None:
    schema = {"type": "object", "additionalProperties": False,
              "properties": {"raw": {}, "either": {"anyOf": [{"type": "null"},
                                                             {"type": "object", "additionalProperties": False,
                                                              "properties": {"a": {"type": "string"}}}]}}}
    assert factpaths.problem(schema, "raw.anything.at.all") is None
    assert factpaths.problem(schema, "either.a") is None
    assert "did you mean 'a'" not in (factpaths.problem(schema, "either.b") or "")
    assert factpaths.problem(schema, "either.b") is not None


def test_the_cli_refuses_the_misspelt_pack_with_file_line_and_field(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from smbaudit.cli import cli

    pack = tmp_path / "thirdparty.yaml"
    pack.write_text(PACK)
    for command in (["checks", "validate", str(pack)], ["scan", "dir:/nonexistent", "--checks", str(pack)]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 2, result.output
        assert f"{pack}:13: [checks[0].condition.all[0].fact] probe 'sshd_config' cannot produce " \
               "fact 'settings.permitrootlogn'" in result.output
        assert "did you mean 'permitrootlogin'" in result.output
