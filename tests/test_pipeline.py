"""The scan pipeline as a library: a ScanConfig in, a typed ScanResult out, no CLI involved."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from smbaudit import pipeline, profile
from smbaudit.config import ScanConfig
from smbaudit.demotree import build
from smbaudit.errors import EXIT_FINDINGS, OutputError, UsageError
from smbaudit.history import HistorySection, HistoryStore
from smbaudit.models import Status
from smbaudit.render.formats import OutputFormat, renderer
from smbaudit.report import Report
from smbaudit.scoring import Score
from smbaudit.sections import FrameworkSection

SRC = Path(__file__).resolve().parents[1] / "src"


def test_pipeline_scans_a_tree_and_returns_a_typed_result(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    build(tree, hardened=False)
    db = tmp_path / "h.db"
    config = ScanConfig(targets=(f"dir:{tree}",), formats=(OutputFormat.JSON,),
                        output=str(tmp_path / "report.json"), db=str(db), select=("accounts.*",))
    result = pipeline.run(config)
    # Then the result is data, not printed text
    assert result.exit_code == EXIT_FINDINGS
    assert result.written == [str(tmp_path / "report.json")]
    report = result.report
    assert {f.check_id for f in report.failed} >= {"accounts.uid0-only-root",
                                                   "accounts.no-empty-passwords"}
    assert all(f.check_id.startswith("accounts.") for f in report.findings)
    assert report.summary.score.grade in ("D", "F")
    assert result.crossing is not None and result.crossing.findings
    # the JSON written is the same report (the dict history stored), and the scan is in the
    # history store
    written = json.loads(Path(result.written[0]).read_text())
    assert written == json.loads(json.dumps(report.to_dict(), default=str))
    with HistoryStore(db) as store:
        assert [r.scan_id for r in store.list()] == [report.scan_id]


def test_typed_end_to_end_and_no_finding_changes_after_the_pipeline(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    build(tree, hardened=False)
    config = ScanConfig(targets=(f"dir:{tree}",), formats=(OutputFormat.JSON,),
                        output=str(tmp_path / "r.json"), db=str(tmp_path / "h.db"),
                        select=("accounts.*", "ssh.*"), frameworks=("hipaa",))
    pipeline.run(config)
    report = pipeline.run(config).report
    # every section is typed
    assert report.compliance and isinstance(report.compliance[0], FrameworkSection)
    assert isinstance(report.summary.score, Score) and report.summary.score.breakdown.rows
    assert isinstance(report.history, HistorySection) and report.history.diff is not None
    # a finding is complete when the pipeline returns: rendering changes none of them
    before = [f.to_dict() for f in report.findings]
    for fmt in OutputFormat:
        if fmt is not OutputFormat.PDF:  # the PDF is the printed HTML (Chromium: its own test)
            renderer(fmt)(report)
    data = report.to_dict()
    assert [f.to_dict() for f in report.findings] == before
    # and the JSON form (stored scans) comes back typed, saying the same
    again = Report.from_dict(json.loads(json.dumps(data)))
    assert again.compliance is not None and again.compliance == report.compliance
    assert again.to_dict() == json.loads(json.dumps(data))


def test_second_run_gets_the_history_section(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    build(tree, hardened=True)
    config = ScanConfig(targets=(f"dir:{tree}",), formats=(OutputFormat.JSON,),
                        output=str(tmp_path / "out.json"), db=str(tmp_path / "h.db"),
                        select=("ssh.*",))
    first = pipeline.run(config)
    second = pipeline.run(config)
    assert first.report.history is not None and first.report.history.diff is None
    assert second.report.history is not None
    diff = second.report.history.diff
    assert diff is not None and diff.comparable and diff.score_change == 0
    assert diff.old_scan.scan_id == first.report.scan_id


def test_profile_fragment_then_flags(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text("schema: 1\ntargets: [local]\nfail_on: medium\nhistory: {enabled: false}\n"
                 "outputs: {dir: ./reports, formats: [json]}\nscan: {jobs: 2}\n")
    prof = profile.load(p)
    # A profile yields config fields, not command-line parameter names
    assert prof.settings["history"] is False and prof.settings["jobs"] == 2
    config = ScanConfig.build(profile=prof, given={"jobs": 3})
    assert (config.fail_on, config.jobs, config.history) == ("medium", 3, False)
    assert config.output_paths() == {OutputFormat.JSON: str(tmp_path / "reports" / "report.json")}
    with pytest.raises(UsageError, match="not a scan setting"):
        ScanConfig.build(given={"no_history": True})


def test_config_is_frozen_and_validated(tmp_path: Path) -> None:
    config = ScanConfig(targets=("local",))
    with pytest.raises(AttributeError):
        config.jobs = 9  # type: ignore[misc]
    with pytest.raises(UsageError):
        ScanConfig(targets=("local",), fail_on="urgent")
    with pytest.raises(UsageError, match="--fail-on-new needs the history store"):
        pipeline.run(ScanConfig(targets=("local",), fail_on_new="high", history=False))
    with pytest.raises(UsageError, match="give at least one target"):
        pipeline.run(ScanConfig())


def test_output_error_is_raised_after_the_scan_is_recorded(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    build(tree, hardened=True)
    (tmp_path / "afile").write_text("")
    config = ScanConfig(targets=(f"dir:{tree}",), output=str(tmp_path / "afile" / "out"),
                        db=str(tmp_path / "h.db"), select=("ssh.*",))
    with pytest.raises(OutputError, match="smbaudit report ") as info:
        pipeline.run(config)
    scan_id = str(info.value).split("smbaudit report ")[1].split()[0]
    report = pipeline.stored_report(str(tmp_path / "h.db"), scan_id)
    assert report.findings and all(f.status is not Status.ERROR for f in report.findings)


def test_the_pipeline_does_not_load_click(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    build(tree, hardened=True)
    code = ("import sys; from smbaudit import pipeline; from smbaudit.config import ScanConfig;"
            f"r = pipeline.run(ScanConfig(targets=('dir:{tree}',), history=False, "
            f"output='{tmp_path / 'o'}', select=('ssh.*',)));"
            "print(r.exit_code, 'click' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": str(SRC), "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["0", "False"], proc.stdout
    assert proc.stderr == ""  # no printing


def test_cli_is_a_thin_layer() -> None:
    lines = {p: len(p.read_text().splitlines()) for p in (SRC / "smbaudit").rglob("*.py")}
    cli = sum(n for p, n in lines.items() if "cli" in p.relative_to(SRC / "smbaudit").parts[:1])
    assert cli / sum(lines.values()) < 0.15
