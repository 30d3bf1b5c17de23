"""Precision and recall of smbaudit's policy-document judge against labelled answer keys.

Usage (from the repository root):
    python benchmarks/compliance_accuracy.py                 # published policy sets, development part
    python benchmarks/compliance_accuracy.py --part test     # the test part (quote its first run)
    python benchmarks/compliance_accuracy.py --part holdout  # sets labelled after the design froze
    python benchmarks/compliance_accuracy.py --part all -v   # both, listing every wrong decision
    python benchmarks/compliance_accuracy.py --fixtures      # the hand-written in-repo sets
    python benchmarks/compliance_accuracy.py --evidence DIR --key KEY.yaml [-v]

The published sets are read from <repo>/../shared/corpora; their split (by organisation) is
tests/data/compliance/corpora/split.yaml and their labels are anchors under .../labels/ (see
compliance_labels.py). Per framework and part it prints, for smbaudit's judge and beside it a
naive keyword matcher (an element counts when one passage holds a phrasing of every group of
the catalog's `match`, with none of the judge's rules):
- elements: a decision per policy element; strict counts only fully stated elements as
  positives, graded counts partly stated ones too;
- requirements, strict: a requirement counts as covered only when all its elements are (the
  judge's "met" against the labels' "full");
- requirements, graded: covered when some element is (the judge's met or partial against the
  labels' full or partial), so "partial" on a mixed requirement is right.
The judge's partly stated elements (a required part missing, see the catalog's `parts`) count
as covered in graded measures and as not covered in strict ones, like the labels' "partial".
A decision below the confidence threshold ("needs review") counts as not covered.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from smbaudit import yamlload  # noqa: E402
from smbaudit.compliance.catalog import load_catalogs  # noqa: E402
from smbaudit.compliance import documents, matcher  # noqa: E402
from smbaudit.compliance.coverage import assess  # noqa: E402
from smbaudit.compliance.model import EvidenceKind, Passage, PolicyElement  # noqa: E402


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
            got = {m.element.id for m in res.elements if m.counts}
            for m in res.elements:
                want = m.element.id in expected
                if m.counts and want:
                    tp += 1
                elif m.counts:
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


def keyword_decision(element: PolicyElement, passages: list[Passage]) -> bool:
    """The naive matcher: the catalog's own phrasings, every group in one passage, and nothing
    else (no statement, negation, passing-mention, look-alike, number or section rules)."""
    return any(all(matcher._find_group(g, matcher._Tokens.of(p.text).words) for g in element.groups)
               for p in passages)


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, predicted: bool, truth: bool) -> None:
        if predicted and truth:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif truth:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def __str__(self) -> str:
        return (f"P {self.precision:.2f} R {self.recall:.2f} "
                f"(tp {self.tp} fp {self.fp} fn {self.fn} tn {self.tn})")


MEASURES = ("elements strict", "elements graded", "requirements strict", "requirements graded")


def corpora_scores(part: str, verbose: bool = False) -> dict[tuple[str, str, str], Tally]:
    """(framework, judge|keyword, measure) -> tally over the labelled sets of the part."""
    from compliance_labels import CORPORA, load_all

    catalogs = load_catalogs()
    tallies: dict[tuple[str, str, str], Tally] = {}
    for labels in load_all():
        if labels.part != part:
            continue
        folder = CORPORA / labels.folder
        if labels.files:  # a hold-out labelled on some files only: judge those files alone
            tmp = Path(tempfile.mkdtemp(prefix="holdout-"))
            for name in labels.files:
                shutil.copy(folder / name, tmp / name)
            folder = tmp
        results = assess(catalogs, list(labels.frameworks), [], [folder], None, dt.date.today())
        paths = documents.find_documents([folder])
        passages, _ = documents.load_passages(paths, folder)
        if labels.files:
            shutil.rmtree(folder)
        for cov in results:
            fw = cov.catalog.framework
            for res in cov.requirements:
                spec = res.requirement.spec(EvidenceKind.POLICY)
                if not spec:
                    continue
                ids = [e.id for e in spec.elements]
                # strict: the judge's fully stated elements; graded: partly stated ones too
                judged = {m.element.id: m.full for m in res.elements}
                judged_any = {m.element.id: m.counts for m in res.elements}
                keyword = {e.id: keyword_decision(e, passages) for e in spec.elements}
                truth = {e: labels.labels.get((fw, res.requirement.id, e)) for e in ids}
                for name, got, got_any in (("judge", judged, judged_any),
                                           ("keyword", keyword, keyword)):
                    t = lambda m: tallies.setdefault((fw, name, m), Tally())  # noqa: E731
                    for e in ids:
                        lab = truth[e]
                        t("elements strict").add(got[e], lab is not None and lab.status == "full")
                        t("elements graded").add(got_any[e], lab is not None)
                        full = lab is not None and lab.status == "full"
                        if verbose and name == "judge" and (got_any[e] != (lab is not None)
                                                            or got[e] != full):
                            m = next(x for x in res.elements if x.element.id == e)
                            where = (f"{m.passage.source} \"{m.passage.text[:160]}\"" if m.passage
                                     else "; ".join(f"{p.source}: {w}" for p, w in m.rejected[:2])
                                     or "no candidate passage")
                            kind = ("FP" if got_any[e] else "FN") + (
                                " (label: partly stated)" if lab is not None and not full else
                                "") + (" (judge: partly stated)" if got_any[e] and not got[e]
                                       else "")
                            print(f"  {kind} {labels.folder} {fw} "
                                  f"{res.requirement.id} {e}: {where}")
                    level = labels.requirement_level(fw, res.requirement.id, ids)
                    t("requirements strict").add(all(got.values()), level == "full")
                    t("requirements graded").add(any(got_any.values()), level != "none")
    return tallies


def print_corpora(parts: list[str], verbose: bool) -> None:
    for part in parts:
        tallies = corpora_scores(part, verbose)
        print(f"\n== {part} part ==")
        for fw in sorted({k[0] for k in tallies}):
            print(f"{fw.upper()}")
            for measure in MEASURES:
                judge, kw = tallies[(fw, "judge", measure)], tallies[(fw, "keyword", measure)]
                print(f"  {measure:<20} judge {judge}   keyword {kw}   "
                      f"precision judge-keyword {judge.precision - kw.precision:+.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--evidence", type=Path, help="folder of policy documents")
    ap.add_argument("--key", type=Path, help="answer key YAML (framework -> requirement -> elements)")
    ap.add_argument("--part", choices=("dev", "test", "holdout", "all"), default="dev",
                    help="which part of the published sets to measure (default: dev; holdout: "
                         "sets labelled after the design was frozen)")
    ap.add_argument("--fixtures", action="store_true", help="the hand-written in-repo policy set")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every wrong decision")
    args = ap.parse_args()
    if args.evidence:
        evaluate(args.evidence, args.key, args.verbose)
        return 0
    if not args.fixtures:
        from compliance_labels import CORPORA

        if not CORPORA.is_dir():
            print(f"{CORPORA} is absent: the published policy sets are needed", file=sys.stderr)
            return 2
        t0 = time.monotonic()
        print_corpora(["dev", "test", "holdout"] if args.part == "all" else [args.part],
                      args.verbose)
        print(f"\n({time.monotonic() - t0:.1f} s)")
        return 0
    from compliance_fixtures import ANSWER_KEY, build_policyset

    with tempfile.TemporaryDirectory() as tmp:
        evaluate(build_policyset(Path(tmp) / "policyset"), args.key or ANSWER_KEY, args.verbose)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
