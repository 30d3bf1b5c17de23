"""Which files are check packs: the YAML files under the folders and files given."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from smbaudit.errors import FieldError, InputFileError

DATA_DIR_NAME = "data"  # checks/data/ holds tables probes read, not check packs


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """YAML files under the given files/folders, in a stable order."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                rel_parts = f.relative_to(p).parts
                if f.suffix in (".yaml", ".yml") and f.is_file() and DATA_DIR_NAME not in rel_parts[:-1]:
                    files.append(f)
        elif p.exists():
            files.append(p)
        else:
            raise InputFileError([FieldError(str(p), None, "", "no such file or folder")])
    return files
