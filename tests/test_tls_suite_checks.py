"""Which accepted cipher suites are weak is decided by the TLS checks (the probe only reports
"protocol IANA-name"): each weakness class fails its own check, run through the engine."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from smbaudit import engine, resources
from smbaudit.packs.loader import load_packs
from smbaudit.probes.base import Facts, ProbeContext
from smbaudit.probes.tls import TlsProbe
from smbaudit.targets.base import ServiceTarget, Target

CLASS_CHECKS = {
    "null": "tls.no-null-ciphers", "anonymous": "tls.no-anonymous-ciphers",
    "export": "tls.no-export-ciphers", "rc4": "tls.no-rc4", "3des": "tls.no-3des",
    "legacy": "tls.no-legacy-ciphers", "static_rsa": "tls.no-static-rsa-kex",
    "static_dh": "tls.forward-secrecy", "cbc_legacy_protocol": "tls.no-cbc-legacy-protocol",
}


class _Accepted(TlsProbe):
    """The tls probe's facts for a server that accepts exactly the given suites."""

    suites: list[str] = []

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        return {"tls": True, "endpoint": target.endpoint, "suites": list(self.suites)}


def failing(suites: list[str]) -> dict[str, str]:
    probe = _Accepted()
    probe.suites = suites
    checks = [c for c in load_packs([resources.checks_dir() / "tls"]) if c.id in CLASS_CHECKS.values()]
    target = ServiceTarget("127.0.0.1:443", "127.0.0.1", 443, "https", "ssl")
    result = engine.run([target], checks, {"tls": probe}, engine.EngineOptions(jobs=1))
    return {f.check_id: f.problem or "" for f in result.findings if f.status.value == "fail"}


@pytest.mark.parametrize(("name", "protocol", "classes"), [
    ("TLS_RSA_WITH_RC4_128_SHA", "TLSv1.2", ["rc4", "static_rsa"]),
    ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLSv1.0", ["3des", "static_rsa", "cbc_legacy_protocol"]),
    ("TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", "SSLv3", ["export", "legacy", "static_rsa",
                                                    "cbc_legacy_protocol"]),
    ("TLS_DH_anon_WITH_AES_128_GCM_SHA256", "TLSv1.2", ["anonymous"]),
    ("TLS_RSA_WITH_SEED_CBC_SHA", "TLSv1.2", ["legacy", "static_rsa"]),
    ("TLS_RSA_WITH_IDEA_CBC_SHA", "TLSv1.2", ["legacy", "static_rsa"]),
    ("TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256", "TLSv1.2", ["static_dh"]),
    ("TLS_ECDH_RSA_WITH_NULL_SHA", "TLSv1.2", ["null", "static_dh"]),
    ("TLS_ECDH_ECDSA_WITH_NULL_SHA", "TLSv1.2", ["null"]),
    ("TLS_NULL_WITH_NULL_NULL", "TLSv1.2", ["null"]),
    ("TLS_PSK_WITH_AES_128_GCM_SHA256", "TLSv1.2", ["static_dh"]),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLSv1.2", []),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLSv1.1", ["cbc_legacy_protocol"]),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLSv1.2", []),
    ("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "TLSv1.2", []),
    ("TLS_AES_128_GCM_SHA256", "TLSv1.3", []),
    ("SSL_CK_RC4_128_WITH_MD5", "SSLv2", ["rc4", "legacy", "static_rsa"]),
    ("SSL_CK_DES_192_EDE3_CBC_WITH_MD5", "SSLv2", ["3des", "legacy", "static_rsa",
                                                   "cbc_legacy_protocol"]),
    ("0xCAFE", "TLSv1.2", ["static_dh"]),  # an unknown suite: no forward secrecy established
])
def test_each_weakness_class_fails_its_check(name: str, protocol: str, classes: list[str]) -> None:
    found = failing([f"{protocol} {name}"])
    assert set(found) == {CLASS_CHECKS[c] for c in classes}
    for problem in found.values():  # every headline names the suite
        assert f"{protocol} {name}" in problem


def test_headlines_count_and_name_the_suites() -> None:
    suites = sorted(f"TLSv1.{v} TLS_RSA_WITH_RC4_128_{h}" for v in (0, 1, 2) for h in ("MD5", "SHA"))
    found = failing(suites)
    assert found["tls.no-rc4"].endswith(
        "accepts 6 RC4 cipher suite(s): TLSv1.0 TLS_RSA_WITH_RC4_128_MD5, "
        "TLSv1.0 TLS_RSA_WITH_RC4_128_SHA, TLSv1.1 TLS_RSA_WITH_RC4_128_MD5 and 3 more")
    assert "3 legacy cipher suite(s)" in found["tls.no-legacy-ciphers"]  # the MD5 ones


def test_modern_suites_pass() -> None:
    assert failing(["TLSv1.2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                    "TLSv1.3 TLS_AES_256_GCM_SHA384"]) == {}
