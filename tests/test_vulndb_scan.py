"""What a scan says about its vulnerability data: missing (once, checks not assessed, the rest
runs), older than 7 days (warned once), older than 30 days (a finding); the report states the
data's date."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from smbaudit.cli import cli
from vulndb_util import deb, debian_tree, dpkg_para, store_with


def scan(tmp_path: Path, db: Path) -> tuple[int, str, dict]:
    root = debian_tree(tmp_path / "root", dpkg_para("openssl", "1.1.1n-0+deb10u3"))
    out = tmp_path / "r.json"
    result = CliRunner().invoke(cli, ["scan", f"dir:{root}", "--select", "patching", "-f", "json",
                                      "-o", str(out), "--no-history", "--vulndb", str(db)])
    return result.exit_code, result.output, json.loads(out.read_text())


def aged(days: int) -> str:
    when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)
    return when.replace(microsecond=0).isoformat()


@pytest.mark.parametrize("days, warned, stale", [(2, False, False), (10, True, False), (40, True, True)])
def test_data_age_is_warned_after_7_days_and_a_finding_after_30(tmp_path: Path, days: int,
                                                                warned: bool, stale: bool) -> None:
    db = store_with(tmp_path / "v.sqlite", [deb("openssl", "CVE-2023-0286", "1.1.1n-0+deb10u4")],
                    fetched_at=(stamp := aged(days)))
    code, err, report = scan(tmp_path, db)
    assert report["vulndb"]["data_date"][:10] == stamp[:10] and report["vulndb"]["age_days"] == days
    said = [line for line in err.splitlines() if line.startswith("smbaudit: vulnerability data")]
    if warned:
        limit = 30 if stale else 7
        assert said == [f"smbaudit: vulnerability data of {stamp[:10]} ({days} days old): "
                        f"older than {limit} days, run `smbaudit vulndb update`"]
    else:
        assert said == []
    status = {f["check_id"]: f["status"] for f in report["findings"]}
    assert status["patching.vulnerability-data-current"] == ("fail" if stale else "pass")
    assert status["patching.vulnerable-packages/openssl"] == "fail"
    assert code == 1


def test_without_a_store_the_scan_says_so_once_and_runs_the_rest(tmp_path: Path) -> None:
    code, err, report = scan(tmp_path, tmp_path / "none.sqlite")
    said = [line for line in err.splitlines() if line.startswith("smbaudit: ")]
    assert len(said) == 1 and said[0].startswith("smbaudit: no vulnerability data")
    status = {f["check_id"]: f["status"] for f in report["findings"]}
    assert status["patching.vulnerable-packages"] == "skipped"
    assert report["vulndb"]["present"] is False
    assert code in (0, 1, 3) and any(s in ("pass", "fail") for s in status.values())
