"""Shadow-suite password defaults (/etc/login.defs) and libpwquality settings (pwquality.conf)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from smbaudit.models import TargetKind
from smbaudit.probes._common import Reader, as_number, as_octal_mode, host_of, lines_of, strip_comment
from smbaudit.probes import factschema as fs
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import HostTarget, Target

LOGIN_DEFS = "/etc/login.defs"
PWQUALITY = "/etc/security/pwquality.conf"
PWQUALITY_D = "/etc/security/pwquality.conf.d"

# libpwquality's built-in values (pwquality.conf(5), libpwquality 1.4).
PWQUALITY_DEFAULTS: dict[str, Any] = {
    "difok": 1, "minlen": 8, "dcredit": 0, "ucredit": 0, "lcredit": 0, "ocredit": 0,
    "minclass": 0, "maxrepeat": 0, "maxsequence": 0, "maxclassrepeat": 0, "gecoscheck": 0,
    "dictcheck": 1, "usercheck": 1, "usersubstr": 0, "enforcing": 1, "retry": 1,
    "enforce_for_root": False, "local_users_only": False,
}
_PWQ_FLAGS = {"enforce_for_root", "local_users_only"}


def parse_login_defs(text: str) -> dict[str, Any]:
    """KEY value pairs; the last assignment of a key wins (getdef.c overwrites as it reads)."""
    values: dict[str, Any] = {}
    for raw in lines_of(text):
        line = strip_comment(raw)
        if not line:
            continue
        parts = line.split(None, 1)
        key = parts[0].upper()
        value = parts[1].strip().strip('"') if len(parts) > 1 else ""
        if key == "UMASK":
            values[key] = as_octal_mode(value) or value
        else:
            values[key] = as_number(value)
    return values


def parse_pwquality(text: str, into: dict[str, Any]) -> None:
    """`name = value` lines and bare flags, later assignments overriding earlier ones."""
    for raw in lines_of(text):
        line = strip_comment(raw)
        if not line:
            continue
        if "=" in line:
            key, _, value = line.partition("=")
            into[key.strip().lower()] = as_number(value.strip())
        elif re.fullmatch(r"[A-Za-z_]+", line):
            into[line.lower()] = True


def read_pwquality(reader: Reader) -> tuple[dict[str, Any], list[str]]:
    """Configured pwquality values (drop-ins first in ASCII order, then the main file), and the
    files that contributed."""
    configured: dict[str, Any] = {}
    files: list[str] = []
    for name in reader.list_dir(PWQUALITY_D):
        if name.endswith(".conf"):
            path = f"{PWQUALITY_D}/{name}"
            text = reader.read(path)
            if text is not None:
                parse_pwquality(text, configured)
                files.append(path)
    text = reader.read(PWQUALITY)
    if text is not None:
        parse_pwquality(text, configured)
        files.append(PWQUALITY)
    return configured, files


def with_defaults(configured: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(PWQUALITY_DEFAULTS)
    merged.update(configured)
    for flag in _PWQ_FLAGS:
        merged[flag] = bool(merged[flag])
    return merged


def read_login_defs(host: HostTarget, reader: Reader | None = None) -> dict[str, Any] | None:
    text = (reader or Reader(host)).read(LOGIN_DEFS)
    return None if text is None else parse_login_defs(text)


class LoginDefsProbe(Probe):
    """Password ageing and hashing defaults, and password-quality settings.

    Facts: present (login.defs exists), path, settings (KEY -> value as written, upper-case keys,
    integers as int, UMASK as four-digit octal text, e.g. PASS_MAX_DAYS, PASS_MIN_DAYS,
    PASS_WARN_AGE, UMASK, ENCRYPT_METHOD, SHA_CRYPT_MIN_ROUNDS, YESCRYPT_COST_FACTOR),
    encrypt_method (lower-case, or None), pwquality: {present (a pwquality file exists), files,
    configured (values set in files), settings (configured over libpwquality defaults)}, errors.
    Note that pwquality.conf only takes effect where pam_pwquality is in the PAM stack; the `pam`
    probe reports that and the values its module arguments override.
    """

    name = "login_defs"
    description = "password ageing (/etc/login.defs) and quality (pwquality.conf) settings"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False,
                                     "properties": {}}

    facts = fs.record(
        present=fs.BOOL, path=fs.STR,
        settings=fs.mapping(fs.SCALAR),  # login.defs KEY -> value (the file's own vocabulary)
        encrypt_method=fs.nullable(fs.STR),
        pwquality=fs.record(present=fs.BOOL, files=fs.list_of(fs.STR),
                            configured=fs.mapping(fs.SCALAR), settings=fs.mapping(fs.SCALAR)),
        errors=fs.list_of(fs.STR),
    )

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        reader = Reader(host)
        settings = read_login_defs(host, reader)
        configured, files = read_pwquality(reader)
        method = (settings or {}).get("ENCRYPT_METHOD")
        return {
            "present": settings is not None,
            "path": LOGIN_DEFS,
            "settings": settings or {},
            "encrypt_method": str(method).lower() if method is not None else None,
            "pwquality": {
                "present": bool(files),
                "files": files,
                "configured": configured,
                "settings": with_defaults(configured),
            },
            "errors": reader.errors,
        }
