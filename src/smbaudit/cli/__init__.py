"""Command-line interface: the composition root. The only place that prints or exits."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from functools import wraps
from importlib import import_module
from typing import Any, TypeVar

import click

from smbaudit import __version__
from smbaudit.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, InputFileError, SmbauditError, shorten
from smbaudit.textsafe import visible

F = TypeVar("F", bound=Callable[..., Any])
MAX_SHOWN_ERRORS = 50  # input problems listed; the rest are counted
MAX_MESSAGE = 2000  # an error quoting user input never floods the terminal


def handle_errors(func: F) -> F:
    """Map expected errors to their exit codes with a clear message, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InputFileError as exc:
            click.echo(f"smbaudit: {len(exc.errors)} problem(s) in input files:", err=True)
            for e in exc.errors[:MAX_SHOWN_ERRORS]:
                click.echo(f"  {visible(str(e))}", err=True)
            if len(exc.errors) > MAX_SHOWN_ERRORS:
                click.echo(f"  ... and {len(exc.errors) - MAX_SHOWN_ERRORS} more", err=True)
            sys.exit(exc.exit_code)
        except SmbauditError as exc:
            click.echo(f"smbaudit: {visible(shorten(str(exc), MAX_MESSAGE))}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("smbaudit: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)

    return wrapper  # type: ignore[return-value]


EXIT_CODES_HELP = """\b
Exit codes:
  0    scan finished, no failing finding at or above --fail-on
  1    failing findings at or above --fail-on
  2    bad input (usage, check pack, target), nothing scanned; or a report could not be
       written (the scan is kept in history: `smbaudit report ID` writes it again)
  3    some checks errored or a target could not be read (report written); in a fleet
       scan, some host was not audited in full (and no failing finding)
  4    failing findings at or above --fail-on, and some host not audited in full
  130  interrupted; partial results written, report marked incomplete
"""


# Each command's module is imported when that command runs (or help lists them all), so
# `smbaudit scan` does not pay for importing every other command's dependencies.
_COMMANDS = {
    "scan": "scan", "checks": "checks", "demo": "demo", "history": "history", "diff": "history",
    "report": "history", "policies": "policies", "init": "init", "vulndb": "vulndb",
}


class _LazyGroup(click.Group):
    """click's documented pattern for lazily loaded subcommands."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _COMMANDS:
            module = import_module(f"smbaudit.cli.{_COMMANDS[cmd_name]}")
            self.add_command(getattr(module, cmd_name), cmd_name)
        return self.commands.get(cmd_name)


@click.group(cls=_LazyGroup, epilog=EXIT_CODES_HELP,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="smbaudit")
def cli() -> None:
    """smbaudit: security and compliance audit scanner for small and medium businesses."""


def _quiet_library_warnings() -> None:
    """Library deprecation notices (cryptography on DSA keys, which old hosts still hold) are
    for developers, not for someone reading a scan's output."""
    try:
        from cryptography.utils import CryptographyDeprecationWarning
    except ImportError:  # pragma: no cover - cryptography is a dependency
        return
    warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)


def main() -> None:
    _quiet_library_warnings()
    try:
        cli.main(standalone_mode=False, prog_name="smbaudit")
    except click.exceptions.Abort:
        click.echo("smbaudit: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.UsageError as exc:
        # One line, like every other error: what is wrong, and where the help is.
        where = exc.ctx.command_path if exc.ctx else "smbaudit"
        click.echo(f"smbaudit: {visible(exc.format_message())} (see `{where} --help`)", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_BAD_INPUT)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
