"""The wheel ships the data folders, so smbaudit works from any directory after install."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_contains_checks_policies_reports(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    wheel = next(tmp_path.glob("smbaudit-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for folder in ("checks", "policies", "reports"):
        assert any(n.startswith(f"smbaudit/_data/{folder}/") for n in names), folder
    assert "smbaudit/_data/reports/report.html.j2" in names
    assert "smbaudit/packs/check.schema.json" in names
    assert "smbaudit/render/report.schema.json" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "smbaudit.probes" in text and "builtin = smbaudit.probes.builtin" in text
