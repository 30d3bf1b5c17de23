"""CSV: one row per finding, quoted by the csv module (RFC 4180, CRLF line ends).

The file starts with a UTF-8 byte order mark so spreadsheet programs pick the right encoding.
A cell that starts with = + - @ (or a tab/CR) gets a leading apostrophe, so a value read from
a scanned host can never run as a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
import json

from smbaudit.models import Finding
from smbaudit.redact import redact
from smbaudit.report import Report
from smbaudit.textsafe import visible_lines

COLUMNS = ("scan_id", "target", "check_id", "problem", "title", "severity", "status", "category", "location",
           "risk", "network_exposed", "reason", "evidence", "remediation", "compliance",
           "references", "waiver_justification", "waiver_approved_by", "waiver_expires",
           "waiver_expired")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = visible_lines("" if value is None else str(value))  # control characters as escapes
    return "'" + text if text.startswith(_FORMULA_START) else text


def _evidence(f: Finding) -> str:
    parts = []
    for e in f.evidence:
        observed = e.observed if isinstance(e.observed, str) else json.dumps(e.observed, default=str)
        parts.append(f"{'ok' if e.ok else 'NOT OK'}: {e.fact} observed {redact(observed)}, "
                     f"expected {e.expected}" + (f" ({e.message})" if e.message else ""))
    return "\n".join(parts)


def row(report: Report, f: Finding) -> list[str]:
    w = f.waiver
    values: list[object] = [
        report.scan_id, f.target, f.check_id, f.problem, f.title, f.severity.value, f.status.value,
        f.category, f.location or "", f.risk, "yes" if f.network_exposed else "no", f.reason,
        _evidence(f), f.remediation,
        "; ".join(f"{k}: {', '.join(v)}" for k, v in f.compliance.items()),
        "; ".join(f.references),
        w.justification if w else "", w.approved_by if w else "", w.expires if w else "",
        ("yes" if w.expired else "no") if w else "",
    ]
    return [_cell(v) for v in values]


def render_csv(report: Report) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for f in report.findings_sorted():
        writer.writerow(row(report, f))
    for t in report.unreachable:  # a target not read is a row too, never an empty file
        values = {"scan_id": report.scan_id, "target": t.name, "check_id": "target.reachable",
                  "problem": f"{t.name} could not be read", "title": "The target was reached",
                  "status": "error", "reason": f"not assessed: {t.error}"}
        writer.writerow([_cell(values.get(c, "")) for c in COLUMNS])
    return buf.getvalue().encode("utf-8-sig")
