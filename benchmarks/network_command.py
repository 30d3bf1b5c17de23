"""Whole commands, as a user runs them: `smbaudit scan` beside sslyze, testssl.sh, ssh-audit and
nmap on the same loopback endpoints, in the same run, as ratios.

    python benchmarks/network_command.py [--repeat N] [--no-testssl]

Each command is started as a fresh process (interpreter start, imports and report writing
included); runs alternate between the tools so machine drift hits both. Figures are medians of
wall-clock seconds; peak memory is the process's maximum resident set (ru_maxrss).

Scenarios:
- one TLS endpoint (weak nginx): `smbaudit scan 127.0.0.1:PORT` vs `sslyze 127.0.0.1:PORT`
  (its default scan) and one `testssl.sh` run;
- one SSH endpoint (weak sshd): `smbaudit scan 127.0.0.1:PORT` vs `ssh-audit`;
- top-100 ports of 127.0.0.2, where a weak nginx listens on 443 and 80 and a weak sshd on 22:
  `smbaudit scan 127.0.0.2` vs nmap with and without -sV on the same ports (needs root);
- 256 loopback addresses (127.0.0.0/24, top-100 ports) where only 127.0.0.2 runs those
  services: smbaudit vs an nmap port scan; and peak memory over /28, /26 and /24 (flat in the
  number of hosts).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from contextlib import ExitStack

from _netbench import PY, SSH_AUDIT, TESTSSL, endpoints
from netservers import nginx, sshd

SECOND = "127.0.0.2"  # services on well-known ports, for the port-scan scenarios

SMBAUDIT = [PY, "-m", "smbaudit"]


def run(argv: list[str], timeout: float = 900) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MiB and exit code of one fresh process."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.005)
    wall = time.monotonic() - start
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def compare(title: str, commands: dict[str, list[str]], repeat: int) -> dict[str, float]:
    """Run the commands in turn `repeat` times; print medians and ratios to the first one."""
    walls: dict[str, list[float]] = {k: [] for k in commands}
    peaks: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(repeat):
        for name, argv in commands.items():
            wall, peak, _code = run(argv)
            walls[name].append(wall)
            peaks[name].append(peak)
    first = next(iter(commands))
    base = statistics.median(walls[first])
    print(f"\n{title} (median of {repeat})")
    medians = {}
    for name, argv in commands.items():
        med = statistics.median(walls[name])
        medians[name] = med
        ratio = "" if name == first else f"   {med / base:5.2f}x smbaudit's time"
        print(f"  {name:38s} {med:8.3f} s  peak {statistics.median(peaks[name]):6.1f} MiB{ratio}")
        print(f"    $ {' '.join(argv)}")
    return medians


def scan(spec: str, out: Path, *extra: str) -> list[str]:
    return [*SMBAUDIT, "scan", spec, "--no-history", "-q", "-f", "json", "-o", str(out), *extra]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-testssl", action="store_true")
    args = parser.parse_args()
    nmap = shutil.which("nmap") or "nmap"
    with tempfile.TemporaryDirectory() as tmp, endpoints() as ep, ExitStack() as stack:
        stack.enter_context(nginx(Path(tmp) / "web443", strong=False, host=SECOND, ports=(443, 80)))
        stack.enter_context(sshd(Path(tmp) / "ssh22", hardened=False, host=SECOND, port=22))
        out = Path(tmp) / "report.json"
        tls, ssh = f"127.0.0.1:{ep.weak_tls}", f"127.0.0.1:{ep.weak_ssh}"
        compare("One TLS endpoint (weak nginx)", {
            "smbaudit scan": scan(tls, out),
            "sslyze (default scan)": [PY, "-m", "sslyze", "--quiet", tls],
        }, args.repeat)
        if not args.no_testssl:
            compare("One TLS endpoint (weak nginx), testssl.sh once", {
                "smbaudit scan": scan(tls, out),
                "testssl.sh (default run)": [TESTSSL, "--quiet", "--nodns", "none", "--warnings", "off",
                                             "--color", "0", tls],
            }, 1)
        compare("One SSH endpoint (weak sshd)", {
            "smbaudit scan": scan(ssh, out),
            "ssh-audit": [SSH_AUDIT, "-p", str(ep.weak_ssh), "127.0.0.1"],
        }, args.repeat)
        compare(f"Top-100 ports of one loopback host ({SECOND}: nginx on 443 and 80, sshd on 22)", {
            "smbaudit scan": scan(SECOND, out, "--ports", "top100", "--scan-type", "connect"),
            "nmap -sT (ports only)": [nmap, "-n", "-T4", "-sT", "-Pn", "--top-ports", "100", SECOND],
            "nmap -sT -sV": [nmap, "-n", "-T4", "-sT", "-sV", "-Pn", "--top-ports", "100", SECOND],
        }, args.repeat)
        compare(f"256 loopback addresses (127.0.0.0/24, top-100 ports), services on {SECOND} only", {
            "smbaudit scan": scan("127.0.0.0/24", out, "--ports", "top100", "--scan-type", "connect"),
            "nmap -sT (ports only)": [nmap, "-n", "-T4", "-sT", "--top-ports", "100", "127.0.0.0/24"],
        }, max(1, args.repeat // 2))
        print("\nPeak memory by range size (smbaudit scan, same ports)")
        for net in ("127.0.0.0/28", "127.0.0.0/26", "127.0.0.0/24"):
            wall, peak, _ = run(scan(net, out, "--ports", "top100", "--scan-type", "connect"))
            print(f"  {net:14s} {wall:7.2f} s  peak {peak:6.1f} MiB")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
