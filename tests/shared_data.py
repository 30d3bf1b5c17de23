"""Where the real upstream files live: `<repo>/../shared` (a worktree kept under
`<repo>/../wt/NAME` sees the same folder one level further up)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def shared_dir(name: str) -> Path:
    for base in (REPO.parent, REPO.parent.parent):
        if (base / "shared" / name).is_dir():
            return base / "shared" / name
    return REPO.parent / "shared" / name


def validate_sarif(data: object) -> None:
    """Validate a SARIF log against the official 2.1.0 schema kept in ../shared/schemas (skips
    the calling test when that folder is absent; call it after the test's own assertions)."""
    import json

    import jsonschema
    import pytest

    path = shared_dir("schemas") / "sarif-schema-2.1.0.json"
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    schema = json.loads(path.read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(data)
