"""Redaction touches observed values only: a check's own words ("password never expires") are
never rewritten, while secrets observed on the target are masked."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from hostcfg_util import put
from smbaudit.cli import cli

PACK = """\
schema: 1
pack: t
description: redaction test
checks:
  - id: t.password-expiry
    title: No account is set so its password never expires
    description: password never expires for service accounts is checked here
    category: authentication
    severity: low
    rationale: password never expires means a leaked password works forever.
    remediation: Set an expiry.
    problem: "{location} sets a password that never expires"
    probe: file
    params: {path: /etc/app.conf, read: true}
    condition:
      all:
        - {fact: lines, op: not_matches, value: "^password", message: "password never expires"}
"""


def test_check_text_is_kept_and_observed_secrets_are_masked(tmp_path: Path) -> None:
    root = tmp_path / "root"
    put(root, "/etc/app.conf", "password=hunter2\n")
    pack = tmp_path / "pack.yaml"
    pack.write_text(PACK)
    out = tmp_path / "r.json"
    result = CliRunner().invoke(cli, ["scan", f"dir:{root}", "--checks", str(pack),
                                      "--no-default-checks", "-f", "json", "-o", str(out), "-q",
                                      "--fail-on", "none", "--no-history"])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "hunter2" not in text
    finding = json.loads(text)["findings"][0]
    assert finding["status"] == "fail"
    assert finding["description"] == "password never expires for service accounts is checked here"
    assert [e["message"] for e in finding["evidence"]] == ["password never expires"]
    assert "[REDACTED]" in json.dumps(finding["evidence"])
