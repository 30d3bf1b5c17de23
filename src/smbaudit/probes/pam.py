"""PAM stacks (/etc/pam.d) with includes resolved, and what they enforce for passwords.

Parsing follows pam.conf(5): `[-]type control module [args]`, where control is a keyword or a
`[value=action ...]` list and arguments may be bracketed to hold spaces; a trailing backslash
continues a line. `include` and `substack` pull in the lines of the same type from another
service file; Debian's `@include FILE` pulls in the whole file. Nesting is bounded and cycles
are reported, not followed.

Each stack is then run as libpam runs it (see _pam_flow): every line is marked `reachable` (some
run gets to it) and `enforced` (every successful run passes it with success), so that a module
that a `[success=N]` jump skips, that sits after a `sufficient` line that always succeeds, or whose
failure is ignored, is not taken as in force.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from smbaudit.models import TargetKind
from smbaudit.probes._pam_flow import KEYWORDS, Node, analyse, parse_control
from smbaudit.probes._common import Reader, as_number, host_of, lines_of, strip_comment
from smbaudit.probes import factschema as fs
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.probes.login_defs import read_login_defs, read_pwquality, with_defaults
from smbaudit.targets.base import Target

PAM_DIR = "/etc/pam.d"
MAX_DEPTH = 10
DEFAULT_SERVICES = ["common-auth", "common-account", "common-password", "common-session",
                    "system-auth", "password-auth", "login", "sshd", "passwd", "su", "sudo"]
HASHES = ("yescrypt", "gost_yescrypt", "sha512", "sha256", "blowfish", "bigcrypt", "md5")
FAILLOCK_CONF = "/etc/security/faillock.conf"
PWHISTORY_CONF = "/etc/security/pwhistory.conf"
FAILLOCK_DEFAULTS = {"deny": 3, "unlock_time": 600, "fail_interval": 900, "even_deny_root": False}


def split_pam_line(line: str) -> list[str]:
    """Whitespace-separated fields, keeping `[...]` groups (with `\\]` escapes) as one field."""
    fields: list[str] = []
    i, n = 0, len(line)
    while i < n:
        if line[i].isspace():
            i += 1
            continue
        if line[i] == "[":
            j = i + 1
            buf = []
            while j < n and line[j] != "]":
                if line[j] == "\\" and j + 1 < n and line[j + 1] == "]":
                    buf.append("]")
                    j += 2
                    continue
                buf.append(line[j])
                j += 1
            fields.append("[" + "".join(buf).strip() + "]")
            i = j + 1
            continue
        j = i
        while j < n and not line[j].isspace():
            j += 1
        fields.append(line[i:j])
        i = j
    return fields


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, text) with backslash continuations joined and comments removed."""
    out: list[tuple[int, str]] = []
    pending = ""
    start = 0
    for lineno, raw in enumerate(lines_of(text), 1):
        if not pending:
            start = lineno
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        line = strip_comment(pending + raw)
        pending = ""
        if line:
            out.append((start, line))
    if pending.strip():
        out.append((start, strip_comment(pending)))
    return out


def options_of(args: list[str]) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    for a in args:
        a = a.strip("[]")
        if "=" in a:
            k, _, v = a.partition("=")
            opts[k] = as_number(v)
        else:
            opts[a] = True
    return opts


def module_name(path: str) -> str:
    base = path.rsplit("/", 1)[-1]
    return base[:-3] if base.endswith(".so") else base


@dataclass
class _Line:
    """A line as loaded: its facts record (None for a substack line), its node for the flow
    analysis, and a substack's own lines."""

    ptype: str
    record: dict[str, Any] | None
    node: Node
    children: list[_Line] = field(default_factory=list)

    def records(self) -> list[dict[str, Any]]:
        out = [self.record] if self.record is not None else []
        for child in self.children:
            out.extend(child.records())
        return out


class _Stack:
    def __init__(self, reader: Reader, ctx: ProbeContext):
        self.reader = reader
        self.ctx = ctx
        self.errors = reader.errors

    def load(self, service: str, only_type: str | None, stack: tuple[str, ...]) -> list[_Line]:
        """The lines of a service file, `include`d and `@include`d files spliced in."""
        self.ctx.check_deadline()
        path = service if service.startswith("/") else f"{PAM_DIR}/{service}"
        if path in stack:
            self.errors.append(f"{path}: include cycle ({' -> '.join(stack + (path,))}); not followed")
            return []
        if len(stack) >= MAX_DEPTH:
            self.errors.append(f"{path}: includes nested deeper than {MAX_DEPTH}; not followed")
            return []
        text = self.reader.read(path)
        if text is None:
            if stack:
                self.errors.append(f"{path}: included by {stack[-1]} but missing")
            return []
        lines: list[_Line] = []
        for lineno, line in logical_lines(text):
            fields = split_pam_line(line)
            if fields[0] == "@include" and len(fields) > 1:
                lines.extend(self.load(fields[1], only_type, stack + (path,)))
                continue
            if len(fields) < 3:
                self.errors.append(f"{path}:{lineno}: malformed line")
                continue
            ptype, control, mod = fields[0], fields[1], fields[2]
            optional = ptype.startswith("-")
            ptype = ptype.lstrip("-").lower()
            if only_type and ptype != only_type:
                continue
            if control.lower() == "include":
                lines.extend(self.load(mod, ptype, stack + (path,)))
                continue
            if control.lower() == "substack":
                children = self.load(mod, ptype, stack + (path,))
                # The substack's result is its line's return value; its own lines stay inside.
                node = Node(control=dict(KEYWORDS["required"]), module=f"substack {mod}",
                            children=[c.node for c in children])
                lines.append(_Line(ptype, None, node, children))
                continue
            actions = parse_control(control if control.startswith("[") else control.lower())
            if actions is None:
                self.errors.append(f"{path}:{lineno}: control {control!r} not understood; "
                                   "taken as failing the stack, as libpam does")
                actions = {"default": "bad"}
            args = fields[3:]
            record = {"type": ptype, "control": control, "module": module_name(mod),
                      "path": mod, "args": args, "options": options_of(args),
                      "optional": optional, "file": path, "line": lineno,
                      "reachable": False, "enforced": False}
            node = Node(control=actions, module=module_name(mod), args=tuple(args), optional=optional)
            lines.append(_Line(ptype, record, node))
        return lines


def analyse_service(lines: list[_Line]) -> list[dict[str, Any]]:
    """Run the flow analysis type by type; the records, flattened, with reachable/enforced."""
    for ptype in sorted({line.ptype for line in lines}):
        analyse([line.node for line in lines if line.ptype == ptype])
    records: list[dict[str, Any]] = []
    for line in lines:
        _fill(line)
        records.extend(line.records())
    return records


def _fill(line: _Line) -> None:
    if line.record is not None:
        line.record["reachable"] = line.node.reachable
        line.record["enforced"] = line.node.enforced
    for child in line.children:
        _fill(child)


def _simple_conf(text: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for raw in lines_of(text or ""):
        line = strip_comment(raw)
        if not line:
            continue
        if "=" in line:
            k, _, v = line.partition("=")
            values[k.strip()] = as_number(v.strip())
        else:
            values[line] = True
    return values


class PamProbe(Probe):
    """PAM service stacks and the password rules they enforce.

    Facts: present (any listed service file exists), services (name -> {path, exists, modules:
    [{type, control, module, path, args, options, optional, file, line, reachable, enforced}]}
    with includes and substacks flattened), active / enforced (type -> modules on a reachable /
    enforced line), files, errors, and over the reachable lines of all listed services:
    pwquality {present, enforced, module (pam_pwquality / pam_cracklib), options (module arguments),
    settings (pwquality.conf values, then libpwquality defaults, overridden by the arguments)},
    lockout {present, enforced (the check is enforced and faillock's authfail line can run),
    module (pam_faillock / pam_tally2), deny, unlock_time, fail_interval,
    even_deny_root, root_unlock_time (None unset)},
    unix {present, hash (from pam_unix's password line, else login.defs ENCRYPT_METHOD),
    hash_source (pam / login.defs / None), nullok (any pam_unix line allows empty passwords),
    nullok_lines (file:line list), remember (pam_unix's password line carries remember=),
    use_authtok (it carries use_authtok)},
    password_history {present, enforced, module, remember (largest of pam_pwhistory and pam_unix remember=,
    0 when none), pwhistory (pam_pwhistory is on a password line), enforce_for_root and
    use_authtok (pam_pwhistory's arguments over pwhistory.conf)}, modules (every module name in
    the listed stacks).
    """

    name = "pam"
    description = "PAM stacks with includes, and the password policy they enforce"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "services": {"type": "array", "minItems": 1, "uniqueItems": True,
                         "items": {"type": "string", "pattern": "^[A-Za-z0-9_.@-]+$"}},
        },
    }

    facts = fs.record(
        present=fs.BOOL,
        services=fs.mapping(fs.record(  # service name -> its stack, includes flattened
            path=fs.STR, exists=fs.BOOL,
            modules=fs.list_of(fs.record_of({
                "type": fs.STR, "control": fs.STR, "module": fs.STR, "path": fs.STR,
                "args": fs.list_of(fs.STR), "options": fs.mapping(fs.SCALAR), "optional": fs.BOOL,
                "file": fs.STR, "line": fs.INT, "reachable": fs.BOOL, "enforced": fs.BOOL})))),
        pwquality=fs.record(present=fs.BOOL, enforced=fs.BOOL, module=fs.nullable(fs.STR),
                            options=fs.mapping(fs.SCALAR), settings=fs.mapping(fs.SCALAR)),
        lockout=fs.record(present=fs.BOOL, enforced=fs.BOOL, module=fs.nullable(fs.STR), deny=fs.INT,
                          unlock_time=fs.INT, fail_interval=fs.INT, even_deny_root=fs.BOOL,
                          root_unlock_time=fs.nullable(fs.SCALAR)),
        unix=fs.record(present=fs.BOOL, hash=fs.nullable(fs.STR),
                       hash_source=fs.nullable(fs.enum("pam", "login.defs")), nullok=fs.BOOL,
                       nullok_lines=fs.list_of(fs.STR), remember=fs.BOOL, use_authtok=fs.BOOL),
        password_history=fs.record(present=fs.BOOL, enforced=fs.BOOL, module=fs.nullable(fs.STR),
                                   remember=fs.INT, pwhistory=fs.BOOL, enforce_for_root=fs.BOOL,
                                   use_authtok=fs.BOOL),
        modules=fs.list_of(fs.STR),
        active=fs.mapping(fs.list_of(fs.STR)),  # type -> modules on a line some run reaches
        enforced=fs.mapping(fs.list_of(fs.STR)),  # type -> modules every successful run passes
        files=fs.list_of(fs.STR), errors=fs.list_of(fs.STR),
    )

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        reader = Reader(host)
        loader = _Stack(reader, ctx)
        services: dict[str, Any] = {}
        every: list[dict[str, Any]] = []
        for name in params.get("services", DEFAULT_SERVICES):
            path = f"{PAM_DIR}/{name}"
            exists = host.exists(path)
            modules = analyse_service(loader.load(name, None, ())) if exists else []
            services[name] = {"path": path, "exists": exists, "modules": modules}
            every.extend(modules)
        # A line no run of its stack reaches is as good as absent.
        live = [m for m in every if m["reachable"]]
        active: dict[str, set[str]] = {}
        enforced: dict[str, set[str]] = {}
        for m in live:
            active.setdefault(m["type"], set()).add(m["module"])
            if m["enforced"]:
                enforced.setdefault(m["type"], set()).add(m["module"])
        return {
            "present": any(s["exists"] for s in services.values()),
            "services": services,
            "pwquality": self._pwquality(live, reader),
            "lockout": self._lockout(live, reader),
            "unix": self._unix(live, host, reader),
            "password_history": self._history(live, reader),
            "modules": sorted({m["module"] for m in every}),
            "active": {t: sorted(v) for t, v in sorted(active.items())},
            "enforced": {t: sorted(v) for t, v in sorted(enforced.items())},
            "files": reader.files,
            "errors": reader.errors,
        }

    @staticmethod
    def _first(modules: list[dict[str, Any]], ptype: str, names: tuple[str, ...]) -> dict[str, Any] | None:
        return next((m for m in modules if m["type"] == ptype and m["module"] in names), None)

    def _pwquality(self, modules: list[dict[str, Any]], reader: Reader) -> dict[str, Any]:
        line = self._first(modules, "password", ("pam_pwquality", "pam_cracklib"))
        if line is None:
            return {"present": False, "enforced": False, "module": None, "options": {},
                    "settings": {}}
        configured = read_pwquality(reader)[0] if line["module"] == "pam_pwquality" else {}
        merged = dict(configured)
        merged.update(line["options"])
        return {"present": True, "enforced": any(
                    m["enforced"] for m in modules
                    if m["type"] == "password" and m["module"] == line["module"]),
                "module": line["module"], "options": line["options"],
                "settings": with_defaults(merged)}

    def _lockout(self, modules: list[dict[str, Any]], reader: Reader) -> dict[str, Any]:
        line = self._first(modules, "auth", ("pam_faillock", "pam_tally2", "pam_tally"))
        if line is None:
            return {"present": False, "enforced": False, "module": None, "deny": 0, "unlock_time": 0,
                    "fail_interval": 0, "even_deny_root": False, "root_unlock_time": None}
        if line["module"] == "pam_faillock":
            values: dict[str, Any] = dict(FAILLOCK_DEFAULTS)
            values.update(_simple_conf(reader.read(FAILLOCK_CONF)))
        else:
            values = {"deny": 0, "unlock_time": 0, "fail_interval": 0, "even_deny_root": False}
        # Every faillock line may carry options; deny/unlock_time usually sit on preauth/authfail.
        for m in modules:
            if m["type"] == "auth" and m["module"] == line["module"]:
                values.update({k: v for k, v in m["options"].items()
                               if k not in ("preauth", "authfail", "authsucc")})
        lines = [m for m in modules if m["type"] == "auth" and m["module"] == line["module"]]
        # Failures are counted by faillock's authfail line, which must be reachable (it runs
        # after a failed password); the check itself (preauth, or a lone tally line) must be
        # passed by every successful login.
        counting = [m for m in lines if m["options"].get("authfail")]
        enforced = any(m["enforced"] for m in lines if not m["options"].get("authfail")) and (
            line["module"] != "pam_faillock" or bool(counting))
        return {"present": True, "enforced": enforced, "module": line["module"],
                "deny": values.get("deny", 0),
                "unlock_time": values.get("unlock_time", 0),
                "fail_interval": values.get("fail_interval", 0),
                "even_deny_root": bool(values.get("even_deny_root", False)),
                "root_unlock_time": values.get("root_unlock_time")}

    def _unix(self, modules: list[dict[str, Any]], host: Any, reader: Reader) -> dict[str, Any]:
        unix = [m for m in modules if m["module"] == "pam_unix"]
        password = next((m for m in unix if m["type"] == "password"), None)
        hash_name, source = None, None
        if password is not None:
            hash_name = next((h for h in HASHES if password["options"].get(h) is True), None)
            source = "pam" if hash_name else None
        if hash_name is None:
            defs = read_login_defs(host, reader) or {}
            if defs.get("ENCRYPT_METHOD"):
                hash_name, source = str(defs["ENCRYPT_METHOD"]).lower(), "login.defs"
        nullok = [f"{m['file']}:{m['line']}" for m in unix
                  if m["options"].get("nullok") or m["options"].get("nullok_secure")]
        return {"present": bool(unix), "hash": hash_name, "hash_source": source,
                "nullok": bool(nullok), "nullok_lines": sorted(set(nullok)),
                "remember": password is not None and "remember" in password["options"],
                "use_authtok": password is not None and bool(password["options"].get("use_authtok"))}

    def _history(self, modules: list[dict[str, Any]], reader: Reader) -> dict[str, Any]:
        remember = 0
        module = None
        enforce_for_root = use_authtok = False
        hist = self._first(modules, "password", ("pam_pwhistory",))
        if hist is not None:
            conf = _simple_conf(reader.read(PWHISTORY_CONF))
            value = hist["options"].get("remember", conf.get("remember", 10))
            remember = value if isinstance(value, int) else 0
            module = "pam_pwhistory"
            enforce_for_root = bool(hist["options"].get("enforce_for_root",
                                                        conf.get("enforce_for_root", False)))
            use_authtok = bool(hist["options"].get("use_authtok"))
        unix = self._first(modules, "password", ("pam_unix",))
        if unix is not None and isinstance(unix["options"].get("remember"), int):
            if unix["options"]["remember"] > remember:
                remember, module = unix["options"]["remember"], "pam_unix"
        enforced = any(m["enforced"] for m in modules
                       if m["type"] == "password" and m["module"] == module)
        return {"present": module is not None, "enforced": enforced, "module": module,
                "remember": remember,
                "pwhistory": hist is not None, "enforce_for_root": enforce_for_root,
                "use_authtok": use_authtok}
