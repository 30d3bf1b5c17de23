"""Whole commands, as a user runs them: `smbaudit scan` beside sslyze, testssl.sh, ssh-audit and
nmap on the same loopback endpoints, in the same run, as ratios.

    python benchmarks/network_command.py [--repeat N] [--no-testssl]

Each command is started as a fresh process (interpreter start, imports and report writing
included); runs alternate between the tools (A B A B ...) so machine drift hits both. Figures are
medians of wall-clock seconds and of CPU seconds (user + system, from wait4), and the medians of
the per-pair ratios; peak memory is the process's maximum resident set (ru_maxrss).

smbaudit runs as installed from a wheel would: its modules byte-compiled first (untimed), and
with the pack cache filled by one untimed run (a user's first scan after an install or upgrade
validates the packs once; that cold start is measured separately, with the cache emptied before
each run). sslyze runs from SSLYZE_PYTHON when set (a venv of its own: it pins an older
cryptography), else from this interpreter.

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

from _netbench import PY, SSH_AUDIT, SSLYZE_PY, TESTSSL, endpoints
from netservers import nginx, sshd

SECOND = "127.0.0.2"  # services on well-known ports, for the port-scan scenarios

SMBAUDIT = [PY, "-m", "smbaudit"]


def run(argv: list[str], timeout: float = 900, env: dict[str, str] | None = None
        ) -> tuple[float, float, int, float]:
    """Wall seconds, peak RSS in MiB, exit code and CPU seconds of one fresh process."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})})
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
    return (wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status),
            usage.ru_utime + usage.ru_stime)


def compare(title: str, commands: dict[str, list[str]], repeat: int,
            env: dict[str, str] | None = None) -> dict[str, float]:
    """Run the commands in turn `repeat` times; print medians, and the median of the per-pair
    ratios of the first command to each other one (below 1: smbaudit took less)."""
    walls: dict[str, list[float]] = {k: [] for k in commands}
    cpus: dict[str, list[float]] = {k: [] for k in commands}
    peaks: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(repeat):
        for name, argv in commands.items():
            if env is not None and name == next(iter(commands)):
                empty_pack_cache(env)
            wall, peak, _code, cpu = run(argv, env=env)
            walls[name].append(wall)
            cpus[name].append(cpu)
            peaks[name].append(peak)
    first = next(iter(commands))
    print(f"\n{title} (median of {repeat})")
    medians = {}
    for name, argv in commands.items():
        med = statistics.median(walls[name])
        medians[name] = med
        ratio = ""
        if name != first:
            wall_ratio = statistics.median(a / b for a, b in zip(walls[first], walls[name]))
            cpu_ratio = statistics.median(a / b for a, b in zip(cpus[first], cpus[name]))
            ratio = f"   smbaudit/this: wall {wall_ratio:5.2f}, CPU {cpu_ratio:5.2f}"
        print(f"  {name:38s} {med:8.3f} s wall  {statistics.median(cpus[name]):6.3f} s CPU  "
              f"peak {statistics.median(peaks[name]):6.1f} MiB{ratio}")
        print(f"    $ {' '.join(argv)}")
    return medians


def prepare_smbaudit() -> None:
    """As a wheel install leaves it: modules byte-compiled; and the pack cache filled."""
    import smbaudit

    subprocess.run([PY, "-m", "compileall", "-q", str(Path(smbaudit.__file__).parent)],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*SMBAUDIT, "checks", "list"], check=True, stdout=subprocess.DEVNULL)


def empty_pack_cache(env: dict[str, str]) -> None:
    shutil.rmtree(Path(env["XDG_CACHE_HOME"]) / "smbaudit", ignore_errors=True)


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
        prepare_smbaudit()
        tls, ssh = f"127.0.0.1:{ep.weak_tls}", f"127.0.0.1:{ep.weak_ssh}"
        sslyze = [SSLYZE_PY, "-m", "sslyze", "--quiet", tls]
        compare("One TLS endpoint (weak nginx)", {
            "smbaudit scan": scan(tls, out),
            "sslyze (default scan)": sslyze,
        }, args.repeat)
        compare("Same, smbaudit's first scan after an install (pack cache emptied before each run)", {
            "smbaudit scan": scan(tls, out),
            "sslyze (default scan)": sslyze,
        }, max(3, args.repeat // 2), env={"XDG_CACHE_HOME": str(Path(tmp) / "cold-cache")})
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
            wall, peak, _, _ = run(scan(net, out, "--ports", "top100", "--scan-type", "connect"))
            print(f"  {net:14s} {wall:7.2f} s  peak {peak:6.1f} MiB")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
