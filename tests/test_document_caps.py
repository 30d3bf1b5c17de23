"""Evidence documents under attack: links are skipped, bombs and oversized documents are listed
as too large within the caps, and the other documents are still read."""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path

import pytest

from smbaudit.compliance import documents
from smbaudit.compliance.documents import DocumentTooLarge, find_documents, load_passages, read_blocks

GOOD = "# Access policy\n\nAll access to client data is logged and reviewed monthly.\n"


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "good.md").write_text(GOOD)
    return folder


def _problems(folder: Path) -> tuple[list[str], list[str]]:
    passages, problems = load_passages(find_documents([folder]), folder)
    return [p.text for p in passages], problems


def test_links_in_an_evidence_folder_are_listed_and_skipped(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    secret = tmp_path / "root-only.md"
    secret.write_text("The database password is kept in the safe in room 12.\n")
    os.chmod(secret, 0o600)
    os.symlink(secret, folder / "policy.md")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "more.md").write_text("Outside sentences are never quoted here.\n")
    os.symlink(outside, folder / "sub")
    texts, problems = _problems(folder)
    assert any("logged and reviewed" in t for t in texts)
    assert not any("password" in t or "Outside" in t for t in texts)
    assert problems == [f"{folder / 'policy.md'}: a link; skipped (evidence is read from regular "
                        "files only)"]


def test_a_fifo_is_not_opened(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    os.mkfifo(folder / "pipe.txt")
    texts, problems = _problems(folder)
    assert texts and problems == [f"{folder / 'pipe.txt'}: not a regular file; skipped"]


def _zip_bomb(dest: Path, inflated: int) -> None:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b" " * inflated)


def test_a_docx_bomb_is_too_large_and_the_rest_goes_on(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    _zip_bomb(folder / "bomb.docx", 3 * 1024 * 1024)  # 3 MB of spaces in a few kilobytes
    assert (folder / "bomb.docx").stat().st_size < 64 * 1024
    texts, problems = _problems(folder)
    assert any("logged and reviewed" in t for t in texts)
    assert len(problems) == 1 and "bomb.docx: too large: word/document.xml inflates" in problems[0]


def test_docx_members_over_the_size_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(documents, "MAX_ZIP_MEMBER_BYTES", 1000)
    with zipfile.ZipFile(tmp_path / "big.docx", "w", zipfile.ZIP_STORED) as z:
        z.writestr("word/document.xml", os.urandom(2000))
    with pytest.raises(DocumentTooLarge, match="inflates to 1.95 KB"):
        read_blocks(tmp_path / "big.docx")


def _pdf(dest: Path, pages: int) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for i in range(pages):
        pdf.add_page()
        pdf.cell(0, 10, f"Page {i + 1}: access to client data is logged.")
    pdf.output(str(dest))


def test_pdf_page_character_and_time_caps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _pdf(tmp_path / "p.pdf", 6)
    assert len(read_blocks(tmp_path / "p.pdf")) >= 6
    monkeypatch.setattr(documents, "MAX_PAGES", 5)
    with pytest.raises(DocumentTooLarge, match="6 pages"):
        read_blocks(tmp_path / "p.pdf")
    monkeypatch.setattr(documents, "MAX_PAGES", 100)
    monkeypatch.setattr(documents, "MAX_CHARACTERS", 100)
    with pytest.raises(DocumentTooLarge, match="more than 100 characters"):
        read_blocks(tmp_path / "p.pdf")
    monkeypatch.setattr(documents, "MAX_CHARACTERS", 10_000)
    monkeypatch.setattr(documents, "MAX_SECONDS", 0)
    monkeypatch.setattr(time, "monotonic", _clock_that_jumps())
    with pytest.raises(DocumentTooLarge, match="took more than 0 s"):
        read_blocks(tmp_path / "p.pdf")


def _clock_that_jumps():  # type: ignore[no-untyped-def]
    real = time.perf_counter
    calls = iter(range(1_000_000))
    return lambda: real() + next(calls)  # every reading one second later than the last


def test_an_oversized_file_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(documents, "MAX_DOCUMENT_BYTES", 100)
    (tmp_path / "big.txt").write_text("x. " * 100)
    with pytest.raises(DocumentTooLarge, match="300 bytes"):
        read_blocks(tmp_path / "big.txt")


def test_read_caps_keep_an_ordinary_policy_readable(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    with open(folder / "long.txt", "w") as fh:
        for i in range(20_000):
            fh.write(f"Rule {i}. Staff must lock their screens when they leave the desk.\n")
    texts, problems = _problems(folder)
    assert problems == [] and len(texts) > 20_000
