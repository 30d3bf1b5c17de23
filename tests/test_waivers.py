"""Waivers: loading with file:line errors, matching, expiry on a fixed clock, the score overlay."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from smbaudit import waivers
from smbaudit.errors import InputFileError
from smbaudit.models import Finding, Severity, Status
from smbaudit.report import summarize

GOOD = """\
waivers:
  - check: files.shadow-permissions
    target: "dir:/srv/images/*"
    justification: Build image; permissions are fixed at deployment
    approved_by: Jane Doe (CISO)
    expires: 2026-06-30
  - check: ssh.permit-root-login
    target: "*"
    justification: Break-glass access
    approved_by: Jane Doe (CISO)
    expires: "2026-01-31"
  - check: nothing.matches-this
    target: "*"
    justification: Stale entry
    approved_by: Someone
    expires: 2030-01-01
"""


def fixed(day: str) -> waivers.Clock:
    return lambda: dt.date.fromisoformat(day)


def finding(check: str, target: str, status: Status = Status.FAIL,
            severity: Severity = Severity.HIGH) -> Finding:
    return Finding(check_id=check, title=check, description="", category="access_control",
                   severity=severity, status=status, target=target)


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "waivers.yaml"
    p.write_text(text)
    return p


def test_glob_matching_and_unmatched_reported(tmp_path: Path) -> None:
    ws = waivers.load([write(tmp_path, GOOD)])
    # Given failing findings on two image trees and one other tree, and one passing finding
    a = finding("files.shadow-permissions", "dir:/srv/images/web")
    b = finding("files.shadow-permissions", "dir:/srv/images/db")
    other = finding("files.shadow-permissions", "dir:/srv/other")
    ssh = finding("ssh.permit-root-login", "local", status=Status.PASS)
    # When waivers are applied on a day when both are live
    out = waivers.apply([a, b, other, ssh], ws, fixed("2026-01-15"))
    # Then the glob picks the image trees only, and the status is never changed
    assert a.waiver and b.waiver and a.status is Status.FAIL
    assert other.waiver is None
    assert ssh.waiver is None  # a passing finding carries no waiver
    assert a.waiver.to_dict() == {"justification": "Build image; permissions are fixed at deployment",
                                  "approved_by": "Jane Doe (CISO)", "expires": "2026-06-30",
                                  "expired": False}
    assert out.live == 2 and out.expired == 0
    # The ssh waiver matched only a passing finding and the last one nothing: both unmatched
    assert [u.check for u in out.unmatched] == ["ssh.permit-root-login", "nothing.matches-this"]
    assert out.unmatched[1].source.endswith("waivers.yaml:12")


def test_expiry_on_a_fixed_clock(tmp_path: Path) -> None:
    ws = waivers.load([write(tmp_path, GOOD)])
    for day, expired in [("2026-06-30", False), ("2026-07-01", True)]:
        f = finding("files.shadow-permissions", "dir:/srv/images/web")
        waivers.apply([f], ws, fixed(day))
        # The waiver holds through its expiry date and lapses the day after
        assert f.waiver is not None and f.waiver.expired is expired, day


def test_live_waiver_leaves_score_expired_one_counts_again(tmp_path: Path) -> None:
    ws = waivers.load([write(tmp_path, GOOD)])
    live = [finding("files.shadow-permissions", "dir:/srv/images/web")]
    waivers.apply(live, ws, fixed("2026-03-01"))
    s = summarize(live).score
    assert s.score == 0.0 and s.score_without_waivers == 10.0
    assert live[0].status is Status.FAIL  # still failing, still listed
    lapsed = [finding("files.shadow-permissions", "dir:/srv/images/web")]
    waivers.apply(lapsed, ws, fixed("2026-07-01"))
    s = summarize(lapsed).score
    assert lapsed[0].waiver and lapsed[0].waiver.expired
    assert s.score == 10.0 and s.score_without_waivers == 10.0


def test_live_waiver_preferred_over_expired_one(tmp_path: Path) -> None:
    text = GOOD + """\
  - check: files.shadow-permissions
    target: "dir:/srv/images/web"
    justification: Renewed
    approved_by: Jane Doe (CISO)
    expires: 2027-12-31
"""
    ws = waivers.load([write(tmp_path, text)])
    f = finding("files.shadow-permissions", "dir:/srv/images/web")
    waivers.apply([f], ws, fixed("2026-08-01"))
    assert f.waiver and f.waiver.justification == "Renewed" and not f.waiver.expired


@pytest.mark.parametrize(("text", "line", "field", "words"), [
    ("waivers:\n  - check: a.b\n    target: '*'\n    justification: j\n    approved_by: x\n"
     "    expires: 31/12/2026\n", 6, "waivers[0].expires", "not a date"),
    ("waivers:\n  - check: a.b\n    target: '*'\n    approved_by: x\n    expires: 2026-01-01\n",
     2, "waivers[0].justification", "missing required key"),
    ("waivers:\n  - check: a.b\n    target: '*'\n    justification: ''\n    approved_by: x\n"
     "    expires: 2026-01-01\n", 4, "waivers[0].justification", "must not be empty"),
    ("waivers:\n  - check: a.b\n    target: '*'\n    justification: j\n    approved_by: x\n"
     "    expires: 2026-01-01\n    owner: me\n", 7, "waivers[0].owner", "unknown key"),
    ("waivers:\n  - just a string\n", 2, "waivers[0]", "must be a mapping"),
    ("waivers: {}\n", 1, "waivers", "must be a list"),
    ("- check: a.b\n", 1, "waivers", "a `waivers:` list"),
    ("waivers:\n  - check: a.b\n    target: '*'\n    justification: j\n    approved_by: x\n"
     "    expires: 2026-01-01\n  - check: a.b\n    target: '*'\n    justification: k\n"
     "    approved_by: y\n    expires: 2027-01-01\n", 7, "waivers[1]", "duplicate waiver"),
    ("waivers:\n  - check: a.b\n    check: c.d\n", 3, "", "duplicate key"),
])
def test_malformed_entries_name_file_and_line(tmp_path: Path, text: str, line: int, field: str,
                                              words: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(InputFileError) as exc:
        waivers.load([p])
    errors = exc.value.errors
    assert any(e.path == str(p) and e.line == line and e.field == field and words in e.message
               for e in errors), [str(e) for e in errors]


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    text = ("waivers:\n  - check: a.b\n    target: '*'\n    approved_by: x\n    expires: never\n"
            "  - check: c.d\n")
    with pytest.raises(InputFileError) as exc:
        waivers.load([write(tmp_path, text)])
    fields = {e.field for e in exc.value.errors}
    assert {"waivers[0].justification", "waivers[0].expires", "waivers[1].target",
            "waivers[1].expires"} <= fields
