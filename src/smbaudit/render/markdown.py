"""A Markdown summary that fits an e-mail or a ticket (under 2 KB): score, counts, the top ten
problems, accepted risks and what changed since the last scan. The full detail is in the
HTML/PDF/JSON reports. Every value from a scan is escaped, so a hostile string cannot add
links, HTML or table cells."""

from __future__ import annotations

import re

from smbaudit.models import Finding, Status
from smbaudit.render import views
from smbaudit.report import Report
from smbaudit.scoring import score_text
from smbaudit.textsafe import visible

MAX_BYTES = 2000
TOP = 10
_SPECIAL = re.compile(r"([\\`*_\[\]|<>~#]|&(?=[#A-Za-z]))")


def md(text: object, limit: int = 0) -> str:
    """Escape Markdown and HTML specials; keep each value on one line, at most `limit` chars."""
    one_line = visible(" ".join(str(text).split()))  # controls left after that: as escapes
    if limit and len(one_line) > limit:
        one_line = one_line[:limit - 1].rstrip() + "…"
    return _SPECIAL.sub(lambda m: f"&#{ord(m.group(1))};" if m.group(1) in "<>&"
                        else "\\" + m.group(1), one_line)


def _score_line(report: Report) -> str:
    sc = report.shown_summary.score
    if sc.score is None:
        return f"**Risk score: {md(sc.label)}.**"
    line = f"**Risk score {score_text(sc.score)}, grade {md(sc.grade)}** ({md(sc.unit)})"
    if sc.score_without_waivers is not None and sc.score_without_waivers != sc.score:
        line += f"; {score_text(sc.score_without_waivers)} without accepted risks"
    if sc.several and sc.graded and sc.current:
        line += "; the grade is the worst target's, the score the sum over the targets"
    return line + "."


def _drivers(report: Report, limit: int, fixes: int) -> list[str]:
    """What drives the score, and what fixing the top contributors would change it to."""
    sc = report.shown_summary.score
    lines = [md(line) for line in sc.drivers()[:1]]
    for c in [c for c in sc.top_contributors if c.score_if_fixed is not None][:fixes]:
        grade = f" ({md(c.grade_if_fixed)})" if c.grade_if_fixed else ""
        lines.append(f"- Fixing {md(c.headline, limit)} → {score_text(c.score_if_fixed)}{grade}")
    serious = sc.serious_fixed()
    if fixes and serious is not None:
        n, after = serious
        grade = f" ({sc.grade_if_serious_fixed})" if sc.grade_if_serious_fixed else ""
        lines.append(f"- Fixing all {n} critical and high → {score_text(after)}{grade}")
    return lines


def _history(report: Report) -> list[str]:
    h = report.history
    if h is None:
        return []
    d = h.diff
    if d is None:
        return ["", "First recorded scan of these targets."]
    text = (f"Since the last scan: {len(d.new)} new, {len(d.regressed)} regressed, "
            f"{len(d.resolved)} resolved")
    if d.score_change is not None:
        text += f"; score {score_text(d.old_scan.score)} → {score_text(d.new_scan.score)}"
    else:
        text += "; scores not comparable"
    return ["", text + "."]


def _problem(f: Finding, limit: int, several_targets: bool) -> str:
    where = f" ({md(f.target, 40)})" if several_targets else ""
    return f"{md(f.severity.value)}: {md(f.headline, limit)}{where}"


def _waivers(view: views.WaiverView, limit: int, listed: int) -> list[str]:
    if not view.any:
        return []
    lines = ["", f"Accepted risks: {len(view.accepted)} (waived, left out of the score); "
                 f"expired waivers: {len(view.expired)} (counted again); waivers matching "
                 f"nothing: {len(view.unmatched)}."]
    for f in view.accepted[:listed]:
        w = f.waiver
        assert w is not None
        lines.append(f"- {md(f.headline, limit)}: {md(w.justification, limit)} "
                     f"({md(w.approved_by, 40)}, until {md(w.expires)})")
    if len(view.accepted) > listed:
        lines.append(f"- and {len(view.accepted) - listed} more")
    return lines


def _compose(report: Report, limit: int, top: int, listed: int, fixes: int) -> str:
    s = report.shown_summary
    c = s.counts
    names = [t.name for t in report.targets]
    title = md(names[0] if names else "no target", 60) + (
        f" and {len(names) - 1} more" if len(names) > 1 else "")
    lines = [f"# Security audit: {title}", "",
             f"{report.started_at.strftime('%Y-%m-%d %H:%M')} UTC, smbaudit "
             f"{md(report.tool_version)}, scan `{md(report.scan_id[:12])}`."]
    if not report.complete:
        lines += ["", f"**This scan did not finish** ({md(report.stop_reason or 'interrupted', 80)}):"
                      " results are partial."]
    if report.unreachable:
        lines += ["", f"**Not read:** {', '.join(md(t.name, 40) for t in report.unreachable[:3])}."]
    lines += ["", _score_line(report),
              f"{c['fail']} failing, {c['pass']} passing, {c['error']} error, "
              f"{c['not_applicable']} not applicable, {c['skipped']} skipped. Failing: "
              + ", ".join(f"{n} {k}" for k, n in s.failed_by_severity.items() if n) + "."
              if c["fail"] else
              f"{c['fail']} failing, {c['pass']} passing, {c['error']} error, "
              f"{c['not_applicable']} not applicable, {c['skipped']} skipped."]
    lines += _drivers(report, limit, fixes)
    for gate in s.score.gates[:2]:
        lines.append(f"Note: {md(gate, 160)}")
    if report.vulndb:
        lines.append(f"Vulnerability data: {md(report.vulndb.message, 160)}")
    failing = report.counted_failures()
    if failing:
        lines += ["", f"## Top problems ({min(top, len(failing))} of {len(failing)})", ""]
        lines += [f"{i}. {_problem(f, limit, len(names) > 1)}" for i, f in enumerate(failing[:top], 1)]
    errors = [f for f in report.findings_sorted() if f.status is Status.ERROR]
    if errors:
        lines += ["", f"Could not be checked: {len(errors)}."]
        lines += [f"- {md(f.check_id, 50)}: {md(f.reason, limit)}" for f in errors[:min(3, top)]]
        if len(errors) > 3:
            lines.append(f"- and {len(errors) - 3} more")
    lines += _waivers(views.waivers(report), limit, listed)
    lines += _history(report)
    lines += ["", "Full details: the HTML, PDF or JSON report of this scan."]
    return "\n".join(lines) + "\n"


def render_markdown(report: Report) -> bytes:
    """The summary, shortened until it fits MAX_BYTES."""
    text = ""
    for limit, top, listed, fixes in ((120, TOP, 3, 3), (90, TOP, 2, 3), (70, TOP, 1, 2),
                                      (60, TOP, 0, 1), (50, 7, 0, 1), (40, 5, 0, 0),
                                      (30, 3, 0, 0)):
        text = _compose(report, limit, top, listed, fixes)
        if len(text.encode("utf-8")) <= MAX_BYTES:
            break
    return text.encode("utf-8")
