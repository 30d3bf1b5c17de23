"""Operators: turn a probe's facts and a check's condition into a status and its evidence."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from smbaudit import problemtext, versions
from smbaudit.models import Assertion, CheckDef, Condition, Evidence
from smbaudit.redact import redact_text

_MISSING = object()
MAX_ITEM_EVIDENCE = 25


class EvaluationError(Exception):
    """The facts do not fit the assertion (e.g. a number compared with a word)."""


# --------------------------------------------------------------------------- facts


def resolve(facts: Any, path: str) -> list[tuple[str, Any]]:
    """All (concrete path, value) pairs a dotted path reaches; `*` walks every list element
    or mapping value. A missing step yields a single (path, _MISSING) pair."""
    results: list[tuple[str, Any]] = [("", facts)]
    for step in path.split("."):
        nxt: list[tuple[str, Any]] = []
        for prefix, node in results:
            if node is _MISSING:
                nxt.append((_join(prefix, step), _MISSING))
            elif step == "*":
                if isinstance(node, list):
                    nxt.extend((f"{prefix}[{i}]", item) for i, item in enumerate(node))
                elif isinstance(node, dict):
                    nxt.extend((_join(prefix, str(k)), v) for k, v in node.items())
            elif isinstance(node, dict):
                nxt.append((_join(prefix, step), node.get(step, _MISSING)))
            elif isinstance(node, list) and step.isdigit():
                idx = int(step)
                nxt.append((f"{prefix}[{idx}]", node[idx] if idx < len(node) else _MISSING))
            else:
                nxt.append((_join(prefix, step), _MISSING))
        results = nxt
    return results


def _join(prefix: str, step: str) -> str:
    return f"{prefix}.{step}" if prefix else step


def item_label(facts: Any, concrete_path: str) -> str:
    """A readable name for the list element a concrete path passes through (its path/name/id)."""
    m = re.match(r"^(.*?\[\d+\])", concrete_path)
    if not m:
        return ""
    node: Any = facts
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", m.group(1)):
        if part.startswith("["):
            node = node[int(part[1:-1])]
        else:
            node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        for key in ("path", "name", "user", "id", "package", "key", "file"):
            if isinstance(node.get(key), (str, int)):
                return redact_text(str(node[key]))  # observed: redacted here, check text never
    return ""


# --------------------------------------------------------------------------- versions


def compare_versions(a: str, b: str, scheme: str | None) -> int:
    """-1, 0 or 1. deb and rpm follow the distributions' own ordering (epochs, tildes)."""
    a, b = str(a), str(b)
    if scheme in ("deb", "rpm"):
        return versions.compare(a, b, scheme)
    result = _generic_compare(a, b)
    return (result > 0) - (result < 0)


def _generic_compare(a: str, b: str) -> int:
    """Dotted numeric comparison that tolerates suffixes like 8.9p1 or 1.1.1w."""

    def key(v: str) -> list[tuple[int, int | str]]:
        return [(0, int(p)) if p.isdigit() else (1, p) for p in re.findall(r"\d+|[A-Za-z]+", v)]

    ka, kb = key(a), key(b)
    return (ka > kb) - (ka < kb)


# --------------------------------------------------------------------------- operators


def _num(value: Any) -> float:
    if isinstance(value, bool):
        raise EvaluationError(f"expected a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise EvaluationError(f"expected a number, got {value!r}") from None


@lru_cache(maxsize=2048)
def compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _norm(value: Any) -> Any:
    """Case-insensitive comparison for words: config keywords (yes/No/YES) mean the same."""
    return value.lower() if isinstance(value, str) else value


def _mode(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(str(value), 8)
    except ValueError:
        raise EvaluationError(f"expected an octal mode, got {value!r}") from None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


Operator = Callable[[Any, Assertion], bool]

OPERATORS: dict[str, Operator] = {
    "exists": lambda v, a: v is not _MISSING and v is not None,
    "absent": lambda v, a: v is _MISSING or v is None,
    "equals": lambda v, a: _norm(v) == _norm(a.value),
    "not_equals": lambda v, a: _norm(v) != _norm(a.value),
    "in": lambda v, a: _norm(v) in [_norm(x) for x in a.value],
    "not_in": lambda v, a: _norm(v) not in [_norm(x) for x in a.value],
    "matches": lambda v, a: any(compiled(a.value).search(str(x)) for x in _as_list(v)),
    "not_matches": lambda v, a: not any(compiled(a.value).search(str(x)) for x in _as_list(v)),
    "contains": lambda v, a: (_norm(a.value) in [_norm(x) for x in v]) if isinstance(v, list)
    else str(a.value).lower() in str(v).lower(),
    "not_contains": lambda v, a: (_norm(a.value) not in [_norm(x) for x in v]) if isinstance(v, list)
    else str(a.value).lower() not in str(v).lower(),
    "lt": lambda v, a: _num(v) < _num(a.value),
    "le": lambda v, a: _num(v) <= _num(a.value),
    "gt": lambda v, a: _num(v) > _num(a.value),
    "ge": lambda v, a: _num(v) >= _num(a.value),
    "version_lt": lambda v, a: compare_versions(v, a.value, a.scheme) < 0,
    "version_le": lambda v, a: compare_versions(v, a.value, a.scheme) <= 0,
    "version_gt": lambda v, a: compare_versions(v, a.value, a.scheme) > 0,
    "version_ge": lambda v, a: compare_versions(v, a.value, a.scheme) >= 0,
    "empty": lambda v, a: v is None or (hasattr(v, "__len__") and len(v) == 0),
    "not_empty": lambda v, a: v is not None and hasattr(v, "__len__") and len(v) > 0,
    "mode_at_most": lambda v, a: (_mode(v) & ~_mode(a.value)) == 0,
    "is_true": lambda v, a: v is True,
    "is_false": lambda v, a: v is False,
}

_EXPECT_WORDS = {
    "exists": "present",
    "absent": "absent",
    "equals": "= {v}",
    "not_equals": "not {v}",
    "in": "one of {v}",
    "not_in": "none of {v}",
    "matches": "matching /{v}/",
    "not_matches": "not matching /{v}/",
    "contains": "containing {v}",
    "not_contains": "not containing {v}",
    "lt": "< {v}",
    "le": "<= {v}",
    "gt": "> {v}",
    "ge": ">= {v}",
    "version_lt": "version < {v}",
    "version_le": "version <= {v}",
    "version_gt": "version > {v}",
    "version_ge": "version >= {v}",
    "empty": "none",
    "not_empty": "at least one",
    "mode_at_most": "mode {v} or stricter",
    "is_true": "true",
    "is_false": "false",
}

# Operators that are meaningful on a missing fact; all others fail on it (unless a default is set).
_MISSING_OK = {"exists", "absent", "empty", "not_empty", "not_in", "not_equals", "not_matches",
               "not_contains"}


def describe_expected(a: Assertion) -> str:
    value = a.value
    if isinstance(value, list):
        value = ", ".join(str(x) for x in value)
    return _EXPECT_WORDS[a.op].format(v=value)


def _test_value(value: Any, a: Assertion) -> bool:
    if value is _MISSING and a.has_default:
        value = a.default
    if value is _MISSING and a.op not in _MISSING_OK:
        return False
    if value is _MISSING and a.op in ("empty", "absent", "not_in", "not_equals", "not_matches",
                                      "not_contains"):
        return True
    if value is _MISSING and a.op == "not_empty":
        return False
    try:
        return OPERATORS[a.op](value, a)
    except EvaluationError:
        raise
    except (TypeError, ValueError) as exc:
        raise EvaluationError(f"the value of {a.fact} ({_shown(value)!r}) cannot be tested "
                              f"as {describe_expected(a)!r}: {exc}") from None


def _shown(value: Any) -> Any:
    return "<not set>" if value is _MISSING else value


# --------------------------------------------------------------------------- conditions


@dataclass
class Outcome:
    passed: bool
    evidence: list[Evidence]
    # The elements of `*` paths that explain the outcome, as (label, element): the offenders
    # when it failed. They fill a problem headline's {failed} placeholders.
    items: list[tuple[str, Any]] = field(default_factory=list)
    # The `message` of each assertion that explains the outcome (fills {message}).
    messages: list[str] = field(default_factory=list)


def eval_assertion(a: Assertion, facts: Any) -> Outcome:
    expected = describe_expected(a)
    pairs = resolve(facts, a.fact)
    if "*" not in a.fact:
        path, value = pairs[0]
        ok = _test_value(value, a)
        shown = a.default if value is _MISSING and a.has_default else _shown(value)
        note = " (default)" if value is _MISSING and a.has_default else ""
        msg = a.message if (a.message and not ok) else ""
        return Outcome(ok, [Evidence(fact=a.fact, observed=shown, expected=expected + note, ok=ok,
                                     message=msg)], _list_offenders(a, value, ok),
                       [a.message] if a.message else [])
    results = [(path, value, _test_value(value, a)) for path, value in pairs]
    holds = [ok for _, _, ok in results]
    elements = resolve(facts, a.fact[:a.fact.rindex("*") + 1])
    if a.quantifier == "any":
        passed = any(holds)
    elif a.quantifier == "none":
        passed = not any(holds)
    else:
        passed = all(holds)
    # Evidence names the elements that decide the outcome: the offenders when it failed.
    if a.quantifier == "none":
        offending = [(p, v) for p, v, ok in results if ok]
    else:
        offending = [(p, v) for p, v, ok in results if not ok]
    # The outcome is about the elements that hold, or about those that do not.
    about_holding = passed != (a.quantifier == "none")
    items = [(problemtext.label_of(element, _last_step(path)), element)
             for (path, element), (_, _, ok) in zip(elements, results)
             if ok == about_holding and element is not _MISSING]
    evidence: list[Evidence] = []
    if passed:
        evidence.append(Evidence(fact=a.fact, observed=f"{len(results)} item(s) checked",
                                 expected=f"{a.quantifier}: {expected}", ok=True))
    else:
        if not results:
            evidence.append(Evidence(fact=a.fact, observed="no items", ok=False,
                                     expected=f"{a.quantifier}: {expected}",
                                     message=a.message or ""))
        for path, value in offending[:MAX_ITEM_EVIDENCE]:
            label = item_label(facts, path)
            evidence.append(Evidence(fact=path, observed=_shown(value),
                                     expected=f"{a.quantifier}: {expected}", ok=False,
                                     message=(a.message + ": " if a.message else "") + label
                                     if label else (a.message or "")))
        if len(offending) > MAX_ITEM_EVIDENCE:
            evidence.append(Evidence(fact=a.fact, observed=f"{len(offending) - MAX_ITEM_EVIDENCE} more",
                                     expected="", ok=False, message="further items not listed"))
    return Outcome(passed, evidence, items, [a.message] if a.message else [])


def _list_offenders(a: Assertion, value: Any, ok: bool) -> list[tuple[str, Any]]:
    """A list that should be empty names its elements as the offenders; a list that should
    lack a value names that value."""
    if ok or not isinstance(value, list):
        return []
    if a.op in ("empty", "absent"):
        return [(problemtext.label_of(v), v) for v in value]
    if a.op == "not_contains":
        return [(str(a.value), a.value)]
    return []


def _last_step(concrete_path: str) -> str:
    return re.split(r"[.\[]", concrete_path)[-1].rstrip("]")


def eval_condition(cond: Condition, facts: Any) -> Outcome:
    outcomes = [eval_assertion(item, facts) if isinstance(item, Assertion)
                else eval_condition(item, facts) for item in cond.items]
    if cond.mode == "all":
        passed = all(o.passed for o in outcomes)
        # On failure, show what failed; on success, show everything that was checked.
        shown = outcomes if passed else [o for o in outcomes if not o.passed]
    elif cond.mode == "any":
        passed = any(o.passed for o in outcomes)
        shown = [o for o in outcomes if o.passed] if passed else outcomes
    else:  # none
        passed = not any(o.passed for o in outcomes)
        shown = outcomes if passed else [o for o in outcomes if o.passed]
        shown_evidence = [Evidence(e.fact, e.observed, f"not ({e.expected})", not e.ok, e.message)
                          for o in shown for e in o.evidence]
        return Outcome(passed, shown_evidence, _merged_items(shown), _merged_messages(shown))
    return Outcome(passed, [e for o in shown for e in o.evidence], _merged_items(shown),
                   _merged_messages(shown))


def _merged_messages(outcomes: list[Outcome]) -> list[str]:
    return list(dict.fromkeys(m for o in outcomes for m in o.messages))


def _merged_items(outcomes: list[Outcome]) -> list[tuple[str, Any]]:
    """Each element once, in order, even when several assertions name it."""
    seen: set[int] = set()
    merged = []
    for label, element in (i for o in outcomes for i in o.items):
        if id(element) not in seen:
            seen.add(id(element))
            merged.append((label, element))
    return merged


_WITH_LINE = re.compile(r"^(/.*):(\d+)$")


@dataclass(frozen=True)
class Placement:
    """Where a finding is (file or endpoint, and line) and what failed, stable across scans."""

    location: str | None = None
    line: int | None = None
    offending: tuple[str, ...] = ()


def place(facts: Any, paths: tuple[str, ...], outcome: Outcome) -> Placement:
    """Place a finding. In order: a `location` fact that names a file and line ("/etc/x:12");
    the first offending element with a file (or path) and a line; the first offending element
    with a file or path; a `location` fact without a line."""
    found = [_split_line(v) for v in (location_from(facts, p) for p in paths) if v]
    found = [c for c in found if c[0].startswith("/")] or found[:1]
    elements = [] if outcome.passed else [
        (_file_of(e), e.get("line")) for _, e in outcome.items if isinstance(e, dict) and _file_of(e)]
    candidates = ([c for c in found if c[1]] + [(f, ln) for f, ln in elements if _is_line(ln)]
                  + elements + found)
    location, line = candidates[0] if candidates else (None, None)
    offending: tuple[str, ...] = ()
    if not outcome.passed:
        labels = [label for label, _ in outcome.items if label]
        offending = tuple(sorted(set(labels or [e.fact for e in outcome.evidence if not e.ok])))
    return Placement(location, line if _is_line(line) else None, offending)


def _file_of(element: dict[str, Any]) -> str | None:
    for key in ("file", "path"):
        value = element.get(key)
        if isinstance(value, str) and value.startswith("/"):
            return value
    return None


def _is_line(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _split_line(value: str) -> tuple[str, int | None]:
    m = _WITH_LINE.match(value)
    return (m.group(1), int(m.group(2))) if m else (value, None)


def location_from(facts: Any, path: str | None) -> str | None:
    if not path:
        return None
    pairs = resolve(facts, path)
    if len(pairs) == 1 and pairs[0][1] is not _MISSING and pairs[0][1] is not None:
        return str(pairs[0][1])
    return None


# --------------------------------------------------------------------------- headlines


def problem_line(check: CheckDef, facts: Any, outcome: Outcome, target: str,
                 location: str | None) -> str:
    """The headline of a failing finding: the check's `problem:` template filled in, or, for a
    check without one, the first failing assertion's message and what was observed."""
    failing = [e for e in outcome.evidence if not e.ok]
    first = failing[0] if failing else None
    if check.problem:
        return problemtext.render(check.problem, problemtext.Context(
            facts=facts, target=target, location=location or "",
            observed=first.observed if first else None, messages=outcome.messages,
            has_observed=first is not None and first.observed != "<not set>",
            failed=outcome.items))
    if first is None:
        return problemtext.one_line(f"Not met: {check.title}")
    labels = [label for label, _ in outcome.items]
    found = problemtext.render("{observed}", problemtext.Context(
        facts=facts, target=target, observed=labels or first.observed,
        has_observed=bool(labels) or first.observed != "<not set>"))
    message = first.message
    if labels and message.endswith(": " + labels[0]):
        message = message[:-len(labels[0]) - 2]
    elif labels and message == labels[0]:
        message = ""
    text = f"{message}: {found}" if message else f"Not met: {check.title} (found: {found})"
    return problemtext.one_line(text)

# --------------------------------------------------------------------------- reasons in words
#
# Why a check does not apply, worded from its `applies.when` condition: "auditd is not
# installed", "/tmp is not a separate file system", "the service is http, not snmp", never the
# fact path and operator ("auditd.installed is False, needs true").

# What a single-word status fact (`present`, `installed`, ...) is about, by probe.
_PROBE_SUBJECT = {
    "sshd_config": "the SSH server configuration", "pam": "the PAM configuration",
    "sysctl": "the kernel settings file (sysctl.conf)", "login_defs": "/etc/login.defs",
    "gdm": "the GNOME display manager (GDM)", "sudo": "sudo", "os_release": "the operating system",
    "service_version": "the service's version", "bootloader": "the boot loader",
    "shell_defaults": "shell start-up files", "kernel_modules": "kernel",
    "tls": "the service", "http": "the service", "service_info": "the service",
    "udp_service": "the service", "ssh_service": "the SSH service", "accounts": "accounts",
}
# Words for fact path steps that are not plain words.
_STEP_WORDS = {
    "tmp": "/tmp", "var": "/var", "var_tmp": "/var/tmp", "var_log": "/var/log",
    "var_log_audit": "/var/log/audit", "home": "/home", "dev_shm": "/dev/shm",
    "grub_cfg": "grub.cfg", "pwquality": "pam_pwquality", "unix": "pam_unix",
    "lockout": "account lockout (pam_faillock)", "pwhistory": "pam_pwhistory",
    "password_history": "", "certificate": "", "points": "", "daemons": "", "chrony": "chrony", "ntp": "ntpd",
    "timesyncd": "systemd-timesyncd", "nftables": "nftables", "iptables": "iptables",
    "ufw": "ufw", "apache": "Apache", "nginx": "nginx", "gshadow": "/etc/gshadow",
    "shadow": "/etc/shadow", "tls_servers": "TLS server blocks", "kernels": "installed kernels",
    "config_files": "configuration files", "entries": "boot entries",
    "tmout_settings": "TMOUT settings", "admin_users": "administrator accounts",
    "password_users": "accounts with a password", "auth_methods": "authentication methods",
    "rsa_key_bits": "the RSA host key size", "compression": "TLS compression",
    "secure_renegotiation": "secure renegotiation support", "curves": "elliptic curves",
    "keys": "private keys", "certificates": "certificates", "hsts": "HSTS", "ocsp_stapling": "OCSP stapling",
    "ocsp_responders": "OCSP responders in the certificate", "dh_groups": "Diffie-Hellman groups",
    "fallback_scsv": "TLS_FALLBACK_SCSV support", "ccs_injection": "the CCS injection test",
    "heartbleed": "the Heartbleed test", "starttls": "STARTTLS", "smbv1": "SMBv1 support",
    "vnc_security_types": "VNC security types", "anonymous_ftp": "anonymous FTP",
    "in_use": "the firewall in use", "hostname_match": "whether the certificate matches the host name",
    "hostname": "host names in the certificate", "packages_installed": "installed packages",
    "root_encrypted": "encryption of the root file system",
    "swap_encrypted": "encryption of swap", "reboot_required": "whether a reboot is pending",
}
# Whole boolean facts: (said when true, said when false).
_BOOLEAN_FACTS = {
    "container": ("the target is a container", "the target is not a container"),
    "tls": ("the service uses TLS", "the service does not use TLS"),
    "https": ("the service speaks HTTPS", "the service does not speak HTTPS"),
    "serves_content": ("the web server serves content", "the web server serves no content"),
    "redirects_to_https": ("plain HTTP redirects to HTTPS", "plain HTTP does not redirect to HTTPS"),
    "systemd_coredump": ("systemd-coredump handles core dumps",
                         "systemd-coredump does not handle core dumps"),
    "ipv6_disabled": ("IPv6 is disabled", "IPv6 is enabled"),
    "swap_present": ("a swap area is configured", "no swap area is configured"),
    "packages_known": ("the installed packages are known",
                       "the installed packages could not be listed"),
    "unfixed_listed": ("vulnerabilities without a fix are listed one by one",
                       "vulnerabilities without a fix are only counted (--include-unfixed lists them)"),
    "shadow_readable": ("/etc/shadow can be read", "/etc/shadow cannot be read"),
    "gshadow_present": ("/etc/gshadow is present", "/etc/gshadow is not present"),
    "expired": ("the certificate has expired", "the certificate has not expired"),
    "trusted": ("the certificate is trusted", "the certificate is not trusted"),
}
# Last steps of boolean facts: (said when true, said when false) about the subject.
_BOOLEAN_WORDS = {
    "installed": ("is installed", "is not installed"),
    "present": ("is present", "is not present"),
    "exists": ("exists", "does not exist"),
    "enabled": ("is enabled", "is not enabled"),
    "separate": ("is a separate file system", "is not a separate file system"),
    "known": ("is known", "could not be determined"),
    "readable": ("can be read", "cannot be read"),
}


def _words(steps: list[str]) -> str:
    said = [_STEP_WORDS.get(s, s.replace("_", " ")) for s in steps if s != "*"]
    return " ".join(w for w in said if w)


def _subject(check: CheckDef, steps: list[str]) -> str:
    """What a fact is about: its leading steps, else what the check's probe looks at."""
    if steps:
        return _words(steps)
    for key in ("path", "paths", "package", "packages", "modules", "name"):
        value = check.params.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return ", ".join(value[:3]) + (" ..." if len(value) > 3 else "")
    return _PROBE_SUBJECT.get(check.probe, check.probe.replace("_", " "))


def _value_words(value: Any) -> str:
    if value is _MISSING or value is None:
        return "not known"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_value_words(v) for v in value if v is not None) or "none"
    return str(redact_text(str(value)))


def assertion_words(check: CheckDef, a: Assertion, facts: Any) -> str:
    """Why assertion `a` does not hold, in plain words."""
    steps = [s for s in a.fact.split(".") if s != "*"]
    values = [v for _, v in resolve(facts, a.fact)]
    value = values[0] if len(values) == 1 else values
    last = steps[-1] if steps else ""
    if a.op in ("is_true", "is_false"):
        yes, no = _boolean_phrases(check, a.fact, steps)
        if not isinstance(value, bool):
            return no if last == "known" else f"it is not known whether {yes}"
        return yes if value else no
    if a.op in ("not_empty", "gt") and (a.op == "not_empty" or a.value == 0):
        if steps == ["files"] and any(k in check.params for k in ("path", "paths")):
            return f"found no files at {_subject(check, [])}"
        return f"found no {_subject(check, []) if steps == ['files'] else _words(steps)}"
    if a.op == "exists":
        if steps == ["certificate"]:
            return "the service presented no certificate"
        return f"{_words(steps)} could not be determined"
    if a.op == "not_contains":
        return f"{_words(steps)} include {_value_words(a.value)}"
    if a.op in ("equals", "in"):
        wanted = _value_words(a.value).replace(", not known", "")
        wanted = f"one of {wanted}" if a.op == "in" and isinstance(a.value, list) and \
            len([v for v in a.value if v is not None]) > 1 else wanted
        subject = _words(steps) if steps != ["service"] else "the service"
        if value is None or value is _MISSING:
            return f"{subject} could not be determined; this check is for {wanted}"
        return f"{subject} is {_value_words(value)}; this check is for {wanted}"
    if a.op in ("absent", "not_equals", "not_in"):
        return f"{_words(steps)} is {_value_words(value)}"
    if a.op == "empty":
        return f"found {_words(steps)}: {_value_words(value)}"
    if value is None or value is _MISSING:
        return f"{_words(steps)} could not be determined"
    wanted = _PLAIN_EXPECTED.get(a.op, "{v}").format(v=_value_words(a.value))
    return f"{_words(steps)} is {_value_words(value)}, not {wanted}"


_PLAIN_EXPECTED = {
    "lt": "below {v}", "le": "at most {v}", "gt": "above {v}", "ge": "at least {v}",
    "version_lt": "a version before {v}", "version_le": "version {v} or earlier",
    "version_gt": "a version after {v}", "version_ge": "version {v} or later",
    "matches": "matching {v}", "not_matches": "other than {v}", "contains": "containing {v}",
    "mode_at_most": "mode {v} or stricter", "not_empty": "some", "exists": "known",
}


def _boolean_phrases(check: CheckDef, fact: str, steps: list[str]) -> tuple[str, str]:
    """(said when the fact is true, said when it is false)."""
    last = steps[-1] if steps else ""
    if fact in _BOOLEAN_FACTS:
        return _BOOLEAN_FACTS[fact]
    if steps[:1] == ["certificate"] and last in _BOOLEAN_FACTS:
        return _BOOLEAN_FACTS[last]
    if last in _BOOLEAN_WORDS:
        yes, no = _BOOLEAN_WORDS[last]
        subject = _subject(check, steps[:-1])
        return f"{subject} {yes}", f"{subject} {no}"
    words = _words(steps)
    return f"{words} is in use", f"{words} is not in use"


def _failing(cond: Condition, facts: Any) -> list[Assertion]:
    """The assertions that make `cond` fail (all of them for `any`)."""
    if cond.mode == "all":
        out: list[Assertion] = []
        for item in cond.items:
            if isinstance(item, Assertion):
                if not eval_assertion(item, facts).passed:
                    out.append(item)
            elif not eval_condition(item, facts).passed:
                out.extend(_failing(item, facts))
        return out
    return [a for item in cond.items
            for a in ([item] if isinstance(item, Assertion) else _failing(item, facts))]


def not_applicable_reason(check: CheckDef, facts: Any) -> str:
    """Why `check` does not apply to a target whose facts fail its `applies.when`, in words."""
    cond = check.applies.condition if check.applies else None
    if cond is None or cond.mode == "none":
        return "its preconditions do not hold"
    said = list(dict.fromkeys(assertion_words(check, a, facts) for a in _failing(cond, facts)))
    if not said:
        return "its preconditions do not hold"
    if cond.mode == "any" and len(said) > 1:
        return "none of these holds: " + "; ".join(said)
    return "; ".join(said)
