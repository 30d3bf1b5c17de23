"""UDP service probe: SNMP default communities, NTP mode 6 / monlist, SSDP and unicast mDNS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smbaudit.errors import ProbeError
from smbaudit.models import TargetKind
from smbaudit.probes import _udp
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import ServiceTarget, Target


class UdpServiceProbe(Probe):
    """What a UDP service found by discovery answers (asked again, one datagram per question).

    Facts: endpoint, service (snmp, ntp, ssdp or mdns), answered (bool), snmp_communities
    (default communities it answered: public, private), snmp_sys_descr, ntp_mode6 (bool: answers
    control queries), ntp_variables (what mode 6 READVAR returned), ntp_monlist (bool: answers
    the mode 7 monlist query), ssdp_server, ssdp_location (SSDP answer headers, "" without
    one), mdns_answers (records in the answer to a unicast DNS-SD query; null: no answer).
    """

    name = "udp_service"
    description = "SNMP default communities, NTP mode 6/7, SSDP and unicast mDNS answers"
    target_kinds = frozenset({TargetKind.SERVICE})
    services = frozenset(_udp.PORTS)
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}
    facts = {
        "type": "object", "additionalProperties": False,
        "properties": {
            "endpoint": {"type": "string"}, "service": {"enum": sorted(_udp.PORTS)},
            "answered": {"type": "boolean"},
            "snmp_communities": {"type": "array", "items": {"type": "string"}},
            "snmp_sys_descr": {"type": "string"},
            "ntp_mode6": {"type": "boolean"}, "ntp_variables": {"type": "string"},
            "ntp_monlist": {"type": "boolean"},
            "ssdp_server": {"type": "string"}, "ssdp_location": {"type": "string"},
            "mdns_answers": {"type": ["integer", "null"]},
        },
    }

    def service_matches(self, target: Target) -> bool:
        return getattr(target, "extra", {}).get("transport") == "udp" and \
            getattr(target, "service", "") in self.services

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        if not isinstance(target, ServiceTarget):
            raise ProbeError(f"{target.name} is not a network service")
        service = target.service
        answers = _udp.ask(target.address, ctx.io_timeout(), (service,), {service: target.port})
        return {
            "endpoint": target.endpoint,
            "service": service,
            "answered": service in answers.services(),
            "snmp_communities": answers.snmp_communities,
            "snmp_sys_descr": answers.snmp_sys_descr,
            "ntp_mode6": answers.ntp_mode6 is not None,
            "ntp_variables": answers.ntp_mode6 or "",
            "ntp_monlist": answers.ntp_monlist,
            "ssdp_server": (answers.ssdp or {}).get("server", ""),
            "ssdp_location": (answers.ssdp or {}).get("location", ""),
            "mdns_answers": answers.mdns_answers,
        }
