#!/usr/bin/env python3
"""Host benchmark: smbaudit against Lynis and OpenSCAP on this same machine, one after another.

Runs, each in a fresh child process with a timeout:
  1. smbaudit scan local (the full default pack)
  2. smbaudit scan dir:TREE on a demo tree (and on a copy of this host's /etc)
  3. lynis audit system --quick   (custom profile in a temp dir: no update check, no upload,
                                    no test that queries the network; log and report in the temp dir)
  4. oscap xccdf eval --profile P  (SCAP Security Guide Debian data stream; results in the temp dir;
                                    no --fetch-remote-resources)
and prints wall time, peak memory and the number of checks each performed, with ratios.

Memory: `peak RSS` is ru_maxrss from wait4() on the run's child, i.e. the largest single process
of the run's process tree; `tree RSS` is the sum of RSS over every process of the run's session,
sampled every 50 ms (shared pages are counted once per process, so it over-counts).

Usage: python benchmarks/host_speed.py [--json PATH] [--timeout S] ...   (see --help)
Nothing here writes outside a private temporary directory, except --json PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_TIMEOUT = 900.0  # seconds per tool run
SAMPLE_INTERVAL = 0.05
SSG_CONTENT = Path("/usr/share/xml/scap/ssg/content")
EXTRA_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
INSTALL_HINT = {
    "lynis": "apt-get install lynis (or run benchmarks/run.sh as root)",
    "oscap": "apt-get install openscap-scanner ssg-debian (or run benchmarks/run.sh as root)",
    "ssg": "apt-get install ssg-debian (or run benchmarks/run.sh as root)",
}

# Lynis profile: everything that would reach outside this machine is off.
#  - skip-upgrade-test: the "new Lynis version?" TXT lookup (dig/host lynis-latest-version...)
#  - upload=no: no data upload
#  - PKGS-7392 runs `apt-get update` (network, and changes host state); 7393-7398 are the
#    other distributions' equivalents
#  - NETW-2704/2705 send queries to every nameserver in resolv.conf
#  - NAME-4408 runs `getent hosts localhost`, which asks the DNS server for localhost's AAAA
#    record when /etc/hosts has no ::1 line
#  - FILE-6354 lists every file under /tmp not accessed for 90 days, one shell loop turn each:
#    on a shared build machine /tmp holds other people's trees of 100,000+ such files and the
#    test alone outlasts the timeout. Leaving it out only makes Lynis faster (a ratio in its
#    favour).
LYNIS_PROFILE = """\
# smbaudit benchmark profile (temporary): keep Lynis on this machine
skip-upgrade-test=yes
upload=no
quick=yes
colors=no
skip-test=PKGS-7392
skip-test=PKGS-7393
skip-test=PKGS-7394
skip-test=PKGS-7395
skip-test=PKGS-7398
skip-test=NETW-2704
skip-test=NETW-2705
skip-test=NAME-4408
skip-test=FILE-6354
"""
LYNIS_SKIPPED = ("PKGS-7392", "PKGS-7393", "PKGS-7394", "PKGS-7395", "PKGS-7398",
                 "NETW-2704", "NETW-2705", "NAME-4408", "FILE-6354")

XCCDF_NS = {"x": "http://checklists.nist.gov/xccdf/1.2"}
OSCAP_EVALUATED = ("pass", "fail", "error", "unknown", "notchecked", "informational", "fixed")


@dataclass
class Measured:
    """What one child run cost."""

    wall_s: float
    cpu_s: float  # user + system, the whole process tree
    peak_rss_kb: int
    tree_rss_kb: int
    returncode: int | None
    timed_out: bool


@dataclass
class RunResult:
    """One tool run, as printed and as written to JSON."""

    name: str
    tool: str  # smbaudit | lynis | oscap
    argv: list[str] = field(default_factory=list)
    ok: bool = False
    wall_s: float | None = None
    cpu_s: float | None = None
    peak_rss_kb: int | None = None
    tree_rss_kb: int | None = None
    returncode: int | None = None
    timed_out: bool = False
    checks: int | None = None  # checks/tests/rules performed
    checks_label: str = ""
    details: dict[str, object] = field(default_factory=dict)
    note: str = ""


# ---------------------------------------------------------------- measuring


def _session_rss_kb(sid: int) -> int:
    """Sum of RSS (kB) of every process whose session id is `sid`."""
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    total = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                raw = fh.read()
        except OSError:
            continue
        rest = raw[raw.rfind(b")") + 2:].split()
        # rest[0] is field 3 (state): session is field 6, rss field 24
        if len(rest) > 21 and int(rest[3]) == sid:
            total += int(rest[21]) * page_kb
    return total


def measure(argv: list[str], *, timeout: float, cwd: Path, stdout: Path, stderr: Path,
            env: dict[str, str] | None = None) -> Measured:
    """Run argv in its own session; return wall time, peak memory and exit code.

    The whole process group is killed when the run outlasts `timeout`.
    """
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                env=env, start_new_session=True)
    timed_out = threading.Event()
    stop = threading.Event()
    peak_tree = [0]

    def kill() -> None:
        timed_out.set()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def sample() -> None:
        while not stop.is_set():
            peak_tree[0] = max(peak_tree[0], _session_rss_kb(proc.pid))
            stop.wait(SAMPLE_INTERVAL)

    timer = threading.Timer(timeout, kill)
    sampler = threading.Thread(target=sample, daemon=True)
    timer.start()
    sampler.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:
        kill()
        os.wait4(proc.pid, 0)
        proc.returncode = -9
        raise
    finally:
        wall = time.perf_counter() - start
        timer.cancel()
        stop.set()
        sampler.join()
    # Reap any grandchildren left in the group (a tool that daemonised something).
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code  # reaped by wait4; keep Popen from waiting again
    return Measured(wall_s=wall, cpu_s=usage.ru_utime + usage.ru_stime,
                    peak_rss_kb=usage.ru_maxrss, tree_rss_kb=peak_tree[0],
                    returncode=code, timed_out=timed_out.is_set())


# ---------------------------------------------------------------- tools


def find_program(name: str) -> str | None:
    """`name` on PATH, or in the usual sbin/bin folders (lynis lives in /usr/sbin)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), *EXTRA_PATH])
    return shutil.which(name, path=path)


def smbaudit_argv(explicit: str | None) -> list[str] | None:
    """The smbaudit to benchmark: --smbaudit, the one beside this Python, or python -m."""
    if explicit:
        found = shutil.which(explicit)
        return [found] if found else None
    beside = Path(sys.executable).parent / "smbaudit"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    try:
        import smbaudit  # noqa: F401
    except ImportError:
        found = shutil.which("smbaudit")
        return [found] if found else None
    return [sys.executable, "-m", "smbaudit"]


def compile_package(base: list[str]) -> None:
    """Write the .pyc files of the smbaudit package that `base` runs (compileall)."""
    python = base[0] if "python" in Path(base[0]).name else str(Path(base[0]).parent / "python")
    find = ("import smbaudit, os; print(os.path.dirname(smbaudit.__file__))")
    try:
        where = subprocess.run([python, "-c", find], capture_output=True, text=True, timeout=60,
                               stdin=subprocess.DEVNULL, check=False).stdout.strip()
        if where:
            subprocess.run([python, "-m", "compileall", "-q", where], capture_output=True,
                           timeout=600, stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired):
        pass


def tool_version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0].strip() if lines else "?"


def host_info() -> dict[str, object]:
    pretty = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                pretty = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {
        "os": pretty,
        "loadavg_at_start": load,
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "root": os.geteuid() == 0,
        "python": platform.python_version(),
    }


def debian_major() -> str | None:
    try:
        text = Path("/etc/debian_version").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    match = re.match(r"(\d+)", text)
    return match.group(1) if match else None


# ---------------------------------------------------------------- result parsers


def parse_smbaudit_report(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text(encoding="utf-8"))
    findings = data.get("findings", [])
    by_status: dict[str, int] = {}
    for item in findings:
        status = str(item.get("status", "?"))
        by_status[status] = by_status.get(status, 0) + 1
    summary = data.get("summary", {})
    return {"findings": len(findings), "by_status": by_status,
            "checks_loaded": data.get("checks_loaded"),
            "score": summary.get("score"), "grade": summary.get("grade"),
            "complete": data.get("complete")}


def parse_lynis_report(path: Path) -> dict[str, object]:
    """Counts from a Lynis report.dat (key=value, `key[]=` repeated)."""
    values: dict[str, str] = {}
    lists: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        if key.endswith("[]"):
            lists[key[:-2]] = lists.get(key[:-2], 0) + 1
        else:
            values[key] = value

    def ids(key: str) -> int:
        return len([t for t in values.get(key, "").split("|") if t])

    return {"tests_executed": ids("tests_executed"), "tests_skipped": ids("tests_skipped"),
            "hardening_index": values.get("hardening_index"),
            "warnings": lists.get("warning", 0), "suggestions": lists.get("suggestion", 0),
            "slow_tests": values.get("slow_test") or lists.get("slow_test", 0)}


def parse_oscap_results(path: Path) -> dict[str, object]:
    """Rule results by state from an XCCDF 1.2 results file (the last TestResult)."""
    root = ET.parse(path).getroot()
    results = root.findall(".//x:TestResult", XCCDF_NS)
    if not results and root.tag.endswith("TestResult"):
        results = [root]
    by_result: dict[str, int] = {}
    if results:
        for rule in results[-1].findall("x:rule-result", XCCDF_NS):
            state = rule.findtext("x:result", default="?", namespaces=XCCDF_NS)
            by_result[state] = by_result.get(state, 0) + 1
    selected = sum(n for s, n in by_result.items() if s != "notselected")
    evaluated = sum(n for s, n in by_result.items() if s in OSCAP_EVALUATED)
    return {"rules_selected": selected, "rules_evaluated": evaluated, "by_result": by_result}


# ---------------------------------------------------------------- runs


def run_smbaudit(name: str, base: list[str], target: str, work: Path,
                 timeout: float) -> RunResult:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    report = work / f"{slug}.json"
    argv = [*base, "scan", target, "--format", "json", "-o", str(report), "-q", "--fail-on", "none", "--no-history"]
    res = RunResult(name=name, tool="smbaudit", argv=argv)
    m = measure(argv, timeout=timeout, cwd=work, stdout=work / f"{slug}.out",
                stderr=work / f"{slug}.err")
    _fill(res, m)
    if report.is_file():
        res.details = parse_smbaudit_report(report)
        res.checks = int(res.details["findings"])
        res.checks_label = "findings"
        res.ok = not m.timed_out and m.returncode in (0, 1, 3)
        if m.returncode == 3:
            res.note = (f"exit 3: {res.details['by_status'].get('error', 0)} checks errored "
                        f"(see --keep)")
    else:
        res.note = _failure_note(m, work / f"{slug}.err")
    return res


def run_lynis(work: Path, timeout: float) -> RunResult:
    res = RunResult(name="lynis audit system --quick", tool="lynis")
    lynis = find_program("lynis")
    if not lynis:
        res.note = f"lynis is not installed: {INSTALL_HINT['lynis']}"
        return res
    profile = work / "lynis-bench.prf"
    profile.write_text(LYNIS_PROFILE, encoding="utf-8")
    profile.chmod(0o600)
    report = work / "lynis-report.dat"
    argv = [lynis, "audit", "system", "--quick", "--no-colors", "--quiet",
            "--profile", str(profile), "--log-file", str(work / "lynis.log"),
            "--report-file", str(report)]
    res.argv = argv
    m = measure(argv, timeout=timeout, cwd=work, stdout=work / "lynis.out",
                stderr=work / "lynis.err")
    _fill(res, m)
    if report.is_file() and not m.timed_out:
        res.details = parse_lynis_report(report)
        res.details["skipped_by_benchmark_profile"] = list(LYNIS_SKIPPED)
        res.checks = int(res.details["tests_executed"])
        res.checks_label = "tests executed"
        res.ok = m.returncode == 0
        if os.geteuid() != 0:
            res.note = "not root: Lynis ran its non-privileged subset"
    else:
        res.note = _failure_note(m, work / "lynis.err")
    return res


def find_datastream(major: str | None) -> tuple[Path | None, str]:
    """The SSG Debian data stream for this release, else the newest older one."""
    if major and (SSG_CONTENT / f"ssg-debian{major}-ds.xml").is_file():
        return SSG_CONTENT / f"ssg-debian{major}-ds.xml", ""
    found = sorted(
        (int(m.group(1)), p) for p in SSG_CONTENT.glob("ssg-debian*-ds.xml")
        if (m := re.fullmatch(r"ssg-debian(\d+)-ds\.xml", p.name)))
    if not found:
        return None, ""
    older = [item for item in found if major is None or item[0] <= int(major)] or found
    return older[-1][1], str(older[-1][0])


def adapt_datastream(ds: Path, content_major: str, host_major: str, work: Path) -> Path | None:
    """A copy of `ds` whose Debian-release platform check also accepts the host's release.

    Without it every rule of an older release's content is `notapplicable` on a newer host.
    Only the `/etc/debian_version` pattern of the CPE inventory test changes; rules are untouched.
    """
    text = ds.read_text(encoding="utf-8")
    old = f"^{content_major}.[0-9]+$"
    if old not in text:
        return None
    new = f"^({content_major}|{host_major}).[0-9]+$"
    copy = work / f"ssg-debian{content_major}-as-{host_major}-ds.xml"
    copy.write_text(text.replace(old, new), encoding="utf-8")
    return copy


def resolve_profile(oscap: str, ds: Path, wanted: str) -> str | None:
    try:
        info = subprocess.run([oscap, "info", str(ds)], capture_output=True, text=True,
                              timeout=120, stdin=subprocess.DEVNULL, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    ids = re.findall(r"Id:\s*(xccdf_\S+_profile_\S+)", info)
    for pid in ids:
        if pid == wanted or pid.endswith(f"_profile_{wanted}"):
            return pid
    return None


def run_oscap(work: Path, timeout: float, profile: str) -> RunResult:
    res = RunResult(name=f"oscap xccdf eval ({profile})", tool="oscap")
    oscap = find_program("oscap")
    if not oscap:
        res.note = f"oscap is not installed: {INSTALL_HINT['oscap']}"
        return res
    host_major = debian_major()
    ds, content_major = find_datastream(host_major)
    if ds is None:
        res.note = f"no SSG Debian data stream in {SSG_CONTENT}: {INSTALL_HINT['ssg']}"
        return res
    if content_major and host_major and content_major != host_major:
        adapted = adapt_datastream(ds, content_major, host_major, work)
        if adapted is not None:
            res.note = (f"{ds.name} (no Debian {host_major} content shipped); platform check "
                        f"widened to Debian {host_major} in a temp copy")
            ds = adapted
        else:
            res.note = f"{ds.name} on Debian {host_major}: rules may be not applicable"
    profile_id = resolve_profile(oscap, ds, profile)
    if profile_id is None:
        res.note = f"profile {profile!r} not found in {ds.name} (see: oscap info {ds})"
        return res
    results = work / "oscap-results.xml"
    argv = [oscap, "xccdf", "eval", "--profile", profile_id, "--results", str(results), str(ds)]
    res.argv = argv
    m = measure(argv, timeout=timeout, cwd=work, stdout=work / "oscap.out",
                stderr=work / "oscap.err")
    _fill(res, m)
    if results.is_file() and not m.timed_out:
        res.details = parse_oscap_results(results)
        res.details["datastream"] = ds.name
        res.details["profile"] = profile_id
        res.checks = int(res.details["rules_evaluated"])
        res.checks_label = f"rules evaluated (of {res.details['rules_selected']} selected)"
        res.ok = m.returncode in (0, 2)  # 2: some rules failed
    else:
        res.note = "; ".join(x for x in (res.note, _failure_note(m, work / "oscap.err")) if x)
    return res


def _fill(res: RunResult, m: Measured) -> None:
    res.wall_s = m.wall_s
    res.cpu_s = m.cpu_s
    res.peak_rss_kb = m.peak_rss_kb
    res.tree_rss_kb = m.tree_rss_kb
    res.returncode = m.returncode
    res.timed_out = m.timed_out


def _failure_note(m: Measured, stderr: Path) -> str:
    if m.timed_out:
        return f"timed out after {m.wall_s:.0f} s (killed)"
    try:
        tail = stderr.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
    except OSError:
        tail = []
    return f"failed (exit {m.returncode})" + (f": {tail[0][:160]}" if tail else "")


# Besides /etc, the few files an offline review of a config tree reads from elsewhere:
# /etc/os-release links to /usr/lib/os-release, and the package checks read dpkg's status.
ETC_TREE_EXTRAS = ("/usr/lib/os-release", "/var/lib/dpkg/status")


def copy_etc(dest: Path) -> int:
    """Copy this host's /etc (and ETC_TREE_EXTRAS) under dest; links stay links.

    Returns how many files could not be copied (unreadable or special files).
    """
    missed = 0
    try:
        shutil.copytree("/etc", dest / "etc", symlinks=True, ignore_dangling_symlinks=True)
    except shutil.Error as exc:  # special or unreadable files: the rest is copied
        missed += len(exc.args[0]) if exc.args else 0
    for extra in ETC_TREE_EXTRAS:
        target = dest / extra.lstrip("/")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(extra, target)
        except OSError:
            pass  # not on this host (e.g. an rpm system): the tree is scanned without it
    return missed


# ---------------------------------------------------------------- reporting


def _mb(kb: int | None) -> str:
    return "-" if kb is None else f"{kb / 1024:.1f}"


def _secs(s: float | None) -> str:
    if s is None:
        return "-"
    return f"{s:.2f}" if s < 10 else f"{s:.1f}"


def ratios(results: list[RunResult]) -> list[dict[str, object]]:
    """smbaudit local against each peer that ran: time and memory factors."""
    base = next((r for r in results if r.tool == "smbaudit" and r.ok
                 and r.name.endswith("local")), None)
    if base is None or not base.wall_s:
        return []
    out = []
    for peer in results:
        if peer.tool == "smbaudit" or not peer.ok or not peer.wall_s:
            continue
        out.append({
            "baseline": base.name, "peer": peer.name,
            "speedup": peer.wall_s / base.wall_s,
            "cpu_ratio": peer.cpu_s / base.cpu_s if base.cpu_s and peer.cpu_s else None,
            "memory_ratio": (peer.peak_rss_kb / base.peak_rss_kb
                             if base.peak_rss_kb and peer.peak_rss_kb else None),
            "tree_memory_ratio": (peer.tree_rss_kb / base.tree_rss_kb
                                  if base.tree_rss_kb and peer.tree_rss_kb else None),
        })
    return out


def pair_ratios(paired: list[tuple[RunResult, RunResult]]) -> list[dict[str, float]]:
    """Lynis / smbaudit per pair that both finished: wall and CPU ratios, and the raw figures."""
    rows = []
    for a, b in paired:
        if a.ok and b.ok and a.wall_s and b.wall_s and a.cpu_s and b.cpu_s:
            rows.append({"smbaudit_wall_s": a.wall_s, "lynis_wall_s": b.wall_s,
                         "smbaudit_cpu_s": a.cpu_s, "lynis_cpu_s": b.cpu_s,
                         "wall_ratio": b.wall_s / a.wall_s, "cpu_ratio": b.cpu_s / a.cpu_s})
    return rows


def format_pairs(rows: list[dict[str, float]]) -> str:
    def median(values: list[float]) -> float:
        v = sorted(values)
        return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2

    lines = [f"pair {i}: smbaudit local {r['smbaudit_wall_s']:.2f} s wall / {r['smbaudit_cpu_s']:.2f} s CPU, "
             f"lynis {r['lynis_wall_s']:.1f} s / {r['lynis_cpu_s']:.1f} s -> "
             f"{_times(r['wall_ratio'])} wall, {_times(r['cpu_ratio'])} CPU"
             for i, r in enumerate(rows, 1)]
    lines.append(f"median of {len(rows)} pairs: smbaudit local is "
                 f"{_times(median([r['wall_ratio'] for r in rows]))} faster by wall time, "
                 f"{_times(median([r['cpu_ratio'] for r in rows]))} by CPU time")
    return "\n".join(lines)


def _times(factor: float) -> str:
    return f"{factor:.0f}x" if factor >= 10 else f"{factor:.1f}x"


def format_table(results: list[RunResult], host: dict[str, object] | None = None) -> str:
    """The side-by-side table, the ratio lines, and a line for each tool that did not run."""
    lines = []
    if host:
        load = host.get("loadavg_at_start")
        lines.append(f"host: {host.get('os')}, kernel {host.get('kernel')}, "
                     f"{host.get('cpus')} CPUs, {'root' if host.get('root') else 'not root'}"
                     + (f", load average {load[0]:.2f} at start" if load else ""))
    header = (f"{'run':<44} {'wall s':>8} {'CPU s':>7} {'peak RSS MB':>12} {'tree RSS MB':>12} "
              f"{'checks':>7}  what")
    lines += [header, "-" * len(header)]
    for r in results:
        if r.wall_s is None:
            continue
        checks = "-" if r.checks is None else str(r.checks)
        lines.append(f"{r.name[:44]:<44} {_secs(r.wall_s):>8} {_secs(r.cpu_s):>7} "
                     f"{_mb(r.peak_rss_kb):>12} "
                     f"{_mb(r.tree_rss_kb):>12} {checks:>7}  {r.checks_label}")
    base = next((r for r in results if r.tool == "smbaudit" and r.ok
                 and r.name.endswith("local")), None)
    rows = ratios(results)
    if rows and base is not None:
        lines.append("")
        for row in rows:
            peer = next(r for r in results if r.name == row["peer"])
            mem = row["memory_ratio"]
            mem_txt = "" if mem is None else f", {_times(1 / float(mem))} the peak memory"
            cpu = row["cpu_ratio"]
            cpu_txt = "" if cpu is None else f" ({_times(float(cpu))} less CPU time)"
            lines.append(
                f"{base.name}: {_secs(base.wall_s)} s, {_mb(base.peak_rss_kb)} MB; "
                f"{peer.name}: {_secs(peer.wall_s)} s, {_mb(peer.peak_rss_kb)} MB "
                f"-> {_times(float(row['speedup']))} faster{cpu_txt}{mem_txt}")
    notes = [f"{r.name}: {r.note}" for r in results if r.note]
    if notes:
        lines.append("")
        lines += notes
    return "\n".join(lines)


def to_json(results: list[RunResult], host: dict[str, object],
            versions: dict[str, str], command: list[str]) -> dict[str, object]:
    return {
        "benchmark": "host_speed",
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": command,
        "host": host,
        "versions": versions,
        "time_note": "wall_s: start to exit; cpu_s: user + system time of the run's process tree",
        "memory_note": "peak_rss_kb: ru_maxrss of the run (largest process of its tree); "
                       "tree_rss_kb: sum of RSS over the run's session, sampled every 50 ms",
        "runs": [asdict(r) for r in results],
        "ratios": ratios(results),
    }


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                   help="seconds allowed for each tool run (default %(default)s)")
    p.add_argument("--smbaudit", metavar="CMD", help="smbaudit executable (default: the one "
                   "installed beside this Python)")
    p.add_argument("--oscap-profile", default="standard",
                   help="SSG profile id or its short name (default %(default)s)")
    p.add_argument("--no-etc-tree", action="store_true",
                   help="do not scan a copy of this host's /etc as an offline tree")
    p.add_argument("--skip", action="append", default=[], choices=["lynis", "oscap"],
                   help="leave a peer tool out (repeatable)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (reports, logs)")
    p.add_argument("--pairs", type=int, default=1, metavar="N",
                   help="run smbaudit local and Lynis N times in turn (A B A B ...) and give the "
                        "ratio pair by pair and its median (default %(default)s)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    host = host_info()
    work = Path(tempfile.mkdtemp(prefix="smbaudit-bench-"))
    results: list[RunResult] = []
    paired: list[tuple[RunResult, RunResult]] = []  # (smbaudit local, lynis), in run order
    versions: dict[str, str] = {}
    try:
        base = smbaudit_argv(args.smbaudit)
        if base is None:
            print("smbaudit is not installed: pip install -e . (or run benchmarks/run.sh)",
                  file=sys.stderr)
            return 2
        versions["smbaudit"] = tool_version([*base, "--version"])
        print(f"benchmarking in {work} (timeout {args.timeout:.0f} s per run)", file=sys.stderr)

        def step(label: str) -> None:
            print(f"  running {label} ...", file=sys.stderr, flush=True)

        # Untimed warm-up: byte-compile smbaudit once, as installing a wheel does, so that no
        # timed run compiles its modules (under PYTHONDONTWRITEBYTECODE=1 a run never writes
        # the .pyc files it compiles, and each run would pay ~0.6 s CPU for it).
        compile_package(base)
        subprocess.run([*base, "checks", "list"], capture_output=True, timeout=args.timeout,
                       stdin=subprocess.DEVNULL, check=False)
        step("smbaudit scan local")
        results.append(run_smbaudit("smbaudit local", base, "local", work, args.timeout))
        first_local = results[-1]
        demo = work / "demo-tree"
        built = subprocess.run([*base, "demo", str(demo)], capture_output=True, text=True,
                               timeout=args.timeout, stdin=subprocess.DEVNULL, check=False)
        if built.returncode == 0:
            step("smbaudit scan dir:<demo tree>")
            results.append(run_smbaudit("smbaudit dir:<demo tree>", base, f"dir:{demo}", work,
                                        args.timeout))
        else:
            results.append(RunResult(name="smbaudit dir:<demo tree>", tool="smbaudit",
                                     note=f"smbaudit demo failed: {built.stderr.strip()[:160]}"))
        if not args.no_etc_tree:
            etc_root = work / "etc-tree"
            skipped = copy_etc(etc_root)
            step("smbaudit scan dir:<copy of /etc>")
            res = run_smbaudit("smbaudit dir:<copy of /etc>", base, f"dir:{etc_root}", work,
                               args.timeout)
            if skipped:
                res.note = "; ".join(x for x in (res.note, f"{skipped} files of /etc not "
                                                 "copied (unreadable or special)") if x)
            results.append(res)
        if "lynis" not in args.skip:
            step("lynis audit system --quick (about a minute)")
            results.append(run_lynis(work, args.timeout))
            paired.append((first_local, results[-1]))
            if lynis := find_program("lynis"):
                versions["lynis"] = tool_version([lynis, "--version"])
        if "lynis" not in args.skip and args.pairs > 1:
            for i in range(2, args.pairs + 1):
                step(f"pair {i} of {args.pairs}: smbaudit scan local, then lynis")
                extra_a = run_smbaudit("smbaudit local", base, "local", work, args.timeout)
                extra_b = run_lynis(work, args.timeout)
                extra_a.name, extra_b.name = f"smbaudit local (pair {i})", f"lynis (pair {i})"
                paired.append((extra_a, extra_b))
        if "oscap" not in args.skip:
            step(f"oscap xccdf eval ({args.oscap_profile})")
            results.append(run_oscap(work, args.timeout, args.oscap_profile))
            if oscap := find_program("oscap"):
                versions["oscap"] = tool_version([oscap, "--version"])
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(format_table(results, host))
    pair_rows = pair_ratios(paired)
    if len(pair_rows) > 1:
        print("\n" + format_pairs(pair_rows))
    if args.json:
        command = [Path(sys.executable).name, *sys.argv]
        doc = to_json(results, host, versions, command)
        doc["pairs"] = pair_rows
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 0 if all(r.ok for r in results if r.tool == "smbaudit") else 1


if __name__ == "__main__":
    sys.exit(main())
