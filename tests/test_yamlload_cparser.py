"""yamlload uses libyaml's parser when available; data and line numbers match the Python parser."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from smbaudit import yamlload
from smbaudit.errors import InputFileError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted([*ROOT.glob("checks/**/*.yaml"), *ROOT.glob("policies/**/*.yaml")])


class _PurePythonLoader(yaml.SafeLoader):
    pass


_PurePythonLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                  yamlload._construct_mapping)
_PurePythonLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG,
                                  yamlload._construct_sequence)


def _shape(node):
    """Data plus every recorded line, to compare two loads exactly."""
    if isinstance(node, yamlload.LineDict):
        return ("map", node.line, sorted(node.key_lines.items()),
                [(k, _shape(v)) for k, v in node.items()])
    if isinstance(node, yamlload.LineList):
        return ("seq", node.line, node.item_lines, [_shape(v) for v in node])
    return node


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")
def test_loader_uses_libyaml_parser() -> None:
    assert issubclass(yamlload._loader(), yaml.CSafeLoader)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_same_data_and_lines_as_python_parser(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert _shape(yamlload.load_text(text, str(path))) == _shape(
        yaml.load(text, Loader=_PurePythonLoader))  # noqa: S506 - SafeLoader subclass


def test_errors_still_name_the_line() -> None:
    with pytest.raises(InputFileError) as info:
        yamlload.load_text("a: 1\nb: [1, 2\n", "f.yaml")
    assert [(e.path, e.line) for e in info.value.errors] == [("f.yaml", 3)]
    with pytest.raises(InputFileError) as info:
        yamlload.load_text("a: 1\na: 2\n", "f.yaml")
    assert info.value.errors[0].line == 2 and "duplicate key" in info.value.errors[0].message
