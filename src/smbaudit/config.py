"""What one scan is asked to do: a frozen ScanConfig built from defaults, a profile and flags.

Precedence: the defaults below, then a profile's fragment (`profile.ScanProfile.settings`,
keyed by these field names), then the values given on the command line (the CLI passes only
the ones the user gave). Nothing here knows about click or the terminal.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from smbaudit.errors import UsageError
from smbaudit.models import Severity
from smbaudit.profile import ScanProfile, SmtpSettings, is_host_spec, label_problem
from smbaudit.render.formats import DEFAULT_FORMATS, OutputFormat, extension

DEFAULT_OUTPUT_DIR = "smbaudit-report"
FAIL_ON_CHOICES = (*(s.value for s in Severity), "none")


@dataclass(frozen=True)
class ScanConfig:
    targets: tuple[str, ...] = ()
    # A name for each target in reports and history (--name, a profile's `name:`), in the
    # order of `targets`; "" keeps the target as given. Empty: none named.
    names: tuple[str, ...] = ()
    # checks
    check_paths: tuple[str, ...] = ()
    default_checks: bool = True
    select: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    level: str | None = None
    plugins: tuple[str, ...] = ()
    # outputs
    formats: tuple[OutputFormat, ...] = tuple(DEFAULT_FORMATS)
    output: str | None = None  # a file for one format, "-" for stdout, else a folder
    output_is_folder: bool = False  # a profile's outputs.dir is always a folder
    sarif_base: str = ""
    share_reports: bool = False  # reports readable by everyone (default: private, 0600/0700)
    # verdict
    fail_on: str = "high"
    fail_on_new: str | None = None
    # how to scan
    timeout: float = 10.0
    probe_timeout: float = 120.0
    jobs: int = 4
    ports: str = "top100"
    timing: int = 4
    scan_type: str = "auto"
    version_detection: str = "unknown"
    ca_file: str | None = None
    ssh_key: str | None = None
    ssh_known_hosts: tuple[str, ...] = ()  # extra known_hosts files, all of them read
    ssh_accept_new_host_key: bool = False
    ssh_config: str | None = None  # OpenSSH client configuration (default ~/.ssh/config)
    become: bool = False  # read root-only files through `sudo -n sftp-server`
    inventory: tuple[str, ...] = ()  # Ansible inventories or plain host lists
    limit: str | None = None  # Ansible-style host pattern over the inventories
    parallel_hosts: int = 8  # remote hosts audited at once
    host_jobs: int = 8  # probes at once on each remote host (mostly waiting for answers)
    force: bool = False  # scan a dir: folder that does not look like a tree
    # compliance
    frameworks: tuple[str, ...] = ()
    evidence_dirs: tuple[Path, ...] = ()
    attestations: Path | None = None
    reviews: Path | None = None
    # vulnerability store (default: vulndb.sqlite in the user data folder)
    vulndb: str | None = None
    include_unfixed: bool = False  # list vulnerabilities with no fix yet, not only count them
    # accepted risks, history, periodic runs
    waiver_files: tuple[str, ...] = ()
    history: bool = True
    db: str | None = None
    use_lock: bool = True
    lock: str | None = None
    log_file: str | None = None
    notify_webhook: str | None = None
    notify_email: tuple[str, ...] = ()
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    profile: ScanProfile | None = None
    command: tuple[str, ...] = ()  # the command line, for the report (redacted there)

    def __post_init__(self) -> None:
        if self.fail_on not in FAIL_ON_CHOICES:
            raise UsageError(f"fail_on must be one of {', '.join(FAIL_ON_CHOICES)}")
        if self.fail_on_new is not None and self.fail_on_new not in FAIL_ON_CHOICES[:-1]:
            raise UsageError(f"fail_on_new must be a severity, not {self.fail_on_new!r}")
        if self.jobs < 1:
            raise UsageError("jobs must be at least 1")
        if self.parallel_hosts < 1 or self.host_jobs < 1:
            raise UsageError("parallel_hosts and host_jobs must be at least 1")
        if isinstance(self.ssh_known_hosts, str):  # one file, as older profiles and callers give it
            object.__setattr__(self, "ssh_known_hosts", (self.ssh_known_hosts,))

    @classmethod
    def build(cls, *, profile: ScanProfile | None = None,
              given: Mapping[str, Any] | None = None) -> ScanConfig:
        """Defaults, then the profile's fragment, then the values given (flags)."""
        values: dict[str, Any] = {}
        if profile is not None:
            values.update(_checked(profile.settings, f"{profile.path}"))
            values["profile"] = profile
        values.update(_checked(dict(given or {}), "the command line"))
        if "formats" in values:
            values["formats"] = _formats(values["formats"])
        if given and "targets" in given and "names" not in given:
            values["names"] = ()  # the profile's names belong to the profile's targets
        if given and "output" in given:
            values["output_is_folder"] = False  # a flag's -o means what it says
        return cls(**values)

    def with_(self, **changes: Any) -> ScanConfig:
        return replace(self, **changes)

    def validate(self) -> None:
        """Combinations that cannot work; raised before anything is scanned."""
        if not self.targets and not self.inventory:
            raise UsageError("give at least one target, an --inventory, or a --profile that "
                             "lists them")
        if self.limit and not self.inventory:
            raise UsageError("--limit selects hosts of an --inventory: give one")
        if not self.default_checks and not self.check_paths:
            raise UsageError("--no-default-checks needs at least one --checks PATH")
        if self.fail_on_new and not self.history:
            raise UsageError("--fail-on-new needs the history store (drop --no-history)")
        if self.db and not self.history:
            raise UsageError("--db and --no-history cannot be used together")
        if self.names:
            self._check_names()
        if self.output == "-" and len(self.formats) != 1:
            raise UsageError("--output - (stdout) takes exactly one --format")

    def _check_names(self) -> None:
        if len(self.names) != len(self.targets):
            raise UsageError(f"--name given {len(self.names)} time(s) for {len(self.targets)} "
                             "target(s): give one name per target, in the order of the targets")
        seen: dict[str, str] = {}
        for spec, label in zip(self.targets, self.names):
            if not label:
                continue
            problem = label_problem(label)
            if problem is None and not is_host_spec(spec):
                problem = (f"it names {spec}, a network target; only hosts (local, dir:PATH, "
                           "ssh://HOST) take a name, network services keep their HOST:PORT")
            if problem is None and (label in seen or label in self.targets):
                problem = "two targets would have the same name"
            if problem:
                raise UsageError(f"target name {label!r}: {problem}")
            seen[label] = spec

    def target_names(self) -> dict[str, str]:
        """Target as given -> the name it has in reports and history."""
        return {spec: label for spec, label in zip(self.targets, self.names) if label}

    def output_paths(self) -> dict[OutputFormat, str]:
        """Where each format goes: FILE (or '-') for one format, a folder for several, or
        for one format given as `out/` (trailing slash) or an existing folder."""
        fmts, output = list(self.formats), self.output
        if output == "-":
            return {fmts[0]: "-"}
        if (output and len(fmts) == 1 and not self.output_is_folder
                and not output.endswith(("/", os.sep)) and not Path(output).is_dir()):
            return {fmts[0]: output}
        folder = Path(output or DEFAULT_OUTPUT_DIR)
        return {fmt: str(folder / f"report.{extension(fmt)}") for fmt in fmts}


_FIELDS = {f.name for f in fields(ScanConfig)} - {"profile"}


def _formats(given: Any) -> tuple[OutputFormat, ...]:
    """Formats in any case (`HTML`, `Pdf`), each once, in the order given."""
    names = [str(f).lower() for f in given]
    known = [f.value for f in OutputFormat]
    for name in names:
        if name not in known:
            raise UsageError(f"unknown report format {name!r} (known: {', '.join(known)})")
    return tuple(OutputFormat(f) for f in dict.fromkeys(names))


def _checked(values: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = sorted(set(values) - _FIELDS)
    if unknown:
        raise UsageError(f"{where}: `{unknown[0]}` is not a scan setting of this version")
    return values
