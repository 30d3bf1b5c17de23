"""Commands behave alike: `-f/-o` wherever a report is written, choices in any case, a folder
for `-o out/`, no binary on a terminal, `history` with nothing recorded is not an error."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from smbaudit.cli import cli

PACK = """\
schema: 1
checks:
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
# Commands that write a report, and the file name a folder given to -o gets.
REPORT_COMMANDS = {("scan",): "report", ("report",): "report", ("diff",): "diff",
                   ("history",): "history", ("policies", "coverage"): "coverage"}


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def commands(group: click.Group = cli, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], click.Command]:
    found: dict[tuple[str, ...], click.Command] = {}
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # loads lazily registered commands too
        cmd = group.get_command(ctx, name)
        assert cmd is not None and cmd.name == name, name
        if isinstance(cmd, click.Group):
            found.update(commands(cmd, (*path, name)))
        else:
            found[(*path, name)] = cmd
    return found


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tree" / "etc").mkdir(parents=True)
    (tmp_path / "tree" / "etc" / "notes").write_text("n")
    (tmp_path / "pack.yaml").write_text(PACK)
    return tmp_path


def scan(root: Path, *extra: str) -> tuple[int, str]:
    return run("scan", f"dir:{root / 'tree'}", "--no-default-checks", "--checks",
               str(root / "pack.yaml"), "--db", str(root / "h.db"), "-q", *extra)


def test_every_choice_accepts_any_case() -> None:
    for path, cmd in commands().items():
        for param in cmd.params:
            if isinstance(param.type, click.Choice):
                assert not param.type.case_sensitive, f"{' '.join(path)} {param.name}"


def test_every_report_command_has_f_and_o() -> None:
    found = commands()
    for path in REPORT_COMMANDS:
        opts = {o for p in found[path].params for o in getattr(p, "opts", [])}
        assert {"-f", "--format", "-o", "--output"} <= opts, path


def test_every_format_option_has_the_short_form() -> None:
    for path, cmd in commands().items():
        for param in cmd.params:
            opts = getattr(param, "opts", [])
            if "--format" in opts:
                assert "-f" in opts, " ".join(path)


def test_choices_in_any_case(env: Path) -> None:
    code, out = scan(env, "-f", "JSON", "-o", "r.json", "--fail-on", "None")
    assert code == 0, out
    assert json.loads((env / "r.json").read_text())["summary"]["counts"]["fail"] == 0
    code, out = run("checks", "list", "--category", "Encryption")
    assert code == 0 and out.strip(), out
    assert all(" " in line for line in out.splitlines())
    for name in ("gdpr", "GDPR", "Gdpr"):
        code, out = run("policies", "show", name)
        assert code == 0 and "Art. 32" in out
    code, out = run("history", "--db", str(env / "h.db"), "-f", "Json")
    assert code == 0 and len(json.loads(out)) == 1


def test_history_with_no_store_is_not_an_error(env: Path) -> None:
    code, out = run("history", "--db", str(env / "none.db"))
    assert (code, out) == (0, "no scans recorded yet\n")
    code, out = run("history", "--db", str(env / "none.db"), "-f", "json")
    assert code == 0 and json.loads(out) == []
    assert not (env / "none.db").exists()  # reading never creates the store


def test_output_folder_by_trailing_slash_or_existing_folder(env: Path) -> None:
    code, out = scan(env, "-f", "json", "-o", "newdir/")
    assert code == 0, out
    assert (env / "newdir").is_dir() and (env / "newdir" / "report.json").is_file()
    (env / "existing").mkdir()
    code, out = scan(env, "-f", "csv", "-o", "existing")
    assert code == 0 and (env / "existing" / "report.csv").is_file()
    scan_id = json.loads((env / "newdir" / "report.json").read_text())["scan_id"]
    code, out = run("report", scan_id[:12], "--db", str(env / "h.db"), "-f", "Markdown",
                    "-o", "again/")
    assert code == 0, out
    assert (env / "again" / "report.md").read_text().startswith("#")
    code, out = run("diff", "--db", str(env / "h.db"), "-f", "json", "-o", "diffs/")
    assert code == 0, out
    assert json.loads((env / "diffs" / "diff.json").read_text())["old_scan"]["scan_id"] == scan_id
    code, out = run("history", "--db", str(env / "h.db"), "-o", "hist.txt")
    assert code == 0 and (env / "hist.txt").read_text().startswith("SCAN")
    code, out = run("policies", "coverage", "--framework", "ccpa", "-f", "JSON", "-o", "cov/")
    assert code == 0, out
    assert json.loads((env / "cov" / "coverage.json").read_text())["compliance"]


def _on_a_terminal(args: list[str], cwd: Path) -> tuple[int, bytes]:
    """Run smbaudit with its standard output on a pseudo-terminal; what it printed there."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "smbaudit", *args], cwd=cwd,
                              stdout=follower, stderr=subprocess.PIPE, timeout=120,
                              env={**os.environ, "XDG_DATA_HOME": str(cwd / "xdg")})
        os.close(follower)
        follower = -1
        os.set_blocking(leader, False)
        try:
            shown = os.read(leader, 65536)
        except (BlockingIOError, OSError):
            shown = b""
        return proc.returncode, shown + proc.stderr
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)


def test_pdf_is_never_written_to_a_terminal(env: Path) -> None:
    code, _ = scan(env, "-f", "json", "-o", "r.json")
    scan_id = json.loads((env / "r.json").read_text())["scan_id"][:12]
    code, shown = _on_a_terminal(["report", scan_id, "--db", str(env / "h.db"), "-f", "PDF"], env)
    assert code == 2
    assert b"%PDF" not in shown
    lines = shown.decode().strip().splitlines()
    assert len(lines) == 1 and "-o" in lines[0], lines
    code, shown = _on_a_terminal(["scan", f"dir:{env / 'tree'}", "--no-default-checks",
                                  "--checks", "pack.yaml", "--no-history", "-f", "pdf", "-o", "-"],
                                 env)
    assert code == 2 and b"%PDF" not in shown
    # A pipe is not a terminal: the PDF goes through, for `> file` or `| lp`
    proc = subprocess.run([sys.executable, "-m", "smbaudit", "report", scan_id, "--db",
                           str(env / "h.db"), "-f", "pdf"], cwd=env, capture_output=True,
                          timeout=120, env={**os.environ, "XDG_DATA_HOME": str(env / "xdg")})
    assert proc.returncode == 0 and proc.stdout.startswith(b"%PDF")


def test_name_labels_a_target_in_reports_and_history(env: Path) -> None:
    code, out = scan(env, "--name", "web-1", "-f", "json", "-f", "html", "-o", "out/")
    assert code == 0, out
    data = json.loads((env / "out" / "report.json").read_text())
    assert [t["name"] for t in data["targets"]] == ["web-1"]
    assert data["targets"][0]["details"]["target"] == f"dir:{env / 'tree'}"  # what was scanned
    assert {f["target"] for f in data["findings"]} == {"web-1"}
    html = (env / "out" / "report.html").read_text()
    assert "<title>Security audit report: web-1</title>" in html
    code, out = run("history", "--db", str(env / "h.db"), "--target", "web-1")
    assert code == 0 and "web-1" in out and str(env) not in out


def test_bad_names_are_refused_before_scanning(env: Path) -> None:
    tree = f"dir:{env / 'tree'}"
    for args, words in ((["--name", "a", "--name", "b"], "2 time(s) for 1 target"),
                        (["--name", " web"], "spaces"),
                        (["--name", "we\x1bb"], "control characters"),
                        ([tree, "--name", "x", "--name", "x"], "same name"),
                        (["127.0.0.1:1", "--name", "x", "--name", "y"], "network target")):
        code, out = scan(env, *args)
        assert code == 2 and words in out, (args, out)
        assert len(out.strip().splitlines()) == 1
    assert not (env / "h.db").exists()


def test_profile_names_targets(env: Path) -> None:
    (env / "p.yaml").write_text(
        "schema: 1\ntargets:\n  - {target: dir:tree, name: golden image}\n"
        "checks: {default: false, paths: [pack.yaml]}\n"
        "outputs: {dir: out, formats: [JSON]}\nhistory: {db: h.db}\n")
    code, out = run("scan", "--profile", str(env / "p.yaml"), "-q", "--no-lock")
    assert code == 0, out
    data = json.loads((env / "out" / "report.json").read_text())
    assert [t["name"] for t in data["targets"]] == ["golden image"]
    # Targets given on the command line drop the profile's names
    code, out = run("scan", "--profile", str(env / "p.yaml"), f"dir:{env / 'tree'}", "-q",
                    "--no-lock")
    data = json.loads((env / "out" / "report.json").read_text())
    assert [t["name"] for t in data["targets"]] == [f"dir:{env / 'tree'}"]
    (env / "bad.yaml").write_text("schema: 1\ntargets:\n  - local\n  - {target: dir:tree, name: \"\"}\n")
    code, out = run("scan", "--profile", str(env / "bad.yaml"))
    assert code == 2 and f"{env / 'bad.yaml'}:4" in out, out


def test_selectors_and_check_ids_in_any_case(env: Path) -> None:
    code, out = scan(env, "--select", "HARDENING", "-f", "json", "-o", "sel.json")
    assert code == 0, out
    assert [f["check_id"] for f in json.loads((env / "sel.json").read_text())["findings"]] == \
        ["t.notes-mode"]
    code, out = scan(env, "--skip", "T.Notes-*", "--select", "t.*", "-f", "json", "-o", "none.json")
    assert code == 0 and json.loads((env / "none.json").read_text())["findings"] == []
    code, out = run("checks", "show", "SSH.ROOT-LOGIN")
    assert code == 0 and out.startswith("ssh.root-login:")


def test_profile_formats_in_any_case_and_bad_ones_by_line(env: Path) -> None:
    from smbaudit.profile import FORMATS
    from smbaudit.render.formats import OutputFormat

    assert set(FORMATS) == {f.value for f in OutputFormat}
    (env / "p.yaml").write_text("schema: 1\ntargets: [dir:tree]\n"
                                "checks: {default: false, paths: [pack.yaml]}\n"
                                "outputs:\n  dir: out\n  formats: [Json, xml]\n")
    code, out = run("scan", "--profile", str(env / "p.yaml"), "--no-lock")
    assert code == 2 and f"{env / 'p.yaml'}:6: [outputs.formats[1]]" in out and "'xml'" in out
    (env / "p.yaml").write_text("schema: 1\ntargets: [dir:tree]\n"
                                "checks: {default: false, paths: [pack.yaml]}\n"
                                "outputs:\n  dir: out\n  formats: [JSON]\nhistory: {enabled: false}\n")
    code, out = run("scan", "--profile", str(env / "p.yaml"), "--no-lock", "-q")
    assert code == 0 and (env / "out" / "report.json").is_file(), out


def test_usage_errors_are_one_line(env: Path) -> None:
    for args, words in ((["scan", "local", "-f", "xml"], "'xml' is not one of"),
                        (["checks", "list", "--category", "crypto"], "'crypto' is not one of"),
                        (["nosuch"], "No such command")):
        proc = subprocess.run([sys.executable, "-m", "smbaudit", *args], cwd=env,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and proc.stdout == ""
        assert proc.stderr.count("\n") == 1 and words in proc.stderr, proc.stderr
        assert proc.stderr.startswith("smbaudit: ") and "--help" in proc.stderr
