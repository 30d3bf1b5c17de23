"""os_release: identification, family, and end-of-life facts against a fixed clock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hostsys_util import collect
from smbaudit.errors import ProbeError
from smbaudit.probes import os_release
from smbaudit.targets.posixfs import DirectoryTarget


def tree(tmp_path: Path, files: dict[str, str]) -> DirectoryTarget:
    for path, text in files.items():
        dest = tmp_path / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text)
    return DirectoryTarget("dir:t", str(tmp_path))


UBUNTU_2204 = ('NAME="Ubuntu"\nVERSION="22.04.4 LTS (Jammy Jellyfish)"\nID=ubuntu\nID_LIKE=debian\n'
               'PRETTY_NAME="Ubuntu 22.04.4 LTS"\nVERSION_ID="22.04"\nVERSION_CODENAME=jammy\n')


def test_ubuntu_is_debian_family_with_eol_from_the_table(tmp_path: Path) -> None:
    facts = collect("os_release", tree(tmp_path, {"/etc/os-release": UBUNTU_2204}),
                    {"today": "2027-05-01"})
    assert facts["id"] == "ubuntu" and facts["family"] == "debian"
    assert facts["version_id"] == "22.04" and facts["pretty_name"] == "Ubuntu 22.04.4 LTS"
    assert facts["eol"] == "2027-06-30" and facts["extended_eol"] == "2032-04-30"
    assert facts["eol_passed"] is False and facts["days_to_eol"] == 60 and facts["lts"] is True


def test_eol_passed_with_a_later_clock(tmp_path: Path) -> None:
    target = tree(tmp_path, {"/etc/os-release": UBUNTU_2204})
    facts = collect("os_release", target, {"today": "2027-07-01"})
    assert facts["eol_passed"] is True and facts["days_to_eol"] == -1


def test_clock_from_scan_options_and_from_the_injectable_function(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    target = tree(tmp_path, {"/etc/os-release": 'ID=debian\nVERSION_ID="11"\nNAME="Debian GNU/Linux"\n'})
    assert collect("os_release", target, {}, today="2026-08-31")["eol_passed"] is False
    monkeypatch.setattr(os_release, "today_fn", lambda: dt.date(2026, 9, 1))
    facts = collect("os_release", target, {})
    assert facts["eol_passed"] is True and facts["today"] == "2026-09-01"


@pytest.mark.parametrize("text, family", [
    ('ID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\n', "rhel"),
    ('ID=almalinux\nVERSION_ID="8.9"\n', "rhel"),
    ('ID=amzn\nVERSION_ID="2023"\n', "rhel"),
    ('ID=linuxmint\nID_LIKE="ubuntu debian"\nVERSION_ID="21.3"\n', "debian"),
    ('ID=opensuse-leap\nID_LIKE="suse opensuse"\nVERSION_ID="15.5"\n', "suse"),
    ('ID=alpine\nVERSION_ID=3.19.1\n', "alpine"),
    ('ID=arch\n', "arch"),
    ('ID=nixos\nVERSION_ID="24.05"\n', "linux"),
])
def test_family(tmp_path: Path, text: str, family: str) -> None:
    facts = collect("os_release", tree(tmp_path, {"/usr/lib/os-release": text}), {"today": "2026-01-01"})
    assert facts["family"] == family and facts["source"] == "/usr/lib/os-release"


def test_rocky_major_version_lookup(tmp_path: Path) -> None:
    facts = collect("os_release", tree(tmp_path, {"/etc/os-release": 'ID="rocky"\nVERSION_ID="9.3"\n'}),
                    {"today": "2026-01-01"})
    assert facts["eol"] == "2032-05-31" and facts["known"] is True


def test_redhat_release_fallback(tmp_path: Path) -> None:
    target = tree(tmp_path, {"/etc/redhat-release": "CentOS Linux release 7.9.2009 (Core)\n"})
    facts = collect("os_release", target, {"today": "2026-01-01"})
    assert (facts["id"], facts["version_id"], facts["family"]) == ("centos", "7.9.2009", "rhel")
    assert facts["eol"] == "2024-06-30" and facts["eol_passed"] is True


def test_centos_stream_uses_the_stream_dates(tmp_path: Path) -> None:
    target = tree(tmp_path, {"/etc/os-release": 'NAME="CentOS Stream"\nID="centos"\nVERSION_ID="8"\n'})
    assert collect("os_release", target, {"today": "2024-01-01"})["eol"] == "2024-05-31"


def test_debian_version_fallback(tmp_path: Path) -> None:
    facts = collect("os_release", tree(tmp_path, {"/etc/debian_version": "10.13\n"}),
                    {"today": "2026-01-01"})
    assert facts["id"] == "debian" and facts["version_id"] == "10" and facts["eol_passed"] is True
    assert facts["version_codename"] == "buster"


def test_unknown_release_has_no_eol(tmp_path: Path) -> None:
    facts = collect("os_release", tree(tmp_path, {"/etc/os-release": 'ID=debian\nVERSION_ID="99"\n'}))
    assert facts["known"] is False and facts["eol"] is None and facts["eol_passed"] is None


def test_no_release_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match="os-release"):
        collect("os_release", tree(tmp_path, {"/etc/hostname": "x\n"}))


def test_table_covers_the_promised_releases() -> None:
    table = os_release.eol_table()
    assert {str(v) for v in range(8, 14)} <= set(table["debian"])
    ubuntu = set(table["ubuntu"])
    assert {"14.04", "16.04", "18.04", "20.04", "22.04", "24.04", "25.10", "23.10"} <= ubuntu
    for distro in ("rhel", "rocky", "almalinux", "centos", "fedora", "amzn"):
        assert table[distro], distro
    assert {"2", "2023"} <= set(table["amzn"])


def test_live_host(tmp_path: Path) -> None:
    from smbaudit.targets.posixfs import LocalTarget

    facts = collect("os_release", LocalTarget())
    assert facts["family"] in os_release.FAMILIES and facts["id"]
