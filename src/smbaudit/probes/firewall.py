"""Host firewall configuration: whether one is set to be active at boot and what it does with
unsolicited incoming traffic. Read from configuration files and systemd unit links only, so the
answer is the same for a live host and an offline tree (and describes the state after a reboot).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from smbaudit.models import TargetKind
from smbaudit.probes._common import Reader, host_of, lines_of, strip_comment
from smbaudit.probes._open_ports import coverage
from smbaudit.probes._systemd import UNIT_FACTS, unit_state
from smbaudit.probes import factschema as fs
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import HostTarget, Target

MAX_NFT_DEPTH = 8
DENY = ("drop", "reject")


def _kv_file(text: str | None) -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in lines_of(text or ""):
        line = strip_comment(raw)
        if "=" in line:
            k, _, v = line.partition("=")
            values[k.strip()] = v.strip().strip("\"'")
    return values


def _installed(host: HostTarget, paths: tuple[str, ...]) -> bool:
    return any(host.exists(p) for p in paths)


# ----------------------------------------------------------------------------- ufw


def ufw_facts(host: HostTarget, reader: Reader) -> dict[str, Any]:
    conf = _kv_file(reader.read("/etc/ufw/ufw.conf"))
    defaults = _kv_file(reader.read("/etc/default/ufw"))
    installed = _installed(host, ("/usr/sbin/ufw", "/etc/ufw/ufw.conf"))
    unit = unit_state(host, "ufw.service")
    enabled = installed and conf.get("ENABLED", "no").lower() == "yes" and not unit["masked"]
    policy = defaults.get("DEFAULT_INPUT_POLICY", "DROP").lower() if installed else None
    user_rules = "\n".join(reader.read(p) or "" for p in ("/etc/ufw/user.rules", "/etc/ufw/user6.rules"))
    loopback = bool(re.search(r"-A ufw-user-input -i lo -j ACCEPT", user_rules)) and \
        bool(re.search(r"-A ufw-user-input -s 127\.0\.0\.0/8 -j (DROP|REJECT)", user_rules))
    return {"installed": installed, "enabled": enabled, "default_input_policy": policy,
            "program": _installed(host, ("/usr/sbin/ufw",)),
            "ipv6": defaults.get("IPV6", "yes").lower() == "yes", "unit": unit,
            "loopback": loopback}


# ----------------------------------------------------------------------------- nftables


def _nft_text(reader: Reader, path: str, depth: int, seen: set[str]) -> str:
    """The ruleset text with `include` statements expanded (globs, bounded, cycle-safe)."""
    if path in seen or depth > MAX_NFT_DEPTH:
        reader.errors.append(f"{path}: include loop or nesting too deep; not followed")
        return ""
    text = reader.read(path)
    if text is None:
        return ""
    out: list[str] = []
    for raw in lines_of(text):
        m = re.match(r'^\s*include\s+"([^"]+)"', raw)
        if m:
            inc = m.group(1)
            if not inc.startswith("/"):
                inc = path.rsplit("/", 1)[0] + "/" + inc
            targets = reader.glob(inc) if any(c in inc for c in "*?[") else [inc]
            for t in targets:
                out.append(_nft_text(reader, t, depth + 1, seen | {path}))
        else:
            out.append(strip_comment(raw))
    return "\n".join(out)


def parse_nft_input_chains(text: str) -> list[dict[str, Any]]:
    """Base chains hooked on input: family, table, chain, policy, and the last rule's verdict."""
    chains: list[dict[str, Any]] = []
    table_re = re.compile(r"\btable\s+(?:(ip|ip6|inet|arp|bridge|netdev)\s+)?([\w.-]+)\s*\{")
    chain_re = re.compile(r"\bchain\s+([\w.-]+)\s*\{")
    for tm in table_re.finditer(text):
        family = tm.group(1) or "ip"
        body, _ = _block(text, tm.end())
        for cm in chain_re.finditer(body):
            chain_body, _ = _block(body, cm.end())
            hook = re.search(r"\btype\s+filter\s+hook\s+input\b", chain_body)
            if not hook:
                continue
            policy = re.search(r"\bpolicy\s+(accept|drop)\b", chain_body)
            statements = [s.strip() for s in re.split(r"[;\n]", chain_body) if s.strip()]
            rules = [s for s in statements if not re.match(r"^(type|policy|comment)\b", s)]
            last = rules[-1].split()[-1] if rules else None
            chains.append({"family": family, "table": tm.group(2), "chain": cm.group(1),
                           "policy": policy.group(1) if policy else "accept",
                           "last_verdict": last if last in ("drop", "reject", "accept") else None})
    return chains


def _block(text: str, start: int) -> tuple[str, int]:
    """Text from `start` (just after a `{`) to its matching `}`."""
    depth = 1
    i = start
    while i < len(text) and depth:
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
        i += 1
    return text[start:i - 1], i


def nftables_facts(host: HostTarget, reader: Reader) -> dict[str, Any]:
    paths = [p for p in ("/etc/nftables.conf", "/etc/sysconfig/nftables.conf") if host.exists(p)]
    installed = bool(paths) or _installed(host, ("/usr/sbin/nft", "/sbin/nft"))
    text = "\n".join(_nft_text(reader, p, 0, set()) for p in paths)
    chains = parse_nft_input_chains(text)
    unit = unit_state(host, "nftables.service")
    policy = None
    if chains:
        denies = [c for c in chains if c["policy"] == "drop" or c["last_verdict"] in DENY]
        policy = ("drop" if all(c["policy"] == "drop" for c in denies) else "reject") \
            if len(denies) == len(chains) else "accept"
    tables = re.findall(r"\btable\s+(?:(?:ip|ip6|inet|arp|bridge|netdev)\s+)?([\w.-]+)\s*\{", text)
    hooks = sorted(set(re.findall(r"\btype\s+filter\s+hook\s+(input|forward|output)\b", text)))
    loopback = bool(re.search(r'\biif(?:name)?\s+"?lo"?\s+accept\b', text)) and \
        bool(re.search(r"\bip\s+saddr\s+127\.0\.0\.0/8\b[^\n;]*\b(drop|reject)\b", text))
    return {"installed": installed, "enabled": installed and unit["enabled"] and bool(chains),
            "program": _installed(host, ("/usr/sbin/nft", "/sbin/nft")), "tables": tables, "base_hooks": hooks, "loopback": loopback,
            "config_files": paths, "input_chains": chains, "default_input_policy": policy,
            "ipv6": any(c["family"] in ("inet", "ip6") for c in chains
                        if c["policy"] == "drop" or c["last_verdict"] in DENY),
            "unit": unit}


# ----------------------------------------------------------------------------- firewalld


FIREWALLD_ZONE_DIRS = ("/etc/firewalld/zones", "/usr/lib/firewalld/zones")
LOOPBACK_SOURCES = {"ipv4": ("127.0.0.1", "127.0.0.1/32", "127.0.0.0/8"), "ipv6": ("::1", "::1/128")}


def _zone(reader: Reader, name: str) -> tuple[str | None, ET.Element | None]:
    """A firewalld zone's file and parsed XML: /etc/firewalld/zones/NAME.xml replaces the
    shipped /usr/lib/firewalld/zones/NAME.xml whole. A file that does not parse is noted in
    the reader's errors and read as an empty zone."""
    for d in FIREWALLD_ZONE_DIRS:
        path = f"{d}/{name}.xml"
        text = reader.read(path)
        if text is None:
            continue
        try:
            return path, ET.fromstring(text)
        except ET.ParseError as exc:
            reader.errors.append(f"{path}: not valid XML ({exc})")
            return path, None
    return None, None


def _rich_rules(zone: str, path: str, root: ET.Element | None) -> list[dict[str, Any]]:
    """The zone's rich rules with a source address: family, source (and whether it is
    inverted), destination (likewise), action (accept, reject, drop, mark or None)."""
    rules: list[dict[str, Any]] = []
    for rule in root.findall("rule") if root is not None else []:
        source = rule.find("source")
        if source is None or not source.get("address"):
            continue
        dest = rule.find("destination")
        action = next((c.tag for c in rule if c.tag in ("accept", "reject", "drop", "mark")), None)
        rules.append({"zone": zone, "file": path, "family": rule.get("family"),
                      "source": source.get("address"), "source_inverted": _true(source.get("invert")),
                      "destination": dest.get("address") if dest is not None else None,
                      "destination_inverted": _true(dest.get("invert") if dest is not None else None),
                      "action": action})
    return rules


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "yes", "1")


def _drops_loopback(rules: list[dict[str, Any]], family: str) -> bool:
    return any(r["family"] in (family, None) and r["source"] in LOOPBACK_SOURCES[family]
               and not r["source_inverted"] and r["action"] in DENY for r in rules)


def firewalld_facts(host: HostTarget, reader: Reader) -> dict[str, Any]:
    installed = _installed(host, ("/usr/sbin/firewalld", "/usr/lib/firewalld", "/etc/firewalld"))
    conf = _kv_file(reader.read("/etc/firewalld/firewalld.conf"))
    zone = conf.get("DefaultZone", "public") if installed else None
    unit = unit_state(host, "firewalld.service")
    target = None
    services: list[str] = []
    if zone:
        for d in ("/etc/firewalld/zones", "/usr/lib/firewalld/zones"):
            xml = reader.read(f"{d}/{zone}.xml")
            if xml is not None:
                m = re.search(r"<zone\b[^>]*\btarget=\"([^\"]+)\"", xml)
                target = m.group(1) if m else "default"
                services = re.findall(r"<service\s+name=\"([^\"]+)\"", xml)
                break
    target = target or ("default" if zone else None)
    policy = None
    if zone:
        policy = "accept" if (target or "").upper() == "ACCEPT" or zone == "trusted" else (
            "drop" if (target or "").upper() == "DROP" or zone == "drop" else "reject")
    trusted_interfaces: list[str] = []
    loopback_rules: list[dict[str, Any]] = []
    if installed:
        for name in dict.fromkeys(["trusted", *([zone] if zone else [])]):
            path, root = _zone(reader, name)
            if path is None:
                continue
            if name == "trusted" and root is not None:
                trusted_interfaces = [i.get("name") or "" for i in root.findall("interface")]
            loopback_rules += [r for r in _rich_rules(name, path, root)
                               if r["source"] in LOOPBACK_SOURCES["ipv4"] + LOOPBACK_SOURCES["ipv6"]]
    return {"installed": installed, "enabled": installed and unit["enabled"], "default_zone": zone,
            "zone_target": target, "zone_services": services, "default_input_policy": policy,
            "ipv6": True, "unit": unit, "trusted_interfaces": trusted_interfaces,
            "loopback_rules": loopback_rules,
            "loopback_drop_v4": _drops_loopback(loopback_rules, "ipv4"),
            "loopback_drop_v6": _drops_loopback(loopback_rules, "ipv6")}


# ----------------------------------------------------------------------------- iptables


def parse_iptables_save(text: str | None) -> str | None:
    """INPUT policy of the filter table in iptables-save format, or the last rule's DROP/REJECT."""
    if not text:
        return None
    in_filter = False
    policy = None
    last = None
    for raw in lines_of(text):
        line = raw.strip()
        if line.startswith("*"):
            in_filter = line == "*filter"
            continue
        if not in_filter:
            continue
        m = re.match(r"^:INPUT\s+(\w+)", line)
        if m:
            policy = m.group(1).lower()
        m = re.match(r"^-A\s+INPUT\b.*\s-j\s+(\w+)", line)
        if m:
            last = m.group(1).lower()
    if policy in DENY:
        return policy
    if last in DENY:
        return last
    return policy


def iptables_facts(host: HostTarget, reader: Reader) -> dict[str, Any]:
    v4 = next((p for p in ("/etc/iptables/rules.v4", "/etc/sysconfig/iptables") if host.exists(p)), None)
    v6 = next((p for p in ("/etc/iptables/rules.v6", "/etc/sysconfig/ip6tables") if host.exists(p)), None)
    units = [unit_state(host, u) for u in ("netfilter-persistent.service", "iptables.service")]
    text4 = reader.read(v4) if v4 else None
    text6 = reader.read(v6) if v6 else None
    policy4 = parse_iptables_save(text4)
    policy6 = parse_iptables_save(text6)

    def loopback(text: str | None, net: str) -> bool:
        return bool(text) and bool(re.search(r"-A INPUT -i lo -j ACCEPT", text or "")) and \
            bool(re.search(rf"-A INPUT -s {re.escape(net)} -j (DROP|REJECT)", text or ""))
    # iptables itself, and what loads the saved rules at boot (iptables-persistent's plugins run
    # by netfilter-persistent; RHEL's iptables-services)
    program = _installed(host, ("/usr/sbin/iptables", "/sbin/iptables")) and _installed(
        host, ("/usr/share/netfilter-persistent/plugins.d/15-ip4tables", "/usr/libexec/iptables/iptables.init"))
    return {"installed": bool(v4 or v6), "enabled": bool(v4) and any(u["enabled"] for u in units),
            "program": program,
            "rules_v4": v4, "rules_v6": v6, "default_input_policy": policy4,
            "ipv6_input_policy": policy6, "ipv6": policy6 in DENY, "units": units,
            "loopback_v4": loopback(text4, "127.0.0.0/8"), "loopback_v6": loopback(text6, "::1/128")}


class FirewallProbe(Probe):
    """Which host firewalls are configured to start at boot, and their default for incoming traffic.

    Facts: tools_found (ufw / nftables / firewalld / iptables whose files are present),
    active_firewalls (those set to be active at boot: ufw ENABLED=yes; nftables.service enabled
    with an input chain; firewalld.service enabled; iptables rules file with
    netfilter-persistent/iptables.service enabled), active (any), default_input_policy (of the
    first active one in the order firewalld, ufw, nftables, iptables: drop / reject / accept, None
    when none is active), default_deny (policy is drop or reject), ipv6_covered (the active
    firewall also filters IPv6), active_count, in_use (the first active one: the utility whose
    items apply), and per tool: ufw, nftables, firewalld, iptables (details, including the
    systemd unit state; program: the tool itself is installed, not only its configuration
    (for iptables, also what restores the rules at boot); ufw.loopback: user rules accept lo and drop 127.0.0.0/8;
    nftables.tables, base_hooks (filter hooks among input / forward / output), loopback (iif lo
    accept and 127.0.0.0/8 dropped); iptables.loopback_v4 / loopback_v6 likewise;
    firewalld.trusted_interfaces (the trusted zone's interfaces), loopback_rules (rich rules of
    the trusted and the default zone whose source is 127.0.0.1, 127.0.0.0/8 or ::1:
    {zone, file, family, source, source_inverted, destination, destination_inverted, action}),
    loopback_drop_v4 / loopback_drop_v6 (one of them drops or rejects that source)); live hosts
    only: open_ports ({v4, v6}: "tcp/22" for every port listened on beyond loopback), and the open
    ports without an ACCEPT rule in ufw's user rules (ufw_without_rule) and in the saved iptables
    INPUT chains (iptables_v4_without_rule, iptables_v6_without_rule); None offline.
    """

    name = "firewall"
    description = "host firewall (ufw, nftables, firewalld, iptables) configured at boot"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False,
                                     "properties": {}}

    facts = fs.record(
        tools_found=fs.list_of(fs.STR), active_firewalls=fs.list_of(fs.STR), active=fs.BOOL,
        default_input_policy=fs.nullable(fs.STR), default_deny=fs.BOOL, ipv6_covered=fs.BOOL,
        files=fs.list_of(fs.STR), errors=fs.list_of(fs.STR),
        active_count=fs.INT, in_use=fs.nullable(fs.STR),
        open_ports=fs.nullable(fs.record(v4=fs.list_of(fs.STR), v6=fs.list_of(fs.STR))),
        ufw_without_rule=fs.nullable(fs.list_of(fs.STR)),
        iptables_v4_without_rule=fs.nullable(fs.list_of(fs.STR)),
        iptables_v6_without_rule=fs.nullable(fs.list_of(fs.STR)),
        ufw=fs.record(installed=fs.BOOL, enabled=fs.BOOL, program=fs.BOOL,
                      default_input_policy=fs.nullable(fs.STR), ipv6=fs.BOOL, unit=UNIT_FACTS,
                      loopback=fs.BOOL),
        nftables=fs.record(
            installed=fs.BOOL, enabled=fs.BOOL, program=fs.BOOL, config_files=fs.list_of(fs.STR),
            tables=fs.list_of(fs.STR), base_hooks=fs.list_of(fs.STR), loopback=fs.BOOL,
            input_chains=fs.list_of(fs.record(family=fs.STR, table=fs.STR, chain=fs.STR,
                                              policy=fs.STR, last_verdict=fs.nullable(fs.STR))),
            default_input_policy=fs.nullable(fs.STR), ipv6=fs.BOOL, unit=UNIT_FACTS),
        firewalld=fs.record(
            installed=fs.BOOL, enabled=fs.BOOL, default_zone=fs.nullable(fs.STR),
            zone_target=fs.nullable(fs.STR), zone_services=fs.list_of(fs.STR),
            default_input_policy=fs.nullable(fs.STR), ipv6=fs.BOOL, unit=UNIT_FACTS,
            trusted_interfaces=fs.list_of(fs.STR),
            loopback_rules=fs.list_of(fs.record(
                zone=fs.STR, file=fs.STR, family=fs.nullable(fs.STR), source=fs.STR,
                source_inverted=fs.BOOL, destination=fs.nullable(fs.STR),
                destination_inverted=fs.BOOL, action=fs.nullable(fs.STR))),
            loopback_drop_v4=fs.BOOL, loopback_drop_v6=fs.BOOL),
        iptables=fs.record(
            installed=fs.BOOL, enabled=fs.BOOL, program=fs.BOOL, rules_v4=fs.nullable(fs.STR),
            rules_v6=fs.nullable(fs.STR), default_input_policy=fs.nullable(fs.STR),
            ipv6_input_policy=fs.nullable(fs.STR), ipv6=fs.BOOL, units=fs.list_of(UNIT_FACTS),
            loopback_v4=fs.BOOL, loopback_v6=fs.BOOL),
    )

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        reader = Reader(host)
        tools = {
            "firewalld": firewalld_facts(host, reader),
            "ufw": ufw_facts(host, reader),
            "nftables": nftables_facts(host, reader),
            "iptables": iptables_facts(host, reader),
        }
        ctx.check_deadline()
        active = [name for name, t in tools.items() if t["enabled"]]
        policy = tools[active[0]]["default_input_policy"] if active else None
        return {
            "tools_found": [name for name, t in tools.items() if t["installed"]],
            "active_firewalls": active,
            "active": bool(active),
            "active_count": len(active),
            "in_use": active[0] if active else None,
            "default_input_policy": policy,
            "default_deny": policy in DENY,
            "ipv6_covered": bool(active) and bool(tools[active[0]]["ipv6"]),
            **tools,
            **coverage(host, reader, ("/etc/ufw/user.rules", "/etc/ufw/user6.rules"),
                       (tools["iptables"]["rules_v4"], tools["iptables"]["rules_v6"])),
            "files": reader.files,
            "errors": reader.errors,
        }
