"""Probe-level cases of the CIS-depth host probes that the pack tests do not reach."""

from __future__ import annotations

import time
from pathlib import Path

from smbaudit.probes.apparmor import AppArmorProbe
from smbaudit.probes.base import ProbeContext
from smbaudit.probes.bootloader import BootloaderProbe
from smbaudit.probes.mounts import MountsProbe
from smbaudit.probes.timesync import TimeSyncProbe
from smbaudit.targets.posixfs import DirectoryTarget


class LiveTree(DirectoryTarget):
    """A tree standing in for a live host's /proc and /sys (which cannot be faked here)."""

    live = True


def put(root: Path, path: str, text: str) -> None:
    dest = root / path.lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text)


def ctx() -> ProbeContext:
    return ProbeContext(deadline=time.monotonic() + 30, timeout=5)


def test_rhel_bootloader_spec_entries_with_kernelopts(tmp_path: Path) -> None:
    put(tmp_path, "/boot/grub2/grub.cfg", "blscfg\n")
    put(tmp_path, "/boot/grub2/grubenv", "kernelopts=root=/dev/vda2 ro audit=1 audit_backlog_limit=8192\n")
    put(tmp_path, "/boot/grub2/user.cfg", "GRUB2_PASSWORD=grub.pbkdf2.sha512.10000.AB.CD\n")
    put(tmp_path, "/boot/loader/entries/a.conf", "title RHEL\noptions $kernelopts\n")
    put(tmp_path, "/boot/loader/entries/b.conf", "title RHEL rescue\noptions $kernelopts ipv6.disable=1\n")
    facts = BootloaderProbe().collect(DirectoryTarget("dir:t", str(tmp_path)), {}, ctx())
    assert facts["entries"] == 2
    assert facts["args"]["audit"] == "1" and facts["args"]["audit_backlog_limit"] == "8192"
    assert "ipv6_disable" not in facts["args"]  # not on every entry
    assert facts["password_set"] and facts["superusers"] == ["root"]
    assert facts["grub_cfg"]["path"] == "/boot/grub2/grub.cfg"


def test_apparmor_kernel_list_live_and_files_offline(tmp_path: Path) -> None:
    put(tmp_path, "/sys/kernel/security/apparmor/profiles", "/usr/sbin/chronyd (enforce)\nman (complain)\n")
    put(tmp_path, "/etc/apparmor.d/usr.bin.man", "profile man /usr/bin/man flags=(unconfined) {\n}\n")
    put(tmp_path, "/etc/apparmor.d/force-complain/usr.bin.x", "")
    put(tmp_path, "/etc/apparmor.d/usr.bin.x", "/usr/bin/x {\n}\n")
    put(tmp_path, "/etc/apparmor.d/usr.bin.x.dpkg-old", "/usr/bin/x {\n}\n")
    live = AppArmorProbe().collect(LiveTree("dir:t", str(tmp_path)), {}, ctx())
    assert live["source"] == "kernel" and live["not_enforcing"] == ["man"] and live["not_confining"] == []
    offline = AppArmorProbe().collect(DirectoryTarget("dir:t", str(tmp_path)), {}, ctx())
    modes = {p["name"]: p["mode"] for p in offline["profiles"]}
    assert modes == {"man": "unconfined", "/usr/bin/x": "complain"}
    assert live["parser"] is True  # the kernel's list: profiles are loaded
    # Offline, profile files shipped by other packages (man-db's usr.bin.man) are loaded only
    # when AppArmor itself (apparmor_parser) is installed.
    assert offline["parser"] is False
    put(tmp_path, "/usr/sbin/apparmor_parser", "")
    assert AppArmorProbe().collect(DirectoryTarget("dir:t", str(tmp_path)), {}, ctx())["parser"]


def test_runtime_mounts_win_on_a_live_host(tmp_path: Path) -> None:
    put(tmp_path, "/etc/fstab", "tmpfs /tmp tmpfs defaults,nosuid,nodev,noexec 0 0\n")
    put(tmp_path, "/boot/vmlinuz-6.1.0-28-amd64", "")
    put(tmp_path, "/proc/self/mounts", "tmpfs /tmp tmpfs rw,nosuid,nodev,relatime 0 0\n"
        "tmpfs /dev/shm tmpfs rw,nosuid,nodev 0 0\n"
        "/dev/vdb1 /var/log\\040old ext4 rw 0 0\n")
    facts = MountsProbe().collect(LiveTree("dir:t", str(tmp_path)), {}, ctx())
    assert facts["points"]["tmp"]["source"] == "runtime" and facts["points"]["tmp"]["noexec"] is False
    assert facts["configured"]["tmp"]["noexec"] is True
    assert facts["mismatches"] == ["tmp"]


def test_timesyncd_dropins_reset_and_chrony_sourcedir(tmp_path: Path) -> None:
    put(tmp_path, "/etc/systemd/timesyncd.conf", "[Time]\nNTP=a.example.org\n")
    put(tmp_path, "/etc/systemd/timesyncd.conf.d/50-reset.conf", "[Time]\nNTP=\nFallbackNTP=b.example.org\n")
    put(tmp_path, "/etc/chrony.conf", "sourcedir /etc/chrony/sources.d\nuser chrony\n")
    put(tmp_path, "/etc/chrony/sources.d/x.sources", "server c.example.org iburst\n")
    facts = TimeSyncProbe().collect(DirectoryTarget("dir:t", str(tmp_path)), {}, ctx())
    assert facts["timesyncd"]["ntp"] == [] and facts["timesyncd"]["servers"] == ["b.example.org"]
    assert facts["chrony"]["sources"] == ["server c.example.org"] and facts["chrony"]["runs_as"] == "chrony"


def test_root_path_and_umask(tmp_path: Path) -> None:
    from smbaudit.probes.shell_defaults import ShellDefaultsProbe

    put(tmp_path, "/etc/login.defs", "ENV_SUPATH\tPATH=/usr/sbin:/usr/bin:/sbin:/bin\n")
    put(tmp_path, "/root/.bashrc", "export PATH=~/bin:$PATH::/srv/tools\numask 022 # too weak\n"
        "[ -n \"$PS1\" ] && umask 0077\n")
    put(tmp_path, "/root/.profile", 'PATH="$PYENV_ROOT/bin:${PATH}"\n')
    for d in ("usr/sbin", "usr/bin", "root/bin", "srv/tools"):
        (tmp_path / d).mkdir(parents=True, exist_ok=True)
        (tmp_path / d).chmod(0o755)
    (tmp_path / "srv/tools").chmod(0o775)
    (tmp_path / "sbin").symlink_to("usr/sbin")
    facts = ShellDefaultsProbe().collect(DirectoryTarget("dir:t", str(tmp_path)), {}, ctx())
    assert facts["root_path"] == ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "$PYENV_ROOT/bin",
                                  "~/bin", "", "/srv/tools"]
    assert facts["root_path_problems"] == ["/bin: missing", "(empty entry): the current directory is searched",
                                           "/srv/tools: writable by group"]
    assert facts["root_umask_weak"] == ["/root/.bashrc:2 umask 0022"]


def test_sudo_log_audit_watch(tmp_path: Path) -> None:
    from smbaudit.probes.audit_logging import AuditLoggingProbe

    put(tmp_path, "/etc/sudoers", 'Defaults logfile="/var/log/sudo.log"\nDefaults:alice logfile=/tmp/x\n')
    put(tmp_path, "/etc/audit/rules.d/50.rules", "-w /var/log/sudo.log/ -p wa -k sudo_log_file\n")
    facts = AuditLoggingProbe().collect(DirectoryTarget("dir:t", str(tmp_path)), {}, ctx())
    assert facts["auditd"]["sudo_logfile"] == "/var/log/sudo.log"  # the scoped line is not global
    assert facts["auditd"]["sudo_logfile_watched"] is True
    put(tmp_path, "/etc/audit/rules.d/50.rules", "-w /var/log/sudo.log -p r\n")
    facts = AuditLoggingProbe().collect(DirectoryTarget("dir:t", str(tmp_path)), {}, ctx())
    assert facts["auditd"]["sudo_logfile_watched"] is False


def test_unowned_files_and_unaudited_privileged_programs(tmp_path: Path) -> None:
    import os

    from smbaudit.probes.special_files import SpecialFilesProbe

    put(tmp_path, "/etc/passwd", f"root:x:0:0::/root:/bin/sh\nme:x:{os.geteuid()}:{os.getegid()}::/:/bin/sh\n")
    put(tmp_path, "/etc/group", f"root:x:0:\nme:x:{os.getegid()}:\n")
    put(tmp_path, "/usr/bin/su", "")
    put(tmp_path, "/usr/bin/newgrp", "")
    for prog in ("usr/bin/su", "usr/bin/newgrp"):
        (tmp_path / prog).chmod(0o4755)
    put(tmp_path, "/usr/sbin/auditd", "")
    put(tmp_path, "/etc/audit/rules.d/50-privileged.rules",
        "-a always,exit -F path=/usr/bin/su -F perm=x -F auid>=1000 -F auid!=unset -k privileged\n"
        "-a always,exit -F path=/usr/bin/newgrp -F perm=r -k privileged\n")
    params = {"roots": ["/etc", "/usr"], "allow": ["/usr/bin/su"]}
    facts = SpecialFilesProbe().collect(DirectoryTarget("dir:t", str(tmp_path)), params, ctx())
    assert facts["unowned"] == []
    # allowed or not, every privileged program needs its rule; perm=r does not record runs
    assert facts["privileged_unaudited"] == ["/usr/bin/newgrp"]
    if os.geteuid() == 0:
        os.chown(tmp_path / "usr/bin/newgrp", 1500, 0)
        os.chown(tmp_path / "etc/passwd", 0, 1501)
        facts = SpecialFilesProbe().collect(DirectoryTarget("dir:t", str(tmp_path)), params, ctx())
        assert [(u["path"], u["no_user"], u["no_group"]) for u in facts["unowned"]] == [
            ("/etc/passwd", False, True), ("/usr/bin/newgrp", True, False)]


def test_log_file_rules(tmp_path: Path) -> None:
    from smbaudit.probes.log_files import LogFilesProbe

    put(tmp_path, "/etc/passwd", "root:x:0:0::/root:/bin/sh\n")
    put(tmp_path, "/etc/group", "root:x:0:\n")
    for path, mode in (("/var/log/wtmp", 0o664), ("/var/log/syslog", 0o640),
                       ("/var/log/journal/abc/system.journal", 0o640),
                       ("/var/log/cloud-init.log", 0o644), ("/var/log/dpkg.log", 0o644),
                       ("/var/log/auth.log", 0o660)):
        put(tmp_path, path, "")
        (tmp_path / path.lstrip("/")).chmod(mode)
    facts = LogFilesProbe().collect(DirectoryTarget("dir:t", str(tmp_path)), {}, ctx())
    assert facts["files"] == 6
    bad = {v["path"]: [p for p in v["problems"] if p.startswith("mode")] for v in facts["violations"]}
    # wtmp may be 0664 and cloud-init.log 0644 by their own rules; dpkg.log and auth.log may not
    assert {p: m for p, m in bad.items() if m} == {"/var/log/auth.log": ["mode 0660 over 0640"],
                                                   "/var/log/dpkg.log": ["mode 0644 over 0640"]}


def test_mta_interfaces() -> None:
    from smbaudit.probes.mta import exim_interfaces, is_loopback, postfix_interfaces, sendmail_interfaces

    assert postfix_interfaces("myhostname = x\n") == ["all"]  # Postfix's default
    assert postfix_interfaces("inet_interfaces = 127.0.0.1, [::1]\n") == ["127.0.0.1", "[::1]"]
    assert all(is_loopback(i) for i in postfix_interfaces("inet_interfaces = loopback-only\n"))
    assert exim_interfaces("dc_local_interfaces='127.0.0.1 ; ::1'\n") == ["127.0.0.1", "::1"]
    assert exim_interfaces("dc_local_interfaces=''\n") == ["all"]
    assert sendmail_interfaces("DAEMON_OPTIONS(`Port=smtp,Addr=127.0.0.1, Name=MTA')dnl\n") == ["127.0.0.1"]
    assert not is_loopback("all") and not is_loopback("192.0.2.1")


def test_accept_rules_for_open_ports() -> None:
    from smbaudit.probes._open_ports import without_rule

    rules = ("*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\n"
             "-A INPUT -m state --state ESTABLISHED -j ACCEPT\n"
             "-A INPUT -p tcp --dport 22 -j ACCEPT\n"
             "-A INPUT -p udp -m multiport --dports 53,5000:5010 -j ACCEPT\n"
             "-A INPUT -p tcp ! --dport 25 -j ACCEPT\n"
             "-A FORWARD -p tcp --dport 80 -j ACCEPT\nCOMMIT\n")
    assert without_rule(["tcp/22", "udp/53", "udp/5005", "tcp/53", "tcp/80", "tcp/25"], rules, "INPUT") \
        == ["tcp/53", "tcp/80", "tcp/25"]  # lo, state and negated rules accept no port
    assert without_rule(["tcp/80"], "-A INPUT -j ACCEPT\n", "INPUT") == []  # takes everything


def test_firewalld_loopback_rules_in_the_default_zone(tmp_path: Path) -> None:
    """Rich rules count in the default zone as well as the trusted one, for both families when
    the rule names none; an accept rule, or an inverted source, drops nothing; an /etc zone
    file replaces the shipped one whole, and one that does not parse is reported."""
    from smbaudit.probes.firewall import FirewallProbe

    put(tmp_path, "/usr/sbin/firewalld", "")
    put(tmp_path, "/etc/firewalld/firewalld.conf", "DefaultZone=work\n")
    put(tmp_path, "/usr/lib/firewalld/zones/trusted.xml", '<zone target="ACCEPT"><interface name="lo"/></zone>\n')
    put(tmp_path, "/etc/firewalld/zones/work.xml", '<?xml version="1.0"?>\n<zone>\n'
        '  <rule><source address="127.0.0.0/8"/><reject/></rule>\n'
        '  <rule family="ipv6"><source address="::1" invert="true"/><drop/></rule>\n'
        '  <rule family="ipv6"><source address="::1"/><accept/></rule>\n'
        '  <rule family="ipv4"><source address="192.0.2.0/24"/><drop/></rule>\n</zone>\n')
    fw = FirewallProbe().collect(DirectoryTarget("dir:t", str(tmp_path)), {}, ctx())["firewalld"]
    assert fw["trusted_interfaces"] == ["lo"]
    assert [(r["zone"], r["source"], r["action"]) for r in fw["loopback_rules"]] == [
        ("work", "127.0.0.0/8", "reject"), ("work", "::1", "drop"), ("work", "::1", "accept")]
    assert fw["loopback_drop_v4"] and not fw["loopback_drop_v6"]
    put(tmp_path, "/etc/firewalld/zones/trusted.xml", '<zone target="ACCEPT"><interface name="lo"/>\n')
    facts = FirewallProbe().collect(DirectoryTarget("dir:t", str(tmp_path)), {}, ctx())
    assert facts["firewalld"]["trusted_interfaces"] == []
    assert any(e.startswith("/etc/firewalld/zones/trusted.xml: not valid XML") for e in facts["errors"])


def test_dnf_gpgcheck_values_lines_and_reposdir(tmp_path: Path) -> None:
    """gpgcheck as dnf reads it: the last value of a section wins, words other than dnf's true
    ones are off, a repository without the key inherits [main] (None); reposdir replaces the
    default folders; a file that does not parse is reported, not skipped silently."""
    from smbaudit.probes.dnf_config import DnfConfigProbe

    put(tmp_path, "/etc/yum.conf", "[main]\ngpgcheck=0\n")  # not read: dnf.conf exists
    put(tmp_path, "/etc/dnf/dnf.conf", "[main]\ngpgcheck=0\nreposdir=/srv/repos, /etc/extra.repos.d\n"
        "gpgcheck=True\n")
    put(tmp_path, "/etc/yum.repos.d/ignored.repo", "[ignored]\ngpgcheck=0\n")
    put(tmp_path, "/srv/repos/a.repo", "# local mirrors\n[base]\nname=Base\ngpgcheck = 1\n\n"
        "[extras]\nname=Extras %(x)s\nenabled=0\n\n[odd]\nGPGCHECK=2\n")
    put(tmp_path, "/etc/extra.repos.d/b.repo", "gpgcheck=0\n")
    facts = DnfConfigProbe().collect(DirectoryTarget("dir:t", str(tmp_path)), {}, ctx())
    assert facts["config"] == "/etc/dnf/dnf.conf" and facts["gpgcheck"] is True
    assert facts["gpgcheck_value"] == "True" and facts["gpgcheck_line"] == 4
    assert facts["repo_files"] == ["/srv/repos/a.repo", "/etc/extra.repos.d/b.repo"]
    assert [(r["id"], r["line"], r["gpgcheck"], r["enabled"]) for r in facts["repos"]] == [
        ("base", 4, True, True), ("extras", 6, None, False), ("odd", 11, False, True)]
    assert facts["errors"] and facts["errors"][0].startswith("/etc/extra.repos.d/b.repo: ")


def test_authselect_profile_folders_and_template_modules(tmp_path: Path) -> None:
    """A vendor profile hides the default one of the same name; commented lines name no module;
    feature-conditional lines count; without authselect.conf there is no profile."""
    from smbaudit.probes.authselect import AuthselectProbe

    def run() -> dict:
        return AuthselectProbe().collect(DirectoryTarget("dir:t", str(tmp_path)), {}, ctx())

    assert run()["present"] is False and run()["profile"] is None
    put(tmp_path, "/etc/authselect/authselect.conf", "# Generated by authselect\nsssd\n\nwith-faillock\n")
    put(tmp_path, "/usr/share/authselect/default/sssd/system-auth", "auth required pam_faillock.so\n")
    put(tmp_path, "/usr/share/authselect/vendor/sssd/system-auth",
        "auth required pam_env.so\n#password requisite pam_pwquality.so\n"
        'auth required /usr/lib64/security/pam_faillock.so preauth {include if "with-faillock"}\n')
    facts = run()
    assert facts["profile"] == "sssd" and facts["features"] == ["with-faillock"]
    assert facts["profile_dir"] == "/usr/share/authselect/vendor/sssd"
    assert facts["files"]["system-auth"]["modules"] == ["pam_env.so", "pam_faillock.so"]
    assert facts["files"]["password-auth"] == {"path": "/usr/share/authselect/vendor/sssd/password-auth",
                                               "present": False, "modules": []}
