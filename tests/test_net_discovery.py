"""Network target specs and nmap discovery on loopback (IP literals only, nmap always -n)."""

from __future__ import annotations

from pathlib import Path

import pytest

from netservers import free_port, nginx, needs
from smbaudit.errors import TargetError
from smbaudit.targets import network
from smbaudit.targets.network import DiscoveryOptions, discover, is_network_spec, parse_specs
from tools import unavailable


@pytest.mark.parametrize(("spec", "expected"), [
    ("10.0.0.1", True), ("10.0.0.0/24", True), ("host.example.com", True), ("db1", True),
    ("127.0.0.1:22", True), ("[::1]:443", True), ("::1", True), ("a.example:443,10.0.0.2", True),
    ("local", False), ("dir:/srv/tree", False), ("10.0.0.0/33", False), ("127.0.0.1:99999", False),
    ("bad host", False), ("", False),
])
def test_is_network_spec(spec: str, expected: bool) -> None:
    assert is_network_spec(spec) is expected


def test_parse_specs() -> None:
    specs = parse_specs(["127.0.0.1:8443,[::1]:22", "10.1.0.0/30"])
    assert [(s.host, s.port) for s in specs] == [("127.0.0.1", 8443), ("::1", 22), ("10.1.0.0", None)]
    with pytest.raises(TargetError):
        parse_specs(["10.0.0.0/8"])  # too many addresses


def test_options_are_validated() -> None:
    with pytest.raises(TargetError):
        DiscoveryOptions(ports="22;rm")
    with pytest.raises(TargetError):
        DiscoveryOptions(timing=9)
    args = network.build_arguments(DiscoveryOptions(timeout=2, scan_type="connect"), skip_ping=True,
                                   ipv6=False)
    assert args[:3] == ["-n", "-T4", "-sT"] and "-Pn" in args and "--host-timeout" in args


def test_only_safe_scripts() -> None:
    db = Path("/usr/share/nmap/scripts/script.db")
    if not db.exists():
        unavailable("nmap's script.db is not installed (nmap)")
    assert network.safe_scripts(("ssl-cert",)) == ["ssl-cert"]
    with pytest.raises(TargetError):
        network.safe_scripts(("ssh-brute",))


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with nginx(tmp_path_factory.mktemp("disc"), strong=True) as server:
        yield server


@needs("nmap")
@needs("nginx")
def test_discovery_open_and_closed_ports(web) -> None:  # type: ignore[no-untyped-def]
    # Given nginx listening on two ports and a port nobody listens on
    closed = free_port()
    # When nmap discovery with -sV runs on 127.0.0.1 with that port list (its TLS probes wait
    # about 12 s, within the 5 x 3 s host timeout)
    found = discover(["127.0.0.1"], DiscoveryOptions(ports=f"{web.tls_port},{web.http_port},{closed}",
                                                     timeout=3))
    # Then both open ports are services with nmap's names, and the host is listed
    by_port = {s.port: s for s in found.services}
    assert sorted(by_port) == sorted([web.tls_port, web.http_port])
    assert (by_port[web.tls_port].service, by_port[web.tls_port].tunnel) == ("https", "ssl")
    assert by_port[web.http_port].service == "http"
    assert by_port[web.tls_port].name == f"127.0.0.1:{web.tls_port}"
    assert by_port[web.http_port].product == "nginx"
    assert [h.name for h in found.hosts] == ["127.0.0.1"] and found.hosts[0].reachable
    assert all(" -n " in a for a in found.nmap_args)


@needs("nmap")
def test_closed_host_port_is_reported_not_dropped() -> None:
    closed = free_port()
    found = discover([f"127.0.0.1:{closed}"], DiscoveryOptions(timeout=2))
    assert found.services == []
    down = [h for h in found.hosts if not h.reachable]
    assert [h.name for h in down] == [f"127.0.0.1:{closed}"]
    assert "not open" in down[0].error


def test_silent_range_addresses_are_summarised() -> None:
    # Given discovery results for a /30 (one address answered, one did not) and a named host
    from smbaudit.models import TargetInfo, TargetKind

    specs = parse_specs(["10.9.0.0/30", "10.9.1.1"])
    hosts = [TargetInfo("10.9.0.1", TargetKind.HOST, True, details={"spec": "10.9.0.0/30", "address": "10.9.0.1"}),
             TargetInfo("10.9.0.2", TargetKind.HOST, False, "down", details={"spec": "10.9.0.0/30",
                                                                             "address": "10.9.0.2"}),
             TargetInfo("10.9.1.1", TargetKind.HOST, False, "down", details={"spec": "10.9.1.1",
                                                                             "address": "10.9.1.1"})]
    # When they are summarised (no traffic: this is the bookkeeping only)
    out = {h.name: h for h in network.summarise_ranges(hosts, specs)}
    # Then the named host stays, and the range lists its silent address once
    assert out["10.9.1.1"].reachable is False
    assert out["10.9.0.0/30"].reachable is True
    assert out["10.9.0.0/30"].details["did_not_answer"] == ["10.9.0.2"]
    assert out["10.9.0.1"].reachable is True


@needs("nmap")
def test_loopback_range_sweep() -> None:
    closed = free_port()
    found = discover(["127.0.0.0/30"], DiscoveryOptions(ports=str(closed), timeout=2,
                                                        service_detection=False))
    assert sorted(h.name for h in found.hosts) == ["127.0.0.1", "127.0.0.2"]
    assert found.services == []


@needs("nmap")
def test_ipv6_literal_port_is_scanned_with_dash_6() -> None:
    if not __import__("socket").has_ipv6:
        pytest.skip("no IPv6 on this machine")
    closed = free_port()
    found = discover([f"[::1]:{closed}"], DiscoveryOptions(timeout=2))
    assert any("-6" in a.split() for a in found.nmap_args)
    down = [h for h in found.hosts if not h.reachable]
    assert [h.name for h in down] == [f"[::1]:{closed}"]
