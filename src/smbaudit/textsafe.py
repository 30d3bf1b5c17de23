"""Text that came from a target, made safe to show: control characters become visible escapes.

A scanned tree, a document or a network peer chooses the bytes of the strings smbaudit prints
(os-release's PRETTY_NAME, a banner, a file name). Shown raw, ESC and friends would let them
clear the screen, move the cursor, write the clipboard (OSC 52), hide text or forge lines in a
terminal, a Markdown file or a CSV cell. Every C0 and C1 control character, DEL, and the Unicode
bidirectional overrides are written as `\\x1b`, `\\n`, `\\u202e`... instead.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    code = ord(ch)
    return _NAMED.get(ch) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible(text: str) -> str:
    """`text` with every control character shown as an escape (one line stays one line)."""
    return _UNSAFE.sub(lambda m: _escape(m.group()), text)


def visible_lines(text: str) -> str:
    """Like visible(), but keeping line breaks (for multi-line cells and messages)."""
    return "\n".join(visible(line) for line in text.split("\n"))
