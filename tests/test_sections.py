"""Typed report sections: each gives back exactly the JSON it was read from."""

from __future__ import annotations

from pathlib import Path

from smbaudit.sections import FrameworkSection, VulnDataSection
from smbaudit.vulndb import status as vulndb_status


def test_vulnerability_data_section_round_trips(tmp_path: Path) -> None:
    missing = vulndb_status.report_section(str(tmp_path / "none.sqlite"))
    section = VulnDataSection.from_dict(missing)
    assert not section.present and section.freshness == "missing" and section.message
    assert section.to_dict() == missing
    full = dict(missing, present=True, data_date="2026-01-01T00:00:00+00:00", age_days=3,
                freshness="current", message="vulnerability data of 2026-01-01 (3 days old)",
                sources=[{"name": "debian-dsa", "records": 12, "fetched_at": "2026-01-01",
                          "newest": "2025-12-30"}],
                coverage=[{"distro": "debian", "release": "12", "channel": "security",
                           "records": 12}])
    assert VulnDataSection.from_dict(full).to_dict() == full


def test_framework_section_round_trips_a_hand_written_coverage() -> None:
    data = {
        "framework": "hipaa", "name": "HIPAA Security Rule", "version": "2013",
        "summary": {"counts": {"met": 1, "partial": 0, "not_met": 1, "not_assessed": 0,
                               "not_applicable": 0},
                    "percentages": {"met": 50.0, "partial": 0.0, "not_met": 50.0,
                                    "not_assessed": 0.0},
                    "applicable": 2, "assessed": 2, "assessed_by": {"check": 2},
                    "readiness": 50.0, "coverage": 100.0, "line": "Readiness 50 %"},
        "documents": ["policy.md"], "problems": [], "attestations": None,
        "requirements": [{
            "id": "164.312(a)(1)", "citation": "§164.312(a)(1)", "title": "Access control",
            "kind": "technical", "obligation": "required", "section": "Technical safeguards",
            "status": "not_met",
            "evidence": [{"kind": "check", "source": "ssh.root-login on local", "quote": "fail",
                          "ok": False, "detail": "fail"}],
            "missing": ["unique user identification"], "failing_checks": ["ssh.root-login"],
            "reasons": ["a mapped check fails"],
            "elements": [{"id": "e1", "label": "unique ids", "citation": None, "covered": False,
                          "source": None, "quote": None, "overridden": None,
                          "confidence": 0.5, "needs_review": False, "reviewed": None,
                          "basis": ["no passage"], "partly_stated": False,
                          "missing_parts": [], "passage_hash": None,
                          "rejected": [{"source": "policy.md:line 3", "quote": "x",
                                        "why": "another law"}]}],
            "evidence_kinds": ["check"]}],
    }
    section = FrameworkSection.from_dict(data)
    assert section.requirements[0].elements[0].rejected[0].why == "another law"
    assert section.to_dict() == data
