"""Real Debian 12 trees for the tests: where the cached debootstrap trees are, a linked working
copy of one, and the CIS Debian 12 v1.1.0 configuration an administrator would apply to it.

The trees are built once by scripts/debian12-trees.sh (debootstrap from a Debian mirror) under
$SMBAUDIT_DEBIAN_TREES or /var/cache/smbaudit-trees. A test never writes into them: it works on
a copy made of hard links (new directories, same file inodes), and every change below replaces a
file (unlink, then write) instead of writing through the shared inode.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from smbaudit.demotree._privileged import privileged_programs
from smbaudit.probes.log_files import rule_for

TREES = Path(os.environ.get("SMBAUDIT_DEBIAN_TREES", "/var/cache/smbaudit-trees"))
STOCK = TREES / "debian12-stock"
HARDENED = TREES / "debian12-hardened"


def available(tree: Path) -> bool:
    return (tree / "etc" / "debian_version").is_file() and (tree / "var/lib/dpkg/status").is_file()


def linked_copy(src: Path, dest: Path) -> Path:
    """`dest` as a copy of `src` whose files are hard links (a full copy where linking fails)."""
    def link(s: str, d: str) -> None:
        try:
            os.link(s, d, follow_symlinks=False)
        except OSError:
            shutil.copy2(s, d, follow_symlinks=False)

    shutil.copytree(src, dest, symlinks=True, copy_function=link)
    return dest


def _own(path: Path) -> Path:
    """Make `path` a file of its own (not sharing an inode with the cached tree)."""
    if path.is_file() and not path.is_symlink() and path.stat().st_nlink > 1:
        data = path.read_bytes()
        st = path.stat()
        path.unlink()
        path.write_bytes(data)
        os.chmod(path, st.st_mode & 0o7777)
        os.chown(path, st.st_uid, st.st_gid)
    return path


def put(root: Path, path: str, text: str, mode: int = 0o644, uid: int = 0, gid: int = 0) -> None:
    dest = root / path.lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() or dest.is_symlink():
        dest.unlink()
    dest.write_text(text)
    os.chown(dest, uid, gid)
    os.chmod(dest, mode)


def edit(root: Path, path: str, pattern: str, repl: str, *, add: str | None = None) -> None:
    """Replace `pattern` (a multiline regex) in an existing file, or append `add` when it is absent."""
    dest = _own(root / path.lstrip("/"))
    text = dest.read_text()
    new, n = re.subn(pattern, repl, text, flags=re.M)
    if n == 0 and add is not None:
        new = text.rstrip("\n") + "\n" + add + "\n"
    st = dest.stat()
    put(root, path, new, st.st_mode & 0o7777, st.st_uid, st.st_gid)


def chmod(root: Path, path: str, mode: int) -> None:
    os.chmod(_own(root / path.lstrip("/")), mode)


def enable(root: Path, unit: str, target: str = "multi-user.target") -> None:
    wants = root / "etc/systemd/system" / f"{target}.wants"
    wants.mkdir(parents=True, exist_ok=True)
    link = wants / unit
    if not link.is_symlink():
        link.symlink_to(f"/lib/systemd/system/{unit}")


def add_line(root: Path, path: str, line: str) -> None:
    dest = root / path.lstrip("/")
    text = dest.read_text() if dest.exists() else ""
    if line not in text.splitlines():
        st = dest.stat() if dest.exists() else None
        put(root, path, text + line + "\n", st.st_mode & 0o7777 if st else 0o644,
            st.st_uid if st else 0, st.st_gid if st else 0)


# ------------------------------------------------------------------ CIS Debian 12 v1.1.0

FSTAB = """\
# /etc/fstab: static file system information (separate partitions, CIS 1.1.2)
/dev/mapper/vg-root     /               ext4    errors=remount-ro               0 1
UUID=0b5d2f44-6c1e-4d0e-9a55-0f6b0a1c2d3e /boot ext4 defaults,nodev,nosuid,noexec 0 2
tmpfs                   /tmp            tmpfs   defaults,rw,nosuid,nodev,noexec,relatime,size=2G 0 0
tmpfs                   /dev/shm        tmpfs   defaults,rw,nosuid,nodev,noexec,relatime,size=2G 0 0
/dev/mapper/vg-home     /home           ext4    defaults,nodev,nosuid           0 2
/dev/mapper/vg-var      /var            ext4    defaults,nodev,nosuid           0 2
/dev/mapper/vg-vartmp   /var/tmp        ext4    defaults,nodev,nosuid,noexec    0 2
/dev/mapper/vg-varlog   /var/log        ext4    defaults,nodev,nosuid,noexec    0 2
/dev/mapper/vg-audit    /var/log/audit  ext4    defaults,nodev,nosuid,noexec    0 2
/dev/mapper/vg-swap     none            swap    sw                              0 0
"""

MODULES = ("cramfs", "freevxfs", "hfs", "hfsplus", "jffs2", "overlay", "squashfs", "udf",
           "usb-storage", "dccp", "tipc", "rds", "sctp", "firewire-core", "firewire-ohci",
           "firewire-sbp2", "bluetooth", "btusb")

SYSCTL = """\
# CIS Debian 12 v1.1.0 section 3.3, and kernel hardening beyond it
net.ipv4.ip_forward = 0
net.ipv6.conf.all.forwarding = 0
net.ipv4.conf.all.send_redirects = 0
net.ipv4.conf.default.send_redirects = 0
net.ipv4.icmp_ignore_bogus_error_responses = 1
net.ipv4.icmp_echo_ignore_broadcasts = 1
net.ipv4.conf.all.accept_redirects = 0
net.ipv4.conf.default.accept_redirects = 0
net.ipv6.conf.all.accept_redirects = 0
net.ipv6.conf.default.accept_redirects = 0
net.ipv4.conf.all.secure_redirects = 0
net.ipv4.conf.default.secure_redirects = 0
net.ipv4.conf.all.rp_filter = 1
net.ipv4.conf.default.rp_filter = 1
net.ipv4.conf.all.accept_source_route = 0
net.ipv4.conf.default.accept_source_route = 0
net.ipv6.conf.all.accept_source_route = 0
net.ipv6.conf.default.accept_source_route = 0
net.ipv4.conf.all.log_martians = 1
net.ipv4.conf.default.log_martians = 1
net.ipv4.tcp_syncookies = 1
net.ipv6.conf.all.accept_ra = 0
net.ipv6.conf.default.accept_ra = 0
kernel.randomize_va_space = 2
kernel.yama.ptrace_scope = 1
fs.suid_dumpable = 0
kernel.dmesg_restrict = 1
kernel.kptr_restrict = 2
kernel.sysrq = 0
kernel.unprivileged_bpf_disabled = 1
net.core.bpf_jit_harden = 2
kernel.perf_event_paranoid = 3
dev.tty.ldisc_autoload = 0
"""

# procps ships /usr/lib/sysctl.d/protect-links.conf (fs.protected_fifos = 1): files apply in
# name order across the folders, so it comes after 60-cis.conf; a same-named file in /etc hides it.
PROTECT_LINKS = """fs.protected_fifos = 2
fs.protected_hardlinks = 1
fs.protected_regular = 2
fs.protected_symlinks = 1
"""

SSHD = """\
# CIS Debian 12 v1.1.0 section 5.1 (first value wins: this file is included before the rest)
PermitRootLogin no
PermitEmptyPasswords no
PermitUserEnvironment no
HostbasedAuthentication no
IgnoreRhosts yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM yes
DisableForwarding yes
X11Forwarding no
AllowTcpForwarding no
GSSAPIAuthentication no
LogLevel VERBOSE
MaxAuthTries 4
MaxSessions 10
MaxStartups 10:30:60
LoginGraceTime 60
ClientAliveInterval 15
ClientAliveCountMax 3
Banner /etc/issue.net
AllowGroups sshusers
Ciphers aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr,chacha20-poly1305@openssh.com
MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512,hmac-sha2-256
KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp521,ecdh-sha2-nistp384,ecdh-sha2-nistp256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256
"""

AUDIT_RULES = """\
## CIS Debian 12 v1.1.0 section 6.2.3
-w /etc/sudoers -p wa -k scope
-w /etc/sudoers.d -p wa -k scope
-a always,exit -F arch=b64 -C euid!=uid -F auid!=unset -S execve -k user_emulation
-a always,exit -F arch=b32 -C euid!=uid -F auid!=unset -S execve -k user_emulation
-w /var/log/sudo.log -p wa -k sudo_log_file
-a always,exit -F arch=b64 -S adjtimex,settimeofday,clock_settime -k time-change
-a always,exit -F arch=b32 -S adjtimex,settimeofday,clock_settime -k time-change
-w /etc/localtime -p wa -k time-change
-a always,exit -F arch=b64 -S sethostname,setdomainname -k system-locale
-a always,exit -F arch=b32 -S sethostname,setdomainname -k system-locale
-w /etc/issue -p wa -k system-locale
-w /etc/issue.net -p wa -k system-locale
-w /etc/hosts -p wa -k system-locale
-w /etc/networks -p wa -k system-locale
-w /etc/network/ -p wa -k system-locale
-w /etc/netplan/ -p wa -k system-locale
-a always,exit -F arch=b64 -S creat,open,openat,truncate,ftruncate -F exit=-EACCES -F auid>=1000 -F auid!=unset -k access
-a always,exit -F arch=b64 -S creat,open,openat,truncate,ftruncate -F exit=-EPERM -F auid>=1000 -F auid!=unset -k access
-a always,exit -F arch=b32 -S creat,open,openat,truncate,ftruncate -F exit=-EACCES -F auid>=1000 -F auid!=unset -k access
-a always,exit -F arch=b32 -S creat,open,openat,truncate,ftruncate -F exit=-EPERM -F auid>=1000 -F auid!=unset -k access
-w /etc/group -p wa -k identity
-w /etc/passwd -p wa -k identity
-w /etc/gshadow -p wa -k identity
-w /etc/shadow -p wa -k identity
-w /etc/security/opasswd -p wa -k identity
-w /etc/nsswitch.conf -p wa -k identity
-w /etc/pam.conf -p wa -k identity
-w /etc/pam.d -p wa -k identity
-a always,exit -F arch=b64 -S chmod,fchmod,fchmodat -F auid>=1000 -F auid!=unset -F key=perm_mod
-a always,exit -F arch=b64 -S chown,fchown,lchown,fchownat -F auid>=1000 -F auid!=unset -F key=perm_mod
-a always,exit -F arch=b32 -S chmod,fchmod,fchmodat -F auid>=1000 -F auid!=unset -F key=perm_mod
-a always,exit -F arch=b32 -S lchown,fchown,chown,fchownat -F auid>=1000 -F auid!=unset -F key=perm_mod
-a always,exit -F arch=b64 -S setxattr,lsetxattr,fsetxattr,removexattr,lremovexattr,fremovexattr -F auid>=1000 -F auid!=unset -F key=perm_mod
-a always,exit -F arch=b32 -S setxattr,lsetxattr,fsetxattr,removexattr,lremovexattr,fremovexattr -F auid>=1000 -F auid!=unset -F key=perm_mod
-a always,exit -F arch=b32 -S mount -F auid>=1000 -F auid!=unset -k mounts
-a always,exit -F arch=b64 -S mount -F auid>=1000 -F auid!=unset -k mounts
-w /var/run/utmp -p wa -k session
-w /var/log/wtmp -p wa -k session
-w /var/log/btmp -p wa -k session
-w /var/log/lastlog -p wa -k logins
-w /var/run/faillock -p wa -k logins
-a always,exit -F arch=b64 -S rename,unlink,unlinkat,renameat -F auid>=1000 -F auid!=unset -F key=delete
-a always,exit -F arch=b32 -S rename,unlink,unlinkat,renameat -F auid>=1000 -F auid!=unset -F key=delete
-w /etc/apparmor/ -p wa -k MAC-policy
-w /etc/apparmor.d/ -p wa -k MAC-policy
-a always,exit -F path=/usr/bin/chcon -F perm=x -F auid>=1000 -F auid!=unset -k perm_chng
-a always,exit -F path=/usr/bin/setfacl -F perm=x -F auid>=1000 -F auid!=unset -k perm_chng
-a always,exit -F path=/usr/bin/chacl -F perm=x -F auid>=1000 -F auid!=unset -k perm_chng
-a always,exit -F path=/usr/sbin/usermod -F perm=x -F auid>=1000 -F auid!=unset -k usermod
-a always,exit -F arch=b64 -S init_module,finit_module,delete_module,create_module,query_module -F auid>=1000 -F auid!=unset -k kernel_modules
-a always,exit -F path=/usr/bin/kmod -F perm=x -F auid>=1000 -F auid!=unset -k kernel_modules
-e 2
"""

AUDITD = {"max_log_file": "8", "max_log_file_action": "keep_logs", "space_left_action": "email",
          "action_mail_acct": "root", "admin_space_left_action": "single",
          "disk_full_action": "halt", "disk_error_action": "halt", "log_group": "adm"}

COMMON_AUTH = """\
auth\trequisite\t\t\tpam_faillock.so preauth
auth\t[success=2 default=ignore]\tpam_unix.so
auth\t[default=die]\t\t\tpam_faillock.so authfail
auth\trequisite\t\t\tpam_deny.so
auth\trequired\t\t\tpam_permit.so
"""

COMMON_PASSWORD = """\
password\trequisite\t\t\tpam_pwquality.so retry=3
password\trequisite\t\t\tpam_pwhistory.so remember=24 enforce_for_root try_first_pass use_authtok
password\t[success=1 default=ignore]\tpam_unix.so obscure use_authtok try_first_pass yescrypt
password\trequisite\t\t\tpam_deny.so
password\trequired\t\t\tpam_permit.so
"""

NFTABLES = """\
#!/usr/sbin/nft -f
flush ruleset
table inet filter {
    chain input {
        type filter hook input priority 0; policy drop;
        iif "lo" accept
        ip saddr 127.0.0.0/8 counter drop
        ip6 saddr ::1 counter drop
        ip protocol tcp ct state established accept
        ip protocol udp ct state established accept
        ip protocol icmp ct state established accept
        tcp dport ssh accept
    }
    chain forward {
        type filter hook forward priority 0; policy drop;
    }
    chain output {
        type filter hook output priority 0; policy drop;
        ip protocol tcp ct state new,related,established accept
        ip protocol udp ct state new,related,established accept
        ip protocol icmp ct state new,related,established accept
    }
}
"""

BANNER = "Authorized users only. All activity may be monitored and reported.\n"

GRUB_CFG = """\
#
# DO NOT EDIT THIS FILE
#
# It is automatically generated by grub-mkconfig using templates
# from /etc/grub.d and settings from /etc/default/grub
#
### BEGIN /etc/grub.d/00_header ###
set default="0"
### END /etc/grub.d/00_header ###
### BEGIN /etc/grub.d/01_password ###
set superusers="grubadmin"
password_pbkdf2 grubadmin grub.pbkdf2.sha512.10000.2C9D6B1B7A1F4E8F.6F0F4C7A1E9B2D3C4B5A69788796A5B4C3D2E1F0A9B8C7D6E5F4A3B2C1D0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B4C3D2E1F0A9B8C7D6E5F4A3B2C1D0E9F8A7B6C5D4E3F2A1B0C9D8E7F6
### END /etc/grub.d/01_password ###
### BEGIN /etc/grub.d/10_linux ###
menuentry 'Debian GNU/Linux' --class debian --class gnu-linux --class gnu --class os --unrestricted $menuentry_id_option 'gnulinux-simple-0b5d2f44' {
	load_video
	insmod gzio
	insmod part_gpt
	insmod ext2
	echo	'Loading Linux 6.1.0-50-amd64 ...'
	linux	/vmlinuz-6.1.0-50-amd64 root=/dev/mapper/vg-root ro quiet apparmor=1 security=apparmor audit=1 audit_backlog_limit=8192
	echo	'Loading initial ramdisk ...'
	initrd	/initrd.img-6.1.0-50-amd64
}
### END /etc/grub.d/10_linux ###
"""


def harden(root: Path) -> None:
    """Apply the CIS Debian 12 v1.1.0 remediations (level 2 server) to a debootstrap tree."""
    put(root, "/etc/fstab", FSTAB)
    put(root, "/etc/modprobe.d/cis.conf", "".join(f"install {m} /bin/false\nblacklist {m}\n"
                                                   for m in MODULES))
    put(root, "/etc/sysctl.d/60-cis.conf", SYSCTL)
    put(root, "/etc/sysctl.d/protect-links.conf", PROTECT_LINKS)
    # LVM on LUKS, as the Debian installer's "encrypted LVM" sets it up
    put(root, "/etc/crypttab", "nvme0n1p3_crypt UUID=5e1c8a2b-3f4d-4a6b-9c7d-8e9f0a1b2c3d none "
        "luks,discard\n")
    put(root, "/etc/ssh/sshd_config.d/00-cis.conf", SSHD, 0o600)
    chmod(root, "/etc/ssh/sshd_config", 0o600)
    # bootloader
    put(root, "/boot/grub/grub.cfg", GRUB_CFG, 0o400)
    # banners
    for banner in ("/etc/issue", "/etc/issue.net", "/etc/motd"):
        put(root, banner, BANNER)
    # time, firewall, logging, accounting, updates
    put(root, "/etc/nftables.conf", NFTABLES, 0o755)
    enable(root, "nftables.service", "sysinit.target")
    put(root, "/etc/systemd/journald.conf.d/60-cis.conf",
        "[Journal]\nForwardToSyslog=yes\nCompress=yes\nStorage=persistent\n")
    enable(root, "acct.service")
    put(root, "/etc/apt/apt.conf.d/20auto-upgrades",
        'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n')
    # auditd
    put(root, "/etc/audit/rules.d/50-cis.rules", AUDIT_RULES, 0o640)
    # 6.2.3.6: a rule for every setuid / setgid program, as the benchmark's script finds them
    put(root, "/etc/audit/rules.d/50-privileged.rules", "".join(
        f"-a always,exit -F path={p} -F perm=x -F auid>=1000 -F auid!=unset -k privileged\n"
        for p in privileged_programs(root)), 0o640)
    for key, value in AUDITD.items():
        edit(root, "/etc/audit/auditd.conf", rf"^{key}\s*=.*$", f"{key} = {value}",
             add=f"{key} = {value}")
    chmod(root, "/etc/audit/auditd.conf", 0o640)
    # AIDE also checks the audit tools
    put(root, "/etc/aide/aide.conf.d/99_aide_audit_tools", "".join(
        f"/usr/sbin/{t} p+i+n+u+g+s+b+acl+xattrs+sha512\n"
        for t in ("auditctl", "auditd", "ausearch", "aureport", "autrace", "augenrules")))
    # 6.1.4.1: the benchmark's script takes the excess bits off every log file
    for folder, _dirs, files in os.walk(root / "var/log"):
        for name in files:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                widest = rule_for(name)[0]
                if path.stat().st_mode & 0o7777 & ~widest:
                    os.chmod(_own(path), path.stat().st_mode & widest)
    # cron and at
    put(root, "/etc/cron.allow", "root\n", 0o640)
    chmod(root, "/etc/crontab", 0o600)
    for d in ("cron.hourly", "cron.daily", "cron.weekly", "cron.monthly", "cron.d"):
        os.chmod(root / "etc" / d, 0o700)
    # PAM and passwords
    put(root, "/etc/pam.d/common-auth", COMMON_AUTH)
    put(root, "/etc/pam.d/common-password", COMMON_PASSWORD)
    add_line(root, "/etc/pam.d/common-account", "account\trequired\t\t\tpam_faillock.so")
    put(root, "/etc/security/faillock.conf", "deny = 5\nunlock_time = 900\neven_deny_root\n"
        "root_unlock_time = 60\n")
    put(root, "/etc/security/pwquality.conf.d/50-cis.conf",
        "minlen = 14\nminclass = 4\ndifok = 2\nmaxrepeat = 3\nmaxsequence = 3\ndictcheck = 1\n"
        "enforce_for_root\n")
    put(root, "/etc/security/pwhistory.conf", "remember = 24\nenforce_for_root\n")
    for key, value in (("PASS_MAX_DAYS", "365"), ("PASS_MIN_DAYS", "1"), ("UMASK", "027"),
                       ("ENCRYPT_METHOD", "YESCRYPT")):
        edit(root, "/etc/login.defs", rf"^#?\s*{key}\s.*$", f"{key}\t{value}", add=f"{key}\t{value}")
    edit(root, "/etc/default/useradd", r"^#?\s*INACTIVE=.*$", "INACTIVE=45", add="INACTIVE=45")
    put(root, "/etc/profile.d/50-cis.sh", "umask 027\nreadonly TMOUT=900\nexport TMOUT\n")
    put(root, "/etc/security/limits.d/60-cis.conf", "* hard core 0\n")
    # su only for an empty group; sudo with its own log and a pty
    add_line(root, "/etc/group", "sugroup:x:1500:")
    add_line(root, "/etc/gshadow", "sugroup:!::")
    edit(root, "/etc/pam.d/su", r"^#?\s*auth\s+required\s+pam_wheel\.so.*$",
         "auth       required   pam_wheel.so use_uid group=sugroup",
         add="auth       required   pam_wheel.so use_uid group=sugroup")
    # one administrator, who may log in over SSH
    add_line(root, "/etc/group", "sshusers:x:1501:alice")
    add_line(root, "/etc/gshadow", "sshusers:!::alice")
    add_line(root, "/etc/group", "alice:x:1000:")
    add_line(root, "/etc/gshadow", "alice:!::")
    add_line(root, "/etc/passwd", "alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash")
    add_line(root, "/etc/shadow", "alice:$y$j9T$Vx0J4M0t3mQ0cKmH5D3Qy/$4c5hG6z0bJm8lQ2yNvXo5l6rUQ0v9e2"
             "vTz1W3kq5YfA:20400:1:365:7:45::")
    home = root / "home/alice"
    home.mkdir(parents=True, exist_ok=True)
    os.chown(home, 1000, 1000)
    os.chmod(home, 0o750)
    for dot, body in ((".bashrc", "umask 027\n"), (".profile", ". ~/.bashrc\n")):
        put(root, f"/home/alice/{dot}", body, 0o600, 1000, 1000)
    put(root, "/etc/sudoers.d/60-cis", 'Defaults use_pty\nDefaults logfile="/var/log/sudo.log"\n'
        "Defaults timestamp_timeout=15\n", 0o440)
