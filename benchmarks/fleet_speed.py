#!/usr/bin/env python3
"""Fleet benchmark: the whole `smbaudit scan --inventory ...` command against N real sshd
instances on loopback, each behind a delay proxy that adds a round-trip time (default 10 ms),
beside a local `lynis audit system --quick` for scale.

For each fleet size given with --hosts (default 1,10,50) it starts that many sshd instances
(root login with a fresh key, the distribution's sftp-server, each with its own host key) on
127.0.0.1, one delay proxy process forwarding a port to each, writes a YAML host list and a
known_hosts file, and runs, in a fresh child process with a timeout:

    smbaudit scan --inventory TMP/hosts.yaml --ssh-key TMP/client --ssh-known-hosts TMP/known
        -f json -o TMP/rN.json -q --no-history --fail-on none --parallel-hosts P --host-jobs J
        --timeout 30

It prints each result as soon as it is measured (wall time, CPU time of the whole process
tree, peak memory of smbaudit, hosts by state, findings), then Lynis once. Every child has a
timeout (--timeout per run); sshd, the proxy and every child are killed at the end, whatever
happens. Needs root (sshd) and openssh-server; `lynis` for the comparison.

    sudo python benchmarks/fleet_speed.py [--hosts 1,10,50] [--rtt-ms 10] [--json PATH]

Nothing is written outside a private temporary directory, except --json PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import host_speed  # noqa: E402  (the measuring helpers and the Lynis run)

HERE = Path(__file__).resolve().parent
SFTP_SERVERS = ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server")
DEFAULT_TIMEOUT = 900.0


@dataclass
class FleetRun:
    hosts: int
    rtt_ms: float
    parallel_hosts: int
    jobs: int
    argv: list[str] = field(default_factory=list)
    wall_s: float | None = None
    cpu_s: float | None = None
    peak_rss_mb: float | None = None
    tree_rss_mb: float | None = None
    returncode: int | None = None
    timed_out: bool = False
    states: dict[str, int] = field(default_factory=dict)
    findings: int = 0
    per_host_s: float | None = None
    note: str = ""


def say(text: str) -> None:
    print(text, flush=True)


_TAKEN: set[int] = set()


def _free_port() -> int:
    """A loopback port free now and not handed out before in this run (the kernel may offer
    a released port again before the sshd or proxy given it has bound it)."""
    for _ in range(1000):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _TAKEN:
            _TAKEN.add(port)
            return port
    raise RuntimeError("no free loopback port")


def _wait_port(port: int, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True,
                   timeout=60, stdout=subprocess.DEVNULL)


class Fleet:
    """N sshd instances and one delay proxy in front of them; `close()` kills them all."""

    def __init__(self, work: Path, n: int, rtt_ms: float):
        self.work, self.procs = work, []  # type: ignore[var-annotated]
        self.client = work / "client"
        if not self.client.exists():
            _keygen(self.client)
        authorized = work / "authorized_keys"
        authorized.write_text(self.client.with_suffix(".pub").read_text())
        authorized.chmod(0o644)
        sftp = next((p for p in SFTP_SERVERS if Path(p).exists()), "internal-sftp")
        Path("/run/sshd").mkdir(exist_ok=True)
        self.known = work / f"known-{n}"
        hosts, known, pairs = [], [], []
        try:
            for i in range(n):
                d = work / f"sshd-{n}-{i}"
                d.mkdir()
                _keygen(d / "host")
                port, front = _free_port(), _free_port()
                (d / "sshd_config").write_text(
                    f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host\nPidFile {d}/pid\n"
                    f"UsePAM no\nStrictModes no\nAuthorizedKeysFile {authorized}\n"
                    "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\nMaxStartups 200\nLogLevel ERROR\n"
                    f"Subsystem sftp {sftp}\n")
                self.procs.append(subprocess.Popen(
                    [shutil.which("sshd") or "/usr/sbin/sshd", "-D", "-e", "-f", str(d / "sshd_config")],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=open(d / "log", "wb"), start_new_session=True))
                pub = (d / "host.pub").read_text().split()
                known.append(f"[127.0.0.1]:{front} {pub[0]} {pub[1]}")
                hosts.append(f"  - {{name: host{i:03d}, host: 127.0.0.1, port: {front}, user: root}}")
                pairs.append(f"{front}:{port}")
            self.procs.append(subprocess.Popen(
                [sys.executable, str(HERE / "delay_proxy.py"), "--many", str(rtt_ms / 2), *pairs],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=open(work / f"proxy-{n}.log", "wb"), start_new_session=True))
            for pair in pairs:
                front, port = (int(x) for x in pair.split(":"))
                if not (_wait_port(port) and _wait_port(front)):
                    raise RuntimeError(f"sshd or proxy did not start (ports {port}/{front})")
        except BaseException:
            self.close()
            raise
        self.known.write_text("\n".join(known) + "\n")
        self.inventory = work / f"hosts-{n}.yaml"
        self.inventory.write_text("hosts:\n" + "\n".join(hosts) + "\n")

    def close(self) -> None:
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.procs = []


def run_fleet(work: Path, smbaudit: list[str], n: int, args: argparse.Namespace) -> FleetRun:
    res = FleetRun(hosts=n, rtt_ms=args.rtt_ms, parallel_hosts=args.parallel_hosts, jobs=args.jobs)
    fleet = Fleet(work, n, args.rtt_ms)
    out = work / f"r{n}.json"
    try:
        res.argv = [*smbaudit, "scan", "--inventory", str(fleet.inventory),
                    "--ssh-key", str(fleet.client), "--ssh-known-hosts", str(fleet.known),
                    "-f", "json", "-o", str(out), "-q", "--no-history", "--fail-on", "none",
                    "--parallel-hosts", str(args.parallel_hosts), "--host-jobs", str(args.jobs),
                    "--timeout", "30"]
        env = {k: v for k, v in os.environ.items() if k != "SMBAUDIT_SSH_PASSWORD"}
        env["HOME"] = str(work)  # no ~/.ssh/config or known_hosts of the user running it
        m = host_speed.measure(res.argv, timeout=args.timeout, cwd=work,
                               stdout=work / f"r{n}.out", stderr=work / f"r{n}.err", env=env)
    finally:
        fleet.close()
    res.wall_s, res.cpu_s = round(m.wall_s, 2), round(m.cpu_s, 2)
    res.peak_rss_mb = round(m.peak_rss_kb / 1024, 1)
    res.tree_rss_mb = round(m.tree_rss_kb / 1024, 1)
    res.returncode, res.timed_out = m.returncode, m.timed_out
    if out.exists():
        report = json.loads(out.read_text())
        res.states = dict(Counter(t["details"].get("state", "?") for t in report["targets"]))
        res.findings = len(report["findings"])
        res.per_host_s = round(m.wall_s / n, 2)
    else:
        res.note = (work / f"r{n}.err").read_text(errors="replace")[-400:]
    return res


def line(r: FleetRun) -> str:
    if r.wall_s is None:
        return f"{r.hosts:>4} hosts: not run ({r.note})"
    states = ", ".join(f"{v} {k}" for k, v in sorted(r.states.items()))
    flag = " TIMED OUT" if r.timed_out else ""
    return (f"{r.hosts:>4} hosts @ {r.rtt_ms:g} ms RTT: {r.wall_s:7.1f} s wall ({r.per_host_s} s/host), "
            f"{r.cpu_s:6.1f} s CPU, smbaudit peak {r.peak_rss_mb} MB (tree {r.tree_rss_mb} MB); "
            f"exit {r.returncode}{flag}; {states}; {r.findings} findings")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hosts", default="1,10,50", help="fleet sizes, comma-separated")
    p.add_argument("--rtt-ms", type=float, default=10.0, help="round-trip time added per host")
    p.add_argument("--parallel-hosts", type=int, default=8)
    p.add_argument("--jobs", type=int, default=8, help="--host-jobs: probes at once per host")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per run")
    p.add_argument("--skip-lynis", action="store_true")
    p.add_argument("--smbaudit", help="smbaudit command (default: this Python's module)")
    p.add_argument("--json", help="write the results here as JSON")
    p.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = p.parse_args()
    if os.geteuid() != 0 or not shutil.which("sshd", path="/usr/sbin:/usr/bin:/sbin"):
        say("fleet_speed: needs root and openssh-server (sshd)")
        return 2
    smbaudit = host_speed.smbaudit_argv(args.smbaudit)
    if smbaudit is None:
        say("fleet_speed: smbaudit is not installed in this Python")
        return 2
    sizes = [int(x) for x in args.hosts.split(",") if x.strip()]
    work = Path(tempfile.mkdtemp(prefix="smbaudit-fleetbench-"))
    results: dict[str, object] = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                              "kernel": platform.release()},
                                  "command": " ".join(sys.argv), "runs": []}
    try:
        say(f"fleet benchmark: sizes {sizes}, {args.rtt_ms:g} ms round trip, "
            f"--parallel-hosts {args.parallel_hosts} --host-jobs {args.jobs}, {os.cpu_count()} CPUs")
        subprocess.run([*smbaudit, "checks", "list"], stdout=subprocess.DEVNULL, timeout=300,
                       check=False)  # byte-compile first, untimed
        for n in sizes:
            say(f"... {n} host(s): starting sshd instances and the delay proxy")
            try:
                r = run_fleet(work, smbaudit, n, args)
            except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
                r = FleetRun(hosts=n, rtt_ms=args.rtt_ms, parallel_hosts=args.parallel_hosts,
                             jobs=args.jobs, note=f"setup failed: {exc}")
            say(line(r))
            results["runs"].append(asdict(r))  # type: ignore[attr-defined]
        if not args.skip_lynis:
            say("... lynis audit system --quick on this machine (about a minute)")
            lyn = host_speed.run_lynis(work, args.timeout)
            if lyn.wall_s is None:
                say(f"lynis: not run ({lyn.note})")
            else:
                say(f"lynis audit system --quick (local, one host): {lyn.wall_s:.1f} s wall, "
                    f"{(lyn.peak_rss_kb or 0) / 1024:.0f} MB, {lyn.checks} tests")
                for r in results["runs"]:  # type: ignore[attr-defined]
                    if r["per_host_s"]:
                        say(f"  {r['hosts']} host(s): {r['per_host_s']} s per host over SSH vs "
                            f"lynis {lyn.wall_s:.1f} s locally -> "
                            f"{lyn.wall_s / r['per_host_s']:.1f}x")
            results["lynis"] = asdict(lyn)
    finally:
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        if args.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
