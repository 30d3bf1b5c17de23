"""Installed packages: dpkg status files, the rpm database and Alpine's installed database,
all read as files on live hosts, SSH targets and offline trees alike.

Debian-family hosts are read from /var/lib/dpkg/status (and /var/lib/dpkg/status.d/*, used by
distroless images). The rpm database is parsed in process (`_rpmdb`: rpmdb.sqlite or Berkeley
DB Packages), never through `rpm --root`, which can write into the tree; only a live host with
a database in another format (ndb) is asked with `rpm -qa`. Alpine: /lib/apk/db/installed.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from smbaudit.errors import NotReadable, ProbeError
from smbaudit.models import TargetKind
from smbaudit.probes import _rpmdb
from smbaudit.probes import factschema as fs
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import HostTarget, Target

DPKG_STATUS = "/var/lib/dpkg/status"
DPKG_STATUS_D = "/var/lib/dpkg/status.d"
RPM_DB_DIRS = ("/var/lib/rpm", "/usr/lib/sysimage/rpm")
APK_INSTALLED = "/lib/apk/db/installed"
MAX_DB_BYTES = 1024 * 1024 * 1024
_RPM_FORMAT = r"%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\t%{SOURCERPM}\t%{ARCH}\t%{VENDOR}\n"
_SRPM = re.compile(r"^(?P<name>.+)-[^-]+-[^-]+\.src\.rpm$")
_SOURCE_FIELD = re.compile(r"^(?P<name>\S+)(?:\s+\((?P<version>[^)]+)\))?\s*$")
MANAGERS = ("dpkg", "rpm", "apk")


@dataclass(frozen=True)
class Package:
    """One installed package. `version` is in the manager's own syntax (epoch:ver-rel);
    `source` / `source_version` name the source package it was built from (dpkg's
    `Source: name (version)`, the rpm's source rpm, apk's origin)."""

    name: str
    version: str
    source: str
    arch: str
    source_version: str = ""
    vendor: str = ""  # rpm's Vendor tag ("Red Hat, Inc.", "Fedora Project"); "" elsewhere

    def to_facts(self) -> dict[str, str]:
        return asdict(self)


_PARSED: dict[tuple[str, bool], tuple[Package, ...]] = {}  # recent parses, by exact text
_PARSED_MAX = 8


def parse_dpkg_status(text: str, *, default_installed: bool = False) -> list[Package]:
    """Packages whose Status is exactly "install ok installed" (or `default_installed` and no
    Status field, as in distroless status.d files). Config-files, half-installed, unpacked
    and deinstall-requested-but-still-installed states are handled by the status words.

    Several checks of a scan read the same status file (each services check, the package
    checks): the last few parses are kept, keyed by the file's exact text."""
    key = (text, default_installed)
    hit = _PARSED.get(key)
    if hit is not None:
        return list(hit)
    found = _parse_dpkg_status(text, default_installed)
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.pop(next(iter(_PARSED), key), None)
    _PARSED[key] = tuple(found)
    return found


def _parse_dpkg_status(text: str, default_installed: bool) -> list[Package]:
    found: list[Package] = []
    from debian.deb822 import Deb822  # python-debian: only when a dpkg status file is read

    for para in Deb822.iter_paragraphs(text.splitlines(), use_apt_pkg=False):
        name = para.get("Package")
        version = para.get("Version")
        if not name or not version:
            continue
        status = para.get("Status")
        if status is None:
            if not default_installed:
                continue
        else:
            words = status.split()
            # want flag (install/hold/deinstall/purge), error flag (ok/reinstreq), state
            if len(words) != 3 or words[1] != "ok" or words[2] != "installed":
                continue
        source, source_version = name, version
        m = _SOURCE_FIELD.match(para.get("Source", "").strip())
        if m:
            source = m.group("name")
            # without a version in parentheses the source version is the binary version
            source_version = m.group("version") or version
        found.append(Package(name=name, version=version, source=source,
                             arch=para.get("Architecture", ""), source_version=source_version))
    return found


def dpkg_packages(host: HostTarget) -> list[Package] | None:
    """dpkg's installed packages, or None when the host has no dpkg database."""
    text = host.read_text_or_none(DPKG_STATUS)
    packages: list[Package] = []
    have_db = text is not None
    if text is not None:
        packages.extend(parse_dpkg_status(text))
    try:
        extra = host.list_dir(DPKG_STATUS_D)
    except OSError:
        extra = []
    for name in extra:
        if name.endswith(".md5sums"):
            continue
        part = host.read_text_or_none(f"{DPKG_STATUS_D}/{name}")
        if part is not None:
            have_db = True
            packages.extend(parse_dpkg_status(part, default_installed=True))
    return packages if have_db else None


def parse_rpm_query(output: str) -> list[Package]:
    """Lines printed by `rpm -qa --queryformat` with _RPM_FORMAT."""
    found: list[Package] = []
    for line in output.splitlines():
        fields = line.split("\t")
        if len(fields) not in (4, 5):
            continue
        name, evr, srpm, arch = fields[:4]
        vendor = fields[4] if len(fields) == 5 and fields[4] != "(none)" else ""
        if evr.startswith("0:"):
            evr = evr[2:]  # epoch 0 is the same as no epoch; keep versions readable
        found.append(_rpm_package(name, evr, srpm, arch if arch != "(none)" else "", vendor))
    return found


def _rpm_package(name: str, evr: str, srpm: str, arch: str, vendor: str = "") -> Package:
    m = _SRPM.match(srpm)
    return Package(name=name, version=evr, source=m.group("name") if m else name, arch=arch,
                   source_version=evr, vendor=vendor)


def parse_rpm_headers(blobs: Any) -> list[Package]:
    found: list[Package] = []
    for blob in blobs:
        header = _rpmdb.parse_header(blob)
        if header is None:
            continue
        found.append(_rpm_package(header.name, header.evr, header.sourcerpm,
                                  header.arch if header.arch != "(none)" else "",
                                  header.vendor if header.vendor != "(none)" else ""))
    return found


def _read_db(host: HostTarget, path: str) -> bytes:
    try:
        data = host.read_bytes(path, MAX_DB_BYTES)
    except PermissionError:
        raise NotReadable(f"{path} is not readable: run as root") from None
    if len(data) >= MAX_DB_BYTES:
        raise NotReadable(f"{path} is larger than {MAX_DB_BYTES // 2**20} MiB: not read")
    return data


def rpm_packages(host: HostTarget, timeout: float) -> list[Package] | None:
    """rpm's installed packages, or None when the host has no rpm database."""
    present = False
    for base in RPM_DB_DIRS:
        st = host.stat(base)
        if st is None or st.type != "dir":
            continue
        for name, reader in (("rpmdb.sqlite", _rpmdb.sqlite_blobs), ("Packages", _rpmdb.bdb_blobs)):
            path = f"{base}/{name}"
            st = host.stat(path)
            if st is not None and st.type == "file":
                return parse_rpm_headers(reader(_read_db(host, path), path))
        try:
            present = present or bool(host.list_dir(base))
        except OSError:
            continue
    if not present:
        return None
    if not host.live:
        raise ProbeError(f"{host.name}: the rpm database is in a format smbaudit cannot read "
                         f"in process (neither rpmdb.sqlite nor Berkeley DB Packages under "
                         f"{' or '.join(RPM_DB_DIRS)}); scan the live host")
    result = host.run(["rpm", "-qa", "--queryformat", _RPM_FORMAT], timeout)
    if result.returncode != 0:
        raise ProbeError(f"rpm -qa failed ({result.returncode}): {result.stderr.strip()[:300]}")
    return parse_rpm_query(result.stdout)


def parse_apk_installed(text: str) -> list[Package]:
    """Alpine's /lib/apk/db/installed: blank-line separated blocks of `X:value` lines
    (P name, V version, A arch, o origin)."""
    found: list[Package] = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if len(line) > 2 and line[1] == ":":
                fields.setdefault(line[0], line[2:])
        if fields.get("P") and fields.get("V"):
            found.append(Package(name=fields["P"], version=fields["V"],
                                 source=fields.get("o") or fields["P"], arch=fields.get("A", ""),
                                 source_version=fields["V"]))
    return found


def apk_packages(host: HostTarget) -> list[Package] | None:
    text = host.read_text_or_none(APK_INSTALLED, MAX_DB_BYTES)
    return None if text is None else parse_apk_installed(text)


def installed_packages(host: HostTarget, timeout: float, manager: str = "auto"
                       ) -> tuple[str, list[Package]]:
    """(manager name, packages). Raises ProbeError when no package database is found.

    Kept on the target for the rest of the scan: many probes (every service check, sudo, the
    package checks) ask for the same database, which does not change while a scan reads it.
    Probes that ask at the same moment wait for the one reading it rather than each reading it."""
    state = getattr(host, "__dict__", {})
    cache: dict[str, tuple[str, list[Package]]] = state.setdefault("_installed_packages", {})
    with state.setdefault("_installed_packages_lock", threading.Lock()):
        if manager not in cache:
            cache[manager] = _installed_packages(host, timeout, manager)
    found_manager, packages = cache[manager]
    return found_manager, list(packages)


def _installed_packages(host: HostTarget, timeout: float, manager: str) -> tuple[str, list[Package]]:
    if manager in ("auto", "dpkg"):
        found = dpkg_packages(host)
        if found is not None:
            return "dpkg", found
    if manager in ("auto", "rpm"):
        found = rpm_packages(host, timeout)
        if found is not None:
            return "rpm", found
    if manager in ("auto", "apk"):
        found = apk_packages(host)
        if found is not None:
            return "apk", found
    wanted = "dpkg, rpm or apk" if manager == "auto" else manager
    raise ProbeError(f"{host.name}: no {wanted} package database found "
                     f"({DPKG_STATUS}, {', '.join(RPM_DB_DIRS)}, {APK_INSTALLED})")


def version_scheme(manager: str) -> str:
    return {"dpkg": "deb", "rpm": "rpm", "apk": "apk"}[manager]


PACKAGE_FACTS = fs.record(name=fs.STR, version=fs.STR, source=fs.STR, arch=fs.STR,
                          source_version=fs.STR, vendor=fs.STR)


class PackagesProbe(Probe):
    """Installed packages and their versions.

    Facts: manager (dpkg, rpm or apk), packages (list of {name, version, source, arch,
    source_version, vendor (rpm's Vendor tag, else "")}, sorted by name), count, names (sorted list of installed package names).
    """

    name = "packages"
    description = "installed packages (dpkg status files, rpm database, apk database)"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"manager": {"enum": ["auto", *MANAGERS]}},
    }
    facts = fs.record(manager=fs.enum(*MANAGERS), packages=fs.list_of(PACKAGE_FACTS),
                      count=fs.INT, names=fs.list_of(fs.STR))

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        if not isinstance(target, HostTarget):
            raise ProbeError(f"{target.name} has no file system")
        manager, packages = installed_packages(target, ctx.io_timeout(),
                                               params.get("manager", "auto"))
        packages = sorted(packages, key=lambda p: (p.name, p.arch))
        return {"manager": manager, "packages": [p.to_facts() for p in packages],
                "count": len(packages), "names": sorted({p.name for p in packages})}
