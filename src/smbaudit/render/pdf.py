"""The PDF report, printed by headless Chromium (Debian package `chromium`) from the printable
layout (reports/print.html.j2: summary, one table of the problems, details by area).

Chromium runs through the one subprocess door (`runner.run`), with a fresh profile folder, no
sandbox (it usually runs as a service user or in a container), and every background network
feature off; the report itself loads nothing (its Content-Security-Policy forbids it).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from smbaudit.errors import ProbeError, SmbauditError
from smbaudit.render.html import render_print_html
from smbaudit.report import Report
from smbaudit.runner import run

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 120.0


class PdfError(SmbauditError):
    """No Chromium to print with, or it failed."""


def find_chromium() -> str:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name) or shutil.which(name, path="/usr/bin:/usr/local/bin:/snap/bin")
        if path:
            return path
    raise PdfError("PDF output needs Chromium: install the `chromium` package "
                   "(Debian/Ubuntu: apt-get install chromium)")


def chromium_argv(browser: str, profile: Path, html: Path, pdf: Path) -> list[str]:
    return [browser, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}", html.as_uri()]


def render_pdf(report: Report) -> bytes:
    browser = find_chromium()
    with tempfile.TemporaryDirectory(prefix="smbaudit-pdf-") as tmp:
        folder = Path(tmp)
        html, pdf, profile = folder / "report.html", folder / "report.pdf", folder / "profile"
        profile.mkdir()
        html.write_bytes(render_print_html(report))
        try:
            result = run(chromium_argv(browser, profile, html, pdf), TIMEOUT_S,
                         env={"HOME": str(folder)})
        except ProbeError as exc:
            raise PdfError(f"Chromium could not print the report: {exc}") from exc
        if not pdf.is_file() or pdf.stat().st_size == 0:
            tail = result.stderr.strip().splitlines()[-3:]
            raise PdfError(f"Chromium did not write a PDF (exit {result.returncode}): "
                           + " | ".join(tail))
        return pdf.read_bytes()
