"""Whether a probe's declared facts (`Probe.facts`, a JSON Schema) can contain a fact path.

A fact path is what a check's `fact:` or `location:` names: dotted steps where `*` is every list
element or mapping value and a number is a list index (see `evaluate.resolve`). The walk follows
the schema's `properties`, `additionalProperties`, `items` and `anyOf` / `oneOf`; a part of the
schema that says nothing about its shape (`{}`) accepts any path below it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

Schema = Mapping[str, Any]
_OPEN: Schema = {}


def problem(schema: Schema, path: str) -> str | None:
    """None when `schema` can produce `path`; otherwise why not, in words."""
    current: list[Schema] = [schema]
    walked: list[str] = []
    for step in path.split("."):
        alternatives = [alt for s in current for alt in _alternatives(s)]
        if any(_is_open(s) for s in alternatives):
            return None
        following = [child for s in alternatives for child in _children(s, step)]
        if not following:
            return _explain(alternatives, walked, step)
        current = following
        walked.append(step)
    return None


def _alternatives(schema: Any) -> list[Schema]:
    if schema is True:
        return [_OPEN]
    if not isinstance(schema, Mapping):
        return []
    branches = [*schema.get("anyOf", ()), *schema.get("oneOf", ())]
    if branches:
        return [alt for b in branches for alt in _alternatives(b)]
    return [schema]


def _is_open(schema: Schema) -> bool:
    """A schema that does not constrain shape (no type, no structure keywords)."""
    return not any(k in schema for k in ("type", "properties", "additionalProperties", "items",
                                         "enum", "const", "anyOf", "oneOf"))


def _types(schema: Schema) -> set[str]:
    declared = schema.get("type")
    if declared is None:
        if "properties" in schema or "additionalProperties" in schema:
            return {"object"}
        return {"array"} if "items" in schema else set()
    return {declared} if isinstance(declared, str) else set(declared)


def _children(schema: Schema, step: str) -> list[Any]:
    types = _types(schema)
    found: list[Any] = []
    if "array" in types and (step == "*" or step.isdigit()):
        found.append(schema.get("items", _OPEN))
    if "object" in types:
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        if step == "*":
            found.extend(properties.values())
            if extra is not False:
                found.append(extra)
        elif step in properties:
            found.append(properties[step])
        elif extra is not False:
            found.append(extra)
    return found


def _explain(alternatives: list[Schema], walked: list[str], step: str) -> str:
    where = ".".join(walked) or "the facts"
    objects = [s for s in alternatives if "object" in _types(s)]
    if step == "*" or step.isdigit():
        return f"{where} is not a list or mapping"
    if not objects:
        return f"{where} has no fields"
    keys = sorted({k for s in objects for k in s.get("properties", {})})
    close = difflib.get_close_matches(step, keys, n=2)
    if close:
        return f"no fact {step!r} under {where}; did you mean {' or '.join(map(repr, close))}?"
    known = f" (known: {', '.join(keys)})" if 0 < len(keys) <= 10 else ""
    return f"no fact {step!r} under {where}{known}"
