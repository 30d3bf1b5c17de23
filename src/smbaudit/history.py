"""Scan history: an embedded SQLite store of every scan; what changed between two of them.

- The store keeps each scan's full JSON report (every field), so any old scan can be
  re-rendered, plus a row per finding for quick look-ups.
- A scan is recorded when it starts (state `running`) and updated when it ends (`complete`,
  or `incomplete` when it was interrupted: its partial results are kept). A scan killed
  outright stays `running` and is listed as "did not finish".
- WAL journal, a busy timeout and short `BEGIN IMMEDIATE` write transactions make two scans
  writing at once safe; readers never block writers.
- History stores the report's JSON form (a dict) and compares typed scans (`StoredScan`:
  targets, findings, the score under the current scoring version; the comparison itself is in
  `scandiff.py`, whose names this module re-exports); it never imports the report module,
  which sits above it in the layer order (`Report.as_stored` builds one).
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from smbaudit import fsutil
from smbaudit.errors import SmbauditError
from smbaudit.scandiff import (DiffEntry, HistorySection, Rescored, ScanBrief, ScanDiff,
                               StoredScan, TrendPoint, diff, rescore, stored_version)
from smbaudit.scoring import SCORING_VERSION

__all__ = ["DB_FILENAME", "DiffEntry", "HistoryError", "HistorySection", "HistoryStore",
           "Rescored", "ScanBrief", "ScanDiff", "ScanRow", "StoredScan", "TrendPoint",
           "default_db_path", "diff", "history_section", "pick_pair", "rescore",
           "stored_version", "target_key"]

DB_FILENAME = "history.sqlite3"
BUSY_TIMEOUT_S = 60.0
TREND_LENGTH = 20
SCHEMA_VERSION = 2  # 2: scans.scoring_version (older rows are rescored when the store opens)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scans (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    scan_id     TEXT NOT NULL UNIQUE,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    target_key  TEXT NOT NULL,
    targets     TEXT NOT NULL,
    profile     TEXT,
    state       TEXT NOT NULL CHECK (state IN ('running', 'complete', 'incomplete')),
    score       REAL,
    grade       TEXT,
    counts      TEXT,
    report      TEXT,
    scoring_version TEXT
);
CREATE INDEX IF NOT EXISTS scans_by_targets ON scans (target_key, seq);
CREATE TABLE IF NOT EXISTS scan_targets (
    seq    INTEGER NOT NULL REFERENCES scans (seq) ON DELETE CASCADE,
    target TEXT NOT NULL,
    PRIMARY KEY (seq, target)
);
CREATE INDEX IF NOT EXISTS scan_targets_by_target ON scan_targets (target, seq);
CREATE TABLE IF NOT EXISTS findings (
    seq      INTEGER NOT NULL REFERENCES scans (seq) ON DELETE CASCADE,
    check_id TEXT NOT NULL,
    target   TEXT NOT NULL,
    status   TEXT NOT NULL,
    severity TEXT NOT NULL,
    PRIMARY KEY (seq, check_id, target)
);
CREATE INDEX IF NOT EXISTS findings_by_key ON findings (check_id, target, status, seq);
"""


class HistoryError(SmbauditError):
    """An unknown or ambiguous scan id, or a store that cannot be opened."""


def default_db_path() -> Path:
    """`history.sqlite3` in the user's data directory (e.g. ~/.local/share/smbaudit/)."""
    return platformdirs.user_data_path("smbaudit", appauthor=False) / DB_FILENAME


def target_key(names: Iterable[str]) -> str:
    """Scans of the same set of targets share this key (order does not matter)."""
    return "\n".join(sorted(set(names)))


@dataclass(frozen=True)
class ScanRow:
    """One line of `smbaudit history`."""

    seq: int
    scan_id: str
    started_at: str
    finished_at: str | None
    targets: list[str]
    profile: str | None
    state: str
    score: float | None
    grade: str | None
    counts: dict[str, int]
    scoring_version: str | None = SCORING_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {"scan_id": self.scan_id, "started_at": self.started_at,
                "finished_at": self.finished_at, "targets": self.targets,
                "profile": self.profile, "state": self.state, "score": self.score,
                "grade": self.grade, "counts": self.counts,
                "scoring_version": self.scoring_version}


def _row(r: sqlite3.Row) -> ScanRow:
    return ScanRow(seq=r["seq"], scan_id=r["scan_id"], started_at=r["started_at"],
                   finished_at=r["finished_at"], targets=json.loads(r["targets"]),
                   profile=r["profile"], state=r["state"], score=r["score"], grade=r["grade"],
                   counts=json.loads(r["counts"]) if r["counts"] else {},
                   scoring_version=r["scoring_version"])


class HistoryStore:
    """The SQLite store. Open it with `with HistoryStore(path) as store:`."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else default_db_path()
        self._db: sqlite3.Connection | None = None

    def __enter__(self) -> HistoryStore:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        try:
            # Findings describe weaknesses: the store is readable by its owner only, and never
            # opened through a link (fsutil refuses one, at the database and its companions).
            fsutil.ensure_private_file(self.path, "history database")
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            self._wal(db)
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA foreign_keys = ON")
            self._db = db
            with self._write() as cur:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        cur.execute(statement)
                columns = {r["name"] for r in cur.execute("PRAGMA table_info(scans)")}
                if "scoring_version" not in columns:
                    cur.execute("ALTER TABLE scans ADD COLUMN scoring_version TEXT")
                cur.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                self._rescore_older(cur)
        except sqlite3.Error as exc:
            raise HistoryError(f"cannot open the history store {self.path}: {exc}") from exc
        except OSError as exc:
            raise HistoryError(f"cannot create the history store {self.path}: "
                               f"{exc.strerror}") from exc

    @staticmethod
    def _wal(db: sqlite3.Connection) -> None:
        """Switch to WAL. SQLite answers "database is locked" at once, without waiting on the
        busy timeout, while another process is creating or switching the same new store: two
        scans started together into a new store wait for each other here (bounded)."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        for _ in range(int(BUSY_TIMEOUT_S / 0.05) + 1):
            try:
                db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        db.execute("PRAGMA journal_mode = WAL")

    @staticmethod
    def _rescore_older(cur: sqlite3.Cursor) -> None:
        """Scans scored under an older scoring version get the current one's score and grade
        in their row (the trend and `history` compare like with like); their stored report is
        kept as it was, so `smbaudit report` still shows what it said then."""
        rows = cur.execute("SELECT seq, report FROM scans WHERE report IS NOT NULL AND "
                           "(scoring_version IS NULL OR scoring_version != ?)",
                           (SCORING_VERSION,)).fetchall()
        for row in rows:
            try:
                again = rescore(json.loads(row["report"]))
            except ValueError:
                continue
            cur.execute("UPDATE scans SET score = ?, grade = ?, scoring_version = ? "
                        "WHERE seq = ?", (again.score, again.grade, again.version, row["seq"]))

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("HistoryStore used before open()")
        return self._db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Cursor]:
        """One short write transaction; BEGIN IMMEDIATE takes the write lock up front, so two
        writers queue on the busy timeout instead of failing half-way."""
        cur = self.db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")

    # -- writing -----------------------------------------------------------------------------

    def begin(self, scan_id: str, started_at: str, targets: list[str],
              profile: str | None = None) -> None:
        """Record that a scan started (it stays `running` if the process is killed outright)."""
        with self._write() as cur:
            self._insert(cur, scan_id, started_at, targets, profile, "running")

    def _insert(self, cur: sqlite3.Cursor, scan_id: str, started_at: str, targets: list[str],
                profile: str | None, state: str) -> int:
        cur.execute("INSERT INTO scans (scan_id, started_at, target_key, targets, profile, state)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (scan_id, started_at, target_key(targets), json.dumps(sorted(set(targets))),
                     profile, state))
        seq = int(cur.lastrowid or 0)
        cur.executemany("INSERT OR IGNORE INTO scan_targets (seq, target) VALUES (?, ?)",
                        [(seq, t) for t in set(targets)])
        return seq

    def save(self, report: dict[str, Any], profile: str | None = None) -> None:
        """Store a finished (or interrupted) scan's full JSON report."""
        names = [t["name"] for t in report["targets"]]
        summary = report["summary"]
        scored = rescore(report)
        state = "complete" if report["complete"] else "incomplete"
        with self._write() as cur:
            row = cur.execute("SELECT seq, profile FROM scans WHERE scan_id = ?",
                              (report["scan_id"],)).fetchone()
            if row is None:
                seq = self._insert(cur, report["scan_id"], report["started_at"], names, profile,
                                   state)
            else:
                seq = row["seq"]
                profile = profile or row["profile"]
                cur.execute("DELETE FROM scan_targets WHERE seq = ?", (seq,))
                cur.executemany("INSERT INTO scan_targets (seq, target) VALUES (?, ?)",
                                [(seq, t) for t in set(names)])
            cur.execute(
                "UPDATE scans SET finished_at = ?, target_key = ?, targets = ?, profile = ?,"
                " state = ?, score = ?, grade = ?, counts = ?, report = ?, scoring_version = ?"
                " WHERE seq = ?",
                (report["finished_at"], target_key(names), json.dumps(sorted(set(names))),
                 profile, state, scored.score, scored.grade,
                 json.dumps(summary["counts"]), json.dumps(report, default=str), scored.version,
                 seq))
            cur.execute("DELETE FROM findings WHERE seq = ?", (seq,))
            cur.executemany(
                "INSERT OR REPLACE INTO findings (seq, check_id, target, status, severity)"
                " VALUES (?, ?, ?, ?, ?)",
                [(seq, f["check_id"], f["target"], f["status"], f["severity"])
                 for f in report["findings"]])

    # -- reading -----------------------------------------------------------------------------

    def list(self, target: str | None = None, limit: int | None = None) -> list[ScanRow]:
        """Scans, newest first; with `target`, only scans that included it."""
        sql = "SELECT * FROM scans"
        args: list[Any] = []
        if target:
            sql += " WHERE seq IN (SELECT seq FROM scan_targets WHERE target = ?)"
            args.append(target)
        sql += " ORDER BY seq DESC"
        if limit:
            sql += " LIMIT ?"
            args.append(limit)
        return [_row(r) for r in self.db.execute(sql, args)]

    def row(self, scan_id: str) -> ScanRow:
        """A scan by its id or a unique prefix of it (as `history` shows them)."""
        rows = self.db.execute("SELECT * FROM scans WHERE scan_id LIKE ? ESCAPE '\\' "
                               "ORDER BY seq DESC LIMIT 2",
                               (_like_prefix(scan_id),)).fetchall()
        exact = [r for r in rows if r["scan_id"] == scan_id]
        if exact:
            return _row(exact[0])
        if not rows:
            raise HistoryError(f"no scan {scan_id!r} in {self.path}")
        if len(rows) > 1:
            raise HistoryError(f"scan id {scan_id!r} is ambiguous: give more characters")
        return _row(rows[0])

    def load(self, scan_id: str) -> dict[str, Any]:
        """The stored JSON report of a scan."""
        row = self.row(scan_id)
        data = self.db.execute("SELECT report FROM scans WHERE seq = ?", (row.seq,)).fetchone()
        if data["report"] is None:
            raise HistoryError(f"scan {row.scan_id[:12]} did not finish: no results were stored")
        return json.loads(data["report"])  # type: ignore[no-any-return]

    def scan(self, scan_id: str) -> StoredScan:
        """A stored scan, typed, as the diff compares it."""
        return StoredScan.from_dict(self.load(scan_id))

    def previous(self, targets: Iterable[str], before: str | None = None,
                 complete_only: bool = True) -> ScanRow | None:
        """The latest stored scan of the same set of targets (before scan `before`, if given)."""
        sql = "SELECT * FROM scans WHERE target_key = ? AND report IS NOT NULL"
        args: list[Any] = [target_key(targets)]
        if complete_only:
            sql += " AND state = 'complete'"
        if before:
            # a scan not (yet) in the store comes after every stored one
            sql += " AND seq < COALESCE((SELECT seq FROM scans WHERE scan_id = ?), 9e18)"
            args.append(before)
        row = self.db.execute(sql + " ORDER BY seq DESC LIMIT 1", args).fetchone()
        return _row(row) if row else None

    def trend(self, targets: Iterable[str],
              limit: int = TREND_LENGTH) -> builtins.list[TrendPoint]:
        """Score over the last `limit` stored scans of this set of targets, oldest first."""
        rows = self.db.execute(
            "SELECT scan_id, started_at, score, grade, state, scoring_version FROM scans "
            "WHERE target_key = ? AND report IS NOT NULL ORDER BY seq DESC LIMIT ?",
            (target_key(targets), limit))
        points = [TrendPoint(scan_id=r["scan_id"], started_at=r["started_at"], score=r["score"],
                             grade=r["grade"], complete=r["state"] == "complete",
                             scoring_version=r["scoring_version"] or "1") for r in rows]
        return points[::-1]

    def failed_before(self, keys: Iterable[tuple[str, str]], scan_id: str) -> set[tuple[str, str]]:
        """Which (check, target) pairs failed in any stored scan older than `scan_id`."""
        found: set[tuple[str, str]] = set()
        for check_id, target in keys:
            hit = self.db.execute(
                "SELECT 1 FROM findings WHERE check_id = ? AND target = ? AND status = 'fail' "
                "AND seq < (SELECT seq FROM scans WHERE scan_id = ?) LIMIT 1",
                (check_id, target, scan_id)).fetchone()
            if hit:
                found.add((check_id, target))
        return found


def pick_pair(store: HistoryStore, old: str | None, new: str | None,
              target: str | None) -> tuple[StoredScan, StoredScan]:
    """The two stored reports to compare: OLD and NEW as given; with only OLD, the latest later
    scan of the same targets; with neither, the latest scan (of `target`) and the previous
    complete scan of the same targets."""
    if new is None:
        if old is not None:
            base = store.load(old)
            names = sorted({t["name"] for t in base["targets"]})
            newer = [r for r in store.list(limit=None) if r.targets == names and r.state != "running"]
            if not newer or newer[0].scan_id == base["scan_id"]:
                raise HistoryError("no later scan of the same targets to compare with")
            return StoredScan.from_dict(base), store.scan(newer[0].scan_id)
        rows = [r for r in store.list(target=target) if r.state != "running"]
        if not rows:
            raise HistoryError("no finished scan recorded" + (f" for {target}" if target else ""))
        newest = rows[0]
        prev = store.previous(newest.targets, before=newest.scan_id)
        if prev is None:
            raise HistoryError(f"only one finished scan of {', '.join(newest.targets)}: "
                               "nothing to compare yet")
        return store.scan(prev.scan_id), store.scan(newest.scan_id)
    if old is None:
        raise HistoryError("give OLD and NEW, or neither")
    return store.scan(old), store.scan(new)


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def history_section(store: HistoryStore, scan: StoredScan) -> HistorySection:
    """The report's `history` section for a scan about to be saved: the diff against the
    previous complete scan of the same targets, and the score trend (this scan included)."""
    names = scan.names
    prev_row = store.previous(names, before=scan.scan_id)
    section = HistorySection()
    if prev_row is not None:
        prev = store.scan(prev_row.scan_id)
        earlier = store.failed_before(scan.failing, prev_row.scan_id)
        section.previous = prev.brief
        section.diff = diff(prev, scan, earlier)
    this = scan.brief
    trend = [p for p in store.trend(names) if p.scan_id != this.scan_id]
    trend.append(TrendPoint(scan_id=this.scan_id, started_at=this.started_at, score=this.score,
                            grade=this.grade, complete=this.complete,
                            scoring_version=this.scoring_version))
    section.trend = trend[-TREND_LENGTH:]
    return section
