"""The problem headline leads in every format; the check's title is the line under it."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from smbaudit.cli import cli
from smbaudit.models import Evidence, Finding, Severity, Status, TargetInfo, TargetKind, Waiver
from smbaudit.render.formats import OutputFormat, renderer
from smbaudit.report import Report, build
from smbaudit.waivers import WaiverEntry, WaiverOutcome

HEADLINE = "toor has user id 0 besides root"
TITLE = "root is the only account with user id 0"


def report() -> Report:
    t0 = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    findings = [
        Finding(check_id="accounts.uid0-only-root", title=TITLE, description="d",
                category="access_control", severity=Severity.CRITICAL, status=Status.FAIL,
                target="dir:/srv/img", problem=HEADLINE, remediation="userdel toor",
                evidence=[Evidence("uid0_extra", ["toor"], "none", False)]),
        Finding(check_id="files.shadow-permissions", title="/etc/shadow is readable only by root",
                description="d", category="access_control", severity=Severity.HIGH,
                status=Status.FAIL, target="dir:/srv/img", location="/etc/shadow",
                problem="/etc/shadow has mode 0644, owner root, group root",
                waiver=Waiver("legacy backup agent reads it", "Jane Doe", "2030-01-01", False)),
        Finding(check_id="files.ok", title="All good", description="d", category="hardening",
                severity=Severity.LOW, status=Status.PASS, target="dir:/srv/img"),
    ]
    return build(scan_id="cd" * 16, started_at=t0, finished_at=t0, complete=True,
                 targets=[TargetInfo("dir:/srv/img", TargetKind.HOST,
                                     details={"root": "/srv/img", "live": False})],
                 findings=findings, checks_loaded=3)


def text_of(fmt: OutputFormat) -> str:
    return renderer(fmt)(report()).decode("utf-8-sig")


def test_headline_property() -> None:
    by_id = {f.check_id: f for f in report().findings}
    failing, waived = by_id["accounts.uid0-only-root"], by_id["files.shadow-permissions"]
    passing = by_id["files.ok"]
    assert failing.headline == HEADLINE
    assert waived.headline.startswith("/etc/shadow has mode 0644")
    assert passing.headline == passing.title


def test_html_leads_with_the_headline_and_marks_the_waiver() -> None:
    html = text_of(OutputFormat.HTML)
    start = html.index('id="f-accounts.uid0-only-root--dir:/srv/img"')
    summary = html[start:html.index("</summary>", start)]
    assert summary.index(HEADLINE) < summary.index(TITLE)
    assert 'class="subtitle"' in summary
    waived = html[html.index('id="f-files.shadow-permissions--dir:/srv/img"'):]
    waived = waived[:waived.index("</summary>")]
    assert "accepted risk" in waived
    # Top risks name the problem
    top = html[html.index("Top risks"):html.index("How the score is calculated")]
    assert HEADLINE in top


def test_markdown_csv_junit_sarif_lead_with_the_headline() -> None:
    md = text_of(OutputFormat.MARKDOWN)  # a summary under 2 KB: headlines only
    assert "1. critical: toor has user id 0 besides root" in md
    rows = list(csv.DictReader(io.StringIO(text_of(OutputFormat.CSV))))
    by_id = {r["check_id"]: r for r in rows}
    assert by_id["accounts.uid0-only-root"]["problem"] == HEADLINE
    assert by_id["accounts.uid0-only-root"]["title"] == TITLE
    assert by_id["files.ok"]["problem"] == ""
    root = ET.fromstring(renderer(OutputFormat.JUNIT)(report()))
    failure = root.find(".//testcase[@name='accounts.uid0-only-root']/failure")
    assert failure is not None and failure.get("message") == f"[critical] {HEADLINE}"
    assert (failure.text or "").splitlines()[:2] == [HEADLINE, f"check: {TITLE}"]
    sarif = json.loads(text_of(OutputFormat.SARIF))
    result = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "accounts.uid0-only-root")
    assert result["message"]["text"].startswith(f"{HEADLINE} on dir:/srv/img. Check not met: {TITLE}")


@pytest.mark.parametrize("verbose", [False, True])
def test_terminal_summary_leads_with_the_headline(tmp_path: Path, verbose: bool) -> None:
    from smbaudit.demotree import build as build_tree

    root = tmp_path / "root"
    build_tree(root, hardened=False)
    args = ["scan", f"dir:{root}", "-f", "json", "-o", str(tmp_path / "r.json"), "--no-history",
            "--select", "accounts.uid0-only-root"] + (["-v"] if verbose else [])
    result = CliRunner().invoke(cli, args)
    lines = result.output.splitlines()
    first = next(i for i, line in enumerate(lines) if HEADLINE in line)
    assert "critical" in lines[first]
    assert TITLE in lines[first + 1] and "accounts.uid0-only-root" in lines[first + 1]


def waived_report() -> Report:
    rep = report()
    t0 = rep.started_at
    extra = [
        Finding(check_id="ssh.root-login", title="SSH root login is off", description="d",
                category="access_control", severity=Severity.HIGH, status=Status.FAIL,
                target="127.0.0.1:22", problem="root may log in over SSH with a password",
                waiver=Waiver("kiosk image, replaced in May", "Bob Ray", "2026-01-31", True)),
        Finding(check_id="tls.no-sslv3", title="SSLv3 is off", description="d",
                category="encryption", severity=Severity.MEDIUM, status=Status.FAIL,
                target="127.0.0.1:22", problem="127.0.0.1:22 accepts SSLv3"),
    ]
    rep = build(scan_id=rep.scan_id, started_at=t0, finished_at=t0, complete=True,
                targets=rep.targets + [TargetInfo("127.0.0.1:22", TargetKind.SERVICE)],
                findings=rep.findings + extra, checks_loaded=5)
    rep.waivers = WaiverOutcome(
        entries=(WaiverEntry("files.gone", "*", "old box", "Ann", "2027-01-01", False, 0,
                             "waivers.yaml:9"),),
        files=("waivers.yaml",), live=1, expired=1)
    return rep


def test_waivers_in_html_summary_and_their_own_section() -> None:
    html = renderer(OutputFormat.HTML)(waived_report()).decode()
    summary = html[html.index('id="summary"'):html.index("</section>", html.index('id="summary"'))]
    assert "accepted risks: 1" in summary and "expired waivers: 1" in summary
    section = html[html.index('id="waivers"'):]
    section = section[:section.index("</section>")]
    for text in ("legacy backup agent reads it", "Jane Doe", "2030-01-01",  # accepted
                 "Expired waivers (counted again)", "kiosk image, replaced in May", "2026-01-31",
                 "matched no failing finding", "files.gone", "waivers.yaml:9"):
        assert text in section, text


def test_each_target_has_its_own_top_risks() -> None:
    html = renderer(OutputFormat.HTML)(waived_report()).decode()
    block = html[html.index("Top risks per target"):html.index("How the score is calculated")]
    assert "<h4>dir:/srv/img</h4>" in block and "<h4>127.0.0.1:22</h4>" in block
    assert HEADLINE in block and "127.0.0.1:22 accepts SSLv3" in block
    # an accepted risk is not a top risk
    assert "/etc/shadow has mode 0644" not in block


def test_waivers_in_markdown() -> None:
    md = renderer(OutputFormat.MARKDOWN)(waived_report()).decode()
    assert "Accepted risks: 1" in md and "expired waivers: 1" in md and "waivers matching nothing: 1" in md
    assert "legacy backup agent reads it (Jane Doe, until 2030-01-01)" in md
    assert len(md.encode()) < 2000
