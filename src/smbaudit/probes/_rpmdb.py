"""The rpm database read in process, never through the rpm tool (`rpm --root TREE` can write
into the tree it is pointed at).

Two on-disk formats: `rpmdb.sqlite` (RPM 4.16+: RHEL 9, Fedora 33+; table Packages with one
header blob per row) and Berkeley DB `Packages` (RHEL 7/8, CentOS, Amazon Linux 2: a hash
database whose values are the same header blobs). Headers are parsed per rpm's format:
a count of index entries, the data length, 16-byte entries (tag, type, offset, count), data.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from smbaudit.errors import ProbeError

TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH, TAG_ARCH, TAG_SOURCERPM = 1000, 1001, 1002, 1003, 1022, 1044
TAG_VENDOR = 1011
_STRING, _INT32, _I18NSTRING = 6, 4, 9
_WANTED = {TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH, TAG_ARCH, TAG_SOURCERPM, TAG_VENDOR}
MAX_ENTRIES = 100_000
MAX_PACKAGES = 200_000

_HASH_MAGIC = 0x00061561
_P_HASH_UNSORTED, _P_OVERFLOW, _P_HASH = 2, 7, 13
_H_KEYDATA, _H_OFFPAGE = 1, 3


@dataclass(frozen=True)
class RpmHeader:
    name: str
    epoch: int | None
    version: str
    release: str
    arch: str
    sourcerpm: str
    vendor: str = ""

    @property
    def evr(self) -> str:
        evr = f"{self.version}-{self.release}" if self.release else self.version
        return f"{self.epoch}:{evr}" if self.epoch else evr


def parse_header(blob: bytes) -> RpmHeader | None:
    """The package fields of one header blob; None for blobs that are not package headers."""
    if len(blob) < 8:
        return None
    count, size = struct.unpack_from(">II", blob, 0)
    start = 8 + 16 * count
    if count > MAX_ENTRIES or start + size > len(blob):
        return None
    data = blob[start:start + size]
    fields: dict[int, str | int] = {}
    for i in range(count):
        tag, kind, offset, n = struct.unpack_from(">iIiI", blob, 8 + 16 * i)
        if tag not in _WANTED or offset < 0 or offset >= len(data):
            continue
        if kind in (_STRING, _I18NSTRING):
            end = data.find(b"\0", offset)
            fields[tag] = data[offset:end if end >= 0 else len(data)].decode("utf-8", "replace")
        elif kind == _INT32 and n >= 1 and offset + 4 <= len(data):
            fields[tag] = struct.unpack_from(">i", data, offset)[0]
    name = fields.get(TAG_NAME)
    if not isinstance(name, str) or not name:
        return None
    epoch = fields.get(TAG_EPOCH)
    return RpmHeader(name=name, epoch=epoch if isinstance(epoch, int) else None,
                     version=str(fields.get(TAG_VERSION, "")), release=str(fields.get(TAG_RELEASE, "")),
                     arch=str(fields.get(TAG_ARCH, "")), sourcerpm=str(fields.get(TAG_SOURCERPM, "")),
                     vendor=str(fields.get(TAG_VENDOR, "")))


def sqlite_blobs(data: bytes, path: str) -> Iterator[bytes]:
    """Header blobs of an rpmdb.sqlite image (opened in memory: nothing is written anywhere)."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.deserialize(data)
        rows = conn.execute("SELECT blob FROM Packages").fetchall()
    except sqlite3.DatabaseError as exc:
        raise ProbeError(f"{path} cannot be read as an rpm database: {exc}") from None
    finally:
        conn.close()
    for (blob,) in rows[:MAX_PACKAGES]:
        if isinstance(blob, bytes):
            yield blob


def bdb_blobs(data: bytes, path: str) -> Iterator[bytes]:
    """Values of a Berkeley DB hash database (rpm's Packages), overflow pages followed."""
    if len(data) < 512:
        raise ProbeError(f"{path} is too short to be a Berkeley DB database")
    for order in ("<", ">"):
        if struct.unpack_from(order + "I", data, 12)[0] == _HASH_MAGIC:
            break
    else:
        raise ProbeError(f"{path} is not a Berkeley DB hash database (rpm's Packages)")
    pagesize = struct.unpack_from(order + "I", data, 20)[0]
    if pagesize < 512 or pagesize > 65536 or pagesize & (pagesize - 1):
        raise ProbeError(f"{path}: implausible Berkeley DB page size {pagesize}")
    pages = len(data) // pagesize
    found = 0
    for pgno in range(1, pages):
        page = data[pgno * pagesize:(pgno + 1) * pagesize]
        if page[25] not in (_P_HASH, _P_HASH_UNSORTED):
            continue
        entries = struct.unpack_from(order + "H", page, 20)[0]
        offsets = [struct.unpack_from(order + "H", page, 26 + 2 * i)[0] for i in range(entries)]
        for i in range(1, entries, 2):  # key, value, key, value...
            off = offsets[i]
            if off + 12 > pagesize:
                continue
            if page[off] == _H_OFFPAGE:
                first, total = struct.unpack_from(order + "II", page, off + 4)
                blob = _overflow(data, pagesize, order, first, total)
            elif page[off] == _H_KEYDATA:
                end = offsets[i - 1] if i >= 1 and offsets[i - 1] > off else pagesize
                blob = page[off + 1:end]
            else:
                continue
            if blob:
                found += 1
                if found > MAX_PACKAGES:
                    return
                yield blob


def _overflow(data: bytes, pagesize: int, order: str, pgno: int, total: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    for _ in range(len(data) // pagesize):
        if pgno == 0 or (pgno + 1) * pagesize > len(data) or size >= total:
            break
        page = data[pgno * pagesize:(pgno + 1) * pagesize]
        if page[25] != _P_OVERFLOW:
            break
        used = struct.unpack_from(order + "H", page, 22)[0]
        parts.append(page[26:26 + used])
        size += used
        pgno = struct.unpack_from(order + "I", page, 16)[0]
    blob = b"".join(parts)
    return blob[:total] if len(blob) >= total else b""
