"""Coverage decisions: checks, documents and attestations combined; statuses; JSON shape."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

from compliance_fixtures import ANSWER_KEY, build_policyset
from smbaudit import yamlload
from smbaudit.compliance import attestations as attest
from smbaudit.compliance.catalog import load_catalogs
from smbaudit.compliance.coverage import assess
from smbaudit.errors import InputFileError, UsageError
from smbaudit.models import Finding, Severity, Status

TODAY = dt.date(2026, 6, 1)


@pytest.fixture(scope="module")
def catalogs():
    return load_catalogs()


@pytest.fixture(scope="module")
def policyset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_policyset(tmp_path_factory.mktemp("cov") / "policyset")


def finding(check_id: str, status: Status, compliance: dict[str, tuple[str, ...]],
            target: str = "host1") -> Finding:
    return Finding(check_id=check_id, title=f"title of {check_id}", description="", category="encryption",
                   severity=Severity.HIGH, status=status, target=target, compliance=compliance,
                   reason="probe failed" if status is Status.ERROR else "")


def req(results, fw: str, rid: str):
    cov = next(c for c in results if c.catalog.framework == fw)
    return next(r for r in cov.requirements if r.requirement.id == rid)


def test_no_evidence_is_not_assessed_never_met(catalogs) -> None:
    (cov,) = assess(catalogs, ["hipaa"], [], [], None, TODAY)
    assert {r.status.value for r in cov.requirements} == {"not_assessed"}
    assert cov.summary.readiness == 0.0 and cov.summary.coverage == 0.0
    assert cov.summary.assessed == 0


def test_failing_check_makes_not_met_and_is_named(catalogs, policyset: Path) -> None:
    findings = [finding("tls.weak", Status.FAIL, {"hipaa": ("164.312(e)(2)(ii)",)}),
                finding("tls.cert", Status.PASS, {"hipaa": ("164.312(e)(2)(ii)",)})]
    results = assess(catalogs, ["hipaa"], findings, [policyset], None, TODAY)
    r = req(results, "hipaa", "164.312(e)(2)(ii)")
    assert r.status.value == "not_met"
    assert r.failing_checks == ["tls.weak on host1"]
    assert any(e.kind.value == "check" and not e.ok for e in r.evidence)


def test_check_and_policy_both_needed_for_met(catalogs, policyset: Path) -> None:
    ok = [finding("disk.enc", Status.PASS, {"hipaa": ("164.312(a)(2)(iv)",)})]
    only_checks = assess(catalogs, ["hipaa"], ok, [], None, TODAY)
    assert req(only_checks, "hipaa", "164.312(a)(2)(iv)").status.value == "partial"
    both = assess(catalogs, ["hipaa"], ok, [policyset], None, TODAY)
    r = req(both, "hipaa", "164.312(a)(2)(iv)")
    assert r.status.value == "met"
    kinds = {e.kind.value for e in r.evidence}
    assert kinds == {"check", "policy"}
    quote = next(e for e in r.evidence if e.kind.value == "policy")
    assert quote.source.split(":line ")[1].isdigit() and "encrypt" in quote.quote


def test_errors_never_count_as_met(catalogs, policyset: Path) -> None:
    err = [finding("disk.enc", Status.ERROR, {"hipaa": ("164.312(a)(2)(iv)",)})]
    r = req(assess(catalogs, ["hipaa"], err, [policyset], None, TODAY), "hipaa", "164.312(a)(2)(iv)")
    assert r.status.value == "partial"
    r = req(assess(catalogs, ["hipaa"], err, [], None, TODAY), "hipaa", "164.312(a)(2)(iv)")
    assert r.status.value == "not_assessed" and "ERROR" in r.reasons[-1]


def test_documents_decide_partial_and_not_met_naming_missing(catalogs, policyset: Path) -> None:
    results = assess(catalogs, ["hipaa", "gdpr"], [], [policyset], None, TODAY)
    login = req(results, "hipaa", "164.308(a)(5)(ii)(C)")  # negated in the policy
    assert login.status.value == "not_met"
    assert any("Log-in attempts" in m for m in login.missing)
    assert any("negated" in why for m in login.elements for _, why in m.rejected)
    port = req(results, "gdpr", "Art. 20")  # only a passing mention
    assert port.status.value == "not_met"
    assert req(results, "hipaa", "164.308(a)(1)(ii)(A)").status.value == "partial"  # no attestation


def test_precision_and_recall_on_the_labelled_policy_set(catalogs, policyset: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from compliance_accuracy import evaluate

    scores = evaluate(policyset, ANSWER_KEY)
    assert scores["precision"] >= 0.9 and scores["recall"] >= 0.9, scores


def test_to_dict_shape(catalogs, policyset: Path) -> None:
    (cov,) = assess(catalogs, ["ccpa"], [], [policyset], None, TODAY)
    data = cov.to_dict()
    assert data["framework"] == "ccpa" and data["summary"]["applicable"] == len(data["requirements"])
    for r in data["requirements"]:
        assert {"id", "citation", "title", "kind", "status", "evidence"} <= set(r)
        assert r["status"] in {"met", "partial", "not_met", "not_assessed", "not_applicable"}
        for e in r["evidence"]:
            assert {"kind", "source", "quote"} <= set(e)
    s = data["summary"]
    assert sum(s["counts"].values()) == len(data["requirements"])
    assert "requirements assessed" in s["line"]
    assert sorted(data["documents"]) == sorted(
        p.name for p in policyset.iterdir())


def test_unknown_framework_is_a_usage_error(catalogs) -> None:
    with pytest.raises(UsageError):
        assess(catalogs, ["sox"], [], [], None, TODAY)


# --------------------------------------------------------------------------- attestations


def _answer(data: dict, key: str, **values) -> None:
    item = next(i for i in data["items"] if i["id"] == key)
    item.update(values)


def test_questionnaire_round_trip(catalogs, policyset: Path, tmp_path: Path) -> None:
    data = attest.questionnaire(catalogs, ["hipaa"])
    keys = [i["id"] for i in data["items"]]
    assert "hipaa/164.308(a)(1)(ii)(A)/risk-analysis-date" in keys
    assert all(i["answer"] is None for i in data["items"])
    path = tmp_path / "answers.yaml"
    path.write_text(attest.dump_questionnaire(data), encoding="utf-8")
    # unanswered: loads fine, nothing counts
    assert attest.load(path, catalogs, TODAY).answers == {}
    data = yamlload.load_file(path)
    _answer(data, "hipaa/164.308(a)(1)(ii)(A)/risk-analysis-date", answer=dt.date(2026, 2, 1),
            answered_by="Dana Whitfield, Security Officer", date=dt.date(2026, 5, 20))
    _answer(data, "hipaa/164.308(b)(1)/baas-signed", answer="no", answered_by="Dana Whitfield",
            date=dt.date(2026, 5, 20))
    data["scope"] = [{"requirement": "hipaa 164.308(a)(4)(ii)(A)", "reason": "not a clearinghouse",
                      "decided_by": "Dana Whitfield", "date": "2026-05-20"}]
    data["overrides"] = [{"requirement": "hipaa 164.312(c)(2)", "element": "integrity-mechanism",
                          "covered": True, "reason": "EHR vendor signs every record (SOC 2 p. 14)",
                          "decided_by": "A. Auditor", "date": "2026-05-21"}]
    path.write_text(yamlload.dump(_plain(data)), encoding="utf-8")
    results = assess(catalogs, ["hipaa"], [], [policyset], path, TODAY)
    ra = req(results, "hipaa", "164.308(a)(1)(ii)(A)")
    assert ra.status.value == "met"
    assert any(e.kind.value == "attestation" and "2026-02-01" in e.quote for e in ra.evidence)
    assert req(results, "hipaa", "164.308(b)(1)").status.value == "not_met"  # answered "no"
    assert req(results, "hipaa", "164.308(a)(4)(ii)(A)").status.value == "not_applicable"
    assert req(results, "hipaa", "164.312(c)(2)").status.value == "met"  # auditor override
    # stale: the same risk analysis a year later
    later = assess(catalogs, ["hipaa"], [], [policyset], path, TODAY + dt.timedelta(days=400))
    assert req(later, "hipaa", "164.308(a)(1)(ii)(A)").status.value == "not_met"
    summary = results[0].summary
    assert summary.counts["not_applicable"] == 1 and summary.applicable == len(results[0].requirements) - 1


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@pytest.mark.parametrize("item,line,message", [
    ("  - id: hipaa/164.308(b)(1)/baas-signed\n    answer: maybe\n    answered_by: X\n    date: 2026-05-01\n",
     6, "expected yes or no"),
    ("  - id: hipaa/164.308(b)(1)/baas-signed\n    answer: yes\n    date: 2026-05-01\n",
     5, "answered_by"),
    ("  - id: hipaa/164.308(b)(1)/baas-signed\n    answer: yes\n    answered_by: X\n",
     5, "date"),
    ("  - id: hipaa/164.308(a)(1)(ii)(A)/risk-analysis-date\n    answer: last spring\n"
     "    answered_by: X\n    date: 2026-05-01\n", 6, "expected a date"),
    ("  - id: hipaa/nope/nothing\n    answer: yes\n", 5, "unknown questionnaire item"),
])
def test_malformed_answers_are_errors_with_line(catalogs, tmp_path: Path, item: str, line: int,
                                                message: str) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(f"schema: 1\nkind: {attest.KIND}\nframeworks: [hipaa]\nitems:\n{item}",
                    encoding="utf-8")
    with pytest.raises(InputFileError) as exc:
        attest.load(path, catalogs, TODAY)
    assert any(e.path == str(path) and e.line == line and message in e.message
               for e in exc.value.errors), [str(e) for e in exc.value.errors]


@pytest.mark.parametrize("name", ["holdout", "holdout2"])
def test_holdout_sets_do_not_regress(name: str) -> None:
    """Second and third policy sets in other styles (see docs/compliance.md, Accuracy)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from compliance_accuracy import evaluate

    data = Path(__file__).resolve().parent / "data" / "compliance"
    scores = evaluate(data / name, data / f"{name}_key.yaml")
    assert scores["precision"] >= 0.85 and scores["recall"] >= 0.85, scores
