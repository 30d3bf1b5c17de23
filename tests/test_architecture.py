"""Library confinement: each third-party or risky library has one home (see docs/architecture.md).

The layer order itself is enforced by import-linter (pyproject.toml), run by scripts/test.sh.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "smbaudit"

# library -> module path prefixes (relative to the package) allowed to import it
CONFINED = {
    "click": ("cli/",),
    "yaml": ("yamlload.py",),
    "subprocess": ("runner.py",),
    # targets/ssh.py holds a lock only: paramiko's SFTP client is unsafe for concurrent requests;
    # fleet.py runs one engine per remote host in a bounded pool of host workers;
    # probes/packages.py holds a lock only: probes asking at once wait for one read of the
    # package database
    "threading": ("engine.py", "fleet.py", "cli/", "targets/ssh.py", "probes/packages.py"),
    "concurrent": ("engine.py",),
    "jinja2": ("render/html.py",),
    "nmap": ("targets/network.py", "targets/discovery.py"),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("library", sorted(CONFINED))
def test_library_has_one_home(library: str) -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if library in _imports(path) and not rel.startswith(CONFINED[library]):
            offenders.append(rel)
    assert offenders == [], f"{library} imported outside {CONFINED[library]}: {offenders}"


def test_no_shell_true_anywhere() -> None:
    for path in sorted(PACKAGE.rglob("*.py")):
        assert "shell=True" not in path.read_text(encoding="utf-8"), path
