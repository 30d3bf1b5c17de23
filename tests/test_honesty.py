"""Verdicts never overstate what was assessed, end to end through `smbaudit scan`:
unreachable targets, unreadable inputs, interrupted scans, output errors and folders that are
not trees. (The SIGINT/SIGTERM cases are in test_cli.py and test_history.py.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from netservers import free_port, needs
from smbaudit.demotree import build

SRC = str(Path(__file__).resolve().parents[1] / "src")

# Runs `smbaudit ARGS...` as `nobody` (uid/gid 65534): a warm-up scan as root first loads every
# module the scan imports lazily (the interpreter itself may live where nobody cannot read),
# then the process drops its privileges for good and runs the real command.
AS_NOBODY = """
import contextlib, io, os, sys
from smbaudit.cli import main

def run(argv):
    sys.argv = ["smbaudit", *argv]
    try:
        main()
    except SystemExit as exc:
        return exc.code
    return 0

args = sys.argv[1:]
if os.geteuid() == 0:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        run([args[0], *[a for a in args[1:] if a != "-q"][:1], "--no-history", "-f", "json",
             "-f", "html", "-o", os.environ["WARMUP_DIR"]])
    # What the warm-up may not have needed (a pack cache hit skips compiling the schemas):
    import encodings.unicode_escape  # noqa: F401 - the schema compiler's codec
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
sys.exit(run(args))
"""


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temporary folder `nobody` can enter (pytest's own are private to root)."""
    path = Path(tempfile.mkdtemp(prefix="smbaudit-honesty-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def as_nobody(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    data = tmp / "data"
    data.mkdir(exist_ok=True)
    data.chmod(0o777)
    env = dict(os.environ, PYTHONPATH=SRC, XDG_DATA_HOME=str(data), XDG_STATE_HOME=str(data),
               XDG_CACHE_HOME=str(data / "cache"), HOME=str(data), WARMUP_DIR=str(tmp / "warmup"))
    return subprocess.run([sys.executable, "-c", AS_NOBODY, *args], capture_output=True,
                          text=True, timeout=300, cwd=tmp, env=env)


def smbaudit(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "smbaudit", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


def demo_tree(root: Path) -> Path:
    tree = root / "tree"
    build(tree, hardened=True)
    for d in [tree, *tree.rglob("*")]:
        if d.is_dir():
            d.chmod(0o755)
    return tree


# ------------------------------------------------------------------ unreadable input


def test_unprivileged_tree_scan_errors_on_the_unreadable_shadow(shared_tmp: Path) -> None:
    tree = demo_tree(shared_tmp)
    (tree / "etc/shadow").chmod(0o000)
    proc = as_nobody(shared_tmp, "scan", f"dir:{tree}", "--no-history", "-f", "json", "-o", "-")
    assert proc.returncode == 3, proc.stderr
    data = json.loads(proc.stdout)
    by = {f["check_id"]: f for f in data["findings"]}
    shadow = f"{tree}/etc/shadow is not readable: run as root"
    # The critical empty-password check and the other shadow-based checks end ERROR, with
    # the reason in plain words; never pass or not applicable
    for check in ("accounts.no-empty-passwords", "accounts.strong-password-hashes",
                  "accounts.password-max-age", "accounts.root-password-locked"):
        assert by[check]["status"] == "error", by[check]
        assert by[check]["reason"].startswith(shadow), by[check]["reason"]
    # checks that need only /etc/passwd are still assessed
    assert by["accounts.uid0-only-root"]["status"] == "pass"
    # and the terminal summary says how many checks could not be assessed, and why
    errors = [f for f in data["findings"] if f["status"] == "error"]
    assert f"{len(errors)} check(s) could not be assessed" in proc.stderr
    assert shadow in proc.stderr


def test_same_tree_as_root_reads_the_shadow(shared_tmp: Path) -> None:
    tree = demo_tree(shared_tmp)
    (tree / "etc/shadow").chmod(0o000)
    if os.geteuid() != 0:
        pytest.skip("needs root to read a mode 000 file")
    proc = smbaudit(shared_tmp, "scan", f"dir:{tree}", "--no-history", "-f", "json", "-o", "-",
                    "--select", "accounts.*")
    data = json.loads(proc.stdout)
    assert {f["status"] for f in data["findings"]} <= {"pass", "not_applicable"}, proc.stderr
    assert data["summary"]["grade"] == "A"


def test_too_many_unassessed_checks_make_the_grade_incomplete(shared_tmp: Path) -> None:
    tree = demo_tree(shared_tmp)
    (tree / "etc/shadow").chmod(0o000)
    proc = as_nobody(shared_tmp, "scan", f"dir:{tree}", "--no-history", "-f", "json", "-o", "-",
                     "--select", "accounts.*")
    data = json.loads(proc.stdout)
    assert data["summary"]["grade"] == "Incomplete", proc.stderr
    assert any("could not be assessed" in g for g in data["summary"]["gates"])


# ------------------------------------------------------------------ unreachable targets


@needs("nmap")
def test_unreachable_port_has_no_score_and_is_not_comparable(tmp_path: Path) -> None:
    closed = free_port()
    db = tmp_path / "h.db"
    args = ("scan", f"127.0.0.1:{closed}", "--db", str(db), "--timeout", "3",
            "--scan-type", "connect")
    first = smbaudit(tmp_path, *args, "-o", "one")
    second = smbaudit(tmp_path, *args, "-o", "two", "-f", "json", "-f", "html", "-f", "markdown",
                      "-f", "sarif", "-f", "csv", "-f", "junit")
    for proc in (first, second):
        assert proc.returncode == 3, proc.stderr
        assert "Risk score: not assessed" in proc.stdout and "grade A" not in proc.stdout
    data = json.loads((tmp_path / "two/report.json").read_text())
    assert data["summary"]["score"] is None and data["summary"]["grade"] == "Not assessed"
    assert data["summary"]["per_target"][0]["reason"].startswith("not reached")
    # every output says so; none shows a letter grade or "no problems"
    html = (tmp_path / "two/report.html").read_text()
    assert "Nothing was assessed" in html and "No problems were found" not in html
    assert "not assessed" in (tmp_path / "two/report.md").read_text()
    sarif = json.loads((tmp_path / "two/report.sarif").read_text())
    assert sarif["runs"][0]["properties"]["grade"] == "Not assessed"
    csv_text = (tmp_path / "two/report.csv").read_text(encoding="utf-8-sig")
    assert "target.reachable" in csv_text and "not assessed" in csv_text  # never an empty file
    junit = (tmp_path / "two/report.junit.xml").read_text()
    assert '<testsuites name="smbaudit" tests="1" failures="0" errors="1"' in junit
    # history: the later scan is not "better" than anything
    diff = data["history"]["diff"]
    assert diff["score_change"] is None and not diff["comparable"]
    shown = smbaudit(tmp_path, "diff", "--db", str(db))
    assert shown.returncode == 0 and "not comparable" in shown.stdout, shown.stderr
    listed = smbaudit(tmp_path, "history", "--db", str(db))
    assert "Not a" in listed.stdout and " A " not in listed.stdout


def test_unreachable_ssh_host_is_not_assessed(tmp_path: Path) -> None:
    dead = free_port()
    proc = smbaudit(tmp_path, "scan", f"ssh://root@127.0.0.1:{dead}", "--no-history",
                    "--timeout", "3", "-f", "json", "-o", "-")
    assert proc.returncode == 3, proc.stderr
    data = json.loads(proc.stdout)
    assert data["summary"]["score"] is None and data["summary"]["grade"] == "Not assessed"
    assert "Risk score: not assessed" in proc.stderr


# ------------------------------------------------------------------ output errors


def test_unwritable_output_folder_is_exit_2_and_the_scan_is_recoverable(shared_tmp: Path) -> None:
    tree = demo_tree(shared_tmp)
    locked = shared_tmp / "reports"
    locked.mkdir(mode=0o755)  # owned by root: nobody cannot write in it
    db = shared_tmp / "data" / "h.db"
    (shared_tmp / "data").mkdir(mode=0o777)
    (shared_tmp / "data").chmod(0o777)
    proc = as_nobody(shared_tmp, "scan", f"dir:{tree}", "--db", str(db), "-o", str(locked / "x"))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "cannot write the report" in lines[0] and "smbaudit report " in lines[0]
    scan_id = lines[0].split("smbaudit report ")[1].split()[0]
    # the scan is in the history store, and the command in the message gets it back
    out = shared_tmp / "recovered.json"
    got = smbaudit(shared_tmp, "report", scan_id, "--db", str(db), "-f", "json", "-o", str(out))
    assert got.returncode == 0, got.stderr
    assert json.loads(out.read_text())["scan_id"].startswith(scan_id)


def test_a_file_where_the_folder_should_be_is_exit_2(tmp_path: Path) -> None:
    tree = demo_tree(tmp_path)
    (tmp_path / "afile").write_text("")
    proc = smbaudit(tmp_path, "scan", f"dir:{tree}", "--db", str(tmp_path / "h.db"),
                    "-o", str(tmp_path / "afile" / "reports"), "-q")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "smbaudit report " in proc.stderr, proc.stderr


# ------------------------------------------------------------------ folders that are not trees


def test_empty_folder_is_refused_unless_forced(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = smbaudit(tmp_path, "scan", f"dir:{empty}", "--no-history", "-o", "out")
    assert proc.returncode == 2 and "does not look like a root file system" in proc.stderr
    assert "--force" in proc.stderr and not (tmp_path / "out").exists()
    forced = smbaudit(tmp_path, "scan", f"dir:{empty}", "--force", "--no-history", "-f", "json",
                      "-o", "-")
    assert forced.returncode in (0, 1, 3), forced.stderr
    assert json.loads(forced.stdout)["targets"][0]["name"] == f"dir:{empty}"


def test_an_etc_folder_points_to_its_tree(tmp_path: Path) -> None:
    tree = demo_tree(tmp_path)
    proc = smbaudit(tmp_path, "scan", f"dir:{tree}/etc/ssh", "--no-history")
    assert proc.returncode == 2 and "no etc/ folder" in proc.stderr


def test_existing_path_without_dir_prefix_gets_a_hint(tmp_path: Path) -> None:
    tree = demo_tree(tmp_path)
    proc = smbaudit(tmp_path, "scan", str(tree), "--no-history")
    assert proc.returncode == 2 and f"did you mean dir:{tree}?" in proc.stderr
    proc = smbaudit(tmp_path, "scan", "./tree", "--no-history")
    assert proc.returncode == 2 and "did you mean dir:./tree?" in proc.stderr
    proc = smbaudit(tmp_path, "scan", f"{tree}/etc", "--no-history")
    assert proc.returncode == 2 and f"did you mean dir:{tree}?" in proc.stderr


# ------------------------------------------------------------------ unreadable over SSH


@pytest.fixture
def sshd_for_nobody(shared_tmp: Path) -> Iterator[tuple[int, Path, Path]]:
    """A real sshd on loopback that lets `nobody` in with a key (SFTP only)."""
    import shutil as sh

    from netservers import LOOPBACK, wait_port

    binary = sh.which("sshd") or "/usr/sbin/sshd"
    if not Path(binary).exists():
        pytest.skip("sshd is not installed")
    if os.geteuid() != 0:
        pytest.skip("sshd needs root to log in as another user")
    keys = shared_tmp / "ssh"
    keys.mkdir(mode=0o755)
    keys.chmod(0o755)
    for name in ("host_ed25519", "client_ed25519"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / name)],
                       check=True, timeout=60, stdout=subprocess.DEVNULL)
    (keys / "authorized_keys").write_text((keys / "client_ed25519.pub").read_text())
    (keys / "authorized_keys").chmod(0o644)
    port = free_port()
    known = keys / "known_hosts"
    known.write_text(f"[{LOOPBACK}]:{port} {(keys / 'host_ed25519.pub').read_text()}")
    Path("/run/sshd").mkdir(exist_ok=True)
    cfg = keys / "sshd_config"
    cfg.write_text(f"Port {port}\nListenAddress {LOOPBACK}\nHostKey {keys}/host_ed25519\n"
                   f"PidFile {keys}/sshd.pid\nUsePAM no\nStrictModes no\n"
                   f"AuthorizedKeysFile {keys}/authorized_keys\nPasswordAuthentication no\n"
                   "KbdInteractiveAuthentication no\nSubsystem sftp internal-sftp\n")
    proc = subprocess.Popen([binary, "-D", "-e", "-f", str(cfg)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc)
        yield port, keys / "client_ed25519", known
    finally:
        proc.kill()
        proc.wait(timeout=5)


@pytest.mark.needs_sshd
def test_ssh_scan_as_an_unprivileged_user_errors_on_the_shadow(
        sshd_for_nobody: tuple[int, Path, Path], tmp_path: Path) -> None:
    port, key, known = sshd_for_nobody
    proc = smbaudit(tmp_path, "scan", f"ssh://nobody@127.0.0.1:{port}", "--ssh-key", str(key),
                    "--ssh-known-hosts", str(known), "--select", "accounts.*", "--no-history",
                    "--timeout", "5", "-f", "json", "-o", "-")
    assert proc.returncode in (1, 3), proc.stderr
    data = json.loads(proc.stdout)
    assert data["targets"][0]["reachable"] is True, data["targets"]
    by = {f["check_id"]: f for f in data["findings"]}
    finding = by["accounts.no-empty-passwords"]
    assert finding["status"] == "error", finding
    assert finding["reason"].startswith("/etc/shadow is not readable by nobody over SSH")
    assert by["accounts.uid0-only-root"]["status"] in ("pass", "fail")  # /etc/passwd was read
