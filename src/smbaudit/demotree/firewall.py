"""Host firewall: ufw installed but off and accepting (misconfigured); nftables default-drop."""

from __future__ import annotations

from pathlib import Path

from smbaudit.demotree._systemd_links import install_unit
from smbaudit.demotree._util import write

NFTABLES = """#!/usr/sbin/nft -f
flush ruleset
include "/etc/nftables.d/*.nft"

table inet filter {
    chain input {
        type filter hook input priority filter; policy drop;
        ct state established,related accept
        iif "lo" accept
        ip saddr 127.0.0.0/8 counter drop
        ip6 saddr ::1 counter drop
        meta l4proto { icmp, ipv6-icmp } accept
        tcp dport { 22, 443 } accept
    }
    chain forward {
        type filter hook forward priority filter; policy drop;
    }
    chain output {
        type filter hook output priority filter; policy accept;
    }
}
"""


def build(root: Path, hardened: bool) -> list[str]:
    if hardened:
        write(root, "/etc/nftables.conf", NFTABLES, 0o755)
        write(root, "/usr/sbin/nft", "#!/bin/sh\n# placeholder for the demo\n", 0o755)
        write(root, "/etc/nftables.d/10-counters.nft", "# site additions\n")
        install_unit(root, "nftables.service", enabled=True, target="sysinit.target")
    else:
        write(root, "/etc/ufw/ufw.conf", "# /etc/ufw/ufw.conf\nENABLED=no\nLOGLEVEL=low\n")
        write(root, "/etc/default/ufw", 'IPV6=no\nDEFAULT_INPUT_POLICY="ACCEPT"\n'
              'DEFAULT_OUTPUT_POLICY="ACCEPT"\nDEFAULT_FORWARD_POLICY="DROP"\n')
        install_unit(root, "ufw.service", enabled=True)
    return ["firewall.active", "firewall.default-deny", "firewall.ipv6", "firewall.single-utility"]
