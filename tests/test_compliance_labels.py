"""The answer keys of the published policy sets: anchors (file:line#hash) resolve to the
unchanged published lines, and a hold-out names the files it was labelled on."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import compliance_labels as labels  # noqa: E402


def test_every_label_anchor_resolves_to_the_published_line() -> None:
    if not labels.CORPORA.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{labels.CORPORA} is missing")
        pytest.skip(f"{labels.CORPORA} is absent")
    sets = labels.load_all()
    assert {s.part for s in sets} >= {"dev", "test"}
    assert [p for s in sets for p in labels.check(s)] == []
    for s in sets:
        for name in s.files:
            assert (labels.CORPORA / s.folder / name).is_file(), (s.path, name)


def test_a_holdout_names_its_files(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("set: privacy/basecamp\npart: holdout\nframeworks: [gdpr]\nlabels: {}\n")
    with pytest.raises(ValueError, match="names its files"):
        labels.load(path)
    path.write_text("set: privacy/basecamp\npart: holdout\nfiles: [a.md]\nframeworks: [gdpr]\n"
                    "labels: {}\n")
    assert labels.load(path).files == ("a.md",)


def test_development_part_does_not_regress() -> None:
    """The published sets' development part (never the test part or the hold-out: their
    figures are quoted from first runs) keeps the precision and recall it was tuned to."""
    if not labels.CORPORA.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{labels.CORPORA} is missing")
        pytest.skip(f"{labels.CORPORA} is absent")
    from compliance_accuracy import corpora_scores

    tallies = corpora_scores("dev")
    floors = {"gdpr": (0.95, 0.95), "ccpa": (0.85, 0.95), "hipaa": (0.9, 0.95)}
    for fw, (p, r) in floors.items():
        t = tallies[(fw, "judge", "elements strict")]
        assert t.precision >= p and t.recall >= r, (fw, str(t))
