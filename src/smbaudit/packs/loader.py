"""Load YAML check packs, validate them, and build CheckDefs.

Every problem found is reported with file, line and field, and all of them are reported
together (not just the first). A broken pack stops the run: no check is silently dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from smbaudit import problemtext, schemacheck, yamlload
from smbaudit.packs import factpaths
from smbaudit.packs.files import DATA_DIR_NAME as DATA_DIR_NAME  # noqa: F401 - re-exported
from smbaudit.packs.files import discover as discover
from smbaudit.errors import FieldError, InputFileError
from smbaudit.models import (
    Applicability,
    Assertion,
    CheckDef,
    Condition,
    Severity,
    SourceRef,
)

SCHEMA_PATH = Path(__file__).with_name("check.schema.json")

# Which operators need a value, and of what shape.
_VALUE_KIND = {
    "equals": "scalar", "not_equals": "scalar",
    "in": "list", "not_in": "list",
    "matches": "regex", "not_matches": "regex",
    "contains": "scalar", "not_contains": "scalar",
    "lt": "number", "le": "number", "gt": "number", "ge": "number",
    "version_lt": "version", "version_le": "version", "version_gt": "version", "version_ge": "version",
    "mode_at_most": "mode",
}

RequirementCheck = Callable[[str, str], str | None]
"""(framework, requirement id) -> None when known, else an error message."""


@cache
def check_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def load_packs(
    paths: Iterable[str | Path],
    probe_schemas: Mapping[str, dict[str, Any]] | None = None,
    requirement_check: RequirementCheck | None = None,
    fact_schemas: Mapping[str, dict[str, Any] | None] | None = None,
) -> list[CheckDef]:
    """Load every pack under `paths`. Raises InputFileError listing every problem found.

    `probe_schemas` maps known probe names to their params JSON Schema (None: not checked);
    `requirement_check` validates compliance mappings (None: not checked); `fact_schemas`
    maps probe names to their facts contract (Probe.facts): a condition, `applies` condition,
    `location` or problem headline naming a fact path the probe cannot produce is refused (a
    probe whose facts are None, a legacy third-party one, is not checked).
    """
    errors: list[FieldError] = []
    checks: list[CheckDef] = []
    index: dict[str, int] = {}  # check id -> its place in `checks`
    read: set[Path] = set()
    for path in discover(paths):
        if path.resolve() in read:
            continue  # the same file reached twice (a folder given again): never its own duplicate
        read.add(path.resolve())
        try:
            loaded = load_pack_file(path, probe_schemas, requirement_check, fact_schemas)
        except InputFileError as exc:
            errors.extend(exc.errors)
            continue
        for check in loaded:
            problem = _place(checks, index, check)
            if problem:
                errors.append(FieldError(check.source.path, check.source.line, "id", problem))
    if errors:
        raise InputFileError(errors)
    return checks


def _place(checks: list[CheckDef], index: dict[str, int], check: CheckDef) -> str | None:
    """Add `check`, or let it replace the earlier check with its id when it says
    `overrides: true`; the problem, in words, when neither is allowed."""
    at = index.get(check.id)
    if at is None:
        if check.overrides:
            return (f"`overrides: true` but no earlier check has id {check.id!r}: nothing to "
                    "override (fix the id, or remove `overrides`)")
        index[check.id] = len(checks)
        checks.append(check)
        return None
    earlier = checks[at]
    if not check.overrides:
        return (f"duplicate check id {check.id!r} (first defined at {earlier.source}); to "
                "replace that check, say `overrides: true` in this check or its pack")
    if earlier.overridden is not None:
        return (f"check {check.id!r} is overridden twice: also at {earlier.source} (which "
                f"overrides {earlier.overridden})")
    checks[at] = replace(check, overridden=earlier.source)
    return None


def load_pack_file(
    path: Path,
    probe_schemas: Mapping[str, dict[str, Any]] | None = None,
    requirement_check: RequirementCheck | None = None,
    fact_schemas: Mapping[str, dict[str, Any] | None] | None = None,
) -> list[CheckDef]:
    doc = yamlload.load_file(path)
    name = str(path)
    if not isinstance(doc, dict):
        raise InputFileError([FieldError(name, getattr(doc, "line", 1) or 1, "",
                                         "a check pack is a mapping with `schema: 1` and `checks:`")])
    errors = schema_errors(doc, name)
    if errors:
        raise InputFileError(errors)
    pack = doc.get("pack") or path.stem
    checks: list[CheckDef] = []
    for index, raw in enumerate(doc["checks"]):
        where = ("checks", index)
        field_prefix = f"checks[{index}]"
        errors.extend(_semantic_errors(doc, raw, where, field_prefix, name, probe_schemas,
                                       requirement_check, fact_schemas))
        checks.append(_build_check(raw, pack, SourceRef(name, yamlload.line_at(doc, where)),
                                   overrides=bool(raw.get("overrides", doc.get("overrides")))))
    if errors:
        raise InputFileError(errors)
    return checks


# --------------------------------------------------------------------------- schema


def schema_errors(doc: Any, name: str) -> list[FieldError]:
    return schemacheck.field_errors(check_schema(), doc, name)


# --------------------------------------------------------------------------- semantics


def _semantic_errors(doc: Any, raw: dict[str, Any], where: tuple[Any, ...], prefix: str, name: str,
                     probe_schemas: Mapping[str, dict[str, Any]] | None,
                     requirement_check: RequirementCheck | None,
                     fact_schemas: Mapping[str, dict[str, Any] | None] | None = None,
                     ) -> list[FieldError]:
    errors: list[FieldError] = []

    def err(sub: tuple[Any, ...], message: str) -> None:
        field = f"{prefix}.{schemacheck.dotted(sub)}" if sub else prefix
        errors.append(FieldError(name, yamlload.line_at(doc, where + sub), field, message))

    for sub, assertion in _assertions(raw):
        op = assertion["op"]
        kind = _VALUE_KIND.get(op)
        if kind and "value" not in assertion:
            err(sub + ("op",), f"operator {op!r} needs a `value`")
            continue
        value = assertion.get("value")
        if kind == "list" and not isinstance(value, list):
            err(sub + ("value",), f"operator {op!r} needs a list value")
        elif kind == "regex":
            try:
                re.compile(str(value))
            except re.error as exc:
                err(sub + ("value",), f"invalid regular expression {value!r}: {exc}")
        elif kind == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
            err(sub + ("value",), f"operator {op!r} needs a number, got {value!r}")
        elif kind == "version" and not isinstance(value, (str, int, float)):
            err(sub + ("value",), f"operator {op!r} needs a version string, got {value!r}")
        elif kind == "mode" and not re.fullmatch(r"0?[0-7]{3,4}", str(value)):
            err(sub + ("value",), f"operator {op!r} needs an octal mode like '0640', got {value!r}")
        if "scheme" in assertion and not op.startswith("version_"):
            err(sub + ("scheme",), "`scheme` only applies to version_* operators")
        if "quantifier" in assertion and "*" not in assertion["fact"]:
            err(sub + ("quantifier",), "`quantifier` needs a fact path with `*`")

    probe = raw["probe"]
    if probe_schemas is not None:
        if probe not in probe_schemas:
            err(("probe",), f"unknown probe {probe!r} (known: {', '.join(sorted(probe_schemas))})")
        else:
            errors.extend(schemacheck.field_errors(
                probe_schemas[probe], raw.get("params", {}), name, (*where, "params"),
                yamlload.line_at(doc, where + ("params",))))
    if requirement_check is not None:
        for framework, ids in raw.get("compliance", {}).items():
            for i, req in enumerate(ids):
                problem = requirement_check(framework, req)
                if problem:
                    err(("compliance", framework, i), problem)
    if "problem" in raw:
        try:
            problemtext.parse(raw["problem"])
        except problemtext.TemplateError as exc:
            err(("problem",), f"problem headline: {exc}")
        else:
            if _uses_failed(raw["problem"]) and not _star_facts(raw):
                err(("problem",), "{failed} needs an assertion on a fact path with `*` "
                                  "in the condition")
    if "fix_file" in raw and any(part in (".", "..") for part in raw["fix_file"].split("/")):
        err(("fix_file",), "fix_file is an absolute path on the target without '.' or '..' steps")
    schema = (fact_schemas or {}).get(probe)
    if schema is not None:
        refs = fact_references(raw)
        location = raw.get("location")
        if isinstance(location, str):
            refs.append((("location",), location))
        elif isinstance(location, list):  # several fact paths, the first that is set wins
            refs.extend((("location", i), path) for i, path in enumerate(location))
        for sub, path in refs:
            problem = factpaths.problem(schema, path)
            if problem and sub[0] == "problem":
                err(sub, f"{{{path}}}: {problem} (probe {probe!r} has no such fact)")
            elif problem:
                err(sub, f"probe {probe!r} cannot produce fact {path!r}: {problem}")
    return errors


def _uses_failed(template: str) -> bool:
    return any(p.kind == "failed" for p in problemtext.parse(template).placeholders)


def _star_facts(raw: dict[str, Any]) -> list[str]:
    return [a["fact"] for sub, a in _assertions(raw) if sub[0] == "condition" and "*" in a["fact"]]


def fact_references(raw: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """Every fact path a check names, with where it is named: its assertions (condition and
    applies.when) and the placeholders of its problem headline ({failed.KEY} as the first
    `*` assertion's element path + KEY). Fact-contract validation walks these."""
    refs = [(sub + ("fact",), a["fact"]) for sub, a in _assertions(raw)]
    if "each" in raw:
        refs.append((("each",), raw["each"]))
    if "problem" in raw:
        try:
            template = problemtext.parse(raw["problem"])
        except problemtext.TemplateError:
            return refs
        stars = _star_facts(raw)
        for p in template.placeholders:
            if p.kind == "fact":
                refs.append((("problem",), p.path))
            elif p.kind == "failed" and p.path and stars:
                refs.append((("problem",), stars[0][:stars[0].rindex("*") + 1] + "." + p.path))
    return refs


def _assertions(raw: dict[str, Any]) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    found: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def walk(node: dict[str, Any], path: tuple[Any, ...]) -> None:
        for mode, items in node.items():
            for i, item in enumerate(items):
                if "fact" in item:
                    found.append((path + (mode, i), item))
                else:
                    walk(item, path + (mode, i))

    walk(raw["condition"], ("condition",))
    when = raw.get("applies", {}).get("when")
    if when:
        walk(when, ("applies", "when"))
    return found


# --------------------------------------------------------------------------- building


def build_condition(node: Mapping[str, Any]) -> Condition:
    (mode, items), = node.items()
    built: list[Assertion | Condition] = []
    for item in items:
        if "fact" in item:
            built.append(Assertion(
                fact=item["fact"], op=item["op"], value=_plain(item.get("value")),
                default=_plain(item.get("default")), has_default="default" in item,
                quantifier=item.get("quantifier", "all"), scheme=item.get("scheme"),
                message=item.get("message")))
        else:
            built.append(build_condition(item))
    return Condition(mode=mode, items=tuple(built))


def _plain(value: Any) -> Any:
    """Strip the line-tracking containers so values compare and serialise as plain data."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _as_tuple(value: str | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _build_check(raw: Mapping[str, Any], pack: str, source: SourceRef,
                 overrides: bool = False) -> CheckDef:
    applies = None
    if "applies" in raw:
        a = raw["applies"]
        applies = Applicability(
            os_family=tuple(a.get("os_family", ())),
            os_release=tuple(a.get("os_release", ())),
            condition=build_condition(a["when"]) if "when" in a else None)
    return CheckDef(
        id=raw["id"],
        title=raw["title"].strip(),
        description=raw["description"].strip(),
        category=raw["category"],
        severity=Severity(raw["severity"]),
        rationale=raw["rationale"].strip(),
        remediation=raw["remediation"].strip(),
        probe=raw["probe"],
        params=_plain(raw.get("params", {})),
        condition=build_condition(raw["condition"]),
        source=source,
        references=tuple(raw.get("references", ())),
        compliance={k: tuple(v) for k, v in raw.get("compliance", {}).items()},
        applies=applies,
        tags=tuple(raw.get("tags", ())),
        location=_as_tuple(raw.get("location")),
        pack=pack,
        problem=" ".join(raw["problem"].split()) if "problem" in raw else None,
        fix_file=raw.get("fix_file"),
        each=raw.get("each"),
        overrides=overrides,
    )
