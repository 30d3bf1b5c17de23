"""The scan command end to end: outputs, exit codes, interruption, third-party plugins."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from smbaudit.cli import cli
from smbaudit.demotree import build

PACK = """\
schema: 1
checks:
  - id: t.passwd-mode
    title: passwd is not world-writable
    description: d
    category: access_control
    severity: {severity}
    rationale: r
    remediation: chmod 644 /etc/passwd
    probe: file
    params: {{path: /etc/passwd}}
    condition:
      all:
        - {{fact: world_writable, op: is_false}}
"""


def tree(tmp_path: Path, mode: int) -> Path:
    root = tmp_path / "tree"
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    os.chmod(root / "etc/passwd", mode)
    return root


def pack(tmp_path: Path, severity: str = "high") -> Path:
    p = tmp_path / "pack.yaml"
    p.write_text(PACK.format(severity=severity))
    return p


def scan(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["scan", *args])
    return result.exit_code, result.output


def test_json_to_file_and_stdout(tmp_path: Path) -> None:
    root, p = tree(tmp_path, 0o644), pack(tmp_path)
    out = tmp_path / "r.json"
    code, _ = scan(f"dir:{root}", "--no-default-checks", "--checks", str(p), "-f", "json", "-o", str(out))
    assert code == 0
    data = json.loads(out.read_text())
    assert data["findings"][0]["status"] == "pass" and data["findings"][0]["target"] == f"dir:{root}"
    code, output = scan(f"dir:{root}", "--no-default-checks", "--checks", str(p), "-f", "json", "-o", "-", "-q")
    assert code == 0 and json.loads(output)["complete"] is True


def test_default_outputs_and_fail_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    root, p = tree(tmp_path, 0o666), pack(tmp_path, "medium")
    code, output = scan(f"dir:{root}", "--no-default-checks", "--checks", str(p))
    assert code == 0, output  # medium is below the default threshold (high)
    assert (tmp_path / "smbaudit-report/report.html").is_file()
    assert (tmp_path / "smbaudit-report/report.json").is_file()
    assert "Risk score 3 (risk points, 0 is best)  grade A" in output and "smbaudit-report/report.html" in output
    code, _ = scan(f"dir:{root}", "--no-default-checks", "--checks", str(p), "--fail-on", "medium")
    assert code == 1
    code, output = scan(f"dir:{root}", "--no-default-checks", "--checks", str(p), "--fail-on", "medium", "-q")
    assert code == 1 and output.count("\n") == 1  # cron mode: one line


def test_bad_input_exits_2_and_scans_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text(PACK.format(severity="urgent"))
    code, output = scan(f"dir:{tmp_path}", "--no-default-checks", "--checks", str(bad))
    assert code == 2 and "bad.yaml:7" in output
    assert scan(f"dir:{tmp_path}/missing")[0] == 2
    assert scan("local", "--select", "no-such-check")[0] == 2
    assert scan("local", "-f", "json", "-f", "html", "-o", "-")[0] == 2
    assert not (tmp_path / "smbaudit-report").exists()


PLUGIN = '''
from smbaudit.probes.base import Probe
from smbaudit.probes.hookspecs import hookimpl
import time

class Slow(Probe):
    name = "slowtest"
    def collect(self, target, params, ctx):
        print("STARTED", flush=True)
        time.sleep(60)
        return {"ok": True}

class Broken(Probe):
    name = "brokentest"
    def collect(self, target, params, ctx):
        raise OSError(5, "Input/output error", "/dev/sda")

class Quick(Probe):
    name = "quicktest"
    def collect(self, target, params, ctx):
        return {"ok": True}

@hookimpl
def smbaudit_register_probes():
    return [Slow, Quick, Broken]
'''

PLUGIN_PACK = """\
schema: 1
checks:
  - {id: p.quick, title: quick check, description: d, category: hardening, severity: low,
     rationale: r, remediation: x, probe: quicktest, condition: {all: [{fact: ok, op: is_true}]}}
  - {id: p.slow, title: slow check, description: d, category: hardening, severity: low,
     rationale: r, remediation: x, probe: slowtest, condition: {all: [{fact: ok, op: is_true}]}}
"""


def install_plugin(tmp_path: Path) -> dict[str, str]:
    """A real third-party plugin: a module plus dist-info with an entry point, on PYTHONPATH."""
    site = tmp_path / "site"
    (site / "smbaudit_testplugin-1.0.dist-info").mkdir(parents=True)
    (site / "smbaudit_testplugin.py").write_text(PLUGIN)
    info = site / "smbaudit_testplugin-1.0.dist-info"
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: smbaudit-testplugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[smbaudit.probes]\ntestplugin = smbaudit_testplugin\n")
    (tmp_path / "plugin-pack.yaml").write_text(PLUGIN_PACK)
    (tmp_path / "etc").mkdir(exist_ok=True)  # the scanned folder is a (tiny) config tree
    env = dict(os.environ)
    env["PYTHONPATH"] = str(site) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_external_plugins_load_only_when_enabled(tmp_path: Path) -> None:
    env = install_plugin(tmp_path)
    cmd = [sys.executable, "-m", "smbaudit", "scan", f"dir:{tmp_path}", "--no-default-checks",
           "--checks", str(tmp_path / "plugin-pack.yaml"), "-o", str(tmp_path / "out")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "unknown probe 'quicktest'" in proc.stderr


def test_errored_check_exits_3_and_scan_goes_on(tmp_path: Path) -> None:
    env = install_plugin(tmp_path)
    p = tmp_path / "broken.yaml"
    p.write_text(PLUGIN_PACK.replace("slowtest", "brokentest"))
    cmd = [sys.executable, "-m", "smbaudit", "scan", f"dir:{tmp_path}", "--no-default-checks",
           "--checks", str(p), "--plugin", "testplugin", "-f", "json", "-o", "-"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    by = {f["check_id"]: f for f in json.loads(proc.stdout)["findings"]}
    assert by["p.quick"]["status"] == "pass"
    assert by["p.slow"]["status"] == "error" and "Input/output error" in by["p.slow"]["reason"]
    assert "could not be assessed" in proc.stderr  # the summary goes to stderr with -o -


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_scan_writes_partial_report(tmp_path: Path, sig: signal.Signals) -> None:
    env = install_plugin(tmp_path)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "smbaudit", "scan", f"dir:{tmp_path}", "--no-default-checks",
           "--checks", str(tmp_path / "plugin-pack.yaml"), "--plugin", "testplugin",
           "-o", str(out), "--jobs", "1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        line = ""
        while "STARTED" not in line and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
        assert "STARTED" in line, proc.stderr.read() if proc.poll() is not None else "no output"
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    data = json.loads((out / "report.json").read_text())
    assert data["complete"] is False
    statuses = {f["check_id"]: f["status"] for f in data["findings"]}
    assert statuses == {"p.quick": "pass", "p.slow": "skipped"}
    # partial findings: no score and no letter grade
    assert data["summary"]["score"] is None and data["summary"]["grade"] == "Incomplete"
    assert "no score" in stdout
    assert "testplugin" in data["plugins"]
    assert not list(out.glob(".*.tmp"))  # atomic writes leave no temp files


def test_demo_command(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", str(tmp_path / "d")])
    assert result.exit_code == 0 and (tmp_path / "d/etc/os-release").is_file()
    assert CliRunner().invoke(cli, ["demo", str(tmp_path / "d")]).exit_code == 2  # not empty
