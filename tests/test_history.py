"""History store and diff: crafted scan pairs, concurrency, scans killed mid-way."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from smbaudit import history
from smbaudit import report as report_mod
from smbaudit.history import HistoryError, HistoryStore, StoredScan
from smbaudit.models import Finding, Severity, Status, TargetInfo, TargetKind, Waiver

T0 = datetime(2026, 1, 1, 2, 0, tzinfo=timezone.utc)


def f(check: str, status: str, severity: str = "high", target: str = "dir:/srv/a",
      waiver: Waiver | None = None) -> Finding:
    return Finding(check_id=check, title=f"title of {check}", description="", category="hardening",
                   severity=Severity(severity), status=Status(status), target=target,
                   waiver=waiver)


def scan(findings: list[Finding], n: int = 0, complete: bool = True,
         targets: tuple[str, ...] = ("dir:/srv/a",), scan_id: str | None = None) -> dict[str, Any]:
    started = T0 + timedelta(days=n)
    r = report_mod.build(scan_id=scan_id or f"{n:04d}" + "0" * 28, started_at=started,
                         finished_at=started + timedelta(minutes=1), complete=complete,
                         targets=[TargetInfo(t, TargetKind.HOST) for t in targets],
                         findings=findings)
    return r.to_dict()


def diff(old: dict[str, Any], new: dict[str, Any], **kw: Any) -> history.ScanDiff:
    """The diff of two stored (JSON) reports, as history reads them back: typed."""
    return history.diff(StoredScan.from_dict(old), StoredScan.from_dict(new), **kw)


def ids(entries: list[history.DiffEntry]) -> list[str]:
    return [e.check_id for e in entries]


# -- diff on crafted pairs ---------------------------------------------------------------------

def test_diff_buckets() -> None:
    old = scan([f("c.fixed", "fail"), f("c.still", "fail", "medium"), f("c.worse", "fail", "low"),
                f("c.ok", "pass"), f("c.appears", "pass"), f("c.errs", "fail"),
                f("c.gone", "fail")], 0)
    new = scan([f("c.fixed", "pass"), f("c.still", "fail", "medium"), f("c.worse", "fail", "high"),
                f("c.ok", "pass"), f("c.appears", "fail", "critical"), f("c.errs", "error"),
                f("c.brandnew", "fail", "low")], 1)
    d = diff(old, new)
    assert ids(d.new) == ["c.appears", "c.brandnew"]  # sorted by severity, worst first
    assert ids(d.resolved) == ["c.fixed"]
    assert ids(d.regressed) == ["c.worse"] and d.regressed[0].old_severity == "low"
    assert ids(d.unchanged) == ["c.still"]
    # failing before, now an error or not run at all: not claimed as resolved
    assert ids(d.not_reassessed) == ["c.errs", "c.gone"]
    # 1 of 7 checks errored in the newer scan: its grade is "Incomplete", so no better/worse
    assert new["summary"]["grade"] == "Incomplete" and d.score_change is None
    assert not d.comparable and "check sets differ" in d.notes[0]  # c.gone / c.brandnew
    assert any("not fully assessed" in n for n in d.notes)
    j = d.to_dict()
    assert {"new", "resolved", "regressed", "unchanged"} <= set(j)
    assert [e["check_id"] for e in j["new"]] == ["c.appears", "c.brandnew"]


def test_fail_after_a_resolve_is_a_regression() -> None:
    old = scan([f("c.back", "pass"), f("c.first", "pass")], 1)
    new = scan([f("c.back", "fail"), f("c.first", "fail")], 2)
    d = diff(old, new, failed_earlier={("c.back", "dir:/srv/a")})
    assert ids(d.regressed) == ["c.back"] and ids(d.new) == ["c.first"]
    assert d.comparable and d.notes == []


def test_identical_scans_differ_in_nothing_and_waivers_are_flagged() -> None:
    w = Waiver("accepted", "boss", "2030-01-01", False)
    old = scan([f("c.a", "fail"), f("c.b", "pass")], 0)
    new = scan([f("c.a", "fail", waiver=w), f("c.b", "pass")], 1)
    d = diff(old, new)
    assert d.new == d.resolved == d.regressed == [] and ids(d.unchanged) == ["c.a"]
    assert d.unchanged[0].waived is True
    assert d.score_change == -10.0  # the live waiver takes it out of the score


def test_incomplete_or_other_targets_are_flagged_not_comparable() -> None:
    old = scan([f("c.a", "fail")], 0, complete=False)
    new = scan([f("c.a", "fail", target="dir:/srv/b")], 1, targets=("dir:/srv/b",))
    d = diff(old, new)
    assert not d.comparable
    assert any("different targets" in n for n in d.notes)
    assert any("older scan did not finish" in n for n in d.notes)


# -- scans scored under an older scoring version ---------------------------------------------

def as_version_1(report: dict[str, Any], score: float = 100.0, grade: str = "F") -> dict[str, Any]:
    """A stored report as scoring version 1 wrote it (scores capped at 100)."""
    old = json.loads(json.dumps(report))
    old["schema_version"] = "1"
    summary = old["summary"]
    for key in ("breakdown", "drivers"):
        summary.pop(key)
    summary.update(score=score, grade=grade, scoring_version="1", formula="R = worst + ...")
    for c in summary["top_contributors"]:
        for key in ("score_if_fixed", "grade_if_fixed", "target_score_if_fixed"):
            c.pop(key)
    return old


def test_a_diff_rescores_an_older_version_from_its_findings_and_says_so() -> None:
    old = as_version_1(scan([f("c.a", "fail", "critical"), f("c.b", "fail", "critical")], 0))
    new = scan([f("c.a", "pass", "critical"), f("c.b", "fail", "critical")], 1)
    d = diff(old, new)
    assert (d.old_scan.score, d.old_scan.scored_as, d.old_scan.scoring_version) == (80.0, "1", "2")
    assert d.comparable and d.score_change == -40.0  # not 100 -> 40: like with like
    assert any("scored with scoring version 1" in n and "recomputed" in n for n in d.notes)
    # scores under different versions (one could not be rescored) are never compared
    stale = history.ScanBrief("a", "2026-01-01", ("t",), 100.0, "F", True, scoring_version="1")
    assert history.ScanDiff(stale, d.new_scan).score_change is None


def test_the_store_rescores_older_rows_and_keeps_their_report(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    first = as_version_1(scan([f("c.a", "fail", "critical"), f("c.b", "fail")], 0))
    second = scan([f("c.a", "pass", "critical"), f("c.b", "fail")], 1)
    # A store written before scoring versions were recorded: no scoring_version column.
    with HistoryStore(db) as store:
        store.save(first)
    con = sqlite3.connect(db)
    con.execute("ALTER TABLE scans DROP COLUMN scoring_version")
    con.execute("UPDATE scans SET score = 100, grade = 'F'")
    con.commit()
    con.close()
    with HistoryStore(db) as store:
        row = store.list()[0]
        assert (row.score, row.grade, row.scoring_version) == (50.0, "F", "2")
        assert store.load(first["scan_id"])["summary"]["score"] == 100.0  # what it said then
        section = history.history_section(store, StoredScan.from_dict(second))
        assert [p.score for p in section.trend] == [50.0, 10.0]
        assert section.diff is not None and section.diff.score_change == -40.0


# -- the store ---------------------------------------------------------------------------------

def test_store_roundtrip_list_and_previous(tmp_path: Path) -> None:
    db = tmp_path / "h" / "history.sqlite3"
    with HistoryStore(db) as store:
        a = scan([f("c.a", "fail")], 0)
        b = scan([f("c.a", "pass")], 1, complete=False)
        c = scan([f("c.a", "pass", target="dir:/other")], 2, targets=("dir:/other",))
        for r in (a, b, c):
            store.save(r, profile="client-a")
        # Every field of the JSON report is kept
        assert store.load(a["scan_id"]) == json.loads(json.dumps(a))
        assert [r.scan_id for r in store.list()] == [c["scan_id"], b["scan_id"], a["scan_id"]]
        assert [r.scan_id for r in store.list(target="dir:/srv/a")] == [b["scan_id"], a["scan_id"]]
        assert store.list()[1].state == "incomplete"
        # The previous *complete* scan of the same targets is the baseline
        prev = store.previous(["dir:/srv/a"], before=b["scan_id"])
        assert prev is not None and prev.scan_id == a["scan_id"]
        assert store.row(a["scan_id"][:6]).scan_id == a["scan_id"]  # unique prefix
        with pytest.raises(HistoryError, match="ambiguous"):
            store.row("000")
        with pytest.raises(HistoryError, match="no scan"):
            store.load("ffff")
    assert oct(db.stat().st_mode & 0o777) == "0o600"
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_history_section_diffs_against_previous_and_trends(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.db") as store:
        store.save(scan([f("c.a", "fail"), f("c.b", "pass")], 0))
        store.save(scan([f("c.a", "pass"), f("c.b", "pass")], 1))
        third = scan([f("c.a", "fail"), f("c.b", "fail", "medium")], 2)
        store.begin(third["scan_id"], third["started_at"], ["dir:/srv/a"])
        section = history.history_section(store, StoredScan.from_dict(third))
        diff = section.diff
        assert diff is not None
        assert [e.check_id for e in diff.regressed] == ["c.a"]  # failed on day 0
        assert [e.check_id for e in diff.new] == ["c.b"]
        assert [p.score for p in section.trend] == [10.0, 0.0, 13.0]  # high 10, + medium 3
        # the section survives the JSON round trip typed
        again = history.HistorySection.from_dict(section.to_dict())
        assert again == section


def test_running_scan_is_listed_but_cannot_be_loaded(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.db") as store:
        store.begin("dead" * 8, T0.isoformat(), ["local"])
        assert store.list()[0].state == "running"
        with pytest.raises(HistoryError, match="did not finish"):
            store.load("dead")


def _writer(db: str, who: int, count: int) -> None:
    with HistoryStore(db) as store:
        for i in range(count):
            sid = f"{who:02d}{i:030d}"
            store.begin(sid, T0.isoformat(), ["dir:/srv/a"])
            store.save(scan([f(f"c.{j}", "fail" if (i + j) % 3 else "pass") for j in range(40)],
                            i, scan_id=sid))


def test_two_processes_writing_one_store(tmp_path: Path) -> None:
    db = str(tmp_path / "h.db")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(db, w, 25)) for w in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    with HistoryStore(db) as store:
        rows = store.list()
        assert len(rows) == 50 and {r.state for r in rows} == {"complete"}
        assert all(len(store.load(r.scan_id)["findings"]) == 40 for r in rows)
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT count(*) FROM findings").fetchone()[0] == 50 * 40


# -- real scans through the CLI ----------------------------------------------------------------

PLUGIN = '''
import os, time
from smbaudit.probes.base import Probe
from smbaudit.probes.hookspecs import hookimpl

class Slow(Probe):
    """Sleeps SLOWTEST_SECONDS, then reports ok."""
    name = "slowtest"
    params_schema = {"type": "object", "additionalProperties": False,
                     "properties": {"n": {"type": "integer"}}}
    def collect(self, target, params, ctx):
        print("STARTED", flush=True)
        barrier = os.environ.get("SLOWTEST_BARRIER")
        if barrier:  # wait (bounded) until every scan of the test is inside this probe
            open(os.path.join(barrier, str(os.getpid())), "w").close()
            give_up = time.monotonic() + 30  # the other scan failed: let the test say how
            while len(os.listdir(barrier)) < 2 and time.monotonic() < give_up:
                ctx.check_deadline()
                time.sleep(0.05)
        end = time.monotonic() + float(os.environ.get("SLOWTEST_SECONDS", "60"))
        while time.monotonic() < end:
            ctx.check_deadline()
            time.sleep(0.05)
        return {"ok": True}

class Quick(Probe):
    name = "quicktest"
    def collect(self, target, params, ctx):
        return {"ok": False}

@hookimpl
def smbaudit_register_probes():
    return [Slow, Quick]
'''

PACK = """\
schema: 1
checks:
  - {id: p.quick, title: quick check, description: d, category: hardening, severity: high,
     rationale: r, remediation: x, probe: quicktest, condition: {all: [{fact: ok, op: is_true}]}}
  - {id: p.slow, title: slow check, description: d, category: hardening, severity: low,
     rationale: r, remediation: x, probe: slowtest, condition: {all: [{fact: ok, op: is_true}]}}
"""


def plugin_env(tmp_path: Path, seconds: float) -> dict[str, str]:
    """A real third-party plugin (module + dist-info entry point) on PYTHONPATH."""
    site = tmp_path / "site"
    info = site / "smbaudit_periodictest-1.0.dist-info"
    info.mkdir(parents=True)
    (site / "smbaudit_periodictest.py").write_text(PLUGIN)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: smbaudit-periodictest\n"
                                   "Version: 1.0\n")
    (info / "entry_points.txt").write_text("[smbaudit.probes]\nperiodictest = smbaudit_periodictest\n")
    (tmp_path / "pack.yaml").write_text(PACK)
    (tmp_path / "etc").mkdir(exist_ok=True)  # the scanned folder is a (tiny) config tree
    env = dict(os.environ)
    env["PYTHONPATH"] = str(site) + os.pathsep + env.get("PYTHONPATH", "")
    env["SLOWTEST_SECONDS"] = str(seconds)
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")  # never the developer's own store
    return env


def scan_cmd(tmp_path: Path, db: Path, out: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "smbaudit", "scan", f"dir:{tmp_path}", "--no-default-checks",
            "--checks", str(tmp_path / "pack.yaml"), "--plugin", "periodictest", "--db", str(db),
            "-o", str(tmp_path / out), "--jobs", "1", "-q", *extra]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_history_survives_a_scan_killed_midway(tmp_path: Path, sig: signal.Signals) -> None:
    env = plugin_env(tmp_path, seconds=60)
    db = tmp_path / "h.db"
    # Given one finished scan in the store
    env_fast = dict(env, SLOWTEST_SECONDS="0")
    done = subprocess.run(scan_cmd(tmp_path, db, "out0"), env=env_fast, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    # When a second scan is stopped while its slow probe runs
    proc = subprocess.Popen(scan_cmd(tmp_path, db, "out1"), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        line = ""
        while "STARTED" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
        assert "STARTED" in line
        proc.send_signal(sig)
        proc.communicate(timeout=30)
    finally:
        proc.kill()
    # Then the store is intact, the first scan loads, and the stopped one is marked
    with HistoryStore(db) as store:
        rows = store.list()
        assert len(rows) == 2
        assert rows[1].state == "complete" and store.load(rows[1].scan_id)["complete"] is True
        if sig == signal.SIGTERM:
            assert proc.returncode == 130
            assert rows[0].state == "incomplete"
            partial = store.load(rows[0].scan_id)
            assert {f["check_id"]: f["status"] for f in partial["findings"]} == {
                "p.quick": "fail", "p.slow": "skipped"}
            assert partial["history"]["previous"]["scan_id"] == rows[1].scan_id
            # partial findings: no score, no grade, no "better" or "worse"
            assert partial["summary"]["score"] is None
            assert partial["history"]["diff"]["score_change"] is None
        else:
            assert rows[0].state == "running"  # killed outright: listed as "did not finish"
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_two_parallel_scans_into_one_store(tmp_path: Path) -> None:
    env = plugin_env(tmp_path, seconds=0.2)
    barrier = tmp_path / "barrier"  # both scans are inside the slow probe at the same moment
    barrier.mkdir()
    env["SLOWTEST_BARRIER"] = str(barrier)
    db = tmp_path / "h.db"
    procs = [subprocess.Popen(scan_cmd(tmp_path, db, f"out{i}"), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [1, 1], results
    with HistoryStore(db) as store:
        rows = store.list()
        assert len(rows) == 2 and {r.state for r in rows} == {"complete"}
        # Their runs overlapped in time (the barrier sees to it), and both full reports are stored
        a, b = (store.load(r.scan_id) for r in rows)
        assert a["started_at"] <= b["finished_at"] and b["started_at"] <= a["finished_at"]
        assert {f["check_id"] for f in a["findings"]} == {"p.quick", "p.slow"}
