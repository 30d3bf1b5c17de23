"""Building the store: parse inputs, write a new file beside the old one, swap it in.

Everything happens in a temporary file under a lock; the live store is replaced with one
`os.replace` only when the whole build succeeded, so a failed import or download leaves the
previous store exactly as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import shutil
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

from smbaudit.vulndb import detect
from smbaudit.vulndb.errors import ImportFailure, VulnDBError
from smbaudit.vulndb.model import Parsed, SourceInfo
from smbaudit.vulndb.releases import ReleaseInfo, system_releases
from smbaudit.vulndb.store import VulnStore, connect_new, is_store_file, write_records, write_releases

LOCK_TIMEOUT = 60.0


@dataclass
class Feed:
    """One parsed input ready to be written: its source description and its records."""

    source: SourceInfo
    parsed: Parsed
    skipped: int = 0


@dataclass
class ImportResult:
    feeds: list[Feed] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)
    bundle: str = ""  # set when a whole store bundle was imported


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def codename_maps(releases: Sequence[ReleaseInfo]) -> dict[str, dict[str, str]]:
    maps: dict[str, dict[str, str]] = {}
    for r in releases:
        if r.distro in ("debian", "ubuntu") and r.version:
            maps.setdefault(r.distro, {})[r.version] = r.release
    return maps


def parse_input(data: bytes, origin: str, name: str, fetched_at: str,
                codenames: Mapping[str, Mapping[str, str]]) -> Feed:
    loaded = detect.parse_bytes(data, origin, codenames)
    source = SourceInfo(name=name or f"{loaded.parsed.format}:{Path(origin).name}",
                        format=loaded.parsed.format, url=origin, fetched_at=fetched_at,
                        sha256=hashlib.sha256(data).hexdigest(), newest=loaded.parsed.newest)
    return Feed(source, loaded.parsed, loaded.skipped)


def parse_paths(paths: Sequence[Path], codenames: Mapping[str, Mapping[str, str]]) -> ImportResult:
    """Files are parsed by content; in folders, unknown files are skipped and OSV records are
    gathered into one source per folder."""
    result = ImportResult()
    for path in paths:
        if path.is_dir():
            osv = Parsed(format="osv")
            digest = hashlib.sha256()
            osv_skipped = 0
            for file in detect.folder_files(path):
                data = _read(file)
                try:
                    feed = parse_input(data, str(file), "", _mtime(file), codenames)
                except ImportFailure:
                    result.skipped_files.append(str(file))
                    continue
                if feed.parsed.format == "osv":
                    osv.records.extend(feed.parsed.records)
                    osv_skipped += feed.skipped
                    digest.update(feed.source.sha256.encode())
                else:
                    result.feeds.append(feed)
            if osv.records or osv_skipped:
                result.feeds.append(Feed(SourceInfo(
                    name=f"osv:{path.resolve().name}", format="osv", url=str(path.resolve()),
                    fetched_at=_mtime(path), sha256=digest.hexdigest(), newest=osv.newest),
                    osv, osv_skipped))
        elif path.is_file():
            data = _read(path)
            fetched = _mtime(path)
            if data[:16] == b"SQLite format 3\x00":
                if len(paths) != 1:
                    raise ImportFailure(f"{path} is a store bundle: import it on its own")
                result.bundle = str(path)
                return result
            result.feeds.append(parse_input(data, str(path.resolve()), "", fetched, codenames))
        else:
            raise ImportFailure(f"{path}: no such file or folder")
    return result


def _mtime(path: Path) -> str:
    """A file's modification time: when the feed was downloaded or written."""
    stamp = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc)
    return stamp.replace(microsecond=0).isoformat()


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > detect.MAX_INPUT_BYTES:
            raise ImportFailure(f"{path}: larger than {detect.MAX_INPUT_BYTES} bytes")
        return path.read_bytes()
    except OSError as exc:
        raise ImportFailure(f"{path}: cannot be read ({exc.strerror or exc})") from None


def _lock(dest: Path) -> FileLock:
    return FileLock(str(dest) + ".lock", timeout=LOCK_TIMEOUT)


def rebuild(dest: Path, apply: Callable[[sqlite3.Connection], None], *,
            start_from: Path | None = None, releases: Sequence[ReleaseInfo] | None = None,
            fresh: bool = False) -> None:
    """Copy `start_from` (default: the live store, when there is one; nothing when `fresh`),
    let `apply` change the copy, swap it in."""
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with _lock(dest):
            tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
            try:
                base = start_from or dest
                if not fresh and is_store_file(base):
                    VulnStore(base).close()  # refuses a store of another schema
                    shutil.copyfile(base, tmp)
                conn = connect_new(tmp)
                try:
                    with conn:
                        apply(conn)
                        write_releases(conn, releases if releases is not None else system_releases())
                        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('built_at', ?)",
                                     (now_iso(),))
                    conn.execute("VACUUM")
                finally:
                    conn.close()
                os.chmod(tmp, 0o600)
                with open(tmp, "rb") as fh:
                    os.fsync(fh.fileno())
                os.replace(tmp, dest)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
    except Timeout:
        raise VulnDBError(f"another smbaudit is updating {dest} (lock {dest}.lock held for "
                          f"{LOCK_TIMEOUT:.0f} s)") from None
    except sqlite3.DatabaseError as exc:
        raise VulnDBError(f"could not build the store at {dest}: {exc}") from None
    except OSError as exc:
        raise VulnDBError(f"cannot write the store at {dest}: {exc.strerror or exc}") from None


def write_feeds(dest: Path, feeds: Sequence[Feed]) -> None:
    def apply(conn: sqlite3.Connection) -> None:
        for feed in feeds:
            write_records(conn, feed.source, feed.parsed.records)
            feed.source.records = len(feed.parsed.records)
    rebuild(dest, apply)


def check_sha256(path: Path, expected: str) -> None:
    """Refuse a file whose sha256 is not the one given (as `vulndb export` prints it)."""
    want = expected.strip().lower()
    if len(want) != 64 or any(c not in "0123456789abcdef" for c in want):
        raise ImportFailure(f"--sha256 {expected!r}: not a sha256 (64 hexadecimal digits)")
    if not path.is_file():
        raise ImportFailure(f"--sha256 checks one file, and {path} is not a file")
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    if digest.hexdigest() != want:
        raise ImportFailure(f"{path}: sha256 {digest.hexdigest()} is not the {want} given: "
                            "damaged or not the file meant; nothing imported")


def import_paths(dest: Path, paths: Sequence[Path], sha256: str = "") -> ImportResult:
    """`vulndb import`: feeds from files and folders, or a whole exported bundle."""
    if sha256:
        if len(paths) != 1:
            raise ImportFailure("--sha256 checks one file: give exactly one")
        check_sha256(Path(paths[0]), sha256)
    result = parse_paths(paths, codename_maps(system_releases()))
    if result.bundle:
        import_bundle(dest, Path(result.bundle))
        return result
    if not result.feeds:
        raise ImportFailure("nothing to import: no file in a known advisory format"
                            + (f" ({len(result.skipped_files)} skipped)" if result.skipped_files else ""))
    write_feeds(dest, result.feeds)
    return result


def export_bundle(src: Path, dest: Path) -> str:
    """Copy the store into one file (SQLite's online backup); returns its sha256."""
    store = VulnStore(src)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        out = sqlite3.connect(tmp)
        try:
            store.conn.backup(out)
        finally:
            out.close()
            store.close()
        os.replace(tmp, dest)
        return hashlib.sha256(dest.read_bytes()).hexdigest()
    except (sqlite3.Error, OSError) as exc:
        raise VulnDBError(f"cannot write {dest}: {getattr(exc, 'strerror', None) or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def import_bundle(dest: Path, bundle: Path) -> None:
    """Replace the store with an exported bundle, after checking it opens as a store."""
    rebuild(dest, lambda conn: None, start_from=bundle, releases=_bundle_releases(bundle))


def _bundle_releases(bundle: Path) -> list[ReleaseInfo]:
    with VulnStore(bundle) as store:
        rows = store.conn.execute("SELECT distro, release, version, eol, eol_lts, eol_elts, source"
                                  " FROM releases").fetchall()
    return [ReleaseInfo(*row) for row in rows]
