"""SARIF 2.1.0 for code-scanning dashboards.

One rule per check, one result per failing finding. Offline tree scans (`dir:PATH`) carry a
physical location: the file the finding names, relative to the tree root (uriBaseId TREEROOT),
so a security-by-design review of a config repository shows up on the files themselves. Other
targets carry a logical location (the target, and where on it). A live waiver becomes an
accepted external suppression; errors become tool notifications, not results.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from smbaudit.models import Finding, Severity, Status, TargetInfo
from smbaudit.redact import redact
from smbaudit.report import Report

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
ROOT_BASE = "TREEROOT"
LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
         Severity.LOW: "note", Severity.INFO: "note"}
# GitHub code scanning reads `security-severity` (a CVSS-like number as text).
SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5",
                     Severity.LOW: "3.0", Severity.INFO: "0.0"}


def _rule(f: Finding) -> dict[str, Any]:
    help_text = f"{f.rationale}\n\nHow to fix: {f.remediation}".strip()
    if f.references:
        help_text += "\n\nReferences: " + ", ".join(f.references)
    props: dict[str, Any] = {"category": f.category, "tags": ["security", f.category],
                             "security-severity": SECURITY_SEVERITY[f.severity],
                             "severity": f.severity.value}
    if f.compliance:
        props["compliance"] = {k: list(v) for k, v in f.compliance.items()}
    return {
        "id": f.check_id,
        "name": "".join(p.capitalize() for p in f.check_id.replace("-", ".").split(".")),
        "shortDescription": {"text": f.title},
        "fullDescription": {"text": f.description or f.title},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": LEVEL[f.severity]},
        "properties": props,
    }


def _roots(targets: list[TargetInfo]) -> dict[str, tuple[str, str]]:
    """Offline tree targets -> (uriBaseId, root folder): TREEROOT, or TREEROOT1.. for several."""
    trees = [(t.name, str(t.details["root"])) for t in targets
             if t.name.startswith("dir:") and t.details.get("root")]
    if len(trees) == 1:
        return {trees[0][0]: (ROOT_BASE, trees[0][1])}
    return {name: (f"{ROOT_BASE}{i}", root) for i, (name, root) in enumerate(trees, 1)}


def _location(f: Finding, roots: dict[str, tuple[str, str]]) -> dict[str, Any]:
    where = f.location or ""
    if f.target in roots and where.startswith("/"):
        rel = PurePosixPath(where).relative_to("/").as_posix()
        base = roots[f.target][0]
        return {"physicalLocation": {"artifactLocation": {"uri": quote(rel), "uriBaseId": base}},
                "logicalLocations": [{"fullyQualifiedName": f"{f.target}:{where}",
                                      "kind": "resource"}]}
    name = f"{f.target}:{where}" if where and where != f.target else f.target
    return {"logicalLocations": [{"name": where or f.target, "fullyQualifiedName": name,
                                  "kind": "resource"}]}


def _message(f: Finding) -> str:
    bad = [e for e in f.evidence if not e.ok]
    text = f"{f.headline.rstrip('.')} on {f.target}. Check not met: {f.title}"
    if f.location and f.location != f.target:
        text += f" ({f.location})"
    for e in bad[:5]:
        observed = redact(e.observed if isinstance(e.observed, str)
                          else json.dumps(e.observed, default=str))
        text += f". {e.message or e.fact}: observed {observed}, expected {e.expected}"
    return text + "."


def _result(f: Finding, index: int, roots: dict[str, tuple[str, str]]) -> dict[str, Any]:
    fingerprint = hashlib.sha256(f"{f.check_id}\0{f.target}\0{f.location or ''}".encode()).hexdigest()
    result: dict[str, Any] = {
        "ruleId": f.check_id,
        "ruleIndex": index,
        "kind": "fail",
        "level": LEVEL[f.severity],
        "message": {"text": _message(f)},
        "locations": [_location(f, roots)],
        "partialFingerprints": {"smbauditFinding/v1": fingerprint},
        "properties": {"target": f.target, "severity": f.severity.value, "risk": f.risk,
                       "network_exposed": f.network_exposed},
    }
    if f.waiver is not None:
        result["properties"]["waiver"] = f.waiver.to_dict()
        if not f.waiver.expired:
            result["suppressions"] = [{
                "kind": "external", "status": "accepted",
                "justification": f"{f.waiver.justification} (approved by {f.waiver.approved_by}, "
                                 f"until {f.waiver.expires})"}]
    return result


def build_sarif(report: Report) -> dict[str, Any]:
    findings = report.findings_sorted()
    rules: dict[str, int] = {}
    rule_list: list[dict[str, Any]] = []
    for f in findings:
        if f.status in (Status.FAIL, Status.ERROR) and f.check_id not in rules:
            rules[f.check_id] = len(rule_list)
            rule_list.append(_rule(f))
    roots = _roots(report.targets)
    results = [_result(f, rules[f.check_id], roots) for f in findings if f.status is Status.FAIL]
    notifications = [{"level": "error", "message": {"text": f"{f.check_id} on {f.target}: "
                                                            f"{f.reason or 'error'}"},
                      "descriptor": {"id": f.check_id, "index": rules[f.check_id]}}
                     for f in findings if f.status is Status.ERROR]
    notifications += [{"level": "error", "message": {"text": f"target {t.name} could not be read: "
                                                             f"{t.error}"}}
                      for t in report.unreachable]
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "smbaudit", "version": report.tool_version,
                            "semanticVersion": report.tool_version, "rules": rule_list}},
        "automationDetails": {"id": f"smbaudit/{report.scan_id}"},
        "invocations": [{
            "executionSuccessful": report.complete and not notifications,
            "startTimeUtc": report.started_at.isoformat().replace("+00:00", "Z"),
            "endTimeUtc": report.finished_at.isoformat().replace("+00:00", "Z"),
            "toolExecutionNotifications": notifications,
        }],
        "results": results,
        "properties": {"score": report.summary.score.score, "grade": report.summary.score.grade,
                       "score_without_waivers": report.summary.score.score_without_waivers,
                       "complete": report.complete},
    }
    if roots:
        run["originalUriBaseIds"] = {
            base: {"uri": PurePosixPath(root).as_uri().rstrip("/") + "/",
                   "description": {"text": f"root of the offline tree {name}"}}
            for name, (base, root) in roots.items()}
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render_sarif(report: Report) -> bytes:
    return (json.dumps(build_sarif(report), indent=2, ensure_ascii=False) + "\n").encode()
