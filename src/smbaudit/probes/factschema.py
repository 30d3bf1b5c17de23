"""Short builders for a probe's `facts` schema (plain JSON Schema; see docs/writing-probes.md).

    facts = record(
        present=BOOL,
        files=list_of(STR),
        users=list_of(record(user=STR, uid=INT, shell=nullable(STR))),
        settings=mapping(ANY),                  # keys not known in advance
        optional={"runtime": mapping(INT)},     # only on live hosts
    )

`record` lists every key the probe writes and forbids others, so the pack loader can refuse a
check that names a key the probe never produces; `mapping` is for data-keyed objects (user
names, file paths, kernel parameters), where any key may appear.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smbaudit.probes.base import INCOMPLETE, UNREADABLE

Schema = dict[str, Any]
# Keys any probe may add to its facts for the engine (a partial collection, facts it could not
# establish); every facts schema implies them, so none declares them.
ENGINE_KEYS = (INCOMPLETE, UNREADABLE)

ANY: Schema = {}
STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
NULL: Schema = {"type": "null"}
SCALAR: Schema = {"type": ["string", "integer", "number", "boolean"]}


def nullable(schema: Schema) -> Schema:
    """`schema` or null (a fact that is unknown in some cases)."""
    return {"anyOf": [schema, NULL]}


def one_of(*schemas: Schema) -> Schema:
    return {"anyOf": list(schemas)}


def enum(*values: Any) -> Schema:
    return {"enum": list(values)}


def list_of(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def mapping(values: Schema) -> Schema:
    """An object whose keys are data (names, paths); every value fits `values`."""
    return {"type": "object", "additionalProperties": values}


def record(optional: dict[str, Schema] | None = None, **fields: Schema) -> Schema:
    """An object with exactly these keys: `fields` always present, `optional` sometimes."""
    return record_of(fields, optional)


def record_of(fields: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    """`record` for keys that are not Python names ("common-auth", "optional")."""
    return {"type": "object", "additionalProperties": False,
            "properties": {**fields, **(optional or {})}, "required": sorted(fields)}


# One file's metadata (`FileStat.to_facts`), as the file probes report it.
FILE_STAT: dict[str, Schema] = {
    "path": STR, "type": enum("file", "dir", "link", "other"), "mode": STR, "uid": INT,
    "gid": INT, "owner": nullable(STR), "group": nullable(STR), "size": INT,
    "world_writable": BOOL, "world_readable": BOOL, "group_writable": BOOL, "setuid": BOOL,
    "setgid": BOOL,
}


def declared_part(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The facts without the engine's keys: what a probe's `facts` schema describes."""
    return {k: v for k, v in facts.items() if k not in ENGINE_KEYS}
