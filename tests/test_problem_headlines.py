"""Problem headlines: the `problem:` template syntax, its load-time validation (file, line and
field) and the headline a failing finding carries after a real scan."""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import pytest

from smbaudit import problemtext, yamlload
from smbaudit.engine import run
from smbaudit.errors import InputFileError
from smbaudit.models import Status
from smbaudit.packs.factpaths import problem as fact_path_problem
from smbaudit.packs.loader import fact_references, load_packs
from smbaudit.probes.manager import load_plugins
from smbaudit.targets.posixfs import DirectoryTarget

PACK = """\
schema: 1
checks:
  - id: demo.cron-perms
    title: Cron files are not writable by other users
    description: d
    category: access_control
    severity: high
    rationale: r
    remediation: chmod o-w FILE
    probe: file_search
    params: {paths: ["/etc/cron.d/*"]}
    problem: "{failed} {failed|plural:is:are} writable by every user ({failed.mode|octal})"
    fix_file: /etc/cron.d
    condition:
      all:
        - {fact: files.*.mode, op: mode_at_most, value: "0755"}
"""


def write(tmp_path: Path, text: str, name: str = "pack.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def load_errors(path: Path, **kw: object) -> list[str]:
    with pytest.raises(InputFileError) as info:
        load_packs([path], **kw)  # type: ignore[arg-type]
    return [str(e) for e in info.value.errors]


def scan(tree: Path, pack: Path) -> list:
    probes = load_plugins().probes
    checks = load_packs([pack], probe_schemas={n: p.params_schema for n, p in probes.items()})
    return run([DirectoryTarget("dir:web1", str(tree))], checks, probes).findings


def cron_tree(tmp_path: Path, modes: dict[str, int]) -> Path:
    tree = tmp_path / "tree"
    (tree / "etc/cron.d").mkdir(parents=True)
    for name, mode in modes.items():
        f = tree / "etc/cron.d" / name
        f.write_text("* * * * * root true\n")
        os.chmod(f, mode)
    return tree


# --------------------------------------------------------------------------- real scans


def test_failing_finding_names_the_offenders(tmp_path: Path) -> None:
    tree = cron_tree(tmp_path, {"backup": 0o666, "ok": 0o644, "logs": 0o777})
    (finding,) = scan(tree, write(tmp_path, PACK))
    assert finding.status is Status.FAIL
    assert finding.problem == ("/etc/cron.d/backup and /etc/cron.d/logs are writable by every "
                               "user (0666 and 0777)")


def test_one_offender_reads_in_the_singular(tmp_path: Path) -> None:
    tree = cron_tree(tmp_path, {"backup": 0o666, "ok": 0o644})
    (finding,) = scan(tree, write(tmp_path, PACK))
    assert finding.problem == "/etc/cron.d/backup is writable by every user (0666)"


def test_passing_finding_has_no_headline(tmp_path: Path) -> None:
    tree = cron_tree(tmp_path, {"ok": 0o644})
    (finding,) = scan(tree, write(tmp_path, PACK))
    assert finding.status is Status.PASS and finding.problem == ""


def test_many_offenders_are_counted_not_listed(tmp_path: Path) -> None:
    tree = cron_tree(tmp_path, {f"job{i}": 0o666 for i in range(7)})
    (finding,) = scan(tree, write(tmp_path, PACK))
    assert finding.problem.startswith("/etc/cron.d/job0, /etc/cron.d/job1, /etc/cron.d/job2 and 4 more are")


def test_check_without_template_still_gets_a_headline(tmp_path: Path) -> None:
    pack = PACK.replace('    problem: "{failed} {failed|plural:is:are} writable by every user ({failed.mode|octal})"\n', "")
    pack = pack.replace('value: "0755"}', 'value: "0755", message: "writable by other users"}')
    tree = cron_tree(tmp_path, {"backup": 0o666})
    (finding,) = scan(tree, write(tmp_path, pack))
    assert finding.problem == "writable by other users: /etc/cron.d/backup"


def test_values_from_the_target_are_made_safe(tmp_path: Path) -> None:
    tree = cron_tree(tmp_path, {"x\x1b[2Jpassword=hunter2": 0o666})
    (finding,) = scan(tree, write(tmp_path, PACK))
    assert "\x1b" not in finding.problem and "hunter2" not in finding.problem
    assert "[REDACTED]" in finding.problem


# --------------------------------------------------------------------------- syntax


def ctx(**facts: object) -> problemtext.Context:
    return problemtext.Context(facts=facts, target="web1", location="/etc/ssh/sshd_config")


@pytest.mark.parametrize(("template", "expected"), [
    ("{users} {users|plural:has:have} user id 0", "toor and admin have user id 0"),
    ("{users|first} and {users|count} in all", "toor and 2 in all"),
    ("PermitRootLogin is {settings.permitrootlogin} in {location}",
     "PermitRootLogin is yes in /etc/ssh/sshd_config"),
    ("{missing} / {missing|default:the default (yes)} / {empty}", "not set / the default (yes) / none"),
    ("{flag} on {target}", "no on web1"),
    ("literal {{braces}}", "literal {braces}"),
    ("{mode|octal}", "0640"),
    ("{rules.*.user} ({rules|where})", "bob and ann (/etc/sudoers line 2 and /etc/sudoers.d/x line 1)"),
    ("{rules.*.user|count} {rules.*.nope|default:none found}", "2 none found"),
    ("{users|first|capital}", "Toor"),
])
def test_rendering(template: str, expected: str) -> None:
    facts = ctx(users=["toor", "admin"], settings={"permitrootlogin": "yes"}, empty=[],
                flag=False, mode=0o640,
                rules=[{"user": "bob", "file": "/etc/sudoers", "line": 2},
                       {"user": "ann", "file": "/etc/sudoers.d/x", "line": 1}])
    assert problemtext.render(template, facts) == expected


@pytest.mark.parametrize(("template", "message"), [
    ("{", "unclosed '{'"),
    ("a } b", "unmatched '}'"),
    ("{users|upper}", "unknown filter 'upper'"),
    ("{target.name}", "target has no fields"),
    ("{failed.*.path}", "no `*` inside a failed element"),
    ("{users|plural:is}", "takes 2 argument(s)"),
    ("   ", "the headline is empty"),
])
def test_syntax_errors(template: str, message: str) -> None:
    with pytest.raises(problemtext.TemplateError, match=re.escape(message)):
        problemtext.parse(template)


def test_headline_is_one_bounded_line() -> None:
    text = problemtext.render("{a} {a} {a} {a} {a}", ctx(a="x" * 500 + "\nnext"))
    assert "\n" not in text and len(text) <= problemtext.MAX_HEADLINE_CHARS


# --------------------------------------------------------------------------- loading


def test_bad_template_is_a_load_error_with_file_line_field(tmp_path: Path) -> None:
    path = write(tmp_path, PACK.replace("({failed.mode|octal})", "({failed.mode|oct})"))
    (error,) = load_errors(path)
    assert error.startswith(f"{path}:12: [checks[0].problem] problem headline: unknown filter 'oct'")


def test_failed_needs_a_star_assertion(tmp_path: Path) -> None:
    path = write(tmp_path, PACK.replace("files.*.mode", "count").replace(
        'op: mode_at_most, value: "0755"', "op: lt, value: 1"))
    (error,) = load_errors(path)
    assert "[checks[0].problem]" in error and "needs an assertion on a fact path with `*`" in error


def test_unknown_fact_in_template_is_a_load_error(tmp_path: Path) -> None:
    schema = {"type": "object", "additionalProperties": False, "properties": {
        "count": {"type": "integer"},
        "files": {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                             "properties": {"path": {"type": "string"},
                                                            "mode": {"type": "integer"}}}}}}
    path = write(tmp_path, PACK.replace("{failed.mode|octal}", "{failed.perms|octal}, {cout}"))
    errors = load_errors(path, fact_schemas={"file_search": schema})
    assert any(":12: [checks[0].problem] {files.*.perms}: no fact 'perms' under files.*" in e for e in errors)
    assert any("{cout}: no fact 'cout' under the facts" in e for e in errors)
    # and the valid template loads against the same schema
    assert load_packs([write(tmp_path, PACK, "good.yaml")], fact_schemas={"file_search": schema})


def test_fix_file_is_validated(tmp_path: Path) -> None:
    (error,) = load_errors(write(tmp_path, PACK.replace("fix_file: /etc/cron.d", "fix_file: etc/cron.d")))
    assert ":13: [checks[0].fix_file]" in error
    (error,) = load_errors(write(tmp_path, PACK.replace("fix_file: /etc/cron.d", "fix_file: /etc/../x")))
    assert "without '.' or '..'" in error
    (check,) = load_packs([write(tmp_path, PACK)])
    assert check.fix_file == "/etc/cron.d" and check.problem and check.problem.startswith("{failed}")


def test_fact_references_cover_conditions_and_headline(tmp_path: Path) -> None:
    raw = yamlload.load_text(PACK, "pack.yaml")["checks"][0]
    refs = [path for _, path in fact_references(raw)]
    assert refs == ["files.*.mode", "files.*.mode"]


def test_fact_path_problem_walks_lists_and_maps() -> None:
    schema = {"type": "object", "additionalProperties": False, "properties": {
        "settings": {"type": "object", "additionalProperties": {"type": "string"}},
        "users": {"type": "array", "items": {"type": "string"}}}}
    assert fact_path_problem(schema, "settings.anything") is None
    assert fact_path_problem(schema, "users.*") is None
    assert fact_path_problem(schema, "users.*.name") == "users.* has no fields"
    assert (fact_path_problem(schema, "nope") or "").startswith("no fact 'nope' under the facts")


def test_message_names_each_failing_assertion(tmp_path: Path) -> None:
    pack = PACK.replace('problem: "{failed} {failed|plural:is:are} writable by every user ({failed.mode|octal})"',
                        'problem: "{message|capital} in {target}"')
    pack = pack.replace('value: "0755"}', 'value: "0755", message: "a cron file is writable by others"}\n'
                        '        - {fact: count, op: lt, value: 1, message: "cron files exist"}')
    tree = cron_tree(tmp_path, {"backup": 0o666})
    (finding,) = scan(tree, write(tmp_path, pack))
    assert finding.problem == "A cron file is writable by others and cron files exist in dir:web1"


def test_plural_counts_distinct_names() -> None:
    facts = ctx(users=["bob", "bob"])
    assert problemtext.render("{users} {users|plural:is:are} here", facts) == "bob is here"
