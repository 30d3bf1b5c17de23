"""The RHEL family's package signature checking: `gpgcheck` in the [main] section of
/etc/dnf/dnf.conf (/etc/yum.conf where dnf.conf is absent) and in every repository of the
*.repo files in its `reposdir` folders (/etc/yum.repos.d, /etc/yum/repos.d, /etc/distro.repos.d
by default). Files are read with configparser as dnf reads them: no interpolation, a later
value of a key in the same section wins; the line of each `gpgcheck` is found by a scan of the
file so that a report can name it.

A boolean is read as libdnf reads one: 1, yes, true, on are true; 0, no, false, off are false;
any other value is not a value dnf accepts as true, and is reported as false with the text.
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Mapping
from typing import Any

from smbaudit.errors import BudgetExceeded
from smbaudit.models import TargetKind
from smbaudit.probes import factschema as fs
from smbaudit.probes._common import Reader, host_of, lines_of
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import Target

CONFIGS = ("/etc/dnf/dnf.conf", "/etc/yum.conf")
REPOS_DIRS = ("/etc/yum.repos.d", "/etc/yum/repos.d", "/etc/distro.repos.d")
MAX_REPO_FILES = 1000
TRUE_WORDS = ("1", "yes", "true", "on")
_SECTION = re.compile(r"^\s*\[([^\]]+)\]")
_GPGCHECK = re.compile(r"^\s*gpgcheck\s*[=:]", re.IGNORECASE)


def as_bool(value: str | None) -> bool | None:
    """None when unset; True for libdnf's true words; False for anything else."""
    if value is None:
        return None
    return value.strip().lower() in TRUE_WORDS


def parse_ini(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False, default_section="\x00")
    parser.read_string(text)
    return parser


def gpgcheck_lines(text: str) -> dict[str, int]:
    """section -> line number of its last `gpgcheck` line (the one that counts)."""
    section = ""
    found: dict[str, int] = {}
    for number, raw in enumerate(lines_of(text), start=1):
        m = _SECTION.match(raw)
        if m:
            section = m.group(1).strip()
            found.setdefault(f"\x00{section}", number)  # the header, for a section without gpgcheck
        elif _GPGCHECK.match(raw):
            found[section] = number
    return found


class DnfConfigProbe(Probe):
    """dnf's signature checking, globally and per repository.

    Facts: present (dnf.conf or yum.conf exists), config (the file read), gpgcheck ([main]'s,
    as dnf reads it; None when unset), gpgcheck_value (its text), gpgcheck_line, repo_files
    (the .repo files read), repos (list of {file, id, line (of its gpgcheck, else of its
    section header), gpgcheck (None when unset: it inherits [main]), gpgcheck_value, enabled}),
    errors (files that could not be read or parsed).
    """

    name = "dnf_config"
    description = "dnf/yum signature checking (gpgcheck) in dnf.conf and the .repo files"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}
    facts = fs.record(
        present=fs.BOOL, config=fs.nullable(fs.STR), gpgcheck=fs.nullable(fs.BOOL),
        gpgcheck_value=fs.nullable(fs.STR), gpgcheck_line=fs.nullable(fs.INT),
        repo_files=fs.list_of(fs.STR),
        repos=fs.list_of(fs.record(file=fs.STR, id=fs.STR, line=fs.INT,
                                   gpgcheck=fs.nullable(fs.BOOL), gpgcheck_value=fs.nullable(fs.STR),
                                   enabled=fs.BOOL)),
        errors=fs.list_of(fs.STR))

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        reader = Reader(host)
        config = next((p for p in CONFIGS if reader.read(p) is not None), None)
        main: dict[str, str] = {}
        main_line = None
        if config:
            text = reader.read(config) or ""
            try:
                parsed = parse_ini(text)
                main = dict(parsed["main"]) if parsed.has_section("main") else {}
            except configparser.Error as exc:
                reader.errors.append(f"{config}: {exc.message.splitlines()[0]}")
            main_line = gpgcheck_lines(text).get("main")
        dirs = tuple(d for d in re.split(r"[\s,]+", main.get("reposdir", "")) if d) or REPOS_DIRS
        files: list[str] = []
        for d in dirs:
            try:
                names = sorted(n for n in host.list_dir(d) if n.endswith(".repo"))
            except OSError:
                continue
            files += [f"{d.rstrip('/')}/{n}" for n in names]
        if len(files) > MAX_REPO_FILES:
            raise BudgetExceeded(f"more than {MAX_REPO_FILES} repository files in {', '.join(dirs)}; "
                                 "not assessed")
        repos: list[dict[str, Any]] = []
        read: list[str] = []
        for path in files:
            ctx.check_deadline()
            repo_text = reader.read(path)
            if repo_text is None:
                continue
            read.append(path)
            try:
                parsed = parse_ini(repo_text)
            except configparser.Error as exc:
                reader.errors.append(f"{path}: {exc.message.splitlines()[0]}")
                continue
            lines = gpgcheck_lines(repo_text)
            for repo in parsed.sections():
                section = parsed[repo]
                value = section.get("gpgcheck")
                repos.append({"file": path, "id": repo,
                              "line": (lines.get(repo) if value is not None else None)
                              or lines.get(f"\x00{repo}", 1),
                              "gpgcheck": as_bool(value), "gpgcheck_value": value,
                              "enabled": as_bool(section.get("enabled")) is not False})
        main_value = main.get("gpgcheck")
        return {"present": config is not None, "config": config, "gpgcheck": as_bool(main_value),
                "gpgcheck_value": main_value,
                "gpgcheck_line": main_line if main_value is not None else None,
                "repo_files": read, "repos": repos, "errors": reader.errors}
