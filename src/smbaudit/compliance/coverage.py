"""Coverage per framework and requirement from check findings, policy documents and attestations.

Status rules (compliance-notes 4.10 B; docs/compliance.md explains them to auditors):
- not_applicable only with a recorded scope decision (who, why, when);
- not_met when any mapped check FAILs, an attestation says "no" or is out of date, or documents
  were provided and state none of a required policy's elements;
- met only when every required evidence kind is present and passing (errors never pass);
- partial when some evidence is present and passing but not all that is required;
- not_assessed when there is no evidence at all (never counted as met).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from smbaudit.compliance import attestations as attest
from smbaudit.compliance import documents, matcher
from smbaudit.compliance import reviews as review_file
from smbaudit.compliance.model import (
    Catalog,
    CoverageSummary,
    ElementMatch,
    EvidenceItem,
    EvidenceKind,
    FrameworkCoverage,
    Passage,
    Requirement,
    RequirementResult,
    Status,
)
from smbaudit.errors import UsageError
from smbaudit.models import Finding
from smbaudit.models import Status as CheckStatus

_VALUE = {Status.MET: 1.0, Status.PARTIAL: 0.5}
QUOTE_MAX = 400


def assess(catalogs: dict[str, Catalog], frameworks: Sequence[str], findings: Sequence[Finding],
           evidence_dirs: Sequence[Path], attestations: Path | None,
           today: dt.date, reviews: Path | None = None) -> list[FrameworkCoverage]:
    """Coverage of each chosen framework (all shipped ones when `frameworks` is empty).

    `reviews` is an auditor's review file (compliance/reviews.py) applied to document decisions.
    """
    chosen = list(dict.fromkeys(f.lower() for f in frameworks)) or sorted(catalogs)
    unknown = [f for f in chosen if f not in catalogs]
    if unknown:
        raise UsageError(f"unknown framework {unknown[0]!r} (known: {', '.join(sorted(catalogs))})")
    passages: list[Passage] = []
    files: list[str] = []
    problems: list[str] = []
    if evidence_dirs:
        try:
            paths = documents.find_documents(evidence_dirs)
        except documents.DocumentError as exc:
            raise UsageError(str(exc)) from None
        root = Path(evidence_dirs[0]) if len(evidence_dirs) == 1 and Path(
            evidence_dirs[0]).is_dir() else None
        passages, problems = documents.load_passages(paths, root)
        files = [str(p.relative_to(root)) if root else str(p) for p in paths]
    answers = (attest.load(attestations, catalogs, today) if attestations
               else attest.Attestations.empty())
    reviewed = review_file.load(reviews) if reviews else review_file.Reviews.empty()
    index = matcher.PassageIndex(passages)  # built once, shared by every element
    results = []
    for fw in chosen:
        catalog = catalogs[fw]
        reqs = [assess_requirement(fw, r, findings, passages if files else None, answers, today,
                                   reviewed, index)
                for r in catalog.requirements]
        readable = [f for f in files if not any(pr.startswith(f"{f}:") or f in pr
                                                for pr in problems)]
        results.append(FrameworkCoverage(catalog, reqs, summarize(reqs),
                                         documents=readable, problems=problems,
                                         attestations=answers.path or None))
    return results


def assess_requirement(fw: str, req: Requirement, findings: Sequence[Finding],
                       passages: list[Passage] | None, answers: attest.Attestations,
                       today: dt.date, reviewed: review_file.Reviews | None = None,
                       index: matcher.PassageIndex | None = None) -> RequirementResult:
    res = RequirementResult(req, Status.NOT_ASSESSED)
    scope = answers.scope.get((fw, req.id))
    if scope:
        res.status = Status.NOT_APPLICABLE
        res.reasons.append(f"not applicable: {scope.reason} (decided by {scope.decided_by} on "
                           f"{scope.date.isoformat()})")
        res.evidence.append(EvidenceItem(EvidenceKind.ATTESTATION, f"{answers.path}:{scope.line}",
                                         scope.reason, True, "scope decision"))
        return res
    outcomes: dict[EvidenceKind, str] = {}
    required = {s.kind for s in req.evidence if s.required}
    outcomes[EvidenceKind.CHECK] = _checks(fw, req, findings, res)
    if EvidenceKind.CHECK not in {s.kind for s in req.evidence} and \
            outcomes[EvidenceKind.CHECK] == "absent":
        del outcomes[EvidenceKind.CHECK]
    policy = req.spec(EvidenceKind.POLICY)
    if policy:
        outcomes[EvidenceKind.POLICY] = _policy(fw, req, passages, answers, res,
                                                reviewed or review_file.Reviews.empty(), index)
        if not policy.required and outcomes[EvidenceKind.POLICY] == "fail":
            outcomes[EvidenceKind.POLICY] = "absent"  # optional documents: silence is no gap
    if req.spec(EvidenceKind.ATTESTATION):
        outcomes[EvidenceKind.ATTESTATION] = _attestations(fw, req, answers, today, res)
    res.evidence_kinds = {k for k, o in outcomes.items() if o not in ("absent", "error")}

    if any(o == "fail" for o in outcomes.values()):
        res.status = Status.NOT_MET
    elif required and all(outcomes.get(k) == "pass" for k in required) or (
            not required and outcomes and all(o in ("pass", "absent") for o in outcomes.values())
            and "pass" in outcomes.values()):
        res.status = Status.MET
    elif any(o in ("pass", "partial") for o in outcomes.values()):
        res.status = Status.PARTIAL
        for k in sorted(required, key=lambda k: k.value):
            if outcomes.get(k) in ("absent", "error"):
                res.missing.append(f"{k.value} evidence")
    else:
        res.status = Status.NOT_ASSESSED
        if outcomes.get(EvidenceKind.CHECK) == "error":
            res.reasons.append("mapped checks ended in ERROR: the requirement is unknown, not met")
        else:
            res.reasons.append("no evidence: " + ", ".join(
                sorted(k.value for k in required) or ["none defined"]) + " needed")
    return res


def _checks(fw: str, req: Requirement, findings: Sequence[Finding], res: RequirementResult) -> str:
    mapped = [f for f in findings if req.id in f.compliance.get(fw, ())]
    counted = [f for f in mapped if f.status in (CheckStatus.PASS, CheckStatus.FAIL,
                                                  CheckStatus.ERROR)]
    for f in counted:
        ok = f.status is CheckStatus.PASS
        detail = f.reason or "; ".join(e.message or f"{e.fact}: {e.observed!r}"
                                       for e in f.evidence if not e.ok)
        quote = f"{f.status.value.upper()}: {f.title}" + (f" ({detail})" if detail and not ok else "")
        if f.waiver and f.status is CheckStatus.FAIL:
            quote += f" [risk accepted by {f.waiver.approved_by} until {f.waiver.expires}]"
        res.evidence.append(EvidenceItem(EvidenceKind.CHECK, f"{f.check_id} on {f.target}",
                                         _short(quote), ok, f.status.value))
    failing = [f for f in counted if f.status is CheckStatus.FAIL]
    errored = [f for f in counted if f.status is CheckStatus.ERROR]
    if failing:
        res.failing_checks.extend(f"{f.check_id} on {f.target}" for f in failing)
        res.reasons.append("failing checks: " + ", ".join(res.failing_checks))
        return "fail"
    if errored:
        res.reasons.append("checks could not run: " + ", ".join(
            f"{f.check_id} on {f.target}" for f in errored))
        return "error"
    if counted:
        res.reasons.append(f"{len(counted)} mapped check result(s) passed")
        return "pass"
    return "absent"


def _policy(fw: str, req: Requirement, passages: list[Passage] | None,
            answers: attest.Attestations, res: RequirementResult,
            reviewed: review_file.Reviews, index: matcher.PassageIndex | None) -> str:
    spec = req.spec(EvidenceKind.POLICY)
    assert spec is not None
    overrides = [answers.overrides.get((fw, req.id, e.id)) for e in spec.elements]
    if passages is None and not any(overrides):
        return "absent"
    matches: list[ElementMatch] = []
    for el, ov in zip(spec.elements, overrides):
        if ov is not None:
            m = ElementMatch(el, ov.covered, None, (), f"{ov.reason} ({ov.decided_by}, "
                                                        f"{ov.date.isoformat()})")
            res.evidence.append(EvidenceItem(EvidenceKind.POLICY, f"{answers.path}:{ov.line}",
                                             f"auditor override: {ov.reason}", ov.covered, el.id))
        else:
            m = matcher.decide(el, passages or [], reviewed.for_element(fw, req.id, el.id),
                               index)
            if m.covered and m.passage:
                detail = el.id + (f" (reviewed: {m.reviewed})" if m.reviewed else
                                  f" (needs review, confidence {m.confidence:.2f})"
                                  if m.needs_review else
                                  f" (partly stated: no {', '.join(m.missing_parts)})"
                                  if m.missing_parts else "")
                res.evidence.append(EvidenceItem(EvidenceKind.POLICY, m.passage.source,
                                                 _short(m.passage.text), m.counts, detail))
        matches.append(m)
    res.elements = matches
    covered = [m for m in matches if m.counts]
    full = [m for m in covered if m.full]
    review = [m for m in matches if m.needs_review]
    res.missing.extend(f"policy: {_cited(m)}" for m in matches if not m.covered)
    res.missing.extend(f"policy (partly stated, no {', '.join(m.missing_parts)}): {_cited(m)}"
                       for m in covered if not m.full)
    res.missing.extend(f"policy (needs review): {_cited(m)}" for m in review)
    if review:
        res.reasons.append(f"{len(review)} element(s) need an auditor's review (not assessed "
                           "until confirmed): " + ", ".join(m.element.id for m in review))
    if len(full) == len(matches):
        res.reasons.append(f"documents state all {len(matches)} required element(s)")
        return "pass"
    if covered:
        partly = len(covered) - len(full)
        res.reasons.append(f"documents state {len(full)} of {len(matches)} required elements"
                           + (f" ({partly} more partly)" if partly else ""))
        return "partial"
    if review:
        return "absent"  # only doubtful passages: not assessed, never met
    res.reasons.append("no document states the required element(s)")
    return "fail" if passages else "absent"


def _cited(m: ElementMatch) -> str:
    return f"{m.element.label} ({m.element.citation})" if m.element.citation else m.element.label


def _attestations(fw: str, req: Requirement, answers: attest.Attestations, today: dt.date,
                  res: RequirementResult) -> str:
    spec = req.spec(EvidenceKind.ATTESTATION)
    assert spec is not None
    states: list[str] = []
    for item in spec.attestations:
        key = attest.item_key(fw, req.id, item.id)
        ans = answers.answers.get(key)
        if ans is None:
            states.append("absent")
            res.missing.append(f"attestation: {item.question}")
            continue
        when = ans.answer if isinstance(ans.answer, dt.date) else ans.date
        text = ans.answer.isoformat() if isinstance(ans.answer, dt.date) else (
            "yes" if ans.answer else "no")
        ok = ans.answer is not False
        why = ""
        if ok and item.max_age_days and (today - when).days > item.max_age_days:
            ok, why = False, f" - older than {item.max_age_days} days"
        states.append("pass" if ok else "fail")
        quote = f"{item.question} -> {text} (answered by {ans.answered_by} on {ans.date.isoformat()})"
        res.evidence.append(EvidenceItem(EvidenceKind.ATTESTATION, f"{answers.path}:{ans.line}",
                                         _short(quote + why), ok, item.id))
        if not ok:
            res.reasons.append(f"attestation {item.id}: {text}{why}")
    if "fail" in states:
        return "fail"
    if states and all(s == "pass" for s in states):
        return "pass"
    return "partial" if "pass" in states else "absent"


def summarize(results: Sequence[RequirementResult]) -> CoverageSummary:
    counts = {s.value: 0 for s in Status}
    for r in results:
        counts[r.status.value] += 1
    applicable = [r for r in results if r.status is not Status.NOT_APPLICABLE]
    assessed = [r for r in applicable if r.evidence_kinds]
    by = {k.value: sum(1 for r in assessed if k in r.evidence_kinds) for k in EvidenceKind}
    total_w = sum(r.requirement.obligation.weight for r in applicable)
    readiness = (round(100.0 * sum(r.requirement.obligation.weight * _VALUE.get(r.status, 0.0)
                                   for r in applicable) / total_w, 1) if total_w else None)
    coverage = round(100.0 * len(assessed) / len(applicable), 1) if applicable else None
    return CoverageSummary(counts, len(applicable), len(assessed), by, readiness, coverage)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_MAX else text[:QUOTE_MAX - 1] + "…"
