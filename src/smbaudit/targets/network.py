"""Network targets: parse host / IP / CIDR / host:port specs and find open services with nmap.

nmap never resolves names (`-n` always): names given on the command line are resolved here,
once, with `socket.getaddrinfo`, and nmap only ever sees IP literals. Every address that was
asked about appears in `Discovery.hosts`, answered or not: nothing is silently dropped.
"""

from __future__ import annotations

import ipaddress
import math
import os
import queue
import re
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any


from smbaudit.errors import TargetError
from smbaudit.models import TargetInfo, TargetKind
from smbaudit.targets.base import ServiceTarget

if TYPE_CHECKING:  # python-nmap (and multiprocessing with it) loads when a port scan runs
    import nmap

SCAN_TYPES = ("auto", "connect", "syn")
VERSION_DETECTION = ("unknown", "all", "none")
MAX_ADDRESSES = 65536  # a /16; larger ranges are refused rather than scanned for hours
SCRIPT_DB = Path("/usr/share/nmap/scripts/script.db")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}[A-Za-z0-9_])?"
                       r"(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}[A-Za-z0-9_])?)*\.?$")
_PORTS = re.compile(r"^(top\d+|\d+(-\d+)?(,\d+(-\d+)?)*)$")


@dataclass(frozen=True)
class DiscoveryOptions:
    """How to find services. `ports`: "top100" (any topN), "22,443,8443" or "1-1024"."""

    ports: str = "top100"
    timing: int = 4  # nmap -T0..-T5
    timeout: float = 5.0  # seconds for one connection; bounds nmap's per-host work too
    scan_type: str = "auto"  # auto: SYN scan as root, TCP connect scan otherwise
    service_detection: bool = True  # nmap -sV in discover()
    # The scan pipeline's use of nmap -sV: "unknown" only on ports smbaudit does not identify
    # itself, "all" on every open port, "none" never.
    version_detection: str = "unknown"
    # UDP questions (SNMP, NTP, SSDP, mDNS) to hosts found up; None: when running as root
    udp: bool | None = None
    scripts: tuple[str, ...] = ()  # NSE scripts; only ones in category "safe" and not "intrusive"

    def __post_init__(self) -> None:
        if not _PORTS.match(self.ports.replace(" ", "")):
            raise TargetError(f"bad port list {self.ports!r}: use top100, 22,443 or 1-1024")
        for part in re.findall(r"\d+", self.ports if not self.ports.startswith("top") else ""):
            if not 0 < int(part) < 65536:
                raise TargetError(f"port {part} out of range 1-65535")
        if not 0 <= self.timing <= 5:
            raise TargetError(f"timing must be 0-5, not {self.timing}")
        if self.version_detection not in VERSION_DETECTION:
            raise TargetError(f"version detection must be one of {', '.join(VERSION_DETECTION)}")
        if self.scan_type not in SCAN_TYPES:
            raise TargetError(f"scan type must be one of {', '.join(SCAN_TYPES)}")
        if self.timeout <= 0:
            raise TargetError("timeout must be positive")

    @property
    def host_timeout(self) -> float:
        """nmap --host-timeout: five connection timeouts (nmap's own service probes wait up to
        6 s each, so a shorter bound would cut well-behaved -sV runs short)."""
        return max(5.0, 5 * self.timeout)

    @property
    def process_slack(self) -> float:
        """Extra seconds nmap gets past its host timeouts to start and write its report."""
        return max(5.0, self.timeout)

    @property
    def udp_enabled(self) -> bool:
        return os.geteuid() == 0 if self.udp is None else self.udp

    def effective_scan_type(self) -> str:
        if self.scan_type == "auto":
            return "syn" if os.geteuid() == 0 else "connect"
        return self.scan_type


@dataclass
class Discovery:
    """What discovery found: one ServiceTarget per open port, one TargetInfo per host asked."""

    services: list[ServiceTarget] = field(default_factory=list)
    hosts: list[TargetInfo] = field(default_factory=list)
    nmap_args: list[str] = field(default_factory=list)  # every nmap command line run, for the report
    seconds: float = 0.0


@dataclass(frozen=True)
class Spec:
    """One parsed target spec. `port` is set for host:port; `network` for CIDR."""

    text: str
    host: str  # name or IP literal (or network address for CIDR)
    port: int | None = None
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None

    @property
    def is_literal(self) -> bool:
        return _ip(self.host) is not None


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _parse_one(text: str) -> Spec:
    text = text.strip()
    if not text:
        raise TargetError("empty network target")
    m = re.match(r"^\[([0-9A-Fa-f:.%]+)\](?::(\d+))?$", text)
    if m:  # [v6] or [v6]:port
        if _ip(m.group(1)) is None:
            raise TargetError(f"bad IPv6 address in {text!r}")
        return Spec(text, m.group(1), _port(m.group(2), text) if m.group(2) else None)
    if _ip(text) is not None:  # bare v4/v6 literal
        return Spec(text, text)
    if "/" in text:
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError as exc:
            raise TargetError(f"bad network {text!r}: {exc}") from None
        if net.num_addresses > MAX_ADDRESSES:
            raise TargetError(f"{text}: {net.num_addresses} addresses is too many (at most {MAX_ADDRESSES})")
        return Spec(text, str(net.network_address), None, net)
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit() and host and ":" not in host:
        if _ip(host) is None and not _HOSTNAME.match(host):
            raise TargetError(f"bad host name in {text!r}")
        return Spec(text, host, _port(port, text))
    if _HOSTNAME.match(text) and not text.isdigit():
        return Spec(text, text)
    raise TargetError(f"not a host, IP, CIDR or host:port: {text!r}")


def _port(text: str, spec: str) -> int:
    port = int(text)
    if not 0 < port < 65536:
        raise TargetError(f"port out of range in {spec!r}")
    return port


def parse_specs(specs: list[str]) -> list[Spec]:
    """Split comma lists and parse every item. Raises TargetError on the first bad one."""
    return [_parse_one(item) for spec in specs for item in spec.split(",") if item.strip()]


def is_network_spec(spec: str) -> bool:
    """True for a host name, IP literal, CIDR, host:port, [v6]:port or a comma list of them."""
    if spec == "local" or spec.startswith(("dir:", "ssh://", "/", ".", "~")):
        return False
    try:
        return bool(parse_specs([spec]))
    except TargetError:
        return False


def resolve(host: str, timeout_note: str = "") -> list[str]:
    """IP literals for a host name, resolved once here (nmap itself is always run with -n)."""
    if _ip(host) is not None:
        return [host]
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise TargetError(f"cannot resolve {host!r}: {exc.strerror}") from None
    seen: list[str] = []
    for info in infos:
        addr = str(info[4][0])
        if addr not in seen:
            seen.append(addr)
    return seen


def safe_scripts(names: tuple[str, ...], db: Path = SCRIPT_DB) -> list[str]:
    """Only NSE scripts in category "safe" and not "intrusive" (read from nmap's script.db)."""
    if not names:
        return []
    cats: dict[str, set[str]] = {}
    text = db.read_text(encoding="utf-8", errors="replace") if db.exists() else ""
    for m in re.finditer(r'filename\s*=\s*"([^"]+)\.nse",\s*categories\s*=\s*\{([^}]*)\}', text):
        cats[m.group(1)] = set(re.findall(r'"([^"]+)"', m.group(2)))
    bad = [n for n in names if "safe" not in cats.get(n, set()) or "intrusive" in cats.get(n, set())]
    if bad:
        raise TargetError(f"NSE scripts not allowed (only safe, non-intrusive ones): {', '.join(bad)}")
    return list(names)


def _label(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def build_arguments(options: DiscoveryOptions, *, skip_ping: bool, ipv6: bool) -> list[str]:
    """The nmap arguments (besides hosts and ports) for one run."""
    args = ["-n", f"-T{options.timing}", "-sS" if options.effective_scan_type() == "syn" else "-sT",
            "--host-timeout", f"{int(math.ceil(options.host_timeout))}s",
            "--max-rtt-timeout", f"{int(max(100, options.timeout * 1000))}ms"]
    if skip_ping:
        args.append("-Pn")
    if ipv6:
        args.append("-6")
    if options.service_detection:
        args += ["-sV", "--version-intensity", "5"]
    scripts = safe_scripts(options.scripts)
    if scripts:
        args += ["--script", ",".join(scripts), "--script-timeout", f"{int(options.host_timeout)}s"]
    return args


@dataclass
class ScanJob:
    """One nmap invocation: addresses of one family, a port list, ping or not."""

    addresses: list[str]
    ports: str
    skip_ping: bool
    ipv6: bool
    hostnames: dict[str, str]  # address -> name given on the command line
    origin: dict[str, str]  # address -> spec text
    host_timeout: float = 0.0


def _ports_arg(ports: str) -> tuple[str | None, list[str]]:
    if ports.startswith("top"):
        return None, ["--top-ports", ports[3:]]
    return ports.replace(" ", ""), []


def plan(specs: list[Spec], options: DiscoveryOptions) -> tuple[list[ScanJob], list[TargetInfo]]:
    """Group specs into nmap runs; names that do not resolve become unreachable hosts.

    Hosts and networks are scanned on `options.ports` with host discovery; host:port specs
    skip host discovery (-Pn) and are scanned on exactly the ports given for that address.
    """
    failed: list[TargetInfo] = []
    wanted: dict[str, set[int] | None] = {}  # address -> explicit ports (None: options.ports)
    hostnames: dict[str, str] = {}
    origin: dict[str, str] = {}
    for spec in specs:
        try:
            if spec.network is not None:
                addrs = [str(a) for a in (spec.network.hosts() if spec.network.num_addresses > 2
                                          else spec.network)]
            else:
                addrs = resolve(spec.host)
        except TargetError as exc:
            failed.append(TargetInfo(spec.text, TargetKind.SERVICE if spec.port else TargetKind.HOST,
                                     reachable=False, error=str(exc)))
            continue
        for addr in addrs:
            origin.setdefault(addr, spec.text)
            if not spec.is_literal and spec.network is None:
                hostnames[addr] = spec.host
            if spec.port is None:
                wanted[addr] = None
            elif addr not in wanted or wanted[addr] is not None:
                explicit = wanted.setdefault(addr, set())
                assert explicit is not None
                explicit.add(spec.port)
    jobs: dict[tuple[str, bool, bool], ScanJob] = {}
    for addr, ports in wanted.items():
        ipv6 = ":" in addr
        port_text = ",".join(str(p) for p in sorted(ports)) if ports else options.ports
        key = (port_text, ports is not None, ipv6)
        job = jobs.setdefault(key, ScanJob([], port_text, ports is not None, ipv6, {}, {}))
        job.addresses.append(addr)
        if addr in hostnames:
            job.hostnames[addr] = hostnames[addr]
        job.origin[addr] = origin[addr]
    return list(jobs.values()), failed


_IDLE_SCANNERS: queue.SimpleQueue[nmap.PortScanner] = queue.SimpleQueue()


@contextmanager
def _scanner() -> Iterator[nmap.PortScanner]:
    """A PortScanner for one nmap run. Its constructor runs `nmap -V` (about 10 ms), so idle
    ones are kept for reuse; one is never shared by two runs at once (it keeps the last
    output), as the engine runs discovery steps in parallel."""
    try:
        scanner = _IDLE_SCANNERS.get_nowait()
    except queue.Empty:
        import nmap

        scanner = nmap.PortScanner()
    try:
        yield scanner
    finally:
        _IDLE_SCANNERS.put(scanner)


def _process_timeout(options: DiscoveryOptions, n_addresses: int) -> float:
    """python-nmap's overall timeout: nmap runs hosts in parallel groups of up to ~64."""
    return options.host_timeout * max(1, math.ceil(n_addresses / 64)) + options.process_slack


def discover(specs: list[str], options: DiscoveryOptions,
             progress: Callable[[str], None] | None = None) -> Discovery:
    """Find open services on every spec. Raises TargetError for a spec that cannot be parsed."""
    started = time.monotonic()
    parsed = parse_specs(specs)
    jobs, failed = plan(parsed, options)
    result = Discovery(hosts=list(failed))
    for job in jobs:
        if progress:
            progress(f"nmap {' '.join(job.addresses)} ports {job.ports}")
        found = scan_job(job, options)
        result.services += found.services
        result.hosts += found.hosts
        result.nmap_args += found.nmap_args
    result.hosts = summarise_ranges(result.hosts, parsed)
    result.seconds = time.monotonic() - started
    return result


def split_job(job: ScanJob, size: int) -> list[ScanJob]:
    """The job's addresses in groups of at most `size` (one nmap run each)."""
    out = []
    for i in range(0, len(job.addresses), size):
        addrs = job.addresses[i:i + size]
        out.append(ScanJob(addrs, job.ports, job.skip_ping, job.ipv6,
                        {a: job.hostnames[a] for a in addrs if a in job.hostnames},
                        {a: job.origin[a] for a in addrs if a in job.origin}))
    return out


def job_budget(job: ScanJob, options: DiscoveryOptions) -> float:
    """Seconds one nmap run for `job` may take at most."""
    return _process_timeout(options, len(job.addresses))


def scan_job(job: ScanJob, options: DiscoveryOptions) -> Discovery:
    """One nmap run. Raises TargetError when nmap cannot run at all."""
    started = time.monotonic()
    result = Discovery()
    job.host_timeout = options.host_timeout
    args = build_arguments(options, skip_ping=job.skip_ping, ipv6=job.ipv6)
    ports, extra = _ports_arg(job.ports)
    arguments = " ".join(args + extra)
    import nmap

    with _scanner() as scanner:
        try:
            raw = scanner.scan(hosts=" ".join(job.addresses), ports=ports, arguments=arguments,
                               sudo=False,
                               timeout=int(math.ceil(_process_timeout(options, len(job.addresses)))))
        except nmap.PortScannerTimeout:
            for addr in job.addresses:
                result.hosts.append(_down(job, addr, "nmap did not finish within its timeout"))
            return result
        except nmap.PortScannerError as exc:
            raise TargetError(f"nmap failed: {str(exc).strip()[:500]}") from None
        last_output = scanner.get_nmap_last_output()
    result.nmap_args.append(raw.get("nmap", {}).get("command_line", arguments))
    _collect(job, raw.get("scan", {}), _xml_extras(last_output), result)
    result.seconds = time.monotonic() - started
    return result


MAX_LISTED_DOWN = 256


def summarise_ranges(hosts: list[TargetInfo], specs: list[Spec]) -> list[TargetInfo]:
    """Addresses of a CIDR range that did not answer are reported once per range (a sweep
    expects silent addresses), with their count and the first MAX_LISTED_DOWN of them;
    a range where nothing answered is itself unreachable."""
    ranges = {s.text: s for s in specs if s.network is not None}
    kept: list[TargetInfo] = []
    down: dict[str, list[str]] = {}
    for host in hosts:
        spec = str(host.details.get("spec", ""))
        if spec in ranges and not host.reachable and host.kind is TargetKind.HOST:
            down.setdefault(spec, []).append(str(host.details.get("address", host.name)))
        else:
            kept.append(host)
    for spec, silent in down.items():
        net = ranges[spec].network
        assert net is not None
        total = net.num_addresses - 2 if net.num_addresses > 2 else net.num_addresses
        answered = total - len(silent)
        kept.append(TargetInfo(spec, TargetKind.HOST, reachable=answered > 0,
                               error=f"{len(silent)} of {total} addresses did not answer",
                               details={"spec": spec, "addresses": total, "answered": answered,
                                        "did_not_answer_count": len(silent),
                                        "did_not_answer": silent[:MAX_LISTED_DOWN]}))
    return kept


def _down(job: ScanJob, addr: str, why: str) -> TargetInfo:
    return TargetInfo(addr, TargetKind.HOST, reachable=False, error=why,
                      details={"address": addr, "spec": job.origin.get(addr, addr),
                               "ports": job.ports})


@dataclass
class _XmlExtras:
    """What python-nmap's dict leaves out: hosts past --host-timeout, and TLS tunnels."""

    timed_out: set[str] = field(default_factory=set)
    tunnels: dict[tuple[str, int], str] = field(default_factory=dict)


def _xml_extras(xml_text: str | bytes) -> _XmlExtras:
    from xml.etree import ElementTree

    extras = _XmlExtras()
    try:
        root = ElementTree.fromstring(xml_text)
    except ElementTree.ParseError:
        return extras
    for host in root.iter("host"):
        addrs = [a.get("addr", "") for a in host.iter("address") if a.get("addrtype") != "mac"]
        if host.get("timedout") == "true":
            extras.timed_out.update(addrs)
        for port in host.iter("port"):
            service = port.find("service")
            if service is not None and service.get("tunnel"):
                for addr in addrs:
                    extras.tunnels[(addr, int(port.get("portid", "0")))] = service.get("tunnel", "")
    return extras


def _collect(job: ScanJob, scanned: dict[str, Any], extras: _XmlExtras, result: Discovery) -> None:
    for addr in job.addresses:
        host = scanned.get(addr)
        if addr in extras.timed_out:
            result.hosts.append(_down(job, addr, "no complete answer within --host-timeout "
                                                 f"({int(job.host_timeout)}s)"))
            continue
        if host is None or host.get("status", {}).get("state") != "up":
            reason = host.get("status", {}).get("reason", "") if host else ""
            why = "host did not answer" + (f" ({reason})" if reason else " (down or past --host-timeout)")
            result.hosts.append(_down(job, addr, why))
            continue
        services: list[ServiceTarget] = []
        closed: list[int] = []
        for proto in ("tcp",):
            for port, info in sorted(host.get(proto, {}).items()):
                if info.get("state") != "open":
                    closed.append(int(port))
                    continue
                services.append(_service(job, addr, int(port), info,
                                         extras.tunnels.get((addr, int(port)), "")))
        result.services.extend(services)
        details = {"address": addr, "spec": job.origin.get(addr, addr),
                   "open_ports": [s.port for s in services],
                   "hostname": job.hostnames.get(addr, "")}
        result.hosts.append(TargetInfo(addr, TargetKind.HOST, reachable=True, details=details))
        if job.skip_ping:  # every port asked for by host:port is reported, open or not
            open_ports = {s.port for s in services}
            for port in (int(p) for p in job.ports.split(",")):
                if port not in open_ports:
                    result.hosts.append(TargetInfo(_label(addr, port), TargetKind.SERVICE,
                                                   reachable=False, error=f"port {port} is not open",
                                                   details={**details, "port": port}))


def _service(job: ScanJob, addr: str, port: int, info: dict[str, Any], tunnel: str) -> ServiceTarget:
    name = str(info.get("name", ""))
    if name in ("https", "ssl") or name.startswith("ssl/"):
        tunnel = "ssl"
        name = name.removeprefix("ssl/")
    if tunnel == "ssl" and name == "http":
        name = "https"  # what the report shows and what http/tls probes key on
    hostname = job.hostnames.get(addr, "")
    label = _label(hostname, port) if hostname else _label(addr, port)
    return ServiceTarget(
        name=label, address=addr, port=port, service=name, tunnel=tunnel,
        product=str(info.get("product", "")), version=str(info.get("version", "")),
        hostname=hostname,
        extra={k: str(v) for k, v in (("extrainfo", info.get("extrainfo")), ("cpe", info.get("cpe")))
               if v},
    )
