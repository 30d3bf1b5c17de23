"""Vulnerability store speed: import of the full Debian DSA and DLA lists, and the time the store
adds to a scan of a full Debian package set. Whole `smbaudit` commands, each in a fresh child
process, timed from outside.

    python benchmarks/vuln_speed.py [--runs 5] [--release bullseye] [--json PATH] [--keep]

1. Import: `smbaudit vulndb import DSA-list DLA-list --vulndb TMP/store-N.sqlite` (the files of
   ../shared/vulndata/debian), each run into a new store: wall and CPU time, store size,
   records.
2. Scan: a `dir:` tree holding this machine's /var/lib/dpkg/status (every installed package)
   and an os-release naming a Debian release the lists cover (`--release`, default bullseye:
   the lists end in April 2023, before bookworm's first advisory). Two commands, run in turn
   A B A B ... so drift on a busy machine hits both alike:
     A  smbaudit scan dir:TREE -f json -o TMP/a.json -q --fail-on none --no-history --vulndb STORE
     B  the same with --vulndb TMP/absent.sqlite (no store: those checks are "not assessed")
   The time the store adds is median(A) - median(B), and the median of the differences of
   each pair A-B (steadier when other work shares the machine); the report of A says how many packages
   were compared and how many findings came out.
The first run of each command is printed apart from the median (nothing warms it up).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODENAMES = {"buster": "10", "bullseye": "11", "bookworm": "12", "stretch": "9"}


@dataclass
class Timing:
    command: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu)


def shared_vulndata() -> Path | None:
    for base in (ROOT.parent, ROOT.parent.parent):
        if (base / "shared" / "vulndata" / "debian" / "DSA-list").is_file():
            return base / "shared" / "vulndata"
    return None


def smbaudit_argv() -> list[str]:
    beside = Path(sys.executable).parent / "smbaudit"
    return [str(beside)] if beside.is_file() else [sys.executable, "-m", "smbaudit"]


def timed(argv: list[str], timing: Timing) -> subprocess.CompletedProcess[str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=600, check=False)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1, 3):  # 3: checks a two-file tree cannot answer
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()}")
    timing.wall.append(wall)
    timing.cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return done


def build_tree(tmp: Path, release: str) -> tuple[Path, int]:
    tree = tmp / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "var/lib/dpkg").mkdir(parents=True)
    (tree / "etc/os-release").write_text(
        f'PRETTY_NAME="Debian GNU/Linux {CODENAMES[release]} ({release})"\nID=debian\n'
        f'VERSION_ID="{CODENAMES[release]}"\nVERSION_CODENAME={release}\n')
    shutil.copyfile("/var/lib/dpkg/status", tree / "var/lib/dpkg/status")
    count = sum(1 for line in (tree / "var/lib/dpkg/status").read_text(errors="replace").splitlines()
                if line.startswith("Package: "))
    return tree, count


def shown(argv: list[str], tmp: Path) -> str:
    return " ".join(a.replace(str(tmp), "TMP") for a in (["smbaudit"] + argv[len(smbaudit_argv()):]))


def run(runs: int, release: str, keep: bool) -> dict[str, object]:
    data = shared_vulndata()
    if data is None:
        raise SystemExit("../shared/vulndata (the real DSA and DLA lists) is not present: nothing to time")
    tmp = Path(tempfile.mkdtemp(prefix="vuln-speed-"))
    smb = smbaudit_argv()
    try:
        subprocess.run([*smb, "checks", "list"], capture_output=True, check=False)  # byte-compile
        lists = [str(data / "debian" / "DSA-list"), str(data / "debian" / "DLA-list")]
        imp = Timing("")
        store = tmp / "store-0.sqlite"
        for n in range(runs):
            store = tmp / f"store-{n}.sqlite"
            argv = [*smb, "vulndb", "import", *lists, "--vulndb", str(store)]
            imp.command = shown(argv, tmp).replace(str(data), "../shared/vulndata")
            out = timed(argv, imp)
        records = {line.rsplit(": ", 1)[0]: int(line.rsplit(": ", 1)[1].split()[0])
                   for line in out.stdout.splitlines() if " records (" in line}
        size = store.stat().st_size

        tree, packages = build_tree(tmp, release)
        base = [*smb, "scan", f"dir:{tree}", "-f", "json", "-q", "--fail-on", "none", "--no-history"]
        a_argv = [*base, "-o", str(tmp / "a.json"), "--vulndb", str(store)]
        b_argv = [*base, "-o", str(tmp / "b.json"), "--vulndb", str(tmp / "absent.sqlite")]
        with_store, without = Timing(shown(a_argv, tmp)), Timing(shown(b_argv, tmp))
        for _ in range(runs):
            timed(a_argv, with_store)
            timed(b_argv, without)
        report = json.loads((tmp / "a.json").read_text())
        vuln = [f for f in report.get("findings", [])
                if f.get("check_id") == "patching.vulnerable-packages" and f.get("status") == "fail"]
        return {
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                        "kernel": platform.release(), "loadavg_at_start": os.getloadavg()},
            "runs": runs,
            "import": {"command": imp.command, "wall_s": imp.wall, "cpu_s": imp.cpu,
                       "median_s": imp.median, "first_s": imp.wall[0], "store_bytes": size,
                       "records": records,
                       "input_bytes": sum(os.path.getsize(p) for p in lists)},
            "scan": {"packages": packages, "release": release,
                     "with_store": asdict(with_store) | {"median_s": with_store.median,
                                                         "median_cpu_s": with_store.median_cpu},
                     "without_store": asdict(without) | {"median_s": without.median,
                                                         "median_cpu_s": without.median_cpu},
                     "added_s": with_store.median - without.median,
                     "added_paired_s": statistics.median(
                         a - b for a, b in zip(with_store.wall, without.wall)),
                     "added_paired_cpu_s": statistics.median(
                         a - b for a, b in zip(with_store.cpu, without.cpu)),
                     "added_cpu_s": with_store.median_cpu - without.median_cpu,
                     "vulnerable_package_findings": len(vuln)},
            "tmp": str(tmp) if keep else "",
        }
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def format_text(r: dict[str, object]) -> str:
    imp, scan = r["import"], r["scan"]
    assert isinstance(imp, dict) and isinstance(scan, dict)
    w, wo = scan["with_store"], scan["without_store"]
    lines = [
        f"runs: {r['runs']} each; load average at start {r['machine']['loadavg_at_start'][0]:.2f}",  # type: ignore[index]
        "",
        f"import  {imp['command']}",
        f"        first {imp['first_s']:.2f} s, median {imp['median_s']:.2f} s wall "
        f"(median CPU {statistics.median(imp['cpu_s']):.2f} s); "
        f"{imp['input_bytes'] / 1e6:.2f} MB of lists -> store {imp['store_bytes'] / 1e6:.2f} MB, "
        + ", ".join(f"{k}: {v} records" for k, v in imp["records"].items()),
        "",
        f"scan of {scan['packages']} installed packages (this machine's dpkg status, "
        f"os-release {scan['release']}):",
        f"  A  {w['command']}",
        f"     first {w['wall'][0]:.2f} s, median {w['median_s']:.2f} s wall, "
        f"median CPU {w['median_cpu_s']:.2f} s; {scan['vulnerable_package_findings']} "
        "per-package findings",
        f"  B  {wo['command']}",
        f"     first {wo['wall'][0]:.2f} s, median {wo['median_s']:.2f} s wall, "
        f"median CPU {wo['median_cpu_s']:.2f} s",
        f"  time the store adds to the scan: median(A) - median(B) = {scan['added_s']:+.2f} s wall "
        f"({scan['added_cpu_s']:+.2f} s CPU); median of the paired differences "
        f"{scan['added_paired_s']:+.2f} s wall ({scan['added_paired_cpu_s']:+.2f} s CPU); "
        f"A/B = {w['median_s'] / wo['median_s']:.2f}",
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--release", choices=sorted(CODENAMES), default="bullseye")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--keep", action="store_true", help="keep the temp folder (stores, tree, reports)")
    args = ap.parse_args()
    result = run(max(1, args.runs), args.release, args.keep)
    print(format_text(result))
    if result["tmp"]:
        print(f"kept: {result['tmp']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
