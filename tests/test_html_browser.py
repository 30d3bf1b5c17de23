"""The HTML report as a person sees it, in headless Chromium (Debian's `chromium`, driven by
Playwright; no browser is downloaded): problem headlines, accepted risks (waivers), each
target's top risks, filtering, no request leaving the page, hostile evidence shown as text, the
"since the last scan" section with its SVG trend, and a report of 5,000 findings that filters
in well under 200 ms (flat list and fleet view), measured in the page with performance.now()
from the change to the next frame, as the median of 40 changes so that one slow frame on a
busy 2-core machine does not decide it.

Screenshots are kept as test artefacts for a person to look at: PNGs under
tests/artifacts/screenshots/ (gitignored; `SMBAUDIT_ARTIFACTS=DIR` puts them under
DIR/screenshots/), with the filter timings of the 5,000-finding report in
tests/artifacts/filter-timing.json. CI (`bash .ci/run`) leaves them in the same place in its
clone."""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from smbaudit import history
from smbaudit.history import HistoryStore
from smbaudit.models import Evidence, Finding, Severity, Status, TargetInfo, TargetKind, Waiver
from smbaudit.render.formats import OutputFormat, renderer
from smbaudit.report import Report, build
from smbaudit.waivers import WaiverEntry, WaiverOutcome

pytestmark = pytest.mark.needs_chromium
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("SMBAUDIT_ARTIFACTS") or Path(__file__).parent / "artifacts")
SCREENSHOTS = ARTIFACTS / "screenshots"
HOSTILE = ('<script>window.__pwned = 1</script><img src="http://198.51.100.7/x.png" '
           'onerror="window.__pwned = 2">')
T0 = datetime(2026, 5, 1, 2, 30, tzinfo=timezone.utc)
GOLDEN, TLS = "dir:/srv/golden", "127.0.0.1:8443"
ROOT_LOGIN = "root may log in over SSH with a password (PermitRootLogin yes)"
CRON = "/etc/cron.d/backup is world-writable (0666)"
WEAK_TLS = f"TLS 1.0 and 1.1 are accepted on {TLS}"


def finding(check: str, title: str, severity: str, status: str = "fail", **kw: Any) -> Finding:
    return Finding(check_id=check, title=title, description=f"What {check} checks.",
                   category=str(kw.pop("category", "hardening")), severity=Severity(severity),
                   status=Status(status), target=str(kw.pop("target", GOLDEN)),
                   remediation="Change the setting.", rationale="It matters.", **kw)


def findings(day: int) -> list[Finding]:
    """A month of weekly scans: problems get fixed, one comes back, one is new on day 3; one
    risk is accepted until September, another's acceptance has run out."""
    root_fails = day in (0, 3)
    tls_fails = day == 3
    return [
        finding("ssh.permit-root-login", "SSH does not allow root to log in", "high",
                "fail" if root_fails else "pass", category="access_control",
                location="/etc/ssh/sshd_config", problem=ROOT_LOGIN if root_fails else None,
                evidence=[Evidence("settings.permitrootlogin", "yes", "in [no, prohibit-password]",
                                   False, "root can log in with a password")]),
        finding("files.shadow-permissions", "Only root can read /etc/shadow", "high",
                "fail" if day < 2 else "pass", category="access_control", location="/etc/shadow",
                problem="/etc/shadow is readable by everyone (0644)" if day < 2 else None),
        finding("logging.persistent-logs", "System logs survive a reboot", "medium",
                location="/etc/systemd/journald.conf",
                problem="journald keeps logs in memory only (Storage=volatile)"),
        finding("web.banner", HOSTILE, "low", location="/etc/nginx/nginx.conf",
                problem=f"nginx names its version: {HOSTILE}",
                evidence=[Evidence("server_tokens", HOSTILE, "off", False, HOSTILE)],
                waiver=Waiver("Vendor appliance; replaced in Q3", "Jane Doe (owner)", "2026-09-30",
                              False)),
        finding("cron.world-writable", "No cron file is writable by others", "medium",
                location="/etc/cron.d/backup", problem=CRON,
                waiver=Waiver("Backup vendor fixes it in their next release", "Sam Lee (IT)",
                              "2026-04-30", True)),
        finding("patching.eol", "The operating system still gets security updates", "critical",
                "pass"),
        finding("tls.weak-protocols", "TLS 1.0 and 1.1 are off", "medium",
                "fail" if tls_fails else "pass", category="encryption", target=TLS,
                network_exposed=True, problem=WEAK_TLS if tls_fails else None),
        finding("backup.configured", "Backups are configured", "medium", "error",
                reason="backup probe timed out"),
    ]


def waiver_outcome() -> WaiverOutcome:
    entries = (
        WaiverEntry("web.banner", "dir:*", "Vendor appliance; replaced in Q3", "Jane Doe (owner)",
                    "2026-09-30", False, 1, "waivers.yaml:2"),
        WaiverEntry("cron.world-writable", "*", "Backup vendor fixes it in their next release",
                    "Sam Lee (IT)", "2026-04-30", True, 1, "waivers.yaml:8"),
        WaiverEntry("ssh.weak-ciphers", "*", "Legacy client until the migration", "Jane Doe (owner)",
                    "2026-12-31", False, 0, "waivers.yaml:14"),
    )
    return WaiverOutcome(entries=entries, files=("waivers.yaml",), live=1, expired=1)


def scan_report(day: int) -> Report:
    started = T0 + timedelta(days=day * 7)
    report = build(scan_id=f"{day:02d}" + "c0ffee" * 5, started_at=started,
                   finished_at=started + timedelta(minutes=2), complete=True,
                   targets=[TargetInfo(GOLDEN, TargetKind.HOST,
                                       details={"root": "/srv/golden", "live": False}),
                            TargetInfo(TLS, TargetKind.SERVICE)],
                   findings=findings(day), command=["smbaudit", "scan"], checks_loaded=8)
    report.waivers = waiver_outcome()
    return report


LAST: dict[str, Report] = {}


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fourth weekly scan, with the first three in the history store."""
    folder = tmp_path_factory.mktemp("html")
    with HistoryStore(folder / "h.db") as store:
        for day in range(3):
            store.save(scan_report(day).to_dict())
        last = scan_report(3)
        last.history = history.history_section(store, last.as_stored())
    LAST["report"] = last
    path = folder / "report.html"
    path.write_bytes(renderer(OutputFormat.HTML)(last))
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                               args=["--no-sandbox", "--disable-gpu",
                                     "--disable-background-networking"])
        yield b
        b.close()


def open_page(browser: Any, path: Path, requests: list[str] | None = None) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    if requests is not None:
        context.on("request", lambda r: requests.append(r.url))
    pg = context.new_page()
    pg.add_init_script("window.__pwned = undefined;")
    pg.goto(path.as_uri(), wait_until="load")
    return context, pg


@pytest.fixture
def page(browser: Any, report_file: Path) -> Iterator[tuple[Any, list[str]]]:
    requests: list[str] = []
    context, pg = open_page(browser, report_file, requests)
    yield pg, requests
    context.close()


def screenshot(locator: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / name
    locator.screenshot(path=str(shot))
    assert shot.stat().st_size > 5_000  # a picture, not an empty box
    return shot


def on_screen(pg: Any, locator: Any) -> None:
    """Scroll to an element and wait for the frame that renders it: rows off screen are not
    rendered (content-visibility), so they have no inner text until then."""
    locator.scroll_into_view_if_needed()
    pg.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def visible_findings(pg: Any) -> list[dict[str, str]]:
    return pg.eval_on_selector_all(  # type: ignore[no-any-return]
        "details.finding", "els => els.filter(e => e.offsetParent !== null)"
                           ".map(e => ({sev: e.dataset.severity, st: e.dataset.status}))")


def test_filtering_by_severity_shows_only_those(page: tuple[Any, list[str]]) -> None:
    pg, _ = page
    total = len(findings(3))
    # Opens on the failing findings
    assert {f["st"] for f in visible_findings(pg)} == {"fail"}
    pg.select_option("#f-status", "")
    everything = visible_findings(pg)
    assert len(everything) == total
    pg.select_option("#f-severity", "medium")
    shown = visible_findings(pg)
    assert shown and {f["sev"] for f in shown} == {"medium"}
    assert len(shown) == sum(1 for f in everything if f["sev"] == "medium")
    assert pg.inner_text("#f-count") == f"{len(shown)} of {total} shown"
    pg.fill("#f-text", "journald")
    assert len(visible_findings(pg)) == 1


def test_problem_headlines_lead_and_titles_follow(page: tuple[Any, list[str]]) -> None:
    pg, _ = page
    card = pg.locator("details.finding", has_text=ROOT_LOGIN).first
    on_screen(pg, card)
    title = card.locator("summary .title")
    assert title.inner_text().splitlines()[0] == ROOT_LOGIN  # the headline, as observed
    assert title.locator(".subtitle").inner_text() == "SSH does not allow root to log in"
    top = pg.locator("#summary table.grid").first  # Top risks: the problems, by headline
    links = [a.strip() for a in top.locator("tbody td a").all_inner_texts()]
    assert links[0] == ROOT_LOGIN and WEAK_TLS in links
    assert "SSH does not allow root to log in" not in links
    assert ROOT_LOGIN in pg.locator("#summary p.plain").inner_text()  # the most serious one
    screenshot(pg.locator("#summary"), "report-summary.png")


def test_waivers_are_in_view(page: tuple[Any, list[str]]) -> None:
    pg, _ = page
    summary = pg.locator("#summary")
    assert summary.locator("a.waiver-pill", has_text="accepted risks: 1").count() == 1
    assert summary.locator("a.waiver-pill.expired", has_text="expired waivers: 1").count() == 1
    section = pg.locator("#waivers")
    accepted = section.locator("table.grid").nth(0).inner_text()
    for text in ("nginx names its version", "Vendor appliance; replaced in Q3",
                 "Jane Doe (owner)", "2026-09-30"):
        assert text in accepted
    expired = section.locator("table.grid").nth(1).inner_text()
    assert CRON in expired and "Sam Lee (IT)" in expired and "2026-04-30" in expired
    unmatched = section.locator("ul").inner_text()
    assert "ssh.weak-ciphers" in unmatched and "waivers.yaml:14" in unmatched
    # A waived finding is marked on its headline, without opening it
    pg.select_option("#f-status", "")
    for headline, mark in (("nginx names its version", "accepted risk"),
                           (CRON, "waiver expired")):
        card = pg.locator("details.finding", has_text=headline).first
        on_screen(pg, card)
        assert not card.evaluate("e => e.open")
        pill = card.locator("summary .waiver-pill")
        assert pill.is_visible() and pill.inner_text() == mark
    # The pill in the summary leads to the list
    summary.locator("a.waiver-pill").first.click()
    assert pg.evaluate("location.hash") == "#waivers"
    screenshot(section, "report-waivers.png")


def test_each_target_has_its_own_top_risks(page: tuple[Any, list[str]]) -> None:
    pg, _ = page
    blocks = pg.locator("#summary .per-target .target-risks")
    assert blocks.count() == 2
    seen = {}
    for i in range(blocks.count()):
        block = blocks.nth(i)
        name = block.locator("h4").inner_text()
        hrefs = block.locator("a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
        assert hrefs and all(h.endswith(f"--{name}") for h in hrefs), (name, hrefs)
        seen[name] = block.inner_text()
    assert set(seen) == {GOLDEN, TLS}
    assert ROOT_LOGIN in seen[GOLDEN] and WEAK_TLS in seen[TLS]
    assert WEAK_TLS not in seen[GOLDEN] and ROOT_LOGIN not in seen[TLS]
    assert "nginx names its version" not in seen[GOLDEN]  # an accepted risk is not a top risk
    # A top risk opens its finding in the list
    blocks.nth(1).locator("a").first.click()
    opened = pg.locator("details.finding[open]")
    assert opened.count() == 1 and WEAK_TLS in opened.inner_text()
    screenshot(pg.locator("#summary .per-target"), "report-per-target-risks.png")
    screenshot(opened, "report-finding-open.png")


def test_no_request_leaves_the_page(page: tuple[Any, list[str]], report_file: Path) -> None:
    pg, requests = page
    pg.select_option("#f-status", "")
    for el in pg.query_selector_all("details.finding"):
        el.evaluate("e => e.open = true")  # every evidence table rendered
    pg.wait_for_timeout(300)
    assert requests == [report_file.as_uri()]


def test_hostile_evidence_is_text_never_markup(page: tuple[Any, list[str]]) -> None:
    pg, _ = page
    pg.select_option("#f-status", "")
    card = pg.locator("details.finding[data-severity=low]").first
    card.evaluate("e => e.open = true")
    on_screen(pg, card)
    assert HOSTILE in card.inner_text()  # the markup is shown, as characters
    assert card.locator("script, img").count() == 0
    assert pg.evaluate("window.__pwned") is None
    assert pg.locator("script").count() == 1  # only the report's own filter script


def test_since_last_scan_and_trend_chart(page: tuple[Any, list[str]]) -> None:
    pg, _ = page
    section = pg.locator("#history")
    text = section.inner_text()
    assert "Since the last scan" in text
    assert "new: 1" in text and "regressed: 1" in text and "resolved: 0" in text
    assert "TLS 1.0 and 1.1 are off" in text  # new
    assert "SSH does not allow root to log in" in text  # back after a fix
    points = section.locator("svg.trend circle")
    assert points.count() == 4
    score = LAST["report"].summary.score.score
    assert score is not None
    assert f"score {score:.0f}" in points.nth(3).locator("title").text_content()
    screenshot(section, "report-history.png")


# --------------------------------------------------------------------------- 5,000 findings

BIG = 5000
SEVERITIES = ["critical", "high", "medium", "low", "info"]
STATUSES = ["fail", "pass", "not_applicable", "fail", "error"]
AREAS = ["access_control", "encryption", "hardening", "logging", "network"]
# Each step changes one filter, as a person would, from the report's opening view.
STEPS = [("f-status", ""), ("f-severity", "medium"), ("f-text", "check-3"), ("f-text", ""),
         ("f-severity", ""), ("f-category", "encryption"), ("f-category", ""),
         ("f-status", "fail")]
ROUNDS = 5
BOUND_MS = 200.0
LIMIT = 500  # findings listed at once before "list them all" (report.html.j2)
# One step: change the control, then wait for the next frame after it (style, layout and
# paint done), all timed inside the page with performance.now().
TIMED_STEP = """async ([id, value]) => {
  const el = document.getElementById(id);
  const t0 = performance.now();
  el.value = value;
  el.dispatchEvent(new Event(el.tagName === "INPUT" ? "input" : "change"));
  await new Promise(done => requestAnimationFrame(() => {
    const ch = new MessageChannel(); ch.port1.onmessage = done; ch.port2.postMessage(0); }));
  return performance.now() - t0;
}"""


def big_report() -> Report:
    fs = []
    for i in range(BIG):
        status = STATUSES[i % 5]
        fs.append(finding(
            f"area.check-{i % 400}", f"Check {i % 400} holds on this host",
            SEVERITIES[(i // 5 + i) % 5],
            status, category=AREAS[(i // 5) % 5], target=f"dir:/srv/host-{i // 400}",
            location=f"/etc/app/{i}.conf", problem=f"/etc/app/{i}.conf is wrong" if status == "fail" else None,
            reason="probe timed out" if status == "error" else "",
            evidence=[Evidence("settings.value", str(i), "= 1", status != "fail", "")]))
    targets = [TargetInfo(f"dir:/srv/host-{k}", TargetKind.HOST) for k in range(BIG // 400 + 1)]
    return build(scan_id="5000" * 8, started_at=T0, finished_at=T0 + timedelta(minutes=9),
                 complete=True, targets=targets, findings=fs, command=["smbaudit", "scan"],
                 checks_loaded=400)


def timed(pg: Any, steps: list[tuple[str, str]]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {f"{k}={v}": [] for k, v in steps}
    for _ in range(ROUNDS):
        for key, value in steps:
            times[f"{key}={value}"].append(pg.evaluate(TIMED_STEP, [key, value]))
    return times


def keep_timings(name: str, times: dict[str, list[float]]) -> None:
    every = [t for ts in times.values() for t in ts]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "filter-timing.json"
    kept = json.loads(path.read_text()) if path.is_file() else {}
    kept[name] = {"findings": BIG, "rounds": ROUNDS, "median_ms": round(statistics.median(every), 1),
                  "max_ms": round(max(every), 1),
                  "median_ms_by_step": {k: round(statistics.median(v), 1) for k, v in times.items()}}
    path.write_text(json.dumps(kept, indent=2))


def assert_quick(times: dict[str, list[float]]) -> None:
    every = [t for ts in times.values() for t in ts]
    medians = {k: round(statistics.median(v), 1) for k, v in times.items()}
    # The median of every timed step: one slow frame on a busy machine does not decide it.
    assert statistics.median(every) < BOUND_MS, medians
    assert max(medians.values()) < 2 * BOUND_MS, medians


def test_five_thousand_findings_filter_quickly(browser: Any, tmp_path: Path) -> None:
    path = tmp_path / "big.html"
    report = big_report()
    failing = sum(1 for f in report.findings if f.status is Status.FAIL)
    medium = sum(1 for f in report.findings if f.severity is Severity.MEDIUM)
    path.write_bytes(renderer(OutputFormat.HTML)(report))
    context, pg = open_page(browser, path)
    try:
        # Opens on the failures, the first LIMIT of them listed
        assert pg.inner_text("#f-count") == f"{failing} of {BIG} shown (the first {LIMIT} listed)"
        assert len(visible_findings(pg)) == LIMIT and pg.locator("#f-more").is_visible()
        times = timed(pg, STEPS)
        # The filters did filter: everything, then the medium ones, then all of those listed
        pg.select_option("#f-status", "")
        assert pg.inner_text("#f-count").startswith(f"{BIG} of {BIG} shown")
        pg.select_option("#f-severity", "medium")
        assert pg.inner_text("#f-count").startswith(f"{medium} of {BIG} shown")
        pg.click("#f-more")
        assert pg.inner_text("#f-count") == f"{medium} of {BIG} shown"
        shown = visible_findings(pg)
        assert len(shown) == medium and {f["sev"] for f in shown} == {"medium"}
        assert not pg.locator("#f-more").is_visible()
        pg.select_option("#f-severity", "")
        pg.fill("#f-text", "/etc/app/4999.conf")  # a search finds a row far down the list
        assert len(visible_findings(pg)) == 1 and pg.inner_text("#f-count") == f"1 of {BIG} shown"
        pg.fill("#f-text", "")
        # A link to a finding past the first LIMIT lists and opens it
        last = report.findings_sorted()[-1]
        pg.goto(f"{path.as_uri()}#f-{last.check_id}--{last.target}")
        pg.reload()
        opened = pg.locator("details.finding[open]")
        assert opened.count() == 1 and opened.get_attribute("id") == f"f-{last.check_id}--{last.target}"
        assert opened.is_visible()
        pg.evaluate("document.getElementById('findings').scrollIntoView()")
        pg.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        screenshot(pg, "report-5000-findings.png")  # what the screen shows there
    finally:
        context.close()
    keep_timings("findings", times)
    assert_quick(times)


def test_five_thousand_findings_on_forty_hosts_fleet_view(browser: Any, tmp_path: Path) -> None:
    """The same findings from remote hosts: the fleet view (findings grouped by check, a host
    filter) filters as quickly."""
    big = big_report()
    hosts = [t.name for t in big.targets]
    fleet = build(scan_id="f1ee7" * 6 + "00", started_at=T0, finished_at=T0 + timedelta(minutes=9),
                  complete=True, findings=big.findings, command=["smbaudit", "scan"],
                  targets=[TargetInfo(h, TargetKind.HOST, details={"state": "assessed"})
                           for h in hosts], checks_loaded=400)
    path = tmp_path / "fleet.html"
    path.write_bytes(renderer(OutputFormat.HTML)(fleet))
    context, pg = open_page(browser, path)
    try:
        assert pg.locator("#fleet-findings").count() == 1  # the fleet view, not the flat list
        times = timed(pg, [("h-host", hosts[3]), ("h-severity", "medium"), ("h-text", "check-3"),
                           ("h-text", ""), ("h-severity", ""), ("h-category", "encryption"),
                           ("h-category", ""), ("h-host", "")])
        pg.select_option("#h-host", hosts[3])
        shown = pg.eval_on_selector_all(
            "#fleet-findings tr.hr", "rs => rs.filter(r => !r.closest('.hidden'))"
                                     ".map(r => r.dataset.host)")
        assert shown and set(shown) == {hosts[3]}
        pg.evaluate("document.getElementById('fleet-findings').scrollIntoView()")
        pg.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        screenshot(pg, "report-fleet-5000-findings.png")
    finally:
        context.close()
    keep_timings("fleet view", times)
    assert_quick(times)
