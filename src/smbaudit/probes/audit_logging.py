"""Audit and system logging: auditd (enabled, auditd.conf, rules), journald persistence, rsyslog
and logrotate. Read from files and systemd unit links, so it works offline as well as live."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from smbaudit.models import TargetKind
from smbaudit.probes._common import Reader, as_number, host_of, lines_of, strip_comment
from smbaudit.probes._systemd import UNIT_FACTS, unit_state
from smbaudit.probes import factschema as fs
from smbaudit.probes.accounts import scan_sudoers
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.probes.sudo import global_defaults
from smbaudit.targets.base import HostTarget, Target

AUDITD_CONF = "/etc/audit/auditd.conf"
RULES_D = "/etc/audit/rules.d"
AUDIT_RULES = "/etc/audit/audit.rules"
# auditd.conf(5) defaults (audit 3.x).
AUDITD_DEFAULTS: dict[str, Any] = {
    "max_log_file": 8, "max_log_file_action": "rotate", "num_logs": 5,
    "space_left_action": "syslog", "admin_space_left_action": "suspend",
    "disk_full_action": "suspend", "disk_error_action": "syslog", "log_format": "enriched",
}
JOURNALD_DIRS = ("/usr/lib/systemd/journald.conf.d", "/usr/local/lib/systemd/journald.conf.d",
                 "/run/systemd/journald.conf.d", "/etc/systemd/journald.conf.d")


def parse_auditd_conf(text: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for raw in lines_of(text or ""):
        line = strip_comment(raw)
        if "=" in line:
            k, _, v = line.partition("=")
            value = as_number(v.strip())
            values[k.strip().lower()] = value.lower() if isinstance(value, str) and \
                k.strip().lower().endswith("action") else value
    return values


def parse_audit_rules(lines: list[tuple[str, int, str]]) -> dict[str, Any]:
    """auditctl(8) rule lines -> watches, syscall rules, watched paths, syscalls, keys, immutable."""
    watches: list[dict[str, Any]] = []
    syscall_rules: list[dict[str, Any]] = []
    immutable = False
    for path, lineno, line in lines:
        tokens = line.split()
        if not tokens:
            continue
        opts: dict[str, list[str]] = {}
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok.startswith("-") and i + 1 < len(tokens) and not tokens[i + 1].startswith("-"):
                opts.setdefault(tok, []).append(tokens[i + 1])
                i += 2
            else:
                opts.setdefault(tok, [])
                i += 1
        keys = opts.get("-k") or opts.get("--key")
        key = keys[0] if keys else None
        where = {"file": path, "line": lineno}
        if "-e" in opts and opts["-e"] and opts["-e"][0] == "2":
            immutable = True
        if "-w" in opts:
            watches.append({"path": opts["-w"][0], "perms": (opts.get("-p") or [""])[0],
                            "key": key, **where})
        elif "-a" in opts or "-A" in opts:
            syscalls: list[str] = []
            for s in opts.get("-S", []):
                syscalls.extend(x for x in s.split(",") if x)
            fields = opts.get("-F", [])
            syscall_rules.append({"action": (opts.get("-a") or opts.get("-A") or [""])[0],
                                  "syscalls": syscalls, "fields": fields,
                                  "compare": opts.get("-C", []), "key": key, **where})
    paths = [w["path"] for w in watches]
    for rule in syscall_rules:
        for f in rule["fields"]:
            m = re.match(r"^(path|dir)=(.+)$", f)
            if m:
                paths.append(m.group(2))
    return {
        "watches": watches,
        "syscall_rules": syscall_rules,
        "by_arch": _by_arch(syscall_rules),
        "watched_paths": sorted({p.rstrip("/") or "/" for p in paths}),
        "syscalls": sorted({s for r in syscall_rules for s in r["syscalls"]}),
        "keys": sorted({k for k in [w["key"] for w in watches] + [r["key"] for r in syscall_rules] if k}),
        "immutable": immutable,
    }


def _by_arch(rules: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What the syscall exit rules audit, per architecture (a rule without arch= applies to the
    native one, b64 on the 64-bit hosts the benchmarks cover): syscalls, those audited when they
    fail with EACCES / EPERM, and whether execve is audited when euid differs from uid."""
    out: dict[str, dict[str, Any]] = {a: {"syscalls": set(), "eacces": set(), "eperm": set(),
                                          "euid_execve": False} for a in ("b64", "b32")}
    for rule in rules:
        action = {a.strip() for a in str(rule["action"]).split(",")}
        if "exit" not in action or "never" in action:
            continue
        arch = next((f.split("=", 1)[1] for f in rule["fields"] if f.startswith("arch=")), "b64")
        if arch not in out:
            continue
        facts = out[arch]
        names = set(rule["syscalls"])
        facts["syscalls"] |= names
        if "exit=-EACCES" in rule["fields"]:
            facts["eacces"] |= names
        if "exit=-EPERM" in rule["fields"]:
            facts["eperm"] |= names
        if "execve" in names and any(c.replace(" ", "") in ("euid!=uid", "uid!=euid")
                                     for c in rule.get("compare", [])):
            facts["euid_execve"] = True
    return {arch: {k: (sorted(v) if isinstance(v, set) else v) for k, v in facts.items()}
            for arch, facts in out.items()}


def _rule_lines(reader: Reader) -> tuple[list[tuple[str, int, str]], str]:
    """augenrules: rules.d/*.rules in order when present, else the compiled audit.rules."""
    files = [f"{RULES_D}/{n}" for n in reader.list_dir(RULES_D) if n.endswith(".rules")]
    source = "rules.d" if files else "audit.rules"
    if not files:
        files = [AUDIT_RULES]
    lines: list[tuple[str, int, str]] = []
    for path in files:
        text = reader.read(path)
        for lineno, raw in enumerate(lines_of(text or ""), 1):
            line = strip_comment(raw)
            if line:
                lines.append((path, lineno, line))
    return lines, source


def auditd_facts(host: HostTarget, reader: Reader) -> dict[str, Any]:
    installed = any(host.exists(p) for p in ("/usr/sbin/auditd", "/sbin/auditd", AUDITD_CONF))
    unit = unit_state(host, "auditd.service")
    conf = dict(AUDITD_DEFAULTS)
    configured = parse_auditd_conf(reader.read(AUDITD_CONF))
    conf.update(configured)
    lines, source = _rule_lines(reader)
    rules = parse_audit_rules(lines)
    return {"installed": installed, "enabled": installed and unit["enabled"], "unit": unit,
            "conf": conf, "conf_set": sorted(configured), "rules_source": source, **rules}


def sudo_log_watch(host: HostTarget, watches: list[dict[str, Any]]) -> dict[str, Any]:
    """sudo's own log file (the last global `Defaults logfile=`, None unset or unreadable) and
    whether an audit watch records writes to it (-p with w, or no -p: every access)."""
    scan = scan_sudoers(host)
    value = None if scan.unreadable else global_defaults(scan.defaults).get("logfile")
    logfile = value.strip('"') if isinstance(value, str) and value else None
    watched = logfile is not None and any(
        w["path"].rstrip("/") == logfile and (not w["perms"] or "w" in w["perms"]) for w in watches)
    return {"sudo_logfile": logfile, "sudo_logfile_watched": watched}


def journald_facts(host: HostTarget, reader: Reader) -> dict[str, Any]:
    values: dict[str, str] = {}
    files = ["/etc/systemd/journald.conf"]
    dropins: dict[str, str] = {}
    for d in JOURNALD_DIRS:
        for n in reader.list_dir(d):
            if n.endswith(".conf"):
                dropins[n] = f"{d}/{n}"  # later directories (/etc) override same-named files
    files += [dropins[n] for n in sorted(dropins)]
    for path in files:
        section = ""
        for raw in lines_of(reader.read(path) or ""):
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            if section == "Journal" and "=" in line:
                k, _, v = line.partition("=")
                values[k.strip()] = v.strip()
    storage = values.get("Storage", "auto").lower()
    persistent = storage == "persistent" or (storage == "auto" and host.exists("/var/log/journal"))
    return {"storage": storage, "persistent": persistent,
            "unit": unit_state(host, "systemd-journald.service"),
            "compress": values.get("Compress", "yes").lower() in ("yes", "true", "1", "on"),
            "forward_to_syslog": values.get("ForwardToSyslog", "no").lower() in ("yes", "true", "1", "on"),
            "settings": values}


def rsyslog_facts(host: HostTarget, reader: Reader) -> dict[str, Any]:
    installed = host.exists("/etc/rsyslog.conf") or host.exists("/usr/sbin/rsyslogd")
    unit = unit_state(host, "rsyslog.service")
    file_actions = 0
    create_mode = "0644"  # rsyslog's default $FileCreateMode
    remote_inputs: list[str] = []
    paths = ["/etc/rsyslog.conf"] + reader.glob("/etc/rsyslog.d/*.conf")
    for path in paths:
        for lineno, raw in enumerate(lines_of(reader.read(path) or ""), 1):
            line = strip_comment(raw)
            if re.search(r"\s-?/var/log/\S+\s*$", line) or re.search(r'file="/var/log/', line):
                file_actions += 1
            m = re.match(r"^\$FileCreateMode\s+(0?[0-7]{3,4})\b", line) or \
                re.search(r'fileCreateMode\s*=\s*"(0?[0-7]{3,4})"', line, re.I)
            if m:
                create_mode = m.group(1).zfill(4)
            if re.match(r"^\$(ModLoad\s+im(tcp|udp|relp)|InputTCPServerRun|UDPServerRun|InputRELPServerRun)\b",
                        line, re.I) or re.search(r'(module\s*\(\s*load|input\s*\(\s*type)\s*=\s*"im(tcp|udp|relp)"',
                                                 line, re.I):
                remote_inputs.append(f"{path}:{lineno}")
    daemon = host.exists("/usr/sbin/rsyslogd") or host.exists("/sbin/rsyslogd")
    return {"installed": installed, "enabled": installed and unit["enabled"], "daemon": daemon,
            "file_actions": file_actions, "unit": unit, "file_create_mode": create_mode,
            "remote_inputs": remote_inputs, "receives_remote": bool(remote_inputs)}


def logrotate_facts(host: HostTarget, reader: Reader) -> dict[str, Any]:
    text = reader.read("/etc/logrotate.conf")
    rotate = None
    frequency = None
    for raw in lines_of(text or ""):
        line = strip_comment(raw)
        if line.startswith("{") or line.startswith("}"):
            break  # per-log blocks follow the global options
        m = re.match(r"^rotate\s+(\d+)$", line)
        if m:
            rotate = int(m.group(1))
        if line in ("daily", "weekly", "monthly", "yearly", "hourly"):
            frequency = line
        if "{" in line:
            break
    scheduled = unit_state(host, "logrotate.timer")["enabled"] or host.exists("/etc/cron.daily/logrotate")
    return {"present": text is not None, "rotate": rotate, "frequency": frequency,
            "scheduled": scheduled, "configs": reader.list_dir("/etc/logrotate.d")}


class AuditLoggingProbe(Probe):
    """auditd, journald, rsyslog and logrotate configuration.

    Facts: auditd {installed, enabled, unit, conf (auditd.conf over its defaults; *_action values
    lower-case), conf_set (keys set in the file), rules_source (rules.d or audit.rules), watches
    [{path, perms, key, file, line}], syscall_rules [{action, syscalls, fields, compare, key, file,
    line}], by_arch ({b64, b32} -> {syscalls, eacces, eperm (syscalls audited on that failure),
    euid_execve (execve audited when euid != uid)}), watched_paths (from -w and -F path=/dir=),
    syscalls, keys, immutable (-e 2), sudo_logfile (sudoers' global Defaults logfile=),
    sudo_logfile_watched (a watch with w covers it)},
    journald {storage, persistent, unit (systemd-journald.service), compress, forward_to_syslog,
    settings},
    rsyslog {installed (its configuration or daemon is present), enabled, daemon (rsyslogd is
    installed), file_actions (rules writing under /var/log), unit,
    file_create_mode (of new log files, rsyslog's default 0644), remote_inputs (file:line of
    imtcp / imudp / imrelp inputs), receives_remote},
    logrotate {present, rotate, frequency, scheduled (timer or cron.daily), configs},
    persistent_logs (journald keeps logs on disk, or an enabled rsyslog writes log files),
    files, errors.
    """

    name = "audit_logging"
    description = "auditd, journald, rsyslog and logrotate configuration"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False,
                                     "properties": {}}

    facts = fs.record(
        auditd=fs.record(
            installed=fs.BOOL, enabled=fs.BOOL, unit=UNIT_FACTS,
            conf=fs.mapping(fs.SCALAR),  # auditd.conf keys (lower case) over their defaults
            conf_set=fs.list_of(fs.STR), rules_source=fs.enum("rules.d", "audit.rules"),
            watches=fs.list_of(fs.record(path=fs.STR, perms=fs.STR, key=fs.nullable(fs.STR),
                                         file=fs.STR, line=fs.INT)),
            syscall_rules=fs.list_of(fs.record(
                action=fs.STR, syscalls=fs.list_of(fs.STR), fields=fs.list_of(fs.STR),
                compare=fs.list_of(fs.STR), key=fs.nullable(fs.STR), file=fs.STR, line=fs.INT)),
            by_arch=fs.record(**{arch: fs.record(
                syscalls=fs.list_of(fs.STR), eacces=fs.list_of(fs.STR), eperm=fs.list_of(fs.STR),
                euid_execve=fs.BOOL) for arch in ("b64", "b32")}),
            watched_paths=fs.list_of(fs.STR), syscalls=fs.list_of(fs.STR),
            keys=fs.list_of(fs.STR), immutable=fs.BOOL,
            sudo_logfile=fs.nullable(fs.STR), sudo_logfile_watched=fs.BOOL),
        journald=fs.record(storage=fs.STR, persistent=fs.BOOL, unit=UNIT_FACTS, compress=fs.BOOL,
                           forward_to_syslog=fs.BOOL, settings=fs.mapping(fs.STR)),
        rsyslog=fs.record(installed=fs.BOOL, enabled=fs.BOOL, daemon=fs.BOOL, file_actions=fs.INT,
                          unit=UNIT_FACTS, file_create_mode=fs.STR,
                          remote_inputs=fs.list_of(fs.STR), receives_remote=fs.BOOL),
        logrotate=fs.record(present=fs.BOOL, rotate=fs.nullable(fs.INT),
                            frequency=fs.nullable(fs.STR), scheduled=fs.BOOL,
                            configs=fs.list_of(fs.STR)),
        persistent_logs=fs.BOOL, files=fs.list_of(fs.STR), errors=fs.list_of(fs.STR),
    )

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        reader = Reader(host)
        auditd = auditd_facts(host, reader)
        auditd.update(sudo_log_watch(host, auditd["watches"]))
        ctx.check_deadline()
        journald = journald_facts(host, reader)
        rsyslog = rsyslog_facts(host, reader)
        logrotate = logrotate_facts(host, reader)
        return {
            "auditd": auditd,
            "journald": journald,
            "rsyslog": rsyslog,
            "logrotate": logrotate,
            "persistent_logs": journald["persistent"] or (rsyslog["enabled"] and rsyslog["file_actions"] > 0),
            "files": reader.files,
            "errors": reader.errors,
        }
