"""The mail transfer agent: whether it accepts mail from the network or only from this host.

From the configuration of the MTAs Debian and RHEL ship: Postfix (`inet_interfaces` in
/etc/postfix/main.cf; its default is `all`), Exim 4 as Debian configures it
(`dc_local_interfaces` in /etc/exim4/update-exim4.conf.conf; empty means every interface) and
Sendmail (`DAEMON_OPTIONS(... Addr=...)` in /etc/mail/sendmail.mc; none means every
interface). On a live host the listening sockets on the mail ports (25, 465, 587) decide, as the
benchmark's own audit does.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from smbaudit.models import TargetKind
from smbaudit.probes import factschema as fs
from smbaudit.probes._common import Reader, host_of, lines_of, strip_comment
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.probes.sockets import TABLES, parse_table
from smbaudit.targets.base import Target

MAIL_PORTS = (25, 465, 587)
POSTFIX_MAIN = "/etc/postfix/main.cf"
EXIM_CONF = "/etc/exim4/update-exim4.conf.conf"
SENDMAIL_MC = "/etc/mail/sendmail.mc"


def is_loopback(address: str) -> bool:
    text = address.strip().strip("[]")
    if text in ("localhost", "loopback-only", "ip6-localhost", "ip6-loopback"):
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def postfix_interfaces(text: str) -> list[str]:
    value = "all"
    for raw in lines_of(text):
        m = re.match(r"^\s*inet_interfaces\s*=\s*(.*)$", strip_comment(raw))
        if m:
            value = m.group(1).strip()
    return [v for v in re.split(r"[\s,]+", value) if v] or ["all"]


def exim_interfaces(text: str) -> list[str]:
    value = ""
    for raw in lines_of(text):
        m = re.match(r"^\s*dc_local_interfaces\s*=\s*['\"]?([^'\"]*)['\"]?\s*$", strip_comment(raw))
        if m:
            value = m.group(1)
    found = [v.strip() for v in value.split(";") if v.strip()]
    return found or ["all"]


def sendmail_interfaces(text: str) -> list[str]:
    found = [m.group(1) for m in re.finditer(r"DAEMON_OPTIONS\([^)]*\bAddr=([^,'`)\s]+)", text)]
    return found or ["all"]


class MtaProbe(Probe):
    """Which MTA is configured and the interfaces it accepts mail on.

    Facts: mta (postfix / exim4 / sendmail / None), interfaces (as configured), local_only (every
    interface is a loopback one), listening (live: "address:port" of sockets on the mail ports
    bound beyond loopback; None offline), live.
    """

    name = "mta"
    description = "mail transfer agent: network or local-only delivery"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}
    facts = fs.record(mta=fs.nullable(fs.enum("postfix", "exim4", "sendmail")),
                      interfaces=fs.list_of(fs.STR), local_only=fs.BOOL,
                      listening=fs.nullable(fs.list_of(fs.STR)), live=fs.BOOL)

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        reader = Reader(host)
        mta: str | None = None
        interfaces: list[str] = []
        if host.exists("/usr/sbin/postfix") or host.exists(POSTFIX_MAIN):
            mta, interfaces = "postfix", postfix_interfaces(reader.read(POSTFIX_MAIN) or "")
        elif host.exists("/usr/sbin/exim4"):
            mta, interfaces = "exim4", exim_interfaces(reader.read(EXIM_CONF) or "")
        elif host.exists("/usr/sbin/sendmail.sendmail") or host.exists(SENDMAIL_MC):
            mta, interfaces = "sendmail", sendmail_interfaces(reader.read(SENDMAIL_MC) or "")
        listening: list[str] | None = None
        if host.live:
            listening = []
            for proto, path, family in TABLES:
                if not proto.startswith("tcp"):
                    continue
                text = reader.read(path)
                for sock in parse_table(text or "", proto, family):
                    if sock["port"] in MAIL_PORTS and not is_loopback(sock["address"]):
                        listening.append(f"{sock['address']}:{sock['port']}")
        local_only = all(is_loopback(i) for i in interfaces) if interfaces else True
        if listening is not None:
            local_only = not listening
        return {"mta": mta, "interfaces": interfaces, "local_only": local_only,
                "listening": sorted(set(listening)) if listening is not None else None,
                "live": host.live}
