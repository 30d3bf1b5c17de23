"""The file and file_search probes."""

from __future__ import annotations

import os
from pathlib import Path

from smbaudit.probes.base import ProbeContext
from smbaudit.probes.files import FileProbe, FileSearchProbe
from smbaudit.targets.posixfs import DirectoryTarget


def make(tmp_path: Path) -> DirectoryTarget:
    etc = tmp_path / "etc"
    (etc / "cron.d").mkdir(parents=True)
    (etc / "shadow").write_text("root:$6$salt$hash:19000::::::\n")
    os.chmod(etc / "shadow", 0o640)
    (etc / "cron.d/job").write_text("* * * * * root /bin/true\n")
    os.chmod(etc / "cron.d/job", 0o666)
    (etc / "conf").write_text("# comment\nKey yes\n\nOther no\n")
    return DirectoryTarget("dir:t", str(tmp_path))


def test_file_facts(tmp_path: Path, ctx: ProbeContext) -> None:
    t = make(tmp_path)
    facts = FileProbe().collect(t, {"path": "/etc/shadow"}, ctx)
    assert facts["exists"] and facts["mode"] == "0640" and facts["type"] == "file"
    assert not facts["world_readable"] and "lines" not in facts
    assert FileProbe().collect(t, {"path": "/etc/nope"}, ctx) == {"path": "/etc/nope", "exists": False}


def test_file_content_and_grep(tmp_path: Path, ctx: ProbeContext) -> None:
    t = make(tmp_path)
    facts = FileProbe().collect(t, {"path": "/etc/conf", "grep": {"key": "^Key\\s"}}, ctx)
    assert facts["lines"] == ["Key yes", "Other no"]
    assert facts["grep"] == {"key": ["Key yes"]}


def test_file_search(tmp_path: Path, ctx: ProbeContext) -> None:
    t = make(tmp_path)
    facts = FileSearchProbe().collect(t, {"paths": ["/etc/**/*"]}, ctx)
    by_path = {f["path"]: f for f in facts["files"]}
    assert by_path["/etc/cron.d/job"]["world_writable"] is True
    assert by_path["/etc/shadow"]["world_writable"] is False
    assert "/etc/cron.d" not in by_path  # type: file by default
    facts = FileSearchProbe().collect(t, {"paths": ["/etc/**/*"], "exclude": ["/etc/cron.d/*"]}, ctx)
    assert "/etc/cron.d/job" not in {f["path"] for f in facts["files"]}
