"""Helpers shared by the configuration-file probes: reading optional files, comments, globs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from smbaudit.errors import BudgetExceeded, NotReadable, ProbeError, size_words
from smbaudit.probes.base import current_context
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


@dataclass(frozen=True)
class Limits:
    """What one probe may spend parsing configuration a target controls. Includes repeated
    across a tree count each time they are expanded (that is what amplification costs)."""

    files: int = 5_000  # file expansions (a file included twice counts twice)
    bytes: int = 16 * 1024 * 1024  # text parsed, repeats included
    directives: int = 500_000  # directives, lines or rules produced
    fanout: int = 10_000  # files matched by one include pattern or listed in one folder


DEFAULT_LIMITS = Limits()


class Budget:
    """Counts a probe's parsing work against Limits and checks its deadline (through the
    probe's current context, see probes.base) inside the parsers' loops. Over a limit it
    raises BudgetExceeded, which names the limit: the checks that need the facts end `error`.
    """

    def __init__(self, limits: Limits = DEFAULT_LIMITS):
        self.limits = limits
        self.files = self.bytes = self.directives = 0

    def check_deadline(self) -> None:
        ctx = current_context()
        if ctx is not None:
            ctx.check_deadline()

    def file(self, path: str, size: int) -> None:
        self.check_deadline()
        self.files += 1
        self.bytes += size
        if self.files > self.limits.files:
            raise BudgetExceeded(f"more than {self.limits.files} configuration files to parse "
                                 f"(includes nested or repeated; at {path}); not assessed")
        if self.bytes > self.limits.bytes:
            raise BudgetExceeded(f"more than {size_words(self.limits.bytes)} of configuration "
                                 f"to parse (includes repeated; at {path}); not assessed")

    def directive(self, count: int = 1) -> None:
        self.directives += count
        if self.directives > self.limits.directives:
            raise BudgetExceeded(f"more than {self.limits.directives} configuration directives; "
                                 "not assessed")
        if self.directives & 0x3FF < count:  # about every 1,024
            self.check_deadline()

    def fanout(self, what: str, count: int) -> None:
        if count > self.limits.fanout:
            raise BudgetExceeded(f"{what}: more than {self.limits.fanout} files to include; "
                                 "not assessed")


@dataclass
class Reader:
    """Reads optional config files from a target and remembers what it read and what it could not.

    `files` lists every file read (in order, once each); `errors` holds one line per file that
    exists but could not be read (permissions, not a regular file), so a partial view is visible.
    Each file is read from the target once (its text is cached); every read counts against the
    probe's `budget`, repeats included.
    """

    host: HostTarget
    files: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    budget: Budget = field(default_factory=Budget)
    _texts: dict[str, str] = field(default_factory=dict, repr=False)

    def read(self, path: str) -> str | None:
        """The file's text, None when it is missing or unreadable (the latter noted in errors)."""
        cached = self._texts.get(path)
        if cached is not None:
            self.budget.file(path, len(cached))
            return cached
        self.budget.check_deadline()
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
        self.budget.file(path, len(text))
        self.budget.directive(text.count("\n"))  # lines: an upper bound of what parsers make
        self._texts[path] = text
        self.files.append(path)
        return text

    def glob(self, pattern: str) -> list[str]:
        """Target paths matching a glob, sorted bytewise as glob(3) and systemd do."""
        try:
            found = sorted(self.host.glob(pattern, limit=self.budget.limits.fanout))
        except OSError as exc:
            self.errors.append(f"{pattern}: {exc.strerror or exc}")
            return []
        except BudgetExceeded:
            raise BudgetExceeded(f"{pattern}: more than {self.budget.limits.fanout} files to "
                                 "include; not assessed") from None
        return found

    def list_dir(self, path: str) -> list[str]:
        try:
            names = self.host.list_dir(path)
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            self.errors.append(f"{path}: {exc.strerror or exc}")
            return []
        self.budget.fanout(path, len(names))
        return names


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
