"""Read client policy documents (Markdown, text, HTML, PDF, DOCX) into located passages.

Each format is parsed by a well-kept library into blocks (headings, paragraphs, list items,
table rows) with a location a reader can find again; `passages()` then splits paragraphs into
sentences and attaches the heading path and list lead-ins that give each sentence its context.
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from smbaudit.compliance.model import Passage
from smbaudit.errors import size_words

SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text",
            ".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx"}

# Sections whose body defines or lists terms rather than stating practices.
_SKIP_SECTIONS = re.compile(
    r"^\W*(\d+(\.\d+)*\.?\s+)?(definitions?|glossary|terms and definitions|table of contents|"
    r"contents|revision history|document history|version history|document control|"
    r"related (policies|documents|standards)|references|see also)\W*$", re.I)
_TOC_LINE = re.compile(r"(\.{4,}|…{2,}|\s{2,})\s*\d+\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+•▪◦‣●○■□➢➤–]|\(?[0-9]{1,2}[.)]|\(?[a-z][.)]|\(?[ivx]{1,4}[.)])\s+")
_NUMBERED_HEADING = re.compile(r"^\s*(?:section\s+|article\s+|§\s*)?\d+(?:\.\d+)*\.?\s+[A-Z]")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_ABBREV = re.compile(r"\b(e\.g|i\.e|etc|vs|no|art|sec|mr|mrs|ms|dr|inc|ltd|co|corp|st|u\.s|cf|"
                     r"approx|fig|min|max|incl)\.$", re.I)


# Caps of the reading layer (docs/limits.md). Over one, the document is listed as too large
# (DocumentTooLarge) and the other documents are read as usual.
MAX_DOCUMENT_BYTES = 25 * 1024 * 1024  # the file as handed over
MAX_ZIP_MEMBER_BYTES = 64 * 1024 * 1024  # one DOCX part, decompressed
MAX_ZIP_TOTAL_BYTES = 128 * 1024 * 1024  # all parts, decompressed
MAX_ZIP_RATIO = 100  # decompressed : compressed, for parts over 1 MB
MAX_PAGES = 2000
MAX_CHARACTERS = 5_000_000  # extracted text (a 2,000-page policy has about 4 million)
MAX_SECONDS = 30  # per document, checked between PDF pages and after parsing


class DocumentError(Exception):
    """A document that exists but cannot be read (corrupt, encrypted PDF, not UTF-8...)."""


class DocumentTooLarge(DocumentError):
    """A document over one of the reading caps: listed as too large, not read."""


@dataclass(frozen=True)
class Block:
    kind: str  # heading | paragraph | list_item | table_row
    text: str
    location: str
    level: int = 0  # heading level (1 = top)


# --------------------------------------------------------------------------- discovery


def find_documents(dirs: Iterable[str | Path]) -> list[Path]:
    """Supported documents under the given folders (or files), in a stable order.

    Folders are walked without following links; a link with a document's name is kept in the
    list so that reading it reports it as skipped (evidence is read from regular files only).
    """
    found: list[Path] = []
    for d in map(Path, dirs):
        if d.is_file():
            found.append(d)
            continue
        if not d.is_dir():
            raise DocumentError(f"{d}: no such file or folder")
        for dirpath, dirnames, filenames in os.walk(d, followlinks=False):
            dirnames[:] = sorted(n for n in dirnames if not n.startswith("."))
            for name in filenames:
                p = Path(dirpath) / name
                if not name.startswith(".") and p.suffix.lower() in SUFFIXES:
                    found.append(p)
            # links to folders are listed by os.walk among dirnames: skipped, never entered
        found.sort()
    return found


def read_blocks(path: Path) -> list[Block]:
    """The blocks of one document, by its suffix. Raises DocumentError when unreadable, and
    DocumentTooLarge past a cap (see the caps above)."""
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise DocumentError(f"{path}: unsupported document type {path.suffix!r}")
    data = _read_regular(path)
    deadline = time.monotonic() + MAX_SECONDS
    try:
        if fmt == "markdown":
            blocks = markdown_blocks(_decode(path, data))
        elif fmt == "text":
            blocks = text_blocks(_decode(path, data))
        elif fmt == "html":
            blocks = html_blocks(data)
        elif fmt == "pdf":
            blocks = pdf_blocks(io.BytesIO(data), path, deadline)
        else:
            _check_zip(path, data)
            blocks = docx_blocks(io.BytesIO(data))
    except DocumentError:
        raise
    except Exception as exc:  # noqa: BLE001 - parser libraries raise many types on bad input
        raise DocumentError(f"{path}: cannot read {fmt.upper()} document: {exc}") from exc
    if sum(len(b.text) for b in blocks) > MAX_CHARACTERS:
        raise DocumentTooLarge(f"{path}: too large: more than {MAX_CHARACTERS:,} characters of "
                               "text; not read")
    if time.monotonic() > deadline:
        raise DocumentTooLarge(f"{path}: too large: reading it took more than {MAX_SECONDS} s; "
                               "not read")
    return blocks


def _read_regular(path: Path) -> bytes:
    """The bytes of a regular file, opened without following a link (O_NOFOLLOW) and without
    blocking on a FIFO; at most MAX_DOCUMENT_BYTES."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(
        os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DocumentError(f"{path}: a link; skipped (evidence is read from regular files "
                                "only)") from None
        raise DocumentError(f"{path}: cannot read: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise DocumentError(f"{path}: not a regular file; skipped")
        if st.st_size > MAX_DOCUMENT_BYTES:
            raise DocumentTooLarge(f"{path}: too large: {size_words(st.st_size)} (the limit is "
                                   f"{size_words(MAX_DOCUMENT_BYTES)}); not read")
        data = fh.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentTooLarge(f"{path}: too large: more than {size_words(MAX_DOCUMENT_BYTES)}; "
                               "not read")
    return data


def _check_zip(path: Path, data: bytes) -> None:
    """DOCX is a ZIP: refuse members that would inflate past the caps before any is opened
    (zipfile stops reading a member at its declared size)."""
    import zipfile

    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except zipfile.BadZipFile as exc:
        raise DocumentError(f"{path}: cannot read DOCX document: {exc}") from None
    total = 0
    for m in members:
        total += m.file_size
        ratio = m.file_size / max(m.compress_size, 1)
        if m.file_size > MAX_ZIP_MEMBER_BYTES or total > MAX_ZIP_TOTAL_BYTES or (
                ratio > MAX_ZIP_RATIO and m.file_size > 1024 * 1024):
            raise DocumentTooLarge(
                f"{path}: too large: {m.filename} inflates to {size_words(m.file_size)} "
                f"({ratio:.0f}:1; limits {size_words(MAX_ZIP_MEMBER_BYTES)} a member, "
                f"{size_words(MAX_ZIP_TOTAL_BYTES)} in all, {MAX_ZIP_RATIO}:1); not read")


def _decode(path: Path, data: bytes) -> str:
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise DocumentError(f"{path}: not a text file")


# --------------------------------------------------------------------------- formats


def markdown_blocks(text: str) -> list[Block]:
    from markdown_it import MarkdownIt

    offset = 0
    front = re.match(r"\A---\r?\n.*?\r?\n(---|\.\.\.)\r?\n", text, re.S) or _BARE_FRONT.match(text)
    if front:  # YAML front matter is metadata, not policy text
        offset = front.group(0).count("\n")
        text = text[front.end():]
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    blocks: list[Block] = []
    list_depth = 0
    row: list[str] = []
    row_line = 0
    heading_level = 0
    for i, tok in enumerate(tokens):
        if tok.type in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
        elif tok.type == "heading_open":
            heading_level = int(tok.tag[1])
        elif tok.type == "tr_open":
            row, row_line = [], (tok.map[0] + 1 + offset if tok.map else 0)
        elif tok.type == "tr_close":
            blocks.append(Block("table_row", " | ".join(row), f"line {row_line}"))
        elif tok.type == "inline":
            content = _inline_text(tok)
            line = (tok.map[0] + 1 + offset) if tok.map else 0
            prev = tokens[i - 1].type if i else ""
            if prev == "heading_open":
                blocks.append(Block("heading", content, f"line {line}", heading_level))
            elif prev in ("th_open", "td_open"):
                row.append(content)
            elif list_depth:
                blocks.append(Block("list_item", content, f"line {line}"))
            elif _emphasis_only(tok) and len(content) <= 80 and not re.search(
                    r":\s*\S|\d|\.$", content):
                # "***Right to Opt Out***", "a. *During onboarding:*": a run-in sub-heading
                blocks.append(Block("heading", _ENUMERATOR.sub("", content).rstrip(":"),
                                    f"line {line}", 7))
            else:
                blocks.append(Block("paragraph", content, f"line {line}"))
        elif tok.type == "code_block" and tok.map:
            # Policies written for pandoc indent their sub-items by four spaces ("    i. Backups
            # are ..."): CommonMark reads that as code, but it is the policy's own text.
            blocks.extend(_indented_items(tok.content, tok.map[0] + 1 + offset))
        elif tok.type == "fence":
            continue
    return [b for b in (_unnumbered(b) for b in blocks) if b.text.strip()]


# Front matter without its opening "---" (key: value lines, then "---").
_BARE_FRONT = re.compile(r"\A(?:[A-Za-z_][\w-]*:.*\r?\n)(?:(?:[ \t]+.*|[A-Za-z_][\w-]*:.*|\s*)\r?\n){0,40}"
                         r"---\r?\n")
# Outline numbering before a sentence: "a. ", "ii. ", "1. ", "(b) ".
_ENUMERATOR = re.compile(r"^\s*(?:\(?(?:[a-z]|[ivxl]{1,5}|\d{1,3})[.)])\s+(?=\S)")


def _unnumbered(b: Block) -> Block:
    if b.kind in ("paragraph", "list_item"):
        text = _ENUMERATOR.sub("", b.text)
        if text != b.text:
            return Block(b.kind, text, b.location, b.level)
    return b


def _indented_items(content: str, first_line: int) -> list[Block]:
    """The items of an indented block: a line starting with an enumerator opens an item, other
    lines continue the one before."""
    items: list[tuple[int, list[str]]] = []
    for n, raw in enumerate(content.splitlines()):
        line = raw.strip()
        if not line:
            continue
        if _ENUMERATOR.match(line) or not items:
            items.append((first_line + n, [line]))
        else:
            items[-1][1].append(line)
    return [Block("list_item", " ".join(" ".join(parts).split()), f"line {n}")
            for n, parts in items]


def _emphasis_only(tok: object) -> bool:
    """The inline is one emphasised run (after an optional enumerator), nothing else."""
    kinds = [c.type for c in getattr(tok, "children", None) or []
             if not (c.type == "text" and (not c.content.strip() or _ENUMERATOR.fullmatch(
                 c.content + " x")))]
    return len(kinds) >= 3 and kinds[0] in ("em_open", "strong_open") and \
        kinds[-1] in ("em_close", "strong_close") and all(
            k in ("text", "em_open", "em_close", "strong_open", "strong_close") for k in kinds)


def _inline_text(tok: object) -> str:
    parts: list[str] = []
    for child in getattr(tok, "children", None) or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return " ".join("".join(parts).split())


def text_blocks(text: str, location: str = "line {n}") -> list[Block]:
    """Plain text (also PDF pages): blank lines separate blocks; headings and bullets by shape."""
    blocks: list[Block] = []
    para: list[str] = []
    para_line = 0
    lines = text.splitlines()

    def flush() -> None:
        nonlocal para
        if para:
            blocks.append(Block("paragraph", " ".join(para), location.format(n=para_line)))
        para = []

    for n, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or _TOC_LINE.search(line) or re.fullmatch(r"[-=_*#~\s]{3,}", line):
            flush()
            continue
        md_heading = re.match(r"^(#{1,6})\s+(.*)$", line)
        if md_heading:
            flush()
            blocks.append(Block("heading", md_heading.group(2).strip(), location.format(n=n),
                                len(md_heading.group(1))))
            continue
        if "\t" in raw.strip() or re.search(r"\S\s*\|\s*\S", line):
            cells = [c.strip() for c in re.split(r"\t+|\s*\|\s*", line) if c.strip()]
            if len(cells) >= 2 and not _BULLET.match(line):
                flush()
                blocks.append(Block("table_row", " | ".join(cells), location.format(n=n)))
                continue
        if _is_heading_line(line, lines[n] if n < len(lines) else ""):
            flush()
            level = line.split()[0].count(".") + 1 if _NUMBERED_HEADING.match(line) else 1
            blocks.append(Block("heading", line.rstrip(":"), location.format(n=n), level))
            continue
        bullet = _BULLET.match(line)
        if bullet and not _NUMBERED_HEADING.match(line):
            flush()
            blocks.append(Block("list_item", line[bullet.end():].strip(), location.format(n=n)))
            continue
        if blocks and blocks[-1].kind == "list_item" and not para and raw[:1].isspace():
            last = blocks.pop()  # a wrapped list item continues on an indented line
            blocks.append(Block("list_item", f"{last.text} {line}", last.location))
            continue
        if not para:
            para_line = n
        para.append(line)
    flush()
    return blocks


def _is_heading_line(line: str, next_line: str) -> bool:
    if len(line) > 90 or line.endswith((".", ",", ";")) or _BULLET.match(line) and not \
            _NUMBERED_HEADING.match(line):
        return False
    words = line.split()
    if _NUMBERED_HEADING.match(line) and len(words) <= 12:
        return True
    if line.isupper() and len(words) <= 10 and any(c.isalpha() for c in line):
        return True
    # A short Title Case line followed by a blank line or a sentence is a heading.
    small = {"and", "or", "of", "the", "a", "an", "to", "for", "in", "on", "with", "by", "&"}
    titled = all(w[:1].isupper() or w.lower() in small or not w[:1].isalpha() for w in words)
    return titled and len(words) <= 8 and not line.endswith(":") and (
        not next_line.strip() or next_line.strip()[:1].isupper() or next_line.strip()[:1].isdigit())


def html_blocks(data: bytes) -> list[Block]:
    """The blocks of an HTML document; markup the parser rejects is a DocumentError."""
    try:
        return _html_blocks(data)
    except DocumentError:
        raise
    except Exception as exc:  # noqa: BLE001 - bs4 rejects some markup with many exception types
        raise DocumentError(f"cannot read HTML: {exc}") from exc


def _html_blocks(data: bytes) -> list[Block]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "svg", "nav"]):
        tag.decompose()
    blocks: list[Block] = []
    wanted = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "tr", "dt", "dd", "blockquote",
              "pre", "div", "td"]
    for el in soup.find_all(wanted):
        name = el.name
        line = f"line {el.sourceline}" if getattr(el, "sourceline", None) else "element"
        if name in ("div", "td", "blockquote"):
            # Only text sitting directly in the element (not in child blocks) is its own.
            own = " ".join(s.strip() for s in el.find_all(string=True, recursive=False)
                           if s.strip())
            if own and not el.find(wanted) and name != "td":
                blocks.append(Block("paragraph", _squash(el.get_text(" ")), line))
            continue
        if name == "tr":
            cells = [_squash(c.get_text(" ")) for c in el.find_all(["th", "td"], recursive=False)]
            cells = [c for c in cells if c]
            if cells:
                blocks.append(Block("table_row", " | ".join(cells), line))
            continue
        if name == "p" and el.find_parent("li"):
            continue  # the list item carries it
        if name == "li" and el.find(["ul", "ol"]):
            text = _squash(" ".join(s for s in el.find_all(string=True)
                                    if s.find_parent(["ul", "ol"]) is el.parent))
        else:
            text = _squash(el.get_text(" "))
        if not text:
            continue
        if name[0] == "h" and name[1:].isdigit():
            blocks.append(Block("heading", text, line, int(name[1])))
        elif name == "li":
            blocks.append(Block("list_item", text, line))
        elif name == "dt":
            blocks.append(Block("heading", text, line, 6))
        else:
            blocks.append(Block("paragraph", text, line))
    return blocks


def _squash(text: str) -> str:
    return " ".join(text.split())


def pdf_blocks(source: Path | BinaryIO, name: Path | None = None,
               deadline: float | None = None) -> list[Block]:
    """Blocks of a PDF, page by page, within the caps: pages, characters and time."""
    from pypdf import PdfReader

    name = name or Path(str(source))
    reader = PdfReader(source if not isinstance(source, Path) else str(source))
    if reader.is_encrypted:
        try:
            reader.decrypt("")
        except Exception as exc:  # noqa: BLE001
            raise DocumentError(f"{name}: encrypted PDF") from exc
    if len(reader.pages) > MAX_PAGES:
        raise DocumentTooLarge(f"{name}: too large: {len(reader.pages):,} pages (the limit is "
                               f"{MAX_PAGES:,}); not read")
    deadline = deadline or time.monotonic() + MAX_SECONDS
    blocks: list[Block] = []
    characters = 0
    for number, page in enumerate(reader.pages, start=1):
        if time.monotonic() > deadline:
            raise DocumentTooLarge(f"{name}: too large: reading it took more than {MAX_SECONDS} s "
                                   f"(stopped at page {number}); not read")
        text = page.extract_text() or ""
        characters += len(text)
        if characters > MAX_CHARACTERS:
            raise DocumentTooLarge(f"{name}: too large: more than {MAX_CHARACTERS:,} characters "
                                   f"of text by page {number}; not read")
        blocks.extend(text_blocks(text, location=f"page {number}, line {{n}}"))
    return _join_pdf_paragraphs(blocks)


def _join_pdf_paragraphs(blocks: list[Block]) -> list[Block]:
    """PDF text often has no blank lines: rejoin lines of one sentence split into blocks."""
    out: list[Block] = []
    for b in blocks:
        if (out and b.kind == "paragraph" and out[-1].kind in ("paragraph", "list_item")
                and not out[-1].text.rstrip().endswith((".", ":", "!", "?"))
                and b.text[:1].islower()):
            last = out.pop()
            out.append(Block(last.kind, f"{last.text} {b.text}", last.location, last.level))
        else:
            out.append(b)
    return out


def docx_blocks(path: Path | BinaryIO) -> list[Block]:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = docx.Document(str(path) if isinstance(path, Path) else path)
    blocks: list[Block] = []
    para_no = table_no = 0
    body = document.element.body
    # style id -> name, read once: python-docx resolves a paragraph's style by walking every
    # style of the document, which dominates the time on long documents
    names = {st.style_id: st.name or "" for st in document.styles}
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para_no += 1
            p = Paragraph(child, document)
            text = _squash(p.text)
            if not text:
                continue
            style_el = child.find(f"{w}pPr/{w}pStyle")
            style = names.get(style_el.get(f"{w}val"), "") if style_el is not None else ""
            where = f"paragraph {para_no}"
            heading = re.match(r"(?i)heading\s*(\d)", style)
            if heading or style.lower() == "title":
                blocks.append(Block("heading", text, where, int(heading.group(1)) if heading else 1))
            elif "list" in style.lower() or child.find(
                    ".//{http://schemas.openxmlformats.org/wordprocessingml/2006/main}numPr") is not None:
                blocks.append(Block("list_item", text, where))
            else:
                blocks.append(Block("paragraph", text, where))
        elif tag == "tbl":
            table_no += 1
            table = Table(child, document)
            for r, row in enumerate(table.rows, start=1):
                cells: list[str] = []
                for cell in row.cells:
                    t = _squash(cell.text)
                    if t and (not cells or cells[-1] != t):  # merged cells repeat
                        cells.append(t)
                if cells:
                    blocks.append(Block("table_row", " | ".join(cells), f"table {table_no} row {r}"))
    return blocks


# --------------------------------------------------------------------------- passages


def split_sentences(text: str) -> list[str]:
    parts: list[str] = []
    buf = ""
    for piece in _SENTENCE_END.split(text):
        buf = f"{buf} {piece}".strip() if buf else piece.strip()
        if not _ABBREV.search(buf):
            parts.append(buf)
            buf = ""
    if buf:
        parts.append(buf)
    return [p for p in parts if p]


def passages(file: str, blocks: list[Block]) -> Iterator[Passage]:
    """Sentences, list items and table rows with their heading path and lead-in."""
    stack: list[tuple[int, str]] = []
    skipping = False
    lead_in = ""
    header: list[str] = []
    prev_kind = ""
    for b in blocks:
        if b.kind == "heading":
            while stack and stack[-1][0] >= b.level:
                stack.pop()
            stack.append((b.level, b.text))
            skipping = any(_SKIP_SECTIONS.match(h) for _, h in stack)
            lead_in, header, prev_kind = "", [], "heading"
            continue
        if skipping:
            continue
        headings = tuple(h for _, h in stack)
        if b.kind == "paragraph":
            sentences = split_sentences(b.text)
            for s in sentences:
                yield Passage(file, b.location, s, "paragraph", headings)
            last = sentences[-1] if sentences else ""
            lead_in = last if last.rstrip().endswith(":") else ""
            header = []
        elif b.kind == "list_item":
            for s in split_sentences(b.text) or [b.text]:
                yield Passage(file, b.location, s, "list_item", headings, lead_in)
        elif b.kind == "table_row":
            cells = b.text.split(" | ")
            if prev_kind != "table_row":
                header = cells  # the first row of a table names its columns
                yield Passage(file, b.location, b.text, "table_row", headings, "header")
            else:
                labelled = "; ".join(f"{h}: {c}" if h and h != c else c
                                     for h, c in zip(header + [""] * len(cells), cells))
                yield Passage(file, b.location, labelled, "table_row", headings)
        prev_kind = b.kind


def load_passages(paths: Iterable[Path], root: Path | None = None) -> tuple[list[Passage], list[str]]:
    """All passages of the documents, and the problems (unreadable files) met on the way."""
    found: list[Passage] = []
    problems: list[str] = []
    for p in paths:
        name = str(p.relative_to(root)) if root and p.is_relative_to(root) else str(p)
        try:
            found.extend(passages(name, read_blocks(p)))
        except DocumentError as exc:
            problems.append(str(exc))
    return found, problems
