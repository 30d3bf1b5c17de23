"""End to end: `smbaudit scan 127.0.0.1:PORT --format json -o -` through nmap, the engine and
the JSON report, against a real weak nginx and a port nobody listens on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from netservers import free_port, needs, nginx


@needs("nmap")
@needs("nginx")
def test_scan_network_endpoint_json(tmp_path: Path) -> None:
    closed = free_port()
    with nginx(tmp_path / "web", strong=False) as web:
        # When the CLI scans the TLS endpoint and a closed port, by IP literal
        proc = subprocess.run(
            [sys.executable, "-m", "smbaudit", "scan", f"127.0.0.1:{web.tls_port}", f"127.0.0.1:{closed}",
             "--format", "json", "-o", "-", "--no-history", "--timeout", "3", "--scan-type", "connect"],
            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode in (1, 3), proc.stderr
    report = json.loads(proc.stdout)
    name = f"127.0.0.1:{web.tls_port}"
    # Then the service is a target named host:port, identified without nmap
    targets = {t["name"]: t for t in report["targets"]}
    assert targets[name]["details"]["tunnel"] == "ssl" and targets[name]["details"]["product"] == "nginx"
    # and the closed port is reported, not dropped
    assert targets[f"127.0.0.1:{closed}"]["reachable"] is False
    failed = {f["check_id"] for f in report["findings"] if f["status"] == "fail" and f["target"] == name}
    assert {"tls.no-tls10-tls11", "tls.no-null-ciphers", "tls.cert-key-strength",
            "tls.cert-signature-hash", "tls.cert-trusted", "tls.hsts", "http.server-version-hidden",
            "service-version.supported-release"} <= failed
    exposed = [f for f in report["findings"] if f["target"] == name]
    assert exposed and all(f["network_exposed"] for f in exposed)
    assert all(f["location"] == name for f in exposed if f["status"] == "fail")


@pytest.mark.parametrize("spec", ["10.0.0.0/8", "bad host name"])
def test_bad_network_spec_is_bad_input(spec: str, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "smbaudit", "scan", spec, "--no-history", "-f", "json",
                           "-o", "-"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2, (proc.stdout[-500:], proc.stderr[-500:])


def test_bad_network_spec_names_the_reason(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "smbaudit", "scan", "10.0.0.0/8", "--no-history"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2 and "too many" in proc.stderr


@needs("nmap")
@needs("nginx")
def test_ca_file_makes_a_private_ca_trusted(tmp_path: Path) -> None:
    with nginx(tmp_path / "web", strong=True) as web:
        def trusted(*extra: str) -> str:
            proc = subprocess.run(
                [sys.executable, "-m", "smbaudit", "scan", f"127.0.0.1:{web.tls_port}", "--select", "tls.cert-trusted",
                 "--format", "json", "-o", "-", "--no-history", "--timeout", "3", "--scan-type", "connect",
                 "--fail-on", "none", *extra], capture_output=True, text=True, timeout=120, cwd=tmp_path)
            assert proc.returncode == 0, proc.stderr
            return json.loads(proc.stdout)["findings"][0]["status"]

        assert trusted() == "fail"  # a private CA is not in the system store
        assert trusted("--ca-file", str(web.certs.ca)) == "pass"
