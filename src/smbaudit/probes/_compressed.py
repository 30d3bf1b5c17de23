"""Decompression by content (gzip, xz, bzip2, lz4 frame, zstd), bounded in output size, for
package indexes read from targets."""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

import lz4.frame
import zstandard

from smbaudit.errors import BudgetExceeded, ProbeError


_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def _decompressor(data: bytes) -> Any:
    """A fresh decompressor for `data` by its magic number (gzip, xz, bzip2, lz4 frame), all
    with the `decompress(data, max_length)`, `needs_input` and `eof` of lzma's; None for zstd
    and for data that is not compressed."""
    if data[:2] == b"\x1f\x8b":
        return _Zlib()
    if data[:6] == b"\xfd7zXZ\x00":
        return lzma.LZMADecompressor()
    if data[:3] == b"BZh":
        return bz2.BZ2Decompressor()
    if data[:4] == b"\x04\x22\x4d\x18":
        return lz4.frame.LZ4FrameDecompressor()
    return None


def decompress(data: bytes, path: str, limit: int) -> bytes:
    """The content of `data` (as is when not compressed). A damaged or cut stream is a
    ProbeError; more than `limit` bytes out is BudgetExceeded."""
    try:
        dec = _decompressor(data)
        if dec is None and data[:4] == _ZSTD_MAGIC:
            dec = zstandard.ZstdDecompressor().decompressobj()
            out = dec.decompress(data)  # zstd's object has no output bound: check after
            if len(out) > limit:
                raise BudgetExceeded(f"{path}: more than {limit} bytes once decompressed")
            if not dec.eof:
                raise ProbeError(f"{path}: damaged compressed file (cut short)")
            return bytes(out)
        if dec is None:
            return data
        out = dec.decompress(data, limit + 1)
    except (OSError, EOFError, lzma.LZMAError, zlib.error, RuntimeError, zstandard.ZstdError) as exc:
        raise ProbeError(f"{path}: damaged compressed file ({exc})") from None
    if len(out) > limit:
        raise BudgetExceeded(f"{path}: more than {limit} bytes once decompressed")
    if not dec.eof:
        raise ProbeError(f"{path}: damaged compressed file (cut short)")
    return bytes(out)


CHUNK = 1 << 20  # bytes of output at a time when streaming
_INPUT = 1 << 18  # bytes of input handed to a decompressor at a time (it keeps what it holds)


def decompress_chunks(data: bytes | Iterable[bytes], path: str, limit: int) -> Iterator[bytes]:
    """The content of `data` (a file, or its pieces as they are read) as pieces of at most
    CHUNK bytes, so that a 50 MB index is never whole in memory, nor its compressed form: input
    goes in a piece at a time. The same errors and bound as `decompress`; data that is not
    compressed is passed on as it comes; zstd (which apt does not use for its lists by default)
    is decompressed whole."""
    pieces = _slices(data) if isinstance(data, bytes) else iter(data)
    first = next(pieces, b"")
    dec = _decompressor(first)
    if dec is None:
        if first[:4] == _ZSTD_MAGIC:
            yield decompress(b"".join([first, *pieces]), path, limit)
            return
        total = len(first)
        if first:
            yield first
        for piece in pieces:
            total += len(piece)
            if total > limit:
                raise BudgetExceeded(f"{path}: more than {limit} bytes")
            yield piece
        return
    pending, total, ended = first, 0, False
    for _ in range(2 * (limit // 4096) + 16):  # bounded: input or output moves each pass
        piece = b""
        if dec.needs_input:
            piece, pending = (pending, b"") if pending else (next(pieces, b""), b"")
            ended = not piece
        try:
            out = dec.decompress(piece, CHUNK)
        except (OSError, EOFError, lzma.LZMAError, zlib.error, RuntimeError) as exc:
            raise ProbeError(f"{path}: damaged compressed file ({exc})") from None
        total += len(out)
        if total > limit:
            raise BudgetExceeded(f"{path}: more than {limit} bytes once decompressed")
        if out:
            yield bytes(out)
        if dec.eof:
            return
        if ended and not out:  # all input given, nothing more comes out
            break
    raise ProbeError(f"{path}: damaged compressed file (cut short)")


def _slices(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), _INPUT):
        yield bytes(view[start:start + _INPUT])


class _Zlib:
    """zlib's decompressor with the needs_input interface of the others."""

    def __init__(self) -> None:
        self._dec = zlib.decompressobj(wbits=47)

    @property
    def needs_input(self) -> bool:
        return not self._dec.unconsumed_tail

    @property
    def eof(self) -> bool:
        return self._dec.eof

    def decompress(self, data: bytes, max_length: int) -> bytes:
        return self._dec.decompress(self._dec.unconsumed_tail + data, max_length)
