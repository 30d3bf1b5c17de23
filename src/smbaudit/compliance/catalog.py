"""Load regulation catalogs (policies/*.yaml), validate them, and resolve requirement ids.

Every problem is reported with file, line and field, all together, like check packs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any


from smbaudit import resources, schemacheck, yamlload
from smbaudit.compliance.model import (
    AttestationItem,
    Catalog,
    ElementPart,
    EvidenceKind,
    EvidenceSpec,
    Kind,
    Obligation,
    Period,
    PolicyElement,
    Requirement,
)
from smbaudit.errors import FieldError, InputFileError
from smbaudit.models import SourceRef

SCHEMA_NAME = "catalog.schema.json"
_VOCAB_REF = re.compile(r"^\$([a-z0-9_]+)$")


@cache
def catalog_schema() -> dict[str, Any]:
    path = resources.policies_dir() / SCHEMA_NAME
    return json.loads(path.read_text(encoding="utf-8"))


def catalog_files(dirs: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for d in map(Path, dirs):
        if d.is_dir():
            files.extend(sorted(p for p in d.glob("*.y*ml") if p.suffix in (".yaml", ".yml")))
        elif d.is_file():
            files.append(d)
        else:
            raise InputFileError([FieldError(str(d), None, "", "no such file or folder")])
    return files


def load_catalogs(dirs: Iterable[str | Path] | None = None) -> dict[str, Catalog]:
    """All catalogs under `dirs` (default: the shipped policies/), keyed by framework."""
    errors: list[FieldError] = []
    catalogs: dict[str, Catalog] = {}
    for path in catalog_files(dirs if dirs is not None else [resources.policies_dir()]):
        try:
            catalog = load_catalog_file(path)
        except InputFileError as exc:
            errors.extend(exc.errors)
            continue
        if catalog.framework in catalogs:
            errors.append(FieldError(str(path), 1, "framework",
                                     f"framework {catalog.framework!r} already defined in "
                                     f"{catalogs[catalog.framework].path}"))
            continue
        catalogs[catalog.framework] = catalog
    if errors:
        raise InputFileError(errors)
    return catalogs


def requirement_checker(catalogs: dict[str, Catalog]) -> Callable[[str, str], str | None]:
    """For load_packs(requirement_check=...): None when framework+id exist, else the problem."""
    ids = {name: {r.id for r in c.requirements} for name, c in catalogs.items()}

    def check(framework: str, req_id: str) -> str | None:
        known = ids.get(framework)
        if known is None:
            return (f"unknown compliance framework {framework!r} "
                    f"(known: {', '.join(sorted(ids)) or 'none'})")
        if req_id not in known:
            return f"unknown {framework.upper()} requirement {req_id!r}"
        return None

    return check


# --------------------------------------------------------------------------- one file


def load_catalog_file(path: Path) -> Catalog:
    name = str(path)
    doc = yamlload.load_file(path)
    if not isinstance(doc, dict):
        raise InputFileError([FieldError(name, getattr(doc, "line", 1) or 1, "",
                                         "a catalog is a mapping with `schema: 1` and `requirements:`")])
    errors = _schema_errors(doc, name)
    if errors:
        raise InputFileError(errors)
    errors = _semantic_errors(doc, name)
    if errors:
        raise InputFileError(errors)
    vocab = {k: tuple(v) for k, v in doc.get("vocabulary", {}).items()}
    regime = doc.get("regime", {})
    regimes = (tuple(t.lower() for t in regime.get("own", ())),
               tuple(t.lower() for t in regime.get("other", ())))
    reqs = tuple(_build_requirement(doc, i, raw, vocab, name, regimes)
                 for i, raw in enumerate(doc["requirements"]))
    return Catalog(framework=doc["framework"], name=doc["name"], version=str(doc["version"]),
                   source_url=doc.get("source_url", ""), requirements=reqs, path=name)


def _schema_errors(doc: Any, name: str) -> list[FieldError]:
    return schemacheck.field_errors(catalog_schema(), doc, name)


def _semantic_errors(doc: Any, name: str) -> list[FieldError]:
    errors: list[FieldError] = []

    def err(path: tuple[Any, ...], message: str) -> None:
        errors.append(FieldError(name, yamlload.line_at(doc, path), schemacheck.dotted(path), message))

    vocab = doc.get("vocabulary", {})
    ids: dict[str, int] = {}
    attest_ids: set[str] = set()
    for i, raw in enumerate(doc["requirements"]):
        where = ("requirements", i)
        if raw["id"] in ids:
            err(where + ("id",), f"duplicate requirement id {raw['id']!r} "
                                 f"(first at line {ids[raw['id']]})")
        else:
            ids[raw["id"]] = yamlload.line_at(doc, where + ("id",)) or 0
        evidence = raw.get("evidence", {})
        if not evidence:
            err(where, "a requirement needs at least one evidence kind (check, policy, attestation)")
        if raw["kind"] == "documentary" and "policy" not in evidence and "attestation" not in evidence:
            err(where + ("kind",), "a documentary requirement needs policy or attestation evidence")
        element_ids: set[str] = set()
        for j, el in enumerate(evidence.get("policy", {}).get("elements", [])):
            ew = where + ("evidence", "policy", "elements", j)
            if el["id"] in element_ids:
                err(ew + ("id",), f"duplicate element id {el['id']!r} in this requirement")
            element_ids.add(el["id"])
            for g, group in enumerate(el["match"]):
                for t, term in enumerate(group):
                    ref = _VOCAB_REF.match(term)
                    if ref and ref.group(1) not in vocab:
                        err(ew + ("match", g, t), f"unknown vocabulary {term!r}")
                    elif not ref and not re.fullmatch(r"[\w'&/-]+\*?( [\w'&/-]+\*?)*", term):
                        err(ew + ("match", g, t), f"term {term!r}: words, optional trailing *, "
                                                  "single spaces")
            for t, term in enumerate(el.get("exclude", [])):
                ref = _VOCAB_REF.match(term)
                if ref and ref.group(1) not in vocab:
                    err(ew + ("exclude", t), f"unknown vocabulary {term!r}")
            for k, part in enumerate(el.get("parts", [])):
                for t, term in enumerate(part["match"]):
                    ref = _VOCAB_REF.match(term)
                    if ref and ref.group(1) not in vocab:
                        err(ew + ("parts", k, "match", t), f"unknown vocabulary {term!r}")
                    elif not ref and not re.fullmatch(r"[\w'&/-]+\*?( [\w'&/-]+\*?)*", term):
                        err(ew + ("parts", k, "match", t), f"term {term!r}: words, optional "
                                                           "trailing *, single spaces")
        for j, item in enumerate(evidence.get("attestation", {}).get("items", [])):
            aw = where + ("evidence", "attestation", "items", j)
            if item["id"] in attest_ids:
                err(aw + ("id",), f"duplicate attestation item id {item['id']!r}")
            attest_ids.add(item["id"])
    for i, raw in enumerate(doc["requirements"]):
        parent = raw.get("parent")
        if parent is not None and parent not in ids:
            err(("requirements", i, "parent"), f"parent {parent!r} is not a requirement here")
    return errors


def _expand(group: Iterable[str], vocab: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    out: list[str] = []
    for term in group:
        ref = _VOCAB_REF.match(term)
        out.extend(vocab[ref.group(1)] if ref else [term])
    return tuple(dict.fromkeys(t.lower() for t in out))


def _period(raw: Any) -> Period | None:
    return Period(float(raw["value"]), raw["unit"]) if raw else None


def _build_requirement(doc: Any, index: int, raw: Any, vocab: dict[str, tuple[str, ...]],
                       name: str, regimes: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
                       ) -> Requirement:
    specs: list[EvidenceSpec] = []
    ev = raw.get("evidence", {})
    if "check" in ev:
        specs.append(EvidenceSpec(EvidenceKind.CHECK, bool(ev["check"].get("required", True))))
    if "policy" in ev:
        elements = tuple(PolicyElement(
            id=e["id"], label=e["label"].strip(),
            groups=tuple(_expand(g, vocab) for g in e["match"]),
            allow_prohibition=bool(e.get("allow_prohibition", False)),
            presence_only=bool(e.get("presence_only", False)),
            in_passage=bool(e.get("in_passage", False)),
            citation=e.get("citation", ""),
            exclude=_expand(e.get("exclude", ()), vocab),
            exclude_headings=tuple(t.lower() for t in e.get("exclude_headings", ())),
            max_number=_period(e.get("max_number")), min_number=_period(e.get("min_number")),
            parts=tuple(ElementPart(label=part["label"].strip(), terms=_expand(part["match"], vocab))
                        for part in e.get("parts", ())),
            own_regime=regimes[0], other_regimes=regimes[1])
            for e in ev["policy"]["elements"])
        specs.append(EvidenceSpec(EvidenceKind.POLICY, bool(ev["policy"].get("required", True)),
                                  elements=elements))
    if "attestation" in ev:
        items = tuple(AttestationItem(id=a["id"], question=a["question"].strip(),
                                      answer_type=a.get("type", "yes_no"),
                                      max_age_days=a.get("max_age_days"))
                      for a in ev["attestation"]["items"])
        specs.append(EvidenceSpec(EvidenceKind.ATTESTATION,
                                  bool(ev["attestation"].get("required", True)),
                                  attestations=items))
    return Requirement(
        id=raw["id"], citation=raw.get("citation", raw["id"]), title=raw["title"].strip(),
        kind=Kind(raw["kind"]), obligation=Obligation(raw["obligation"]),
        section=raw["section"], description=raw.get("description", "").strip(),
        parent=raw.get("parent"), evidence=tuple(specs),
        source=SourceRef(name, yamlload.line_at(doc, ("requirements", index))))
