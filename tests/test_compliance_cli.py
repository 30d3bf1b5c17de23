"""`smbaudit policies ...` commands and the HTML partial, through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from compliance_fixtures import build_policyset
from smbaudit import yamlload
from smbaudit.cli import cli


@pytest.fixture(scope="module")
def policyset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_policyset(tmp_path_factory.mktemp("cli") / "policyset")


def run(*args: str):
    return CliRunner().invoke(cli, ["policies", *args], catch_exceptions=False)


def test_list_and_show() -> None:
    out = run("list").output
    assert {"hipaa", "gdpr", "ccpa"} <= {line.split()[0] for line in out.splitlines()}
    out = run("show", "hipaa").output
    assert "164.308(a)(1)(ii)(A)" in out and "addressable" in out
    out = run("show", "gdpr", "Art. 32(1)(b)").output
    assert "GDPR Art. 32(1)(b)" in out and "checks mapped" in out


def test_unknown_ids_exit_2() -> None:
    r = run("show", "hipaa", "164.999")
    assert r.exit_code == 2 and "unknown HIPAA requirement" in r.output
    assert run("show", "sox").exit_code == 2


def test_questionnaire_writes_yaml(tmp_path: Path) -> None:
    out = tmp_path / "q.yaml"
    assert run("questionnaire", "--framework", "hipaa", "-o", str(out)).exit_code == 0
    data = yamlload.load_file(out)
    assert data["kind"] == "smbaudit-attestations" and data["items"]
    assert all(i["answer"] is None for i in data["items"])


def test_coverage_json_and_text(policyset: Path, tmp_path: Path) -> None:
    r = run("coverage", "--framework", "ccpa", "--framework", "gdpr", "--evidence", str(policyset),
            "--format", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert [c["framework"] for c in data["compliance"]] == ["ccpa", "gdpr"]
    r = run("coverage", "--framework", "hipaa", "--evidence", str(policyset), "-v")
    assert "HIPAA: Readiness" in r.output and "NOT MET" in r.output and "[policy]" in r.output


def test_coverage_html_is_self_contained_and_escaped(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "evil.txt").write_text("ENCRYPTION\n\nAll laptops are encrypted with BitLocker "
                                  "<script>alert(1)</script>.\n", encoding="utf-8")
    out = tmp_path / "c.html"
    r = run("coverage", "--framework", "hipaa", "--evidence", str(docs), "--format", "html",
            "--output", str(out))
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "<details" in html and "cov-matrix" in html
    assert "http://" not in html and "https://" not in html and "<link" not in html


def test_bad_attestations_exit_2_with_line(tmp_path: Path) -> None:
    bad = tmp_path / "a.yaml"
    bad.write_text("schema: 1\nkind: smbaudit-attestations\nitems:\n"
                   "  - id: hipaa/164.308(b)(1)/baas-signed\n    answer: perhaps\n"
                   "    answered_by: X\n    date: 2026-01-01\n", encoding="utf-8")
    r = run("coverage", "--framework", "hipaa", "--attestations", str(bad))
    assert r.exit_code == 2 and f"{bad}:5" in r.output


def test_scan_reports_compliance(policyset: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["scan", f"dir:{tree}", "--framework", "hipaa", "--evidence",
                                 str(policyset), "--no-history", "-o", str(out), "-q",
                                 "--fail-on", "none"], catch_exceptions=False)
    assert r.exit_code in (0, 3), r.output
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    (hipaa,) = data["compliance"]
    assert hipaa["framework"] == "hipaa" and hipaa["summary"]["applicable"] == 73
    assert "cov-matrix" in (out / "report.html").read_text(encoding="utf-8")
