"""Decompression by content (gzip, xz, bzip2, lz4 frame, zstd), bounded in output size, for
package indexes read from targets."""

from __future__ import annotations

import bz2
import lzma
import zlib
from typing import Any

import lz4.frame
import zstandard

from smbaudit.errors import BudgetExceeded, ProbeError


def decompress(data: bytes, path: str, limit: int) -> bytes:
    """The content of `data` (as is when not compressed). A damaged or cut stream is a
    ProbeError; more than `limit` bytes out is BudgetExceeded."""
    try:
        if data[:2] == b"\x1f\x8b":
            dec: Any = zlib.decompressobj(wbits=47)
        elif data[:6] == b"\xfd7zXZ\x00":
            dec = lzma.LZMADecompressor()
        elif data[:3] == b"BZh":
            dec = bz2.BZ2Decompressor()
        elif data[:4] == b"\x04\x22\x4d\x18":
            dec = lz4.frame.LZ4FrameDecompressor()
        elif data[:4] == b"\x28\xb5\x2f\xfd":
            dec = zstandard.ZstdDecompressor().decompressobj()
            out = dec.decompress(data)  # zstd's object has no output bound: check after
            if len(out) > limit:
                raise BudgetExceeded(f"{path}: more than {limit} bytes once decompressed")
            if not dec.eof:
                raise ProbeError(f"{path}: damaged compressed file (cut short)")
            return bytes(out)
        else:
            return data
        out = dec.decompress(data, limit + 1)
    except (OSError, EOFError, lzma.LZMAError, zlib.error, RuntimeError, zstandard.ZstdError) as exc:
        raise ProbeError(f"{path}: damaged compressed file ({exc})") from None
    if len(out) > limit:
        raise BudgetExceeded(f"{path}: more than {limit} bytes once decompressed")
    if not dec.eof:
        raise ProbeError(f"{path}: damaged compressed file (cut short)")
    return bytes(out)
