"""Small writers shared by the demo-tree areas."""

from __future__ import annotations

import os
from pathlib import Path


def write(root: Path, path: str, text: str, mode: int = 0o644) -> Path:
    """Write `text` at target path `path` under root, with `mode` (uid/gid stay the builder's)."""
    dest = root / path.lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text, encoding="utf-8")
    os.chmod(dest, mode)
    return dest


def append(root: Path, path: str, text: str) -> Path:
    dest = root / path.lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("a", encoding="utf-8") as fh:
        fh.write(text)
    return dest
