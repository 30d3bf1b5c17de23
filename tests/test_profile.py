"""Scan profiles, `smbaudit init`, the run lock and the log file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import filelock
import platformdirs
import pytest
from click.testing import CliRunner

from smbaudit import profile
from smbaudit.cli import cli
from smbaudit.errors import InputFileError

PACK = """\
schema: 1
checks:
  - id: t.secret-mode
    title: the secret file is private
    description: d
    category: access_control
    severity: medium
    rationale: r
    remediation: chmod 0600 /etc/secret
    probe: file
    params: {path: /etc/secret}
    location: path
    condition: {all: [{fact: mode, op: mode_at_most, value: "0600"}]}
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "tree" / "etc").mkdir(parents=True)
    secret = tmp_path / "tree" / "etc" / "secret"
    secret.write_text("s")
    secret.chmod(0o644)
    (tmp_path / "pack.yaml").write_text(PACK)
    return tmp_path


def write_profile(site: Path, extra: str = "") -> Path:
    p = site / "client-a.yaml"
    p.write_text(f"""\
schema: 1
name: client-a
targets: [dir:tree]
checks: {{default: false, paths: [pack.yaml]}}
outputs: {{dir: out, formats: [json, markdown]}}
fail_on: high
history: {{db: hist/h.db}}
{extra}""")
    return p


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_profile_runs_with_paths_relative_to_itself(site: Path, tmp_path_factory: pytest.TempPathFactory,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    p = write_profile(site)
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))  # cron starts in another folder
    code, out = run("scan", "--profile", str(p), "-q")
    assert code == 0, out  # medium finding, fail_on high
    assert out == ""  # -q: nothing wrong, nothing printed
    data = json.loads((site / "out" / "report.json").read_text())
    assert data["targets"][0]["name"] == f"dir:{site / 'tree'}"
    assert (site / "out" / "report.md").is_file() and (site / "hist" / "h.db").is_file()


def test_command_line_overrides_profile(site: Path) -> None:
    p = write_profile(site)
    # --fail-on on the command line wins over the profile's `fail_on: high`
    code, _ = run("scan", "--profile", str(p), "--fail-on", "medium", "-q")
    assert code == 1
    # -f/-o win over the profile's outputs
    code, out = run("scan", "--profile", str(p), "-f", "csv", "-o", str(site / "x.csv"), "-q")
    assert code == 0 and (site / "x.csv").is_file()
    # extra targets replace the profile's
    code, out = run("scan", "--profile", str(p), f"dir:{site / 'nowhere'}", "-q")
    assert code == 2 and "nowhere" in out


@pytest.mark.parametrize(("extra", "line", "field", "words"), [
    ("fail_on: severe\n", 7, "fail_on", "is not one of"),
    ("scan: {jobs: 0}\n", 8, "scan.jobs", "less than the minimum"),
    ("notify: {email: {to: [a@b.c], smtp_port: 70000}}\n", 8, "notify.email.smtp_port", "maximum"),
    ("nofity: {webhook: http://127.0.0.1:9/}\n", 8, "nofity", "unknown key"),
    ("notify: {webhook: ftp://x}\n", 8, "notify.webhook", "does not match"),
])
def test_profile_errors_name_file_line_field(site: Path, extra: str, line: int, field: str,
                                             words: str) -> None:
    p = write_profile(site, extra)
    if extra.startswith("fail_on"):
        p.write_text(p.read_text().replace("fail_on: high\n", ""))
    with pytest.raises(InputFileError) as exc:
        profile.load(p)
    assert any(e.path == str(p) and e.line == line and e.field == field and words in e.message
               for e in exc.value.errors), [str(e) for e in exc.value.errors]
    code, out = run("scan", "--profile", str(p))
    assert code == 2 and f"{p}:{line}: [{field}]" in out


def test_init_writes_a_valid_commented_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = run("init", "client-b.yaml")
    assert code == 0, out
    text = (tmp_path / "client-b.yaml").read_text()
    assert text.count("\n#") > 10 and "name: client-b" in text
    prof = profile.load(tmp_path / "client-b.yaml")
    assert prof.settings["targets"] == ("local",) and prof.settings["fail_on"] == "high"
    assert run("init", "client-b.yaml")[0] == 2  # never overwrites without --force
    assert run("init", "client-b.yaml", "--force")[0] == 0


def test_lock_refuses_an_overlapping_run_of_the_same_profile(site: Path) -> None:
    p = write_profile(site, "log_file: logs/scan.log\n")
    prof = profile.load(p)
    lock_path = prof.auto_lock_path(platformdirs.user_state_path("smbaudit", appauthor=False))
    assert str(lock_path).startswith(os.environ["XDG_STATE_HOME"])  # conftest: a throwaway one
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    # Given another run holding this profile's lock
    with filelock.FileLock(lock_path, timeout=0):
        code, out = run("scan", "--profile", str(p), "-q")
        # Then this run scans nothing and says why
        assert code == 2 and "another scan holds the lock" in out
        assert not list((site / "out").glob("report.*"))
        # --no-lock (or another profile) is not blocked
        assert run("scan", "--profile", str(p), "--no-lock", "-q")[0] == 0
    assert run("scan", "--profile", str(p), "-q")[0] == 0  # lock released
    log = (site / "logs" / "scan.log").read_text().splitlines()
    assert any("another scan holds the lock" in ln for ln in log)
    assert sum("scan finished: exit 0" in ln for ln in log) == 2


SLOW_PLUGIN = '''
import time
from smbaudit.probes.base import Probe
from smbaudit.probes.hookspecs import hookimpl

class Slow(Probe):
    name = "slowlock"
    def collect(self, target, params, ctx):
        print("STARTED", flush=True)
        time.sleep(3)
        return {"ok": True}

@hookimpl
def smbaudit_register_probes():
    return [Slow]
'''


def test_two_overlapping_cron_runs(site: Path) -> None:
    """Real processes: the second run of a profile starts while the first is scanning."""
    pkg = site / "site"
    info = pkg / "smbaudit_slowlock-1.0.dist-info"
    info.mkdir(parents=True)
    (pkg / "smbaudit_slowlock.py").write_text(SLOW_PLUGIN)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: smbaudit-slowlock\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[smbaudit.probes]\nslowlock = smbaudit_slowlock\n")
    (site / "slow.yaml").write_text(
        "schema: 1\nchecks:\n  - {id: t.slow, title: slow, description: d, category: hardening,\n"
        "     severity: low, rationale: r, remediation: x, probe: slowlock,\n"
        "     condition: {all: [{fact: ok, op: is_true}]}}\n")
    p = write_profile(site, "scan: {jobs: 1}\n").read_text()
    (site / "slow-profile.yaml").write_text(
        p.replace("paths: [pack.yaml]", "paths: [slow.yaml], plugins: [slowlock]"))
    env = dict(os.environ, PYTHONPATH=str(pkg) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "smbaudit", "scan", "--profile", str(site / "slow-profile.yaml"),
           "-q"]
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert first.stdout is not None
        line = first.stdout.readline()
        assert "STARTED" in line, (line, first.communicate(timeout=30))
        t0 = time.monotonic()
        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 2 and "another scan holds the lock" in second.stderr
        assert time.monotonic() - t0 < 3  # refused at once, not queued
        assert first.wait(60) == 0
    finally:
        first.kill()


def test_profile_frameworks_feed_compliance_and_flags_override(site: Path) -> None:
    p = write_profile(site, "frameworks: [hipaa]\n")
    assert profile.load(p).settings["frameworks"] == ("hipaa",)
    assert run("scan", "--profile", str(p), "-q")[0] == 0
    data = json.loads((site / "out" / "report.json").read_text())
    assert [c["framework"] for c in data["compliance"]] == ["hipaa"]
    assert run("scan", "--profile", str(p), "--framework", "gdpr", "-q")[0] == 0
    data = json.loads((site / "out" / "report.json").read_text())
    assert [c["framework"] for c in data["compliance"]] == ["gdpr"]
