"""`smbaudit history`, `smbaudit diff` and `smbaudit report`: read the scan history store."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from smbaudit import pipeline
from smbaudit.cli import handle_errors
from smbaudit.errors import OutputError
from smbaudit.fsutil import atomic_write
from smbaudit.render.formats import OutputFormat, renderer
from smbaudit.scoring import score_text
from smbaudit.textsafe import visible

db_option = click.option(
    "--db", type=click.Path(dir_okay=False),
    help="History store (SQLite). Default: history.sqlite3 in the user data folder.")
STATE_LABEL = {"complete": "", "incomplete": "incomplete", "running": "did not finish"}


@click.command("history")
@click.option("--target", help="Only scans that included this target (as it was named).")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@db_option
@handle_errors
def history(target: str | None, limit: int, fmt: str, db: str | None) -> None:
    """List recorded scans, newest first."""
    with pipeline.open_existing_history(db) as store:
        rows = store.list(target=target, limit=limit)
    if fmt == "json":
        click.echo(json.dumps([r.to_dict() for r in rows], indent=2))
        return
    if not rows:
        click.echo("no scans recorded" + (f" for {target}" if target else ""))
        return
    click.echo(f"{'SCAN':<12}  {'STARTED (UTC)':<19}  {'SCORE':>5} GRADE  {'FAIL':>4} {'PASS':>4} "
               f"{'ERR':>3}  TARGETS")
    for r in rows:
        score = f"{r.score:5.0f}" if r.score is not None else "    -"
        grade = (r.grade or "-")[:5]
        c = r.counts
        note = STATE_LABEL[r.state]
        click.echo(f"{r.scan_id[:12]:<12}  {r.started_at[:19].replace('T', ' '):<19}  {score} "
                   f"{grade:<5}  {c.get('fail', 0):>4} {c.get('pass', 0):>4} {c.get('error', 0):>3}"
                   f"  {', '.join(r.targets)}{f'  ({note})' if note else ''}")


def _print_diff(d: dict[str, Any]) -> None:
    o, n = d["old_scan"], d["new_scan"]
    change = d["score_change"]
    click.echo(f"{o['scan_id'][:12]} ({o['started_at'][:16]}) -> {n['scan_id'][:12]} "
               f"({n['started_at'][:16]}): {', '.join(n['targets'])}")
    moved = "not comparable" if change is None else f"{'+' if change > 0 else ''}{change:g}"
    click.echo(f"Risk score {score_text(o['score'])} ({o['grade']}) -> {score_text(n['score'])} "
               f"({n['grade']}): {moved}")
    for note in d["notes"]:
        click.secho(f"! {visible(note)}", fg="yellow")
    labels = [("new", "New"), ("regressed", "Regressed"), ("resolved", "Resolved"),
              ("unchanged", "Unchanged"), ("not_reassessed", "Not re-assessed")]
    for key, label in labels:
        entries = d[key]
        click.echo(f"\n{label}: {len(entries)}")
        for e in entries:
            extra = ""
            if key == "regressed" and e["old_severity"] and e["old_severity"] != e["severity"]:
                extra = f" (was {e['old_severity']})"
            elif key == "not_reassessed":
                extra = f" (now {e['new_status'] or 'not run'})"
            waived = " [accepted risk]" if e["waived"] else ""
            click.echo(visible(f"  {e['severity']:<8} {e['check_id']} on {e['target']}: "
                               f"{e['title']}{extra}{waived}"))


@click.command("diff")
@click.argument("old", required=False)
@click.argument("new", required=False)
@click.option("--target", help="With no scan ids: the last two scans that included this target.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@db_option
@handle_errors
def diff(old: str | None, new: str | None, target: str | None, fmt: str, db: str | None) -> None:
    """Show what changed between two scans (default: the last two of the same targets).

    \b
    new        failing now, not failing before
    regressed  severity went up, or failing again after it had been resolved
    resolved   failing before, passing (or no longer applicable) now
    unchanged  failing in both
    """
    result = pipeline.stored_diff(db, old, new, target).to_dict()
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
    else:
        _print_diff(result)


@click.command("report")
@click.argument("scan_id")
@click.option("-f", "--format", "fmt", type=click.Choice([f.value for f in OutputFormat]),
              default="html", show_default=True)
@click.option("-o", "--output", help="File to write (default: standard output).")
@click.option("--sarif-base", default="", metavar="PATH",
              help="SARIF: the repository folder that holds the scanned dir: tree.")
@db_option
@handle_errors
def report(scan_id: str, fmt: str, output: str | None, sarif_base: str, db: str | None) -> None:
    """Render a stored scan again, in any report format."""
    stored = pipeline.stored_report(db, scan_id)
    stored.sarif_base = sarif_base
    rendered = renderer(OutputFormat(fmt))(stored)
    if output and output != "-":
        try:
            atomic_write(output, rendered)
        except OSError as exc:
            raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from None
    else:
        sys.stdout.buffer.write(rendered)
        sys.stdout.flush()
