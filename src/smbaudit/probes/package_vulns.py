"""Installed packages against the local vulnerability store (smbaudit.vulndb).

Scan-wide options (ctx.options): `vulndb` (the store's path; default in the user data folder)
and `include_unfixed` (list vulnerabilities with no fix yet, not only count them). With no
store the probe raises DataMissing: its checks are "not assessed", the rest of the scan runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from smbaudit.errors import DataMissing, NotReadable, ProbeError
from smbaudit.models import TargetKind
from smbaudit.probes import factschema as fs
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.probes.os_release import read_os_release
from smbaudit.probes.packages import Package, installed_packages, version_scheme
from smbaudit.probes.pending_updates import apt_foreign
from smbaudit.targets.base import HostTarget, Target
from smbaudit.vulndb import channels
from smbaudit.vulndb.channels import describe
from smbaudit.vulndb.errors import VulnDBError
from smbaudit.vulndb.match import Hit, Installed, NotCovered, PackageResult, data_distro, match
from smbaudit.vulndb.releases import debian_codename, ubuntu_codename
from smbaudit.vulndb.status import HOW_TO_GET, StoreStatus, store_status
from smbaudit.vulndb.store import VulnStore, default_path

_RHEL_FAMILY = {"rhel", "centos", "rocky", "almalinux", "ol", "scientific", "eurolinux"}


def store_path(ctx: ProbeContext) -> Path:
    given = ctx.options.get("vulndb")
    return Path(given) if given else default_path()


def open_store(ctx: ProbeContext) -> tuple[VulnStore, StoreStatus]:
    """The store and its status; DataMissing when there is none or it holds no feed."""
    status = store_status(store_path(ctx))
    if not status.present or (not status.error and not status.sources):
        raise DataMissing(f"no vulnerability data: {HOW_TO_GET}")
    if status.error:
        raise ProbeError(status.error)
    try:
        return VulnStore(Path(status.path)), status
    except VulnDBError as exc:
        raise ProbeError(str(exc)) from None


def release_key(store: VulnStore, info: Mapping[str, str]) -> tuple[str, str, str]:
    """(os id, the store's release key, a readable name) from os-release fields."""
    os_id = info.get("id", "").lower()
    version = info.get("version_id", "")
    codename = info.get("version_codename", "")
    if os_id == "debian":
        key = codename or debian_codename(version)
        if not key:
            row = store.release("debian", version.split(".")[0])
            key = row["release"] if row else version
        return os_id, key, f"Debian {version or '?'} ({key})"
    if os_id == "ubuntu":
        if not codename:
            row = store.release("ubuntu", version)
            codename = row["release"] if row else ubuntu_codename(version)
        return os_id, codename, f"Ubuntu {version} ({codename})"
    if os_id in _RHEL_FAMILY:
        major = version.split(".")[0]
        return os_id, major, f"{info.get('name', os_id)} {major}"
    if os_id == "alpine":
        minor = ".".join(version.split(".")[:2])
        return os_id, minor, f"Alpine {minor}"
    return os_id, version, f"{info.get('name', os_id)} {version}".strip()


_SOURCE_FILE_LIMIT = 256 * 1024
_MAX_SOURCE_FILES = 200


def _texts(target: HostTarget, paths: list[str]) -> list[tuple[str, str]]:
    out = []
    for path in paths[:_MAX_SOURCE_FILES]:
        try:
            text = target.read_text_or_none(path, _SOURCE_FILE_LIMIT)
        except (OSError, NotReadable):
            continue  # unreadable or too big: judged as if absent (the main archive only)
        if text is not None:
            out.append((path, text))
    return out


def host_channels(target: HostTarget, distro: str, info: Mapping[str, str]) -> list[str]:
    """The update channels beyond the main archive this host receives (vulndb/channels.py)."""
    if distro == "ubuntu":
        paths = ["/etc/apt/sources.list"] + [
            p for p in target.glob("/etc/apt/sources.list.d/*") if p.endswith((".list", ".sources"))]
        return channels.ubuntu_channels(_texts(target, paths))
    if distro == "rhel":
        repos = [text for _, text in _texts(target, target.glob("/etc/yum.repos.d/*.repo"))]
        streams = channels.rhel_streams(repos)
        if not streams:
            return []
        releasever = next((text for _, text in _texts(
            target, ["/etc/dnf/vars/releasever", "/etc/yum/vars/releasever"])), "")
        return channels.rhel_channels(streams, info.get("version_id", ""), releasever)
    return []


_RPM_DISTRO_VENDORS = re.compile(r"Red Hat|CentOS|AlmaLinux|Rocky|Oracle|Scientific Linux|"
                                 r"EuroLinux|CloudLinux", re.IGNORECASE)


def rpm_foreign(packages: Sequence[Package]) -> dict[str, str]:
    """rpm packages (name -> vendor) whose Vendor tag names another vendor than the RHEL
    family's (Fedora Project for EPEL, Docker, Microsoft...); no Vendor tag: compared."""
    return {p.name: p.vendor for p in packages
            if p.vendor and p.name != "gpg-pubkey" and not _RPM_DISTRO_VENDORS.search(p.vendor)}


def _not_assessed(name: str, version: str, origin: str, release_name: str) -> dict[str, str]:
    return {"id": name, "name": name, "version": version, "origin": origin, "location": name,
            "problem": f"{name} {version} comes from {origin}, not {release_name}: not assessed "
                       "against the distribution's advisories"}


def _hit_facts(h: Hit) -> dict[str, Any]:
    return {"id": h.vuln_id, "status": h.status.value, "fixed": h.fixed,
            "advisories": list(h.advisories), "severity": h.severity,
            "severity_from": h.severity_from, "channel": h.channel}


def _evidence(p: PackageResult, hits: list[Hit]) -> list[dict[str, str]]:
    out = []
    for h in hits:
        if h.fixed:
            expected = f">= {h.fixed}"
            text = f"{h.vuln_id}: fixed in {h.fixed}"
            if h.advisories:
                text += f" ({', '.join(h.advisories)})"
            if h.channel and h in p.elsewhere:
                text += f"; fix available with {describe(h.channel)}"
            elif h.channel:
                text += f" [{describe(h.channel)}]"
        else:
            expected = "a fix (none published yet)"
            text = f"{h.vuln_id}: {h.status.value.replace('_', ' ')}, no fix yet"
        sev = f"severity {h.severity} from {h.severity_from}" if h.severity else "severity not rated"
        out.append({"fact": f"{p.source}: {h.vuln_id}", "observed": p.version,
                    "expected": expected, "message": f"{text}; {sev}"})
    return out


def item_facts(p: PackageResult, unfixed_only: bool = False) -> dict[str, Any]:
    hits = p.unfixed if unfixed_only else p.fixable
    if unfixed_only:
        rated = [h.severity for h in hits if h.severity]
        order = ("info", "low", "medium", "high", "critical")
        severity = max(rated, key=order.index) if rated else ""
        problem = f"{p.source} {p.version} ({', '.join(p.binaries)}): " \
                  f"{len(hits)} known vulnerabilit{'ies' if len(hits) != 1 else 'y'} with no fix yet"
    else:
        hits = p.fixable + p.elsewhere
        severity = p.severity
        problem = p.headline(unfixed_too=True)
    if p.note:
        problem += f" [{p.note}]"
    return {
        "id": p.source, "source": p.source, "version": p.version, "binaries": p.binaries,
        "count": len(hits), "fixed_in": "" if unfixed_only else p.fixed_in,
        "advisories": [] if unfixed_only else p.advisories,
        "severity": severity,
        "severity_from": p.severity_from if not unfixed_only else ("vendor or CVSS" if severity else "unrated"),
        "unfixed_count": len(p.unfixed), "note": p.note, "problem": problem,
        "elsewhere_count": 0 if unfixed_only else len(p.elsewhere),
        "elsewhere": "" if unfixed_only else p.elsewhere_channel,
        "location": p.source, "vulns": [_hit_facts(h) for h in hits],
        "evidence": _evidence(p, hits),
    }


_HIT_SCHEMA = fs.record(id=fs.STR, status=fs.STR, fixed=fs.STR, advisories=fs.list_of(fs.STR),
                        severity=fs.STR, severity_from=fs.STR, channel=fs.STR)
_ITEM_SCHEMA = fs.record(
    id=fs.STR, source=fs.STR, version=fs.STR, binaries=fs.list_of(fs.STR), count=fs.INT,
    fixed_in=fs.STR, advisories=fs.list_of(fs.STR), severity=fs.STR, severity_from=fs.STR,
    unfixed_count=fs.INT, note=fs.STR, problem=fs.STR, location=fs.STR,
    elsewhere_count=fs.INT, elsewhere=fs.STR,
    vulns=fs.list_of(_HIT_SCHEMA),
    evidence=fs.list_of(fs.record(fact=fs.STR, observed=fs.STR, expected=fs.STR, message=fs.STR)))


class PackageVulnsProbe(Probe):
    """Installed packages missing published security fixes, per source package.

    Facts: os, release (the store's key, e.g. "buster"), release_name, data_distro (whose
    data judged it), manager, assessed (packages compared), data_date, data_age_days, kernel
    ({package, version, judged: running | newest installed} or None), vulnerable (one item per
    source package with fixes missing: id, source, version, binaries, count, fixed_in,
    advisories, severity, severity_from, unfixed_count, note, problem, location, vulns,
    evidence, elsewhere_count and elsewhere: vulnerabilities fixed only in a channel the host
    does not receive, and that channel's name, e.g. "Ubuntu Pro"), vulnerable_count, cve_count
    (vulnerabilities with a published fix, those of elsewhere_count included), elsewhere_count
    (fixed only in a channel the host lacks),
    channels (the channels beyond the main archive it receives: "pro", "eus:9.4"),
    not_assessed (packages the distribution's data does not speak for, left out of the
    matching: on apt hosts those whose installed version apt's lists offer only from a
    repository of another origin than Debian/Ubuntu; on rpm hosts those whose Vendor tag
    names another vendor than the RHEL family's: {id, name, version, origin, problem,
    location}), not_assessed_count,
    unfixed_count, unfixed_listed (the scan asked for --include-unfixed), unfixed (items as
    above for packages whose issues have no fix yet; empty unless listed), eol ({eol, eol_lts,
    eol_elts} from the store, or None).
    """

    name = "package_vulns"
    description = "installed packages vs the distributions' advisories (local vulnerability store)"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}
    facts = fs.record(
        os=fs.STR, release=fs.STR, release_name=fs.STR, data_distro=fs.STR, manager=fs.STR,
        assessed=fs.INT, data_date=fs.STR, data_age_days=fs.nullable(fs.INT),
        kernel=fs.nullable(fs.record(package=fs.STR, version=fs.STR,
                                     judged=fs.enum("running", "newest installed"))),
        vulnerable=fs.list_of(_ITEM_SCHEMA), vulnerable_count=fs.INT, cve_count=fs.INT,
        elsewhere_count=fs.INT, channels=fs.list_of(fs.STR),
        not_assessed=fs.list_of(fs.record(id=fs.STR, name=fs.STR, version=fs.STR, origin=fs.STR,
                                          problem=fs.STR, location=fs.STR)),
        not_assessed_count=fs.INT,
        unfixed_count=fs.INT, unfixed_listed=fs.BOOL, unfixed=fs.list_of(_ITEM_SCHEMA),
        eol=fs.nullable(fs.record(eol=fs.STR, eol_lts=fs.STR, eol_elts=fs.STR)),
    )

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        if not isinstance(target, HostTarget):
            raise ProbeError(f"{target.name} has no file system")
        store, status = open_store(ctx)
        with store:
            info = read_os_release(target)
            os_id, release, release_name = release_key(store, info)
            try:
                distro = data_distro(store, os_id, release)
            except NotCovered as exc:
                raise ProbeError(f"not assessed: {exc}") from None
            manager, packages = installed_packages(target, ctx.io_timeout())
            scheme = version_scheme(manager)
            running = None
            if target.live:
                running = (target.read_text_or_none("/proc/sys/kernel/osrelease", 4096) or "").strip() or None
            ctx.check_deadline()
            foreign = (apt_foreign(target, packages, ctx) if manager == "dpkg"
                       else rpm_foreign(packages) if manager == "rpm" else {})
            not_assessed = [_not_assessed(p.name, p.version, foreign[p.name], release_name)
                            for p in packages if p.name in foreign]
            installed = [Installed(p.name, p.version, p.source, p.source_version or p.version, p.arch)
                         for p in packages if p.name not in foreign]
            own = host_channels(target, distro, info)
            result = match(store, distro, release, scheme, installed, running, own,
                           channels.offered(distro, own))
            eol = store.release(distro, release)
        include_unfixed = bool(ctx.options.get("include_unfixed"))
        vulnerable = [item_facts(p) for p in result.vulnerable]
        unfixed = [item_facts(p, unfixed_only=True) for p in result.packages
                   if p.unfixed and not p.fixable] if include_unfixed else []
        return {
            "os": os_id, "release": release, "release_name": release_name,
            "data_distro": distro, "manager": manager, "assessed": result.assessed,
            "data_date": status.data_date, "data_age_days": status.age_days,
            "kernel": ({"package": result.kernel.package, "version": result.kernel.version,
                        "judged": result.kernel.judged} if result.kernel else None),
            "vulnerable": vulnerable, "vulnerable_count": len(vulnerable),
            "cve_count": sum(v["count"] for v in vulnerable),
            "elsewhere_count": sum(v["elsewhere_count"] for v in vulnerable),
            "not_assessed": not_assessed, "not_assessed_count": len(not_assessed),
            "channels": list(result.channels),
            "unfixed_count": result.unfixed_count, "unfixed_listed": include_unfixed,
            "unfixed": unfixed,
            "eol": ({k: eol[k] for k in ("eol", "eol_lts", "eol_elts")} if eol else None),
        }


class VulnDataProbe(Probe):
    """The vulnerability store itself: whether it is there and how old its data is.

    Facts: path, data_date (the data's date: per source its download time, or for an
    imported file its newest record; the oldest of these), age_days, freshness (current, aging > 7 days, stale > 30
    days), sources (number of feeds), message (one line for a reader).
    """

    name = "vulndb_status"
    description = "age of the local vulnerability data"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}
    facts = fs.record(path=fs.STR, data_date=fs.STR, age_days=fs.nullable(fs.INT),
                      freshness=fs.enum("current", "aging", "stale", "missing"),
                      sources=fs.INT, message=fs.STR)

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        store, status = open_store(ctx)
        store.close()
        return {"path": status.path, "data_date": status.data_date, "age_days": status.age_days,
                "freshness": status.freshness, "sources": len(status.sources),
                "message": status.message()}
