"""Read an input (file, folder, zip, compressed) and hand it to the importer its content names."""

from __future__ import annotations

import bz2
import io
import json
import lzma
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smbaudit import yamlload
from smbaudit.vulndb.errors import ImportFailure
from smbaudit.vulndb.importers import alpine, csaf, debian_json, debian_lists, osv
from smbaudit.vulndb.model import Parsed
from smbaudit.vulndb.store import SQLITE_MAGIC

MAX_INPUT_BYTES = 2 * 1024**3  # after decompression
MAX_FOLDER_FILES = 500_000


@dataclass
class Loaded:
    parsed: Parsed
    skipped: int = 0  # files or records not in a known format / ecosystem


def decompress(data: bytes, path: str) -> bytes:
    """gzip, xz and bzip2 inputs are read as their content; a cut or damaged stream is refused."""
    if data[:2] == b"\x1f\x8b":
        dec: Any = zlib.decompressobj(wbits=47)
    elif data[:6] == b"\xfd7zXZ\x00":
        dec = lzma.LZMADecompressor()
    elif data[:3] == b"BZh":
        dec = bz2.BZ2Decompressor()
    else:
        return data
    try:
        out = dec.decompress(data, MAX_INPUT_BYTES + 1)
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
        raise ImportFailure(f"{path}: damaged compressed file ({exc})") from None
    if len(out) > MAX_INPUT_BYTES:
        raise ImportFailure(f"{path}: more than {MAX_INPUT_BYTES} bytes once decompressed")
    if not dec.eof:
        raise ImportFailure(f"{path}: damaged compressed file (the stream is cut short)")
    return bytes(out)


def _json(data: bytes, path: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImportFailure(f"{path}: damaged JSON ({exc})") from None


def _text(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ImportFailure(f"{path}: not text, JSON, zip or a known compressed format") from None


def parse_bytes(data: bytes, path: str, codenames: Mapping[str, Mapping[str, str]]) -> Loaded:
    """Parse one input by its content. Raises ImportFailure when no importer knows it."""
    data = decompress(data, path)
    if data[:16] == SQLITE_MAGIC:
        raise ImportFailure(f"{path} is a store bundle, not a feed")
    if data[:4] == b"PK\x03\x04":
        return _osv_zip(data, path, codenames)
    stripped = data.lstrip()
    if stripped[:1] == b"[" and debian_lists.looks_like(stripped[:4096].decode("utf-8", "replace")):
        return Loaded(debian_lists.parse(_text(data, path), path))
    if stripped[:1] in (b"{", b"["):
        doc = _json(data, path)
        return _parse_doc(doc, path, codenames)
    text = _text(data, path)
    if debian_lists.looks_like(text[:4096]):
        return Loaded(debian_lists.parse(text, path))
    if "distroversion" in text[:65536]:
        return Loaded(alpine.parse(yamlload.load_text(text, path), path))
    raise ImportFailure(f"{path}: not a known advisory format (Debian tracker JSON, DSA/DLA list, "
                        "OSV, Red Hat CSAF, Alpine secdb)")


def _parse_doc(doc: Any, path: str, codenames: Mapping[str, Mapping[str, str]]) -> Loaded:
    if csaf.looks_like(doc):
        return Loaded(csaf.parse(doc, path))
    if osv.looks_like(doc):
        parsed = Parsed(format="osv")
        skipped = osv.parse_record(doc, path, codenames, parsed)
        return Loaded(parsed, skipped)
    if isinstance(doc, list) and doc and all(osv.looks_like(d) for d in doc[:5]):
        parsed = Parsed(format="osv")
        skipped = sum(osv.parse_record(d, f"{path}[{i}]", codenames, parsed)
                      for i, d in enumerate(doc))
        return Loaded(parsed, skipped)
    if alpine.looks_like(doc):
        return Loaded(alpine.parse(doc, path))
    if debian_json.looks_like(doc):
        return Loaded(debian_json.parse(doc, path))
    raise ImportFailure(f"{path}: JSON, but not a known advisory format (Debian tracker JSON, "
                        "OSV, Red Hat CSAF, Alpine secdb)")


def _osv_zip(data: bytes, path: str, codenames: Mapping[str, Mapping[str, str]]) -> Loaded:
    parsed = Parsed(format="osv")
    skipped = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = [n for n in zf.namelist() if n.endswith(".json")]
            if not names:
                raise ImportFailure(f"{path}: a zip file with no OSV .json records")
            total = 0
            for name in names:
                raw = zf.read(name)
                total += len(raw)
                if total > MAX_INPUT_BYTES:
                    raise ImportFailure(f"{path}: more than {MAX_INPUT_BYTES} bytes once unpacked")
                skipped += osv.parse_record(_json(raw, f"{path}!{name}"), f"{path}!{name}",
                                            codenames, parsed)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFailure(f"{path}: damaged zip file ({exc})") from None
    return Loaded(parsed, skipped)


def folder_files(folder: Path) -> Iterator[Path]:
    count = 0
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink() and not path.name.startswith("."):
            count += 1
            if count > MAX_FOLDER_FILES:
                raise ImportFailure(f"{folder}: more than {MAX_FOLDER_FILES} files")
            yield path
