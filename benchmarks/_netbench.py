"""Shared parts of the network benchmarks: loopback endpoints, smbaudit facts, and runners and
parsers for sslyze, testssl.sh and ssh-audit. Scripts, not tests; IP literals only, no DNS.

Needs: nginx, openssh-server, nmap, testssl.sh (Debian packages) and `pip install -e '.[bench]'`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from netservers import nginx, sshd  # noqa: E402

from smbaudit.probes.base import ProbeContext  # noqa: E402
from smbaudit.probes.ssh_service import SshServiceProbe  # noqa: E402
from smbaudit.probes.tls import TlsProbe  # noqa: E402
from smbaudit.targets.base import ServiceTarget  # noqa: E402

PY = sys.executable
# sslyze pins cryptography below what smbaudit runs with, so it may live in a venv of its own:
#   python3 -m venv /tmp/sslyze-venv && /tmp/sslyze-venv/bin/pip install sslyze
#   SSLYZE_PYTHON=/tmp/sslyze-venv/bin/python python benchmarks/network_command.py
SSLYZE_PY = os.environ.get("SSLYZE_PYTHON") or PY
TESTSSL = shutil.which("testssl") or shutil.which("testssl.sh") or "testssl"
SSH_AUDIT = shutil.which("ssh-audit") or str(Path(PY).with_name("ssh-audit"))


@dataclass
class Endpoints:
    weak_tls: int
    strong_tls: int
    weak_http: int
    weak_ssh: int
    hardened_ssh: int


@contextmanager
def endpoints() -> Iterator[Endpoints]:
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        weak = stack.enter_context(nginx(Path(tmp) / "weak", strong=False))
        strong = stack.enter_context(nginx(Path(tmp) / "strong", strong=True))
        wssh = stack.enter_context(sshd(Path(tmp) / "wssh", hardened=False))
        hssh = stack.enter_context(sshd(Path(tmp) / "hssh", hardened=True))
        yield Endpoints(weak.tls_port, strong.tls_port, weak.http_port, wssh, hssh)


def ctx() -> ProbeContext:
    return ProbeContext(deadline=time.monotonic() + 120, timeout=5)


def smbaudit_tls(port: int) -> dict[str, Any]:
    return TlsProbe().collect(ServiceTarget(f"127.0.0.1:{port}", "127.0.0.1", port, "https", "ssl"),
                              {}, ctx())


def smbaudit_ssh(port: int) -> dict[str, Any]:
    return SshServiceProbe().collect(ServiceTarget(f"127.0.0.1:{port}", "127.0.0.1", port, "ssh"), {}, ctx())


def failing_items(facts: dict[str, Any], check_id: str) -> list[str]:
    """What a shipped check names as failing on these facts (empty when it passes): the probes
    report what they saw, the checks decide what is weak, so comparisons with a peer's verdicts
    go through the checks."""
    from smbaudit.catalog import load_catalog
    from smbaudit.evaluate import eval_condition

    check = next(c for c in load_catalog().checks if c.id == check_id)
    outcome = eval_condition(check.condition, facts)
    return [] if outcome.passed else sorted({label for label, _ in outcome.items})


def timed(argv: list[str], timeout: float = 900) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return time.monotonic() - start, proc


SSLYZE_ACCURACY = ["--certinfo", "--sslv2", "--sslv3", "--tlsv1", "--tlsv1_1", "--tlsv1_2", "--tlsv1_3",
                   "--http_headers"]


def run_sslyze(port: int, out: Path, commands: list[str] | None = None) -> float:
    """sslyze on an IP literal (no DNS). Without `commands`: its default scan (every command
    except HTTP headers); naming commands runs only those."""
    secs, _ = timed([SSLYZE_PY, "-m", "sslyze", "--quiet", *(commands or []), f"--json_out={out}",
                     f"127.0.0.1:{port}"])
    return secs


def run_testssl(port: int, out: Path) -> float:
    """testssl.sh's default run, no DNS lookups at all (--nodns none), IP literal target."""
    out.unlink(missing_ok=True)
    secs, _ = timed([TESTSSL, "--quiet", "--nodns", "none", "--warnings", "off", "--color", "0",
                     "--jsonfile", str(out), f"127.0.0.1:{port}"])
    return secs


def run_ssh_audit(port: int) -> tuple[float, dict[str, Any]]:
    secs, proc = timed([SSH_AUDIT, "-j", "-p", str(port), "127.0.0.1"], timeout=120)
    return secs, json.loads(proc.stdout)


# --------------------------------------------------------------------------- parsers

SSLYZE_PROTOCOLS = {"SSLv2": "ssl_2_0", "SSLv3": "ssl_3_0", "TLSv1.0": "tls_1_0", "TLSv1.1": "tls_1_1",
                    "TLSv1.2": "tls_1_2", "TLSv1.3": "tls_1_3"}
TESTSSL_PROTOCOLS = {"SSLv2": "SSLv2", "SSLv3": "SSLv3", "TLSv1.0": "TLS1", "TLSv1.1": "TLS1_1",
                     "TLSv1.2": "TLS1_2", "TLSv1.3": "TLS1_3"}


def sslyze_view(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text())
    result = doc["server_scan_results"][0]["scan_result"]
    view: dict[str, Any] = {"protocols": {}, "ciphers": {}}
    for name, key in SSLYZE_PROTOCOLS.items():
        r = result[f"{key}_cipher_suites"]["result"]
        accepted = [c["cipher_suite"]["name"] for c in r["accepted_cipher_suites"]] if r else []
        view["protocols"][name] = bool(accepted)
        view["ciphers"][name] = sorted(accepted)
    dep = result["certificate_info"]["result"]["certificate_deployments"][0]
    leaf = dep["received_certificate_chain"][0]
    view["cert_key_bits"] = leaf["public_key"]["key_size"]
    view["cert_signature_hash"] = leaf["signature_hash_algorithm"]["name"]
    view["cert_trusted"] = any(p["was_validation_successful"] for p in dep["path_validation_results"])
    headers = result["http_headers"]["result"] or {}
    hsts = headers.get("strict_transport_security_header")
    view["hsts"] = bool(hsts)
    view["hsts_max_age"] = hsts.get("max_age") if hsts else None
    return view


def testssl_view(path: Path) -> dict[str, Any]:
    items = {x["id"]: x for x in json.loads(path.read_text())}
    view: dict[str, Any] = {"protocols": {}, "ciphers_any": [], "classes": {}}
    for name, key in TESTSSL_PROTOCOLS.items():
        finding = items.get(key, {}).get("finding", "")
        view["protocols"][name] = finding.startswith("offered")
    view["ciphers_any"] = sorted({x["finding"].split()[-1] for k, x in items.items() if k.startswith("cipher_x")})
    for cls in ("NULL", "aNULL", "EXPORT", "LOW", "3DES_IDEA", "AVERAGE"):
        view["classes"][cls] = items.get(f"cipherlist_{cls}", {}).get("finding", "").startswith("offered")
    view["cert_key_bits"] = int("".join(ch for ch in items.get("cert_keySize", {}).get("finding", "0").split()[1]
                                        if ch.isdigit()) or 0) if "cert_keySize" in items else None
    view["cert_signature"] = items.get("cert_signatureAlgorithm", {}).get("finding", "")
    view["cert_chain_of_trust"] = items.get("cert_chain_of_trust", {}).get("finding", "")
    # testssl reports HSTS_time (and HSTS_subdomains...) when the header is there, HSTS when not
    view["hsts"] = "HSTS_time" in items or (
        "HSTS" in items and not items["HSTS"]["finding"].startswith("not offered"))
    m = re.search(r"=(\d+) seconds", items.get("HSTS_time", {}).get("finding", ""))
    view["hsts_max_age"] = int(m.group(1)) if m else None
    view["fs"] = items.get("PFS", {}).get("finding", items.get("FS", {}).get("finding", ""))
    view["banner_server"] = items.get("banner_server", {}).get("finding", "")
    return view


def ssh_audit_view(doc: dict[str, Any]) -> dict[str, Any]:
    def level(items: list[dict[str, Any]], lv: str) -> list[str]:
        return sorted(i["algorithm"] for i in items if i.get("notes", {}).get(lv))
    return {
        "fail": {k: level(doc.get(k, []), "fail") for k in ("kex", "key", "enc", "mac")},
        "warn": {k: level(doc.get(k, []), "warn") for k in ("kex", "key", "enc", "mac")},
        "rsa_bits": sorted({i.get("keysize") for i in doc.get("key", []) if i.get("keysize")}),
        "banner": doc.get("banner", {}).get("software") or doc.get("banner", {}).get("raw"),
    }
