"""Seconds per TLS endpoint (smbaudit vs sslyze vs testssl.sh) and discovery time (smbaudit vs
raw nmap with the same arguments), on loopback endpoints this script starts.

    python benchmarks/network_speed.py [--no-testssl] [--repeat N]

Every figure is wall-clock seconds from this run; ratios are the other tool's time divided by
smbaudit's (TLS) or smbaudit's time divided by raw nmap's (discovery).
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _netbench import PY, ROOT, SSLYZE_ACCURACY, endpoints, run_sslyze, run_testssl, smbaudit_tls, timed
from netservers import free_port

from smbaudit.targets.network import DiscoveryOptions, discover

PROBE_ONCE = ("import sys, time; sys.path.insert(0, %r); from smbaudit.probes.tls import TlsProbe;"
              "from smbaudit.probes.base import ProbeContext; from smbaudit.targets.base import ServiceTarget;"
              "p = int(sys.argv[1]); TlsProbe().collect(ServiceTarget(f'127.0.0.1:{p}', '127.0.0.1', p, 'https', 'ssl'),"
              " {}, ProbeContext(deadline=time.monotonic() + 120, timeout=5))") % str(ROOT / "src")


def median(values: list[float]) -> float:
    return statistics.median(values)


def tls_figures(label: str, port: int, tmp: Path, repeat: int, with_testssl: bool) -> None:
    inproc = []
    for _ in range(repeat):
        start = time.monotonic()
        smbaudit_tls(port)
        inproc.append(time.monotonic() - start)
    fresh = [timed([PY, "-c", PROBE_ONCE, str(port)])[0] for _ in range(repeat)]
    sslyze_default = [run_sslyze(port, tmp / "s.json") for _ in range(repeat)]
    sslyze_same = [run_sslyze(port, tmp / "s2.json", SSLYZE_ACCURACY) for _ in range(repeat)]
    ours = median(fresh)
    print(f"\nTLS endpoint {label} (127.0.0.1:{port}), median of {repeat}:")
    print(f"  smbaudit tls probe, in process           {median(inproc):8.3f} s")
    print(f"  smbaudit tls probe, fresh python process {ours:8.3f} s   (compared below)")
    print(f"  sslyze default scan (CLI)                {median(sslyze_default):8.3f} s   "
          f"ratio {median(sslyze_default) / ours:6.1f}x")
    print(f"  sslyze same coverage (certinfo, 6 protocols, http headers) "
          f"{median(sslyze_same):8.3f} s   ratio {median(sslyze_same) / ours:6.1f}x")
    if with_testssl:
        secs = run_testssl(port, tmp / "t.json")
        print(f"  testssl.sh default run (one run)         {secs:8.3f} s   ratio {secs / ours:6.1f}x")


def discovery_figures(ports: list[int], repeat: int, service_detection: bool) -> None:
    options = DiscoveryOptions(ports=",".join(map(str, ports)), timeout=3, scan_type="connect",
                               service_detection=service_detection)
    ours, raw = [], []
    cold = time.monotonic()
    discover(["127.0.0.1"], options)  # the first call in a process also runs `nmap -V` once
    cold = time.monotonic() - cold
    for _ in range(repeat):
        start = time.monotonic()
        found = discover(["127.0.0.1"], options)
        ours.append(time.monotonic() - start)
        argv = shlex.split(found.nmap_args[0])
        start = time.monotonic()
        subprocess.run(argv, capture_output=True, check=True, timeout=600)
        raw.append(time.monotonic() - start)
    print(f"\nDiscovery of {len(ports)} ports on 127.0.0.1 ({'with' if service_detection else 'without'} -sV), "
          f"median of {repeat}:")
    print(f"  raw nmap: {' '.join(argv)}")
    print(f"  raw nmap               {median(raw):8.3f} s")
    print(f"  smbaudit discover()    {median(ours):8.3f} s   overhead {100 * (median(ours) / median(raw) - 1):+.1f}%")
    print(f"  smbaudit discover(), first call in the process (+ nmap -V) {cold:8.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-testssl", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--discovery-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, endpoints() as ep:
        if not args.discovery_only:
            tls_figures("nginx-weak", ep.weak_tls, Path(tmp), args.repeat, not args.no_testssl)
            tls_figures("nginx-strong", ep.strong_tls, Path(tmp), args.repeat, not args.no_testssl)
        ports = [ep.weak_tls, ep.weak_http, ep.weak_ssh, free_port()]
        discovery_figures(ports, args.repeat, service_detection=False)
        discovery_figures(ports, args.repeat, service_detection=True)


if __name__ == "__main__":
    main()
