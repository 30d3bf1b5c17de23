"""Update channels beyond the main archive: Ubuntu Pro (ESM) read from apt sources, Red Hat
EUS from the enabled repository ids; fixes of a channel the host receives win, and an Ubuntu
host without Pro is told which fixes only Ubuntu Pro carries. Hand-written trees and stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from hostsys_util import collect, hostsys_checks, run_checks
from smbaudit.models import Status
from smbaudit.targets.posixfs import DirectoryTarget
from smbaudit.vulndb import channels
from smbaudit.vulndb.model import NameKind, Record, VulnStatus
from vulndb_util import dpkg_para, rpm_header, rpmdb_sqlite, store_with

ESM_SOURCES = """\
# Written by ubuntu-pro-client
Types: deb
URIs: https://esm.ubuntu.com/infra/ubuntu
Suites: bionic-infra-security bionic-infra-updates
Components: main
Signed-By: /usr/share/keyrings/ubuntu-pro-esm-infra.gpg
"""
ESM_LIST = ("deb [signed-by=/usr/share/keyrings/ubuntu-pro-esm-apps.gpg] "
            "https://esm.ubuntu.com/apps/ubuntu bionic-apps-security main\n")


def ubu(package: str, vuln: str, fixed: str, channel: str = "", *,
        status: VulnStatus = VulnStatus.FIXED, advisory: str = "") -> Record:
    return Record(distro="ubuntu", release="bionic", channel=channel, package=package,
                  name_kind=NameKind.SOURCE, vuln_id=vuln, status=status, fixed=fixed,
                  scheme="deb", advisories=(advisory,) if advisory else ())


UBUNTU_RECORDS = [
    ubu("curl", "CVE-2024-0001", "7.58.0-2ubuntu3.21", advisory="USN-6000-1"),
    ubu("curl", "CVE-2024-0002", "", status=VulnStatus.AFFECTED),
    ubu("curl", "CVE-2024-0002", "7.58.0-2ubuntu3.24+esm3", "pro", advisory="USN-6600-1"),
    ubu("vim", "CVE-2024-0003", "2:8.0.1453-1ubuntu1.13+esm1", "pro", advisory="USN-6700-1"),
    ubu("vim", "CVE-2024-0004", "2:8.0.1453-1ubuntu1.1", "pro"),  # installed is newer: clean
]


def ubuntu_tree(root: Path, sources: dict[str, str]) -> Path:
    (root / "etc/apt/sources.list.d").mkdir(parents=True)
    (root / "etc/os-release").write_text('ID=ubuntu\nVERSION_ID="18.04"\nVERSION_CODENAME=bionic\n')
    (root / "etc/apt/sources.list").write_text(
        "deb http://archive.ubuntu.com/ubuntu bionic main universe\n"
        "deb http://security.ubuntu.com/ubuntu bionic-security main universe\n")
    for name, text in sources.items():
        (root / "etc/apt/sources.list.d" / name).write_text(text)
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text(
        dpkg_para("curl", "7.58.0-2ubuntu3.20") + dpkg_para("libcurl4", "7.58.0-2ubuntu3.20", "curl")
        + dpkg_para("vim", "2:8.0.1453-1ubuntu1.8"))
    return root


def ubuntu_facts(tmp_path: Path, sources: dict[str, str]) -> dict:
    db = store_with(tmp_path / "v.sqlite", UBUNTU_RECORDS)
    root = ubuntu_tree(tmp_path / "root", sources)
    return collect("package_vulns", DirectoryTarget("dir:t", str(root)), vulndb=str(db))


def test_ubuntu_without_pro_is_told_which_fixes_need_ubuntu_pro(tmp_path: Path) -> None:
    facts = ubuntu_facts(tmp_path, {})
    assert facts["channels"] == [] and facts["elsewhere_count"] == 2
    items = {v["source"]: v for v in facts["vulnerable"]}
    assert items["curl"]["problem"] == (
        "curl 7.58.0-2ubuntu3.20 (curl, libcurl4): 1 CVE fixed in 7.58.0-2ubuntu3.21 (USN-6000-1); "
        "1 more CVE fixed in 7.58.0-2ubuntu3.24+esm3: fix available with Ubuntu Pro")
    assert items["curl"]["fixed_in"] == "7.58.0-2ubuntu3.21" and items["curl"]["elsewhere"] == "Ubuntu Pro"
    assert items["vim"]["problem"] == ("vim 2:8.0.1453-1ubuntu1.8 (vim): 1 CVE fixed in "
                                       "2:8.0.1453-1ubuntu1.13+esm1: fix available with Ubuntu Pro")
    evidence = [e["message"] for e in items["curl"]["evidence"]]
    assert "fix available with Ubuntu Pro" in evidence[1] and "Ubuntu Pro" not in evidence[0]
    assert facts["unfixed_count"] == 0  # CVE-2024-0002 has a fix, in Ubuntu Pro


@pytest.mark.parametrize("sources", [
    {"ubuntu-esm-infra.sources": ESM_SOURCES},
    {"ubuntu-esm-apps.list": ESM_LIST},
])
def test_ubuntu_with_esm_enabled_matches_the_esm_fixes(tmp_path: Path, sources: dict[str, str]) -> None:
    facts = ubuntu_facts(tmp_path, sources)
    assert facts["channels"] == ["pro"] and facts["elsewhere_count"] == 0
    items = {v["source"]: v for v in facts["vulnerable"]}
    assert items["curl"]["fixed_in"] == "7.58.0-2ubuntu3.24+esm3"
    assert items["curl"]["problem"] == ("curl 7.58.0-2ubuntu3.20 (curl, libcurl4): 2 CVEs fixed in "
                                        "7.58.0-2ubuntu3.24+esm3 (USN-6000-1, USN-6600-1)")
    assert [h["channel"] for h in items["curl"]["vulns"]] == ["", "pro"]
    assert items["vim"]["fixed_in"] == "2:8.0.1453-1ubuntu1.13+esm1" and items["vim"]["elsewhere"] == ""


def test_a_pro_host_keeps_the_main_archives_fixes(tmp_path: Path) -> None:
    # Ubuntu Pro adds to the main archive: a main fix stands even when the Pro row has none
    records = [ubu("curl", "CVE-2024-0009", "7.58.0-2ubuntu3.22"),
               ubu("curl", "CVE-2024-0009", "", "pro", status=VulnStatus.AFFECTED)]
    db = store_with(tmp_path / "v.sqlite", records)
    root = ubuntu_tree(tmp_path / "root", {"ubuntu-esm-infra.sources": ESM_SOURCES})
    facts = collect("package_vulns", DirectoryTarget("dir:t", str(root)), vulndb=str(db))
    assert facts["vulnerable"][0]["fixed_in"] == "7.58.0-2ubuntu3.22"


@pytest.mark.parametrize("sources", [
    {"ubuntu-esm-infra.sources": ESM_SOURCES.replace("Types: deb", "Types: deb\nEnabled: no")},
    {"ubuntu-esm-apps.list": "# " + ESM_LIST},
    {"ubuntu-esm-apps.list.save": ESM_LIST},  # not a file apt reads
])
def test_esm_sources_that_are_off_do_not_count(tmp_path: Path, sources: dict[str, str]) -> None:
    assert ubuntu_facts(tmp_path, sources)["channels"] == []


def test_esm_through_a_local_mirror_is_known_by_its_suites() -> None:
    assert channels.esm_in_list("deb http://mirror.lan/esm bionic-infra-security main\n")
    assert not channels.esm_in_list("deb http://mirror.lan/ubuntu bionic-security main\n")
    assert channels.esm_in_sources("URIs: http://m.lan/u\nSuites:\n bionic-apps-updates\n")


# ------------------------------------------------------------------------------- RHEL EUS

def rh(vuln: str, fixed: str, channel: str = "") -> Record:
    return Record(distro="rhel", release="9", channel=channel, package="openssl",
                  name_kind=NameKind.BINARY, vuln_id=vuln, status=VulnStatus.FIXED, fixed=fixed,
                  scheme="rpm", advisories=("RHSA-2024:0100",))


RHEL_RECORDS = [rh("CVE-2024-1000", "1:3.0.7-28.el9_5"),
                rh("CVE-2024-1000", "1:3.0.7-27.el9_4.2", "eus:9.4"),
                rh("CVE-2024-1000", "1:3.0.7-24.el9_2.9", "eus:9.2")]
EUS_REPO = """\
[rhel-9-for-x86_64-baseos-rpms]
name = Red Hat Enterprise Linux 9 for x86_64 - BaseOS (RPMs)
enabled = 0

[rhel-9-for-x86_64-baseos-eus-rpms]
name = Red Hat Enterprise Linux 9 for x86_64 - BaseOS - Extended Update Support (RPMs)
enabled = {enabled}
"""


def rhel_facts(tmp_path: Path, installed: str, repo: str | None, releasever: str = "") -> dict:
    root = tmp_path / "root"
    (root / "etc/yum.repos.d").mkdir(parents=True)
    (root / "etc/os-release").write_text('ID="rhel"\nVERSION_ID="9.4"\nNAME="Red Hat Enterprise Linux"\n')
    if repo is not None:
        (root / "etc/yum.repos.d/redhat.repo").write_text(repo)
    if releasever:
        (root / "etc/dnf/vars").mkdir(parents=True)
        (root / "etc/dnf/vars/releasever").write_text(releasever + "\n")
    version, release = installed.split(":")[1].split("-")
    rpmdb_sqlite(root / "var/lib/rpm/rpmdb.sqlite", [
        rpm_header("openssl", version, release, epoch=1, sourcerpm=f"openssl-{version}-{release}.src.rpm")])
    db = store_with(tmp_path / "v.sqlite", RHEL_RECORDS)
    return collect("package_vulns", DirectoryTarget("dir:t", str(root)), vulndb=str(db))


def test_rhel_eus_host_is_judged_by_its_minor_releases_eus_fixes(tmp_path: Path) -> None:
    facts = rhel_facts(tmp_path, "1:3.0.7-27.el9_4.1", EUS_REPO.format(enabled=1))
    assert facts["channels"] == ["eus:9.4"]
    item = facts["vulnerable"][0]
    assert item["fixed_in"] == "1:3.0.7-27.el9_4.2" and item["elsewhere_count"] == 0
    assert "[Red Hat EUS 9.4]" in item["evidence"][0]["message"]


def test_rhel_eus_host_with_the_eus_fix_is_clean(tmp_path: Path) -> None:
    facts = rhel_facts(tmp_path, "1:3.0.7-27.el9_4.2", EUS_REPO.format(enabled=1))
    assert facts["vulnerable"] == []


def test_rhel_without_eus_is_judged_by_the_main_stream(tmp_path: Path) -> None:
    for repo in (None, EUS_REPO.format(enabled=0)):
        facts = rhel_facts(tmp_path / str(repo is None), "1:3.0.7-27.el9_4.2", repo)
        assert facts["channels"] == [] and facts["vulnerable"][0]["fixed_in"] == "1:3.0.7-28.el9_5"


def test_rhel_eus_minor_release_pinned_with_releasever(tmp_path: Path) -> None:
    facts = rhel_facts(tmp_path, "1:3.0.7-24.el9_2.8", EUS_REPO.format(enabled=1), releasever="9.2")
    assert facts["channels"] == ["eus:9.2"]
    assert facts["vulnerable"][0]["fixed_in"] == "1:3.0.7-24.el9_2.9"


def test_channel_findings_through_the_engine(tmp_path: Path) -> None:
    db = store_with(tmp_path / "v.sqlite", UBUNTU_RECORDS)
    root = ubuntu_tree(tmp_path / "root", {})
    found = run_checks(DirectoryTarget("dir:t", str(root)), hostsys_checks(), vulndb=str(db))
    vim = found["patching.vulnerable-packages/vim"]
    assert vim.status is Status.FAIL and vim.problem.endswith("fix available with Ubuntu Pro")


def test_rhel_streams_and_channel_names() -> None:
    assert channels.rhel_streams(["[rhel-8-for-x86_64-appstream-e4s-rpms]\n",
                                  "[rhel-7-server-eus-rpms]\nenabled=1\n", "not an ini ["]) == ["e4s", "eus"]
    assert channels.rhel_channels(["eus"], "9") == []  # no minor release known: not matched
    assert channels.describe("eus:9.4") == "Red Hat EUS 9.4" and channels.describe("pro") == "Ubuntu Pro"


def test_ubuntu_signed_kernel_is_judged_as_the_linux_source(tmp_path: Path) -> None:
    def linux(vuln: str, fixed: str) -> Record:
        return Record(distro="ubuntu", release="jammy", package="linux", name_kind=NameKind.SOURCE,
                      vuln_id=vuln, status=VulnStatus.FIXED, fixed=fixed, scheme="deb")
    db = store_with(tmp_path / "v.sqlite", [linux("CVE-2023-0001", "5.15.0-89.99"),
                                            linux("CVE-2024-0002", "5.15.0-92.102")])
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text('ID=ubuntu\nVERSION_ID="22.04"\nVERSION_CODENAME=jammy\n')
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text(
        dpkg_para("linux-image-5.15.0-88-generic", "5.15.0-88.98", "linux-signed (5.15.0-88.98)")
        + dpkg_para("linux-image-5.15.0-91-generic", "5.15.0-91.101", "linux-signed (5.15.0-91.101)")
        + dpkg_para("linux-modules-5.15.0-88-generic", "5.15.0-88.98", "linux")
        + dpkg_para("linux-modules-5.15.0-91-generic", "5.15.0-91.101", "linux")
        + dpkg_para("linux-image-generic", "5.15.0.91.88", "linux-meta"))
    facts = collect("package_vulns", DirectoryTarget("dir:t", str(root)), vulndb=str(db))
    assert facts["kernel"] == {"package": "linux-image-5.15.0-91-generic", "version": "5.15.0-91.101",
                               "judged": "newest installed"}
    assert [(v["source"], [h["id"] for h in v["vulns"]]) for v in facts["vulnerable"]] == [
        ("linux", ["CVE-2024-0002"])]
    assert facts["vulnerable"][0]["fixed_in"] == "5.15.0-92.102"
