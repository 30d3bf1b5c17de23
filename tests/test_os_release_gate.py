"""`applies.os_release`: a check written for one release runs there only, and says so elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hostsys_util import run_checks
from smbaudit.engine import _other_release
from smbaudit.errors import InputFileError
from smbaudit.models import CheckDef, Status
from smbaudit.packs.loader import load_packs
from smbaudit.probes.builtin import builtin_probe_classes
from smbaudit.targets.posixfs import DirectoryTarget

REPO = Path(__file__).resolve().parents[1]
CHECK = "accounts.root-password-set"
RELEASES = {
    "ubuntu2204": 'NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="22.04"\n'
                  'PRETTY_NAME="Ubuntu 22.04.4 LTS"\n',
    "ubuntu2404": 'NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"\n'
                  'PRETTY_NAME="Ubuntu 24.04.1 LTS"\n',
    "debian12": 'NAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\n'
                'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
}


def schemas() -> dict[str, object]:
    return {c.name: c.params_schema for c in builtin_probe_classes()}


@pytest.fixture(scope="module")
def checks() -> list[CheckDef]:
    return [c for c in load_packs([REPO / "checks" / "accounts"], probe_schemas=schemas())
            if c.id == CHECK]


def tree(root: Path, release: str | None, root_password: str) -> DirectoryTarget:
    files = {"etc/passwd": "root:x:0:0:root:/root:/bin/bash\nadmin:x:1000:1000::/home/admin:/bin/bash\n",
             "etc/group": "root:x:0:\nsudo:x:27:admin\nadmin:x:1000:\n",
             "etc/shadow": f"root:{root_password}:19700:0:99999:7:::\nadmin:!:19700:0:99999:7:::\n"}
    if release:
        files["etc/os-release"] = RELEASES[release]
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    os.chmod(root / "etc/shadow", 0o640)
    return DirectoryTarget("dir:test", str(root))


HASH = "$6$rounds=5000$salt$" + "x" * 86


@pytest.mark.parametrize(("root_password", "status"), [(HASH, Status.PASS), ("!", Status.FAIL),
                                                       ("*", Status.FAIL), ("", Status.FAIL)])
def test_on_the_release_it_is_for_the_check_runs(tmp_path: Path, checks: list[CheckDef],
                                                  root_password: str, status: Status) -> None:
    finding = run_checks(tree(tmp_path, "ubuntu2204", root_password), checks)[CHECK]
    assert finding.status is status, finding.reason


@pytest.mark.parametrize(("release", "shown"), [("debian12", "Debian GNU/Linux 12 (bookworm)"),
                                                ("ubuntu2404", "Ubuntu 24.04.1 LTS")])
def test_on_another_release_it_is_not_applicable_and_says_why(
        tmp_path: Path, checks: list[CheckDef], release: str, shown: str) -> None:
    finding = run_checks(tree(tmp_path, release, "!"), checks)[CHECK]
    assert finding.status is Status.NOT_APPLICABLE
    assert finding.reason == f"this check is for Ubuntu 22.04; dir:test is {shown}"


def test_with_no_release_file_it_is_not_assessed_never_a_pass(tmp_path: Path,
                                                               checks: list[CheckDef]) -> None:
    finding = run_checks(tree(tmp_path, None, HASH), checks)[CHECK]
    assert finding.status is Status.SKIPPED
    assert finding.reason.startswith("not assessed:") and "no os-release file" in finding.reason


def test_versions_match_by_whole_components() -> None:
    assert _other_release(("rhel 9",), {"id": "rhel", "version_id": "9.4"}) == ""
    assert _other_release(("rhel 9",), {"id": "rhel", "version_id": "90"}) != ""
    assert _other_release(("debian 12",), {"id": "debian", "version_id": "12"}) == ""
    assert _other_release(("debian 12",), {"id": "debian", "version_id": "1"}) != ""
    assert _other_release(("ubuntu 22.04",), {"id": "ubuntu", "version_id": "22.10"}) != ""
    assert _other_release(("ubuntu",), {"id": "ubuntu", "version_id": "20.04"}) == ""
    assert _other_release(("rocky 9", "almalinux 9"), {"id": "almalinux", "version_id": "9.3"}) == ""


def test_a_malformed_release_is_refused_with_its_place(tmp_path: Path) -> None:
    pack = tmp_path / "p.yaml"
    pack.write_text(open(REPO / "checks/accounts/accounts.yaml").read().replace(
        'os_release: ["ubuntu 22.04"]', 'os_release: ["Ubuntu 22.04 LTS"]'))
    with pytest.raises(InputFileError) as err:
        load_packs([pack], probe_schemas=schemas())
    assert "os_release" in str(err.value) and "p.yaml:" in str(err.value)
