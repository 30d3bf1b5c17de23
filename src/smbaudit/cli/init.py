"""`smbaudit init`: write a commented starter scan profile."""

from __future__ import annotations

import re
from pathlib import Path

import click

from smbaudit import profile
from smbaudit.cli import handle_errors
from smbaudit.errors import UsageError
from smbaudit.fsutil import atomic_write


@click.command("init")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path),
                default=Path("smbaudit-profile.yaml"))
@click.option("--name", help="Profile name (default: from the file name).")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@handle_errors
def init(path: Path, name: str | None, force: bool) -> None:
    """Write a commented starter scan profile to PATH (default: smbaudit-profile.yaml).

    Edit it, then run: smbaudit scan --profile PATH -q
    """
    if path.exists() and not force:
        raise UsageError(f"{path} exists; choose another name or pass --force")
    name = name or re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem) or "default"
    atomic_write(path, profile.starter(name, path.name).encode(), mode=0o600)
    profile.load(path)  # the starter must always be a valid profile
    click.echo(f"wrote {path}; edit it, then run: smbaudit scan --profile {path} -q")
