"""Why a check does not apply, in plain words worded from its condition: "auditd is not
installed", never "auditd.installed is False, needs true". Held for every shipped check."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from smbaudit.catalog import load_catalog
from smbaudit.cli import cli
from smbaudit.evaluate import eval_condition, not_applicable_reason
from smbaudit.models import Assertion, CheckDef, Condition

# What each operator's failing value is, to make a shipped gate fail with real values.
FAILING = {"is_true": False, "is_false": True, "not_empty": [], "gt": 0, "exists": None,
           "equals": "http", "in": "http"}
CODE_LIKE = re.compile(r"\b(True|False|None)\b|needs |is_true|is_false|not_empty|[{}\[\]]|(^|\s)'")


def gated() -> list[CheckDef]:
    return [c for c in load_catalog().checks if c.applies and c.applies.condition]


def assertions(cond: Condition) -> list[Assertion]:
    return [a for item in cond.items
            for a in ([item] if isinstance(item, Assertion) else assertions(item))]


def failing_facts(check: CheckDef) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    assert check.applies and check.applies.condition
    for a in assertions(check.applies.condition):
        node, steps = facts, a.fact.split(".")
        for step in steps[:-1]:
            if not isinstance(node.get(step), dict):
                node[step] = {}
            node = node[step]
        value = [a.value] if a.op == "not_contains" else FAILING.get(a.op, "x")
        node.setdefault(steps[-1], value)
    return facts


def test_shipped_gates_are_worded_in_plain_words() -> None:
    checks = gated()
    assert len(checks) > 200
    for check in checks:
        assert check.applies and check.applies.condition
        for facts in (failing_facts(check), {}):
            if eval_condition(check.applies.condition, facts).passed:
                continue
            reason = not_applicable_reason(check, facts)
            assert reason and reason != "its preconditions do not hold", check.id
            assert not CODE_LIKE.search(reason), (check.id, reason)
            for a in assertions(check.applies.condition):
                if "." in a.fact or "_" in a.fact:  # a fact path never shows as such
                    assert a.fact not in reason, (check.id, reason)


def test_every_operator_has_plain_words() -> None:
    from smbaudit.evaluate import OPERATORS, assertion_words

    check = gated()[0]
    for op in OPERATORS:
        for facts in ({"some_fact": "x"}, {"some_fact": 7}, {}):
            a = Assertion("some_fact", op, value=["y"] if op.endswith("in") else 5)
            said = assertion_words(check, a, facts)
            assert said and not CODE_LIKE.search(said) and "some_fact" not in said, (op, said)


@pytest.mark.parametrize("check_id, facts, reason", [
    ("logging.audit-immutable", {"auditd": {"installed": False}}, "auditd is not installed"),
    ("mounts.tmp-nodev", {"container": False, "points": {"tmp": {"separate": False}}},
     "/tmp is not a separate file system"),
    ("mounts.tmp-nodev", {"container": True, "points": {"tmp": {"separate": True}}},
     "the target is a container"),
    ("accounts.no-empty-passwords", {"shadow_readable": False}, "/etc/shadow cannot be read"),
])
def test_examples(check_id: str, facts: dict[str, Any], reason: str) -> None:
    check = next(c for c in gated() if c.id == check_id)
    assert not_applicable_reason(check, facts) == reason


def test_a_service_check_says_what_the_service_is() -> None:
    check = next(c for c in gated() if c.probe == "service_info" and any(
        a.op == "equals" and a.value == "snmp" for a in assertions(c.applies.condition)))  # type: ignore[union-attr]
    assert not_applicable_reason(check, {"service": "http"}) == \
        "the service is http; this check is for snmp"
    assert not_applicable_reason(check, {}) == \
        "the service could not be determined; this check is for snmp"


def test_reasons_reach_the_report(tmp_path: Path) -> None:
    (tmp_path / "tree" / "etc").mkdir(parents=True)
    pack = tmp_path / "pack.yaml"
    pack.write_text("""\
schema: 1
checks:
  - id: t.backup-mode
    title: the backup file is private
    description: d
    category: access_control
    severity: medium
    rationale: r
    remediation: chmod 0600 /etc/backup.conf
    probe: file
    params: {path: /etc/backup.conf}
    applies: {when: {all: [{fact: exists, op: is_true}]}}
    condition: {all: [{fact: mode, op: mode_at_most, value: "0600"}]}
""")
    out = tmp_path / "r.json"
    result = CliRunner().invoke(cli, ["scan", f"dir:{tmp_path / 'tree'}", "--no-default-checks",
                                      "--checks", str(pack), "--no-history", "-f", "json",
                                      "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    finding, = json.loads(out.read_text())["findings"]
    assert finding["status"] == "not_applicable"
    assert finding["reason"] == "/etc/backup.conf does not exist"
