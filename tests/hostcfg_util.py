"""Helpers for the host-configuration probe tests: build trees, run probes, snapshot trees."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

from smbaudit.probes.base import ProbeContext
from smbaudit.probes.builtin import builtin_probe_classes
from smbaudit.targets.posixfs import DirectoryTarget


def probe(name: str):
    for cls in builtin_probe_classes():
        if cls.name == name:
            return cls()
    raise KeyError(name)


def ctx() -> ProbeContext:
    return ProbeContext(deadline=time.monotonic() + 30, timeout=5)


def collect(name: str, root: Path, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return probe(name).collect(DirectoryTarget("dir:test", str(root)), params or {}, ctx())


def put(root: Path, path: str, text: str, mode: int = 0o644) -> Path:
    dest = root / path.lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text, encoding="utf-8")
    os.chmod(dest, mode)
    return dest


def link(root: Path, path: str, target: str) -> Path:
    dest = root / path.lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, dest)
    return dest


def snapshot(root: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry under root with its type, mode, mtime and content hash (links: their target)."""
    snap: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(dirpath) / name
            st = p.lstat()
            if p.is_symlink():
                snap[str(p)] = ("link", os.readlink(p))
            elif p.is_dir():
                snap[str(p)] = ("dir", st.st_mode, st.st_mtime_ns)
            else:
                snap[str(p)] = ("file", st.st_mode, st.st_mtime_ns,
                                hashlib.sha256(p.read_bytes()).hexdigest())
    return snap
