"""Open ports of a live host against the ACCEPT rules of saved iptables / ufw rule sets.

The benchmark's audit compares the ports `ss -4tuln` / `ss -6tuln` show (loopback left out)
with the rules of the INPUT chain (ufw: ufw-user-input). A port counts as having a rule when an
ACCEPT rule names it (`--dport N`, `--dport A:B`, `-m multiport --dports a,b,A:B`, for its
protocol or for any), or when an ACCEPT rule takes everything on every interface from every
source.
"""

from __future__ import annotations

import shlex
from typing import Any

from smbaudit.probes._common import Reader
from smbaudit.probes.sockets import TABLES, parse_table
from smbaudit.targets.base import HostTarget


def listening(host: HostTarget, reader: Reader) -> dict[str, list[str]] | None:
    """{"v4": ["tcp/22", ...], "v6": [...]}: ports listened on beyond loopback (None offline)."""
    if not host.live:
        return None
    found: dict[str, set[str]] = {"v4": set(), "v6": set()}
    for proto, path, family in TABLES:
        for sock in parse_table(reader.read(path) or "", proto, family):
            if sock["scope"] == "loopback":
                continue
            found["v4" if family == 4 else "v6"].add(f"{proto.rstrip('6')}/{sock['port']}")
    return {k: sorted(v, key=lambda p: (p.split("/")[0], int(p.split("/")[1]))) for k, v in found.items()}


def _ranges(spec: str) -> list[tuple[int, int]]:
    out = []
    for part in spec.split(","):
        lo, _, hi = part.partition(":")
        if lo.isdigit() and (not hi or hi.isdigit()):
            out.append((int(lo), int(hi or lo)))
    return out


def accept_rules(text: str | None, chain: str) -> tuple[bool, list[tuple[str | None, int, int]]]:
    """(an ACCEPT rule takes everything, [(protocol or None, first port, last port)])."""
    everything = False
    ports: list[tuple[str | None, int, int]] = []
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line.startswith(f"-A {chain} "):
            continue
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        opts: dict[str, str] = {}
        for i, w in enumerate(words):
            if w.startswith("-") and i + 1 < len(words):
                opts[w] = words[i + 1]
        if opts.get("-j") != "ACCEPT" or "!" in words:
            continue
        proto = opts.get("-p")
        spec = opts.get("--dport") or opts.get("--dports") or opts.get("--destination-port")
        if spec:
            ports.extend((proto, lo, hi) for lo, hi in _ranges(spec))
        elif not any(k in opts for k in ("-i", "-s", "--state", "--ctstate", "-d", "--sport",
                                         "--icmp-type", "--uid-owner")) and proto is None:
            everything = True
    return everything, ports


def without_rule(open_ports: list[str], text: str | None, chain: str) -> list[str]:
    everything, rules = accept_rules(text, chain)
    if everything:
        return []
    missing = []
    for item in open_ports:
        proto, port = item.split("/")
        if not any((p is None or p == proto) and lo <= int(port) <= hi for p, lo, hi in rules):
            missing.append(item)
    return missing


def coverage(host: HostTarget, reader: Reader, ufw_rules: tuple[str, str],
             iptables_rules: tuple[str | None, str | None]) -> dict[str, Any]:
    """open_ports, and the open ports each rule set has no rule for (None offline)."""
    ports = listening(host, reader)
    if ports is None:
        return {"open_ports": None, "ufw_without_rule": None, "iptables_v4_without_rule": None,
                "iptables_v6_without_rule": None}
    ufw_text = "\n".join(reader.read(p) or "" for p in ufw_rules)
    v4, v6 = (reader.read(p) if p else None for p in iptables_rules)
    return {
        "open_ports": ports,
        "ufw_without_rule": without_rule(ports["v4"] + [p for p in ports["v6"] if p not in ports["v4"]],
                                         ufw_text, "ufw-user-input"),
        "iptables_v4_without_rule": without_rule(ports["v4"], v4, "INPUT"),
        "iptables_v6_without_rule": without_rule(ports["v6"], v6, "INPUT"),
    }

