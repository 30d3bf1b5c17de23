"""The only YAML entry point: safe loading that remembers line numbers and rejects duplicate keys."""

from __future__ import annotations

import datetime as dt
import os
import stat
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smbaudit.errors import FieldError, InputFileError, size_words


class LineDict(dict):  # type: ignore[type-arg]
    """A mapping that knows the line of itself and of each of its keys (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):  # type: ignore[type-arg]
    line: int = 0
    item_lines: list[int]


if TYPE_CHECKING:
    import yaml


# PyYAML is imported when the first file is read (a scan whose packs come from the pack cache
# reads none).
def _base_loader() -> Any:
    """libyaml's C parser when PyYAML was built with it (about 7x faster on our packs and
    catalogs); the pure-Python one otherwise. Construction (below) is the same Python code."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def _loader() -> Any:
    import yaml

    class _Loader(_base_loader()):  # type: ignore[misc]
        """SafeLoader that records positions. No Python object tags are constructed."""

    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
    return _Loader


def _construct_mapping(loader: Any, node: yaml.MappingNode) -> LineDict:
    import yaml

    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "mapping keys must be plain values", key_node.start_mark)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: Any, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result




# Files smbaudit reads (packs, catalogs, profiles, waivers, questionnaires) are kilobytes; the
# largest shipped one is about 50 KB.
MAX_YAML_BYTES = 16 * 1024 * 1024


def load_text(text: str, path: str) -> Any:
    """Parse one YAML document. Syntax errors become InputFileError naming path and line.

    Aliases (`*name`, and so `<<:` merges) are refused: a few hundred bytes of nested aliases
    expand to gigabytes in anything that walks or prints the result. libyaml limits nesting
    to 1000 levels; deeper structures than Python's recursion allows are refused too.
    """
    import yaml

    try:
        _refuse_aliases(text, path)
        return yaml.load(text, Loader=_loader())  # noqa: S506 - _Loader derives from SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or str(exc)
        raise InputFileError([FieldError(path, line, "", f"not valid YAML: {problem}")]) from None
    except yaml.YAMLError as exc:
        raise InputFileError([FieldError(path, None, "", f"not valid YAML: {exc}")]) from None
    except RecursionError:
        raise InputFileError([FieldError(path, None, "", "not accepted: nested too deeply")]) from None


def _refuse_aliases(text: str, path: str) -> None:
    if "&" not in text:
        return  # no anchor, so no alias can resolve (an unknown alias is a syntax error)
    import yaml

    for event in yaml.parse(text, Loader=_base_loader()):
        if isinstance(event, yaml.AliasEvent):
            mark = event.start_mark
            raise InputFileError([FieldError(
                path, mark.line + 1 if mark else None, "",
                "YAML aliases (*name) are not accepted: write the value out in full")])


def load_file(path: str | Path) -> Any:
    """Load one YAML file: a regular file (never a FIFO or device) of at most MAX_YAML_BYTES."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise InputFileError([FieldError(str(p), None, "", "not a regular file")])
            data = fh.read(MAX_YAML_BYTES + 1)
    except OSError as exc:
        raise InputFileError([FieldError(str(p), None, "", f"cannot read: {exc.strerror}")]) from None
    if len(data) > MAX_YAML_BYTES:
        raise InputFileError([FieldError(str(p), None, "", f"larger than {size_words(MAX_YAML_BYTES)}; "
                                         "not a smbaudit file")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputFileError([FieldError(str(p), None, "", "not a UTF-8 text file")]) from None
    return load_text(text, str(p))


def dump(data: Any) -> str:
    """Plain YAML text for files smbaudit writes (questionnaires, starter profiles)."""
    import yaml

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def line_at(node: Any, path: tuple[str | int, ...]) -> int | None:
    """The best known line for a path of keys/indexes inside a loaded document."""
    line: int | None = getattr(node, "line", None)
    for step in path:
        if isinstance(node, LineDict) and step in node:
            line = node.line_of(str(step))
            node = node[step]
        elif isinstance(node, LineList) and isinstance(step, int) and step < len(node):
            line = node.item_lines[step]
            node = node[step]
        else:
            break
        line = getattr(node, "line", None) or line
    return line


def as_date(value: Any) -> dt.date | None:
    """A YAML date value (a date, a datetime or an ISO date string) as a date; None otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None
