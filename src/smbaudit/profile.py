"""Scan profiles: one YAML file that holds everything a scheduled scan needs.

A profile is validated against a JSON Schema; every problem is reported with file:line:field.
Relative paths in it are relative to the profile file, so a cron job works from any folder.
`ScanProfile.settings` is a fragment of a scan configuration (`config.ScanConfig` field
names); flags given on the command line win over it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smbaudit import schemacheck, yamlload
from smbaudit.errors import FieldError, InputFileError

SEVERITIES = ["info", "low", "medium", "high", "critical"]
_STRINGS = {"type": "array", "items": {"type": "string", "minLength": 1}}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "schema": {"const": 1},
        "name": {"type": "string", "minLength": 1},
        "targets": {"type": "array", "minItems": 1, "items": {"oneOf": [
            {"type": "string", "minLength": 1},
            {"type": "object", "additionalProperties": False, "required": ["target"],
             "properties": {"target": {"type": "string", "minLength": 1},
                            "name": {"type": "string", "minLength": 1}}}]}},
        "checks": {
            "type": "object", "additionalProperties": False,
            "properties": {"paths": _STRINGS, "default": {"type": "boolean"},
                           "select": _STRINGS, "skip": _STRINGS, "plugins": _STRINGS},
        },
        "frameworks": _STRINGS,
        "evidence": _STRINGS,
        "attestations": {"type": "string", "minLength": 1},
        "waivers": _STRINGS,
        "outputs": {
            "type": "object", "additionalProperties": False,
            "properties": {"dir": {"type": "string", "minLength": 1},
                           "formats": {**_STRINGS, "minItems": 1},
                           "sarif_base": {"type": "string"}},
        },
        "fail_on": {"enum": [*SEVERITIES, "none"]},
        "fail_on_new": {"enum": SEVERITIES},
        "history": {
            "type": "object", "additionalProperties": False,
            "properties": {"db": {"type": "string", "minLength": 1},
                           "enabled": {"type": "boolean"}},
        },
        "scan": {
            "type": "object", "additionalProperties": False,
            "properties": {"timeout": {"type": "number", "minimum": 0.1},
                           "probe_timeout": {"type": "number", "minimum": 1},
                           "jobs": {"type": "integer", "minimum": 1, "maximum": 64},
                           "ports": {"type": "string"},
                           "timing": {"type": "integer", "minimum": 0, "maximum": 5},
                           "scan_type": {"enum": ["auto", "connect", "syn"]}},
        },
        "ssh": {
            "type": "object", "additionalProperties": False,
            "properties": {"inventory": _STRINGS,
                           "limit": {"type": "string", "minLength": 1},
                           "config": {"type": "string", "minLength": 1},
                           "known_hosts": _STRINGS,
                           "key": {"type": "string", "minLength": 1},
                           "accept_new_host_key": {"type": "boolean"},
                           "become": {"type": "boolean"},
                           "parallel_hosts": {"type": "integer", "minimum": 1, "maximum": 256},
                           "host_jobs": {"type": "integer", "minimum": 1, "maximum": 64}},
        },
        "lock": {"type": ["string", "boolean"]},
        "log_file": {"type": "string", "minLength": 1},
        "notify": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "webhook": {"type": "string", "pattern": "^https?://"},
                "email": {
                    "type": "object", "additionalProperties": False, "required": ["to"],
                    "properties": {
                        "to": {**_STRINGS, "minItems": 1},
                        "from": {"type": "string", "minLength": 3},
                        "smtp_host": {"type": "string", "minLength": 1},
                        "smtp_port": {"type": "integer", "minimum": 1, "maximum": 65535},
                        "security": {"enum": ["none", "starttls", "ssl"]},
                        "username": {"type": "string"},
                        "password_env": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                        "timeout": {"type": "number", "minimum": 1},
                    },
                },
            },
        },
    },
}


@dataclass(frozen=True)
class SmtpSettings:
    """How e-mail notifications are sent. The password is read from an environment variable
    named in the profile, never from the profile itself."""

    host: str = "localhost"
    port: int = 25
    security: str = "none"  # none | starttls | ssl
    sender: str = "smbaudit@localhost"
    username: str | None = None
    password_env: str | None = None
    timeout: float = 30.0

    def password(self) -> str | None:
        return os.environ.get(self.password_env) if self.password_env else None


@dataclass(frozen=True)
class ScanProfile:
    path: Path
    name: str
    settings: dict[str, Any]  # ScanConfig field name -> value
    smtp: SmtpSettings = field(default_factory=SmtpSettings)

    def auto_lock_path(self, state_dir: Path) -> Path:
        """The automatic lock of this profile: one per profile file, in the state folder."""
        digest = hashlib.sha256(str(self.path.resolve()).encode()).hexdigest()[:12]
        return state_dir / "locks" / f"{self.path.stem}-{digest}.lock"


MAX_LABEL = 80
# The report formats a profile may name (render.formats.OutputFormat; a test keeps them equal).
FORMATS = ("html", "json", "sarif", "junit", "csv", "markdown", "pdf")


def label_problem(label: str) -> str | None:
    """Why a target name (--name, a profile's `name:`) cannot be used, or None."""
    if not label.strip() or label != label.strip():
        return "a name is some text without spaces at either end"
    if len(label) > MAX_LABEL:
        return f"a name has at most {MAX_LABEL} characters"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in label):
        return "a name has no control characters"
    return None


def is_host_spec(spec: str) -> bool:
    """A target that is a host (and so may be named): local, dir:PATH or ssh://HOST."""
    return spec == "local" or spec.startswith(("dir:", "ssh://"))


def _errors(doc: Any, path: str) -> list[FieldError]:
    return schemacheck.field_errors(SCHEMA, doc, path)


def _rel(base: Path, value: str) -> str:
    p = Path(os.path.expanduser(value))
    return os.path.normpath(p if p.is_absolute() else base / p)


def _rel_target(base: Path, spec: str) -> str:
    return "dir:" + _rel(base, spec[4:]) if spec.startswith("dir:") else spec


def _ssh_settings(base: Path, ssh: dict[str, Any]) -> dict[str, Any]:
    """The `ssh:` section as ScanConfig fields (paths relative to the profile). Secrets are
    not settings: keys come from files or the agent, a password from the environment."""
    o: dict[str, Any] = {}
    if "inventory" in ssh:
        o["inventory"] = tuple(_rel(base, i) for i in ssh["inventory"])
    if "limit" in ssh:
        o["limit"] = ssh["limit"]
    if "config" in ssh:
        o["ssh_config"] = _rel(base, ssh["config"])
    if "known_hosts" in ssh:
        o["ssh_known_hosts"] = tuple(_rel(base, k) for k in ssh["known_hosts"])
    if "key" in ssh:
        o["ssh_key"] = _rel(base, ssh["key"])
    for key, name in (("accept_new_host_key", "ssh_accept_new_host_key"), ("become", "become"),
                      ("parallel_hosts", "parallel_hosts"), ("host_jobs", "host_jobs")):
        if key in ssh:
            o[name] = ssh[key]
    return o


def load(path: str | Path) -> ScanProfile:
    """Read and validate a profile; relative paths become relative to its folder."""
    p = Path(path)
    doc = yamlload.load_file(p)
    if not isinstance(doc, dict):
        raise InputFileError([FieldError(str(p), 1, "", "a profile is a YAML mapping")])
    problems = _errors(doc, str(p))
    if problems:
        raise InputFileError(problems)
    base = p.resolve().parent
    ssh = doc.get("ssh", {})
    if not doc.get("targets") and not ssh.get("inventory"):
        raise InputFileError([FieldError(str(p), 1, "targets",
                                         "list at least one target, or ssh.inventory")])
    entries = [t if isinstance(t, dict) else {"target": t} for t in doc.get("targets", ())]
    o: dict[str, Any] = {"targets": tuple(_rel_target(base, t["target"]) for t in entries)}
    o.update(_ssh_settings(base, ssh))
    if any("name" in t for t in entries):
        o["names"] = tuple(t.get("name", "") for t in entries)
        for i, t in enumerate(entries):
            problem = label_problem(t["name"]) if "name" in t else None
            if problem:
                raise InputFileError([FieldError(str(p), yamlload.line_at(doc, ("targets", i)),
                                                 f"targets[{i}].name", problem)])
    checks = doc.get("checks", {})
    if "paths" in checks:
        o["check_paths"] = tuple(_rel(base, c) for c in checks["paths"])
    if "default" in checks:
        o["default_checks"] = bool(checks["default"])
    for key in ("select", "skip"):
        if key in checks:
            o[key] = tuple(checks[key])
    if "plugins" in checks:
        o["plugins"] = tuple(checks["plugins"])
    if "frameworks" in doc:
        o["frameworks"] = tuple(doc["frameworks"])
    if "evidence" in doc:
        o["evidence_dirs"] = tuple(Path(_rel(base, e)) for e in doc["evidence"])
    if "attestations" in doc:
        o["attestations"] = Path(_rel(base, doc["attestations"]))
    if "waivers" in doc:
        o["waiver_files"] = tuple(_rel(base, w) for w in doc["waivers"])
    outputs = doc.get("outputs", {})
    if "formats" in outputs:
        o["formats"] = tuple(f.lower() for f in outputs["formats"])  # any case, as on the CLI
        for i, f in enumerate(o["formats"]):
            if f not in FORMATS:
                raise InputFileError([FieldError(
                    str(p), yamlload.line_at(doc, ("outputs", "formats", i)),
                    f"outputs.formats[{i}]", f"unknown report format {f!r} (known: "
                    f"{', '.join(FORMATS)})")])
    if "dir" in outputs:
        o["output"] = _rel(base, outputs["dir"])
        o["output_is_folder"] = True
    if "sarif_base" in outputs:
        o["sarif_base"] = outputs["sarif_base"]
    for key in ("fail_on", "fail_on_new"):
        if key in doc:
            o[key] = doc[key]
    hist = doc.get("history", {})
    if "db" in hist:
        o["db"] = _rel(base, hist["db"])
    if "enabled" in hist:
        o["history"] = bool(hist["enabled"])
    o.update(doc.get("scan", {}))
    if doc.get("lock") is False:
        o["use_lock"] = False
    elif isinstance(doc.get("lock"), str):
        o["lock"] = _rel(base, doc["lock"])
    if "log_file" in doc:
        o["log_file"] = _rel(base, doc["log_file"])
    notify = doc.get("notify", {})
    if "webhook" in notify:
        o["notify_webhook"] = notify["webhook"]
    smtp = SmtpSettings()
    if "email" in notify:
        e = notify["email"]
        o["notify_email"] = tuple(e["to"])
        security = e.get("security", "none")
        default_port = {"none": 25, "starttls": 587, "ssl": 465}[security]
        smtp = SmtpSettings(host=e.get("smtp_host", "localhost"),
                            port=e.get("smtp_port", default_port), security=security,
                            sender=e.get("from", "smbaudit@localhost"),
                            username=e.get("username"), password_env=e.get("password_env"),
                            timeout=float(e.get("timeout", 30)))
    o["smtp"] = smtp
    return ScanProfile(path=p, name=doc.get("name", p.stem), settings=o, smtp=smtp)


STARTER = """\
# smbaudit scan profile. Run it with:   smbaudit scan --profile {filename} -q
# Anything given on the command line overrides this file. Relative paths are relative to
# this file's folder. Check it with: smbaudit scan --profile {filename} (exit 2 = a problem,
# reported as file:line).
schema: 1
name: {name}

# What to audit: `local` (this host), `dir:PATH` (an offline tree read as if it were /),
# a host name, IP address or CIDR range (network services, found by nmap), or HOST:PORT.
# A target may be given a name for reports and history: `- {{target: dir:/srv/img, name: web-1}}`.
targets:
  - local

# Remote hosts over SSH (agentless, read-only SFTP): Ansible inventories (INI or YAML) or
# plain host lists, an Ansible --limit pattern, the OpenSSH client configuration, extra
# known_hosts files, and `become` (read root-only files through `sudo -n sftp-server`).
# Keys come from files named here, in the inventory or ssh_config, or from ssh-agent; a
# password only from $SMBAUDIT_SSH_PASSWORD.
# ssh:
#   inventory: [./hosts.ini]
#   limit: web:&prod
#   config: ~/.ssh/config
#   known_hosts: [./known_hosts]
#   become: false
#   parallel_hosts: 8       # hosts audited at once
#   host_jobs: 8            # probes at once on each host

# Which checks run. `default: false` runs only the packs under `paths`.
checks:
  default: true
  paths: []            # extra check packs (files or folders)
  select: []           # only these: ids, id globs (ssh.*), categories, tags or packs
  skip: []             # never these
  plugins: []          # third-party probe plugins to enable

# Regulations to report coverage for, folders of policy documents as evidence, and the
# answered questionnaire (smbaudit policies questionnaire).
# frameworks: [hipaa, gdpr, ccpa]
# evidence: [./policies]
# attestations: ./attestations.yaml

# Accepted risks: YAML files with a `waivers:` list (check, target, justification,
# approved_by, expires). Waived findings stay visible but leave the score until they expire.
waivers: []

outputs:
  dir: ./reports/{name}
  formats: [html, json]   # also: sarif, junit, csv, markdown, pdf
  # sarif_base: infra/rootfs   # SARIF: the repository folder of a scanned dir: tree

# Exit 1 when a failing finding is at least this severe (info low medium high critical none).
fail_on: high
# Or only when findings NEW or REGRESSED since the last scan reach a severity:
# fail_on_new: high

history:
  enabled: true
  # db: ./history.sqlite3     # default: history.sqlite3 in the user data folder

scan:
  timeout: 10          # seconds per connection or command
  probe_timeout: 120   # seconds per probe run
  jobs: 4

# Overlapping runs of this profile are refused (exit 2) through a lock file kept in the user
# state folder. `lock: false` turns it off; a path chooses the file.
lock: true
# log_file: ./smbaudit.log

# Tell someone when the threshold above is crossed.
# notify:
#   webhook: https://hooks.example.com/smbaudit     # a JSON POST
#   email:
#     to: [it@example.com]
#     from: smbaudit@example.com
#     smtp_host: mail.example.com
#     smtp_port: 587
#     security: starttls          # none | starttls | ssl
#     username: smbaudit
#     password_env: SMBAUDIT_SMTP_PASSWORD   # the password is read from this variable
"""


def starter(name: str, filename: str) -> str:
    """The commented starter profile `smbaudit init` writes."""
    return STARTER.format(name=name, filename=filename)
