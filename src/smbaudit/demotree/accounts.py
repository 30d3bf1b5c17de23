"""Accounts: passwd, group, shadow (content and modes). Placeholder until the accounts probe lands."""

from __future__ import annotations

from pathlib import Path

from smbaudit.demotree._util import write

PASSWD = """root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
sshd:x:105:65534::/run/sshd:/usr/sbin/nologin
alice:x:1000:1000:Alice Admin:/home/alice:/bin/bash
bob:x:1001:1001:Bob Bookkeeper:/home/bob:/bin/bash
"""

GROUP = """root:x:0:
daemon:x:1:
adm:x:4:alice
shadow:x:42:
sudo:x:27:alice
www-data:x:33:
alice:x:1000:
bob:x:1001:
"""


def build(root: Path, hardened: bool) -> list[str]:
    write(root, "/etc/passwd", PASSWD, 0o644)
    write(root, "/etc/group", GROUP, 0o644)
    write(root, "/etc/shadow", "root:!:19700:0:99999:7:::\n", 0o640 if hardened else 0o644)
    return ["files.shadow-permissions"]
