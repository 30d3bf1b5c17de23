"""Renderers: JSON against its published schema, HTML self-contained and escaped."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import jsonschema
import pytest

from smbaudit.models import Evidence, Finding, Severity, Status, TargetInfo, TargetKind
from smbaudit.render.formats import OutputFormat, renderer
from smbaudit.render.html import render_print_html
from smbaudit.render.json import SCHEMA_PATH
from smbaudit.report import Report, build

HOSTILE = '<script>alert("x")</script><img src="http://evil.invalid/x.png">'


def sample_report(complete: bool = True) -> Report:
    findings = [
        Finding(check_id="ssh.root-login", title="Root <login> & more", description="desc",
                category="access_control", severity=Severity.HIGH, status=Status.FAIL,
                target="dir:/srv/tree", location="/etc/ssh/sshd_config",
                evidence=[Evidence("settings.banner", HOSTILE, "= none", False, HOSTILE)],
                remediation="Set PermitRootLogin no", references=("CIS 5.2.10",),
                compliance={"hipaa": ("164.312(a)(1)",)}),
        Finding(check_id="files.ok", title="ok", description="d", category="access_control",
                severity=Severity.LOW, status=Status.PASS, target="dir:/srv/tree"),
        Finding(check_id="net.err", title="err", description="d", category="network",
                severity=Severity.MEDIUM, status=Status.ERROR, target="127.0.0.1:22",
                reason="timed out", network_exposed=True),
    ]
    t0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    return build(scan_id="0" * 32, started_at=t0, finished_at=t0, complete=complete,
                 targets=[TargetInfo("dir:/srv/tree", TargetKind.HOST),
                          TargetInfo("127.0.0.1:22", TargetKind.SERVICE),
                          TargetInfo("192.0.2.9", TargetKind.HOST, reachable=False, error="no answer")],
                 findings=findings, command=["smbaudit", "scan"], checks_loaded=3)


def test_every_format_has_a_renderer() -> None:
    for fmt in OutputFormat:
        assert callable(renderer(fmt))


def test_json_matches_published_schema_and_round_trips() -> None:
    report = sample_report()
    data = json.loads(renderer(OutputFormat.JSON)(report))
    jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text())).validate(data)
    assert data["findings"][0]["check_id"] == "ssh.root-login"  # failures first
    assert data["findings"][0]["risk"] == 10.0 and data["summary"]["score"] == 10.0
    assert data["schema_version"] == "2" and data["summary"]["top_contributors"][0]["score_if_fixed"] == 0
    again = Report.from_dict(data)
    assert json.loads(renderer(OutputFormat.JSON)(again)) == data


def test_html_escapes_evidence_and_loads_nothing() -> None:
    html = renderer(OutputFormat.HTML)(sample_report(complete=False)).decode()
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert 'src="http' not in html.replace("&#34;", '"').split("</style>")[0]
    # No element pulls anything from anywhere: no src/href to a URL, no @import, no url(http
    assert not re.search(r'<(?:img|script|link|iframe)[^>]+(?:src|href)="https?:', html)
    assert "@import" not in html and "url(http" not in html
    assert "default-src 'none'" in html
    assert "Root &lt;login&gt; &amp; more" in html
    assert "did not finish" in html  # incomplete banner
    assert "192.0.2.9" in html and "unreachable" in html


@pytest.mark.parametrize("secret", ["-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----",
                                    "password=hunter2", "$y$j9T$abcdefgh$ijklmnopqrstuvwxyz"])
def test_html_redacts_secrets(secret: str) -> None:
    report = sample_report()
    report.findings[0].evidence = [Evidence("x", secret, "none", False)]
    html = renderer(OutputFormat.HTML)(report).decode()
    assert "REDACTED" in html
    assert "hunter2" not in html and "AAAA" not in html and "ijklmnop" not in html


def test_a_report_scored_under_another_version_keeps_its_summary() -> None:
    data = json.loads(renderer(OutputFormat.JSON)(sample_report()))
    data["summary"]["scoring_version"] = "0"
    data["summary"]["score"] = 12.5
    old = Report.from_dict(data)
    again = json.loads(renderer(OutputFormat.JSON)(old))
    assert again["summary"]["score"] == 12.5 and again["summary"]["scoring_version"] == "0"
    # every format says what it said then, in that version's terms
    md = renderer(OutputFormat.MARKDOWN)(old).decode()
    assert "Risk score 12.5" in md and "scoring version 0" in md
    html = renderer(OutputFormat.HTML)(old).decode()
    assert 'data-score="12.5"' in html and "scoring version 0" in html
    assert json.loads(renderer(OutputFormat.SARIF)(old))["runs"][0]["properties"]["score"] == 12.5


def test_trend_draws_only_scores_of_this_scoring_version_on_a_scaled_axis() -> None:
    from smbaudit.history import HistorySection, TrendPoint
    from smbaudit.render import views

    points = [TrendPoint("a", "2026-01-01T00:00", 100.0, "F", True, scoring_version="1"),
              TrendPoint("b", "2026-01-08T00:00", 360.0, "F", True),
              TrendPoint("c", "2026-01-15T00:00", None, "Incomplete", False),
              TrendPoint("d", "2026-01-22T00:00", 280.0, "F", True)]
    view = views.trend(HistorySection(trend=points))
    assert view is not None
    assert [d.point.scan_id for d in view.dots] == ["b", "d"] and view.left_out == 1
    top = max(v for v, _ in view.ticks)
    assert top >= 360 and view.dots[0].y < view.dots[1].y  # higher score, higher on the chart
    assert [b.grade for b in view.bands] == ["A", "B", "C", "D", "F"]
    assert views.trend(HistorySection(trend=points[:2])) is None  # one drawable point


def test_one_of_everything_reads_in_the_singular(capsys: pytest.CaptureFixture[str]) -> None:
    """One low finding, one check: "1 risk point", "1 finding", "1 check", never "1 points"."""
    from smbaudit.cli.summary import print_summary

    t0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    report = build(scan_id="0" * 32, started_at=t0, finished_at=t0, complete=True,
                   targets=[TargetInfo("dir:/srv/tree", TargetKind.HOST)],
                   findings=[Finding(check_id="t.notes", title="notes private", description="d",
                                     category="hardening", severity=Severity.LOW,
                                     status=Status.FAIL, target="dir:/srv/tree")],
                   command=["smbaudit", "scan"], checks_loaded=1)
    print_summary(report, [], "high", 0, verbose=False, quiet=False, err=False)
    texts = {"terminal": capsys.readouterr().out}
    for fmt in (OutputFormat.HTML, OutputFormat.MARKDOWN, OutputFormat.JSON):
        texts[fmt.value] = renderer(fmt)(report).decode()
    texts["print"] = render_print_html(report).decode()
    assert "1 risk point from 1 failing finding: 1 low (1 point)." in texts["terminal"]
    assert "1 finding: 1 fail" in texts["terminal"]
    for name, text in texts.items():
        assert not re.search(r"(?<![\d.])1 (risk )?(points|findings|checks|failing findings)\b",
                             text), name


def test_waiver_dates_stay_on_one_line_on_screen_and_printed() -> None:
    """Every expiry date sits in an element that never wraps ("2026-09-" / "30" in a cell)."""
    from smbaudit.models import Waiver

    t0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    findings = [Finding(check_id=f"t.w{i}", title="notes private", description="d",
                        category="hardening", severity=Severity.LOW, status=Status.FAIL,
                        target="dir:/srv/tree",
                        waiver=Waiver("vendor appliance, replaced next quarter", "Jane Doe",
                                      date, expired))
                for i, (date, expired) in enumerate((("2026-09-30", False),
                                                      ("2025-12-31", True)))]
    report = build(scan_id="0" * 32, started_at=t0, finished_at=t0, complete=True,
                   targets=[TargetInfo("dir:/srv/tree", TargetKind.HOST)], findings=findings,
                   command=["smbaudit", "scan"], checks_loaded=2)
    for html, keep in ((renderer(OutputFormat.HTML)(report).decode(), "date"),
                       (render_print_html(report).decode(), "nobr")):
        assert re.search(r"\." + keep + r" \{ ?white-space: ?nowrap; ?\}", html)
        for date in ("2026-09-30", "2025-12-31"):
            places = [m.start() for m in re.finditer(date, html)]
            assert places
            for at in places:
                assert re.search(r'class="[^"]*\b' + keep + r'\b[^"]*">$', html[at - 40:at]), \
                    html[at - 80:at + 20]


def test_every_format_says_the_overall_grade_is_the_worst_targets(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Ten hosts with 5 low findings each: each B, the scan B (score 50), said in every format."""
    from smbaudit.cli.summary import print_summary

    t0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    hosts = [f"dir:/srv/h{i}" for i in range(10)]
    findings = [Finding(check_id=f"t.c{j}", title="x", description="d", category="hardening",
                        severity=Severity.LOW, status=Status.FAIL, target=h)
                for h in hosts for j in range(5)]
    report = build(scan_id="0" * 32, started_at=t0, finished_at=t0, complete=True,
                   targets=[TargetInfo(h, TargetKind.HOST) for h in hosts], findings=findings,
                   command=["smbaudit", "scan"], checks_loaded=5)
    assert (report.summary.score.score, report.summary.score.grade) == (50.0, "B")
    print_summary(report, [], "high", 0, verbose=False, quiet=False, err=False)
    texts = {"terminal": capsys.readouterr().out,
             "print": render_print_html(report).decode().replace("&#39;", "'")}
    for fmt in (OutputFormat.HTML, OutputFormat.MARKDOWN, OutputFormat.JSON):
        texts[fmt.value] = renderer(fmt)(report).decode().replace("&#39;", "'")
    for name, text in texts.items():
        assert re.search(r"worst (grade among the 10 targets|target's)", text), name
