"""Packages from repositories of another origin (apt Release `Origin:`) are not the
distribution's builds: they are left out of the matching and listed as not assessed."""

from __future__ import annotations

from pathlib import Path

from hostsys_util import collect, hostsys_checks, run_checks
from smbaudit.models import Status
from smbaudit.targets.posixfs import DirectoryTarget
from smbaudit.probes.packages import parse_rpm_query
from smbaudit.vulndb.model import NameKind, Record, VulnStatus
from vulndb_util import deb, debian_tree, dpkg_para, rpm_header, rpmdb_sqlite, store_with

LISTS = "var/lib/apt/lists"
DEBIAN = "deb.debian.org_debian_dists_bookworm"
DOCKER = "download.docker.com_linux_debian_dists_bookworm"


def index(*entries: tuple[str, str]) -> str:
    return "".join(f"Package: {n}\nVersion: {v}\nArchitecture: amd64\n\n" for n, v in entries)


def tree(root: Path) -> Path:
    debian_tree(root, dpkg_para("openssl", "3.0.11-1~deb12u2")
                + dpkg_para("docker-ce", "5:24.0.7-1~debian.12~bookworm")
                + dpkg_para("runc", "1.1.5+ds1-1+deb12u1")
                + dpkg_para("in-house-tool", "1.0"), version_id="12", codename="bookworm")
    lists = root / LISTS
    lists.mkdir(parents=True)
    (lists / f"{DEBIAN}_InRelease").write_text(
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: Debian\nLabel: Debian\n")
    (lists / f"{DEBIAN}_main_binary-amd64_Packages").write_text(
        index(("openssl", "3.0.11-1~deb12u2"), ("runc", "1.1.5+ds1-1+deb12u1")))
    (lists / f"{DOCKER}_InRelease").write_text("Origin: Docker\nLabel: Docker CE\n")
    (lists / f"{DOCKER}_stable_binary-amd64_Packages").write_text(
        index(("docker-ce", "5:24.0.7-1~debian.12~bookworm"), ("runc", "1.1.5+ds1-1+deb12u1")))
    return root


RECORDS = [deb("docker-ce", "CVE-2024-0100", "5:25.0.0-1", "bookworm"),
           deb("openssl", "CVE-2024-0200", "3.0.13-1~deb12u1", "bookworm"),
           deb("in-house-tool", "CVE-2024-0300", "1.1", "bookworm")]


def test_packages_of_another_origin_are_not_assessed(tmp_path: Path) -> None:
    db = store_with(tmp_path / "v.sqlite", RECORDS)
    root = tree(tmp_path / "root")
    facts = collect("package_vulns", DirectoryTarget("dir:t", str(root)), vulndb=str(db))
    assert [(i["name"], i["origin"]) for i in facts["not_assessed"]] == [("docker-ce", "Docker")]
    assert facts["not_assessed"][0]["problem"] == (
        "docker-ce 5:24.0.7-1~debian.12~bookworm comes from Docker, not Debian 12 (bookworm): "
        "not assessed against the distribution's advisories")
    # runc: the same build is in Debian's archive, so it is Debian's; a package in no list is
    # compared as usual (nothing says where it came from)
    assert sorted(v["source"] for v in facts["vulnerable"]) == ["in-house-tool", "openssl"]
    assert facts["assessed"] == 3


def test_not_assessed_packages_are_findings(tmp_path: Path) -> None:
    db = store_with(tmp_path / "v.sqlite", RECORDS)
    found = run_checks(DirectoryTarget("dir:t", str(tree(tmp_path / "root"))), hostsys_checks(),
                       vulndb=str(db))
    docker = found["patching.packages-not-assessed/docker-ce"]
    assert docker.status is Status.FAIL and "comes from Docker" in docker.problem
    assert "patching.vulnerable-packages/docker-ce" not in found


def test_without_other_origins_nothing_changes(tmp_path: Path) -> None:
    db = store_with(tmp_path / "v.sqlite", RECORDS)
    root = tree(tmp_path / "root")
    for f in (root / LISTS).glob(f"{DOCKER}_*"):
        f.unlink()
    facts = collect("package_vulns", DirectoryTarget("dir:t", str(root)), vulndb=str(db))
    assert facts["not_assessed"] == [] and "docker-ce" in {v["source"] for v in facts["vulnerable"]}


def rh(package: str, fixed: str) -> Record:
    return Record(distro="rhel", release="9", package=package, name_kind=NameKind.BINARY,
                  vuln_id=f"CVE-2024-{len(package):04d}", status=VulnStatus.FIXED, fixed=fixed,
                  scheme="rpm")


def test_rpm_packages_of_another_vendor_are_not_assessed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text('ID="rhel"\nVERSION_ID="9.4"\nNAME="Red Hat Enterprise Linux"\n')
    rpmdb_sqlite(root / "var/lib/rpm/rpmdb.sqlite", [
        rpm_header("openssl", "3.0.7", "27.el9", epoch=1, sourcerpm="openssl-3.0.7-27.el9.src.rpm",
                   vendor="Red Hat, Inc."),
        rpm_header("htop", "3.2.1", "1.el9", sourcerpm="htop-3.2.1-1.el9.src.rpm", vendor="Fedora Project"),
        rpm_header("unsigned-tool", "1.0", "1", sourcerpm="unsigned-tool-1.0-1.src.rpm"),
        rpm_header("gpg-pubkey", "fd431d51", "4ae0493b", arch="(none)", vendor="(none)"),
    ])
    db = store_with(tmp_path / "v.sqlite", [rh("openssl", "1:3.0.7-28.el9_5"), rh("htop", "3.3.0-1.el9"),
                                            rh("unsigned-tool", "1.1-1")])
    facts = collect("package_vulns", DirectoryTarget("dir:t", str(root)), vulndb=str(db))
    assert [(i["name"], i["origin"]) for i in facts["not_assessed"]] == [("htop", "Fedora Project")]
    assert sorted(v["source"] for v in facts["vulnerable"]) == ["openssl", "unsigned-tool"]
    packages = collect("packages", DirectoryTarget("dir:t", str(root)))["packages"]
    assert {p["name"]: p["vendor"] for p in packages}["openssl"] == "Red Hat, Inc."


def test_rpm_query_output_carries_the_vendor() -> None:
    rows = parse_rpm_query("bash\t0:5.1.8-9.el9\tbash-5.1.8-9.el9.src.rpm\tx86_64\tRed Hat, Inc.\n"
                           "gpg-pubkey\t0:fd431d51-4ae0493b\t(none)\t(none)\t(none)\n")
    assert [(r.name, r.vendor) for r in rows] == [("bash", "Red Hat, Inc."), ("gpg-pubkey", "")]


def test_a_damaged_third_party_index_does_not_stop_the_matching(tmp_path: Path) -> None:
    db = store_with(tmp_path / "v.sqlite", RECORDS)
    root = tree(tmp_path / "root")
    (root / LISTS / f"{DOCKER}_stable_binary-amd64_Packages").unlink()
    (root / LISTS / f"{DOCKER}_stable_binary-amd64_Packages.xz").write_bytes(b"\xfd7zXZ\x00 cut short")
    facts = collect("package_vulns", DirectoryTarget("dir:t", str(root)), vulndb=str(db))
    assert facts["not_assessed"] == [] and "openssl" in {v["source"] for v in facts["vulnerable"]}
