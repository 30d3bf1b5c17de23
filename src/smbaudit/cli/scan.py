"""`smbaudit scan`: targets -> checks -> engine -> score -> reports -> exit code."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import click

from smbaudit import engine
from smbaudit import report as report_mod
from smbaudit.cli import EXIT_CODES_HELP, handle_errors, periodic, policies
from smbaudit.cli.catalog import load_catalog
from smbaudit.cli.progress import ProgressBar
from smbaudit.cli.summary import print_summary
from smbaudit.errors import (
    EXIT_FINDINGS,
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    OutputError,
    UsageError,
)
from smbaudit import fsutil
from smbaudit.models import Severity, Status, TargetInfo, TargetKind
from smbaudit.packs import cis, registry
from smbaudit.redact import redact_text
from smbaudit.render.formats import DEFAULT_FORMATS, OutputFormat, extension, renderer
from smbaudit.report import Report
from smbaudit.targets.base import Target
from smbaudit.targets.resolve import ResolvedTargets, ResolveOptions, resolve
from smbaudit.targets.ssh import SSHOptions

DEFAULT_OUTPUT_DIR = "smbaudit-report"
FAIL_ON_CHOICES = [s.value for s in Severity] + ["none"]


def plan_network(resolved: ResolvedTargets, options: ResolveOptions) -> None:
    """Network specs become discovery steps the engine runs beside the probes."""
    if not resolved.network_specs:
        return
    from smbaudit import netscan
    from smbaudit.targets import network

    discovery = network.DiscoveryOptions(ports=options.ports, timing=options.timing,
                                         timeout=options.timeout, scan_type=options.scan_type,
                                         version_detection=options.version_detection)
    sources, failed = netscan.plan_sources(resolved.network_specs, discovery)
    resolved.sources = list(sources)
    resolved.not_scanned += netscan.report_hosts(failed, resolved.network_specs)


def network_hosts(resolved: ResolvedTargets, discovered: list[TargetInfo]) -> list[TargetInfo]:
    """Hosts and ports that did not answer, and range summaries, from the discovery steps."""
    if not resolved.network_specs:
        return []
    from smbaudit import netscan

    return netscan.report_hosts(discovered, resolved.network_specs)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (cron, systemd stopping us) is handled like Ctrl-C: keep what was found."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def output_paths(formats: Sequence[OutputFormat], output: str | None) -> dict[OutputFormat, str]:
    """Where each format goes: FILE (or '-') for one format, a folder for several."""
    if output and output != "-" and len(formats) == 1 and not Path(output).is_dir():
        return {formats[0]: output}
    if output == "-":
        if len(formats) != 1:
            raise UsageError("--output - (stdout) takes exactly one --format")
        return {formats[0]: "-"}
    folder = Path(output or DEFAULT_OUTPUT_DIR)
    return {fmt: str(folder / f"report.{extension(fmt)}") for fmt in formats}


def check_outputs(paths: dict[OutputFormat, str]) -> None:
    """Refuse, before scanning, an output path or folder that is a link (fsutil refuses it
    again, race-free, when writing)."""
    for dest in paths.values():
        if dest != "-":
            fsutil.refuse_links(dest)


def write_reports(report: Report, paths: dict[OutputFormat, str], recover: str,
                  shared: bool = False) -> list[str]:
    """Render every format, then write each atomically (private unless `shared`; never
    through a link). An output error is one line that says how to get the report back
    (`recover`)."""
    mode, dir_mode = (fsutil.SHARED_FILE, fsutil.SHARED_DIR) if shared else (
        fsutil.PRIVATE_FILE, fsutil.PRIVATE_DIR)
    rendered = {fmt: renderer(fmt)(report) for fmt in paths}
    written = []
    for fmt, dest in paths.items():
        try:
            if dest == "-":
                sys.stdout.buffer.write(rendered[fmt])
                sys.stdout.flush()
            else:
                fsutil.atomic_write(dest, rendered[fmt], mode=mode, dir_mode=dir_mode)
                written.append(dest)
        except OSError as exc:
            raise OutputError(f"cannot write the report {dest}: {exc.strerror or exc}; "
                              f"{recover}") from None
    return written


def exit_code(report: Report, fail_on: str) -> int:
    """130 interrupted > 1 failures at/above the threshold > 3 errors/unreachable > 0."""
    if not report.complete:
        return EXIT_INTERRUPTED
    if fail_on != "none":
        threshold = Severity(fail_on).rank
        if any(f.severity.rank >= threshold and not (f.waiver and not f.waiver.expired)
               for f in report.failed):
            return EXIT_FINDINGS
    if report.unreachable or any(f.status is Status.ERROR for f in report.findings):
        return EXIT_INCOMPLETE
    return EXIT_OK


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("targets", nargs=-1)
@click.option("--profile", type=click.Path(exists=True, dir_okay=False),
              help="Scan profile (YAML): targets, checks, waivers, outputs, thresholds, "
              "notifications. Flags given here override it. Start one with `smbaudit init`.")
@click.option("-f", "--format", "formats", multiple=True,
              type=click.Choice([f.value for f in OutputFormat]),
              help="Report format (repeatable). Default: html and json.")
@click.option("-o", "--output", help="File for one format ('-' for stdout), folder for several. "
              f"Default: ./{DEFAULT_OUTPUT_DIR}/")
@click.option("--sarif-base", default="", metavar="PATH",
              help="SARIF: the repository folder that holds the scanned dir: tree, put in front "
                   "of every file path (e.g. infra/rootfs).")
@click.option("--share-reports", is_flag=True,
              help="Write reports readable by everyone (files 0644, new folders 0755). Default: "
              "private to the user running the scan (0600 / 0700): reports list weaknesses.")
@click.option("--checks", "check_paths", multiple=True, type=click.Path(exists=True),
              help="Also load check packs from this file or folder (repeatable).")
@click.option("--no-default-checks", is_flag=True, help="Use only the packs given with --checks.")
@click.option("--select", multiple=True, metavar="ID|CATEGORY",
              help="Run only matching checks: id, id glob (ssh.*), category, tag or pack.")
@click.option("--skip", multiple=True, metavar="ID|CATEGORY", help="Do not run matching checks.")
@click.option("--level", type=click.Choice(sorted(cis.LEVELS)), default=None,
              help="Run only the checks of one CIS Benchmark profile level (level 2 includes level 1).")
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES), default="high", show_default=True,
              help="Exit 1 when a failing finding has this severity or higher ('none': never).")
@click.option("--timeout", type=click.FloatRange(0.1, 3600), default=10.0, show_default=True,
              help="Seconds allowed for each connection or command.")
@click.option("--probe-timeout", type=click.FloatRange(1, 86400), default=120.0, show_default=True,
              help="Wall-clock seconds allowed for one probe run; past it its checks are errors.")
@click.option("--jobs", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Probes run at once.")
@click.option("--ports", default="top100", show_default=True,
              help="Network targets: top100, top1000, or a list like 22,443,8000-8100.")
@click.option("--timing", type=click.IntRange(0, 5), default=4, show_default=True,
              help="Network targets: nmap timing template (0 slowest .. 5 fastest).")
@click.option("--scan-type", type=click.Choice(["auto", "connect", "syn"]), default="auto",
              show_default=True, help="Network targets: SYN scan needs root; auto picks.")
@click.option("--version-detection", type=click.Choice(["unknown", "all", "none"]), default="unknown",
              show_default=True, help="Network targets: run nmap -sV on ports smbaudit does not "
              "identify itself (unknown), on every open port (all, slower), or never.")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False),
              help="TLS services: also trust this private CA bundle (PEM) when checking chains.")
@click.option("--ssh-key", type=click.Path(exists=True, dir_okay=False),
              help="ssh:// targets: private key file (default: ssh-agent and ~/.ssh keys; a "
              "password can be given in $SMBAUDIT_SSH_PASSWORD).")
@click.option("--ssh-known-hosts", type=click.Path(exists=True, dir_okay=False),
              help="ssh:// targets: extra known_hosts file to verify host keys against.")
@click.option("--ssh-accept-new-host-key", is_flag=True,
              help="ssh:// targets: trust a host key seen for the first time (nothing is saved).")
@click.option("--plugin", "plugins", multiple=True, metavar="NAME",
              help="Enable an installed third-party probe plugin (repeatable).")
@click.option("--fail-on-new", type=click.Choice([s.value for s in Severity]), default=None,
              help="Exit 1 only when findings new or regressed since the last scan reach this "
              "severity (replaces --fail-on; a first scan counts every failure as new).")
@click.option("--waivers", "waiver_files", multiple=True, type=click.Path(dir_okay=False),
              help="YAML file of accepted risks (repeatable).")
@click.option("--db", type=click.Path(dir_okay=False),
              help="History store (SQLite). Default: history.sqlite3 in the user data folder.")
@click.option("--no-history", is_flag=True, help="Do not record this scan in the history store.")
@click.option("--lock", type=click.Path(dir_okay=False),
              help="Lock file: a second run with the same lock exits 2 without scanning. "
              "With --profile a lock per profile is taken automatically.")
@click.option("--no-lock", is_flag=True, help="Take no lock, even with --profile.")
@click.option("--log-file", type=click.Path(dir_okay=False),
              help="Append what the run did (start, outcome, notifications) to this file.")
@click.option("--notify-webhook", metavar="URL",
              help="POST a JSON summary here when the --fail-on/--fail-on-new threshold is crossed.")
@click.option("--notify-email", multiple=True, metavar="ADDRESS",
              help="E-mail this address when the threshold is crossed (SMTP server: from the "
              "profile's notify.email, else localhost:25). Repeatable.")
@click.option("--force", is_flag=True,
              help="Scan a dir: folder even when it does not look like a root file system or "
              "configuration tree (no etc/).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing unless something is wrong.")
@click.option("-v", "--verbose", is_flag=True, help="List every failing and errored check.")
@policies.scan_options
@handle_errors
@periodic.run_periodic
def scan(targets: tuple[str, ...], profile: str | None, formats: tuple[str, ...], output: str | None,
         share_reports: bool, sarif_base: str, check_paths: tuple[str, ...], no_default_checks: bool,
         select: tuple[str, ...],
         skip: tuple[str, ...], level: str | None, fail_on: str, timeout: float, probe_timeout: float, jobs: int,
         ports: str, timing: int, scan_type: str, version_detection: str,
         ca_file: str | None, ssh_key: str | None,
         ssh_known_hosts: str | None, ssh_accept_new_host_key: bool, plugins: tuple[str, ...],
         fail_on_new: str | None, waiver_files: tuple[str, ...], db: str | None,
         no_history: bool, lock: str | None, no_lock: bool, log_file: str | None,
         notify_webhook: str | None, notify_email: tuple[str, ...], force: bool, quiet: bool,
         verbose: bool, frameworks: tuple[str, ...] = (),
         evidence_dirs: tuple[Path, ...] = (), attestations: Path | None = None,
         reviews: Path | None = None) -> None:
    """Audit TARGETS and write the reports.

    \b
    TARGETS:
      local            this host, read live
      dir:PATH         an offline root file system or config tree, read as if it were /
      HOST, IP, CIDR   network services found by nmap (e.g. 192.0.2.0/28)
      HOST:PORT        one network service
      ssh://[USER@]HOST[:PORT]   a remote host, audited agentlessly over SFTP (read-only)
    """
    if not targets:
        raise UsageError("give at least one target, or a --profile that lists them")
    if no_default_checks and not check_paths:
        raise UsageError("--no-default-checks needs at least one --checks PATH")
    fmts = [OutputFormat(f) for f in dict.fromkeys(formats)] or list(DEFAULT_FORMATS)
    paths = output_paths(fmts, output)
    check_outputs(paths)
    catalog = load_catalog(check_paths, default_checks=not no_default_checks, plugins=plugins)
    selected = cis.select_level(registry.select(catalog.checks, select, skip), level)
    waiver_set = periodic.load_waivers(waiver_files)
    coverage = policies.ScanCoverage(frameworks, evidence_dirs, attestations, reviews)
    if fail_on_new and no_history:
        raise UsageError("--fail-on-new needs the history store (drop --no-history)")
    store = periodic.open_history(db, enabled=not no_history)
    progress = ProgressBar(enabled=not quiet and sys.stderr.isatty())
    scan_id = report_mod.new_scan_id()
    started = report_mod.now_utc()
    with sigterm_as_interrupt():
        try:
            ssh_options = SSHOptions(key_file=ssh_key, known_hosts=ssh_known_hosts,
                                     accept_new_host_key=ssh_accept_new_host_key, timeout=timeout)
            resolve_options = ResolveOptions(ports=ports, timing=timing, scan_type=scan_type,
                                             timeout=timeout, version_detection=version_detection,
                                             ssh=ssh_options, force=force)
            resolved = resolve(targets, resolve_options, progress=progress.message)
            plan_network(resolved, resolve_options)
            complete_discovery = True
            periodic.begin_history(store, scan_id, started, resolved.targets)
        except KeyboardInterrupt:
            resolved, complete_discovery = ResolvedTargets([], []), False
        options = engine.EngineOptions(jobs=jobs, probe_timeout=probe_timeout, io_timeout=timeout,
                                       probe_options={"ca_file": ca_file} if ca_file else {})
        result = engine.run(resolved.targets, selected, catalog.plugins.probes, options,
                            observer=progress, sources=resolved.sources
                            ) if complete_discovery else engine.EngineResult(
                                [], [], False, "interrupted during discovery")
    progress.close()
    resolved.close()
    resolved.not_scanned += network_hosts(resolved, result.discovered)
    waiver_section = periodic.apply_waivers(result.findings, waiver_set)
    report = report_mod.build(
        scan_id=scan_id, started_at=started, finished_at=report_mod.now_utc(),
        complete=result.complete, stop_reason=result.stop_reason,
        targets=result.targets + resolved.not_scanned, findings=result.findings,
        command=[redact_text(a) for a in sys.argv], checks_loaded=len(selected),
        plugins=catalog.plugins.loaded)
    report.waivers = waiver_section
    report.sarif_base = sarif_base
    report.compliance = coverage.assess(report.findings)
    periodic.record_history(store, report)
    written = write_reports(report, paths, periodic.recovery_hint(report, store),
                            shared=share_reports)
    code = periodic.exit_code_new(report, fail_on_new) if fail_on_new else exit_code(report, fail_on)
    periodic.after_scan(report, code, written, fail_on=fail_on, fail_on_new=fail_on_new,
                        webhook=notify_webhook, emails=notify_email)
    to_stderr = "-" in paths.values()
    if not quiet or code not in (EXIT_OK,):
        print_summary(report, written, fail_on_new or fail_on, code, verbose=verbose,
                      quiet=quiet, err=to_stderr or quiet)
        policies.echo_summaries(report.compliance, err=to_stderr or quiet)
    if not quiet:
        for line in periodic.summary_lines(report):
            click.echo(line, err=to_stderr)
    sys.exit(code)
