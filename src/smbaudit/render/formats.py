"""Output formats and the renderer for each (a test proves every format has one)."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from importlib import import_module

from smbaudit.report import Report


class OutputFormat(str, Enum):
    HTML = "html"
    JSON = "json"
    SARIF = "sarif"
    JUNIT = "junit"
    CSV = "csv"
    MARKDOWN = "markdown"
    PDF = "pdf"


# format -> (module, function, file extension)
_RENDERERS: dict[OutputFormat, tuple[str, str, str]] = {
    OutputFormat.HTML: ("smbaudit.render.html", "render_html", "html"),
    OutputFormat.JSON: ("smbaudit.render.json", "render_json", "json"),
    OutputFormat.SARIF: ("smbaudit.render.sarif", "render_sarif", "sarif"),
    OutputFormat.JUNIT: ("smbaudit.render.junit", "render_junit", "junit.xml"),
    OutputFormat.CSV: ("smbaudit.render.csv", "render_csv", "csv"),
    OutputFormat.MARKDOWN: ("smbaudit.render.markdown", "render_markdown", "md"),
    OutputFormat.PDF: ("smbaudit.render.pdf", "render_pdf", "pdf"),
}

DEFAULT_FORMATS = (OutputFormat.HTML, OutputFormat.JSON)


def renderer(fmt: OutputFormat) -> Callable[[Report], bytes]:
    module, function, _ = _RENDERERS[fmt]
    return getattr(import_module(module), function)  # type: ignore[no-any-return]


def extension(fmt: OutputFormat) -> str:
    return _RENDERERS[fmt][2]
