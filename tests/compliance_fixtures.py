"""Builds the realistic test policy set (Markdown, text, HTML, DOCX, PDF) into a folder.

DOCX and PDF are generated from small text sources at test time (python-docx, fpdf2), so the
repository holds no opaque binaries. Source syntax: `# ` / `## ` headings, `- ` list items,
`| a | b |` table rows, anything else a paragraph.
"""

from __future__ import annotations

import shutil
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "compliance"
POLICYSET = DATA / "policyset"
SOURCES = DATA / "sources"
ANSWER_KEY = DATA / "answer_key.yaml"


def _lines(src: Path) -> list[tuple[str, str]]:
    out = []
    for line in src.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        if line.startswith("## "):
            out.append(("h2", line[3:]))
        elif line.startswith("# "):
            out.append(("h1", line[2:]))
        elif line.startswith("- "):
            out.append(("li", line[2:]))
        elif line.startswith("|"):
            out.append(("tr", line.strip().strip("|")))
        else:
            out.append(("p", line))
    return out


def write_docx(src: Path, dest: Path) -> None:
    import docx

    document = docx.Document()
    table = None
    for kind, text in _lines(src):
        if kind != "tr":
            table = None
        if kind == "h1":
            document.add_heading(text, level=1)
        elif kind == "h2":
            document.add_heading(text, level=2)
        elif kind == "li":
            document.add_paragraph(text, style="List Bullet")
        elif kind == "tr":
            cells = [c.strip() for c in text.split("|")]
            if table is None:
                table = document.add_table(rows=0, cols=len(cells))
            row = table.add_row()
            for cell, value in zip(row.cells, cells):
                cell.text = value
        else:
            document.add_paragraph(text)
    document.save(str(dest))


def write_pdf(src: Path, dest: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="Letter")
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    for kind, text in _lines(src):
        if kind in ("h1", "h2"):
            pdf.set_font("Helvetica", "B", 16 if kind == "h1" else 13)
            pdf.ln(4)
            pdf.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif kind == "li":
            pdf.set_font("Helvetica", size=11)
            pdf.multi_cell(0, 6, "- " + text, new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.set_font("Helvetica", size=11)
            pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
    pdf.output(str(dest))


def build_policyset(dest: Path) -> Path:
    """The full policy set in `dest` (created), in all five formats."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in POLICYSET.iterdir():
        shutil.copy(f, dest / f.name)
    write_docx(SOURCES / "vendor-management.docx.src", dest / "vendor-management.docx")
    write_pdf(SOURCES / "records-and-retention.pdf.src", dest / "records-and-retention.pdf")
    return dest
