"""Where the real upstream files live: `<repo>/../shared` (a worktree kept under
`<repo>/../wt/NAME` sees the same folder one level further up)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def shared_dir(name: str) -> Path:
    for base in (REPO.parent, REPO.parent.parent):
        if (base / "shared" / name).is_dir():
            return base / "shared" / name
    return REPO.parent / "shared" / name
