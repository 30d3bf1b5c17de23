"""The skeleton every demo tree has: OS release, accounts, and their file permissions."""

from __future__ import annotations

from pathlib import Path

from smbaudit.demotree._util import write

PASSWD = """root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
sshd:x:105:65534::/run/sshd:/usr/sbin/nologin
alice:x:1000:1000:Alice Admin:/home/alice:/bin/bash
bob:x:1001:1001:Bob Bookkeeper:/home/bob:/bin/bash
"""

GROUP = """root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:alice
shadow:x:42:
sudo:x:27:alice
www-data:x:33:
users:x:100:
alice:x:1000:
bob:x:1001:
"""


def build(root: Path, hardened: bool) -> list[str]:
    write(root, "/etc/os-release", (
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
        'VERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n'))
    write(root, "/etc/debian_version", "12.8\n")
    write(root, "/etc/passwd", PASSWD, 0o644)
    write(root, "/etc/group", GROUP, 0o644)
    # The shadow file is written by the accounts area; its mode is what this area plants.
    write(root, "/etc/shadow", "", 0o640 if hardened else 0o644)
    return ["files.shadow-permissions"]
