"""The one-screen terminal summary printed after a scan."""

from __future__ import annotations

from collections import Counter

import click

from smbaudit.errors import (
    EXIT_FINDINGS,
    EXIT_FINDINGS_NOT_AUDITED,
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
)
from smbaudit.models import TargetInfo
from smbaudit.models import Status
from smbaudit.report import Report
from smbaudit.scoring import plural, score_text
from smbaudit.textsafe import visible

SEVERITY_COLOURS = {"critical": "magenta", "high": "red", "medium": "yellow", "low": "blue",
                    "info": "white"}
TOP = 10
FIXES = 3


def print_summary(report: Report, written: list[str], fail_on: str, code: int, *,
                  verbose: bool, quiet: bool, err: bool) -> None:
    def out(text: str = "", **style: object) -> None:
        # Headlines, reasons and target names come from targets: shown with visible escapes.
        click.secho(visible(text), err=err, **style)  # type: ignore[arg-type]

    s = report.summary
    c = s.counts
    if quiet:
        # Cron mode: one line per thing that is wrong, nothing else.
        if code == EXIT_INTERRUPTED:
            out(f"smbaudit: scan interrupted; partial report: {', '.join(written)}")
        if code in (EXIT_FINDINGS, EXIT_FINDINGS_NOT_AUDITED):
            out(f"smbaudit: score {s.score.label}; {c['fail']} failing "
                f"finding(s), some at or above {fail_on}; report: {', '.join(written)}")
        if code == EXIT_INCOMPLETE:
            out(f"smbaudit: {c['error']} check(s) could not be assessed, "
                f"{len(report.unreachable)} target(s) unreachable; score {s.score.label}; "
                f"report: {', '.join(written)}")
        missed = hosts_not_audited(report.targets)
        if missed and code != EXIT_OK_CODE:
            out(f"smbaudit: {len(missed)} of {len(fleet_hosts(report.targets))} host(s) not "
                f"audited: {'; '.join(missed)}")
        return
    grade_colour = {"A": "green", "B": "green", "C": "yellow", "D": "red", "F": "red"}
    out()
    if s.score.score is None:
        out("Risk score: ", nl=False)
        out(s.score.label, bold=True, fg="magenta")
    else:
        out(f"Risk score {score_text(s.score.score)} (risk points, 0 is best)  grade ", nl=False)
        out(s.score.grade, bold=True, fg=grade_colour.get(s.score.grade, "magenta"))
        for line in s.score.drivers():
            out(f"  {line}")
    out(f"{plural(c['total'], 'finding')}: {c['fail']} fail, {c['pass']} pass, {c['error']} error, "
        f"{c['not_applicable']} not applicable, {c['skipped']} skipped")
    sev = ", ".join(f"{n} {k}" for k, n in s.failed_by_severity.items() if n)
    if sev:
        out(f"Failing by severity: {sev}")
    for gate in s.score.gates:
        out(f"! {gate}", fg="yellow")
    failed = [f for f in report.findings_sorted() if f.status is Status.FAIL]
    if failed:
        out()
        out("Checks not met, worst first:" if not verbose else "All checks not met:")
        for f in failed if verbose else failed[:TOP]:
            waived = " (accepted risk)" if f.waived else ""
            out(f"  {f.severity.value:<8}", fg=SEVERITY_COLOURS[f.severity.value], nl=False)
            out(f" {f.headline}{waived}")
            out(f"           {f.title} ({f.target}) {f.check_id}", dim=True)
        if not verbose and len(failed) > TOP:
            out(f"  ... and {len(failed) - TOP} more (see the report, or use -v)")
    fixes = s.score.fixes()
    fixes = fixes[:FIXES] + ([fixes[-1]] if len(fixes) > FIXES and s.score.serious_fixed()
                             else [])
    if fixes:
        out()
        out("What fixing the top problems would change:")
        for line in fixes:
            out(f"  {line}")
    errors = [f for f in report.findings if f.status is Status.ERROR]
    if errors:
        out()
        out(f"{len(errors)} check(s) could not be assessed:", fg="magenta")
        if verbose:
            for f in errors:
                out(f"  {f.check_id} ({f.target}): {f.reason}")
        else:
            why = Counter((f.target, f.reason) for f in errors)
            for (target, reason), n in why.most_common(5):
                out(f"  {n} on {target}: {reason}")
            if len(why) > 5:
                out(f"  ... and {len(why) - 5} other reason(s) (-v lists every check)")
    fleet = {t.name for t in fleet_hosts(report.targets)}
    for t in report.unreachable:
        if t.name not in fleet:
            out(f"unreachable: {t.name}: {t.error}", fg="magenta")
    missed = hosts_not_audited(report.targets)
    if missed:
        out(f"{len(missed)} of {len(fleet)} host(s) not audited in full:", fg="magenta")
        for line in missed:
            out(f"  {line}", fg="magenta")
    if not report.complete:
        out(f"Scan incomplete: {report.stop_reason}. Partial results were written.", fg="yellow")
    if written:
        out()
        for path in written:
            out(f"Report: {path}")


EXIT_OK_CODE = 0


def fleet_hosts(targets: list[TargetInfo]) -> list[TargetInfo]:
    return [t for t in targets if "state" in t.details]


def hosts_not_audited(targets: list[TargetInfo]) -> list[str]:
    """`web3 (unreachable: ...)` for each remote host not audited in full."""
    out = []
    for t in fleet_hosts(targets):
        state = str(t.details["state"])
        if state != "assessed":
            why = str(t.details.get("state_reason") or t.error)
            out.append(f"{t.name} ({state}: {why[:200]})" if why else f"{t.name} ({state})")
    return out


def since_last_scan(report: Report) -> list[str]:
    """What changed since the last scan and which waivers matched nothing, for the terminal."""
    lines = []
    h = report.history
    if h is not None:
        d = h.diff
        if d is None:
            lines.append("History: first recorded scan of these targets.")
        else:
            lines.append(f"Since the last scan ({d.old_scan.scan_id[:12]}): "
                         f"{len(d.new)} new, {len(d.regressed)} regressed, "
                         f"{len(d.resolved)} resolved, {len(d.unchanged)} unchanged; score "
                         f"{score_text(d.old_scan.score)} -> {score_text(d.new_scan.score)}"
                         + ("" if d.comparable else " (not comparable: "
                            + "; ".join(d.notes) + ")"))
    w = report.waivers
    if w is not None:
        lines.append(f"Waivers: {w.live} finding(s) accepted, {w.expired} "
                     "under an expired waiver (counted again)")
        for u in w.unmatched:
            lines.append(f"  waiver {u.check} on {u.target!r} ({u.source}) matched no "
                         "failing finding: it may no longer be needed")
    return lines
