"""Kernel parameters: sysctl.conf (Debian layout, linked from sysctl.d) and sysctl.d drop-ins."""

from __future__ import annotations

import os
from pathlib import Path

from smbaudit.demotree._util import write

VENDOR = """# systemd's defaults (shipped in /usr/lib)
net.ipv4.conf.default.rp_filter = 2
net.ipv4.conf.*.rp_filter = 2
fs.protected_regular = 1
fs.protected_fifos = 1
"""

BAD = """# tuned by a long-gone consultant
kernel.randomize_va_space = 0
net.ipv4.ip_forward = 1
net/ipv6/conf/all/forwarding = 1
net.ipv4.conf.all.accept_source_route = 1
net.ipv6.conf.default.accept_source_route = 1
net.ipv4.tcp_syncookies = 0
net.ipv4.icmp_echo_ignore_broadcasts = 0
kernel.yama.ptrace_scope = 0
fs.suid_dumpable = 2
kernel.sysrq = 438
kernel.perf_event_paranoid = 1
"""

GOOD = """# CIS-style kernel hardening
kernel.randomize_va_space = 2
kernel.dmesg_restrict = 1
kernel.kptr_restrict = 2
kernel.yama.ptrace_scope = 1
fs.protected_hardlinks = 1
fs.protected_symlinks = 1
fs.suid_dumpable = 0
net.ipv4.ip_forward = 0
net.ipv6.conf.all.forwarding = 0
net.ipv4.conf.all.accept_redirects = 0
net.ipv4.conf.default.accept_redirects = 0
net.ipv4.conf.all.secure_redirects = 0
net.ipv4.conf.default.secure_redirects = 0
net.ipv6.conf.all.accept_redirects = 0
net.ipv6.conf.default.accept_redirects = 0
net.ipv4.conf.all.send_redirects = 0
net.ipv4.conf.default.send_redirects = 0
net.ipv4.conf.all.accept_source_route = 0
net.ipv4.conf.default.accept_source_route = 0
net.ipv6.conf.all.accept_source_route = 0
net.ipv6.conf.default.accept_source_route = 0
net.ipv4.tcp_syncookies = 1
net.ipv4.conf.all.rp_filter = 1
net.ipv4.conf.default.rp_filter = 1
net.ipv4.conf.all.log_martians = 1
net.ipv4.conf.default.log_martians = 1
net.ipv4.icmp_echo_ignore_broadcasts = 1
net.ipv4.icmp_ignore_bogus_error_responses = 1
net.ipv6.conf.all.accept_ra = 0
net.ipv6.conf.default.accept_ra = 0
kernel.sysrq = 0
kernel.unprivileged_bpf_disabled = 1
net.core.bpf_jit_harden = 2
kernel.perf_event_paranoid = 3
fs.protected_fifos = 2
fs.protected_regular = 2
dev.tty.ldisc_autoload = 0
"""

FAILING = [
    "sysctl.aslr", "sysctl.ip-forwarding", "sysctl.icmp-redirects", "sysctl.send-redirects",
    "sysctl.source-routing", "sysctl.syncookies", "sysctl.rp-filter", "sysctl.log-martians",
    "sysctl.icmp-broadcasts", "sysctl.dmesg-restrict", "sysctl.kptr-restrict",
    "sysctl.ptrace-scope", "sysctl.protected-links", "sysctl.suid-dumpable",
    "sysctl.ipv6-router-advertisements", "sysctl.sysrq", "sysctl.unprivileged-bpf",
    "sysctl.bpf-jit-harden", "sysctl.perf-event-paranoid", "sysctl.protected-fifos-regular",
    "sysctl.ldisc-autoload",
]


def build(root: Path, hardened: bool) -> list[str]:
    write(root, "/usr/lib/sysctl.d/50-default.conf", VENDOR)
    write(root, "/etc/sysctl.conf", "# see /etc/sysctl.d\n" if hardened else BAD)
    link = root / "etc/sysctl.d/99-sysctl.conf"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        os.symlink("../sysctl.conf", link)
    if hardened:
        write(root, "/etc/sysctl.d/60-hardening.conf", GOOD)
    return list(FAILING)
