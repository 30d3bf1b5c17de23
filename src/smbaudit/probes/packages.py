"""Installed packages: dpkg (read from its status files) or rpm (through the rpm tool).

Debian-family hosts are read from /var/lib/dpkg/status (and /var/lib/dpkg/status.d/*, used by
distroless images) on live hosts and offline trees alike. RPM databases are binary: a live
host is asked with `rpm -qa`; an offline tree with `rpm --root TREE` when the scanning host has
the rpm tool, else the probe says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from debian.deb822 import Deb822

from smbaudit.errors import ProbeError, UnsupportedOperation
from smbaudit.models import TargetKind
from smbaudit.probes import factschema as fs
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.runner import run
from smbaudit.targets.base import HostTarget, Target

DPKG_STATUS = "/var/lib/dpkg/status"
DPKG_STATUS_D = "/var/lib/dpkg/status.d"
RPM_DB_DIRS = ("/var/lib/rpm", "/usr/lib/sysimage/rpm")
_RPM_FORMAT = r"%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\t%{SOURCERPM}\t%{ARCH}\n"
_SRPM = re.compile(r"^(?P<name>.+)-[^-]+-[^-]+\.src\.rpm$")


@dataclass(frozen=True)
class Package:
    """One installed package. `version` is in the manager's own syntax (epoch:ver-rel)."""

    name: str
    version: str
    source: str
    arch: str

    def to_facts(self) -> dict[str, str]:
        return asdict(self)


def parse_dpkg_status(text: str, *, default_installed: bool = False) -> list[Package]:
    """Packages whose Status is exactly "install ok installed" (or `default_installed` and no
    Status field, as in distroless status.d files). Config-files, half-installed, unpacked
    and deinstall-requested-but-still-installed states are handled by the status words."""
    found: list[Package] = []
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
        source_field = para.get("Source", "").strip()
        source = source_field.split()[0] if source_field else name
        found.append(Package(name=name, version=version, source=source,
                             arch=para.get("Architecture", "")))
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
        if len(fields) != 4:
            continue
        name, evr, srpm, arch = fields
        if evr.startswith("0:"):
            evr = evr[2:]  # epoch 0 is the same as no epoch; keep versions readable
        m = _SRPM.match(srpm)
        found.append(Package(name=name, version=evr, source=m.group("name") if m else name,
                             arch=arch if arch != "(none)" else ""))
    return found


def rpm_db_dir(host: HostTarget) -> str | None:
    for path in RPM_DB_DIRS:
        st = host.stat(path)
        if st is not None and st.type == "dir":
            try:
                if host.list_dir(path):
                    return path
            except OSError:
                continue
    return None


def rpm_packages(host: HostTarget, timeout: float) -> list[Package] | None:
    """rpm's installed packages, or None when the host has no rpm database."""
    dbdir = rpm_db_dir(host)
    if dbdir is None:
        return None
    argv = ["rpm", "-qa", "--queryformat", _RPM_FORMAT]
    if host.live:
        result = host.run(argv, timeout)
    else:
        root = getattr(host, "root", None)
        if root is None:
            raise UnsupportedOperation(f"{host.name}: cannot query its rpm database")
        try:
            # The rpm tool of the scanning host reads the tree's database; it writes nothing.
            result = run(["rpm", "--root", root, "--dbpath", dbdir, *argv[1:]], timeout)
        except ProbeError as exc:
            raise ProbeError(
                f"{host.name} has an rpm database at {dbdir}, but reading it offline needs the "
                f"rpm tool on the scanning host ({exc}); install rpm or scan the live host") from None
    if result.returncode != 0:
        raise ProbeError(f"rpm -qa failed ({result.returncode}): {result.stderr.strip()[:300]}")
    return parse_rpm_query(result.stdout)


def installed_packages(host: HostTarget, timeout: float, manager: str = "auto"
                       ) -> tuple[str, list[Package]]:
    """(manager name, packages). Raises ProbeError when no package database is found."""
    if manager in ("auto", "dpkg"):
        found = dpkg_packages(host)
        if found is not None:
            return "dpkg", found
    if manager in ("auto", "rpm"):
        found = rpm_packages(host, timeout)
        if found is not None:
            return "rpm", found
    wanted = "dpkg or rpm" if manager == "auto" else manager
    raise ProbeError(f"{host.name}: no {wanted} package database found "
                     f"({DPKG_STATUS}, {', '.join(RPM_DB_DIRS)})")


def version_scheme(manager: str) -> str:
    return "deb" if manager == "dpkg" else "rpm"


class PackagesProbe(Probe):
    """Installed packages and their versions.

    Facts: manager (dpkg or rpm), packages (list of {name, version, source, arch}, sorted by
    name), count, names (sorted list of installed package names).
    """

    name = "packages"
    description = "installed packages (dpkg status files, rpm database)"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"manager": {"enum": ["auto", "dpkg", "rpm"]}},
    }

    facts = fs.record(
        manager=fs.STR,
        packages=fs.list_of(fs.record(name=fs.STR, version=fs.STR, source=fs.STR, arch=fs.STR)),
        count=fs.INT, names=fs.list_of(fs.STR),
    )

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        if not isinstance(target, HostTarget):
            raise ProbeError(f"{target.name} has no file system")
        manager, packages = installed_packages(target, ctx.io_timeout(),
                                               params.get("manager", "auto"))
        packages = sorted(packages, key=lambda p: (p.name, p.arch))
        return {"manager": manager, "packages": [p.to_facts() for p in packages],
                "count": len(packages), "names": sorted({p.name for p in packages})}
