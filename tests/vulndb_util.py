"""Test helpers for the vulnerability store: hand-made package databases and stores."""

from __future__ import annotations

import sqlite3
import struct
from pathlib import Path

from smbaudit.vulndb import build
from smbaudit.vulndb.model import NameKind, Record, SourceInfo, VulnStatus
from smbaudit.vulndb.releases import ReleaseInfo

DATA = Path(__file__).parent / "data" / "vulndb"


def rpm_header(name: str, version: str, release: str, epoch: int | None = None,
               arch: str = "x86_64", sourcerpm: str = "", padding: int = 0,
               vendor: str = "") -> bytes:
    """An rpm header blob in rpm's on-disk layout (index entries + data), as rpmdb stores it."""
    entries: list[tuple[int, int, int, int]] = []
    data = bytearray()

    def string(tag: int, value: str, kind: int = 6) -> None:
        entries.append((tag, kind, len(data), 1))
        data.extend(value.encode() + b"\0")

    def int32(tag: int, value: int) -> None:
        while len(data) % 4:
            data.append(0)
        entries.append((tag, 4, len(data), 1))
        data.extend(struct.pack(">i", value))

    string(1000, name)
    string(1001, version)
    string(1002, release)
    if epoch is not None:
        int32(1003, epoch)
    string(1022, arch)
    if sourcerpm:
        string(1044, sourcerpm)
    if vendor:
        string(1011, vendor)
    if padding:
        string(1005, "x" * padding, kind=9)
    index = b"".join(struct.pack(">iIiI", *e) for e in entries)
    return struct.pack(">II", len(entries), len(data)) + index + bytes(data)


def rpmdb_sqlite(path: Path, headers: list[bytes]) -> None:
    """An rpmdb.sqlite with rpm's own Packages table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
    conn.executemany("INSERT INTO Packages (blob) VALUES (?)", [(h,) for h in headers])
    conn.commit()
    conn.close()


def db_load_text(pairs: list[tuple[bytes, bytes]]) -> str:
    """Input for `db_load -T`: one line per key and per value, non-printing bytes as \\xx."""
    def esc(b: bytes) -> str:
        return "".join(chr(c) if 0x20 < c < 0x7f and c != 0x5c else f"\\{c:02x}" for c in b)
    return "".join(f"{esc(k)}\n{esc(v)}\n" for k, v in pairs)


def store_with(path: Path, records: list[Record], *, name: str = "test-feed",
               fetched_at: str = "", newest: str = "",
               releases: list[ReleaseInfo] | None = None) -> Path:
    """A store holding exactly `records` (one feed)."""
    source = SourceInfo(name=name, format="test", url="test", sha256="0" * 64,
                        fetched_at=fetched_at or build.now_iso(), newest=newest)

    def apply(conn: sqlite3.Connection) -> None:
        from smbaudit.vulndb.store import write_records
        write_records(conn, source, records)
    build.rebuild(path, apply, releases=releases if releases is not None else [
        ReleaseInfo("debian", "buster", "10", "2022-09-10", "2024-06-30", "2029-06-30", "test"),
        ReleaseInfo("debian", "bookworm", "12", "2026-07-11", "2028-06-30", "2033-06-30", "test")])
    return path


def deb(package: str, vuln: str, fixed: str, release: str = "buster", *,
        status: VulnStatus = VulnStatus.FIXED, severity: str = "", advisory: str = "",
        cvss: float | None = None) -> Record:
    return Record(distro="debian", release=release, package=package, name_kind=NameKind.SOURCE,
                  vuln_id=vuln, status=status, fixed=fixed, scheme="deb", severity=severity,
                  vendor_severity=severity, cvss_score=cvss,
                  advisories=(advisory,) if advisory else ())


def dpkg_para(name: str, version: str, source: str = "", arch: str = "amd64") -> str:
    src = f"Source: {source}\n" if source else ""
    return (f"Package: {name}\nStatus: install ok installed\nArchitecture: {arch}\n{src}"
            f"Version: {version}\n\n")


def debian_tree(root: Path, packages: str, version_id: str = "10", codename: str = "buster") -> Path:
    (root / "etc").mkdir(parents=True, exist_ok=True)
    lines = f'ID=debian\nVERSION_ID="{version_id}"\n'
    if codename:
        lines += f"VERSION_CODENAME={codename}\n"
    (root / "etc/os-release").write_text(lines)
    (root / "var/lib/dpkg").mkdir(parents=True, exist_ok=True)
    (root / "var/lib/dpkg/status").write_text(packages)
    return root
