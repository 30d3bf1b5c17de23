"""Every check id the README and the docs name (`smbaudit checks show ssh.root-login`,
`--select ssh.*`, waiver examples) is a shipped check: examples a user copies must work."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from pathlib import Path

from smbaudit.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[1]
# a dotted slug whose first part is a shipped pack prefix: ssh.root-login, files.*, tls.hsts
TOKEN = re.compile(r"(?<![\w./-])([a-z][a-z0-9_-]*(?:\.[a-z0-9*][a-z0-9_*-]*)+)(?![\w/-])")
NOT_IDS = re.compile(r"\.(py|ya?ml|md|json|html|txt|sqlite3|conf|d|log|pem|xml|csv|sarif)$")


def mentioned_ids(prefixes: set[str]) -> list[tuple[str, int, str]]:
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            for m in TOKEN.finditer(line):
                token = m.group(1).rstrip(".")
                if token.split(".")[0] in prefixes and not NOT_IDS.search(token):
                    found.append((doc.name, number, token))
    return found


def test_example_check_ids_exist() -> None:
    ids = {c.id for c in load_catalog().checks}
    mentioned = mentioned_ids({i.split(".")[0] for i in ids})
    assert len(mentioned) >= 3  # the scan found the examples
    missing = [f"{doc}:{line}: {token}" for doc, line, token in mentioned
               if not (any(fnmatchcase(i, token) for i in ids) if "*" in token else token in ids)]
    assert missing == []
