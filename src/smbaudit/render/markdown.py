"""A Markdown summary (for a ticket, a pull request or an e-mail): score, counts, what changed
since the last scan, the failing findings and the accepted risks. Every value from a scan is
escaped, so a hostile string cannot add links, HTML or table cells."""

from __future__ import annotations

import re

from smbaudit.models import Status
from smbaudit.report import Report
from smbaudit.scoring import score_text
from smbaudit.textsafe import visible

_SPECIAL = re.compile(r"([\\`*_\[\]|<>~]|&(?=[#A-Za-z]))")


def md(text: object) -> str:
    """Escape Markdown and HTML specials; keep each value on one line."""
    one_line = visible(" ".join(str(text).split()))  # controls left after that: as escapes
    return _SPECIAL.sub(lambda m: f"&#{ord(m.group(1))};" if m.group(1) in "<>&"
                        else "\\" + m.group(1), one_line)


def _history(report: Report) -> list[str]:
    h = report.history
    d = h.diff if h else None
    if d is None:
        return ["", "## Since the last scan", "", "First recorded scan of these targets."] if h else []
    change = d.score_change
    moved = "not comparable" if change is None else f"{'+' if change > 0 else ''}{change:g}"
    lines = ["", "## Since the last scan", "",
             f"Compared with scan `{md(d.old_scan.scan_id[:12])}` of "
             f"{md(d.old_scan.started_at[:16].replace('T', ' '))} UTC: risk score "
             f"{score_text(d.old_scan.score)} → {score_text(d.new_scan.score)} "
             f"({moved}).", "",
             "| New | Regressed | Resolved | Unchanged |", "|---:|---:|---:|---:|",
             f"| {len(d.new)} | {len(d.regressed)} | {len(d.resolved)} "
             f"| {len(d.unchanged)} |"]
    for note in d.notes:
        lines.append(f"\n> Note: {md(note)}")
    for entries, label in ((d.new, "New"), (d.regressed, "Regressed"), (d.resolved, "Resolved")):
        if entries:
            lines += ["", f"**{label}:**", ""]
            lines += [f"- {md(e.severity.value)}: {md(e.title)} ({md(e.target)}, "
                      f"`{md(e.check_id)}`)" for e in entries]
    return lines


def render_markdown(report: Report) -> bytes:
    s = report.summary
    c = s.counts
    names = ", ".join(md(t.name) for t in report.targets)
    lines = [f"# Security audit: {names}", "",
             f"Scanned {report.started_at.strftime('%Y-%m-%d %H:%M')} UTC by smbaudit "
             f"{md(report.tool_version)} (scan `{md(report.scan_id[:12])}`)."]
    if not report.complete:
        lines += ["", f"> **This scan did not finish** ({md(report.stop_reason or 'interrupted')}):"
                      " results are partial."]
    for t in report.unreachable:
        lines += ["", f"> **Target not read:** {md(t.name)} ({md(t.error)})"]
    if s.score.score is None:
        lines += ["", f"**Risk score: {md(s.score.label)}.**"]
    else:
        lines += ["", f"**Risk score {s.score.score:.0f}/100, grade {md(s.score.grade)}** "
                      "(lower is better)."]
    if s.score.score is not None and s.score.score_without_waivers != s.score.score:
        lines.append(f"Without accepted risks: {s.score.score_without_waivers:.0f}.")
    for gate in s.score.gates:
        lines.append(f"\n> {md(gate)}")
    if report.vulndb:
        lines += ["", f"Vulnerability data: {md(report.vulndb.get('message', ''))}"]
    lines += ["", "| Fail | Pass | Error | Not applicable | Skipped |", "|---:|---:|---:|---:|---:|",
              f"| {c['fail']} | {c['pass']} | {c['error']} | {c['not_applicable']} "
              f"| {c['skipped']} |", "",
              "Failing by severity: " + ", ".join(f"{n} {k}" for k, n in
                                                  s.failed_by_severity.items()) + "."]
    lines += _history(report)
    failed = [f for f in report.findings_sorted() if f.status is Status.FAIL]
    if failed:
        lines += ["", "## Failing checks", "", "| Severity | Problem | Target | Where | Fix |",
                  "|---|---|---|---|---|"]
        for f in failed:
            headline = md(f.headline)
            if f.waiver:
                headline += (" *(accepted risk, expired)*" if f.waiver.expired
                             else f" *(accepted risk until {md(f.waiver.expires)})*")
            lines.append(f"| {md(f.severity.value)} | {headline}<br>{md(f.title)} `{md(f.check_id)}` "
                         f"| {md(f.target)} | {md(f.location or '')} | {md(f.remediation)} |")
    errors = [f for f in report.findings if f.status is Status.ERROR]
    if errors:
        lines += ["", "## Checks that could not be completed", ""]
        lines += [f"- `{md(f.check_id)}` on {md(f.target)}: {md(f.reason)}" for f in errors]
    unmatched = report.waivers.unmatched if report.waivers else []
    if unmatched:
        lines += ["", "## Waivers that matched no failing finding", ""]
        lines += [f"- `{md(u.check)}` on `{md(u.target)}` ({md(u.source)}): may no longer "
                  "be needed" for u in unmatched]
    return ("\n".join(lines) + "\n").encode("utf-8")
