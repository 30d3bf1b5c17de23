"""sysctl, shell_defaults, firewall and audit_logging probes, and the offline systemd helper."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hostcfg_util import collect, ctx, link, probe, put, snapshot
from smbaudit.probes._systemd import unit_state
from smbaudit.probes.firewall import parse_iptables_save, parse_nft_input_chains
from smbaudit.probes.shell_defaults import symbolic_umask
from smbaudit.probes.sysctl import normalise_key
from smbaudit.targets.posixfs import DirectoryTarget, LocalTarget

# ----------------------------------------------------------------------------- systemd


def test_unit_state_enabled_masked_alias(tmp_path: Path) -> None:
    put(tmp_path, "/usr/lib/systemd/system/firewalld.service",
        "[Install]\nWantedBy=multi-user.target\nAlias=dbus-org.fedoraproject.FirewallD1.service\n")
    link(tmp_path, "/etc/systemd/system/multi-user.target.wants/dbus-org.fedoraproject.FirewallD1.service",
         "/usr/lib/systemd/system/firewalld.service")
    put(tmp_path, "/lib/systemd/system/auditd.service", "[Install]\nWantedBy=multi-user.target\n")
    link(tmp_path, "/etc/systemd/system/multi-user.target.wants/auditd.service",
         "/lib/systemd/system/auditd.service")
    link(tmp_path, "/etc/systemd/system/auditd.service", "/dev/null")
    host = DirectoryTarget("dir:t", str(tmp_path))
    fw = unit_state(host, "firewalld.service")
    assert fw["enabled"] and fw["wanted_by"] == ["multi-user.target"]
    assert fw["path"] == "/usr/lib/systemd/system/firewalld.service"
    audit = unit_state(host, "auditd.service")
    assert audit["masked"] is True and audit["enabled"] is False
    none = unit_state(host, "nothing.service")
    assert none == {"unit": "nothing.service", "installed": False, "path": None, "masked": False,
                    "enabled": False, "wanted_by": []}

# ----------------------------------------------------------------------------- sysctl


def test_normalise_key() -> None:
    assert normalise_key("net/ipv4/ip_forward") == "net.ipv4.ip_forward"
    assert normalise_key("net/ipv4/conf/eth0.100/rp_filter") == "net.ipv4.conf.eth0/100.rp_filter"
    assert normalise_key(" -kernel.sysrq ") == "kernel.sysrq"


def test_sysctl_precedence(tmp_path: Path) -> None:
    put(tmp_path, "/usr/lib/sysctl.d/50-default.conf", "kernel.sysrq = 16\nfs.protected_symlinks = 1\n")
    put(tmp_path, "/usr/lib/sysctl.d/60-vendor.conf", "kernel.dmesg_restrict = 0\n")
    put(tmp_path, "/etc/sysctl.d/60-vendor.conf", "; masks the vendor file of the same name\n")
    put(tmp_path, "/etc/sysctl.d/10-early.conf", "kernel.kptr_restrict = 1\nkernel.sysrq=1\n")
    put(tmp_path, "/run/sysctl.d/70-run.conf", "net/ipv4/ip_forward = 1\n")
    put(tmp_path, "/etc/sysctl.d/README", "kernel.sysrq = 99\n")
    put(tmp_path, "/etc/sysctl.conf", "# last\nkernel.kptr_restrict = 2\n  vm.swappiness =   10 \n"
        "net.core.default_qdisc = fq codel\n")
    f = collect("sysctl", tmp_path)
    assert f["files"] == ["/etc/sysctl.d/10-early.conf", "/usr/lib/sysctl.d/50-default.conf",
                          "/etc/sysctl.d/60-vendor.conf", "/run/sysctl.d/70-run.conf",
                          "/etc/sysctl.conf"]
    c = f["configured"]
    assert c["kernel"]["sysrq"] == 16              # 50-default comes after 10-early
    assert c["kernel"]["kptr_restrict"] == 2       # sysctl.conf is applied last
    assert "dmesg_restrict" not in c["kernel"]     # /usr/lib file masked by /etc
    assert c["net"]["ipv4"]["ip_forward"] == 1
    assert c["vm"]["swappiness"] == 10 and c["net"]["core"]["default_qdisc"] == "fq codel"
    e = f["effective"]
    assert e["kernel"]["dmesg_restrict"] == 0 and "kernel.dmesg_restrict" in f["defaults_used"]
    assert e["kernel"]["kptr_restrict"] == 2
    assert {"key": "kernel.kptr_restrict", "value": 2, "file": "/etc/sysctl.conf", "line": 2} in f["settings"]
    assert f["present"] is True and f["live"] is False and f["runtime"] == {}


def test_sysctl_conf_linked_is_read_once(tmp_path: Path) -> None:
    put(tmp_path, "/etc/sysctl.conf", "kernel.sysrq = 0\n")
    put(tmp_path, "/etc/sysctl.d/50-x.conf", "kernel.sysrq = 1\n")
    link(tmp_path, "/etc/sysctl.d/99-sysctl.conf", "../sysctl.conf")
    f = collect("sysctl", tmp_path)
    assert f["files"] == ["/etc/sysctl.d/50-x.conf", "/etc/sysctl.d/99-sysctl.conf"]
    assert f["configured"]["kernel"]["sysrq"] == 0


def test_sysctl_empty_tree_not_present(tmp_path: Path) -> None:
    f = collect("sysctl", tmp_path)
    assert f["present"] is False and f["files"] == []


@pytest.mark.skipif(not os.path.exists("/proc/sys/kernel/randomize_va_space"), reason="no /proc/sys")
def test_sysctl_live_runtime() -> None:
    f = probe("sysctl").collect(LocalTarget(), {"keys": ["kernel.ostype"]}, ctx())
    assert f["live"] is True
    with open("/proc/sys/kernel/randomize_va_space") as fh:
        assert f["runtime"]["kernel"]["randomize_va_space"] == int(fh.read())
    assert f["runtime"]["kernel"]["ostype"] == "Linux"
    assert f["effective"]["kernel"]["randomize_va_space"] == f["runtime"]["kernel"]["randomize_va_space"]

# ----------------------------------------------------------------------------- shell


def test_symbolic_umask() -> None:
    assert symbolic_umask("u=rwx,g=rx,o=") == "0027"
    assert symbolic_umask("a=rx") == "0222"
    assert symbolic_umask("g+w") is None


def test_shell_defaults(tmp_path: Path) -> None:
    put(tmp_path, "/etc/profile", "# umask 077 in a comment\nif true; then umask 022; fi\n")
    put(tmp_path, "/etc/profile.d/a.sh", "umask -S u=rwx,g=rx,o=\n")
    put(tmp_path, "/etc/profile.d/b.txt", "umask 000\n")
    put(tmp_path, "/etc/bashrc", "declare -rx TMOUT=600\n")
    put(tmp_path, "/etc/bash.bashrc", "TMOUT=1200 # long\n")
    put(tmp_path, "/etc/login.defs", "UMASK 077\n")
    f = collect("shell_defaults", tmp_path)
    assert [(u["file"], u["umask"], u["resulting_mode"]) for u in f["umask_settings"]] == [
        ("/etc/profile", "0022", "0755"), ("/etc/profile.d/a.sh", "0027", "0750"),
        ("/etc/login.defs", "0077", "0700")]
    assert f["shell_umask_set"] is True
    assert [t["value"] for t in f["tmout_settings"]] == [1200, 600]
    assert f["tmout"] == 600 and f["tmout_readonly"] is True and f["tmout_exported"] is True


def test_shell_defaults_nothing_set(tmp_path: Path) -> None:
    put(tmp_path, "/etc/profile", "export PATH\n")
    f = collect("shell_defaults", tmp_path)
    assert f["umask_settings"] == [] and f["shell_umask_set"] is False
    assert f["tmout"] is None and f["tmout_readonly"] is False

# ----------------------------------------------------------------------------- firewall


def test_parse_nft_chains() -> None:
    text = """
    table ip nat { chain prerouting { type nat hook prerouting priority -100; } }
    table inet filter {
      chain input { type filter hook input priority 0; policy accept;
        ct state established accept
        counter reject
      }
      chain fwd { type filter hook forward priority 0; policy drop; }
    }
    table ip legacy { chain INPUT { type filter hook input priority 0; policy drop; } }
    """
    chains = parse_nft_input_chains(text)
    assert [(c["family"], c["table"], c["policy"], c["last_verdict"]) for c in chains] == [
        ("inet", "filter", "accept", "reject"), ("ip", "legacy", "drop", None)]


def test_parse_iptables_save() -> None:
    assert parse_iptables_save("*nat\n:INPUT ACCEPT [0:0]\nCOMMIT\n*filter\n:INPUT DROP [0:0]\nCOMMIT\n") == "drop"
    assert parse_iptables_save("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n"
                               "-A INPUT -j REJECT --reject-with icmp-host-prohibited\nCOMMIT\n") == "reject"
    assert parse_iptables_save("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n") == "accept"


def _enable(root: Path, unit: str) -> None:
    put(root, f"/lib/systemd/system/{unit}", "[Install]\nWantedBy=multi-user.target\n")
    link(root, f"/etc/systemd/system/multi-user.target.wants/{unit}", f"/lib/systemd/system/{unit}")


def test_firewall_ufw(tmp_path: Path) -> None:
    put(tmp_path, "/etc/ufw/ufw.conf", "ENABLED=yes\n")
    put(tmp_path, "/etc/default/ufw", 'IPV6=yes\nDEFAULT_INPUT_POLICY="DROP"\n')
    f = collect("firewall", tmp_path)
    assert f["tools_found"] == ["ufw"] and f["active_firewalls"] == ["ufw"]
    assert f["default_input_policy"] == "drop" and f["default_deny"] and f["ipv6_covered"]


def test_firewall_nftables_include_loop_and_unit(tmp_path: Path) -> None:
    put(tmp_path, "/etc/nftables.conf", 'include "/etc/nft.d/*.nft"\n')
    put(tmp_path, "/etc/nft.d/a.nft", 'include "/etc/nftables.conf"\n'
        "table ip filter { chain input { type filter hook input priority 0; policy drop; } }\n")
    f = collect("firewall", tmp_path)
    assert f["nftables"]["installed"] and not f["nftables"]["enabled"]   # unit not enabled
    assert f["active"] is False and any("loop" in e for e in f["errors"])
    _enable(tmp_path, "nftables.service")
    f = collect("firewall", tmp_path)
    assert f["active_firewalls"] == ["nftables"] and f["default_input_policy"] == "drop"
    assert f["ipv6_covered"] is False   # an ip-family table filters IPv4 only


def test_firewall_firewalld_zone(tmp_path: Path) -> None:
    put(tmp_path, "/etc/firewalld/firewalld.conf", "DefaultZone=trusted\n")
    put(tmp_path, "/usr/lib/firewalld/zones/trusted.xml",
        '<?xml version="1.0"?>\n<zone target="ACCEPT"><short>Trusted</short></zone>\n')
    _enable(tmp_path, "firewalld.service")
    f = collect("firewall", tmp_path)
    assert f["active_firewalls"] == ["firewalld"]
    assert f["firewalld"]["zone_target"] == "ACCEPT" and f["default_deny"] is False
    put(tmp_path, "/etc/firewalld/firewalld.conf", "DefaultZone=public\n")
    put(tmp_path, "/usr/lib/firewalld/zones/public.xml",
        '<zone><service name="ssh"/><service name="dhcpv6-client"/></zone>\n')
    f = collect("firewall", tmp_path)
    assert f["default_input_policy"] == "reject"
    assert f["firewalld"]["zone_services"] == ["ssh", "dhcpv6-client"]


def test_firewall_iptables_persistent(tmp_path: Path) -> None:
    put(tmp_path, "/etc/iptables/rules.v4", "*filter\n:INPUT DROP [0:0]\nCOMMIT\n")
    _enable(tmp_path, "netfilter-persistent.service")
    f = collect("firewall", tmp_path)
    assert f["active_firewalls"] == ["iptables"] and f["default_deny"] is True
    assert f["ipv6_covered"] is False


def test_firewall_nothing(tmp_path: Path) -> None:
    f = collect("firewall", tmp_path)
    assert f["tools_found"] == [] and f["active"] is False and f["default_input_policy"] is None

# ----------------------------------------------------------------------------- audit/logging


def test_audit_rules_and_conf(tmp_path: Path) -> None:
    put(tmp_path, "/usr/sbin/auditd", "", 0o755)
    put(tmp_path, "/etc/audit/auditd.conf", "max_log_file_action = KEEP_LOGS\nnum_logs=3\n")
    put(tmp_path, "/etc/audit/rules.d/20-b.rules",
        "-a always,exit -F arch=b64 -S adjtimex -S settimeofday -k time-change\n"
        "-a always,exit -F path=/usr/bin/sudo -F perm=x -k priv\n-e 2\n")
    put(tmp_path, "/etc/audit/rules.d/10-a.rules", "# identity\n-w /etc/passwd -p wa -k identity\n"
        "-w /etc/sudoers.d/ -p wa -k scope\n")
    put(tmp_path, "/etc/audit/audit.rules", "-w /ignored -p wa\n")  # rules.d wins (augenrules)
    f = collect("audit_logging", tmp_path)
    a = f["auditd"]
    assert a["installed"] is True and a["enabled"] is False and a["rules_source"] == "rules.d"
    assert a["conf"]["max_log_file_action"] == "keep_logs" and a["conf"]["num_logs"] == 3
    assert a["conf"]["space_left_action"] == "syslog" and a["conf_set"] == ["max_log_file_action", "num_logs"]
    assert a["watched_paths"] == ["/etc/passwd", "/etc/sudoers.d", "/usr/bin/sudo"]
    assert a["syscalls"] == ["adjtimex", "settimeofday"]
    assert a["keys"] == ["identity", "priv", "scope", "time-change"]
    assert a["immutable"] is True
    assert a["watches"][0] == {"path": "/etc/passwd", "perms": "wa", "key": "identity",
                               "file": "/etc/audit/rules.d/10-a.rules", "line": 2}


def test_journald_and_rsyslog(tmp_path: Path) -> None:
    put(tmp_path, "/etc/systemd/journald.conf", "[Journal]\n#Storage=auto\n")
    f = collect("audit_logging", tmp_path)
    assert f["journald"]["storage"] == "auto" and f["persistent_logs"] is False
    (tmp_path / "var/log/journal").mkdir(parents=True)
    assert collect("audit_logging", tmp_path)["persistent_logs"] is True
    put(tmp_path, "/usr/lib/systemd/journald.conf.d/10-vendor.conf", "[Journal]\nStorage=volatile\n")
    assert collect("audit_logging", tmp_path)["journald"]["storage"] == "volatile"
    put(tmp_path, "/etc/systemd/journald.conf.d/10-vendor.conf", "[Journal]\nStorage=persistent\n")
    assert collect("audit_logging", tmp_path)["journald"]["storage"] == "persistent"
    put(tmp_path, "/etc/systemd/journald.conf.d/10-vendor.conf", "[Journal]\nStorage=none\n")
    put(tmp_path, "/etc/rsyslog.conf", "*.*;auth,authpriv.none  -/var/log/syslog\n")
    _enable(tmp_path, "rsyslog.service")
    f = collect("audit_logging", tmp_path)
    assert f["rsyslog"]["enabled"] and f["rsyslog"]["file_actions"] == 1
    assert f["persistent_logs"] is True


def test_logrotate(tmp_path: Path) -> None:
    put(tmp_path, "/etc/logrotate.conf", "weekly\nrotate 4\n/var/log/wtmp {\n rotate 1\n}\n")
    put(tmp_path, "/etc/cron.daily/logrotate", "#!/bin/sh\n", 0o755)
    lr = collect("audit_logging", tmp_path)["logrotate"]
    assert lr == {"present": True, "rotate": 4, "frequency": "weekly", "scheduled": True,
                  "configs": []}


def test_probes_leave_tree_unchanged(tmp_path: Path) -> None:
    from smbaudit.demotree import audit_logging, firewall, shell, sysctl

    for area in (audit_logging, firewall, shell, sysctl):
        area.build(tmp_path, hardened=True)
    before = snapshot(tmp_path)
    for name in ("sysctl", "shell_defaults", "firewall", "audit_logging"):
        collect(name, tmp_path)
    assert snapshot(tmp_path) == before
