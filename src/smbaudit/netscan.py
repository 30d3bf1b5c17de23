"""Network discovery as engine target sources: port scans, own identification, nmap -sV only
where needed.

- `HOST:PORT` specs need no nmap at all: the port is identified directly (`probes/_identify`).
- Hosts and ranges get an nmap port scan without version detection, in groups of addresses,
  and every open port it reports is identified the same way.
- nmap -sV runs only on ports nothing here recognises (or on every port when asked), bounded
  by its --host-timeout; a port whose version detection times out is kept as open.
- Hosts found up are asked the UDP questions of `probes/_udp` (SNMP, NTP, SSDP, mDNS) when
  running as root (as nmap's UDP scans would need), all at once per group of addresses.
- Each step is a `TargetSource`, so the engine probes a service as soon as it is identified,
  while other addresses are still being scanned.

Time bounds with T = --timeout: an nmap port scan of up to CHUNK addresses takes at most
5T (--host-timeout) + max(5, T); identifying one port at most 2T; version detection of one
port at most 5T + max(5, T); the UDP questions to a group of addresses at most T.
"""

from __future__ import annotations

import dataclasses
import shutil
import socket

from smbaudit.errors import TargetError
from smbaudit.models import TargetInfo, TargetKind
from smbaudit.probes import _identify, _udp
from smbaudit.targets import network
from smbaudit.targets.base import ServiceTarget
from smbaudit.targets.network import DiscoveryOptions, ScanJob
from smbaudit.targets.source import Expansion, TargetSource

CHUNK = 32  # addresses per nmap port scan: small enough to start probing early
UNKNOWN = "unknown"


def plan_sources(specs: list[str], options: DiscoveryOptions) -> tuple[list[TargetSource], list[TargetInfo]]:
    """Discovery steps for network specs, and the specs that failed at once (names that do not
    resolve). Raises TargetError for a spec that cannot be parsed."""
    jobs, failed = network.plan(network.parse_specs(specs), options)
    sources: list[TargetSource] = []
    for job in jobs:
        if job.skip_ping:  # host:port: identify each given port directly
            for addr in job.addresses:
                for port in (int(p) for p in job.ports.split(",")):
                    sources.append(IdentifySource(addr, port, job.hostnames.get(addr, ""),
                                                  job.origin.get(addr, addr), options, explicit=True))
        else:
            sources += [PortScanSource(part, options) for part in network.split_job(job, CHUNK)]
    return sources, failed


def report_hosts(discovered: list[TargetInfo], specs: list[str]) -> list[TargetInfo]:
    """What the report lists beside the probed services: hosts and ports that did not answer,
    and one summary per range."""
    hosts = network.summarise_ranges(discovered, network.parse_specs(specs))
    return [h for h in hosts if not h.reachable or "did_not_answer_count" in h.details]


def _label(address: str, port: int, hostname: str = "") -> str:
    host = hostname or address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class PortScanSource(TargetSource):
    """An nmap port scan (no -sV) of some addresses; each open port becomes an IdentifySource."""

    def __init__(self, job: ScanJob, options: DiscoveryOptions):
        self.job = job
        self.options = dataclasses.replace(options, service_detection=False)
        first = job.addresses[0]
        more = f" (+{len(job.addresses) - 1})" if len(job.addresses) > 1 else ""
        self.label = f"port scan {first}{more}"
        self.budget = network.job_budget(job, self.options) + 2

    def expand(self) -> Expansion:
        found = network.scan_job(self.job, self.options)
        sources: list[TargetSource] = [
            IdentifySource(s.address, s.port, s.hostname, self.job.origin.get(s.address, s.address),
                           self.options, explicit=False)
            for s in found.services]
        up = [h.details.get("address", h.name) for h in found.hosts
              if h.reachable and h.kind is TargetKind.HOST]
        if up and self.options.udp_enabled:
            sources.append(UdpSource([str(a) for a in up], self.job, self.options))
        return Expansion(sources=sources, infos=found.hosts)

    def on_timeout(self) -> Expansion:
        why = f"the port scan did not finish within {self.budget:.0f}s"
        return Expansion(infos=[self._down(a, why) for a in self.job.addresses])

    def on_error(self, exc: BaseException) -> Expansion:
        why = str(exc) if isinstance(exc, TargetError) else f"port scan failed: {exc}"
        return Expansion(infos=[self._down(a, why) for a in self.job.addresses])

    def _down(self, addr: str, why: str) -> TargetInfo:
        return TargetInfo(addr, TargetKind.HOST, reachable=False, error=why,
                          details={"address": addr, "spec": self.job.origin.get(addr, addr),
                                   "ports": self.job.ports})


class IdentifySource(TargetSource):
    """Identify one open port; known services are probed at once, unknown ones go to nmap -sV
    (or are probed as "unknown" with the reason, which their checks report as an error)."""

    def __init__(self, address: str, port: int, hostname: str, spec: str, options: DiscoveryOptions,
                 explicit: bool):
        self.address, self.port, self.hostname, self.spec = address, port, hostname, spec
        self.options, self.explicit = options, explicit
        self.label = f"identify {_label(address, port, hostname)}"
        self.budget = 2 * options.timeout + 2

    def _info(self, why: str) -> TargetInfo:
        return TargetInfo(_label(self.address, self.port, self.hostname), TargetKind.SERVICE,
                          reachable=False, error=why,
                          details={"address": self.address, "port": self.port, "spec": self.spec,
                                   "hostname": self.hostname})

    def expand(self) -> Expansion:
        try:
            identity = _identify.identify(self.address, self.port, self.options.timeout, self.hostname)
        except ConnectionRefusedError:
            return Expansion(infos=[self._info(f"port {self.port} is not open")])
        except (socket.timeout, TimeoutError):
            return Expansion(infos=[self._info(
                f"port {self.port}: no connection within {self.options.timeout:g}s "
                "(filtered, or the host is down)")])
        except OSError as exc:
            return Expansion(infos=[self._info(f"port {self.port}: {exc.strerror or exc}")])
        mode = self.options.version_detection
        if mode == "all" or (mode == "unknown" and not identity.known and _have_nmap()):
            return Expansion(sources=[VersionSource(self, identity)])
        return Expansion(targets=[service_target(self, identity)])

    def on_timeout(self) -> Expansion:
        return Expansion(targets=[service_target(self, _identify.Identity(
            error=f"identification did not finish within {self.budget:.0f}s"))])


class VersionSource(TargetSource):
    """nmap -sV on one port, bounded by --host-timeout; the port is kept whatever it says."""

    def __init__(self, origin: IdentifySource, identity: _identify.Identity):
        self.origin, self.identity = origin, identity
        self.options = dataclasses.replace(origin.options, ports=str(origin.port),
                                           service_detection=True)
        self.job = ScanJob([origin.address], str(origin.port), True, ":" in origin.address,
                           {origin.address: origin.hostname} if origin.hostname else {},
                           {origin.address: origin.spec})
        self.label = f"nmap -sV {_label(origin.address, origin.port, origin.hostname)}"
        self.budget = network.job_budget(self.job, self.options) + 2

    def expand(self) -> Expansion:
        found = network.scan_job(self.job, self.options)
        ident = self.identity
        nmap_service = found.services[0] if found.services else None
        if nmap_service is not None and nmap_service.service not in ("", UNKNOWN, "tcpwrapped"):
            if not ident.known:
                ident.service, ident.tunnel = nmap_service.service, nmap_service.tunnel
                ident.error = ""
            ident.product = nmap_service.product or ident.product
            ident.version = nmap_service.version or ident.version
            ident.extra.update({k: str(v) for k, v in nmap_service.extra.items()})
            ident.extra["identified_by"] = "nmap" if not ident.extra.get("identified_by") else "smbaudit+nmap"
        elif not ident.known:
            timed_out = any(not h.reachable and "timeout" in h.error for h in found.hosts)
            ident.error += ("; nmap version detection did not finish within "
                            f"{self.options.host_timeout:g}s" if timed_out
                            else "; nmap version detection did not recognise it either")
        return Expansion(targets=[service_target(self.origin, ident)])

    def on_timeout(self) -> Expansion:
        if not self.identity.known:
            self.identity.error += f"; nmap version detection did not finish within {self.budget:.0f}s"
        return Expansion(targets=[service_target(self.origin, self.identity)])

    def on_error(self, exc: BaseException) -> Expansion:
        if not self.identity.known:
            self.identity.error += f"; nmap version detection failed: {exc}"
        return Expansion(targets=[service_target(self.origin, self.identity)])


class UdpSource(TargetSource):
    """SNMP, NTP, SSDP and mDNS questions to the hosts a port scan found up, all at once; each
    service that answers becomes a target named host:port/udp."""

    def __init__(self, addresses: list[str], job: ScanJob, options: DiscoveryOptions):
        self.addresses, self.job, self.options = addresses, job, options
        self.label = f"udp {addresses[0]}" + (f" (+{len(addresses) - 1})" if len(addresses) > 1 else "")
        self.budget = options.timeout + 5

    def expand(self) -> Expansion:
        targets: list[ServiceTarget] = []
        for address, answers in _udp.ask_all(self.addresses, self.options.timeout).items():
            hostname = self.job.hostnames.get(address, "")
            for service in answers.services():
                port = _udp.PORTS[service]
                targets.append(ServiceTarget(
                    name=f"{_label(address, port, hostname)}/udp", address=address, port=port,
                    service=service, hostname=hostname,
                    extra={"transport": "udp", "identified_by": "smbaudit"}))
        return Expansion(targets=list(targets))


def service_target(origin: IdentifySource, identity: _identify.Identity) -> ServiceTarget:
    extra: dict[str, str] = {k: v for k, v in identity.extra.items() if v}
    extra.setdefault("identified_by", "smbaudit" if identity.known else "")
    if not extra["identified_by"]:
        del extra["identified_by"]
    if identity.error:
        extra["identify_error"] = identity.error
    return ServiceTarget(name=_label(origin.address, origin.port, origin.hostname),
                         address=origin.address, port=origin.port,
                         service=identity.service or UNKNOWN, tunnel=identity.tunnel,
                         product=identity.product, version=identity.version,
                         hostname=origin.hostname, extra=extra)


def _have_nmap() -> bool:
    return shutil.which("nmap") is not None
