"""Parsers for nginx and Apache httpd configuration into a tree of directives, with includes
expanded in place (globs, relative paths, bounded nesting, cycles reported and not followed).

A directive is `{"name", "args", "block" (list of directives or None), "file", "line"}`;
names are kept as written (nginx is case-sensitive; Apache callers compare case-insensitively).
"""

from __future__ import annotations

import posixpath
from typing import Any

from smbaudit.probes._common import Reader, lines_of

MAX_DEPTH = 12
Directive = dict[str, Any]


def _resolve(base_dir: str, pattern: str) -> str:
    return pattern if pattern.startswith("/") else posixpath.normpath(f"{base_dir}/{pattern}")


def _expand(reader: Reader, pattern: str) -> list[str]:
    if any(c in pattern for c in "*?["):
        return reader.glob(pattern)
    return [pattern]


# ----------------------------------------------------------------------------- nginx


def nginx_tokens(text: str) -> list[tuple[str, int, bool]]:
    """(token, line, quoted) with `{`, `}` and `;` as their own tokens; `#` starts a comment."""
    tokens: list[tuple[str, int, bool]] = []
    i, n, line = 0, len(text), 1
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
            i += 1
        elif ch.isspace():
            i += 1
        elif ch == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif ch in "{};":
            tokens.append((ch, line, False))
            i += 1
        elif ch in "\"'":
            quote, start_line = ch, line
            i += 1
            buf: list[str] = []
            while i < n and text[i] != quote:
                if text[i] == "\\" and i + 1 < n:
                    buf.append(text[i + 1])
                    i += 2
                    continue
                if text[i] == "\n":
                    line += 1
                buf.append(text[i])
                i += 1
            i += 1
            tokens.append(("".join(buf), start_line, True))
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in "{};" and not (
                    text[i] in "\"'" and i == start):
                i += 1
            tokens.append((text[start:i], line, False))
    return tokens


def include_allowed(reader: Reader, path: str, stack: tuple[str, ...]) -> bool:
    """False (with the reason recorded) for an include cycle or nesting past MAX_DEPTH."""
    if path in stack:
        reader.errors.append(f"{path}: include cycle ({' -> '.join(stack + (path,))}); not followed")
        return False
    if len(stack) >= MAX_DEPTH:
        reader.errors.append(f"{path}: includes nested deeper than {MAX_DEPTH}; not followed")
        return False
    return True


class NginxParser:
    def __init__(self, reader: Reader, conf_dir: str = "/etc/nginx"):
        self.reader = reader
        self.conf_dir = conf_dir
        self._tokens: dict[str, list[tuple[str, int, bool]]] = {}  # each file tokenized once

    def parse_file(self, path: str, stack: tuple[str, ...] = ()) -> list[Directive]:
        if not include_allowed(self.reader, path, stack):
            return []
        text = self.reader.read(path)
        if text is None:
            return []
        tokens = self._tokens.get(path)
        if tokens is None:
            tokens = self._tokens[path] = nginx_tokens(text)
        directives, _ = self._block(tokens, 0, path, stack + (path,))
        return directives

    def _block(self, tokens: list[tuple[str, int, bool]], i: int, path: str,
               stack: tuple[str, ...]) -> tuple[list[Directive], int]:
        out: list[Directive] = []
        words: list[str] = []
        line = 0
        while i < len(tokens):
            tok, tline, quoted = tokens[i]
            i += 1
            if tok == "}" and not quoted:
                return out, i
            if tok == ";" and not quoted:
                if words:
                    self._add(out, words, None, path, line, stack)
                words = []
                continue
            if tok == "{" and not quoted:
                block, i = self._block(tokens, i, path, stack)
                if words:
                    self._add(out, words, block, path, line, stack)
                words = []
                continue
            if not words:
                line = tline
            words.append(tok)
        return out, i

    def _add(self, out: list[Directive], words: list[str], block: list[Directive] | None,
             path: str, line: int, stack: tuple[str, ...]) -> None:
        self.reader.budget.directive()  # several directives may share a line
        if words[0] == "include" and block is None and len(words) > 1:
            for inc in _expand(self.reader, _resolve(self.conf_dir, words[1])):
                out.extend(self.parse_file(inc, stack))
            return
        out.append({"name": words[0], "args": words[1:], "block": block, "file": path, "line": line})


# ----------------------------------------------------------------------------- Apache


def apache_logical_lines(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for lineno, raw in enumerate(lines_of(text), 1):
        if not pending:
            start = lineno
        stripped = raw.rstrip()
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        line = (pending + stripped).strip()
        pending = ""
        if line and not line.startswith("#"):
            out.append((start, line))
    return out


def apache_args(text: str) -> list[str]:
    """Arguments split on whitespace, with "double" or 'single' quotes kept together."""
    args: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        if text[i] in "\"'":
            quote = text[i]
            j = i + 1
            buf = []
            while j < n and text[j] != quote:
                if text[j] == "\\" and j + 1 < n:
                    buf.append(text[j + 1])
                    j += 2
                    continue
                buf.append(text[j])
                j += 1
            args.append("".join(buf))
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace():
                j += 1
            args.append(text[i:j])
            i = j
    return args


class ApacheParser:
    def __init__(self, reader: Reader, server_root: str):
        self.reader = reader
        self.server_root = server_root

    def parse_file(self, path: str, stack: tuple[str, ...] = ()) -> list[Directive]:
        if not include_allowed(self.reader, path, stack):
            return []
        st = self.reader.host.stat(path)
        if st is not None and st.type == "dir":
            out: list[Directive] = []
            for name in self.reader.list_dir(path):
                out.extend(self.parse_file(f"{path}/{name}", stack))
            return out
        text = self.reader.read(path)
        if text is None:
            return []
        root: list[Directive] = []
        open_blocks: list[list[Directive]] = [root]
        for lineno, line in apache_logical_lines(text):
            if line.startswith("</"):
                if len(open_blocks) > 1:
                    open_blocks.pop()
                continue
            if line.startswith("<"):
                inner = line[1:].rstrip(">").strip()
                parts = apache_args(inner)
                block: list[Directive] = []
                open_blocks[-1].append({"name": parts[0] if parts else "", "args": parts[1:],
                                        "block": block, "file": path, "line": lineno})
                open_blocks.append(block)
                continue
            parts = apache_args(line)
            if not parts:
                continue
            name = parts[0]
            if name.lower() == "serverroot" and len(parts) > 1:
                self.server_root = parts[1]
            if name.lower() in ("include", "includeoptional") and len(parts) > 1:
                for inc in _expand(self.reader, _resolve(self.server_root, parts[1])):
                    open_blocks[-1].extend(self.parse_file(inc, stack + (path,)))
                continue
            open_blocks[-1].append({"name": name, "args": parts[1:], "block": None,
                                    "file": path, "line": lineno})
        return root
