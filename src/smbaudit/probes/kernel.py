"""The running and installed kernels, and whether a reboot is pending to activate updates."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from smbaudit.errors import ProbeError
from smbaudit.models import TargetKind
from smbaudit.versions import compare
from smbaudit.probes import factschema as fs
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.probes.packages import Package, installed_packages, version_scheme
from smbaudit.targets.base import HostTarget, Target

REBOOT_MARKERS = ("/var/run/reboot-required", "/run/reboot-required")
_DEB_IMAGE = re.compile(r"^linux-image-(?:unsigned-)?(\d+\.\d+.*)$")
_RPM_KERNEL = ("kernel-core", "kernel", "kernel-uek", "kernel-uek-core")
_DEBIAN_BUILD = re.compile(r"\b(?:Debian|Ubuntu)\s+(\S+)\s")
_BOOT_IMAGE = re.compile(r"^vmlinu[xz]-(.+)$")


def _installed_from_packages(packages: list[Package], manager: str) -> list[dict[str, Any]]:
    kernels: list[dict[str, Any]] = []
    for pkg in packages:
        if manager == "dpkg":
            m = _DEB_IMAGE.match(pkg.name)
            if m:
                kernels.append({"release": m.group(1), "version": pkg.version, "package": pkg.name})
        elif pkg.name in _RPM_KERNEL:
            evr = pkg.version.split(":", 1)[-1]
            release = f"{evr}.{pkg.arch}" if pkg.arch else evr
            kernels.append({"release": release, "version": pkg.version, "package": pkg.name})
    return kernels


def _installed_from_files(host: HostTarget) -> list[dict[str, Any]]:
    releases: set[str] = set()
    try:
        for name in host.list_dir("/boot"):
            m = _BOOT_IMAGE.match(name)
            if m and not m.group(1).endswith((".old", ".bak")) and "rescue" not in m.group(1):
                releases.add(m.group(1))
    except OSError:
        pass
    for modules in ("/lib/modules", "/usr/lib/modules"):
        try:
            for name in host.list_dir(modules):
                if host.exists(f"{modules}/{name}/modules.dep") or host.exists(f"{modules}/{name}/kernel") \
                        or host.exists(f"{modules}/{name}/vmlinuz"):
                    releases.add(name)
        except OSError:
            continue
    return [{"release": r, "version": None, "package": None} for r in sorted(releases)]


class KernelProbe(Probe):
    """Kernel facts.

    Facts: live, running (release of the running kernel, live only, else None),
    running_build (distribution package version from /proc/version when it says so),
    installed (list of {release, version, package}), newest (release of the newest installed
    kernel), reboot_required (True/False, or None when it cannot be told), reboot_reasons
    (list of words), reboot_required_pkgs (from the Debian marker file).
    """

    name = "kernel"
    description = "running and installed kernels; pending reboot"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}

    facts = fs.record(
        live=fs.BOOL, running=fs.nullable(fs.STR), running_build=fs.nullable(fs.STR),
        installed=fs.list_of(fs.record(release=fs.STR, version=fs.nullable(fs.STR),
                                       package=fs.nullable(fs.STR))),
        newest=fs.nullable(fs.STR), reboot_required=fs.nullable(fs.BOOL),
        reboot_reasons=fs.list_of(fs.STR), reboot_required_pkgs=fs.list_of(fs.STR),
    )

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        if not isinstance(target, HostTarget):
            raise ProbeError(f"{target.name} has no file system")
        host = target
        manager = None
        try:
            manager, packages = installed_packages(host, ctx.io_timeout())
            installed = _installed_from_packages(packages, manager)
        except ProbeError:
            installed = []
        known = {k["release"] for k in installed}
        installed += [k for k in _installed_from_files(host) if k["release"] not in known]
        scheme = version_scheme(manager) if manager else "deb"
        newest = None
        for k in installed:
            if newest is None or compare(k["release"], newest["release"], scheme) > 0:
                newest = k

        running = running_build = None
        if host.live:
            running = (host.read_text_or_none("/proc/sys/kernel/osrelease", 4096) or "").strip() or None
            m = _DEBIAN_BUILD.search(host.read_text_or_none("/proc/version", 4096) or "")
            running_build = m.group(1) if m else None

        reasons: list[str] = []
        marker_pkgs: list[str] = []
        marker = next((p for p in REBOOT_MARKERS if host.exists(p)), None)
        if marker:
            reasons.append(f"{marker} exists")
            pkgs_text = host.read_text_or_none(marker + ".pkgs") or ""
            marker_pkgs = sorted({ln.strip() for ln in pkgs_text.splitlines() if ln.strip()})
        if running and newest and newest["release"] != running and \
                compare(newest["release"], running, scheme) > 0:
            reasons.append(f"newer kernel {newest['release']} installed, {running} running")
        if running and running_build:
            same = next((k for k in installed if k["release"] == running and k["version"]), None)
            if same and compare(same["version"], running_build, scheme) > 0:
                reasons.append(f"{same['package']} updated to {same['version']}, "
                               f"running build {running_build}")
        if reasons:
            reboot: bool | None = True
        elif marker is None and (host.live and running or manager == "dpkg"):
            reboot = False  # live: compared; Debian family: the marker would be there
        else:
            reboot = None
        return {
            "live": host.live,
            "running": running,
            "running_build": running_build,
            "installed": installed,
            "newest": newest["release"] if newest else None,
            "reboot_required": reboot,
            "reboot_reasons": reasons,
            "reboot_required_pkgs": marker_pkgs,
        }
