"""Precision and recall of policy-element coverage decisions against a hand-labelled answer key.

Usage (from the repository root):
    python benchmarks/compliance_accuracy.py            # the test policy set and its key
    python benchmarks/compliance_accuracy.py --evidence DIR --key KEY.yaml [-v]

A "positive" is an element the documents state as a practice. Precision = correct "covered"
decisions / all "covered" decisions; recall = correct "covered" decisions / elements the key
says are covered. Elements not listed in the key are labelled not covered. Also prints the
requirement-level agreement of the policy decision (all / some / none of the elements).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from smbaudit import yamlload  # noqa: E402
from smbaudit.compliance.catalog import load_catalogs  # noqa: E402
from smbaudit.compliance.coverage import assess  # noqa: E402


def evaluate(evidence: Path, key_path: Path, verbose: bool = False) -> dict[str, float]:
    catalogs = load_catalogs()
    key = yamlload.load_file(key_path) or {}
    frameworks = sorted(key) or sorted(catalogs)
    results = assess(catalogs, frameworks, [], [evidence], None, dt.date.today())
    tp = fp = fn = tn = 0
    req_total = req_agree = 0
    lines: list[str] = []
    for cov in results:
        fw = cov.catalog.framework
        expected_fw = {str(k): set(v) for k, v in (key.get(fw) or {}).items()}
        for res in cov.requirements:
            if not res.elements:
                continue
            expected = expected_fw.get(res.requirement.id, set())
            got = {m.element.id for m in res.elements if m.covered}
            for m in res.elements:
                want = m.element.id in expected
                if m.covered and want:
                    tp += 1
                elif m.covered:
                    fp += 1
                    lines.append(f"FP {fw} {res.requirement.id} {m.element.id}: "
                                 f"{m.passage.source if m.passage else ''} \"{m.passage.text if m.passage else ''}\"")
                elif want:
                    fn += 1
                    why = "; ".join(f"{p.source}: {w}" for p, w in m.rejected) or "no candidate passage"
                    lines.append(f"FN {fw} {res.requirement.id} {m.element.id}: {why}")
                else:
                    tn += 1
            n = len(res.elements)
            level = lambda s: "all" if len(s) == n else ("some" if s else "none")  # noqa: E731
            req_total += 1
            req_agree += level(got) == level(expected)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    print(f"elements: {tp + fp + fn + tn} (covered in key: {tp + fn})  TP {tp}  FP {fp}  FN {fn}  TN {tn}")
    print(f"precision {precision:.3f}  recall {recall:.3f}")
    print(f"requirement-level agreement (all/some/none of the elements): {req_agree}/{req_total} "
          f"= {req_agree / req_total if req_total else 1:.3f}")
    if verbose:
        print("\n".join(lines))
    return {"precision": precision, "recall": recall, "tp": tp, "fp": fp, "fn": fn, "tn": tn}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--evidence", type=Path, help="folder of policy documents")
    ap.add_argument("--key", type=Path, help="answer key YAML (framework -> requirement -> elements)")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every wrong decision")
    args = ap.parse_args()
    if args.evidence:
        evaluate(args.evidence, args.key, args.verbose)
        return 0
    from compliance_fixtures import ANSWER_KEY, build_policyset

    with tempfile.TemporaryDirectory() as tmp:
        evaluate(build_policyset(Path(tmp) / "policyset"), args.key or ANSWER_KEY, args.verbose)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
