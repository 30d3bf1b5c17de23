"""`smbaudit vulndb`: build, inspect and carry the local vulnerability store."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from smbaudit.cli import handle_errors
from smbaudit.cli.options import choice
from smbaudit.vulndb import build, feeds, update as updating
from smbaudit.vulndb.errors import VulnDBError
from smbaudit.vulndb.fetch import Limits
from smbaudit.vulndb.status import store_status
from smbaudit.sections import VulnDataSection
from smbaudit.vulndb.store import days_since, default_path

vulndb_option = click.option(
    "--vulndb", "db", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Vulnerability store (SQLite). Default: vulndb.sqlite in the user data folder.")


@click.group("vulndb")
def vulndb() -> None:
    """The local vulnerability store (Debian, Ubuntu, RHEL-family and Alpine advisories)."""


class _ProgressBar:
    """Download progress on stderr: a bar redrawn in place on a terminal, else one line at the
    start and one at the end of each feed."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.started: dict[str, float] = {}
        self.drawn = 0.0

    def __call__(self, name: str, done: int, total: int | None, finished: bool) -> None:
        now = time.monotonic()
        if name not in self.started:
            self.started[name] = now
            if not self.tty and not finished:
                click.echo(f"{name}: downloading", err=True)
        if finished:
            took = now - self.started[name]
            what = "not modified" if done == 0 and total == 0 else f"{_mb(done)} in {took:.1f} s"
            click.echo(f"\r{name}: {what}\033[K" if self.tty else f"{name}: {what}", err=True)
            return
        if self.tty and now - self.drawn >= 0.2:
            self.drawn = now
            if total:
                width = 30
                filled = int(width * done / total)
                bar = f"[{'#' * filled}{'.' * (width - filled)}] {_mb(done)} of {_mb(total)}"
            else:
                bar = _mb(done)
            click.echo(f"\r{name}: {bar}\033[K", err=True, nl=False)


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.1f} kB"


@vulndb.command("update")
@click.option("--source", "sources", multiple=True, metavar="NAME",
              help="Only this feed (repeatable). Default: every feed; `--list` names them.")
@click.option("--skip", "skip", multiple=True, metavar="NAME",
              help="Leave this feed out (repeatable); the store keeps what it holds of it.")
@click.option("--mirror", envvar="SMBAUDIT_VULNDB_MIRROR", default="", metavar="URL",
              help="Fetch every feed https://HOST/PATH from URL/HOST/PATH instead (a site mirror "
                   "or caching proxy; also $SMBAUDIT_VULNDB_MIRROR).")
@click.option("--url", "urls", multiple=True, metavar="NAME=URL",
              help="Fetch one feed from this URL (repeatable).")
@click.option("--checksums", envvar="SMBAUDIT_VULNDB_CHECKSUMS", default="", metavar="URL",
              help="A sha256sum list (e.g. the mirror's SHA256SUMS): every feed fetched must be "
                   "in it with that sha256 (also $SMBAUDIT_VULNDB_CHECKSUMS).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds to connect, and the longest wait for the next bytes.")
@click.option("--max-time", type=click.FloatRange(min=1), default=1800.0, show_default=True,
              help="Seconds one feed's download may take.")
@click.option("--max-size", type=click.IntRange(min=1), default=2048, show_default=True,
              help="MB one feed may weigh as sent.")
@click.option("--allow-shrink", is_flag=True,
              help="Accept a feed with less than half the records the store holds for it.")
@click.option("--list", "list_", is_flag=True, help="List the feeds and their URLs, fetch nothing.")
@vulndb_option
@handle_errors
def update(sources: tuple[str, ...], skip: tuple[str, ...], mirror: str, urls: tuple[str, ...],
           checksums: str, timeout: float, max_time: float, max_size: int, allow_shrink: bool, list_: bool,
           db: Path | None) -> None:
    """Download the distributions' advisory feeds and swap a new store in.

    \b
    All or nothing: every feed is downloaded, verified (HTTP status, length, the checksum the
    publisher gives, https never downgraded) and parsed before a new store is built beside the
    old one and swapped in. Any failure (not found, cut short, corrupt, no route, timeout)
    leaves the previous store as it was and says why in one line (exit 2). A feed the store
    already holds is asked for only if changed (ETag / Last-Modified).
    """
    chosen = feeds.select(list(sources), feeds.parse_url_options(urls), mirror, list(skip))
    if list_:
        for f in chosen:
            click.echo(f"{f.name:<16} {f.url}\n{'':<16} {f.what}")
        return
    dest = db or default_path()
    limits = Limits(timeout=timeout, max_seconds=max_time, max_bytes=max_size * 1024 * 1024)
    replaced = updating.unreadable(dest)
    if replaced:
        click.echo(f"smbaudit: {replaced}: a new store is built in its place", err=True)
    try:
        if checksums:
            feeds.check_url(checksums, "--checksums")
        results = updating.update(dest, chosen, limits, _ProgressBar(), allow_shrink, checksums)
    except VulnDBError as exc:
        raise type(exc)(f"update failed, the store is unchanged: {exc}") from None
    for r in results:
        if r.not_modified:
            click.echo(f"{r.name}: not modified since the last update ({r.records} records kept)")
        else:
            checks = f"; verified: {', '.join(r.verified)}" if r.verified else ""
            click.echo(f"{r.name}: {r.records} records, {r.size} bytes, sha256 {r.sha256}{checks}")
    click.echo(f"store: {dest}")


@vulndb.command("import")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--sha256", default="", metavar="HEX",
              help="Import only if the one file given has this sha256 (as `export` prints it).")
@vulndb_option
@handle_errors
def import_(paths: tuple[Path, ...], sha256: str, db: Path | None) -> None:
    """Import advisory files or folders (recognised by content), or a bundle from `export`.

    \b
    Formats: Debian Security Tracker JSON, Debian DSA/DLA lists, OSV records (a file, a folder
    or an osv.dev all.zip), Red Hat CSAF/VEX, Alpine secdb (JSON or YAML); gzip, xz and bzip2
    compressed files too. A feed imported again replaces what it said before.
    """
    dest = db or default_path()
    result = build.import_paths(dest, list(paths), sha256)
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
@click.option("-f", "--format", "fmt", type=choice(["text", "json"]), default="text",
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
    click.echo(f"{'SOURCE':<40} {'RECORDS':>8}  {'FETCHED (UTC)':<19}  {'NEWEST RECORD':<13}  AGE")
    for s in st.sources:
        age = days_since(s.newest or s.fetched_at)
        click.echo(f"{s.name[:40]:<40} {s.records:>8}  {s.fetched_at[:19].replace('T', ' '):<19}  "
                   f"{s.newest or '-':<13}  {'-' if age is None else f'{age} d'}")
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
    click.echo(f"at the other site: smbaudit vulndb import {file.name} --sha256 {digest}")


def echo_status(section: VulnDataSection | None, err: bool) -> None:
    """Say once, after the scan, when the data is missing or getting old."""
    if section and section.freshness != "current":
        click.echo(f"smbaudit: {section.message}", err=err)
