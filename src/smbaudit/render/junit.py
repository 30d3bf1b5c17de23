"""JUnit XML for CI dashboards: one test suite per target, one test case per check and target.

pass -> a passing case; fail -> <failure> headed by the problem headline; error -> <error>;
skipped and not applicable -> <skipped> with the reason. A failure with a live waiver is an
accepted risk: <skipped> with the waiver's justification, approver and expiry, so CI stays
green for a risk someone signed off (as the scan's exit code does); once the waiver expires it
is a <failure> again. The waiver is also kept in the case's properties.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import defaultdict

from smbaudit.models import Finding, Status
from smbaudit.redact import redact
from smbaudit.report import Report

# Characters XML 1.0 cannot carry at all (evidence read from a target may contain them).
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _x(text: object) -> str:
    return _NOT_XML.sub("\ufffd", str(text))


def _details(f: Finding) -> str:
    lines = [f.headline] + ([f"check: {f.title}"] if f.headline != f.title else [])
    lines.append(f"target: {f.target}")
    if f.location:
        lines.append(f"location: {f.location}")
    for e in f.evidence:
        observed = e.observed if isinstance(e.observed, str) else json.dumps(e.observed, default=str)
        mark = "ok" if e.ok else "NOT OK"
        lines.append(f"[{mark}] {e.fact}: observed {redact(observed)}; expected {e.expected}"
                     + (f" ({e.message})" if e.message else ""))
    if f.reason:
        lines.append(f"reason: {f.reason}")
    if f.status is Status.FAIL and f.remediation:
        lines.append(f"how to fix: {f.remediation}")
    return "\n".join(lines)


def _accepted(f: Finding) -> bool:
    return f.status is Status.FAIL and f.waived


def _skipped(f: Finding) -> bool:
    return f.status in (Status.SKIPPED, Status.NOT_APPLICABLE) or _accepted(f)


def _case(suite: ET.Element, f: Finding) -> None:
    case = ET.SubElement(suite, "testcase", name=_x(f.check_id),
                         classname=_x(f"{f.category}.{f.check_id.split('.')[0]}"), time="0")
    if _accepted(f) and f.waiver is not None:
        w = f.waiver
        ET.SubElement(case, "skipped", message=_x(
            f"accepted risk until {w.expires}: {w.justification} (approved by {w.approved_by}); "
            f"{f.headline}")).text = _x(_details(f))
    elif f.status is Status.FAIL:
        message = f"[{f.severity.value}] {f.headline}"
        if f.waiver:
            state = "EXPIRED" if f.waiver.expired else "until"
            message += (f" (accepted risk, {state} {f.waiver.expires}: {f.waiver.justification};"
                        f" approved by {f.waiver.approved_by})")
        ET.SubElement(case, "failure", message=_x(message), type=f.severity.value).text = \
            _x(_details(f))
    elif f.status is Status.ERROR:
        ET.SubElement(case, "error", message=_x(f.reason or "error"), type="error").text = \
            _x(_details(f))
    elif f.status in (Status.SKIPPED, Status.NOT_APPLICABLE):
        ET.SubElement(case, "skipped", message=_x(f"{f.status.value}: {f.reason}".rstrip(": ")))
    props = ET.SubElement(case, "properties")
    for name, value in (("severity", f.severity.value), ("status", f.status.value),
                        ("target", f.target), ("location", f.location or ""),
                        ("risk", str(f.risk))):
        ET.SubElement(props, "property", name=name, value=_x(value))
    if f.waiver:
        for key, value in f.waiver.to_dict().items():
            ET.SubElement(props, "property", name=f"waiver.{key}", value=_x(value))


def render_junit(report: Report) -> bytes:
    by_target: dict[str, list[Finding]] = defaultdict(list)
    for f in sorted(report.findings, key=lambda f: (f.target, f.check_id)):
        by_target[f.target].append(f)
    unreached = len(report.unreachable)  # one error test case each, below
    root = ET.Element("testsuites", name="smbaudit", tests=str(len(report.findings) + unreached),
                      failures=str(sum(1 for f in report.findings
                                       if f.status is Status.FAIL and not _accepted(f))),
                      errors=str(sum(1 for f in report.findings if f.status is Status.ERROR)
                                 + unreached),
                      time=str(max(0.0, (report.finished_at - report.started_at).total_seconds())))
    for target, findings in by_target.items():
        suite = ET.SubElement(
            root, "testsuite", name=_x(target), tests=str(len(findings)),
            failures=str(sum(1 for f in findings if f.status is Status.FAIL and not _accepted(f))),
            errors=str(sum(1 for f in findings if f.status is Status.ERROR)),
            skipped=str(sum(1 for f in findings if _skipped(f))),
            timestamp=report.started_at.replace(tzinfo=None).isoformat(), time="0")
        for f in findings:
            _case(suite, f)
    for t in report.unreachable:
        suite = ET.SubElement(root, "testsuite", name=_x(t.name), tests="1", failures="0",
                              errors="1", skipped="0", time="0")
        case = ET.SubElement(suite, "testcase", name="target.reachable", classname="target")
        ET.SubElement(case, "error", message=_x(f"could not be read: {t.error}"), type="unreachable")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
