"""`smbaudit vulndb`: build, inspect and carry the local vulnerability store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from smbaudit.cli import handle_errors
from smbaudit.cli.options import choice
from smbaudit.vulndb import build
from smbaudit.vulndb.status import store_status
from smbaudit.vulndb.store import default_path

vulndb_option = click.option(
    "--vulndb", "db", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Vulnerability store (SQLite). Default: vulndb.sqlite in the user data folder.")


@click.group("vulndb")
def vulndb() -> None:
    """The local vulnerability store (Debian, Ubuntu, RHEL-family and Alpine advisories)."""


@vulndb.command("import")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@vulndb_option
@handle_errors
def import_(paths: tuple[Path, ...], db: Path | None) -> None:
    """Import advisory files or folders (recognised by content), or a bundle from `export`.

    \b
    Formats: Debian Security Tracker JSON, Debian DSA/DLA lists, OSV records (a file, a folder
    or an osv.dev all.zip), Red Hat CSAF/VEX, Alpine secdb (JSON or YAML); gzip, xz and bzip2
    compressed files too. A feed imported again replaces what it said before.
    """
    dest = db or default_path()
    result = build.import_paths(dest, list(paths))
    if result.bundle:
        click.echo(f"store {dest} replaced by the bundle {result.bundle}")
        return
    for feed in result.feeds:
        extra = f", {feed.skipped} entries of other ecosystems skipped" if feed.skipped else ""
        click.echo(f"{feed.source.name}: {feed.source.records} records ({feed.source.format}"
                   f"{extra})")
    if result.skipped_files:
        click.echo(f"{len(result.skipped_files)} file(s) not in a known format, skipped: "
                   + ", ".join(result.skipped_files[:5])
                   + (" ..." if len(result.skipped_files) > 5 else ""))
    click.echo(f"store: {dest}")


@vulndb.command("status")
@click.option("--format", "fmt", type=choice(["text", "json"]), default="text",
              show_default=True)
@vulndb_option
@handle_errors
def status(fmt: str, db: Path | None) -> None:
    """Sources, dates, record counts, covered releases and the data's age."""
    st = store_status(db or default_path())
    if fmt == "json":
        click.echo(json.dumps(st.to_dict(), indent=2))
        return
    click.echo(st.message())
    if not st.usable:
        return
    click.echo(f"store: {st.path} (built {st.built_at})")
    click.echo(f"{'SOURCE':<40} {'RECORDS':>8}  {'FETCHED (UTC)':<19}  NEWEST RECORD")
    for s in st.sources:
        click.echo(f"{s.name[:40]:<40} {s.records:>8}  {s.fetched_at[:19].replace('T', ' '):<19}  "
                   f"{s.newest or '-'}")
    click.echo("covered releases: " + ", ".join(
        f"{c.distro} {c.release}{f' ({c.channel})' if c.channel else ''}" for c in st.coverage))


@vulndb.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@vulndb_option
@handle_errors
def export(file: Path, db: Path | None) -> None:
    """Write the store to FILE, to carry to a site with no internet (`vulndb import FILE`)."""
    digest = build.export_bundle(db or default_path(), file)
    click.echo(f"{file}: sha256 {digest}")


def echo_status(section: dict[str, Any] | None, err: bool) -> None:
    """Say once, after the scan, when the data is missing or getting old."""
    if section and section["freshness"] != "current":
        click.echo(f"smbaudit: {section['message']}", err=err)
