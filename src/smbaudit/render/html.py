"""The HTML report: one self-contained file (inline CSS and JS, nothing loaded from anywhere)."""

from __future__ import annotations

import datetime
import json
from typing import Any

import jinja2

from smbaudit import __version__, resources
from smbaudit.compliance.model import FrameworkCoverage
from smbaudit.models import CATEGORIES, Severity, Status
from smbaudit.redact import redact
from smbaudit.report import Report
from smbaudit.scoring import score_text

TEMPLATE = "report.html.j2"


def _shown(value: Any) -> str:
    """Evidence values as text: strings as they are, everything else as compact JSON."""
    if isinstance(value, str):
        return redact(value)
    return redact(json.dumps(value, ensure_ascii=False, default=str))


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resources.reports_dir())),
        autoescape=True,  # every value is escaped; templates never mark input as safe
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["shown"] = _shown
    env.filters["score"] = score_text
    return env


def render_html(report: Report) -> bytes:
    env = environment()
    template = env.get_template(TEMPLATE)
    has_compliance = (resources.reports_dir() / "_compliance.html.j2").is_file()
    html = template.render(
        report=report,
        data=report.to_dict(),
        findings=report.findings_sorted(),
        severities=[s.value for s in reversed(Severity)],
        statuses=[s.value for s in Status],
        categories=sorted({f.category for f in report.findings} | set()) or list(CATEGORIES),
        compliance=report.compliance,
        has_compliance=has_compliance and bool(report.compliance),
        history=report.history,
        waivers=report.waivers,
    )
    return html.encode("utf-8")


def render_compliance_html(results: list[FrameworkCoverage]) -> str:
    """The stand-alone compliance coverage report (`smbaudit policies coverage -f html`)."""
    template = environment().get_template("compliance.html.j2")
    return template.render(compliance=[r.to_dict() for r in results], version=__version__,
                           generated=datetime.date.today().isoformat())
