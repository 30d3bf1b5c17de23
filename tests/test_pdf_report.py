"""The PDF deliverable, printed by headless Chromium and read back: page budget (at most one page
per four failing findings, ten pages minimum), the summary first, every problem headline intact
(no word broken across lines), no heading left alone at a page bottom, the score explained."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from pathlib import Path

import pypdf
import pytest
from click.testing import CliRunner

from smbaudit.cli import cli
from smbaudit.demotree import build
from smbaudit.models import CATEGORIES, Evidence, Finding, Severity, Status, TargetInfo, TargetKind, Waiver
from smbaudit.render.formats import OutputFormat, renderer
from smbaudit.report import Report, build as build_report

pytestmark = pytest.mark.needs_chromium
ARTIFACTS = Path(__file__).parent / "artifacts"
HEADINGS = re.compile(r"^(Summary|What drives the score|How the score is calculated|Problems to fix"
                      r"|Accepted risks|Expired waivers|Waivers that matched|Details by area|Area: "
                      r"|Areas with no failing|Checks that could not be completed)")


def page_texts(pdf: bytes, path: Path) -> list[str]:
    path.write_bytes(pdf)
    return [page.extract_text() for page in pypdf.PdfReader(path).pages]


def flat(text: str) -> str:
    return " ".join(text.split())


def budget(failing: int) -> int:
    return max(10, math.ceil(failing / 4))


def assert_layout(pages: list[str], headlines: list[str]) -> None:
    assert "Summary" in pages[0] and "Risk score" in pages[0]
    whole = flat(" ".join(pages))
    assert "How the score is calculated" in whole and "Scoring version" in whole
    broken = [h for h in headlines if flat(h) not in whole]
    assert not broken, f"headlines not printed intact: {broken[:3]}"
    for number, text in enumerate(pages, 1):
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        assert lines and not HEADINGS.match(lines[-1]), f"page {number} ends with a heading: {lines[-1]}"


def test_demo_tree_pdf(tmp_path: Path) -> None:
    root = tmp_path / "root"
    build(root, hardened=False)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["scan", f"dir:{root}", "-f", "pdf", "-f", "json", "-o",
                                      f"{out}/", "--no-history", "-q", "--fail-on", "none"])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "report.json").read_text())
    failing = [f for f in data["findings"] if f["status"] == "fail"]
    pdf = (out / "report.pdf").read_bytes()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "demo-report.pdf").write_bytes(pdf)
    pages = page_texts(pdf, tmp_path / "r.pdf")
    assert len(pages) <= budget(len(failing)), (len(pages), len(failing))
    assert_layout(pages, [f["problem"] for f in failing])
    whole = flat(" ".join(pages))
    assert f"Problems to fix ({len(failing)})" in whole
    assert "Area: Access control" in whole


def synthetic(count: int) -> Report:
    """`count` failing findings over two targets and every area, with long words and paths,
    some waived, plus passes and not-applicable ones that must only be counted."""
    t0 = datetime(2026, 6, 1, tzinfo=timezone.utc)
    severities = [Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW]
    findings: list[Finding] = []
    for i in range(count):
        target = "dir:/srv/images/web-frontend-01" if i % 2 else "ssh://admin@192.0.2.10"
        category = CATEGORIES[i % len(CATEGORIES)]
        findings.append(Finding(
            check_id=f"area{i % 7}.check-number-{i}", title=f"Check {i} holds on this host",
            description="d", category=category, severity=severities[i % 4], status=Status.FAIL,
            target=target, location=f"/etc/app/conf.d/{i:03d}-ECDHE-RSA-AES256-GCM-SHA384.conf",
            line=i % 40 + 1,
            problem=(f"service{i} accepts TLSv1.0 with ECDHE-RSA-DES-CBC3-SHA and "
                     f"CVE-2023-{20000 + i} is unpatched in libssl3-{i}.0.11-1~deb12u2"),
            evidence=[Evidence(f"items[{i}].value", "x" * 300, "<= 10", False, "too large")],
            remediation=("Upgrade the package with apt-get install --only-upgrade libssl3, then "
                         "restart every service that links it. Check with needrestart."),
            rationale="r",
            waiver=Waiver("Vendor appliance", "Jane Doe", "2030-01-01", False) if i % 25 == 0 else None))
    for i in range(count):
        findings.append(Finding(check_id=f"ok.check-{i}", title="fine", description="d",
                                category=CATEGORIES[i % len(CATEGORIES)], severity=Severity.LOW,
                                status=Status.PASS if i % 3 else Status.NOT_APPLICABLE,
                                target="dir:/srv/images/web-frontend-01", reason="n/a"))
    return build_report(scan_id="ef" * 16, started_at=t0, finished_at=t0, complete=True,
                        targets=[TargetInfo("dir:/srv/images/web-frontend-01", TargetKind.HOST),
                                 TargetInfo("ssh://admin@192.0.2.10", TargetKind.HOST)],
                        findings=findings, checks_loaded=2 * count)


@pytest.mark.parametrize("count", [3, 250])
def test_page_budget_and_layout(tmp_path: Path, count: int) -> None:
    report = synthetic(count)
    pdf = renderer(OutputFormat.PDF)(report)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"synthetic-{count}.pdf").write_bytes(pdf)
    pages = page_texts(pdf, tmp_path / "r.pdf")
    assert len(pages) <= budget(count), (len(pages), count)
    assert_layout(pages, [f.problem for f in report.findings if f.status is Status.FAIL])
    whole = flat(" ".join(pages))
    # passes and not-applicable findings are counted, never listed
    assert "fine" not in whole.split("Details by area")[-1]
    assert "Accepted risks" in whole and "Vendor appliance" in whole
    # names are wrapped at / and spaces only, never inside a word or at a hyphen
    assert "web-frontend-01" in whole and "frontend- 01" not in whole and "web- frontend" not in whole
