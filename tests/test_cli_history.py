"""`scan --db/--waivers/--fail-on-new`, `history`, `diff` and `report` through the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from smbaudit.cli import cli

PACK = """\
schema: 1
checks:
  - id: t.secret-mode
    title: the secret file is private
    description: d
    category: access_control
    severity: high
    rationale: r
    remediation: chmod 0600 /etc/secret
    probe: file
    params: {path: /etc/secret}
    location: path
    condition: {all: [{fact: mode, op: mode_at_most, value: "0600"}]}
  - id: t.notes-mode
    title: the notes file is not world-writable
    description: d
    category: hardening
    severity: medium
    rationale: r
    remediation: chmod o-w /etc/notes
    probe: file
    params: {path: /etc/notes}
    location: path
    condition: {all: [{fact: world_writable, op: is_false}]}
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tree" / "etc").mkdir(parents=True)
    (tmp_path / "tree" / "etc" / "secret").write_text("s")
    (tmp_path / "tree" / "etc" / "notes").write_text("n")
    (tmp_path / "pack.yaml").write_text(PACK)
    set_modes(tmp_path, secret=0o600, notes=0o644)
    return tmp_path


def set_modes(root: Path, secret: int, notes: int) -> None:
    os.chmod(root / "tree" / "etc" / "secret", secret)
    os.chmod(root / "tree" / "etc" / "notes", notes)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def scan(root: Path, *extra: str) -> tuple[int, dict]:
    code, out = run("scan", f"dir:{root / 'tree'}", "--no-default-checks", "--checks",
                    str(root / "pack.yaml"), "--db", str(root / "h.db"), "-f", "json",
                    "-o", str(root / "r.json"), "-q", *extra)
    assert code in (0, 1), out
    return code, json.loads((root / "r.json").read_text())


def test_history_diff_and_rerender(env: Path) -> None:
    # Given a clean scan, then one where the secret became world-readable
    code, first = scan(env, "--fail-on-new", "medium")
    assert code == 0 and first["history"]["previous"] is None
    set_modes(env, secret=0o644, notes=0o646)
    code, second = scan(env, "--fail-on-new", "high")
    assert code == 1  # a new high finding
    diff = second["history"]["diff"]
    assert [e["check_id"] for e in diff["new"]] == ["t.secret-mode", "t.notes-mode"]
    assert [p["score"] for p in second["history"]["trend"]] == [0.0, second["summary"]["score"]]
    # A third scan with nothing new passes --fail-on-new even though findings remain
    code, third = scan(env, "--fail-on-new", "low")
    assert code == 0 and len(third["history"]["diff"]["unchanged"]) == 2
    # `history` lists all three, newest first
    code, out = run("history", "--db", str(env / "h.db"))
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 4 and lines[1].startswith(third["scan_id"][:12])
    code, out = run("history", "--db", str(env / "h.db"), "--format", "json")
    assert [r["scan_id"] for r in json.loads(out)] == [third["scan_id"], second["scan_id"],
                                                       first["scan_id"]]
    # `diff OLD NEW --format json` has the four lists
    code, out = run("diff", first["scan_id"][:8], second["scan_id"][:8], "--db", str(env / "h.db"),
                    "--format", "json")
    assert code == 0
    d = json.loads(out)
    assert {k: len(d[k]) for k in ("new", "resolved", "regressed", "unchanged")} == {
        "new": 2, "resolved": 0, "regressed": 0, "unchanged": 0}
    # Default `diff`: the last two scans of the same target
    code, out = run("diff", "--db", str(env / "h.db"))
    assert code == 0 and "Unchanged: 2" in out and "New: 0" in out
    # An old scan is re-rendered from the store: JSON identical, HTML renders
    code, out = run("report", first["scan_id"], "--format", "json", "--db", str(env / "h.db"))
    assert code == 0 and json.loads(out) == first
    code, out = run("report", second["scan_id"][:10], "-o", str(env / "old.html"),
                    "--db", str(env / "h.db"))
    assert code == 0 and "the secret file is private" in (env / "old.html").read_text()


def test_resolved_then_back_is_regressed(env: Path) -> None:
    set_modes(env, secret=0o644, notes=0o644)
    scan(env)
    set_modes(env, secret=0o600, notes=0o644)
    _, fixed = scan(env)
    assert [e["check_id"] for e in fixed["history"]["diff"]["resolved"]] == ["t.secret-mode"]
    set_modes(env, secret=0o640, notes=0o644)
    code, back = scan(env, "--fail-on-new", "high")
    assert code == 1
    assert [e["check_id"] for e in back["history"]["diff"]["regressed"]] == ["t.secret-mode"]


def test_waivers_through_the_scan(env: Path) -> None:
    set_modes(env, secret=0o644, notes=0o646)
    (env / "w.yaml").write_text(f"""\
waivers:
  - check: t.secret-mode
    target: "dir:{env}/*"
    justification: shared with the backup agent until migration
    approved_by: Jane Doe
    expires: 2999-12-31
  - check: t.gone
    target: "*"
    justification: old
    approved_by: Jane Doe
    expires: 2000-01-01
""")
    code, data = scan(env, "--waivers", str(env / "w.yaml"), "--fail-on", "high")
    assert code == 0  # the only high finding is an accepted risk
    by = {f["check_id"]: f for f in data["findings"]}
    assert by["t.secret-mode"]["status"] == "fail"
    assert by["t.secret-mode"]["waiver"]["expired"] is False
    assert by["t.notes-mode"]["waiver"] is None
    assert data["summary"]["score"] < data["summary"]["score_without_waivers"]
    assert [u["check"] for u in data["waivers"]["unmatched"]] == ["t.gone"]


def test_bad_waivers_file_exits_2_before_scanning(env: Path) -> None:
    (env / "w.yaml").write_text("waivers:\n  - check: t.secret-mode\n    target: '*'\n")
    code, out = run("scan", f"dir:{env / 'tree'}", "--no-default-checks", "--checks",
                    str(env / "pack.yaml"), "--db", str(env / "h.db"), "--waivers",
                    str(env / "w.yaml"), "-o", str(env / "out"))
    assert code == 2 and f"{env / 'w.yaml'}:2: [waivers[0].justification]" in out
    assert not (env / "out").exists() and not (env / "h.db").exists()


def test_history_errors_are_usage_errors(env: Path) -> None:
    assert run("diff", "--db", str(env / "none.db"))[0] == 2
    scan(env)
    code, out = run("diff", "--db", str(env / "h.db"))
    assert code == 2 and "nothing to compare" in out
    assert run("report", "nope", "--db", str(env / "h.db"))[0] == 2
    assert run("scan", "local", "--no-history", "--fail-on-new", "high")[0] == 2


def test_refused_scan_creates_no_history_store(tmp_path: Path) -> None:
    """A scan refused for a bad target (exit 2) leaves nothing behind: no store, no folder."""
    db = tmp_path / "store" / "history.sqlite3"
    result = CliRunner().invoke(cli, ["scan", f"dir:{tmp_path / 'missing'}", "--db", str(db),
                                      "-f", "json", "-o", str(tmp_path / "out.json"), "-q"])
    assert result.exit_code == 2, result.output
    assert not db.exists()
    assert not db.parent.exists()
    assert not (tmp_path / "out.json").exists()
