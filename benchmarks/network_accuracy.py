"""Where smbaudit's network findings agree and differ with sslyze, testssl.sh and ssh-audit.

Starts weak/strong nginx and weak/hardened sshd on loopback, runs every tool on the same
endpoints (IP literals, no DNS) and prints one line per compared item:

    python benchmarks/network_accuracy.py [--no-testssl]

testssl.sh's default run takes minutes per endpoint; --no-testssl skips it.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from _netbench import (SSLYZE_ACCURACY, endpoints, run_ssh_audit, run_sslyze, run_testssl, smbaudit_ssh, smbaudit_tls,
                       ssh_audit_view, sslyze_view, testssl_view)

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
    by = facts["by_class"]
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


def ssh_endpoint(label: str, port: int) -> None:
    facts = smbaudit_ssh(port)
    _, doc = run_ssh_audit(port)
    sa = ssh_audit_view(doc)
    ours = {"kex": sorted(w["name"] for w in facts["weak_kex"]),
            "enc": sorted(w["name"] for w in facts["weak_ciphers"]),
            "mac": sorted(w["name"] for w in facts["weak_macs"]),
            "key": sorted(w["name"] for w in facts["weak_host_key_algorithms"])}
    for kind in ("kex", "enc", "mac", "key"):
        compare(label, "ssh-audit", f"weak {kind} (vs ssh-audit fail)", ours[kind], sa["fail"][kind])
        compare(label, "ssh-audit", f"weak {kind} (vs ssh-audit warn)", ours[kind],
                sorted(set(sa["warn"][kind]) - set(sa["fail"][kind])),
                not (set(sa["warn"][kind]) - set(sa["fail"][kind])) - set(ours[kind]))
    rsa = [k["bits"] for k in facts.get("host_keys", []) if k["type"] == "rsa"]
    compare(label, "ssh-audit", "RSA host key bits", sorted(set(rsa)), sa["rsa_bits"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-testssl", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, endpoints() as ep:
        tls_endpoint("nginx-weak", ep.weak_tls, Path(tmp), not args.no_testssl)
        tls_endpoint("nginx-strong", ep.strong_tls, Path(tmp), not args.no_testssl)
        ssh_endpoint("sshd-weak", ep.weak_ssh)
        ssh_endpoint("sshd-hardened", ep.hardened_ssh)
    agree = sum(1 for r in rows if r[5])
    print(f"\n{agree} of {len(rows)} compared items agree; {len(rows) - agree} differ")


if __name__ == "__main__":
    main()
