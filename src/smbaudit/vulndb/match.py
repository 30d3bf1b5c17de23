"""Installed packages against the store: which source packages miss published fixes.

Debian and Ubuntu are matched by source package and source version (the trackers key on
source packages); the RHEL family by binary package (and by source rpm where a feed names
source packages); Alpine by origin. A fix recorded for one release is never applied to
another: every lookup names the release. Kernels: only one kernel image is judged, the
running one on a live host, else the newest installed, and the result says which.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from smbaudit.versions import compare
from smbaudit.vulndb.channels import describe, replaces_main
from smbaudit.vulndb.model import SEVERITIES, Record, VulnStatus, severity_of_score
from smbaudit.vulndb.store import VulnStore

MAX_ADVISORIES_IN_HEADLINE = 5
_DEB_KERNEL_IMAGE = re.compile(r"^linux-image-(?P<abi>\d[^ ]*)$")
_RPM_KERNEL = ("kernel", "kernel-core", "kernel-modules", "kernel-modules-core",
               "kernel-uek", "kernel-uek-core", "kernel-rt", "kernel-rt-core")
_ARCH_SUFFIXES = {"amd64", "arm64", "i386", "armhf", "armel", "ppc64el", "s390x", "mips64el"}
_RHEL_CLONES = {"centos", "rocky", "almalinux", "ol", "scientific", "eurolinux"}


@dataclass(frozen=True)
class Installed:
    name: str
    version: str
    source: str
    source_version: str
    arch: str = ""


@dataclass(frozen=True)
class Hit:
    """One vulnerability of one installed source package."""

    vuln_id: str
    status: VulnStatus
    fixed: str
    advisories: tuple[str, ...]
    severity: str  # one of SEVERITIES, or "" when neither the vendor nor CVSS rates it
    severity_from: str  # "vendor (Debian urgency high**)", "CVSS 9.8", "unrated"
    aliases: tuple[str, ...] = ()
    channel: str = ""  # the channel whose fix this is ("" main archive, "pro", "eus:9.4")


@dataclass
class PackageResult:
    source: str
    version: str  # the installed version judged (Debian: the source version)
    binaries: list[str]
    fixable: list[Hit] = field(default_factory=list)
    unfixed: list[Hit] = field(default_factory=list)
    note: str = ""  # kernels: which one was judged
    scheme: str = "deb"
    # fixed only in a channel the host does not receive (Ubuntu Pro): "fix available with ..."
    elsewhere: list[Hit] = field(default_factory=list)

    def _newest_fix(self, hits: list[Hit]) -> str:
        best = ""
        for hit in hits:
            if not best or compare(hit.fixed, best, self.scheme) > 0:
                best = hit.fixed
        return best

    @property
    def elsewhere_fixed_in(self) -> str:
        return self._newest_fix(self.elsewhere)

    @property
    def elsewhere_channel(self) -> str:
        return describe(self.elsewhere[0].channel) if self.elsewhere else ""

    @property
    def fixed_in(self) -> str:
        """The version that fixes every fixable vulnerability."""
        return self._newest_fix(self.fixable)

    @property
    def advisories(self) -> list[str]:
        return sorted({a for h in self.fixable for a in h.advisories})

    @property
    def severity(self) -> str:
        rated = [h.severity for h in self.fixable + self.elsewhere if h.severity]
        return max(rated, key=SEVERITIES.index) if rated else ""

    @property
    def severity_from(self) -> str:
        sev = self.severity
        if not sev:
            return "unrated by the data"
        sources = {h.severity_from.split(" ")[0] for h in self.fixable + self.elsewhere
                   if h.severity == sev}
        return "vendor" if "vendor" in sources else "CVSS"

    def headline(self, unfixed_too: bool = False) -> str:
        """e.g. "openssl 1.1.1n-0+deb10u3 (libssl1.1, openssl): 11 CVEs fixed in
        1.1.1n-0+deb10u6 (DLA-3325-1, DLA-3449-1, DLA-3530-1)"."""
        what = f"{self.source} {self.version} ({', '.join(self.binaries)})"
        elsewhere = (f"{_count(self.elsewhere)} fixed in {self.elsewhere_fixed_in}: fix available "
                     f"with {self.elsewhere_channel}") if self.elsewhere else ""
        if not self.fixable:
            if elsewhere:
                return f"{what}: {elsewhere}"
            return f"{what}: {_count(self.unfixed)} with no fix yet"
        advisories = self.advisories
        shown = ", ".join(advisories[:MAX_ADVISORIES_IN_HEADLINE])
        if len(advisories) > MAX_ADVISORIES_IN_HEADLINE:
            shown += f" and {len(advisories) - MAX_ADVISORIES_IN_HEADLINE} more"
        text = f"{what}: {_count(self.fixable)} fixed in {self.fixed_in}"
        if shown:
            text += f" ({shown})"
        if elsewhere:
            text += f"; {elsewhere.replace(' CVE', ' more CVE', 1)}"
        if unfixed_too and self.unfixed:
            text += f"; {len(self.unfixed)} more with no fix yet"
        return text


def _count(hits: Sequence[Hit]) -> str:
    n = len(hits)
    noun = "CVE" if all(h.vuln_id.startswith("CVE-") for h in hits) else "vulnerabilit"
    if noun == "CVE":
        return f"{n} CVE{'s' if n != 1 else ''}"
    return f"{n} vulnerabilit{'ies' if n != 1 else 'y'}"


@dataclass
class KernelChoice:
    package: str
    version: str
    judged: str  # "running" or "newest installed"


@dataclass
class MatchResult:
    distro: str  # the data's distro (a RHEL clone may be judged with Red Hat's data)
    release: str
    packages: list[PackageResult]
    assessed: int  # installed packages compared with the data
    kernel: KernelChoice | None = None
    not_assessed: list[Installed] = field(default_factory=list)

    channels: tuple[str, ...] = ()  # the channels beyond the main archive the host receives

    @property
    def vulnerable(self) -> list[PackageResult]:
        return [p for p in self.packages if p.fixable or p.elsewhere]

    @property
    def unfixed_count(self) -> int:
        return sum(len(p.unfixed) for p in self.packages)


class NotCovered(Exception):
    """The store holds nothing for this release."""


def data_distro(store: VulnStore, os_id: str, release: str) -> str:
    """Which distro's data judges this host; raises NotCovered with the reason."""
    candidates = [os_id] + (["rhel"] if os_id in _RHEL_CLONES else [])
    for distro in candidates:
        if store.covers(distro, release):
            return distro
    held = sorted({f"{c.distro} {c.release}" for c in store.coverage()
                   if c.distro in candidates})
    also = f" (it holds {', '.join(held)})" if held else ""
    raise NotCovered(f"the vulnerability data does not cover {os_id} {release}{also}")


def _kernel_source(source: str) -> str:
    """linux-signed-amd64 -> linux (Debian), linux-signed-hwe-6.5 -> linux-hwe-6.5 (Ubuntu)."""
    if source.startswith("linux-signed"):
        rest = source[len("linux-signed"):]
        if rest.lstrip("-") in _ARCH_SUFFIXES:
            rest = ""
        return "linux" + rest
    return source


def choose_kernel(packages: Sequence[Installed], scheme: str, running: str | None
                  ) -> tuple[KernelChoice | None, set[tuple[str, str]]]:
    """(the kernel to judge, (name, version) of the other kernel packages to leave out)."""
    if scheme == "deb":
        images = [p for p in packages if _DEB_KERNEL_IMAGE.match(p.name)
                  and not p.name.endswith("-dbg") and not p.name.endswith("-unsigned")]
        tag = lambda p: _DEB_KERNEL_IMAGE.match(p.name).group("abi")  # type: ignore[union-attr]  # noqa: E731
    else:
        images = [p for p in packages if p.name in _RPM_KERNEL]
        tag = lambda p: f"{p.version.split(':')[-1]}.{p.arch}"  # noqa: E731
    if not images:
        return None, set()
    chosen = None
    if running:
        chosen = next((p for p in images if tag(p) == running or running.startswith(tag(p))), None)
    judged = "running"
    if chosen is None:
        judged = "newest installed"
        for p in images:
            if chosen is None or compare(p.version, chosen.version, scheme) > 0:
                chosen = p
    assert chosen is not None
    others = {(p.name, p.version) for p in images if tag(p) != tag(chosen)}
    if scheme == "deb":
        abi = tag(chosen)
        others |= {(p.name, p.version) for p in packages
                   if re.match(r"^linux-(headers|modules|modules-extra)-\d", p.name) and abi not in p.name}
    return KernelChoice(chosen.name, chosen.version, judged), others


@dataclass
class Merged:
    fixable: list[Hit] = field(default_factory=list)
    unfixed: list[Hit] = field(default_factory=list)
    elsewhere: list[Hit] = field(default_factory=list)  # fixed only in an offered channel


def _verdict(vuln: str, rows: list[Record], installed: str, scheme: str
             ) -> tuple[str, Hit | None]:
    """("fixable" | "unfixed" | "clean" | "none", hit) for one vulnerability from its rows."""
    if not rows:
        return "none", None
    fixed_rows = [r for r in rows if r.status is VulnStatus.FIXED and r.fixed]
    if fixed_rows:
        best = max(fixed_rows, key=_Version(scheme))
        if compare(installed, best.fixed, scheme) >= 0:
            return "clean", None
        if best.introduced and compare(installed, best.introduced, scheme) < 0:
            return "clean", None
        return "fixable", _hit(vuln, best, rows, VulnStatus.FIXED, best.fixed)
    if any(r.status is VulnStatus.NOT_AFFECTED for r in rows):
        return "clean", None
    open_rows = [r for r in rows if r.status.unfixed]
    if open_rows:
        return "unfixed", _hit(vuln, open_rows[0], rows, open_rows[0].status, "")
    return "none", None


def _merge(records: Iterable[Record], installed: str, scheme: str,
           channels: Sequence[str] = (), offered: Sequence[str] = ()) -> Merged:
    """Fixable, unfixed and fixed-elsewhere vulnerabilities of one installed version.

    Per vulnerability: the rows of a stream the host is pinned to (RHEL EUS/E4S/AUS) win over
    the main archive's, whose newer builds it cannot install; the rows of a channel that adds
    to the main archive (Ubuntu Pro) are judged with the main archive's; when these give no
    fix, a fix in an offered channel is reported as available there.
    """
    by_vuln: dict[str, list[Record]] = {}
    for r in records:
        by_vuln.setdefault(r.vuln_id, []).append(r)
    out = Merged()
    for vuln, rows in sorted(by_vuln.items()):
        pinned = [r for r in rows if r.channel in channels and replaces_main(r.channel)]
        used = pinned or [r for r in rows if r.channel == "" or r.channel in channels]
        kind, hit = _verdict(vuln, used, installed, scheme)
        if kind in ("unfixed", "none") and offered:
            other = [r for r in rows if r.channel in offered]
            okind, ohit = _verdict(vuln, other, installed, scheme)
            if okind == "fixable" and ohit is not None:
                out.elsewhere.append(ohit)
                continue
            if okind == "clean" and kind == "none":
                continue
        if kind == "fixable" and hit is not None:
            out.fixable.append(hit)
        elif kind == "unfixed" and hit is not None:
            out.unfixed.append(hit)
    return out


class _Version:
    def __init__(self, scheme: str):
        self.scheme = scheme

    def __call__(self, record: Record) -> _Key:
        return _Key(record.fixed, self.scheme)


class _Key:
    def __init__(self, version: str, scheme: str):
        self.version, self.scheme = version, scheme

    def __lt__(self, other: _Key) -> bool:
        return compare(self.version, other.version, self.scheme) < 0


def _hit(vuln: str, best: Record, rows: list[Record], status: VulnStatus, fixed: str) -> Hit:
    rated = [r for r in rows if r.severity]
    scores = [r.cvss_score for r in rows if r.cvss_score is not None]
    if rated:
        r = max(rated, key=lambda x: SEVERITIES.index(x.severity))
        severity, source = r.severity, f"vendor ({r.vendor_severity or r.severity})"
    elif scores:
        severity, source = severity_of_score(max(scores)), f"CVSS {max(scores)}"
    else:
        severity, source = "", "unrated"
    advisories = tuple(sorted({a for r in rows if r.status is status for a in r.advisories}))
    aliases = tuple(sorted({a for r in rows for a in r.aliases}))
    return Hit(vuln_id=vuln, status=status, fixed=fixed, advisories=advisories or best.advisories,
               severity=severity, severity_from=source, aliases=aliases, channel=best.channel)


def match(store: VulnStore, distro: str, release: str, scheme: str,
          installed: Sequence[Installed], running_kernel: str | None = None,
          channels: Sequence[str] = (), offered: Sequence[str] = ()) -> MatchResult:
    """Judge every installed package; Debian/Ubuntu/Alpine by source, RHEL family by binary.

    `channels`: the channels beyond the main archive the host receives ("pro", "eus:9.4");
    `offered`: those it does not, whose fixes are reported as available there (Ubuntu Pro).
    """
    kernel, skip = choose_kernel(installed, scheme, running_kernel)
    packages = [p for p in installed if (p.name, p.version) not in skip]
    groups: dict[str, list[Installed]] = {}
    by_source = scheme in ("deb", "apk")
    for p in packages:
        source = _kernel_source(p.source) if scheme == "deb" else p.source
        groups.setdefault(source, []).append(p)
    names = set(groups) | ({p.name for p in packages} if not by_source else set())
    records = store.records(distro, release, names, ("", *channels, *offered))
    rows_by_name: dict[str, list[Record]] = {}
    for r in records:
        rows_by_name.setdefault(r.package, []).append(r)
    results: list[PackageResult] = []
    for source, members in sorted(groups.items()):
        if by_source:
            version = _judged_version(source, members, scheme, kernel)
            merged = _merge([r for r in rows_by_name.get(source, [])
                             if r.name_kind.value == "source"], version, scheme, channels, offered)
        else:
            version, merged = _rpm_group(source, members, rows_by_name, scheme, channels, offered)
        if merged.fixable or merged.unfixed or merged.elsewhere:
            binaries = sorted({m.name for m in members})
            note = ""
            if kernel and kernel.package in binaries:
                note = f"kernel judged: {kernel.package} {kernel.version} ({kernel.judged})"
                binaries = [kernel.package]
            results.append(PackageResult(source=source, version=version, binaries=binaries,
                                         fixable=merged.fixable, unfixed=merged.unfixed, note=note,
                                         scheme=scheme, elsewhere=merged.elsewhere))
    return MatchResult(distro=distro, release=release, packages=results,
                       assessed=len(packages), kernel=kernel, channels=tuple(channels))


def _judged_version(source: str, members: list[Installed], scheme: str,
                    kernel: KernelChoice | None) -> str:
    if kernel and any(m.name == kernel.package for m in members):
        return kernel.version  # the image's own version (signed kernels: not the signing package's)
    versions = [m.source_version or m.version for m in members]
    low = versions[0]
    for v in versions[1:]:
        if compare(v, low, scheme) < 0:
            low = v  # partly upgraded: the oldest built copy still carries the flaws
    return low


def _rpm_group(source: str, members: list[Installed], rows_by_name: dict[str, list[Record]],
               scheme: str, channels: Sequence[str], offered: Sequence[str]) -> tuple[str, Merged]:
    """RHEL family: each binary against rows naming it, and against rows naming its source rpm."""
    fixable: dict[str, Hit] = {}
    unfixed: dict[str, Hit] = {}
    elsewhere: dict[str, Hit] = {}
    version = members[0].version
    for m in members:
        rows = [r for r in rows_by_name.get(m.name, []) if r.name_kind.value == "binary"]
        rows += [r for r in rows_by_name.get(source, []) if r.name_kind.value == "source"]
        merged = _merge(rows, m.version, scheme, channels, offered)
        for hits, into in ((merged.fixable, fixable), (merged.elsewhere, elsewhere)):
            for h in hits:
                if h.vuln_id not in into or compare(h.fixed, into[h.vuln_id].fixed, scheme) > 0:
                    into[h.vuln_id] = h
        for h in merged.unfixed:
            unfixed.setdefault(h.vuln_id, h)
        if compare(m.version, version, scheme) < 0:
            version = m.version
    order = lambda h: h.vuln_id  # noqa: E731
    return version, Merged(
        fixable=sorted(fixable.values(), key=order),
        unfixed=sorted((h for k, h in unfixed.items() if k not in fixable and k not in elsewhere),
                       key=order),
        elsewhere=sorted((h for k, h in elsewhere.items() if k not in fixable), key=order))
