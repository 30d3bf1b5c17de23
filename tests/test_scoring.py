"""The risk score formula (see smbaudit.scoring)."""

from __future__ import annotations

from smbaudit.models import Finding, Severity, Status, Waiver
from smbaudit.scoring import score


def f(sev: str, status: str = "fail", target: str = "t", net: bool = False, cid: str = "",
      waiver: Waiver | None = None) -> Finding:
    return Finding(check_id=cid or f"c.{sev}.{id(object())}", title="x", description="",
                   category="hardening", severity=Severity(sev), status=Status(status), target=target,
                   network_exposed=net, waiver=waiver)


def test_clean_scan_scores_zero() -> None:
    s = score([f("high", "pass"), f("critical", "not_applicable")])
    assert (s.score, s.grade, s.top_contributors) == (0.0, "A", [])


def test_one_critical_cannot_be_averaged_away() -> None:
    findings = [f("critical")] + [f("low", "pass") for _ in range(500)]
    s = score(findings)
    assert s.score == 100.0 and s.grade == "F"
    assert s.top_contributors[0].severity is Severity.CRITICAL


def test_one_high_lands_in_d_and_network_weighs_more() -> None:
    assert score([f("high")]).score == 70.0 and score([f("high")]).grade == "D"
    s = score([f("high", net=True)])
    assert s.score == 100.0 and s.network_weighted == 1  # 7 x 1.5 capped at 10


def test_worked_example_from_the_docs() -> None:
    # high 7, medium 4, two lows: 7 + 3 x (6/100) = 7.18 -> 71.8
    s = score([f("high"), f("medium"), f("low"), f("low")])
    assert s.score == 71.8 and s.grade == "D"
    # fixing the high: 4 + 6 x (2/100) = 4.12 -> 41.2, C
    assert score([f("medium"), f("low"), f("low")]).score == 41.2


def test_worst_target_sets_the_score() -> None:
    s = score([f("medium", target="a"), f("high", target="b")])
    assert s.score == 70.0
    assert [t.target for t in s.per_target] == ["b", "a"]


def test_many_small_findings_add_up() -> None:
    assert score([f("medium") for _ in range(30)]).score == 100.0
    assert score([f("low") for _ in range(3)]).score < score([f("low") for _ in range(30)]).score


def test_live_waiver_leaves_the_score_expired_does_not() -> None:
    live = Waiver("accepted", "cto", "2099-01-01", expired=False)
    dead = Waiver("accepted", "cto", "2000-01-01", expired=True)
    s = score([f("critical", waiver=live)])
    assert s.score == 0.0 and s.score_without_waivers == 100.0
    assert score([f("critical", waiver=dead)]).score == 100.0


def test_errors_are_not_scored_but_gate_the_grade() -> None:
    s = score([f("high", "error"), f("high", "pass")])
    assert s.score == 0.0 and s.grade == "Incomplete" and s.gates
    assert score([f("high", "error")] + [f("low", "pass")] * 9).grade == "A"


def test_risk_is_set_on_each_finding() -> None:
    findings = [f("medium"), f("medium", "pass")]
    score(findings)
    assert [x.risk for x in findings] == [4.0, 0.0]
