"""Check pack loading: every error names file, line and field, and all are listed."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from smbaudit.cli import cli
from smbaudit.errors import InputFileError
from smbaudit.models import Severity
from smbaudit.packs.loader import load_packs

GOOD = """\
schema: 1
checks:
  - id: demo.one
    title: A good check
    description: d
    category: access_control
    severity: high
    rationale: r
    remediation: fix it
    probe: file
    params: {path: /etc/passwd}
    condition:
      all:
        - {fact: mode, op: mode_at_most, value: "0644"}
"""

PROBES = {"file": {"type": "object", "additionalProperties": False, "required": ["path"],
                   "properties": {"path": {"type": "string"}}}}


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def errors_of(paths: list[Path], **kw: object) -> list[str]:
    with pytest.raises(InputFileError) as info:
        load_packs(paths, **kw)  # type: ignore[arg-type]
    return [str(e) for e in info.value.errors]


def test_good_pack_loads(tmp_path: Path) -> None:
    checks = load_packs([write(tmp_path, "a.yaml", GOOD)], probe_schemas=PROBES)
    assert [c.id for c in checks] == ["demo.one"]
    assert checks[0].severity is Severity.HIGH
    assert checks[0].source.line == 3
    assert checks[0].pack == "a"


def test_unknown_key_names_file_line_and_key(tmp_path: Path) -> None:
    p = write(tmp_path, "a.yaml", GOOD.replace("    severity: high", "    severity: high\n    sevrity: low"))
    errs = errors_of([p])
    assert len(errs) == 1
    assert errs[0].startswith(f"{p}:8:")
    assert "checks[0].sevrity" in errs[0] and "unknown key 'sevrity'" in errs[0]


def test_wrong_type_and_bad_enum_all_listed(tmp_path: Path) -> None:
    text = GOOD.replace("severity: high", "severity: urgent").replace("title: A good check", "title: 42")
    p = write(tmp_path, "a.yaml", text)
    errs = errors_of([p])
    assert any(":4:" in e and "checks[0].title" in e for e in errs), errs
    assert any(":7:" in e and "checks[0].severity" in e and "urgent" in e for e in errs), errs


def test_invalid_regex_named(tmp_path: Path) -> None:
    text = GOOD.replace('{fact: mode, op: mode_at_most, value: "0644"}', '{fact: lines, op: matches, value: "([a-z"}')
    errs = errors_of([write(tmp_path, "a.yaml", text)])
    assert len(errs) == 1 and ":14:" in errs[0] and "invalid regular expression" in errs[0]
    assert "checks[0].condition.all[0].value" in errs[0]


def test_not_yaml_at_all(tmp_path: Path) -> None:
    p = write(tmp_path, "a.yaml", "schema: 1\nchecks: [\n  - {id: x\n")
    errs = errors_of([p])
    assert errs[0].startswith(str(p)) and "not valid YAML" in errs[0]
    p2 = tmp_path / "b.yaml"
    p2.write_bytes(b"\xff\xfe\x00binary")
    assert "not a UTF-8" in errors_of([p2])[0]


def test_a_list_is_not_a_pack(tmp_path: Path) -> None:
    errs = errors_of([write(tmp_path, "a.yaml", "- 1\n- 2\n")])
    assert ":1:" in errs[0] and "mapping" in errs[0]


def test_duplicate_keys_rejected(tmp_path: Path) -> None:
    p = write(tmp_path, "a.yaml", GOOD.replace("    probe: file", "    probe: file\n    probe: file"))
    errs = errors_of([p])
    assert ":11:" in errs[0] and "duplicate key 'probe'" in errs[0]


def test_duplicate_ids_across_packs(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", GOOD)
    b = write(tmp_path, "b.yaml", GOOD)
    errs = errors_of([a, b])
    assert len(errs) == 1 and str(b) in errs[0] and "duplicate check id 'demo.one'" in errs[0]
    assert f"{a}:3" in errs[0]


def test_unknown_probe_and_bad_params(tmp_path: Path) -> None:
    text = GOOD.replace("probe: file", "probe: nosuch")
    errs = errors_of([write(tmp_path, "a.yaml", text)], probe_schemas=PROBES)
    assert "unknown probe 'nosuch'" in errs[0] and "checks[0].probe" in errs[0]
    text = GOOD.replace("params: {path: /etc/passwd}", "params: {path: /etc/passwd, colour: red}")
    errs = errors_of([write(tmp_path, "b.yaml", text)], probe_schemas=PROBES)
    assert "checks[0].params" in errs[0] and "colour" in errs[0]


def test_operator_value_shapes(tmp_path: Path) -> None:
    text = GOOD.replace('{fact: mode, op: mode_at_most, value: "0644"}', '{fact: n, op: in, value: 3}\n        - {fact: n, op: lt, value: "x"}\n        - {fact: n, op: equals}')
    errs = errors_of([write(tmp_path, "a.yaml", text)])
    assert len(errs) == 3
    assert "needs a list" in errs[0] and "needs a number" in errs[1] and "needs a `value`" in errs[2]


def test_compliance_ids_checked(tmp_path: Path) -> None:
    text = GOOD.replace("    probe: file", "    compliance: {hipaa: ['164.312(z)']}\n    probe: file")

    def check(framework: str, req: str) -> str | None:
        return None if req == "164.312(a)(1)" else f"unknown {framework} requirement {req!r}"

    errs = errors_of([write(tmp_path, "a.yaml", text)], requirement_check=check)
    assert "checks[0].compliance.hipaa[0]" in errs[0] and "164.312(z)" in errs[0]


def test_nested_conditions_validate(tmp_path: Path) -> None:
    text = GOOD.replace('        - {fact: mode, op: mode_at_most, value: "0644"}',
                        '        - any:\n            - {fact: a, op: is_true}\n            - {fact: b, op: bogus}')
    errs = errors_of([write(tmp_path, "a.yaml", text)])
    assert len(errs) == 1 and "bogus" in errs[0] and "condition.all[0].any[1].op" in errs[0]


def test_validate_command_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    good = write(tmp_path, "good.yaml", GOOD.replace("demo.one", "zz-local.one"))
    result = runner.invoke(cli, ["checks", "validate", str(good)])
    assert result.exit_code == 0, result.output
    assert "1 check(s) valid" in result.output
    bad = write(tmp_path, "bad.yaml", GOOD.replace("rationale: r", "rationale: r\n    colour: red"))
    result = runner.invoke(cli, ["checks", "validate", str(bad)])
    assert result.exit_code == 2
    assert "colour" in result.output and f"{bad}:9" in result.output


def test_shipped_packs_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    from smbaudit.catalog import load_catalog

    monkeypatch.setenv("SMBAUDIT_NO_PACK_CACHE", "1")  # validated here, not read from the cache
    catalog = load_catalog()
    assert len(catalog.checks) >= 1
    for c in catalog.checks:
        assert c.rationale and c.remediation and c.description, c.id


# --------------------------------------------------------------------------- overriding a check


def test_override_replaces_the_earlier_check(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", GOOD)
    b = write(tmp_path, "b.yaml", GOOD.replace("    title: A good check",
                                               "    overrides: true\n    title: Mine")
              .replace("severity: high", "severity: low"))
    checks = load_packs([a, b])
    assert [(c.id, c.title, c.severity) for c in checks] == [("demo.one", "Mine", Severity.LOW)]
    assert checks[0].source.path == str(b) and str(checks[0].overridden) == f"{a}:3"


def test_pack_level_override(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", GOOD)
    b = write(tmp_path, "b.yaml", GOOD.replace("schema: 1\n", "schema: 1\noverrides: true\n"))
    assert load_packs([a, b])[0].source.path == str(b)


def test_override_with_nothing_to_override_is_an_error(tmp_path: Path) -> None:
    # a mistyped id would otherwise add a second check while the shipped one still runs
    b = write(tmp_path, "b.yaml", GOOD.replace("    title:", "    overrides: true\n    title:"))
    errs = errors_of([b])
    assert len(errs) == 1 and f"{b}:3" in errs[0] and "nothing to override" in errs[0]


def test_duplicate_without_override_names_both_places(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", GOOD)
    b = write(tmp_path, "b.yaml", GOOD)
    errs = errors_of([a, b])
    assert len(errs) == 1 and f"{b}:3" in errs[0] and f"{a}:3" in errs[0]
    assert "overrides: true" in errs[0]  # says how to replace it


def test_overridden_twice_is_an_error(tmp_path: Path) -> None:
    over = GOOD.replace("schema: 1\n", "schema: 1\noverrides: true\n")
    a, b, c = (write(tmp_path, "a.yaml", GOOD), write(tmp_path, "b.yaml", over),
               write(tmp_path, "c.yaml", over))
    errs = errors_of([a, b, c])
    assert len(errs) == 1 and f"{c}:4" in errs[0] and "overridden twice" in errs[0]
    assert f"{b}:4" in errs[0]


def test_the_same_file_twice_is_not_its_own_duplicate(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", GOOD)
    assert len(load_packs([a, tmp_path, Path(str(a))])) == 1


def test_validate_the_shipped_folder() -> None:
    from smbaudit.resources import checks_dir

    result = CliRunner().invoke(cli, ["checks", "validate", str(checks_dir())])
    assert result.exit_code == 0, result.output[:2000]
    assert result.output.startswith("ok: ") and " 0 check(s)" not in result.output


SHIPPED_OVERRIDE = """\
schema: 1
pack: site
{pack_level}checks:
  - id: files.passwd-backup-permissions
    {check_level}title: "/etc/passwd- is private to root"
    description: d
    category: access_control
    severity: high
    rationale: r
    remediation: chmod 0600 /etc/passwd-
    probe: file
    params: {{path: /etc/passwd-}}
    condition: {{all: [{{fact: mode, op: mode_at_most, value: "0600"}}]}}
"""


def test_a_user_pack_overrides_a_shipped_check(tmp_path: Path) -> None:
    runner = CliRunner()
    plain = write(tmp_path, "plain.yaml", SHIPPED_OVERRIDE.format(pack_level="", check_level=""))
    result = runner.invoke(cli, ["checks", "validate", str(plain)])
    assert result.exit_code == 2
    assert f"{plain}:4" in result.output and "cis-files.yaml:6" in result.output
    for name, pack_level, check_level in (("p.yaml", "overrides: true\n", ""),
                                          ("c.yaml", "", "overrides: true\n    ")):
        mine = write(tmp_path, name, SHIPPED_OVERRIDE.format(pack_level=pack_level,
                                                             check_level=check_level))
        result = runner.invoke(cli, ["checks", "validate", str(mine)])
        assert result.exit_code == 0, result.output
        assert "1 check(s) valid" in result.output and "overrides" in result.output
        assert "cis-files.yaml:6" in result.output
    shown = runner.invoke(cli, ["checks", "show", "files.passwd-backup-permissions",
                                "--checks", str(mine)])
    assert "private to root" in shown.output and "severity: high" in shown.output
    assert f"defined in: {mine}:4 (overrides " in shown.output
