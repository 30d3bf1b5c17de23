"""JSON Schema validation: a compiled validator (fastjsonschema) answers "valid?" quickly on
every start; only a document that fails is walked again with jsonschema, whose errors carry the
paths that file:line:field messages are built from."""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

import fastjsonschema

if TYPE_CHECKING:
    import jsonschema


@cache
def _compiled(schema_text: str) -> Any:
    return fastjsonschema.compile(json.loads(schema_text))


@cache
def _explainer(schema_text: str) -> jsonschema.Draft202012Validator:
    import jsonschema  # only a document that fails needs the explanations (and the import)

    return jsonschema.Draft202012Validator(json.loads(schema_text))


def errors(schema: dict[str, Any], document: Any) -> list[jsonschema.ValidationError]:
    """Every way `document` breaks `schema` (an empty list when it is valid)."""
    text = json.dumps(schema, sort_keys=True)
    try:
        _compiled(text)(document)
        return []
    except fastjsonschema.JsonSchemaException:
        pass
    return list(_explainer(text).iter_errors(document))
