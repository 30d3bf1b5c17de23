"""The type checker is part of the suite: mypy, configured in pyproject.toml ([tool.mypy]),
must report nothing on src/ (strict on the typed core listed there)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_mypy_is_clean() -> None:
    try:
        import mypy  # noqa: F401 - only to say how to get it
    except ImportError:  # a test extra: its absence is a broken setup, not a reason to skip
        raise AssertionError("mypy is missing: pip install -e '.[test]'") from None
    result = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary"], cwd=REPO,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
