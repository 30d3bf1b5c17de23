"""Kernel parameters: what the sysctl configuration sets at boot and, on a live host, what is in force.

Configuration is read the way systemd-sysctl does (sysctl.d(5)): `*.conf` files from
/etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d, /usr/lib/sysctl.d and /lib/sysctl.d; a
file name present in several directories is taken only from the first of them (so /etc overrides
/usr/lib); all files are then applied in the lexical order of their names, later assignments
winning. /etc/sysctl.conf is applied last (as `sysctl --system` does) unless a sysctl.d link
already points to it (Debian's 99-sysctl.conf).

Keys are normalised to the dotted form: `net/ipv4/ip_forward` -> `net.ipv4.ip_forward`
(in the slash form, dots inside a component are kept: `net/ipv4/conf/eth0.100/rp_filter` ->
`net.ipv4.conf.eth0/100.rp_filter`, as systemd writes it).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from smbaudit.models import TargetKind
from smbaudit.probes._common import Reader, as_number, host_of, lines_of
from smbaudit.probes import factschema as fs
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import Target

SYSCTL_DIRS = ("/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d",
               "/lib/sysctl.d")
SYSCTL_CONF = "/etc/sysctl.conf"
BUILD_DEFAULTS: dict[str, tuple[str, int]] = {
    # key: (kernel build option set to y, the default it gives)
    "kernel.unprivileged_bpf_disabled": ("CONFIG_BPF_UNPRIV_DEFAULT_OFF", 2),
    "kernel.perf_event_paranoid": ("CONFIG_SECURITY_PERF_EVENTS_RESTRICT", 3),
}

# Upstream kernel defaults for the keys hardening checks look at; used offline for keys the
# configuration leaves unset. A distribution kernel may build with different ones: where its
# build configuration (/boot/config-RELEASE) says so, BUILD_DEFAULTS applies instead (for every
# installed kernel, or the upstream default stays).
KERNEL_DEFAULTS: dict[str, int] = {
    "kernel.randomize_va_space": 2,
    "kernel.dmesg_restrict": 0,
    "kernel.kptr_restrict": 0,
    "kernel.yama.ptrace_scope": 1,
    "kernel.sysrq": 0,
    "kernel.unprivileged_bpf_disabled": 0,
    "kernel.perf_event_paranoid": 2,
    "net.core.bpf_jit_harden": 0,
    "dev.tty.ldisc_autoload": 1,
    "net.ipv6.conf.all.disable_ipv6": 0,
    "net.ipv6.conf.default.disable_ipv6": 0,
    "fs.protected_hardlinks": 0,
    "fs.protected_symlinks": 0,
    "fs.protected_fifos": 0,
    "fs.protected_regular": 0,
    "fs.suid_dumpable": 0,
    "net.ipv4.ip_forward": 0,
    "net.ipv4.tcp_syncookies": 1,
    "net.ipv4.icmp_echo_ignore_broadcasts": 1,
    "net.ipv4.icmp_ignore_bogus_error_responses": 1,
    "net.ipv4.conf.all.accept_redirects": 1,
    "net.ipv4.conf.default.accept_redirects": 1,
    "net.ipv4.conf.all.secure_redirects": 1,
    "net.ipv4.conf.default.secure_redirects": 1,
    "net.ipv4.conf.all.send_redirects": 1,
    "net.ipv4.conf.default.send_redirects": 1,
    "net.ipv4.conf.all.accept_source_route": 0,
    "net.ipv4.conf.default.accept_source_route": 0,
    "net.ipv4.conf.all.rp_filter": 0,
    "net.ipv4.conf.default.rp_filter": 0,
    "net.ipv4.conf.all.log_martians": 0,
    "net.ipv4.conf.default.log_martians": 0,
    "net.ipv6.conf.all.forwarding": 0,
    "net.ipv6.conf.all.accept_redirects": 1,
    "net.ipv6.conf.default.accept_redirects": 1,
    "net.ipv6.conf.all.accept_source_route": 0,
    "net.ipv6.conf.default.accept_source_route": 0,
    "net.ipv6.conf.all.accept_ra": 1,
    "net.ipv6.conf.default.accept_ra": 1,
}


def _build_defaults(host: Any) -> dict[str, int]:
    """Defaults every installed kernel was built with, from /boot/config-RELEASE."""
    try:
        configs = [n for n in host.list_dir("/boot") if n.startswith("config-")]
    except OSError:
        return {}
    texts = [host.read_text_or_none(f"/boot/{n}", 4 * 1024 * 1024) or "" for n in configs]
    found: dict[str, int] = {}
    for key, (option, value) in BUILD_DEFAULTS.items():
        if texts and all(f"\n{option}=y" in "\n" + t for t in texts):
            found[key] = value
    return found


def _ipv6_disabled(host: Any, configured: Mapping[str, Any]) -> tuple[bool, str | None]:
    """Whether IPv6 is off for the whole host, and what says so: the kernel command line
    (ipv6.disable=1) or disable_ipv6 for all and default interfaces."""
    from smbaudit.probes.bootloader import boot_entries, parse_args

    if host.live:
        if host.stat("/proc/sys/net/ipv6") is None and host.stat("/proc/sys/net") is not None:
            return True, "/proc/sys/net/ipv6 is absent (ipv6.disable=1)"
        values = [SysctlProbe._proc(host, f"net.ipv6.conf.{i}.disable_ipv6") for i in ("all", "default")]
        if values == [1, 1]:
            return True, "net.ipv6.conf.all/default.disable_ipv6 = 1 (running)"
        cmdline = host.read_text_or_none("/proc/cmdline", 64 * 1024)
        if cmdline is not None and parse_args(cmdline).get("ipv6_disable") == "1":
            return True, "ipv6.disable=1 on /proc/cmdline"
        return False, None
    entries = boot_entries(host)
    if entries and all(e["args"].get("ipv6_disable") == "1" for e in entries):
        return True, "ipv6.disable=1 on every boot entry"
    if configured.get("net.ipv6.conf.all.disable_ipv6") == 1 and \
            configured.get("net.ipv6.conf.default.disable_ipv6") == 1:
        return True, "net.ipv6.conf.all/default.disable_ipv6 = 1"
    return False, None


def normalise_key(key: str) -> str:
    key = key.strip().lstrip("-").strip()
    slash, dot = key.find("/"), key.find(".")
    if slash >= 0 and (dot < 0 or slash < dot):
        # slash form: slashes separate, dots are literal -> swap them
        key = key.strip("/").translate(str.maketrans("./", "/."))
    return key


def normalise_value(value: str) -> int | str:
    text = " ".join(value.split())
    return as_number(text)


def config_files(reader: Reader) -> list[str]:
    """Effective sysctl.d files in application order, then /etc/sysctl.conf."""
    chosen: dict[str, str] = {}
    for directory in SYSCTL_DIRS:
        for name in reader.list_dir(directory):
            if name.endswith(".conf") and name not in chosen:
                chosen[name] = f"{directory}/{name}"
    ordered = [chosen[name] for name in sorted(chosen)]
    covers_main = False
    for path in ordered:
        st = reader.host.stat(path, follow=False)
        if st is not None and st.type == "link" and st.link_target:
            dest = posixpath.normpath(posixpath.join(posixpath.dirname(path), st.link_target))
            covers_main = covers_main or dest == SYSCTL_CONF
    if not covers_main:
        ordered.append(SYSCTL_CONF)
    return ordered


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """{'a.b.c': 1} -> {'a': {'b': {'c': 1}}}; a key that would pass through a value is skipped."""
    tree: dict[str, Any] = {}
    for key in sorted(flat):
        node = tree
        parts = key.split(".")
        ok = True
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                ok = False
                break
            node = child
        if ok and not isinstance(node.get(parts[-1]), dict):
            node[parts[-1]] = flat[key]
    return tree


class SysctlProbe(Probe):
    """Kernel parameters from the sysctl configuration, and from /proc/sys on a live host.

    Facts: present (live host, or any sysctl file found), live, files (applied, in order),
    errors, configured (nested by key components: configured.net.ipv4.ip_forward), runtime
    (live only: the same nesting, for every configured key and every key in KERNEL_DEFAULTS
    that /proc/sys has), effective (live: runtime over configured; offline: configured over the
    upstream kernel defaults), defaults_used (offline: keys whose effective value is a kernel
    default), settings (list of {key, value, file, line} for the winning assignments), and
    mismatches (live: keys whose runtime value differs from the configured one), ipv6_disabled
    (IPv6 is off for the whole host: ipv6.disable=1 on the kernel command line, or disable_ipv6
    for all and default interfaces) and ipv6_disabled_by (what says so).
    Values are integers when they are one number, else whitespace-normalised text.
    """

    name = "sysctl"
    description = "kernel parameters: sysctl.conf / sysctl.d and, live, /proc/sys"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "keys": {"type": "array", "uniqueItems": True,
                     "items": {"type": "string", "pattern": "^[A-Za-z0-9_.*/-]+$"},
                     "description": "extra keys to read from /proc/sys on a live host"},
        },
    }

    # kernel parameters nested by their dotted components (net -> ipv4 -> ip_forward); the
    # parameter names are the kernel's open vocabulary, so any path below is accepted
    _params = fs.mapping(fs.ANY)
    facts = fs.record(
        present=fs.BOOL, live=fs.BOOL, files=fs.list_of(fs.STR), errors=fs.list_of(fs.STR),
        configured=_params, runtime=_params, effective=_params,
        defaults_used=fs.list_of(fs.STR),
        settings=fs.list_of(fs.record(key=fs.STR, value=fs.one_of(fs.INT, fs.STR), file=fs.STR,
                                      line=fs.INT)),
        mismatches=fs.list_of(fs.STR),
        ipv6_disabled=fs.BOOL, ipv6_disabled_by=fs.nullable(fs.STR),
    )
    del _params

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        reader = Reader(host)
        winners: dict[str, dict[str, Any]] = {}
        for path in config_files(reader):
            ctx.check_deadline()
            text = reader.read(path)
            if text is None:
                continue
            for lineno, raw in enumerate(lines_of(text), 1):
                line = raw.strip()
                if not line or line[0] in "#;" or "=" not in line:
                    continue
                key, _, value = line.partition("=")
                key = normalise_key(key)
                if key:
                    winners[key] = {"key": key, "value": normalise_value(value), "file": path,
                                    "line": lineno}
        configured = {k: v["value"] for k, v in winners.items()}
        facts: Facts = {
            "present": host.live or bool(reader.files),
            "live": host.live,
            "files": reader.files,
            "errors": reader.errors,
            "configured": nest(configured),
            "settings": [winners[k] for k in sorted(winners)],
        }
        if host.live:
            runtime: dict[str, Any] = {}
            for key in sorted(set(configured) | set(KERNEL_DEFAULTS) | set(params.get("keys", []))):
                if "*" in key:
                    continue
                ctx.check_deadline()
                observed = self._proc(host, key)
                if observed is not None:
                    runtime[key] = observed
            effective = dict(configured)
            effective.update(runtime)
            facts.update(
                runtime=nest(runtime), effective=nest(effective), defaults_used=[],
                mismatches=sorted(k for k in configured if k in runtime and runtime[k] != configured[k]))
        else:
            effective = dict(KERNEL_DEFAULTS)
            effective.update(_build_defaults(host))
            effective.update(configured)
            facts.update(runtime={}, effective=nest(effective),
                         defaults_used=sorted(k for k in KERNEL_DEFAULTS if k not in configured),
                         mismatches=[])
        facts["ipv6_disabled"], facts["ipv6_disabled_by"] = _ipv6_disabled(host, configured)
        return facts

    @staticmethod
    def _proc(host: Any, key: str) -> int | str | None:
        path = "/proc/sys/" + key.replace("/", "\0").replace(".", "/").replace("\0", ".")
        try:
            return normalise_value(host.read_text(path, 64 * 1024))
        except OSError:
            return None
