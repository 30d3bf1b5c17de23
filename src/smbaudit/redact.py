"""Masks secrets (private keys, password hashes, passwords, tokens) in evidence text."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

MASK = "[REDACTED]"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # PEM private key blocks, whole.
    (re.compile(r"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY)-----.*?(?:-----END \1-----|\Z)", re.S),
     f"-----BEGIN \\1-----{MASK}-----END \\1-----"),
    # OpenSSH private keys are also PEM-like; covered above. crypt(3) hashes:
    (re.compile(r"\$(?:1|2[abxy]?|5|6|y|gy|7|argon2(?:id|i|d)?|sha1|md5)\$[^\s:$]*\$[^\s:]+"), MASK),
    # Legacy DES crypt in shadow-like lines (user:HASH:...).
    (re.compile(r"^([a-z_][a-z0-9_.-]*:)([./A-Za-z0-9]{13})(:)", re.M), f"\\1{MASK}\\3"),
    # key = value secrets (password=, secret:, token ...), keeping the key visible.
    (re.compile(r"(?i)\b((?:[a-z0-9_.-]*)(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key"
                r"|private[_-]?key|auth[_-]?key|credentials?)[a-z0-9_.-]*)(\s*[:=]\s*)"
                r"(\"[^\"]*\"|'[^']*'|[^\s,;]+)"), f"\\1\\2{MASK}"),
    # Config directives whose argument is a secret (redis requirepass, masterauth, ...).
    (re.compile(r"(?im)^(\s*(?:requirepass|masterauth|password|passwd|secret|bindpw|rootpw)\s+)\S+"),
     f"\\1{MASK}"),
    # Bearer / basic auth headers.
    (re.compile(r"(?i)\b(authorization:\s*(?:bearer|basic)\s+)\S+"), f"\\1{MASK}"),
    # AWS access key ids and similar long tokens.
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), MASK),
    # URLs with credentials: scheme://user:pass@host
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+@"), f"\\1{MASK}@"),
]


def redact_text(text: str) -> str:
    return _redact_short(text) if len(text) <= _REMEMBERED_LENGTH else _redact(text)


# The same observed values (package names, paths) come back in many findings: a scan of a host
# redacts some 26,000 strings of which under 1,000 differ, so short ones' answers are remembered.
_REMEMBERED_LENGTH = 1024


def _redact(text: str) -> str:
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


_redact_short = lru_cache(maxsize=1 << 15)(_redact)


def redact(value: Any) -> Any:
    """Redact every string inside a JSON-like value."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact(v) for v in value)
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    return value
