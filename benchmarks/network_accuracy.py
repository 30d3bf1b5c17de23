"""Where smbaudit's network findings agree and differ with sslyze, testssl.sh and ssh-audit.

Starts weak/strong nginx and weak/hardened sshd on loopback, runs every tool on the same
endpoints (IP literals, no DNS) and prints one line per compared item:

    python benchmarks/network_accuracy.py [--no-testssl]

testssl.sh's default run takes minutes per endpoint; --no-testssl skips it.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _netbench import (SSLYZE_ACCURACY, endpoints, failing_items, run_ssh_audit, run_sslyze,
                       run_testssl, smbaudit_ssh, smbaudit_tls, ssh_audit_view, sslyze_view,
                       testssl_view)

rows: list[tuple[str, str, str, Any, Any, bool]] = []


def compare(endpoint: str, tool: str, item: str, ours: Any, theirs: Any, same: bool | None = None) -> None:
    agree = (ours == theirs) if same is None else same
    rows.append((endpoint, tool, item, ours, theirs, agree))
    mark = "AGREE " if agree else "DIFFER"
    print(f"{mark} {endpoint:<12} {tool:<9} {item:<34} smbaudit={_short(ours)}  {tool}={_short(theirs)}")


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 90 else text[:87] + "..."


def tls_endpoint(label: str, port: int, tmp: Path, with_testssl: bool) -> None:
    facts = smbaudit_tls(port)
    ours_proto = {p: p in facts["accepted_protocols"] for p in
                  ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")}
    ours_ciphers: dict[str, list[str]] = {p: sorted(c["name"] for c in facts["ciphers"] if c["protocol"] == p)
                                          for p in ours_proto}
    cert = facts["certificate"]
    run_sslyze(port, tmp / f"sslyze-{label}.json", SSLYZE_ACCURACY)
    sy = sslyze_view(tmp / f"sslyze-{label}.json")
    for proto in ours_proto:
        compare(label, "sslyze", f"{proto} accepted", ours_proto[proto], sy["protocols"][proto])
        if ours_ciphers[proto] or sy["ciphers"][proto]:
            only_ours = sorted(set(ours_ciphers[proto]) - set(sy["ciphers"][proto]))
            only_theirs = sorted(set(sy["ciphers"][proto]) - set(ours_ciphers[proto]))
            compare(label, "sslyze", f"{proto} cipher suites ({len(ours_ciphers[proto])})",
                    f"only smbaudit: {only_ours}" if only_ours else "same set",
                    f"only sslyze: {only_theirs}" if only_theirs else "same set",
                    not only_ours and not only_theirs)
    compare(label, "sslyze", "certificate key bits", cert["key_bits"], sy["cert_key_bits"])
    compare(label, "sslyze", "certificate signature hash", cert["signature_hash"], sy["cert_signature_hash"])
    compare(label, "sslyze", "certificate trusted (system store)", cert["trusted"], sy["cert_trusted"])
    compare(label, "sslyze", "HSTS present", bool(facts["hsts"] and facts["hsts"]["present"]), sy["hsts"])
    compare(label, "sslyze", "HSTS max-age", (facts["hsts"] or {}).get("max_age") or None, sy["hsts_max_age"])
    extras_vs_sslyze(label, port, facts, tmp)
    if not with_testssl:
        return
    run_testssl(port, tmp / f"testssl-{label}.json")
    ts = testssl_view(tmp / f"testssl-{label}.json")
    for proto in ours_proto:
        compare(label, "testssl", f"{proto} accepted", ours_proto[proto], ts["protocols"][proto])
    union = sorted({c["name"] for c in facts["ciphers"] if c["protocol"] != "TLSv1.3"})
    theirs = [n for n in ts["ciphers_any"] if n.startswith(("TLS_", "SSL_")) and n not in
              ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
               "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256")]
    only_ours = sorted(set(union) - set(theirs))
    only_theirs = sorted(set(theirs) - set(union))
    compare(label, "testssl", f"TLS<=1.2 cipher suites ({len(union)})",
            f"only smbaudit: {only_ours}" if only_ours else "same set",
            f"only testssl: {only_theirs}" if only_theirs else "same set", not only_ours and not only_theirs)
    by = {cls: failing_items(facts, check) for cls, check in (
        ("null", "tls.no-null-ciphers"), ("anonymous", "tls.no-anonymous-ciphers"),
        ("export", "tls.no-export-ciphers"), ("3des", "tls.no-3des"))}
    compare(label, "testssl", "NULL suites offered", bool(by["null"]), ts["classes"]["NULL"])
    compare(label, "testssl", "anonymous suites offered", bool(by["anonymous"]), ts["classes"]["aNULL"])
    compare(label, "testssl", "EXPORT suites offered", bool(by["export"]), ts["classes"]["EXPORT"])
    compare(label, "testssl", "3DES/IDEA suites offered", bool(by["3des"]), ts["classes"]["3DES_IDEA"])
    compare(label, "testssl", "certificate key bits", cert["key_bits"], ts["cert_key_bits"])
    compare(label, "testssl", "certificate signature SHA-1", cert["signature_hash"] == "sha1",
            "SHA1" in ts["cert_signature"].upper())
    compare(label, "testssl", "certificate trusted", cert["trusted"], ts["cert_chain_of_trust"].startswith("passed"))
    compare(label, "testssl", "HSTS present", bool(facts["hsts"] and facts["hsts"]["present"]), ts["hsts"])
    compare(label, "testssl", "HSTS max-age", (facts["hsts"] or {}).get("max_age") or None, ts["hsts_max_age"])


SSLYZE_EXTRAS = ["--elliptic_curves", "--reneg", "--compression", "--fallback", "--heartbleed",
                 "--openssl_ccs", "--tlsv1_2", "--certinfo", "--robot"]
SSLYZE_CURVES = {"prime256v1": "secp256r1", "X25519": "x25519", "X448": "x448"}


def extras_vs_sslyze(label: str, port: int, facts: dict[str, Any], tmp: Path) -> None:
    """Key-exchange groups, curves, renegotiation, compression, fallback SCSV, OCSP stapling,
    Heartbleed and CCS injection: smbaudit's facts beside sslyze's own scan of them."""
    import json

    out = tmp / f"sslyze-extras-{label}.json"
    run_sslyze(port, out, SSLYZE_EXTRAS)
    result = json.loads(out.read_text())["server_scan_results"][0]["scan_result"]

    def res(key: str) -> dict[str, Any]:
        return (result.get(key) or {}).get("result") or {}

    theirs_dh = sorted({(c["cipher_suite"]["name"], (c.get("ephemeral_key") or {}).get("size"))
                        for c in res("tls_1_2_cipher_suites").get("accepted_cipher_suites", [])
                        if (c.get("ephemeral_key") or {}).get("type_name") == "DH"})
    ours_dh = sorted({(g["name"].split(" ", 1)[1], g["bits"]) for g in facts["dh_groups"]
                      if g["name"].startswith("TLSv1.2 ")})
    compare(label, "sslyze", "TLS 1.2 DHE suites and group bits", ours_dh, theirs_dh)
    curves = res("elliptic_curves")
    theirs_curves = sorted(SSLYZE_CURVES.get(c["name"], c["name"]) for c in curves.get("supported_curves") or [])
    compare(label, "sslyze", "ECDHE curves accepted", sorted(c["name"] for c in facts["curves"]), theirs_curves)
    compare(label, "sslyze", "secure renegotiation", facts["secure_renegotiation"],
            res("session_renegotiation").get("supports_secure_renegotiation"))
    compare(label, "sslyze", "TLS compression", facts["compression"],
            res("tls_compression").get("supports_compression"))
    compare(label, "sslyze", "TLS_FALLBACK_SCSV", facts["fallback_scsv"],
            res("tls_fallback_scsv").get("supports_fallback_scsv"))
    compare(label, "sslyze", "Heartbleed", facts["heartbleed"],
            res("heartbleed").get("is_vulnerable_to_heartbleed"))
    compare(label, "sslyze", "CCS injection", facts["ccs_injection"],
            res("openssl_ccs_injection").get("is_vulnerable_to_ccs_injection"))
    deployments = res("certificate_info").get("certificate_deployments") or [{}]
    compare(label, "sslyze", "OCSP response stapled", facts["ocsp_stapling"],
            deployments[0].get("ocsp_response") is not None)
    # ROBOT: vulnerable (an oracle) True, not vulnerable False, not testable (no static RSA) or
    # not established None, on both sides
    robot = str(res("robot").get("robot_result"))
    theirs_robot = (True if robot.startswith("VULNERABLE") else False if robot == "NOT_VULNERABLE_NO_ORACLE"
                    else None)
    compare(label, "sslyze", f"ROBOT ({robot})", facts["robot"], theirs_robot)


def ssh_endpoint(label: str, port: int) -> None:
    facts = smbaudit_ssh(port)
    _, doc = run_ssh_audit(port)
    sa = ssh_audit_view(doc)
    ours = {"kex": failing_items(facts, "ssh-service.no-weak-kex"),
            "enc": failing_items(facts, "ssh-service.no-weak-ciphers"),
            "mac": failing_items(facts, "ssh-service.no-weak-macs"),
            "key": failing_items(facts, "ssh-service.no-sha1-host-key-algorithms")}
    for kind in ("kex", "enc", "mac", "key"):
        compare(label, "ssh-audit", f"weak {kind} (vs ssh-audit fail)", ours[kind], sa["fail"][kind])
        compare(label, "ssh-audit", f"weak {kind} (vs ssh-audit warn)", ours[kind],
                sorted(set(sa["warn"][kind]) - set(sa["fail"][kind])),
                not (set(sa["warn"][kind]) - set(sa["fail"][kind])) - set(ours[kind]))
    rsa = [k["bits"] for k in facts.get("host_keys", []) if k["type"] == "rsa"]
    compare(label, "ssh-audit", "RSA host key bits", sorted(set(rsa)), sa["rsa_bits"])


@contextmanager
def dhe_1024(tmp: Path) -> Iterator[int]:
    """nginx with server preference and DHE suites over a 1024-bit group (TLS 1.2 only)."""
    import subprocess

    from netservers import nginx

    dhparam = tmp / "dh1024.pem"
    subprocess.run(["openssl", "dhparam", "-dsaparam", "-out", str(dhparam), "1024"], check=True,
                   timeout=120, capture_output=True)
    config = f"""
        ssl_protocols TLSv1.2;
        ssl_ciphers "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0";
        ssl_prefer_server_ciphers on;
        ssl_dhparam {dhparam};
"""
    with nginx(tmp / "dhe1024", strong=False, tls_config=config) as web:
        yield web.tls_port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-testssl", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, endpoints() as ep:
        tls_endpoint("nginx-weak", ep.weak_tls, Path(tmp), not args.no_testssl)
        tls_endpoint("nginx-strong", ep.strong_tls, Path(tmp), not args.no_testssl)
        with dhe_1024(Path(tmp)) as port:
            tls_endpoint("nginx-dhe1024", port, Path(tmp), False)
        ssh_endpoint("sshd-weak", ep.weak_ssh)
        ssh_endpoint("sshd-hardened", ep.hardened_ssh)
    agree = sum(1 for r in rows if r[5])
    print(f"\n{agree} of {len(rows)} compared items agree; {len(rows) - agree} differ")


if __name__ == "__main__":
    main()
