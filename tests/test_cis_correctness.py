"""Where scanners usually go wrong: each case runs the shipped check on a small tree built here."""

from __future__ import annotations

from pathlib import Path

import pytest

from hostsys_util import run_checks
from smbaudit.models import CheckDef, Status
from smbaudit.packs.loader import load_packs
from smbaudit.probes.builtin import builtin_probe_classes
from smbaudit.targets.posixfs import DirectoryTarget

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def checks() -> dict[str, CheckDef]:
    schemas = {c.name: c.params_schema for c in builtin_probe_classes()}
    return {c.id: c for c in load_packs([REPO / "checks"], schemas)}


def tree(root: Path, files: dict[str, str]) -> DirectoryTarget:
    for path, text in files.items():
        dest = root / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text)
    return DirectoryTarget("dir:t", str(root))


def status(target: DirectoryTarget, check: CheckDef) -> Status:
    return run_checks(target, [check])[check.id].status


@pytest.mark.parametrize(("config", "expected"), [
    ("X11Forwarding yes\nDisableForwarding yes\n", Status.PASS),
    ("DisableForwarding yes\nX11Forwarding yes\n", Status.PASS),
    ("X11Forwarding yes\n", Status.FAIL),
    ("X11Forwarding no\nMatch User bob\n  X11Forwarding yes\n", Status.FAIL),
    ("", Status.PASS),  # OpenSSH's default is no
])
def test_disable_forwarding_covers_x11(tmp_path: Path, checks: dict[str, CheckDef], config: str,
                                       expected: Status) -> None:
    target = tree(tmp_path, {"/etc/ssh/sshd_config": config})
    assert status(target, checks["ssh.x11-forwarding"]) is expected


# ----------------------------------------------------------------------------- sysctl


@pytest.mark.parametrize(("files", "expected"), [
    # /etc/sysctl.d hides a same-named file in /usr/lib/sysctl.d; /run beats /usr/lib too
    ({"/usr/lib/sysctl.d/50-bpf.conf": "net.core.bpf_jit_harden = 0\n",
      "/etc/sysctl.d/50-bpf.conf": "net.core.bpf_jit_harden = 2\n"}, Status.PASS),
    ({"/usr/lib/sysctl.d/50-bpf.conf": "net.core.bpf_jit_harden = 2\n",
      "/run/sysctl.d/50-bpf.conf": "net.core.bpf_jit_harden = 1\n"}, Status.FAIL),
    # files apply in name order across directories, the later name winning
    ({"/etc/sysctl.d/10-a.conf": "net.core.bpf_jit_harden = 2\n",
      "/usr/lib/sysctl.d/20-b.conf": "net.core.bpf_jit_harden = 0\n"}, Status.FAIL),
    # /etc/sysctl.conf is applied last
    ({"/etc/sysctl.d/99-z.conf": "net.core.bpf_jit_harden = 0\n",
      "/etc/sysctl.conf": "net.core.bpf_jit_harden = 2\n"}, Status.PASS),
])
def test_sysctl_precedence(tmp_path: Path, checks: dict[str, CheckDef], files: dict[str, str],
                           expected: Status) -> None:
    assert status(tree(tmp_path, files), checks["sysctl.bpf-jit-harden"]) is expected


def test_ipv6_keys_not_applicable_when_ipv6_is_off(tmp_path: Path, checks: dict[str, CheckDef]) -> None:
    ipv4_only = ("net.ipv4.conf.all.accept_redirects = 0\nnet.ipv4.conf.default.accept_redirects = 0\n"
                 "net.ipv4.conf.all.secure_redirects = 0\nnet.ipv4.conf.default.secure_redirects = 0\n")
    on = tree(tmp_path / "on", {"/etc/sysctl.d/60.conf": ipv4_only})
    assert status(on, checks["sysctl.icmp-redirects"]) is Status.FAIL
    assert status(on, checks["sysctl.ipv6-router-advertisements"]) is Status.FAIL
    by_sysctl = tree(tmp_path / "sysctl", {"/etc/sysctl.d/60.conf": ipv4_only
                                           + "net.ipv6.conf.all.disable_ipv6 = 1\n"
                                           "net.ipv6.conf.default.disable_ipv6 = 1\n"})
    by_grub = tree(tmp_path / "grub", {"/etc/sysctl.d/60.conf": ipv4_only, "/boot/grub/grub.cfg":
                                       "menuentry 'x' {\n\tlinux /vmlinuz ro ipv6.disable=1\n}\n"})
    for target in (by_sysctl, by_grub):
        assert status(target, checks["sysctl.icmp-redirects"]) is Status.PASS
        assert status(target, checks["sysctl.ipv6-router-advertisements"]) is Status.NOT_APPLICABLE


def test_unprivileged_bpf_default_from_the_kernel_build(tmp_path: Path, checks: dict[str, CheckDef]) -> None:
    """Debian's kernels are built with CONFIG_BPF_UNPRIV_DEFAULT_OFF=y: unset is not a failure."""
    debian = tree(tmp_path / "deb", {"/boot/config-6.1.0-28-amd64": "CONFIG_BPF_UNPRIV_DEFAULT_OFF=y\n",
                                     "/etc/sysctl.d/1.conf": "kernel.sysrq = 0\n"})
    upstream = tree(tmp_path / "up", {"/boot/config-6.1.0-28-amd64": "# CONFIG_BPF_UNPRIV_DEFAULT_OFF is not set\n",
                                      "/etc/sysctl.d/1.conf": "kernel.sysrq = 0\n"})
    assert status(debian, checks["sysctl.unprivileged-bpf"]) is Status.PASS
    assert status(upstream, checks["sysctl.unprivileged-bpf"]) is Status.FAIL


# ----------------------------------------------------------------------------- mounts

UNIT = "[Mount]\nWhat=tmpfs\nWhere=/tmp\nType=tmpfs\nOptions={}\n\n[Install]\nWantedBy=local-fs.target\n"
KERNEL = {"/boot/vmlinuz-6.1.0-28-amd64": ""}


def enable(root: Path, unit: str, where: str = "/etc/systemd/system") -> None:
    link = root / "etc/systemd/system/local-fs.target.wants" / unit
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(f"{where}/{unit}")


def test_defaults_means_exec_suid_dev(tmp_path: Path, checks: dict[str, CheckDef]) -> None:
    t = tree(tmp_path, {**KERNEL, "/etc/fstab": "tmpfs /tmp tmpfs nosuid,nodev,noexec,defaults 0 0\n"})
    assert status(t, checks["mounts.tmp-separate"]) is Status.PASS
    for opt in ("nodev", "nosuid", "noexec"):  # `defaults` after them switches them back
        assert status(t, checks[f"mounts.tmp-{opt}"]) is Status.FAIL
    t2 = tree(tmp_path / "b", {**KERNEL, "/etc/fstab": "tmpfs /tmp tmpfs defaults,nosuid,nodev,noexec 0 0\n"})
    assert status(t2, checks["mounts.tmp-noexec"]) is Status.PASS


def test_admin_mount_unit_overrides_fstab_and_vendor_units_need_enabling(
        tmp_path: Path, checks: dict[str, CheckDef]) -> None:
    fstab = {**KERNEL, "/etc/fstab": "tmpfs /tmp tmpfs defaults,nosuid,nodev,noexec 0 0\n"}
    t = tree(tmp_path / "admin", {**fstab, "/etc/systemd/system/tmp.mount": UNIT.format("nosuid,nodev")})
    assert status(t, checks["mounts.tmp-noexec"]) is Status.FAIL  # the unit's options win
    vendor = tree(tmp_path / "vendor", {**KERNEL, "/usr/lib/systemd/system/tmp.mount":
                                        UNIT.format("nosuid,nodev,noexec")})
    assert status(vendor, checks["mounts.tmp-separate"]) is Status.FAIL  # not enabled: not mounted
    enable(tmp_path / "vendor", "tmp.mount", "/usr/lib/systemd/system")
    assert status(vendor, checks["mounts.tmp-separate"]) is Status.PASS
    assert status(vendor, checks["mounts.tmp-noexec"]) is Status.PASS
    masked = tree(tmp_path / "masked", fstab)
    (tmp_path / "masked/etc/systemd/system").mkdir(parents=True)
    (tmp_path / "masked/etc/systemd/system/tmp.mount").symlink_to("/dev/null")
    assert status(masked, checks["mounts.tmp-separate"]) is Status.FAIL


def test_dev_shm_is_mounted_by_systemd_unless_fstab_says_otherwise(
        tmp_path: Path, checks: dict[str, CheckDef]) -> None:
    plain = tree(tmp_path / "a", {**KERNEL, "/etc/fstab": "/dev/vda1 / ext4 defaults 0 1\n"})
    assert status(plain, checks["mounts.dev-shm-separate"]) is Status.PASS
    assert status(plain, checks["mounts.dev-shm-nosuid"]) is Status.PASS
    assert status(plain, checks["mounts.dev-shm-noexec"]) is Status.FAIL
    remount = tree(tmp_path / "b", {**KERNEL, "/etc/fstab": "tmpfs /dev/shm tmpfs defaults,noexec 0 0\n"})
    assert status(remount, checks["mounts.dev-shm-noexec"]) is Status.PASS
    assert status(remount, checks["mounts.dev-shm-nosuid"]) is Status.FAIL  # defaults: suid again


def test_container_without_fstab_is_not_applicable(tmp_path: Path, checks: dict[str, CheckDef]) -> None:
    image = tree(tmp_path, {"/etc/os-release": "ID=debian\nVERSION_ID=\"12\"\n"})
    for cid in ("mounts.tmp-separate", "mounts.var-separate", "mounts.dev-shm-noexec"):
        assert status(image, checks[cid]) is Status.NOT_APPLICABLE
    docker = tree(tmp_path / "d", {**KERNEL, "/.dockerenv": ""})
    assert status(docker, checks["mounts.tmp-separate"]) is Status.NOT_APPLICABLE


# ----------------------------------------------------------------------------- services


def dpkg(*names: str) -> str:
    return "".join(f"Package: {n}\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\n\n"
                   for n in names)


def unit(root: Path, name: str, install: bool = True, enabled: bool = False, target: str = "multi-user.target") -> None:
    path = root / "usr/lib/systemd/system" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[Service]\nExecStart=/bin/true\n" + (f"\n[Install]\nWantedBy={target}\n" if install else ""))
    if enabled:
        link = root / f"etc/systemd/system/{target}.wants/{name}"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(f"/usr/lib/systemd/system/{name}")


def test_debian_package_names(tmp_path: Path, checks: dict[str, CheckDef]) -> None:
    for cid, package, service in (("services.avahi-not-in-use", "avahi-daemon", "avahi-daemon.service"),
                                  ("services.dns-server-not-in-use", "bind9", "named.service"),
                                  ("services.snmp-not-in-use", "snmpd", "snmpd.service"),
                                  ("services.ldap-server-not-in-use", "slapd", "slapd.service"),
                                  ("services.dhcp-server-not-in-use", "isc-dhcp-server", "isc-dhcp-server.service")):
        root = tmp_path / package
        t = tree(root, {"/var/lib/dpkg/status": dpkg(package)})
        unit(root, service, enabled=True)
        assert status(t, checks[cid]) is Status.FAIL, cid
    assert status(tree(tmp_path / "x", {"/var/lib/dpkg/status": dpkg("xserver-common")}),
                  checks["packages.x-server-not-installed"]) is Status.FAIL


def test_socket_activation_masking_and_sysv(tmp_path: Path, checks: dict[str, CheckDef]) -> None:
    check = checks["services.print-server-not-in-use"]
    sock = tmp_path / "sock"
    t = tree(sock, {"/var/lib/dpkg/status": dpkg("cups-daemon")})
    unit(sock, "cups.service", install=False)  # static, started by its socket
    unit(sock, "cups.socket", enabled=True, target="sockets.target")
    assert status(t, check) is Status.FAIL
    (sock / "etc/systemd/system/cups.socket").symlink_to("/dev/null")  # masked
    assert status(t, check) is Status.PASS
    sysv = tmp_path / "sysv"
    t2 = tree(sysv, {"/var/lib/dpkg/status": dpkg("rpcbind"), "/etc/init.d/rpcbind": "#!/bin/sh\n"})
    assert status(t2, checks["services.rpcbind-not-in-use"]) is Status.PASS  # no rc links
    (sysv / "etc/rc3.d").mkdir(parents=True)
    (sysv / "etc/rc3.d/S02rpcbind").symlink_to("../init.d/rpcbind")
    assert status(t2, checks["services.rpcbind-not-in-use"]) is Status.FAIL
    gone = tmp_path / "gone"  # enabled unit left behind, package removed
    t3 = tree(gone, {"/var/lib/dpkg/status": dpkg("bash")})
    unit(gone, "avahi-daemon.service", enabled=True)
    assert status(t3, checks["services.avahi-not-in-use"]) is Status.PASS


# ----------------------------------------------------------------------------- sudo


@pytest.mark.parametrize(("version", "sudoers", "expected"), [
    ("1.9.13p3-1+deb12u1", "root ALL=(ALL) ALL\n", Status.FAIL),  # Debian 12: default off
    ("1.9.15p5-3ubuntu5", "root ALL=(ALL) ALL\n", Status.PASS),  # Ubuntu 24.04: default on
    ("1.9.15p5-3ubuntu5", "Defaults !use_pty\n", Status.FAIL),
    ("1.9.13p3-1+deb12u1", "Defaults use_pty\nDefaults:bob !use_pty\n", Status.PASS),  # scoped
    ("1.9.13p3-1+deb12u1", "Defaults:%sudo use_pty\n", Status.FAIL),  # scoped: not global
    ("1.9.13p3-1+deb12u1", "Defaults use_pty\nDefaults env_reset, !use_pty\n", Status.FAIL),  # last wins
])
def test_sudo_use_pty_default_depends_on_the_version(tmp_path: Path, checks: dict[str, CheckDef],
                                                      version: str, sudoers: str, expected: Status) -> None:
    t = tree(tmp_path, {"/etc/sudoers": sudoers, "/var/lib/dpkg/status":
                        f"Package: sudo\nStatus: install ok installed\nVersion: {version}\nArchitecture: amd64\n"})
    assert status(t, checks["accounts.sudo-use-pty"]) is expected


def test_sudo_timestamp_timeout_default_and_includes(tmp_path: Path, checks: dict[str, CheckDef]) -> None:
    base = {"/usr/bin/sudo": "", "/etc/sudoers": "@includedir /etc/sudoers.d\n"}
    assert status(tree(tmp_path / "a", base), checks["accounts.sudo-timestamp-timeout"]) is Status.PASS  # 5
    late = tree(tmp_path / "b", {**base, "/etc/sudoers.d/zz": "Defaults timestamp_timeout=60\n"})
    assert status(late, checks["accounts.sudo-timestamp-timeout"]) is Status.FAIL
    ignored = tree(tmp_path / "c", {**base, "/etc/sudoers.d/zz.conf": "Defaults timestamp_timeout=60\n"})
    assert status(ignored, checks["accounts.sudo-timestamp-timeout"]) is Status.PASS  # names with a dot are skipped
