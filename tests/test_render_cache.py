"""Compiled report templates are kept in the user cache folder and give the same HTML."""

from __future__ import annotations

from pathlib import Path

import pytest

from smbaudit.render.html import render_html
from test_render import sample_report


def test_the_compiled_template_is_cached_privately_and_renders_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    report = sample_report()
    first = render_html(report)
    folder = tmp_path / "smbaudit" / "templates"
    entries = list(folder.iterdir())
    assert entries and (folder.stat().st_mode & 0o777) == 0o700
    assert render_html(report) == first  # read back from the cache


def test_no_cache_folder_still_renders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert b"<html" in render_html(sample_report())
