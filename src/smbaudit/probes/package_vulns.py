"""Installed versions of high-risk packages compared with a curated table of known flaws.

The table (checks/data/vulnerable-packages.yaml) lists, per distribution release, the
versions in which each flaw was fixed. It is a curated subset, not a vulnerability feed.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from functools import cache
from typing import Any

from smbaudit import resources, yamlload
from smbaudit.errors import ProbeError
from smbaudit.models import TargetKind
from smbaudit.versions import compare
from smbaudit.probes import factschema as fs
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.probes.os_release import read_os_release
from smbaudit.probes.packages import Package, installed_packages, version_scheme
from smbaudit.targets.base import HostTarget, Target

FAMILIES = ("openssl", "openssh", "sudo", "polkit", "glibc", "xz", "bash", "kernel", "curl",
            "systemd", "samba", "exim", "nginx", "apache")
_RHEL_LIKE = {"rhel", "centos", "rocky", "almalinux", "ol", "scientific", "eurolinux"}
_MANAGER_KEY = {"dpkg": "deb", "rpm": "rpm"}


@cache
def vuln_table() -> list[dict[str, Any]]:
    data = yamlload.load_file(resources.data_file("vulnerable-packages.yaml"))
    return list(data["entries"])


def os_key(os_id: str, version_id: str) -> tuple[str, str]:
    """The table's (os, release) for an os-release ID and VERSION_ID."""
    os_id = os_id.lower()
    if os_id in _RHEL_LIKE:
        return "rhel", version_id.split(".")[0]
    if os_id in ("debian", "fedora"):
        return os_id, version_id.split(".")[0]
    return os_id, version_id


def _matching(packages: list[Package], patterns: list[str]) -> list[Package]:
    """Packages whose name matches a pattern: exact names by lookup, globs by scanning."""
    exact = {pat for pat in patterns if not any(ch in pat for ch in "*?[")}
    globs = [pat for pat in patterns if pat not in exact]
    return [p for p in packages
            if p.name in exact or (globs and any(fnmatch.fnmatchcase(p.name, pat) for pat in globs))]


def find_vulnerable(packages: list[Package], manager: str, os_name: str, release: str,
                    entries: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Package]]:
    """(vulnerable findings, packages looked at) for one host."""
    scheme = version_scheme(manager)
    key = _MANAGER_KEY[manager]
    vulnerable: list[dict[str, Any]] = []
    checked: dict[tuple[str, str], Package] = {}
    for entry in entries:
        candidates = _matching(packages, list(entry.get("packages", {}).get(key, [])))
        if entry.get("newest_only") and candidates:
            newest = candidates[0]
            for p in candidates[1:]:
                if compare(p.version, newest.version, scheme) > 0:
                    newest = p
            candidates = [newest]
        for pkg in candidates:
            checked[(pkg.name, pkg.arch)] = pkg
        rows = [r for r in entry.get("affected", [])
                if r["os"] == os_name and str(r["release"]) in (release, "*")]
        for row in rows:
            fixed = str(row["fixed"])
            introduced = row.get("introduced")
            for pkg in candidates:
                if compare(pkg.version, fixed, scheme) >= 0:
                    continue
                if introduced and compare(pkg.version, str(introduced), scheme) < 0:
                    continue
                vulnerable.append({
                    "package": pkg.name, "installed": pkg.version, "fixed": fixed,
                    "cves": list(entry.get("cves", [])), "severity": entry["severity"],
                    "family": entry["family"], "table_entry": entry["id"],
                    "title": entry.get("title", ""), "advisory": row.get("advisory", ""),
                })
    return vulnerable, sorted(checked.values(), key=lambda p: (p.name, p.arch))


_VULNERABLE = fs.record(package=fs.STR, installed=fs.STR, fixed=fs.nullable(fs.STR),
                        cves=fs.list_of(fs.STR), severity=fs.STR, family=fs.STR,
                        table_entry=fs.STR, title=fs.STR, advisory=fs.STR)


class PackageVulnsProbe(Probe):
    """High-risk installed packages at versions the curated table knows to be vulnerable.

    Facts: release ("debian 12"), os, release_covered (the table has rows for this exact
    release), manager, vulnerable (list of {package, installed, fixed, cves, severity, family,
    table_entry, title, advisory}), by_family ({family: [vulnerable items]} for every family),
    installed_families (families with at least one package installed), checked (list of
    {name, version} of the packages looked at).
    """

    name = "package_vulns"
    description = "installed high-risk packages vs known-vulnerable versions"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "families": {"type": "array", "items": {"enum": list(FAMILIES)}, "uniqueItems": True},
        },
    }

    facts = fs.record(
        os=fs.STR, release=fs.STR, release_covered=fs.BOOL, manager=fs.STR,
        vulnerable=fs.list_of(_VULNERABLE),
        by_family=fs.record_of({}, optional={fam: fs.list_of(_VULNERABLE) for fam in FAMILIES}),
        installed_families=fs.list_of(fs.STR),
        checked=fs.list_of(fs.record(name=fs.STR, version=fs.STR)),
    )

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        if not isinstance(target, HostTarget):
            raise ProbeError(f"{target.name} has no file system")
        info = read_os_release(target)
        os_name, release = os_key(info.get("id", ""), info.get("version_id", ""))
        manager, packages = installed_packages(target, ctx.io_timeout())
        wanted = set(params.get("families", FAMILIES))
        entries = [e for e in vuln_table() if e["family"] in wanted]
        ctx.check_deadline()
        vulnerable, checked = find_vulnerable(packages, manager, os_name, release, entries)
        covered = any(r["os"] == os_name and str(r["release"]) == release
                      for e in vuln_table() for r in e.get("affected", []))
        installed_families = sorted({e["family"] for e in entries
                                     if _matching(packages, list(e["packages"].get(_MANAGER_KEY[manager], [])))})
        return {
            "os": os_name,
            "release": f"{os_name} {release}",
            "release_covered": covered,
            "manager": manager,
            "vulnerable": vulnerable,
            "by_family": {fam: [v for v in vulnerable if v["family"] == fam]
                          for fam in FAMILIES if fam in wanted},
            "installed_families": installed_families,
            "checked": [{"name": p.name, "version": p.version} for p in checked],
        }
