"""The vulnerability store: one SQLite file (schema in docs/vulndb.md).

Readers open it read-only; writers build a new file beside it and swap it in atomically under a
lock (see `build.py`), so a scan never sees a half-built store.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from smbaudit.vulndb.errors import VulnDBError
from smbaudit.vulndb.model import NameKind, Record, SourceInfo, VulnStatus
from smbaudit.vulndb.releases import ReleaseInfo

SCHEMA_VERSION = "1"
DB_FILENAME = "vulndb.sqlite"
SQLITE_MAGIC = b"SQLite format 3\x00"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
    name       TEXT PRIMARY KEY,
    format     TEXT NOT NULL,
    url        TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    records    INTEGER NOT NULL,
    newest     TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS affected (
    source          TEXT NOT NULL REFERENCES sources (name) ON DELETE CASCADE,
    distro          TEXT NOT NULL,
    release         TEXT NOT NULL,
    channel         TEXT NOT NULL DEFAULT '',
    package         TEXT NOT NULL,
    name_kind       TEXT NOT NULL CHECK (name_kind IN ('source', 'binary')),
    vuln_id         TEXT NOT NULL,
    aliases         TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL CHECK (status IN ('fixed', 'affected', 'wont_fix', 'deferred',
                                                    'not_affected', 'undetermined')),
    fixed           TEXT NOT NULL DEFAULT '',
    introduced      TEXT NOT NULL DEFAULT '',
    scheme          TEXT NOT NULL CHECK (scheme IN ('deb', 'rpm', 'apk')),
    severity        TEXT NOT NULL DEFAULT '',
    vendor_severity TEXT NOT NULL DEFAULT '',
    cvss_score      REAL,
    cvss            TEXT NOT NULL DEFAULT '',
    advisories      TEXT NOT NULL DEFAULT '',
    published       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS affected_by_package ON affected (distro, release, package);
CREATE INDEX IF NOT EXISTS affected_by_source ON affected (source);
CREATE TABLE IF NOT EXISTS releases (
    distro   TEXT NOT NULL,
    release  TEXT NOT NULL,
    version  TEXT NOT NULL,
    eol      TEXT NOT NULL DEFAULT '',
    eol_lts  TEXT NOT NULL DEFAULT '',
    eol_elts TEXT NOT NULL DEFAULT '',
    source   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (distro, release)
);
"""


def days_since(date: str, now: dt.datetime | None = None) -> int | None:
    """Whole days from an ISO date or time (UTC when it names no zone) to now."""
    if not date:
        return None
    try:
        then = dt.datetime.fromisoformat(date.replace("Z", "+00:00")
                                         if "T" in date else f"{date}T00:00:00+00:00")
    except ValueError:
        return None
    if then.tzinfo is None:
        then = then.replace(tzinfo=dt.timezone.utc)
    now = now or dt.datetime.now(dt.timezone.utc)
    return max(0, (now - then).days)


def default_path() -> Path:
    return platformdirs.user_data_path("smbaudit", appauthor=False) / DB_FILENAME


@dataclass(frozen=True)
class Coverage:
    distro: str
    release: str
    channel: str
    records: int


def connect_new(path: Path) -> sqlite3.Connection:
    """A writable connection to a store being built (schema created)."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.executescript(SCHEMA)
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                 (SCHEMA_VERSION,))
    return conn


def write_records(conn: sqlite3.Connection, source: SourceInfo, records: Iterable[Record]) -> int:
    """Replace everything `source` said before with `records`; returns the row count."""
    conn.execute("DELETE FROM affected WHERE source = ?", (source.name,))
    conn.execute("DELETE FROM sources WHERE name = ?", (source.name,))
    conn.execute("INSERT INTO sources (name, format, url, fetched_at, sha256, records, newest)"
                 " VALUES (?, ?, ?, ?, ?, 0, ?)",
                 (source.name, source.format, source.url, source.fetched_at, source.sha256,
                  source.newest))
    rows = [(source.name, r.distro, r.release, r.channel, r.package, r.name_kind.value,
             r.vuln_id, " ".join(r.aliases), r.status.value, r.fixed, r.introduced, r.scheme,
             r.severity, r.vendor_severity, r.cvss_score, " ".join(r.cvss),
             " ".join(r.advisories), r.published) for r in records]
    conn.executemany(
        "INSERT INTO affected (source, distro, release, channel, package, name_kind, vuln_id,"
        " aliases, status, fixed, introduced, scheme, severity, vendor_severity, cvss_score,"
        " cvss, advisories, published) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    conn.execute("UPDATE sources SET records = ? WHERE name = ?", (len(rows), source.name))
    return len(rows)


def write_releases(conn: sqlite3.Connection, releases: Sequence[ReleaseInfo]) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO releases (distro, release, version, eol, eol_lts, eol_elts, source)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(r.distro, r.release, r.version, r.eol, r.eol_lts, r.eol_elts, r.source) for r in releases])


def is_store_file(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == SQLITE_MAGIC
    except OSError:
        return False


class VulnStore:
    """A read-only view of a built store."""

    def __init__(self, path: Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise VulnDBError(f"no vulnerability store at {self.path}")
        if not is_store_file(self.path):
            raise VulnDBError(f"{self.path} is not a vulnerability store (not an SQLite file)")
        try:
            self.conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                        check_same_thread=False)
            version = self.conn.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise VulnDBError(f"{self.path} cannot be read as a vulnerability store: {exc}") from None
        if version is None or version[0] != SCHEMA_VERSION:
            raise VulnDBError(f"{self.path} has store schema {version[0] if version else 'none'}; "
                              f"this smbaudit reads schema {SCHEMA_VERSION}: run `smbaudit vulndb update`")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> VulnStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def meta(self, key: str) -> str:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else ""

    def sources(self) -> list[SourceInfo]:
        return [SourceInfo(name=r[0], format=r[1], url=r[2], fetched_at=r[3], sha256=r[4],
                           records=r[5], newest=r[6])
                for r in self.conn.execute("SELECT name, format, url, fetched_at, sha256, records,"
                                           " newest FROM sources ORDER BY name")]

    def data_date(self) -> str:
        """How current the data is, the oldest over the sources ('' when there is none): a feed
        downloaded by `vulndb update` is current as of its download (a quiet feed's newest
        record may be weeks old the day it is fetched); an imported file, whose modification
        time says little, as of its newest record when it dates its records, else that time."""
        row = self.conn.execute(
            "SELECT MIN(CASE WHEN url LIKE 'http://%' OR url LIKE 'https://%' THEN fetched_at"
            " WHEN newest != '' THEN newest ELSE fetched_at END) FROM sources").fetchone()
        return row[0] or ""

    def age_days(self, now: dt.datetime | None = None) -> int | None:
        return days_since(self.data_date(), now)

    def coverage(self) -> list[Coverage]:
        return [Coverage(*row) for row in self.conn.execute(
            "SELECT distro, release, channel, COUNT(*) FROM affected"
            " GROUP BY distro, release, channel ORDER BY distro, release, channel")]

    def covers(self, distro: str, release: str) -> bool:
        return self.conn.execute("SELECT 1 FROM affected WHERE distro = ? AND release = ? LIMIT 1",
                                 (distro, release)).fetchone() is not None

    def release(self, distro: str, release: str) -> dict[str, str] | None:
        row = self.conn.execute(
            "SELECT release, version, eol, eol_lts, eol_elts, source FROM releases"
            " WHERE distro = ? AND (release = ? OR version = ?)", (distro, release, release)).fetchone()
        if row is None:
            return None
        return dict(zip(("release", "version", "eol", "eol_lts", "eol_elts", "source"), row))

    def records(self, distro: str, release: str, packages: Iterable[str],
                channels: Sequence[str] = ("",)) -> list[Record]:
        """Every row for these package names (source or binary) in one release."""
        names = sorted(set(packages))
        found: list[Record] = []
        marks = ",".join("?" * len(channels))
        for start in range(0, len(names), 500):
            chunk = names[start:start + 500]
            sql = ("SELECT distro, release, package, name_kind, vuln_id, status, scheme, fixed,"
                   " introduced, channel, severity, vendor_severity, cvss_score, cvss, advisories,"
                   " aliases, published FROM affected WHERE distro = ? AND release = ?"
                   f" AND channel IN ({marks}) AND package IN ({','.join('?' * len(chunk))})")
            for r in self.conn.execute(sql, (distro, release, *channels, *chunk)):
                found.append(Record(
                    distro=r[0], release=r[1], package=r[2], name_kind=NameKind(r[3]),
                    vuln_id=r[4], status=VulnStatus(r[5]), scheme=r[6], fixed=r[7],
                    introduced=r[8], channel=r[9], severity=r[10], vendor_severity=r[11],
                    cvss_score=r[12], cvss=tuple(r[13].split()), advisories=tuple(r[14].split()),
                    aliases=tuple(r[15].split()), published=r[16]))
        return found
