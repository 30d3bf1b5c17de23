"""The Debian Security Tracker JSON (security-tracker.debian.org/tracker/data/json).

    {source: {CVE: {"releases": {codename: {"status": "resolved" | "open" | "undetermined",
                                             "fixed_version": "1.2-3" | "0",
                                             "urgency": "low" | "medium**" | "unimportant" |
                                                        "not yet assigned" | "end-of-life",
                                             "nodsa": ..., "nodsa_reason": "postponed" | "ignored"}}}}}

A fixed version of "0" means the release never had the flaw.
"""

from __future__ import annotations

from typing import Any

from smbaudit.vulndb.errors import ImportFailure
from smbaudit.vulndb.model import NameKind, Parsed, Record, VulnStatus, normalise_severity


def looks_like(data: Any) -> bool:
    if not isinstance(data, dict) or not data:
        return False
    for cves in list(data.values())[:3]:
        if not isinstance(cves, dict):
            return False
        for entry in list(cves.values())[:3]:
            if not isinstance(entry, dict) or "releases" not in entry:
                return False
    return True


def _status(rel: dict[str, Any]) -> tuple[VulnStatus, str]:
    state = rel.get("status", "")
    fixed = str(rel.get("fixed_version") or "")
    if state == "resolved":
        if fixed == "0":
            return VulnStatus.NOT_AFFECTED, ""
        return VulnStatus.FIXED, fixed
    if state == "undetermined":
        return VulnStatus.UNDETERMINED, ""
    if rel.get("urgency") == "end-of-life":
        return VulnStatus.WONT_FIX, ""
    reason = str(rel.get("nodsa_reason") or "")
    if reason == "postponed":
        return VulnStatus.DEFERRED, ""
    if reason == "ignored" or rel.get("nodsa") is not None and reason:
        return VulnStatus.WONT_FIX, ""
    return VulnStatus.AFFECTED, ""


def parse(data: Any, path: str) -> Parsed:
    if not looks_like(data):
        raise ImportFailure(f"{path}: not a Debian Security Tracker JSON document")
    parsed = Parsed(format="debian-tracker-json")
    for source, cves in data.items():
        if not isinstance(cves, dict):
            raise ImportFailure(f"{path}: [{source}] expected an object of CVE entries")
        for vuln, entry in cves.items():
            releases = entry.get("releases") if isinstance(entry, dict) else None
            if releases == []:
                continue  # the tracker writes an empty list for packages no release ships
            if not isinstance(releases, dict):
                raise ImportFailure(f"{path}: [{source}.{vuln}] has no 'releases' object")
            for release, rel in releases.items():
                if not isinstance(rel, dict) or release in ("sid", "experimental"):
                    continue
                status, fixed = _status(rel)
                urgency = str(rel.get("urgency") or "")
                parsed.records.append(Record(
                    distro="debian", release=release, package=source,
                    name_kind=NameKind.SOURCE, vuln_id=vuln, status=status, fixed=fixed,
                    scheme="deb", severity=normalise_severity(urgency),
                    vendor_severity=urgency))
    return parsed
