"""Alpine's secdb (secdb.alpinelinux.org/<version>/<repo>.json, or the same as YAML):

    {"distroversion": "v3.15", "reponame": "main",
     "packages": [{"pkg": {"name": "zlib", "secfixes": {"1.2.12-r2": ["CVE-2022-37434"]}}}]}

Names are origin (source) packages; a fixed version of "0" means not affected.
"""

from __future__ import annotations

from typing import Any

from smbaudit.vulndb.errors import ImportFailure
from smbaudit.vulndb.model import NameKind, Parsed, Record, VulnStatus


def looks_like(data: Any) -> bool:
    return isinstance(data, dict) and "distroversion" in data and "packages" in data


def parse(data: Any, path: str) -> Parsed:
    if not looks_like(data):
        raise ImportFailure(f"{path}: not an Alpine secdb document")
    release = str(data["distroversion"]).lstrip("v")
    parsed = Parsed(format="alpine-secdb")
    for i, item in enumerate(data.get("packages") or []):
        pkg = item.get("pkg") if isinstance(item, dict) else None
        if not isinstance(pkg, dict) or not pkg.get("name"):
            raise ImportFailure(f"{path}: [packages[{i}].pkg.name] missing")
        secfixes = pkg.get("secfixes") or {}
        if not isinstance(secfixes, dict):
            raise ImportFailure(f"{path}: [packages[{i}].pkg.secfixes] expected a mapping")
        for version, ids in secfixes.items():
            version = str(version)
            status = VulnStatus.NOT_AFFECTED if version == "0" else VulnStatus.FIXED
            for entry in ids or []:
                for vuln in str(entry).split():
                    if not vuln.startswith(("CVE-", "GHSA-", "XSA-", "ALPINE-")):
                        continue
                    parsed.records.append(Record(
                        distro="alpine", release=release, package=str(pkg["name"]),
                        name_kind=NameKind.SOURCE, vuln_id=vuln, status=status,
                        fixed="" if version == "0" else version, scheme="apk"))
    return parsed
