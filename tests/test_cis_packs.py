"""The CIS-depth host packs, check by check: every check fails on at least one misconfigured
tree built here and passes on the hardened demo tree; nothing errors on either."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from hostsys_util import run_checks
from smbaudit import demotree
from smbaudit.models import CheckDef, Status
from smbaudit.packs.loader import load_packs
from smbaudit.probes.builtin import builtin_probe_classes
from smbaudit.targets.posixfs import DirectoryTarget

REPO = Path(__file__).resolve().parents[1]
PACKS = [REPO / "checks" / p for p in (
    "kernel/modules.yaml", "kernel/sysctl-hardening.yaml", "ssh/sshd-cis.yaml", "filesystems",
    "services", "boot", "files/cis-files.yaml", "audit", "access", "netfilter")]


class LiveTree(DirectoryTarget):
    """A tree standing in for a live host's /proc (which cannot be faked on this machine)."""

    live = True


def put(root: Path, path: str, text: str, mode: int = 0o644) -> None:
    dest = root / path.lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text)
    os.chmod(dest, mode)


def mounts_all_weak(root: Path) -> None:
    """Every CIS mount point separate, none with nodev / nosuid / noexec."""
    put(root, "/etc/fstab", "".join(f"/dev/vg/{n} {p} ext4 defaults,user,exec,suid,dev 0 2\n"
                                    for n, p in (("tmp", "/tmp"), ("shm", "/dev/shm"), ("home", "/home"),
                                                 ("var", "/var"), ("vt", "/var/tmp"), ("log", "/var/log"),
                                                 ("audit", "/var/log/audit"))))
    put(root, "/boot/vmlinuz-6.1.0-28-amd64", "")


def mounts_none(root: Path) -> None:
    """A VM with everything on the root file system and /dev/shm remounted with defaults."""
    put(root, "/etc/fstab", "/dev/vda1 / ext4 errors=remount-ro 0 1\ntmpfs /dev/shm tmpfs defaults 0 0\n")
    put(root, "/boot/vmlinuz-6.1.0-28-amd64", "")


def services_in_use(root: Path) -> None:
    """Every service of the services pack installed and enabled; every unwanted client installed."""
    from smbaudit.demotree._systemd_links import install_unit
    from smbaudit.demotree.packages import status_paragraph

    checks = [c for c in _load() if c.probe in ("services", "packages")]
    pkgs = sorted({p for c in checks for p in c.params.get("packages", [])}
                  | {a.value for c in checks if c.probe == "packages" for a in _assertions(c)})
    put(root, "/var/lib/dpkg/status", "".join(status_paragraph(p, "", "1.0-1", "amd64") for p in pkgs))
    for c in checks:
        for unit in c.params.get("units", [])[:1]:
            install_unit(root, unit, enabled=True)


def _assertions(check: CheckDef) -> list:
    from smbaudit.models import Assertion, Condition

    out, todo = [], [check.condition]
    while todo:
        cond: Condition = todo.pop()
        for item in cond.items:
            (out if isinstance(item, Assertion) else todo).append(item)
    return out


def loose_files(root: Path) -> None:
    put(root, "/etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAA demo\n", 0o666)
    put(root, "/etc/audit/auditd.conf", "log_file = /var/log/audit/audit.log\n", 0o644)
    put(root, "/etc/audit/rules.d/50-scope.rules", "-w /etc/sudoers -p wa -k scope\n", 0o666)


def live_container(root: Path) -> None:
    """A live host (see LiveTree) whose mount table has no /dev/shm of its own."""
    put(root, "/proc/self/mounts", "/dev/vda1 / ext4 rw,relatime 0 0\nproc /proc proc rw 0 0\n")
    put(root, "/etc/fstab", "/dev/vda1 / ext4 errors=remount-ro 0 1\n")


def rsyslog(root: Path, good: bool) -> None:
    from smbaudit.demotree._systemd_links import install_unit

    put(root, "/etc/rsyslog.conf", ("$FileCreateMode 0640\n" if good else
                                    'module(load="imtcp")\ninput(type="imtcp" port="514")\n')
        + "*.* /var/log/syslog\n")
    put(root, "/etc/systemd/journald.conf", f"[Journal]\nForwardToSyslog={'yes' if good else 'no'}\n")
    install_unit(root, "rsyslog.service", enabled=good)
    if good:
        put(root, "/usr/sbin/rsyslogd", "")


def auditd_defaults(root: Path) -> None:
    put(root, "/usr/sbin/auditd", "")
    put(root, "/etc/audit/auditd.conf", "log_file = /var/log/audit/audit.log\n", 0o640)


# Trees on which checks not applicable to the hardened demo tree (the alternatives it does not
# use) must pass.
def chrony(root: Path, good: bool) -> None:
    from smbaudit.demotree._systemd_links import install_unit

    put(root, "/etc/debian_version", "12.8\n")
    put(root, "/etc/chrony/chrony.conf", ("sourcedir /etc/chrony/sources.d\n" if good else "user root\n")
        + "driftfile /var/lib/chrony/chrony.drift\n")
    if good:
        put(root, "/etc/chrony/sources.d/local.sources", "pool ntp.example.org iburst\n")
    install_unit(root, "chrony.service", enabled=good)
    install_unit(root, "systemd-timesyncd.service", enabled=False)


def chrony_rhel(root: Path, good: bool) -> None:
    """RHEL's layout: /etc/chrony.conf and chronyd.service; a pool line, or a reference clock
    and a peer only (no server to follow, which the benchmarks' audits do not accept)."""
    from smbaudit.demotree._systemd_links import install_unit

    put(root, "/etc/os-release", 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nVERSION_ID="9.4"\n')
    put(root, "/etc/chrony.conf", ("pool 2.rhel.pool.ntp.org iburst\n" if good else
                                   "refclock PHC /dev/ptp0 poll 3\npeer 192.0.2.10\n")
        + "sourcedir /run/chrony-dhcp\ndriftfile /var/lib/chrony/drift\nmakestep 1.0 3\n")
    install_unit(root, "chronyd.service", enabled=True)


def aide_unscheduled(root: Path) -> None:
    put(root, "/usr/bin/aide", "")
    put(root, "/etc/aide/aide.conf", "/etc p+i+n+u+g+s+sha512\n")
    put(root, "/etc/cron.daily/logrotate", "#!/bin/sh\nlogrotate /etc/logrotate.conf\n")


def pam_weak(root: Path) -> None:
    """PAM stacks with pam_unix only, carrying remember= and no use_authtok; a lone pwhistory."""
    put(root, "/etc/pam.d/common-auth", "auth required pam_permit.so\n")
    put(root, "/etc/pam.d/common-password", "password requisite pam_pwquality.so dictcheck=0\n"
        "password required pam_pwhistory.so remember=5\n"
        "password [success=1 default=ignore] pam_unix.so remember=5 yescrypt\n"
        "password requisite pam_deny.so\n")


def pam_sss_only(root: Path) -> None:
    put(root, "/etc/pam.d/common-auth", "auth required pam_sss.so\n")


def accounts_odd(root: Path) -> None:
    """An operator account in group 0, one whose group was deleted, a change date in 2100, a
    service account with a password."""
    put(root, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nops:x:1001:0::/home/ops:/bin/bash\n"
        "old:x:1002:1500::/home/old:/bin/bash\nftp:x:120:65534::/srv/ftp:/usr/sbin/nologin\n")
    put(root, "/etc/group", "root:x:0:\nshadow:x:42:\n")
    put(root, "/etc/shadow", "root:!:19700:0:99999:7:::\nops:$y$j9T$abc$def:47482:0:99999:7:30::\n"
        "old:!:19700:0:99999:7:::\nftp:$y$j9T$abc$def:19700:0:99999:7:::\n", 0o640)


def coredump(root: Path, good: bool) -> None:
    put(root, "/usr/lib/systemd/systemd-coredump", "")
    if good:
        put(root, "/etc/systemd/coredump.conf.d/60-cis.conf", "[Coredump]\nStorage=none\nProcessSizeMax=0\n")


def ufw(root: Path, good: bool) -> None:
    from smbaudit.demotree._systemd_links import install_unit

    put(root, "/usr/sbin/ufw", "")
    put(root, "/etc/ufw/ufw.conf", "ENABLED=yes\n")
    put(root, "/etc/default/ufw", 'DEFAULT_INPUT_POLICY="DROP"\n')
    install_unit(root, "ufw.service", enabled=good)
    if good:
        put(root, "/etc/ufw/user.rules", "*filter\n-A ufw-user-input -i lo -j ACCEPT\n"
            "-A ufw-user-input -s 127.0.0.0/8 -j DROP\nCOMMIT\n")
    else:
        put(root, "/etc/iptables/rules.v4", "*filter\n:INPUT DROP [0:0]\nCOMMIT\n")


def iptables(root: Path, good: bool, crowded: bool = False, nft: bool = False) -> None:
    from smbaudit.demotree._systemd_links import install_unit

    lo4 = "-A INPUT -i lo -j ACCEPT\n-A INPUT -s 127.0.0.0/8 -j DROP\n" if good else ""
    lo6 = "-A INPUT -i lo -j ACCEPT\n-A INPUT -s ::1/128 -j DROP\n" if good else ""
    put(root, "/etc/iptables/rules.v4", f"*filter\n:INPUT DROP [0:0]\n{lo4}COMMIT\n")
    put(root, "/etc/iptables/rules.v6", f"*filter\n:INPUT DROP [0:0]\n{lo6}COMMIT\n")
    install_unit(root, "netfilter-persistent.service", enabled=True)
    if good:  # iptables and iptables-persistent installed
        put(root, "/usr/sbin/iptables", "")
        put(root, "/usr/share/netfilter-persistent/plugins.d/15-ip4tables", "")
    if good or nft:  # Ubuntu 22.04, whose benchmark asks for nftables to be removed
        put(root, "/etc/os-release", 'NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="22.04"\n')
    if nft:  # nftables installed, its service left disabled
        put(root, "/usr/sbin/nft", "")
    if crowded:  # nftables and ufw loading rules as well
        put(root, "/etc/nftables.conf", "table inet filter {\n chain input {\n  type filter hook input priority 0; policy drop;\n }\n}\n")
        install_unit(root, "nftables.service", enabled=True)
        put(root, "/usr/sbin/ufw", "")
        put(root, "/etc/ufw/ufw.conf", "ENABLED=yes\n")


TRUSTED_ZONE = """<?xml version="1.0" encoding="utf-8"?>
<zone target="ACCEPT">
  <short>Trusted</short>
  <description>All network connections are accepted.</description>{extra}
</zone>
"""


def firewalld(root: Path, good: bool) -> None:
    """firewalld in use with the public zone; the benchmark's trusted-zone loopback rules as
    firewall-cmd --permanent writes them, or RHEL's shipped trusted zone only."""
    from smbaudit.demotree._systemd_links import install_unit

    put(root, "/etc/os-release", 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nVERSION_ID="9.4"\n')
    put(root, "/usr/sbin/firewalld", "")
    put(root, "/etc/firewalld/firewalld.conf", "DefaultZone=public\n")
    put(root, "/usr/lib/firewalld/zones/public.xml", '<?xml version="1.0" encoding="utf-8"?>\n'
        '<zone>\n  <short>Public</short>\n  <service name="ssh"/>\n</zone>\n')
    put(root, "/usr/lib/firewalld/zones/trusted.xml", TRUSTED_ZONE.format(extra=""))
    if good:
        put(root, "/etc/firewalld/zones/trusted.xml", TRUSTED_ZONE.format(extra="""
  <interface name="lo"/>
  <rule family="ipv4">
    <source address="127.0.0.1"/>
    <destination address="127.0.0.1" invert="True"/>
    <drop/>
  </rule>
  <rule family="ipv6">
    <source address="::1"/>
    <destination address="::1" invert="True"/>
    <drop/>
  </rule>"""))
    install_unit(root, "firewalld.service", enabled=True)


RHEL_OS = 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nVERSION_ID="9.4"\n'


def rhel_dnf(root: Path, good: bool) -> None:
    """dnf.conf as RHEL 9 ships it and the subscription's repository file; or [main] without
    gpgcheck and a disabled testing repository with gpgcheck=0 beside it."""
    put(root, "/etc/os-release", RHEL_OS)
    put(root, "/etc/dnf/dnf.conf", "[main]\n" + ("gpgcheck=1\n" if good else "")
        + "installonly_limit=3\nclean_requirements_on_remove=True\nbest=True\nskip_if_unavailable=False\n")
    put(root, "/etc/yum.repos.d/redhat.repo", "#\n# Certificate-Based Repositories\n#\n"
        "[rhel-9-for-x86_64-baseos-rpms]\nname = Red Hat Enterprise Linux 9 for x86_64 - BaseOS (RPMs)\n"
        "baseurl = https://cdn.redhat.com/content/dist/rhel9/$releasever/x86_64/baseos/os\n"
        "enabled = 1\ngpgcheck = 1\ngpgkey = file:///etc/pki/rpm-gpg/RPM-GPG-KEY-redhat-release\n")
    if not good:
        put(root, "/etc/yum.repos.d/epel-testing.repo", "[epel-testing]\nname=EPEL testing\n"
            "metalink=https://mirrors.fedoraproject.org/metalink?repo=testing-epel9\nenabled=0\ngpgcheck=0\n")


AUTHSELECT_SYSTEM_AUTH = """auth        required                                     pam_env.so
auth        required                                     pam_faillock.so preauth silent {include if "with-faillock"}
auth        sufficient                                   pam_unix.so {if not "without-nullok":nullok}
auth        required                                     pam_faillock.so authfail {include if "with-faillock"}
auth        required                                     pam_deny.so
account     required                                     pam_unix.so
password    requisite                                    pam_pwquality.so
password    required                                     pam_pwhistory.so use_authtok {include if "with-pwhistory"}
password    sufficient                                   pam_unix.so yescrypt shadow use_authtok
password    required                                     pam_deny.so
session     required                                     pam_unix.so
"""


def rhel_authselect(root: Path, good: bool) -> None:
    """The benchmark's custom profile made from sssd; or the shipped sssd profile of an older
    authselect, whose templates have no pam_pwhistory (and password-auth no pam_pwquality)."""
    put(root, "/etc/os-release", RHEL_OS)
    if good:
        put(root, "/etc/authselect/authselect.conf", "custom/cis\nwith-faillock\nwith-pwhistory\n")
        for name in ("system-auth", "password-auth"):
            put(root, f"/etc/authselect/custom/cis/{name}", AUTHSELECT_SYSTEM_AUTH)
        return
    put(root, "/etc/authselect/authselect.conf", "sssd\nwith-faillock\n")
    old = AUTHSELECT_SYSTEM_AUTH.replace("password    required                                     pam_pwhistory.so use_authtok {include if \"with-pwhistory\"}\n", "")
    put(root, "/usr/share/authselect/default/sssd/system-auth", old)
    put(root, "/usr/share/authselect/default/sssd/password-auth", old.replace("pam_pwquality.so", "pam_deny.so"))


def ufw_removed(root: Path) -> None:
    """ufw removed but not purged: its configuration (ENABLED=yes) stays, the program is gone."""
    put(root, "/etc/ufw/ufw.conf", "ENABLED=yes\n")
    put(root, "/etc/default/ufw", 'DEFAULT_INPUT_POLICY="DROP"\n')


def journald_masked(root: Path) -> None:
    """journald masked, no rsyslog: nothing logs."""
    from smbaudit.demotree._systemd_links import install_unit

    install_unit(root, "systemd-journald.service", enabled=True, target="sysinit.target")
    (root / "etc/systemd/system").mkdir(parents=True, exist_ok=True)
    os.symlink("/dev/null", root / "etc/systemd/system/systemd-journald.service")
    put(root, "/etc/systemd/journald.conf", "[Journal]\nForwardToSyslog=yes\n")


def sudo_log_unaudited(root: Path) -> None:
    put(root, "/usr/sbin/auditd", "")
    put(root, "/etc/sudoers", 'Defaults logfile="/var/log/sudo.log"\nroot ALL=(ALL:ALL) ALL\n', 0o440)
    put(root, "/etc/audit/rules.d/50-scope.rules", "-w /etc/sudoers -p wa -k scope\n"
        "-w /var/log/sudo.log -p r -k sudo_log_file\n", 0o640)


def unowned(root: Path) -> None:
    """A home folder left behind by a deleted account (uid 1500 is in no account file)."""
    put(root, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    put(root, "/etc/group", "root:x:0:\n")
    put(root, "/home/gone/notes.txt", "x\n")
    if os.geteuid() == 0:  # otherwise the files are the test user's, who is in no account file
        os.chown(root / "home/gone", 1500, 1500)


def mta(root: Path, good: bool) -> None:
    """Postfix sending local mail only, or Exim 4 as an internet site on every interface."""
    if good:
        put(root, "/usr/sbin/postfix", "")
        put(root, "/etc/postfix/main.cf", "myhostname = host.example\ninet_interfaces = loopback-only\n")
    else:
        put(root, "/usr/sbin/exim4", "")
        put(root, "/etc/exim4/update-exim4.conf.conf", "dc_eximconfig_configtype='internet'\n"
            "dc_local_interfaces=''\n")


def live_wireless(root: Path, off: bool) -> None:
    """A live host (see LiveTree) with a wlan0 driven by iwlwifi, refused by modprobe.d or not."""
    (root / "sys/class/net/wlan0/wireless").mkdir(parents=True)
    (root / "sys/class/net/wlan0/device/driver").mkdir(parents=True)
    (root / "sys/class/net/eth0").mkdir(parents=True)
    os.symlink("../../../../module/iwlwifi", root / "sys/class/net/wlan0/device/driver/module")
    put(root, "/proc/modules", "" if off else "iwlwifi 499712 1 iwlmvm, Live 0x0\n")
    if off:
        put(root, "/etc/modprobe.d/wireless.conf", "install iwlwifi /bin/false\nblacklist iwlwifi\n")


# /proc/net tables: sshd on 0.0.0.0:22 and [::]:22, a web server on 0.0.0.0:8080, DNS on
# 127.0.0.53 (loopback: left out), all listening (state 0A)
PROC_TCP = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
            "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1\n"
            "   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1002 1\n"
            "   2: 3500007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1003 1\n")
PROC_TCP6 = ("  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
             "   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1004 1\n")


def live_ports(root: Path, tool: str, good: bool) -> None:
    """A live host listening on 22 and 8080 (v4) and 22 (v6), firewalled by ufw or iptables
    with rules for 22 only, or for both."""
    from smbaudit.demotree._systemd_links import install_unit

    put(root, "/proc/net/tcp", PROC_TCP)
    put(root, "/proc/net/tcp6", PROC_TCP6)
    extra = "-A {chain} -p tcp -m multiport --dports 80,8000:8999 -j ACCEPT\n" if good else ""
    if tool == "ufw":
        ufw(root, True)
        put(root, "/etc/ufw/user.rules", "*filter\n-A ufw-user-input -i lo -j ACCEPT\n"
            "-A ufw-user-input -s 127.0.0.0/8 -j DROP\n-A ufw-user-input -p tcp --dport 22 -j ACCEPT\n"
            + extra.format(chain="ufw-user-input") + "COMMIT\n")
    else:
        iptables(root, True)
        for name, lo in (("rules.v4", "-A INPUT -s 127.0.0.0/8 -j DROP\n"), ("rules.v6", "-A INPUT -s ::1/128 -j DROP\n")):
            put(root, f"/etc/iptables/{name}", "*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\n" + lo
                + "-A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT\n"
                + ("-A INPUT -p tcp --dport 22 -m state --state NEW -j ACCEPT\n" if good or name == "rules.v4" else "")
                + extra.format(chain="INPUT") + "COMMIT\n")
        install_unit(root, "netfilter-persistent.service", enabled=True)


def rhel_selinux(root: Path, good: bool) -> None:
    """A RHEL 9 host: SELinux enforcing with the targeted policy, or disabled everywhere with
    its helper services installed. (Its package list comes as a dpkg status file here: the
    package checks read names the same from either database.)"""
    from smbaudit.demotree.packages import status_paragraph

    put(root, "/etc/os-release", 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nVERSION_ID="9.4"\n')
    pkgs = ["libselinux", "selinux-policy-targeted"] if good else ["mcstrans", "setroubleshoot"]
    put(root, "/var/lib/dpkg/status", "".join(status_paragraph(p, "", "1.0-1", "x86_64") for p in pkgs))
    put(root, "/boot/loader/entries/0a1b-5.14.0-427.el9.x86_64.conf",
        "title Red Hat Enterprise Linux (5.14.0-427.el9.x86_64) 9.4\nlinux /vmlinuz-5.14.0-427.el9.x86_64\n"
        "options root=/dev/mapper/rhel-root ro" + ("" if good else " selinux=0") + "\n")
    if good:
        put(root, "/etc/selinux/config", "SELINUX=enforcing\nSELINUXTYPE=targeted\n")
        put(root, "/etc/selinux/targeted/policy/policy.33", "")
        # the benchmark's sub-policies; NO-SHA1 as RHEL ships it, the others written by the admin
        put(root, "/etc/crypto-policies/config", "DEFAULT:NO-SHA1:NO-WEAKMAC:NO-SSHCBC:NO-SSHCHACHA20:NO-SSHETM\n")
        put(root, "/usr/share/crypto-policies/policies/modules/NO-SHA1.pmod",
            "# This is a subpolicy dropping the SHA1 hash and signature support\n"
            "hash = -SHA1\nsign = -*-SHA1\nsha1_in_certs = 0\n")
        for name, line in (("NO-WEAKMAC", "mac = -*-64*"), ("NO-SSHCBC", "cipher@SSH = -*-CBC"),
                           ("NO-SSHCHACHA20", "cipher@SSH = -CHACHA20-POLY1305"),
                           ("NO-SSHETM", "etm@SSH = DISABLE_ETM")):
            put(root, f"/etc/crypto-policies/policies/modules/{name}.pmod", f"# CIS 1.6\n{line}\n")
    else:
        put(root, "/etc/selinux/config", "SELINUX=disabled\n")
        put(root, "/etc/crypto-policies/config", "LEGACY\n")
        put(root, "/etc/sysconfig/sshd", 'CRYPTO_POLICY="-oCiphers=aes128-cbc"\n')


def nftables_bare(root: Path) -> None:
    """nftables with an input chain only, no loopback drop rule, service not enabled."""
    from smbaudit.demotree._systemd_links import install_unit

    put(root, "/etc/nftables.conf", "table inet filter {\n chain input {\n  type filter hook input priority 0; policy drop;\n  iif lo accept\n }\n}\n")
    install_unit(root, "nftables.service", enabled=False)


def nftables_none(root: Path) -> None:
    from smbaudit.demotree._systemd_links import install_unit

    put(root, "/etc/nftables.conf", "flush ruleset\n")
    put(root, "/usr/sbin/nft", "")
    install_unit(root, "nftables.service", enabled=True)


def gdm(root: Path, good: bool) -> None:
    put(root, "/usr/sbin/gdm3", "")
    if not good:
        put(root, "/etc/gdm3/custom.conf", "[daemon]\n[xdmcp]\nEnable=true\n")
        put(root, "/etc/dconf/db/local.d/00-media", "[org/gnome/desktop/media-handling]\nautomount=true\n")
        return
    put(root, "/etc/gdm3/custom.conf", "[daemon]\n[xdmcp]\n")
    put(root, "/etc/dconf/db/gdm.d/01-banner-message", "[org/gnome/login-screen]\n"
        "banner-message-enable=true\nbanner-message-text='Authorised users only'\ndisable-user-list=true\n")
    put(root, "/etc/dconf/db/local.d/00-screensaver", "[org/gnome/desktop/session]\nidle-delay=uint32 900\n\n"
        "[org/gnome/desktop/screensaver]\nlock-delay=uint32 5\n")
    put(root, "/etc/dconf/db/local.d/00-media", "[org/gnome/desktop/media-handling]\nautomount=false\n"
        "automount-open=false\nautorun-never=true\n")
    put(root, "/etc/dconf/db/local.d/locks/00-cis", "".join(f"/org/gnome/desktop/{k}\n" for k in (
        "session/idle-delay", "screensaver/lock-delay", "media-handling/automount",
        "media-handling/automount-open", "media-handling/autorun-never")))


def journald_only(root: Path) -> None:
    from smbaudit.demotree._systemd_links import install_unit
    from smbaudit.demotree.packages import status_paragraph

    put(root, "/var/lib/dpkg/status", status_paragraph("bash", "", "5.2.15-2+b7", "amd64"))
    install_unit(root, "systemd-timesyncd.service", enabled=False)


def pam_packages(root: Path, good: bool) -> None:
    """Debian 12's PAM packages with the package indexes apt-get update left: the installed
    versions only, or a newer libpam-runtime and libpam0g in bookworm-updates."""
    from smbaudit.demotree.packages import status_paragraph

    rows = [("libpam-runtime", "pam", "1.5.2-6", "all"), ("libpam-modules", "pam", "1.5.2-6", "amd64"),
            ("libpam0g", "pam", "1.5.2-6", "amd64"), ("libpam-pwquality", "libpwquality", "1.4.5-1+b1", "amd64")]
    put(root, "/etc/os-release", 'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n')
    put(root, "/var/lib/dpkg/status", "".join(status_paragraph(*r) for r in rows))
    lists = "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm"
    put(root, f"{lists}_main_binary-amd64_Packages", "".join(
        f"Package: {n}\nVersion: {v}\nArchitecture: {a}\n\n" for n, _, v, a in rows))
    newer = "" if good else "".join(f"Package: {n}\nVersion: 1.5.2-6+deb12u1\nArchitecture: {a}\n\n"
                                    for n, _, _, a in rows if n in ("libpam-runtime", "libpam0g"))
    put(root, f"{lists}-updates_main_binary-amd64_Packages", newer)


RHEL_PRIMARY = """<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" packages="{n}">{packages}</metadata>"""


def rhel_packages(root: Path, good: bool) -> None:
    """A RHEL 9 host's rpm database (pam, authselect, libpwquality) and dnf's cached BaseOS
    metadata: the installed builds only, or a newer build of each."""
    from vulndb_util import rpm_header, rpmdb_sqlite

    rows = [("pam", "1.5.1", "19.el9"), ("authselect", "1.2.6", "2.el9"),
            ("authselect-libs", "1.2.6", "2.el9"), ("libpwquality", "1.4.4", "8.el9")]
    put(root, "/etc/os-release", 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nVERSION_ID="9.4"\n')
    rpmdb_sqlite(root / "var/lib/rpm/rpmdb.sqlite", [rpm_header(n, v, r) for n, v, r in rows])
    offered = rows if good else [(n, v, r.replace("el9", "el9_4")) for n, v, r in rows]
    put(root, "/var/cache/dnf/baseos-0a1b2c3d/repodata/aa11-primary.xml", RHEL_PRIMARY.format(
        n=len(offered), packages="".join(
            f'<package type="rpm"><name>{n}</name><arch>x86_64</arch><version epoch="0" ver="{v}" rel="{r}"/></package>'
            for n, v, r in offered)))


GOOD_VARIANTS: dict[str, Callable[[Path], None]] = {
    "rsyslog-good": lambda root: rsyslog(root, True),
    "chrony-good": lambda root: chrony(root, True),
    "coredump-good": lambda root: coredump(root, True),
    "ufw-good": lambda root: ufw(root, True),
    "iptables-good": lambda root: iptables(root, True),
    "gdm-good": lambda root: gdm(root, True),
    "mta-good": lambda root: mta(root, True),
    "live-wireless-off": lambda root: live_wireless(root, True),
    "live-ufw-ports": lambda root: live_ports(root, "ufw", True),
    "live-iptables-ports": lambda root: live_ports(root, "iptables", True),
    "rhel-selinux-good": lambda root: rhel_selinux(root, True),
    "rhel-packages-current": lambda root: rhel_packages(root, True),
    "pam-packages-current": lambda root: pam_packages(root, True),
    "rhel-chrony-good": lambda root: chrony_rhel(root, True),
    "firewalld-good": lambda root: firewalld(root, True),
    "rhel-dnf-good": lambda root: rhel_dnf(root, True),
    "rhel-authselect-good": lambda root: rhel_authselect(root, True),
}
VARIANTS: dict[str, Callable[[Path], None]] = {
    "rsyslog-bad": lambda root: rsyslog(root, False),
    "chrony-bad": lambda root: chrony(root, False),
    "aide-unscheduled": aide_unscheduled,
    "journald-only": journald_only,
    "pam-weak": pam_weak,
    "gdm-bad": lambda root: gdm(root, False),
    "ufw-bad": lambda root: ufw(root, False),
    "iptables-bad": lambda root: iptables(root, False),
    "iptables-crowded": lambda root: iptables(root, True, crowded=True),
    "nftables-bare": nftables_bare,
    "ufw-removed": ufw_removed,
    "unowned": unowned,
    "mta-open": lambda root: mta(root, False),
    "live-wireless": lambda root: live_wireless(root, False),
    "rhel-selinux-bad": lambda root: rhel_selinux(root, False),
    "live-ufw-ports-missing": lambda root: live_ports(root, "ufw", False),
    "live-iptables-ports-missing": lambda root: live_ports(root, "iptables", False),
    "journald-masked": journald_masked,
    "sudo-log-unaudited": sudo_log_unaudited,
    "nftables-none": nftables_none,
    "coredump-default": lambda root: coredump(root, False),
    "accounts-odd": accounts_odd,
    "pam-sss-only": pam_sss_only,
    "auditd-defaults": auditd_defaults,
    "loose-files": loose_files,
    "live-no-shm": live_container,
    "mounts-all-weak": mounts_all_weak,
    "mounts-none": mounts_none,
    "services-in-use": services_in_use,
    "rhel-packages-outdated": lambda root: rhel_packages(root, False),
    "pam-packages-outdated": lambda root: pam_packages(root, False),
    "iptables-with-nft": lambda root: iptables(root, True, nft=True),
    "rhel-chrony-peer-only": lambda root: chrony_rhel(root, False),
    "firewalld-shipped-zones": lambda root: firewalld(root, False),
    "rhel-dnf-unsigned": lambda root: rhel_dnf(root, False),
    "rhel-authselect-shipped-sssd": lambda root: rhel_authselect(root, False),
}


def _load() -> list[CheckDef]:
    schemas = {c.name: c.params_schema for c in builtin_probe_classes()}
    return load_packs(PACKS, schemas)


@pytest.fixture(scope="module")
def checks() -> list[CheckDef]:
    return _load()


@pytest.fixture(scope="module")
def results(checks: list[CheckDef], tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Status]]:
    out: dict[str, dict[str, Status]] = {}
    for hardened in (False, True):
        root = tmp_path_factory.mktemp("demo")
        demotree.build(root, hardened=hardened)
        found = run_checks(DirectoryTarget("dir:demo", str(root)), checks)
        out["hardened" if hardened else "demo-bad"] = {k: f.status for k, f in found.items()}
    for name, builder in {**VARIANTS, **GOOD_VARIANTS}.items():
        root = tmp_path_factory.mktemp(name)
        builder(root)
        kind = LiveTree if name.startswith("live-") else DirectoryTarget
        found = run_checks(kind(f"dir:{name}", str(root)), checks)
        out[name] = {k: f.status for k, f in found.items()}
    return out


def test_every_check_passes_on_the_hardened_tree(results: dict[str, dict[str, Status]]) -> None:
    """Every check passes on the hardened tree; one about an alternative the tree does not use
    (rsyslog where it uses journald) is not applicable there and passes on a tree using it."""
    bad = {k: s for k, s in results["hardened"].items() if s is not Status.PASS and not (
        s is Status.NOT_APPLICABLE and any(results[g].get(k) is Status.PASS for g in GOOD_VARIANTS))}
    assert bad == {}


def test_every_check_fails_somewhere(checks: list[CheckDef], results: dict[str, dict[str, Status]]) -> None:
    never = [c.id for c in checks
             if not any(r.get(c.id) is Status.FAIL for name, r in results.items()
                        if name != "hardened" and name not in GOOD_VARIANTS)]
    assert never == []


def test_no_check_errors_on_the_demo_trees(results: dict[str, dict[str, Status]]) -> None:
    errors = {(name, k) for name in ("demo-bad", "hardened") for k, s in results[name].items()
              if s is Status.ERROR}
    assert errors == set()
