"""Listening TCP and bound UDP sockets of the live host, read from /proc without any command."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from smbaudit.errors import ProbeError
from smbaudit.models import TargetKind
from smbaudit.probes import factschema as fs
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import HostTarget, Target

TABLES = (("tcp", "/proc/net/tcp", 4), ("tcp6", "/proc/net/tcp6", 6),
          ("udp", "/proc/net/udp", 4), ("udp6", "/proc/net/udp6", 6))
TCP_LISTEN = "0A"
UDP_UNCONNECTED = "07"
MAX_PROCS = 5000
_SOCKET_LINK = re.compile(r"^socket:\[(\d+)\]$")


def decode_address(hex_addr: str, family: int) -> tuple[str, int]:
    """'0100007F:1F90' -> ('127.0.0.1', 8080). The kernel prints each 32-bit word in host
    (little-endian on x86/ARM) order."""
    addr_hex, port_hex = hex_addr.split(":")
    raw = bytes.fromhex(addr_hex)
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    ip = ipaddress.ip_address(words)
    if family == 6 and isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return str(ip), int(port_hex, 16)


def scope_of(address: str) -> str:
    ip = ipaddress.ip_address(address)
    if ip.is_unspecified:
        return "all"
    if ip.is_loopback:
        return "loopback"
    return "specific"


def parse_table(text: str, proto: str, family: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
        if proto.startswith("tcp") and state != TCP_LISTEN:
            continue
        if proto.startswith("udp"):
            if state != UDP_UNCONNECTED or set(remote.split(":")[0]) != {"0"}:
                continue
        address, port = decode_address(local, family)
        found.append({"proto": proto, "address": address, "port": port,
                      "scope": scope_of(address), "inode": int(inode)})
    return found


def socket_owners(host: HostTarget, inodes: set[int], ctx: ProbeContext) -> dict[int, dict[str, Any]]:
    """inode -> {pid, process} for the sockets whose owning process can be read. The fd
    folders are listed in one walk and the links read in one batch (remote targets keep
    the requests in flight)."""
    owners: dict[int, dict[str, Any]] = {}
    try:
        pids = [p for p in host.list_dir("/proc") if p.isdigit()][:MAX_PROCS]
    except OSError:
        return owners
    fd_paths: list[str] = []
    for fd_dir, entries, _ in host.walk_modes([f"/proc/{pid}/fd" for pid in pids], lambda _: False, 0):
        ctx.check_deadline()
        if not isinstance(entries, OSError):  # else another user's process, or it ended
            fd_paths.extend(f"{fd_dir}/{name}" for name, _mode in entries)
    fd_paths.sort(key=lambda p: (int(p.split("/")[2]), p))
    links = host.read_links(fd_paths)
    ctx.check_deadline()
    for path in fd_paths:  # the lowest pid owning a shared socket names it
        m = _SOCKET_LINK.match(links.get(path) or "")
        if m and int(m.group(1)) in inodes and int(m.group(1)) not in owners:
            pid = path.split("/")[2]
            comm = (host.read_text_or_none(f"/proc/{pid}/comm", 256) or "").strip()
            owners[int(m.group(1))] = {"pid": int(pid), "process": comm or None}
    return owners


_SOCKETS = fs.list_of(fs.record(
    name=fs.STR, proto=fs.STR, address=fs.STR, port=fs.INT,
    scope=fs.enum("all", "loopback", "specific"), inode=fs.INT, pid=fs.nullable(fs.INT),
    process=fs.nullable(fs.STR)))


class SocketsProbe(Probe):
    """Listening sockets of the running system.

    Facts: listening (list of {name (e.g. 'tcp 0.0.0.0:22 (sshd)'), proto, address, port, scope (all, loopback, specific), inode,
    pid, process}; pid/process None where the owner cannot be read), exposed (those with scope
    all), exposed_unexpected (exposed ones whose port is not in `allow_ports`), ports (sorted
    exposed TCP ports).
    """

    name = "sockets"
    description = "listening TCP/UDP sockets and their processes (live hosts)"
    target_kinds = frozenset({TargetKind.HOST})
    live_only = True
    params_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "allow_ports": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 65535}},
            "protocols": {"type": "array", "items": {"enum": ["tcp", "udp"]}, "uniqueItems": True},
        },
    }

    facts = fs.record(listening=_SOCKETS, exposed=_SOCKETS, exposed_unexpected=_SOCKETS,
                      ports=fs.list_of(fs.INT))

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        if not isinstance(target, HostTarget) or not target.live:
            raise ProbeError(f"{target.name}: listening sockets can only be read on a live host")
        protocols = set(params.get("protocols", ["tcp", "udp"]))
        listening: list[dict[str, Any]] = []
        for proto, path, family in TABLES:
            if proto.rstrip("6") not in protocols:
                continue
            text = target.read_text_or_none(path, 8 * 1024 * 1024)
            if text is not None:
                listening.extend(parse_table(text, proto, family))
        owners = socket_owners(target, {s["inode"] for s in listening}, ctx)
        for s in listening:
            s.update(owners.get(s["inode"], {"pid": None, "process": None}))
            host = f"[{s['address']}]" if ":" in s["address"] else s["address"]
            s["name"] = f"{s['proto']} {host}:{s['port']}" + (f" ({s['process']})" if s["process"] else "")
        listening.sort(key=lambda s: (s["proto"], s["port"], s["address"]))
        allow = set(params.get("allow_ports", []))
        exposed = [s for s in listening if s["scope"] == "all"]
        return {
            "listening": listening,
            "exposed": exposed,
            "exposed_unexpected": [s for s in exposed if s["port"] not in allow],
            "ports": sorted({s["port"] for s in exposed if s["proto"].startswith("tcp")}),
        }
