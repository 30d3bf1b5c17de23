"""Questionnaires for what no scan can observe, and the answers people give to them.

The questionnaire is a YAML file (written through smbaudit.yamlload.dump). An item counts as
evidence only when it has an `answer`, `answered_by` and `date`; unanswered items stay "not
assessed". The same file also carries scope decisions (not applicable, with who and why) and
auditor overrides of policy-element decisions. Malformed answers are errors with file:line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smbaudit import yamlload
from smbaudit.compliance.model import AttestationItem, Catalog, EvidenceKind
from smbaudit.errors import FieldError, InputFileError

KIND = "smbaudit-attestations"
INSTRUCTIONS = (
    "Answer each item you can: set `answer` (yes/no, or a date YYYY-MM-DD for date items), "
    "`answered_by` (name and role) and `date` (when you answered, YYYY-MM-DD). Items left "
    "with answer: null stay 'not assessed'. Under `scope`, record requirements that do not apply "
    "to you (requirement, reason, decided_by, date). Under `overrides`, an auditor may decide a "
    "policy element by hand (requirement, element, covered: true/false, reason, decided_by, date). "
    "Then run: smbaudit policies coverage --attestations THIS_FILE ...")


def item_key(framework: str, requirement: str, item: str) -> str:
    return f"{framework}/{requirement}/{item}"


@dataclass(frozen=True)
class Answer:
    key: str
    framework: str
    requirement: str
    item: AttestationItem
    answer: bool | dt.date
    answered_by: str
    date: dt.date
    line: int | None
    notes: str = ""


@dataclass(frozen=True)
class ScopeDecision:
    framework: str
    requirement: str
    reason: str
    decided_by: str
    date: dt.date
    line: int | None


@dataclass(frozen=True)
class Override:
    framework: str
    requirement: str
    element: str
    covered: bool
    reason: str
    decided_by: str
    date: dt.date
    line: int | None


@dataclass
class Attestations:
    path: str
    answers: dict[str, Answer]
    scope: dict[tuple[str, str], ScopeDecision]
    overrides: dict[tuple[str, str, str], Override]

    @classmethod
    def empty(cls) -> Attestations:
        return cls("", {}, {}, {})


# --------------------------------------------------------------------------- writing


def questionnaire(catalogs: dict[str, Catalog], frameworks: Iterable[str]) -> dict[str, Any]:
    """The questionnaire document for the chosen frameworks (plain data, ready to dump)."""
    items: list[dict[str, Any]] = []
    for fw in frameworks:
        for req in catalogs[fw].requirements:
            spec = req.spec(EvidenceKind.ATTESTATION)
            if spec is None:
                continue
            for it in spec.attestations:
                entry: dict[str, Any] = {
                    "id": item_key(fw, req.id, it.id),
                    "requirement": f"{fw.upper()} {req.citation} {req.title}",
                    "question": it.question,
                    "type": it.answer_type,
                }
                if it.max_age_days:
                    entry["valid_for_days"] = it.max_age_days
                entry.update({"answer": None, "answered_by": None, "date": None, "notes": None})
                items.append(entry)
    return {"schema": 1, "kind": KIND, "frameworks": list(frameworks),
            "instructions": INSTRUCTIONS, "items": items, "scope": [], "overrides": []}


def dump_questionnaire(data: dict[str, Any]) -> str:
    return yamlload.dump(data)


# --------------------------------------------------------------------------- reading


def load(path: str | Path, catalogs: dict[str, Catalog], today: dt.date) -> Attestations:
    """Read an answered questionnaire. Raises InputFileError listing every malformed entry."""
    name = str(path)
    doc = yamlload.load_file(path)
    errors: list[FieldError] = []

    def err(where: tuple[Any, ...], field: str, message: str) -> None:
        errors.append(FieldError(name, yamlload.line_at(doc, where), field, message))

    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise InputFileError([FieldError(name, getattr(doc, "line", 1) or 1, "kind",
                                         f"not an smbaudit attestations file (kind: {KIND})")])
    known = _known_items(catalogs)
    result = Attestations(name, {}, {}, {})
    for section in ("items", "scope", "overrides"):
        if not isinstance(doc.get(section, []) or [], list):
            err((section,), section, "must be a list")
            doc[section] = []
    for i, raw in enumerate(doc.get("items") or []):
        where = ("items", i)
        field = f"items[{i}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            err(where, field, "each item needs an `id`")
            continue
        if raw["id"] not in known:
            err(where + ("id",), f"{field}.id", f"unknown questionnaire item {raw['id']!r}")
            continue
        if raw.get("answer") is None:
            continue  # unanswered: not assessed
        fw, req, item = known[raw["id"]]
        answer = _parse_answer(raw["answer"], item, today)
        if isinstance(answer, str):
            err(where + ("answer",), f"{field}.answer", answer)
            continue
        who, when = _who_when(raw, "answered_by", today, where, field, err)
        if who is None or when is None:
            continue
        result.answers[raw["id"]] = Answer(raw["id"], fw, req, item, answer, who, when,
                                           yamlload.line_at(doc, where), str(raw.get("notes") or ""))
    for i, raw in enumerate(doc.get("scope") or []):
        where, field = ("scope", i), f"scope[{i}]"
        fw_req = _requirement_ref(raw, catalogs, where, field, err)
        if fw_req is None:
            continue
        reason = raw.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            err(where, f"{field}.reason", "a not-applicable decision needs a `reason`")
            continue
        who, when = _who_when(raw, "decided_by", today, where, field, err)
        if who is None or when is None:
            continue
        result.scope[fw_req] = ScopeDecision(*fw_req, reason.strip(), who, when,
                                             yamlload.line_at(doc, where))
    for i, raw in enumerate(doc.get("overrides") or []):
        where, field = ("overrides", i), f"overrides[{i}]"
        fw_req = _requirement_ref(raw, catalogs, where, field, err)
        if fw_req is None:
            continue
        requirement = catalogs[fw_req[0]].get(fw_req[1])
        spec = requirement.spec(EvidenceKind.POLICY) if requirement else None
        element = raw.get("element")
        if spec is None or element not in {e.id for e in spec.elements}:
            known_el = ", ".join(e.id for e in spec.elements) if spec else "none"
            err(where + ("element",), f"{field}.element",
                f"unknown policy element {element!r} (known: {known_el})")
            continue
        if not isinstance(raw.get("covered"), bool):
            err(where + ("covered",), f"{field}.covered", "`covered` must be true or false")
            continue
        reason = raw.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            err(where, f"{field}.reason", "an override needs a `reason`")
            continue
        who, when = _who_when(raw, "decided_by", today, where, field, err)
        if who is None or when is None:
            continue
        result.overrides[(*fw_req, element)] = Override(
            *fw_req, element, raw["covered"], reason.strip(), who, when, yamlload.line_at(doc, where))
    if errors:
        raise InputFileError(errors)
    return result


def _known_items(catalogs: dict[str, Catalog]) -> dict[str, tuple[str, str, AttestationItem]]:
    known = {}
    for fw, cat in catalogs.items():
        for req in cat.requirements:
            spec = req.spec(EvidenceKind.ATTESTATION)
            for it in spec.attestations if spec else ():
                known[item_key(fw, req.id, it.id)] = (fw, req.id, it)
    return known


def _parse_answer(value: Any, item: AttestationItem, today: dt.date) -> bool | dt.date | str:
    """The answer, or an error message."""
    if item.answer_type == "date":
        day = yamlload.as_date(value)
        if day is None:
            return f"expected a date (YYYY-MM-DD), got {value!r}"
        if day > today:
            return f"date {day.isoformat()} is in the future"
        return day
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("yes", "no", "y", "n"):
        return value.strip().lower().startswith("y")
    return f"expected yes or no, got {value!r}"


def _who_when(raw: dict[str, Any], who_key: str, today: dt.date, where: tuple[Any, ...],
              field: str, err: Any) -> tuple[str | None, dt.date | None]:
    who = raw.get(who_key)
    if not isinstance(who, str) or not who.strip():
        err(where, f"{field}.{who_key}", f"an answer counts only with `{who_key}` (name and role)")
        return None, None
    when = yamlload.as_date(raw.get("date"))
    if when is None:
        err(where + (("date",) if "date" in raw else ()), f"{field}.date",
            f"an answer counts only with a `date` (YYYY-MM-DD), got {raw.get('date')!r}")
        return None, None
    if when > today:
        err(where + ("date",), f"{field}.date", f"date {when.isoformat()} is in the future")
        return None, None
    return who.strip(), when


def _requirement_ref(raw: Any, catalogs: dict[str, Catalog], where: tuple[Any, ...], field: str,
                     err: Any) -> tuple[str, str] | None:
    """`requirement: "hipaa 164.314(b)(1)"` (framework, a space or colon, then the id)."""
    ref = raw.get("requirement") if isinstance(raw, dict) else None
    if not isinstance(ref, str) or not ref.strip():
        err(where, field, "needs `requirement: FRAMEWORK ID`, e.g. \"hipaa 164.314(b)(1)\"")
        return None
    fw, _, req = ref.strip().replace(":", " ", 1).partition(" ")
    fw, req = fw.lower(), req.strip()
    if fw not in catalogs or catalogs[fw].get(req) is None:
        err(where + ("requirement",), f"{field}.requirement", f"unknown requirement {ref!r}")
        return None
    return fw, req
