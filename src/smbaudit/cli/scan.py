"""`smbaudit scan`: flags (and a profile) -> ScanConfig -> pipeline -> summary -> exit code."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import click
from click.core import ParameterSource

from smbaudit import pipeline
from smbaudit import profile as profile_mod
from smbaudit.cli import EXIT_CODES_HELP, handle_errors, policies
from smbaudit.cli.options import choice, refuse_binary_on_terminal
from smbaudit.cli.progress import ProgressBar
from smbaudit.cli.summary import print_summary, since_last_scan
from smbaudit.config import DEFAULT_OUTPUT_DIR, FAIL_ON_CHOICES, ScanConfig
from smbaudit.errors import EXIT_OK
from smbaudit.models import Severity
from smbaudit.packs import cis
from smbaudit.render.formats import OutputFormat
from smbaudit.textsafe import visible

DEFAULTS = ScanConfig()
# Flags whose config field is named (or means) otherwise; the rest map one to one.
NEGATED = {"no_default_checks": "default_checks", "no_history": "history", "no_lock": "use_lock"}
CLI_ONLY = {"profile", "quiet", "verbose"}


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


def config_from_flags(ctx: click.Context, params: dict[str, Any]) -> ScanConfig:
    """The flags the user gave (not click's defaults) over the profile over the defaults."""
    given: dict[str, Any] = {}
    for name, value in params.items():
        if name in CLI_ONLY or ctx.get_parameter_source(name) not in (
                ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
            continue
        if name in NEGATED:
            given[NEGATED[name]] = not value
        else:
            given[name] = tuple(value) if isinstance(value, (tuple, list)) else value
    prof = profile_mod.load(params["profile"]) if params.get("profile") else None
    return ScanConfig.build(profile=prof, given=given).with_(command=tuple(sys.argv))


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("targets", nargs=-1)
@click.option("--name", "names", multiple=True, metavar="LABEL",
              help="Name the target in reports and history (e.g. web-1) instead of as given; "
              "with several targets, once per target in their order (repeatable).")
@click.option("--profile", type=click.Path(exists=True, dir_okay=False),
              help="Scan profile (YAML): targets, checks, waivers, outputs, thresholds, "
              "notifications. Flags given here override it. Start one with `smbaudit init`.")
@click.option("-f", "--format", "formats", multiple=True,
              type=choice([f.value for f in OutputFormat]),
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
@click.option("--level", type=choice(sorted(cis.LEVELS)), default=None,
              help="Run only the checks of one CIS Benchmark profile level (level 2 includes level 1).")
@click.option("--fail-on", type=choice(FAIL_ON_CHOICES), default=DEFAULTS.fail_on,
              show_default=True,
              help="Exit 1 when a failing finding has this severity or higher ('none': never).")
@click.option("--timeout", type=click.FloatRange(0.1, 3600), default=DEFAULTS.timeout, show_default=True,
              help="Seconds allowed for each connection or command.")
@click.option("--probe-timeout", type=click.FloatRange(1, 86400), default=DEFAULTS.probe_timeout, show_default=True,
              help="Wall-clock seconds allowed for one probe run; past it its checks are errors.")
@click.option("--jobs", type=click.IntRange(1, 64), default=DEFAULTS.jobs, show_default=True,
              help="Probes run at once (local, offline and network targets).")
@click.option("--ports", default=DEFAULTS.ports, show_default=True,
              help="Network targets: top100, top1000, or a list like 22,443,8000-8100.")
@click.option("--timing", type=click.IntRange(0, 5), default=DEFAULTS.timing, show_default=True,
              help="Network targets: nmap timing template (0 slowest .. 5 fastest).")
@click.option("--scan-type", type=choice(["auto", "connect", "syn"]), default="auto",
              show_default=True, help="Network targets: SYN scan needs root; auto picks.")
@click.option("--version-detection", type=choice(["unknown", "all", "none"]), default="unknown",
              show_default=True, help="Network targets: run nmap -sV on ports smbaudit does not "
              "identify itself (unknown), on every open port (all, slower), or never.")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False),
              help="TLS services: also trust this private CA bundle (PEM) when checking chains.")
@click.option("--ssh-key", type=click.Path(exists=True, dir_okay=False),
              help="ssh:// targets: private key file (default: ssh-agent and ~/.ssh keys; a "
              "password can be given in $SMBAUDIT_SSH_PASSWORD).")
@click.option("--ssh-known-hosts", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="ssh:// targets: extra known_hosts file to verify host keys against "
              "(repeatable: every file is read).")
@click.option("-F", "--ssh-config", type=click.Path(exists=True, dir_okay=False),
              help="ssh:// targets: OpenSSH client configuration (HostName, User, Port, "
              "IdentityFile, ProxyJump, UserKnownHostsFile). Default: ~/.ssh/config.")
@click.option("--inventory", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Audit the hosts of an Ansible inventory (INI or YAML) or a plain YAML host "
              "list over SSH, each with its own address, port, user, key and become "
              "(repeatable). Passwords are never read from it.")
@click.option("--limit", metavar="PATTERN",
              help="Only the inventory hosts matching an Ansible pattern (web:&prod:!web3, "
              "web*, ~regex).")
@click.option("--become", is_flag=True,
              help="ssh:// and inventory hosts: read root-only files through `sudo -n` "
              "starting the host's SFTP server (no shell, no password prompt).")
@click.option("--parallel-hosts", type=click.IntRange(1, 256), default=DEFAULTS.parallel_hosts,
              show_default=True, help="Remote hosts audited at once (each with --host-jobs probes).")
@click.option("--host-jobs", type=click.IntRange(1, 64), default=DEFAULTS.host_jobs,
              show_default=True, help="Probes run at once on each remote host (they mostly wait "
              "for the host's answers).")
@click.option("--ssh-accept-new-host-key", is_flag=True,
              help="ssh:// targets: trust a host key seen for the first time (nothing is saved).")
@click.option("--plugin", "plugins", multiple=True, metavar="NAME",
              help="Enable an installed third-party probe plugin (repeatable).")
@click.option("--fail-on-new", type=choice([s.value for s in Severity]), default=None,
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
@click.option("--vulndb", type=click.Path(dir_okay=False), default=None,
              help="Vulnerability store (default: vulndb.sqlite in the user data folder; see "
              "`smbaudit vulndb`).")
@click.option("--include-unfixed", is_flag=True,
              help="List vulnerabilities with no fix yet, one finding per package (they are "
              "always counted).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing unless something is wrong.")
@click.option("-v", "--verbose", is_flag=True, help="List every failing and errored check.")
@policies.scan_options
@handle_errors
def scan(quiet: bool, verbose: bool, **params: Any) -> None:
    """Audit TARGETS and write the reports.

    \b
    TARGETS:
      local            this host, read live
      dir:PATH         an offline root file system or config tree, read as if it were /
      HOST, IP, CIDR   network services found by nmap (e.g. 192.0.2.0/28)
      HOST:PORT        one network service
      ssh://[USER@]HOST[:PORT]   a remote host, audited agentlessly over SFTP (read-only)

    With --inventory, the inventory's hosts are audited too (TARGETS may then be empty).
    """
    config = config_from_flags(click.get_current_context(), dict(params, quiet=quiet))
    for fmt, dest in config.output_paths().items():
        if dest == "-":
            refuse_binary_on_terminal(fmt.value)
    progress = ProgressBar(enabled=not quiet and sys.stderr.isatty())
    try:
        with sigterm_as_interrupt():
            result = pipeline.run(config, observer=progress)
    finally:
        progress.close()
    report, code = result.report, result.exit_code
    to_stderr = result.to_stdout
    if not quiet or code != EXIT_OK:
        print_summary(report, result.written, config.fail_on_new or config.fail_on, code,
                      verbose=verbose, quiet=quiet, err=to_stderr or quiet)
        policies.echo_summaries(report.compliance, err=to_stderr or quiet)
    for failure in result.notify_failures:
        click.echo(f"smbaudit: notification failed: {visible(str(failure))}", err=True)
    if not quiet:
        for line in since_last_scan(report):
            click.echo(visible(line), err=to_stderr)
        if report.vulndb:  # the vulndb command's module (and its downloader) only when needed
            from smbaudit.cli import vulndb as vulndb_cli

            vulndb_cli.echo_status(report.vulndb, err=to_stderr)
    sys.exit(code)
