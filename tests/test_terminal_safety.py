"""Strings chosen by a scanned tree never reach a terminal, a Markdown or a CSV report raw:
control characters (ESC, BEL, C1, bidi overrides) are shown as visible escapes."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from hostcfg_util import put
from smbaudit.cli import cli
from smbaudit.textsafe import visible, visible_lines

# clear screen, write the clipboard (OSC 52), conceal what follows, a C1 CSI, a bidi override
HOSTILE = "\x1b[2J\x1b]52;c;ZXZpbA==\x07\x1b[8m\x9b31m\u202e"
RAW = ("\x1b", "\x07", "\x9b", "\u202e")


def _tree(root: Path) -> None:
    put(root, "/etc/passwd", "root:x:0:0::/root:/bin/sh\n")
    put(root, "/etc/os-release", f'PRETTY_NAME="Debian {HOSTILE} 9"\nNAME="Debian GNU/Linux"\n'
        'VERSION_ID="9"\nID=debian\nVERSION_CODENAME=stretch\n')
    put(root, "/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n")
    # a file the scanner cannot assess, whose name is hostile: the reason names it
    put(root, f"/etc/ssh/sshd_config.d/{HOSTILE}.conf", "#" * (3 * 1024 * 1024))


def test_terminal_output_shows_escapes_not_controls(tmp_path: Path) -> None:
    _tree(tmp_path / "root")
    result = CliRunner().invoke(cli, ["scan", f"dir:{tmp_path / 'root'}", "-v", "--no-history",
                                      "-f", "json", "-o", str(tmp_path / "r.json")], color=True)
    assert result.exit_code in (1, 3), result.output
    out = result.output
    assert "file larger than 2 MB" in out  # the hostile name was printed...
    assert "\\x1b]52;c;ZXZpbA==\\x07" in out  # ...as visible escapes
    # Only smbaudit's own SGR colour codes may carry ESC.
    assert "\x1b]" not in out and "\x07" not in out and "\x1b[2J" not in out and "\x1b[8m" not in out
    assert "\x9b" not in out and "\u202e" not in out


def test_markdown_and_csv_reports_show_escapes(tmp_path: Path) -> None:
    _tree(tmp_path / "root")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["scan", f"dir:{tmp_path / 'root'}", "--no-history", "-q",
                                      "-f", "markdown", "-f", "csv", "-o", str(out), "--fail-on", "none"])
    assert result.exit_code in (0, 3), result.output
    for name in ("report.md", "report.csv"):
        text = (out / name).read_text(encoding="utf-8-sig")
        for ch in RAW:
            assert ch not in text, (name, repr(ch))
        assert "x1b" in text, name


def test_visible() -> None:
    assert visible("a\x1b[2Jb\tc\nd\x7f\x85\u2066") == "a\\x1b[2Jb\\tc\\nd\\x7f\\x85\\u2066"
    assert visible_lines("one\x07\ntwo") == "one\\x07\ntwo"
    assert visible("naïve café – ok") == "naïve café – ok"
