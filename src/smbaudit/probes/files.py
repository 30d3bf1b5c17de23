"""File facts: one file's metadata and content (`file`), and files found by glob (`file_search`)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from typing import Any

from smbaudit.errors import NotReadable, ProbeError
from smbaudit.models import TargetKind
from smbaudit.probes import factschema as fs
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import HostTarget, Target

MAX_LINES = 5000
MAX_FILES = 20000


def _host(target: Target) -> HostTarget:
    if not isinstance(target, HostTarget):
        raise ProbeError(f"{target.name} has no file system")
    return target


class FileProbe(Probe):
    """Metadata of one path, and optionally its content lines and regex hits.

    Facts: path, exists, type, mode ('0640'), owner, group, uid, gid, size, world_writable,
    world_readable, group_writable, setuid, setgid, link_target; with `read: true`, `lines`
    (non-blank lines without comments); with `grep: {name: regex}`, `grep.name` (matching lines).
    """

    name = "file"
    description = "metadata and content of one file"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["path"],
        "properties": {
            "path": {"type": "string", "pattern": "^/"},
            "read": {"type": "boolean"},
            "comment": {"type": "string"},
            "grep": {"type": "object", "additionalProperties": {"type": "string", "format": "regex"}},
        },
    }

    facts = fs.record(
        path=fs.STR, exists=fs.BOOL,
        optional={**{k: v for k, v in fs.FILE_STAT.items() if k != "path"},
                  "link_target": fs.nullable(fs.STR),
                  "lines": fs.list_of(fs.STR),  # with `read: true`
                  "grep": fs.mapping(fs.list_of(fs.STR))},  # with `grep:`: name -> lines
    )

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = _host(target)
        path = params["path"]
        st = host.stat(path)
        facts: Facts = {"path": path, "exists": st is not None}
        if st is None:
            return facts
        facts.update(st.to_facts())
        facts["path"] = path
        if link := host.stat(path, follow=False):
            facts["link_target"] = link.link_target
        if (params.get("read") or params.get("grep")) and st.type == "file":
            text = host.read_text(path)
            comment = params.get("comment", "#")
            lines = [ln.strip() for ln in text.splitlines()]
            lines = [ln for ln in lines if ln and not (comment and ln.startswith(comment))]
            if len(lines) > MAX_LINES:
                raise NotReadable(f"{path}: more than {MAX_LINES} lines; not assessed")
            facts["lines"] = lines
            facts["grep"] = {name: [ln for ln in lines if re.search(rx, ln)][:MAX_LINES]
                             for name, rx in params.get("grep", {}).items()}
        return facts


class FileSearchProbe(Probe):
    """Files matching globs, with their metadata, e.g. world-writable files under /etc.

    Facts: files (list of file metadata as in `file`), count, truncated.
    """

    name = "file_search"
    description = "files found by glob patterns, with metadata"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["paths"],
        "properties": {
            "paths": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^/"}},
            "exclude": {"type": "array", "items": {"type": "string"}},
            "type": {"enum": ["file", "dir", "any"]},
        },
    }

    facts = fs.record(files=fs.list_of(fs.record_of(fs.FILE_STAT)), count=fs.INT,
                      truncated=fs.BOOL)

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = _host(target)
        wanted = params.get("type", "file")
        exclude = params.get("exclude", [])
        files: list[dict[str, Any]] = []
        seen: set[str] = set()
        truncated = False
        for pattern in params["paths"]:
            ctx.check_deadline()
            for path in host.glob(pattern, limit=MAX_FILES):
                if path in seen or any(fnmatch.fnmatchcase(path, ex) for ex in exclude):
                    continue
                seen.add(path)
                st = host.stat(path, follow=False)
                if st is None or (wanted != "any" and st.type != wanted):
                    continue
                if len(files) >= MAX_FILES:
                    truncated = True
                    break
                files.append(st.to_facts())
        return {"files": files, "count": len(files), "truncated": truncated}
