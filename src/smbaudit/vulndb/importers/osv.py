"""OSV records (ossf.github.io/osv-schema) of the Linux distributions: Debian, Ubuntu,
AlmaLinux, Rocky Linux and Alpine ecosystems. One record per file, a folder of them, or an
osv.dev per-ecosystem `all.zip` (read by the caller).

Ecosystems: "Debian:11", "Ubuntu:22.04:LTS", "Ubuntu:Pro:18.04:LTS", "AlmaLinux:9",
"Rocky Linux:9", "Alpine:v3.18", "Red Hat:enterprise_linux:9::baseos" and
"Red Hat:rhel_eus:9.4::appstream" (channel "eus:9.4"). Records of other ecosystems are skipped and counted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from smbaudit.vulndb.cvss import base_score
from smbaudit.vulndb.errors import ImportFailure
from smbaudit.vulndb.importers import csaf
from smbaudit.vulndb.model import (NameKind, Parsed, Record, VulnStatus, normalise_severity,
                                   severity_of_score)
from smbaudit.vulndb.releases import debian_codename, ubuntu_codename

_ADVISORY = re.compile(r"^(DSA|DLA|DTSA|USN|RHSA|RHBA|RHEA|ALSA|ALBA|ALEA|RLSA|RLBA|RXSA)-")
_SUMMARY_SEVERITY = re.compile(r"^(Low|Moderate|Important|Critical):")


def looks_like(data: Any) -> bool:
    return isinstance(data, dict) and "id" in data and ("affected" in data or "modified" in data)


def ecosystem_release(ecosystem: str, codenames: Mapping[str, Mapping[str, str]]
                      ) -> tuple[str, str, str, str, NameKind] | None:
    """(distro, release, channel, scheme, name kind) for an OSV ecosystem, None if not ours."""
    parts = ecosystem.split(":")
    name = parts[0]
    if name == "Debian" and len(parts) >= 2:
        codename = debian_codename(parts[1], dict(codenames.get("debian", {})))
        return ("debian", codename, "", "deb", NameKind.SOURCE) if codename else None
    if name == "Ubuntu" and len(parts) >= 2:
        channel = ""
        rest = parts[1:]
        if rest[0] == "Pro":
            channel, rest = "pro", rest[1:]
            if rest and rest[0] == "FIPS":
                return None
        if not rest:
            return None
        version = rest[0]
        codename = ubuntu_codename(version, dict(codenames.get("ubuntu", {})))
        return ("ubuntu", codename, channel, "deb", NameKind.SOURCE)
    if name == "Red Hat" and len(parts) >= 3:  # "Red Hat:rhel_eus:9.4::appstream"
        product, version = parts[1], parts[2]
        if product not in csaf.PRODUCT_CHANNEL or not version[:1].isdigit():
            return None
        major, _, minor = version.partition(".")
        channel = csaf.stream_channel(csaf.PRODUCT_CHANNEL[product], major,
                                      f".{minor}" if minor else "")
        return ("rhel", major, channel, "rpm", NameKind.BINARY)
    if name in ("AlmaLinux", "Rocky Linux") and len(parts) >= 2:
        distro = "almalinux" if name == "AlmaLinux" else "rocky"
        return (distro, parts[1].split(".")[0], "", "rpm", NameKind.BINARY)
    if name == "Alpine" and len(parts) >= 2:
        return ("alpine", parts[1].lstrip("v"), "", "apk", NameKind.SOURCE)
    return None


def _severity(record: Mapping[str, Any], affected: Mapping[str, Any]) -> tuple[str, str, float | None, tuple[str, ...]]:
    """(normalised vendor severity, vendor's word, best CVSS score, vectors)."""
    word = ""
    vectors: list[str] = []
    for sev in list(record.get("severity") or []) + list(affected.get("severity") or []):
        kind, score = str(sev.get("type", "")), str(sev.get("score", ""))
        if kind.startswith("CVSS"):
            vectors.append(score)
        elif score and not word:
            word = score  # "Ubuntu": "medium" and the like
    for holder in (affected.get("ecosystem_specific"), affected.get("database_specific"),
                   record.get("database_specific")):
        if isinstance(holder, Mapping) and not word and isinstance(holder.get("severity"), str):
            word = holder["severity"]
    if not word:
        m = _SUMMARY_SEVERITY.match(str(record.get("summary", "")))
        if m:
            word = m.group(1)
    scores = [s for s in (base_score(v) for v in vectors) if s is not None]
    return normalise_severity(word), word, max(scores) if scores else None, tuple(vectors)


def parse_record(record: Any, path: str, codenames: Mapping[str, Mapping[str, str]],
                 parsed: Parsed) -> int:
    """Add the records of one OSV document; returns how many affected entries were skipped."""
    if not looks_like(record):
        raise ImportFailure(f"{path}: not an OSV record (needs 'id' and 'affected')")
    rec_id = str(record["id"])
    aliases = [str(a) for a in list(record.get("aliases") or []) + list(record.get("related") or [])
               + list(record.get("upstream") or [])]
    if _ADVISORY.match(rec_id):
        advisories: tuple[str, ...] = (rec_id,)
        vulns = sorted({a for a in aliases if a.startswith("CVE-")}) or [rec_id]
    else:
        advisories = tuple(sorted({a for a in aliases if _ADVISORY.match(a)}))
        vulns = [rec_id[len("UBUNTU-"):] if rec_id.startswith("UBUNTU-CVE-") else rec_id]
    published = str(record.get("published") or record.get("modified") or "")[:10]
    skipped = 0
    for i, affected in enumerate(record.get("affected") or []):
        pkg = affected.get("package") if isinstance(affected, Mapping) else None
        if not isinstance(pkg, Mapping) or not pkg.get("name"):
            raise ImportFailure(f"{path}: [affected[{i}].package] missing name")
        where = ecosystem_release(str(pkg.get("ecosystem", "")), codenames)
        if where is None:
            skipped += 1
            continue
        distro, release, channel, scheme, kind = where
        name = str(pkg["name"])
        if name.endswith(".rpm"):  # a file name ("x-1.0-2.el9.src.rpm"): the purl names the package
            kind = NameKind.SOURCE if name.endswith(".src.rpm") else kind
            purl = str(pkg.get("purl") or "")
            name = purl.split("?")[0].rsplit("/", 1)[-1].split("@")[0] if purl.startswith("pkg:rpm/") \
                else name
            if name.endswith(".rpm"):
                skipped += 1
                continue
        severity, word, score, vectors = _severity(record, affected)
        if not severity and score is not None:
            pass  # the matcher derives severity from the score and says so
        introduced, fixed = "", ""
        for rng in affected.get("ranges") or []:
            if rng.get("type") not in ("ECOSYSTEM", None):
                continue
            for event in rng.get("events") or []:
                if "introduced" in event and str(event["introduced"]) != "0":
                    introduced = str(event["introduced"])
                if "fixed" in event:
                    fixed = str(event["fixed"])
        if fixed == "0":
            status = VulnStatus.NOT_AFFECTED
            fixed = ""
        else:
            status = VulnStatus.FIXED if fixed else VulnStatus.AFFECTED
        for vuln in vulns:
            parsed.records.append(Record(
                distro=distro, release=release, channel=channel, package=name,
                name_kind=kind, vuln_id=vuln, status=status, fixed=fixed, introduced=introduced,
                scheme=scheme, severity=severity, vendor_severity=word, cvss_score=score,
                cvss=vectors, advisories=advisories,
                aliases=tuple(a for a in [rec_id, *aliases] if a != vuln),
                published=published))
    return skipped
