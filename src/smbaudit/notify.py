"""Notifications when a scan crosses its threshold: a JSON POST to a webhook, an e-mail.

Both have a timeout, never follow a redirect, and never change the scan's exit code: a failed
notification is reported on stderr (and in the log file) as something that went wrong.
"""

from __future__ import annotations

import json
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from typing import Any

from smbaudit import __version__
from smbaudit.models import Finding
from smbaudit.profile import SmtpSettings
from smbaudit.report import Report
from smbaudit.scoring import score_text

WEBHOOK_TIMEOUT_S = 15.0
MAX_LISTED = 25


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def payload(report: Report, reason: str, crossing: list[Finding],
            reports: list[str]) -> dict[str, Any]:
    """What is sent: enough to act on without opening the report."""
    s = report.summary
    diff = report.history.diff if report.history else None
    return {
        "event": "smbaudit.threshold_crossed",
        "reason": reason,
        "scan_id": report.scan_id,
        "started_at": report.started_at.isoformat(),
        "targets": [t.name for t in report.targets],
        "score": s.score.score,
        "grade": s.score.grade,
        "previous_score": diff.old_scan.score if diff else None,
        "counts": s.counts,
        "new": len(diff.new) if diff else 0,
        "regressed": len(diff.regressed) if diff else 0,
        "findings": [{"check_id": f.check_id, "title": f.title, "problem": f.headline,
                      "target": f.target, "severity": f.severity.value, "location": f.location}
                     for f in crossing[:MAX_LISTED]],
        "findings_total": len(crossing),
        "reports": reports,
        "tool": {"name": "smbaudit", "version": __version__},
    }


def send_webhook(url: str, data: dict[str, Any], timeout: float = WEBHOOK_TIMEOUT_S) -> int:
    """POST the payload as JSON; returns the HTTP status. Raises OSError on failure."""
    if not url.startswith(("http://", "https://")):
        raise OSError(f"webhook URL must be http(s): {url!r}")
    body = json.dumps(data).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": f"smbaudit/{__version__}"})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        raise OSError(f"webhook answered HTTP {exc.code}") from None
    except (urllib.error.URLError, socket.timeout) as exc:
        raise OSError(f"webhook unreachable: {getattr(exc, 'reason', exc)}") from None
    if not 200 <= status < 300:
        raise OSError(f"webhook answered HTTP {status}")
    return status


def email_text(data: dict[str, Any]) -> tuple[str, str]:
    """Subject and plain-text body."""
    targets = ", ".join(data["targets"])
    subject = (f"[smbaudit] {targets}: score {score_text(data['score'])} ({data['grade']}) - "
               f"{data['reason']}")
    lines = [f"smbaudit scan {data['scan_id'][:12]} of {targets} ({data['started_at']}) crossed "
             f"its threshold: {data['reason']}.", "",
             f"Risk score: {score_text(data['score'])} risk points, grade {data['grade']}"
             + (f" (previous scan: {score_text(data['previous_score'])})"
                if data["previous_score"] is not None else ""),
             f"Failing checks: {data['counts'].get('fail', 0)}; new since the last scan: "
             f"{data['new']}, regressed: {data['regressed']}.", ""]
    for f in data["findings"]:
        lines.append(f"- [{f['severity']}] {f['title']} ({f['target']}, {f['check_id']})")
    if data["findings_total"] > len(data["findings"]):
        lines.append(f"... and {data['findings_total'] - len(data['findings'])} more")
    if data["reports"]:
        lines += ["", "Reports: " + ", ".join(data["reports"])]
    return subject, "\n".join(lines) + "\n"


def send_email(to: list[str], data: dict[str, Any], smtp: SmtpSettings) -> None:
    """Send through the configured SMTP server. Raises OSError (smtplib errors included)."""
    subject, body = email_text(data)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(to)
    msg.set_content(body)
    context = ssl.create_default_context()
    try:
        if smtp.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout,
                                                    context=context)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        with client:
            if smtp.security == "starttls":
                client.starttls(context=context)
            if smtp.username:
                password = smtp.password()
                if password is None:
                    raise OSError(f"SMTP password variable {smtp.password_env or '(unset)'} "
                                  "is not set")
                client.login(smtp.username, password)
            client.send_message(msg)
    except smtplib.SMTPException as exc:
        raise OSError(f"SMTP: {exc}") from None
