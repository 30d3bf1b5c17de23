"""`smbaudit history`, `smbaudit diff` and `smbaudit report`: read the scan history store."""

from __future__ import annotations

import json
from typing import Any

import click

from smbaudit import pipeline
from smbaudit.cli import handle_errors
from smbaudit.cli.options import (format_option, output_option, refuse_binary_on_terminal,
                                  write_output)
from smbaudit.history import DiffEntry, HistoryStore, ScanDiff
from smbaudit.render.formats import OutputFormat, renderer
from smbaudit.scoring import score_text
from smbaudit.textsafe import visible

db_option = click.option(
    "--db", type=click.Path(dir_okay=False),
    help="History store (SQLite). Default: history.sqlite3 in the user data folder.")
STATE_LABEL = {"complete": "", "incomplete": "incomplete", "running": "did not finish"}


@click.command("history")
@click.option("--target", help="Only scans that included this target (as it was named); for a "
              "scan of several hosts, the row gives that host's own score, grade and counts.")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@format_option(["text", "json"])
@output_option("history")
@db_option
@handle_errors
def history(target: str | None, limit: int, fmt: str, output: str | None,
            db: str | None) -> None:
    """List recorded scans, newest first."""
    covered: dict[str, int] = {}  # scan id -> targets it covered, with --target
    if not HistoryStore(db).path.exists():
        rows = []  # nothing recorded yet is not an error
    elif target:  # a host of a fleet scan gets its own score, grade and counts
        pairs = pipeline.host_history(db, target, limit)
        rows = [r for r, _ in pairs]
        covered = {r.scan_id: n for r, n in pairs}
    else:
        with pipeline.open_existing_history(db) as store:
            rows = store.list(target=target, limit=limit)
    if fmt == "json":
        body = json.dumps([r.to_dict() for r in rows], indent=2) + "\n"
    elif not rows:
        body = "no scans recorded yet" + (f" for {target}" if target else "") + "\n"
    else:
        lines = [f"{'SCAN':<12}  {'STARTED (UTC)':<19}  {'SCORE':>5} GRADE  {'FAIL':>4} "
                 f"{'PASS':>4} {'ERR':>3}  TARGETS"]
        for r in rows:
            score = f"{r.score:5.0f}" if r.score is not None else "    -"
            grade = (r.grade or "-")[:5]
            c = r.counts
            note = STATE_LABEL[r.state]
            if covered.get(r.scan_id, 1) > 1:
                note = ", ".join(filter(None, [note, f"one of {covered[r.scan_id]} targets"]))
            lines.append(visible(
                f"{r.scan_id[:12]:<12}  {r.started_at[:19].replace('T', ' '):<19}  {score} "
                f"{grade:<5}  {c.get('fail', 0):>4} {c.get('pass', 0):>4} {c.get('error', 0):>3}"
                f"  {', '.join(r.targets)}{f'  ({note})' if note else ''}"))
        body = "\n".join(lines) + "\n"
    _emit(body, output, "history", fmt)


def _emit(body: str, output: str | None, name: str, fmt: str) -> None:
    written = write_output(body.encode("utf-8"), output, name, fmt)
    if written:
        click.echo(f"written to {written}", err=True)


def _diff_text(d: ScanDiff) -> str:
    lines: list[str] = []
    o, n = d.old_scan, d.new_scan
    change = d.score_change
    lines.append(f"{o.scan_id[:12]} ({o.started_at[:16]}) -> {n.scan_id[:12]} "
                 f"({n.started_at[:16]}): {', '.join(n.targets)}")
    moved = "not comparable" if change is None else f"{'+' if change > 0 else ''}{change:g}"
    lines.append(f"Risk score {score_text(o.score)} ({o.grade}) -> "
                 f"{score_text(n.score)} ({n.grade}): {moved}")
    for note in d.notes:
        lines.append(f"! {note}")
    labels = [("new", "New"), ("regressed", "Regressed"), ("resolved", "Resolved"),
              ("unchanged", "Unchanged"), ("not_reassessed", "Not re-assessed")]
    for key, label in labels:
        entries: list[DiffEntry] = getattr(d, key)
        lines += ["", f"{label}: {len(entries)}"]
        for e in entries:
            extra = ""
            if key == "regressed" and e.old_severity and e.old_severity != e.severity:
                extra = f" (was {e.old_severity.value})"
            elif key == "not_reassessed":
                extra = f" (now {e.new_status.value if e.new_status else 'not run'})"
            waived = " [accepted risk]" if e.waived else ""
            lines.append(f"  {e.severity.value:<8} {e.check_id} on {e.target}: "
                         f"{e.headline}{extra}{waived}")
    return "\n".join(visible(line) for line in lines) + "\n"


@click.command("diff")
@click.argument("old", required=False)
@click.argument("new", required=False)
@click.option("--target", help="With no scan ids: the last two scans that included this target "
              "(one host of a fleet scan: compared on that host alone).")
@format_option(["text", "json"])
@output_option("diff")
@db_option
@handle_errors
def diff(old: str | None, new: str | None, target: str | None, fmt: str, output: str | None,
         db: str | None) -> None:
    """Show what changed between two scans (default: the last two of the same targets).

    \b
    new        failing now, not failing before
    regressed  severity went up, or failing again after it had been resolved
    resolved   failing before, passing (or no longer applicable) now
    unchanged  failing in both
    """
    result = pipeline.stored_diff(db, old, new, target)
    body = json.dumps(result.to_dict(), indent=2) + "\n" if fmt == "json" else _diff_text(result)
    _emit(body, output, "diff", fmt)


@click.command("report")
@click.argument("scan_id")
@format_option([f.value for f in OutputFormat], default="html")
@output_option("report")
@click.option("--sarif-base", default="", metavar="PATH",
              help="SARIF: the repository folder that holds the scanned dir: tree.")
@db_option
@handle_errors
def report(scan_id: str, fmt: str, output: str | None, sarif_base: str, db: str | None) -> None:
    """Render a stored scan again, in any report format."""
    stored = pipeline.stored_report(db, scan_id)
    stored.sarif_base = sarif_base
    if output in (None, "-"):
        refuse_binary_on_terminal(fmt)  # before the work of rendering
    rendered = renderer(OutputFormat(fmt))(stored)
    written = write_output(rendered, output, "report", fmt)
    if written:
        click.echo(f"written to {written}", err=True)
