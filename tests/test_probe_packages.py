"""packages / package_vulns: dpkg status parsing, version ordering, rpm handling, live host."""

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
                                    "source": "base-files", "arch": "amd64"}


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


@pytest.mark.skipif(shutil.which("rpm") is not None, reason="rpm tool present on this host")
def test_offline_rpm_tree_without_rpm_tool_says_why(tmp_path: Path) -> None:
    (tmp_path / "var/lib/rpm").mkdir(parents=True)
    (tmp_path / "var/lib/rpm/rpmdb.sqlite").write_bytes(b"SQLite format 3\x00")
    with pytest.raises(ProbeError, match="rpm tool"):
        collect("packages", DirectoryTarget("dir:t", str(tmp_path)))


def test_no_package_database(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    with pytest.raises(ProbeError, match="no dpkg or rpm package database"):
        collect("packages", DirectoryTarget("dir:t", str(tmp_path)))


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="not a Debian-family host")
def test_live_debian_host_has_libc6() -> None:
    facts = collect("packages", LocalTarget())
    assert facts["manager"] == "dpkg" and facts["count"] > 50
    libc = [p for p in facts["packages"] if p["name"] == "libc6"]
    assert libc and libc[0]["source"] == "glibc"
    assert compare(libc[0]["version"], "2.28", "deb") > 0


def _vuln_tree(tmp_path: Path, os_release: str, status: str) -> DirectoryTarget:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text(os_release)
    (tmp_path / "var/lib/dpkg").mkdir(parents=True)
    (tmp_path / "var/lib/dpkg/status").write_text(status)
    return DirectoryTarget("dir:t", str(tmp_path))


def _para(name: str, version: str, source: str = "") -> str:
    src = f"Source: {source}\n" if source else ""
    return f"Package: {name}\nStatus: install ok installed\nArchitecture: amd64\n{src}Version: {version}\n\n"


def test_regresshion_on_bookworm_and_fixed_boundary(tmp_path: Path) -> None:
    target = _vuln_tree(tmp_path, 'ID=debian\nVERSION_ID="12"\n',
                        _para("openssh-server", "1:9.2p1-2+deb12u2", "openssh")
                        + _para("openssh-client", "1:9.2p1-2+deb12u3", "openssh")
                        + _para("xz-utils", "5.6.1-1") + _para("liblzma5", "5.6.1+really5.4.5-1", "xz-utils"))
    facts = collect("package_vulns", target)
    assert facts["release"] == "debian 12" and facts["release_covered"] is True
    found = {(v["package"], v["table_entry"]) for v in facts["vulnerable"]}
    assert ("openssh-server", "openssh-regresshion") in found
    assert not any(p == "openssh-client" for p, _ in found)      # exactly the fixed version
    assert ("xz-utils", "xz-backdoor") in found
    assert not any(p == "liblzma5" for p, _ in found)            # +really downgrade is fixed
    assert facts["by_family"]["openssh"][0]["cves"] == ["CVE-2024-6387"]
    assert facts["by_family"]["sudo"] == [] and "openssh" in facts["installed_families"]


def test_kernel_judges_the_newest_image_only(tmp_path: Path) -> None:
    target = _vuln_tree(tmp_path, 'ID=debian\nVERSION_ID="12"\n',
                        _para("linux-image-6.1.0-9-amd64", "6.1.27-1")
                        + _para("linux-image-6.1.0-28-amd64", "6.1.119-1"))
    assert collect("package_vulns", target)["by_family"]["kernel"] == []


def test_release_not_in_table_is_not_covered(tmp_path: Path) -> None:
    target = _vuln_tree(tmp_path, 'ID=ubuntu\nVERSION_ID="23.10"\n', _para("sudo", "1.9.14p2-1ubuntu1"))
    facts = collect("package_vulns", target)
    assert facts["release_covered"] is False and facts["vulnerable"] == []
