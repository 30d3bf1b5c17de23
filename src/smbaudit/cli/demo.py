"""`smbaudit demo PATH`: write a demonstration tree to scan offline."""

from __future__ import annotations

from pathlib import Path

import click

from smbaudit.cli import handle_errors
from smbaudit.demotree import build
from smbaudit.errors import UsageError


@click.command()
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@click.option("--hardened", is_flag=True, help="Write the hardened variant (no known problems).")
@handle_errors
def demo(path: Path, hardened: bool) -> None:
    """Write a deliberately misconfigured (or hardened) Linux config tree to PATH.

    Scan it with: smbaudit scan dir:PATH
    """
    if path.exists() and any(path.iterdir()):
        raise UsageError(f"{path} exists and is not empty; choose a new folder")
    planted = build(path, hardened=hardened)
    kind = "hardened" if hardened else f"misconfigured ({len(planted)} planted problems)"
    click.echo(f"wrote a {kind} demo tree to {path}")
    click.echo(f"scan it with: smbaudit scan dir:{path}")
