"""Matching installed packages with the vulnerability store: version order edge cases,
releases, markers, kernels, package databases (dpkg, rpm sqlite and Berkeley DB, apk), and
the findings the checks make of it through the real engine."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from hostsys_util import collect, hostsys_checks, run_checks
from shared_data import shared_dir
from smbaudit.errors import DataMissing, ProbeError
from smbaudit.models import Severity, Status
from smbaudit.probes.packages import parse_apk_installed, parse_dpkg_status
from smbaudit.targets.posixfs import DirectoryTarget
from smbaudit.vulndb import build
from smbaudit.vulndb.match import Installed, choose_kernel, match
from smbaudit.vulndb.model import NameKind, Record, VulnStatus
from smbaudit.vulndb.store import VulnStore
from vulndb_util import (DATA, db_load_text, deb, debian_tree, dpkg_para, rpm_header,
                         rpmdb_sqlite, store_with)

SHARED = shared_dir("vulndata")


def judge(tmp_path: Path, records: list[Record], packages: str, **tree: str) -> dict:
    db = store_with(tmp_path / "v.sqlite", records)
    root = debian_tree(tmp_path / "root", packages, **tree)
    return collect("package_vulns", DirectoryTarget("dir:t", str(root)), vulndb=str(db))


def vulnerable(facts: dict) -> dict[str, list[str]]:
    return {v["source"]: [h["id"] for h in v["vulns"]] for v in facts["vulnerable"]}


# --------------------------------------------------------------------- version edge cases

@pytest.mark.parametrize("installed, fixed, is_vulnerable", [
    ("1.1.1n-0+deb10u3", "1.1.1n-0+deb10u4", True),      # +debNuM security updates
    ("1.1.1n-0+deb10u10", "1.1.1n-0+deb10u4", False),    # u10 > u4: numeric, not text order
    ("1:7.9p1-10+deb10u2", "1:7.9p1-10+deb10u3", True),  # epochs on both sides
    ("1:7.9p1-10+deb10u2", "7.9p1-10+deb10u9", False),   # an epoch beats any version
    ("2.0~rc1-1", "2.0-1", True),                        # tilde sorts before the release
    ("1.0-1~deb10u1", "1.0-1", True),                    # a stable update of sid's fix
    ("1.0-1+deb10u1", "1.0-1+deb10u1", False),           # exactly the fixed version
])
def test_debian_version_edge_cases(tmp_path: Path, installed: str, fixed: str,
                                   is_vulnerable: bool) -> None:
    facts = judge(tmp_path, [deb("pkg", "CVE-2023-0001", fixed)], dpkg_para("pkg", installed))
    assert ("pkg" in vulnerable(facts)) is is_vulnerable


def test_backports_are_judged_by_their_own_version(tmp_path: Path) -> None:
    records = [deb("newer", "CVE-2023-0001", "2.0-1+deb10u1"), deb("older", "CVE-2023-0002", "2.0-1+deb10u1")]
    facts = judge(tmp_path, records, dpkg_para("newer", "3.1-1~bpo10+1")   # newer upstream: fixed
                  + dpkg_para("older", "2.0-1~bpo10+1"))                   # ~bpo sorts before the fix
    assert vulnerable(facts) == {"older": ["CVE-2023-0002"]}


def test_binnmu_is_judged_by_the_source_version(tmp_path: Path) -> None:
    # libfoo1 1.0-1+b1 was rebuilt (binNMU) from source foo 1.0-1: the fix in 1.0-1+deb10u1
    # is missing although 1.0-1+b1 sorts after 1.0-1.
    facts = judge(tmp_path, [deb("foo", "CVE-2023-0003", "1.0-1+deb10u1")],
                  dpkg_para("libfoo1", "1.0-1+b1", "foo (1.0-1)"))
    assert vulnerable(facts) == {"foo": ["CVE-2023-0003"]}
    item = facts["vulnerable"][0]
    assert item["version"] == "1.0-1" and item["binaries"] == ["libfoo1"]


def test_source_version_kept_from_dpkg_status() -> None:
    pkgs = {p.name: p for p in parse_dpkg_status(
        dpkg_para("libssl1.1", "1.1.1n-0+deb10u3", "openssl") + dpkg_para("libfoo1", "1.0-1+b1", "foo (1.0-1)")
        + dpkg_para("bar", "2.0-1"))}
    assert (pkgs["libssl1.1"].source, pkgs["libssl1.1"].source_version) == ("openssl", "1.1.1n-0+deb10u3")
    assert (pkgs["libfoo1"].source, pkgs["libfoo1"].source_version) == ("foo", "1.0-1")
    assert (pkgs["bar"].source, pkgs["bar"].source_version) == ("bar", "2.0-1")


def test_fix_for_another_release_is_never_applied(tmp_path: Path) -> None:
    records = [deb("openssl", "CVE-2023-0286", "1.1.1n-0+deb11u4", release="bullseye"),
               deb("openssl", "CVE-2023-0286", "3.0.8-1", release="bookworm")]
    facts = judge(tmp_path, records + [deb("other", "CVE-1", "1.0-2")],
                  dpkg_para("openssl", "1.1.1n-0+deb10u3"))
    assert facts["vulnerable"] == [] and facts["release"] == "buster"


def test_zero_marker_means_not_affected_even_beside_other_rows(tmp_path: Path) -> None:
    loaded = build.parse_paths([DATA / "tracker.json"], {})
    db = tmp_path / "v.sqlite"
    build.write_feeds(db, loaded.feeds)
    root = debian_tree(tmp_path / "root", dpkg_para("openssl", "3.0.11-1~deb12u2"),
                       version_id="12", codename="bookworm")
    facts = collect("package_vulns", DirectoryTarget("dir:t", str(root)), vulndb=str(db))
    # CVE-2007-0001 has "0" for bookworm: not affected; CVE-2023-5678 is fixed in 3.0.13-1~deb12u1
    assert vulnerable(facts) == {"openssl": ["CVE-2023-5678"]}
    assert facts["vulnerable"][0]["severity"] == "low"
    assert facts["vulnerable"][0]["severity_from"] == "vendor"


def test_unfixed_counted_and_listed_only_when_asked(tmp_path: Path) -> None:
    records = [deb("sudo", "CVE-2023-0010", "", status=VulnStatus.AFFECTED, severity="medium"),
               deb("sudo", "CVE-2023-0011", "", status=VulnStatus.DEFERRED),
               deb("bash", "CVE-2023-0012", "", status=VulnStatus.WONT_FIX),
               deb("bash", "CVE-2023-0013", "5.0-4+deb10u1")]
    packages = dpkg_para("sudo", "1.8.27-1+deb10u5") + dpkg_para("bash", "5.0-4")
    facts = judge(tmp_path, records, packages)
    assert facts["unfixed_count"] == 3 and facts["unfixed"] == [] and not facts["unfixed_listed"]
    assert "1 more with no fix yet" in facts["vulnerable"][0]["problem"]
    db = tmp_path / "v.sqlite"
    listed = collect("package_vulns", DirectoryTarget("dir:t", str(tmp_path / "root")),
                     vulndb=str(db), include_unfixed=True)
    assert [u["source"] for u in listed["unfixed"]] == ["sudo"]  # bash is in `vulnerable`
    assert listed["unfixed"][0]["problem"].startswith("sudo 1.8.27-1+deb10u5 (sudo): 2 known")


# --------------------------------------------------------------------- kernels

KERNELS = (dpkg_para("linux-image-4.19.0-16-amd64", "4.19.181-1", "linux-signed-amd64 (4.19.181+1)")
           + dpkg_para("linux-image-4.19.0-20-amd64", "4.19.235-1", "linux-signed-amd64 (4.19.235+1)")
           + dpkg_para("linux-image-amd64", "4.19+105+deb10u15", "linux-signed-amd64 (4.19.235+1)")
           + dpkg_para("linux-headers-4.19.0-16-amd64", "4.19.181-1", "linux"))


def test_offline_kernel_newest_installed_is_judged_by_its_own_version(tmp_path: Path) -> None:
    records = [deb("linux", "CVE-2022-0001", "4.19.208-1"), deb("linux", "CVE-2022-0002", "4.19.249-1")]
    facts = judge(tmp_path, records, KERNELS)
    assert facts["kernel"] == {"package": "linux-image-4.19.0-20-amd64", "version": "4.19.235-1",
                               "judged": "newest installed"}
    assert vulnerable(facts) == {"linux": ["CVE-2022-0002"]}  # not the old kernel's CVE-2022-0001
    item = facts["vulnerable"][0]
    assert item["binaries"] == ["linux-image-4.19.0-20-amd64"] and "newest installed" in item["problem"]


def test_running_kernel_is_judged_on_a_live_host() -> None:
    pkgs = [Installed(p.name, p.version, p.source, p.source_version)
            for p in parse_dpkg_status(KERNELS)]
    chosen, skipped = choose_kernel(pkgs, "deb", "4.19.0-16-amd64")
    assert chosen is not None and chosen.package == "linux-image-4.19.0-16-amd64"
    assert chosen.judged == "running"
    assert ("linux-image-4.19.0-20-amd64", "4.19.235-1") in skipped
    rpms = [Installed("kernel-core", "5.14.0-362.8.1.el9_3", "kernel", "", "x86_64"),
            Installed("kernel-core", "5.14.0-427.13.1.el9_4", "kernel", "", "x86_64")]
    chosen, skipped = choose_kernel(rpms, "rpm", "5.14.0-362.8.1.el9_3.x86_64")
    assert chosen is not None and chosen.version == "5.14.0-362.8.1.el9_3" and chosen.judged == "running"
    assert skipped == {("kernel-core", "5.14.0-427.13.1.el9_4")}


# --------------------------------------------------------------------- releases and coverage

def test_release_without_codename_uses_version_and_uncovered_is_an_error(tmp_path: Path) -> None:
    facts = judge(tmp_path, [deb("pkg", "CVE-1", "1.0-2")], dpkg_para("pkg", "1.0-1"), codename="")
    assert facts["release"] == "buster" and facts["eol"]["eol_lts"] == "2024-06-30"
    root = debian_tree(tmp_path / "trixie", dpkg_para("pkg", "1.0-1"), version_id="13", codename="trixie")
    with pytest.raises(ProbeError, match="not assessed: the vulnerability data does not cover "
                                         "debian trixie \\(it holds debian buster\\)"):
        collect("package_vulns", DirectoryTarget("dir:t", str(root)), vulndb=str(tmp_path / "v.sqlite"))


def test_no_store_is_data_missing(tmp_path: Path) -> None:
    root = debian_tree(tmp_path, dpkg_para("pkg", "1.0-1"))
    with pytest.raises(DataMissing, match="smbaudit vulndb update"):
        collect("package_vulns", DirectoryTarget("dir:t", str(root)), vulndb=str(tmp_path / "none.sqlite"))


# --------------------------------------------------------------------- rpm and apk databases

RHEL_HEADERS = [
    rpm_header("openssl-libs", "3.0.7", "24.el9", epoch=1, sourcerpm="openssl-3.0.7-24.el9.src.rpm"),
    rpm_header("openssl", "3.0.7", "27.el9", epoch=1, sourcerpm="openssl-3.0.7-27.el9.src.rpm"),
    rpm_header("openssh-server", "8.7p1", "38.el9", sourcerpm="openssh-8.7p1-38.el9.src.rpm",
               padding=6000),  # bigger than a page: Berkeley DB keeps it on overflow pages
    rpm_header("bash", "4.4.20", "4.el8", sourcerpm="bash-4.4.20-4.el8.src.rpm"),
    rpm_header("gpg-pubkey", "3228467c", "613798eb", arch="(none)"),
]


def rhel_tree(root: Path, os_id: str, version: str) -> Path:
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc/os-release").write_text(f'ID="{os_id}"\nVERSION_ID="{version}"\nNAME="{os_id}"\n')
    return root


def test_rpmdb_sqlite_read_in_process_and_matched_by_binary(tmp_path: Path) -> None:
    root = rhel_tree(tmp_path / "alma", "almalinux", "9.3")
    rpmdb_sqlite(root / "var/lib/rpm/rpmdb.sqlite", RHEL_HEADERS)
    before = (root / "var/lib/rpm/rpmdb.sqlite").read_bytes()
    packages = collect("packages", DirectoryTarget("dir:t", str(root)))
    by = {p["name"]: p for p in packages["packages"]}
    assert packages["manager"] == "rpm" and "gpg-pubkey" in by
    assert by["openssl-libs"]["version"] == "1:3.0.7-24.el9" and by["openssl-libs"]["source"] == "openssl"
    db = tmp_path / "v.sqlite"
    build.import_paths(db, [DATA / "osv-folder", DATA / "rhsa-2024_0003.json"])
    facts = collect("package_vulns", DirectoryTarget("dir:t", str(root)), vulndb=str(db))
    assert facts["data_distro"] == "almalinux"
    item = {v["source"]: v for v in facts["vulnerable"]}["openssl"]
    assert item["binaries"] == ["openssl", "openssl-libs"] and item["fixed_in"] == "1:3.0.7-25.el9_3"
    assert item["version"] == "1:3.0.7-24.el9" and item["severity"] == "high"
    assert (root / "var/lib/rpm/rpmdb.sqlite").read_bytes() == before
    assert sorted(os.listdir(root / "var/lib/rpm")) == ["rpmdb.sqlite"]  # nothing written beside it


def test_rhel_clone_without_own_data_uses_red_hat_data(tmp_path: Path) -> None:
    root = rhel_tree(tmp_path / "centos", "centos", "9")
    rpmdb_sqlite(root / "usr/lib/sysimage/rpm/rpmdb.sqlite", RHEL_HEADERS)
    db = tmp_path / "v.sqlite"
    build.import_paths(db, [DATA / "rhsa-2024_0003.json"])
    facts = collect("package_vulns", DirectoryTarget("dir:t", str(root)), vulndb=str(db))
    # The only RHEL 9 row outside EUS is openssh's fix (source and binary rows)
    assert facts["data_distro"] == "rhel"
    assert vulnerable(facts) == {"openssh": ["CVE-2024-6387"]}
    assert facts["vulnerable"][0]["severity_from"] == "vendor"


def _ci() -> bool:
    return os.environ.get("CI") == "true"


@pytest.mark.skipif(shutil.which("db_load") is None and not _ci(), reason="db_load (db-util) is not installed")
def test_berkeley_db_packages_read_in_process(tmp_path: Path) -> None:
    root = rhel_tree(tmp_path / "rhel8", "rocky", "8.9")
    (root / "var/lib/rpm").mkdir(parents=True)
    pairs = [(i.to_bytes(4, "little"), h) for i, h in enumerate(RHEL_HEADERS, start=1)]
    pairs.insert(0, ((0).to_bytes(4, "little"), (6).to_bytes(4, "little")))  # rpm's counter record
    subprocess.run(["db_load", "-T", "-t", "hash", str(root / "var/lib/rpm/Packages")],
                   input=db_load_text(pairs).encode(), check=True, timeout=30)
    packages = {p["name"]: p for p in collect("packages", DirectoryTarget("dir:t", str(root)))["packages"]}
    assert packages["openssh-server"]["version"] == "8.7p1-38.el9"  # the one on overflow pages
    assert packages["bash"]["source"] == "bash" and len(packages) == 5
    db = tmp_path / "v.sqlite"
    build.import_paths(db, [DATA / "osv-folder"])
    facts = collect("package_vulns", DirectoryTarget("dir:t", str(root)), vulndb=str(db))
    assert vulnerable(facts) == {"bash": ["CVE-2022-3715"]}
    assert facts["vulnerable"][0]["advisories"] == ["RLSA-2024:0002"]


def test_alpine_installed_database_matched_by_origin(tmp_path: Path) -> None:
    root = tmp_path / "alpine"
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text("ID=alpine\nVERSION_ID=3.19.1\nNAME=\"Alpine Linux\"\n")
    (root / "lib/apk/db").mkdir(parents=True)
    (root / "lib/apk/db/installed").write_text(
        "C:Q1abc=\nP:libcrypto3\nV:3.1.4-r1\nA:x86_64\no:openssl\n\n"
        "P:zlib\nV:1.3-r2\nA:x86_64\no:zlib\n\n")
    assert parse_apk_installed((root / "lib/apk/db/installed").read_text())[0].source == "openssl"
    db = tmp_path / "v.sqlite"
    build.import_paths(db, [DATA / "alpine-v3.19-main.yaml"])
    facts = collect("package_vulns", DirectoryTarget("dir:t", str(root)), vulndb=str(db))
    assert facts["release"] == "3.19" and facts["manager"] == "apk"
    assert vulnerable(facts) == {"openssl": ["CVE-2023-6237", "CVE-2024-0727"]}


# --------------------------------------------------------------------- findings through the engine

def test_findings_one_per_source_package_with_headline_and_evidence(tmp_path: Path) -> None:
    records = [deb("openssl", "CVE-2023-0286", "1.1.1n-0+deb10u4", advisory="DLA-3325-1", severity="high"),
               deb("openssl", "CVE-2023-0464", "1.1.1n-0+deb10u5", advisory="DLA-3449-1", cvss=7.5),
               deb("curl", "CVE-2023-0020", "7.64.0-4+deb10u6", cvss=9.8)]
    db = store_with(tmp_path / "v.sqlite", records)
    root = debian_tree(tmp_path / "root", dpkg_para("openssl", "1.1.1n-0+deb10u3")
                       + dpkg_para("libssl1.1", "1.1.1n-0+deb10u3", "openssl")
                       + dpkg_para("curl", "7.64.0-4+deb10u5"))
    found = run_checks(DirectoryTarget("dir:t", str(root)), hostsys_checks(), vulndb=str(db))
    ssl = found["patching.vulnerable-packages/openssl"]
    assert ssl.status is Status.FAIL and ssl.severity is Severity.HIGH
    assert ssl.problem == ("openssl 1.1.1n-0+deb10u3 (libssl1.1, openssl): 2 CVEs fixed in "
                           "1.1.1n-0+deb10u5 (DLA-3325-1, DLA-3449-1)")
    assert [e.fact for e in ssl.evidence] == ["openssl: CVE-2023-0286", "openssl: CVE-2023-0464"]
    assert "severity high from vendor" in ssl.evidence[0].message
    assert "severity high from CVSS 7.5" in ssl.evidence[1].message
    assert found["patching.vulnerable-packages/curl"].severity is Severity.CRITICAL  # CVSS 9.8
    assert "patching.vulnerable-packages" not in found
    assert found["patching.vulnerability-data-current"].status is Status.PASS
    assert found["patching.unfixed-vulnerabilities"].status is Status.NOT_APPLICABLE


def test_without_store_checks_are_not_assessed_and_rest_runs(tmp_path: Path) -> None:
    root = debian_tree(tmp_path / "root", dpkg_para("openssl", "1.1.1n-0+deb10u3"))
    found = run_checks(DirectoryTarget("dir:t", str(root)), hostsys_checks(),
                       vulndb=str(tmp_path / "none.sqlite"))
    for check in ("patching.vulnerable-packages", "patching.vulnerability-data-current"):
        assert found[check].status is Status.SKIPPED
        assert "smbaudit vulndb update" in found[check].reason
    assert any(f.status in (Status.PASS, Status.FAIL) for f in found.values())


def test_stale_data_becomes_a_finding(tmp_path: Path) -> None:
    db = store_with(tmp_path / "v.sqlite", [deb("pkg", "CVE-1", "1.0-2")],
                    fetched_at="2020-01-01T00:00:00+00:00")
    root = debian_tree(tmp_path / "root", dpkg_para("pkg", "1.0-2"))
    found = run_checks(DirectoryTarget("dir:t", str(root)), hostsys_checks(), vulndb=str(db))
    stale = found["patching.vulnerability-data-current"]
    assert stale.status is Status.FAIL and "of 2020-01-01" in stale.problem
    assert found["patching.vulnerable-packages"].status is Status.PASS


def test_a_tree_with_2000_packages(tmp_path: Path) -> None:
    records = [deb(f"src{i}", f"CVE-2023-{i:05d}", f"1.0-{i % 7 + 2}") for i in range(0, 3000, 3)]
    packages = "".join(dpkg_para(f"bin{i}", "1.0-4", f"src{i // 2}") for i in range(2000))
    db = store_with(tmp_path / "v.sqlite", records)
    root = debian_tree(tmp_path / "root", packages)
    started = time.monotonic()
    facts = collect("package_vulns", DirectoryTarget("dir:t", str(root)), vulndb=str(db))
    elapsed = time.monotonic() - started
    expected = {f"src{i}" for i in range(0, 1000, 3) if i % 7 + 2 > 4}
    assert facts["assessed"] == 2000 and set(vulnerable(facts)) == expected
    assert all(len(v["binaries"]) == 2 for v in facts["vulnerable"])
    assert elapsed < 30  # generous bound for a loaded CI machine; the benchmark measures it


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/vulndata is not present")
def test_real_debian_lists_find_the_openssl_fixes(tmp_path: Path) -> None:
    db = tmp_path / "real.sqlite"
    build.import_paths(db, [SHARED / "debian" / "DSA-list", SHARED / "debian" / "DLA-list"])
    root = debian_tree(tmp_path / "root", dpkg_para("openssl", "1.1.1n-0+deb10u3")
                       + dpkg_para("libssl1.1", "1.1.1n-0+deb10u3", "openssl")
                       + dpkg_para("openssh-server", "1:7.9p1-10+deb10u2", "openssh"))
    facts = collect("package_vulns", DirectoryTarget("dir:t", str(root)), vulndb=str(db))
    ssl = {v["source"]: v for v in facts["vulnerable"]}["openssl"]
    # the lists end on 2023-04-02: DLA-3325-1 is in them, DLA-3449-1 (June 2023) is not yet
    assert ssl["advisories"] == ["DLA-3325-1"] and ssl["fixed_in"] == "1.1.1n-0+deb10u4"
    assert set(h["id"] for h in ssl["vulns"]) >= {"CVE-2023-0286", "CVE-2023-0215", "CVE-2022-4450"}
    with VulnStore(db) as store:
        assert not store.records("debian", "buster", ["nosuchpackage"])
    assert NameKind.SOURCE.value == "source"
