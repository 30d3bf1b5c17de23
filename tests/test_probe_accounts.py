"""accounts: passwd/shadow/group parsing, hash types (never hashes), sudoers includes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hostsys_util import collect
from smbaudit.probes.accounts import hash_type, password_state
from smbaudit.targets.posixfs import DirectoryTarget

PASSWD = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n"
SHA512 = "$6$saltsalt$" + "A" * 86


def write(root: Path, files: dict[str, str], modes: dict[str, int] | None = None) -> DirectoryTarget:
    for path, text in files.items():
        dest = root / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text)
        os.chmod(dest, (modes or {}).get(path, 0o644))
    return DirectoryTarget("dir:t", str(root))


@pytest.mark.parametrize("field, expected", [
    ("", ("empty", None, False)),
    ("!", ("locked", None, True)),
    ("*", ("locked", None, True)),
    ("!!", ("locked", None, True)),
    ("!*", ("locked", None, True)),
    (SHA512, ("hash", "sha512", False)),
    ("!" + SHA512, ("locked", "sha512", True)),
    ("$y$j9T$abc$def", ("hash", "yescrypt", False)),
    ("$1$abc$def", ("hash", "md5", False)),
    ("$5$abc$def", ("hash", "sha256", False)),
    ("$2b$12$abcdefghijklmnopqrstuv", ("hash", "bcrypt", False)),
    ("abCD3fgh1JkL2", ("hash", "des", False)),
])
def test_password_field_states(field: str, expected: tuple) -> None:
    assert password_state(field) == expected


def test_hash_type_unknown() -> None:
    assert hash_type("$9$weird") == "unknown"


def test_facts_never_contain_hashes(tmp_path: Path) -> None:
    target = write(tmp_path, {"/etc/passwd": PASSWD, "/etc/shadow": f"root:!:1::::::\nalice:{SHA512}:19000:0:99999:7:::\n"})
    facts = collect("accounts", target)
    assert SHA512 not in json.dumps(facts) and "saltsalt" not in json.dumps(facts)
    assert facts["hash_types"] == {"alice": "sha512"}
    assert facts["password_users"] == [{"user": "alice", "hash_type": "sha512", "max": 99999,
                                        "min": 0, "warn": 7, "inactive": -1}]


def test_no_shadow_file_reads_passwords_from_passwd(tmp_path: Path) -> None:
    target = write(tmp_path, {"/etc/passwd": "root:x:0:0::/root:/bin/bash\nold:$1$ab$cdefgh:1000:1000::/home/old:/bin/sh\nopen::1001:1001::/home/open:/bin/sh\n"})
    facts = collect("accounts", target)
    assert facts["shadow_present"] is False and facts["shadow_readable"] is True
    assert facts["unshadowed"] == ["old", "open"]
    assert facts["empty_password"] == ["open"]
    assert facts["hash_types"] == {"old": "md5"}
    assert facts["root"]["locked"] is True  # "x" and no shadow entry: no password can match


class _NoShadowAccess(DirectoryTarget):
    """The view a normal user has: /etc/shadow and /etc/gshadow exist but cannot be read."""

    def read_bytes(self, path: str, limit: int = 16 * 1024 * 1024) -> bytes:
        if path in ("/etc/shadow", "/etc/gshadow"):
            raise PermissionError(13, "Permission denied", path)
        return super().read_bytes(path, limit)


def test_unreadable_shadow_as_a_normal_user(tmp_path: Path) -> None:
    files = {"/etc/passwd": PASSWD, "/etc/shadow": f"alice:{SHA512}:1::::::\n", "/etc/gshadow": "x:*::\n"}
    write(tmp_path, files, {"/etc/shadow": 0o000, "/etc/gshadow": 0o000})
    if os.geteuid() == 0:
        target: DirectoryTarget = _NoShadowAccess("dir:t", str(tmp_path))
    else:  # a real normal user: the file mode itself denies reading
        target = DirectoryTarget("dir:t", str(tmp_path))
    facts = collect("accounts", target)
    assert facts["shadow_readable"] is False and facts["shadow_present"] is True
    assert {u["user"]: u["password_state"] for u in facts["users"]} == {"root": "unknown", "alice": "unknown"}
    assert facts["empty_password"] == [] and facts["password_users"] == []


def test_duplicates_uid0_and_system_shells(tmp_path: Path) -> None:
    target = write(tmp_path, {
        "/etc/passwd": PASSWD + "toor:x:0:0::/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/bash\n"
                       "svc:x:120:120::/srv:/bin/bash\nsync:x:4:65534:sync:/bin:/bin/sync\n"
                       "alice:x:1002:1002::/home/a2:/bin/bash\n",
        "/etc/group": "root:x:0:\nsudo:x:27:alice,bob\nwheel:x:10:\nalice:x:1000:\nalice2:x:1000:\n",
    })
    facts = collect("accounts", target)
    assert facts["uid0_extra"] == ["toor"]
    assert {"id": 1000, "names": ["alice", "bob"]} in facts["duplicate_uids"]
    assert facts["duplicate_user_names"] == [{"id": "alice", "names": ["alice", "alice"]}]
    assert facts["duplicate_gids"] == [{"id": 1000, "names": ["alice", "alice2"]}]
    assert facts["system_with_shell"] == [{"user": "svc", "uid": 120, "shell": "/bin/bash"}]
    assert facts["admin_groups"] == {"sudo": ["alice", "bob"], "wheel": []}


def test_sudoers_includes_continuations_and_skipped_names(tmp_path: Path) -> None:
    target = write(tmp_path, {
        "/etc/passwd": PASSWD,
        "/etc/sudoers": "Defaults env_reset\nroot ALL=(ALL) ALL\n#includedir /etc/sudoers.d\n"
                        "@include sudoers.local\n# NOPASSWD: ALL in a comment\n",
        "/etc/sudoers.local": "User_Alias OPS = alice, bob\nOPS ALL = (root) \\\n  NOPASSWD: /usr/bin/systemctl\n",
        "/etc/sudoers.d/10-web": "%www ALL=(ALL) NOPASSWD:ALL\nDefaults:deploy !authenticate\n",
        "/etc/sudoers.d/20-safe": "alice ALL=(ALL) ALL\n",
        "/etc/sudoers.d/old.dpkg-dist": "mallory ALL=(ALL) NOPASSWD: ALL\n",
        "/etc/sudoers.d/backup~": "mallory ALL=(ALL) NOPASSWD: ALL\n",
        "/etc/sudoers.d/30-nested": "@includedir /etc/sudoers.more\n",
        "/etc/sudoers.more/x": "Defaults !authenticate\n",
    })
    sudo = collect("accounts", target)["sudo"]
    assert sudo["files"] == ["/etc/sudoers", "/etc/sudoers.d/10-web", "/etc/sudoers.d/20-safe",
                             "/etc/sudoers.d/30-nested", "/etc/sudoers.more/x", "/etc/sudoers.local"]
    assert sudo["nopasswd"] == [
        {"principal": "%www", "file": "/etc/sudoers.d/10-web", "line": 1, "all_commands": True},
        {"principal": "OPS", "file": "/etc/sudoers.local", "line": 2, "all_commands": False},
    ]
    assert sudo["no_authenticate"] == [
        {"file": "/etc/sudoers.d/10-web", "line": 2, "scope": "deploy"},
        {"file": "/etc/sudoers.more/x", "line": 1, "scope": "all"},
    ]
