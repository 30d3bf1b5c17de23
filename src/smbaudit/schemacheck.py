"""JSON Schema validation, and the one place its errors become file:line:field messages.

A compiled validator (fastjsonschema) answers "valid?" quickly on every start; only a document
that fails is walked again with jsonschema, whose errors carry the paths that file:line:field
messages are built from. Packs, catalogs, profiles and waivers all report through
`field_errors`, so a problem reads the same whatever file it is in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from smbaudit import yamlload
from smbaudit.errors import FieldError

if TYPE_CHECKING:
    import jsonschema


@cache
def _compiled(schema_text: str) -> Any:
    import fastjsonschema  # when the first document is checked

    return fastjsonschema.compile(json.loads(schema_text))


@cache
def _explainer(schema_text: str) -> jsonschema.Draft202012Validator:
    import jsonschema  # only a document that fails needs the explanations (and the import)

    return jsonschema.Draft202012Validator(json.loads(schema_text))


def errors(schema: Mapping[str, Any], document: Any) -> list[jsonschema.ValidationError]:
    """Every way `document` breaks `schema` (an empty list when it is valid)."""
    import fastjsonschema

    text = json.dumps(schema, sort_keys=True)
    try:
        _compiled(text)(document)
        return []
    except fastjsonschema.JsonSchemaException:
        pass
    return list(_explainer(text).iter_errors(document))


def field_errors(schema: Mapping[str, Any], document: Any, path: str,
                 prefix: Sequence[str | int] = (), line: int | None = None) -> list[FieldError]:
    """Every way `document` (loaded by yamlload, so it knows its lines) breaks `schema`, as
    file:line:field problems sorted by line. For a sub-document, `prefix` names where it sits
    in its file (e.g. ("checks", 3, "params")) and `line` is the line to fall back on."""
    found: list[FieldError] = []
    for error in errors(schema, document):
        for leaf in _leaves(error):
            found.append(_field_error(document, path, tuple(prefix), line, leaf))
    found.sort(key=lambda e: (e.line or 0, e.field))
    return _unique(found)


def dotted(path: Sequence[str | int]) -> str:
    """("checks", 0, "condition", "fact") -> "checks[0].condition.fact"."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def _leaves(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """For anyOf / oneOf, report only the branch the author meant: the one whose keys the
    instance uses most, then the one with the fewest problems at the instance itself."""
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return [error]
    branches: dict[int, list[jsonschema.ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(int(sub.schema_path[0]) if sub.schema_path else 0, []).append(sub)
    keys = set(error.instance) if isinstance(error.instance, dict) else set()

    def rank(subs: list[jsonschema.ValidationError]) -> tuple[int, int]:
        at_instance = [s for s in subs if not s.relative_path]
        known: set[str] = set()
        for s in at_instance:
            if isinstance(s.schema, dict):
                known |= set(s.schema.get("properties", {}))
        used = len(keys & known) if at_instance else len(keys)
        return (-used, len(at_instance))

    best = min(branches.values(), key=rank)
    return [leaf for sub in best for leaf in _leaves(sub)]


def _field_error(document: Any, path: str, prefix: tuple[str | int, ...], line: int | None,
                 error: jsonschema.ValidationError) -> FieldError:
    steps: tuple[str | int, ...] = tuple(error.absolute_path)
    message = error.message
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(schema.get("properties", {}))
        unknown = [k for k in error.instance if k not in allowed]
        if unknown:
            steps = (*steps, unknown[0])
            message = f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
    elif (error.validator == "required" and isinstance(error.instance, dict)
          and isinstance(error.validator_value, list)):
        missing = [k for k in error.validator_value if k not in error.instance]
        named = [k for k in missing if repr(k) in error.message] or missing
        if named:  # the line is the mapping's own; the field names the missing key
            return FieldError(path, yamlload.line_at(document, steps) or line,
                              dotted(prefix + steps + (named[0],)), "missing required key")
    elif error.validator == "enum" and isinstance(error.validator_value, list):
        message = f"{error.instance!r} is not one of: " + ", ".join(map(str, error.validator_value))
    elif error.validator == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [
            error.validator_value]
        message = (f"must be {' or '.join(_TYPE_WORDS.get(str(t), str(t)) for t in wanted)}, "
                   f"not {_kind_of(error.instance)}")
    elif error.validator == "minLength" and error.validator_value == 1:
        message = "must not be empty"
    return FieldError(path, yamlload.line_at(document, steps) or line, dotted(prefix + steps),
                      message)


_TYPE_WORDS = {"object": "a mapping", "array": "a list", "string": "text", "integer": "a whole number",
               "number": "a number", "boolean": "true or false", "null": "empty"}


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _unique(found: list[FieldError]) -> list[FieldError]:
    seen: set[tuple[int | None, str, str]] = set()
    unique = []
    for e in found:
        key = (e.line, e.field, e.message)
        if key not in seen:
            seen.add(key)
            unique.append(e)
    return unique
