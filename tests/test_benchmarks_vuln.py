"""Smoke test for benchmarks/vuln_speed.py: its text on canned figures, no timing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "vuln_speed.py"


def test_text_names_the_commands_and_the_time_added() -> None:
    spec = importlib.util.spec_from_file_location("vuln_speed", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["vuln_speed"] = module
    try:
        spec.loader.exec_module(module)
        timing = {"wall": [2.0, 2.2], "cpu": [1.5, 1.6], "median_s": 2.1, "median_cpu_s": 1.55}
        text = module.format_text({
            "runs": 2, "machine": {"loadavg_at_start": [0.5, 0.4, 0.3]},
            "import": {"command": "smbaudit vulndb import A B --vulndb TMP/s.sqlite",
                       "wall_s": [1.0, 1.2], "cpu_s": [0.8, 0.9], "median_s": 1.1, "first_s": 1.0,
                       "store_bytes": 7_000_000, "records": {"x:DSA-list": 10},
                       "input_bytes": 1_350_000},
            "scan": {"packages": 757, "release": "bullseye", "vulnerable_package_findings": 0,
                     "with_store": dict(timing, command="smbaudit scan dir:TMP/tree --vulndb S"),
                     "without_store": dict(timing, command="smbaudit scan dir:TMP/tree --vulndb N",
                                           median_s=2.0, median_cpu_s=1.45),
                     "added_s": 0.1, "added_cpu_s": 0.1, "added_paired_s": 0.1,
                     "added_paired_cpu_s": 0.12}})
    finally:
        sys.modules.pop("vuln_speed", None)
    assert "smbaudit vulndb import A B --vulndb TMP/s.sqlite" in text
    assert "store 7.00 MB, x:DSA-list: 10 records" in text
    assert "smbaudit scan dir:TMP/tree --vulndb S" in text and "757 installed packages" in text
    assert "+0.12 s CPU" in text and "A/B = 1.05" in text
