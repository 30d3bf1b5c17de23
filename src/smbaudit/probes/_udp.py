"""UDP questions small-office devices answer too freely: SNMP with a default community, NTP
control (mode 6) and monlist (mode 7) queries, SSDP/UPnP discovery and unicast mDNS.

Each question is one datagram; answers are read with a deadline and at most MAX_DATAGRAM bytes.
Nothing is changed on the device: SNMP only reads sysDescr, NTP only reads its variables.
"""

from __future__ import annotations

import os
import re
import selectors
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any

MAX_DATAGRAM = 65535
COMMUNITIES = ("public", "private")
SYS_DESCR = bytes.fromhex("2b06010201010100")  # 1.3.6.1.2.1.1.1.0
PORTS = {"snmp": 161, "ntp": 123, "ssdp": 1900, "mdns": 5353}


# --------------------------------------------------------------------------- SNMP (BER)


def _tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    length = bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes(
        (n.bit_length() + 7) // 8, "big")
    return bytes([tag]) + length + value


def _int(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def snmp_get(community: str, request_id: int) -> bytes:
    """An SNMPv2c GetRequest for sysDescr.0."""
    varbind = _tlv(0x30, _tlv(0x30, _tlv(0x06, SYS_DESCR) + b"\x05\x00"))
    pdu = _tlv(0xA0, _int(request_id) + _int(0) + _int(0) + varbind)
    return _tlv(0x30, _int(1) + _tlv(0x04, community.encode()) + pdu)


def _read_tlv(data: bytes, pos: int) -> tuple[int, bytes, int]:
    tag = data[pos]
    first = data[pos + 1]
    pos += 2
    if first & 0x80:
        n = first & 0x7F
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    else:
        length = first
    if pos + length > len(data):
        raise ValueError("truncated BER value")
    return tag, data[pos:pos + length], pos + length


def parse_snmp_response(data: bytes) -> tuple[int, int, str] | None:
    """(request id, error status, sysDescr text) of a GetResponse, or None if it is not one."""
    try:
        _tag, msg, _ = _read_tlv(data, 0)
        _t, _version, pos = _read_tlv(msg, 0)
        _t, _community, pos = _read_tlv(msg, pos)
        tag, pdu, _ = _read_tlv(msg, pos)
        if tag != 0xA2:
            return None
        _t, rid, pos = _read_tlv(pdu, 0)
        _t, status, pos = _read_tlv(pdu, pos)
        _t, _index, pos = _read_tlv(pdu, pos)
        _t, varbinds, _ = _read_tlv(pdu, pos)
        _t, varbind, _ = _read_tlv(varbinds, 0)
        _t, _oid, vpos = _read_tlv(varbind, 0)
        vtag, value, _ = _read_tlv(varbind, vpos)
        text = value.decode("utf-8", "replace") if vtag == 0x04 else ""
        return int.from_bytes(rid, "big", signed=True), int.from_bytes(status, "big"), text
    except (IndexError, ValueError):
        return None


# --------------------------------------------------------------------------- NTP, SSDP, mDNS

NTP_READVAR = bytes([0x16, 0x02]) + struct.pack("!HHHHH", 1, 0, 0, 0, 0)  # mode 6, READVAR
NTP_MONLIST = bytes([0x17, 0x00, 0x03, 0x2A]) + bytes(44)  # mode 7, MON_GETLIST_1
SSDP_SEARCH = (b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n"
               b"MX: 1\r\nST: ssdp:all\r\n\r\n")


def mdns_query() -> bytes:
    """A unicast DNS-SD service enumeration query (PTR _services._dns-sd._udp.local)."""
    name = b"".join(bytes([len(p)]) + p for p in (b"_services", b"_dns-sd", b"_udp", b"local")) + b"\x00"
    return struct.pack("!HHHHHH", 0, 0, 1, 0, 0, 0) + name + struct.pack("!HH", 12, 1)


@dataclass
class Answers:
    """What one address answered, per question."""

    snmp_communities: list[str] = field(default_factory=list)
    snmp_sys_descr: str = ""
    ntp_mode6: str | None = None  # the variables text, when mode 6 was answered
    ntp_monlist: bool = False
    ssdp: dict[str, str] | None = None
    mdns_answers: int | None = None
    closed: set[str] = field(default_factory=set)  # ICMP port unreachable

    def services(self) -> list[str]:
        found = []
        if self.snmp_communities:
            found.append("snmp")
        if self.ntp_mode6 is not None or self.ntp_monlist:
            found.append("ntp")
        if self.ssdp is not None:
            found.append("ssdp")
        if self.mdns_answers is not None:
            found.append("mdns")
        return found


def ask(address: str, timeout: float, services: tuple[str, ...] = tuple(PORTS),
        ports: dict[str, int] | None = None) -> Answers:
    """Ask one address every question at once (see ask_all)."""
    return ask_all([address], timeout, services, ports)[address]


def ask_all(addresses: list[str], timeout: float, services: tuple[str, ...] = tuple(PORTS),
            ports: dict[str, int] | None = None) -> dict[str, Answers]:
    """Ask every address every question at once; collect answers until all came back, were
    refused (ICMP port unreachable), or `timeout` passed."""
    ports = {**PORTS, **(ports or {})}
    answers = {a: Answers() for a in addresses}
    sel = selectors.DefaultSelector()
    socks: list[socket.socket] = []
    rid = int.from_bytes(os.urandom(3), "big")
    try:
        for address in addresses:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            for service in services:
                sock = socket.socket(family, socket.SOCK_DGRAM)
                socks.append(sock)
                sock.setblocking(False)
                try:
                    sock.connect((address, ports[service]))  # ICMP unreachable surfaces as an error
                    for datagram in _questions(service, rid):
                        sock.send(datagram)
                except OSError:
                    answers[address].closed.add(service)
                    continue
                sel.register(sock, selectors.EVENT_READ, (address, service))
        deadline = time.monotonic() + timeout
        pending = {k.data for k in sel.get_map().values()}
        while pending and (left := deadline - time.monotonic()) > 0:
            for key, _ in sel.select(timeout=min(left, 0.5)):
                address, service = key.data
                try:
                    data = key.fileobj.recv(MAX_DATAGRAM)  # type: ignore[union-attr]
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    answers[address].closed.add(service)
                    pending.discard(key.data)
                    sel.unregister(key.fileobj)
                    continue
                if _take(answers[address], service, data, rid):
                    pending.discard(key.data)
                    sel.unregister(key.fileobj)
    finally:
        sel.close()
        for sock in socks:
            sock.close()
    return answers


def _questions(service: str, rid: int) -> list[bytes]:
    if service == "snmp":
        return [snmp_get(c, rid + i) for i, c in enumerate(COMMUNITIES)]
    if service == "ntp":
        return [NTP_READVAR, NTP_MONLIST]
    if service == "ssdp":
        return [SSDP_SEARCH]
    return [mdns_query()]


def _take(answers: Answers, service: str, data: bytes, rid: int) -> bool:
    """Record one datagram; True when the service needs no more answers."""
    if service == "snmp":
        parsed = parse_snmp_response(data)
        if parsed and parsed[1] == 0 and 0 <= parsed[0] - rid < len(COMMUNITIES):
            answers.snmp_communities.append(COMMUNITIES[parsed[0] - rid])
            answers.snmp_sys_descr = answers.snmp_sys_descr or parsed[2][:200]
        return len(answers.snmp_communities) == len(COMMUNITIES)
    if service == "ntp":
        if len(data) >= 12 and data[0] & 0x07 == 6 and data[1] & 0x80:
            count = struct.unpack("!H", data[10:12])[0]
            answers.ntp_mode6 = data[12:12 + count].decode("ascii", "replace")[:300]
        elif len(data) >= 8 and data[0] & 0x07 == 7 and data[3] == 0x2A:
            answers.ntp_monlist = True
        return answers.ntp_mode6 is not None and answers.ntp_monlist
    if service == "ssdp":
        if data.startswith(b"HTTP/1.1 200"):
            text = data.decode("latin-1")
            headers = dict((m.group(1).lower(), m.group(2).strip()[:200])
                           for m in re.finditer(r"^([A-Za-z-]+):(.*)$", text, re.M))
            answers.ssdp = {"server": headers.get("server", ""), "location": headers.get("location", "")}
        return answers.ssdp is not None
    if len(data) >= 12 and data[2] & 0x80:  # a DNS response
        answers.mdns_answers = struct.unpack("!H", data[6:8])[0]
        return True
    return False
