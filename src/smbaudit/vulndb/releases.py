"""Release names and end-of-life dates.

Debian and Ubuntu come from distro-info-data (/usr/share/distro-info/{debian,ubuntu}.csv, the
tables Debian's `distro-info` tool reads); the RHEL family from a table shipped here. A store
keeps the rows it was built with, so a scan on another machine sees the same dates.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

DISTRO_INFO_DIR = Path("/usr/share/distro-info")


@dataclass(frozen=True)
class ReleaseInfo:
    distro: str
    release: str  # the store's release key (Debian/Ubuntu codename, RHEL-family major)
    version: str  # "12", "22.04"
    eol: str  # end of regular security support (ISO date or "")
    eol_lts: str = ""  # end of LTS (Debian LTS; Ubuntu standard support for LTS releases)
    eol_elts: str = ""  # end of extended support (Debian ELTS, Ubuntu Pro)
    source: str = ""


# RHEL family: end of maintenance support (full + maintenance phases) per major release, as
# the vendors publish them: access.redhat.com/support/policy/updates/errata,
# wiki.almalinux.org/release-notes, wiki.rockylinux.org/rocky/version,
# oracle.com/a/ocom/docs/elsp-lifetime-069338.pdf, centos.org/centos-linux-eol.
RHEL_FAMILY_EOL: dict[str, dict[str, tuple[str, str]]] = {
    # distro -> major -> (end of maintenance, end of extended life support or "")
    "rhel": {"6": ("2020-11-30", "2029-06-30"), "7": ("2024-06-30", "2028-06-30"),
             "8": ("2029-05-31", "2032-05-31"), "9": ("2032-05-31", "2035-05-31"),
             "10": ("2035-05-31", "2038-05-31")},
    "almalinux": {"8": ("2029-03-01", ""), "9": ("2032-05-31", ""), "10": ("2035-05-31", "")},
    "rocky": {"8": ("2029-05-31", ""), "9": ("2032-05-31", ""), "10": ("2035-05-31", "")},
    "ol": {"7": ("2024-12-31", "2028-06-30"), "8": ("2029-07-31", "2032-07-31"),
           "9": ("2032-06-30", "2035-06-30")},
    "centos": {"6": ("2020-11-30", ""), "7": ("2024-06-30", ""), "8": ("2021-12-31", "")},
}

# Debian codenames, for stores built where distro-info-data is not installed.
_DEBIAN_CODENAMES = {"6": "squeeze", "7": "wheezy", "8": "jessie", "9": "stretch",
                     "10": "buster", "11": "bullseye", "12": "bookworm", "13": "trixie",
                     "14": "forky", "15": "duke", "3.0": "woody", "3.1": "sarge",
                     "4.0": "etch", "5.0": "lenny", "6.0": "squeeze"}


def parse_distro_info(distro: str, text: str, source: str = "") -> list[ReleaseInfo]:
    """Rows of a distro-info-data CSV (version,codename,series,created,release,eol,...)."""
    rows: list[ReleaseInfo] = []
    for row in csv.DictReader(io.StringIO(text)):
        series = (row.get("series") or "").strip()
        if not series:
            continue
        version = (row.get("version") or "").replace(" LTS", "").strip()
        rows.append(ReleaseInfo(distro=distro, release=series, version=version,
                                eol=(row.get("eol") or "").strip(),
                                eol_lts=(row.get("eol-lts") or row.get("eol-server") or "").strip(),
                                eol_elts=(row.get("eol-elts") or row.get("eol-esm") or "").strip(),
                                source=source))
    return rows


def system_releases(directory: Path = DISTRO_INFO_DIR) -> list[ReleaseInfo]:
    """Debian and Ubuntu rows from distro-info-data (none when it is not installed), plus the
    RHEL-family table."""
    rows: list[ReleaseInfo] = []
    for distro in ("debian", "ubuntu"):
        path = directory / f"{distro}.csv"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        rows.extend(parse_distro_info(distro, text, f"distro-info-data ({path})"))
    for distro, majors in RHEL_FAMILY_EOL.items():
        for major, (eol, elts) in majors.items():
            rows.append(ReleaseInfo(distro=distro, release=major, version=major, eol=eol,
                                    eol_elts=elts, source="smbaudit RHEL-family table"))
    return rows


# Ubuntu codenames, for stores built where distro-info-data is not installed (OSV names
# Ubuntu releases by number, the store and os-release by codename).
_UBUNTU_CODENAMES = {"12.04": "precise", "14.04": "trusty", "16.04": "xenial", "18.04": "bionic",
                     "20.04": "focal", "20.10": "groovy", "21.04": "hirsute", "21.10": "impish",
                     "22.04": "jammy", "22.10": "kinetic", "23.04": "lunar", "23.10": "mantic",
                     "24.04": "noble", "24.10": "oracular", "25.04": "plucky", "25.10": "questing"}


def ubuntu_codename(version: str, known: dict[str, str] | None = None) -> str:
    """'22.04' -> 'jammy' (the version itself when unknown)."""
    table = dict(_UBUNTU_CODENAMES)
    table.update(known or {})
    return table.get(version, version)


def debian_codename(version: str, known: dict[str, str] | None = None) -> str:
    """'12' or '12.5' -> 'bookworm' ('' when unknown). `known` maps versions to codenames."""
    table = dict(_DEBIAN_CODENAMES)
    table.update(known or {})
    return table.get(version) or table.get(version.split(".")[0], "")
