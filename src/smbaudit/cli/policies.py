"""`smbaudit policies list|show|coverage|questionnaire|review`: regulation catalogs and coverage.

`coverage` works from documents and attestations alone (no host needed), for reviews that
happen before any server exists.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from smbaudit import __version__
from smbaudit.cli import handle_errors
from smbaudit.cli.options import format_option, output_option, write_output
from smbaudit import pipeline
from smbaudit.errors import UsageError
from smbaudit.sections import FrameworkSection
from smbaudit.textsafe import visible

if TYPE_CHECKING:  # the compliance modules load when a policies command runs, not for `scan`
    from smbaudit.compliance.model import Catalog, FrameworkCoverage

STATUS_MARK = {"met": "MET", "partial": "PARTIAL", "not_met": "NOT MET",
               "not_assessed": "not assessed", "not_applicable": "n/a"}


def _catalogs(policy_dirs: tuple[str, ...]) -> dict[str, Catalog]:
    from smbaudit.compliance.catalog import load_catalogs

    return load_catalogs(list(policy_dirs) or None)


_framework = pipeline.framework


_reviews_opt = click.option(
    "--reviews", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Auditor review file (smbaudit policies review) applied to document decisions.")
_policies_opt = click.option("--policies", "policy_dirs", multiple=True,
                             type=click.Path(exists=True),
                             help="Load regulation catalogs from this folder instead of the shipped ones.")


@click.group()
def policies() -> None:
    """Regulation catalogs (HIPAA, GDPR, CCPA) and coverage from documents and attestations."""


@policies.command("list")
@_policies_opt
@handle_errors
def list_frameworks(policy_dirs: tuple[str, ...]) -> None:
    """One framework per line: key, requirement count, name and version."""
    for key, cat in sorted(_catalogs(policy_dirs).items()):
        click.echo(f"{key:<8} {len(cat.requirements):>3} requirements  {cat.name} ({cat.version})")


@policies.command("show")
@click.argument("framework")
@click.argument("requirement", required=False)
@_policies_opt
@handle_errors
def show(framework: str, requirement: str | None, policy_dirs: tuple[str, ...]) -> None:
    """List a framework's requirements, or everything about one requirement."""
    from smbaudit.compliance.model import EvidenceKind

    cat = _framework(_catalogs(policy_dirs), framework)
    if requirement is None:
        width = max(len(r.id) for r in cat.requirements)
        for r in cat.requirements:
            click.echo(f"{r.id:<{width}}  {r.obligation.value:<11} {r.kind.value:<14} {r.title}")
        return
    found = cat.get(requirement)
    if found is None:
        raise UsageError(f"unknown {cat.label} requirement {requirement!r}")
    r = found
    click.echo(f"{cat.label} {r.citation}: {r.title}")
    click.echo(f"  section: {r.section}   kind: {r.kind.value}   obligation: {r.obligation.value}")
    if r.parent:
        click.echo(f"  part of: {r.parent}")
    click.echo(f"  defined in: {r.source}")
    if r.description:
        click.echo("\n" + click.wrap_text(r.description, initial_indent="  ", subsequent_indent="  "))
    click.echo("\nEvidence that can satisfy it:")
    for spec in r.evidence:
        need = "required" if spec.required else "optional"
        if spec.kind is EvidenceKind.CHECK:
            click.echo(f"  - checks mapped to {r.id} ({need}; any FAIL means not met)")
        elif spec.kind is EvidenceKind.POLICY:
            click.echo(f"  - policy documents stating ({need}):")
            for el in spec.elements:
                click.echo(f"      {el.id}: {el.label}")
        else:
            click.echo(f"  - attestation ({need}):")
            for it in spec.attestations:
                click.echo(f"      {it.id}: {it.question}")


@policies.command("questionnaire")
@click.option("--framework", "frameworks", multiple=True, required=True,
              help="Framework to ask about (repeatable): hipaa, gdpr, ccpa.")
@output_option("questionnaire")
@_policies_opt
@handle_errors
def questionnaire(frameworks: tuple[str, ...], output: str | None,
                  policy_dirs: tuple[str, ...]) -> None:
    """Write a YAML questionnaire of what no scan can observe (answer it, then pass it back)."""
    from smbaudit.compliance import attestations as attest

    catalogs = _catalogs(policy_dirs)
    chosen = [_framework(catalogs, f).framework for f in frameworks]
    text = attest.dump_questionnaire(attest.questionnaire(catalogs, chosen))
    written = write_output(text.encode("utf-8"), output, "questionnaire", "yaml")
    if written:
        click.echo(f"questionnaire written to {written}", err=True)


@policies.command("coverage")
@click.option("--framework", "frameworks", multiple=True,
              help="Framework to report (repeatable; default: all).")
@click.option("--evidence", "evidence_dirs", multiple=True,
              type=click.Path(exists=True, path_type=Path),
              help="Folder (or file) of policy documents: .md .txt .html .pdf .docx (repeatable).")
@click.option("--attestations", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="An answered questionnaire (smbaudit policies questionnaire).")
@_reviews_opt
@format_option(["text", "json", "html"])
@output_option("coverage")
@click.option("-v", "--verbose", is_flag=True, help="Text format: show evidence and gaps.")
@_policies_opt
@handle_errors
def coverage(frameworks: tuple[str, ...], evidence_dirs: tuple[Path, ...],
             attestations: Path | None, reviews: Path | None, fmt: str, output: str | None,
             verbose: bool, policy_dirs: tuple[str, ...]) -> None:
    """Coverage from documents and attestations alone (no host needed)."""
    from smbaudit.compliance.coverage import assess

    results = assess(_catalogs(policy_dirs), list(frameworks), [], list(evidence_dirs),
                     attestations, dt.date.today(), reviews)
    if fmt == "json":
        data = {"smbaudit_version": __version__, "generated": dt.date.today().isoformat(),
                "compliance": [r.to_dict() for r in results]}
        body = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    elif fmt == "html":
        from smbaudit.render.html import render_compliance_html

        body = render_compliance_html(results)
    else:
        body = "\n".join(text_report(r, verbose) for r in results)
    if not body.endswith("\n"):
        body += "\n"
    written = write_output(body.encode("utf-8"), output, "coverage", fmt)
    if written:
        click.echo(f"coverage report written to {written}", err=True)
    for problem in results[0].problems if results else []:
        click.echo(f"smbaudit: warning: {visible(problem)}", err=True)


@policies.command("review")
@click.option("--evidence", "evidence_dirs", multiple=True, required=True,
              type=click.Path(exists=True, path_type=Path),
              help="Folder (or file) of policy documents (repeatable).")
@click.option("--framework", "frameworks", multiple=True,
              help="Framework to review (repeatable; default: all).")
@click.option("--reviews", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Review file to read and extend (created if missing).")
@click.option("--all", "include_all", is_flag=True,
              help="List every decision resting on a passage, not only those needing review.")
@click.option("--confirm", "confirm_ids", multiple=True, metavar="ID",
              help="Confirm the decision with this id (repeatable).")
@click.option("--reject", "reject_ids", multiple=True, metavar="ID",
              help="Reject the passage behind this decision (repeatable).")
@click.option("--by", "reviewed_by", default="", help="Who reviews (required to decide).")
@click.option("--reason", default="", help="Why (required to decide).")
@_policies_opt
@handle_errors
def review(evidence_dirs: tuple[Path, ...], frameworks: tuple[str, ...], reviews: Path,
           include_all: bool, confirm_ids: tuple[str, ...], reject_ids: tuple[str, ...],
           reviewed_by: str, reason: str, policy_dirs: tuple[str, ...]) -> None:
    """List document decisions that need an auditor, or confirm / reject them by id."""
    from smbaudit.compliance import reviews as review_file
    from smbaudit.compliance.coverage import assess

    results = assess(_catalogs(policy_dirs), list(frameworks), [], list(evidence_dirs), None,
                     dt.date.today(), reviews)
    items = {p.id: p for p in review_file.queue(results, include_all=True)}
    wanted = [(i, review_file.Decision.CONFIRMED) for i in confirm_ids] + [
        (i, review_file.Decision.REJECTED) for i in reject_ids]
    unknown = [i for i, _ in wanted if i not in items]
    if unknown:
        raise UsageError(f"no decision with id {unknown[0]!r} (list them with "
                         "smbaudit policies review --all)")
    for i, decision in wanted:
        entry = review_file.review(reviews, items[i], decision, reviewed_by, reason)
        click.echo(f"{i}: {entry.note} ({items[i].framework.upper()} {items[i].requirement} "
                   f"{items[i].element}) -> {reviews}")
    if wanted:
        return
    shown = review_file.queue(results, include_all)
    for p in shown:
        state = (f"reviewed: {p.reviewed}" if p.reviewed else
                 f"needs review (confidence {p.confidence:.2f})" if p.needs_review else
                 f"covered (confidence {p.confidence:.2f})")
        cite = f" ({p.citation})" if p.citation else ""
        click.echo(f"{p.id}  {p.framework.upper()} {p.requirement} {p.element}{cite}: {state}\n"
                   f"            {p.source}: \"{_clip(p.quote)}\"")
    click.echo(f"{len(shown)} decision(s)" + ("" if include_all else " need review") +
               "; confirm or reject with --confirm/--reject ID --by NAME --reason TEXT", err=True)
    for problem in results[0].problems if results else []:
        click.echo(f"smbaudit: warning: {visible(problem)}", err=True)


def _clip(text: str, width: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def summary_lines(cov: FrameworkCoverage) -> list[str]:
    """The framework summary as the terminal shows it (also used by `scan`)."""
    s = cov.summary
    counts = "  ".join(f"{STATUS_MARK[k]} {s.counts.get(k, 0)}"
                       for k in ("met", "partial", "not_met", "not_assessed", "not_applicable"))
    return [f"{cov.catalog.label}: {s.line}", f"  {counts}"]


def text_report(cov: FrameworkCoverage, verbose: bool = False) -> str:
    from smbaudit.compliance.model import EvidenceKind, Status

    lines = summary_lines(cov)
    width = max(len(r.requirement.id) for r in cov.requirements)
    for r in cov.requirements:
        lines.append(f"  {STATUS_MARK[r.status.value]:<12} {r.requirement.id:<{width}}  "
                     f"{r.requirement.title}")
        if verbose and r.status is not Status.NOT_ASSESSED:
            for e in r.evidence:
                mark = "+" if e.ok else "-"
                note = (f" ({e.detail.split(' ', 1)[1].strip('()')})"
                        if e.kind is EvidenceKind.POLICY and " (" in e.detail else "")
                lines.append(f"      {mark} [{e.kind.value}] {e.source}: {e.quote}{note}")
            for m in r.missing:
                lines.append(f"      missing: {m}")
    if cov.documents:
        lines.append(f"  documents read: {', '.join(cov.documents)}")
    for problem in cov.problems:
        lines.append(f"  not read: {problem}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- for `smbaudit scan`


def scan_options(func):  # type: ignore[no-untyped-def]
    """The --framework / --evidence / --attestations options `scan` shares with `coverage`."""
    func = _reviews_opt(func)
    func = click.option("--attestations", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                        help="Answered compliance questionnaire (smbaudit policies questionnaire).")(func)
    func = click.option("--evidence", "evidence_dirs", multiple=True,
                        type=click.Path(exists=True, path_type=Path),
                        help="Folder of policy documents as compliance evidence (repeatable).")(func)
    return click.option("--framework", "frameworks", multiple=True,
                        help="Report regulation coverage (repeatable): hipaa, gdpr, ccpa.")(func)


def echo_summaries(compliance: list[FrameworkSection] | None, err: bool = False) -> None:
    for fw in compliance or []:
        click.echo(f"{fw.framework.upper()}: {fw.summary.line}", err=err)
    for problem in compliance[0].problems if compliance else ():
        click.echo(f"smbaudit: warning: {visible(problem)}", err=True)
