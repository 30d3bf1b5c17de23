"""CIS Benchmark references in checks, and selection by benchmark level.

A check cites a recommendation in its `references` as one string:

    CIS Debian Linux 12 Benchmark v1.1.0 5.1.20 (Ensure sshd PermitRootLogin is disabled)

that is, the benchmark's name, its version, the recommendation id and its title (without the
"(Automated)" / "(Manual)" suffix). The recommendation's profile levels travel as tags
(`cis-l1-server`, `cis-l2-server`, `cis-l1-workstation`, `cis-l2-workstation`), so that
`--level` works without the benchmark documents at hand; a test compares both with the control
lists the benchmarks publish.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from smbaudit.errors import UsageError
from smbaudit.models import CheckDef

# Benchmark name as cited -> the short key of its control list (cis_<key>.yml).
BENCHMARKS = {
    "CIS Debian Linux 12 Benchmark": "debian12",
    "CIS Ubuntu Linux 24.04 LTS Benchmark": "ubuntu2404",
    "CIS Ubuntu Linux 22.04 LTS Benchmark": "ubuntu2204",
    "CIS Red Hat Enterprise Linux 9 Benchmark": "rhel9",
}

_REFERENCE = re.compile(
    r"^(?P<benchmark>CIS .+? Benchmark) v(?P<version>\d+(?:\.\d+)+) "
    r"(?P<id>\d+(?:\.\d+)*) \((?P<title>.+)\)$")

# A selectable level -> the level tags it includes (level 2 builds on level 1).
LEVELS: dict[str, frozenset[str]] = {
    "cis-l1-server": frozenset({"cis-l1-server"}),
    "cis-l2-server": frozenset({"cis-l1-server", "cis-l2-server"}),
    "cis-l1-workstation": frozenset({"cis-l1-workstation"}),
    "cis-l2-workstation": frozenset({"cis-l1-workstation", "cis-l2-workstation"}),
}
LEVEL_TAGS = frozenset(t for tags in LEVELS.values() for t in tags)


@dataclass(frozen=True)
class CisReference:
    benchmark: str  # as cited, e.g. "CIS Debian Linux 12 Benchmark"
    key: str  # control list key, e.g. "debian12"
    version: str
    id: str
    title: str


def cites_os_benchmark(reference: str) -> bool:
    """Whether `reference` names one of the operating-system benchmarks we hold control lists for
    (or looks as if it meant to: any other "CIS ... Linux ... Benchmark")."""
    return reference.startswith("CIS ") and (
        any(reference.startswith(name) for name in BENCHMARKS)
        or bool(re.match(r"^CIS [^(]*\b(Linux|RHEL|Debian|Ubuntu)\b[^(]*Benchmark", reference)))


def parse_reference(reference: str) -> CisReference | None:
    """The parts of a well-formed reference to a known benchmark, else None."""
    m = _REFERENCE.match(reference)
    if not m or m.group("benchmark") not in BENCHMARKS:
        return None
    return CisReference(benchmark=m.group("benchmark"), key=BENCHMARKS[m.group("benchmark")],
                        version=m.group("version"), id=m.group("id"), title=m.group("title"))


def select_level(checks: Sequence[CheckDef], level: str | None) -> list[CheckDef]:
    """The checks of one benchmark profile level (all checks when `level` is None)."""
    if level is None:
        return list(checks)
    if level not in LEVELS:
        raise UsageError(f"--level {level!r} is not one of: {', '.join(LEVELS)}")
    wanted = LEVELS[level]
    return [c for c in checks if wanted.intersection(c.tags)]
