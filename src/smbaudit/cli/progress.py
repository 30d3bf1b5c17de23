"""Progress on stderr (only on a terminal, never with -q): one bar for the whole scan and, in
a fleet scan, one line per remote host as it finishes (its state, failures, errors, time)."""

from __future__ import annotations

import sys
import threading
import time

from smbaudit.fleet import HostOutcome
from smbaudit.pipeline import Observer
from smbaudit.targets.hoststate import HostState
from smbaudit.textsafe import visible

WIDTH = 30


def host_line(outcome: HostOutcome) -> str:
    """`web1  assessed  12 failing, 1 error  8.4 s` (the reason for a host not audited)."""
    if outcome.state in (HostState.ASSESSED, HostState.PARTLY_ASSESSED):
        what = f"{outcome.failed} failing, {outcome.errors} error(s)"
        if outcome.reason:
            what += f"; {outcome.reason}"
    else:
        what = outcome.reason
    return f"{outcome.name}  {outcome.state.value}  {what[:160]}  {outcome.seconds:.1f} s"


class ProgressBar(Observer):
    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.total = 0
        self.done = 0
        self.failed = 0
        self.hosts_done = 0
        self.started = time.monotonic()
        self._shown = False
        self._lock = threading.RLock()  # the fleet runner reports from several threads

    def message(self, text: str) -> None:
        if self.enabled:
            with self._lock:
                self._write(f"{text[:70]}")

    def planned(self, total_jobs: int) -> None:
        with self._lock:
            self.total = total_jobs
            self._draw("")

    def job_done(self, label: str, ok: bool) -> None:
        with self._lock:
            self.done += 1
            self.failed += 0 if ok else 1
            self._draw(label)

    def host_done(self, outcome: HostOutcome) -> None:
        with self._lock:
            self.hosts_done += 1
            if not self.enabled:
                return
            sys.stderr.write("\r\033[K" + visible(host_line(outcome)) + "\n")
            self._draw("")

    def _draw(self, label: str) -> None:
        if not self.enabled:
            return
        frac = self.done / self.total if self.total else 1.0
        filled = int(WIDTH * frac)
        bar = "#" * filled + "-" * (WIDTH - filled)
        elapsed = time.monotonic() - self.started
        hosts = f" {self.hosts_done} host(s) done" if self.hosts_done else ""
        self._write(f"[{bar}] {self.done}/{self.total} probes{hosts} {elapsed:5.1f}s {label[:40]}")

    def _write(self, text: str) -> None:
        sys.stderr.write("\r\033[K" + visible(text))  # labels name targets: escaped
        sys.stderr.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
