"""A cache of validated check packs, so a start does not parse and validate unchanged YAML.

Loading the shipped packs (YAML with line numbers, JSON Schema, the semantic and facts-contract
checks) costs about as much CPU as the rest of a one-endpoint network scan. Its result, the list
of CheckDefs, depends only on the pack files' bytes, on the probes' params schemas and facts
contracts, and on the loader's own code; the cache keeps it as JSON under the user's cache
folder, keyed by all of these:

- every pack file's path and SHA-256 (content, not time stamps);
- a fingerprint of the probes' contracts, given by the caller;
- smbaudit's version and the size and modification time of the modules that validate packs and
  define CheckDef.

Only a load that succeeded is stored, so a broken pack is read and reported every time with its
file:line:field problems. An entry is written only when it reads back equal to what was loaded
(values JSON cannot hold, such as YAML dates, are simply not cached). An entry that is not a
regular file owned by this user, writable by others, unreadable or malformed is a miss. Any
failure to write is ignored: the cache only ever saves time. `SMBAUDIT_NO_PACK_CACHE=1` turns
it off.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from smbaudit import __version__, fsutil
from smbaudit.models import Applicability, Assertion, CheckDef, Condition, Severity, SourceRef
from smbaudit.packs.files import discover

FORMAT = 1
KEEP = 8  # entries kept, the most recently used (several installations or versions of smbaudit)
MAX_ENTRY_BYTES = 64 * 1024 * 1024
DISABLE_ENV = "SMBAUDIT_NO_PACK_CACHE"

_PKG = Path(__file__).resolve().parents[1]
# The code a cached result depends on besides the packs and the probes' contracts.
_CODE = ("packs", "models.py", "yamlload.py", "schemacheck.py", "problemtext.py", "errors.py")


def cache_dir() -> Path:
    import platformdirs

    return platformdirs.user_cache_path("smbaudit", appauthor=False) / "packs"


def load_cached(paths: Iterable[str | Path], contracts: str,
                load: Callable[[], list[CheckDef]]) -> list[CheckDef]:
    """The checks `load()` returns for the packs under `paths`, from the cache when nothing
    they depend on changed. `contracts` fingerprints the probes' schemas (see `contracts_key`).
    Errors (InputFileError) come from `load()` unchanged and are never cached."""
    if os.environ.get(DISABLE_ENV, "") not in ("", "0"):
        return load()
    files = discover(paths)
    key = _key(files, contracts)
    if key is not None:
        cached = _read(key)
        if cached is not None:
            return cached
    checks = load()
    if key is not None:
        _write(key, checks)
    return checks


def contracts_key(params: Mapping[str, Any], facts: Mapping[str, Any]) -> str:
    """A fingerprint of the probes' params schemas and facts contracts, by probe name."""
    text = json.dumps([params, facts], sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------- key


def _code_fingerprint() -> list[Any]:
    stamps: list[Any] = [FORMAT, __version__]
    for name in _CODE:
        path = _PKG / name
        members = sorted(path.iterdir()) if path.is_dir() else [path]
        for member in members:
            if member.suffix in (".py", ".json"):
                st = member.stat()
                stamps.append([member.name, st.st_size, st.st_mtime_ns])
    return stamps


def _key(files: list[Path], contracts: str) -> str | None:
    digest = hashlib.sha256()
    try:
        digest.update(json.dumps(_code_fingerprint()).encode())
        digest.update(contracts.encode())
        for f in files:
            digest.update(str(f).encode("utf-8", "surrogateescape") + b"\0")
            digest.update(hashlib.sha256(f.read_bytes()).digest())
    except OSError:
        return None  # the loader reports an unreadable pack
    return digest.hexdigest()


# --------------------------------------------------------------------------- entries


def _entry(key: str) -> Path:
    return cache_dir() / f"packs-{key[:40]}.json"


def _read(key: str) -> list[CheckDef] | None:
    try:
        fd = os.open(_entry(key), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if (not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid()
                    or st.st_mode & 0o022 or st.st_size > MAX_ENTRY_BYTES):
                return None
            doc = json.loads(fh.read())
            if not isinstance(doc, dict) or doc.get("key") != key:
                return None
            checks = decode(doc["checks"])
            with contextlib.suppress(OSError, NotImplementedError):
                os.utime(fh.fileno())  # most recently used: kept when other installations prune
            return checks
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write(key: str, checks: list[CheckDef]) -> None:
    encoded = encode(checks)
    try:
        if decode(json.loads(json.dumps(encoded))) != checks:
            return  # something JSON cannot hold: not cached, loaded from YAML every time
        data = json.dumps({"key": key, "checks": encoded}, separators=(",", ":")).encode()
        entry = _entry(key)
        fsutil.atomic_write(entry, data)
        _prune(entry.parent)
    except (OSError, ValueError, TypeError, fsutil.OutputRefused):
        return


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("packs-*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for old in entries[KEEP:]:
        with contextlib.suppress(OSError):
            old.unlink()


# --------------------------------------------------------------------------- JSON form


def encode(checks: list[CheckDef]) -> list[dict[str, Any]]:
    return [_encode_value(c) for c in checks]


def _encode_value(value: Any) -> Any:
    if isinstance(value, Severity):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode_value(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_encode_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode_value(v) for k, v in value.items()}
    return value


def decode(items: list[dict[str, Any]]) -> list[CheckDef]:
    return [_decode_check(item) for item in items]


_TUPLES = ("references", "tags", "location")


def _decode_check(raw: dict[str, Any]) -> CheckDef:
    fields = dict(raw)
    fields["severity"] = Severity(raw["severity"])
    fields["condition"] = _decode_condition(raw["condition"])
    fields["source"] = SourceRef(**raw["source"])
    if raw.get("overridden"):
        fields["overridden"] = SourceRef(**raw["overridden"])
    fields["compliance"] = {k: tuple(v) for k, v in raw["compliance"].items()}
    for name in _TUPLES:
        fields[name] = tuple(raw[name])
    applies = raw["applies"]
    if applies is not None:
        fields["applies"] = Applicability(
            os_family=tuple(applies["os_family"]),
            os_release=tuple(applies["os_release"]),
            condition=_decode_condition(applies["condition"]) if applies["condition"] else None)
    return CheckDef(**fields)


def _decode_condition(raw: dict[str, Any]) -> Condition:
    return Condition(mode=raw["mode"], items=tuple(
        Assertion(**item) if "fact" in item else _decode_condition(item) for item in raw["items"]))
