"""Answer keys for the published policy sets in ../shared/corpora, stored as anchors.

A label file (tests/data/compliance/corpora/labels/<set>.yaml) says, per framework element,
whether the set states it fully or partly and where; elements not listed are not stated:

    set: privacy/basecamp
    frameworks: [gdpr, ccpa]          # the frameworks this set is labelled for
    labels:
      gdpr:
        "Art. 13":
          notice-rights: [full, "privacy__index.md:115#3f2a9c0d1e4b"]

A hold-out labelled later on some files of a folder says so (`part: holdout`, `files: [...]`,
and the commit of its labels is recorded before the judge is first run on them).

An anchor is `file:line#hash`: the line in the unchanged published file and the first 12 hex
digits of the SHA-256 of that line with its whitespace collapsed. The documents' text is never
copied into the repository; a hash that no longer matches (the file changed) is reported.

    python benchmarks/compliance_labels.py seal LABELS.yaml   # add hashes to file:line anchors
    python benchmarks/compliance_labels.py check              # verify every anchor
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from smbaudit import yamlload  # noqa: E402

# <repo>/../shared; a git worktree under <checkout>/../wt/<name> reaches the same folder one up.
CORPORA = next((d / "shared" / "corpora" for d in (ROOT.parent, ROOT.parent.parent)
                if (d / "shared" / "corpora").is_dir()), ROOT.parent / "shared" / "corpora")
LABELS = ROOT / "tests" / "data" / "compliance" / "corpora"
_ANCHOR = re.compile(r"^(?P<file>[^:#]+):(?P<line>\d+)(?:#(?P<hash>[0-9a-f]{12}))?$")
STATUSES = ("full", "partial")


def line_hash(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Label:
    status: str  # full | partial
    anchors: tuple[str, ...]


@dataclass(frozen=True)
class LabelSet:
    folder: str  # e.g. privacy/basecamp
    part: str  # dev | test
    frameworks: tuple[str, ...]
    labels: dict[tuple[str, str, str], Label]  # (framework, requirement, element) -> label
    path: Path
    files: tuple[str, ...] = ()  # a hold-out labelled on some files of the folder only

    def requirement_level(self, fw: str, req: str, elements: list[str]) -> str:
        """full when every element is fully stated, partial when any is stated, else none."""
        got = [self.labels.get((fw, req, e)) for e in elements]
        if got and all(g is not None and g.status == "full" for g in got):
            return "full"
        return "partial" if any(g is not None for g in got) else "none"


def split() -> dict[str, str]:
    doc = yamlload.load_file(LABELS / "split.yaml")
    return {s["folder"]: s["part"] for s in doc["sets"]}


def load(path: Path) -> LabelSet:
    doc = yamlload.load_file(path)
    parts = split()
    labels: dict[tuple[str, str, str], Label] = {}
    for fw, reqs in (doc.get("labels") or {}).items():
        for req, elements in (reqs or {}).items():
            for el, value in (elements or {}).items():
                status, *anchors = value
                if status not in STATUSES:
                    raise ValueError(f"{path}: {fw} {req} {el}: status {status!r} not in {STATUSES}")
                labels[(str(fw), str(req), str(el))] = Label(status, tuple(anchors))
    # a hold-out (`part: holdout`) names the files it was labelled on; other sets take their
    # part from split.yaml
    part = doc.get("part") or parts[doc["set"]]
    if part == "holdout" and not doc.get("files"):
        raise ValueError(f"{path}: a hold-out label set names its files")
    return LabelSet(doc["set"], part, tuple(doc["frameworks"]), labels, path,
                    tuple(doc.get("files") or ()))


def load_all() -> list[LabelSet]:
    return [load(p) for p in sorted((LABELS / "labels").glob("*.yaml"))]


def check(label_set: LabelSet, corpora: Path = CORPORA) -> list[str]:
    """Anchors that do not resolve to the hashed line of the published file."""
    problems: list[str] = []
    cache: dict[str, list[str]] = {}
    for (fw, req, el), label in label_set.labels.items():
        for anchor in label.anchors:
            m = _ANCHOR.match(anchor)
            if not m or not m.group("hash"):
                problems.append(f"{label_set.path.name}: {fw} {req} {el}: anchor {anchor!r} "
                                "is not file:line#hash")
                continue
            lines = cache.setdefault(m["file"], (corpora / label_set.folder / m["file"]).read_text(
                encoding="utf-8").splitlines())
            n = int(m["line"])
            if n > len(lines) or line_hash(lines[n - 1]) != m["hash"]:
                problems.append(f"{label_set.path.name}: {fw} {req} {el}: {anchor} no longer "
                                "matches the published file")
    return problems


def seal(path: Path, corpora: Path = CORPORA) -> int:
    """Add the hash to every `file:line` anchor of a label file (in place)."""
    doc = yamlload.load_file(path)
    folder = corpora / doc["set"]
    text = path.read_text(encoding="utf-8")

    def add(m: re.Match[str]) -> str:
        file, line = m.group(1), int(m.group(2))
        lines = (folder / file).read_text(encoding="utf-8").splitlines()
        if not lines[line - 1].strip():
            raise SystemExit(f"{path}: {file}:{line} is an empty line")
        return f"\"{file}:{line}#{line_hash(lines[line - 1])}\""

    new = re.sub(r"\"([^\":#\s]+\.(?:md|json|txt|html)):(\d+)\"", add, text)
    path.write_text(new, encoding="utf-8")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "seal":
        return seal(Path(argv[1]))
    if argv == ["check"]:
        problems = [p for s in load_all() for p in check(s)]
        print("\n".join(problems) or "every anchor resolves")
        return 1 if problems else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
