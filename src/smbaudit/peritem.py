"""One finding per item: a check with `each: PATH` (a fact path to a list of objects) that
fails is reported as one finding per element of that list instead of one for the target.

Each element names its finding with these keys (the probe writes them):
  id        appended to the check id: `<check id>/<id>` (history, diffs and waivers follow it)
  problem   the finding's headline
  severity  info/low/medium/high/critical (optional: the check's severity otherwise)
  location  where the problem is (optional)
  evidence  list of {fact, observed, expected, message} (optional)
A passing check, or a failing one whose list is empty, stays one finding.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from smbaudit.evaluate import resolve
from smbaudit.models import CheckDef, Evidence, Finding, Severity, Status
from smbaudit.redact import redact

MAX_ITEMS = 5000


def split(check: CheckDef, finding: Finding, facts: Mapping[str, Any]) -> list[Finding]:
    if not check.each or finding.status is not Status.FAIL:
        return [finding]
    found = resolve(facts, check.each)
    items = found[0][1] if len(found) == 1 else None
    if not isinstance(items, list) or not items:
        return [finding]
    out: list[Finding] = []
    for item in items[:MAX_ITEMS]:
        if not isinstance(item, Mapping) or not item.get("id"):
            return [finding]  # a probe that breaks the item contract keeps the plain finding
        one = dataclasses.replace(finding, check_id=f"{check.id}/{item['id']}")
        one.problem = redact(str(item.get("problem") or finding.problem))
        try:
            one.severity = Severity(item["severity"]) if item.get("severity") else check.severity
        except ValueError:
            one.severity = check.severity
        if item.get("location"):
            one.location = str(item["location"])
        evidence = item.get("evidence")
        if isinstance(evidence, list):
            one.evidence = [Evidence(fact=str(e.get("fact", "")), observed=redact(e.get("observed")),
                                     expected=str(e.get("expected", "")), ok=False,
                                     message=redact(str(e.get("message", ""))))
                            for e in evidence if isinstance(e, Mapping)]
        out.append(one)
    return out
