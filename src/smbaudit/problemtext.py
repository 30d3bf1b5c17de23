"""Problem headlines: a check's `problem:` template, parsed when packs load and filled in from
a failing finding's facts ("toor has user id 0 besides root").

Syntax: plain text with `{placeholders}`; `{{` and `}}` are literal braces.

    {target}          the target's name (or its label)
    {location}        where the problem is: the finding's file or endpoint, else the target
    {observed}        the observed value of the first assertion that failed
    {message}         the `message` of each assertion that failed ("no firewall is active")
    {failed}          the elements that decided a `*` assertion (the offenders), by name
    {failed.KEY}      KEY (a dotted path) inside each of those elements
    {FACT.PATH}       a fact, addressed as in conditions; `*` collects from every element
                      ({users.*.user}); use {failed...} for the offenders only

Filters follow `|` and apply left to right:

    count             how many values (elements, list items; a missing fact counts 0)
    first             the first value only
    plural:ONE:MANY   ONE for exactly one value, else MANY ({failed|plural:has:have})
    default:TEXT      TEXT when the value is missing or empty
    octal             a number written as an octal file mode (420 -> 0644)
    capital           the first letter in upper case ({message|capital} at a sentence start)
    where             an element as "FILE line N" from its file (or path) and line fields

A list is written "a, b and c", naming at most three ("a, b, c and 4 more"); a missing fact is
"not set", an empty list "none". Every value taken from a target is redacted, its control
characters shown as visible escapes (\x1b) and shortened, so a headline is safe to print anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from smbaudit.redact import redact_text
from smbaudit.textsafe import visible

RESERVED = ("target", "location", "observed", "message", "failed")
FILTERS = {"count": 0, "first": 0, "plural": 2, "default": 1, "octal": 0, "capital": 0, "where": 0}
LABEL_KEYS = ("path", "name", "user", "id", "package", "key", "file")
MAX_NAMED = 3
MAX_VALUE_CHARS = 80
MAX_HEADLINE_CHARS = 300

_NAME = re.compile(r"[A-Za-z0-9_-]+(?:\.(?:[A-Za-z0-9_-]+|\*))*")
_SEPARATORS = re.compile("[\u2028\u2029]")


class TemplateError(ValueError):
    """A template that cannot be used; the message says what and where (column)."""


@dataclass(frozen=True)
class Placeholder:
    kind: str  # "target" | "location" | "observed" | "message" | "failed" | "fact"
    path: str = ""  # the fact path, or the key path inside a failed element
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Template:
    source: str
    parts: tuple[str | Placeholder, ...]

    @property
    def placeholders(self) -> list[Placeholder]:
        return [p for p in self.parts if isinstance(p, Placeholder)]


@dataclass
class Context:
    """What a headline may draw on. `failed` holds (label, element) for each offender."""

    facts: Any
    target: str
    location: str = ""
    observed: Any = None
    has_observed: bool = False
    failed: Sequence[tuple[str, Any]] = field(default_factory=list)
    messages: Sequence[str] = ()


# --------------------------------------------------------------------------- parsing


@lru_cache(maxsize=4096)
def parse(text: str) -> Template:
    """Parse a template; raises TemplateError naming the first problem."""
    parts: list[str | Placeholder] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "{}" and text[i:i + 2] == ch * 2:
            literal.append(ch)
            i += 2
            continue
        if ch == "}":
            raise TemplateError(f"unmatched '}}' at column {i + 1} (write '}}}}' for a brace)")
        if ch != "{":
            literal.append(ch)
            i += 1
            continue
        end = text.find("}", i + 1)
        if end < 0:
            raise TemplateError(f"unclosed '{{' at column {i + 1}")
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append(_placeholder(text[i + 1:end], i + 1))
        i = end + 1
    if literal:
        parts.append("".join(literal))
    if not any(isinstance(p, Placeholder) for p in parts) and not text.strip():
        raise TemplateError("the headline is empty")
    return Template(text, tuple(parts))


def _placeholder(body: str, column: int) -> Placeholder:
    name, *raw_filters = body.split("|")
    name = name.strip()
    if "{" in name:
        raise TemplateError(f"'{{' inside a placeholder at column {column}")
    if not _NAME.fullmatch(name):
        raise TemplateError(f"placeholder {{{body}}} at column {column}: expected a fact path, "
                            f"or one of {', '.join(RESERVED)}")
    head, _, rest = name.partition(".")
    if head == "failed":
        if "*" in rest:
            raise TemplateError(f"placeholder {{{body}}}: no `*` inside a failed element")
        kind, path = "failed", rest
    elif head in RESERVED:
        if rest:
            raise TemplateError(f"placeholder {{{body}}}: {head} has no fields")
        kind, path = head, ""
    else:
        kind, path = "fact", name
    filters = []
    for raw in raw_filters:
        fname, *args = raw.strip().split(":", 1 if raw.strip().startswith("default:") else -1)
        if fname not in FILTERS:
            raise TemplateError(f"unknown filter {fname!r} in {{{body}}} "
                                f"(known: {', '.join(FILTERS)})")
        if len(args) != FILTERS[fname]:
            raise TemplateError(f"filter {fname!r} in {{{body}}} takes {FILTERS[fname]} argument(s) "
                                f"separated by ':', got {len(args)}")
        filters.append((fname, tuple(args)))
    return Placeholder(kind, path, tuple(filters))


# --------------------------------------------------------------------------- rendering

_MISSING = None  # a resolved value list of None means "not there at all"


def render(template: str | Template, ctx: Context) -> str:
    """Fill a template; the result is one safe line of at most MAX_HEADLINE_CHARS."""
    tpl = parse(template) if isinstance(template, str) else template
    out: list[str] = []
    for part in tpl.parts:
        if isinstance(part, str):
            out.append(part)
            continue
        values = _apply(part.filters, _resolve(part, ctx))
        out.append(_join(values))
    return one_line("".join(out))


def one_line(text: str) -> str:
    """Text a check author wrote around safe values, as one printable line of bounded length."""
    return _shorten(" ".join(visible(_SEPARATORS.sub(" ", text)).split()), MAX_HEADLINE_CHARS)


def _resolve(p: Placeholder, ctx: Context) -> list[Any] | None:
    if p.kind == "target":
        return [ctx.target]
    if p.kind == "location":
        return [ctx.location or ctx.target]
    if p.kind == "message":
        return list(ctx.messages)
    if p.kind == "observed":
        return _as_values(ctx.observed) if ctx.has_observed else _MISSING
    if p.kind == "failed":
        if not p.path:
            wants_element = bool(p.filters) and p.filters[0][0] == "where"
            return [element if wants_element else label for label, element in ctx.failed]
        found: list[Any] = []
        for _, element in ctx.failed:
            value = _lookup(element, p.path)
            if value is not _ABSENT and value is not None:
                found.extend(_as_values(value) or [])
        return found
    if "*" in p.path:
        return _collect(ctx.facts, p.path.split("."))
    value = _lookup(ctx.facts, p.path)
    return _MISSING if value is _ABSENT else _as_values(value)


_ABSENT = object()


def _lookup(node: Any, path: str) -> Any:
    for step in path.split("."):
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            return _ABSENT
    return node


def _collect(node: Any, steps: list[str]) -> list[Any] | None:
    """Every value a path with `*` reaches, lists flattened; None when the collection is missing."""
    star = steps.index("*")
    head = _lookup(node, ".".join(steps[:star])) if star else node
    if head is _ABSENT or head is None:
        return _MISSING
    elements = list(head.values()) if isinstance(head, dict) else list(head) if isinstance(head, list) else []
    found: list[Any] = []
    for element in elements:
        rest = steps[star + 1:]
        if not rest:
            found.append(element)
            continue
        value = _collect(element, rest) if "*" in rest else _lookup(element, ".".join(rest))
        if value is _ABSENT or value is None:
            continue
        found.extend(value if isinstance(value, list) else [value])
    return found


def _as_values(value: Any) -> list[Any] | None:
    if value is None:
        return _MISSING
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _apply(filters: tuple[tuple[str, tuple[str, ...]], ...], values: list[Any] | None) -> list[Any] | None:
    for name, args in filters:
        if name == "count":
            values = [len(values or [])]
        elif name == "first":
            values = values[:1] if values else values
        elif name == "plural":
            distinct = {_text(v) for v in values or []}
            values = [args[0] if len(distinct) == 1 else args[1]]
        elif name == "default":
            if not values or all(v in (None, "") for v in values):
                values = [args[0]]
        elif name == "octal" and values:
            values = [_octal(v) for v in values]
        elif name == "where" and values:
            values = [_where(v) for v in values]
        elif name == "capital" and values:
            first = _text(values[0])
            values = [first[:1].upper() + first[1:], *values[1:]]
    return values


def _where(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    file = value.get("file") or value.get("path")
    line = value.get("line")
    if file and isinstance(line, int) and not isinstance(line, bool):
        return f"{file} line {line}"
    return file or label_of(value)


def _octal(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value & 0o7777:04o}"
    return value


def _join(values: list[Any] | None) -> str:
    if values is None:
        return "not set"
    words = list(dict.fromkeys(_text(v) for v in values))
    if not words:
        return "none"
    if len(words) > MAX_NAMED + 1:
        return ", ".join(words[:MAX_NAMED]) + f" and {len(words) - MAX_NAMED} more"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


def label_of(element: Any, fallback: str = "") -> str:
    """A readable name for one element of a list or mapping in the facts."""
    if isinstance(element, dict):
        for key in LABEL_KEYS:
            if isinstance(element.get(key), (str, int)) and not isinstance(element.get(key), bool):
                return str(element[key])
        return fallback
    if isinstance(element, (str, int, float)) and not isinstance(element, bool):
        return str(element)
    return fallback


def _text(value: Any) -> str:
    """One value as safe text: redacted, control characters as escapes, shortened."""
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif value is None:
        text = "not set"
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, dict):
        text = label_of(value) or ", ".join(f"{k}={v}" for k, v in value.items()
                                            if not isinstance(v, (dict, list)))
    elif isinstance(value, (list, tuple)):
        text = ", ".join(_text(v) for v in value)
    else:
        text = str(value)
    return safe(text, MAX_VALUE_CHARS)


def safe(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """Redacted, one line, control and bidi characters as escapes, at most `limit` characters."""
    text = visible(_SEPARATORS.sub(" ", redact_text(text).replace("\t", " ").replace("\n", " ")))
    return _shorten(text.strip(), limit)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"
