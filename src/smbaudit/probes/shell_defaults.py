"""System-wide shell defaults: the umask users get, and the idle-shell timeout (TMOUT); root's
own umask and the directories of root's PATH."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from smbaudit.models import TargetKind
from smbaudit.probes._common import Reader, as_octal_mode, host_of, lines_of
from smbaudit.probes import factschema as fs
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.probes.login_defs import LOGIN_DEFS, parse_login_defs
from smbaudit.targets.base import HostTarget, Target

SHELL_FILES = ("/etc/profile", "/etc/profile.d/*.sh", "/etc/bash.bashrc", "/etc/bashrc",
               "/etc/zsh/zprofile", "/etc/zprofile")

ROOT_FILES = ("/root/.bash_profile", "/root/.bash_login", "/root/.profile", "/root/.bashrc")
# Where root's PATH comes from: login(1) and su(1) set ENV_SUPATH; pam_env reads /etc/environment;
# root's own start-up files may set or extend it.
ENVIRONMENT = "/etc/environment"
_PATH_RE = re.compile(r"""(?:^|[;&|\s])(?:export\s+)?PATH=("[^"]*"|'[^']*'|[^\s;&|]*)""")
_UMASK_RE = re.compile(r"(?:^|[;&|({\s])umask\s+(?:-S\s+)?([0-7]{1,4}|[ugoa]*[=+-][rwx]*(?:,[ugoa]*[=+-][rwx]*)*)(?=$|[\s;&|)}])")
_TMOUT_RE = re.compile(r"(?:^|[;&|\s])(?:(?:readonly|export|declare|typeset)\s+(?:-[a-zA-Z]+\s+)*)?TMOUT=[\"']?(\d+)")
_READONLY_RE = re.compile(r"(?:^|[;&|\s])(?:readonly\s+(?:-[a-zA-Z]+\s+)*|(?:declare|typeset)\s+-[a-zA-Z]*r[a-zA-Z]*\s+)TMOUT\b")
_EXPORT_RE = re.compile(r"(?:^|[;&|\s])(?:export\s+(?:-[a-zA-Z]+\s+)*|(?:declare|typeset)\s+-[a-zA-Z]*x[a-zA-Z]*\s+)TMOUT\b")


def _code(line: str) -> str:
    """The line without a shell comment (a # at the start or after whitespace)."""
    m = re.search(r"(^|\s)#", line)
    return line[: m.start()] if m else line


def symbolic_umask(spec: str) -> str | None:
    """A umask from `u=rwx,g=rx,o=` (only the = form is unambiguous without the current umask)."""
    allowed = 0
    for clause in spec.split(","):
        m = re.fullmatch(r"([ugoa]*)=([rwx]*)", clause)
        if not m:
            return None
        bits = sum({"r": 4, "w": 2, "x": 1}[c] for c in set(m.group(2)))
        for who in m.group(1) or "a":
            for w in ("ugo" if who == "a" else who):
                allowed |= bits << {"u": 6, "g": 3, "o": 0}[w]
    return f"{0o777 & ~allowed:04o}"


def _entry(path: str, lineno: int, umask: str, source: str) -> dict[str, Any]:
    return {"file": path, "line": lineno, "umask": umask, "source": source,
            "resulting_mode": f"{0o777 & ~int(umask, 8):04o}"}


class ShellDefaultsProbe(Probe):
    """umask and TMOUT set for login shells in /etc/profile, /etc/profile.d/*.sh, /etc/bash.bashrc,
    /etc/bashrc (and zsh's system files), plus login.defs UMASK.

    Facts: files (read), errors, umask_settings (list of {file, line, umask ('0027'), source
    (shell / login.defs), resulting_mode (directory mode it produces: '0750')}), shell_umask_set
    (a shell file sets a umask), tmout_settings (list of {file, line, value}), tmout (smallest
    value set, or None), tmout_readonly, tmout_exported, root_umask_settings (umask lines in
    root's .bash_profile / .bash_login / .profile / .bashrc), root_umask_weak ("file:line umask"
    of those that leave group write or any access for others), root_path (the directories PATH
    gets for root: login.defs ENV_SUPATH, /etc/environment, root's start-up files; `$PATH`
    references are left out), root_path_problems ("dir: why" for an empty or relative entry,
    a missing directory, one not owned by root or writable by group or others).
    """

    name = "shell_defaults"
    description = "default umask and shell idle timeout (TMOUT)"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False,
                                     "properties": {}}

    facts = fs.record(
        files=fs.list_of(fs.STR), errors=fs.list_of(fs.STR),
        umask_settings=fs.list_of(fs.record(file=fs.STR, line=fs.INT, umask=fs.STR,
                                            source=fs.enum("shell", "login.defs"),
                                            resulting_mode=fs.STR)),
        shell_umask_set=fs.BOOL,
        tmout_settings=fs.list_of(fs.record(file=fs.STR, line=fs.INT, value=fs.INT)),
        tmout=fs.nullable(fs.INT), tmout_readonly=fs.BOOL, tmout_exported=fs.BOOL,
        root_umask_settings=fs.list_of(fs.record(file=fs.STR, line=fs.INT, umask=fs.STR,
                                                 source=fs.enum("shell", "login.defs"),
                                                 resulting_mode=fs.STR)),
        root_umask_weak=fs.list_of(fs.STR),
        root_path=fs.list_of(fs.STR), root_path_problems=fs.list_of(fs.STR),
    )

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        reader = Reader(host)
        umasks: list[dict[str, Any]] = []
        tmouts: list[dict[str, Any]] = []
        readonly = exported = False
        paths: list[str] = []
        for pattern in SHELL_FILES:
            paths.extend(reader.glob(pattern) if "*" in pattern else [pattern])
        for path in paths:
            ctx.check_deadline()
            text = reader.read(path)
            if text is None:
                continue
            for lineno, raw in enumerate(lines_of(text), 1):
                code = _code(raw)
                for m in _UMASK_RE.finditer(code):
                    spec = m.group(1)
                    umask = as_octal_mode(spec) if spec[0].isdigit() else symbolic_umask(spec)
                    if umask is not None:
                        umasks.append(_entry(path, lineno, umask, "shell"))
                for m in _TMOUT_RE.finditer(code):
                    tmouts.append({"file": path, "line": lineno, "value": int(m.group(1))})
                readonly = readonly or bool(_READONLY_RE.search(code))
                exported = exported or bool(_EXPORT_RE.search(code))
        shell_set = bool(umasks)
        text = reader.read(LOGIN_DEFS)
        if text is not None:
            value = parse_login_defs(text).get("UMASK")
            if isinstance(value, str) and re.fullmatch(r"[0-7]{4}", value):
                lineno = next((i for i, ln in enumerate(lines_of(text), 1)
                               if ln.strip().upper().startswith("UMASK")), 0)
                umasks.append(_entry(LOGIN_DEFS, lineno, value, "login.defs"))
        values = [t["value"] for t in tmouts]
        root_umasks = _root_umasks(reader)
        root_path = _root_path(reader)
        return {
            "files": reader.files,
            "errors": reader.errors,
            "umask_settings": umasks,
            "shell_umask_set": shell_set,
            "tmout_settings": tmouts,
            "tmout": min(values) if values else None,
            "tmout_readonly": readonly,
            "tmout_exported": exported,
            "root_umask_settings": root_umasks,
            "root_umask_weak": [f"{u['file']}:{u['line']} umask {u['umask']}" for u in root_umasks
                                if int(u["umask"], 8) & 0o027 != 0o027],
            "root_path": root_path,
            "root_path_problems": _path_problems(host, root_path),
        }


def _root_umasks(reader: Reader) -> list[dict[str, Any]]:
    found = []
    for path in ROOT_FILES:
        for lineno, raw in enumerate(lines_of(reader.read(path) or ""), 1):
            for m in _UMASK_RE.finditer(_code(raw)):
                spec = m.group(1)
                umask = as_octal_mode(spec) if spec[0].isdigit() else symbolic_umask(spec)
                if umask is not None:
                    found.append(_entry(path, lineno, umask, "shell"))
    return found


def _root_path(reader: Reader) -> list[str]:
    """Every PATH entry root may get, in order, without repeats; `$PATH` itself left out."""
    values: list[str] = []
    defs = reader.read(LOGIN_DEFS)
    if defs is not None:
        supath = parse_login_defs(defs).get("ENV_SUPATH")
        if isinstance(supath, str):
            values.append(supath.removeprefix("PATH="))
    for path in (ENVIRONMENT, *ROOT_FILES):
        for raw in lines_of(reader.read(path) or ""):
            for m in _PATH_RE.finditer(_code(raw)):
                values.append(m.group(1).strip("\"'"))
    entries: list[str] = []
    for value in values:
        for entry in value.split(":"):
            if entry in ("$PATH", "${PATH}"):
                continue
            if entry not in entries:
                entries.append(entry)
    return entries


def _path_problems(host: HostTarget, entries: list[str]) -> list[str]:
    problems = []
    for entry in entries:
        if "$" in entry:
            continue  # another variable: not resolved here
        if entry.startswith("~/") or entry == "~":
            entry = "/root" + entry[1:]  # the shell expands ~ in PATH assignments
        if entry == "":
            problems.append("(empty entry): the current directory is searched")
        elif not entry.startswith("/"):
            problems.append(f"{entry}: relative (searched from the current directory)")
        else:
            st = host.stat(entry)
            if st is None:
                problems.append(f"{entry}: missing")
            elif st.type != "dir":
                problems.append(f"{entry}: not a directory")
            elif st.uid != 0:
                problems.append(f"{entry}: owned by {st.owner or st.uid}")
            elif st.mode & 0o022:
                problems.append(f"{entry}: writable by {'group' if st.mode & 0o020 else 'others'}")
    return problems
