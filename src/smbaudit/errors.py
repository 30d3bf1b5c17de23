"""Exception tree. Every expected error carries the exit code the CLI uses for it."""

from __future__ import annotations

import errno
from dataclasses import dataclass, field

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2
EXIT_INCOMPLETE = 3
EXIT_FINDINGS_NOT_AUDITED = 4  # failing findings, and some host was not audited in full
EXIT_INTERRUPTED = 130


class SmbauditError(Exception):
    """Base of all expected errors."""

    exit_code = EXIT_BAD_INPUT


MAX_MESSAGE = 400
MAX_FIELD = 120


def shorten(text: str, limit: int) -> str:
    """`text` cut to about `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


@dataclass(frozen=True)
class FieldError:
    """One problem in an input file: where it is and what is wrong."""

    path: str
    line: int | None
    field: str
    message: str

    def __post_init__(self) -> None:
        # Messages may quote the user's values: never let one expand without bound.
        object.__setattr__(self, "message", shorten(self.message, MAX_MESSAGE))
        object.__setattr__(self, "field", shorten(self.field, MAX_FIELD))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        field = f" [{self.field}]" if self.field else ""
        return f"{where}:{field} {self.message}"


class InputFileError(SmbauditError):
    """One or more problems in check packs, policy catalogs, waivers or profiles."""

    def __init__(self, errors: list[FieldError]):
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


class UsageError(SmbauditError):
    """A bad command-line value or combination."""


class OutputError(SmbauditError):
    """A report could not be written (folder not writable, disk full, a file where a folder
    is expected). The scan itself is over; the message says how to recover it."""


class TargetError(SmbauditError):
    """A target specification that cannot be used (unknown form, missing directory)."""


class ProbeError(Exception):
    """A probe could not collect its facts; becomes an ERROR finding, never stops the scan."""


class ProbeTimeout(ProbeError):
    """A probe ran past its deadline."""


class NotReadable(ProbeError):
    """An input exists but could not be read (permission denied, too large, cut short).

    The message is a plain-words reason a reader can act on, e.g. "/etc/shadow is not
    readable: run as root". The checks that depend on it end ERROR, never pass or
    not applicable.
    """


class FileTooLarge(NotReadable):
    """A file holds more than its reader's limit: it is never evaluated as if it were complete."""

    def __init__(self, path: str, limit: int):
        self.path, self.limit = path, limit
        super().__init__(f"{path}: file larger than {size_words(limit)}; not assessed")


def size_words(size: int) -> str:
    """A byte count as people say it: '2 MB', '64 KB', '300 bytes' (binary units)."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"


class PathNotReadable(NotReadable, PermissionError):
    """What a target raises when a path exists but the scanning user may not read it.

    Still a PermissionError (probes that read optional files keep catching it), and a
    NotReadable whose text is the plain reason, naming the path and what to do about it.
    """

    def __init__(self, path: str, reason: str):
        PermissionError.__init__(self, errno.EACCES, "permission denied", path)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class BudgetExceeded(ProbeError):
    """A probe hit one of its budgets (files, bytes, directives, include fan-out)."""


class DataMissing(ProbeError):
    """Data the probe needs is not installed (e.g. no vulnerability store yet). Its checks are
    SKIPPED ("not assessed", with the reason), never pass, and leave the exit code alone."""


class UnsupportedOperation(ProbeError):
    """The target cannot do what the probe asked (e.g. run a command on an offline tree)."""


@dataclass
class ScanInterrupted(Exception):
    """Raised inside the engine when SIGINT/SIGTERM arrives; carries nothing but the signal."""

    signal_name: str = "SIGINT"
    extra: dict[str, str] = field(default_factory=dict)
