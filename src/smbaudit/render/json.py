"""The JSON report. Its shape is published as report.schema.json beside this module."""

from __future__ import annotations

import json
from pathlib import Path

from smbaudit.report import Report

SCHEMA_PATH = Path(__file__).with_name("report.schema.json")


def render_json(report: Report) -> bytes:
    return (json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n").encode()
