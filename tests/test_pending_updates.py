"""Pending updates from the package manager's own indexes: apt lists in every compression apt
writes, dnf/yum cached metadata with updateinfo, and this host compared with apt-get itself."""

from __future__ import annotations

import bz2
import gzip
import lzma
import shutil
import subprocess
from pathlib import Path

import lz4.frame
import pytest
import zstandard

from hostsys_util import collect, hostsys_checks, run_checks
from smbaudit.errors import BudgetExceeded, DataMissing, ProbeError
from smbaudit.models import Status
from smbaudit.probes._compressed import CHUNK, decompress, decompress_chunks
from smbaudit.probes.pending_updates import index_suite, parse_packages_index
from smbaudit.targets.posixfs import DirectoryTarget, LocalTarget
from vulndb_util import debian_tree, dpkg_para, rpm_header, rpmdb_sqlite

LISTS = "var/lib/apt/lists"
COMPRESS = {"": lambda b: b, ".gz": gzip.compress, ".xz": lzma.compress, ".bz2": bz2.compress,
            ".lz4": lz4.frame.compress, ".zst": zstandard.ZstdCompressor().compress}


def index(*rows: tuple[str, str, str]) -> bytes:
    return "".join(f"Package: {n}\nVersion: {v}\nArchitecture: {a}\nDescription: x\n\n"
                   for n, v, a in rows).encode()


@pytest.mark.parametrize("ext", sorted(COMPRESS))
def test_apt_lists_in_every_compression(tmp_path: Path, ext: str) -> None:
    root = debian_tree(tmp_path, dpkg_para("openssl", "3.0.11-1~deb12u2") + dpkg_para("zlib1g", "1:1.2.13.dfsg-1")
                       + dpkg_para("tzdata", "2024a-0+deb12u1", arch="all"), version_id="12", codename="bookworm")
    lists = root / LISTS
    lists.mkdir(parents=True)
    (lists / f"deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages{ext}").write_bytes(
        COMPRESS[ext](index(("openssl", "3.0.11-1~deb12u2", "amd64"), ("zlib1g", "1:1.2.13.dfsg-1", "amd64"))))
    (lists / f"deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages{ext}").write_bytes(
        COMPRESS[ext](index(("openssl", "3.0.15-1~deb12u1", "amd64"), ("other", "9.9", "amd64"))))
    (lists / f"deb.debian.org_debian_dists_bookworm-updates_main_binary-amd64_Packages{ext}").write_bytes(
        COMPRESS[ext](index(("tzdata", "2025b-0+deb12u1", "all"), ("zlib1g", "1:1.2.13.dfsg-1", "i386"))))
    (lists / "deb.debian.org_debian_dists_bookworm_InRelease").write_text("not an index\n")
    facts = collect("pending_updates", DirectoryTarget("dir:t", str(root)))
    assert facts["indexes"] == 3
    assert [(p["name"], p["candidate"], p["origin"], p["security"]) for p in facts["pending"]] == [
        ("openssl", "3.0.15-1~deb12u1", "bookworm-security", True),
        ("tzdata", "2025b-0+deb12u1", "bookworm-updates", False)]
    assert facts["security_names"] == ["openssl"] and facts["pending_count"] == 2


def test_damaged_index_is_an_error_not_a_pass(tmp_path: Path) -> None:
    root = debian_tree(tmp_path, dpkg_para("openssl", "1.0-1"))
    (root / LISTS).mkdir(parents=True)
    (root / LISTS / "x_dists_buster_main_binary-amd64_Packages.xz").write_bytes(
        lzma.compress(index(("openssl", "2.0-1", "amd64")))[:40])
    with pytest.raises(ProbeError, match="damaged compressed file"):
        collect("pending_updates", DirectoryTarget("dir:t", str(root)))


def test_no_indexes_is_not_assessed(tmp_path: Path) -> None:
    root = debian_tree(tmp_path, dpkg_para("openssl", "1.0-1"))
    with pytest.raises(DataMissing, match="no package indexes"):
        collect("pending_updates", DirectoryTarget("dir:t", str(root)))


def test_suite_names() -> None:
    assert index_suite("security.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages") == (
        "bookworm-security", True)
    assert index_suite("security.debian.org_dists_buster_updates_main_binary-amd64_Packages.xz") == ("buster", True)
    assert index_suite("archive.ubuntu.com_ubuntu_dists_jammy-updates_main_binary-amd64_Packages") == (
        "jammy-updates", False)


PRIMARY = b"""<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="3">
<package type="rpm"><name>openssl-libs</name><arch>x86_64</arch>
  <version epoch="1" ver="3.0.7" rel="27.el9"/></package>
<package type="rpm"><name>bash</name><arch>x86_64</arch><version epoch="0" ver="5.1.8" rel="9.el9"/></package>
<package type="rpm"><name>bash</name><arch>i686</arch><version epoch="0" ver="5.2.0" rel="1.el9"/></package>
</metadata>"""
UPDATEINFO = b"""<?xml version="1.0" encoding="UTF-8"?>
<updates>
<update from="security@almalinux.org" status="final" type="security" version="1">
  <id>ALSA-2024:0001</id><severity>Important</severity>
  <pkglist><collection><package name="openssl-libs" arch="x86_64" epoch="1" version="3.0.7" release="27.el9">
  <filename>openssl-libs-3.0.7-27.el9.x86_64.rpm</filename></package></collection></pkglist>
</update>
<update type="bugfix"><id>ALBA-2024:0002</id>
  <pkglist><collection><package name="bash" arch="x86_64" epoch="0" version="5.1.8" release="9.el9"/></collection></pkglist>
</update>
</updates>"""


def test_dnf_cached_metadata_and_updateinfo(tmp_path: Path) -> None:
    root = tmp_path
    (root / "etc").mkdir()
    (root / "etc/os-release").write_text('ID="almalinux"\nVERSION_ID="9.3"\n')
    rpmdb_sqlite(root / "var/lib/rpm/rpmdb.sqlite", [
        rpm_header("openssl-libs", "3.0.7", "24.el9", epoch=1, sourcerpm="openssl-3.0.7-24.el9.src.rpm"),
        rpm_header("bash", "5.1.8", "6.el9", sourcerpm="bash-5.1.8-6.el9.src.rpm")])
    repodata = root / "var/cache/dnf/baseos-1234abcd/repodata"
    repodata.mkdir(parents=True)
    (repodata / "aa11-primary.xml.gz").write_bytes(gzip.compress(PRIMARY))
    (repodata / "bb22-updateinfo.xml.zst").write_bytes(zstandard.ZstdCompressor().compress(UPDATEINFO))
    facts = collect("pending_updates", DirectoryTarget("dir:t", str(root)))
    assert facts["manager"] == "rpm" and facts["indexes"] == 2
    pending = {p["name"]: p for p in facts["pending"]}
    assert pending["bash"]["candidate"] == "5.1.8-9.el9" and not pending["bash"]["security"]  # not the i686 build
    assert pending["openssl-libs"]["candidate"] == "1:3.0.7-27.el9" and pending["openssl-libs"]["security"]
    assert pending["openssl-libs"]["origin"] == "baseos-1234abcd ALSA-2024:0001"
    assert facts["security_names"] == ["openssl-libs"]


def test_the_checks_on_the_demo_style_tree(tmp_path: Path) -> None:
    root = debian_tree(tmp_path, dpkg_para("sudo", "1.9.5p2-3"), version_id="11", codename="bullseye")
    (root / LISTS).mkdir(parents=True)
    (root / LISTS / "security.debian.org_debian-security_dists_bullseye-security_main_binary-amd64_Packages").write_bytes(
        index(("sudo", "1.9.5p2-3+deb11u1", "amd64")))
    found = run_checks(DirectoryTarget("dir:t", str(root)), hostsys_checks())
    sec = found["patching.security-updates-pending"]
    assert sec.status is Status.FAIL and sec.problem == "1 package has security updates available: sudo"
    assert any("sudo" in str(e.observed) for e in sec.evidence)


@pytest.mark.skipif(shutil.which("apt-get") is None or not Path("/var/lib/apt/lists").is_dir(),
                    reason="not a Debian-family host with apt lists")
def test_this_host_agrees_with_apt_get() -> None:
    sim = subprocess.run(["apt-get", "-s", "-o", "Debug::NoLocking=1", "upgrade"], capture_output=True,
                         text=True, timeout=120, check=False)
    if sim.returncode != 0:
        pytest.skip(f"apt-get -s upgrade failed: {sim.stderr.strip()[:200]}")
    inst = [line.split()[1] for line in sim.stdout.splitlines() if line.startswith("Inst ")]
    kept = "kept back" in sim.stdout
    try:
        facts = collect("pending_updates", LocalTarget())
    except DataMissing:
        pytest.skip("no apt lists on this host")
    names = {p["name"] for p in facts["pending"]}
    assert set(inst) <= names
    if not kept:
        assert names == set(inst)


@pytest.mark.parametrize("ext", sorted(COMPRESS))
def test_an_index_is_streamed_piece_by_piece(ext: str) -> None:
    """A 50 MB index is never whole in memory: it comes out in pieces of at most CHUNK bytes,
    the same content as decompressing it whole; a cut stream and a bomb are errors."""
    rows = [(f"pkg{i}", f"1.{i}-1", "amd64" if i % 3 else "all") for i in range(40_000)]
    raw = index(*rows)
    data = COMPRESS[ext](raw)
    pieces = list(decompress_chunks(data, "idx", 1 << 30))
    assert b"".join(pieces) == raw == decompress(data, "idx", 1 << 30)
    # fed as it is read (pieces of a file, not the whole file), the same content comes out
    fed = [data[i:i + 65_537] for i in range(0, len(data), 65_537)]
    assert b"".join(decompress_chunks(iter(fed), "idx", 1 << 30)) == raw
    if ext not in (".zst",):  # zstd (never apt's default) is decompressed whole
        assert len(pieces) > 1 and max(map(len, pieces)) <= CHUNK
    if ext not in ("", ".zst"):
        with pytest.raises(ProbeError, match="damaged"):
            list(decompress_chunks(data[: len(data) * 2 // 3], "idx", 1 << 30))
        with pytest.raises(ProbeError, match="damaged"):
            list(decompress_chunks(iter(fed[: len(fed) * 2 // 3]), "idx", 1 << 30))
    if ext != ".zst":
        with pytest.raises(BudgetExceeded):
            list(decompress_chunks(data, "idx", 100_000))
        with pytest.raises(BudgetExceeded):
            list(decompress_chunks(iter(fed), "idx", 100_000))
    # Stanzas cut across pieces are parsed as a whole index is.
    wanted = {f"pkg{i}": {"amd64"} for i in range(0, 40_000, 7)}
    assert parse_packages_index(iter(pieces), wanted) == parse_packages_index(raw, wanted)
    assert parse_packages_index((raw[i:i + 4093] for i in range(0, len(raw), 4093)), wanted) \
        == parse_packages_index(raw, wanted)
