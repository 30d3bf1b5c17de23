"""Operators and conditions."""

from __future__ import annotations

from typing import Any

import pytest

from smbaudit.evaluate import EvaluationError, compare_versions, eval_assertion, eval_condition
from smbaudit.models import Assertion, Condition


def a(fact: str, op: str, value: Any = None, **kw: Any) -> Assertion:
    if "default" in kw:
        kw["has_default"] = True
    return Assertion(fact=fact, op=op, value=value, **kw)


FACTS = {
    "exists": True,
    "mode": "0640",
    "owner": "root",
    "settings": {"permitrootlogin": "No", "maxauthtries": "6", "ciphers": ["aes256-gcm", "3des-cbc"]},
    "files": [{"path": "/etc/a", "mode": "0644"}, {"path": "/etc/b", "mode": "0666"}],
    "empty_list": [],
    "version": "1:9.2p1-2+deb12u2",
}


@pytest.mark.parametrize("assertion, expected", [
    (a("exists", "is_true"), True),
    (a("exists", "is_false"), False),
    (a("owner", "equals", "ROOT"), True),  # words compare case-insensitively
    (a("owner", "not_equals", "root"), False),
    (a("settings.permitrootlogin", "in", ["no", "prohibit-password"]), True),
    (a("settings.permitrootlogin", "not_in", ["yes"]), True),
    (a("settings.maxauthtries", "le", 4), False),
    (a("settings.maxauthtries", "gt", 4), True),
    (a("settings.maxauthtries", "ge", 6), True),
    (a("settings.maxauthtries", "lt", 6), False),
    (a("settings.ciphers", "contains", "3des-cbc"), True),
    (a("settings.ciphers", "not_contains", "3des-cbc"), False),
    (a("settings.ciphers", "matches", "cbc$"), True),
    (a("settings.ciphers", "not_matches", "cbc$"), False),
    (a("mode", "mode_at_most", "0640"), True),
    (a("mode", "mode_at_most", "0600"), False),
    (a("mode", "mode_at_most", "0644"), True),
    (a("empty_list", "empty"), True),
    (a("files", "not_empty"), True),
    (a("version", "version_lt", "1:9.2p1-2+deb12u3", scheme="deb"), True),
    (a("version", "version_ge", "1:9.2p1-2+deb12u3", scheme="deb"), False),
    (a("settings.missing", "exists"), False),
    (a("settings.missing", "absent"), True),
    (a("settings.missing", "equals", "x"), False),  # a missing fact fails a positive test
    (a("settings.missing", "equals", "no", default="no"), True),  # unless a default applies
    (a("settings.missing", "not_in", ["yes"]), True),
    (a("settings.missing", "empty"), True),
    (a("settings.missing", "not_empty"), False),
])
def test_operators(assertion: Assertion, expected: bool) -> None:
    assert eval_assertion(assertion, FACTS).passed is expected


def test_wildcard_all_lists_offenders_by_path() -> None:
    out = eval_assertion(a("files.*.mode", "mode_at_most", "0644"), FACTS)
    assert not out.passed
    assert len(out.evidence) == 1
    assert out.evidence[0].fact == "files[1].mode" and out.evidence[0].observed == "0666"
    assert "/etc/b" in out.evidence[0].message


def test_wildcard_quantifiers() -> None:
    assert eval_assertion(a("files.*.mode", "equals", "0666", quantifier="any"), FACTS).passed
    assert not eval_assertion(a("files.*.mode", "equals", "0666", quantifier="none"), FACTS).passed
    assert eval_assertion(a("empty_list.*.x", "equals", 1), FACTS).passed  # vacuous truth
    assert not eval_assertion(a("empty_list.*.x", "equals", 1, quantifier="any"), FACTS).passed


def test_conditions_nest() -> None:
    cond = Condition("all", (a("exists", "is_true"),
                             Condition("any", (a("owner", "equals", "bob"), a("mode", "equals", "0640")))))
    assert eval_condition(cond, FACTS).passed
    cond = Condition("none", (a("owner", "equals", "root"),))
    out = eval_condition(cond, FACTS)
    assert not out.passed and out.evidence[0].expected.startswith("not (")


def test_failure_evidence_shows_observed_and_expected() -> None:
    out = eval_condition(Condition("all", (a("settings.maxauthtries", "le", 4),)), FACTS)
    e = out.evidence[0]
    assert (e.fact, e.observed, e.expected, e.ok) == ("settings.maxauthtries", "6", "<= 4", False)


def test_type_mismatch_is_an_evaluation_error() -> None:
    with pytest.raises(EvaluationError):
        eval_assertion(a("owner", "lt", 3), FACTS)


@pytest.mark.parametrize("x, y, scheme, expected", [
    ("1:1.0", "2.0", "deb", 1),  # epoch wins
    ("1.0~rc1", "1.0", "deb", -1),  # tilde sorts before release
    ("2.36-9+deb12u4", "2.36-9+deb12u10", "deb", -1),
    ("1.2.3-1.el9", "1.2.3-1.el9", "rpm", 0),
    ("1.0~rc1", "1.0", "rpm", -1),
    ("1:1.0-1", "2.0-1", "rpm", 1),  # rpm epochs win too
    ("3.0.7", "3.0.13", "rpm", -1),
    ("8.9p1", "9.0p1", "generic", -1),
    ("1.1.1w", "1.1.1k", "generic", 1),
])
def test_version_ordering(x: str, y: str, scheme: str, expected: int) -> None:
    assert compare_versions(x, y, scheme) == expected
