"""Ablation: remove a whole policy from a set and the requirements it carried must drop to not
met or partial (never stay met on passing mentions elsewhere).

Runs on the hand-written policy set and on the development part of the published policy sets
(<repo>/../shared/corpora; skipped only when that folder is absent). The test part is never
run here: its figures are quoted from the benchmark's first run (docs/compliance.md).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from compliance_fixtures import build_policyset
from smbaudit.compliance.catalog import load_catalogs
from smbaudit.compliance.coverage import assess
from smbaudit.compliance.model import Status

REPO = Path(__file__).resolve().parents[1]
# <repo>/../shared; a git worktree (<checkout>/../wt/<name>) reaches the same folder one up
CORPORA = next((d / "shared" / "corpora" for d in (REPO.parent, REPO.parent.parent)
                if (d / "shared" / "corpora").is_dir()), REPO.parent / "shared" / "corpora")
DROPPED = (Status.NOT_MET, Status.PARTIAL, Status.NOT_ASSESSED)


@pytest.fixture(scope="module")
def catalogs():
    return load_catalogs()


def statuses(catalogs, folder: Path, framework: str) -> dict[str, Status]:
    cov = assess(catalogs, [framework], [], [folder], None, dt.date.today())[0]
    return {r.requirement.id: r.status for r in cov.requirements}


def without(src: Path, dest: Path, removed: tuple[str, ...]) -> Path:
    shutil.copytree(src, dest)
    for name in removed:
        (dest / name).unlink()
    return dest


def _corpus(name: str) -> Path:
    folder = CORPORA / name
    if not folder.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{folder} is missing")
        pytest.skip(f"{folder} is absent")
    return folder


def check_drop(catalogs, full: Path, ablated: Path, framework: str, carried: list[str]) -> None:
    before = statuses(catalogs, full, framework)
    after = statuses(catalogs, ablated, framework)
    for req in carried:
        assert before[req] is Status.MET, (req, before[req])
        assert after[req] in DROPPED, (req, after[req])


def test_removing_the_incident_plan_drops_breach_and_recovery_duties(catalogs, tmp_path: Path) -> None:
    full = build_policyset(tmp_path / "full")
    ablated = without(full, tmp_path / "ablated", ("contingency-and-incident-plan.txt",))
    check_drop(catalogs, full, ablated, "hipaa", ["164.308(a)(7)(ii)(B)", "164.404"])
    check_drop(catalogs, full, ablated, "gdpr", ["Art. 33(5)", "Art. 34(1)"])


@pytest.mark.parametrize("removed, carried", [
    # the disaster recovery, business continuity and availability policies
    (("themes__comply-soc2__policies__disaster.md", "themes__comply-soc2__policies__continuity.md",
      "themes__comply-soc2__policies__availability.md"),
     ["164.308(a)(7)(ii)(B)", "164.308(a)(7)(ii)(C)", "164.308(a)(7)(ii)(D)"]),
    # the security incident response policy
    (("themes__comply-soc2__policies__incident.md",),
     ["164.308(a)(6)(i)", "164.308(a)(6)(ii)"]),
])
def test_published_security_set_loses_what_a_removed_policy_carried(
        catalogs, tmp_path: Path, removed: tuple[str, ...], carried: list[str]) -> None:
    full = _corpus("security/strongdm-comply-soc2")
    check_drop(catalogs, full, without(full, tmp_path / "ablated", removed), "hipaa", carried)


def test_published_privacy_set_loses_the_rights_with_its_rights_section(
        catalogs, tmp_path: Path) -> None:
    full = _corpus("privacy/basecamp")
    ablated = without(full, tmp_path / "ablated", ("privacy__index.md",))
    check_drop(catalogs, full, ablated, "gdpr",
               ["Art. 15", "Art. 16", "Art. 17", "Art. 18", "Art. 20", "Art. 21"])
    check_drop(catalogs, full, ablated, "ccpa", ["1798.105", "1798.106", "1798.110"])
