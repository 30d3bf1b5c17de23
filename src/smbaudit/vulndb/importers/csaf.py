"""Red Hat CSAF advisories and VEX documents (security.access.redhat.com/data/csaf/v2/).

Products are resolved through the product tree: a product_name branch carries the CPE
("cpe:/o:redhat:enterprise_linux:9::baseos", "cpe:/a:redhat:rhel_eus:9.4::appstream") that
names the release and channel ("eus:9.4": EUS fixes are per minor release); a relationship joins a component ("openssl-1:3.0.7-27.el9.src",
or a bare name in VEX documents) to that product. `product_status` says fixed /
known_affected / known_not_affected / under_investigation per product id; remediations tell a
vendor fix from "no_fix_planned" and "none_available".
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from smbaudit.vulndb.errors import ImportFailure
from smbaudit.vulndb.model import NameKind, Parsed, Record, VulnStatus, normalise_severity

_CPE = re.compile(r"^cpe:/[aoh]:redhat:(?P<product>enterprise_linux|rhel_eus|rhel_e4s|rhel_aus|rhel_tus|rhel_els)"
                  r":(?P<version>\d+)(?P<minor>\.\d+)?")
_NEVRA = re.compile(r"^(?P<name>.+)-(?:(?P<epoch>\d+):)?(?P<version>[^-:]+)-(?P<release>[^-]+?)"
                    r"(?:\.(?P<arch>src|noarch|x86_64|aarch64|ppc64le|s390x|i686))?$")
_ADVISORY = re.compile(r"RH[SBE]A-\d{4}:\d+")
_STREAM = re.compile(r"\.(EUS|E4S|AUS|TUS)\b")
PRODUCT_CHANNEL = {"enterprise_linux": "", "rhel_eus": "eus", "rhel_e4s": "e4s", "rhel_aus": "aus",
            "rhel_tus": "tus", "rhel_els": "els"}


def looks_like(data: Any) -> bool:
    return (isinstance(data, dict) and isinstance(data.get("document"), dict)
            and "csaf_version" in data["document"])


def _walk(branches: Any) -> Iterator[Mapping[str, Any]]:
    for branch in branches or []:
        if isinstance(branch, Mapping):
            if isinstance(branch.get("product"), Mapping):
                yield branch["product"]
            yield from _walk(branch.get("branches"))


def _releases(tree: Mapping[str, Any]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """product id -> (major, channels) for the RHEL products of the tree. A "9.4.0.Z.MAIN.EUS"
    product is the main stream of a minor release that EUS then carries on: its fixes are
    the main archive's and that EUS stream's."""
    found: dict[str, tuple[str, tuple[str, ...]]] = {}
    for product in _walk(tree.get("branches")):
        helper = product.get("product_identification_helper") or {}
        m = _CPE.match(str(helper.get("cpe", "")))
        if m:
            pid = str(product.get("product_id", ""))
            channel = stream_channel(PRODUCT_CHANNEL[m.group("product")], m.group("version"),
                                     m.group("minor") or "", pid)
            both = channel and ".MAIN." in pid.upper()
            found[pid] = (m.group("version"), ("", channel) if both else (channel,))
    return found


def stream_channel(kind: str, major: str, minor: str, product_id: str = "") -> str:
    """The store channel of a Red Hat stream: "" (main), "eus:9.4", "e4s:8.6"..."""
    stream = _STREAM.search(product_id)
    if not kind and stream:
        kind = stream.group(1).lower()
        m = re.search(rf"\b{re.escape(major)}(\.\d+)", product_id)
        minor = m.group(1) if m else minor
    if not kind:
        return ""
    return f"{kind}:{major}{minor}" if minor else kind


def _components(tree: Mapping[str, Any], releases: Mapping[str, tuple[str, tuple[str, ...]]]
                ) -> dict[str, tuple[str, tuple[str, ...], str, NameKind]]:
    """full product id -> (major, channels, component reference, name kind)."""
    found: dict[str, tuple[str, tuple[str, ...], str, NameKind]] = {}
    for rel in tree.get("relationships") or []:
        where = releases.get(str(rel.get("relates_to_product_reference", "")))
        full = (rel.get("full_product_name") or {}).get("product_id")
        if where and full:
            ref = str(rel.get("product_reference", ""))
            kind = NameKind.SOURCE if ref.endswith(".src") else NameKind.BINARY
            found[str(full)] = (where[0], where[1], ref, kind)
    return found


def _split(ref: str) -> tuple[str, str]:
    """'openssl-1:3.0.7-27.el9.src' -> ('openssl', '1:3.0.7-27.el9'); a bare name -> (name, '')."""
    m = _NEVRA.match(ref)
    if not m or not any(ch.isdigit() for ch in m.group("version")):
        return ref, ""
    epoch = m.group("epoch")
    evr = f"{m.group('version')}-{m.group('release')}"
    return m.group("name"), f"{epoch}:{evr}" if epoch and epoch != "0" else evr


def parse(data: Any, path: str) -> Parsed:
    if not looks_like(data):
        raise ImportFailure(f"{path}: not a CSAF document")
    doc = data["document"]
    tracking = doc.get("tracking") or {}
    doc_id = str(tracking.get("id", ""))
    published = str(tracking.get("current_release_date") or tracking.get("initial_release_date") or "")[:10]
    doc_severity = str((doc.get("aggregate_severity") or {}).get("text", ""))
    tree = data.get("product_tree") or {}
    components = _components(tree, _releases(tree))
    parsed = Parsed(format="redhat-csaf")
    seen: set[tuple[str, ...]] = set()
    for i, vuln in enumerate(data.get("vulnerabilities") or []):
        vuln_id = str(vuln.get("cve") or (vuln.get("ids") or [{}])[0].get("text") or doc_id)
        if not vuln_id:
            raise ImportFailure(f"{path}: [vulnerabilities[{i}]] has no cve or id")
        word = next((str(t.get("details", "")) for t in vuln.get("threats") or []
                     if t.get("category") == "impact"), doc_severity)
        vectors, best = [], None
        for score in vuln.get("scores") or []:
            for key in ("cvss_v3", "cvss_v2"):
                cv = score.get(key)
                if isinstance(cv, Mapping) and cv.get("vectorString"):
                    vectors.append(str(cv["vectorString"]))
                    if key == "cvss_v3" and isinstance(cv.get("baseScore"), (int, float)):
                        best = max(best or 0.0, float(cv["baseScore"]))
        remedies: dict[str, str] = {}
        advisories = {doc_id} if _ADVISORY.fullmatch(doc_id) else set()
        for rem in vuln.get("remediations") or []:
            for pid in rem.get("product_ids") or []:
                remedies[str(pid)] = str(rem.get("category", ""))
            m = _ADVISORY.search(str(rem.get("url", "")))
            if m and rem.get("category") == "vendor_fix":
                advisories.add(m.group(0))
        statuses = vuln.get("product_status") or {}
        for key, base in (("fixed", VulnStatus.FIXED), ("known_affected", VulnStatus.AFFECTED),
                          ("known_not_affected", VulnStatus.NOT_AFFECTED),
                          ("under_investigation", VulnStatus.UNDETERMINED)):
            for pid in statuses.get(key) or []:
                comp = components.get(str(pid))
                if comp is None:
                    continue
                major, channels, ref, kind = comp
                name, evr = _split(ref)
                status = base
                if base is VulnStatus.AFFECTED:
                    status = {"no_fix_planned": VulnStatus.WONT_FIX,
                              "none_available": VulnStatus.AFFECTED}.get(remedies.get(str(pid), ""),
                                                                         VulnStatus.AFFECTED)
                fixed = evr if status is VulnStatus.FIXED else ""
                if status is VulnStatus.FIXED and not fixed:
                    continue
                for channel in channels:
                    dedupe = (vuln_id, major, channel, name, kind.value, status.value, fixed)
                    if dedupe in seen:
                        continue
                    seen.add(dedupe)
                    parsed.records.append(Record(
                        distro="rhel", release=major, channel=channel, package=name,
                        name_kind=kind, vuln_id=vuln_id, status=status, fixed=fixed, scheme="rpm",
                        severity=normalise_severity(word), vendor_severity=word, cvss_score=best,
                        cvss=tuple(vectors), advisories=tuple(sorted(advisories)),
                        published=str(vuln.get("release_date") or published)[:10]))
    return parsed
