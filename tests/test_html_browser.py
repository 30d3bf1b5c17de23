"""The HTML report as a person sees it, in headless Chromium (Debian's `chromium`, driven by
Playwright; no browser is downloaded): filtering, no request leaving the page, hostile evidence
shown as text, the "since the last scan" section with its SVG trend. Screenshots of the summary
and the history section are kept under tests/artifacts/ (gitignored) for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from smbaudit import history
from smbaudit.history import HistoryStore
from smbaudit.models import Evidence, Finding, Severity, Status, TargetInfo, TargetKind, Waiver
from smbaudit.render.formats import OutputFormat, renderer
from smbaudit.report import Report, build

pytestmark = pytest.mark.needs_chromium
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
HOSTILE = ('<script>window.__pwned = 1</script><img src="http://198.51.100.7/x.png" '
           'onerror="window.__pwned = 2">')
T0 = datetime(2026, 5, 1, 2, 30, tzinfo=timezone.utc)


def finding(check: str, title: str, severity: str, status: str = "fail", **kw: object) -> Finding:
    return Finding(check_id=check, title=title, description=f"What {check} checks.",
                   category=str(kw.pop("category", "hardening")), severity=Severity(severity),
                   status=Status(status), target=str(kw.pop("target", "dir:/srv/golden")),
                   remediation="Change the setting.", rationale="It matters.", **kw)  # type: ignore[arg-type]


def findings(day: int) -> list[Finding]:
    """A month of nightly scans: problems get fixed, one comes back, one is new on day 3."""
    fs = [
        finding("ssh.permit-root-login", "SSH does not allow root to log in", "high",
                "fail" if day in (0, 3) else "pass", category="access_control",
                location="/etc/ssh/sshd_config",
                evidence=[Evidence("settings.permitrootlogin", "yes", "in [no, prohibit-password]",
                                   False, "root can log in with a password")]),
        finding("files.shadow-permissions", "Only root can read /etc/shadow", "high",
                "fail" if day < 2 else "pass", category="access_control", location="/etc/shadow"),
        finding("logging.persistent-logs", "System logs survive a reboot", "medium",
                location="/etc/systemd/journald.conf"),
        finding("web.banner", HOSTILE, "low", location="/etc/nginx/nginx.conf",
                evidence=[Evidence("server_tokens", HOSTILE, "off", False, HOSTILE)],
                waiver=Waiver("Vendor appliance; replaced in Q3", "Jane Doe (owner)", "2026-09-30",
                              False)),
        finding("patching.eol", "The operating system still gets security updates", "critical",
                "pass"),
        finding("tls.weak-protocols", "TLS 1.0 and 1.1 are off", "medium",
                "fail" if day == 3 else "pass", category="encryption", target="127.0.0.1:8443",
                network_exposed=True),
        finding("backup.configured", "Backups are configured", "medium", "error",
                reason="backup probe timed out"),
    ]
    return fs


def scan_report(day: int) -> Report:
    started = T0 + timedelta(days=day * 7)
    return build(scan_id=f"{day:02d}" + "c0ffee" * 5, started_at=started,
                 finished_at=started + timedelta(minutes=2), complete=True,
                 targets=[TargetInfo("dir:/srv/golden", TargetKind.HOST,
                                     details={"root": "/srv/golden", "live": False}),
                          TargetInfo("127.0.0.1:8443", TargetKind.SERVICE)],
                 findings=findings(day), command=["smbaudit", "scan"], checks_loaded=7)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fourth weekly scan, with the first three in the history store."""
    folder = tmp_path_factory.mktemp("html")
    with HistoryStore(folder / "h.db") as store:
        for day in range(3):
            store.save(scan_report(day).to_dict())
        last = scan_report(3)
        last.history = history.history_section(store, last.to_dict())
    path = folder / "report.html"
    path.write_bytes(renderer(OutputFormat.HTML)(last))
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                               args=["--no-sandbox", "--disable-gpu",
                                     "--disable-background-networking"])
        yield b
        b.close()


@pytest.fixture
def page(browser: object, report_file: Path) -> Iterator[tuple[object, list[str]]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    pg = context.new_page()
    pg.add_init_script("window.__pwned = undefined;")
    pg.goto(report_file.as_uri(), wait_until="load")
    yield pg, requests
    context.close()


def visible_findings(pg: object) -> list[dict[str, str]]:
    return pg.eval_on_selector_all(  # type: ignore[attr-defined, no-any-return]
        "details.finding", "els => els.filter(e => e.offsetParent !== null)"
                           ".map(e => ({sev: e.dataset.severity, st: e.dataset.status}))")


def test_filtering_by_severity_shows_only_those(page: tuple[object, list[str]]) -> None:
    pg, _ = page
    # Opens on the failing findings
    assert {f["st"] for f in visible_findings(pg)} == {"fail"}
    pg.select_option("#f-status", "")  # type: ignore[attr-defined]
    everything = visible_findings(pg)
    assert len(everything) == 7
    pg.select_option("#f-severity", "medium")  # type: ignore[attr-defined]
    shown = visible_findings(pg)
    assert shown and {f["sev"] for f in shown} == {"medium"}
    assert len(shown) == sum(1 for f in everything if f["sev"] == "medium")
    assert pg.inner_text("#f-count") == f"{len(shown)} of 7 shown"  # type: ignore[attr-defined]
    pg.fill("#f-text", "journald")  # type: ignore[attr-defined]
    assert len(visible_findings(pg)) == 1


def test_no_request_leaves_the_page(page: tuple[object, list[str]], report_file: Path) -> None:
    pg, requests = page
    pg.select_option("#f-status", "")  # type: ignore[attr-defined]
    for el in pg.query_selector_all("details.finding"):  # type: ignore[attr-defined]
        el.evaluate("e => e.open = true")  # every evidence table rendered
    pg.wait_for_timeout(300)  # type: ignore[attr-defined]
    assert requests == [report_file.as_uri()]


def test_hostile_evidence_is_text_never_markup(page: tuple[object, list[str]]) -> None:
    pg, _ = page
    pg.select_option("#f-status", "")  # type: ignore[attr-defined]
    card = pg.locator("details.finding[data-severity=low]").first  # type: ignore[attr-defined]
    card.evaluate("e => e.open = true")
    assert HOSTILE in card.inner_text()  # the markup is shown, as characters
    assert card.locator("script, img").count() == 0
    assert pg.evaluate("window.__pwned") is None  # type: ignore[attr-defined]
    assert pg.locator("script").count() == 1  # only the report's own filter script


def test_since_last_scan_and_trend_chart(page: tuple[object, list[str]]) -> None:
    pg, _ = page
    section = pg.locator("#history")  # type: ignore[attr-defined]
    text = section.inner_text()
    assert "Since the last scan" in text
    assert "new: 1" in text and "regressed: 1" in text and "resolved: 0" in text
    assert "TLS 1.0 and 1.1 are off" in text  # new
    assert "SSH does not allow root to log in" in text  # back after a fix
    points = section.locator("svg.trend circle")
    assert points.count() == 4
    assert "score 19" in points.nth(3).locator("title").text_content()  # 10 + 3 + 3 x 2
    ARTIFACTS.mkdir(exist_ok=True)
    section.screenshot(path=str(ARTIFACTS / "report-history.png"))


def test_summary_screenshot(page: tuple[object, list[str]]) -> None:
    pg, _ = page
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report-summary.png"
    pg.locator("#summary").screenshot(path=str(shot))  # type: ignore[attr-defined]
    assert shot.stat().st_size > 10_000
