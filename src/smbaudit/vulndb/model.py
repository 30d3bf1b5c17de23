"""Typed records of the vulnerability store: what one feed says about one package in one release."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class VulnStatus(str, Enum):
    """What a feed says about a vulnerability in one package of one release."""

    FIXED = "fixed"  # a fixed version exists (`fixed`)
    AFFECTED = "affected"  # affected, no fix published yet
    WONT_FIX = "wont_fix"  # the vendor will not fix it (no-dsa, ignored, end-of-life package)
    DEFERRED = "deferred"  # postponed to a later update
    NOT_AFFECTED = "not_affected"  # this release's package never had the flaw (Debian: "0")
    UNDETERMINED = "undetermined"  # the vendor has not decided yet

    @property
    def unfixed(self) -> bool:
        return self in (VulnStatus.AFFECTED, VulnStatus.WONT_FIX, VulnStatus.DEFERRED,
                        VulnStatus.UNDETERMINED)


class NameKind(str, Enum):
    SOURCE = "source"  # Debian/Ubuntu source packages, Alpine origins, Red Hat .src rpms
    BINARY = "binary"  # RHEL-family OSV records name binary rpms


SEVERITIES = ("info", "low", "medium", "high", "critical")


@dataclass(frozen=True)
class Record:
    """One row of the store: one vulnerability of one package in one release (and channel)."""

    distro: str  # os-release ID: debian, ubuntu, rhel, almalinux, rocky, alpine
    release: str  # debian/ubuntu: codename; RHEL family: major version; alpine: "3.15"
    package: str
    name_kind: NameKind
    vuln_id: str  # CVE id where there is one, else the advisory id
    status: VulnStatus
    scheme: str  # deb, rpm, apk
    fixed: str = ""
    introduced: str = ""
    channel: str = ""  # "" for the main archive; "pro" (Ubuntu Pro/ESM), "eus" (RHEL EUS)...
    severity: str = ""  # normalised vendor severity (one of SEVERITIES) or "" when unrated
    vendor_severity: str = ""  # the vendor's own word ("high**", "Moderate", "Important")
    cvss_score: float | None = None  # highest CVSS base score given
    cvss: tuple[str, ...] = ()  # CVSS vectors given
    advisories: tuple[str, ...] = ()  # DSA-, DLA-, USN-, RHSA-, ALSA-, RLSA- ids
    aliases: tuple[str, ...] = ()
    published: str = ""  # ISO date of the record, when the feed says


@dataclass
class SourceInfo:
    """One imported feed, as the store remembers it."""

    name: str
    format: str
    url: str
    fetched_at: str  # ISO 8601 UTC
    sha256: str
    records: int = 0
    newest: str = ""  # ISO date of the newest record, "" when the feed dates none


@dataclass
class Parsed:
    """What an importer produced from one input."""

    format: str
    records: list[Record] = field(default_factory=list)

    @property
    def newest(self) -> str:
        return max((r.published for r in self.records if r.published), default="")


_DEBIAN_URGENCY = {"unimportant": "info", "low": "low", "medium": "medium", "high": "high"}
_WORD_SEVERITY = {"low": "low", "moderate": "medium", "medium": "medium", "important": "high",
                  "high": "high", "critical": "critical", "negligible": "info",
                  "unimportant": "info", "none": "info"}


def normalise_severity(word: str | None) -> str:
    """A vendor's severity word as one of SEVERITIES, or "" when it rates nothing."""
    if not word:
        return ""
    w = word.strip().lower().rstrip("*").strip()
    return _DEBIAN_URGENCY.get(w) or _WORD_SEVERITY.get(w, "")


def severity_of_score(score: float) -> str:
    """CVSS v3 qualitative rating of a base score."""
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    if score > 0.0:
        return "low"
    return "info"
