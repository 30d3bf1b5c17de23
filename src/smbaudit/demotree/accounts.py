"""Accounts: passwd, shadow, group, gshadow and sudoers (content and modes).

Password fields are made-up strings in the right crypt(3) formats: no real password hashes.
"""

from __future__ import annotations

import os
from pathlib import Path

from smbaudit.demotree._util import write

# Fake hashes: correct prefixes and lengths, random-looking text, no password behind them.
YESCRYPT = "$y$j9T$Zk3Qv1n7Yp0cWq2x8bLd5.$Hq2N1yq9XlTtJc0uVbWmQe3aPz7sRkY4nGd6oF8iLh5"
SHA512 = "$6$Qe7rT1uY$" + "Xw3v9B2nM8kL4jH6gF1dS5aP0oI7uY2tR9eW3qZ8xC6vB1nM4kL7jH2gF5dS8aP0oI3uY6tR9eW2qZ5xC8vB1n"
MD5 = "$1$Xy7Qw2Er$J8kL3mN5bV7cX9zA1sD4f/"
DES = "aBcD3fGh1JkL2"

PASSWD_BASE = """root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sync:x:4:65534:sync:/bin:/bin/sync
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
backup:x:34:34:backup:/var/backups:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
sshd:x:105:65534::/run/sshd:/usr/sbin/nologin
alice:x:1000:1000:Alice Admin:/home/alice:/bin/bash
bob:x:1001:1001:Bob Bookkeeper:/home/bob:/bin/bash
"""
PASSWD_BAD_EXTRA = """postgres:x:106:110:PostgreSQL administrator:/var/lib/postgresql:/bin/bash
toor:x:0:0:maintenance:/root:/bin/bash
carol:x:1002:1002:Carol Contractor:/home/carol:/bin/bash
dave:x:1001:1003:Dave Temp:/home/dave:/bin/bash
legacy:{des}:1004:1004:Legacy App:/home/legacy:/bin/sh
bob:x:1005:1001:Bob again:/home/bob2:/bin/bash
""".format(des=DES)

GROUP_BASE = """root:x:0:
daemon:x:1:
bin:x:2:
adm:x:4:alice
shadow:x:42:
sudo:x:27:alice
www-data:x:33:
backup:x:34:
nogroup:x:65534:
alice:x:1000:
bob:x:1001:
"""
GROUP_BAD_EXTRA = """postgres:x:110:
carol:x:1002:
dave:x:1003:
legacy:x:1004:
accounting:x:1001:bob
"""


def _shadow(hardened: bool) -> str:
    lines = [
        "root:!*:19700:0:99999:7:::" if hardened else f"root:{SHA512}:19700:0:99999:7:::",
        "daemon:*:19700:0:99999:7:::", "bin:*:19700:0:99999:7:::", "sync:*:19700:0:99999:7:::",
        "www-data:*:19700:0:99999:7:::", "backup:*:19700:0:99999:7:::",
        "nobody:*:19700:0:99999:7:::", "sshd:!:19700::::::",
        f"alice:{YESCRYPT}:19700:1:365:7:30::",
    ]
    if hardened:
        lines.append(f"bob:{SHA512}:19700:1:365:7:30::")
    else:
        lines += [
            f"bob:{MD5}:19700:0:99999:7:::",
            "postgres:!:19700::::::",
            "toor:$6$abc$notarealhashvalueatall0000000000000000000000000000000000000000000000000000000000000:19700:0:99999:7:::",
            "carol::19700:0:99999:7:::",
            f"dave:{YESCRYPT}:19700:0:99999:7:::",
        ]
    return "\n".join(lines) + "\n"


def _gshadow(hardened: bool) -> str:
    text = "root:*::\nadm:*::alice\nshadow:*::\nsudo:*::alice\nalice:!::\nbob:!::\n"
    if not hardened:
        text += f"accounting:{SHA512}::bob\n"
    return text


SUDOERS = """# /etc/sudoers (demo)
Defaults\tenv_reset
Defaults\tmail_badpass
Defaults\tsecure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
Defaults\tuse_pty
Defaults\tlogfile="/var/log/sudo.log"

root\tALL=(ALL:ALL) ALL
%sudo\tALL=(ALL:ALL) ALL

@includedir /etc/sudoers.d
"""


def build(root: Path, hardened: bool) -> list[str]:
    write(root, "/etc/passwd", PASSWD_BASE + ("" if hardened else PASSWD_BAD_EXTRA),
          0o644 if hardened else 0o664)
    write(root, "/etc/group", GROUP_BASE + ("" if hardened else GROUP_BAD_EXTRA),
          0o644 if hardened else 0o666)
    write(root, "/etc/shadow", _shadow(hardened), 0o640 if hardened else 0o644)
    write(root, "/etc/gshadow", _gshadow(hardened), 0o640 if hardened else 0o644)
    write(root, "/etc/sudoers", SUDOERS, 0o440 if hardened else 0o644)
    for user, mode in (("alice", 0o750), ("bob", 0o700 if hardened else 0o755)):
        write(root, f"/home/{user}/.profile", "# ~/.profile\n", 0o644)
        os.chmod(root / "home" / user, mode)
    write(root, "/etc/sudoers.d/README", "# files in this directory are read by sudo\n", 0o440)
    if hardened:
        write(root, "/etc/sudoers.d/backup", "backup ALL=(root) /usr/bin/rsync\n", 0o440)
        return []
    write(root, "/etc/sudoers.d/deploy",
          "# deployment user, added in a hurry\n"
          "bob ALL=(ALL) \\\n    NOPASSWD: ALL\n"
          "Defaults:bob !authenticate\n", 0o664)
    write(root, "/etc/sudoers.d/old.conf", "carol ALL=(ALL) NOPASSWD: ALL\n", 0o440)  # ignored: has a dot
    return [
        "files.shadow-permissions",
        "files.passwd-permissions",
        "files.group-permissions",
        "files.gshadow-permissions",
        "files.sudoers-permissions",
        "files.sudoers-d-permissions",
        "files.home-dirs-permissions",
        "accounts.uid0-only-root",
        "accounts.no-empty-passwords",
        "accounts.shadowed-passwords",
        "accounts.strong-password-hashes",
        "accounts.password-max-age",
        "accounts.sudo-requires-password",
        "accounts.sudo-reauthentication",
        "accounts.root-password-locked",
        "accounts.system-accounts-no-shell",
        "accounts.unique-uids",
        "accounts.unique-gids",
        "accounts.unique-names",
        "accounts.no-group-passwords",
    ]
