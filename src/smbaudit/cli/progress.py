"""A one-line progress bar on stderr (only on a terminal, never with -q)."""

from __future__ import annotations

import sys
import time

from smbaudit.pipeline import Observer
from smbaudit.textsafe import visible

WIDTH = 30


class ProgressBar(Observer):
    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.total = 0
        self.done = 0
        self.failed = 0
        self.started = time.monotonic()
        self._shown = False

    def message(self, text: str) -> None:
        if self.enabled:
            self._write(f"{text[:70]}")

    def planned(self, total_jobs: int) -> None:
        self.total = total_jobs
        self._draw("")

    def job_done(self, label: str, ok: bool) -> None:
        self.done += 1
        self.failed += 0 if ok else 1
        self._draw(label)

    def _draw(self, label: str) -> None:
        if not self.enabled:
            return
        frac = self.done / self.total if self.total else 1.0
        filled = int(WIDTH * frac)
        bar = "#" * filled + "-" * (WIDTH - filled)
        elapsed = time.monotonic() - self.started
        self._write(f"[{bar}] {self.done}/{self.total} probes {elapsed:5.1f}s {label[:40]}")

    def _write(self, text: str) -> None:
        sys.stderr.write("\r\033[K" + visible(text))  # labels name targets: escaped
        sys.stderr.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
