"""UDP questions (SNMP, NTP, SSDP, mDNS) against small responders on a loopback address, and a
scan of that address end to end. Binding the standard ports needs root."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

from netservers import (free_port, mdns_responder, needs, ntp_server, snmp_agent, ssdp_device,
                        udp_responder)
from smbaudit.probes import _udp

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="binding UDP ports under 1024 needs root")
HOST = "127.0.0.3"


@pytest.fixture
def devices():  # type: ignore[no-untyped-def]
    with ExitStack() as stack:
        stack.enter_context(udp_responder(HOST, 161, snmp_agent("public")))
        stack.enter_context(udp_responder(HOST, 123, ntp_server))
        stack.enter_context(udp_responder(HOST, 1900, ssdp_device))
        stack.enter_context(udp_responder(HOST, 5353, mdns_responder))
        yield


def test_questions_are_answered(devices) -> None:  # type: ignore[no-untyped-def]
    answers = _udp.ask(HOST, 2.0)
    assert answers.snmp_communities == ["public"]
    assert answers.snmp_sys_descr == "Test switch firmware 1.0"
    assert answers.ntp_mode6 and "ntpd 4.2.6p5" in answers.ntp_mode6 and answers.ntp_monlist
    assert answers.ssdp == {"server": "Linux/5.10 UPnP/1.0 TestRouter/1.0",
                            "location": "http://127.0.0.3:49152/rootDesc.xml"}
    assert answers.mdns_answers == 1
    assert answers.services() == ["snmp", "ntp", "ssdp", "mdns"]


def test_closed_ports_and_other_communities_answer_nothing() -> None:
    # Given an SNMP agent with a private community only, and nothing else listening
    with udp_responder(HOST, 161, snmp_agent("s3cret")):
        answers = _udp.ask(HOST, 1.0)
    # Then nothing counts as answered; the closed ports are told apart by ICMP
    assert answers.services() == []
    assert {"ntp", "ssdp", "mdns"} <= answers.closed


@needs("nmap")
def test_scan_reports_udp_findings(devices, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # When the address is scanned as a host (its TCP ports are closed)
    proc = subprocess.run([sys.executable, "-m", "smbaudit", "scan", HOST, "--ports", str(free_port()),
                           "--timeout", "2", "--no-history", "-f", "json", "-o", "-"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    report = json.loads(proc.stdout)
    found = {(f["target"], f["check_id"]): f for f in report["findings"]}
    # Then each UDP service is a target and its check fails naming what it answered
    snmp = found[(f"{HOST}:161/udp", "network.snmp-default-community")]
    assert snmp["status"] == "fail" and "public" in snmp["problem"] and "Test switch" in snmp["problem"]
    assert found[(f"{HOST}:123/udp", "network.ntp-mode6")]["status"] == "fail"
    assert "TestRouter" in found[(f"{HOST}:1900/udp", "network.ssdp-exposed")]["problem"]
    assert found[(f"{HOST}:5353/udp", "network.mdns-exposed")]["status"] == "fail"
    assert found[(f"{HOST}:161/udp", "network.snmp-exposed")]["status"] == "fail"
