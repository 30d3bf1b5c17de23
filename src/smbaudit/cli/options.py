"""What every command shares: case-insensitive choices, `-f/--format` and `-o/--output`, and
writing one report (to a file, into a folder, or to standard output, never binary to a terminal).

`-o PATH` means a file, unless PATH ends with a slash or is an existing folder: then the report
is written into that folder under its default name (`report.html`, `coverage.json`, ...).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from smbaudit.errors import OutputError, UsageError
from smbaudit.fsutil import atomic_write

# Formats that are bytes for a program, not text for a person: never sent to a terminal.
BINARY_FORMATS = frozenset({"pdf"})
EXTENSIONS = {"text": "txt", "markdown": "md", "junit": "junit.xml"}


def choice(values: Sequence[str]) -> click.Choice:  # type: ignore[type-arg]
    """A choice that accepts any case (`-f HTML`, `--category Encryption`) and hands the
    command the canonical spelling."""
    return click.Choice(list(values), case_sensitive=False)


def format_option(values: Sequence[str], default: str | None = "text",
                  help: str | None = None) -> Callable[[Any], Any]:
    return click.option("-f", "--format", "fmt", type=choice(values), default=default,
                        show_default=default is not None, help=help or "Output format.")


def output_option(default_name: str) -> Callable[[Any], Any]:
    return click.option(
        "-o", "--output", metavar="PATH",
        help=f"Write to this file ('-' or none: standard output); a folder (ending in '/' "
             f"or existing) gets {default_name}.<format>.")


def is_folder(output: str) -> bool:
    """`-o out/` or an existing folder: write into it."""
    return output.endswith(("/", os.sep)) or Path(output).is_dir()


def destination(output: str | None, default_name: str, fmt: str) -> str | None:
    """The file a report goes to, or None for standard output."""
    if not output or output == "-":
        return None
    if is_folder(output):
        return str(Path(output) / f"{default_name}.{EXTENSIONS.get(fmt, fmt)}")
    return output


def refuse_binary_on_terminal(fmt: str, isatty: bool | None = None) -> None:
    """A binary report (PDF) is never written to a terminal: one line saying to use -o."""
    tty = sys.stdout.isatty() if isatty is None else isatty
    if fmt in BINARY_FORMATS and tty:
        raise UsageError(f"{fmt} is a binary format and is not written to a terminal: "
                         f"give a file with -o FILE (e.g. -o report.{fmt})")


def write_output(body: bytes, output: str | None, default_name: str, fmt: str,
                 *, mode: int = 0o600) -> str | None:
    """Write one report; return the file written, or None when it went to standard output."""
    dest = destination(output, default_name, fmt)
    if dest is None:
        refuse_binary_on_terminal(fmt)
        sys.stdout.flush()
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
        return None
    try:
        atomic_write(dest, body, mode=mode)
    except OSError as exc:
        raise OutputError(f"cannot write {dest}: {exc.strerror or exc}") from None
    return dest
