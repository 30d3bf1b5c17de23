"""Fuzzing every file smbaudit loads itself (check packs, catalogs, profiles, waivers,
questionnaires), the policy document readers and the vulnerability importers: whatever the
bytes, the result is a loaded object or a named error (InputFileError, DocumentError,
ImportFailure: exit 2 or a listed problem), never another exception, within time and memory.

Profiles and the long run: see tests/fuzzing.py."""

from __future__ import annotations

import datetime as dt
import io
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import EXAMPLE_SECONDS, MEMORY_MB, config_text, rss_mb
from smbaudit import profile, waivers
from smbaudit.compliance import attestations, catalog, documents
from smbaudit.errors import SmbauditError
from smbaudit.packs import loader
from smbaudit.vulndb import detect

KEYS = ["schema", "pack", "checks", "id", "title", "description", "category", "severity",
        "probe", "params", "condition", "all", "any", "none", "fact", "op", "value", "problem",
        "applies", "when", "os_family", "compliance", "waivers", "check", "target", "justification",
        "approved_by", "expires", "targets", "formats", "outputs", "dir", "fail_on", "kind",
        "framework", "requirements", "answers", "covered", "date", "version", "name", "elements",
        "&a", "*a", "<<", "!!python/object", "- ", ": ", "{", "[", "'", '"', "|", ">"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63), st.floats(allow_nan=True),
                    st.sampled_from(KEYS), st.text(max_size=20), st.dates())
DOCS = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)),
                                                 inner, max_size=6)), max_leaves=30)
YAML_TEXT = st.one_of(DOCS.map(lambda d: yaml.safe_dump(d, allow_unicode=True)),
                      config_text(KEYS, " "), st.binary(max_size=300).map(lambda b: b.decode("latin-1")))


def _bounded(fn: Callable[[], Any], allowed: tuple[type[BaseException], ...]) -> None:
    started = time.monotonic()
    try:
        fn()
    except allowed:
        pass
    assert time.monotonic() - started < EXAMPLE_SECONDS
    assert rss_mb() < MEMORY_MB


def _load_with(reader: Callable[[Path], Any]) -> Callable[[str], None]:
    def run(text: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "input.yaml"
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
            _bounded(lambda: reader(path), (SmbauditError,))
    return run


CATALOGS = catalog.load_catalogs()
LOADERS: dict[str, Callable[[Path], Any]] = {
    "check-pack": lambda p: loader.load_pack_file(p),
    "catalog": catalog.load_catalog_file,
    "profile": profile.load,
    "waivers": lambda p: waivers.load([p]),
    "questionnaire": lambda p: attestations.load(p, CATALOGS, dt.date(2026, 1, 1)),
}


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_yaml_loaders_end_in_a_result_or_an_input_error(kind: str) -> None:
    @given(YAML_TEXT)
    def run(text: str) -> None:
        _load_with(LOADERS[kind])(text)

    run()


DOC_WORDS = ["#", "##", "- ", "* ", "1.", "|", "---", "<p>", "</p>", "<h1>", "<table><tr><td>",
             "<script>", "&amp;", "&#0;", "Policy", "must", "shall", "not", "Access", ".", "\n\n"]


@pytest.mark.parametrize("reader", ["markdown", "text", "html"])
def test_text_document_readers(reader: str) -> None:
    @given(config_text(DOC_WORDS, " "))
    def run(text: str) -> None:
        def read() -> None:
            if reader == "markdown":
                blocks = documents.markdown_blocks(text)
            elif reader == "text":
                blocks = documents.text_blocks(text)
            else:
                blocks = documents.html_blocks(text.encode("utf-8", "surrogatepass"))
            list(documents.passages("doc", blocks))
        _bounded(read, (documents.DocumentError,))

    run()


def _docx_like(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return buf.getvalue()


BINARY_DOCS = st.one_of(
    st.binary(max_size=2000),
    st.binary(max_size=500).map(lambda b: b"%PDF-1.4\n" + b),
    st.dictionaries(st.sampled_from(["[Content_Types].xml", "word/document.xml", "_rels/.rels",
                                     "word/_rels/document.xml.rels", "docProps/core.xml"]),
                    st.binary(max_size=300), max_size=5).map(_docx_like),
)


@pytest.mark.parametrize("suffix", [".pdf", ".docx", ".html", ".md", ".txt"])
def test_document_files(suffix: str) -> None:
    @given(BINARY_DOCS)
    def run(data: bytes) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"doc{suffix}"
            path.write_bytes(data)
            _bounded(lambda: documents.load_passages([path]), ())

    run()


ADVISORY_WORDS = ["{", "}", "[", "]", '"', ":", ",", "CVE-2024-1234", "DSA-1234-1", "DLA-1-1",
                  '"affected"', '"ranges"', '"events"', '"introduced"', '"fixed"', '"package"',
                  '"ecosystem"', '"Debian:12"', '"Alpine:v3.19"', '"name"', '"document"',
                  '"csaf_version"', '"vulnerabilities"', '"product_tree"', '"releases"',
                  '"bookworm"', '"status"', '"resolved"', '"fixed_version"', "distroversion",
                  "secfixes", "packages", "pkg", "[12 Jan 2024]", "{bookworm}", "NOTE:", "\t-", "-"]
ADVISORY = st.one_of(config_text(ADVISORY_WORDS, " ").map(lambda t: t.encode("utf-8", "surrogatepass")),
                     st.binary(max_size=600),
                     st.binary(max_size=200).map(lambda b: b"\x1f\x8b" + b),
                     st.dictionaries(st.text(max_size=10).map(lambda s: f"advisories/{s}.json"),
                                     st.binary(max_size=200), max_size=4).map(_docx_like))


def test_vulnerability_importers() -> None:
    @given(ADVISORY)
    def run(data: bytes) -> None:
        _bounded(lambda: detect.parse_bytes(data, "feed", {}), (SmbauditError,))

    run()
