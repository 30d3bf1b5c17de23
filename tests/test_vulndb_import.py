"""The vulnerability store's importers, each on a fixture written by hand in its format, and
the import / status / export commands."""

from __future__ import annotations

import gzip
import io
import json
import lzma
import os
import sqlite3
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from shared_data import shared_dir
from smbaudit.cli import cli
from smbaudit.vulndb import build, detect
from smbaudit.vulndb.cvss import base_score
from smbaudit.vulndb.errors import ImportFailure, VulnDBError
from smbaudit.vulndb.model import NameKind, VulnStatus
from smbaudit.vulndb.releases import parse_distro_info, system_releases
from smbaudit.vulndb.status import store_status
from smbaudit.vulndb.store import VulnStore

DATA = Path(__file__).parent / "data" / "vulndb"
SHARED = shared_dir("vulndata")
CODENAMES = {"debian": {"10": "buster", "11": "bullseye", "12": "bookworm"},
             "ubuntu": {"22.04": "jammy", "18.04": "bionic"}}


def parse(path: Path) -> detect.Loaded:
    return detect.parse_bytes(path.read_bytes(), str(path), CODENAMES)


def by_vuln(loaded: detect.Loaded) -> dict[tuple[str, str, str], object]:
    return {(r.release, r.package, r.vuln_id): r for r in loaded.parsed.records}


def test_dla_list_gives_fixed_versions_per_cve_and_release() -> None:
    loaded = parse(DATA / "DLA-list")
    assert loaded.parsed.format == "debian-dsa-list"
    rows = by_vuln(loaded)
    r = rows[("buster", "openssl", "CVE-2023-0464")]
    assert r.status is VulnStatus.FIXED and r.fixed == "1.1.1n-0+deb10u5"
    assert r.advisories == ("DLA-3449-1",) and r.published == "2023-06-12"
    assert r.name_kind is NameKind.SOURCE and r.scheme == "deb"
    assert rows[("buster", "nosuchthing", "CVE-2022-9999")].status is VulnStatus.NOT_AFFECTED
    # an advisory without CVE ids is recorded under its own id
    assert rows[("buster", "joblib", "DLA-3193-2")].fixed == "0.13.0-2+deb10u2"
    assert loaded.parsed.newest == "2023-06-12"


def test_dsa_list_release_lines_indented_with_spaces_and_tags() -> None:
    rows = by_vuln(parse(DATA / "DSA-list"))
    assert rows[("bullseye", "openssl", "CVE-2022-4304")].fixed == "1.1.1n-0+deb11u4"
    assert rows[("buster", "openssl", "CVE-2023-0286")].status is VulnStatus.WONT_FIX
    assert rows[("bullseye", "xorg-server", "CVE-2023-1393")].fixed == "2:1.20.11-1+deb11u6"


def test_dsa_list_damaged_header_names_the_line() -> None:
    with pytest.raises(ImportFailure, match=r"x:2: bad date"):
        detect.parse_bytes(b"[01 Jan 2023] DSA-1-1 a - b\n[99 Foo 2023] DSA-2-1 b - c\n", "x", {})


def test_tracker_json_statuses_zero_marker_and_urgency() -> None:
    loaded = parse(DATA / "tracker.json")
    assert loaded.parsed.format == "debian-tracker-json"
    rows = by_vuln(loaded)
    fixed = rows[("bookworm", "openssl", "CVE-2023-5678")]
    assert fixed.status is VulnStatus.FIXED and fixed.fixed == "3.0.13-1~deb12u1"
    assert fixed.severity == "low"
    assert rows[("bullseye", "openssl", "CVE-2023-5678")].status is VulnStatus.DEFERRED
    zero = rows[("bookworm", "openssl", "CVE-2007-0001")]
    assert zero.status is VulnStatus.NOT_AFFECTED and zero.fixed == ""
    assert rows[("bookworm", "linux", "CVE-2024-0001")].severity == "high"  # "high**"
    assert rows[("bookworm", "linux", "CVE-2024-0002")].status is VulnStatus.AFFECTED
    assert rows[("bookworm", "linux", "CVE-2024-0002")].severity == ""  # not yet assigned
    assert rows[("bookworm", "sudo", "CVE-2023-0003")].status is VulnStatus.UNDETERMINED
    assert rows[("stretch", "sudo", "CVE-2023-0003")].status is VulnStatus.WONT_FIX
    assert not any(r.release == "sid" for r in loaded.parsed.records)


def test_osv_records_per_ecosystem() -> None:
    alma = parse(DATA / "osv-folder" / "ALSA-2024_0001.json").parsed.records
    assert {(r.distro, r.release, r.package, r.vuln_id) for r in alma} == {
        ("almalinux", "9", p, c) for p in ("openssl", "openssl-libs")
        for c in ("CVE-2023-5678", "CVE-2023-6129")}
    r = alma[0]
    assert r.name_kind is NameKind.BINARY and r.scheme == "rpm" and r.fixed == "1:3.0.7-25.el9_3"
    assert r.severity == "high" and r.vendor_severity == "Important"  # from the summary
    assert r.advisories == ("ALSA-2024:0001",)
    usn = parse(DATA / "osv-folder" / "USN-6600-1.json")
    assert usn.skipped == 1  # the PyPI entry
    rows = {(r.release, r.channel): r for r in usn.parsed.records}
    assert rows[("jammy", "")].fixed == "7.81.0-1ubuntu1.15"
    assert rows[("bionic", "pro")].fixed == "7.58.0-2ubuntu3.24+esm3"
    assert rows[("jammy", "")].severity == "medium" and rows[("jammy", "")].cvss_score == 9.8
    rocky = parse(DATA / "osv-folder" / "RLSA-2024_0002.json").parsed.records
    assert rocky[0].distro == "rocky" and rocky[0].release == "8" and rocky[0].vuln_id == "CVE-2022-3715"


def test_osv_ubuntu_releases_get_codenames_without_distro_info() -> None:
    usn = detect.parse_bytes((DATA / "osv-folder" / "USN-6600-1.json").read_bytes(), "usn", {})
    assert {r.release for r in usn.parsed.records} == {"jammy", "bionic"}


def test_osv_all_zip_and_compressed_inputs(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for f in (DATA / "osv-folder").glob("*.json"):
            zf.writestr(f.name, f.read_bytes())
    loaded = detect.parse_bytes(buf.getvalue(), "all.zip", CODENAMES)
    assert loaded.parsed.format == "osv" and len(loaded.parsed.records) == 7
    gz = detect.parse_bytes(gzip.compress((DATA / "tracker.json").read_bytes()), "t.gz", {})
    assert gz.parsed.format == "debian-tracker-json"
    xz = detect.parse_bytes(lzma.compress((DATA / "DLA-list").read_bytes()), "l.xz", {})
    assert xz.parsed.format == "debian-dsa-list"
    with pytest.raises(ImportFailure, match="damaged compressed"):
        detect.parse_bytes(gzip.compress(os.urandom(4000))[:2000], "cut.gz", {})
    with pytest.raises(ImportFailure, match="damaged zip"):
        detect.parse_bytes(buf.getvalue()[:200], "cut.zip", {})


def test_alpine_secdb_yaml_and_json() -> None:
    rows = by_vuln(parse(DATA / "alpine-v3.19-main.yaml"))
    assert rows[("3.19", "openssl", "CVE-2023-6237")].fixed == "3.1.4-r5"
    assert rows[("3.19", "openssl", "CVE-2022-0001")].status is VulnStatus.NOT_AFFECTED
    community = parse(DATA / "alpine-v3.19-community.json").parsed.records
    assert community[0].package == "nginx" and community[0].scheme == "apk"


def test_csaf_advisory_fixed_source_binary_and_eus_no_fix() -> None:
    loaded = parse(DATA / "rhsa-2024_0003.json")
    assert loaded.parsed.format == "redhat-csaf"
    rows = {(r.package, r.channel, r.name_kind): r for r in loaded.parsed.records}
    src = rows[("openssh", "", NameKind.SOURCE)]
    assert src.fixed == "8.7p1-38.el9_4.1" and src.release == "9" and src.distro == "rhel"
    assert src.severity == "high" and src.cvss_score == 8.1 and src.advisories == ("RHSA-2024:0003",)
    assert rows[("openssh-server", "", NameKind.BINARY)].fixed == "8.7p1-38.el9_4.1"
    eus = rows[("openssh", "eus:9.2", NameKind.BINARY)]  # EUS fixes are per minor release
    assert eus.status is VulnStatus.WONT_FIX and eus.fixed == ""


@pytest.mark.parametrize("text, message", [
    (b"hello world\n", "not a known advisory format"),
    (b'{"a": 1}', "JSON, but not a known advisory format"),
    (b'{"a": ', "damaged JSON"),
])
def test_unknown_or_damaged_input_is_refused(text: bytes, message: str) -> None:
    with pytest.raises(ImportFailure, match=message):
        detect.parse_bytes(text, "input", {})


def test_cvss_v3_base_scores() -> None:
    assert base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") == 9.8
    assert base_score("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:N/I:N/A:H") == 5.3
    assert base_score("CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H") == 9.9
    assert base_score("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:N") == 0.0
    assert base_score("AV:N/AC:L/Au:N/C:P/I:P/A:P") is None


def test_distro_info_rows() -> None:
    rows = parse_distro_info("debian", "version,codename,series,created,release,eol,eol-lts,eol-elts\n"
                                       "12,Bookworm,bookworm,2021-08-14,2023-06-10,2026-07-11,2028-06-30,2033-06-30\n"
                                       ",Sid,sid,1993-08-16\n")
    assert rows[0].release == "bookworm" and rows[0].eol_lts == "2028-06-30"
    assert rows[1].version == ""
    assert any(r.distro == "rhel" and r.release == "9" for r in system_releases(Path("/nonexistent")))


def test_import_folder_status_and_reimport_replaces(tmp_path: Path) -> None:
    db = tmp_path / "v.sqlite"
    result = build.import_paths(db, [DATA])
    names = {f.source.name for f in result.feeds}
    assert names == {"debian-dsa-list:DLA-list", "debian-dsa-list:DSA-list",
                     "debian-tracker-json:tracker.json", "redhat-csaf:rhsa-2024_0003.json",
                     "alpine-secdb:alpine-v3.19-main.yaml", "alpine-secdb:alpine-v3.19-community.json",
                     "osv:vulndb"}
    assert [Path(p).name for p in result.skipped_files] == ["README.txt"]
    assert oct(db.stat().st_mode & 0o777) == "0o600"
    with VulnStore(db) as store:
        assert store.covers("debian", "buster") and not store.covers("debian", "trixie")
        rows = store.records("debian", "buster", ["openssl"])
        assert {r.vuln_id for r in rows} >= {"CVE-2023-0464", "CVE-2023-0286"}
        assert store.release("debian", "bookworm") or not Path("/usr/share/distro-info").exists()
        counts = {s.name: s.records for s in store.sources()}
    build.import_paths(db, [DATA / "DLA-list"])  # the same feed again: replaced, not doubled
    with VulnStore(db) as store:
        assert {s.name: s.records for s in store.sources()} == counts
    status = store_status(db)
    assert status.usable and status.data_date == "2023-03-29"  # the DSA fixture's newest record
    assert status.freshness == "stale"


def test_failed_import_keeps_previous_store(tmp_path: Path) -> None:
    db = tmp_path / "v.sqlite"
    build.import_paths(db, [DATA / "DLA-list"])
    before = db.read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_text('{"document": {"csaf_version": "2.0"}, "vulnerabilities": [{}]}')
    with pytest.raises(ImportFailure):
        build.import_paths(db, [DATA / "DSA-list", bad])
    assert db.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_damaged_store_is_refused_in_words(tmp_path: Path) -> None:
    db = tmp_path / "v.sqlite"
    db.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    with pytest.raises(VulnDBError, match="cannot be read as a vulnerability store"):
        VulnStore(db)
    assert store_status(db).error


def test_cli_import_status_export_and_bundle_import(tmp_path: Path) -> None:
    db, other, bundle = tmp_path / "a.sqlite", tmp_path / "b.sqlite", tmp_path / "bundle.sqlite"
    runner = CliRunner()
    out = runner.invoke(cli, ["vulndb", "import", str(DATA / "DLA-list"), str(DATA / "tracker.json"),
                              "--vulndb", str(db)])
    assert out.exit_code == 0, out.output
    assert "debian-dsa-list:DLA-list: 8 records" in out.output
    out = runner.invoke(cli, ["vulndb", "status", "--vulndb", str(db)])
    assert out.exit_code == 0 and "debian buster" in out.output and "DLA-list" in out.output
    status = json.loads(runner.invoke(cli, ["vulndb", "status", "--format", "json",
                                            "--vulndb", str(db)]).output)
    assert status["freshness"] == "stale" and len(status["sources"]) == 2
    out = runner.invoke(cli, ["vulndb", "export", str(bundle), "--vulndb", str(db)])
    assert out.exit_code == 0 and "sha256" in out.output
    digest = out.output.split("sha256 ")[1].split()[0]
    assert f"smbaudit vulndb import bundle.sqlite --sha256 {digest}" in out.output
    wrong = "0" * 64
    out = runner.invoke(cli, ["vulndb", "import", str(bundle), "--sha256", wrong, "--vulndb", str(other)])
    assert out.exit_code == 2 and f"is not the {wrong} given" in out.output and not other.exists()
    out = runner.invoke(cli, ["vulndb", "import", str(bundle), "--sha256", digest.upper(),
                              "--vulndb", str(other)])
    assert out.exit_code == 0 and "replaced by the bundle" in out.output
    with VulnStore(other) as a, VulnStore(db) as b:
        assert [s.name for s in a.sources()] == [s.name for s in b.sources()]
    out = runner.invoke(cli, ["vulndb", "status", "--vulndb", str(tmp_path / "none.sqlite")])
    assert out.exit_code == 0 and "smbaudit vulndb update" in out.output
    (tmp_path / "junk.txt").write_text("nothing here\n")
    out = runner.invoke(cli, ["vulndb", "import", str(tmp_path / "junk.txt"), "--vulndb", str(db)])
    assert out.exit_code == 2 and "not a known advisory format" in out.output
    assert "Traceback" not in out.output


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/vulndata is not present")
def test_real_upstream_files_import(tmp_path: Path) -> None:
    db = tmp_path / "real.sqlite"
    result = build.import_paths(db, [SHARED])
    formats = {f.source.format for f in result.feeds}
    assert formats == {"debian-dsa-list", "debian-tracker-json", "osv", "redhat-csaf", "alpine-secdb"}
    counts = {f.source.name: f.source.records for f in result.feeds}
    assert counts["debian-dsa-list:DSA-list"] > 20000 and counts["debian-dsa-list:DLA-list"] > 10000
    with VulnStore(db) as store:
        rows = store.records("debian", "buster", ["openssl"])
        by = {r.vuln_id: r for r in rows}
        assert by["CVE-2023-0286"].fixed == "1.1.1n-0+deb10u4"
        assert by["CVE-2023-0286"].advisories == ("DLA-3325-1",)
        alma = store.records("almalinux", "9", ["libtiff"])
        assert alma and all(r.fixed == "4.4.0-2.el9" for r in alma)
        # "9.4.0.Z.MAIN.EUS": the main stream's fix, carried on by EUS 9.4
        rhel = store.records("rhel", "9", ["python3.9"], channels=("", "eus:9.4"))
        assert {r.vuln_id for r in rhel} == {"CVE-2024-8088"}
        assert {r.channel for r in rhel} == {"", "eus:9.4"}
        assert store.records("alpine", "3.15", ["zlib"])
        zero = store.records("debian", "buster", ["prototypejs"])
        assert any(r.status is VulnStatus.NOT_AFFECTED for r in zero)
    assert os.path.getsize(db) < 20 * 1024 * 1024


def test_osv_red_hat_ecosystems_main_and_eus() -> None:
    record = {
        "id": "RHSA-2024:0100", "modified": "2024-05-02T00:00:00Z", "published": "2024-05-01T00:00:00Z",
        "upstream": ["CVE-2024-1000"], "summary": "Important: openssl security update",
        "affected": [
            {"package": {"ecosystem": "Red Hat:enterprise_linux:9::baseos", "name": "openssl-libs",
                         "purl": "pkg:rpm/redhat/openssl-libs"},
             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1:3.0.7-28.el9_5"}]}]},
            {"package": {"ecosystem": "Red Hat:rhel_eus:9.4::baseos", "name": "openssl-libs",
                         "purl": "pkg:rpm/redhat/openssl-libs"},
             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1:3.0.7-27.el9_4.2"}]}]},
            {"package": {"ecosystem": "Red Hat:enterprise_linux:9::baseos",
                         "name": "openssl-3.0.7-28.el9_5.src.rpm", "purl": "pkg:rpm/redhat/openssl"},
             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1:3.0.7-28.el9_5"}]}]},
            {"package": {"ecosystem": "Red Hat:openshift:4.14::el9", "name": "cri-o"},
             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.27"}]}]},
        ]}
    loaded = detect.parse_bytes(json.dumps(record).encode(), "RHSA-2024_0100.json", CODENAMES)
    rows = {(r.package, r.channel, r.name_kind): r for r in loaded.parsed.records}
    assert loaded.skipped == 1  # OpenShift is not RHEL
    main = rows[("openssl-libs", "", NameKind.BINARY)]
    assert main.distro == "rhel" and main.release == "9" and main.fixed == "1:3.0.7-28.el9_5"
    assert main.severity == "high" and main.advisories == ("RHSA-2024:0100",)
    assert rows[("openssl-libs", "eus:9.4", NameKind.BINARY)].fixed == "1:3.0.7-27.el9_4.2"
    assert rows[("openssl", "", NameKind.SOURCE)].fixed == "1:3.0.7-28.el9_5"
