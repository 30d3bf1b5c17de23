"""The risk score (scoring version 2, see smbaudit.scoring): risk points that add up."""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from smbaudit.models import Finding, Severity, Status, TargetInfo, TargetKind, Waiver
from smbaudit.report import build
from smbaudit.scoring import SCORING_VERSION, Score, finding_risk, grade_for, score

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
LIVE = Waiver("accepted", "cto", "2099-01-01", expired=False)
DEAD = Waiver("accepted", "cto", "2000-01-01", expired=True)


def f(sev: str, status: str = "fail", target: str = "t", net: bool = False, cid: str = "",
      waiver: Waiver | None = None) -> Finding:
    return Finding(check_id=cid or f"c.{sev}.{id(object())}", title="x", description="",
                   category="hardening", severity=Severity(sev), status=Status(status), target=target,
                   network_exposed=net, waiver=waiver)


# -- properties --------------------------------------------------------------------------------

SEVERITIES = [s.value for s in Severity]
finding = st.builds(
    lambda i, sev, status, target, net, waiver: f(sev, status, target, net, f"c{i}", waiver),
    st.integers(0, 10**6), st.sampled_from(SEVERITIES),
    st.sampled_from(["fail", "fail", "fail", "pass", "not_applicable"]),
    st.sampled_from(["a", "b", "c"]), st.booleans(), st.sampled_from([None, None, LIVE, DEAD]))
scans = st.lists(finding, min_size=1, max_size=60,
                 unique_by=lambda x: (x.check_id, x.target)).filter(
    lambda fs: any(x.status is not Status.NOT_APPLICABLE for x in fs))


def _counted(fs: list[Finding]) -> list[int]:
    return [i for i, x in enumerate(fs) if x.status is Status.FAIL and not x.waived
            and x.severity is not Severity.INFO]


def _fixed(fs: list[Finding], i: int) -> list[Finding]:
    """The same scan with finding i fixed (it passes now)."""
    out = [Finding.from_dict(x.to_dict()) for x in fs]
    out[i].status = Status.PASS
    return out


@settings(max_examples=150, deadline=None)
@given(scans, st.data())
def test_fixing_any_failing_finding_lowers_the_score_per_target_and_overall(
        fs: list[Finding], data: st.DataObject) -> None:
    candidates = _counted(fs)
    if not candidates:
        return
    i = data.draw(st.sampled_from(candidates))
    before, after = score(fs), score(_fixed(fs, i))
    assert before.score is not None and after.score is not None
    assert after.score < before.score
    assert after.score == before.score - finding_risk(fs[i])  # it lowers by exactly its points
    was = {t.target: t.score for t in before.per_target}
    now = {t.target: t.score for t in after.per_target}
    target = fs[i].target
    assert now[target] is not None and was[target] is not None and now[target] < was[target]
    assert all(now[t] == was[t] for t in was if t != target)
    assert "ABCDF".index(after.grade) <= "ABCDF".index(before.grade)


@settings(max_examples=100, deadline=None)
@given(scans)
def test_one_critical_failure_puts_its_target_and_the_scan_in_the_worst_band(
        fs: list[Finding]) -> None:
    fs = fs + [f("critical", target="a", cid="the-critical")]
    s = score(fs)
    assert s.grade == "F"
    assert {t.target: t.grade for t in s.per_target}["a"] == "F"


@settings(max_examples=100, deadline=None)
@given(scans)
def test_the_what_if_list_matches_scoring_the_fixed_scan(fs: list[Finding]) -> None:
    s = score(fs)
    by_key = {(x.check_id, x.target): i for i, x in enumerate(fs)}
    for c in s.top_contributors:
        again = score(_fixed(fs, by_key[(c.check_id, c.target)]))
        assert c.score_if_fixed == again.score and c.grade_if_fixed == again.grade
        assert c.target_score_if_fixed == {t.target: t.score for t in again.per_target}[c.target]


@settings(max_examples=100, deadline=None)
@given(scans)
def test_waivers_only_ever_lower_the_score_and_the_json_round_trips(fs: list[Finding]) -> None:
    s = score(fs)
    assert s.score is not None and s.score_without_waivers is not None
    assert s.score <= s.score_without_waivers
    assert s.score == s.breakdown.total
    assert Score.from_dict(s.to_dict()) == s


# -- worked examples (as in the README) ---------------------------------------------------------

def test_clean_scan_scores_zero() -> None:
    s = score([f("high", "pass"), f("critical", "not_applicable")])
    assert (s.score, s.grade, s.top_contributors) == (0.0, "A", [])
    assert s.scoring_version == SCORING_VERSION == "2"


def test_one_critical_is_f_but_nine_score_far_higher() -> None:
    one = score([f("critical")] + [f("low", "pass") for _ in range(500)])
    assert one.score == 40.0 and one.grade == "F"
    nine = score([f("critical") for _ in range(9)])
    assert nine.score == 360.0 and nine.grade == "F"
    # fixing two of the nine shows: 360 -> 280
    assert score([f("critical") for _ in range(7)]).score == 280.0


def test_the_top_of_the_scale_takes_many_serious_problems() -> None:
    # no single finding reaches 100 points (a network-exposed critical is 80)
    assert score([f("critical", net=True)]).score == 80.0
    host = [f("high") for _ in range(5)] + [f("medium") for _ in range(20)] + \
        [f("low") for _ in range(17)]
    s = score(host)
    assert s.score == 127.0 and s.grade == "F"  # 50 + 60 + 17: a host with no critical
    assert s.breakdown.sentence() == ("127 risk points from 42 failing findings: 5 high "
                                      "(50 points), 20 medium (60 points), 17 low (17 points).")


def test_grade_bands() -> None:
    assert [grade_for(x) for x in (0, 4, 5, 14, 15, 24, 25, 39, 40, 1000)] == \
        ["A", "A", "B", "B", "C", "C", "D", "D", "F", "F"]
    assert score([f("high")]).grade == "B"
    assert score([f("high", net=True)]).score == 20.0  # doubled on the network
    assert score([f("high"), f("high"), f("high")]).grade == "D"
    assert score([f("high") for _ in range(4)]).grade == "F"


def test_overall_is_the_sum_over_targets_and_each_target_has_its_own() -> None:
    s = score([f("medium", target="a"), f("high", target="b")])
    assert s.score == 13.0 and s.grade == "B"
    assert [(t.target, t.score, t.grade) for t in s.per_target] == [("b", 10.0, "B"),
                                                                     ("a", 3.0, "A")]


@settings(max_examples=100, deadline=None)
@given(scans)
def test_the_overall_grade_is_the_worst_targets_and_the_score_the_sum(fs: list[Finding]) -> None:
    s = score(fs)
    assert s.score == sum(t.score or 0.0 for t in s.per_target)
    if s.graded:
        assert s.grade == max((t.grade for t in s.per_target if t.assessed), key="ABCDF".index)


def test_a_fleet_of_b_hosts_is_b_not_f() -> None:
    ten = score([f("low", target=f"h{i}") for i in range(10) for _ in range(5)])
    assert ten.score == 50.0 and ten.grade == "B"  # each host 5 points (B); the sum is 50
    assert {t.grade for t in ten.per_target} == {"B"}
    assert ten.drivers()[1] == (
        "Grade B: the worst grade among the 10 targets (10 of them B, 5 to 14 risk points); "
        "the overall score adds up the targets' points, the grade does not.")
    assert "overall: the worst target's grade" in ten.scale
    fleet = score([f("low", target=f"h{i:03}") for i in range(100)])
    assert fleet.score == 100.0 and fleet.grade == "A"
    # one host in F makes the scan F, and fixing its critical shows in the grade
    one_bad = score([f("low", target="a"), f("critical", target="b", cid="c1"),
                     f("high", target="b", cid="h1"), f("high", target="c", cid="h2")])
    assert (one_bad.score, one_bad.grade) == (61.0, "F")
    assert one_bad.drivers()[1].startswith("Grade F: the worst grade among the 3 targets (1 of them F, ")
    assert [(c.check_id, c.grade_if_fixed) for c in one_bad.top_contributors][:3] == \
        [("c1", "B"), ("h1", "F"), ("h2", "F")]
    assert one_bad.fixes()[-1] == "Fixing all 3 critical and high problems would bring it to 1 (A)."
    single = score([f("low") for _ in range(5)])
    assert single.drivers()[1] == "Grade B: 5 to 14 risk points." and single.scale == \
        "A <5 · B <15 · C <25 · D <40 · F 40+ (one critical is 40)"


def test_what_fixing_each_top_contributor_changes() -> None:
    s = score([f("critical", cid="c1"), f("high", cid="h1"), f("low", cid="l1")])
    assert s.score == 51.0
    assert [(c.check_id, c.score_if_fixed, c.grade_if_fixed) for c in s.top_contributors] == \
        [("c1", 11.0, "B"), ("h1", 41.0, "F"), ("l1", 50.0, "F")]
    assert s.fixes()[0] == 'Fixing "x" on t would bring the score from 51 to 11 (B).'
    assert s.drivers()[1] == "Grade F: 40 risk points or more: one critical problem alone is 40."
    assert s.serious_fixed() == (2, 1.0)
    assert s.fixes()[-1] == "Fixing all 2 critical and high problems would bring it to 1 (A)."


def test_the_breakdown_reads_as_plain_words() -> None:
    s = score([f("low"), f("high", net=True), f("medium", waiver=LIVE)])
    assert s.breakdown.sentence() == (
        "21 risk points from 2 failing findings: 1 high (20 points), 1 low (1 point); 1 of "
        "them is reachable over the network and counts double (+10 points); 1 accepted risk "
        "(waived) left out (3 points).")


def test_live_waiver_leaves_the_score_expired_does_not() -> None:
    s = score([f("critical", waiver=LIVE)])
    assert s.score == 0.0 and s.score_without_waivers == 40.0
    assert "1 accepted risk (waived) left out (40 points)" in s.breakdown.sentence()
    assert score([f("critical", waiver=DEAD)]).score == 40.0


def test_errors_are_not_scored_but_gate_the_grade() -> None:
    s = score([f("high", "error"), f("high", "pass")])
    assert s.score == 0.0 and s.grade == "Incomplete" and s.gates
    assert score([f("high", "error")] + [f("low", "pass")] * 9).grade == "A"
    # with a gate, the what-if list gives the score but no letter
    gated = score([f("high"), f("low", "error")])
    assert gated.grade == "Incomplete" and gated.top_contributors[0].grade_if_fixed is None


def test_not_assessed_and_interrupted_have_no_score() -> None:
    down = TargetInfo("127.0.0.1:9", TargetKind.SERVICE, reachable=False, error="refused")
    s = score([], [down])
    assert (s.score, s.grade) == (None, "Not assessed")
    part = score([f("high")], complete=False)
    assert (part.score, part.grade) == (None, "Incomplete")
    assert part.top_contributors[0].score_if_fixed is None and part.fixes() == []


def test_scoring_leaves_findings_alone_the_report_sets_their_risk() -> None:
    findings = [f("medium"), f("medium", "pass"), f("low", net=True)]
    score(findings)
    assert [x.risk for x in findings] == [0.0, 0.0, 0.0]  # score() changes no finding
    build(scan_id="0" * 32, started_at=T0, finished_at=T0, complete=True,
          targets=[TargetInfo("t", TargetKind.HOST)], findings=findings)
    assert [x.risk for x in findings] == [3.0, 0.0, 2.0]
