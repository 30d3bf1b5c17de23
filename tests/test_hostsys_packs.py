"""The host-system packs on the two demo trees: every planted problem is found, nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from hostsys_util import hostsys_checks, run_checks
from smbaudit import demotree
from smbaudit.models import Status
from smbaudit.targets.posixfs import DirectoryTarget


@pytest.fixture(scope="module")
def checks():
    return hostsys_checks()


@pytest.fixture(scope="module")
def bad_tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("bad")
    return root, demotree.build(root, hardened=False)


@pytest.fixture(scope="module")
def good_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("good")
    demotree.build(root, hardened=True)
    return root


def test_every_hostsys_check_is_planted_on_the_bad_tree(checks, bad_tree) -> None:
    root, expected = bad_tree
    ids = {c.id for c in checks}
    missing = sorted(ids - set(expected))
    # Live-only checks cannot fail offline; everything else must be exercised.
    from hostsys_util import probes
    live_only = {c.id for c in checks if probes()[c.probe].live_only}
    # Checks judged against the vulnerability store are planted in test_vulndb_match.py
    # (the demo tree has no store).
    store_checks = {c.id for c in checks if c.probe in ("package_vulns", "vulndb_status")}
    # Checks for one release (the demo trees are Debian 12) are planted in test_os_release_gate.py.
    other_release = {c.id for c in checks if c.applies and c.applies.os_release}
    assert [m for m in missing if m not in live_only | store_checks | other_release] == []


def test_bad_tree_fails_exactly_the_expected_checks(checks, bad_tree) -> None:
    root, expected = bad_tree
    results = run_checks(DirectoryTarget("dir:bad", str(root)), checks)
    errors = {k: f.reason for k, f in results.items() if f.status is Status.ERROR}
    assert errors == {}
    failed = {k for k, f in results.items() if f.status is Status.FAIL}
    mine = {c.id for c in checks}
    assert sorted(set(expected) & mine - failed) == []
    assert sorted(failed - set(expected)) == []


def test_hardened_tree_has_no_failures(checks, good_tree) -> None:
    results = run_checks(DirectoryTarget("dir:good", str(good_tree)), checks)
    bad = {k: (f.status, f.reason, [e.to_dict() for e in f.evidence])
           for k, f in results.items() if f.status in (Status.FAIL, Status.ERROR)}
    assert bad == {}
    # Offline, only live-only checks may be not applicable: the rest are really evaluated.
    from hostsys_util import probes
    live_only = {c.id for c in checks if probes()[c.probe].live_only}
    other_release = {c.id for c in checks if c.applies and c.applies.os_release}
    not_applicable = {k for k, f in results.items() if f.status is Status.NOT_APPLICABLE}
    assert sorted(not_applicable - live_only - other_release) == []


def test_every_check_is_documented(checks) -> None:
    allowed = {"hipaa", "gdpr", "ccpa"}
    for c in checks:
        assert c.rationale and c.remediation and c.references, c.id
        assert c.compliance and set(c.compliance) <= allowed, c.id
