"""Build a 200-page policy set for timing `smbaudit policies coverage` as a whole command.

    python benchmarks/compliance_speed.py /tmp/policies-200p     # builds it, prints its size
    /usr/bin/time -v smbaudit policies coverage --evidence /tmp/policies-200p \
        --format json --output /tmp/coverage.json

Run the timed command five times and quote the median. The set is the hand-written policy set
of the tests (Markdown, text, HTML, PDF and DOCX) copied under new names until it holds 200
pages of 500 words (100,000 words), plus one unreadable PDF that every output must list. The
goal (issue 11): under 10 s on 2 cores for all three frameworks.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from compliance_fixtures import build_policyset  # noqa: E402

from smbaudit.compliance import documents  # noqa: E402

WORDS_PER_PAGE = 500
PAGES = 200


def words(folder: Path) -> int:
    passages, _ = documents.load_passages(documents.find_documents([folder]), folder)
    return sum(len(p.text.split()) for p in passages)


def build(dest: Path) -> tuple[int, int]:
    if dest.exists():
        shutil.rmtree(dest)
    seed = build_policyset(dest.parent / (dest.name + ".seed"))
    per_copy = words(seed)
    copies = -(-PAGES * WORDS_PER_PAGE // per_copy)
    dest.mkdir(parents=True)
    for n in range(copies):
        for f in sorted(seed.iterdir()):
            shutil.copy(f, dest / f"{f.stem}-{n:03d}{f.suffix}")
    (dest / "scanned-contract.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer\n%%EOF")
    shutil.rmtree(seed)
    return copies, words(dest)


def main() -> int:
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/policies-200p")
    copies, total = build(dest)
    print(f"{dest}: {copies} copies of the policy set, {total} words "
          f"(= {total / WORDS_PER_PAGE:.0f} pages of {WORDS_PER_PAGE} words), "
          f"{len(list(dest.iterdir()))} files incl. one unreadable PDF")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
