"""SARIF (against the official 2.1.0 schema), JUnit, CSV, Markdown and PDF renderers."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from shared_data import validate_sarif
from smbaudit.cli import cli
from smbaudit.history import HistorySection
from smbaudit.models import Evidence, Finding, Severity, Status, TargetInfo, TargetKind, Waiver
from smbaudit.render.formats import OutputFormat, renderer
from smbaudit.report import Report, build
from smbaudit.waivers import WaiverOutcome

NASTY = 'a, "quoted" value\nwith a second line, and a comma'
HOSTILE = '<script>alert(1)</script> [link](http://evil.invalid) | cell'


def report() -> Report:
    t0 = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    findings = [
        Finding(check_id="ssh.permit-root-login", title="Root cannot log in", description="d",
                category="access_control", severity=Severity.HIGH, status=Status.FAIL,
                target="dir:/srv/img", location="/etc/ssh/sshd_config",
                evidence=[Evidence("settings.permitrootlogin", "yes", "in [no]", False, NASTY)],
                remediation="Set PermitRootLogin no", rationale="r",
                references=("CIS 5.1.20",), compliance={"hipaa": ("164.312(a)(1)",)}),
        Finding(check_id="files.odd name", title=HOSTILE, description="d", category="hardening",
                severity=Severity.MEDIUM, status=Status.FAIL, target="dir:/srv/img",
                location="/etc/with space/ü.conf", remediation="=cmd|' /C calc'!A0",
                waiver=Waiver("accepted, \"for now\"", "Jane", "2030-01-01", False)),
        Finding(check_id="files.ok", title="ok", description="d", category="hardening",
                severity=Severity.LOW, status=Status.PASS, target="dir:/srv/img"),
        Finding(check_id="tls.weak", title="Weak TLS", description="d", category="encryption",
                severity=Severity.CRITICAL, status=Status.FAIL, target="127.0.0.1:443",
                location="127.0.0.1:443", network_exposed=True,
                evidence=[Evidence("protocols", ["TLSv1.0"], "none", False),
                          Evidence("banner", "Server\x00\x1b[31m", "no banner", False)]),
        Finding(check_id="net.err", title="err", description="d", category="network",
                severity=Severity.MEDIUM, status=Status.ERROR, target="127.0.0.1:443",
                reason="timed out"),
        Finding(check_id="x.na", title="na", description="d", category="network",
                severity=Severity.LOW, status=Status.NOT_APPLICABLE, target="127.0.0.1:443",
                reason="no such service"),
    ]
    return build(scan_id="ab" * 16, started_at=t0, finished_at=t0, complete=True,
                 targets=[TargetInfo("dir:/srv/img", TargetKind.HOST,
                                     details={"root": "/srv/img", "live": False}),
                          TargetInfo("127.0.0.1:443", TargetKind.SERVICE)],
                 findings=findings, checks_loaded=6)


def test_sarif_valid_against_official_schema_with_tree_locations() -> None:
    data = json.loads(renderer(OutputFormat.SARIF)(report()))
    run = data["runs"][0]
    assert data["version"] == "2.1.0"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == "file:///srv/img/"
    results = {r["ruleId"]: r for r in run["results"]}
    assert set(results) == {"ssh.permit-root-login", "files.odd name", "tls.weak"}  # failures only
    phys = results["ssh.permit-root-login"]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert phys == {"uri": "etc/ssh/sshd_config", "uriBaseId": "%SRCROOT%"}
    odd = results["files.odd name"]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert odd["uri"] == "etc/with%20space/%C3%BC.conf"
    # The live waiver is an accepted suppression; a network finding has a logical location and
    # a stable URI that is no file of the repository
    assert results["files.odd name"]["suppressions"][0]["status"] == "accepted"
    net = results["tls.weak"]["locations"][0]
    assert net["logicalLocations"][0]["fullyQualifiedName"] == "127.0.0.1:443"
    assert net["physicalLocation"]["artifactLocation"] == {
        "uri": "smbaudit-targets/127.0.0.1_443", "uriBaseId": "SMBAUDIT_TARGETS"}
    assert results["tls.weak"]["level"] == "error"
    rules = run["tool"]["driver"]["rules"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in run["results"])
    assert run["invocations"][0]["toolExecutionNotifications"][0]["descriptor"]["id"] == "net.err"
    validate_sarif(data)


def test_sarif_of_a_real_tree_scan_points_at_the_file(tmp_path: Path) -> None:
    (tmp_path / "tree" / "etc").mkdir(parents=True)
    shadow = tmp_path / "tree" / "etc" / "shadow"
    shadow.write_text("root:*:1::::::\n")
    shadow.chmod(0o644)
    out = tmp_path / "r.sarif"
    result = CliRunner().invoke(cli, ["scan", f"dir:{tmp_path / 'tree'}", "--select",
                                      "files.shadow-permissions", "-f", "sarif", "-o", str(out),
                                      "--no-history", "-q"])
    assert result.exit_code == 1, result.output
    data = json.loads(out.read_text())
    run = data["runs"][0]
    (res,) = run["results"]
    loc = res["locations"][0]["physicalLocation"]["artifactLocation"]
    base = run["originalUriBaseIds"][loc["uriBaseId"]]["uri"]
    assert base + loc["uri"] == (tmp_path / "tree" / "etc" / "shadow").as_uri()
    validate_sarif(data)


def test_junit_one_case_per_check_and_target() -> None:
    root = ET.fromstring(renderer(OutputFormat.JUNIT)(report()))
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"dir:/srv/img", "127.0.0.1:443"}
    cases = {(s.get("name"), c.get("name")): c for s in suites.values() for c in s.findall("testcase")}
    assert len(cases) == 6
    img = suites["dir:/srv/img"]
    assert (img.get("tests"), img.get("failures"), img.get("errors"), img.get("skipped")) == \
        ("3", "1", "0", "1")
    failure = cases[("dir:/srv/img", "ssh.permit-root-login")].find("failure")
    assert failure is not None and failure.get("type") == "high" and NASTY.split("\n")[0] in failure.text
    # a failure with a live waiver is an accepted risk: skipped, with the justification
    waived = cases[("dir:/srv/img", "files.odd name")]
    assert waived.find("failure") is None
    message = waived.find("skipped").get("message", "")
    assert message.startswith('accepted risk until 2030-01-01: accepted, "for now" (approved by Jane)')
    assert cases[("127.0.0.1:443", "net.err")].find("error") is not None
    assert cases[("127.0.0.1:443", "x.na")].find("skipped") is not None
    assert cases[("dir:/srv/img", "files.ok")].find("failure") is None
    # a control character from a target is replaced, so the XML stays well formed
    assert "\ufffd" in cases[("127.0.0.1:443", "tls.weak")].find("failure").text


def test_csv_round_trip_with_commas_quotes_newlines() -> None:
    rep = report()
    data = renderer(OutputFormat.CSV)(rep)
    assert data.startswith(b"\xef\xbb\xbf")  # BOM, for spreadsheets
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert len(rows) == len(rep.findings)
    by = {r["check_id"]: r for r in rows}
    root = by["ssh.permit-root-login"]
    assert NASTY in root["evidence"] and root["location"] == "/etc/ssh/sshd_config"
    assert root["compliance"] == "hipaa: 164.312(a)(1)" and root["severity"] == "high"
    odd = by["files.odd name"]
    assert odd["title"] == HOSTILE
    assert odd["waiver_justification"] == 'accepted, "for now"' and odd["waiver_expired"] == "no"
    # a cell that would start a spreadsheet formula is neutralised
    assert odd["remediation"] == "'=cmd|' /C calc'!A0"


def test_markdown_summary_escapes_values() -> None:
    rep = report()
    rep.history = HistorySection()
    rep.waivers = WaiverOutcome(entries=(), files=("w.yaml",), live=1, expired=0)
    text = renderer(OutputFormat.MARKDOWN)(rep).decode()
    assert text.startswith("# Security audit: dir:/srv/img and 1 more")
    assert "<script>" not in text and "&#60;script&#62;" in text
    assert "\\[link\\]" in text and "\\| cell" in text  # no link, no table cell
    assert "Accepted risks: 1" in text and "(Jane, until 2030-01-01)" in text
    assert "First recorded scan" in text
    assert len(text.encode()) < 2000


@pytest.mark.needs_chromium
def test_pdf_printed_by_headless_chromium() -> None:
    data = renderer(OutputFormat.PDF)(report())
    assert data.startswith(b"%PDF-") and len(data) > 10_000
    assert b"%%EOF" in data[-1024:]
