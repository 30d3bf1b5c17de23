"""Login-shell defaults: umask and TMOUT in /etc/profile, /etc/profile.d and /etc/bash.bashrc."""

from __future__ import annotations

from pathlib import Path

from smbaudit.demotree._util import write

PROFILE = """# /etc/profile (demo)
if [ "$(id -u)" -eq 0 ]; then
  PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
else
  PATH="/usr/local/bin:/usr/bin:/bin"
fi
export PATH
umask {umask}
if [ -d /etc/profile.d ]; then
  for i in /etc/profile.d/*.sh; do
    [ -r "$i" ] && . "$i"
  done
  unset i
fi
"""


def build(root: Path, hardened: bool) -> list[str]:
    write(root, "/etc/profile", PROFILE.format(umask="027" if hardened else "022"))
    write(root, "/etc/bash.bashrc", "# System-wide .bashrc\n[ -z \"$PS1\" ] && return\n"
          "shopt -s checkwinsize\n")
    # root's own start-up files: its umask, and what it adds to PATH
    for d in ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin"):
        (root / d.lstrip("/")).mkdir(parents=True, exist_ok=True)
        (root / d.lstrip("/")).chmod(0o755)
    if hardened:
        write(root, "/root/.bashrc", "umask 0027\n")
        write(root, "/root/.profile", 'PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"\n'
              "export PATH\n")
    else:
        write(root, "/root/.bashrc", "umask 022\n")
        write(root, "/root/.profile", 'PATH=".:$PATH:/opt/tools/bin"\nexport PATH\n')
    if hardened:
        write(root, "/etc/profile.d/50-tmout.sh", "TMOUT=900\nreadonly TMOUT\nexport TMOUT\n")
        write(root, "/etc/profile.d/50-umask.sh", "umask 027\n")
    else:
        write(root, "/etc/profile.d/tmout.sh", "# idle logout after an hour\nTMOUT=3600\n")
    return ["shell.umask", "shell.tmout", "shell.tmout-readonly", "shell.root-umask", "shell.root-path"]
