"""packages: dpkg status parsing, version ordering, rpm handling, live host (matching with the
vulnerability store: test_vulndb_match.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hostsys_util import collect
from smbaudit.errors import ProbeError
from smbaudit.versions import compare
from smbaudit.probes.packages import parse_dpkg_status, parse_rpm_query
from smbaudit.targets.posixfs import DirectoryTarget, LocalTarget

STATUS = """Package: kept
Status: install ok installed
Architecture: amd64
Version: 1:2.0-1
Description: normal

Package: held
Status: hold ok installed
Architecture: all
Source: heldsrc (1.0-1)
Version: 1.0-1+b1
Description: held packages are installed

Package: removed
Status: deinstall ok config-files
Architecture: amd64
Version: 0.9-1
Description: config files only

Package: broken
Status: install reinstreq half-installed
Architecture: amd64
Version: 3.0-1
Description: half installed

Package: unpacked
Status: install ok unpacked
Architecture: amd64
Version: 3.0-1
Description: unpacked, not configured

Package: noversion
Status: install ok installed
Architecture: amd64
Description: broken entry

Package: pending-removal
Status: deinstall ok installed
Architecture: amd64
Version: 2.2-1
Description: marked for removal but still installed
"""


def test_dpkg_states_and_source_fields() -> None:
    pkgs = {p.name: p for p in parse_dpkg_status(STATUS)}
    assert set(pkgs) == {"kept", "held", "pending-removal"}
    assert pkgs["held"].source == "heldsrc" and pkgs["held"].arch == "all"
    assert pkgs["kept"].source == "kept" and pkgs["kept"].version == "1:2.0-1"


def test_status_d_entries_without_status_field(tmp_path: Path) -> None:
    (tmp_path / "var/lib/dpkg/status.d").mkdir(parents=True)
    (tmp_path / "var/lib/dpkg/status.d/base").write_text(
        "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n")
    (tmp_path / "var/lib/dpkg/status.d/base.md5sums").write_text("abc  /etc/issue\n")
    facts = collect("packages", DirectoryTarget("dir:t", str(tmp_path)))
    assert facts["manager"] == "dpkg" and facts["count"] == 1
    assert facts["packages"][0] == {"name": "base-files", "version": "12.4+deb12u5",
                                    "source": "base-files", "arch": "amd64",
                                    "source_version": "12.4+deb12u5", "vendor": ""}


@pytest.mark.parametrize("a, b, scheme, expected", [
    ("1:1.0", "2.0", "deb", 1),            # an epoch beats any upstream version
    ("1.0~rc1", "1.0", "deb", -1),         # tilde sorts before the release
    ("1.0~rc1-1", "1.0~rc2-1", "deb", -1),
    ("5.6.1+really5.4.5-1", "5.6.1-1", "deb", 1),
    ("1:9.2p1-2+deb12u3", "1:9.2p1-2+deb12u10", "deb", -1),
    ("2.36-9+deb12u3", "2.36-9+deb12u3", "deb", 0),
    ("1:1.0-1", "2.0-1", "rpm", 1),
    ("1.0~rc1-1", "1.0-1", "rpm", -1),
    ("3.0.1-43.el9_0", "3.0.1-43.el9", "rpm", 1),
    ("8.7p1-38.el9_4.1", "8.7p1-38.el9", "rpm", 1),
    ("1.0", "1.0-3", "rpm", 0),            # no release given: versions equal
])
def test_version_ordering(a: str, b: str, scheme: str, expected: int) -> None:
    assert compare(a, b, scheme) == expected
    assert compare(b, a, scheme) == -expected


def test_rpm_query_output() -> None:
    out = ("openssl-libs\t1:3.0.7-27.el9\topenssl-3.0.7-27.el9.src.rpm\tx86_64\n"
           "gpg-pubkey\t0:3228467c-613798eb\t(none)\t(none)\n"
           "bash\t0:5.1.8-9.el9\tbash-5.1.8-9.el9.src.rpm\tx86_64\n")
    pkgs = {p.name: p for p in parse_rpm_query(out)}
    assert pkgs["openssl-libs"].version == "1:3.0.7-27.el9" and pkgs["openssl-libs"].source == "openssl"
    assert pkgs["bash"].version == "5.1.8-9.el9"
    assert pkgs["gpg-pubkey"].arch == "" and pkgs["gpg-pubkey"].source == "gpg-pubkey"


def test_offline_rpm_tree_in_an_unreadable_format_says_why(tmp_path: Path) -> None:
    (tmp_path / "var/lib/rpm").mkdir(parents=True)
    (tmp_path / "var/lib/rpm/Packages.db").write_bytes(b"ndb database")  # SUSE's ndb format
    with pytest.raises(ProbeError, match="cannot read in process"):
        collect("packages", DirectoryTarget("dir:t", str(tmp_path)))


def test_damaged_rpmdb_sqlite_is_a_probe_error(tmp_path: Path) -> None:
    (tmp_path / "var/lib/rpm").mkdir(parents=True)
    (tmp_path / "var/lib/rpm/rpmdb.sqlite").write_bytes(b"SQLite format 3\x00" + b"\x01" * 100)
    with pytest.raises(ProbeError, match="cannot be read as an rpm database"):
        collect("packages", DirectoryTarget("dir:t", str(tmp_path)))


def test_no_package_database(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    with pytest.raises(ProbeError, match="no dpkg, rpm or apk package database"):
        collect("packages", DirectoryTarget("dir:t", str(tmp_path)))


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="not a Debian-family host")
def test_live_debian_host_has_libc6() -> None:
    facts = collect("packages", LocalTarget())
    assert facts["manager"] == "dpkg" and facts["count"] > 50
    libc = [p for p in facts["packages"] if p["name"] == "libc6"]
    assert libc and libc[0]["source"] == "glibc"
    assert compare(libc[0]["version"], "2.28", "deb") > 0
