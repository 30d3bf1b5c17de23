"""The HTML report: one self-contained file (inline CSS and JS, nothing loaded from anywhere)."""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass, field
from typing import Any

import jinja2
import markupsafe

from smbaudit import __version__, fsutil, resources
from smbaudit.compliance.model import FrameworkCoverage
from smbaudit.models import CATEGORIES, Finding, Severity, Status
from smbaudit.redact import redact
from smbaudit.render import fleet as fleet_view
from smbaudit.render import views
from smbaudit.report import Report
from smbaudit.scoring import plural, points_label, score_text
from smbaudit.sections import FrameworkSection

TEMPLATE = "report.html.j2"
PRINT_TEMPLATE = "print.html.j2"
FIX_CHARS = 110
EVIDENCE_CHARS = 120


def _shown(value: Any) -> str:
    """Evidence values as text: strings as they are, everything else as compact JSON."""
    if isinstance(value, str):
        return redact(value)
    return redact(json.dumps(value, ensure_ascii=False, default=str))


def _one_line(text: str, limit: int = FIX_CHARS) -> str:
    """The first sentence (or line) of a text, at most `limit` characters."""
    first = " ".join(str(text).split("\n\n")[0].split())
    end = first.find(". ")
    if 0 < end < limit:
        first = first[:end + 1]
    return first if len(first) <= limit else first[:limit - 1].rstrip() + "…"


def _shown_short(value: Any) -> str:
    return _one_line(_shown(value), EVIDENCE_CHARS)


_HYPHENATED = re.compile(r"\S*\w-\w\S*")
NOWRAP_CHARS = 40


def _keep_words(text: object) -> markupsafe.Markup:
    """Escaped text in which hyphenated words (CVE-2023-27522, ECDHE-RSA-AES128-GCM-SHA256,
    1.18.0-6.1) are not broken at their hyphens when a line wraps; very long ones still may."""
    out: list[str] = []
    last = 0
    raw = str(text)
    for m in _HYPHENATED.finditer(raw):
        out.append(str(markupsafe.escape(raw[last:m.start()])))
        word = str(markupsafe.escape(m.group(0)))
        out.append(f'<span class="nobr">{word}</span>' if len(m.group(0)) <= NOWRAP_CHARS else word)
        last = m.end()
    out.append(str(markupsafe.escape(raw[last:])))
    return markupsafe.Markup("".join(out))


def _breakable(text: object) -> markupsafe.Markup:
    """Escaped text that may wrap after / : and @ (a long target name or path), never inside
    a word."""
    parts = re.split(r"(?<=[/:@])", str(text))
    return markupsafe.Markup("<wbr>".join(str(_keep_words(p)) for p in parts))


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept in the user cache folder (private, 0700): compiling the report
    template costs more than rendering it. Jinja2 checks each entry against the template's
    source and the Python version; no cache when the folder cannot be made."""
    import platformdirs

    folder = platformdirs.user_cache_path("smbaudit", appauthor=False) / "templates"
    try:
        fsutil.make_dirs(folder)
    except (OSError, fsutil.OutputRefused):
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resources.reports_dir())),
        bytecode_cache=_bytecode_cache(),
        autoescape=True,  # every value is escaped; templates never mark input as safe
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["shown"] = _shown
    env.filters["score"] = score_text
    env.filters["points"] = points_label
    env.filters["plural"] = plural
    env.filters["one_line"] = _one_line
    env.filters["shown_short"] = _shown_short
    env.filters["keep_words"] = _keep_words
    env.filters["breakable"] = _breakable
    return env


def render_html(report: Report) -> bytes:
    env = environment()
    template = env.get_template(TEMPLATE)
    has_compliance = (resources.reports_dir() / "_compliance.html.j2").is_file()
    html = template.render(
        report=report,
        summary=report.shown_summary,
        scale=report.shown_summary.score.scale,
        target_scores={t.target: t for t in report.shown_summary.score.per_target},
        trend_view=views.trend(report.history),
        findings=report.findings_sorted(),
        severities=[s.value for s in reversed(Severity)],
        statuses=[s.value for s in Status],
        categories=sorted({f.category for f in report.findings} | set()) or list(CATEGORIES),
        compliance=report.compliance,
        has_compliance=has_compliance and bool(report.compliance),
        history=report.history,
        waivers=report.waivers,
        waiver_view=views.waivers(report),
        tops=views.top_by_target(report),
        fleet=fleet_view.build(report) if fleet_view.is_fleet(report.targets) else None,
    )
    return html.encode("utf-8")


@dataclass
class Area:
    name: str
    failing: list[Finding] = field(default_factory=list)
    passed: int = 0
    not_applicable: int = 0
    errors: int = 0


def _areas(report: Report) -> list[Area]:
    by_name: dict[str, Area] = {}
    for f in report.findings_sorted():
        area = by_name.setdefault(f.category, Area(f.category.replace("_", " ").capitalize()))
        if f.status is Status.FAIL:
            area.failing.append(f)
        elif f.status is Status.PASS:
            area.passed += 1
        elif f.status is Status.NOT_APPLICABLE:
            area.not_applicable += 1
        else:
            area.errors += 1
    order = {c: i for i, c in enumerate(CATEGORIES)}
    return [by_name[k] for k in sorted(by_name, key=lambda k: (order.get(k, len(order)), k))]


def render_print_html(report: Report) -> bytes:
    """The printable report (the PDF's source): summary, one table of problems, details by
    area; no scripts."""
    areas = _areas(report)
    score = report.shown_summary.score.score
    html = environment().get_template(PRINT_TEMPLATE).render(
        report=report,
        summary=report.shown_summary,
        scale=report.shown_summary.score.scale,
        score_text="-" if score is None else score_text(score),
        counted=report.counted_failures(),
        waiver_view=views.waivers(report),
        areas=[a for a in areas if a.failing],
        quiet_areas=[a for a in areas if not a.failing],
        errors=[f for f in report.findings_sorted() if f.status is Status.ERROR],
    )
    return html.encode("utf-8")


def render_compliance_html(results: list[FrameworkCoverage]) -> str:
    """The stand-alone compliance coverage report (`smbaudit policies coverage -f html`)."""
    template = environment().get_template("compliance.html.j2")
    return template.render(compliance=[FrameworkSection.from_dict(r.to_dict()) for r in results],
                           version=__version__,
                           generated=datetime.date.today().isoformat())
