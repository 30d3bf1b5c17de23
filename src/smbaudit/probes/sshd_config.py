"""OpenSSH server configuration, read from files with sshd's own rules (no `sshd -T` needed).

Semantics follow sshd_config(5) and servconf.c (OpenSSH 9.x):
- keywords are case-insensitive; `Keyword value`, `Keyword=value` and `Keyword = value` all work;
  arguments may be quoted; a `#` that starts an argument ends the line;
- the first value obtained for a keyword wins, except for keywords that accumulate over
  lines (HostKey, HostCertificate, ListenAddress, Port, AcceptEnv, Allow/Deny Users/Groups) and
  Subsystem (first per subsystem name);
- `Include` takes paths and globs (relative ones are under /etc/ssh); each glob's matches are read
  in lexical order, at the place of the Include; nesting is bounded (16 levels, as sshd) and a
  cycle is reported, not followed;
- `Match` starts a conditional block that lasts until the next Match or the end of the file it
  is in (a Match inside an included file ends with that file, as in sshd); global settings are
  the ones outside any Match block;
- unset keywords take OpenSSH's compiled-in defaults (9.2p1, see `_ssh_algorithms`) and are listed
  in `defaults_used`; crypto lists apply the `+` (append), `-` (remove, wildcards) and `^`
  (prepend) forms to the default list and expand wildcards against the supported algorithms.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from smbaudit.errors import ProbeError
from smbaudit.models import TargetKind
from smbaudit.probes._common import Reader, host_of, lines_of
from smbaudit.probes._ssh_algorithms import DEFAULTS as ALG_DEFAULTS
from smbaudit.probes._ssh_algorithms import SUPPORTED
from smbaudit.probes import factschema as fs
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import HostTarget, Target

SSH_DIR = "/etc/ssh"
MAX_DEPTH = 16

ALIASES = {
    "pubkeyacceptedkeytypes": "pubkeyacceptedalgorithms",
    "hostbasedacceptedkeytypes": "hostbasedacceptedalgorithms",
    "challengeresponseauthentication": "kbdinteractiveauthentication",
    "dsaauthentication": "pubkeyauthentication",
    "skeyauthentication": "kbdinteractiveauthentication",
}

# Every line adds its arguments.
ACCUMULATE = {"hostkey", "hostcertificate", "listenaddress", "port", "acceptenv", "allowusers",
              "denyusers", "allowgroups", "denygroups"}
# Comma-separated algorithm lists (first line wins, then +/-/^ applied to the default).
CRYPTO_LISTS = set(ALG_DEFAULTS)
# First line wins; the value is the list of its arguments.
ARG_LISTS = {"authorizedkeysfile", "authenticationmethods", "setenv", "permitopen", "permitlisten",
             "ipqos", "logverbose", "channeltimeout", "rekeylimit"}
INTS = {"maxauthtries", "maxsessions", "clientalivecountmax", "x11displayoffset", "requiredrsasize"}
TIMES = {"logingracetime", "clientaliveinterval"}
UPPER = {"loglevel", "syslogfacility"}
KEEP_CASE = {"banner", "chrootdirectory", "forcecommand", "pidfile", "xauthlocation",
             "authorizedkeyscommand", "authorizedkeyscommanduser", "authorizedprincipalsfile",
             "authorizedprincipalscommand", "authorizedprincipalscommanduser", "trustedusercakeys",
             "revokedkeys", "hostkeyagent", "versionaddendum", "modulifile", "securitykeyprovider",
             "maxstartups", "persourcemaxstartups", "persourcenetblocksize", "fingerprinthash",
             "streamlocalbindmask", "subsystem"}

# Every keyword sshd_config(5) defines (OpenSSH 9.x-10.x, with Debian's and Red Hat's patches and
# the deprecated ones sshd still accepts), after ALIASES. sshd refuses any other: the probe lists
# such keywords in `unknown_keywords` instead of `settings`.
KEYWORDS = frozenset("""
acceptenv addressfamily afstokenpassing allowagentforwarding allowgroups
allowstreamlocalforwarding allowtcpforwarding allowusers authenticationmethods
authorizedkeyscommand authorizedkeyscommanduser authorizedkeysfile authorizedkeysfile2
authorizedprincipalscommand authorizedprincipalscommanduser authorizedprincipalsfile banner
casignaturealgorithms channeltimeout checkmail chrootdirectory ciphers clientalivecountmax
clientaliveinterval compression debianbanner denygroups denyusers disableforwarding
exposeauthinfo fingerprinthash forcecommand gatewayports gssapiauthentication
gssapicleanupcredentials gssapienablek5users gssapikexalgorithms gssapikeyexchange
gssapistorecredentialsonrekey gssapistrictacceptorcheck hostbasedacceptedalgorithms
hostbasedauthentication hostbasedusesnamefrompacketonly hostcertificate hostkey hostkeyagent
hostkeyalgorithms ignorerhosts ignoreuserknownhosts ipqos kbdinteractiveauthentication
kerberosauthentication kerberosgetafstoken kerberosorlocalpasswd kerberosticketcleanup
kerberostgtpassing kerberosusekuserok keepalive kexalgorithms keyregenerationinterval
listenaddress logingracetime loglevel logverbose macs maxauthtries maxsessions maxstartups
modulifile pamservicename passwordauthentication permitemptypasswords permitlisten permitopen
permitrootlogin permittty permittunnel permituserenvironment permituserrc persourcemaxstartups
persourcenetblocksize persourcepenalties persourcepenaltyexemptlist pidfile port printlastlog
printmotd protocol pubkeyacceptedalgorithms pubkeyauthentication pubkeyauthoptions rdomain
refuseconnection rekeylimit requiredrsasize revokedkeys rhostsauthentication
rhostsrsaauthentication rsaauthentication securitykeyprovider serverkeybits setenv
sshdauthpath sshdsessionpath streamlocalbindmask streamlocalbindunlink strictmodes subsystem
syslogfacility tcpkeepalive trustedusercakeys unusedconnectiontimeout usedns uselogin usepam
useprivilegeseparation verifyreversemapping versionaddendum x11displayoffset x11forwarding
x11uselocalhost xauthlocation
""".split())

# OpenSSH 9.2p1 compiled-in defaults (`sshd -T` with an empty config), for the keywords audits use.
DEFAULTS: dict[str, Any] = {
    "port": [22], "addressfamily": "any", "listenaddress": ["0.0.0.0", "::"],
    "hostkey": [f"{SSH_DIR}/ssh_host_rsa_key", f"{SSH_DIR}/ssh_host_ecdsa_key",
                f"{SSH_DIR}/ssh_host_ed25519_key"],
    "usepam": "no", "logingracetime": 120, "maxauthtries": 6, "maxsessions": 10,
    "clientaliveinterval": 0, "clientalivecountmax": 3, "requiredrsasize": 1024,
    "permitrootlogin": "prohibit-password", "ignorerhosts": "yes", "ignoreuserknownhosts": "no",
    "hostbasedauthentication": "no", "pubkeyauthentication": "yes",
    "kerberosauthentication": "no", "gssapiauthentication": "no",
    "passwordauthentication": "yes", "kbdinteractiveauthentication": "yes",
    "permitemptypasswords": "no", "permituserenvironment": "no", "x11forwarding": "no",
    "x11uselocalhost": "yes", "permittty": "yes", "permituserrc": "yes", "strictmodes": "yes",
    "tcpkeepalive": "yes", "compression": "yes", "gatewayports": "no", "usedns": "no",
    "allowtcpforwarding": "yes", "allowagentforwarding": "yes", "allowstreamlocalforwarding": "yes",
    "disableforwarding": "no", "permittunnel": "no", "printmotd": "yes", "printlastlog": "yes",
    "loglevel": "INFO", "syslogfacility": "AUTH", "banner": "none", "maxstartups": "10:30:100",
    "authorizedkeysfile": [".ssh/authorized_keys", ".ssh/authorized_keys2"],
    "authenticationmethods": ["any"], "fingerprinthash": "SHA256", "exposeauthinfo": "no",
    "chrootdirectory": "none", "forcecommand": "none", "trustedusercakeys": "none",
    "revokedkeys": "none",
    **{k: list(v) for k, v in ALG_DEFAULTS.items()},
}

PARAMS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "path": {"type": "string", "pattern": "^/", "description": "main config file"},
    },
}


def tokenize(line: str) -> list[str]:
    """Split like OpenSSH's argv_split: whitespace, "double"/'single' quotes, `#` ends the line,
    and a `=` may separate the keyword from its value."""
    args: list[str] = []
    i, n = 0, len(line)
    while i < n:
        while i < n and line[i] in " \t\r\n":
            i += 1
        if i >= n:
            break
        if line[i] == "#":
            break
        buf: list[str] = []
        quote = ""
        while i < n:
            ch = line[i]
            if quote:
                if ch == "\\" and i + 1 < n and line[i + 1] in (quote, "\\"):
                    buf.append(line[i + 1])
                    i += 2
                    continue
                if ch == quote:
                    quote = ""
                    i += 1
                    continue
                buf.append(ch)
            elif ch in "\"'":
                quote = ch
            elif ch in " \t\r\n":
                break
            elif ch == "\\" and i + 1 < n:
                buf.append(line[i + 1])
                i += 1
            else:
                buf.append(ch)
            i += 1
        args.append("".join(buf))
    if not args:
        return args
    # Keyword=value, Keyword = value, Keyword =value
    head = args[0]
    if "=" in head:
        kw, _, rest = head.partition("=")
        args = [kw] + ([rest] if rest else []) + args[1:]
    elif len(args) > 1 and args[1].startswith("="):
        rest = args[1][1:]
        args = [head] + ([rest] if rest else []) + args[2:]
    return args


def convtime(text: str) -> int | str:
    """sshd's time format (90, 1m30s, 2h) in seconds; the text itself when it does not parse."""
    if re.fullmatch(r"\d+", text):
        return int(text)
    total = 0
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    parts = re.findall(r"(\d+)([smhdwSMHDW]?)", text)
    if not parts or "".join(a + b for a, b in parts) != text:
        return text
    for num, unit in parts:
        total += int(num) * units[unit.lower() or "s"]
    return total


def assemble(keyword: str, spec: str) -> tuple[list[str], list[str]]:
    """Apply OpenSSH's kex_assemble_names: the effective list, and names not known to us."""
    default = ALG_DEFAULTS[keyword]
    supported = SUPPORTED.get(keyword, default)
    spec = spec.strip()
    if spec.startswith("+"):
        wanted = default + _split(spec[1:])
    elif spec.startswith("-"):
        patterns = _split(spec[1:])
        wanted = [a for a in default if not any(fnmatch.fnmatchcase(a, p) for p in patterns)]
    elif spec.startswith("^"):
        wanted = _split(spec[1:]) + default
    else:
        wanted = _split(spec)
    result: list[str] = []
    unknown: list[str] = []
    for name in wanted:
        if any(ch in name for ch in "*?"):
            matches = [a for a in supported if fnmatch.fnmatchcase(a, name)]
        elif name in supported:
            matches = [name]
        else:
            matches = [name]  # a name a newer OpenSSH knows: keep it, and say so
            unknown.append(name)
        for m in matches:
            if m not in result:
                result.append(m)
    return result, unknown


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


@dataclass
class _Block:
    """Settings of one scope: the global one or a Match block."""

    criteria: list[dict[str, str]] = field(default_factory=list)
    file: str = ""
    line: int = 0
    settings: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def set(self, keyword: str, args: list[str], where: str) -> None:
        if keyword in ACCUMULATE:
            values = self.settings.setdefault(keyword, [])
            for a in args:
                values.append(int(a) if keyword == "port" and a.isdigit() else a)
            self.sources.setdefault(keyword, where)
            return
        if keyword == "subsystem":
            if not args:
                return
            subs = self.settings.setdefault("subsystem", {})
            subs.setdefault(args[0], " ".join(args[1:]))
            self.sources.setdefault(keyword, where)
            return
        if keyword in self.settings:
            return  # first value wins
        self.settings[keyword] = _value(keyword, args)
        self.sources[keyword] = where


def _value(keyword: str, args: list[str]) -> Any:
    if keyword in CRYPTO_LISTS:
        return ",".join(args)  # expanded once parsing is complete
    if keyword in ARG_LISTS:
        return list(args)
    text = " ".join(args)
    if keyword in INTS:
        return int(text) if re.fullmatch(r"-?\d+", text) else text
    if keyword in TIMES:
        return convtime(text)
    if keyword in UPPER:
        return text.upper()
    if keyword in KEEP_CASE:
        return text
    value = text.lower() if len(args) == 1 else text
    if keyword == "permitrootlogin" and value == "without-password":
        value = "prohibit-password"
    return value


class _Parser:
    def __init__(self, host: HostTarget, ctx: ProbeContext):
        self.reader = Reader(host)
        self.ctx = ctx
        self.global_block = _Block()
        self.match_blocks: list[_Block] = []
        self.errors = self.reader.errors
        self.unknown_keywords: list[dict[str, Any]] = []

    def parse(self, path: str, block: _Block, stack: tuple[str, ...]) -> _Block:
        """Parse one file into `block` (Match lines open new blocks); returns the block in force
        at the end of the file, which the caller discards (Match ends with the file)."""
        self.ctx.check_deadline()
        if path in stack:
            self.errors.append(f"{path}: include cycle ({' -> '.join(stack + (path,))}); not followed")
            return block
        if len(stack) > MAX_DEPTH:
            self.errors.append(f"{path}: includes nested deeper than {MAX_DEPTH}; not followed")
            return block
        text = self.reader.read(path)
        if text is None:
            return block
        current = block
        for lineno, raw in enumerate(lines_of(text), 1):
            args = tokenize(raw)
            if not args:
                continue
            keyword = args[0].lower()
            keyword = ALIASES.get(keyword, keyword)
            where = f"{path}:{lineno}"
            if keyword == "match":
                current = _Block(criteria=_criteria(args[1:]), file=path, line=lineno)
                self.match_blocks.append(current)
                continue
            if keyword == "include":
                for pattern in args[1:]:
                    full = pattern if pattern.startswith("/") else f"{SSH_DIR}/{pattern}"
                    targets = (self.reader.glob(full) if any(c in full for c in "*?[")
                               else [full])
                    for inc in targets:
                        self.parse(inc, current, stack + (path,))
                continue
            if keyword not in KEYWORDS:
                self.unknown_keywords.append({"keyword": keyword, "file": path, "line": lineno})
                continue
            current.set(keyword, args[1:], where)
        return current


def _criteria(args: list[str]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    i = 0
    while i < len(args):
        kw = args[i].lower()
        if kw in ("all", "canonical", "final"):
            out.append({"keyword": kw, "value": ""})
            i += 1
            continue
        value = args[i + 1] if i + 1 < len(args) else ""
        out.append({"keyword": kw, "value": value})
        i += 2
    return out


def _finish(settings: dict[str, Any], unknown: list[str]) -> None:
    for kw in CRYPTO_LISTS:
        if isinstance(settings.get(kw), str):
            effective, unk = assemble(kw, settings[kw])
            settings[kw] = effective
            unknown.extend(u for u in unk if u not in unknown)


def _host_key_facts(host: HostTarget, path: str) -> dict[str, Any]:
    facts: dict[str, Any] = {"path": path, "exists": False, "type": None, "bits": None}
    st = host.stat(path)
    if st is None:
        return facts
    facts.update(exists=True, mode=st.mode_octal, owner=st.owner)
    m = re.search(r"ssh_host_(rsa|dsa|ecdsa|ed25519)_key$", path)
    if m:
        facts["type"] = m.group(1)
    try:
        pub = host.read_text(path + ".pub", 64 * 1024).split()
    except OSError:
        pub = []
    if len(pub) >= 2:
        facts["algorithm"] = pub[0]
        facts["type"] = {"ssh-rsa": "rsa", "ssh-dss": "dsa", "ssh-ed25519": "ed25519"}.get(
            pub[0], "ecdsa" if pub[0].startswith("ecdsa-") else pub[0])
        facts["bits"] = _key_bits(pub[0], pub[1])
    return facts


def _key_bits(algorithm: str, blob: str) -> int | None:
    from cryptography.hazmat.primitives.serialization import load_ssh_public_key

    if algorithm == "ssh-dss":
        return 1024  # DSA in SSH is fixed at 1024 bits (RFC 4253); weak whatever the size
    try:
        key = load_ssh_public_key(f"{algorithm} {blob}".encode())
    except (ValueError, TypeError, NotImplementedError):
        return None
    if hasattr(key, "key_size"):
        return int(key.key_size)
    if hasattr(key, "curve"):
        return int(key.curve.key_size)
    return 256 if algorithm == "ssh-ed25519" else None


def _by_type(keys: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Host keys grouped by type ({path, bits}); a key of unknown type or size is "other"."""
    groups: dict[str, list[dict[str, Any]]] = {t: [] for t in HOST_KEY_TYPES}
    for k in keys:
        known = k["type"] in groups and k["bits"] is not None
        groups[k["type"] if known else "other"].append({"path": k["path"], "bits": k["bits"]})
    return groups


HOST_KEY_TYPES = ("rsa", "dsa", "ecdsa", "ed25519", "other")


def _setting_schema(keyword: str) -> fs.Schema:
    if keyword == "subsystem":
        return fs.mapping(fs.STR)
    if keyword in ACCUMULATE or keyword in ARG_LISTS or keyword in CRYPTO_LISTS:
        return fs.list_of(fs.SCALAR)
    return fs.SCALAR


# The effective global settings: every keyword sshd knows may appear (set or defaulted).
_SETTINGS = fs.record_of({}, optional={k: _setting_schema(k) for k in sorted(KEYWORDS)})


class SshdConfigProbe(Probe):
    """Effective OpenSSH server settings from sshd_config and its includes.

    Facts: present (the main file exists), config_path, sshd_binary (path or None), files (every
    file read, in order), errors (unreadable files, include cycles), settings (lowercase keyword ->
    effective global value: int for counts and times in seconds, list for accumulating keywords
    and algorithm lists, lowercase words for yes/no-style values), sources (keyword -> file:line),
    defaults_used (keywords filled from OpenSSH defaults), match_blocks (list of {file, line,
    criteria: [{keyword, value}], settings}), unknown_algorithms, unknown_keywords ([{keyword,
    file, line}]: keywords sshd_config(5) does not define; sshd refuses them), host_keys (list of {path, exists, type,
    bits, algorithm, mode, owner}, judged from the .pub files; private keys are never read),
    host_keys_by_type ({rsa, dsa, ecdsa, ed25519, other: [{path, bits}]}; other: type or size
    unknown). Which algorithms and sizes are weak is the checks' business.
    """

    name = "sshd_config"
    description = "OpenSSH server configuration with includes, Match blocks and defaults"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = PARAMS_SCHEMA

    facts = fs.record(
        present=fs.BOOL, config_path=fs.STR, sshd_binary=fs.nullable(fs.STR),
        files=fs.list_of(fs.STR), errors=fs.list_of(fs.STR),
        settings=_SETTINGS,
        sources=fs.record_of({}, optional={k: fs.STR for k in sorted(KEYWORDS)}),
        defaults_used=fs.list_of(fs.STR),
        match_blocks=fs.list_of(fs.record(
            file=fs.STR, line=fs.INT,
            criteria=fs.list_of(fs.record(keyword=fs.STR, value=fs.STR)),
            settings=fs.record_of({}, optional=_SETTINGS["properties"]))),
        unknown_algorithms=fs.list_of(fs.STR),
        unknown_keywords=fs.list_of(fs.record(keyword=fs.STR, file=fs.STR, line=fs.INT)),
        host_keys=fs.list_of(fs.record(
            path=fs.STR, exists=fs.BOOL, type=fs.nullable(fs.STR), bits=fs.nullable(fs.INT),
            optional={"algorithm": fs.STR, "mode": fs.STR, "owner": fs.nullable(fs.STR)})),
        host_keys_by_type=fs.record_of({t: fs.list_of(fs.record(path=fs.STR,
                                                                bits=fs.nullable(fs.INT)))
                                        for t in HOST_KEY_TYPES}),
    )

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        config_path = params.get("path", f"{SSH_DIR}/sshd_config")
        binary = next((p for p in ("/usr/sbin/sshd", "/usr/bin/sshd", "/sbin/sshd")
                       if host.exists(p)), None)
        parser = _Parser(host, ctx)
        main = host.stat(config_path)
        if main is None:
            return {"present": False, "config_path": config_path, "sshd_binary": binary,
                    "files": [], "errors": [], "settings": {}, "sources": {},
                    "defaults_used": [], "match_blocks": [], "unknown_algorithms": [],
                    "unknown_keywords": [], "host_keys": [], "host_keys_by_type": _by_type([])}
        parser.parse(config_path, parser.global_block, ())
        if config_path not in parser.reader.files:
            raise ProbeError("; ".join(parser.errors) or f"{config_path}: cannot be read")
        settings = parser.global_block.settings
        unknown: list[str] = []
        _finish(settings, unknown)
        defaults_used = sorted(k for k in DEFAULTS if k not in settings)
        for k in defaults_used:
            default = DEFAULTS[k]
            settings[k] = list(default) if isinstance(default, list) else default
        matches = []
        for block in parser.match_blocks:
            _finish(block.settings, unknown)
            matches.append({"file": block.file, "line": block.line, "criteria": block.criteria,
                            "settings": block.settings})
        host_keys = []
        for path in settings.get("hostkey", []):
            ctx.check_deadline()
            host_keys.append(_host_key_facts(host, path))
        return {
            "present": True,
            "config_path": config_path,
            "sshd_binary": binary,
            "files": parser.reader.files,
            "errors": parser.errors,
            "settings": settings,
            "sources": parser.global_block.sources,
            "defaults_used": defaults_used,
            "match_blocks": matches,
            "unknown_algorithms": unknown,
            "unknown_keywords": parser.unknown_keywords,
            "host_keys": host_keys,
            "host_keys_by_type": _by_type(host_keys),
        }
