"""Every shipped check words its failure: a `problem:` headline naming what was observed.

Fails for any shipped check whose failure would have no problem line, whose template no longer
fits the evaluator, or whose headline on the demo tree falls back to generic wording.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from smbaudit.cli import cli
from smbaudit.demotree import build
from smbaudit.evaluate import Outcome, problem_line
from smbaudit.models import CheckDef, Evidence
from smbaudit.packs.loader import load_packs

CHECKS = Path(__file__).resolve().parents[1] / "checks"
SHIPPED = load_packs([CHECKS])


@pytest.mark.parametrize("check", SHIPPED, ids=[c.id for c in SHIPPED])
def test_shipped_check_declares_a_headline(check: CheckDef) -> None:
    assert check.problem, f"{check.source}: {check.id} has no `problem:` headline"
    # Even with no facts at all (a probe that found nothing), the headline is a sentence.
    outcome = Outcome(False, [Evidence(fact="x", observed="<not set>", expected="present", ok=False)])
    text = problem_line(check, {}, outcome, "dir:/srv/root", None)
    assert text and text != check.title and not text.startswith("Not met:")


@pytest.fixture(scope="module")
def demo_findings(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    base = tmp_path_factory.mktemp("demo")
    build(base / "root", hardened=False)
    out = base / "report.json"
    result = CliRunner().invoke(cli, ["scan", f"dir:{base / 'root'}", "-f", "json", "-o", str(out),
                                      "--fail-on", "none", "-q", "--no-history"])
    assert result.exit_code in (0, 3), result.output
    return json.loads(out.read_text())["findings"]


def test_every_failure_on_the_demo_tree_has_its_own_headline(demo_findings: list[dict]) -> None:
    failing = [f for f in demo_findings if f["status"] == "fail"]
    assert len(failing) > 80
    generic = {f["check_id"]: f["problem"] for f in failing
               if not f["problem"] or f["problem"].startswith("Not met:") or f["problem"] == f["title"]}
    assert not generic
    assert all("{" not in f["problem"] and len(f["problem"]) <= 300 for f in failing)
    passing = [f for f in demo_findings if f["status"] != "fail"]
    assert all(f["problem"] == "" for f in passing)


@pytest.mark.parametrize(("check_id", "headline"), [
    ("accounts.uid0-only-root", "toor has user id 0 besides root"),
    ("accounts.sudo-requires-password",
     "bob may run commands as root without a password (/etc/sudoers.d/deploy line 2)"),
    ("files.shadow-permissions", "/etc/shadow has mode 0644, owner root, group root"),
    ("ssh.root-login",
     "root may log in over SSH with a password (PermitRootLogin yes in /etc/ssh/sshd_config)"),
    ("firewall.default-deny", "No firewall is active and incoming traffic is accepted by default"),
    # per-package vulnerability headlines: tests/test_vulndb_match.py (they need a store)
])
def test_headlines_name_what_was_observed(demo_findings: list[dict], check_id: str, headline: str) -> None:
    (finding,) = [f for f in demo_findings if f["check_id"] == check_id]
    assert finding["problem"] == headline
