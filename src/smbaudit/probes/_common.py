"""Helpers shared by the configuration-file probes: reading optional files, comments, globs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from smbaudit.errors import NotReadable, ProbeError
from smbaudit.targets.base import HostTarget, Target

# Config files are small; a multi-megabyte one is either not a config file or hostile. A file
# over either limit is never evaluated as if complete: reading it raises errors.NotReadable
# ("file larger than 2 MB; not assessed"), so the checks that need it end `error`
# (docs/limits.md lists every limit).
MAX_CONFIG_BYTES = 2 * 1024 * 1024
MAX_LINES = 50_000


def host_of(target: Target) -> HostTarget:
    """The target as a file system, or a ProbeError for network-only targets."""
    if not isinstance(target, HostTarget):
        raise ProbeError(f"{target.name} has no file system")
    return target


@dataclass
class Reader:
    """Reads optional config files from a target and remembers what it read and what it could not.

    `files` lists every file read (in order, once each); `errors` holds one line per file that
    exists but could not be read (permissions, not a regular file), so a partial view is visible.
    """

    host: HostTarget
    files: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def read(self, path: str) -> str | None:
        """The file's text, None when it is missing or unreadable (the latter noted in errors)."""
        try:
            text = self.host.read_text(path, MAX_CONFIG_BYTES)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except IsADirectoryError:
            self.errors.append(f"{path}: is a directory")
            return None
        except PermissionError:
            self.errors.append(f"{path}: permission denied")
            return None
        except OSError as exc:
            self.errors.append(f"{path}: {exc.strerror or exc}")
            return None
        if text.count("\n") > MAX_LINES:
            raise NotReadable(f"{path}: more than {MAX_LINES} lines; not assessed")
        if path not in self.files:
            self.files.append(path)
        return text

    def glob(self, pattern: str) -> list[str]:
        """Target paths matching a glob, sorted bytewise as glob(3) and systemd do."""
        try:
            return sorted(self.host.glob(pattern, limit=10_000))
        except OSError as exc:
            self.errors.append(f"{pattern}: {exc.strerror or exc}")
            return []

    def list_dir(self, path: str) -> list[str]:
        try:
            return self.host.list_dir(path)
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            self.errors.append(f"{path}: {exc.strerror or exc}")
            return []


def strip_comment(line: str, marker: str = "#") -> str:
    """The line without a comment that starts at `marker` (anywhere), stripped."""
    idx = line.find(marker)
    return (line[:idx] if idx >= 0 else line).strip()


def lines_of(text: str) -> list[str]:
    """The text's lines; NotReadable past MAX_LINES (never the first MAX_LINES as if complete)."""
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise NotReadable(f"a configuration file has more than {MAX_LINES} lines; not assessed")
    return lines


_INT_RE = re.compile(r"^[+-]?\d+$")


def as_number(value: str) -> int | str:
    """An integer when the text is one (decimal), else the text unchanged."""
    v = value.strip()
    return int(v) if _INT_RE.match(v) else v


def as_octal_mode(value: str) -> str | None:
    """A umask-like value as four-digit octal text ('027' -> '0027'), None when not octal."""
    v = value.strip()
    if not re.fullmatch(r"0?[0-7]{1,4}", v):
        return None
    return f"{int(v, 8):04o}"
