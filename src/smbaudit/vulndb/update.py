"""`vulndb update`: download the feeds, check them, and swap a new store in.

All-or-nothing: every feed is downloaded into a private folder beside the store and verified
(fetch.py); then the new store is built in a temporary file under the lock (build.rebuild),
each feed parsed, checked (the format the feed must have; not less than half the records the
store already holds for it, which a cut but well-formed file would give) and written in turn,
and the copy is swapped in only when every feed passed. Any
failure raises FetchFailure or ImportFailure with one line saying which feed and why, and the
previous store is left exactly as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from smbaudit.vulndb import build
from smbaudit.vulndb.errors import FetchFailure, ImportFailure, VulnDBError
from smbaudit.vulndb.feeds import FeedSpec
from smbaudit.vulndb.fetch import (Fetched, Limits, Progress, Validators, download, listed_sha256,
                                   sha256sums)
from smbaudit.vulndb.releases import system_releases
from smbaudit.vulndb.store import VulnStore, is_store_file, write_records

META_PREFIX = "http:"  # meta key per feed: the validators of the copy the store holds
MIN_KEPT_FRACTION = 0.5


@dataclass
class FeedResult:
    name: str
    url: str
    records: int
    size: int
    sha256: str
    not_modified: bool
    verified: list[str]


def unreadable(dest: Path) -> str:
    """Why the store at `dest` cannot be built upon ('' when it can, or there is none): an
    update then builds a new one, so a store of an older schema is replaced, not stuck."""
    if not dest.exists():
        return ""
    try:
        VulnStore(dest).close()
    except VulnDBError as exc:
        return str(exc)
    return ""


@dataclass
class _Held:
    records: int
    validators: Validators


def _held(dest: Path) -> dict[str, _Held]:
    """What the current store holds per feed (nothing when there is no usable store)."""
    if not is_store_file(dest):
        return {}
    try:
        with VulnStore(dest) as store:
            counts = {s.name: s.records for s in store.sources()}
            held: dict[str, _Held] = {}
            for name, records in counts.items():
                raw = store.meta(META_PREFIX + name)
                v = Validators(**json.loads(raw)) if raw else Validators()
                held[name] = _Held(records, v)
            return held
    except (VulnDBError, ValueError, TypeError):
        return {}


def update(dest: Path, feeds: Sequence[FeedSpec], limits: Limits,
           progress: Progress | None = None, allow_shrink: bool = False,
           checksums: str = "") -> list[FeedResult]:
    """`checksums`: the URL of a site's sha256sum list; every feed fetched must be in it."""
    dest = Path(dest)
    held = _held(dest)
    work = dest.parent / f".{dest.name}.download.{os.getpid()}"
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(mode=0o700)
    except OSError as exc:
        raise VulnDBError(f"cannot write beside the store {dest}: {exc.strerror or exc}") from None
    counts: dict[str, int] = {}
    try:
        sums = sha256sums(checksums, limits) if checksums else {}
        fetched: list[Fetched] = []
        for feed in feeds:
            prior = held.get(feed.name)
            got = download(feed, work, limits, prior.validators if prior else None, progress)
            if sums and not got.not_modified:
                _check_listed(got, sums, checksums)
            fetched.append(got)

        def apply(conn: sqlite3.Connection) -> None:
            # one feed at a time, each freed once written: the biggest feeds never sit in
            # memory together; any failure discards the whole new copy
            for f in fetched:
                new = _parse(f, held.get(f.feed.name), allow_shrink)
                if new is None:  # not modified: the records stay, the check time moves on
                    conn.execute("UPDATE sources SET fetched_at = ? WHERE name = ?",
                                 (f.fetched_at, f.feed.name))
                    counts[f.feed.name] = held[f.feed.name].records
                    continue
                counts[f.feed.name] = write_records(conn, new.source, new.parsed.records)
                conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                             (META_PREFIX + f.feed.name, json.dumps(f.validators.__dict__)))
                del new

        build.rebuild(dest, apply, releases=system_releases(), fresh=bool(unreadable(dest)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return [FeedResult(f.feed.name, f.feed.url, counts[f.feed.name], f.size, f.sha256,
                       f.not_modified, f.verified) for f in fetched]


def _check_listed(f: Fetched, sums: dict[str, str], checksums: str) -> None:
    want = listed_sha256(f.feed.url, sums)
    where = f"{f.feed.name} ({f.feed.url})"
    if not want:
        raise FetchFailure(f"{where}: not in the checksum list {checksums}")
    if want != f.sha256:
        raise FetchFailure(f"{where}: corrupt: sha256 {f.sha256} differs from {want} in "
                           f"the checksum list")
    f.verified.append("sha256 (checksum list)")


def _parse(f: Fetched, prior: _Held | None, allow_shrink: bool) -> build.Feed | None:
    if f.path is None:
        if prior is None:
            raise FetchFailure(f"{f.feed.name}: the server says not modified, but the store "
                               "holds no copy of it")
        return None
    where = f"{f.feed.name} ({f.feed.url})"
    try:
        data = f.path.read_bytes()
        feed = build.parse_input(data, f.feed.url, f.feed.name, f.fetched_at,
                                 build.codename_maps(system_releases()))
    except ImportFailure as exc:
        raise ImportFailure(f"{where}: corrupt or not the expected feed: {exc}") from None
    finally:
        with contextlib.suppress(OSError):
            f.path.unlink()
    if feed.parsed.format != f.feed.format:
        raise ImportFailure(f"{where}: expected {f.feed.format}, got {feed.parsed.format}")
    count = len(feed.parsed.records)
    if not count:
        raise ImportFailure(f"{where}: no record in it")
    if prior and not allow_shrink and count < prior.records * MIN_KEPT_FRACTION:
        raise ImportFailure(f"{where}: {count} records where the store holds {prior.records} "
                            "(less than half: a cut file?); --allow-shrink accepts it")
    feed.source.url = f.feed.url
    return feed
