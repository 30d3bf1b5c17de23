"""`smbaudit checks list|show|validate`."""

from __future__ import annotations

from pathlib import Path

import click

from smbaudit.cli import handle_errors
from smbaudit.cli.options import choice
from smbaudit.catalog import load_catalog
from smbaudit.models import CATEGORIES
from smbaudit.packs import loader, registry
from smbaudit.textsafe import visible


@click.group()
def checks() -> None:
    """List, show and validate checks."""


@checks.command("list")
@click.option("--category", type=choice(CATEGORIES), help="Only this category.")
@click.option("--checks", "check_paths", multiple=True, type=click.Path(exists=True),
              help="Also load check packs from this file or folder.")
@handle_errors
def list_checks(category: str | None, check_paths: tuple[str, ...]) -> None:
    """One check per line: id, severity, title."""
    catalog = load_catalog(check_paths)
    rows = [c for c in catalog.checks if not category or c.category == category]
    width = max((len(c.id) for c in rows), default=10)
    for c in sorted(rows, key=lambda c: c.id):
        click.echo(f"{c.id:<{width}}  {c.severity.value:<8}  {c.title}")


@checks.command("show")
@click.argument("check_id")
@click.option("--checks", "check_paths", multiple=True, type=click.Path(exists=True))
@handle_errors
def show_check(check_id: str, check_paths: tuple[str, ...]) -> None:
    """Everything about one check: what, why, how to fix, where it is defined."""
    c = registry.by_id(load_catalog(check_paths).checks, check_id)
    click.echo(f"{c.id}: {c.title}")
    click.echo(f"  severity: {c.severity.value}   category: {c.category}   probe: {c.probe}")
    if c.applies and (c.applies.os_family or c.applies.os_release):
        click.echo(f"  applies to: {', '.join(c.applies.os_family + c.applies.os_release)}")
    click.echo(f"  defined in: {c.source}"
               + (f" (overrides {c.overridden})" if c.overridden else ""))
    for label, text in (("Description", c.description), ("Rationale", c.rationale),
                        ("Remediation", c.remediation)):
        click.echo(f"\n{label}:\n" + click.wrap_text(text, initial_indent="  ",
                                                    subsequent_indent="  ", preserve_paragraphs=True))
    if c.compliance:
        click.echo("\nCompliance:")
        for fw, ids in c.compliance.items():
            click.echo(f"  {fw}: {', '.join(ids)}")
    if c.references:
        click.echo("\nReferences:")
        for r in c.references:
            click.echo(f"  - {r}")


@checks.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@handle_errors
def validate(paths: tuple[str, ...]) -> None:
    """Validate check pack files or folders; every problem is listed with file:line [field].

    Also checks their ids against the built-in packs: a check with the id of a shipped one is
    an error unless it says `overrides: true` (in the check or its pack), and then it replaces
    the shipped check. The shipped folder itself validates as it is.
    """
    files = {f.resolve() for f in loader.discover(paths)}
    catalog = load_catalog(paths)
    mine = [c for c in catalog.checks if Path(c.source.path).resolve() in files]
    click.echo(f"ok: {len(mine)} check(s) valid in {len(files)} file(s)")
    for c in mine:
        if c.overridden is not None:
            click.echo(visible(f"  {c.id} ({c.source}) overrides {c.overridden}"))
