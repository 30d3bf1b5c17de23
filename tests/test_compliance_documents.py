"""Document parsing: every format yields located passages with headings, list lead-ins, tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from compliance_fixtures import SOURCES, build_policyset, write_docx, write_pdf
from smbaudit.compliance.documents import (
    DocumentError,
    find_documents,
    load_passages,
    passages,
    read_blocks,
    split_sentences,
    text_blocks,
)


@pytest.fixture(scope="module")
def policyset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_policyset(tmp_path_factory.mktemp("docs") / "policyset")


def _find(items, needle: str):
    return next(p for p in items if needle in p.text)


def test_all_five_formats_are_found(policyset: Path) -> None:
    names = {p.suffix for p in find_documents([policyset])}
    assert names == {".md", ".txt", ".html", ".docx", ".pdf"}


def test_markdown_headings_lists_and_front_matter(policyset: Path) -> None:
    items = list(passages("isp.md", read_blocks(policyset / "information-security-policy.md")))
    assert not any("owner: Practice Manager" in p.text for p in items)  # front matter skipped
    p = _find(items, "BitLocker full-disk encryption")
    assert p.headings[-1] == "7. Encryption" and p.location.startswith("line ")
    line = int(p.location.split()[1])
    source = (policyset / "information-security-policy.md").read_text().splitlines()
    assert "BitLocker" in source[line - 1]
    item = _find(items, "annual refresher course")
    assert item.block == "list_item" and item.lead_in == "All staff must complete:"
    assert not any(p.text.startswith("Encryption: the process") for p in items)  # definitions


def test_plain_text_headings_and_tables(policyset: Path) -> None:
    items = list(passages("plan.txt", read_blocks(policyset / "contingency-and-incident-plan.txt")))
    row = _find(items, "ClinicPro (EHR and scheduling)")
    assert row.block == "table_row" and "Criticality: Critical" in row.text
    assert _find(items, "backed up automatically").headings[-1] == "1. Data Backup"


def test_html_skips_scripts_and_keeps_tables(policyset: Path) -> None:
    items = list(passages("notice.html", read_blocks(policyset / "privacy-notice.html")))
    assert not any("dataLayer" in p.text for p in items)
    row = _find(items, "Performance of a contract")
    assert row.block == "table_row" and row.text.startswith("Purpose: Providing treatment")
    assert _find(items, "Global Privacy Control").headings[-1] == "Your privacy choices"


def test_docx_headings_lists_tables(policyset: Path) -> None:
    items = list(passages("v.docx", read_blocks(policyset / "vendor-management.docx")))
    item = _find(items, "same restrictions and conditions")
    assert item.block == "list_item" and "business associate agreement" in item.lead_in
    assert item.headings[-1] == "Business associate agreements"
    row = _find(items, "prohibited from selling")
    assert row.block == "table_row" and row.location.startswith("table 1 row")


def test_pdf_text_with_page_locations(policyset: Path) -> None:
    items = list(passages("r.pdf", read_blocks(policyset / "records-and-retention.pdf")))
    p = _find(items, "retained for six years")
    assert p.location.startswith("page 1") and "whichever is later" in p.text
    assert p.headings[-1] == "1. Policy documentation"


def test_unreadable_document_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a pdf")
    (tmp_path / "broken.docx").write_bytes(b"not a zip")
    found, problems = load_passages(find_documents([tmp_path]), tmp_path)
    assert found == [] and len(problems) == 2
    with pytest.raises(DocumentError):
        read_blocks(tmp_path / "broken.pdf")


def test_sentence_split_keeps_abbreviations() -> None:
    assert split_sentences("Use TLS, e.g. version 1.2. Keep logs.") == [
        "Use TLS, e.g. version 1.2.", "Keep logs."]


def test_text_toc_lines_and_bullets() -> None:
    blocks = text_blocks("CONTENTS\n1. Scope ........ 3\n\nAll staff must:\n• lock screens\n• report loss\n")
    kinds = [(b.kind, b.text) for b in blocks]
    assert ("list_item", "lock screens") in kinds and not any("...." in t for _, t in kinds)


def test_generated_binaries_round_trip(tmp_path: Path) -> None:
    write_docx(SOURCES / "vendor-management.docx.src", tmp_path / "a.docx")
    write_pdf(SOURCES / "records-and-retention.pdf.src", tmp_path / "b.pdf")
    assert read_blocks(tmp_path / "a.docx") and read_blocks(tmp_path / "b.pdf")
