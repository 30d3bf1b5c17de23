"""Host inventories for fleet audits: Ansible inventories (INI and YAML) and plain host lists.

An inventory yields `InventoryHost` entries: where to connect (address, port, user), which key
to use, whether to read root-only files through sudo (`become`), and the groups the host is
in. Variables follow Ansible's precedence: `all` < parent groups < child groups < the host's
own. `--limit` patterns select hosts as Ansible does (see `select_hosts`).

Secrets never come from an inventory: a password variable (`ansible_password`,
`ansible_ssh_pass`, `ansible_become_password`) is refused with its file and line, because an
inventory is passed around and a password belongs in the agent, a key file or the environment.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import os
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smbaudit.errors import FieldError, InputFileError, TargetError
from smbaudit.targets.ssh import SCHEME, split_ssh_spec
from smbaudit.yamlload import LineDict, LineList, load_text

SECRET_VARS = frozenset({"ansible_password", "ansible_ssh_pass", "ansible_become_password",
                         "ansible_become_pass", "ansible_sudo_pass"})
_MAX_HOSTS = 10_000  # a range like web[0000:9999] stays bounded
_RANGE = re.compile(r"\[([0-9a-zA-Z]+):([0-9a-zA-Z]+)(?::(\d+))?\]")


@dataclass(frozen=True)
class InventoryHost:
    """One host to audit, as the inventory describes it."""

    name: str  # the inventory name, used in reports
    address: str  # ansible_host, else the name
    port: int | None = None
    user: str | None = None
    key_file: str | None = None
    become: bool = False
    groups: tuple[str, ...] = ()
    source: str = ""  # file:line where the host was declared

    def spec(self) -> str:
        """The ssh:// target spec for this host."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"ssh://{user}{host}{port}"


@dataclass
class _Group:
    name: str
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)


@dataclass
class Inventory:
    """Groups, hosts and their variables, before precedence is applied."""

    path: str
    groups: dict[str, _Group] = field(default_factory=dict)
    host_vars: dict[str, dict[str, Any]] = field(default_factory=dict)
    host_lines: dict[str, int] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # hosts in the order first seen

    def group(self, name: str) -> _Group:
        return self.groups.setdefault(name, _Group(name))

    def add_host(self, name: str, group: str, line: int, hvars: Mapping[str, Any]) -> None:
        if name not in self.host_vars:
            if len(self.order) >= _MAX_HOSTS:
                raise InputFileError([FieldError(self.path, line, "hosts",
                                                 f"more than {_MAX_HOSTS} hosts")])
            self.order.append(name)
            self.host_vars[name] = {}
            self.host_lines[name] = line
        self.host_vars[name].update(hvars)
        g = self.group(group)
        if name not in g.hosts:
            g.hosts.append(name)

    # ------------------------------------------------------------------ resolution

    def _parents(self) -> dict[str, set[str]]:
        parents: dict[str, set[str]] = {}
        for g in self.groups.values():
            for child in g.children:
                parents.setdefault(child, set()).add(g.name)
        return parents

    def _depth(self) -> dict[str, int]:
        """Distance from `all` (Ansible applies shallower groups' vars first)."""
        parents = self._parents()
        depth: dict[str, int] = {}

        def walk(name: str, seen: frozenset[str]) -> int:
            if name in depth:
                return depth[name]
            if name == "all" or name in seen:
                return 0
            ps = parents.get(name, set()) - {name}
            d = 1 + max((walk(p, seen | {name}) for p in ps), default=0)
            depth[name] = d
            return d

        for name in self.groups:
            walk(name, frozenset())
        depth["all"] = 0
        return depth

    def members(self, group: str) -> list[str]:
        """Hosts of a group and of its children, recursively (cycles cut)."""
        if group == "all":
            return list(self.order)
        out: list[str] = []
        seen: set[str] = set()
        stack = [group]
        while stack:
            name = stack.pop()
            if name in seen or name not in self.groups:
                continue
            seen.add(name)
            g = self.groups[name]
            out.extend(h for h in g.hosts if h not in out)
            stack.extend(reversed(g.children))
        return [h for h in self.order if h in out]

    def groups_of(self, host: str) -> list[str]:
        return sorted(g for g in self.groups if g != "all" and host in self.members(g))

    def host(self, name: str) -> InventoryHost:
        depth = self._depth()
        groups = self.groups_of(name)
        merged: dict[str, Any] = dict(self.groups["all"].vars) if "all" in self.groups else {}
        for g in sorted(groups, key=lambda n: (depth.get(n, 1), n)):
            merged.update(self.groups[g].vars)
        merged.update(self.host_vars.get(name, {}))
        line = self.host_lines.get(name)
        where = f"{self.path}:{line}" if line else self.path
        return InventoryHost(
            name=name,
            address=str(merged.get("ansible_host") or merged.get("ansible_ssh_host") or name),
            port=_port(merged.get("ansible_port") or merged.get("ansible_ssh_port"), self.path, line),
            user=_text(merged.get("ansible_user") or merged.get("ansible_ssh_user")),
            key_file=_path(merged.get("ansible_ssh_private_key_file"), self.path),
            become=_truthy(merged.get("ansible_become", False)),
            groups=tuple(groups),
            source=where,
        )

    def hosts(self) -> list[InventoryHost]:
        return [self.host(h) for h in self.order]


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _path(value: Any, inventory_path: str) -> str | None:
    if value in (None, ""):
        return None
    p = Path(os.path.expanduser(str(value)))
    if not p.is_absolute():  # relative to the inventory, as Ansible reads it from the play dir
        p = Path(inventory_path).resolve().parent / p
    return str(p)


def _port(value: Any, path: str, line: int | None) -> int | None:
    if value in (None, ""):
        return None
    try:
        port = int(str(value))
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise InputFileError([FieldError(path, line, "ansible_port", f"not a port number: {str(value)[:40]!r}")])
    return port


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "yes", "true", "on", "y")


def _check_vars(path: str, line: int | None, hvars: Mapping[str, Any]) -> None:
    secret = sorted(SECRET_VARS & set(hvars))
    if secret:
        raise InputFileError([FieldError(path, line, secret[0],
                                         "passwords are not read from inventories; use ssh-agent, "
                                         "a key file or $SMBAUDIT_SSH_PASSWORD")])


def expand_range(pattern: str, path: str = "", line: int | None = None) -> list[str]:
    """`web[01:03]` -> web01, web02, web03; `db-[a:c]` -> db-a, db-b, db-c."""
    m = _RANGE.search(pattern)
    if not m:
        return [pattern]
    start, end, step_text = m.group(1), m.group(2), m.group(3)
    step = int(step_text) if step_text else 1
    head, tail = pattern[: m.start()], pattern[m.end():]
    if start.isdigit() and end.isdigit():
        width = len(start) if start.startswith("0") and len(start) > 1 else 0
        values = [str(i).zfill(width) for i in range(int(start), int(end) + 1, max(step, 1))]
    elif len(start) == 1 and len(end) == 1 and start.isalpha() and end.isalpha():
        values = [chr(c) for c in range(ord(start), ord(end) + 1, max(step, 1))]
    else:
        raise InputFileError([FieldError(path, line, "hosts", f"bad host range {m.group(0)!r}")])
    if len(values) > _MAX_HOSTS:
        raise InputFileError([FieldError(path, line, "hosts", f"range {m.group(0)} has more than {_MAX_HOSTS} hosts")])
    out: list[str] = []
    for v in values:
        out.extend(expand_range(head + v + tail, path, line))
        if len(out) > _MAX_HOSTS:
            raise InputFileError([FieldError(path, line, "hosts", f"more than {_MAX_HOSTS} hosts")])
    return out


# ---------------------------------------------------------------------- INI


def parse_ini(text: str, path: str) -> Inventory:
    inv = Inventory(path)
    inv.group("all")
    inv.group("ungrouped")
    section, kind = "ungrouped", "hosts"
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            m = re.fullmatch(r"\[([^\]:\s]+)(?::(vars|children|hosts))?\]", line)
            if not m:
                raise InputFileError([FieldError(path, lineno, "section", f"not a group header: {line[:60]!r}")])
            section, kind = m.group(1), m.group(2) or "hosts"
            inv.group(section)
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:
            raise InputFileError([FieldError(path, lineno, section, f"cannot parse: {exc}")]) from None
        if not words:
            continue
        if kind == "vars":
            key, sep, value = line.partition("=")
            if not sep:
                raise InputFileError([FieldError(path, lineno, section, "expected name=value")])
            assignment = {key.strip(): (shlex.split(value, comments=True) or [""])[0]}
            _check_vars(path, lineno, assignment)
            inv.group(section).vars.update(assignment)
        elif kind == "children":
            child = words[0]
            inv.group(child)
            if child not in inv.group(section).children:
                inv.group(section).children.append(child)
        else:
            hvars: dict[str, Any] = {}
            for w in words[1:]:
                key, sep, value = w.partition("=")
                if not sep:
                    raise InputFileError([FieldError(path, lineno, words[0], f"expected name=value, got {w[:40]!r}")])
                hvars[key] = value
            _check_vars(path, lineno, hvars)
            for name in expand_range(words[0], path, lineno):
                inv.add_host(name, section, lineno, hvars)
    _finish(inv)
    return inv


# ---------------------------------------------------------------------- YAML


def _yaml_group(inv: Inventory, name: str, body: Any, path: str, line: int | None, depth: int = 0) -> None:
    if depth > 64:
        raise InputFileError([FieldError(path, line, name, "groups nested more than 64 deep")])
    g = inv.group(name)
    if body is None:
        return
    if not isinstance(body, dict):
        raise InputFileError([FieldError(path, line, name, "a group is a mapping with hosts, vars or children")])
    unknown = set(body) - {"hosts", "vars", "children"}
    if unknown:
        key = sorted(unknown)[0]
        raise InputFileError([FieldError(path, _line(body, key, line), f"{name}.{key}",
                                         "unknown key (expected hosts, vars or children)")])
    gvars = body.get("vars") or {}
    if not isinstance(gvars, dict):
        raise InputFileError([FieldError(path, _line(body, "vars", line), f"{name}.vars", "expected a mapping")])
    _check_vars(path, _line(body, "vars", line), gvars)
    g.vars.update(gvars)
    hosts = body.get("hosts") or {}
    if not isinstance(hosts, dict):
        raise InputFileError([FieldError(path, _line(body, "hosts", line), f"{name}.hosts",
                                         "expected a mapping of host names")])
    for host, hvars in hosts.items():
        hline = _line(hosts, str(host), line)
        hvars = hvars or {}
        if not isinstance(hvars, dict):
            raise InputFileError([FieldError(path, hline, str(host), "host variables must be a mapping")])
        _check_vars(path, hline, hvars)
        for expanded in expand_range(str(host), path, hline):
            inv.add_host(expanded, name, hline or 0, hvars)
    children = body.get("children") or {}
    if not isinstance(children, dict):
        raise InputFileError([FieldError(path, _line(body, "children", line), f"{name}.children",
                                         "expected a mapping of group names")])
    for child, cbody in children.items():
        if str(child) not in g.children:
            g.children.append(str(child))
        _yaml_group(inv, str(child), cbody, path, _line(children, str(child), line), depth + 1)


def _line(node: Any, key: str, default: int | None) -> int | None:
    if isinstance(node, LineDict):
        try:
            return node.line_of(key)
        except KeyError:
            return default
    return default


def parse_yaml(data: Any, path: str) -> Inventory:
    inv = Inventory(path)
    inv.group("all")
    inv.group("ungrouped")
    if not isinstance(data, dict):
        raise InputFileError([FieldError(path, 1, "", "an inventory is a mapping of groups (e.g. all:)")])
    for name, body in data.items():
        _yaml_group(inv, str(name), body, path, _line(data, str(name), 1))
    _finish(inv)
    return inv


def parse_host_list(data: Any, path: str) -> Inventory:
    """The plain form: `hosts:` a list of `ssh://` specs or mappings with host, port, user,
    key_file, become, name and groups."""
    inv = Inventory(path)
    inv.group("all")
    inv.group("ungrouped")
    items = data.get("hosts") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise InputFileError([FieldError(path, 1, "hosts", "expected a list of hosts")])
    allowed = {"host", "port", "user", "key_file", "become", "name", "groups"}
    for i, item in enumerate(items):
        line = items.item_lines[i] if isinstance(items, LineList) and i < len(items.item_lines) else None
        if isinstance(item, str):
            try:
                user, host, port = split_ssh_spec(item if item.startswith(SCHEME) else SCHEME + item)
            except TargetError as exc:
                raise InputFileError([FieldError(path, line, f"hosts[{i}]", str(exc))]) from None
            item = {"host": host, "port": port, "user": user}
        if not isinstance(item, dict) or not item.get("host"):
            raise InputFileError([FieldError(path, line, f"hosts[{i}]", "expected ssh://[user@]host[:port] "
                                             "or a mapping with host:")])
        unknown = set(item) - allowed
        if unknown:
            raise InputFileError([FieldError(path, line, f"hosts[{i}].{sorted(unknown)[0]}",
                                             f"unknown key (expected {', '.join(sorted(allowed))})")])
        name = str(item.get("name") or item["host"])
        hvars = {"ansible_host": str(item["host"])}
        for key, var in (("port", "ansible_port"), ("user", "ansible_user"),
                         ("key_file", "ansible_ssh_private_key_file"), ("become", "ansible_become")):
            if item.get(key) is not None:
                hvars[var] = item[key]
        groups = item.get("groups") or ["ungrouped"]
        if not isinstance(groups, list):
            raise InputFileError([FieldError(path, line, f"hosts[{i}].groups", "expected a list")])
        for g in groups:
            inv.add_host(name, str(g), line or 0, hvars)
    _finish(inv)
    return inv


def _finish(inv: Inventory) -> None:
    """`all` holds every group without a parent; hosts in no group are `ungrouped`."""
    parents = inv._parents()
    for name in inv.groups:
        if name != "all" and not parents.get(name) and name not in inv.groups["all"].children:
            inv.groups["all"].children.append(name)
    grouped = {h for g in inv.groups.values() if g.name not in ("all", "ungrouped") for h in g.hosts}
    ungrouped = inv.groups["ungrouped"]
    ungrouped.hosts = [h for h in ungrouped.hosts if h not in grouped]


def load_inventory(path: str | Path) -> Inventory:
    """An Ansible INI or YAML inventory, or a plain YAML host list, recognised by content."""
    p = str(path)
    try:
        raw = Path(p).read_bytes()
    except OSError as exc:
        raise InputFileError([FieldError(p, None, "", f"cannot read inventory: {exc.strerror or exc}")]) from None
    if len(raw) > 16 * 1024 * 1024:
        raise InputFileError([FieldError(p, None, "", "inventory larger than 16 MiB")])
    text = raw.decode("utf-8", errors="replace")
    first = next((ln.strip() for ln in text.splitlines()
                  if ln.strip() and not ln.strip().startswith(("#", ";"))), "")
    looks_yaml = first.startswith(("---", "-", "{")) or first.endswith(":") or ": " in first
    looks_ini = first.startswith("[") or not looks_yaml
    if looks_ini:
        return parse_ini(text, p)
    data = load_text(text, p)
    if isinstance(data, dict) and isinstance(data.get("hosts"), list):
        return parse_host_list(data, p)
    return parse_yaml(data, p)


# ---------------------------------------------------------------------- --limit


def select_hosts(inv: Inventory, pattern: str | None) -> list[InventoryHost]:
    """Hosts matching an Ansible-style pattern, in inventory order.

    Terms are separated by `,` or `:` (`:` only when no term looks like an IPv6 address);
    a term is `all`/`*`, a group, a host, a glob (`web*`), or `~regex`. `&term` intersects,
    `!term` excludes. An empty result is an error: a cron line must not audit nothing quietly.
    """
    hosts = inv.order
    if not pattern or pattern.strip() in ("all", "*"):
        return inv.hosts()
    terms = [t.strip() for t in _split_pattern(pattern) if t.strip()]
    union: list[str] = []
    intersect: list[set[str]] = []
    exclude: set[str] = set()
    for term in terms:
        if term.startswith("!"):
            exclude |= set(_match(inv, term[1:]))
        elif term.startswith("&"):
            intersect.append(set(_match(inv, term[1:])))
        else:
            union.extend(h for h in _match(inv, term) if h not in union)
    if not union and intersect:
        union = list(hosts)
    chosen = [h for h in hosts if h in union and all(h in s for s in intersect) and h not in exclude]
    if not chosen:
        raise InputFileError([FieldError(inv.path, None, "--limit", f"no host matches {pattern!r}")])
    return [inv.host(h) for h in chosen]


def _split_pattern(pattern: str) -> list[str]:
    """Ansible separates terms with `,` (preferred) or `:`; an IPv6 address is one term."""
    if "," in pattern:
        return pattern.split(",")
    try:
        ipaddress.ip_address(pattern.lstrip("!&"))
        return [pattern]
    except ValueError:
        return pattern.split(":")


def _match(inv: Inventory, term: str) -> list[str]:
    if term in ("all", "*"):
        return list(inv.order)
    if term.startswith("~"):
        try:
            rx = re.compile(term[1:])
        except re.error as exc:
            raise InputFileError([FieldError(inv.path, None, "--limit", f"bad regex {term!r}: {exc}")]) from None
        names = [h for h in inv.order if rx.search(h)]
        groups = [g for g in inv.groups if rx.search(g)]
    elif any(c in term for c in "*?["):
        names = [h for h in inv.order if fnmatch.fnmatchcase(h, term)]
        groups = [g for g in inv.groups if fnmatch.fnmatchcase(g, term)]
    else:
        names = [term] if term in inv.host_vars else []
        groups = [term] if term in inv.groups else []
    out = list(names)
    for g in groups:
        out.extend(h for h in inv.members(g) if h not in out)
    return out


def hosts_from(paths: Iterable[str], limit: str | None) -> list[InventoryHost]:
    """Every host of the given inventories that matches `limit`, names unique across files."""
    out: list[InventoryHost] = []
    seen: set[str] = set()
    for p in paths:
        inv = load_inventory(p)
        for h in select_hosts(inv, limit) if limit else inv.hosts():
            if h.name not in seen:
                seen.add(h.name)
                out.append(h)
    return out
