"""SARIF 2.1.0 for code-scanning dashboards (GitHub code scanning and the like).

Code-scanning services refuse a result without a file location, place an alert by its
repository-relative URI and start line, and match alerts across runs by partialFingerprints.
So every result here has all three:

- Offline trees (`dir:PATH`): the file that decided the finding (and its line, when the probe
  knows it: the PermitRootLogin line, the sudoers rule), else the check's `fix_file` at line 1,
  as a path relative to the tree, under uriBaseId %SRCROOT%. `--sarif-base PATH` (profile:
  `sarif_base`) prefixes the paths when the tree is a folder of the repository; several trees
  are told apart by their folders under their common parent.
- Live hosts and network services have no file in the repository: their results get a stable
  relative URI `smbaudit-targets/<target>/<file or service>` under uriBaseId SMBAUDIT_TARGETS,
  and a logical location naming the target and where on it.
- The fingerprint is the check, that URI and what failed (the offending elements by name, or
  the facts that failed): the same problem keeps its alert across runs, a line moving does not
  re-open it, a different problem gets its own.

Rules carry descriptions, help (rationale and remediation, text and Markdown), a helpUri where
a reference is a link, tags (category, CIS items, regulation requirements) and a
security-severity number, so dashboards sort by severity. A live waiver becomes an accepted
external suppression; errors and unreadable targets are tool notifications, not results.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from smbaudit.models import Finding, Severity, Status, TargetInfo
from smbaudit.redact import redact
from smbaudit.render import views
from smbaudit.report import Report

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
TREE_BASE = "%SRCROOT%"
TARGETS_BASE = "SMBAUDIT_TARGETS"
TARGETS_FOLDER = "smbaudit-targets"
FINGERPRINT = "smbauditFinding/v2"
LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
         Severity.LOW: "note", Severity.INFO: "note"}
# Code scanning reads `security-severity` (a CVSS-like number as text): over 9.0 is critical,
# 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5",
                     Severity.LOW: "3.0", Severity.INFO: "0.0"}
_CIS_REF = re.compile(r"^CIS .*? Benchmark(?: v[\d.]+)? (\d+(?:\.\d+)+)\b")
_URL = re.compile(r"https?://\S+")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


# --------------------------------------------------------------------------- rules


def _tags(f: Finding) -> list[str]:
    tags = ["security", f.category]
    tags += sorted({f"cis/{m.group(1)}" for r in f.references if (m := _CIS_REF.match(r))})
    tags += [f"{framework}/{req}" for framework, ids in sorted(f.compliance.items()) for req in ids]
    return list(dict.fromkeys(tags))


def _rule(f: Finding) -> dict[str, Any]:
    urls = [m.group(0).rstrip(").,") for r in f.references if (m := _URL.search(r))]
    text = f"{f.rationale}\n\nHow to fix: {f.remediation}".strip()
    markdown = f"**Why it matters**\n\n{f.rationale}\n\n**How to fix**\n\n{f.remediation}"
    if f.references:
        text += "\n\nReferences: " + "; ".join(f.references)
        markdown += "\n\n**References**\n\n" + "\n".join(f"- {r}" for r in f.references)
    rule: dict[str, Any] = {
        "id": f.check_id,
        "name": "".join(p.capitalize() for p in re.split(r"[.\-_ ]+", f.check_id)),
        "shortDescription": {"text": f.title},
        "fullDescription": {"text": f.description or f.title},
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": LEVEL[f.severity]},
        "properties": {"tags": _tags(f), "security-severity": SECURITY_SEVERITY[f.severity],
                       "precision": "high", "severity": f.severity.value, "category": f.category},
    }
    if urls:
        rule["helpUri"] = urls[0]
    if f.compliance:
        rule["properties"]["compliance"] = {k: list(v) for k, v in f.compliance.items()}
    return rule


# --------------------------------------------------------------------------- locations


class Places:
    """Where each target's files go in the repository: tree roots and their URI prefixes."""

    def __init__(self, targets: list[TargetInfo], base: str = ""):
        self.base = PurePosixPath(base.strip("/")).as_posix() if base.strip("/") else ""
        trees = {t.name: str(t.details["root"]) for t in targets
                 if t.name.startswith("dir:") and t.details.get("root")}
        self.prefix: dict[str, str] = {}
        self.common = ""
        if len(trees) == 1:
            (name, root), = trees.items()
            self.prefix[name] = self.base
            self.common = root
        elif trees:
            self.common = os.path.commonpath(list(trees.values()))
            for name, root in trees.items():
                sub = PurePosixPath(os.path.relpath(root, self.common)).as_posix()
                self.prefix[name] = "/".join(p for p in (self.base, sub) if p and p != ".")

    def srcroot(self) -> dict[str, Any]:
        """The %SRCROOT% entry: the repository root as an absolute URI when it can be told
        (the tree folder minus --sarif-base), else a description only."""
        entry: dict[str, Any] = {"description": {"text": "the repository (or folder) holding "
                                                         "the scanned configuration trees"}}
        root = PurePosixPath(self.common)
        base = PurePosixPath(self.base) if self.base else None
        if base is None:
            entry["uri"] = root.as_uri().rstrip("/") + "/"
        elif root.parts[-len(base.parts):] == base.parts and len(root.parts) > len(base.parts):
            entry["uri"] = PurePosixPath(*root.parts[:-len(base.parts)]).as_uri().rstrip("/") + "/"
        return entry

    def locate(self, f: Finding) -> tuple[dict[str, Any], str]:
        """The SARIF location of a finding and the URI its fingerprint uses."""
        where = f.location if f.location and f.location.startswith("/") else None
        file, line = (where, f.line or 1) if where else (f.fix_file, 1)
        logical = {"name": f.location or f.target,
                   "fullyQualifiedName": f"{f.target}:{f.location}" if f.location and
                   f.location != f.target else f.target, "kind": "resource"}
        if f.target in self.prefix and file:
            rel = PurePosixPath(file).relative_to("/").as_posix()
            uri, base = "/".join(p for p in (self.prefix[f.target], rel) if p), TREE_BASE
        else:
            slug = _UNSAFE.sub("_", f.target.split("://", 1)[-1]).strip("_") or "target"
            rel = PurePosixPath(file).relative_to("/").as_posix() if file else ""
            uri, base = "/".join(p for p in (TARGETS_FOLDER, slug, rel) if p), TARGETS_BASE
        physical = {"artifactLocation": {"uri": quote(uri), "uriBaseId": base},
                    "region": {"startLine": line}}
        return {"physicalLocation": physical, "logicalLocations": [logical]}, uri


# --------------------------------------------------------------------------- results


def _message(f: Finding) -> str:
    bad = [e for e in f.evidence if not e.ok]
    text = f"{f.headline.rstrip('.')} on {f.target}. Check not met: {f.title}"
    if f.location and f.location != f.target:
        text += f" ({f.location}{f':{f.line}' if f.line else ''})"
    for e in bad[:5]:
        observed = redact(e.observed if isinstance(e.observed, str)
                          else json.dumps(e.observed, default=str))
        text += f". {e.message or e.fact}: observed {observed}, expected {e.expected}"
    return text + "."


def fingerprint(f: Finding, uri: str) -> str:
    what = "\n".join(sorted(f.offending)) or f.problem
    return hashlib.sha256(f"{f.check_id}\0{uri}\0{what}".encode()).hexdigest()


def _result(f: Finding, index: int, places: Places) -> dict[str, Any]:
    location, uri = places.locate(f)
    result: dict[str, Any] = {
        "ruleId": f.check_id,
        "ruleIndex": index,
        "kind": "fail",
        "level": LEVEL[f.severity],
        "message": {"text": _message(f)},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT: fingerprint(f, uri)},
        "properties": {"target": f.target, "severity": f.severity.value, "risk": f.risk,
                       "network_exposed": f.network_exposed, "problem": f.headline},
    }
    if f.waiver is not None:
        result["properties"]["waiver"] = f.waiver.to_dict()
        if f.waived:
            result["suppressions"] = [{
                "kind": "external", "status": "accepted",
                "justification": f"{f.waiver.justification} (approved by {f.waiver.approved_by}, "
                                 f"until {f.waiver.expires})"}]
    return result


def _waiver_counts(report: Report) -> dict[str, int]:
    view = views.waivers(report)
    return {"accepted": len(view.accepted), "expired": len(view.expired),
            "unmatched": len(view.unmatched)}


def build_sarif(report: Report, base: str = "") -> dict[str, Any]:
    findings = report.findings_sorted()
    rules: dict[str, int] = {}
    rule_list: list[dict[str, Any]] = []
    for f in findings:
        if f.status in (Status.FAIL, Status.ERROR) and f.check_id not in rules:
            rules[f.check_id] = len(rule_list)
            rule_list.append(_rule(f))
    places = Places(report.targets, base or report.sarif_base)
    results = [_result(f, rules[f.check_id], places) for f in findings if f.status is Status.FAIL]
    notifications = [{"level": "error", "message": {"text": f"{f.check_id} on {f.target}: "
                                                            f"{f.reason or 'error'}"},
                      "descriptor": {"id": f.check_id, "index": rules[f.check_id]}}
                     for f in findings if f.status is Status.ERROR]
    notifications += [{"level": "error", "message": {"text": f"target {t.name} could not be read: "
                                                             f"{t.error}"}}
                      for t in report.unreachable]
    bases: dict[str, Any] = {}
    if places.prefix:
        bases[TREE_BASE] = places.srcroot()
    if any(loc["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == TARGETS_BASE
           for loc in results):
        bases[TARGETS_BASE] = {"description": {"text": "hosts and network services scanned live: "
                                                       "these paths are not files of the repository"}}
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "smbaudit", "version": report.tool_version,
                            "semanticVersion": report.tool_version,
                            "rules": rule_list}},
        "automationDetails": {"id": f"smbaudit/{report.scan_id}"},
        "invocations": [{
            "executionSuccessful": report.complete and not notifications,
            "startTimeUtc": report.started_at.isoformat().replace("+00:00", "Z"),
            "endTimeUtc": report.finished_at.isoformat().replace("+00:00", "Z"),
            "toolExecutionNotifications": notifications,
        }],
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": {"score": report.shown_summary.score.score, "grade": report.shown_summary.score.grade,
                       "score_without_waivers": report.shown_summary.score.score_without_waivers,
                       "complete": report.complete, "waivers": _waiver_counts(report)},
    }
    if bases:
        run["originalUriBaseIds"] = bases
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render_sarif(report: Report) -> bytes:
    return (json.dumps(build_sarif(report), indent=2, ensure_ascii=False) + "\n").encode()
