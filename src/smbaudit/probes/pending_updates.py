"""Updates the package manager itself would install, from its own cached indexes: no
vulnerability data needed, nothing run, so it works on live hosts, SSH targets and offline
trees alike.

apt: installed versions (dpkg status) against the `Packages` indexes in /var/lib/apt/lists
(uncompressed, gz, xz, bz2, lz4, zst: whatever apt was told to keep); an update counts as a
security update when a `-security` suite (or a security.* archive) offers a newer version.
dnf/yum: the cached repository metadata (`*primary.xml*`) and `updateinfo.xml` (type
"security") under /var/cache/dnf and /var/cache/yum.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from smbaudit.errors import DataMissing, NotReadable, ProbeError, ProbeTimeout
from smbaudit.models import TargetKind
from smbaudit.probes import factschema as fs
from smbaudit.probes._compressed import decompress, decompress_chunks
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.probes.packages import Package, installed_packages
from smbaudit.targets.base import HostTarget, Target
from smbaudit.versions import compare

APT_LISTS = "/var/lib/apt/lists"
DNF_CACHES = ("/var/cache/dnf", "/var/cache/yum")
MAX_INDEX_BYTES = 512 * 1024 * 1024
MAX_INDEXES = 500
_PACKAGES_INDEX = re.compile(r"_Packages(\.(gz|xz|bz2|lz4|zst))?$")
_SUITE = re.compile(r"_dists_(?P<suite>[^_]+)_")


@dataclass
class Candidate:
    version: str
    origin: str  # the index it came from (suite or repository)
    security: bool


def index_suite(filename: str) -> tuple[str, bool]:
    """(suite, is a security suite) from an apt list file name such as
    deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages.lz4."""
    m = _SUITE.search(filename)
    suite = m.group("suite") if m else filename.split("_Packages")[0]
    host = filename.split("_", 1)[0]
    return suite, suite.endswith("-security") or host.startswith("security.")


def parse_packages_index(data: bytes | Iterable[bytes], wanted: Mapping[str, set[str]]
                         ) -> list[tuple[str, str, str]]:
    """(name, version, architecture) of the index entries whose name is in `wanted`. `data` is
    the index, or its pieces as they are decompressed: a full Debian index is 50 MB, most of it
    about other packages, and is never whole in memory."""
    found: list[tuple[str, str, str]] = []
    rest = b""
    for piece in [data] if isinstance(data, bytes) else data:
        block = rest + piece if rest else piece
        cut = block.rfind(b"\n\n")  # stanzas end with a blank line: parse the complete ones
        if cut < 0:
            rest = block
            continue
        _parse_stanzas(block[:cut + 1], wanted, found)
        rest = block[cut + 2:]
    if rest:
        _parse_stanzas(rest, wanted, found)
    return found


def _parse_stanzas(data: bytes, wanted: Mapping[str, set[str]], found: list[tuple[str, str, str]]
                   ) -> None:
    for chunk in _stanzas(data):
        end = chunk.find(b"\n")
        name = (chunk[:end] if end >= 0 else chunk).strip().decode("utf-8", "replace")
        if name not in wanted:
            continue
        stop = chunk.find(b"\n\n")
        version = arch = ""
        for line in chunk[:stop if stop >= 0 else len(chunk)].split(b"\n"):
            if line.startswith(b"Version: "):
                version = line[9:].strip().decode("utf-8", "replace")
            elif line.startswith(b"Architecture: "):
                arch = line[14:].strip().decode("utf-8", "replace")
        if version:
            found.append((name, version, arch))


def _stanzas(data: bytes) -> Iterator[bytes]:
    """What follows each "Package: " at a line start, up to the next one: one at a time (a
    list of all of them, or a copy of the index, would double its 50 MB)."""
    start = 0 if data.startswith(b"Package: ") else data.find(b"\nPackage: ")
    if start < 0:
        return
    start += 9 if start == 0 and data.startswith(b"Package: ") else 10
    for _ in range(len(data)):  # bounded: each pass moves past one "Package: "
        nxt = data.find(b"\nPackage: ", start)
        if nxt < 0:
            yield data[start:]
            return
        yield data[start:nxt]
        start = nxt + 10


def _read_index(host: HostTarget, path: str) -> bytes:
    data = host.read_bytes(path, MAX_INDEX_BYTES)
    return decompress(data, path, MAX_INDEX_BYTES)


def _index_pieces(host: HostTarget, path: str) -> Iterator[bytes]:
    """An apt index a piece at a time: read so when it is not compressed (debootstrap leaves
    them so, 50 MB for Debian's main index), and decompressed so when it is."""
    return decompress_chunks(host.read_pieces(path, MAX_INDEX_BYTES), path, MAX_INDEX_BYTES)


def apt_candidates(host: HostTarget, packages: list[Package], ctx: ProbeContext
                   ) -> tuple[dict[tuple[str, str], list[Candidate]], int]:
    try:
        names = sorted(n for n in host.list_dir(APT_LISTS) if _PACKAGES_INDEX.search(n))
    except OSError:
        names = []
    wanted: dict[str, set[str]] = {}
    for p in packages:
        wanted.setdefault(p.name, set()).add(p.arch)
    found: dict[tuple[str, str], list[Candidate]] = {}
    for name in names[:MAX_INDEXES]:
        ctx.check_deadline()
        suite, security = index_suite(name)
        data = _index_pieces(host, f"{APT_LISTS}/{name}")
        for pkg, version, arch in parse_packages_index(data, wanted):
            for installed_arch in wanted[pkg]:
                if arch in (installed_arch, "all") or installed_arch == "all":
                    found.setdefault((pkg, installed_arch), []).append(Candidate(version, suite, security))
    return found, len(names)


MAX_RELEASE_BYTES = 4 * 1024 * 1024
_RELEASE = re.compile(r"_(In)?Release$")
_DISTRO_ORIGIN = re.compile(r"^(Debian|Ubuntu)")  # Debian, Debian Backports, Ubuntu, UbuntuESM...


def release_origins(host: HostTarget, names: list[str]) -> dict[str, str]:
    """apt list prefix ("HOST_PATH_dists_SUITE") -> the Origin its Release file names."""
    origins: dict[str, str] = {}
    for name in names:
        if not _RELEASE.search(name):
            continue
        try:
            text = host.read_text(f"{APT_LISTS}/{name}", MAX_RELEASE_BYTES)
        except (OSError, NotReadable):
            continue
        origin = next((line[7:].strip() for line in text.splitlines()
                       if line.startswith("Origin:")), "")
        origins[_RELEASE.sub("", name)] = origin
    return origins


def index_origin(index: str, origins: Mapping[str, str]) -> str | None:
    """The Origin of a Packages index's suite; None when no Release file names one."""
    m = _SUITE.search(index)
    if not m:
        return None
    return origins.get(index[:m.end() - 1])


def apt_foreign(host: HostTarget, packages: list[Package], ctx: ProbeContext) -> dict[str, str]:
    """Installed packages (name -> origin) whose installed version apt's lists offer only from
    repositories of another origin than Debian or Ubuntu (Docker, a vendor, a PPA's own
    origin): the distribution's advisories do not speak for them. Only the other origins'
    indexes are read, and the distribution's only for the packages they name."""
    try:
        names = sorted(host.list_dir(APT_LISTS))
    except OSError:
        return {}
    origins = release_origins(host, names)
    indexes = [n for n in names if _PACKAGES_INDEX.search(n)][:MAX_INDEXES]
    foreign: list[tuple[str, str]] = []
    for n in indexes:
        o = index_origin(n, origins)
        if o and not _DISTRO_ORIGIN.match(o):
            foreign.append((n, o))
    if not foreign:
        return {}
    installed = {(p.name, p.version) for p in packages}
    wanted: dict[str, set[str]] = {}
    for p in packages:
        wanted.setdefault(p.name, set()).add(p.arch)
    found: dict[str, str] = {}
    for name, origin in foreign:
        ctx.check_deadline()
        for pkg, version, _arch in _entries(host, name, wanted):
            if (pkg, version) in installed:
                found.setdefault(pkg, origin)
    if found:  # the same build in the distribution's own archive is the distribution's
        ours = {pkg: wanted[pkg] for pkg in found}
        for name in indexes:
            ours_origin = index_origin(name, origins)
            if ours_origin and _DISTRO_ORIGIN.match(ours_origin):
                ctx.check_deadline()
                for pkg, version, _arch in _entries(host, name, ours):
                    if (pkg, version) in installed:
                        found.pop(pkg, None)
    return found


def _entries(host: HostTarget, name: str, wanted: Mapping[str, set[str]]) -> list[tuple[str, str, str]]:
    """An index's entries for `wanted`; none when it cannot be read (unreadable, damaged, too
    big): the origin check then knows less, and the packages are compared as usual."""
    try:
        return parse_packages_index(_index_pieces(host, f"{APT_LISTS}/{name}"), wanted)
    except ProbeTimeout:
        raise
    except (OSError, ProbeError):
        return []


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _evr(epoch: str | None, ver: str | None, rel: str | None) -> str:
    evr = f"{ver}-{rel}" if rel else str(ver)
    return f"{epoch}:{evr}" if epoch and epoch != "0" else evr


def parse_primary(data: bytes, wanted: Mapping[str, set[str]]) -> list[tuple[str, str, str]]:
    """(name, epoch:version-release, arch) of the packages of a repository's primary.xml."""
    found: list[tuple[str, str, str]] = []
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ProbeError(f"damaged repository metadata ({exc})") from None
    for pkg in root:
        if _local(pkg.tag) != "package":
            continue
        fields = {_local(child.tag): child for child in pkg}
        name = (fields["name"].text or "") if "name" in fields else ""
        if name not in wanted or "version" not in fields:
            continue
        v = fields["version"].attrib
        arch = (fields["arch"].text or "") if "arch" in fields else ""
        found.append((name, _evr(v.get("epoch"), v.get("ver"), v.get("rel")), arch))
    return found


def parse_updateinfo(data: bytes, wanted: Mapping[str, set[str]]) -> list[tuple[str, str, str, str]]:
    """(name, evr, arch, advisory id) of the security updates in updateinfo.xml."""
    found: list[tuple[str, str, str, str]] = []
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ProbeError(f"damaged updateinfo metadata ({exc})") from None
    for update in root:
        if _local(update.tag) != "update" or update.attrib.get("type") != "security":
            continue
        uid = next((c.text or "" for c in update if _local(c.tag) == "id"), "")
        for pkg in update.iter():
            if _local(pkg.tag) == "package" and pkg.attrib.get("name") in wanted:
                a = pkg.attrib
                found.append((a["name"], _evr(a.get("epoch"), a.get("version"), a.get("release")),
                              a.get("arch", ""), uid))
    return found


def dnf_candidates(host: HostTarget, packages: list[Package], ctx: ProbeContext
                   ) -> tuple[dict[tuple[str, str], list[Candidate]], int]:
    wanted: dict[str, set[str]] = {}
    for p in packages:
        wanted.setdefault(p.name, set()).add(p.arch)
    files: list[str] = []
    for base in DNF_CACHES:
        for pattern in ("*/repodata/*primary.xml*", "*/*/*/repodata/*primary.xml*",
                        "*/repodata/*updateinfo.xml*", "*/*/*/repodata/*updateinfo.xml*"):
            files.extend(host.glob(f"{base}/{pattern}", limit=MAX_INDEXES))
    found: dict[tuple[str, str], list[Candidate]] = {}
    for path in sorted(set(files))[:MAX_INDEXES]:
        ctx.check_deadline()
        repo = path.split("/repodata/")[0].rsplit("/", 1)[-1]
        data = _read_index(host, path)
        if "primary.xml" in path:
            for name, evr, arch in parse_primary(data, wanted):
                for installed_arch in wanted[name]:
                    if arch in (installed_arch, "noarch") or not installed_arch:
                        found.setdefault((name, installed_arch), []).append(Candidate(evr, repo, False))
        else:
            for name, evr, arch, uid in parse_updateinfo(data, wanted):
                for installed_arch in wanted[name]:
                    if arch in (installed_arch, "noarch", "") or not installed_arch:
                        found.setdefault((name, installed_arch), []).append(
                            Candidate(evr, f"{repo} {uid}".strip(), True))
    return found, len(set(files))


class PendingUpdatesProbe(Probe):
    """Installed packages with a newer version in the package manager's cached indexes.

    Facts: manager (dpkg or rpm), indexes (index files read), pending (list of {name, arch,
    installed, candidate, origin, security}), pending_count, security (the pending items a
    security suite or security advisory offers), security_count, security_names.
    """

    name = "pending_updates"
    memory_heavy = True  # a Debian index is 50 MB once decompressed
    description = "updates available in apt's lists or dnf/yum's cached metadata"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}
    _ITEM = fs.record(name=fs.STR, arch=fs.STR, installed=fs.STR, candidate=fs.STR,
                      origin=fs.STR, security=fs.BOOL)
    facts = fs.record(manager=fs.STR, indexes=fs.INT, pending=fs.list_of(_ITEM),
                      pending_count=fs.INT, security=fs.list_of(_ITEM), security_count=fs.INT,
                      security_names=fs.list_of(fs.STR))

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        if not isinstance(target, HostTarget):
            raise ProbeError(f"{target.name} has no file system")
        manager, packages = installed_packages(target, ctx.io_timeout())
        if manager == "dpkg":
            found, indexes = apt_candidates(target, packages, ctx)
            where = f"{APT_LISTS} (run apt-get update)"
        elif manager == "rpm":
            found, indexes = dnf_candidates(target, packages, ctx)
            where = f"{' or '.join(DNF_CACHES)} (run dnf makecache)"
        else:
            raise DataMissing(f"pending updates are read from apt or dnf indexes; {manager} is not supported")
        if not indexes:
            raise DataMissing(f"no package indexes in {where}: cannot tell which updates are available")
        scheme = "deb" if manager == "dpkg" else "rpm"
        pending: list[dict[str, Any]] = []
        for p in packages:
            newer = [c for c in found.get((p.name, p.arch), [])
                     if compare(c.version, p.version, scheme) > 0]
            if not newer:
                continue
            best = newer[0]
            for c in newer[1:]:
                if compare(c.version, best.version, scheme) > 0:
                    best = c
            security = [c for c in newer if c.security]
            pending.append({"name": p.name, "arch": p.arch, "installed": p.version,
                            "candidate": best.version,
                            "origin": (security[0] if security else best).origin,
                            "security": bool(security)})
        pending.sort(key=lambda i: (i["name"], i["arch"]))
        security_items = [i for i in pending if i["security"]]
        return {"manager": manager, "indexes": indexes, "pending": pending,
                "pending_count": len(pending), "security": security_items,
                "security_count": len(security_items),
                "security_names": sorted({i["name"] for i in security_items})}
