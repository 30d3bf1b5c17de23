"""The JSON report. Its shape is published as report.schema.json beside this module."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from smbaudit.report import Report

SCHEMA_PATH = Path(__file__).with_name("report.schema.json")


def render_json(report: Report) -> bytes:
    return json_bytes(report.to_dict())


def json_bytes(data: dict[str, Any]) -> bytes:
    """A report's JSON form as written (the pipeline passes the dict it already made)."""
    return (json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n").encode()
