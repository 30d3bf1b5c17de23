"""History and diff per host of a fleet scan, and the per-host progress lines."""

from __future__ import annotations

import io
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from smbaudit.cli import cli
from smbaudit.cli.progress import ProgressBar, host_line
from smbaudit.fleet import HostOutcome, host_slice
from smbaudit.history import HistoryStore
from smbaudit.models import Finding, Severity, Status, TargetInfo, TargetKind
from smbaudit.report import build
from smbaudit.targets.hoststate import HostState

T0 = datetime(2026, 11, 1, 3, 0, tzinfo=timezone.utc)
HOSTS = ("web1", "web2", "db1")


def _finding(check: str, target: str, status: Status, severity: str = "high") -> Finding:
    return Finding(check_id=check, title=f"{check} holds", description="d", category="access_control",
                   severity=Severity(severity), status=status, target=target, remediation="r",
                   rationale="w")


def _scan(week: int) -> dict:  # type: ignore[type-arg]
    """Week 0: web2 is clean. Week 1: web2 allows root logins (new), db1 got fixed."""
    findings = []
    for h in HOSTS:
        root = Status.FAIL if (h == "web2" and week == 1) or h == "web1" else Status.PASS
        shadow = Status.FAIL if h == "db1" and week == 0 else Status.PASS
        findings += [_finding("ssh.permit-root-login", h, root),
                     _finding("files.shadow-permissions", h, shadow, "medium")]
    targets = [TargetInfo(h, TargetKind.HOST, details={"state": "assessed"}) for h in HOSTS]
    started = T0 + timedelta(days=7 * week)
    return build(scan_id=f"{week:02d}" + "ab" * 15, started_at=started, finished_at=started,
                 complete=True, targets=targets, findings=findings).to_dict()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "h.db"
    with HistoryStore(path) as store:
        for week in (0, 1):
            store.save(_scan(week))
    return path


def test_slice_keeps_the_hosts_own_score() -> None:
    scan = _scan(1)
    own = next(p for p in scan["summary"]["per_target"] if p["target"] == "web2")
    one = host_slice(scan, "web2")
    assert one is not None and [t["name"] for t in one["targets"]] == ["web2"]
    assert {f["target"] for f in one["findings"]} == {"web2"}
    assert (one["summary"]["grade"], one["summary"]["score"]) == (own["grade"], own["score"])
    assert one["summary"]["counts"]["fail"] == 1
    assert host_slice(_scan(1), "nosuch") is None


def test_history_per_host(db: Path) -> None:
    out = CliRunner().invoke(cli, ["history", "--target", "db1", "--db", str(db), "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    own = [next(p for p in _scan(w)["summary"]["per_target"] if p["target"] == "db1") for w in (1, 0)]
    assert [(r["grade"], r["score"], r["counts"]["fail"]) for r in rows] == [
        (own[0]["grade"], own[0]["score"], 0), (own[1]["grade"], own[1]["score"], 1)]
    assert own[0]["score"] != own[1]["score"]
    text = CliRunner().invoke(cli, ["history", "--target", "db1", "--db", str(db)]).output
    assert "one of 3 targets" in text


def test_diff_per_host(db: Path) -> None:
    out = CliRunner().invoke(cli, ["diff", "--target", "web2", "--db", str(db), "--format", "json"])
    assert out.exit_code == 0, out.output
    d = json.loads(out.output)
    assert [(e["check_id"], e["target"]) for e in d["new"]] == [("ssh.permit-root-login", "web2")]
    assert d["resolved"] == [] and d["new_scan"]["targets"] == ["web2"]
    fixed = json.loads(CliRunner().invoke(cli, ["diff", "--target", "db1", "--db", str(db),
                                                "--format", "json"]).output)
    assert [e["check_id"] for e in fixed["resolved"]] == ["files.shadow-permissions"]
    assert fixed["new"] == [] and fixed["unchanged"] == []  # web1's failure is not db1's


def test_progress_prints_a_line_per_host_only_when_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    done = HostOutcome("web3", HostState.UNREACHABLE, "web3: cannot connect: timed out", 3.0)
    ok = HostOutcome("web1", HostState.ASSESSED, "", 8.25, failed=12, errors=1, checks=120)
    assert host_line(ok) == "web1  assessed  12 failing, 1 error(s)  8.2 s"
    assert "unreachable  web3: cannot connect: timed out" in host_line(done)
    for enabled in (False, True):
        err = io.StringIO()
        monkeypatch.setattr(sys, "stderr", err)
        bar = ProgressBar(enabled=enabled)
        bar.planned(10)
        bar.host_done(ok)
        bar.job_done("web2: accounts", True)
        bar.host_done(done)
        bar.close()
        text = err.getvalue()
        if enabled:
            assert "web1  assessed" in text and "web3  unreachable" in text
            assert "2 host(s) done" in text
        else:
            assert text == ""
